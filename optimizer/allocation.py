"""Allocation of scarce essentials to zones: lexicographic max-min days of supply, then the least transport.

Plain data in, plain data out; only OR-Tools (GLOP) and the standard library. Quantities are in each item's unit
and may be fractional (a plan, not a pick list); kg and km come from the item catalogue and the source legs.

The objective, in order: raise the smallest days of supply / vulnerability over every (zone, item), then the next
smallest, and so on (water-filling), never beyond the target days; then, with those levels held, ship the fewest
kg·km. A (zone, item) left below target gets one reason, the first that applies: zone_unreachable (closed, or no
source has a road to it), no_stock (no source with a road holds the item, or all of it is spent), no_time (the
sources in time are spent or absent but later ones still hold it), no_vehicle_capacity (stock remains in time but
the transport cap is spent), and for the baselines only not_allocated (stock and capacity remained unsent).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ortools.linear_solver import pywraplp

SourceKind = Literal["depot", "sales_point"]
Reason = Literal["zone_unreachable", "no_time", "no_vehicle_capacity", "no_stock", "not_allocated"]
Pair = tuple[str, str]  # (zone_id, item)
Key = tuple[str, str, str]  # (source_id, zone_id, item)
EPS = 1e-6


class AllocationInputError(ValueError):
    """The allocation input is inconsistent; `field` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CatalogueItem(Protocol):
    """What ItemInfo.of needs from a catalogue entry (services.domain.items.Item fits, without importing it)."""

    @property
    def code(self) -> str: ...
    @property
    def kg_per_unit(self) -> float: ...
    @property
    def shelf_life_days(self) -> int | None: ...


@dataclass(frozen=True)
class ItemInfo:
    code: str
    kg_per_unit: float
    shelf_life_hours: float | None = None  # None: not perishable

    @classmethod
    def of(cls, item: CatalogueItem) -> ItemInfo:
        """The allocation's view of a catalogue item."""
        life = item.shelf_life_days
        return cls(item.code, item.kg_per_unit, None if life is None else life * 24.0)


@dataclass(frozen=True)
class ZoneNeed:
    """A zone's daily need and stock per item (units); `vulnerability` ≥ 1 weights its days of supply."""

    zone_id: str
    district_code: str
    people: int
    daily_need: Mapping[str, float]
    stock: Mapping[str, float] = field(default_factory=dict)
    vulnerable_people: int = 0  # people in vulnerable households: their need gets the problem's reserve share on top
    vulnerability: float = 1.0  # at equal footing a zone of weight 2 ends with twice the days of supply
    requested_at: float = 0.0  # any increasing clock (e.g. POSIX seconds); orders first-come-first-served
    reachable: bool = True  # False e.g. for a red zone without a checkpoint


@dataclass(frozen=True)
class Source:
    """A depot or sales point with stock (units per item) and legs to zones: zone → (km, minutes), None: no road."""

    source_id: str
    kind: SourceKind
    stock: Mapping[str, float]
    legs: Mapping[str, tuple[float, float] | None]
    capacity_kg: float | None = None  # transport out of this source over the horizon; None: only the global cap


@dataclass(frozen=True)
class AllocationProblem:
    zones: Sequence[ZoneNeed]
    sources: Sequence[Source]
    items: Sequence[ItemInfo]
    horizon_hours: float
    transport_capacity_kg: float | None = None  # all vehicles over the horizon; None: unlimited
    target_days: float = 7.0  # no zone is filled beyond this many days of supply
    vulnerable_reserve_share: float = 0.0  # extra share of vulnerable people's need kept in reserve

    def __post_init__(self) -> None:
        _validate(self)

    def item(self, code: str) -> ItemInfo:
        return {i.code: i for i in self.items}[code]

    def need(self, zone: ZoneNeed, item: str) -> float:
        """Daily need of `item` in `zone`, reserve for vulnerable households included."""
        base = zone.daily_need.get(item, 0.0)
        if zone.people <= 0:
            return base
        return base * (1.0 + self.vulnerable_reserve_share * zone.vulnerable_people / zone.people)

    def usable(self, source: Source, zone: ZoneNeed, item: ItemInfo) -> bool:
        """Whether `source` can deliver `item` to `zone` within the horizon and the item's shelf life."""
        leg = source.legs.get(zone.zone_id)
        if leg is None or not zone.reachable:
            return False
        hours = leg[1] / 60.0
        return hours <= self.horizon_hours and (item.shelf_life_hours is None or hours < item.shelf_life_hours)


