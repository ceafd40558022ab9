"""RFC 9457 problem details: one exception class per error code, one rendering.

Services raise ``ProblemError`` subclasses; the handlers below turn them (and framework
validation errors) into ``application/problem+json``. Nothing else builds error bodies.

The generic classes here are the status families (``Conflict``, ``Unprocessable``…) and the
codes the framework itself answers (``malformed_json``, ``concurrent_modification``…). A
domain declares its own codes in its ``errors.py`` (``enrollment/errors.py``:
``EnrollmentExists(Conflict)``), each class carrying its status, code, title and description;
``raises`` records on a route which of them it can answer, for the OpenAPI document. Every
class with a code of its own is in ``CATALOG``, from which docs/api.md's error table is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URN naming the problem type: urn:enroll:problem:<code>.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable machine-readable error code.")
    errors: list[FieldError] | None = None


# Every problem class by its code: the error table of docs/api.md lists exactly these.
CATALOG: dict[str, type[ProblemError]] = {}


class ProblemError(Exception):
    """A refusal by design. A subclass declaring a ``code`` names one error: its ``status``
    (inherited from the family it extends), ``title`` and ``description`` (when it happens, as
    the error table of docs/api.md says it)."""

    status: ClassVar[int] = 400
    code: str = "bad_request"
    title: ClassVar[str] = "Bad request"
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            return
        known = CATALOG.get(cls.code)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"{cls.__qualname__}: code {cls.code!r} is {known.__qualname__}'s")
        if not cls.description:
            raise TypeError(f"{cls.__qualname__}: a problem class says when it happens")
        CATALOG[cls.code] = cls

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        # ``code``: only for packages that still raise a family with a code string; a new
        # error is a class of its own.
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extensions = extensions


F = TypeVar("F", bound=Callable[..., Any])


def raises(*problems: type[ProblemError]) -> Callable[[F], F]:
    """Record on a route's endpoint the problems it can answer beyond those every route of
    its kind can (auth, unknown parameters, bodies, path ids, writes: see openapi.py)."""

    def record(endpoint: F) -> F:
        endpoint.problems = (*getattr(endpoint, "problems", ()), *problems)  # type: ignore[attr-defined]
        return endpoint

    return record


def problems_of(endpoint: Callable[..., Any]) -> tuple[type[ProblemError], ...]:
    """What ``raises`` recorded on ``endpoint``."""
    return tuple(getattr(endpoint, "problems", ()))


def error_table() -> str:
    """The error table of docs/api.md: one row per class in ``CATALOG`` (the modules that
    declare them imported), by status and code."""
    rows = sorted(CATALOG.values(), key=lambda p: (p.status, p.code))
    lines = ["| status | code | when |", "| --- | --- | --- |"]
    lines += [f"| {p.status} | `{p.code}` | {p.description} |" for p in rows]
    return "\n".join(lines) + "\n"


# The status families. Each is also the problem of its own code (``conflict``, ``not_found``…).


class BadRequest(ProblemError):
    status, code, title = 400, "bad_request", "Bad request"
    description = "a GraphQL request its transport cannot read (graphql.md)"


class MalformedJson(BadRequest):
    code, title = "malformed_json", "Malformed JSON body"
    description = "the body is not JSON (or nested too deep to parse)"


class UnknownParameter(BadRequest):
    code = "unknown_parameter"
    description = "a query parameter the route does not take (`parameters` names them, as `errors`)"


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthorized", "Authentication required"
    description = "no, unknown, expired or revoked key"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):
    status, code, title = 403, "insufficient_scope", "Missing scope"
    description = "the key lacks a scope the operation requires"


class NotFound(ProblemError):
    status, code, title = 404, "not_found", "Not found"
    description = "no such resource in this workspace"


class MethodNotAllowed(ProblemError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"
    description = "a method the path does not serve; `Allow` lists every one it does"


class Conflict(ProblemError):
    status, code, title = 409, "conflict", "Conflict"
    description = (
        "the change conflicts with existing data (two requests inserting the same unique value"
        " at once)"
    )


class ConcurrentModification(Conflict):
    code, title = "concurrent_modification", "Modified concurrently"
    description = "another request changed the row first; re-read and retry"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    description = (
        "the action is not allowed from the current status (`currentStatus`, `allowedActions`)"
    )


class PayloadTooLarge(ProblemError):
    status, code, title = 413, "payload_too_large", "Request body too large"
    description = "body over `ENROLL_MAX_BODY_BYTES` (1 MiB)"


class UnsupportedMediaType(ProblemError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"
    description = "an import whose `Content-Type` is not one of its formats"


class Unprocessable(ProblemError):
    status, code, title = 422, "validation_error", "Request failed validation"
    description = "wrong types, unknown enum values, unknown fields, missing fields"


class RuleTooComplex(Unprocessable):
    code, title = "rule_too_complex", "Rule too complex"
    description = (
        'an eligibility rule over the static limits (eligibility.md, "Cost bounds"); the'
        " message names the criterion"
    )


class InvalidCursor(Unprocessable):
    code = "invalid_cursor"
    description = (
        "a GraphQL `after` that is not a cursor (REST refuses it as `validation_error` on"
        " `cursor`/`after`)"
    )


class EmptyImport(Unprocessable):
    """Any import's file (enrollments, service locations): platform-wide, like its media type."""

    code = "empty_import"
    description = "an import file that is empty"


class InvalidEncoding(Unprocessable):
    code = "invalid_encoding"
    description = "an import file that is not UTF-8 text (`offset`: its first bad byte)"


class InternalError(ProblemError):
    status, code, title = 500, "internal_error", "Internal server error"
    description = "a bug, never an answer by design; the server log has the traceback"


