"""`greenlane dlq`: list the dead-letter topic and replay refused messages to their source topics, once.

Every replay is recorded on `<prefix>.dead-letter-replays`, keyed by the dead-letter record's position
("partition:offset"), so a second replay of the same record is skipped unless `--again` is given. Replaying is
safe: consumers de-duplicate by event_id, and a message that is refused again lands on the dead-letter topic again,
at a new position.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.dead_letter import original_bytes
from services.topics import TopicSpec

if TYPE_CHECKING:
    from infra.settings import Settings

log = logging.getLogger(__name__)

REPLAYS_SUFFIX = "dead-letter-replays"
READ_TIMEOUT_S = 30.0
# kafka-python refuses network frames over 1,000,000 bytes by default, less than one record near the broker's 1 MB
# limit (a dead letter keeps up to 600 kB of the original, 800 kB in base64): room for a whole fetch.
DLQ_FRAME_BYTES = 64 * 1024 * 1024
REASON_WIDTH = 48


def replays_topic(prefix: str) -> str:
    """The topic recording which dead-letter records were replayed."""
    return f"{prefix}.{REPLAYS_SUFFIX}"


def replays_spec(name: str) -> TopicSpec:
    """The replays topic: one partition (a small, ordered log of operator actions), kept forever."""
    return TopicSpec(name, 1, "dead-letter position (partition:offset)",
                     "dead-letter records re-published to their source topic, one record per replay")


# ---------------------------------------------------------------------------------------------------- pure parts


@dataclass(frozen=True, order=True)
class Position:
    """Where a record sits on the dead-letter topic."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


