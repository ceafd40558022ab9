"""The `enroll` command line. Every command that creates something prints JSON on stdout."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from enroll.cli.keys import keys_app
from enroll.cli.running import fail, first_line, with_context
from enroll.config import Settings, get_settings
from enroll.context import AppContext
from enroll.db import async_url
from enroll.importer.formats import ImportFormat
from enroll.location.formats import LocationFormat
from enroll.migrations import schema_state, upgrade

app = typer.Typer(help="Enroll: programs and enrollments.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
platform_key_app = typer.Typer(
    help="Platform keys (manage the Program catalog).", no_args_is_help=True
)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(platform_key_app, name="platform-key")
app.add_typer(import_app, name="import")
app.add_typer(keys_app, name="keys")


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _is_sqlite(settings: Settings) -> bool:
    return async_url(settings.database_url).startswith("sqlite")


def _shown_url(settings: Settings) -> str:
    try:
        return make_url(settings.database_url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "ENROLL_DATABASE_URL"


def _prepare_database(settings: Settings) -> None:
    """Before a command touches the database: migrate an SQLite file (the embedded default
    upgrades itself); refuse a PostgreSQL schema that is not at this version's head, saying
    what to run, rather than failing later on a missing table with a raw SQL error."""
    try:
        state = schema_state(settings.database_url)
        if _is_sqlite(settings) and state.is_known:
            if not state.is_current:
                upgrade(settings.database_url)
            return
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"cannot open the database {_shown_url(settings)}: {first_line(exc)}") from None
    if not state.is_current:
        raise fail(state.advice())


@app.command()
def migrate() -> None:
    """Create or upgrade the schema at ENROLL_DATABASE_URL."""
    settings = get_settings()
    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, OSError, CommandError) as exc:
        raise fail(f"cannot migrate {_shown_url(settings)}: {first_line(exc)}") from None
    _print_json({"migrated": True, "databaseUrl": settings.database_url})


@workspace_app.command("create")
def workspace_create(name: Annotated[str, typer.Argument(help="Workspace name.")]) -> None:
    """Create a workspace and a key holding every workspace scope."""
    from enroll.workspace.service import create_workspace

    settings = get_settings()
    _prepare_database(settings)

    async def work(ctx: AppContext) -> dict[str, Any]:
        async with ctx.db.transaction() as session:
            workspace, issued = await create_workspace(session, name=name)
        return {"workspace": {"id": workspace.id, "name": workspace.name}, "apiKey": issued.secret}

    _print_json(with_context(settings, work))


@platform_key_app.command("create")
def platform_key_create(
    name: Annotated[str, typer.Option(help="A label for the key.")] = "Platform key",
) -> None:
    """Create a platform key (scope programs:write)."""
    from enroll.auth.scopes import PLATFORM_SCOPES
    from enroll.auth.service import issue_key

    settings = get_settings()
    _prepare_database(settings)

    async def work(ctx: AppContext) -> dict[str, Any]:
        async with ctx.db.transaction() as session:
            issued = await issue_key(session, workspace_id=None, name=name, scopes=PLATFORM_SCOPES)
        return {"apiKey": issued.secret, "id": issued.key.id, "scopes": issued.key.scopes}

    _print_json(with_context(settings, work))


def _serve(settings: Settings, host: str, port: int) -> None:
    from enroll.app import create_app

    _prepare_database(settings)
    application = create_app(settings)
    # The app's own objects (routes, schemas, the GraphQL schema: some 200k) live as long as
    # the process: frozen, the collector's full passes skip them. Each such pass took 100 ms+
    # under load, a request's p99 (bench/search.py); frozen, under 10 ms.
    gc.collect()
    gc.freeze()
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the API (with the embedded worker). Migrates an SQLite database by itself."""
    _serve(get_settings(), host, port)


@app.command()
def worker() -> None:
    """Run a standalone worker until SIGINT/SIGTERM. Any number may run against PostgreSQL."""
    from enroll.worker.runner import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # httpx logs every request at INFO: a line per webhook delivery is noise (the deliveries'
    # log is in the database) and can outrun whatever reads the worker's stderr.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    settings = get_settings()
    _prepare_database(settings)

    async def work(ctx: AppContext) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Worker(ctx).run(stop)

    with_context(settings, work)


@import_app.command("enrollments")
def import_enrollments(
    file: Annotated[Path, typer.Argument(help="CSV or JSON Lines file.", exists=True)],
    program_instance: Annotated[
        str, typer.Option("--program-instance", help="Program instance id or slug.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count only.")] = False,
    events: Annotated[bool, typer.Option(help="Write per-enrollment events.")] = True,
    evaluate: Annotated[
        bool, typer.Option(help="--no-evaluate: the rows stay candidates, unevaluated.")
    ] = True,
    fmt: Annotated[
        ImportFormat | None, typer.Option("--format", help="Default: from the file name.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Import candidate enrollments from FILE (the same pipeline as POST .../imports)."""
    from enroll.cli.imports import format_of, run_file
    from enroll.errors import ProblemError

    settings = get_settings()
    _prepare_database(settings)

    async def work(ctx: AppContext) -> dict[str, Any]:
        return await run_file(
            ctx,
            instance_ref=program_instance,
            path=file,
            fmt=format_of(file, fmt),
            dry_run=dry_run,
            emit_events=events,
            evaluate=evaluate,
            size=file.stat().st_size,
            show_progress=progress,
        )

    try:
        result = with_context(settings, work)
    except ProblemError as exc:
        _print_json({"error": exc.code, "detail": exc.detail or exc.title, **exc.extensions})
        raise typer.Exit(1) from None
    _print_json(result)
    if result.get("status") == "failed":
        raise typer.Exit(1)


@import_app.command("locations")
def import_locations(
    file: Annotated[
        Path, typer.Argument(help="ERCOT extract, CSV or JSON Lines file.", exists=True)
    ],
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id.")],
    fmt: Annotated[
        LocationFormat | None,
        typer.Option("--format", help="Default: from the file's name and first line."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Load service locations from FILE (the same pipeline as POST /v1/serviceLocationImports);
    prints the counts {created, updated, unchanged, invalid} as JSON."""
    from enroll.cli.imports import run_locations
    from enroll.errors import ProblemError

    settings = get_settings()
    _prepare_database(settings)

    async def work(ctx: AppContext) -> dict[str, Any]:
        return await run_locations(
            ctx, workspace_id=workspace, path=file, fmt=fmt, show_progress=progress
        )

    try:
        result = with_context(settings, work)
    except ProblemError as exc:
        _print_json({"error": exc.code, "detail": exc.detail or exc.title, **exc.extensions})
        raise typer.Exit(1) from None
    _print_json(result)
    if result.get("status") == "failed":
        raise typer.Exit(1)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Seed a demo workspace, programs, an instance and enrollments, then serve."""
    from enroll.cli.demo import seed

    settings = get_settings()
    upgrade(settings.database_url)
    summary = with_context(settings, seed)
    summary["url"] = f"http://{host}:{port}"
    summary["docs"] = f"http://{host}:{port}/docs"
    _print_json(summary)
    _serve(settings, host, port)


if __name__ == "__main__":
    app()
