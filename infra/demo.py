"""`make demo`, first version: generated demand for Hồ Chí Minh City pushed through API → Kafka → faust → PostGIS."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from kafka import KafkaConsumer
from shapely.geometry import shape
from sqlalchemy import text

from infra.demo_planning import approve_and_hand_out, load_fleet, request_and_print_plans
from infra.processes import api_server, optimizer_worker, streams_worker
from infra.scenario.shapes import point_in
from infra.settings import ROOT, Settings
from services.adapters.db import migrate
from services.adapters.geodata import read_units
from services.adapters.kafka import delete_topics, ensure_topics, list_topics
from services.bootstrap import bootstrap
from services.domain.access import Role
from services.domain.admin import AdminLevel, AdminUnit
from services.domain.events import StockReported, ZoneDeclared, ZoneRedrawn
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, SalesPointKind
from services.domain.zones import RiskLevel
from services.topics import topic_specs

# Two zones drawn by risk, not along borders: one red zone straddling Quận 1 and Quận 3, one orange in Quận 8.
ZONES = [
    ("z-ben-thanh", "Khu phong tỏa Bến Thành – Phạm Ngũ Lão", "760", RiskLevel.VERY_HIGH,
     [(106.6885, 10.7665), (106.6985, 10.7690), (106.7010, 10.7760), (106.6930, 10.7815), (106.6860, 10.7770),
      (106.6885, 10.7665)]),
    ("z-q8-rach-ong", "Khu cách ly Rạch Ông, Quận 8", "776", RiskLevel.HIGH,
     [(106.6860, 10.7400), (106.6960, 10.7410), (106.6950, 10.7490), (106.6870, 10.7485), (106.6860, 10.7400)]),
]
API = httpx.Client(timeout=30)  # the demo's calls carry a coordinator token issued at its start
VULNERABLE_SHARE = {"elderly_alone": 0.04, "poor": 0.08, "f0": 0.03, "f1": 0.06, "disabled": 0.02,
                    "small_children": 0.12}


def run_demo(settings: Settings, households: int = 6000, seed: int = 2021) -> None:
    """Run the slice end to end and print what happened."""
    started = time.monotonic()
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    demo = settings.model_copy(update={"topic_prefix": f"demo-{run}", "streams_app_id": f"greenlane-demo-{run}",
                                       "streams_data_dir": ROOT / ".local" / "demo" / run,
                                       # one coordinator token posts every submission, 8 at a time
                                       "submit_rate_per_minute": 1e9, "submit_burst": 1_000_000})
    print(f"== Greenlane demo {run}: Kafka {demo.kafka_bootstrap}, PostGIS {demo.database_url.split('@')[-1]}")
    _reset(demo)
    container = bootstrap(demo, producer_name="demo")
    units = read_units(demo.geodata_dir, ("79",))
    districts = {u.code: u for u in units if u.level is AdminLevel.DISTRICT}
    communes = [u for u in units if u.level is AdminLevel.COMMUNE]
    token = container.tokens.issue(Role.COORDINATOR, demo.province_code, datetime.now(UTC), "demo coordinator")
    API.headers["Authorization"] = f"Bearer {token}"
    _declare_zones(container)
    load_fleet(container)
    logs = ROOT / ".local" / "logs"
    worker = streams_worker(demo, logs / "demo-streams.log")
    api = api_server(demo, logs / "demo-api.log")
    optimizer = optimizer_worker(demo.model_copy(update={"plan_time_limit_s": 5.0}), logs / "demo-optimizer.log")
    base = f"http://{demo.api_host}:{demo.api_port}/api/v1"
    try:
        print(f"-- streams worker pid {worker.process.pid}, API pid {api.process.pid} and optimizer worker pid "
              f"{optimizer.process.pid} are up "
              f"({time.monotonic() - started:.1f}s)")
        submissions = _generate(random.Random(seed), communes, districts, households)
        sent_at = time.monotonic()
        statuses = _post_all(base, submissions)
        print(f"-- posted {len(submissions)} demand submissions ({sum(s['households'] for s in submissions)} "
              f"households) in {time.monotonic() - sent_at:.1f}s: {dict(statuses)}")
        retry = API.post(f"{base}/demand", json=submissions[0]["body"],
                           headers={"Idempotency-Key": submissions[0]["key"]}, timeout=10)
        print(f"-- a retry of the first submission with the same Idempotency-Key: HTTP {retry.status_code} "
              "(counted once)")
        bad = API.post(f"{base}/demand", json={"commune_code": "26740", "households": 5, "people": 2}, timeout=10)
        print(f"-- a malformed submission: HTTP {bad.status_code} {bad.json()['detail'][0]['loc']} "
              f"{bad.json()['detail'][0]['msg']}")
        unknown = API.post(f"{base}/demand", timeout=10, json={"commune_code": "26740", "households": 3,
                                                                 "people": 9, "zone_id": "z-does-not-exist"})
        print(f"-- a submission naming an unknown zone: HTTP {unknown.status_code}, then dead-lettered by the "
              "stream")
        points = _report_stock(container, random.Random(seed + 1), communes,
                               {code: shape(d.boundary.to_geojson()) for code, d in districts.items() if d.boundary})
        print(f"-- {points} sales points reported their stock on {container.topics.stock}")
        expected = sum(s["households"] for s in submissions)
        rows = _wait_for_coverage(base, expected, timeout_s=120)  # the unknown-zone report never lands
        print(f"-- the coverage picture holds all {expected} households after {time.monotonic() - sent_at:.1f}s")
        _print_totals(rows, districts, submissions)
        _print_zones(base)
        _redraw(container, base)
        planned = request_and_print_plans(container, sorted({z[2] for z in ZONES}))
        if planned:
            approve_and_hand_out(API, base, planned[0])
        dead = _dead_letters(demo, container.topics.dead_letter, expected=1)
        for record in dead:
            print(f"-- dead letter: field={record['field']} reason={record['reason']!r} "
                  f"event_id={record['event_id']}")
    finally:
        optimizer.stop()
        api.stop()
        worker.stop()
        container.engine.dispose()
        if "publisher" in container.__dict__:
            container.publisher.close()
    print(f"== demo finished in {time.monotonic() - started:.1f}s; logs in {logs}")


def _reset(settings: Settings) -> None:
    """Fresh topics and projections for this run; topics of earlier demo runs are removed."""
    old = [t for t in list_topics(settings.kafka_bootstrap) if t.startswith(("demo-", "greenlane-demo-"))]
    if old:
        delete_topics(settings.kafka_bootstrap, old)
    migrate(settings.database_url)
    ensure_topics(settings.kafka_bootstrap, topic_specs(settings.topic_partitions, settings.topic_prefix))
    container = bootstrap(settings)
    with container.engine.begin() as conn:
        conn.execute(text("TRUNCATE coverage, shortage_alerts, price_alerts, plan_requests, produce_offers, zones, "
                          "checkpoints, vehicles, depots, plans, plan_stops, plan_unserved"))
    container.engine.dispose()


def _declare_zones(container: Any) -> None:
    """Zones are declared as events on Kafka; the streams worker records them in PostGIS and its index."""
    for zone_id, name, district, risk, ring in ZONES:
        boundary = MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [[list(p) for p in ring]]})
        container.publisher.publish(container.topics.zones, district, ZoneDeclared(
            event_id=f"declare-{zone_id}", occurred_at=datetime.now(UTC), district_code=district, zone_id=zone_id,
            name=name, boundary=boundary, risk_level=risk))
        print(f"-- zone {zone_id}: {name} (risk {int(risk)}, {risk.colour}) declared on {container.topics.zones}")
    container.places.add_checkpoints([Checkpoint("cp-ben-thanh-1", "z-ben-thanh", "Chốt Lê Lợi",
                                                 Point(106.6985, 10.7720), handover_minutes=20)])


def _report_stock(container: Any, rng: random.Random, communes: list[AdminUnit],
                  shapes: dict[str, Any]) -> int:
    """Two sales points per ward report a snapshot: about four days of rice for the ward's reported people,
    less inside the red zone, where supply lines are cut."""
    events = []
    red = shape({"type": "Polygon", "coordinates": [[list(p) for p in ZONES[0][4]]]})
    for commune in communes:
        if commune.parent_code not in shapes:
            continue
        for n in range(2):
            in_red = commune.parent_code == "760" and n == 0
            spot = _point_in(rng, red if in_red else shapes[commune.parent_code])
            days = 0.5 if in_red else rng.uniform(2.0, 6.0)
            quantities = {"rice": round(days * 30 * rng.uniform(0.8, 1.2), 1), "water": round(days * 150, 1),
                          "noodles": round(days * 70, 1), "eggs": round(days * 60, 1)}
            events.append((commune.parent_code, StockReported(
                event_id=f"stock-{commune.code}-{n}", occurred_at=datetime.now(UTC), district_code=commune.parent_code,
                point_id=f"sp-{commune.code}-{n}", commune_code=commune.code,
                location=Point(spot["lon"], spot["lat"]), kind=SalesPointKind.MARKET_STALL if n else
                SalesPointKind.SUPERMARKET, quantities=quantities)))
    container.publisher.publish_many(container.topics.stock, events)
    return len(events)


def _generate(rng: random.Random, communes: list[AdminUnit], districts: dict[str, AdminUnit],
              households: int) -> list[dict[str, Any]]:
    """Seeded submissions: batches of 5–40 households per ward, weighted by district population."""
    per_district = Counter(c.parent_code for c in communes)
    weights = [(districts[c.parent_code].population or 100_000) / per_district[c.parent_code] for c in communes]
    shapes = {code: shape(d.boundary.to_geojson()) for code, d in districts.items() if d.boundary}
    zone_shapes = {z[0]: shape({"type": "Polygon", "coordinates": [[list(p) for p in z[4]]]}) for z in ZONES}
    zone_for_district = {z[2]: z[0] for z in ZONES}
    result: list[dict[str, Any]] = []
    total = 0
    while total < households:
        commune = rng.choices(communes, weights)[0]
        size = rng.randint(5, 40)
        people = sum(rng.choice((1, 2, 3, 3, 4, 4, 5, 6)) for _ in range(size))
        vulnerable = {g: n for g, share in VULNERABLE_SHARE.items() if (n := _binomial(rng, size, share))}
        body: dict[str, Any] = {"commune_code": commune.code, "households": size, "people": people,
                                "vulnerable": vulnerable}
        if commune.parent_code in zone_for_district and rng.random() < 0.5:
            body["location"] = _point_in(rng, zone_shapes[zone_for_district[commune.parent_code]])
        elif commune.parent_code in shapes and rng.random() < 0.3:
            body["location"] = _point_in(rng, shapes[commune.parent_code])
        result.append({"body": body, "key": str(uuid.UUID(int=rng.getrandbits(128))), "households": size,
                       "district": commune.parent_code})
        total += size
    return result


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _point_in(rng: random.Random, polygon: Any) -> dict[str, float]:
    lon, lat = point_in(rng, polygon)
    return {"lon": lon, "lat": lat}


def _post_all(base: str, submissions: list[dict[str, Any]]) -> Counter[int]:
    with httpx.Client(timeout=30, headers=API.headers) as client, ThreadPoolExecutor(max_workers=8) as pool:
        def post(s: dict[str, Any]) -> int:
            return client.post(f"{base}/demand", json=s["body"], headers={"Idempotency-Key": s["key"]}).status_code

        return Counter(pool.map(post, submissions))


def _wait_for_coverage(base: str, households: int, timeout_s: float) -> list[dict[str, Any]]:
    """District rows once they add up to every household sent (and stock has arrived)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows: list[dict[str, Any]] = API.get(f"{base}/coverage", params={"level": "district"}, timeout=30).json()
        if (sum(r["households"] for r in rows) >= households and all(r["stock"] for r in rows)) \
                or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def _print_zones(base: str) -> None:
    deadline = time.monotonic() + 60  # the zone stage and the alert sink run a moment behind the communes
    while time.monotonic() < deadline and not all(
            API.get(f"{base}/coverage", params={"level": "zone", "area_id": z[0]}, timeout=10).json() for z in ZONES):
        time.sleep(0.5)
    time.sleep(1.0)
    print("zones (households placed by point-in-polygon against the worker's zone index):")
    for zone_id, name, *_ in ZONES:
        rows = API.get(f"{base}/coverage", params={"level": "zone", "area_id": zone_id}, timeout=10).json()
        if rows:
            r = rows[0]
            print(f"  {zone_id:16} {name:42} households={r['households']:5} rice days of supply="
                  f"{_days(r['days_of_supply'].get('rice'))}")
    alerts = API.get(f"{base}/alerts/shortages", timeout=10).json()
    print(f"open shortage alerts: {len(alerts)}")
    for a in alerts[:8]:
        print(f"  {a['zone_id']:16} {a['item_code']:12} {_days(a['current_days_of_supply'])} days now, "
              f"{_days(a['days_of_supply'])} when opened (threshold {a['threshold_days']})")


