"""`make demo`'s data (cli/demo.py), seeded into a fresh database of each backend: what it
prints, and that the seed walk of retail electricity (issue 15) starts from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from enroll.cli.demo import DEMO_LOCATIONS, seed
from enroll.context import AppContext
from enroll.enrollment import acceptance
from enroll.enrollment import service as enrollments
from tests.support.server import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_demo_covers_retail_electricity(backend: str, tmp_path: Path) -> None:
    db = fresh_database(backend, tmp_path)
    try:
        out = db.run(seed)

        async def consents(ctx: AppContext) -> list[Any]:
            async with ctx.db.transaction(write=False) as session:
                return await acceptance.consents(
                    session,
                    workspace_id=out["workspace"]["id"],
                    enrollment_id=out["retailInstance"]["acceptedEnrollment"],
                )

        (consent,) = db.run(consents)

        async def repayment(ctx: AppContext) -> Any:
            async with ctx.db.transaction(write=False) as session:
                return await enrollments.get(
                    session,
                    workspace_id=out["workspace"]["id"],
                    enrollment_id=out["repaymentInstance"]["enrollment"],
                )

        idr = db.run(repayment)
    finally:
        db.drop()
    assert out["apiKey"] and out["serviceLocations"]["created"] == DEMO_LOCATIONS
    assert out["retailInstance"]["plans"] == ["FIXED-12", "TIERED-24"]
    assert consent.terms_accepted and consent.channel == "web"
    assert [d["type"] for d in consent.documents] == ["efl", "tos", "yrac"]
    # Seed 004's applicant: created (every create requirement met), the spouse on file, the
    # income certification waiting for pay stubs; the plan asked for by its alias.
    states = {r["key"]: r["status"] for r in idr.requirements}
    assert states["signature"] == states["spouse"] == "met"
    assert states["income"] == "unmet" and idr.status == "eligible"
    assert (idr.plan_code, idr.plan_code_given) == ("save", "repaye")
