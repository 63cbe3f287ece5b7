"""Stream-processing benchmark (issue #3): `make bench-streams`, or `python -m bench.streams [--events N]
[--rate R] [--seconds S]`.

Three phases on the local Kafka and PostGIS (database greenlane_bench), each with topics and a faust app id of its
own, removed at the end:

1. throughput: N events (about 70 % demand.submitted spread over every commune of Hồ Chí Minh City, 30 % sales-point
   stock deltas, no duplicates) are produced first; then ONE streams worker starts, and the clock runs from the
   moment it logs "Ready" until the district coverage rows in PostGIS equal an independent tally of what was sent
   (households and rice stock per district). pipeline ev/s = N / that time.
2. raw yardstick: a plain aiokafka consumer (no group, every partition of the same demand and stock topics
   assigned, from the beginning) reads the same N messages from the same broker and decodes each one with
   services.messages.decode.
3. latency: a fresh worker; demand events at a steady rate, each stamped with its send time; a separate thread
   polls the commune coverage rows every ~10 ms; an event's latency is the first poll whose answer shows
   max_event_at >= its time, minus that time. Events not seen 10 s after the last send count as lost, and in the
   percentiles with the time they had waited by then (a percentile that reaches them is printed as a lower bound).
   The load comes from aiokafka in this process; its CPU share and the worker's are reported next to the figures.

The figures are printed and written to bench/results/streams.json; nothing here asserts on wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition as KafkaPartition
from sqlalchemy import Engine, text

from infra.processes import ManagedProcess, free_port, streams_worker
from infra.settings import ROOT, Settings
from services.adapters.db import migrate
from services.adapters.geodata import read_catalogue, read_units
from services.adapters.kafka import delete_topics, ensure_topics, list_topics
from services.adapters.projections import Projections
from services.bootstrap import bootstrap
from services.domain.admin import AdminLevel
from services.domain.demand import DemandReport
from services.domain.events import DemandSubmitted, Event, StockReported
from services.domain.geo import Point
from services.messages import decode, encode
from services.topics import Topics, topic_specs

BENCH_DB = os.environ.get("GREENLANE_BENCH_DATABASE_URL",
                          "postgresql+psycopg://greenlane:greenlane@127.0.0.1:55432/greenlane_bench")
PROVINCE = "79"
TARGET_PIPELINE_EPS = 10_000
TARGET_P99_MS = 500.0
STOCK_SHARE = 0.3
LOST_AFTER_S = 10.0
STALL_S = 60.0
RESULTS = ROOT / "bench" / "results" / "streams.json"
LOGS = ROOT / ".local" / "bench"
PROJECTION_TABLES = "coverage, shortage_alerts, price_alerts, plan_requests, produce_offers"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Environment variables the worker inherits that change how it runs (faust reads its settings from these too).
FAUST_ENV = ("GREENLANE_", "PRODUCER_", "BROKER_", "CONSUMER_", "STREAM_", "TABLE_", "WORKER_")
READY_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\].*\bReady\b", re.M)
NOTABLE = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]")


def say(message: str) -> None:
    print(f"bench-streams: {message}", flush=True)


def micros(at: datetime) -> int:
    """Microseconds since the epoch, exactly (a float timestamp would round)."""
    return (at - EPOCH) // timedelta(microseconds=1)


# What was sent ----------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What each district must show once every event sent has been processed exactly once."""

    households: Counter[str] = field(default_factory=Counter)
    rice: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    demand: int = 0
    stock: int = 0


class Traffic:
    """Demand spread over every commune of the province, and stock deltas for three sales points per commune."""

    def __init__(self, topics: Topics, communes: list[tuple[str, str]], run: str, seed: int = 3) -> None:
        self.topics, self.communes, self.run = topics, communes, run
        self.rng = random.Random(seed)
        self.tally = Tally()
        self._next = 0

    def events(self, count: int) -> Iterator[tuple[str, str, Event]]:
        """(topic, key, event); each event id is new, so nothing is a duplicate."""
        now = datetime.now(UTC)
        for i in range(count):
            if i % 1000 == 0:
                now = datetime.now(UTC)
            commune, district = self.rng.choice(self.communes)
            self._next += 1
            if self.rng.random() >= STOCK_SHARE:
                households = self.rng.randint(1, 30)
                self.tally.households[district] += households
                self.tally.demand += 1
                yield self.topics.demand, district, demand_event(f"{self.run}-d-{self._next}", now, commune, district,
                                                                 households)
            else:
                quantity = float(self.rng.randint(1, 50))
                self.tally.rice[district] += quantity
                self.tally.stock += 1
                yield self.topics.stock, district, StockReported(
                    event_id=f"{self.run}-s-{self._next}", occurred_at=now, district_code=district,
                    point_id=f"sp-{commune}-{self.rng.randint(0, 2)}", commune_code=commune,
                    location=Point(106.7, 10.78), quantities={"rice": quantity}, is_delta=True)


