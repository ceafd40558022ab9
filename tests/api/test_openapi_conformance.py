"""The live API answers as its OpenAPI document says, whatever it is sent.

Schemathesis reads /openapi.json from the running test server (SQLite, and PostgreSQL when
ENROLL_TEST_DATABASE_URL is set) and calls every operation with an all-scopes workspace key:
boundary values (coverage phase) and generated valid and invalid requests (fuzzing phase).
Every built-in check runs: each response must be a documented status, with the documented
content type, headers and body schema, never a 5xx; a request valid by the document must not
be refused for its shape (positive_data_acceptance) and an invalid one must be
(negative_data_rejection); authentication must be enforced (ignored_auth); a deleted resource
must be gone (use_after_free). So the document states what the server enforces. The few
rules no schema can state (keyed uniqueness, one field after another, JsonLogic's recursive
grammar, a time ahead of the clock) are met by the drawn valid requests: see the hooks below.

The workspace is seeded with real resources, and Schemathesis draws path ids, references in
bodies and query filters from them half the time, so the success paths (updates, transitions,
deletes) are exercised and not only the 404s. Free-text query filters sometimes come from a
small dictionary of awkward values (NUL, RTL override, emoji, SQL and path fragments).

Generation is deterministic (fixed seed, derandomized Hypothesis, no example database) and
bounded (MAX_EXAMPLES per operation in the fuzzing phase), so CI runs are reproducible.
"""

from __future__ import annotations

import itertools
import re
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import schemathesis
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from enroll.eligibility.jsonlogic import RuleError, validate_rule
from enroll.idempotency.service import KEY_PATTERN
from enroll.kit.fields import MAX_URL_CHARS
from enroll.kit.schemas import storable
from tests.support.server import Server, Tenant

load_all_checks()  # registers the OpenAPI checks; the registry holds only the generic ones before
CHECKS = REGISTRY.get_all()  # every built-in check, positive_data_acceptance included
MAX_EXAMPLES = 20
SEED = 20261122
REAL = 0.5  # how often a path id, body reference or id filter is a seeded resource
PROBLEM_JSON = "application/problem+json"
AWKWARD = 0.3  # how often a free-text query filter is one of AWKWARD_STRINGS
AWKWARD_STRINGS = [
    "a\x00b",
    "\x00",
    "\u202etxt",
    "\U0001f600",
    "' OR '1'='1",
    "../../etc",
    "%00",
    " ",
]
FREE_TEXT_QUERY = ["email", "tag", "cursor", "after"]
# The operations in slices of similar cost, one pytest item each, so xdist runs them side by
# side; test_every_operation_is_in_one_shard keeps the slices covering the document.
SHARDS = {
    "enrollments": r"^/v1/(enrollments/(?![^/]+/documents)|providers/)",
    "documents": r"^/v1/(enrollments/[^/]+/documents|documentTypes)",
    "instances": r"^/v1/(programInstances|programs|reevaluations|enrollments$|deliveryCharges)",
    "setup": (
        r"^/v1/(serviceTasks|enrollmentRequests|unenrollmentRequests|setupActions|todos"
        r"|subscriptions|devices|deviceLocations)"
    ),
    "customers": r"^/v1/(customers|leads)",
    "people": r"^/v1/(apiKeys|imports|jobs|events|workspace)",
    "outbound": r"^/v1/(webhookEndpoints|webhookDeliveries|notificationTemplates|notifications)",
    "locations": r"^/v1/serviceLocation",
}


IMPORT = "POST /v1/programInstances/{instance_id}/imports"
LOCATION_IMPORT = "POST /v1/serviceLocationImports"
DOCUMENT_UPLOAD = "POST /v1/enrollments/{enrollment_id}/documents"
# A file is text: a body "mutated" from a string to the integer 5989791 goes out as the same
# bytes, a valid CSV of one header, so this check cannot hold for it (rows are checked one by
# one as the import runs: tests/importer/test_endpoints.py).
FILE_BODY_EXCLUDED = [negative_data_rejection]
# A multipart file part is binary to the document: one that is not UTF-8 text is refused
# (422 invalid_encoding, documented) though no schema can say so.
BINARY_FILE_EXCLUDED = [negative_data_rejection, positive_data_acceptance]
PROVIDER_EVENTS = "POST /v1/providers/stripe/events"
# A provider's event is accepted only with the provider's signature, an HMAC of the body under
# a secret no generated request knows: every drawn one is refused (400, documented).
SIGNED_BODY_EXCLUDED = [positive_data_acceptance]
PAYMENT_METHOD = "POST /v1/enrollments/{enrollment_id}/paymentMethod"
# A document is told by its bytes (PDF, PNG, JPEG, HEIC): drawn bytes are refused (422
# unsupported_document, documented), and a drawn type code may name no type of the workspace.
DOCUMENT_EXCLUDED = [positive_data_acceptance]


