"""The routing model on small problems whose answers can be checked by hand."""

from pathlib import Path

from optimizer.model import RoutingProblem, Stop, Vehicle
from optimizer.routing import SearchOptions, solve
from optimizer.solomon import exact_distance, read, to_problem

FAST = SearchOptions(time_limit_s=1.0)
TINY_SOLOMON = Path(__file__).parent / "data" / "tiny_solomon.txt"  # 2 vehicles, 3 customers


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


def test_a_solomon_instance_is_read_and_solved():
    path = TINY_SOLOMON
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


def test_a_vehicle_makes_a_second_trip_after_reloading_at_its_depot():
    stops = [Stop(f"s{i}", i, (60, 1), (0, 1000), service=5) for i in (1, 2)]
    one_trip = solve(line_problem(stops, [truck("a")]), FAST)
    assert not one_trip.feasible  # 120 kg, one 100 kg truck, one trip
    problem = line_problem(stops, [Vehicle("a", 0, 0, (100, 10), (0, 1000), trips=2, reload_time=30)])
    solution = solve(problem, FAST)
    assert solution.feasible and solution.vehicles_used == 1
    route = solution.routes[0]
    assert sorted(v.trip for v in route.visits) == [0, 1] and len(route.departures) == 2
    first = min(route.visits, key=lambda v: v.trip)
    back_at_depot = first.arrival + 5 + abs(int(first.stop_id[1:])) * 10
    assert route.departures[1] >= back_at_depot + 30  # reloading takes 30


def test_a_second_trip_must_fit_in_the_shift():
    stops = [Stop(f"s{i}", 5, (60, 1), (0, 1000)) for i in (1, 2)]  # 50 out, 50 back per trip
    short_shift = Vehicle("a", 0, 0, (100, 10), (0, 150), trips=2, reload_time=60)
    assert not solve(line_problem(stops, [short_shift]), FAST).feasible  # 100 + 60 + 100 > 150
    long_shift = Vehicle("a", 0, 0, (100, 10), (0, 260), trips=2, reload_time=60)
    assert solve(line_problem(stops, [long_shift]), FAST).feasible


def test_perishables_arrive_within_their_ride_limit_from_the_depot():
    # Both stops on one truck: whichever goes second arrives at 40 or more after leaving the depot.
    fish = Stop("fish", 4, (1, 1), (0, 1000), max_ride=40)
    rice = Stop("rice", 1, (1, 1), (0, 1000))
    solution = solve(line_problem([rice, fish], [truck("a")]), FAST)
    route = solution.routes[0]
    assert solution.feasible and [v.stop_id for v in route.visits] == ["fish", "rice"]
    assert route.visits[0].arrival - route.departures[0] <= 40
    too_far = Stop("fish", 5, (1, 1), (0, 1000), max_ride=40)  # 50 from the depot
    assert not solve(line_problem([too_far], [truck("a")]), FAST).feasible


def test_waiting_counts_toward_a_perishable_ride_limit():
    # The drop opens at 200: leaving at 0 and waiting would take 200; the truck must leave late instead.
    fish = Stop("fish", 2, (1, 1), (200, 300), max_ride=30)
    solution = solve(line_problem([fish], [truck("a")]), FAST)
    assert solution.feasible and solution.routes[0].visits[0].arrival - solution.routes[0].departures[0] <= 30
    early_shift = line_problem([fish], [Vehicle("a", 0, 0, (100, 10), (0, 100))])
    assert not solve(early_shift, FAST).feasible  # must leave by 100, cannot arrive before 200 within 30


def test_produce_is_picked_up_and_delivered_by_the_same_vehicle_within_capacity():
    # Truck delivers 80 kg of rice to node 2, then carries 70 kg of produce from node 3 (a checkpoint) to node 1.
    from optimizer.model import StopKind

    stops = [Stop("rice", 2, (80, 1), (0, 1000)),
             Stop("produce-up", 3, (70, 1), (0, 1000), kind=StopKind.PICKUP, drop_penalty=500),
             Stop("produce-down", 1, (70, 1), (0, 1000), kind=StopKind.DELIVERY, drop_penalty=500)]
    problem = RoutingProblem(travel_time=line_problem([], []).travel_time, distance=line_problem([], []).distance,
                             stops=stops, vehicles=[truck("a")], pairs=[("produce-up", "produce-down")])
    solution = solve(problem, FAST)
    order = [v.stop_id for v in solution.routes[0].visits]
    assert solution.dropped == [] and order.index("produce-up") < order.index("produce-down")
    assert order.index("rice") < order.index("produce-up")  # 80 + 70 > 100: the rice must be off first
    heavy = [Stop("rice", 2, (80, 1), (0, 1000)),
             Stop("produce-up", 3, (30, 1), (0, 1000), kind=StopKind.PICKUP, drop_penalty=500),
             Stop("produce-down", 4, (30, 1), (0, 1000), kind=StopKind.DELIVERY, drop_penalty=500)]
    problem = RoutingProblem(travel_time=line_problem([], []).travel_time, distance=line_problem([], []).distance,
                             stops=heavy, vehicles=[truck("a")], pairs=[("produce-up", "produce-down")])
    solution = solve(problem, FAST)
    assert solution.dropped == [] and [v.stop_id for v in solution.routes[0].visits] == [
        "rice", "produce-up", "produce-down"]  # 80 + 30 > 100: rice off before the produce goes on


def test_a_stop_already_loaded_stays_on_its_vehicle():
    stops = [Stop("loaded", 1, (1, 1), (0, 1000), pinned_vehicle="far"),
             Stop("other", 1, (1, 1), (0, 1000))]
    vehicles = [truck("near"), Vehicle("far", 5, 5, (100, 10), (0, 1000))]
    solution = solve(line_problem(stops, vehicles), FAST)
    assert solution.vehicle_of()["loaded"] == "far"


def test_moving_a_stop_away_from_its_previous_vehicle_is_penalised():
    stops = [Stop("s1", 1, (1, 1), (0, 1000)), Stop("s2", 2, (1, 1), (0, 1000))]
    vehicles = [truck("a"), Vehicle("b", 2, 2, (100, 10), (0, 1000))]
    fresh = solve(line_problem(stops, vehicles), FAST)
    assert fresh.vehicle_of() == {"s1": "a", "s2": "b"}  # 20 in all, against 40 with both on a
    matrix = line_problem([], []).distance
    stable = RoutingProblem(travel_time=matrix, distance=matrix, stops=stops, vehicles=vehicles,
                            previous={"s1": "a", "s2": "a"}, change_penalty=1_000)
    assert solve(stable, FAST).vehicle_of() == {"s1": "a", "s2": "a"}
    cheap = RoutingProblem(travel_time=matrix, distance=matrix, stops=stops, vehicles=vehicles,
                           previous={"s1": "a", "s2": "a"}, change_penalty=1)
    assert solve(cheap, FAST).vehicle_of() == {"s1": "a", "s2": "b"}
