"""Stripe's signed events (webhooks), read the way Stripe documents: the ``Stripe-Signature``
header's ``t=<time>,v1=<HMAC-SHA256 of "<time>.<body>">`` checked by the SDK
(``stripe.Webhook.construct_event``, which also refuses a time more than five minutes off)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from enroll.gateway.base import GatewayEvent
from enroll.gateway.errors import BadSignature

SIGNATURE_HEADER = "Stripe-Signature"


def parse_stripe_event(
    payload: bytes, headers: Mapping[str, str], *, secret: str | None
) -> GatewayEvent:
    signature = _header(headers, SIGNATURE_HEADER)
    if not secret:
        raise BadSignature("No webhook secret is configured (ENROLL_STRIPE_WEBHOOK_SECRET).")
    if not signature:
        raise BadSignature(f"The {SIGNATURE_HEADER} header is missing.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(f"The signature does not verify: {exc.user_message or exc}") from None
    except ValueError:  # the body is not JSON
        raise BadSignature("The event body is not JSON.") from None
    return _event(event.to_dict())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _id(value: Any) -> str | None:
    """An id, whether the event carries the object expanded or by id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _event(body: Mapping[str, Any]) -> GatewayEvent:
    kind = body.get("type")
    data = body.get("data")
    if not isinstance(kind, str) or not isinstance(data, Mapping):
        raise BadSignature("The event has no type or data.")
    obj = data.get("object")
    obj = obj if isinstance(obj, Mapping) else {}
    previous = data.get("previous_attributes")
    previous = previous if isinstance(previous, Mapping) else {}
    if obj.get("object") == "setup_intent":
        return GatewayEvent(
            type=kind,
            setup_intent_id=_id(obj.get("id")),
            payment_method_id=_id(obj.get("payment_method")),
            provider_customer_id=_id(obj.get("customer")),
        )
    if obj.get("object") == "payment_method":
        return GatewayEvent(
            type=kind,
            payment_method_id=_id(obj.get("id")),
            # Once detached, the method names no customer: the event's previous attributes do.
            provider_customer_id=_id(obj.get("customer")) or _id(previous.get("customer")),
        )
    return GatewayEvent(type=kind)
