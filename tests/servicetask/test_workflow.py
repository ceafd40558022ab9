"""The service-task transition table (workflows/service_task.py): pure, no database."""

from __future__ import annotations

import pytest

from enroll.workflows.service_task import (
    BEFORE_SETUP,
    ERROR_STATES,
    RETRY,
    TERMINAL,
    TRANSITIONS,
    TaskKind,
    TaskState,
    can_move,
    error_state_of,
    may,
    operations,
)

T = TaskState


def reachable(kind: TaskKind, start: TaskState) -> set[TaskState]:
    seen, todo = set(), [start]
    while todo:
        state = todo.pop()
        for target in TRANSITIONS[kind].get(state, frozenset()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("kind", list(TaskKind))
def test_no_state_after_setup_device_leads_back_before_setup(kind: TaskKind) -> None:
    # The event snapshot skips the setup-action lookup for tasks leaving BEFORE_SETUP states:
    # right only while setup_device (the step that creates actions) never leads back there.
    assert T.SETUP_DEVICE not in BEFORE_SETUP
    assert not reachable(kind, T.SETUP_DEVICE) & BEFORE_SETUP
    assert reachable(kind, T.PENDING) >= {T.SETUP_DEVICE, T.COMPLETED}


@pytest.mark.parametrize("kind", list(TaskKind))
def test_terminal_states_lead_nowhere_and_everything_else_can_be_canceled(kind: TaskKind) -> None:
    for state in TaskState:
        if state in TERMINAL:
            assert not TRANSITIONS[kind].get(state)
        elif state in TRANSITIONS[kind]:
            assert can_move(kind, state, T.CANCELED)


def test_errors_retry_the_step_that_failed_or_are_discarded() -> None:
    for error, step in RETRY.items():
        assert error_state_of(step) == error
        for kind in TaskKind:
            if error in TRANSITIONS[kind]:
                assert can_move(kind, error, step) and can_move(kind, error, T.DISCARDED)
                assert operations(kind, error) == ["retry", "discard", "cancel"]
    assert error_state_of(T.AWAITING_DEVICE_SETUP) == T.DEVICE_SETUP_ERROR
    with pytest.raises(ValueError):
        error_state_of(T.COMPLETED)


def test_the_two_kinds_differ_where_the_seed_says() -> None:
    enrollment, unenrollment = TaskKind.ENROLLMENT, TaskKind.UNENROLLMENT
    assert can_move(enrollment, T.VALIDATE, T.CHECK_ELIGIBILITY)
    assert not can_move(unenrollment, T.VALIDATE, T.CHECK_ELIGIBILITY)
    assert can_move(unenrollment, T.VALIDATE, T.APPROVAL_IN_PROGRESS)
    assert not can_move(enrollment, T.VALIDATE, T.APPROVAL_IN_PROGRESS)
    assert operations(unenrollment, T.APPROVAL_IN_PROGRESS) == ["cancel", "approve", "reject"]
    assert not ERROR_STATES & TERMINAL
    assert not can_move(enrollment, T.PENDING, T.COMPLETED)


def test_operations_a_person_may_take_written_out() -> None:
    # Independent of the table: errors retry or are discarded, every unfinished state may be
    # canceled, and only an unenrollment waiting for approval is approved or rejected.
    T = TaskState
    for kind in TaskKind:
        states = set(TRANSITIONS[kind]) | {t for ts in TRANSITIONS[kind].values() for t in ts}
        for state in states:
            expected = set()
            if state in {
                T.VALIDATION_ERROR,
                T.ELIGIBILITY_ERROR,
                T.ENROLLMENT_SETUP_ERROR,
                T.DEVICE_SETUP_ERROR,
            }:
                expected |= {"retry", "discard"}
            if state not in {T.COMPLETED, T.DISCARDED, T.CANCELED}:
                expected.add("cancel")
            if kind == TaskKind.UNENROLLMENT and state == T.APPROVAL_IN_PROGRESS:
                expected |= {"approve", "reject"}
            for operation in ("retry", "discard", "cancel", "approve", "reject"):
                assert may(kind, state, operation) == (operation in expected), (kind, state)
