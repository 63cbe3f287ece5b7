"""From a day's orders to routes: the lockdown rules become routing constraints, big problems are split into
independent sub-problems, and every order left unserved gets its reason.

- red zones: vehicles do not enter; the drop goes to the zone's checkpoint, with its hand-over time;
- green lanes: a zone that admits permitted vehicles only gets only those;
- curfew: nobody drives outside the driving hours, so shifts and windows are cut to them;
- priorities: medicine and vulnerable households are dropped last when the day is overloaded;
- perishables: a maximum time from depot to drop;
- orders bigger than one vehicle are split; vehicles reload and go again within their shift;
- produce from inside a zone rides back out through its checkpoint as a pickup-and-delivery pair;
- re-planning starts from where vehicles are, keeps loaded stops on their vehicle and penalises moves.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import partial
from typing import Protocol

from .model import RoutingProblem, RoutingSolution, Stop, StopKind, Vehicle
from .routing import SearchOptions, solve

LonLat = tuple[float, float]
PENALTY_UNIT = 10_000_000  # dropping the least important stop costs as much as 10,000 km of driving
MAX_STOPS_PER_PROBLEM = 150
MAIN_PASS_SHARE = 0.85  # of the time limit; the rest gives left-out stops a second chance with idle vehicles


class Priority(IntEnum):
    """Higher goes first when not everything fits."""

    PRODUCE = 1
    NORMAL = 10
    VULNERABLE = 100
    MEDICINE = 1000


class Reason(StrEnum):
    ZONE_UNREACHABLE = "zone_unreachable"  # a red zone without a checkpoint
    NO_PERMITTED_VEHICLE = "no_permitted_vehicle"  # green lane only, and no permitted vehicle available
    NO_TIME = "no_time"  # no vehicle can get there within its window, shift, driving hours or ride limit
    NO_VEHICLE_CAPACITY = "no_vehicle_capacity"  # no vehicle at all for this part of the city
    OVERLOADED = "overloaded"  # feasible alone, left out for more important stops


class TravelTimes(Protocol):
    def matrix(self, points: list[LonLat], depart_at_hour: float) -> TravelMatrix: ...


class TravelMatrix(Protocol):
    seconds: list[list[int]]
    meters: list[list[int]]


@dataclass(frozen=True)
class ZoneAccess:
    zone_id: str
    red: bool = False  # vehicles hand over at the checkpoint instead of entering
    permit_only: bool = False  # only vehicles with a green-lane permit
    checkpoint_id: str | None = None
    checkpoint: LonLat | None = None
    handover_s: int = 1200


@dataclass(frozen=True)
class Order:
    order_id: str
    district_code: str
    location: LonLat
    kg: float
    m3: float
    window: tuple[int, int]  # seconds since the start of the plan day
    zone_id: str | None = None
    service_s: int = 300
    priority: Priority = Priority.NORMAL
    max_ride_s: int | None = None  # perishables
    source_id: str | None = None  # the depot it is loaded at: only that depot's vehicles carry it


@dataclass(frozen=True)
class ProduceOffer:
    """Farm produce inside a zone, to be carried out to a depot or buyer before `until`."""

    offer_id: str
    zone_id: str
    origin: LonLat
    destination: LonLat
    kg: float
    m3: float
    until: int
    district_code: str = ""


@dataclass(frozen=True)
class PlanVehicle:
    vehicle_id: str
    depot: LonLat
    capacity_kg: float
    capacity_m3: float
    shift: tuple[int, int]
    green_lane_permit: bool = False
    district_code: str = ""
    trips: int = 1
    reload_s: int = 1800
    position: LonLat | None = None  # where it is now, when re-planning; None: at its depot
    available_from: int | None = None
    depot_id: str = ""


@dataclass(frozen=True)
class PlanningInput:
    orders: list[Order]
    vehicles: list[PlanVehicle]
    zones: dict[str, ZoneAccess] = field(default_factory=dict)
    produce: list[ProduceOffer] = field(default_factory=list)
    driving_hours: tuple[int, int] = (0, 86_400)  # outside them is curfew
    previous: dict[str, tuple[str, int]] = field(default_factory=dict)  # stop id → (vehicle, position)
    loaded: dict[str, str] = field(default_factory=dict)  # stop id → the vehicle it is on board
    started: frozenset[str] = frozenset()  # stops being served right now: not planned again
    change_penalty_m: int = 2_000


@dataclass
class PlannedStop:
    stop_id: str
    order_id: str
    kind: StopKind
    sequence: int
    trip: int
    arrival_s: int
    location: LonLat
    kg: float
    m3: float
    checkpoint_id: str | None = None  # handed over here instead of entering a red zone


@dataclass
class VehicleRoute:
    vehicle_id: str
    stops: list[PlannedStop] = field(default_factory=list)
    distance_m: int = 0
    departures: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Unserved:
    order_id: str
    reason: Reason
    detail: str = ""


@dataclass
class RoutePlan:
    routes: list[VehicleRoute]
    unserved: list[Unserved]
    sub_problems: int = 0
    changed_vehicle: int = 0
    changed_order: int = 0

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)


@dataclass(frozen=True)
class _Task:
    """One stop to plan, before it becomes a routing node."""

    stop_id: str
    order_id: str
    kind: StopKind
    location: LonLat
    kg: float
    m3: float
    window: tuple[int, int]
    service_s: int
    priority: Priority
    permit_only: bool = False
    max_ride_s: int | None = None
    checkpoint_id: str | None = None
    group: str = ""
    source_id: str | None = None


def plan(data: PlanningInput, travel: TravelTimes, time_limit_s: float = 30.0,
         max_stops: int = MAX_STOPS_PER_PROBLEM, workers: int | None = None) -> RoutePlan:
    """Plan the day: tasks → groups (district, then clusters) → one routing problem per group, solved apart.
    Then stops left out for lack of room get a second chance with the vehicles no group used."""
    tasks, pairs, unserved = _tasks(data)
    first_s = time_limit_s * (1.0 if len(data.vehicles) <= 1 else MAIN_PASS_SHARE)
    routes, left, jobs = _pass(tasks, list(data.vehicles), data, travel, pairs, first_s, max_stops, workers)
    used = {r.vehicle_id for r in routes if r.stops}
    idle = [v for v in data.vehicles if v.vehicle_id not in used]
    retry_orders = {u.order_id for u in left if u.reason is Reason.OVERLOADED}
    retry = [t for t in tasks if t.order_id in retry_orders]
    if retry and idle:
        # One group: the idle vehicles may sit anywhere in the city.
        extra, still_left, more = _pass(retry, idle, data, travel, pairs, time_limit_s - first_s,
                                        max(max_stops, len(retry)), workers, one_group=True)
        routes = [r for r in routes if r.vehicle_id in used] + extra
        left = [u for u in left if u.order_id not in retry_orders] + still_left
        jobs += more
    plan_ = RoutePlan(routes=routes, unserved=_unique(unserved + left), sub_problems=jobs)
    plan_.changed_vehicle, plan_.changed_order = _changes(data.previous, routes)
    return plan_


def _pass(tasks: list[_Task], vehicles: list[PlanVehicle], data: PlanningInput, travel: TravelTimes,
          pairs: list[tuple[str, str]], time_limit_s: float, max_stops: int, workers: int | None,
          one_group: bool = False) -> tuple[list[VehicleRoute], list[Unserved], int]:
    """Solve `tasks` with `vehicles`: routes, the orders left out with their reasons, and how many sub-problems."""
    groups = {"all": tasks} if one_group else _groups(tasks, max_stops)
    fleet = _assign_vehicles(groups, data, vehicles)
    unserved: list[Unserved] = []
    jobs = []
    for name, members in groups.items():
        mine = fleet.get(name, [])
        if not mine:
            unserved += [Unserved(t.order_id, Reason.NO_VEHICLE_CAPACITY, f"no vehicle left for {name}")
                         for t in members if t.kind is not StopKind.DELIVERY]
            continue
        share = max(1.0, time_limit_s * len(members) / max(1, len(tasks)))
        jobs.append((name, members, mine, share))
    jobs.sort(key=lambda job: -len(job[1]))  # big ones first, so parallel workers finish together
    results = _run(jobs, data, travel, pairs, workers)
    routes: list[VehicleRoute] = []
    for (_, members, mine, _), (built, solution) in zip(jobs, results, strict=True):
        routes += _routes(solution, members, built)
        unserved += _reasons(solution.dropped, members, mine, built, data)
    return routes, unserved, len(jobs)


# --- orders to tasks -------------------------------------------------------------------------------------------


def _tasks(data: PlanningInput) -> tuple[list[_Task], list[tuple[str, str]], list[Unserved]]:
    tasks: list[_Task] = []
    pairs: list[tuple[str, str]] = []
    unserved: list[Unserved] = []
    biggest = (max((v.capacity_kg for v in data.vehicles), default=0.0),
               max((v.capacity_m3 for v in data.vehicles), default=0.0))
    for order in data.orders:
        zone = data.zones.get(order.zone_id or "")
        location, service, checkpoint = order.location, order.service_s, None
        if zone is not None and zone.red:
            if zone.checkpoint is None:
                unserved.append(Unserved(order.order_id, Reason.ZONE_UNREACHABLE,
                                         f"red zone {zone.zone_id} has no checkpoint"))
                continue
            location, service, checkpoint = zone.checkpoint, service + zone.handover_s, zone.checkpoint_id
        window = _clip(order.window, data.driving_hours)
        if window is None:
            unserved.append(Unserved(order.order_id, Reason.NO_TIME, "its window lies in curfew hours"))
            continue
        pieces = _pieces(order.kg, order.m3, biggest)
        for k, (kg, m3) in enumerate(pieces):
            stop_id = order.order_id if len(pieces) == 1 else f"{order.order_id}#{k + 1}"
            if stop_id in data.started:
                continue
            tasks.append(_Task(stop_id, order.order_id, StopKind.DROP, location, kg, m3, window, service,
                               order.priority, bool(zone and zone.permit_only), order.max_ride_s, checkpoint,
                               order.district_code, order.source_id))
    for offer in data.produce:
        zone = data.zones.get(offer.zone_id)
        origin, service, checkpoint = offer.origin, 600, None
        if zone is not None and zone.checkpoint is not None:
            origin, service, checkpoint = zone.checkpoint, zone.handover_s, zone.checkpoint_id
        elif zone is not None and zone.red:
            unserved.append(Unserved(offer.offer_id, Reason.ZONE_UNREACHABLE,
                                     f"red zone {zone.zone_id} has no checkpoint"))
            continue
        window = _clip((0, offer.until), data.driving_hours)
        if window is None:
            unserved.append(Unserved(offer.offer_id, Reason.NO_TIME, "it expires before the driving hours"))
            continue
        up, down = f"{offer.offer_id}:pickup", f"{offer.offer_id}:delivery"
        common = {"kg": offer.kg, "m3": offer.m3, "priority": Priority.PRODUCE, "group": offer.district_code}
        tasks.append(_Task(up, offer.offer_id, StopKind.PICKUP, origin, window=window, service_s=service,
                           checkpoint_id=checkpoint, **common))  # type: ignore[arg-type]
        tasks.append(_Task(down, offer.offer_id, StopKind.DELIVERY, offer.destination,
                           window=data.driving_hours, service_s=600, **common))  # type: ignore[arg-type]
        pairs.append((up, down))
    return tasks, pairs, unserved


def _clip(window: tuple[int, int], hours: tuple[int, int]) -> tuple[int, int] | None:
    start, end = max(window[0], hours[0]), min(window[1], hours[1])
    return (start, end) if start <= end else None


def _pieces(kg: float, m3: float, biggest: tuple[float, float]) -> list[tuple[float, float]]:
    """An order too big for the biggest vehicle is split into equal pieces that each fit one."""
    if biggest[0] <= 0 or biggest[1] <= 0:
        return [(kg, m3)]
    n = max(1, math.ceil(max(kg / biggest[0], m3 / biggest[1]) - 1e-9))
    return [(kg / n, m3 / n)] * n


# --- decomposition ---------------------------------------------------------------------------------------------


def _groups(tasks: list[_Task], max_stops: int) -> dict[str, list[_Task]]:
    """By district, then clusters of at most `max_stops` inside big districts; a pickup stays with its delivery."""
    by_district: dict[str, list[_Task]] = defaultdict(list)
    for task in tasks:
        by_district[task.group].append(task)
    groups: dict[str, list[_Task]] = {}
    for district, members in sorted(by_district.items()):
        if len(members) <= max_stops:
            groups[district] = members
            continue
        for k, cluster in enumerate(_clusters(members, math.ceil(len(members) / max_stops))):
            groups[f"{district}/{k + 1}"] = cluster
    return groups


def _clusters(tasks: list[_Task], k: int) -> list[list[_Task]]:
    """k-means on the map (a few rounds, seeded from the sorted extremes so it is deterministic); pairs kept
    together by clustering on the pickup's place."""
    units: dict[str, list[_Task]] = defaultdict(list)
    for task in tasks:
        units[task.order_id].append(task)
    keys = sorted(units, key=lambda o: units[o][0].location)
    points = [units[o][0].location for o in keys]
    centres = [points[int(i * (len(points) - 1) / max(1, k - 1))] for i in range(k)]
    assignment = [0] * len(points)
    for _ in range(10):
        assignment = [_nearest(p, centres) for p in points]
        for c in range(k):
            mine = [p for p, a in zip(points, assignment, strict=True) if a == c]
            if mine:
                centres[c] = (sum(p[0] for p in mine) / len(mine), sum(p[1] for p in mine) / len(mine))
    clusters: list[list[_Task]] = [[] for _ in range(k)]
    for key, c in zip(keys, assignment, strict=True):
        clusters[c] += units[key]
    return [c for c in clusters if c]


