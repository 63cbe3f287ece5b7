"""Zones and plans through the API on the real servers: writes become events, reads come from PostGIS, and an
approved plan's drops show up as goods on the way in the coverage picture."""

from dataclasses import replace
from datetime import UTC, datetime, time
from time import sleep as pause

import pytest

from services.adapters import tables as t
from services.adapters.plans import PlanStore
from services.domain.access import Role
from services.domain.admin import AdminLevel
from services.domain.events import AreaCoverage
from services.domain.fleet import Vehicle
from services.domain.geo import Point
from services.domain.places import Checkpoint, Depot, OpeningHours, SalesPoint, SalesPointKind
from tests.conftest import wait_until

NOW = datetime.now(UTC)


def ring(lon: float, lat: float, half: float) -> list[list[float]]:
    return [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]


def zone_feature(client, zone_id):
    features = client.get("/api/v1/zones").json()["features"]
    return next((f for f in features if f["id"] == zone_id), None)


def test_a_zone_is_declared_redrawn_and_lifted_through_events(client, run_id):
    zone_id = f"z-api-{run_id}"
    body = {"zone_id": zone_id, "name": "Hẻm 52 Bùi Viện", "risk_level": 3,
            "boundary": {"type": "Polygon", "coordinates": [ring(106.6930, 10.7670, 0.001)]}}
    accepted = client.post("/api/v1/zones", json=body)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["district_code"] == "760"
    feature = wait_until(lambda: zone_feature(client, zone_id))
    assert feature["properties"]["risk_level"] == 3 and feature["geometry"]["type"] == "MultiPolygon"
    redraw = {"risk_level": 4, "boundary": {"type": "Polygon", "coordinates": [ring(106.6930, 10.7670, 0.0005)]}}
    assert client.put(f"/api/v1/zones/{zone_id}", json=redraw).status_code == 202
    wait_until(lambda: (f := zone_feature(client, zone_id)) and f["properties"]["version"] == 2)
    assert client.post(f"/api/v1/zones/{zone_id}/lift").status_code == 202
    wait_until(lambda: zone_feature(client, zone_id) is None)
    assert client.put(f"/api/v1/zones/{zone_id}", json=redraw).status_code == 422  # lifted: nothing to redraw


@pytest.mark.parametrize("coordinates, says", [
    ([[[106.69, 10.76], [106.70, 10.77], [106.70, 10.76], [106.69, 10.77], [106.69, 10.76]]], "Self-intersection"),
    ([[[106.69, 10.76], [106.70, 10.76], [106.70, 10.76], [106.69, 10.76]]], "empty"),
    ([ring(105.85, 21.03, 0.01)], "outside province"),  # Hà Nội
    ([[[106.69, 10.76], [106.70, 10.77]]], "closed"),
])
def test_invalid_polygons_are_refused_saying_what_is_wrong(client, coordinates, says):
    body = {"name": "bad", "risk_level": 2, "boundary": {"type": "Polygon", "coordinates": coordinates}}
    response = client.post("/api/v1/zones", json=body)
    assert response.status_code == 422, response.text
    assert says in response.text and response.json()["detail"][0]["loc"][-1] in ("boundary", "polygon")


