"""Read projections written by the streams sinks; every write is idempotent and never moves backwards."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert

from services.domain.events import (
    AreaCoverage,
    DeliveryConfirmed,
    PlanRequested,
    PriceAlert,
    ProduceOffered,
    ShortageAlert,
)

from . import tables as t
from .geometry import point_to_db


def _latest(rows: Iterable[dict[str, Any]], key: tuple[str, ...], order: str) -> list[dict[str, Any]]:
    """One row per key, the newest by `order` (a batch may hold several versions of one area)."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        if k not in best or best[k][order] <= row[order]:
            best[k] = row
    return list(best.values())


def _upsert(engine: Engine, table: Table, rows: list[dict[str, Any]], key: list[str], guard: str | None) -> None:
    """Insert or update rows (never moving backwards past `guard`). One cached statement per shape, sent as an
    executemany: SQLAlchemy batches the rows into multi-row INSERTs without compiling a statement per call."""
    if not rows:
        return
    stmt = _upsert_statement(table, tuple(rows[0]), tuple(key), guard)
    with engine.begin() as conn:
        conn.execute(stmt, rows)


@functools.lru_cache(maxsize=64)
def _upsert_statement(table: Table, columns: tuple[str, ...], key: tuple[str, ...], guard: str | None) -> Any:
    stmt = insert(table)
    update: dict[str, Any] = {c: stmt.excluded[c] for c in columns if c not in key}
    if "updated_at" in table.c:
        update["updated_at"] = func.now()
    where = table.c[guard] <= stmt.excluded[guard] if guard else None
    return stmt.on_conflict_do_update(index_elements=list(key), set_=update, where=where)


def _insert_new(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(table).on_conflict_do_nothing(), rows)


class Projections:
    """Writers for every projection, and the reads the API and tests need."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def coverage(self, events: list[AreaCoverage]) -> None:
        rows = [{"level": e.level, "area_id": e.area_id, "district_code": e.district_code, "zone_id": e.zone_id,
                 "households": e.households, "people": e.people, "vulnerable": e.vulnerable, "need": e.need,
                 "stock": e.stock, "on_way": e.on_way, "days_of_supply": e.days_of_supply,
                 "min_days_of_supply": min((d for d in e.days_of_supply.values() if d is not None), default=None),
                 "last_report_at": e.last_report_at, "max_event_at": e.max_event_at, "computed_at": e.occurred_at}
                for e in events]
        _upsert(self.engine, t.coverage, _latest(rows, ("level", "area_id"), "computed_at"), ["level", "area_id"],
                "computed_at")

    def shortage_alerts(self, events: list[ShortageAlert]) -> None:
        rows = [{"alert_id": e.alert_id, "zone_id": e.zone_id, "item_code": e.item_code, "status": e.status,
                 "days_of_supply": e.days_of_supply, "threshold_days": e.threshold_days,
                 "district_codes": e.district_codes, "opened_at": e.occurred_at,
                 "resolved_at": e.occurred_at if e.status == "resolved" else None} for e in events]
        for row in rows:  # in order: an alert opens before it resolves; a resolved alert never reopens
            stmt = insert(t.shortage_alerts).values(row)
            update = {"status": stmt.excluded.status, "days_of_supply": stmt.excluded.days_of_supply,
                      "resolved_at": stmt.excluded.resolved_at, "district_codes": stmt.excluded.district_codes,
                      "updated_at": func.now()}
            with self.engine.begin() as conn:
                conn.execute(stmt.on_conflict_do_update(index_elements=["alert_id"], set_=update,
                                                        where=t.shortage_alerts.c.status != "resolved"))

    def price_alerts(self, events: list[PriceAlert]) -> None:
        rows = [{"alert_id": e.alert_id, "district_code": e.district_code, "item_code": e.item_code,
                 "status": e.status, "reference_price_vnd": e.reference_price_vnd, "max_price_vnd": e.max_price_vnd,
                 "median_price_vnd": e.median_price_vnd, "reports": e.reports, "places": e.places,
                 "last_event_at": e.occurred_at} for e in events]
        _upsert(self.engine, t.price_alerts, _latest(rows, ("alert_id",), "last_event_at"), ["alert_id"],
                "last_event_at")

    def plan_requests(self, events: list[PlanRequested]) -> None:
        _insert_new(self.engine, t.plan_requests, [
            {"event_id": e.event_id, "district_code": e.district_code, "reasons": e.reasons,
             "requested_at": e.occurred_at} for e in events])

    def produce_offers(self, events: list[ProduceOffered]) -> None:
        _insert_new(self.engine, t.produce_offers, [
            {"event_id": e.event_id, "district_code": e.district_code, "commune_code": e.commune_code,
             "product": e.product, "quantity_kg": e.quantity_kg, "available_until": e.available_until,
             "contact": e.contact, "offered_at": e.occurred_at, "geom": point_to_db(e.location)} for e in events])

    def delivery_confirmations(self, events: list[DeliveryConfirmed]) -> None:
        _insert_new(self.engine, t.delivery_confirmations, [
            {"plan_id": e.plan_id, "stop_id": e.stop_id, "event_id": e.event_id,
             "status": "failed" if e.failed_reason else "delivered",
             "quantities": {} if e.failed_reason else e.quantities,
             "reason": e.failed_reason[:300] if e.failed_reason else None, "confirmed_at": e.occurred_at}
            for e in events])

    # Reads -----------------------------------------------------------------------------------------------

    def coverage_rows(self, level: str | None = None, area_id: str | None = None,
                      district_code: str | None = None, zone_id: str | None = None) -> list[dict[str, Any]]:
        c = t.coverage
        query = select(c).order_by(c.c.level, c.c.district_code, c.c.area_id)
        for column, value in ((c.c.level, level), (c.c.area_id, area_id), (c.c.district_code, district_code),
                              (c.c.zone_id, zone_id)):
            if value is not None:
                query = query.where(column == value)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def rollup(self, province_code: str, missing_after_hours: float, now: datetime) -> list[dict[str, Any]]:
        """Communes and districts of a province with their coverage, and whether each has reported lately."""
        a, c = t.admin_units, t.coverage
        districts = select(a.c.code).where(a.c.parent_code == province_code, a.c.level == "district")
        units = (select(a.c.code, a.c.name, a.c.level, a.c.parent_code, c.c.households, c.c.people, c.c.need,
                        c.c.stock, c.c.on_way, c.c.days_of_supply, c.c.min_days_of_supply, c.c.last_report_at)
                 .join(c, (c.c.area_id == a.c.code) & (c.c.level == a.c.level), isouter=True)
                 .where((a.c.code.in_(districts)) | (a.c.parent_code.in_(districts)))
                 .order_by(a.c.level.desc(), a.c.parent_code, a.c.code))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(units)]
        for row in rows:
            last = row["last_report_at"]
            row["missing_report"] = last is None or (now - last).total_seconds() > missing_after_hours * 3600
        return rows

    def open_shortage_alerts(self) -> list[dict[str, Any]]:
        """Open alerts with the zone's live days of supply for the item, the most urgent first."""
        a, c = t.shortage_alerts, t.coverage
        current = c.c.days_of_supply[a.c.item_code].as_float().label("current_days_of_supply")
        query = (select(a, current)
                 .join(c, (c.c.level == "zone") & (c.c.area_id == a.c.zone_id), isouter=True)
                 .where(a.c.status == "open")
                 .order_by(literal_column("current_days_of_supply").asc().nulls_first(), a.c.zone_id, a.c.item_code))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def table_rows(self, table: Table) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table))]
