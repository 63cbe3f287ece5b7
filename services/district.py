"""The district processor: folds district-keyed events into the ledger and keeps the coverage book current.

Framework-free: the faust agent hands it decoded events with their position and a table to write to; a timer
asks it for the areas that changed. Everything it needs is passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .adapters.zone_index import ZoneIndex
from .domain import ledger
from .domain.admin import AdminCatalogue
from .domain.alerts import PriceRule, ShortageRule, price_watch
from .domain.coverage import COMMUNE, DISTRICT, ZONE_PART, CoverageBook, Totals, zone_part
from .domain.demand import OUTSIDE_ZONES
from .domain.errors import UnknownReference
from .domain.events import (
    AreaCoverage,
    DeliveryConfirmed,
    DeliveryPlanned,
    DemandSubmitted,
    Event,
    PlanRequested,
    PriceAlert,
    PriceReported,
    StockReported,
)
from .domain.items import Catalogue
from .topics import Topics

PRICE = "$:"
PLAN_CHECK_EVERY = timedelta(seconds=1)


@dataclass
class Outgoing:
    topic: str
    key: str
    event: Event


@dataclass
class DistrictProcessor:
    admin: AdminCatalogue
    items: Catalogue
    zones: ZoneIndex
    topics: Topics
    shortage: ShortageRule = field(default_factory=ShortageRule)
    prices: PriceRule = field(default_factory=PriceRule)
    plan_debounce: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        self.book = CoverageBook(self.zones.zone_of)
        self._plan_signatures: dict[str, frozenset[str]] = {}
        self._planned_at: dict[str, datetime] = {}
        self._to_check: set[str] = set()
        self._checked_at: datetime | None = None

    def check_references(self, event: Event) -> None:
        """Raise UnknownReference for a commune, district, item or zone the system does not know."""
        district = getattr(event, "district_code", "")
        commune = getattr(event, "commune_code", None)
        if isinstance(event, DemandSubmitted):
            commune = event.report.commune_code
            for line in event.report.needs:  # the only items a report names (its daily need raises for these)
                self.items.get(line.item_code)
        if isinstance(event, DeliveryPlanned) and event.zone_id and not commune:
            commune = None  # a drop for a zone (at its checkpoint) counts for the zone and the district only
        if commune is not None:
            if not self.admin.has_commune(commune):
                raise UnknownReference("commune_code", commune)
            if self.admin.district_of(commune) != district:
                raise UnknownReference("district_code", district)
        elif district not in self.admin.units:
            raise UnknownReference("district_code", district)
        for code in _item_codes(event):
            self.items.get(code)
        zone = event.report.zone_id if isinstance(event, DemandSubmitted) else getattr(event, "zone_id", None)
        # A zone declared at some time is a known reference, even if lifted since: the entry then counts where
        # it lies (ZoneIndex.zone_of). Refusing lifted zones made the outcome depend on when the event was read:
        # a rebuild from the topics, which knows every lift before it folds the first event, dead-lettered
        # demand and drops the live worker had accepted while their zone was active.
        if zone is not None and self.zones.district_of(zone) is None:
            raise UnknownReference("zone_id", zone)

    def fold(self, table: ledger.Table, event: Event, topic: str, partition: int, offset: int,
             produced_at: float | None = None) -> list[Outgoing]:
        """Fold one checked event into the ledger and the book; returns derived events to publish. `produced_at`,
        when the message reached Kafka (its timestamp), makes a point's stock independent of the order the stock
        and deliveries topics are read in (a rebuild reads them in another order than the live worker did)."""
        changes: list[ledger.Change] = []
        out: list[Outgoing] = []
        if isinstance(event, DemandSubmitted):
            changes = ledger.fold_demand(table, event.event_id, event.district_code, event.report,
                                         event.report.daily_need(self.items), event.occurred_at.isoformat(), partition)
        elif isinstance(event, StockReported):
            changes = ledger.fold_stock(table, event, topic, offset, partition, produced_at)
        elif isinstance(event, DeliveryPlanned):
            changes = ledger.fold_delivery_planned(table, event, partition)
        elif isinstance(event, DeliveryConfirmed):
            try:
                changes = ledger.fold_delivery_confirmed(table, event, topic, offset, produced_at)
            except KeyError:
                raise UnknownReference("stop_id", f"{event.plan_id}/{event.stop_id}") from None
        elif isinstance(event, PriceReported):
            out = self._fold_price(table, event, offset)
        self.book.apply(changes)
        return out

    def _fold_price(self, table: ledger.Table, event: PriceReported, offset: int) -> list[Outgoing]:
        key = f"{PRICE}{event.district_code}|{event.item_code}"
        state = table.get(key)
        if state is not None and state.get("offset", -1) >= offset:
            return []
        reference = self.items.get(event.item_code).reference_price_vnd
        new_state, outcome = price_watch(state, event.price_vnd, event.place, event.occurred_at, reference,
                                         self.prices)
        table[key] = {**new_state, "offset": offset}
        if outcome is None:
            return []
        prices = [int(r[0]) for r in new_state["recent"]]
        alert = PriceAlert(
            event_id=f"price:{event.district_code}:{event.item_code}:{new_state['opened_at']}:{offset}",
            occurred_at=event.occurred_at, alert_id=f"{event.district_code}:{event.item_code}:{new_state['opened_at']}",
            district_code=event.district_code, item_code=event.item_code,
            status="resolved" if outcome == "resolved" else "open", reference_price_vnd=reference,
            max_price_vnd=max(prices), median_price_vnd=int(sorted(prices)[len(prices) // 2]), reports=len(prices),
            places=sorted({str(r[1]) for r in new_state["recent"]}))
        return [Outgoing(self.topics.price_alerts, event.district_code, alert)]

    def rebuild(self, table_items: Iterable[tuple[str, Any]], partitions: set[int]) -> None:
        """Recompute the book from the ledger entries of the partitions this worker owns."""
        entries = (e for key, value in table_items
                   if (e := ledger.entry_from(key, value)) is not None and e.partition in partitions)
        self.book.rebuild(entries)

    def flush(self, now: datetime | None = None) -> list[Outgoing]:
        """Coverage of the areas changed since the last flush, and plan requests for districts at new risk."""
        now = now or datetime.now(UTC)
        out: list[Outgoing] = []
        for (level, area_id), totals in self.book.take_dirty():
            if level == ZONE_PART:
                zone, district = zone_part(area_id)
                topic, key = self.topics.zone_parts, zone
            else:
                zone, district = None, area_id if level == DISTRICT else self.admin.district_of(area_id) or ""
                topic, key = self.topics.coverage, area_id
            out.append(Outgoing(topic, key, coverage_event(level, area_id, district, zone, totals, now)))
            self._to_check.add(district)
        if self._to_check and (self._checked_at is None or now - self._checked_at >= PLAN_CHECK_EVERY):
            out.extend(self._plan_requests(now))
        return out

    def _plan_requests(self, now: datetime) -> list[Outgoing]:
        """Districts where some (area, item) fell below its threshold get a plan request, debounced; one whose
        short areas only recovered does not (a plan approved for it is what made them recover)."""
        self._checked_at = now
        short: dict[str, set[str]] = {d: set() for d in self._to_check}
        for (level, area_id), totals in self.book.areas.items():
            if level not in (ZONE_PART, COMMUNE):
                continue
            district = zone_part(area_id)[1] if level == ZONE_PART else self.admin.district_of(area_id) or ""
            if district in short:
                short[district].update(
                    f"{level}:{area_id}:{item}" for item, days in totals.days_of_supply().items()
                    if days is not None and days < self.shortage.threshold(item, self.items))
        out: list[Outgoing] = []
        for district in sorted(short):
            signature = frozenset(short[district])
            previous = self._plan_signatures.get(district, frozenset())
            self._to_check.discard(district)
            if not signature - previous:  # nothing new is short
                self._plan_signatures[district] = signature
                continue
            last = self._planned_at.get(district)
            if last is not None and now - last < self.plan_debounce:
                self._to_check.add(district)  # looked at again until the debounce has passed
                continue
            self._plan_signatures[district] = signature
            self._planned_at[district] = now
            out.append(Outgoing(self.topics.plan_requests, district, PlanRequested(
                event_id=str(uuid.uuid4()), occurred_at=now, district_code=district,
                reasons=sorted(signature - previous)[:50])))
        return out


def coverage_event(level: str, area_id: str, district: str, zone: str | None, totals: Totals,
                   now: datetime) -> AreaCoverage:
    """The published picture of one area."""
    return AreaCoverage(
        event_id=f"coverage:{level}:{area_id}:{now.isoformat()}", occurred_at=now, level=level, area_id=area_id,
        district_code=district, zone_id=zone if zone != OUTSIDE_ZONES else None, households=totals.households,
        people=totals.people, vulnerable=dict(totals.vulnerable), need=dict(totals.need), stock=dict(totals.stock),
        on_way=dict(totals.on_way), days_of_supply=totals.days_of_supply(),
        last_report_at=datetime.fromisoformat(totals.last_report_at) if totals.last_report_at else None,
        max_event_at=datetime.fromisoformat(totals.max_event_at) if totals.max_event_at else None)




def _item_codes(event: Event) -> list[str]:
    if isinstance(event, StockReported | DeliveryPlanned | DeliveryConfirmed):
        return list(event.quantities)
    if isinstance(event, PriceReported):
        return [event.item_code]
    return []
