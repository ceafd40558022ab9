"""Tenant isolation, scopes and authentication of the GraphQL API, field by field, as
tests/api/test_isolation.py checks them for REST.

* Isolation: workspace B's all-scopes key, given workspace A's ids (and slugs), meets
  ``not_found`` on every query and mutation that takes one, with an answer that cannot be told
  apart from the one for an id that never existed, and neither workspace changes. B's lists
  show nothing of A.
* Scopes: every root field and every nested field that loads another object requires the
  scopes of the REST route it stands for. A key holding every other workspace scope meets
  ``insufficient_scope`` (and changes nothing); a key holding exactly those scopes succeeds
  with the same request.
* Authentication: no key, garbage, revoked and expired keys meet ``unauthorized`` everywhere;
  platform keys meet ``insufficient_scope`` on workspace fields.

The operations come from the served schema: a root field this file has no recipe for fails
the test, so a field added later is covered or noticed.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
import pytest
from graphql import parse
from graphql.utilities import get_operation_ast
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth.scopes import WORKSPACE_SCOPES, Scope
from enroll.auth.service import issue_key
from enroll.context import AppContext
from enroll.graphql.schema import schema
from enroll.graphql.scopes import selected_needs
from enroll.models import ServiceTask
from enroll.servicetask import service as setup
from enroll.servicetask import steps
from enroll.servicetask.schemas import EnrollmentRequestCreate, UnenrollmentRequestCreate
from tests.support.server import Server, Tenant, make_tenant

Doc = tuple[str, dict[str, Any]]  # a GraphQL document and its variables


def gql(client: httpx.Client, doc: Doc, headers: dict[str, str] | None = None) -> dict[str, Any]:
    query, variables = doc
    r = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def fresh() -> str:
    return uuid.uuid4().hex[:12]


# --- a workspace's resources ----------------------------------------------------------------

EVERY = {
    "installationMethods": ["bring_your_own", "ship_device", "utility_installation", "reenroll"],
    "assetOwnerships": ["customer", "utility"],
}
# Enrollment setup waits for a to-do; unenrolling for the reason RATE waits for a reviewer.
WAITS = {"enrollmentActions": [{"sequence": 1, "type": "create_todo", **EVERY}]}
APPROVAL = {
    "enrollmentActions": [],
    "unenrollmentActions": [],
    "unenrollReasons": [{"code": "RATE", "requiresApproval": True}],
}
MakeTask = Callable[[AsyncSession, datetime], Awaitable[ServiceTask]]


class Side:
    """One workspace and what the recipes need of it, made on first use; every id and slug
    made is kept (``names``) to fake them and to search answers for them."""

    def __init__(self, tenant: Tenant) -> None:
        self.t = tenant
        self.c = tenant.client
        self.names: set[str] = set()
        self.documents: list[str] = []  # their paths, read by state()

    def _ok(self, r: httpx.Response) -> dict[str, Any]:
        assert r.is_success, r.text
        body: dict[str, Any] = r.json()
        return body

    @cached_property
    def instance(self) -> dict[str, Any]:
        instance = self.t.instance()
        self.names |= {instance["id"], instance["slug"]}
        return instance

    def enrollment(self, status: str = "eligible") -> dict[str, Any]:
        e = self.t.enroll(self.instance["id"])
        self.names |= {e["id"], e["customerId"]}
        steps = {
            "eligible": [],
            "submitted": ["submit"],
            "approved": ["submit", "approve"],
            "cancelled": ["cancel"],
        }
        for action in steps[status]:
            e = self._ok(self.c.post(f"/v1/enrollments/{e['id']}/{action}"))
        return e

    @cached_property
    def lead(self) -> dict[str, Any]:
        n = fresh()
        lead = self._ok(
            self.c.post(
                "/v1/leads",
                json={"email": f"lead.{n}@example.com", "firstName": "Lee", "lastName": n},
            )
        )
        self.names.add(lead["id"])
        return lead

    @cached_property
    def customer(self) -> dict[str, Any]:
        """A customer of its own (made directly), for its household."""
        n = fresh()
        customer = self._ok(
            self.c.post(
                "/v1/customers",
                json={"firstName": "Hal", "lastName": n, "email": f"hal.{n}@example.com"},
            )
        )
        self.names.add(customer["id"])
        return customer

    def member(self) -> dict[str, Any]:
        """A new spouse in the household of ``customer``."""
        member = self._ok(
            self.c.post(
                f"/v1/customers/{self.customer['id']}/householdMembers",
                json={"role": "spouse", "firstName": "Sam", "taxId": "123-45-6789"},
            )
        )
        self.names.add(member["id"])
        return member

    @cached_property
    def spouse(self) -> dict[str, Any]:
        return self.member()

    @cached_property
    def api_key(self) -> dict[str, Any]:
        key = self._ok(
            self.c.post("/v1/apiKeys", json={"name": f"k-{fresh()}", "scopes": ["jobs:read"]})
        )
        self.names.add(key["id"])
        return key

    @cached_property
    def import_(self) -> dict[str, Any]:
        """A finished import of one row into the instance."""
        n = fresh()
        row = {"firstName": "Imp", "lastName": n, "email": f"imp.{n}@example.com"}
        r = self.c.post(
            f"/v1/programInstances/{self.instance['id']}/imports",
            content=json.dumps(row) + "\n",
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.text
        self.t.server.drain()
        imp = self._ok(self.c.get(f"/v1/imports/{r.json()['id']}"))
        assert imp["status"] in ("completed", "failed"), imp
        self.names.add(imp["id"])
        return imp

    @cached_property
    def location(self) -> dict[str, Any]:
        """A service location (ERCOT: an Oncor ESI ID)."""
        location = self._ok(
            self.c.post(
                "/v1/serviceLocations",
                json={
                    "servicePointId": "1044372" + str(int(fresh(), 16))[-10:].rjust(10, "0"),
                    "address": {"streetOne": f"12 {fresh()} St", "city": "Dallas"},
                },
            )
        )
        self.names.add(location["id"])
        return location

    @cached_property
    def location_import(self) -> dict[str, Any]:
        """A finished import of one ERCOT extract row."""
        row = (
            "1044372" + str(int(fresh(), 16))[-10:].rjust(10, "0") + ",1 MAIN ST,,DALLAS,TX,75201\n"
        )
        r = self.c.post("/v1/serviceLocationImports", files={"file": ("x.csv", row.encode())})
        assert r.status_code == 202, r.text
        self.t.server.drain()
        imp = self._ok(self.c.get(r.headers["location"]))
        assert imp["status"] == "completed", imp
        self.names.add(imp["id"])
        return imp

    @cached_property
    def template(self) -> dict[str, Any]:
        """A template of the instance, on cancelling."""
        template = self._ok(
            self.c.post(
                "/v1/notificationTemplates",
                json={
                    "programInstanceId": self.instance["id"],
                    "audience": "administrator",
                    "trigger": "cancelled",
                    "recipients": [f"ops.{fresh()}@example.com"],
                    "subject": "Cancelled",
                    "body": "{{ enrollment.id }} was cancelled.",
                },
            )
        )
        self.names.add(template["id"])
        return template

    def document(self) -> dict[str, Any]:
        """A new document of a new (eligible) enrollment."""
        e = self.enrollment()
        pdf = b"%PDF-1.4\n%" + fresh().encode() + b"\n"
        document = self._ok(
            self.c.post(
                f"/v1/enrollments/{e['id']}/documents",
                files={"file": ("a.pdf", pdf, "application/pdf")},
                data={"type": "PAY_STUB", "issuedAt": "2026-01-01"},
            )
        )
        self.names.add(document["id"])
        self.documents.append(f"/v1/enrollments/{e['id']}/documents/{document['id']}")
        return document

    @cached_property
    def plan(self) -> dict[str, Any]:
        """A plan of the instance."""
        plan = self._ok(
            self.c.post(
                f"/v1/programInstances/{self.instance['id']}/plans",
                json={"code": f"P{fresh()}", "name": "Plan"},
            )
        )
        self.names |= {plan["id"], plan["code"]}
        return plan

    @cached_property
    def notification(self) -> dict[str, Any]:
        """What cancelling an enrollment logged, once its send job stored it."""
        assert self.template
        enrollment_id = self.enrollment("cancelled")["id"]
        self.t.server.drain()
        (sent,) = self._ok(self.c.get("/v1/notifications", params={"enrollmentId": enrollment_id}))[
            "data"
        ]
        self.names.add(sent["id"])
        return sent

    @cached_property
    def subscription(self) -> dict[str, Any]:
        """The subscription approving an enrollment set up."""
        enrollment_id = self.enrollment("approved")["id"]
        (found,) = self._ok(
            self.c.get("/v1/subscriptions", params={"enrollmentId": enrollment_id})
        )["data"]
        self.names |= {found["id"], found["deviceLocationId"]}
        return found

    @cached_property
    def device(self) -> dict[str, Any]:
        device = self._ok(
            self.c.post(
                "/v1/devices",
                json={"type": "battery", "manufacturer": "tesla", "serialNumber": fresh()},
            )
        )
        self.names.add(device["id"])
        return device

    def webhook_endpoint(self) -> dict[str, Any]:
        """A new endpoint receiving a type that needs no read scope beyond webhooks:manage
        (the name does not resolve: every delivery fails, and stays retryable)."""
        endpoint = self._ok(
            self.c.post(
                "/v1/webhookEndpoints",
                json={
                    "url": f"https://hooks-{fresh()}.example.invalid/in",
                    "eventTypes": ["webhook_endpoint.disabled"],
                },
            )
        )
        self.names.add(endpoint["id"])
        return endpoint

    @cached_property
    def hook(self) -> dict[str, Any]:
        return self.webhook_endpoint()

    @cached_property
    def delivery(self) -> dict[str, Any]:
        """The delivery of a test event to ``hook``."""
        delivery = self._ok(self.c.post(f"/v1/webhookEndpoints/{self.hook['id']}/test"))
        self.names |= {delivery["id"], delivery["eventId"]}
        return delivery

    @cached_property
    def reevaluation(self) -> dict[str, Any]:
        """A dry run of the instance's re-evaluation (queued; the worker runs it)."""
        run = self._ok(
            self.c.post(
                f"/v1/programInstances/{self.instance['id']}/reevaluations",
                json={"dryRun": True},
            )
        )
        self.names.add(run["id"])
        return run

    def _setup_instance(self, workflow: dict[str, Any]) -> dict[str, Any]:
        instance = self.t.instance("anywhere-program", setupWorkflow=workflow)
        self.names |= {instance["id"], instance["slug"]}
        return instance

    def _inline(self, make: MakeTask) -> dict[str, Any]:
        """A service task made and run as far as it goes in one transaction of the test's own:
        the server's worker sees it only once it waits for someone (or stopped in an error),
        so nothing moves it while the test looks."""

        async def work(ctx: AppContext) -> str:
            async with ctx.db.transaction() as session:
                now = ctx.clock.now()
                task = await make(session, now)
                await steps.run_inline(session, task, now=now)
                return task.id

        task = self._ok(self.c.get(f"/v1/serviceTasks/{self.t.server.database.run(work)}"))
        self.names |= {task["id"]} | {a["id"] for a in task["setupActions"]}
        self.names |= {task[k] for k in ("enrollmentId", "customerId", "subscriptionId") if task[k]}
        todos = self._ok(self.c.get("/v1/todos", params={"serviceTaskId": task["id"]}))["data"]
        self.names |= {todo["id"] for todo in todos}
        return task | {"todos": todos}

    def _request(self, instance: dict[str, Any], **fields: Any) -> MakeTask:
        n = fresh()
        body = EnrollmentRequestCreate.model_validate(
            {
                "transactionId": f"tx-{n}",
                "customerInfo": {"firstName": "Ada", "lastName": n, "email": f"a.{n}@example.com"},
                "programInstanceId": instance["id"],
                "assetInfo": {
                    "installationMethod": "bring_your_own",
                    "assetOwnership": "customer",
                    "assets": [{"type": "battery", "manufacturer": "tesla", "serialNumber": n}],
                },
            }
            | fields
        )
        return lambda session, now: setup.request_enrollment(
            session, workspace_id=self.t.id, body=body, actor="test", now=now
        )

    @cached_property
    def waiting_task(self) -> dict[str, Any]:
        """An enrollment request in awaiting_device_setup: its action and to-do open."""
        task = self._inline(self._request(self._setup_instance(WAITS)))
        assert task["state"] == "awaiting_device_setup", task
        return task

    @cached_property
    def failed_task(self) -> dict[str, Any]:
        """An enrollment request stopped in validation_error (an unknown customer's email)."""
        instance = self._setup_instance(WAITS)
        task = self._inline(self._request(instance, customerInfo={"email": f"{fresh()}@x.org"}))
        assert task["state"] == "validation_error", task
        return task

    @cached_property
    def approval_task(self) -> dict[str, Any]:
        """An unenrollment waiting in approval_in_progress for a reviewer."""
        instance = self._setup_instance(APPROVAL)
        enrolled = self._inline(self._request(instance))
        assert enrolled["state"] == "completed", enrolled
        body = UnenrollmentRequestCreate.model_validate(
            {"enrollmentId": enrolled["enrollmentId"], "reason": "RATE"}
        )
        task = self._inline(
            lambda session, now: setup.request_unenrollment(
                session, workspace_id=self.t.id, body=body, actor="test", now=now
            )
        )
        assert task["state"] == "approval_in_progress", task
        return task

    def state(self) -> Any:
        """What the workspace holds, as its own REST reads show it. Of webhook endpoints,
        what a request could change (the worker's delivery failures change the rest) and how
        many deliveries each has."""
        reads = [
            "/v1/programInstances",
            "/v1/enrollments",
            "/v1/customers",
            "/v1/leads",
            "/v1/serviceLocations",
            "/v1/serviceTasks",
            "/v1/todos",
        ]
        held = {path: self._ok(self.c.get(path, params={"perPage": 100}))["data"] for path in reads}
        if "customer" in self.__dict__:  # its household, which no list shows
            household = f"/v1/customers/{self.customer['id']}/householdMembers"
            held["household"] = self._ok(self.c.get(household))
        held["documents"] = [self.c.get(path).json() for path in self.documents]
        held["documentTypes"] = self._ok(self.c.get("/v1/documentTypes"))["data"]
        kept = ("id", "url", "description", "eventTypes", "previousSecretExpiresAt")
        held["hooks"] = [
            {k: hook[k] for k in kept}
            | {
                "deliveries": len(
                    self._ok(
                        self.c.get(
                            f"/v1/webhookEndpoints/{hook['id']}/deliveries",
                            params={"perPage": 100},
                        )
                    )["data"]
                )
            }
            for hook in self._ok(self.c.get("/v1/webhookEndpoints", params={"perPage": 100}))[
                "data"
            ]
        ]
        return held


