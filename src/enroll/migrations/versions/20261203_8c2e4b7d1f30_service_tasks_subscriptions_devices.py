"""service tasks, subscriptions, devices

Seed 002's processing: service tasks (enrollment and unenrollment requests) with their log,
device setup actions and to-dos; what setup makes (program subscriptions, device locations,
devices); and the program instance's setup workflow.

Revision ID: 8c2e4b7d1f30
Revises: 5d1f0e2a9c41
Create Date: 2026-12-03 11:51:14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8c2e4b7d1f30"
down_revision: str | None = "5d1f0e2a9c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("serial_number", sa.String(length=200), nullable=True),
        sa.Column("ownership", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_location_id", sa.String(length=32), nullable=True),
        sa.Column("subscription_id", sa.String(length=32), nullable=True),
        sa.Column("reserved_by_task_id", sa.String(length=32), nullable=True),
        sa.Column("task_id", sa.String(length=32), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_device_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_device_location_id"), ["device_location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_device_workspace_id_manufacturer_serial_number"),
            ["workspace_id", "manufacturer", "serial_number"],
            unique=True,
            postgresql_where=sa.text("serial_number IS NOT NULL"),
            sqlite_where=sa.text("serial_number IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_device_workspace_id_status_id"),
            ["workspace_id", "status", "id"],
            unique=False,
        )

    op.create_table(
        "device_location",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("task_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("premise_id", sa.String(length=100), nullable=True),
        sa.Column("service_point_id", sa.String(length=100), nullable=True),
        sa.Column("division", sa.String(length=100), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_device_location_customer_id_customer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_device_location_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_location")),
        sa.UniqueConstraint("task_id", name=op.f("uq_device_location_task_id")),
    )
    with op.batch_alter_table("device_location", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_location_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "program_subscription",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.String(length=32), nullable=False),
        sa.Column("program_instance_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("device_location_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_program_subscription_customer_id_customer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_program_subscription_enrollment_id_enrollment"),
        ),
        sa.ForeignKeyConstraint(
            ["program_instance_id"],
            ["program_instance.id"],
            name=op.f("fk_program_subscription_program_instance_id_program_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_program_subscription_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_subscription")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_program_subscription_enrollment_id")),
    )
    with op.batch_alter_table("program_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_subscription_program_instance_id"),
            ["program_instance_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_program_subscription_workspace_id_id"),
            ["workspace_id", "id"],
            unique=False,
        )

    op.create_table(
        "service_task",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=True),
        sa.Column("program_instance_id", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("subscription_id", sa.String(length=32), nullable=True),
        sa.Column("device_location_id", sa.String(length=32), nullable=True),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("request_digest", sa.String(length=64), nullable=True),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_service_task_customer_id_customer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_service_task_enrollment_id_enrollment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["program_instance_id"],
            ["program_instance.id"],
            name=op.f("fk_service_task_program_instance_id_program_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_service_task_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_task")),
    )
    with op.batch_alter_table("service_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_task_enrollment_id_id"), ["enrollment_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_task_workspace_id_id"), ["workspace_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_task_workspace_id_kind_transaction_id"),
            ["workspace_id", "kind", "transaction_id"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_service_task_workspace_id_state_id"),
            ["workspace_id", "state", "id"],
            unique=False,
        )

    op.create_table(
        "service_task_log",
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["service_task.id"],
            name=op.f("fk_service_task_log_task_id_service_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_task_log")),
    )
    with op.batch_alter_table("service_task_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_task_log_task_id_at"), ["task_id", "at"], unique=False
        )

    op.create_table(
        "setup_action",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["service_task.id"],
            name=op.f("fk_setup_action_task_id_service_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_setup_action_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_action")),
    )
    with op.batch_alter_table("setup_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_setup_action_task_id_sequence_type"),
            ["task_id", "sequence", "type"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_setup_action_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "todo",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("task_id", sa.String(length=32), nullable=True),
        sa.Column("setup_action_id", sa.String(length=32), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["service_task.id"],
            name=op.f("fk_todo_task_id_service_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_todo_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_todo")),
    )
    with op.batch_alter_table("todo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_todo_task_id_kind_setup_action_id_status"),
            ["task_id", "kind", "setup_action_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_todo_workspace_id_status_id"),
            ["workspace_id", "status", "id"],
            unique=False,
        )

    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "setup_workflow",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("program_instance", schema=None) as batch_op:
        batch_op.drop_column("setup_workflow")

    with op.batch_alter_table("todo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_todo_workspace_id_status_id"))
        batch_op.drop_index(batch_op.f("ix_todo_task_id_kind_setup_action_id_status"))

    op.drop_table("todo")
    with op.batch_alter_table("setup_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_setup_action_workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_setup_action_task_id_sequence_type"))

    op.drop_table("setup_action")
    with op.batch_alter_table("service_task_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_task_log_task_id_at"))

    op.drop_table("service_task_log")
    with op.batch_alter_table("service_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_task_workspace_id_state_id"))
        batch_op.drop_index(batch_op.f("ix_service_task_workspace_id_kind_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_service_task_workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_service_task_enrollment_id_id"))

    op.drop_table("service_task")
    with op.batch_alter_table("program_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_subscription_workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_program_subscription_program_instance_id"))

    op.drop_table("program_subscription")
    with op.batch_alter_table("device_location", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_location_workspace_id_id"))

    op.drop_table("device_location")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_workspace_id_status_id"))
        batch_op.drop_index(
            batch_op.f("ix_device_workspace_id_manufacturer_serial_number"),
            postgresql_where=sa.text("serial_number IS NOT NULL"),
            sqlite_where=sa.text("serial_number IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_device_device_location_id"))

    op.drop_table("device")
