"""Fixtures shared by the integration tests: an API client with a coordinator's token, and topics of a test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from services.adapters.kafka import delete_topics, ensure_topics, list_topics
from services.bootstrap import bootstrap
from services.domain.access import Role
from services.topics import Topics, topic_specs


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
