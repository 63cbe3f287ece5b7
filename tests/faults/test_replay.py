"""Replay (issue 7, point 6): a new streams worker, with a fresh app id (consumer group and changelogs of its own),
rebuilding every projection into an empty database from the beginning of the same topics, ends with the same
picture as the live worker that saw the traffic as it came.

The operator's procedure this checks: stop nothing; start a worker with a new GREENLANE_STREAMS_APP_ID and a new
GREENLANE_DATABASE_URL (migrated, admin units loaded, nothing else from the streams), wait until its consumer lag
is 0, then point the API at the new database. The live side first replays the dead letters whose zone was declared
since, as an operator would: a rebuild knows every zone before it folds an event, so it accepts them at once.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape
from sqlalchemy import Engine, create_engine, text

from infra import dlq
from infra.processes import ManagedProcess, streams_worker
from services.adapters.db import make_engine, migrate
from services.adapters.geodata import read_units
from services.adapters.kafka import KafkaPublisher, consumer_lag, delete_topics, ensure_topics, list_topics
from services.adapters.projections import Projections
from services.adapters.repositories import AdminRepository
from services.domain.admin import AdminLevel
from services.domain.demand import DemandReport, VulnerableGroup
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
from services.domain.geo import MultiPolygon, Point
from services.domain.places import SalesPointStatus
from services.domain.zones import RiskLevel
from services.messages import encode
from services.rollup import province_row
from services.topics import Topics, topic_specs
from tests.conftest import TEST_DB, database_of_its_own, free_port, wait_until
from tests.integration.traffic import ADMIN

PROVINCE = "79"
DISTRICTS = ("760", "761", "764", "765")
# Every projection the streams worker writes (admin units come from the reference data, not from Kafka).
PROJECTIONS = ("coverage", "shortage_alerts", "price_alerts", "plan_requests", "produce_offers", "zones",
               "sales_points", "delivery_confirmations")
# Columns that say when a row was written, not what it says: the live worker and the rebuild write at different
# times. Event times (occurred_at of the events read: last_report_at, max_event_at, valid_from, ...) are compared;
# these are wall-clock times of the writers.
WRITE_TIMES = {"computed_at", "updated_at", "opened_at", "resolved_at", "requested_at"}
# A shortage alert's history: its number (how many times the zone's item fell short) and the days of supply when
# it last opened or resolved. The zone stage sees the coverage as flushed every 200 ms: live, the states in between
# events as they came; in a rebuild, whatever a backlog had reached at each flush. So which transient dips opened
# (and resolved) an alert differs; what is open now, and the zone's days of supply now, must not.
ALERT_HISTORY = {"alert_id", "days_of_supply"}


def fresh_database(name: str) -> Engine:
    """A new database of this run's own (runs of this test side by side must not empty each other's), migrated,
    every projection empty, the province's admin units loaded."""
    url = database_of_its_own(name)
    migrate(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(PROJECTIONS)}"))
    AdminRepository(engine).upsert(read_units(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn",
                                              (PROVINCE,)))
    return engine


def drop_database(engine: Engine) -> None:
    engine.dispose()
    admin = create_engine(TEST_DB.replace("greenlane:greenlane@", "postgres@").rsplit("/", 1)[0] + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def replay(settings, tmp_path) -> Iterator[tuple[Any, Topics]]:  # type: ignore[no-untyped-def]
    """Settings with topics of their own (removed afterwards, with every app id's changelogs)."""
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"topic_prefix": f"replay-{run}", "streams_app_id": f"replay-{run}-live"})
    ensure_topics(own.kafka_bootstrap, topic_specs(own.topic_partitions, own.topic_prefix))
    yield own, Topics.with_prefix(own.topic_prefix)
    delete_topics(own.kafka_bootstrap, [t for t in list_topics(own.kafka_bootstrap) if t.startswith(f"replay-{run}")])


