"""How two enrollment requests are recognised as the same person (one place for the rule).

Three keys, any of which matching makes a duplicate within an instance: the email (stored
lower-cased), the caller's ``referenceId``, and the normalised name and address.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

_NOT_WORD = re.compile(r"[^\w]+")
DEDUPE_KEYS = ("email", "referenceId", "nameAddress")


def _norm(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode() or value
    return _NOT_WORD.sub(" ", folded.casefold()).strip()


def name_address_key(
    *, first_name: Any, last_name: Any, address: Mapping[str, Any] | None
) -> str | None:
    """Normalised first + last name and street, city, state, 5-digit postal code, hashed.

    None unless the names, the first street line and the postal code are all known: a
    partial name or address is too weak to call two people the same.
    """
    address = address or {}
    parts = [
        _norm(first_name),
        _norm(last_name),
        _norm(address.get("streetOne")),
        _norm(address.get("streetTwo")),
        _norm(address.get("city")),
        _norm(address.get("state")),
        _norm(address.get("postalCode"))[:5],
    ]
    if not (parts[0] and parts[1] and parts[2] and parts[6]):
        return None
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
