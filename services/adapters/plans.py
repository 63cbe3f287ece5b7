"""Plans in PostGIS: the planning snapshot of a district read from the projections, and plans stored with their
routes, unserved orders and depot reservations.

Depot stock is shared by every district: a plan reserves what its allocation takes from each depot, and a plan is
stored only if, under a lock, the reservations of every district's latest plan for the day still fit the stock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Row, and_, func, select, text, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from services.planner import (
    CarriedStop,
    DepotSnapshot,
    DistrictPlan,
    OfferSnapshot,
    PlanningSnapshot,
    VehicleSnapshot,
    ZoneSnapshot,
    eta,
)

from ..domain.geo import Point
from . import tables as t
from .geometry import point_to_db

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
DEPOT_LOCK = 7_400_001  # pg advisory lock guarding depot reservations


class PlanNotFound(LookupError):
    pass


class PlanConflict(Exception):
    pass


def _available(stock: float, reserved: float) -> float:
    """What other districts' plans left; negative stock passes through so the planner refuses it by name."""
    return stock if stock < 0 else max(0.0, stock - reserved)


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass
class _Driving:
    """A district's approved plans of the day as they are being driven, from the drivers' confirmations.

    A truck's current trip is the last one with a confirmed stop or whose first stop was due by now; the drops
    of that trip not confirmed yet are on board (loaded), later trips' are still at the depot. The truck is where
    it confirmed its last drop on the current trip (else at its depot), free from then or from now, whichever is
    later; after the curfew has begun it waits at its depot, goods on board, for the next driving hours. Produce
    pick-ups not confirmed are not carried over: open offers are planned afresh.
    """

    plans: list[str] = field(default_factory=list)
    carried: list[CarriedStop] = field(default_factory=list)
    vehicles: dict[str, tuple[tuple[float, float] | None, int | None]] = field(default_factory=dict)
    previous: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: Any, district: str, day: date, day_start: datetime, now: datetime,
             curfew_s: int = 86_400) -> _Driving:
        p, s, c = t.plans, t.plan_stops, t.delivery_confirmations
        rows = conn.execute(
            select(s.c.plan_id, s.c.stop_id, s.c.order_id, s.c.vehicle_id, s.c.trip, s.c.sequence, s.c.kind,
                   s.c.eta, s.c.kg, s.c.m3, s.c["items"], s.c.zone_id, s.c.commune_code, s.c.delivery_plan_id,
                   func.ST_X(s.c.geom).label("lon"), func.ST_Y(s.c.geom).label("lat"), c.c.confirmed_at)
            .join(p, p.c.plan_id == s.c.plan_id)
            .outerjoin(c, and_(c.c.plan_id == func.coalesce(s.c.delivery_plan_id, s.c.plan_id),
                               c.c.stop_id == s.c.stop_id))
            .where(p.c.district_code == district, p.c.plan_day == day, p.c.status == "approved")
            .order_by(s.c.vehicle_id, s.c.trip, s.c.sequence)).all()
        approved = select(p.c.plan_id).where(p.c.district_code == district, p.c.plan_day == day,
                                             p.c.status == "approved").order_by(p.c.plan_id)
        driving = cls(plans=list(conn.execute(approved).scalars()))  # those without stops too: all are revised
        now_s = int((now - day_start).total_seconds())
        by_vehicle: dict[str, list[Row[Any]]] = defaultdict(list)
        for r in rows:
            by_vehicle[r.vehicle_id].append(r)
        for vehicle, stops in by_vehicle.items():
            driving._vehicle(vehicle, stops, district, day_start, now_s, curfew_s)
        return driving

    def _vehicle(self, vehicle: str, stops: list[Row[Any]], district: str, day_start: datetime, now_s: int,
                 curfew_s: int) -> None:
        def seconds(at: datetime) -> int:
            return int((at - day_start).total_seconds())

        first_due = {r.trip: seconds(r.eta) for r in reversed(stops)}
        confirmed = [r for r in stops if r.confirmed_at is not None]
        started = [r.trip for r in confirmed] + [trip for trip, due in first_due.items() if due <= now_s]
        trip = max(started, default=None)
        last = confirmed[-1] if confirmed and confirmed[-1].trip == trip else None
        free = max(now_s, seconds(last.confirmed_at)) if last else now_s
        self.vehicles[vehicle] = ((last.lon, last.lat) if last else None, free) if free < curfew_s else (None, None)
        for r in stops:
            items = r._mapping["items"]
            if r.confirmed_at is not None or r.kind != "drop" or not items or r.stop_id in self.previous:
                continue  # done, not a drop, or carried already (by another approved plan of the day)
            self.carried.append(CarriedStop(
                r.stop_id, r.delivery_plan_id or r.plan_id, r.order_id, vehicle, r.sequence, r.zone_id,
                r.commune_code or "", district, (r.lon, r.lat), r.kg, r.m3, dict(items), loaded=r.trip == trip))
            self.previous[r.stop_id] = (vehicle, r.sequence)


