"""payment methods (seed 003)

Issue 16, section 4: the provider customer made once per customer and provider
(``payment_profile``), the setups started for enrollments (``payment_setup``, what a provider's
``setup_intent.succeeded`` event is traced back through) and the stored methods
(``payment_method``: provider ids, brand, last 4, expiry and status only).

Revision ID: p16a01b02c03
Revises: e16r01a01b08
Create Date: 2026-12-13 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p16a01b02c03"
down_revision: str | None = "e16r01a01b08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_profile",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_payment_profile_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_payment_profile_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_profile")),
    )
    with op.batch_alter_table("payment_profile", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_profile_customer_id_provider"),
            ["customer_id", "provider"],
            unique=True,
        )

    op.create_table(
        "payment_method",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_method_id", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_payment_method_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_payment_method_enrollment_id_enrollment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_payment_method_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_method")),
    )
    with op.batch_alter_table("payment_method", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_method_enrollment_id_provider_provider_method_id"),
            ["enrollment_id", "provider", "provider_method_id"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_method_provider_provider_method_id"),
            ["provider", "provider_method_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_method_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "payment_setup",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("setup_intent_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_payment_setup_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_payment_setup_enrollment_id_enrollment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_payment_setup_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_setup")),
    )
    with op.batch_alter_table("payment_setup", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_setup_enrollment_id_created_at"),
            ["enrollment_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_setup_provider_setup_intent_id"),
            ["provider", "setup_intent_id"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_setup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_setup_provider_setup_intent_id"))
        batch_op.drop_index(batch_op.f("ix_payment_setup_enrollment_id_created_at"))

    op.drop_table("payment_setup")
    with op.batch_alter_table("payment_method", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_method_workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_payment_method_provider_provider_method_id"))
        batch_op.drop_index(
            batch_op.f("ix_payment_method_enrollment_id_provider_provider_method_id")
        )

    op.drop_table("payment_method")
    with op.batch_alter_table("payment_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_profile_customer_id_provider"))

    op.drop_table("payment_profile")
