"""Big days are split into sub-problems that solve apart: by district, then clusters inside big districts; the
fleet is shared among them by load."""

from __future__ import annotations

import math
from collections import defaultdict

from .model import StopKind
from .orders import LonLat, PlanningInput, PlanVehicle, Task


def groups_of(tasks: list[Task], max_stops: int) -> dict[str, list[Task]]:
    """By district, then clusters of at most `max_stops` inside big districts; a pickup stays with its delivery."""
    by_district: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_district[task.group].append(task)
    groups: dict[str, list[Task]] = {}
    for district, members in sorted(by_district.items()):
        if len(members) <= max_stops:
            groups[district] = members
            continue
        for k, cluster in enumerate(_clusters(members, math.ceil(len(members) / max_stops))):
            groups[f"{district}/{k + 1}"] = cluster
    return groups


def _clusters(tasks: list[Task], k: int) -> list[list[Task]]:
    """k-means on the map (a few rounds, seeded from the sorted extremes so it is deterministic); pairs kept
    together by clustering on the pickup's place."""
    units: dict[str, list[Task]] = defaultdict(list)
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
    clusters: list[list[Task]] = [[] for _ in range(k)]
    for key, c in zip(keys, assignment, strict=True):
        clusters[c] += units[key]
    return [c for c in clusters if c]


def _nearest(point: LonLat, centres: list[LonLat]) -> int:
    return min(range(len(centres)), key=lambda c: _dist2(point, centres[c]))


def _dist2(a: LonLat, b: LonLat) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def assign_vehicles(groups: dict[str, list[Task]], data: PlanningInput, vehicles: list[PlanVehicle]
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
