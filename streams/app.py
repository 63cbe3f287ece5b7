"""The faust app: topics, tables and agents. Agents only translate messages into domain commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import faust
from sqlalchemy.exc import DBAPIError

from infra.settings import get_settings
from services.bootstrap import bootstrap
from services.dead_letter import dead_letter_record
from services.domain.commands import FoldDemand
from services.domain.errors import DomainError, InvalidValue, UnknownReference
from services.domain.events import AreaDemandChanged, DemandSubmitted
from services.handlers import fold_demand
from services.messages import MessageError, decode, encode

log = logging.getLogger("greenlane.streams")

settings = get_settings()
container = bootstrap(settings, producer_name="streams")
topics = container.topics
settings.streams_data_dir.mkdir(parents=True, exist_ok=True)

app = faust.App(
    settings.streams_app_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",  # tables are rebuilt from their changelog topics on start
    processing_guarantee="at_least_once",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication,
    consumer_auto_offset_reset="earliest",
    datadir=str(settings.streams_data_dir),
    web_port=settings.streams_web_port,
    web_host="127.0.0.1",
    autodiscover=False,
)


def _raw_topic(name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                     partitions=settings.topic_partitions)


demand_topic = _raw_topic(topics.demand)
area_demand_topic = _raw_topic(topics.area_demand)
dead_letter_topic = app.topic(topics.dead_letter, key_type=bytes, value_type=bytes, key_serializer="raw",
                              value_serializer="raw")

# Demand totals per (zone, commune) area, and the event ids already folded in (for de-duplication).
areas = app.Table("area-demand", default=None, partitions=settings.topic_partitions)
seen_demand = app.Table("seen-demand", default=None, partitions=settings.topic_partitions)


async def _dead_letter(message: faust.types.Message, field: str, reason: str) -> None:
    log.warning("dead-letter %s@%s/%s: %s: %s", message.topic, message.partition, message.offset, field, reason)
    await dead_letter_topic.send(
        key=message.topic.encode(),
        value=dead_letter_record(reason=reason, field=field, source_topic=message.topic,
                                 partition=message.partition, offset=message.offset,
                                 key=message.key, value=message.value))


@app.agent(demand_topic)
async def fold_demand_events(stream: faust.StreamT[bytes]) -> None:
    """demand.submitted → live totals per area → area-demand.changed."""
    async for event in stream.events():
        message = event.message
        try:
            submitted = decode(message.value)
            if not isinstance(submitted, DemandSubmitted):
                raise MessageError("event_type", f"{submitted.event_type} does not belong on {message.topic}")
            change = fold_demand(
                FoldDemand(submitted.event_id, submitted.district_code, submitted.report,
                           message.partition, message.offset),
                areas, seen_demand, container.admin, container.items, container.zone_lookup)
        except MessageError as exc:
            await _dead_letter(message, exc.field, exc.reason)
            continue
        except (UnknownReference, InvalidValue) as exc:
            await _dead_letter(message, exc.field, str(exc))
            continue
        except DomainError as exc:
            await _dead_letter(message, "payload", str(exc))
            continue
        if change is not None:
            await area_demand_topic.send(key=change.district_code.encode(), value=encode(change, "streams"))


@app.agent(area_demand_topic)
async def project_area_demand(stream: faust.StreamT[bytes]) -> None:
    """area-demand.changed → the area_demand table in PostGIS (idempotent upserts, in batches)."""
    async for batch in stream.take(500, within=0.2):
        changes = []
        for value in batch:
            try:
                change = decode(value)
            except MessageError as exc:
                log.error("unreadable derived record on %s: %s", topics.area_demand, exc)
                continue
            if isinstance(change, AreaDemandChanged):
                changes.append(change)
        await _until_stored(container.area_demand.apply, changes)


async def _until_stored(apply: Callable[[list[Any]], None], rows: list[Any]) -> None:
    """Retry while PostGIS is unreachable: the batch stays unacknowledged, so nothing is lost."""
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(apply, rows)
            return
        except DBAPIError as exc:
            log.warning("projection write failed, retrying in %.1fs: %s", delay, exc.orig)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def main() -> None:
    """Run a worker: `greenlane streams` or `faust -A streams.app worker`."""
    app.main()
