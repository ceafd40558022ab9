"""Documents through GraphQL, on both databases: an enrollment's ``documents`` as REST lists
them, ``deleteDocument`` before submission and ``document_locked`` after, and the document
types. (Uploads and downloads are REST's: multipart and binary bodies.)"""

from __future__ import annotations

from tests.document.files import jpeg, marker, pdf, upload
from tests.document.support import objects
from tests.support.graphql import data, error, gql, same_as_rest
from tests.support.server import Server, Tenant

DOCUMENTS = """query($id: ID!) { enrollment(id: $id) { id documents {
  id enrollmentId customerId owner type issuedAt filename contentType size sha256 createdAt
} } }"""
DELETE = "mutation($e: ID!, $id: ID!) { deleteDocument(enrollmentId: $e, id: $id) }"


def test_documents_read_and_deleted_through_graphql(server: Server, tenant: Tenant) -> None:
    enrollment_id = tenant.enroll(tenant.instance()["id"])["id"]
    first = upload(tenant.client, enrollment_id, pdf(marker())).json()
    second = upload(tenant.client, enrollment_id, jpeg(marker()), type="OTHER").json()

    listed = data(gql(tenant.client, DOCUMENTS, id=enrollment_id))["enrollment"]["documents"]
    assert [d["id"] for d in listed] == [first["id"], second["id"]]
    for got, rest_body in zip(listed, (first, second), strict=True):
        same_as_rest(got, rest_body)

    assert data(gql(tenant.client, DELETE, e=enrollment_id, id=first["id"])) == {
        "deleteDocument": first["id"]
    }
    assert list(objects(server, tenant.id)) == [f"documents/{tenant.id}/{second['id']}"]
    gone = gql(tenant.client, DELETE, e=enrollment_id, id=first["id"])
    error(gone, "not_found", 404)

    assert tenant.client.post(f"/v1/enrollments/{enrollment_id}/submit").status_code == 200
    locked = error(gql(tenant.client, DELETE, e=enrollment_id, id=second["id"]), "document_locked")
    assert locked["extensions"]["status"] == 409
    listed = data(gql(tenant.client, DOCUMENTS, id=enrollment_id))["enrollment"]["documents"]
    assert [d["id"] for d in listed] == [second["id"]]


def test_document_types_through_graphql(tenant: Tenant) -> None:
    create = """mutation($code: String!) {
      createDocumentType(input: {code: $code, label: "Lease"}) { code label builtIn createdAt } }"""
    made = data(gql(tenant.client, create, code="LEASE"))["createDocumentType"]
    assert made["code"] == "LEASE" and made["builtIn"] is False and made["createdAt"]
    error(gql(tenant.client, create, code="LEASE"), "document_type_exists", 409)
    error(gql(tenant.client, create, code="lease"), "validation_error", 422)
    types = data(gql(tenant.client, "{ documentTypes { code builtIn } }"))["documentTypes"]
    rest_types = tenant.client.get("/v1/documentTypes").json()["data"]
    assert types == [{"code": t["code"], "builtIn": t["builtIn"]} for t in rest_types]
    assert types[-1] == {"code": "LEASE", "builtIn": False}
