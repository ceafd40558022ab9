"""Notification templates: Jinja2 in a sandbox, checked on save, rendered with a work budget.

The environment is Jinja2's ``ImmutableSandboxedEnvironment`` (no attribute starting with an
underscore, no internal attributes of functions, frames or classes, no method that changes a
list or dict), without loaders (no ``include``, ``import``, ``extends``). A template is checked
when it is saved by compiling it and rendering it, with ``StrictUndefined``, against a sample
context that has every field the real one has (service.sample_context): a misspelt name or
field, or an unsafe attribute, is an error then. Sending renders with ``ChainableUndefined``:
a value the real data lacks (a null address) is empty text rather than a lost message.

The sandbox keeps a template from reaching Python internals; it does not bound the work a
template asks for. Rendering therefore spends a budget: every call, filter, test, comparison,
attribute read, loop iteration and guarded operator costs a step, and building text or lists
costs a step per hundred items; past ``MAX_STEPS`` the render stops with ``LimitExceeded``.

Sizes are checked before an operation runs, never by measuring what it built: a value of a
gigabyte must not exist even for a moment. Each amplifying operation (``*``, ``+``, ``%``,
``str.format``, ``expandtabs``, ``ljust``, ``replace``, ``translate``, ``join``, the filters
``indent``, ``wordwrap``, ``batch``, ``tojson`` …, printing, and the join of a macro's or a
block's output) has its result's length bounded from its arguments (``_method_bound``,
``_filter_bound``, ``_percent_bound``, ``_BoundedFormatter``, ``_Environment.concat``) and is
refused past ``MAX_SIZE``. Containers are sized by what they would print (``_weight``): a list
holding one long text a thousand times is small in memory and huge once printed. The rendered
body is capped at ``MAX_BODY_CHARS``, the subject at ``MAX_SUBJECT_CHARS``.
"""

from __future__ import annotations

import functools
import operator
import re
import types
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Union, cast, get_args, get_origin

from jinja2 import (
    ChainableUndefined,
    Environment,
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    Undefined,
    nodes,
)
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup
from pydantic import BaseModel

MAX_STEPS = 20_000  # work units one render may spend (a few milliseconds each thousand)
MAX_SIZE = 1_000_000  # longest text or list one operation may build
MAX_NUMBER_ARGUMENT = 100_000  # largest number a call or filter may take (widths, counts)
MAX_INT_BITS = 4096  # largest integer ``*`` and ``**`` may produce
MACRO_STEPS = 5  # a macro call costs Jinja2 as much as a few other steps
MAX_ARGUMENTS = 1000  # ``f(*range(100000))`` would weigh and check each
MAX_SUBJECT_CHARS = 1_000
MAX_BODY_CHARS = 100_000
_RESERVED = "_enroll"  # names the guards use; a template may not define or read them
_ITER = "_enroll_iter"
_CONCAT = "_enroll_concat"
_COMPARE_NAME = "_enroll_compare"
_SLICE = "_enroll_slice"
_LONG_NUMBER = re.compile(r"\d{6,}")  # a width or precision in a format string


class LimitExceeded(Exception):
    """The template asked for more work or a bigger value than a render may have."""


