"""Generated district traffic with an independent tally of what was sent, for crash and scale-out tests."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from services.adapters.geodata import read_catalogue
from services.adapters.kafka import KafkaPublisher
from services.domain.admin import AdminLevel
from services.domain.demand import DemandReport
from services.domain.events import DemandSubmitted, Event, StockReported
from services.domain.geo import Point
from services.topics import Topics

ADMIN = read_catalogue(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn", ("79",))
COMMUNES = sorted(u.code for u in ADMIN.of_level(AdminLevel.COMMUNE))


@dataclass
class Tally:
    """What each district should show once everything sent has been processed exactly once."""

    households: Counter[str] = field(default_factory=Counter)
    rice_stock: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    sent: int = 0
    duplicates: int = 0


class Traffic:
    def __init__(self, topics: Topics, seed: int = 7) -> None:
        self.topics = topics
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.points: dict[str, tuple[str, str]] = {}  # point id → (commune, district)

    def batch(self, size: int) -> list[tuple[str, str, Event]]:
        """`size` new events (demand, and stock deltas for a few hundred sales points), some sent twice."""
        now = datetime.now(UTC)
        out: list[tuple[str, str, Event]] = []
        for _ in range(size):
            commune = self.rng.choice(COMMUNES)
            district = ADMIN.district_of(commune) or ""
            event: Event
            if self.rng.random() < 0.7:
                households = self.rng.randint(1, 30)
                event = DemandSubmitted(event_id=f"d-{self.rng.getrandbits(64):x}", occurred_at=now,
                                        district_code=district, report=DemandReport(
                                            commune_code=commune, households=households, people=3 * households))
                self.tally.households[district] += households
                topic = self.topics.demand
            else:
                point = f"sp-{commune}-{self.rng.randint(0, 2)}"
                self.points[point] = (commune, district)
                quantity = float(self.rng.randint(1, 50))
                event = StockReported(event_id=f"s-{self.rng.getrandbits(64):x}", occurred_at=now,
                                      district_code=district, point_id=point, commune_code=commune,
                                      location=Point(106.7, 10.78), quantities={"rice": quantity}, is_delta=True)
                self.tally.rice_stock[district] += quantity
                topic = self.topics.stock
            out.append((topic, district, event))
            self.tally.sent += 1
            if self.rng.random() < 0.05:  # a producer retry: the same event again
                out.append((topic, district, event))
                self.tally.duplicates += 1
        return out

    @staticmethod
    def send(publisher: KafkaPublisher, events: list[tuple[str, str, Event]]) -> None:
        by_topic: dict[str, list[tuple[str, Event]]] = defaultdict(list)
        for topic, key, event in events:
            by_topic[topic].append((key, event))
        for topic, keyed in by_topic.items():
            publisher.publish_many(topic, keyed)


def district_totals(projections: object) -> tuple[Counter[str], dict[str, float]]:
    """Households and rice stock per district as the PostGIS projection shows them."""
    rows = projections.coverage_rows(level="district")  # type: ignore[attr-defined]
    return (Counter({r["area_id"]: r["households"] for r in rows if r["households"]}),
            {r["area_id"]: r["stock"].get("rice", 0.0) for r in rows if r["stock"].get("rice")})


def mismatch(tally: Tally, projections: object) -> dict[str, object]:
    """Per district, what the projection shows where it differs from the tally (empty when they agree)."""
    households, stock = district_totals(projections)
    diff: dict[str, object] = {}
    for district in set(households) | set(tally.households) | set(stock) | set(tally.rice_stock):
        shown = (households.get(district, 0), round(stock.get(district, 0.0), 6))
        sent = (tally.households.get(district, 0), round(tally.rice_stock.get(district, 0.0), 6))
        if shown != sent:
            diff[district] = {"shown": shown, "sent": sent}
    return diff


def matches(tally: Tally, projections: object) -> bool:
    return not mismatch(tally, projections)
