"""Read projections written by the streams sinks; writes are idempotent and never go backwards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert

from services.domain.events import AreaDemandChanged

from . import tables as t


class AreaDemandProjection:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def apply(self, changes: list[AreaDemandChanged]) -> None:
        """Upsert totals; a change older than the stored one (by source offset) is ignored."""
        if not changes:
            return
        latest: dict[tuple[str, str], AreaDemandChanged] = {}
        for change in changes:
            key = (change.zone_id, change.commune_code)
            if key not in latest or latest[key].source_offset < change.source_offset:
                latest[key] = change
        rows = [{"zone_id": c.zone_id, "commune_code": c.commune_code, "district_code": c.district_code,
                 "households": c.households, "people": c.people, "vulnerable": c.vulnerable,
                 "need_per_day": c.need_per_day, "reports": c.reports, "source_partition": c.source_partition,
                 "source_offset": c.source_offset} for c in latest.values()]
        stmt = insert(t.area_demand).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["zone_id", "commune_code"],
            set_={**{c: stmt.excluded[c] for c in rows[0] if c not in ("zone_id", "commune_code")},
                  "updated_at": func.now()},
            where=t.area_demand.c.source_offset < stmt.excluded.source_offset,
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def query(self, zone_id: str | None = None, commune_code: str | None = None,
              district_code: str | None = None) -> list[dict[str, Any]]:
        """Rows of live demand, filtered by zone, commune or district."""
        a = t.area_demand
        query = select(a).order_by(a.c.district_code, a.c.zone_id, a.c.commune_code)
        for column, value in ((a.c.zone_id, zone_id), (a.c.commune_code, commune_code),
                              (a.c.district_code, district_code)):
            if value is not None:
                query = query.where(column == value)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
