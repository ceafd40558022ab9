"""Set-based evaluation: many enrollment rows against one instance's criteria at once.

The SQL compiler (``jsonlogic/sql/``) turns each synchronous criterion into a boolean
expression that is TRUE, FALSE or NULL ("this row needs Python"). Their results are folded
into a *mask*, one '1' or '0' per criterion, NULL as soon as one criterion is NULL:

    mask = CASE (c1) WHEN TRUE THEN '1' WHEN FALSE THEN '0' END || CASE (c2) ... END

Rows with the same mask get the same decision, so the decision itself (reason, checks,
status) is still made by Python's ``checks.decide`` — once per distinct mask, not per row —
and there stays one place for that rule. Rows whose mask is NULL, and every row when a
criterion is outside the SQL subset, are evaluated by the Python evaluator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import bulk_repository as repository
from enroll.eligibility import service as eligibility
from enroll.eligibility.async_checks import enqueue_many
from enroll.eligibility.checks import (
    CheckStatus,
    Decision,
    assemble,
    decide,
    default_evaluator,
    outcome,
)
from enroll.eligibility.context import rule_context
from enroll.eligibility.criteria import CompiledCriteria, compile_criteria, is_async
from enroll.eligibility.jsonlogic.sql import FieldKind, SqlField, SqlUnsupported, compile_sql
from enroll.location import rule_columns as location_columns
from enroll.models import ProgramInstance
from enroll.models.enrollment_fields import FIELDS, Kind

Dialect = Literal["postgresql", "sqlite"]

# The rule context's keys that SQL reads straight from enrollment columns (see context.py;
# the fields: models/enrollment_fields.py).
_TEXT_COLUMNS = {
    "identificationType": "identification_type",
    **{f.name: f.column for f in FIELDS if f.rule and f.kind == Kind.TEXT},
}
_SQL_KINDS = {
    Kind.ADDRESS: FieldKind.JSON,
    Kind.OBJECT: FieldKind.JSON,
    Kind.TEXT_LIST: FieldKind.TEXT_LIST,
}
_OTHER_COLUMNS = {
    f.name: (_SQL_KINDS[f.kind], f.column) for f in FIELDS if f.rule and f.kind != Kind.TEXT
}


# The enrollment columns a rule context is built from (``row_fields``), with the row's id
# and customer, which the Python path needs too.
ROW_COLUMNS = (
    "id",
    "customer_id",
    *_TEXT_COLUMNS.values(),
    *(c for _k, c in _OTHER_COLUMNS.values()),
)


def dialect_of(session: AsyncSession) -> Dialect:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


def sql_fields(alias: str, *, location: str | None, dialect: Dialect) -> dict[str, SqlField]:
    """The rule context as SQL over a table with the enrollment's columns, named ``alias``,
    and its service location's row, named ``location`` (None: the rows name no location)."""
    fields = {k: SqlField(FieldKind.TEXT, f"{alias}.{c}") for k, c in _TEXT_COLUMNS.items()}
    fields |= {k: SqlField(kind, f"{alias}.{c}") for k, (kind, c) in _OTHER_COLUMNS.items()}
    no_json = "CAST(NULL AS jsonb)" if dialect == "postgresql" else "NULL"
    for path, sql in location_columns.TEXT.items():
        text = sql.format(l=location) if location else "CAST(NULL AS TEXT)"
        fields[path] = SqlField(FieldKind.TEXT, f"({text})")
    for path, sql in location_columns.JSON.items():
        fields[path] = SqlField(FieldKind.JSON, sql.format(l=location) if location else no_json)
    return fields


@dataclass(frozen=True, slots=True)
class Plan:
    """How one instance's criteria are evaluated over many rows."""

    compiled: CompiledCriteria
    criteria: list[dict[str, Any]]
    # SQL computing the mask over ``alias``'s row; None when a criterion is outside the SQL
    # subset (then every row is evaluated in Python).
    mask_sql: str | None
    criteria_version: int | None
    refusal: str | None

    def decision(self, mask: str, *, now: datetime) -> Decision:
        """The decision every row with ``mask`` gets: the synchronous criteria decided by the
        mask, assembled and decided exactly as for a single enrollment."""
        ran = {
            c.id: outcome(c, bit == "1")
            for c, bit in zip(self.compiled.synchronous, mask, strict=True)
        }
        checks = assemble(self.compiled.items, ran, refusal_reason=self.refusal)
        return decide(checks, now=now, criteria_version=self.criteria_version)

    @property
    def has_async(self) -> bool:
        return bool(self.compiled.asynchronous)

    @property
    def reads_location(self) -> bool:
        return self.compiled.reads("location")


def plan(
    instance: ProgramInstance,
    *,
    alias: str,
    dialect: Dialect,
    refusal: str | None,
    location: str | None = None,
) -> Plan:
    """``location``: the alias of the rows' service location (joined by the caller when
    ``Plan.reads_location``); None when the rows name none."""
    criteria = eligibility.effective(instance)
    fields = sql_fields(alias, location=location, dialect=dialect)
    return Plan(
        compiled=compile_criteria(criteria),
        criteria=criteria,
        mask_sql=mask_sql(criteria, fields=fields, dialect=dialect),
        criteria_version=instance.criteria_version,
        refusal=refusal,
    )