def _nearest(point: LonLat, centres: list[LonLat]) -> int:
    return min(range(len(centres)), key=lambda c: _dist2(point, centres[c]))


def _dist2(a: LonLat, b: LonLat) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _assign_vehicles(groups: dict[str, list[_Task]], data: PlanningInput, vehicles: list[PlanVehicle]
                     ) -> dict[str, list[PlanVehicle]]:
    """Share the fleet by load: each group in turn (most load per vehicle first) takes its nearest free vehicle.
    A vehicle keeps the group of its previous or loaded stops; green-lane groups get permitted vehicles first."""
    if len(groups) <= 1:
        return {name: list(vehicles) for name in groups}
    fleet: dict[str, list[PlanVehicle]] = defaultdict(list)
    group_of_stop = {t.stop_id: name for name, members in groups.items() for t in members}
    free = list(vehicles)
    for vehicle in list(free):
        kept = [group_of_stop[s] for s, (v, _) in data.previous.items() if v == vehicle.vehicle_id
                and s in group_of_stop] + [group_of_stop[s] for s, v in data.loaded.items()
                                           if v == vehicle.vehicle_id and s in group_of_stop]
        if kept:
            fleet[max(set(kept), key=kept.count)].append(vehicle)
            free.remove(vehicle)
    load = {name: sum(t.kg for t in members if t.kind is StopKind.DROP) + 1 for name, members in groups.items()}
    centre = {name: (sum(t.location[0] for t in m) / len(m), sum(t.location[1] for t in m) / len(m))
              for name, m in groups.items()}
    needs_permit = {name for name, m in groups.items() if any(t.permit_only for t in m)}
    while free:
        name = max(groups, key=lambda g: (load[g] / (1 + sum(v.capacity_kg for v in fleet[g])), g))
        candidates = [v for v in free if v.green_lane_permit] if name in needs_permit and not any(
            v.green_lane_permit for v in fleet[name]) else []
        vehicle = min(candidates or free, key=lambda v: _dist2(v.position or v.depot, centre[name]))
        fleet[name].append(vehicle)
        free.remove(vehicle)
    return fleet


