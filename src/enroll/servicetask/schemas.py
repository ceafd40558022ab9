"""Wire shapes of the service-task API: inbound enrollment and unenrollment requests (seed 002's
enrollProgram / unenrollProgram), the task as read back, and what setup creates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from enroll.kit.fields import (
    Address,
    Email,
    IsoDate,
    LongText,
    Metadata,
    Name,
    Phone,
    Reference,
    ShortText,
)
from enroll.kit.schemas import ApiModel, OutModel, PatchModel, alternatives
from enroll.models import (
    Device,
    DeviceLocation,
    ProgramSubscription,
    ServiceTask,
    ServiceTaskLog,
    SetupAction,
    Todo,
)
from enroll.program_instance.setup_workflow import AssetOwnership, InstallationMethod, RemovalMethod
from enroll.workflows.service_task import TaskKind, TaskState, operations

TransactionId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
DeviceType = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Maker = Annotated[str, StringConstraints(min_length=1, max_length=200, to_lower=True)]


class CustomerInfo(ApiModel):
    """Who enrolls: an existing customer by id or email, or complete details for a new one."""

    customer_id: Reference | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None


class LocationInfo(ApiModel):
    address: Address | None = None
    premise_id: ShortText | None = None
    service_point_id: ShortText | None = None
    division: ShortText | None = Field(
        None, description="The service point's division or territory."
    )


class Asset(ApiModel):
    type: DeviceType | None = Field(None, description="e.g. thermostat, battery, ev_charger.")
    manufacturer: Maker | None = None
    model: ShortText | None = None
    serial_number: ShortText | None = None


class AssetInfo(ApiModel):
    installation_method: InstallationMethod
    asset_ownership: AssetOwnership
    assets: Annotated[list[Asset], Field(max_length=20)] = []


class EnrollmentRequestCreate(
    ApiModel, json_schema_extra=alternatives(("programInstanceId",), ("programInstanceSlug",))
):
    transaction_id: TransactionId = Field(
        description="The caller's id for this request: sending it again returns the same task."
    )
    customer_info: CustomerInfo
    location_info: LocationInfo = LocationInfo()
    program_instance_id: Reference | None = Field(None, description="Id or slug.")
    program_instance_slug: Reference | None = None
    asset_info: AssetInfo
    start_date: IsoDate | None = None
    metadata: Metadata = {}

    @model_validator(mode="after")
    def _one_instance(self) -> EnrollmentRequestCreate:
        if (self.program_instance_id is None) == (self.program_instance_slug is None):
            raise ValueError("give exactly one of programInstanceId or programInstanceSlug")
        return self


class UnenrollBody(ApiModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="A reason code of the instance's unenrollReasons, when it lists any."
    )
    removal_method: RemovalMethod = RemovalMethod.KEEP
    comment: LongText | None = None


class UnenrollmentRequestCreate(
    UnenrollBody,
    json_schema_extra=alternatives(
        ("enrollmentId",), ("customerId", "programInstanceId"), exclusive=False
    ),
):
    transaction_id: TransactionId | None = None
    enrollment_id: Reference | None = None
    customer_id: Reference | None = None
    program_instance_id: Reference | None = Field(None, description="Id or slug.")

    @model_validator(mode="after")
    def _target(self) -> UnenrollmentRequestCreate:
        if self.enrollment_id is None and (
            self.customer_id is None or self.program_instance_id is None
        ):
            raise ValueError("give enrollmentId, or customerId and programInstanceId")
        return self


class DeviceAdd(ApiModel):
    """A device added to an active enrollment (through a task of its own)."""

    installation_method: InstallationMethod = InstallationMethod.BRING_YOUR_OWN
    asset_ownership: AssetOwnership = AssetOwnership.CUSTOMER
    asset: Asset


class ServiceTaskPatch(PatchModel):
    """Corrections to a task's request while it waits in an error state."""

    customer_info: CustomerInfo | None = None
    location_info: LocationInfo | None = None
    asset_info: AssetInfo | None = None
    start_date: IsoDate | None = None
    metadata: Metadata | None = None
    reason: ShortText | None = None
    removal_method: RemovalMethod | None = None

    NULLABLE = frozenset({"start_date"})


class Decision(ApiModel):
    comment: LongText | None = None


class ActionReport(ApiModel):
    result: Metadata = {}
    message: LongText | None = None


class DeviceCreate(ApiModel):
    """A utility device into inventory (in_stock)."""

    type: DeviceType
    manufacturer: Maker
    model: ShortText | None = None
    serial_number: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    metadata: Metadata = {}


class TodoComplete(ApiModel):
    note: LongText | None = None


# --- read back ------------------------------------------------------------------------------


class TaskError(OutModel):
    code: str
    message: str
    field: str | None = None


