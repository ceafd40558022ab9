"""Webhook deliveries per second from one worker, beside a bare HTTP client loop in the same run.

    .venv/bin/python bench/webhooks.py [--events 5000] [--endpoints 1]

Prints ONE JSON document on stdout (progress on stderr); a measurement, not a test.

* A receiver: a minimal ASGI app under uvicorn in a process of its own, answering 200.
* ``--events`` events committed in a fresh PostgreSQL database (ENROLL_BENCH_DATABASE_URL's
  server) with ``--endpoints`` endpoints subscribed to them all; then one ``enroll worker``
  delivers them. Measured from the first attempt to the last delivery (read from the delivery
  log): every delivery queued from the feed, signed, POSTed, and its attempt recorded.
* Baseline: the same number of signed POSTs of the same bodies to the same receiver by a bare
  ``httpx`` loop per endpoint (in order, one at a time, as an endpoint's deliveries go).
  Target: >= 200 deliveries/s and >= 50 % of the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import func, select

from enroll.config import Settings
from enroll.context import AppContext
from enroll.event import service as events
from enroll.kit import outbound
from enroll.migrations import upgrade
from enroll.models import WebhookDelivery
from enroll.webhook import service as webhooks
from enroll.webhook.schemas import WebhookEndpointCreate
from enroll.workspace.service import create_workspace

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
ENROLL = str(Path(sys.executable).parent / "enroll")
TARGET_PER_SECOND = 200
TARGET_RATIO = 0.5
RECEIVER = textwrap.dedent(
    """
    import sys, uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    """
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(f"http://127.0.0.1:{port}/", content=b"{}")
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/hook"


async def seed(url: str, receiver: str, count: int, endpoints: int) -> tuple[str, list[str]]:
    """A workspace with ``endpoints`` endpoints and ``count`` events; its id, and the secrets."""
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        async with ctx.db.transaction() as session:
            workspace, _ = await create_workspace(session, name="Webhook bench")
            secrets = []
            for _ in range(endpoints):
                endpoint = await webhooks.create(
                    session,
                    workspace_id=workspace.id,
                    body=WebhookEndpointCreate(url=receiver),
                    allow_private=True,
                    now=ctx.clock.now(),
                )
                secrets.append(endpoint.secret)
        for start in range(0, count, 500):
            async with ctx.db.transaction() as session:
                await events.record(
                    session,
                    workspace_id=workspace.id,
                    occurred_at=ctx.clock.now(),
                    events=[
                        events.NewEvent(type="enrollment.updated", data=sample_data(n))
                        for n in range(start, min(start + 500, count))
                    ],
                )
        return workspace.id, secrets
    finally:
        await ctx.db.dispose()


def sample_data(n: int) -> dict[str, Any]:
    """About the size of an enrollment event's object."""
    return {
        "object": {
            "id": f"enr{n:022d}",
            "status": "eligible",
            "firstName": "Bench",
            "lastName": f"Person {n}",
            "email": f"bench.{n}@example.com",
            "address": {"streetOne": "1 Main St", "city": "Albany", "state": "NY"},
            "tags": ["bench"],
            "metadata": {"n": n},
        },
        "changedFields": ["eligibility"],
    }


async def progress(url: str) -> tuple[int, int, float]:
    """(succeeded, total, seconds from the first attempt to the last delivery)."""
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        async with ctx.db.transaction(write=False) as session:
            done, total, first, last = (
                await session.execute(
                    select(
                        func.count().filter(WebhookDelivery.status == "succeeded"),
                        func.count(),
                        func.min(WebhookDelivery.created_at),
                        func.max(WebhookDelivery.delivered_at),
                    )
                )
            ).one()
        seconds = (last - first).total_seconds() if first and last else 0.0
        return int(done), int(total), seconds
    finally:
        await ctx.db.dispose()


async def baseline(receiver: str, secrets: list[str], count: int) -> float:
    """Seconds for ``count`` signed POSTs per endpoint, a loop per endpoint, loops at once."""
    bodies = [
        orjson.dumps(
            {
                "id": uuid.uuid4().hex,
                "type": "enrollment.updated",
                "version": 1,
                "occurredAt": "2026-12-06T00:00:00Z",
                "workspaceId": "w",
                "data": sample_data(n),
            }
        ).decode()
        for n in range(count)
    ]

    async def loop(client: httpx.AsyncClient, secret: str) -> None:
        for body in bodies:
            headers = outbound.signed_headers(
                secret=secret, message_id=uuid.uuid4().hex, at=datetime.now(UTC), body=body
            )
            headers["content-type"] = "application/json"
            response = await client.post(receiver, content=body.encode(), headers=headers)
            assert response.status_code == 200

    async with httpx.AsyncClient(trust_env=False) as client:
        started = time.perf_counter()
        await asyncio.gather(*(loop(client, s) for s in secrets))
        return time.perf_counter() - started


async def _pg(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--endpoints", type=int, default=1)
    args = parser.parse_args()
    admin = os.environ.get("ENROLL_BENCH_DATABASE_URL", DEFAULT_PG)
    name = f"enroll_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    receiver, receiver_url = start_receiver()
    worker = None
    try:
        upgrade(url)
        workspace_id, secrets = asyncio.run(seed(url, receiver_url, args.events, args.endpoints))
        total = args.events * args.endpoints
        log(f"{args.events} events x {args.endpoints} endpoint(s) queued; one worker delivers")
        env = os.environ | {
            "ENROLL_DATABASE_URL": url,
            "ENROLL_WORKER_POLL_SECONDS": "0.05",
            "ENROLL_WEBHOOK_ALLOW_PRIVATE": "true",
        }
        worker = subprocess.Popen([ENROLL, "worker"], env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 1800
        while (state := asyncio.run(progress(url)))[0] < total:
            assert time.monotonic() < deadline, state
            log(f"  {state[0]}/{total} delivered")
            time.sleep(1.0)
        done, _, seconds = state
        log("baseline next")
        base_seconds = asyncio.run(baseline(receiver_url, secrets, args.events))
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        receiver.terminate()
        receiver.wait(timeout=30)
        asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    rate, base_rate = done / seconds, total / base_seconds
    print(
        json.dumps(
            {
                "benchmark": "webhook deliveries from one worker (PostgreSQL)",
                "target": {"deliveries_per_second": TARGET_PER_SECOND, "ratio": TARGET_RATIO},
                "workspace": workspace_id,
                "events": args.events,
                "endpoints": args.endpoints,
                "deliveries": done,
                "seconds": round(seconds, 2),
                "deliveries_per_second": round(rate, 1),
                "baseline": {
                    "kind": "signed POSTs by a bare httpx loop per endpoint, in order",
                    "posts": total,
                    "seconds": round(base_seconds, 2),
                    "posts_per_second": round(base_rate, 1),
                },
                "ratio_to_baseline": round(rate / base_rate, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
