"""Every router of the HTTP API, in the order the OpenAPI document lists their paths."""

from __future__ import annotations

from fastapi import APIRouter

from enroll.api.api_keys import router as api_keys_router
from enroll.api.customers import router as customers_router
from enroll.api.documents import router as documents_router
from enroll.api.eligibility import reevaluations_router
from enroll.api.eligibility import router as eligibility_router
from enroll.api.enrollments import router as enrollments_router
from enroll.api.events import router as events_router
from enroll.api.imports import router as imports_router
from enroll.api.jobs import router as jobs_router
from enroll.api.notifications import router as notifications_router
from enroll.api.payments import router as payments_router
from enroll.api.plans import router as plans_router
from enroll.api.program_instances import router as instances_router
from enroll.api.programs import router as programs_router
from enroll.api.requirements import router as requirements_router
from enroll.api.service_locations import router as service_locations_router
from enroll.api.service_tasks import router as service_tasks_router
from enroll.api.webhooks import router as webhooks_router
from enroll.api.workspace import router as workspace_router

ROUTERS: tuple[APIRouter, ...] = (
    programs_router,
    instances_router,
    plans_router,
    eligibility_router,
    reevaluations_router,
    service_tasks_router,
    enrollments_router,
    requirements_router,
    payments_router,
    documents_router,
    customers_router,
    service_locations_router,
    notifications_router,
    api_keys_router,
    events_router,
    jobs_router,
    imports_router,
    webhooks_router,
    workspace_router,
)
