"""What the customer tests share: a customer made over REST, a problem answer checked, the
sealed tax id read from its row, and a search for a plaintext tax id."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from enroll.context import AppContext
from enroll.models import Customer, HouseholdMember
from tests.support.helpers import PROBLEM, uniq
from tests.support.server import Server, Tenant


def new_customer(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    n = uniq()
    body = {"firstName": "Ada", "lastName": f"L{n}", "email": f"ada.{n}@example.com"} | fields
    r = tenant.client.post("/v1/customers", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def add_member(tenant: Tenant, customer_id: str, **fields: Any) -> dict[str, Any]:
    r = tenant.client.post(
        f"/v1/customers/{customer_id}/householdMembers", json={"role": "spouse"} | fields
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem+json answer, checked to be ``status`` with ``code``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == PROBLEM, r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code and body["status"] == status, body
    assert body["type"] == f"urn:enroll:problem:{code}", body
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


def sealed_tax_id(server: Server, model: type[Customer | HouseholdMember], row_id: str) -> Any:
    """The row's stored tax id column (and its last 4), read from the database itself."""

    async def work(ctx: AppContext) -> Any:
        async with ctx.db.transaction(write=False) as session:
            row = (
                await session.execute(
                    select(model.tax_id_sealed, model.tax_id_last4).where(model.id == row_id)
                )
            ).one()
        return tuple(row)

    return server.database.run(work)


def plaintexts(tax_id: str) -> list[str]:
    """The ways a tax id can be written: as sent, and its 9 digits."""
    return [tax_id, tax_id.replace("-", "")]


def assert_hidden(text: str, tax_id: str) -> None:
    for plain in plaintexts(tax_id):
        assert plain not in text, f"the tax id {plain!r} appears in {text[:2000]}"
