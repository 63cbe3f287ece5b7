import json
from datetime import UTC, datetime

import pytest

from services.dead_letter import dead_letter_record, original_bytes
from services.domain.demand import DemandReport, ItemNeed, VulnerableGroup
from services.domain.events import DemandSubmitted, SalesPointRegistered, ZoneDeclared
from services.domain.geo import MultiPolygon, Point
from services.domain.places import SalesPointKind
from services.domain.zones import RiskLevel
from services.messages import MessageError, decode, encode

EVENT = DemandSubmitted(
    event_id="e-1", occurred_at=datetime(2021, 7, 9, 8, tzinfo=UTC), district_code="760",
    report=DemandReport(commune_code="26740", households=3, people=9, vulnerable={VulnerableGroup.F0: 1},
                        needs=(ItemNeed("rice", 4.0),), location=Point(106.7, 10.77)))


def envelope(**changes):
    data = json.loads(encode(EVENT))
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    return json.dumps(data).encode()


def test_round_trip_keeps_every_field():
    assert decode(encode(EVENT)) == EVENT
    zone = ZoneDeclared(event_id="z", occurred_at=EVENT.occurred_at, district_code="760", zone_id="z1", name="A",
                        risk_level=RiskLevel.HIGH, boundary=MultiPolygon.from_geojson(
                            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}))
    assert decode(encode(zone)) == zone


def test_envelope_carries_id_type_version_and_time():
    data = json.loads(encode(EVENT, producer="api"))
    assert (data["event_id"], data["event_type"], data["schema_version"], data["producer"]) == \
        ("e-1", "demand.submitted", 1, "api")


@pytest.mark.parametrize("raw, field", [
    (b"\xff\xfe not json", "value"),
    (b"[1, 2]", "value"),
    (None, "value"),
    (envelope(event_type="demand.deleted"), "event_type"),
    (envelope(schema_version=2), "schema_version"),
    (envelope(event_id=""), "event_id"),
    (envelope(occurred_at="2021-07-09T08:00:00"), "occurred_at"),
    (envelope(payload__report__households="many"), "report.households"),
    (envelope(payload__report__people=1), "report.people"),
    (envelope(payload__report__needs=[{"item_code": "rice", "quantity_per_day": -1}]),
     "report.needs[0].quantity_per_day"),
    (envelope(payload__report__location={"lon": 500, "lat": 10}), "report.location.lon"),
    (envelope(payload__district_code=None), "district_code"),
    (b"{" + b" " * 1_000_001 + b"}", "value"),
])
def test_bad_messages_name_the_field(raw, field):
    with pytest.raises(MessageError) as err:
        decode(raw)
    assert err.value.field == field


def test_dead_letter_keeps_the_original_bytes_and_reason():
    raw = b"\x00\x01 broken"
    record = json.loads(dead_letter_record(reason="not JSON", field="value", source_topic="t", partition=2,
                                           offset=7, key=b"760", value=raw))
    assert original_bytes(record) == raw
    assert (record["reason"], record["source_partition"], record["source_offset"], record["key"]) == \
        ("not JSON", 2, 7, "760")
    assert json.loads(dead_letter_record(reason="r", field="f", source_topic="t", partition=0, offset=0,
                                         key=None, value=encode(EVENT)))["event_id"] == "e-1"


def test_a_sales_point_registration_round_trips_and_refuses_a_bad_time():
    point = SalesPointRegistered(event_id="sp", occurred_at=EVENT.occurred_at, district_code="760", point_id="sp-1",
                                 name="Chợ Tân Định", commune_code="26734", location=Point(106.69, 10.79),
                                 kind=SalesPointKind.MARKET_STALL, opens="05:30", closes="19:00")
    assert decode(encode(point)) == point
    data = json.loads(encode(point))
    data["payload"]["closes"] = "7pm"
    with pytest.raises(MessageError) as refused:
        decode(json.dumps(data).encode())
    assert refused.value.field == "closes"
