"""The PyVRP warm start and the product planner (plan_routes) on small problems whose answers can be checked by hand."""

import itertools
import json
import random
import time
from pathlib import Path

import pytest
import pyvrp

from optimizer import search
from optimizer.model import RoutingProblem, Stop, StopKind, Vehicle
from optimizer.routing import SearchOptions, solve
from optimizer.search import PlanOptions, plan_routes
from optimizer.warm_start import pyvrp_routes, routes_from_pyvrp, to_pyvrp


def line_problem(stops, vehicles, n=8, **extra):
    """Nodes on a line at 0, 10, 20, ...: travel time and distance = |i - j| × 10."""
    matrix = [[abs(i - j) * 10 for j in range(n)] for i in range(n)]
    return RoutingProblem(travel_time=matrix, distance=matrix, stops=stops, vehicles=vehicles, **extra)


def truck(vid, kg=100, start=0, end=0, shift=(0, 1000)):
    return Vehicle(vid, start, end, (kg,), shift)


def served(routes):
    return sorted(sid for route in routes for sid in route)


def route_cost(problem, routes):
    """The OR-Tools objective of routes given as stop ids per vehicle: distance plus the penalties of dropped stops."""
    by_id = {s.stop_id: s for s in problem.stops}
    total = 0
    for vehicle, route in zip(problem.vehicles, routes, strict=True):
        if route:
            path = [vehicle.start_node, *(by_id[sid].node for sid in route), vehicle.end_node]
            total += sum(problem.distance[a][b] for a, b in itertools.pairwise(path))
    on_route = {sid for route in routes for sid in route}
    return total + sum(s.drop_penalty or 0 for s in problem.stops if s.stop_id not in on_route)


def test_routes_map_back_to_stop_ids_and_vehicles():
    # Two vehicle types: "small" (capacity 10) and "big" (capacity 100); clients 0, 1, 2 are stops a, b, c.
    stops = [Stop("a", 1, (5,), (0, 1000)), Stop("b", 2, (5,), (0, 1000)), Stop("c", 3, (50,), (0, 1000))]
    problem = line_problem(stops, [truck("small", kg=10), truck("big")])
    model = to_pyvrp(problem)
    assert model is not None and model.vehicles_by_type == [[0], [1]]
    solution = pyvrp.Solution(model.data, [pyvrp.Route(model.data, [1, 0], 0), pyvrp.Route(model.data, [2], 1)])
    assert routes_from_pyvrp(model, problem, solution) == [["b", "a"], ["c"]]


def test_identical_vehicles_share_a_type_and_get_one_route_each():
    stops = [Stop(f"s{i}", i, (60,), (0, 1000)) for i in (1, 2, 3)]
    problem = line_problem(stops, [truck("t1"), truck("t2"), truck("t3")])
    model = to_pyvrp(problem)
    assert model is not None and model.vehicles_by_type == [[0, 1, 2]]
    routes = pyvrp_routes(problem, 0.2)
    assert routes is not None and len(routes) == 3
    assert all(len(route) == 1 for route in routes)  # 60 + 60 > 100: one stop per truck
    assert served(routes) == ["s1", "s2", "s3"]


def test_time_windows_service_and_shift_are_kept():
    # "far-early" at node 4 must start by 45; "near-late" at node 1 from 100; service 20 at each.
    stops = [Stop("near-late", 1, (1,), (100, 200), service=20), Stop("far-early", 4, (1,), (40, 45), service=20)]
    routes = pyvrp_routes(line_problem(stops, [truck("a")]), 0.2)
    assert routes == [["far-early", "near-late"]]
    # The shift ends at 70: the truck can reach node 4 (40) and serve (20) but not come back (40 more).
    tight = line_problem([Stop("far", 4, (1,), (0, 1000), service=20)], [truck("a", shift=(0, 70))])
    start = time.monotonic()
    assert pyvrp_routes(tight, 1.0) is None
    assert time.monotonic() - start < 0.9  # no feasible solution by half the time: PyVRP gives up


