from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from enroll.kit.fields import Address, Email, Metadata, Name, Phone
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.models import Customer, Lead


class CustomerCreate(ApiModel):
    first_name: Name
    last_name: Name
    email: Email
    phone: Phone | None = None
    address: Address | None = None
    metadata: Metadata = {}


class CustomerUpdate(PatchModel):
    NULLABLE = frozenset({"phone", "address"})

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
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            first_name=c.first_name,
            last_name=c.last_name,
            email=c.email,
            phone=c.phone,
            address=c.address,
            metadata=c.metadata_,
            notifications_opt_out=bool(c.notifications_opt_out),
            version=c.version,
            created_at=c.created_at,
            updated_at=c.updated_at,
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
