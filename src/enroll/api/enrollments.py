from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic.alias_generators import to_snake
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.enrollment import acceptance, repository, requirement_actions, service
from enroll.enrollment.errors import (
    ConsentDocumentsMismatch,
    ConsentRequired,
    CriteriaUnchanged,
    EnrollmentExists,
    EnrollmentHasConsent,
    EnrollmentHasSubscription,
    IncomeCertificationConflict,
    InstanceNotAccepting,
    LeadIncomplete,
    PlanNeedsLocation,
    RequirementsUnmet,
    TermsNotAccepted,
)
from enroll.enrollment.schemas import (
    ACTION_DESCRIPTIONS,
    ConsentList,
    ConsentOut,
    DecideBody,
    EnrollmentCreate,
    EnrollmentOut,
    EnrollmentUpdate,
    HistoryList,
    HistoryOut,
    ReasonBody,
    TransitionBody,
    action_scope,
    describe_action,
)
from enroll.errors import InvalidTransition, raises
from enroll.kit.fields import Timestamp
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import Enrollment
from enroll.plan.errors import PlanUnavailable, StartDateOutsideWindow
from enroll.program_instance import service as instances
from enroll.servicetask import enrollment_actions
from enroll.workflows.enrollment import REASON_REQUIRED, Action, Status

router = APIRouter(prefix="/v1", tags=["enrollments"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.ENROLLMENTS_READ)]
Writer = Annotated[Principal, require(Scope.ENROLLMENTS_WRITE)]
Pages = Annotated[PageParams, Depends(page_params)]


def _filters(
    status: Annotated[Status | None, Query()] = None,
    eligibility_status: Annotated[
        Status | None,
        Query(alias="eligibilityStatus", description="As `status` (the field of that name)."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=320,
            description="An exact email or referenceId, or the start of a first, last or "
            "full name (case-insensitive).",
        ),
    ] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    created_after: Annotated[Timestamp | None, Query(alias="createdAfter")] = None,
    created_before: Annotated[Timestamp | None, Query(alias="createdBefore")] = None,
) -> repository.Filters:
    return repository.Filters(
        status=status.value if status else None,
        eligibility_status=eligibility_status.value if eligibility_status else None,
        q=q,
        tag=tag,
        email=email,
        created_after=created_after,  # Timestamp: offset-less means UTC
        created_before=created_before,
    )


Filters = Annotated[repository.Filters, Depends(_filters)]


@router.post(
    "/programInstances/{instance_id}/enrollments",
    status_code=201,
    responses={
        200: {
            "model": EnrollmentOut,
            "description": "identificationType enrollmentId naming an enrollment of this "
            "instance: that enrollment, updated (and re-evaluated where its status allows).",
        }
    },
)
@raises(
    InstanceNotAccepting,
    EnrollmentExists,
    LeadIncomplete,
    PlanUnavailable,
    StartDateOutsideWindow,
    TermsNotAccepted,
    ConsentDocumentsMismatch,
    PlanNeedsLocation,
    RequirementsUnmet,
    ConsentRequired,
)
async def create_enrollment(
    instance_id: str,
    body: EnrollmentCreate,
    session: Session,
    principal: Writer,
    ctx: Ctx,
    response: Response,
) -> EnrollmentOut:
    """Enroll a person (see `identificationType`); the enrollment is evaluated at once.
    `enrollmentId` updates that enrollment when it belongs to this instance (200), and
    enrolls its customer here otherwise (201). The instance's `create` requirements must be
    met (409 requirements_unmet lists every one unmet; 422 consent_required when only
    consents are missing); nothing is written otherwise."""
    enrollment, created = await service.create(
        session,
        workspace_id=workspace_id_of(principal),
        instance_ref=instance_id,
        body=body,
        actor=principal.actor,
        now=ctx.clock.now(),
        ring=ctx.vault,
    )
    response.headers["Location"] = f"/v1/enrollments/{enrollment.id}"
    if not created:
        response.status_code = 200
    return EnrollmentOut.of(enrollment)


@router.get("/programInstances/{instance_id}/enrollments")
async def list_instance_enrollments(
    instance_id: str, session: Session, principal: Reader, params: Pages, filters: Filters
) -> Page[EnrollmentOut]:
    workspace_id = workspace_id_of(principal)
    instance = await instances.get(session, workspace_id=workspace_id, ref=instance_id)
    stmt = repository.search(workspace_id=workspace_id, instance_id=instance.id, filters=filters)
    result = await paginate(session, stmt, params, Enrollment.id)
    return result.to_page([EnrollmentOut.of(e) for e in result.items])


