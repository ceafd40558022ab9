"""The guards a template's code runs through: every filter and test (``guard_filter``,
``guard_test``), and, routed by ``Guard`` (a rewrite of the parsed template), every for
loop's iterable, ``~``, comparison and slice, which the sandbox's hooks do not see."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from enroll.notification.templates.bounds import check_format, check_numbers, filter_bound
from enroll.notification.templates.budget import charge, spend, too_big
from enroll.notification.templates.sizes import materialized, weight, weights

if TYPE_CHECKING:
    from enroll.notification.templates.environment import SandboxEnvironment

RESERVED = "_enroll"  # names the guards use; a template may not define or read them
ITER = "_enroll_iter"
CONCAT = "_enroll_concat"
COMPARE_NAME = "_enroll_compare"
SLICE = "_enroll_slice"


# Filters that read their whole input as a sequence: a generator is listed first (its length
# decides the product), a hundred items to a step.
_SEQUENCE_FILTERS = frozenset(
    {"join", "list", "batch", "slice", "sum", "sort", "reverse", "unique", "groupby", "last"}
)


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    numbers = name not in ("default", "d")  # a default value may be any number
    lazy = name in ("map", "select", "reject", "selectattr", "rejectattr", "default", "d")

    @functools.wraps(func)  # keeps jinja_pass_arg: Jinja still passes the context first
    def guarded(*args: Any, **kwargs: Any) -> Any:
        spend()
        value: Any = args[skip] if len(args) > skip else None
        extra = args[skip + 1 :]
        check_numbers([*extra, *kwargs.values()] if numbers else [])
        if name == "format":
            check_format(value)
        if name in _SEQUENCE_FILTERS:
            value = materialized(value)
            args = (*args[:skip], value, *extra)
        if not lazy:
            too_big(filter_bound(name, value, extra, kwargs))
        return charge(func(*args, **kwargs))

    return guarded


def guard_test(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        spend(1 + weights([*args, *kwargs.values()]) // 100)  # 'x' is in a long text
        return func(*args, **kwargs)

    return guarded


def budgeted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every for loop's iterable goes through this (see ``Guard``): a step per item."""
    for item in iterable:
        spend()
        yield item


def guarded_concat(*parts: Any) -> str:
    """The ``~`` operator: like Jinja's own, with the size checked before the parts print."""
    too_big(weights(parts))
    texts = [str(part) for part in parts]  # StrictUndefined raises here, as it would there
    return str(charge("".join(texts)))


def guarded_compare(left: Any, *pairs: Any) -> bool:
    """A comparison (``a in b``, ``a == b < c``): a step per hundred items compared."""
    operands = [left, *pairs[1::2]]
    spend(1 + weights(operands) // 100)
    for op, right in zip(pairs[::2], pairs[1::2], strict=True):
        if not _COMPARE[op](left, right):
            return False
        left = right
    return True


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def guarded_slice(value: Any, start: Any, stop: Any, step: Any) -> Any:
    """``value[start:stop:step]``: a step per hundred items copied."""
    spend()
    return charge(value[start:stop:step])


def printable(value: Any) -> Any:
    """Jinja's ``finalize``: every ``{{ … }}`` passes here before ``str()``. A list holding a
    long text a thousand times is refused before it prints."""
    if value is None:
        return ""
    too_big(weight(value))
    return value


class Guard(NodeTransformer):
    """Routes what the sandbox's hooks do not see through the guards: every for loop's
    iterable (``budgeted``), every ``~`` (``guarded_concat``), every comparison
    (``guarded_compare``) and every slice (``guarded_slice``)."""

    def __init__(self, env: SandboxEnvironment) -> None:
        self.env = env

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call(ITER, [cast(nodes.Expr, node.iter)], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._call(CONCAT, list(node.nodes), node.lineno)

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if not isinstance(node.arg, nodes.Slice):
            return node  # the environment's getitem sees it; slices bypass that
        bounds = [node.arg.start, node.arg.stop, node.arg.step]
        none = nodes.Const(None, lineno=node.lineno)
        args = [node.node, *(b if b is not None else none for b in bounds)]
        return self._call(SLICE, args, node.lineno)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        args: list[nodes.Expr] = [node.expr]
        for operand in node.ops:
            args += [nodes.Const(operand.op, lineno=node.lineno), operand.expr]
        return self._call(COMPARE_NAME, args, node.lineno)

    def _call(self, name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
        call = nodes.Call(nodes.Name(name, "load"), args, [], None, None, lineno=lineno)
        call.set_lineno(lineno)
        call.set_environment(self.env)
        return call
