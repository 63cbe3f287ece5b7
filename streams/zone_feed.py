"""Every worker reads the whole zone-change stream (no consumer group) to keep its own zone index current."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.adapters.zone_index import ZoneIndex
from services.domain.errors import DomainError
from services.domain.events import Event
from services.messages import MessageError, decode

log = logging.getLogger("greenlane.zones")


class ZoneFeed:
    def __init__(self, bootstrap: str, topic: str, partitions: int, index: ZoneIndex,
                 on_change: Callable[[], None], check: Callable[[Event], None]) -> None:
        """`check` raises a DomainError for a change the zones agent dead-letters: the index leaves it out too."""
        self.bootstrap, self.topic, self.index, self.on_change = bootstrap, topic, index, on_change
        self.check = check
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self.ready = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        """Read from the beginning, then follow; `ready` is set once the backlog present at start is applied."""
        consumer = self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                                     enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign(self._partitions)
            await consumer.seek_to_beginning(*self._partitions)
            backlog = await consumer.end_offsets(self._partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                changed = False
                for messages in batches.values():
                    for message in messages:
                        try:
                            change = decode(message.value)
                            self.check(change)
                        except (MessageError, DomainError) as exc:
                            log.warning("zone event at %s/%s left out of the index (dead-lettered): %s",
                                        message.partition, message.offset, exc)
                            continue
                        changed |= self.index.apply(change)
                if not self.ready.is_set():
                    if await self._reached(backlog):
                        log.info("zone index ready: %d zones", len(self.index.zones))
                        self.ready.set()
                        self.on_change()
                elif changed:
                    self.on_change()
        finally:
            await consumer.stop()

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None
        for tp, end in ends.items():
            if await self._consumer.position(tp) < end:
                return False
        return True

    async def caught_up(self, timeout_s: float = 5.0) -> bool:
        """Wait until every zone change published so far has been applied (used before refusing a zone id)."""
        if self._consumer is None:
            return False
        ends = await self._consumer.end_offsets(self._partitions)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not await self._reached(ends):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True