def _seed(tenant: Tenant) -> dict[str, list[str]]:
    """Resources for Schemathesis to find, in separate sets so one operation cannot spoil another's:
    enrollments to read, update and move, others to delete; an instance that stays open for new
    enrollments and ones the instance routes may pause, close or delete; a lead; a customer
    with household members to read, change and delete; and a spare key to revoke (never the
    key the run itself uses)."""
    client = tenant.client
    open_instance = tenant.instance()
    instances = [tenant.instance() for _ in range(2)]
    enrollments = [tenant.enroll(open_instance["id"]) for _ in range(4)]
    lead = client.post("/v1/leads", json={"email": f"lead.{uuid.uuid4().hex[:8]}@example.com"})
    spare = client.post("/v1/apiKeys", json={"name": "spare", "scopes": ["events:read"]})
    programs = client.get("/v1/programs", params={"perPage": 100})
    location = client.post(
        "/v1/serviceLocations",
        json={
            "servicePointId": f"1044372{uuid.uuid4().int % 10**10:010d}",
            "address": {"streetOne": "1 Seed St"},
        },
    )
    household = client.post(
        "/v1/customers",
        json={
            "firstName": "Hal",
            "lastName": "Seed",
            "email": f"hal.{uuid.uuid4().hex[:8]}@example.com",
            "taxId": "123-45-6789",
        },
    )
    document = client.post(
        f"/v1/enrollments/{enrollments[0]['id']}/documents",
        files={"file": ("seed.pdf", b"%PDF-1.4\n%seed\n", "application/pdf")},
        data={"type": "PAY_STUB", "issuedAt": "2026-01-01"},
    )
    for r in (lead, spare, programs, location, household, document):
        assert r.is_success, r.text
    members = [
        client.post(f"/v1/customers/{household.json()['id']}/householdMembers", json={"role": role})
        for role in ("spouse", "dependent", "dependent", "other")
    ]
    assert all(r.status_code == 201 for r in members), [r.text for r in members]
    for enrollment in enrollments[:3]:  # the provider vouches for a method after a session
        r = client.post(f"/v1/enrollments/{enrollment['id']}/paymentSession")
        assert r.is_success, r.text
    return {
        "open_instances": [open_instance["id"], open_instance["slug"]],
        "instances": [ref for i in instances for ref in (i["id"], i["slug"])],
        "enrollments": [e["id"] for e in enrollments[:3]],
        "doomed_enrollments": [enrollments[3]["id"]],
        "customers": [e["customerId"] for e in enrollments],
        "leads": [lead.json()["id"]],
        "keys": [spare.json()["id"]],
        "programs": [ref for p in programs.json()["data"] for ref in (p["id"], p["slug"])],
        "locations": [location.json()["id"]],
        "household_customers": [household.json()["id"]],
        "members": [r.json()["id"] for r in members],
        "documents": [document.json()["id"]],
    }