def person() -> dict[str, Any]:
    n = fresh()
    return {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": n,
        "email": f"pat.{n}@example.com",
        "address": {"state": "NY"},
    }


# --- the operations -------------------------------------------------------------------------

# A recipe makes the request: ``caller`` is the workspace sending it, ``owner`` the one whose
# ids it names (the same workspace, except in the isolation matrix).
Recipe = Callable[[Side, Side], Doc]


@dataclass(frozen=True)
class Op:
    name: str  # Query.x, Mutation.x, or Type.field for the nested fields that load objects
    scopes: tuple[str, ...]  # () = any valid key
    recipe: Recipe
    # Variants naming the owner's ids, for the isolation matrix.
    isolation: dict[str, Recipe] = field(default_factory=dict)
    platform: bool = False  # a catalog write: platform keys only, as REST

    @property
    def write(self) -> bool:
        return self.name.startswith("Mutation.")


R = Scope
ENROLLMENT_MUTATION = "mutation($id: ID!) {{ {field}(id: $id{extra}) {{ id status }} }}"


def _act(action: str, status: str, extra: str = "", *, field: str = "") -> Recipe:
    field_name = field or f"{action}Enrollment"

    def recipe(caller: Side, owner: Side) -> Doc:
        e = owner.enrollment(status)
        return ENROLLMENT_MUTATION.format(field=field_name, extra=extra), {"id": e["id"]}

    return recipe


def _enroll_with(build: Callable[[Side, Side], tuple[str, dict[str, Any]]]) -> Recipe:
    """createEnrollment in ``instance`` with ``input`` as ``build`` makes them."""

    def recipe(caller: Side, owner: Side) -> Doc:
        instance, body = build(caller, owner)
        return (
            """mutation($instance: ID!, $input: EnrollmentCreateInput!) {
              createEnrollment(programInstanceId: $instance, input: $input) { id } }""",
            {"instance": instance, "input": body},
        )

    return recipe


def _enrollments_of(key: str) -> Recipe:
    def recipe(caller: Side, owner: Side) -> Doc:
        query = "query($i: ID) { enrollments(programInstanceId: $i) { totalCount } }"
        return query, {"i": owner.instance[key]}

    return recipe


UPDATE_INSTANCE = """mutation($id: ID!) {
  updateProgramInstance(id: $id, input: {name: "Renamed"}) { id name } }"""
