"""The SQL target of the rule compiler against the Python evaluator, on real databases.

Whenever the SQL decides (TRUE or FALSE) it must equal ``truthy(apply(rule, context))``; NULL
means "the Python evaluator decides this row". Checked on the JsonLogic conformance suite
(each case's data in one JSON column, read as the whole context), on hand-written cases with
JavaScript's coercions, and on Hypothesis-generated rules and rows over an enrollment-like
schema — where well-typed comparisons must also actually be decided in SQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enroll.eligibility.jsonlogic import apply, truthy
from enroll.eligibility.jsonlogic.sql import (
    FieldKind,
    SqlField,
    SqlUnsupported,
    compile_sql,
    sql_supports,
)
from tests.eligibility.test_jsonlogic_conformance import CASES

PG_URL = os.environ.get("ENROLL_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="ENROLL_TEST_DATABASE_URL")
    ),
]
COLUMNS = ("first_name", "email", "tags", "manufacturer_slugs", "address", "metadata", "doc")
FIELDS = {
    "firstName": SqlField(FieldKind.TEXT, "t.first_name"),
    "email": SqlField(FieldKind.TEXT, "t.email"),
    "tags": SqlField(FieldKind.TEXT_LIST, "t.tags"),
    "manufacturerSlugs": SqlField(FieldKind.TEXT_LIST, "t.manufacturer_slugs"),
    "address": SqlField(FieldKind.JSON, "t.address"),
    "metadata": SqlField(FieldKind.JSON, "t.metadata"),
}
ROOT = SqlField(FieldKind.JSON, "t.doc")


class Db:
    """One table of rows, and a way to evaluate SQL expressions over all of them at once."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.sqlite: sqlite3.Connection | None = None
        self.url = ""
        if backend == "sqlite":
            self.sqlite = sqlite3.connect(":memory:")
        else:
            assert PG_URL
            self.name = f"enroll_sql_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{self.name}"'))
            self.url = f"{PG_URL.rsplit('/', 1)[0]}/{self.name}"

    @property
    def dialect(self) -> Any:
        return "sqlite" if self.backend == "sqlite" else "postgresql"

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        else:
            assert PG_URL
            asyncio.run(_pg(PG_URL, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def evaluate(self, exprs: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        """[row][expr] -> True / False / None."""
        values = [
            [r.get("firstName"), r.get("email")]
            # Lists of strings are never SQL NULL: an absent list is an empty one.
            + [orjson.dumps(r.get(k, [])).decode() for k in ("tags", "manufacturerSlugs")]
            + [orjson.dumps(r["address"]).decode() if r.get("address") is not None else None]
            + [orjson.dumps(r.get("metadata", {})).decode(), orjson.dumps(r.get("doc")).decode()]
            for r in rows
        ]
        select = ", ".join(f"({e})" for e in exprs) or "1"
        if self.sqlite is not None:
            con = self.sqlite
            con.execute("DROP TABLE IF EXISTS t")
            con.execute(f"CREATE TABLE t (i INTEGER, {', '.join(COLUMNS)})")
            con.executemany(
                f"INSERT INTO t VALUES (?, {', '.join('?' * len(COLUMNS))})",
                [[i, *v] for i, v in enumerate(values)],
            )
            out = con.execute(f"SELECT {select} FROM t ORDER BY i").fetchall()
            return [[None if x is None else bool(x) for x in row] for row in out]
        return asyncio.run(self._pg_evaluate(select, values))

    async def _pg_evaluate(self, select: str, values: list[list[Any]]) -> list[list[Any]]:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("DROP TABLE IF EXISTS t")
            await conn.execute(
                "CREATE TABLE t (i int, first_name text, email text, tags jsonb,"
                " manufacturer_slugs jsonb, address jsonb, metadata jsonb, doc jsonb)"
            )
            await conn.executemany(
                "INSERT INTO t VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb,"
                " $8::jsonb)",
                [[i, *v] for i, v in enumerate(values)],
            )
            rows = await conn.fetch(f"SELECT {select} FROM t ORDER BY i")
            return [list(r.values()) for r in rows]
        finally:
            await conn.close()


async def _pg(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    d = Db(request.param)
    yield d
    d.close()


def context(row: dict[str, Any]) -> dict[str, Any]:
    ctx = {k: row.get(k) for k in ("firstName", "email", "address")}
    ctx["tags"] = row.get("tags", [])
    ctx["manufacturerSlugs"] = row.get("manufacturerSlugs", [])
    ctx["metadata"] = row.get("metadata", {})
    return ctx


def python(rule: Any, data: Any) -> bool | None:
    try:
        return truthy(apply(rule, data))
    except Exception:  # an error check in the product: SQL must defer there
        return None


def check(db: Db, rules: Sequence[Any], rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Compare SQL with Python for every (rule, row); return (pairs, decided)."""
    exprs = [compile_sql(r, fields=FIELDS, dialect=db.dialect) for r in rules]
    got = db.evaluate(exprs, rows)
    decided = 0
    for r, row in enumerate(rows):
        for k, rule in enumerate(rules):
            sql = got[r][k]
            if sql is None:
                continue
            decided += 1
            expected = python(rule, context(row))
            assert sql == expected, (rule, row, sql, expected, exprs[k])
    return len(rules) * len(rows), decided


# --- the conformance suite --------------------------------------------------------------------


def test_conformance_suite_where_sql_supports_it(db: Db) -> None:
    supported = [
        (rule, data, expected)
        for _i, rule, data, expected in CASES
        if sql_supports(rule, fields={}, dialect=db.dialect, root=ROOT)
    ]
    assert len(supported) >= 100, len(supported)
    exprs = [compile_sql(r, fields={}, dialect=db.dialect, root=ROOT) for r, _, _ in supported]
    decided = 0
    for (rule, data, expected), expr in zip(supported, exprs, strict=True):
        (row,) = db.evaluate([expr], [{"doc": data}])
        if row[0] is None:
            continue
        decided += 1
        assert row[0] == truthy(expected), (rule, data, expected, expr)
    # Deferral is for coercions SQL cannot do exactly; most supported cases decide.
    assert decided >= 0.8 * len(supported), (decided, len(supported))


# --- hand-written cases ------------------------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {
        "firstName": "Ann",
        "email": "ann@example.com",
        "tags": ["vip", "a:b"],
        "manufacturerSlugs": ["tesla", "enphase"],
        "address": {"state": "NY", "postalCode": "10001"},
        "metadata": {
            "age": 70,
            "income": 52000.5,
            "ownsHome": True,
            "note": "",
            "n": "12",
            "kids": [1, "2", None],
            "o": {"x": 1},
            "z": None,
        },
    },
    {
        "firstName": None,
        "email": None,
        "tags": [],
        "manufacturerSlugs": [],
        "address": None,
        "metadata": {},
    },
    {
        "firstName": "",
        "email": "it's%?$1@x.io",
        "tags": ["o'neil"],
        "manufacturerSlugs": ["lg"],
        "address": {"state": "CA"},
        "metadata": {"age": "70", "income": 0, "ownsHome": False, "note": "é☃", "kids": []},
    },
]
RULES: list[Any] = [
    {"==": [{"var": "address.state"}, "NY"]},
    {"in": [{"var": "address.state"}, ["NY", "NJ"]]},
    {"some": [{"var": "manufacturerSlugs"}, {"in": [{"var": ""}, ["tesla", "lg"]]}]},
    {"all": [{"var": "manufacturerSlugs"}, {"==": [{"var": ""}, "tesla"]}]},
    {"none": [{"var": "tags"}, {"==": [{"var": ""}, "a:b"]}]},
    {"in": ["vip", {"var": "tags"}]},
    {"in": ["o'neil", {"var": "tags"}]},
    {">=": [{"var": "metadata.age"}, 65]},
    {"<": [{"var": "metadata.income"}, 60000]},
    {"==": [{"var": "metadata.age"}, "70"]},
    {"===": [{"var": "metadata.age"}, 70]},
    {"!=": [{"var": "metadata.n"}, 12]},
    {"var": "metadata.ownsHome"},
    {"!": {"var": "metadata.note"}},
    {"!!": {"var": "metadata.kids"}},
    {"!!": {"var": "metadata.o"}},
    {"var": ["metadata.missing", True]},
    {"var": ["metadata.z", True]},
    {"==": [{"var": "metadata.z"}, None]},
    {"==": [{"var": "firstName"}, None]},
    {"var": "firstName"},
    {"in": ["@", {"var": "email"}]},
    {"in": ["%?$1", {"var": "email"}]},
    {"missing": ["firstName", "metadata.note", "address.state"]},
    {"missing_some": [1, ["firstName", "email"]]},
    {
        "if": [
            {"var": "metadata.ownsHome"},
            {"var": "firstName"},
            {">": [{"var": "metadata.age"}, 1]},
        ]
    },
    {"and": [{"var": "email"}, {"or": [{"var": "metadata.ownsHome"}, {"var": "tags"}]}]},
    {"<": [1, {"var": "metadata.age"}, 100]},
    {"<": [{"var": "firstName"}, "B"]},
    {">": [{"var": "address.state"}, "M"]},
    {"some": [{"var": "metadata.kids"}, {"==": [{"var": ""}, 2]}]},
    {"in": [{"var": "metadata.income"}, [0, 52000.5]]},
    {"==": [{"var": "metadata.ownsHome"}, 1]},
    {"<": [{"var": "metadata.z"}, 1]},
    {"==": ["é☃", {"var": "metadata.note"}]},
    {"<": [{"var": "metadata.n"}, 100]},  # "12": a stored integer string
    {">": [{"var": "email"}, 5]},
    # Within a string the needle is String(needle): [] is "" (found), null is "null".
    {"in": [{"var": "tags"}, "NY"]},
    {"in": [{"var": "metadata.nothing"}, "nullable"]},
    {"in": [{"var": "metadata.ownsHome"}, "it is true"]},
    {"in": [{"var": "email"}, ""]},
]


def test_hand_written_cases_agree_and_decide(db: Db) -> None:
    pairs, decided = check(db, RULES, ROWS)
    assert decided >= 0.9 * pairs, (decided, pairs)


def test_well_typed_cases_are_decided(db: Db) -> None:
    # Strings against strings, membership in lists (metadata.age >= 65 may defer: "70" is a
    # string there, and Number() of a stored string is left to Python).
    exprs = [compile_sql(r, fields=FIELDS, dialect=db.dialect) for r in RULES[:7]]
    for row in db.evaluate(exprs, ROWS):
        assert None not in row


def test_unsupported_rules_are_refused_not_guessed() -> None:
    for rule in (
        {"+": [1, {"var": "metadata.age"}]},
        {"var": "customer.email"},
        {"var": "manufacturerSlugs.0"},
        {"cat": ["a", {"var": "firstName"}]},
        {"==": [{"or": [{"var": "email"}, "x"]}, "x"]},
        {"var": {"var": "metadata.key"}},
    ):
        with pytest.raises(SqlUnsupported):
            compile_sql(rule, fields=FIELDS, dialect="sqlite")


# --- generated rules and rows -------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "NY", "ny", "0", "12", "-3", "007", "-0", " 7 ", "abc", "tesla", "é", "a'b", "1e3"]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abxy"), inner, max_size=3)
    ),
    max_leaves=6,
)
STRINGS = st.sampled_from(["", "NY", "NJ", "tesla", "lg", "Ann", "a'b", "é", "☃", "0"])
ROW = st.fixed_dictionaries(
    {},
    optional={
        "firstName": st.none() | STRINGS,
        "email": st.none() | STRINGS,
        "tags": st.lists(STRINGS, max_size=3),
        "manufacturerSlugs": st.lists(STRINGS, max_size=3),
        "address": st.none()
        | st.dictionaries(st.sampled_from(["state", "city"]), JSON, max_size=2),
        "metadata": st.dictionaries(st.sampled_from(["a", "b", "x"]), JSON, max_size=3),
    },
)
VARS = st.sampled_from(
    [
        "firstName",
        "email",
        "tags",
        "manufacturerSlugs",
        "address",
        "address.state",
        "address.city",
        "metadata",
        "metadata.a",
        "metadata.b",
        "metadata.a.x",
        "metadata.zz",
    ]
)


def _value(depth: int) -> st.SearchStrategy[Any]:
    var = VARS.map(lambda v: {"var": v}) | st.tuples(VARS, SCALARS).map(
        lambda t: {"var": [t[0], t[1]]}
    )
    return var | SCALARS if depth <= 0 else var | SCALARS | _bool(depth - 1)


def _bool(depth: int) -> st.SearchStrategy[Any]:
    value = _value(depth)
    compare = st.tuples(
        st.sampled_from(["==", "!=", "===", "!==", "<", "<=", ">", ">="]), value, value
    ).map(lambda t: {t[0]: [t[1], t[2]]})
    member = st.tuples(value, st.lists(SCALARS, max_size=3) | value).map(
        lambda t: {"in": [t[0], t[1]]}
    )
    element = st.tuples(st.sampled_from(["==", "===", "<", "!="]), SCALARS).map(
        lambda t: {t[0]: [{"var": ""}, t[1]]}
    )
    scoped = st.tuples(st.sampled_from(["some", "all", "none"]), VARS, element).map(
        lambda t: {t[0]: [{"var": t[1]}, t[2]]}
    )
    missing = st.lists(VARS, min_size=1, max_size=3).map(lambda ks: {"missing": ks})
    leaf = compare | member | scoped | missing | value.map(lambda v: {"!!": v})
    if depth <= 0:
        return leaf
    inner = _bool(depth - 1)
    return (
        leaf
        | st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"and": xs})
        | st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"or": xs})
        | inner.map(lambda x: {"!": x})
        | st.tuples(inner, inner, inner).map(lambda t: {"if": list(t)})
    )


RULE = _bool(2)
# Derandomized: CI runs the same examples every time (reproducible); to explore further, run
# locally with derandomize off and more examples.


@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(rules=st.lists(RULE, min_size=1, max_size=5), rows=st.lists(ROW, min_size=1, max_size=6))
def test_generated_rules_agree_with_python(db: Db, rules: list[Any], rows: list[Any]) -> None:
    supported = [r for r in rules if sql_supports(r, fields=FIELDS, dialect=db.dialect)]
    if supported:
        check(db, supported, rows)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    op=st.sampled_from(["==", "!=", "===", "<", ">="]),
    field=st.sampled_from(["firstName", "email", "address.state"]),
    literal=st.sampled_from(["NY", "Ann", "", "a'b", "é"]),
    rows=st.lists(ROW, min_size=1, max_size=6),
)
def test_string_comparisons_are_decided(
    db: Db, op: str, field: str, literal: str, rows: list[Any]
) -> None:
    rows = [r for r in rows if not isinstance((r.get("address") or {}).get("state"), list | dict)]
    if not rows:
        return
    rule = {op: [{"var": field}, literal]}
    _pairs, decided = check(db, [rule], rows)
    # Only a JSON number or boolean against a non-numeric string may defer (Number(...)).
    assert decided == len(rows) or field == "address.state", (rule, rows)


def test_literals_with_sql_metacharacters(db: Db) -> None:
    rule = {"in": [{"var": "email"}, ["it's%?$1@x.io", ":name", "a\\b"]]}
    (row,) = db.evaluate([compile_sql(rule, fields=FIELDS, dialect=db.dialect)], [ROWS[2]])
    assert row == [True]
    assert json.dumps(rule)  # the rule itself stays plain JSON


# --- rules beyond what a database parses (issue 13, A3) ----------------------------------------


def _nested(shape: str, depth: int) -> Any:
    rule: Any = {"==": [{"var": "metadata.a"}, 1]}
    element: Any = {"==": [{"var": ""}, 1]}
    for i in range(depth):
        if shape == "not":
            rule = {"!": rule}
        elif shape == "if":
            rule = {"if": [rule, {"<": [{"var": "metadata.b"}, i]}, {"var": "metadata.c"}]}
        elif shape == "and-or":
            op = "and" if i % 2 else "or"
            rule = {op: [{"==": [{"var": "metadata.b"}, i]}, rule, {"in": [{"var": "email"}, "x"]}]}
        elif shape == "equal":
            rule = {"==": [rule, {"var": "metadata.flag"}]}
        elif shape == "some":
            rule = {"some": [{"var": "metadata.list"}, element]}
            element = {"some": [{"var": ""}, element]}
    return rule


@pytest.mark.parametrize("shape", ["not", "if", "and-or", "equal", "some"])
def test_sql_stays_within_sqlites_limits_or_is_left_to_python(shape: str) -> None:
    """Whatever the nesting, the statements re-evaluation and imports build around the masks
    parse on SQLite, or the mask is None (every row in Python): never a database error."""
    from enroll.eligibility import bulk

    db = sqlite3.connect(":memory:")
    columns = ", ".join(bulk.ROW_COLUMNS)
    db.execute(f"CREATE TABLE enrollment (status, program_instance_id, {columns})")
    db.execute(
        "INSERT INTO enrollment (id, status, metadata, manufacturer_slugs, tags)"
        """ VALUES ('1', 'eligible', '{"a": 1, "list": [[1]]}', '[]', '[]')"""
    )
    compiled = []
    for depth in (1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 32, 48, 64):
        criteria = [{"id": f"c{i}", "reason": "r", "rule": _nested(shape, depth)} for i in range(3)]
        fields = bulk.sql_fields("e", location=None, dialect="sqlite")
        mask = bulk.mask_sql(criteria, fields=fields, dialect="sqlite")
        if mask is None:
            continue
        compiled.append(depth)
        db.execute("DROP TABLE IF EXISTS reeval")
        db.execute(
            "CREATE TEMPORARY TABLE reeval AS SELECT e.id AS id, e.status AS status,"
            f" CAST({mask} AS TEXT) AS mask FROM enrollment e WHERE e.status IN ('eligible')"
            " AND NOT (e.status = 'rejected' AND EXISTS (SELECT 1 FROM enrollment o"
            " WHERE o.id = e.id AND o.status IN ('submitted')))"
        )
        db.execute(f"UPDATE enrollment AS e SET status = {mask}")
    assert 1 in compiled  # the shallow ones are still decided in SQL
    db.close()


@pytest.mark.parametrize(
    "rule",
    [
        {"or": [{"==": [{"var": "email"}, f"p{i}@example.com"]} for i in range(1_500)]},
        {"and": [{"!=": [{"var": "firstName"}, f"n{i}"]} for i in range(1_500)]},
        {"in": [{"var": "metadata.zip"}, [f"{i:05}" for i in range(20_000)]]},
        {"missing_some": [300, ["email" if i % 2 else "firstName" for i in range(600)]]},
    ],
    ids=["or", "and", "in", "missing_some"],
)
def test_big_flat_rules_compile_to_shallow_sql(db: Db, rule: Any) -> None:
    rows = [
        {"email": "p3@example.com", "firstName": "n3", "metadata": {"zip": "00042"}},
        {"email": "x@example.com", "firstName": "x", "metadata": {"zip": "x"}},
    ]
    total, decided = check(db, [rule], rows)
    assert decided == total


def test_sql_too_long_to_pay_off_is_left_to_python() -> None:
    # Each term reads JSON (a CASE over its types): 1.2 MB of SQL, slower than Python.
    rule = {"or": [{"==": [{"var": "metadata.n"}, i]} for i in range(1_500)]}
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(SqlUnsupported, match="characters"):
            compile_sql(rule, fields=FIELDS, dialect=dialect)  # type: ignore[arg-type]
