"""enrollment_evaluation: re-evaluation stamps

A re-evaluation that decides an enrollment exactly as before records its criteria version and
time in this narrow table instead of rewriting the enrollment's wide row (see
models/enrollment.py): a million rewritten rows were most of a re-evaluation's time.

Revision ID: 5d1f0e2a9c41
Revises: 73fbe6473c76
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1f0e2a9c41"
down_revision: str | None = "73fbe6473c76"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrollment_evaluation",
        sa.Column("enrollment_id", sa.String(length=32), nullable=False),
        sa.Column("criteria_version", sa.Integer(), nullable=True),
        sa.Column("evaluated_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_enrollment_evaluation_enrollment_id_enrollment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_enrollment_evaluation")),
    )


def downgrade() -> None:
    op.drop_table("enrollment_evaluation")
