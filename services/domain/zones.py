"""Lockdown and quarantine zones: drawn by risk, redrawn as new versions, lifted when safe."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum, StrEnum

from .errors import DomainError, InvalidValue
from .geo import MultiPolygon


class RiskLevel(IntEnum):
    """Levels of Decision 2686/QĐ-BCĐ: 1 new normal (green) to 4 very high (red)."""

    NEW_NORMAL = 1
    LOW = 2
    HIGH = 3
    VERY_HIGH = 4

    @property
    def colour(self) -> str:
        return {1: "green", 2: "yellow", 3: "orange", 4: "red"}[int(self)]


class ZoneStatus(StrEnum):
    ACTIVE = "active"
    LIFTED = "lifted"


@dataclass(frozen=True)
class Zone:
    """One version of a zone; a redraw or a lift makes the next version."""

    zone_id: str
    name: str
    district_code: str
    boundary: MultiPolygon
    risk_level: RiskLevel
    version: int = 1
    status: ZoneStatus = ZoneStatus.ACTIVE
    valid_from: datetime | None = None

    def __post_init__(self) -> None:
        if not self.zone_id:
            raise InvalidValue("zone_id", "must not be empty")
        if self.version < 1:
            raise InvalidValue("version", "must be 1 or more")

    @property
    def active(self) -> bool:
        return self.status is ZoneStatus.ACTIVE

    @property
    def closed_to_vehicles(self) -> bool:
        """Red zones take deliveries only at their checkpoints."""
        return self.risk_level is RiskLevel.VERY_HIGH

    def redrawn(self, boundary: MultiPolygon, risk_level: RiskLevel, at: datetime) -> Zone:
        """The next version with a new boundary and risk level."""
        if not self.active:
            raise DomainError(f"zone {self.zone_id} is lifted and cannot be redrawn")
        return replace(self, boundary=boundary, risk_level=risk_level, version=self.version + 1, valid_from=at)

    def lifted(self, at: datetime) -> Zone:
        """The next version, lifted."""
        if not self.active:
            raise DomainError(f"zone {self.zone_id} is already lifted")
        return replace(self, status=ZoneStatus.LIFTED, version=self.version + 1, valid_from=at)
