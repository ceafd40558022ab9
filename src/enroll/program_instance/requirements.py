"""What an instance's enrollments need besides eligibility: the declaration (docs/requirements.md).

A requirement is ``{key, kind, label, stage, when?, …its kind's settings}``. ``stage`` says
when it is enforced: ``create`` (a create that leaves it unmet is refused, 409) or ``submit``
(so is a submission). ``when`` is a JsonLogic rule over the requirement context: where it does
not hold, the requirement does not apply. What can only be met after the enrollment exists
(documents, income certification, billing address, payment method) is a ``submit`` one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag, field_validator

from enroll.eligibility.criteria import checked_rule
from enroll.kit.fields import Name, ShortText
from enroll.kit.schemas import ApiModel

RequirementKey = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$", max_length=40)
]
# A path into the requirement context: phone, taxId, address.postalCode, metadata.loans, …
ContextPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,59}(\.[A-Za-z0-9_]{1,60}){0,5}$"),
]
MemberField = Literal[
    "firstName", "lastName", "dateOfBirth", "taxId", "hasTaxableIncome", "agi", "hasFederalLoans"
]
Role = Literal["spouse", "dependent", "other"]
DocumentType = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,39}$")]
ConsentKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Stage = Literal["create", "submit"]
MAX_REQUIREMENTS = 50


class _Requirement(ApiModel):
    key: RequirementKey
    label: Name = Field(description="What the applicant is asked for, as shown to them.")
    when: Any = Field(
        None,
        description="A JsonLogic rule: where it does not hold, the requirement does not apply.",
    )

    @field_validator("when")
    @classmethod
    def _when(cls, rule: Any) -> Any:
        return None if rule is None else checked_rule(rule, "when")


class FieldRequirement(_Requirement):
    kind: Literal["field"]
    stage: Stage
    paths: Annotated[list[ContextPath], Field(min_length=1, max_length=20)] = Field(
        description="Paths that must be present (not null, empty text or an empty list)."
    )


class RuleRequirement(_Requirement):
    kind: Literal["rule"]
    stage: Stage
    rule: Any = Field(description="A JsonLogic rule that must hold.")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        None, description="Shown as the detail while it does not hold (default: the label)."
    )

    @field_validator("rule")
    @classmethod
    def _rule(cls, rule: Any) -> Any:
        return checked_rule(rule, "rule")


class ConsentRequirement(_Requirement):
    kind: Literal["consent"]
    stage: Stage
    consent_kind: ConsentKind = Field(description="The consent's kind, e.g. signature.")
    text_version: ShortText | None = Field(
        None, description="The version of the wording that must have been accepted."
    )


class HouseholdMemberRequirement(_Requirement):
    kind: Literal["householdMember"]
    stage: Stage
    role: Role
    paths: Annotated[list[MemberField], Field(max_length=7)] = Field(
        [], description="The member's fields that must be present."
    )


class DocumentRequirement(_Requirement):
    kind: Literal["document"]
    stage: Literal["submit"]
    types: Annotated[list[DocumentType], Field(min_length=1, max_length=20)]
    count: Annotated[int, Field(ge=1, le=20)] = 1
    max_age_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        None, description="Documents issued longer ago (issuedAt) do not count."
    )
    owner: Literal["applicant", "spouse", "dependent", "other"] = Field(
        "applicant", description="Whose documents: the applicant's, or a household member's."
    )


class IncomeCertificationRequirement(_Requirement):
    kind: Literal["incomeCertification"]
    stage: Literal["submit"]


class BillingAddressRequirement(_Requirement):
    kind: Literal["billingAddress"]
    stage: Literal["submit"]


class PaymentMethodRequirement(_Requirement):
    kind: Literal["paymentMethod"]
    stage: Literal["submit"]


def _kind(value: Any) -> Any:
    return value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)


# By ``kind`` (a callable discriminator: ApiModel's field validators rule out a field one).
Requirement = Annotated[
    Annotated[FieldRequirement, Tag("field")]
    | Annotated[RuleRequirement, Tag("rule")]
    | Annotated[ConsentRequirement, Tag("consent")]
    | Annotated[HouseholdMemberRequirement, Tag("householdMember")]
    | Annotated[DocumentRequirement, Tag("document")]
    | Annotated[IncomeCertificationRequirement, Tag("incomeCertification")]
    | Annotated[BillingAddressRequirement, Tag("billingAddress")]
    | Annotated[PaymentMethodRequirement, Tag("paymentMethod")],
    Discriminator(
        _kind,
        custom_error_type="requirement_kind",
        custom_error_message="kind must be one of field, rule, consent, householdMember, "
        "document, incomeCertification, billingAddress, paymentMethod.",
    ),
]


def unique_keys(requirements: list[Any] | None) -> list[Any] | None:
    if requirements is None:
        return None
    keys = [r.key for r in requirements]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"Requirement keys must differ: {', '.join(duplicates)} repeated.")
    return requirements


RequirementList = Annotated[
    list[Requirement],
    Field(max_length=MAX_REQUIREMENTS, json_schema_extra={"uniqueItems": True}),
]


def as_stored(requirements: list[Any]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in requirements]
