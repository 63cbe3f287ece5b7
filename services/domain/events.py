"""Events: facts that happened, named in the past tense. Each carries a stable id, time and schema version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .demand import DemandReport
from .errors import InvalidValue
from .geo import MultiPolygon, Point
from .places import SalesPointKind, SalesPointStatus
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
    """A sales point's stock: a full snapshot, or changes when `is_delta`; reports carry where the point is."""

    event_type: ClassVar[str] = "stock.reported"
    district_code: str
    point_id: str
    commune_code: str
    location: Point
    kind: SalesPointKind = SalesPointKind.SUPERMARKET
    quantities: dict[str, float]
    is_delta: bool = False
    status: SalesPointStatus = SalesPointStatus.OPEN

    def __post_init__(self) -> None:
        super().__post_init__()
        for code, quantity in self.quantities.items():
            if quantity != quantity or abs(quantity) > 1e9 or (quantity < 0 and not self.is_delta):
                raise InvalidValue(f"quantities.{code}", f"{quantity} is out of range")


@dataclass(frozen=True, kw_only=True)
class SalesPointRegistered(Event):
    """A sales point enters the register (or its details change): from then on it may report stock."""

    event_type: ClassVar[str] = "sales_point.registered"
    district_code: str
    point_id: str
    name: str
    commune_code: str
    location: Point
    kind: SalesPointKind = SalesPointKind.SUPERMARKET
    opens: str = "06:00"  # local time, HH:MM
    closes: str = "21:00"
    contact: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("opens", "closes"):
            value = getattr(self, name)
            hours, _, minutes = value.partition(":")
            if not (len(value) == 5 and hours.isdigit() and minutes.isdigit() and int(hours) < 24
                    and int(minutes) < 60):
                raise InvalidValue(name, f"{value!r} is not a time of day HH:MM")
        if not self.point_id or not self.name:
            raise InvalidValue("point_id" if not self.point_id else "name", "must not be empty")


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
class DeliveryPlanned(Event):
    """A planned drop: goods on the way to a sales point or a zone's checkpoint."""

    event_type: ClassVar[str] = "delivery.planned"
    district_code: str
    plan_id: str
    stop_id: str
    commune_code: str
    location: Point
    quantities: dict[str, float]
    point_id: str | None = None
    zone_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryConfirmed(Event):
    """A driver confirms a drop (quantities dropped) or its failure (with a reason)."""

    event_type: ClassVar[str] = "delivery.confirmed"
    district_code: str
    plan_id: str
    stop_id: str
    quantities: dict[str, float]
    failed_reason: str | None = None
    # The sales or distribution point the goods were handed to: they join its stock, and its next snapshot counts
    # what is left of them. None: handed to the zone's team, counted as stock of the area.
    point_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class PriceReported(Event):
    event_type: ClassVar[str] = "price.reported"
    district_code: str
    item_code: str
    place: str
    price_vnd: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.price_vnd < 100_000_000:
            raise InvalidValue("price_vnd", f"{self.price_vnd} is out of range")


@dataclass(frozen=True, kw_only=True)
class ProduceOffered(Event):
    """Farm produce inside a zone offered for sale outside it."""

    event_type: ClassVar[str] = "produce.offered"
    district_code: str
    commune_code: str
    location: Point
    product: str
    quantity_kg: float
    available_until: datetime
    contact: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.quantity_kg <= 1_000_000:
            raise InvalidValue("quantity_kg", f"{self.quantity_kg} is out of range")
        if not self.product:
            raise InvalidValue("product", "must not be empty")


@dataclass(frozen=True, kw_only=True)
class AreaCoverage(Event):
    """Derived: the live picture of one area (a zone, a zone's part in a district, a commune or a district)."""

    event_type: ClassVar[str] = "coverage.updated"
    level: str  # zone | zone-part | commune | district
    area_id: str
    district_code: str
    zone_id: str | None
    households: int
    people: int
    vulnerable: dict[str, int]
    need: dict[str, float]
    stock: dict[str, float]
    on_way: dict[str, float]
    days_of_supply: dict[str, float | None]
    last_report_at: datetime | None
    max_event_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ShortageAlert(Event):
    """Derived: days of supply of an item in a zone fell below its threshold (open) or recovered (resolved)."""

    event_type: ClassVar[str] = "alert.shortage"
    alert_id: str
    zone_id: str
    item_code: str
    status: str  # open | resolved
    days_of_supply: float | None
    threshold_days: float
    district_codes: list[str]


@dataclass(frozen=True, kw_only=True)
class PriceAlert(Event):
    """Derived: reports of an item's price in an area above the reference price by more than the margin."""

    event_type: ClassVar[str] = "alert.price"
    alert_id: str
    district_code: str
    item_code: str
    status: str  # open | resolved
    reference_price_vnd: int
    max_price_vnd: int
    median_price_vnd: int
    reports: int
    places: list[str]


@dataclass(frozen=True, kw_only=True)
class PlanRequested(Event):
    """Derived: a district's shortage risk appeared or changed; the optimizer should plan it."""

    event_type: ClassVar[str] = "plan.requested"
    district_code: str
    reasons: list[str]
