"""Small helpers every kind of test uses."""

from __future__ import annotations

import uuid

PROBLEM = "application/problem+json"


def uniq() -> str:
    """A fresh suffix for names, emails and slugs, so tests never meet each other's rows."""
    return uuid.uuid4().hex[:10]
