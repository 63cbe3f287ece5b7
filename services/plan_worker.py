"""The optimizer worker: plan requests in (partitioned by district, so workers split the districts), plans out.

At-least-once: offsets are committed after the plans are stored; a plan's id comes from the request's event id,
so a redelivered request finds its plan stored and is skipped. Requests for one district that queued up while the
worker was busy are answered by one plan (the newest request; the picture is read fresh anyway).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from sqlalchemy.exc import OperationalError

from .adapters.plans import PlanStore
from .dead_letter import dead_letter_record
from .domain.events import PlanRequested
from .messages import MessageError, decode, encode
from .plan_metrics import PlanMetrics
from .planner import Planner, plan_id_for
from .topics import Topics

log = logging.getLogger("greenlane.optimizer")
MAX_SAVE_ATTEMPTS = 3


@dataclass
class Request:
    event: PlanRequested
    partition: int
    offset: int


class PlanWorker:
    def __init__(self, bootstrap: str, topics: Topics, group_id: str, streams_group: str, store: PlanStore,
                 planner: Planner, dead_letter: Callable[[bytes, bytes], object],
                 heartbeat: Path | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 metrics: PlanMetrics | None = None) -> None:
        self.topics, self.store, self.planner, self.clock = topics, store, planner, clock
        self.metrics = metrics or PlanMetrics()
        self.streams_group, self.dead_letter = streams_group, dead_letter
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                                      auto_offset_reset="earliest", max_poll_records=50,
                                      max_poll_interval_ms=900_000, client_id="greenlane-optimizer")
        self.consumer.subscribe([topics.plan_requests], listener=_Assignments())
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="greenlane-optimizer-admin")
        self.stopping = threading.Event()
        self.heartbeat = heartbeat

    def run(self) -> None:
        log.info("optimizer worker consuming %s", self.topics.plan_requests)
        try:
            while not self.stopping.is_set():
                self._beat()
                batch = self.consumer.poll(timeout_ms=1000)
                self.metrics.requests.inc(sum(len(records) for records in batch.values()))
                requests = [r for records in batch.values() for m in records if (r := self._decode(m)) is not None]
                newest = _newest_per_district(requests)
                self.metrics.handled.labels("superseded").inc(len(requests) - len(newest))
                for request in newest:
                    self._handle_safely(request)
                if batch:
                    self._commit()
        finally:
            self.consumer.close()
            self.admin.close()

    def _commit(self) -> None:
        """Commit what was handled; if the group moved on meanwhile (a broker restart, a rebalance), the requests
        come again and find their plans stored, so a failed commit is logged and the worker goes on."""
        try:
            self.consumer.commit()
        except KafkaError as exc:
            log.warning("offset commit failed, the requests will be read again: %s", exc)

    def _beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
            self.heartbeat.touch()

    def _handle_safely(self, request: Request) -> None:
        """Retry while the database is unreachable (nothing is committed meanwhile); a request that cannot be
        planned for any other reason goes to the dead-letter topic with the reason, and the worker goes on."""
        delay = 1.0
        while not self.stopping.is_set():
            try:
                self.handle(request)
                return
            except OperationalError as exc:
                log.warning("database unreachable, retrying in %.0fs: %s", delay, exc.orig)
                self.metrics.retries.labels("database").inc()
                self.stopping.wait(delay)
                delay = min(delay * 2, 30.0)
            except Exception as exc:
                log.exception("plan request %s failed", request.event.event_id)
                self.metrics.dead_lettered("payload", "failed")
                self.dead_letter(self.topics.plan_requests.encode(), dead_letter_record(
                    reason=f"planning failed: {exc}", field="payload", source_topic=self.topics.plan_requests,
                    partition=request.partition, offset=request.offset, key=request.event.district_code.encode(),
                    value=encode(request.event, "optimizer")))
                return

    def handle(self, request: Request) -> str:
        district, event_id = request.event.district_code, request.event.event_id
        plan_id = plan_id_for(district, event_id)
        if self.store.exists(plan_id):  # a redelivered request: planned before the offset was committed
            self.metrics.handled.labels("stored_before").inc()
            return plan_id
        log.info("planning district %s for request %s", district, event_id)
        for _ in range(MAX_SAVE_ATTEMPTS):
            now = self.clock()
            snapshot = self.store.snapshot(district, now, self._offsets(request))
            started = time.perf_counter()
            plan = self.planner.plan(snapshot, event_id, now)
            self.metrics.solve.labels(district).observe(time.perf_counter() - started)
            if self.store.save(plan):  # also True if another delivery of the request stored it meanwhile
                log.info("plan %s: %s", plan.plan_id, plan.stats())
                self.metrics.handled.labels("made").inc()
                return plan.plan_id
            log.info("plan %s: depot stock taken by another district meanwhile; planning again", plan.plan_id)
            self.metrics.retries.labels("reservations").inc()
        raise RuntimeError(f"district {district}: depot reservations kept changing; request left for a retry")

    def _decode(self, message: Any) -> Request | None:
        try:
            event = decode(message.value)
            if not isinstance(event, PlanRequested):
                raise MessageError("event_type", f"{event.event_type} does not belong on {message.topic}")
        except MessageError as exc:
            log.warning("dead-letter %s@%s/%s: %s", message.topic, message.partition, message.offset, exc)
            self.metrics.dead_lettered(exc.field, "bad")
            self.dead_letter(message.topic.encode(), dead_letter_record(
                reason=exc.reason, field=exc.field, source_topic=message.topic, partition=message.partition,
                offset=message.offset, key=message.key, value=message.value))
            return None
        return Request(event, message.partition, message.offset)

    def _offsets(self, request: Request) -> dict[str, int]:
        """Where the coverage picture stood: the streams group's committed offsets on the district's partition of
        every input topic, and the request's own position."""
        offsets = {f"{self.topics.plan_requests}/{request.partition}": request.offset}
        try:
            committed = self.admin.list_consumer_group_offsets(self.streams_group)
        except Exception as exc:
            log.warning("streams offsets unavailable: %s", exc)
            return offsets
        for tp, meta in committed.items():
            if tp.topic in self.topics.district_inputs and tp.partition == request.partition:
                offsets[f"{tp.topic}/{tp.partition}"] = meta.offset
        return offsets


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    def on_partitions_revoked(self, revoked: Any) -> None:
        pass

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("plan-request partitions assigned: %s", sorted(tp.partition for tp in assigned))


def _newest_per_district(requests: list[Request]) -> list[Request]:
    newest: dict[str, Request] = {}
    for request in requests:
        newest[request.event.district_code] = request
    return list(newest.values())