@dataclass(frozen=True)
class Shortfall:
    zone_id: str
    item: str
    missing: float  # units short of the target days of supply
    days: float  # days of supply after allocation
    reason: Reason  # not_allocated: stock and capacity remained but the policy did not send them (baselines only)


@dataclass
class Allocation:
    policy: str
    quantities: dict[Key, float]
    days_before: dict[Pair, float]  # only (zone, item) pairs with a positive need
    days_after: dict[Pair, float]
    shortfalls: list[Shortfall]
    transport_kg_km: float

    def delivered(self, zone_id: str, item: str) -> float:
        return sum(q for (_, z, i), q in self.quantities.items() if z == zone_id and i == item)


@dataclass(frozen=True)
class Summary:
    policy: str
    min_weighted_days: float  # smallest days of supply / vulnerability over (zone, item)
    min_days: float
    below_one_day: int  # (zone, item) pairs with less than one day of supply
    missing_units: float
    transport_kg_km: float


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise AllocationInputError(field, message)


def _amount(value: float, field: str) -> None:
    _check(isinstance(value, int | float) and math.isfinite(value) and value >= 0, field,
           f"must be a finite number ≥ 0, got {value!r}")


def _validate(p: AllocationProblem) -> None:
    codes = [i.code for i in p.items]
    _check(len(set(codes)) == len(codes), "items", "item codes must be unique")
    for item in p.items:
        _check(item.kg_per_unit > 0, f"items[{item.code}].kg_per_unit", "must be positive")
        _check(item.shelf_life_hours is None or item.shelf_life_hours > 0, f"items[{item.code}].shelf_life_hours",
               "must be positive")
    _check(math.isfinite(p.horizon_hours) and p.horizon_hours > 0, "horizon_hours", "must be positive")
    _check(math.isfinite(p.target_days) and p.target_days > 0, "target_days", "must be positive")
    _amount(p.vulnerable_reserve_share, "vulnerable_reserve_share")
    if p.transport_capacity_kg is not None:
        _amount(p.transport_capacity_kg, "transport_capacity_kg")
    known = set(codes)
    zone_ids: set[str] = set()
    for z in p.zones:
        where = f"zones[{z.zone_id}]"
        _check(z.zone_id not in zone_ids, where, "duplicate zone_id")
        zone_ids.add(z.zone_id)
        _check(z.people >= 0, f"{where}.people", "must not be negative")
        _check(0 <= z.vulnerable_people <= z.people, f"{where}.vulnerable_people", "must be between 0 and people")
        _check(math.isfinite(z.vulnerability) and z.vulnerability >= 1, f"{where}.vulnerability", "must be ≥ 1")
        for name, amounts in (("daily_need", z.daily_need), ("stock", z.stock)):
            for code, value in amounts.items():
                _check(code in known, f"{where}.{name}[{code}]", f"unknown item {code!r}")
                _amount(value, f"{where}.{name}[{code}]")
    source_ids: set[str] = set()
    for s in p.sources:
        where = f"sources[{s.source_id}]"
        _check(s.source_id not in source_ids, where, "duplicate source_id")
        source_ids.add(s.source_id)
        _check(s.kind in ("depot", "sales_point"), f"{where}.kind", f"must be depot or sales_point, got {s.kind!r}")
        if s.capacity_kg is not None:
            _amount(s.capacity_kg, f"{where}.capacity_kg")
        for code, value in s.stock.items():
            _check(code in known, f"{where}.stock[{code}]", f"unknown item {code!r}")
            _amount(value, f"{where}.stock[{code}]")
        for zone_id, leg in s.legs.items():
            _check(zone_id in zone_ids, f"{where}.legs[{zone_id}]", f"unknown zone {zone_id!r}")
            if leg is not None:
                _amount(leg[0], f"{where}.legs[{zone_id}].km")
                _amount(leg[1], f"{where}.legs[{zone_id}].minutes")


@dataclass(frozen=True)
class Arc:
    source: Source
    zone: ZoneNeed
    item: ItemInfo
    km: float


