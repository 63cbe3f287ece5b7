"""Zone coverage: sums each district's part of a zone, and opens or resolves shortage alerts for the zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .district import coverage_event
from .domain.alerts import ShortageRule, shortage_transitions
from .domain.coverage import ZONE, Totals
from .domain.events import AreaCoverage, ShortageAlert
from .domain.items import Catalogue


def totals_of(part: AreaCoverage) -> Totals:
    return Totals(households=part.households, people=part.people, vulnerable=dict(part.vulnerable),
                  need=dict(part.need), stock=dict(part.stock), on_way=dict(part.on_way),
                  last_report_at=part.last_report_at.isoformat() if part.last_report_at else None,
                  max_event_at=part.max_event_at.isoformat() if part.max_event_at else None)


def _totals_from_dict(data: dict[str, Any]) -> Totals:
    return Totals(**data)


@dataclass(frozen=True)
class ZoneUpdate:
    state: dict[str, Any]
    coverage: AreaCoverage
    alerts: list[ShortageAlert]


def fold_zone_part(state: dict[str, Any] | None, part: AreaCoverage, rule: ShortageRule, items: Catalogue,
                   now: datetime, home_district: str | None = None) -> ZoneUpdate:
    """Replace one district's part of a zone (parts are full values, so a replay changes nothing). The zone's row
    belongs to `home_district`, the district that declared it and plans its deliveries (when not known: the
    smallest district code among its parts)."""
    assert part.zone_id is not None
    state = state or {"parts": {}, "open": {}, "opened": {}}
    parts = dict(state["parts"])
    totals = totals_of(part)
    if totals.households or totals.need or totals.stock or totals.on_way:
        parts[part.district_code] = totals.__dict__
    else:
        parts.pop(part.district_code, None)
    zone_total = Totals()
    for data in parts.values():
        zone_total = zone_total.merged(_totals_from_dict(data))
    coverage = coverage_event(ZONE, part.zone_id, home_district or min(parts, default=part.district_code),
                              part.zone_id, zone_total, now)
    open_alerts: dict[str, str] = dict(state["open"])
    opened: dict[str, int] = dict(state["opened"])
    alerts = []
    for t in shortage_transitions(set(open_alerts), coverage.days_of_supply, rule, items):
        if t.status == "open":
            opened[t.item_code] = opened.get(t.item_code, 0) + 1
            alert_id = f"{part.zone_id}:{t.item_code}:{opened[t.item_code]}"
            open_alerts[t.item_code] = alert_id
        else:
            alert_id = open_alerts.pop(t.item_code)
        alerts.append(ShortageAlert(
            event_id=f"{alert_id}:{t.status}", occurred_at=now, alert_id=alert_id, zone_id=part.zone_id,
            item_code=t.item_code, status=t.status, days_of_supply=t.days_of_supply, threshold_days=t.threshold,
            district_codes=sorted(parts)))
    return ZoneUpdate({"parts": parts, "open": open_alerts, "opened": opened}, coverage, alerts)