def test_permits_and_depots_are_respected():
    # The permit truck starts and ends at node 7; the plain one at node 0. "red-zone" (node 1, next to node 0)
    # may only go on the permit truck, so it travels 7 → 1 → 7 although the plain truck is next door.
    stops = [Stop("red-zone", 1, (1,), (0, 1000), allowed_vehicles=frozenset({"permit"})),
             Stop("open", 6, (1,), (0, 1000))]
    problem = line_problem(stops, [truck("plain"), truck("permit", start=7, end=7)])
    model = to_pyvrp(problem)
    assert model is not None
    assert [list(t.capacity) for t in model.data.vehicle_types()] == [[100, 0], [100, 2]]
    routes = pyvrp_routes(problem, 0.2)
    assert routes == [[], ["open", "red-zone"]] or routes == [[], ["red-zone", "open"]]


def test_optional_stops_are_dropped_when_their_penalty_is_below_the_detour():
    stops = [Stop("medicine", 1, (80,), (0, 1000), drop_penalty=1_000_000),
             Stop("noodles", 2, (80,), (0, 1000), drop_penalty=1_000),
             Stop("far-and-cheap", 7, (1,), (0, 1000), drop_penalty=10)]  # detour 140 > penalty 10
    routes = pyvrp_routes(line_problem(stops, [truck("a")]), 0.2)
    assert routes == [["medicine"]]


def test_a_stop_pinned_to_its_vehicle_stays_there_and_is_served():
    stops = [Stop("loaded", 1, (1,), (0, 1000), drop_penalty=1, pinned_vehicle="far"),
             Stop("near", 2, (1,), (0, 1000))]
    problem = line_problem(stops, [truck("close"), truck("far", start=7, end=7)])
    model = to_pyvrp(problem)
    assert model is not None and model.data.clients()[0].required  # pinned: no longer optional
    # Unpinned, "close" would serve both (0 → 1 → 2 → 0: 40). Pinned, the best is "far" serving both (7 → 2 → 1 → 7
    # or back: 120) rather than each truck one stop (40 + 120).
    routes = pyvrp_routes(problem, 0.2)
    assert routes is not None and routes[0] == [] and sorted(routes[1]) == ["loaded", "near"]


@pytest.mark.parametrize("problem", [
    line_problem([Stop("p", 1, (5,), (0, 1000), kind=StopKind.PICKUP),
                  Stop("d", 2, (5,), (0, 1000), kind=StopKind.DELIVERY)], [truck("a")],
                 pairs=[("p", "d")]),  # pickup and delivery
    line_problem([Stop("fish", 1, (1,), (0, 1000), max_ride=5)], [truck("a")]),  # a ride limit
    line_problem([Stop("a", 1, (1,), (0, 1000))], [Vehicle("a", 0, 0, (10,), (0, 1000), trips=2)]),  # reloads
    line_problem([Stop("a", 1, (1,), (0, 1000))], [truck("a"), truck("b")], previous={"a": "b"},
                 change_penalty=100),  # stability against a previous plan
    line_problem([], [truck("a")]),  # nothing to plan
    line_problem([Stop("a", 1, (1,), (0, 1000))], []),  # no fleet
    RoutingProblem(travel_time=[[0, 10], [10, 0]], distance=[[0, -1], [-1, 0]],
                   stops=[Stop("a", 1, (1,), (0, 100))], vehicles=[truck("a")]),  # negative distance
    line_problem([Stop("a", 1, (1,), (-10, 100))], [truck("a")]),  # negative time
])
def test_what_cannot_be_represented_exactly_gives_none(problem):
    assert to_pyvrp(problem) is None
    assert pyvrp_routes(problem, 0.1) is None


