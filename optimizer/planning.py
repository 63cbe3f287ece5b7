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
from dataclasses import dataclass
from functools import partial

from .decompose import assign_vehicles, groups_of
from .model import RoutingProblem, RoutingSolution, Stop, StopKind, Vehicle
from .orders import (
    MAIN_PASS_SHARE,
    MAX_STOPS_PER_PROBLEM,
    PENALTY_UNIT,
    PINNED_PENALTY,
    LonLat,
    Order,
    PlannedStop,
    PlanningInput,
    PlanVehicle,
    Priority,
    ProduceOffer,
    Reason,
    RoutePlan,
    Task,
    TravelMatrix,
    TravelTimes,
    Unserved,
    VehicleRoute,
    ZoneAccess,
    tasks_of,
)
from .routing import SearchOptions, solve
from .search import plan_routes

__all__ = ["LonLat", "Order", "PlanVehicle", "PlannedStop", "PlanningInput", "Priority", "ProduceOffer", "Reason",
           "RoutePlan", "TravelMatrix", "TravelTimes", "Unserved", "VehicleRoute", "ZoneAccess", "plan",
           "previous_of", "stops_per_vehicle"]


def plan(data: PlanningInput, travel: TravelTimes, time_limit_s: float = 30.0,
         max_stops: int = MAX_STOPS_PER_PROBLEM, workers: int | None = None) -> RoutePlan:
    """Plan the day: tasks → groups (district, then clusters) → one routing problem per group, solved apart.
    Then stops left out for lack of room get a second chance with the vehicles no group used."""
    tasks, pairs, unserved = tasks_of(data)
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


def _pass(tasks: list[Task], vehicles: list[PlanVehicle], data: PlanningInput, travel: TravelTimes,
          pairs: list[tuple[str, str]], time_limit_s: float, max_stops: int, workers: int | None,
          one_group: bool = False) -> tuple[list[VehicleRoute], list[Unserved], int]:
    """Solve `tasks` with `vehicles`: routes, the orders left out with their reasons, and how many sub-problems."""
    groups = {"all": tasks} if one_group else groups_of(tasks, max_stops)
    fleet = assign_vehicles(groups, data, vehicles)
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



# --- one sub-problem -------------------------------------------------------------------------------------------


@dataclass
class _Built:
    problem: RoutingProblem
    points: list[LonLat]
    tasks: dict[str, Task]


def _build(members: list[Task], vehicles: list[PlanVehicle], data: PlanningInput, travel: TravelTimes,
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
        # A loaded stop stays on its truck and is left out only if the truck cannot reach it at all (out of time).
        stops.append(Stop(t.stop_id, node(t.location), (math.ceil(t.kg), math.ceil(t.m3 * 1000)), t.window,
                          service=t.service_s,
                          drop_penalty=PINNED_PENALTY if pinned in ids else PENALTY_UNIT * t.priority,
                          allowed_vehicles=_allowed(t, every, permitted, at_depot), kind=t.kind,
                          max_ride=t.max_ride_s, pinned_vehicle=pinned if pinned in ids else None))
    names = {t.stop_id for t in members}
    matrix = travel.matrix(points, depart_at_hour=data.driving_hours[0] / 3600)
    problem = RoutingProblem(travel_time=matrix.seconds, distance=matrix.meters, stops=stops, vehicles=fleet,
                             pairs=[p for p in pairs if p[0] in names],
                             previous={s: v for s, (v, _) in data.previous.items() if s in names},
                             change_penalty=data.change_penalty_m)
    return _Built(problem, points, {t.stop_id: t for t in members})


def _allowed(task: Task, every: frozenset[str], permitted: frozenset[str],
             at_depot: dict[str, frozenset[str]]) -> frozenset[str] | None:
    allowed = permitted if task.permit_only else every
    if task.source_id is not None:
        allowed &= at_depot[task.source_id]
    return None if allowed == every else allowed


def _solve_one(job: tuple[list[Task], list[PlanVehicle], float], data: PlanningInput, travel: TravelTimes,
               pairs: list[tuple[str, str]]) -> tuple[_Built, RoutingSolution]:
    members, vehicles, seconds = job
    built = _build(members, vehicles, data, travel, pairs)
    if data.previous:  # re-planning: start from the previous plan, so that little moves
        initial = _previous_routes(data.previous, built.problem)
        return built, solve(built.problem, SearchOptions(time_limit_s=seconds), initial_routes=initial)
    return built, plan_routes(built.problem, seconds)  # the same search as `greenlane route solve`


def _run(jobs: list[tuple[str, list[Task], list[PlanVehicle], float]], data: PlanningInput,
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


def _routes(solution: RoutingSolution, members: list[Task], built: _Built) -> list[VehicleRoute]:
    routes = []
    for route in solution.routes:
        planned = VehicleRoute(route.vehicle_id, distance_m=route.distance, departures=route.departures)
        for n, visit in enumerate(route.visits, start=1):
            t = built.tasks[visit.stop_id]
            planned.stops.append(PlannedStop(t.stop_id, t.order_id, t.kind, n, visit.trip, visit.arrival,
                                             t.location, t.kg, t.m3, t.checkpoint_id))
        routes.append(planned)
    return routes


def _reasons(dropped: Sequence[str], members: list[Task], vehicles: list[PlanVehicle], built: _Built,
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


