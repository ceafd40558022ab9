from __future__ import annotations

import ipaddress
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, model_validator
from pydantic.alias_generators import to_snake

from enroll.auth.scopes import Scope
from enroll.customer.applicant import APPLICANT_FIELDS, ApplicantFields
from enroll.kit.fields import (
    Address,
    Email,
    IsoDate,
    LongText,
    ManufacturerSlug,
    Metadata,
    Name,
    Phone,
    Reference,
    ShortText,
    TagList,
    Timestamp,
)
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.location.schemas import ServicePointId
from enroll.models import Enrollment, EnrollmentConsent, EnrollmentHistory
from enroll.models.enrollment_fields import FIELDS
from enroll.workflows.enrollment import REVIEW_ACTIONS, Action, Status

Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class IdentificationType(StrEnum):
    CUSTOMER_INFO = "customerInfo"
    CUSTOMER_ID = "customerId"
    LEAD_ID = "leadId"
    ENROLLMENT_ID = "enrollmentId"


class EnrollmentFields(ApiModel):
    """What a request may say about the person and their equipment."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    manufacturer_slugs: Annotated[list[ManufacturerSlug], Field(max_length=100)] | None = None
    metadata: Metadata | None = None
    serial_number: ShortText | None = None
    reference_id: ShortText | None = None
    reference_description: LongText | None = None
    tags: TagList | None = None


_REFERENCES = ("customerId", "leadId", "enrollmentId")  # each an identificationType too


def _identification(schema: dict[str, Any]) -> None:
    """service.check_identification as a schema: per identificationType (if/then, which client
    generators leave alone), the fields it requires and the other types' references absent or
    null."""

    def rule(kind: str, required: list[str]) -> dict[str, Any]:
        properties: dict[str, Any] = {name: {"type": "string"} for name in required}
        properties |= {ref: {"type": "null"} for ref in _REFERENCES if ref != kind}
        return {
            "if": {"properties": {"identificationType": {"const": kind}}},
            "then": {"properties": properties, "required": required},
        }

    schema["allOf"] = [rule("customerInfo", ["firstName", "lastName", "email"])] + [
        rule(ref, [ref]) for ref in _REFERENCES
    ]


# Each pair names one thing two ways: a request sends one of them at most.
_EITHER = (("serviceLocationId", "servicePointId"), ("planId", "planCode"))


class ConsentChannel(StrEnum):
    WEB = "web"
    PHONE = "phone"
    PAPER = "paper"
    API = "api"


class ConsentActorType(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


class ConsentActor(ApiModel):
    type: ConsentActorType = Field(description="Who gave the consent: the customer, or an agent.")
    name: ShortText | None = None
    on_behalf_of: ShortText | None = Field(None, description="An agent's customer.")


class AcceptedDocument(ApiModel):
    type: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="The plan document's type (efl, tos, yrac, pds, …)."
    )
    version: Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("Not an IPv4 or IPv6 address.") from None


IpAddress = Annotated[
    str,
    StringConstraints(max_length=45),
    AfterValidator(_ip_address),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}
    ),
]


ConsentKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
TERMS = "terms"


class ConsentIn(ApiModel):
    """The applicant's consent, as shown to them: a plan's (or the instance's) terms, or a
    kind an instance's requirements name (a signature authorising filings, say)."""

    kind: ConsentKind = Field(
        TERMS,
        description="terms: a plan's documents or the instance's terms; another kind answers a "
        "consent requirement of that kind (docs/requirements.md).",
    )
    text_version: ShortText | None = Field(
        None, description="The version of the wording shown (a consent requirement may name it)."
    )
    terms_accepted: bool | None = Field(
        None, description="true: the terms were accepted (absent or false: 422 terms_not_accepted)."
    )
    documents: Annotated[list[AcceptedDocument], Field(max_length=20)] = Field(
        [],
        description="Each of the plan's documents, at its current version (and the "
        "instance's terms as type programTerms when it requires consent).",
    )
    text: LongText | None = Field(None, description="The exact wording shown.")
    accepted_at: Timestamp | None = Field(None, description="Default: when the request arrives.")
    ip_address: IpAddress | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1000)] | None = None
    channel: ConsentChannel = ConsentChannel.API
    actor: ConsentActor = Field(
        default_factory=lambda: ConsentActor(type=ConsentActorType.CUSTOMER)
    )


ConsentList_ = Annotated[list[ConsentIn], Field(max_length=10)]
CONSENTS = (
    "Several consents at once (with `consent`, all are kept): e.g. the terms and a signature."
)