ONE_ENROLLMENT = "query($id: ID!) {{ enrollment(id: $id) {{ id {inner} }} }}"
ONE_CUSTOMER = "query($id: ID!) { customer(id: $id) { id } }"
UPDATE_CUSTOMER = """mutation($id: ID!) {
  updateCustomer(id: $id, input: {firstName: "Renamed"}) { id firstName } }"""
HOUSEHOLD = "query($id: ID!) { customer(id: $id) { id householdMembers { id taxIdLast4 } } }"
ADD_MEMBER = """mutation($c: ID!) {
  addHouseholdMember(customerId: $c, input: {role: dependent, firstName: "Kid"}) { id } }"""
UPDATE_MEMBER = """mutation($c: ID!, $id: ID!) {
  updateHouseholdMember(customerId: $c, id: $id, input: {agi: 100}) { id agi } }"""
DELETE_MEMBER = "mutation($c: ID!, $id: ID!) { deleteHouseholdMember(customerId: $c, id: $id) }"
ONE_IMPORT = "query($id: ID!) { import(id: $id) { id status counts { rows } } }"
ONE_SERVICE_LOCATION = "query($id: ID!) { serviceLocation(id: $id) { id servicePointId } }"
UPDATE_LOCATION = """mutation($id: ID!) {
  updateServiceLocation(id: $id, input: {status: "inactive"}) { id status } }"""
ONE_LOCATION_IMPORT = "query($id: ID!) { serviceLocationImport(id: $id) { id counts { created } } }"
ONE_TEMPLATE = "query($id: ID!) { notificationTemplate(id: $id) { id subject } }"
ONE_NOTIFICATION = "query($id: ID!) { notification(id: $id) { id status } }"
UPDATE_TEMPLATE = """mutation($id: ID!) {
  updateNotificationTemplate(id: $id, input: {subject: "Changed"}) { id subject } }"""
DELETE_TEMPLATE = "mutation($id: ID!) { deleteNotificationTemplate(id: $id) }"
ONE_PLAN = "query($i: ID!, $id: ID!) { plan(programInstanceId: $i, id: $id) { id code } }"
PLAN_QUOTE = """query($i: ID!, $l: ID!) {
  planQuote(programInstanceId: $i, serviceLocationId: $l) { locationId plans } }"""
USAGE = "query($id: ID!) { serviceLocationUsage(id: $id) { edges { node { id kwh } } } }"
RECORD_USAGE = """mutation($id: ID!, $start: DateTime!, $end: DateTime!) {
  recordServiceLocationUsage(id: $id, readings: [{start: $start, end: $end, kwh: "2.5"}]) {
    counts { created } } }"""
_USAGE_HOURS = iter(range(10**6))


def _usage_vars(location_id: str) -> dict[str, Any]:
    """An hour's reading of a period not sent before."""
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=next(_USAGE_HOURS))
    return {
        "id": location_id,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
    }


PLANS = "query($i: ID!) { plans(programInstanceId: $i) { edges { node { id } } } }"
CREATE_PLAN = """mutation($i: ID!, $code: String!) {
  createPlan(programInstanceId: $i, input: {code: $code, name: "New"}) { id } }"""
UPDATE_PLAN = """mutation($i: ID!, $id: ID!) {
  updatePlan(programInstanceId: $i, id: $id, input: {name: "Renamed"}) { id name } }"""
DELETE_PLAN = "mutation($i: ID!, $id: ID!) { deletePlan(programInstanceId: $i, id: $id) }"
DELETE_DOCUMENT = "mutation($e: ID!, $id: ID!) { deleteDocument(enrollmentId: $e, id: $id) }"
CREATE_DOCUMENT_TYPE = """mutation($code: String!) {
  createDocumentType(input: {code: $code, label: "Type"}) { code } }"""


def _delete_document(caller: Side, owner: Side) -> Doc:
    document = owner.document()
    return DELETE_DOCUMENT, {"e": document["enrollmentId"], "id": document["id"]}


SET_CHARGE = """mutation($u: String!) { setDeliveryCharge(utilityCode: $u, input: {
  monthlyDollars: "4.23", centsPerKwh: "5.6384", effectiveFrom: "2026-01-01"}) { id } }"""
ONE_SUBSCRIPTION = "query($id: ID!) { subscription(id: $id) { id status } }"
ONE_LOCATION = "query($id: ID!) { deviceLocation(id: $id) { id } }"
ONE_DEVICE = "query($id: ID!) { device(id: $id) { id status } }"
VERSIONS = (
    "query($i: ID!) { criteriaVersions(programInstanceId: $i) { edges { node { version } } } }"
)
ONE_VERSION = "query($i: ID!) { criteriaVersion(programInstanceId: $i, version: 1) { version } }"
DELETE_INSTANCE = "mutation($id: ID!) { deleteProgramInstance(id: $id) }"
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"
ONE_HOOK = "query($id: ID!) { webhookEndpoint(id: $id) { id url } }"
UPDATE_HOOK = """mutation($id: ID!) {
  updateWebhookEndpoint(id: $id, input: {description: "Changed"}) { id description } }"""
DELETE_HOOK = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }"
ROTATE_HOOK = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }"
TEST_HOOK = "mutation($id: ID!) { testWebhookEndpoint(id: $id) { id status } }"
REPLAY_HOOK = """mutation($id: ID!) {
  replayWebhookEvents(id: $id, input: {since: "2000-01-01T00:00:00Z"}) { deliveries } }"""
HOOK_DELIVERIES = """query($id: ID!) {
  webhookDeliveries(endpointId: $id) { edges { node { id attempts { id } } } } }"""
ONE_DELIVERY = "query($id: ID!) { webhookDelivery(id: $id) { id status attempts { id } } }"
RETRY_DELIVERY = "mutation($id: ID!) { retryWebhookDelivery(id: $id) { id status } }"
ONE_REEVALUATION = "query($id: ID!) { reevaluation(id: $id) { id status report { total } } }"
REEVALUATE = """mutation($id: ID!) {
  reevaluateProgramInstance(id: $id, input: {dryRun: true}) { id status } }"""
PREVIEW = """query($i: ID!, $input: EligibilityPreviewInput!) {
  eligibilityPreview(programInstanceId: $i, input: $input) { status checks { id } } }"""


ONE_TASK = "query($id: ID!) {{ {field}(id: $id) {{ id state {inner} }} }}"
TASK_MUTATION = "mutation($id: ID!) {{ {field}(id: $id{extra}) {{ id state }} }}"
ACTION_MUTATION = "mutation($id: ID!) {{ {field}(id: $id) {{ id status }} }}"
ONE_ACTION = "query($id: ID!) { setupAction(id: $id) { id status } }"
COMPLETE_TODO = "mutation($id: ID!) { completeTodo(id: $id) { id status } }"
ADD_DEVICE = """mutation($id: ID!, $sn: String!) { addEnrollmentDevice(enrollmentId: $id,
  input: {asset: {type: "battery", manufacturer: "tesla", serialNumber: $sn}}) { id state } }"""
CREATE_REQUEST = """mutation($in: EnrollmentRequestInput!) {
  createEnrollmentRequest(input: $in) { id state } }"""
UNENROLL_REQUEST = """mutation($in: UnenrollmentRequestInput!) {
  createUnenrollmentRequest(input: $in) { id state } }"""


def _read_task(field_name: str, task: Callable[[Side], dict[str, Any]], inner: str = "") -> Recipe:
    def recipe(caller: Side, owner: Side) -> Doc:
        return ONE_TASK.format(field=field_name, inner=inner), {"id": task(owner)["id"]}

    return recipe


def _on_task(field_name: str, task: Callable[[Side], dict[str, Any]], extra: str = "") -> Recipe:
    def recipe(caller: Side, owner: Side) -> Doc:
        return TASK_MUTATION.format(field=field_name, extra=extra), {"id": task(owner)["id"]}

    return recipe


def _on_action(field_name: str) -> Recipe:
    def recipe(caller: Side, owner: Side) -> Doc:
        action_id = owner.waiting_task["setupActions"][0]["id"]
        return ACTION_MUTATION.format(field=field_name), {"id": action_id}

    return recipe


def _request_in(key: str) -> Recipe:
    """createEnrollmentRequest in the owner's instance, named by ``key`` (id or slug)."""

    def recipe(caller: Side, owner: Side) -> Doc:
        n = fresh()
        body = {
            "transactionId": f"tx-{n}",
            "customerInfo": {"firstName": "Ada", "lastName": n, "email": f"a.{n}@example.com"},
            "programInstanceId": owner.instance[key],
            "assetInfo": {"installationMethod": "ship_device", "assetOwnership": "utility"},
        }
        return CREATE_REQUEST, {"in": body}

    return recipe


