"""JsonLogic → SQL (PostgreSQL and SQLite): the set-based target of the rule compiler.

``compile_sql(rule, fields=…, dialect=…)`` returns a boolean SQL expression over one row that
is TRUE when ``truthy(apply(rule, context))`` is True, FALSE when it is False, and NULL when
that row's values are outside what SQL can decide *exactly* ("defer": the caller evaluates
that row with the Python evaluator, ``evaluator.py``, which stays the definition of the
semantics). A rule outside the subset raises ``SqlUnsupported`` and is evaluated in Python
for every row. SQL's three-valued AND/OR/NOT are exactly "decide or defer" for the logic
operators, so deferral composes. Stored strings that are canonical integers (CSV cells) are
converted with ``Number()`` in SQL too; other stored strings compared with numbers defer.

How values are represented: every operand is a list of *branches* ``(condition, typed
value)``, one per JavaScript type the operand may have at run time. Literals and TEXT
columns have one or two branches; a JSON value is split by its runtime type
(``jsonb_typeof`` / ``json_type``). Operators are written once over typed pairs and return
None where the pair is not decided exactly (arrays or objects coerced to strings, strings
coerced to numbers unless the string is a literal, string order where UTF-16 order and code
point order could differ); None becomes SQL NULL.

The subset: literals; ``var`` (dotted paths of object keys, with a default; not array
indexes or ``length``); ``==`` ``!=`` ``===`` ``!==``; ``<`` ``<=`` ``>`` ``>=`` (and the
three-argument forms of ``<`` and ``<=``); ``!`` ``!!``; ``and`` ``or`` ``if``/``?:`` where
their truthiness is what counts; ``in`` (literal lists, strings, TEXT_LIST and JSON arrays);
``some`` ``all`` ``none`` over TEXT_LIST or JSON arrays with ``{"var": ""}`` as the element;
``missing`` and ``missing_some`` for truthiness. Everything else (arithmetic, ``cat``,
``substr``, ``map``/``filter``/``reduce``, ``merge``, computed paths, and/or/if whose value
rather than truthiness is used) is refused with ``SqlUnsupported``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from enroll.eligibility.jsonlogic._js import string_less, string_to_number

Dialect = Literal["postgresql", "sqlite"]
_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]{0,99}$")
_MAX_EXACT = 2**53
# What one criterion's SQL may be, so that the statements holding it stay within the
# databases' limits and quick to parse; past them the rule runs in Python. SQLite refuses
# expression trees deeper than 1,000 levels, and (3.40, as bundled with Python 3.11) its
# parser's stack holds 100 entries: some 90 nested parentheses, but only 13 nested CASEs or
# 11 nested subqueries. ``sql_nesting`` overestimates it by 18% or more on the SQL this module
# writes (measured), and the statements around a criterion's SQL take up to some 20 entries.
# PostgreSQL's parser recurses on its stack, far deeper. Past MAX_SQL_CHARS, parsing and
# running the SQL costs more than the Python evaluator does (a 1,500-term OR over JSON: 1.2
# MB, 19 ms a row on SQLite against 3.5 ms in Python).
MAX_SQL_DEPTH = 400
MAX_SQLITE_NESTING = 80
MAX_SQL_CHARS = 250_000


class FieldKind(StrEnum):
    TEXT = "text"  # a nullable SQL text column
    TEXT_LIST = "text_list"  # a JSON array of strings, never SQL NULL
    JSON = "json"  # a nullable JSON column holding any JSON value


@dataclass(frozen=True, slots=True)
class SqlField:
    kind: FieldKind
    sql: str


class SqlUnsupported(Exception):
    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{message} (at {path!r})" if path else message)
        self.message = message
        self.path = path


# --- typed values ----------------------------------------------------------------------------

Kind = Literal["null", "bool", "num", "str", "list", "arr", "obj"]


@dataclass(frozen=True, slots=True)
class _Json:
    """A JSON value in SQL: PostgreSQL a jsonb expression; SQLite a document and a path."""

    doc: str
    path: str = "$"  # SQLite only
    element: bool = False  # SQLite: a json_each row (``doc`` is the alias)


@dataclass(frozen=True, slots=True)
class _T:
    kind: Kind
    sql: str  # the SQL value (bool, number, text); for list/arr/obj the JSON it lives in
    literal: Any = None
    is_literal: bool = False
    json: _Json | None = None  # arrays from JSON: where to find the elements


Branch = tuple[str, _T]  # (SQL condition, typed value)
_TRUE = "TRUE"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Compiler:
    def __init__(
        self, fields: Mapping[str, SqlField], dialect: Dialect, root: SqlField | None
    ) -> None:
        self.fields = fields
        self.pg = dialect == "postgresql"
        self.root = root
        self.element: list[Branch] | None = None  # inside some/all/none: the element
        self.aliases = 0
        self.null = "NULL::boolean" if self.pg else "NULL"

    # --- entry points -----------------------------------------------------------------------

    def truth(self, rule: Any, path: str) -> str:
        """SQL for the truthiness of ``rule``: TRUE / FALSE / NULL (defer)."""
        sql = self._truth(rule, path)
        # Checked at every level: operators repeat their operands' SQL (if, some, all), so
        # nesting could otherwise grow the text exponentially before the end is reached.
        if len(sql) > MAX_SQL_CHARS:
            raise SqlUnsupported(f"the SQL would exceed {MAX_SQL_CHARS} characters", path=path)
        return sql

    def _truth(self, rule: Any, path: str) -> str:
        if isinstance(rule, dict) and len(rule) == 1:
            ((op, args),) = rule.items()
            at = f"{path}/{op}"
            args_list = list(args) if isinstance(args, list) else [args]
            handler = _TRUTH_OPS.get(op)
            if handler is not None:
                return handler(self, args_list, at)
        return self._truth_of(self.value(rule, path))

    def value(self, rule: Any, path: str) -> list[Branch]:
        if isinstance(rule, dict):
            if len(rule) != 1:
                raise SqlUnsupported("objects as data are not supported in SQL", path=path)
            ((op, args),) = rule.items()
            at = f"{path}/{op}"
            args_list = list(args) if isinstance(args, list) else [args]
            if op == "var":
                return self._var(args_list, at)
            if op in _BOOLEAN_OPS:
                return [(_TRUE, _T("bool", self.truth(rule, path)))]
            raise SqlUnsupported(f"{op!r} is not in the SQL subset", path=at)
        if isinstance(rule, list):
            raise SqlUnsupported("array values are not supported in SQL", path=path)
        return [(_TRUE, self._literal(rule, path))]

    # --- values -----------------------------------------------------------------------------

    def _literal(self, value: Any, path: str) -> _T:
        if value is None:
            return _T("null", "NULL", None, True)
        if isinstance(value, bool):
            return _T("bool", "TRUE" if value else "FALSE", value, True)
        if isinstance(value, int):
            if abs(value) >= _MAX_EXACT:
                raise SqlUnsupported("integers beyond 2**53", path=path)
            return _T("num", str(value), value, True)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise SqlUnsupported("non-finite numbers", path=path)
            return _T("num", repr(value), value, True)
        if isinstance(value, str):
            return _T("str", _q(value), value, True)
        raise SqlUnsupported("unsupported literal", path=path)

    def _var(self, args: list[Any], path: str) -> list[Branch]:
        name = args[0] if args else None
        default = args[1] if len(args) > 1 else None
        if isinstance(name, bool) or not isinstance(name, str | int | float | type(None)):
            raise SqlUnsupported("computed var paths are not supported in SQL", path=path)
        text = "" if name is None else str(name)
        if text == "":
            if self.element is not None:
                return self.element
            if self.root is None:
                raise SqlUnsupported("the whole context is not available in SQL", path=path)
            return self._json_branches(_Json(self.root.sql), top=True)
        if self.element is not None:
            raise SqlUnsupported("only {'var': ''} reads the element in SQL", path=path)
        parts = text.split(".")
        if any(not _SAFE_KEY.match(p) or p == "length" for p in parts):
            raise SqlUnsupported(f"the path {text!r} is not supported in SQL", path=path)
        if self.root is not None:
            base, rest, kind = self.root.sql, parts, FieldKind.JSON
        else:
            field = self.fields.get(parts[0])
            if field is None:
                raise SqlUnsupported(f"{parts[0]!r} is not available in SQL", path=path)
            base, rest, kind = field.sql, parts[1:], field.kind
        fallback = self._literal(default, f"{path}/1") if default is not None else None
        if kind == FieldKind.TEXT:
            if rest:
                raise SqlUnsupported("paths into text are not supported in SQL", path=path)
            return [(f"{base} IS NULL", _T("null", "NULL")), (_TRUE, _T("str", base))]
        if kind == FieldKind.TEXT_LIST:
            if rest:
                raise SqlUnsupported("paths into lists are not supported in SQL", path=path)
            return [(_TRUE, _T("list", base))]
        if not rest:  # the column itself: SQL NULL is a null that is there (no default)
            return self._json_branches(_Json(base), top=True)
        return self._json_branches(self._path(base, rest), top=False, fallback=fallback)

    def _path(self, base: str, parts: Sequence[str]) -> _Json:
        if self.pg:
            return _Json(f"({base} #> ARRAY[{', '.join(_q(p) for p in parts)}]::text[])")
        return _Json(base, "$" + "".join(f'."{p}"' for p in parts))

    def _json_branches(self, j: _Json, *, top: bool, fallback: _T | None = None) -> list[Branch]:
        """Split a JSON value by its runtime type. Missing reads as the default (or null);
        at the top of a column, SQL NULL is the null the context holds."""
        if self.pg:
            typ, x = f"jsonb_typeof({j.doc})", j.doc
            types = {
                "null": "'null'",
                "bool": "'boolean'",
                "num": "'number'",
                "str": "'string'",
                "arr": "'array'",
                "obj": "'object'",
            }
            scalar = f"({x} #>> '{{}}')"
            num = f"({x})::numeric"
            bool_ = f"({x})::boolean"
        else:
            if j.element:
                typ, scalar = f"{j.doc}.type", f"{j.doc}.value"
            else:
                typ = f"json_type({j.doc}, {_q(j.path)})"
                scalar = f"json_extract({j.doc}, {_q(j.path)})"
            types = {
                "null": "'null'",
                "bool": "('true', 'false')",
                "num": "('integer', 'real')",
                "str": "'text'",
                "arr": "'array'",
                "obj": "'object'",
            }
            num = f"(CASE WHEN abs({scalar}) < {_MAX_EXACT} THEN {scalar} END)"
            bool_ = f"({typ} = 'true')"

        def is_(k: str) -> str:
            t = types[k]
            return f"{typ} IN {t}" if t.startswith("(") else f"{typ} = {t}"

        missing = f"{typ} IS NULL"
        branches: list[Branch] = []
        if top or fallback is None:
            branches.append((f"({missing} OR {is_('null')})", _T("null", "NULL")))
        else:
            branches.append((missing, fallback))
            branches.append((is_("null"), _T("null", "NULL")))
        branches += [
            (is_("bool"), _T("bool", bool_)),
            (is_("num"), _T("num", num)),
            (is_("str"), _T("str", scalar)),
            # A json_each row's array is JSON text in its value column.
            (is_("arr"), _T("arr", "", json=_Json(f"{j.doc}.value") if j.element else j)),
            (is_("obj"), _T("obj", "")),
        ]
        return branches

    # --- combining branches -----------------------------------------------------------------

    def _case(self, cases: list[tuple[str, str | None]]) -> str:
        live = [(c, self.null if v is None else v) for c, v in cases]
        if len(live) == 1 and live[0][0] == _TRUE:
            return live[0][1]
        body = " ".join(f"WHEN {c} THEN {v}" for c, v in live)
        return f"(CASE {body} END)"

    def _map(self, branches: list[Branch], fn: Callable[[_T], str | None]) -> str:
        return self._case([(c, fn(t)) for c, t in branches])

    def _map2(self, a: list[Branch], b: list[Branch], fn: Callable[[_T, _T], str | None]) -> str:
        return self._map(a, lambda ta: self._map(b, lambda tb: fn(ta, tb)))

    def _truth_of(self, branches: list[Branch]) -> str:
        return self._map(branches, self._truthy)

    def _truthy(self, t: _T) -> str:
        if t.kind == "null":
            return "FALSE"
        if t.kind == "bool":
            return t.sql
        if t.kind == "num":
            return f"({t.sql} <> 0)"
        if t.kind == "str":
            return f"({t.sql} <> '')"
        if t.kind == "obj":
            return "TRUE"
        return f"({self._length(t)} > 0)"

    def _length(self, t: _T) -> str:
        if t.kind == "list":
            return f"jsonb_array_length({t.sql})" if self.pg else f"json_array_length({t.sql})"
        assert t.json is not None
        if self.pg:
            return f"jsonb_array_length({t.json.doc})"
        return f"json_array_length({t.json.doc}, {_q(t.json.path)})"

    # --- typed operators (None: not decided exactly) ----------------------------------------

    def _strict(self, a: _T, b: _T) -> str | None:
        if a.kind in ("list", "arr", "obj") or b.kind in ("list", "arr", "obj"):
            other = b if a.kind in ("list", "arr", "obj") else a
            # Arrays and objects equal only themselves: never a scalar or null.
            return "FALSE" if other.kind in ("null", "bool", "num", "str") else None
        if a.kind != b.kind:
            return "FALSE"
        if a.kind == "null":
            return "TRUE"
        return f"({a.sql} = {b.sql})"

    def _loose(self, a: _T, b: _T) -> str | None:
        if a.kind == "null" or b.kind == "null":
            return "TRUE" if a.kind == b.kind else "FALSE"  # null == only null (or undefined)
        if a.kind == b.kind:
            return self._strict(a, b)
        if a.kind in ("list", "arr", "obj") or b.kind in ("list", "arr", "obj"):
            return None  # ToPrimitive: an array or object as a string
        na, nb = self._number(a), self._number(b)
        if na is None or nb is None:
            return None
        return "FALSE" if "NaN" in (na, nb) else f"({na} = {nb})"

    def _number(self, t: _T) -> str | None:
        """ToNumber of a scalar, as SQL; "NaN" when it is NaN; None when not decidable."""
        if t.kind == "num":
            return t.sql
        if t.kind == "null":
            return "0"
        if t.kind == "bool":
            return (
                "1"
                if t.is_literal and t.literal
                else ("0" if t.is_literal else f"(CASE WHEN {t.sql} THEN 1 ELSE 0 END)")
            )
        if t.kind == "str" and t.is_literal:
            n = string_to_number(t.literal)
            if n != n:
                return "NaN"
            if n in (float("inf"), float("-inf")) or abs(n) >= _MAX_EXACT:
                return None
            return repr(int(n)) if n == int(n) else repr(n)
        if t.kind == "str":
            return self._integer_text(t.sql)
        return None

    def _integer_text(self, x: str) -> str:
        """Number() of a stored string when it is a canonical integer of at most 15 digits
        (CSV imports store numbers as text); NULL (defer) for any other string."""
        if self.pg:
            return f"(CASE WHEN {x} ~ '^(0|-?[1-9][0-9]{{0,14}})$' THEN ({x})::numeric END)"
        return (
            f"(CASE WHEN length({x}) <= 16 AND CAST(CAST({x} AS INTEGER) AS TEXT) = {x}"
            f" THEN CAST({x} AS INTEGER) END)"
        )

    def _less(self, a: _T, b: _T, *, equal: bool) -> str | None:
        op = "<=" if equal else "<"
        if a.kind == "str" and b.kind == "str":
            if a.is_literal and b.is_literal:
                decided = (
                    not string_less(b.literal, a.literal)
                    if equal
                    else string_less(a.literal, b.literal)
                )
                return "TRUE" if decided else "FALSE"
            literal = a.literal if a.is_literal else b.literal if b.is_literal else None
            if literal is None or any(ord(ch) >= 0xE000 for ch in literal):
                return None  # UTF-16 order and code point order could differ
            collate = ' COLLATE "C"' if self.pg else ""
            return f"({a.sql}{collate} {op} {b.sql}{collate})"
        if a.kind in ("list", "arr", "obj") or b.kind in ("list", "arr", "obj"):
            return None
        na, nb = self._number(a), self._number(b)
        if na is None or nb is None:
            return None
        return "FALSE" if "NaN" in (na, nb) else f"({na} {op} {nb})"

    def _member(self, needle: _T, hay: _T) -> str | None:
        """``hay.indexOf(needle) !== -1`` (the Python evaluator's ``contains``)."""
        if hay.kind == "str":
            if needle.kind != "str":
                return "FALSE"  # a string's elements are one-character strings
            fn = "strpos" if self.pg else "instr"
            return f"({fn}({hay.sql}, {needle.sql}) > 0)"
        if hay.kind == "list":
            if needle.kind != "str":
                return "FALSE" if needle.kind in ("null", "bool", "num") else None
            if self.pg:
                return f"({hay.sql} @> jsonb_build_array(({needle.sql})::text))"
            return (
                f"EXISTS (SELECT 1 FROM json_each({hay.sql}) AS m"
                f" WHERE m.type = 'text' AND m.value = {needle.sql})"
            )
        if (
            hay.kind == "arr"
            and hay.json is not None
            and needle.kind in ("null", "bool", "num", "str")
        ):
            return self._in_json_array(needle, hay.json)
        return None

    def _in_json_array(self, needle: _T, j: _Json) -> str:
        if self.pg:
            want = {
                "null": "'null'::jsonb",
                "bool": f"to_jsonb({needle.sql})",
                "num": f"to_jsonb(({needle.sql})::numeric)",
                "str": f"to_jsonb(({needle.sql})::text)",
            }[needle.kind]
            return (
                f"EXISTS (SELECT 1 FROM jsonb_array_elements({j.doc}) AS m(v) WHERE m.v = {want})"
            )
        cond = {
            "null": "m.type = 'null'",
            "bool": f"m.type = CASE WHEN {needle.sql} THEN 'true' ELSE 'false' END",
            "num": f"m.type IN ('integer', 'real') AND m.value = {needle.sql}",
            "str": f"m.type = 'text' AND m.value = {needle.sql}",
        }[needle.kind]
        return f"EXISTS (SELECT 1 FROM json_each({j.doc}, {_q(j.path)}) AS m WHERE {cond})"

    # --- scoped: some / all / none ----------------------------------------------------------

    def _scoped(self, op: str, args: list[Any], path: str) -> str:
        if len(args) != 2:
            raise SqlUnsupported(f"{op} needs two arguments", path=path)
        source = self.value(args[0], f"{path}/0")

        def over(t: _T) -> str | None:
            if t.kind not in ("list", "arr"):
                return "FALSE" if op != "none" else "TRUE"  # not an array: no elements
            elems, element = self._elements(t)
            saved, self.element = self.element, element
            try:
                test = self.truth(args[1], f"{path}/1")
            finally:
                self.element = saved
            hit = f"EXISTS (SELECT 1 FROM {elems} WHERE ({test}) IS TRUE)"
            miss = f"EXISTS (SELECT 1 FROM {elems} WHERE ({test}) IS FALSE)"
            unsure = f"EXISTS (SELECT 1 FROM {elems} WHERE ({test}) IS NULL)"
            if op == "some":
                return f"(CASE WHEN {hit} THEN TRUE WHEN {unsure} THEN NULL ELSE FALSE END)"
            if op == "none":
                return f"(CASE WHEN {hit} THEN FALSE WHEN {unsure} THEN NULL ELSE TRUE END)"
            return (
                f"(CASE WHEN {self._length(t)} = 0 THEN FALSE WHEN {miss} THEN FALSE"
                f" WHEN {unsure} THEN NULL ELSE TRUE END)"
            )

        return self._map(source, over)

    def _elements(self, t: _T) -> tuple[str, list[Branch]]:
        """The FROM clause over the elements of an array, and the element's branches."""
        self.aliases += 1
        alias = f"el{self.aliases}"
        if t.kind == "list":
            if self.pg:
                return f"jsonb_array_elements_text({t.sql}) AS {alias}(v)", [
                    (_TRUE, _T("str", f"{alias}.v"))
                ]
            return f"json_each({t.sql}) AS {alias}", [(_TRUE, _T("str", f"{alias}.value"))]
        assert t.json is not None
        if self.pg:
            return f"jsonb_array_elements({t.json.doc}) AS {alias}(v)", self._json_branches(
                _Json(f"{alias}.v"), top=True
            )
        return f"json_each({t.json.doc}, {_q(t.json.path)}) AS {alias}", self._json_branches(
            _Json(alias, element=True), top=True
        )


# --- operators in truthiness position ---------------------------------------------------------


def _not(c: _Compiler, args: list[Any], path: str) -> str:
    return f"(NOT {c.truth(args[0] if args else None, f'{path}/0')})"


def _double_not(c: _Compiler, args: list[Any], path: str) -> str:
    return c.truth(args[0] if args else None, f"{path}/0")


def _terms(c: _Compiler, args: list[Any], path: str) -> list[str]:
    """Each argument's truth, stopping as soon as together they are too long."""
    terms, size = [], 0
    for i, a in enumerate(args):
        terms.append(c.truth(a, f"{path}/{i}"))
        size += len(terms[-1])
        if size > MAX_SQL_CHARS:
            raise SqlUnsupported(f"the SQL would exceed {MAX_SQL_CHARS} characters", path=path)
    return terms


def balanced(op: str, terms: Sequence[str]) -> str:
    """``t1 op t2 op ...`` nested as a balanced tree, so that its depth grows with the log of
    the number of terms: a parser nests a flat chain one level per term (SQLite refuses a
    1,500-term OR). For associative operators only (AND, OR, +, ||; NULL included)."""
    level = list(terms)
    while len(level) > 1:
        pairs = itertools.zip_longest(level[::2], level[1::2])
        level = [a if b is None else f"({a} {op} {b})" for a, b in pairs]
    return f"({level[0]})"


def _and(c: _Compiler, args: list[Any], path: str) -> str:
    if not args:
        raise SqlUnsupported("and needs arguments", path=path)
    return balanced("AND", _terms(c, args, path))


def _or(c: _Compiler, args: list[Any], path: str) -> str:
    if not args:
        raise SqlUnsupported("or needs arguments", path=path)
    return balanced("OR", _terms(c, args, path))


def _if(c: _Compiler, args: list[Any], path: str) -> str:
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
    fn: Callable[[_Compiler, _T, _T], str | None], negate: bool = False
) -> Callable[[_Compiler, list[Any], str], str]:
    def build(c: _Compiler, args: list[Any], path: str) -> str:
        if len(args) != 2:
            raise SqlUnsupported("needs exactly two arguments in SQL", path=path)
        a, b = c.value(args[0], f"{path}/0"), c.value(args[1], f"{path}/1")
        sql = c._map2(a, b, lambda x, y: fn(c, x, y))
        return f"(NOT {sql})" if negate else sql

    return build


