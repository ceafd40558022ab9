"""The route class every endpoint uses: one transaction per request, committed before the
response leaves, Idempotency-Key handling for POSTs, no NUL characters in ids or queries (nor
query bytes that are not UTF-8), and no query parameter the route does not declare (a misspelt
filter must not list everything).

Endpoints never commit; services flush; this class commits or rolls back. Because the commit
happens here rather than in a dependency's teardown, a failed commit (a version conflict, a
unique violation) still becomes a proper error response instead of a 200 for a lost change.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.responses import Response

from enroll.api.dependencies import app_context, authenticate
from enroll.errors import (
    FieldError,
    NotFound,
    ProblemError,
    UnknownParameter,
    Unprocessable,
)
from enroll.idempotency import service as idempotency

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OWN_TRANSACTIONS = "__enroll_own_transactions__"
F = TypeVar("F", bound=Callable[..., Any])


def own_transactions(endpoint: F) -> F:
    """Mark an endpoint that streams its body and opens its transactions itself (an upload
    of any size cannot sit in one transaction, nor be read whole for Idempotency-Key)."""
    setattr(endpoint, _OWN_TRANSACTIONS, True)
    return endpoint


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        known = frozenset(_query_names(self.dependant))
        if getattr(self.endpoint, _OWN_TRANSACTIONS, False):

            async def own_handler(request: Request) -> Response:
                _refuse_unknown(request, known)
                _refuse_nul(request)
                return await handler(request)

            return own_handler

        async def route_handler(request: Request) -> Response:
            _refuse_unknown(request, known)
            _refuse_nul(request)
            key = request.headers.get("idempotency-key")
            if request.method == "POST" and key is not None:
                return await _run_idempotent(request, handler, key)
            return await _run(request, handler, write=request.method in WRITE_METHODS)

        return route_handler


def _query_names(dependant: Dependant) -> list[str]:
    """The query parameters a route declares, its dependencies' (pagination, filters) too."""
    names = [p.alias for p in dependant.query_params]
    for dep in dependant.dependencies:
        names += _query_names(dep)
    return names


def _refuse_unknown(request: Request, known: frozenset[str]) -> None:
    """400 ``unknown_parameter`` naming every query parameter the route does not take."""
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise UnknownParameter(
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            parameters=unknown,
            errors=[FieldError(field=n, message="Not a parameter of this route.") for n in unknown],
        )


def _refuse_nul(request: Request) -> None:
    """Stop U+0000 in path ids and query values before it reaches a query: PostgreSQL cannot
    hold or compare such text. (Bodies are checked by the schema base, kit/schemas.py.)"""
    if any("\x00" in value for value in request.path_params.values() if isinstance(value, str)):
        raise NotFound("No such resource.")
    names = sorted({k for k, v in request.query_params.multi_items() if "\x00" in k + v})
    if names:
        raise Unprocessable(
            "Query parameters must not contain NUL (U+0000) characters.",
            errors=[FieldError(field=n, message="Must not contain NUL characters.") for n in names],
        )
    names = _not_utf8(request.scope.get("query_string", b""))
    if names:
        raise Unprocessable(
            "Query parameters must be UTF-8 once percent-decoded.",
            errors=[FieldError(field=n, message="Not UTF-8 text.") for n in names],
        )


def _not_utf8(query: bytes) -> list[str]:
    """The parameters whose percent-decoded bytes are not UTF-8 (``%ED%A0%80``, a surrogate
    as Python would write it): Starlette would read them as U+FFFD and match nothing."""
    names = set()
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        raw_name, raw_value = (unquote_to_bytes(x.replace(b"+", b" ")) for x in (name, value))
        try:
            raw_name.decode()
            raw_value.decode()
        except UnicodeDecodeError:
            names.add(raw_name.decode(errors="replace"))
    return sorted(names)


async def _run(request: Request, handler: Handler, *, write: bool) -> Response:
    async with app_context(request).db.transaction(write=write) as session:
        request.state.session = session
        return await handler(request)


async def _run_idempotent(request: Request, handler: Handler, key: str) -> Response:
    ctx = app_context(request)
    try:
        principal = await authenticate(request)
    except ProblemError:
        return await _run(request, handler, write=True)  # answers 401 the usual way
    body = await request.body()  # cached on the request; the handler reads it again
    outcome = await idempotency.begin(
        ctx,
        scope=principal.idempotency_scope,
        key=key,
        fingerprint=idempotency.fingerprint(
            request.method, request.url.path, request.url.query, body
        ),
    )
    if isinstance(outcome, Response):
        return outcome
    # An error answer (not 2xx) is not stored: leaving the guard uncompleted releases the key.
    async with outcome as guard, ctx.db.transaction() as session:
        request.state.session = session
        response = await handler(request)
        if 200 <= response.status_code < 300:
            await guard.complete(session, response)
    return response
