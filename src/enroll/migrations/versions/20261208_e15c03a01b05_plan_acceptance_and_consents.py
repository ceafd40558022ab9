"""plan acceptance and consents

Issue 15, section 3: the enrollment's service location, plan (canonical code and the code
given) and start date; the immutable consent records (``enrollment_consent``). SQLite copies
``enrollment`` to add its two foreign keys.

Revision ID: e15c03a01b05
Revises: e15p02a01b04
Create Date: 2026-12-08 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e15c03a01b05"
down_revision: str | None = "e15p02a01b04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrollment_consent",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=True),
        sa.Column("terms_accepted", sa.Boolean(), nullable=False),
        sa.Column(
            "documents",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=1000), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column(
            "actor",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_enrollment_consent_enrollment_id_enrollment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_enrollment_consent_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_consent")),
    )
    with op.batch_alter_table("enrollment_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollment_consent_enrollment_id_accepted_at"),
            ["enrollment_id", "accepted_at"],
            unique=False,
        )

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_location_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("plan_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("plan_code", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("plan_code_given", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("service_active", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("service_start_date", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_enrollment_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrollment_service_location_id"), ["service_location_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_enrollment_plan_id_plan"),
            "plan",
            ["plan_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_enrollment_service_location_id_service_location"),
            "service_location",
            ["service_location_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_enrollment_service_location_id_service_location"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_enrollment_plan_id_plan"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_enrollment_service_location_id"))
        batch_op.drop_index(batch_op.f("ix_enrollment_plan_id"))
        batch_op.drop_column("service_start_date")
        batch_op.drop_column("service_active")
        batch_op.drop_column("start_date")
        batch_op.drop_column("plan_code_given")
        batch_op.drop_column("plan_code")
        batch_op.drop_column("plan_id")
        batch_op.drop_column("service_location_id")

    with op.batch_alter_table("enrollment_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_consent_enrollment_id_accepted_at"))

    op.drop_table("enrollment_consent")
