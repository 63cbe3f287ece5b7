"""Shared test settings: integration tests run on the real Kafka and PostGIS started by infra/scripts/up.sh."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from infra.processes import ManagedProcess, free_port, streams_worker

ROOT = Path(__file__).resolve().parent.parent
# Outside development the default signing secret is refused (infra/settings.py): every Settings the tests build,
# and every process they start, signs tokens with this run's random one.
os.environ.setdefault("GREENLANE_SECRET_KEY", secrets.token_urlsafe(32))
TEST_DB = os.environ.get("GREENLANE_TEST_DATABASE_URL",
                         "postgresql+psycopg://greenlane:greenlane@127.0.0.1:55432/greenlane_test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath) or "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def servers() -> None:
    """Start (or confirm) the local Kafka and PostGIS; fail, never skip, when they cannot start."""
    result = subprocess.run(["bash", str(ROOT / "infra" / "scripts" / "up.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"the local servers did not start:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def settings(servers: None, run_id: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from infra.settings import Settings

    return Settings(environment="test", database_url=TEST_DB, topic_prefix=f"test-{run_id}", topic_partitions=4,
                    streams_app_id=f"greenlane-test-{run_id}", streams_web_port=free_port(),
                    streams_data_dir=tmp_path_factory.mktemp("streams"),
                    secret_key=os.environ["GREENLANE_SECRET_KEY"])


def database_of_its_own(name: str) -> str:
    """A database `name` beside the test database (created once, with PostGIS), for tests that run processes of
    their own; returns its URL."""
    from sqlalchemy import create_engine

    admin = create_engine(TEST_DB.replace("greenlane:greenlane@", "postgres@").rsplit("/", 1)[0] + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f"CREATE DATABASE {name} OWNER greenlane"))
    admin.dispose()
    url = TEST_DB.rsplit("/", 1)[0] + f"/{name}"
    postgis = create_engine(url.replace("greenlane:greenlane@", "postgres@"), isolation_level="AUTOCOMMIT")
    with postgis.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    postgis.dispose()
    return url


@pytest.fixture(scope="session")
def isolated_database_url(servers: None) -> str:
    """A second database, for tests that run workers of their own beside the session's worker."""
    from services.adapters.db import migrate

    url = database_of_its_own("greenlane_isolated")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def container(settings):  # type: ignore[no-untyped-def]
    from services.adapters.db import migrate
    from services.adapters.geodata import read_units
    from services.adapters.kafka import ensure_topics
    from services.bootstrap import bootstrap
    from services.topics import topic_specs

    migrate(settings.database_url)
    ensure_topics(settings.kafka_bootstrap, topic_specs(settings.topic_partitions, settings.topic_prefix))
    built = bootstrap(settings, producer_name="tests")
    with built.engine.begin() as conn:  # each run starts from empty state and fresh topics
        conn.execute(text("TRUNCATE coverage, shortage_alerts, price_alerts, plan_requests, produce_offers, zones, "
                          "sales_points, checkpoints, vehicles, depots, plans, plan_stops, plan_unserved"))
    built.admin_units.upsert(read_units(settings.geodata_dir, ("79",)))
    yield built
    from services.adapters.kafka import delete_topics, list_topics

    mine = (settings.topic_prefix + ".", settings.streams_app_id + "-")
    delete_topics(settings.kafka_bootstrap, [t for t in list_topics(settings.kafka_bootstrap) if t.startswith(mine)])
    if "publisher" in built.__dict__:
        built.publisher.close()
    built.engine.dispose()


@pytest.fixture(scope="session")
def worker(settings, container, tmp_path_factory) -> Iterator[ManagedProcess]:  # type: ignore[no-untyped-def]
    running = streams_worker(settings, tmp_path_factory.mktemp("worker") / "worker.log")
    yield running
    running.stop()


def wait_until(predicate, timeout_s: float = 30.0, interval_s: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll until `predicate()` returns something truthy; return it, or fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s (last value: {value!r})")
        time.sleep(interval_s)
