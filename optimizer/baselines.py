"""The allocation rules ours is measured against: shares by population, and first come first served.

Both respect the same rules as `allocation.allocate`: only usable source→zone legs, source stock, per-source and
global transport capacity, and no zone filled beyond the target days of supply. Each draws from the nearest usable
source first.
"""

from __future__ import annotations

from collections import defaultdict

from .allocation import Allocation, AllocationProblem, Key, Network, Pair, finish


class _Dispatcher:
    """Ships from the nearest usable sources first while stock and transport capacity last."""

    def __init__(self, net: Network) -> None:
        problem = net.problem
        self.net = net
        self.stock = {(s.source_id, code): q for s in problem.sources for code, q in s.stock.items()}
        self.source_kg = {s.source_id: s.capacity_kg for s in problem.sources}
        self.total_kg = problem.transport_capacity_kg
        self.quantities: dict[Key, float] = defaultdict(float)

    def ship(self, pair: Pair, wanted: float) -> None:
        for arc in self.net.arcs_of.get(pair, []):
            if wanted <= 0:
                return
            sid, code, kg = arc.source.source_id, arc.item.code, arc.item.kg_per_unit
            q = min(wanted, self.stock[(sid, code)])
            source_kg = self.source_kg[sid]
            if source_kg is not None:
                q = min(q, source_kg / kg)
            if self.total_kg is not None:
                q = min(q, self.total_kg / kg)
            if q <= 0:
                continue
            self.quantities[(sid, pair[0], code)] += q
            self.stock[(sid, code)] -= q
            if source_kg is not None:
                self.source_kg[sid] = source_kg - q * kg
            if self.total_kg is not None:
                self.total_kg -= q * kg
            wanted -= q


def proportional_to_population(problem: AllocationProblem) -> Allocation:
    """Each item's total source stock shared by zone population (capped at the target), zone stock ignored."""
    net = Network(problem)
    dispatch = _Dispatcher(net)
    for item in problem.items:
        available = sum(s.stock.get(item.code, 0.0) for s in problem.sources)
        zones = [z for z in problem.zones if (z.zone_id, item.code) in net.needs]
        people = sum(z.people for z in zones)
        if people <= 0:
            continue
        for z in zones:
            pair = (z.zone_id, item.code)
            dispatch.ship(pair, min(net.room[pair], available * z.people / people))
    return finish(net, dict(dispatch.quantities), "proportional to population")


def first_come_first_served(problem: AllocationProblem) -> Allocation:
    """Zones in order of request time, each filled to the target until stock or capacity runs out."""
    net = Network(problem)
    dispatch = _Dispatcher(net)
    for z in sorted(problem.zones, key=lambda z: (z.requested_at, z.zone_id)):
        for item in problem.items:
            pair = (z.zone_id, item.code)
            if pair in net.room:
                dispatch.ship(pair, net.room[pair])
    return finish(net, dict(dispatch.quantities), "first come, first served")
