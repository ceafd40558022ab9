"""The enrollment transition table, exhaustively, without a database.

The expectations are written out from the seed's rules independently of the table itself, so
a change to the table that breaks a rule fails here.
"""

from __future__ import annotations

import itertools

import pytest

from enroll.enrollment import reevaluation
from enroll.workflows.enrollment import (
    CRITERIA_BOUND,
    OPEN_STATUSES,
    REASON_REQUIRED,
    REEVALUABLE,
    REVIEW_ACTIONS,
    TRANSITIONS,
    Action,
    InvalidTransition,
    Status,
    allowed_actions,
    setup_ended_action,
    targets,
    transition,
)
from enroll.workflows.program_instance import InstanceStatus, can_move

S, A = Status, Action
DECIDED = {S.ELIGIBLE, S.INELIGIBLE}

EXPECTED: dict[tuple[Status, Action], set[Status]] = {
    # Eligibility check: a candidate becomes eligible or ineligible.
    (S.CANDIDATE, A.EVALUATE): DECIDED,
    # An asynchronous check fails after the synchronous ones passed (never the other way).
    (S.ELIGIBLE, A.EVALUATE): {S.INELIGIBLE},
    # 1. Only eligible enrollments can be moved to submitted.
    (S.ELIGIBLE, A.SUBMIT): {S.SUBMITTED},
    # 2. Only submitted enrollments can be approved or rejected.
    (S.SUBMITTED, A.APPROVE): {S.APPROVED},
    (S.SUBMITTED, A.REJECT): {S.REJECTED},
    # Seed 004: a reviewer cannot process what was submitted (not "did not qualify").
    (S.SUBMITTED, A.MARK_UNPROCESSABLE): {S.UNPROCESSABLE},
    # 3. Only approved enrollments can be unenrolled.
    (S.APPROVED, A.UNENROLL): {S.UNENROLLED},
    # Customer withdrawal before a decision.
    (S.CANDIDATE, A.CANCEL): {S.CANCELLED},
    (S.ELIGIBLE, A.CANCEL): {S.CANCELLED},
    (S.SUBMITTED, A.CANCEL): {S.CANCELLED},
    # 4. Rejected and ineligible are terminal unless the criteria change (re-evaluation).
    (S.CANDIDATE, A.REEVALUATE): DECIDED,
    (S.ELIGIBLE, A.REEVALUATE): DECIDED,
    (S.INELIGIBLE, A.REEVALUATE): DECIDED,
    (S.REJECTED, A.REEVALUATE): DECIDED,
    # An approved enrollment whose setup was canceled or discarded never started (platform only).
    (S.APPROVED, A.ABANDON): {S.CANCELLED},
    # Seed 000: eligible "through system or manual evaluation": a person screens a candidate,
    # or overrides the rules' decision.
    (S.CANDIDATE, A.DECIDE): DECIDED,
    (S.ELIGIBLE, A.DECIDE): {S.INELIGIBLE},
    (S.INELIGIBLE, A.DECIDE): {S.ELIGIBLE},
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(Status, Action)))
def test_every_status_action_pair(status: Status, action: Action) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            targets(status, action)
        assert info.value.status == status and info.value.action == action
        assert action not in info.value.allowed
        for target in Status:
            with pytest.raises(InvalidTransition):
                transition(status, action, target)
    else:
        assert set(targets(status, action)) == expected
        for target in Status:
            if target in expected:
                assert transition(status, action, target) == target
            else:
                with pytest.raises(InvalidTransition):
                    transition(status, action, target)


def test_table_has_nothing_beyond_the_rules() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize("status", list(Status))
def test_allowed_actions_match_the_table(status: Status) -> None:
    assert set(allowed_actions(status)) == {a for (s, a) in EXPECTED if s == status}


def test_terminal_statuses() -> None:
    for status in (S.UNENROLLED, S.CANCELLED, S.UNPROCESSABLE):
        assert allowed_actions(status) == []
    # Only re-evaluation leaves rejected; re-evaluation or a person's decision ineligible.
    assert allowed_actions(S.REJECTED) == [A.REEVALUATE]
    assert allowed_actions(S.INELIGIBLE) == [A.REEVALUATE, A.DECIDE]


def test_reason_review_and_open_sets() -> None:
    assert {A.REJECT, A.UNENROLL, A.DECIDE, A.MARK_UNPROCESSABLE} == REASON_REQUIRED
    assert {A.APPROVE, A.REJECT, A.DECIDE, A.MARK_UNPROCESSABLE} == REVIEW_ACTIONS
    assert {S.CANDIDATE, S.ELIGIBLE, S.INELIGIBLE, S.SUBMITTED, S.APPROVED} == OPEN_STATUSES


def test_only_rejected_is_bound_to_its_criteria() -> None:
    # Terminal "unless criteria change" (seed 000): a status only a person's decision reaches
    # and re-evaluation may leave. Ineligible is reached by the rules too: new data reopens it.
    assert frozenset({S.REJECTED}) == CRITERIA_BOUND


def test_a_given_up_setup_ends_the_enrollment_by_cancel_or_abandon() -> None:
    expected = {
        S.CANDIDATE: A.CANCEL,
        S.ELIGIBLE: A.CANCEL,
        S.SUBMITTED: A.CANCEL,
        S.APPROVED: A.ABANDON,
    }
    assert {s: setup_ended_action(s) for s in S} == {s: expected.get(s) for s in S}


def test_bulk_reevaluation_sets_come_from_the_table() -> None:
    # Written out here, independently of the table the module derives them from.
    assert {S.CANDIDATE, S.ELIGIBLE, S.INELIGIBLE, S.REJECTED} == REEVALUABLE
    assert (S.CANDIDATE, S.ELIGIBLE, S.INELIGIBLE) == reevaluation.MOVABLE
    assert (S.REJECTED,) == reevaluation.CRITERIA_BOUND_MOVABLE
    assert (S.SUBMITTED, S.APPROVED) == reevaluation.NOT_DEMOTED


INSTANCE_MOVES = {
    (InstanceStatus.DRAFT, InstanceStatus.ACTIVE),
    (InstanceStatus.ACTIVE, InstanceStatus.PAUSED),
    (InstanceStatus.PAUSED, InstanceStatus.ACTIVE),
    (InstanceStatus.ACTIVE, InstanceStatus.CLOSED),
    (InstanceStatus.PAUSED, InstanceStatus.CLOSED),
    (InstanceStatus.CLOSED, InstanceStatus.ARCHIVED),
}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(InstanceStatus, InstanceStatus))
)
def test_instance_lifecycle(current: InstanceStatus, target: InstanceStatus) -> None:
    assert can_move(current, target) == (current == target or (current, target) in INSTANCE_MOVES)
