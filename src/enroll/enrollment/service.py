"""Enrollment use cases: create (four identification types), update, delete and transitions.

Every change is written through changes.py (history rows, events, notifications, the jobs of
pending checks) in the caller's transaction; the answers of asynchronous checks are
async_answers.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import repository as customers_repo
from enroll.customer import service as customers
from enroll.eligibility.checks import Decision, Evaluator, default_evaluator
from enroll.enrollment import acceptance, changes, identification, repository, requirement_check
from enroll.enrollment.errors import (
    CriteriaUnchanged,
    EnrollmentExists,
    EnrollmentHasConsent,
    EnrollmentHasSubscription,
    InstanceNotAccepting,
    LeadIncomplete,
)
from enroll.enrollment.schemas import (
    EnrollmentCreate,
    EnrollmentUpdate,
    IdentificationType,
)
from enroll.errors import FieldError, InvalidTransition
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.kit.codegen import define
from enroll.models import Enrollment, EnrollmentConsent, ProgramInstance
from enroll.models.enrollment_fields import FIELDS, Kind
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ReviewMode
from enroll.vault.keyring import KeyRing
from enroll.workflows.enrollment import (
    CRITERIA_BOUND,
    INTERNAL_ACTIONS,
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    Status,
    targets,
)
from enroll.workflows.enrollment import InvalidTransition as NoTransition

AUTO_APPROVE_JOB = "enrollment.auto_approve"
PLATFORM = "platform"  # the actor of what the platform does by itself (submitWhenComplete)
# Actions whose reason becomes the enrollment's eligibilityReason.
_REASON_KEPT = frozenset(
    {Action.REJECT, Action.UNENROLL, Action.CANCEL, Action.ABANDON, Action.MARK_UNPROCESSABLE}
)


class AutoApprovePayload(Payload):
    enrollment_id: str


async def get(session: AsyncSession, *, workspace_id: str, enrollment_id: str) -> Enrollment:
    return await repository.enrollments.require(
        session, workspace_id=workspace_id, id=enrollment_id
    )


# --- create ---------------------------------------------------------------------------------


async def create(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_ref: str,
    body: EnrollmentCreate,
    actor: str,
    now: datetime,
    evaluator: Evaluator = default_evaluator,
    evaluate: bool = True,
    ring: KeyRing | None = None,
) -> tuple[Enrollment, bool]:
    """The enrollment and whether it is new (identificationType enrollmentId names one of
    this instance's: that one is updated instead). Under manual screening it stays candidate
    with the rules' checks as advice; without ``evaluate`` it stays candidate unevaluated.
    The applicant's data is stored on its customer (``ring`` seals a tax id); ``create``
    requirements unmet refuse it (requirement_check.py)."""
    instance = await instances.get(session, workspace_id=workspace_id, ref=instance_ref)
    identification.check(body)
    if body.identification_type == IdentificationType.ENROLLMENT_ID:
        source = await get(
            session, workspace_id=workspace_id, enrollment_id=body.enrollment_id or ""
        )
        if source.program_instance_id == instance.id:
            # "For updating existing enrollments" (seed 000): this one, not a copy.
            return await _update_by_id(
                session, source, body, actor=actor, now=now, evaluator=evaluator
            ), False
    refusal = await instances.refusal_reason(session, instance, today=now.date())
    if refusal:
        raise InstanceNotAccepting(refusal)
    values, new_customer = await identity(session, workspace_id=workspace_id, body=body, now=now)
    values.update(sent_fields(body))
    accepted = await acceptance.check(
        session, instance=instance, body=body, applicant=values, now=now
    )
    values.update(accepted.values)
    customer_id = values.get("customer_id")
    if customer_id and not new_customer:  # a customer made just now holds nothing yet
        await _refuse_second_open(session, instance.id, customer_id)
    enrollment = _new(instance, body, values, now=now)
    met = await requirement_check.admit(session, enrollment, instance, body, ring=ring, now=now)
    consents = accepted.attach(enrollment, now=now)
    pending = changes.Pending(enrollment, [("enrollment.created", accepted.event)])
    pending.record(None, Status.CANDIDATE, "create", None, actor, now)
    decision = None
    if evaluate:
        decision = await changes.evaluate(
            session, enrollment, instance, refusal=None, now=now, evaluator=evaluator
        )
        changes.apply_decision(pending, decision, Action.EVALUATE, actor, now, instance=instance)
    return await _write(session, enrollment, instance, pending, decision, consents, met, now), True


async def _write(
    session: AsyncSession,
    enrollment: Enrollment,
    instance: ProgramInstance,
    pending: changes.Pending,
    decision: Decision | None,
    consents: list[EnrollmentConsent],
    met: requirement_check.Outcome | None,
    now: datetime,
) -> Enrollment:
    """A new enrollment, decided, written: the row, its consents, history and events, the
    jobs of its pending checks; and its submission where its requirements say so."""
    if met is not None and met.completed:
        pending.items.append(("enrollment.requirements_completed", {}))
    await _insert(session, enrollment)
    for consent in consents:
        await repository.insert_consent(session, consent)
    await changes.emit(session, pending, now)
    if decision is not None:
        await changes.queue_async_checks(session, enrollment, instance, decision, now=now)
    if requirement_check.submits(instance, enrollment, met):
        # The inserted row is not in the session (repository.insert): act loads it.
        return await act(
            session,
            workspace_id=enrollment.workspace_id,
            enrollment_id=enrollment.id,
            action=Action.SUBMIT,
            reason=None,
            actor=PLATFORM,
            now=now,
        )
    return enrollment


def _new(
    instance: ProgramInstance, body: EnrollmentCreate, values: dict[str, Any], *, now: datetime
) -> Enrollment:
    return Enrollment(
        id=new_id(),  # known before the insert: history rows and events point at it
        workspace_id=instance.workspace_id,
        program_instance_id=instance.id,
        identification_type=body.identification_type.value,
        status=Status.CANDIDATE.value,
        eligibility={},
        created_at=now,
        updated_at=now,
        version=1,
        **{**empty_values(), **values},
    )


async def _insert(session: AsyncSession, enrollment: Enrollment) -> None:
    """Decided before it is written: one INSERT in its final state."""
    try:
        await repository.insert(session, enrollment)
    except IntegrityError:
        # Lost a race with a concurrent request enrolling the same customer.
        raise EnrollmentExists(
            "The customer already holds an open enrollment in this program instance.",
        ) from None


async def _refuse_second_open(session: AsyncSession, instance_id: str, customer_id: str) -> None:
    existing = await repository.open_enrollment_id(
        session, instance_id=instance_id, customer_id=customer_id
    )
    if existing:
        raise EnrollmentExists(
            "The customer already holds an open enrollment in this program instance.",
            enrollmentId=existing,
        )


async def _update_by_id(
    session: AsyncSession,
    enrollment: Enrollment,
    body: EnrollmentCreate,
    *,
    actor: str,
    now: datetime,
    evaluator: Evaluator,
) -> Enrollment:
    """The fields sent replace the stored ones; then, where its status lets the checks run
    again (not a person's decision such as rejected, nor past submission), it is re-evaluated."""
    identification.check_update(body)
    await _replace_fields(session, enrollment, body, now=now)
    status = Status(enrollment.status)
    if (status, Action.REEVALUATE) in TRANSITIONS and status not in CRITERIA_BOUND:
        await act(
            session,
            workspace_id=enrollment.workspace_id,
            enrollment_id=enrollment.id,
            action=Action.REEVALUATE,
            reason=None,
            actor=actor,
            now=now,
            evaluator=evaluator,
        )
    return enrollment


async def identity(
    session: AsyncSession, *, workspace_id: str, body: EnrollmentCreate, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Columns that identify the person, per identificationType, and whether the customer is new."""
    kind = body.identification_type
    if kind == IdentificationType.CUSTOMER_ID:
        customer = await customers.get(
            session, workspace_id=workspace_id, customer_id=body.customer_id or ""
        )
        return identification.from_customer(customer), False
    if kind == IdentificationType.ENROLLMENT_ID:
        source = await get(
            session, workspace_id=workspace_id, enrollment_id=body.enrollment_id or ""
        )
        copied = {name: getattr(source, name) for name in identification.COPIED}
        # What the source's status wrote (why it ended) is no part of the new one.
        copied["metadata_"] = {
            k: v for k, v in source.metadata_.items() if k not in identification.STATUS_METADATA
        }
        return copied | {"source_enrollment_id": source.id}, False
    if kind == IdentificationType.LEAD_ID:
        return await _from_lead(session, workspace_id=workspace_id, body=body, now=now)
    customer_id, is_new = await customers.find_or_create(
        session,
        workspace_id=workspace_id,
        first_name=body.first_name or "",
        last_name=body.last_name or "",
        email=body.email or "",
        phone=body.phone,
        address=_address(body),
        now=now,
    )
    return {"customer_id": customer_id}, is_new


async def _from_lead(
    session: AsyncSession, *, workspace_id: str, body: EnrollmentCreate, now: datetime
) -> tuple[dict[str, Any], bool]:
    lead = await customers.get_lead(session, workspace_id=workspace_id, lead_id=body.lead_id or "")
    merged = {
        "first_name": body.first_name or lead.first_name,
        "last_name": body.last_name or lead.last_name,
        "email": body.email or lead.email,
    }
    missing = [name for name, value in merged.items() if not value]
    if missing:
        # 409, not 400: the request is well formed; the lead's present state refuses it (a
        # precondition, as seed 004 answers those), and updating the lead makes it succeed.
        raise LeadIncomplete(
            "The lead lacks details needed to enroll; send them in the request or update the lead.",
            errors=[
                FieldError(field=identification.camel(m), message="Missing on the lead.")
                for m in missing
            ],
        )
    customer_id: str | None = None
    is_new = False
    if lead.customer_id:
        known = await customers_repo.get(
            session, workspace_id=workspace_id, customer_id=lead.customer_id
        )
        customer_id = known.id if known else None
    if customer_id is None:
        customer_id, is_new = await customers.find_or_create(
            session,
            workspace_id=workspace_id,
            first_name=merged["first_name"] or "",
            last_name=merged["last_name"] or "",
            email=merged["email"] or "",
            phone=body.phone or lead.phone,
            address=_address(body) or lead.address,
            now=now,
        )
        customers.mark_converted(lead, customer_id=customer_id, at=now)
    values = {
        "customer_id": customer_id,
        "lead_id": lead.id,
        "phone": lead.phone,
        "address": lead.address,
    }
    return values | merged, is_new


def _address(body: EnrollmentCreate | EnrollmentUpdate) -> dict[str, Any] | None:
    return body.address.model_dump(by_alias=True, exclude_none=True) if body.address else None


# The fields stored empty ([] or {}), never null (models/enrollment_fields.py).
_EMPTY: dict[str, Callable[[], Any]] = {
    f.attr: type(f.empty) for f in FIELDS if f.empty is not None
}
# The fields a body carries as they are (an address is dumped by its camelCase keys).
_SENT = {f.column for f in FIELDS if f.kind != Kind.ADDRESS}
_ADDRESSES = tuple(f.column for f in FIELDS if f.kind == Kind.ADDRESS)
_RENAMED = {f.column: f.attr for f in FIELDS if f.column != f.attr}


# {"manufacturer_slugs": [], "metadata_": {}, "tags": []}, fresh at each call: written out
# as that literal, for the create path (kit/codegen.py).
empty_values: Callable[[], dict[str, Any]] = define(
    "empty_values",
    "def empty_values():\n    return {"
    + ", ".join(f"{f.attr!r}: {f.empty!r}" for f in FIELDS if f.empty is not None)
    + "}\n",
    {},
)


def sent_fields(body: EnrollmentCreate | EnrollmentUpdate) -> dict[str, Any]:
    """The person/equipment fields the request carries, as column values."""
    sent = body.model_dump(exclude_unset=True, include=_SENT)
    for name, attr in _RENAMED.items():
        if name in sent:
            sent[attr] = sent.pop(name)
    for column, empty in _EMPTY.items():  # null for a list or object: none of it
        if column in sent and sent[column] is None:
            sent[column] = empty()
    for name in _ADDRESSES:
        if name in body.model_fields_set:
            address = getattr(body, name)
            sent[name] = address.model_dump(by_alias=True, exclude_none=True) if address else None
    return sent


# --- update / delete ------------------------------------------------------------------------


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    body: EnrollmentUpdate,
    now: datetime,
) -> Enrollment:
    enrollment = await get(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    body.changes()  # refuses explicit nulls on required fields
    await _replace_fields(session, enrollment, body, now=now)
    return enrollment


async def _replace_fields(
    session: AsyncSession,
    enrollment: Enrollment,
    body: EnrollmentCreate | EnrollmentUpdate,
    *,
    now: datetime,
) -> None:
    changed = []
    for column, value in sent_fields(body).items():
        if getattr(enrollment, column) != value:
            setattr(enrollment, column, value)
            changed.append(identification.camel(column.rstrip("_")))
    if changed:
        enrollment.updated_at = now
        await session.flush()
        await changes.emit(
            session,
            changes.Pending(enrollment, [("enrollment.updated", {"changedFields": changed})]),
            now,
        )


async def delete(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, now: datetime
) -> None:
    enrollment = await get(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    if await repository.has_subscription(session, enrollment_id=enrollment.id):
        raise EnrollmentHasSubscription(
            "The enrollment has a program subscription (it was set up): unenroll it instead.",
        )
    if await repository.has_consent(session, enrollment_id=enrollment.id):
        raise EnrollmentHasConsent(
            "The enrollment holds a consent record, which is kept: cancel the enrollment instead."
        )
    await changes.emit(session, changes.Pending(enrollment, [("enrollment.deleted", {})]), now)
    await session.delete(enrollment)
    await session.flush()


# --- transitions ----------------------------------------------------------------------------


async def act(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    action: Action,
    reason: str | None,
    actor: str,
    now: datetime,
    evaluator: Evaluator = default_evaluator,
) -> Enrollment:
    enrollment = await get(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    current = Status(enrollment.status)
    possible = check_action(enrollment, action)
    pending = changes.Pending(enrollment)
    if action == Action.REEVALUATE and current not in OPEN_STATUSES and enrollment.customer_id:
        # Reopening (e.g. a rejected one) must not give the customer a second open enrollment.
        await _refuse_second_open(session, enrollment.program_instance_id, enrollment.customer_id)
    if action == Action.REEVALUATE:
        instance = await instances.get(
            session, workspace_id=workspace_id, ref=enrollment.program_instance_id
        )
        check_criteria_changed(enrollment, instance)
        refusal = await instances.refusal_reason(session, instance, today=now.date())
        decision = await changes.evaluate(
            session, enrollment, instance, refusal=refusal, now=now, evaluator=evaluator
        )
        changes.apply_decision(pending, decision, action, actor, now, instance=instance)
        await changes.queue_async_checks(session, enrollment, instance, decision, now=now)
    else:
        (target,) = possible
        await _guard(session, enrollment, action, workspace_id=workspace_id, now=now)
        changed: list[str] = []
        if action in _REASON_KEPT and reason:
            enrollment.eligibility_reason = reason
            changed.append("eligibilityReason")
        if action == Action.UNENROLL:
            enrollment.metadata_ = {**enrollment.metadata_, "exitReason": reason}
            changed.append("metadata")
        changes.move(pending, target, action, reason, actor, now, changed=changed)
    enrollment.updated_at = now
    await session.flush()
    await changes.emit(session, pending, now)
    if action == Action.SUBMIT:
        await _review_automatically(session, enrollment, now=now)
    return enrollment


async def _review_automatically(
    session: AsyncSession, enrollment: Enrollment, *, now: datetime
) -> None:
    """A submission to an instance whose reviewMode is auto queues its approval (a job, so
    that the approval and its setup run in a transaction of their own)."""
    parent = await repository.instance_of(session, enrollment)
    if parent is not None and parent.review_mode == ReviewMode.AUTO:
        await jobs.enqueue(
            session,
            kind=AUTO_APPROVE_JOB,
            payload=AutoApprovePayload(enrollment_id=enrollment.id),
            workspace_id=enrollment.workspace_id,
            now=now,
        )


async def screen(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    target: Status,
    reason: str,
    actor: str,
    now: datetime,
) -> Enrollment:
    """A person screens: a candidate becomes eligible or ineligible, or what the rules decided
    is overridden. The history row names who and why; the checks stay as they were (advice)."""
    enrollment = await get(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    possible = check_action(enrollment, Action.DECIDE)
    if target not in possible:
        current = Status(enrollment.status)
        raise InvalidTransition(
            f"Cannot decide {target.value} for an enrollment that is {current.value}.",
            currentStatus=current.value,
            allowedStatuses=sorted(s.value for s in possible),
        )
    pending = changes.Pending(enrollment)
    enrollment.eligibility_reason = reason
    changes.move(pending, target, Action.DECIDE, reason, actor, now, changed=["eligibilityReason"])
    enrollment.updated_at = now
    await session.flush()
    await changes.emit(session, pending, now)
    return enrollment


async def start_participation(
    session: AsyncSession, enrollment: Enrollment, *, at: datetime, now: datetime
) -> None:
    """The enrollment's setup completed: participation starts ``at`` (an earlier start stays)."""
    if enrollment.enrollment_start_date is not None:
        return
    enrollment.enrollment_start_date = at
    enrollment.updated_at = now
    await session.flush()
    changed = {"changedFields": ["enrollmentStartDate"]}
    await changes.emit(session, changes.Pending(enrollment, [("enrollment.updated", changed)]), now)


def check_criteria_changed(enrollment: Enrollment, instance: ProgramInstance) -> None:
    """409 when re-evaluating a person's decision (rejected) under the criteria it was made
    under: only a criteria change reopens it (the bulk path's WHERE says the same)."""
    decided = enrollment.evaluation.get("criteriaVersion")
    if Status(enrollment.status) in CRITERIA_BOUND and decided == instance.criteria_version:
        raise CriteriaUnchanged(
            f"The enrollment was {enrollment.status} under criteria version {decided}, which"
            " is still current: only a criteria change reopens it.",
            criteriaVersion=decided,
        )


def check_action(enrollment: Enrollment, action: Action) -> frozenset[Status]:
    """The statuses ``action`` may lead to; 409 (with what is allowed) when it may not be taken."""
    current = Status(enrollment.status)
    try:
        return targets(current, action)
    except NoTransition as exc:
        raise InvalidTransition(
            f"Cannot {action.value} an enrollment that is {current.value}.",
            currentStatus=current.value,
            allowedActions=[a.value for a in exc.allowed if a not in INTERNAL_ACTIONS],
        ) from None


async def _guard(
    session: AsyncSession,
    enrollment: Enrollment,
    action: Action,
    *,
    workspace_id: str,
    now: datetime,
) -> None:
    """Instance-level preconditions: submissions need an open instance, approvals need room.

    Approval of an application already submitted is allowed while the instance is paused or
    closed to new ones; only capacity stops it.
    """
    if action not in (Action.SUBMIT, Action.APPROVE):
        return
    instance = await instances.get(
        session, workspace_id=workspace_id, ref=enrollment.program_instance_id
    )
    if instance.capacity is not None:
        # Lock the instance row so concurrent approvals count capacity one at a time. Only
        # then: without a capacity, every approval of an instance would queue on its row.
        instance = await instances.get(
            session, workspace_id=workspace_id, ref=instance.id, for_update=True
        )
    if action == Action.APPROVE:
        if instance.capacity is None:
            return
        refusal = await instances.capacity_reason(session, instance)
    else:
        refusal = await instances.refusal_reason(session, instance, today=now.date())
        if not refusal:
            await requirement_check.check_submit(session, enrollment, instance, now=now)
    if refusal:
        raise InstanceNotAccepting(refusal)
