"""SQL for writing many enrollments' history rows and events set-based (PostgreSQL, SQLite).

Ids of the rows written here are derived from the enrollment's id: its time, counter and
fingerprint blocks, a one-letter tag for the kind of row, then seven of its eight random
characters. That keeps them CUIDs, unique per (enrollment, kind), and computed by the
database instead of a Python loop.

``snapshot`` builds the enrollment as ``EnrollmentOut`` serialises it; a test compares the
two for the same row, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from enroll.models.enrollment_fields import FIELDS

Dialect = Literal["postgresql", "sqlite"]


def derived_id(column: str, tag: str) -> str:
    assert len(tag) == 1 and tag.isalnum() and tag.islower()
    return f"(substr({column}, 1, 17) || '{tag}' || substr({column}, 19, 7))"


def _json(dialect: Dialect, column: str) -> str:
    # SQLite keeps JSON as text: json() makes json_object embed it as JSON, not as a string.
    return column if dialect == "postgresql" else f"json({column})"


def _object(dialect: Dialect, pairs: list[tuple[str, str]]) -> str:
    fn = "jsonb_build_object" if dialect == "postgresql" else "json_object"
    return f"{fn}(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"


def _get(dialect: Dialect, column: str, key: str) -> str:
    return f"({column} -> '{key}')" if dialect == "postgresql" else f"({column} -> '$.{key}')"


def timestamp(dialect: Dialect, column: str) -> str:
    """A UTC timestamp column as Pydantic writes it: no fraction when it is zero, else six
    digits, and ``Z``."""
    if dialect == "postgresql":
        base = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        micro = f"to_char({column} AT TIME ZONE 'UTC', 'US')"
        return (
            f"(CASE WHEN {column} IS NULL THEN NULL WHEN {micro} = '000000' THEN {base} || 'Z'"
            f" ELSE {base} || '.' || {micro} || 'Z' END)"
        )
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC) or without the fraction.
    text = f"replace({column}, ' ', 'T')"
    return (
        f"(CASE WHEN {column} IS NULL THEN NULL"
        f" WHEN length({column}) = 19 OR substr({column}, 21, 6) = '000000'"
        f" THEN substr({text}, 1, 19) || 'Z' ELSE substr({text}, 1, 26) || 'Z' END)"
    )


def _fields(dialect: Dialect, e: str) -> list[tuple[str, str]]:
    """The person and equipment fields (models/enrollment_fields.py) as ``EnrollmentOut``
    names them, in its order."""
    pairs = []
    for f in FIELDS:
        value = _json(dialect, f"{e}.{f.column}") if f.json else f"{e}.{f.column}"
        pairs.append((f.name, value))
        if f.also_as:
            pairs.append((f.also_as, value))
    return pairs


def _plan_and_service(dialect: Dialect, e: str) -> list[tuple[str, str]]:
    """The plan accepted at a location and the service that followed (plans.md)."""
    # ISO dates: SQLite stores them as such; PostgreSQL's date as text is one.
    as_text = "::text" if dialect == "postgresql" else ""
    active = (
        f"{e}.service_active"
        if dialect == "postgresql"
        else f"json(iif({e}.service_active, 'true', 'false'))"
    )
    return [
        ("serviceLocationId", f"{e}.service_location_id"),
        ("planId", f"{e}.plan_id"),
        ("planCode", f"{e}.plan_code"),
        ("planCodeGiven", f"{e}.plan_code_given"),
        ("startDate", f"{e}.start_date{as_text}"),
        ("serviceActive", active),
        ("serviceStartDate", f"{e}.service_start_date{as_text}"),
        ("hasUsageHistory", _has_usage(dialect, e)),
    ]


def _has_usage(dialect: Dialect, e: str) -> str:
    """As ``Enrollment.has_usage_history``, a JSON boolean (false without a location)."""
    found = (
        f"EXISTS (SELECT 1 FROM service_location sl"
        f" WHERE sl.id = {e}.service_location_id AND sl.has_usage)"
    )
    return found if dialect == "postgresql" else f"json(iif({found}, 'true', 'false'))"


def snapshot(dialect: Dialect, e: str) -> str:
    """The JSON of ``EnrollmentOut.of(row)`` for the enrollment row aliased ``e``, a row the
    statement's transaction has just written: its eligibility is the latest, so no
    re-evaluation stamp (models/enrollment.py) can be newer."""
    eligibility = _object(
        dialect,
        [
            ("status", f"{e}.status"),
            ("reason", f"{e}.eligibility_reason"),
            ("programInstanceId", f"{e}.program_instance_id"),
            (
                "checks",
                f"coalesce({_get(dialect, f'{e}.eligibility', 'checks')}, "
                + ("'[]'::jsonb)" if dialect == "postgresql" else "json('[]'))"),
            ),
            ("criteriaVersion", _get(dialect, f"{e}.eligibility", "criteriaVersion")),
            ("evaluatedAt", _get(dialect, f"{e}.eligibility", "evaluatedAt")),
        ],
    )
    boolean = (
        f"{e}.needs_review"
        if dialect == "postgresql"
        else f"json(iif({e}.needs_review, 'true', 'false'))"
    )
    return _object(
        dialect,
        [
            ("id", f"{e}.id"),
            ("identificationType", f"{e}.identification_type"),
            ("programInstanceId", f"{e}.program_instance_id"),
            ("leadId", f"{e}.lead_id"),
            ("customerId", f"{e}.customer_id"),
            ("enrollmentId", f"{e}.source_enrollment_id"),
            *_fields(dialect, e),
            ("enrollmentStartDate", timestamp(dialect, f"{e}.enrollment_start_date")),
            ("status", f"{e}.status"),
            ("eligibilityStatus", f"{e}.status"),
            ("eligibilityReason", f"{e}.eligibility_reason"),
            ("eligibility", eligibility),
            ("needsReview", boolean),
            ("needsReviewReason", f"{e}.needs_review_reason"),
            *_plan_and_service(dialect, e),
            (
                "requirements",
                f"coalesce({e}.requirements, "
                + ("'[]'::jsonb)" if dialect == "postgresql" else "json('[]'))"),
            ),
            ("version", f"{e}.version"),
            ("createdAt", timestamp(dialect, f"{e}.created_at")),
            ("updatedAt", timestamp(dialect, f"{e}.updated_at")),
        ],
    )


def among(
    column: ColumnElement[Any], values: Collection[str], dialect: Dialect
) -> ColumnElement[bool]:
    """``column IN (values)`` with the values as ONE bound parameter: an array on PostgreSQL,
    a JSON array on SQLite. ``in_`` renders a parameter per value, which for the thousands of
    an import batch costs more than the query."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    as_json = bindparam(None, orjson.dumps(list(values)).decode(), type_=String)
    return column.in_(select(literal_column("value")).select_from(func.json_each(as_json)))
