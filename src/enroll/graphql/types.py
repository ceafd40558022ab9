"""GraphQL object types. Each mirrors a REST output schema field for field (strawberry turns
``program_instance_id`` into ``programInstanceId``, as the REST bodies spell it) and is made
from that very schema (``EnrollmentOut.of`` and the like), so both doors answer the same values.

Nested objects the REST bodies only name by id (an enrollment's instance, its customer, an
instance's program) resolve through the request's data loaders, under the scope the REST route
reading them requires.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID
from strawberry.scalars import JSON

import enroll.graphql.scalars  # noqa: F401  (the enums, before any use)
from enroll.auth.scopes import Scope
from enroll.customer.applicant import EmploymentStatus, MaritalStatus, StudentStatus
from enroll.customer.schemas import CustomerOut
from enroll.enrollment import acceptance
from enroll.enrollment.schemas import ConsentOut, EnrollmentOut, HistoryOut, IdentificationType
from enroll.event.schemas import EventOut
from enroll.graphql.applicant import HouseholdMember, households
from enroll.graphql.context import info_context
from enroll.graphql.documents import Document, enrollment_documents_of
from enroll.graphql.fields import field
from enroll.models import Customer as CustomerRow
from enroll.models import Enrollment as EnrollmentRow
from enroll.models import EnrollmentHistory as HistoryRow
from enroll.models import Program as ProgramRow
from enroll.models import ProgramInstance as InstanceRow
from enroll.models import ServiceTaskLog as TaskLogRow
from enroll.models import SetupAction as SetupActionRow
from enroll.program.schemas import ProgramOut, ProgramType
from enroll.program_instance.schemas import (
    CONSENT_REQUIRED,
    REQUIREMENTS,
    SUBMIT_WHEN_COMPLETE,
    ProgramInstanceOut,
    ReenrollmentPolicy,
    ReviewMode,
    Screening,
)
from enroll.servicetask.schemas import (
    ServiceTaskOut,
    SetupActionEvent,
    SetupActionOut,
    TaskLogOut,
)
from enroll.workflows.enrollment import Status
from enroll.workflows.program_instance import InstanceStatus
from enroll.workflows.service_task import TaskKind, TaskState

N = TypeVar("N")
R = TypeVar("R")
T = TypeVar("T")


def fields_of(model: Any, *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The output model's values by field name, nested models left to the caller."""
    values: dict[str, Any] = {
        name: getattr(model, name) for name in type(model).model_fields if name not in exclude
    }
    return values


# --- the catalog ----------------------------------------------------------------------------


def _maybe(convert: Callable[[R], T], row: R | None) -> T | None:
    """A loaded row as its GraphQL type (None: not found, or another workspace's)."""
    return None if row is None else convert(row)


@strawberry.type(description="A platform catalog entry (REST: ProgramOut).")
class Program:
    id: ID
    slug: str
    name: str
    description: str | None
    type: ProgramType
    category: str | None
    states: list[str]
    manufacturer_slugs: list[str]
    active: bool
    year: int | None
    metadata: JSON
    eligibility_criteria: list[JSON]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ProgramRow) -> Program:
        return cls(**fields_of(ProgramOut.of(row)))


@strawberry.type(
    description="A workspace's running version of a program (REST: ProgramInstanceOut)."
)
class ProgramInstance:
    id: ID
    program_id: ID
    slug: str
    name: str
    description: str | None
    branding: JSON
    terms: JSON | None
    start_date: date | None
    end_date: date | None = strawberry.field(
        description="First day enrollments are no longer accepted."
    )
    capacity: int | None
    review_mode: ReviewMode
    reenrollment_policy: ReenrollmentPolicy
    screening: Screening
    status: InstanceStatus
    metadata: JSON
    eligibility_criteria: list[JSON]
    setup_workflow: JSON | None
    criteria_version: int = strawberry.field(
        description="The newest version of the effective criteria."
    )
    timezone: str = strawberry.field(
        description="The IANA time zone the instance counts days in (plans' start windows)."
    )
    consent_required: bool = strawberry.field(description=CONSENT_REQUIRED)
    requirements: list[JSON] = strawberry.field(description=REQUIREMENTS)
    submit_when_complete: bool = strawberry.field(description=SUBMIT_WHEN_COMPLETE)
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: InstanceRow) -> ProgramInstance:
        return cls(**fields_of(ProgramInstanceOut.of(row)))

    @field("The catalog program this instance runs (any valid key).", workspace=False)
    async def program(self, info: strawberry.Info) -> Program | None:
        ctx = info_context(info)
        await ctx.principal(workspace=False)
        return _maybe(Program.of, await ctx.loaders.program.load(self.program_id))


