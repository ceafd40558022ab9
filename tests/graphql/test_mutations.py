"""GraphQL mutations over real HTTP against the REST answers for the same objects: instances,
enrollments of every identification type, refusals, every transition, updates, decisions.
"""

from __future__ import annotations

from tests.support.graphql import (
    CREATE_ENROLLMENT,
    ENROLLMENT,
    INSTANCE,
    SERVICE_TASK,
    act,
    data,
    enroll,
    error,
    fields_of,
    gql,
    person,
    raw,
    rest,
    same_as_rest,
)
from tests.support.helpers import uniq
from tests.support.server import Tenant

# --- mutations ------------------------------------------------------------------------------

CREATE_INSTANCE = f"""mutation($input: ProgramInstanceCreateInput!) {{
  createProgramInstance(input: $input) {{ {INSTANCE} program {{ slug }} }} }}"""
UPDATE_INSTANCE = f"""mutation($id: ID!, $input: ProgramInstanceUpdateInput!) {{
  updateProgramInstance(id: $id, input: $input) {{ {INSTANCE} }} }}"""


def test_create_and_update_program_instance(tenant: Tenant) -> None:
    c = tenant.client
    slug = f"gq-{uniq()}"
    made = data(
        gql(
            c,
            CREATE_INSTANCE,
            input={
                "programSlug": "core-test-program",
                "slug": slug,
                "name": "GraphQL instance",
                "startDate": "2020-01-01",
                "capacity": 10,
                "branding": {"logoUrl": "https://example.com/logo.png"},
                "metadata": {"k": "v"},
            },
        )
    )["createProgramInstance"]
    assert made["status"] == "draft" and made["slug"] == slug and made["capacity"] == 10
    assert made["program"] == {"slug": "core-test-program"}
    same_as_rest(made, rest(c, "GET", f"/v1/programInstances/{made['id']}"))

    active = data(gql(c, UPDATE_INSTANCE, id=slug, input={"status": "active", "capacity": None}))
    assert active["updateProgramInstance"]["status"] == "active"
    assert active["updateProgramInstance"]["capacity"] is None
    assert rest(c, "GET", f"/v1/programInstances/{slug}")["status"] == "active"

    back = gql(c, UPDATE_INSTANCE, id=made["id"], input={"status": "draft"})
    err = error(back, "invalid_transition", 409)
    assert err["extensions"]["currentStatus"] == "active"
    assert err["extensions"]["allowedStatuses"] == ["closed", "paused"]
    assert back["data"] is None

    taken = gql(
        c,
        CREATE_INSTANCE,
        input={"programSlug": "core-test-program", "slug": slug, "name": "Again"},
    )
    error(taken, "slug_taken", 409)
    bad = gql(
        c,
        CREATE_INSTANCE,
        input={
            "programSlug": "core-test-program",
            "slug": "Not A Slug",
            "name": "",
            "status": "paused",
        },
    )
    assert sorted(fields_of(error(bad, "validation_error", 422))) == ["name", "slug", "status"]
    both = gql(c, CREATE_INSTANCE, input={"slug": f"gq-{uniq()}", "name": "N"})
    error(both, "validation_error", 422)  # neither programId nor programSlug
    error(
        gql(
            c,
            CREATE_INSTANCE,
            input={"programSlug": "no-such", "slug": f"gq-{uniq()}", "name": "N"},
        ),
        "not_found",
        404,
    )
    nul = gql(c, UPDATE_INSTANCE, id=made["id"], input={"name": "a\x00b"})
    assert fields_of(error(nul, "validation_error", 422)) == ["name"]
    assert (
        rest(c, "GET", f"/v1/programInstances/{made['id']}")["version"]
        == active["updateProgramInstance"]["version"]
    )


def test_create_enrollment_every_identification_type(tenant: Tenant) -> None:
    c = tenant.client
    first, second = tenant.instance(), tenant.instance()
    info = enroll(tenant, first["id"], phone="+15550000000", serialNumber="SN-9", tags=["x"])
    assert info["identificationType"] == "customerInfo"
    assert info["status"] == info["eligibility"]["status"] == "eligible"
    assert info["eligibility"]["checks"][0]["id"] == "instance-accepting"
    same_as_rest(info, rest(c, "GET", f"/v1/enrollments/{info['id']}"))

    by_customer = data(
        gql(
            c,
            CREATE_ENROLLMENT,
            instance=second["slug"],
            input={"identificationType": "customerId", "customerId": info["customerId"]},
        )
    )["createEnrollment"]
    assert by_customer["customerId"] == info["customerId"]
    assert (
        by_customer["email"] == info["email"] and by_customer["programInstanceId"] == second["id"]
    )

    lead = rest(
        c,
        "POST",
        "/v1/leads",
        json={"email": f"lee.{uniq()}@example.com", "firstName": "Lee", "lastName": "Lead"},
    )
    by_lead = data(
        gql(
            c,
            CREATE_ENROLLMENT,
            instance=first["id"],
            input={
                "identificationType": "leadId",
                "leadId": lead["id"],
                "address": {"state": "NJ"},
                "manufacturerSlugs": ["enphase"],
            },
        )
    )["createEnrollment"]
    assert by_lead["leadId"] == lead["id"] and by_lead["firstName"] == "Lee"
    assert by_lead["status"] == "eligible" and by_lead["customerId"]

    third = tenant.instance()
    copy = data(
        gql(
            c,
            CREATE_ENROLLMENT,
            instance=third["id"],
            input={"identificationType": "enrollmentId", "enrollmentId": info["id"]},
        )
    )["createEnrollment"]
    assert copy["enrollmentId"] == info["id"] and copy["serialNumber"] == "SN-9"
    source = gql(
        c, "query($id: ID!) { enrollment(id: $id) { sourceEnrollment { id } } }", id=copy["id"]
    )
    assert data(source)["enrollment"]["sourceEnrollment"] == {"id": info["id"]}

    again = gql(
        c,
        CREATE_ENROLLMENT,
        instance=first["id"],
        input={"identificationType": "customerId", "customerId": info["customerId"]},
    )
    err = error(again, "enrollment_exists", 409)
    assert err["extensions"]["enrollmentId"] == info["id"]
    outside = enroll(tenant, first["id"], address={"state": "TX"})
    assert outside["status"] == "ineligible"
    assert outside["eligibilityReason"] == "Outside service area"


