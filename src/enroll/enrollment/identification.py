"""The identificationType rules of a create: which identifying fields each type takes, and the
columns a customer or an earlier enrollment supplies."""

from __future__ import annotations

from typing import Any

from enroll.enrollment.schemas import EnrollmentCreate, IdentificationType
from enroll.errors import FieldError, Unprocessable
from enroll.models import Customer
from enroll.models.enrollment_fields import FIELDS

_ID_FIELDS = {
    IdentificationType.CUSTOMER_ID: "customer_id",
    IdentificationType.LEAD_ID: "lead_id",
    IdentificationType.ENROLLMENT_ID: "enrollment_id",
}
# Copied from an earlier enrollment when re-enrolling (identificationType enrollmentId).
COPIED = ("customer_id", "lead_id", *(f.attr for f in FIELDS if f.copied))
# Metadata keys a status change writes (unenroll: exitReason), not copied to a new enrollment.
STATUS_METADATA = frozenset({"exitReason"})


def check(body: EnrollmentCreate) -> None:
    kind = body.identification_type
    errors = [
        FieldError(field=camel(name), message=f"Only allowed with identificationType {t.value}.")
        for t, name in _ID_FIELDS.items()
        if t != kind and getattr(body, name) is not None
    ]
    required = (
        ["first_name", "last_name", "email"]
        if kind == IdentificationType.CUSTOMER_INFO
        else [_ID_FIELDS[kind]]
    )
    errors += [
        FieldError(field=camel(name), message=f"Required with identificationType {kind.value}.")
        for name in required
        if getattr(body, name) is None
    ]
    if errors:
        raise Unprocessable(
            "The identification fields do not match identificationType.", errors=errors
        )


# What a create accepts at a premise (acceptance.py): a new enrollment's, never an update's.
ACCEPTANCE = (
    "service_location_id",
    "service_point_id",
    "plan_id",
    "plan_code",
    "start_date",
    "consent",
)


def check_update(body: EnrollmentCreate) -> None:
    """identificationType enrollmentId naming an enrollment of the same instance updates it:
    a plan, location, start date or consent is accepted by a new enrollment only (an
    accepted plan's consent record is immutable)."""
    errors = [
        FieldError(
            field=camel(name),
            message="Not changed by an update (identificationType enrollmentId of an "
            "enrollment of this instance): create a new enrollment to accept a plan.",
        )
        for name in ACCEPTANCE
        if getattr(body, name) is not None
    ]
    if errors:
        raise Unprocessable("An update does not accept a plan or a location.", errors=errors)


def from_customer(customer: Customer) -> dict[str, Any]:
    """The enrollment columns a customer supplies (identificationType customerId)."""
    return {
        "customer_id": customer.id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "address": customer.address,
    }


def camel(name: str) -> str:
    """A column name as the API names the field (snake_case to camelCase)."""
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