# --- one sub-problem -------------------------------------------------------------------------------------------


@dataclass
class _Built:
    problem: RoutingProblem
    points: list[LonLat]
    tasks: dict[str, _Task]


def _build(members: list[_Task], vehicles: list[PlanVehicle], data: PlanningInput, travel: TravelTimes,
           pairs: list[tuple[str, str]]) -> _Built:
    points: list[LonLat] = []
    node_of: dict[LonLat, int] = {}

    def node(place: LonLat) -> int:
        if place not in node_of:
            node_of[place] = len(points)
            points.append(place)
        return node_of[place]

    permitted = frozenset(v.vehicle_id for v in vehicles if v.green_lane_permit)
    every = frozenset(v.vehicle_id for v in vehicles)
    at_depot: dict[str, frozenset[str]] = defaultdict(frozenset)
    for v in vehicles:
        at_depot[v.depot_id] |= {v.vehicle_id}
    fleet = []
    for v in vehicles:
        start = max(v.shift[0], data.driving_hours[0], v.available_from or 0)
        end = min(v.shift[1], data.driving_hours[1])
        fleet.append(Vehicle(v.vehicle_id, node(v.position or v.depot), node(v.depot),
                             (math.ceil(v.capacity_kg), math.ceil(v.capacity_m3 * 1000)),
                             (start, max(start, end)), trips=v.trips, reload_time=v.reload_s))
    ids = {v.vehicle_id for v in vehicles}
    stops = []
    for t in members:
        pinned = data.loaded.get(t.stop_id)
        stops.append(Stop(t.stop_id, node(t.location), (math.ceil(t.kg), math.ceil(t.m3 * 1000)), t.window,
                          service=t.service_s, drop_penalty=None if pinned in ids else PENALTY_UNIT * t.priority,
                          allowed_vehicles=_allowed(t, every, permitted, at_depot), kind=t.kind,
                          max_ride=t.max_ride_s, pinned_vehicle=pinned if pinned in ids else None))
    names = {t.stop_id for t in members}
    matrix = travel.matrix(points, depart_at_hour=data.driving_hours[0] / 3600)
    problem = RoutingProblem(travel_time=matrix.seconds, distance=matrix.meters, stops=stops, vehicles=fleet,
                             pairs=[p for p in pairs if p[0] in names],
                             previous={s: v for s, (v, _) in data.previous.items() if s in names},
                             change_penalty=data.change_penalty_m)
    return _Built(problem, points, {t.stop_id: t for t in members})


