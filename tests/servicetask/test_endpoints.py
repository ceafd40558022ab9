"""Service tasks end to end (seed 002): a real server and its worker on a database of their own,
the inbound enrollment and unenrollment requests over HTTP, and the device-command endpoint as
a real HTTP server on 127.0.0.1 that verifies every call's signature."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.http_endpoint import Checker, Received
from tests.support.server import Database, Server, Tenant, make_tenant, private_server

PROGRAM = "setup-program"
METHODS = ["bring_your_own", "ship_device", "utility_installation", "reenroll"]
OWNERSHIPS = ["customer", "utility"]
EVERY = {"installationMethods": METHODS, "assetOwnerships": OWNERSHIPS}
# Two steps for every method and ownership: a work order for a crew, then a to-do for people.
TWO_STEPS = {
    "enrollmentActions": [
        {"sequence": 1, "type": "create_work_order", **EVERY},
        {"sequence": 2, "type": "create_todo", "description": "Call the customer", **EVERY},
    ],
    "unenrollmentActions": [{"sequence": 1, "type": "create_todo", **EVERY}],
    "unenrollReasons": [
        {"code": "CUSTOMEROPTOUT", "requiresApproval": False},
        {"code": "INELIGIBLERATE", "requiresApproval": True},
    ],
}
NOTHING_TO_SET_UP: dict[str, Any] = {"enrollmentActions": [], "unenrollmentActions": []}


@pytest.fixture(scope="module")
def own_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with private_server(database, Path(tmp_path_factory.mktemp("tasks-db")), PROGRAM) as srv:
        yield srv


@pytest.fixture
def t(own_server: Server) -> Iterator[Tenant]:
    tenant = make_tenant(own_server, "Setup")
    yield tenant
    tenant.client.close()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Checker]:
    c = Checker()
    yield c
    c.close()


# --- helpers --------------------------------------------------------------------------------


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json())


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def instance(t: Tenant, workflow: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    body = {
        "programSlug": PROGRAM,
        "slug": f"s-{uuid.uuid4().hex[:12]}",
        "name": "Setup",
        "status": "active",
        "setupWorkflow": workflow,
    } | fields
    return ok(t.client.post("/v1/programInstances", json=body), 201)


def customer_info(**fields: Any) -> dict[str, Any]:
    n = uuid.uuid4().hex[:10]
    return {"firstName": "Ada", "lastName": f"L{n}", "email": f"ada.{n}@example.com"} | fields


def asset(**fields: Any) -> dict[str, Any]:
    return {
        "type": "thermostat",
        "manufacturer": "ecobee",
        "model": "Premium",
        "serialNumber": f"SN-{uuid.uuid4().hex[:10]}",
    } | fields


def enrollment_request(
    t: Tenant,
    inst: dict[str, Any],
    method: str = "bring_your_own",
    ownership: str = "customer",
    assets: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "transactionId": f"tx-{uuid.uuid4().hex[:12]}",
        "customerInfo": customer_info(),
        "locationInfo": {
            "address": {"streetOne": "1 Grid St", "city": "Albany", "state": "NY"},
            "premiseId": "P-1",
            "servicePointId": "SP-1",
            "division": "EAST",
        },
        "programInstanceId": inst["id"],
        "assetInfo": {
            "installationMethod": method,
            "assetOwnership": ownership,
            "assets": [asset()] if assets is None else assets,
        },
    } | fields
    r = t.client.post("/v1/enrollmentRequests", json=body)
    created = ok(r, 202)
    assert r.headers["location"] == f"/v1/enrollmentRequests/{created['id']}"
    return created


def task(t: Tenant, task_id: str) -> dict[str, Any]:
    return ok(t.client.get(f"/v1/serviceTasks/{task_id}"))


def wait_state(t: Tenant, task_id: str, *states: str) -> dict[str, Any]:
    """The task once the worker has run what is due: in one of ``states``."""
    t.server.drain()
    current = task(t, task_id)
    assert current["state"] in states, f"task stayed {current['state']}: {current}"
    return current


def wait_action(t: Tenant, task_id: str, sequence: int, status: str) -> dict[str, Any]:
    """The task's action ``sequence`` once the worker has run what is due: ``status``."""
    t.server.drain()
    actions = [a for a in task(t, task_id)["setupActions"] if a["sequence"] == sequence]
    assert actions and actions[0]["status"] == status, (
        f"action {sequence} is not {status}: {actions}"
    )
    return dict(actions[0])


def log_states(t: Tenant, task_id: str) -> list[tuple[str | None, str]]:
    rows = ok(t.client.get(f"/v1/serviceTasks/{task_id}/log"))["data"]
    return [(r["fromState"], r["toState"]) for r in rows if r["setupActionId"] is None]


def log_actions(t: Tenant, task_id: str) -> list[tuple[int, str, str, str]]:
    """The task log's rows about setup actions: (sequence, event, actor, state it was in)."""
    rows = ok(t.client.get(f"/v1/serviceTasks/{task_id}/log"))["data"]
    sequences = {a["id"]: a["sequence"] for a in task(t, task_id)["setupActions"]}
    return [
        (sequences[r["setupActionId"]], r["setupActionEvent"], r["actor"], r["toState"])
        for r in rows
        if r["setupActionId"] is not None
    ]


