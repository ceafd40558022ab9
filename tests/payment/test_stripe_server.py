"""A server with ENROLL_PAYMENT_PROVIDER=stripe against localstripe, end to end over HTTP on
both databases: the payment session, Stripe.js confirming its setup, the payment method
verified and stored, a declined card refused, and Stripe's signed events.

localstripe does not attach the method to the customer when the setup succeeds (Stripe does):
the method is refused as not attached until the test attaches it, as Stripe would have."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from enroll.gateway import StripeGateway
from tests.payment.stripe_wire import (
    DECLINED,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    event,
    signed,
)
from tests.support.rest_matrix import assert_problem
from tests.support.server import Database, Server, Tenant, make_tenant, start_server


@pytest.fixture(scope="module")
def stripe_server(
    database: Database, localstripe: LocalStripe, platform_key: str
) -> Iterator[Server]:
    """A second server on the session's database (whose catalog platform_key seeded)."""
    srv = start_server(
        database,
        payment_provider="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_api_base=localstripe.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )
    yield srv
    srv.stop()


@pytest.fixture
def stripe_tenant(stripe_server: Server) -> Iterator[Tenant]:
    t = make_tenant(stripe_server)
    yield t
    t.client.close()


def _session(c: httpx.Client, enrollment_id: str) -> dict[str, Any]:
    r = c.post(f"/v1/enrollments/{enrollment_id}/paymentSession")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _add(c: httpx.Client, enrollment_id: str, method: str) -> httpx.Response:
    return c.post(
        f"/v1/enrollments/{enrollment_id}/paymentMethod", json={"paymentMethodId": method}
    )


def _customer_of(localstripe: LocalStripe, client_secret: str) -> str:
    setup_id = client_secret.split("_secret_")[0]
    customer: str = localstripe.get(f"/v1/setup_intents/{setup_id}")["customer"]
    return customer


def test_the_stripe_flow_over_http(stripe_tenant: Tenant, localstripe: LocalStripe) -> None:
    c = stripe_tenant.client
    enrollment = stripe_tenant.enroll(stripe_tenant.instance()["id"])
    session = _session(c, enrollment["id"])
    assert session["provider"] == "stripe"
    assert session["publishableKey"] == PUBLISHABLE_KEY
    customer = _customer_of(localstripe, session["clientSecret"])
    assert localstripe.get(f"/v1/customers/{customer}")["email"] == enrollment["email"]

    method_id = localstripe.confirmed_method(session["clientSecret"])  # Stripe.js, in the browser
    unattached = assert_problem(
        _add(c, enrollment["id"], method_id), 422, "payment_method_unverified"
    )
    assert unattached["providerCode"] == "not_attached"
    localstripe.attach(method_id, customer)  # what Stripe does on success; localstripe does not
    r = _add(c, enrollment["id"], method_id)
    assert r.status_code == 200, r.text
    method = r.json()
    assert (method["provider"], method["providerMethodId"]) == ("stripe", method_id)
    assert (method["brand"], method["last4"], method["expMonth"], method["expYear"]) == (
        "visa",
        "4242",
        12,
        2031,
    )

    # A second session: a new setup on the same provider customer.
    second = _session(c, enrollment["id"])
    assert second["clientSecret"] != session["clientSecret"]
    assert _customer_of(localstripe, second["clientSecret"]) == customer

    # A declined card (Stripe.js shows the customer the decline) is refused here too.
    assert localstripe.confirm_setup(second["clientSecret"], DECLINED).status_code == 402
    setup_id = second["clientSecret"].split("_secret_")[0]
    declined = localstripe.get(f"/v1/setup_intents/{setup_id}")["payment_method"]
    assert_problem(_add(c, enrollment["id"], declined), 422, "payment_method_unverified")
    listed = c.get(f"/v1/enrollments/{enrollment['id']}/paymentMethods").json()["data"]
    assert listed == [method]


def test_stripes_signed_events_update_the_methods(
    stripe_tenant: Tenant, localstripe: LocalStripe, stripe_server: Server
) -> None:
    c = stripe_tenant.client
    enrollment = stripe_tenant.enroll(stripe_tenant.instance()["id"])
    session = _session(c, enrollment["id"])
    customer = _customer_of(localstripe, session["clientSecret"])
    method_id = localstripe.confirmed_method(session["clientSecret"])
    localstripe.attach(method_id, customer)
    setup_id = session["clientSecret"].split("_secret_")[0]
    succeeded = event(
        "setup_intent.succeeded",
        {
            "id": setup_id,
            "object": "setup_intent",
            "customer": customer,
            "payment_method": method_id,
            "status": "succeeded",
        },
    )
    detached = event(
        "payment_method.detached",
        {"id": method_id, "object": "payment_method", "customer": None},
        previous_attributes={"customer": customer},
    )
    with stripe_server.client() as stripe:  # Stripe calls without an API key
        for body in (succeeded, detached):
            payload, _ = signed(body, WEBHOOK_SECRET)
            forged = stripe.post(
                "/v1/providers/stripe/events",
                content=payload,
                headers={"Stripe-Signature": signed(body, "whsec_sandbox")[1]},
            )
            assert_problem(forged, 400, "invalid_provider_signature")
        path = f"/v1/enrollments/{enrollment['id']}/paymentMethods"
        assert c.get(path).json()["data"] == []

        payload, header = signed(succeeded, WEBHOOK_SECRET)
        r = stripe.post(
            "/v1/providers/stripe/events", content=payload, headers={"Stripe-Signature": header}
        )
        assert r.json() == {"received": True, "applied": True}, r.text
        (stored,) = c.get(path).json()["data"]
        assert (stored["providerMethodId"], stored["status"]) == (method_id, "active")

        payload, header = signed(detached, WEBHOOK_SECRET)
        r = stripe.post(
            "/v1/providers/stripe/events", content=payload, headers={"Stripe-Signature": header}
        )
        assert r.json() == {"received": True, "applied": True}, r.text
        (after,) = c.get(path).json()["data"]
        assert after["status"] == "detached"


def test_a_provider_that_cannot_be_reached_answers_503_and_stores_nothing(
    stripe_tenant: Tenant, stripe_server: Server
) -> None:
    c = stripe_tenant.client
    enrollment = stripe_tenant.enroll(stripe_tenant.instance()["id"])
    ctx = stripe_server.ctx
    working = ctx.gateway
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        ctx.gateway = StripeGateway(
            SECRET_KEY, PUBLISHABLE_KEY, f"http://127.0.0.1:{closed.getsockname()[1]}"
        )
        try:
            r = c.post(f"/v1/enrollments/{enrollment['id']}/paymentSession")
        finally:
            ctx.gateway = working
    body = assert_problem(r, 503, "payment_provider_unavailable")
    assert body["detail"].startswith("The payment provider failed: Stripe:")
    assert c.get(f"/v1/enrollments/{enrollment['id']}/paymentMethods").json()["data"] == []
    session = _session(c, enrollment["id"])  # the provider is back: the client retries
    assert session["provider"] == "stripe"