def _ordering(equal: bool, flip: bool) -> Callable[[_Compiler, list[Any], str], str]:
    def build(c: _Compiler, args: list[Any], path: str) -> str:
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
            + " AND ".join(c._map2(x, y, lambda p, q: c._less(p, q, equal=equal)) for x, y in pairs)
            + ")"
        )

    return build


def _in(c: _Compiler, args: list[Any], path: str) -> str:
    if len(args) != 2:
        raise SqlUnsupported("in needs two arguments", path=path)
    needle = c.value(args[0], f"{path}/0")
    hay = args[1]
    if isinstance(hay, list):
        if not all(v is None or isinstance(v, bool | int | float | str) for v in hay):
            raise SqlUnsupported("in: a literal list of scalars only", path=f"{path}/1")
        elements = [c._literal(v, f"{path}/1") for v in hay]
        if not elements:
            return "FALSE"
        return c._map(needle, lambda n: _one_of(n, elements))
    return c._map2(needle, c.value(hay, f"{path}/1"), c._member)


def _one_of(needle: _T, elements: list[_T]) -> str:
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


def _missing_terms(c: _Compiler, keys: list[Any], path: str) -> list[str]:
    terms = []
    for i, key in enumerate(keys):
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise SqlUnsupported("missing: literal keys only", path=f"{path}/{i}")
        branches = c.value({"var": key}, f"{path}/{i}")
        terms.append(
            c._map(
                branches,
                lambda t: (
                    "TRUE"
                    if t.kind == "null"
                    else (f"({t.sql} = '')" if t.kind == "str" else "FALSE")
                ),
            )
        )
    return terms