def events(t: Tenant) -> list[dict[str, Any]]:
    """The workspace's whole event feed, everything committed so far."""
    out: list[dict[str, Any]] = []
    t.server.database.settle()
    after = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"after": after} if after else {})
        page = ok(t.client.get("/v1/events", params=params))
        out += page["data"]
        if not page["data"]:
            return out
        after = page["nextCursor"]


def stock(t: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"type": "thermostat", "manufacturer": "ecobee", "model": "Premium"} | fields
    body.setdefault("serialNumber", f"U-{uuid.uuid4().hex[:10]}")
    return ok(t.client.post("/v1/devices", json=body), 201)


def complete_everything(t: Tenant, task_id: str) -> dict[str, Any]:
    """Play the crew (the work order) and the office (the to-do) of TWO_STEPS."""
    work_order = wait_action(t, task_id, 1, "in_progress")
    assert work_order["type"] == "create_work_order"
    second = [a for a in task(t, task_id)["setupActions"] if a["sequence"] == 2]
    assert second and second[0]["status"] == "pending"  # waits for sequence 1
    ok(
        t.client.post(
            f"/v1/setupActions/{work_order['id']}/complete",
            json={"result": {"workOrder": "WO-1"}, "message": "installed"},
        )
    )
    todo_action = wait_action(t, task_id, 2, "in_progress")
    todos = ok(t.client.get("/v1/todos", params={"serviceTaskId": task_id, "kind": "action"}))
    (todo,) = todos["data"]
    assert (todo["setupActionId"], todo["title"]) == (todo_action["id"], "Call the customer")
    ok(t.client.post(f"/v1/todos/{todo['id']}/complete", json={"note": "called"}))
    return wait_state(t, task_id, "completed")


ENROLLMENT_PATH = [
    (None, "pending"),
    ("pending", "validate"),
    ("validate", "check_eligibility"),
    ("check_eligibility", "setup_enrollment"),
    ("setup_enrollment", "setup_device"),
    ("setup_device", "awaiting_device_setup"),
    ("awaiting_device_setup", "completed"),
]


# --- the whole lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("ownership", OWNERSHIPS)
@pytest.mark.parametrize("method", METHODS)
def test_enrollment_request_runs_to_completed(t: Tenant, method: str, ownership: str) -> None:
    inst = instance(t, TWO_STEPS)
    assets = [asset()]
    owned = None
    if ownership == "utility" and method in ("bring_your_own", "reenroll"):
        owned = stock(t, serialNumber=assets[0]["serialNumber"])
    if method == "reenroll" and ownership == "utility":
        assert owned is not None
    created = enrollment_request(t, inst, method, ownership, assets)
    assert (created["state"], created["kind"], created["origin"]) == (
        "pending",
        "enrollment",
        "request",
    )
    done = complete_everything(t, created["id"])

    assert done["errors"] == [] and done["finishedAt"] is not None
    assert log_states(t, done["id"]) == ENROLLMENT_PATH
    enrollment = ok(t.client.get(f"/v1/enrollments/{done['enrollmentId']}"))
    assert enrollment["status"] == "approved" and enrollment["enrollmentStartDate"] is not None
    assert enrollment["referenceId"] == created["transactionId"]
    assert enrollment["metadata"]["installationMethod"] == method
    subscription = ok(t.client.get(f"/v1/subscriptions/{done['subscriptionId']}"))
    assert subscription["status"] == "active" and subscription["startAt"] is not None
    assert subscription["enrollmentId"] == enrollment["id"]
    assert subscription["deviceLocationId"] == done["deviceLocationId"]
    location = ok(t.client.get(f"/v1/deviceLocations/{done['deviceLocationId']}"))
    assert (location["status"], location["servicePointId"], location["division"]) == (
        "active",
        "SP-1",
        "EAST",
    )
    listed = ok(t.client.get("/v1/subscriptions", params={"enrollmentId": enrollment["id"]}))
    assert [s["id"] for s in listed["data"]] == [subscription["id"]]

    devices = [ok(t.client.get(f"/v1/devices/{d}")) for d in done["deviceIds"]]
    if method in ("bring_your_own", "reenroll"):
        (device,) = devices
        assert device["status"] == "active"
        assert device["deviceLocationId"] == location["id"]
        assert device["serialNumber"] == assets[0]["serialNumber"]
        assert device["ownership"] == ownership
        if owned is not None:
            assert device["id"] == owned["id"]  # the inventory device, not a new one
    else:
        assert devices == []  # shipped or installed: the work order brings it

    kinds = [e["type"] for e in events(t)]
    assert kinds.count("service_task.state_changed") == len(ENROLLMENT_PATH)
    assert kinds.count("subscription.activated") == 1
    assert kinds.count("device.activated") == len(devices)
    assert "setup_action.started" in kinds


