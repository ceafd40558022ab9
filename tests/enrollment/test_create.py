"""Creating an enrollment over real HTTP: the four identification types, the seed's example,
bad input, an instance addressed by its slug. Every refused request is followed by a check that
nothing changed.
"""

from __future__ import annotations

from tests.support.enrollments import (
    ENROLLMENT_KEYS,
    NY_ADDRESS,
    create,
    fields_of,
    get,
    ok,
    page_ids,
    person,
    problem,
    state,
)
from tests.support.server import Tenant

# --- 1. create with every identificationType ------------------------------------------------------


def test_customer_info_requires_names_and_email(tenant: Tenant) -> None:
    instance = tenant.instance()
    before = state(tenant)
    body = problem(
        create(tenant, instance["id"], {"identificationType": "customerInfo"}),
        422,
        "validation_error",
    )
    assert fields_of(body) == ["firstName", "lastName", "email"]
    assert all(
        e["message"] == "Required with identificationType customerInfo." for e in body["errors"]
    )
    body = problem(
        create(tenant, instance["id"], person(lastName=None) | {"email": None}),
        422,
        "validation_error",
    )
    assert fields_of(body) == ["lastName", "email"]
    partial = person()
    del partial["firstName"]
    assert fields_of(problem(create(tenant, instance["id"], partial), 422, "validation_error")) == [
        "firstName"
    ]
    assert (
        state(tenant) == before == {"enrollments": [], "history": {}, "customers": [], "leads": []}
    )


def test_customer_info_creates_customer_reused_across_instances(tenant: Tenant) -> None:
    first, second = tenant.instance(), tenant.instance()
    body = person(email="Casey.Mixed@Example.COM", phone="+15550001111")
    a = ok(create(tenant, first["id"], body), 201)
    assert a["identificationType"] == "customerInfo"
    assert a["email"] == "casey.mixed@example.com"
    assert a["leadId"] is None and a["enrollmentId"] is None
    customers = ok(tenant.client.get("/v1/customers"))["data"]
    assert len(customers) == 1
    customer = customers[0]
    assert customer["id"] == a["customerId"]
    assert (customer["firstName"], customer["lastName"], customer["email"], customer["phone"]) == (
        "Pat",
        body["lastName"],
        "casey.mixed@example.com",
        "+15550001111",
    )
    assert customer["address"] == {"state": "NY"}

    b = ok(create(tenant, second["id"], body | {"email": "casey.mixed@example.com"}), 201)
    assert b["customerId"] == a["customerId"]
    assert b["id"] != a["id"]
    assert b["programInstanceId"] == second["id"]
    assert len(ok(tenant.client.get("/v1/customers"))["data"]) == 1


def test_customer_id_takes_person_from_customer(tenant: Tenant) -> None:
    instance = tenant.instance()
    address = {
        "streetOne": "5 Elm St",
        "streetTwo": None,
        "city": "Newark",
        "state": "NJ",
        "postalCode": "07102",
        "country": "USA",
    }
    customer = ok(
        tenant.client.post(
            "/v1/customers",
            json={
                "firstName": "Robin",
                "lastName": "Banks",
                "email": "robin@example.com",
                "phone": "+15551234567",
                "address": address,
            },
        ),
        201,
    )
    e = ok(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "customerId",
                "customerId": customer["id"],
                "manufacturerSlugs": ["enphase"],
            },
        ),
        201,
    )
    assert e["identificationType"] == "customerId"
    assert e["customerId"] == customer["id"]
    assert (e["firstName"], e["lastName"], e["email"], e["phone"]) == (
        "Robin",
        "Banks",
        "robin@example.com",
        "+15551234567",
    )
    assert e["address"] == customer["address"] == address
    assert e["status"] == "eligible"
    assert e["eligibilityReason"] == (
        "Program accepting enrollments; In service territory; Has supported equipment"
    )
    assert len(ok(tenant.client.get("/v1/customers"))["data"]) == 1


