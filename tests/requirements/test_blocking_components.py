"""Seed 003's blocking components over HTTP on both databases: an applicant accepts a plan at
a premise (plans.md), confirms the billing address, sets up a payment method through the
sandbox provider (Stripe's test ids), and the platform submits the enrollment in the request
that meets the last requirement (submitWhenComplete). A declined card leaves it unmet."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.server import Tenant

BLOCKING = [
    {"key": "billing", "kind": "billingAddress", "label": "Billing address", "stage": "submit"},
    {"key": "payment", "kind": "paymentMethod", "label": "Payment method", "stage": "submit"},
]
DOCUMENTS = [{"type": "efl", "url": "https://example.com/efl.pdf", "version": "2026-01"}]


def _accept_plan(tenant: Tenant) -> dict[str, Any]:
    c = tenant.client
    instance = tenant.instance("anywhere-program", requirements=BLOCKING, submitWhenComplete=True)
    plan = c.post(
        f"/v1/programInstances/{instance['id']}/plans",
        json={"code": "FIXED-12", "aliases": ["FX12"], "name": "Fixed 12",
              "availability": {"==": [{"var": "location.market"}, "ercot"]},
              "documents": DOCUMENTS},
    )  # fmt: skip
    assert plan.status_code == 201, plan.text
    location = c.post(
        "/v1/serviceLocations",
        json={"servicePointId": f"1044372{uuid.uuid4().int % 10**10:010d}",
              "address": {"streetOne": "5 Elm St", "city": "Dallas", "state": "TX",
                          "postalCode": "75201"}},
    )  # fmt: skip
    assert location.status_code == 201, location.text
    n = uuid.uuid4().hex[:8]
    r = c.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        json={
            "identificationType": "customerInfo",
            "firstName": "Rosa",
            "lastName": f"Mendez{n}",
            "email": f"rosa.{n}@example.com",
            "serviceLocationId": location.json()["id"],
            "planCode": "FX12",
            "consent": {"termsAccepted": True, "channel": "web",
                        "documents": [{"type": "efl", "version": "2026-01"}]},
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


def _states(enrollment: dict[str, Any]) -> dict[str, str]:
    return {s["key"]: s["status"] for s in enrollment["requirements"]}


def test_billing_address_then_a_verified_card_submit_the_enrollment(tenant: Tenant) -> None:
    c = tenant.client
    enrollment = _accept_plan(tenant)
    eid = enrollment["id"]
    assert enrollment["status"] == "eligible" and enrollment["planCode"] == "FIXED-12"
    assert _states(enrollment) == {"billing": "unmet", "payment": "unmet"}

    r = c.put(f"/v1/enrollments/{eid}/billingAddress", json={"sameAsServiceAddress": True})
    assert r.status_code == 200, r.text
    assert _states(r.json()) == {"billing": "met", "payment": "unmet"}
    billing = c.get(f"/v1/customers/{enrollment['customerId']}").json()["billingAddress"]
    assert billing["address"]["city"] == "Dallas"  # the service address, copied

    session = c.post(f"/v1/enrollments/{eid}/paymentSession")
    assert session.status_code == 200, session.text
    assert session.json()["provider"] == "sandbox" and session.json()["clientSecret"]
    assert _states(c.get(f"/v1/enrollments/{eid}").json())["payment"] == "unmet"

    declined = c.post(
        f"/v1/enrollments/{eid}/paymentMethod", json={"paymentMethodId": "pm_card_chargeDeclined"}
    )
    assert declined.status_code == 422, declined.text
    assert declined.json()["code"] == "payment_method_unverified"
    after = c.get(f"/v1/enrollments/{eid}").json()
    assert after["status"] == "eligible" and _states(after)["payment"] == "unmet"

    r = c.post(f"/v1/enrollments/{eid}/paymentMethod", json={"paymentMethodId": "pm_card_visa"})
    assert r.status_code == 200, r.text
    done = c.get(f"/v1/enrollments/{eid}").json()
    assert done["status"] == "submitted"
    assert _states(done) == {"billing": "met", "payment": "met"}
    history = c.get(f"/v1/enrollments/{eid}/history").json()["data"]
    assert (history[-1]["action"], history[-1]["actor"]) == ("submit", "platform")
    mine = [e["type"] for e in tenant.events(limit=500) if e["data"]["object"].get("id") == eid]
    assert mine.count("enrollment.requirement_met") == 2
    assert mine.index("enrollment.requirements_completed") < mine.index("enrollment.submitted")