class Network:
    """The usable (source, zone, item) arcs, only where the source holds the item and the zone needs it."""

    def __init__(self, problem: AllocationProblem) -> None:
        self.problem = problem
        self.needs: dict[Pair, float] = {}
        self.room: dict[Pair, float] = {}  # units up to the target days of supply
        self.weight: dict[Pair, float] = {}
        self.zone_stock: dict[Pair, float] = {}
        self.arcs_of: dict[Pair, list[Arc]] = defaultdict(list)
        for z in problem.zones:
            for item in problem.items:
                need = problem.need(z, item.code)
                if need > 0:
                    pair = (z.zone_id, item.code)
                    self.needs[pair] = need
                    self.zone_stock[pair] = z.stock.get(item.code, 0.0)
                    self.room[pair] = max(0.0, problem.target_days * need - z.stock.get(item.code, 0.0))
                    self.weight[pair] = z.vulnerability
        for s in problem.sources:
            for z in problem.zones:
                leg = s.legs.get(z.zone_id)
                if leg is None:
                    continue
                for item in problem.items:
                    pair = (z.zone_id, item.code)
                    if (s.stock.get(item.code, 0.0) > 0 and self.room.get(pair, 0.0) > 0
                            and problem.usable(s, z, item)):
                        self.arcs_of[pair].append(Arc(s, z, item, leg[0]))
        for arcs in self.arcs_of.values():
            arcs.sort(key=lambda a: (a.km, a.source.source_id))

    def days(self, pair: Pair, delivered: float) -> float:
        """Days of supply of (zone, item) once `delivered` units arrive."""
        return (self.zone_stock[pair] + delivered) / self.needs[pair]


def allocate(problem: AllocationProblem) -> Allocation:
    """Lexicographic max-min of weighted days of supply (capped at the target), then the fewest kg·km (GLOP)."""
    net = Network(problem)
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        raise RuntimeError("OR-Tools' GLOP solver is not available")
    # Without presolve GLOP restarts each water-filling round from the previous basis (3× faster at 500 zones).
    solver.SetSolverSpecificParametersAsString("use_preprocessing: false")
    inf = solver.infinity()
    t = solver.NumVar(-inf, inf, "t")
    variables: list[tuple[Arc, pywraplp.Variable]] = []
    out_of_stock: dict[tuple[str, str], list[pywraplp.Variable]] = defaultdict(list)
    kg_out: dict[str, list[tuple[pywraplp.Variable, float]]] = defaultdict(list)
    level: dict[Pair, pywraplp.Constraint] = {}
    for pair, arcs in net.arcs_of.items():
        need, room = net.needs[pair], net.room[pair]
        # Weighted days ≥ t, written in days: Σ x / need − weight·t ≥ −(days before).
        level[pair] = row = solver.Constraint(-net.days(pair, 0.0), inf)
        row.SetCoefficient(t, -net.weight[pair])
        cap = solver.Constraint(-inf, room) if len(arcs) > 1 else None
        for arc in arcs:
            var = solver.NumVar(0.0, min(room, arc.source.stock[arc.item.code]), "")
            variables.append((arc, var))
            row.SetCoefficient(var, 1.0 / need)
            if cap is not None:
                cap.SetCoefficient(var, 1.0)
            out_of_stock[(arc.source.source_id, arc.item.code)].append(var)
            kg_out[arc.source.source_id].append((var, arc.item.kg_per_unit))
    sources = {s.source_id: s for s in problem.sources}
    for (source_id, code), group in out_of_stock.items():
        if len(group) > 1:
            row = solver.Constraint(-inf, sources[source_id].stock[code])
            for var in group:
                row.SetCoefficient(var, 1.0)
    for source_id, loads in kg_out.items():
        limit = sources[source_id].capacity_kg
        if limit is not None:
            row = solver.Constraint(-inf, limit)
            for var, kg in loads:
                row.SetCoefficient(var, kg)
    if problem.transport_capacity_kg is not None:
        row = solver.Constraint(-inf, problem.transport_capacity_kg)
        for loads in kg_out.values():
            for var, kg in loads:
                row.SetCoefficient(var, kg)

    # Water-filling: raise the common level t, freeze the pairs that cannot rise above it, repeat. A pair with a
    # positive dual on its level row is tight in every optimum (complementary slackness), so freezing it is exact.
    active = set(level)
    floors: dict[Pair, float] = {}  # frozen pairs: units they must receive
    residual = _Residual(net, variables)

    def freeze(pair: Pair, days: float) -> None:
        row = level[pair]
        row.SetCoefficient(t, 0.0)
        floors[pair] = max(0.0, (days - net.days(pair, 0.0)) * net.needs[pair])
        row.SetLb(days - net.days(pair, 0.0) - 1e-9 * max(1.0, days))
        active.discard(pair)

    solver.Maximize(t)
    while active:
        _solve(solver)
        top = t.solution_value()
        duals = {pair: abs(level[pair].dual_value()) * net.weight[pair] for pair in active}
        values = {id(var): var.solution_value() for _, var in variables}
        blocked = [pair for pair, dual in duals.items() if dual > 1e-9] or [max(duals, key=lambda p: duals[p])]
        # Pairs that receive nothing and can receive nothing more (no augmenting path to them in the residual
        # network) keep only the stock they hold in every remaining solution: freeze them now, not one per solve.
        lower = dict(floors)
        for pair in active:
            lower[pair] = max(0.0, (net.weight[pair] * top - net.days(pair, 0.0)) * net.needs[pair])
        reached = residual.reachable(values, lower)
        dead = [p for p in active if p not in reached and residual.inflow[p] <= 1e-9 and p not in blocked]
        for pair in blocked:
            freeze(pair, net.weight[pair] * top)
        for pair in dead:
            freeze(pair, net.days(pair, 0.0))
    cost = solver.Objective()
    cost.Clear()
    for arc, var in variables:
        # kg·km; a metre per kg on top keeps zero-distance sources from shipping beyond the frozen levels.
        cost.SetCoefficient(var, arc.item.kg_per_unit * (arc.km + 1e-3))
    cost.SetMinimization()
    _solve(solver)
    quantities: dict[Key, float] = {}
    for arc, var in variables:
        value = var.solution_value()
        if value > 1e-9:
            quantities[(arc.source.source_id, arc.zone.zone_id, arc.item.code)] = value
    return finish(net, quantities, "max-min days of supply")