class PlanStore:
    def __init__(self, engine: Engine, province_code: str = "79", replan_driving: bool = True,
                 curfew_s: int = 18 * 3600) -> None:
        self.engine = engine
        self.province_code = province_code
        self.replan_driving = replan_driving
        self.curfew_s = curfew_s  # seconds after midnight when driving stops

    # --- the snapshot ------------------------------------------------------------------------------------------

    def snapshot(self, district: str, now: datetime, offsets: dict[str, int]) -> PlanningSnapshot:
        local = now.astimezone(LOCAL)
        day = local.date()
        day_start = datetime.combine(day, time(0), LOCAL)
        with self.engine.connect() as conn:
            province_zones = [self._zone(r) for r in conn.execute(self._zones_query())]
            zones = [z for z in province_zones if z.district_code == district]
            proposals = self._latest_proposals(conn, day)
            reserved = self._reserved(conn, day, exclude=district, proposals=proposals)
            promised = self._reserved(conn, day, exclude=district, proposals={})  # approved plans only
            province = (select(t.admin_units.c.geom).where(t.admin_units.c.code == self.province_code)
                        .scalar_subquery())
            rows = conn.execute(select(t.depots.c.depot_id, t.depots.c.stock, t.depots.c.opens, t.depots.c.closes,
                                       func.ST_X(t.depots.c.geom).label("lon"), func.ST_Y(t.depots.c.geom).label("lat"),
                                       func.coalesce(func.ST_Contains(province, t.depots.c.geom), False)
                                       .label("inside"))
                                .order_by(t.depots.c.depot_id)).all()
            depots = [DepotSnapshot(r.depot_id, (r.lon, r.lat),
                                    {k: _available(float(q), reserved[(r.depot_id, k)]) for k, q in r.stock.items()},
                                    _seconds(r.opens), _seconds(r.closes), bool(r.inside)) for r in rows]
            # What approved plans left in each depot, for the province-wide shares of scarce stock.
            province_stock = {r.depot_id: {k: _available(float(q), promised[(r.depot_id, k)])
                                           for k, q in r.stock.items()} for r in rows}
            driving = (_Driving.read(conn, district, day, day_start, now, self.curfew_s) if self.replan_driving
                       else _Driving())
            v, d = t.vehicles, t.depots
            busy = self._busy_vehicles(day, other_than=district if self.replan_driving else None)
            vehicles = [VehicleSnapshot(r.vehicle_id, r.home_depot_id, r.capacity_kg, r.capacity_m3,
                                        (_seconds(r.shift_start), _seconds(r.shift_end)), r.green_lane_permit, r.trips,
                                        *driving.vehicles.get(r.vehicle_id, (None, None)))
                        for r in conn.execute(
                            select(v).join(d, d.c.depot_id == v.c.home_depot_id)
                            .where(func.coalesce(v.c.district_code, d.c.district_code) == district,
                                   v.c.vehicle_id.not_in(busy))
                            .order_by(v.c.vehicle_id))]
            # Where each district's trucks load: a district's zones get province-wide shares only of those depots.
            fleets: dict[str, set[str]] = defaultdict(set)
            for r in conn.execute(select(func.coalesce(v.c.district_code, d.c.district_code).label("district"),
                                         v.c.home_depot_id).join(d, d.c.depot_id == v.c.home_depot_id).distinct()):
                fleets[r.district].add(r.home_depot_id)
            # stable against the newest proposal, and above all against what is being driven
            previous = self._previous(conn, proposals.get(district)) | driving.previous
            produce = [OfferSnapshot(r.event_id, r.zone_id, (r.lon, r.lat), r.quantity_kg,
                                     min(86_400, int((r.available_until - day_start).total_seconds())))
                       for r in conn.execute(self._offers_query([z.zone_id for z in zones], now))]
        return PlanningSnapshot(district, day, day_start, zones, depots, vehicles, offsets, previous, produce,
                                driving.carried, driving.plans, province_zones, province_stock,
                                {k: frozenset(s) for k, s in fleets.items()})

    @staticmethod
    def _offers_query(zone_ids: list[str], now: datetime) -> Any:
        o, z = t.produce_offers, t.zones
        return (select(o.c.event_id, z.c.zone_id, o.c.quantity_kg, o.c.available_until,
                       func.ST_X(o.c.geom).label("lon"), func.ST_Y(o.c.geom).label("lat"))
                .join(z, and_(z.c.is_current, z.c.status == "active", func.ST_Contains(z.c.geom, o.c.geom)))
                .where(z.c.zone_id.in_(zone_ids), o.c.available_until > now).order_by(o.c.event_id))

    @staticmethod
    def _busy_vehicles(day: date, other_than: str | None) -> Any:
        """Vehicles driving an approved plan of the day of another district than `other_than`: this district's
        plans do not count on them (its own driving trucks are re-planned from where they are)."""
        p = t.plans
        return (select(t.plan_stops.c.vehicle_id).join(p, p.c.plan_id == t.plan_stops.c.plan_id)
                .where(p.c.plan_day == day, p.c.status == "approved",
                       p.c.district_code != other_than if other_than else true()))

    @staticmethod
    def _zones_query() -> Any:
        """Every active zone of the province with its coverage, drop point, commune and first checkpoint."""
        c, z, cp, a = t.coverage, t.zones, t.checkpoints, t.admin_units
        surface = func.ST_PointOnSurface(z.c.geom)
        checkpoint = (select(cp.c.checkpoint_id, cp.c.handover_minutes, func.ST_X(cp.c.geom).label("lon"),
                             func.ST_Y(cp.c.geom).label("lat"))
                      .where(cp.c.zone_id == z.c.zone_id).order_by(cp.c.checkpoint_id).limit(1)
                      .lateral("checkpoint"))
        commune = (select(a.c.code).where(a.c.level == "commune", func.ST_Contains(a.c.geom, surface))
                   .limit(1).scalar_subquery())
        return (select(c.c.area_id, c.c.district_code, c.c.people, c.c.households, c.c.vulnerable, c.c.need,
                       c.c.stock, c.c.on_way, z.c.risk_level, func.ST_X(surface).label("lon"),
                       func.ST_Y(surface).label("lat"), commune.label("commune_code"),
                       checkpoint.c.checkpoint_id, checkpoint.c.handover_minutes,
                       checkpoint.c.lon.label("cp_lon"), checkpoint.c.lat.label("cp_lat"))
                .join(z, and_(z.c.zone_id == c.c.area_id, z.c.is_current, z.c.status == "active"))
                .outerjoin(checkpoint, text("true"))
                .where(c.c.level == "zone").order_by(c.c.area_id))

    @staticmethod
    def _zone(r: Row[Any]) -> ZoneSnapshot:
        stock: dict[str, float] = defaultdict(float)
        for source in (r.stock, r.on_way):
            for item, q in source.items():
                stock[item] += float(q)
        vulnerable = min(r.households, max(r.vulnerable.values(), default=0))
        return ZoneSnapshot(r.area_id, r.district_code, r.risk_level, r.people, vulnerable, r.households,
                            {k: float(q) for k, q in r.need.items()}, dict(stock), (r.lon, r.lat),
                            r.commune_code or "", r.checkpoint_id,
                            (r.cp_lon, r.cp_lat) if r.checkpoint_id else None, r.handover_minutes or 20)

    def _latest_proposals(self, conn: Any, day: date) -> dict[str, str]:
        p = t.plans
        rows = conn.execute(select(p.c.district_code, p.c.plan_id)
                            .where(p.c.plan_day == day, p.c.status == "proposed")
                            .order_by(p.c.district_code, p.c.created_at.desc())
                            .distinct(p.c.district_code))
        return {r.district_code: r.plan_id for r in rows}

    def _reserved(self, conn: Any, day: date, exclude: str, proposals: dict[str, str] | None = None
                  ) -> dict[tuple[str, str], float]:
        """Depot stock promised: every approved plan of the day, and other districts' newest proposals (read
        here unless the caller has them)."""
        reserved: dict[tuple[str, str], float] = defaultdict(float)
        # A revised plan's allocation still counts: its goods left the depot or carry over into the revision.
        newest = self._latest_proposals(conn, day) if proposals is None else proposals
        others = [pid for d, pid in newest.items() if d != exclude]
        p = t.plans
        query = select(p.c.allocation).where(p.c.plan_day == day, p.c.status.in_(("approved", "revised"))
                                             | p.c.plan_id.in_(others))
        for (allocation,) in conn.execute(query):
            for depot, _, item, q in allocation.get("quantities", []):
                reserved[(depot, item)] += q
        return reserved

    @staticmethod
    def _previous(conn: Any, plan_id: str | None) -> dict[str, tuple[str, int]]:
        """The stops of the district's newest proposal (stop → vehicle, position), for stable re-planning."""
        if plan_id is None:
            return {}
        s = t.plan_stops
        rows = conn.execute(select(s.c.stop_id, s.c.vehicle_id, s.c.sequence).where(s.c.plan_id == plan_id))
        return {r.stop_id: (r.vehicle_id, r.sequence) for r in rows}

    # --- plans -------------------------------------------------------------------------------------------------

    def exists(self, plan_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(t.plans.c.plan_id).where(t.plans.c.plan_id == plan_id)).first() is not None

    def save(self, plan: DistrictPlan) -> bool:
        """Store the plan and supersede the district's earlier ones for the day. False, storing nothing, if its
        depot reservations no longer fit the stock (another district planned meanwhile): plan again."""
        quantities = plan.allocation["quantities"]
        with self.engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(DEPOT_LOCK)))
            if conn.execute(select(t.plans.c.plan_id).where(t.plans.c.plan_id == plan.plan_id)).first():
                return True  # stored before (a redelivered request)
            reserved = self._reserved(conn, plan.plan_day, exclude=plan.district_code)
            stock = {r.depot_id: r.stock for r in conn.execute(select(t.depots.c.depot_id, t.depots.c.stock))}
            for depot, _, item, q in quantities:
                if reserved[(depot, item)] + q > float(stock.get(depot, {}).get(item, 0.0)) + 1e-6:
                    return False
            conn.execute(update(t.plans).where(t.plans.c.district_code == plan.district_code,
                                               t.plans.c.plan_day == plan.plan_day,
                                               t.plans.c.status == "proposed").values(status="superseded"))
            conn.execute(insert(t.plans).values(
                plan_id=plan.plan_id, district_code=plan.district_code, request_event_id=plan.request_event_id,
                status="proposed", created_at=plan.created_at, plan_day=plan.plan_day,
                snapshot_offsets=plan.offsets, allocation=plan.allocation, stats=plan.stats(), revises=plan.revises))
            stops = [{**{k: v for k, v in row.items() if k not in ("arrival_s", "lon", "lat")},
                      "plan_id": plan.plan_id, "eta": eta(plan.day_start, row["arrival_s"]),
                      "geom": point_to_db(Point(row["lon"], row["lat"]))} for row in plan.stop_rows()]
            if stops:
                conn.execute(insert(t.plan_stops).values(stops))
            unserved = [{"plan_id": plan.plan_id, "order_id": u.order_id, "reason": u.reason.value,
                         "detail": u.detail[:300]} for u in plan.routes.unserved]
            if unserved:
                conn.execute(insert(t.plan_unserved).values(unserved))
        return True

    def approve(self, plan_id: str, by: str, now: datetime) -> dict[str, Any]:
        """Approve a proposal: its drops go on their way. A proposal made while the district's trucks were driving
        an approved plan revises it: that plan becomes "revised" and its open drops are driven under this one. A
        superseded proposal cannot be approved."""
        with self.engine.begin() as conn:
            row = conn.execute(select(t.plans).where(t.plans.c.plan_id == plan_id).with_for_update()).first()
            if row is None:
                raise PlanNotFound(plan_id)
            if row.status == "approved":
                return dict(row._mapping)
            if row.status != "proposed":
                raise PlanConflict(f"plan {plan_id} is {row.status}; approve the district's newest proposal")
            if self.replan_driving:
                p = t.plans
                later = conn.execute(select(p.c.plan_id).where(
                    p.c.district_code == row.district_code, p.c.plan_day == row.plan_day, p.c.status == "approved",
                    p.c.plan_id.not_in(row.revises or [""]))).scalar()
                if later is not None:  # its picture did not count that plan's goods and trucks
                    raise PlanConflict(f"plan {plan_id} was made before plan {later} was approved; "
                                       "ask for a new plan of the district")
            conn.execute(update(t.plans).where(t.plans.c.plan_id == plan_id)
                         .values(status="approved", approved_by=by, approved_at=now))
            if row.revises:
                conn.execute(update(t.plans).where(t.plans.c.plan_id.in_(row.revises), t.plans.c.status == "approved")
                             .values(status="revised"))
            return {**dict(row._mapping), "status": "approved", "approved_by": by, "approved_at": now}

    def left_out(self, plan_id: str, revises: list[str]) -> list[tuple[str, str]]:
        """Open drops of the plans a revision replaces that it did not carry over (it had no room for them): their
        (delivery plan, stop), to be called off."""
        s, c = t.plan_stops, t.delivery_confirmations
        delivery = func.coalesce(s.c.delivery_plan_id, s.c.plan_id)
        carried = select(s.c.delivery_plan_id, s.c.stop_id).where(s.c.plan_id == plan_id,
                                                                    s.c.delivery_plan_id.is_not(None))
        with self.engine.connect() as conn:
            return [(r.plan, r.stop_id) for r in conn.execute(
                select(delivery.label("plan"), s.c.stop_id)
                .outerjoin(c, and_(c.c.plan_id == delivery, c.c.stop_id == s.c.stop_id))
                .where(s.c.plan_id.in_(revises), s.c.kind == "drop", c.c.stop_id.is_(None),
                       tuple_(delivery, s.c.stop_id).not_in(carried))
                .order_by(s.c.stop_id))]

    def history(self, district: str, limit: int = 50) -> list[dict[str, Any]]:
        p = t.plans
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(p.c.plan_id, p.c.district_code, p.c.status, p.c.created_at, p.c.plan_day, p.c.stats,
                       p.c.approved_by, p.c.approved_at, p.c.request_event_id)
                .where(p.c.district_code == district).order_by(p.c.created_at.desc()).limit(limit))]

    def get(self, plan_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.plans.c.district_code).where(t.plans.c.plan_id == plan_id)).first()
        return self.latest(row.district_code, plan_id) if row else None

    def latest(self, district: str, plan_id: str | None = None) -> dict[str, Any] | None:
        """The district's newest plan with its stops by vehicle and its unserved orders."""
        with self.engine.connect() as conn:
            query = select(t.plans).where(t.plans.c.district_code == district)
            if plan_id is not None:
                query = query.where(t.plans.c.plan_id == plan_id)
            row = conn.execute(query.order_by(t.plans.c.created_at.desc()).limit(1)).first()
            if row is None:
                return None
            plan = dict(row._mapping)
            s = t.plan_stops
            plan["stops"] = [dict(r._mapping) for r in conn.execute(
                select(s.c.stop_id, s.c.order_id, s.c.vehicle_id, s.c.trip, s.c.sequence, s.c.kind, s.c.eta, s.c.kg,
                       s.c["items"], s.c.zone_id, s.c.commune_code, s.c.checkpoint_id, s.c.delivery_plan_id,
                       func.ST_X(s.c.geom).label("lon"), func.ST_Y(s.c.geom).label("lat"))
                .where(s.c.plan_id == plan["plan_id"])
                .order_by(s.c.vehicle_id, s.c.sequence))]
            plan["unserved"] = [dict(r._mapping) for r in conn.execute(
                select(t.plan_unserved).where(t.plan_unserved.c.plan_id == plan["plan_id"]))]
        return plan
