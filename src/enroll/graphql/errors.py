"""GraphQL errors with REST's problem codes.

Every error's ``extensions`` carry what the REST problem body carries (``code``, ``status``,
``title``, ``type``, ``detail``, ``errors`` and the problem's own members such as
``allowedActions``), so a client handles ``invalid_transition`` the same way on both doors.
Errors of the document itself get codes of their own: ``malformed_query`` (it does not parse),
``validation_error`` (it does not fit the schema, or a variable has the wrong type),
``query_too_deep`` and ``query_too_complex`` (see limits.py). Anything unexpected is an
``internal_error`` whose message says nothing more.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from enroll.errors import (
    ConcurrentModification,
    Conflict,
    InternalError,
    ProblemError,
    Unprocessable,
)
from enroll.graphql.limits import limit_code

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    status: int
    code: str
    title: str
    detail: str | None = None
    members: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, problem: type[ProblemError], detail: str | None = None) -> Problem:
        return cls(problem.status, problem.code, problem.title, detail)


_TITLES = {
    "query_too_deep": "Query too deep",
    "query_too_complex": "Query too complex",
}


def problem_of(error: GraphQLError) -> Problem:
    original = error.original_error
    if isinstance(original, ProblemError):
        members = dict(original.extensions)
        if original.errors is not None:
            members["errors"] = [e.model_dump() for e in original.errors]
        return Problem(original.status, original.code, original.title, original.detail, members)
    if isinstance(original, StaleDataError):
        return Problem.of(
            ConcurrentModification,
            "The resource was changed by another request; fetch it and try again.",
        )
    if isinstance(original, IntegrityError):
        return Problem.of(Conflict, "The change conflicts with existing data.")
    if error.path is not None:
        # Raised while resolving a field, by no service: a bug, never an answer by design.
        return Problem.of(InternalError)
    # Before anything ran: the document or its variables.
    code = (error.extensions or {}).get("code") or limit_code(error.message)
    if isinstance(code, str):
        return Problem(400, code, _TITLES.get(code, "Query refused"), error.message)
    if isinstance(error, GraphQLSyntaxError):
        return Problem(400, "malformed_query", "Malformed query", error.message)
    return Problem.of(Unprocessable, without_values(error.message))


# GraphQL-core's coercion errors quote the value they refuse ("String cannot represent a non
# string value: 219099999"). A value sent in the wrong shape may be a tax id: the answer names
# the field and what was expected, never the value (security.md).
_ECHOES = (
    (re.compile(r"(cannot represent [^:]*value): .*$", re.S), r"\1."),
    (
        re.compile(r"Value .* does not exist in ('[^']*') enum\.", re.S),
        r"Not a value of the \1 enum.",
    ),
    (re.compile(r", found: .*$", re.S), "."),
    (re.compile(r"(?<=[.?]) Found: .*$", re.S), ""),
)


def without_values(message: str) -> str:
    for pattern, replacement in _ECHOES:
        message = pattern.sub(replacement, message)
    return message


def is_expected(error: GraphQLError) -> bool:
    return problem_of(error).status < 500


def format_error(error: GraphQLError) -> dict[str, Any]:
    problem = problem_of(error)
    formatted: dict[str, Any] = {"message": problem.detail or problem.title}
    if error.locations:
        formatted["locations"] = [loc.formatted for loc in error.locations]
    if error.path is not None:
        formatted["path"] = error.path
    extensions: dict[str, Any] = {
        "code": problem.code,
        "status": problem.status,
        "title": problem.title,
        "type": f"urn:enroll:problem:{problem.code}",
    }
    if problem.detail:
        extensions["detail"] = problem.detail
    extensions.update(problem.members)
    formatted["extensions"] = extensions
    return formatted


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Log what is a bug; refusals by design (not found, invalid transition…) are answers."""
    for error in errors:
        if not is_expected(error):
            log.error("GraphQL error at %s", error.path, exc_info=error.original_error or error)
