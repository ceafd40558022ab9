"""Eligibility decisions: one Check per criterion, explained, behind one interface.

``evaluate`` runs the platform's own check (the instance accepts enrollments) and then every
compiled criterion against the rule context, and ``decide`` turns the checks into a Decision:
ineligible with the first failing (or erroring) check's reason, else eligible.

Asynchronous criteria are answered later by the worker (``async_checks.py``). When every
synchronous check passed, each becomes a ``pending`` check and the decision is eligible (its
reason says what is awaited). When a synchronous check failed the enrollment is ineligible
already and the async checks are not run: they are left out of ``checks``, since a check that
is listed always ran or is running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from enroll.eligibility.criteria import CompiledCriterion
from enroll.eligibility.jsonlogic import RuleTooCostly, evaluation_budget, truthy

ACCEPTING_ID = "instance-accepting"
ACCEPTING_DESCRIPTION = "Program instance accepting enrollments"
ACCEPTING_PASSED = "Program accepting enrollments"


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PENDING = "pending"
    ERROR = "error"


FAILING = frozenset({CheckStatus.FAILED, CheckStatus.ERROR})


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    description: str
    status: CheckStatus
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "status": self.status.value,
            "reason": self.reason,
        }

    @classmethod
    def of_json(cls, check: dict[str, Any]) -> Check:
        return cls(check["id"], check["description"], CheckStatus(check["status"]), check["reason"])


@dataclass(frozen=True, slots=True)
class Decision:
    eligible: bool
    reason: str
    checks: Sequence[Check]
    evaluated_at: datetime
    criteria_version: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "checks": [c.as_json() for c in self.checks],
            "criteriaVersion": self.criteria_version,
            "evaluatedAt": evaluated_at_text(self.evaluated_at),
        }


def evaluated_at_text(at: datetime) -> str:
    """A decision's evaluatedAt as stored and shown (ISO 8601, Z)."""
    return at.isoformat().replace("+00:00", "Z")


class Evaluator(Protocol):
    def evaluate(
        self,
        *,
        context: dict[str, Any],
        criteria: Sequence[CompiledCriterion],
        criteria_version: int | None,
        refusal_reason: str | None,
        now: datetime,
    ) -> Decision: ...


def decide(checks: Sequence[Check], *, now: datetime, criteria_version: int | None) -> Decision:
    """Ineligible with the first failing check's reason, else eligible with what qualified.

    A pending check does not fail: the decision is eligible and its reason ends with what is
    still awaited ("…; Awaiting Credit check").
    """
    for check in checks:
        if check.status in FAILING:
            return Decision(False, check.reason or check.description, checks, now, criteria_version)
    passed = [c.reason or c.description for c in checks if c.status == CheckStatus.PASSED]
    awaited = [
        c.reason or pending_reason(c.description) for c in checks if c.status == CheckStatus.PENDING
    ]
    reason = "; ".join(passed + awaited) or "Meets all program requirements"
    return Decision(True, reason, checks, now, criteria_version)


def pending_reason(description: str) -> str:
    return f"Awaiting {description}"


class RulesEvaluator:
    def evaluate(
        self,
        *,
        context: dict[str, Any],
        criteria: Sequence[CompiledCriterion],
        criteria_version: int | None,
        refusal_reason: str | None,
        now: datetime,
    ) -> Decision:
        # One budget for the whole decision, so that no evaluation holds the event loop
        # for long, however many criteria it checks (jsonlogic/_budget.py).
        with evaluation_budget():
            ran = {c.id: _run(c, context) for c in criteria if not c.is_async}
        checks = assemble(criteria, ran, refusal_reason=refusal_reason)
        return decide(checks, now=now, criteria_version=criteria_version)


def accepting_check(refusal_reason: str | None) -> Check:
    """The platform's own check: the instance accepts enrollments."""
    if refusal_reason:
        return Check(ACCEPTING_ID, ACCEPTING_DESCRIPTION, CheckStatus.FAILED, refusal_reason)
    return Check(ACCEPTING_ID, ACCEPTING_DESCRIPTION, CheckStatus.PASSED, ACCEPTING_PASSED)


def assemble(
    criteria: Sequence[CompiledCriterion],
    ran: Mapping[str, Check],
    *,
    refusal_reason: str | None,
) -> list[Check]:
    """The checks of one evaluation, in criteria order, from the synchronous ones that ran:
    the asynchronous ones are pending when nothing failed, and not listed when something did
    (they are not run for an ineligible enrollment). One place for every evaluation path."""
    accepting = accepting_check(refusal_reason)
    checks = [accepting]
    if accepting.status in FAILING or any(c.status in FAILING for c in ran.values()):
        checks += ran.values()
    else:
        checks += [ran[c.id] if c.id in ran else pending(c) for c in criteria]
    return checks


def outcome(criterion: CompiledCriterion, passed: bool) -> Check:
    """A synchronous criterion's check once its rule is decided."""
    if passed:
        return Check(criterion.id, criterion.label, CheckStatus.PASSED, criterion.pass_reason)
    return Check(criterion.id, criterion.label, CheckStatus.FAILED, criterion.reason)


def pending(criterion: CompiledCriterion) -> Check:
    """An async criterion's check until its endpoint answers."""
    return Check(
        criterion.id, criterion.label, CheckStatus.PENDING, pending_reason(criterion.label)
    )


def _run(criterion: CompiledCriterion, context: dict[str, Any]) -> Check:
    description = criterion.label
    assert criterion.predicate is not None, "async criteria are never run here"
    try:
        passed = truthy(criterion.predicate(context))
    except RuleTooCostly as exc:
        return Check(criterion.id, description, CheckStatus.ERROR, exc.code)
    except Exception as exc:  # a rule that cannot be evaluated on this data is an error, not a pass
        return Check(
            criterion.id,
            description,
            CheckStatus.ERROR,
            f"{criterion.reason} (the rule could not be evaluated: {exc})",
        )
    return outcome(criterion, passed)


default_evaluator: Evaluator = RulesEvaluator()
