"""Live coverage per area, shortage and price alerts, plan requests and produce offers (replaces area_demand).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("area_demand")
    op.create_table(
        "coverage",
        sa.Column("level", sa.String(10), primary_key=True),
        sa.Column("area_id", sa.String(80), primary_key=True),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("vulnerable", JSONB, nullable=False),
        sa.Column("need", JSONB, nullable=False),
        sa.Column("stock", JSONB, nullable=False),
        sa.Column("on_way", JSONB, nullable=False),
        sa.Column("days_of_supply", JSONB, nullable=False),
        sa.Column("min_days_of_supply", sa.Float, nullable=True),
        sa.Column("last_report_at", TS, nullable=True),
        sa.Column("max_event_at", TS, nullable=True),
        sa.Column("computed_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_coverage_district", "coverage", ["district_code", "level"])
    op.create_index("ix_coverage_zone", "coverage", ["zone_id"])
    op.create_table(
        "shortage_alerts",
        sa.Column("alert_id", sa.String(120), primary_key=True),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("days_of_supply", sa.Float, nullable=True),
        sa.Column("threshold_days", sa.Float, nullable=False),
        sa.Column("district_codes", JSONB, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_shortage_alerts_status", "shortage_alerts", ["status", "zone_id"])
    op.create_table(
        "price_alerts",
        sa.Column("alert_id", sa.String(120), primary_key=True),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reference_price_vnd", sa.Integer, nullable=False),
        sa.Column("max_price_vnd", sa.Integer, nullable=False),
        sa.Column("median_price_vnd", sa.Integer, nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("places", JSONB, nullable=False),
        sa.Column("last_event_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "plan_requests",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("district_code", sa.String(8), nullable=False, index=True),
        sa.Column("reasons", JSONB, nullable=False),
        sa.Column("requested_at", TS, nullable=False),
    )
    op.create_table(
        "produce_offers",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("commune_code", sa.String(8), nullable=False),
        sa.Column("product", sa.String(120), nullable=False),
        sa.Column("quantity_kg", sa.Float, nullable=False),
        sa.Column("available_until", TS, nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("offered_at", TS, nullable=False),
        sa.Column("geom", geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_produce_offers_geom", "produce_offers", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    for table in ("produce_offers", "plan_requests", "price_alerts", "shortage_alerts", "coverage"):
        op.drop_table(table)