def _config(
    server: Server, tenant: Tenant, seeded: dict[str, list[str]], shard: str
) -> schemathesis.Config:
    def real(dictionary: str) -> dict[str, Any]:
        return {"dictionary": dictionary, "probability": REAL}

    awkward = {"dictionary": "awkward", "probability": AWKWARD}

    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # The one timing-dependent Hypothesis health check; a slow CI machine must not fail.
            "suppress-health-check": ["too_slow"],
            "base-url": server.base_url,
            # As the scheme the document declares: the ignored_auth check then knows the key
            # is valid and probes each operation without it and with a wrong one (401).
            "auth": {"openapi": {"bearerAuth": {"bearer": tenant.key}}},
            "request-timeout": 30,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "dictionaries": {
                "awkward": {"values": AWKWARD_STRINGS},
                **{name: {"values": values} for name, values in seeded.items()},
            },
            "parameters": {
                **{f"query.{name}": awkward for name in FREE_TEXT_QUERY},
                "path.instance_id": real("open_instances"),
                "path.enrollment_id": real("enrollments"),
                "path.customer_id": real("customers"),
                "path.key_id": real("keys"),
                "query.programInstanceId": real("open_instances"),
                "query.programId": real("programs"),
                "body.programId": real("programs"),
                "body.programSlug": real("programs"),
                "body.customerId": real("customers"),
                "body.leadId": real("leads"),
                "body.enrollmentId": real("enrollments"),
                "path.location_id": real("locations"),
                "body.serviceLocationId": real("locations"),
                "path.document_id": real("documents"),
            },
            # `id_or_slug` names a program under /v1/programs and an instance under
            # /v1/programInstances.
            "operations": [
                {"exclude-path-regex": SHARDS[shard], "enabled": False},
                {  # free text there; an enum of task states under /v1/serviceTasks
                    "include-name": "GET /v1/programs",
                    "parameters": {"query.state": awkward},
                },
                {
                    "include-path-regex": "^/v1/programs/",
                    "parameters": {"path.id_or_slug": real("programs")},
                },
                {
                    "include-path-regex": "^/v1/programInstances/",
                    "parameters": {"path.id_or_slug": real("instances")},
                },
                {  # a member is found under its own customer only
                    "include-path-regex": "/householdMembers",
                    "parameters": {
                        "path.customer_id": real("household_customers"),
                        "path.member_id": real("members"),
                    },
                },
                {
                    "include-name": "DELETE /v1/enrollments/{enrollment_id}",
                    "parameters": {"path.enrollment_id": real("doomed_enrollments")},
                },
            ],
        }
    )


@pytest.fixture(params=sorted(SHARDS))
def api_schema(
    request: pytest.FixtureRequest, server: Server, tenant: Tenant
) -> schemathesis.BaseSchema:
    config = _config(server, tenant, _seed(tenant), request.param)
    # The server builds its document on first request (seconds on a loaded machine), longer
    # than Schemathesis waits for it: build it first.
    assert httpx.get(f"{server.base_url}/openapi.json", timeout=120).status_code == 200
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)


@pytest.fixture
def _schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's lazy loader relabels `request.node._nodeid` per operation; pytest 9.2
    # keeps node ids elsewhere (`_id`), so give it the attribute it reads, or every run fails
    # with AttributeError. Only its report labels depend on it.
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


_REQUESTS = itertools.count()


def _own_idempotency_key(case: schemathesis.Case) -> None:
    """A key names one request; reusing it for another is refused (422, as the IETF draft
    says), a rule about history that no schema can state. Generated keys repeat across
    operations, so each request gets its own, the generated value kept as its prefix."""
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and re.fullmatch(KEY_PATTERN, key):
        case.headers["Idempotency-Key"] = f"{key[:200]}.{next(_REQUESTS)}"


def _future_expiry(case: schemathesis.Case) -> None:
    """A new key's `expiresAt` must lie ahead of the server's clock (422 otherwise): a rule
    about the time of the request, which no schema can state."""
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.label == "POST /v1/apiKeys" and isinstance(body.get("expiresAt"), str):
        body["expiresAt"] = "2999-01-01T00:00:00Z"


def _unique_keys(case: schemathesis.Case) -> None:
    """Criterion ids, a setup workflow's unenroll reason codes and its actions' (sequence,
    type) must be unique: uniqueness by a key of the items, which JSON Schema cannot state
    (``uniqueItems`` compares whole items). Later duplicates are dropped."""
    body = case.body if isinstance(case.body, dict) else {}
    _dedupe(body, "eligibilityCriteria", lambda c: c.get("id"))
    _dedupe(body, "requirements", lambda r: r.get("key"))
    workflow = body.get("setupWorkflow")
    if isinstance(workflow, dict):
        _dedupe(workflow, "unenrollReasons", lambda r: r.get("code"))
        for name in ("enrollmentActions", "unenrollmentActions"):
            _dedupe(workflow, name, lambda a: (a.get("sequence"), a.get("type")))


def _dedupe(parent: dict[str, Any], name: str, key: Callable[[dict[str, Any]], Any]) -> None:
    items = parent.get(name)
    if isinstance(items, list):
        first = {key(i): i for i in reversed(items) if isinstance(i, dict)}
        parent[name] = [i for i in items if not isinstance(i, dict) or first[key(i)] is i]


