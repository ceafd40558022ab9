"""The core of the rule compiler: a rule's operator applications (``Call``), what defines an
operator (``Spec``), the operator table (``OPS``, filled in by ``operators.py``) and
``compile_node``, which turns any node of a rule into a closure over the data.

The operators' builders (``var.py``, ``logic.py``, ``comparison.py``, ``arrays.py``,
``arithmetic.py``, ``strings.py``) compile their arguments through ``Call.compiled`` and share
the small closures and helpers here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from enroll.eligibility.jsonlogic._js import UNDEFINED, is_array, kind, truthy
from enroll.eligibility.jsonlogic.errors import RuleError

Compiled = Callable[[Any], Any]
Predicate = Callable[[Any], bool]

# The iterating operators: their second argument is logic applied to each element.
SCOPED: Final = frozenset({"map", "filter", "reduce", "all", "some", "none"})


@dataclass(frozen=True, slots=True)
class Call:
    """One operator application: ``{op: args}`` found at ``path``."""

    op: str
    args: list[Any]
    path: str
    bare: bool  # a single argument given without a list, as in {"var": "x"}

    @classmethod
    def of(cls, op: str, value: Any, path: str) -> Call:
        bare = not is_array(value)
        return cls(op, [value] if bare else list(value), path, bare)

    @property
    def args_path(self) -> str:
        return f"{self.path}/{self.op.replace('~', '~0').replace('/', '~1')}"

    def at(self, i: int) -> str:
        return self.args_path if self.bare else f"{self.args_path}/{i}"

    def compiled(self) -> list[Compiled]:
        return [compile_node(a, self.at(i)) for i, a in enumerate(self.args)]

    def is_op(self, i: int) -> bool:
        """Whether argument ``i`` is an operator application (rather than a literal)."""
        return i < len(self.args) and is_call(self.args[i])


@dataclass(frozen=True, slots=True)
class Spec:
    build: Callable[[Call], Compiled]
    min_args: int = 0
    max_args: int | None = None
    list_args: bool = False  # arguments must be a list, never a bare value
    boolean: bool = False  # always returns a bool
    undefined_below: int = 0  # with fewer arguments, the result can be undefined
    check: Callable[[Call], None] | None = None  # further write-time checks


# Every operator by name; empty until ``operators.py`` (which the package imports) fills it.
OPS: Final[dict[str, Spec]] = {}


def is_call(rule: Any) -> bool:
    return isinstance(rule, dict) and len(rule) == 1


def compile_node(rule: Any, path: str) -> Compiled:
    if isinstance(rule, dict):
        if len(rule) != 1:  # data, not logic
            return const(rule)
        ((op, value),) = rule.items()
        spec = OPS.get(op) if isinstance(op, str) else None
        if spec is None:
            raise RuleError(f"unknown operator {op!r}", path=path)
        return spec.build(Call.of(op, value, path))
    if is_array(rule):
        items = [compile_node(x, f"{path}/{i}") for i, x in enumerate(rule)]
        return lambda data: [f(data) for f in items]
    return const(rule)


def weight(rule: Any) -> int:
    """What evaluating ``rule`` once costs, iterations aside: its nodes, counting a literal
    list that ``in`` looks in (a set lookup) as one."""
    total, stack = 0, [rule]
    while stack:
        node = stack.pop()
        total += 1
        if is_call(node):
            ((op, value),) = node.items()
            args = list(value) if is_array(value) else [value]
            if op == "in" and len(args) > 1 and scalar_list(args[1]):
                args = args[:1]
            stack.extend(args)
        elif is_array(node):
            stack.extend(node)
        elif isinstance(node, str):
            total += len(node) // 8  # a long var path is walked segment by segment
    return total


def scalar_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        kind(e) in ("string", "number", "boolean", "null") for e in value
    )


def const(value: Any) -> Compiled:
    return lambda data: value


def identity(data: Any) -> Any:
    return data


def undefined(data: Any) -> Any:
    return UNDEFINED


def null(data: Any) -> Any:
    return None


def nth(fs: list[Compiled], i: int) -> Compiled:
    return fs[i] if i < len(fs) else undefined


def returns_bool(rule: Any) -> bool:
    return is_call(rule) and OPS[next(iter(rule))].boolean


def predicate(rule: Any, f: Compiled) -> Predicate:
    """``f`` (compiled from ``rule``) as a function returning the truthiness of its value."""
    if returns_bool(rule):
        return f
    if not isinstance(rule, dict) and not is_array(rule):
        constant = truthy(rule)
        return lambda data: constant
    return lambda data: truthy(f(data))


def arg_predicate(c: Call, fs: list[Compiled], i: int) -> Predicate:
    if i >= len(fs):
        return lambda data: False
    return predicate(c.args[i], fs[i])
