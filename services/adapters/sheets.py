"""Route sheets: one vehicle's stops in a stored plan, with everything a driver needs on the road (ETAs in local
time, goods with their units, checkpoint hand-overs, contacts, coordinates and a navigation link per stop).

Read-only over the plan tables written by `PlanStore` and the reference tables (vehicles, depots, checkpoints,
zones, sales points, produce offers, admin units).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, select, true
from sqlalchemy.engine import Connection

from ..domain.items import Catalogue
from . import tables as t

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CONTACT_RADIUS_M = 50.0  # a sales point this close to a stop is where the goods are handed over


@dataclass(frozen=True)
class SheetItem:
    code: str
    name: str
    name_vi: str
    unit: str
    quantity: float


@dataclass(frozen=True)
class SheetStop:
    stop_id: str
    order_id: str
    sequence: int
    trip: int
    kind: str  # drop, pickup (produce loaded inside a zone), delivery (that produce unloaded)
    eta: datetime  # local time (Asia/Ho_Chi_Minh)
    kg: float
    items: tuple[SheetItem, ...]
    lat: float
    lon: float
    zone_id: str | None = None
    zone_name: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None
    checkpoint_id: str | None = None
    checkpoint_name: str | None = None
    handover_minutes: int | None = None
    contact_name: str | None = None  # whose contact it is (a sales point, a producer)
    contact: str | None = None

    @property
    def at_checkpoint(self) -> bool:
        return self.checkpoint_id is not None

    @property
    def geo_uri(self) -> str:
        """Opens the phone's own map app (RFC 5870)."""
        return f"geo:{self.lat:.6f},{self.lon:.6f}"

    @property
    def directions_url(self) -> str:
        """Directions to the stop on OpenStreetMap, in any browser."""
        return f"https://www.openstreetmap.org/directions?to={self.lat:.6f}%2C{self.lon:.6f}"


@dataclass(frozen=True)
class RouteSheet:
    plan_id: str
    plan_status: str
    plan_day: date
    district_code: str
    district_name: str | None
    vehicle_id: str
    plate: str | None
    depot_id: str | None
    depot_name: str | None
    departure: datetime | None  # local: the vehicle's shift start at its depot (plans store no departure time)
    shift_end: datetime | None
    stops: tuple[SheetStop, ...]
    created_at: datetime

    @property
    def trips(self) -> list[int]:
        return sorted({s.trip for s in self.stops})

    def stops_of(self, trip: int) -> list[SheetStop]:
        return [s for s in self.stops if s.trip == trip]

    def load_kg(self, trip: int) -> float:
        """What is loaded at the depot for a trip: its drops (produce is loaded on the way)."""
        return sum(s.kg for s in self.stops_of(trip) if s.kind == "drop")

    @property
    def total_kg(self) -> float:
        return sum(s.kg for s in self.stops if s.kind == "drop")


@dataclass(frozen=True)
class PlanRef:
    plan_id: str
    district_code: str
    plan_day: date
    status: str


