"""The problems of keys and scopes."""

from __future__ import annotations

from enroll.errors import Forbidden


class ScopeEscalation(Forbidden):
    code = "scope_escalation"
    description = "issuing a key with a scope the issuing key lacks"
