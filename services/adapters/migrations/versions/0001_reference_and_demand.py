"""Reference data (admin units, zones with versions, places, fleet) and the area-demand projection.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _geom(kind: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column("geom", geoalchemy2.Geometry(kind, srid=4326, spatial_index=False), nullable=nullable)


def _gist(table: str) -> None:
    op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "admin_units",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("parent_code", sa.String(8), nullable=True),
        sa.Column("population", sa.Integer, nullable=True),
        _geom("MULTIPOLYGON"),
    )
    op.create_index("ix_admin_units_parent_code", "admin_units", ["parent_code"])
    _gist("admin_units")

    op.create_table(
        "zones",
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("risk_level", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        _geom("MULTIPOLYGON", nullable=False),
    )
    _gist("zones")
    op.create_index("ix_zones_current", "zones", ["zone_id"], unique=True,
                    postgresql_where=sa.text("is_current"))

    op.create_table(
        "depots",
        sa.Column("depot_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("opens", sa.Time, nullable=False),
        sa.Column("closes", sa.Time, nullable=False),
        _geom("POINT", nullable=False),
    )
    _gist("depots")

    op.create_table(
        "sales_points",
        sa.Column("point_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("commune_code", sa.String(8), nullable=False),
        sa.Column("opens", sa.Time, nullable=False),
        sa.Column("closes", sa.Time, nullable=False),
        sa.Column("contact", sa.String(200), nullable=False, server_default=""),
        _geom("POINT", nullable=False),
    )
    op.create_index("ix_sales_points_commune_code", "sales_points", ["commune_code"])
    _gist("sales_points")

    op.create_table(
        "checkpoints",
        sa.Column("checkpoint_id", sa.String(64), primary_key=True),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("handover_minutes", sa.Integer, nullable=False),
        _geom("POINT", nullable=False),
    )
    op.create_index("ix_checkpoints_zone_id", "checkpoints", ["zone_id"])
    _gist("checkpoints")

    op.create_table(
        "vehicles",
        sa.Column("vehicle_id", sa.String(64), primary_key=True),
        sa.Column("plate", sa.String(20), nullable=False),
        sa.Column("capacity_kg", sa.Float, nullable=False),
        sa.Column("capacity_m3", sa.Float, nullable=False),
        sa.Column("home_depot_id", sa.String(64), sa.ForeignKey("depots.depot_id"), nullable=False),
        sa.Column("shift_start", sa.Time, nullable=False),
        sa.Column("shift_end", sa.Time, nullable=False),
        sa.Column("green_lane_permit", sa.Boolean, nullable=False),
    )

    op.create_table(
        "area_demand",
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("commune_code", sa.String(8), primary_key=True),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("vulnerable", postgresql.JSONB, nullable=False),
        sa.Column("need_per_day", postgresql.JSONB, nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("source_partition", sa.Integer, nullable=False),
        sa.Column("source_offset", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_area_demand_district_code", "area_demand", ["district_code"])


def downgrade() -> None:
    for table in ("area_demand", "vehicles", "checkpoints", "sales_points", "depots", "zones", "admin_units"):
        op.drop_table(table)