def test_the_same_transaction_id_is_one_task(t: Tenant) -> None:
    inst = instance(t, NOTHING_TO_SET_UP)
    body = {
        "transactionId": "tx-once",
        "customerInfo": customer_info(),
        "programInstanceSlug": inst["slug"],
        "assetInfo": {"installationMethod": "ship_device", "assetOwnership": "utility"},
    }
    first = ok(t.client.post("/v1/enrollmentRequests", json=body), 202)
    again = ok(t.client.post("/v1/enrollmentRequests", json=body), 202)
    assert again["id"] == first["id"]
    other = body | {"customerInfo": customer_info()}
    refused = problem(
        t.client.post("/v1/enrollmentRequests", json=other), 409, "transaction_id_reused"
    )
    assert refused["serviceTaskId"] == first["id"]
    done = wait_state(t, first["id"], "completed")
    assert len(ok(t.client.get("/v1/serviceTasks", params={"kind": "enrollment"}))["data"]) == 1
    assert done["setupActions"] == []  # an empty action list: nothing to set up
    # The request reads back under both names, never under the other kind's.
    assert ok(t.client.get(f"/v1/enrollmentRequests/{first['id']}"))["id"] == first["id"]
    problem(t.client.get(f"/v1/unenrollmentRequests/{first['id']}"), 404, "not_found")


def test_a_request_takes_over_the_customers_application(t: Tenant) -> None:
    inst = instance(t, NOTHING_TO_SET_UP)
    applied = t.enroll(inst["id"], address={"state": "NY"})
    info = customer_info(email=applied["email"])
    created = enrollment_request(t, inst, customerInfo=info)
    done = wait_state(t, created["id"], "completed")
    assert (done["enrollmentId"], done["customerId"]) == (applied["id"], applied["customerId"])
    assert ok(t.client.get(f"/v1/enrollments/{applied['id']}"))["status"] == "approved"
    problem(t.client.delete(f"/v1/enrollments/{applied['id']}"), 409, "enrollment_has_subscription")


# --- errors that stop a task, and their retry ------------------------------------------------


def test_validation_errors_are_corrected_and_retried(t: Tenant) -> None:
    inst = instance(t, NOTHING_TO_SET_UP | {"divisions": ["EAST"]})
    created = enrollment_request(
        t,
        inst,
        customerInfo={"email": f"nobody.{uuid.uuid4().hex[:8]}@example.com"},
        locationInfo={"division": "WEST"},
        assets=[],
    )
    stopped = wait_state(t, created["id"], "validation_error")
    codes = sorted(e["code"] for e in stopped["errors"])
    assert codes == [
        "asset_info_missing",
        "customer_incomplete",
        "customer_incomplete",
        "division_mismatch",
    ]
    assert stopped["allowedOperations"] == ["retry", "discard", "cancel"]
    assert stopped["enrollmentId"] is None and stopped["customerId"] is None  # nothing kept
    exception = ok(t.client.get("/v1/todos", params={"serviceTaskId": created["id"]}))["data"]
    assert [(x["kind"], x["status"]) for x in exception] == [("exception", "open")]

    # Retrying without a correction fails the same way; a correction then lets it through.
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    again = wait_state(t, created["id"], "validation_error")
    assert len(again["errors"]) == 4
    patched = ok(
        t.client.patch(
            f"/v1/serviceTasks/{created['id']}",
            json={
                "customerInfo": customer_info(),
                "locationInfo": {"division": "EAST"},
                "assetInfo": {
                    "installationMethod": "bring_your_own",
                    "assetOwnership": "customer",
                    "assets": [asset()],
                },
            },
        )
    )
    assert patched["state"] == "validation_error"
    retried = ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    assert retried["state"] == "validate" and retried["errors"] == []
    done = wait_state(t, created["id"], "completed")
    assert done["customerId"] and done["enrollmentId"]
    states = log_states(t, created["id"])
    assert states[:5] == [
        (None, "pending"),
        ("pending", "validate"),
        ("validate", "validation_error"),
        ("validation_error", "validate"),
        ("validate", "validation_error"),
    ]
    todos = ok(t.client.get("/v1/todos", params={"serviceTaskId": created["id"]}))["data"]
    assert {x["status"] for x in todos} == {"completed"}  # closed by the retries
    # A task that is not in an error state cannot be corrected or retried.
    problem(
        t.client.patch(f"/v1/serviceTasks/{created['id']}", json={"metadata": {}}),
        409,
        "task_not_correctable",
    )
    problem(
        t.client.post(f"/v1/serviceTasks/{created['id']}/retry"), 409, "invalid_task_transition"
    )


def test_a_utility_device_must_be_in_stock_and_is_reserved(t: Tenant) -> None:
    inst = instance(t, NOTHING_TO_SET_UP)
    wanted = asset(type="battery", manufacturer="tesla", serialNumber=None)
    created = enrollment_request(t, inst, "bring_your_own", "utility", [wanted])
    stopped = wait_state(t, created["id"], "validation_error")
    assert [e["code"] for e in stopped["errors"]] == ["no_device_in_stock"]
    device = stock(t, type="battery", manufacturer="tesla")
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    done = wait_state(t, created["id"], "completed")
    assert done["deviceIds"] == [device["id"]]
    assert ok(t.client.get(f"/v1/devices/{device['id']}"))["status"] == "active"
    # The device is taken: the next request finds none in stock.
    second = enrollment_request(t, inst, "bring_your_own", "utility", [wanted])
    assert [e["code"] for e in wait_state(t, second["id"], "validation_error")["errors"]] == [
        "no_device_in_stock"
    ]


