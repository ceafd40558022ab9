"""Payment provider adapters (docs/payments.md), below ``context``: ``PaymentGateway`` is the
interface, ``sandbox`` (default) and ``stripe`` the providers, chosen by
``ENROLL_PAYMENT_PROVIDER``."""

from __future__ import annotations

from enroll.config import Settings
from enroll.gateway.base import GatewayEvent, PaymentGateway, ProviderName, Setup, VerifiedMethod
from enroll.gateway.sandbox import WEBHOOK_SECRET, SandboxGateway
from enroll.gateway.stripe_adapter import StripeGateway


def gateway_from_settings(settings: Settings) -> PaymentGateway:
    webhook_secret = (
        settings.stripe_webhook_secret.get_secret_value()
        if settings.stripe_webhook_secret is not None
        else None
    )
    if settings.payment_provider == "stripe":
        assert settings.stripe_secret_key is not None  # Settings refuses stripe without it
        return StripeGateway(
            secret_key=settings.stripe_secret_key.get_secret_value(),
            publishable=settings.stripe_publishable_key or "",
            api_base=settings.stripe_api_base,
            webhook_secret=webhook_secret,
            timeout_seconds=settings.stripe_timeout_seconds,
        )
    return SandboxGateway(webhook_secret=webhook_secret or WEBHOOK_SECRET)


__all__ = [
    "GatewayEvent",
    "PaymentGateway",
    "ProviderName",
    "SandboxGateway",
    "Setup",
    "StripeGateway",
    "VerifiedMethod",
    "gateway_from_settings",
]
