"""The states of a stored payment method (payment/, docs/payments.md).

    payment method:  active ─detach─▶ detached ─(added again)─▶ active

A method is detached when the provider says so (its ``payment_method.detached`` event); adding
the same method again makes it active again.

``SetupStatus`` is the provider's: the states of a Stripe SetupIntent, which the Stripe
adapter reads (gateway/stripe_adapter.py) to tell a succeeded setup from a failed one.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentMethodStatus(StrEnum):
    ACTIVE = "active"
    DETACHED = "detached"


class SetupStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
