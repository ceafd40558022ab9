"""``SqlCompiler``: a rule's values as typed SQL branches (literals, ``var`` over the fields,
JSON split by its runtime type), their truthiness, and ``some``/``all``/``none`` over array
elements; ``compile_sql`` and ``sql_supports``, the entry points."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from enroll.eligibility.jsonlogic.sql.limits import MAX_SQL_CHARS, check_fits
from enroll.eligibility.jsonlogic.sql.operators import BOOLEAN_OPS, TRUTH_OPS
from enroll.eligibility.jsonlogic.sql.typed import TypedOperators
from enroll.eligibility.jsonlogic.sql.values import (
    MAX_EXACT,
    TRUE,
    Branch,
    Dialect,
    FieldKind,
    Json,
    SqlField,
    SqlUnsupported,
    Typed,
    quote,
)

_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]{0,99}$")


class SqlCompiler(TypedOperators):
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
            handler = TRUTH_OPS.get(op)
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
            if op in BOOLEAN_OPS:
                return [(TRUE, Typed("bool", self.truth(rule, path)))]
            raise SqlUnsupported(f"{op!r} is not in the SQL subset", path=at)
        if isinstance(rule, list):
            raise SqlUnsupported("array values are not supported in SQL", path=path)
        return [(TRUE, self.literal(rule, path))]

    # --- values -----------------------------------------------------------------------------

    def literal(self, value: Any, path: str) -> Typed:
        if value is None:
            return Typed("null", "NULL", None, True)
        if isinstance(value, bool):
            return Typed("bool", "TRUE" if value else "FALSE", value, True)
        if isinstance(value, int):
            if abs(value) >= MAX_EXACT:
                raise SqlUnsupported("integers beyond 2**53", path=path)
            return Typed("num", str(value), value, True)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise SqlUnsupported("non-finite numbers", path=path)
            return Typed("num", repr(value), value, True)
        if isinstance(value, str):
            return Typed("str", quote(value), value, True)
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
            return self._json_branches(Json(self.root.sql), top=True)
        if self.element is not None:
            raise SqlUnsupported("only {'var': ''} reads the element in SQL", path=path)
        parts = text.split(".")
        if any(not _SAFE_KEY.match(p) or p == "length" for p in parts):
            raise SqlUnsupported(f"the path {text!r} is not supported in SQL", path=path)
        if self.root is not None:
            base, rest, kind = self.root.sql, parts, FieldKind.JSON
        else:
            field, used = self._field(parts)
            if field is None:
                raise SqlUnsupported(f"{parts[0]!r} is not available in SQL", path=path)
            base, rest, kind = field.sql, parts[used:], field.kind
        fallback = self.literal(default, f"{path}/1") if default is not None else None
        if kind == FieldKind.TEXT:
            if rest:
                raise SqlUnsupported("paths into text are not supported in SQL", path=path)
            return [(f"{base} IS NULL", Typed("null", "NULL")), (TRUE, Typed("str", base))]
        if kind == FieldKind.TEXT_LIST:
            if rest:
                raise SqlUnsupported("paths into lists are not supported in SQL", path=path)
            return [(TRUE, Typed("list", base))]
        if not rest:  # the column itself: SQL NULL is a null that is there (no default)
            return self._json_branches(Json(base), top=True)
        return self._json_branches(self._path(base, rest), top=False, fallback=fallback)

    def _field(self, parts: Sequence[str]) -> tuple[SqlField | None, int]:
        """The field a path starts with, the longest name first (a field may be a dotted
        path, such as ``location.utility.code``), and how many parts it took."""
        for used in range(len(parts), 0, -1):
            field = self.fields.get(".".join(parts[:used]))
            if field is not None:
                return field, used
        return None, 0

    def _path(self, base: str, parts: Sequence[str]) -> Json:
        if self.pg:
            return Json(f"({base} #> ARRAY[{', '.join(quote(p) for p in parts)}]::text[])")
        return Json(base, "$" + "".join(f'."{p}"' for p in parts))

    def _json_branches(self, j: Json, *, top: bool, fallback: Typed | None = None) -> list[Branch]:
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
                typ = f"json_type({j.doc}, {quote(j.path)})"
                scalar = f"json_extract({j.doc}, {quote(j.path)})"
            types = {
                "null": "'null'",
                "bool": "('true', 'false')",
                "num": "('integer', 'real')",
                "str": "'text'",
                "arr": "'array'",
                "obj": "'object'",
            }
            num = f"(CASE WHEN abs({scalar}) < {MAX_EXACT} THEN {scalar} END)"
            bool_ = f"({typ} = 'true')"

        def is_(k: str) -> str:
            t = types[k]
            return f"{typ} IN {t}" if t.startswith("(") else f"{typ} = {t}"

        missing = f"{typ} IS NULL"
        branches: list[Branch] = []
        if top or fallback is None:
            branches.append((f"({missing} OR {is_('null')})", Typed("null", "NULL")))
        else:
            branches.append((missing, fallback))
            branches.append((is_("null"), Typed("null", "NULL")))
        branches += [
            (is_("bool"), Typed("bool", bool_)),
            (is_("num"), Typed("num", num)),
            (is_("str"), Typed("str", scalar)),
            # A json_each row's array is JSON text in its value column.
            (is_("arr"), Typed("arr", "", json=Json(f"{j.doc}.value") if j.element else j)),
            (is_("obj"), Typed("obj", "")),
        ]
        return branches

    # --- combining branches -----------------------------------------------------------------

    def _case(self, cases: list[tuple[str, str | None]]) -> str:
        live = [(c, self.null if v is None else v) for c, v in cases]
        if len(live) == 1 and live[0][0] == TRUE:
            return live[0][1]
        body = " ".join(f"WHEN {c} THEN {v}" for c, v in live)
        return f"(CASE {body} END)"

    def map(self, branches: list[Branch], fn: Callable[[Typed], str | None]) -> str:
        return self._case([(c, fn(t)) for c, t in branches])

    def map2(
        self, a: list[Branch], b: list[Branch], fn: Callable[[Typed, Typed], str | None]
    ) -> str:
        return self.map(a, lambda ta: self.map(b, lambda tb: fn(ta, tb)))

    def _truth_of(self, branches: list[Branch]) -> str:
        return self.map(branches, self._truthy)

    def _truthy(self, t: Typed) -> str:
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

    def _length(self, t: Typed) -> str:
        if t.kind == "list":
            return f"jsonb_array_length({t.sql})" if self.pg else f"json_array_length({t.sql})"
        assert t.json is not None
        if self.pg:
            return f"jsonb_array_length({t.json.doc})"
        return f"json_array_length({t.json.doc}, {quote(t.json.path)})"

    # --- scoped: some / all / none ----------------------------------------------------------

    def scoped(self, op: str, args: list[Any], path: str) -> str:
        if len(args) != 2:
            raise SqlUnsupported(f"{op} needs two arguments", path=path)
        source = self.value(args[0], f"{path}/0")

        def over(t: Typed) -> str | None:
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

        return self.map(source, over)

    def _elements(self, t: Typed) -> tuple[str, list[Branch]]:
        """The FROM clause over the elements of an array, and the element's branches."""
        self.aliases += 1
        alias = f"el{self.aliases}"
        if t.kind == "list":
            if self.pg:
                return f"jsonb_array_elements_text({t.sql}) AS {alias}(v)", [
                    (TRUE, Typed("str", f"{alias}.v"))
                ]
            return f"json_each({t.sql}) AS {alias}", [(TRUE, Typed("str", f"{alias}.value"))]
        assert t.json is not None
        if self.pg:
            return f"jsonb_array_elements({t.json.doc}) AS {alias}(v)", self._json_branches(
                Json(f"{alias}.v"), top=True
            )
        return f"json_each({t.json.doc}, {quote(t.json.path)}) AS {alias}", self._json_branches(
            Json(alias, element=True), top=True
        )


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
        sql = SqlCompiler(fields, dialect, root).truth(rule, "")
    except RecursionError:
        raise SqlUnsupported("rule nests too deeply") from None
    check_fits(sql, dialect)
    return sql


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
