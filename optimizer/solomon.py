"""Solomon-format VRPTW instances (Solomon; Gehring & Homberger) as routing problems, and their exact distance."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from .model import RoutingProblem, RoutingSolution, Stop, Vehicle

SCALE = 1000  # OR-Tools works in integers: distances and times in thousandths


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    coords: list[tuple[float, float]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]


def read(path: Path) -> SolomonInstance:
    """Parse the classic text format: VEHICLE NUMBER/CAPACITY, then one row per customer (0 is the depot)."""
    lines = [line.split() for line in path.read_text().splitlines()]
    name = lines[0][0] if lines and lines[0] else path.stem
    rows = [row for row in lines if row and all(_number(x) for x in row)]
    vehicles, capacity = int(rows[0][0]), int(rows[0][1])
    customers = [row for row in rows[1:] if len(row) == 7]
    return SolomonInstance(
        name=name, vehicles=vehicles, capacity=capacity,
        coords=[(float(r[1]), float(r[2])) for r in customers], demand=[int(float(r[3])) for r in customers],
        ready=[int(float(r[4])) for r in customers], due=[int(float(r[5])) for r in customers],
        service=[int(float(r[6])) for r in customers])


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def euclid(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def to_problem(instance: SolomonInstance) -> RoutingProblem:
    """Distances are truncated to thousandths, so a route feasible here is feasible with exact distances."""
    n = len(instance.coords)
    matrix = [[int(euclid(instance.coords[i], instance.coords[j]) * SCALE) for j in range(n)] for i in range(n)]
    # Travel times round up, so the search never accepts a route that is late under exact arithmetic.
    times = [[math.ceil(euclid(instance.coords[i], instance.coords[j]) * SCALE) for j in range(n)] for i in range(n)]
    stops = [Stop(stop_id=str(i), node=i, load=(instance.demand[i],),
                  window=(instance.ready[i] * SCALE, instance.due[i] * SCALE), service=instance.service[i] * SCALE)
             for i in range(1, n)]
    fleet = [Vehicle(vehicle_id=str(v), start_node=0, end_node=0, capacity=(instance.capacity,),
                     shift=(instance.ready[0] * SCALE, instance.due[0] * SCALE)) for v in range(instance.vehicles)]
    return RoutingProblem(travel_time=times, distance=matrix, stops=stops, vehicles=fleet)


def exact_distance(instance: SolomonInstance, solution: RoutingSolution) -> float:
    """The unrounded Euclidean length of the solution's routes."""
    total = 0.0
    for route in solution.routes:
        path = [0, *(int(v.stop_id) for v in route.visits), 0] if route.visits else []
        total += sum(euclid(instance.coords[a], instance.coords[b]) for a, b in itertools.pairwise(path))
    return total
