"""Notifications end to end: templates over the API, status changes that write the notification
log, and the worker sending through a real SMTP server (aiosmtpd on 127.0.0.1) whose received
messages the tests read.

Sending tests run on a database of their own, served by a server whose settings point at the
SMTP server, so no other test server's worker takes their jobs. The ordinary session server has
no SMTP host configured: there, messages are stored in the log.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import event, update
from sqlalchemy.engine import Engine

from enroll.context import AppContext
from enroll.models import Job
from enroll.notification import mail
from tests.support.helpers import PROBLEM
from tests.support.server import (
    Database,
    Server,
    Tenant,
    free_port,
    make_tenant,
    private_server,
)

PROGRAM = "notify-program"  # no states, no manufacturers: every enrollment is eligible
RETRY = timedelta(seconds=5)  # past a first retry's backoff (about 1 s)
SENDER = "Enroll Tests <notify@enroll.test>"


# --- a real SMTP server ---------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")  # SMTP's line ends


class Inbox:
    """aiosmtpd handler: keeps every message; refuses recipients whose address starts with
    ``bounce`` (550, permanent)."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait(self, address: str, count: int = 1) -> list[Received]:
        """The messages to ``address``: ``count`` or more. A send ends with the server's 250,
        which ``handle_DATA`` answers once the message is stored: what the worker sent (drain)
        is here already."""
        found = self.to(address)
        assert len(found) >= count, f"{address}: {len(found)} of {count} messages"
        return found


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_server(
    database: Database, smtp: SmtpServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on a database of its own whose worker sends through ``smtp``."""
    with private_server(
        database,
        Path(tmp_path_factory.mktemp("notify-db")),
        PROGRAM,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from=SENDER,
        smtp_timeout_seconds=5,
    ) as srv:
        yield srv


@pytest.fixture
def t(mail_server: Server) -> Iterator[Tenant]:
    tenant = make_tenant(mail_server, "Notify")
    yield tenant
    tenant.client.close()


# --- helpers --------------------------------------------------------------------------------


def address(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def template(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"audience": "customer", "trigger": "approved", "subject": "S", "body": "B"} | fields
    r = client.post("/v1/notificationTemplates", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


def notifications(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/notifications", params={"perPage": 100} | params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def settled(tenant: Tenant, enrollment_id: str, count: int) -> list[dict[str, Any]]:
    """The enrollment's notifications once the worker has sent what is due: ``count``, none
    queued any more."""
    tenant.server.drain()
    found = notifications(tenant.client, enrollmentId=enrollment_id)
    assert len(found) == count and all(n["status"] != "queued" for n in found), found
    return found


def act(client: httpx.Client, enrollment_id: str, action: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"/v1/enrollments/{enrollment_id}/{action}", json=body or None)
    assert r.status_code == 200, r.text
    return dict(r.json())


# --- templates: CRUD, checks, conflicts -----------------------------------------------------


def test_template_crud(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    created = template(
        c,
        programInstanceId=instance["slug"],  # id or slug; the id is stored
        audience="administrator",
        trigger="submitted",
        subject="New application from {{ enrollment.firstName }}",
        body="{{ enrollment.email }} applied to {{ programInstance.name }}.",
        recipients=["Ops@Example.com", "ops@example.com", "review@example.com"],
    )
    assert created["programInstanceId"] == instance["id"]
    assert created["recipients"] == ["ops@example.com", "review@example.com"]  # lower, once
    assert created["enabled"] is True and created["version"] == 1
    r = c.get(f"/v1/notificationTemplates/{created['id']}")
    assert r.status_code == 200 and r.json() == created

    default = template(c, trigger="approved", subject="Approved", body="Welcome!")
    assert default["programInstanceId"] is None
    listed = c.get("/v1/notificationTemplates").json()
    assert listed["totalItems"] == 2
    assert [x["id"] for x in listed["data"]] == [created["id"], default["id"]]
    for params, expected in (
        ({"programInstanceId": instance["id"]}, [created["id"]]),
        ({"audience": "customer"}, [default["id"]]),
        ({"trigger": "submitted"}, [created["id"]]),
        ({"trigger": "rejected"}, []),
    ):
        page = c.get("/v1/notificationTemplates", params=params).json()
        assert [x["id"] for x in page["data"]] == expected, params

    r = c.patch(
        f"/v1/notificationTemplates/{created['id']}",
        json={"subject": "Application: {{ enrollment.lastName }}", "enabled": False},
    )
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == "Application: {{ enrollment.lastName }}"
    assert r.json()["enabled"] is False and r.json()["version"] == 2
    r = c.patch(f"/v1/notificationTemplates/{created['id']}", json={})
    assert r.status_code == 200 and r.json()["version"] == 2  # nothing changed

    r = c.delete(f"/v1/notificationTemplates/{created['id']}")
    assert r.status_code == 204
    problem(c.get(f"/v1/notificationTemplates/{created['id']}"), 404, "not_found")
    problem(c.delete(f"/v1/notificationTemplates/{created['id']}"), 404, "not_found")


def test_one_template_per_instance_audience_and_trigger(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    first = template(c, trigger="rejected")
    body = problem(
        c.post(
            "/v1/notificationTemplates",
            json={"audience": "customer", "trigger": "rejected", "subject": "x", "body": "y"},
        ),
        409,
        "notification_template_exists",
    )
    assert body["notificationTemplateId"] == first["id"]
    # The instance's own, another audience, another trigger: all distinct keys.
    own = template(c, trigger="rejected", programInstanceId=instance["id"])
    template(c, trigger="rejected", audience="administrator", recipients=["a@example.com"])
    template(c, trigger="cancelled")
    body = problem(
        c.post(
            "/v1/notificationTemplates",
            json={
                "programInstanceId": instance["slug"],
                "audience": "customer",
                "trigger": "rejected",
                "subject": "x",
                "body": "y",
            },
        ),
        409,
        "notification_template_exists",
    )
    assert body["notificationTemplateId"] == own["id"]
    # Deleting the instance deletes its templates (the default stays).
    assert c.delete(f"/v1/programInstances/{instance['id']}").status_code == 204
    problem(c.get(f"/v1/notificationTemplates/{own['id']}"), 404, "not_found")
    assert c.get(f"/v1/notificationTemplates/{first['id']}").status_code == 200


@pytest.mark.parametrize(
    ("field", "source", "says"),
    [
        ("subject", "Hello {{ enrollment.firstName", "line 1"),
        ("body", "{% if status %}open", "line 1"),
        ("body", "{% for x in enrollment.tags %}{{ x }}", "endfor"),
        ("body", "Dear {{ customer.firstNam }}", "firstNam"),
        ("subject", "{{ nosuch }}", "nosuch"),
        ("body", "{{ enrollment.status | nosuchfilter }}", "nosuchfilter"),
        ("body", "{% include 'other.txt' %}", "loader"),
        ("body", "{{ ''.__class__.__mro__ }}", "unsafe"),
        ("body", "{{ enrollment.__class__.__init__.__globals__ }}", "unsafe"),
        ("body", "{{ cycler.__init__.__globals__ }}", "unsafe"),
        ("body", "{{ enrollment.tags.append('x') }}", "unsafe"),
        ("body", "{{ enrollment.metadata.update(a=1) }}", "unsafe"),
        ("body", "{{ lipsum(5) }}", "lipsum"),
        ("body", "{% set _enroll_iter = range %}", "reserved"),
        (
            "body",
            "{% for a in range(1000) %}{% for b in range(1000) %}.{% endfor %}{% endfor %}",
            "too much work",
        ),
        ("body", "{{ 'x' * 100000000 }}", "Repetition"),
        ("body", "{{ 'x'.ljust(1000000000) }}", "100,000"),
        ("body", "{{ '%999999999s' % 'x' }}", "Format"),
        ("body", "{{ 9 ** 99999 }}", "Powers"),
        (
            "body",
            "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}"
            "{{ f(40) }}",
            "too much work",
        ),
        ("body", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recurses"),
    ],
)
def test_broken_or_unsafe_templates_are_refused(
    tenant: Tenant, field: str, source: str, says: str
) -> None:
    c = tenant.client
    body = {"audience": "customer", "trigger": "eligible", "subject": "S", "body": "B"}
    r = c.post("/v1/notificationTemplates", json=body | {field: source})
    found = problem(r, 422, "invalid_template")
    (error,) = found["errors"]
    assert error["field"] == field
    assert says in error["message"], error
    assert c.get("/v1/notificationTemplates").json()["totalItems"] == 0
    # The same check on PATCH; the template stays as it was.
    saved = template(c, trigger="eligible")
    r = c.patch(f"/v1/notificationTemplates/{saved['id']}", json={field: source})
    problem(r, 422, "invalid_template")
    assert c.get(f"/v1/notificationTemplates/{saved['id']}").json() == saved


# Templates that ask for gigabytes in one operation (issue 13, A2): the first three verbatim.
AMPLIFIERS = [
    '{{ ("\t" * 10000).expandtabs(100000) }}',
    '{{ ("{0:>99999}" * 10000).format(1) }}',
    "{{ ('x' * 100000).translate({120: 'y' * 10000}) }}",
    '{{ ("x" * 100000).translate({}.fromkeys(range(200), "y" * 10000)) }}',
    "{{ ('x' * 1000000).zfill(100000) ~ ('x' * 100000).center(100000).replace('', 'yy') }}",
    "{% set s = 'x' * 1000000 %}{{ [s, s, s, s, s, s, s, s, s, s] }}",
    "{{ (['x' * 1000000] * 1000) | join }}",
    "{{ 'x'.encode() * 100000000 }}",
    "{% set s = 'x' * 1000000 %}{% macro m() %}{{ s }}{{ s }}{{ s }}{{ s }}{% endmacro %}{{ m() }}",
    '{% set s = "x" * 1000000 %}{{ "%(a)s%(a)s%(a)s%(a)s" % {"a": s} }}',
    '{{ ("\n" * 100000) | indent(99999) }}',
    '{{ ("a " * 100000) | wordwrap(1, wrapstring="x" * 10000) }}',
    '{{ range(100000) | batch(99999, fill_with="x" * 100000) | list }}',
    "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
]
T = TypeVar("T")
MEMORY_LIMIT = 64 * 2**20
TIME_LIMIT = 2.0


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def peak_growth(call: Callable[[], T]) -> tuple[T, int]:
    """``call()``'s result and peak Python memory growth (the test server runs in this
    process, so its allocations count)."""
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def bounded(call: Callable[[], T], same_without_template: Callable[[], Any]) -> T:
    """``call()`` twice: once timed, taking less than 2 s more than ``same_without_template``
    (the machine's load is not the template's), once under tracemalloc (which slows Python
    several times), growing memory by less than 64 MB."""
    _, baseline = timed(same_without_template)
    _, elapsed = timed(call)
    assert elapsed - baseline < TIME_LIMIT, f"{elapsed:.2f} s, {baseline:.2f} s without"
    result, peak = peak_growth(call)
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.0f} MB"
    return result


@pytest.mark.parametrize("source", AMPLIFIERS)
def test_amplifying_templates_are_refused_without_the_allocation(
    tenant: Tenant, source: str
) -> None:
    assert len(source) < 64 * 1024
    c = tenant.client
    template(c, trigger="approved")  # warm: the first save imports and builds
    body = {"audience": "customer", "trigger": "eligible", "subject": "S", "body": source}
    r = bounded(
        lambda: c.post("/v1/notificationTemplates", json=body),
        lambda: c.post(
            "/v1/notificationTemplates", json=body | {"trigger": "submitted"} | {"body": "B"}
        ),
    )
    (error,) = problem(r, 422, "invalid_template")["errors"]
    assert error["field"] == "body"
    says = ("longer than", "too much work", "limited to")
    assert any(phrase in error["message"] for phrase in says), error


@pytest.mark.parametrize("source", AMPLIFIERS[:4])
def test_amplifying_templates_fail_at_send_time_without_the_allocation(
    tenant: Tenant, source: str
) -> None:
    """Saved (the sample's first name is not Boom), then sent for a Boom: the notification is
    failed, the enrollment stands, and the render never built the value."""
    c = tenant.client
    instance = tenant.instance("anywhere-program")
    guarded = "{% if enrollment.firstName == 'Boom' %}" + source + "{% endif %}"
    template(c, trigger="eligible", subject="Hi", body=guarded)
    others = [tenant.enroll(instance["id"])]  # warm: the first send imports and builds
    enrollment = bounded(
        lambda: tenant.enroll(instance["id"], firstName="Boom"),
        lambda: others.append(tenant.enroll(instance["id"], firstName="Pat")),
    )
    assert enrollment["status"] == "eligible"
    (failed,) = settled(tenant, enrollment["id"], 1)
    assert failed["status"] == "failed" and failed["attempts"] == 0
    assert failed["error"].startswith("The template failed to render:"), failed
    assert "longer than" in failed["error"], failed
    for other in others:  # not Boom: the template prints nothing for them
        (stored,) = settled(tenant, other["id"], 1)
        assert (stored["status"], stored["body"]) == ("stored", ""), stored


def test_both_fields_are_reported(tenant: Tenant) -> None:
    r = tenant.client.post(
        "/v1/notificationTemplates",
        json={"audience": "customer", "trigger": "approved", "subject": "{{", "body": "{{ x }}"},
    )
    found = problem(r, 422, "invalid_template")
    assert [e["field"] for e in found["errors"]] == ["subject", "body"]


def test_templates_that_use_the_whole_context_are_accepted(tenant: Tenant) -> None:
    source = (
        "{{ enrollment.id }} {{ enrollment.firstName }} {{ enrollment.address.city }} "
        "{{ enrollment.eligibility.reason }} {{ enrollment.tags | join(', ') }} "
        "{% for c in enrollment.eligibility.checks %}{{ c.id }}{% endfor %} "
        "{{ customer.email }} {{ customer.notificationsOptOut }} {{ program.name }} "
        "{{ program.type }} {{ programInstance.name }} {{ programInstance.branding.logoUrl }} "
        "{{ programInstance.terms.version }} {{ previousStatus }} -> {{ status }} "
        "{{ enrollment.metadata.plan | default('standard') }} "
        "{% if enrollment.metadata.plan is defined %}x{% endif %}"
        "{{ '%05d' % 42 }} {{ '{:>6}'.format(status) }} {{ status | upper }} "
        "{% set ns = namespace(n=0) %}{% for t in enrollment.tags %}{% set ns.n = ns.n + 1 %}"
        "{% endfor %}{{ ns.n }} {{ enrollment.createdAt[:10] }}"
    )
    template(
        tenant.client, trigger="unenrolled", subject="{{ status }}: {{ program.name }}", body=source
    )


def test_bad_input_is_a_problem(tenant: Tenant) -> None:
    c = tenant.client
    r = c.post(
        "/v1/notificationTemplates",
        content=b'{"audience": "customer",',
        headers={"Content-Type": "application/json"},
    )
    problem(r, 400, "malformed_json")  # the project's code for a body that is not JSON
    base = {"audience": "customer", "trigger": "approved", "subject": "S", "body": "B"}
    for wrong in (
        {"subject": 5},
        {"subject": ""},
        {"body": None},
        {"enabled": "maybe"},
        {"audience": "everyone"},
        {"trigger": "candidate"},  # an enrollment never rests there: not a trigger
        {"trigger": "nope"},
        {"recipients": "ops@example.com"},
        {"recipients": ["not-an-address"]},
        {"programInstanceId": 7},
        {"unknownField": 1},
        {"subject": "a\x00b"},
    ):
        r = c.post("/v1/notificationTemplates", json=base | wrong)
        problem(r, 422, "validation_error")
    del base["audience"]
    problem(c.post("/v1/notificationTemplates", json=base), 422, "validation_error")
    # Recipients belong to administrator templates, and they need some.
    found = problem(
        c.post(
            "/v1/notificationTemplates",
            json={"audience": "administrator", "trigger": "approved", "subject": "S", "body": "B"},
        ),
        422,
        "validation_error",
    )
    assert found["errors"][0]["field"] == "recipients"
    problem(
        c.post(
            "/v1/notificationTemplates",
            json={
                "audience": "customer",
                "trigger": "approved",
                "subject": "S",
                "body": "B",
                "recipients": ["a@example.com"],
            },
        ),
        422,
        "validation_error",
    )
    saved = template(c)
    for wrong in (
        {"subject": None},
        {"audience": "administrator"},  # identity: delete and create instead
        {"trigger": "rejected"},
        {"recipients": ["a@example.com"]},  # a customer template
        {"enabled": None},
    ):
        problem(
            c.patch(f"/v1/notificationTemplates/{saved['id']}", json=wrong), 422, "validation_error"
        )
    for path, params in (
        ("/v1/notificationTemplates", {"audience": "x"}),
        ("/v1/notificationTemplates", {"trigger": "candidate"}),
        ("/v1/notificationTemplates", {"perPage": 0}),
        ("/v1/notifications", {"status": "lost"}),
        ("/v1/notifications", {"audience": "x"}),
        ("/v1/notifications", {"enrollmentId": "a\x00"}),
        ("/v1/notifications", {"cursor": "!!"}),
    ):
        r = c.get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    problem(
        c.post("/v1/notificationTemplates", json=base | {"audience": "customer", "x": 1}),
        422,
        "validation_error",
    )
    problem(
        c.post(
            "/v1/notificationTemplates",
            json=base | {"audience": "customer", "programInstanceId": "no-such-instance"},
        ),
        404,
        "not_found",
    )
    problem(c.patch(f"/v1/customers/{uuid.uuid4().hex}", json={}), 404, "not_found")


def test_scopes(tenant: Tenant) -> None:
    saved = template(tenant.client)
    reader = tenant.server.client(tenant.key_with("program_instances:read"))
    log_reader = tenant.server.client(tenant.key_with("customers:read"))
    with reader, log_reader:
        assert reader.get(f"/v1/notificationTemplates/{saved['id']}").status_code == 200
        problem(
            reader.patch(f"/v1/notificationTemplates/{saved['id']}", json={"subject": "x"}),
            403,
            "insufficient_scope",
        )
        problem(reader.get("/v1/notifications"), 403, "insufficient_scope")
        assert log_reader.get("/v1/notifications").status_code == 200
        problem(log_reader.get("/v1/notificationTemplates"), 403, "insufficient_scope")


def test_another_workspace_sees_404(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    saved = template(tenant.client, trigger="eligible", subject="Hi", body="Apply now")
    enrollment = tenant.enroll(instance["id"])
    (sent,) = settled(tenant, enrollment["id"], 1)
    other = other_tenant.client
    for method, path in (
        ("GET", f"/v1/notificationTemplates/{saved['id']}"),
        ("PATCH", f"/v1/notificationTemplates/{saved['id']}"),
        ("DELETE", f"/v1/notificationTemplates/{saved['id']}"),
        ("GET", f"/v1/notifications/{sent['id']}"),
    ):
        r = other.request(method, path, json={"subject": "x"} if method == "PATCH" else None)
        problem(r, 404, "not_found")
    r = other.post(
        "/v1/notificationTemplates",
        json={
            "programInstanceId": instance["id"],
            "audience": "customer",
            "trigger": "eligible",
            "subject": "S",
            "body": "B",
        },
    )
    problem(r, 404, "not_found")
    assert other.get("/v1/notificationTemplates").json()["data"] == []
    assert notifications(other) == []
    assert notifications(other, enrollmentId=enrollment["id"]) == []
    # Unchanged for its owner; and another workspace's template never fires here.
    assert tenant.client.get(f"/v1/notificationTemplates/{saved['id']}").json() == saved
    other_instance = other_tenant.instance()
    theirs = other_tenant.enroll(other_instance["id"])
    tenant.server.drain()
    assert notifications(other, enrollmentId=theirs["id"]) == []


# --- without SMTP: stored -------------------------------------------------------------------


def test_without_smtp_messages_are_stored(tenant: Tenant) -> None:
    """The session server has no SMTP host: the log keeps every message, status stored."""
    c = tenant.client
    instance = tenant.instance()
    template(
        c,
        trigger="eligible",
        subject="You can apply to {{ programInstance.name }}",
        body="Dear {{ enrollment.firstName }}, you are {{ status }} (was {{ previousStatus }}).",
    )
    template(
        c, trigger="rejected", subject="Not this time", body="{{ enrollment.eligibilityReason }}"
    )
    enrollment = tenant.enroll(instance["id"], firstName="Robin")
    (stored,) = settled(tenant, enrollment["id"], 1)
    assert stored["status"] == "stored" and stored["attempts"] == 0 and stored["error"] is None
    assert stored["sentAt"] is None
    assert stored["audience"] == "customer" and stored["trigger"] == "eligible"
    assert stored["recipient"] == enrollment["email"] and stored["channel"] == "email"
    assert stored["subject"] == "You can apply to Instance"
    assert stored["body"] == "Dear Robin, you are eligible (was candidate)."
    assert stored["customerId"] == enrollment["customerId"]
    assert stored["programInstanceId"] == instance["id"]
    r = c.get(f"/v1/notifications/{stored['id']}")
    assert r.status_code == 200 and r.json() == stored
    # No template for submitted: nothing; rejected: one more.
    act(c, enrollment["id"], "submit")
    act(c, enrollment["id"], "reject", reason="Incomplete paperwork")
    found = settled(tenant, enrollment["id"], 2)
    assert [n["trigger"] for n in found] == ["eligible", "rejected"]
    assert found[1]["body"] == "Incomplete paperwork"
    assert [n["id"] for n in notifications(c, status="stored")] == [n["id"] for n in found]
    assert notifications(c, audience="administrator") == []
    # The log's pagination is the other lists' (cursor mode too).
    page = c.get("/v1/notifications", params={"perPage": 1}).json()
    assert page["totalItems"] == 2 and page["nextCursor"]
    nxt = c.get("/v1/notifications", params={"perPage": 1, "cursor": page["nextCursor"]}).json()
    assert nxt["data"][0]["id"] == found[1]["id"] and nxt["totalItems"] is None


def test_every_trigger_fires(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    for trigger in ("eligible", "ineligible", "submitted", "approved", "unenrolled", "cancelled"):
        template(c, trigger=trigger, subject=trigger, body="{{ previousStatus }}>{{ status }}")
    kept = tenant.enroll(instance["id"])
    act(c, kept["id"], "submit")
    act(c, kept["id"], "approve")
    act(c, kept["id"], "unenroll", reason="Moved away")
    dropped = tenant.enroll(instance["id"])
    act(c, dropped["id"], "cancel")
    outside = tenant.enroll(instance["id"], address={"state": "TX"})  # the program's states
    assert outside["status"] == "ineligible"
    bodies = {
        e["id"]: [n["body"] for n in settled(tenant, e["id"], n)]
        for e, n in ((kept, 4), (dropped, 2), (outside, 1))
    }
    assert bodies == {
        kept["id"]: [
            "candidate>eligible",
            "eligible>submitted",
            "submitted>approved",
            "approved>unenrolled",
        ],
        dropped["id"]: ["candidate>eligible", "eligible>cancelled"],
        outside["id"]: ["candidate>ineligible"],
    }


def test_a_template_that_fails_on_real_data_fails_safely(tenant: Tenant) -> None:
    """Checked against the sample (which has an address) it passes; on an enrollment without
    one, calling a method of its city fails: the notification is failed, the change stands.
    Fields the data lacks are empty text."""
    c = tenant.client
    instance = tenant.instance("anywhere-program")
    template(
        c,
        trigger="eligible",
        subject="{{ enrollment.address.city }}|{{ enrollment.phone }}",
        body="{{ enrollment.address.city.upper() }}",
    )
    template(
        c,
        trigger="submitted",
        subject="City: {{ enrollment.address.city }}.",
        body="Phone: {{ enrollment.phone }}.",
    )
    enrollment = tenant.enroll(instance["id"], address=None)
    assert enrollment["status"] == "eligible"
    act(c, enrollment["id"], "submit")
    failed, stored = settled(tenant, enrollment["id"], 2)
    assert failed["status"] == "failed" and failed["subject"] == "" and failed["attempts"] == 0
    assert failed["error"].startswith("The template failed to render:"), failed
    assert stored["status"] == "stored"
    assert (stored["subject"], stored["body"]) == ("City: .", "Phone: .")


# --- the customer's opt-out -----------------------------------------------------------------


def test_opt_out_on_the_customer(tenant: Tenant) -> None:
    c = tenant.client
    r = c.post(
        "/v1/customers",
        json={"firstName": "Quiet", "lastName": "Q", "email": address("quiet")},
    )
    assert r.status_code == 201 and r.json()["notificationsOptOut"] is False
    customer = r.json()
    r = c.patch(f"/v1/customers/{customer['id']}", json={"notificationsOptOut": True})
    assert r.status_code == 200, r.text
    assert r.json()["notificationsOptOut"] is True and r.json()["version"] == 2
    assert c.get(f"/v1/customers/{customer['id']}").json()["notificationsOptOut"] is True
    for wrong in ({"notificationsOptOut": None}, {"notificationsOptOut": "often"}):
        problem(c.patch(f"/v1/customers/{customer['id']}", json=wrong), 422, "validation_error")


# --- sending through SMTP -------------------------------------------------------------------


def test_a_flow_sends_the_right_messages(t: Tenant, smtp: SmtpServer) -> None:
    c = t.client
    instance = t.instance(PROGRAM, name="Battery Rewards")
    ops, review = address("ops"), address("review")
    template(  # the workspace default invitation
        c,
        trigger="eligible",
        subject="{{ enrollment.firstName }}, you can apply to {{ programInstance.name }}",
        body="Dear {{ customer.firstName }} {{ customer.lastName }},\n"
        "you qualify for {{ program.name }} ({{ enrollment.eligibilityReason }}).\n"
        "Your reference: {{ enrollment.id }}\n",
    )
    template(
        c,
        programInstanceId=instance["id"],
        trigger="submitted",
        subject="We received your application",
        body="Status: {{ previousStatus }} -> {{ status }}. "
        "Tags: {{ enrollment.tags | join(', ') }}",
    )
    template(
        c,
        programInstanceId=instance["id"],
        audience="administrator",
        trigger="submitted",
        recipients=[ops, review],
        subject="[{{ programInstance.slug }}] {{ enrollment.lastName }} applied",
        body="Review {{ enrollment.email }}: submitted at {{ enrollment.updatedAt }}",
    )
    template(
        c,
        trigger="approved",
        subject="Welcome to {{ program.name }}",
        body="Approved. — ünïcödé ✓",
    )
    customer_email = address("suzie")
    enrollment = t.enroll(
        instance["id"],
        firstName="Suzie",
        lastName="Homeowner",
        email=customer_email,
        tags=["battery", "ny"],
    )
    eid = enrollment["id"]
    act(c, eid, "submit")
    act(c, eid, "approve")

    t.server.drain()
    mails = smtp.inbox.wait(customer_email, 3)  # sent concurrently (PostgreSQL): any order
    by_subject = {m.subject: m for m in mails}
    assert sorted(by_subject) == [
        "Suzie, you can apply to Battery Rewards",
        "We received your application",
        "Welcome to P",
    ]
    invitation = by_subject["Suzie, you can apply to Battery Rewards"]
    assert invitation.text == (
        "Dear Suzie Homeowner,\nyou qualify for P (Program accepting enrollments).\n"
        f"Your reference: {eid}\n"
    )
    assert invitation.mail_from == "notify@enroll.test"
    assert str(invitation.message["From"]) == SENDER
    assert str(invitation.message["To"]) == customer_email
    received = by_subject["We received your application"].text.strip()
    assert received == "Status: eligible -> submitted. Tags: battery, ny"
    assert by_subject["Welcome to P"].text.strip() == "Approved. — ünïcödé ✓"
    for admin in (ops, review):
        (m,) = smtp.inbox.wait(admin)
        assert m.subject == f"[{instance['slug']}] Homeowner applied"
        assert m.text.startswith(f"Review {customer_email}: submitted at ")

    log = settled(t, eid, 5)
    assert all(n["status"] == "sent" and n["attempts"] == 1 for n in log), log
    assert all(n["sentAt"] and n["error"] is None for n in log)
    assert sorted((n["audience"], n["recipient"]) for n in log) == sorted(
        [("customer", customer_email)] * 3 + [("administrator", ops), ("administrator", review)]
    )
    by_id = {n["id"]: n for n in log}
    for m in mails:
        notification_id = str(m.message["X-Enroll-Notification-Id"])
        assert str(m.message["Message-ID"]) == f"<{notification_id}@enroll.test>"
        assert by_id[notification_id]["subject"] == m.subject
    assert [n["recipient"] for n in notifications(c, audience="administrator")] == [ops, review]


def test_the_instance_template_beats_the_default(t: Tenant, smtp: SmtpServer) -> None:
    c = t.client
    own, plain, silent = (t.instance(PROGRAM) for _ in range(3))
    template(c, trigger="eligible", subject="Default", body="default body")
    template(c, programInstanceId=own["id"], trigger="eligible", subject="Own", body="own body")
    template(
        c,
        programInstanceId=silent["id"],
        trigger="eligible",
        subject="Off",
        body="x",
        enabled=False,
    )  # a disabled instance template hides the default
    emails = {}
    for instance in (own, plain, silent):
        emails[instance["id"]] = address("pick")
        t.enroll(instance["id"], email=emails[instance["id"]])
    t.server.drain()
    (m,) = smtp.inbox.wait(emails[own["id"]])
    assert (m.subject, m.text.strip()) == ("Own", "own body")
    (m,) = smtp.inbox.wait(emails[plain["id"]])
    assert (m.subject, m.text.strip()) == ("Default", "default body")
    assert smtp.inbox.to(emails[silent["id"]]) == []
    assert len(notifications(c)) == 2


def test_a_status_change_looks_templates_up_only_when_one_may_apply(
    t: Tenant, smtp: SmtpServer
) -> None:
    """A create's instance lookup also tells whether a template (the instance's own or a
    workspace default) exists; with none, its status change runs no template query."""
    c = t.client
    instance, other = t.instance(PROGRAM), t.instance(PROGRAM)
    lookups: list[str] = []

    def enroll_counting(email: str) -> int:
        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().startswith("SELECT notification_template."):
                lookups.append(statement)

        lookups.clear()
        event.listen(Engine, "before_cursor_execute", seen)
        try:
            t.enroll(instance["id"], email=email)
        finally:
            event.remove(Engine, "before_cursor_execute", seen)
        return len(lookups)

    assert enroll_counting(address("none")) == 0
    template(c, programInstanceId=other["id"], trigger="eligible", subject="Other", body="x")
    assert enroll_counting(address("other")) == 0  # another instance's template: none apply
    template(c, trigger="eligible", subject="Default", body="default body")
    invited = address("invited")
    assert enroll_counting(invited) == 1
    t.server.drain()
    (m,) = smtp.inbox.wait(invited)
    assert (m.subject, m.text.strip()) == ("Default", "default body")
    assert len(notifications(c)) == 1


def test_opted_out_customers_get_nothing(t: Tenant, smtp: SmtpServer) -> None:
    c = t.client
    instance = t.instance(PROGRAM)
    admin = address("admin")
    template(c, trigger="eligible", subject="Invitation", body="Apply!")
    template(
        c,
        audience="administrator",
        trigger="eligible",
        recipients=[admin],
        subject="New eligible",
        body="{{ customer.email }} opted out: {{ customer.notificationsOptOut }}",
    )
    quiet = address("quiet")
    r = c.post("/v1/customers", json={"firstName": "Q", "lastName": "Q", "email": quiet})
    assert r.status_code == 201, r.text
    customer_id = r.json()["id"]
    r = c.patch(f"/v1/customers/{customer_id}", json={"notificationsOptOut": True})
    assert r.status_code == 200, r.text
    r = c.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        json={"identificationType": "customerId", "customerId": customer_id},
    )
    assert r.status_code == 201, r.text
    enrollment = r.json()
    t.server.drain()
    (m,) = smtp.inbox.wait(admin)  # administrators still hear of it
    assert m.text.strip() == f"{quiet} opted out: True"
    log = settled(t, enrollment["id"], 2)
    suppressed = next(n for n in log if n["audience"] == "customer")
    assert suppressed["status"] == "suppressed" and suppressed["recipient"] == quiet
    assert suppressed["attempts"] == 0 and suppressed["sentAt"] is None
    assert suppressed["subject"] == "Invitation"  # what would have been sent
    assert notifications(c, status="suppressed") == [suppressed]
    assert smtp.inbox.to(quiet) == []


def test_opting_out_after_queueing_suppresses(t: Tenant, smtp: SmtpServer) -> None:
    """Opting out while a message waits for a retry: the retry suppresses it."""
    c = t.client
    instance = t.instance(PROGRAM)
    template(c, trigger="eligible", subject="Invitation", body="Apply!")
    smtp.stop()
    try:
        enrollment = t.enroll(instance["id"], email=address("late"))
        notification = wait_for_attempt(t, enrollment["id"])
        r = c.patch(f"/v1/customers/{enrollment['customerId']}", json={"notificationsOptOut": True})
        assert r.status_code == 200, r.text
    finally:
        smtp.start()
    with t.server.clock_shifted(RETRY):
        (done,) = settled(t, enrollment["id"], 1)
    assert done["id"] == notification["id"]
    assert done["status"] == "suppressed" and done["attempts"] == 1
    assert smtp.inbox.to(enrollment["email"]) == []


def wait_for_attempt(tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    """The enrollment's notification once the worker has attempted it (its retry waits)."""
    tenant.server.drain()
    found = notifications(tenant.client, enrollmentId=enrollment_id)
    assert found and found[0]["attempts"] >= 1, found
    return found[0]


