"""What a stored failure (a job's ``lastError``, an import's ``error``) may say.

Errors the platform foresees (a problem it raised on purpose, an endpoint or mail server that
could not be reached) are shown as they are: they tell the workspace what to fix. Anything
else, a database error or a bug, is shown as a sentence with an error id: a database error's
text carries SQL, parameters and schema names, which are the operator's business, not the
workspace's. The full exception goes to the server log under that id.
"""

from __future__ import annotations

import logging
import secrets

import httpx
from sqlalchemy.exc import SQLAlchemyError

from enroll.errors import ProblemError
from enroll.kit.outbound import Unreachable

MAX_CHARS = 2000
# Raised on purpose, with a message written for the workspace (OSError: sockets, SMTP).
_FORESEEN = (ProblemError, Unreachable, httpx.HTTPError, OSError, TimeoutError)


def logged(log: logging.Logger, exc: BaseException, what: str) -> str:
    """Log ``exc`` in full under a new error id, and return the id."""
    error_id = f"err_{secrets.token_hex(8)}"
    log.error("%s: internal error %s", what, error_id, exc_info=exc)
    return error_id


def internal(log: logging.Logger, exc: BaseException, what: str) -> str:
    """Log ``exc`` in full under a new error id; the sentence to store instead of it."""
    return f"Internal error (id {logged(log, exc, what)}); the details are in the server log."


def describe(log: logging.Logger, exc: BaseException, what: str) -> str:
    """The text to store for a failure: its own message when foreseen, else ``internal``."""
    if isinstance(exc, _FORESEEN) and not isinstance(exc, SQLAlchemyError):
        return f"{type(exc).__name__}: {exc}".rstrip(": ")[:MAX_CHARS]
    return internal(log, exc, what)
