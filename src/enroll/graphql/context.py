"""What one GraphQL request holds: who is calling, its one transaction, and its data loaders.

The transaction opens at the first resolver that needs the database (a write transaction when
that is a mutation) and ends in ``finish`` once the whole operation ran: committed when no
mutation failed, rolled back otherwise, like a REST request (api/routing.py). Sibling fields of
a query resolve concurrently while a session allows one statement at a time, so every use of
the session goes through ``use`` (a lock); the data loaders take it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from strawberry.fastapi import BaseContext

from enroll.api.dependencies import app_context, authenticate
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import Forbidden, ProblemError
from enroll.graphql.loaders import Loaders

T = TypeVar("T")


class _Rollback(Exception):
    """Thrown into the transaction's context manager to make it roll back."""


class GraphQLContext(BaseContext):
    def __init__(self, request: Request) -> None:
        super().__init__()
        self.request = request
        self.http_request = request  # typed: BaseContext's ``request`` may be a WebSocket
        self.app: AppContext = app_context(request)
        self.lock = asyncio.Lock()
        self.mutation_failed = False
        self._auth_lock = asyncio.Lock()
        self._principal: Principal | ProblemError | None = None
        self._transaction: AbstractAsyncContextManager[AsyncSession] | None = None
        self._session: AsyncSession | None = None
        self._loaders: Loaders | None = None

    # --- who is calling -------------------------------------------------------------------

    async def principal(self, *scopes: Scope, workspace: bool = True) -> Principal:
        """The caller, refused as the REST ``require`` dependency refuses it: 401 without a
        valid key, 403 ``insufficient_scope`` without a scope (or with a platform key where a
        workspace key is needed)."""
        async with self._auth_lock:  # sibling fields authenticate once
            if self._principal is None:
                try:
                    self._principal = await authenticate(self.http_request)
                except ProblemError as exc:
                    self._principal = exc
        if isinstance(self._principal, ProblemError):
            raise self._principal
        principal = self._principal
        if workspace and principal.workspace_id is None:
            raise Forbidden("This field needs a workspace key; platform keys manage programs only.")
        missing = [s.value for s in scopes if s.value not in principal.scopes]
        if missing:
            raise Forbidden(f"This field requires the scope {', '.join(missing)}.")
        return principal

    async def workspace_id(self, *scopes: Scope) -> str:
        principal = await self.principal(*scopes)
        assert principal.workspace_id is not None  # principal() refuses platform keys
        return principal.workspace_id

    def now(self) -> datetime:
        return self.app.clock.now()

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self)
        return self._loaders

    # --- the transaction ------------------------------------------------------------------

    @asynccontextmanager
    async def use(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """The request's session, for one piece of work at a time."""
        async with self.lock:
            if self._session is None:
                self._transaction = self.app.db.transaction(write=write)
                self._session = await self._transaction.__aenter__()
            yield self._session

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.use() as session:
            return await work(session)

    async def mutate(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run one mutation's work; a failure marks the request for rollback. (Mutation
        results are non-null, so GraphQL runs none of the mutations after a failed one.)"""
        try:
            async with self.use(write=True) as session:
                return await work(session)
        except BaseException:
            self.mutation_failed = True
            raise

    async def finish(self, *, commit: bool) -> None:
        """End the transaction: commit (raising what the commit raises, after rolling back)
        or roll back. Nothing to do when no resolver touched the database."""
        transaction, self._transaction, self._session = self._transaction, None, None
        if transaction is None:
            return
        if commit:
            await transaction.__aexit__(None, None, None)
        else:
            signal = _Rollback()
            await transaction.__aexit__(_Rollback, signal, None)


async def get_context(request: Request) -> GraphQLContext:
    """The context getter of the router (a FastAPI dependency)."""
    return GraphQLContext(request)


def info_context(info: Any) -> GraphQLContext:
    context: GraphQLContext = info.context
    return context
