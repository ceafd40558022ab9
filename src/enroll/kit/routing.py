"""The route class every endpoint uses: one transaction per request, committed before the
response leaves, and Idempotency-Key handling for POSTs.

Endpoints never commit; services flush; this class commits or rolls back. Because the commit
happens here rather than in a dependency's teardown, a failed commit (a version conflict, a
unique violation) still becomes a proper error response instead of a 200 for a lost change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from enroll.auth.dependencies import authenticate, get_ctx
from enroll.errors import ProblemError
from enroll.idempotency import service as idempotency

Handler = Callable[[Request], Awaitable[Response]]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            key = request.headers.get("idempotency-key")
            if request.method == "POST" and key is not None:
                return await _run_idempotent(request, handler, key)
            return await _run(request, handler, write=request.method in WRITE_METHODS)

        return route_handler


async def _run(request: Request, handler: Handler, *, write: bool) -> Response:
    async with get_ctx(request).db.transaction(write=write) as session:
        request.state.session = session
        return await handler(request)


async def _run_idempotent(request: Request, handler: Handler, key: str) -> Response:
    ctx = get_ctx(request)
    try:
        principal = await authenticate(request)
    except ProblemError:
        return await _run(request, handler, write=True)  # answers 401 the usual way
    body = await request.body()  # cached on the request; the handler reads it again
    outcome = await idempotency.claim(
        ctx.db,
        scope=principal.idempotency_scope,
        key=key,
        fingerprint=idempotency.fingerprint(request.method, request.url.path, request.url.query, body),
        now=ctx.clock.now(),
        ttl=timedelta(hours=ctx.settings.idempotency_ttl_hours),
    )
    if isinstance(outcome, Response):
        return outcome
    try:
        async with ctx.db.transaction() as session:
            request.state.session = session
            response = await handler(request)
            if 200 <= response.status_code < 300:
                await idempotency.complete(session, outcome, response)
    except BaseException:
        await idempotency.release(ctx.db, outcome)
        raise
    if not 200 <= response.status_code < 300:
        await idempotency.release(ctx.db, outcome)
    return response
