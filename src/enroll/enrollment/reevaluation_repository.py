"""The set-based SQL of a re-evaluation (reevaluation.py says what it does): the batch's rows
in play staged in a temporary table with their masks, the moves counted, and the changed
enrollments, their history rows and events written with one statement each.

The temporary tables: ``reeval`` (the batch's rows in play), ``bulk_decision`` (a decision per
distinct mask, eligibility/bulk.py), ``reeval_write`` (the rows whose decision changes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import bulk
from enroll.eligibility.bulk_repository import exec_sql
from enroll.eligibility.checks import evaluated_at_text
from enroll.enrollment import bulk_sql
from enroll.event import service as events
from enroll.ids import new_id
from enroll.kit.repository import WorkspaceRepository
from enroll.models import Enrollment, ProgramInstance, Reevaluation
from enroll.models.base import UtcDateTime
from enroll.workflows.enrollment import CRITERIA_BOUND, OPEN_STATUSES, Status

runs = WorkspaceRepository(Reevaluation, not_found="No re-evaluation {id!r}.")


async def locked_run(session: AsyncSession, reevaluation_id: str) -> Reevaluation | None:
    """The run, its row locked (the job's steps and its failure take turns)."""
    return await session.get(Reevaluation, reevaluation_id, with_for_update=True)


async def writing_run_id(
    session: AsyncSession, *, instance_id: str, active: Sequence[str]
) -> str | None:
    """A run of the instance in ``active`` statuses that writes (not a dry run), if any."""
    return await session.scalar(
        select(Reevaluation.id)
        .where(
            Reevaluation.program_instance_id == instance_id,
            Reevaluation.status.in_(active),
            Reevaluation.dry_run.is_(False),
        )
        .limit(1)
    )


def _values(statuses: Sequence[Status]) -> list[str]:
    return [s.value for s in statuses]


async def in_play_count(session: AsyncSession, instance_id: str, statuses: Sequence[Status]) -> int:
    """Enrollments a re-evaluation reads (an index range: program_instance_id, status, id)."""
    found = await session.scalar(
        select(func.count()).where(
            Enrollment.program_instance_id == instance_id,
            Enrollment.status.in_(_values(statuses)),
        )
    )
    return int(found or 0)


async def instance_total(session: AsyncSession, instance_id: str) -> int:
    found = await session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.program_instance_id == instance_id)
    )
    return int(found or 0)


async def next_ids(
    session: AsyncSession,
    *,
    instance_id: str,
    statuses: Sequence[Status],
    after: str | None,
    limit: int,
    lock: bool,
) -> list[str]:
    """The next ``limit`` ids in play after ``after``, in id order; ``lock``: FOR UPDATE (on
    PostgreSQL), so a concurrent change of one waits for this batch."""
    ids = select(Enrollment.id).where(
        Enrollment.program_instance_id == instance_id,
        Enrollment.status.in_(_values(statuses)),
    )
    if after is not None:
        ids = ids.where(Enrollment.id > after)
    ids = ids.order_by(Enrollment.id).limit(limit)
    if lock:
        ids = ids.with_for_update()
    return list((await session.scalars(ids)).all())


async def load_rows(session: AsyncSession, ids: list[str]) -> list[Mapping[str, Any]]:
    """The columns the Python evaluator reads (eligibility/bulk.py ROW_COLUMNS) of ``ids``,
    and the service location a rule may read."""
    table = Enrollment.__table__
    columns = [table.c[c] for c in bulk.ROW_COLUMNS] + [table.c.service_location_id]
    rows = await session.execute(select(*columns).where(table.c.id.in_(ids)))
    return [dict(r._mapping) for r in rows]


