"""Administrative units: province → district → commune/ward, with official GSO codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .geo import MultiPolygon


class AdminLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


@dataclass(frozen=True)
class AdminUnit:
    """One unit; `parent_code` is empty for a province."""

    code: str
    name: str
    level: AdminLevel
    kind: str  # the official type: Quận, Huyện, Phường, Xã, ...
    parent_code: str = ""
    boundary: MultiPolygon | None = None
    population: int | None = None


@dataclass(frozen=True)
class AdminCatalogue:
    """Lookups over the units, built once from reference data."""

    units: dict[str, AdminUnit]

    def district_of(self, commune_code: str) -> str | None:
        """The district code of a commune, or None when the commune is unknown."""
        unit = self.units.get(commune_code)
        if unit is None or unit.level is not AdminLevel.COMMUNE:
            return None
        return unit.parent_code

    def province_of(self, district_code: str) -> str | None:
        """The province code of a district, or None when the district is unknown."""
        unit = self.units.get(district_code)
        if unit is None or unit.level is not AdminLevel.DISTRICT:
            return None
        return unit.parent_code

    def has_commune(self, code: str) -> bool:
        unit = self.units.get(code)
        return unit is not None and unit.level is AdminLevel.COMMUNE

    def of_level(self, level: AdminLevel) -> list[AdminUnit]:
        return [u for u in self.units.values() if u.level is level]
