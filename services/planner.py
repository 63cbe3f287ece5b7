"""Planning a district: a snapshot of its zones, depots and fleet in; allocation, routes and the planned
deliveries out. Framework-free: the optimizer worker reads the snapshot and stores what comes back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from optimizer.allocation import AllocationProblem, ItemInfo, Source, ZoneNeed, allocate
from optimizer.baselines import first_come_first_served, proportional_to_population
from optimizer.planning import (
    LonLat,
    Order,
    PlanningInput,
    PlanVehicle,
    Priority,
    ProduceOffer,
    RoutePlan,
    TravelTimes,
    ZoneAccess,
    plan,
)

from .domain.items import Catalogue, Item

PERISHABLE_RIDE_S = 3 * 3600  # fresh food spends at most three hours on a truck
# GREENLANE_ALLOCATION_POLICY: ours, or a baseline it is measured against (same sources, legs, capacities, target)
POLICIES = {"greenlane": allocate, "proportional": proportional_to_population, "fcfs": first_come_first_served}
RED_RISK = 4  # vehicles stop at the checkpoint
PERMIT_RISK = 3  # green-lane permit needed
PRODUCE_M3_PER_KG = 0.003  # fruit and vegetables in crates


@dataclass(frozen=True)
class ZoneSnapshot:
    zone_id: str
    district_code: str
    risk_level: int
    people: int
    vulnerable_households: int
    households: int
    daily_need: dict[str, float]
    stock: dict[str, float]  # in the zone and already on the way
    drop_point: LonLat
    commune_code: str  # of the drop point
    checkpoint_id: str | None = None
    checkpoint: LonLat | None = None
    handover_minutes: int = 20


@dataclass(frozen=True)
class DepotSnapshot:
    depot_id: str
    location: LonLat
    stock: dict[str, float]
    opens_s: int
    closes_s: int
    in_province: bool = True


@dataclass(frozen=True)
class OfferSnapshot:
    """Produce offered from inside a zone of the district, still available."""

    offer_id: str
    zone_id: str
    location: LonLat
    kg: float
    until_s: int  # seconds since midnight of the plan day


@dataclass(frozen=True)
class VehicleSnapshot:
    vehicle_id: str
    depot_id: str
    capacity_kg: float
    capacity_m3: float
    shift: tuple[int, int]  # seconds since midnight of the plan day
    green_lane_permit: bool
    trips: int
    position: LonLat | None = None  # driving an approved plan: where it confirmed its last drop (None: depot)
    available_s: int | None = None  # ... and from when it can take new work


@dataclass(frozen=True)
class CarriedStop:
    """A drop of an approved plan being driven, not confirmed yet: a revision carries it over with its goods
    (already counted on their way), on its vehicle if loaded, elsewhere only at a price."""

    stop_id: str
    delivery_plan_id: str  # the plan whose approval put the goods on their way; confirmations name it
    order_id: str
    vehicle_id: str
    sequence: int
    zone_id: str | None
    commune_code: str
    district_code: str
    location: LonLat
    kg: float
    m3: float
    items: dict[str, float]
    loaded: bool  # on the truck's current trip


@dataclass(frozen=True)
class PlanningSnapshot:
    district_code: str
    plan_day: date
    day_start: datetime  # local midnight of the plan day
    zones: list[ZoneSnapshot]
    depots: list[DepotSnapshot]
    vehicles: list[VehicleSnapshot]
    offsets: dict[str, int] = field(default_factory=dict)  # topic/partition → offset the picture was built from
    previous: dict[str, tuple[str, int]] = field(default_factory=dict)  # latest plan: stop → (vehicle, position)
    produce: list[OfferSnapshot] = field(default_factory=list)
    carried: list[CarriedStop] = field(default_factory=list)
    revises: list[str] = field(default_factory=list)  # the approved plans being driven that this plan replaces
    # The whole province, for the district's share of scarce stock: every active zone, and each depot's stock
    # after the approved plans (empty: the district takes what the depots hold).
    province_zones: list[ZoneSnapshot] = field(default_factory=list)
    province_stock: dict[str, dict[str, float]] = field(default_factory=dict)
    # The depots each district's trucks load at (empty: any depot serves any zone).
    province_fleets: dict[str, frozenset[str]] = field(default_factory=dict)


def plan_id_for(district: str, request_event_id: str) -> str:
    """A plan answers one request: its id comes from the request's, so a redelivered request finds it stored."""
    return f"plan-{district}-{request_event_id}"


