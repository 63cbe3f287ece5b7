"""Plans: routes per vehicle, unserved orders with reasons, the snapshot offsets; depot stock; vehicle districts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("depots", sa.Column("stock", JSONB, nullable=False, server_default="{}"))
    op.add_column("vehicles", sa.Column("district_code", sa.String(8), nullable=True))
    op.add_column("vehicles", sa.Column("trips", sa.Integer, nullable=False, server_default="2"))
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(160), primary_key=True),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("request_event_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("plan_day", sa.Date, nullable=False),
        sa.Column("snapshot_offsets", JSONB, nullable=False),
        sa.Column("allocation", JSONB, nullable=False),
        sa.Column("stats", JSONB, nullable=False),
        sa.Column("approved_by", sa.String(120), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
    )
    op.create_index("ix_plans_district", "plans", ["district_code", "created_at"])
    op.create_table(
        "plan_stops",
        sa.Column("plan_id", sa.String(160), sa.ForeignKey("plans.plan_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("stop_id", sa.String(200), primary_key=True),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("trip", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("eta", TS, nullable=False),
        sa.Column("kg", sa.Float, nullable=False),
        sa.Column("m3", sa.Float, nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("commune_code", sa.String(8), nullable=True),
        sa.Column("checkpoint_id", sa.String(64), nullable=True),
        sa.Column("geom", geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_plan_stops_vehicle", "plan_stops", ["plan_id", "vehicle_id", "sequence"])
    op.create_table(
        "plan_unserved",
        sa.Column("plan_id", sa.String(160), sa.ForeignKey("plans.plan_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("order_id", sa.String(200), primary_key=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("plan_unserved")
    op.drop_table("plan_stops")
    op.drop_table("plans")
    op.drop_column("vehicles", "trips")
    op.drop_column("vehicles", "district_code")
    op.drop_column("depots", "stock")
