"""The importer's job (see job/registry.py): an import runs outside the job's transaction,
a batch per transaction (importer/service.py ``run_stored``)."""

from __future__ import annotations

from enroll.context import AppContext
from enroll.importer import service as imports
from enroll.importer.service import IMPORT_JOB, ImportPayload
from enroll.job.registry import job


@job(IMPORT_JOB, payload=ImportPayload, transaction=False)
async def run_import(*, ctx: AppContext, workspace_id: str | None, payload: ImportPayload) -> None:
    await imports.run_stored(ctx, payload.import_id)