def parse_position(text: str) -> Position:
    """'2:17' → Position(2, 17); raises argparse.ArgumentTypeError otherwise (so argparse reports it)."""
    partition, sep, offset = text.strip().partition(":")
    try:
        if not sep:
            raise ValueError(text)
        position = Position(int(partition), int(offset))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a dead-letter position PARTITION:OFFSET: {text!r}") from None
    if position.partition < 0 or position.offset < 0:
        raise argparse.ArgumentTypeError(f"a position is never negative: {text!r}")
    return position


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic, as written by services/dead_letter.py."""

    position: Position
    record: dict[str, Any]

    @property
    def source_topic(self) -> str | None:
        value = self.record.get("source_topic")
        return value if isinstance(value, str) else None

    @property
    def source(self) -> str:
        return f"{self.record.get('source_topic')}@{self.record.get('source_partition')}/" \
               f"{self.record.get('source_offset')}"

    @property
    def field(self) -> str:
        return str(self.record.get("field") or "")

    @property
    def reason(self) -> str:
        return str(self.record.get("reason") or "")

    @property
    def failed_at(self) -> str:
        return str(self.record.get("failed_at") or "")

    @property
    def event_id(self) -> str | None:
        value = self.record.get("event_id")
        return value if isinstance(value, str) else None

    @property
    def key(self) -> bytes | None:
        """The original key (kept as UTF-8 text by the dead-letter record)."""
        value = self.record.get("key")
        return value.encode() if isinstance(value, str) else None

    @property
    def original(self) -> bytes | None:
        return original_bytes(self.record)


def decode_dead_letter(partition: int, offset: int, value: bytes | None) -> DeadLetter | None:
    """A dead-letter record from its bytes; None (logged) when it is not a JSON object."""
    try:
        record = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict):
        log.warning("dead-letter record %s:%s is not a JSON object; ignored", partition, offset)
        return None
    return DeadLetter(Position(partition, offset), record)


@dataclass(frozen=True)
class Selection:
    """Which dead-letter records an operator means; empty criteria select everything."""

    source_topic: str | None = None
    field: str | None = None
    event_id: str | None = None
    positions: frozenset[Position] = frozenset()

    def matches(self, dead: DeadLetter) -> bool:
        return ((self.source_topic is None or dead.source_topic == self.source_topic)
                and (self.field is None or dead.field == self.field)
                and (self.event_id is None or dead.event_id == self.event_id)
                and (not self.positions or dead.position in self.positions))


def select(records: Iterable[DeadLetter], selection: Selection, limit: int | None = None) -> list[DeadLetter]:
    """The matching records, oldest first (by failed_at, then position); with a limit, the most recent ones."""
    chosen = sorted((r for r in records if selection.matches(r)), key=lambda r: (r.failed_at, r.position))
    if limit is not None:
        chosen = chosen[-limit:] if limit > 0 else []
    return chosen


def missing_positions(records: Iterable[DeadLetter], selection: Selection) -> list[Position]:
    """Positions asked for by name that are not on the dead-letter topic."""
    present = {r.position for r in records}
    return sorted(p for p in selection.positions if p not in present)


Replays = dict[Position, list[dict[str, Any]]]


def decode_replays(messages: Iterable[tuple[bytes | None, bytes | None]]) -> Replays:
    """Replay records (key "partition:offset", JSON value) grouped by the dead-letter position they replayed."""
    replays: Replays = {}
    for key, value in messages:
        try:
            position = parse_position((key or b"").decode())
            record = json.loads(value or b"")
        except (argparse.ArgumentTypeError, ValueError, UnicodeDecodeError):
            log.warning("unreadable replay record with key %r; ignored", key)
            continue
        replays.setdefault(position, []).append(record if isinstance(record, dict) else {})
    return replays


def replay_record(dead: DeadLetter, dead_letter_topic: str, *, again: bool, replayed_at: datetime) -> bytes:
    """What the replays topic keeps for one replay."""
    return json.dumps({
        "dead_letter_topic": dead_letter_topic,
        "dead_letter_partition": dead.position.partition,
        "dead_letter_offset": dead.position.offset,
        "source_topic": dead.source_topic,
        "event_id": dead.event_id,
        "field": dead.field,
        "reason": dead.reason,
        "replayed_at": replayed_at.isoformat(),
        "again": again,
    }, ensure_ascii=False).encode()


@dataclass
class ReplayPlan:
    """The records to re-publish and the ones left alone, each with why."""

    replay: list[DeadLetter] = field(default_factory=list)
    skipped: list[tuple[DeadLetter, str]] = field(default_factory=list)
    missing: list[Position] = field(default_factory=list)


def plan_replay(selected: Iterable[DeadLetter], replays: Replays, *, again: bool) -> ReplayPlan:
    """Replay each selected record once; already replayed ones only with `again`; unreplayable ones never."""
    plan = ReplayPlan()
    for dead in selected:
        if dead.source_topic is None:
            plan.skipped.append((dead, "no source topic in the record"))
        elif dead.original is None:
            plan.skipped.append((dead, "no original value to replay"))
        elif dead.record.get("original_truncated"):
            plan.skipped.append((dead, f"the record keeps only the start of the original "
                                       f"({dead.record.get('original_size')} bytes); it is whole at {dead.source}"))
        elif dead.position in replays and not again:
            times = len(replays[dead.position])
            last = replays[dead.position][-1].get("replayed_at", "?")
            plan.skipped.append((dead, f"already replayed ({times}x, last {last}); --again to replay anyway"))
        else:
            plan.replay.append(dead)
    return plan


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters, with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:max(width - 1, 0)] + "…"


def _when(failed_at: str) -> str:
    """ISO timestamp → 'YYYY-MM-DD HH:MM:SS' (UTC) for the table; unparsable text is shown as it is."""
    try:
        moment = datetime.fromisoformat(failed_at)
    except ValueError:
        return failed_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def replayed_label(position: Position, replays: Replays) -> str:
    times = len(replays.get(position, []))
    return "no" if times == 0 else "yes" if times == 1 else f"yes ({times}x)"


TABLE_HEADER = ("position", "failed_at (UTC)", "source", "field", "reason", "event_id", "replayed")


def format_table(records: Sequence[DeadLetter], replays: Replays, reason_width: int = REASON_WIDTH) -> str:
    """A plain-text table, one dead-letter record per row."""
    rows = [TABLE_HEADER] + [
        (str(r.position), _when(r.failed_at), r.source, r.field, shorten(r.reason, reason_width),
         r.event_id or "-", replayed_label(r.position, replays))
        for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def json_line(dead: DeadLetter, replays: Replays) -> str:
    """One dead-letter record as a JSON line: its position, the record itself, and its replays."""
    return json.dumps({"partition": dead.position.partition, "offset": dead.position.offset,
                       "position": str(dead.position), **dead.record,
                       "replayed": len(replays.get(dead.position, [])),
                       "replays": replays.get(dead.position, [])}, ensure_ascii=False)


def format_plan(plan: ReplayPlan, *, dry_run: bool) -> str:
    """What was (or, in a dry run, would be) replayed and skipped."""
    verb = "would replay" if dry_run else "replayed"
    lines = [f"{verb:12} {d.position!s:<9}  → {d.source_topic} key={_key_text(d.key)} "
             f"event_id={d.event_id or '-'}  ({d.field}: {shorten(d.reason, REASON_WIDTH)})" for d in plan.replay]
    lines += [f"{'skipped':12} {d.position!s:<9}  {why}" for d, why in plan.skipped]
    lines += [f"{'not found':12} {p!s:<9}  no such record on the dead-letter topic" for p in plan.missing]
    summary = f"{len(plan.replay)} {verb}, {len(plan.skipped)} skipped"
    if plan.missing:
        summary += f", {len(plan.missing)} not found"
    if dry_run:
        summary += " (dry run: nothing published)"
    return "\n".join([*lines, f"dlq replay: {summary}"])


def _key_text(key: bytes | None) -> str:
    return "-" if key is None else key.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------------- Kafka I/O


def read_topic(bootstrap: str, topic: str, timeout_s: float = READ_TIMEOUT_S) -> list[Any]:
    """Every record of `topic` from the beginning to the end offsets taken at the start (never waits for more).

    A topic that does not exist reads as empty (and is not created). Raises TimeoutError when the end cannot be
    reached within `timeout_s`.
    """
    from kafka import KafkaConsumer, TopicPartition  # imported here: the CLI starts without loading Kafka

    from services.adapters.kafka import wait_for_broker

    wait_for_broker(bootstrap, timeout_s)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             allow_auto_create_topics=False, receive_message_max_bytes=DLQ_FRAME_BYTES,
                             request_timeout_ms=int(timeout_s * 1000) + 1000,
                             client_id="greenlane-dlq")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        if not partitions:
            return []
        consumer.assign(partitions)
        begin = consumer.beginning_offsets(partitions)
        end = consumer.end_offsets(partitions)
        remaining = {tp: end[tp] for tp in partitions if end[tp] > begin[tp]}
        for tp in partitions:
            consumer.seek(tp, begin[tp])
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end within {timeout_s}s "
                                   f"(still to read: {', '.join(str(tp.partition) for tp in remaining)})")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records.extend(m for m in batch if m.offset < end[tp])
            for tp in list(remaining):
                position = consumer.position(tp, timeout_ms=1000)
                if position is not None and position >= remaining[tp]:
                    del remaining[tp]
        return sorted(records, key=lambda m: (m.partition, m.offset))
    finally:
        consumer.close()


def read_dead_letters(bootstrap: str, dead_letter_topic: str, timeout_s: float = READ_TIMEOUT_S) -> list[DeadLetter]:
    """The dead-letter topic as it is now."""
    decoded = (decode_dead_letter(m.partition, m.offset, m.value) for m in read_topic(bootstrap, dead_letter_topic,
                                                                                       timeout_s))
    return [d for d in decoded if d is not None]


def read_replays(bootstrap: str, replays_topic_name: str, timeout_s: float = READ_TIMEOUT_S) -> Replays:
    """The replays recorded so far, by dead-letter position."""
    return decode_replays((m.key, m.value) for m in read_topic(bootstrap, replays_topic_name, timeout_s))


def list_dead_letters(bootstrap: str, dead_letter_topic: str, replays_topic_name: str, selection: Selection,
                      limit: int | None = None) -> tuple[list[DeadLetter], Replays]:
    """The selected dead-letter records (the most recent `limit`) and the replays recorded for them."""
    records = select(read_dead_letters(bootstrap, dead_letter_topic), selection, limit)
    return records, read_replays(bootstrap, replays_topic_name)


def replay(bootstrap: str, dead_letter_topic: str, replays_topic_name: str, selection: Selection, *,
           again: bool = False, dry_run: bool = False, replication: int = 1) -> ReplayPlan:
    """Re-publish the selected originals, with their original keys, to their source topics; record each replay.

    The original goes out first and its replay is recorded after the broker has it, so a crash in between means
    at worst one more replay later (harmless: consumers de-duplicate by event_id). A dry run publishes nothing
    and creates nothing.
    """
    from services.adapters.kafka import KafkaPublisher, ensure_topics

    dead_letters = read_dead_letters(bootstrap, dead_letter_topic)
    plan = plan_replay(select(dead_letters, selection), read_replays(bootstrap, replays_topic_name), again=again)
    plan.missing = missing_positions(dead_letters, selection)
    if dry_run or not plan.replay:
        return plan
    ensure_topics(bootstrap, [replays_spec(replays_topic_name)], replication)
    publisher = KafkaPublisher(bootstrap, producer_name="dlq")
    try:
        for dead in plan.replay:
            assert dead.source_topic is not None  # plan_replay keeps only records with a source topic
            publisher.send_raw(dead.source_topic, dead.key, dead.original)
            publisher.send_raw(replays_topic_name, str(dead.position).encode(),
                               replay_record(dead, dead_letter_topic, again=again, replayed_at=datetime.now(UTC)))
            log.info("replayed dead-letter %s to %s (event_id %s)", dead.position, dead.source_topic, dead.event_id)
    finally:
        publisher.close()
    return plan


# ---------------------------------------------------------------------------------------------------- command line


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(source_topic=args.topic, field=args.field, event_id=getattr(args, "event_id", None),
                     positions=frozenset(getattr(args, "position", None) or ()))


def _topics() -> tuple[str, str, Settings]:
    from infra.settings import get_settings
    from services.topics import Topics

    settings = get_settings()
    return Topics.with_prefix(settings.topic_prefix).dead_letter, replays_topic(settings.topic_prefix), settings


def _list(args: argparse.Namespace) -> None:
    dead_letter_topic, replays_name, settings = _topics()
    records, replays = list_dead_letters(settings.kafka_bootstrap, dead_letter_topic, replays_name,
                                         _selection(args), args.limit)
    if args.json:
        for dead in records:
            print(json_line(dead, replays))
        return
    if not records:
        print(f"dlq list: no matching records on {dead_letter_topic}")
        return
    print(format_table(records, replays))
    print(f"\n{len(records)} record(s) on {dead_letter_topic}"
          + (f" (the most recent {args.limit} matching)" if args.limit is not None else ""))


def _replay(args: argparse.Namespace) -> None:
    dead_letter_topic, replays_name, settings = _topics()
    plan = replay(settings.kafka_bootstrap, dead_letter_topic, replays_name, _selection(args), again=args.again,
                  dry_run=args.dry_run, replication=settings.topic_replication)
    print(format_plan(plan, dry_run=args.dry_run))
    if plan.missing:
        raise SystemExit(1)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", metavar="SOURCE_TOPIC", help="only records refused from this source topic")
    parser.add_argument("--field", metavar="F", help="only records refused because of this field")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add `dlq list` and `dlq replay` to the `greenlane` command line."""
    dlq = subparsers.add_parser("dlq", help="list and replay the dead-letter topic",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = dlq.add_subparsers(dest="dlq_action", required=True, metavar="{list,replay}")

    listing = actions.add_parser("list", help="show the dead-letter records, oldest first")
    _add_filters(listing)
    listing.add_argument("--limit", type=positive_int, metavar="N", help="show only the N most recent records")
    listing.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    listing.set_defaults(run=_list)

    replaying = actions.add_parser("replay", help="re-publish refused messages to their source topic, once")
    _add_filters(replaying)
    replaying.add_argument("--event-id", metavar="ID", help="only records of this event id")
    replaying.add_argument("--position", metavar="P:O", type=parse_position, nargs="+", action="extend",
                           help="only these dead-letter positions (PARTITION:OFFSET, as `dlq list` shows them)")
    replaying.add_argument("--again", action="store_true", help="replay records even if they were replayed before")
    replaying.add_argument("--dry-run", action="store_true", help="show what would be replayed; publish nothing")
    replaying.set_defaults(run=_replay)
    return dlq
