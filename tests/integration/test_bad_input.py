"""Bad input at the Kafka and CSV boundaries, on the real servers.

Kafka: fuzzed messages into every topic the streams worker reads each land in the dead-letter topic exactly once,
with a reason naming the field; the worker keeps running, a valid event sent after them is processed, and nothing of
them reaches the projections. CSV: broken rows are named by line and field, good rows count once, even uploaded
twice.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import text

from infra.dlq import DLQ_FRAME_BYTES
from infra.processes import streams_worker
from services.dead_letter import original_bytes
from services.domain.demand import DemandReport, ItemNeed
from services.domain.events import (
    DeliveryConfirmed,
    DeliveryPlanned,
    DemandSubmitted,
    Event,
    PriceReported,
    ProduceOffered,
    SalesPointRegistered,
    StockReported,
    ZoneDeclared,
    ZoneLifted,
    ZoneRedrawn,
)
from services.domain.geo import Point
from services.domain.zones import RiskLevel
from services.messages import MAX_MESSAGE_BYTES, decode, encode
from tests.conftest import free_port, wait_until
from tests.unit.builders import square

WARD, DISTRICT = "27397", "776"  # Phường Rạch Ông, Quận 8: used by no other test
OTHER_WARD = "26740"  # Bến Nghé, Quận 1
AT = Point(106.6885, 10.7465)
NOW = datetime.now(UTC).replace(microsecond=0)
RUN = uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Bad:
    """A message the worker must refuse: where it goes, its bytes, and the field the reason must name."""

    name: str
    topic: str
    value: bytes | None
    field: str


def _id(kind: str) -> str:
    return f"fz-{kind}-{RUN}-{uuid.uuid4().hex[:6]}"


def valid_events(topics: Any) -> dict[str, Event]:
    """One valid event per input topic, all in WARD, each with an effect the test can see."""
    point = f"fz-point-{RUN}"
    return {
        topics.places: SalesPointRegistered(event_id=_id("places"), occurred_at=NOW, district_code=DISTRICT,
                                            point_id=point, name="Cửa hàng fuzz", commune_code=WARD, location=AT),
        topics.demand: DemandSubmitted(event_id=_id("demand"), occurred_at=NOW, district_code=DISTRICT,
                                       report=DemandReport(commune_code=WARD, households=5, people=15)),
        topics.stock: StockReported(event_id=_id("stock"), occurred_at=NOW, district_code=DISTRICT, point_id=point,
                                    commune_code=WARD, location=AT, quantities={"rice": 50.0}),
        topics.deliveries: DeliveryPlanned(event_id=_id("deliveries"), occurred_at=NOW, district_code=DISTRICT,
                                           plan_id=f"fz-plan-{RUN}", stop_id="s1", commune_code=WARD, location=AT,
                                           quantities={"water": 100.0}),
        topics.prices: PriceReported(event_id=_id("prices"), occurred_at=NOW, district_code=DISTRICT,
                                     item_code="rice", place="Chợ Rạch Ông", price_vnd=99_000_000),
        topics.zones: ZoneDeclared(event_id=_id("zones"), occurred_at=NOW, district_code=DISTRICT,
                                   zone_id=f"fz-zone-{RUN}", name="fuzz", risk_level=RiskLevel.HIGH,
                                   boundary=square(AT.lon, AT.lat, 0.001)),
        topics.produce: ProduceOffered(event_id=_id("produce"), occurred_at=NOW, district_code=DISTRICT,
                                       commune_code=WARD, location=AT, product=f"rau fuzz {RUN}", quantity_kg=100.0,
                                       available_until=NOW + timedelta(days=2)),
    }


def _envelope(event: Event) -> dict[str, Any]:
    return json.loads(encode(replace(event, event_id=_id("bad")), "fuzz"))  # type: ignore[arg-type]


def _raw(envelope: Any) -> bytes:
    return json.dumps(envelope, ensure_ascii=False).encode()


def _changed(event: Event, path: str, value: Any, delete: bool = False) -> bytes:
    """The event's envelope with one field of the payload (dotted path) set to `value`, or deleted."""
    envelope = _envelope(event)
    *parents, last = path.split(".")
    node = envelope["payload"]
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return _raw(envelope)