def _unenroll_request(build: Callable[[Side], dict[str, Any]]) -> Recipe:
    def recipe(caller: Side, owner: Side) -> Doc:
        return UNENROLL_REQUEST, {"in": {"reason": "Moved"} | build(owner)}

    return recipe


def _waiting(side: Side) -> dict[str, Any]:
    return side.waiting_task


def _failed(side: Side) -> dict[str, Any]:
    return side.failed_task


def _approval(side: Side) -> dict[str, Any]:
    return side.approval_task


def _on_member(query: str, member: Callable[[Side], dict[str, Any]]) -> Recipe:
    """A mutation of a member of the owner's household."""

    def recipe(caller: Side, owner: Side) -> Doc:
        return query, {"c": owner.customer["id"], "id": member(owner)["id"]}

    return recipe


def _member_elsewhere(query: str) -> Recipe:
    """The owner's member under the caller's own customer (the member is the owner's)."""

    def recipe(caller: Side, owner: Side) -> Doc:
        return query, {"c": caller.customer["id"], "id": owner.spouse["id"]}

    return recipe


PAYMENT_METHODS = "query($e: ID!) { paymentMethods(enrollmentId: $e) { id last4 } }"
PAYMENT_SESSION = "mutation($e: ID!) { startPaymentSession(enrollmentId: $e) { provider } }"
ADD_PAYMENT_METHOD = """mutation($e: ID!) {
  addPaymentMethod(enrollmentId: $e, paymentMethodId: "pm_card_visa") { id last4 } }"""


def _payment_session_started(side: Side) -> str:
    """An enrollment with a payment session: the sandbox then vouches for pm_card_visa."""
    e = side.enrollment()
    side._ok(side.c.post(f"/v1/enrollments/{e['id']}/paymentSession"))
    return str(e["id"])


def _customer_of(side: Side) -> str:
    customer_id: str = side.enrollment()["customerId"]
    return customer_id


