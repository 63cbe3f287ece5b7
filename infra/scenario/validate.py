"""Checks a scenario as a whole: codes exist, polygons are valid and inside the province, references resolve,
quantities are not negative, days and hours are in range. The first problem raises ScenarioError(path, message)."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shapely.geometry import Point, shape
from shapely.validation import explain_validity

from services.domain.items import DEFAULT_ITEMS

from .errors import ScenarioError
from .model import (
    DEPOT_KINDS,
    POINT_CATEGORIES,
    POINT_KINDS,
    POINT_STATUSES,
    SIZES,
    VULNERABLE_GROUPS,
    DemandSubmission,
    DepotOutage,
    PriceReport,
    SalesPointStatusChange,
    Scenario,
    StockReport,
    event_order,
)
from .reference import Reference, reference
from .shapes import metres

ITEMS = {i.code for i in DEFAULT_ITEMS}
CHECKPOINT_TOLERANCE_M = 100.0  # a checkpoint lies on (or this close to) its zone's declared boundary
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def validate(s: Scenario) -> None:
    """Raise ScenarioError naming the first thing wrong; return None when the scenario is sound."""
    ref = _meta(s)
    districts = _districts(s, ref)
    zones = _zones(s, ref, districts)
    points = _sales_points(s, ref, districts, zones)
    depots = _depots(s, ref, set(points))
    _vehicles(s, districts, depots)
    batches = _households(s, ref, districts)
    _events(s, batches, points, depots)


def _fail(path: str, message: str) -> NoReturn:
    raise ScenarioError(path, message)


def _meta(s: Scenario) -> Reference:
    m = s.meta
    if m.size not in SIZES:
        _fail("meta.size", f"must be one of {', '.join(SIZES)}, not {m.size!r}")
    if not 1 <= m.days <= 60:
        _fail("meta.days", f"{m.days} is outside 1..60")
    try:
        date.fromisoformat(m.start_date)
    except ValueError:
        _fail("meta.start_date", f"{m.start_date!r} is not an ISO date (YYYY-MM-DD)")
    try:
        ZoneInfo(m.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _fail("meta.timezone", f"unknown time zone {m.timezone!r}")
    if not m.time_acceleration > 0:
        _fail("meta.time_acceleration", "must be positive")
    if m.household_scale < 1:
        _fail("meta.household_scale", "must be at least 1")
    try:
        return reference(m.province_code)
    except (StopIteration, FileNotFoundError, ValueError):
        raise ScenarioError("meta.province_code", f"no reference data for province {m.province_code!r}") from None


def _unique(ids: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for n, value in enumerate(ids):
        if not value:
            _fail(f"{path}[{n}]", f"{what} must not be empty")
        if value in seen:
            _fail(f"{path}[{n}]", f"{what} {value!r} is used twice")
        seen.add(value)


def _districts(s: Scenario, ref: Reference) -> set[str]:
    if not s.districts:
        _fail("districts", "must list at least one district")
    _unique([d.code for d in s.districts], "districts", "code")
    for n, d in enumerate(s.districts):
        if d.code not in ref.district_names:
            _fail(f"districts[{n}].code", f"unknown district code {d.code!r} in province {ref.province_code}")
        if d.population <= 0:
            _fail(f"districts[{n}].population", "must be positive")
    return {d.code for d in s.districts}


def _polygon(geojson: Any, path: str, ref: Reference) -> Any:
    if not isinstance(geojson, dict) or geojson.get("type") != "Polygon":
        _fail(f"{path}.type", "must be a GeoJSON Polygon")
    try:
        polygon = shape(geojson)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ScenarioError(f"{path}.coordinates", f"malformed coordinates ({exc})") from None
    if not polygon.is_empty and not polygon.is_valid:
        _fail(path, f"the polygon is not valid: {explain_validity(polygon)}")
    if polygon.is_empty or polygon.area == 0:
        _fail(path, "the polygon is empty (no area)")
    if not ref.in_province(polygon):
        _fail(path, f"the polygon lies (partly) outside province {ref.province_code}")
    return polygon


def _moment(day: int, hour: float, path: str, days: int) -> tuple[int, float]:
    if not 1 <= day <= days:
        _fail(f"{path}.day", f"day {day} is outside 1..{days}")
    if not 0 <= hour < 24:
        _fail(f"{path}.hour", f"hour {hour} is outside 0..24")
    return day, hour


def _risk(level: int, path: str) -> None:
    if not 1 <= level <= 4:
        _fail(path, f"risk level {level} is outside 1..4")


def _zones(s: Scenario, ref: Reference, districts: set[str]) -> dict[str, list[Any]]:
    """Zone id → its polygons (declared, then any redraws)."""
    _unique([z.zone_id for z in s.zones], "zones", "zone_id")
    _unique([c.checkpoint_id for z in s.zones for c in z.checkpoints], "zones[].checkpoints", "checkpoint_id")
    polygons: dict[str, list[Any]] = {}
    for n, z in enumerate(s.zones):
        path = f"zones[{n}]"
        _risk(z.risk_level, f"{path}.risk_level")
        declared = _polygon(z.polygon, f"{path}.polygon", ref)
        if z.district_code not in districts:
            _fail(f"{path}.district_code", f"{z.district_code!r} is not one of the scenario's districts")
        if z.district_code in ref.districts and not ref.districts[z.district_code].intersects(declared):
            _fail(f"{path}.district_code", f"the polygon does not touch district {z.district_code}")
        if z.risk_level == 4 and not z.checkpoints:
            _fail(f"{path}.checkpoints", "a red zone (risk 4) needs at least one checkpoint")
        for k, cp in enumerate(z.checkpoints):
            off = metres(declared.exterior, Point(cp.lon, cp.lat))
            if off > CHECKPOINT_TOLERANCE_M:
                _fail(f"{path}.checkpoints[{k}]", f"{off:.0f} m from the zone's boundary (at most "
                                                  f"{CHECKPOINT_TOLERANCE_M:.0f} m)")
            if not 0 <= cp.handover_minutes <= 240:
                _fail(f"{path}.checkpoints[{k}].handover_minutes", "must be within 0..240")
        t, last = z.timeline, (0, -1.0)
        stages: list[tuple[str, Any]] = [("declared", t.declared), ("widened", t.widened),
                                         ("narrowed", t.narrowed), ("lifted", t.lifted)]
        polygons[z.zone_id] = [declared]
        for name, stage in stages:
            if stage is None:
                continue
            where = f"{path}.timeline.{name}"
            at = _moment(stage.day, stage.hour, where, s.meta.days)
            if at <= last:
                _fail(f"{where}.day", "must come after the zone's previous change")
            last = at
            if hasattr(stage, "polygon"):
                polygons[z.zone_id].append(_polygon(stage.polygon, f"{where}.polygon", ref))
                _risk(stage.risk_level, f"{where}.risk_level")
    return polygons


def _place(lon: float, lat: float, path: str, ref: Reference) -> Point:
    if not (math.isfinite(lon) and math.isfinite(lat)) or not ref.in_province(Point(lon, lat)):
        _fail(path, f"({lon}, {lat}) lies outside province {ref.province_code}")
    return Point(lon, lat)


def _commune(code: str, path: str, ref: Reference, districts: set[str]) -> None:
    if code not in ref.communes:
        _fail(path, f"unknown commune code {code!r}")
    if ref.communes[code] not in districts:
        _fail(path, f"commune {code} is in district {ref.communes[code]}, not one of the scenario's districts")


def _hours(opens: str, closes: str, path: str, names: tuple[str, str] = ("opens", "closes")) -> None:
    for name, value in zip(names, (opens, closes), strict=True):
        if not _CLOCK.match(value):
            _fail(f"{path}.{name}", f"{value!r} is not a time HH:MM")
    if closes <= opens:
        _fail(f"{path}.{names[1]}", f"{closes} is not after {opens}")


def _sales_points(s: Scenario, ref: Reference, districts: set[str], zones: dict[str, list[Any]]) -> dict[str, str]:
    """Point id → kind."""
    _unique([p.point_id for p in s.sales_points], "sales_points", "point_id")
    for n, p in enumerate(s.sales_points):
        path = f"sales_points[{n}]"
        if p.kind not in POINT_KINDS:
            _fail(f"{path}.kind", f"must be one of {', '.join(POINT_KINDS)}, not {p.kind!r}")
        if p.category not in POINT_CATEGORIES or (p.category == "mobile") != (p.kind == "mobile"):
            _fail(f"{path}.category", f"{p.category!r} does not fit a {p.kind} point")
        _commune(p.commune_code, f"{path}.commune_code", ref, districts)
        where = _place(p.lon, p.lat, f"{path}.lon", ref)
        _hours(p.opens, p.closes, path)
        if p.kind == "mobile":
            if p.zone_id not in zones:
                _fail(f"{path}.zone_id", f"a mobile point needs a zone of the scenario, not {p.zone_id!r}")
            if not any(poly.buffer(0.0001).contains(where) for poly in zones[p.zone_id or ""]):
                _fail(f"{path}.lon", f"the mobile point lies outside zone {p.zone_id}")
        elif p.zone_id is not None:
            _fail(f"{path}.zone_id", "only mobile points belong to a zone")
    return {p.point_id: p.kind for p in s.sales_points}


def _stock(values: dict[str, float], path: str) -> None:
    for item, quantity in values.items():
        if item not in ITEMS:
            _fail(f"{path}.{item}", f"unknown item {item!r} (known: {', '.join(sorted(ITEMS))})")
        if not math.isfinite(quantity) or quantity < 0:
            _fail(f"{path}.{item}", f"{quantity} must not be negative")


def _depots(s: Scenario, ref: Reference, point_ids: set[str]) -> set[str]:
    _unique([d.depot_id for d in s.depots], "depots", "depot_id")
    for n, d in enumerate(s.depots):
        path = f"depots[{n}]"
        if d.depot_id in point_ids:
            _fail(f"{path}.depot_id", f"{d.depot_id!r} is also a sales point's id")
        if d.kind not in DEPOT_KINDS:
            _fail(f"{path}.kind", f"must be one of {', '.join(DEPOT_KINDS)}, not {d.kind!r}")
        if d.district_code not in ref.district_names:
            _fail(f"{path}.district_code", f"unknown district code {d.district_code!r}")
        _place(d.lon, d.lat, f"{path}.lon", ref)
        _hours(d.opens, d.closes, path)
        _stock(d.initial_stock, f"{path}.initial_stock")
        _stock(d.daily_inbound, f"{path}.daily_inbound")
    return {d.depot_id for d in s.depots}


def _vehicles(s: Scenario, districts: set[str], depots: set[str]) -> None:
    _unique([v.vehicle_id for v in s.vehicles], "vehicles", "vehicle_id")
    for n, v in enumerate(s.vehicles):
        path = f"vehicles[{n}]"
        if v.depot_id not in depots:
            _fail(f"{path}.depot_id", f"unknown depot {v.depot_id!r}")
        if not v.capacity_kg > 0:
            _fail(f"{path}.capacity_kg", "must be positive")
        if not v.capacity_m3 > 0:
            _fail(f"{path}.capacity_m3", "must be positive")
        _hours(v.shift_start, v.shift_end, path, ("shift_start", "shift_end"))
        if v.trips < 1:
            _fail(f"{path}.trips", "must be at least 1")
        if v.district_code is not None and v.district_code not in districts:
            _fail(f"{path}.district_code", f"{v.district_code!r} is not one of the scenario's districts")


def _households(s: Scenario, ref: Reference, districts: set[str]) -> dict[str, int]:
    """Batch id → the day it appears."""
    _unique([b.batch_id for b in s.households], "households", "batch_id")
    for n, b in enumerate(s.households):
        path = f"households[{n}]"
        _commune(b.commune_code, f"{path}.commune_code", ref, districts)
        if b.households < 1:
            _fail(f"{path}.households", "must be at least 1")
        if not b.households <= b.people <= 50 * b.households:
            _fail(f"{path}.people", "must be between the number of households and 50 per household")
        for group, count in b.vulnerable.items():
            if group not in VULNERABLE_GROUPS:
                _fail(f"{path}.vulnerable.{group}", f"unknown group (known: {', '.join(VULNERABLE_GROUPS)})")
            if not 0 <= count <= b.households:
                _fail(f"{path}.vulnerable.{group}", f"{count} is outside 0..{b.households} (the households)")
        _place(b.lon, b.lat, f"{path}.lon", ref)
        if not 1 <= b.appear_day <= s.meta.days:
            _fail(f"{path}.appear_day", f"day {b.appear_day} is outside 1..{s.meta.days}")
    return {b.batch_id: b.appear_day for b in s.households}


def _events(s: Scenario, batches: dict[str, int], points: dict[str, str], depots: set[str]) -> None:
    ids = [e.event_id for e in s.events]
    _unique(ids, "events", "event_id")
    derived = {c.event_id for c in s.zone_changes()}
    submitted: dict[str, str] = {}
    paused: dict[str, bool] = {}
    for n, e in sorted(enumerate(s.events), key=lambda pair: event_order(pair[1])):
        path = f"events[{n}]"
        if e.event_id in derived or len(e.event_id) > 128:
            _fail(f"{path}.event_id", f"{e.event_id!r} is a zone change's id or longer than 128 characters")
        _moment(e.day, e.hour, path, s.meta.days)
        if isinstance(e, DemandSubmission):
            if e.batch_id not in batches:
                _fail(f"{path}.batch_id", f"unknown household batch {e.batch_id!r}")
            if e.day < batches[e.batch_id]:
                _fail(f"{path}.day", f"batch {e.batch_id} appears on day {batches[e.batch_id]}, after day {e.day}")
            if e.batch_id in submitted:
                _fail(f"{path}.batch_id", f"batch {e.batch_id} is already submitted by {submitted[e.batch_id]}")
            submitted[e.batch_id] = e.event_id
        elif isinstance(e, StockReport | SalesPointStatusChange) and e.point_id not in points:
            _fail(f"{path}.point_id", f"unknown sales point {e.point_id!r}")
        if isinstance(e, StockReport):
            _stock(e.quantities, f"{path}.quantities")
        elif isinstance(e, SalesPointStatusChange):
            if e.status not in POINT_STATUSES:
                _fail(f"{path}.status", f"must be one of {', '.join(POINT_STATUSES)}, not {e.status!r}")
            if paused.get(e.point_id, False) == (e.status == "paused"):
                _fail(f"{path}.status", f"sales point {e.point_id} is already {e.status}")
            paused[e.point_id] = e.status == "paused"
        elif isinstance(e, DepotOutage):
            if e.depot_id not in depots:
                _fail(f"{path}.depot_id", f"unknown depot {e.depot_id!r}")
            if not 1 <= e.until_day <= s.meta.days or not 0 <= e.until_hour <= 24:
                _fail(f"{path}.until_day", f"({e.until_day}, {e.until_hour}) is outside days 1..{s.meta.days}")
            if (e.until_day, e.until_hour) <= (e.day, e.hour):
                _fail(f"{path}.until_day", "the outage must end after it starts")
        elif isinstance(e, PriceReport):
            if e.item_code not in ITEMS:
                _fail(f"{path}.item_code", f"unknown item {e.item_code!r}")
            if e.place_id not in points and e.place_id not in depots:
                _fail(f"{path}.place_id", f"unknown sales point or depot {e.place_id!r}")
            if not 0 < e.price_vnd < 100_000_000:
                _fail(f"{path}.price_vnd", f"{e.price_vnd} is out of range")