def garbage(topic: str, event: Event, other: Event, seed: int) -> list[Bad]:
    """What can be wrong with any message, whatever its topic."""
    rng = random.Random(seed)

    def envelope_with(**fields: Any) -> bytes:
        envelope = _envelope(event)
        for key, value in fields.items():
            if value is None:
                del envelope[key]
            else:
                envelope[key] = value
        return _raw(envelope)

    return [
        Bad("random bytes", topic, rng.randbytes(80), "value"),
        Bad("not UTF-8", topic, b'{"event_id": "\xff\xfe\xfd"}', "value"),
        Bad("truncated JSON", topic, _raw(_envelope(event))[:-7], "value"),
        Bad("a JSON array", topic, b"[1, 2, 3]", "value"),
        Bad("a JSON string", topic, b'"demand.submitted"', "value"),
        Bad("JSON null", topic, b"null", "value"),
        Bad("no value", topic, None, "value"),
        Bad("schema version 2", topic, envelope_with(schema_version=2), "schema_version"),
        Bad("schema version as text", topic, envelope_with(schema_version="1"), "schema_version"),
        Bad("no schema version", topic, envelope_with(schema_version=None), "schema_version"),
        Bad("unknown event type", topic, envelope_with(event_type="greenlane.unheard_of"), "event_type"),
        Bad("no event type", topic, envelope_with(event_type=None), "event_type"),
        Bad("another topic's event", topic, _raw(_envelope(other)), "event_type"),
        Bad("payload a list", topic, envelope_with(payload=[]), "payload"),
        Bad("no event id", topic, envelope_with(event_id=None), "event_id"),
        Bad("event id a number", topic, envelope_with(event_id=42), "event_id"),
        Bad("event id with NUL", topic, envelope_with(event_id=f"nul\x00{RUN}"), "event_id"),
        Bad("event id too long", topic, envelope_with(event_id="x" * 129), "event_id"),
        Bad("time without zone", topic, envelope_with(occurred_at="2021-07-09T08:00:00"), "occurred_at"),
        Bad("time not a time", topic, envelope_with(occurred_at="yesterday"), "occurred_at"),
    ]


