"""A round trip through the real Kafka broker: topics, keys, envelope."""

import uuid
from datetime import UTC, datetime

from kafka import KafkaAdminClient, KafkaConsumer

from services.domain.demand import DemandReport
from services.domain.events import DemandSubmitted
from services.messages import decode
from services.topics import topic_specs


def test_topics_exist_with_their_partition_counts(container, settings):
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        described = {t["topic"]: len(t["partitions"]) for t in admin.describe_topics()}
    finally:
        admin.close()
    for spec in topic_specs(settings.topic_partitions, settings.topic_prefix):
        assert described[spec.name] == spec.partitions


def test_an_event_comes_back_as_it_was_sent_keyed_by_district(container, settings):
    event = DemandSubmitted(event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), district_code="769",
                            report=DemandReport(commune_code="26794", households=5, people=17))
    container.publisher.publish(container.topics.demand, event.district_code, event)
    consumer = KafkaConsumer(container.topics.demand, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=15000,
                             group_id=None)
    try:
        received = next(m for m in consumer if event.event_id.encode() in m.value)
    finally:
        consumer.close()
    assert received.key == b"769"
    assert decode(received.value) == event
