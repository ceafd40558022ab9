"""The OpenAPI 3.1 document, completed from the routes themselves.

Scopes come from the ``require`` dependencies; error responses from what every route of its
kind can meet (auth, path ids, bodies, writes) and the problem classes its endpoint declares
with ``errors.raises``, so the document cannot drift from the code.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import Any, cast, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from enroll.errors import (
    ConcurrentModification,
    Conflict,
    FieldError,
    Forbidden,
    MalformedJson,
    NotFound,
    PayloadTooLarge,
    Problem,
    ProblemError,
    Unauthorized,
    UnknownParameter,
    Unprocessable,
    problems_of,
)
from enroll.idempotency import service as idempotency
from enroll.idempotency.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
from enroll.kit.fields import NON_BLANK, RESOURCE_REFERENCE
from enroll.kit.schemas import METADATA_DEPTH

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_TITLES = {
    400: "Malformed request (a body that is not JSON, an unknown query parameter)",
    401: "Missing, unknown, expired or revoked API key",
    403: "The key lacks the scope this route requires",
    404: "No such resource in this workspace (named in the path or the body)",
    409: "Conflicts with the current state (invalid transition, duplicate, concurrent change)",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Request failed validation; `errors` lists the fields",
}
_WRITES = {"post", "patch", "put", "delete"}
# Endpoint function names that would make a poor client method name (too generic once outside
# their module). Every other operation is named after its function, camelCased.
_OPERATION_IDS = {
    "create_endpoint": "createWebhookEndpoint",
    "list_endpoints": "listWebhookEndpoints",
    "get_endpoint": "getWebhookEndpoint",
    "update_endpoint": "updateWebhookEndpoint",
    "delete_endpoint": "deleteWebhookEndpoint",
    "rotate_secret": "rotateWebhookSecret",
    "list_deliveries": "listWebhookDeliveries",
    "send_test": "testWebhookEndpoint",
    "replay": "replayWebhookEvents",
    "get_delivery": "getWebhookDelivery",
    "retry_delivery": "retryWebhookDelivery",
    "enrollment_history": "listEnrollmentHistory",
    "service_task_log": "getServiceTaskLog",
}


def operation_id(route: APIRoute) -> str:
    """A stable camelCase ``operationId`` (``createEnrollment``): generated clients name their
    methods after it, so it must not change with the path or the HTTP method."""
    return _OPERATION_IDS.get(route.name) or to_camel(route.name)


def _scopes(dependant: Dependant) -> list[str] | None:
    for dep in dependant.dependencies:
        scopes = getattr(dep.call, "required_scopes", None)
        if scopes is not None:
            return list(scopes)
        nested = _scopes(dep)
        if nested is not None:
            return nested
    return None


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    """The route's dependant and every sub-dependency (pagination, filters, auth)."""
    yield dependant
    for dep in dependant.dependencies:
        yield from _dependants(dep)


def _names_a_resource(annotation: Any, seen: set[type[BaseModel]]) -> bool:
    """Whether a body of this type can name another resource (a ``Reference`` field)."""
    if annotation is RESOURCE_REFERENCE:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return False
        seen.add(annotation)
        return any(
            _names_a_resource(f.annotation, seen) or RESOURCE_REFERENCE in f.metadata
            for f in annotation.model_fields.values()
        )
    return any(_names_a_resource(arg, seen) for arg in get_args(annotation))


def _generic_problems(route: APIRoute, method: str, authed: bool) -> list[type[ProblemError]]:
    """What any route of this kind can answer: unknown query parameters (every route), auth,
    ids in the path or the body, bodies, writes, an Idempotency-Key."""
    deps = list(_dependants(route.dependant))
    path_params = any(d.path_params for d in deps)
    params = path_params or any(d.query_params or d.header_params or d.cookie_params for d in deps)
    bodies = [p.field_info.annotation for d in deps for p in d.body_params]
    problems: list[type[ProblemError]] = [UnknownParameter]
    if params:
        problems.append(Unprocessable)
    if authed:
        problems += [Unauthorized, Forbidden]
    if path_params or any(_names_a_resource(b, set()) for b in bodies):
        problems.append(NotFound)
    if bodies:
        problems += [MalformedJson, PayloadTooLarge, Unprocessable]
    if method in _WRITES:
        problems += [NotFound] if path_params else []
        problems += [Conflict, ConcurrentModification, Unprocessable]
    if method == "post":
        problems += [IdempotencyKeyInUse, IdempotencyKeyReused, InvalidIdempotencyKey]
    return problems


def error_responses(problems: Iterable[type[ProblemError]]) -> dict[str, dict[str, Any]]:
    """One response per status, naming the codes a client can meet under it."""
    by_status: dict[int, dict[str, None]] = {}
    for problem in problems:
        by_status.setdefault(problem.status, {})[problem.code] = None
    return {
        str(status): {
            "description": f"{_TITLES.get(status, 'Error')}: "
            + ", ".join(f"`{code}`" for code in codes),
            "content": {"application/problem+json": {"schema": PROBLEM_REF}},
        }
        for status, codes in sorted(by_status.items())
    }