def _missing(c: _Compiler, args: list[Any], path: str) -> str:
    terms = _missing_terms(c, args, path)
    return balanced("OR", terms) if terms else "FALSE"


def _missing_some(c: _Compiler, args: list[Any], path: str) -> str:
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


_TRUTH_OPS: dict[str, Callable[[_Compiler, list[Any], str], str]] = {
    "!": _not,
    "!!": _double_not,
    "and": _and,
    "or": _or,
    "if": _if,
    "?:": _if,
    "==": _comparison(lambda c, a, b: c._loose(a, b)),
    "!=": _comparison(lambda c, a, b: c._loose(a, b), negate=True),
    "===": _comparison(lambda c, a, b: c._strict(a, b)),
    "!==": _comparison(lambda c, a, b: c._strict(a, b), negate=True),
    "<": _ordering(False, False),
    "<=": _ordering(True, False),
    ">": _ordering(False, True),
    ">=": _ordering(True, True),
    "in": _in,
    "some": lambda c, a, p: c._scoped("some", a, p),
    "all": lambda c, a, p: c._scoped("all", a, p),
    "none": lambda c, a, p: c._scoped("none", a, p),
    "missing": _missing,
    "missing_some": _missing_some,
}
# Operators whose value is always a boolean, so their value is their truthiness.
_BOOLEAN_OPS = frozenset(
    {"!", "!!", "==", "!=", "===", "!==", "<", "<=", ">", ">=", "in", "some", "all", "none"}
)
SQL_OPERATORS = frozenset(_TRUTH_OPS) | {"var"}


