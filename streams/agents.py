"""faust agents: decode, hand over to the services, publish what they return. No business rules here."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from services.dead_letter import dead_letter_record
from services.district import Outgoing
from services.domain.errors import DomainError, InvalidValue, UnknownReference
from services.domain.events import (
    AreaCoverage,
    DeliveryConfirmed,
    DeliveryPlanned,
    DemandSubmitted,
    Event,
    PlanRequested,
    PriceAlert,
    PriceReported,
    ProduceOffered,
    SalesPointRegistered,
    ShortageAlert,
    StockReported,
    ZoneDeclared,
    ZoneLifted,
    ZoneRedrawn,
)
from services.domain.ledger import Batch
from services.handlers import project_zone_event
from services.messages import MessageError, decode, encode
from services.zone_coverage import fold_zone_part
from streams import metrics
from streams.app import app, container, ledger, raw_topic, settings, topics, zone_state
from streams.zone_feed import ZoneFeed

log = logging.getLogger("greenlane.streams")
processor = container.district_processor
projections = container.projections

ACCEPTS: dict[str, tuple[type[Event], ...]] = {
    topics.demand: (DemandSubmitted,),
    topics.stock: (StockReported,),
    topics.deliveries: (DeliveryPlanned, DeliveryConfirmed),
    topics.prices: (PriceReported,),
    topics.zones: (ZoneDeclared, ZoneRedrawn, ZoneLifted),
    topics.produce: (ProduceOffered,),
    topics.places: (SalesPointRegistered,),
}
_out_topics: dict[str, faust.TopicT] = {}
# District events are folded in batches of up to BATCH_MAX, or what arrived within BATCH_WITHIN_S.
BATCH_MAX, BATCH_WITHIN_S = 1000, 0.02
BACKLOG_S = 1.0
# At most this long between flushes, however long the last one took: a flush that waited 30 s for PostGIS to come
# back is no measure of the work, and three times that kept the recovered picture stale for 100 s (fault tests).
MAX_FLUSH_WAIT_S = 2.0


class _NewestFolded:
    """When the newest event the district agent folded was produced (its Kafka timestamp)."""

    produced_at = 0.0


def _owned_partitions() -> set[int]:
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic in topics.district_inputs}


def _rebuild() -> None:
    owned = _owned_partitions()
    processor.rebuild(ledger.items(), owned)
    log.info("coverage rebuilt for partitions %s: %d areas", sorted(owned), len(processor.book.areas))


zone_feed = ZoneFeed(settings.kafka_bootstrap, topics.zones, settings.topic_partitions, processor.zones, _rebuild,
                     container.zone_rules.check_change)


@app.task  # type: ignore[untyped-decorator]
async def follow_zones() -> None:
    await zone_feed.run()


@ledger.on_recover
async def ledger_recovered() -> None:
    """After every rebalance: the book is rebuilt from the ledger of the partitions this worker now owns.

    Before the zone index is loaded there is nothing to rebuild against; the feed rebuilds once it is ready
    (tasks start only after recovery, so waiting here would never end).
    """
    if zone_feed.ready.is_set():
        _rebuild()


async def publish(items: list[Outgoing]) -> None:
    for item in items:
        await publish_raw(item.topic, item.key.encode(), encode(item.event, "streams"))


async def dead_letter(message: Any, field: str, reason: str) -> None:
    metrics.dead_lettered(message.topic, field)
    log.warning("dead-letter %s@%s/%s: %s: %s", message.topic, message.partition, message.offset, field, reason)
    await publish_raw(topics.dead_letter, message.topic.encode(), dead_letter_record(
        reason=reason, field=field, source_topic=message.topic, partition=message.partition,
        offset=message.offset, key=message.key, value=message.value))


async def publish_raw(topic_name: str, key: bytes, value: bytes) -> None:
    topic = _out_topics.get(topic_name)
    if topic is None:
        topic = _out_topics[topic_name] = raw_topic(topic_name)
    await topic.send(key=key, value=value)


def _decode_for(message: Any) -> Event:
    event = decode(message.value)
    if not isinstance(event, ACCEPTS.get(message.topic, ())):
        raise MessageError("event_type", f"{event.event_type} does not belong on {message.topic}")
    return event


async def _check(event: Event) -> None:
    try:
        processor.check_references(event)
    except UnknownReference as exc:
        # A zone declared a moment ago may not have reached this worker's index yet: wait for it once.
        if exc.field != "zone_id" or not await zone_feed.caught_up():
            raise
        processor.check_references(event)


@app.agent(raw_topic(*topics.district_inputs))
async def fold_district_events(stream: faust.StreamT[bytes]) -> None:
    """Demand, stock, deliveries and prices → the district ledger and the live coverage book, a batch at a time.

    A batch is folded through a ledger overlay and committed once (each key written once); faust acks the
    batch's offsets only after this body has handed every changelog write to the producer, and commits only
    after the producer has flushed them.
    """
    await zone_feed.ready.wait()
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):  # type: ignore[attr-defined]
        metrics.took("district", events)
        batch = Batch(ledger.data)
        out: list[Outgoing] = []
        for event in events:
            message = event.message
            try:
                decoded = _decode_for(message)
                await _check(decoded)
                out += processor.fold(batch.at(message.partition), decoded, message.topic, message.partition,
                                      message.offset, message.timestamp)
            except MessageError as exc:
                await dead_letter(message, exc.field, exc.reason)
            except (UnknownReference, InvalidValue) as exc:
                await dead_letter(message, exc.field, str(exc))
            except DomainError as exc:
                await dead_letter(message, "payload", str(exc))
        await _commit(batch)
        await publish(out)
        _NewestFolded.produced_at = events[-1].message.timestamp or time.time()


async def _commit(batch: Batch) -> None:
    """The batch's ledger writes (already in the table's store) onto its changelog, each to its source partition.

    What `table[key] = value` does, with the partition named (inside a batch there is no single current event),
    encoded as the table's json codec reads them back on recovery, and handed straight to the producer (faust's
    per-message send path cost more than the fold). Consumer commits flush the producer first.
    """
    changelog = ledger.changelog_topic.get_topic_name()
    send = app.producer.send
    for partition, key, value in batch.writes():
        await send(changelog, _json(key), _json(value), partition, None, None)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@app.task  # type: ignore[untyped-decorator]
async def flush_coverage() -> None:
    """Publish the areas that changed, one flush at a time: zone parts to the zone stage, communes and districts
    to PostGIS. The next flush starts an interval after this one started (at once if it took longer). Working
    through a backlog (the newest event folded was produced more than BACKLOG_S ago) it waits three times as long
    as the flush took instead, if that is longer: nearly every area changes between flushes then, so a later
    flush writes no more rows, and the worker's time goes to folding."""
    loop = asyncio.get_running_loop()
    interval = settings.coverage_flush_ms / 1000
    while True:
        started = loop.time()
        if zone_feed.ready.is_set():
            await _flush_once()
        took = loop.time() - started
        backlog = time.time() - _NewestFolded.produced_at > BACKLOG_S
        await asyncio.sleep(max(interval - took, min(3 * took, MAX_FLUSH_WAIT_S) if backlog else 0.0))