def specific(topics: Any, good: dict[str, Event]) -> list[Bad]:
    """Missing and ill-typed fields, out-of-range values and unknown references, topic by topic."""
    demand, stock = good[topics.demand], good[topics.stock]
    deliveries, prices = good[topics.deliveries], good[topics.prices]
    zones, produce, places = good[topics.zones], good[topics.produce], good[topics.places]
    assert isinstance(demand, DemandSubmitted) and isinstance(zones, ZoneDeclared)
    report = demand.report
    confirmation = DeliveryConfirmed(event_id=_id("c"), occurred_at=NOW, district_code=DISTRICT,
                                     plan_id=f"fz-no-plan-{RUN}", stop_id="s9", quantities={"rice": 1.0})
    redraw = ZoneRedrawn(event_id=_id("z"), occurred_at=NOW, district_code=DISTRICT, zone_id=f"fz-nozone-{RUN}",
                         version=2, boundary=square(AT.lon, AT.lat, 0.001), risk_level=RiskLevel.HIGH)
    lift = ZoneLifted(event_id=_id("z"), occurred_at=NOW, district_code=DISTRICT, zone_id=f"fz-nozone-{RUN}",
                      version=2)
    t = topics
    return [
        Bad("no report", t.demand, _changed(demand, "report", None, delete=True), "report"),
        Bad("households as text", t.demand, _changed(demand, "report.households", "many"), "report.households"),
        Bad("households a float", t.demand, _changed(demand, "report.households", 2.5), "report.households"),
        Bad("households beyond any ward", t.demand, _changed(demand, "report.households", 10**12),
            "report.households"),
        Bad("negative households", t.demand, _changed(demand, "report.households", -3), "report.households"),
        Bad("need of Infinity", t.demand, _changed(demand, "report.needs", [
            {"item_code": "rice", "quantity_per_day": float("inf")}]), "report.needs[0].quantity_per_day"),
        Bad("need of NaN", t.demand, _changed(demand, "report.needs", [
            {"item_code": "rice", "quantity_per_day": float("nan")}]), "report.needs[0].quantity_per_day"),
        Bad("unknown item needed", t.demand, _raw(_envelope(replace(demand, report=replace(
            report, needs=(ItemNeed("caviar", 1.0),))))), "item"),
        Bad("unknown commune", t.demand, _changed(demand, "report.commune_code", "99999"), "commune_code"),
        Bad("commune of another district", t.demand, _changed(demand, "report.commune_code", OTHER_WARD),
            "district_code"),
        Bad("unknown zone", t.demand, _changed(demand, "report.zone_id", f"fz-unheard-of-{RUN}"), "zone_id"),
        Bad("commune with NUL", t.demand, _changed(demand, "report.commune_code", "2739\x00"), "report.commune_code"),
        Bad("negative stock", t.stock, _changed(stock, "quantities", {"rice": -5}), "quantities.rice"),
        Bad("stock as text", t.stock, _changed(stock, "quantities", "lots"), "quantities"),
        Bad("unknown item in stock", t.stock, _changed(stock, "quantities", {"caviar": 1}), "item"),
        Bad("unknown kind of point", t.stock, _changed(stock, "kind", "spaceport"), "kind"),
        Bad("longitude 500", t.stock, _changed(stock, "location.lon", 500), "location.lon"),
        Bad("no such plan or stop", t.deliveries, _raw(_envelope(confirmation)), "stop_id"),
        Bad("drop in an unknown commune", t.deliveries, _changed(deliveries, "commune_code", "99999"),
            "commune_code"),
        Bad("drop without quantities", t.deliveries, _changed(deliveries, "quantities", None, delete=True),
            "quantities"),
        Bad("unknown district", t.prices, _changed(prices, "district_code", "999"), "district_code"),
        Bad("price of zero", t.prices, _changed(prices, "price_vnd", 0), "price_vnd"),
        Bad("price of an unknown item", t.prices, _changed(prices, "item_code", "caviar"), "item"),
        Bad("redraw of no zone", t.zones, _raw(_envelope(redraw)), "zone_id"),
        Bad("lift of no zone", t.zones, _raw(_envelope(lift)), "zone_id"),
        Bad("zone in an unknown district", t.zones, _changed(replace(zones, zone_id=f"fz-zone-x-{RUN}"),
                                                             "district_code", "999"), "district_code"),
        Bad("zone id too long", t.zones, _changed(zones, "zone_id", "z" * 65), "zone_id"),
        Bad("zone a point", t.zones, _changed(replace(zones, zone_id=f"fz-zone-p-{RUN}"), "boundary",
                                              {"type": "Point", "coordinates": [AT.lon, AT.lat]}),
            "boundary.polygon"),
        Bad("a corner at Infinity", t.zones, _changed(replace(zones, zone_id=f"fz-zone-i-{RUN}"), "boundary", {
            "type": "Polygon", "coordinates": [[[106.68, 10.74], [float("inf"), 10.74], [106.69, 10.75],
                                                [106.68, 10.74]]]}), "boundary.polygon"),
        Bad("a zone crossing itself", t.zones, _changed(replace(zones, zone_id=f"fz-zone-b-{RUN}"), "boundary", {
            "type": "Polygon", "coordinates": [[[106.68, 10.74], [106.69, 10.75], [106.69, 10.74], [106.68, 10.75],
                                                [106.68, 10.74]]]}), "boundary"),
        Bad("a zone in Hà Nội", t.zones, _changed(replace(zones, zone_id=f"fz-zone-h-{RUN}"), "boundary",
                                                  square(105.85, 21.03, 0.002).to_geojson()), "boundary"),
        Bad("risk level 9", t.zones, _changed(replace(zones, zone_id=f"fz-zone-r-{RUN}"), "risk_level", 9),
            "risk_level"),
        Bad("produce in an unknown commune", t.produce, _changed(produce, "commune_code", "99999"), "commune_code"),
        Bad("negative produce", t.produce, _changed(produce, "quantity_kg", -1), "quantity_kg"),
        Bad("produce without an end", t.produce, _changed(produce, "available_until", None, delete=True),
            "available_until"),
        Bad("product name too long", t.produce, _changed(produce, "product", "r" * 121), "product"),
        Bad("point in an unknown commune", t.places, _changed(places, "commune_code", "99999"), "commune_code"),
        Bad("opens at 25:00", t.places, _changed(places, "opens", "25:00"), "opens"),
        Bad("point id too long", t.places, _changed(places, "point_id", "p" * 65), "point_id"),
    ]


