"""Authentication, route by route: no key, garbage, revoked and expired keys meet 401
everywhere; platform keys meet 403 on workspace routes; workspace keys cannot write the
program catalog.
"""

from __future__ import annotations

import httpx
import pytest

from enroll.auth.scopes import Scope
from tests.support.rest_matrix import (
    CATALOG_WRITES,
    SECURED,
    WORKSPACE_OPS,
    AuthWorld,
    Call,
    Op,
    State,
    World,
    _op_id,
    _ops,
    assert_problem,
    bearer,
    served_spec,
)
from tests.support.server import Server, Tenant

# --- 2b. authentication ---------------------------------------------------------------------


@pytest.mark.parametrize("op", _ops(SECURED))
def test_no_valid_key_is_unauthorized(
    op: Op, server: Server, http: httpx.Client, rest_auth: AuthWorld
) -> None:
    call = Call(rest_auth.world, op, served_spec(server, op))
    state = State(server, http, rest_auth.tenant, reads=State.reads_of(rest_auth.tenant, call))
    for name, headers in rest_auth.credentials.items():
        r = call.send(http, headers)
        body = assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer", name
        assert rest_auth.world.leaks(body.get("detail") or "") == [], name
    state.assert_unchanged(f"{_op_id(op)} without a valid key")


@pytest.mark.parametrize("op", _ops(WORKSPACE_OPS))
def test_platform_keys_are_refused_on_workspace_routes(
    op: Op, server: Server, http: httpx.Client, rest_auth: AuthWorld, platform_key: str
) -> None:
    call = Call(rest_auth.world, op, served_spec(server, op))
    state = State(server, http, rest_auth.tenant, reads=State.reads_of(rest_auth.tenant, call))
    for key in (platform_key, rest_auth.mighty_platform_key):
        assert_problem(call.send(http, bearer(key)), 403, "insufficient_scope")
    state.assert_unchanged(f"{_op_id(op)} with a platform key")


@pytest.mark.parametrize("op", _ops(CATALOG_WRITES))
def test_workspace_keys_cannot_write_the_catalog(
    op: Op, server: Server, http: httpx.Client, tenant: Tenant, platform_key: str
) -> None:
    call = Call(World(tenant, platform_key), op, served_spec(server, op))
    state = State(server, http, tenant, reads=State.reads_of(tenant, call))
    body = assert_problem(call.send(http, bearer(tenant.key)), 403, "insufficient_scope")
    assert Scope.PROGRAMS_WRITE.value in body["detail"]
    state.assert_unchanged(f"{_op_id(op)} with a workspace key")