OPS = [
    Op(
        "Query.program",
        (),
        lambda c, o: ('{ program(slug: "core-test-program") { id } }', {}),
    ),
    Op("Query.programs", (), lambda c, o: ("{ programs { edges { node { id } } } }", {})),
    Op(
        "Query.programInstance",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (
            "query($id: ID!) { programInstance(id: $id) { id } }",
            {"id": o.instance["id"]},
        ),
        isolation={
            "by id": lambda c, o: (
                "query($id: ID!) { programInstance(id: $id) { id } }",
                {"id": o.instance["id"]},
            ),
            "by slug": lambda c, o: (
                "query($slug: String!) { programInstance(slug: $slug) { id } }",
                {"slug": o.instance["slug"]},
            ),
        },
    ),
    Op(
        "Query.programInstances",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: ("{ programInstances { edges { node { id } } } }", {}),
    ),
    Op(
        "Query.enrollment",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (ONE_ENROLLMENT.format(inner=""), {"id": o.enrollment()["id"]}),
        isolation={
            "by id": lambda c, o: (ONE_ENROLLMENT.format(inner=""), {"id": o.enrollment()["id"]})
        },
    ),
    Op(
        "Query.enrollments",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (
            "query($i: ID) { enrollments(programInstanceId: $i) { edges { node { id } } } }",
            {"i": o.instance["id"]},
        ),
        isolation={
            "by instance id": _enrollments_of("id"),
            "by instance slug": _enrollments_of("slug"),
        },
    ),
    Op(
        "Query.events",
        (R.EVENTS_READ,),
        lambda c, o: ("{ events { data { id } nextCursor } }", {}),
    ),
    Op(
        "Enrollment.programInstance",
        (R.ENROLLMENTS_READ, R.PROGRAM_INSTANCES_READ),
        lambda c, o: (
            ONE_ENROLLMENT.format(inner="programInstance { id }"),
            {"id": o.enrollment()["id"]},
        ),
    ),
    Op(
        "Enrollment.customer",
        (R.ENROLLMENTS_READ, R.CUSTOMERS_READ),
        lambda c, o: (
            ONE_ENROLLMENT.format(inner="customer { id }"),
            {"id": o.enrollment()["id"]},
        ),
    ),
    Op(
        "Enrollment.history",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (ONE_ENROLLMENT.format(inner="history { id }"), {"id": o.enrollment()["id"]}),
    ),
    Op(
        "Enrollment.sourceEnrollment",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (
            ONE_ENROLLMENT.format(inner="sourceEnrollment { id }"),
            {"id": o.enrollment()["id"]},
        ),
    ),
    Op(
        "ProgramInstance.program",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (
            "query($id: ID!) { programInstance(id: $id) { id program { id } } }",
            {"id": o.instance["id"]},
        ),
    ),
    Op(
        "Mutation.createProgramInstance",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (
            """mutation($slug: String!) { createProgramInstance(input: {
                 programSlug: "core-test-program", slug: $slug, name: "New"}) { id } }""",
            {"slug": f"i-{fresh()}"},
        ),
    ),
    Op(
        "Mutation.updateProgramInstance",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (UPDATE_INSTANCE, {"id": o.instance["id"]}),
        isolation={
            "by id": lambda c, o: (UPDATE_INSTANCE, {"id": o.instance["id"]}),
            "by slug": lambda c, o: (UPDATE_INSTANCE, {"id": o.instance["slug"]}),
        },
    ),
    Op(
        "Mutation.deleteProgramInstance",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (DELETE_INSTANCE, {"id": o.t.instance()["id"]}),
        isolation={
            "by id": lambda c, o: (DELETE_INSTANCE, {"id": o.instance["id"]}),
            "by slug": lambda c, o: (DELETE_INSTANCE, {"id": o.instance["slug"]}),
        },
    ),
    Op(
        "Mutation.createEnrollment",
        (R.ENROLLMENTS_WRITE,),
        _enroll_with(lambda c, o: (o.instance["id"], person())),
        isolation={
            "in the instance, by id": _enroll_with(lambda c, o: (o.instance["id"], person())),
            "in the instance, by slug": _enroll_with(lambda c, o: (o.instance["slug"], person())),
            "for the customer": _enroll_with(
                lambda c, o: (
                    c.instance["id"],
                    {
                        "identificationType": "customerId",
                        "customerId": o.enrollment()["customerId"],
                    },
                )
            ),
            "for the lead": _enroll_with(
                lambda c, o: (
                    c.instance["id"],
                    {"identificationType": "leadId", "leadId": o.lead["id"]},
                )
            ),
            "copying the enrollment": _enroll_with(
                lambda c, o: (
                    c.instance["id"],
                    {"identificationType": "enrollmentId", "enrollmentId": o.enrollment()["id"]},
                )
            ),
        },
    ),
    Op(
        "Mutation.updateEnrollment",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (
            'mutation($id: ID!) { updateEnrollment(id: $id, input: {tags: ["x"]}) { id } }',
            {"id": o.enrollment()["id"]},
        ),
    ),
    Op(
        "Mutation.confirmBillingAddress",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (
            """mutation($id: ID!) { confirmBillingAddress(id: $id,
              input: {sameAsServiceAddress: true}) { id } }""",
            {"id": o.enrollment()["id"]},
        ),
    ),
    Op("Mutation.submitEnrollment", (R.ENROLLMENTS_WRITE,), _act("submit", "eligible")),
    Op("Mutation.approveEnrollment", (R.ENROLLMENTS_REVIEW,), _act("approve", "submitted")),
    Op(
        "Mutation.rejectEnrollment",
        (R.ENROLLMENTS_REVIEW,),
        _act("reject", "submitted", ', reason: "No"'),
    ),
    Op(
        "Mutation.markEnrollmentUnprocessable",
        (R.ENROLLMENTS_REVIEW,),
        _act("reject", "submitted", ', reason: "No"', field="markEnrollmentUnprocessable"),
    ),
    Op("Mutation.cancelEnrollment", (R.ENROLLMENTS_WRITE,), _act("cancel", "eligible")),
    Op("Mutation.reevaluateEnrollment", (R.ENROLLMENTS_WRITE,), _act("reevaluate", "eligible")),
    Op(
        "Mutation.decideEnrollment",
        (R.ENROLLMENTS_REVIEW,),
        _act("decide", "eligible", ', status: ineligible, reason: "No"'),
    ),
    Op(
        "Mutation.unenrollEnrollment",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (
            """mutation($id: ID!) { unenrollEnrollment(id: $id, input: {reason: "Moved"}) {
                 enrollment { id } serviceTask { id } } }""",
            {"id": o.enrollment("approved")["id"]},
        ),
    ),
    Op(
        "Mutation.deleteEnrollment",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (
            "mutation($id: ID!) { deleteEnrollment(id: $id) }",
            {"id": o.enrollment()["id"]},
        ),
    ),
    # payment methods (seed 003)
    Op(
        "Query.paymentMethods",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (PAYMENT_METHODS, {"e": o.enrollment()["id"]}),
        isolation={"by id": lambda c, o: (PAYMENT_METHODS, {"e": o.enrollment()["id"]})},
    ),
    Op(
        "Mutation.startPaymentSession",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (PAYMENT_SESSION, {"e": o.enrollment()["id"]}),
        isolation={"by id": lambda c, o: (PAYMENT_SESSION, {"e": o.enrollment()["id"]})},
    ),
    Op(
        "Mutation.addPaymentMethod",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (ADD_PAYMENT_METHOD, {"e": _payment_session_started(o)}),
        isolation={"by id": lambda c, o: (ADD_PAYMENT_METHOD, {"e": _payment_session_started(o)})},
    ),
    # customers and leads
    Op(
        "Query.customer",
        (R.CUSTOMERS_READ,),
        lambda c, o: (ONE_CUSTOMER, {"id": _customer_of(o)}),
        isolation={"by id": lambda c, o: (ONE_CUSTOMER, {"id": _customer_of(o)})},
    ),
    Op("Query.customers", (R.CUSTOMERS_READ,), lambda c, o: ("{ customers { totalCount } }", {})),
    Op(
        "Query.leads", (R.CUSTOMERS_READ,), lambda c, o: ("{ leads { edges { node { id } } } }", {})
    ),
    Op(
        "Mutation.createCustomer",
        (R.CUSTOMERS_WRITE,),
        lambda c, o: (
            """mutation($email: String!) { createCustomer(input: {
                 firstName: "Ada", lastName: "L", email: $email}) { id } }""",
            {"email": f"ada.{fresh()}@example.com"},
        ),
    ),
    Op(
        "Mutation.updateCustomer",
        (R.CUSTOMERS_WRITE,),
        lambda c, o: (UPDATE_CUSTOMER, {"id": _customer_of(o)}),
        isolation={"by id": lambda c, o: (UPDATE_CUSTOMER, {"id": _customer_of(o)})},
    ),
    Op(
        "Customer.householdMembers",
        (R.CUSTOMERS_READ,),
        lambda c, o: (HOUSEHOLD, {"id": o.spouse["customerId"]}),
    ),
    Op(
        "Mutation.addHouseholdMember",
        (R.CUSTOMERS_WRITE,),
        lambda c, o: (ADD_MEMBER, {"c": o.customer["id"]}),
        isolation={"by customer id": lambda c, o: (ADD_MEMBER, {"c": o.customer["id"]})},
    ),
    Op(
        "Mutation.updateHouseholdMember",
        (R.CUSTOMERS_WRITE,),
        _on_member(UPDATE_MEMBER, lambda o: o.spouse),
        isolation={
            "by ids": _on_member(UPDATE_MEMBER, lambda o: o.spouse),
            "by member id": _member_elsewhere(UPDATE_MEMBER),
        },
    ),
    Op(
        "Mutation.deleteHouseholdMember",
        (R.CUSTOMERS_WRITE,),
        _on_member(DELETE_MEMBER, Side.member),
        isolation={
            "by ids": _on_member(DELETE_MEMBER, lambda o: o.spouse),
            "by member id": _member_elsewhere(DELETE_MEMBER),
        },
    ),
    Op(
        "Mutation.createLead",
        (R.CUSTOMERS_WRITE,),
        lambda c, o: (
            "mutation($email: String!) { createLead(input: {email: $email}) { id } }",
            {"email": f"lead.{fresh()}@example.com"},
        ),
    ),
    # service locations
    Op(
        "Query.serviceLocation",
        (R.LOCATIONS_READ,),
        lambda c, o: (ONE_SERVICE_LOCATION, {"id": o.location["id"]}),
        isolation={"by id": lambda c, o: (ONE_SERVICE_LOCATION, {"id": o.location["id"]})},
    ),
    Op(
        "Query.serviceLocations",
        (R.LOCATIONS_READ,),
        lambda c, o: ("{ serviceLocations { totalCount } }", {}),
    ),
    Op(
        "Query.searchServiceLocations",
        (R.LOCATIONS_READ,),
        lambda c, o: ('{ searchServiceLocations(query: "12 main") { score } }', {}),
    ),
    Op(
        "Query.lookupServiceLocation",
        (R.LOCATIONS_READ,),
        lambda c, o: (
            "query($p: String!) { lookupServiceLocation(servicePointId: $p) { id } }",
            {"p": o.location["servicePointId"]},
        ),
    ),
    Op(
        "Query.serviceLocationImport",
        (R.LOCATIONS_READ,),
        lambda c, o: (ONE_LOCATION_IMPORT, {"id": o.location_import["id"]}),
        isolation={"by id": lambda c, o: (ONE_LOCATION_IMPORT, {"id": o.location_import["id"]})},
    ),
    Op(
        "Mutation.createServiceLocation",
        (R.LOCATIONS_WRITE,),
        lambda c, o: (
            """mutation($p: String!) { createServiceLocation(input: {servicePointId: $p,
                 address: {streetOne: "1 Elm St"}}) { id } }""",
            {"p": "1008901" + str(int(fresh(), 16))[-10:].rjust(10, "0")},
        ),
    ),
    Op(
        "Query.serviceLocationUsage",
        (R.LOCATIONS_READ,),
        lambda c, o: (USAGE, {"id": o.location["id"]}),
        isolation={"by id": lambda c, o: (USAGE, {"id": o.location["id"]})},
    ),
    Op(
        "Mutation.recordServiceLocationUsage",
        (R.LOCATIONS_WRITE,),
        lambda c, o: (RECORD_USAGE, _usage_vars(o.location["id"])),
        isolation={"by id": lambda c, o: (RECORD_USAGE, _usage_vars(o.location["id"]))},
    ),
    Op(
        "Query.planQuote",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (PLAN_QUOTE, {"i": o.instance["id"], "l": o.location["id"]}),
        isolation={
            "by id": lambda c, o: (PLAN_QUOTE, {"i": o.instance["id"], "l": o.location["id"]})
        },
    ),
    Op(
        "Mutation.updateServiceLocation",
        (R.LOCATIONS_WRITE,),
        lambda c, o: (UPDATE_LOCATION, {"id": o.location["id"]}),
        isolation={"by id": lambda c, o: (UPDATE_LOCATION, {"id": o.location["id"]})},
    ),
    # catalog writes (platform keys)
    Op(
        "Mutation.createProgram",
        (R.PROGRAMS_WRITE,),
        lambda c, o: (
            """mutation($slug: String!) { createProgram(input: {slug: $slug, name: "P",
                 type: grid_services}) { id } }""",
            {"slug": f"p-{fresh()}"},
        ),
        platform=True,
    ),
    Op(
        "Mutation.updateProgram",
        (R.PROGRAMS_WRITE,),
        lambda c, o: (
            """mutation { updateProgram(id: "anywhere-program", input: {active: true}) {
                 id active } }""",
            {},
        ),
        platform=True,
    ),
    # notification templates and the notification log
    Op(
        "Query.notificationTemplate",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (ONE_TEMPLATE, {"id": o.template["id"]}),
        isolation={"by id": lambda c, o: (ONE_TEMPLATE, {"id": o.template["id"]})},
    ),
    Op(
        "Query.notificationTemplates",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: ("{ notificationTemplates { totalCount } }", {}),
    ),
    Op(
        "Query.notification",
        (R.CUSTOMERS_READ,),
        lambda c, o: (ONE_NOTIFICATION, {"id": o.notification["id"]}),
        isolation={"by id": lambda c, o: (ONE_NOTIFICATION, {"id": o.notification["id"]})},
    ),
    Op(
        "Query.notifications",
        (R.CUSTOMERS_READ,),
        lambda c, o: ("{ notifications { edges { node { id } } } }", {}),
    ),
    Op(
        "Mutation.createNotificationTemplate",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (
            """mutation($i: ID!) { createNotificationTemplate(input: {programInstanceId: $i,
                 audience: customer, trigger: rejected, subject: "Sorry",
                 body: "Not this time."}) { id } }""",
            {"i": o.t.instance()["id"]},
        ),
    ),
    Op(
        "Mutation.updateNotificationTemplate",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (UPDATE_TEMPLATE, {"id": o.template["id"]}),
        isolation={"by id": lambda c, o: (UPDATE_TEMPLATE, {"id": o.template["id"]})},
    ),
    Op(
        "Mutation.deleteNotificationTemplate",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (DELETE_TEMPLATE, {"id": o.template["id"]}),
        isolation={"by id": lambda c, o: (DELETE_TEMPLATE, {"id": o.template["id"]})},
    ),
    # documents (uploads and downloads are REST's) and document types
    Op(
        "Enrollment.documents",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (
            ONE_ENROLLMENT.format(inner="documents { id type }"),
            {"id": o.document()["enrollmentId"]},
        ),
    ),
    Op(
        "Mutation.deleteDocument",
        (R.ENROLLMENTS_WRITE,),
        _delete_document,
        isolation={"by enrollment and id": _delete_document},
    ),
    Op(
        "Query.documentTypes",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: ("{ documentTypes { code } }", {}),
    ),
    Op(
        "Mutation.createDocumentType",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (CREATE_DOCUMENT_TYPE, {"code": f"N{fresh().upper()}"}),
    ),
    # plans and delivery charges
    Op(
        "Query.plan",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (ONE_PLAN, {"i": o.instance["id"], "id": o.plan["id"]}),
        isolation={
            "by id": lambda c, o: (ONE_PLAN, {"i": o.instance["id"], "id": o.plan["id"]}),
            "by instance slug and code": lambda c, o: (
                ONE_PLAN,
                {"i": o.instance["slug"], "id": o.plan["code"]},
            ),
        },
    ),
    Op(
        "Query.plans",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (PLANS, {"i": o.instance["id"]}),
        isolation={
            "by instance id": lambda c, o: (PLANS, {"i": o.instance["id"]}),
            "by instance slug": lambda c, o: (PLANS, {"i": o.instance["slug"]}),
        },
    ),
    Op(
        "Mutation.createPlan",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (CREATE_PLAN, {"i": o.instance["id"], "code": f"N{fresh()}"}),
        isolation={
            "in the instance": lambda c, o: (
                CREATE_PLAN,
                {"i": o.instance["id"], "code": f"N{fresh()}"},
            )
        },
    ),
    Op(
        "Mutation.updatePlan",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (UPDATE_PLAN, {"i": o.instance["id"], "id": o.plan["id"]}),
        isolation={
            "by id": lambda c, o: (UPDATE_PLAN, {"i": o.instance["id"], "id": o.plan["id"]})
        },
    ),
    Op(
        "Mutation.deletePlan",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (DELETE_PLAN, {"i": o.instance["id"], "id": o.plan["id"]}),
        isolation={
            "by id": lambda c, o: (DELETE_PLAN, {"i": o.instance["id"], "id": o.plan["id"]})
        },
    ),
    Op(
        "Query.deliveryCharges",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: ("{ deliveryCharges { edges { node { id utilityCode } } } }", {}),
    ),
    Op(
        "Mutation.setDeliveryCharge",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (SET_CHARGE, {"u": f"u-{fresh()}"}),
    ),
    # criteria versions
    Op(
        "Query.criteriaVersions",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (VERSIONS, {"i": o.instance["id"]}),
        isolation={
            "by instance id": lambda c, o: (VERSIONS, {"i": o.instance["id"]}),
            "by instance slug": lambda c, o: (VERSIONS, {"i": o.instance["slug"]}),
        },
    ),
    Op(
        "Query.criteriaVersion",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (ONE_VERSION, {"i": o.instance["id"]}),
        isolation={"by instance id": lambda c, o: (ONE_VERSION, {"i": o.instance["id"]})},
    ),
    # participation
    Op(
        "Query.subscription",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (ONE_SUBSCRIPTION, {"id": o.subscription["id"]}),
        isolation={"by id": lambda c, o: (ONE_SUBSCRIPTION, {"id": o.subscription["id"]})},
    ),
    Op(
        "Query.subscriptions",
        (R.ENROLLMENTS_READ,),
        lambda c, o: ("{ subscriptions { totalCount } }", {}),
    ),
    Op(
        "Query.deviceLocation",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (ONE_LOCATION, {"id": o.subscription["deviceLocationId"]}),
        isolation={
            "by id": lambda c, o: (ONE_LOCATION, {"id": o.subscription["deviceLocationId"]})
        },
    ),
    Op(
        "Query.device",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (ONE_DEVICE, {"id": o.device["id"]}),
        isolation={"by id": lambda c, o: (ONE_DEVICE, {"id": o.device["id"]})},
    ),
    Op("Query.devices", (R.ENROLLMENTS_READ,), lambda c, o: ("{ devices { totalCount } }", {})),
    Op(
        "Mutation.createDevice",
        (R.DEVICES_WRITE,),
        lambda c, o: (
            """mutation($sn: String!) { createDevice(input: {type: "battery",
                 manufacturer: "tesla", serialNumber: $sn}) { id status } }""",
            {"sn": fresh()},
        ),
    ),
    # service tasks: requests, operations, setup actions, to-dos
    Op(
        "Query.serviceTask",
        (R.ENROLLMENTS_READ,),
        _read_task("serviceTask", _waiting),
        isolation={"by id": _read_task("serviceTask", _waiting)},
    ),
    Op(
        "ServiceTask.log",
        (R.ENROLLMENTS_READ,),
        _read_task("serviceTask", _waiting, "log { toState }"),
    ),
    Op(
        "ServiceTask.enrollment",
        (R.ENROLLMENTS_READ,),
        _read_task("serviceTask", _waiting, "enrollment { id }"),
    ),
    Op(
        "Query.serviceTasks",
        (R.ENROLLMENTS_READ,),
        lambda c, o: ("{ serviceTasks { edges { node { id } } totalCount } }", {}),
    ),
    Op(
        "Query.enrollmentRequest",
        (R.ENROLLMENTS_READ,),
        _read_task("enrollmentRequest", _waiting),
        isolation={"by id": _read_task("enrollmentRequest", _waiting)},
    ),
    Op(
        "Query.enrollmentRequests",
        (R.ENROLLMENTS_READ,),
        lambda c, o: ("{ enrollmentRequests { totalCount } }", {}),
    ),
    Op(
        "Query.unenrollmentRequest",
        (R.ENROLLMENTS_READ,),
        _read_task("unenrollmentRequest", _approval),
        isolation={"by id": _read_task("unenrollmentRequest", _approval)},
    ),
    Op(
        "Query.unenrollmentRequests",
        (R.ENROLLMENTS_READ,),
        lambda c, o: ("{ unenrollmentRequests { totalCount } }", {}),
    ),
    Op(
        "Query.setupAction",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (ONE_ACTION, {"id": o.waiting_task["setupActions"][0]["id"]}),
        isolation={
            "by id": lambda c, o: (ONE_ACTION, {"id": o.waiting_task["setupActions"][0]["id"]})
        },
    ),
    Op(
        "Query.todos",
        (R.ENROLLMENTS_READ,),
        lambda c, o: ("{ todos { edges { node { id } } totalCount } }", {}),
    ),
    Op(
        "Mutation.createEnrollmentRequest",
        (R.ENROLLMENTS_WRITE,),
        _request_in("id"),
        isolation={
            "in the instance, by id": _request_in("id"),
            "in the instance, by slug": _request_in("slug"),
        },
    ),
    Op(
        "Mutation.createUnenrollmentRequest",
        (R.ENROLLMENTS_WRITE,),
        _unenroll_request(lambda o: {"enrollmentId": o.enrollment("approved")["id"]}),
        isolation={
            "for the enrollment": _unenroll_request(
                lambda o: {"enrollmentId": o.enrollment("approved")["id"]}
            ),
            "for the customer in the instance": _unenroll_request(
                lambda o: {
                    "customerId": o.enrollment("approved")["customerId"],
                    "programInstanceId": o.instance["slug"],
                }
            ),
        },
    ),
    Op(
        "Mutation.addEnrollmentDevice",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (ADD_DEVICE, {"id": o.enrollment("approved")["id"], "sn": fresh()}),
        isolation={
            "by id": lambda c, o: (
                ADD_DEVICE,
                {"id": o.enrollment("approved")["id"], "sn": fresh()},
            )
        },
    ),
    Op(
        "Mutation.updateServiceTask",
        (R.ENROLLMENTS_WRITE,),
        _on_task("updateServiceTask", _failed, ", input: {metadata: {fixed: true}}"),
        isolation={
            "by id": _on_task("updateServiceTask", _failed, ", input: {metadata: {fixed: true}}")
        },
    ),
    Op(
        "Mutation.retryServiceTask",
        (R.ENROLLMENTS_WRITE,),
        _on_task("retryServiceTask", _failed),
        isolation={"by id": _on_task("retryServiceTask", _failed)},
    ),
    Op(
        "Mutation.discardServiceTask",
        (R.ENROLLMENTS_WRITE,),
        _on_task("discardServiceTask", _failed),
        isolation={"by id": _on_task("discardServiceTask", _failed)},
    ),
    Op(
        "Mutation.cancelServiceTask",
        (R.ENROLLMENTS_WRITE,),
        _on_task("cancelServiceTask", _waiting, ', comment: "Stop"'),
        isolation={"by id": _on_task("cancelServiceTask", _waiting, ', comment: "Stop"')},
    ),
    Op(
        "Mutation.approveServiceTask",
        (R.ENROLLMENTS_REVIEW,),
        _on_task("approveServiceTask", _approval),
        isolation={"by id": _on_task("approveServiceTask", _approval)},
    ),
    Op(
        "Mutation.rejectServiceTask",
        (R.ENROLLMENTS_REVIEW,),
        _on_task("rejectServiceTask", _approval, ', comment: "No"'),
        isolation={"by id": _on_task("rejectServiceTask", _approval, ', comment: "No"')},
    ),
    Op(
        "Mutation.completeSetupAction",
        (R.ENROLLMENTS_WRITE,),
        _on_action("completeSetupAction"),
        isolation={"by id": _on_action("completeSetupAction")},
    ),
    Op(
        "Mutation.failSetupAction",
        (R.ENROLLMENTS_WRITE,),
        _on_action("failSetupAction"),
        isolation={"by id": _on_action("failSetupAction")},
    ),
    Op(
        "Mutation.completeTodo",
        (R.ENROLLMENTS_WRITE,),
        lambda c, o: (COMPLETE_TODO, {"id": o.waiting_task["todos"][0]["id"]}),
        isolation={"by id": lambda c, o: (COMPLETE_TODO, {"id": o.waiting_task["todos"][0]["id"]})},
    ),
    # imports and jobs
    Op(
        "Query.import",
        (R.IMPORTS_READ,),
        lambda c, o: (ONE_IMPORT, {"id": o.import_["id"]}),
        isolation={"by id": lambda c, o: (ONE_IMPORT, {"id": o.import_["id"]})},
    ),
    Op("Query.jobs", (R.JOBS_READ,), lambda c, o: ("{ jobs { edges { node { id } } } }", {})),
    # API keys
    Op("Query.apiKeys", (R.API_KEYS_MANAGE,), lambda c, o: ("{ apiKeys { totalCount } }", {})),
    Op(
        "Mutation.createApiKey",
        (R.API_KEYS_MANAGE,),
        lambda c, o: (
            """mutation { createApiKey(input: {name: "ci", scopes: ["api_keys:manage"]}) {
                 key { id } apiKey } }""",
            {},
        ),
    ),
    Op(
        "Mutation.revokeApiKey",
        (R.API_KEYS_MANAGE,),
        lambda c, o: (REVOKE_KEY, {"id": o.api_key["id"]}),
        isolation={"by id": lambda c, o: (REVOKE_KEY, {"id": o.api_key["id"]})},
    ),
    # webhook endpoints and deliveries, the signing secret
    Op(
        "Query.webhookEndpoint",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (ONE_HOOK, {"id": o.hook["id"]}),
        isolation={"by id": lambda c, o: (ONE_HOOK, {"id": o.hook["id"]})},
    ),
    Op(
        "Query.webhookEndpoints",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: ("{ webhookEndpoints { edges { node { id } } totalCount } }", {}),
    ),
    Op(
        "Mutation.createWebhookEndpoint",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (
            """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
                 eventTypes: ["webhook.test"]}) { endpoint { id } secret } }""",
            {"url": f"https://hooks-{fresh()}.example.invalid/new"},
        ),
    ),
    Op(
        "Mutation.updateWebhookEndpoint",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (UPDATE_HOOK, {"id": o.hook["id"]}),
        isolation={"by id": lambda c, o: (UPDATE_HOOK, {"id": o.hook["id"]})},
    ),
    Op(
        "Mutation.deleteWebhookEndpoint",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (DELETE_HOOK, {"id": o.webhook_endpoint()["id"]}),
        isolation={"by id": lambda c, o: (DELETE_HOOK, {"id": o.hook["id"]})},
    ),
    Op(
        "Mutation.rotateWebhookSecret",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (ROTATE_HOOK, {"id": o.hook["id"]}),
        isolation={"by id": lambda c, o: (ROTATE_HOOK, {"id": o.hook["id"]})},
    ),
    Op(
        "Mutation.testWebhookEndpoint",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (TEST_HOOK, {"id": o.hook["id"]}),
        isolation={"by id": lambda c, o: (TEST_HOOK, {"id": o.hook["id"]})},
    ),
    Op(
        "Mutation.replayWebhookEvents",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (REPLAY_HOOK, {"id": o.hook["id"]}),
        isolation={"by id": lambda c, o: (REPLAY_HOOK, {"id": o.hook["id"]})},
    ),
    Op(
        "Query.webhookDeliveries",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (HOOK_DELIVERIES, {"id": o.hook["id"]}),
        isolation={"by endpoint id": lambda c, o: (HOOK_DELIVERIES, {"id": o.hook["id"]})},
    ),
    Op(
        "Query.webhookDelivery",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (ONE_DELIVERY, {"id": o.delivery["id"]}),
        isolation={"by id": lambda c, o: (ONE_DELIVERY, {"id": o.delivery["id"]})},
    ),
    Op(
        "Mutation.retryWebhookDelivery",
        (R.WEBHOOKS_MANAGE,),
        lambda c, o: (RETRY_DELIVERY, {"id": o.delivery["id"]}),
        isolation={"by id": lambda c, o: (RETRY_DELIVERY, {"id": o.delivery["id"]})},
    ),
    Op(
        "Mutation.signingSecret",
        (R.API_KEYS_MANAGE,),
        lambda c, o: ("mutation { signingSecret }", {}),
    ),
    # eligibility preview and re-evaluations
    Op(
        "Query.eligibilityPreview",
        (R.ENROLLMENTS_READ,),
        lambda c, o: (PREVIEW, {"i": o.instance["id"], "input": person()}),
        isolation={
            "in the instance, by id": lambda c, o: (
                PREVIEW,
                {"i": o.instance["id"], "input": person()},
            ),
            "in the instance, by slug": lambda c, o: (
                PREVIEW,
                {"i": o.instance["slug"], "input": person()},
            ),
            "for the customer, as sent": lambda c, o: (
                PREVIEW,
                {"i": c.instance["id"], "input": {"customerId": _customer_of(o)}},
            ),
            "for the customer": lambda c, o: (
                PREVIEW,
                {
                    "i": c.instance["id"],
                    "input": {"identificationType": "customerId", "customerId": _customer_of(o)},
                },
            ),
            "for the lead": lambda c, o: (
                PREVIEW,
                {
                    "i": c.instance["id"],
                    "input": {"identificationType": "leadId", "leadId": o.lead["id"]},
                },
            ),
            "copying the enrollment": lambda c, o: (
                PREVIEW,
                {
                    "i": c.instance["id"],
                    "input": {
                        "identificationType": "enrollmentId",
                        "enrollmentId": o.enrollment()["id"],
                    },
                },
            ),
        },
    ),
    Op(
        "Mutation.reevaluateProgramInstance",
        (R.PROGRAM_INSTANCES_WRITE,),
        lambda c, o: (REEVALUATE, {"id": o.instance["id"]}),
        isolation={
            "by id": lambda c, o: (REEVALUATE, {"id": o.instance["id"]}),
            "by slug": lambda c, o: (REEVALUATE, {"id": o.instance["slug"]}),
        },
    ),
    Op(
        "Query.reevaluation",
        (R.PROGRAM_INSTANCES_READ,),
        lambda c, o: (ONE_REEVALUATION, {"id": o.reevaluation["id"]}),
        isolation={"by id": lambda c, o: (ONE_REEVALUATION, {"id": o.reevaluation["id"]})},
    ),
]
# Every mutation that names an enrollment is in the isolation matrix by that id.
for _op in OPS:
    if _op.write and _op.name.endswith("Enrollment") and _op.name != "Mutation.createEnrollment":
        _op.isolation["by id"] = _op.recipe