async def stage(
    session: AsyncSession,
    instance: ProgramInstance,
    plan: bulk.Plan,
    movable: Sequence[Status],
    not_demoted: Sequence[Status],
    dialect: bulk.Dialect,
    *,
    after: str | None,
    last: str,
) -> None:
    """``reeval(id, status, was_flagged, mask, checks_key)``: the batch's rows in play (ids
    after ``after`` up to ``last``), with their masks and what their current decisions are
    (to tell which would only be restamped)."""
    # Inlined below: CUIDs (the mask SQL holds inlined literals, so no bind parameters).
    assert all(i.isalnum() for i in (instance.id, last, after or "x"))
    lower = f" AND e.id > '{after}'" if after is not None else ""
    statuses = ", ".join(f"'{s.value}'" for s in (*movable, *not_demoted))
    mask = plan.mask_sql if plan.mask_sql is not None else "NULL"
    # A rejected enrollment stays where it is while its customer holds another open one,
    # and (the single path's rule, service.check_criteria_changed) under unchanged criteria.
    open_ = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
    bound = ", ".join(f"'{s.value}'" for s in CRITERIA_BOUND)
    blocked = (
        "e.status = 'rejected' AND EXISTS (SELECT 1 FROM enrollment o"
        " WHERE o.program_instance_id = e.program_instance_id"
        f" AND o.customer_id = e.customer_id AND o.status IN ({open_}))"
        f" OR e.status IN ({bound})"
        f" AND {_decided_version('e', dialect)} = {int(instance.criteria_version)}"
    )
    # Undecided rows get their masks one UPDATE by id at a time (hence the index on id).
    await _temp_table(
        session,
        "reeval",
        "SELECT e.id AS id, e.status AS status, e.needs_review AS was_flagged,"
        f" CAST({mask} AS TEXT) AS mask,"
        f" CAST({checks_key('e.eligibility', dialect)} AS TEXT) AS checks_key FROM enrollment e"
        f"{_location_join(plan)}"
        f" WHERE e.program_instance_id = '{instance.id}' AND e.status IN ({statuses})"
        f"{lower} AND e.id <= '{last}' AND NOT ({blocked})",
        dialect,
    )


LOCATION = "loc"  # the alias of an enrollment's service location in the mask SQL


def _location_join(plan: bulk.Plan) -> str:
    """The enrollment's service location, for rules that read it (``location.*``)."""
    if not plan.reads_location:
        return ""
    return f" LEFT JOIN service_location {LOCATION} ON {LOCATION}.id = e.service_location_id"


def _decided_version(e: str, dialect: bulk.Dialect) -> str:
    """SQL: the criteria version of ``e``'s latest decision (its eligibility's, or a later
    re-evaluation's stamp: versions only grow, so the greater of the two)."""
    stamp = (
        "coalesce((SELECT v.criteria_version FROM enrollment_evaluation v"
        f" WHERE v.enrollment_id = {e}.id), -1)"
    )
    if dialect == "postgresql":
        stored = f"coalesce(({e}.eligibility ->> 'criteriaVersion')::int, -1)"
        return f"greatest({stored}, {stamp})"
    stored = f"coalesce(CAST(json_extract({e}.eligibility, '$.criteriaVersion') AS INTEGER), -1)"
    return f"max({stored}, {stamp})"


async def _temp_table(
    session: AsyncSession, name: str, select_sql: str, dialect: bulk.Dialect
) -> None:
    """A temporary table of ``select_sql``'s rows, indexed on ``id`` (this transaction's own
    on PostgreSQL; dropped by ``_drop`` in any case)."""
    suffix = " ON COMMIT DROP" if dialect == "postgresql" else ""
    await exec_sql(session, f"DROP TABLE IF EXISTS {name}")
    await exec_sql(session, f"CREATE TEMPORARY TABLE {name}{suffix} AS {select_sql}")
    await exec_sql(session, f"CREATE INDEX {name}_id ON {name} (id)")


async def drop(session: AsyncSession) -> None:
    for table in ("reeval", "reeval_write", "bulk_decision"):
        await exec_sql(session, f"DROP TABLE IF EXISTS {table}")


async def move_counts(session: AsyncSession) -> list[tuple[str, str, bool, int]]:
    """(status, new status, was flagged, count) of the staged batch."""
    rows = await session.execute(
        text(
            "SELECT r.status, d.status, r.was_flagged, count(*) FROM reeval r"
            " JOIN bulk_decision d ON d.mask = r.mask GROUP BY r.status, d.status, r.was_flagged"
        )
    )
    return [(before, after, bool(flagged), int(n)) for before, after, flagged, n in rows]


async def move_samples(session: AsyncSession, before: str, after: str, limit: int) -> list[str]:
    """The smallest ``limit`` ids of the staged batch that move from ``before`` to ``after``."""
    return await _samples(
        session, "r.status = :a AND d.status = :b", {"a": before, "b": after}, limit
    )


