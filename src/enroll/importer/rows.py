"""One import row: validated exactly like the create endpoint's body, turned into columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from enroll.enrollment.identification import check as check_identification
from enroll.enrollment.identity import name_address_key
from enroll.enrollment.schemas import EnrollmentCreate, IdentificationType
from enroll.errors import FieldError, ProblemError, field_errors_of
from enroll.importer.formats import RowError
from enroll.kit.codegen import define
from enroll.kit.schemas import storable
from enroll.models.enrollment_fields import FIELDS, EnrollmentField, Kind

# Identification types loaded set-based; the others go through the create endpoint's service
# one row at a time (they read and update other rows: leads, earlier enrollments).
BULK_TYPES = frozenset({IdentificationType.CUSTOMER_INFO, IdentificationType.CUSTOMER_ID})


@dataclass(slots=True)
class Candidate:
    row: int
    body: EnrollmentCreate
    # Enrollment column values the row gives (names as on the model: metadata_, ...).
    values: dict[str, Any]
    dedupe_key: str | None

    @property
    def bulk(self) -> bool:
        return self.body.identification_type in BULK_TYPES

    @property
    def keys(self) -> list[tuple[str, str]]:
        """The duplicate-detection keys this row carries, as (kind, value)."""
        keys = []
        if self.values.get("email"):
            keys.append(("email", self.values["email"]))
        if self.values.get("reference_id"):
            keys.append(("referenceId", self.values["reference_id"]))
        if self.dedupe_key:
            keys.append(("nameAddress", self.dedupe_key))
        return keys


def prepare(number: int, parsed: dict[str, Any] | RowError) -> Candidate | list[FieldError]:
    """Validate one parsed row; field errors name the row's fields as the API does."""
    if isinstance(parsed, RowError):
        return [FieldError(field=parsed.field, message=parsed.message)]
    unstorable = _unstorable(parsed)
    if unstorable:
        return unstorable
    try:
        body = EnrollmentCreate.model_validate(parsed)
    except ValidationError as exc:
        return field_errors_of(exc.errors())[1]
    try:
        check_identification(body)
    except ProblemError as exc:
        return list(exc.errors or [FieldError(field="row", message=str(exc))])
    values = column_values(body)
    key = name_address_key(
        first_name=values.get("first_name"),
        last_name=values.get("last_name"),
        address=values.get("address"),
    )
    return Candidate(number, body, values, key)


def _unstorable(parsed: dict[str, Any]) -> list[FieldError]:
    """What ``storable`` refuses (NUL, lone surrogates, nesting too deep…), named by the row's
    field; a name that is itself unstorable cannot be written back, so the row is named."""
    errors = []
    for name, value in parsed.items():
        try:
            storable(name)
        except ValueError as exc:
            errors.append(FieldError(field="row", message=str(exc)))
            continue
        try:
            storable(value)
        except ValueError as exc:
            errors.append(FieldError(field=name, message=str(exc)))
    return errors


def _column_value(field: EnrollmentField) -> str:
    value = f"body.{field.column}"
    if field.kind == Kind.ADDRESS:
        return f"{value}.model_dump(by_alias=True, exclude_none=True) if {value} else None"
    if field.kind == Kind.TEXT_LIST:
        return f"{value} or []"
    if field.kind == Kind.OBJECT:
        return f"{value} or {{}}"
    return value


# The enrollment columns a create body sets directly (identity lookups come later), names as
# on the model (metadata_, ...): {"identification_type": body.identification_type.value,
# "customer_id": body.customer_id, "lead_id": body.lead_id, "first_name": body.first_name,
# ..., "tags": body.tags or []}, one entry per imported field (models/enrollment_fields.py),
# written out as that literal: this runs for every row (kit/codegen.py).
column_values: Callable[[EnrollmentCreate], dict[str, Any]] = define(
    "column_values",
    "def column_values(body):\n    return {\n"
    '        "identification_type": body.identification_type.value,\n'
    '        "customer_id": body.customer_id,\n'
    '        "lead_id": body.lead_id,\n'
    + "".join(f"        {f.attr!r}: {_column_value(f)},\n" for f in FIELDS if f.imported)
    + "    }\n",
    {},
)
