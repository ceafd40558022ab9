"""SQL constructs that differ by dialect, compiled per dialect so repositories stay portable."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import BindParameter, Boolean, ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler


class JsonArrayContains(ColumnElement[bool]):
    """``value`` is an element of the JSON array in ``column``."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any], value: str) -> None:
        self.column: ColumnElement[Any] = (
            column.__clause_element__() if isinstance(column, InstrumentedAttribute) else column
        )
        self.value = value


@compiles(JsonArrayContains, "postgresql")
def _pg_contains(element: JsonArrayContains, compiler: SQLCompiler, **kw: Any) -> str:
    param: BindParameter[str] = bindparam(None, orjson.dumps([element.value]).decode(), unique=True)
    column = compiler.process(element.column, **kw)
    return f"({column} @> CAST({compiler.process(param, **kw)} AS JSONB))"


@compiles(JsonArrayContains, "sqlite")
def _sqlite_contains(element: JsonArrayContains, compiler: SQLCompiler, **kw: Any) -> str:
    param: BindParameter[str] = bindparam(None, element.value, unique=True)
    column = compiler.process(element.column, **kw)
    value = compiler.process(param, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"
