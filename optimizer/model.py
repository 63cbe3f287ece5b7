"""The routing problem as plain data: a snapshot in, a plan out. No database, Kafka or web code here."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stop:
    """A place to serve once, within a time window, carrying `load` (one value per capacity dimension)."""

    stop_id: str
    node: int  # index into the problem's matrices
    load: tuple[int, ...]
    window: tuple[int, int]
    service: int = 0
    drop_penalty: int | None = None  # None: the stop must be served
    allowed_vehicles: frozenset[str] | None = None  # e.g. green-lane permits; None: any vehicle


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    start_node: int
    end_node: int
    capacity: tuple[int, ...]
    shift: tuple[int, int]


@dataclass(frozen=True)
class RoutingProblem:
    """Integer travel times and distances between nodes (same units as windows and service times)."""

    travel_time: list[list[int]]
    distance: list[list[int]]
    stops: list[Stop]
    vehicles: list[Vehicle]

    def __post_init__(self) -> None:
        n = len(self.travel_time)
        if any(len(row) != n for row in self.travel_time) or len(self.distance) != n:
            raise ValueError("travel_time and distance must be square matrices of one size")
        dims = {len(v.capacity) for v in self.vehicles} | {len(s.load) for s in self.stops}
        if len(dims) > 1:
            raise ValueError("every vehicle capacity and stop load needs the same number of dimensions")
        for stop in self.stops:
            if not 0 <= stop.node < n:
                raise ValueError(f"stop {stop.stop_id}: node {stop.node} is outside the matrix")
            if stop.window[0] > stop.window[1]:
                raise ValueError(f"stop {stop.stop_id}: its time window closes before it opens")
        for vehicle in self.vehicles:
            if not any(vehicle.capacity):
                raise ValueError(f"vehicle {vehicle.vehicle_id} has no capacity")


@dataclass
class Visit:
    stop_id: str
    arrival: int


@dataclass
class Route:
    vehicle_id: str
    visits: list[Visit] = field(default_factory=list)
    distance: int = 0


@dataclass
class RoutingSolution:
    routes: list[Route]
    dropped: list[str]
    objective: int
    feasible: bool

    @property
    def vehicles_used(self) -> int:
        return sum(1 for r in self.routes if r.visits)
