"""Documents over HTTP on both databases, stored in the file system (the default back end):
each format by its bytes, the round trip, encryption at rest, duplicates, refusals that
leave nothing behind, deletion before and after submission, a workspace's own types, and
another workspace's documents reading as missing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enroll.enrollment.documents import UNSUBMITTED
from enroll.storage.files import FileStorage
from enroll.vault.keyring import KeyRing
from tests.document.files import MAKERS, jpeg, marker, pdf, upload
from tests.document.support import objects, rows
from tests.support.helpers import PROBLEM
from tests.support.server import TEST_DATA_KEY, Server, Tenant


def _enrollment(tenant: Tenant) -> str:
    return str(tenant.enroll(tenant.instance()["id"])["id"])


@pytest.mark.parametrize("media_type", sorted(MAKERS))
def test_each_format_is_told_by_its_bytes_and_comes_back_identical(
    tenant: Tenant, media_type: str
) -> None:
    enrollment_id = _enrollment(tenant)
    content = MAKERS[media_type](marker())
    r = upload(tenant.client, enrollment_id, content, filename="../../etc/scan 1.txt")
    assert r.status_code == 201, r.text
    document = r.json()
    assert r.headers["location"] == f"/v1/enrollments/{enrollment_id}/documents/{document['id']}"
    assert document["id"].startswith("doc_")
    assert document["contentType"] == media_type  # not the declared octet-stream, not .txt
    assert document["filename"] == "scan 1.txt"  # no directories
    assert document["size"] == len(content)
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert (document["owner"], document["type"], document["issuedAt"]) == (
        "applicant",
        "PAY_STUB",
        "2026-01-15",
    )

    base = f"/v1/enrollments/{enrollment_id}/documents"
    listed = tenant.client.get(base)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"data": [document]}
    one = tenant.client.get(f"{base}/{document['id']}")
    assert one.status_code == 200 and one.json() == document
    got = tenant.client.get(f"{base}/{document['id']}/content")
    assert got.status_code == 200, got.text
    assert got.content == content
    assert got.headers["content-type"] == media_type
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="scan 1.txt"'), disposition
    assert got.headers["x-content-type-options"] == "nosniff"


def test_contents_are_encrypted_at_rest(server: Server, tenant: Tenant) -> None:
    enrollment_id = _enrollment(tenant)
    mark = marker()
    content = pdf(mark)
    document = upload(tenant.client, enrollment_id, content).json()
    key = f"documents/{tenant.id}/{document['id']}"
    storage = server.ctx.storage
    assert isinstance(storage, FileStorage)
    raw = storage.path_of(key).read_bytes()  # the file itself, as a backup would copy it
    assert mark not in raw and b"%PDF" not in raw
    assert raw.startswith(b"EV1")  # sealed, naming its key
    ring = KeyRing.parse(TEST_DATA_KEY)
    assert ring.open(raw, aad=document["id"].encode()) == content
    (row,) = rows(server, tenant.id)
    assert (row["storage_key"], row["key_id"]) == (key, "test1")
    assert all(mark.decode() not in str(value) for value in row.values())


def test_the_same_bytes_again_answer_the_existing_document(tenant: Tenant) -> None:
    enrollment_id = _enrollment(tenant)
    content = jpeg(marker())
    first = upload(tenant.client, enrollment_id, content)
    assert first.status_code == 201, first.text
    again = upload(tenant.client, enrollment_id, content, type="OTHER", filename="again.jpg")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # as first stored: type and name unchanged
    listed = tenant.client.get(f"/v1/enrollments/{enrollment_id}/documents").json()["data"]
    assert [d["id"] for d in listed] == [first.json()["id"]]
    elsewhere = upload(tenant.client, _enrollment(tenant), content)
    assert elsewhere.status_code == 201  # another enrollment holds its own copy
    assert elsewhere.json()["id"] != first.json()["id"]


def test_an_idempotency_key_replays_the_first_answer(tenant: Tenant) -> None:
    enrollment_id = _enrollment(tenant)
    content = pdf(marker())
    headers = {"Idempotency-Key": f"doc-{enrollment_id}"}
    first = upload(tenant.client, enrollment_id, content, headers=headers)
    assert first.status_code == 201, first.text
    replay = upload(tenant.client, enrollment_id, content, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    other = upload(tenant.client, enrollment_id, pdf(marker()), headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def _nothing_stored(server: Server, tenant: Tenant, enrollment_id: str) -> None:
    listed = tenant.client.get(f"/v1/enrollments/{enrollment_id}/documents")
    assert listed.json() == {"data": []}
    assert rows(server, tenant.id) == []
    assert objects(server, tenant.id) == {}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"Just some text, named .pdf", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"GIF89a\x01\x00\x01\x00", id="gif"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 26, id="zip"),
        pytest.param(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42", id="mp4"),
        pytest.param(b"\xff\xd8\xff\xff", id="jpeg padding only"),
    ],
)
def test_what_is_not_a_document_is_refused_and_leaves_nothing(
    server: Server, tenant: Tenant, content: bytes
) -> None:
    enrollment_id = _enrollment(tenant)
    r = upload(
        tenant.client, enrollment_id, content, filename="scan.pdf", declared="application/pdf"
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == "unsupported_document"
    assert body["formats"] == ["pdf", "png", "jpeg", "heic"]
    assert "PDF, PNG, JPEG or HEIC" in body["detail"]
    _nothing_stored(server, tenant, enrollment_id)


def test_fields_are_checked(server: Server, tenant: Tenant) -> None:
    enrollment_id = _enrollment(tenant)
    content = pdf(marker())
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    for fields, status, code, field in (
        ({"type": "NO_SUCH_TYPE"}, 422, "unknown_document_type", "type"),
        ({"type": "pay_stub"}, 422, "validation_error", "type"),
        ({"issued_at": tomorrow}, 422, "validation_error", "issuedAt"),
        ({"issued_at": "15/01/2026"}, 422, "validation_error", "issuedAt"),
        ({"owner": "spouse"}, 422, "validation_error", "owner"),
    ):
        r = upload(tenant.client, enrollment_id, content, **fields)  # type: ignore[arg-type]
        assert r.status_code == status, (fields, r.text)
        assert r.json()["code"] == code, (fields, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], (fields, r.text)
    no_file = tenant.client.post(
        f"/v1/enrollments/{enrollment_id}/documents",
        data={"type": "PAY_STUB", "issuedAt": "2026-01-01"},
        files={"other": ("x.pdf", content)},
    )
    assert no_file.status_code == 422, no_file.text
    as_json = tenant.client.post(
        f"/v1/enrollments/{enrollment_id}/documents", json={"type": "PAY_STUB"}
    )
    assert as_json.status_code == 415 and as_json.json()["code"] == "unsupported_media_type"
    _nothing_stored(server, tenant, enrollment_id)
    # A member of the applicant's household is an owner; a member of another's is not.
    customer_id = tenant.client.get(f"/v1/enrollments/{enrollment_id}").json()["customerId"]
    spouse = tenant.client.post(
        f"/v1/customers/{customer_id}/householdMembers", json={"role": "spouse"}
    ).json()
    member = upload(tenant.client, enrollment_id, content, owner=spouse["id"])
    assert member.status_code == 201 and member.json()["owner"] == spouse["id"], member.text
    stranger = tenant.enroll(tenant.instance()["id"])["customerId"]
    theirs = tenant.client.post(
        f"/v1/customers/{stranger}/householdMembers", json={"role": "spouse"}
    ).json()
    r = upload(tenant.client, enrollment_id, pdf(marker()), owner=theirs["id"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner", r.text


def test_unknown_enrollment_is_not_found(tenant: Tenant) -> None:
    r = upload(tenant.client, "c" + "0" * 24, pdf(marker()))
    assert r.status_code == 404 and r.json()["code"] == "not_found", r.text


def test_deleting_before_submission_and_not_after(server: Server, tenant: Tenant) -> None:
    enrollment_id = _enrollment(tenant)
    base = f"/v1/enrollments/{enrollment_id}/documents"
    doomed = upload(tenant.client, enrollment_id, pdf(marker())).json()
    kept = upload(tenant.client, enrollment_id, jpeg(marker())).json()
    assert len(objects(server, tenant.id)) == 2

    r = tenant.client.delete(f"{base}/{doomed['id']}")
    assert r.status_code == 204, r.text
    assert tenant.client.get(f"{base}/{doomed['id']}").status_code == 404
    assert tenant.client.get(f"{base}/{doomed['id']}/content").status_code == 404
    assert list(objects(server, tenant.id)) == [f"documents/{tenant.id}/{kept['id']}"]
    again = tenant.client.delete(f"{base}/{doomed['id']}")
    assert again.status_code == 404

    assert tenant.client.post(f"/v1/enrollments/{enrollment_id}/submit").status_code == 200
    locked = tenant.client.delete(f"{base}/{kept['id']}")
    assert locked.status_code == 409, locked.text
    assert locked.json()["code"] == "document_locked"
    assert locked.json()["currentStatus"] == "submitted"
    assert tenant.client.get(f"{base}/{kept['id']}/content").status_code == 200
    assert len(objects(server, tenant.id)) == 1


def test_a_workspace_adds_its_own_types(tenant: Tenant, other_tenant: Tenant) -> None:
    r = tenant.client.post("/v1/documentTypes", json={"code": "LEASE", "label": "Lease"})
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "LEASE" and r.json()["builtIn"] is False
    listed = tenant.client.get("/v1/documentTypes").json()["data"]
    codes = [t["code"] for t in listed]
    assert codes[:8] == [
        "PAY_STUB",
        "OFFER_LETTER",
        "DETERMINATION_SUMMARY",
        "TAX_RETURN",
        "TAX_TRANSCRIPT",
        "UTILITY_BILL",
        "ID_DOCUMENT",
        "OTHER",
    ]
    assert codes[8:] == ["LEASE"]
    for code in ("LEASE", "PAY_STUB"):
        taken = tenant.client.post("/v1/documentTypes", json={"code": code, "label": "x"})
        assert taken.status_code == 409 and taken.json()["code"] == "document_type_exists"
    bad = tenant.client.post("/v1/documentTypes", json={"code": "lease", "label": "x"})
    assert bad.status_code == 422

    enrollment_id = _enrollment(tenant)
    own = upload(tenant.client, enrollment_id, pdf(marker()), type="LEASE")
    assert own.status_code == 201 and own.json()["type"] == "LEASE"
    # Another workspace's type is none of this one's.
    theirs = upload(other_tenant.client, _enrollment(other_tenant), pdf(marker()), type="LEASE")
    assert theirs.status_code == 422 and theirs.json()["code"] == "unknown_document_type"
    assert "LEASE" not in [
        t["code"] for t in other_tenant.client.get("/v1/documentTypes").json()["data"]
    ]


def test_another_workspace_documents_read_as_missing(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    enrollment_id = _enrollment(tenant)
    document = upload(tenant.client, enrollment_id, pdf(marker())).json()
    base = f"/v1/enrollments/{enrollment_id}/documents"
    theirs = other_tenant.client
    own_enrollment = _enrollment(other_tenant)
    never = "doc_c" + "0" * 24
    for method, path in (
        ("GET", base),
        ("GET", f"{base}/{document['id']}"),
        ("GET", f"{base}/{document['id']}/content"),
        ("DELETE", f"{base}/{document['id']}"),
        # their own enrollment in the path does not reach A's document either
        ("GET", f"/v1/enrollments/{own_enrollment}/documents/{document['id']}"),
        ("DELETE", f"/v1/enrollments/{own_enrollment}/documents/{document['id']}"),
    ):
        r = theirs.request(method, path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "not_found"
        # The answer for an id that exists nowhere, but for the id echoed.
        fake = theirs.request(method, path.replace(document["id"], never))
        assert r.text.replace(document["id"], never) == fake.text
    refused = upload(theirs, enrollment_id, pdf(marker()))
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert [d["id"] for d in tenant.client.get(base).json()["data"]] == [document["id"]]
    assert rows(server, other_tenant.id) == []


def test_storage_keeps_objects_under_the_root(server: Server) -> None:
    storage = server.ctx.storage
    assert isinstance(storage, FileStorage)
    for key in ("../x", "documents/../../x", "/etc/passwd", "a//b", ".hidden", "a/./b", ""):
        with pytest.raises(ValueError):
            storage.path_of(key)
    assert storage.path_of("documents/w/d") == Path(storage.root, "documents", "w", "d")


def test_documents_may_be_deleted_in_the_statuses_before_submission() -> None:
    """Derived from the workflow table, written out here."""
    assert {s.value for s in UNSUBMITTED} == {"candidate", "eligible", "ineligible"}
