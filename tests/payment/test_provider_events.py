"""POST /v1/providers/stripe/events with the sandbox provider (both databases): events signed
exactly as Stripe signs them (with the sandbox's secret, ``whsec_sandbox``) update the stored
methods; a bad signature answers 400 and changes nothing. (test_stripe_server.py does the same
against Stripe's own adapter and a configured secret.)"""

from __future__ import annotations

import time
from typing import Any

import httpx

from enroll.gateway.sandbox import WEBHOOK_SECRET
from tests.payment.stripe_wire import event, signed
from tests.support.rest_matrix import assert_problem
from tests.support.server import Tenant

EVENTS = "/v1/providers/stripe/events"


def _post(
    http: httpx.Client, body: dict[str, Any], secret: str = WEBHOOK_SECRET, **kw: Any
) -> httpx.Response:
    payload, header = signed(body, secret, **kw)
    return http.post(
        EVENTS,
        content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def _methods(tenant: Tenant, enrollment_id: str) -> list[dict[str, Any]]:
    r = tenant.client.get(f"/v1/enrollments/{enrollment_id}/paymentMethods")
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def _with_visa(tenant: Tenant) -> tuple[str, dict[str, Any]]:
    enrollment = tenant.enroll(tenant.instance()["id"])
    c = tenant.client
    assert c.post(f"/v1/enrollments/{enrollment['id']}/paymentSession").status_code == 200
    r = c.post(
        f"/v1/enrollments/{enrollment['id']}/paymentMethod",
        json={"paymentMethodId": "pm_card_visa"},
    )
    assert r.status_code == 200, r.text
    return enrollment["id"], r.json()


def test_a_detached_event_detaches_the_method_and_a_bad_signature_changes_nothing(
    tenant: Tenant, http: httpx.Client
) -> None:
    enrollment_id, method = _with_visa(tenant)
    detached = event(
        "payment_method.detached",
        {"id": method["providerMethodId"], "object": "payment_method", "customer": None},
        previous_attributes={"customer": "cus_sandbox_x"},
    )
    refusals = [
        _post(http, detached, secret="whsec_other"),  # signed by someone else
        _post(http, detached, at=int(time.time()) - 3600),  # replayed an hour later
    ]
    payload, header = signed(detached, WEBHOOK_SECRET)
    refusals.append(  # the body changed after signing
        http.post(
            EVENTS,
            content=payload.replace(b"detached", b"attached"),
            headers={"Stripe-Signature": header},
        )
    )
    refusals.append(http.post(EVENTS, content=payload, headers={"Stripe-Signature": "t=1"}))
    for r in refusals:
        assert_problem(r, 400, "invalid_provider_signature")
    assert _methods(tenant, enrollment_id) == [method]
    missing = http.post(EVENTS, content=payload)  # no header at all
    assert_problem(missing, 422, "validation_error")

    r = _post(http, detached)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True, "applied": True}
    (after,) = _methods(tenant, enrollment_id)
    assert after["status"] == "detached" and after["detachedAt"] is not None
    assert _post(http, detached).json() == {"received": True, "applied": False}  # once


def test_a_setup_succeeded_event_stores_the_method_of_that_setup(
    tenant: Tenant, http: httpx.Client
) -> None:
    enrollment = tenant.enroll(tenant.instance()["id"])
    session = tenant.client.post(f"/v1/enrollments/{enrollment['id']}/paymentSession").json()
    setup_id = session["clientSecret"].split("_secret_")[0]
    succeeded = event(
        "setup_intent.succeeded",
        {
            "id": setup_id,
            "object": "setup_intent",
            "status": "succeeded",
            "customer": "cus_sandbox_x",
            "payment_method": "pm_card_mastercard",
            "usage": "off_session",
        },
    )
    r = _post(http, succeeded)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    (method,) = _methods(tenant, enrollment["id"])
    assert (method["brand"], method["last4"], method["status"]) == ("mastercard", "4444", "active")
    assert _post(http, succeeded).status_code == 200  # Stripe sends at least once
    assert _methods(tenant, enrollment["id"]) == [method]


def test_events_this_service_does_not_hold_are_acknowledged_and_ignored(
    http: httpx.Client,
) -> None:
    unknown = [
        event(
            "setup_intent.succeeded",
            {"id": "seti_unknown", "object": "setup_intent", "payment_method": "pm_card_visa"},
        ),
        event("payment_method.detached", {"id": "pm_unknown", "object": "payment_method"}),
        event("customer.created", {"id": "cus_unknown", "object": "customer"}),
        event(
            "setup_intent.succeeded",  # a known test card on an unknown setup: still nothing
            {"id": "seti_sandbox_x", "object": "setup_intent", "payment_method": "pm_card_visa"},
        ),
    ]
    for body in unknown:
        r = _post(http, body)
        assert r.status_code == 200, r.text
        assert r.json() == {"received": True, "applied": False}
