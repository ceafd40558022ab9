"""The REST matrices of tests/api/ (isolation, scopes, authentication, API keys), route by route.

The matrices are built from the OpenAPI document, so a route added later is covered without
editing these files: a path parameter, an id-taking query filter or a write body they do
not know makes the tests fail and ask for a sample, rather than skipping the route.

* Isolation: workspace B's all-scopes key, given workspace A's ids, meets 404 on every route
  that takes an id in its path, with a body that cannot be told apart from the answer for an
  id that never existed, and A (and B) stay unchanged. B's lists never show A's data.
* Scopes: for every operation's ``x-required-scopes``, a key holding every other workspace
  scope meets 403 ``insufficient_scope`` and changes nothing; a key holding exactly the
  required scopes then succeeds with the same request (so the scope was the only reason).
* Authentication: no key, garbage, revoked and expired keys meet 401 everywhere; platform keys
  meet 403 on workspace routes; workspace keys cannot write the program catalog.
* API keys: the secret is shown once, keys cannot grant scopes they lack, lastUsedAt is kept.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from enroll.app import create_app
from enroll.auth.scopes import WORKSPACE_SCOPES, Scope
from enroll.auth.service import issue_key
from enroll.config import Settings
from enroll.context import AppContext
from enroll.ids import new_id
from enroll.models.base import Base
from tests.support.helpers import PROBLEM
from tests.support.server import Server, Tenant, make_tenant

CORE_PROGRAM = "core-test-program"  # seeded by the platform_key fixture
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The platform catalog: readable by every workspace, so outside the 404 matrix.
CATALOG = frozenset({"programs"})
NO_BODY: Any = object()
ROW_FILE = b'{"firstName": "Row", "lastName": "File", "email": "row.file@b.example"}\n'


class RawBody:
    """A request body that is a file, not JSON (imports)."""

    def __init__(self, content: bytes, media_type: str) -> None:
        self.content, self.media_type = content, media_type


class FileForm:
    """A multipart/form-data body with one file (field ``file``) and text fields."""

    def __init__(self, content: bytes, **fields: str) -> None:
        self.content, self.fields = content, fields


# What a path parameter names, from the collection segment in front of it.
PATH_KINDS = {
    "programInstances": "instance",
    "enrollments": "enrollment",
    "customers": "customer",
    "householdMembers": "household_member",
    "leads": "lead",
    "apiKeys": "api_key",
    "programs": "program",
    "criteriaVersions": "criteria_version",
    "imports": "import",
    "reevaluations": "reevaluation",
    "enrollmentRequests": "enrollment_task",
    "unenrollmentRequests": "unenrollment_task",
    "serviceTasks": "service_task",
    "setupActions": "setup_action",
    "subscriptions": "subscription",
    "deviceLocations": "device_location",
    "devices": "device",
    "todos": "todo",
    "webhookEndpoints": "webhook_endpoint",
    "webhookDeliveries": "webhook_delivery",
    "notificationTemplates": "notification_template",
    "notifications": "notification",
    "plans": "plan",
    "deliveryCharges": "utility_code",
    "serviceLocations": "service_location",
    "serviceLocationImports": "service_location_import",
    "documents": "document",
}
# Kinds named by a number within their parent, not by an id of their own.
NUMBERED = frozenset({"criteria_version"})
# Kinds that can also be named by slug (the services resolve "id or slug").
SLUGGED = frozenset({"instance"})
# Kinds a path names by the caller's own key, not by an id of the platform: any workspace may
# use any such key (its own utility codes), so they are outside the isolation matrix.
CALLER_KEYS = frozenset({"utility_code"})
# Query filters that take an id. "program" is a platform id (the catalog), not A's data.
QUERY_KINDS = {
    "programInstanceId": "instance",
    "programId": "program",
    "customerId": "customer",
    "leadId": "lead",
    "enrollmentId": "enrollment",
    "deviceLocationId": "device_location",
    "serviceTaskId": "service_task",
}


# The World attribute holding a sample of each kind.
KINDS = {
    "instance": "instance",
    "enrollment": "enrollment",
    "customer": "customer",
    "household_member": "household_member",
    "lead": "lead",
    "api_key": "key",
    "program": "program",
    "criteria_version": "criteria_version",
    "import": "import_",
    "reevaluation": "reevaluation",
    "enrollment_task": "enrollment_task",
    "unenrollment_task": "unenrollment_task",
    "service_task": "enrollment_task",
    "setup_action": "setup_action",
    "subscription": "subscription",
    "device_location": "device_location",
    "device": "device",
    "todo": "todo",
    "webhook_endpoint": "webhook_endpoint",
    "webhook_delivery": "webhook_delivery",
    "notification_template": "notification_template",
    "notification": "notification",
    "plan": "plan",
    "utility_code": "delivery_charge",
    "service_location": "service_location",
    "service_location_import": "service_location_import",
    "document": "document",
    "document_type": "document_type",
}
# Where a workspace re-reads a resource of each kind, to see it is unchanged.
READS = {
    "instance": ["/v1/programInstances/{}"],
    "enrollment": [
        "/v1/enrollments/{}",
        "/v1/enrollments/{}/history",
        "/v1/enrollments/{}/consents",
        "/v1/enrollments/{}/documents",
    ],
    "customer": ["/v1/customers/{}", "/v1/customers/{}/householdMembers"],
    "household_member": [],  # read under its customer, which the path names too
    "lead": ["/v1/leads?perPage=100"],
    "api_key": ["/v1/apiKeys?perPage=100"],
    "program": ["/v1/programs/{}"],
    "criteria_version": [],  # immutable; its instance's reads cover it
    "import": ["/v1/imports/{}", "/v1/imports/{}/results"],
    "reevaluation": ["/v1/reevaluations/{}"],
    "enrollment_task": ["/v1/enrollmentRequests/{}", "/v1/serviceTasks/{}/log"],
    "unenrollment_task": ["/v1/unenrollmentRequests/{}", "/v1/serviceTasks/{}/log"],
    "service_task": ["/v1/serviceTasks/{}", "/v1/serviceTasks/{}/log"],
    "setup_action": ["/v1/setupActions/{}"],
    "subscription": ["/v1/subscriptions/{}"],
    "device_location": ["/v1/deviceLocations/{}"],
    "device": ["/v1/devices/{}"],
    "todo": ["/v1/todos?perPage=100"],
    "webhook_endpoint": ["/v1/webhookEndpoints/{}", "/v1/webhookEndpoints/{}/deliveries"],
    "webhook_delivery": ["/v1/webhookDeliveries/{}"],
    "notification_template": ["/v1/notificationTemplates/{}"],
    "notification": ["/v1/notifications/{}"],
    "plan": [],  # read under its instance, which the path names too; the rows cover it
    "utility_code": ["/v1/deliveryCharges?utilityCode={}"],
    "service_location": ["/v1/serviceLocations/{}", "/v1/serviceLocations/{}/usage"],
    "service_location_import": ["/v1/serviceLocationImports/{}"],
    "document": [],  # read under its enrollment, which the path names too; the rows cover it
    "document_type": [],  # named by no path
}
# A setup workflow: a to-do to complete for every enrollment; unenrolling for REVIEW needs
# a reviewer's approval.
EVERY = {
    "installationMethods": ["bring_your_own", "ship_device", "utility_installation", "reenroll"],
    "assetOwnerships": ["customer", "utility"],
}
SETUP = {
    "enrollmentActions": [{"sequence": 1, "type": "create_todo", **EVERY}],
    "unenrollReasons": [{"code": "REVIEW", "requiresApproval": True}],
}
# Routes with more than one success status: the one their recipe gets.
SUCCESS = {
    ("POST", "/v1/enrollments/{enrollment_id}/unenroll"): 200,
    # 200 is an enrollmentId update within the instance; the recipe creates.
    ("POST", "/v1/programInstances/{instance_id}/enrollments"): 201,
    # 200 when no period is new; the recipe sends a fresh one.
    ("POST", "/v1/serviceLocations/{location_id}/usage"): 201,
    # 200 answers the enrollment's document with the same bytes; the recipe sends new ones.
    ("POST", "/v1/enrollments/{enrollment_id}/documents"): 201,
}


# The caller's own identifiers, not ids of the platform's resources (filtered on in lists).
CALLER_IDS = {"transactionId", "servicePointId"}  # ERCOT premises: any workspace may hold one


def _is_id_param(name: str) -> bool:
    if name in CALLER_IDS:
        return False
    return name == "id" or name.endswith(("Id", "_id", "Ids", "_ids"))


# --- the document the matrices are built from ----------------------------------------------

Op = tuple[str, str]  # (METHOD, path template)


def _local_document() -> dict[str, Any]:
    """The app's document, built without a server so the cases exist at collection time.

    ``test_served_document_is_the_one_the_matrices_use`` checks the served one is identical.
    """
    return create_app(Settings(database_url="sqlite:///unused-by-openapi.sqlite")).openapi()


DOCUMENT = _local_document()
# Called by a payment provider with its own signature instead of an API key (payments.md):
# outside the key matrices; tests/payment/ tests their signatures.
PROVIDER_CALLBACKS = frozenset({("POST", "/v1/providers/stripe/events")})
OPERATIONS: list[Op] = [
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in HTTP_METHODS and (method.upper(), path) not in PROVIDER_CALLBACKS
]


def _spec(document: dict[str, Any], op: Op) -> dict[str, Any]:
    method, path = op
    spec: dict[str, Any] = document["paths"][path][method.lower()]
    return spec


def _resource(path: str) -> str:
    return path.split("/")[2]  # /v1/<resource>/...


def _path_params(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)


def _query_params(spec: dict[str, Any]) -> list[str]:
    return [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"]


def _op_id(op: Op) -> str:
    return f"{op[0]} {op[1]}"


SECURED = [op for op in OPERATIONS if "security" in _spec(DOCUMENT, op)]
SCOPED = [op for op in OPERATIONS if "x-required-scopes" in _spec(DOCUMENT, op)]
WORKSPACE_OPS = [op for op in SECURED if _resource(op[1]) not in CATALOG]
CATALOG_WRITES = [op for op in OPERATIONS if _resource(op[1]) in CATALOG and op[0] in WRITE_METHODS]
ID_ROUTES = [op for op in OPERATIONS if _path_params(op[1]) and _resource(op[1]) not in CATALOG]
LIST_ROUTES = [
    op
    for op in OPERATIONS
    if op[0] == "GET" and not _path_params(op[1]) and _resource(op[1]) not in CATALOG
]


def _path_kind(path: str, param: str) -> str:
    segments = path.split("/")
    before = segments[segments.index(f"{{{param}}}") - 1]
    kind = PATH_KINDS.get(before)
    if kind is None:
        pytest.fail(
            f"{path}: no sample id for the path parameter {param!r} (after /{before}); "
            "add it to PATH_KINDS (and KINDS, READS) so the matrices cover the route"
        )
    return kind


def _isolation_cases() -> list[Any]:
    """Each id route by id, and by slug where a parameter names a kind that has slugs.

    An unknown parameter kind is not refused here (collection) but in the case itself.
    """
    cases = []
    for op in ID_ROUTES:
        segments = op[1].split("/")
        if any(
            PATH_KINDS.get(segments[segments.index(f"{{{p}}}") - 1]) in CALLER_KEYS
            for p in _path_params(op[1])
        ):
            continue
        cases.append(pytest.param(op, "id", id=f"{_op_id(op)} by id"))
        segments = op[1].split("/")
        kinds = {
            PATH_KINDS.get(segments[segments.index(f"{{{p}}}") - 1]) for p in _path_params(op[1])
        }
        if kinds & SLUGGED:
            cases.append(pytest.param(op, "slug", id=f"{_op_id(op)} by slug"))
    return cases


def _ops(ops: list[Op]) -> list[Any]:
    return [pytest.param(op, id=_op_id(op)) for op in ops]


# --- talking to the server ------------------------------------------------------------------


_SERVED: dict[str, dict[str, Any]] = {}


def served_document(server: Server) -> dict[str, Any]:
    if server.base_url not in _SERVED:
        with server.client() as client:
            r = client.get("/openapi.json")
        assert r.status_code == 200, r.text
        _SERVED[server.base_url] = r.json()
    return _SERVED[server.base_url]


def served_spec(server: Server, op: Op) -> dict[str, Any]:
    document = served_document(server)
    assert op[1] in document["paths"] and op[0].lower() in document["paths"][op[1]], (
        f"{_op_id(op)} is not in the served document"
    )
    return _spec(document, op)


def success_status(op: Op, spec: dict[str, Any]) -> int:
    codes = [int(code) for code in spec["responses"] if code.startswith("2")]
    if op in SUCCESS:
        assert SUCCESS[op] in codes, spec["responses"].keys()
        return SUCCESS[op]
    assert len(codes) == 1, spec["responses"].keys()
    return codes[0]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def send(
    http: httpx.Client,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = NO_BODY,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers or {}, "params": params}
    if isinstance(body, RawBody):
        kwargs["content"] = body.content
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": body.media_type}
    elif isinstance(body, FileForm):
        kwargs["files"] = {"file": ("file", body.content, "text/plain")}
        kwargs["data"] = body.fields
    elif body is not NO_BODY:
        kwargs["json"] = body
    return http.request(method, path, **kwargs)


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    where = f"{r.request.method} {r.request.url.path}"
    assert r.status_code == status, f"{where}: expected {status}, got {r.status_code} {r.text}"
    assert r.headers["content-type"].split(";")[0].strip() == PROBLEM, f"{where}: {r.headers}"
    body: dict[str, Any] = r.json()
    assert body["code"] == code, f"{where}: {body}"
    assert body["status"] == status, f"{where}: {body}"
    assert body["type"] == f"urn:enroll:problem:{code}", f"{where}: {body}"
    return body


def fresh() -> str:
    return uuid.uuid4().hex[:12]


def document_file() -> bytes:
    """A PDF of its own (an enrollment holds given bytes once), with no trace of a workspace."""
    return b"%PDF-1.4\n%" + uuid.uuid4().hex.encode() + b"\n%%EOF\n"


def esi_id() -> str:
    """A fresh ERCOT ESI ID of Oncor's (17 digits)."""
    return "1044372" + str(uuid.uuid4().int)[-10:]


