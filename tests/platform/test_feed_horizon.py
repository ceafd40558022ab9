"""The event feed's horizon on PostgreSQL (issue 13, E17): computed from this database's
writers, so a long write elsewhere on the server does not hold back the feed, while a write
in this database still does (nothing is ever skipped); without the privilege to read
pg_stat_activity, the cluster-wide horizon."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from enroll.event import repository as events
from tests.support.server import PG_URL, Tenant


def created(tenant: Tenant) -> set[str]:
    """The enrollment.created events the feed shows now (no waiting for a horizon)."""
    r = tenant.client.get("/v1/events", params={"type": "enrollment.created", "limit": 100})
    assert r.status_code == 200, r.text
    return {e["data"]["object"]["id"] for e in r.json()["data"]}


class Writer:
    """A transaction holding a transaction id, open on its own connection until closed."""

    def __init__(self, url: str) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(url))
        self.loop.run_until_complete(self.conn.execute("BEGIN"))
        self.xid = self.loop.run_until_complete(
            self.conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.execute("COMMIT"))
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


@pytest.fixture
def pg_tenant(tenant: Tenant) -> Iterator[Tenant]:
    if tenant.server.database.backend != "postgresql":
        pytest.skip("the horizon is PostgreSQL's")
    yield tenant


def test_a_long_write_in_another_database_does_not_hold_back_the_feed(
    pg_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = pg_tenant
    iid = tenant.instance()["id"]
    assert PG_URL
    elsewhere = Writer(PG_URL)  # another database of the same server: a batch job, say
    try:
        first = tenant.enroll(iid)
        tenant.server.await_background()  # no writer left in this database but ``elsewhere``
        assert first["id"] in created(tenant)
        # The cluster-wide horizon (a role that may not read pg_stat_activity) waits for it.
        for url in list(events.local_horizon):
            monkeypatch.setitem(events.local_horizon, url, False)
        second = tenant.enroll(iid)
        assert second["id"] not in created(tenant)  # and goes on waiting until it ends
    finally:
        elsewhere.close()
    tenant.server.database.settle()  # other processes' transactions, cluster-wide
    assert second["id"] in created(tenant)


def test_a_write_in_this_database_still_holds_back_what_commits_after_it(
    pg_tenant: Tenant,
) -> None:
    tenant = pg_tenant
    iid = tenant.instance()["id"]
    here = Writer(tenant.server.database.url)
    try:
        later = tenant.enroll(iid)  # commits with a newer transaction id than ``here``'s
        # ``here`` may still write an event that sorts before it: not shown (deterministic).
        assert later["id"] not in created(tenant)
    finally:
        here.close()
    tenant.server.database.settle()
    assert later["id"] in created(tenant)