class SnapshotError(ValueError):
    """The picture cannot be planned as it is; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check(snapshot: PlanningSnapshot, items: Catalogue) -> None:
    """Refuse an inconsistent picture: negative or unknown stock, vehicles without capacity or depot, depots
    outside the province, zones with negative need."""
    depots = {d.depot_id for d in snapshot.depots}
    for depot in snapshot.depots:
        if not depot.in_province:
            raise SnapshotError(f"depots[{depot.depot_id}].location", "lies outside the province")
        for code, quantity in depot.stock.items():
            if code not in items:
                raise SnapshotError(f"depots[{depot.depot_id}].stock[{code}]", "unknown item")
            if quantity < 0:
                raise SnapshotError(f"depots[{depot.depot_id}].stock[{code}]", f"negative stock {quantity}")
    for vehicle in snapshot.vehicles:
        if vehicle.capacity_kg <= 0 or vehicle.capacity_m3 <= 0:
            raise SnapshotError(f"vehicles[{vehicle.vehicle_id}].capacity", "must be positive")
        if vehicle.depot_id not in depots:
            raise SnapshotError(f"vehicles[{vehicle.vehicle_id}].depot_id", f"unknown depot {vehicle.depot_id}")
    for zone in snapshot.zones:
        for code, quantity in zone.daily_need.items():
            if code not in items:
                raise SnapshotError(f"zones[{zone.zone_id}].need[{code}]", "unknown item")
            if quantity < 0:
                raise SnapshotError(f"zones[{zone.zone_id}].need[{code}]", f"negative need {quantity}")


@dataclass
class DistrictPlan:
    plan_id: str
    district_code: str
    request_event_id: str
    created_at: datetime
    plan_day: date
    day_start: datetime
    offsets: dict[str, int]
    allocation: dict[str, Any]
    routes: RoutePlan
    orders: dict[str, dict[str, Any]]  # order id → zone, commune, items (and delivery_plan_id if carried over)
    solve_s: float
    revises: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        served = [s for r in self.routes.routes for s in r.stops]
        return {"distance_km": round(self.routes.distance_m / 1000, 1),
                "vehicles_used": sum(1 for r in self.routes.routes if r.stops), "stops": len(served),
                "unserved": len(self.routes.unserved), "sub_problems": self.routes.sub_problems,
                "changed_vehicle": self.routes.changed_vehicle, "changed_order": self.routes.changed_order,
                "carried_over": sum(1 for o in self.orders.values() if o.get("delivery_plan_id")),
                "solve_s": round(self.solve_s, 2)}

    def items_of(self, stop_id: str, order_id: str, kg: float) -> dict[str, float]:
        """A split order's piece carries its share of each item."""
        order = self.orders[order_id]
        share = kg / order["kg"] if order["kg"] else 1.0
        return {item: round(q * share, 3) for item, q in order["items"].items()}

    def stop_rows(self) -> list[dict[str, Any]]:
        """Each stop as the plan store keeps it and approval reads it: by vehicle, with its order's share of the
        items, zone, commune and the plan that first sent it (carried over), and its place as `lon`, `lat`."""
        rows = []
        for route in self.routes.routes:
            for s in route.stops:
                order = self.orders.get(s.order_id, {})
                rows.append({"stop_id": s.stop_id, "order_id": s.order_id, "vehicle_id": route.vehicle_id,
                             "trip": s.trip, "sequence": s.sequence, "kind": s.kind.value, "arrival_s": s.arrival_s,
                             "kg": s.kg, "m3": s.m3,
                             "items": self.items_of(s.stop_id, s.order_id, s.kg) if order else {},
                             "zone_id": order.get("zone_id"), "commune_code": order.get("commune_code"),
                             "checkpoint_id": s.checkpoint_id, "lon": s.location[0], "lat": s.location[1],
                             "delivery_plan_id": order.get("delivery_plan_id")})
        return rows


