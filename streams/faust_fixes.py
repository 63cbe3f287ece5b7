"""A fix for faust-streaming's producer buffer, applied when the streams app is imported.

`ProducerBuffer.flush()` gives up after 0.1 s without progress and returns with messages still buffered. The
consumer calls it before committing offsets, so under load offsets could be committed ahead of table changelog
writes still sitting in the buffer: a crash then lost accepted events (seen in tests/integration/
test_crash_and_scale.py). Here `flush()` returns only once the buffer is empty.
"""

from __future__ import annotations

import asyncio

from faust.transport.producer import ProducerBuffer


async def _flush_until_empty(self: ProducerBuffer) -> None:
    while self.size:
        await self.flush_atmost(None)
        if self.size:
            await asyncio.sleep(0.01)


def apply() -> None:
    ProducerBuffer.flush = _flush_until_empty  # type: ignore[method-assign]