def demand_event(event_id: str, at: datetime, commune: str, district: str, households: int) -> DemandSubmitted:
    return DemandSubmitted(event_id=event_id, occurred_at=at, district_code=district,
                           report=DemandReport(commune_code=commune, households=households, people=3 * households))


def district_totals(projections: Projections) -> tuple[dict[str, int], dict[str, float]]:
    """Households and rice stock per district as the PostGIS projection shows them."""
    rows = projections.coverage_rows(level="district")
    return ({r["area_id"]: r["households"] for r in rows if r["households"]},
            {r["area_id"]: float(r["stock"].get("rice", 0.0)) for r in rows if r["stock"].get("rice")})


def matches(tally: Tally, households: dict[str, int], rice: dict[str, float]) -> bool:
    return (households == {d: n for d, n in tally.households.items() if n} and set(rice) == set(tally.rice)
            and all(abs(rice[d] - q) < 1e-6 for d, q in tally.rice.items()))


# Processes and machine ------------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a live process, in MiB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a live process has used."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def process_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process on the machine: pid → (command name, seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                found[int(entry.name)] = (stat[stat.index("(") + 1:stat.rindex(")")],
                                          (int(fields[11]) + int(fields[12])) / tick)
    return found


def cores_by_process(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], worker_pid: int,
                     seconds: float) -> dict[str, float]:
    """Cores kept busy between two snapshots, by kind: the worker, this process, Kafka, PostgreSQL, the rest."""
    used: defaultdict[str, float] = defaultdict(float)
    for pid, (name, total) in after.items():
        spent = total - before.get(pid, (name, 0.0))[1]
        if spent > 0:
            kind = ("worker" if pid == worker_pid else "bench (this process)" if pid == os.getpid()
                    else "kafka (java)" if name == "java" else "postgres" if name.startswith("postgres") else "other")
            used[kind] += spent
    return {kind: round(spent / seconds, 2) for kind, spent in sorted(used.items(), key=lambda kv: -kv[1])}


