"""Re-evaluating an instance's enrollments after a criteria change, set-based, a batch at a time.

Every enrollment that a decision may still move (candidate, eligible, ineligible, and
rejected when the instance's ``reenrollmentPolicy`` is ``reevaluate_rejected``) is evaluated
with the current criteria and moved to eligible or ineligible; submitted and approved ones
are never demoted: when they would now fail they get ``needsReview`` with the reason (and
lose it when they pass again). ``run_batch`` does this for the next enrollments by id, in
the caller's transaction: it counts the moves per kind with sample ids and, when applying,
writes the enrollments, a history row and the status events for every enrollment that
moved, and ``enrollment.updated`` for every one whose review flag changed. The job that
drives the batches, one short transaction each, is ``reevaluation_run.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import bulk
from enroll.eligibility.checks import evaluated_at_text
from enroll.enrollment import bulk_sql
from enroll.event import service as events
from enroll.ids import new_id
from enroll.models import Enrollment, ProgramInstance
from enroll.models.base import UtcDateTime
from enroll.program_instance import service as instances
from enroll.workflows.enrollment import CRITERIA_BOUND, OPEN_STATUSES, Status

REEVALUATE_REJECTED = "reevaluate_rejected"
MOVABLE = (Status.CANDIDATE, Status.ELIGIBLE, Status.INELIGIBLE)
NOT_DEMOTED = (Status.SUBMITTED, Status.APPROVED)


@dataclass
class Move:
    from_status: str
    to_status: str
    count: int = 0
    sample_ids: list[str] = field(default_factory=list)

    def add(self, other: Move, sample_size: int) -> None:
        """Batches go in id order, so the first ``sample_size`` ids stay the smallest."""
        self.count += other.count
        self.sample_ids = (self.sample_ids + other.sample_ids)[:sample_size]

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.from_status,
            "to": self.to_status,
            "count": self.count,
            "sampleIds": self.sample_ids,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Move:
        return cls(data["from"], data["to"], int(data["count"]), list(data["sampleIds"]))


def _flagged() -> Move:
    return Move("submitted|approved", "needsReview")


def _cleared() -> Move:
    return Move("needsReview", "submitted|approved")


@dataclass
class Summary:
    """What a re-evaluation found (or did), summed over its batches."""

    evaluated: int = 0
    moves: list[Move] = field(default_factory=list)
    needs_review: Move = field(default_factory=_flagged)
    cleared_review: Move = field(default_factory=_cleared)
    total: int = 0  # the instance's enrollments, counted when a run ends

    @property
    def changed(self) -> int:
        return (
            sum(m.count for m in self.moves) + self.needs_review.count + self.cleared_review.count
        )

    def add(self, batch: Summary, sample_size: int) -> None:
        self.evaluated += batch.evaluated
        moves = {(m.from_status, m.to_status): m for m in self.moves}
        for move in batch.moves:
            key = (move.from_status, move.to_status)
            moves.setdefault(key, Move(*key)).add(move, sample_size)
        self.moves = sorted(moves.values(), key=lambda m: (m.from_status, m.to_status))
        self.needs_review.add(batch.needs_review, sample_size)
        self.cleared_review.add(batch.cleared_review, sample_size)

    def as_json(self) -> dict[str, Any]:
        return {
            "evaluated": self.evaluated,
            "total": self.total,
            "moves": [m.as_json() for m in self.moves],
            "needsReview": self.needs_review.as_json(),
            "clearedReview": self.cleared_review.as_json(),
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Summary:
        if not data:
            return cls()
        return cls(
            evaluated=int(data["evaluated"]),
            total=int(data["total"]),
            moves=[Move.of(m) for m in data["moves"]],
            needs_review=Move.of(data["needsReview"]),
            cleared_review=Move.of(data["clearedReview"]),
        )


@dataclass
class Batch:
    last_id: str | None  # the last enrollment id read; None: nothing was left
    read: int
    summary: Summary


def movable_statuses(instance: ProgramInstance) -> tuple[Status, ...]:
    if instance.screening == "manual":  # a person decides: the rules move no one
        return ()
    if instance.reenrollment_policy == REEVALUATE_REJECTED:
        return (*MOVABLE, Status.REJECTED)
    return MOVABLE


def _in_play(instance: ProgramInstance) -> list[str]:
    return [s.value for s in (*movable_statuses(instance), *NOT_DEMOTED)]


async def in_play_count(session: AsyncSession, instance: ProgramInstance) -> int:
    """Enrollments a re-evaluation reads (an index range: program_instance_id, status, id)."""
    found = await session.scalar(
        select(func.count()).where(
            Enrollment.program_instance_id == instance.id,
            Enrollment.status.in_(_in_play(instance)),
        )
    )
    return int(found or 0)


async def instance_total(session: AsyncSession, instance: ProgramInstance) -> int:
    found = await session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.program_instance_id == instance.id)
    )
    return int(found or 0)


async def run_batch(
    session: AsyncSession,
    *,
    instance: ProgramInstance,
    after: str | None,
    limit: int,
    apply: bool,
    sample_size: int,
    actor: str,
    now: datetime,
) -> Batch:
    """Evaluate the next ``limit`` enrollments in play after the id ``after``; count, and
    with ``apply`` write, what changes. On PostgreSQL an apply locks those rows first, so a
    concurrent change of one waits for this batch (rather than being overwritten by it)."""
    dialect = bulk.dialect_of(session)
    ids = select(Enrollment.id).where(
        Enrollment.program_instance_id == instance.id,
        Enrollment.status.in_(_in_play(instance)),
    )
    if after is not None:
        ids = ids.where(Enrollment.id > after)
    ids = ids.order_by(Enrollment.id).limit(limit)
    if apply and dialect == "postgresql":
        ids = ids.with_for_update()
    found = list((await session.scalars(ids)).all())
    if not found:
        return Batch(None, 0, Summary())
    refusal = await instances.refusal_reason(session, instance, today=now.date())
    plan = bulk.plan(instance, alias="e", dialect=dialect, refusal=refusal)
    movable = movable_statuses(instance)
    await _stage(session, instance, plan, movable, dialect, after=after, last=found[-1])

    async def load(ids: list[str]) -> list[Mapping[str, Any]]:
        table = Enrollment.__table__
        rows = await session.execute(
            select(*(table.c[c] for c in bulk.ROW_COLUMNS)).where(table.c.id.in_(ids))
        )
        return [dict(r._mapping) for r in rows]

    decisions = await bulk.decide_table(
        session, instance=instance, plan_=plan, table="reeval", load=load, now=now
    )
    summary = await _summarise(session, movable, sample_size)
    if apply:
        await _apply(session, instance, plan, movable, dialect, actor=actor, now=now)
        # Every row evaluated stores the new decision: its pending checks are asked again.
        await bulk.enqueue_async_checks(
            session, instance=instance, plan_=plan, decisions=decisions, table="reeval", now=now
        )
    await _drop(session)
    return Batch(found[-1], len(found), summary)


async def _stage(
    session: AsyncSession,
    instance: ProgramInstance,
    plan: bulk.Plan,
    movable: Sequence[Status],
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
    statuses = ", ".join(f"'{s.value}'" for s in (*movable, *NOT_DEMOTED))
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
        f" WHERE e.program_instance_id = '{instance.id}' AND e.status IN ({statuses})"
        f"{lower} AND e.id <= '{last}' AND NOT ({blocked})",
        dialect,
    )


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
    await bulk.exec_sql(session, f"DROP TABLE IF EXISTS {name}")
    await bulk.exec_sql(session, f"CREATE TEMPORARY TABLE {name}{suffix} AS {select_sql}")
    await bulk.exec_sql(session, f"CREATE INDEX {name}_id ON {name} (id)")


async def _drop(session: AsyncSession) -> None:
    for table in ("reeval", "reeval_write", "bulk_decision"):
        await bulk.exec_sql(session, f"DROP TABLE IF EXISTS {table}")


async def _summarise(session: AsyncSession, movable: Sequence[Status], sample_size: int) -> Summary:
    movable_values = {s.value for s in movable}
    moves: dict[tuple[str, str], Move] = {}
    flagged, cleared = _flagged(), _cleared()
    evaluated = 0
    rows = await session.execute(
        text(
            "SELECT r.status, d.status, r.was_flagged, count(*) FROM reeval r"
            " JOIN bulk_decision d ON d.mask = r.mask GROUP BY r.status, d.status, r.was_flagged"
        )
    )
    for before, after, was_flagged, count in rows:
        evaluated += count
        if before in movable_values:
            if before != after:
                moves.setdefault((before, after), Move(before, after)).count += count
        elif after == "ineligible" and not was_flagged:
            flagged.count += count
        elif after == "eligible" and was_flagged:
            cleared.count += count
    for move in moves.values():
        move.sample_ids = await _samples(
            session,
            "r.status = :a AND d.status = :b",
            {"a": move.from_status, "b": move.to_status},
            sample_size,
        )
    if flagged.count:
        flagged.sample_ids = await _samples(
            session,
            "r.status IN ('submitted', 'approved') AND d.status = 'ineligible'"
            " AND NOT r.was_flagged",
            {},
            sample_size,
        )
    if cleared.count:
        cleared.sample_ids = await _samples(
            session,
            "r.status IN ('submitted', 'approved') AND d.status = 'eligible' AND r.was_flagged",
            {},
            sample_size,
        )
    return Summary(
        evaluated=evaluated,
        moves=sorted(moves.values(), key=lambda m: (m.from_status, m.to_status)),
        needs_review=flagged,
        cleared_review=cleared,
    )


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


async def _apply(
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
    await bulk.exec_sql(
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
        await bulk.exec_sql(session, "ANALYZE reeval_write (id)")
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
    await _events(session, dialect, moved, flag_changed, now)


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
