"""manual screening and setup actions in the task log

Issue 13, items 21 and 25: a program instance's ``screening`` ("automatic" or "manual") and
an import's ``evaluate`` flag; the service task log's rows about one setup action (which, and
what happened to it).

Revision ID: d13g21a01b03
Revises: b13c11f19a01
Create Date: 2026-12-07 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d13g21a01b03"
down_revision: str | None = "b13c11f19a01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("screening", sa.String(length=16), server_default="automatic", nullable=False)
        )
    with op.batch_alter_table("enrollment_import", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evaluate", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("service_task_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("setup_action_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("setup_action_event", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_task_log", schema=None) as batch_op:
        batch_op.drop_column("setup_action_event")
        batch_op.drop_column("setup_action_id")
    with op.batch_alter_table("enrollment_import", schema=None) as batch_op:
        batch_op.drop_column("evaluate")
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.drop_column("screening")
