"""Test fixtures: a real server over real HTTP on a real database.

Every storage test runs on SQLite and, when ENROLL_TEST_DATABASE_URL points at a PostgreSQL
server, on PostgreSQL too: the suite creates a fresh database there and drops it afterwards.
Tests isolate themselves by creating their own workspace, so no cleanup between tests is needed.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from enroll.auth.scopes import PLATFORM_SCOPES
from enroll.auth.service import issue_key
from enroll.context import AppContext
from tests.support.rest_matrix import AuthWorld
from tests.support.server import (
    BACKENDS,
    Database,
    Server,
    Tenant,
    fresh_database,
    make_tenant,
    start_server,
)


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    db = fresh_database(request.param, tmp_path_factory.mktemp("db"))
    yield db
    db.drop()


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[Server]:
    srv = start_server(database)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def platform_key(server: Server) -> str:
    async def work(ctx: AppContext) -> str:
        async with ctx.db.transaction() as session:
            issued = await issue_key(
                session, workspace_id=None, name="tests", scopes=PLATFORM_SCOPES
            )
        return issued.secret

    key = server.database.run(work)
    with server.client(key) as client:
        for slug, states, makers in (
            ("core-test-program", ["NY", "NJ"], ["tesla", "enphase"]),
            ("anywhere-program", [], []),
        ):
            r = client.post(
                "/v1/programs",
                json={
                    "slug": slug,
                    "name": slug,
                    "type": "grid_services",
                    "states": states,
                    "manufacturerSlugs": makers,
                },
            )
            assert r.status_code in (201, 409), r.text
    return key


@pytest.fixture
def tenant(server: Server, platform_key: str) -> Iterator[Tenant]:
    t = make_tenant(server)
    yield t
    t.client.close()


@pytest.fixture
def other_tenant(server: Server, platform_key: str) -> Iterator[Tenant]:
    t = make_tenant(server, "Other")
    yield t
    t.client.close()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    """A client with no credentials of its own: each request says who it is."""
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def rest_auth(server: Server, platform_key: str) -> Iterator[AuthWorld]:
    """One workspace for the REST authentication matrix, with keys that no longer work (shared
    by the scope and authentication matrices: they only read it)."""
    world = AuthWorld(server, platform_key)
    yield world
    world.tenant.client.close()
