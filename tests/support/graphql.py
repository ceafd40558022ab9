"""GraphQL over real HTTP: the selections the tests read, a request and its answer's data or
error, REST beside it for comparison."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.helpers import uniq
from tests.support.server import Tenant

ADDRESS = "address { streetOne streetTwo city state postalCode country }"
ENROLLMENT = f"""
  id identificationType programInstanceId leadId customerId enrollmentId
  firstName lastName email phone {ADDRESS}
  manufacturerSlugs metadata meta serialNumber referenceId referenceDescription tags
  enrollmentStartDate status eligibilityStatus eligibilityReason
  eligibility {{ status reason programInstanceId checks criteriaVersion evaluatedAt }}
  needsReview needsReviewReason serviceLocationId planId planCode planCodeGiven startDate
  serviceActive serviceStartDate hasUsageHistory
  requirements {{ key kind label stage status detail updatedAt }}
  version createdAt updatedAt
"""
PROGRAM = """
  id slug name description type category states manufacturerSlugs active year metadata
  eligibilityCriteria version createdAt updatedAt
"""
INSTANCE = """
  id programId slug name description branding terms startDate endDate capacity reviewMode
  reenrollmentPolicy screening status metadata eligibilityCriteria setupWorkflow criteriaVersion
  timezone consentRequired requirements submitWhenComplete
  version createdAt updatedAt
"""
CUSTOMER = (
    f"id firstName lastName email phone {ADDRESS} metadata notificationsOptOut dateOfBirth "
    "taxIdLast4 maritalStatus studentStatus employmentStatus income irsAuthorizedAt "
    "billingAddress version createdAt updatedAt"
)
SERVICE_TASK = """
  id kind origin transactionId state errors { code message field } allowedOperations
  programInstanceId enrollmentId customerId subscriptionId deviceLocationId deviceIds
  setupActions { id taskId type sequence status attempts message result startedAt finishedAt }
  request expiresAt finishedAt version createdAt updatedAt
"""


# --- helpers --------------------------------------------------------------------------------


def gql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    """The body of a GraphQL request (always HTTP 200 with a JSON body)."""
    r = client.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body: dict[str, Any] = r.json()
    return body


def raw(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    """As gql, with what only Python's JSON writes: NaN."""
    content = json.dumps({"query": query, "variables": variables}, allow_nan=True)
    r = client.post("/graphql", content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def error(body: dict[str, Any], code: str, status: int | None = None) -> dict[str, Any]:
    """The only error of ``body``, checked to carry ``code`` (and ``status``) as REST does."""
    errors = body.get("errors")
    assert errors and len(errors) == 1, body
    (err,) = errors
    ext = err["extensions"]
    assert ext["code"] == code, err
    assert ext["type"] == f"urn:enroll:problem:{code}", err
    if status is not None:
        assert ext["status"] == status, err
    assert err["message"] and ext["title"], err
    return dict(err)


def fields_of(err: dict[str, Any]) -> list[str]:
    return [e["field"] for e in err["extensions"].get("errors", [])]


def person(**fields: Any) -> dict[str, Any]:
    n = uniq()
    return {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": f"Doe{n}",
        "email": f"pat.{n}@example.com",
        "address": {"state": "NY"},
        "manufacturerSlugs": ["tesla"],
    } | fields


def rest(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    r = client.request(method, path, **kwargs)
    assert r.is_success, r.text
    return r.json() if r.content else None


def same_as_rest(graphql: dict[str, Any], rest_body: dict[str, Any]) -> None:
    """Every REST field has the same value in the GraphQL answer (an address lists every
    field there, null where REST leaves it out)."""
    for key, value in rest_body.items():
        assert key in graphql, key
        got = graphql[key]
        if key == "address" and got is not None:
            got = {k: v for k, v in got.items() if v is not None}
        assert got == value, (key, got, value)


CREATE_ENROLLMENT = f"""
mutation($instance: ID!, $input: EnrollmentCreateInput!) {{
  createEnrollment(programInstanceId: $instance, input: $input) {{ {ENROLLMENT} }}
}}"""


def enroll(tenant: Tenant, instance: str, **fields: Any) -> dict[str, Any]:
    body = gql(tenant.client, CREATE_ENROLLMENT, instance=instance, input=person(**fields))
    created: dict[str, Any] = data(body)["createEnrollment"]
    return created


def act(
    tenant: Tenant, action: str, enrollment_id: str, reason: str | None = None
) -> dict[str, Any]:
    query = f"""mutation($id: ID!, $reason: String) {{
      {action}Enrollment(id: $id, reason: $reason) {{ {ENROLLMENT} history {{ action }} }}
    }}"""
    if action == "reject":
        query = query.replace("$reason: String)", "$reason: String!)")
    return gql(tenant.client, query, id=enrollment_id, reason=reason)
