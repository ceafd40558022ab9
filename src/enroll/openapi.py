"""The OpenAPI 3.1 document, completed from the routes themselves.

Scopes come from the ``require`` dependencies, error responses from what each route can meet
(auth, path ids, bodies, writes), so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from enroll.errors import FieldError, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_TITLES = {
    400: "Malformed request (for example, a body that is not JSON)",
    401: "Missing, unknown, expired or revoked API key",
    403: "The key lacks the scope this route requires",
    404: "No such resource in this workspace",
    409: "Conflicts with the current state (invalid transition, duplicate, concurrent change)",
    413: "Request body too large",
    422: "Request failed validation; `errors` lists the fields",
}
_WRITES = {"post", "patch", "put", "delete"}


def _scopes(dependant: Dependant) -> list[str] | None:
    for dep in dependant.dependencies:
        scopes = getattr(dep.call, "required_scopes", None)
        if scopes is not None:
            return list(scopes)
        nested = _scopes(dep)
        if nested is not None:
            return nested
    return None


def _error_codes(route: APIRoute, method: str, authed: bool) -> list[int]:
    codes = {422} if (route.dependant.query_params or route.dependant.path_params) else set()
    if authed:
        codes |= {401, 403}
    if route.dependant.path_params:
        codes.add(404)
    if route.dependant.body_params:
        codes |= {400, 413, 422}
    if method in _WRITES:
        codes |= {404, 409, 422} if route.dependant.path_params else {409, 422}
    return sorted(codes)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version="3.1.0",
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["FieldError"] = FieldError.model_json_schema()
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem.pop("$defs", None)
    schemas["Problem"] = problem
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An Enroll API key."}
    }
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        scopes = _scopes(route.dependant)
        for method in route.methods:
            op = schema["paths"][route.path_format][method.lower()]
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if scopes is not None:
                op["security"] = [{"bearerAuth": []}]
                op["x-required-scopes"] = scopes
                needs = ", ".join(f"`{s}`" for s in scopes) or "any valid key"
                op["description"] = (op.get("description", "") + f"\n\nRequires: {needs}.").strip()
            if method == "POST":
                op.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Retry safely: the same key and body replay the first response.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }
                )
            for code in _error_codes(route, method.lower(), scopes is not None):
                responses[str(code)] = {
                    "description": _TITLES[code],
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
