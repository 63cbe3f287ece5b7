"""Live demand of one area (a zone within a commune), folded from demand events exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .demand import DemandReport


@dataclass(frozen=True)
class AreaDemand:
    """Totals for one (zone, commune) area.

    `last_offset` is the source-partition offset of the last event folded in. Every event of a
    commune arrives on the same partition, in order, so an offset at or below it was already
    counted: that is what makes re-delivery after a crash harmless.
    """

    zone_id: str
    commune_code: str
    district_code: str
    households: int = 0
    people: int = 0
    vulnerable: dict[str, int] = field(default_factory=dict)
    need_per_day: dict[str, float] = field(default_factory=dict)
    reports: int = 0
    last_offset: int = -1

    @staticmethod
    def key(zone_id: str, commune_code: str) -> str:
        return f"{zone_id}|{commune_code}"

    def already_folded(self, offset: int) -> bool:
        return offset <= self.last_offset

    def folded(self, report: DemandReport, need: dict[str, float], offset: int) -> AreaDemand:
        """The totals after adding one report read at `offset`."""
        vulnerable = dict(self.vulnerable)
        for group, count in report.vulnerable.items():
            vulnerable[group.value] = vulnerable.get(group.value, 0) + count
        need_per_day = dict(self.need_per_day)
        for code, quantity in need.items():
            need_per_day[code] = round(need_per_day.get(code, 0.0) + quantity, 6)
        return replace(self, households=self.households + report.households, people=self.people + report.people,
                       vulnerable=vulnerable, need_per_day=need_per_day, reports=self.reports + 1,
                       last_offset=offset)

    def to_dict(self) -> dict[str, Any]:
        return {"zone_id": self.zone_id, "commune_code": self.commune_code, "district_code": self.district_code,
                "households": self.households, "people": self.people, "vulnerable": self.vulnerable,
                "need_per_day": self.need_per_day, "reports": self.reports, "last_offset": self.last_offset}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AreaDemand:
        return cls(**data)
