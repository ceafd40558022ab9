"""plans and delivery charges

Issue 15, section 2: a program instance's ``timezone``; the plans it offers (``plan``), the
codes and aliases naming them (``plan_code``), and a workspace's delivery charges by utility
and effective date (``delivery_charge``).

Revision ID: e15p02a01b04
Revises: e15a01c0de01
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e15p02a01b04"
down_revision: str | None = "e15a01c0de01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def upgrade() -> None:
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )
    op.create_table(
        "plan",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("program_instance_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("availability", _json(), nullable=True),
        sa.Column("unavailable_reason", sa.String(length=500), nullable=True),
        sa.Column("earliest_days", sa.Integer(), nullable=False),
        sa.Column("latest_days", sa.Integer(), nullable=False),
        sa.Column("documents", _json(), nullable=False),
        sa.Column("pricing", _json(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_instance_id"],
            ["program_instance.id"],
            name=op.f("fk_plan_program_instance_id_program_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_plan_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_program_instance_id_id"), ["program_instance_id", "id"]
        )
        batch_op.create_index(batch_op.f("ix_plan_workspace_id_id"), ["workspace_id", "id"])
    op.create_table(
        "plan_code",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("program_instance_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("canonical", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_code_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["program_instance_id"],
            ["program_instance.id"],
            name=op.f("fk_plan_code_program_instance_id_program_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_plan_code_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_instance_id", "code", name=op.f("pk_plan_code")),
    )
    with op.batch_alter_table("plan_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_code_plan_id"), ["plan_id"])
    op.create_table(
        "delivery_charge",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("utility_code", sa.String(length=100), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("monthly_dollars", sa.String(length=40), nullable=False),
        sa.Column("cents_per_kwh", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_delivery_charge_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_charge")),
    )
    with op.batch_alter_table("delivery_charge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_charge_workspace_id_utility_code_effective_from"),
            ["workspace_id", "utility_code", "effective_from"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_delivery_charge_workspace_id_id"), ["workspace_id", "id"]
        )


def downgrade() -> None:
    op.drop_table("delivery_charge")
    op.drop_table("plan_code")
    op.drop_table("plan")
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.drop_column("timezone")
