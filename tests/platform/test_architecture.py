"""The shape docs/architecture.md prescribes, checked on the source (no database): file and
function sizes, where SQL (and ``session.get``) may be written, statuses as enums (typed
errors: test_error_catalog). `make lint` checks the import layers (lint-imports); these are
the rules an import graph cannot see."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "enroll"
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60
# SQLAlchemy constructs that build a statement, and the session calls that run one.
SQL_CONSTRUCTS = {"select", "insert", "update", "delete", "text"}
SESSION_CALLS = {"execute", "scalar", "scalars", "stream", "stream_scalars", "exec_driver_sql"}


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        if "versions" in path.parts:  # Alembic revisions: DDL, written once
            continue
        yield path, ast.parse(path.read_text(), filename=str(path))


SOURCES = list(_sources())


def _may_hold_sql(path: Path) -> bool:
    """Repository modules (``repository.py``, ``*_repository.py``, ``bulk_sql.py``, and
    kit/repository.py, the generic part), the database module, and the models, whose
    constraints and computed columns are SQL."""
    name = path.name
    return (
        name == "repository.py"
        or name.endswith("_repository.py")
        or name == "bulk_sql.py"
        or path == SRC / "db.py"
        or path.parent == SRC / "models"
        or path == SRC / "migrations.py"
    )


def _rel(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def test_no_source_file_is_over_600_lines() -> None:
    long = {
        _rel(p): n for p, _ in SOURCES if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    long = {
        f"{_rel(p)}:{node.lineno} {node.name}": n
        for p, tree in SOURCES
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (n := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    }
    assert long == {}


def _sql_calls(tree: ast.Module) -> Iterator[str]:
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name in SQL_CONSTRUCTS
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in imported:
            yield f"{node.lineno}:{func.id}("
        elif isinstance(func, ast.Attribute) and func.attr in SESSION_CALLS:
            owner = func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if "session" in name or name in {"conn", "connection"}:
                yield f"{node.lineno}:{name}.{func.attr}("


def test_queries_live_in_repositories() -> None:
    found = {
        _rel(p): calls
        for p, tree in SOURCES
        if not _may_hold_sql(p) and (calls := list(_sql_calls(tree)))
    }
    assert found == {}


def test_the_checker_sees_a_query() -> None:
    tree = ast.parse(
        "from sqlalchemy import select\n"
        "async def f(session):\n"
        "    await session.execute(select(1))\n"
    )
    assert sorted(_sql_calls(tree)) == ["3:select(", "3:session.execute("]


def _session_gets(tree: ast.Module) -> Iterator[str]:
    """``session.get(Model, id)``: a query too (by primary key), the owning repository's."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if node.func.attr == "get" and "session" in name:
                yield f"{node.lineno}:{name}.get("


def test_rows_by_primary_key_are_read_in_repositories() -> None:
    found = {
        _rel(p): calls
        for p, tree in SOURCES
        if not _may_hold_sql(p) and (calls := list(_session_gets(tree)))
    }
    assert found == {}


def test_the_checker_sees_a_session_get() -> None:
    tree = ast.parse(
        "async def f(self, session, cache):\n"
        "    await session.get(Model, 1)\n"
        "    await self.session.get(Model, 2)\n"
        "    cache.get(3)\n"
    )
    assert sorted(_session_gets(tree)) == ["2:session.get(", "3:session.get("]


def _string_compared_to_status(tree: ast.Module) -> Iterator[int]:
    """``x.status == "..."``, ``x.status = "..."``, ``status="..."``: a state named by a bare
    string instead of its StrEnum member (workflows/)."""

    def is_status(node: ast.expr) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "status") or (
            isinstance(node, ast.Name) and node.id == "status"
        )

    def is_text(node: ast.expr) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str)

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and is_status(node.left):
            if any(is_text(c) for c in node.comparators):
                yield node.lineno
        elif isinstance(node, ast.Assign) and any(is_status(t) for t in node.targets):
            if is_text(node.value):
                yield node.lineno
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "status" and is_text(kw.value):
                    yield node.lineno


def test_statuses_are_enums_not_strings() -> None:
    found = {
        _rel(p): lines for p, tree in SOURCES if (lines := list(_string_compared_to_status(tree)))
    }
    assert found == {}


# --- tests drive time and the worker; they do not sleep (issue 14) ---------------------------

TESTS = SRC.parents[1] / "tests"
# Where a test may sleep, each time with a comment on the line saying why: the subject is worker
# processes' own loops in real time (crash, takeover, latency), or there is nothing to drive
# (the server's start-up, other processes' transactions). Everything else drives the worker
# with Server.drain() and time with Server.clock_shifted().
MAY_SLEEP = {
    "tests/servicetask/test_crash.py",
    "tests/support/server.py",
    "tests/webhook/test_crash.py",
    "tests/worker/test_no_long_transactions.py",
    "tests/worker/test_worker.py",
}


def _sleeps(tree: ast.Module) -> Iterator[int]:
    """Lines calling time.sleep or asyncio.sleep (or importing either sleep by name)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "asyncio"):
            if any(alias.name == "sleep" for alias in node.names):
                yield node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "sleep"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("time", "asyncio")
        ):
            yield node.lineno


def _test_sleeps() -> dict[str, list[int]]:
    found = {}
    for path in sorted(TESTS.rglob("*.py")):
        if lines := list(_sleeps(ast.parse(path.read_text(), filename=str(path)))):
            found[str(path.relative_to(TESTS.parent))] = lines
    return found


def test_tests_do_not_sleep_and_poll() -> None:
    found = _test_sleeps()
    assert {path: lines for path, lines in found.items() if path not in MAY_SLEEP} == {}
    assert set(found) == MAY_SLEEP  # an allowance nothing uses goes
    for path, lines in found.items():
        text = (TESTS.parent / path).read_text().splitlines()
        unexplained = [n for n in lines if "#" not in text[n - 1]]
        assert unexplained == [], f"{path}: say why each sleep must wait"


def test_the_sleep_check_sees_a_sleep() -> None:
    tree = ast.parse(
        "import asyncio, time\nfrom time import sleep\n"
        "time.sleep(1)\nasync def f():\n    await asyncio.sleep(1)\nasyncio.Event().wait()\n"
    )
    assert sorted(_sleeps(tree)) == [2, 3, 5]
