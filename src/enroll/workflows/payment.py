"""The states of a stored payment method (payment/, docs/payments.md).

    payment method:  active ─detach─▶ detached ─(added again)─▶ active

A method is detached when the provider says so (its ``payment_method.detached`` event); adding
the same method again makes it active again.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentMethodStatus(StrEnum):
    ACTIVE = "active"
    DETACHED = "detached"
