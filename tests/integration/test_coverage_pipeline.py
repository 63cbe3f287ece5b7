"""The live coverage picture on the real servers: zones, demand, stock, deliveries, prices → PostGIS and alerts."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer

from services.domain.geo import Point
from services.messages import encode
from tests.conftest import wait_until
from tests.unit.builders import BEN_NGHE, Q1, TAN_DINH, confirmed, declared, demand, planned, price, redrawn, square
from tests.unit.builders import stock as stock_report

CENTRE = Point(106.7010, 10.7760)


@pytest.fixture(scope="module")
def zone_id(container, worker):
    zone = f"red-{uuid.uuid4().hex[:6]}"
    container.publisher.publish(container.topics.zones, Q1, declared(zone, square(CENTRE.lon, CENTRE.lat, 0.002)))
    return zone


def row(container, level, area_id):
    rows = container.projections.coverage_rows(level=level, area_id=area_id)
    return rows[0] if rows else None


def send(container, topic, *events):
    for event in events:
        container.publisher.publish(topic, event.district_code, event)


def test_zone_coverage_alerts_and_redraw(container, zone_id):
    t = container.topics
    point = f"sp-{zone_id}"
    send(container, t.demand, demand(100, 300, at=CENTRE), demand(20, 50, zone_id=zone_id),
         demand(7, 21, commune=TAN_DINH))
    send(container, t.stock, stock_report(point, {"rice": 140.0, "water": 3000.0}, CENTRE))
    # Need in the zone: 350 people × 0.4 kg rice = 140 kg/day; 140 kg in stock → 1 day < 3 → a rice alert.
    zone = wait_until(lambda: (r := row(container, "zone", zone_id)) and r["households"] == 120
                      and r["stock"].get("rice") and r)
    assert zone["need"]["rice"] == pytest.approx(140.0)
    assert zone["days_of_supply"]["rice"] == pytest.approx(1.0)
    alerts = wait_until(lambda: [a for a in container.projections.open_shortage_alerts()
                                 if a["zone_id"] == zone_id and a["item_code"] == "rice"])
    assert alerts[0]["status"] == "open" and alerts[0]["threshold_days"] == 3.0

    # A delivery on the way lifts days of supply; confirming it moves it into the sales point's stock.
    send(container, t.deliveries, planned(f"stop-{zone_id}", {"rice": 700.0}, CENTRE, point_id=point))
    zone = wait_until(lambda: (r := row(container, "zone", zone_id)) and r["on_way"].get("rice") and r)
    assert zone["days_of_supply"]["rice"] == pytest.approx(6.0)
    wait_until(lambda: not [a for a in container.projections.open_shortage_alerts() if a["zone_id"] == zone_id
                            and a["item_code"] == "rice"])
    send(container, t.deliveries, confirmed(f"stop-{zone_id}", {"rice": 700.0}))
    zone = wait_until(lambda: (r := row(container, "zone", zone_id)) and not r["on_way"].get("rice") and r)
    assert zone["stock"]["rice"] == pytest.approx(840.0)

    # Narrowed to a square away from CENTRE: the located demand and the stock leave the zone, nothing is lost.
    send(container, t.zones, redrawn(zone_id, 2, square(CENTRE.lon + 0.01, CENTRE.lat, 0.002)))
    zone = wait_until(lambda: (r := row(container, "zone", zone_id)) and r["households"] == 20 and r)
    assert not zone["stock"]
    district = row(container, "district", Q1)
    assert district["households"] >= 127 and district["stock"]["rice"] >= 840.0
    history = wait_until(lambda: (h := container.zones.history(zone_id)) and len(h) == 2 and h)
    assert [z.version for z in history] == [1, 2]


def test_rollup_flags_communes_that_have_not_reported(container, zone_id, client_rollup):
    rows = wait_until(lambda: [r for r in client_rollup() if r["code"] == BEN_NGHE and r["households"]])
    assert rows[0]["missing_report"] is False
    silent = [r for r in client_rollup() if r["level"] == "commune" and r["households"] is None]
    assert silent and all(r["missing_report"] for r in silent)
    assert len([r for r in client_rollup() if r["level"] == "district"]) == 22


@pytest.fixture
def client_rollup(container):
    return lambda: container.projections.rollup("79", 24.0, datetime.now(UTC))


def test_price_hikes_raise_one_alert_per_area(container, worker):
    send(container, container.topics.prices, price("pork", 125_000), price("pork", 190_000, minutes=1),
         price("pork", 210_000, minutes=2, place="Chợ Tân Định"))
    alert = wait_until(lambda: [a for a in container.projections.table_rows(_price_alerts())
                                if a["item_code"] == "pork" and a["reports"] == 3])
    assert alert[0]["status"] == "open" and alert[0]["max_price_vnd"] == 210_000
    assert len([a for a in container.projections.table_rows(_price_alerts()) if a["item_code"] == "pork"]) == 1


def test_plan_requests_for_districts_at_risk(container, zone_id):
    requests = wait_until(lambda: [r for r in container.projections.table_rows(_plan_requests())
                                   if r["district_code"] == Q1])
    assert requests[0]["reasons"]


def _price_alerts():
    from services.adapters.tables import price_alerts

    return price_alerts


def _plan_requests():
    from services.adapters.tables import plan_requests

    return plan_requests


def test_bad_events_are_dead_lettered_with_their_reason(container, settings, worker):
    t = container.topics
    good = encode(demand(3, 9, commune=BEN_NGHE))
    wrong_version = json.loads(good)
    wrong_version["schema_version"] = 9
    negative_stock = json.loads(encode(stock_report("sp-x", {"rice": 1.0}, CENTRE)))
    negative_stock["payload"]["quantities"]["rice"] = -5
    unknown_item = encode(stock_report("sp-y", {"caviar": 1.0}, CENTRE))
    wrong_topic = encode(price("rice", 15_000))
    cases = {
        (t.demand, json.dumps(wrong_version).encode()): "schema_version",
        (t.stock, json.dumps(negative_stock).encode()): "quantities.rice",
        (t.stock, unknown_item): "item",
        (t.demand, wrong_topic): "event_type",
        (t.deliveries, encode(confirmed("no-such-stop", {"rice": 1.0}))): "stop_id",
        (t.prices, b"{\"truncated\": "): "value",
    }
    for (topic, raw) in cases:
        container.publisher.send_raw(topic, Q1.encode(), raw)
    consumer = KafkaConsumer(t.dead_letter, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=60000)
    found = {}
    try:
        for message in consumer:
            record = json.loads(message.value)
            from services.dead_letter import original_bytes

            key = (record["source_topic"], original_bytes(record))
            if key in cases:
                found[key] = record
            if len(found) == len(cases):
                break
    finally:
        consumer.close()
    assert {key: record["field"] for key, record in found.items()} == cases
