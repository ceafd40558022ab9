"""JsonLogic rules, compiled once into closures, with json-logic-js's semantics.

``compile_rule(rule)`` turns a rule into a function of the data; ``apply(rule, data)`` does the
same through a small cache; ``validate_rule(rule)`` is the stricter check for storing a rule.
One table, ``_OPS``, defines the operators for all three.

Semantics are json-logic-js's (2.x), including JavaScript's coercions: ``==`` is loose
equality and ``===`` strict (arrays and objects equal only themselves); ``<`` and friends
compare strings by UTF-16 code units when both sides are strings and numbers otherwise, with
NaN false; ``+`` and ``*`` apply ``parseFloat``, the others ``Number()``; ``cat`` and ``in`` use
``String()`` (``1.5`` → ``"1.5"``, ``[1, 2]`` → ``"1,2"``; ``cat`` joins like
``Array.prototype.join``, so null adds nothing); ``and``/``or`` return the deciding value; empty
arrays are falsy; ``all`` of an empty array is false. Results are plain JSON values: numbers that
an operator computes are ``int`` when integral (JavaScript has one number type), so
``{"/": [4, 2]}`` gives ``2``; values read from the data come back unchanged; ``*`` of a single
argument returns it untouched (as ``Array.prototype.reduce`` does). ``min``/``max`` of nothing
are ``-inf``/``inf``, like JavaScript's. Missing arguments are JavaScript's undefined inside
(``{"==": [null]}`` is true, ``{"===": [null]}`` false) and null in results. ``log`` returns
its argument without printing.

Where json-logic-js differs from this module:

* ``compile_rule`` (and so ``apply``) raises RuleError for an unknown operator anywhere in the
  rule, and for ``*`` without arguments, where json-logic-js throws only once evaluation
  reaches them. Dotted operators (``Math.abs``) and ``method`` are not supported.
* ``var`` reads the data's own values only: object keys, array and string indexes and the
  ``length`` of arrays and strings, never inherited JavaScript properties. Tuples are arrays.
* Integers beyond 2**53 keep their precision in comparisons (JavaScript would round them).
* ``missing_some`` with a null key list returns [] (json-logic-js throws a TypeError), and
  ``missing`` takes its keys as they are (json-logic-js would run a one-key object as a rule).

``validate_rule`` is stricter than evaluation. It rejects unknown operators, objects whose key
count is not one (json-logic-js treats them as data, which a criterion never needs and which is
always truthy, so they are almost certainly mistakes), non-JSON values, argument counts an
operator cannot use (``==`` needs two, ``substr`` two or three, ``and``/``or``/``min``/``max``/
``*`` at least one, ...), ``var`` paths that are not a string, number, null or rule, literal
``in`` haystacks that are neither string nor array, ``missing_some`` without a number and a
list, ``map``/``filter``/``all``/``some``/``none``/``reduce`` without a list of 2 (``reduce``: 2
or 3) arguments whose first is an array or a rule, and rules nested deeper than ``MAX_DEPTH``.
Over the static limits (``MAX_NODES``, ``MAX_ARRAY_LENGTH``, ``MAX_ITERATION_NESTING``, a
``reduce`` joining its accumulator with itself) it raises ``RuleTooComplex``.

Every evaluation runs under a budget (``_budget.py``): work is charged before it is done, and
an evaluation that would spend more raises ``RuleTooCostly``.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson

from enroll.eligibility.jsonlogic._budget import (
    RuleTooCostly,
    charge,
    charge_text,
    evaluation_budget,
    produce,
)
from enroll.eligibility.jsonlogic._budget import run as run_budgeted
from enroll.eligibility.jsonlogic._js import (
    INF,
    NAN,
    UNDEFINED,
    code_unit,
    contains,
    greater_equal,
    greater_than,
    is_array,
    js_length,
    kind,
    less_equal,
    less_than,
    loose_equal,
    number_result,
    parse_float,
    plus,
    strict_equal,
    substr,
    to_number,
    to_string,
    truthy,
)

__all__ = [
    "MAX_ARRAY_LENGTH",
    "MAX_DEPTH",
    "MAX_ITERATION_NESTING",
    "MAX_NODES",
    "OPERATORS",
    "RuleError",
    "RuleTooComplex",
    "RuleTooCostly",
    "apply",
    "compile_rule",
    "evaluation_budget",
    "truthy",
    "validate_rule",
]

Compiled = Callable[[Any], Any]
Predicate = Callable[[Any], bool]

MAX_DEPTH: Final = 64
# Static limits on a stored rule (``validate_rule``); evaluation has its budget (``_budget``).
MAX_NODES: Final = 50_000  # every operator, argument and literal counts one
MAX_ARRAY_LENGTH: Final = 25_000  # a literal array (an `in` list of postal codes, say)
MAX_ITERATION_NESTING: Final = 2  # map/filter/reduce/all/some/none inside one another's logic
_CACHE_SIZE: Final = 512
_SCOPED: Final = frozenset({"map", "filter", "reduce", "all", "some", "none"})


class RuleError(ValueError):
    """A rule that cannot be compiled or stored; ``path`` is a JSON Pointer into the rule."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{message} (at {path!r})" if path else message)
        self.message = message
        self.path = path