# --- people ---------------------------------------------------------------------------------


@strawberry.type
class Address:
    street_one: str | None
    street_two: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None

    @classmethod
    def of(cls, value: dict[str, Any] | None) -> Address | None:
        if value is None:
            return None
        return cls(
            street_one=value.get("streetOne"),
            street_two=value.get("streetTwo"),
            city=value.get("city"),
            state=value.get("state"),
            postal_code=value.get("postalCode"),
            country=value.get("country"),
        )


@strawberry.type(
    description="A workspace's customer (REST: CustomerOut). Its tax id is never shown, only "
    "taxIdLast4."
)
class Customer:
    id: ID
    first_name: str
    last_name: str
    email: str
    phone: str | None
    address: Address | None
    metadata: JSON
    notifications_opt_out: bool
    date_of_birth: date | None
    tax_id_last4: str | None = strawberry.field(
        description="The tax id's last 4 digits; it is never shown."
    )
    marital_status: MaritalStatus | None
    student_status: StudentStatus | None
    employment_status: EmploymentStatus | None
    income: JSON = strawberry.field(description="{agi, hasTaxableIncome, decreasedSinceFiling}")
    irs_authorized_at: datetime | None
    billing_address: JSON | None = strawberry.field(
        description="{sameAsServiceAddress, address, confirmedAt} once confirmed."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: CustomerRow) -> Customer:
        out = CustomerOut.of(row)
        dumped = out.model_dump(mode="json", by_alias=True, include={"income", "billing_address"})
        return cls(
            **fields_of(out, exclude={"address", "income", "billing_address"}),
            address=Address.of(out.address),
            income=dumped["income"],
            billing_address=dumped["billingAddress"],
        )

    @field(
        "The household members, oldest first (REST: …/householdMembers; scope customers:read).",
        Scope.CUSTOMERS_READ,
    )
    async def household_members(self, info: strawberry.Info) -> list[HouseholdMember]:
        ctx = info_context(info)
        await ctx.principal(Scope.CUSTOMERS_READ)
        return [HouseholdMember.of(row) for row in await households(ctx).load(self.id)]


# --- enrollments ----------------------------------------------------------------------------


@strawberry.type
class Eligibility:
    status: Status
    reason: str | None
    program_instance_id: ID
    checks: list[JSON]
    criteria_version: int | None = strawberry.field(description="The criteria version evaluated.")
    evaluated_at: str | None


@strawberry.type(description="One status change (REST: HistoryOut).")
class EnrollmentHistory:
    id: ID
    from_status: Status | None
    to_status: Status
    action: str
    reason: str | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, row: HistoryRow) -> EnrollmentHistory:
        return cls(**fields_of(HistoryOut.of(row)))


@strawberry.type(description="A consent record, immutable (REST: ConsentOut).")
class Consent:
    id: ID
    enrollment_id: ID
    kind: str
    text_version: str | None
    plan_id: ID | None
    terms_accepted: bool
    documents: JSON
    text: str | None
    accepted_at: datetime
    ip_address: str | None
    user_agent: str | None
    channel: str
    actor: JSON
    created_at: datetime


@strawberry.type(description="One requirement of an enrollment (REST: RequirementStateOut).")
class RequirementState:
    key: str
    kind: str
    label: str
    stage: str
    status: str = strawberry.field(description="met, unmet, pending or not_applicable.")
    detail: str | None
    updated_at: datetime