def machine_ticks() -> tuple[int, int, int]:
    """(busy, stolen, total) jiffies of all CPUs, from /proc/stat; stolen = taken by the hypervisor."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle, steal = values[3] + values[4], values[7]  # idle + iowait; steal
    total = sum(values[:8])
    return total - idle - steal, steal, total


def busy_share(before: tuple[int, int, int], after: tuple[int, int, int]) -> tuple[float, float]:
    """Shares of all CPU time that were busy and stolen between two readings."""
    busy, steal, total = (a - b for a, b in zip(after, before, strict=True))
    return (busy / total, steal / total) if total else (0.0, 0.0)


def ready_time(log_path: Path) -> float | None:
    """When the worker logged "Ready" (its own timestamp, local time, milliseconds)."""
    found = READY_LINE.search(log_path.read_text(errors="replace"))
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() if found else None


def notable_lines(log_path: Path, limit: int = 10) -> list[tuple[str, int]]:
    """Warnings and errors of a worker log, numbers folded to '#', most frequent first."""
    counts: Counter[str] = Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        if NOTABLE.search(line):
            message = line.split("] ", 2)[-1] if line.startswith("[") else line
            counts[re.sub(r"\d+(\.\d+)?", "#", message)[:170]] += 1
    return counts.most_common(limit)


@dataclass
class Worker:
    """A streams worker started for one phase, with what it cost."""

    process: ManagedProcess
    ready_at: float
    started_at: float

    @property
    def pid(self) -> int:
        return self.process.process.pid

    def stop(self) -> dict[str, Any]:
        usage = {"peak_rss_mb": peak_rss_mb(self.pid), "cpu_seconds": cpu_seconds(self.pid),
                 "log": str(self.process.log_path.relative_to(ROOT))}
        self.process.stop()
        return usage


def start_worker(settings: Settings, log_path: Path) -> Worker:
    started = time.time()
    process = streams_worker(settings, log_path)
    seen = time.time()
    logged = ready_time(log_path)
    return Worker(process, logged if logged is not None and logged <= seen else seen, started)


# Phases ---------------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run = uuid.uuid4().hex[:8]
        self.logs = LOGS / f"streams-{self.run}"
        self.base = Settings(database_url=BENCH_DB)
        self.bootstrap = self.base.kafka_bootstrap
        self._phases: list[Settings] = []
        admin = read_catalogue(self.base.geodata_dir, (PROVINCE,))
        self.communes = sorted((u.code, admin.district_of(u.code) or "") for u in admin.of_level(AdminLevel.COMMUNE))
        self.container = bootstrap(self.base, producer_name="bench")
        self.projections = self.container.projections

    @property
    def engine(self) -> Engine:
        return self.container.engine

    def prepare_database(self) -> None:
        migrate(BENCH_DB)
        self.container.admin_units.upsert(read_units(self.base.geodata_dir, (PROVINCE,)))

    def phase_settings(self, phase: str) -> Settings:
        """Topics, app id, web port and data directory of one phase; the projections emptied."""
        own = self.base.model_copy(update={
            "topic_prefix": f"bench-{self.run}-{phase}", "streams_app_id": f"greenlane-bench-{self.run}-{phase}",
            "streams_web_port": free_port(), "streams_data_dir": self.logs / f"data-{phase}"})
        self._phases.append(own)
        ensure_topics(own.kafka_bootstrap, topic_specs(own.topic_partitions, own.topic_prefix), own.topic_replication)
        with self.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {PROJECTION_TABLES}"))
        return own

    def cleanup(self) -> None:
        mine = tuple(p for s in self._phases for p in (s.topic_prefix + ".", s.streams_app_id + "-"))
        if mine:
            delete_topics(self.bootstrap, [t for t in list_topics(self.bootstrap) if t.startswith(mine)])
            with contextlib.suppress(Exception):  # the consumer groups of the stopped workers
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="greenlane-bench")
                try:
                    admin.delete_consumer_groups([s.streams_app_id for s in self._phases])
                finally:
                    admin.close()
        self.container.engine.dispose()

    # 1. throughput ------------------------------------------------------------------------------------

    def throughput(self) -> dict[str, Any]:
        settings = self.phase_settings("tp")
        topics = Topics.with_prefix(settings.topic_prefix)
        count = self.args.events
        tally, produce_s = self.backlog(topics, count)
        say(f"throughput: produced in {produce_s:.1f}s ({count / produce_s:,.0f} ev/s): {tally.demand:,} demand, "
            f"{tally.stock:,} stock deltas; starting one streams worker")

        worker = start_worker(settings, self.logs / "worker-throughput.log")
        ticks, processes = machine_ticks(), process_cpu()
        cpu_at_ready = cpu_seconds(worker.pid) or 0.0
        milestones: dict[str, float] = {}
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="greenlane-bench")
        try:
            done_at = self._wait_for_tally(tally, worker, milestones, ConsumedInput(
                admin, settings.streams_app_id, {topics.demand, topics.stock}, count))
        except BaseException:
            worker.stop()
            raise
        finally:
            admin.close()
        (busy, stolen), cores = busy_share(ticks, machine_ticks()), process_cpu()
        usage = worker.stop()
        seconds = done_at - worker.ready_at
        cores_used = cores_by_process(processes, cores, worker.pid, time.time() - worker.ready_at)
        worker_cpu = (usage["cpu_seconds"] or 0.0) - cpu_at_ready
        steady = None  # input consumption rate between 25 % and 75 % of the offsets committed
        if "25% committed" in milestones and "75% committed" in milestones:
            span = milestones["75% committed"] - milestones["25% committed"]
            steady = 0.5 * count / span if span > 0 else None
        return {
            "events": count, "demand_events": tally.demand, "stock_events": tally.stock,
            "produce_seconds": round(produce_s, 2), "produce_eps": round(count / produce_s),
            "worker_start_to_ready_s": round(worker.ready_at - worker.started_at, 2),
            "seconds": round(seconds, 3), "pipeline_eps": round(count / seconds),
            "consumed_eps_25_to_75_committed": round(steady) if steady else None,
            "milestones_s_after_ready": {k: round(v, 2) for k, v in milestones.items()},
            "worker_peak_rss_mb": _round(usage["peak_rss_mb"], 1), "worker_cpu_seconds": round(worker_cpu, 1),
            "worker_cpu_share_of_one_core": round(worker_cpu / seconds, 2),
            "worker_cpu_us_per_event": round(worker_cpu / count * 1e6), "machine_cpu_busy": round(busy, 2),
            "machine_cpu_stolen": round(stolen, 3), "cores_by_process": cores_used,
            "messages_per_topic": self.topic_sizes(settings),
            "worker_log": usage["log"],
            "topics": [topics.demand, topics.stock], "partitions": settings.topic_partitions,
            "target_eps": TARGET_PIPELINE_EPS,
        }

    def backlog(self, topics: Topics, count: int) -> tuple[Tally, float]:
        """Produce `count` events before any worker runs; the tally of what was sent and how long it took."""
        traffic = Traffic(topics, self.communes, self.run)
        say(f"throughput: producing {count:,} events to {topics.demand} and {topics.stock}")
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=20,
                                 batch_size=512 * 1024, buffer_memory=128 * 1024 * 1024)
        started = time.perf_counter()
        for topic, key, event in traffic.events(count):
            producer.send(topic, key=key.encode(), value=encode(event, "bench"))
        producer.flush()
        producer.close()
        return traffic.tally, time.perf_counter() - started

    def _wait_for_tally(self, tally: Tally, worker: Worker, milestones: dict[str, float],
                        consumed: ConsumedInput) -> float:
        """Poll the district rows until they equal the tally; the time of the poll that showed it.

        Along the way: when the first row appeared, when 25/50/75 % of the households were visible, and when the
        worker had committed 25/50/75/100 % of its input offsets (faust commits every few seconds).
        """
        expected = sum(tally.households.values())
        last_progress: tuple[int, float, int] | None = None
        last_change = time.time()
        while True:
            households, rice = district_totals(self.projections)
            now = time.time()
            since = now - worker.ready_at
            if matches(tally, households, rice):
                milestones["100% visible"] = since
                return now
            visible = sum(households.values())
            if visible and "first row" not in milestones:
                milestones["first row"] = since
            committed = consumed.poll()
            for share in (25, 50, 75, 100):
                if share < 100 and f"{share}% visible" not in milestones and visible >= expected * share / 100:
                    milestones[f"{share}% visible"] = since
                if f"{share}% committed" not in milestones and committed >= consumed.total * share / 100:
                    milestones[f"{share}% committed"] = since
            progress = (visible, sum(rice.values()), committed)
            if progress != last_progress:
                last_progress, last_change = progress, now
            elif now - last_change > STALL_S:
                raise RuntimeError(f"no progress for {STALL_S:.0f}s: {visible:,} of {expected:,} households "
                                   f"visible, {committed:,} input offsets committed; log {worker.process.log_path}")
            if worker.process.process.poll() is not None:
                raise RuntimeError(f"the worker exited; log {worker.process.log_path}")
            time.sleep(0.05)

    def topic_sizes(self, settings: Settings) -> dict[str, int]:
        """Messages in every topic of a phase (inputs, derived topics, changelogs): where the work multiplies."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        try:
            prefixes = (settings.topic_prefix + ".", settings.streams_app_id + "-")
            sizes: Counter[str] = Counter()
            for name in list_topics(self.bootstrap):
                if name.startswith(prefixes):
                    parts = [KafkaPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
                    short = name.removeprefix(prefixes[0]).removeprefix(prefixes[1])
                    sizes[short] += sum(consumer.end_offsets(parts).values())
            return {name: n for name, n in sorted(sizes.items()) if n}
        finally:
            consumer.close()

    # 2. raw yardstick -------------------------------------------------------------------------------------

    def raw(self, topic_names: list[str], partitions: int, expected: int) -> dict[str, Any]:
        say(f"raw: a plain aiokafka consumer reads and decodes the same {expected:,} messages")
        read, seconds = asyncio.run(_raw_read(self.bootstrap, topic_names, partitions, expected, decoding=True))
        if read < expected:
            raise RuntimeError(f"raw consumer read {read:,} of {expected:,} messages")
        bare, bare_s = asyncio.run(_raw_read(self.bootstrap, topic_names, partitions, expected, decoding=False))
        return {"messages": read, "seconds": round(seconds, 3), "eps": round(read / seconds),
                "read_only_eps": round(bare / bare_s)}

    # 3. latency -----------------------------------------------------------------------------------------

    def latency(self) -> dict[str, Any]:
        settings = self.phase_settings("lat")
        topics = Topics.with_prefix(settings.topic_prefix)
        rate, duration = self.args.rate, self.args.seconds
        worker = start_worker(settings, self.logs / "worker-latency.log")
        poller = Poller(BENCH_DB.replace("+psycopg", ""), interval_s=0.01)
        try:
            self._warm_up(topics, worker)
            say(f"latency: {rate:,} demand ev/s for {duration:g}s, coverage polled every 10 ms")
            ticks, worker_cpu, own_cpu = machine_ticks(), cpu_seconds(worker.pid) or 0.0, _own_cpu()
            processes = process_cpu()
            poller.start()
            sent, behind_s, send_s = asyncio.run(self._steady(topics, rate, duration))
            busy, stolen = busy_share(ticks, machine_ticks())
            cores_used = cores_by_process(processes, process_cpu(), worker.pid, send_s)
            worker_cpu = (cpu_seconds(worker.pid) or 0.0) - worker_cpu
            own_cpu = _own_cpu() - own_cpu
            deadline = time.monotonic() + LOST_AFTER_S
            last = {commune: times[-1] for commune, times in sent.items()}
            while time.monotonic() < deadline and poller.error is None:
                latest = dict(poller.latest)
                if all(latest.get(c, -1) >= t for c, t in last.items()):
                    break
                time.sleep(0.05)
            ended = time.time_ns() // 1000  # events not seen by now are lost; their latency is at least this
        finally:
            poller.stop_event.set()
            if poller.is_alive():
                poller.join()
            sizes = self.topic_sizes(settings)
            usage = worker.stop()
        if poller.error is not None:
            raise poller.error
        every = latencies(sent, poller.changes, ended)
        values = sorted((ms, censored) for _, ms, censored in every)
        lost = sum(censored for _, censored in values)
        first = min((at for at, _, _ in every), default=0)
        windows: defaultdict[int, list[tuple[float, bool]]] = defaultdict(list)
        for at, ms, censored in every:
            windows[int((at - first) // 5_000_000)].append((ms, censored))
        figures: dict[str, Any] = {}
        lower_bounds = []
        for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
            figures[f"{name}_ms"], censored = _pct(values, p)
            if censored:
                lower_bounds.append(f"{name}_ms")
        return {
            "rate_target": rate, "seconds": duration, "events": len(values), "sent_eps": round(len(values) / send_s),
            "max_behind_schedule_ms": round(behind_s * 1000, 1), "seen": len(values) - lost, "lost": lost,
            **figures, "lower_bounds": lower_bounds,
            "p50_ms_per_5s_of_sending": [_pct(sorted(windows.get(w, [])), 50)[0]
                                         for w in range(math.ceil(duration / 5))],
            "polls": poller.polls,
            "poll_interval_ms": round(poller.elapsed_s / poller.polls * 1000, 1) if poller.polls else None,
            "poll_query_ms": round(poller.query_s / poller.polls * 1000, 2) if poller.polls else None,
            "worker_cpu_share_of_one_core": round(worker_cpu / send_s, 2),
            "bench_process_cpu_share_of_one_core": round(own_cpu / send_s, 2), "machine_cpu_busy": round(busy, 2),
            "machine_cpu_stolen": round(stolen, 3), "cores_by_process": cores_used, "messages_per_topic": sizes,
            "worker_peak_rss_mb": _round(usage["peak_rss_mb"], 1),
            "worker_log": usage["log"], "target_p99_ms": TARGET_P99_MS,
        }

    def _warm_up(self, topics: Topics, worker: Worker) -> None:
        """One event per district, waited for, so partitions are assigned and the pipeline flows (not measured)."""
        districts = sorted({d for _, d in self.communes})
        first = {d: c for c, d in reversed(self.communes)}
        now = datetime.now(UTC)
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        for d in districts:
            producer.send(topics.demand, key=d.encode(),
                          value=encode(demand_event(f"{self.run}-w-{d}", now, first[d], d, 1), "bench"))
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 120
        while len(district_totals(self.projections)[0]) < len(districts):
            if time.monotonic() > deadline or worker.process.process.poll() is not None:
                raise RuntimeError(f"warm-up events not visible; worker log {worker.process.log_path}")
            time.sleep(0.05)

    async def _steady(self, topics: Topics, rate: int, duration: float
                      ) -> tuple[dict[str, list[int]], float, float]:
        """Send at a steady pace; each event's occurred_at is its send time. Returns µs times per commune.

        aiokafka, not kafka-python: at 1,000 ev/s kafka-python's producer alone kept 0.8 of a core busy here, on a
        machine the worker, Kafka and PostGIS share; aiokafka (linger 2 ms, as the API's publisher) about 0.35.
        """
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=2)
        await producer.start()
        try:
            rng = random.Random(5)
            sent: dict[str, list[int]] = defaultdict(list)
            total = int(rate * duration)
            behind = 0.0
            start = time.perf_counter()
            for i in range(total):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    behind = max(behind, -delay)
                commune, district = rng.choice(self.communes)
                now = datetime.now(UTC)
                event = demand_event(f"{self.run}-l-{i}", now, commune, district, rng.randint(1, 30))
                await producer.send(topics.demand, key=district.encode(), value=encode(event, "bench"))
                sent[commune].append(micros(now))
            await producer.flush()
            return sent, behind, time.perf_counter() - start
        finally:
            await producer.stop()


class ConsumedInput:
    """How many input offsets the worker's consumer group has committed (polled at most once a second)."""

    def __init__(self, admin: KafkaAdminClient, group: str, topics: set[str], total: int) -> None:
        self.admin, self.group, self.topics, self.total = admin, group, topics, total
        self.value = 0
        self._at = 0.0

    def poll(self) -> int:
        if time.monotonic() - self._at >= 1.0:
            self._at = time.monotonic()
            with contextlib.suppress(Exception):  # the group may not exist yet; keep the last value
                offsets = self.admin.list_consumer_group_offsets(self.group)
                self.value = sum(o.offset for tp, o in offsets.items() if tp.topic in self.topics and o.offset > 0)
        return self.value


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _raw_read(bootstrap: str, topic_names: list[str], partitions: int, expected: int, decoding: bool,
                    timeout_s: float = 600.0) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        assigned = [TopicPartition(t, p) for t in topic_names for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        read = 0
        started = time.perf_counter()
        while read < expected and time.perf_counter() - started < timeout_s:
            batches = await consumer.getmany(timeout_ms=1000)
            for messages in batches.values():
                if decoding:
                    for message in messages:
                        decode(message.value)
                read += len(messages)
        return read, time.perf_counter() - started
    finally:
        await consumer.stop()


class Poller(threading.Thread):
    """Reads max_event_at of every commune row on its own connection; keeps (poll time, commune, value) changes."""

    QUERY = "SELECT area_id, max_event_at FROM coverage WHERE level = 'commune' AND max_event_at IS NOT NULL"

    def __init__(self, dsn: str, interval_s: float) -> None:
        super().__init__(name="coverage-poller", daemon=True)
        self.dsn, self.interval_s = dsn, interval_s
        self.stop_event = threading.Event()
        self.latest: dict[str, int] = {}
        self.changes: list[tuple[int, str, int]] = []
        self.polls = 0
        self.query_s = 0.0
        self.elapsed_s = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                started = next_at = time.monotonic()
                while not self.stop_event.is_set():
                    asked = time.perf_counter()
                    rows = conn.execute(self.QUERY).fetchall()
                    answered = time.time_ns() // 1000
                    self.query_s += time.perf_counter() - asked
                    self.polls += 1
                    for commune, at in rows:
                        value = micros(at)
                        if value > self.latest.get(commune, -1):
                            self.latest[commune] = value
                            self.changes.append((answered, commune, value))
                    next_at += self.interval_s
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        next_at = time.monotonic()
                self.elapsed_s = time.monotonic() - started
        except BaseException as exc:  # handed to the main thread
            self.error = exc


def latencies(sent: dict[str, list[int]], changes: list[tuple[int, str, int]], ended: int
              ) -> list[tuple[int, float, bool]]:
    """Per event (its time, latency in ms, censored): the first poll showing its commune at or past its time,
    minus that time. An event no poll showed is censored: its latency is at least `ended` minus its time."""
    seen: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for polled, commune, value in changes:  # per commune, in poll order, values increasing
        seen[commune].append((polled, value))
    out: list[tuple[int, float, bool]] = []
    for commune, times in sent.items():
        polls = seen.get(commune, [])
        j = 0
        for at in sorted(times):
            while j < len(polls) and polls[j][1] < at:
                j += 1
            if j < len(polls):
                out.append((at, (polls[j][0] - at) / 1000, False))
            else:
                out.append((at, (ended - at) / 1000, True))
    return out


def _pct(ordered: list[tuple[float, bool]], p: float) -> tuple[float | None, bool]:
    """Nearest-rank percentile of sorted (value, censored) pairs; True when the value is only a lower bound."""
    if not ordered:
        return None, False
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    # Exact only if no event at or below this rank is censored: a censored one may really lie above it.
    return round(ordered[rank][0], 1), any(censored for _, censored in ordered[:rank + 1])


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# Report ---------------------------------------------------------------------------------------------------


def _git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
        return commit + ("+uncommitted" if dirty else "")
    return None


def summary_line(result: dict[str, Any]) -> str:
    lat = result["latency"]
    p99 = "n/a" if lat["p99_ms"] is None else f"{round(lat['p99_ms'])}"
    return (f"bench-streams: pipeline {result['throughput']['pipeline_eps']} ev/s, raw {result['raw']['eps']} ev/s, "
            f"p99 {p99} ms at {lat['rate_target']} ev/s")


def table(result: dict[str, Any]) -> str:
    tp, raw, lat = result["throughput"], result["raw"], result["latency"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def ms(name: str) -> str:
        value = lat[name]
        bound = ">= " if name in lat["lower_bounds"] else ""
        return "n/a" if value is None else f"{bound}{value:,.1f} ms"

    derived = sum(n for name, n in tp["messages_per_topic"].items() if name not in ("demand", "stock"))
    p99_ok = lat["p99_ms"] is not None and lat["p99_ms"] <= TARGET_P99_MS and lat["lost"] == 0
    rows = [
        ("events (throughput phase)", f"{tp['events']:,}", "", ""),
        ("seconds (Ready → totals match)", f"{tp['seconds']:,.2f}", "", ""),
        ("pipeline ev/s (1 worker)", f"{tp['pipeline_eps']:,}", f">= {TARGET_PIPELINE_EPS:,}",
         verdict(tp["pipeline_eps"] >= TARGET_PIPELINE_EPS)),
        ("  input consumed ev/s (25→75 % committed)",
         f"{tp['consumed_eps_25_to_75_committed']:,}" if tp["consumed_eps_25_to_75_committed"] else "n/a", "", ""),
        ("raw consumer ev/s (read+decode)", f"{raw['eps']:,}", "", ""),
        ("  read only, no decode", f"{raw['read_only_eps']:,}", "", ""),
        ("ratio pipeline / raw", f"{tp['pipeline_eps'] / raw['eps']:.3f}", "", ""),
        ("worker peak RSS", f"{tp['worker_peak_rss_mb']:,.0f} MiB" if tp["worker_peak_rss_mb"] else "n/a", "", ""),
        ("worker CPU (cores busy)", f"{tp['worker_cpu_share_of_one_core']:.2f}", "", ""),
        ("worker CPU per event", f"{tp['worker_cpu_us_per_event']:,} µs", "", ""),
        ("Kafka writes per input event", f"{derived / tp['events']:.2f}", "", ""),
        (f"latency events ({lat['rate_target']:,} ev/s × {lat['seconds']}s)", f"{lat['events']:,}", "", ""),
        ("latency p50", ms("p50_ms"), "", ""),
        ("latency p95", ms("p95_ms"), "", ""),
        ("latency p99", ms("p99_ms"), f"<= {TARGET_P99_MS:,.0f} ms", verdict(p99_ok)),
        ("latency max", ms("max_ms"), "", ""),
        (f"lost (not seen {LOST_AFTER_S:.0f}s after the end)", f"{lat['lost']:,}", "0", verdict(lat["lost"] == 0)),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {'measured':>14}  {'target':>12}", "-" * (width + 38)]
    lines += [f"{a:{width}}  {b:>14}  {c:>12}  {d}".rstrip() for a, b, c, d in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.streams", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the throughput phase")
    parser.add_argument("--rate", type=int, default=1000, help="events per second in the latency phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the latency phase")
    args = parser.parse_args(argv)
    if args.events < 1 or args.rate < 1 or args.seconds <= 0:
        parser.error("--events, --rate and --seconds must be positive")

    bench = Bench(args)
    commit = _git_commit()
    say(f"run {bench.run}: Kafka {bench.bootstrap}, PostGIS {BENCH_DB.rsplit('@', 1)[-1]}, "
        f"{os.cpu_count()} CPUs; worker logs in {bench.logs}")
    overrides = [k for k in os.environ if k.startswith(FAUST_ENV) and k != "GREENLANE_BENCH_DATABASE_URL"]
    if overrides:
        say(f"environment overrides the worker inherits: {', '.join(sorted(overrides))}")
    try:
        bench.prepare_database()
        tp = bench.throughput()
        say(f"throughput: {tp['events']:,} events in {tp['seconds']:.2f}s = {tp['pipeline_eps']:,} ev/s")
        raw = bench.raw(tp["topics"], tp["partitions"], tp["events"])
        say(f"raw: {raw['messages']:,} messages in {raw['seconds']:.2f}s = {raw['eps']:,} ev/s")
        lat = bench.latency()
    finally:
        bench.cleanup()

    result = {
        "benchmark": "streams", "issue": 3, "run": bench.run,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit,
        "commit_at_end": _git_commit(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "args": {"events": args.events, "rate": args.rate, "seconds": args.seconds},
        "environment": {k: "(set)" if k.startswith("GREENLANE_") else v for k, v in sorted(os.environ.items())
                        if k.startswith(FAUST_ENV)},
        "throughput": tp, "raw": raw, "ratio": round(tp["pipeline_eps"] / raw["eps"], 4), "latency": lat,
        "worker_log_notes": {name: [f"{n}× {m}" for m, n in notable_lines(ROOT / phase["worker_log"])]
                             for name, phase in (("throughput", tp), ("latency", lat))},
    }
    result["summary"] = summary_line(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    print()
    print(table(result))
    for name, notes in result["worker_log_notes"].items():
        print(f"\nworker log, {name} phase ({len(notes)} kinds of warning/error):")
        for note in notes or ["(none)"]:
            print(f"  {note}")
    if lat["lower_bounds"]:
        print(f"\n'>=': lower bound. Percentiles are over every event sent; an event not seen {LOST_AFTER_S:.0f}s "
              "after the last send counts with the time it had waited by then.")
    windows = ", ".join("n/a" if v is None else f"{v:,.0f}" for v in lat["p50_ms_per_5s_of_sending"])
    print(f"\nlatency p50 per 5 s of sending (ms): {windows}")
    cpus = os.cpu_count() or 1
    print(f"latency phase: sent {lat['sent_eps']:,} ev/s (at most {lat['max_behind_schedule_ms']:,.0f} ms behind "
          f"schedule); CPU cores busy: worker {lat['worker_cpu_share_of_one_core']:.2f}, this process "
          f"{lat['bench_process_cpu_share_of_one_core']:.2f}, machine {lat['machine_cpu_busy'] * cpus:.2f} of {cpus}")
    print("throughput phase, seconds after Ready: " + ", ".join(
        f"{name} {t:,.1f}" for name, t in sorted(tp["milestones_s_after_ready"].items(), key=lambda kv: kv[1])))
    for name, phase in (("throughput", tp), ("latency", lat)):
        print(f"cores busy by process, {name} phase: " + ", ".join(
            f"{kind} {n:.2f}" for kind, n in phase["cores_by_process"].items())
            + f"; stolen by the hypervisor {phase['machine_cpu_stolen'] * cpus:.2f}")
    print("Kafka messages per topic, throughput phase: " + ", ".join(
        f"{name} {n:,}" for name, n in tp["messages_per_topic"].items()))
    print(f"\nfigures written to {RESULTS.relative_to(ROOT)}")
    print(result["summary"])


if __name__ == "__main__":
    main()
