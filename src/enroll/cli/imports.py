"""`enroll import enrollments` and `enroll import locations`: the API's import pipelines, run in
this process on a local file, with a Rich progress bar (rows/s, ETA by bytes) on stderr and the
final counts on stdout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from enroll.context import AppContext
from enroll.importer import pipeline
from enroll.importer import service as imports
from enroll.importer.formats import EncodingError, ImportFormat, check_encoding
from enroll.importer.schemas import ImportOut
from enroll.location import imports as location_imports
from enroll.location import pipeline as location_pipeline
from enroll.location.formats import LocationFormat

CLI_ACTOR = "cli:import"


def format_of(path: Path, given: ImportFormat | None) -> ImportFormat:
    if given is not None:
        return given
    return ImportFormat.CSV if path.suffix.lower() == ".csv" else ImportFormat.JSONL


async def run_file(
    ctx: AppContext,
    *,
    instance_ref: str,
    path: Path,
    fmt: ImportFormat,
    dry_run: bool,
    emit_events: bool,
    size: int,
    show_progress: bool,
    evaluate: bool = True,
) -> dict[str, Any]:
    instance = await imports.instance_for_cli(ctx, instance_ref=instance_ref)
    # The whole file is checked to be UTF-8 before anything is imported (one fast read),
    # as an upload is while it arrives: never half an import and then a failure.
    try:
        await asyncio.to_thread(check_encoding, imports.read_file(path))
    except EncodingError as exc:
        raise imports.refused_encoding(exc) from None
    imp = await imports.create_local(
        ctx,
        workspace_id=instance.workspace_id,
        instance_ref=instance.id,
        size=size,
        fmt=fmt,
        dry_run=dry_run,
        emit_events=emit_events,
        actor=CLI_ACTOR,
        evaluate=evaluate,
    )
    bar = _progress_bar(show_progress)
    started = time.perf_counter()

    with bar:
        task = bar.add_task("import", total=size or 1, rows=0, rate=0.0)

        def progress(done: int, rows: int, _counts: pipeline.Counts) -> None:
            elapsed = max(time.perf_counter() - started, 1e-6)
            bar.update(task, completed=done, rows=rows, rate=rows / elapsed)

        final = await pipeline.run(
            ctx, import_id=imp.id, source=imports.read_file(path), progress=progress
        )
    seconds = time.perf_counter() - started
    out = ImportOut.of(final).model_dump(mode="json", by_alias=True)
    out["seconds"] = round(seconds, 3)
    out["rowsPerSecond"] = round(final.counts.get("rows", 0) / seconds, 1) if seconds else None
    return out


def _progress_bar(show: bool) -> Progress:
    """Rows/s and the ETA by bytes, on stderr (``show`` false: nothing)."""
    return Progress(
        TextColumn("[bold]import"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:>10,} rows  {task.fields[rate]:>8,.0f} rows/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not show,
    )


async def run_locations(
    ctx: AppContext,
    *,
    workspace_id: str,
    path: Path,
    fmt: LocationFormat | None,
    show_progress: bool,
) -> dict[str, Any]:
    """`enroll import locations`: a location file through the import pipeline, in this
    process; its counts (and rows/s) as JSON."""
    size, head = await asyncio.to_thread(_head, path)
    fmt = fmt or location_imports.sniff(head, path.name)
    try:
        await asyncio.to_thread(check_encoding, location_imports.read_file(path))
    except EncodingError as exc:
        raise location_imports.refused_encoding(exc) from None
    imp = await location_imports.queue_local(
        ctx, workspace_id=workspace_id, fmt=fmt, size=size, actor=CLI_ACTOR
    )
    bar = _progress_bar(show_progress)
    started = time.perf_counter()
    with bar:
        task = bar.add_task("import", total=size or 1, rows=0, rate=0.0)

        def progress(done: int, lines: int, _counts: location_pipeline.Counts) -> None:
            elapsed = max(time.perf_counter() - started, 1e-6)
            bar.update(task, completed=done, rows=lines, rate=lines / elapsed)

        final = await location_pipeline.run(
            ctx, import_id=imp.id, source=location_imports.read_file(path), progress=progress
        )
    seconds = time.perf_counter() - started
    counts = dict(final.counts)
    return counts | {
        "id": final.id,
        "status": final.status,
        "format": final.format,
        "error": final.error,
        "seconds": round(seconds, 3),
        "rowsPerSecond": round(counts.get("rows", 0) / seconds, 1) if seconds else None,
    }


def _head(path: Path) -> tuple[int, bytes]:
    with path.open("rb") as f:
        return path.stat().st_size, f.read(location_imports.CHUNK_BYTES)
