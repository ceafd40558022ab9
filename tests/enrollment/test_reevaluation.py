"""Set-based re-evaluation after a criteria change: dry run, the share guard, apply with
history and events, review flags instead of demotion, the re-enrollment policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enroll.enrollment import reevaluation_run
from enroll.kit.batching import Sizer
from enroll.models import Enrollment
from enroll.worker.runner import Worker
from tests.support.helpers import uniq
from tests.support.reevaluations import (
    NOT_NJ,
    act,
    at,
    get,
    history,
    reevaluate,
    report,
    set_criteria,
    start,
    wait,
)
from tests.support.server import Database, Tenant, make_tenant, private_server


def test_dry_run_guard_and_apply(tenant: Tenant) -> None:
    instance = tenant.instance()
    iid = instance["id"]
    ny = tenant.enroll(iid)
    nj = tenant.enroll(iid, address={"state": "NJ"})
    ca = tenant.enroll(iid, address={"state": "CA"})
    submitted = tenant.enroll(iid, address={"state": "NJ"})
    act(tenant, submitted["id"], "submit")
    approved = tenant.enroll(iid, address={"state": "NJ"})
    act(tenant, approved["id"], "submit")
    act(tenant, approved["id"], "approve")
    rejected = tenant.enroll(iid, address={"state": "NJ"})
    act(tenant, rejected["id"], "submit")
    act(tenant, rejected["id"], "reject", reason="Failed verification")
    set_criteria(tenant, iid, [NOT_NJ])
    before = {e["id"]: get(tenant, e["id"]) for e in (ny, nj, ca, submitted, approved, rejected)}

    dry = reevaluate(tenant, iid, dryRun=True)
    assert dry["status"] == "completed" and dry["dryRun"] is True and dry["error"] is None
    assert dry["progress"] == {"phase": "plan", "done": 5, "total": 5, "fraction": 1.0}
    body = dry["report"]
    assert body["dryRun"] is True and body["applied"] is False
    assert body["evaluated"] == 5 and body["total"] == 6  # the rejected one is not in play
    assert body["criteriaVersion"] == instance["criteriaVersion"] + 1
    assert body["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": 1, "sampleIds": [nj["id"]]}
    ]
    assert body["needsReview"]["count"] == 2
    assert sorted(body["needsReview"]["sampleIds"]) == sorted([submitted["id"], approved["id"]])
    assert body["changed"] == 3
    assert {e: get(tenant, e) for e in before} == before  # nothing changed

    guarded = reevaluate(tenant, iid)
    assert guarded["status"] == "failed", guarded
    assert guarded["error"]["code"] == "reevaluation_guard"
    assert guarded["error"]["changed"] == 3 and guarded["error"]["total"] == 6
    assert guarded["error"]["maxShare"] == 0.25
    assert guarded["report"]["changed"] == 3 and guarded["report"]["applied"] is False
    assert {e: get(tenant, e) for e in before} == before

    applied = report(tenant, iid, force=True)
    assert applied["applied"] is True and applied["changed"] == 3
    assert applied["moves"] == body["moves"] and applied["total"] == 6

    moved = get(tenant, nj["id"])
    assert moved["status"] == "ineligible"
    assert moved["eligibilityReason"] == "Not offered in New Jersey"
    assert moved["eligibility"]["criteriaVersion"] == body["criteriaVersion"]
    assert [c["id"] for c in moved["eligibility"]["checks"]][-1] == "not-nj"
    assert history(tenant, nj["id"])[-1] == ("eligible", "ineligible", "reevaluate")
    assert get(tenant, ny["id"])["status"] == "eligible"
    assert get(tenant, ca["id"])["status"] == "ineligible"
    for kept in (submitted, approved):
        now = get(tenant, kept["id"])
        assert now["status"] == before[kept["id"]]["status"]  # never demoted
        assert now["needsReview"] is True
        assert now["needsReviewReason"] == "Not offered in New Jersey"
    assert get(tenant, rejected["id"])["status"] == "rejected"

    feed = tenant.events(limit=500)
    mine = [(e["type"], e["data"]["object"]["id"]) for e in feed[-5:]]
    assert ("enrollment.status_changed", nj["id"]) in mine
    assert ("enrollment.ineligible", nj["id"]) in mine
    updated = {e["data"]["object"]["id"]: e for e in feed if e["type"] == "enrollment.updated"}
    assert updated[nj["id"]]["data"]["changedFields"] == ["status", "eligibility"]
    assert updated[approved["id"]]["data"]["object"]["needsReview"] is True
    assert updated[approved["id"]]["data"]["changedFields"] == ["needsReview", "eligibility"]
    status_event = next(
        e
        for e in feed
        if e["type"] == "enrollment.ineligible" and e["data"]["object"]["id"] == nj["id"]
    )
    assert status_event["data"]["object"] == get(tenant, nj["id"])
    assert status_event["data"]["previousStatus"] == "eligible"

    # Criteria back as they were: the flags clear, the demoted one comes back.
    set_criteria(tenant, iid, [])
    again = report(tenant, iid, force=True)
    assert again["clearedReview"]["count"] == 2
    assert again["moves"] == [
        {"from": "ineligible", "to": "eligible", "count": 1, "sampleIds": [nj["id"]]}
    ]
    assert get(tenant, approved["id"])["needsReview"] is False
    assert get(tenant, nj["id"])["status"] == "eligible"


def test_an_unchanged_decision_is_stamped_not_rewritten(tenant: Tenant) -> None:
    instance = tenant.instance(eligibilityCriteria=[NOT_NJ])
    iid = instance["id"]
    ny = tenant.enroll(iid)
    nj = tenant.enroll(iid, address={"state": "NJ"})
    before = get(tenant, ny["id"])
    history_before = history(tenant, ny["id"])
    events_before = len(tenant.events(limit=500))
    # Another rule under the same criterion: NY still passes it, NJ now does too.
    set_criteria(tenant, iid, [{**NOT_NJ, "rule": {"!=": [{"var": "address.state"}, "PA"]}}])
    result = report(tenant, iid, force=True)
    assert result["moves"] == [
        {"from": "ineligible", "to": "eligible", "count": 1, "sampleIds": [nj["id"]]}
    ]

    after = get(tenant, ny["id"])
    version = instance["criteriaVersion"] + 1
    assert after["eligibility"]["criteriaVersion"] == version
    assert at(after) > at(before)
    assert after["eligibility"]["checks"] == before["eligibility"]["checks"]
    # The row itself was not rewritten: same version, same updatedAt, no history, no events.
    assert (after["version"], after["updatedAt"]) == (before["version"], before["updatedAt"])
    assert history(tenant, ny["id"]) == history_before
    feed = tenant.events(limit=500)
    assert all(e["data"]["object"]["id"] != ny["id"] for e in feed[events_before:])
    assert get(tenant, nj["id"])["eligibility"]["criteriaVersion"] == version

    # The stamp holds through later writes of the row, in their responses too…
    submitted = tenant.client.post(f"/v1/enrollments/{ny['id']}/submit", json={})
    assert submitted.json()["eligibility"]["criteriaVersion"] == version
    kept = get(tenant, ny["id"])["eligibility"]
    assert {k: kept[k] for k in ("checks", "criteriaVersion", "evaluatedAt")} == {
        k: after["eligibility"][k] for k in ("checks", "criteriaVersion", "evaluatedAt")
    }
    # …until an evaluation that decides otherwise rewrites it: the newer one shows.
    set_criteria(tenant, iid, [{**NOT_NJ, "rule": {"!=": [{"var": "address.state"}, "NY"]}}])
    reevaluate(tenant, iid, force=True)
    flagged = get(tenant, ny["id"])
    assert flagged["needsReview"] is True
    assert flagged["eligibility"]["criteriaVersion"] == version + 1
    assert flagged["eligibility"]["checks"][-1]["status"] == "failed"


def test_a_stamp_counts_only_while_newer_than_the_stored_eligibility() -> None:
    stored = {"checks": [], "criteriaVersion": 2, "evaluatedAt": "2026-01-02T00:00:00.5Z"}
    e = Enrollment(eligibility=stored)
    assert e.evaluation == stored  # no stamp
    e.stamped_at, e.stamped_version = "2026-01-02T00:00:00Z", 1
    assert e.evaluation == stored  # an older stamp
    e.stamped_at, e.stamped_version = "2026-01-03T00:00:00Z", 3
    assert e.evaluation == {"checks": [], "criteriaVersion": 3, "evaluatedAt": e.stamped_at}


def test_reenrollment_policy_reopens_rejected(tenant: Tenant) -> None:
    instance = tenant.instance(reenrollmentPolicy="reevaluate_rejected")
    assert instance["reenrollmentPolicy"] == "reevaluate_rejected"
    iid = instance["id"]
    rejected = tenant.enroll(iid)
    act(tenant, rejected["id"], "submit")
    act(tenant, rejected["id"], "reject", reason="Incomplete information")
    blocked = tenant.enroll(iid)
    act(tenant, blocked["id"], "submit")
    act(tenant, blocked["id"], "reject", reason="Incomplete information")
    # The same customer enrols again: the old rejected one must stay closed.
    tenant.enroll(iid, email=blocked["email"], firstName="Pat", lastName=blocked["lastName"])
    # Rejected reopens only under new criteria.
    set_criteria(tenant, iid, [{"id": "any", "reason": "Any", "rule": True}])
    result = report(tenant, iid, force=True)
    assert result["moves"] == [
        {"from": "rejected", "to": "eligible", "count": 1, "sampleIds": [rejected["id"]]}
    ]
    assert get(tenant, rejected["id"])["status"] == "eligible"
    assert history(tenant, rejected["id"])[-1] == ("rejected", "eligible", "reevaluate")
    assert get(tenant, blocked["id"])["status"] == "rejected"


def test_rules_only_python_can_evaluate_still_work(tenant: Tenant) -> None:
    instance = tenant.instance()
    iid = instance["id"]
    old = tenant.enroll(iid, metadata={"age": 70})
    young = tenant.enroll(iid, metadata={"age": 30})
    # Reads the customer: outside what SQL sees, so the Python evaluator decides every row.
    set_criteria(
        tenant,
        iid,
        [
            {"id": "senior", "reason": "Under 65", "rule": {">=": [{"var": "metadata.age"}, 65]}},
            {"id": "has-customer", "reason": "No customer", "rule": {"var": "customer.email"}},
        ],
    )
    result = report(tenant, iid, force=True)
    assert result["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": 1, "sampleIds": [young["id"]]}
    ]
    assert get(tenant, old["id"])["status"] == "eligible"
    assert get(tenant, young["id"])["eligibilityReason"] == "Under 65"


def test_bad_requests(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    tenant.enroll(instance["id"])

    def post(who: Tenant, ref: str, **body: Any) -> Any:
        return who.client.post(f"/v1/programInstances/{ref}/reevaluations", json=body)

    r = post(tenant, instance["id"], dryRun="maybe")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = post(tenant, instance["id"], bogus=True)
    assert r.status_code == 422
    r = post(other_tenant, instance["id"], dryRun=True)
    assert r.status_code == 404
    with tenant.server.client(tenant.key_with("enrollments:read")) as client:
        r = client.post(f"/v1/programInstances/{instance['id']}/reevaluations", json={})
        assert r.status_code == 403
    r = post(tenant, f"missing-{uniq()}", dryRun=True)
    assert r.status_code == 404
    run = start(tenant, instance["id"], dryRun=True)
    assert other_tenant.client.get(f"/v1/reevaluations/{run['id']}").status_code == 404
    assert tenant.client.get(f"/v1/reevaluations/missing-{uniq()}").status_code == 404


@pytest.fixture
def quiet(database: Database, tmp_path: Path) -> Iterator[Tenant]:
    """A tenant on a server of its own database: the test runs the batches."""
    with private_server(database, tmp_path, "core-test-program") as srv:
        tenant = make_tenant(srv)
        yield tenant
        tenant.client.close()


def test_batches_commit_one_by_one_and_a_crash_resumes(quiet: Tenant) -> None:
    """E17: each batch commits by itself (its changes and events show before the run ends),
    and a run taken over after a crash goes on where the last batch left it."""
    tenant, db = quiet, quiet.server.database
    iid = tenant.instance()["id"]
    enrolled = [tenant.enroll(iid, address={"state": "NJ" if n % 2 else "NY"}) for n in range(7)]
    set_criteria(tenant, iid, [NOT_NJ])
    nj = sorted(e["id"] for e in enrolled if e["address"]["state"] == "NJ")
    run = start(tenant, iid, force=True, sampleSize=2)
    assert (run["status"], run["progress"]["phase"]) == ("queued", "apply")

    def step() -> bool:
        return db.run(lambda ctx: reevaluation_run.step(ctx, run["id"], 2))

    assert step() and step()  # two batches of two, committed
    mid = tenant.client.get(f"/v1/reevaluations/{run['id']}").json()
    assert mid["status"] == "running"
    assert mid["progress"] == {"phase": "apply", "done": 4, "total": 7, "fraction": 0.5714}
    first_four = sorted(e["id"] for e in enrolled)[:4]
    moved = [i for i in first_four if i in nj]
    assert mid["report"]["moves"][0]["count"] == len(moved)
    assert [get(tenant, i)["status"] for i in moved] == ["ineligible"] * len(moved)
    untouched = [i for i in nj if i not in first_four]
    assert [get(tenant, i)["status"] for i in untouched] == ["eligible"] * len(untouched)
    shown = {e["data"]["object"]["id"] for e in tenant.events(type="enrollment.ineligible")}
    assert shown == set(moved)  # already in the feed: the batches committed

    # The worker that ran those batches died; a worker claims the job again and resumes.
    assert tenant.server.on_loop(Worker(tenant.server.ctx).run_once()) == 1
    done = wait(tenant, run["id"])
    assert done["status"] == "completed" and done["report"]["applied"] is True
    assert done["report"]["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": len(nj), "sampleIds": nj[:2]}
    ]
    assert done["report"]["evaluated"] == 7 and done["report"]["total"] == 7
    for i in nj:  # each moved once
        assert [h for h in history(tenant, i) if h[2] == "reevaluate"] == [
            ("eligible", "ineligible", "reevaluate")
        ]
    # Another apply may not overlap a running one; a dry run may.
    second = start(tenant, iid, force=True)
    again = tenant.client.post(f"/v1/programInstances/{iid}/reevaluations", json={"force": True})
    assert again.status_code == 409 and again.json()["code"] == "reevaluation_running"
    assert again.json()["reevaluationId"] == second["id"]
    start(tenant, iid, dryRun=True)


def test_criteria_changed_mid_run_fail_it(quiet: Tenant) -> None:
    tenant, db = quiet, quiet.server.database
    iid = tenant.instance()["id"]
    for _ in range(3):
        tenant.enroll(iid, address={"state": "NJ"})
    set_criteria(tenant, iid, [NOT_NJ])
    run = start(tenant, iid, force=True)
    assert db.run(lambda ctx: reevaluation_run.step(ctx, run["id"], 1))
    set_criteria(tenant, iid, [])
    assert not db.run(lambda ctx: reevaluation_run.step(ctx, run["id"], 1))
    failed = tenant.client.get(f"/v1/reevaluations/{run['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "criteria_changed"
    assert failed["report"]["moves"][0]["count"] == 1


def test_batch_sizes_follow_their_time() -> None:
    sizer = Sizer(1000, 50, 20_000)
    assert sizer.took(0.25) == 2000  # at most doubled
    assert sizer.took(1.6) == 1250
    assert sizer.took(25.0) == 50  # shrunk at once, to the floor
    assert Sizer(15_000, 50, 20_000).took(0.01) == 20_000


# --- rules larger than SQLite's expression depth (issue 13, A3) --------------------------------

BIG_RULES = {
    "or-1500": {"or": [{"==": [{"var": "metadata.n"}, i]} for i in range(1_500)]},
    "and-1500": {"and": [{"!=": [{"var": "metadata.n"}, i]} for i in range(1, 1_501)]},
    "in-20000": {"in": [{"var": "metadata.zip"}, [f"{i:05}" for i in range(20_000)]]},
}


@pytest.mark.parametrize("name", BIG_RULES)
def test_big_rules_reevaluate_without_error(tenant: Tenant, name: str) -> None:
    instance = tenant.instance("anywhere-program")
    iid = instance["id"]
    passes = tenant.enroll(iid, metadata={"n": 0 if name != "and-1500" else 5_000, "zip": "00042"})
    fails = tenant.enroll(iid, metadata={"n": 1_600 if name != "and-1500" else 7, "zip": "x"})
    criterion = {"id": name, "reason": "Not in the list", "rule": BIG_RULES[name]}
    set_criteria(tenant, iid, [criterion])
    assert report(tenant, iid, dryRun=True)["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": 1, "sampleIds": [fails["id"]]}
    ]
    assert report(tenant, iid, force=True)["applied"] is True
    assert get(tenant, passes["id"])["status"] == "eligible"
    assert get(tenant, fails["id"])["eligibilityReason"] == "Not in the list"