# Pairs of fields where the second must lie after the first, a valid pair of values, and
# whether the first is also stored (an instance's dates: a PATCH sending only endDate is
# compared with the startDate stored before).
ORDERED = [
    (("since", "until"), ("2000-01-01T00:00:00Z", "2000-01-02T00:00:00Z"), False),
    (("startDate", "endDate"), ("2000-01-01", "2100-01-01"), True),
]


INSTANCE_OPERATION = r"/v1/programInstances(/\{[^/}]+\})?"


def _ordered_window(case: schemathesis.Case) -> None:
    """A replay's ``until`` must lie after its ``since``, an instance's ``endDate`` after its
    ``startDate`` (the one sent, or the one stored): a relation between two fields no schema
    can state. Where both are sent (or, for stored ones, either), both get a valid pair; so a
    stored ``startDate`` is never later than an ``endDate`` a later request sends."""
    body = case.body if isinstance(case.body, dict) else {}
    for (first, second), values, stored in ORDERED:
        sent = [isinstance(body.get(name), str) for name in (first, second)]
        # An instance's own create and update (an enrollment's startDate is not a window).
        on_instance = stored and re.fullmatch(INSTANCE_OPERATION, case.operation.path)
        if all(sent) or (on_instance and any(sent)):
            body[first], body[second] = values


def _valid_rules(case: schemathesis.Case) -> None:
    """A criterion's ``rule`` (a requirement's ``rule`` and ``when``) is JsonLogic: operators
    with their arities, nested, a recursive grammar the document names but cannot spell out
    (client generators cannot read recursive unions). A drawn rule the grammar refuses, or
    one the database cannot store (an integer past 64 bits inside it), is replaced by a valid
    one."""
    body = case.body if isinstance(case.body, dict) else {}
    criteria = body.get("eligibilityCriteria")
    requirements = body.get("requirements")
    for item, name in [
        *((c, "rule") for c in (criteria if isinstance(criteria, list) else [])),
        *((r, n) for r in (requirements if isinstance(requirements, list) else [])
          for n in ("rule", "when")),
    ]:  # fmt: skip
        if isinstance(item, dict) and item.get(name) is not None:
            try:
                validate_rule(item[name])
                storable(item[name])
            except (RuleError, ValueError):
                item[name] = {"!!": [{"var": "email"}]}


def _one_name_each(case: schemathesis.Case) -> None:
    """An enrollment names its location and its plan one way each (serviceLocationId or
    servicePointId, planId or planCode): the server refuses both. Stated as ``not required``,
    Schemathesis' negative generator sent ``{}`` as breaking it, so the document says it in
    words and a drawn valid body keeps the first of a pair."""
    body = case.body if isinstance(case.body, dict) else {}
    for first, second in (("serviceLocationId", "servicePointId"), ("planId", "planCode")):
        if first in body and second in body:
            del body[second]
    if body.get("planId") is None and body.get("planCode") is None:
        body.pop("startDate", None)  # the start of a plan (said in words, like the pairs)


def _valid_plan(case: schemathesis.Case) -> None:
    """A plan's rules between items and fields, which JSON Schema cannot state: energy tiers
    contiguous from 0 (only the last open), usage credits with minKwh <= maxKwh, a start
    window with latestDays >= earliestDays, one document per type, no alias equal to the
    plan's own code, and an availability rule in the JsonLogic grammar."""
    body = case.body if isinstance(case.body, dict) else {}
    if "/plans" not in case.operation.path:
        return
    pricing = body.get("pricing")
    if isinstance(pricing, dict) and isinstance(pricing.get("energyCharges"), list):
        tiers = [t for t in pricing["energyCharges"] if isinstance(t, dict)]
        start = 0
        for i, tier in enumerate(tiers):
            tier["fromKwh"] = start
            last = i == len(tiers) - 1
            tier["toKwh"] = None if last else start + 100
            start += 100
        pricing["energyCharges"] = tiers
    credits = pricing.get("usageCredits") if isinstance(pricing, dict) else None
    for credit in [c for c in credits if isinstance(c, dict)] if isinstance(credits, list) else []:
        low, high = credit.get("minKwh"), credit.get("maxKwh")
        if isinstance(low, int | float) and isinstance(high, int | float):
            credit["minKwh"], credit["maxKwh"] = min(low, high), max(low, high)
    window = body.get("startWindow")
    if isinstance(window, dict):
        early, late = window.get("earliestDays", 0), window.get("latestDays", 30)
        if isinstance(early, int | float) and isinstance(late, int | float) and late < early:
            window["earliestDays"], window["latestDays"] = late, early
    _dedupe(body, "documents", lambda d: d.get("type"))
    if isinstance(body.get("aliases"), list):
        body["aliases"] = [a for a in body["aliases"] if a != body.get("code")]
    if "availability" in body:
        try:
            validate_rule(body["availability"])
        except RuleError:
            body["availability"] = {"!!": [{"var": "location.utility.code"}]}


