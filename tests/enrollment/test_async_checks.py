"""Asynchronous eligibility checks end to end: a real Enroll server, its worker, and the checker
endpoint as a real HTTP server on 127.0.0.1 that verifies every request's Standard Webhooks
signature with the secret the API hands out.

The tests run on a database of their own whose server allows plain http:// to loopback
(``webhook_allow_private``), so no other test server's worker picks up their jobs; the test
of the refusal without that setting uses the ordinary session server.
"""

from __future__ import annotations

import base64
import concurrent.futures
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from enroll.auth.scopes import WORKSPACE_SCOPES, Scope
from enroll.context import AppContext
from enroll.eligibility import async_checks
from enroll.eligibility.criteria import compile_criteria
from enroll.worker import runner
from tests.support.http_endpoint import Behaviour, Checker, Received, Route
from tests.support.server import Database, Server, Tenant, free_port, make_tenant, private_server

PROGRAM = "async-check-program"  # no states, no manufacturers: only the criteria below count
ACCEPTING = "Program accepting enrollments"
WAIT = 20.0
RETRY = timedelta(seconds=5)  # past a first retry's backoff (about 1 s), before any deadline


def passes(reason: str | None = "Good credit") -> Behaviour:
    return lambda _r, _n: (200, {"status": "passed", "reason": reason})


def fails(reason: str | None = "Credit score too low") -> Behaviour:
    return lambda _r, _n: (200, {"status": "failed", "reason": reason})


def after(event: threading.Event, then: Behaviour, *, first_only: bool = False) -> Behaviour:
    """Wait for ``event`` (set by the test) before answering."""

    def behaviour(r: Received, n: int) -> tuple[int, Any]:
        if n == 1 or not first_only:
            event.wait(WAIT)
        return then(r, n)

    return behaviour


# --- fixtures: a server of our own that may call http://127.0.0.1 -----------------------------


@pytest.fixture(scope="module")
def own_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with private_server(database, Path(tmp_path_factory.mktemp("async-db")), PROGRAM) as srv:
        yield srv


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    c = Checker()
    yield c
    c.close()


@pytest.fixture
def t(own_server: Server) -> Iterator[Tenant]:
    tenant = make_tenant(own_server, "Async")
    yield tenant
    tenant.client.close()


def credit(url: str, **endpoint: Any) -> dict[str, Any]:
    return {
        "id": "credit",
        "description": "Credit check",
        "reason": "Credit check failed",
        "passReason": "Credit check passed",
        "kind": "async",
        "endpoint": {"url": url, "timeoutSeconds": 5, "deadlineSeconds": 60} | endpoint,
    }


OWNS_HOME = {
    "id": "owns-home",
    "description": "Owns the home",
    "reason": "Must own the home",
    "passReason": "Owns the home",
    "rule": {"==": [{"var": "metadata.ownsHome"}, True]},
}


