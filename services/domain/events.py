"""Events: facts that happened, named in the past tense. Each carries a stable id, time and schema version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .demand import DemandReport
from .errors import InvalidValue
from .geo import MultiPolygon
from .places import SalesPointStatus
from .zones import RiskLevel


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. `event_id` is chosen by the producer and never changes on retries."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    event_id: str
    occurred_at: datetime

    def __post_init__(self) -> None:
        if not self.event_id or len(self.event_id) > 128:
            raise InvalidValue("event_id", "must be 1 to 128 characters")
        if self.occurred_at.tzinfo is None:
            raise InvalidValue("occurred_at", "must carry a time zone")


@dataclass(frozen=True, kw_only=True)
class DemandSubmitted(Event):
    event_type: ClassVar[str] = "demand.submitted"
    district_code: str
    report: DemandReport


@dataclass(frozen=True, kw_only=True)
class StockReported(Event):
    """A sales point's stock: a full snapshot, or deltas when `is_delta`."""

    event_type: ClassVar[str] = "stock.reported"
    district_code: str
    point_id: str
    quantities: dict[str, float]
    is_delta: bool = False
    status: SalesPointStatus = SalesPointStatus.OPEN


@dataclass(frozen=True, kw_only=True)
class ZoneDeclared(Event):
    event_type: ClassVar[str] = "zone.declared"
    district_code: str
    zone_id: str
    name: str
    boundary: MultiPolygon
    risk_level: RiskLevel


@dataclass(frozen=True, kw_only=True)
class ZoneRedrawn(Event):
    event_type: ClassVar[str] = "zone.redrawn"
    district_code: str
    zone_id: str
    version: int
    boundary: MultiPolygon
    risk_level: RiskLevel


@dataclass(frozen=True, kw_only=True)
class ZoneLifted(Event):
    event_type: ClassVar[str] = "zone.lifted"
    district_code: str
    zone_id: str
    version: int


@dataclass(frozen=True, kw_only=True)
class DeliveryConfirmed(Event):
    event_type: ClassVar[str] = "delivery.confirmed"
    district_code: str
    plan_id: str
    stop_id: str
    quantities: dict[str, float]
    failed_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class PriceReported(Event):
    event_type: ClassVar[str] = "price.reported"
    district_code: str
    item_code: str
    place: str
    price_vnd: int


@dataclass(frozen=True, kw_only=True)
class AreaDemandChanged(Event):
    """Derived: the new totals of one (zone, commune) area after a demand event was folded in."""

    event_type: ClassVar[str] = "area-demand.changed"
    district_code: str
    zone_id: str
    commune_code: str
    households: int
    people: int
    vulnerable: dict[str, int]
    need_per_day: dict[str, float]
    reports: int
    source_partition: int
    source_offset: int
