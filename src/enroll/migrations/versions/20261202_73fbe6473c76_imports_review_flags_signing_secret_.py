"""imports, review flags, signing secret, reenrollment policy

Revision ID: 73fbe6473c76
Revises: 13aec25dd9ad
Create Date: 2026-12-02 07:54:55.634458
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "73fbe6473c76"
down_revision: str | None = "13aec25dd9ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "enrollment_import",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("program_instance_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("emit_events", sa.Boolean(), nullable=False),
        sa.Column("file_bytes", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("bytes_done", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_instance_id"],
            ["program_instance.id"],
            name=op.f("fk_enrollment_import_program_instance_id_program_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_enrollment_import_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_import")),
    )
    with op.batch_alter_table("enrollment_import", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollment_import_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "import_chunk",
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["enrollment_import.id"],
            name=op.f("fk_import_chunk_import_id_enrollment_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "seq", name=op.f("pk_import_chunk")),
    )
    op.create_table(
        "import_issue",
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("duplicate_of", sa.String(length=32), nullable=True),
        sa.Column("duplicate_key", sa.String(length=16), nullable=True),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["enrollment_import.id"],
            name=op.f("fk_import_issue_import_id_enrollment_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "row", name=op.f("pk_import_issue")),
    )
    op.create_table(
        "import_key",
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["enrollment_import.id"],
            name=op.f("fk_import_key_import_id_enrollment_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "key", name=op.f("pk_import_key")),
    )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs_review", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("needs_review_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("import_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("import_row", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_enrollment_import_id_import_row"),
            ["import_id", "import_row"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_enrollment_program_instance_id_dedupe_key"),
            ["program_instance_id", "dedupe_key"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_enrollment_program_instance_id_email"),
            ["program_instance_id", "email"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_enrollment_program_instance_id_reference_id"),
            ["program_instance_id", "reference_id"],
            unique=False,
        )

    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reenrollment_policy", sa.String(length=32), server_default="none", nullable=False
            )
        )

    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_secret", sa.String(length=100), nullable=True))

    _normalise_rule_inputs()


def _normalise_rule_inputs() -> None:
    """Requests now store address.state upper-cased and manufacturerSlugs lower-cased (the rule
    context's spelling), so SQL evaluation reads the columns as they are; bring old rows along."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE enrollment SET address = jsonb_set(address, '{state}',"
            " to_jsonb(upper(btrim(address->>'state'))))"
            " WHERE jsonb_typeof(address->'state') = 'string'"
        )
        op.execute(
            "UPDATE enrollment SET manufacturer_slugs = (SELECT jsonb_agg(lower(m.v) ORDER BY m.i)"
            " FROM jsonb_array_elements_text(manufacturer_slugs) WITH ORDINALITY AS m(v, i))"
            " WHERE jsonb_array_length(manufacturer_slugs) > 0"
        )
    else:
        op.execute(
            "UPDATE enrollment SET address = json_set(address, '$.state',"
            " upper(trim(json_extract(address, '$.state'))))"
            " WHERE json_type(address, '$.state') = 'text'"
        )
        op.execute(
            "UPDATE enrollment SET manufacturer_slugs = (SELECT json_group_array(lower(value))"
            " FROM json_each(enrollment.manufacturer_slugs))"
            " WHERE json_array_length(manufacturer_slugs) > 0"
        )


def downgrade() -> None:

    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("signing_secret")

    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.drop_column("reenrollment_policy")

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_program_instance_id_reference_id"))
        batch_op.drop_index(batch_op.f("ix_enrollment_program_instance_id_email"))
        batch_op.drop_index(batch_op.f("ix_enrollment_program_instance_id_dedupe_key"))
        batch_op.drop_index(batch_op.f("ix_enrollment_import_id_import_row"))
        batch_op.drop_column("import_row")
        batch_op.drop_column("import_id")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("needs_review_reason")
        batch_op.drop_column("needs_review")

    op.drop_table("import_key")
    op.drop_table("import_issue")
    op.drop_table("import_chunk")
    with op.batch_alter_table("enrollment_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_import_workspace_id_id"))

    op.drop_table("enrollment_import")
