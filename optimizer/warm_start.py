"""First routes from PyVRP for the OR-Tools model to start from (`optimizer.routing.solve(..., initial_routes=...)`).

`to_pyvrp` translates a RoutingProblem into PyVRP's ProblemData only when the translation is exact: the same integer
distances and travel times, service times, stop time windows, vehicle shifts (start and end within the shift),
capacities in every load dimension, start and end depots per vehicle, optional stops with their drop penalty (a
PyVRP prize: the objective differs by a constant only), and permits (`Stop.allowed_vehicles`), which become one
extra load dimension per distinct permit set (stop load 1; capacity: the number of stops for permitted vehicles, 0
for the others); a stop pinned to the vehicle it is already loaded on is a required stop with a permit for that
vehicle alone. Anything it cannot represent exactly gives None, and so the caller falls back to OR-Tools alone:
pickup-and-delivery pairs, ride limits (perishables), several trips per vehicle, a change penalty against a previous
plan, negative windows, shifts, distances or times, a fleet without vehicles, or a problem without stops.

`pyvrp_routes` runs PyVRP for a given time and returns stop ids per vehicle (in the order of `problem.vehicles`),
or None when PyVRP found no feasible solution (or the problem cannot be represented).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning

from .model import RoutingProblem, Stop, StopKind


@dataclass(frozen=True)
class PyVRPModel:
    data: pyvrp.ProblemData
    vehicles_by_type: list[list[int]]  # PyVRP vehicle type -> indices into problem.vehicles, in fleet order


def to_pyvrp(problem: RoutingProblem) -> PyVRPModel | None:
    """The same problem as PyVRP data, or None when it cannot be represented exactly."""
    stops, vehicles = problem.stops, problem.vehicles
    if not stops or not vehicles or problem.pairs or (problem.previous and problem.change_penalty):
        return None
    if any(v.start_node != v.end_node for v in vehicles):
        return None  # trucks on the road: their current trip carries only what is on board
    if any(v.trips != 1 for v in vehicles):
        return None  # reload trips: PyVRP's reloads count depot service differently
    if any(s.kind is not StopKind.DROP or s.max_ride is not None for s in stops):
        return None  # pickup-and-delivery pairs and ride limits have no exact PyVRP form
    if any(x < 0 for s in stops for x in (*s.load, *s.window, s.service, s.drop_penalty or 0)):
        return None
    if any(x < 0 for v in vehicles for x in (*v.capacity, *v.shift)):
        return None
    distance = np.asarray(problem.distance, dtype=np.int64)
    travel_time = np.asarray(problem.travel_time, dtype=np.int64)
    if distance.shape != travel_time.shape or (distance < 0).any() or (travel_time < 0).any():
        return None

    # Permits as load dimensions: one per distinct set of allowed vehicles.
    permit_sets = sorted({permits for s in stops if (permits := _permits(s)) is not None}, key=sorted)
    permit_dim = {permits: k for k, permits in enumerate(permit_sets)}
    permit_capacity = len(stops)

    depot_nodes = sorted({v.start_node for v in vehicles} | {v.end_node for v in vehicles})
    depot_of_node = {node: i for i, node in enumerate(depot_nodes)}
    nodes = depot_nodes + [s.node for s in stops]  # PyVRP locations: depots, then one per stop
    index = np.asarray(nodes, dtype=np.int64)
    distances = distance[np.ix_(index, index)]
    durations = travel_time[np.ix_(index, index)]
    np.fill_diagonal(distances, 0)  # a location to itself is never an arc of a route
    np.fill_diagonal(durations, 0)

    clients = []
    for i, stop in enumerate(stops):
        marks = [0] * len(permit_sets)
        allowed = _permits(stop)
        if allowed is not None:
            marks[permit_dim[allowed]] = 1
        optional = stop.drop_penalty is not None and stop.pinned_vehicle is None
        clients.append(pyvrp.Client(
            location=len(depot_nodes) + i, delivery=[*stop.load, *marks],
            service_duration=stop.service, tw_early=stop.window[0], tw_late=stop.window[1],
            prize=stop.drop_penalty or 0, required=not optional, name=stop.stop_id))
    depots = [pyvrp.Depot(location=i) for i in range(len(depot_nodes))]

    # Vehicles that are interchangeable share a PyVRP vehicle type.
    types: dict[tuple[int, int, tuple[int, ...], tuple[int, int]], list[int]] = {}
    for v, vehicle in enumerate(vehicles):
        capacity = (*vehicle.capacity,
                    *(permit_capacity if vehicle.vehicle_id in permits else 0 for permits in permit_sets))
        key = (depot_of_node[vehicle.start_node], depot_of_node[vehicle.end_node], capacity, vehicle.shift)
        types.setdefault(key, []).append(v)
    vehicle_types = [
        pyvrp.VehicleType(num_available=len(members), capacity=list(capacity), start_depot=start, end_depot=end,
                          tw_early=shift[0], tw_late=shift[1])
        for (start, end, capacity, shift), members in types.items()]
    locations = [pyvrp.Location(0, 0) for _ in nodes]  # coordinates are unused: the matrices say everything
    try:
        data = pyvrp.ProblemData(locations, clients, depots, vehicle_types, [distances], [durations])  # type: ignore[list-item]
    except (ValueError, IndexError):
        return None
    return PyVRPModel(data=data, vehicles_by_type=list(types.values()))


def _permits(stop: Stop) -> frozenset[str] | None:
    """The vehicles that may serve the stop (None: any). A stop already loaded on a vehicle (pinned) stays on it and
    must be served, as in the OR-Tools model (with one trip per vehicle, its current trip is its only trip)."""
    return frozenset({stop.pinned_vehicle}) if stop.pinned_vehicle is not None else stop.allowed_vehicles


def routes_from_pyvrp(model: PyVRPModel, problem: RoutingProblem, solution: pyvrp.Solution) -> list[list[str]]:
    """Stop ids per vehicle of `problem.vehicles` for a PyVRP solution of `model` (unused vehicles: empty lists)."""
    free = [list(members) for members in model.vehicles_by_type]
    routes: list[list[str]] = [[] for _ in problem.vehicles]
    for route in solution.routes():
        vehicle = free[route.vehicle_type()].pop(0)
        routes[vehicle] = [problem.stops[activity.idx].stop_id for activity in route if activity.is_client()]
    return routes


class _Budget:
    """PyVRP stopping criterion: the time is up, or half of it has gone by without any feasible solution (then the
    rest is better spent by OR-Tools on a first solution of its own)."""

    NO_FEASIBLE = int(np.iinfo(np.int64).max)  # the cost PyVRP reports while its best solution is infeasible

    def __init__(self, seconds: float, give_up_share: float = 0.5) -> None:
        self.seconds, self.give_up_s = seconds, seconds * give_up_share
        self.start = time.perf_counter()

    def __call__(self, best_cost: int) -> bool:
        elapsed = time.perf_counter() - self.start
        return elapsed >= self.seconds or (best_cost >= self.NO_FEASIBLE and elapsed >= self.give_up_s)


def pyvrp_routes(problem: RoutingProblem, time_limit_s: float, seed: int = 0) -> list[list[str]] | None:
    """Run PyVRP (one thread) for `time_limit_s` seconds, translation included; stop ids per vehicle, or None (the
    problem cannot be represented exactly, or no feasible solution by half the time)."""
    start = time.perf_counter()
    model = to_pyvrp(problem)
    if model is None:
        return None
    budget = _Budget(max(time_limit_s - (time.perf_counter() - start), 0.01))
    with warnings.catch_warnings():  # PyVRP warns when it struggles to find a feasible solution: None says as much
        warnings.simplefilter("ignore", category=PenaltyBoundWarning)
        result = pyvrp.solve(model.data, budget, seed=seed, collect_stats=False)
    if not result.best.is_feasible():
        return None
    return routes_from_pyvrp(model, problem, result.best)
