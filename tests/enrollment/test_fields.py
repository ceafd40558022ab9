"""The enrollment's person and equipment fields are declared once (models/enrollment_fields.py).

What is derived from the declaration (the copy list, the rule fields, the import's stage and
rows, the bulk evaluation's columns, the SQL snapshot) follows it by construction. What is
written out by hand (the model, the Pydantic schemas, the GraphQL types and inputs, the rule
context's normalised fields, ``EnrollmentOut.of``) is checked here: a new field declared but
missing from one of them fails a test that names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, String

from enroll.eligibility import bulk
from enroll.eligibility.context import rule_context
from enroll.enrollment import bulk_sql, changes, identification
from enroll.enrollment.schemas import (
    EnrollmentCreate,
    EnrollmentFields,
    EnrollmentOut,
    EnrollmentUpdate,
)
from enroll.graphql.schema import schema as graphql_schema
from enroll.importer import staging_repository
from enroll.importer.rows import column_values
from enroll.models import Enrollment
from enroll.models.enrollment_fields import FIELDS, EnrollmentField, Kind

# The enrollment's columns that are not fields a request sets about the person.
NOT_FIELDS = {
    "id",
    "workspace_id",
    "program_instance_id",
    "identification_type",
    "customer_id",
    "lead_id",
    "source_enrollment_id",
    "enrollment_start_date",
    "status",
    "eligibility_reason",
    "eligibility",
    "needs_review",
    "needs_review_reason",
    "dedupe_key",
    "import_id",
    "import_row",
    # The plan accepted at a location (enrollment/acceptance.py): set by a create, not fields
    # of the person.
    "service_location_id",
    "plan_id",
    "plan_code",
    "plan_code_given",
    "start_date",
    "service_active",
    "service_start_date",
    # Its requirements' states (enrollment/requirement_check.py), derived, not sent.
    "requirements",
    "created_at",
    "updated_at",
    "version",
}

# A value of each kind, distinct per field (the field's name in it).
_ADDRESS = {"streetOne": "1 Main St", "city": "Springfield", "state": "IL", "postalCode": "62701"}


def _sample(f: EnrollmentField) -> Any:
    if f.kind == Kind.TEXT_LIST:
        return [f"{f.column}-a", f"{f.column}-b"]
    if f.kind == Kind.OBJECT:
        return {"of": f.name}
    if f.kind == Kind.ADDRESS:
        return dict(_ADDRESS)
    return f"{f.name}@example.com" if f.column == "email" else f"{f.name} value"


def _out_names() -> list[str]:
    names = []
    for f in FIELDS:
        names += [f.name, f.also_as] if f.also_as else [f.name]
    return names


def _block(names: list[str], expected: list[str]) -> list[str]:
    """The run of ``names`` where ``expected`` should be (from its first name on)."""
    assert expected[0] in names, f"{expected[0]} is missing"
    start = names.index(expected[0])
    return names[start : start + len(expected)]


def test_each_field_is_a_column_of_the_model() -> None:
    table = Enrollment.__table__
    mapper = Enrollment.__mapper__
    for f in FIELDS:
        assert f.column in table.c, f"models/enrollment.py: no column {f.column}"
        column = table.c[f.column]
        assert mapper.attrs[f.attr].columns == [column], f"Enrollment.{f.attr}"
        expected = JSON if f.json else String
        assert isinstance(column.type, expected), f"{f.column}: {column.type!r} for {f.kind}"
        assert column.nullable == (f.empty is None), f"{f.column}: null, or stored empty"


def test_every_other_column_is_declared_or_known() -> None:
    columns = set(Enrollment.__table__.c.keys())
    assert columns - NOT_FIELDS == {f.column for f in FIELDS}, (
        "a person field of the enrollment goes in models/enrollment_fields.py FIELDS"
    )


def test_the_request_schemas_take_the_fields_in_order() -> None:
    assert list(EnrollmentFields.model_fields) == [f.column for f in FIELDS]
    for model in (EnrollmentCreate, EnrollmentUpdate):
        properties = model.model_json_schema()["properties"]
        for f in FIELDS:
            prop = properties[f.name]
            variants = prop.get("anyOf", [prop])
            if f.kind == Kind.TEXT:
                # The wire's bound fits the column's.
                length = Enrollment.__table__.c[f.column].type.length  # type: ignore[attr-defined]
                bounds = [v["maxLength"] for v in variants if v.get("type") == "string"]
                assert bounds and (length is None or bounds[0] <= length), f.name
            elif f.kind == Kind.TEXT_LIST:
                assert any(v.get("type") == "array" for v in variants), f.name
            elif f.kind == Kind.OBJECT:
                assert any(v.get("type") == "object" for v in variants), f.name
            else:
                assert {"$ref": "#/$defs/Address"} in variants, f.name


_OUT_SCHEMA = {
    Kind.TEXT: {"anyOf": [{"type": "string"}, {"type": "null"}]},
    Kind.TEXT_LIST: {"type": "array", "items": {"type": "string"}},
    Kind.OBJECT: {"type": "object", "additionalProperties": True},
    Kind.ADDRESS: {"anyOf": [{"type": "object", "additionalProperties": True}, {"type": "null"}]},
}


def test_enrollment_out_returns_the_fields_in_order() -> None:
    properties = EnrollmentOut.model_json_schema()["properties"]
    expected = _out_names()
    assert _block(list(properties), expected) == expected
    for f in FIELDS:
        for name in filter(None, (f.name, f.also_as)):
            prop = {k: v for k, v in properties[name].items() if k not in ("title", "description")}
            assert prop == _OUT_SCHEMA[f.kind], name


def _enrollment(values: dict[str, Any]) -> Enrollment:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Enrollment(
        id="e1",
        workspace_id="w1",
        program_instance_id="p1",
        identification_type="customerInfo",
        status="candidate",
        eligibility={},
        needs_review=False,
        version=1,
        created_at=now,
        updated_at=now,
        **values,
    )


def test_enrollment_out_of_reads_every_field() -> None:
    enrollment = _enrollment({f.attr: _sample(f) for f in FIELDS})
    out = EnrollmentOut.of(enrollment).model_dump(mode="json", by_alias=True)
    for f in FIELDS:
        assert out[f.name] == _sample(f), f.name
        if f.also_as:
            assert out[f.also_as] == _sample(f), f.also_as


def test_the_graphql_classes_list_the_fields_in_order() -> None:
    types = graphql_schema._schema.type_map
    output = {
        Kind.TEXT: "String",
        Kind.TEXT_LIST: "[String!]!",
        Kind.OBJECT: "JSON!",
        Kind.ADDRESS: "Address",
    }
    fields = types["Enrollment"].fields  # type: ignore[union-attr]
    expected = _out_names()
    assert _block(list(fields), expected) == expected
    for f in FIELDS:
        for name in filter(None, (f.name, f.also_as)):
            assert str(fields[name].type) == output[f.kind], name
    given = {
        Kind.TEXT: "String",
        Kind.TEXT_LIST: "[String!]",
        Kind.OBJECT: "JSON",
        Kind.ADDRESS: "AddressInput",
    }
    for input_type in ("EnrollmentUpdateInput", "EnrollmentCreateInput"):
        fields = types[input_type].fields  # type: ignore[union-attr]
        expected = [f.name for f in FIELDS]
        assert _block(list(fields), expected) == expected, input_type
        for f in FIELDS:
            assert str(fields[f.name].type) == given[f.kind], f"{input_type}.{f.name}"


def test_the_rule_context_has_every_rule_field() -> None:
    fields = {f.name: _sample(f) for f in FIELDS}
    context = rule_context(fields)
    for f in FIELDS:
        if f.rule:
            assert f.name in context, f"eligibility/context.py: {f.name}"
            if f.kind == Kind.TEXT:
                assert context[f.name] == fields[f.name]
    enrollment = {k for k in bulk.sql_fields("e", location=None, dialect="sqlite") if "." not in k}
    assert enrollment == {"identificationType"} | {f.name for f in FIELDS if f.rule}


def test_what_is_derived_follows_the_declaration() -> None:
    enrollment = _enrollment({f.attr: _sample(f) for f in FIELDS})
    assert changes.rule_fields(enrollment) == {
        "identificationType": "customerInfo",
        **{f.name: _sample(f) for f in FIELDS if f.rule},
    }
    assert set(identification.COPIED) == {"customer_id", "lead_id"} | {
        f.attr for f in FIELDS if f.copied
    }
    body = EnrollmentCreate.model_validate(
        {"identificationType": "customerInfo", **{f.name: _sample(f) for f in FIELDS}}
    )
    values = column_values(body)
    assert values == {
        "identification_type": "customerInfo",
        "customer_id": None,
        "lead_id": None,
        **{f.attr: _sample(f) for f in FIELDS if f.imported},
    }
    stage = [c.name for c in staging_repository.STAGE.columns]
    assert [c for c in stage if c not in NOT_FIELDS and c != "mask"] == [
        f.column for f in FIELDS if f.imported
    ]
    assert set(bulk.ROW_COLUMNS) == {"id", "customer_id", "identification_type"} | {
        f.column for f in FIELDS if f.rule
    }


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_snapshot_names_every_field(dialect: bulk_sql.Dialect) -> None:
    sql = bulk_sql.snapshot(dialect, "e")
    for name in _out_names():
        assert f"'{name}', " in sql, name