class Scenario:
    """Varied traffic for a few districts: zones declared, redrawn, lifted; sales points registered; demand; stock
    snapshots and deltas; deliveries planned, confirmed and failed; prices; produce; duplicates and bad messages."""

    def __init__(self, topics: Topics, publisher: KafkaPublisher, seed: int = 3) -> None:
        self.t, self.publisher, self.rng = topics, publisher, random.Random(seed)
        self.run = uuid.uuid4().hex[:6]
        self.ids = 0
        units = {u.code: u for u in read_units(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn",
                                               (PROVINCE,))}
        self.centre = {d: shape(units[d].boundary.to_geojson()).representative_point()  # type: ignore[union-attr]
                       for d in DISTRICTS}
        self.communes = {d: sorted(u.code for u in ADMIN.of_level(AdminLevel.COMMUNE) if u.parent_code == d)
                         for d in DISTRICTS}
        self.points: dict[str, tuple[str, str, Point]] = {}  # point id → district, commune, where
        self.stops: list[tuple[str, str, dict[str, float]]] = []  # (district, stop id, quantities) on the way
        self.declared: set[str] = set()
        self.sent = Counter[str]()

    def event_id(self, kind: str) -> str:
        self.ids += 1
        return f"{kind}-{self.run}-{self.ids}"

    def zone(self, n: int) -> str:
        return f"z{n}-{self.run}"

    def near(self, district: str, spread: float) -> Point:
        c = self.centre[district]
        dx, dy = self.rng.uniform(-spread, spread), self.rng.uniform(-spread, spread)
        return Point(round(c.x + dx, 6), round(c.y + dy, 6))

    def square(self, district: str, half: float, shift: float = 0.0) -> MultiPolygon:
        c = self.centre[district]
        x, y = c.x + shift, c.y
        ring = [[x - half, y - half], [x + half, y - half], [x + half, y + half], [x - half, y + half],
                [x - half, y - half]]
        return MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [ring]})

    def send(self, topic: str, district: str, *events: Event, twice: float = 0.05) -> None:
        keyed = []
        for event in events:
            keyed.append((district, event))
            if self.rng.random() < twice:  # a producer's retry: the same event again
                keyed.append((district, event))
                self.sent["duplicates"] += 1
        self.publisher.publish_many(topic, keyed)
        self.sent[topic.rsplit(".", 1)[1]] += len(events)

    def now(self) -> datetime:
        return datetime.now(UTC)

    # The traffic, in steps --------------------------------------------------------------------------------

    def declare(self, n: int, district: str, half: float, risk: RiskLevel) -> None:
        self.declared.add(self.zone(n))
        self.send(self.t.zones, district, ZoneDeclared(
            event_id=self.event_id("declare"), occurred_at=self.now(), district_code=district, zone_id=self.zone(n),
            name=f"Khu {n}", boundary=self.square(district, half), risk_level=risk), twice=0.0)

    def register_points(self) -> None:
        for district in DISTRICTS:
            events = []
            for k in range(4):
                point_id, commune = f"sp-{self.run}-{district}-{k}", self.communes[district][k]
                where = self.near(district, 0.002 if k < 2 else 0.02)
                self.points[point_id] = (district, commune, where)
                events.append(SalesPointRegistered(
                    event_id=self.event_id("register"), occurred_at=self.now(), district_code=district,
                    point_id=point_id, name=f"Điểm bán {k}", commune_code=commune, location=where))
            self.send(self.t.places, district, *events)

    def demand(self, count: int) -> None:
        for _ in range(count):
            district = self.rng.choice(DISTRICTS)
            households = self.rng.randint(1, 40)
            kind = self.rng.random()
            # A zone named before it is declared (the fourth district's) is refused until then: dead-lettered.
            zone_id = self.zone(DISTRICTS.index(district)) if kind < 0.25 else None
            location = self.near(district, 0.004 if kind < 0.7 else 0.03) if kind >= 0.25 else None
            f0 = {VulnerableGroup.F0: 1} if self.rng.random() < 0.3 else {}
            report = DemandReport(commune_code=self.rng.choice(self.communes[district]), households=households,
                                  people=households * self.rng.randint(2, 5), location=location, zone_id=zone_id,
                                  vulnerable=f0)
            self.send(self.t.demand, district, DemandSubmitted(
                event_id=self.event_id("demand"), occurred_at=self.now(), district_code=district, report=report))

    def stock(self, count: int) -> None:
        for _ in range(count):
            point_id = self.rng.choice(sorted(self.points))
            district, commune, where = self.points[point_id]
            delta = self.rng.random() < 0.5
            paused = self.rng.random() < 0.1
            quantities = {item: float(self.rng.randint(1, 40) if delta else self.rng.randint(0, 400))
                          for item in self.rng.sample(["rice", "water", "noodles", "eggs", "milk"], 2)}
            self.send(self.t.stock, district, StockReported(
                event_id=self.event_id("stock"), occurred_at=self.now(), district_code=district, point_id=point_id,
                commune_code=commune, location=where, quantities=quantities, is_delta=delta,
                status=SalesPointStatus.PAUSED if paused else SalesPointStatus.OPEN))

    def deliveries_planned(self, count: int) -> None:
        for _ in range(count):
            district = self.rng.choice(DISTRICTS)
            stop_id, quantities = self.event_id("stop"), {"rice": float(self.rng.randint(50, 500))}
            to_zone = self.rng.random() < 0.4 and self.zone(DISTRICTS.index(district)) in self.declared
            point = self.rng.choice([p for p, (d, _, _) in self.points.items() if d == district])
            self.send(self.t.deliveries, district, DeliveryPlanned(
                event_id=self.event_id("planned"), occurred_at=self.now(), district_code=district,
                plan_id=f"plan-{self.run}-{district}", stop_id=stop_id, commune_code=self.points[point][1],
                location=self.points[point][2], quantities=quantities, point_id=None if to_zone else point,
                zone_id=self.zone(DISTRICTS.index(district)) if to_zone else None))
            self.stops.append((district, stop_id, quantities))

    def deliveries_confirmed(self, count: int) -> None:
        self.rng.shuffle(self.stops)
        for district, stop_id, quantities in self.stops[:count]:
            failed = "road closed" if self.rng.random() < 0.2 else None
            self.send(self.t.deliveries, district, DeliveryConfirmed(
                event_id=self.event_id("confirmed"), occurred_at=self.now(), district_code=district,
                plan_id=f"plan-{self.run}-{district}", stop_id=stop_id,
                quantities={} if failed else {k: v * 0.9 for k, v in quantities.items()}, failed_reason=failed))
        del self.stops[:count]

    def prices(self) -> None:
        for district in DISTRICTS[:3]:
            for k, vnd in enumerate((125_000, 190_000, 210_000, 135_000)):
                self.send(self.t.prices, district, PriceReported(
                    event_id=self.event_id("price"), occurred_at=self.now() + timedelta(seconds=k),
                    district_code=district, item_code="pork", place=f"Chợ {k % 2}", price_vnd=vnd))

    def produce(self) -> None:
        district = DISTRICTS[1]
        self.send(self.t.produce, district, ProduceOffered(
            event_id=self.event_id("produce"), occurred_at=self.now(), district_code=district,
            commune_code=self.communes[district][0], location=self.near(district, 0.002), product="rau muống",
            quantity_kg=300.0, available_until=self.now() + timedelta(days=2)))

    def redraw(self, n: int, district: str) -> None:
        self.send(self.t.zones, district, ZoneRedrawn(
            event_id=self.event_id("redraw"), occurred_at=self.now(), district_code=district, zone_id=self.zone(n),
            version=2, boundary=self.square(district, 0.003, shift=0.002), risk_level=RiskLevel.HIGH), twice=0.0)

    def lift(self, n: int, district: str) -> None:
        self.send(self.t.zones, district, ZoneLifted(
            event_id=self.event_id("lift"), occurred_at=self.now(), district_code=district, zone_id=self.zone(n),
            version=2), twice=0.0)

    def bad_messages(self) -> None:
        district = DISTRICTS[0]
        unknown_commune = DemandSubmitted(
            event_id=self.event_id("bad"), occurred_at=self.now(), district_code=district,
            report=DemandReport(commune_code="99999", households=3, people=9))
        negative = json.loads(encode(StockReported(
            event_id=self.event_id("bad"), occurred_at=self.now(), district_code=district,
            point_id=sorted(self.points)[0], commune_code=self.communes[district][0], location=self.near(district, 0),
            quantities={"rice": 1.0})))
        negative["payload"]["quantities"]["rice"] = -5
        for topic, raw in ((self.t.demand, b"{\"truncated\": "), (self.t.demand, encode(unknown_commune)),
                           (self.t.stock, json.dumps(negative).encode()),
                           (self.t.stock, encode(unknown_commune)),  # a demand on the stock topic
                           (self.t.deliveries, encode(DeliveryConfirmed(
                               event_id=self.event_id("bad"), occurred_at=self.now(), district_code=district,
                               plan_id="no-such-plan", stop_id="no-such-stop", quantities={"rice": 1.0})))):
            self.publisher.send_raw(topic, district.encode(), raw)
            self.sent["bad"] += 1

    def play(self, pause_s: float) -> None:
        """Zones and the register first, then rounds of traffic with the zone map changing in between."""
        for n, district in enumerate(DISTRICTS[:3]):
            self.declare(n, district, 0.004, RiskLevel.VERY_HIGH if n == 0 else RiskLevel.HIGH)
        self.register_points()
        steps = [
            lambda: (self.demand(120), self.stock(40), self.deliveries_planned(12)),
            lambda: (self.prices(), self.produce(), self.demand(80), self.stock(30)),
            lambda: (self.redraw(0, DISTRICTS[0]), self.deliveries_confirmed(6), self.demand(60)),
            lambda: (self.declare(3, DISTRICTS[3], 0.004, RiskLevel.VERY_HIGH), self.demand(80), self.stock(30),
                     self.deliveries_planned(8)),
            lambda: (self.lift(1, DISTRICTS[1]), self.bad_messages(), self.deliveries_confirmed(8),
                     self.demand(60)),
            lambda: (self.stock(40), self.demand(60), self.deliveries_confirmed(4)),
        ]
        for step in steps:
            step()
            time.sleep(pause_s)