def test_a_request_to_an_instance_requiring_consent_stops_for_it(t: Tenant) -> None:
    """An enrollment request carries no consent: an instance that requires consent on every
    enrollment refuses it there (the task shows why), and takes it once it no longer does."""
    inst = instance(t, NOTHING_TO_SET_UP, consentRequired=True)
    created = enrollment_request(t, inst)
    stopped = wait_state(t, created["id"], "eligibility_error")
    assert [e["code"] for e in stopped["errors"]] == ["terms_not_accepted"]
    assert stopped["enrollmentId"] is None
    ok(t.client.patch(f"/v1/programInstances/{inst['id']}", json={"consentRequired": False}))
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    assert wait_state(t, created["id"], "completed")["enrollmentId"]


def test_ineligible_requests_stop_in_eligibility_error(t: Tenant) -> None:
    criteria = [
        {
            "id": "income",
            "reason": "Income too high",
            "rule": {"<": [{"var": "metadata.income"}, 100000]},
        }
    ]
    inst = instance(t, NOTHING_TO_SET_UP, eligibilityCriteria=criteria)
    created = enrollment_request(t, inst, metadata={"income": 250000})
    stopped = wait_state(t, created["id"], "eligibility_error")
    assert stopped["errors"] == [
        {"code": "ineligible", "message": "Income too high", "field": "income"}
    ]
    enrollment = ok(t.client.get(f"/v1/enrollments/{stopped['enrollmentId']}"))
    assert enrollment["status"] == "ineligible"  # the enrollment and the task agree
    ok(t.client.patch(f"/v1/serviceTasks/{created['id']}", json={"metadata": {"income": 50000}}))
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    done = wait_state(t, created["id"], "completed")
    assert done["enrollmentId"] == enrollment["id"]  # the same enrollment, evaluated again
    assert ok(t.client.get(f"/v1/enrollments/{enrollment['id']}"))["status"] == "approved"


def test_a_device_in_use_stops_setup_until_corrected_or_discarded(t: Tenant) -> None:
    inst = instance(t, NOTHING_TO_SET_UP)
    shared = asset()
    first = enrollment_request(t, inst, assets=[shared])
    wait_state(t, first["id"], "completed")
    second = enrollment_request(t, inst, assets=[shared])
    stopped = wait_state(t, second["id"], "enrollment_setup_error")
    assert [e["code"] for e in stopped["errors"]] == ["device_in_use"]
    assert stopped["subscriptionId"] is None  # rolled back with the failed step
    enrollment_id = stopped["enrollmentId"]
    assert ok(t.client.get(f"/v1/enrollments/{enrollment_id}"))["status"] == "eligible"
    # Corrected (it was another device) and retried: the setup goes through.
    ok(
        t.client.patch(
            f"/v1/serviceTasks/{second['id']}",
            json={
                "assetInfo": {
                    "installationMethod": "bring_your_own",
                    "assetOwnership": "customer",
                    "assets": [asset()],
                }
            },
        )
    )
    ok(t.client.post(f"/v1/serviceTasks/{second['id']}/retry"))
    done = wait_state(t, second["id"], "completed")
    assert ok(t.client.get(f"/v1/enrollments/{enrollment_id}"))["status"] == "approved"
    assert (
        ok(t.client.get(f"/v1/devices/{done['deviceIds'][0]}"))["serialNumber"]
        != shared["serialNumber"]
    )
    # Discarded instead: the enrollment it was setting up is cancelled.
    third = enrollment_request(t, inst, assets=[shared])
    stopped = wait_state(t, third["id"], "enrollment_setup_error")
    discarded = ok(t.client.post(f"/v1/serviceTasks/{third['id']}/discard"))
    assert discarded["state"] == "discarded" and discarded["allowedOperations"] == []
    assert ok(t.client.get(f"/v1/enrollments/{stopped['enrollmentId']}"))["status"] == "cancelled"
    problem(t.client.post(f"/v1/serviceTasks/{third['id']}/cancel"), 409, "invalid_task_transition")


