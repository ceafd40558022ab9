from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from enroll.customer.applicant import (
    APPLICANT_FIELDS,
    ApplicantFields,
    EmploymentStatus,
    MaritalStatus,
    Money,
    StudentStatus,
    TaxId,
    out,
)
from enroll.kit.fields import Address, Email, IsoDate, Metadata, Name, Phone
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.models import Customer, HouseholdMember, Lead


class IncomeOut(OutModel):
    agi: float | None
    has_taxable_income: bool | None
    decreased_since_filing: bool | None


class BillingAddressOut(OutModel):
    same_as_service_address: bool
    address: dict[str, Any] | None
    confirmed_at: datetime


def _address_unless_same(schema: dict[str, Any]) -> None:
    """BillingAddressIn's rule as a schema: an address exactly when it is not the service one."""
    schema["if"] = {"properties": {"sameAsServiceAddress": {"const": False}}}
    schema["then"] = {"required": ["address"], "properties": {"address": {"type": "object"}}}
    schema["else"] = {"properties": {"address": {"type": "null"}}}


class BillingAddressIn(ApiModel, json_schema_extra=_address_unless_same):
    """Where bills go, as the applicant confirms it (seed 003's blocking component)."""

    same_as_service_address: bool
    address: Address | None = Field(None, description="Only when not the service address.")

    @model_validator(mode="after")
    def _address_unless_same(self) -> BillingAddressIn:
        if self.same_as_service_address and self.address is not None:
            raise ValueError("Send an address only with sameAsServiceAddress: false.")
        if not self.same_as_service_address and self.address is None:
            raise ValueError("Send the address with sameAsServiceAddress: false.")
        return self


class CustomerCreate(ApplicantFields):
    first_name: Name
    last_name: Name
    email: Email
    phone: Phone | None = None
    address: Address | None = None
    metadata: Metadata = {}


class CustomerUpdate(PatchModel, ApplicantFields):
    NULLABLE = frozenset({"phone", "address"}) | APPLICANT_FIELDS

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    metadata: Metadata | None = None
    notifications_opt_out: bool | None = Field(
        None,
        description="True: no notification is sent to this customer (they are logged "
        "as suppressed).",
    )


class CustomerOut(OutModel):
    id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    address: dict[str, Any] | None
    metadata: dict[str, Any]
    notifications_opt_out: bool
    date_of_birth: date | None
    tax_id_last4: str | None = Field(description="The tax id's last 4 digits; it is never shown.")
    marital_status: MaritalStatus | None
    student_status: StudentStatus | None
    employment_status: EmploymentStatus | None
    income: IncomeOut
    irs_authorized_at: datetime | None
    billing_address: BillingAddressOut | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls.model_validate(
            {
                "id": c.id,
                "firstName": c.first_name,
                "lastName": c.last_name,
                "email": c.email,
                "phone": c.phone,
                "address": c.address,
                "metadata": c.metadata_,
                "notificationsOptOut": bool(c.notifications_opt_out),
                **out(c),
                "version": c.version,
                "createdAt": c.created_at,
                "updatedAt": c.updated_at,
            }
        )


class HouseholdRole(StrEnum):
    SPOUSE = "spouse"
    DEPENDENT = "dependent"
    OTHER = "other"


class HouseholdMemberFields(ApiModel):
    first_name: Name | None = None
    last_name: Name | None = None
    date_of_birth: IsoDate | None = None
    tax_id: TaxId | None = None
    has_taxable_income: bool | None = None
    agi: Money | None = Field(None, description="Their adjusted gross income.")
    has_federal_loans: bool | None = None


class HouseholdMemberCreate(HouseholdMemberFields):
    role: HouseholdRole


class HouseholdMemberUpdate(PatchModel, HouseholdMemberFields):
    NULLABLE = frozenset(HouseholdMemberFields.model_fields)

    role: HouseholdRole | None = None


class HouseholdMemberOut(OutModel):
    id: str
    customer_id: str
    role: HouseholdRole
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    tax_id_last4: str | None = Field(description="The tax id's last 4 digits; it is never shown.")
    has_taxable_income: bool | None
    agi: float | None
    has_federal_loans: bool | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: HouseholdMember) -> HouseholdMemberOut:
        return cls(
            id=m.id,
            customer_id=m.customer_id,
            role=HouseholdRole(m.role),
            first_name=m.first_name,
            last_name=m.last_name,
            date_of_birth=m.date_of_birth,
            tax_id_last4=m.tax_id_last4,
            has_taxable_income=m.has_taxable_income,
            agi=float(m.agi) if m.agi is not None else None,
            has_federal_loans=m.has_federal_loans,
            version=m.version,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class LeadCreate(ApiModel):
    email: Email
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None
    address: Address | None = None
    metadata: Metadata = {}


class LeadOut(OutModel):
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    address: dict[str, Any] | None
    metadata: dict[str, Any]
    customer_id: str | None
    converted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        return cls(
            id=lead.id,
            email=lead.email,
            first_name=lead.first_name,
            last_name=lead.last_name,
            phone=lead.phone,
            address=lead.address,
            metadata=lead.metadata_,
            customer_id=lead.customer_id,
            converted_at=lead.converted_at,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
        )
