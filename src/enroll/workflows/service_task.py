"""The service-task state machine (seed 002): the only place that decides what may follow what.

Enrollment:   pending → validate → check_eligibility → setup_enrollment → setup_device
              → awaiting_device_setup → completed
Unenrollment: pending → validate → [approval_in_progress] → setup_device
              → awaiting_device_setup → completed

A state names the step that is due: the worker (the seed's "monitor process") does that step's
work and moves the task on in one transaction. Each working state has an error state; ``retry``
goes back to the step that failed. ``discard`` ends a task in an error state, ``cancel`` ends
any task that has not finished. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class TaskKind(StrEnum):
    ENROLLMENT = "enrollment"
    UNENROLLMENT = "unenrollment"


class TaskState(StrEnum):
    PENDING = "pending"
    VALIDATE = "validate"
    VALIDATION_ERROR = "validation_error"
    CHECK_ELIGIBILITY = "check_eligibility"
    ELIGIBILITY_ERROR = "eligibility_error"
    SETUP_ENROLLMENT = "setup_enrollment"
    ENROLLMENT_SETUP_ERROR = "enrollment_setup_error"
    APPROVAL_IN_PROGRESS = "approval_in_progress"
    SETUP_DEVICE = "setup_device"
    DEVICE_SETUP_ERROR = "device_setup_error"
    AWAITING_DEVICE_SETUP = "awaiting_device_setup"
    COMPLETED = "completed"
    DISCARDED = "discarded"
    CANCELED = "canceled"


class ActionStatus(StrEnum):
    """A setup action's: pending until its turn, in_progress while the device is asked."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class TodoStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


T = TaskState
TERMINAL = frozenset({T.COMPLETED, T.DISCARDED, T.CANCELED})
# Each error state, and the step a retry runs again.
RETRY: Mapping[TaskState, TaskState] = {
    T.VALIDATION_ERROR: T.VALIDATE,
    T.ELIGIBILITY_ERROR: T.CHECK_ELIGIBILITY,
    T.ENROLLMENT_SETUP_ERROR: T.SETUP_ENROLLMENT,
    T.DEVICE_SETUP_ERROR: T.SETUP_DEVICE,
}
ERROR_STATES = frozenset(RETRY)
# States the worker leaves on its own; the others wait for a person or another system.
WORKING = frozenset(
    {T.PENDING, T.VALIDATE, T.CHECK_ELIGIBILITY, T.SETUP_ENROLLMENT, T.SETUP_DEVICE}
)

# The states a task holds before its setup_device step first runs. Only that step creates setup
# actions, and no state after it leads back here, so a task moving on from one of these has
# none (the event snapshot need not look; tests/servicetask/test_workflow.py checks the table
# agrees).
BEFORE_SETUP = frozenset(
    {
        T.PENDING,
        T.VALIDATE,
        T.VALIDATION_ERROR,
        T.CHECK_ELIGIBILITY,
        T.ELIGIBILITY_ERROR,
        T.SETUP_ENROLLMENT,
        T.ENROLLMENT_SETUP_ERROR,
        T.APPROVAL_IN_PROGRESS,
    }
)

_ENROLLMENT: Mapping[TaskState, frozenset[TaskState]] = {
    T.PENDING: frozenset({T.VALIDATE}),
    T.VALIDATE: frozenset({T.CHECK_ELIGIBILITY, T.VALIDATION_ERROR}),
    T.CHECK_ELIGIBILITY: frozenset({T.SETUP_ENROLLMENT, T.ELIGIBILITY_ERROR}),
    T.SETUP_ENROLLMENT: frozenset({T.SETUP_DEVICE, T.ENROLLMENT_SETUP_ERROR}),
    T.SETUP_DEVICE: frozenset({T.AWAITING_DEVICE_SETUP, T.DEVICE_SETUP_ERROR}),
    T.AWAITING_DEVICE_SETUP: frozenset({T.COMPLETED, T.DEVICE_SETUP_ERROR}),
}
_UNENROLLMENT: Mapping[TaskState, frozenset[TaskState]] = {
    T.PENDING: frozenset({T.VALIDATE}),
    T.VALIDATE: frozenset({T.APPROVAL_IN_PROGRESS, T.SETUP_DEVICE, T.VALIDATION_ERROR}),
    T.APPROVAL_IN_PROGRESS: frozenset({T.SETUP_DEVICE}),
    T.SETUP_DEVICE: frozenset({T.AWAITING_DEVICE_SETUP, T.DEVICE_SETUP_ERROR}),
    T.AWAITING_DEVICE_SETUP: frozenset({T.COMPLETED, T.DEVICE_SETUP_ERROR}),
}


def _with_operations(
    steps: Mapping[TaskState, frozenset[TaskState]],
) -> Mapping[TaskState, frozenset[TaskState]]:
    """Add what people may do: retry and discard an error, cancel anything unfinished."""
    states = set(steps) | {s for targets in steps.values() for s in targets}
    table: dict[TaskState, frozenset[TaskState]] = {}
    for state in states - TERMINAL:
        extra = {RETRY[state], T.DISCARDED} if state in RETRY else set()
        table[state] = steps.get(state, frozenset()) | extra | {T.CANCELED}
    return table


TRANSITIONS: Mapping[TaskKind, Mapping[TaskState, frozenset[TaskState]]] = {
    TaskKind.ENROLLMENT: _with_operations(_ENROLLMENT),
    TaskKind.UNENROLLMENT: _with_operations(_UNENROLLMENT),
}


class InvalidTaskTransition(Exception):
    def __init__(self, kind: TaskKind, state: TaskState, target: TaskState) -> None:
        super().__init__(f"an {kind} task cannot go from {state} to {target}")
        self.kind, self.state, self.target = kind, state, target


def can_move(kind: TaskKind, state: TaskState, target: TaskState) -> bool:
    return target in TRANSITIONS[kind].get(state, frozenset())


def check_move(kind: TaskKind, state: TaskState, target: TaskState) -> None:
    if not can_move(kind, state, target):
        raise InvalidTaskTransition(kind, state, target)


def error_state_of(step: TaskState) -> TaskState:
    """The error state a failing ``step`` ends in."""
    for error, retried in RETRY.items():
        if retried == step:
            return error
    if step == T.AWAITING_DEVICE_SETUP:  # an action failed
        return T.DEVICE_SETUP_ERROR
    raise ValueError(f"{step} has no error state")


def operations(kind: TaskKind, state: TaskState) -> list[str]:
    """What a person may do now: the names of the operation routes."""
    allowed = TRANSITIONS[kind].get(state, frozenset())
    names = []
    if state in RETRY:
        names.append("retry")
    if T.DISCARDED in allowed:
        names.append("discard")
    if T.CANCELED in allowed:
        names.append("cancel")
    if state == T.APPROVAL_IN_PROGRESS:
        names += ["approve", "reject"]
    return names


def may(kind: TaskKind, state: TaskState, operation: str) -> bool:
    """Whether a person may take ``operation`` (retry, discard, cancel, approve, reject) now."""
    return operation in operations(kind, state)