async def _flush_once() -> None:
    started = time.perf_counter()
    out = processor.flush()
    # Commune and district rows go straight to PostGIS in one batch (they are full values, so a lost
    # write is healed by the next change or the rebuild after a restart); zone parts go on to stage 2.
    rows = [item.event for item in out if item.topic == topics.coverage]
    await publish([item for item in out if item.topic != topics.coverage])
    if rows:
        await _until_stored(projections.coverage, rows)
    metrics.coverage_flushed(time.perf_counter() - started, len(out) - len(rows), len(rows))


@app.agent(raw_topic(topics.zone_parts))
async def fold_zone_parts(stream: faust.StreamT[bytes]) -> None:
    """Each district's part of a zone → the zone's coverage and its shortage alerts."""
    async for event in stream.events():
        metrics.took_one("zone-parts", event.message)
        try:
            part = decode(event.message.value)
        except MessageError as exc:
            await dead_letter(event.message, exc.field, exc.reason)
            continue
        if not isinstance(part, AreaCoverage) or part.zone_id is None:
            continue
        update = fold_zone_part(zone_state.get(part.zone_id), part, container.shortage, container.items,
                                datetime.now(UTC), processor.zones.district_of(part.zone_id))
        zone_state[part.zone_id] = update.state
        await publish([Outgoing(topics.coverage, part.zone_id, update.coverage),
                       *(Outgoing(topics.shortage_alerts, part.zone_id, alert) for alert in update.alerts)])


Refused = Callable[[int, str, str], Awaitable[None]]


