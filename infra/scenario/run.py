"""Play a scenario through the whole system: Kafka, the streams worker, optimizer workers and the API run as
separate processes; the runner is the city around them (communes, sales points, drivers, the coordinator).

- Zone changes go on Kafka as ZoneDeclared/Redrawn/Lifted; demand, stock, status and prices go through the API
  with the scenario's event ids as Idempotency-Keys; depots, vehicles, checkpoints and sales points (the register
  stock reports are checked against) are loaded through the places repository before day 1, each zone's
  distribution point when it first reports.
- The clock is simulated: `speed` simulated seconds per wall-clock second (the scenario's `time_acceleration`
  unless overridden). Each simulated hour the world's households eat from their zone's stock (`world.py`).
- Planning rounds: the streams worker requests plans when a district's shortage risk appears or changes; the
  runner, as the coordinator, also asks for a plan of each district with an active zone every morning at 06:00
  (the simulated clock waits for those plans, so a slow machine changes timings, not outcomes), and approves
  every new proposal through the API.
- A drop arrives when its truck gets there: the stop's ETA on the simulated day the plan was approved, shifted
  by how late in the day it was approved (a plan approved after the curfew starts is driven the next morning).
  The runner then confirms it with the vehicle's driver token, stamped with the simulated time, as handed to the
  zone's distribution point (registered, empty, when the zone is declared): the confirmation adds the goods to
  that point's stock, and the point's snapshot each morning at 05:30 (before any truck drives, so the two never
  cross) counts what the households have left of them.
- The optimizer workers plan on the simulated clock (`GREENLANE_CLOCK_FILE`, written by the runner), so a plan
  made while trucks are out revises the district's approved plan from where they confirmed their last drops
  (decision 6): the runner drives the carried-over drops on at their new ETAs and brings back to the depot the
  goods of drops a revision left out. At each simulated midnight the depots' real stock (truth) is written back.
"""

from __future__ import annotations

import heapq
import itertools
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from infra.clock import write_clock
from infra.processes import ManagedProcess, api_server, free_port, optimizer_worker, streams_worker
from infra.settings import ROOT, Settings
from services.adapters.db import migrate
from services.adapters.geodata import read_units
from services.adapters.kafka import delete_topics, ensure_topics, list_topics
from services.bootstrap import Container, bootstrap
from services.domain.access import Role
from services.domain.events import ZoneDeclared, ZoneLifted, ZoneRedrawn
from services.domain.fleet import Vehicle
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, Depot, OpeningHours, SalesPoint, SalesPointKind
from services.domain.zones import RiskLevel
from services.planner import POLICIES
from services.topics import topic_specs

from .model import (
    DemandSubmission,
    DepotOutage,
    Event,
    PriceReport,
    SalesPointStatusChange,
    Scenario,
    StockReport,
    ZoneChange,
)
from .world import World

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING_HOUR = 6.0  # the coordinator's daily planning round
POLL_EVERY_H = 0.25  # the coordinator approves new proposals within a quarter of an hour (simulated)
RELIEF_REPORT_HOUR = 5.5  # zones' distribution points report what is left, before the round
CURFEW_HOUR = 18.0
PLAN_WAIT_S = 120.0  # how long the simulated clock waits for the morning's plans
PENDING_WAIT_S = 60.0  # ... and at most for any other plan asked for (then it goes on without it)
# Each district's newest plan request that no plan answers yet (the workers answer the newest per district).
PENDING_REQUESTS = text("""SELECT r.event_id FROM (SELECT DISTINCT ON (district_code) event_id, district_code
  FROM plan_requests ORDER BY district_code, requested_at DESC) r
WHERE NOT EXISTS (SELECT 1 FROM plans p WHERE p.request_event_id = r.event_id)""")


@dataclass
class Drop:
    plan_id: str
    stop_id: str
    vehicle_id: str
    zone_id: str
    district_code: str
    depot_id: str
    planned: dict[str, float]
    loaded: dict[str, float]
    approved_h: float  # simulated hours since day 1 00:00
    arrival_h: float
    window_end_h: float
    failed_reason: str | None = None
    confirmed_h: float | None = None
    status: int | None = None  # HTTP status of the confirmation
    delivery_plan_id: str = ""  # the plan that first sent it (a revision drives it on under its own plan_id)
    called_off: bool = False  # a revision left it out: the system failed it, the truck brings the goods back