def test_setup_that_cannot_be_determined_and_a_failed_action(t: Tenant) -> None:
    only_shipping = {
        "enrollmentActions": [
            {
                "sequence": 1,
                "type": "create_activity",
                "installationMethods": ["ship_device"],
                "assetOwnerships": ["utility"],
            }
        ]
    }
    inst = instance(t, only_shipping)
    created = enrollment_request(t, inst)
    stopped = wait_state(t, created["id"], "device_setup_error")
    assert [e["code"] for e in stopped["errors"]] == ["setup_not_determined"]
    # The instance's configuration is corrected, and the step runs again.
    fixed = only_shipping["enrollmentActions"] + [
        {"sequence": 1, "type": "create_activity", **EVERY}
    ]
    fixed[1]["sequence"] = 2
    ok(
        t.client.patch(
            f"/v1/programInstances/{inst['id']}",
            json={"setupWorkflow": {"enrollmentActions": fixed}},
        )
    )
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    activity = wait_action(t, created["id"], 2, "in_progress")
    ok(t.client.post(f"/v1/setupActions/{activity['id']}/fail", json={"message": "No access"}))
    failed = wait_state(t, created["id"], "device_setup_error")
    assert failed["errors"][0]["code"] == "setup_action_failed"
    assert "No access" in failed["errors"][0]["message"]
    problem(
        t.client.post(f"/v1/setupActions/{activity['id']}/complete"), 409, "action_not_in_progress"
    )
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    restarted = wait_action(t, created["id"], 2, "in_progress")
    assert restarted["id"] == activity["id"] and restarted["attempts"] == 2  # the same action
    ok(t.client.post(f"/v1/setupActions/{activity['id']}/complete"))
    done = wait_state(t, created["id"], "completed")
    assert len(done["setupActions"]) == 1