def _public_receiver(case: schemathesis.Case) -> None:
    """A webhook endpoint's address policy (url_refused: https only, no loopback, private or
    metadata address; the test server does not allow private receivers), which the document
    states in words: a drawn valid URL goes to https and, when its host resolves here (an IP
    address, localhost), to a public name. A name that does not resolve keeps its shape: it is
    accepted (it may resolve later)."""
    body = case.body if isinstance(case.body, dict) else {}
    url = body.get("url")
    if "/webhookEndpoints" not in case.operation.path or not isinstance(url, str):
        return
    parts = urlsplit(url)
    try:  # what resolves here (an IP literal, "0", localhost) may be an address refused
        socket.getaddrinfo(parts.hostname or "", 443, type=socket.SOCK_STREAM)
        public = False
    except (OSError, UnicodeError):
        public = True
    netloc = parts.netloc if public else "hooks.example.com"
    url = urlunsplit(("https", netloc, parts.path, parts.query, parts.fragment))
    body["url"] = url[:MAX_URL_CHARS]  # a longer scheme or host: the tail of the path goes


def _usage_periods(case: schemathesis.Case) -> None:
    """Usage readings: each period must end after it starts, by at most 62 days, and at most
    13 per request may be longer than a day (monthly): relations between fields and items no
    schema can state. Each drawn reading gets an hour of its own."""
    body = case.body if isinstance(case.body, dict) else {}
    if not case.operation.path.endswith("/usage") or not isinstance(body.get("readings"), list):
        return
    for i, reading in enumerate(body["readings"]):
        if isinstance(reading, dict):
            reading["start"] = _hour(i)
            reading["end"] = _hour(i + 1)


def _hour(n: int) -> str:
    return (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n)).isoformat()


def _known_payment_method(case: schemathesis.Case) -> None:
    """Whether the payment provider knows a method and vouches for it is the provider's to say,
    which no schema can state: a drawn valid method id becomes a test card the (sandbox)
    provider accepts after the payment session the seeded enrollments have."""
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.label == PAYMENT_METHOD and isinstance(body.get("paymentMethodId"), str):
        body["paymentMethodId"] = "pm_card_visa"


def _identification(case: schemathesis.Case) -> None:
    """The seeded-id dictionaries (``REAL``) fill ``customerId``, ``leadId`` and
    ``enrollmentId`` whatever the ``identificationType``, where the document says null: a
    reference the type does not use is set back to null."""
    body = case.body if isinstance(case.body, dict) else {}
    kind = body.get("identificationType")
    for ref in ("customerId", "leadId", "enrollmentId"):
        used = kind in {"customerId", "leadId", "enrollmentId", "customerInfo"} and ref != kind
        if used and isinstance(body.get(ref), str):
            body[ref] = None
    if kind == "enrollmentId":
        # An enrollment of the same instance is updated, and an update accepts no plan or
        # location (422): which instance the drawn enrollment is of, no schema can say.
        for name in ("serviceLocationId", "servicePointId", "planId", "planCode", "startDate"):
            body.pop(name, None)
        body.pop("consent", None)