@dataclass
class RunResult:
    """What happened in one run: the raw record the metrics are computed from."""

    run_id: str
    policy: str
    scenario: str
    days: int
    speed: float
    wall_s: float = 0.0
    sent: Counter[str] = field(default_factory=Counter)  # kind → accepted by the system
    refused: Counter[str] = field(default_factory=Counter)  # kind → refused (HTTP status ≥ 400)
    zone_changes: int = 0
    plan_requests: int = 0  # the runner's morning requests
    approvals: list[tuple[str, float]] = field(default_factory=list)  # plan id, simulated hour
    drops: list[Drop] = field(default_factory=list)
    samples: list[tuple[float, str, float, str]] = field(default_factory=list)  # hour, zone, min days, item
    unmet: dict[str, dict[str, float]] = field(default_factory=dict)  # zone → item → units (truth)
    submissions: dict[str, float] = field(default_factory=dict)  # batch → simulated hour submitted
    batch_zone_at_submission: dict[str, str | None] = field(default_factory=dict)
    vulnerable: dict[str, int] = field(default_factory=dict)  # batch → vulnerable households
    plans: list[dict[str, Any]] = field(default_factory=list)  # every stored plan, from the database at the end
    open_alerts_max: int = 0
    log_dir: str = ""
    processes: list[ManagedProcess] = field(default_factory=list, repr=False)  # left running (keep_running)
    dashboard: str = ""  # the dashboard's address with a coordinator token, when left running


