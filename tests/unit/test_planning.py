"""Planning rules on small maps whose answers can be checked by hand.

Places are (x, y) in km on a plane; travel takes one minute per km, so times and distances are easy to follow.
"""

from dataclasses import dataclass
from math import hypot

from optimizer.model import StopKind
from optimizer.planning import (
    Order,
    PlanningInput,
    PlanVehicle,
    Priority,
    ProduceOffer,
    Reason,
    ZoneAccess,
    plan,
    previous_of,
)

H = 3600
DAY = (6 * H, 18 * H)


@dataclass
class Matrix:
    seconds: list[list[int]]
    meters: list[list[int]]


class FlatTravel:
    """One km per minute, straight lines."""

    def matrix(self, points, depart_at_hour):  # type: ignore[no-untyped-def]
        km = [[hypot(a[0] - b[0], a[1] - b[1]) for b in points] for a in points]
        return Matrix(seconds=[[round(d * 60) for d in row] for row in km],
                      meters=[[round(d * 1000) for d in row] for row in km])


TRAVEL = FlatTravel()


def truck(vid, depot=(0.0, 0.0), kg=1000.0, permit=False, trips=1, district="D1"):
    return PlanVehicle(vid, depot, kg, 20.0, DAY, green_lane_permit=permit, district_code=district, trips=trips)


def order(oid, at, kg=100.0, zone=None, priority=Priority.NORMAL, window=DAY, district="D1", max_ride=None):
    return Order(oid, district, at, kg, kg / 500, window, zone_id=zone, priority=priority, max_ride_s=max_ride)


def run(data: PlanningInput, seconds: float = 1.0):
    return plan(data, TRAVEL, time_limit_s=seconds, workers=1)


def reasons(result):
    return {u.order_id: u.reason for u in result.unserved}


def test_a_red_zone_is_served_at_its_checkpoint_with_the_handover_time():
    red = ZoneAccess("z-red", red=True, checkpoint_id="cp-1", checkpoint=(5.0, 0.0), handover_s=1200)
    result = run(PlanningInput([order("o1", (6.0, 1.0), zone="z-red")], [truck("t1")], {"z-red": red}, ))
    (stop,) = result.routes[0].stops
    assert stop.location == (5.0, 0.0) and stop.checkpoint_id == "cp-1"
    assert result.routes[0].distance_m == 10_000  # to the checkpoint and back, never inside the zone
    closed = ZoneAccess("z-closed", red=True)
    result = run(PlanningInput([order("o2", (6.0, 1.0), zone="z-closed")], [truck("t1")], {"z-closed": closed}))
    assert reasons(result) == {"o2": Reason.ZONE_UNREACHABLE}


def test_a_green_lane_zone_admits_permitted_vehicles_only():
    lane = ZoneAccess("z-lane", permit_only=True)
    data = PlanningInput([order("o1", (1.0, 0.0), zone="z-lane")], [truck("plain"), truck("permit", permit=True)],
                         {"z-lane": lane})
    served_by = [r.vehicle_id for r in run(data).routes if r.stops]
    assert served_by == ["permit"]
    nobody = PlanningInput([order("o1", (1.0, 0.0), zone="z-lane")], [truck("plain")], {"z-lane": lane})
    assert reasons(run(nobody)) == {"o1": Reason.NO_PERMITTED_VEHICLE}


def test_nobody_drives_in_curfew_hours():
    data = PlanningInput([order("o1", (30.0, 0.0)), order("night", (1.0, 0.0), window=(20 * H, 23 * H))],
                         [truck("t1")], driving_hours=DAY)
    result = run(data)
    assert reasons(result) == {"night": Reason.NO_TIME}
    route = result.routes[0]
    assert route.departures[0] >= 6 * H and route.stops[0].arrival_s + 300 + 30 * 60 <= 18 * H


def test_an_overloaded_day_drops_the_least_important_stop_first_with_its_reason():
    orders = [order("rice", (1.0, 0.0), kg=600.0), order("medicine", (2.0, 0.0), kg=300.0,
                                                              priority=Priority.MEDICINE),
              order("elderly", (3.0, 0.0), kg=300.0, priority=Priority.VULNERABLE)]
    result = run(PlanningInput(orders, [truck("t1", kg=700.0)]))
    assert reasons(result) == {"rice": Reason.OVERLOADED}
    assert {s.order_id for s in result.routes[0].stops} == {"medicine", "elderly"}


def test_perishables_that_cannot_arrive_in_time_are_reported():
    fish = order("fish", (50.0, 0.0), max_ride=30 * 60)  # 50 minutes away, must arrive within 30
    greens = order("greens", (20.0, 0.0), max_ride=30 * 60)
    result = run(PlanningInput([fish, greens], [truck("t1")]))
    assert reasons(result) == {"fish": Reason.NO_TIME}
    assert result.routes[0].stops[0].arrival_s - result.routes[0].departures[0] <= 30 * 60


def test_an_order_bigger_than_any_vehicle_is_split_across_vehicles():
    result = run(PlanningInput([order("big", (5.0, 0.0), kg=2500.0)], [truck(f"t{i}") for i in range(3)]))
    assert not result.unserved
    pieces = [s for r in result.routes for s in r.stops]
    assert len(pieces) == 3 and abs(sum(s.kg for s in pieces) - 2500.0) < 1e-6
    assert len({r.vehicle_id for r in result.routes if r.stops}) == 3