class RuleTooComplex(RuleError):
    """A rule over the static limits: refused when stored (``rule_too_complex``)."""


@dataclass(frozen=True, slots=True)
class _Call:
    """One operator application: ``{op: args}`` found at ``path``."""

    op: str
    args: list[Any]
    path: str
    bare: bool  # a single argument given without a list, as in {"var": "x"}

    @classmethod
    def of(cls, op: str, value: Any, path: str) -> _Call:
        bare = not is_array(value)
        return cls(op, [value] if bare else list(value), path, bare)

    @property
    def args_path(self) -> str:
        return f"{self.path}/{self.op.replace('~', '~0').replace('/', '~1')}"

    def at(self, i: int) -> str:
        return self.args_path if self.bare else f"{self.args_path}/{i}"

    def compiled(self) -> list[Compiled]:
        return [_compile(a, self.at(i)) for i, a in enumerate(self.args)]

    def is_op(self, i: int) -> bool:
        """Whether argument ``i`` is an operator application (rather than a literal)."""
        return i < len(self.args) and _is_call(self.args[i])


@dataclass(frozen=True, slots=True)
class _Spec:
    build: Callable[[_Call], Compiled]
    min_args: int = 0
    max_args: int | None = None
    list_args: bool = False  # arguments must be a list, never a bare value
    boolean: bool = False  # always returns a bool
    undefined_below: int = 0  # with fewer arguments, the result can be undefined
    check: Callable[[_Call], None] | None = None  # further write-time checks


# --- compiling ---------------------------------------------------------------------------------


def compile_rule(rule: Any) -> Compiled:
    """Compile ``rule`` once into a function of the data. Raises RuleError (see module doc)."""
    try:
        f = _compile(rule, "")
    except RecursionError:
        raise RuleError("rule nests too deeply to compile") from None
    if _yields_undefined(rule):
        f = _then_defined(f)
    weight = _weight(rule)

    def evaluate(data: Any) -> Any:
        # Every evaluation runs under a budget (RuleTooCostly past it): one of its own, or
        # the caller's (evaluation_budget), which an enrollment's criteria share. The weight
        # pays for each node once; iterations charge for their elements as they start.
        return run_budgeted(f, data, weight)

    return evaluate


def _then_defined(f: Compiled) -> Compiled:
    return lambda data: _defined(f(data))


def _weight(rule: Any) -> int:
    """What evaluating ``rule`` once costs, iterations aside: its nodes, counting a literal
    list that ``in`` looks in (a set lookup) as one."""
    total, stack = 0, [rule]
    while stack:
        node = stack.pop()
        total += 1
        if _is_call(node):
            ((op, value),) = node.items()
            args = list(value) if is_array(value) else [value]
            if op == "in" and len(args) > 1 and _scalar_list(args[1]):
                args = args[:1]
            stack.extend(args)
        elif is_array(node):
            stack.extend(node)
        elif isinstance(node, str):
            total += len(node) // 8  # a long var path is walked segment by segment
    return total


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        kind(e) in ("string", "number", "boolean", "null") for e in value
    )