async def review_samples(
    session: AsyncSession, statuses: Sequence[Status], *, flagged: bool, limit: int
) -> list[str]:
    """The smallest ``limit`` ids among ``statuses`` (never demoted) whose review flag is set
    (``flagged``: they now fail) or cleared (they pass again)."""
    listed = ", ".join(f"'{s.value}'" for s in statuses)
    where = (
        f"r.status IN ({listed}) AND d.status = 'ineligible' AND NOT r.was_flagged"
        if flagged
        else f"r.status IN ({listed}) AND d.status = 'eligible' AND r.was_flagged"
    )
    return await _samples(session, where, {}, limit)


async def _samples(
    session: AsyncSession, where: str, params: dict[str, Any], limit: int
) -> list[str]:
    if limit <= 0:
        return []
    rows = await session.execute(
        text(
            f"SELECT r.id FROM reeval r JOIN bulk_decision d ON d.mask = r.mask WHERE {where}"
            f" ORDER BY r.id LIMIT {int(limit)}"
        ),
        params,
    )
    return list(rows.scalars())


def checks_key(expr: str, dialect: bulk.Dialect) -> str:
    """SQL: a comparable value of the checks in the eligibility JSON ``expr`` (everything
    but its criteria version and time). Equal keys: the same decision. PostgreSQL hashes the
    jsonb (64 bits: ~5x cheaper than md5 of its text over a million rows); SQLite compares
    the JSON text, which one serialiser wrote: a difference only costs a needless rewrite."""
    if dialect == "postgresql":
        return f"jsonb_hash_extended(({expr}) -> 'checks', 0)"
    return f"json_extract({expr}, '$.checks')"


def _changes(movable_sql: str, alias: str) -> tuple[str, str]:
    """SQL over ``alias`` (status, new_status, was_flagged): (moved, review flag changed)."""
    a = alias
    moved = f"{a}.status IN ({movable_sql}) AND {a}.status <> {a}.new_status"
    flag_changed = (
        f"{a}.status NOT IN ({movable_sql}) AND (({a}.new_status = 'ineligible')"
        f" <> (CASE WHEN {a}.was_flagged THEN 1=1 ELSE 1=0 END))"
    )
    return moved, flag_changed


