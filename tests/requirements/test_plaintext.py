"""Issue 16 §5 on both databases: sensitive values never show except masked. One full walk on a
server of its own (seed 004's story: refusals, the applicant, the household over REST and
GraphQL, documents, submission, unprocessable; seed 003's payment method; an import; the
reads of every door) with a webhook endpoint subscribed to every event type, then a search
for each plaintext (the tax ids, dashed and digits only, and a document's marker) in: every
HTTP answer the test received, the event feed and the event table, every webhook body the
receiver got and the delivery rows, every log line of the run (its arguments and exception
text included), the stored document objects, and every column of every row of the database,
after the run and while an import waits for the worker (the sealed tax id columns aside: those
must hold `ev1:` values that open to the tax ids); on SQLite also the database's files as
they are on disk. The customer's id, looked for the same way, shows the search reaches each
kind of place.

Allowed: the masked forms (`taxIdLast4` "9999", `***-**-9999`), and the document's own
contents from its download route (``…/content``), which the test checks then leaves out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from sqlalchemy import inspect, text

from enroll.context import AppContext
from enroll.kit.outbound import new_secret
from enroll.vault.keyring import KeyRing
from tests.document.files import pdf, upload
from tests.requirements.seed004 import SIGNATURE, applicant, repayment_instance
from tests.support.graphql import CUSTOMER, data, gql
from tests.support.http_endpoint import Checker, Received
from tests.support.server import (
    TEST_DATA_KEY,
    Database,
    Server,
    Tenant,
    make_tenant,
    private_server,
)

PROGRAM = "plaintext-program"
CUSTOMER_TAX_ID = "219-09-9999"
SPOUSE_TAX_ID = "078-05-1120"
DEPENDENT_TAX_ID = "457-55-5462"  # added through GraphQL
TAX_IDS = (CUSTOMER_TAX_ID, SPOUSE_TAX_ID, DEPENDENT_TAX_ID)
# Malformed ones: each holds a plaintext above, so an echo of it is found too.
BAD_CUSTOMER_TAX_ID = "219-09-99999"
BAD_MEMBER_TAX_ID = "078-05-11200"
SEALED_COLUMN = "tax_id_sealed"
BLOCKING = [
    {"key": "billing", "kind": "billingAddress", "label": "Billing address", "stage": "submit"},
    {"key": "payment", "kind": "paymentMethod", "label": "Payment method", "stage": "submit"},
]
MEMBER = "id role taxIdLast4 firstName"
ADD_MEMBER = f"""mutation($c: ID!, $input: HouseholdMemberCreateInput!) {{
  addHouseholdMember(customerId: $c, input: $input) {{ {MEMBER} }} }}"""
UPDATE_CUSTOMER = """mutation($id: ID!, $input: CustomerUpdateInput!) {
  updateCustomer(id: $id, input: $input) { id taxIdLast4 version } }"""
CUSTOMER_QUERY = f"""query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER}
  householdMembers {{ {MEMBER} dateOfBirth hasTaxableIncome agi }} }} }}"""
ENROLLMENT_QUERY = f"""query($id: ID!) {{ enrollment(id: $id) {{
  id status planCode
  requirements {{ key kind label stage status detail }}
  documents {{ id owner type filename contentType size sha256 }}
  consents {{ id kind textVersion text documents actor }}
  history {{ action fromStatus toStatus reason }}
  customer {{ {CUSTOMER} householdMembers {{ {MEMBER} }} }} }} }}"""
LISTS_QUERY = f"""query {{ customers(first: 50) {{ edges {{ node {{ {CUSTOMER} }} }} }}
  enrollments(first: 50) {{ edges {{ node {{ id status customer {{ taxIdLast4 }} }} }} }} }}"""


@dataclass
class Haystack:
    """Everything the run showed or kept, each piece named by where it was."""

    pieces: list[tuple[str, bytes]] = field(default_factory=list)
    downloads: list[bytes] = field(default_factory=list)

    def add(self, where: str, content: str | bytes) -> None:
        self.pieces.append((where, content.encode() if isinstance(content, str) else content))

    def hits(self, needles: list[str]) -> list[str]:
        found = []
        for where, content in self.pieces:
            for needle in needles:
                at = content.find(needle.encode())
                if at >= 0:
                    around = content[max(0, at - 80) : at + len(needle) + 80]
                    found.append(f"{needle!r} in {where}: …{str(around)[2:-1]}…")
        return found

    def seen_in(self, needle: str, *places: str) -> list[str]:
        """Of ``places`` (prefixes of where pieces come from), those holding no ``needle``."""
        holding = [where for where, content in self.pieces if needle.encode() in content]
        return [p for p in places if not any(where.startswith(p) for where in holding)]

    def record(self, response: httpx.Response) -> None:
        """An httpx response hook: keep every answer (a document's download aside)."""
        response.read()
        request = response.request
        if request.url.path.endswith("/content"):
            self.downloads.append(response.content)
            return
        where = f"HTTP {request.method} {request.url.raw_path.decode()} → {response.status_code}"
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.add(where, headers.encode() + b"\n\n" + response.content)


class Lines(logging.Handler):
    """Every record, formatted with its arguments and its exception's text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured_logs() -> Iterator[Lines]:
    """Catch every log record: a handler on the root logger and on each logger that does not
    pass its records up (uvicorn's own and its access log); the app's loggers at DEBUG,
    uvicorn's and httpx's at INFO, the rest at INFO, SQLAlchemy at WARNING (no SQL echo)."""
    handler = Lines()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    levels = {
        "": logging.INFO,
        "enroll": logging.DEBUG,
        "uvicorn": logging.DEBUG,
        "uvicorn.error": logging.DEBUG,
        "uvicorn.access": logging.INFO,
        "httpx": logging.INFO,
        "sqlalchemy": logging.WARNING,
    }
    before = {name: logging.getLogger(name or None).level for name in levels}
    for logger in loggers:
        logger.addHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name or None).setLevel(level)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        for name, level in before.items():
            logging.getLogger(name or None).setLevel(level)


def test_no_sensitive_value_shows_anywhere_but_masked(database: Database, tmp_path: Path) -> None:
    mark = f"SECRET{secrets.token_hex(12)}"  # 24 hex digits of a marker
    receiver = Checker()
    try:
        with private_server(database, tmp_path, PROGRAM) as srv, captured_logs() as logs:
            haystack = Haystack()
            tenant = make_tenant(srv)
            tenant.client.event_hooks["response"] = [haystack.record]
            try:
                url = receiver.route(secret := new_secret(), lambda _, __: (200, {"ok": True}))
                r = tenant.client.post(
                    "/v1/webhookEndpoints", json={"url": url, "secret": secret, "eventTypes": []}
                )
                assert r.status_code == 201, r.text
                customer_id = _walk(srv, tenant, mark, haystack)
                srv.drain()  # every delivery sent (the import drained once already)
                _events(tenant)
                received = receiver.received(url)
            finally:
                tenant.client.close()
            _deliveries(received, haystack)
            _logs(logs, haystack)
            _storage(srv, mark, haystack)
            _tables(srv, haystack)
    finally:
        receiver.close()
    # The search looks where it should: the customer's id is in each kind of place.
    places = ("HTTP GET /v1/events", "HTTP POST /graphql", "webhook body", "log line",
              "table event ", "table customer ", "table enrollment ")  # fmt: skip
    assert not haystack.seen_in(customer_id, *places), haystack.seen_in(customer_id, *places)
    needles = [mark, *TAX_IDS, *(t.replace("-", "") for t in TAX_IDS)]
    hits = haystack.hits(needles)
    assert not hits, f"{len(hits)} plaintexts found:\n" + "\n".join(hits)


def _walk(srv: Server, tenant: Tenant, mark: str, haystack: Haystack) -> str:
    """The whole story; the customer's id."""
    eid, customer_id = _apply(tenant)
    spouse_id = _household(tenant, customer_id, eid)
    _documents(tenant, eid, spouse_id, mark, haystack)
    c = tenant.client
    r = c.post(f"/v1/enrollments/{eid}/submit")
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
    r = c.post(f"/v1/enrollments/{eid}/markUnprocessable", json={"reason": "AGI discrepancy"})
    assert r.status_code == 200 and r.json()["status"] == "unprocessable", r.text
    paid = _payment(tenant, customer_id)
    _import(srv, tenant, haystack)
    _reads(tenant, customer_id, [eid, paid])
    return customer_id


def _apply(tenant: Tenant) -> tuple[str, str]:
    """Seed 004's create: refused 409 (the tax id given, the phone not), 422 for a malformed
    tax id, then created; a tax id also given on the enrollment's PATCH."""
    c = tenant.client
    instance = repayment_instance(tenant, programSlug=PROGRAM)
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    decreased = {"agi": 52000, "hasTaxableIncome": True, "decreasedSinceFiling": True}
    body = applicant(taxId=CUSTOMER_TAX_ID, maritalStatus="married", income=decreased)
    unphoned = {k: v for k, v in body.items() if k != "phone"}
    r = c.post(url, json=unphoned)
    assert r.status_code == 409 and r.json()["code"] == "requirements_unmet", r.text
    assert [u["key"] for u in r.json()["unmet"]] == ["phone", "signature"]
    r = c.post(url, json=body | {"taxId": BAD_CUSTOMER_TAX_ID, "consent": SIGNATURE})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["taxId"]
    r = c.post(url, json=body | {"consent": SIGNATURE, "planCode": "repaye"})
    assert r.status_code == 201, r.text
    enrollment = r.json()
    r = c.patch(f"/v1/enrollments/{enrollment['id']}", json={"taxId": CUSTOMER_TAX_ID})
    assert r.status_code == 200, r.text
    return enrollment["id"], enrollment["customerId"]


def _household(tenant: Tenant, customer_id: str, eid: str) -> str:
    """The spouse over REST (a malformed tax id refused first), a dependent over GraphQL, the
    customer's tax id changed over REST and GraphQL (malformed ones refused)."""
    c = tenant.client
    members = f"/v1/customers/{customer_id}/householdMembers"
    spouse = {"role": "spouse", "firstName": "Alex", "lastName": "Borrower",
              "dateOfBirth": "1990-02-03", "hasTaxableIncome": True, "agi": 20000}  # fmt: skip
    r = c.post(members, json=spouse | {"taxId": BAD_MEMBER_TAX_ID})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "taxId", r.text
    r = c.post(members, json=spouse | {"taxId": SPOUSE_TAX_ID})
    assert r.status_code == 201 and r.json()["taxIdLast4"] == "1120", r.text
    spouse_id = str(r.json()["id"])
    r = c.patch(f"{members}/{spouse_id}", json={"taxId": SPOUSE_TAX_ID.replace("-", "")})
    assert r.status_code == 200, r.text

    dependent = {"role": "dependent", "firstName": "Kim", "hasTaxableIncome": False}
    added = gql(c, ADD_MEMBER, c=customer_id, input=dependent | {"taxId": DEPENDENT_TAX_ID})
    assert data(added)["addHouseholdMember"]["taxIdLast4"] == "5462"
    refused = gql(c, ADD_MEMBER, c=customer_id, input=dependent | {"taxId": BAD_MEMBER_TAX_ID})
    assert refused.get("errors"), refused

    r = c.patch(f"/v1/customers/{customer_id}", json={"taxId": CUSTOMER_TAX_ID})
    assert r.status_code == 200 and r.json()["taxIdLast4"] == "9999", r.text
    digits = CUSTOMER_TAX_ID.replace("-", "")
    for wrong in (BAD_CUSTOMER_TAX_ID, int(digits)):  # malformed; a number, not a string
        r = c.patch(f"/v1/customers/{customer_id}", json={"taxId": wrong})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "taxId", r.text
    updated = gql(c, UPDATE_CUSTOMER, id=customer_id, input={"taxId": digits})
    assert data(updated)["updateCustomer"]["taxIdLast4"] == "9999"
    for wrong in (BAD_CUSTOMER_TAX_ID, int(digits)):  # malformed; a number, not a string
        refused = gql(c, UPDATE_CUSTOMER, id=customer_id, input={"taxId": wrong})
        assert refused.get("errors"), refused
    # A number written in the document itself rather than in a variable.
    inline = DEPENDENT_TAX_ID.replace("-", "")
    literal = f"""mutation {{ addHouseholdMember(customerId: "{customer_id}",
      input: {{role: dependent, taxId: {inline}}}) {{ id }} }}"""
    refused = gql(c, literal)
    assert refused.get("errors"), refused
    states = {s["key"]: s["status"] for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert states["spouse"] == "met" and states["income"] == "unmet"
    return spouse_id


def _documents(tenant: Tenant, eid: str, spouse_id: str, mark: str, haystack: Haystack) -> None:
    """Pay stubs of the applicant and the spouse, each carrying the marker; read back whole
    from the download route (the one answer allowed to hold it)."""
    c = tenant.client
    ids, contents = [], []
    for owner in ("applicant", spouse_id):
        contents.append(pdf(f"{mark} of {owner}".encode()))
        r = upload(c, eid, contents[-1], type="PAY_STUB", owner=owner, issued_at="2026-11-02")
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    states = {s["key"]: s["status"] for s in c.get(f"/v1/enrollments/{eid}").json()["requirements"]}
    assert states["income"] == "met", states
    r = c.get(f"/v1/enrollments/{eid}/documents/{ids[0]}/content")
    assert r.status_code == 200 and r.content == contents[0]
    assert haystack.downloads == [contents[0]]
    assert c.get(f"/v1/enrollments/{eid}/documents/{ids[1]}").status_code == 200


def _payment(tenant: Tenant, customer_id: str) -> str:
    """Seed 003's blocking components for the same customer: a billing address, a declined
    card (422), `pm_card_visa`, submitted by submitWhenComplete, then approved."""
    c = tenant.client
    instance = tenant.instance(PROGRAM, requirements=BLOCKING, submitWhenComplete=True)
    known = {"identificationType": "customerId", "customerId": customer_id,
             "address": {"state": "NY"}, "manufacturerSlugs": ["tesla"]}  # fmt: skip
    r = c.post(f"/v1/programInstances/{instance['id']}/enrollments", json=known)
    assert r.status_code == 201, r.text
    eid = str(r.json()["id"])
    r = c.put(f"/v1/enrollments/{eid}/billingAddress", json={"sameAsServiceAddress": True})
    assert r.status_code == 200, r.text
    assert c.post(f"/v1/enrollments/{eid}/paymentSession").status_code == 200
    path = f"/v1/enrollments/{eid}/paymentMethod"
    r = c.post(path, json={"paymentMethodId": "pm_card_chargeDeclined"})
    assert r.status_code == 422, r.text
    r = c.post(path, json={"paymentMethodId": "pm_card_visa"})
    assert r.status_code == 200, r.text
    assert c.get(f"/v1/enrollments/{eid}").json()["status"] == "submitted"
    r = c.post(f"/v1/enrollments/{eid}/approve", json={"reason": "Looks right"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return eid


def _import(srv: Server, tenant: Tenant, haystack: Haystack) -> None:
    """The one bulk door (there is no export route): JSON Lines rows with a tax id, one of
    them malformed; its status and per-row results read back after the worker ran it."""
    c = tenant.client
    instance = tenant.instance(PROGRAM)
    n = uuid.uuid4().hex[:8]
    rows = [
        {"identificationType": "customerInfo", "firstName": "Imp", "lastName": f"Orted{n}",
         "email": f"imp.{n}@example.com", "address": {"state": "NY"}, "taxId": tax_id}
        for tax_id in (DEPENDENT_TAX_ID, BAD_CUSTOMER_TAX_ID)
    ]  # fmt: skip
    rows[1]["email"] = f"imp2.{n}@example.com"
    body = "".join(json.dumps(row) + "\n" for row in rows)
    r = c.post(
        f"/v1/programInstances/{instance['id']}/imports",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    import_id = r.json()["id"]
    # What the database holds while the import waits for the worker.
    _add_tables(srv.database.run(_dump), haystack, "while the import waited: ")
    srv.drain()
    r = c.get(f"/v1/imports/{import_id}")
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    r = c.get(f"/v1/imports/{import_id}/results")
    assert r.status_code == 200, r.text
    outcomes = [json.loads(line)["outcome"] for line in r.text.splitlines()]
    assert len(outcomes) == 2 and outcomes[1] == "invalid", outcomes


def _reads(tenant: Tenant, customer_id: str, enrollment_ids: list[str]) -> None:
    """Every door's reads of what the walk wrote (the answers are kept by the hook)."""
    c = tenant.client
    paths = ["/v1/customers", "/v1/enrollments?perPage=100", f"/v1/customers/{customer_id}",
             f"/v1/customers/{customer_id}/householdMembers"]  # fmt: skip
    for eid in enrollment_ids:
        paths += [f"/v1/enrollments/{eid}{tail}" for tail in
                  ("", "/requirements", "/consents", "/history", "/documents",
                   "/paymentMethods")]  # fmt: skip
    for path in paths:
        r = c.get(path)
        assert r.status_code == 200, (path, r.text)
    data(gql(c, CUSTOMER_QUERY, id=customer_id))
    for eid in enrollment_ids:
        data(gql(c, ENROLLMENT_QUERY, id=eid))
        data(gql(c, "query($e: ID!) { paymentMethods(enrollmentId: $e) { id } }", e=eid))
    data(gql(c, LISTS_QUERY))


def _events(tenant: Tenant) -> None:
    """The whole feed, page by page (the answers are kept by the hook)."""
    tenant.server.database.settle()
    after: str | None = None
    seen = 0
    while True:
        r = tenant.client.get(
            "/v1/events", params={"limit": 50} | ({"after": after} if after else {})
        )
        assert r.status_code == 200, r.text
        page = r.json()
        if not page["data"]:
            break
        seen += len(page["data"])
        after = page["nextCursor"]
    assert seen > 20, seen  # the walk wrote many


def _deliveries(received: list[Received], haystack: Haystack) -> None:
    assert len(received) > 20 and all(r.verified for r in received)
    types = {r.json["type"] for r in received}
    assert {"enrollment.created", "enrollment.unprocessable", "enrollment.approved",
            "enrollment.requirement_met", "import.completed"} <= types, types  # fmt: skip
    for number, got in enumerate(received):
        headers = "\n".join(f"{k}: {v}" for k, v in got.headers.items())
        haystack.add(f"webhook body #{number} ({got.json['type']})", f"{headers}\n\n{got.body}")


def _logs(logs: Lines, haystack: Haystack) -> None:
    assert any("POST /v1/programInstances/" in line for line in logs.lines), logs.lines[:5]
    for number, line in enumerate(logs.lines):
        haystack.add(f"log line #{number}", line)


def _storage(srv: Server, mark: str, haystack: Haystack) -> None:
    """Every file under the server's storage folder, as stored."""
    root = Path(unquote(urlparse(str(srv.database.storage_url)).path))
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) >= 2, files  # the two pay stubs
    ring = KeyRing.parse(TEST_DATA_KEY)
    for path in files:
        raw = path.read_bytes()
        assert mark.encode() in ring.open(raw, aad=path.name.encode())  # a pay stub, sealed
        haystack.add(f"stored file {path.relative_to(root)}", raw)


def _tables(srv: Server, haystack: Haystack) -> None:
    """Every column of every row of every table, read from the database itself (and, on
    SQLite, the database's files as they are on disk, pages no longer used included)."""
    dump = srv.database.run(_dump)
    sealed = _add_tables(dump, haystack)
    assert set(sealed) == {t.replace("-", "") for t in TAX_IDS}, sealed
    assert {"event", "webhook_delivery", "webhook_attempt", "customer"} <= set(dump)
    if srv.database.backend == "sqlite":
        main = Path(srv.database.url.removeprefix("sqlite:///"))
        for path in sorted(main.parent.glob(f"{main.name}*")):
            haystack.add(f"SQLite file {path.name} (raw bytes)", path.read_bytes())


def _add_tables(
    dump: dict[str, list[dict[str, Any]]], haystack: Haystack, when: str = ""
) -> list[str]:
    """The rows into the haystack, but the sealed tax ids: checked to be `ev1:` values and
    opened with the data key (what they open to is answered)."""
    ring = KeyRing.parse(TEST_DATA_KEY)
    sealed = []
    for table, rows in dump.items():
        for row in rows:
            key = row.get("id") or ",".join(str(v) for v in list(row.values())[:2])
            label = f"{when}table {table} row {key}"
            for column, value in row.items():
                if column == SEALED_COLUMN and value is not None:
                    assert str(value).startswith("ev1:"), (label, value)
                    sealed.append(ring.open_text(str(value), aad=f"{table}.tax_id".encode()))
                elif value is not None:
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    haystack.add(f"{label} column {column}", raw)
    return sealed


async def _dump(ctx: AppContext) -> dict[str, list[dict[str, Any]]]:
    async with ctx.db.transaction(write=False) as session:
        connection = await session.connection()
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        dump = {}
        for name in names:
            result = await session.execute(text(f'SELECT * FROM "{name}"'))
            dump[name] = [dict(row) for row in result.mappings()]
    return dump
