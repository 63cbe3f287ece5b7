"""Kafka on kafka-python: topic administration and a publisher that waits for the broker's ack."""

from __future__ import annotations

import contextlib
import logging
import socket
import time

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError

from services.domain.events import Event
from services.messages import encode
from services.topics import TopicSpec

log = logging.getLogger(__name__)


def ensure_topics(bootstrap: str, specs: list[TopicSpec], replication: int = 1, timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; returns the names created. Idempotent."""
    admin = _admin(bootstrap, timeout_s)
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            new = [NewTopic(s.name, num_partitions=s.partitions, replication_factor=replication,
                            topic_configs=_configs(s, replication)) for s in missing]
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently by another process
                admin.create_topics(new, timeout_ms=int(timeout_s * 1000))
        return [s.name for s in missing]
    finally:
        admin.close()


def _configs(spec: TopicSpec, replication: int) -> dict[str, str]:
    configs = {"cleanup.policy": "compact"} if spec.compacted else {"retention.ms": str(spec.retention_ms)}
    if replication >= 3:  # with acks=all, an acknowledged event is then on two brokers at least
        configs["min.insync.replicas"] = "2"
    return configs


def list_topics(bootstrap: str) -> list[str]:
    admin = _admin(bootstrap, 30.0)
    try:
        return sorted(admin.list_topics())
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = _admin(bootstrap, 30.0)
    try:
        present = [n for n in names if n in set(admin.list_topics())]
        if present:
            admin.delete_topics(present)
    finally:
        admin.close()


def wait_for_broker(bootstrap: str, timeout_s: float = 30.0) -> None:
    """Block until the first bootstrap server accepts TCP connections, or raise NoBrokersAvailable."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise NoBrokersAvailable(f"no Kafka broker answers at {bootstrap}") from None
            time.sleep(0.5)


def consumer_lag(bootstrap: str, group: str, topics: list[str]) -> dict[str, int]:
    """Per topic, how many messages the consumer group has not committed yet (end offset - committed offset, a
    partition with no commit counting from its start). The figure operators watch: zero when a group keeps up."""
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    admin = _admin(bootstrap, 30.0)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="greenlane-lag", enable_auto_commit=False)
    try:
        committed = admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        starts = consumer.beginning_offsets(partitions)
        ends = consumer.end_offsets(partitions)
        lag: dict[str, int] = {t: 0 for t in topics}
        for tp in partitions:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else starts[tp]
            lag[tp.topic] += max(0, ends[tp] - position)
        return lag
    finally:
        consumer.close()
        admin.close()

def _admin(bootstrap: str, timeout_s: float) -> KafkaAdminClient:
    wait_for_broker(bootstrap, timeout_s)
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="greenlane-admin")


class KafkaPublisher:
    """Publishes events keyed by district; `publish` returns only once the broker has the event."""

    def __init__(self, bootstrap: str, producer_name: str = "greenlane", linger_ms: int = 2) -> None:
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=linger_ms,
                                       retries=5, enable_idempotence=True)
        self._name = producer_name

    def publish(self, topic: str, key: str, event: Event) -> None:
        future = self._producer.send(topic, key=key.encode(), value=encode(event, self._name))
        try:
            future.get(timeout=30)
        except KafkaError:
            log.exception("publish to %s failed for event %s", topic, event.event_id)
            raise

    def publish_many(self, topic: str, keyed: list[tuple[str, Event]]) -> None:
        """Send a batch and wait for every ack."""
        futures = [self._producer.send(topic, key=k.encode(), value=encode(e, self._name)) for k, e in keyed]
        self._producer.flush()
        for future in futures:
            future.get(timeout=30)

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None) -> tuple[int, int]:
        """Send bytes as they are (tools and tests that need malformed messages); returns (partition, offset)."""
        sent = self._producer.send(topic, key=key, value=value).get(timeout=30)
        return sent.partition, sent.offset

    def close(self) -> None:
        self._producer.close()
