"""The comparison operators: ``==`` ``!=`` ``===`` ``!==``, ``<`` ``<=`` ``>`` ``>=`` (with a
fast path for a number literal, and the three-argument ``<``/``<=``) and ``in`` (set lookups
for a literal list of scalars)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enroll.eligibility.jsonlogic._budget import charge_text
from enroll.eligibility.jsonlogic._js import UNDEFINED, contains, is_array, kind, to_string
from enroll.eligibility.jsonlogic.compiler import Call, Compiled, compile_node, nth, scalar_list


def build_binary(fn: Callable[[Any, Any], Any]) -> Callable[[Call], Compiled]:
    def build(c: Call) -> Compiled:
        fs = c.compiled()
        a, b = nth(fs, 0), nth(fs, 1)
        return lambda data: fn(a(data), b(data))

    return build


def build_relation(
    js: Callable[[Any, Any], bool], py: Callable[[Any, Any], bool], *, between: bool = False
) -> Callable[[Call], Compiled]:
    """``a OP b`` (and, for ``<``/``<=``, ``a OP b OP c`` when given a third argument)."""

    def build(c: Call) -> Compiled:
        fs = c.compiled()
        a, b = nth(fs, 0), nth(fs, 1)
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


def build_in(c: Call) -> Compiled:
    literal = c.args[1] if len(c.args) > 1 else None
    if scalar_list(literal):
        assert isinstance(literal, list | tuple)
        needle = compile_node(c.args[0], c.at(0))
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
    needle, haystack = nth(fs, 0), nth(fs, 1)
    return lambda data: _in(needle(data), haystack(data))


def _in(x: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        charge_text(len(haystack))
        return haystack != "" and to_string(x) in haystack
    return is_array(haystack) and contains(haystack, x)