def _solve(solver: pywraplp.Solver) -> None:
    status = solver.Solve()
    if status != pywraplp.Solver.OPTIMAL:
        raise RuntimeError(f"allocation LP did not solve to optimality (status {status})")


def finish(net: Network, quantities: dict[Key, float], policy: str) -> Allocation:
    """Days of supply before and after, transport and the reasoned shortfalls of an allocation by any policy."""
    problem = net.problem
    delivered: dict[Pair, float] = defaultdict(float)
    shipped: dict[tuple[str, str], float] = defaultdict(float)
    kg_by_source: dict[str, float] = defaultdict(float)
    transport = 0.0
    sources = {s.source_id: s for s in problem.sources}
    kg = {i.code: i.kg_per_unit for i in problem.items}
    for (source_id, zone_id, code), q in quantities.items():
        delivered[(zone_id, code)] += q
        shipped[(source_id, code)] += q
        kg_by_source[source_id] += q * kg[code]
        leg = sources[source_id].legs[zone_id]
        assert leg is not None, "quantities only flow along legs"
        transport += q * kg[code] * leg[0]
    before = {pair: net.days(pair, 0.0) for pair in net.needs}
    after = {pair: net.days(pair, delivered[pair]) for pair in net.needs}
    zones = {z.zone_id: z for z in problem.zones}
    total_kg = sum(kg_by_source.values())
    cap = problem.transport_capacity_kg
    global_full = cap is not None and total_kg >= cap * (1 - EPS) - EPS

    def remaining(s: Source, code: str) -> float:
        return s.stock.get(code, 0.0) - shipped[(s.source_id, code)]

    def reason(zone: ZoneNeed, item: ItemInfo) -> Reason:
        """The first cause that applies, in the order the module docstring gives."""
        routed = [s for s in problem.sources if s.legs.get(zone.zone_id) is not None]
        if not zone.reachable or not routed:
            return "zone_unreachable"
        stocked = [s for s in routed if s.stock.get(item.code, 0.0) > 0]
        timely = [s for s in stocked if problem.usable(s, zone, item)]
        late = [s for s in stocked if not problem.usable(s, zone, item)]
        if not stocked:
            return "no_stock"
        open_timely = [s for s in timely if remaining(s, item.code) > EPS * max(1.0, s.stock[item.code])]
        if not open_timely:
            return "no_time" if any(remaining(s, item.code) > EPS for s in late) or not timely else "no_stock"
        if global_full or all(s.capacity_kg is not None and kg_by_source[s.source_id] >= s.capacity_kg * (1 - EPS) - EPS
                              for s in open_timely):
            return "no_vehicle_capacity"
        return "not_allocated"

    shortfalls: list[Shortfall] = []
    for pair, days in after.items():
        missing = problem.target_days * net.needs[pair] - net.zone_stock[pair] - delivered[pair]
        if missing > EPS * max(1.0, problem.target_days * net.needs[pair]):
            zone, item = zones[pair[0]], problem.item(pair[1])
            shortfalls.append(Shortfall(pair[0], pair[1], missing, days, reason(zone, item)))
    return Allocation(policy, quantities, before, after, shortfalls, transport)


