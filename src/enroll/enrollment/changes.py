"""How a change of an enrollment is written, for every use case (service.py, async_answers.py):
the decision applied, a status move checked against the workflow table, then the history rows,
the events and the notifications a status change triggers, all in the caller's transaction.

Every status change goes through ``move``, which asks the workflow table (the only judge),
records the history row and queues the events; ``emit`` writes them once the enrollment is
final. A stored decision with pending (asynchronous) checks queues their jobs
(``queue_async_checks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import async_checks
from enroll.eligibility import service as eligibility
from enroll.eligibility.checks import CheckStatus, Decision, Evaluator
from enroll.eligibility.criteria import compile_criteria
from enroll.enrollment import repository
from enroll.enrollment.schemas import EnrollmentOut
from enroll.event import service as events
from enroll.ids import new_id
from enroll.kit.codegen import define
from enroll.models import Enrollment, ProgramInstance
from enroll.models.enrollment_fields import FIELDS
from enroll.notification import service as notifications
from enroll.program_instance.schemas import Screening
from enroll.workflows.enrollment import Action, InvalidTransition, Status, targets


@dataclass
class Pending:
    """History rows and events to write for one enrollment once its final state is known."""

    enrollment: Enrollment
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        previous: Status | None,
        target: Status,
        action: str,
        reason: str | None,
        actor: str,
        now: datetime,
    ) -> None:
        self.history.append(
            {
                "id": new_id(),
                "workspace_id": self.enrollment.workspace_id,
                "enrollment_id": self.enrollment.id,
                "from_status": previous.value if previous else None,
                "to_status": target.value,
                "action": action,
                "reason": reason,
                "actor": actor,
                "at": now,
            }
        )


async def evaluate(
    session: AsyncSession,
    enrollment: Enrollment,
    instance: ProgramInstance,
    *,
    refusal: str | None,
    now: datetime,
    evaluator: Evaluator,
) -> Decision:
    return await eligibility.decide(
        session,
        instance=instance,
        fields=rule_fields(enrollment),
        customer_id=enrollment.customer_id,
        refusal=refusal,
        now=now,
        exclude_enrollment_id=enrollment.id,
        evaluator=evaluator,
        service_location_id=enrollment.service_location_id,
    )


# The enrollment's fields as the rule context names them (models/enrollment_fields.py):
# rule_fields(enrollment) == {"identificationType": enrollment.identification_type,
# "firstName": enrollment.first_name, ...}, written out as that literal (kit/codegen.py).
_RULE_FIELDS = [("identificationType", "identification_type")]
_RULE_FIELDS += [(f.name, f.attr) for f in FIELDS if f.rule]
rule_fields: Callable[[Enrollment], dict[str, Any]] = define(
    "rule_fields",
    "def rule_fields(enrollment):\n    return {\n"
    + "".join(f"        {name!r}: enrollment.{attr},\n" for name, attr in _RULE_FIELDS)
    + "    }\n",
    {},
)


def apply_decision(
    pending: Pending,
    decision: Decision,
    action: Action,
    actor: str,
    now: datetime,
    *,
    instance: ProgramInstance,
) -> None:
    """Store the decision and move to where it leads; under manual screening it is advice
    for the person who decides, and the status stays."""
    enrollment = pending.enrollment
    target = Status.ELIGIBLE if decision.eligible else Status.INELIGIBLE
    enrollment.eligibility = decision.as_json()
    enrollment.eligibility_reason = decision.reason
    if instance.screening == Screening.MANUAL:
        if all(kind != "enrollment.created" for kind, _ in pending.items):
            pending.items.append(("enrollment.updated", {"changedFields": ["eligibility"]}))
        return
    if target != enrollment.status:
        move(pending, target, action, decision.reason, actor, now, changed=["eligibility"])
    else:
        pending.items.append(("enrollment.updated", {"changedFields": ["eligibility"]}))


async def queue_async_checks(
    session: AsyncSession,
    enrollment: Enrollment,
    instance: ProgramInstance,
    decision: Decision,
    *,
    now: datetime,
) -> None:
    """One job per pending check of the decision just stored (none when a sync check failed)."""
    if not any(c.status == CheckStatus.PENDING for c in decision.checks):
        return
    await async_checks.enqueue_many(
        session,
        workspace_id=enrollment.workspace_id,
        enrollments=[(enrollment.id, enrollment.eligibility["evaluatedAt"])],
        criteria=compile_criteria(eligibility.effective(instance)),  # cached by content
        criteria_version=decision.criteria_version,
        now=now,
    )


def move(
    pending: Pending,
    target: Status,
    action: Action,
    reason: str | None,
    actor: str,
    now: datetime,
    *,
    changed: list[str] | None = None,
) -> None:
    """Move to ``target``: history, ``status_changed`` and ``enrollment.<target>``, and (once
    it existed before this request) ``enrollment.updated`` naming ``status`` and ``changed``."""
    enrollment = pending.enrollment
    previous = Status(enrollment.status)
    if target not in targets(previous, action):  # the table is the only judge
        raise InvalidTransition(previous, action)
    enrollment.status = target.value
    pending.record(previous, target, action.value, reason, actor, now)
    change = {"previousStatus": previous.value, "status": target.value, "reason": reason}
    pending.items += [("enrollment.status_changed", change), (f"enrollment.{target.value}", change)]
    if all(kind != "enrollment.created" for kind, _ in pending.items):
        fields = ["status", *(changed or [])]
        pending.items.append(("enrollment.updated", {"changedFields": fields}))


async def emit(session: AsyncSession, pending: Pending, now: datetime) -> None:
    if pending.history:
        await repository.insert_history(session, pending.history)
    if not pending.items:
        return
    snapshot = EnrollmentOut.of(pending.enrollment).model_dump(mode="json", by_alias=True)
    await events.record(
        session,
        workspace_id=pending.enrollment.workspace_id,
        occurred_at=now,
        events=[
            events.NewEvent(
                type=kind, data={"object": snapshot, **extra}, subject_id=snapshot["id"]
            )
            for kind, extra in pending.items
        ],
    )
    if pending.history:  # a status change: the notifications it triggers (one indexed query)
        await notifications.status_changed(
            session,
            pending.enrollment,
            snapshot,
            previous=pending.history[-1]["from_status"],
            now=now,
        )
