"""Fixes for faust-streaming 0.15, applied when the streams app is imported.

1. `ProducerBuffer.flush()` gives up after 0.1 s without progress and returns with messages still buffered. The
   consumer calls it before committing offsets, so under load offsets could be committed ahead of table changelog
   writes still sitting in the buffer: a crash then lost accepted events (seen in tests/integration/
   test_crash_and_scale.py). Here `flush()` waits until every message buffered when it was called has been
   acknowledged by the broker. (Waiting for an empty buffer instead never ends while agents keep producing, and
   commits then stall.)

2. The consumer hands every message to its stream with `wait_first(deliver(message), suspend_flow.wait())`,
   which creates four tasks and an `asyncio.wait` per message (a sixth of the worker's time under load). Nearly
   always the delivery finishes without waiting (the stream's buffer has room). Here the delivery's first step
   runs at once; only when it has to wait (a full buffer) does it continue under the original `wait_first`, so
   a rebalance (`suspend_flow`), a stop or a crash still interrupts it exactly as before. With the flow suspended,
   or the consumer stopping, the original path is taken from the start.

3. The delivery loop lost events after a worker restart (offsets committed over records never delivered):
   replaced, see streams/faust_delivery.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from types import CoroutineType
from typing import Any

from faust.transport.consumer import Consumer
from faust.transport.producer import ProducerBuffer
from mode.services import WaitResults

from streams import faust_delivery

_wait_first = Consumer.wait_first


async def _flush_buffered_so_far(self: ProducerBuffer) -> None:
    buffered = list(self.pending._queue)  # type: ignore[attr-defined]
    if buffered:
        await asyncio.gather(*buffered, return_exceptions=True)


async def _wait_first_stepping_delivery(self: Consumer, *coros: Any, timeout: Any = None) -> WaitResults:
    if (timeout is None and len(coros) == 2 and type(coros[0]) is CoroutineType
            and getattr(coros[1], "cr_code", None) is asyncio.Event.wait.__code__
            and not (self.suspend_flow.is_set() or self._stopped.is_set() or self._crashed.is_set())):
        delivery, suspended = coros
        try:
            waiting_on = delivery.send(None)
        except StopIteration as done:
            suspended.close()
            return WaitResults([delivery], [done.value], False)
        except BaseException:
            suspended.close()
            raise
        coros = (_Resumed(delivery, waiting_on), suspended)
    return await _wait_first(self, *coros, timeout=timeout)


class _Resumed:
    """The rest of a coroutine already stepped once, as an awaitable a task can drive (what `await` would do)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        return _resume(self.coro, self.waiting_on)


def _resume(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Generator[Any, Any, Any]:
    value = waiting_on
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                value = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                value = coro.send(sent)
            except StopIteration as done:
                return done.value


def apply() -> None:
    ProducerBuffer.flush = _flush_buffered_so_far  # type: ignore[method-assign]
    Consumer.wait_first = _wait_first_stepping_delivery  # type: ignore[method-assign,assignment]
    faust_delivery.apply()
