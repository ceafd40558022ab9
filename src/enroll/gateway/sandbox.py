"""The sandbox provider (the default; what ``make demo`` uses): deterministic, no network, and
answering Stripe's test payment method ids as Stripe's test mode does, so an integration built
against it runs unchanged against Stripe (docs/payments.md lists the ids).

Its ids and client secrets are derived from what it is given (a hash), so the same calls give
the same answers on every run. Its events are read as Stripe's are (``events.py``), signed with
``ENROLL_STRIPE_WEBHOOK_SECRET`` or else ``whsec_sandbox``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from enroll.gateway.base import GatewayEvent, ProviderName, Setup, VerifiedMethod
from enroll.gateway.errors import Unverified
from enroll.gateway.events import parse_stripe_event

PUBLISHABLE_KEY = "pk_test_sandbox"
WEBHOOK_SECRET = "whsec_sandbox"
# The card each accepted test id stands for: brand, last 4 (Stripe's test cards), expiry.
CARDS: dict[str, tuple[str, str]] = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_amex": ("amex", "0005"),
}
EXPIRY = (12, 2034)
DECLINED = "pm_card_chargeDeclined"
AUTHENTICATION_REQUIRED = "pm_card_authenticationRequired"


def _digest(*parts: str, length: int = 16) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class SandboxGateway:
    webhook_secret: str = WEBHOOK_SECRET

    @property
    def name(self) -> ProviderName:
        return "sandbox"

    @property
    def publishable_key(self) -> str:
        return PUBLISHABLE_KEY

    async def ensure_customer(self, *, reference: str, email: str, name: str) -> str:
        return f"cus_sandbox_{_digest('customer', reference)}"

    async def create_setup(self, *, provider_customer_id: str, reference: str) -> Setup:
        setup_id = f"seti_sandbox_{_digest('setup', provider_customer_id, reference)}"
        secret = _digest("secret", setup_id, length=24)
        return Setup(setup_intent_id=setup_id, client_secret=f"{setup_id}_secret_{secret}")

    async def verify(
        self,
        *,
        payment_method_id: str,
        provider_customer_id: str,
        setup_intent_ids: Sequence[str] = (),
    ) -> VerifiedMethod:
        """A test id of ``CARDS`` is a method whose setup succeeded on this customer (as when
        Stripe.js confirms a setup with it); the two failing ids fail as Stripe fails them."""
        if payment_method_id == DECLINED:
            raise Unverified("Your card was declined.", code="card_declined")
        if payment_method_id == AUTHENTICATION_REQUIRED:
            raise Unverified(
                "The setup requires authentication (requires_action): the customer must "
                "complete 3D Secure before the payment method can be used.",
                code="authentication_required",
            )
        card = CARDS.get(payment_method_id)
        if card is None:
            raise Unverified(
                f"No such PaymentMethod: '{payment_method_id}'", code="resource_missing"
            )
        brand, last4 = card
        # As Stripe turns a test id into a method of its own: one per customer.
        method_id = _digest("method", provider_customer_id, payment_method_id)
        return VerifiedMethod(
            provider_method_id=f"pm_sandbox_{method_id}",
            brand=brand,
            last4=last4,
            exp_month=EXPIRY[0],
            exp_year=EXPIRY[1],
        )

    def parse_event(self, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return parse_stripe_event(payload, headers, secret=self.webhook_secret)
