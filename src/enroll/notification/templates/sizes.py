"""Sizes, computed before an operation runs: an upper bound of how long a value prints
(``weight``: lists and dicts hold references, so a small list may print a gigabyte), how
deeply it nests (``depth``), and a generator listed within the limits (``materialized``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from jinja2 import Undefined
from jinja2.utils import Namespace

from enroll.notification.templates.budget import MAX_SIZE, spend, too_big

QUOTED = 10  # repr() of a string inside a list: up to ten characters per one ('\U000e0001')
FLOAT_CHARS = 330  # format(1e308, 'f') is 316 characters


_BYTES = (bytes, bytearray)  # tuples: a union (bytes | bytearray) is slower in isinstance
_SCALARS = (bool, Undefined)


def weight(*values: Any, quoted: bool = False) -> int:
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
            spend(100)  # a long walk stops when the budget does
        if isinstance(item, str):
            total += len(item) * QUOTED + 3 if inner else len(item)
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
    spend((visited % 200) // 2)
    return total


def depth(value: Any) -> int:
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
    spend(visited // 100)
    return deepest if not stack else MAX_SIZE


def weights(values: Iterable[Any]) -> int:
    return weight(*values)


def materialized(value: Any) -> Any:
    """A generator (``map``, ``select``) as a list, built a hundred items to a step and refused
    once its items would print longer than ``MAX_SIZE``: its length decides products."""
    if isinstance(value, str | bytes | Collection | Undefined) or not isinstance(value, Iterable):
        return value
    items: list[Any] = []
    total = 0
    for item in value:
        items.append(item)
        total += weight(item, quoted=True)
        too_big(total)
        if len(items) % 10 == 0:
            spend()
    return items


def int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def size_of(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else weight(value)


def arg_of(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name)
