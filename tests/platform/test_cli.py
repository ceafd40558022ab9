"""The command line against a database at the wrong schema revision: a sentence that says what
the schema is, what this version needs and what to run; exit 1; no traceback, no SQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from enroll.cli.main import app
from enroll.config import get_settings
from enroll.db import async_url
from enroll.migrations import head_revision
from tests.support.server import PG_URL, _pg_admin

needs_pg = pytest.mark.skipif(not PG_URL, reason="ENROLL_TEST_DATABASE_URL not set")


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A fresh PostgreSQL database that was never migrated."""
    assert PG_URL
    name = f"enroll_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def invoke(url: str, *args: str, tmp_path: Path | None = None) -> tuple[int, str]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args), env={"ENROLL_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output + result.stderr


def assert_clear(code: int, output: str, *says: str) -> None:
    assert code == 1, output
    assert "Traceback" not in output and "sqlalchemy" not in output.lower(), output
    assert "SELECT" not in output and "relation" not in output, output
    for phrase in says:
        assert phrase in output, output


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"ENROLL_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "enroll.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_pg
def test_commands_on_a_never_migrated_postgresql_say_run_migrate(
    empty_pg: str, tmp_path: Path
) -> None:
    head = head_revision()
    says = ("no schema", head, "enroll migrate")
    assert_clear(*invoke(empty_pg, "workspace", "create", "Acme"), *says)
    assert_clear(*invoke(empty_pg, "platform-key", "create"), *says)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"firstName": "x"}\n')
    assert_clear(
        *invoke(empty_pg, "import", "enrollments", "--program-instance", "x", str(rows)), *says
    )
    # serve and worker check at start rather than running against missing tables.
    for command in (["serve", "--port", "1"], ["worker"]):
        done = run_cli(empty_pg, *command)
        assert_clear(done.returncode, done.stdout + done.stderr, *says)
    # After `enroll migrate` the same command works.
    code, output = invoke(empty_pg, "migrate")
    assert code == 0, output
    code, output = invoke(empty_pg, "workspace", "create", "Acme")
    assert code == 0 and '"apiKey"' in output, output


@needs_pg
def test_an_older_postgresql_schema_names_its_revision(empty_pg: str) -> None:
    code, output = invoke(empty_pg, "migrate")
    assert code == 0, output

    async def stamp() -> None:
        engine = create_async_engine(async_url(empty_pg))
        async with engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000older'")
        await engine.dispose()

    asyncio.run(stamp())
    assert_clear(
        *invoke(empty_pg, "workspace", "create", "Acme"),
        "revision 0000older",
        head_revision(),
        "does not know",
    )


def test_sqlite_migrates_itself_and_refuses_an_unknown_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    (tmp_path / "empty.sqlite").write_bytes(b"")  # an empty file: migrated on first use
    code, output = invoke(url, "workspace", "create", "Acme")
    assert code == 0 and '"apiKey"' in output, output

    async def stamp() -> None:
        engine = create_async_engine(async_url(url))
        async with engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffffnewer'")
        await engine.dispose()

    asyncio.run(stamp())  # as if a newer release had migrated the file
    assert_clear(*invoke(url, "platform-key", "create"), "revision ffffnewer", "does not know")


@needs_pg
def test_an_unreachable_database_is_a_sentence(empty_pg: str) -> None:
    missing = empty_pg.rsplit("/", 1)[0] + "/enroll_no_such_database"
    assert_clear(*invoke(missing, "workspace", "create", "Acme"), "cannot open the database")
    assert_clear(*invoke(missing, "migrate"), "cannot migrate")
