"""Prometheus metrics of a streams worker, served as text at `GET /metrics` on its web port (streams_web_port).

- `greenlane_stream_events_total{agent,topic}`: messages an agent took off a topic: every one, including events
  sent twice (the ledger ignores the repeat), bad ones (also counted as dead letters) and, after a crash or a
  rebalance, redeliveries; the deliveries topic is read by two agents (`district`, `sink`)
- `greenlane_stream_batch_events{agent}`: histogram of the events per batch of the batching agents
- `greenlane_stream_dead_letters_total{topic,field}`: bad input sent to the dead-letter topic, by its source topic
  and the field its reason names (`event_type`, `commune_code`, `zone_id`, `payload`, ...)
- `greenlane_coverage_flush_seconds`: histogram of the coverage flushes that had something to send (zone parts to
  the zone stage, commune and district rows to PostGIS; retries while PostGIS is down included)
- `greenlane_coverage_rows_written_total`, `greenlane_coverage_parts_published_total`: what those flushes sent
- `greenlane_consumer_lag{group,topic}` and its read time: the streams group's backlog per input topic
  (services/lag_gauge.py)
- `process_*`: the worker's CPU time, memory and open files

Each worker counts its own: scrape every worker. The hot path pays one increment per topic per batch.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from services.adapters.kafka import consumer_lag
from services.lag_gauge import LagGauge

CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

_events = Counter("greenlane_stream_events_total", "Messages an agent took off a topic", ["agent", "topic"],
                  registry=REGISTRY)
_batches = Histogram("greenlane_stream_batch_events", "Events per batch of an agent", ["agent"], registry=REGISTRY,
                     buckets=(1, 10, 50, 100, 250, 500, 1000))
_dead_letters = Counter("greenlane_stream_dead_letters_total", "Bad input sent to the dead-letter topic",
                        ["topic", "field"], registry=REGISTRY)
_flush = Histogram("greenlane_coverage_flush_seconds", "Seconds a coverage flush took (flushes that sent something)",
                   registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
_rows = Counter("greenlane_coverage_rows_written_total", "Commune and district coverage rows written to PostGIS",
                registry=REGISTRY)
_parts = Counter("greenlane_coverage_parts_published_total", "Zone parts published to the zone stage",
                 registry=REGISTRY)


def took(agent: str, events: Sequence[Any]) -> None:
    """A batch of faust events taken: counted per topic in one increment each, and the batch's size."""
    for topic, count in Tally(event.message.topic for event in events).items():
        _events.labels(agent, topic).inc(count)
    _batches.labels(agent).observe(len(events))


def took_one(agent: str, message: Any) -> None:
    """One message taken, by an agent that reads one at a time."""
    _events.labels(agent, message.topic).inc()


def dead_lettered(topic: str, field: str) -> None:
    _dead_letters.labels(topic, field).inc()


def coverage_flushed(seconds: float, published: int, rows: int) -> None:
    """A coverage flush: `published` zone parts and other derived events sent on, `rows` written to PostGIS."""
    if published or rows:
        _flush.observe(seconds)
        _parts.inc(published)
        _rows.inc(rows)


def render() -> bytes:
    """The Prometheus text page."""
    return generate_latest(REGISTRY)


def watch_lag(bootstrap: str, group: str, topics: Iterable[str]) -> LagGauge:
    """The streams group's lag, read in a thread of its own (never on the event loop)."""
    names = list(topics)
    return LagGauge(REGISTRY, group, lambda: consumer_lag(bootstrap, group, names)).start()