@strawberry.type(description="An enrollment (REST: EnrollmentOut).")
class Enrollment:
    id: ID
    identification_type: IdentificationType
    program_instance_id: ID
    lead_id: ID | None
    customer_id: ID | None
    enrollment_id: ID | None = strawberry.field(
        description="The enrollment this one was copied from (see sourceEnrollment)."
    )
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    address: Address | None
    manufacturer_slugs: list[str]
    metadata: JSON
    meta: JSON = strawberry.field(description="Same as `metadata` (the name in the seed's sample).")
    serial_number: str | None
    reference_id: str | None
    reference_description: str | None
    tags: list[str]
    enrollment_start_date: datetime | None
    status: Status
    eligibility_status: Status
    eligibility_reason: str | None
    eligibility: Eligibility
    needs_review: bool
    needs_review_reason: str | None
    service_location_id: strawberry.ID | None
    plan_id: strawberry.ID | None
    plan_code: str | None
    plan_code_given: str | None
    start_date: date | None
    service_active: bool
    service_start_date: date | None
    has_usage_history: bool
    requirements: list[RequirementState] = strawberry.field(
        description="Its instance's requirements and whether each is met (REST: …/requirements)."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: EnrollmentRow) -> Enrollment:
        out = EnrollmentOut.of(row)
        return cls(
            **fields_of(out, exclude={"address", "eligibility", "requirements"}),
            address=Address.of(out.address),
            eligibility=Eligibility(**fields_of(out.eligibility)),
            requirements=[RequirementState(**fields_of(r)) for r in out.requirements],
        )

    @field("Its program instance (scope program_instances:read).", Scope.PROGRAM_INSTANCES_READ)
    async def program_instance(self, info: strawberry.Info) -> ProgramInstance | None:
        ctx = info_context(info)
        await ctx.principal(Scope.PROGRAM_INSTANCES_READ)
        return _maybe(ProgramInstance.of, await ctx.loaders.instance.load(self.program_instance_id))

    @field("Its customer, if any (scope customers:read).", Scope.CUSTOMERS_READ)
    async def customer(self, info: strawberry.Info) -> Customer | None:
        ctx = info_context(info)
        await ctx.principal(Scope.CUSTOMERS_READ)
        if self.customer_id is None:
            return None
        return _maybe(Customer.of, await ctx.loaders.customer.load(self.customer_id))

    @field("The enrollment this one was copied from (enrollmentId).", Scope.ENROLLMENTS_READ)
    async def source_enrollment(self, info: strawberry.Info) -> Enrollment | None:
        ctx = info_context(info)
        await ctx.principal(Scope.ENROLLMENTS_READ)
        if self.enrollment_id is None:
            return None
        return _maybe(Enrollment.of, await ctx.loaders.enrollment.load(self.enrollment_id))

    @field(
        "The consent records, oldest first: immutable (REST: …/consents).", Scope.ENROLLMENTS_READ
    )
    async def consents(self, info: strawberry.Info) -> list[Consent]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)

        async def work(session: AsyncSession) -> list[Consent]:
            rows = await acceptance.consents(
                session, workspace_id=workspace_id, enrollment_id=self.id
            )
            return [Consent(**fields_of(ConsentOut.of(row))) for row in rows]

        return await ctx.read(work)

    @field(
        "Its documents, oldest first (REST: …/documents; the files themselves: …/content).",
        Scope.ENROLLMENTS_READ,
    )
    async def documents(self, info: strawberry.Info) -> list[Document]:
        return await enrollment_documents_of(info, self.id)

    @field("Every status change, oldest first (REST: …/history).", Scope.ENROLLMENTS_READ)
    async def history(self, info: strawberry.Info) -> list[EnrollmentHistory]:
        ctx = info_context(info)
        await ctx.principal(Scope.ENROLLMENTS_READ)
        return [EnrollmentHistory.of(row) for row in await ctx.loaders.history.load(self.id)]


# --- service tasks (graphql/servicetasks.py; unenroll answers one too) ----------------------


@strawberry.type
class TaskError:
    code: str
    message: str
    field: str | None