class EnrollmentCreate(EnrollmentFields, ApplicantFields, json_schema_extra=_identification):
    identification_type: IdentificationType = Field(
        description="How the person is identified; decides which other fields are required."
    )
    lead_id: Reference | None = None
    customer_id: Reference | None = None
    enrollment_id: Reference | None = Field(
        None, description="With identificationType enrollmentId: the enrollment to copy."
    )
    service_location_id: Reference | None = Field(
        None, description="The premise served (or `servicePointId`, not both)."
    )
    service_point_id: ServicePointId | None = Field(
        None, description="The premise by its market id (ERCOT: ESI ID)."
    )
    plan_id: Reference | None = Field(
        None, description="The plan accepted (or `planCode`, not both); needs a location."
    )
    plan_code: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="The plan by its code or one of its aliases."
    )
    start_date: IsoDate | None = Field(
        None,
        description="When service starts, inside the plan's start window (default: its "
        "earliest date); only with planId or planCode.",
    )
    consent: ConsentIn | None = Field(
        None,
        description="Required with a plan that has documents, or by an instance with "
        "consentRequired; kept as an immutable record.",
    )
    consents: ConsentList_ = Field([], description=CONSENTS)

    @model_validator(mode="after")
    def _one_name_each(self) -> EnrollmentCreate:
        for pair in _EITHER:
            sent = [n for n in pair if to_snake(n) in self.model_fields_set]
            if len(sent) == 2:
                raise ValueError(f"Send {pair[0]} or {pair[1]}, not both.")
        if self.start_date is not None and self.plan_id is None and self.plan_code is None:
            raise ValueError("startDate is the start of a plan: send planId or planCode with it.")
        return self


class EnrollmentUpdate(PatchModel, EnrollmentFields, ApplicantFields):
    NULLABLE = frozenset(f.column for f in FIELDS if f.clearable) | APPLICANT_FIELDS

    consent: ConsentIn | None = Field(
        None, description="A consent given now (kept as a record; see docs/requirements.md)."
    )
    consents: ConsentList_ | None = Field(None, description=CONSENTS)


# The actions with a route (POST /v1/enrollments/{id}/<action>) and a mutation of their own,
# described once for both doors.
ACTION_DESCRIPTIONS = {
    Action.SUBMIT: "eligible → submitted: the customer completed the application.",
    Action.APPROVE: "submitted → approved; starts the setup (a service task): at once, with "
    "enrollmentStartDate, where the instance has no setup workflow.",
    Action.REJECT: "submitted → rejected; a reason is required.",
    Action.CANCEL: "candidate, eligible or submitted → cancelled: the customer withdrew.",
    Action.MARK_UNPROCESSABLE: "submitted → unprocessable: what was submitted cannot be "
    "processed (not a decision that the applicant does not qualify: reject); terminal; a "
    "reason is required.",
    Action.REEVALUATE: "Run the eligibility checks again (candidate, eligible, ineligible, "
    "rejected under newer criteria).",
}


def action_scope(action: Action) -> Scope:
    """The scope an action needs: a decision on an application is a review."""
    return Scope.ENROLLMENTS_REVIEW if action in REVIEW_ACTIONS else Scope.ENROLLMENTS_WRITE


def describe_action(action: Action) -> str:
    return f"{ACTION_DESCRIPTIONS[action]} Scope {action_scope(action).value}."


class TransitionBody(ApiModel):
    reason: Reason | None = None


class ReasonBody(ApiModel):
    reason: Reason


class DecideBody(ApiModel):
    status: Literal[Status.ELIGIBLE, Status.INELIGIBLE] = Field(
        description="The person's screening decision."
    )
    reason: Reason = Field(description="Why (kept in the history with who decided).")


class EligibilityOut(OutModel):
    status: Status
    reason: str | None
    program_instance_id: str
    checks: list[dict[str, Any]] = []
    criteria_version: int | None = Field(None, description="The criteria version evaluated.")
    evaluated_at: str | None = None


class RequirementStateOut(OutModel):
    key: str
    kind: str
    label: str
    stage: str = Field(description="create or submit: when it is enforced.")
    status: str = Field(description="met, unmet, pending or not_applicable.")
    detail: str | None = Field(description="What is missing, or why it is met.")
    updated_at: datetime = Field(description="When its status or detail last changed.")


