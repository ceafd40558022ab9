"""Bulk imports over real HTTP: CSV and JSON Lines, deduplication, set-based evaluation,
history and events, dry runs, results, idempotency, resumption and bad input."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from enroll.importer import pipeline
from enroll.kit.batching import Sizer
from tests.support.helpers import PROBLEM, uniq
from tests.support.imports import (
    CSV,
    JSONL,
    enrollments,
    events,
    jsonl,
    person,
    results,
    run_import,
    upload,
    wait,
)
from tests.support.server import Tenant


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Batches of three rows, so a handful of rows crosses several transactions."""
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 3)
    yield


def test_jsonl_import_dedupes_evaluates_and_records(tenant: Tenant) -> None:
    instance = tenant.instance()
    known = tenant.enroll(instance["id"], referenceId="ref-known")
    ny, nj, ca = person(), person(address={"state": "NJ"}), person(address={"state": "CA"})
    rows = [
        ny,
        nj,
        ca,
        person(email=ny["email"]),  # same email as row 1
        {"firstName": "No", "email": "no.last@example.com"},  # lastName missing
        person(referenceId="ref-known"),  # matches an existing enrollment
        b"{not json",
    ]
    done = run_import(tenant, instance["id"], jsonl(rows))
    assert done["status"] == "completed", done
    assert done["counts"] == {
        "rows": 7,
        "created": 3,
        "duplicates": 2,
        "invalid": 2,
        "eligible": 2,
        "ineligible": 1,
    }
    assert done["progress"]["fraction"] == 1.0

    lines = results(tenant, done["id"])
    assert [(x["row"], x["outcome"]) for x in lines] == [
        (1, "created"),
        (2, "created"),
        (3, "created"),
        (4, "duplicate"),
        (5, "invalid"),
        (6, "duplicate"),
        (7, "invalid"),
    ]
    assert lines[3]["duplicateOf"] == "row:1" and lines[3]["duplicateKey"] == "email"
    assert lines[5]["duplicateOf"] == known["id"] and lines[5]["duplicateKey"] == "referenceId"
    assert {"field": "lastName", "message": "Required with identificationType customerInfo."} in (
        lines[4]["errors"]
    )
    assert lines[6]["errors"][0]["field"] == "row"

    by_email = {e["email"]: e for e in enrollments(tenant, instance["id"])}
    assert by_email[ny["email"]]["status"] == "eligible"
    assert by_email[nj["email"]]["status"] == "eligible"
    ineligible = by_email[ca["email"]]
    assert ineligible["status"] == "ineligible"
    assert ineligible["eligibilityReason"] == "Outside service area"
    assert ineligible["eligibility"]["criteriaVersion"] == instance["criteriaVersion"]
    assert [c["status"] for c in ineligible["eligibility"]["checks"]] == [
        "passed",
        "failed",
        "passed",
    ]
    assert lines[2]["enrollmentId"] == ineligible["id"] and lines[2]["status"] == "ineligible"

    history = tenant.client.get(f"/v1/enrollments/{ineligible['id']}/history").json()["data"]
    assert [(h["fromStatus"], h["toStatus"], h["action"]) for h in history] == [
        (None, "candidate", "create"),
        ("candidate", "ineligible", "evaluate"),
    ]
    assert history[1]["reason"] == "Outside service area"


def test_import_events_carry_the_enrollment_as_the_api_shows_it(tenant: Tenant) -> None:
    instance = tenant.instance()
    row = person(metadata={"age": 70, "answers": {"ownsHome": True}}, tags=["a", "b"])
    done = run_import(tenant, instance["id"], jsonl([row]))
    (created,) = enrollments(tenant, instance["id"])
    shown = tenant.client.get(f"/v1/enrollments/{created['id']}").json()
    feed = [e for e in events(tenant) if e["data"].get("object", {}).get("id") == created["id"]]
    assert [e["type"] for e in feed] == [
        "enrollment.created",
        "enrollment.status_changed",
        "enrollment.eligible",
    ]
    for event in feed:
        assert event["data"]["object"] == shown
        assert event["data"]["importId"] == done["id"]
        assert event["workspaceId"] == tenant.id
    assert feed[1]["data"]["previousStatus"] == "candidate"
    assert feed[1]["data"]["status"] == "eligible"
    assert len({e["id"] for e in feed}) == 3
    completed = [e for e in events(tenant, type="import.completed")]
    assert [e["data"]["object"]["id"] for e in completed] == [done["id"]]