class TemplateInvalid(Exception):
    """A template that does not compile or does not render against the sample context."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class RenderFailed(Exception):
    """A saved template that failed on real data (an attribute that is null, a limit)."""


# --- the budget ------------------------------------------------------------------------------


class _Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_STEPS


_BUDGET: ContextVar[_Budget | None] = ContextVar("enroll_template_budget", default=None)


def _spend(steps: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return  # compiling (constant folding is off for guarded operators anyway)
    budget.left -= steps
    if budget.left < 0:
        raise LimitExceeded("The template does too much work (loops, calls or text built).")


def _too_big(bound: int) -> None:
    """Refuse an operation whose result could be longer than ``MAX_SIZE``, before it runs."""
    if bound > MAX_SIZE:
        raise LimitExceeded(f"The template would build a value longer than {MAX_SIZE:,} items.")


def _charge(result: Any) -> Any:
    """After an operation: a step per hundred items it built (the safety net for sizes)."""
    size = len(result) if isinstance(result, str | bytes | list | tuple | dict) else 0
    _too_big(size)
    _spend(1 + size // 100)
    return result


# --- sizes, computed before an operation runs ------------------------------------------------

_QUOTED = 10  # repr() of a string inside a list: up to ten characters per one ('\U000e0001')
_FLOAT_CHARS = 330  # format(1e308, 'f') is 316 characters


_BYTES = (bytes, bytearray)  # tuples: a union (bytes | bytearray) is slower in isinstance
_SCALARS = (bool, Undefined)


def _weight(*values: Any, quoted: bool = False) -> int:
    """An upper bound of ``len(str(value))`` summed over ``values``, and of the items building
    it would touch, counted until it passes ``MAX_SIZE`` (so it costs at most that much however
    big the value is). Lists and dicts hold references: ``['x' * 10**6] * 1000`` is small in
    memory and a gigabyte once printed, joined or serialised.

    Weighing costs a step per two items visited (about as long as two other steps)."""
    total, visited = 0, 0
    stack: list[tuple[Any, bool]] = [(v, quoted) for v in values]
    while stack and total <= MAX_SIZE:
        item, inner = stack.pop()
        visited += 1
        if visited % 200 == 0:
            _spend(100)  # a long walk stops when the budget does
        if isinstance(item, str):
            total += len(item) * _QUOTED + 3 if inner else len(item)
        elif isinstance(item, _BYTES):
            total += 4 * len(item) + 3  # str(b'..') is its repr: '\x00' for a byte
        elif item is None or isinstance(item, _SCALARS):
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, range):
            digits = max(abs(item.start), abs(item.stop)).bit_length() // 3 + 4
            total += len(item) * digits
        elif isinstance(item, Namespace):
            stack.append((object.__getattribute__(item, "_Namespace__attrs"), True))
            total += 12
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= MAX_SIZE:
                stack.extend((k, True) for k in item)
                stack.extend((v, True) for v in item.values())
        elif isinstance(item, Collection):
            total += 2 + 2 * len(item)
            if total <= MAX_SIZE:
                stack.extend((x, True) for x in item)
        else:  # a float, a generator, a macro, a loop: a short text
            total += 100
    _spend((visited % 200) // 2)
    return total


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a step per hundred visited; a cycle
    through a namespace counts as deep)."""
    deepest, visited = 0, 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and visited <= MAX_SIZE // 10:
        item, depth = stack.pop()
        visited += 1
        deepest = max(deepest, depth)
        if isinstance(item, Namespace):
            item = object.__getattribute__(item, "_Namespace__attrs")
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, Collection) and not isinstance(item, str | bytes | bytearray):
            stack.extend((x, depth + 1) for x in item)
    _spend(visited // 100)
    return deepest if not stack else MAX_SIZE


def _weights(values: Iterable[Any]) -> int:
    return _weight(*values)


def _materialized(value: Any) -> Any:
    """A generator (``map``, ``select``) as a list, built a hundred items to a step and refused
    once its items would print longer than ``MAX_SIZE``: its length decides products."""
    if isinstance(value, str | bytes | Collection | Undefined) or not isinstance(value, Iterable):
        return value
    items: list[Any] = []
    total = 0
    for item in value:
        items.append(item)
        total += _weight(item, quoted=True)
        _too_big(total)
        if len(items) % 10 == 0:
            _spend()
    return items


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _len(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else _weight(value)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name)


def _replace_bound(text: Any, old: Any, new: Any, count: Any) -> int:
    size = _len(text)
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return size
    times = size + 1 if not old else size // len(old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return size + times * len(new)


def _translate_bound(text: Any, table: Any) -> int:
    longest = 1
    values = table.values() if isinstance(table, Mapping) else table
    if isinstance(values, Collection) and not isinstance(values, str | bytes):
        _weight(values)  # a step per hundred entries
        for v in values:
            longest = max(longest, len(v) if isinstance(v, str | bytes) else 1)
    return _len(text) * longest


def _join_bound(separator: Any, items: Any) -> int:
    if not isinstance(items, Collection):
        return 0
    _spend(len(items) // 100)
    texts = sum(len(x) if isinstance(x, str | bytes) else _weight(x) for x in items)
    return texts + _len(separator) * max(len(items) - 1, 0)


def _method_bound(receiver: Any, name: str, args: tuple[Any, ...], kw: Mapping[str, Any]) -> int:
    """The longest result a method of a str, bytes, list or dict may build from these
    arguments (a call's cost is bounded by its inputs, but for these)."""
    size = _len(receiver)
    if isinstance(receiver, str | bytes):
        if name == "expandtabs":
            tabs = receiver.count("\t") if isinstance(receiver, str) else receiver.count(b"\t")
            return size + tabs * max(_int(_arg(args, kw, 0, "tabsize"), 8), 0)
        if name in ("center", "ljust", "rjust", "zfill"):
            return max(size, _int(_arg(args, kw, 0, "width"), 0))
        if name == "replace":
            old, new = _arg(args, kw, 0, "old"), _arg(args, kw, 1, "new")
            return _replace_bound(receiver, old, new, _arg(args, kw, 2, "count"))
        if name == "translate":
            return _translate_bound(receiver, _arg(args, kw, 0, "table"))
        if name == "join":
            return _join_bound(receiver, _arg(args, kw, 0, "iterable"))
        if name == "encode":
            return 10 * size + 4  # 'unicode_escape': '\U000e0001' for one character
        return 3 * size + _weights([*args, *kw.values()])  # 'ß'.upper() is 'SS'
    return size + _weights([*args, *kw.values()])  # copy, fromkeys, items: no more than given


def _spec_numbers(spec: str) -> int:
    """At least the width plus the precision a format spec asks for (its digits, summed)."""
    return sum(int(n) for n in re.findall(r"\d+", spec))


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def _percent_bound(template: str, values: Any) -> int:
    """The longest result of ``template % values``: per conversion its width, its precision
    and the printed value (``%(a)s`` may repeat one value many times)."""
    positional = iter(values if isinstance(values, tuple) else (values,))
    mapping = values if isinstance(values, Mapping) else None
    bound = len(template)
    for match in _PERCENT.finditer(template):
        key, width, precision, kind = match.groups()
        for number in (width, precision):
            if number == "*":
                number = str(_int(next(positional, 0), 0))
            bound += abs(int(number)) if number else 0
        if kind == "%":
            continue
        if mapping is not None and key is not None:
            value = mapping.get(key)
        else:
            value = next(positional, None)
        factor = _QUOTED if kind in "ra" else 1
        bound += factor * _weight(value) + (_FLOAT_CHARS if isinstance(value, float) else 0)
        _too_big(bound)
    return bound


def _check_numbers(values: Collection[Any]) -> None:
    if len(values) > MAX_ARGUMENTS:
        raise LimitExceeded(f"Calls and filters take at most {MAX_ARGUMENTS:,} arguments.")
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) > MAX_NUMBER_ARGUMENT:
            raise LimitExceeded(
                f"Numbers given to calls and filters stop at {MAX_NUMBER_ARGUMENT:,}."
            )
        if isinstance(value, tuple | list) and len(value) <= 100:
            _check_numbers(value)  # '%*s' % (width, text)


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _LONG_NUMBER.search(text):
        raise LimitExceeded("Format strings may not hold numbers of six digits or more.")


# --- the environment -------------------------------------------------------------------------


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _guard_binop(op: str, left: Any, right: Any) -> None:
    if op == "**":
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if numbers and (abs(right) > 10_000 or _int_bits(left) * abs(int(right)) > MAX_INT_BITS):
            raise LimitExceeded("Powers are limited to numbers of 4096 bits.")
    elif op == "*":
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | bytes | list | tuple) and isinstance(times, int)
            if sized and _len(seq) * times > MAX_SIZE:
                raise LimitExceeded(f"Repetition is limited to {MAX_SIZE:,} items.")
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            raise LimitExceeded("Products are limited to numbers of 4096 bits.")
    elif op == "+":
        if isinstance(left, str | bytes | list | tuple) and _len(left) + _len(right) > MAX_SIZE:
            raise LimitExceeded(f"Values are limited to {MAX_SIZE:,} items.")
    elif op == "%" and isinstance(left, str):
        _check_format(left)
        _check_numbers([right])
        _too_big(_percent_bound(left, right))


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` field by field, refusing a field before it is formatted once the text
    so far plus that field's width, precision and value could pass ``MAX_SIZE``."""

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        self._left = MAX_SIZE

    def _take(self, size: int) -> None:
        self._left -= size
        if self._left < 0:
            _too_big(MAX_SIZE + 1)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion in ("r", "a"):
            self._take(_weight(value, quoted=True))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        extra = _FLOAT_CHARS if isinstance(value, float) else 0
        self._take(_spec_numbers(format_spec) + _weight(value) + extra)
        _spend()
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    def __init__(self, env: Environment, escape: Callable[[Any], Markup]) -> None:
        _BoundedFormatter.__init__(self, env)
        self.escape = escape


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        """Joins a macro's, a ``{% set %}`` block's or a ``{% filter %}`` block's output:
        a thousand prints of a long text refuse here, before the join."""
        pieces: list[str] = []
        total = 0
        for piece in parts:
            total += len(piece)
            _too_big(total)
            pieces.append(piece)
        _spend(1 + total // 100)
        return "".join(pieces)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _spend()
        _guard_binop(operator, left, right)
        return _charge(super().call_binop(context, operator, left, right))

    def call(
        __self,  # Jinja2's spelling: a keyword argument of the call may be named "self"
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _spend()
        _check_numbers([*args, *kwargs.values()])
        receiver = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(receiver, str | bytes | list | tuple | dict):
            args = tuple(_materialized(a) for a in args)
            _too_big(_method_bound(receiver, name, args, kwargs))
        else:  # a macro, range(), dict(), namespace(): their cost is their arguments'
            _weights([*args, *kwargs.values()])
            _spend(MACRO_STEPS if isinstance(__obj, Macro) else 0)
        return _charge(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _spend()
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            _check_format(obj)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend()
        if isinstance(obj, str) and argument in ("format", "format_map"):
            _check_format(obj)
        value = super().getitem(obj, argument)
        return _charge(value) if isinstance(argument, slice) else value

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
            formatter: _BoundedFormatter = (
                _BoundedEscapeFormatter(self, text.escape)
                if isinstance(text, Markup)
                else _BoundedFormatter(self)
            )
            return type(text)(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(wrapper, value)


def _filter_bound(name: str, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> int:
    """The longest result filter ``name`` may build from ``value`` and its arguments."""
    size = _len(value)
    if name == "center":
        return max(size, _int(_arg(args, kw, 0, "width"), 80))
    if name == "indent":
        width = _arg(args, kw, 0, "width")
        per_line = len(width) if isinstance(width, str) else _int(width, 4)
        lines = value.count("\n") + 1 if isinstance(value, str) else 1
        return size + lines * per_line
    if name == "wordwrap":
        wrap = _arg(args, kw, 2, "wrapstring")
        return size + (size + 1) * (len(wrap) if isinstance(wrap, str) else 2)
    if name == "replace":
        return _replace_bound(value, _arg(args, kw, 0, "old"), _arg(args, kw, 1, "new"), None)
    if name == "join":
        return _join_bound(_arg(args, kw, 0, "d") or "", value)
    if name == "truncate":
        return size + _len(_arg(args, kw, 2, "end") or "...")
    if name == "format":
        return _percent_bound(value, kw or args) if isinstance(value, str) else size
    if name in ("batch", "slice"):
        count = _int(_arg(args, kw, 0, "linecount" if name == "batch" else "slices"), 0)
        return size + count * (2 + _weight(_arg(args, kw, 1, "fill_with"), quoted=True))
    if name == "sum":
        start = _arg(args, kw, 1, "start")
        many = len(value) if isinstance(value, Collection) else 1
        return many * (size + _weight(start)) if isinstance(start, Collection) else size
    if name in ("tojson", "pprint"):
        indent = _arg(args, kw, 0, "indent") if name == "tojson" else 1
        step = len(indent) if isinstance(indent, str) else _int(indent, 0)
        # A line per item at most (size counts each), indented by its depth: 6 for '\u003c'.
        return 6 * size + (size * step * _depth(value) if step else 0)
    if name == "urlize":
        extra = _weights([*args, *kw.values()])
        return 6 * size + (size // 2 + 1) * (100 + extra)
    if name in ("urlencode",):
        return 12 * size  # '%F0%9F%98%80' for one character
    if name in ("escape", "e", "forceescape", "xmlattr"):
        return 6 * size  # '&#34;' for '"'
    if name in ("upper", "lower", "title", "capitalize"):
        return 3 * size  # 'ß'.upper() is 'SS'
    if name == "groupby":
        return 2 * size
    return size + _weights([*args, *kw.values()])  # no more than it is given


# Filters that read their whole input as a sequence: a generator is listed first (its length
# decides the product), a hundred items to a step.
_SEQUENCE_FILTERS = frozenset(
    {"join", "list", "batch", "slice", "sum", "sort", "reverse", "unique", "groupby", "last"}
)


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    numbers = name not in ("default", "d")  # a default value may be any number
    lazy = name in ("map", "select", "reject", "selectattr", "rejectattr", "default", "d")

    @functools.wraps(func)  # keeps jinja_pass_arg: Jinja still passes the context first
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend()
        value: Any = args[skip] if len(args) > skip else None
        extra = args[skip + 1 :]
        _check_numbers([*extra, *kwargs.values()] if numbers else [])
        if name == "format":
            _check_format(value)
        if name in _SEQUENCE_FILTERS:
            value = _materialized(value)
            args = (*args[:skip], value, *extra)
        if not lazy:
            _too_big(_filter_bound(name, value, extra, kwargs))
        return _charge(func(*args, **kwargs))

    return guarded


def _guard_test(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend(1 + _weights([*args, *kwargs.values()]) // 100)  # 'x' is in a long text
        return func(*args, **kwargs)

    return guarded


def _budgeted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every for loop's iterable goes through this (see ``_Guard``): a step per item."""
    for item in iterable:
        _spend()
        yield item


def _concat(*parts: Any) -> str:
    """The ``~`` operator: like Jinja's own, with the size checked before the parts print."""
    _too_big(_weights(parts))
    texts = [str(part) for part in parts]  # StrictUndefined raises here, as it would there
    return str(_charge("".join(texts)))


def _compare(left: Any, *pairs: Any) -> bool:
    """A comparison (``a in b``, ``a == b < c``): a step per hundred items compared."""
    operands = [left, *pairs[1::2]]
    _spend(1 + _weights(operands) // 100)
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


def _slice(value: Any, start: Any, stop: Any, step: Any) -> Any:
    """``value[start:stop:step]``: a step per hundred items copied."""
    _spend()
    return _charge(value[start:stop:step])


def _printable(value: Any) -> Any:
    """Jinja's ``finalize``: every ``{{ … }}`` passes here before ``str()``. A list holding a
    long text a thousand times is refused before it prints."""
    if value is None:
        return ""
    _too_big(_weight(value))
    return value


def _environment(undefined: type[Undefined]) -> _Environment:
    env = _Environment(
        undefined=undefined,
        autoescape=False,  # plain-text email
        finalize=_printable,
        keep_trailing_newline=True,
        # No constant folding: it costs seconds on a long template (each filter of a chain
        # folds its whole chain again) and saves nothing on a few renders of an email.
        optimized=False,
    )
    env.globals.pop("lipsum", None)  # lipsum(n) builds n paragraphs
    env.globals[_ITER] = _budgeted
    env.globals[_CONCAT] = _concat
    env.globals[_COMPARE_NAME] = _compare
    env.globals[_SLICE] = _slice
    env.filters = {name: _guard_filter(name, f) for name, f in env.filters.items()}
    env.tests = {name: _guard_test(cast(Callable[..., Any], f)) for name, f in env.tests.items()}
    return env


# Saving checks with StrictUndefined: a name or field the context does not have is an error.
# Sending renders what the data has: a field that is null or absent there (an enrollment without
# an address, an optional key) is empty text, rather than a message lost.
_STRICT = _environment(StrictUndefined)
_LENIENT = _environment(ChainableUndefined)


class _Guard(NodeTransformer):
    """Routes what the sandbox's hooks do not see through the guards: every for loop's
    iterable (``_budgeted``), every ``~`` (``_concat``), every comparison (``_compare``) and
    every slice (``_slice``)."""

    def __init__(self, env: _Environment) -> None:
        self.env = env

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call(_ITER, [cast(nodes.Expr, node.iter)], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._call(_CONCAT, list(node.nodes), node.lineno)

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if not isinstance(node.arg, nodes.Slice):
            return node  # the environment's getitem sees it; slices bypass that
        bounds = [node.arg.start, node.arg.stop, node.arg.step]
        none = nodes.Const(None, lineno=node.lineno)
        args = [node.node, *(b if b is not None else none for b in bounds)]
        return self._call(_SLICE, args, node.lineno)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        args: list[nodes.Expr] = [node.expr]
        for operand in node.ops:
            args += [nodes.Const(operand.op, lineno=node.lineno), operand.expr]
        return self._call(_COMPARE_NAME, args, node.lineno)

    def _call(self, name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
        call = nodes.Call(nodes.Name(name, "load"), args, [], None, None, lineno=lineno)
        call.set_lineno(lineno)
        call.set_environment(self.env)
        return call


@functools.lru_cache(maxsize=1024)
def _compile(source: str, strict: bool) -> Template:
    """The template of ``source`` (cached: a template's text is compiled once per process)."""
    env = _STRICT if strict else _LENIENT
    tree = env.parse(source)
    for name in tree.find_all(nodes.Name):
        if name.name.startswith(_RESERVED):
            raise TemplateSyntaxError(f"{name.name!r} is a reserved name.", name.lineno)
    for macro in tree.find_all(nodes.Macro):
        if macro.name.startswith(_RESERVED):
            raise TemplateSyntaxError(f"{macro.name!r} is a reserved name.", macro.lineno)
    guarded = _Guard(env).visit(tree)
    assert isinstance(guarded, nodes.Template)
    return env.from_string(guarded)


def _render(source: str, context: Mapping[str, Any], *, limit: int, strict: bool) -> str:
    template = _compile(source, strict)
    token = _BUDGET.set(_Budget())
    try:
        out: list[str] = []
        length = 0
        for chunk in template.generate(dict(context)):
            length += len(chunk)
            if length > limit:
                raise LimitExceeded(f"The rendered text is longer than {limit:,} characters.")
            out.append(chunk)
        return "".join(out)
    finally:
        _BUDGET.reset(token)


def _describe(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    if isinstance(exc, RecursionError):
        return "The template recurses too deeply."
    text = str(exc) or type(exc).__name__
    return text[:500]


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def render(subject: str, body: str, context: Mapping[str, Any]) -> Rendered:
    """Render a saved template pair; ``RenderFailed`` says why it could not be (a limit).

    Missing values are empty text here (see ``_LENIENT``). The subject's line breaks become
    spaces (it is a header).
    """
    try:
        rendered_subject = _render(subject, context, limit=MAX_SUBJECT_CHARS, strict=False)
        rendered_body = _render(body, context, limit=MAX_BODY_CHARS, strict=False)
    except Exception as exc:  # anything a template can raise: it must not fail the caller
        raise RenderFailed(_describe(exc)) from None
    return Rendered(" ".join(rendered_subject.split()), rendered_body)


def check(fields: Mapping[str, str], context: Mapping[str, Any]) -> None:
    """Compile each template and render it against ``context``; ``TemplateInvalid`` lists
    every field that fails."""
    errors: list[tuple[str, str]] = []
    for field, source in fields.items():
        limit = MAX_SUBJECT_CHARS if field == "subject" else MAX_BODY_CHARS
        try:
            _render(source, context, limit=limit, strict=True)
        except Exception as exc:
            errors.append((field, _describe(exc)))
    if errors:
        raise TemplateInvalid(errors)


# --- the sample context ----------------------------------------------------------------------

_SAMPLE_TEXT = {"email": "pat.doe@example.com", "phone": "+15555550100", "state": "NY"}
_SAMPLE_ADDRESS = {
    "streetOne": "123 Main St",
    "streetTwo": "Apt 4B",
    "city": "New York",
    "state": "NY",
    "postalCode": "10001",
    "country": "USA",
}


def _sample_value(name: str, annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        (inner, *_) = [a for a in get_args(annotation) if a is not NoneType] or [None]
        return _sample_value(name, inner)
    if name == "address":
        return dict(_SAMPLE_ADDRESS)
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return [_sample_value(name, item)] if item in (str, int) else []
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return sample_of(annotation)
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int | float):
            return 1
        if issubclass(annotation, datetime):
            return "2026-01-15T09:30:00Z"
        if issubclass(annotation, date):
            return "2026-01-15"
        if issubclass(annotation, str):
            return _SAMPLE_TEXT.get(name, f"sample {name}")
    return None


def sample_of(model: type[BaseModel]) -> dict[str, Any]:
    """A JSON object shaped like ``model``'s output (camelCase keys), every field filled."""
    return {
        (info.alias or name): _sample_value(info.alias or name, info.annotation)
        for name, info in model.model_fields.items()
    }


__all__ = [
    "MAX_BODY_CHARS",
    "MAX_SUBJECT_CHARS",
    "LimitExceeded",
    "RenderFailed",
    "Rendered",
    "TemplateInvalid",
    "check",
    "render",
    "sample_of",
]