BY_NAME = {op.name: op for op in OPS}
ISOLATION_CASES = [
    pytest.param(op, variant, id=f"{op.name} {variant}") for op in OPS for variant in op.isolation
]


def _ops(ops: list[Op]) -> list[Any]:
    return [pytest.param(op, id=op.name) for op in ops]


def test_every_root_field_has_a_recipe(server: Server) -> None:
    query = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"
    with server.client() as client:
        schema = gql(client, (query, {}))["data"]["__schema"]
    served = {f"Query.{f['name']}" for f in schema["queryType"]["fields"]} | {
        f"Mutation.{f['name']}" for f in schema["mutationType"]["fields"]
    }
    known = {name for name in BY_NAME if name.split(".")[0] in ("Query", "Mutation")}
    assert served == known, f"add recipes for {served - known}; drop {known - served}"


# --- 1. isolation ---------------------------------------------------------------------------


def _swap(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, dict):
        return {k: _swap(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, mapping) for v in value]
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _normalized(body: dict[str, Any], placeholders: dict[str, str]) -> str:
    text = json.dumps(body, sort_keys=True)
    for value, placeholder in placeholders.items():
        text = text.replace(value, placeholder)
    return text


@pytest.mark.parametrize(("op", "variant"), ISOLATION_CASES)
def test_other_workspace_ids_are_not_found(
    op: Op, variant: str, tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b = Side(tenant), Side(other_tenant)
    b.enrollment()  # B holds data of its own: "unchanged" also means nothing moved in B
    query, variables = op.isolation[variant](b, a)
    named = sorted(set(_strings(variables)) & a.names)
    assert named, f"{op.name} {variant} names nothing of A: {variables}"
    before = (a.state(), b.state())

    body = gql(b.c, (query, variables))
    assert codes(body) == ["not_found"], body
    assert body["errors"][0]["extensions"]["status"] == 404
    if op.write:
        assert body["data"] is None, body
    else:
        # null, or (a connection being non-null) no data at all
        assert body["data"] is None or set(body["data"].values()) == {None}, body

    # The answer for ids that exist nowhere is the same: nothing tells B that A's exist.
    fakes = {name: "c" + fresh() + fresh() for name in named}
    never = gql(b.c, (query, _swap(variables, fakes)))
    placeholders = {name: f"<{i}>" for i, name in enumerate(named)}
    assert _normalized(body, placeholders) == _normalized(
        never, {fakes[name]: p for name, p in placeholders.items()}
    )
    # Beyond echoing the ids B sent, the answer holds nothing of A.
    echoed = _normalized(body, placeholders)
    assert [n for n in a.names if n in echoed] == [], echoed
    assert (a.state(), b.state()) == before, f"{op.name} {variant} changed something"


def test_other_workspace_lists_show_nothing_of_a(tenant: Tenant, other_tenant: Tenant) -> None:
    a, b = Side(tenant), Side(other_tenant)
    mine = b.enrollment()
    a.enrollment("approved")
    a.lead  # noqa: B018
    a.waiting_task  # noqa: B018
    a.approval_task  # noqa: B018
    query = """{
      programInstances(first: 100) { edges { node { id slug } } totalCount }
      enrollments(first: 100) { edges { node { id customerId programInstance { id }
        customer { id } } } totalCount }
      serviceTasks(first: 100) { edges { node { id } } totalCount }
      enrollmentRequests { totalCount } unenrollmentRequests { totalCount }
      todos(first: 100) { edges { node { id } } totalCount }
      events(limit: 500) { data { id data } }
    }"""
    b.t.server.database.settle()  # PostgreSQL shows events once older transactions ended
    body = gql(b.c, (query, {}))
    assert "errors" not in body, body
    text = json.dumps(body)
    assert [n for n in a.names if n in text] == []
    assert mine["id"] in text and body["data"]["enrollments"]["totalCount"] == 1
    assert body["data"]["programInstances"]["totalCount"] == 1
    for tasks_or_todos in ("serviceTasks", "enrollmentRequests", "unenrollmentRequests", "todos"):
        assert body["data"][tasks_or_todos]["totalCount"] == 0, tasks_or_todos


# --- 2. scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize("op", _ops(OPS))
def test_missing_scope_is_refused_and_the_required_ones_suffice(
    op: Op, tenant: Tenant, platform_key: str
) -> None:
    side = Side(tenant)
    doc = op.recipe(side, side)
    required = set(op.scopes)
    # The scopes the fields declare (what a mutation checks before it runs) are these too.
    document = parse(doc[0])
    operation = get_operation_ast(document)
    assert operation is not None
    selected = selected_needs(schema._schema, document, operation)
    assert {s.value for item in selected for s in item.needs.scopes} == required, op.name
    if required:
        # Lacking them all, and (when there are several) lacking each one alone.
        lacking = [required] + ([{s} for s in required] if len(required) > 1 else [])
        before = side.state()
        for missing in lacking:
            key = tenant.key_with(*sorted(WORKSPACE_SCOPES - missing))
            body = gql(side.c, doc, bearer(key))
            assert codes(body) == ["insufficient_scope"], (missing, body)
            err = body["errors"][0]
            assert err["extensions"]["status"] == 403
            assert any(s in err["message"] for s in missing), err
        assert side.state() == before, f"{op.name} without {sorted(required)} changed something"
        allowed = [platform_key if op.platform else tenant.key_with(*sorted(required))]
    else:  # any valid key: one with a single unrelated scope, and a platform key
        allowed = [tenant.key_with(Scope.JOBS_READ), platform_key]
    for key in allowed:
        body = gql(side.c, doc, bearer(key))
        assert "errors" not in body, (op.name, body)
        assert all(v is not None for v in body["data"].values()), body


# --- 3. authentication ----------------------------------------------------------------------


class AuthWorld:
    """A workspace with keys that no longer work, and a platform key holding every scope."""

    def __init__(self, server: Server) -> None:
        self.tenant = make_tenant(server, "GraphQL auth")
        self.side = Side(self.tenant)
        c = self.tenant.client
        everything = sorted(WORKSPACE_SCOPES)
        probe = ("{ programInstances { totalCount } }", {})

        revoked = c.post("/v1/apiKeys", json={"name": "revoked", "scopes": everything}).json()
        with server.client(revoked["apiKey"]) as as_revoked:
            assert codes(gql(as_revoked, probe)) == []  # works, and is now cached
            assert c.delete(f"/v1/apiKeys/{revoked['id']}").status_code == 200
            assert codes(gql(as_revoked, probe)) == ["unauthorized"]

        # A key made while the server's clock runs behind, expiring between its clock and ours:
        # it works until the clock is set right, and from then on it has expired for good.
        expires = datetime.now(UTC) - timedelta(seconds=1)
        with server.clock_shifted(timedelta(seconds=-30)):
            r = c.post(
                "/v1/apiKeys",
                json={"name": "expiring", "scopes": everything, "expiresAt": expires.isoformat()},
            )
            assert r.status_code == 201, r.text
            expired = r.json()
        with server.client(expired["apiKey"]) as as_expired:
            with server.clock_shifted(timedelta(seconds=-30)):
                assert codes(gql(as_expired, probe)) == []
            body = gql(as_expired, probe)
            assert codes(body) == ["unauthorized"] and "expired" in body["errors"][0]["message"]

        unknown = "enr_" + "".join(secrets.choice(string.ascii_letters) for _ in range(40))
        self.credentials: dict[str, dict[str, str]] = {
            "no key": {},
            "garbage bearer": {"Authorization": "Bearer not-a-key"},
            "unknown well-formed key": bearer(unknown),
            "empty bearer": {"Authorization": "Bearer"},
            "valid key, wrong scheme": {"Authorization": f"Basic {self.tenant.key}"},
            "revoked key": bearer(revoked["apiKey"]),
            "expired key": bearer(expired["apiKey"]),
        }
        self.mighty_platform_key = server.database.run(self._mighty_key)

    @staticmethod
    async def _mighty_key(ctx: AppContext) -> str:
        async with ctx.db.transaction() as session:
            issued = await issue_key(
                session, workspace_id=None, name="all scopes", scopes=[s.value for s in Scope]
            )
        return issued.secret


@pytest.fixture(scope="module")
def auth(server: Server, platform_key: str) -> Iterator[AuthWorld]:
    world = AuthWorld(server)
    yield world
    world.tenant.client.close()


@pytest.mark.parametrize("op", _ops(OPS))
def test_no_valid_key_is_unauthorized(op: Op, server: Server, auth: AuthWorld) -> None:
    doc = op.recipe(auth.side, auth.side)
    before = auth.side.state()
    with server.client() as anonymous:
        for name, headers in auth.credentials.items():
            body = gql(anonymous, doc, headers)
            assert set(codes(body)) == {"unauthorized"}, (name, body)
            err = body["errors"][0]
            assert err["extensions"]["status"] == 401, (name, err)
            if op.write:
                assert body["data"] is None, (name, body)
    assert auth.side.state() == before, f"{op.name} without a valid key changed something"


@pytest.mark.parametrize("op", _ops([op for op in OPS if op.scopes and not op.platform]))
def test_platform_keys_are_refused_on_workspace_fields(
    op: Op, server: Server, auth: AuthWorld, platform_key: str
) -> None:
    doc = op.recipe(auth.side, auth.side)
    before = auth.side.state()
    with server.client() as client:
        for key in (platform_key, auth.mighty_platform_key):
            body = gql(client, doc, bearer(key))
            assert set(codes(body)) == {"insufficient_scope"}, body
    assert auth.side.state() == before
