"""reevaluation: re-evaluations run as jobs, in batches

A re-evaluation of a million enrollments in one request held one write transaction for about
90 s, and the event feed (and every workspace's webhooks) waited for it. It now runs as a job
that commits in batches and records its progress and report here.

Revision ID: c13e17a01b02
Revises: 9a1f3c5e7b20
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c13e17a01b02"
down_revision: str | None = "9a1f3c5e7b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "reevaluation",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("program_instance_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=False),
        sa.Column("after_id", sa.String(length=32), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("criteria_version", sa.Integer(), nullable=True),
        sa.Column("report", JSON, nullable=False),
        sa.Column("error", JSON, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_instance_id"],
            ["program_instance.id"],
            name=op.f("fk_reevaluation_program_instance_id_program_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_reevaluation_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reevaluation")),
    )
    with op.batch_alter_table("reevaluation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reevaluation_workspace_id_id"), ["workspace_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reevaluation_program_instance_id_status"),
            ["program_instance_id", "status"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("reevaluation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reevaluation_program_instance_id_status"))
        batch_op.drop_index(batch_op.f("ix_reevaluation_workspace_id_id"))
    op.drop_table("reevaluation")