def test_an_order_for_a_green_lane_zone_is_split_for_the_permitted_trucks_it_must_ride():
    lane = ZoneAccess("z-lane", permit_only=True)
    data = PlanningInput([order("big", (5.0, 0.0), kg=1500.0, zone="z-lane")],
                         [truck("permit", kg=1000.0, permit=True, trips=2), truck("plain", kg=5000.0)],
                         {"z-lane": lane})
    result = run(data)
    assert not result.unserved  # two pieces on the permitted truck's two trips, though the plain one could hold all
    pieces = [(r.vehicle_id, s.trip) for r in result.routes for s in r.stops]
    assert sorted(pieces) == [("permit", 0), ("permit", 1)]


def test_one_vehicle_reloads_and_goes_again_within_its_shift():
    orders = [order("a", (5.0, 0.0), kg=800.0), order("b", (0.0, 5.0), kg=800.0)]
    result = run(PlanningInput(orders, [truck("t1", trips=2)]))
    assert not result.unserved
    (route,) = [r for r in result.routes if r.stops]
    assert sorted(s.trip for s in route.stops) == [0, 1] and len(route.departures) == 2
    assert list(reasons(run(PlanningInput(orders, [truck("t1", trips=1)]))).values()) == [Reason.OVERLOADED]


def test_produce_leaves_a_locked_zone_through_its_checkpoint_on_the_same_vehicle():
    red = ZoneAccess("z-red", red=True, checkpoint_id="cp-1", checkpoint=(5.0, 0.0), handover_s=600)
    offer = ProduceOffer("p1", "z-red", origin=(7.0, 2.0), destination=(0.0, 1.0), kg=400.0, m3=1.0,
                         until=12 * H, district_code="D1")
    result = run(PlanningInput([order("o1", (5.0, 0.0), zone="z-red", kg=800.0)], [truck("t1")], {"z-red": red},
                               produce=[offer]))
    assert not result.unserved
    stops = result.routes[0].stops
    kinds = [(s.kind, s.location) for s in stops]
    assert (StopKind.PICKUP, (5.0, 0.0)) in kinds and (StopKind.DELIVERY, (0.0, 1.0)) in kinds
    pickup = next(s for s in stops if s.kind is StopKind.PICKUP)
    drop = next(s for s in stops if s.kind is StopKind.DROP)
    assert pickup.checkpoint_id == "cp-1" and drop.sequence < pickup.sequence  # 800 + 400 > 1000: drop first
    assert pickup.arrival_s <= 12 * H


def test_replanning_keeps_loaded_stops_and_counts_what_moved():
    orders = [order(f"o{i}", (float(i), float(i % 3))) for i in range(1, 7)]
    vehicles = [truck("t1"), truck("t2", depot=(6.0, 0.0))]
    first = run(PlanningInput(orders, vehicles))
    assert not first.unserved
    before = previous_of(first)
    loaded = next(s for s in before if before[s][0] == "t2")
    again = run(PlanningInput([*orders, order("o7", (3.0, 3.0))], vehicles, previous=before,
                              loaded={loaded: "t2"}, change_penalty_m=50_000))
    after = previous_of(again)
    assert after[loaded][0] == "t2" and "o7" in after
    assert again.changed_vehicle == sum(1 for s in before if after[s][0] != before[s][0]) == 0
    unstable = run(PlanningInput([*orders, order("o7", (3.0, 3.0))], [truck("t3", depot=(3.0, 0.0))],
                                 previous=before))
    assert unstable.changed_vehicle == 6  # every stop moved to the only vehicle left


def test_big_problems_are_split_by_district_then_by_cluster():
    orders = [order(f"a{i}", (float(i % 10), float(i // 10)), kg=10.0, district="D1") for i in range(40)]
    orders += [order(f"b{i}", (50.0 + i % 5, float(i // 5)), kg=10.0, district="D2") for i in range(10)]
    vehicles = [truck(f"t{i}", depot=(0.0, 0.0) if i < 3 else (50.0, 0.0)) for i in range(5)]
    result = plan(PlanningInput(orders, vehicles), TRAVEL, time_limit_s=2.0, max_stops=15, workers=2)
    assert result.sub_problems == 4  # D2 whole; D1 (40 stops) in three clusters of at most ~15
    assert not result.unserved and sum(len(r.stops) for r in result.routes) == 50
    for route in result.routes:  # a vehicle serves one district
        assert len({s.order_id[0] for s in route.stops}) <= 1


def test_goods_ride_on_vehicles_of_the_depot_they_are_loaded_at():
    near = PlanVehicle("near", (0.0, 0.0), 1000.0, 20.0, DAY, depot_id="north")
    far = PlanVehicle("far", (20.0, 0.0), 1000.0, 20.0, DAY, depot_id="south")
    data = PlanningInput([Order("o1", "D1", (1.0, 0.0), 100.0, 0.2, DAY, source_id="south")], [near, far])
    assert {r.vehicle_id for r in run(data).routes if r.stops} == {"far"}
    orphan = PlanningInput([Order("o2", "D1", (1.0, 0.0), 100.0, 0.2, DAY, source_id="west")], [near, far])
    assert reasons(run(orphan)) == {"o2": Reason.NO_VEHICLE_CAPACITY}