@schema.parametrize()
@pytest.mark.usefixtures("_schemathesis_node_id")
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    _own_idempotency_key(case)
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _future_expiry(case)
        _unique_keys(case)
        _ordered_window(case)
        _valid_rules(case)
        _valid_plan(case)
        _usage_periods(case)
        _identification(case)
        _public_receiver(case)
        _one_name_each(case)
        _known_payment_method(case)
    case.call_and_validate(
        checks=CHECKS,
        excluded_checks=(
            FILE_BODY_EXCLUDED
            if case.operation.label == IMPORT
            else BINARY_FILE_EXCLUDED
            if case.operation.label == LOCATION_IMPORT
            else SIGNED_BODY_EXCLUDED
            if case.operation.label == PROVIDER_EVENTS
            else DOCUMENT_EXCLUDED
            if case.operation.label == DOCUMENT_UPLOAD
            else None
        ),
    )


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_openapi_document_describes_errors_and_scopes(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        r = client.get("/openapi.json")
        assert r.status_code == 200
        document = r.json()
        assert document["openapi"].startswith("3.1.")
        operations = _operations(document)
        assert len(operations) > 20
        for label, _ in operations:
            path = label.split(" ", 1)[1]
            shards = [name for name, regex in SHARDS.items() if re.search(regex, path)]
            assert len(shards) == 1, f"{label} is in Schemathesis shards {shards}, not one"
        for label, op in operations:
            problems = [
                code
                for code, response in op["responses"].items()
                if code.startswith("4") and PROBLEM_JSON in response.get("content", {})
            ]
            assert problems, f"{label} documents no 4xx problem+json response"
            if op.get("security"):
                assert isinstance(op.get("x-required-scopes"), list), f"{label}: x-required-scopes"
                assert {"401", "403"} <= set(op["responses"]), f"{label}: 401/403 undocumented"
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert docs.headers["content-type"].startswith("text/html")


def test_unstorable_input_is_refused_with_a_problem(tenant: Tenant) -> None:
    """What the fuzzer found on PostgreSQL, pinned: NUL characters (text and JSONB cannot hold
    them), NaN (JSONB has none), integers past 64 bits and times that overflow once moved to
    UTC answered 500. They
    are now refused alike on both backends; offset-less times are read as UTC."""
    instance = tenant.instance()
    enrollment = tenant.enroll(instance["id"])
    c = tenant.client
    email = f"nul.{uuid.uuid4().hex[:8]}@example.com"
    refused = [
        (
            c.post("/v1/customers", json={"firstName": "a\x00b", "lastName": "b", "email": email}),
            422,
            ["firstName"],
        ),
        (c.post("/v1/leads", json={"email": email, "metadata": {"k\x00": 1}}), 422, ["metadata"]),
        (
            c.post(
                "/v1/leads",
                content=b'{"email": "%s", "metadata": {"k": NaN}}' % email.encode(),
                headers={"Content-Type": "application/json"},
            ),
            422,
            ["metadata"],
        ),
        (c.patch(f"/v1/enrollments/{enrollment['id']}", json={"tags": ["a\x00"]}), 422, ["tags"]),
        (  # past 64 bits: the JSON encoder (and SQLite) cannot keep it
            c.post("/v1/leads", json={"email": email, "metadata": {"n": 2**64}}),
            422,
            ["metadata"],
        ),
        (  # the document bounds every metadata number: a float too
            c.post("/v1/leads", json={"email": email, "metadata": {"n": [1e300]}}),
            422,
            ["metadata"],
        ),
        (c.get("/v1/enrollments", params={"tag": "a\x00b"}), 422, ["tag"]),
        (
            c.get("/v1/enrollments", params={"createdAfter": "9999-12-31T23:59:59-05:00"}),
            422,
            ["createdAfter"],
        ),
        (
            c.post(
                "/v1/apiKeys",
                json={
                    "name": "k",
                    "scopes": ["events:read"],
                    "expiresAt": "0001-01-01T00:00:00+05:00",
                },
            ),
            422,
            ["expiresAt"],
        ),
        (c.get("/v1/programInstances/a%00b"), 404, None),
        (c.delete("/v1/enrollments/%00"), 404, None),
    ]
    for r, status, fields in refused:
        where = f"{r.request.method} {r.request.url}"
        assert r.status_code == status, (where, r.text)
        assert r.headers["content-type"] == PROBLEM_JSON, where
        if fields is not None:
            assert [e["field"] for e in r.json()["errors"]] == fields, (where, r.text)
    naive = c.post(
        "/v1/apiKeys",
        json={"name": "k", "scopes": ["events:read"], "expiresAt": "2999-01-01T00:00:00"},
    )
    assert naive.status_code == 201, naive.text
    assert naive.json()["expiresAt"] == "2999-01-01T00:00:00Z"
    assert c.get(f"/v1/enrollments/{enrollment['id']}").json()["tags"] == enrollment["tags"]
