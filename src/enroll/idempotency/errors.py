"""The errors of Idempotency-Key handling (idempotency/service.py)."""

from __future__ import annotations

from enroll.errors import Conflict, Unprocessable


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    description = "a request with this key is still running (`Retry-After`)"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    description = "the `Idempotency-Key` of an earlier request with another body"


class InvalidIdempotencyKey(Unprocessable):
    code = "invalid_idempotency_key"
    description = "an `Idempotency-Key` that is not 1-255 printable ASCII characters"
