"""The GraphQL doors of the resources beyond programs, instances, enrollments and events
(issue 13 item 28): each answers what the REST route answers for the same object, and
changes what REST then reads. Scopes and isolation are in test_isolation.py, the
REST ↔ GraphQL map in test_parity.py.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.graphql import ADDRESS, CUSTOMER, data, gql
from tests.support.helpers import uniq
from tests.support.server import Server, Tenant

LEAD = (
    f"id email firstName lastName phone {ADDRESS} metadata customerId convertedAt createdAt "
    "updatedAt"
)


def test_customers_and_leads_answer_as_rest(tenant: Tenant) -> None:
    c = tenant.client
    email = f"ada.{uniq()}@example.com"
    created = data(
        gql(
            c,
            f"""mutation($email: String!) {{ createCustomer(input: {{firstName: "Ada",
              lastName: "Lovelace", email: $email, address: {{state: "NY"}},
              metadata: {{tier: 1}}}}) {{ {CUSTOMER} }} }}""",
            email=email,
        )
    )["createCustomer"]
    rest = c.get(f"/v1/customers/{created['id']}").json()
    assert {k: v for k, v in created.items() if k != "address"} == {
        k: v for k, v in rest.items() if k != "address"
    }
    assert created["address"]["state"] == rest["address"]["state"] == "NY"

    updated = data(
        gql(
            c,
            """mutation($id: ID!) { updateCustomer(id: $id, input: {phone: "+15555550100",
              notificationsOptOut: true}) { id phone notificationsOptOut version } }""",
            id=created["id"],
        )
    )["updateCustomer"]
    rest = c.get(f"/v1/customers/{created['id']}").json()
    assert (rest["phone"], rest["notificationsOptOut"], rest["version"]) == (
        updated["phone"],
        True,
        updated["version"],
    )

    # Same email twice: REST's conflict code.
    again = gql(
        c,
        """mutation($email: String!) { createCustomer(input: {firstName: "A", lastName: "B",
          email: $email}) { id } }""",
        email=email,
    )
    rest_again = c.post(
        "/v1/customers", json={"firstName": "A", "lastName": "B", "email": email}
    ).json()
    assert again["errors"][0]["extensions"]["code"] == rest_again["code"]

    found = data(
        gql(
            c,
            "query($e: String) { customers(email: $e) { totalCount edges { node { id } } } }",
            e=email,
        )
    )["customers"]
    assert found["totalCount"] == 1 and found["edges"][0]["node"]["id"] == created["id"]
    one = data(gql(c, "query($id: ID!) { customer(id: $id) { id email } }", id=created["id"]))
    assert one["customer"] == {"id": created["id"], "email": email}

    lead = data(
        gql(
            c,
            f"mutation($email: String!) {{ createLead(input: {{email: $email}}) {{ {LEAD} }} }}",
            email=f"lee.{uniq()}@example.com",
        )
    )["createLead"]
    listed = c.get("/v1/leads", params={"email": lead["email"]}).json()["data"]
    assert listed == [lead]
    page = data(
        gql(c, "query($e: String) { leads(email: $e) { edges { node { id } } } }", e=lead["email"])
    )
    assert page["leads"]["edges"] == [{"node": {"id": lead["id"]}}]


def test_delete_enrollment_answers_its_id_and_rest_then_finds_nothing(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = tenant.enroll(instance["id"])
    body = data(gql(tenant.client, "mutation($id: ID!) { deleteEnrollment(id: $id) }", id=e["id"]))
    assert body == {"deleteEnrollment": e["id"]}
    assert tenant.client.get(f"/v1/enrollments/{e['id']}").status_code == 404
    again = gql(tenant.client, "mutation($id: ID!) { deleteEnrollment(id: $id) }", id=e["id"])
    assert again["data"] is None and again["errors"][0]["extensions"]["code"] == "not_found"


def test_api_keys_show_the_secret_once_and_revoke_at_once(server: Server, tenant: Tenant) -> None:
    c = tenant.client
    made = data(
        gql(
            c,
            """mutation { createApiKey(input: {name: "ci", scopes: ["customers:read"]}) {
              key { id name prefix scopes expiresAt revokedAt lastUsedAt createdAt }
              apiKey } }""",
        )
    )["createApiKey"]
    key, secret = made["key"], made["apiKey"]
    assert secret.startswith(key["prefix"]) and key["scopes"] == ["customers:read"]
    rest = [
        k
        for k in c.get("/v1/apiKeys", params={"perPage": 100}).json()["data"]
        if k["id"] == key["id"]
    ]
    assert rest == [key]
    # No field reads a secret afterwards: the type has none.
    fields = data(gql(c, '{ __type(name: "ApiKey") { fields { name } } }'))["__type"]["fields"]
    assert {"secret", "apiKey"}.isdisjoint(f["name"] for f in fields)
    listed = data(gql(c, "{ apiKeys(first: 100) { edges { node { id } } } }"))["apiKeys"]["edges"]
    assert {"node": {"id": key["id"]}} in listed

    with server.client(secret) as as_new:
        assert "errors" not in gql(as_new, "{ customers { totalCount } }")
        revoked = data(
            gql(c, "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }", id=key["id"])
        )["revokeApiKey"]
        assert revoked["revokedAt"] is not None
        after = gql(as_new, "{ customers { totalCount } }")
        assert after["errors"][0]["extensions"]["code"] == "unauthorized"

    # A key grants only scopes it holds (REST's rule and code).
    narrow = tenant.key_with("api_keys:manage")
    with server.client(narrow) as as_narrow:
        body = gql(
            as_narrow,
            'mutation { createApiKey(input: {name: "x", scopes: ["customers:write"]}) { apiKey } }',
        )
        rest_code = as_narrow.post(
            "/v1/apiKeys", json={"name": "x", "scopes": ["customers:write"]}
        ).json()["code"]
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == rest_code


def test_imports_and_jobs_read_as_rest(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    n = uniq()
    row = {"firstName": "Imp", "lastName": n, "email": f"imp.{n}@example.com"}
    r = c.post(
        f"/v1/programInstances/{instance['id']}/imports",
        content=json.dumps(row) + "\n",
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    tenant.server.drain()
    rest = c.get(f"/v1/imports/{r.json()['id']}").json()
    assert rest["status"] == "completed", rest
    query = """query($id: ID!) { import(id: $id) { id programInstanceId status format dryRun
      events evaluate counts { rows created duplicates invalid eligible ineligible }
      progress { bytesDone bytesTotal rowsDone fraction } error createdAt startedAt
      finishedAt } }"""
    got = data(gql(c, query, id=rest["id"]))["import"]
    assert got == rest | {
        "progress": {
            k: float(v) if k.startswith("bytes") else v for k, v in rest["progress"].items()
        }
    }

    # The import's job ended in the drain too: nothing moves now.
    jobs: list[dict[str, Any]] = c.get("/v1/jobs", params={"perPage": 100}).json()["data"]
    assert not any(j["status"] in ("queued", "running") for j in jobs), jobs
    page = data(
        gql(
            c,
            """{ jobs(first: 100) { totalCount edges { node { id kind payload status attempts
              maxAttempts runAt lastError finishedAt createdAt } } } }""",
        )
    )["jobs"]
    assert page["totalCount"] == len(jobs) and [e["node"] for e in page["edges"]] == jobs


def test_platform_keys_write_the_catalog(server: Server, tenant: Tenant, platform_key: str) -> None:
    slug = f"gql-{uniq()}"
    create = """mutation($slug: String!) { createProgram(input: {slug: $slug, name: "Battery",
      type: grid_services, states: ["NY"], year: 2026}) { id slug name type states year
      active version } }"""
    with server.client(platform_key) as platform:
        made = data(gql(platform, create, slug=slug))["createProgram"]
        changed = data(
            gql(
                platform,
                """mutation($id: ID!) { updateProgram(id: $id, input: {year: null,
                  states: ["NY", "NJ"]}) { id year states version } }""",
                id=slug,
            )
        )["updateProgram"]
        rest = platform.get(f"/v1/programs/{made['id']}").json()
    assert made["type"] == "grid_services" and made["slug"] == slug
    assert {k: rest[k] for k in changed} == changed and changed["year"] is None
    # A workspace key cannot, whatever it holds (REST: 403 insufficient_scope).
    refused = gql(tenant.client, create, slug=f"gql-{uniq()}")
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "insufficient_scope"


def test_notification_templates_and_log_answer_as_rest(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    made = data(
        gql(
            c,
            """mutation($i: ID!) { createNotificationTemplate(input: {programInstanceId: $i,
              audience: administrator, trigger: cancelled, recipients: ["ops@example.com"],
              subject: "Cancelled", body: "{{ enrollment.id }} was cancelled."}) {
              id programInstanceId audience trigger subject body recipients enabled version
              createdAt updatedAt } }""",
            i=instance["slug"],
        )
    )["createNotificationTemplate"]
    assert c.get(f"/v1/notificationTemplates/{made['id']}").json() == made
    # A template that does not render: REST's code.
    bad = gql(
        c,
        """mutation($i: ID!) { createNotificationTemplate(input: {programInstanceId: $i,
          audience: customer, trigger: approved, subject: "{{ x.y.z }", body: "b"}) { id } }""",
        i=instance["id"],
    )
    rest_bad = c.post(
        "/v1/notificationTemplates",
        json={
            "programInstanceId": instance["id"],
            "audience": "customer",
            "trigger": "approved",
            "subject": "{{ x.y.z }",
            "body": "b",
        },
    )
    assert rest_bad.status_code == 422
    assert bad["data"] is None
    assert bad["errors"][0]["extensions"]["code"] == rest_bad.json()["code"]

    e = tenant.enroll(instance["id"])
    assert c.post(f"/v1/enrollments/{e['id']}/cancel").status_code == 200
    rest = c.get("/v1/notifications", params={"enrollmentId": e["id"]}).json()["data"]
    page = data(
        gql(
            c,
            """query($e: ID) { notifications(enrollmentId: $e) { edges { node { id
              enrollmentId templateId audience trigger recipient subject } } } }""",
            e=e["id"],
        )
    )["notifications"]["edges"]
    assert [n["node"]["id"] for n in page] == [n["id"] for n in rest] and len(rest) == 1
    assert page[0]["node"]["templateId"] == made["id"]
    assert page[0]["node"]["subject"] == "Cancelled"
    one = data(gql(c, "query($id: ID!) { notification(id: $id) { id } }", id=rest[0]["id"]))
    assert one == {"notification": {"id": rest[0]["id"]}}

    changed = data(
        gql(
            c,
            """mutation($id: ID!) { updateNotificationTemplate(id: $id,
              input: {enabled: false}) { enabled version } }""",
            id=made["id"],
        )
    )["updateNotificationTemplate"]
    assert changed == {"enabled": False, "version": made["version"] + 1}
    gone = data(gql(c, "mutation($id: ID!) { deleteNotificationTemplate(id: $id) }", id=made["id"]))
    assert gone == {"deleteNotificationTemplate": made["id"]}
    assert c.get(f"/v1/notificationTemplates/{made['id']}").status_code == 404


def test_subscriptions_locations_and_devices_answer_as_rest(tenant: Tenant) -> None:
    c = tenant.client
    e = tenant.enroll(tenant.instance()["id"])
    for action in ("submit", "approve"):
        assert c.post(f"/v1/enrollments/{e['id']}/{action}").status_code == 200
    (sub,) = c.get("/v1/subscriptions", params={"enrollmentId": e["id"]}).json()["data"]
    got = data(
        gql(
            c,
            """query($e: ID, $id: ID!) {
              subscriptions(enrollmentId: $e) { edges { node { id enrollmentId
                programInstanceId customerId deviceLocationId status startAt endAt version
                createdAt updatedAt } } }
              subscription(id: $id) { id } }""",
            e=e["id"],
            id=sub["id"],
        )
    )
    assert [x["node"] for x in got["subscriptions"]["edges"]] == [sub]
    assert got["subscription"] == {"id": sub["id"]}
    location = c.get(f"/v1/deviceLocations/{sub['deviceLocationId']}").json()
    one = data(
        gql(
            c,
            "query($id: ID!) { deviceLocation(id: $id) { id customerId status premiseId } }",
            id=location["id"],
        )
    )["deviceLocation"]
    assert one == {k: location[k] for k in one}

    made = data(
        gql(
            c,
            """mutation($sn: String!) { createDevice(input: {type: "battery",
              manufacturer: "Tesla", serialNumber: $sn}) { id type manufacturer model
              serialNumber ownership status deviceLocationId subscriptionId metadata version
              createdAt updatedAt } }""",
            sn=uniq(),
        )
    )["createDevice"]
    assert made == c.get(f"/v1/devices/{made['id']}").json()
    assert made["manufacturer"] == "tesla" and made["status"] == "in_stock"
    listed = data(gql(c, '{ devices(status: "in_stock", first: 100) { edges { node { id } } } }'))[
        "devices"
    ]["edges"]
    assert {"node": {"id": made["id"]}} in listed
    bad = gql(c, '{ devices(status: "lost") { totalCount } }')
    rest_bad = c.get("/v1/devices", params={"status": "lost"})
    assert rest_bad.status_code == 422
    assert bad["errors"][0]["extensions"]["code"] == rest_bad.json()["code"]


def test_criteria_versions_answer_as_rest(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    rest = c.get(f"/v1/programInstances/{instance['id']}/criteriaVersions").json()["data"]
    got = data(
        gql(
            c,
            """query($i: ID!) {
              criteriaVersions(programInstanceId: $i) { edges { node { version criteria
                requirements createdAt } } }
              criteriaVersion(programInstanceId: $i, version: 1) { version criteria } }""",
            i=instance["slug"],
        )
    )
    assert [e["node"] for e in got["criteriaVersions"]["edges"]] == rest and rest
    assert got["criteriaVersion"] == {k: rest[0][k] for k in ("version", "criteria")}
    missing = gql(
        c,
        "query($i: ID!) { criteriaVersion(programInstanceId: $i, version: 99) { version } }",
        i=instance["id"],
    )
    rest_missing = c.get(f"/v1/programInstances/{instance['id']}/criteriaVersions/99")
    assert missing["errors"][0]["extensions"]["code"] == rest_missing.json()["code"]


def test_delete_program_instance_as_rest(tenant: Tenant) -> None:
    c = tenant.client
    empty, used = tenant.instance(), tenant.instance()
    tenant.enroll(used["id"])
    query = "mutation($id: ID!) { deleteProgramInstance(id: $id) }"
    assert data(gql(c, query, id=empty["slug"])) == {"deleteProgramInstance": empty["slug"]}
    assert c.get(f"/v1/programInstances/{empty['id']}").status_code == 404
    refused = gql(c, query, id=used["id"])
    rest = c.delete(f"/v1/programInstances/{used['id']}")
    assert rest.status_code == 409
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == rest.json()["code"]