def test_smtp_down_then_up_is_retried(t: Tenant, smtp: SmtpServer) -> None:
    c = t.client
    instance = t.instance(PROGRAM)
    template(c, trigger="eligible", subject="Retried", body="Eventually")
    recipient = address("retry")
    smtp.stop()
    try:
        enrollment = t.enroll(instance["id"], email=recipient)
        first = wait_for_attempt(t, enrollment["id"])
        assert first["status"] == "queued"  # retrying
        assert first["error"] and f"127.0.0.1:{smtp.port}" in first["error"], first
        assert first["sentAt"] is None
        jobs = [
            j
            for j in c.get("/v1/jobs", params={"status": "queued"}).json()["data"]
            if j["payload"].get("notificationId") == first["id"]
        ]
        (job,) = jobs  # waiting for its retry, with the worker's backoff
        assert job["kind"] == "notification.send" and job["attempts"] == 1 and job["lastError"]
    finally:
        smtp.start()
    with t.server.clock_shifted(RETRY):
        (sent,) = settled(t, enrollment["id"], 1)
    (m,) = smtp.inbox.wait(recipient)
    assert m.subject == "Retried"
    assert sent["status"] == "sent" and sent["attempts"] >= 2 and sent["error"] is None
    assert sent["sentAt"]


def test_a_refused_recipient_fails_at_once(t: Tenant, smtp: SmtpServer) -> None:
    """A 5xx answer is not retried: the notification fails with the server's words."""
    c = t.client
    instance = t.instance(PROGRAM)
    good = address("fine")
    template(
        c,
        audience="administrator",
        trigger="eligible",
        recipients=[address("bounce"), good],
        subject="Heads up",
        body="x",
    )
    enrollment = t.enroll(instance["id"])
    t.server.drain()
    smtp.inbox.wait(good)
    bounced, sent = sorted(settled(t, enrollment["id"], 2), key=lambda n: n["status"])
    assert bounced["status"] == "failed" and bounced["attempts"] == 1
    assert "550" in bounced["error"] and "No such mailbox" in bounced["error"]
    assert sent["status"] == "sent"


