"""What a payment provider adapter raises: plain exceptions of the platform, which the payment
domain turns into problems (payment/errors.py)."""

from __future__ import annotations


class GatewayError(Exception):
    """A provider's refusal or failure; ``reason`` is the provider's words."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Unverified(GatewayError):
    """The payment method cannot be used: unknown to the provider, not this customer's, or its
    setup did not succeed (declined, authentication required). ``code``: the provider's code
    (``card_declined``, ``authentication_required``, ``resource_missing``…) when it gives one."""


class ProviderUnavailable(GatewayError):
    """The provider could not be asked (a timeout, a network error, its own error, a key it
    refuses): nothing is known about the method, and the caller may retry."""


class BadSignature(GatewayError):
    """A provider event whose signature does not verify (or that cannot be read)."""
