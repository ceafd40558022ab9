"""The wire of plans and delivery charges. Money and prices are decimal strings ("14.2"), read
into ``Decimal`` and written back as text: never a float."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from enroll.eligibility.jsonlogic import RuleError, RuleTooComplex, validate_rule
from enroll.errors import RULE_TOO_COMPLEX
from enroll.kit.fields import RESOURCE_REFERENCE, HttpUrl, IsoDate, LongText, Name
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.location.schemas import ServicePointId
from enroll.models import DeliveryCharge, Plan
from enroll.workflows.plan import PlanStatus

MAX_TIERS = 20
MAX_CHARGES = 20
MAX_DOCUMENTS = 20
MAX_ALIASES = 20
MAX_WINDOW_DAYS = 366
MAX_KWH = 1_000_000_000


_AS_TEXT = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
_DOLLARS = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$"
_CENTS = r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?$"
_PERCENT = r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$"


def _decimal_text(pattern: str, description: str) -> BeforeValidator:
    """A non-negative decimal sent as a JSON string matching ``pattern`` (a number is refused:
    it may have passed through a float)."""

    def parse(value: Any) -> Any:
        if isinstance(value, Decimal):  # from the code (a stored value): JSON has no Decimal
            return value
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise PydanticCustomError(
                "decimal_text",
                'A decimal number as a string, such as "12.5" ({description}).',
                {"description": description},
            )
        return Decimal(value)

    return BeforeValidator(parse)


_DOLLARS_TEXT = "dollars: at most 9 digits, then up to 4 decimals"
_CENTS_TEXT = "cents: at most 6 digits, then up to 6 decimals"
_PERCENT_TEXT = "a percentage from 0 to 100, up to 2 decimals"
Dollars = Annotated[
    Decimal,
    _decimal_text(_DOLLARS, _DOLLARS_TEXT),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "pattern": _DOLLARS, "description": _DOLLARS_TEXT}),
]
Cents = Annotated[
    Decimal,
    _decimal_text(_CENTS, _CENTS_TEXT),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "pattern": _CENTS, "description": _CENTS_TEXT}),
]
Percent = Annotated[
    Decimal,
    _decimal_text(_PERCENT, _PERCENT_TEXT),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "pattern": _PERCENT, "description": _PERCENT_TEXT}),
]
Kwh = Annotated[int, Field(ge=0, le=MAX_KWH, description="kWh in a month.")]
Code = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", max_length=100),
    Field(description="Letters, digits, `_`, `.` and `-`; case counts."),
]
UtilityCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", max_length=100),
]
# The document states the pattern it is checked against (Python's and JSON Schema's \s differ).
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class PriceType(StrEnum):
    FIXED = "fixed"
    VARIABLE = "variable"
    INDEXED = "indexed"


class EnergyCharge(ApiModel):
    from_kwh: Kwh = Field(description="The tier starts after this much usage.")
    to_kwh: Kwh | None = Field(None, description="The tier ends here; null: no end (last tier).")
    cents_per_kwh: Cents


class MonthlyCharge(ApiModel):
    name: ShortText
    dollars: Dollars


class UsageCredit(ApiModel):
    min_kwh: Kwh
    max_kwh: Kwh | None = Field(None, description="Null: no upper bound.")
    dollars: Dollars = Field(description="Subtracted from a bill whose usage lies in [min, max].")


class Pricing(ApiModel):
    """Retail electricity pricing, as an Electricity Facts Label states it."""

    term_months: Annotated[int, Field(ge=0, le=120)] = Field(
        description="Contract length; 0: month to month."
    )
    price_type: PriceType
    energy_charges: Annotated[list[EnergyCharge], Field(min_length=1, max_length=MAX_TIERS)] = (
        Field(
            description="Tiers in order: the first from 0, each from where the one before ends, "
            "only the last without `toKwh`."
        )
    )
    monthly_charges: Annotated[list[MonthlyCharge], Field(max_length=MAX_CHARGES)] = []
    usage_credits: Annotated[list[UsageCredit], Field(max_length=MAX_CHARGES)] = Field(
        [], description="Each with `minKwh` ≤ `maxKwh`; every credit whose range holds applies."
    )
    cancellation_fee_dollars: Dollars = Decimal(0)
    renewable_percent: Percent = Decimal(0)

    @model_validator(mode="after")
    def _contiguous_tiers(self) -> Pricing:
        tiers = self.energy_charges
        if tiers[0].from_kwh != 0:
            raise ValueError("energyCharges: the first tier starts at fromKwh 0")
        for i, tier in enumerate(tiers):
            last = i == len(tiers) - 1
            if tier.to_kwh is None and not last:
                raise ValueError(f"energyCharges.{i}: only the last tier has no toKwh")
            if tier.to_kwh is not None and tier.to_kwh <= tier.from_kwh:
                raise ValueError(f"energyCharges.{i}: toKwh must exceed fromKwh")
            if not last and tiers[i + 1].from_kwh != tier.to_kwh:
                raise ValueError(f"energyCharges.{i + 1}: fromKwh must equal the toKwh before it")
        for i, credit in enumerate(self.usage_credits):
            if credit.max_kwh is not None and credit.max_kwh < credit.min_kwh:
                raise ValueError(f"usageCredits.{i}: maxKwh must not be below minKwh")
        return self


class StartWindow(ApiModel):
    """Counted in the instance's time zone from the day of the request."""

    earliest_days: Annotated[int, Field(ge=0, le=MAX_WINDOW_DAYS)] = 0
    latest_days: Annotated[int, Field(ge=0, le=MAX_WINDOW_DAYS)] = Field(
        30, description="At least earliestDays."
    )

    @model_validator(mode="after")
    def _ordered(self) -> StartWindow:
        if self.latest_days < self.earliest_days:
            raise ValueError("latestDays must not be below earliestDays")
        return self


