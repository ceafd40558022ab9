"""The location import's job (see job/registry.py): it runs outside the job's transaction, a
part of a batch per transaction (location/imports.py ``run_stored``)."""

from __future__ import annotations

from enroll.context import AppContext
from enroll.job.registry import job
from enroll.location import imports
from enroll.location.imports import LOCATION_IMPORT_JOB, LocationImportPayload


@job(LOCATION_IMPORT_JOB, payload=LocationImportPayload, transaction=False)
async def run_location_import(
    *, ctx: AppContext, workspace_id: str | None, payload: LocationImportPayload
) -> None:
    await imports.run_stored(ctx, payload.import_id)
