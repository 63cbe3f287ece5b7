"""Planning a district from its snapshot: allocation, then routes, then the planned deliveries."""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from math import cos, hypot, radians
from typing import Any

import pytest

from optimizer.model import StopKind
from services.domain.events import DeliveryPlanned
from services.domain.items import default_catalogue
from services.plan_approval import planned_deliveries
from services.planner import (
    CarriedStop,
    DepotSnapshot,
    OfferSnapshot,
    Planner,
    PlanningSnapshot,
    SnapshotError,
    VehicleSnapshot,
    ZoneSnapshot,
)

DAY_START = datetime(2021, 8, 23, tzinfo=UTC)
NOW = datetime(2021, 8, 23, 1, tzinfo=UTC)


@dataclass
class Matrix:
    seconds: list[list[int]]
    meters: list[list[int]]


class CityTravel:
    """Straight lines at 20 km/h (enough for tests; the product's travel times have their own tests)."""

    def matrix(self, points, depart_at_hour):  # type: ignore[no-untyped-def]
        def km(a, b):  # type: ignore[no-untyped-def]
            return hypot((a[0] - b[0]) * 111.32 * cos(radians(a[1])), (a[1] - b[1]) * 110.57)

        dist = [[km(a, b) for b in points] for a in points]
        return Matrix([[round(d / 20 * 3600) for d in row] for row in dist],
                      [[round(d * 1000) for d in row] for row in dist])


def zone(zone_id, people, rice, risk=2, checkpoint=None, at=(106.70, 10.78)):  # type: ignore[no-untyped-def]
    return ZoneSnapshot(zone_id, "760", risk, people, people // 10, people // 3,
                        {"rice": people * 0.4, "medicine_kit": people / 1000}, {"rice": rice}, at, "26734",
                        checkpoint_id="cp" if checkpoint else None, checkpoint=checkpoint)


def snapshot(zones, rice=1000.0, vehicles=2):  # type: ignore[no-untyped-def]
    depot = DepotSnapshot("dep", (106.65, 10.75), {"rice": rice, "medicine_kit": 100.0}, 5 * 3600, 20 * 3600)
    fleet = [VehicleSnapshot(f"t{i}", "dep", 1500.0, 10.0, (6 * 3600, 18 * 3600), True, 2) for i in range(vehicles)]
    return PlanningSnapshot("760", date(2021, 8, 23), DAY_START, zones, [depot], fleet, {"demand/0": 42})


PLANNER = Planner(default_catalogue(), CityTravel(), time_limit_s=1.0)


def _deliveries(result: Any) -> list[DeliveryPlanned]:
    """What approving the plan publishes, read from the plan as the store keeps it."""
    stored = {"plan_id": result.plan_id, "district_code": result.district_code, "stops": result.stop_rows()}
    return planned_deliveries(stored, NOW)


def test_scarce_rice_is_shared_so_zones_end_level_and_every_drop_is_routed():
    result = PLANNER.plan(snapshot([zone("a", 2000, 0.0), zone("b", 1000, 400.0, at=(106.71, 10.79))]), "r1", NOW)
    rice = {z: q for _, z, item, q in result.allocation["quantities"] if item == "rice"}
    assert abs(sum(rice.values()) - 1000.0) < 1e-3
    assert abs(rice["a"] / 800 - (400 + rice["b"]) / 400) < 0.01  # same days of supply after
    assert result.allocation["min_days_after"] > result.allocation["min_days_before"]
    delivered = {}
    for event in _deliveries(result):
        for item, q in event.quantities.items():
            delivered[(event.zone_id, item)] = delivered.get((event.zone_id, item), 0.0) + q
    assert abs(delivered[("a", "rice")] - rice["a"]) < 0.01 and abs(delivered[("b", "rice")] - rice["b"]) < 0.01
    assert result.plan_id == "plan-760-r1" and result.offsets == {"demand/0": 42}
    assert result.stats()["stops"] == len(_deliveries(result)) and not result.routes.unserved


def test_medicine_travels_as_its_own_most_important_order():
    result = PLANNER.plan(snapshot([zone("a", 2000, 0.0)]), "r2", NOW)
    kinds = {order_id.rsplit(":", 1)[1] for order_id in result.orders}
    assert kinds == {"dry", "medicine"}
    # 7 days of 2 kits a day, plus the 20% reserve on the share of people in vulnerable households (601 of 2,000)
    expected = 7 * 2.0 * (1 + 0.2 * 601 / 2000)
    assert abs(result.orders["dep>a:medicine"]["items"]["medicine_kit"] - expected) < 1e-3


def test_a_red_zone_is_served_at_its_checkpoint():
    red = zone("red", 1000, 0.0, risk=4, checkpoint=(106.69, 10.77))
    result = PLANNER.plan(snapshot([red]), "r3", NOW)
    stops = [s for r in result.routes.routes for s in r.stops]
    assert stops and all(s.location == (106.69, 10.77) and s.checkpoint_id == "cp" for s in stops)


