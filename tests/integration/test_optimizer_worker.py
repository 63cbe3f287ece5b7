"""The optimizer worker on the real servers: a plan request in, a stored plan out, traced to its snapshot."""

import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from infra.processes import optimizer_worker
from services.adapters import tables as t
from services.domain.events import AreaCoverage, PlanRequested, ProduceOffered
from services.domain.fleet import Vehicle
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, Depot, OpeningHours
from services.domain.zones import RiskLevel, Zone
from tests.conftest import wait_until

NOW = datetime.now(UTC)
HOURS = OpeningHours(time(5), time(20))


def square(lon: float, lat: float, half: float) -> MultiPolygon:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]
    return MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [ring]})


def coverage(zone_id: str, people: int, rice_stock: float) -> AreaCoverage:
    need = {"rice": people * 0.4, "water": people * 2.0}
    return AreaCoverage(event_id=f"cov-{zone_id}", occurred_at=NOW, level="zone", area_id=zone_id,
                        district_code="760", zone_id=zone_id, households=people // 3, people=people,
                        vulnerable={"elderly_alone": people // 30}, need=need, stock={"rice": rice_stock},
                        on_way={}, days_of_supply={"rice": rice_stock / need["rice"], "water": 0.0},
                        last_report_at=NOW, max_event_at=NOW)


def plans_for(engine, district: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(t.plans).where(t.plans.c.district_code == district).order_by(t.plans.c.created_at))]


def test_a_plan_request_becomes_a_stored_plan_that_shares_scarce_stock(container, own, run_id, tmp_path):
    settings, topics = own
    red, green = f"red-{run_id}", f"green-{run_id}"
    container.zones.add(Zone(red, "Chợ Bến Thành", "760", square(106.6981, 10.7725, 0.002), RiskLevel.VERY_HIGH,
                             valid_from=NOW))
    container.zones.add(Zone(green, "Phường Đa Kao", "760", square(106.6970, 10.7880, 0.002), RiskLevel.LOW,
                             valid_from=NOW))
    checkpoint = Checkpoint(f"cp-{run_id}", red, "Lê Lợi gate", Point(106.6960, 10.7725), handover_minutes=15)
    container.places.add_checkpoints([checkpoint])
    container.projections.coverage([coverage(red, 3000, 0.0), coverage(green, 1500, 600.0)])
    offer = ProduceOffered(event_id=f"offer-{run_id}", occurred_at=NOW, district_code="760", commune_code="26734",
                           location=Point(106.6985, 10.7728), product="water spinach", quantity_kg=300.0,
                           available_until=NOW + timedelta(days=1))
    container.projections.produce_offers([offer])
    depot = Depot(f"dep-{run_id}", "Bình Điền market", Point(106.6100, 10.7000), "760", HOURS)
    container.places.add_depots([depot])
    container.places.set_depot_stock(depot.depot_id, {"rice": 2400.0, "water": 50_000.0})
    container.places.add_vehicles([Vehicle(f"truck-{run_id}-{i}", f"51C-{i}", 2000.0, 12.0, depot.depot_id,
                                           time(6), time(18), green_lane_permit=True, serves_district="760")
                                   for i in range(3)])
    request = PlanRequested(event_id=f"req-{run_id}", occurred_at=NOW, district_code="760",
                            reasons=["shortage risk"])
    container.publisher.publish(topics.plan_requests, "760", request)
    container.publisher.publish(topics.plan_requests, "760", request)  # a redelivery
    container.publisher.send_raw(topics.plan_requests, b"760", b"{not json")
    worker = optimizer_worker(settings, tmp_path / "optimizer.log")
    try:
        wait_until(lambda: plans_for(container.engine, "760"), timeout_s=90)
        stored = container.plan_store.latest("760")
        assert stored["request_event_id"] == request.event_id
        assert any(k.startswith(topics.plan_requests + "/") for k in stored["snapshot_offsets"])
        # Rice is scarce: 2,400 kg for 4,500 people (1,800 kg/day); the red zone starts with none, so it gets
        # more, and both end with the same days of supply.
        quantities = stored["allocation"]["quantities"]
        rice = {zone: q for depot_id, zone, item, q in quantities if item == "rice"}
        assert sum(rice.values()) <= 2400.0 + 1e-6
        days_red = rice[red] / 1200.0
        days_green = (600.0 + rice[green]) / 600.0
        assert abs(days_red - days_green) < 0.05
        drops = [s for s in stored["stops"] if s["zone_id"] == red]
        assert drops and all(s["checkpoint_id"] == checkpoint.checkpoint_id for s in drops)
        local = [s["eta"].astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) for s in stored["stops"]]
        assert all(6 <= at.hour < 18 for at in local)  # curfew from 18:00 to 06:00
        assert {s["vehicle_id"] for s in stored["stops"]} <= {f"truck-{run_id}-{i}" for i in range(3)}
        assert stored["stats"]["stops"] == len(stored["stops"])
        # The produce goes out through the red zone's checkpoint, on a truck that came with goods.
        (pickup,) = [s for s in stored["stops"] if s["order_id"] == offer.event_id and s["kind"] == "pickup"]
        assert pickup["checkpoint_id"] == checkpoint.checkpoint_id
        assert any(s["vehicle_id"] == pickup["vehicle_id"] and s["kind"] == "delivery" for s in stored["stops"])

        second = PlanRequested(event_id=f"req2-{run_id}", occurred_at=NOW, district_code="760", reasons=["again"])
        container.publisher.publish(topics.plan_requests, "760", second)
        wait_until(lambda: len(plans_for(container.engine, "760")) == 2, timeout_s=90)
        first, latest = plans_for(container.engine, "760")
        assert (first["status"], latest["status"]) == ("superseded", "proposed")
        assert latest["stats"]["changed_vehicle"] >= 0 and "changed_order" in latest["stats"]
    finally:
        worker.stop()
    log = (tmp_path / "optimizer.log").read_text()
    assert "dead-letter" in log and len(plans_for(container.engine, "760")) == 2


