"""Who may do what: a token's role and scope, and the checks every request goes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .admin import AdminCatalogue


class Role(StrEnum):
    COORDINATOR = "coordinator"  # scope: a province code
    DISTRICT = "district"  # scope: a district code
    COMMUNE = "commune"  # scope: a commune code
    SALES_POINT = "sales_point"  # scope: a sales point id
    DRIVER = "driver"  # scope: a vehicle id


class Forbidden(Exception):
    """The token is valid but this is outside its role or scope."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: Role
    scope: str
    label: str = ""
    expires_at: datetime | None = None

    def district_of_scope(self, admin: AdminCatalogue) -> str | None:
        if self.role is Role.DISTRICT:
            return self.scope
        if self.role is Role.COMMUNE:
            return admin.district_of(self.scope)
        return None

    def may_see_district(self, district: str, admin: AdminCatalogue) -> bool:
        if self.role is Role.COORDINATOR:
            return admin.province_of(district) == self.scope
        return self.district_of_scope(admin) == district

    def require_district(self, district: str, admin: AdminCatalogue) -> None:
        if not self.may_see_district(district, admin):
            raise Forbidden(f"a {self.role.value} token for {self.scope} cannot act on district {district}")

    def require_commune(self, commune: str, admin: AdminCatalogue) -> None:
        if self.role is Role.COMMUNE:
            if commune != self.scope:
                raise Forbidden(f"a commune token for {self.scope} cannot act on commune {commune}")
            return
        district = admin.district_of(commune)
        if district is None or not self.may_see_district(district, admin):
            raise Forbidden(f"a {self.role.value} token for {self.scope} cannot act on commune {commune}")

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs a token of role {allowed}, not {self.role.value}")

    def require_vehicle(self, vehicle_id: str, district_of_vehicle: str | None, admin: AdminCatalogue) -> None:
        if self.role is Role.DRIVER:
            if vehicle_id != self.scope:
                raise Forbidden(f"a driver token for {self.scope} cannot see vehicle {vehicle_id}")
            return
        if self.role in (Role.COORDINATOR, Role.DISTRICT) and district_of_vehicle is not None:
            self.require_district(district_of_vehicle, admin)
            return
        raise Forbidden(f"a {self.role.value} token cannot see vehicle {vehicle_id}")

    def require_point(self, point_id: str, district_of_point: str, admin: AdminCatalogue) -> None:
        if self.role is Role.SALES_POINT:
            if point_id != self.scope:
                raise Forbidden(f"a sales-point token for {self.scope} cannot report for {point_id}")
            return
        self.require_district(district_of_point, admin)
