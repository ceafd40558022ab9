"""Evaluating a candidate against an instance's criteria without saving anything: what
``POST …/eligibility/preview`` and GraphQL's ``eligibilityPreview`` answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import repository as customers_repo
from enroll.customer import service as customers
from enroll.eligibility import service
from enroll.eligibility.context import rule_context
from enroll.enrollment import changes, identification
from enroll.enrollment import service as enrollments
from enroll.enrollment.eligibility_schemas import CheckOut, PreviewOut, PreviewRequest
from enroll.enrollment.schemas import EnrollmentCreate, IdentificationType
from enroll.models import Enrollment
from enroll.program_instance import service as instances
from enroll.workflows.enrollment import Status


async def preview(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_ref: str,
    body: PreviewRequest,
    now: datetime,
) -> PreviewOut:
    """The decision a create with ``body`` would get now. With ``identificationType`` the
    person is found as the create would find them; without it the fields are evaluated as
    sent, as the customer ``customerId`` names (another workspace's: 404)."""
    instance = await instances.get(session, workspace_id=workspace_id, ref=instance_ref)
    customer_id = body.customer_id
    if body.identification_type is not None:
        sent = body.model_dump(by_alias=True, exclude_unset=True)
        as_create = EnrollmentCreate.model_validate(sent)
        fields, customer_id = await preview_person(
            session, workspace_id=workspace_id, body=as_create, now=now
        )
    else:
        if body.customer_id is not None:
            await customers.get(session, workspace_id=workspace_id, customer_id=body.customer_id)
        fields = body.model_dump(
            by_alias=True,
            exclude={"customer_id", "identification_type", "lead_id", "enrollment_id"},
        )
    decision = await service.decide(
        session,
        instance=instance,
        fields=fields,
        customer_id=customer_id,
        refusal=await instances.refusal_reason(session, instance, today=now.date()),
        now=now,
    )
    return PreviewOut(
        status=Status.ELIGIBLE if decision.eligible else Status.INELIGIBLE,
        reason=decision.reason,
        checks=[CheckOut(**c.as_json()) for c in decision.checks],
        criteria_version=decision.criteria_version,
        evaluated_at=decision.evaluated_at,
        context=rule_context(fields),
    )


async def preview_person(
    session: AsyncSession, *, workspace_id: str, body: EnrollmentCreate, now: datetime
) -> tuple[dict[str, Any], str | None]:
    """The rule fields and customer a create with ``body`` would evaluate, found without
    writing anything (no customer made, no lead converted)."""
    identification.check(body)
    kind = body.identification_type
    if kind == IdentificationType.CUSTOMER_INFO:
        known = await customers_repo.get_by_email(
            session, workspace_id=workspace_id, email=body.email or ""
        )
        values: dict[str, Any] = {"customer_id": known.id if known else None}
    elif kind == IdentificationType.LEAD_ID:
        lead = await customers.get_lead(
            session, workspace_id=workspace_id, lead_id=body.lead_id or ""
        )
        values = {
            "customer_id": lead.customer_id,
            "lead_id": lead.id,
            "first_name": body.first_name or lead.first_name,
            "last_name": body.last_name or lead.last_name,
            "email": body.email or lead.email,
            "phone": lead.phone,
            "address": lead.address,
        }
    else:
        # customerId and enrollmentId only read the customer or the source enrollment.
        values, _ = await enrollments.identity(
            session, workspace_id=workspace_id, body=body, now=now
        )
    values.update(enrollments.sent_fields(body))
    person = Enrollment(  # never added to the session
        identification_type=kind.value,
        **{**enrollments.empty_values(), **values},
    )
    return changes.rule_fields(person), values.get("customer_id")
