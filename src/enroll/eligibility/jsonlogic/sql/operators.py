"""The operators in truthiness position (``TRUTH_OPS``): ``!`` ``!!`` ``and`` ``or`` ``if``,
the comparisons, ``in``, ``some``/``all``/``none`` and ``missing``/``missing_some``, each
writing SQL through ``SqlCompiler``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from enroll.eligibility.jsonlogic.sql.limits import MAX_SQL_CHARS, balanced
from enroll.eligibility.jsonlogic.sql.values import SqlUnsupported, Typed

if TYPE_CHECKING:
    from enroll.eligibility.jsonlogic.sql.compiler import SqlCompiler


def _not(c: SqlCompiler, args: list[Any], path: str) -> str:
    return f"(NOT {c.truth(args[0] if args else None, f'{path}/0')})"


def _double_not(c: SqlCompiler, args: list[Any], path: str) -> str:
    return c.truth(args[0] if args else None, f"{path}/0")


def _terms(c: SqlCompiler, args: list[Any], path: str) -> list[str]:
    """Each argument's truth, stopping as soon as together they are too long."""
    terms, size = [], 0
    for i, a in enumerate(args):
        terms.append(c.truth(a, f"{path}/{i}"))
        size += len(terms[-1])
        if size > MAX_SQL_CHARS:
            raise SqlUnsupported(f"the SQL would exceed {MAX_SQL_CHARS} characters", path=path)
    return terms


def _and(c: SqlCompiler, args: list[Any], path: str) -> str:
    if not args:
        raise SqlUnsupported("and needs arguments", path=path)
    return balanced("AND", _terms(c, args, path))


def _or(c: SqlCompiler, args: list[Any], path: str) -> str:
    if not args:
        raise SqlUnsupported("or needs arguments", path=path)
    return balanced("OR", _terms(c, args, path))


def _if(c: SqlCompiler, args: list[Any], path: str) -> str:
    if not args:
        return "FALSE"
    parts = []
    for i in range(0, len(args) - 1, 2):
        cond = c.truth(args[i], f"{path}/{i}")
        parts.append(
            f"WHEN ({cond}) IS NULL THEN NULL WHEN {cond} THEN "
            f"{c.truth(args[i + 1], f'{path}/{i + 1}')}"
        )
    otherwise = c.truth(args[-1], f"{path}/{len(args) - 1}") if len(args) % 2 else "FALSE"
    if not parts:
        return otherwise
    return f"(CASE {' '.join(parts)} ELSE {otherwise} END)"


def _comparison(
    fn: Callable[[SqlCompiler, Typed, Typed], str | None], negate: bool = False
) -> Callable[[SqlCompiler, list[Any], str], str]:
    def build(c: SqlCompiler, args: list[Any], path: str) -> str:
        if len(args) != 2:
            raise SqlUnsupported("needs exactly two arguments in SQL", path=path)
        a, b = c.value(args[0], f"{path}/0"), c.value(args[1], f"{path}/1")
        sql = c.map2(a, b, lambda x, y: fn(c, x, y))
        return f"(NOT {sql})" if negate else sql

    return build


def _ordering(equal: bool, flip: bool) -> Callable[[SqlCompiler, list[Any], str], str]:
    def build(c: SqlCompiler, args: list[Any], path: str) -> str:
        values = [c.value(a, f"{path}/{i}") for i, a in enumerate(args)]
        if flip:
            if len(values) != 2:
                raise SqlUnsupported("needs exactly two arguments in SQL", path=path)
            values.reverse()
        if len(values) not in (2, 3) or (len(values) == 3 and flip):
            raise SqlUnsupported("needs two (or three) arguments in SQL", path=path)
        pairs = list(itertools.pairwise(values))
        return (
            "("
            + " AND ".join(c.map2(x, y, lambda p, q: c.less(p, q, equal=equal)) for x, y in pairs)
            + ")"
        )

    return build


