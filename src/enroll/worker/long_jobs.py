"""Job kinds that run outside the worker's job transaction (see Worker._execute_long)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from enroll.context import AppContext
from enroll.eligibility import reevaluation_run
from enroll.importer import service as imports

LongHandler = Callable[[AppContext, str | None, dict[str, Any]], Awaitable[None]]


async def run_import(ctx: AppContext, _workspace_id: str | None, payload: dict[str, Any]) -> None:
    await imports.run_stored(ctx, payload["importId"])


async def run_reevaluation(
    ctx: AppContext, _workspace_id: str | None, payload: dict[str, Any]
) -> None:
    await reevaluation_run.run(ctx, payload)


LONG_HANDLERS: dict[str, LongHandler] = {
    imports.IMPORT_JOB: run_import,
    reevaluation_run.REEVALUATION_JOB: run_reevaluation,
}
