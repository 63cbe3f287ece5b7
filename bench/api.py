"""API benchmark (issue #5): `make bench-api`, or `python -m bench.api [--zones 3000] [--api-workers 2]
[--read-requests N] [--read-concurrency C] [--demand-requests N] [--demand-concurrency C]`.

A real HTTP load generator, `hey` (github.com/rakyll/hey, built with this machine's Go by infra/scripts/hey.sh),
against the real API started as a separate process (uvicorn, GREENLANE_API_WORKERS worker processes) on the local
Kafka and PostGIS, in a database of its own (greenlane_bench_api; bench-streams empties the projections of
greenlane_bench, so the two cannot share it) and topics of their own (removed at the end):

* set-up: the Hồ Chí Minh City units; 3,000 active zones (small hexagons inside the real district boundaries, in
  proportion to population), a zone-level coverage row for each (households, need, stock, on the way and days of
  supply of every item) and a row for every commune and district of the province; a coordinator token.
* each endpoint gets a short warm-up, then a fixed number of requests at a fixed concurrency (hey is closed-loop:
  C connections, each sending its next request when the previous answer arrived). hey writes one CSV row per
  answered request; p50/p95/p99 are computed here (nearest rank) from those rows, throughput is answers / (end of
  the last - start of the first). Requests without an answer (hey leaves them out of its CSV) = sent - rows;
  they and non-2xx answers are reported as errors.
    - yardsticks: GET /docs (FastAPI's own page: no token, no database) and GET /health (one `select 1`), the
      ceiling of this HTTP stack on this machine.
    - GET /api/v1/zones: the 3,000 zones as one GeoJSON FeatureCollection (live days of supply per item), once
      with 1 connection (the cost of one request), then at the read concurrency; then again while a thread here
      rewrites one zone's coverage row every 200 ms (as the streams worker's flushes do), so the map keeps
      being rebuilt.
    - GET /api/v1/rollup: every district and commune of the province with coverage and the missing-report flag
      (1 connection, then the read concurrency).
    - POST /api/v1/demand: one valid JSON body; no Idempotency-Key and no event_id, so the API gives every POST
      a fresh event id and each one is a separate demand.submitted on Kafka (acks=all) before its 202.
  Afterwards the demand topic's end offsets must have grown by exactly the number of 202 answers.
* the CPU used during each run by the API processes, hey, Kafka and PostgreSQL (all on the same machine).

Targets (issue #5): p99 of the reads at most 200 ms (the figure reported is the worst p99 of the three read runs at
the read concurrency), at least 1,000 demand submissions (202 answers) per second. The figures are printed and
written to bench/results/api.json; nothing here asserts on wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import platform
import random
import resource
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaConsumer
from kafka.structs import TopicPartition
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import shape
from sqlalchemy import create_engine, text

from bench.streams import busy_share, machine_ticks
from infra.processes import ManagedProcess, api_server, free_port
from infra.settings import ROOT, Settings
from services.adapters.db import migrate
from services.adapters.geodata import read_units
from services.adapters.kafka import delete_topics, ensure_topics, list_topics
from services.bootstrap import Container, bootstrap
from services.domain.access import Role
from services.domain.admin import AdminLevel, AdminUnit
from services.domain.events import AreaCoverage
from services.domain.geo import MultiPolygon
from services.domain.zones import RiskLevel, Zone
from services.topics import Topics, topic_specs

BENCH_DB = os.environ.get("GREENLANE_BENCH_API_DATABASE_URL",
                          "postgresql+psycopg://greenlane:greenlane@127.0.0.1:55432/greenlane_bench_api")
PROVINCE = "79"
TARGET_READ_P99_MS = 200.0
TARGET_SUBMISSIONS_PER_S = 1000.0
RESULTS = ROOT / "bench" / "results" / "api.json"
# One coordinator token sends every submission (30,000 at 1,000+/s): the API's per-token limit (60 a minute by
# default, api/ratelimit.py) is raised out of the way but still checked on each request, so its cost is measured.
UNTHROTTLED: dict[str, Any] = {"submit_rate_per_minute": 1e9, "submit_burst": 10_000_000}
LOGS = ROOT / ".local" / "bench"
ITEMS = ("rice", "noodles", "eggs", "vegetables", "pork", "cooking_oil", "water", "milk", "medicine_kit")
DEMAND_BODY = {"commune_code": "26740", "households": 120, "people": 410,
               "vulnerable": {"f0": 6, "elderly_alone": 9},
               "needs": [{"item_code": "rice", "quantity_per_day": 55.0},
                         {"item_code": "water", "quantity_per_day": 80.0}]}


def say(message: str) -> None:
    print(f"bench-api: {message}", flush=True)


# Set-up -----------------------------------------------------------------------------------------------------


def create_database(url: str) -> None:
    """The bench database with PostGIS, created as the postgres superuser when missing; then migrated."""
    name = url.rsplit("/", 1)[1]
    superuser = url.split("://", 1)[0] + "://postgres@" + url.split("@", 1)[1]
    admin = create_engine(superuser.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER greenlane'))
    admin.dispose()
    postgis = create_engine(superuser, isolation_level="AUTOCOMMIT")
    with postgis.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    postgis.dispose()
    migrate(url)


def hexagon(lon: float, lat: float, radius_m: float) -> ShapelyPolygon:
    dlat = radius_m / 111_320
    dlon = dlat / math.cos(math.radians(lat))
    return ShapelyPolygon([(lon + dlon * math.cos(a * math.pi / 3), lat + dlat * math.sin(a * math.pi / 3))
                           for a in range(6)])


def draw_zones(districts: list[AdminUnit], count: int, rng: random.Random, at: datetime) -> list[Zone]:
    """`count` small zones inside the district polygons, in proportion to population."""
    shapes = {u.code: shape(u.boundary.to_geojson()) for u in districts}  # type: ignore[union-attr]
    weights = [u.population or 100_000 for u in districts]
    zones = []
    for n in range(count):
        district = rng.choices(districts, weights)[0]
        polygon = shapes[district.code]
        minx, miny, maxx, maxy = polygon.bounds
        while True:
            lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            hexa = hexagon(lon, lat, rng.uniform(60, 300))
            if polygon.contains(hexa):
                break
        ring = tuple((round(x, 6), round(y, 6)) for x, y in hexa.exterior.coords)  # closed
        zones.append(Zone(f"bench-{district.code}-{n:04d}", f"Khu phong tỏa {n + 1} ({district.name})", district.code,
                          MultiPolygon(((ring,),)), RiskLevel(rng.randint(1, 4)), valid_from=at))
    return zones


def coverage_event(level: str, area_id: str, district: str, zone_id: str | None, households: int,
                   rng: random.Random, at: datetime) -> AreaCoverage:
    people = round(households * rng.uniform(3.0, 4.2))
    need = {i: round(people * rng.uniform(0.05, 0.6), 2) for i in ITEMS}
    stock = {i: round(q * rng.uniform(0, 8), 2) for i, q in need.items()}
    on_way = {i: round(q * rng.uniform(0, 2), 2) for i, q in need.items() if rng.random() < 0.3}
    days: dict[str, float | None] = {i: round((stock[i] + on_way.get(i, 0.0)) / q, 2) for i, q in need.items()}
    return AreaCoverage(event_id=uuid.uuid4().hex, occurred_at=at, level=level, area_id=area_id,
                        district_code=district, zone_id=zone_id, households=households, people=people,
                        vulnerable={"f0": rng.randint(0, households // 10 + 1),
                                    "elderly_alone": rng.randint(0, households // 8 + 1)},
                        need=need, stock=stock, on_way=on_way, days_of_supply=days,
                        last_report_at=at - timedelta(hours=rng.uniform(0, 40)), max_event_at=at)


def load(container: Container, settings: Settings, zones_wanted: int, seed: int) -> dict[str, Any]:
    """Units, zones, coverage and a coordinator token in the bench database; what was loaded."""
    started = time.monotonic()
    rng, now = random.Random(seed), datetime.now(UTC)
    units = read_units(settings.geodata_dir, (PROVINCE,))
    container.admin_units.upsert(units)
    with container.engine.begin() as conn:  # this database is the benchmark's own: start from empty state
        conn.execute(text("TRUNCATE zones, coverage, shortage_alerts, price_alerts, plan_requests"))
    districts = [u for u in units if u.level is AdminLevel.DISTRICT and u.boundary is not None]
    zones = draw_zones(districts, zones_wanted, rng, now)
    for zone in zones:
        container.zones.add(zone)
    events = [coverage_event("zone", z.zone_id, z.district_code, z.zone_id, rng.randint(20, 1500), rng, now)
              for z in zones]
    communes = [u for u in units if u.level is AdminLevel.COMMUNE]
    events += [coverage_event("commune", c.code, c.parent_code, None, rng.randint(500, 20_000), rng, now)
               for c in communes]
    events += [coverage_event("district", d.code, d.code, None, rng.randint(20_000, 300_000), rng, now)
               for d in units if d.level is AdminLevel.DISTRICT]
    for start in range(0, len(events), 500):
        container.projections.coverage(events[start:start + 500])
    token = container.tokens.issue(Role.COORDINATOR, PROVINCE, now, label="bench-api")
    return {"zones": len(zones), "districts_with_zones": len({z.district_code for z in zones}),
            "coverage_rows": len(events), "communes": len(communes), "setup_s": round(time.monotonic() - started, 1),
            "token": token, "zone_ids": [(z.zone_id, z.district_code) for z in zones]}


class CoverageChanges:
    """While running: one zone's coverage row rewritten every `every_s`, as the streams worker's flushes would."""

    def __init__(self, container: Container, zones: list[tuple[str, str]], every_s: float) -> None:
        self.container, self.zones, self.every_s = container, zones, every_s
        self.rng = random.Random(11)
        self.changes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CoverageChanges:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            zone_id, district = self.rng.choice(self.zones)
            self.container.projections.coverage([coverage_event(
                "zone", zone_id, district, zone_id, self.rng.randint(20, 1500), self.rng, datetime.now(UTC))])
            self.changes += 1


# Load generator ---------------------------------------------------------------------------------------------


def hey_path() -> str:
    result = subprocess.run(["bash", str(ROOT / "infra" / "scripts" / "hey.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"could not build hey:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Target:
    name: str
    path: str
    requests: int
    concurrency: int
    method: str = "GET"
    body: str | None = None
    token: str | None = None
    changes_every_ms: int | None = None  # rewrite a zone's coverage row this often during the run
    rate_per_s: float | None = None  # at most this many requests per second in all (hey -q is per connection)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def hey_command(hey: str, base: str, target: Target, requests: int) -> list[str]:
    command = [hey, "-n", str(requests), "-c", str(target.concurrency), "-t", "30", "-o", "csv", "-m", target.method]
    if target.token:
        command += ["-H", f"Authorization: Bearer {target.token}"]
    if target.body is not None:
        command += ["-T", "application/json", "-d", target.body]
    if target.rate_per_s:
        command += ["-q", f"{target.rate_per_s / target.concurrency:.3f}"]
    return [*command, base + target.path]


def run_hey(hey: str, base: str, target: Target, api_pids: set[int], warmup: int) -> dict[str, Any]:
    if warmup:
        subprocess.run(hey_command(hey, base, target, warmup), capture_output=True, check=True)
    requests = target.requests - target.requests % target.concurrency  # hey sends n // c per connection
    ticks, cpu_before, children_before = machine_ticks(), process_cpu(), children_cpu()
    started = time.monotonic()
    done = subprocess.run(hey_command(hey, base, target, requests), capture_output=True, text=True)
    wall = time.monotonic() - started
    cpu_after, (busy, stolen) = process_cpu(), busy_share(ticks, machine_ticks())
    hey_cpu = children_cpu() - children_before
    if done.returncode != 0:
        raise RuntimeError(f"hey failed on {target.path}: {done.stderr[-2000:]}")
    rows = list(csv.DictReader(io.StringIO(done.stdout.strip())))
    latencies = sorted(float(r["response-time"]) * 1000 for r in rows)
    statuses = Counter(int(r["status-code"]) for r in rows)
    starts = [float(r["offset"]) for r in rows]
    span = max(float(r["offset"]) + float(r["response-time"]) for r in rows) - min(starts) if rows else 0.0
    ok = sum(n for code, n in statuses.items() if 200 <= code < 300)
    figures: dict[str, Any] = {
        "method": target.method, "path": target.path.split("?")[0], "concurrency": target.concurrency,
        "requests_sent": requests, "answered": len(rows), "no_answer": requests - len(rows),
        "status_codes": {str(k): v for k, v in sorted(statuses.items())}, "non_2xx": len(rows) - ok,
        "seconds": round(span, 3), "requests_per_s": round(len(rows) / span, 1) if span else None,
        "ok_per_s": round(ok / span, 1) if span else None,
    }
    if latencies:
        figures["latency_ms"] = {"p50": round(percentile(latencies, 50), 1),
                                 "p95": round(percentile(latencies, 95), 1),
                                 "p99": round(percentile(latencies, 99), 1), "max": round(latencies[-1], 1),
                                 "mean": round(sum(latencies) / len(latencies), 1)}
    figures["cpu_cores_busy"] = {"hey": round(hey_cpu / wall, 2),
                                 **cores_by_kind(cpu_before, cpu_after, api_pids, wall)}
    figures["api_processes_cores_busy"] = sorted(  # how the connections spread over uvicorn's workers
        (round((cpu_after[p][2] - cpu_before[p][2]) / wall, 2) for p in api_pids if p in cpu_after and p in cpu_before),
        reverse=True)
    figures["machine_cpu_busy"], figures["machine_cpu_stolen"] = round(busy, 2), round(stolen, 3)
    return figures


# Machine ----------------------------------------------------------------------------------------------------


def process_cpu() -> dict[int, tuple[str, int, float]]:
    """pid → (command name, parent pid, CPU seconds used so far) of every process on the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                found[int(entry.name)] = (stat[stat.index("(") + 1:stat.rindex(")")], int(fields[1]),
                                          (int(fields[11]) + int(fields[12])) / tick)
    return found


