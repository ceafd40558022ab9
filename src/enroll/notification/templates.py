"""Notification templates: Jinja2 in a sandbox, checked on save, rendered with a work budget.

The environment is Jinja2's ``ImmutableSandboxedEnvironment`` (no attribute starting with an
underscore, no internal attributes of functions, frames or classes, no method that changes a
list or dict), without loaders (no ``include``, ``import``, ``extends``). A template is checked
when it is saved by compiling it and rendering it, with ``StrictUndefined``, against a sample
context that has every field the real one has (service.sample_context): a misspelt name or
field, or an unsafe attribute, is an error then. Sending renders with ``ChainableUndefined``:
a value the real data lacks (a null address) is empty text rather than a lost message.

The sandbox keeps a template from reaching Python internals; it does not bound the work a
template asks for. Rendering therefore spends a budget: every call, filter, attribute read,
loop iteration and guarded operator costs a step, and building text or lists costs a step per
hundred items; past ``MAX_STEPS`` the render stops with ``LimitExceeded``. Operators and calls
that could build a huge value in one step (``'x' * n``, ``n ** m``, ``'x'.ljust(n)``,
``'%999999999s'``, ``s | replace('', t)``) are refused before they run. The rendered body is
capped at ``MAX_BODY_CHARS``, the subject at ``MAX_SUBJECT_CHARS``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Union, cast, get_args, get_origin

from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    Undefined,
    nodes,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from pydantic import BaseModel

MAX_STEPS = 20_000  # work units one render may spend (a few milliseconds each thousand)
MAX_SIZE = 1_000_000  # longest text or list one operation may build
MAX_NUMBER_ARGUMENT = 100_000  # largest number a call or filter may take (widths, counts)
MAX_INT_BITS = 4096  # largest integer ``*`` and ``**`` may produce
MAX_SUBJECT_CHARS = 1_000
MAX_BODY_CHARS = 100_000
_RESERVED = "_enroll"  # names the guards use; a template may not define or read them
_ITER = "_enroll_iter"
_CONCAT = "_enroll_concat"
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


def _size(value: Any) -> int:
    if isinstance(value, Undefined) or not isinstance(value, Sized):
        return 0
    return len(value)


def _charge(result: Any) -> Any:
    size = _size(result) if isinstance(result, str | list | tuple | dict) else 0
    if size > MAX_SIZE:
        raise LimitExceeded(f"The template built a value longer than {MAX_SIZE:,} items.")
    _spend(1 + size // 100)
    return result


def _check_numbers(values: Iterable[Any]) -> None:
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


def _check_product(value: Any, others: Iterable[Any]) -> None:
    """Refuse ``value`` combined with ``others`` when the result could be their product
    (``s.replace('', t)``, ``items | join(s)``)."""
    extra = sum(_size(o) for o in others if isinstance(o, str | list | tuple | range))
    if extra and (_size(value) + 1) * extra > MAX_SIZE:
        raise LimitExceeded(f"The template would build a value longer than {MAX_SIZE:,} items.")


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
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_SIZE:
                raise LimitExceeded(f"Repetition is limited to {MAX_SIZE:,} items.")
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            raise LimitExceeded("Products are limited to numbers of 4096 bits.")
    elif op == "+":
        if isinstance(left, str | list | tuple) and _size(left) + _size(right) > MAX_SIZE:
            raise LimitExceeded(f"Values are limited to {MAX_SIZE:,} items.")
    elif op == "%" and isinstance(left, str):
        _check_format(left)
        _check_numbers([right])


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

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
        if isinstance(receiver, str | list | tuple | dict):
            _check_product(receiver, [*args, *kwargs.values()])
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
        return super().getitem(obj, argument)


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    numbers = name not in ("default", "d")  # a default value may be any number

    @functools.wraps(func)  # keeps jinja_pass_arg: Jinja still passes the context first
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend()
        value: Any = args[skip] if len(args) > skip else None
        extra = [*args[skip + 1 :], *kwargs.values()]
        if numbers:
            _check_numbers(extra)
        if name == "format":
            _check_format(value)
        if name == "join" and isinstance(value, Iterable) and not isinstance(value, Sized):
            value = list(value)  # a generator's length decides the product
            args = (*args[:skip], value, *args[skip + 1 :])
        _check_product(value, extra)
        return _charge(func(*args, **kwargs))

    return guarded


def _budgeted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every for loop's iterable goes through this (see ``_Guard``): a step per item."""
    for item in iterable:
        _spend()
        yield item


def _concat(*parts: Any) -> str:
    """The ``~`` operator: like Jinja's own, with the size checked."""
    texts = [str(part) for part in parts]  # StrictUndefined raises here, as it would there
    return str(_charge("".join(texts)))


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _environment(undefined: type[Undefined]) -> _Environment:
    env = _Environment(
        undefined=undefined,
        autoescape=False,  # plain-text email
        finalize=_none_as_empty,
        keep_trailing_newline=True,
    )
    env.globals.pop("lipsum", None)  # lipsum(n) builds n paragraphs
    env.globals[_ITER] = _budgeted
    env.globals[_CONCAT] = _concat
    env.filters = {name: _guard_filter(name, f) for name, f in env.filters.items()}
    return env


# Saving checks with StrictUndefined: a name or field the context does not have is an error.
# Sending renders what the data has: a field that is null or absent there (an enrollment without
# an address, an optional key) is empty text, rather than a message lost.
_STRICT = _environment(StrictUndefined)
_LENIENT = _environment(ChainableUndefined)


class _Guard(NodeTransformer):
    """Routes every for loop's iterable through ``_budgeted`` and every ``~`` through
    ``_concat``, the two things the sandbox's hooks do not see."""

    def __init__(self, env: _Environment) -> None:
        self.env = env

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call(_ITER, [cast(nodes.Expr, node.iter)], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._call(_CONCAT, list(node.nodes), node.lineno)

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