async def _until_stored(write: Callable[[list[Any]], object], rows: list[Any], refused: Refused | None = None) -> None:
    """Retry while PostGIS is unreachable: the batch stays unacknowledged, so nothing is lost.

    A batch PostgreSQL refuses for its data (a value or a constraint the decoder did not foresee) would be refused
    for ever and stall its topic: it is written again row by row and each refused row goes to `refused(index,
    field, reason)` (the dead-letter topic). Without `refused` (rows made here, not read) it is retried, at ERROR."""
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(write, rows)
            return
        except DBAPIError as exc:
            if refusal(exc) and refused is not None:
                if len(rows) > 1:
                    break
                await refused(0, _refused_field(exc), f"PostgreSQL refused it: {str(exc.orig).strip()}")
                return
            log.log(logging.ERROR if refusal(exc) else logging.WARNING,
                    "projection write failed, retrying in %.1fs: %s", delay, exc.orig)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    assert refused is not None
    for index, row in enumerate(rows):
        await _until_stored(write, [row], _at(index, refused))


def _at(index: int, refused: Refused) -> Refused:
    async def of_row(_: int, field: str, reason: str) -> None:
        await refused(index, field, reason)
    return of_row


def _dead_letter_of(messages: list[Any]) -> Refused:
    async def refused(index: int, field: str, reason: str) -> None:
        await dead_letter(messages[index], field, reason)
    return refused


def refusal(exc: DBAPIError) -> bool:
    """PostgreSQL refused the data itself (bad value, constraint): writing it again cannot succeed."""
    return isinstance(exc, (DataError, IntegrityError))


def _refused_field(exc: DBAPIError) -> str:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "column_name", None) or getattr(diag, "constraint_name", None) or "payload"


def _sink(topic_name: str, kind: type[Event], write: Callable[[list[Any]], None], *,
          dead_letters: bool = True, one_kind: bool = False) -> None:
    """A topic → its PostGIS projection of `kind`, in batches. `dead_letters=False` for an input topic another agent
    already checks (its bad messages are dead-lettered there, once); `one_kind` for an input topic of that kind
    only, where any other event is dead-lettered too (elsewhere it is skipped)."""
    async def project(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(500, within=0.05):  # type: ignore[attr-defined]
            metrics.took("sink", batch)
            rows, sources = [], []
            for event in batch:
                try:
                    decoded = _decode_for(event.message) if one_kind else decode(event.message.value)
                    if one_kind:  # an input topic: what it names must exist, as in the district agent
                        await _check(decoded)
                except MessageError as exc:
                    if dead_letters:
                        await dead_letter(event.message, exc.field, exc.reason)
                    continue
                except (UnknownReference, InvalidValue) as exc:
                    await dead_letter(event.message, exc.field, str(exc))
                    continue
                if isinstance(decoded, kind):
                    rows.append(decoded)
                    sources.append(event.message)
            await _until_stored(write, rows, _dead_letter_of(sources))

    app.agent(raw_topic(topic_name), name=f"greenlane.sink.{topic_name}")(project)


_sink(topics.coverage, AreaCoverage, projections.coverage)
_sink(topics.shortage_alerts, ShortageAlert, projections.shortage_alerts)
_sink(topics.price_alerts, PriceAlert, projections.price_alerts)
_sink(topics.plan_requests, PlanRequested, projections.plan_requests)
# Drivers' confirmations, for re-planning from where each truck is (the district agent folds them too).
_sink(topics.deliveries, DeliveryConfirmed, projections.delivery_confirmations, dead_letters=False)
# Sales points registered → the register in PostGIS (stock reports are checked against it).
_sink(topics.places, SalesPointRegistered, container.places.register_sales_points, one_kind=True)


@app.agent(raw_topic(topics.zones))
async def project_zones(stream: faust.StreamT[bytes]) -> None:
    """Zone changes → zone versions in PostGIS (the record; the in-memory indexes follow the topic)."""
    async for event in stream.events():
        metrics.took_one("zones", event.message)
        try:
            change = _decode_for(event.message)
            container.zone_rules.check_change(change)  # the API's rules; the zone index applies them too
            await _until_stored(lambda changes: project_zone_event(changes[0], container.zones), [change],
                                _dead_letter_of([event.message]))
        except MessageError as exc:
            await dead_letter(event.message, exc.field, exc.reason)
        except DomainError as exc:
            await dead_letter(event.message, getattr(exc, "field", "payload"), str(exc))


@app.agent(raw_topic(topics.produce))
async def project_produce(stream: faust.StreamT[bytes]) -> None:
    """Produce offered from inside zones → PostGIS, for buyers, depots and the planner."""
    async for event in stream.events():
        metrics.took_one("produce", event.message)
        try:
            offer = _decode_for(event.message)
            await _check(offer)
        except MessageError as exc:
            await dead_letter(event.message, exc.field, exc.reason)
            continue
        except (UnknownReference, InvalidValue) as exc:
            await dead_letter(event.message, exc.field, str(exc))
            continue
        await _until_stored(projections.produce_offers, [offer], _dead_letter_of([event.message]))
