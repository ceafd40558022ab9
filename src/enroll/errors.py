"""RFC 9457 problem details: one exception type, stable codes, one rendering.

Services raise ``ProblemError`` subclasses; the handlers below turn them (and framework
validation errors) into ``application/problem+json``. Nothing else builds error bodies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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


class ProblemError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extensions = extensions


class BadRequest(ProblemError):
    status, code, title = 400, "bad_request", "Bad request"


class MalformedJson(ProblemError):
    status, code, title = 400, "malformed_json", "Malformed JSON body"


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):
    status, code, title = 403, "insufficient_scope", "Missing scope"


class NotFound(ProblemError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ProblemError):
    status, code, title = 409, "conflict", "Conflict"


class UnsupportedMediaType(ProblemError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(ProblemError):
    status, code, title = 422, "validation_error", "Request failed validation"


RULE_TOO_COMPLEX = "rule_too_complex"
# Validation errors that answer with a code of their own (a 422 like validation_error's).
CODED_VALIDATION_ERRORS = {RULE_TOO_COMPLEX: "Rule too complex"}


def validation_code(details: Sequence[Any]) -> tuple[str, str]:
    """The problem code and title for these pydantic error details."""
    for err in details:
        title = CODED_VALIDATION_ERRORS.get(err.get("type", ""))
        if title is not None:
            return err["type"], title
    return Unprocessable.code, Unprocessable.title


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
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

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        malformed, errors = validation_field_errors(exc, request)
        if malformed:
            return problem_response(
                status=400,
                code=MalformedJson.code,
                title=MalformedJson.title,
                detail="The request body is not valid JSON.",
                instance=request.url.path,
            )
        code, title = validation_code(exc.errors())
        return problem_response(
            status=422,
            code=code,
            title=title,
            detail="; ".join(f"{e.field}: {e.message}" for e in errors[:5]),
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, _exc: StaleDataError) -> Response:
        return problem_response(
            status=409,
            code="concurrent_modification",
            title="Modified concurrently",
            detail="The resource was changed by another request; fetch it and try again.",
            instance=request.url.path,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, _exc: IntegrityError) -> Response:
        # Services translate the constraint violations they expect; this is the safety net
        # for races they cannot see (two requests inserting the same unique value at once).
        return problem_response(
            status=409,
            code="conflict",
            title="Conflict",
            detail="The change conflicts with existing data.",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Response:
        # A bug, never an answer by design: the body is still a problem document. Starlette
        # re-raises after sending it, so the server log keeps the traceback.
        return problem_response(
            status=500,
            code="internal_error",
            title="Internal server error",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers 400 only when the body cannot be parsed (say, nested past the
        # parser's recursion limit): the same problem as any malformed JSON.
        codes = {
            400: MalformedJson.code,
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(app, request.url.path))
        return problem_response(
            status=exc.status_code,
            code=codes.get(exc.status_code, "http_error"),
            title=MalformedJson.title
            if exc.status_code == 400
            else (str(exc.detail) if exc.detail else "HTTP error"),
            instance=request.url.path,
            headers=headers or None,
        )


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at ``path``. Starlette's 405 names only the methods of the
    first route that matched the path, though GET and POST of one path are separate routes."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = [
            (compile_path(route.path_format)[0], set(route.methods))
            for route in iter_route_contexts(app.routes)
            if route.methods and route.path_format
        ]
        app.state.allow_table = table
    return sorted({m for pattern, methods in table if pattern.match(path) for m in methods})
