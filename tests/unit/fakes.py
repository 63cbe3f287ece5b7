"""In-memory stand-ins for the ports, for unit tests of the handlers (never for Kafka or PostGIS themselves)."""

from __future__ import annotations

from services.domain.events import Event
from services.domain.geo import Point


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Event]] = []

    def publish(self, topic: str, key: str, event: Event) -> None:
        self.sent.append((topic, key, event))


class FakeZones:
    def __init__(self, active: set[str], by_point: dict[tuple[float, float], str] | None = None) -> None:
        self.active = active
        self.by_point = by_point or {}

    def is_active(self, zone_id: str) -> bool:
        return zone_id in self.active

    def containing(self, point: Point) -> str | None:
        return self.by_point.get((point.lon, point.lat))