# Codes of packages that still raise a family with a code string (idempotency, webhook); each
# moves beside its service, which then raises it.


# Validation errors that answer with a code of their own (a 422 like validation_error's).
RULE_TOO_COMPLEX = RuleTooComplex.code
CODED_VALIDATION_ERRORS: dict[str, type[Unprocessable]] = {RULE_TOO_COMPLEX: RuleTooComplex}


def validation_problem(details: Sequence[Any]) -> type[Unprocessable]:
    """The problem class for these pydantic error details."""
    for err in details:
        problem = CODED_VALIDATION_ERRORS.get(err.get("type", ""))
        if problem is not None:
            return problem
    return Unprocessable


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:enroll:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    if extensions:
        body.update(extensions)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def answer(
    problem: type[ProblemError],
    detail: str | None = None,
    *,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    """The response of ``problem`` when no exception is raised (a handler, a middleware)."""
    return problem_response(
        status=problem.status,
        code=problem.code,
        title=title or problem.title,
        detail=detail,
        instance=instance,
        errors=errors,
        headers=headers,
    )


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # Union validators add the model name to the location; it means nothing to a client.
    return ".".join(parts) or str(loc[0] if loc else "body")


def field_errors_of(details: Sequence[Any]) -> tuple[bool, list[FieldError]]:
    """Pydantic error details (``exc.errors()``) as field errors; also whether one says the
    JSON itself was malformed."""
    malformed = False
    errors: list[FieldError] = []
    for err in details:
        kind = err.get("type", "")
        if kind == "json_invalid":
            malformed = True
        message = str(err.get("msg", "invalid"))
        if kind == "extra_forbidden":
            message = "Unknown field."
        elif kind == "missing":
            message = "Field required."
        errors.append(FieldError(field=_location(tuple(err.get("loc", ()))), message=message))
    return malformed, errors


def _missing_body_fields(request: Request) -> list[FieldError]:
    """The required fields of the route's body model: what a request without a body lacks.
    (FastAPI reports the body itself as missing, which names no field a client can send.)"""
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    model = body.field_info.annotation if body is not None else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [
        FieldError(field=field.alias or name, message="Field required.")
        for name, field in model.model_fields.items()
        if field.is_required()
    ]


def validation_field_errors(
    exc: RequestValidationError, request: Request | None = None
) -> tuple[bool, list[FieldError]]:
    """Return (is_malformed_json, field errors)."""
    malformed, errors = field_errors_of(exc.errors())
    missing_body = [
        e for e in exc.errors() if e.get("type") == "missing" and e.get("loc") == ("body",)
    ]
    if missing_body and request is not None:
        named = _missing_body_fields(request)
        if named:
            errors = [e for e in errors if e.field != "body"] + named
    return malformed, errors


async def _problem(request: Request, exc: ProblemError) -> Response:
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    malformed, errors = validation_field_errors(exc, request)
    if malformed:
        return answer(
            MalformedJson, "The request body is not valid JSON.", instance=request.url.path
        )
    return answer(
        validation_problem(exc.errors()),
        "; ".join(f"{e.field}: {e.message}" for e in errors[:5]),
        instance=request.url.path,
        errors=errors,
    )


async def _stale(request: Request, _exc: StaleDataError) -> Response:
    return answer(
        ConcurrentModification,
        "The resource was changed by another request; fetch it and try again.",
        instance=request.url.path,
    )


async def _integrity(request: Request, _exc: IntegrityError) -> Response:
    # Services translate the constraint violations they expect; this is the safety net for
    # races they cannot see (two requests inserting the same unique value at once).
    return answer(Conflict, "The change conflicts with existing data.", instance=request.url.path)


async def _unexpected(request: Request, _exc: Exception) -> Response:
    # A bug, never an answer by design: the body is still a problem document. Starlette
    # re-raises after sending it, so the server log keeps the traceback.
    return answer(InternalError, instance=request.url.path)


# FastAPI answers 400 only when the body cannot be parsed (say, nested past the parser's
# recursion limit): the same problem as any malformed JSON.
_HTTP_PROBLEMS: dict[int, type[ProblemError]] = {
    400: MalformedJson,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request.app, request.url.path))
    problem = _HTTP_PROBLEMS.get(exc.status_code)
    title = str(exc.detail) if exc.detail else "HTTP error"  # Starlette's: "Not Found"
    return problem_response(
        status=exc.status_code,
        code=problem.code if problem is not None else "http_error",
        title=MalformedJson.title if problem is MalformedJson else title,
        instance=request.url.path,
        headers=headers or None,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.exception_handler(ProblemError)(_problem)
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(StaleDataError)(_stale)
    app.exception_handler(IntegrityError)(_integrity)
    app.exception_handler(Exception)(_unexpected)
    app.exception_handler(StarletteHTTPException)(_http)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at ``path``. Starlette's 405 names only the methods of the
    first route that matched the path, though GET and POST of one path are separate routes."""
    table: list[tuple[re.Pattern[str], set[str], int]] | None = getattr(
        app.state, "allow_table", None
    )
    if table is None:
        table = [
            (
                compile_path(route.path_format)[0],
                set(route.methods),
                route.path_format.count("{"),
            )
            for route in iter_route_contexts(app.routes)
            if route.methods and route.path_format
        ]
        app.state.allow_table = table
    matching = [(methods, params) for pattern, methods, params in table if pattern.match(path)]
    # A segment a route names literally is that route's, not another's parameter
    # (/v1/serviceLocations/search is no id, …/plans/quote no plan): the routes with the
    # fewest parameters win.
    fewest = min((params for _, params in matching), default=0)
    return sorted({m for methods, params in matching if params == fewest for m in methods})
