"""Idempotency keys and concurrent transitions, over real HTTP against both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from enroll.context import AppContext
from enroll.idempotency import service as idempotency
from enroll.models import IdempotencyRecord
from enroll.worker import runner
from tests.support.server import Tenant


def _body(**fields: Any) -> dict[str, Any]:
    n = uuid.uuid4().hex[:10]
    return {
        "identificationType": "customerInfo",
        "firstName": "Ida",
        "lastName": f"Em{n}",
        "email": f"ida.{n}@example.com",
        "address": {"state": "NY"},
        "manufacturerSlugs": ["tesla"],
    } | fields


async def _burst(
    tenant: Tenant, requests: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(
        base_url=tenant.server.base_url,
        timeout=60,
        limits=limits,
        headers={"Authorization": f"Bearer {tenant.key}"},
    ) as client:
        return await asyncio.gather(
            *(
                client.request(method, url, json=body, headers=headers)
                for method, url, body, headers in requests
            )
        )


def _count(tenant: Tenant, instance_id: str) -> int:
    r = tenant.client.get(f"/v1/programInstances/{instance_id}/enrollments")
    assert r.status_code == 200
    return int(r.json()["totalItems"])


def test_fifty_parallel_posts_with_one_key_create_one_enrollment(tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    body = _body()
    responses = asyncio.run(
        _burst(tenant, [("POST", url, body, {"Idempotency-Key": "burst-1"})] * 50)
    )
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    created = [r for r in responses if r.status_code == 201]
    assert created, "at least the first request must succeed"
    assert len({r.json()["id"] for r in created}) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_key_in_use"
            assert r.headers["content-type"] == "application/problem+json"
    assert _count(tenant, instance["id"]) == 1
    # After the burst, the key replays the stored response.
    again = tenant.client.post(url, json=body, headers={"Idempotency-Key": "burst-1"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created[0].json()
    assert _count(tenant, instance["id"]) == 1


def test_replay_writes_nothing_and_other_body_is_refused(tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    body = _body()
    first = tenant.client.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    events_before = tenant.events(limit=500)
    replay = tenant.client.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert tenant.events(limit=500) == events_before

    other = tenant.client.post(url, json=_body(), headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    # The same key on another route is another request too.
    elsewhere = tenant.client.post(
        "/v1/leads", json={"email": "x@example.com"}, headers={"Idempotency-Key": "k-1"}
    )
    assert elsewhere.status_code == 422
    assert _count(tenant, instance["id"]) == 1


def test_keys_are_scoped_to_the_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = tenant.client.post(
        "/v1/leads", json={"email": "a@example.com"}, headers={"Idempotency-Key": "shared"}
    )
    theirs = other_tenant.client.post(
        "/v1/leads", json={"email": "a@example.com"}, headers={"Idempotency-Key": "shared"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_failed_request_releases_its_key(tenant: Tenant) -> None:
    instance = tenant.instance(status="draft")
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    body = _body()
    refused = tenant.client.post(url, json=body, headers={"Idempotency-Key": "retry-me"})
    assert refused.status_code == 409 and refused.json()["code"] == "instance_not_accepting"
    assert (
        tenant.client.patch(
            f"/v1/programInstances/{instance['id']}", json={"status": "active"}
        ).status_code
        == 200
    )
    retried = tenant.client.post(url, json=body, headers={"Idempotency-Key": "retry-me"})
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


def test_keys_are_kept_at_least_a_day(tenant: Tenant) -> None:
    r = tenant.client.post(
        "/v1/leads", json={"email": "kept@example.com"}, headers={"Idempotency-Key": "kept-1"}
    )
    assert r.status_code == 201

    async def work(ctx: AppContext) -> IdempotencyRecord:
        async with ctx.db.transaction(write=False) as session:
            record = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == tenant.id, IdempotencyRecord.key == "kept-1"
                )
            )
            assert record is not None
            return record

    record = tenant.server.database.run(work)
    assert record.status == "completed"
    assert record.expires_at - record.created_at >= timedelta(hours=24)


def test_invalid_idempotency_key_is_refused(tenant: Tenant) -> None:
    r = tenant.client.post(
        "/v1/leads", json={"email": "k@example.com"}, headers={"Idempotency-Key": "x" * 256}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_idempotency_key"
    assert tenant.client.get("/v1/leads").json()["totalItems"] == 0


def test_twenty_parallel_decisions_exactly_one_wins(tenant: Tenant) -> None:
    instance = tenant.instance()
    enrollment = tenant.enroll(instance["id"])
    assert tenant.client.post(f"/v1/enrollments/{enrollment['id']}/submit").status_code == 200
    requests = [
        ("POST", f"/v1/enrollments/{enrollment['id']}/approve", None, {})
        if i % 2 == 0
        else (
            "POST",
            f"/v1/enrollments/{enrollment['id']}/reject",
            {"reason": "Failed verification"},
            {},
        )
        for i in range(20)
    ]
    responses = asyncio.run(_burst(tenant, requests))
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    losers = [r for r in responses if r.status_code != 200]
    assert all(r.status_code == 409 for r in losers), [r.text for r in losers]
    assert {r.json()["code"] for r in losers} <= {"invalid_transition", "concurrent_modification"}

    final = tenant.client.get(f"/v1/enrollments/{enrollment['id']}").json()
    assert final["status"] == winners[0].json()["status"] in ("approved", "rejected")
    history = tenant.client.get(f"/v1/enrollments/{enrollment['id']}/history").json()["data"]
    decisions = [h for h in history if h["fromStatus"] == "submitted"]
    assert len(decisions) == 1
    assert history[-1]["toStatus"] == final["status"]
    # Submit, then the one decision; an approval's setup (no workflow here: completed at once)
    # then sets the start date.
    setup = 1 if final["status"] == "approved" else 0
    assert final["version"] == enrollment["version"] + 2 + setup


def test_expired_keys_are_purged_a_slice_per_transaction(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13, E17: housekeeping never deletes a day of keys in one long transaction."""
    monkeypatch.setattr(runner, "PURGE_SLICE", 3)
    monkeypatch.setattr(idempotency, "PURGE_SLICE", 3)
    scope = f"purge-{uuid.uuid4().hex[:8]}"
    slices: list[tuple[Any, int]] = []  # the sessions themselves: a freed one's id is reused
    purge = runner.purge_expired

    async def recorded(session: Any, *, now: datetime) -> int:
        count = await purge(session, now=now)
        slices.append((session, count))
        return count

    monkeypatch.setattr(runner, "purge_expired", recorded)

    async def work(ctx: AppContext) -> int:
        now = ctx.clock.now()
        async with ctx.db.transaction() as session:
            session.add_all(
                IdempotencyRecord(
                    scope=scope,
                    key=f"k{n}",
                    fingerprint="f",
                    status="completed",
                    created_at=now - timedelta(days=2),
                    expires_at=now - timedelta(days=1),
                )
                for n in range(7)
            )
        await runner.Worker(ctx)._housekeeping()
        async with ctx.db.transaction(write=False) as session:
            left = await session.scalar(
                select(func.count()).where(IdempotencyRecord.scope == scope)
            )
        return int(left or 0)

    assert tenant.server.database.run(work) == 0
    assert len(slices) >= 3 and all(count <= 3 for _, count in slices)
    assert len({id(s) for s, _ in slices}) == len(slices)  # each slice its own transaction