def mask_sql(
    criteria: Sequence[Mapping[str, Any]], *, fields: Mapping[str, SqlField], dialect: Dialect
) -> str | None:
    """One character per synchronous criterion (asynchronous ones are answered later)."""
    criteria = [c for c in criteria if not is_async(dict(c))]
    if not criteria:
        return "''"
    parts = []
    for criterion in criteria:
        try:
            expr = compile_sql(criterion["rule"], fields=fields, dialect=dialect)
        except SqlUnsupported:
            return None
        parts.append(f"(CASE ({expr}) WHEN TRUE THEN '1' WHEN FALSE THEN '0' END)")
    # A flat chain: SQLite's parser reduces it as it goes (no deeper stack per criterion),
    # and its tree (one level per criterion) stays within the depth limit (jsonlogic/sql/).
    return " || ".join(parts)


def row_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """Rule-context fields (camelCase) from a row of enrollment columns."""
    fields = {key: row[column] for key, column in _TEXT_COLUMNS.items()}
    fields |= {key: row[column] for key, (_kind, column) in _OTHER_COLUMNS.items()}
    return fields


async def decide_in_python(
    session: AsyncSession,
    *,
    instance: ProgramInstance,
    plan_: Plan,
    row: Mapping[str, Any],
    now: datetime,
) -> Decision:
    """One row the SQL could not decide. Rules that read the customer, the platform facts or
    the service location take the single-enrollment path (which loads them); the others run on
    the row alone."""
    if any(plan_.compiled.reads(part) for part in ("customer", "facts", "location")):
        return await eligibility.decide(
            session,
            instance=instance,
            fields=row_fields(row),
            customer_id=row["customer_id"],
            refusal=plan_.refusal,
            now=now,
            exclude_enrollment_id=row["id"],
            service_location_id=row.get("service_location_id"),
        )
    return default_evaluator.evaluate(
        context=rule_context(row_fields(row)),
        criteria=plan_.compiled.items,
        criteria_version=plan_.criteria_version,
        refusal_reason=plan_.refusal,
        now=now,
    )


# --- deciding a staged table ----------------------------------------------------------------

PYTHON_PAGE = 1000
# Rows decided in Python give the event loop a turn this often, so that other requests are
# answered while a bulk evaluation runs.
YIELD_AFTER_SECONDS = 0.02
RowLoader = Callable[[list[str]], Awaitable[list[Mapping[str, Any]]]]


async def decide_table(
    session: AsyncSession,
    *,
    instance: ProgramInstance,
    plan_: Plan,
    table: str,
    load: RowLoader,
    now: datetime,
) -> dict[str, Decision]:
    """Decide every row of ``table`` (a temporary table with ``id`` and ``mask`` columns,
    masks already computed where SQL could) and fill the temporary ``bulk_decision`` table
    that maps each mask to its decision. Rows the SQL left undecided are evaluated in Python
    (``load`` fetches their columns by id) and get a mask of their own, ``p<id>``.
    Returns the decisions by mask."""
    await repository.create_decision_table(session)
    decisions: dict[str, Decision] = {}
    for mask in await repository.distinct_masks(session, table):
        decisions[mask] = plan_.decision(mask, now=now)
    while True:
        ids = await repository.undecided_ids(session, table, limit=PYTHON_PAGE)
        if not ids:
            break
        assigned = []
        turn = time.monotonic()
        for row in await load(ids):
            mask = "p" + row["id"]
            decisions[mask] = await decide_in_python(
                session, instance=instance, plan_=plan_, row=row, now=now
            )
            assigned.append({"b_id": row["id"], "b_mask": mask})
            if time.monotonic() - turn > YIELD_AFTER_SECONDS:
                await asyncio.sleep(0)  # each row is bounded (its budget), a page is not
                turn = time.monotonic()
        await repository.assign_masks(session, table, assigned)
    if decisions:
        await repository.insert_decisions(
            session, [decision_row(mask, d) for mask, d in decisions.items()]
        )
    return decisions


def decision_row(mask: str, decision: Decision) -> dict[str, Any]:
    return {
        "mask": mask,
        "status": "eligible" if decision.eligible else "ineligible",
        "reason": decision.reason,
        "eligibility": decision.as_json(),
        "settled": not any(c.status == CheckStatus.PENDING for c in decision.checks),
    }


async def enqueue_async_checks(
    session: AsyncSession,
    *,
    instance: ProgramInstance,
    plan_: Plan,
    decisions: Mapping[str, Decision],
    table: str,
    where: str = "TRUE",
    now: datetime,
) -> int:
    """Queue the asynchronous checks of every row of ``table`` whose decision lists them as
    pending (``where`` narrows the rows, e.g. to those that were actually written)."""
    if not plan_.has_async:
        return 0
    waiting = [
        m for m, d in decisions.items() if any(c.status == CheckStatus.PENDING for c in d.checks)
    ]
    if not waiting:
        return 0
    queued = 0
    for mask in waiting:
        evaluated_at = decisions[mask].as_json()["evaluatedAt"]
        ids = await repository.ids_with_mask(session, table, mask, where=where)
        queued += await enqueue_many(
            session,
            workspace_id=instance.workspace_id,
            enrollments=[(i, evaluated_at) for i in ids],
            criteria=plan_.compiled,
            criteria_version=plan_.criteria_version,
            now=now,
        )
    return queued