def apply(rule: Any, data: Any = None) -> Any:
    """Evaluate ``rule`` against ``data``: compiled once per distinct rule (a small LRU cache
    keyed on the rule's canonical JSON), then run. Raises RuleError like ``compile_rule``."""
    if not isinstance(rule, dict | list | tuple):
        return rule
    key = _canonical(rule)
    if key is None:  # not JSON: compile without the cache
        return compile_rule(rule)(data)
    return _cached(key)(data)


def _canonical(rule: Any) -> bytes | None:
    """The rule's canonical JSON (sorted keys), told apart from any other rule's; None if the
    rule is not JSON. orjson is fast but writes NaN and Infinity as null, so a rule whose
    orjson text shows a null is keyed by the standard library's text instead."""
    try:
        text = orjson.dumps(rule, option=orjson.OPT_SORT_KEYS)
        if b"null" not in text:
            return b"o" + text
    except TypeError:
        pass
    try:
        return b"j" + json.dumps(rule, sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError):
        return None


@lru_cache(maxsize=_CACHE_SIZE)
def _cached(key: bytes) -> Compiled:
    return compile_rule(orjson.loads(key[1:]) if key[:1] == b"o" else json.loads(key[1:]))


def _is_call(rule: Any) -> bool:
    return isinstance(rule, dict) and len(rule) == 1


def _compile(rule: Any, path: str) -> Compiled:
    if isinstance(rule, dict):
        if len(rule) != 1:  # data, not logic
            return _const(rule)
        ((op, value),) = rule.items()
        spec = _OPS.get(op) if isinstance(op, str) else None
        if spec is None:
            raise RuleError(f"unknown operator {op!r}", path=path)
        return spec.build(_Call.of(op, value, path))
    if is_array(rule):
        items = [_compile(x, f"{path}/{i}") for i, x in enumerate(rule)]
        return lambda data: [f(data) for f in items]
    return _const(rule)


def _yields_undefined(rule: Any) -> bool:
    """Whether evaluating ``rule`` can produce JavaScript's undefined (from missing arguments)."""
    if is_array(rule):
        return any(_yields_undefined(x) for x in rule)
    if not _is_call(rule):
        return False
    ((op, value),) = rule.items()
    args = list(value) if is_array(value) else [value]
    return len(args) < _OPS[op].undefined_below or any(_yields_undefined(x) for x in args)


def _defined(value: Any) -> Any:
    """``value`` as JSON shows it: undefined, also inside arrays, becomes null."""
    if value is UNDEFINED:
        return None
    if is_array(value):
        produce(len(value))
        return [_defined(x) for x in value]
    return value


def _const(value: Any) -> Compiled:
    return lambda data: value


def _identity(data: Any) -> Any:
    return data


def _undefined(data: Any) -> Any:
    return UNDEFINED


def _null(data: Any) -> Any:
    return None


def _nth(fs: list[Compiled], i: int) -> Compiled:
    return fs[i] if i < len(fs) else _undefined


def _returns_bool(rule: Any) -> bool:
    return _is_call(rule) and _OPS[next(iter(rule))].boolean


def _predicate(rule: Any, f: Compiled) -> Predicate:
    """``f`` (compiled from ``rule``) as a function returning the truthiness of its value."""
    if _returns_bool(rule):
        return f
    if not isinstance(rule, dict) and not is_array(rule):
        constant = truthy(rule)
        return lambda data: constant
    return lambda data: truthy(f(data))


def _arg_predicate(c: _Call, fs: list[Compiled], i: int) -> Predicate:
    if i >= len(fs):
        return lambda data: False
    return _predicate(c.args[i], fs[i])


