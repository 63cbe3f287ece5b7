"""`greenlane dlq list | replay` on the real broker, each test on its own topics (no streams worker involved)."""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import dataclass

import pytest
from kafka import KafkaConsumer, TopicPartition

from infra.dlq import register, replays_topic
from infra.settings import get_settings
from services.adapters.kafka import KafkaPublisher, delete_topics, ensure_topics, list_topics
from services.dead_letter import dead_letter_record
from services.topics import Topics, topic_specs


@dataclass
class Refused:
    """A message the streams worker would have refused: where it came from and its bytes."""

    source: str
    key: bytes | None
    value: bytes
    field: str
    reason: str


@dataclass
class World:
    bootstrap: str
    prefix: str
    dead_letter: str
    demand: str
    other: str  # a second source topic
    publisher: KafkaPublisher

    def refuse(self, message: Refused, source_offset: int) -> None:
        """Put a dead-letter record on the topic, as the streams worker does (keyed by source topic)."""
        self.publisher.send_raw(self.dead_letter, message.source.encode(), dead_letter_record(
            reason=message.reason, field=message.field, source_topic=message.source, partition=0,
            offset=source_offset, key=message.key, value=message.value))


@pytest.fixture
def world(settings, monkeypatch):
    """Fresh topics under a unique prefix, and the CLI's settings pointing at them."""
    prefix = f"test-dlq-{uuid.uuid4().hex[:10]}"
    specs = topic_specs(4, prefix)
    topics = Topics.with_prefix(prefix)
    ensure_topics(settings.kafka_bootstrap, specs)
    other = next(s.name for s in specs if s.name not in (topics.demand, topics.dead_letter))
    monkeypatch.setenv("GREENLANE_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("GREENLANE_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    get_settings.cache_clear()
    publisher = KafkaPublisher(settings.kafka_bootstrap, producer_name="tests")
    yield World(settings.kafka_bootstrap, prefix, topics.dead_letter, topics.demand, other, publisher)
    publisher.close()
    get_settings.cache_clear()  # the environment is restored by monkeypatch; later readers see it again
    delete_topics(settings.kafka_bootstrap, [s.name for s in specs] + [replays_topic(prefix)])


@pytest.fixture
def refused(world):
    """Four refused messages on the dead-letter topic: two commune_code (two sources), one zone_id, one garbage."""
    run = uuid.uuid4().hex[:8]

    def envelope(n: int) -> bytes:
        return json.dumps({"event_id": f"dlq-{run}-{n}", "event_type": "demand.submitted", "schema_version": 1,
                           "payload": {"district_code": "760", "n": n}}).encode()

    messages = {
        "commune": Refused(world.demand, b"760", envelope(1), "commune_code", "unknown commune 99999"),
        "zone": Refused(world.demand, b"769", envelope(2), "zone_id", "unknown zone no-such-zone"),
        "other": Refused(world.other, b"761", envelope(3), "commune_code", "unknown commune 88888"),
        "garbage": Refused(world.demand, b"760", b"\xff not an envelope " + run.encode(), "value", "not JSON"),
    }
    for offset, message in enumerate(messages.values()):
        world.refuse(message, 100 + offset)
    return messages


def cli(capsys, *argv: str) -> str:
    """Run `greenlane dlq …` through argparse, as infra/cli.py will, and return what it printed."""
    parser = argparse.ArgumentParser(prog="greenlane")
    register(parser.add_subparsers(dest="command", required=True))
    capsys.readouterr()
    args = parser.parse_args(["dlq", *argv])
    args.run(args)
    return str(capsys.readouterr().out)


def messages(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) on a topic right now, read independently of infra.dlq."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=10000)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        expected = sum(consumer.end_offsets(partitions).values())  # fresh topics: they begin at offset 0
        found: list[tuple[bytes | None, bytes]] = []
        if expected == 0:
            return found
        consumer.seek_to_beginning()
        for message in consumer:
            found.append((message.key, message.value))
            if len(found) == expected:
                break
    finally:
        consumer.close()
    assert len(found) == expected, f"read {len(found)} of {expected} messages on {topic}"
    return found


def listed(capsys, *argv: str) -> list[dict]:
    return [json.loads(line) for line in cli(capsys, "list", "--json", *argv).splitlines()]


def position_of(capsys, message: Refused) -> str:
    return next(r["position"] for r in listed(capsys) if r["reason"] == message.reason)


def test_list_shows_every_refused_message_with_its_reason(world, refused, capsys):
    table = cli(capsys, "list")
    rows = table.strip().splitlines()
    assert rows[0].split()[:2] == ["position", "failed_at"]
    for message in refused.values():
        row = next(r for r in rows if message.reason in r)
        assert f"{message.source}@0/" in row and message.field in row and row.rstrip().endswith(" no")
    assert "4 record(s)" in rows[-1]

    records = listed(capsys)
    assert len(records) == 4 and {r["replayed"] for r in records} == {0}
    assert {r["reason"] for r in records} == {m.reason for m in refused.values()}
    assert len({r["position"] for r in records}) == 4  # positions are distinct "partition:offset"
    assert [r["reason"] for r in listed(capsys, "--field", "commune_code")] == \
           [refused["commune"].reason, refused["other"].reason]
    assert [r["reason"] for r in listed(capsys, "--topic", world.other)] == [refused["other"].reason]
    assert [r["reason"] for r in listed(capsys, "--limit", "1")] == [refused["garbage"].reason]  # the most recent
    assert "no matching records" in cli(capsys, "list", "--field", "nothing-like-this")


def test_a_dry_run_publishes_nothing(world, refused, capsys):
    out = cli(capsys, "replay", "--field", "commune_code", "--dry-run")
    assert out.count("would replay ") == 2 and "(dry run: nothing published)" in out
    assert messages(world.bootstrap, world.demand) == [] and messages(world.bootstrap, world.other) == []
    assert replays_topic(world.prefix) not in list_topics(world.bootstrap)  # not even created
    assert {r["replayed"] for r in listed(capsys)} == {0}


def test_replay_by_field_publishes_the_originals_once_and_again_on_request(world, refused, capsys):
    commune, other = refused["commune"], refused["other"]
    out = cli(capsys, "replay", "--field", "commune_code")
    assert out.splitlines()[-1] == "dlq replay: 2 replayed, 0 skipped"
    assert messages(world.bootstrap, world.demand) == [(commune.key, commune.value)]
    assert messages(world.bootstrap, world.other) == [(other.key, other.value)]
    assert {r["reason"]: r["replayed"] for r in listed(capsys)} == {
        commune.reason: 1, other.reason: 1, refused["zone"].reason: 0, refused["garbage"].reason: 0}

    second = cli(capsys, "replay", "--field", "commune_code")
    assert second.count("skipped ") == 2 and "already replayed" in second
    assert second.splitlines()[-1] == "dlq replay: 0 replayed, 2 skipped"
    assert len(messages(world.bootstrap, world.demand)) == 1 and len(messages(world.bootstrap, world.other)) == 1

    third = cli(capsys, "replay", "--field", "commune_code", "--again")
    assert third.splitlines()[-1] == "dlq replay: 2 replayed, 0 skipped"
    assert messages(world.bootstrap, world.demand) == [(commune.key, commune.value)] * 2
    assert messages(world.bootstrap, world.other) == [(other.key, other.value)] * 2
    assert "yes (2x)" in next(r for r in cli(capsys, "list").splitlines() if commune.reason in r)


def test_replay_by_position_and_event_id(world, refused, capsys):
    garbage, zone = refused["garbage"], refused["zone"]
    out = cli(capsys, "replay", "--position", position_of(capsys, garbage))
    assert out.splitlines()[-1] == "dlq replay: 1 replayed, 0 skipped"
    assert messages(world.bootstrap, world.demand) == [(garbage.key, garbage.value)]  # byte for byte

    zone_event = json.loads(zone.value)["event_id"]
    assert f"event_id={zone_event}" in cli(capsys, "replay", "--event-id", zone_event)
    assert sorted(messages(world.bootstrap, world.demand)) == sorted([(garbage.key, garbage.value),
                                                                      (zone.key, zone.value)])

    with pytest.raises(SystemExit) as exit_:
        cli(capsys, "replay", "--position", "0:9999")
    assert exit_.value.code == 1
    assert len(messages(world.bootstrap, world.demand)) == 2


def test_a_message_refused_again_comes_back_at_a_new_position_and_is_replayed_once_more(world, refused, capsys):
    zone = refused["zone"]
    cli(capsys, "replay", "--field", "zone_id")
    first = position_of(capsys, zone)
    world.refuse(zone, 200)  # the worker refused the replayed message again
    again = listed(capsys, "--field", "zone_id")
    assert [(r["position"] == first, r["replayed"]) for r in again] == [(True, 1), (False, 0)]
    out = cli(capsys, "replay", "--field", "zone_id")
    assert out.splitlines()[-1] == "dlq replay: 1 replayed, 1 skipped"
    assert messages(world.bootstrap, world.demand) == [(zone.key, zone.value)] * 2
