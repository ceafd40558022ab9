"""The array operators: the iterating ones (``map``, ``filter``, ``reduce``, ``all``,
``some``, ``none``), which charge the budget for each element before they start, and
``merge``."""

from __future__ import annotations

from typing import Any

from enroll.eligibility.jsonlogic._budget import charge, produce
from enroll.eligibility.jsonlogic._js import is_array
from enroll.eligibility.jsonlogic.compiler import (
    Call,
    Compiled,
    Predicate,
    arg_predicate,
    nth,
    null,
    weight,
)


def _scoped(c: Call) -> tuple[Compiled, Compiled, Predicate, list[Compiled]]:
    """The array (charging, before they run, the logic's nodes for each of its elements),
    the logic applied to each element (as is and as a predicate), the rest."""
    fs = c.compiled()
    array = nth(fs, 0)
    per_item = weight(c.args[1]) if len(c.args) > 1 else 1

    def source(data: Any) -> Any:
        items = array(data)
        if is_array(items):
            charge(len(items) * per_item)
        return items

    return source, nth(fs, 1), arg_predicate(c, fs, 1), fs[2:]


def build_filter(c: Call) -> Compiled:
    source, _, test, _ = _scoped(c)

    def filter_(data: Any) -> list[Any]:
        items = source(data)
        if not is_array(items):
            return []
        produce(len(items))
        return [x for x in items if test(x)]

    return filter_


def build_map(c: Call) -> Compiled:
    source, logic, _, _ = _scoped(c)

    def map_(data: Any) -> list[Any]:
        items = source(data)
        if not is_array(items):
            return []
        produce(len(items))
        return [logic(x) for x in items]

    return map_


def build_reduce(c: Call) -> Compiled:
    source, logic, _, rest = _scoped(c)
    initial = rest[0] if rest else null

    def reduce_(data: Any) -> Any:
        items, accumulator = source(data), initial(data)
        if not is_array(items):
            return accumulator
        for x in items:
            accumulator = logic({"current": x, "accumulator": accumulator})
        return accumulator

    return reduce_


def build_all(c: Call) -> Compiled:
    source, _, test, _ = _scoped(c)

    def all_(data: Any) -> bool:
        items = source(data)
        if not is_array(items) or not items:
            return False
        return all(map(test, items))

    return all_


def build_some(c: Call) -> Compiled:
    source, _, test, _ = _scoped(c)

    def some(data: Any) -> bool:
        items = source(data)
        return is_array(items) and any(map(test, items))

    return some


def build_none(c: Call) -> Compiled:
    some = build_some(c)
    return lambda data: not some(data)


def build_merge(c: Call) -> Compiled:
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
