"""The FastAPI application: routers, error handling, lifecycle and the embedded worker."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI

from enroll import __version__
from enroll.api.documents import DOCUMENT_UPLOAD_PATH
from enroll.api.imports import IMPORT_PATH
from enroll.api.routers import ROUTERS
from enroll.api.service_locations import LOCATION_IMPORT_PATH, USAGE_MAX_BYTES, USAGE_PATH
from enroll.config import Settings, get_settings
from enroll.context import AppContext
from enroll.errors import install_error_handlers
from enroll.graphql import create_graphql_router
from enroll.kit.bodylimit import BodyLimitMiddleware
from enroll.openapi import install_openapi, operation_id
from enroll.worker.runner import Worker

DESCRIPTION = """Programs, program instances and enrollments.

Authenticate with `Authorization: Bearer <key>`. Errors are RFC 9457 problem details with a
stable `code`. POSTs accept an `Idempotency-Key`. See docs/api.md for the full guide."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = AppContext.from_settings(settings)
        app.state.ctx = ctx
        stop = asyncio.Event()
        worker_task = None
        if settings.embedded_worker:
            worker_task = asyncio.create_task(Worker(ctx).run(stop))
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            await ctx.drain()
            await ctx.db.dispose()

    app = FastAPI(
        title="Enroll",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(create_graphql_router(), include_in_schema=False)  # docs/graphql.md

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_openapi(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        overrides=[
            (re.compile(IMPORT_PATH), settings.max_import_bytes),
            (re.compile(LOCATION_IMPORT_PATH), settings.max_import_bytes),
            (re.compile(USAGE_PATH), max(USAGE_MAX_BYTES, settings.max_body_bytes)),
            (re.compile(DOCUMENT_UPLOAD_PATH), sys.maxsize),  # the route says document_too_large
        ],
    )
    return app