def test_a_district_official_cannot_declare_a_zone_in_another_district(client, container):
    token = container.tokens.issue(Role.DISTRICT, "770", NOW)
    body = {"name": "Q1", "risk_level": 2,
            "boundary": {"type": "Polygon", "coordinates": [ring(106.70, 10.775, 0.001)]}}
    response = client.post("/api/v1/zones", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_districts_and_places_for_the_map(client):
    districts = client.get("/api/v1/districts").json()
    assert len(districts["features"]) == 22 and {"code", "name", "population"} <= set(
        districts["features"][0]["properties"])
    assert set(client.get("/api/v1/places").json()) == {"sales_points", "depots", "checkpoints"}


def test_an_approved_plan_puts_its_goods_on_the_way(client, container, run_id):
    zone_id = f"z-plan-{run_id}"
    body = {"zone_id": zone_id, "name": "Chung cư Ngô Gia Tự", "risk_level": 4,
            "boundary": {"type": "Polygon", "coordinates": [ring(106.6700, 10.7600, 0.001)]}}
    district = client.post("/api/v1/zones", json=body).json()["district_code"]
    wait_until(lambda: zone_feature(client, zone_id))
    container.places.add_checkpoints([Checkpoint(f"cp-{run_id}", zone_id, "Cổng A", Point(106.6688, 10.7600))])
    need = {"rice": 400.0, "water": 2000.0}
    container.projections.coverage([AreaCoverage(
        event_id=f"c-{run_id}", occurred_at=NOW, level="zone", area_id=zone_id, district_code=district,
        zone_id=zone_id, households=300, people=1000, vulnerable={}, need=need, stock={}, on_way={},
        days_of_supply={"rice": 0.0, "water": 0.0}, last_report_at=NOW, max_event_at=NOW)])
    depot = Depot(f"d-{run_id}", "Kho Q10", Point(106.6600, 10.7700), district, OpeningHours(time(5), time(20)))
    container.places.add_depots([depot])
    container.places.set_depot_stock(depot.depot_id, {"rice": 1000.0, "water": 5000.0})
    container.places.add_vehicles([Vehicle(f"v-{run_id}", "51D-1", 3000.0, 15.0, depot.depot_id, time(6), time(18),
                                           green_lane_permit=True, serves_district=district)])
    snapshot = container.plan_store.snapshot(district, NOW, {})
    plan = container.planner.plan(snapshot, f"api-{run_id}", NOW)
    assert container.plan_store.save(plan)

    latest = client.get("/api/v1/plans/latest", params={"district_code": district}).json()
    assert latest["plan_id"] == plan.plan_id and latest["status"] == "proposed"
    stops = [s for r in latest["routes"] for s in r["stops"]]
    assert stops and all(s["checkpoint_id"] == f"cp-{run_id}" for s in stops)
    assert any(p["plan_id"] == plan.plan_id for p in client.get("/api/v1/plans/today").json())

    approved = client.post(f"/api/v1/plans/{plan.plan_id}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["deliveries_published"] == len(stops)
    rice = sum(s["items"].get("rice", 0.0) for s in stops)
    assert rice > 0

    def on_way() -> float:
        rows = client.get("/api/v1/coverage", params={"level": "zone", "area_id": zone_id}).json()
        return rows[0]["on_way"].get("rice", 0.0) if rows else 0.0

    wait_until(lambda: abs(on_way() - rice) < 1e-3, timeout_s=60)
    again = client.post(f"/api/v1/plans/{plan.plan_id}/approve")  # approving twice counts once
    assert again.status_code == 200
    pause(2.0)  # let the stream fold the repeated events
    assert abs(on_way() - rice) < 1e-3
    assert client.post("/api/v1/plans/no-such-plan/approve").status_code == 404

    # The driver confirms the first drop; goods move from on the way to delivered.
    stop = stops[0]
    driver = {"Authorization": f"Bearer {container.tokens.issue(Role.DRIVER, f'v-{run_id}', NOW)}"}
    stranger = {"Authorization": f"Bearer {container.tokens.issue(Role.DRIVER, 'v-other', NOW)}"}
    confirm = {"plan_id": plan.plan_id, "stop_id": stop["stop_id"], "quantities": stop["items"]}
    assert client.post("/api/v1/deliveries", json=confirm, headers=stranger).status_code == 403
    assert client.post("/api/v1/deliveries", json={**confirm, "stop_id": "nope"}, headers=driver).status_code == 404
    assert client.post("/api/v1/deliveries", json={"plan_id": plan.plan_id, "stop_id": stop["stop_id"]},
                       headers=driver).status_code == 422  # neither quantities nor a reason
    # Goods handed to a point: it must be registered (404), and in the plan's district, whose ledger keeps it.
    assert client.post("/api/v1/deliveries", json={**confirm, "point_id": f"nowhere-{run_id}"},
                       headers=driver).status_code == 404
    far = next(u.code for u in container.admin.of_level(AdminLevel.COMMUNE)
               if container.admin.district_of(u.code) not in (district, None) and u.code.startswith("27"))
    container.places.add_sales_points([SalesPoint(f"far-{run_id}", "Điểm xa", SalesPointKind.MOBILE,
                                                  Point(106.75, 10.60), far, OpeningHours(time(6), time(18)))])
    elsewhere = client.post("/api/v1/deliveries", json={**confirm, "point_id": f"far-{run_id}"}, headers=driver)
    assert elsewhere.status_code == 422 and "point_id" in elsewhere.text
    assert client.post("/api/v1/deliveries", json=confirm, headers=driver).status_code == 202
    wait_until(lambda: abs(on_way() - (rice - stop["items"].get("rice", 0.0))) < 1e-3, timeout_s=60)
    zone = client.get("/api/v1/coverage", params={"level": "zone", "area_id": zone_id}).json()[0]
    assert abs(zone["stock"].get("rice", 0.0) - stop["items"].get("rice", 0.0)) < 1e-3  # now with the zone's team


def test_a_plan_being_driven_is_revised_from_where_its_truck_is(client, container, run_id):
    """Approve, drive one drop, plan again: the revision starts from that drop, keeps the rest on board, and its
    approval neither publishes nor counts the carried-over goods twice."""
    zones, district = [], None
    for k, (lon, lat) in enumerate([(106.6420, 10.7540), (106.6460, 10.7570)]):
        zone_id = f"z-drive-{k}-{run_id}"
        body = {"zone_id": zone_id, "name": f"Khu {k}", "risk_level": 2,
                "boundary": {"type": "Polygon", "coordinates": [ring(lon, lat, 0.001)]}}
        district = client.post("/api/v1/zones", json=body).json()["district_code"]
        zones.append(zone_id)
    wait_until(lambda: all(zone_feature(client, z) for z in zones))
    at = datetime.now(UTC)  # newer than the empty rows the streams worker wrote for the new zones
    container.projections.coverage([AreaCoverage(
        event_id=f"c-{zone_id}", occurred_at=at, level="zone", area_id=zone_id, district_code=district,
        zone_id=zone_id, households=150, people=500, vulnerable={}, need={"rice": 200.0}, stock={}, on_way={},
        days_of_supply={"rice": 0.0}, last_report_at=at, max_event_at=at) for zone_id in zones])
    depot = Depot(f"dd-{run_id}", "Kho Q11", Point(106.6500, 10.7600), district, OpeningHours(time(0), time(23, 59)))
    container.places.add_depots([depot])
    container.places.set_depot_stock(depot.depot_id, {"rice": 1000.0})
    truck = f"vd-{run_id}"
    container.places.add_vehicles([Vehicle(truck, "51D-2", 3000.0, 15.0, depot.depot_id, time(0), time(23, 59),
                                           serves_district=district)])
    # No curfew here, so the test holds at any hour (the curfew has tests of its own).
    planner = replace(container.planner, driving_hours=(0, 86_399))
    store = PlanStore(container.engine, container.province_code, curfew_s=86_400)
    before = store.snapshot(district, NOW, {})
    first = planner.plan(before, f"drive-{run_id}", NOW)
    assert store.save(first)
    assert client.post(f"/api/v1/plans/{first.plan_id}/approve").status_code == 200
    # A proposal from a picture taken before that approval would send goods and trucks twice: refused. (Here it
    # has no depot, so the stock reservations, which refuse most such proposals already, let it be stored.)
    stale = planner.plan(replace(before, depots=[], vehicles=[], province_stock={}), f"stale-{run_id}", NOW)
    assert store.save(stale)
    refused = client.post(f"/api/v1/plans/{stale.plan_id}/approve")
    assert refused.status_code == 409 and "ask for a new plan" in refused.text
    route = [s for r in client.get(f"/api/v1/plans/{first.plan_id}").json()["routes"] for s in r["stops"]]
    assert sorted(s["zone_id"] for s in route) == sorted(zones) and route[0]["trip"] == route[1]["trip"]
    done, open_ = route

    driver = {"Authorization": f"Bearer {container.tokens.issue(Role.DRIVER, truck, NOW)}"}
    confirm = {"plan_id": first.plan_id, "stop_id": done["stop_id"], "quantities": done["items"]}
    assert client.post("/api/v1/deliveries", json=confirm, headers=driver).status_code == 202
    wait_until(lambda: container.projections.table_rows(t.delivery_confirmations)
               and any(r["plan_id"] == first.plan_id and r["stop_id"] == done["stop_id"]
                       for r in container.projections.table_rows(t.delivery_confirmations)), timeout_s=60)

    later = datetime.now(UTC)
    snapshot = store.snapshot(district, later, {})
    assert snapshot.revises == [first.plan_id]
    (carried,) = snapshot.carried
    assert (carried.stop_id, carried.vehicle_id, carried.loaded) == (open_["stop_id"], truck, True)
    (vehicle,) = [v for v in snapshot.vehicles if v.vehicle_id == truck]
    assert vehicle.position == pytest.approx((done["lon"], done["lat"]))
    assert vehicle.available_s == int((later - snapshot.day_start).total_seconds())  # it is there now

    revision = planner.plan(snapshot, f"drive2-{run_id}", later)
    assert store.save(revision)
    stops = [s for r in client.get(f"/api/v1/plans/{revision.plan_id}").json()["routes"] for s in r["stops"]]
    kept = next(s for s in stops if s["stop_id"] == open_["stop_id"])
    assert kept["delivery_plan_id"] == first.plan_id and kept["vehicle_id"] == truck
    assert kept["trip"] == min(s["trip"] for s in stops if s["vehicle_id"] == truck)  # before it reloads
    new_drops = [s for s in stops if s["kind"] == "drop" and not s["delivery_plan_id"]]
    approved = client.post(f"/api/v1/plans/{revision.plan_id}/approve").json()
    assert (approved["deliveries_published"], approved["called_off"]) == (len(new_drops), 0)
    statuses = {p["plan_id"]: p["status"] for p in container.plan_store.history(district)}
    assert (statuses[first.plan_id], statuses[stale.plan_id]) == ("revised", "superseded")

    def on_way(zone_id: str) -> float:
        rows = client.get("/api/v1/coverage", params={"level": "zone", "area_id": zone_id}).json()
        return rows[0]["on_way"].get("rice", 0.0) if rows else 0.0

    expected = open_["items"]["rice"] + sum(s["items"].get("rice", 0.0) for s in new_drops
                                            if s["zone_id"] == open_["zone_id"])
    wait_until(lambda: abs(on_way(open_["zone_id"]) - expected) < 1e-3, timeout_s=60)  # once, not twice
    # The old sheet is closed; the carried drop is confirmed on the revision, under the plan that sent it.
    stale = client.post("/api/v1/deliveries", headers=driver, json={
        "plan_id": first.plan_id, "stop_id": open_["stop_id"], "quantities": open_["items"]})
    assert stale.status_code == 409 and "newest sheet" in stale.text
    assert client.post("/api/v1/deliveries", headers=driver, json={
        "plan_id": revision.plan_id, "stop_id": open_["stop_id"], "quantities": open_["items"]}).status_code == 202
    wait_until(lambda: abs(on_way(open_["zone_id"]) - (expected - open_["items"]["rice"])) < 1e-3, timeout_s=60)