def compile_sql(
    rule: Any,
    *,
    fields: Mapping[str, SqlField],
    dialect: Dialect,
    root: SqlField | None = None,
) -> str:
    """A SQL boolean over one row: TRUE/FALSE as ``truthy(apply(rule, context))``, NULL where
    that row needs the Python evaluator. Raises SqlUnsupported outside the subset."""
    try:
        sql = _Compiler(fields, dialect, root).truth(rule, "")
    except RecursionError:
        raise SqlUnsupported("rule nests too deeply") from None
    check_fits(sql, dialect)
    return sql


def check_fits(sql: str, dialect: Dialect) -> None:
    """Raise SqlUnsupported unless ``sql`` is within what ``dialect`` parses (see above)."""
    if len(sql) > MAX_SQL_CHARS:
        raise SqlUnsupported(f"the SQL would exceed {MAX_SQL_CHARS} characters")
    depth, nesting = sql_shape(sql)
    if depth > MAX_SQL_DEPTH:
        raise SqlUnsupported(f"the SQL would nest deeper than {MAX_SQL_DEPTH} levels")
    if dialect == "sqlite" and nesting > MAX_SQLITE_NESTING:
        raise SqlUnsupported("the SQL would nest deeper than SQLite's parser allows")


_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|\w+\(|[()]|<>|<=|>=|\|\||[=<>+*/-]"
    r"|\b(?:AND|OR|NOT|IS|IN|CASE|END|SELECT)\b"
)
_OPERATOR_TOKENS = frozenset({"<>", "<=", ">=", "||", "=", "<", ">", "+", "*", "/", "-"})
_OPERATOR_TOKENS |= {"AND", "OR", "NOT", "IS", "IN"}
# Parser stack entries (in halves) that SQLite 3.40 holds per open construct, measured
# (tests/eligibility/test_jsonlogic_sql.py checks them): a parenthesis 1, a function call's
# 3.2, a CASE 6.7, a subquery 8; operators waiting for their right operand 2.5 each (but
# they reduce as they go, so at most 6 per level).
_NEST_COST = {"(": 2, "call": 7, "CASE": 14, "SELECT": 16}
_OPERATOR_COST, _OPERATORS_MAX = 5, 12