def test_a_red_zone_without_checkpoint_is_reported_unreachable():
    result = PLANNER.plan(snapshot([zone("red", 1000, 0.0, risk=4)]), "r4", NOW)
    reasons = {s["reason"] for s in result.allocation["shortfalls"] if s["zone_id"] == "red"}
    assert reasons == {"zone_unreachable"}
    assert not _deliveries(result)


def test_produce_leaves_a_red_zone_through_its_checkpoint_to_the_nearest_depot():
    red = zone("red", 1000, 0.0, risk=4, checkpoint=(106.69, 10.77))
    snap = snapshot([red])
    offer = OfferSnapshot("offer-1", "red", (106.695, 10.775), 300.0, 16 * 3600)
    result = PLANNER.plan(PlanningSnapshot(**{**snap.__dict__, "produce": [offer]}), "r5", NOW)
    stops = {s.kind: s for r in result.routes.routes for s in r.stops if s.order_id == "offer-1"}
    assert stops[StopKind.PICKUP].location == (106.69, 10.77) and stops[StopKind.PICKUP].checkpoint_id == "cp"
    assert stops[StopKind.DELIVERY].location == (106.65, 10.75)  # the depot
    assert stops[StopKind.PICKUP].arrival_s <= 16 * 3600


def test_an_inconsistent_snapshot_is_refused_naming_the_field():
    base = snapshot([zone("a", 1000, 0.0)])
    cases = {
        "depots[dep].stock[rice]": [DepotSnapshot("dep", (106.65, 10.75), {"rice": -5.0}, 0, 86_000)],
        "depots[dep].stock[caviar]": [DepotSnapshot("dep", (106.65, 10.75), {"caviar": 5.0}, 0, 86_000)],
        "depots[dep].location": [DepotSnapshot("dep", (105.0, 21.0), {}, 0, 86_000, in_province=False)],
    }
    for field, depots in cases.items():
        with pytest.raises(SnapshotError) as refused:
            PLANNER.plan(PlanningSnapshot(**{**base.__dict__, "depots": depots}), "bad", NOW)
        assert refused.value.field == field
    empty_truck = [VehicleSnapshot("t0", "dep", 0.0, 10.0, (6 * 3600, 18 * 3600), False, 1)]
    with pytest.raises(SnapshotError) as refused:
        PLANNER.plan(PlanningSnapshot(**{**base.__dict__, "vehicles": empty_truck}), "bad", NOW)
    assert refused.value.field == "vehicles[t0].capacity"


def test_a_green_lane_zone_gets_goods_only_from_depots_with_permitted_trucks():
    plain = VehicleSnapshot("t-plain", "dep", 1500.0, 10.0, (6 * 3600, 18 * 3600), False, 2)
    snap = PlanningSnapshot(**{**snapshot([zone("orange", 1000, 0.0, risk=3)]).__dict__, "vehicles": [plain]})
    result = PLANNER.plan(snap, "r6", NOW)
    assert not result.allocation["quantities"] and not _deliveries(result)
    assert {s["reason"] for s in result.allocation["shortfalls"]} == {"zone_unreachable"}
    assert result.routes.unserved == []  # nothing was allocated that no truck could carry


def driving_snapshot(carried, position=None, available_s=None):  # type: ignore[no-untyped-def]
    """District 760 while truck t0 drives an approved plan: it stands at `position` from `available_s`."""
    base = snapshot([zone("a", 2000, 300.0), zone("b", 1000, 0.0, at=(106.71, 10.79))])
    t0 = VehicleSnapshot("t0", "dep", 1500.0, 10.0, (6 * 3600, 18 * 3600), True, 2, position, available_s)
    return PlanningSnapshot(base.district_code, base.plan_day, base.day_start, base.zones, base.depots,
                            [t0, base.vehicles[1]], base.offsets,
                            previous={c.stop_id: (c.vehicle_id, c.sequence) for c in carried},
                            carried=carried, revises=["plan-760-r0"])


def carried_stop(stop_id, zone_id, kg, loaded, at=(106.70, 10.78)):  # type: ignore[no-untyped-def]
    return CarriedStop(stop_id, "plan-760-r0", stop_id.split("#")[0], "t0", 1, zone_id, "26734", "760", at, kg,
                       kg / 1000, {"rice": kg}, loaded)