def test_customer_id_unknown_or_other_workspace_is_404(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    instance = tenant.instance()
    foreign = ok(
        other_tenant.client.post(
            "/v1/customers", json={"firstName": "A", "lastName": "B", "email": "ab@example.com"}
        ),
        201,
    )
    before = state(tenant)
    for ref in ("c" + "0" * 24, foreign["id"]):
        problem(
            create(tenant, instance["id"], {"identificationType": "customerId", "customerId": ref}),
            404,
            "not_found",
        )
    assert state(tenant) == before


def test_lead_id_needs_names_then_converts(tenant: Tenant) -> None:
    instance = tenant.instance()
    lead = ok(tenant.client.post("/v1/leads", json={"email": "Lee.Lead@example.com"}), 201)
    assert lead["customerId"] is None and lead["convertedAt"] is None
    before = state(tenant)
    refused = problem(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "leadId",
                "leadId": lead["id"],
                "address": {"state": "NY"},
                "manufacturerSlugs": ["tesla"],
            },
        ),
        409,
        "lead_incomplete",
    )
    assert fields_of(refused) == ["firstName", "lastName"]
    assert state(tenant) == before

    e = ok(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "leadId",
                "leadId": lead["id"],
                "firstName": "Lee",
                "lastName": "Lead",
                "address": {"state": "NY"},
                "manufacturerSlugs": ["tesla"],
            },
        ),
        201,
    )
    assert e["identificationType"] == "leadId"
    assert e["leadId"] == lead["id"]
    assert (e["firstName"], e["lastName"], e["email"]) == ("Lee", "Lead", "lee.lead@example.com")
    assert e["address"] == {"state": "NY"}
    assert e["status"] == "eligible"
    customers = ok(tenant.client.get("/v1/customers"))["data"]
    assert [c["id"] for c in customers] == [e["customerId"]]
    assert customers[0]["email"] == "lee.lead@example.com"
    leads = ok(tenant.client.get("/v1/leads"))["data"]
    assert len(leads) == 1
    assert leads[0]["customerId"] == e["customerId"]
    assert leads[0]["convertedAt"] is not None


def test_lead_with_details_enrolls_with_lead_data(tenant: Tenant) -> None:
    instance = tenant.instance()
    lead = ok(
        tenant.client.post(
            "/v1/leads",
            json={
                "email": "full@example.com",
                "firstName": "Full",
                "lastName": "Lead",
                "phone": "+15550000000",
                "address": {"state": "NJ"},
            },
        ),
        201,
    )
    e = ok(
        create(
            tenant,
            instance["id"],
            {"identificationType": "leadId", "leadId": lead["id"], "manufacturerSlugs": ["tesla"]},
        ),
        201,
    )
    assert (e["firstName"], e["lastName"], e["email"], e["phone"]) == (
        "Full",
        "Lead",
        "full@example.com",
        "+15550000000",
    )
    assert e["address"]["state"] == "NJ"
    assert e["status"] == "eligible"
    problem(
        create(tenant, instance["id"], {"identificationType": "leadId", "leadId": "c" + "1" * 24}),
        404,
        "not_found",
    )


