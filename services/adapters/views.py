"""Read views for the API and the dashboard, shaped in PostGIS (GeoJSON is built by the database, so a map of
thousands of zones is one query and one string)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, text

DISTRICTS = text("""
SELECT coalesce(json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', a.code,
    'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, 0.0005), 6)::json,
    'properties', json_build_object('code', a.code, 'name', a.name, 'population', a.population))
    ORDER BY a.code), '[]'::json))::text, '')
FROM admin_units a WHERE a.level = 'district' AND a.parent_code = :province AND a.geom IS NOT NULL
""")

ZONES = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', z.zone_id,
    'geometry', ST_AsGeoJSON(z.geom, 6)::json,
    'properties', json_build_object(
        'zone_id', z.zone_id, 'name', z.name, 'district_code', z.district_code, 'risk_level', z.risk_level,
        'status', z.status, 'version', z.version, 'households', coalesce(c.households, 0),
        'people', coalesce(c.people, 0), 'min_days_of_supply', c.min_days_of_supply,
        'days_of_supply', coalesce(c.days_of_supply, '{}'::jsonb)))
    ORDER BY z.zone_id), '[]'::json))::text
FROM zones z LEFT JOIN coverage c ON c.level = 'zone' AND c.area_id = z.zone_id
WHERE z.is_current AND z.status = 'active' AND (CAST(:district AS text) IS NULL OR z.district_code = :district)
""")

# A fingerprint of everything the zones map shows: every row version of zones and coverage has a transaction id
# (xmin) that changes whenever the row is written, so the count and the sum of their 64-bit hashes change with any
# insert, update or delete (barring a 2^-64 coincidence). It costs a scan of both tables (a few ms for thousands
# of zones), against tens of ms to build the map.
DATA_VERSION = text("""
SELECT (SELECT count(*) || ':' || coalesce(sum(hashtextextended(xmin::text, 0)::numeric), 0) FROM zones) || '/' ||
       (SELECT count(*) || ':' || coalesce(sum(hashtextextended(xmin::text, 0)::numeric), 0) FROM coverage
        WHERE level = 'zone')
""")

# The same for the roll-up: the commune and district rows of the coverage projection.
ROLLUP_VERSION = text("""
SELECT count(*) || ':' || coalesce(sum(hashtextextended(xmin::text, 0)::numeric), 0) FROM coverage
WHERE level IN ('commune', 'district')
""")

SALES_POINTS = text("""SELECT point_id, name, kind, status, commune_code, contact, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM sales_points ORDER BY point_id""")
DEPOTS = text("""SELECT depot_id, name, district_code, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM depots ORDER BY depot_id""")
CHECKPOINTS = text("""SELECT checkpoint_id, zone_id, name, handover_minutes, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM checkpoints ORDER BY checkpoint_id""")

LATEST_PLANS = text("""
SELECT DISTINCT ON (district_code) plan_id, district_code, status, created_at, plan_day, stats, approved_by,
       approved_at
FROM plans WHERE plan_day = :day AND status IN ('proposed', 'approved')
ORDER BY district_code, (status = 'approved') DESC, created_at DESC
""")
STOPS = text("""
SELECT plan_id, vehicle_id, trip, sequence, stop_id, order_id, kind, eta, kg, items, zone_id, checkpoint_id,
       ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM plan_stops WHERE plan_id = ANY(:plans) ORDER BY plan_id, vehicle_id, sequence
""")
DEPOT_OF = text("""SELECT v.vehicle_id, d.depot_id, ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat
FROM vehicles v JOIN depots d ON d.depot_id = v.home_depot_id WHERE v.vehicle_id = ANY(:vehicles)""")
UNSERVED = text("SELECT plan_id, order_id, reason, detail FROM plan_unserved WHERE plan_id = ANY(:plans)")


PRODUCE = text("""
SELECT o.event_id AS offer_id, o.district_code, o.commune_code, o.product, o.quantity_kg, o.available_until,
       o.contact, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       (SELECT json_build_object('plan_id', s.plan_id, 'vehicle_id', s.vehicle_id, 'pickup_eta', s.eta,
                                 'status', p.status)
        FROM plan_stops s JOIN plans p ON p.plan_id = s.plan_id
        WHERE s.order_id = o.event_id AND s.kind = 'pickup' AND p.status IN ('proposed', 'approved')
        ORDER BY (p.status = 'approved') DESC, p.created_at DESC LIMIT 1) AS carried_by
FROM produce_offers o WHERE o.available_until > :now ORDER BY o.available_until
""")
PRICE_ALERTS = text("""SELECT alert_id, district_code, item_code, status, reference_price_vnd, max_price_vnd,
       median_price_vnd, reports, places, last_event_at FROM price_alerts
WHERE (CAST(:status AS text) IS NULL OR status = :status) ORDER BY last_event_at DESC""")
ALERTS_SINCE = text("""SELECT alert_id, zone_id, item_code, status, days_of_supply, threshold_days, district_codes,
       opened_at, resolved_at, updated_at FROM shortage_alerts WHERE updated_at > :since ORDER BY updated_at""")


