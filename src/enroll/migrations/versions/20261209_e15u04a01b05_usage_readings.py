"""usage readings

Issue 15, section 4: a service location's metered usage (``usage_reading``: monthly or
interval readings, one row per period) and ``service_location.has_usage``, set by the first
reading so a location shows ``hasUsageHistory`` without a query per row.

Revision ID: e15u04a01b05
Revises: e15c03a01b05
Create Date: 2026-12-09 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e15u04a01b05"
down_revision: str | None = "e15c03a01b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_location", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("has_usage", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "usage_reading",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("service_location_id", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_key", sa.String(length=40), nullable=False),
        sa.Column("kwh", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_location_id"],
            ["service_location.id"],
            name=op.f("fk_usage_reading_service_location_id_service_location"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_usage_reading_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_reading")),
    )
    with op.batch_alter_table("usage_reading", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_reading_service_location_id_period_start_period_end"),
            ["service_location_id", "period_start", "period_end"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_usage_reading_service_location_id_period_key"),
            ["service_location_id", "period_key"],
            unique=True,
        )


def downgrade() -> None:
    op.drop_table("usage_reading")
    with op.batch_alter_table("service_location", schema=None) as batch_op:
        batch_op.drop_column("has_usage")