def test_enrollment_id_re_enrolls_into_another_instance(tenant: Tenant) -> None:
    first, second = tenant.instance(), tenant.instance()
    source = ok(
        create(
            tenant,
            first["id"],
            person(
                phone="+15557654321",
                address=NY_ADDRESS,
                manufacturerSlugs=["tesla", "enphase"],
                metadata={"year": 2025},
                serialNumber="SN-1",
                referenceId="REF-1",
                referenceDescription="Tesla Grid Services id.",
                tags=["t1"],
            ),
        ),
        201,
    )
    copy = ok(
        create(
            tenant,
            second["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"]},
        ),
        201,
    )
    assert copy["id"] != source["id"]
    assert copy["identificationType"] == "enrollmentId"
    assert copy["enrollmentId"] == source["id"]
    assert copy["programInstanceId"] == second["id"]
    for key in (
        "customerId",
        "leadId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "address",
        "manufacturerSlugs",
        "metadata",
        "meta",
        "serialNumber",
        "referenceId",
        "referenceDescription",
        "tags",
    ):
        assert copy[key] == source[key], key
    assert copy["status"] == "eligible"
    assert copy["enrollmentStartDate"] is None
    # Fields sent alongside override the copied ones.
    third = tenant.instance()
    override = ok(
        create(
            tenant,
            third["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"], "tags": ["2026"]},
        ),
        201,
    )
    assert override["tags"] == ["2026"]
    assert override["serialNumber"] == "SN-1"
    # The source's own instance: that enrollment itself (re-evaluated), no copy.
    before = state(tenant)
    same = ok(
        create(
            tenant,
            first["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"]},
        ),
        200,
    )
    assert (same["id"], same["status"]) == (source["id"], source["status"])
    before = state(tenant)
    problem(
        create(
            tenant,
            third["id"],
            {"identificationType": "enrollmentId", "enrollmentId": "c" + "2" * 24},
        ),
        404,
        "not_found",
    )
    assert state(tenant) == before


def test_mismatched_identification_fields_are_422(tenant: Tenant) -> None:
    instance = tenant.instance()
    before = state(tenant)
    cid = "c" + "3" * 24
    cases = [
        (person(customerId=cid), ["customerId"]),
        (person(leadId=cid, enrollmentId=cid), ["leadId", "enrollmentId"]),
        ({"identificationType": "customerId"}, ["customerId"]),
        ({"identificationType": "customerId", "leadId": cid}, ["leadId", "customerId"]),
        ({"identificationType": "leadId", "customerId": cid}, ["customerId", "leadId"]),
        ({"identificationType": "enrollmentId"}, ["enrollmentId"]),
    ]
    for body, expected in cases:
        refused = problem(create(tenant, instance["id"], body), 422, "validation_error")
        assert fields_of(refused) == expected, body
    refused = problem(
        create(tenant, instance["id"], person(customerId=cid)), 422, "validation_error"
    )
    assert refused["errors"] == [
        {"field": "customerId", "message": "Only allowed with identificationType customerId."}
    ]
    assert state(tenant) == before


# --- 2. the seed's example ------------------------------------------------------------------------


def test_seed_example_matches_sample_response_shape(tenant: Tenant) -> None:
    instance = tenant.instance()
    address = {
        "streetOne": "123 Main St",
        "streetTwo": "Apt 4B",
        "city": "New York",
        "state": "NY",
        "postalCode": "10001",
        "country": "USA",
    }
    r = create(
        tenant,
        instance["id"],
        {
            "identificationType": "customerInfo",
            "firstName": "Suzie",
            "lastName": "Homeowner",
            "email": "suzie.homeowner@example.com",
            "phone": "+1234567890",
            "address": address,
            "manufacturerSlugs": ["tesla", "enphase"],
            "serialNumber": "1234567890",
            "referenceId": "1234567890",
            "referenceDescription": "Tesla Grid Services id.",
            "tags": ["tag1", "tag2"],
        },
    )
    body = ok(r, 201)
    assert r.headers["location"] == f"/v1/enrollments/{body['id']}"
    sample_keys = {
        "id",
        "leadId",
        "customerId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "manufacturerSlugs",
        "meta",
        "serialNumber",
        "referenceId",
        "referenceDescription",
        "programInstanceId",
        "enrollmentStartDate",
        "tags",
        "address",
        "eligibility",
    }
    assert sample_keys <= set(body)
    assert set(body) == ENROLLMENT_KEYS
    assert len(body["id"]) == 25 and body["id"].startswith("c")
    assert body["leadId"] is None
    assert body["customerId"] is not None
    assert (body["firstName"], body["lastName"], body["email"], body["phone"]) == (
        "Suzie",
        "Homeowner",
        "suzie.homeowner@example.com",
        "+1234567890",
    )
    assert body["manufacturerSlugs"] == ["tesla", "enphase"]
    assert body["meta"] == body["metadata"] == {}
    assert (body["serialNumber"], body["referenceId"], body["referenceDescription"]) == (
        "1234567890",
        "1234567890",
        "Tesla Grid Services id.",
    )
    assert body["programInstanceId"] == instance["id"]
    assert body["enrollmentStartDate"] is None
    assert body["tags"] == ["tag1", "tag2"]
    assert body["address"] == address
    assert set(body["eligibility"]) == {
        "status",
        "reason",
        "programInstanceId",
        "checks",
        "criteriaVersion",
        "evaluatedAt",
    }
    reason = "Program accepting enrollments; In service territory; Has supported equipment"
    assert body["eligibility"]["status"] == "eligible"
    assert body["eligibility"]["reason"] == reason
    assert body["eligibility"]["programInstanceId"] == instance["id"]
    assert body["status"] == body["eligibilityStatus"] == "eligible"
    assert body["eligibilityReason"] == reason
    assert isinstance(body["version"], int) and body["version"] >= 1
    assert get(tenant, body["id"]) == body


