"""The first slice on the real servers: API → Kafka → faust worker → PostGIS → API, and the dead-letter path."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer

from services.dead_letter import original_bytes
from services.domain.demand import DemandReport
from services.domain.events import DemandSubmitted
from services.messages import encode
from tests.conftest import wait_until

WARD_14, WARD_12 = "27127", "27130"  # wards of Quận 3 (770), used by no other test


def commune(client, commune_code):
    rows = client.get("/api/v1/coverage", params={"level": "commune", "area_id": commune_code}).json()
    return rows[0] if rows else None


def test_demand_posted_to_the_api_comes_back_as_live_totals(client):
    body = {"commune_code": WARD_14, "households": 120, "people": 410, "vulnerable": {"f0": 6, "elderly_alone": 9}}
    first = client.post("/api/v1/demand", json=body, headers={"Idempotency-Key": f"slice-{uuid.uuid4()}"})
    assert first.status_code == 202, first.text
    assert first.json()["district_code"] == "770"
    row = wait_until(lambda: commune(client, WARD_14))
    assert (row["households"], row["people"], row["vulnerable"]["f0"]) == (120, 410, 6)
    assert row["need"]["rice"] == pytest.approx(410 * 0.4)

    # A retry with the same key counts once; a new submission adds up.
    key = first.request.headers["Idempotency-Key"]
    assert client.post("/api/v1/demand", json=body, headers={"Idempotency-Key": key}).status_code == 202
    second = client.post("/api/v1/demand", json={**body, "households": 10, "people": 30, "vulnerable": {}})
    assert second.status_code == 202
    row = wait_until(lambda: (r := commune(client, WARD_14)) and r["households"] > 120 and r)
    assert (row["households"], row["people"]) == (130, 440)


@pytest.mark.parametrize("body, field", [
    ({"households": 1, "people": 2}, "commune_code"),
    ({"commune_code": "7", "households": 1, "people": 2}, "commune_code"),
    ({"commune_code": WARD_14, "households": "many", "people": 2}, "households"),
    ({"commune_code": WARD_14, "households": 3, "people": 2}, "people"),
    ({"commune_code": WARD_14, "households": 1, "people": 2, "vulnerable": {"aliens": 1}}, "vulnerable"),
    ({"commune_code": WARD_14, "households": 1, "people": 2, "needs": [{"item_code": "gold", "quantity_per_day": 1}]},
     "item"),
    ({"commune_code": "99999", "households": 1, "people": 2}, "commune_code"),
    ({"commune_code": WARD_14, "households": 1, "people": 2, "occurred_at": "2021-07-09T08:00:00"}, "occurred_at"),
])
def test_malformed_demand_gets_422_naming_the_field(client, body, field):
    response = client.post("/api/v1/demand", json=body)
    assert response.status_code == 422, response.text
    assert any(field in [str(part) for part in error["loc"]] for error in response.json()["detail"]), response.text


def test_bad_events_on_kafka_go_to_the_dead_letter_topic_with_reason_and_original(client, container, settings):
    now = datetime.now(UTC)
    unknown_commune = DemandSubmitted(event_id=f"dl-{uuid.uuid4()}", occurred_at=now, district_code="770",
                                      report=DemandReport(commune_code="99999", households=1, people=1))
    unknown_zone = DemandSubmitted(event_id=f"dl-{uuid.uuid4()}", occurred_at=now, district_code="770",
                                   report=DemandReport(commune_code=WARD_12, households=1, people=1,
                                                       zone_id="no-such-zone"))
    garbage = b"\xff not an envelope " + uuid.uuid4().hex.encode()
    good = DemandSubmitted(event_id=f"ok-{uuid.uuid4()}", occurred_at=now, district_code="770",
                           report=DemandReport(commune_code=WARD_12, households=7, people=21))
    sent = {e.event_id: encode(e) for e in (unknown_commune, unknown_zone)}
    for raw in (*sent.values(), garbage, encode(good)):
        container.publisher.send_raw(container.topics.demand, b"770", raw)

    consumer = KafkaConsumer(container.topics.dead_letter, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=60000)
    expected = {*sent.values(), garbage}
    found = {}
    try:
        for message in consumer:
            record = json.loads(message.value)
            if original_bytes(record) in expected:
                found[original_bytes(record)] = record
            if len(found) == len(expected):
                break
    finally:
        consumer.close()
    assert found[sent[unknown_commune.event_id]]["field"] == "commune_code"
    assert "unknown" in found[sent[unknown_commune.event_id]]["reason"]
    assert found[sent[unknown_zone.event_id]]["field"] == "zone_id"
    assert found[garbage]["field"] == "value" and found[garbage]["source_topic"] == container.topics.demand
    # The good event sent after the bad ones is still counted, exactly once.
    row = wait_until(lambda: commune(client, WARD_12))
    assert (row["households"], row["people"]) == (7, 21)
