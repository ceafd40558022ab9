"""requirements per instance, the applicant's data, household members, consent kinds

Issue 16, sections 1 and 2: an instance's ``requirements`` (versioned with its criteria) and
``submit_when_complete``; each enrollment's requirement states; the customer's applicant
fields (the tax id sealed, its last 4 shown) and household members; a consent's ``kind`` and
``text_version``.

Revision ID: e16r01a01b08
Revises: e16x06a01b07
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e16r01a01b08"
down_revision: str | None = "e16x06a01b07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)


def _applicant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("tax_id_sealed", sa.String(length=200), nullable=True),
        sa.Column("tax_id_last4", sa.String(length=4), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requirements", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column(
                "submit_when_complete", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("criteria_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requirements", JSON, nullable=True))
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requirements", JSON, nullable=True))
    with op.batch_alter_table("enrollment_consent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=40), nullable=False, server_default="terms")
        )
        batch_op.add_column(sa.Column("text_version", sa.String(length=100), nullable=True))
    with op.batch_alter_table("customer", schema=None) as batch_op:
        for column in _applicant_columns():
            batch_op.add_column(column)
        batch_op.add_column(sa.Column("marital_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("student_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("employment_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("agi", sa.Numeric(14, 2), nullable=True))
        batch_op.add_column(sa.Column("has_taxable_income", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("income_decreased", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("irs_authorized_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("billing_address", JSON, nullable=True))
    op.create_table(
        "household_member",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        *_applicant_columns(),
        sa.Column("has_taxable_income", sa.Boolean(), nullable=True),
        sa.Column("agi", sa.Numeric(14, 2), nullable=True),
        sa.Column("has_federal_loans", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_household_member_customer_id_created_at"),
        "household_member",
        ["customer_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_household_member_customer_id_created_at"), table_name="household_member")
    op.drop_table("household_member")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        for name in (
            "billing_address", "irs_authorized_at", "income_decreased", "has_taxable_income",
            "agi", "employment_status", "student_status", "marital_status", "tax_id_last4",
            "tax_id_sealed", "date_of_birth",
        ):  # fmt: skip
            batch_op.drop_column(name)
    with op.batch_alter_table("enrollment_consent", schema=None) as batch_op:
        batch_op.drop_column("text_version")
        batch_op.drop_column("kind")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_column("requirements")
    with op.batch_alter_table("criteria_version", schema=None) as batch_op:
        batch_op.drop_column("requirements")
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.drop_column("submit_when_complete")
        batch_op.drop_column("requirements")
