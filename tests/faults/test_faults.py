"""Faults while events flow (issue 7, point 1), on the real Kafka and PostGIS of the fault suite.

The whole system runs as separate processes (API, streams worker, optimizer worker). While a fault strikes, events
keep flowing: district traffic straight to Kafka and demand through the API, each retried until acknowledged with
the same event id (as a client with at-least-once delivery does), and tallied once, when made. After each fault:
the projection matches the tally (nothing lost, nothing counted twice), the consumer lag of the streams and
optimizer groups is back to zero, and a new plan request is answered with a stored plan.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from infra.dlq import read_topic
from infra.processes import ManagedProcess, api_server, optimizer_worker, streams_worker
from infra.settings import Settings
from services.adapters.db import migrate
from services.adapters.geodata import read_units
from services.adapters.kafka import consumer_lag, delete_topics, ensure_topics, list_topics
from services.bootstrap import Container, bootstrap
from services.domain.access import Role
from services.domain.events import AreaCoverage, PlanRequested
from services.domain.fleet import Vehicle
from services.domain.geo import Point
from services.domain.places import Depot, OpeningHours
from services.domain.zones import RiskLevel, Zone
from services.planner import plan_id_for
from services.topics import topic_specs
from tests.conftest import free_port, wait_until
from tests.faults.conftest import FaultServers
from tests.integration.traffic import ADMIN, COMMUNES, Tally, Traffic, mismatch
from tests.unit.builders import square

PLANNED_DISTRICT = "760"
ZONES = 30  # Quận 1: a zone short of rice, a depot and trucks, so every plan request has work
KAFKA_EVENTS_PER_S = 400
API_SUBMISSIONS_PER_S = 20


class System:
    """Greenlane's three processes on the fault servers, with topics and a database of this run's own."""

    def __init__(self, servers: FaultServers, workdir: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.servers, self.workdir = servers, workdir
        self.settings = Settings(
            environment="test", secret_key=secrets.token_urlsafe(32), kafka_bootstrap=servers.kafka_bootstrap,
            database_url=servers.database_url(), topic_prefix=f"faults-{run}", topic_partitions=4,
            streams_app_id=f"faults-{run}", streams_web_port=free_port(), streams_data_dir=workdir / "streams-1",
            optimizer_group=f"faults-{run}-optimizer", optimizer_heartbeat_file=workdir / "optimizer.alive",
            plan_time_limit_s=5.0, plan_request_debounce_s=3600.0, api_port=free_port(),
            optimizer_metrics_port=free_port(), submit_rate_per_minute=60_000.0, submit_burst=10_000)
        migrate(self.settings.database_url)
        ensure_topics(servers.kafka_bootstrap, topic_specs(self.settings.topic_partitions, self.settings.topic_prefix))
        self.container: Container = bootstrap(self.settings, producer_name="faults")
        with self.container.engine.begin() as conn:
            conn.execute(text("TRUNCATE coverage, shortage_alerts, price_alerts, plan_requests, zones, sales_points, "
                              "checkpoints, vehicles, depots, plans, plan_stops, plan_unserved"))
        self.container.admin_units.upsert(read_units(self.settings.geodata_dir, ("79",)))
        self._stock_a_district()
        self.token = self.container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC), "fault tests")
        self.starts = 0
        self.streams = self.start_streams()
        self.optimizer = optimizer_worker(self.settings, workdir / "optimizer-0.log")
        self.api = api_server(self.settings, workdir / "api-0.log")

    def start_streams(self) -> ManagedProcess:
        self.starts += 1
        own = self.settings.model_copy(update={"streams_data_dir": self.workdir / f"streams-{self.starts}"})
        return streams_worker(own, self.workdir / f"streams-{self.starts}.log")

    def restart_optimizer(self) -> None:
        self.optimizer = optimizer_worker(self.settings, self.workdir / f"optimizer-{time.monotonic_ns()}.log")

    def restart_api(self) -> None:
        self.api = api_server(self.settings, self.workdir / f"api-{time.monotonic_ns()}.log")

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def _stock_a_district(self) -> None:
        """Thirty zones of Quận 1 with no rice, a depot with plenty and three trucks: every plan routes them."""
        now, c = datetime.now(UTC), self.container
        zones = [Zone(f"faults-zone-{i}", f"Khu {i}", PLANNED_DISTRICT,
                      square(106.690 + 0.003 * (i % 6), 10.770 + 0.003 * (i // 6), 0.0008), RiskLevel.HIGH,
                      valid_from=now) for i in range(ZONES)]
        for zone in zones:
            c.zones.add(zone)
        c.projections.coverage([AreaCoverage(
            event_id=f"cov-{z.zone_id}", occurred_at=now, level="zone", area_id=z.zone_id,
            district_code=PLANNED_DISTRICT, zone_id=z.zone_id, households=100, people=300, vulnerable={},
            need={"rice": 120.0}, stock={}, on_way={}, days_of_supply={"rice": 0.0}, last_report_at=now,
            max_event_at=now) for z in zones])
        hours = OpeningHours(clock_time(0), clock_time(23, 59))
        depot = Depot("faults-depot", "Bình Điền market", Point(106.6100, 10.7000), PLANNED_DISTRICT, hours)
        c.places.add_depots([depot])
        c.places.set_depot_stock(depot.depot_id, {"rice": 1_000_000.0})
        c.places.add_vehicles([Vehicle(f"faults-truck-{i}", f"51C-9{i}", 2000.0, 12.0, depot.depot_id,
                                       clock_time(0), clock_time(23, 59), green_lane_permit=True,
                                       serves_district=PLANNED_DISTRICT) for i in range(3)])

    def request_plan(self) -> str:
        """Publish a plan request for the stocked district; returns the id of the plan that must answer it."""
        event = PlanRequested(event_id=f"req-{uuid.uuid4().hex[:10]}", occurred_at=datetime.now(UTC),
                              district_code=PLANNED_DISTRICT, reasons=["fault test"])
        self.container.publisher.publish(self.container.topics.plan_requests, PLANNED_DISTRICT, event)
        return plan_id_for(PLANNED_DISTRICT, event.event_id)

    def lag(self) -> dict[str, int]:
        topics = self.container.topics
        streams = consumer_lag(self.settings.kafka_bootstrap, self.settings.streams_app_id,
                               list(topics.streams_inputs))
        optimizer = consumer_lag(self.settings.kafka_bootstrap, self.settings.optimizer_group, [topics.plan_requests])
        return {**streams, **optimizer}

    def stop(self) -> None:
        for process in (self.api, self.optimizer, self.streams):
            process.stop()
        self.container.publisher.close()
        self.container.engine.dispose()
        prefixes = (self.settings.topic_prefix + ".", self.settings.streams_app_id + "-")
        delete_topics(self.settings.kafka_bootstrap,
                      [t for t in list_topics(self.settings.kafka_bootstrap) if t.startswith(prefixes)])

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                         for p in sorted(self.workdir.glob("*.log")))


class Flow:
    """Events flowing while a fault strikes. Each event is tallied once when made and sent until acknowledged, with
    the same event id each time; a failure in between may have delivered it already, which the consumers must
    absorb."""

    def __init__(self, system: System, tally: Tally, seed: int) -> None:
        self.system, self.tally = system, tally
        self.traffic = Traffic(system.container.topics, seed=seed)
        self.traffic.tally = tally
        self.stopping = threading.Event()
        self.retries = {"kafka": 0, "api": 0}
        self.longest_send_s = 0.0  # the longest wait for the broker's acknowledgement of a batch
        self.api_answers: dict[int, int] = {}
        self.unexpected: list[str] = []  # answers other than 202 and 503 (the API's "retry later")
        self._threads = [threading.Thread(target=self._to_kafka, daemon=True),
                         threading.Thread(target=self._through_api, daemon=True)]

    def __enter__(self) -> Flow:
        for thread in self._threads:
            thread.start()
        time.sleep(2.0)  # events are flowing when the fault strikes
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(2.0)  # and still flowing after the recovery
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=240)
            assert not thread.is_alive(), "a sender could not deliver its events within 240 s"
        assert not self.unexpected, self.unexpected[:5]
        print(f"flow: {self.tally.sent} events made so far; API answers {self.api_answers}, retries {self.retries}, "
              f"longest wait for Kafka's ack {self.longest_send_s:.1f} s")

    def _to_kafka(self) -> None:
        batch_size = KAFKA_EVENTS_PER_S // 10
        while not self.stopping.is_set():
            events = self.traffic.batch(batch_size)
            started = time.monotonic()
            while True:
                try:
                    Traffic.send(self.system.container.publisher, events)
                    self.longest_send_s = max(self.longest_send_s, time.monotonic() - started)
                    break
                except Exception:  # the broker is away: send the same events again
                    self.retries["kafka"] += 1
                    time.sleep(1.0)
            time.sleep(0.1)

    def _through_api(self) -> None:
        rng = self.traffic.rng
        with httpx.Client(base_url=self.system.api_url, timeout=15.0,
                          headers={"Authorization": f"Bearer {self.system.token}"}) as client:
            while not self.stopping.is_set():
                commune, households = rng.choice(COMMUNES), rng.randint(1, 20)
                body = {"commune_code": commune, "households": households, "people": 3 * households}
                self._until_accepted(client, body, {"Idempotency-Key": f"api-{rng.getrandbits(64):x}"})
                self.tally.households[ADMIN.district_of(commune) or ""] += households
                self.tally.sent += 1
                time.sleep(1.0 / API_SUBMISSIONS_PER_S)

    def _until_accepted(self, client: httpx.Client, body: dict[str, object], headers: dict[str, str]) -> None:
        while True:
            try:
                answer = client.post("/api/v1/demand", json=body, headers=headers)
                self.api_answers[answer.status_code] = self.api_answers.get(answer.status_code, 0) + 1
                if answer.status_code == 202:
                    return
                if answer.status_code != 503:
                    self.unexpected.append(f"{answer.status_code}: {answer.text[:300]}")
            except httpx.HTTPError:
                pass  # the API is away, or the answer was lost: the same key again
            self.retries["api"] += 1
            time.sleep(0.5)


@pytest.fixture(scope="module")
def system(fault_servers: FaultServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(fault_servers, tmp_path_factory.mktemp("faults"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tally() -> Tally:
    """Everything sent by every test of the module: the projection must show exactly this after each fault."""
    return Tally()


def assert_recovered(system: System, tally: Tally) -> None:
    """Nothing lost or counted twice, every consumer group caught up, and plans are made again."""
    began = time.monotonic()
    try:
        wait_until(lambda: not mismatch(tally, system.container.projections), timeout_s=180, interval_s=1.0)
    except AssertionError:
        raise AssertionError(f"projection differs from the tally: {mismatch(tally, system.container.projections)}"
                             f"\n{_unfolded_demand(system)}\n{system.logs()}") from None
    matched = time.monotonic()
    _until_caught_up(system)
    caught_up = time.monotonic()
    plan_id = system.request_plan()
    wait_until(lambda: system.container.plan_store.exists(plan_id), timeout_s=120, interval_s=1.0)
    assert _stops(system, plan_id) >= ZONES
    _until_caught_up(system)
    print(f"recovered: projection = tally after {matched - began:.1f} s, lag 0 after {caught_up - began:.1f} s, "
          f"a new plan after {time.monotonic() - caught_up:.1f} s more")


def _unfolded_demand(system: System) -> str:
    """Where the demand events are that the ledger has no entry for (from the demand topic and the ledger's
    changelog), and how many messages were dead-lettered: tells a lost range of offsets from a refused event."""
    topics = system.container.topics
    changelog = f"{system.settings.streams_app_id}-district-ledger-changelog"
    folded = {json.loads(record.key) for record in read_topic(system.settings.kafka_bootstrap, changelog)}
    missing: dict[int, list[int]] = {}
    for record in read_topic(system.settings.kafka_bootstrap, topics.demand):
        if "d:" + json.loads(record.value)["event_id"] not in folded:
            missing.setdefault(record.partition, []).append(record.offset)
    dead = len(read_topic(system.settings.kafka_bootstrap, topics.dead_letter))
    ranges = {p: f"{len(o)} from {min(o)} to {max(o)}" for p, o in missing.items()}
    return f"demand events without a ledger entry, by partition: {ranges or 'none'}; dead letters: {dead}"


def _stops(system: System, plan_id: str) -> int:
    plan = system.container.plan_store.latest(PLANNED_DISTRICT, plan_id)
    return sum(1 for stop in (plan or {}).get("stops", []) if stop["zone_id"])


def _until_caught_up(system: System, timeout_s: float = 60.0) -> None:
    deadline, lag = time.monotonic() + timeout_s, system.lag()
    while any(lag.values()):
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer lag not back to zero within {timeout_s} s: "
                                 f"{ {t: n for t, n in lag.items() if n} }\n{system.logs()}")
        time.sleep(1.0)
        lag = system.lag()


def test_a_streams_worker_killed_mid_stream(system: System, tally: Tally) -> None:
    with Flow(system, tally, seed=1):
        system.streams.kill()  # SIGKILL: no shutdown, no final commit
        time.sleep(3.0)
        system.streams = system.start_streams()
    assert_recovered(system, tally)


def test_kafka_restarted(system: System, tally: Tally) -> None:
    with Flow(system, tally, seed=2) as flow:
        system.servers.run("kafka.sh", "stop")
        time.sleep(5.0)
        system.servers.run("kafka.sh", "start")
    assert flow.longest_send_s > 5.0  # events were waiting for the broker while it was away
    assert_recovered(system, tally)


def test_postgis_stopped_for_30_seconds(system: System, tally: Tally) -> None:
    with Flow(system, tally, seed=3) as flow:
        system.servers.run("postgis.sh", "stop")
        time.sleep(30.0)
        system.servers.run("postgis.sh", "start")
    assert flow.retries["api"] > 0
    assert_recovered(system, tally)


def test_an_optimizer_worker_killed_mid_solve(system: System, tally: Tally) -> None:
    with Flow(system, tally, seed=4):
        plan_id = system.request_plan()
        system.optimizer.wait_for_log(f"for request {plan_id.removeprefix(f'plan-{PLANNED_DISTRICT}-')}",
                                      timeout_s=60)
        system.optimizer.kill()  # it has started planning the request and not stored the plan yet:
        assert not system.container.plan_store.exists(plan_id)
        system.restart_optimizer()
    wait_until(lambda: system.container.plan_store.exists(plan_id), timeout_s=120, interval_s=1.0)
    assert_recovered(system, tally)
    with system.container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plans WHERE plan_id = :p"), {"p": plan_id}).scalar() == 1


def test_the_api_killed_mid_upload(system: System, tally: Tally) -> None:
    # 20 rows per commune, each different (identical rows in one upload are refused as a likely copy-paste)
    rows = [(COMMUNES[i % len(COMMUNES)], 1 + i // len(COMMUNES)) for i in range(20 * len(COMMUNES))]
    body = "commune_code,households,people\n" + "".join(f"{c},{h},{3 * h}\n" for c, h in rows)
    key = f"upload-{uuid.uuid4().hex[:8]}"
    outcome: dict[str, object] = {}

    def slow_chunks() -> Iterator[bytes]:
        data = body.encode()
        for start in range(0, len(data), 4_000):
            yield data[start:start + 4_000]
            time.sleep(0.1)

    def upload() -> None:
        try:
            outcome["answer"] = httpx.post(f"{system.api_url}/api/v1/demand/csv", content=slow_chunks(), timeout=60,
                                           headers={"Authorization": f"Bearer {system.token}",
                                                    "Idempotency-Key": key, "Content-Type": "text/csv"})
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    with Flow(system, tally, seed=5):
        uploading = threading.Thread(target=upload)
        uploading.start()
        time.sleep(1.5)  # part of the file is in (the API publishes nothing before it has read the whole file)
        system.api.kill()
        uploading.join()
        assert "error" in outcome, f"the upload finished before the API was killed: {outcome}"
        system.restart_api()
        again = httpx.post(f"{system.api_url}/api/v1/demand/csv", content=body.encode(), timeout=60,
                           headers={"Authorization": f"Bearer {system.token}", "Idempotency-Key": key,
                                    "Content-Type": "text/csv"})
        assert again.status_code == 202 and again.json() == {"accepted": len(rows), "rejected": []}, again.text
        for commune, households in rows:
            tally.households[ADMIN.district_of(commune) or ""] += households
        tally.sent += len(rows)
    assert_recovered(system, tally)


def test_no_secret_in_the_logs_of_any_process(system: System) -> None:
    """After the faults (connection errors, tracebacks, reconnections, a killed upload), no process wrote the
    signing key or the access token it was called with."""
    logs = sorted(system.workdir.glob("*.log"))
    assert {p.name.split("-")[0] for p in logs} >= {"api", "optimizer", "streams"}
    for log in logs:
        text = log.read_text(errors="replace")
        assert system.settings.secret_key not in text, log.name
        assert system.token.split("_", 2)[2] not in text, log.name  # gl_<id>_<secret>: the secret, anywhere
