"""The Stripe adapter (gateway/stripe_adapter.py) against localstripe on loopback: the calls
the service makes, with the browser's part (Stripe.js confirming the setup) in between.

localstripe does not attach a method to the customer when the setup succeeds (Stripe does):
the tests attach it themselves where Stripe would have, and check that until then the method
is refused as not attached."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from enroll.gateway.base import SETUP_SUCCEEDED, GatewayEvent, VerifiedMethod
from enroll.gateway.errors import BadSignature, ProviderUnavailable, Unverified
from enroll.gateway.stripe_adapter import StripeGateway, _check_setup
from tests.payment.stripe_wire import (
    AUTHENTICATION_REQUIRED,
    DECLINED,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    event,
    signed,
)
from tests.support.helpers import uniq

T = TypeVar("T")


def run(call: Awaitable[T]) -> T:
    async def main() -> T:
        return await call

    return asyncio.run(main())


def _gateway(localstripe: LocalStripe, **kw: Any) -> StripeGateway:
    values: dict[str, Any] = {
        "secret_key": SECRET_KEY,
        "publishable": PUBLISHABLE_KEY,
        "api_base": localstripe.url,
        "webhook_secret": WEBHOOK_SECRET,
    }
    return StripeGateway(**(values | kw))


def _customer_and_setup(gateway: StripeGateway) -> tuple[str, str, str]:
    ref = uniq()
    customer = run(gateway.ensure_customer(reference=ref, email=f"{ref}@e.example", name="Pat"))
    setup = run(gateway.create_setup(provider_customer_id=customer, reference=f"s{ref}"))
    return customer, setup.setup_intent_id, setup.client_secret


def test_a_setup_confirmed_with_a_card_verifies_once_attached(localstripe: LocalStripe) -> None:
    gateway = _gateway(localstripe)
    customer, setup_id, secret = _customer_and_setup(gateway)
    assert customer.startswith("cus_") and setup_id.startswith("seti_")
    intent = localstripe.get(f"/v1/setup_intents/{setup_id}")
    assert (intent["customer"], intent["usage"]) == (customer, "off_session")
    method_id = localstripe.confirmed_method(secret)

    # localstripe leaves the method unattached after the setup succeeded; Stripe attaches it.
    with pytest.raises(Unverified) as refused:
        run(
            gateway.verify(
                payment_method_id=method_id,
                provider_customer_id=customer,
                setup_intent_ids=[setup_id],
            )
        )
    assert refused.value.code == "not_attached"
    localstripe.attach(method_id, customer)

    verified = run(
        gateway.verify(
            payment_method_id=method_id,
            provider_customer_id=customer,
            setup_intent_ids=["seti_gone", setup_id],
        )
    )
    assert verified == VerifiedMethod(method_id, "visa", "4242", 12, 2031)
    # Only a setup of ours counts: without it the method is not vouched for.
    with pytest.raises(Unverified) as no_setup:
        run(gateway.verify(payment_method_id=method_id, provider_customer_id=customer))
    assert no_setup.value.code == "setup_missing"


def test_a_method_of_another_customer_is_unverified(localstripe: LocalStripe) -> None:
    gateway = _gateway(localstripe)
    customer, setup_id, secret = _customer_and_setup(gateway)
    other, _, _ = _customer_and_setup(gateway)
    method_id = localstripe.confirmed_method(secret)
    localstripe.attach(method_id, other)
    with pytest.raises(Unverified) as refused:
        run(
            gateway.verify(
                payment_method_id=method_id,
                provider_customer_id=customer,
                setup_intent_ids=[setup_id],
            )
        )
    assert refused.value.code == "not_attached"
    assert refused.value.reason == "The payment method is not attached to this customer."


def test_a_declined_card_is_unverified(localstripe: LocalStripe) -> None:
    gateway = _gateway(localstripe)
    customer, setup_id, secret = _customer_and_setup(gateway)
    r = localstripe.confirm_setup(secret, DECLINED)  # what Stripe.js shows the customer
    assert r.status_code == 402 and r.json()["error"]["message"] == "Your card was declined."
    declined = localstripe.get(f"/v1/setup_intents/{setup_id}")["payment_method"]
    with pytest.raises(Unverified) as refused:
        run(
            gateway.verify(
                payment_method_id=declined,
                provider_customer_id=customer,
                setup_intent_ids=[setup_id],
            )
        )
    # localstripe cancels the setup without Stripe's last_setup_error (see below for Stripe's).
    assert refused.value.code == "canceled"


def test_a_card_needing_authentication_is_unverified(localstripe: LocalStripe) -> None:
    gateway = _gateway(localstripe)
    customer, setup_id, secret = _customer_and_setup(gateway)
    method_id = localstripe.confirmed_method(secret, AUTHENTICATION_REQUIRED)
    localstripe.attach(method_id, customer)
    with pytest.raises(Unverified) as refused:
        run(
            gateway.verify(
                payment_method_id=method_id,
                provider_customer_id=customer,
                setup_intent_ids=[setup_id],
            )
        )
    assert refused.value.code == "authentication_required"


def test_an_unknown_method_is_unverified_with_stripes_words(localstripe: LocalStripe) -> None:
    gateway = _gateway(localstripe)
    customer, setup_id, _ = _customer_and_setup(gateway)
    with pytest.raises(Unverified) as refused:
        run(
            gateway.verify(
                payment_method_id="pm_unknown",
                provider_customer_id=customer,
                setup_intent_ids=[setup_id],
            )
        )
    assert refused.value.code == "resource_missing"
    assert refused.value.reason == "Not Found"  # Stripe: "No such PaymentMethod: 'pm_unknown'"


def test_stripes_declined_setup_gives_its_own_reason() -> None:
    """A setup as Stripe leaves it after a declined confirmation (which localstripe does not
    reproduce): the method unset, the reason in ``last_setup_error``."""
    setup = {
        "id": "seti_1",
        "status": "requires_payment_method",
        "payment_method": None,
        "last_setup_error": {
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
            "payment_method": {"id": "pm_1", "object": "payment_method"},
        },
    }
    with pytest.raises(Unverified) as refused:
        _check_setup(setup, "pm_1")
    assert (refused.value.reason, refused.value.code) == (
        "Your card was declined.",
        "generic_decline",
    )


def test_an_unreachable_or_silent_provider_is_unavailable() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        slow = StripeGateway(
            SECRET_KEY, PUBLISHABLE_KEY, f"http://127.0.0.1:{port}", timeout_seconds=0.5
        )
        with pytest.raises(ProviderUnavailable) as timed_out:
            run(slow.ensure_customer(reference="r", email="a@e.example", name="A"))
    assert "did not answer within 0.5 s" in timed_out.value.reason
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        down = StripeGateway(
            SECRET_KEY, PUBLISHABLE_KEY, f"http://127.0.0.1:{port}", timeout_seconds=5
        )
        with pytest.raises(ProviderUnavailable):
            run(down.create_setup(provider_customer_id="cus_x", reference="r"))


def test_a_refused_secret_key_is_unavailable_not_unverified(localstripe: LocalStripe) -> None:
    gateway = _gateway(localstripe, secret_key="not_a_key")
    with pytest.raises(ProviderUnavailable):
        run(gateway.ensure_customer(reference="r", email="a@e.example", name="A"))


def test_events_are_read_with_stripes_signature() -> None:
    gateway = StripeGateway(SECRET_KEY, PUBLISHABLE_KEY, webhook_secret=WEBHOOK_SECRET)
    body = event(
        SETUP_SUCCEEDED,
        {
            "id": "seti_1",
            "object": "setup_intent",
            "customer": "cus_1",
            "payment_method": {"id": "pm_1", "object": "payment_method"},
        },
    )
    payload, header = signed(body, WEBHOOK_SECRET)
    assert gateway.parse_event(payload, {"stripe-signature": header}) == GatewayEvent(
        SETUP_SUCCEEDED,
        payment_method_id="pm_1",
        provider_customer_id="cus_1",
        setup_intent_id="seti_1",
    )
    for headers in ({"Stripe-Signature": signed(body, "whsec_other")[1]}, {}):
        with pytest.raises(BadSignature):
            gateway.parse_event(payload, headers)
    no_secret = StripeGateway(SECRET_KEY, PUBLISHABLE_KEY)
    with pytest.raises(BadSignature, match="ENROLL_STRIPE_WEBHOOK_SECRET"):
        no_secret.parse_event(payload, {"Stripe-Signature": header})
