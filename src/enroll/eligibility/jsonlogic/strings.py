"""The string operators: ``cat`` (``String()`` of each part, joined like
``Array.prototype.join``) and ``substr`` (UTF-16 code units, a negative length counting back
from the end)."""

from __future__ import annotations

from typing import Any

from enroll.eligibility.jsonlogic._budget import produce
from enroll.eligibility.jsonlogic._js import (
    UNDEFINED,
    js_length,
    less_than,
    plus,
    substr,
    to_string,
)
from enroll.eligibility.jsonlogic.compiler import Call, Compiled, nth


def build_cat(c: Call) -> Compiled:
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


def build_substr(c: Call) -> Compiled:
    fs = c.compiled()
    source, start, end = nth(fs, 0), nth(fs, 1), nth(fs, 2)

    def substr_(data: Any) -> str:
        text = _substr(source(data), start(data), end(data))
        produce(len(text))
        return text

    return substr_
