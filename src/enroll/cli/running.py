"""What every `enroll` command shares: running work on the configured database and failing
with one clear line on stderr (exit 1) instead of a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from enroll.config import Settings
from enroll.context import AppContext

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    typer.echo(f"enroll: {message}", err=True)
    return typer.Exit(1)


def first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc  # the driver's message, without SQLAlchemy's
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": ")


def with_context(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    async def main() -> T:
        ctx = AppContext.from_settings(settings)
        try:
            return await work(ctx)
        finally:
            await ctx.db.dispose()

    try:
        return asyncio.run(main())
    except SQLAlchemyError as exc:  # a database that went away or changed under the command
        raise fail(f"database error: {first_line(exc)}") from None
