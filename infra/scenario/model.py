"""A scenario as plain values: the city, its zones, places, fleet, households and what happens day by day.

Days count from 1 (`meta.start_date` is day 1); hours are local time (Asia/Ho_Chi_Minh) as a number in [0, 24),
quarter hours in generated files (8.25 = 08:15). Quantities are in the item's unit of the catalogue
(`services/domain/items.py`): rice kg, noodles packs, eggs pieces, water litres, … Prices are VND.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

SCHEMA_VERSION = 1
SIZES = ("small", "city")
VULNERABLE_GROUPS = ("elderly_alone", "poor", "f0", "f1", "disabled", "small_children")
POINT_KINDS = ("fixed", "mobile")
POINT_CATEGORIES = ("supermarket", "market_stall", "convenience", "mobile")
DEPOT_KINDS = ("wholesale_market", "distribution_centre")
POINT_STATUSES = ("paused", "open")
ZONE_ACTIONS = ("declare", "widen", "narrow", "lift")

GeoJSON = dict[str, Any]  # a GeoJSON Polygon: {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}


@dataclass(frozen=True)
class Meta:
    """What the scenario is and how to play it."""

    name: str
    seed: int
    size: str  # small | city
    start_date: str  # ISO date of day 1
    days: int
    time_acceleration: float  # hint for a runner: simulated seconds per wall-clock second
    household_scale: int  # one household in this file stands for this many real households
    province_code: str = "79"
    timezone: str = "Asia/Ho_Chi_Minh"
    schema_version: int = SCHEMA_VERSION
    description: str = ""


@dataclass(frozen=True)
class District:
    code: str
    name: str
    population: int  # real residents (not scaled)


@dataclass(frozen=True)
class Checkpoint:
    """An entry point on a red zone's boundary where trucks hand goods over to the zone's team."""

    checkpoint_id: str
    name: str
    lon: float
    lat: float
    handover_minutes: int = 20


@dataclass(frozen=True)
class Moment:
    day: int
    hour: float


@dataclass(frozen=True)
class Redraw:
    """A new boundary (and risk level) from this moment on."""

    day: int
    hour: float
    polygon: GeoJSON
    risk_level: int


@dataclass(frozen=True)
class ZoneTimeline:
    """Declared, then optionally widened, narrowed (in that order) and lifted."""

    declared: Moment
    widened: Redraw | None = None
    narrowed: Redraw | None = None
    lifted: Moment | None = None


@dataclass(frozen=True)
class Zone:
    """A lockdown zone drawn by risk; `polygon` and `risk_level` are as declared, `district_code` is the district
    holding most of it (the key its events go under)."""

    zone_id: str
    name: str
    district_code: str
    risk_level: int  # 1 green, 2 yellow, 3 orange, 4 red (served only at its checkpoints)
    polygon: GeoJSON
    timeline: ZoneTimeline
    checkpoints: list[Checkpoint] = field(default_factory=list)


@dataclass(frozen=True)
class SalesPoint:
    """A fixed shop or market stall, or a mobile sales point inside a zone (`zone_id`)."""

    point_id: str
    name: str
    kind: str  # fixed | mobile
    category: str  # supermarket | market_stall | convenience | mobile
    commune_code: str
    lon: float
    lat: float
    opens: str  # "HH:MM" local time
    closes: str
    zone_id: str | None = None


@dataclass(frozen=True)
class Depot:
    """A wholesale market or distribution centre: stock at the start and what arrives each day (item units)."""

    depot_id: str
    name: str
    kind: str  # wholesale_market | distribution_centre
    district_code: str
    lon: float
    lat: float
    opens: str
    closes: str
    initial_stock: dict[str, float]
    daily_inbound: dict[str, float]


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    plate: str
    depot_id: str
    capacity_kg: float
    capacity_m3: float
    green_lane_permit: bool
    shift_start: str  # "HH:MM"
    shift_end: str
    trips: int  # per shift, reloading at the depot in between
    district_code: str | None = None  # the district it serves; None: its depot's


@dataclass(frozen=True)
class HouseholdBatch:
    """Households of one commune at one place, on a list from `appear_day` (temporary residents appear late)."""

    batch_id: str
    commune_code: str
    households: int
    people: int
    vulnerable: dict[str, int]  # households per group (elderly_alone, poor, f0, f1, disabled, small_children)
    lon: float
    lat: float
    appear_day: int
    temporary_residents: bool = False


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happens at `day` (1-based) and `hour` (local); `event_id` is stable across runs."""

    kind: ClassVar[str] = ""
    event_id: str
    day: int
    hour: float


