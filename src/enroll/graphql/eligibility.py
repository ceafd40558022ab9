"""Eligibility previews and instance re-evaluations (REST: POST …/eligibility/preview,
POST …/reevaluations, GET /v1/reevaluations/{id}), over the same service functions and scopes.

A preview writes nothing, so it is a query. A re-evaluation is a job, as in REST: the mutation
queues it in the request's transaction and answers the run (REST: 202), which
``reevaluation(id)`` then shows with its progress and report.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.enrollment import preview as previews
from enroll.enrollment import reevaluation_run
from enroll.enrollment.eligibility_schemas import (
    MoveOut,
    PreviewRequest,
    ReevaluationOut,
    ReevaluationRequest,
)
from enroll.enrollment.schemas import IdentificationType
from enroll.graphql.common import Info, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import EnrollmentUpdateInput, parse, wire
from enroll.graphql.types import fields_of
from enroll.models import Reevaluation as ReevaluationRow


@strawberry.type(description="One criterion's outcome (REST: CheckOut).")
class EligibilityCheck:
    id: str
    description: str
    status: str = strawberry.field(description="passed, failed or skipped.")
    reason: str | None


@strawberry.type(description="What a create would decide now (REST: PreviewOut).")
class EligibilityPreview:
    status: str = strawberry.field(description="eligible or ineligible.")
    reason: str
    checks: list[EligibilityCheck]
    criteria_version: int | None
    evaluated_at: datetime
    context: JSON = strawberry.field(description="The rule context the criteria saw.")


@strawberry.input(
    description="The candidate (REST: PreviewRequest): a create's input; without "
    "identificationType the fields are evaluated as sent, as the customer customerId names."
)
class EligibilityPreviewInput(EnrollmentUpdateInput):
    identification_type: IdentificationType | None = UNSET
    lead_id: ID | None = UNSET
    customer_id: ID | None = UNSET
    enrollment_id: ID | None = UNSET


@strawberry.type(description="A kind of change and how many (REST: MoveOut).")
class ReevaluationMove:
    from_status: str = strawberry.field(name="from")
    to_status: str = strawberry.field(name="to")
    count: int
    sample_ids: list[ID]

    @classmethod
    def of(cls, out: MoveOut) -> ReevaluationMove:
        return cls(**fields_of(out))


@strawberry.type(description="A re-evaluation's plan or what it applied (REST: ReportOut).")
class ReevaluationReport:
    dry_run: bool
    applied: bool = strawberry.field(description="True once every batch has committed.")
    criteria_version: int | None
    evaluated: int
    total: int
    changed: int
    moves: list[ReevaluationMove]
    needs_review: ReevaluationMove
    cleared_review: ReevaluationMove


@strawberry.type
class ReevaluationProgress:
    phase: str = strawberry.field(description="plan (counting) or apply (writing).")
    done: int
    total: int
    fraction: float


@strawberry.type(description="An instance's re-evaluation, a job (REST: ReevaluationOut).")
class Reevaluation:
    id: ID
    program_instance_id: ID
    status: str = strawberry.field(description="queued, running, completed or failed.")
    dry_run: bool
    force: bool
    progress: ReevaluationProgress
    report: ReevaluationReport
    error: JSON | None = strawberry.field(
        description="Why it failed: code (reevaluation_guard, criteria_changed, "
        "reevaluation_failed), detail, and the guard's changed, total and maxShare."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ReevaluationRow) -> Reevaluation:
        out = ReevaluationOut.of(row)
        report = out.report
        return cls(
            **fields_of(out, exclude={"progress", "report"}),
            progress=ReevaluationProgress(**fields_of(out.progress)),
            report=ReevaluationReport(
                **fields_of(report, exclude={"moves", "needs_review", "cleared_review"}),
                moves=[ReevaluationMove.of(m) for m in report.moves],
                needs_review=ReevaluationMove.of(report.needs_review),
                cleared_review=ReevaluationMove.of(report.cleared_review),
            ),
        )


@strawberry.input(description="How to re-evaluate (REST: ReevaluationRequest).")
class ReevaluationInput:
    dry_run: bool | None = strawberry.field(
        default=UNSET, description="Count what would change; change nothing."
    )
    force: bool | None = strawberry.field(
        default=UNSET, description="Apply even past the share guard."
    )
    sample_size: int | None = strawberry.field(
        default=UNSET, description="Sample ids per kind of change (0 to 100, default 5)."
    )


@strawberry.type
class EligibilityQuery:
    @field(
        "Evaluate a candidate against the instance's criteria without saving anything "
        "(scope enrollments:read).",
        Scope.ENROLLMENTS_READ,
    )
    async def eligibility_preview(
        self, info: Info, program_instance_id: ID, input: EligibilityPreviewInput
    ) -> EligibilityPreview | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        instance_ref = ref(program_instance_id)
        body = parse(PreviewRequest, wire(input))

        async def work(session: AsyncSession) -> EligibilityPreview:
            out = await previews.preview(
                session,
                workspace_id=workspace_id,
                instance_ref=instance_ref,
                body=body,
                now=ctx.now(),
            )
            return EligibilityPreview(
                **fields_of(out, exclude={"checks"}),
                checks=[EligibilityCheck(**fields_of(c)) for c in out.checks],
            )

        return await ctx.read(work)

    @field(
        "A re-evaluation's status, progress and report (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def reevaluation(self, info: Info, id: ID) -> Reevaluation | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        reevaluation_id = ref(id)

        async def work(session: AsyncSession) -> Reevaluation:
            return Reevaluation.of(
                await reevaluation_run.get(
                    session, workspace_id=workspace_id, reevaluation_id=reevaluation_id
                )
            )

        return await ctx.read(work)


@strawberry.type
class EligibilityMutation:
    @mutation(
        "Re-evaluate the instance's enrollments (id or slug) against its current criteria, as "
        "a job: answers the queued run, to poll with reevaluation(id) (scope "
        "program_instances:write). A run that writes may not overlap another "
        "(reevaluation_running).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def reevaluate_program_instance(
        self, info: Info, id: ID, input: ReevaluationInput | None = None
    ) -> Reevaluation:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Reevaluation:
            body = parse(ReevaluationRequest, wire(input) if input is not None else {})
            run = await reevaluation_run.start(
                session,
                workspace_id=principal.workspace_id or "",
                instance_ref=ref(id),
                dry_run=body.dry_run,
                force=body.force,
                sample_size=body.sample_size,
                actor=principal.actor,
                now=ctx.now(),
            )
            return Reevaluation.of(run)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)
