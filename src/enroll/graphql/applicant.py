"""The applicant's data and household in GraphQL (REST: CustomerCreate's applicant fields,
/v1/customers/{id}/householdMembers): the enums, the inputs, the ``HouseholdMember`` type and
the request's loader of customers' households (``Customer.householdMembers``, one query for
every customer of a request).

A tax id is input only: answers show ``taxIdLast4``, never the number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from weakref import WeakKeyDictionary

import strawberry
from strawberry import ID, UNSET
from strawberry.dataloader import DataLoader

from enroll.customer import repository
from enroll.customer.applicant import EmploymentStatus, MaritalStatus, StudentStatus
from enroll.customer.schemas import HouseholdMemberOut, HouseholdRole
from enroll.graphql.context import GraphQLContext
from enroll.models import HouseholdMember as MemberRow

for _enum, _name in (
    (MaritalStatus, "MaritalStatus"),
    (StudentStatus, "StudentStatus"),
    (EmploymentStatus, "EmploymentStatus"),
    (HouseholdRole, "HouseholdRole"),
):
    if not hasattr(_enum, "__strawberry_definition__"):
        strawberry.enum(_enum, name=_name, graphql_name_from="value")

TAX_ID = (
    "An SSN or ITIN, 9 digits, dashes optional (123-45-6789): stored encrypted, never shown; "
    "answers show taxIdLast4. Null clears it."
)


@strawberry.input(
    description="The applicant's income (REST: Income); on an update only the fields sent "
    "change, null clears one."
)
class IncomeInput:
    agi: float | None = strawberry.field(
        default=UNSET,
        description="Adjusted gross income on the last tax return, US dollars (0 to "
        "1,000,000,000), kept to the cent.",
    )
    has_taxable_income: bool | None = UNSET
    decreased_since_filing: bool | None = strawberry.field(
        default=UNSET,
        description="Income decreased significantly since the last tax return was filed.",
    )


@strawberry.input(
    description="What a program may need to know about the applicant (REST: ApplicantFields)."
)
class ApplicantInput:
    date_of_birth: date | None = UNSET
    tax_id: str | None = strawberry.field(default=UNSET, description=TAX_ID)
    marital_status: MaritalStatus | None = UNSET
    student_status: StudentStatus | None = UNSET
    employment_status: EmploymentStatus | None = UNSET
    income: IncomeInput | None = strawberry.field(
        default=UNSET, description="Null clears all three of its fields."
    )
    irs_authorized_at: datetime | None = strawberry.field(
        default=UNSET, description="When the applicant authorised the IRS to share their tax data."
    )


@strawberry.input(description="A new household member (REST: HouseholdMemberCreate).")
class HouseholdMemberCreateInput:
    role: HouseholdRole
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    date_of_birth: date | None = UNSET
    tax_id: str | None = strawberry.field(default=UNSET, description=TAX_ID)
    has_taxable_income: bool | None = UNSET
    agi: float | None = strawberry.field(
        default=UNSET, description="Their adjusted gross income, US dollars, kept to the cent."
    )
    has_federal_loans: bool | None = UNSET


@strawberry.input(
    description="A change to a household member (REST: HouseholdMemberUpdate): only the "
    "fields sent change; null clears any but role."
)
class HouseholdMemberUpdateInput:
    role: HouseholdRole | None = UNSET
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    date_of_birth: date | None = UNSET
    tax_id: str | None = strawberry.field(default=UNSET, description=TAX_ID)
    has_taxable_income: bool | None = UNSET
    agi: float | None = UNSET
    has_federal_loans: bool | None = UNSET


@strawberry.type(
    description="A member of a customer's household (REST: HouseholdMemberOut); its tax id "
    "is never shown, only its last 4 digits."
)
class HouseholdMember:
    id: ID
    customer_id: ID
    role: HouseholdRole
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    tax_id_last4: str | None = strawberry.field(
        description="The tax id's last 4 digits; it is never shown."
    )
    has_taxable_income: bool | None
    agi: float | None
    has_federal_loans: bool | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: MemberRow) -> HouseholdMember:
        out = HouseholdMemberOut.of(row)
        return cls(**{name: getattr(out, name) for name in type(out).model_fields})


# --- the households of a request's customers -------------------------------------------------

_LOADERS: WeakKeyDictionary[GraphQLContext, DataLoader[str, list[MemberRow]]] = WeakKeyDictionary()


def households(ctx: GraphQLContext) -> DataLoader[str, list[MemberRow]]:
    """The request's loader of household members by customer id (the caller's workspace;
    the field resolver checks the scope before it loads)."""
    loader = _LOADERS.get(ctx)
    if loader is None:

        async def load(customer_ids: list[str]) -> Sequence[list[MemberRow]]:
            workspace_id = await ctx.workspace_id()
            async with ctx.use() as session:
                rows = await repository.households_of(
                    session, workspace_id=workspace_id, customer_ids=customer_ids
                )
            by_customer: dict[str, list[MemberRow]] = defaultdict(list)
            for row in rows:
                by_customer[row.customer_id].append(row)
            return [by_customer.get(i, []) for i in customer_ids]

        loader = _LOADERS[ctx] = DataLoader(load)
    return loader
