"""The routing problem as plain data: a snapshot in, a plan out. No database, Kafka or web code here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class StopKind(StrEnum):
    DROP = "drop"  # goods loaded at the depot, unloaded here
    PICKUP = "pickup"  # goods loaded here (e.g. produce at a zone's checkpoint) ...
    DELIVERY = "delivery"  # ... and unloaded here, by the same vehicle, later on the same trip


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
    kind: StopKind = StopKind.DROP
    max_ride: int | None = None  # perishables: at most this long between leaving the depot and arriving here
    pinned_vehicle: str | None = None  # already loaded on this vehicle: it stays there, on its current trip


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    start_node: int  # its depot, or where it is now when re-planning
    end_node: int  # the depot it returns to, and reloads at between trips
    capacity: tuple[int, ...]
    shift: tuple[int, int]
    trips: int = 1  # at most this many trips in the shift, reloading at `end_node` between them
    reload_time: int = 0


@dataclass(frozen=True)
class RoutingProblem:
    """Integer travel times and distances between nodes (same units as windows and service times).

    `pairs` links each pickup to its delivery. `previous` (stop id → vehicle id) is the plan being revised:
    serving one of its stops with another vehicle costs `change_penalty`.
    """

    travel_time: list[list[int]]
    distance: list[list[int]]
    stops: list[Stop]
    vehicles: list[Vehicle]
    pairs: list[tuple[str, str]] = field(default_factory=list)
    previous: dict[str, str] = field(default_factory=dict)
    change_penalty: int = 0

    def __post_init__(self) -> None:
        n = len(self.travel_time)
        if any(len(row) != n for row in self.travel_time) or len(self.distance) != n:
            raise ValueError("travel_time and distance must be square matrices of one size")
        dims = {len(v.capacity) for v in self.vehicles} | {len(s.load) for s in self.stops}
        if len(dims) > 1:
            raise ValueError("every vehicle capacity and stop load needs the same number of dimensions")
        ids = [s.stop_id for s in self.stops]
        if len(set(ids)) != len(ids):
            raise ValueError("stop ids must be unique")
        vehicle_ids = {v.vehicle_id for v in self.vehicles}
        for stop in self.stops:
            if not 0 <= stop.node < n:
                raise ValueError(f"stop {stop.stop_id}: node {stop.node} is outside the matrix")
            if stop.window[0] > stop.window[1]:
                raise ValueError(f"stop {stop.stop_id}: its time window closes before it opens")
            if any(q < 0 for q in stop.load):
                raise ValueError(f"stop {stop.stop_id}: negative load")
            if stop.pinned_vehicle is not None and stop.pinned_vehicle not in vehicle_ids:
                raise ValueError(f"stop {stop.stop_id}: pinned to unknown vehicle {stop.pinned_vehicle}")
        for vehicle in self.vehicles:
            if not any(vehicle.capacity):
                raise ValueError(f"vehicle {vehicle.vehicle_id} has no capacity")
            if vehicle.trips < 1:
                raise ValueError(f"vehicle {vehicle.vehicle_id}: trips must be at least 1")
            if not (0 <= vehicle.start_node < n and 0 <= vehicle.end_node < n):
                raise ValueError(f"vehicle {vehicle.vehicle_id}: depot node outside the matrix")
        kinds = {s.stop_id: s.kind for s in self.stops}
        for pickup, delivery in self.pairs:
            if kinds.get(pickup) is not StopKind.PICKUP or kinds.get(delivery) is not StopKind.DELIVERY:
                raise ValueError(f"pair ({pickup}, {delivery}) must link a pickup stop to a delivery stop")
        paired = [s for pair in self.pairs for s in pair]
        if len(set(paired)) != len(paired) or {s for s, k in kinds.items() if k is not StopKind.DROP} - set(paired):
            raise ValueError("every pickup and delivery stop belongs to exactly one pair")


@dataclass
class Visit:
    stop_id: str
    arrival: int
    trip: int = 0


@dataclass
class Route:
    vehicle_id: str
    visits: list[Visit] = field(default_factory=list)
    distance: int = 0
    departures: list[int] = field(default_factory=list)  # when each trip leaves its depot


@dataclass
class RoutingSolution:
    routes: list[Route]
    dropped: list[str]
    objective: int
    feasible: bool

    @property
    def vehicles_used(self) -> int:
        return sum(1 for r in self.routes if r.visits)

    def vehicle_of(self) -> dict[str, str]:
        return {v.stop_id: r.vehicle_id for r in self.routes for v in r.visits}