class Document(ApiModel):
    type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")] = Field(
        description="efl, tos, yrac, pds, or any other kind; one document per type."
    )
    url: HttpUrl
    version: ShortText
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


Documents = Annotated[list[Document], Field(max_length=MAX_DOCUMENTS)]
Aliases = Annotated[
    list[Code],
    Field(
        max_length=MAX_ALIASES,
        json_schema_extra={"uniqueItems": True},
        description="Other codes accepted on input for this plan: unique in the instance, "
        "never another plan's code nor this plan's own.",
    ),
]
Availability = Annotated[
    Any,
    Field(
        description="A JsonLogic rule over `location` and `applicant` (docs/plans.md); "
        "null: available everywhere."
    ),
]


def _unique_types(documents: list[Document] | None) -> list[Document] | None:
    types = [d.type for d in documents or []]
    if len(types) != len(set(types)):
        raise ValueError("one document per type")
    return documents


def _unique_aliases(aliases: list[str] | None) -> list[str] | None:
    if aliases is not None and len(aliases) != len(set(aliases)):
        raise ValueError("aliases must be unique")
    return aliases


def _valid_rule(rule: Any) -> Any:
    if rule is None:
        return rule
    try:
        validate_rule(rule)
    except RuleTooComplex as exc:
        raise PydanticCustomError(
            RULE_TOO_COMPLEX,
            "The availability rule is too complex: {message}.",
            {"message": exc.message},
        ) from None
    except RuleError as exc:
        where = f"availability{exc.path}" if exc.path else "the rule's root"
        raise ValueError(f"{exc.message} (at {where})") from None
    return rule


class PlanCreate(ApiModel):
    code: Code
    aliases: Aliases = []
    name: Name
    description: LongText | None = None
    status: PlanStatus = PlanStatus.ACTIVE
    availability: Availability = None
    unavailable_reason: Reason | None = Field(
        None, description="Shown when the availability rule does not hold."
    )
    start_window: StartWindow = StartWindow()
    documents: Documents = []
    pricing: Pricing | None = Field(None, description="Retail electricity pricing, if any.")

    _documents = field_validator("documents")(_unique_types)
    _aliases = field_validator("aliases")(_unique_aliases)
    _rule = field_validator("availability")(_valid_rule)

    @model_validator(mode="after")
    def _alias_is_not_the_code(self) -> PlanCreate:
        if self.code in self.aliases:
            raise ValueError("aliases must not hold the plan's own code")
        return self


class PlanUpdate(PatchModel):
    """Only the fields sent change; null clears description, availability,
    unavailableReason and pricing."""

    NULLABLE = frozenset({"description", "availability", "unavailable_reason", "pricing"})

    code: Code | None = None
    aliases: Aliases | None = None
    name: Name | None = None
    description: LongText | None = None
    status: PlanStatus | None = Field(None, description="active, or retired (never quoted).")
    availability: Availability = None
    unavailable_reason: Reason | None = None
    start_window: StartWindow | None = None
    documents: Documents | None = None
    pricing: Pricing | None = None

    _documents = field_validator("documents")(_unique_types)
    _aliases = field_validator("aliases")(_unique_aliases)
    _rule = field_validator("availability")(_valid_rule)


