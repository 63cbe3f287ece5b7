"""What the handlers need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Protocol

from .domain.events import Event


class EventPublisher(Protocol):
    def publish(self, topic: str, key: str, event: Event) -> None:
        """Send an event with a key; raises if the broker does not acknowledge it."""

    def publish_many(self, topic: str, keyed: list[tuple[str, Event]]) -> None:
        """Send (key, event) pairs; returns once the broker acknowledged all of them."""


# faust tables and plain dicts both satisfy this.
StateTable = MutableMapping[str, Any]
