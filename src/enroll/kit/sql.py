"""SQL constructs that differ by dialect, compiled per dialect so repositories stay portable."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Boolean, ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnClause


class JsonArrayContains(ColumnElement[bool]):
    """``value`` is an element of the JSON array in ``column``."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any] | ColumnClause[Any], value: str) -> None:
        self.column = column
        self.value = value


@compiles(JsonArrayContains, "postgresql")
def _pg_contains(element: JsonArrayContains, compiler: SQLCompiler, **kw: Any) -> str:
    param = bindparam(None, orjson.dumps([element.value]).decode(), unique=True)
    return f"({compiler.process(element.column, **kw)} @> CAST({compiler.process(param, **kw)} AS JSONB))"


@compiles(JsonArrayContains, "sqlite")
def _sqlite_contains(element: JsonArrayContains, compiler: SQLCompiler, **kw: Any) -> str:
    param = bindparam(None, element.value, unique=True)
    column = compiler.process(element.column, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {compiler.process(param, **kw)})"
