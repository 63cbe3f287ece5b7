"""Lockdown zones drawn around risk clusters: centres weighted by population density, irregular shapes that cross
district borders, red ones with checkpoints on their boundary, a timeline of widening, narrowing and lifting."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from shapely import prepared
from shapely.geometry import Point, Polygon

from .model import Checkpoint, Moment, Redraw, Zone, ZoneTimeline
from .reference import Reference
from .shapes import area_km2, metres, on_boundary, point_in, star, tidy, to_geojson


@dataclass(frozen=True)
class ZonePlan:
    """How many zones and when things happen to them (inclusive day windows)."""

    count: int
    red: int
    declare: tuple[int, int]
    widen: tuple[int, int]
    narrow: tuple[int, int]
    lift: tuple[int, int]
    border_share: float = 0.35


@dataclass
class DrawnZone:
    zone: Zone
    declared: Polygon
    widened: Polygon | None
    narrowed: Polygon | None

    def polygon_at(self, day: int, hour: float) -> Polygon | None:
        """The boundary in force at (day, hour), or None before declaration and after lifting."""
        t = self.zone.timeline
        now = (day, hour)
        if now < (t.declared.day, t.declared.hour) or (t.lifted and now >= (t.lifted.day, t.lifted.hour)):
            return None
        if t.narrowed and self.narrowed is not None and now >= (t.narrowed.day, t.narrowed.hour):
            return self.narrowed
        if t.widened and self.widened is not None and now >= (t.widened.day, t.widened.hour):
            return self.widened
        return self.declared

    def risk_at(self, day: int, hour: float) -> int:
        t = self.zone.timeline
        risk = self.zone.risk_level
        for redraw in (t.widened, t.narrowed):
            if redraw and (day, hour) >= (redraw.day, redraw.hour):
                risk = redraw.risk_level
        return risk


def draw_zones(rng: random.Random, ref: Reference, districts: list[str], plan: ZonePlan) -> list[DrawnZone]:
    """Zones that do not overlap (with 100 m to spare), all inside the scenario's districts."""
    area = ref.area(districts)
    inside = prepared.prep(area.buffer(-0.0001))  # 10 m inside the outer edge
    weights = [ref.populations.get(d, 100_000) for d in districts]
    risks = [4] * plan.red + [3 if rng.random() < 0.6 else 2 for _ in range(plan.count - plan.red)]
    drawn: list[DrawnZone] = []
    taken: list[Any] = []
    for n, risk in enumerate(risks):
        border = n == 0 or rng.random() < plan.border_share  # the first one always straddles a border
        for attempt in range(400):
            # a crowded map may have no room left on a border: then anywhere (the first zone keeps its border)
            candidate = _candidate(rng, ref, districts, weights, n, risk, border and (n == 0 or attempt < 200), plan)
            if candidate is None:
                continue
            outer = candidate.widened or candidate.declared
            if inside.contains(outer) and not any(outer.distance(t) * 110_000 < 100 for t in taken):
                drawn.append(candidate)
                taken.append(outer)
                break
        else:
            raise RuntimeError(f"could not place zone {n} in districts {districts}")
    return drawn


def _candidate(rng: random.Random, ref: Reference, districts: list[str], weights: list[int], n: int, risk: int,
               border: bool, plan: ZonePlan) -> DrawnZone | None:
    home = rng.choices(districts, weights)[0]
    if border:
        centre = _border_point(rng, ref, home, districts)
        if centre is None:
            return None
    else:
        centre = point_in(rng, ref.districts[home])
    density = ref.populations.get(home, 100_000) / area_km2(ref.districts[home])
    radius = min(1500.0, max(250.0, 350.0 * (20_000 / density) ** 0.25 * rng.uniform(0.8, 1.5)))
    declared = tidy(star(rng, *centre, radius))
    if declared is None:
        return None
    start = rng.random()
    checkpoints = []
    if risk == 4:
        for k in range(1 if rng.random() < 0.5 or n == 0 else 2):
            lon, lat = on_boundary(declared, start + k / 2)
            checkpoints.append(Checkpoint(f"cp-z{n + 1:02}-{k + 1}", f"Chốt {k + 1} – vùng {n + 1:02}", lon, lat,
                                          rng.choice([15, 20, 30])))
    # Widen on one side and narrow on the other, away from the checkpoints, so they stay on the boundary.
    widened = tidy(declared.union(star(rng, *on_boundary(declared, start + 0.25), radius * 0.6)))
    narrowed = tidy(declared.difference(star(rng, *on_boundary(declared, start + 0.75), radius * 0.55)))
    if widened is None or narrowed is None or narrowed.area < declared.area * 0.4:
        return None
    for cp in checkpoints:
        here = Point(cp.lon, cp.lat)
        if metres(narrowed.exterior, here) > 5 or metres(widened.exterior, here) > 5:
            return None
    timeline = _timeline(rng, plan, risk, full=n == 0)
    codes = sorted(districts, key=lambda d: (-ref.districts[d].intersection(declared).area, d))
    names = " / ".join(ref.district_names[d] for d in codes if ref.districts[d].intersects(declared))
    zone = Zone(zone_id=f"z{n + 1:02}", name=f"Vùng phong tỏa {n + 1:02} – {names}", district_code=codes[0],
                risk_level=risk, polygon=to_geojson(declared), checkpoints=checkpoints,
                timeline=_with_polygons(timeline, widened, narrowed))
    return DrawnZone(zone, declared, widened if timeline.widened else None,
                     narrowed if timeline.narrowed else None)


def _border_point(rng: random.Random, ref: Reference, home: str, districts: list[str]) -> tuple[float, float] | None:
    """A point on the border between `home` and another of the districts, or None (coast, province edge)."""
    geometry = ref.districts[home]
    outline = max(geometry.geoms, key=lambda g: g.area).exterior if hasattr(geometry, "geoms") else \
        geometry.exterior
    point = outline.interpolate(rng.random(), normalized=True)
    for other in districts:
        if other != home and ref.districts[other].distance(point) < 1e-6:
            return round(point.x, 6), round(point.y, 6)
    return None


def _hour(rng: random.Random, low: int, high: int) -> float:
    return rng.randint(low * 4, high * 4) / 4


def _timeline(rng: random.Random, plan: ZonePlan, risk: int, full: bool) -> ZoneTimeline:
    """When the zone is declared, widened, narrowed, lifted; `full`: all four (every scenario shows each)."""
    declared = Moment(rng.randint(*plan.declare), _hour(rng, 8, 20))
    widen, narrow, lift = rng.random() < 0.45 or full, rng.random() < 0.5 or full, rng.random() < 0.8 or full
    lowered = max(2, risk - 1) if rng.random() < 0.3 and not full else risk
    widened = Redraw(rng.randint(*plan.widen), _hour(rng, 6, 20), {}, risk) if widen else None
    narrowed = Redraw(rng.randint(*plan.narrow), _hour(rng, 6, 20), {}, lowered) if narrow else None
    lifted = Moment(rng.randint(*plan.lift), _hour(rng, 0, 20)) if lift else None
    return ZoneTimeline(declared, widened, narrowed, lifted)


def _with_polygons(t: ZoneTimeline, widened: Polygon, narrowed: Polygon) -> ZoneTimeline:
    return ZoneTimeline(
        t.declared,
        Redraw(t.widened.day, t.widened.hour, to_geojson(widened), t.widened.risk_level) if t.widened else None,
        Redraw(t.narrowed.day, t.narrowed.hour, to_geojson(narrowed), t.narrowed.risk_level) if t.narrowed else None,
        t.lifted)