def summarize(problem: AllocationProblem, allocation: Allocation) -> Summary:
    """The numbers to compare policies by: smallest (weighted) days of supply, pairs below a day, transport."""
    weight = {z.zone_id: z.vulnerability for z in problem.zones}
    days = allocation.days_after
    return Summary(
        policy=allocation.policy,
        min_weighted_days=min((d / weight[z] for (z, _), d in days.items()), default=math.inf),
        min_days=min(days.values(), default=math.inf),
        below_one_day=sum(1 for d in days.values() if d < 1.0 - EPS),
        missing_units=sum(s.missing for s in allocation.shortfalls),
        transport_kg_km=allocation.transport_kg_km,
    )


class _Residual:
    """The allocation as a single-commodity network in kg (global cap → source cap → source stock → zone pair)."""

    def __init__(self, net: Network, variables: list[tuple[Arc, pywraplp.Variable]]) -> None:
        self.net, self.variables = net, variables
        self.upper = {id(var): var.ub() for _, var in variables}
        self.inflow: dict[Pair, float] = {}

    def reachable(self, values: dict[int, float], lower: dict[Pair, float]) -> set[Pair]:
        """The pairs an augmenting path can reach from spare capacity or from pairs above their floor."""
        problem, net = self.net.problem, self.net
        # Edges as (head, residual-forward?) lists per node; nodes: "O", "G", "S:sid", "P:sid:item", pair.
        adjacency: dict[object, list[object]] = defaultdict(list)
        source_kg: dict[str, float] = defaultdict(float)
        item_kg: dict[tuple[str, str], float] = defaultdict(float)
        self.inflow = inflow = defaultdict[Pair, float](float)
        for arc, var in self.variables:
            q = values[id(var)]
            sid, code, pair = arc.source.source_id, arc.item.code, (arc.zone.zone_id, arc.item.code)
            kg = q * arc.item.kg_per_unit
            source_kg[sid] += kg
            item_kg[(sid, code)] += kg
            inflow[pair] += q
            p_node = ("P", sid, code)
            ub = self.upper[id(var)]
            if q < ub - _tol(ub):
                adjacency[p_node].append(pair)
            if q > _tol(q):
                adjacency[pair].append(p_node)
        total = sum(source_kg.values())
        cap = problem.transport_capacity_kg
        if cap is None or total < cap - _tol(cap):
            adjacency["O"].append("G")
        for s in problem.sources:
            used = source_kg[s.source_id]
            if s.capacity_kg is None or used < s.capacity_kg - _tol(s.capacity_kg):
                adjacency["G"].append(("S", s.source_id))
            if used > _tol(used):
                adjacency[("S", s.source_id)].append("G")
            for item in problem.items:
                stock = s.stock.get(item.code, 0.0) * item.kg_per_unit
                shipped = item_kg[(s.source_id, item.code)]
                if shipped < stock - _tol(stock):
                    adjacency[("S", s.source_id)].append(("P", s.source_id, item.code))
                if shipped > _tol(shipped):
                    adjacency[("P", s.source_id, item.code)].append(("S", s.source_id))
        for pair in net.arcs_of:
            if inflow[pair] > lower.get(pair, 0.0) + _tol(inflow[pair]):
                adjacency["O"].append(pair)  # this pair may give some back
        seen: set[object] = {"O"}
        frontier: list[object] = ["O"]
        while frontier:
            node = frontier.pop()
            for nxt in adjacency[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        return {pair for pair in net.arcs_of if pair in seen}


def _tol(value: float) -> float:
    return 1e-7 * max(1.0, abs(value))
