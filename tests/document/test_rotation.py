"""Key rotation on both databases: after `enroll keys new` and `enroll keys rotate` (the
command line, run as an operator would, beside the running service), every document and every
sealed tax id (a customer's, a household member's) is sealed under the new key and opens with
it alone; the old key opens nothing any more. On a database of its own: a rotation re-seals
everything of the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from enroll.context import AppContext
from enroll.models import Customer, HouseholdMember
from enroll.vault.keyring import KeyRing, SealedValueError
from tests.document.files import jpeg, marker, pdf, png, upload
from tests.document.support import objects, rows
from tests.support.server import (
    TEST_DATA_KEY,
    Database,
    Server,
    Tenant,
    make_tenant,
    private_server,
    start_server,
)

ENROLL = Path(sys.executable).parent / "enroll"
PROGRAM = "rotation-program"


def _enroll(*args: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [str(ENROLL), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _tax_ids(customer_id: str) -> Callable[[AppContext], Awaitable[dict[str, str]]]:
    async def work(ctx: AppContext) -> dict[str, str]:
        async with ctx.db.transaction(write=False) as session:
            customer = await session.scalar(
                select(Customer.tax_id_sealed).where(Customer.id == customer_id)
            )
            member = await session.scalar(
                select(HouseholdMember.tax_id_sealed).where(
                    HouseholdMember.customer_id == customer_id
                )
            )
        return {"customer": str(customer), "member": str(member)}

    return work


def test_rotation_reseals_every_document_under_the_new_key(
    database: Database, tmp_path: Path
) -> None:
    with private_server(database, tmp_path, PROGRAM) as srv:
        tenant = make_tenant(srv)
        try:
            _rotation(srv, tenant)
        finally:
            tenant.client.close()


def _rotation(srv: Server, tenant: Tenant) -> None:
    enrollment = tenant.enroll(tenant.instance(PROGRAM)["id"])
    enrollment_id, customer_id = enrollment["id"], enrollment["customerId"]
    # The sealed columns rotate with the documents: a customer's tax id and a member's.
    c = tenant.client
    assert c.patch(f"/v1/customers/{customer_id}", json={"taxId": "123456789"}).is_success
    member = c.post(
        f"/v1/customers/{customer_id}/householdMembers",
        json={"role": "spouse", "taxId": "987654321"},
    )
    assert member.status_code == 201, member.text
    contents = [pdf(marker()), png(marker()), jpeg(marker())]
    ids = [upload(tenant.client, enrollment_id, c).json()["id"] for c in contents]
    # One document's object already gone (deleted while the rotation ran): skipped.
    missing = f"documents/{tenant.id}/{ids[2]}"
    srv.on_loop(srv.ctx.storage.delete(missing))

    new_key = _enroll("keys", "new", "--id", "rot2").strip()
    assert new_key.startswith("rot2:") and KeyRing.parse(new_key).active == "rot2"
    env = {
        "ENROLL_DATABASE_URL": srv.database.url,
        "ENROLL_STORAGE_URL": str(srv.database.storage_url),
        "ENROLL_DATA_KEY": f"{new_key},{TEST_DATA_KEY}",  # the new one first
    }
    out = json.loads(_enroll("keys", "rotate", "--batch", "1", env=env))
    assert out == {
        "activeKey": "rot2",
        "resealed": {
            "documents": 2,
            "customer.tax_id_sealed": 1,
            "household_member.tax_id_sealed": 1,
        },
    }
    by_id = {row["id"]: row["key_id"] for row in rows(srv, tenant.id)}
    assert by_id == {ids[0]: "rot2", ids[1]: "rot2", ids[2]: "test1"}

    new_only, old_only = KeyRing.parse(new_key), KeyRing.parse(TEST_DATA_KEY)
    stored = objects(srv, tenant.id)
    assert missing not in stored
    for document_id, content in zip(ids[:2], contents, strict=False):
        raw = stored[f"documents/{tenant.id}/{document_id}"]
        assert new_only.open(raw, aad=document_id.encode()) == content
        with pytest.raises(SealedValueError):
            old_only.open(raw, aad=document_id.encode())

    sealed = srv.database.run(_tax_ids(customer_id))
    assert new_only.open_text(sealed["customer"], aad=b"customer.tax_id") == "123456789"
    assert new_only.open_text(sealed["member"], aad=b"household_member.tax_id") == "987654321"

    again = json.loads(_enroll("keys", "rotate", env=env))
    assert set(again["resealed"].values()) == {0}  # nothing left under the old key

    # A server holding only the new key serves the files as uploaded.
    fresh = start_server(srv.database, data_key=new_key)
    try:
        with fresh.client(tenant.key) as client:
            for document_id, content in zip(ids[:2], contents, strict=False):
                path = f"/v1/enrollments/{enrollment_id}/documents/{document_id}/content"
                got = client.get(path)
                assert got.status_code == 200 and got.content == content
    finally:
        fresh.stop()