# --- var and missing ---------------------------------------------------------------------------

_ABSENT: Final = object()


def _index(key: str) -> int | None:
    """The array index ``key`` names, if it is a canonical one ("0", "17", not "01")."""
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def _child(data: Any, key: str, index: int | None) -> Any:
    """``data[key]`` for the data's own values, or _ABSENT (JavaScript's undefined)."""
    if isinstance(data, dict):
        return data.get(key, _ABSENT)
    if is_array(data) or isinstance(data, str):
        size = len(data) if is_array(data) else js_length(data)
        if index is not None:
            if index >= size:
                return _ABSENT
            return data[index] if is_array(data) else code_unit(data, index)
        return size if key == "length" else _ABSENT
    return _ABSENT


def _segments(path: Any) -> list[tuple[str, int | None]]:
    text = to_string(path)
    charge_text(len(text))
    keys = text.split(".")
    charge(4 * len(keys))  # each key is a path to walk
    return [(key, _index(key)) for key in keys]


def _lookup(data: Any, path: Any, not_found: Any) -> Any:
    """json-logic-js's ``var``: the whole data for "" or null, else walk the dotted path."""
    if path is None or path is UNDEFINED or path == "":
        return data
    for key, index in _segments(path):
        if data is None:
            return not_found
        data = _child(data, key, index)
        if data is _ABSENT:
            return not_found
    return data


def _var_of(data: Any, key: Any) -> Any:
    """``apply({"var": key}, data)``, as ``missing`` uses it (a list key is var's arguments)."""
    if is_array(key):
        path, default = [*key, UNDEFINED, UNDEFINED][:2]
        return _lookup(data, path, None if default is UNDEFINED else default)
    return _lookup(data, key, None)


def _build_var(c: _Call) -> Compiled:
    fs = c.compiled()
    if not fs:
        return _identity
    path, default = c.args[0], (_or_null(fs[1]) if len(fs) > 1 else None)
    if isinstance(path, dict) or is_array(path):  # computed at run time
        path_f = fs[0]
        if default is None:
            return lambda data: _lookup(data, path_f(data), None)
        return lambda data: _lookup(data, path_f(data), default(data))
    if path is None or path == "":
        return _identity
    segments = _segments(path)
    var_path = _var_walk(segments, default)
    if len(segments) == 1 and default is None:  # the common cases, for dicts, first
        ((key, _),) = segments

        def var_key(data: Any) -> Any:
            if type(data) is dict:
                return data.get(key)  # missing and null are both null
            return var_path(data)

        return var_key
    if len(segments) == 2 and default is None:
        (outer, _), (inner, _) = segments

        def var_nested(data: Any) -> Any:
            if type(data) is dict:
                value = data.get(outer)
                if type(value) is dict:
                    return value.get(inner)
            return var_path(data)

        return var_nested
    return var_path


def _var_walk(segments: list[tuple[str, int | None]], default: Compiled | None) -> Compiled:
    def var_path(data: Any) -> Any:
        value = data
        for key, index in segments:
            if type(value) is dict:
                value = value.get(key, _ABSENT)
            elif value is None:
                value = _ABSENT
            else:
                value = _child(value, key, index)
            if value is _ABSENT:
                return None if default is None else default(data)
        return value

    return var_path


def _or_null(f: Compiled) -> Compiled:
    """``f``, but null where it gives undefined (var's default, like JavaScript's)."""
    return lambda data: None if (value := f(data)) is UNDEFINED else value


def _missing_keys(data: Any, values: list[Any]) -> list[Any]:
    keys = values[0] if values and is_array(values[0]) else values
    charge(4 * len(keys))  # each key is a path to walk
    missing = []
    for key in keys:
        value = _var_of(data, key)
        if value is None or (type(value) is str and value == ""):
            missing.append(key)
    return missing


def _build_missing(c: _Call) -> Compiled:
    fs = c.compiled()
    return lambda data: _missing_keys(data, [f(data) for f in fs])


