"""Running Alembic from code: `enroll migrate`, `enroll serve` on SQLite, and the tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from enroll.db import async_url

SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(database_url: str) -> None:
    """Create or upgrade the schema to the newest revision (call outside an event loop)."""
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None  # None: no schema (never migrated)
    head: str  # the newest revision this version ships

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    @property
    def is_known(self) -> bool:
        """Whether this version knows the revision (a newer release's schema it does not)."""
        if self.current is None:
            return True
        script = ScriptDirectory.from_config(alembic_config(""))
        return self.current in {s.revision for s in script.walk_revisions()}

    def advice(self) -> str:
        """What to tell an operator whose database is not at ``head``."""
        if self.current is None:
            found = "The database has no schema (it was never migrated)"
        elif self.is_known:
            found = f"The database schema is at revision {self.current}"
        else:
            found = (
                f"The database schema is at revision {self.current}, which this version of "
                "Enroll does not know (a newer release migrated it)"
            )
        hint = "run `enroll migrate`" if self.is_known else "run the newer release"
        return f"{found}; this version needs revision {self.head}: {hint}."


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_state(database_url: str) -> SchemaState:
    """The database's schema revision beside this version's head (call outside an event loop;
    connection errors propagate)."""

    async def read() -> str | None:
        engine = create_async_engine(async_url(database_url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_current)
        finally:
            await engine.dispose()

    return SchemaState(asyncio.run(read()), head_revision())
