"""FastAPI dependencies: who is calling, and may they?"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth import repository
from enroll.auth.keys import hash_secret
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.auth.service import load_principal
from enroll.context import AppContext
from enroll.errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


# Dependencies are coroutines so FastAPI calls them inline rather than hopping to a thread.
async def get_ctx(request: Request) -> AppContext:
    return app_context(request)


async def get_session(request: Request) -> AsyncSession:
    """The request's transaction, opened by the route class (see api/routing.py)."""
    session: AsyncSession = request.state.session
    return session


async def _touch(ctx: AppContext, key_id: str, at: datetime) -> None:
    try:
        async with ctx.db.transaction() as session:
            await repository.touch(session, key_id=key_id, at=at)
    except Exception:  # bookkeeping only; never fail a request over it
        log.exception("could not record last use of key %s", key_id)


async def authenticate(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as `Authorization: Bearer <key>`.")
    ctx = app_context(request)
    secret_hash = hash_secret(token.strip())
    now = ctx.clock.now()
    principal = ctx.key_cache.get(secret_hash)
    if principal is None:
        async with ctx.db.transaction(write=False) as session:
            principal = await load_principal(session, secret_hash=secret_hash, now=now)
        ctx.key_cache.put(secret_hash, principal)
        ctx.spawn(_touch(ctx, principal.key_id, now))
    elif principal.expires_at is not None and principal.expires_at <= now:
        ctx.key_cache.forget(secret_hash)
        raise Unauthorized("The API key has expired.")
    request.state.principal = principal
    return principal


def require(*scopes: Scope, workspace: bool = True) -> Any:
    """A dependency granting access to keys holding every scope in ``scopes``.

    ``workspace=False`` admits platform keys too (the Program catalog).
    The scopes are recorded on the dependency so the OpenAPI document can list them.
    """

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if workspace and principal.workspace_id is None:
            raise Forbidden("This route needs a workspace key; platform keys manage programs only.")
        missing = [s.value for s in scopes if s.value not in principal.scopes]
        if missing:
            raise Forbidden(f"This route requires the scope {', '.join(missing)}.")
        return principal

    dependency.required_scopes = [s.value for s in scopes]  # type: ignore[attr-defined]
    return Depends(dependency)


def workspace_id_of(principal: Principal) -> str:
    assert principal.workspace_id is not None  # require(workspace=True) guarantees it
    return principal.workspace_id
