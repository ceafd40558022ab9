"""The typed operators of the SQL compiler: equality (``===``, ``==``), ``Number()``, order
(``<``, ``<=``) and membership (``in``) of two typed values, as SQL, or None where SQL cannot
decide them exactly (the row then defers to the Python evaluator)."""

from __future__ import annotations

from enroll.eligibility.jsonlogic._js import string_less, string_to_number
from enroll.eligibility.jsonlogic.sql.values import MAX_EXACT, Json, Typed, quote


class TypedOperators:
    """Mixed into ``SqlCompiler``: the operators on typed pairs, per dialect."""

    pg: bool

    # --- typed operators (None: not decided exactly) ----------------------------------------

    def strict(self, a: Typed, b: Typed) -> str | None:
        if a.kind in ("list", "arr", "obj") or b.kind in ("list", "arr", "obj"):
            other = b if a.kind in ("list", "arr", "obj") else a
            # Arrays and objects equal only themselves: never a scalar or null.
            return "FALSE" if other.kind in ("null", "bool", "num", "str") else None
        if a.kind != b.kind:
            return "FALSE"
        if a.kind == "null":
            return "TRUE"
        return f"({a.sql} = {b.sql})"

    def loose(self, a: Typed, b: Typed) -> str | None:
        if a.kind == "null" or b.kind == "null":
            return "TRUE" if a.kind == b.kind else "FALSE"  # null == only null (or undefined)
        if a.kind == b.kind:
            return self.strict(a, b)
        if a.kind in ("list", "arr", "obj") or b.kind in ("list", "arr", "obj"):
            return None  # ToPrimitive: an array or object as a string
        na, nb = self._number(a), self._number(b)
        if na is None or nb is None:
            return None
        return "FALSE" if "NaN" in (na, nb) else f"({na} = {nb})"

    def _number(self, t: Typed) -> str | None:
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
            if n in (float("inf"), float("-inf")) or abs(n) >= MAX_EXACT:
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

    def less(self, a: Typed, b: Typed, *, equal: bool) -> str | None:
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

    def member(self, needle: Typed, hay: Typed) -> str | None:
        """``hay.indexOf(needle) !== -1`` (the Python evaluator's ``contains``)."""
        if hay.kind == "str":
            # String(needle) within a non-empty string: null and booleans have fixed texts;
            # a number's or a list's text is JavaScript's to write (deferred).
            text = {
                "str": needle.sql,
                "null": "'null'",
                "bool": f"(CASE WHEN {needle.sql} THEN 'true' ELSE 'false' END)",
            }.get(needle.kind)
            if text is None:
                return None
            fn = "strpos" if self.pg else "instr"
            return f"({hay.sql} <> '' AND {fn}({hay.sql}, {text}) > 0)"
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

    def _in_json_array(self, needle: Typed, j: Json) -> str:
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
        return f"EXISTS (SELECT 1 FROM json_each({j.doc}, {quote(j.path)}) AS m WHERE {cond})"
