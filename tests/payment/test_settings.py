"""ENROLL_PAYMENT_PROVIDER: the sandbox by default; Stripe only with its keys, refused at
startup otherwise."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from enroll.config import Settings
from enroll.gateway import SandboxGateway, StripeGateway, gateway_from_settings


def test_the_sandbox_is_the_default() -> None:
    gateway = gateway_from_settings(Settings())
    assert isinstance(gateway, SandboxGateway)
    assert (gateway.name, gateway.publishable_key) == ("sandbox", "pk_test_sandbox")
    assert gateway.webhook_secret == "whsec_sandbox"
    signed = gateway_from_settings(Settings(stripe_webhook_secret="whsec_mine"))
    assert isinstance(signed, SandboxGateway) and signed.webhook_secret == "whsec_mine"


def test_stripe_needs_its_keys_at_startup() -> None:
    for missing in (
        {},
        {"stripe_secret_key": ""},
        {"stripe_secret_key": "sk_test_x"},  # no publishable key
    ):
        with pytest.raises(ValidationError, match="ENROLL_STRIPE_"):
            Settings(payment_provider="stripe", **missing)
    gateway = gateway_from_settings(
        Settings(
            payment_provider="stripe",
            stripe_secret_key="sk_test_x",
            stripe_publishable_key="pk_test_x",
            stripe_api_base="http://127.0.0.1:9",
            stripe_webhook_secret="whsec_x",
            stripe_timeout_seconds=3,
        )
    )
    assert gateway == StripeGateway("sk_test_x", "pk_test_x", "http://127.0.0.1:9", "whsec_x", 3)
    assert (gateway.name, gateway.publishable_key) == ("stripe", "pk_test_x")
