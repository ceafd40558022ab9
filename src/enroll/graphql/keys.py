"""API keys (REST: /v1/apiKeys): their metadata only. The secret appears once, in what
createApiKey answers, as REST's 201 shows it; no field reads it afterwards."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET

from enroll.auth import repository as keys_repo
from enroll.auth import service as keys
from enroll.auth.principal import Principal
from enroll.auth.schemas import ApiKeyCreate, ApiKeyOut
from enroll.auth.scopes import Scope
from enroll.errors import Unprocessable
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import parse, wire
from enroll.graphql.types import Connection, fields_of
from enroll.models import ApiKey as KeyRow


@strawberry.type(description="An API key's metadata, never its secret (REST: ApiKeyOut).")
class ApiKey:
    id: ID
    name: str
    prefix: str = strawberry.field(description="The first characters of the key.")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: KeyRow) -> ApiKey:
        return cls(**fields_of(ApiKeyOut.of(row)))


@strawberry.type(description="A new key and its secret, shown only in this answer.")
class ApiKeyCreated:
    key: ApiKey
    # Named as REST's ApiKeyCreated and the CLI name it: apiKey is the secret itself.
    api_key: str = strawberry.field(description="The key itself. Shown only here, once.")


@strawberry.input(
    description="A new key (REST: ApiKeyCreate); it can grant only scopes the calling key holds."
)
class ApiKeyCreateInput:
    name: str
    scopes: list[str]
    expires_at: datetime | None = UNSET


@strawberry.type
class KeysQuery:
    @field("The workspace's API keys, by id (scope api_keys:manage).", Scope.API_KEYS_MANAGE)
    async def api_keys(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[ApiKey]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.API_KEYS_MANAGE)
        stmt = keys_repo.list_for_workspace(workspace_id)
        return await connection(ctx, stmt, KeyRow.id, ApiKey.of, first=first, after=after)


@strawberry.type
class KeysMutation:
    @mutation(
        "Make a scoped key (scope api_keys:manage); a key grants only scopes it holds. "
        "The secret is answered once.",
        Scope.API_KEYS_MANAGE,
    )
    async def create_api_key(self, info: Info, input: ApiKeyCreateInput) -> ApiKeyCreated:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ApiKeyCreated:
            body = parse(ApiKeyCreate, wire(input))
            if body.expires_at is not None and body.expires_at <= ctx.now():
                raise Unprocessable("expiresAt must be in the future.")
            issued = await keys.issue_scoped_key(
                session,
                principal=principal,
                name=body.name,
                scopes=[s.value for s in body.scopes],
                expires_at=body.expires_at,
            )
            return ApiKeyCreated(key=ApiKey.of(issued.key), api_key=issued.secret)

        return await mutate(info, Scope.API_KEYS_MANAGE, work)

    @mutation(
        "Revoke a key; it stops working at once (scope api_keys:manage).", Scope.API_KEYS_MANAGE
    )
    async def revoke_api_key(self, info: Info, id: ID) -> ApiKey:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ApiKey:
            key = await keys.revoke_key(
                session,
                workspace_id=principal.workspace_id or "",
                key_id=ref(id),
                now=ctx.now(),
                cache=ctx.app.key_cache,
            )
            return ApiKey.of(key)

        return await mutate(info, Scope.API_KEYS_MANAGE, work)
