"""Demo data: a catalog, a workspace and a running instance with enrollments in several states,
a retail electricity instance with delivery charges and plans (demo_retail.py), and an
income-driven repayment instance with requirements (demo_repayment.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.cli.demo_repayment import PROGRAM as REPAYMENT_PROGRAM
from enroll.cli.demo_repayment import seed_repayment
from enroll.cli.demo_retail import PROGRAM as RETAIL_PROGRAM
from enroll.cli.demo_retail import accept_plan, seed_retail
from enroll.context import AppContext
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate
from enroll.location import imports as location_imports
from enroll.location import pipeline as location_pipeline
from enroll.location.formats import LocationFormat
from enroll.location.synthetic import ercot_file, premises
from enroll.program import repository as programs_repo
from enroll.program import service as programs
from enroll.program.schemas import ProgramCreate
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate
from enroll.servicetask import enrollment_actions
from enroll.workflows.enrollment import Action
from enroll.workspace.service import create_workspace

PROGRAMS = [
    {
        "slug": "battery-grid-services",
        "name": "Battery Grid Services",
        "type": "grid_services",
        "category": "storage",
        "states": ["NY", "NJ", "MA"],
        "manufacturerSlugs": ["tesla", "enphase", "generac"],
        "year": 2026,
        "description": "Home batteries discharge during grid peaks for a yearly payment.",
    },
    {
        "slug": "smart-thermostat-dr",
        "name": "Smart Thermostat Demand Response",
        "type": "demand_response",
        "states": [],
        "manufacturerSlugs": ["ecobee", "google-nest"],
        "year": 2026,
    },
    RETAIL_PROGRAM,
    REPAYMENT_PROGRAM,
]

PEOPLE: list[tuple[str, str, str, list[str], list[Action]]] = [
    ("Sam", "Solar", "NY", ["tesla", "enphase"], [Action.SUBMIT, Action.APPROVE]),
    ("Raj", "Patel", "NJ", ["enphase"], [Action.SUBMIT]),
    ("Maria", "Lopez", "NY", ["generac"], []),
    ("Tom", "Baker", "CA", ["tesla"], []),  # outside the service area: ineligible
    ("Ann", "Lee", "MA", ["lg"], []),  # unsupported equipment: ineligible
]


async def seed(ctx: AppContext) -> dict[str, Any]:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        for spec in PROGRAMS:
            if not await programs_repo.slug_taken(session, str(spec["slug"])):
                await programs.create(session, ProgramCreate.model_validate(spec))
        workspace, issued = await create_workspace(session, name="Demo Utility")
        instance = await instances.create(
            session,
            workspace_id=workspace.id,
            now=now,
            body=ProgramInstanceCreate.model_validate(
                {
                    "programSlug": "battery-grid-services",
                    "slug": f"demo-batteries-{workspace.id[-6:]}",
                    "name": "Demo Utility Battery Rewards 2026",
                    "terms": {"version": "2026-1", "url": "https://example.com/terms"},
                    "status": "active",
                    "capacity": 5000,
                }
            ),
        )
        for person in PEOPLE:
            await _enroll(session, workspace.id, instance.id, *person, now=now)
        retail = await seed_retail(
            session, workspace_id=workspace.id, program_slug=str(RETAIL_PROGRAM["slug"]), now=now
        )
        repayment = await seed_repayment(
            session, workspace_id=workspace.id, ring=ctx.vault, now=now
        )
    locations = await _locations(ctx, workspace.id)
    async with ctx.db.transaction() as session:
        retail["acceptedEnrollment"] = await accept_plan(
            session,
            workspace_id=workspace.id,
            instance_id=retail["id"],
            service_point_id=locations["tryLookup"],
            now=now,
        )
    return {
        "workspace": {"id": workspace.id, "name": workspace.name},
        "apiKey": issued.secret,
        "programInstance": {"id": instance.id, "slug": instance.slug},
        "retailInstance": retail,
        "repaymentInstance": repayment,
        "serviceLocations": locations,
    }


DEMO_LOCATIONS = 300


async def _locations(ctx: AppContext, workspace_id: str) -> dict[str, Any]:
    """A few hundred Texas premises (the same ones every time), loaded as an ERCOT extract."""
    made = list(premises(DEMO_LOCATIONS, seed=2026))
    extract = ercot_file(made)
    imp = await location_imports.queue_local(
        ctx, workspace_id=workspace_id, fmt=LocationFormat.ERCOT, size=len(extract), actor="demo"
    )
    done = await location_pipeline.run(ctx, import_id=imp.id, source=[extract])
    first = made[0]
    return {
        "created": done.counts["created"],
        "trySearch": f"{first.house} {first.name.lower()[:4]}",
        "tryLookup": first.esi_id,
    }


async def _enroll(
    session: AsyncSession,
    workspace_id: str,
    instance_id: str,
    first: str,
    last: str,
    state: str,
    makers: list[str],
    actions: list[Action],
    *,
    now: datetime,
) -> None:
    """One demo person's enrollment, taken through ``actions`` as the API would."""
    enrollment, _ = await enrollments.create(
        session,
        workspace_id=workspace_id,
        instance_ref=instance_id,
        body=EnrollmentCreate.model_validate(
            {
                "identificationType": "customerInfo",
                "firstName": first,
                "lastName": last,
                "email": f"{first}.{last}@example.com".lower(),
                "address": {
                    "streetOne": "1 Main St",
                    "city": "Springfield",
                    "state": state,
                    "postalCode": "00001",
                    "country": "USA",
                },
                "manufacturerSlugs": makers,
                "tags": ["demo"],
            }
        ),
        actor="system:demo",
        now=now,
    )
    for action in actions:
        await enrollment_actions.act(
            session,
            workspace_id=workspace_id,
            enrollment_id=enrollment.id,
            action=action,
            reason=None,
            actor="system:demo",
            now=now,
        )
