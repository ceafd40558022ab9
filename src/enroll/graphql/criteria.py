"""An instance's criteria versions (REST: /v1/programInstances/{id}/criteriaVersions)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID
from strawberry.scalars import JSON

from enroll.auth.scopes import Scope
from enroll.eligibility import service as eligibility
from enroll.eligibility.schemas import CriteriaVersionOut
from enroll.graphql.common import Info, connection, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field
from enroll.graphql.inputs import check_range
from enroll.graphql.types import Connection, fields_of
from enroll.models import CriteriaVersion as VersionRow
from enroll.program_instance import service as instances


@strawberry.type(
    description="One version of an instance's effective criteria, never changed "
    "(REST: CriteriaVersionOut)."
)
class CriteriaVersion:
    version: int
    criteria: list[JSON]
    requirements: list[JSON] = strawberry.field(
        description="The instance's requirements in this version."
    )
    created_at: datetime

    @classmethod
    def of(cls, row: VersionRow) -> CriteriaVersion:
        return cls(**fields_of(CriteriaVersionOut.of(row)))


@strawberry.type
class CriteriaQuery:
    @field(
        "Every version of an instance's effective criteria (its id or slug), oldest first "
        "(scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def criteria_versions(
        self, info: Info, program_instance_id: ID, first: int = 20, after: str | None = None
    ) -> Connection[CriteriaVersion]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        instance_ref = ref(program_instance_id)

        async def work(session: AsyncSession) -> str:
            instance = await instances.get(session, workspace_id=workspace_id, ref=instance_ref)
            return instance.id

        instance_id = await ctx.read(work)
        stmt = eligibility.versions(instance_id=instance_id)
        return await connection(
            ctx, stmt, VersionRow.id, CriteriaVersion.of, first=first, after=after
        )

    @field(
        "One criteria version of an instance (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def criteria_version(
        self, info: Info, program_instance_id: ID, version: int
    ) -> CriteriaVersion | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        instance_ref = ref(program_instance_id)
        check_range("version", version, low=1, high=2**31 - 1)

        async def work(session: AsyncSession) -> CriteriaVersion:
            instance = await instances.get(session, workspace_id=workspace_id, ref=instance_ref)
            row = await eligibility.version(session, instance_id=instance.id, number=version)
            return CriteriaVersion.of(row)

        return await ctx.read(work)