def test_create_enrollment_refusals(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    missing = gql(
        c,
        CREATE_ENROLLMENT,
        instance=instance["id"],
        input={"identificationType": "customerInfo", "firstName": "A"},
    )
    assert sorted(fields_of(error(missing, "validation_error", 422))) == ["email", "lastName"]
    mixed = gql(c, CREATE_ENROLLMENT, instance=instance["id"], input=person(leadId="x"))
    assert fields_of(error(mixed, "validation_error", 422)) == ["leadId"]
    bad_email = gql(c, CREATE_ENROLLMENT, instance=instance["id"], input=person(email="nope"))
    assert fields_of(error(bad_email, "validation_error", 422)) == ["email"]
    nan = raw(
        c, CREATE_ENROLLMENT, instance=instance["id"], input=person(metadata={"x": float("nan")})
    )
    assert fields_of(error(nan, "validation_error", 422)) == ["metadata"]
    unknown_field = gql(c, CREATE_ENROLLMENT, instance=instance["id"], input=person(shoeSize=42))
    error(unknown_field, "validation_error", 422)
    unknown_type = gql(
        c, CREATE_ENROLLMENT, instance=instance["id"], input=person(identificationType="dna")
    )
    error(unknown_type, "validation_error", 422)
    lead_less = rest(c, "POST", "/v1/leads", json={"email": f"x.{uniq()}@example.com"})
    incomplete = gql(
        c,
        CREATE_ENROLLMENT,
        instance=instance["id"],
        input={"identificationType": "leadId", "leadId": lead_less["id"]},
    )
    assert sorted(fields_of(error(incomplete, "lead_incomplete", 409))) == ["firstName", "lastName"]
    draft = tenant.instance(status="draft")
    closed = gql(c, CREATE_ENROLLMENT, instance=draft["id"], input=person())
    assert "draft" in error(closed, "instance_not_accepting", 409)["message"]
    assert rest(c, "GET", "/v1/enrollments")["totalItems"] == 0


def test_every_transition(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = enroll(tenant, instance["id"])
    submitted = data(act(tenant, "submit", e["id"], "Customer signed"))["submitEnrollment"]
    assert submitted["status"] == "submitted"
    approved = data(act(tenant, "approve", e["id"]))["approveEnrollment"]
    assert approved["status"] == "approved"
    assert approved["enrollmentStartDate"]  # the setup task ran, as the REST route runs it
    subscriptions = rest(
        tenant.client, "GET", "/v1/subscriptions", params={"enrollmentId": e["id"]}
    )["data"]
    assert [s["status"] for s in subscriptions] == ["active"]

    twice = act(tenant, "approve", e["id"])
    err = error(twice, "invalid_transition", 409)
    assert err["extensions"]["currentStatus"] == "approved"
    assert err["extensions"]["allowedActions"] == ["unenroll"]
    assert err["path"] == ["approveEnrollment"] and twice["data"] is None

    unenroll = f"""mutation($id: ID!, $input: UnenrollInput!) {{
      unenrollEnrollment(id: $id, input: $input) {{
        enrollment {{ {ENROLLMENT} }} serviceTask {{ {SERVICE_TASK} }} }} }}"""
    out = data(gql(tenant.client, unenroll, id=e["id"], input={"reason": "Moved out"}))[
        "unenrollEnrollment"
    ]
    assert out["enrollment"]["status"] == "unenrolled"
    assert out["enrollment"]["metadata"] == {"exitReason": "Moved out"}
    assert (
        out["serviceTask"]["kind"] == "unenrollment" and out["serviceTask"]["state"] == "completed"
    )
    same_as_rest(out["enrollment"], rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}"))
    same_as_rest(
        out["serviceTask"],
        rest(tenant.client, "GET", f"/v1/serviceTasks/{out['serviceTask']['id']}"),
    )
    history = rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}/history")["data"]
    assert [h["action"] for h in history] == ["create", "evaluate", "submit", "approve", "unenroll"]

    r = enroll(tenant, instance["id"])
    data(act(tenant, "submit", r["id"]))
    error(act(tenant, "reject", r["id"], ""), "validation_error", 422)
    missing_reason = gql(
        tenant.client, "mutation($id: ID!) { rejectEnrollment(id: $id) { id } }", id=r["id"]
    )
    error(missing_reason, "validation_error", 422)
    rejected = data(act(tenant, "reject", r["id"], "Failed verification"))["rejectEnrollment"]
    assert (
        rejected["status"] == "rejected" and rejected["eligibilityReason"] == "Failed verification"
    )
    # Rejected reopens only under new criteria (issue 13, item 23).
    error(act(tenant, "reevaluate", r["id"]), "criteria_unchanged", 409)
    rest(
        tenant.client,
        "PATCH",
        f"/v1/programInstances/{instance['id']}",
        json={"eligibilityCriteria": [{"id": "any", "reason": "Any", "rule": True}]},
    )
    reopened = data(act(tenant, "reevaluate", r["id"]))["reevaluateEnrollment"]
    assert reopened["status"] == "eligible"
    assert [h["action"] for h in reopened["history"]][-1] == "reevaluate"
    cancelled = data(act(tenant, "cancel", r["id"], "Changed mind"))["cancelEnrollment"]
    assert cancelled["status"] == "cancelled" and cancelled["eligibilityReason"] == "Changed mind"
    error(act(tenant, "submit", r["id"]), "invalid_transition", 409)
    error(act(tenant, "submit", "c" + uniq()), "not_found", 404)


def test_unenroll_with_a_setup_workflow_answers_the_running_task(tenant: Tenant) -> None:
    instance = tenant.instance(
        setupWorkflow={"unenrollReasons": [{"code": "REVIEW", "requiresApproval": True}]}
    )
    e = enroll(tenant, instance["id"])
    data(act(tenant, "submit", e["id"]))
    data(act(tenant, "approve", e["id"]))
    query = """mutation($id: ID!, $input: UnenrollInput!) {
      unenrollEnrollment(id: $id, input: $input) {
        enrollment { status } serviceTask { kind state enrollmentId } } }"""
    tenant.server.drain()
    started = rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}")["enrollmentStartDate"]
    assert started is not None, "the setup task did not complete"
    bad = gql(
        tenant.client, query, id=e["id"], input={"reason": "REVIEW", "removalMethod": "teleport"}
    )
    error(bad, "validation_error", 422)
    out = data(gql(tenant.client, query, id=e["id"], input={"reason": "REVIEW"}))[
        "unenrollEnrollment"
    ]
    assert out["enrollment"]["status"] == "approved"  # REST answers 202 with the task here
    assert out["serviceTask"]["kind"] == "unenrollment"
    assert out["serviceTask"]["state"] not in ("completed", "canceled", "discarded")
    assert out["serviceTask"]["enrollmentId"] == e["id"]


