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

Where things are: ``values.py`` (fields, typed values), ``compiler.py`` (``SqlCompiler``,
``compile_sql``), ``typed.py`` (operators on typed pairs), ``operators.py`` (operators in
truthiness position), ``limits.py`` (what the SQL may be: length, depth, SQLite's stack).
"""

from enroll.eligibility.jsonlogic.sql.compiler import compile_sql, sql_supports
from enroll.eligibility.jsonlogic.sql.limits import MAX_SQL_DEPTH, balanced, check_fits, sql_shape
from enroll.eligibility.jsonlogic.sql.operators import SQL_OPERATORS
from enroll.eligibility.jsonlogic.sql.values import Dialect, FieldKind, SqlField, SqlUnsupported

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