def test_events_false_writes_no_enrollment_events(tenant: Tenant) -> None:
    instance = tenant.instance()
    done = run_import(tenant, instance["id"], jsonl([person(), person()]), events=False)
    assert done["counts"]["created"] == 2 and done["events"] is False
    types = [e["type"] for e in events(tenant)]
    assert "import.completed" in types
    assert not [t for t in types if t.startswith("enrollment.")]
    # History is written regardless.
    (first, _) = enrollments(tenant, instance["id"])
    assert len(tenant.client.get(f"/v1/enrollments/{first['id']}/history").json()["data"]) == 2


def test_csv_dotted_headers_lists_and_quoted_cells(tenant: Tenant) -> None:
    instance = tenant.instance()
    customer = tenant.client.post(
        "/v1/customers",
        json={
            "firstName": "Cus",
            "lastName": "Tomer",
            "email": f"c.{uniq()}@example.com",
            "address": {"state": "NJ"},
        },
    ).json()
    csv = (
        "identificationType,customerId,firstName,lastName,email,address.streetOne,address.state,"
        "address.postalCode,manufacturerSlugs,tags,metadata.note\n"
        f',,Ann,Lee,ann.{uniq()}@example.com,"1 Elm St, Apt 2",ny,10001,Tesla|enphase,a|b,'
        '"two\nlines"\n'
        f"customerId,{customer['id']},,,,,,,tesla,,\n"
        ",,Bo,,bo@example.com,,NY,,tesla,,\n"
    ).encode()
    done = run_import(tenant, instance["id"], csv, headers=CSV)
    assert done["counts"] | {} == {
        "rows": 3,
        "created": 2,
        "duplicates": 0,
        "invalid": 1,
        "eligible": 2,
        "ineligible": 0,
    }, done
    by_email = {e["email"]: e for e in enrollments(tenant, instance["id"])}
    ann = next(e for k, e in by_email.items() if k.startswith("ann."))
    assert ann["address"] == {"streetOne": "1 Elm St, Apt 2", "state": "NY", "postalCode": "10001"}
    assert ann["manufacturerSlugs"] == ["tesla", "enphase"]
    assert ann["tags"] == ["a", "b"]
    assert ann["metadata"] == {"note": "two\nlines"}
    cus = by_email[customer["email"]]
    assert cus["customerId"] == customer["id"] and cus["firstName"] == "Cus"
    assert cus["identificationType"] == "customerId"
    bad = [x for x in results(tenant, done["id"]) if x["outcome"] == "invalid"]
    assert [(x["row"], [e["field"] for e in x["errors"]]) for x in bad] == [(3, ["lastName"])]


def test_customers_are_found_or_created_by_email(tenant: Tenant) -> None:
    first, second = tenant.instance(), tenant.instance()
    row = person()
    run_import(tenant, first["id"], jsonl([row]))
    run_import(tenant, second["id"], jsonl([row]))
    (a,) = enrollments(tenant, first["id"])
    (b,) = enrollments(tenant, second["id"])
    assert a["customerId"] == b["customerId"] is not None
    again = run_import(tenant, first["id"], jsonl([person(email=row["email"].upper())]))
    assert again["counts"]["duplicates"] == 1 and again["counts"]["created"] == 0


def test_customer_id_rows_hold_one_open_enrollment_per_customer(tenant: Tenant) -> None:
    instance, elsewhere = tenant.instance(), tenant.instance()
    free = tenant.enroll(elsewhere["id"])["customerId"]
    taken = tenant.enroll(instance["id"])
    rows = [
        {"identificationType": "customerId", "customerId": free, "manufacturerSlugs": ["lg"]},
        {"identificationType": "customerId", "customerId": free},  # same customer again
        # A new email, but the customer already holds an open enrollment here.
        {
            "identificationType": "customerId",
            "customerId": taken["customerId"],
            "email": f"new.{uniq()}@example.com",
        },
        {"identificationType": "customerId", "customerId": "c" + "0" * 24},
    ]
    done = run_import(tenant, instance["id"], jsonl(rows))
    assert done["counts"]["created"] == 1, done
    assert done["counts"]["duplicates"] == 2 and done["counts"]["invalid"] == 1
    lines = results(tenant, done["id"])
    assert [(x["row"], x["outcome"], x.get("duplicateKey")) for x in lines] == [
        (1, "created", None),
        (2, "duplicate", "customer"),
        (3, "duplicate", "customer"),
        (4, "invalid", None),
    ]
    assert lines[1]["duplicateOf"] == "row:1"
    assert lines[2]["duplicateOf"] == taken["id"]
    assert lines[3]["errors"] == [{"field": "customerId", "message": "No such customer."}]
    made = tenant.client.get(f"/v1/enrollments/{lines[0]['enrollmentId']}").json()
    # The customer's details fill what the row leaves out; what the row says wins.
    assert made["customerId"] == free and made["manufacturerSlugs"] == ["lg"]
    assert made["email"].startswith("pat.")


