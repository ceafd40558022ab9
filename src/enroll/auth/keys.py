"""Key material. A key is ``enr_`` + 40 base62 characters; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 12  # "enr_" + 8 characters: shown in listings so people can tell keys apart


def generate_secret() -> str:
    return "enr_" + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def hash_secret(secret: str) -> str:
    # Keys carry 238 bits of entropy, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_prefix(secret: str) -> str:
    return secret[:PREFIX_LENGTH]