def test_update_enrollment(tenant: Tenant) -> None:
    e = enroll(tenant, tenant.instance()["id"])
    query = f"""mutation($id: ID!, $input: EnrollmentUpdateInput!) {{
      updateEnrollment(id: $id, input: $input) {{ {ENROLLMENT} }} }}"""
    out = data(
        gql(
            tenant.client,
            query,
            id=e["id"],
            input={"address": {"state": "TX", "city": "Austin"}, "phone": None, "tags": ["moved"]},
        )
    )
    updated = out["updateEnrollment"]
    assert updated["address"]["state"] == "TX" and updated["tags"] == ["moved"]
    assert updated["version"] == e["version"] + 1
    same_as_rest(updated, rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}"))
    nulled = gql(tenant.client, query, id=e["id"], input={"email": None})
    assert fields_of(error(nulled, "validation_error", 422)) == ["email"]
    reevaluated = data(act(tenant, "reevaluate", e["id"]))["reevaluateEnrollment"]
    assert reevaluated["status"] == "ineligible"


def test_decide_enrollment_as_rest_does(tenant: Tenant) -> None:
    """Issue 13, item 21: a person screens through GraphQL too."""
    instance = tenant.instance(screening="manual")
    e = enroll(tenant, instance["id"])
    assert e["status"] == "candidate"
    doc = """mutation($id: ID!, $reason: String!) {
      decideEnrollment(id: $id, status: eligible, reason: $reason) { id status eligibilityReason }
    }"""
    error(gql(tenant.client, doc, id=e["id"], reason=""), "validation_error", 422)
    decided = data(gql(tenant.client, doc, id=e["id"], reason="Verified"))["decideEnrollment"]
    assert (decided["status"], decided["eligibilityReason"]) == ("eligible", "Verified")
    error(gql(tenant.client, doc, id=e["id"], reason="Again"), "invalid_transition", 409)
    history = rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}/history")["data"]
    assert [(h["action"], h["reason"]) for h in history][-1] == ("decide", "Verified")