class SetupActionOut(OutModel):
    id: str
    task_id: str
    type: str
    sequence: int
    status: str
    attempts: int
    message: str | None
    result: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, a: SetupAction) -> SetupActionOut:
        return cls(
            id=a.id,
            task_id=a.task_id,
            type=a.type,
            sequence=a.sequence,
            status=a.status,
            attempts=a.attempts,
            message=a.message,
            result=a.result,
            started_at=a.started_at,
            finished_at=a.finished_at,
        )


class ServiceTaskOut(OutModel):
    id: str
    kind: TaskKind
    origin: str = Field(description="request, approval, unenroll or device.")
    transaction_id: str | None
    state: TaskState
    errors: list[TaskError]
    allowed_operations: list[str]
    program_instance_id: str
    enrollment_id: str | None
    customer_id: str | None
    subscription_id: str | None
    device_location_id: str | None
    device_ids: list[str]
    setup_actions: list[SetupActionOut]
    request: dict[str, Any]
    expires_at: datetime | None
    finished_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, t: ServiceTask, actions: list[SetupAction], device_ids: list[str]
    ) -> ServiceTaskOut:
        kind, state = TaskKind(t.kind), TaskState(t.state)
        return cls(
            id=t.id,
            kind=kind,
            origin=t.origin,
            transaction_id=t.transaction_id,
            state=state,
            errors=[TaskError.model_validate(e) for e in t.errors],
            allowed_operations=operations(kind, state),
            program_instance_id=t.program_instance_id,
            enrollment_id=t.enrollment_id,
            customer_id=t.customer_id,
            subscription_id=t.subscription_id,
            device_location_id=t.device_location_id,
            device_ids=device_ids,
            setup_actions=[SetupActionOut.of(a) for a in actions],
            request=t.request,
            expires_at=t.expires_at,
            finished_at=t.finished_at,
            version=t.version,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class SetupActionEvent(StrEnum):
    CREATED = "created"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskLogOut(OutModel):
    from_state: TaskState | None
    to_state: TaskState
    message: str | None
    errors: list[TaskError]
    actor: str
    at: datetime
    setup_action_id: str | None = Field(
        description="Set on a row about one setup action (the task did not move)."
    )
    setup_action_event: SetupActionEvent | None

    @classmethod
    def of(cls, row: ServiceTaskLog) -> TaskLogOut:
        return cls(
            from_state=TaskState(row.from_state) if row.from_state else None,
            to_state=TaskState(row.to_state),
            message=row.message,
            errors=[TaskError.model_validate(e) for e in row.errors],
            actor=row.actor,
            at=row.at,
            setup_action_id=row.setup_action_id,
            setup_action_event=(
                SetupActionEvent(row.setup_action_event) if row.setup_action_event else None
            ),
        )


class TaskLogList(OutModel):
    data: list[TaskLogOut]


class SubscriptionOut(OutModel):
    id: str
    enrollment_id: str
    program_instance_id: str
    customer_id: str | None
    device_location_id: str | None
    status: str
    start_at: datetime | None
    end_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: ProgramSubscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            enrollment_id=s.enrollment_id,
            program_instance_id=s.program_instance_id,
            customer_id=s.customer_id,
            device_location_id=s.device_location_id,
            status=s.status,
            start_at=s.start_at,
            end_at=s.end_at,
            version=s.version,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class DeviceLocationOut(OutModel):
    id: str
    customer_id: str | None
    status: str
    address: dict[str, Any] | None
    premise_id: str | None
    service_point_id: str | None
    division: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, loc: DeviceLocation) -> DeviceLocationOut:
        return cls(
            id=loc.id,
            customer_id=loc.customer_id,
            status=loc.status,
            address=loc.address,
            premise_id=loc.premise_id,
            service_point_id=loc.service_point_id,
            division=loc.division,
            created_at=loc.created_at,
            updated_at=loc.updated_at,
        )


class DeviceOut(OutModel):
    id: str
    type: str
    manufacturer: str
    model: str | None
    serial_number: str | None
    ownership: AssetOwnership
    status: str = Field(description="in_stock, reserved, installed, active or deactivated.")
    device_location_id: str | None
    subscription_id: str | None
    metadata: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Device) -> DeviceOut:
        return cls(
            id=d.id,
            type=d.type,
            manufacturer=d.manufacturer,
            model=d.model,
            serial_number=d.serial_number,
            ownership=AssetOwnership(d.ownership),
            status=d.status,
            device_location_id=d.device_location_id,
            subscription_id=d.subscription_id,
            metadata=d.metadata_,
            version=d.version,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class TodoOut(OutModel):
    id: str
    kind: str = Field(description="exception, approval, expiration or action.")
    status: str
    title: str
    detail: str | None
    task_id: str | None
    setup_action_id: str | None
    completed_at: datetime | None
    completed_by: str | None
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, t: Todo) -> TodoOut:
        return cls(
            id=t.id,
            kind=t.kind,
            status=t.status,
            title=t.title,
            detail=t.detail,
            task_id=t.task_id,
            setup_action_id=t.setup_action_id,
            completed_at=t.completed_at,
            completed_by=t.completed_by,
            note=t.note,
            created_at=t.created_at,
        )
