"""Criteria versions, and the criteria an instance evaluates with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import repository
from enroll.eligibility.checks import Decision, Evaluator, default_evaluator
from enroll.eligibility.context import rule_context
from enroll.eligibility.criteria import (
    CompiledCriteria,
    Criterion,
    compile_criteria,
    effective_criteria,
)
from enroll.errors import FieldError, NotFound, Unprocessable
from enroll.ids import new_id
from enroll.location.schemas import rule_view
from enroll.models import CriteriaVersion, Program, ProgramInstance


def as_stored(criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
    return [c.stored() for c in criteria]


def effective(instance: ProgramInstance, program: Program | None = None) -> list[dict[str, Any]]:
    program = program or instance.program
    return effective_criteria(
        states=program.states,
        manufacturer_slugs=program.manufacturer_slugs,
        program_criteria=program.eligibility_criteria,
        instance_criteria=instance.eligibility_criteria,
    )


def check_no_clash(instance_criteria: Sequence[dict[str, Any]], program: Program) -> None:
    """An instance adds criteria; it cannot shadow one its program already checks."""
    taken = {
        c["id"]
        for c in effective_criteria(
            states=program.states,
            manufacturer_slugs=program.manufacturer_slugs,
            program_criteria=program.eligibility_criteria,
            instance_criteria=[],
        )
    }
    clashes = [i for i, c in enumerate(instance_criteria) if c["id"] in taken]
    if clashes:
        raise Unprocessable(
            "Instance criteria ids must differ from the program's.",
            errors=[
                FieldError(
                    field=f"eligibilityCriteria.{i}.id",
                    message=f"The program already has a criterion {instance_criteria[i]['id']!r}.",
                )
                for i in clashes
            ],
        )


async def record_version(
    session: AsyncSession,
    instance: ProgramInstance,
    *,
    now: datetime,
    program: Program | None = None,
) -> None:
    """Store the instance's effective criteria (and its requirements) as a new version when
    they changed."""
    criteria = effective(instance, program)
    latest = await repository.version(
        session, instance_id=instance.id, number=instance.criteria_version
    )
    if (
        latest is not None
        and latest.criteria == criteria
        and (latest.requirements or []) == instance.requirements
    ):
        return
    instance.criteria_version += 1
    session.add(
        CriteriaVersion(
            id=new_id(),
            workspace_id=instance.workspace_id,
            program_instance_id=instance.id,
            version=instance.criteria_version,
            criteria=criteria,
            requirements=list(instance.requirements or []),
            created_at=now,
        )
    )


async def record_versions_for_program(
    session: AsyncSession, program: Program, *, now: datetime
) -> None:
    """A program's criteria changed: every instance of it, in every workspace, gets a version."""
    for instance in await repository.instances_of_program(session, program_id=program.id):
        await record_version(session, instance, now=now, program=program)


def versions(*, instance_id: str) -> Select[CriteriaVersion]:
    return repository.versions(instance_id=instance_id)


async def version(session: AsyncSession, *, instance_id: str, number: int) -> CriteriaVersion:
    found = await repository.version(session, instance_id=instance_id, number=number)
    if found is None:
        raise NotFound(f"No criteria version {number}.")
    return found


# Statuses in which another enrollment counts as the customer's active participation.
ACTIVE_STATUSES = ("approved",)


async def decide(
    session: AsyncSession,
    *,
    instance: ProgramInstance,
    fields: Mapping[str, Any],
    customer_id: str | None,
    refusal: str | None,
    now: datetime,
    exclude_enrollment_id: str | None = None,
    evaluator: Evaluator = default_evaluator,
    service_location_id: str | None = None,
) -> Decision:
    """Evaluate a person (enrollment fields, camelCase) against the instance's criteria.

    The customer and the platform facts are loaded only when a rule reads them.
    """
    compiled = compile_criteria(effective(instance))
    context = await build_context(
        session,
        fields=fields,
        customer_id=customer_id,
        exclude_enrollment_id=exclude_enrollment_id,
        reads=compiled,
        service_location_id=service_location_id,
    )
    return evaluator.evaluate(
        context=context,
        criteria=compiled.items,
        criteria_version=instance.criteria_version,
        refusal_reason=refusal,
        now=now,
    )


async def build_context(
    session: AsyncSession,
    *,
    fields: Mapping[str, Any],
    customer_id: str | None,
    exclude_enrollment_id: str | None,
    reads: CompiledCriteria | None,
    service_location_id: str | None = None,
) -> dict[str, Any]:
    """The rule context. ``reads`` None loads everything (an async check's endpoint may read
    any of it); else the customer, the facts and the service location are loaded only when a
    sync rule reads them."""
    customer: dict[str, Any] | None = None
    active: list[dict[str, Any]] = []
    if customer_id and (reads is None or reads.reads("customer")):
        row = await repository.customer(session, customer_id=customer_id)
        if row is not None:
            customer = {
                "id": row.id,
                "firstName": row.first_name,
                "lastName": row.last_name,
                "email": row.email,
                "phone": row.phone,
                "address": row.address,
                "metadata": row.metadata_,
            }
    if customer_id and (reads is None or reads.reads("facts")):
        active = await _active_enrollments(
            session, customer_id=customer_id, exclude_enrollment_id=exclude_enrollment_id
        )
    location: dict[str, Any] | None = None
    if service_location_id and (reads is None or reads.reads("location")):
        place = await repository.location(session, location_id=service_location_id)
        if place is not None:
            location = rule_view(place)
    return rule_context(fields, customer=customer, active_enrollments=active, location=location)


async def criteria_of_version(
    session: AsyncSession, instance: ProgramInstance, number: int | None
) -> list[dict[str, Any]]:
    """The effective criteria a decision used: its stored version, else the current ones."""
    if number is not None:
        stored = await repository.stored_criteria(session, instance_id=instance.id, number=number)
        if stored is not None:
            return list(stored)
    return effective(instance)


async def _active_enrollments(
    session: AsyncSession, *, customer_id: str, exclude_enrollment_id: str | None
) -> list[dict[str, Any]]:
    rows = await repository.enrollments_of_customer(
        session,
        customer_id=customer_id,
        statuses=ACTIVE_STATUSES,
        exclude_enrollment_id=exclude_enrollment_id,
    )
    return [
        {"programInstanceId": r[0], "programSlug": r[1], "programType": r[2], "status": r[3]}
        for r in rows
    ]