# --- a workspace with one of everything -----------------------------------------------------


class World:
    """A workspace with one of everything, its names all marked with ``tag``.

    Resources are made on first use (``complete`` makes them all). Every id and name made is
    recorded, so a response can be searched for any trace of the workspace (``leaks``).
    """

    def __init__(self, tenant: Tenant, platform_key: str) -> None:
        self.t = tenant
        self.c = tenant.client
        self.platform_key = platform_key
        self.tag = "t" + fresh()
        self.ids: list[str] = [tenant.id]
        self.slug_of: dict[str, str] = {}
        self._own_program: dict[str, Any] | None = None

    def complete(self) -> World:
        for kind in KINDS:
            self.sample(kind)
        self.settle()
        return self

    def settle(self) -> None:
        """Run the worker until it has nothing left to do for this workspace: its tasks rest
        in states that wait for people, so nothing changes under a test's "unchanged"."""
        self.t.server.drain()
        busy = [
            j
            for status in ("queued", "running")
            for j in self.c.get("/v1/jobs", params={"status": status}).json()["data"]
            if datetime.fromisoformat(j["runAt"].replace("Z", "+00:00")) <= datetime.now(UTC)
        ]
        assert not busy, f"the worker did not settle: {busy}"

    def wait_task(self, task_id: str, state: str) -> dict[str, Any]:
        self.t.server.drain()
        task = self.c.get(f"/v1/serviceTasks/{task_id}").json()
        assert task["state"] == state, (task["state"], task["errors"])
        self.ids += (
            [task_id]
            + [
                v
                for k in ("enrollmentId", "customerId", "subscriptionId", "deviceLocationId")
                if (v := task.get(k))
            ]
            + task["deviceIds"]
            + [a["id"] for a in task["setupActions"]]
        )
        return dict(task)

    @cached_property
    def setup_instance(self) -> dict[str, Any]:
        return self.new_instance(setupWorkflow=SETUP)

    def request_enrollment(self, **fields: Any) -> dict[str, Any]:
        n = fresh()
        body = {
            "transactionId": f"tx-{self.tag}-{n}",
            "customerInfo": {
                "firstName": f"Rfirst{self.tag}",
                "lastName": f"Rlast{self.tag}{n}",
                "email": f"req.{self.tag}.{n}@a.example",
            },
            "locationInfo": {"address": {"state": "NY"}},  # the core program's criteria
            "programInstanceId": self.setup_instance["id"],
            "assetInfo": {
                "installationMethod": "bring_your_own",
                "assetOwnership": "customer",
                "assets": [{"manufacturer": "tesla", "serialNumber": f"SN{self.tag}{n}"}],
            },
        } | fields
        r = self.c.post("/v1/enrollmentRequests", json=body)
        assert r.status_code == 202, r.text
        return dict(r.json())

    @cached_property
    def enrollment_task(self) -> dict[str, Any]:
        """A request waiting for its to-do setup action."""
        task = self.wait_task(self.request_enrollment()["id"], "awaiting_device_setup")
        (todo,) = self.c.get("/v1/todos", params={"serviceTaskId": task["id"]}).json()["data"]
        self.ids.append(todo["id"])
        return task

    def failed_task(self) -> str:
        """A request stopped in validation_error (its customer cannot be found)."""
        n = fresh()
        created = self.request_enrollment(customerInfo={"email": f"x.{self.tag}.{n}@a.example"})
        return str(self.wait_task(created["id"], "validation_error")["id"])

    @cached_property
    def setup_action(self) -> dict[str, Any]:
        action: dict[str, Any] = self.enrollment_task["setupActions"][0]
        assert action["status"] == "in_progress", action
        return action

    @cached_property
    def todo(self) -> dict[str, Any]:
        (todo,) = self.c.get(
            "/v1/todos", params={"serviceTaskId": self.enrollment_task["id"]}
        ).json()["data"]
        return dict(todo)

    @cached_property
    def enrolled(self) -> dict[str, Any]:
        """A completed enrollment request: the enrollment is approved and set up."""
        task_id = self.request_enrollment()["id"]
        self.wait_task(task_id, "awaiting_device_setup")
        (todo,) = self.c.get("/v1/todos", params={"serviceTaskId": task_id}).json()["data"]
        r = self.c.post(f"/v1/todos/{todo['id']}/complete")
        assert r.status_code == 200, r.text
        self.ids.append(todo["id"])
        return self.wait_task(task_id, "completed")

    @cached_property
    def subscription(self) -> dict[str, Any]:
        return {"id": self.enrolled["subscriptionId"]}

    @cached_property
    def device_location(self) -> dict[str, Any]:
        return {"id": self.enrolled["deviceLocationId"]}

    @cached_property
    def device(self) -> dict[str, Any]:
        return {"id": self.enrolled["deviceIds"][0]}

    @cached_property
    def unenrollment_task(self) -> dict[str, Any]:
        """An unenrollment waiting for a reviewer's approval."""
        r = self.c.post(
            "/v1/unenrollmentRequests",
            json={"enrollmentId": self.enrolled["enrollmentId"], "reason": "REVIEW"},
        )
        assert r.status_code == 202, r.text
        task = self.wait_task(r.json()["id"], "approval_in_progress")
        (todo,) = self.c.get("/v1/todos", params={"serviceTaskId": task["id"]}).json()["data"]
        self.ids.append(todo["id"])
        return task

    @cached_property
    def instance(self) -> dict[str, Any]:
        return self.new_instance()

    @cached_property
    def webhook_endpoint(self) -> dict[str, Any]:
        return self.new_webhook_endpoint()

    def new_webhook_endpoint(self) -> dict[str, Any]:
        """Disabled, so no worker touches it (or its deliveries) while a test compares rows."""
        return self._create(
            "/v1/webhookEndpoints",
            {
                "url": f"https://hooks-{self.tag}.example.invalid/in",
                "enabled": False,
                # webhooks:manage alone may replay it: these events carry no other data
                "eventTypes": ["webhook_endpoint.disabled"],
            },
        )

    @cached_property
    def notification_template(self) -> dict[str, Any]:
        """For the world's instance, on cancelling (which no other sample does)."""
        return self._create(
            "/v1/notificationTemplates",
            {
                "programInstanceId": self.instance["id"],
                "audience": "administrator",
                "trigger": "cancelled",
                "recipients": [f"ops.{self.tag}@a.example"],
                "subject": "Cancelled",
                "body": "{{ enrollment.id }} was cancelled.",
            },
        )

    @cached_property
    def notification(self) -> dict[str, Any]:
        assert self.notification_template
        enrollment_id = self.new_enrollment()["id"]
        r = self.c.post(f"/v1/enrollments/{enrollment_id}/cancel")
        assert r.status_code == 200, r.text
        (sent,) = self.c.get("/v1/notifications", params={"enrollmentId": enrollment_id}).json()[
            "data"
        ]
        self.ids.append(sent["id"])
        self.settle()  # its send job stores it: nothing may change under a later comparison
        return dict(sent)

    @cached_property
    def plan(self) -> dict[str, Any]:
        return self.new_plan()

    def new_plan(self) -> dict[str, Any]:
        """A plan of the world's instance."""
        return self._create(
            f"/v1/programInstances/{self.instance['id']}/plans",
            {"code": f"P{fresh()}", "name": f"Plan {self.tag}"},
        )

    @cached_property
    def delivery_charge(self) -> dict[str, Any]:
        """The world's own utility, named by its code."""
        code = f"u-{self.tag}"
        r = self.c.put(
            f"/v1/deliveryCharges/{code}",
            json={"monthlyDollars": "4.23", "centsPerKwh": "5.6384", "effectiveFrom": "2026-01-01"},
        )
        assert r.status_code == 200, r.text
        self.ids.append(r.json()["id"])
        return {"id": code}

    @cached_property
    def webhook_delivery(self) -> dict[str, Any]:
        r = self.c.post(f"/v1/webhookEndpoints/{self.webhook_endpoint['id']}/test")
        assert r.status_code == 202, r.text
        self.ids.append(r.json()["id"])
        return dict(r.json())

    @cached_property
    def customer(self) -> dict[str, Any]:
        return self._create(
            "/v1/customers",
            {
                "firstName": f"Cfirst{self.tag}",
                "lastName": f"Clast{self.tag}",
                "email": f"cust.{self.tag}@a.example",
                "phone": "+15550001111",
            },
        )

    @cached_property
    def household_member(self) -> dict[str, Any]:
        return self.new_member()

    def new_member(self) -> dict[str, Any]:
        """A spouse in the household of the world's customer (the routes name both)."""
        return self._create(
            f"/v1/customers/{self.customer['id']}/householdMembers",
            {"role": "spouse", "firstName": f"Hfirst{self.tag}", "taxId": "123-45-6789"},
        )

    @cached_property
    def lead(self) -> dict[str, Any]:
        return self._create(
            "/v1/leads",
            {
                "email": f"lead.{self.tag}@a.example",
                "firstName": f"Lfirst{self.tag}",
            },
        )

    @cached_property
    def enrollment(self) -> dict[str, Any]:
        return self.new_enrollment()

    @cached_property
    def key(self) -> dict[str, Any]:
        return self._create(
            "/v1/apiKeys",
            {
                "name": f"Key {self.tag}",
                "scopes": [Scope.ENROLLMENTS_READ.value],
            },
        )

    @cached_property
    def criteria_version(self) -> dict[str, Any]:
        """Every instance starts at criteria version 1: the number is no secret, the instance is."""
        assert self.instance["criteriaVersion"] == 1
        return {"id": "1"}

    @cached_property
    def import_(self) -> dict[str, Any]:
        """A finished import of one row into the world's instance."""
        r = self.c.post(
            f"/v1/programInstances/{self.instance['id']}/imports",
            content=orjson.dumps(
                {"firstName": f"I{self.tag}", "lastName": "L", "email": f"i.{self.tag}@a.example"}
            )
            + b"\n",
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.text
        self.t.server.drain()
        imp = self.c.get(f"/v1/imports/{r.json()['id']}").json()
        assert imp["status"] == "completed", imp
        self.ids.append(imp["id"])
        return dict(imp)

    @cached_property
    def reevaluation(self) -> dict[str, Any]:
        """A finished dry run over the world's instance."""
        r = self.c.post(
            f"/v1/programInstances/{self.instance['id']}/reevaluations", json={"dryRun": True}
        )
        assert r.status_code == 202, r.text
        self.t.server.drain()
        run = self.c.get(r.headers["location"]).json()
        assert run["status"] == "completed", run
        self.ids.append(run["id"])
        return dict(run)

    @cached_property
    def service_location(self) -> dict[str, Any]:
        return self._create(
            "/v1/serviceLocations",
            {"servicePointId": esi_id(), "address": {"streetOne": f"1 {self.tag} St"}},
        )

    @cached_property
    def service_location_import(self) -> dict[str, Any]:
        """A finished import of one ERCOT extract row."""
        r = self.c.post(
            "/v1/serviceLocationImports",
            files={"file": ("x.csv", f"{esi_id()},2 {self.tag} ST,,DALLAS,TX,75201\n".encode())},
        )
        assert r.status_code == 202, r.text
        self.t.server.drain()
        imp = self.c.get(r.headers["location"]).json()
        assert imp["status"] == "completed", imp
        self.ids.append(imp["id"])
        return dict(imp)

    @cached_property
    def document(self) -> dict[str, Any]:
        return self.new_document()

    def new_document(self) -> dict[str, Any]:
        """A document of the world's enrollment (eligible: it may be deleted)."""
        r = self.c.post(
            f"/v1/enrollments/{self.enrollment['id']}/documents",
            files={"file": (f"{self.tag}.pdf", document_file(), "application/pdf")},
            data={"type": "PAY_STUB", "issuedAt": "2026-01-01"},
        )
        assert r.status_code == 201, r.text
        self.ids.append(r.json()["id"])
        return dict(r.json())

    @cached_property
    def document_type(self) -> dict[str, Any]:
        """A document type of the workspace's own, its code marked with the tag."""
        code = self.tag.upper()
        r = self.c.post("/v1/documentTypes", json={"code": code, "label": f"Type {self.tag}"})
        assert r.status_code == 201, r.text
        self.ids.append(code)
        return {"id": code}

    @cached_property
    def program(self) -> dict[str, Any]:
        r = self.c.get(f"/v1/programs/{CORE_PROGRAM}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    # creating things

    def _create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.c.post(path, json=body)
        assert r.status_code == 201, f"{path}: {r.text}"
        created: dict[str, Any] = r.json()
        self.ids.append(created["id"])
        return created

    def new_instance(self, **fields: Any) -> dict[str, Any]:
        instance = self._create(
            "/v1/programInstances",
            {
                "programSlug": CORE_PROGRAM,
                "slug": f"a-{self.tag}-{fresh()}",
                "name": f"Instance {self.tag}",
                "status": "active",
            }
            | fields,
        )
        self.slug_of[instance["id"]] = instance["slug"]
        return instance

    def new_enrollment(self, instance_id: str | None = None) -> dict[str, Any]:
        n = fresh()
        enrollment = self._create(
            f"/v1/programInstances/{instance_id or self.instance['id']}/enrollments",
            {
                "identificationType": "customerInfo",
                "firstName": f"Efirst{self.tag}",
                "lastName": f"Elast{self.tag}{n}",
                "email": f"enr.{self.tag}.{n}@a.example",
                "address": {"state": "NY"},
                "manufacturerSlugs": ["tesla"],
            },
        )
        assert enrollment["status"] == "eligible", enrollment
        self.ids.append(enrollment["customerId"])
        return enrollment

    def enrollment_in(self, status: str) -> str:
        """A new enrollment of A, moved on to ``status`` with A's own key."""
        steps = {"eligible": [], "submitted": ["submit"], "approved": ["submit", "approve"]}
        enrollment_id = str(self.new_enrollment()["id"])
        for action in steps[status]:
            r = self.c.post(f"/v1/enrollments/{enrollment_id}/{action}")
            assert r.status_code == 200, r.text
        assert self.c.get(f"/v1/enrollments/{enrollment_id}").json()["status"] == status
        return enrollment_id

    def own_program(self) -> dict[str, Any]:
        """A catalog entry of this test's own, so catalog writes never touch the shared ones."""
        if self._own_program is None:
            r = self.c.post(
                "/v1/programs",
                headers=bearer(self.platform_key),
                json={"slug": f"p-{fresh()}", "name": "Own program", "type": "other"},
            )
            assert r.status_code == 201, r.text
            self._own_program = r.json()
        return self._own_program

    def add_finished_job(self) -> dict[str, Any]:
        """An auto-review instance: submitting queues a job, which the worker runs."""
        instance = self.new_instance(reviewMode="auto")
        enrollment = self.new_enrollment(instance["id"])
        r = self.c.post(f"/v1/enrollments/{enrollment['id']}/submit")
        assert r.status_code == 200, r.text
        self.t.server.drain()
        jobs = self.c.get("/v1/jobs").json()["data"]
        done = [
            j
            for j in jobs
            if j["payload"].get("enrollmentId") == enrollment["id"] and j["status"] == "succeeded"
        ]
        assert done, f"the auto-approve job did not finish: {jobs}"
        assert self.c.get(f"/v1/enrollments/{enrollment['id']}").json()["status"] == "approved"
        self.ids.append(done[0]["id"])
        return dict(done[0])

    # naming things

    def sample(self, kind: str) -> str:
        if kind not in KINDS:
            pytest.fail(f"World has no sample of kind {kind!r}: add it to KINDS")
        new = KINDS[kind] not in self.__dict__
        sample = getattr(self, KINDS[kind])
        if new:  # its jobs may still run (an import's completes after the import does)
            self.settle()
        return str(sample["id"])

    def slug(self, kind: str, id_: str) -> str:
        assert kind in SLUGGED, kind
        return self.slug_of[id_]

    def traces(self) -> list[str]:
        """Strings that identify this workspace's data: ids, names, emails, key material."""
        keys = [self.key["prefix"], self.key["apiKey"]] if "key" in self.__dict__ else []
        return [self.tag, *self.ids, *keys, self.t.key]

    def leaks(self, text: str) -> list[str]:
        return [trace for trace in self.traces() if trace in text]


# --- a valid request for every operation ----------------------------------------------------

Recipe = Callable[[World], tuple[dict[str, str], Any]]  # (path ids by kind, body)


def _person(_: World) -> tuple[dict[str, str], Any]:
    n = fresh()
    return {}, {
        "identificationType": "customerInfo",
        "firstName": "New",
        "lastName": f"Person{n}",
        "email": f"new.{n}@b.example",
        "address": {"state": "NY"},
        "manufacturerSlugs": ["tesla"],
    }


def _payment_session_started(w: World) -> str:
    """An enrollment with a payment session: the (sandbox) provider then vouches for Stripe's
    test card ``pm_card_visa``."""
    enrollment_id = str(w.new_enrollment()["id"])
    r = w.c.post(f"/v1/enrollments/{enrollment_id}/paymentSession")
    assert r.status_code == 200, r.text
    return enrollment_id


# Bodies (and, where the route needs a given state, the resource) of a request that succeeds
# when the key may make it. Bodies carry no trace of the workspace, so B can send them too.
RECIPES: dict[Op, Recipe] = {
    ("POST", "/v1/programs"): lambda w: (
        {},
        {"slug": f"p-{fresh()}", "name": "Catalog entry", "type": "other"},
    ),
    ("PATCH", "/v1/programs/{id_or_slug}"): lambda w: (
        {"program": w.own_program()["id"]},
        {"description": "Updated by the isolation tests."},
    ),
    ("POST", "/v1/programInstances"): lambda w: (
        {},
        {"programSlug": CORE_PROGRAM, "slug": f"n-{fresh()}", "name": "New instance"},
    ),
    ("PATCH", "/v1/programInstances/{id_or_slug}"): lambda w: ({}, {"name": "Renamed"}),
    ("DELETE", "/v1/programInstances/{id_or_slug}"): lambda w: (
        {"instance": w.new_instance()["id"]},
        NO_BODY,
    ),  # one without enrollments
    ("POST", "/v1/programInstances/{instance_id}/enrollments"): _person,
    ("POST", "/v1/programInstances/{instance_id}/eligibility/preview"): lambda w: (
        {},
        {
            "address": {"state": "NY"},
            "manufacturerSlugs": ["tesla"],
            "customerId": w.customer["id"],
        },
    ),
    ("PATCH", "/v1/enrollments/{enrollment_id}"): lambda w: ({}, {"serialNumber": "SN-2"}),
    ("PUT", "/v1/enrollments/{enrollment_id}/billingAddress"): lambda w: (
        {},
        {"sameAsServiceAddress": False, "address": {"streetOne": "2 Bill St", "state": "NY"}},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/approve"): lambda w: (
        {"enrollment": w.enrollment_in("submitted")},
        NO_BODY,
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/reject"): lambda w: (
        {"enrollment": w.enrollment_in("submitted")},
        {"reason": "Not eligible after review."},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/markUnprocessable"): lambda w: (
        {"enrollment": w.enrollment_in("submitted")},
        {"reason": "The documents cannot be read."},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/decide"): lambda w: (
        {"enrollment": w.enrollment_in("eligible")},
        {"status": "ineligible", "reason": "Screened by a person."},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/unenroll"): lambda w: (
        {"enrollment": w.enrollment_in("approved")},
        {"reason": "Moved away."},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/paymentMethod"): lambda w: (
        {"enrollment": _payment_session_started(w)},
        {"paymentMethodId": "pm_card_visa"},
    ),
    ("POST", "/v1/customers"): lambda w: (
        {},
        {"firstName": "New", "lastName": "Customer", "email": f"c.{fresh()}@b.example"},
    ),
    ("PATCH", "/v1/customers/{customer_id}"): lambda w: ({}, {"phone": "+15550009999"}),
    ("POST", "/v1/customers/{customer_id}/householdMembers"): lambda w: (
        {},
        {"role": "dependent", "firstName": "New", "dateOfBirth": "2015-04-01"},
    ),
    ("PATCH", "/v1/customers/{customer_id}/householdMembers/{member_id}"): lambda w: (
        {},
        {"agi": 1234.5, "hasTaxableIncome": True},
    ),
    ("DELETE", "/v1/customers/{customer_id}/householdMembers/{member_id}"): lambda w: (
        {"household_member": w.new_member()["id"]},
        NO_BODY,
    ),
    ("POST", "/v1/leads"): lambda w: ({}, {"email": f"l.{fresh()}@b.example"}),
    ("POST", "/v1/programInstances/{instance_id}/imports"): lambda w: (
        {},
        RawBody(ROW_FILE, "application/x-ndjson"),
    ),
    ("POST", "/v1/programInstances/{instance_id}/reevaluations"): lambda w: (
        {},
        {"dryRun": True},
    ),
    ("POST", "/v1/enrollmentRequests"): lambda w: (
        {},
        {
            "transactionId": f"tx-{fresh()}",
            "customerInfo": {"firstName": "N", "lastName": "P", "email": f"n.{fresh()}@b.example"},
            "locationInfo": {"address": {"state": "NY"}},
            "programInstanceId": w.setup_instance["id"],
            "assetInfo": {"installationMethod": "ship_device", "assetOwnership": "utility"},
        },
    ),
    ("POST", "/v1/unenrollmentRequests"): lambda w: (
        {},
        {"enrollmentId": w.enrollment_in("approved"), "reason": "Moved away."},
    ),
    ("PATCH", "/v1/serviceTasks/{task_id}"): lambda w: (
        {"service_task": w.failed_task()},
        {"metadata": {"note": "corrected"}},
    ),
    ("POST", "/v1/serviceTasks/{task_id}/retry"): lambda w: (
        {"service_task": w.failed_task()},
        NO_BODY,
    ),
    ("POST", "/v1/serviceTasks/{task_id}/discard"): lambda w: (
        {"service_task": w.failed_task()},
        NO_BODY,
    ),
    ("POST", "/v1/serviceTasks/{task_id}/approve"): lambda w: (
        {"service_task": w.unenrollment_task["id"]},
        NO_BODY,
    ),
    ("POST", "/v1/serviceTasks/{task_id}/reject"): lambda w: (
        {"service_task": w.unenrollment_task["id"]},
        {"comment": "Keep the customer."},
    ),
    ("POST", "/v1/devices"): lambda w: (
        {},
        {"type": "meter", "manufacturer": "acme", "serialNumber": f"S-{fresh()}"},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/devices"): lambda w: (
        {"enrollment": w.enrolled["enrollmentId"]},
        {"asset": {"type": "meter", "manufacturer": "acme", "serialNumber": f"D-{fresh()}"}},
    ),
    ("POST", "/v1/notificationTemplates"): lambda w: (
        {},
        {
            "programInstanceId": w.new_instance()["id"],
            "audience": "customer",
            "trigger": "cancelled",
            "subject": "S",
            "body": "B",
        },
    ),
    ("PATCH", "/v1/notificationTemplates/{template_id}"): lambda w: ({}, {"subject": "Changed"}),
    ("POST", "/v1/programInstances/{instance_id}/plans"): lambda w: (
        {},
        {"code": f"P{fresh()}", "name": "New plan"},
    ),
    ("PATCH", "/v1/programInstances/{instance_id}/plans/{plan_id}"): lambda w: (
        {},
        {"name": "Renamed plan"},
    ),
    ("DELETE", "/v1/programInstances/{instance_id}/plans/{plan_id}"): lambda w: (
        {"plan": w.new_plan()["id"]},
        NO_BODY,
    ),
    ("PUT", "/v1/deliveryCharges/{utility_code}"): lambda w: (
        {},
        {"monthlyDollars": "3.50", "centsPerKwh": "4.1", "effectiveFrom": "2026-02-01"},
    ),
    ("DELETE", "/v1/notificationTemplates/{template_id}"): lambda w: (
        {
            "notification_template": w._create(
                "/v1/notificationTemplates",
                {
                    "programInstanceId": w.new_instance()["id"],
                    "audience": "customer",
                    "trigger": "rejected",
                    "subject": "S",
                    "body": "B",
                },
            )["id"]
        },
        NO_BODY,
    ),
    ("POST", "/v1/webhookEndpoints"): lambda w: (
        {},
        {
            "url": "https://hooks.example.invalid/new",
            "enabled": False,
            "eventTypes": ["webhook_endpoint.disabled"],
        },
    ),
    ("PATCH", "/v1/webhookEndpoints/{endpoint_id}"): lambda w: ({}, {"description": "CRM"}),
    ("DELETE", "/v1/webhookEndpoints/{endpoint_id}"): lambda w: (
        {"webhook_endpoint": w.new_webhook_endpoint()["id"]},
        NO_BODY,
    ),
    ("POST", "/v1/webhookEndpoints/{endpoint_id}/replay"): lambda w: (
        {},
        {"since": "2026-01-01T00:00:00Z"},
    ),
    ("POST", "/v1/serviceLocations"): lambda w: (
        {},
        {"servicePointId": esi_id(), "address": {"streetOne": "1 Elm St"}},
    ),
    ("PATCH", "/v1/serviceLocations/{location_id}"): lambda w: ({}, {"status": "inactive"}),
    ("POST", "/v1/serviceLocations/lookup"): lambda w: (
        {},
        {"servicePointId": w.service_location["servicePointId"]},
    ),
    ("POST", "/v1/serviceLocations/search"): lambda w: ({}, {"query": "1 elm st"}),
    ("POST", "/v1/serviceLocations/{location_id}/usage"): lambda w: ({}, _fresh_usage()),
    ("POST", "/v1/programInstances/{instance_id}/plans/quote"): lambda w: (
        {},
        {"serviceLocationId": w.service_location["id"]},
    ),
    ("POST", "/v1/serviceLocationImports"): lambda w: (
        {},
        FileForm(f"{esi_id()},3 ELM ST,,DALLAS,TX,75201\n".encode(), format="ercot"),
    ),
    ("POST", "/v1/apiKeys"): lambda w: (
        {},
        {"name": "Made by a test", "scopes": [Scope.API_KEYS_MANAGE.value]},
    ),
    ("POST", "/v1/enrollments/{enrollment_id}/documents"): lambda w: (
        {},
        FileForm(document_file(), type="PAY_STUB", issuedAt="2026-01-01", owner="applicant"),
    ),
    ("DELETE", "/v1/enrollments/{enrollment_id}/documents/{document_id}"): lambda w: (
        {"document": w.new_document()["id"]},
        NO_BODY,
    ),
    ("POST", "/v1/documentTypes"): lambda w: ({}, {"code": f"N{fresh().upper()}", "label": "N"}),
}


_HOURS = itertools.count()


def _fresh_usage() -> dict[str, Any]:
    """An hour's reading of a period no earlier call sent (so the post creates: 201)."""
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=next(_HOURS))
    end = start + timedelta(hours=1)
    return {"readings": [{"start": start.isoformat(), "end": end.isoformat(), "kwh": "1.5"}]}


class Call:
    """One concrete, valid request for an operation, against a world's resources."""

    def __init__(self, world: World, op: Op, spec: dict[str, Any]) -> None:
        self.method, self.template = op
        recipe = RECIPES.get(op)
        if recipe is None and spec.get("requestBody", {}).get("required"):
            pytest.fail(f"{_op_id(op)} needs a body: add a valid one to RECIPES")
        overrides, self.body = recipe(world) if recipe else ({}, NO_BODY)
        self.kinds = {p: _path_kind(self.template, p) for p in _path_params(self.template)}
        self.ids = {p: overrides.get(k) or world.sample(k) for p, k in self.kinds.items()}
        self.slugs = {
            p: world.slug(k, self.ids[p]) if k in SLUGGED else self.ids[p]
            for p, k in self.kinds.items()
        }

    def values(self, variant: str = "id") -> dict[str, str]:
        return self.slugs if variant == "slug" else self.ids

    def fake_values(self) -> dict[str, str]:
        """Ids of the same kinds that exist in no workspace (numbered kinds keep their number:
        the instance in front of them is what does not exist)."""
        return {p: self.ids[p] if k in NUMBERED else new_id() for p, k in self.kinds.items()}

    def path(self, values: dict[str, str]) -> str:
        return re.sub(r"{([^}]+)}", lambda m: values[m.group(1)], self.template)

    def send(
        self, http: httpx.Client, headers: dict[str, str], values: dict[str, str] | None = None
    ) -> httpx.Response:
        return send(
            http, self.method, self.path(values or self.ids), headers=headers, body=self.body
        )


# --- "nothing changed" ----------------------------------------------------------------------


def database_rows(server: Server, *workspace_ids: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of these workspaces in every table, plus the program catalog.

    Read from the database itself, so it sees what no route shows (events, history, jobs).
    ``api_key.last_used_at`` is left out: it is written in the background on first use.
    """

    async def work(ctx: AppContext) -> dict[str, list[dict[str, Any]]]:
        rows: dict[str, list[dict[str, Any]]] = {}
        async with ctx.db.transaction(write=False) as session:
            for table in Base.metadata.sorted_tables:
                stmt = select(table).order_by(*table.primary_key.columns)
                if "workspace_id" in table.c:
                    stmt = stmt.where(table.c.workspace_id.in_(workspace_ids))
                elif table.name == "workspace":
                    stmt = stmt.where(table.c.id.in_(workspace_ids))
                elif table.name == "idempotency_record":
                    stmt = stmt.where(table.c.scope.in_(workspace_ids))
                elif "enrollment_id" in table.c:  # an enrollment's re-evaluation stamp
                    enrollments = Base.metadata.tables["enrollment"]
                    stmt = stmt.where(
                        table.c.enrollment_id.in_(
                            select(enrollments.c.id).where(
                                enrollments.c.workspace_id.in_(workspace_ids)
                            )
                        )
                    )
                elif "task_id" in table.c:  # a service task's log
                    service_tasks = Base.metadata.tables["service_task"]
                    stmt = stmt.where(
                        table.c.task_id.in_(
                            select(service_tasks.c.id).where(
                                service_tasks.c.workspace_id.in_(workspace_ids)
                            )
                        )
                    )
                elif "import_id" in table.c:  # an import's file, outcomes and keys
                    imports = Base.metadata.tables["enrollment_import"]
                    stmt = stmt.where(
                        table.c.import_id.in_(
                            select(imports.c.id).where(imports.c.workspace_id.in_(workspace_ids))
                        )
                    )
                else:
                    assert table.name == "program", f"unexpected table {table.name}: filter it"
                result = await session.execute(stmt)
                rows[table.name] = [
                    {k: v for k, v in row._mapping.items() if k != "last_used_at"} for row in result
                ]
        return rows

    return server.database.run(work)


def _without_volatile(value: Any) -> Any:
    """``lastUsedAt`` is written in the background after a key's first use."""
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k != "lastUsedAt"}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


class State:
    """What a change would show: the workspaces' rows, and resources as their owner reads them."""

    def __init__(
        self,
        server: Server,
        http: httpx.Client,
        *tenants: Tenant,
        reads: list[tuple[Tenant, str]] | None = None,
    ) -> None:
        self.server, self.http, self.tenants, self.reads = server, http, tenants, reads or []
        self.before = self._read()

    @staticmethod
    def reads_of(tenant: Tenant, call: Call) -> list[tuple[Tenant, str]]:
        return [
            (tenant, read.format(call.ids[param]))
            for param, kind in call.kinds.items()
            for read in READS[kind]
        ]

    def _read(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(database_rows(self.server, *(t.id for t in self.tenants)))
        for tenant, path in self.reads:
            r = self.http.get(path, headers=bearer(tenant.key))
            assert r.status_code == 200, f"{path}: {r.text}"
            state[f"GET {path}"] = _without_volatile(r.json())
        return state

    def assert_unchanged(self, what: str) -> None:
        after = self._read()
        assert after.keys() == self.before.keys()
        for name in self.before:
            assert after[name] == self.before[name], f"{what} changed {name}"


class AuthWorld:
    """One workspace for the authentication matrix, with keys that no longer work."""

    def __init__(self, server: Server, platform_key: str) -> None:
        self.tenant = make_tenant(server, "Auth")
        self.world = World(self.tenant, platform_key)
        c = self.tenant.client
        everything = sorted(WORKSPACE_SCOPES)

        revoked = c.post("/v1/apiKeys", json={"name": "revoked", "scopes": everything}).json()
        with server.client(revoked["apiKey"]) as as_revoked:
            assert as_revoked.get("/v1/jobs").status_code == 200  # works, and is now cached
            r = c.delete(f"/v1/apiKeys/{revoked['id']}")
            assert r.status_code == 200, r.text
            assert r.json()["revokedAt"] is not None
            assert_problem(as_revoked.get("/v1/jobs"), 401, "unauthorized")

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
            assert datetime.fromisoformat(expired["expiresAt"]) == expires
        with server.client(expired["apiKey"]) as as_expired:
            with server.clock_shifted(timedelta(seconds=-30)):
                assert as_expired.get("/v1/jobs").status_code == 200  # works, and is now cached
            body = assert_problem(as_expired.get("/v1/jobs"), 401, "unauthorized")
            assert "expired" in body["detail"]

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
        # A platform key holding every scope there is: refused on workspace routes anyway.
        self.mighty_platform_key = server.database.run(self._mighty_key)

    @staticmethod
    async def _mighty_key(ctx: AppContext) -> str:
        async with ctx.db.transaction() as session:
            issued = await issue_key(
                session, workspace_id=None, name="all scopes", scopes=[s.value for s in Scope]
            )
        return issued.secret