def _build_missing_some(c: _Call) -> Compiled:
    fs = c.compiled()
    need_f, options_f = _nth(fs, 0), _nth(fs, 1)

    def missing_some(data: Any) -> Any:
        need, options = need_f(data), options_f(data)
        if options is None or options is UNDEFINED:
            return []  # json-logic-js throws: null has no length
        missing = _missing_keys(data, list(options) if is_array(options) else [options])
        if is_array(options):
            present: float = len(options) - len(missing)
        elif isinstance(options, str):
            present = js_length(options) - len(missing)
        else:
            present = NAN
        return [] if greater_equal(present, need) else missing

    return missing_some


# --- logic -------------------------------------------------------------------------------------


def _build_if(c: _Call) -> Compiled:
    fs = c.compiled()
    pairs = [(_predicate(c.args[i], fs[i]), fs[i + 1]) for i in range(0, len(fs) - 1, 2)]
    otherwise = fs[-1] if len(fs) % 2 else _null
    if len(pairs) == 1:
        ((test, then),) = pairs
        return lambda data: then(data) if test(data) else otherwise(data)

    def if_(data: Any) -> Any:
        for test, then in pairs:
            if test(data):
                return then(data)
        return otherwise(data)

    return if_


def _build_junction(*, is_and: bool) -> Callable[[_Call], Compiled]:
    """``and`` returns the first falsy value (else the last), ``or`` the first truthy one."""
    decisive = not is_and

    def build(c: _Call) -> Compiled:
        fs = c.compiled()
        if not fs:
            return _undefined
        if len(fs) == 2 and all(_returns_bool(a) for a in c.args):  # Python's and/or will do
            f, g = fs
            if is_and:
                return lambda data: f(data) and g(data)
            return lambda data: f(data) or g(data)

        def junction(data: Any) -> Any:
            value = UNDEFINED
            for f in fs:
                value = f(data)
                if truthy(value) is decisive:
                    return value
            return value

        return junction

    return build


def _build_not(c: _Call) -> Compiled:
    test = _arg_predicate(c, c.compiled(), 0)
    return lambda data: not test(data)


def _build_truthy(c: _Call) -> Compiled:
    return _arg_predicate(c, c.compiled(), 0)


# --- comparison --------------------------------------------------------------------------------


def _build_binary(fn: Callable[[Any, Any], Any]) -> Callable[[_Call], Compiled]:
    def build(c: _Call) -> Compiled:
        fs = c.compiled()
        a, b = _nth(fs, 0), _nth(fs, 1)
        return lambda data: fn(a(data), b(data))

    return build


def _build_relation(
    js: Callable[[Any, Any], bool], py: Callable[[Any, Any], bool], *, between: bool = False
) -> Callable[[_Call], Compiled]:
    """``a OP b`` (and, for ``<``/``<=``, ``a OP b OP c`` when given a third argument)."""

    def build(c: _Call) -> Compiled:
        fs = c.compiled()
        a, b = _nth(fs, 0), _nth(fs, 1)
        if between and len(fs) >= 3:
            z = fs[2]

            def between_(data: Any) -> bool:
                x, y, limit = a(data), b(data), z(data)
                if limit is UNDEFINED:  # json-logic-js tests `c === undefined`
                    return js(x, y)
                return js(x, y) and js(y, limit)

            return between_
        bound = c.args[1] if len(c.args) > 1 else None
        if type(bound) is int or type(bound) is float:  # the common `{var} OP number`

            def versus_number(data: Any) -> bool:
                x = a(data)
                if type(x) is int or type(x) is float:
                    return py(x, bound)
                return js(x, bound)

            return versus_number
        return lambda data: js(a(data), b(data))

    return build


