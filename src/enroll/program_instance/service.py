from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import service as criteria
from enroll.errors import InvalidTransition, NotFound, Unprocessable
from enroll.models import ProgramInstance
from enroll.program import service as programs
from enroll.program.errors import SlugTaken
from enroll.program_instance import repository, requirements
from enroll.program_instance.errors import InstanceHasEnrollments
from enroll.program_instance.schemas import ProgramInstanceCreate, ProgramInstanceUpdate
from enroll.program_instance.setup_workflow import SetupWorkflow
from enroll.workflows.enrollment import Status
from enroll.workflows.program_instance import (
    NEXT,
    InstanceStatus,
    can_move,
    over_capacity,
    why_not_accepting,
)


async def get(
    session: AsyncSession, *, workspace_id: str, ref: str, for_update: bool = False
) -> ProgramInstance:
    instance = await repository.get(
        session, workspace_id=workspace_id, ref=ref, for_update=for_update
    )
    if instance is None:
        raise NotFound(f"No program instance {ref!r}.")
    return instance


async def refusal_reason(
    session: AsyncSession, instance: ProgramInstance, *, today: date
) -> str | None:
    """Why ``instance`` does not accept enrollments now, or None when it does."""
    approved = None
    if instance.capacity is not None:
        approved = await repository.count_enrollments(
            session, instance_id=instance.id, status=Status.APPROVED
        )
    return why_not_accepting(
        status=instance.status,
        start_date=instance.start_date,
        end_date=instance.end_date,
        capacity=instance.capacity,
        approved=approved,
        today=today,
    )


async def capacity_reason(session: AsyncSession, instance: ProgramInstance) -> str | None:
    """Why one more approval would exceed the capacity, or None when there is room."""
    if instance.capacity is None:
        return None
    approved = await repository.count_enrollments(
        session, instance_id=instance.id, status=Status.APPROVED
    )
    return over_capacity(capacity=instance.capacity, approved=approved)


async def create(
    session: AsyncSession, *, workspace_id: str, body: ProgramInstanceCreate, now: datetime
) -> ProgramInstance:
    program = await programs.get(session, body.program_id or body.program_slug or "")
    if await repository.slug_taken(session, body.slug):
        raise SlugTaken(f"The slug {body.slug!r} is taken.")
    instance = ProgramInstance(
        workspace_id=workspace_id,
        program_id=program.id,
        slug=body.slug,
        name=body.name,
        description=body.description,
        branding=body.branding.model_dump(by_alias=True),
        terms=body.terms.model_dump(by_alias=True) if body.terms else {},
        start_date=body.start_date,
        end_date=body.end_date,
        capacity=body.capacity,
        review_mode=body.review_mode.value,
        reenrollment_policy=body.reenrollment_policy.value,
        screening=body.screening.value,
        status=body.status.value,
        metadata_=body.metadata,
        eligibility_criteria=criteria.as_stored(body.eligibility_criteria),
        setup_workflow=_stored(body.setup_workflow),
        criteria_version=0,
        timezone=body.timezone,
        consent_required=body.consent_required,
        requirements=requirements.as_stored(body.requirements),
        submit_when_complete=body.submit_when_complete,
    )
    criteria.check_no_clash(instance.eligibility_criteria, program)
    instance.program = program
    session.add(instance)
    await criteria.record_version(session, instance, now=now, program=program)
    await session.flush()
    return instance


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    ref: str,
    body: ProgramInstanceUpdate,
    now: datetime,
) -> ProgramInstance:
    instance = await get(session, workspace_id=workspace_id, ref=ref)
    changes = body.changes()
    if "status" in changes:
        target = InstanceStatus(changes["status"])
        if not can_move(InstanceStatus(instance.status), target):
            raise InvalidTransition(
                f"A {instance.status} program instance cannot become {target}.",
                currentStatus=instance.status,
                allowedStatuses=sorted(s.value for s in NEXT[InstanceStatus(instance.status)]),
            )
    start = changes.get("start_date", instance.start_date)
    end = changes.get("end_date", instance.end_date)
    if start is not None and end is not None and end <= start:
        raise Unprocessable("endDate must be after startDate.")
    for field, value in changes.items():
        if field == "setup_workflow":
            value = _stored(body.setup_workflow)
        elif field in {"branding", "terms"}:
            nested = getattr(body, field)
            value = nested.model_dump(by_alias=True) if nested is not None else {}
        elif field == "metadata":
            field = "metadata_"
        elif field in {"status", "review_mode", "reenrollment_policy", "screening"}:
            value = str(value)
        elif field == "eligibility_criteria":
            value = criteria.as_stored(body.eligibility_criteria or [])
            criteria.check_no_clash(value, instance.program)
        elif field == "requirements":
            value = requirements.as_stored(body.requirements or [])
        setattr(instance, field, value)
    if "eligibility_criteria" in changes or "requirements" in changes:
        await criteria.record_version(session, instance, now=now)
    await session.flush()
    return instance


def _stored(workflow: SetupWorkflow | None) -> dict[str, Any] | None:
    return workflow.model_dump(mode="json", by_alias=True) if workflow is not None else None


async def delete(session: AsyncSession, *, workspace_id: str, ref: str) -> None:
    instance = await get(session, workspace_id=workspace_id, ref=ref)
    if await repository.count_enrollments(session, instance_id=instance.id):
        raise InstanceHasEnrollments(
            "The program instance has enrollments; close or archive it instead.",
        )
    await session.delete(instance)
    await session.flush()
