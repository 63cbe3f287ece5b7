"""The simulated truth of a scenario run: what is really on the shelves in each zone, hour by hour.

The system only knows what is reported to it; the world knows what is there. Its rules, kept simple:

- households exist from their batch's `appear_day` and eat their daily need (`DemandReport.daily_need`: the
  catalogue's rations per person, milk for small children, a medicine kit per F0 household a week), evenly over the
  day, from the open sales points of the active zone they live in (and the goods delivered to that zone);
- inside an active zone supply lines are cut: its points are restocked only by delivered plans. Outside zones
  ordinary commerce restocks points, so their stock follows the scenario's snapshots;
- a depot starts with `initial_stock`, receives `daily_inbound` when it opens each day, and loses what the
  approved plans load; during an outage it ships nothing;
- delivered goods go into the zone's relief stock (a distribution point of the zone), which its households draw on
  like any open point of the zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import shape
from shapely.prepared import prep

from services.domain.demand import DemandReport, VulnerableGroup
from services.domain.items import Catalogue

from .model import HouseholdBatch, Scenario, ZoneChange

EPS = 1e-9


@dataclass
class ZoneTruth:
    zone_id: str
    district_code: str
    risk_level: int
    polygon: Any  # shapely geometry
    prepared: Any
    relief: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    relief_spot: tuple[float, float] = (0.0, 0.0)


class World:
    def __init__(self, scenario: Scenario, items: Catalogue) -> None:
        self.scenario = scenario
        self.items = items
        self.points = {p.point_id: p for p in scenario.sales_points}
        self.point_stock: dict[str, dict[str, float]] = {}
        self.point_open: dict[str, bool] = {p.point_id: True for p in scenario.sales_points}
        self.depot_stock = {d.depot_id: dict(d.initial_stock) for d in scenario.depots}
        self.outage_until: dict[str, float] = {}  # depot → simulated hour the outage ends
        self.zones: dict[str, ZoneTruth] = {}
        self.lifted: dict[str, ZoneTruth] = {}
        self.batch_need = {b.batch_id: _need(b, items) for b in scenario.households}
        self.batch_zone: dict[str, str | None] = {}
        self.point_zone: dict[str, str | None] = {}
        self.unmet: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # zone → item → units
        self._place()

    # --- zones ------------------------------------------------------------------------------------------------

    def apply_zone_change(self, change: ZoneChange) -> None:
        if change.action == "lift":
            zone = self.zones.pop(change.zone_id, None)
            if zone is not None:
                self.lifted[change.zone_id] = zone
        else:
            polygon = shape(change.polygon)
            spot = polygon.representative_point()
            previous = self.zones.get(change.zone_id)
            district = next(z.district_code for z in self.scenario.zones if z.zone_id == change.zone_id)
            zone = ZoneTruth(change.zone_id, district, change.risk_level, polygon, prep(polygon),
                             relief_spot=(round(spot.x, 6), round(spot.y, 6)))
            if previous is not None:
                zone.relief = previous.relief
            self.zones[change.zone_id] = zone
        self._place()

    def _place(self) -> None:
        def zone_of(lon: float, lat: float) -> str | None:
            at = ShapelyPoint(lon, lat)
            return next((z.zone_id for z in self.zones.values() if z.prepared.contains(at)), None)

        self.batch_zone = {b.batch_id: zone_of(b.lon, b.lat) for b in self.scenario.households}
        self.point_zone = {p.point_id: (p.zone_id if p.zone_id in self.zones else None) if p.kind == "mobile"
                           else zone_of(p.lon, p.lat) for p in self.scenario.sales_points}

    def commune_near(self, lon: float, lat: float, allowed: Callable[[str], bool] = lambda _: True) -> str:
        """The commune of the nearest household batch or sales point among the `allowed` communes (the reference
        data has no commune polygons)."""
        places = [(b.lon, b.lat, b.commune_code) for b in self.scenario.households] + \
                 [(p.lon, p.lat, p.commune_code) for p in self.scenario.sales_points]
        return min((p for p in places if allowed(p[2])), key=lambda p: (p[0] - lon) ** 2 + (p[1] - lat) ** 2)[2]

    def in_zone(self, point_id: str) -> bool:
        return self.point_zone.get(point_id) is not None

    # --- stock ------------------------------------------------------------------------------------------------

    def snapshot(self, point_id: str, quantities: dict[str, float]) -> dict[str, float]:
        """A point's morning report: outside zones (or before the world knows the point) commerce has stocked it
        as the scenario says; inside an active zone it holds what is really left. Returns what it reports."""
        if point_id not in self.point_stock or not self.in_zone(point_id):
            self.point_stock[point_id] = {k: float(v) for k, v in quantities.items()}
        return {k: round(v, 3) for k, v in self.point_stock[point_id].items()}

    def households(self, zone_id: str, day: int) -> list[HouseholdBatch]:
        return [b for b in self.scenario.households if self.batch_zone.get(b.batch_id) == zone_id
                and b.appear_day <= day]

    def need(self, zone_id: str, day: int) -> dict[str, float]:
        total: dict[str, float] = defaultdict(float)
        for batch in self.households(zone_id, day):
            for item, q in self.batch_need[batch.batch_id].items():
                total[item] += q
        return dict(total)

    def stock(self, zone_id: str) -> dict[str, float]:
        total: dict[str, float] = defaultdict(float)
        for source in self._sources(zone_id):
            for item, q in source.items():
                total[item] += q
        return dict(total)

    def _sources(self, zone_id: str) -> list[dict[str, float]]:
        zone = self.zones.get(zone_id)
        sources = [self.point_stock[p] for p, z in self.point_zone.items()
                   if z == zone_id and self.point_open.get(p, True) and p in self.point_stock]
        if zone is not None:
            sources.append(zone.relief)
        return sources

    def consume(self, hours: float, day: int) -> None:
        """Every active zone's households eat `hours` of their daily need from the zone's stock."""
        for zone_id in list(self.zones):
            sources = self._sources(zone_id)
            for item, daily in self.need(zone_id, day).items():
                wanted = daily * hours / 24.0
                available = sum(s.get(item, 0.0) for s in sources)
                taken = min(wanted, available)
                if available > EPS:
                    for s in sources:
                        if s.get(item, 0.0) > 0:
                            s[item] = max(0.0, s[item] - taken * s[item] / available)
                if wanted - taken > EPS:
                    self.unmet[zone_id][item] += wanted - taken

    def days_of_supply(self, zone_id: str, day: int) -> dict[str, float]:
        """Stock over daily need, per item the zone's households need."""
        stock = self.stock(zone_id)
        return {item: stock.get(item, 0.0) / need for item, need in self.need(zone_id, day).items() if need > EPS}

    def load(self, depot_id: str, goods: dict[str, float]) -> dict[str, float]:
        """A truck loads a drop's goods at the depot: what the depot really has of them."""
        stock = self.depot_stock[depot_id]
        loaded = {}
        for item, q in goods.items():
            take = min(q, stock.get(item, 0.0))
            if take > EPS:
                stock[item] = stock.get(item, 0.0) - take
                loaded[item] = take
        return loaded

    def deliver(self, zone_id: str, goods: dict[str, float]) -> None:
        zone = self.zones.get(zone_id) or self.lifted.get(zone_id)
        if zone is not None:
            for item, q in goods.items():
                zone.relief[item] += q


def _need(batch: HouseholdBatch, items: Catalogue) -> dict[str, float]:
    report = DemandReport(commune_code=batch.commune_code, households=batch.households, people=batch.people,
                          vulnerable={VulnerableGroup(g): n for g, n in batch.vulnerable.items() if n})
    return report.daily_need(items)