# What kit/schemas.py `storable` refuses, said in the schema: no NUL in text, integers within
# 64 bits. Applied to every schema a request can carry.
NUL_FREE = "^[^\\u0000]*$"
INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
_SCALARS: list[dict[str, Any]] = [
    {"type": "string", "pattern": NUL_FREE},
    {"type": "number", **INT64},
    {"type": "boolean"},
    {"type": "null"},
]


def _json_values() -> dict[str, dict[str, Any]]:
    """Storable metadata values as a chain of components, one per level: ``JsonValue`` (a value
    of a ``metadata`` object) may hold arrays and objects of ``JsonValue{n-1}``, and so on down
    to ``JsonValue0``, scalars only: the ``METADATA_DEPTH`` levels the server allows. A chain,
    not a self-reference: client generators cannot parse a recursive union."""
    names = [f"JsonValue{n}" for n in range(METADATA_DEPTH - 1)] + ["JsonValue"]
    values: dict[str, dict[str, Any]] = {names[0]: {"anyOf": list(_SCALARS)}}
    for below, name in pairwise(names):
        inner = {"$ref": f"#/components/schemas/{below}"}
        values[name] = {
            "anyOf": [
                *_SCALARS,
                {"type": "array", "items": inner},
                {
                    "type": "object",
                    "propertyNames": {"pattern": NUL_FREE},
                    "additionalProperties": inner,
                },
            ]
        }
    values["JsonValue"]["description"] = (
        "A metadata value the database can store: no NUL in text, numbers within the 64-bit "
        "integer range, "
        f"lists and objects nested at most {METADATA_DEPTH} levels counting the metadata object."
    )
    return values


JSON_VALUES = _json_values()
_FREE_FORMATS = {"date-time", "date", "time", "duration", "uri", "email"}


def _storable_only(node: Any, refs: set[str]) -> None:
    """Tighten a request schema in place to what the server stores; collect the components it
    refers to so they are tightened too."""
    if isinstance(node, list):
        for item in node:
            _storable_only(item, refs)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        refs.add(ref.rsplit("/", 1)[1])
    kind = node.get("type")
    if kind == "string" and not ({"pattern", "enum", "const"} & node.keys()):
        if node.get("format") not in _FREE_FORMATS:
            # Text is stripped before its length is checked: a required one needs a non-space.
            node["pattern"] = NON_BLANK if node.get("minLength", 0) >= 1 else NUL_FREE
    elif kind == "integer":
        node.setdefault("minimum", INT64["minimum"])
        node.setdefault("maximum", INT64["maximum"])
    elif kind == "object" and node.get("additionalProperties") is True:
        node["additionalProperties"] = dict(JSON_VALUE_REF)
        node["propertyNames"] = {"pattern": NUL_FREE}
    if node.get("items") == {}:
        node["items"] = dict(JSON_VALUE_REF)
    for key, value in node.items():
        if key not in ("enum", "const", "default", "examples", "example"):
            _storable_only(value, refs)


def _tighten_requests(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    components.update(JSON_VALUES)
    pending: set[str] = set()
    for item in schema["paths"].values():
        for op in item.values():
            _storable_only(op.get("parameters", []), pending)
            _storable_only(op.get("requestBody", {}), pending)
    done = set(JSON_VALUES)
    while pending - done:
        name = (pending - done).pop()
        done.add(name)
        if name in components:
            _storable_only(components[name], pending)


def _plain_optional_body(op: dict[str, Any]) -> None:
    """Declare ``body: Model | None = None`` as what it is: an optional request body holding a
    ``Model``. FastAPI spells it ``anyOf: [Model, null]``, which generated clients take for a
    required JSON value and then fail to serialise when left out."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    variants = content.get("schema", {}).get("anyOf", [])
    objects = [v for v in variants if v != {"type": "null"}]
    if len(variants) == 2 and len(objects) == 1:
        content["schema"] = objects[0]
        op["requestBody"]["required"] = False


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry safely: the same key and body replay the first response. A key names "
    "one request: reusing it for another answers 422 `idempotency_key_reused`.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": idempotency.KEY_PATTERN,
    },
}


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
    # Included routers are not flattened into app.routes (FastAPI >= 0.16x): walk the routes as
    # included, whose dependant carries the router's prefix and dependencies.
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        route = cast(APIRoute, context)
        scopes = _scopes(route.dependant)
        for method in route.methods or ():
            op = schema["paths"][route.path_format][method.lower()]
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            _plain_optional_body(op)
            if scopes is not None:
                op["security"] = [{"bearerAuth": []}]
                op["x-required-scopes"] = scopes
                needs = ", ".join(f"`{s}`" for s in scopes) or "any valid key"
                op["description"] = (op.get("description", "") + f"\n\nRequires: {needs}.").strip()
            if method == "POST":
                op.setdefault("parameters", []).append(copy.deepcopy(_IDEMPOTENCY_KEY))
            problems = _generic_problems(route, method.lower(), scopes is not None)
            responses.update(error_responses([*problems, *problems_of(route.endpoint)]))
    _tighten_requests(schema)
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