def test_batches_commit_and_dedupe_across_each_other(tenant: Tenant, small_batches: None) -> None:
    instance = tenant.instance()
    rows = [person() for _ in range(7)]
    rows.append(person(email=rows[0]["email"]))  # batch 3 repeats batch 1
    same = dict(rows[1], email=f"other.{uniq()}@example.com")  # same name and address
    rows.append(same)
    done = run_import(tenant, instance["id"], jsonl(rows))
    assert done["counts"]["created"] == 7 and done["counts"]["duplicates"] == 2, done
    dupes = [x for x in results(tenant, done["id"]) if x["outcome"] == "duplicate"]
    assert {x["duplicateKey"] for x in dupes} == {"email", "nameAddress"}
    assert len(enrollments(tenant, instance["id"])) == 7


def test_dry_run_reports_without_writing(tenant: Tenant, small_batches: None) -> None:
    instance = tenant.instance()
    rows = [person() for _ in range(4)] + [person(address={"state": "TX"})]
    rows.append(person(email=rows[0]["email"]))
    rows.append({"firstName": "x"})
    done = run_import(tenant, instance["id"], jsonl(rows), dryRun=True)
    assert done["dryRun"] is True
    assert done["counts"] == {
        "rows": 7,
        "created": 5,
        "duplicates": 1,
        "invalid": 1,
        "eligible": 4,
        "ineligible": 1,
    }
    assert enrollments(tenant, instance["id"]) == []
    outcomes = [(x["row"], x["outcome"], x.get("status")) for x in results(tenant, done["id"])]
    assert outcomes == [
        (1, "would_create", "eligible"),
        (2, "would_create", "eligible"),
        (3, "would_create", "eligible"),
        (4, "would_create", "eligible"),
        (5, "would_create", "ineligible"),
        (6, "duplicate", None),
        (7, "invalid", None),
    ]
    assert not [e for e in events(tenant) if e["type"].startswith("enrollment.")]
    # A real run of the same file afterwards creates what the dry run predicted.
    real = run_import(tenant, instance["id"], jsonl(rows))
    assert real["counts"] | {} == done["counts"]