def _in(c: SqlCompiler, args: list[Any], path: str) -> str:
    if len(args) != 2:
        raise SqlUnsupported("in needs two arguments", path=path)
    needle = c.value(args[0], f"{path}/0")
    hay = args[1]
    if isinstance(hay, list):
        if not all(v is None or isinstance(v, bool | int | float | str) for v in hay):
            raise SqlUnsupported("in: a literal list of scalars only", path=f"{path}/1")
        elements = [c.literal(v, f"{path}/1") for v in hay]
        if not elements:
            return "FALSE"
        return c.map(needle, lambda n: _one_of(n, elements))
    return c.map2(needle, c.value(hay, f"{path}/1"), c.member)


def _one_of(needle: Typed, elements: list[Typed]) -> str:
    """Whether ``needle`` strictly equals one of the literals: an SQL IN list over those of
    its own type (a list of any length is one level of the expression tree)."""
    if needle.kind == "null":
        return "TRUE" if any(e.kind == "null" for e in elements) else "FALSE"
    if needle.kind not in ("bool", "num", "str"):
        return "FALSE"  # arrays and objects equal only themselves, never a literal
    same = list(dict.fromkeys(e.sql for e in elements if e.kind == needle.kind))
    if not same:
        return "FALSE"
    return f"({needle.sql} IN ({', '.join(same)}))"


def _missing_terms(c: SqlCompiler, keys: list[Any], path: str) -> list[str]:
    terms = []
    for i, key in enumerate(keys):
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise SqlUnsupported("missing: literal keys only", path=f"{path}/{i}")
        branches = c.value({"var": key}, f"{path}/{i}")
        terms.append(
            c.map(
                branches,
                lambda t: (
                    "TRUE"
                    if t.kind == "null"
                    else (f"({t.sql} = '')" if t.kind == "str" else "FALSE")
                ),
            )
        )
    return terms


def _missing(c: SqlCompiler, args: list[Any], path: str) -> str:
    terms = _missing_terms(c, args, path)
    return balanced("OR", terms) if terms else "FALSE"


def _missing_some(c: SqlCompiler, args: list[Any], path: str) -> str:
    if (
        len(args) != 2
        or not isinstance(args[1], list)
        or isinstance(args[0], bool)
        or not isinstance(args[0], int | float)
    ):
        raise SqlUnsupported("missing_some: a number and a literal list", path=path)
    terms = _missing_terms(c, args[1], f"{path}/1")
    if not terms:
        return "FALSE"
    count = balanced("+", [f"(CASE WHEN {t} THEN 1 WHEN NOT {t} THEN 0 END)" for t in terms])
    return f"(({len(terms)} - ({count})) < {args[0]!r} AND ({count}) > 0)"


TRUTH_OPS: dict[str, Callable[[SqlCompiler, list[Any], str], str]] = {
    "!": _not,
    "!!": _double_not,
    "and": _and,
    "or": _or,
    "if": _if,
    "?:": _if,
    "==": _comparison(lambda c, a, b: c.loose(a, b)),
    "!=": _comparison(lambda c, a, b: c.loose(a, b), negate=True),
    "===": _comparison(lambda c, a, b: c.strict(a, b)),
    "!==": _comparison(lambda c, a, b: c.strict(a, b), negate=True),
    "<": _ordering(False, False),
    "<=": _ordering(True, False),
    ">": _ordering(False, True),
    ">=": _ordering(True, True),
    "in": _in,
    "some": lambda c, a, p: c.scoped("some", a, p),
    "all": lambda c, a, p: c.scoped("all", a, p),
    "none": lambda c, a, p: c.scoped("none", a, p),
    "missing": _missing,
    "missing_some": _missing_some,
}
# Operators whose value is always a boolean, so their value is their truthiness.
BOOLEAN_OPS = frozenset(
    {"!", "!!", "==", "!=", "===", "!==", "<", "<=", ">", ">=", "in", "some", "all", "none"}
)
SQL_OPERATORS = frozenset(TRUTH_OPS) | {"var"}
