"""An enrollment's payment method (REST: /v1/enrollments/{id}/paymentSession, …/paymentMethod,
…/paymentMethods), over the same use cases and scopes: enrollments:write to start a session
and add a method, enrollments:read to list them. The provider's webhook is REST only."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.enrollment import payments
from enroll.graphql.common import Info, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import parse
from enroll.graphql.types import fields_of
from enroll.models import PaymentMethod as PaymentMethodRow
from enroll.payment.schemas import PaymentMethodAdd, PaymentMethodOut
from enroll.workflows.payment import PaymentMethodStatus

if not hasattr(PaymentMethodStatus, "__strawberry_definition__"):
    strawberry.enum(PaymentMethodStatus, name="PaymentMethodStatus", graphql_name_from="value")


@strawberry.type(
    description="What the provider's browser component needs (REST: PaymentSessionOut)."
)
class PaymentSession:
    provider: str = strawberry.field(description="`sandbox` or `stripe`.")
    client_secret: str = strawberry.field(
        description="Stripe Elements: the clientSecret of stripe.confirmSetup."
    )
    publishable_key: str


@strawberry.type(
    description="A payment method the provider verified: ids, brand, last 4 and expiry only "
    "(REST: PaymentMethodOut)."
)
class PaymentMethod:
    id: ID
    enrollment_id: ID
    customer_id: ID
    provider: str
    provider_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    status: PaymentMethodStatus
    created_at: datetime
    updated_at: datetime
    detached_at: datetime | None

    @classmethod
    def of(cls, row: PaymentMethodRow) -> PaymentMethod:
        out = PaymentMethodOut.of(row)
        values = fields_of(out)
        return cls(**values | {k: ID(values[k]) for k in ("id", "enrollment_id", "customer_id")})


@strawberry.type
class PaymentsQuery:
    @field(
        "An enrollment's payment methods, oldest first, detached ones included (scope "
        "enrollments:read; REST: GET /v1/enrollments/{id}/paymentMethods).",
        Scope.ENROLLMENTS_READ,
    )
    async def payment_methods(self, info: Info, enrollment_id: ID) -> list[PaymentMethod]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        enrollment_ref = ref(enrollment_id)

        async def work(session: AsyncSession) -> list[PaymentMethod]:
            rows = await payments.payment_methods(
                session, workspace_id=workspace_id, enrollment_id=enrollment_ref
            )
            return [PaymentMethod.of(row) for row in rows]

        return await ctx.read(work)


@strawberry.type
class PaymentsMutation:
    @mutation(
        "A setup for the provider's browser component, on the customer's provider customer "
        "(scope enrollments:write; REST: POST /v1/enrollments/{id}/paymentSession).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def start_payment_session(self, info: Info, enrollment_id: ID) -> PaymentSession:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> PaymentSession:
            out = await payments.start_payment_session(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=ref(enrollment_id),
                gateway=ctx.app.gateway,
                now=ctx.now(),
            )
            return PaymentSession(**fields_of(out))

        return await mutate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Store the method the browser component added once the provider vouches for it; "
        "declined or unverified: payment_method_unverified with the provider's reason (scope "
        "enrollments:write; REST: POST /v1/enrollments/{id}/paymentMethod).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def add_payment_method(
        self, info: Info, enrollment_id: ID, payment_method_id: str
    ) -> PaymentMethod:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> PaymentMethod:
            body = parse(PaymentMethodAdd, {"paymentMethodId": payment_method_id})
            row = await payments.add_payment_method(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=ref(enrollment_id),
                payment_method_id=body.payment_method_id,
                gateway=ctx.app.gateway,
                now=ctx.now(),
            )
            return PaymentMethod.of(row)

        return await mutate(info, Scope.ENROLLMENTS_WRITE, work)