class SheetStore:
    def __init__(self, engine: Engine, items: Catalogue) -> None:
        self.engine = engine
        self.items = items

    def plan(self, plan_id: str) -> PlanRef | None:
        p = t.plans
        with self.engine.connect() as conn:
            row = conn.execute(select(p.c.plan_id, p.c.district_code, p.c.plan_day, p.c.status)
                               .where(p.c.plan_id == plan_id)).first()
        return None if row is None else PlanRef(row.plan_id, row.district_code, row.plan_day, row.status)

    def sheet(self, plan_id: str, vehicle_id: str) -> RouteSheet | None:
        """The vehicle's sheet in the plan; None for an unknown plan or a vehicle without stops in it."""
        p, v, d, a = t.plans, t.vehicles, t.depots, t.admin_units
        with self.engine.connect() as conn:
            plan = conn.execute(select(p.c.plan_id, p.c.status, p.c.plan_day, p.c.district_code, p.c.created_at,
                                       a.c.name.label("district_name"))
                                .outerjoin(a, a.c.code == p.c.district_code)
                                .where(p.c.plan_id == plan_id)).first()
            if plan is None:
                return None
            stops = self._stops(conn, plan_id, vehicle_id)
            if not stops:
                return None
            vehicle = conn.execute(select(v.c.plate, v.c.home_depot_id, v.c.shift_start, v.c.shift_end,
                                          d.c.name.label("depot_name"))
                                   .outerjoin(d, d.c.depot_id == v.c.home_depot_id)
                                   .where(v.c.vehicle_id == vehicle_id)).first()
        day: date = plan.plan_day
        return RouteSheet(
            plan_id=plan.plan_id, plan_status=plan.status, plan_day=day, district_code=plan.district_code,
            district_name=plan.district_name, vehicle_id=vehicle_id,
            plate=vehicle.plate if vehicle else None, depot_id=vehicle.home_depot_id if vehicle else None,
            depot_name=vehicle.depot_name if vehicle else None,
            departure=_local(day, vehicle.shift_start) if vehicle else None,
            shift_end=_local(day, vehicle.shift_end) if vehicle else None,
            stops=tuple(stops), created_at=plan.created_at)

    def _stops(self, conn: Connection, plan_id: str, vehicle_id: str) -> list[SheetStop]:
        s, cp, z, a, sp, o = t.plan_stops, t.checkpoints, t.zones, t.admin_units, t.sales_points, t.produce_offers
        geography = func.Geography
        point = (select(sp.c.name, sp.c.contact)
                 .where(sp.c.contact != "",
                        func.ST_DWithin(geography(sp.c.geom), geography(s.c.geom), CONTACT_RADIUS_M))
                 .order_by(func.ST_Distance(geography(sp.c.geom), geography(s.c.geom)), sp.c.point_id)
                 .limit(1).lateral("point"))
        query = (select(s.c.stop_id, s.c.order_id, s.c.trip, s.c.sequence, s.c.kind, s.c.eta, s.c.kg, s.c["items"],
                        s.c.zone_id, s.c.commune_code, s.c.checkpoint_id,
                        func.ST_Y(s.c.geom).label("lat"), func.ST_X(s.c.geom).label("lon"),
                        cp.c.name.label("checkpoint_name"), cp.c.handover_minutes,
                        z.c.name.label("zone_name"), a.c.name.label("commune_name"),
                        point.c.name.label("point_name"), point.c.contact.label("point_contact"),
                        o.c.product, o.c.contact.label("producer_contact"))
                 .outerjoin(cp, cp.c.checkpoint_id == s.c.checkpoint_id)
                 .outerjoin(z, and_(z.c.zone_id == s.c.zone_id, z.c.is_current))
                 .outerjoin(a, and_(a.c.code == s.c.commune_code, a.c.level == "commune"))
                 .outerjoin(point, true())
                 .outerjoin(o, and_(o.c.event_id == s.c.order_id, s.c.kind == "pickup"))
                 .where(s.c.plan_id == plan_id, s.c.vehicle_id == vehicle_id)
                 .order_by(s.c.trip, s.c.sequence, s.c.stop_id))
        return [self._stop(r) for r in conn.execute(query)]

    def _stop(self, r: Any) -> SheetStop:
        contact_name: str | None
        contact: str | None
        if r.producer_contact:
            contact_name, contact = str(r.product), str(r.producer_contact)
        elif r.point_contact:
            contact_name, contact = str(r.point_name), str(r.point_contact)
        else:
            contact_name = contact = None
        return SheetStop(
            stop_id=r.stop_id, order_id=r.order_id, sequence=r.sequence, trip=r.trip, kind=r.kind,
            eta=r.eta.astimezone(LOCAL), kg=float(r.kg), items=self._items(r._mapping["items"]),
            lat=float(r.lat), lon=float(r.lon), zone_id=r.zone_id, zone_name=r.zone_name,
            commune_code=r.commune_code, commune_name=r.commune_name, checkpoint_id=r.checkpoint_id,
            checkpoint_name=r.checkpoint_name, handover_minutes=r.handover_minutes,
            contact_name=contact_name, contact=contact)

    def _items(self, quantities: dict[str, Any]) -> tuple[SheetItem, ...]:
        """In catalogue order; an item the catalogue no longer knows keeps its code."""
        known = [i for i in self.items if i.code in quantities]
        out = [SheetItem(i.code, i.name, i.name_vi, i.unit, float(quantities[i.code])) for i in known]
        out += [SheetItem(code, code, code, "", float(q)) for code, q in sorted(quantities.items())
                if code not in self.items]
        return tuple(out)


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, LOCAL)

