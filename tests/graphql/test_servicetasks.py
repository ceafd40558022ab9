"""Service tasks through GraphQL (issue 13 item 28): seed 002's requests created, listed,
approved, their setup actions and to-dos completed, corrected, retried, discarded, canceled,
with the REST view agreeing at every step.

The server runs no worker: the test runs the worker's jobs itself (``drain``), so each task
is in a known state whenever the test looks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servicetask.test_endpoints import TWO_STEPS
from tests.support.graphql import data, gql
from tests.support.server import Database, Server, Tenant, make_tenant, private_server

PROGRAM = "gql-setup-program"
# Every field of ServiceTaskOut, to compare with the REST body.
TASK = """id kind origin transactionId state errors { code message field } allowedOperations
  programInstanceId enrollmentId customerId subscriptionId deviceLocationId deviceIds
  setupActions { id taskId type sequence status attempts message result startedAt finishedAt }
  request expiresAt finishedAt version createdAt updatedAt"""
ACTION = "id taskId type sequence status attempts message result startedAt finishedAt"
TODO = "id kind status title detail taskId setupActionId completedAt completedBy note createdAt"


@pytest.fixture(scope="module")
def quiet_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = Path(tmp_path_factory.mktemp("gql-tasks-db"))
    with private_server(database, directory, PROGRAM) as srv:
        yield srv


@pytest.fixture
def t(quiet_server: Server) -> Iterator[Tenant]:
    tenant = make_tenant(quiet_server, "GraphQL tasks")
    yield tenant
    tenant.client.close()


# --- helpers --------------------------------------------------------------------------------


def error(body: dict[str, Any], code: str, status: int) -> dict[str, Any]:
    assert [e["extensions"]["code"] for e in body.get("errors", [])] == [code], body
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    assert extensions["status"] == status, body
    return extensions


def rest(t: Tenant, path: str, **params: Any) -> dict[str, Any]:
    r = t.client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def drain(t: Tenant) -> None:
    """Run every due job (the steps they queue too) until none is left."""
    t.server.drain()


def instance(t: Tenant, workflow: dict[str, Any] | None) -> dict[str, Any]:
    body = {
        "programSlug": PROGRAM,
        "slug": f"s-{uuid.uuid4().hex[:12]}",
        "name": "Setup",
        "status": "active",
        "setupWorkflow": workflow,
    }
    r = t.client.post("/v1/programInstances", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def person() -> dict[str, Any]:
    n = uuid.uuid4().hex[:10]
    return {"firstName": "Ada", "lastName": f"L{n}", "email": f"ada.{n}@example.com"}


def request_input(inst: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "transactionId": f"tx-{uuid.uuid4().hex[:12]}",
        "customerInfo": person(),
        "locationInfo": {
            "address": {"streetOne": "1 Grid St", "city": "Albany", "state": "NY"},
            "servicePointId": "SP-1",
        },
        "programInstanceId": inst["id"],
        "assetInfo": {
            "installationMethod": "bring_your_own",
            "assetOwnership": "customer",
            "assets": [{"type": "thermostat", "manufacturer": "Ecobee", "serialNumber": sn()}],
        },
    } | fields


def sn() -> str:
    return f"SN-{uuid.uuid4().hex[:10]}"


CREATE = f"""mutation($in: EnrollmentRequestInput!) {{
  createEnrollmentRequest(input: $in) {{ {TASK} }} }}"""
UNENROLL = f"""mutation($in: UnenrollmentRequestInput!) {{
  createUnenrollmentRequest(input: $in) {{ {TASK} }} }}"""
ONE = f"query($id: ID!) {{ serviceTask(id: $id) {{ {TASK} }} }}"


def task(t: Tenant, task_id: str) -> dict[str, Any]:
    """The task through GraphQL, checked equal to its REST body."""
    found: dict[str, Any] = data(gql(t.client, ONE, id=task_id))["serviceTask"]
    assert found == rest(t, f"/v1/serviceTasks/{task_id}")
    return found


def todos(t: Tenant, task_id: str, **filters: Any) -> list[dict[str, Any]]:
    query = f"""query($task: ID, $status: String, $kind: String) {{
      todos(serviceTaskId: $task, status: $status, kind: $kind) {{ edges {{ node {{ {TODO} }} }}
      }} }}"""
    page = data(gql(t.client, query, task=task_id, **filters))["todos"]
    found = [e["node"] for e in page["edges"]]
    params = {"serviceTaskId": task_id} | filters
    assert found == rest(t, "/v1/todos", **params)["data"]
    return found


def enrolled(t: Tenant, inst: dict[str, Any]) -> dict[str, Any]:
    """An enrollment request run to completed: the crew's work order and the office's to-do
    reported through GraphQL."""
    created = data(gql(t.client, CREATE, **{"in": request_input(inst)}))["createEnrollmentRequest"]
    drain(t)
    work_order = task(t, created["id"])["setupActions"][0]
    complete = f"""mutation($id: ID!) {{ completeSetupAction(id: $id) {{ {ACTION} }} }}"""
    assert data(gql(t.client, complete, id=work_order["id"]))["completeSetupAction"]
    drain(t)
    (todo,) = todos(t, created["id"], kind="action")
    done = "mutation($id: ID!) { completeTodo(id: $id) { status } }"
    assert data(gql(t.client, done, id=todo["id"]))["completeTodo"]["status"] == "completed"
    drain(t)
    finished = task(t, created["id"])
    assert finished["state"] == "completed"
    return finished


# --- an enrollment request, end to end --------------------------------------------------------


def test_an_enrollment_request_created_listed_and_set_up(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    body = request_input(inst)
    created = data(gql(t.client, CREATE, **{"in": body}))["createEnrollmentRequest"]
    assert (created["state"], created["kind"], created["origin"]) == (
        "pending",
        "enrollment",
        "request",
    )
    assert created == rest(t, f"/v1/enrollmentRequests/{created['id']}")
    assert created["request"]["assetInfo"]["assets"][0]["manufacturer"] == "ecobee"  # REST's rule
    # The same transactionId is the same task; another body under it is refused.
    again = data(gql(t.client, CREATE, **{"in": body}))["createEnrollmentRequest"]
    assert again["id"] == created["id"]
    refused = gql(t.client, CREATE, **{"in": body | {"customerInfo": person()}})
    assert error(refused, "transaction_id_reused", 409)["serviceTaskId"] == created["id"]

    # Listed by transactionId under its kind only, as REST lists it.
    lists = """query($tx: String!) {
      enrollmentRequests(transactionId: $tx) { edges { node { id } } totalCount }
      unenrollmentRequests(transactionId: $tx) { totalCount }
      serviceTasks(kind: enrollment, transactionId: $tx) { edges { node { id } } } }"""
    found = data(gql(t.client, lists, tx=body["transactionId"]))
    assert [e["node"]["id"] for e in found["enrollmentRequests"]["edges"]] == [created["id"]]
    assert found["enrollmentRequests"]["totalCount"] == 1
    assert found["unenrollmentRequests"]["totalCount"] == 0
    assert [e["node"]["id"] for e in found["serviceTasks"]["edges"]] == [created["id"]]
    for field_name in ("enrollmentRequest", "unenrollmentRequest"):
        read = gql(
            t.client, f"query($id: ID!) {{ {field_name}(id: $id) {{ id }} }}", id=created["id"]
        )
        if field_name == "enrollmentRequest":
            assert data(read)[field_name]["id"] == created["id"]
        else:
            error(read, "not_found", 404)

    # The worker validates, sets up, and starts the work order; the to-do waits for it.
    drain(t)
    waiting = task(t, created["id"])
    assert waiting["state"] == "awaiting_device_setup"
    work_order, call = waiting["setupActions"]
    assert (work_order["status"], call["status"]) == ("in_progress", "pending")
    one = f"query($id: ID!) {{ setupAction(id: $id) {{ {ACTION} }} }}"
    assert data(gql(t.client, one, id=work_order["id"]))["setupAction"] == rest(
        t, f"/v1/setupActions/{work_order['id']}"
    )
    complete = f"""mutation($id: ID!, $result: JSON, $message: String) {{
      completeSetupAction(id: $id, result: $result, message: $message) {{ {ACTION} }} }}"""
    done = data(
        gql(t.client, complete, id=work_order["id"], result={"workOrder": "WO-1"}, message="in")
    )["completeSetupAction"]
    assert (done["status"], done["result"], done["message"]) == (
        "completed",
        {"workOrder": "WO-1"},
        "in",
    )
    assert done == rest(t, f"/v1/setupActions/{work_order['id']}")
    error(gql(t.client, complete, id=work_order["id"]), "action_not_in_progress", 409)

    drain(t)
    (todo,) = todos(t, created["id"], kind="action", status="open")
    assert (todo["title"], todo["setupActionId"]) == ("Call the customer", call["id"])
    complete_todo = f"""mutation($id: ID!, $note: String) {{
      completeTodo(id: $id, note: $note) {{ {TODO} }} }}"""
    closed = data(gql(t.client, complete_todo, id=todo["id"], note="called"))["completeTodo"]
    assert (closed["status"], closed["note"]) == ("completed", "called")
    assert closed["completedBy"].startswith("api_key:")
    error(gql(t.client, complete_todo, id=todo["id"]), "todo_completed", 409)
    assert todos(t, created["id"], kind="action", status="completed") == [closed]

    drain(t)
    finished = task(t, created["id"])
    assert finished["state"] == "completed" and finished["allowedOperations"] == []
    followed = """query($id: ID!) { serviceTask(id: $id) {
      log { fromState toState message errors { code } actor at setupActionId setupActionEvent }
      enrollment { id status enrollmentStartDate } } }"""
    read = data(gql(t.client, followed, id=created["id"]))["serviceTask"]
    log = rest(t, f"/v1/serviceTasks/{created['id']}/log")["data"]
    assert read["log"] == [r | {"errors": [{"code": e["code"]} for e in r["errors"]]} for r in log]
    assert [(r["fromState"], r["toState"]) for r in read["log"] if not r["setupActionId"]][-1] == (
        "awaiting_device_setup",
        "completed",
    )
    enrollment = rest(t, f"/v1/enrollments/{finished['enrollmentId']}")
    assert read["enrollment"]["id"] == enrollment["id"]
    assert read["enrollment"]["status"] == enrollment["status"] == "approved"
    assert enrollment["enrollmentStartDate"] is not None


def test_the_lists_page_and_filter_as_rest(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    made = [
        data(gql(t.client, CREATE, **{"in": request_input(inst)}))["createEnrollmentRequest"]["id"]
        for _ in range(3)
    ]
    page = """query($after: String, $state: ServiceTaskState) {
      serviceTasks(first: 2, after: $after, state: $state) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }"""
    first = data(gql(t.client, page))["serviceTasks"]
    assert [e["node"]["id"] for e in first["edges"]] == sorted(made)[:2]
    assert first["pageInfo"]["hasNextPage"] and first["totalCount"] == 3
    rest_page = rest(t, "/v1/serviceTasks", perPage=2)
    assert [x["id"] for x in rest_page["data"]] == sorted(made)[:2]
    second = data(gql(t.client, page, after=first["pageInfo"]["endCursor"]))["serviceTasks"]
    assert [e["node"]["id"] for e in second["edges"]] == sorted(made)[2:]
    assert not second["pageInfo"]["hasNextPage"]
    assert data(gql(t.client, page, state="completed"))["serviceTasks"]["totalCount"] == 0
    by_instance = """query($i: ID!) { enrollmentRequests(programInstanceId: $i, state: pending) {
      totalCount } }"""
    assert data(gql(t.client, by_instance, i=inst["id"]))["enrollmentRequests"]["totalCount"] == 3
    # Bad filters are refused as REST refuses them.
    error(gql(t.client, '{ todos(status: "done") { totalCount } }'), "validation_error", 422)
    error(gql(t.client, "{ serviceTasks(first: 0) { totalCount } }"), "validation_error", 422)
    long_tx = '{ serviceTasks(transactionId: "%s") { totalCount } }' % ("x" * 101)
    error(gql(t.client, long_tx), "validation_error", 422)


# --- errors: corrected and retried, failed, discarded, canceled --------------------------------


def test_a_task_in_error_is_corrected_retried_failed_and_discarded(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    body = request_input(inst, customerInfo={"email": f"nobody.{uuid.uuid4().hex[:8]}@example.com"})
    created = data(gql(t.client, CREATE, **{"in": body}))["createEnrollmentRequest"]
    drain(t)
    stopped = task(t, created["id"])
    assert stopped["state"] == "validation_error"
    assert {e["code"] for e in stopped["errors"]} == {"customer_incomplete"}
    assert stopped["allowedOperations"] == ["retry", "discard", "cancel"]
    (exception,) = todos(t, created["id"], kind="exception")

    update = f"""mutation($id: ID!, $in: ServiceTaskUpdateInput!) {{
      updateServiceTask(id: $id, input: $in) {{ {TASK} }} }}"""
    bad = gql(t.client, update, id=created["id"], **{"in": {"customerInfo": {"email": "x"}}})
    assert error(bad, "validation_error", 422)["errors"][0]["field"] == "customerInfo.email"
    corrected = data(gql(t.client, update, id=created["id"], **{"in": {"customerInfo": person()}}))[
        "updateServiceTask"
    ]
    assert corrected["state"] == "validation_error"
    assert corrected["request"]["customerInfo"]["firstName"] == "Ada"
    retry = f"mutation($id: ID!) {{ retryServiceTask(id: $id) {{ {TASK} }} }}"
    retried = data(gql(t.client, retry, id=created["id"]))["retryServiceTask"]
    assert (retried["state"], retried["errors"]) == ("validate", [])
    assert todos(t, created["id"], kind="exception")[0]["id"] == exception["id"]
    # Not in an error state any more: neither corrected nor retried.
    error(
        gql(t.client, update, id=created["id"], **{"in": {"metadata": {}}}),
        "task_not_correctable",
        409,
    )
    refused = error(gql(t.client, retry, id=created["id"]), "invalid_task_transition", 409)
    assert refused["currentState"] == "validate"

    drain(t)
    work_order = task(t, created["id"])["setupActions"][0]
    fail = f"""mutation($id: ID!, $message: String) {{
      failSetupAction(id: $id, message: $message) {{ {ACTION} }} }}"""
    failed = data(gql(t.client, fail, id=work_order["id"], message="No access"))["failSetupAction"]
    assert (failed["status"], failed["message"]) == ("failed", "No access")
    drain(t)
    stuck = task(t, created["id"])
    assert stuck["state"] == "device_setup_error"
    assert [e["code"] for e in stuck["errors"]] == ["setup_action_failed"]
    discard = f"mutation($id: ID!) {{ discardServiceTask(id: $id) {{ {TASK} }} }}"
    discarded = data(gql(t.client, discard, id=created["id"]))["discardServiceTask"]
    assert discarded["state"] == "discarded" and discarded["allowedOperations"] == []
    assert discarded == task(t, created["id"])
    # The setup that never completed is undone: the enrollment it made is cancelled.
    assert rest(t, f"/v1/enrollments/{stuck['enrollmentId']}")["status"] == "cancelled"
    error(gql(t.client, discard, id=created["id"]), "invalid_task_transition", 409)


def test_cancel_ends_an_unfinished_task(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    created = data(gql(t.client, CREATE, **{"in": request_input(inst)}))["createEnrollmentRequest"]
    drain(t)
    cancel = f"""mutation($id: ID!, $comment: String) {{
      cancelServiceTask(id: $id, comment: $comment) {{ {TASK} }} }}"""
    long = gql(t.client, cancel, id=created["id"], comment="x" * 10_001)
    assert error(long, "validation_error", 422)["errors"][0]["field"] == "comment"
    canceled = data(gql(t.client, cancel, id=created["id"], comment="Moved away"))[
        "cancelServiceTask"
    ]
    assert canceled["state"] == "canceled" and canceled == task(t, created["id"])
    log = rest(t, f"/v1/serviceTasks/{created['id']}/log")["data"]
    assert (log[-1]["toState"], log[-1]["message"]) == ("canceled", "Moved away")
    assert rest(t, f"/v1/enrollments/{canceled['enrollmentId']}")["status"] == "cancelled"
    error(gql(t.client, cancel, id=created["id"]), "invalid_task_transition", 409)


# --- unenrollment: approval, rejection --------------------------------------------------------


def test_an_unenrollment_needing_approval_is_rejected_then_approved(t: Tenant) -> None:
    inst = instance(t, TWO_STEPS)
    done = enrolled(t, inst)
    enrollment_id = done["enrollmentId"]
    body = {"enrollmentId": enrollment_id, "reason": "INELIGIBLERATE", "removalMethod": "keep"}
    first = data(gql(t.client, UNENROLL, **{"in": body}))["createUnenrollmentRequest"]
    assert (first["kind"], first["state"]) == ("unenrollment", "pending")
    read = f"query($id: ID!) {{ unenrollmentRequest(id: $id) {{ {TASK} }} }}"
    assert data(gql(t.client, read, id=first["id"]))["unenrollmentRequest"] == first
    drain(t)
    waiting = task(t, first["id"])
    assert waiting["state"] == "approval_in_progress"
    assert waiting["allowedOperations"] == ["cancel", "approve", "reject"]
    (approval,) = todos(t, first["id"])
    assert approval["kind"] == "approval"
    complete_todo = "mutation($id: ID!) { completeTodo(id: $id) { id } }"
    error(gql(t.client, complete_todo, id=approval["id"]), "todo_needs_decision", 409)
    approve = f"""mutation($id: ID!, $comment: String) {{
      approveServiceTask(id: $id, comment: $comment) {{ {TASK} }} }}"""
    writer = t.key_with("enrollments:write", "enrollments:read")
    with t.server.client(writer) as w:
        error(gql(w, approve, id=first["id"]), "insufficient_scope", 403)
    reject = f"""mutation($id: ID!, $comment: String) {{
      rejectServiceTask(id: $id, comment: $comment) {{ {TASK} }} }}"""
    rejected = data(gql(t.client, reject, id=first["id"], comment="Keep them"))["rejectServiceTask"]
    assert rejected["state"] == "canceled" and rejected == task(t, first["id"])
    assert rest(t, f"/v1/enrollments/{enrollment_id}")["status"] == "approved"
    error(gql(t.client, approve, id=first["id"]), "invalid_task_transition", 409)

    second = data(gql(t.client, UNENROLL, **{"in": body | {"transactionId": "u2"}}))[
        "createUnenrollmentRequest"
    ]
    listed = """{ unenrollmentRequests(transactionId: "u2") { edges { node { id } } } }"""
    assert [
        e["node"]["id"] for e in data(gql(t.client, listed))["unenrollmentRequests"]["edges"]
    ] == [second["id"]]
    drain(t)
    approved = data(gql(t.client, approve, id=second["id"], comment="ok"))["approveServiceTask"]
    assert approved["state"] == "setup_device"
    drain(t)
    (todo,) = todos(t, second["id"], kind="action")
    assert data(gql(t.client, complete_todo, id=todo["id"]))["completeTodo"]["id"] == todo["id"]
    drain(t)
    assert task(t, second["id"])["state"] == "completed"
    enrollment = rest(t, f"/v1/enrollments/{enrollment_id}")
    assert (enrollment["status"], enrollment["metadata"]["exitReason"]) == (
        "unenrolled",
        "INELIGIBLERATE",
    )


def test_requests_without_a_workflow_complete_at_once(t: Tenant) -> None:
    """No setup workflow: adding a device and unenrolling run their task in the request."""
    inst = instance(t, None)
    e = t.enroll(inst["id"], address={"state": "NY"})
    for action in ("submit", "approve"):
        assert t.client.post(f"/v1/enrollments/{e['id']}/{action}").status_code == 200
    add = f"""mutation($e: ID!, $in: DeviceAddInput!) {{
      addEnrollmentDevice(enrollmentId: $e, input: $in) {{ {TASK} }} }}"""
    asset = {"type": "battery", "manufacturer": "tesla", "serialNumber": sn()}
    error(
        gql(t.client, add, e=e["id"], **{"in": {"asset": asset | {"type": ""}}}),
        "validation_error",
        422,
    )
    added = data(gql(t.client, add, e=e["id"], **{"in": {"asset": asset}}))["addEnrollmentDevice"]
    assert (added["state"], added["origin"]) == ("completed", "device")
    (device_id,) = added["deviceIds"]
    device = rest(t, f"/v1/devices/{device_id}")
    assert (device["serialNumber"], device["status"]) == (asset["serialNumber"], "active")
    assert added == task(t, added["id"])

    unenroll = {"enrollmentId": e["id"], "reason": "Moved away"}
    ended = data(gql(t.client, UNENROLL, **{"in": unenroll}))["createUnenrollmentRequest"]
    assert ended["state"] == "completed"
    assert rest(t, f"/v1/enrollments/{e['id']}")["status"] == "unenrolled"
    assert rest(t, f"/v1/devices/{device_id}")["status"] == "deactivated"
    # Not approved any more: a device is refused as REST refuses it.
    refused = gql(t.client, add, e=e["id"], **{"in": {"asset": asset | {"serialNumber": sn()}}})
    error(refused, "invalid_transition", 409)
    # An input REST refuses: neither an enrollment nor a customer and instance.
    error(gql(t.client, UNENROLL, **{"in": {"reason": "x"}}), "validation_error", 422)
    both = request_input(inst, programInstanceSlug=inst["slug"])
    error(gql(t.client, CREATE, **{"in": both}), "validation_error", 422)