def _allowed(task: _Task, every: frozenset[str], permitted: frozenset[str],
             at_depot: dict[str, frozenset[str]]) -> frozenset[str] | None:
    allowed = permitted if task.permit_only else every
    if task.source_id is not None:
        allowed &= at_depot[task.source_id]
    return None if allowed == every else allowed


def _solve_one(job: tuple[list[_Task], list[PlanVehicle], float], data: PlanningInput, travel: TravelTimes,
               pairs: list[tuple[str, str]]) -> tuple[_Built, RoutingSolution]:
    members, vehicles, seconds = job
    built = _build(members, vehicles, data, travel, pairs)
    initial = _previous_routes(data.previous, built.problem) if data.previous else None
    return built, solve(built.problem, SearchOptions(time_limit_s=seconds), initial_routes=initial)


def _run(jobs: list[tuple[str, list[_Task], list[PlanVehicle], float]], data: PlanningInput,
         travel: TravelTimes, pairs: list[tuple[str, str]], workers: int | None
         ) -> list[tuple[_Built, RoutingSolution]]:
    """Sub-problems are independent: solve them side by side, one process per CPU."""
    workers = max(1, min(len(jobs), workers or os.cpu_count() or 1))
    # Shares of the time limit were cut for one process; with several, each sub-problem may search longer.
    args = [(members, vehicles, seconds * workers) for _, members, vehicles, seconds in jobs]
    if workers <= 1:
        return [_solve_one(a, data, travel, pairs) for a in args]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(_solve_one, data=data, travel=travel, pairs=pairs), args))


