"""The workers' Prometheus pages on the real servers: a streams worker's /metrics on its faust web port and an
optimizer worker's on `optimizer_metrics_port` count what really went through them, and their consumer lag."""

import time
from collections import Counter
from dataclasses import replace
from datetime import time as clock_time

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from infra.processes import optimizer_worker, streams_worker
from services.adapters.db import migrate
from services.adapters.kafka import consumer_lag
from services.domain.events import PlanRequested
from services.domain.fleet import Vehicle
from services.domain.geo import Point
from services.domain.places import Depot
from services.domain.zones import RiskLevel, Zone
from services.lag_gauge import LagGauge
from tests.conftest import free_port, wait_until
from tests.integration.conftest import streams_of_their_own
from tests.integration.test_optimizer_worker import HOURS, NOW, coverage, plans_for, square
from tests.integration.traffic import Traffic

Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(response.text)
            for s in family.samples]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there is none)."""
    return sum(v for n, got, v in samples if n == name and labels.items() <= got.items())


def by_label(samples: Samples, name: str, label: str, **labels: str) -> dict[str, float]:
    return {got[label]: v for n, got, v in samples if n == name and labels.items() <= got.items()}


def settled_lag(url: str, group: str, topics: set[str], after: float) -> Samples | None:
    """The page once the group's lag, read after `after`, is zero on every one of `topics`."""
    samples = scrape(url)
    read_at = value(samples, "greenlane_consumer_lag_read_timestamp_seconds", group=group)
    lag = by_label(samples, "greenlane_consumer_lag", "topic", group=group)
    return samples if read_at > after and set(lag) == topics and not any(lag.values()) else None


@pytest.fixture
def mine(settings, tmp_path):
    """Settings with topics, an app id and a web port of their own, on the test database."""
    migrate(settings.database_url)
    with streams_of_their_own(settings, "metrics", tmp_path / "streams") as own:
        yield own


def test_a_streams_worker_counts_what_it_took_its_dead_letters_and_its_lag(mine, tmp_path):
    own, built = mine
    topics = built.topics
    traffic = Traffic(topics, seed=31)
    events = traffic.batch(400)
    worker = streams_worker(own, tmp_path / "streams.log")
    url = f"http://127.0.0.1:{own.streams_web_port}/metrics"
    try:
        Traffic.send(built.publisher, events)
        built.publisher.send_raw(topics.demand, b"760", b"{not json")
        # Every message counts as taken, a repeated event too (the ledger ignores the repeat), and the bad one.
        sent = Counter(topic for topic, _, _ in events) + Counter({topics.demand: 1})
        assert sum(sent.values()) == traffic.tally.sent + traffic.tally.duplicates + 1 and traffic.tally.duplicates

        def taken() -> Samples | None:
            samples = scrape(url)
            counted = by_label(samples, "greenlane_stream_events_total", "topic", agent="district")
            return samples if counted == dict(sent) else None

        samples = wait_until(taken, timeout_s=60, interval_s=0.5)
        counted_at = time.time()
        assert by_label(samples, "greenlane_stream_dead_letters_total", "topic") == {topics.demand: 1.0}
        assert value(samples, "greenlane_stream_dead_letters_total", field="value") == 1
        assert value(samples, "greenlane_stream_batch_events_sum", agent="district") == sum(sent.values())
        assert value(samples, "process_resident_memory_bytes") > 0

        samples = wait_until(lambda: settled_lag(url, own.streams_app_id, set(topics.streams_inputs), counted_at),
                             timeout_s=60, interval_s=0.5)
        # The demand reached PostGIS through coverage flushes, and nothing more was taken meanwhile.
        assert value(samples, "greenlane_coverage_rows_written_total") > 0
        assert value(samples, "greenlane_coverage_flush_seconds_count") > 0
        assert by_label(samples, "greenlane_stream_events_total", "topic", agent="district") == dict(sent)
    finally:
        worker.stop()


def test_an_optimizer_worker_counts_requests_plans_solve_time_dead_letters_and_its_lag(container, own, run_id,
                                                                                     tmp_path):
    settings, topics = own
    settings = settings.model_copy(update={"optimizer_metrics_port": free_port()})
    zone_id, district = f"metrics-{run_id}", "769"
    container.zones.add(Zone(zone_id, "Phường Thảo Điền", district, square(106.7320, 10.8030, 0.002),
                             RiskLevel.HIGH, valid_from=NOW))
    container.projections.coverage([replace(coverage(zone_id, 1200, 0.0), district_code=district)])
    depot = Depot(f"metrics-dep-{run_id}", "Kho Thủ Đức", Point(106.7500, 10.8000), district, HOURS)
    container.places.add_depots([depot])
    container.places.set_depot_stock(depot.depot_id, {"rice": 2000.0, "water": 10_000.0})
    container.places.add_vehicles([Vehicle(f"metrics-truck-{run_id}", "51C-77", 2000.0, 12.0, depot.depot_id,
                                           clock_time(6), clock_time(18), green_lane_permit=True,
                                           serves_district=district)])
    request = PlanRequested(event_id=f"metrics-req-{run_id}", occurred_at=NOW, district_code=district,
                            reasons=["shortage risk"])
    container.publisher.publish(topics.plan_requests, district, request)
    container.publisher.publish(topics.plan_requests, district, request)  # a redelivery
    container.publisher.send_raw(topics.plan_requests, district.encode(), b"{not json")
    # Before any worker has committed, the lag gauge shows the three messages waiting (read as the workers read it).
    registry = CollectorRegistry()
    LagGauge(registry, settings.optimizer_group,
             lambda: consumer_lag(settings.kafka_bootstrap, settings.optimizer_group, [topics.plan_requests])).refresh()
    assert registry.get_sample_value("greenlane_consumer_lag", {"group": settings.optimizer_group,
                                                                "topic": topics.plan_requests}) == 3
    worker = optimizer_worker(settings, tmp_path / "optimizer.log")
    url = f"http://127.0.0.1:{settings.optimizer_metrics_port}/metrics"
    try:
        def planned() -> Samples | None:
            samples = scrape(url)
            return samples if value(samples, "greenlane_plan_requests_handled_total", outcome="made") else None

        samples = wait_until(planned, timeout_s=60, interval_s=0.5)
        planned_at = time.time()
        (plan,) = plans_for(container.engine, district)
        assert plan["request_event_id"] == request.event_id and plan["stats"]["stops"] > 0  # it was routed
        assert value(samples, "greenlane_plan_requests_total") == 3
        handled = by_label(samples, "greenlane_plan_requests_handled_total", "outcome")
        # The repeat is answered by the stored plan, or folded into the same poll's newest request.
        assert handled.get("made") == 1 and handled.get("bad") == 1 and not handled.get("failed")
        assert handled.get("superseded", 0) + handled.get("stored_before", 0) == 1
        assert by_label(samples, "greenlane_plan_dead_letters_total", "field") == {"value": 1.0}
        assert value(samples, "greenlane_plan_solve_seconds_count", district=district) >= 1
        assert value(samples, "greenlane_plan_solve_seconds_sum", district=district) > 0
        wait_until(lambda: settled_lag(url, settings.optimizer_group, {topics.plan_requests}, planned_at),
                   timeout_s=60, interval_s=0.5)
    finally:
        worker.stop()
