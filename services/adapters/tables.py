"""PostGIS tables (SQLAlchemy 2 Core + GeoAlchemy2): the reference data and the read projections."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Time,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _geom(kind: str, nullable: bool = True) -> Column[object]:
    # Spatial indexes are declared explicitly below, so migrations and metadata agree.
    return Column("geom", Geometry(kind, srid=4326, spatial_index=False), nullable=nullable)


admin_units = Table(
    "admin_units", metadata,
    Column("code", String(8), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("level", String(10), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("parent_code", String(8), nullable=True, index=True),
    Column("population", Integer, nullable=True),
    _geom("MULTIPOLYGON"),
)
Index("ix_admin_units_geom", admin_units.c.geom, postgresql_using="gist")

zones = Table(
    "zones", metadata,
    Column("zone_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district_code", String(8), nullable=False),
    Column("risk_level", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=True),
    _geom("MULTIPOLYGON", nullable=False),
)
Index("ix_zones_geom", zones.c.geom, postgresql_using="gist")
Index("ix_zones_current", zones.c.zone_id, unique=True, postgresql_where=zones.c.is_current)

depots = Table(
    "depots", metadata,
    Column("depot_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district_code", String(8), nullable=False),
    Column("opens", Time, nullable=False),
    Column("closes", Time, nullable=False),
    Column("stock", JSONB, nullable=False, server_default="{}"),
    _geom("POINT", nullable=False),
)
Index("ix_depots_geom", depots.c.geom, postgresql_using="gist")

sales_points = Table(
    "sales_points", metadata,
    Column("point_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("commune_code", String(8), nullable=False, index=True),
    Column("opens", Time, nullable=False),
    Column("closes", Time, nullable=False),
    Column("contact", String(200), nullable=False, server_default=""),
    _geom("POINT", nullable=False),
)
Index("ix_sales_points_geom", sales_points.c.geom, postgresql_using="gist")

checkpoints = Table(
    "checkpoints", metadata,
    Column("checkpoint_id", String(64), primary_key=True),
    Column("zone_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("handover_minutes", Integer, nullable=False),
    _geom("POINT", nullable=False),
)
Index("ix_checkpoints_geom", checkpoints.c.geom, postgresql_using="gist")

vehicles = Table(
    "vehicles", metadata,
    Column("vehicle_id", String(64), primary_key=True),
    Column("plate", String(20), nullable=False),
    Column("capacity_kg", Float, nullable=False),
    Column("capacity_m3", Float, nullable=False),
    Column("home_depot_id", String(64), ForeignKey("depots.depot_id"), nullable=False),
    Column("shift_start", Time, nullable=False),
    Column("shift_end", Time, nullable=False),
    Column("green_lane_permit", Boolean, nullable=False),
    Column("district_code", String(8), nullable=True),  # the district it serves; None: its depot's
    Column("trips", Integer, nullable=False, server_default="2"),
)

TS = DateTime(timezone=True)

# Projections written by the streams sinks.
coverage = Table(
    "coverage", metadata,
    Column("level", String(10), primary_key=True),
    Column("area_id", String(80), primary_key=True),
    Column("district_code", String(8), nullable=False),
    Column("zone_id", String(64), nullable=True),
    Column("households", Integer, nullable=False),
    Column("people", Integer, nullable=False),
    Column("vulnerable", JSONB, nullable=False),
    Column("need", JSONB, nullable=False),
    Column("stock", JSONB, nullable=False),
    Column("on_way", JSONB, nullable=False),
    Column("days_of_supply", JSONB, nullable=False),
    Column("min_days_of_supply", Float, nullable=True),
    Column("last_report_at", TS, nullable=True),
    Column("max_event_at", TS, nullable=True),
    Column("computed_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False, server_default=func.now()),
)
Index("ix_coverage_district", coverage.c.district_code, coverage.c.level)
Index("ix_coverage_zone", coverage.c.zone_id)

shortage_alerts = Table(
    "shortage_alerts", metadata,
    Column("alert_id", String(120), primary_key=True),
    Column("zone_id", String(64), nullable=False),
    Column("item_code", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("days_of_supply", Float, nullable=True),
    Column("threshold_days", Float, nullable=False),
    Column("district_codes", JSONB, nullable=False),
    Column("opened_at", TS, nullable=False),
    Column("resolved_at", TS, nullable=True),
    Column("updated_at", TS, nullable=False, server_default=func.now()),
)
Index("ix_shortage_alerts_status", shortage_alerts.c.status, shortage_alerts.c.zone_id)

price_alerts = Table(
    "price_alerts", metadata,
    Column("alert_id", String(120), primary_key=True),
    Column("district_code", String(8), nullable=False),
    Column("item_code", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("reference_price_vnd", Integer, nullable=False),
    Column("max_price_vnd", Integer, nullable=False),
    Column("median_price_vnd", Integer, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("places", JSONB, nullable=False),
    Column("last_event_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False, server_default=func.now()),
)

plan_requests = Table(
    "plan_requests", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("district_code", String(8), nullable=False, index=True),
    Column("reasons", JSONB, nullable=False),
    Column("requested_at", TS, nullable=False),
)

produce_offers = Table(
    "produce_offers", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("district_code", String(8), nullable=False),
    Column("commune_code", String(8), nullable=False),
    Column("product", String(120), nullable=False),
    Column("quantity_kg", Float, nullable=False),
    Column("available_until", TS, nullable=False),
    Column("contact", String(200), nullable=False),
    Column("offered_at", TS, nullable=False),
    _geom("POINT", nullable=False),
)
Index("ix_produce_offers_geom", produce_offers.c.geom, postgresql_using="gist")

# Plans written by the optimizer workers.
plans = Table(
    "plans", metadata,
    Column("plan_id", String(160), primary_key=True),
    Column("district_code", String(8), nullable=False),
    Column("request_event_id", String(128), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("plan_day", Date, nullable=False),
    Column("snapshot_offsets", JSONB, nullable=False),
    Column("allocation", JSONB, nullable=False),
    Column("stats", JSONB, nullable=False),
    Column("approved_by", String(120), nullable=True),
    Column("approved_at", TS, nullable=True),
    # A revision of plans being driven: approving it marks them "revised" (their open drops carry over).
    Column("revises", JSONB, nullable=False, server_default="[]"),
)
Index("ix_plans_district", plans.c.district_code, plans.c.created_at)

plan_stops = Table(
    "plan_stops", metadata,
    Column("plan_id", String(160), ForeignKey("plans.plan_id", ondelete="CASCADE"), primary_key=True),
    Column("stop_id", String(200), primary_key=True),
    Column("order_id", String(200), nullable=False),
    Column("vehicle_id", String(64), nullable=False),
    Column("trip", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("eta", TS, nullable=False),
    Column("kg", Float, nullable=False),
    Column("m3", Float, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("zone_id", String(64), nullable=True),
    Column("commune_code", String(8), nullable=True),
    Column("checkpoint_id", String(64), nullable=True),
    # A drop carried over from the approved plan that put it on its way: drivers' confirmations name that plan.
    Column("delivery_plan_id", String(160), nullable=True),
    _geom("POINT", nullable=False),
)
Index("ix_plan_stops_vehicle", plan_stops.c.plan_id, plan_stops.c.vehicle_id, plan_stops.c.sequence)

# Drivers' confirmations, written by the streams sink: the first one for a stop counts (as in the ledger).
delivery_confirmations = Table(
    "delivery_confirmations", metadata,
    Column("plan_id", String(160), primary_key=True),  # the plan that put the drop on its way
    Column("stop_id", String(200), primary_key=True),
    Column("event_id", String(128), nullable=False),
    Column("status", String(10), nullable=False),  # delivered | failed
    Column("quantities", JSONB, nullable=False),
    Column("reason", String(300), nullable=True),
    Column("confirmed_at", TS, nullable=False),
)

plan_unserved = Table(
    "plan_unserved", metadata,
    Column("plan_id", String(160), ForeignKey("plans.plan_id", ondelete="CASCADE"), primary_key=True),
    Column("order_id", String(200), primary_key=True),
    Column("reason", String(40), nullable=False),
    Column("detail", String(300), nullable=False),
)

access_tokens = Table(
    "access_tokens", metadata,
    Column("token_id", String(32), primary_key=True),
    Column("secret_hash", String(64), nullable=False),  # HMAC-SHA256 of the secret under the server's key
    Column("role", String(20), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("label", String(200), nullable=False, server_default=""),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=True),
    Column("revoked_at", TS, nullable=True),
)