# Reading every projection ----------------------------------------------------------------------------------


def _rows(engine: Engine, query: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [{k: v for k, v in dict(r._mapping).items() if k not in WRITE_TIMES} for r in conn.execute(text(query))]


def picture(engine: Engine, at: datetime) -> dict[str, Any]:
    """Everything the projections show, without the columns that only say when a row was written."""
    projections = Projections(engine)
    rollup = projections.rollup(PROVINCE, 24.0, at)
    rollup.insert(0, province_row(PROVINCE, PROVINCE, [r for r in rollup if r["level"] == "district"]))
    return {
        "coverage": _rows(engine, "SELECT * FROM coverage ORDER BY level, area_id"),
        "rollup": rollup,
        "open shortage alerts": [{k: v for k, v in a.items() if k not in WRITE_TIMES | ALERT_HISTORY}
                                 for a in projections.open_shortage_alerts()],
        "price alerts": _rows(engine, "SELECT * FROM price_alerts ORDER BY alert_id"),
        "plan requests": _rows(engine, "SELECT district_code, reasons FROM plan_requests "
                                       "ORDER BY district_code, reasons::text"),
        "zones": _rows(engine, "SELECT zone_id, version, name, district_code, risk_level, status, is_current, "
                               "valid_from, valid_to, ST_AsText(geom) AS geom FROM zones ORDER BY zone_id, version"),
        "sales points": _rows(engine, "SELECT point_id, name, kind, status, commune_code, opens, closes, contact, "
                                      "ST_AsText(geom) AS geom FROM sales_points ORDER BY point_id"),
        "delivery confirmations": _rows(engine, "SELECT * FROM delivery_confirmations ORDER BY plan_id, stop_id"),
        "produce offers": _rows(engine, "SELECT event_id, district_code, commune_code, product, quantity_kg, "
                                        "available_until, contact, offered_at, ST_AsText(geom) AS geom "
                                        "FROM produce_offers ORDER BY event_id"),
    }


def settled(own: Any, topics: Topics, engine: Engine, at: datetime, log: Path,
            timeout_s: float = 60.0) -> dict[str, Any]:
    """The picture once the worker's consumer lag is 0 and the picture stays the same for a second (the flush loop
    and the zone stage run after an event is committed)."""
    last: dict[str, Any] = {}

    def quiet() -> dict[str, Any] | None:
        last["lag"] = lag = consumer_lag(own.kafka_bootstrap, own.streams_app_id, list(topics.streams_inputs))
        if any(lag.values()):
            return None
        before = picture(engine, at)
        time.sleep(1.0)
        after = picture(engine, at)
        last["changing"] = differences(before, after)
        last["lag"] = lag = consumer_lag(own.kafka_bootstrap, own.streams_app_id, list(topics.streams_inputs))
        return after if not last["changing"] and not any(lag.values()) else None

    try:
        return wait_until(quiet, timeout_s=timeout_s, interval_s=0.5)  # type: ignore[no-any-return]
    except AssertionError:
        raise AssertionError(f"{log.name} did not settle: {last}\n{log.read_text(errors='replace')[-3000:]}") from None


def differences(live: dict[str, Any], rebuilt: dict[str, Any]) -> dict[str, Any]:
    """Per projection, the rows only one side has (empty when they agree)."""
    diff: dict[str, Any] = {}
    for name in live:
        a = [json.dumps(r, sort_keys=True, default=str) for r in live[name]]
        b = [json.dumps(r, sort_keys=True, default=str) for r in rebuilt[name]]
        only_live = sorted((Counter(a) - Counter(b)).elements())
        only_rebuilt = sorted((Counter(b) - Counter(a)).elements())
        if only_live or only_rebuilt:
            diff[name] = {"only live": only_live[:8], "only rebuilt": only_rebuilt[:8]}
    return diff


def test_a_fresh_worker_rebuilds_every_projection_as_the_live_run_left_it(replay, tmp_path):
    own, topics = replay
    run = own.topic_prefix.removeprefix("replay-")
    live_db = fresh_database(f"greenlane_replay_{run}_live")
    rebuilt_db = fresh_database(f"greenlane_replay_{run}_rebuilt")
    live_settings = own.model_copy(update={"database_url": str(live_db.url.render_as_string(hide_password=False)),
                                           "streams_web_port": free_port(), "streams_data_dir": tmp_path / "live"})
    publisher = KafkaPublisher(own.kafka_bootstrap, "tests")
    workers: list[ManagedProcess] = []
    try:
        workers.append(streams_worker(live_settings, tmp_path / "live.log"))
        scenario = Scenario(topics, publisher)
        scenario.play(pause_s=0.7)
        at = datetime.now(UTC) + timedelta(minutes=1)
        settled(live_settings, topics, live_db, at, tmp_path / "live.log")
        # What an operator does once the zone they named is declared: replay those dead letters (the rebuild,
        # which knows every zone before it folds an event, accepts them at once).
        replayed = dlq.replay(own.kafka_bootstrap, topics.dead_letter, dlq.replays_topic(own.topic_prefix),
                              dlq.Selection(field="zone_id"))
        assert replayed.replay, "no demand named a zone before it was declared"
        live = settled(live_settings, topics, live_db, at, tmp_path / "live.log")
        workers.pop().stop()

        rebuild = live_settings.model_copy(update={
            "database_url": str(rebuilt_db.url.render_as_string(hide_password=False)),
            "streams_app_id": f"{own.topic_prefix}-rebuild", "streams_web_port": free_port(),
            "streams_data_dir": tmp_path / "rebuild"})
        workers.append(streams_worker(rebuild, tmp_path / "rebuild.log"))
        rebuilt = settled(rebuild, topics, rebuilt_db, at, tmp_path / "rebuild.log")
    finally:
        for worker in workers:
            worker.stop()
        publisher.close()
        drop_database(live_db)
        drop_database(rebuilt_db)

    print(f"sent: {dict(scenario.sent)}; live picture: " +
          ", ".join(f"{name} {len(rows)}" for name, rows in live.items()))
    assert len(live["coverage"]) > 20 and live["open shortage alerts"] and live["price alerts"]
    assert live["plan requests"] and len(live["zones"]) == 6 and live["delivery confirmations"]
    # Plan requests are commands to the optimizer, not a picture: the rebuild projects every request the live worker
    # made (they are on the topic), and asks again for the districts at risk, as any restarted worker does (its
    # debounce is in memory). So: every live request is there, and the same districts are asked about.
    live_requests, rebuilt_requests = live.pop("plan requests"), rebuilt.pop("plan requests")
    missing = Counter(map(str, live_requests)) - Counter(map(str, rebuilt_requests))
    assert not missing, f"plan requests of the live run missing after the rebuild: {missing}"
    assert {r["district_code"] for r in rebuilt_requests} == {r["district_code"] for r in live_requests}
    diff = differences(live, rebuilt)
    assert not diff, json.dumps(diff, indent=1, ensure_ascii=False)
