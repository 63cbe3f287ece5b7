"""The routing model on small problems whose answers can be checked by hand."""

from pathlib import Path

from optimizer.model import RoutingProblem, Stop, Vehicle
from optimizer.routing import SearchOptions, solve
from optimizer.solomon import exact_distance, read, to_problem

FAST = SearchOptions(time_limit_s=1.0)


def line_problem(stops, vehicles):
    """Nodes on a line at 0, 10, 20, ...: travel time and distance = |i - j| × 10."""
    n = 6
    matrix = [[abs(i - j) * 10 for j in range(n)] for i in range(n)]
    return RoutingProblem(travel_time=matrix, distance=matrix, stops=stops, vehicles=vehicles)


def truck(vid, kg=100, m3=10, shift=(0, 1000)):
    return Vehicle(vid, 0, 0, (kg, m3), shift)


def test_capacity_in_two_dimensions_splits_the_work():
    stops = [Stop(f"s{i}", i, (60, 2), (0, 1000)) for i in (1, 2)]
    solution = solve(line_problem(stops, [truck("a"), truck("b")]), FAST)
    assert solution.feasible and solution.vehicles_used == 2  # 120 kg does not fit one 100 kg truck
    bulky = [Stop(f"s{i}", i, (10, 6), (0, 1000)) for i in (1, 2)]
    assert solve(line_problem(bulky, [truck("a"), truck("b")]), FAST).vehicles_used == 2  # 12 m³ > 10 m³


def test_time_windows_order_the_visits():
    stops = [Stop("far-early", 4, (1, 1), (40, 45)), Stop("near-late", 1, (1, 1), (100, 200))]
    solution = solve(line_problem(stops, [truck("a")]), FAST)
    assert [v.stop_id for v in solution.routes[0].visits] == ["far-early", "near-late"]
    assert all(stop.window[0] <= visit.arrival <= stop.window[1]
               for visit, stop in zip(solution.routes[0].visits, stops, strict=True))


def test_an_overloaded_day_drops_the_least_important_stop():
    stops = [Stop("medicine", 1, (80, 1), (0, 1000), drop_penalty=1_000_000),
             Stop("noodles", 2, (80, 1), (0, 1000), drop_penalty=1_000)]
    solution = solve(line_problem(stops, [truck("a")]), FAST)
    assert solution.dropped == ["noodles"] and solution.feasible


def test_only_permitted_vehicles_serve_a_green_lane_stop():
    stops = [Stop("red-zone", 3, (1, 1), (0, 1000), allowed_vehicles=frozenset({"permit"}))]
    solution = solve(line_problem(stops, [truck("plain"), truck("permit")]), FAST)
    served_by = [r.vehicle_id for r in solution.routes if r.visits]
    assert served_by == ["permit"]


def test_a_solomon_instance_is_read_and_solved(tmp_path: Path):
    text = """TINY

VEHICLE
NUMBER     CAPACITY
  2         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0       1000          0
    1      3          4         10          0       1000         10
    2      6          8         10          0       1000         10
    3     -3         -4         15          0       1000         10
"""
    path = tmp_path / "tiny.txt"
    path.write_text(text)
    instance = read(path)
    assert (instance.name, instance.vehicles, instance.capacity, len(instance.coords)) == ("TINY", 2, 20, 4)
    solution = solve(to_problem(instance), FAST)
    assert solution.feasible and solution.vehicles_used == 2
    assert abs(exact_distance(instance, solution) - 30.0) < 1e-6  # 0→1→2→0 = 5+5+10, 0→3→0 = 10


def test_a_warm_start_from_given_routes_is_kept_when_it_is_already_optimal():
    stops = [Stop(f"s{i}", i, (1, 1), (0, 1000)) for i in (1, 2, 3)]
    problem = line_problem(stops, [truck("a"), truck("b")])
    solution = solve(problem, FAST, initial_routes=[["s1", "s2", "s3"], []])
    assert solution.feasible and [v.stop_id for v in solution.routes[0].visits] == ["s1", "s2", "s3"]
    assert solution.routes[0].distance == 60


def test_a_warm_start_that_breaks_a_constraint_falls_back_to_a_fresh_search():
    stops = [Stop(f"s{i}", i, (60, 1), (0, 1000)) for i in (1, 2)]
    problem = line_problem(stops, [truck("a"), truck("b")])
    solution = solve(problem, FAST, initial_routes=[["s1", "s2"], []])  # 120 kg on a 100 kg truck
    assert solution.feasible and solution.vehicles_used == 2