def instance(tenant: Tenant, *criteria: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return tenant.instance(PROGRAM, eligibilityCriteria=list(criteria), **fields)


def enroll(tenant: Tenant, instance_id: str, **fields: Any) -> dict[str, Any]:
    return tenant.enroll(instance_id, **({"metadata": {"ownsHome": True}} | fields))


def get(tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    r = tenant.client.get(f"/v1/enrollments/{enrollment_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def check_of(enrollment: dict[str, Any], check_id: str = "credit") -> dict[str, Any] | None:
    return next((c for c in enrollment["eligibility"]["checks"] if c["id"] == check_id), None)


def wait_check(tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    """The enrollment once the worker has run what is due: its credit check no longer pending."""
    tenant.server.drain()
    e = get(tenant, enrollment_id)
    check = check_of(e)
    assert check is not None and check["status"] != "pending", (
        f"the check stayed pending: {e['eligibility']}"
    )
    return e


def jobs(tenant: Tenant) -> list[dict[str, Any]]:
    r = tenant.client.get("/v1/jobs", params={"perPage": 100})
    assert r.status_code == 200, r.text
    return [j for j in r.json()["data"] if j["kind"] == async_checks.ASYNC_CHECK_JOB]


def wait_jobs_done(tenant: Tenant, count: int) -> list[dict[str, Any]]:
    """The check jobs once the worker has run what is due: ``count`` or more, all finished."""
    tenant.server.drain()
    found = jobs(tenant)
    assert len(found) >= count and all(j["status"] in ("succeeded", "failed") for j in found), found
    return found


def history(tenant: Tenant, enrollment_id: str) -> list[tuple[Any, ...]]:
    r = tenant.client.get(f"/v1/enrollments/{enrollment_id}/history")
    assert r.status_code == 200, r.text
    return [
        (h["fromStatus"], h["toStatus"], h["action"], h["reason"], h["actor"])
        for h in r.json()["data"]
    ]


def events_of(tenant: Tenant, enrollment_id: str, count: int) -> list[dict[str, Any]]:
    """The enrollment's events: ``count`` of them, once the feed has settled (PostgreSQL shows
    settled ones only)."""
    feed = tenant.events(limit=500)
    mine = [e for e in feed if e["data"].get("object", {}).get("id") == enrollment_id]
    assert len(mine) == count, [e["type"] for e in mine]
    return mine


CREATED = ["enrollment.created", "enrollment.status_changed", "enrollment.eligible"]


# --- the criterion format -----------------------------------------------------------------------


def test_async_criteria_are_validated_where_they_are_written(t: Tenant) -> None:
    def refused(criterion: dict[str, Any]) -> list[tuple[str, str]]:
        r = t.client.post(
            "/v1/programInstances",
            json={
                "programSlug": PROGRAM,
                "slug": f"i-{uuid.uuid4().hex[:8]}",
                "name": "I",
                "eligibilityCriteria": [OWNS_HOME, criterion],
            },
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        return [(e["field"], e["message"]) for e in r.json()["errors"]]

    url = "https://checker.example/credit"
    assert refused(credit(url) | {"rule": True}) == [
        ("eligibilityCriteria.1.rule", "An async criterion has no rule.")
    ]
    no_endpoint = {k: v for k, v in credit(url).items() if k != "endpoint"}
    assert refused(no_endpoint) == [("eligibilityCriteria.1.endpoint", "Field required.")]
    assert refused(OWNS_HOME | {"id": "x", "endpoint": {"url": url}}) == [
        ("eligibilityCriteria.1.endpoint", "Only async criteria have an endpoint.")
    ]
    assert refused({k: v for k, v in OWNS_HOME.items() if k != "rule"} | {"id": "x"}) == [
        ("eligibilityCriteria.1.rule", "Field required.")
    ]
    assert refused(credit("ftp://checker.example/x"))[0][0] == "eligibilityCriteria.1.endpoint.url"
    assert refused(credit("https://user:pw@checker.example/x"))[0][0] == (
        "eligibilityCriteria.1.endpoint.url"
    )
    assert [f for f, _ in refused(credit(url, timeoutSeconds=61, deadlineSeconds=0))] == [
        "eligibilityCriteria.1.endpoint.timeoutSeconds",
        "eligibilityCriteria.1.endpoint.deadlineSeconds",
    ]
    assert refused(credit(url) | {"kind": "later"})[0][0] == "eligibilityCriteria.1.kind"
    assert t.client.get("/v1/programInstances").json()["totalItems"] == 0

    # Valid ones are stored with their defaults; sync criteria keep their shape (no "kind").
    created = instance(t, OWNS_HOME, credit(url) | {"endpoint": {"url": url}})
    stored = created["eligibilityCriteria"]
    assert stored[0] == OWNS_HOME
    assert stored[1]["kind"] == "async" and "rule" not in stored[1]
    assert stored[1]["endpoint"] == {"url": url, "timeoutSeconds": 10, "deadlineSeconds": 86400}
    r = t.client.get(f"/v1/programInstances/{created['id']}/criteriaVersions/1")
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["criteria"]] == ["owns-home", "credit"]
    assert r.json()["criteria"][1]["endpoint"]["url"] == url


def test_async_criteria_compile_to_no_predicate() -> None:
    compiled = compile_criteria([OWNS_HOME, credit("https://checker.example/c")])
    sync, asynchronous = compiled.items
    assert (sync.is_async, asynchronous.is_async) == (False, True)
    assert sync.predicate is not None and asynchronous.predicate is None
    assert asynchronous.endpoint is not None
    assert asynchronous.endpoint.url == "https://checker.example/c"
    assert (asynchronous.endpoint.timeout_seconds, asynchronous.endpoint.deadline_seconds) == (
        5,
        60,
    )
    assert compiled.synchronous == (sync,) and compiled.asynchronous == (asynchronous,)
    assert compiled.roots == {"metadata"}  # the endpoint is not a rule: it reads nothing here


def test_retries_are_ended_by_the_deadline_not_the_attempts() -> None:
    assert async_checks._BACKOFF_CAP_SECONDS == runner.MAX_BACKOFF_SECONDS
    for deadline in (1, 60, 3600, 86_400, 30 * 86_400):
        attempts = async_checks.max_attempts_for(deadline)
        # The least the worker's backoff waits between those attempts.
        waited = sum(
            0.75 * min(2.0 ** (n - 1), runner.MAX_BACKOFF_SECONDS) for n in range(1, attempts)
        )
        assert waited >= deadline, (deadline, attempts)


# --- the signing secret -------------------------------------------------------------------------


def test_signing_secret_is_made_once_per_workspace(t: Tenant, own_server: Server) -> None:
    first = t.signing_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert t.signing_secret() == first
    other = make_tenant(own_server, "Other")
    try:
        assert other.signing_secret() != first
    finally:
        other.client.close()
    without = t.key_with(*sorted(WORKSPACE_SCOPES - {Scope.API_KEYS_MANAGE}))
    with own_server.client(without) as client:
        r = client.post("/v1/workspace/signingSecret")
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


# --- outcomes -----------------------------------------------------------------------------------


def test_a_passing_check_keeps_the_enrollment_eligible(t: Tenant, checker: Checker) -> None:
    secret = t.signing_secret()
    url = checker.route(secret, passes())
    inst = instance(t, OWNS_HOME, credit(url))
    created = enroll(t, inst["id"])
    # Eligible at once (the sync checks passed), the async check pending.
    assert created["status"] == "eligible"
    assert check_of(created) == {
        "id": "credit",
        "description": "Credit check",
        "status": "pending",
        "reason": "Awaiting Credit check",
    }
    assert created["eligibilityReason"] == f"{ACCEPTING}; Owns the home; Awaiting Credit check"
    assert (created["needsReview"], created["needsReviewReason"]) == (False, None)

    done = wait_check(t, created["id"])
    assert done["status"] == "eligible"
    assert check_of(done) == {
        "id": "credit",
        "description": "Credit check",
        "status": "passed",
        "reason": "Good credit",
    }
    assert done["eligibilityReason"] == f"{ACCEPTING}; Owns the home; Good credit"
    assert done["eligibility"]["evaluatedAt"] == created["eligibility"]["evaluatedAt"]

    # The call: signed, once, with the rule context.
    (request,) = checker.received(url)
    assert request.verified
    body = request.json
    assert body["type"] == "eligibility.check"
    assert (body["enrollmentId"], body["programInstanceId"]) == (created["id"], inst["id"])
    assert body["criterion"] == {"id": "credit", "description": "Credit check"}
    context = body["context"]
    assert context["address"] == {"state": "NY"}
    assert context["metadata"] == {"ownsHome": True}
    assert context["manufacturerSlugs"] == ["tesla"]
    assert (context["firstName"], context["email"]) == ("Pat", created["email"])
    assert context["customer"]["id"] == created["customerId"]
    assert context["facts"] == {"activeEnrollments": []}
    assert request.headers["content-type"] == "application/json"
    sent_at = int(request.headers["webhook-timestamp"])
    assert abs(sent_at - time.time()) < 60

    (job,) = wait_jobs_done(t, 1)
    assert job["status"] == "succeeded" and job["attempts"] == 1
    assert request.headers["webhook-id"] == job["id"]
    assert job["payload"] == {
        "jobId": job["id"],
        "enrollmentId": created["id"],
        "criterionId": "credit",
        "criteriaVersion": 1,
        "evaluatedAt": created["eligibility"]["evaluatedAt"],
        "deadline": job["payload"]["deadline"],
    }
    decided = datetime.fromisoformat(created["eligibility"]["evaluatedAt"])
    assert datetime.fromisoformat(job["payload"]["deadline"]) == decided + timedelta(seconds=60)

    events = events_of(t, created["id"], 4)
    assert [e["type"] for e in events] == [*CREATED, "enrollment.updated"]
    assert events[3]["data"]["changedFields"] == ["eligibility"]
    assert check_of(events[3]["data"]["object"]) == check_of(done)
    assert [h[:3] for h in history(t, created["id"])] == [
        (None, "candidate", "create"),
        ("candidate", "eligible", "evaluate"),
    ]


def test_a_failing_check_makes_the_enrollment_ineligible(t: Tenant, checker: Checker) -> None:
    url = checker.route(
        t.signing_secret(),
        lambda r, _n: (
            200,
            {"status": "failed", "reason": "Credit score too low"}
            if r.json["context"]["metadata"].get("says")
            else {"status": "failed"},
        ),
    )
    inst = instance(t, OWNS_HOME, credit(url))
    with_reason = enroll(t, inst["id"], metadata={"ownsHome": True, "says": True})
    without_reason = enroll(t, inst["id"])

    done = wait_check(t, with_reason["id"])
    assert (done["status"], done["eligibilityReason"]) == ("ineligible", "Credit score too low")
    assert check_of(done) == {
        "id": "credit",
        "description": "Credit check",
        "status": "failed",
        "reason": "Credit score too low",
    }
    assert history(t, done["id"])[-1] == (
        "eligible",
        "ineligible",
        "evaluate",
        "Credit score too low",
        "system:eligibility",
    )
    events = events_of(t, done["id"], 6)
    assert [e["type"] for e in events] == [
        *CREATED,
        "enrollment.status_changed",
        "enrollment.ineligible",
        "enrollment.updated",
    ]
    assert events[-1]["data"]["changedFields"] == ["status", "eligibility"]
    change = {
        "previousStatus": "eligible",
        "status": "ineligible",
        "reason": "Credit score too low",
    }
    for event in events[3:5]:
        assert {k: event["data"][k] for k in change} == change
    for event in events[3:]:
        assert event["data"]["object"]["status"] == "ineligible"

    # No reason from the checker: the criterion's own.
    other = wait_check(t, without_reason["id"])
    assert (other["status"], other["eligibilityReason"]) == ("ineligible", "Credit check failed")
    assert check_of(other)["reason"] == "Credit check failed"  # type: ignore[index]
    # An ineligible enrollment can be re-evaluated: it asks again.
    r = t.client.post(f"/v1/enrollments/{other['id']}/reevaluate")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], check_of(r.json())["status"]) == ("eligible", "pending")  # type: ignore[index]
    assert wait_check(t, other["id"])["status"] == "ineligible"
    assert all(req.verified for req in checker.received(url))
    assert len(checker.received(url)) == 3


def test_a_failing_sync_check_runs_no_async_check(t: Tenant, checker: Checker) -> None:
    url = checker.route(t.signing_secret(), passes())
    inst = instance(t, OWNS_HOME, credit(url))
    e = enroll(t, inst["id"], metadata={"ownsHome": False})
    assert (e["status"], e["eligibilityReason"]) == ("ineligible", "Must own the home")
    assert [c["id"] for c in e["eligibility"]["checks"]] == ["instance-accepting", "owns-home"]
    assert jobs(t) == []
    # The preview shows the same.
    r = t.client.post(
        f"/v1/programInstances/{inst['id']}/eligibility/preview",
        json={"metadata": {"ownsHome": True}},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["checks"][-1]["status"]) == ("eligible", "pending")
    t.server.drain()
    assert checker.received(url) == []


def test_an_endpoint_that_is_down_is_retried_and_answers_once(t: Tenant, checker: Checker) -> None:
    secret = t.signing_secret()
    # Down: nothing listens on the port yet (connection refused).
    port = free_port()
    inst = instance(t, OWNS_HOME, credit(f"http://127.0.0.1:{port}/credit"))
    refused_first = enroll(t, inst["id"])
    t.server.drain()  # the first attempt fails; the retry waits out its backoff
    (job,) = jobs(t)
    assert job["status"] == "queued" and "ConnectError" in job["lastError"]
    assert check_of(get(t, refused_first["id"]))["status"] == "pending"  # type: ignore[index]
    late = Checker(port)
    try:
        late.routes["credit"] = Route(secret, passes("Checked late"))
        with t.server.clock_shifted(RETRY):
            done = wait_check(t, refused_first["id"])
        assert (done["status"], check_of(done)["reason"]) == ("eligible", "Checked late")  # type: ignore[index]
        (request,) = late.received(late.url("credit"))
        assert request.verified
    finally:
        late.close()
    (job,) = wait_jobs_done(t, 1)
    assert (job["status"], job["lastError"]) == ("succeeded", None)
    assert job["attempts"] >= 2

    # Up but failing (HTTP 500), then answering.
    answers = iter([(500, {"error": "boom"}), (200, {"status": "passed"})])
    url = checker.route(secret, lambda _r, _n: next(answers))
    inst = instance(t, OWNS_HOME, credit(url))
    e = enroll(t, inst["id"])
    t.server.drain()  # HTTP 500: the retry waits out its backoff
    assert len(checker.received(url)) == 1
    with t.server.clock_shifted(RETRY):
        done = wait_check(t, e["id"])
    assert (done["status"], check_of(done)) == (
        "eligible",
        {
            "id": "credit",
            "description": "Credit check",
            "status": "passed",
            "reason": "Credit check passed",  # no reason given: the criterion's passReason
        },
    )
    requests = checker.received(url)
    assert len(requests) == 2 and all(r.verified for r in requests)
    # The same message each time (Standard Webhooks: retries keep their webhook-id).
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    events = events_of(t, e["id"], 4)
    assert [ev["type"] for ev in events][-1] == "enrollment.updated"  # recorded once
    job = next(j for j in wait_jobs_done(t, 2) if j["payload"]["enrollmentId"] == e["id"])
    assert (job["status"], job["attempts"]) == ("succeeded", 2)


def test_no_answer_before_the_deadline_is_an_error(t: Tenant, checker: Checker) -> None:
    stop = threading.Event()

    def never(_r: Received, _n: int) -> tuple[int, Any]:
        stop.wait(5)
        return 200, {"status": "passed"}

    url = checker.route(t.signing_secret(), never)
    inst = instance(t, OWNS_HOME, credit(url, timeoutSeconds=1, deadlineSeconds=1))
    e = enroll(t, inst["id"])
    try:
        # The call runs out its second; should the attempt end a hair before the deadline,
        # the retry comes after it (the clock moved past its backoff).
        t.server.drain()
        with t.server.clock_shifted(RETRY):
            done = wait_check(t, e["id"])
    finally:
        stop.set()
    deadline = datetime.fromisoformat(e["eligibility"]["evaluatedAt"]) + timedelta(seconds=1)
    when = deadline.isoformat().replace("+00:00", "Z")
    reason = f"Credit check: no answer before the deadline ({when})"
    assert check_of(done) == {
        "id": "credit",
        "description": "Credit check",
        "status": "error",
        "reason": reason,
    }
    assert (done["status"], done["eligibilityReason"]) == ("ineligible", reason)
    assert history(t, e["id"])[-1] == (
        "eligible",
        "ineligible",
        "evaluate",
        reason,
        "system:eligibility",
    )
    (job,) = wait_jobs_done(t, 1)
    assert job["status"] == "succeeded"


def test_a_check_failing_after_submit_asks_for_review(t: Tenant, checker: Checker) -> None:
    submitted = threading.Event()
    url = checker.route(t.signing_secret(), after(submitted, fails("Credit score too low")))
    inst = instance(t, OWNS_HOME, credit(url, timeoutSeconds=30))
    e = enroll(t, inst["id"])
    r = t.client.post(f"/v1/enrollments/{e['id']}/submit")
    assert r.status_code == 200, r.text
    assert check_of(r.json())["status"] == "pending"  # type: ignore[index]
    submitted.set()

    done = wait_check(t, e["id"])
    assert done["status"] == "submitted"  # not demoted: a person decides
    assert (done["needsReview"], done["needsReviewReason"]) == (True, "Credit score too low")
    assert check_of(done)["status"] == "failed"  # type: ignore[index]
    assert [h[:3] for h in history(t, e["id"])][-1] == ("eligible", "submitted", "submit")
    events = events_of(t, e["id"], 7)
    assert [ev["type"] for ev in events][3:] == [
        "enrollment.status_changed",
        "enrollment.submitted",
        "enrollment.updated",  # changedFields ["status"]
        "enrollment.updated",
    ]
    assert events[-1]["data"]["changedFields"] == [
        "eligibility",
        "needsReview",
        "needsReviewReason",
    ]
    assert events[-1]["data"]["object"]["needsReview"] is True
    # The reviewer can still approve (or reject) it.
    r = t.client.post(f"/v1/enrollments/{e['id']}/approve")
    assert r.status_code == 200, r.text


def test_an_answer_for_an_older_evaluation_is_ignored(t: Tenant, checker: Checker) -> None:
    reevaluated, in_flight = threading.Event(), threading.Event()

    def behaviour(r: Received, n: int) -> tuple[int, Any]:
        if n == 1:  # the first evaluation's call: held until the enrollment is re-evaluated
            in_flight.set()
            reevaluated.wait(WAIT)
            return 200, {"status": "failed", "reason": "Stale answer"}
        return 200, {"status": "passed", "reason": "Fresh answer"}

    url = checker.route(t.signing_secret(), behaviour)
    inst = instance(t, OWNS_HOME, credit(url, timeoutSeconds=30))
    e = enroll(t, inst["id"])
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        draining = pool.submit(t.server.drain)  # the worker, meanwhile
        assert in_flight.wait(WAIT)  # the first call is in flight
        # The worker waits on the endpoint outside any transaction: the API writes meanwhile.
        r = t.client.post(f"/v1/enrollments/{e['id']}/reevaluate")
        assert r.status_code == 200, r.text
        again = r.json()
        assert again["eligibility"]["evaluatedAt"] != e["eligibility"]["evaluatedAt"]
        assert check_of(again)["status"] == "pending"  # type: ignore[index]
        reevaluated.set()
        draining.result()

    done = wait_check(t, e["id"])
    assert (done["status"], check_of(done)["reason"]) == ("eligible", "Fresh answer")  # type: ignore[index]
    assert done["eligibility"]["evaluatedAt"] == again["eligibility"]["evaluatedAt"]
    found = wait_jobs_done(t, 2)
    assert [j["status"] for j in found] == ["succeeded", "succeeded"]
    assert "ineligible" not in [h[1] for h in history(t, e["id"])]
    t.server.drain()
    assert get(t, e["id"])["status"] == "eligible"
    assert len(checker.received(url)) == 2


def test_two_async_checks_each_record_their_answer(t: Tenant, checker: Checker) -> None:
    secret = t.signing_secret()
    first = checker.route(secret, passes("Good credit"))
    second = checker.route(secret, fails("Not a homeowner on record"))
    inst = instance(
        t,
        OWNS_HOME,
        credit(first),
        credit(second) | {"id": "registry", "description": "Land registry"},
    )
    e = enroll(t, inst["id"])
    assert [c["status"] for c in e["eligibility"]["checks"]] == [
        "passed",
        "passed",
        "pending",
        "pending",
    ]
    assert e["eligibilityReason"].endswith("Awaiting Credit check; Awaiting Land registry")
    wait_jobs_done(t, 2)
    done = get(t, e["id"])
    assert [c["status"] for c in done["eligibility"]["checks"]] == [
        "passed",
        "passed",
        "passed",
        "failed",
    ]
    assert (done["status"], done["eligibilityReason"]) == (
        "ineligible",
        "Not a homeowner on record",
    )


# --- bulk enqueueing ----------------------------------------------------------------------------


def test_enqueue_many_queues_one_job_per_enrollment_and_check(
    t: Tenant, own_server: Server, checker: Checker
) -> None:
    url = checker.route(t.signing_secret(), passes())
    criteria = compile_criteria(
        [OWNS_HOME, credit(url), credit(url, deadlineSeconds=7200) | {"id": "second"}]
    )
    evaluated = "2026-01-02T03:04:05.123456Z"
    now = datetime.now(UTC)

    async def work(ctx: AppContext) -> int:
        async with ctx.db.transaction() as session:
            return await async_checks.enqueue_many(
                session,
                workspace_id=t.id,
                enrollments=[("c-none-1", evaluated), ("c-none-2", evaluated)],
                criteria=criteria,
                criteria_version=4,
                now=now,
            )

    assert own_server.database.run(work) == 4
    # No such enrollments: each job finds nobody waiting and ends without a call.
    found = wait_jobs_done(t, 4)
    assert {j["status"] for j in found} == {"succeeded"}
    payloads = sorted(
        ((j["payload"]["enrollmentId"], j["payload"]["criterionId"]), j["payload"]) for j in found
    )
    assert [key for key, _ in payloads] == [
        ("c-none-1", "credit"),
        ("c-none-1", "second"),
        ("c-none-2", "credit"),
        ("c-none-2", "second"),
    ]
    for (_, criterion), payload in payloads:
        assert payload["criteriaVersion"] == 4 and payload["evaluatedAt"] == evaluated
        assert payload["deadline"] == (
            "2026-01-02T03:05:05.123456Z"
            if criterion == "credit"
            else "2026-01-02T05:04:05.123456Z"
        )
    assert {j["maxAttempts"] for j in found} == {
        async_checks.max_attempts_for(60),
        async_checks.max_attempts_for(7200),
    }
    assert checker.received(url) == []


# --- without ENROLL_WEBHOOK_ALLOW_PRIVATE -------------------------------------------------------


def test_plain_http_and_private_addresses_are_refused(tenant: Tenant, checker: Checker) -> None:
    """The session server runs with the default settings: neither http:// nor loopback."""
    secret = tenant.signing_secret()
    http_url = checker.route(secret, passes())
    https_url = checker.route(secret, passes()).replace("http://", "https://")
    program = tenant.client.get("/v1/programs/anywhere-program").json()
    inst = tenant.instance(
        program["slug"],
        eligibilityCriteria=[
            credit(http_url),
            credit(https_url) | {"id": "loopback", "description": "Loopback"},
        ],
    )
    e = tenant.enroll(inst["id"])
    assert e["status"] == "eligible"
    tenant.server.drain()
    done = get(tenant, e["id"])
    assert not any(c["status"] == "pending" for c in done["eligibility"]["checks"])
    checks = {c["id"]: c for c in done["eligibility"]["checks"]}
    assert checks["credit"] == {
        "id": "credit",
        "description": "Credit check",
        "status": "error",
        "reason": "Credit check: the endpoint must use https:// (plain http is refused)",
    }
    assert checks["loopback"]["status"] == "error"
    assert checks["loopback"]["reason"] == (
        "Loopback: the endpoint's host '127.0.0.1' is not a public address"
    )
    assert (done["status"], done["eligibilityReason"]) == ("ineligible", checks["credit"]["reason"])
    assert checker.received(http_url) == []


def test_unknown_hosts_are_retried_not_refused() -> None:
    """A name that does not resolve (yet) is a failure to retry, not a refusal."""
    import asyncio

    async def probe() -> None:
        with pytest.raises(async_checks.CheckerUnavailable):
            await async_checks.address_refusal(
                "https://no-such-host.invalid/x", allow_private=False
            )
        assert (
            await async_checks.address_refusal("https://10.1.2.3/x", allow_private=False)
        ) == "the endpoint's host '10.1.2.3' is not a public address"
        assert await async_checks.address_refusal("https://10.1.2.3/x", allow_private=True) is None

    asyncio.run(probe())


def test_answers_other_than_passed_or_failed_are_not_recorded() -> None:
    def answer(status: int, body: bytes) -> async_checks.Answer:
        return async_checks.parse_answer(status, body)

    assert answer(200, b'{"status": "passed"}') == async_checks.Answer(True, None)
    assert answer(204 - 4, b'{"status": "failed", "reason": " Low\\u0000 "}') == (
        async_checks.Answer(False, "Low")
    )
    for status, body in (
        (500, b'{"status": "passed"}'),
        (302, b""),
        (200, b"passed"),
        (200, b'{"status": "maybe"}'),
        (200, b'{"status": "failed", "reason": 3}'),
        (200, b'["passed"]'),
    ):
        with pytest.raises(async_checks.CheckerUnavailable):
            answer(status, body)


def test_the_call_is_signed_bounded_in_time_and_in_size(checker: Checker) -> None:
    import asyncio

    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    release = threading.Event()
    good = checker.route(secret, passes("Fine"))
    huge = checker.route(secret, lambda _r, _n: (200, b" " * 70_000 + b'{"status": "passed"}'))
    slow = checker.route(secret, after(release, passes()))
    criterion = compile_criteria([credit(good)]).items[0]
    body = async_checks.request_body(
        enrollment_id="e1", program_instance_id="i1", criterion=criterion, context={"a": 1}
    )

    async def ask(url: str, seconds: float = 5) -> async_checks.Answer:
        return await async_checks.call(
            url,
            body=body,
            secret=secret,
            message_id="msg-1",
            timeout_seconds=seconds,
            now=datetime.now(UTC),
            allow_private=True,  # the checker listens on 127.0.0.1
        )

    async def probe() -> None:
        assert await ask(good) == async_checks.Answer(True, "Fine")
        with pytest.raises(async_checks.CheckerUnavailable, match="over 65536 bytes"):
            await ask(huge)
        started = time.monotonic()
        with pytest.raises(async_checks.CheckerUnavailable, match=r"no answer within 0\.3 s"):
            await ask(slow, seconds=0.3)
        assert time.monotonic() - started < 2

    try:
        asyncio.run(probe())
    finally:
        release.set()
    (request,) = checker.received(good)
    assert request.verified and request.headers["webhook-id"] == "msg-1"
    assert request.json == body
