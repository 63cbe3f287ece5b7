"""The province line of the roll-up: the districts' totals added up (reports flow commune → district → province)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .domain.coverage import days_of_supply


def province_row(code: str, name: str, districts: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of the district rows; days of supply from the totals; `missing_report` if any district is missing."""
    sums: dict[str, dict[str, float]] = {"need": defaultdict(float), "stock": defaultdict(float),
                                         "on_way": defaultdict(float)}
    for row in districts:
        for key, total in sums.items():
            for item, quantity in (row[key] or {}).items():
                total[item] += quantity
    days = {item: days_of_supply(sums["stock"].get(item, 0.0) + sums["on_way"].get(item, 0.0), need)
            for item, need in sums["need"].items()}
    reported = [r["last_report_at"] for r in districts if r["last_report_at"] is not None]
    return {"code": code, "name": name, "level": "province", "parent_code": "",
            "households": sum(r["households"] or 0 for r in districts),
            "people": sum(r["people"] or 0 for r in districts),
            **{key: {k: round(v, 3) for k, v in total.items()} for key, total in sums.items()},
            "days_of_supply": days,
            "min_days_of_supply": min((d for d in days.values() if d is not None), default=None),
            "last_report_at": max(reported, default=None),
            "missing_report": any(r["missing_report"] for r in districts)}
