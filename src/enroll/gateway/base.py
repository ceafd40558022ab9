"""The interface every payment provider adapter offers (docs/payments.md): a provider customer
made once per customer, a setup for the browser component, verifying a method, and reading
the provider's signed events. Nothing here charges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

ProviderName = Literal["sandbox", "stripe"]
SETUP_SUCCEEDED = "setup_intent.succeeded"
METHOD_DETACHED = "payment_method.detached"


@dataclass(frozen=True, slots=True)
class Setup:
    """What the browser component needs to collect a method (Stripe: a SetupIntent)."""

    setup_intent_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class VerifiedMethod:
    """A method the provider vouches for: all that is stored of it (no card number)."""

    provider_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """A provider event whose signature verified; ids the event does not carry are None."""

    type: str
    payment_method_id: str | None = None
    provider_customer_id: str | None = None
    setup_intent_id: str | None = None


class PaymentGateway(Protocol):
    """A payment provider. ``name`` is stored with each profile, setup and method."""

    @property
    def name(self) -> ProviderName: ...

    @property
    def publishable_key(self) -> str: ...

    async def ensure_customer(self, *, reference: str, email: str, name: str) -> str:
        """A new provider customer for our customer ``reference``; its id. The caller stores
        it, so this runs once per customer (``reference`` also keys retries at the provider)."""
        ...

    async def create_setup(self, *, provider_customer_id: str, reference: str) -> Setup:
        """A setup for off-session use on the customer (Stripe: a SetupIntent with
        ``usage=off_session``); ``reference`` is our id for it."""
        ...

    async def verify(
        self,
        *,
        payment_method_id: str,
        provider_customer_id: str,
        setup_intent_ids: Sequence[str] = (),
    ) -> VerifiedMethod:
        """Ask the provider that the method exists, is attached to this customer and that one
        of ``setup_intent_ids`` (our setups for it, newest first) succeeded with it; raises
        ``Unverified`` with the provider's reason otherwise. Never charges."""
        ...

    def parse_event(self, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """The event in ``payload``, its signature verified; ``BadSignature`` otherwise."""
        ...
