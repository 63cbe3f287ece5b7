"""Alert rules: shortages of days of supply per zone and item, and price hikes per area and item."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .items import Catalogue


@dataclass(frozen=True)
class ShortageRule:
    """Thresholds in days of supply: the default, a shorter one for perishables, and per-item overrides.

    An alert opens when days of supply fall below the threshold and resolves only when they climb back above
    threshold × `resolve_factor`, so values hovering around the line do not flap.
    """

    default_days: float = 3.0
    perishable_days: float = 1.0
    by_item: dict[str, float] = field(default_factory=dict)
    resolve_factor: float = 1.25

    def threshold(self, item_code: str, catalogue: Catalogue) -> float:
        if item_code in self.by_item:
            return self.by_item[item_code]
        if item_code in catalogue and catalogue.get(item_code).perishable:
            return self.perishable_days
        return self.default_days


@dataclass(frozen=True)
class ShortageTransition:
    item_code: str
    status: str  # open | resolved
    days_of_supply: float | None
    threshold: float


def shortage_transitions(open_items: set[str], days: dict[str, float | None], rule: ShortageRule,
                         catalogue: Catalogue) -> list[ShortageTransition]:
    """Which items open or resolve a shortage, given the items already open and the current days of supply."""
    transitions = []
    for item in sorted(set(days) | open_items):
        value = days.get(item)
        threshold = rule.threshold(item, catalogue)
        if item not in open_items and value is not None and value < threshold:
            transitions.append(ShortageTransition(item, "open", value, threshold))
        elif item in open_items and (value is None or value >= threshold * rule.resolve_factor):
            transitions.append(ShortageTransition(item, "resolved", value, threshold))
    return transitions


@dataclass(frozen=True)
class PriceRule:
    margin: float = 0.20  # a report more than 20% above the reference price is a hike
    window: timedelta = timedelta(hours=24)
    keep: int = 50


def price_watch(state: dict[str, Any] | None, price: int, place: str, at: datetime, reference: int,
                rule: PriceRule) -> tuple[dict[str, Any], str | None]:
    """Fold one price report into an area's recent reports for an item.

    Returns the new state and "open", "update" or "resolved" when an alert should be (re)published. One alert per
    area and item stays open while the median of recent reports is above the limit, gathering the reports.
    """
    limit = reference * (1 + rule.margin)
    recent = [r for r in (state or {}).get("recent", []) if datetime.fromisoformat(r[2]) > at - rule.window]
    recent = [*recent, [price, place, at.isoformat()]][-rule.keep:]
    median = statistics.median(r[0] for r in recent)
    was_open = bool((state or {}).get("open"))
    opened_at = (state or {}).get("opened_at")
    outcome: str | None = None
    if not was_open and price > limit:
        outcome, opened_at, is_open = "open", at.isoformat(), True
    elif was_open and median <= limit:
        outcome, is_open = "resolved", False
    else:
        is_open = was_open
        if was_open and price > limit:
            outcome = "update"
    return {"recent": recent, "open": is_open, "opened_at": opened_at}, outcome
