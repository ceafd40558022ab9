"""Eligibility decisions behind one interface.

``Evaluator.evaluate`` takes what is known about a candidate and its program and returns a
``Decision`` with one ``Check`` per criterion. The built-in evaluator below holds the core
checks (instance accepting, service area, equipment); the rules engine replaces it by providing
another ``Evaluator``, without touching the enrollment service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


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

    def as_json(self) -> dict[str, Any]:
        return {
            "checks": [c.as_json() for c in self.checks],
            "evaluatedAt": self.evaluated_at.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """The facts about the person being evaluated."""

    address: dict[str, Any] | None
    manufacturer_slugs: Sequence[str]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProgramFacts:
    """What the program and its instance ask for, and whether the instance is open."""

    states: Sequence[str]
    manufacturer_slugs: Sequence[str]
    refusal_reason: str | None


class Evaluator(Protocol):
    def evaluate(
        self, *, candidate: Candidate, program: ProgramFacts, now: datetime
    ) -> Decision: ...


def decide(checks: Sequence[Check], *, now: datetime) -> Decision:
    """Ineligible with the first failing check's reason, else eligible with what qualified."""
    for check in checks:
        if check.status in (CheckStatus.FAILED, CheckStatus.ERROR):
            return Decision(False, check.reason or check.description, checks, now)
    passed = [c.reason or c.description for c in checks if c.status == CheckStatus.PASSED]
    return Decision(True, "; ".join(passed) or "Meets all program requirements", checks, now)


class BuiltinEvaluator:
    def evaluate(self, *, candidate: Candidate, program: ProgramFacts, now: datetime) -> Decision:
        checks = [_accepting(program)]
        if program.states:
            checks.append(_service_area(candidate, program))
        if program.manufacturer_slugs:
            checks.append(_equipment(candidate, program))
        return decide(checks, now=now)


def _accepting(program: ProgramFacts) -> Check:
    if program.refusal_reason:
        return Check(
            "instance-accepting",
            "Program instance accepting enrollments",
            CheckStatus.FAILED,
            program.refusal_reason,
        )
    return Check(
        "instance-accepting",
        "Program instance accepting enrollments",
        CheckStatus.PASSED,
        "Program accepting enrollments",
    )


def _service_area(candidate: Candidate, program: ProgramFacts) -> Check:
    state = str((candidate.address or {}).get("state") or "").strip().upper()
    description = "Address within the program's service area"
    if state and state in {s.upper() for s in program.states}:
        return Check(
            "service-area", description, CheckStatus.PASSED, f"In service territory ({state})"
        )
    return Check("service-area", description, CheckStatus.FAILED, "Outside service area")


def _equipment(candidate: Candidate, program: ProgramFacts) -> Check:
    supported = {m.lower() for m in program.manufacturer_slugs}
    matched = sorted(m for m in candidate.manufacturer_slugs if m.lower() in supported)
    description = "Owns equipment from a supported manufacturer"
    if matched:
        return Check(
            "equipment",
            description,
            CheckStatus.PASSED,
            f"Has supported equipment ({', '.join(matched)})",
        )
    return Check("equipment", description, CheckStatus.FAILED, "Incompatible equipment")


default_evaluator: Evaluator = BuiltinEvaluator()
