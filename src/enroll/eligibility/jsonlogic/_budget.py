"""What one evaluation may spend: operations, and items and characters it produces.

Evaluation runs on the event loop, so a rule must not hold it: every evaluation runs under a
``Budget`` and the evaluator charges it *before* doing work whose size depends on the data or
on iteration (a rule's own nodes, each element an iterating operator visits, each array
element or character that a search, a conversion or a concatenation touches or makes).
Spending past either limit raises ``RuleTooCostly``; the check of that criterion becomes an
error instead of the process stalling or growing. Work done at C speed (searching or copying
text) is charged one operation per ``_C_SPEED`` characters.

The limits are sized so that the dearest operation per unit still finishes within about 25 ms
of CPU on a laptop (tests/eligibility/test_jsonlogic_budget.py holds it to 50 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

MAX_OPERATIONS: Final = 50_000
MAX_PRODUCED: Final = 1_000_000  # array items plus characters made by one evaluation
_C_SPEED: Final = 64


class RuleTooCostly(Exception):
    """An evaluation spent its budget; ``code`` is the check's reason."""

    code: Final = "rule_too_costly"


class Budget:
    __slots__ = ("operations", "produced")

    def __init__(self) -> None:
        self.operations = MAX_OPERATIONS
        self.produced = MAX_PRODUCED


_current: ContextVar[Budget | None] = ContextVar("jsonlogic_budget", default=None)


def active() -> bool:
    return _current.get() is not None


@contextmanager
def evaluation_budget() -> Iterator[None]:
    """One budget for every rule evaluated inside (an enrollment's criteria share one).
    Nested, the outer budget stays in force."""
    if _current.get() is not None:
        yield
        return
    token = _current.set(Budget())
    try:
        yield
    finally:
        _current.reset(token)


def run(f: Callable[[Any], Any], data: Any, weight: int) -> Any:
    """``f(data)``, having charged ``weight``, under the current budget or a fresh one (the
    hot path of every evaluation: no context manager)."""
    if _current.get() is not None:
        charge(weight)
        return f(data)
    token = _current.set(Budget())
    try:
        charge(weight)
        return f(data)
    finally:
        _current.reset(token)


def charge(operations: int) -> None:
    """Spend ``operations`` before doing them; outside any budget (SQL, tools) a no-op."""
    budget = _current.get()
    if budget is None:
        return
    budget.operations -= operations
    if budget.operations < 0:
        raise RuleTooCostly(f"the rule needs more than {MAX_OPERATIONS} operations")


def charge_text(characters: int) -> None:
    """Spend for scanning ``characters`` at C speed."""
    if characters >= _C_SPEED:
        charge(characters // _C_SPEED)


def produce(size: int) -> None:
    """Spend for making ``size`` items or characters (and copying them)."""
    budget = _current.get()
    if budget is None:
        return
    budget.produced -= size
    budget.operations -= size // _C_SPEED
    if budget.produced < 0:
        raise RuleTooCostly(f"the rule makes more than {MAX_PRODUCED} items and characters")
    if budget.operations < 0:
        raise RuleTooCostly(f"the rule needs more than {MAX_OPERATIONS} operations")
