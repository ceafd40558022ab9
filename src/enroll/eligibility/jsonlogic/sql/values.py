"""The SQL compiler's vocabulary: the dialects, the fields a rule may read (``FieldKind``,
``SqlField``), ``SqlUnsupported``, and typed values (``Typed``: one JavaScript type's SQL,
``Json``: where a JSON value lives, ``Branch``: a value under its condition)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

Dialect = Literal["postgresql", "sqlite"]
MAX_EXACT = 2**53


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
class Json:
    """A JSON value in SQL: PostgreSQL a jsonb expression; SQLite a document and a path."""

    doc: str
    path: str = "$"  # SQLite only
    element: bool = False  # SQLite: a json_each row (``doc`` is the alias)


@dataclass(frozen=True, slots=True)
class Typed:
    kind: Kind
    sql: str  # the SQL value (bool, number, text); for list/arr/obj the JSON it lives in
    literal: Any = None
    is_literal: bool = False
    json: Json | None = None  # arrays from JSON: where to find the elements


Branch = tuple[str, Typed]  # (SQL condition, typed value)
TRUE = "TRUE"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
