"""The longest result an amplifying operation may build, from its arguments: methods of
str, bytes, list and dict (``method_bound``), filters (``filter_bound``), ``%`` formatting
(``percent_bound``), and the checks on numbers, format strings and binary operators."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from enroll.notification.templates.budget import (
    MAX_ARGUMENTS,
    MAX_INT_BITS,
    MAX_NUMBER_ARGUMENT,
    MAX_SIZE,
    LimitExceeded,
    spend,
    too_big,
)
from enroll.notification.templates.sizes import (
    FLOAT_CHARS,
    QUOTED,
    arg_of,
    depth,
    int_or,
    size_of,
    weight,
    weights,
)

_LONG_NUMBER = re.compile(r"\d{6,}")  # a width or precision in a format string


def replace_bound(text: Any, old: Any, new: Any, count: Any) -> int:
    size = size_of(text)
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return size
    times = size + 1 if not old else size // len(old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return size + times * len(new)


def translate_bound(text: Any, table: Any) -> int:
    longest = 1
    values = table.values() if isinstance(table, Mapping) else table
    if isinstance(values, Collection) and not isinstance(values, str | bytes):
        weight(values)  # a step per hundred entries
        for v in values:
            longest = max(longest, len(v) if isinstance(v, str | bytes) else 1)
    return size_of(text) * longest


def join_bound(separator: Any, items: Any) -> int:
    if not isinstance(items, Collection):
        return 0
    spend(len(items) // 100)
    texts = sum(len(x) if isinstance(x, str | bytes) else weight(x) for x in items)
    return texts + size_of(separator) * max(len(items) - 1, 0)


def method_bound(receiver: Any, name: str, args: tuple[Any, ...], kw: Mapping[str, Any]) -> int:
    """The longest result a method of a str, bytes, list or dict may build from these
    arguments (a call's cost is bounded by its inputs, but for these)."""
    size = size_of(receiver)
    if isinstance(receiver, str | bytes):
        if name == "expandtabs":
            tabs = receiver.count("\t") if isinstance(receiver, str) else receiver.count(b"\t")
            return size + tabs * max(int_or(arg_of(args, kw, 0, "tabsize"), 8), 0)
        if name in ("center", "ljust", "rjust", "zfill"):
            return max(size, int_or(arg_of(args, kw, 0, "width"), 0))
        if name == "replace":
            old, new = arg_of(args, kw, 0, "old"), arg_of(args, kw, 1, "new")
            return replace_bound(receiver, old, new, arg_of(args, kw, 2, "count"))
        if name == "translate":
            return translate_bound(receiver, arg_of(args, kw, 0, "table"))
        if name == "join":
            return join_bound(receiver, arg_of(args, kw, 0, "iterable"))
        if name == "encode":
            return 10 * size + 4  # 'unicode_escape': '\U000e0001' for one character
        return 3 * size + weights([*args, *kw.values()])  # 'ß'.upper() is 'SS'
    return size + weights([*args, *kw.values()])  # copy, fromkeys, items: no more than given


def spec_numbers(spec: str) -> int:
    """At least the width plus the precision a format spec asks for (its digits, summed)."""
    return sum(int(n) for n in re.findall(r"\d+", spec))


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def percent_bound(template: str, values: Any) -> int:
    """The longest result of ``template % values``: per conversion its width, its precision
    and the printed value (``%(a)s`` may repeat one value many times)."""
    positional = iter(values if isinstance(values, tuple) else (values,))
    mapping = values if isinstance(values, Mapping) else None
    bound = len(template)
    for match in _PERCENT.finditer(template):
        key, width, precision, kind = match.groups()
        for number in (width, precision):
            if number == "*":
                number = str(int_or(next(positional, 0), 0))
            bound += abs(int(number)) if number else 0
        if kind == "%":
            continue
        if mapping is not None and key is not None:
            value = mapping.get(key)
        else:
            value = next(positional, None)
        factor = QUOTED if kind in "ra" else 1
        bound += factor * weight(value) + (FLOAT_CHARS if isinstance(value, float) else 0)
        too_big(bound)
    return bound


def check_numbers(values: Collection[Any]) -> None:
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
            check_numbers(value)  # '%*s' % (width, text)


def check_format(text: Any) -> None:
    if isinstance(text, str) and _LONG_NUMBER.search(text):
        raise LimitExceeded("Format strings may not hold numbers of six digits or more.")


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def guard_binop(op: str, left: Any, right: Any) -> None:
    if op == "**":
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if numbers and (abs(right) > 10_000 or _int_bits(left) * abs(int(right)) > MAX_INT_BITS):
            raise LimitExceeded("Powers are limited to numbers of 4096 bits.")
    elif op == "*":
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | bytes | list | tuple) and isinstance(times, int)
            if sized and size_of(seq) * times > MAX_SIZE:
                raise LimitExceeded(f"Repetition is limited to {MAX_SIZE:,} items.")
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            raise LimitExceeded("Products are limited to numbers of 4096 bits.")
    elif op == "+":
        if (
            isinstance(left, str | bytes | list | tuple)
            and size_of(left) + size_of(right) > MAX_SIZE
        ):
            raise LimitExceeded(f"Values are limited to {MAX_SIZE:,} items.")
    elif op == "%" and isinstance(left, str):
        check_format(left)
        check_numbers([right])
        too_big(percent_bound(left, right))


