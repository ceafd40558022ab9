"""GraphQL input types, and their validation by the REST request schemas.

An input is turned back into the JSON body REST would receive (camelCase keys, only the fields
sent; an explicit null stays null) and validated by the same Pydantic model, so the rules,
the field names in errors and the 422 ``validation_error`` are those of REST.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from strawberry import ID, UNSET
from strawberry.scalars import JSON

import enroll.graphql.scalars  # noqa: F401  (the enums, before any use)
from enroll.enrollment.schemas import IdentificationType
from enroll.errors import FieldError, Unprocessable, field_errors_of, validation_problem
from enroll.program_instance.schemas import (
    CONSENT_REQUIRED,
    REQUIREMENTS,
    SUBMIT_WHEN_COMPLETE,
    ReenrollmentPolicy,
    ReviewMode,
    Screening,
)
from enroll.program_instance.setup_workflow import RemovalMethod
from enroll.workflows.program_instance import InstanceStatus

M = TypeVar("M", bound=BaseModel)


def wire(value: Any) -> Any:
    """An input as the REST body it stands for: unset fields left out, camelCase keys."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            to_camel(f.name): wire(v)
            for f in dataclasses.fields(value)
            if (v := getattr(value, f.name)) is not UNSET
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def invalid(
    errors: list[FieldError], problem: type[Unprocessable] = Unprocessable
) -> Unprocessable:
    return problem("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors)


def parse(model: type[M], body: dict[str, Any]) -> M:
    """Validate ``body`` as REST validates a request body: 422 ``validation_error`` with the
    failing fields."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        _, errors = field_errors_of(exc.errors())
        raise invalid(errors, validation_problem(exc.errors())) from None


def check_text(name: str, value: str | None, *, max_length: int) -> None:
    """A text argument as REST checks a query parameter: bounded, and no NUL characters."""
    if value is None:
        return
    if "\x00" in value:
        raise invalid([FieldError(field=name, message="Must not contain NUL characters.")])
    if len(value) > max_length:
        raise invalid(
            [FieldError(field=name, message=f"At most {max_length} characters.")],
        )


def check_range(name: str, value: int, *, low: int, high: int) -> None:
    if not low <= value <= high:
        raise invalid([FieldError(field=name, message=f"Must be from {low} to {high}.")])


@strawberry.input
class AddressInput:
    street_one: str | None = UNSET
    street_two: str | None = UNSET
    city: str | None = UNSET
    state: str | None = UNSET
    postal_code: str | None = UNSET
    country: str | None = UNSET


@strawberry.input(description="The person and their equipment (REST: EnrollmentUpdate).")
class EnrollmentUpdateInput:
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    address: AddressInput | None = UNSET
    manufacturer_slugs: list[str] | None = UNSET
    metadata: JSON | None = UNSET
    serial_number: str | None = UNSET
    reference_id: str | None = UNSET
    reference_description: str | None = UNSET
    tags: list[str] | None = UNSET
    date_of_birth: date | None = strawberry.field(
        default=UNSET, description="The applicant's; stored on the customer (as the rest below)."
    )
    tax_id: str | None = strawberry.field(
        default=UNSET, description="SSN or ITIN; stored encrypted, shown as taxIdLast4 only."
    )
    marital_status: str | None = UNSET
    student_status: str | None = UNSET
    employment_status: str | None = UNSET
    income: JSON | None = strawberry.field(
        default=UNSET, description="{agi, hasTaxableIncome, decreasedSinceFiling}"
    )
    irs_authorized_at: datetime | None = UNSET
    consent: JSON | None = strawberry.field(
        default=UNSET,
        description="REST's ConsentIn: {kind (default terms), textVersion, termsAccepted, "
        "documents: [{type, version}], text, acceptedAt, ipAddress, userAgent, channel, actor}; "
        "kept as an immutable record.",
    )
    consents: list[JSON] | None = strawberry.field(
        default=UNSET, description="Several consents at once (as `consent`)."
    )


@strawberry.input(
    description="Who to enroll (REST: EnrollmentCreate); identificationType decides which "
    "other fields are required: customerInfo (firstName, lastName, email), customerId, "
    "leadId or enrollmentId (re-enroll: copy that enrollment)."
)
class EnrollmentCreateInput(EnrollmentUpdateInput):
    identification_type: IdentificationType
    lead_id: ID | None = UNSET
    customer_id: ID | None = UNSET
    enrollment_id: ID | None = UNSET
    service_location_id: ID | None = strawberry.field(
        default=UNSET, description="The premise served (or servicePointId, not both)."
    )
    service_point_id: str | None = strawberry.field(
        default=UNSET, description="The premise by its market id (ERCOT: ESI ID)."
    )
    plan_id: ID | None = strawberry.field(
        default=UNSET, description="The plan accepted (or planCode, not both); needs a location."
    )
    plan_code: str | None = strawberry.field(
        default=UNSET, description="The plan by its code or one of its aliases."
    )
    start_date: date | None = strawberry.field(
        default=UNSET, description="When service starts, inside the plan's start window."
    )


@strawberry.input(description="A new program instance (REST: ProgramInstanceCreate).")
class ProgramInstanceCreateInput:
    program_id: ID | None = UNSET
    program_slug: str | None = UNSET
    slug: str
    name: str
    description: str | None = UNSET
    branding: JSON | None = UNSET
    terms: JSON | None = UNSET
    start_date: date | None = UNSET
    end_date: date | None = UNSET
    capacity: int | None = UNSET
    review_mode: ReviewMode | None = UNSET
    reenrollment_policy: ReenrollmentPolicy | None = UNSET
    screening: Screening | None = UNSET
    status: InstanceStatus | None = strawberry.field(
        default=UNSET, description="draft (the default) or active."
    )
    metadata: JSON | None = UNSET
    eligibility_criteria: list[JSON] | None = UNSET
    setup_workflow: JSON | None = UNSET
    timezone: str | None = strawberry.field(
        default=UNSET, description="An IANA time zone name; UTC when left out."
    )
    consent_required: bool | None = strawberry.field(default=UNSET, description=CONSENT_REQUIRED)
    requirements: list[JSON] | None = strawberry.field(default=UNSET, description=REQUIREMENTS)
    submit_when_complete: bool | None = strawberry.field(
        default=UNSET, description=SUBMIT_WHEN_COMPLETE
    )


@strawberry.input(
    description="A change to a program instance (REST: ProgramInstanceUpdate): only the fields "
    "sent change; null clears description, terms, startDate, endDate, capacity, setupWorkflow."
)
class ProgramInstanceUpdateInput:
    name: str | None = UNSET
    description: str | None = UNSET
    branding: JSON | None = UNSET
    terms: JSON | None = UNSET
    start_date: date | None = UNSET
    end_date: date | None = UNSET
    capacity: int | None = UNSET
    review_mode: ReviewMode | None = UNSET
    reenrollment_policy: ReenrollmentPolicy | None = UNSET
    screening: Screening | None = UNSET
    status: InstanceStatus | None = UNSET
    metadata: JSON | None = UNSET
    eligibility_criteria: list[JSON] | None = UNSET
    setup_workflow: JSON | None = UNSET
    timezone: str | None = UNSET
    consent_required: bool | None = strawberry.field(default=UNSET, description=CONSENT_REQUIRED)
    requirements: list[JSON] | None = strawberry.field(default=UNSET, description=REQUIREMENTS)
    submit_when_complete: bool | None = strawberry.field(
        default=UNSET, description=SUBMIT_WHEN_COMPLETE
    )


@strawberry.input(description="How to unenroll (REST: UnenrollBody).")
class UnenrollInput:
    reason: str = strawberry.field(
        description="A reason code of the instance's unenrollReasons, when it lists any."
    )
    removal_method: RemovalMethod | None = UNSET
    comment: str | None = UNSET
