"""Scalars and enums shared by the object and input types (made once, before either uses them).

Times are written exactly as the REST bodies write them (Pydantic's JSON: ``…Z``). Enum values
are the REST values (``approved``, not ``APPROVED``): a client compares the same strings
whichever door it uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from pydantic import TypeAdapter

from enroll.enrollment.schemas import IdentificationType
from enroll.kit.fields import Timestamp
from enroll.program.schemas import ProgramType
from enroll.program_instance.schemas import ReenrollmentPolicy, ReviewMode, Screening
from enroll.program_instance.setup_workflow import AssetOwnership, InstallationMethod, RemovalMethod
from enroll.servicetask.schemas import SetupActionEvent
from enroll.workflows.enrollment import Status
from enroll.workflows.program_instance import InstanceStatus
from enroll.workflows.service_task import TaskKind, TaskState

_TIMES = TypeAdapter(datetime)
_TIMESTAMP = TypeAdapter(Timestamp)


def _serialize_datetime(value: datetime) -> Any:
    return _TIMES.dump_python(value, mode="json")


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string.")
    parsed: datetime = _TIMESTAMP.validate_python(value)  # offset-less means UTC, as in REST
    return parsed


DATETIME = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date and time (UTC, `Z`); an input without an offset means UTC.",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)

# strawberry records the GraphQL definition on the enum class itself.
for _enum, _name in (
    (Status, "EnrollmentStatus"),
    (IdentificationType, "IdentificationType"),
    (ProgramType, "ProgramType"),
    (InstanceStatus, "ProgramInstanceStatus"),
    (ReviewMode, "ReviewMode"),
    (ReenrollmentPolicy, "ReenrollmentPolicy"),
    (Screening, "Screening"),
    (RemovalMethod, "RemovalMethod"),
    (TaskKind, "ServiceTaskKind"),
    (TaskState, "ServiceTaskState"),
    (SetupActionEvent, "SetupActionEvent"),
    (InstallationMethod, "InstallationMethod"),
    (AssetOwnership, "AssetOwnership"),
):
    if not hasattr(_enum, "__strawberry_definition__"):
        strawberry.enum(_enum, name=_name, graphql_name_from="value")