def filter_bound(name: str, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> int:
    """The longest result filter ``name`` may build from ``value`` and its arguments."""
    size = size_of(value)
    if name == "center":
        return max(size, int_or(arg_of(args, kw, 0, "width"), 80))
    if name == "indent":
        width = arg_of(args, kw, 0, "width")
        per_line = len(width) if isinstance(width, str) else int_or(width, 4)
        lines = value.count("\n") + 1 if isinstance(value, str) else 1
        return size + lines * per_line
    if name == "wordwrap":
        wrap = arg_of(args, kw, 2, "wrapstring")
        return size + (size + 1) * (len(wrap) if isinstance(wrap, str) else 2)
    if name == "replace":
        return replace_bound(value, arg_of(args, kw, 0, "old"), arg_of(args, kw, 1, "new"), None)
    if name == "join":
        return join_bound(arg_of(args, kw, 0, "d") or "", value)
    if name == "truncate":
        return size + size_of(arg_of(args, kw, 2, "end") or "...")
    if name == "format":
        return percent_bound(value, kw or args) if isinstance(value, str) else size
    if name in ("batch", "slice"):
        count = int_or(arg_of(args, kw, 0, "linecount" if name == "batch" else "slices"), 0)
        return size + count * (2 + weight(arg_of(args, kw, 1, "fill_with"), quoted=True))
    if name == "sum":
        start = arg_of(args, kw, 1, "start")
        many = len(value) if isinstance(value, Collection) else 1
        return many * (size + weight(start)) if isinstance(start, Collection) else size
    if name in ("tojson", "pprint"):
        indent = arg_of(args, kw, 0, "indent") if name == "tojson" else 1
        step = len(indent) if isinstance(indent, str) else int_or(indent, 0)
        # A line per item at most (size counts each), indented by its depth: 6 for '\u003c'.
        return 6 * size + (size * step * depth(value) if step else 0)
    if name == "urlize":
        extra = weights([*args, *kw.values()])
        return 6 * size + (size // 2 + 1) * (100 + extra)
    if name in ("urlencode",):
        return 12 * size  # '%F0%9F%98%80' for one character
    if name in ("escape", "e", "forceescape", "xmlattr"):
        return 6 * size  # '&#34;' for '"'
    if name in ("upper", "lower", "title", "capitalize"):
        return 3 * size  # 'ß'.upper() is 'SS'
    if name == "groupby":
        return 2 * size
    return size + weights([*args, *kw.values()])  # no more than it is given
