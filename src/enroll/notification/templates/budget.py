"""The limits of a render and its work budget: every guarded operation spends steps
(``spend``), refuses a result that could pass ``MAX_SIZE`` before building it (``too_big``)
and pays a step per hundred items it built (``charge``); past them, ``LimitExceeded``."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

MAX_STEPS = 20_000  # work units one render may spend (a few milliseconds each thousand)
MAX_SIZE = 1_000_000  # longest text or list one operation may build
MAX_NUMBER_ARGUMENT = 100_000  # largest number a call or filter may take (widths, counts)
MAX_INT_BITS = 4096  # largest integer ``*`` and ``**`` may produce
MACRO_STEPS = 5  # a macro call costs Jinja2 as much as a few other steps
MAX_ARGUMENTS = 1000  # ``f(*range(100000))`` would weigh and check each
MAX_SUBJECT_CHARS = 1_000
MAX_BODY_CHARS = 100_000


class LimitExceeded(Exception):
    """The template asked for more work or a bigger value than a render may have."""


# --- the budget ------------------------------------------------------------------------------


class Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_STEPS


BUDGET: ContextVar[Budget | None] = ContextVar("enroll_template_budget", default=None)


def spend(steps: int = 1) -> None:
    budget = BUDGET.get()
    if budget is None:
        return  # compiling (constant folding is off for guarded operators anyway)
    budget.left -= steps
    if budget.left < 0:
        raise LimitExceeded("The template does too much work (loops, calls or text built).")


def too_big(bound: int) -> None:
    """Refuse an operation whose result could be longer than ``MAX_SIZE``, before it runs."""
    if bound > MAX_SIZE:
        raise LimitExceeded(f"The template would build a value longer than {MAX_SIZE:,} items.")


def charge(result: Any) -> Any:
    """After an operation: a step per hundred items it built (the safety net for sizes)."""
    size = len(result) if isinstance(result, str | bytes | list | tuple | dict) else 0
    too_big(size)
    spend(1 + size // 100)
    return result
