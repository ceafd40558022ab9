"""The errors of webhook endpoints and deliveries (webhook/service.py)."""

from __future__ import annotations

from enroll.errors import Conflict, Unprocessable


class DeliverySucceeded(Conflict):
    code = "delivery_succeeded"
    description = "retrying a webhook delivery that succeeded"


class UrlRefused(Unprocessable):
    code = "url_refused"
    description = (
        "a webhook URL that is not https, or points at a non-public or cloud metadata address"
        " (webhooks.md)"
    )
