"""The problems of customers and leads."""

from __future__ import annotations

from enroll.errors import Conflict


class CustomerExists(Conflict):
    code = "customer_exists"
    description = "a customer with that email exists in the workspace"
