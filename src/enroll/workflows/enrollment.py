"""The enrollment state machine: the only place that decides what may follow what (pure).

    candidate ─evaluate─▶ eligible ─submit─▶ submitted ─approve─▶ approved ─unenroll─▶ unenrolled
        │                      │                     ├──reject──▶ rejected
        │                      │                     └──markUnprocessable──▶ unprocessable
        └──evaluate──▶ ineligible          (candidate|eligible|submitted) ──cancel──▶ cancelled

Three ends of an application that is not approved, each its own (seed 004): the applicant
withdrew (cancelled), a reviewer found they do not qualify (rejected), or a reviewer cannot
process what was submitted (unprocessable: terminal, criteria changes do not reopen it).

A person may ``decide`` instead of the rules (manual screening): candidate ─decide─▶ eligible
or ineligible, and eligible ◀─decide─▶ ineligible overrides what the rules decided.

Rejected and ineligible are terminal except through ``reevaluate``; a rejected one (a
reviewer's decision, ``CRITERIA_BOUND``) only under criteria newer than it was rejected under.
An eligible enrollment whose asynchronous check fails (or misses its deadline) is evaluated
again by the platform: ``eligible ─evaluate─▶ ineligible``. An approved enrollment whose setup
(its service task) is canceled or discarded before it completed never started:
``approved ─abandon─▶ cancelled``, taken only by the platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Status(StrEnum):
    CANDIDATE = "candidate"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    UNENROLLED = "unenrolled"
    CANCELLED = "cancelled"
    UNPROCESSABLE = "unprocessable"


class Action(StrEnum):
    EVALUATE = "evaluate"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    UNENROLL = "unenroll"
    CANCEL = "cancel"
    REEVALUATE = "reevaluate"
    ABANDON = "abandon"
    DECIDE = "decide"
    MARK_UNPROCESSABLE = "markUnprocessable"  # a value is its route's name


S, A = Status, Action
_DECIDED = frozenset({S.ELIGIBLE, S.INELIGIBLE})

TRANSITIONS: Mapping[tuple[Status, Action], frozenset[Status]] = {
    (S.CANDIDATE, A.EVALUATE): _DECIDED,
    # An asynchronous check failed after the synchronous ones passed.
    (S.ELIGIBLE, A.EVALUATE): frozenset({S.INELIGIBLE}),
    (S.ELIGIBLE, A.SUBMIT): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, A.APPROVE): frozenset({S.APPROVED}),
    (S.SUBMITTED, A.REJECT): frozenset({S.REJECTED}),
    (S.SUBMITTED, A.MARK_UNPROCESSABLE): frozenset({S.UNPROCESSABLE}),
    (S.APPROVED, A.UNENROLL): frozenset({S.UNENROLLED}),
    (S.CANDIDATE, A.CANCEL): frozenset({S.CANCELLED}),
    (S.ELIGIBLE, A.CANCEL): frozenset({S.CANCELLED}),
    (S.SUBMITTED, A.CANCEL): frozenset({S.CANCELLED}),
    (S.CANDIDATE, A.REEVALUATE): _DECIDED,
    (S.ELIGIBLE, A.REEVALUATE): _DECIDED,
    (S.INELIGIBLE, A.REEVALUATE): _DECIDED,
    (S.REJECTED, A.REEVALUATE): _DECIDED,
    (S.APPROVED, A.ABANDON): frozenset({S.CANCELLED}),
    # A person screens (seed 000: "manual evaluation"): a candidate, or overrides the rules.
    (S.CANDIDATE, A.DECIDE): _DECIDED,
    (S.ELIGIBLE, A.DECIDE): frozenset({S.INELIGIBLE}),
    (S.INELIGIBLE, A.DECIDE): frozenset({S.ELIGIBLE}),
}

# Taken by the platform itself, never offered through the API.
INTERNAL_ACTIONS = frozenset({A.EVALUATE, A.ABANDON})
# Actions that need a human reason, and actions reserved to reviewers.
REASON_REQUIRED = frozenset({A.REJECT, A.UNENROLL, A.DECIDE, A.MARK_UNPROCESSABLE})
REVIEW_ACTIONS = frozenset({A.APPROVE, A.REJECT, A.DECIDE, A.MARK_UNPROCESSABLE})
# While in one of these, the customer holds the instance: a second enrollment is refused.
OPEN_STATUSES = frozenset({S.CANDIDATE, S.ELIGIBLE, S.INELIGIBLE, S.SUBMITTED, S.APPROVED})
CLOSED_STATUSES = frozenset(Status) - OPEN_STATUSES
# What re-evaluation may move (the bulk path moves these too, reevaluation.py).
REEVALUABLE = frozenset(s for (s, action) in TRANSITIONS if action == A.REEVALUATE)
# Only a person's decision leads there, and re-evaluation may undo it (rejected): only new
# criteria reopen it, never those it was decided under. Derived from the table, for every path.
_BY_RULES = frozenset(
    target
    for (_, action), reached in TRANSITIONS.items()
    if action not in REVIEW_ACTIONS
    for target in reached
)
CRITERIA_BOUND = frozenset(
    target
    for reached in TRANSITIONS.values()
    for target in reached
    if target not in _BY_RULES and (target, A.REEVALUATE) in TRANSITIONS
)


class InvalidTransition(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        super().__init__(f"cannot {action} an enrollment that is {status}")
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status)


def allowed_actions(status: Status) -> list[Action]:
    return [a for a in Action if (status, a) in TRANSITIONS]


def targets(status: Status, action: Action) -> frozenset[Status]:
    """The statuses ``action`` may lead to from ``status``; raises when it may not be taken."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(status, action) from None


def setup_ended_action(status: Status) -> Action | None:
    """The action that ends an enrollment whose setup was given up before it completed: cancel
    while it is an open application, abandon once approved; None where neither leads away."""
    return next((a for a in (A.CANCEL, A.ABANDON) if (status, a) in TRANSITIONS), None)


def transition(status: Status, action: Action, target: Status) -> Status:
    if target not in targets(status, action):
        raise InvalidTransition(status, action)
    return target
