"""A fix for faust-streaming's producer buffer, applied when the streams app is imported.

`ProducerBuffer.flush()` gives up after 0.1 s without progress and returns with messages still buffered. The
consumer calls it before committing offsets, so under load offsets could be committed ahead of table changelog
writes still sitting in the buffer: a crash then lost accepted events (seen in tests/integration/
test_crash_and_scale.py). Here `flush()` waits until every message buffered when it was called has been
acknowledged by the broker. (Waiting for an empty buffer instead never ends while agents keep producing, and
commits then stall.)
"""

from __future__ import annotations

import asyncio

from faust.transport.producer import ProducerBuffer


async def _flush_buffered_so_far(self: ProducerBuffer) -> None:
    buffered = list(self.pending._queue)  # type: ignore[attr-defined]
    if buffered:
        await asyncio.gather(*buffered, return_exceptions=True)


def apply() -> None:
    ProducerBuffer.flush = _flush_buffered_so_far  # type: ignore[method-assign]
