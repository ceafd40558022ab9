"""What one criterion's SQL may be: its length, the height of its expression tree and the
parser stack SQLite needs for it (``check_fits``, ``sql_shape``), and ``balanced``, which
keeps long AND/OR chains shallow."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from enroll.eligibility.jsonlogic.sql.values import Dialect, SqlUnsupported

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


def balanced(op: str, terms: Sequence[str]) -> str:
    """``t1 op t2 op ...`` nested as a balanced tree, so that its depth grows with the log of
    the number of terms: a parser nests a flat chain one level per term (SQLite refuses a
    1,500-term OR). For associative operators only (AND, OR, +, ||; NULL included)."""
    level = list(terms)
    while len(level) > 1:
        pairs = itertools.zip_longest(level[::2], level[1::2])
        level = [a if b is None else f"({a} {op} {b})" for a, b in pairs]
    return f"({level[0]})"


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