def _previous_routes(previous: dict[str, tuple[str, int]], problem: RoutingProblem) -> list[list[str]]:
    by_vehicle: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for stop_id, (vehicle, position) in previous.items():
        by_vehicle[vehicle].append((position, stop_id))
    return [[s for _, s in sorted(by_vehicle.get(v.vehicle_id, []))] for v in problem.vehicles]


def _routes(solution: RoutingSolution, members: list[_Task], built: _Built) -> list[VehicleRoute]:
    routes = []
    for route in solution.routes:
        planned = VehicleRoute(route.vehicle_id, distance_m=route.distance, departures=route.departures)
        for n, visit in enumerate(route.visits, start=1):
            t = built.tasks[visit.stop_id]
            planned.stops.append(PlannedStop(t.stop_id, t.order_id, t.kind, n, visit.trip, visit.arrival,
                                             t.location, t.kg, t.m3, t.checkpoint_id))
        routes.append(planned)
    return routes


def _reasons(dropped: Sequence[str], members: list[_Task], vehicles: list[PlanVehicle], built: _Built,
             data: PlanningInput) -> list[Unserved]:
    """Why each dropped stop was left out: the first rule it cannot meet on its own, else the overload."""
    out = []
    problem = built.problem
    for stop_id in dropped:
        task = built.tasks[stop_id]
        if task.kind is StopKind.DELIVERY:
            continue  # reported with its pickup
        stop = next(s for s in problem.stops if s.stop_id == stop_id)
        allowed = [v for v in problem.vehicles if stop.allowed_vehicles is None
                   or v.vehicle_id in stop.allowed_vehicles]
        at_source = [v for v in vehicles if task.source_id is None or v.depot_id == task.source_id]
        if not at_source:
            out.append(Unserved(task.order_id, Reason.NO_VEHICLE_CAPACITY, f"no vehicle at {task.source_id}"))
        elif not allowed:
            out.append(Unserved(task.order_id, Reason.NO_PERMITTED_VEHICLE, "green lane only"))
        elif not any(_reachable_alone(stop, v, problem.travel_time) for v in allowed):
            out.append(Unserved(task.order_id, Reason.NO_TIME, "no vehicle reaches it in its window and shift"))
        else:
            out.append(Unserved(task.order_id, Reason.OVERLOADED,
                                "vehicles were full or busy with more important stops"))
    return out