def huge(topics: Any, good: dict[str, Event]) -> list[Bad]:
    """Close to the broker's 1 MB limit: refused, and the dead letter still fits."""
    envelope = _envelope(good[topics.demand])
    envelope["event_type"] = "greenlane.unheard_of"
    envelope["padding"] = "x" * (990_000 - len(_raw(envelope)))
    over = _envelope(good[topics.stock])
    over["padding"] = "y" * (MAX_MESSAGE_BYTES + 10_000 - len(_raw(over)))
    return [Bad("990 kB of an unknown type", topics.demand, _raw(envelope), "event_type"),
            Bad("over the message limit", topics.stock, _raw(over), "value")]


def dead_letter_ends(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close()


def dead_letters_since(bootstrap: str, starts: dict[TopicPartition, int]) -> list[dict[str, Any]]:
    """Every dead-letter record written after `starts`, up to the topic's end now."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000,
                             receive_message_max_bytes=DLQ_FRAME_BYTES)
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        ends = consumer.end_offsets(list(starts))
        records = []
        for message in consumer:
            records.append(json.loads(message.value))
            if all(consumer.position(tp) >= end for tp, end in ends.items()):
                break
        return records
    finally:
        consumer.close()


@pytest.fixture
def own_worker(own, tmp_path):  # type: ignore[no-untyped-def]
    """A streams worker on topics of its own: the session's topics are read from the start by other tests with
    kafka-python, whose frames stop at 1,000,000 bytes, and the messages here come close to 1 MB."""
    mine, topics = own
    settings = mine.model_copy(update={"streams_app_id": f"{mine.topic_prefix}.streams",
                                       "streams_web_port": free_port(), "streams_data_dir": tmp_path / "data"})
    running = streams_worker(settings, tmp_path / "worker.log")
    yield settings, topics, running
    running.stop()


def test_fuzzed_messages_are_dead_lettered_once_and_change_nothing(container, own_worker):
    settings, topics, worker = own_worker
    good = valid_events(topics)
    others = list(good.values())
    bad: list[Bad] = []
    for n, (topic, event) in enumerate(good.items()):
        bad += garbage(topic, event, others[(n + 1) % len(others)], seed=n)
    bad += specific(topics, good) + huge(topics, good)
    assert {b.topic for b in bad} == set(topics.streams_inputs) - {topics.zone_parts, topics.coverage,
                                                                  topics.shortage_alerts, topics.price_alerts,
                                                                  topics.plan_requests}
    starts = dead_letter_ends(settings.kafka_bootstrap, topics.dead_letter)
    publisher = container.publisher
    sent: dict[tuple[str, int, int], Bad] = {}
    for b in bad:  # one key for all: each topic's messages stay in order on one partition
        partition, offset = publisher.send_raw(b.topic, DISTRICT.encode(), b.value)
        sent[(b.topic, partition, offset)] = b
    publisher.publish(topics.places, DISTRICT, good[topics.places])
    wait_until(lambda: _one(container, "SELECT count(*) FROM sales_points WHERE point_id = :p",
                            p=f"fz-point-{RUN}"), timeout_s=60)
    for topic, event in good.items():
        if topic != topics.places:
            publisher.publish(topic, DISTRICT, event)

    # The valid events after the bad ones are processed: so were the bad ones before them, topic by topic.
    ward = wait_until(lambda: (r := _coverage(container, WARD)) and r["stock"].get("rice")
                      and r["on_way"].get("water") and r, timeout_s=60)
    wait_until(lambda: _one(container, "SELECT count(*) FROM zones WHERE zone_id = :z", z=f"fz-zone-{RUN}"))
    wait_until(lambda: _one(container, "SELECT count(*) FROM produce_offers WHERE product = :p",
                            p=f"rau fuzz {RUN}"))
    wait_until(lambda: _one(container, "SELECT count(*) FROM price_alerts WHERE district_code = :d "
                                       "AND item_code = 'rice'", d=DISTRICT))

    deadline = time.monotonic() + 30  # a bound, not a measure: then the missing ones are named below
    while len(records := dead_letters_since(settings.kafka_bootstrap, starts)) < len(bad) and (
            time.monotonic() < deadline):
        time.sleep(0.5)
    by_source: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for record in records:
        by_source.setdefault((record["source_topic"], record["source_partition"], record["source_offset"]),
                             []).append(record)
    problems = []
    for where, b in sent.items():
        got = by_source.pop(where, [])
        if len(got) != 1:
            problems.append(f"{b.name} ({b.topic}): {len(got)} dead letters")
            continue
        record = got[0]
        if record["field"] != b.field:
            problems.append(f"{b.name} ({b.topic}): field {record['field']!r} ({record['reason']}), "
                            f"expected {b.field!r}")
        kept = original_bytes(record)
        if record.get("original_truncated"):
            assert b.value is not None and kept == b.value[:len(kept or b"")] and record["original_size"] == len(
                b.value), b.name
        elif kept != b.value:
            problems.append(f"{b.name} ({b.topic}): the original bytes differ")
    counted = (ward["households"], ward["people"], ward["stock"]["rice"], ward["on_way"]["water"])
    if counted != (5, 15, 50, 100):
        problems.append(f"the ward counts (households, people, rice, water) {counted}, not (5, 15, 50, 100)")
    problems += [f"unexpected dead letter {r['source_topic']}: {r['field']}: {r['reason']}"
                 for rs in by_source.values() for r in rs]
    assert not problems, "\n".join(problems)

    # Nothing of the refused messages reached the projections.
    assert _one(container, "SELECT count(*) FROM zones WHERE zone_id LIKE :z", z="fz-%zone%") == 1
    assert _one(container, "SELECT count(*) FROM sales_points WHERE point_id LIKE :p", p="fz-%") == 1
    assert _one(container, "SELECT count(*) FROM produce_offers WHERE district_code = :d", d=DISTRICT) == 1
    assert _one(container, "SELECT count(*) FROM coverage WHERE area_id IN ('99999', '999')") == 0
    assert _one(container, "SELECT count(*) FROM price_alerts WHERE district_code = '999'") == 0
    assert worker.process.poll() is None, "the streams worker died"


def _one(container: Any, sql: str, **params: Any) -> Any:
    with container.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _coverage(container: Any, commune: str) -> dict[str, Any] | None:
    rows = container.projections.coverage_rows(level="commune", area_id=commune)
    return rows[0] if rows else None


CSV_WARD = "27403"  # Phường Hưng Phú, Quận 8: used by no other test
BROKEN_CSV = (
    "\ufeffcommune_code,households,people,event_id,f0\r\n"  # a byte order mark, Windows line ends
    f"{CSV_WARD},10,30,,1\r\n"                 # line 2: good
    f"{CSV_WARD},many,30,,\r\n"                # 3: households not a number
    f"{CSV_WARD},-4,30,,\r\n"                  # 4: negative
    "99999,3,9,,\r\n"                          # 5: unknown commune
    f"{CSV_WARD},5,2,,\r\n"                    # 6: fewer people than households
    f"{CSV_WARD},2,6,,,extra\r\n"              # 7: a value more than the header has columns
    f"{CSV_WARD},10,30,,1\r\n"                 # 8: line 2 again
    f'{CSV_WARD},4,12,"batch\nseven",\r\n'     # 9-10: good, a quoted newline in its event id
    f"{CSV_WARD},3,9,,\r\n"                    # 11: good
    "\r\n"                                     # 12: blank, skipped
    f"{CSV_WARD},1,3,,2\r\n"                   # 13: more F0 households than households
)


def test_broken_csv_rows_are_named_and_good_rows_count_once(client):
    def upload(body: bytes) -> Any:
        return client.post("/api/v1/demand/csv", content=body, headers={"Content-Type": "text/csv"})

    first = upload(BROKEN_CSV.encode())
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 3
    assert [(r["row"], r["field"]) for r in first.json()["rejected"]] == [
        (3, "households"), (4, "households"), (5, "commune_code"), (6, "people"), (7, "row"), (8, "row"),
        (13, "vulnerable.f0")]
    assert "the same as row 2" in first.json()["rejected"][5]["message"]
    assert upload(BROKEN_CSV.encode()).json()["accepted"] == 3  # the same file again: the same event ids

    good_rows = f"commune_code,households,people\n{CSV_WARD},50,150\n"
    for body, status, says in [
        (b"", 422, "empty"),
        (b"commune_code,households\n27403,1\n", 422, "missing columns: people"),
        (b"27403,1,3\n", 422, "missing columns"),
        (b"commune_code,households,people,housholds_f0\n27403,1,3,1\n", 422, "unknown columns: housholds_f0"),
        (b"commune_code,households,people,people\n27403,1,3,3\n", 422, "repeated columns: people"),
        ((good_rows + "27403,1,3\n").encode() + b"\xff\xfe,1,3\n", 422, "line 4 is not UTF-8"),
        (good_rows.encode() + b"27403,1,\x003\n", 422, "line 3 holds a NUL"),
        (good_rows.encode() + b"27403,1,3\n" * 500_000, 413, "larger than 5000000 bytes"),
    ]:
        answer = upload(body)
        assert (answer.status_code, says in answer.text) == (status, True), answer.text

    # A last good upload: once it is counted, so is everything before it (one district, one partition).
    assert upload(f"commune_code,households,people\n{CSV_WARD},1,3\n".encode()).json()["accepted"] == 1
    ward = wait_until(lambda: (r := _commune_row(client, CSV_WARD)) and r["households"] >= 18 and r)
    assert (ward["households"], ward["people"]) == (18, 54)  # 10 + 4 + 3 once, then 1: nothing of the refused files


def _commune_row(client: Any, commune: str) -> dict[str, Any] | None:
    rows = client.get("/api/v1/coverage", params={"level": "commune", "area_id": commune}).json()
    return rows[0] if rows else None


def test_a_row_postgis_refuses_is_dead_lettered_and_its_topic_goes_on(container, own_worker):
    """A value the decoder lets through but PostgreSQL refuses for good (here a constraint added for the test) no
    longer stalls its topic behind endless retries: that one registration is dead-lettered with PostgreSQL's
    reason; the registrations before and after it in the same batch are stored."""
    settings, topics, worker = own_worker
    poison = f"fz-refused-{RUN}"
    with container.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE sales_points ADD CONSTRAINT fz_refuse_{RUN} CHECK (name <> '{poison}') "
                          "NOT VALID"))
    try:
        starts = dead_letter_ends(settings.kafka_bootstrap, topics.dead_letter)
        base = valid_events(topics)[topics.places]
        points = [replace(base, event_id=f"fz-refusal-{n}-{RUN}", point_id=f"fz-r{n}-{RUN}",
                          name=poison if n == 1 else f"Cửa hàng {n}") for n in range(3)]
        container.publisher.publish_many(topics.places, [(DISTRICT, point) for point in points])
        wait_until(lambda: _one(container, "SELECT count(*) FROM sales_points WHERE point_id IN (:a, :c)",
                                a=points[0].point_id, c=points[2].point_id) == 2, timeout_s=60)
        records = wait_until(lambda: dead_letters_since(settings.kafka_bootstrap, starts), timeout_s=30)
    finally:
        with container.engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE sales_points DROP CONSTRAINT fz_refuse_{RUN}"))
    assert [(r["source_topic"], r["field"]) for r in records] == [(topics.places, f"fz_refuse_{RUN}")], records
    assert "PostgreSQL refused it" in records[0]["reason"] and f"fz_refuse_{RUN}" in records[0]["reason"]
    assert decode(original_bytes(records[0]) or b"").event_id == points[1].event_id
    assert _one(container, "SELECT count(*) FROM sales_points WHERE point_id = :b", b=points[1].point_id) == 0
    assert worker.process.poll() is None, "the streams worker died"
