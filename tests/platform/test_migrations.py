"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a
model changed without a migration (or the reverse) fails here, not in production."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from enroll.db import async_url
from enroll.models import Base
from tests.support.server import BACKENDS, fresh_database


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_the_models(backend: str, tmp_path: Path) -> None:
    db = fresh_database(backend, tmp_path)
    try:

        async def diff() -> list[Any]:
            engine = create_async_engine(async_url(db.url), poolclass=NullPool)
            try:
                async with engine.connect() as connection:
                    return await connection.run_sync(_diff)
            finally:
                await engine.dispose()

        assert asyncio.run(diff()) == []
    finally:
        db.drop()