@dataclass
class Planner:
    items: Catalogue
    travel: TravelTimes
    time_limit_s: float = 30.0
    driving_hours: tuple[int, int] = (6 * 3600, 18 * 3600)  # outside: curfew
    target_days: float = 7.0
    vulnerable_reserve_share: float = 0.2
    allocation_policy: str = "greenlane"

    def __post_init__(self) -> None:
        if self.allocation_policy not in POLICIES:
            raise ValueError(f"allocation_policy: unknown policy {self.allocation_policy!r} "
                             f"(known: {', '.join(POLICIES)})")

    def plan(self, snapshot: PlanningSnapshot, request_event_id: str, now: datetime) -> DistrictPlan:
        check(snapshot, self.items)
        started = time.monotonic()
        allocation = self._allocate(snapshot)
        orders, details = self._orders(snapshot, allocation.quantities)
        carried, carried_details = self._carried(snapshot)
        orders, details = carried + orders, {**carried_details, **details}
        vehicles = [PlanVehicle(v.vehicle_id, _depot(snapshot, v.depot_id).location, v.capacity_kg, v.capacity_m3,
                                v.shift, v.green_lane_permit, snapshot.district_code, v.trips, depot_id=v.depot_id,
                                position=v.position, available_from=v.available_s)
                    for v in snapshot.vehicles]
        zones = {z.zone_id: ZoneAccess(z.zone_id, red=z.risk_level >= RED_RISK, permit_only=z.risk_level >= PERMIT_RISK,
                                       checkpoint_id=z.checkpoint_id, checkpoint=z.checkpoint,
                                       handover_s=z.handover_minutes * 60) for z in snapshot.zones}
        loaded = {c.stop_id: c.vehicle_id for c in snapshot.carried if c.loaded}
        routes = plan(PlanningInput(orders, vehicles, zones, produce=self._produce(snapshot),
                                    driving_hours=self.driving_hours, previous=snapshot.previous, loaded=loaded),
                      self.travel, self.time_limit_s)
        return DistrictPlan(
            plan_id=plan_id_for(snapshot.district_code, request_event_id), district_code=snapshot.district_code,
            request_event_id=request_event_id, created_at=now, plan_day=snapshot.plan_day,
            day_start=snapshot.day_start, offsets=snapshot.offsets,
            allocation={"min_days_before": _min(allocation.days_before), "min_days_after": _min(allocation.days_after),
                        "shortfalls": [{"zone_id": s.zone_id, "item": s.item, "missing": round(s.missing, 2),
                                        "days": round(s.days, 2), "reason": s.reason} for s in allocation.shortfalls],
                        "transport_kg_km": round(allocation.transport_kg_km, 1),
                        "days": _days_by_zone(allocation.days_before, allocation.days_after),
                        "quantities": [[src, zone, item, round(q, 3)] for (src, zone, item), q
                                       in sorted(allocation.quantities.items()) if q > 1e-3]},
            routes=routes, orders=details, solve_s=time.monotonic() - started, revises=list(snapshot.revises))

    def _allocate(self, snapshot: PlanningSnapshot) -> Any:
        depots = self._district_share(snapshot)
        points = [d.location for d in depots] + [_target(z) for z in snapshot.zones]
        matrix = self.travel.matrix(points, depart_at_hour=self.driving_hours[0] / 3600) if points else None
        sources = []
        for i, depot in enumerate(depots):
            based = [v for v in snapshot.vehicles if v.depot_id == depot.depot_id]
            # A green-lane zone is reachable from a depot only if a permitted truck is based there.
            permitted = any(v.green_lane_permit for v in based)
            legs: dict[str, tuple[float, float] | None] = {}
            for j, zone in enumerate(snapshot.zones, start=len(depots)):
                assert matrix is not None
                usable = zone.risk_level < PERMIT_RISK or permitted
                legs[zone.zone_id] = (matrix.meters[i][j] / 1000, matrix.seconds[i][j] / 60) if usable else None
            # What leaves a depot is bounded by the district's trucks based there (their trips in the day).
            trucks = sum(v.capacity_kg * v.trips for v in based)
            sources.append(Source(depot.depot_id, "depot", depot.stock, legs, capacity_kg=trucks))
        capacity = sum(v.capacity_kg * v.trips for v in snapshot.vehicles)
        return POLICIES[self.allocation_policy](self._problem(snapshot.zones, sources, capacity))

    def _problem(self, zones: list[ZoneSnapshot], sources: list[Source], capacity: float | None
                 ) -> AllocationProblem:
        needs = [ZoneNeed(z.zone_id, z.district_code, z.people,
                          {k: q for k, q in z.daily_need.items() if k in self.items},
                          {k: q for k, q in z.stock.items() if k in self.items},
                          vulnerable_people=round(z.people * z.vulnerable_households / max(1, z.households)),
                          vulnerability=1.0 + z.vulnerable_households / max(1, z.households),
                          reachable=z.risk_level < RED_RISK or z.checkpoint is not None)
                 for z in zones]
        return AllocationProblem(needs, sources, [ItemInfo.of(i) for i in self.items],
                                 horizon_hours=(self.driving_hours[1] - self.driving_hours[0]) / 3600,
                                 transport_capacity_kg=capacity, target_days=self.target_days,
                                 vulnerable_reserve_share=self.vulnerable_reserve_share)

    def _district_share(self, snapshot: PlanningSnapshot) -> list[DepotSnapshot]:
        """The depots' stock as far as this district may take it: what the same allocation rule, run over every
        active zone of the province (without transport limits), gives this district's zones. Districts plan one
        at a time, so without it the first to plan would take scarce stock (medicine kits) that zones elsewhere
        need more; with it no district's plan takes more than its share of any item. A zone draws only on the
        depots its district's trucks load at, so stock no truck of its district can fetch is not counted as its."""
        known = [d for d in snapshot.depots if d.depot_id in snapshot.province_stock]
        if not snapshot.province_zones or not known:
            return snapshot.depots
        zones = snapshot.province_zones
        matrix = self.travel.matrix([d.location for d in known] + [_target(z) for z in zones],
                                    depart_at_hour=self.driving_hours[0] / 3600)
        sources = [Source(d.depot_id, "depot",
                          {k: q for k, q in snapshot.province_stock[d.depot_id].items() if k in self.items and q > 0},
                          {z.zone_id: (matrix.meters[i][j] / 1000, matrix.seconds[i][j] / 60)
                           if _loads_at(snapshot, z.district_code, d.depot_id) else None
                           for j, z in enumerate(zones, start=len(known))})
                   for i, d in enumerate(known)]
        mine = {z.zone_id for z in snapshot.zones}
        share: dict[str, float] = defaultdict(float)
        province = POLICIES[self.allocation_policy](self._problem(zones, sources, None))
        for (_, zone, item), q in province.quantities.items():
            if zone in mine:
                share[item] += q
        held: dict[str, float] = defaultdict(float)
        for depot in snapshot.depots:
            for item, q in depot.stock.items():
                held[item] += max(0.0, q)
        return [replace(d, stock={k: q * share[k] / held[k] if q > 0 and held[k] > share[k] + 1e-9 else q
                                  for k, q in d.stock.items()}) for d in snapshot.depots]

    @staticmethod
    def _produce(snapshot: PlanningSnapshot) -> list[ProduceOffer]:
        """Each offer goes out through its zone's checkpoint to the nearest depot (where buyers collect)."""
        if not snapshot.depots:
            return []
        return [ProduceOffer(o.offer_id, o.zone_id, o.location,
                             min(snapshot.depots, key=lambda d: _dist2(d.location, o.location)).location,
                             o.kg, o.kg * PRODUCE_M3_PER_KG, o.until_s, snapshot.district_code)
                for o in snapshot.produce]

    def _orders(self, snapshot: PlanningSnapshot, quantities: dict[tuple[str, str, str], float]
                ) -> tuple[list[Order], dict[str, dict[str, Any]]]:
        """One order per depot, zone and kind of goods: medicine, perishables, the rest."""
        grouped: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
        for (source, zone_id, code), quantity in quantities.items():
            if quantity > 1e-6:
                grouped[(source, zone_id, _kind(self.items.get(code)))][code] = quantity
        zones = {z.zone_id: z for z in snapshot.zones}
        # A carried drop is an order under its stop id, and a revision stores it so ("A#2" with order "A#2"): a
        # new order must avoid both, with the pieces it may be split into ("A" → "A#2").
        carried = {c.order_id for c in snapshot.carried} | {c.stop_id.partition("#")[0] for c in snapshot.carried}
        orders, details = [], {}
        for (source, zone_id, kind), goods in sorted(grouped.items()):
            zone, depot = zones[zone_id], _depot(snapshot, source)
            kg = sum(q * self.items.get(c).kg_per_unit for c, q in goods.items())
            m3 = sum(q * self.items.get(c).m3_per_unit for c, q in goods.items())
            order_id = _unused(f"{source}>{zone_id}:{kind}", carried)
            orders.append(Order(order_id, snapshot.district_code, zone.drop_point, kg, m3, _window(depot),
                                zone_id=zone_id, priority=_priority(kind, zone),
                                max_ride_s=PERISHABLE_RIDE_S if kind == "perishable" else None, source_id=source))
            details[order_id] = {"zone_id": zone_id, "commune_code": zone.commune_code, "kg": kg,
                                 "district_code": zone.district_code,
                                 "items": {c: round(q, 3) for c, q in goods.items()}}
        return orders, details

    def _carried(self, snapshot: PlanningSnapshot) -> tuple[list[Order], dict[str, dict[str, Any]]]:
        """Drops of the plans being driven, each an order of its own under its stop id (so a loaded one stays
        pinned to its truck), from the depot its goods were allocated at."""
        zones = {z.zone_id: z for z in snapshot.zones}
        depots = {d.depot_id: d for d in snapshot.depots}
        orders, details = [], {}
        for stop in snapshot.carried:
            kind = max((_kind(self.items.get(c)) for c in stop.items if c in self.items), key=_KIND_RANK.__getitem__,
                       default="dry")
            zone = zones.get(stop.zone_id or "")
            depot = depots.get(stop.order_id.partition(">")[0])
            orders.append(Order(stop.stop_id, snapshot.district_code, stop.location, stop.kg, stop.m3,
                                _window(depot) if depot else (0, 86_400), zone_id=zone.zone_id if zone else None,
                                priority=_priority(kind, zone),
                                max_ride_s=PERISHABLE_RIDE_S if kind == "perishable" else None,
                                source_id=depot.depot_id if depot else None))
            details[stop.stop_id] = {"zone_id": stop.zone_id, "commune_code": stop.commune_code, "kg": stop.kg,
                                     "district_code": stop.district_code, "items": dict(stop.items),
                                     "delivery_plan_id": stop.delivery_plan_id}
        return orders, details


