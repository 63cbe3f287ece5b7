"""The district ledger: what each partition of the district-keyed streams has accepted, folded exactly once.

All entries of one source partition live in one table (keys carry a type prefix), so their changelog is one
ordered stream: a crash can lose only the last writes, never earlier ones. Each fold writes its idempotency
marker last, so a surviving marker means every write before it survived too.

- demand entries are keyed by event id and never change: a replay or a duplicate finds the key and stops;
- a sales point has one entry; snapshots replace its stock, deltas add to it; each entry remembers the last
  offset applied per source topic (replays) and a marker per event id catches duplicates published twice;
- a delivery has one entry that moves planned → delivered or failed, and a confirmed drop adds to the
  sales point it was for, unless that point's last snapshot reached Kafka after the drop (it already counts it).

Stock reports and deliveries arrive on two topics, read in no fixed order between them: live, about as they came;
a rebuild reads each topic's backlog in its own order. Given the time each message reached Kafka (`produced_at`,
its record timestamp), a point's stock depends only on those times, not on which of a snapshot and a drop was
read first; without it, on the order read.

Events are folded in batches through a `Batch`, which sends each key touched to the changelog once per batch, in
an order that keeps the rule above (entries, then deliveries, then markers; see `Batch.writes`).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .demand import DemandReport
from .events import DeliveryConfirmed, DeliveryPlanned, StockReported
from .places import SalesPointStatus

Table = MutableMapping[str, Any]

DEMAND, POINT, DELIVERY, SEEN = "d:", "p:", "v:", "s:"
# Commit order of a batch by key prefix (anything else, e.g. price state, goes with the entries): a delivery is the
# idempotency marker of its confirmation, so it follows the sales point that confirmation added to, and event-id
# markers follow everything.
_COMMIT_RANK = {DELIVERY: 1, SEEN: 2}


@dataclass
class DemandEntry:
    partition: int
    commune: str
    district: str
    at: str
    households: int
    people: int
    vulnerable: dict[str, int]
    need: dict[str, float]
    zone_hint: str | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass
class PointEntry:
    partition: int
    point_id: str
    commune: str
    district: str
    lon: float
    lat: float
    status: str
    stock: dict[str, float]
    at: str
    offsets: dict[str, int] = field(default_factory=dict)
    counted_at: float | None = None  # when its last snapshot reached Kafka (None: unknown, or none yet)
    drops: dict[str, list[Any]] = field(default_factory=dict)  # delivery key → [when, goods] confirmed after it

    @property
    def open(self) -> bool:
        return self.status == SalesPointStatus.OPEN.value


@dataclass
class DeliveryEntry:
    partition: int
    plan_id: str
    stop_id: str
    commune: str
    district: str
    lon: float
    lat: float
    planned: dict[str, float]
    status: str = "planned"  # planned | delivered | failed
    delivered: dict[str, float] = field(default_factory=dict)
    point_id: str | None = None
    zone_hint: str | None = None
    reason: str | None = None
    at: str = ""

    @property
    def on_way(self) -> bool:
        return self.status == "planned"


Entry = DemandEntry | PointEntry | DeliveryEntry
_KINDS: dict[str, type[DemandEntry] | type[PointEntry] | type[DeliveryEntry]] = {
    DEMAND: DemandEntry, POINT: PointEntry, DELIVERY: DeliveryEntry}


def asdict(entry: Entry) -> dict[str, Any]:
    """The stored form of an entry: a shallow copy (entries never mutate the dicts they hold)."""
    return dict(entry.__dict__)


def entry_from(key: str, value: dict[str, Any]) -> Entry | None:
    """The entry stored under a table key; None for markers."""
    kind = _KINDS.get(key[:2])
    return kind(**value) if kind else None


@dataclass(frozen=True)
class Change:
    """What a fold did: entries before and after (None when absent), for the derived coverage book."""

    before: Entry | None
    after: Entry | None


def fold_demand(table: Table, event_id: str, district: str, report: DemandReport, need: dict[str, float],
                at: str, partition: int) -> list[Change]:
    """Record a demand submission once; re-delivery and duplicates change nothing."""
    key = DEMAND + event_id
    if key in table:
        return []
    entry = DemandEntry(partition=partition, commune=report.commune_code, district=district, at=at,
                        households=report.households, people=report.people,
                        vulnerable={g.value: n for g, n in report.vulnerable.items() if n},
                        need={k: round(v, 6) for k, v in need.items()}, zone_hint=report.zone_id,
                        lon=report.location.lon if report.location else None,
                        lat=report.location.lat if report.location else None)
    table[key] = asdict(entry)
    return [Change(None, entry)]


def fold_stock(table: Table, event: StockReported, topic: str, offset: int, partition: int,
               produced_at: float | None = None) -> list[Change]:
    """Apply a snapshot or delta to a sales point, once per event; a snapshot keeps the drops that reached Kafka
    after it (when `produced_at` is known)."""
    if SEEN + event.event_id in table:
        return []
    key = POINT + event.point_id
    stored = table.get(key)
    before = PointEntry(**stored) if stored is not None else None
    if before is not None and before.offsets.get(topic, -1) >= offset:
        table[SEEN + event.event_id] = offset  # applied before a crash; only the marker was lost
        return []
    drops = dict(before.drops) if before is not None else {}
    counted_at = before.counted_at if before is not None else None
    if event.is_delta:
        stock = dict(before.stock) if before is not None else {}
    else:  # what the point holds now, plus the drops confirmed after it was counted (read before it or not)
        drops, counted_at = ({key: drop for key, drop in drops.items() if drop[0] > produced_at}, produced_at) \
            if produced_at is not None else ({}, None)
        stock = {}
        for _, goods in drops.values():
            _add(stock, goods)
    for code, quantity in event.quantities.items():
        stock[code] = round(max(0.0, stock.get(code, 0.0) + quantity), 6)
    offsets = {**(before.offsets if before else {}), topic: offset}
    after = PointEntry(partition=partition, point_id=event.point_id, commune=event.commune_code,
                       district=event.district_code, lon=event.location.lon, lat=event.location.lat,
                       status=event.status.value, stock=stock, at=event.occurred_at.isoformat(), offsets=offsets,
                       counted_at=counted_at, drops=drops)
    table[key] = asdict(after)
    table[SEEN + event.event_id] = offset
    return [Change(before, after)]


def fold_delivery_planned(table: Table, event: DeliveryPlanned, partition: int) -> list[Change]:
    """Goods on the way; a stop planned again (a new plan version) replaces the quantities while still planned."""
    key = DELIVERY + f"{event.plan_id}|{event.stop_id}"
    stored = table.get(key)
    before = DeliveryEntry(**stored) if stored is not None else None
    if before is not None and (not before.on_way or before.planned == event.quantities):
        return []
    after = DeliveryEntry(partition=partition, plan_id=event.plan_id, stop_id=event.stop_id,
                          commune=event.commune_code, district=event.district_code, lon=event.location.lon,
                          lat=event.location.lat, planned=dict(event.quantities), point_id=event.point_id,
                          zone_hint=event.zone_id, at=event.occurred_at.isoformat())
    table[key] = asdict(after)
    return [Change(before, after)]


def fold_delivery_confirmed(table: Table, event: DeliveryConfirmed, topic: str, offset: int,
                            produced_at: float | None = None) -> list[Change]:
    """A drop confirmed (stock moves from on-the-way to the sales point) or failed (nothing arrives)."""
    key = DELIVERY + f"{event.plan_id}|{event.stop_id}"
    stored = table.get(key)
    if stored is None:
        raise KeyError(f"{event.plan_id}/{event.stop_id}")
    before = DeliveryEntry(**stored)
    if not before.on_way:
        return []
    changes: list[Change] = []
    delivered = {} if event.failed_reason else {k: v for k, v in event.quantities.items() if v > 0}
    point_id = event.point_id or before.point_id
    stored_point = table.get(POINT + point_id) if point_id else None
    if point_id is not None and stored_point is None and produced_at is None:
        point_id = None  # a point this partition does not know (yet): the goods count as stock of the area
    if delivered and point_id:
        # The sales point first: if the delivery's new state survives a crash, so does this. With times known, a
        # point not reported yet gets an entry where the goods were dropped (its first snapshot, whenever read,
        # says where it is and what is left).
        point_before = PointEntry(**stored_point) if stored_point is not None else None
        base = point_before or PointEntry(partition=before.partition, point_id=point_id, commune=before.commune,
                                          district=before.district, lon=before.lon, lat=before.lat,
                                          status=SalesPointStatus.OPEN.value, stock={}, at="")
        counted_later = produced_at is not None and base.counted_at is not None and produced_at < base.counted_at
        if base.offsets.get(topic, -1) < offset and not counted_later:
            stock = dict(base.stock)
            _add(stock, delivered)
            drops = {**base.drops, key: [produced_at, delivered]} if produced_at is not None else base.drops
            point_after = PointEntry(**{**asdict(base), "stock": stock, "offsets": {**base.offsets, topic: offset},
                                        "drops": drops})
            table[POINT + point_id] = asdict(point_after)
            changes.append(Change(point_before, point_after))
    after = DeliveryEntry(**{**asdict(before), "status": "failed" if event.failed_reason else "delivered",
                             "delivered": delivered, "reason": event.failed_reason, "point_id": point_id,
                             "at": event.occurred_at.isoformat()})
    table[key] = asdict(after)
    changes.append(Change(before, after))
    return changes


def _add(stock: dict[str, float], goods: dict[str, float]) -> None:
    for code, quantity in goods.items():
        stock[code] = round(stock.get(code, 0.0) + quantity, 6)


class Batch(MutableMapping[str, Any]):
    """The ledger while a batch of events is folded: writes go through to the table at once (so reads, and a
    rebuild of the book, always see them), and are remembered, each key once with its last value, to be sent to
    the changelog when the batch is committed.

    `at(partition)` says which source partition the next writes belong to (the table is partitioned like its
    sources). `writes()` gives entries first, then deliveries, then event-id markers, so that within one changelog
    partition a marker is always stored after everything the events it marks wrote: a crash that loses a suffix
    of the writes never keeps a marker without its entries. The ledger never deletes, so neither does a batch.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.partition = 0
        self._written: dict[str, int] = {}

    def at(self, partition: int) -> Batch:
        self.partition = partition
        return self

    def __getitem__(self, key: str) -> Any:
        return self.table[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.table

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[key] = value
        self._written[key] = self.partition

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("the ledger never deletes")

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def writes(self) -> list[tuple[int, str, Any]]:
        """(partition, key, value) of every key written, in commit order (first-written first within a rank)."""
        ordered = sorted(self._written.items(), key=lambda kv: _COMMIT_RANK.get(kv[0][:2], 0))
        return [(partition, key, self.table[key]) for key, partition in ordered]