@router.get("/enrollments")
async def list_enrollments(
    session: Session,
    principal: Reader,
    params: Pages,
    filters: Filters,
    program_instance_id: Annotated[
        str | None, Query(alias="programInstanceId", max_length=100)
    ] = None,
) -> Page[EnrollmentOut]:
    """Enrollments across every instance of the workspace."""
    stmt = repository.search(
        workspace_id=workspace_id_of(principal), instance_id=program_instance_id, filters=filters
    )
    result = await paginate(session, stmt, params, Enrollment.id)
    return result.to_page([EnrollmentOut.of(e) for e in result.items])


@router.get("/enrollments/{enrollment_id}")
async def get_enrollment(enrollment_id: str, session: Session, principal: Reader) -> EnrollmentOut:
    enrollment = await service.get(
        session, workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id
    )
    return EnrollmentOut.of(enrollment)


@router.patch("/enrollments/{enrollment_id}")
@raises(IncomeCertificationConflict)
async def update_enrollment(
    enrollment_id: str, body: EnrollmentUpdate, session: Session, principal: Writer, ctx: Ctx
) -> EnrollmentOut:
    """Change contact, equipment and reference fields, the applicant's data (stored on the
    customer) and give consents; the requirements are recomputed. Status changes use the
    action routes."""
    enrollment = await requirement_actions.update(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        body=body,
        ring=ctx.vault,
        now=ctx.clock.now(),
    )
    return EnrollmentOut.of(enrollment)


@router.delete("/enrollments/{enrollment_id}", status_code=204)
@raises(EnrollmentHasSubscription, EnrollmentHasConsent)
async def delete_enrollment(
    enrollment_id: str, session: Session, principal: Writer, ctx: Ctx
) -> Response:
    await service.delete(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        now=ctx.clock.now(),
    )
    return Response(status_code=204)


@router.get("/enrollments/{enrollment_id}/history")
async def enrollment_history(
    enrollment_id: str, session: Session, principal: Reader
) -> HistoryList:
    enrollment = await service.get(
        session, workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id
    )
    rows = await repository.history(session, enrollment_id=enrollment.id)
    return HistoryList(data=[HistoryOut.of(h) for h in rows])


@router.get("/enrollments/{enrollment_id}/consents")
async def enrollment_consents(
    enrollment_id: str, session: Session, principal: Reader
) -> ConsentList:
    """The enrollment's consent records, oldest first: immutable, the proof of what was
    accepted (documents and versions, the exact text, time, IP address, user agent, channel
    and actor)."""
    rows = await acceptance.consents(
        session, workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id
    )
    return ConsentList(data=[ConsentOut.of(c) for c in rows])


@router.post("/enrollments/{enrollment_id}/decide")
@raises(InvalidTransition)
async def decide_enrollment(
    enrollment_id: str,
    body: DecideBody,
    session: Session,
    ctx: Ctx,
    principal: Annotated[Principal, require(Scope.ENROLLMENTS_REVIEW)],
) -> EnrollmentOut:
    """A person screens (scope enrollments:review): candidate → eligible or ineligible (manual
    screening), or overrides the rules (eligible ↔ ineligible). `reason` is required; the
    history names who decided and why."""
    enrollment = await service.screen(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        target=Status(body.status),
        reason=body.reason,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return EnrollmentOut.of(enrollment)


def _transition_route(action: Action) -> None:
    # Annotations here are resolved from module globals (postponed evaluation), so the scope
    # dependency is passed as a default rather than through a local Annotated alias.
    actor = require(action_scope(action))

    if action in REASON_REQUIRED:

        async def endpoint(
            enrollment_id: str,
            body: ReasonBody,
            session: Session,
            ctx: Ctx,
            principal: Principal = actor,
        ) -> EnrollmentOut:
            return await _act(enrollment_id, action, body.reason, session, principal, ctx)

    else:

        async def endpoint(  # type: ignore[misc]
            enrollment_id: str,
            session: Session,
            ctx: Ctx,
            body: TransitionBody | None = None,
            principal: Principal = actor,
        ) -> EnrollmentOut:
            reason = body.reason if body else None
            return await _act(enrollment_id, action, reason, session, principal, ctx)

    reopening = [EnrollmentExists, CriteriaUnchanged] if action == Action.REEVALUATE else []
    unmet = [RequirementsUnmet, ConsentRequired] if action == Action.SUBMIT else []
    router.add_api_route(
        f"/enrollments/{{enrollment_id}}/{action.value}",
        raises(InvalidTransition, InstanceNotAccepting, *reopening, *unmet)(endpoint),
        methods=["POST"],
        name=f"{to_snake(action.value)}_enrollment",
        summary=f"{to_snake(action.value).replace('_', ' ').capitalize()} an enrollment",
        description=describe_action(action),
    )


async def _act(
    enrollment_id: str,
    action: Action,
    reason: str | None,
    session: AsyncSession,
    principal: Principal,
    ctx: AppContext,
) -> EnrollmentOut:
    enrollment = await enrollment_actions.act(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        action=action,
        reason=reason,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return EnrollmentOut.of(enrollment)


for _action in ACTION_DESCRIPTIONS:
    _transition_route(_action)