async def apply(
    session: AsyncSession,
    instance: ProgramInstance,
    plan: bulk.Plan,
    movable: Sequence[Status],
    dialect: bulk.Dialect,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Rewrite the enrollments whose decision changes (status, review flag, checks, or
    pending checks to ask again); stamp the others, which decided exactly as before, with
    this evaluation's criteria version and time (``enrollment_evaluation``)."""
    # '' matches no status: an empty list (manual screening) stays valid SQL everywhere.
    movable_sql = ", ".join(f"'{s.value}'" for s in movable) or "''"
    await exec_sql(
        session,
        f"UPDATE bulk_decision SET checks_key = CAST({checks_key('eligibility', dialect)} AS TEXT)",
    )
    moved, flag_changed = _changes(movable_sql, "x")
    # Indexed on id for the anti-join below (SQLite would scan it once per row of reeval).
    await _temp_table(
        session,
        "reeval_write",
        "SELECT * FROM ("
        " SELECT r.id AS id, r.status AS status, r.was_flagged AS was_flagged,"
        " d.status AS new_status, d.reason AS reason, d.eligibility AS eligibility,"
        " d.settled AS settled, r.checks_key AS old_key, d.checks_key AS new_key"
        " FROM reeval r JOIN bulk_decision d ON d.mask = r.mask) x"
        f" WHERE ({moved}) OR ({flag_changed}) OR NOT x.settled"
        " OR coalesce(x.old_key, '') <> x.new_key",
        dialect,
    )
    at = bindparam("now", now, type_=UtcDateTime())
    if dialect == "postgresql":
        await exec_sql(session, "ANALYZE reeval_write (id)")
    # The rest decided as before: one narrow row each instead of a rewrite of the wide one.
    await session.execute(
        text(
            "INSERT INTO enrollment_evaluation (enrollment_id, criteria_version, evaluated_at)"
            " SELECT r.id, :version, :stamp FROM reeval r"
            " WHERE NOT EXISTS (SELECT 1 FROM reeval_write w WHERE w.id = r.id)"
            " ON CONFLICT (enrollment_id) DO UPDATE SET"
            " criteria_version = excluded.criteria_version, evaluated_at = excluded.evaluated_at"
        ),
        {"version": plan.criteria_version, "stamp": evaluated_at_text(now)},
    )
    await _write_moves(session, instance, dialect, movable_sql, moved, at, actor=actor)
    await _events(session, dialect, moved, flag_changed, now)


async def _write_moves(
    session: AsyncSession,
    instance: ProgramInstance,
    dialect: bulk.Dialect,
    movable_sql: str,
    moved: str,
    at: BindParameter[datetime],
    *,
    actor: str,
) -> None:
    """The history rows of the moves, then the rewrite of every row in ``reeval_write``."""
    history_prefix = new_id()[:17]
    await session.execute(
        text(
            "INSERT INTO enrollment_history (id, workspace_id, enrollment_id, from_status,"
            " to_status, action, reason, actor, at)"
            f" SELECT {_sequence_id(history_prefix, dialect)}, :workspace_id, x.id, x.status,"
            " x.new_status, 'reevaluate', x.reason, :actor, :now"
            f" FROM reeval_write x WHERE {moved}"
        ).bindparams(at),
        {"workspace_id": instance.workspace_id, "actor": actor},
    )
    true, false = ("true", "false") if dialect == "postgresql" else ("1", "0")
    await session.execute(
        text(
            "UPDATE enrollment SET"
            f" status = CASE WHEN x.status IN ({movable_sql}) THEN x.new_status ELSE x.status END,"
            f" eligibility_reason = CASE WHEN x.status IN ({movable_sql}) THEN x.reason"
            " ELSE enrollment.eligibility_reason END,"
            " eligibility = x.eligibility,"
            f" needs_review = CASE WHEN x.status IN ({movable_sql}) THEN {false}"
            f" WHEN x.new_status = 'ineligible' THEN {true} ELSE {false} END,"
            f" needs_review_reason = CASE WHEN x.status NOT IN ({movable_sql})"
            " AND x.new_status = 'ineligible' THEN x.reason ELSE NULL END,"
            " version = enrollment.version + 1, updated_at = :now"
            " FROM reeval_write AS x WHERE enrollment.id = x.id"
        ).bindparams(at)
    )


async def _events(
    session: AsyncSession,
    dialect: bulk.Dialect,
    moved: str,
    flag_changed: str,
    now: datetime,
) -> None:
    obj = "jsonb_build_object" if dialect == "postgresql" else "json_object"
    array = "jsonb_build_array" if dialect == "postgresql" else "json_array"
    snapshot = bulk_sql.snapshot(dialect, "e")
    change = (
        f"{obj}('object', {snapshot}, 'previousStatus', x.status, 'status', e.status,"
        " 'reason', e.eligibility_reason)"
    )
    # A move is a status change like any other: enrollment.updated names status too.
    fields = (
        f"CASE WHEN {moved} THEN {array}('status', 'eligibility')"
        f" ELSE {array}('needsReview', 'eligibility') END"
    )
    updated = f"{obj}('object', {snapshot}, 'changedFields', {fields})"
    source = " FROM reeval_write x JOIN enrollment e ON e.id = x.id"
    kinds = [
        (new_id()[:17], "'enrollment.status_changed'", change, moved, 0),
        (new_id()[:17], "'enrollment.' || e.status", change, moved, 1),
        (new_id()[:17], "'enrollment.updated'", updated, f"({moved}) OR ({flag_changed})", 2),
    ]
    branches = " UNION ALL ".join(
        f"SELECT {_sequence_id(prefix, dialect)} AS id, e.workspace_id AS workspace_id,"
        f" {kind} AS type, e.id AS subject_id, {data} AS data, {order} AS ord"
        f"{source} WHERE {where}"
        for prefix, kind, data, where, order in kinds
    )
    await session.execute(
        text(
            "INSERT INTO event (id, workspace_id, type, version, occurred_at, subject_id, data)"
            f" SELECT x.id, x.workspace_id, x.type, {events.ENVELOPE_VERSION}, :now,"
            f" x.subject_id, x.data FROM ({branches}) x ORDER BY x.subject_id, x.ord"
        ).bindparams(bindparam("now", now, type_=UtcDateTime()))
    )


def _sequence_id(prefix: str, dialect: bulk.Dialect) -> str:
    """A CUID per row of one statement: a fresh id's time/counter/fingerprint blocks, then the
    row's number in eight digits (unique per statement, and the prefix is unique per run)."""
    assert len(prefix) == 17 and prefix.isalnum()
    number = "CAST(row_number() OVER () AS TEXT)"
    if dialect == "postgresql":
        return f"('{prefix}' || lpad({number}, 8, '0'))"
    return f"('{prefix}' || substr('00000000' || {number}, -8, 8))"