class Progress:
    """One line on the terminal, redrawn in place."""

    def __init__(self, out: Any = None, enabled: bool = True) -> None:
        self.out = out or sys.stdout
        self.enabled = enabled
        self.last = 0.0

    def show(self, line: str, force: bool = False) -> None:
        if not self.enabled or (not force and time.monotonic() - self.last < 0.5):
            return
        self.last = time.monotonic()
        if self.out.isatty():
            self.out.write("\r\033[K" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def done(self) -> None:
        if self.enabled and self.out.isatty():
            self.out.write("\n")
            self.out.flush()


def run_settings(base: Settings, policy: str, run_id: str, speed: float, plan_time_limit_s: float) -> Settings:
    """A run's own topics, consumer groups and data directory; planning tuned to the simulated clock."""
    prefix = f"scn-{run_id}-{policy}"
    return base.model_copy(update={
        "streams_web_port": free_port(), "plan_time_limit_s": plan_time_limit_s,
        "topic_prefix": prefix, "streams_app_id": f"greenlane-{prefix}", "optimizer_group": f"{prefix}-optimizer",
        "streams_data_dir": ROOT / ".local" / "scenario" / prefix, "allocation_policy": policy,
        # a district is re-planned at most once per simulated hour on shortage risk
        "plan_request_debounce_s": max(1.0, 3600.0 / speed),
        # the optimizer workers plan on the simulated clock, which the runner writes here
        "clock_file": ROOT / ".local" / "scenario" / f"{prefix}.clock",
        "optimizer_heartbeat_file": ROOT / ".local" / "scenario" / f"{prefix}.alive",
        # the runner submits the whole city's reports with one coordinator token, far faster than people do
        "submit_rate_per_minute": 10_000_000.0, "submit_burst": 1_000_000})


def run(scenario: Scenario, settings: Settings, policy: str = "greenlane", speed: float | None = None,
        optimizers: int = 2, keep_running: bool = False, progress: Progress | None = None,
        run_id: str | None = None, plan_time_limit_s: float = 3.0) -> RunResult:
    """Play `scenario` under `policy` through real processes; returns the record of the run."""
    if policy not in POLICIES:  # the planner's allocation rules
        raise ValueError(f"unknown policy {policy!r} (known: {', '.join(POLICIES)})")
    speed = speed or scenario.meta.time_acceleration
    run_id = run_id or datetime.now(UTC).strftime("%m%d%H%M%S")
    mine = run_settings(settings, policy, run_id, speed, plan_time_limit_s)
    progress = progress or Progress()
    started = time.monotonic()
    _reset(mine)
    container = bootstrap(mine, producer_name="scenario")
    logs = ROOT / ".local" / "logs" / f"scenario-{run_id}-{policy}"
    result = RunResult(run_id, policy, scenario.meta.name, scenario.meta.days, speed, log_dir=str(logs))
    processes: list[ManagedProcess] = []
    try:
        _load_places(container, scenario)
        assert mine.clock_file is not None
        mine.clock_file.parent.mkdir(parents=True, exist_ok=True)
        write_clock(mine.clock_file, _at(date.fromisoformat(scenario.meta.start_date), 0.0))
        processes.append(streams_worker(mine, logs / "streams.log"))
        processes.append(api_server(mine, logs / "api.log"))
        for n in range(optimizers):  # each with a metrics page of its own
            processes.append(optimizer_worker(mine.model_copy(update={"optimizer_metrics_port": free_port()}),
                                              logs / f"optimizer-{n}.log"))
        player = Player(scenario, mine, container, result, speed, progress)
        player.play()
        result.plans = _stored_plans(container)
        result.unmet = {z: dict(items) for z, items in player.world.unmet.items()}
    finally:
        result.wall_s = time.monotonic() - started
        progress.done()
        if keep_running and sys.exc_info()[0] is None:
            result.processes = processes
            token = container.tokens.issue(Role.COORDINATOR, mine.province_code, datetime.now(UTC), "dashboard")
            result.dashboard = f"http://{mine.api_host}:{mine.api_port}/dashboard?token={token}"
        else:
            for process in reversed(processes):
                process.stop()
            drop_topics(mine)
        container.engine.dispose()
        if "publisher" in container.__dict__:
            container.publisher.close()
    return result


def _reset(settings: Settings) -> None:
    """Fresh topics for this run and empty projections, as the demo does."""
    migrate(settings.database_url)
    ensure_topics(settings.kafka_bootstrap, topic_specs(settings.topic_partitions, settings.topic_prefix))
    shutil.rmtree(settings.streams_data_dir, ignore_errors=True)
    container = bootstrap(settings)
    container.admin_units.upsert(read_units(settings.geodata_dir, (settings.province_code,)))
    with container.engine.begin() as conn:
        conn.execute(text("TRUNCATE coverage, shortage_alerts, price_alerts, plan_requests, produce_offers, zones, "
                          "sales_points, checkpoints, vehicles, depots, plans, plan_stops, plan_unserved, "
                          "delivery_confirmations"))
    container.engine.dispose()


def drop_topics(settings: Settings) -> None:
    """Remove a finished run's topics (its own prefix and its streams app's changelogs only: other runs may be
    playing beside it)."""
    mine = (settings.topic_prefix + ".", settings.streams_app_id + "-")
    names = [t for t in list_topics(settings.kafka_bootstrap) if t.startswith(mine)]
    if names:
        delete_topics(settings.kafka_bootstrap, names)


def _hhmm(value: str) -> clock:
    hours, minutes = value.split(":")
    return clock(int(hours) % 24, int(minutes))


def _load_places(container: Container, scenario: Scenario) -> None:
    places = container.places
    places.add_depots([Depot(d.depot_id, d.name, Point(d.lon, d.lat), d.district_code,
                             OpeningHours(_hhmm(d.opens), _hhmm(d.closes))) for d in scenario.depots])
    for d in scenario.depots:
        places.set_depot_stock(d.depot_id, {k: float(v) for k, v in d.initial_stock.items()})
    places.add_vehicles([Vehicle(v.vehicle_id, v.plate, v.capacity_kg, v.capacity_m3, v.depot_id,
                                 _hhmm(v.shift_start), _hhmm(v.shift_end), green_lane_permit=v.green_lane_permit,
                                 serves_district=v.district_code, trips=v.trips) for v in scenario.vehicles])
    places.add_checkpoints([Checkpoint(c.checkpoint_id, z.zone_id, c.name, Point(c.lon, c.lat), c.handover_minutes)
                            for z in scenario.zones for c in z.checkpoints])
    places.add_sales_points([SalesPoint(p.point_id, p.name, SalesPointKind(p.category), Point(p.lon, p.lat),
                                        p.commune_code, OpeningHours(_hhmm(p.opens), _hhmm(p.closes)))
                             for p in scenario.sales_points])


def _stored_plans(container: Container) -> list[dict[str, Any]]:
    with container.engine.connect() as conn:
        plans = [dict(r._mapping) for r in conn.execute(text(
            "SELECT plan_id, district_code, status, created_at, plan_day, stats, allocation, request_event_id "
            "FROM plans ORDER BY created_at"))]
        unserved: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in conn.execute(text("SELECT plan_id, order_id, reason, detail FROM plan_unserved")):
            unserved[r.plan_id].append({"order_id": r.order_id, "reason": r.reason, "detail": r.detail})
    for plan in plans:
        plan["unserved"] = unserved.get(plan["plan_id"], [])
    return plans


class Player:
    """The simulated clock and everything that happens on it."""

    def __init__(self, scenario: Scenario, settings: Settings, container: Container, result: RunResult,
                 speed: float, progress: Progress) -> None:
        self.scenario, self.settings, self.container, self.result = scenario, settings, container, result
        self.speed, self.progress = speed, progress
        self.world = World(scenario, container.items)
        self.base = f"http://{settings.api_host}:{settings.api_port}/api/v1"
        token = container.tokens.issue(Role.COORDINATOR, settings.province_code, datetime.now(UTC),
                                       "scenario coordinator")
        self.api = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"})
        self.drivers: dict[str, str] = {}
        self.queue: list[tuple[float, int, str, Any]] = []
        self.seq = itertools.count()
        self.end_h = scenario.meta.days * 24.0
        self.now_h = 0.0
        self.start_date = date.fromisoformat(scenario.meta.start_date)
        self.depots = {d.depot_id: d for d in scenario.depots}
        self.points = {p.point_id: p for p in scenario.sales_points}
        self.batches = {b.batch_id: b for b in scenario.households}
        self.zone_names = {z.zone_id: z for z in scenario.zones}
        self.loaded_today: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.seen_plans: set[str] = set()
        self.open_alerts = 0
        self.relief_commune: dict[str, str] = {}
        self.given_up: set[str] = set()  # plan requests no longer waited for
        self.stale: set[str] = set()  # proposals made before another plan of their district was approved

    # --- the clock ---------------------------------------------------------------------------------------------

    @property
    def sim_now(self) -> datetime:
        return _at(self.start_date, self.now_h)

    def _advance(self, hour: float) -> None:
        """Move the simulated clock (never back) and tell the optimizer workers."""
        if hour > self.now_h:
            self.now_h = hour
            assert self.settings.clock_file is not None
            write_clock(self.settings.clock_file, self.sim_now)

    def at(self, hour: float, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.queue, (hour, next(self.seq), kind, payload))

    def play(self) -> None:
        for event in self.scenario.timeline():
            self.at((event.day - 1) * 24 + event.hour, "event", event)
        for day in range(1, self.scenario.meta.days + 1):
            base = (day - 1) * 24.0
            for h in range(24):
                self.at(base + h + 1, "hour", day)
            for depot in self.scenario.depots:
                self.at(base + _hours(depot.opens), "inbound", depot.depot_id)
            self.at(base + RELIEF_REPORT_HOUR, "relief", day)
            self.at(base + MORNING_HOUR, "morning", day)
            if day > 1:
                self.at(base, "midnight", day)
        wall0 = time.monotonic()
        polled_h = -1.0
        while self.queue and self.queue[0][0] <= self.end_h:  # drops due after the last day are not played
            hour, _, kind, payload = self.queue[0]
            sim_now = (time.monotonic() - wall0) * self.speed / 3600.0
            if hour > sim_now:
                self._advance(min(sim_now, hour))
            if self.now_h - polled_h >= POLL_EVERY_H:  # by the simulated clock, however fast it runs
                polled_h = self.now_h
                self._poll_plans()
                wall0 += self._wait_for_plans()  # the simulated clock stands still meanwhile
                continue
            if hour > sim_now:
                time.sleep(min(0.05, max(0.0, (hour - sim_now) * 3600.0 / self.speed)))
                continue
            heapq.heappop(self.queue)
            self._advance(hour)
            paused = time.monotonic()
            self._handle(kind, payload)
            if kind == "morning":  # the clock waited for the planning round
                wall0 += time.monotonic() - paused
            self._show()
        self._poll_plans()
        self._show(force=True)

    def _show(self, force: bool = False) -> None:
        day = int(self.now_h // 24) + 1
        hour = self.now_h % 24
        r = self.result
        self.progress.show(
            f"[{r.policy}] day {min(day, r.days)}/{r.days} {int(hour):02d}:{int(hour % 1 * 60):02d} | events sent "
            f"{sum(r.sent.values()) + r.zone_changes} | plans stored {len(self.seen_plans)}, approved "
            f"{len(r.approvals)} | drops {sum(1 for d in r.drops if d.confirmed_h is not None)}/{len(r.drops)} | "
            f"open alerts {self.open_alerts}", force)

    def _handle(self, kind: str, payload: Any) -> None:
        handlers: dict[str, Callable[[Any], None]] = {
            "event": self._event, "hour": self._hour, "inbound": self._inbound, "relief": self._relief,
            "morning": self._morning, "midnight": self._midnight, "arrival": self._arrival,
            "outage_end": self._outage_end}
        handlers[kind](payload)

    @property
    def day(self) -> int:
        return min(self.scenario.meta.days, int(self.now_h // 24) + 1)

    # --- scenario events ----------------------------------------------------------------------------------------

    def _event(self, event: Event) -> None:
        if isinstance(event, ZoneChange):
            self._zone_change(event)
        elif isinstance(event, DemandSubmission):
            batch = self.batches[event.batch_id]
            body = {"commune_code": batch.commune_code, "households": batch.households, "people": batch.people,
                    "vulnerable": {g: n for g, n in batch.vulnerable.items() if n},
                    "location": {"lon": batch.lon, "lat": batch.lat}}
            if self._post("demand", "/demand", body, event.event_id):
                self.result.submissions[batch.batch_id] = self.now_h
                self.result.batch_zone_at_submission[batch.batch_id] = self.world.batch_zone.get(batch.batch_id)
                self.result.vulnerable[batch.batch_id] = min(batch.households, max(batch.vulnerable.values(),
                                                                                   default=0))
        elif isinstance(event, StockReport):
            quantities = self.world.snapshot(event.point_id, event.quantities)
            self._report_point(event.point_id, quantities, event.event_id, "stock")
        elif isinstance(event, SalesPointStatusChange):
            self.world.point_open[event.point_id] = event.status == "open"
            quantities = self.world.point_stock.get(event.point_id, {})
            self._report_point(event.point_id, quantities, event.event_id, "sales_point_status")
        elif isinstance(event, DepotOutage):
            end = (event.until_day - 1) * 24 + event.until_hour
            self.world.outage_until[event.depot_id] = end
            self.container.places.set_depot_stock(event.depot_id, {})
            self.at(end, "outage_end", event.depot_id)
            self.result.sent["depot_outage"] += 1
        elif isinstance(event, PriceReport):
            point = self.points.get(event.place_id)
            district = (self.container.admin.district_of(point.commune_code) if point
                        else self.depots[event.place_id].district_code)
            self._post("price", "/prices", {"district_code": district, "item_code": event.item_code,
                                            "place": event.place_id, "price_vnd": event.price_vnd}, event.event_id)

    def _zone_change(self, change: ZoneChange) -> None:
        zone = self.zone_names[change.zone_id]
        now = datetime.now(UTC)
        event: ZoneDeclared | ZoneRedrawn | ZoneLifted
        if change.action == "declare":
            assert change.polygon is not None
            event = ZoneDeclared(event_id=change.event_id, occurred_at=now, district_code=zone.district_code,
                                 zone_id=zone.zone_id, name=zone.name,
                                 boundary=MultiPolygon.from_geojson(change.polygon),
                                 risk_level=RiskLevel(change.risk_level))
        elif change.action == "lift":
            event = ZoneLifted(event_id=change.event_id, occurred_at=now, district_code=zone.district_code,
                               zone_id=zone.zone_id, version=change.version)
        else:
            assert change.polygon is not None
            event = ZoneRedrawn(event_id=change.event_id, occurred_at=now, district_code=zone.district_code,
                                zone_id=zone.zone_id, version=change.version,
                                boundary=MultiPolygon.from_geojson(change.polygon),
                                risk_level=RiskLevel(change.risk_level))
        self.container.publisher.publish(self.container.topics.zones, zone.district_code, event)
        self.world.apply_zone_change(change)
        self.result.zone_changes += 1
        if change.action == "declare":  # the zone's distribution point opens, empty
            self._report_relief(change.zone_id, f"relief-{change.zone_id}-open")

    def _report_point(self, point_id: str, quantities: dict[str, float], event_id: str, kind: str) -> None:
        point = self.points[point_id]
        body = {"point_id": point_id, "commune_code": point.commune_code,
                "location": {"lon": point.lon, "lat": point.lat}, "kind": point.category,
                "status": "open" if self.world.point_open.get(point_id, True) else "paused",
                "quantities": {k: round(v, 3) for k, v in quantities.items()}}
        self._post(kind, "/stock", body, event_id)

    def _post(self, kind: str, path: str, body: dict[str, Any], key: str | None,
              token: str | None = None) -> bool:
        headers = {"Idempotency-Key": key} if key else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in range(5):
            try:
                response = self.api.post(self.base + path, json=body, headers=headers)
                break
            except httpx.TransportError:  # the same key makes the retry safe
                if attempt == 4:
                    raise
                time.sleep(0.5 * (attempt + 1))
        if response.status_code >= 400:
            self.result.refused[kind] += 1
            print(f"\n{kind} {key}: HTTP {response.status_code} {response.text[:300]}", file=sys.stderr)
            return False
        self.result.sent[kind] += 1
        return True

    # --- the world's clock ----------------------------------------------------------------------------------------

    def _hour(self, day: int) -> None:
        self.world.consume(1.0, day)
        for zone_id in self.world.zones:
            days = self.world.days_of_supply(zone_id, day)
            if days:
                item = min(days, key=lambda k: days[k])
                self.result.samples.append((self.now_h, zone_id, days[item], item))

    def _inbound(self, depot_id: str) -> None:
        stock = self.world.depot_stock[depot_id]
        for item, q in self.depots[depot_id].daily_inbound.items():
            stock[item] = stock.get(item, 0.0) + q
        self._write_depot(depot_id)

    def _write_depot(self, depot_id: str) -> None:
        """The depot's stock as the system should see it: the truth plus what today's approved plans already
        loaded (their reservations are subtracted again); nothing during an outage."""
        if self.world.outage_until.get(depot_id, -1.0) > self.now_h:
            self.container.places.set_depot_stock(depot_id, {})
            return
        stock = dict(self.world.depot_stock[depot_id])
        for item, q in self.loaded_today[depot_id].items():
            stock[item] = stock.get(item, 0.0) + q
        self.container.places.set_depot_stock(depot_id, {k: round(v, 3) for k, v in stock.items()})

    def _outage_end(self, depot_id: str) -> None:
        self.world.outage_until.pop(depot_id, None)
        self._write_depot(depot_id)

    def _relief(self, day: int) -> None:
        """Each zone's distribution point reports the delivered goods it still holds."""
        for zone_id in list(self.world.zones):
            self._report_relief(zone_id, f"relief-{zone_id}-d{day:02d}")

    def _report_relief(self, zone_id: str, key: str) -> None:
        """The zone's distribution point (where drivers hand over its goods) reports what it holds."""
        zone = self.world.zones.get(zone_id)
        if zone is None:
            return
        lon, lat = zone.relief_spot
        if zone_id not in self.relief_commune:  # the zone's distribution point enters the register
            # ... under a commune of the district that declared the zone, whose trucks supply it
            self.relief_commune[zone_id] = self.world.commune_near(
                lon, lat, lambda c: self.container.admin.district_of(c) == zone.district_code)
            self.container.places.add_sales_points([SalesPoint(
                f"relief-{zone_id}", f"Điểm phát {zone_id}", SalesPointKind.MOBILE, Point(lon, lat),
                self.relief_commune[zone_id], OpeningHours(clock(6), clock(18)))])
        commune = self.relief_commune[zone_id]
        body = {"point_id": f"relief-{zone_id}", "commune_code": commune, "location": {"lon": lon, "lat": lat},
                "kind": "mobile", "status": "open",
                "quantities": {k: round(v, 3) for k, v in zone.relief.items()}}
        self._post("relief_stock", "/stock", body, key)

    def _midnight(self, day: int) -> None:
        """A new day: the depots' real stock is written back (yesterday's plans reserve nothing today)."""
        self.loaded_today.clear()
        for depot_id in self.depots:
            self._write_depot(depot_id)

    # --- planning rounds --------------------------------------------------------------------------------------

    def _morning(self, day: int) -> None:
        """The coordinator asks for a plan of each district with an active zone, and waits for them."""
        districts = sorted({z.district_code for z in self.world.zones.values()})
        asked_at = self.sim_now  # the workers stamp plans with the simulated time they planned at
        for district in districts:
            response = self.api.post(f"{self.base}/plans/requests",
                                     json={"district_code": district, "reason": f"morning round, day {day}"})
            response.raise_for_status()
            self.result.plan_requests += 1
        deadline = time.monotonic() + PLAN_WAIT_S
        waiting = set(districts)
        while waiting and time.monotonic() < deadline:
            with self.container.engine.connect() as conn:
                done = {r.district_code for r in conn.execute(text(
                    "SELECT DISTINCT district_code FROM plans WHERE created_at >= :t"), {"t": asked_at})}
            waiting -= done
            self._poll_plans()
            self._show()
            if waiting:
                time.sleep(0.3)
        self._poll_plans()

    def _wait_for_plans(self) -> float:
        """Wait (approving as they come) while a plan asked for is being made, so the outcome does not depend on
        how fast this machine plans; returns the wall seconds waited. A request unanswered for PENDING_WAIT_S
        (refused and dead-lettered, say) is not waited for again."""
        started = time.monotonic()
        while True:
            with self.container.engine.connect() as conn:
                pending = {r.event_id for r in conn.execute(PENDING_REQUESTS)} - self.given_up
            if not pending:
                return time.monotonic() - started
            if time.monotonic() - started > PENDING_WAIT_S:
                self.given_up |= pending
                return time.monotonic() - started
            time.sleep(0.2)
            self._poll_plans()

    def _poll_plans(self) -> None:
        """Approve every district's newest proposal as the coordinator; schedule its drops."""
        with self.container.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT DISTINCT ON (district_code) plan_id, district_code, created_at FROM plans "
                "WHERE status = 'proposed' ORDER BY district_code, created_at DESC")).all()
            self.seen_plans |= {r.plan_id for r in conn.execute(text("SELECT plan_id FROM plans"))}
            self.open_alerts = conn.execute(text(
                "SELECT count(*) FROM shortage_alerts WHERE status = 'open'")).scalar() or 0
        self.result.open_alerts_max = max(self.result.open_alerts_max, self.open_alerts)
        for row in rows:
            if row.plan_id in self.stale:
                continue
            response = self.api.post(f"{self.base}/plans/{row.plan_id}/approve")
            if response.status_code == 409:  # superseded meanwhile, or made before another approval: plan again
                if "ask for a new plan" in response.text:
                    self.stale.add(row.plan_id)
                    self.api.post(f"{self.base}/plans/requests", json={
                        "district_code": row.district_code, "reason": "the proposal was out of date"})
                continue
            response.raise_for_status()
            self.result.approvals.append((row.plan_id, self.now_h))
            plan = self.api.get(f"{self.base}/plans/{row.plan_id}")
            plan.raise_for_status()
            self._schedule(plan.json(), set(response.json().get("revises") or []))

    def _schedule(self, plan: dict[str, Any], revises: set[str]) -> None:
        """The plan's drops go on the road. A revision drives on the open drops it carried over (new ETAs, goods
        already loaded), and the open drops of the plans it revises that it left out come back to the depot."""
        day_start = datetime.combine(date.fromisoformat(str(plan["plan_day"])), clock(0), LOCAL)
        day = int(self.now_h // 24)
        hour = self.now_h - day * 24
        if hour >= CURFEW_HOUR:  # driven the next morning
            day, hour = day + 1, 0.0
        driving = {(d.delivery_plan_id, d.stop_id): d for d in self.result.drops
                   if d.confirmed_h is None and not d.called_off}
        for route in plan["routes"]:
            stops = [s for s in route["stops"]]
            if not stops:
                continue
            first = min(_tod(s["eta"], day_start) for s in stops)
            delay = max(0.0, hour - first)
            for stop in stops:
                if stop["kind"] != "drop" or not stop["zone_id"]:
                    continue
                if stop.get("delivery_plan_id"):  # carried over; confirmed meanwhile if no longer driving
                    carried = driving.pop((stop["delivery_plan_id"], stop["stop_id"]), None)
                    if carried is not None:
                        carried.plan_id, carried.vehicle_id = plan["plan_id"], route["vehicle_id"]
                        carried.arrival_h = max(day * 24.0 + _tod(stop["eta"], day_start) + delay, self.now_h)
                        self.at(carried.arrival_h, "arrival", carried)
                    continue
                depot_id = stop["order_id"].split(">")[0]
                depot = self.depots.get(depot_id)
                in_outage = self.world.outage_until.get(depot_id, -1.0) > self.now_h
                loaded = {} if in_outage or depot is None else self.world.load(depot_id, stop["items"])
                for item, q in loaded.items():
                    self.loaded_today[depot_id][item] += q
                arrival = day * 24.0 + _tod(stop["eta"], day_start) + delay
                window_end = day * 24.0 + (_hours(depot.closes) if depot else 20.0) + 4.0
                drop = Drop(plan["plan_id"], stop["stop_id"], route["vehicle_id"], stop["zone_id"],
                            plan["district_code"], depot_id, dict(stop["items"]), loaded, self.now_h,
                            max(arrival, self.now_h), window_end,
                            failed_reason="depot closed (outage)" if in_outage else
                            None if loaded else "nothing to load at the depot", delivery_plan_id=plan["plan_id"])
                self.result.drops.append(drop)
                self.at(drop.arrival_h, "arrival", drop)
        for drop in driving.values():
            if drop.plan_id in revises:  # called off by the revision: the goods go back to the depot
                drop.called_off = True
                drop.failed_reason = drop.failed_reason or f"left out of revision {plan['plan_id']}"
                stock = self.world.depot_stock[drop.depot_id]
                for item, q in drop.loaded.items():
                    stock[item] = stock.get(item, 0.0) + q

    def _arrival(self, drop: Drop) -> None:
        if drop.called_off or drop.confirmed_h is not None or drop.arrival_h != self.now_h:
            return  # called off, or re-timed by a revision (its new arrival is queued)
        token = self.drivers.get(drop.vehicle_id)
        if token is None:
            token = self.container.tokens.issue(Role.DRIVER, drop.vehicle_id, datetime.now(UTC), "scenario driver")
            self.drivers[drop.vehicle_id] = token
        body: dict[str, Any] = {"plan_id": drop.plan_id, "stop_id": drop.stop_id,
                                "occurred_at": self.sim_now.isoformat()}
        if drop.zone_id in self.relief_commune and drop.zone_id in self.world.zones:
            body["point_id"] = f"relief-{drop.zone_id}"  # handed to the zone's distribution point
        if drop.failed_reason:
            body["failed_reason"] = drop.failed_reason
        else:
            body["quantities"] = {k: round(v, 3) for k, v in drop.loaded.items()}
        key = f"{drop.plan_id}:{drop.stop_id}:confirm"
        if self._post("delivery", "/deliveries", body, key, token=token):
            drop.confirmed_h = self.now_h
            drop.status = 202
            if not drop.failed_reason:  # the confirmation adds the goods to the point; its next report, at
                self.world.deliver(drop.zone_id, drop.loaded)  # 05:30, counts what is left of them


def _hours(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return int(hours) + int(minutes) / 60.0


def _at(start: date, hours: float) -> datetime:
    """The simulated moment `hours` after the scenario's first local midnight."""
    return datetime.combine(start, clock(0), LOCAL) + timedelta(hours=hours)


def _tod(eta: str | datetime, day_start: datetime) -> float:
    """Hours from the plan day's local midnight."""
    moment = datetime.fromisoformat(eta) if isinstance(eta, str) else eta
    return (moment - day_start).total_seconds() / 3600.0
