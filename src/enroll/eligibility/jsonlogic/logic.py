"""The logic operators: ``if``/``?:``, ``and``/``or`` (the deciding value), ``!``, ``!!`` and
``log`` (its argument, not printed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enroll.eligibility.jsonlogic._js import UNDEFINED, truthy
from enroll.eligibility.jsonlogic.compiler import (
    Call,
    Compiled,
    arg_predicate,
    nth,
    null,
    predicate,
    returns_bool,
    undefined,
)


def build_if(c: Call) -> Compiled:
    fs = c.compiled()
    pairs = [(predicate(c.args[i], fs[i]), fs[i + 1]) for i in range(0, len(fs) - 1, 2)]
    otherwise = fs[-1] if len(fs) % 2 else null
    if len(pairs) == 1:
        ((test, then),) = pairs
        return lambda data: then(data) if test(data) else otherwise(data)

    def if_(data: Any) -> Any:
        for test, then in pairs:
            if test(data):
                return then(data)
        return otherwise(data)

    return if_


def build_junction(*, is_and: bool) -> Callable[[Call], Compiled]:
    """``and`` returns the first falsy value (else the last), ``or`` the first truthy one."""
    decisive = not is_and

    def build(c: Call) -> Compiled:
        fs = c.compiled()
        if not fs:
            return undefined
        if len(fs) == 2 and all(returns_bool(a) for a in c.args):  # Python's and/or will do
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


def build_not(c: Call) -> Compiled:
    test = arg_predicate(c, c.compiled(), 0)
    return lambda data: not test(data)


def build_truthy(c: Call) -> Compiled:
    return arg_predicate(c, c.compiled(), 0)


def build_log(c: Call) -> Compiled:
    return nth(c.compiled(), 0)  # the argument itself, not printed