def sql_shape(sql: str) -> tuple[int, int]:
    """Upper bounds, for SQL as this module writes it, of the height of the expression tree
    a database parses from ``sql`` and of the parser stack (in entries) SQLite needs for it.

    Height: each parenthesised group is one level more than the deepest group inside it,
    plus one per operator at its own level (a chain of them nests). Stack: the costs of the
    constructs open at once (``_NEST_COST``) and of their operators."""
    # Per open construct: operators at its level, its deepest child group, its stack cost
    # and its operators' stack cost.
    frames = [[0, 0, 0, 0]]
    in_use = most = 0
    for token in _TOKENS.findall(sql):
        if token[0] in "'\"":
            continue
        frame = frames[-1]
        if token.endswith("(") or token == "CASE":
            cost = _NEST_COST["(" if token == "(" else "CASE" if token == "CASE" else "call"]
            frames.append([0, 0, cost, 0])
            in_use += cost
            most = max(most, in_use)
        elif token in (")", "END") and len(frames) > 1:
            operators, deepest, cost, pending = frames.pop()
            in_use -= cost + pending
            if token == ")":
                frames[-1][1] = max(frames[-1][1], 1 + operators + deepest)
            else:  # a CASE: its operators and groups count in the group around it
                frames[-1][0] += operators
                frames[-1][1] = max(frames[-1][1], deepest)
        elif token == "SELECT":
            frame[2] += _NEST_COST["SELECT"]
            in_use += _NEST_COST["SELECT"]
            most = max(most, in_use)
        elif token in _OPERATOR_TOKENS:
            frame[0] += 1
            if frame[3] < _OPERATORS_MAX:
                frame[3] += _OPERATOR_COST
                in_use += _OPERATOR_COST
                most = max(most, in_use)
    operators, deepest, _, _ = frames[0]
    return 1 + operators + deepest, most // 2


def sql_supports(
    rule: Any,
    *,
    fields: Mapping[str, SqlField],
    dialect: Dialect,
    root: SqlField | None = None,
) -> bool:
    try:
        compile_sql(rule, fields=fields, dialect=dialect, root=root)
    except SqlUnsupported:
        return False
    return True


__all__ = [
    "MAX_SQL_DEPTH",
    "SQL_OPERATORS",
    "Dialect",
    "FieldKind",
    "SqlField",
    "SqlUnsupported",
    "balanced",
    "check_fits",
    "compile_sql",
    "sql_shape",
    "sql_supports",
]
