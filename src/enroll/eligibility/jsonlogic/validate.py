"""``validate_rule``: the stricter check a rule passes before it is stored, and the static
limits on a stored rule.

``validate_rule`` is stricter than evaluation. It rejects unknown operators, objects whose key
count is not one (json-logic-js treats them as data, which a criterion never needs and which is
always truthy, so they are almost certainly mistakes), non-JSON values, argument counts an
operator cannot use (``==`` needs two, ``substr`` two or three, ``and``/``or``/``min``/``max``/
``*`` at least one, ...), ``var`` paths that are not a string, number, null or rule, literal
``in`` haystacks that are neither string nor array, ``missing_some`` without a number and a
list, ``map``/``filter``/``all``/``some``/``none``/``reduce`` without a list of 2 (``reduce``: 2
or 3) arguments whose first is an array or a rule, and rules nested deeper than ``MAX_DEPTH``.
Over the static limits (``MAX_NODES``, ``MAX_ARRAY_LENGTH``, ``MAX_ITERATION_NESTING``, a
``reduce`` joining its accumulator with itself) it raises ``RuleTooComplex``. The checks of
single operators are in ``operator_checks.py``.
"""

from __future__ import annotations

from typing import Any, Final

from enroll.eligibility.jsonlogic._js import INF, is_array
from enroll.eligibility.jsonlogic.compiler import SCOPED, Call, Spec
from enroll.eligibility.jsonlogic.errors import RuleError, RuleTooComplex
from enroll.eligibility.jsonlogic.operators import OPS

MAX_DEPTH: Final = 64
# Static limits on a stored rule (``validate_rule``); evaluation has its budget (``_budget``).
MAX_NODES: Final = 50_000  # every operator, argument and literal counts one
MAX_ARRAY_LENGTH: Final = 25_000  # a literal array (an `in` list of postal codes, say)
MAX_ITERATION_NESTING: Final = 2  # map/filter/reduce/all/some/none inside one another's logic


def validate_rule(rule: Any) -> None:
    """Raise RuleError if ``rule`` should not be stored (see module doc), RuleTooComplex when
    it is over the static limits; return otherwise."""
    _check_size(rule)
    _validate(rule, "", 0, 0)


def _check_size(rule: Any) -> None:
    nodes, stack = 0, [rule]
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise RuleTooComplex(f"the rule has more than {MAX_NODES} operators and values")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif is_array(node):
            stack.extend(node)


def _validate(rule: Any, path: str, depth: int, nesting: int) -> None:
    """``nesting``: how many iterating operators' logic ``rule`` is inside."""
    if depth > MAX_DEPTH:
        raise RuleError(f"rule nests deeper than {MAX_DEPTH} levels", path=path)
    if isinstance(rule, dict):
        if len(rule) != 1:
            raise RuleError(
                f"an object in a rule needs exactly one key, its operator (found {len(rule)})",
                path=path,
            )
        ((op, value),) = rule.items()
        spec = OPS.get(op) if isinstance(op, str) else None
        if spec is None:
            raise RuleError(f"unknown operator {op!r}", path=path)
        c = Call.of(op, value, path)
        _check_arity(c, spec)
        if spec.check is not None:
            spec.check(c)
        for i, arg in enumerate(c.args):
            inner = nesting + 1 if op in SCOPED and i == 1 else nesting
            if inner > MAX_ITERATION_NESTING:
                raise RuleTooComplex(
                    f"more than {MAX_ITERATION_NESTING} iterating operators"
                    " (map, filter, reduce, all, some, none) nest in one another's logic",
                    path=c.at(i),
                )
            _validate(arg, c.at(i), depth + 1, inner)
    elif is_array(rule):
        if len(rule) > MAX_ARRAY_LENGTH:
            raise RuleTooComplex(
                f"an array of {len(rule)} items (at most {MAX_ARRAY_LENGTH})", path=path
            )
        for i, item in enumerate(rule):
            _validate(item, f"{path}/{i}", depth + 1, nesting)
    elif isinstance(rule, float) and not (rule == rule and rule not in (INF, -INF)):
        raise RuleError(f"{rule!r} is not a JSON number", path=path)
    elif not isinstance(rule, str | int | float | bool) and rule is not None:
        raise RuleError(f"a {type(rule).__name__} is not a JSON value", path=path)


def _check_arity(c: Call, spec: Spec) -> None:
    if spec.list_args and c.bare:
        raise RuleError(f"{c.op!r} takes a list of arguments", path=c.args_path)
    n, low, high = len(c.args), spec.min_args, spec.max_args
    if low <= n and (high is None or n <= high):
        return
    if high is None:
        expected = f"at least {low}"
    elif low == high:
        expected = str(low)
    else:
        expected = f"{low} to {high}"
    plural = "" if expected == "1" else "s"
    raise RuleError(f"{c.op!r} takes {expected} argument{plural}, not {n}", path=c.path)


__all__ = ["MAX_ARRAY_LENGTH", "MAX_DEPTH", "MAX_ITERATION_NESTING", "MAX_NODES", "validate_rule"]