def children_cpu() -> float:
    """CPU seconds of this process's finished children (hey exits before it can be read in /proc)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def descendants(root: int) -> set[int]:
    """A process and all its children (uvicorn's supervisor and its workers)."""
    parents = {pid: ppid for pid, (_, ppid, _) in process_cpu().items()}
    found, grown = {root}, True
    while grown:
        more = {pid for pid, ppid in parents.items() if ppid in found} - found
        found |= more
        grown = bool(more)
    return found


def cores_by_kind(before: dict[int, tuple[str, int, float]], after: dict[int, tuple[str, int, float]],
                  api_pids: set[int], seconds: float) -> dict[str, float]:
    used: defaultdict[str, float] = defaultdict(float)
    for pid, (name, _, total) in after.items():
        spent = total - before.get(pid, (name, 0, 0.0))[2]
        if spent > 0:
            kind = ("api" if pid in api_pids else "kafka (java)" if name == "java"
                    else "postgres" if name.startswith("postgres") else "bench (this process)"
                    if pid == os.getpid() else "other")
            used[kind] += spent
    return {kind: round(spent / seconds, 2) for kind, spent in sorted(used.items(), key=lambda kv: -kv[1])}


def topic_messages(bootstrap_servers: str, topic: str) -> int:
    """Messages on a topic: the sum of its partitions' end offsets (it starts empty)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return int(sum(consumer.end_offsets(partitions).values()))
    finally:
        consumer.close()


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# Main -------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zones", type=int, default=3000)
    parser.add_argument("--api-workers", type=int, default=os.cpu_count() or 1,
                        help="uvicorn worker processes (GREENLANE_API_WORKERS)")
    parser.add_argument("--read-requests", type=int, default=3000, help="requests per read endpoint")
    parser.add_argument("--read-concurrency", type=int, default=10)
    parser.add_argument("--demand-requests", type=int, default=30_000)
    parser.add_argument("--demand-concurrency", type=int, default=50)
    parser.add_argument("--health-requests", type=int, default=30_000)
    parser.add_argument("--change-ms", type=int, default=200,
                        help="how often a zone's coverage changes during the second zones run (the streams' flush)")
    parser.add_argument("--warmup", type=int, default=200, help="unrecorded requests before each run")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    hey = hey_path()
    run = uuid.uuid4().hex[:8]
    logs = LOGS / f"api-{run}"
    settings = Settings(database_url=BENCH_DB, topic_prefix=f"bench-api-{run}", api_port=free_port(),
                        api_workers=args.api_workers, **UNTHROTTLED)
    topics = Topics.with_prefix(settings.topic_prefix)
    say(f"run {run}: hey {hey}; PostGIS {BENCH_DB.rsplit('@', 1)[-1]}, Kafka {settings.kafka_bootstrap}, "
        f"topics {settings.topic_prefix}.*")
    create_database(BENCH_DB)
    ensure_topics(settings.kafka_bootstrap, topic_specs(settings.topic_partitions, settings.topic_prefix),
                  settings.topic_replication)
    container = bootstrap(settings, producer_name="bench")
    server: ManagedProcess | None = None
    try:
        loaded = load(container, settings, args.zones, args.seed)
        token, zone_ids = loaded.pop("token"), loaded.pop("zone_ids")
        say(f"loaded {loaded['zones']:,} zones in {loaded['districts_with_zones']} districts, "
            f"{loaded['coverage_rows']:,} coverage rows ({loaded['setup_s']} s); starting the API with "
            f"{args.api_workers} worker process(es)")
        server = api_server(settings, logs / "api.log")
        base = f"http://{settings.api_host}:{settings.api_port}"
        api_pids = descendants(server.process.pid)
        if args.api_workers > 1:  # uvicorn starts its workers after the first answers /health
            deadline = time.monotonic() + 30
            while len(api_pids) < args.api_workers + 1 and time.monotonic() < deadline:
                time.sleep(0.5)
                api_pids = descendants(server.process.pid)
        headers = {"Authorization": f"Bearer {token}"}
        zones_body = httpx.get(f"{base}/api/v1/zones", headers=headers, timeout=60).raise_for_status()
        rollup_rows = httpx.get(f"{base}/api/v1/rollup", headers=headers, timeout=60).raise_for_status().json()
        payload = {"zones_features": len(zones_body.json()["features"]), "zones_bytes": len(zones_body.content),
                   "rollup_rows": len(rollup_rows), "rollup_bytes": len(json.dumps(rollup_rows).encode())}
        say(f"GET /api/v1/zones: {payload['zones_features']:,} features, {payload['zones_bytes']:,} bytes; "
            f"GET /api/v1/rollup: {payload['rollup_rows']} rows")

        body = json.dumps(DEMAND_BODY)
        targets = [
            Target("yardstick: GET /docs (no database)", "/docs", args.health_requests, args.demand_concurrency),
            Target("yardstick: GET /health", "/health", args.health_requests, args.demand_concurrency),
            Target("GET /api/v1/zones, 1 connection", "/api/v1/zones", 50, 1, token=token),
            Target("GET /api/v1/rollup, 1 connection", "/api/v1/rollup", 200, 1, token=token),
            Target("GET /api/v1/zones", "/api/v1/zones", args.read_requests, args.read_concurrency, token=token),
            Target(f"GET /api/v1/zones, coverage changing every {args.change_ms} ms", "/api/v1/zones",
                   args.read_requests, args.read_concurrency, token=token, changes_every_ms=args.change_ms),
            Target("GET /api/v1/rollup", "/api/v1/rollup", args.read_requests, args.read_concurrency, token=token),
            Target("POST /api/v1/demand", "/api/v1/demand", args.demand_requests, args.demand_concurrency,
                   method="POST", body=body, token=token),
        ]
        runs: dict[str, dict[str, Any]] = {}
        kafka_check: dict[str, Any] = {}
        for target in targets:
            say(f"{target.name}: {target.requests:,} requests, {target.concurrency} connections")
            if target.method == "POST":
                subprocess.run(hey_command(hey, base, target, args.warmup), capture_output=True, check=True)
                before = topic_messages(settings.kafka_bootstrap, topics.demand)
                figures = run_hey(hey, base, target, api_pids, warmup=0)
                accepted = figures["status_codes"].get("202", 0)
                deadline, on_topic = time.monotonic() + 10, 0
                while time.monotonic() < deadline:  # 202 means the broker had it; allow for the metadata lag
                    on_topic = topic_messages(settings.kafka_bootstrap, topics.demand) - before
                    if on_topic >= accepted:
                        break
                    time.sleep(0.5)
                kafka_check = {"topic": topics.demand, "accepted_202": accepted, "new_messages_on_topic": on_topic,
                               "match": on_topic == accepted}
                figures["kafka"] = kafka_check
            elif target.changes_every_ms:
                with CoverageChanges(container, zone_ids, target.changes_every_ms / 1000) as changes:
                    figures = run_hey(hey, base, target, api_pids, warmup=args.warmup)
                figures["coverage_rows_rewritten"] = changes.changes
            else:
                figures = run_hey(hey, base, target, api_pids, warmup=args.warmup if target.concurrency > 1 else 5)
            runs[target.name] = figures
            lat = figures.get("latency_ms", {})
            say(f"  {figures['requests_per_s']} req/s, p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms, "
                f"p99 {lat.get('p99')} ms, max {lat.get('max')} ms; errors: {figures['no_answer']} unanswered, "
                f"{figures['non_2xx']} non-2xx; cores busy {figures['cpu_cores_busy']}, API processes "
                f"{figures['api_processes_cores_busy']}")
    finally:
        if server is not None:
            server.stop()
        delete_topics(settings.kafka_bootstrap,
                      [t for t in list_topics(settings.kafka_bootstrap) if t.startswith(settings.topic_prefix + ".")])
        with contextlib.suppress(Exception):
            container.publisher.close() if "publisher" in container.__dict__ else None
        container.engine.dispose()

    zones_run, rollup_run = runs["GET /api/v1/zones"], runs["GET /api/v1/rollup"]
    changing_run = runs[f"GET /api/v1/zones, coverage changing every {args.change_ms} ms"]
    demand_run = runs["POST /api/v1/demand"]
    reads_p99 = max(r["latency_ms"]["p99"] for r in (zones_run, changing_run, rollup_run))
    submissions = demand_run["ok_per_s"] or 0.0
    errors = sum(r["no_answer"] + r["non_2xx"] for r in runs.values())
    figures_out = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "args": vars(args), "load_generator": f"hey ({hey}), closed loop, keep-alive, CSV per request",
        "api": {"server": "uvicorn (uvloop, httptools)", "workers": args.api_workers,
                "log": str((logs / "api.log").relative_to(ROOT))},
        "database": BENCH_DB.rsplit("@", 1)[-1], "loaded": loaded, "payload": payload,
        "demand_body": DEMAND_BODY, "runs": runs, "kafka_check": kafka_check,
        "reads_p99_ms": reads_p99, "submissions_per_s": submissions, "errors_total": errors,
        "targets": {"reads_p99_ms_at_most": TARGET_READ_P99_MS,
                    "submissions_per_s_at_least": TARGET_SUBMISSIONS_PER_S},
        "reads_target_met": reads_p99 <= TARGET_READ_P99_MS,
        "submissions_target_met": submissions >= TARGET_SUBMISSIONS_PER_S,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures_out, indent=2, ensure_ascii=False) + "\n")
    print()
    for name, r in runs.items():
        lat = r.get("latency_ms", {})
        print(f"{name:52} c={r['concurrency']:<3} {r['answered']:>6} answers  {r['requests_per_s']:>8} req/s  "
              f"p50 {lat.get('p50'):>7} ms  p95 {lat.get('p95'):>7} ms  p99 {lat.get('p99'):>7} ms  "
              f"errors {r['no_answer'] + r['non_2xx']}")
    print(f"kafka: {kafka_check.get('accepted_202')} submissions answered 202, "
          f"{kafka_check.get('new_messages_on_topic')} new messages on {kafka_check.get('topic')}")
    print(f"targets: reads p99 <= {TARGET_READ_P99_MS:.0f} ms "
          f"{'met' if figures_out['reads_target_met'] else 'MISSED'} (zones {zones_run['latency_ms']['p99']} ms, "
          f"{changing_run['latency_ms']['p99']} ms with coverage changing, rollup {rollup_run['latency_ms']['p99']} "
          f"ms at {args.read_concurrency} connections); submissions >= "
          f"{TARGET_SUBMISSIONS_PER_S:,.0f}/s {'met' if figures_out['submissions_target_met'] else 'MISSED'}; "
          f"{errors} errors; written to {RESULTS.relative_to(ROOT)}")
    print(f"bench-api: reads p99 {reads_p99:.0f} ms, submissions {submissions:,.0f}/s")


if __name__ == "__main__":
    main()
