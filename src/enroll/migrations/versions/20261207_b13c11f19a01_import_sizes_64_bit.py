"""import sizes 64-bit

Issue 13 (C11): ``enrollment_import.file_bytes`` and ``bytes_done`` were 32-bit on
PostgreSQL while an import file may reach 20 GiB. SQLite's INTEGER is already 64-bit, so only
PostgreSQL changes (models: ``BigInt``, BIGINT there and INTEGER on SQLite).

Revision ID: b13c11f19a01
Revises: c13e17a01b02
Create Date: 2026-12-07 04:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b13c11f19a01"
down_revision: str | None = "c13e17a01b02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("file_bytes", "bytes_done")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in _COLUMNS:
        op.alter_column(
            "enrollment_import",
            column,
            existing_type=sa.Integer(),
            type_=sa.BigInteger(),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in _COLUMNS:
        op.alter_column(
            "enrollment_import",
            column,
            existing_type=sa.BigInteger(),
            type_=sa.Integer(),
            existing_nullable=False,
        )
