"""service locations and their imports

Issue 15, section 1: a workspace's registry of premises (``service_location``, unique per
workspace, market and service point id), the normalised columns of its address search and
their indexes, and the bulk loads of location files (``service_location_import`` with its
chunks and per-line issues).

Revision ID: e15a01c0de01
Revises: d13g21a01b03
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e15a01c0de01"
down_revision: str | None = "d13g21a01b03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_point_id = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _locations() -> None:
    op.create_table(
        "service_location",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("service_point_id", _point_id, nullable=False),
        sa.Column("utility_code", sa.String(length=64), nullable=True),
        sa.Column("utility_name", sa.String(length=200), nullable=True),
        sa.Column("street_one", sa.String(length=200), nullable=False),
        sa.Column("street_two", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("address_state", sa.String(length=50), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=60), nullable=True),
        sa.Column("county", sa.String(length=100), nullable=True),
        sa.Column("premise_type", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metered", sa.Boolean(), nullable=True),
        sa.Column("attributes", _json, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("search_house", sa.String(length=20), nullable=False),
        sa.Column("search_street", sa.String(length=200), nullable=False),
        sa.Column("search_unit", sa.String(length=40), nullable=False),
        sa.Column("search_city", sa.String(length=200), nullable=False),
        sa.Column("search_zip", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_service_location_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_location")),
    )
    op.create_index(
        op.f("ix_service_location_workspace_id_service_point_id_market"),
        "service_location",
        ["workspace_id", "service_point_id", "market"],
        unique=True,
    )
    op.create_index(
        op.f("ix_service_location_workspace_id_id"), "service_location", ["workspace_id", "id"]
    )
    op.create_index(
        "ix_service_location_search_house",
        "service_location",
        [
            "workspace_id",
            "search_house",
            "search_zip",
            "search_street",
            "search_unit",
            "search_city",
            "address_state",
            "id",
        ],
    )
    op.create_index(
        "ix_service_location_search_street", "service_location", ["workspace_id", "search_street"]
    )


def _imports() -> None:
    op.create_table(
        "service_location_import",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("file_bytes", _bigint, nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("bytes_done", _bigint, nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("counts", _json, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_service_location_import_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_location_import")),
    )
    op.create_index(
        op.f("ix_service_location_import_workspace_id_id"),
        "service_location_import",
        ["workspace_id", "id"],
    )
    for table, key, extra in (
        (
            "service_location_import_chunk",
            "seq",
            sa.Column("data", sa.LargeBinary(), nullable=False),
        ),
        ("service_location_import_issue", "line", sa.Column("errors", _json, nullable=False)),
    ):
        op.create_table(
            table,
            sa.Column("import_id", sa.String(length=32), nullable=False),
            sa.Column(key, sa.Integer(), nullable=False),
            sa.Column("workspace_id", sa.String(length=32), nullable=False),
            extra,
            sa.ForeignKeyConstraint(
                ["import_id"],
                ["service_location_import.id"],
                name=op.f(f"fk_{table}_import_id_service_location_import"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("import_id", key, name=op.f(f"pk_{table}")),
        )


def upgrade() -> None:
    _locations()
    _imports()


def downgrade() -> None:
    op.drop_table("service_location_import_issue")
    op.drop_table("service_location_import_chunk")
    op.drop_index(op.f("ix_service_location_import_workspace_id_id"), "service_location_import")
    op.drop_table("service_location_import")
    op.drop_index("ix_service_location_search_street", "service_location")
    op.drop_index("ix_service_location_search_house", "service_location")
    op.drop_index(op.f("ix_service_location_workspace_id_id"), "service_location")
    op.drop_index(
        op.f("ix_service_location_workspace_id_service_point_id_market"), "service_location"
    )
    op.drop_table("service_location")
