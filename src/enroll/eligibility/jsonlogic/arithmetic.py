"""The arithmetic operators: ``+`` and ``*`` (``parseFloat``), ``-`` ``/`` ``%`` (``Number()``)
and ``min``/``max``, computing JavaScript's numbers (integral results as ``int``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from enroll.eligibility.jsonlogic._js import (
    INF,
    NAN,
    UNDEFINED,
    number_result,
    parse_float,
    to_number,
)
from enroll.eligibility.jsonlogic.compiler import Call, Compiled
from enroll.eligibility.jsonlogic.errors import RuleError


def build_add(c: Call) -> Compiled:
    fs = c.compiled()
    return lambda data: number_result(sum((parse_float(f(data)) for f in fs), 0.0))


def build_multiply(c: Call) -> Compiled:
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


def subtract(a: Any, b: Any) -> Any:
    if b is UNDEFINED:
        return number_result(-to_number(a))
    return number_result(to_number(a) - to_number(b))


def divide(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0:
        if x == 0 or x != x:
            return NAN
        return math.copysign(INF, x) * math.copysign(1.0, y)
    return number_result(x / y)


def modulo(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0 or y != y or x != x or x in (INF, -INF):
        return NAN
    if y in (INF, -INF):
        return number_result(x)
    return number_result(math.fmod(x, y))


def _signed(n: float) -> tuple[float, float]:
    return n, math.copysign(1.0, n)


def extreme(pick: Callable[..., float], empty: float) -> Callable[[Call], Compiled]:
    def build(c: Call) -> Compiled:
        fs = c.compiled()

        def extreme(data: Any) -> Any:
            numbers = [to_number(f(data)) for f in fs]
            if any(n != n for n in numbers):
                return NAN
            # -0 sorts below +0, as in Math.min/Math.max
            return number_result(pick(numbers, key=_signed) if numbers else empty)

        return extreme

    return build