class EnrollmentOut(OutModel):
    id: str
    identification_type: IdentificationType
    program_instance_id: str
    lead_id: str | None
    customer_id: str | None
    enrollment_id: str | None = Field(description="The enrollment this one was copied from.")
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    manufacturer_slugs: list[str]
    metadata: dict[str, Any]
    meta: dict[str, Any] = Field(description="Same as `metadata` (the name in the seed's sample).")
    serial_number: str | None
    reference_id: str | None
    reference_description: str | None
    tags: list[str]
    enrollment_start_date: datetime | None
    status: Status
    eligibility_status: Status
    eligibility_reason: str | None
    eligibility: EligibilityOut
    needs_review: bool = Field(
        description="A later check failed after the enrollment moved on (submitted, approved): "
        "a person should look at it. `needsReviewReason` says why."
    )
    needs_review_reason: str | None
    service_location_id: str | None
    plan_id: str | None
    plan_code: str | None = Field(description="The plan's code (canonical, not an alias).")
    plan_code_given: str | None = Field(description="The code or alias the request gave.")
    start_date: date | None = Field(description="The requested start of service.")
    service_active: bool = Field(
        description="The market enrollment (switch) completed: the plan's service runs."
    )
    service_start_date: date | None = Field(description="When service started (or starts).")
    has_usage_history: bool = Field(
        description="Whether its service location has received usage readings."
    )
    requirements: list[RequirementStateOut] = Field(
        description="Its instance's requirements and whether each is met (docs/requirements.md)."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, e: Enrollment) -> EnrollmentOut:
        status = Status(e.status)
        evaluation = e.evaluation
        return cls(
            id=e.id,
            identification_type=IdentificationType(e.identification_type),
            program_instance_id=e.program_instance_id,
            lead_id=e.lead_id,
            customer_id=e.customer_id,
            enrollment_id=e.source_enrollment_id,
            first_name=e.first_name,
            last_name=e.last_name,
            email=e.email,
            phone=e.phone,
            address=e.address,
            manufacturer_slugs=e.manufacturer_slugs,
            metadata=e.metadata_,
            meta=e.metadata_,
            serial_number=e.serial_number,
            reference_id=e.reference_id,
            reference_description=e.reference_description,
            tags=e.tags,
            enrollment_start_date=e.enrollment_start_date,
            status=status,
            eligibility_status=status,
            eligibility_reason=e.eligibility_reason,
            eligibility=EligibilityOut(
                status=status,
                reason=e.eligibility_reason,
                program_instance_id=e.program_instance_id,
                checks=evaluation.get("checks", []),
                criteria_version=evaluation.get("criteriaVersion"),
                evaluated_at=evaluation.get("evaluatedAt"),
            ),
            needs_review=bool(e.needs_review),
            needs_review_reason=e.needs_review_reason,
            service_location_id=e.service_location_id,
            plan_id=e.plan_id,
            plan_code=e.plan_code,
            plan_code_given=e.plan_code_given,
            start_date=e.start_date,
            service_active=bool(e.service_active),
            service_start_date=e.service_start_date,
            has_usage_history=bool(e.has_usage_history),
            requirements=[RequirementStateOut.model_validate(r) for r in e.requirements or ()],
            version=e.version,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )


class HistoryOut(OutModel):
    id: str
    from_status: Status | None
    to_status: Status
    action: str
    reason: str | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, h: EnrollmentHistory) -> HistoryOut:
        return cls(
            id=h.id,
            from_status=Status(h.from_status) if h.from_status else None,
            to_status=Status(h.to_status),
            action=h.action,
            reason=h.reason,
            actor=h.actor,
            at=h.at,
        )


class HistoryList(OutModel):
    data: list[HistoryOut]


__all__ = ["Action", "EnrollmentCreate", "EnrollmentOut", "EnrollmentUpdate", "HistoryOut"]


class ConsentOut(OutModel):
    id: str
    enrollment_id: str
    kind: str = Field(description="terms, or the kind a consent requirement names.")
    text_version: str | None
    plan_id: str | None
    terms_accepted: bool
    documents: list[dict[str, Any]] = Field(
        description="The plan's documents as accepted: type, version, url, sha256."
    )
    text: str | None
    accepted_at: datetime
    ip_address: str | None
    user_agent: str | None
    channel: ConsentChannel
    actor: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, c: EnrollmentConsent) -> ConsentOut:
        return cls(
            id=c.id,
            enrollment_id=c.enrollment_id,
            kind=c.kind,
            text_version=c.text_version,
            plan_id=c.plan_id,
            terms_accepted=c.terms_accepted,
            documents=c.documents,
            text=c.text,
            accepted_at=c.accepted_at,
            ip_address=c.ip_address,
            user_agent=c.user_agent,
            channel=ConsentChannel(c.channel),
            actor=c.actor,
            created_at=c.created_at,
        )

    def public(self) -> dict[str, Any]:
        """As events and webhooks carry it: without the IP address."""
        return self.model_dump(mode="json", by_alias=True, exclude={"ip_address"})


class ConsentList(OutModel):
    data: list[ConsentOut]


class RequirementList(OutModel):
    data: list[RequirementStateOut]

    @classmethod
    def of(cls, e: Enrollment) -> RequirementList:
        return cls(data=[RequirementStateOut.model_validate(r) for r in e.requirements or ()])
