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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import bulk
from enroll.enrollment import reevaluation_repository as repository
from enroll.models import ProgramInstance
from enroll.program_instance import service as instances
from enroll.workflows.enrollment import CRITERIA_BOUND, OPEN_STATUSES, REEVALUABLE, Status

REEVALUATE_REJECTED = "reevaluate_rejected"
# From the workflow's table: the rules move what may be re-evaluated (but what a person decided
# under the criteria, unless the instance's policy asks for it); open applications past that
# point are flagged for review instead of demoted.
MOVABLE = tuple(s for s in Status if s in REEVALUABLE and s not in CRITERIA_BOUND)
CRITERIA_BOUND_MOVABLE = tuple(s for s in Status if s in REEVALUABLE and s in CRITERIA_BOUND)
NOT_DEMOTED = tuple(s for s in Status if s in OPEN_STATUSES and s not in REEVALUABLE)


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


_NOT_DEMOTED = "|".join(NOT_DEMOTED)


def _flagged() -> Move:
    return Move(_NOT_DEMOTED, "needsReview")


def _cleared() -> Move:
    return Move("needsReview", _NOT_DEMOTED)


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
        return (*MOVABLE, *CRITERIA_BOUND_MOVABLE)
    return MOVABLE


def _in_play(instance: ProgramInstance) -> tuple[Status, ...]:
    return (*movable_statuses(instance), *NOT_DEMOTED)


async def in_play_count(session: AsyncSession, instance: ProgramInstance) -> int:
    return await repository.in_play_count(session, instance.id, _in_play(instance))


async def instance_total(session: AsyncSession, instance: ProgramInstance) -> int:
    return await repository.instance_total(session, instance.id)


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
    found = await repository.next_ids(
        session,
        instance_id=instance.id,
        statuses=_in_play(instance),
        after=after,
        limit=limit,
        lock=apply and dialect == "postgresql",
    )
    if not found:
        return Batch(None, 0, Summary())
    refusal = await instances.refusal_reason(session, instance, today=now.date())
    plan = bulk.plan(
        instance, alias="e", location=repository.LOCATION, dialect=dialect, refusal=refusal
    )
    movable = movable_statuses(instance)
    await repository.stage(
        session, instance, plan, movable, NOT_DEMOTED, dialect, after=after, last=found[-1]
    )
    decisions = await bulk.decide_table(
        session,
        instance=instance,
        plan_=plan,
        table="reeval",
        load=lambda ids: repository.load_rows(session, ids),
        now=now,
    )
    summary = await _summarise(session, movable, sample_size)
    if apply:
        await repository.apply(session, instance, plan, movable, dialect, actor=actor, now=now)
        # Every row evaluated stores the new decision: its pending checks are asked again.
        await bulk.enqueue_async_checks(
            session, instance=instance, plan_=plan, decisions=decisions, table="reeval", now=now
        )
    await repository.drop(session)
    return Batch(found[-1], len(found), summary)


async def _summarise(session: AsyncSession, movable: Sequence[Status], sample_size: int) -> Summary:
    movable_values = {s.value for s in movable}
    moves: dict[tuple[str, str], Move] = {}
    flagged, cleared = _flagged(), _cleared()
    evaluated = 0
    for before, after, was_flagged, count in await repository.move_counts(session):
        evaluated += count
        if before in movable_values:
            if before != after:
                moves.setdefault((before, after), Move(before, after)).count += count
        elif after == Status.INELIGIBLE and not was_flagged:
            flagged.count += count
        elif after == Status.ELIGIBLE and was_flagged:
            cleared.count += count
    for move in moves.values():
        move.sample_ids = await repository.move_samples(
            session, move.from_status, move.to_status, sample_size
        )
    if flagged.count:
        flagged.sample_ids = await repository.review_samples(
            session, NOT_DEMOTED, flagged=True, limit=sample_size
        )
    if cleared.count:
        cleared.sample_ids = await repository.review_samples(
            session, NOT_DEMOTED, flagged=False, limit=sample_size
        )
    return Summary(
        evaluated=evaluated,
        moves=sorted(moves.values(), key=lambda m: (m.from_status, m.to_status)),
        needs_review=flagged,
        cleared_review=cleared,
    )
