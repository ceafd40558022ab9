"""The errors a rule raises when it is compiled or stored (``RuleTooCostly``, raised while it
is evaluated, lives with the budget in ``_budget.py``)."""

from __future__ import annotations


class RuleError(ValueError):
    """A rule that cannot be compiled or stored; ``path`` is a JSON Pointer into the rule."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{message} (at {path!r})" if path else message)
        self.message = message
        self.path = path


class RuleTooComplex(RuleError):
    """A rule over the static limits: refused when stored (``rule_too_complex``)."""


__all__ = ["RuleError", "RuleTooComplex"]
