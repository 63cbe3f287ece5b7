"""Fixtures shared by the integration tests: an API client with a coordinator's token, and topics of a test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from services.adapters.kafka import delete_topics, ensure_topics, list_topics
from services.bootstrap import bootstrap
from services.domain.access import Role
from services.topics import Topics, topic_specs
from tests.conftest import free_port


@pytest.fixture(scope="module")
def client(settings, container, worker) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The API (with a container of its own: the app closes it on shutdown) called as the province's coordinator,
    with the session's streams worker running."""
    token = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC), "tests")
    with TestClient(create_app(bootstrap(settings, producer_name="api")),
                    headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


@pytest.fixture
def own(settings) -> Iterator[tuple[Any, Topics]]:  # type: ignore[no-untyped-def]
    """Settings with topics and an optimizer group of their own, so plan requests from the session's streams worker
    (other tests' demand) do not reach the optimizer workers a test starts."""
    prefix = f"own-{uuid.uuid4().hex[:8]}"
    mine = settings.model_copy(update={"topic_prefix": prefix, "optimizer_group": f"{prefix}-optimizer",
                                       "plan_time_limit_s": 2.0})
    ensure_topics(settings.kafka_bootstrap, topic_specs(settings.topic_partitions, prefix))
    yield mine, Topics.with_prefix(prefix)
    delete_topics(settings.kafka_bootstrap, [n for n in list_topics(settings.kafka_bootstrap)
                                             if n.startswith(prefix + ".")])


@contextmanager
def streams_of_their_own(settings: Any, name: str, data_dir: Path, **update: Any) -> Iterator[tuple[Any, Any]]:
    """Settings with topics, a streams app id and a web port of their own (the topics and the app's changelogs are
    removed afterwards), and a container built on them; `update` overrides further settings."""
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"topic_prefix": f"{name}-{run}", "streams_app_id": f"greenlane-{name}-{run}",
                                      "streams_web_port": free_port(), "streams_data_dir": data_dir, **update})
    ensure_topics(own.kafka_bootstrap, topic_specs(own.topic_partitions, own.topic_prefix))
    built = bootstrap(own, producer_name="tests")
    try:
        yield own, built
    finally:
        built.publisher.close()
        built.engine.dispose()
        delete_topics(own.kafka_bootstrap, [t for t in list_topics(own.kafka_bootstrap)
                                            if t.startswith((own.topic_prefix + ".", own.streams_app_id + "-"))])