def test_idempotency_key_imports_a_file_once(tenant: Tenant) -> None:
    instance = tenant.instance()
    content = jsonl([person(), person()])
    key = {"Idempotency-Key": f"imp-{uniq()}", **JSONL}
    first = upload(tenant, instance["id"], content, headers=key)
    assert first.status_code == 202, first.text
    wait(tenant, first.json()["id"])
    again = upload(tenant, instance["id"], content, headers=key)
    assert again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(enrollments(tenant, instance["id"])) == 2
    other = upload(tenant, instance["id"], jsonl([person()]), headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert len(enrollments(tenant, instance["id"])) == 2


def test_lead_rows_go_through_the_create_service(tenant: Tenant) -> None:
    instance = tenant.instance()
    lead = tenant.client.post(
        "/v1/leads",
        json={
            "email": f"lead.{uniq()}@example.com",
            "firstName": "Lee",
            "lastName": "Dee",
            "address": {"state": "NJ"},
        },
    ).json()
    incomplete = tenant.client.post("/v1/leads", json={"email": f"l.{uniq()}@example.com"}).json()
    rows = [
        {"identificationType": "leadId", "leadId": lead["id"], "manufacturerSlugs": ["tesla"]},
        {"identificationType": "leadId", "leadId": incomplete["id"]},
        {"identificationType": "leadId", "leadId": "c" + "0" * 24},
    ]
    done = run_import(tenant, instance["id"], jsonl(rows))
    assert done["counts"]["created"] == 1 and done["counts"]["invalid"] == 2, done
    (made,) = enrollments(tenant, instance["id"])
    assert made["leadId"] == lead["id"] and made["status"] == "eligible"
    lines = results(tenant, done["id"])
    assert lines[0] == {
        "row": 1,
        "outcome": "created",
        "enrollmentId": made["id"],
        "status": "eligible",
    }
    assert lines[1]["outcome"] == "invalid"


def test_a_file_that_cannot_be_read_fails_visibly(tenant: Tenant) -> None:
    instance = tenant.instance()
    done = run_import(tenant, instance["id"], b"email,,x\na,b,c\n", headers=CSV)
    assert done["status"] == "failed"
    assert "empty column names" in done["error"]
    assert [e["type"] for e in events(tenant, type="import.failed")] == ["import.failed"]


def test_bad_requests_are_refused_and_leave_nothing(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    content = jsonl([person()])
    r = upload(tenant, instance["id"], content, headers={"Content-Type": "application/json"})
    assert r.status_code == 415 and r.headers["content-type"] == PROBLEM
    r = upload(tenant, instance["id"], b"")
    assert r.status_code == 422 and r.json()["code"] == "empty_import"
    r = upload(other_tenant, instance["id"], content)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    draft = tenant.instance(status="draft")
    r = upload(tenant, draft["id"], content)
    assert r.status_code == 409 and r.json()["code"] == "instance_not_accepting"
    reader = tenant.key_with("imports:read")
    with tenant.server.client(reader) as client:
        r = client.post(
            f"/v1/programInstances/{instance['id']}/imports", content=content, headers=JSONL
        )
        assert r.status_code == 403
    with tenant.server.client() as anonymous:
        r = anonymous.post(
            f"/v1/programInstances/{instance['id']}/imports", content=content, headers=JSONL
        )
    assert r.status_code == 401
    assert enrollments(tenant, instance["id"]) == []

    done = run_import(tenant, instance["id"], content)
    assert other_tenant.client.get(f"/v1/imports/{done['id']}").status_code == 404
    assert other_tenant.client.get(f"/v1/imports/{done['id']}/results").status_code == 404


def test_async_criteria_are_pending_and_queued_after_import(tenant: Tenant) -> None:
    check = {
        "id": "credit",
        "kind": "async",
        "description": "Credit check",
        "reason": "Credit check failed",
        # Nothing listens here: the check stays pending (its job retries until the deadline).
        "endpoint": {"url": "https://checks.invalid/credit", "deadlineSeconds": 3600},
    }
    instance = tenant.instance(eligibilityCriteria=[check])
    done = run_import(tenant, instance["id"], jsonl([person(), person(address={"state": "CA"})]))
    assert done["counts"]["eligible"] == 1 and done["counts"]["ineligible"] == 1
    by_state = {e["address"]["state"]: e for e in enrollments(tenant, instance["id"])}
    eligible = by_state["NY"]
    assert eligible["status"] == "eligible"
    assert eligible["eligibility"]["checks"][-1]["id"] == "credit"
    assert eligible["eligibility"]["checks"][-1]["status"] == "pending"
    assert "Awaiting Credit check" in eligible["eligibilityReason"]
    assert [c["id"] for c in by_state["CA"]["eligibility"]["checks"]][-1] != "credit"
    jobs = tenant.client.get("/v1/jobs", params={"perPage": "100"}).json()["data"]
    queued = [j for j in jobs if j["kind"] == "eligibility.async_check"]
    assert [j["payload"]["enrollmentId"] for j in queued] == [eligible["id"]]


def test_cli_imports_a_local_file(tenant: Tenant, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    instance = tenant.instance()
    path = tmp_path / "candidates.jsonl"
    path.write_bytes(jsonl([person(), person(address={"state": "CA"}), {"firstName": "x"}]))
    env = os.environ | {"ENROLL_DATABASE_URL": tenant.server.database.url}
    args = [
        sys.executable,
        "-m",
        "enroll.cli.main",
        "import",
        "enrollments",
        "--program-instance",
        instance["slug"],
        str(path),
    ]
    dry = subprocess.run([*args, "--dry-run"], env=env, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert orjson.loads(dry.stdout)["counts"]["created"] == 2
    assert enrollments(tenant, instance["id"]) == []
    real = subprocess.run(args, env=env, capture_output=True, text=True)
    assert real.returncode == 0, real.stderr
    out = orjson.loads(real.stdout)
    assert out["status"] == "completed" and out["rowsPerSecond"] > 0
    assert out["counts"] == {
        "rows": 3,
        "created": 2,
        "duplicates": 0,
        "invalid": 1,
        "eligible": 1,
        "ineligible": 1,
    }
    assert len(enrollments(tenant, instance["id"])) == 2
    missing = subprocess.run(
        [*args[:6], "no-such-instance", str(path)], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1 and orjson.loads(missing.stdout)["error"] == "not_found"


def test_slow_batches_commit_in_smaller_parts(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13, E17: a batch's rows are committed in parts sized to the time parts take, so
    no import transaction grows long (here every part is "too slow": the floor follows)."""
    parts: list[int] = []
    commit = pipeline._commit_batch

    async def recorded(ctx: Any, import_id: str, rows: Any, *args: Any) -> None:
        parts.append(len(rows))
        await commit(ctx, import_id, rows, *args)

    monkeypatch.setattr(pipeline, "_commit_batch", recorded)
    monkeypatch.setattr(pipeline, "FIRST_COMMIT_ROWS", 40)
    monkeypatch.setattr(pipeline, "MIN_COMMIT_ROWS", 10)
    monkeypatch.setattr(pipeline, "Sizer", functools.partial(Sizer, target=0.0))
    instance = tenant.instance()
    done = run_import(tenant, instance["id"], jsonl([person() for _ in range(100)]))
    assert done["status"] == "completed" and done["counts"]["created"] == 100, done
    assert parts == [40] + [10] * 6
    assert done["progress"]["rowsDone"] == 100


@pytest.mark.parametrize(
    "rule",
    [
        {"or": [{"==": [{"var": "metadata.n"}, i]} for i in range(1_500)]},
        {"in": [{"var": "address.postalCode"}, [f"{i:05}" for i in range(20_000)]]},
    ],
    ids=["or-1500", "in-20000"],
)
def test_imports_into_an_instance_with_a_big_rule(tenant: Tenant, rule: dict[str, Any]) -> None:
    # Beyond SQLite's expression depth: the rows are decided in Python, never a failed import.
    criterion = {"id": "big", "reason": "Not in the list", "rule": rule}
    instance = tenant.instance("anywhere-program", eligibilityCriteria=[criterion])
    rows = [
        person(metadata={"n": 7}),
        person(metadata={"n": 1_600}, address={"state": "NY", "postalCode": "99999x"}),
    ]
    done = run_import(tenant, instance["id"], jsonl(rows))
    assert done["status"] == "completed", done
    statuses = {e["metadata"]["n"]: e["status"] for e in enrollments(tenant, instance["id"])}
    assert statuses == {7: "eligible", 1_600: "ineligible"}


def test_imports_keep_candidates_without_evaluation_or_under_manual_screening(
    tenant: Tenant, tmp_path: Any
) -> None:
    """Issue 13, item 21: `evaluate=false` (CLI --no-evaluate) under either screening, and
    manual screening, leave imported rows candidates."""
    import os
    import subprocess
    import sys

    automatic = tenant.instance()
    rows = [person(), person(address={"state": "CA"})]
    done = run_import(tenant, automatic["id"], jsonl(rows), evaluate=False)
    assert done["evaluate"] is False
    assert (done["counts"]["created"], done["counts"]["eligible"]) == (2, 0)
    made = enrollments(tenant, automatic["id"])
    assert [(e["status"], e["eligibility"]["checks"]) for e in made] == [("candidate", [])] * 2
    history = tenant.client.get(f"/v1/enrollments/{made[0]['id']}/history").json()["data"]
    assert [h["action"] for h in history] == ["create"]
    mine = [e for e in events(tenant) if e["data"].get("object", {}).get("id") == made[0]["id"]]
    assert [e["type"] for e in mine] == ["enrollment.created"]
    # Manual screening: candidates with the rules' checks as advice.
    manual = tenant.instance(screening="manual")
    run_import(tenant, manual["id"], jsonl([person(), person(address={"state": "CA"})]))
    advised = enrollments(tenant, manual["id"])
    assert [e["status"] for e in advised] == ["candidate", "candidate"]
    assert [e["eligibilityReason"] for e in advised][1] == "Outside service area"
    # The command line's --no-evaluate.
    other = tenant.instance()
    path = tmp_path / "candidates.jsonl"
    path.write_bytes(jsonl([person()]))
    env = os.environ | {"ENROLL_DATABASE_URL": tenant.server.database.url}
    args = [sys.executable, "-m", "enroll.cli.main", "import", "enrollments"]
    args += ["--program-instance", other["slug"], "--no-evaluate", str(path)]
    run = subprocess.run(args, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert [e["status"] for e in enrollments(tenant, other["id"])] == ["candidate"]
