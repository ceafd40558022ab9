"""The sandbox provider over HTTP (both databases): the seed's flow, payment session, then the
method the browser component added, with Stripe's test ids."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from enroll.context import AppContext
from enroll.models import PaymentProfile, PaymentSetup
from tests.support.rest_matrix import assert_problem
from tests.support.server import Server, Tenant

STORED = {
    "id",
    "enrollmentId",
    "customerId",
    "provider",
    "providerMethodId",
    "brand",
    "last4",
    "expMonth",
    "expYear",
    "status",
    "createdAt",
    "updatedAt",
    "detachedAt",
}


def _enrollment(tenant: Tenant) -> dict[str, Any]:
    return tenant.enroll(tenant.instance()["id"])


def _session(c: httpx.Client, enrollment_id: str) -> dict[str, Any]:
    r = c.post(f"/v1/enrollments/{enrollment_id}/paymentSession")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _add(c: httpx.Client, enrollment_id: str, method: str) -> httpx.Response:
    return c.post(
        f"/v1/enrollments/{enrollment_id}/paymentMethod", json={"paymentMethodId": method}
    )


def _methods(c: httpx.Client, enrollment_id: str) -> list[dict[str, Any]]:
    r = c.get(f"/v1/enrollments/{enrollment_id}/paymentMethods")
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def test_visa_is_verified_and_stored_as_ids_brand_last4_and_expiry(tenant: Tenant) -> None:
    c = tenant.client
    enrollment = _enrollment(tenant)
    session = _session(c, enrollment["id"])
    assert session.keys() == {"provider", "clientSecret", "publishableKey"}
    assert session["provider"] == "sandbox"
    assert session["publishableKey"] == "pk_test_sandbox"
    assert session["clientSecret"].startswith("seti_sandbox_")
    assert "_secret_" in session["clientSecret"]

    r = _add(c, enrollment["id"], "pm_card_visa")
    assert r.status_code == 200, r.text
    method = r.json()
    assert method.keys() == STORED  # provider ids, brand, last 4, expiry: nothing else
    assert method["enrollmentId"] == enrollment["id"]
    assert method["customerId"] == enrollment["customerId"]
    assert (method["provider"], method["brand"], method["last4"]) == ("sandbox", "visa", "4242")
    assert (method["expMonth"], method["expYear"]) == (12, 2034)
    assert method["status"] == "active" and method["detachedAt"] is None
    assert method["providerMethodId"].startswith("pm_sandbox_")
    assert _methods(c, enrollment["id"]) == [method]

    again = _add(c, enrollment["id"], "pm_card_visa")  # the seed's "ensure": the same row
    assert again.status_code == 200, again.text
    assert again.json() == method
    mastercard = _add(c, enrollment["id"], "pm_card_mastercard").json()
    assert (mastercard["brand"], mastercard["last4"]) == ("mastercard", "4444")
    amex = _add(c, enrollment["id"], "pm_card_amex").json()
    assert (amex["brand"], amex["last4"]) == ("amex", "0005")
    assert [m["id"] for m in _methods(c, enrollment["id"])] == [
        method["id"],
        mastercard["id"],
        amex["id"],
    ]


def test_declined_or_unverified_methods_answer_422_and_store_nothing(tenant: Tenant) -> None:
    c = tenant.client
    enrollment = _enrollment(tenant)
    _session(c, enrollment["id"])
    declined = assert_problem(
        _add(c, enrollment["id"], "pm_card_chargeDeclined"), 422, "payment_method_unverified"
    )
    assert declined["detail"] == "Your card was declined."
    assert declined["providerCode"] == "card_declined"
    action = assert_problem(
        _add(c, enrollment["id"], "pm_card_authenticationRequired"),
        422,
        "payment_method_unverified",
    )
    assert "authentication" in action["detail"]
    assert action["providerCode"] == "authentication_required"
    unknown = assert_problem(_add(c, enrollment["id"], "pm_nope"), 422, "payment_method_unverified")
    assert unknown["detail"] == "No such PaymentMethod: 'pm_nope'"
    assert _methods(c, enrollment["id"]) == []


def test_a_method_before_any_payment_session_is_unverified(tenant: Tenant) -> None:
    enrollment = _enrollment(tenant)
    body = assert_problem(
        _add(tenant.client, enrollment["id"], "pm_card_visa"), 422, "payment_method_unverified"
    )
    assert body["providerCode"] == "setup_missing"
    assert _methods(tenant.client, enrollment["id"]) == []


def test_the_provider_customer_is_made_once_per_customer(tenant: Tenant, server: Server) -> None:
    c = tenant.client
    first = _enrollment(tenant)
    other_instance = tenant.instance()
    second = tenant.enroll(
        other_instance["id"], identificationType="customerId", customerId=first["customerId"]
    )
    assert second["customerId"] == first["customerId"]
    secrets = [_session(c, first["id"])["clientSecret"] for _ in range(2)]
    secrets.append(_session(c, second["id"])["clientSecret"])
    assert len(set(secrets)) == 3  # a setup per session

    async def rows(ctx: AppContext) -> tuple[int, int]:
        async with ctx.db.transaction(write=False) as session:
            profiles = await session.scalar(
                select(func.count())
                .select_from(PaymentProfile)
                .where(PaymentProfile.customer_id == first["customerId"])
            )
            setups = await session.scalar(
                select(func.count())
                .select_from(PaymentSetup)
                .where(PaymentSetup.customer_id == first["customerId"])
            )
        return int(profiles or 0), int(setups or 0)

    assert server.database.run(rows) == (1, 3)
    # The method verified for the second enrollment is the customer's, on the same profile.
    assert _add(c, second["id"], "pm_card_visa").status_code == 200


def test_an_ended_enrollment_takes_no_payment_method(tenant: Tenant) -> None:
    c = tenant.client
    enrollment = _enrollment(tenant)
    _session(c, enrollment["id"])
    r = c.post(f"/v1/enrollments/{enrollment['id']}/cancel")
    assert r.status_code == 200, r.text
    for r in (
        c.post(f"/v1/enrollments/{enrollment['id']}/paymentSession"),
        _add(c, enrollment["id"], "pm_card_visa"),
    ):
        body = assert_problem(r, 409, "invalid_transition")
        assert body["currentStatus"] == "cancelled"
    assert _methods(c, enrollment["id"]) == []


def test_unknown_enrollments_answer_404(tenant: Tenant) -> None:
    c = tenant.client
    assert_problem(c.post("/v1/enrollments/nope/paymentSession"), 404, "not_found")
    assert_problem(_add(c, "nope", "pm_card_visa"), 404, "not_found")
    assert_problem(c.get("/v1/enrollments/nope/paymentMethods"), 404, "not_found")


def test_the_payment_method_id_is_validated(tenant: Tenant) -> None:
    enrollment = _enrollment(tenant)
    for bad in ("", "pm card", "x" * 256):
        body = assert_problem(_add(tenant.client, enrollment["id"], bad), 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["paymentMethodId"]