@strawberry.type
class SetupAction:
    id: ID
    task_id: ID
    type: str
    sequence: int
    status: str
    attempts: int
    message: str | None
    result: JSON | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: SetupActionRow) -> SetupAction:
        return cls(**fields_of(SetupActionOut.of(row)))


@strawberry.type(description="One state change or error of a task (REST: TaskLogOut).")
class TaskLogEntry:
    from_state: TaskState | None
    to_state: TaskState
    message: str | None
    errors: list[TaskError]
    actor: str
    at: datetime
    setup_action_id: ID | None = strawberry.field(
        description="Set on a row about one setup action (the task did not move)."
    )
    setup_action_event: SetupActionEvent | None

    @classmethod
    def of(cls, row: TaskLogRow) -> TaskLogEntry:
        out = TaskLogOut.of(row)
        return cls(
            **fields_of(out, exclude={"errors"}),
            errors=[TaskError(**fields_of(e)) for e in out.errors],
        )


@strawberry.type(description="A service task (REST: ServiceTaskOut).")
class ServiceTask:
    id: ID
    kind: TaskKind
    origin: str = strawberry.field(description="request, approval, unenroll or device.")
    transaction_id: str | None
    state: TaskState
    errors: list[TaskError]
    allowed_operations: list[str]
    program_instance_id: ID
    enrollment_id: ID | None
    customer_id: ID | None
    subscription_id: ID | None
    device_location_id: ID | None
    device_ids: list[ID]
    setup_actions: list[SetupAction]
    request: JSON
    expires_at: datetime | None
    finished_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, out: ServiceTaskOut) -> ServiceTask:
        return cls(
            **fields_of(out, exclude={"errors", "setup_actions"}),
            errors=[TaskError(**fields_of(e)) for e in out.errors],
            setup_actions=[SetupAction(**fields_of(a)) for a in out.setup_actions],
        )

    @field(
        "Every state change and error of the task, oldest first (REST: …/log).",
        Scope.ENROLLMENTS_READ,
    )
    async def log(self, info: strawberry.Info) -> list[TaskLogEntry]:
        ctx = info_context(info)
        await ctx.principal(Scope.ENROLLMENTS_READ)
        return [TaskLogEntry.of(row) for row in await ctx.loaders.task_log.load(self.id)]

    @field(
        "The enrollment it sets up or ends, if any (scope enrollments:read).",
        Scope.ENROLLMENTS_READ,
    )
    async def enrollment(self, info: strawberry.Info) -> Enrollment | None:
        ctx = info_context(info)
        await ctx.principal(Scope.ENROLLMENTS_READ)
        if self.enrollment_id is None:
            return None
        return _maybe(Enrollment.of, await ctx.loaders.enrollment.load(self.enrollment_id))


@strawberry.type(
    description="What unenroll answers: the enrollment, and its unenrollment task. Where the "
    "instance has no setup workflow the task completed at once and the enrollment is "
    "unenrolled (REST: 200 with the enrollment); otherwise the task is running (REST: 202)."
)
class UnenrollResult:
    enrollment: Enrollment
    service_task: ServiceTask


# --- events ---------------------------------------------------------------------------------


@strawberry.type(description="One event of the workspace's feed (REST: EventOut).")
class Event:
    id: ID
    type: str
    version: int
    occurred_at: str
    workspace_id: ID | None
    data: JSON

    @classmethod
    def of(cls, out: EventOut) -> Event:
        return cls(**fields_of(out))


@strawberry.type(description="A page of the event feed (REST: EventFeed).")
class EventFeed:
    data: list[Event]
    next_cursor: str | None = strawberry.field(
        description="Pass as `after` to continue; stable when the page is empty."
    )


# --- connections ----------------------------------------------------------------------------


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next items; null when the page is empty."
    )


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(
    description="A page of items ordered by id (creation order), keyset-paginated: pass "
    "`pageInfo.endCursor` as `after` for the next page."
)
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    count: strawberry.Private[Any]  # () -> Awaitable[int]: the total, counted when asked

    @field("Every matching item (one COUNT, only when asked for).")
    async def total_count(self) -> int:
        total: int = await self.count()
        return total
