"""Re-planning plans being driven: drivers' confirmations, revisions and carried-over drops.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("revises", JSONB, nullable=False, server_default="[]"))
    op.add_column("plan_stops", sa.Column("delivery_plan_id", sa.String(160), nullable=True))
    op.create_table(
        "delivery_confirmations",
        sa.Column("plan_id", sa.String(160), primary_key=True),
        sa.Column("stop_id", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("quantities", JSONB, nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("delivery_confirmations")
    op.drop_column("plan_stops", "delivery_plan_id")
    op.drop_column("plans", "revises")
