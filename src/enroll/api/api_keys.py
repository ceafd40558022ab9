from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth import repository, service
from enroll.auth.errors import ScopeEscalation
from enroll.auth.principal import Principal
from enroll.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import Unprocessable, raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import ApiKey

router = APIRouter(prefix="/v1/apiKeys", tags=["api keys"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Manager = Annotated[Principal, require(Scope.API_KEYS_MANAGE)]


@router.post("", status_code=201)
@raises(ScopeEscalation)
async def create_api_key(
    body: ApiKeyCreate,
    session: Session,
    principal: Manager,
    ctx: Annotated[AppContext, Depends(get_ctx)],
) -> ApiKeyCreated:
    """Make a scoped key. A key can grant only scopes it holds. The secret is shown once."""
    if body.expires_at is not None and body.expires_at <= ctx.clock.now():
        raise Unprocessable("expiresAt must be in the future.")
    issued = await service.issue_scoped_key(
        session,
        principal=principal,
        name=body.name,
        scopes=[s.value for s in body.scopes],
        expires_at=body.expires_at,
    )
    return ApiKeyCreated(**ApiKeyOut.of(issued.key).model_dump(), api_key=issued.secret)


@router.get("")
async def list_api_keys(
    session: Session, principal: Manager, params: Annotated[PageParams, Depends(page_params)]
) -> Page[ApiKeyOut]:
    stmt = repository.list_for_workspace(workspace_id_of(principal))
    result = await paginate(session, stmt, params, ApiKey.id)
    return result.to_page([ApiKeyOut.of(k) for k in result.items])


@router.delete("/{key_id}")
async def revoke_api_key(
    key_id: str, session: Session, principal: Manager, ctx: Annotated[AppContext, Depends(get_ctx)]
) -> ApiKeyOut:
    """Revoke a key; it stops working at once."""
    key = await service.revoke_key(
        session,
        workspace_id=workspace_id_of(principal),
        key_id=key_id,
        now=ctx.clock.now(),
        cache=ctx.key_cache,
    )
    return ApiKeyOut.of(key)
