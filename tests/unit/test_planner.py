"""Planning a district from its snapshot: allocation, then routes, then the planned deliveries."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from math import cos, hypot, radians

import pytest

from optimizer.model import StopKind
from services.domain.items import default_catalogue
from services.planner import (
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


def test_scarce_rice_is_shared_so_zones_end_level_and_every_drop_is_routed():
    result = PLANNER.plan(snapshot([zone("a", 2000, 0.0), zone("b", 1000, 400.0, at=(106.71, 10.79))]), "r1", NOW)
    rice = {z: q for _, z, item, q in result.allocation["quantities"] if item == "rice"}
    assert abs(sum(rice.values()) - 1000.0) < 1e-3
    assert abs(rice["a"] / 800 - (400 + rice["b"]) / 400) < 0.01  # same days of supply after
    assert result.allocation["min_days_after"] > result.allocation["min_days_before"]
    delivered = {}
    for event in result.deliveries():
        for item, q in event.quantities.items():
            delivered[(event.zone_id, item)] = delivered.get((event.zone_id, item), 0.0) + q
    assert abs(delivered[("a", "rice")] - rice["a"]) < 0.01 and abs(delivered[("b", "rice")] - rice["b"]) < 0.01
    assert result.plan_id == "plan-760-r1" and result.offsets == {"demand/0": 42}
    assert result.stats()["stops"] == len(result.deliveries()) and not result.routes.unserved


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
    assert not result.deliveries()


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
    assert not result.allocation["quantities"] and not result.deliveries()
    assert {s["reason"] for s in result.allocation["shortfalls"]} == {"zone_unreachable"}
    assert result.routes.unserved == []  # nothing was allocated that no truck could carry
