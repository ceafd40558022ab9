"""The Stripe provider, through the official SDK's async client over httpx.

Each operation makes its own client and closes it when done: one operation is a few calls, a
client holds sockets bound to the event loop it first ran on, and the process's context has no
moment to close a shared one. Every operation is bounded by ``timeout_seconds`` (retries
included); a timeout, a network error or an error of Stripe's own (its 5xx, a refused key, rate
limits) becomes ``ProviderUnavailable``, never an unexplained failure of ours.

Verifying a method asks Stripe three things: the method exists (else Stripe's "No such
PaymentMethod"), one of our setups for the customer was confirmed with it and succeeded (else
the setup's own error: "Your card was declined.", or authentication required), and the method
is attached to the customer (Stripe attaches it when such a setup succeeds; localstripe does
not, see docs/payments.md).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import stripe
from stripe.params import SetupIntentCreateParams

from enroll.gateway.base import GatewayEvent, ProviderName, Setup, VerifiedMethod
from enroll.gateway.errors import ProviderUnavailable, Unverified
from enroll.gateway.events import parse_stripe_event
from enroll.workflows.payment import SetupStatus

MAX_SETUPS = 5  # the newest setups of a customer searched for the method's


class _HTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, sending its form-encoded body as ``content``: the SDK passes it
    as ``data=<str>``, which httpx 0.28 deprecates (a DeprecationWarning on every POST)."""

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return args, kwargs


def _id(value: Any) -> str | None:
    """An id, whether the object is expanded or named by id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class StripeGateway:
    secret_key: str
    publishable: str
    api_base: str | None = None
    webhook_secret: str | None = None
    timeout_seconds: float = 10.0

    @property
    def name(self) -> ProviderName:
        return "stripe"

    @property
    def publishable_key(self) -> str:
        return self.publishable

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[stripe.StripeClient]:
        http = _HTTPXClient(timeout=self.timeout_seconds)
        client = stripe.StripeClient(
            self.secret_key,
            http_client=http,
            base_addresses={"api": self.api_base} if self.api_base else None,
            max_network_retries=1,  # the SDK's retries reuse one idempotency key
        )
        try:
            async with asyncio.timeout(self.timeout_seconds):
                yield client
        except TimeoutError:
            raise ProviderUnavailable(
                f"Stripe did not answer within {self.timeout_seconds:g} s."
            ) from None
        except stripe.StripeError as exc:  # what the operation did not turn into Unverified
            raise ProviderUnavailable(f"Stripe: {exc.user_message or exc}", code=exc.code) from None
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]  # untyped in the SDK

    async def ensure_customer(self, *, reference: str, email: str, name: str) -> str:
        # The key names this customer as sent, so a retry (or a request racing this one)
        # finds the customer made the first time instead of making a second.
        digest = hashlib.sha256(f"{email}\x1f{name}".encode()).hexdigest()[:16]
        async with self._client() as client:
            customer = await client.v1.customers.create_async(
                params={"email": email, "name": name, "metadata": {"enroll_customer": reference}},
                options={"idempotency_key": f"enroll-customer-{reference}-{digest}"},
            )
        return str(customer.id)

    async def create_setup(self, *, provider_customer_id: str, reference: str) -> Setup:
        async with self._client() as client:
            # The account's payment method settings decide what Elements offers; only cards
            # are stored (verify refuses others).
            params: SetupIntentCreateParams = {
                "customer": provider_customer_id,
                "usage": "off_session",
                "metadata": {"enroll_setup": reference},
            }
            intent = await client.v1.setup_intents.create_async(
                params=params,
                options={"idempotency_key": f"enroll-setup-{reference}"},
            )
        if not intent.client_secret:
            raise ProviderUnavailable("Stripe answered a SetupIntent without a client secret.")
        return Setup(setup_intent_id=str(intent.id), client_secret=intent.client_secret)

    async def verify(
        self,
        *,
        payment_method_id: str,
        provider_customer_id: str,
        setup_intent_ids: Sequence[str] = (),
    ) -> VerifiedMethod:
        async with self._client() as client:
            method = await _method(client, payment_method_id)
            setup = await _setup_of(
                client, payment_method_id, provider_customer_id, setup_intent_ids
            )
        _check_setup(setup, payment_method_id)
        if _id(method.get("customer")) != provider_customer_id:
            raise Unverified(
                "The payment method is not attached to this customer.", code="not_attached"
            )
        card = method.get("card")
        if method.get("type") != "card" or not isinstance(card, Mapping):
            raise Unverified("Only cards are accepted.", code="unsupported_payment_method")
        return VerifiedMethod(
            provider_method_id=str(method["id"]),
            brand=str(card.get("brand") or "unknown"),
            last4=str(card.get("last4") or ""),
            exp_month=int(card.get("exp_month") or 0),
            exp_year=int(card.get("exp_year") or 0),
        )

    def parse_event(self, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return parse_stripe_event(payload, headers, secret=self.webhook_secret)


async def _method(client: stripe.StripeClient, payment_method_id: str) -> dict[str, Any]:
    try:
        method = await client.v1.payment_methods.retrieve_async(payment_method_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404 or exc.code == "resource_missing":
            raise Unverified(str(exc.user_message or exc), code="resource_missing") from None
        raise
    return method.to_dict()


async def _setup_of(
    client: stripe.StripeClient,
    payment_method_id: str,
    provider_customer_id: str,
    setup_intent_ids: Sequence[str],
) -> dict[str, Any] | None:
    """The newest of our setups for the customer confirmed with this method, as it stands: the
    method is its ``payment_method`` (it succeeded, or waits for authentication) or the method
    of its ``last_setup_error`` (Stripe unsets a declined one)."""
    for setup_id in setup_intent_ids[:MAX_SETUPS]:
        try:
            intent = (await client.v1.setup_intents.retrieve_async(setup_id)).to_dict()
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                continue  # gone at the provider: not the one
            raise
        if _id(intent.get("customer")) != provider_customer_id:
            continue
        error = intent.get("last_setup_error") or {}
        if payment_method_id in (
            _id(intent.get("payment_method")),
            _id(error.get("payment_method")),
        ):
            return intent
    return None


def _check_setup(setup: dict[str, Any] | None, payment_method_id: str) -> None:
    if setup is None:
        raise Unverified(
            "No setup of this customer's was confirmed with this payment method: confirm a "
            "payment session's client secret with it first.",
            code="setup_missing",
        )
    status = setup.get("status")
    if status == SetupStatus.SUCCEEDED and _id(setup.get("payment_method")) == payment_method_id:
        return
    error = setup.get("last_setup_error")
    if isinstance(error, Mapping) and error.get("message"):
        code = error.get("decline_code") or error.get("code")
        raise Unverified(str(error["message"]), code=str(code) if code else None)
    if status == SetupStatus.REQUIRES_ACTION:
        raise Unverified(
            "The setup requires authentication (requires_action): the customer must complete "
            "3D Secure before the payment method can be used.",
            code="authentication_required",
        )
    raise Unverified(f"The setup did not succeed (its status is {status}).", code=str(status))
