"""Repositories over PostGIS: reference data, zones with their version history, places and fleet."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, Table, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert

from services.domain.admin import AdminUnit
from services.domain.errors import DomainError, InvalidValue, UnknownReference
from services.domain.events import SalesPointRegistered
from services.domain.fleet import Vehicle
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, Depot, OpeningHours, SalesPoint, SalesPointKind, SalesPointStatus
from services.domain.zones import RiskLevel, Zone, ZoneStatus

from . import tables as t
from .geometry import multipolygon_from_db, multipolygon_to_db, point_from_db, point_to_db


def _upsert(table: Table, rows: list[dict[str, Any]], keys: list[str]) -> Any:
    # One row per key, the last one given: PostgreSQL refuses to update a row twice in one statement, and a batch
    # may name a row twice (a registration published twice, or changed): the sink retried such a batch for ever.
    rows = list({tuple(row[k] for k in keys): row for row in rows}.values())
    stmt = insert(table).values(rows)
    return stmt.on_conflict_do_update(index_elements=keys,
                                      set_={c: stmt.excluded[c] for c in rows[0] if c not in keys})


class AdminRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, units: Iterable[AdminUnit]) -> int:
        """Insert or update units by code; loading twice leaves the same rows."""
        rows = [{"code": u.code, "name": u.name, "level": u.level.value, "kind": u.kind,
                 "parent_code": u.parent_code or None, "population": u.population,
                 "geom": multipolygon_to_db(u.boundary) if u.boundary else None} for u in units]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                conn.execute(_upsert(t.admin_units, rows[start:start + 500], ["code"]))
        return len(rows)

    def count_by_level(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            query = select(t.admin_units.c.level, func.count()).group_by(t.admin_units.c.level)
            return {level: n for level, n in conn.execute(query)}

    def district_containing(self, point: Point) -> str | None:
        """The code of the district whose boundary contains the point."""
        query = (select(t.admin_units.c.code)
                 .where(t.admin_units.c.level == "district",
                        func.ST_Contains(t.admin_units.c.geom, point_to_db(point))).limit(1))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()


def _zone(row: Row[tuple[object, ...]]) -> Zone:
    m = row._mapping
    return Zone(zone_id=m["zone_id"], name=m["name"], district_code=m["district_code"],
                boundary=multipolygon_from_db(m["geom"]), risk_level=RiskLevel(m["risk_level"]),
                version=m["version"], status=ZoneStatus(m["status"]), valid_from=m["valid_from"])


class ZoneRepository:
    """Zones keep every version; exactly one version per zone is current."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, zone: Zone) -> bool:
        """Store a new current version, closing the previous one; a version already stored is left alone."""
        if zone.valid_from is None:
            raise DomainError("a stored zone version needs valid_from")
        with self.engine.begin() as conn:
            latest = conn.execute(select(func.max(t.zones.c.version)).where(t.zones.c.zone_id == zone.zone_id)).scalar()
            if latest is not None and latest >= zone.version:
                return False
            conn.execute(update(t.zones)
                         .where(t.zones.c.zone_id == zone.zone_id, t.zones.c.is_current)
                         .values(is_current=False, valid_to=zone.valid_from))
            conn.execute(insert(t.zones).values(
                zone_id=zone.zone_id, version=zone.version, name=zone.name, district_code=zone.district_code,
                risk_level=int(zone.risk_level), status=zone.status.value, is_current=True,
                valid_from=zone.valid_from, geom=multipolygon_to_db(zone.boundary)))
        return True

    def current(self, zone_id: str) -> Zone | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.zones).where(t.zones.c.zone_id == zone_id, t.zones.c.is_current)).first()
        return _zone(row) if row else None

    def history(self, zone_id: str) -> list[Zone]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.zones).where(t.zones.c.zone_id == zone_id).order_by(t.zones.c.version))
            return [_zone(r) for r in rows]

    def containing(self, point: Point, at: datetime | None = None) -> Zone | None:
        """The active zone containing the point (the riskiest when zones overlap)."""
        geom = point_to_db(point)
        when: ColumnElement[bool]
        if at is None:
            when = t.zones.c.is_current.is_(True)
        else:
            when = and_(t.zones.c.valid_from <= at, (t.zones.c.valid_to.is_(None)) | (t.zones.c.valid_to > at))
        query = (select(t.zones)
                 .where(when, t.zones.c.status == ZoneStatus.ACTIVE.value, func.ST_Contains(t.zones.c.geom, geom))
                 .order_by(t.zones.c.risk_level.desc(), t.zones.c.zone_id).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _zone(row) if row else None

    def active_ids(self) -> set[str]:
        query = select(t.zones.c.zone_id).where(t.zones.c.is_current, t.zones.c.status == ZoneStatus.ACTIVE.value)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())


