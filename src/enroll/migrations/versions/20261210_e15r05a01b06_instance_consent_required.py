"""an instance that requires consent on every enrollment

Issue 15, section 3: ``program_instance.consent_required`` (a plan with documents requires
consent whatever it says).

Revision ID: e15r05a01b06
Revises: e15u04a01b05
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e15r05a01b06"
down_revision: str | None = "e15u04a01b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_required", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.drop_column("consent_required")
