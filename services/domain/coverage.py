"""The live coverage picture: need, stock and goods on the way per area, and days of supply.

The book is derived state: a pure function of the ledger entries and the zone each entry falls in. It is never
stored; it is rebuilt from the ledger after a restart, a rebalance or a zone redraw, and kept current in between
by adding and removing entries. Areas: the part of a zone inside one district ("zone-part", keyed
"zone|district"), the commune and the district.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .demand import OUTSIDE_ZONES
from .ledger import Change, DeliveryEntry, DemandEntry, Entry, PointEntry

ZONE_PART, COMMUNE, DISTRICT, ZONE = "zone-part", "commune", "district", "zone"

ZoneOf = Callable[[Entry], str]  # the zone an entry falls in now, or OUTSIDE_ZONES


@dataclass
class Totals:
    """Sums over the entries of one area."""

    households: int = 0
    people: int = 0
    vulnerable: dict[str, int] = field(default_factory=dict)
    need: dict[str, float] = field(default_factory=dict)
    stock: dict[str, float] = field(default_factory=dict)
    on_way: dict[str, float] = field(default_factory=dict)
    last_report_at: str | None = None
    max_event_at: str | None = None
    entries: int = 0

    def add(self, entry: Entry, sign: int) -> None:
        self.entries += sign
        if isinstance(entry, DemandEntry):
            self.households += sign * entry.households
            self.people += sign * entry.people
            _merge(self.vulnerable, entry.vulnerable, sign)
            _merge(self.need, entry.need, sign)
        elif isinstance(entry, PointEntry):
            if entry.open:
                _merge(self.stock, entry.stock, sign)
        elif entry.on_way:
            _merge(self.on_way, entry.planned, sign)
        elif entry.point_id is None:  # handed over to the zone's team (no sales point): stock in the area
            _merge(self.stock, entry.delivered, sign)
        at = entry.at
        if sign > 0 and at:  # the latest of the times seen (empty times do not count)
            if not isinstance(entry, DeliveryEntry) and (self.last_report_at is None or at > self.last_report_at):
                self.last_report_at = at
            if self.max_event_at is None or at > self.max_event_at:
                self.max_event_at = at

    def days_of_supply(self) -> dict[str, float | None]:
        """Per item: (stock + on the way) / daily need; None where nothing is needed."""
        items = set(self.need) | set(self.stock) | set(self.on_way)
        return {item: days_of_supply(self.stock.get(item, 0.0) + self.on_way.get(item, 0.0),
                                     self.need.get(item, 0.0)) for item in sorted(items)}

    def merged(self, other: Totals) -> Totals:
        """The sum of two areas (parts of one zone in different districts)."""
        total = Totals()
        for part in (self, other):
            total.households += part.households
            total.people += part.people
            total.entries += part.entries
            for mine, theirs in ((total.vulnerable, part.vulnerable), (total.need, part.need),
                                 (total.stock, part.stock), (total.on_way, part.on_way)):
                _merge(mine, theirs, 1)
            total.last_report_at = max(filter(None, (total.last_report_at, part.last_report_at)), default=None)
            total.max_event_at = max(filter(None, (total.max_event_at, part.max_event_at)), default=None)
        return total


def days_of_supply(available: float, need_per_day: float) -> float | None:
    if need_per_day <= 1e-9:
        return None
    return round(available / need_per_day, 3)


def _merge(target: dict[str, float] | dict[str, int], source: dict[str, float] | dict[str, int], sign: int) -> None:
    get = target.get
    for key, value in source.items():
        updated = get(key, 0) + sign * value
        if -1e-6 < updated < 1e-6:
            target.pop(key, None)
        else:
            target[key] = round(updated, 6)  # type: ignore[assignment]


class CoverageBook:
    """Totals per area for the partitions this worker owns; remembers which areas changed since the last flush."""

    def __init__(self, zone_of: ZoneOf) -> None:
        self.zone_of = zone_of
        self.areas: dict[tuple[str, str], Totals] = {}
        self.dirty: set[tuple[str, str]] = set()

    def rebuild(self, entries: Iterable[Entry]) -> None:
        """Start again from the ledger (after recovery, rebalance or a zone change); every area becomes dirty."""
        previous = set(self.areas)
        self.areas = {}
        for entry in entries:
            self._apply(entry, 1)
        self.dirty |= previous | set(self.areas)

    def apply(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if change.before is not None:
                self._apply(change.before, -1)
            if change.after is not None:
                self._apply(change.after, 1)

    def _apply(self, entry: Entry, sign: int) -> None:
        zone = self.zone_of(entry)
        keys = [(ZONE_PART, f"{zone}|{entry.district}"), (COMMUNE, entry.commune), (DISTRICT, entry.district)]
        for key in keys if entry.commune else [keys[0], keys[2]]:  # a drop for a zone may name no commune
            totals = self.areas.get(key)
            if totals is None:
                totals = self.areas[key] = Totals()
            totals.add(entry, sign)
            self.dirty.add(key)

    def take_dirty(self) -> list[tuple[tuple[str, str], Totals]]:
        """The areas changed since the last call (an emptied area comes back as empty totals)."""
        changed = [(key, self.areas.get(key, Totals())) for key in sorted(self.dirty)]
        self.dirty = set()
        return changed


def zone_part(area_id: str) -> tuple[str, str]:
    """(zone_id, district_code) of a zone-part area id."""
    zone, _, district = area_id.rpartition("|")
    return zone, district


__all__ = ["COMMUNE", "DISTRICT", "OUTSIDE_ZONES", "ZONE", "ZONE_PART", "CoverageBook", "Totals", "days_of_supply",
           "zone_part"]
