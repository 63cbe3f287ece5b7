"""The consumer's delivery loop for faust-streaming 0.15, rewritten so that a restart or rebalance loses nothing.

faust's own loop (`Consumer._drain_messages`) hands each fetched record to the streams and keeps a "read offset"
per partition. Three flaws in it lost accepted events after a streams worker was killed and restarted
(tests/faults, docs/reliability.md):

1. When recovery ends, faust resumes the input partitions while the flow is running and only then seeks them to
   the committed offsets. In that window the loop delivers records into the stream queues; the seek and the queue
   clearing that follows it discard them, and the loop goes on with the rest of a batch fetched before the seek.
2. A record past the read offset counts as a "gap"; faust records the offsets in between as done and later
   commits over them. On our input topics offsets are contiguous, so a gap only means records fetched before a
   seek, out of turn: the events between were never processed.
3. The read offset moves on even when a delivery was interrupted (the flow suspended for a rebalance), so the
   record is dropped when it is fetched again.

Here, per partition, the loop keeps the next offset it must deliver (seeks set it to the offset they seek to):
  - an older record is a repeat and is dropped;
  - a newer one on an acknowledged (contiguous) topic means records were skipped: the partition is sought back to
    the missing offset and the rest of that partition's batch is dropped. Only if seeking back does not bring the
    missing offset (it was deleted by retention) is the gap accepted, logged at ERROR;
  - the next offset moves on only once the record was really delivered.
And a seek to the committed offsets first stops the flow and waits until no record is being delivered, so nothing
handed to the streams after the seek is cleared by the recovery that follows (every caller resumes the flow).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING, Consumer

_log = logging.getLogger("greenlane.faust")

RESEEKS_BEFORE_ACCEPTING_A_GAP = 3
QUIESCE_TIMEOUT_S = 10.0

_delivering: weakref.WeakSet[Consumer] = weakref.WeakSet()  # consumers handing a record to their streams now


class Step(enum.Enum):
    DELIVER = "deliver"
    DROP_REPEAT = "drop repeat"
    SEEK_BACK = "seek back"
    DELIVER_OVER_GAP = "deliver over gap"


def next_step(expected: int | None, offset: int, contiguous: bool, seeks_back: int) -> Step:
    """What to do with a record at `offset` when `expected` is the next offset to deliver (None: any).

    `contiguous`: the topic's offsets have no holes (an acknowledged input topic, neither compacted nor
    transactional); `seeks_back`: how often this partition was already sought back to `expected`."""
    if expected is None or offset == expected:
        return Step.DELIVER
    if offset < expected:
        return Step.DROP_REPEAT
    if not contiguous:
        return Step.DELIVER  # compacted changelogs have holes
    if seeks_back < RESEEKS_BEFORE_ACCEPTING_A_GAP:
        return Step.SEEK_BACK
    return Step.DELIVER_OVER_GAP


async def drain_messages(self: Consumer, fetcher: Any) -> None:
    """Replacement for `Consumer._drain_messages` (the Fetcher's background loop); see the module docstring."""
    delivery = _Delivery(self)
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            self.diag.set_flag(CONSUMER_FETCHING)
            batch = self.getmany(timeout=1.0)
            await self.sleep(0)
            if not self.should_stop:
                await delivery.take(batch)
            self.diag.unset_flag(CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        _delivering.discard(self)
        self.diag.unset_flag(CONSUMER_FETCHING)


class _Delivery:
    """The loop's state: per partition the next offset to deliver (faust's read offsets, which seeks set) and how
    often it was sought back to it."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.next_offset = consumer._read_offset
        self.seeks_back: dict[Any, tuple[int | None, int]] = {}
        self.contiguous = consumer.app.topics.acks_enabled_for
        self.since_yield = 0

    async def take(self, batch: AsyncIterator[tuple[Any, Any]]) -> None:
        sought_back: set[Any] = set()
        try:
            async for tp, message in batch:
                self.since_yield += 1
                if self.since_yield > 100:
                    await asyncio.sleep(0)
                    self.since_yield = 0
                if tp in sought_back:
                    continue
                step = await self._step(tp, message)
                if step is Step.SEEK_BACK:
                    sought_back.add(tp)
                elif step is not Step.DROP_REPEAT:
                    await self._commit_when_due()
                    if not await _deliver(self.consumer, message):
                        return  # the flow was suspended (rebalance, seek) or the worker stops: fetch anew later
                    self.next_offset[tp] = message.offset + 1
        finally:
            await batch.aclose()  # type: ignore[attr-defined]  # getmany is an async generator

    async def _step(self, tp: Any, message: Any) -> Step:
        consumer, offset, expected = self.consumer, message.offset, self.next_offset[tp]
        sought_to, times = self.seeks_back.get(tp, (None, 0))
        if sought_to != expected:
            times = 0
        step = next_step(expected, offset, self.contiguous(message.topic), times)
        if step is Step.SEEK_BACK and expected is not None:
            self.seeks_back[tp] = (expected, times + 1)
            _log.warning("record %s of %s came before %s (fetched before a seek): seeking back to %s",
                         offset, tp, expected, expected)
            await consumer.seek(tp, expected)
        elif step is Step.DELIVER_OVER_GAP and expected is not None:
            _log.error("offsets %s to %s of %s are gone (seeking back %s times did not bring them, deleted by "
                       "retention?): going on from %s", expected, offset - 1, tp, RESEEKS_BEFORE_ACCEPTING_A_GAP,
                       offset)
            await consumer._add_gap(tp, expected, offset - 1)
        return step

    async def _commit_when_due(self) -> None:
        consumer = self.consumer
        if consumer._commit_every is not None and consumer._n_acked >= consumer._commit_every:
            consumer._n_acked = 0
            await consumer.commit()


async def _deliver(self: Consumer, message: Any) -> bool:
    """Hand one record to its streams; False if the delivery was cut short (flow suspended, worker stopping)."""
    if not self.flow_active:
        return False
    _delivering.add(self)
    try:
        suspended = self.suspend_flow.wait()
        outcome = await self.wait_first(self.callback(message), suspended)
        return not outcome.stopped and any(winner is not suspended for winner in outcome.done)
    finally:
        _delivering.discard(self)


_perform_seek = Consumer.perform_seek


async def perform_seek_quietly(self: Consumer) -> None:
    """Seek every partition to its committed offset once no record is being delivered any more.

    Stops the flow first: every caller (the end of recovery, a fetch while the flow is stopped) resumes it after
    the seek and the clearing of the stream queues."""
    self.stop_flow()
    waited = 0.0
    while self in _delivering and waited < QUIESCE_TIMEOUT_S:
        await asyncio.sleep(0.01)
        waited += 0.01
    await _perform_seek(self)


def apply() -> None:
    Consumer._drain_messages = drain_messages  # type: ignore[method-assign]
    Consumer.perform_seek = perform_seek_quietly  # type: ignore[method-assign]
