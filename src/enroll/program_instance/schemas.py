from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from enroll.eligibility.criteria import CriteriaList, check_unique
from enroll.kit.fields import (
    HttpUrl,
    IsoDate,
    LongText,
    Metadata,
    Name,
    Reference,
    ShortText,
    Slug,
    Timezone,
)
from enroll.kit.schemas import ApiModel, OutModel, PatchModel, alternatives
from enroll.models import ProgramInstance
from enroll.program_instance.requirements import RequirementList, unique_keys
from enroll.program_instance.setup_workflow import SetupWorkflow
from enroll.workflows.program_instance import InstanceStatus

Capacity = Annotated[int, Field(ge=0, le=1_000_000_000, description="Most approved enrollments.")]


class ReviewMode(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"


class Screening(StrEnum):
    """Who decides eligibility: the rules (automatic), or a person through `decide` (manual;
    the rules' checks are kept as advice and new enrollments stay candidate)."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class ReenrollmentPolicy(StrEnum):
    """Whether re-evaluation after a criteria change may reopen rejected enrollments."""

    NONE = "none"
    REEVALUATE_REJECTED = "reevaluate_rejected"


class Branding(ApiModel):
    logo_url: HttpUrl | None = None
    colors: Annotated[dict[str, ShortText], Field(max_length=20)] = {}
    messaging: Annotated[dict[str, LongText], Field(max_length=50)] = {}


class Terms(ApiModel):
    version: ShortText
    url: HttpUrl | None = None
    text: LongText | None = None


CONSENT_REQUIRED = (
    "true: every enrollment created needs consent.termsAccepted: true, with the instance's "
    "terms (type programTerms, its version) among the documents when it has terms (else 422 "
    "terms_not_accepted or consent_documents_mismatch). A plan with documents needs consent "
    "whatever this says. Imported candidates are not asked; an enrollment request (service "
    "task) carries no consent, so its task stops with terms_not_accepted."
)


REQUIREMENTS = (
    "What an enrollment needs besides eligibility (docs/requirements.md): fields, rules, "
    "consents, household members, documents, income certification, billing address, payment "
    "method; keys unique. Versioned with the criteria."
)
SUBMIT_WHEN_COMPLETE = (
    "true: an eligible enrollment is submitted by the platform in the transaction that meets "
    "its last requirement."
)


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError("endDate must be after startDate")


class ProgramInstanceCreate(
    ApiModel, json_schema_extra=alternatives(("programId",), ("programSlug",))
):
    program_id: Reference | None = None
    program_slug: Reference | None = None
    slug: Slug
    name: Name
    description: LongText | None = None
    branding: Branding = Branding()
    terms: Terms | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = Field(
        None, description="First day enrollments are no longer accepted."
    )
    capacity: Capacity | None = None
    review_mode: ReviewMode = ReviewMode.MANUAL
    reenrollment_policy: ReenrollmentPolicy = ReenrollmentPolicy.NONE
    screening: Screening = Screening.AUTOMATIC
    status: Literal[InstanceStatus.DRAFT, InstanceStatus.ACTIVE] = InstanceStatus.DRAFT
    metadata: Metadata = {}
    eligibility_criteria: CriteriaList = Field(
        [], description="Criteria added to the program's (ids must differ from the program's)."
    )
    setup_workflow: SetupWorkflow | None = Field(
        None, description="What approval sets up; null: approval completes setup at once."
    )
    timezone: Timezone = Field(
        "UTC",
        description="The IANA time zone the instance counts days in (plans' start windows).",
    )
    consent_required: bool = Field(False, description=CONSENT_REQUIRED)
    requirements: RequirementList = Field([], description=REQUIREMENTS)
    submit_when_complete: bool = Field(False, description=SUBMIT_WHEN_COMPLETE)

    _unique = field_validator("eligibility_criteria")(check_unique)
    _unique_requirements = field_validator("requirements")(unique_keys)

    @model_validator(mode="after")
    def _validate(self) -> ProgramInstanceCreate:
        if (self.program_id is None) == (self.program_slug is None):
            raise ValueError("give exactly one of programId or programSlug")
        _check_dates(self.start_date, self.end_date)
        return self


class ProgramInstanceUpdate(PatchModel):
    NULLABLE = frozenset(
        {"description", "terms", "start_date", "end_date", "capacity", "setup_workflow"}
    )

    name: Name | None = None
    description: LongText | None = None
    branding: Branding | None = None
    terms: Terms | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    capacity: Capacity | None = None
    review_mode: ReviewMode | None = None
    reenrollment_policy: ReenrollmentPolicy | None = None
    screening: Screening | None = None
    status: InstanceStatus | None = None
    metadata: Metadata | None = None
    eligibility_criteria: CriteriaList | None = None
    setup_workflow: SetupWorkflow | None = None
    timezone: Timezone | None = None
    consent_required: bool | None = Field(None, description=CONSENT_REQUIRED)
    requirements: RequirementList | None = Field(None, description=REQUIREMENTS)
    submit_when_complete: bool | None = Field(None, description=SUBMIT_WHEN_COMPLETE)

    _unique = field_validator("eligibility_criteria")(check_unique)
    _unique_requirements = field_validator("requirements")(unique_keys)


class ProgramInstanceOut(OutModel):
    id: str
    program_id: str
    slug: str
    name: str
    description: str | None
    branding: dict[str, Any]
    terms: dict[str, Any] | None
    start_date: date | None
    end_date: date | None
    capacity: int | None
    review_mode: ReviewMode
    reenrollment_policy: ReenrollmentPolicy
    screening: Screening
    status: InstanceStatus
    metadata: dict[str, Any]
    eligibility_criteria: list[dict[str, Any]]
    setup_workflow: dict[str, Any] | None
    criteria_version: int = Field(description="The newest version of the effective criteria.")
    timezone: str = Field(description="The IANA time zone the instance counts days in.")
    consent_required: bool = Field(description=CONSENT_REQUIRED)
    requirements: list[dict[str, Any]] = Field(description=REQUIREMENTS)
    submit_when_complete: bool = Field(description=SUBMIT_WHEN_COMPLETE)
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, i: ProgramInstance) -> ProgramInstanceOut:
        return cls(
            id=i.id,
            program_id=i.program_id,
            slug=i.slug,
            name=i.name,
            description=i.description,
            branding=i.branding,
            terms=i.terms or None,
            start_date=i.start_date,
            end_date=i.end_date,
            capacity=i.capacity,
            review_mode=ReviewMode(i.review_mode),
            reenrollment_policy=ReenrollmentPolicy(i.reenrollment_policy),
            screening=Screening(i.screening),
            status=InstanceStatus(i.status),
            metadata=i.metadata_,
            eligibility_criteria=i.eligibility_criteria,
            setup_workflow=i.setup_workflow,
            criteria_version=i.criteria_version,
            timezone=i.timezone,
            consent_required=i.consent_required,
            requirements=i.requirements,
            submit_when_complete=i.submit_when_complete,
            version=i.version,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )
