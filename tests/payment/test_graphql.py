"""The GraphQL doors of payment methods answer what REST answers, with the same refusals."""

from __future__ import annotations

from tests.support.graphql import data, error, gql, rest, same_as_rest
from tests.support.server import Tenant

METHOD = """id enrollmentId customerId provider providerMethodId brand last4 expMonth expYear
  status createdAt updatedAt detachedAt"""
SESSION = """mutation($e: ID!) {
  startPaymentSession(enrollmentId: $e) { provider clientSecret publishableKey } }"""
ADD = f"""mutation($e: ID!, $pm: String!) {{
  addPaymentMethod(enrollmentId: $e, paymentMethodId: $pm) {{ {METHOD} }} }}"""
LIST = f"query($e: ID!) {{ paymentMethods(enrollmentId: $e) {{ {METHOD} }} }}"


def test_payment_methods_over_graphql(tenant: Tenant) -> None:
    c = tenant.client
    enrollment = tenant.enroll(tenant.instance()["id"])
    e = enrollment["id"]
    error(gql(c, ADD, e=e, pm="pm_card_visa"), "payment_method_unverified", 422)
    session = data(gql(c, SESSION, e=e))["startPaymentSession"]
    assert session["provider"] == "sandbox" and session["publishableKey"] == "pk_test_sandbox"

    declined = error(gql(c, ADD, e=e, pm="pm_card_chargeDeclined"), "payment_method_unverified")
    assert declined["extensions"]["providerCode"] == "card_declined"
    assert declined["message"] == "Your card was declined."
    error(gql(c, ADD, e=e, pm="pm card"), "validation_error", 422)

    added = data(gql(c, ADD, e=e, pm="pm_card_visa"))["addPaymentMethod"]
    assert (added["brand"], added["last4"], added["status"]) == ("visa", "4242", "active")
    listed = data(gql(c, LIST, e=e))["paymentMethods"]
    assert listed == [added]
    (from_rest,) = rest(c, "GET", f"/v1/enrollments/{e}/paymentMethods")["data"]
    same_as_rest(added, from_rest)
    error(gql(c, LIST, e="nope"), "not_found", 404)
    error(gql(c, SESSION, e="nope"), "not_found", 404)
