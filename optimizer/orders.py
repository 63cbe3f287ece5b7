"""The planning layer's vocabulary: orders, zones' access rules, vehicles, the plan and why an order was left out;
and orders turned into tasks (one stop each) under the lockdown rules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Protocol

from .model import StopKind

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


PINNED_PENALTY = PENALTY_UNIT * Priority.MEDICINE * 100  # a loaded stop: left out only if it cannot be reached


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
class Task:
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


def tasks_of(data: PlanningInput) -> tuple[list[Task], list[tuple[str, str]], list[Unserved]]:
    """Each order as stops under the lockdown rules; produce offers as pickup-delivery pairs; what cannot be
    served at all (a red zone without checkpoint, a window in curfew) with its reason."""
    tasks: list[Task] = []
    pairs: list[tuple[str, str]] = []
    unserved: list[Unserved] = []
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
        # Split for the vehicles that may carry it: permitted ones into a green-lane zone, those of its depot.
        able = [v for v in data.vehicles if (v.green_lane_permit or not (zone and zone.permit_only))
                and (order.source_id is None or v.depot_id == order.source_id)] or data.vehicles
        biggest = (max((v.capacity_kg for v in able), default=0.0), max((v.capacity_m3 for v in able), default=0.0))
        pieces = _pieces(order.kg, order.m3, biggest)
        for k, (kg, m3) in enumerate(pieces):
            stop_id = order.order_id if len(pieces) == 1 else f"{order.order_id}#{k + 1}"
            if stop_id in data.started:
                continue
            tasks.append(Task(stop_id, order.order_id, StopKind.DROP, location, kg, m3, window, service,
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
        tasks.append(Task(up, offer.offer_id, StopKind.PICKUP, origin, window=window, service_s=service,
                           checkpoint_id=checkpoint, **common))  # type: ignore[arg-type]
        tasks.append(Task(down, offer.offer_id, StopKind.DELIVERY, offer.destination,
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