def test_an_inconsistent_picture_is_refused_with_its_reason_and_the_worker_goes_on(container, own, run_id, tmp_path):
    settings, topics = own
    zone_id = f"bad-{run_id}"
    container.zones.add(Zone(zone_id, "Phường 1", "770", square(106.6850, 10.7800, 0.002), RiskLevel.HIGH,
                             valid_from=NOW))
    container.projections.coverage([replace(coverage(zone_id, 1000, 0.0), district_code="770")])
    depot = Depot(f"neg-{run_id}", "Kho âm", Point(106.68, 10.78), "770", HOURS)
    container.places.add_depots([depot])
    with container.engine.begin() as conn:  # a broken record, as a faulty import could leave it
        conn.execute(update(t.depots).where(t.depots.c.depot_id == depot.depot_id).values(stock={"rice": -10.0}))
    container.places.add_vehicles([Vehicle(f"v-{run_id}", "51C-9", 1000.0, 8.0, depot.depot_id, time(6), time(18),
                                           serves_district="770")])
    container.publisher.publish(topics.plan_requests, "770", PlanRequested(
        event_id=f"bad-req-{run_id}", occurred_at=NOW, district_code="770", reasons=["x"]))
    worker = optimizer_worker(settings, tmp_path / "optimizer.log")
    try:
        wait_until(lambda: f"depots[{depot.depot_id}].stock[rice]" in (tmp_path / "optimizer.log").read_text(),
                   timeout_s=60)
        assert worker.process.poll() is None  # still running
        with container.engine.begin() as conn:  # fixed: the next request is planned
            conn.execute(update(t.depots).where(t.depots.c.depot_id == depot.depot_id).values(stock={"rice": 800.0}))
        container.publisher.publish(topics.plan_requests, "770", PlanRequested(
            event_id=f"good-req-{run_id}", occurred_at=NOW, district_code="770", reasons=["x"]))
        wait_until(lambda: plans_for(container.engine, "770"), timeout_s=60)
    finally:
        worker.stop()
    assert [p["request_event_id"] for p in plans_for(container.engine, "770")] == [f"good-req-{run_id}"]


def test_two_optimizer_workers_split_the_districts(container, own, run_id, tmp_path):
    settings, topics = own
    from kafka.partitioner.default import murmur2

    def partition(district: str) -> int:
        return (murmur2(district.encode()) & 0x7FFFFFFF) % settings.topic_partitions

    by_partition: dict[int, str] = {}
    for code in (str(c) for c in range(761, 788)):
        by_partition.setdefault(partition(code), code)
    districts = [by_partition[p] for p in sorted(by_partition)]
    assert len(districts) == settings.topic_partitions
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [optimizer_worker(settings, log) for log in logs]

    def assignments() -> list[set[int]]:
        out = []
        for log in logs:
            lines = [json.loads(line)["message"] for line in log.read_text().splitlines()  # JSON lines (infra/logs.py)
                     if "partitions assigned" in line]
            out.append({int(p) for p in lines[-1].rsplit("[", 1)[1].rstrip("]").split(",") if p.strip()}
                       if lines else set())
        return out

    try:
        wait_until(lambda: all(assignments()) and set.union(*assignments()) == set(range(len(districts)))
                   and not set.intersection(*assignments()), timeout_s=60)
        for code in districts:
            container.publisher.publish(topics.plan_requests, code, PlanRequested(
                event_id=f"pair-{run_id}-{code}", occurred_at=NOW, district_code=code, reasons=["x"]))
        wait_until(lambda: all(plans_for(container.engine, code) for code in districts), timeout_s=90)
    finally:
        for worker in workers:
            worker.stop()
    planned_by = [log.read_text().count("plan plan-") for log in logs]
    assert all(n >= 1 for n in planned_by) and sum(planned_by) == len(districts)
