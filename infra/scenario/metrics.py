"""The figures of a run, computed from its record (the world's truth, the drops driven) and the plans stored."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.domain.items import default_catalogue

from .run import RunResult

SHORT_DAYS = 1.0  # a zone-day counts as short when any item fell below one day of supply at any hour


def _day(hour: float, days: int) -> int:
    """Hourly samples are taken at the end of each hour: 1.0 … 24.0 belong to day 1."""
    return min(days, max(1, int((hour - 1e-6) // 24) + 1))


def compute(result: RunResult) -> dict[str, Any]:
    items = default_catalogue()
    zone_day_min: dict[tuple[str, int], float] = {}
    zone_day_item: dict[tuple[str, int], str] = {}
    for hour, zone, days, item in result.samples:
        key = (zone, _day(hour, result.days))
        if days < zone_day_min.get(key, float("inf")):
            zone_day_min[key], zone_day_item[key] = days, item
    short = sorted(k for k, v in zone_day_min.items() if v < SHORT_DAYS)
    daily_min = {d: round(min(v for (_, day), v in zone_day_min.items() if day == d), 3)
                 for d in sorted({day for _, day in zone_day_min})}

    # Approved plans, those a later revision replaced included (their trucks drove part of them): the km of both
    # count, an upper bound where a revision re-planned the rest of a route.
    approved = [p for p in result.plans if p["status"] in ("approved", "revised")]
    shortfall_kg: dict[str, float] = defaultdict(float)
    for plan in approved:
        for s in plan["allocation"].get("shortfalls", []):
            shortfall_kg[s["reason"]] += s["missing"] * items.get(s["item"]).kg_per_unit
    unserved: dict[str, int] = defaultdict(int)
    for plan in approved:
        for u in plan["unserved"]:
            unserved[u["reason"]] += 1
    empty_shelves_kg = sum(q * items.get(item).kg_per_unit for zone in result.unmet.values()
                           for item, q in zone.items())

    delivered = [d for d in result.drops if d.confirmed_h is not None and not d.failed_reason]
    on_time = [d for d in delivered if d.confirmed_h is not None and d.confirmed_h <= d.window_end_h]
    failed = [d for d in result.drops if d.failed_reason]

    vulnerable_total = vulnerable_served = 0
    for batch, count in result.vulnerable.items():
        zone_id = result.batch_zone_at_submission.get(batch)
        if not count or zone_id is None:
            continue
        vulnerable_total += count
        submitted = result.submissions[batch]
        if any(d.zone_id == zone_id and d.confirmed_h is not None and submitted <= d.confirmed_h <= submitted + 24
               for d in delivered):
            vulnerable_served += count

    return {
        "policy": result.policy, "scenario": result.scenario, "days": result.days, "speed": result.speed,
        "wall_s": round(result.wall_s, 1),
        "events_sent": dict(result.sent), "events_refused": dict(result.refused), "zone_changes": result.zone_changes,
        "zone_days": len(zone_day_min), "shortage_zone_days": len(short),
        "shortage_zone_days_list": [f"{z} day {d}: {zone_day_item[(z, d)]} {zone_day_min[(z, d)]:.2f}"
                                    for z, d in short],
        "min_days_of_supply_by_day": daily_min,
        "unmet_kg_by_reason": {k: round(v, 1) for k, v in sorted(shortfall_kg.items())},
        "unserved_orders_by_reason": dict(sorted(unserved.items())),
        "empty_shelves_kg": round(empty_shelves_kg, 1),
        "vulnerable_households_in_zones": vulnerable_total, "vulnerable_served_24h": vulnerable_served,
        "vulnerable_served_24h_share": round(vulnerable_served / vulnerable_total, 3) if vulnerable_total else None,
        "plans_stored": len(result.plans), "plans_approved": len(approved), "approvals": len(result.approvals),
        "morning_requests": result.plan_requests,
        "km_driven": round(sum(float(p["stats"].get("distance_km", 0.0)) for p in approved), 1),
        "drops": len(result.drops), "drops_delivered": len(delivered), "drops_failed": len(failed),
        "drops_on_time": len(on_time),
        "drops_on_time_share": round(len(on_time) / len(result.drops), 3) if result.drops else None,
        "changed_vehicle": sum(int(p["stats"].get("changed_vehicle", 0)) for p in result.plans),
        "changed_order": sum(int(p["stats"].get("changed_order", 0)) for p in result.plans),
        "stops_planned": sum(int(p["stats"].get("stops", 0)) for p in result.plans),
        "open_alerts_max": result.open_alerts_max,
    }