class VersionedCache:
    """Answers kept per key while a data version (a cheap fingerprint query) stays the same: never stale, rebuilt
    after any write (the version is read before the answer, so a change in between only costs a rebuild later)."""

    def __init__(self, engine: Engine, version_query: Any, limit: int) -> None:
        self.engine, self.version_query, self.limit = engine, version_query, limit
        self._answers: dict[Any, tuple[str, str]] = {}  # key -> (data version, answer)
        self._lock = threading.Lock()

    def get(self, key: Any, build: Callable[[], str]) -> str:
        with self.engine.connect() as conn:
            version = str(conn.execute(self.version_query).scalar())
        cached = self._answers.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:  # one rebuild at a time; requests that waited find it done
            cached = self._answers.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            answer = build()
            if len(self._answers) > self.limit:
                self._answers.clear()
            self._answers[key] = (version, answer)
        return answer


class Views:
    def __init__(self, engine: Engine, province_code: str) -> None:
        self.engine = engine
        self.province_code = province_code
        self._zones = VersionedCache(engine, DATA_VERSION, 64)  # district (None: all) -> GeoJSON
        self._rollups = VersionedCache(engine, ROLLUP_VERSION, 256)  # caller's scope and minute -> answer

    def districts_geojson(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(DISTRICTS, {"province": self.province_code}).scalar())

    def zones_geojson(self, district: str | None = None) -> str:
        """Active zones as GeoJSON, always current: the map is rebuilt only when the zones or their coverage rows
        changed."""
        def build() -> str:
            with self.engine.connect() as conn:
                return str(conn.execute(ZONES, {"district": district}).scalar())

        return self._zones.get(district, build)

    def rollup_cached(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        """A roll-up answer (already encoded) for `key`, rebuilt only when the commune or district coverage rows
        changed since it was built; `key` holds whatever else shapes the answer (caller's scope, the minute)."""
        return self._rollups.get(key, build)

    def places(self) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return {name: [dict(r._mapping) for r in conn.execute(query)]
                    for name, query in (("sales_points", SALES_POINTS), ("depots", DEPOTS),
                                        ("checkpoints", CHECKPOINTS))}

    def produce_offers(self, now: datetime) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(PRODUCE, {"now": now})]

    def price_alerts(self, status: str | None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(PRICE_ALERTS, {"status": status})]

    def shortage_alerts_since(self, since: datetime) -> list[dict[str, Any]]:
        """Alerts opened, changed or resolved after `since` (by their projection time), oldest first."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(ALERTS_SINCE, {"since": since})]

    def plans_of_day(self, day: date) -> list[dict[str, Any]]:
        """The plan of each district for the day (the approved one, else the newest proposal), with its routes."""
        with self.engine.connect() as conn:
            plans = [dict(r._mapping) for r in conn.execute(LATEST_PLANS, {"day": day})]
            ids = [p["plan_id"] for p in plans]
            stops = [dict(r._mapping) for r in conn.execute(STOPS, {"plans": ids})] if ids else []
            unserved = [dict(r._mapping) for r in conn.execute(UNSERVED, {"plans": ids})] if ids else []
            vehicles = sorted({s["vehicle_id"] for s in stops})
            depots = {r.vehicle_id: {"depot_id": r.depot_id, "lon": r.lon, "lat": r.lat}
                      for r in conn.execute(DEPOT_OF, {"vehicles": vehicles})} if vehicles else {}
        return [with_routes(p, stops, unserved, depots) for p in plans]


def routes_by_vehicle(stops: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
    """A plan's stops grouped by vehicle, in the order given (without the `drop` keys), vehicles sorted."""
    routes: dict[str, list[dict[str, Any]]] = {}
    for stop in stops:
        routes.setdefault(stop["vehicle_id"], []).append({k: v for k, v in stop.items() if k not in drop})
    return dict(sorted(routes.items()))


def with_routes(plan: dict[str, Any], stops: list[dict[str, Any]], unserved: list[dict[str, Any]],
                depots: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Routes per vehicle, each with its home depot (where it starts and reloads) when known."""
    routes = routes_by_vehicle([s for s in stops if s["plan_id"] == plan["plan_id"]], drop=("plan_id", "vehicle_id"))
    return {**plan, "routes": [{"vehicle_id": v, "depot_id": depots.get(v, {}).get("depot_id"),
                                "start": {k: depots[v][k] for k in ("lon", "lat")} if v in depots else None,
                                "stops": s} for v, s in routes.items()],
            "unserved": [{k: v for k, v in u.items() if k != "plan_id"} for u in unserved
                         if u["plan_id"] == plan["plan_id"]]}