def random_problem(n=25, vehicles=6, seed=7):
    """A small VRPTW on a 100 × 100 square, Solomon-style (times = rounded-up distances)."""
    rng = random.Random(seed)
    points = [(50, 50)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
    dist = [[int(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 * 10) for bx, by in points] for ax, ay in points]
    times = [[d + 1 if i != j else 0 for j, d in enumerate(row)] for i, row in enumerate(dist)]
    stops = []
    for i in range(1, n + 1):
        opens = times[0][i] + rng.randint(0, 1200)  # each stop can be served alone: windows open after the drive
        stops.append(Stop(str(i), i, (rng.randint(5, 30),), (opens, opens + rng.randint(200, 600)), service=50))
    fleet = [Vehicle(f"v{k}", 0, 0, (100,), (0, 5000)) for k in range(vehicles)]
    return RoutingProblem(travel_time=times, distance=dist, stops=stops, vehicles=fleet)


def test_plan_routes_is_feasible_and_never_worse_than_the_warm_start(monkeypatch):
    problem = random_problem()
    warm: list = []

    def recording(*args, **kwargs):
        routes = pyvrp_routes(*args, **kwargs)
        warm.append(routes)
        return routes

    monkeypatch.setattr(search, "pyvrp_routes", recording)
    start = time.monotonic()
    solution = plan_routes(problem, 1.5)
    assert time.monotonic() - start < 4.0
    assert solution.feasible and not solution.dropped
    assert warm and warm[0] is not None
    ours = [[v.stop_id for v in r.visits] for r in solution.routes]
    assert served(ours) == sorted(s.stop_id for s in problem.stops)
    assert solution.objective == route_cost(problem, ours)
    assert solution.objective <= route_cost(problem, warm[0])
    by_id = {s.stop_id: s for s in problem.stops}
    for route, vehicle in zip(solution.routes, problem.vehicles, strict=True):
        assert sum(by_id[v.stop_id].load[0] for v in route.visits) <= vehicle.capacity[0]
        assert all(by_id[v.stop_id].window[0] <= v.arrival <= by_id[v.stop_id].window[1] for v in route.visits)


def test_plan_routes_in_process_and_without_warm_start():
    problem = random_problem(n=12, vehicles=4, seed=3)
    for options in (PlanOptions(use_fork=False), PlanOptions(warm_share=0.0)):
        solution = plan_routes(problem, 0.6, options)
        assert solution.feasible and len({v.stop_id for r in solution.routes for v in r.visits}) == 12


def test_plan_routes_falls_back_to_or_tools_when_pyvrp_cannot_represent_the_problem(monkeypatch):
    problem = random_problem(n=10, vehicles=5, seed=5)
    monkeypatch.setattr(search, "pyvrp_routes", lambda *args, **kwargs: None)
    solution = plan_routes(problem, 0.5)
    assert solution.feasible and not solution.dropped



def test_greenlane_route_solve_prints_the_plan_of_plan_routes(capsys):
    from infra.cli import main

    path = Path(__file__).parent / "data" / "tiny_solomon.txt"
    main(["route", "solve", str(path), "--time-limit", "0.5"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["instance"] == "TINY" and line["feasible"] and line["vehicles"] == 2
    assert abs(line["distance"] - 30.0) < 1e-6  # 0→1→2→0 = 5+5+10, 0→3→0 = 10
    assert sorted(map(sorted, line["routes"])) == [[1, 2], [3]]


def test_the_or_tools_model_accepts_pyvrp_routes_with_two_depots_two_dimensions_permits_and_optional_stops():
    rng = random.Random(11)
    n = 30
    points = [(20, 50), (80, 50)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
    dist = [[int(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 * 10) for bx, by in points] for ax, ay in points]
    stops = [Stop(str(i), i, (rng.randint(5, 30), rng.randint(1, 4)), (0, 4000), service=30,
                  drop_penalty=rng.choice([None, None, 50, 5000]),
                  allowed_vehicles=frozenset({"west-permit"}) if i % 7 == 0 else None)
             for i in range(2, n + 2)]
    fleet = [Vehicle("west-permit", 0, 0, (200, 30), (0, 5000)), Vehicle("west", 0, 0, (200, 30), (0, 5000)),
             Vehicle("east-1", 1, 1, (160, 20), (0, 5000)), Vehicle("east-2", 1, 1, (160, 20), (0, 5000))]
    problem = RoutingProblem(travel_time=dist, distance=dist, stops=stops, vehicles=fleet)
    warm = pyvrp_routes(problem, 0.5)
    assert warm is not None
    assert all(sid in warm[0] for sid in ("7", "14", "21", "28") if sid in served(warm))  # permits kept
    solution = solve(problem, SearchOptions(time_limit_s=0.3), initial_routes=warm)
    assert solution.feasible and solution.objective <= route_cost(problem, warm)
