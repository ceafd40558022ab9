"""Eligibility decisions: one Check per criterion, explained, behind one interface.

``evaluate`` runs the platform's own check (the instance accepts enrollments) and then every
compiled criterion against the rule context, and ``decide`` turns the checks into a Decision:
ineligible with the first failing (or erroring) check's reason, else eligible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from enroll.eligibility.criteria import CompiledCriterion
from enroll.eligibility.jsonlogic import truthy

ACCEPTING_ID = "instance-accepting"
ACCEPTING_DESCRIPTION = "Program instance accepting enrollments"
ACCEPTING_PASSED = "Program accepting enrollments"


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PENDING = "pending"
    ERROR = "error"


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
            "evaluatedAt": self.evaluated_at.isoformat().replace("+00:00", "Z"),
        }


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
    """Ineligible with the first failing check's reason, else eligible with what qualified."""
    for check in checks:
        if check.status in (CheckStatus.FAILED, CheckStatus.ERROR):
            return Decision(False, check.reason or check.description, checks, now, criteria_version)
    passed = [c.reason or c.description for c in checks if c.status == CheckStatus.PASSED]
    reason = "; ".join(passed) or "Meets all program requirements"
    return Decision(True, reason, checks, now, criteria_version)


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
        checks = [
            Check(ACCEPTING_ID, ACCEPTING_DESCRIPTION, CheckStatus.FAILED, refusal_reason)
            if refusal_reason
            else Check(ACCEPTING_ID, ACCEPTING_DESCRIPTION, CheckStatus.PASSED, ACCEPTING_PASSED)
        ]
        for criterion in criteria:
            checks.append(_run(criterion, context))
        return decide(checks, now=now, criteria_version=criteria_version)


def _run(criterion: CompiledCriterion, context: dict[str, Any]) -> Check:
    description = criterion.description or criterion.id
    try:
        passed = truthy(criterion.predicate(context))
    except Exception as exc:  # a rule that cannot be evaluated on this data is an error, not a pass
        return Check(
            criterion.id,
            description,
            CheckStatus.ERROR,
            f"{criterion.reason} (the rule could not be evaluated: {exc})",
        )
    if passed:
        return Check(criterion.id, description, CheckStatus.PASSED, criterion.pass_reason)
    return Check(criterion.id, description, CheckStatus.FAILED, criterion.reason)


default_evaluator: Evaluator = RulesEvaluator()
