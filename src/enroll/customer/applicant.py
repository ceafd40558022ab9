"""The applicant's data a program may need (seed 004): birth date, tax id, marital, student and
employment status, income, the IRS authorisation; the wire shapes and their columns.

The tax id is sealed at rest (vault/) and never comes back: only ``taxIdLast4``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, Strict, StringConstraints, WithJsonSchema

from enroll.kit.fields import IsoDate, Timestamp
from enroll.kit.schemas import ApiModel
from enroll.models import Customer, HouseholdMember
from enroll.vault.keyring import KeyRing

CUSTOMER_TAX_ID = b"customer.tax_id"
MEMBER_TAX_ID = b"household_member.tax_id"
CENT = Decimal("0.01")


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    MARRIED_FILING_SEPARATELY = "married_filing_separately"
    SEPARATED = "separated"
    DIVORCED = "divorced"
    WIDOWED = "widowed"


class StudentStatus(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    LESS_THAN_HALF_TIME = "less_than_half_time"
    HALF_TIME = "half_time"
    THREE_QUARTER_TIME = "three_quarter_time"
    FULL_TIME = "full_time"


class EmploymentStatus(StrEnum):
    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    UNEMPLOYED = "unemployed"
    RETIRED = "retired"
    NOT_IN_LABOR_FORCE = "not_in_labor_force"


def _tax_id(value: str) -> str:
    return value.replace("-", "")


TAX_ID_PATTERN = r"^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$"
TaxId = Annotated[
    str,
    StringConstraints(pattern=TAX_ID_PATTERN, max_length=11),
    AfterValidator(_tax_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TAX_ID_PATTERN,
            "description": "An SSN or ITIN, 9 digits, dashes optional; stored encrypted, shown "
            "as taxIdLast4 only.",
            "writeOnly": True,
        }
    ),
]
# A JSON number only (pydantic would also read "12.5" or true, which `type: number` refuses).
Money = Annotated[
    float,
    Strict(),
    Field(ge=0, le=1_000_000_000, description="US dollars, kept to the cent (rounded)."),
]


class Income(ApiModel):
    agi: Money | None = Field(None, description="Adjusted gross income on the last tax return.")
    has_taxable_income: bool | None = None
    decreased_since_filing: bool | None = Field(
        None, description="Income decreased significantly since the last tax return was filed."
    )


class ApplicantFields(ApiModel):
    """What an application may need to know about the applicant; on a customer, and accepted on
    an enrollment body (stored on its customer)."""

    date_of_birth: IsoDate | None = None
    tax_id: TaxId | None = None
    marital_status: MaritalStatus | None = None
    student_status: StudentStatus | None = None
    employment_status: EmploymentStatus | None = None
    income: Income | None = None
    irs_authorized_at: Timestamp | None = Field(
        None, description="When the applicant authorised the IRS to share their tax data."
    )


APPLICANT_FIELDS = frozenset(ApplicantFields.model_fields)
_INCOME_COLUMNS = {
    "agi": "agi",
    "has_taxable_income": "has_taxable_income",
    "decreased_since_filing": "income_decreased",
}


def columns(body: ApiModel, *, ring: KeyRing, sent_only: bool = True) -> dict[str, Any]:
    """The customer columns the body's applicant fields set (only those sent; null clears)."""
    sent = body.model_fields_set if sent_only else set(APPLICANT_FIELDS)
    values: dict[str, Any] = {}
    for name in APPLICANT_FIELDS & sent:
        value = getattr(body, name)
        if name == "tax_id":
            values.update(sealed_tax_id(value, ring=ring, aad=CUSTOMER_TAX_ID))
        elif name == "income":
            income: Income | None = value
            for field, column in _INCOME_COLUMNS.items():
                if income is None or field in income.model_fields_set:
                    amount = getattr(income, field) if income is not None else None
                    values[column] = decimal(amount) if field == "agi" else amount
        else:
            values[name] = value.value if isinstance(value, StrEnum) else value
    return values


def decimal(amount: float | None) -> Decimal | None:
    """Dollars as stored (NUMERIC(14, 2)): rounded to the cent here, so the answer to a write
    and every later read agree on both databases."""
    if amount is None:
        return None
    return Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)


def sealed_tax_id(tax_id: str | None, *, ring: KeyRing, aad: bytes) -> dict[str, Any]:
    if tax_id is None:
        return {"tax_id_sealed": None, "tax_id_last4": None}
    return {"tax_id_sealed": ring.seal_text(tax_id, aad=aad), "tax_id_last4": tax_id[-4:]}


def _money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def out(c: Customer | HouseholdMember) -> dict[str, Any]:
    """The applicant's fields as the API shows them (camelCase), the tax id masked."""
    shown: dict[str, Any] = {
        "dateOfBirth": c.date_of_birth,
        "taxIdLast4": c.tax_id_last4,
    }
    if isinstance(c, Customer):
        shown |= {
            "maritalStatus": c.marital_status,
            "studentStatus": c.student_status,
            "employmentStatus": c.employment_status,
            "income": {
                "agi": _money(c.agi),
                "hasTaxableIncome": c.has_taxable_income,
                "decreasedSinceFiling": c.income_decreased,
            },
            "irsAuthorizedAt": c.irs_authorized_at,
            "billingAddress": c.billing_address,
        }
    return shown


def masked(last4: str | None) -> str | None:
    return f"***-**-{last4}" if last4 else None