def _reachable_alone(stop: Stop, vehicle: Vehicle, times: list[list[int]]) -> bool:
    there = times[vehicle.start_node][stop.node]
    arrive = max(vehicle.shift[0] + there, stop.window[0])
    back = arrive + stop.service + times[stop.node][vehicle.end_node]
    ride_ok = stop.max_ride is None or there <= stop.max_ride
    return arrive <= stop.window[1] and back <= vehicle.shift[1] and ride_ok and all(
        q <= c for q, c in zip(stop.load, vehicle.capacity, strict=True))


def _unique(unserved: list[Unserved]) -> list[Unserved]:
    """One line per order (a split order is reported once, with the first reason found)."""
    seen: dict[str, Unserved] = {}
    for item in unserved:
        seen.setdefault(item.order_id, item)
    return list(seen.values())


def _changes(previous: dict[str, tuple[str, int]], routes: list[VehicleRoute]) -> tuple[int, int]:
    """Stops of the previous plan now on another vehicle, and those kept on theirs but after another stop."""
    if not previous:
        return 0, 0
    before: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for stop_id, (vehicle, position) in previous.items():
        before[vehicle].append((position, stop_id))
    predecessor_before = {s: (order[i - 1][1] if i else None) for order in
                          (sorted(v) for v in before.values()) for i, (_, s) in enumerate(order)}
    moved = reordered = 0
    for route in routes:
        for i, stop in enumerate(route.stops):
            if stop.stop_id not in previous:
                continue
            if previous[stop.stop_id][0] != route.vehicle_id:
                moved += 1
            elif predecessor_before[stop.stop_id] != (route.stops[i - 1].stop_id if i else None):
                reordered += 1
    return moved, reordered


def stops_per_vehicle(plan_: RoutePlan) -> dict[str, list[str]]:
    return {r.vehicle_id: [s.stop_id for s in r.stops] for r in plan_.routes}


def previous_of(plan_: RoutePlan) -> dict[str, tuple[str, int]]:
    """A plan in the form the next re-planning round takes it."""
    return {s.stop_id: (r.vehicle_id, s.sequence) for r in plan_.routes for s in r.stops}