def test_the_last_attempt_records_failed(t: Tenant, smtp: SmtpServer) -> None:
    c = t.client
    instance = t.instance(PROGRAM)
    template(c, trigger="eligible", subject="Never", body="x")
    smtp.stop()
    try:
        enrollment = t.enroll(instance["id"], email=address("never"))
        first = wait_for_attempt(t, enrollment["id"])

        async def last_attempt_next(ctx: AppContext) -> None:  # instead of waiting out 15
            async with ctx.db.transaction() as session:
                await session.execute(
                    update(Job)
                    .where(Job.payload["notificationId"].as_string() == first["id"])
                    .values(max_attempts=2)
                )

        t.server.database.run(last_attempt_next)
        with t.server.clock_shifted(RETRY):
            (failed,) = settled(t, enrollment["id"], 1)
    finally:
        smtp.start()
    assert failed["status"] == "failed" and failed["attempts"] == 2, failed
    assert f"127.0.0.1:{smtp.port}" in failed["error"]
    assert notifications(c, status="failed") == [failed]


def test_mail_authenticates_and_sorts_failures() -> None:
    """mail.send alone: AUTH with the configured credentials (the server offers it without
    TLS here); a wrong password is permanent (535), an unreachable server transient."""
    authenticated: list[bool] = []

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"enroll",
            b"s3cret",
        )
        return AuthResult(success=ok, handled=False)  # the server answers 535 itself

    class Recorder(Inbox):
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            authenticated.append(session.authenticated)
            return await super().handle_DATA(server, session, envelope)

    inbox = Recorder()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:

        def config(**fields: Any) -> mail.SmtpConfig:
            base = {
                "host": "127.0.0.1",
                "port": port,
                "username": "enroll",
                "password": "s3cret",
                "tls": "none",
                "sender": SENDER,
                "timeout_seconds": 5.0,
            }
            return mail.SmtpConfig(**(base | fields))

        to = address("auth")
        outgoing = mail.Outgoing("cmtestnotification", to, "Subject ✓", "Body ✓")
        now = datetime.now(UTC)
        asyncio.run(mail.send(config(), outgoing, now=now))
        (m,) = inbox.wait(to)
        assert authenticated == [True]
        assert (m.subject, m.text.strip()) == ("Subject ✓", "Body ✓")
        assert str(m.message["Message-ID"]) == "<cmtestnotification@enroll.test>"
        with pytest.raises(mail.SendFailed) as refused:
            asyncio.run(mail.send(config(password="wrong"), outgoing, now=now))
        assert refused.value.permanent and "535" in str(refused.value)
    finally:
        controller.stop()
    with pytest.raises(mail.SendFailed) as down:
        asyncio.run(mail.send(config(), outgoing, now=now))
    assert not down.value.permanent and f"127.0.0.1:{port}" in str(down.value)