def test_cancel_undoes_an_unfinished_setup(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    device = stock(t)
    created = enrollment_request(
        t, inst, "bring_your_own", "utility", [{"serialNumber": device["serialNumber"]}]
    )
    wait_action(t, created["id"], 1, "in_progress")
    waiting = task(t, created["id"])
    assert waiting["state"] == "awaiting_device_setup"
    assert ok(t.client.get(f"/v1/devices/{device['id']}"))["status"] == "installed"
    canceled = ok(
        t.client.post(f"/v1/serviceTasks/{created['id']}/cancel", json={"comment": "Moved"})
    )
    assert canceled["state"] == "canceled"
    enrollment = ok(t.client.get(f"/v1/enrollments/{waiting['enrollmentId']}"))
    assert enrollment["status"] == "cancelled"  # approved, but never started
    subscription = ok(t.client.get(f"/v1/subscriptions/{waiting['subscriptionId']}"))
    assert subscription["status"] == "inactive" and subscription["endAt"] is not None
    back = ok(t.client.get(f"/v1/devices/{device['id']}"))
    assert (back["status"], back["deviceLocationId"]) == ("in_stock", None)
    location = ok(t.client.get(f"/v1/deviceLocations/{waiting['deviceLocationId']}"))
    assert location["status"] == "inactive"
    # The crew reporting afterwards is refused; the device can serve another customer.
    action = waiting["setupActions"][0]
    assert action["status"] == "in_progress"
    again = enrollment_request(
        t, inst, "bring_your_own", "utility", [{"serialNumber": device["serialNumber"]}]
    )
    wait_action(t, again["id"], 1, "in_progress")


# --- approval, and the approval path without a workflow ------------------------------------------


def _enrolled(t: Tenant, inst: dict[str, Any]) -> dict[str, Any]:
    created = enrollment_request(t, inst)
    return complete_everything(t, created["id"])


def test_unenrollment_needing_approval_is_rejected_then_approved(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    enrolled = _enrolled(t, inst)
    enrollment_id = enrolled["enrollmentId"]
    body = {"enrollmentId": enrollment_id, "reason": "INELIGIBLERATE", "removalMethod": "keep"}
    first = ok(t.client.post("/v1/unenrollmentRequests", json=body), 202)
    waiting = wait_state(t, first["id"], "approval_in_progress")
    assert waiting["allowedOperations"] == ["cancel", "approve", "reject"]
    (approval,) = ok(t.client.get("/v1/todos", params={"serviceTaskId": first["id"]}))["data"]
    assert approval["kind"] == "approval"
    problem(t.client.post(f"/v1/todos/{approval['id']}/complete"), 409, "todo_needs_decision")
    writer = t.key_with("enrollments:write", "enrollments:read")
    with t.server.client(writer) as w:
        problem(w.post(f"/v1/serviceTasks/{first['id']}/approve"), 403, "insufficient_scope")
    rejected = ok(
        t.client.post(f"/v1/serviceTasks/{first['id']}/reject", json={"comment": "Keep them"})
    )
    assert rejected["state"] == "canceled"
    assert ok(t.client.get(f"/v1/enrollments/{enrollment_id}"))["status"] == "approved"
    assert ok(t.client.get(f"/v1/subscriptions/{enrolled['subscriptionId']}"))["status"] == "active"

    second = ok(t.client.post("/v1/unenrollmentRequests", json=body | {"transactionId": "u2"}), 202)
    wait_state(t, second["id"], "approval_in_progress")
    approved = ok(t.client.post(f"/v1/serviceTasks/{second['id']}/approve"))
    assert approved["state"] == "setup_device"
    wait_action(t, second["id"], 1, "in_progress")
    (todo,) = ok(
        t.client.get("/v1/todos", params={"serviceTaskId": second["id"], "kind": "action"})
    )["data"]
    ok(t.client.post(f"/v1/todos/{todo['id']}/complete"))
    done = wait_state(t, second["id"], "completed")
    assert log_states(t, second["id"]) == [
        (None, "pending"),
        ("pending", "validate"),
        ("validate", "approval_in_progress"),
        ("approval_in_progress", "setup_device"),
        ("setup_device", "awaiting_device_setup"),
        ("awaiting_device_setup", "completed"),
    ]
    enrollment = ok(t.client.get(f"/v1/enrollments/{enrollment_id}"))
    assert (enrollment["status"], enrollment["metadata"]["exitReason"]) == (
        "unenrolled",
        "INELIGIBLERATE",
    )
    subscription = ok(t.client.get(f"/v1/subscriptions/{done['subscriptionId']}"))
    assert subscription["status"] == "inactive" and subscription["endAt"] is not None
    for device_id in done["deviceIds"]:
        assert ok(t.client.get(f"/v1/devices/{device_id}"))["status"] == "deactivated"
    location = ok(t.client.get(f"/v1/deviceLocations/{done['deviceLocationId']}"))
    assert location["status"] == "inactive"
    kinds = [e["type"] for e in events(t)]
    assert kinds.count("subscription.deactivated") == 1 and "device.deactivated" in kinds


def test_unenrollment_by_customer_and_reason_codes(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    enrolled = _enrolled(t, inst)
    bad = ok(
        t.client.post(
            "/v1/unenrollmentRequests",
            json={
                "customerId": enrolled["customerId"],
                "programInstanceId": inst["slug"],
                "reason": "BORED",
            },
        ),
        202,
    )
    stopped = wait_state(t, bad["id"], "validation_error")
    assert [e["code"] for e in stopped["errors"]] == ["invalid_reason"]
    ok(t.client.patch(f"/v1/serviceTasks/{bad['id']}", json={"reason": "CUSTOMEROPTOUT"}))
    ok(t.client.post(f"/v1/serviceTasks/{bad['id']}/retry"))
    wait_state(t, bad["id"], "awaiting_device_setup")
    assert task(t, bad["id"])["enrollmentId"] == enrolled["enrollmentId"]
    # While it runs, the enrollment takes no second task.
    problem(
        t.client.post(
            f"/v1/enrollments/{enrolled['enrollmentId']}/devices", json={"asset": asset()}
        ),
        409,
        "task_in_progress",
    )


def test_approval_without_a_workflow_completes_at_once(t: Tenant) -> None:
    inst = instance(t, None)
    e = t.enroll(inst["id"], serialNumber="SN-777")
    ok(t.client.post(f"/v1/enrollments/{e['id']}/submit"))
    approved = ok(t.client.post(f"/v1/enrollments/{e['id']}/approve"))
    assert approved["status"] == "approved" and approved["enrollmentStartDate"] is not None
    (done,) = ok(t.client.get("/v1/serviceTasks", params={"enrollmentId": e["id"]}))["data"]
    assert (done["state"], done["origin"]) == ("completed", "approval")
    assert log_states(t, done["id"]) == [
        (None, "setup_enrollment"),
        ("setup_enrollment", "setup_device"),
        ("setup_device", "awaiting_device_setup"),
        ("awaiting_device_setup", "completed"),
    ]
    (subscription,) = ok(t.client.get("/v1/subscriptions", params={"enrollmentId": e["id"]}))[
        "data"
    ]
    assert subscription["status"] == "active"
    (device,) = [ok(t.client.get(f"/v1/devices/{d}")) for d in done["deviceIds"]]
    assert (device["serialNumber"], device["manufacturer"], device["status"]) == (
        "SN-777",
        "tesla",
        "active",
    )
    # Adding a device runs its own task, at once here too.
    added = ok(t.client.post(f"/v1/enrollments/{e['id']}/devices", json={"asset": asset()}), 202)
    assert added["state"] == "completed" and len(added["deviceIds"]) == 1
    new_device = ok(t.client.get(f"/v1/devices/{added['deviceIds'][0]}"))
    assert new_device["deviceLocationId"] == device["deviceLocationId"]
    assert new_device["status"] == "active"
    # Unenrolling completes at once as well: the answer is the enrollment.
    r = t.client.post(f"/v1/enrollments/{e['id']}/unenroll", json={"reason": "Moved away"})
    assert ok(r)["status"] == "unenrolled"
    assert ok(t.client.get(f"/v1/subscriptions/{subscription['id']}"))["status"] == "inactive"
    for d in (device, new_device):
        assert ok(t.client.get(f"/v1/devices/{d['id']}"))["status"] == "deactivated"
    problem(
        t.client.post(f"/v1/enrollments/{e['id']}/unenroll", json={"reason": "Again"}),
        409,
        "invalid_transition",
    )


def test_unenroll_with_a_workflow_answers_the_running_task(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    enrolled = _enrolled(t, inst)
    r = t.client.post(
        f"/v1/enrollments/{enrolled['enrollmentId']}/unenroll", json={"reason": "CUSTOMEROPTOUT"}
    )
    running = ok(r, 202)
    assert r.headers["location"] == f"/v1/unenrollmentRequests/{running['id']}"
    assert (running["kind"], running["origin"]) == ("unenrollment", "unenroll")
    wait_state(t, running["id"], "awaiting_device_setup")
    assert ok(t.client.get(f"/v1/enrollments/{enrolled['enrollmentId']}"))["status"] == "approved"


def test_a_refused_inline_unenrollment_keeps_nothing(t: Tenant) -> None:
    inst = instance(t, None)
    e = t.enroll(inst["id"])
    problem(
        t.client.post(f"/v1/enrollments/{e['id']}/unenroll", json={"reason": "x"}),
        409,
        "invalid_transition",
    )
    assert ok(t.client.get("/v1/serviceTasks"))["data"] == []


# --- expiration ---------------------------------------------------------------------------------


def test_a_task_not_completed_in_time_is_canceled_with_a_todo(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS | {"expirationDays": 2})
    created = enrollment_request(t, inst)
    waiting = wait_state(t, created["id"], "awaiting_device_setup")
    expires = datetime.fromisoformat(waiting["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(days=2) - (expires - datetime.now(UTC)) < timedelta(minutes=1)

    with t.server.clock_shifted(timedelta(days=3)):  # the worker runs days later
        assert t.server.drain() >= 1
    expired = task(t, created["id"])
    assert expired["state"] == "canceled"
    assert ok(t.client.get(f"/v1/enrollments/{waiting['enrollmentId']}"))["status"] == "cancelled"
    todos = ok(t.client.get("/v1/todos", params={"serviceTaskId": created["id"]}))["data"]
    assert [x["kind"] for x in todos if x["status"] == "open"] == ["expiration"]
    assert log_states(t, created["id"])[-1] == ("awaiting_device_setup", "canceled")


# --- device commands ----------------------------------------------------------------------------


def test_a_device_command_endpoint_down_then_up(t: Tenant, endpoint: Checker) -> None:
    def down_then_up(_r: Received, n: int) -> tuple[int, Any]:
        return (503, {"error": "maintenance"}) if n <= 2 else (200, {"status": "succeeded"})

    url = endpoint.route(t.signing_secret(), down_then_up)
    workflow = {
        "enrollmentActions": [{"sequence": 1, "type": "device_command", **EVERY}],
        "deviceCommandUrl": url,
        "deviceCommandTimeoutSeconds": 5,
    }
    inst = instance(t, workflow)
    created = enrollment_request(t, inst)
    t.server.drain()
    # Each 503 is retried after the worker's backoff (about 1 s, then 2 s): move the clock on.
    for later in (5, 15):
        with t.server.clock_shifted(timedelta(seconds=later)):
            t.server.drain()
    done = wait_state(t, created["id"], "completed")
    calls = endpoint.received(url)
    assert len(calls) == 3 and all(c.verified for c in calls)
    body = calls[-1].json
    assert (body["type"], body["command"], body["serviceTaskId"]) == (
        "device.command",
        "status_check",
        created["id"],
    )
    assert [d["id"] for d in body["devices"]] == done["deviceIds"]
    assert done["setupActions"][0]["status"] == "completed"


def test_a_device_that_fails_its_command_stops_setup(t: Tenant, endpoint: Checker) -> None:
    url = endpoint.route(
        t.signing_secret(), lambda _r, _n: (200, {"status": "failed", "message": "No signal"})
    )
    workflow = {
        "enrollmentActions": [{"sequence": 1, "type": "device_command", **EVERY}],
        "deviceCommandUrl": url,
    }
    created = enrollment_request(t, instance(t, workflow))
    stopped = wait_state(t, created["id"], "device_setup_error")
    assert "No signal" in stopped["errors"][0]["message"]


# --- bad input ----------------------------------------------------------------------------------


def test_bad_requests_are_refused_and_keep_nothing(t: Tenant) -> None:
    inst = instance(t, NOTHING_TO_SET_UP)
    base = {
        "transactionId": "tx-bad",
        "customerInfo": customer_info(),
        "programInstanceId": inst["id"],
        "assetInfo": {"installationMethod": "bring_your_own", "assetOwnership": "customer"},
    }
    for body in (
        base | {"assetInfo": {"installationMethod": "teleport", "assetOwnership": "customer"}},
        base | {"programInstanceSlug": inst["slug"]},  # both instance fields
        {k: v for k, v in base.items() if k != "transactionId"},
        base | {"startDate": "tomorrow"},
        base | {"extra": 1},
    ):
        problem(t.client.post("/v1/enrollmentRequests", json=body), 422, "validation_error")
    problem(
        t.client.post("/v1/enrollmentRequests", json=base | {"programInstanceId": "nope"}),
        404,
        "not_found",
    )
    problem(
        t.client.post("/v1/unenrollmentRequests", json={"reason": "x"}), 422, "validation_error"
    )
    problem(
        t.client.post(
            "/v1/programInstances",
            json={
                "programSlug": PROGRAM,
                "slug": f"bad-{uuid.uuid4().hex[:8]}",
                "name": "Bad",
                "setupWorkflow": {
                    "enrollmentActions": [{"sequence": 1, "type": "device_command", **EVERY}]
                },
            },
        ),
        422,
        "validation_error",
    )  # a device command needs deviceCommandUrl
    assert ok(t.client.get("/v1/serviceTasks"))["data"] == []
    problem(
        t.client.post("/v1/devices", json={"type": "meter", "manufacturer": "x"}),
        422,
        "validation_error",
    )
    device = stock(t, serialNumber="DUP-1")
    problem(
        t.client.post(
            "/v1/devices",
            json={"type": "meter", "manufacturer": device["manufacturer"], "serialNumber": "DUP-1"},
        ),
        409,
        "device_exists",
    )


def test_requests_are_found_by_transaction_id(t: Tenant) -> None:
    """Seed 002 looks requests up by their transactionId (issue 13, item 24)."""
    inst = instance(t, NOTHING_TO_SET_UP)
    mine = enrollment_request(t, inst, transactionId="tx-seed-002")
    enrollment_request(t, inst)
    for path, expected in (
        ("/v1/serviceTasks", [mine["id"]]),
        ("/v1/enrollmentRequests", [mine["id"]]),
        ("/v1/unenrollmentRequests", []),
    ):
        page = ok(t.client.get(path, params={"transactionId": "tx-seed-002"}))
        assert [x["id"] for x in page["data"]] == expected, path
    assert len(ok(t.client.get("/v1/enrollmentRequests"))["data"]) == 2
    assert ok(t.client.get("/v1/serviceTasks", params={"transactionId": "tx-none"}))["data"] == []
    problem(t.client.get("/v1/serviceTasks", params={"transaction": "x"}), 400, "unknown_parameter")


def test_an_unenrollment_never_ends_before_the_subscription_starts(t: Tenant) -> None:
    """Issue 13, item 26: a start date still ahead, then unenrolled today."""
    inst = instance(t, None)
    start = (datetime.now(UTC) + timedelta(days=30)).date()
    created = enrollment_request(t, inst, startDate=start.isoformat())
    done = wait_state(t, created["id"], "completed")
    subscription = ok(t.client.get(f"/v1/subscriptions/{done['subscriptionId']}"))
    assert subscription["startAt"].startswith(start.isoformat())
    r = t.client.post(
        f"/v1/enrollments/{done['enrollmentId']}/unenroll", json={"reason": "Moved away"}
    )
    assert ok(r)["status"] == "unenrolled"
    ended = ok(t.client.get(f"/v1/subscriptions/{done['subscriptionId']}"))
    assert ended["status"] == "inactive"
    started_at = datetime.fromisoformat(ended["startAt"])
    assert datetime.fromisoformat(ended["endAt"]) == started_at  # never ran


def test_the_task_log_records_every_setup_action_and_who_finished_it(t: Tenant) -> None:
    """Seed 002: each setup action is "captured ... in the service task's log" (item 25)."""
    inst = instance(t, TWO_STEPS)
    crew_key = t.key_with("enrollments:write", "enrollments:read")
    keys = ok(t.client.get("/v1/apiKeys"))["data"]
    actor = {k["name"]: f"api_key:{k['id']}" for k in keys}
    crew, office = actor["scoped"], actor[next(n for n in actor if n != "scoped")]
    created = enrollment_request(t, inst)
    work_order = wait_action(t, created["id"], 1, "in_progress")
    with t.server.client(crew_key) as c:
        ok(c.post(f"/v1/setupActions/{work_order['id']}/fail", json={"message": "No access"}))
    wait_state(t, created["id"], "device_setup_error")
    ok(t.client.post(f"/v1/serviceTasks/{created['id']}/retry"))
    wait_action(t, created["id"], 1, "in_progress")
    with t.server.client(crew_key) as c:
        ok(c.post(f"/v1/setupActions/{work_order['id']}/complete", json={"message": "done"}))
    wait_action(t, created["id"], 2, "in_progress")
    (todo,) = ok(
        t.client.get("/v1/todos", params={"serviceTaskId": created["id"], "kind": "action"})
    )["data"]
    ok(t.client.post(f"/v1/todos/{todo['id']}/complete", json={"note": "called"}))
    wait_state(t, created["id"], "completed")
    system = "system:service-task"
    assert [row[:3] for row in log_actions(t, created["id"])] == [
        (1, "created", actor_of_request(t, created["id"])),
        (2, "created", actor_of_request(t, created["id"])),
        (1, "started", system),
        (1, "failed", crew),
        (1, "started", system),
        (1, "completed", crew),
        (2, "started", system),
        (2, "completed", office),
    ]
    rows = ok(t.client.get(f"/v1/serviceTasks/{created['id']}/log"))["data"]
    failed = next(r for r in rows if r["setupActionEvent"] == "failed")
    assert failed["message"] == "create_work_order (sequence 1) failed: No access"
    assert failed["fromState"] == failed["toState"] == "awaiting_device_setup"


def actor_of_request(t: Tenant, task_id: str) -> str:
    rows = ok(t.client.get(f"/v1/serviceTasks/{task_id}/log"))["data"]
    return str(rows[0]["actor"])