def _build_in(c: _Call) -> Compiled:
    literal = c.args[1] if len(c.args) > 1 else None
    if _scalar_list(literal):
        assert isinstance(literal, list | tuple)
        needle = _compile(c.args[0], c.at(0))
        # A literal list of scalars: set lookups, keeping strings, numbers and booleans apart.
        strings = frozenset(e for e in literal if kind(e) == "string")
        numbers = frozenset(e for e in literal if kind(e) == "number" and e == e)
        booleans = frozenset(e for e in literal if kind(e) == "boolean")
        has_null = any(e is None for e in literal)

        def in_literal(data: Any) -> bool:
            x = needle(data)
            t = type(x)
            if t is str:
                return x in strings
            if t is int or t is float:
                return x in numbers
            if t is bool:
                return x in booleans
            if x is None:
                return has_null
            return contains(literal, x)

        return in_literal
    fs = c.compiled()
    needle, haystack = _nth(fs, 0), _nth(fs, 1)
    return lambda data: _in(needle(data), haystack(data))


def _in(x: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        charge_text(len(haystack))
        return haystack != "" and to_string(x) in haystack
    return is_array(haystack) and contains(haystack, x)


# --- arrays ------------------------------------------------------------------------------------


def _scoped(c: _Call) -> tuple[Compiled, Compiled, Predicate, list[Compiled]]:
    """The array (charging, before they run, the logic's nodes for each of its elements),
    the logic applied to each element (as is and as a predicate), the rest."""
    fs = c.compiled()
    array = _nth(fs, 0)
    per_item = _weight(c.args[1]) if len(c.args) > 1 else 1

    def source(data: Any) -> Any:
        items = array(data)
        if is_array(items):
            charge(len(items) * per_item)
        return items

    return source, _nth(fs, 1), _arg_predicate(c, fs, 1), fs[2:]


def _build_filter(c: _Call) -> Compiled:
    source, _, test, _ = _scoped(c)

    def filter_(data: Any) -> list[Any]:
        items = source(data)
        if not is_array(items):
            return []
        produce(len(items))
        return [x for x in items if test(x)]

    return filter_


def _build_map(c: _Call) -> Compiled:
    source, logic, _, _ = _scoped(c)

    def map_(data: Any) -> list[Any]:
        items = source(data)
        if not is_array(items):
            return []
        produce(len(items))
        return [logic(x) for x in items]

    return map_


def _build_reduce(c: _Call) -> Compiled:
    source, logic, _, rest = _scoped(c)
    initial = rest[0] if rest else _null

    def reduce_(data: Any) -> Any:
        items, accumulator = source(data), initial(data)
        if not is_array(items):
            return accumulator
        for x in items:
            accumulator = logic({"current": x, "accumulator": accumulator})
        return accumulator

    return reduce_


def _build_all(c: _Call) -> Compiled:
    source, _, test, _ = _scoped(c)

    def all_(data: Any) -> bool:
        items = source(data)
        if not is_array(items) or not items:
            return False
        return all(map(test, items))

    return all_


def _build_some(c: _Call) -> Compiled:
    source, _, test, _ = _scoped(c)

    def some(data: Any) -> bool:
        items = source(data)
        return is_array(items) and any(map(test, items))

    return some


def _build_none(c: _Call) -> Compiled:
    some = _build_some(c)
    return lambda data: not some(data)


# --- arithmetic, strings, misc -----------------------------------------------------------------


def _build_add(c: _Call) -> Compiled:
    fs = c.compiled()
    return lambda data: number_result(sum((parse_float(f(data)) for f in fs), 0.0))


def _build_multiply(c: _Call) -> Compiled:
    fs = c.compiled()
    if not fs:
        raise RuleError("'*' needs at least one argument", path=c.path)
    if len(fs) == 1:
        return fs[0]  # Array.prototype.reduce without an initial value returns it untouched

    def multiply(data: Any) -> Any:
        product = parse_float(fs[0](data)) * parse_float(fs[1](data))
        for f in fs[2:]:
            product = (product or 0.0) * parse_float(f(data))  # parseFloat(-0) is 0
        return number_result(product)

    return multiply


def _subtract(a: Any, b: Any) -> Any:
    if b is UNDEFINED:
        return number_result(-to_number(a))
    return number_result(to_number(a) - to_number(b))


def _divide(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0:
        if x == 0 or x != x:
            return NAN
        return math.copysign(INF, x) * math.copysign(1.0, y)
    return number_result(x / y)


def _modulo(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0 or y != y or x != x or x in (INF, -INF):
        return NAN
    if y in (INF, -INF):
        return number_result(x)
    return number_result(math.fmod(x, y))


def _signed(n: float) -> tuple[float, float]:
    return n, math.copysign(1.0, n)


def _extreme(pick: Callable[..., float], empty: float) -> Callable[[_Call], Compiled]:
    def build(c: _Call) -> Compiled:
        fs = c.compiled()

        def extreme(data: Any) -> Any:
            numbers = [to_number(f(data)) for f in fs]
            if any(n != n for n in numbers):
                return NAN
            # -0 sorts below +0, as in Math.min/Math.max
            return number_result(pick(numbers, key=_signed) if numbers else empty)

        return extreme

    return build


def _build_cat(c: _Call) -> Compiled:
    fs = c.compiled()

    def cat(data: Any) -> str:
        parts = [
            p if type(p) is str else "" if p is None or p is UNDEFINED else to_string(p)
            for p in (f(data) for f in fs)
        ]
        produce(sum(map(len, parts)))  # before joining: the budget bounds memory too
        return "".join(parts)

    return cat


def _substr(source: Any, start: Any, end: Any) -> str:
    text = to_string(source)
    if less_than(end, 0):  # a negative length counts back from the end, as in PHP
        rest = substr(text, start)
        return substr(rest, 0, plus(js_length(rest), end))
    return substr(text, start, end)


def _build_substr(c: _Call) -> Compiled:
    fs = c.compiled()
    source, start, end = _nth(fs, 0), _nth(fs, 1), _nth(fs, 2)

    def substr_(data: Any) -> str:
        text = _substr(source(data), start(data), end(data))
        produce(len(text))
        return text

    return substr_


def _build_merge(c: _Call) -> Compiled:
    fs = c.compiled()

    def merge(data: Any) -> list[Any]:
        values = [f(data) for f in fs]
        produce(sum(len(v) if is_array(v) else 1 for v in values))
        merged: list[Any] = []
        for value in values:
            if is_array(value):
                merged.extend(value)
            else:
                merged.append(value)
        return merged

    return merge


def _build_log(c: _Call) -> Compiled:
    return _nth(c.compiled(), 0)  # the argument itself, not printed


# --- write-time checks -------------------------------------------------------------------------


def _literal_kind(c: _Call, i: int) -> str | None:
    """The JavaScript kind of argument ``i`` if it is a literal, None for an operator."""
    if c.is_op(i) or i >= len(c.args):
        return None
    value = c.args[i]
    return "array" if is_array(value) else kind(value)


def _check_var(c: _Call) -> None:
    if _literal_kind(c, 0) not in (None, "string", "number", "null"):
        raise RuleError("'var' takes a path: a string, a number, null or a rule", path=c.at(0))


def _check_in(c: _Call) -> None:
    if _literal_kind(c, 1) not in (None, "string", "array"):
        raise RuleError("'in' looks in a string or an array", path=c.at(1))


def _check_scoped(c: _Call) -> None:
    if _literal_kind(c, 0) not in (None, "array"):
        raise RuleError(f"{c.op!r} iterates over an array or a rule", path=c.at(0))


def _check_reduce(c: _Call) -> None:
    """Refuse a reduce that joins its accumulator with itself: it doubles at every step."""
    _check_scoped(c)
    if len(c.args) < 2:
        return
    for node in _same_scope(c.args[1]):
        joins = _is_call(node) and next(iter(node)) in ("cat", "merge")
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
        if _is_call(node):
            ((op, value),) = node.items()
            args = list(value) if is_array(value) else [value]
            stack.extend(args[:1] + args[2:] if op in _SCOPED else args)
        elif is_array(node):
            stack.extend(node)


def _reads_accumulator(node: Any) -> bool:
    if not _is_call(node) or "var" not in node:
        return False
    path = node["var"]
    if is_array(path):
        path = path[0] if path else None
    return isinstance(path, str) and (path == "accumulator" or path.startswith("accumulator."))


def _check_missing_some(c: _Call) -> None:
    if _literal_kind(c, 0) not in (None, "number"):
        raise RuleError("'missing_some' needs a number first", path=c.at(0))
    if _literal_kind(c, 1) not in (None, "array"):
        raise RuleError("'missing_some' needs a list of keys second", path=c.at(1))


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
        spec = _OPS.get(op) if isinstance(op, str) else None
        if spec is None:
            raise RuleError(f"unknown operator {op!r}", path=path)
        c = _Call.of(op, value, path)
        _check_arity(c, spec)
        if spec.check is not None:
            spec.check(c)
        for i, arg in enumerate(c.args):
            inner = nesting + 1 if op in _SCOPED and i == 1 else nesting
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


def _check_arity(c: _Call, spec: _Spec) -> None:
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


# --- the operator table ------------------------------------------------------------------------

_OPS: Final[dict[str, _Spec]] = {
    "==": _Spec(_build_binary(loose_equal), 2, 2, boolean=True),
    "!=": _Spec(_build_binary(lambda a, b: not loose_equal(a, b)), 2, 2, boolean=True),
    "===": _Spec(_build_binary(strict_equal), 2, 2, boolean=True),
    "!==": _Spec(_build_binary(lambda a, b: not strict_equal(a, b)), 2, 2, boolean=True),
    ">": _Spec(_build_relation(greater_than, operator.gt), 2, 2, boolean=True),
    ">=": _Spec(_build_relation(greater_equal, operator.ge), 2, 2, boolean=True),
    "<": _Spec(_build_relation(less_than, operator.lt, between=True), 2, 3, boolean=True),
    "<=": _Spec(_build_relation(less_equal, operator.le, between=True), 2, 3, boolean=True),
    "!": _Spec(_build_not, 1, 1, boolean=True),
    "!!": _Spec(_build_truthy, 1, 1, boolean=True),
    "and": _Spec(_build_junction(is_and=True), 1, undefined_below=1),
    "or": _Spec(_build_junction(is_and=False), 1, undefined_below=1),
    "if": _Spec(_build_if),
    "?:": _Spec(_build_if),
    "in": _Spec(_build_in, 2, 2, boolean=True, check=_check_in),
    "var": _Spec(_build_var, 0, 2, check=_check_var),
    "missing": _Spec(_build_missing),
    "missing_some": _Spec(_build_missing_some, 2, 2, check=_check_missing_some),
    "+": _Spec(_build_add),
    "-": _Spec(_build_binary(_subtract), 1, 2),
    "*": _Spec(_build_multiply, 1),
    "/": _Spec(_build_binary(_divide), 2, 2),
    "%": _Spec(_build_binary(_modulo), 2, 2),
    "min": _Spec(_extreme(min, INF), 1),
    "max": _Spec(_extreme(max, -INF), 1),
    "cat": _Spec(_build_cat),
    "substr": _Spec(_build_substr, 2, 3),
    "merge": _Spec(_build_merge),
    "map": _Spec(_build_map, 2, 2, list_args=True, check=_check_scoped, undefined_below=2),
    "filter": _Spec(_build_filter, 2, 2, list_args=True, check=_check_scoped),
    "reduce": _Spec(_build_reduce, 2, 3, list_args=True, check=_check_reduce, undefined_below=2),
    "all": _Spec(_build_all, 2, 2, list_args=True, boolean=True, check=_check_scoped),
    "some": _Spec(_build_some, 2, 2, list_args=True, boolean=True, check=_check_scoped),
    "none": _Spec(_build_none, 2, 2, list_args=True, boolean=True, check=_check_scoped),
    "log": _Spec(_build_log, 1, 1, undefined_below=1),
}

OPERATORS: Final[frozenset[str]] = frozenset(_OPS)