def test_a_revision_starts_from_where_the_truck_is_and_keeps_what_it_carries():
    on_board = carried_stop("dep>a:dry", "a", 600.0, loaded=True)
    later_trip = carried_stop("dep>b:dry", "b", 300.0, loaded=False, at=(106.71, 10.79))
    here, since = (106.69, 10.77), 10 * 3600
    result = PLANNER.plan(driving_snapshot([on_board, later_trip], here, since), "r1", NOW)

    routes = {r.vehicle_id: r for r in result.routes.routes}
    first = routes["t0"].stops[0]
    assert first.stop_id == on_board.stop_id  # still on its truck, and the truck goes there first
    # It leaves from where it confirmed its last drop, at 10:00: the drive from there, not from the depot.
    travel = CityTravel().matrix([here, on_board.location], 0).seconds[0][1]
    assert since + travel <= first.arrival_s < since + travel + 3600
    planned = {s.stop_id for r in result.routes.routes for s in r.stops}
    assert later_trip.stop_id in planned and not result.routes.unserved
    # Carried drops are on their way already: only the new goods become DeliveryPlanned events, and their
    # orders never reuse a carried stop's id.
    new = _deliveries(result)
    assert new and not {e.stop_id for e in new} & {on_board.stop_id, later_trip.stop_id}
    assert result.orders[on_board.stop_id]["delivery_plan_id"] == "plan-760-r0"
    assert "dep>a:dry~2" in result.orders  # zone a gets more rice as an order of its own
    assert result.revises == ["plan-760-r0"] and result.stats()["carried_over"] == 2


def test_a_new_order_split_in_pieces_never_takes_the_id_of_a_piece_carried_over():
    """A piece carried by an earlier revision is stored as its own order ("dep>b:dry#2"); zone b's new rice, split
    for the 1,500 kg trucks, must not become "dep>b:dry#1", "dep>b:dry#2" again (the plan failed: ids not unique)."""
    piece = replace(carried_stop("dep>b:dry#2", "b", 200.0, loaded=False, at=(106.71, 10.79)), order_id="dep>b:dry#2")
    snap = driving_snapshot([piece])
    snap = replace(snap, depots=[replace(snap.depots[0], stock={"rice": 6000.0})])
    result = PLANNER.plan(snap, "r1", NOW)
    stops = [s.stop_id for r in result.routes.routes for s in r.stops] + [u.order_id for u in result.routes.unserved]
    assert len(stops) == len(set(stops)) and piece.stop_id in stops
    assert any(s.startswith("dep>b:dry~2#") for s in stops)  # the new rice, in pieces of its own


def test_a_loaded_stop_the_truck_cannot_reach_in_time_is_left_out_with_its_reason():
    on_board = carried_stop("dep>a:dry", "a", 600.0, loaded=True)
    result = PLANNER.plan(driving_snapshot([on_board], (106.69, 10.77), 18 * 3600 - 60), "r1", NOW)
    assert on_board.stop_id in {u.order_id for u in result.routes.unserved}


def test_a_district_takes_only_its_province_share_of_scarce_stock():
    """Medicine kits for 2.5 days of two districts' zones: planning first, Quận 1 still leaves Quận 3 its share."""
    ours, theirs = zone("q1", 2000, 800.0), replace(zone("q3", 2000, 800.0, at=(106.69, 10.78)), district_code="770")
    base = snapshot([ours])
    kits = {"rice": 1000.0, "medicine_kit": 10.0}
    depots = [replace(base.depots[0], stock=kits)]
    province = replace(base, depots=depots, province_zones=[ours, theirs], province_stock={"dep": kits})

    def kits_to_q1(planner: Planner, snap: PlanningSnapshot) -> float:
        quantities = planner.plan(snap, "r1", NOW).allocation["quantities"]
        return sum(q for _, z, item, q in quantities if item == "medicine_kit" and z == "q1")

    alone = replace(base, depots=depots)
    assert kits_to_q1(PLANNER, alone) == pytest.approx(10.0)  # unaware of Quận 3, it takes every kit
    assert kits_to_q1(PLANNER, province) == pytest.approx(5.0, abs=0.01)  # levelled with Quận 3
    fcfs = Planner(default_catalogue(), CityTravel(), time_limit_s=1.0, allocation_policy="fcfs")
    assert kits_to_q1(fcfs, province) == pytest.approx(10.0)  # the baseline serves zones in order: q1 first


def test_stock_no_truck_of_another_district_can_fetch_is_not_held_back_for_it():
    """Quận 3's trucks load only at another depot: the kits at ours are not its share, so Quận 1 may take them all
    (before, half stayed in the depot for a district that could never fetch them, and Quận 1's zone ran short)."""
    ours, theirs = zone("q1", 2000, 800.0), replace(zone("q3", 2000, 800.0, at=(106.69, 10.78)), district_code="770")
    base = snapshot([ours])
    kits = {"rice": 1000.0, "medicine_kit": 10.0}
    depots = [replace(base.depots[0], stock=kits)]
    province = replace(base, depots=depots, province_zones=[ours, theirs], province_stock={"dep": kits})
    fleets = {"760": frozenset({"dep"}), "770": frozenset({"dep-far"})}
    quantities = PLANNER.plan(replace(province, province_fleets=fleets), "r1", NOW).allocation["quantities"]
    assert sum(q for _, z, item, q in quantities if item == "medicine_kit" and z == "q1") == pytest.approx(10.0)
