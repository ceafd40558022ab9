"""The problems of payment methods."""

from __future__ import annotations

from enroll.errors import BadRequest, Conflict, ProblemError, Unprocessable


class PaymentMethodUnverified(Unprocessable):
    code, title = "payment_method_unverified", "Payment method unverified"
    description = (
        "the provider does not vouch for the payment method: unknown, not attached to the "
        "customer, no payment session started, or its setup declined or awaiting "
        "authentication (`detail`: the provider's reason, `providerCode`); nothing is stored "
        "or charged"
    )


class PaymentProviderUnavailable(ProblemError):
    status, code, title = 503, "payment_provider_unavailable", "Payment provider unavailable"
    description = (
        "the payment provider did not answer in time, could not be reached or failed "
        "(`detail` says which); nothing was stored: retry later"
    )


class PaymentCustomerMissing(Conflict):
    code, title = "payment_customer_missing", "No customer to pay"
    description = "a payment session or method for an enrollment that has no customer"


class InvalidProviderSignature(BadRequest):
    code, title = "invalid_provider_signature", "Invalid provider signature"
    description = (
        "a payment provider's event (`POST /v1/providers/stripe/events`) whose "
        "`Stripe-Signature` is missing, wrong or too old, or whose body cannot be read"
    )
