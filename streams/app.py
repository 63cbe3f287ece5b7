"""The faust app: topics and tables. Agents live in streams/agents.py and only translate messages into commands."""

from __future__ import annotations

import gc

import faust

from infra.settings import get_settings
from services.adapters.kafka import ensure_topics
from services.bootstrap import bootstrap
from services.topics import TopicSpec, topic_specs
from streams import faust_fixes
from streams import metrics as stream_metrics

faust_fixes.apply()
# The ledger keeps every entry in memory and only grows, so the garbage collector's full passes over the old
# generation grew with it: 0.15-0.5 s each, event loop stopped, 4 s in 29 s of a 120,000-event backlog. Young
# collections every 100,000 allocations (not 700) and old ones rarely cut that to 0.3 s (peak RSS did not grow).
gc.set_threshold(100_000, 50, 1_000)

settings = get_settings()
container = bootstrap(settings, producer_name="streams")
topics = container.topics
settings.streams_data_dir.mkdir(parents=True, exist_ok=True)
PRODUCER_LINGER_S = 0.02
STREAM_BUFFER = 32_768

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
    # Changelog and derived writes go out in batches (faust's default linger of 0 sends one request per message).
    # Offsets are committed only once these writes are acknowledged (see faust_fixes), and coverage reaches
    # PostGIS without waiting for them, so the linger costs neither correctness nor coverage latency.
    producer_linger=PRODUCER_LINGER_S,
    producer_max_batch_size=1024 * 1024,
    # Room for a few fetches per stream. At faust's default (4,096) the buffer of the district stream was full
    # most of the time under a backlog: each message then took the slow, suspendable delivery path and the worker
    # sat idle between fetches (0.75 cores busy, 8,200 ev/s); at 32,768 it stays busy (13,700 ev/s, same run).
    stream_buffer_maxsize=STREAM_BUFFER,
    # A worker that dies without leaving the group holds its partitions until its session times out: faust's
    # default of 60 s stopped the coverage picture for a minute after a crash (fault tests); the heartbeat is sent
    # every 3 s by a task of its own, so 15 s tolerates a busy event loop.
    broker_session_timeout=15.0,
)


def raw_topic(*names: str) -> faust.TopicT:
    """A topic read and written as bytes: our own codec decodes, so bad input can be dead-lettered verbatim."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                     partitions=settings.topic_partitions)


# Every district-keyed input folds into one ledger per partition (see services/domain/ledger.py).
ledger = app.Table("district-ledger", default=None, partitions=settings.topic_partitions)
# Per zone: each district's part, and the shortage alerts open.
zone_state = app.Table("zone-coverage", default=None, partitions=settings.topic_partitions)


@app.page("/metrics")
async def metrics_page(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    """This worker's Prometheus metrics (streams/metrics.py), on the web port beside faust's own pages."""
    # aiohttp refuses a charset in `content_type`, so the exposition format's full type goes in as a header.
    return view.bytes(stream_metrics.render(), headers={"Content-Type": stream_metrics.CONTENT_TYPE})


@app.task  # type: ignore[untyped-decorator]
async def watch_consumer_lag() -> None:
    """Once the worker runs: the streams group's lag for /metrics, read every few seconds in a thread."""
    stream_metrics.watch_lag(settings.kafka_bootstrap, settings.streams_app_id, topics.streams_inputs)


from streams import agents  # noqa: E402,F401  (explicit registration of the agents)


def main() -> None:
    """Run a worker: `greenlane streams` or `faust -A streams.app worker`; creates missing topics first."""
    ensure_topics(settings.kafka_bootstrap, topic_specs(settings.topic_partitions, settings.topic_prefix)
                  + _changelogs(), settings.topic_replication)
    app.main()


def _changelogs() -> list[TopicSpec]:
    """The tables' changelog topics, created before faust starts: a new app id's first worker, started against a
    backlog of zone parts, could otherwise write its zone table before its consumer had the changelog's partitions
    (faust's PartitionsMismatch, "changelog has 0 partitions"), and its zone stage never resumed (replay test)."""
    return [TopicSpec(table.changelog_topic.get_topic_name(), settings.topic_partitions, "table key",
                      "faust table changelog", compacted=True) for table in (ledger, zone_state)]
