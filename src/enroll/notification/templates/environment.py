"""The sandboxed Jinja2 environment: ``SandboxEnvironment`` (Jinja2's immutable sandbox,
with every call, attribute read, item read, binary operator and join guarded), the bounded
``str.format`` formatters, and the two environments, ``STRICT`` and ``LENIENT``."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable
from typing import Any, cast

from jinja2 import ChainableUndefined, Environment, StrictUndefined, Undefined
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from enroll.notification.templates.bounds import (
    check_format,
    check_numbers,
    guard_binop,
    method_bound,
    spec_numbers,
)
from enroll.notification.templates.budget import MACRO_STEPS, MAX_SIZE, charge, spend, too_big
from enroll.notification.templates.guards import (
    COMPARE_NAME,
    CONCAT,
    ITER,
    SLICE,
    budgeted,
    guard_filter,
    guard_test,
    guarded_compare,
    guarded_concat,
    guarded_slice,
    printable,
)
from enroll.notification.templates.sizes import FLOAT_CHARS, materialized, weight, weights


class BoundedFormatter(SandboxedFormatter):
    """``str.format`` field by field, refusing a field before it is formatted once the text
    so far plus that field's width, precision and value could pass ``MAX_SIZE``."""

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        self._left = MAX_SIZE

    def _take(self, size: int) -> None:
        self._left -= size
        if self._left < 0:
            too_big(MAX_SIZE + 1)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion in ("r", "a"):
            self._take(weight(value, quoted=True))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        extra = FLOAT_CHARS if isinstance(value, float) else 0
        self._take(spec_numbers(format_spec) + weight(value) + extra)
        spend()
        return super().format_field(value, format_spec)


class BoundedEscapeFormatter(BoundedFormatter, EscapeFormatter):
    def __init__(self, env: Environment, escape: Callable[[Any], Markup]) -> None:
        BoundedFormatter.__init__(self, env)
        self.escape = escape


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        """Joins a macro's, a ``{% set %}`` block's or a ``{% filter %}`` block's output:
        a thousand prints of a long text refuse here, before the join."""
        pieces: list[str] = []
        total = 0
        for piece in parts:
            total += len(piece)
            too_big(total)
            pieces.append(piece)
        spend(1 + total // 100)
        return "".join(pieces)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        spend()
        guard_binop(operator, left, right)
        return charge(super().call_binop(context, operator, left, right))

    def call(
        __self,  # Jinja2's spelling: a keyword argument of the call may be named "self"
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        spend()
        check_numbers([*args, *kwargs.values()])
        receiver = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(receiver, str | bytes | list | tuple | dict):
            args = tuple(materialized(a) for a in args)
            too_big(method_bound(receiver, name, args, kwargs))
        else:  # a macro, range(), dict(), namespace(): their cost is their arguments'
            weights([*args, *kwargs.values()])
            spend(MACRO_STEPS if isinstance(__obj, Macro) else 0)
        return charge(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        spend()
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            check_format(obj)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        spend()
        if isinstance(obj, str) and argument in ("format", "format_map"):
            check_format(obj)
        value = super().getitem(obj, argument)
        return charge(value) if isinstance(argument, slice) else value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja2's ``str.format`` wrapper, with the bounded formatter."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        text: Any = value.__self__
        if not isinstance(text, str):
            return None
        is_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            formatter: BoundedFormatter = (
                BoundedEscapeFormatter(self, text.escape)
                if isinstance(text, Markup)
                else BoundedFormatter(self)
            )
            return type(text)(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(wrapper, value)


def _environment(undefined: type[Undefined]) -> SandboxEnvironment:
    env = SandboxEnvironment(
        undefined=undefined,
        autoescape=False,  # plain-text email
        finalize=printable,
        keep_trailing_newline=True,
        # No constant folding: it costs seconds on a long template (each filter of a chain
        # folds its whole chain again) and saves nothing on a few renders of an email.
        optimized=False,
    )
    env.globals.pop("lipsum", None)  # lipsum(n) builds n paragraphs
    env.globals[ITER] = budgeted
    env.globals[CONCAT] = guarded_concat
    env.globals[COMPARE_NAME] = guarded_compare
    env.globals[SLICE] = guarded_slice
    env.filters = {name: guard_filter(name, f) for name, f in env.filters.items()}
    env.tests = {name: guard_test(cast(Callable[..., Any], f)) for name, f in env.tests.items()}
    return env


# Saving checks with StrictUndefined: a name or field the context does not have is an error.
# Sending renders what the data has: a field that is null or absent there (an enrollment without
# an address, an optional key) is empty text, rather than a message lost.
STRICT = _environment(StrictUndefined)
LENIENT = _environment(ChainableUndefined)
