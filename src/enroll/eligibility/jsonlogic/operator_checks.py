"""The write-time checks of single operators (``Spec.check``), run by ``validate_rule``:
literal arguments of the wrong kind, and a ``reduce`` whose accumulator doubles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from enroll.eligibility.jsonlogic._js import is_array, kind
from enroll.eligibility.jsonlogic.compiler import SCOPED, Call, is_call
from enroll.eligibility.jsonlogic.errors import RuleError, RuleTooComplex


def _literal_kind(c: Call, i: int) -> str | None:
    """The JavaScript kind of argument ``i`` if it is a literal, None for an operator."""
    if c.is_op(i) or i >= len(c.args):
        return None
    value = c.args[i]
    return "array" if is_array(value) else kind(value)


def check_var(c: Call) -> None:
    if _literal_kind(c, 0) not in (None, "string", "number", "null"):
        raise RuleError("'var' takes a path: a string, a number, null or a rule", path=c.at(0))


def check_in(c: Call) -> None:
    if _literal_kind(c, 1) not in (None, "string", "array"):
        raise RuleError("'in' looks in a string or an array", path=c.at(1))


def check_scoped(c: Call) -> None:
    if _literal_kind(c, 0) not in (None, "array"):
        raise RuleError(f"{c.op!r} iterates over an array or a rule", path=c.at(0))


def check_reduce(c: Call) -> None:
    """Refuse a reduce that joins its accumulator with itself: it doubles at every step."""
    check_scoped(c)
    if len(c.args) < 2:
        return
    for node in _same_scope(c.args[1]):
        joins = is_call(node) and next(iter(node)) in ("cat", "merge")
        if joins and sum(1 for n in _same_scope(node) if _reads_accumulator(n)) > 1:
            raise RuleTooComplex(
                "the logic of 'reduce' joins the accumulator with itself, which doubles it at"
                " every step",
                path=c.at(1),
            )


def _same_scope(rule: Any) -> Iterator[Any]:
    """``rule`` and its nodes that read the same data (not an iterating operator's logic)."""
    stack = [rule]
    while stack:
        node = stack.pop()
        yield node
        if is_call(node):
            ((op, value),) = node.items()
            args = list(value) if is_array(value) else [value]
            stack.extend(args[:1] + args[2:] if op in SCOPED else args)
        elif is_array(node):
            stack.extend(node)


def _reads_accumulator(node: Any) -> bool:
    if not is_call(node) or "var" not in node:
        return False
    path = node["var"]
    if is_array(path):
        path = path[0] if path else None
    return isinstance(path, str) and (path == "accumulator" or path.startswith("accumulator."))


def check_missing_some(c: Call) -> None:
    if _literal_kind(c, 0) not in (None, "number"):
        raise RuleError("'missing_some' needs a number first", path=c.at(0))
    if _literal_kind(c, 1) not in (None, "array"):
        raise RuleError("'missing_some' needs a list of keys second", path=c.at(1))