# --- 11. bad input on create ----------------------------------------------------------------------


def test_create_refuses_bad_input(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    before = state(tenant)

    r = tenant.client.post(
        url, content=b'{"identificationType": ', headers={"Content-Type": "application/json"}
    )
    body = problem(r, 400, "malformed_json")
    assert body["instance"] == url

    for payload, field in (
        (person(tags="x"), "tags"),
        (person(tags=[1]), "tags.0"),
        (person(manufacturerSlugs="tesla"), "manufacturerSlugs"),
        (person(metadata=[1]), "metadata"),
        (person(address="NY"), "address"),
        (person(address={"state": "NY", "zip": "1"}), "address.zip"),
        (person(email="nope"), "email"),
        (person(identificationType="phoneNumber"), "identificationType"),
        (person(favoriteColor="blue"), "favoriteColor"),
        (person(tags=["t"] * 101), "tags"),
    ):
        refused = problem(tenant.client.post(url, json=payload), 422, "validation_error")
        assert fields_of(refused) == [field], payload
    refused = problem(
        tenant.client.post(url, json=person(favoriteColor="blue")), 422, "validation_error"
    )
    assert refused["errors"] == [{"field": "favoriteColor", "message": "Unknown field."}]
    missing = person()
    del missing["identificationType"]
    refused = problem(tenant.client.post(url, json=missing), 422, "validation_error")
    assert refused["errors"] == [{"field": "identificationType", "message": "Field required."}]
    problem(tenant.client.post(url, json=["not", "an", "object"]), 422, "validation_error")

    big = person(referenceDescription="x" * (1024 * 1024))
    problem(tenant.client.post(url, json=big), 413, "payload_too_large")
    chunks = (b" " * 65536 for _ in range(20))
    problem(
        tenant.client.post(url, content=chunks, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )

    with tenant.server.client() as anonymous:
        r = anonymous.post(url, json=person())
        problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
    with tenant.server.client("not-a-real-key") as stranger:
        problem(stranger.post(url, json=person()), 401, "unauthorized")

    problem(
        tenant.client.post(
            "/v1/programInstances/c0000000000000000000000000/enrollments", json=person()
        ),
        404,
        "not_found",
    )
    problem(other_tenant.client.post(url, json=person()), 404, "not_found")
    assert (
        state(tenant) == before == {"enrollments": [], "history": {}, "customers": [], "leads": []}
    )
    assert state(other_tenant)["enrollments"] == []
    # The instance still works.
    ok(tenant.client.post(url, json=person()), 201)


def test_instance_addressed_by_slug(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["slug"], person()), 201)
    assert e["programInstanceId"] == instance["id"]
    page = ok(tenant.client.get(f"/v1/programInstances/{instance['slug']}/enrollments"))
    assert page_ids(page) == [e["id"]]