def _loads_at(snapshot: PlanningSnapshot, district: str, depot_id: str) -> bool:
    fleets = snapshot.province_fleets
    return not fleets or depot_id in fleets.get(district, frozenset())


def _unused(order_id: str, taken: set[str]) -> str:
    """More goods for a zone that still has a carried-over drop of the same kind: an order (and stops) of its own."""
    k = 1
    candidate = order_id
    while candidate in taken:
        k += 1
        candidate = f"{order_id}~{k}"
    return candidate


_KIND_RANK = {"dry": 0, "perishable": 1, "medicine": 2}


def _priority(kind: str, zone: ZoneSnapshot | None) -> Priority:
    vulnerable = zone is not None and zone.vulnerable_households / max(1, zone.households) >= 0.2
    return Priority.MEDICINE if kind == "medicine" else Priority.VULNERABLE if vulnerable else Priority.NORMAL


def _window(depot: DepotSnapshot) -> tuple[int, int]:
    """Goods leave a depot while it is open and arrive within four hours of its closing."""
    return depot.opens_s, depot.closes_s + 4 * 3600


def _kind(item: Item) -> str:
    return "medicine" if item.medicine else "perishable" if item.perishable and (item.shelf_life_days or 0) <= 7 \
        else "dry"


def _dist2(a: LonLat, b: LonLat) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _depot(snapshot: PlanningSnapshot, depot_id: str) -> DepotSnapshot:
    return next(d for d in snapshot.depots if d.depot_id == depot_id)


def _target(zone: ZoneSnapshot) -> LonLat:
    return zone.checkpoint if zone.risk_level >= RED_RISK and zone.checkpoint else zone.drop_point


def _days_by_zone(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]
                  ) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for (zone, item), days in after.items():
        out[zone][item] = [round(before.get((zone, item), 0.0), 2), round(days, 2)]
    return dict(out)


def _min(days: dict[Any, float]) -> float | None:
    return round(min(days.values()), 2) if days else None


def eta(day_start: datetime, seconds: int) -> datetime:
    return day_start + timedelta(seconds=seconds)
