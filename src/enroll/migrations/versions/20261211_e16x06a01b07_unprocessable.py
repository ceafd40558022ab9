"""the unprocessable status (seed 004)

Issue 16, section 6: a reviewer's ``markUnprocessable`` (submitted → unprocessable). The
history's ``action`` holds the action's route name, longer than 16 characters now.

Revision ID: e16x06a01b07
Revises: e15r05a01b06
Create Date: 2026-12-11 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e16x06a01b07"
down_revision: str | None = "e15r05a01b06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrollment_history", schema=None) as batch_op:
        batch_op.alter_column(
            "action", existing_type=sa.String(length=16), type_=sa.String(length=32)
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment_history", schema=None) as batch_op:
        batch_op.alter_column(
            "action", existing_type=sa.String(length=32), type_=sa.String(length=16)
        )
