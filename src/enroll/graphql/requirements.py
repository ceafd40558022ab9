"""An enrollment's billing address (REST: PUT /v1/enrollments/{id}/billingAddress); its
requirements are read on ``Enrollment.requirements``."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.customer.schemas import BillingAddressIn
from enroll.enrollment import requirement_actions
from enroll.graphql.common import Info, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import mutation
from enroll.graphql.inputs import AddressInput, parse, wire
from enroll.graphql.types import Enrollment


@strawberry.input(description="Where bills go (REST: BillingAddressIn).")
class BillingAddressInput:
    same_as_service_address: bool
    address: AddressInput | None = strawberry.field(
        default=UNSET, description="Only with sameAsServiceAddress false (then required)."
    )


@strawberry.type
class RequirementsMutation:
    @mutation(
        "The applicant confirms the billing address; meets a billingAddress requirement "
        "(scope enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def confirm_billing_address(
        self, info: Info, id: ID, input: BillingAddressInput
    ) -> Enrollment:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Enrollment:
            body = parse(BillingAddressIn, wire(input))
            enrollment = await requirement_actions.set_billing_address(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=ref(id),
                body=body,
                now=ctx.now(),
            )
            return Enrollment.of(enrollment)

        return await mutate(info, Scope.ENROLLMENTS_WRITE, work)