@dataclass(frozen=True, kw_only=True)
class DemandSubmission(Event):
    """A commune submits a household batch (each batch once: submissions add up)."""

    kind: ClassVar[str] = "demand"
    batch_id: str


@dataclass(frozen=True, kw_only=True)
class StockReport(Event):
    """A sales point's full stock snapshot (item units)."""

    kind: ClassVar[str] = "stock"
    point_id: str
    quantities: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class SalesPointStatusChange(Event):
    kind: ClassVar[str] = "sales_point_status"
    point_id: str
    status: str  # paused | open
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DepotOutage(Event):
    """A depot ships nothing from (day, hour) until (until_day, until_hour)."""

    kind: ClassVar[str] = "depot_outage"
    depot_id: str
    until_day: int
    until_hour: float
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class PriceReport(Event):
    kind: ClassVar[str] = "price"
    item_code: str
    place_id: str  # a sales point or a depot
    price_vnd: int


@dataclass(frozen=True, kw_only=True)
class ZoneChange(Event):
    """Derived from a zone's timeline (never written in `events`): the boundary and risk from this moment on;
    `polygon` is None when the zone is lifted."""

    kind: ClassVar[str] = "zone_change"
    zone_id: str
    action: str  # declare | widen | narrow | lift
    polygon: GeoJSON | None
    risk_level: int
    version: int  # 1 when declared, one more with each change (the zone's version in the system)


EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (
    DemandSubmission, StockReport, SalesPointStatusChange, DepotOutage, PriceReport)}
# Within one moment: zones first (a demand inside a new zone finds it), then places, then reports.
_ORDER = {"zone_change": 0, "depot_outage": 1, "sales_point_status": 2, "stock": 3, "demand": 4, "price": 5}


@dataclass(frozen=True)
class Scenario:
    meta: Meta
    districts: list[District]
    zones: list[Zone]
    sales_points: list[SalesPoint]
    depots: list[Depot]
    vehicles: list[Vehicle]
    households: list[HouseholdBatch]
    events: list[Event]

    def zone_changes(self) -> list[ZoneChange]:
        """Each zone's timeline as events with ids `zone-<zone_id>-<action>`."""
        changes: list[ZoneChange] = []
        for zone in self.zones:
            t = zone.timeline
            start = len(changes)
            changes.append(ZoneChange(event_id=f"zone-{zone.zone_id}-declare", day=t.declared.day,
                                      hour=t.declared.hour, zone_id=zone.zone_id, action="declare",
                                      polygon=zone.polygon, risk_level=zone.risk_level, version=1))
            risk = zone.risk_level
            for action, redraw in (("widen", t.widened), ("narrow", t.narrowed)):
                if redraw is not None:
                    risk = redraw.risk_level
                    changes.append(ZoneChange(event_id=f"zone-{zone.zone_id}-{action}", day=redraw.day,
                                              hour=redraw.hour, zone_id=zone.zone_id, action=action,
                                              polygon=redraw.polygon, risk_level=risk,
                                              version=len(changes) + 1 - start))
            if t.lifted is not None:
                changes.append(ZoneChange(event_id=f"zone-{zone.zone_id}-lift", day=t.lifted.day,
                                          hour=t.lifted.hour, zone_id=zone.zone_id, action="lift", polygon=None,
                                          risk_level=risk, version=len(changes) + 1 - start))
        return changes

    def timeline(self) -> list[Event]:
        """Every event, zone changes included, in the order to play them."""
        return sorted([*self.events, *self.zone_changes()], key=event_order)

    def at(self, day: int, hour: float) -> datetime:
        """The local moment of (day, hour)."""
        start = date.fromisoformat(self.meta.start_date)
        midnight = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(self.meta.timezone))
        return midnight + timedelta(days=day - 1, hours=hour)


def event_order(event: Event) -> tuple[int, float, int, str]:
    """Sort key: day, hour, kind (zones first), id."""
    return event.day, event.hour, _ORDER.get(event.kind, 9), event.event_id