def _redraw(container: Any, base: str) -> None:
    """Narrow the red zone to its northern half: its households move out, the district keeps every one."""
    zone_id, _, district, _, ring = ZONES[0]
    lats = [p[1] for p in ring]
    middle = (min(lats) + max(lats)) / 2
    lons = [p[0] for p in ring]
    north = [[min(lons), middle], [max(lons), middle], [max(lons), max(lats)], [min(lons), max(lats)],
             [min(lons), middle]]
    before = API.get(f"{base}/coverage", params={"level": "district", "area_id": district}, timeout=10).json()[0]
    inside = API.get(f"{base}/coverage", params={"level": "zone", "area_id": zone_id}, timeout=10).json()[0]
    container.publisher.publish(container.topics.zones, district, ZoneRedrawn(
        event_id=f"redraw-{zone_id}-2", occurred_at=datetime.now(UTC), district_code=district, zone_id=zone_id,
        version=2, boundary=MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [north]}),
        risk_level=RiskLevel.VERY_HIGH))
    deadline = time.monotonic() + 30
    zone: dict[str, Any] = {}
    while time.monotonic() < deadline:
        time.sleep(0.5)
        rows = API.get(f"{base}/coverage", params={"level": "zone", "area_id": zone_id}, timeout=10).json()
        zone = rows[0] if rows else {}
        if zone and zone["households"] != inside["households"]:
            break
    after = API.get(f"{base}/coverage", params={"level": "district", "area_id": district}, timeout=10).json()[0]
    print(f"-- zone {zone_id} narrowed (version 2): {inside['households']} → {zone.get('households')} households "
          f"inside;"
          f" Quận 1 still counts {after['households']} households (before: {before['households']})")


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _print_totals(rows: list[dict[str, Any]], districts: dict[str, AdminUnit],
                  submissions: list[dict[str, Any]]) -> None:
    sent: dict[str, int] = defaultdict(int)
    for s in submissions:
        sent[s["district"]] += s["households"]
    print(f"\n{'district':24} {'households':>10} {'(sent)':>7} {'people':>8} {'F0 hh':>6} {'rice kg/day':>12} "
          f"{'rice stock':>10} {'days':>5}")
    for r in sorted(rows, key=lambda r: districts[r["area_id"]].name):
        print(f"{districts[r['area_id']].name:24} {r['households']:>10} {sent[r['area_id']]:>7} {r['people']:>8} "
              f"{r['vulnerable'].get('f0', 0):>6} {r['need'].get('rice', 0.0):>12.1f} "
              f"{r['stock'].get('rice', 0.0):>10.1f} {_days(r['days_of_supply'].get('rice')):>5}")
    total_hh = sum(r["households"] for r in rows)
    print(f"{'total':24} {total_hh:>10} {sum(sent.values()):>7}")
    outcome = "every accepted household counted exactly once" if total_hh == sum(sent.values()) else \
        f"MISMATCH: sent {sum(sent.values())}, counted {total_hh}"
    print(f"\nresult: {outcome}\n")


def _dead_letters(settings: Settings, topic: str, expected: int) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest",
                             group_id=None, consumer_timeout_ms=20000)
    records: list[dict[str, Any]] = []
    try:
        for message in consumer:
            records.append(json.loads(message.value))
            if len(records) >= expected:
                break
    finally:
        consumer.close()
    return records