class PlaceRepository:
    """Sales points, depots, checkpoints and vehicles."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_sales_points(self, points: Iterable[SalesPoint]) -> None:
        rows = [{"point_id": p.point_id, "name": p.name, "kind": p.kind.value, "status": p.status.value,
                 "commune_code": p.commune_code, "opens": p.hours.opens, "closes": p.hours.closes,
                 "contact": p.contact, "geom": point_to_db(p.location)} for p in points]
        self._upsert(t.sales_points, rows, "point_id")

    def register_sales_points(self, events: Iterable[SalesPointRegistered]) -> None:
        """The register as the events say (the last registration of a point wins; its status comes from its
        stock reports)."""
        self.add_sales_points(SalesPoint(e.point_id, e.name, e.kind, e.location, e.commune_code,
                                         OpeningHours(time.fromisoformat(e.opens), time.fromisoformat(e.closes)),
                                         contact=e.contact) for e in events)

    def add_depots(self, depots: Iterable[Depot]) -> None:
        rows = [{"depot_id": d.depot_id, "name": d.name, "district_code": d.district_code, "opens": d.hours.opens,
                 "closes": d.hours.closes, "geom": point_to_db(d.location)} for d in depots]
        self._upsert(t.depots, rows, "depot_id")

    def set_depot_stock(self, depot_id: str, stock: dict[str, float]) -> None:
        """The depot's stock on hand, in item units (the record the planner allocates from)."""
        if any(q < 0 for q in stock.values()):
            raise InvalidValue("stock", "must not be negative")
        with self.engine.begin() as conn:
            done = conn.execute(update(t.depots).where(t.depots.c.depot_id == depot_id).values(stock=stock))
        if done.rowcount == 0:
            raise UnknownReference("depot_id", depot_id)

    def add_checkpoints(self, checkpoints: Iterable[Checkpoint]) -> None:
        rows = [{"checkpoint_id": c.checkpoint_id, "zone_id": c.zone_id, "name": c.name,
                 "handover_minutes": c.handover_minutes, "geom": point_to_db(c.location)} for c in checkpoints]
        self._upsert(t.checkpoints, rows, "checkpoint_id")

    def add_vehicles(self, vehicles: Iterable[Vehicle]) -> None:
        rows = [{"vehicle_id": v.vehicle_id, "plate": v.plate, "capacity_kg": v.capacity_kg,
                 "capacity_m3": v.capacity_m3, "home_depot_id": v.home_depot_id, "shift_start": v.shift_start,
                 "shift_end": v.shift_end, "green_lane_permit": v.green_lane_permit,
                 "district_code": v.serves_district, "trips": v.trips} for v in vehicles]
        self._upsert(t.vehicles, rows, "vehicle_id")

    def _upsert(self, table: Table, rows: list[dict[str, Any]], key: str) -> None:
        if rows:
            with self.engine.begin() as conn:
                conn.execute(_upsert(table, rows, [key]))

    def sales_points_in_zone(self, zone_id: str) -> list[SalesPoint]:
        """Sales points inside the current boundary of a zone."""
        sp, z = t.sales_points, t.zones
        query = (select(sp).join(z, func.ST_Contains(z.c.geom, sp.c.geom))
                 .where(z.c.zone_id == zone_id, z.c.is_current).order_by(sp.c.point_id))
        with self.engine.connect() as conn:
            return [SalesPoint(point_id=m["point_id"], name=m["name"], kind=SalesPointKind(m["kind"]),
                               location=point_from_db(m["geom"]), commune_code=m["commune_code"],
                               hours=OpeningHours(m["opens"], m["closes"]), status=SalesPointStatus(m["status"]),
                               contact=m["contact"])
                    for m in (r._mapping for r in conn.execute(query))]

    def checkpoints_of(self, zone_id: str) -> list[Checkpoint]:
        query = select(t.checkpoints).where(t.checkpoints.c.zone_id == zone_id).order_by(t.checkpoints.c.checkpoint_id)
        with self.engine.connect() as conn:
            return [Checkpoint(m["checkpoint_id"], m["zone_id"], m["name"], point_from_db(m["geom"]),
                               m["handover_minutes"]) for m in (r._mapping for r in conn.execute(query))]


def boundary_of(engine: Engine, code: str) -> MultiPolygon | None:
    """The stored boundary of an administrative unit."""
    with engine.connect() as conn:
        value = conn.execute(select(t.admin_units.c.geom).where(t.admin_units.c.code == code)).scalar()
    return multipolygon_from_db(value) if value is not None else None
