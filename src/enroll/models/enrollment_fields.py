"""The enrollment's person and equipment fields, declared once.

Each field is a column of ``enrollment`` (models/enrollment.py) that a request may set
(``EnrollmentFields``), the API returns, the rules read, an import takes and a re-enrollment
copies. Everything that lists them is derived from ``FIELDS``:

- the copy of a re-enrollment (enrollment/identification.py ``COPIED``) and the columns a
  create or update body sets (enrollment/service.py ``sent_fields``, importer/rows.py);
- the rule context's fields (enrollment/changes.py ``rule_fields``, eligibility/context.py,
  and their SQL over rows of enrollment columns: eligibility/bulk.py ``ROW_COLUMNS``);
- the import's stage table and its rows (importer/staging_repository.py);
- the SQL snapshot of the JSON ``EnrollmentOut`` serialises (enrollment/bulk_sql.py).

The Pydantic schemas (enrollment/schemas.py) and the GraphQL types and inputs
(graphql/types.py, graphql/inputs.py) are written out for readability; a test
(tests/enrollment/test_fields.py) fails when they disagree with ``FIELDS``, and so does one
when the model has no such column.

A new field: its column on the model, a migration, and a line here (then the test names the
schemas and GraphQL classes that still lack it).

This module sits with the models, below every domain, so that any of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    # A list of strings (JSON array), stored [] when there is none.
    TEXT_LIST = "text_list"
    # A free-form JSON object, stored {} when there is none.
    OBJECT = "object"
    # The postal address (kit.fields.Address, stored by its camelCase keys), or null.
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class EnrollmentField:
    # The column, and the field's name in the Pydantic schemas and GraphQL classes.
    column: str
    kind: Kind = Kind.TEXT
    # An update's null clears it (EnrollmentUpdate.NULLABLE); else null is refused (text) or
    # means empty (lists, objects).
    clearable: bool = False
    # Copied from the earlier enrollment by a re-enrollment (identificationType enrollmentId).
    copied: bool = True
    # In the rule context the criteria are evaluated against (eligibility/context.py).
    rule: bool = True
    # Taken by an import (the stage table, importer/staging_repository.py).
    imported: bool = True
    # The ORM attribute, where it differs from the column (``metadata`` is taken).
    attribute: str = ""
    # A second name the API returns it under, right after its own (EnrollmentOut, GraphQL).
    also_as: str = ""

    @property
    def attr(self) -> str:
        return self.attribute or self.column

    @property
    def name(self) -> str:
        """The API's name (camelCase): in JSON, GraphQL and the rule context."""
        head, *rest = self.column.split("_")
        return head + "".join(p.title() for p in rest)

    @property
    def empty(self) -> list[str] | dict[str, object] | None:
        """What is stored when the field is absent or null."""
        if self.kind == Kind.TEXT_LIST:
            return []
        if self.kind == Kind.OBJECT:
            return {}
        return None

    @property
    def json(self) -> bool:
        """Stored as JSON (a JSON/JSONB column)."""
        return self.kind != Kind.TEXT


# In the order of the API (EnrollmentFields, EnrollmentOut, GraphQL, the snapshot).
FIELDS: tuple[EnrollmentField, ...] = (
    EnrollmentField("first_name"),
    EnrollmentField("last_name"),
    EnrollmentField("email"),
    EnrollmentField("phone", clearable=True),
    EnrollmentField("address", Kind.ADDRESS, clearable=True),
    EnrollmentField("manufacturer_slugs", Kind.TEXT_LIST),
    EnrollmentField("metadata", Kind.OBJECT, attribute="metadata_", also_as="meta"),
    EnrollmentField("serial_number", clearable=True),
    EnrollmentField("reference_id", clearable=True),
    EnrollmentField("reference_description", clearable=True),
    EnrollmentField("tags", Kind.TEXT_LIST),
)
