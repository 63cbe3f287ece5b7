"""Load (issue 7, point 2): demand submissions through the real API at the rate `make bench-api` measured, for about
20 s, with a streams worker folding them: every 202 counted exactly once, no 5xx, and the backlog gone soon after.

A real load generator (hey, driven and parsed by bench/api.py) against the API and the streams worker as processes
of their own, on topics and a database (greenlane_load) of this test's own. Latency and the rate achieved are
printed; only correctness and a failure timeout are asserted.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bench.api import DEMAND_BODY, RESULTS, Target, descendants, hey_path, run_hey, topic_messages
from infra.processes import api_server, streams_worker
from services.adapters.db import migrate
from services.adapters.geodata import read_units
from services.adapters.kafka import consumer_lag, delete_topics, ensure_topics, list_topics
from services.bootstrap import bootstrap
from services.domain.access import Role
from services.topics import topic_specs
from tests.conftest import TEST_DB, database_of_its_own, free_port, wait_until

DURATION_S = 20
CONCURRENCY = 50
LAG_TIMEOUT_S = 120  # a failure timeout, not a target
DISTRICT, COMMUNE = "760", str(DEMAND_BODY["commune_code"])
HOUSEHOLDS = int(DEMAND_BODY["households"])  # type: ignore[call-overload]
# The per-token submission limits (a token's bucket of POSTs) are for callers; this test is one token sending
# for thousands of communes, so it opens them wide.
NO_LIMITS = {"submit_rate_per_minute": 10_000_000.0, "submit_burst": 10_000_000}


def measured_rate() -> float:
    """Submissions per second `make bench-api` last measured (bench/results/api.json), else 1,000."""
    try:
        return float(json.loads(RESULTS.read_text())["submissions_per_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1000.0


@pytest.fixture
def loaded(settings, tmp_path) -> Iterator[tuple[Any, Any]]:  # type: ignore[no-untyped-def]
    """Settings with topics, an app id and a database of their own (projections empty, admin units loaded): a new
    database per run, since runs of this test side by side must not empty each other's projection."""
    run = uuid.uuid4().hex[:8]
    url = database_of_its_own(f"greenlane_load_{run}")
    migrate(url)
    own = settings.model_copy(update={
        "database_url": url, "topic_prefix": f"load-{run}", "streams_app_id": f"load-{run}",
        "streams_web_port": free_port(), "streams_data_dir": tmp_path / "streams", "api_port": free_port(),
        "api_workers": 2, **NO_LIMITS})
    ensure_topics(own.kafka_bootstrap, topic_specs(own.topic_partitions, own.topic_prefix))
    container = bootstrap(own, producer_name="tests")
    with container.engine.begin() as conn:
        conn.execute(text("TRUNCATE coverage, shortage_alerts, price_alerts, plan_requests"))
    container.admin_units.upsert(read_units(own.geodata_dir, (own.province_code,)))
    yield own, container
    container.engine.dispose()
    admin = create_engine(TEST_DB.replace("greenlane:greenlane@", "postgres@").rsplit("/", 1)[0] + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "greenlane_load_{run}" WITH (FORCE)'))
    admin.dispose()
    delete_topics(own.kafka_bootstrap, [t for t in list_topics(own.kafka_bootstrap) if t.startswith(f"load-{run}")])


def households(container: Any, level: str, area_id: str) -> int:
    rows = container.projections.coverage_rows(level=level, area_id=area_id)
    return int(rows[0]["households"]) if rows else 0


def test_sustained_submissions_are_each_counted_once_and_the_backlog_clears(loaded, tmp_path: Path):
    own, container = loaded
    rate = measured_rate()
    worker = streams_worker(own, tmp_path / "streams.log")
    api = None
    try:
        api = api_server(own, tmp_path / "api.log")
        token = container.tokens.issue(Role.COORDINATOR, own.province_code, datetime.now(UTC), "load test")
        target = Target("POST /api/v1/demand", "/api/v1/demand", round(rate * DURATION_S), CONCURRENCY,
                        method="POST", body=json.dumps(DEMAND_BODY), token=token, rate_per_s=rate)
        figures = run_hey(hey_path(), f"http://{own.api_host}:{own.api_port}", target,
                          descendants(api.process.pid), warmup=0)
        stopped = time.monotonic()
        latency = figures.get("latency_ms", {})
        print(f"\nload: asked {rate:,.0f}/s for {DURATION_S} s ({figures['requests_sent']:,} submissions, "
              f"{CONCURRENCY} connections); achieved {figures['requests_per_s']}/s over {figures['seconds']} s; "
              f"p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms, p99 {latency.get('p99')} ms, max "
              f"{latency.get('max')} ms; statuses {figures['status_codes']}, {figures['no_answer']} unanswered; "
              f"cores busy {figures['cpu_cores_busy']}")

        accepted = figures["status_codes"].get("202", 0)
        assert not [code for code in figures["status_codes"] if code.startswith("5")], figures["status_codes"]
        assert figures["no_answer"] == 0 and accepted == figures["requests_sent"], figures["status_codes"]

        lags: list[dict[str, int]] = []

        def drained() -> bool:
            lags.append(consumer_lag(own.kafka_bootstrap, own.streams_app_id, list(container.topics.streams_inputs)))
            return not any(lags[-1].values())

        try:
            wait_until(drained, timeout_s=LAG_TIMEOUT_S, interval_s=0.5)
        except AssertionError:
            raise AssertionError(f"consumer lag not back to 0 within {LAG_TIMEOUT_S} s after the load: {lags[-1]}\n"
                                 f"{(tmp_path / 'streams.log').read_text(errors='replace')[-3000:]}") from None
        print(f"load: consumer lag back to 0 {time.monotonic() - stopped:.1f} s after the load stopped "
              f"(largest seen after it: {max(sum(lag.values()) for lag in lags):,})")

        assert topic_messages(own.kafka_bootstrap, container.topics.demand) == accepted  # none lost, none extra
        expected = accepted * HOUSEHOLDS
        try:  # lag 0 means folded; the coverage rows follow within a flush
            wait_until(lambda: households(container, "district", DISTRICT) == expected, timeout_s=30)
        except AssertionError:
            raise AssertionError(f"district {DISTRICT} shows {households(container, 'district', DISTRICT):,} "
                                 f"households, {accepted:,} submissions of {HOUSEHOLDS} accepted") from None
        assert households(container, "commune", COMMUNE) == expected
    finally:
        if api is not None:
            api.stop()
        worker.stop()