class PlanOut(OutModel):
    id: str
    program_instance_id: str
    code: str
    aliases: list[str]
    name: str
    description: str | None
    status: PlanStatus
    availability: Any = Field(description="The JsonLogic rule; null: available everywhere.")
    unavailable_reason: str | None
    start_window: StartWindow
    documents: list[Document]
    pricing: Pricing | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Plan) -> PlanOut:
        return cls(
            id=p.id,
            program_instance_id=p.program_instance_id,
            code=p.code,
            aliases=list(p.aliases),
            name=p.name,
            description=p.description,
            status=PlanStatus(p.status),
            availability=p.availability,
            unavailable_reason=p.unavailable_reason,
            start_window=StartWindow(earliest_days=p.earliest_days, latest_days=p.latest_days),
            documents=[Document.model_validate(d) for d in p.documents],
            pricing=Pricing.model_validate(p.pricing) if p.pricing is not None else None,
            version=p.version,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class UtilityRef(ApiModel):
    """A utility code where it comes without a schema of its own (a GraphQL argument)."""

    utility_code: UtilityCode


class DeliveryChargeSet(ApiModel):
    monthly_dollars: Dollars = Field(description="The utility's fixed charge per month.")
    cents_per_kwh: Cents = Field(description="The utility's charge per kWh delivered.")
    effective_from: IsoDate = Field(
        description="First day these charges apply; a later row of the utility replaces them "
        "from its own date. Setting the same date again replaces that row."
    )


class DeliveryChargeOut(OutModel):
    id: str
    utility_code: str
    monthly_dollars: Dollars
    cents_per_kwh: Cents
    effective_from: date
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: DeliveryCharge) -> DeliveryChargeOut:
        return cls(
            id=d.id,
            utility_code=d.utility_code,
            monthly_dollars=d.monthly_dollars,
            cents_per_kwh=d.cents_per_kwh,
            effective_from=d.effective_from,
            version=d.version,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


# --- quotes -------------------------------------------------------------------------------------

DecimalOut = Annotated[
    Decimal,
    _AS_TEXT,
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}),
]


class QuotedPlan(OutModel):
    """An available plan at a location, priced for its utility."""

    id: str
    code: str
    name: str
    description: str | None
    earliest_start_date: date = Field(description="In the instance's time zone.")
    latest_start_date: date
    documents: list[Document]
    pricing: Pricing | None
    average_price_cents_per_kwh: dict[str, DecimalOut] | None = Field(
        description="The EFL average prices at 500, 1000 and 2000 kWh (keys), delivery "
        "charges included, ¢/kWh to 0.1; null when they cannot be computed "
        "(`priceUnavailableReason`)."
    )
    price_unavailable_reason: str | None
    estimated_monthly_dollars: DecimalOut | None = Field(
        None, description="The mean monthly bill over the usage history given, if any."
    )


class UnavailablePlan(OutModel):
    id: str
    code: str
    name: str
    reason: str


class QuoteOut(OutModel):
    program_instance_id: str
    location_id: str | None
    utility_code: str | None
    on: date = Field(description="The day whose delivery charges price the plans.")
    delivery_charge: DeliveryChargeOut | None
    plans: list[QuotedPlan]
    unavailable: list[UnavailablePlan] | None = Field(
        description="With explain: the plans not offered, each with its reason; else null."
    )


_LOCATION_REFS = ("serviceLocationId", "servicePointId")


def _exactly_one_location(schema: dict[str, Any]) -> None:
    """The document says what the server checks: exactly one of the two, never null."""
    for name in _LOCATION_REFS:
        prop = schema["properties"][name]
        branch = next(b for b in prop.pop("anyOf") if b.get("type") != "null")
        prop.pop("default", None)
        prop.update(branch)
    schema["oneOf"] = [{"required": [name]} for name in _LOCATION_REFS]


class QuoteRequest(ApiModel):
    """Where to quote: exactly one of `serviceLocationId` and `servicePointId`."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_location)

    service_location_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=100), RESOURCE_REFERENCE] | None
    ) = Field(None, description="The location's id.")
    service_point_id: Annotated[ServicePointId, RESOURCE_REFERENCE] | None = Field(
        None, description="Or its service point id (ERCOT: the ESI ID), in any market."
    )
    on: IsoDate | None = Field(
        None,
        alias="date",
        description="The day whose delivery charges price the plans, and whose month ends "
        "the 12 months of usage behind `estimatedMonthlyDollars` (default: today in the "
        "instance's time zone).",
    )

    @model_validator(mode="after")
    def _one_location(self) -> QuoteRequest:
        sent = self.model_fields_set & {"service_location_id", "service_point_id"}
        if len(sent) != 1 or getattr(self, next(iter(sent))) is None:
            raise ValueError("Give exactly one of serviceLocationId and servicePointId.")
        return self
