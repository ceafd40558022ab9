"""Requirements over HTTP on both databases: a create that leaves `create` requirements unmet
is refused with every one listed (409) or, when only a consent is missing, 422; nothing is
written; a submission checks the `submit` ones; states and events follow each change."""

from __future__ import annotations

from typing import Any

from tests.requirements.seed004 import SIGNATURE, applicant, repayment_instance
from tests.support.server import Tenant


def _enrollments(tenant: Tenant, instance_id: str) -> list[dict[str, Any]]:
    r = tenant.client.get(f"/v1/programInstances/{instance_id}/enrollments")
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_create_lists_every_unmet_precondition_and_writes_nothing(tenant: Tenant) -> None:
    c = tenant.client
    instance = repayment_instance(tenant)
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    bare = applicant()
    for name in ("taxId", "phone", "income", "maritalStatus"):
        bare.pop(name)
    bare["address"] = {"state": "NY"}
    bare["studentStatus"] = "full_time"
    r = c.post(url, json=bare)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "requirements_unmet"
    keys = [u["key"] for u in problem["unmet"]]
    # Every one at once (seed 004 tells them one at a time), the signature among them.
    assert keys == [
        "tax_id", "phone", "address", "agi", "not_student", "marital_status", "signature"
    ]  # fmt: skip
    address = next(u for u in problem["unmet"] if u["key"] == "address")
    assert address == {
        "key": "address",
        "kind": "field",
        "label": "Address",
        "detail": "Missing: address.streetOne, address.city, address.postalCode.",
    }
    student = next(u for u in problem["unmet"] if u["key"] == "not_student")
    assert student["detail"] == "An active full-time or three-quarter-time student."
    # Nothing written: no enrollment, and no customer (the create made one, then rolled back).
    assert _enrollments(tenant, instance["id"]) == []
    found = c.get("/v1/customers", params={"email": bare["email"]}).json()["data"]
    assert found == []

    # Fixed but unsigned: 422 consent_required (the seed's signed_at).
    body = applicant()
    r = c.post(url, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "consent_required"
    assert [u["key"] for u in r.json()["unmet"]] == ["signature"]
    # A signature to an older wording does not count; termsAccepted false neither.
    for wrong in ({"textVersion": "2025-01"}, {"termsAccepted": False}):
        r = c.post(url, json=body | {"consent": SIGNATURE | wrong})
        assert r.status_code == 422 and r.json()["code"] == "consent_required", r.text
    assert _enrollments(tenant, instance["id"]) == []

    r = c.post(url, json=body | {"consents": [SIGNATURE], "planCode": "repaye"})
    assert r.status_code == 201, r.text
    enrollment = r.json()
    assert enrollment["status"] == "eligible"
    assert (enrollment["planCode"], enrollment["planCodeGiven"]) == ("save", "repaye")
    states = {s["key"]: s["status"] for s in enrollment["requirements"]}
    assert states == {
        "loans": "met", "tax_id": "met", "phone": "met", "address": "met", "agi": "met",
        "not_student": "met", "marital_status": "met", "signature": "met",
        "spouse": "not_applicable", "income": "unmet",
    }  # fmt: skip
    assert (
        c.get(f"/v1/enrollments/{enrollment['id']}/requirements").json()["data"]
        == (enrollment["requirements"])
    )
    consents = c.get(f"/v1/enrollments/{enrollment['id']}/consents").json()["data"]
    assert [(k["kind"], k["textVersion"]) for k in consents] == [("signature", "2026-01")]
    customer = c.get(f"/v1/customers/{enrollment['customerId']}").json()
    assert customer["taxIdLast4"] == "6789" and "taxId" not in customer
    assert customer["maritalStatus"] == "single"
    assert customer["income"] == {
        "agi": 41000.0, "hasTaxableIncome": True, "decreasedSinceFiling": False
    }  # fmt: skip


def test_submission_checks_submit_requirements_and_updates_meet_them(tenant: Tenant) -> None:
    c = tenant.client
    instance = repayment_instance(tenant)
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    body = applicant(maritalStatus="married", consent=SIGNATURE, planCode="ibr")
    r = c.post(url, json=body)
    assert r.status_code == 201, r.text
    enrollment = r.json()
    eid = enrollment["id"]
    r = c.post(f"/v1/enrollments/{eid}/submit")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "requirements_unmet"
    assert {u["key"]: u["detail"] for u in r.json()["unmet"]} == {
        "spouse": "Add a household member with role spouse.",
        "income": "Authorise the IRS (irsAuthorizedAt) or upload a TAX_RETURN or TAX_TRANSCRIPT.",
    }
    # The spouse, without a tax id yet: still unmet, saying what is missing.
    member = c.post(
        f"/v1/customers/{enrollment['customerId']}/householdMembers",
        json={"role": "spouse", "firstName": "Alex", "lastName": "Borrower",
              "dateOfBirth": "1990-02-03", "hasTaxableIncome": False, "agi": 0},
    )  # fmt: skip
    assert member.status_code == 201, member.text
    states = {s["key"]: s for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert states["spouse"]["status"] == "unmet"
    assert states["spouse"]["detail"] == "The spouse lacks: taxId."
    r = c.patch(
        f"/v1/customers/{enrollment['customerId']}/householdMembers/{member.json()['id']}",
        json={"taxId": "987654321"},
    )
    assert r.status_code == 200, r.text
    # The IRS authorisation, given on the enrollment (stored on the customer).
    r = c.patch(f"/v1/enrollments/{eid}", json={"irsAuthorizedAt": "2026-01-05T10:00:00Z"})
    assert r.status_code == 200, r.text
    states = {s["key"]: s for s in r.json()["requirements"]}
    assert states["spouse"]["status"] == "met"
    assert states["income"]["status"] == "met"
    events = [e for e in tenant.events(limit=500) if e["data"]["object"].get("id") == eid]
    met = [
        e["data"]["requirement"]["key"] for e in events if e["type"] == "enrollment.requirement_met"
    ]
    assert sorted(met) == ["income", "spouse"]
    assert [e["type"] for e in events].count("enrollment.requirements_completed") == 1
    r = c.post(f"/v1/enrollments/{eid}/submit")
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
    r = c.post(f"/v1/enrollments/{eid}/markUnprocessable", json={"reason": "AGI discrepancy"})
    assert r.status_code == 200 and r.json()["status"] == "unprocessable", r.text


def test_the_last_requirement_met_submits_when_the_instance_says_so(tenant: Tenant) -> None:
    c = tenant.client
    billing = {"key": "billing", "kind": "billingAddress", "label": "Billing", "stage": "submit"}
    instance = tenant.instance(requirements=[billing], submitWhenComplete=True)
    enrollment = tenant.enroll(instance["id"])
    assert enrollment["status"] == "eligible"
    assert [(s["key"], s["status"]) for s in enrollment["requirements"]] == [("billing", "unmet")]
    url = f"/v1/enrollments/{enrollment['id']}/billingAddress"
    r = c.put(url, json={"sameAsServiceAddress": True, "address": {"city": "X"}})
    assert r.status_code == 422, r.text  # an address only when it is not the service one
    r = c.put(url, json={"sameAsServiceAddress": False, "address": {"streetOne": "9 Bill St"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    assert r.json()["requirements"][0]["status"] == "met"
    history = c.get(f"/v1/enrollments/{enrollment['id']}/history").json()["data"]
    assert (history[-1]["action"], history[-1]["actor"]) == ("submit", "platform")
    customer = c.get(f"/v1/customers/{enrollment['customerId']}").json()
    assert customer["billingAddress"]["address"] == {"streetOne": "9 Bill St"}
    assert customer["billingAddress"]["sameAsServiceAddress"] is False
    kinds = [
        e["type"]
        for e in tenant.events(limit=500)
        if e["data"]["object"].get("id") == enrollment["id"]
    ]
    assert kinds.index("enrollment.requirements_completed") < kinds.index("enrollment.submitted")

    # Met at its create (the customer confirmed a billing address before): submitted at once.
    other = tenant.instance(requirements=[billing], submitWhenComplete=True)
    known = {"identificationType": "customerId", "customerId": enrollment["customerId"],
             "address": {"state": "NY"}, "manufacturerSlugs": ["tesla"]}  # fmt: skip
    r = c.post(f"/v1/programInstances/{other['id']}/enrollments", json=known)
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
    # Without submitWhenComplete, meeting the last one leaves the submission to the applicant.
    manual = tenant.instance(requirements=[billing])
    third = tenant.enroll(manual["id"])
    r = c.put(f"/v1/enrollments/{third['id']}/billingAddress", json={"sameAsServiceAddress": True})
    assert r.json()["status"] == "eligible"
    assert r.json()["requirements"][0]["status"] == "met"


def _upload(tenant: Tenant, eid: str, type_: str, owner: str = "applicant", n: int = 0) -> Any:
    return tenant.client.post(
        f"/v1/enrollments/{eid}/documents",
        files={
            "file": (
                f"{type_}.pdf",
                b"%PDF-1.7\n%" + f"{type_}{owner}{n}".encode(),
                "application/pdf",
            )
        },
        data={"type": type_, "issuedAt": "2026-11-02", "owner": owner},
    )


def test_income_decreased_needs_pay_stubs_of_each_earner(tenant: Tenant) -> None:
    c = tenant.client
    instance = repayment_instance(tenant)
    decreased = {"agi": 52000, "hasTaxableIncome": True, "decreasedSinceFiling": True}
    body = applicant(maritalStatus="married", income=decreased, consent=SIGNATURE)
    r = c.post(f"/v1/programInstances/{instance['id']}/enrollments", json=body)
    assert r.status_code == 201, r.text
    eid, customer = r.json()["id"], r.json()["customerId"]
    spouse = c.post(
        f"/v1/customers/{customer}/householdMembers",
        json={"role": "spouse", "firstName": "Alex", "lastName": "B", "dateOfBirth": "1990-01-01",
              "taxId": "987-65-4321", "hasTaxableIncome": True, "agi": 20000},
    ).json()  # fmt: skip
    income = {s["key"]: s for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert income["income"]["detail"] == (
        "Upload a PAY_STUB, OFFER_LETTER or DETERMINATION_SUMMARY for the applicant and the spouse."
    )
    # A member of another customer's household is not an owner here.
    stranger = tenant.enroll(tenant.instance()["id"])
    other = c.post(f"/v1/customers/{stranger['customerId']}/householdMembers",
                   json={"role": "spouse"}).json()  # fmt: skip
    r = _upload(tenant, eid, "PAY_STUB", owner=other["id"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner", r.text
    r = _upload(tenant, eid, "PAY_STUB")
    assert r.status_code == 201, r.text
    states = {s["key"]: s for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert states["income"]["detail"].endswith("for the spouse.")
    r = _upload(tenant, eid, "OFFER_LETTER", owner=spouse["id"])
    assert r.status_code == 201, r.text
    states = {s["key"]: s["status"] for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert states["income"] == states["spouse"] == "met"
    # The IRS authorisation now would conflict with the documents: refused, nothing changed.
    r = c.patch(f"/v1/enrollments/{eid}", json={"irsAuthorizedAt": "2026-11-05T12:00:00Z"})
    assert r.status_code == 422 and r.json()["code"] == "income_certification_conflict", r.text
    assert c.get(f"/v1/customers/{customer}").json()["irsAuthorizedAt"] is None
    # Deleting a stub unmeets it again.
    stub = next(d for d in c.get(f"/v1/enrollments/{eid}/documents").json()["data"]
                if d["type"] == "PAY_STUB")  # fmt: skip
    assert c.delete(f"/v1/enrollments/{eid}/documents/{stub['id']}").status_code == 204
    states = {s["key"]: s["status"] for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert states["income"] == "unmet"


def test_an_income_document_beside_an_irs_authorisation_is_refused(tenant: Tenant) -> None:
    c = tenant.client
    instance = repayment_instance(tenant)
    body = applicant(consent=SIGNATURE, irsAuthorizedAt="2026-10-01T09:00:00Z")
    r = c.post(f"/v1/programInstances/{instance['id']}/enrollments", json=body)
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert {s["key"]: s["status"] for s in r.json()["requirements"]}["income"] == "met"
    r = _upload(tenant, eid, "TAX_RETURN")
    assert r.status_code == 422 and r.json()["code"] == "income_certification_conflict", r.text
    assert c.get(f"/v1/enrollments/{eid}/documents").json()["data"] == []
    assert _upload(tenant, eid, "UTILITY_BILL").status_code == 201  # not an income document
