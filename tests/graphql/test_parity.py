"""Both doors stay open: every operation of the OpenAPI document (/openapi.json) has a GraphQL
field that stands for it, or is listed here with the reason it has none.

The lists are explicit so that a REST operation added later fails this test until it gets a
GraphQL door (or a reasoned exception in ``DELIBERATE``).
"""

from __future__ import annotations

from typing import Any

from tests.support.server import Server

# REST operation → the GraphQL root field standing for it.
DOORS: dict[str, str] = {
    # the catalog
    "GET /v1/programs": "Query.programs",
    "GET /v1/programs/{id_or_slug}": "Query.program",
    "POST /v1/programs": "Mutation.createProgram",  # platform keys
    "PATCH /v1/programs/{id_or_slug}": "Mutation.updateProgram",
    # program instances
    "POST /v1/programInstances": "Mutation.createProgramInstance",
    "GET /v1/programInstances": "Query.programInstances",
    "GET /v1/programInstances/{id_or_slug}": "Query.programInstance",
    "PATCH /v1/programInstances/{id_or_slug}": "Mutation.updateProgramInstance",
    "DELETE /v1/programInstances/{id_or_slug}": "Mutation.deleteProgramInstance",
    # criteria versions
    "GET /v1/programInstances/{instance_id}/criteriaVersions": "Query.criteriaVersions",
    "GET /v1/programInstances/{instance_id}/criteriaVersions/{version}": "Query.criteriaVersion",
    # enrollments
    "POST /v1/programInstances/{instance_id}/enrollments": "Mutation.createEnrollment",
    "GET /v1/programInstances/{instance_id}/enrollments": "Query.enrollments",
    "GET /v1/enrollments": "Query.enrollments",
    "GET /v1/enrollments/{enrollment_id}": "Query.enrollment",
    "PATCH /v1/enrollments/{enrollment_id}": "Mutation.updateEnrollment",
    "GET /v1/enrollments/{enrollment_id}/history": "Query.enrollment",  # Enrollment.history
    "GET /v1/enrollments/{enrollment_id}/consents": "Query.enrollment",  # Enrollment.consents
    # Enrollment.requirements
    "GET /v1/enrollments/{enrollment_id}/requirements": "Query.enrollment",
    "PUT /v1/enrollments/{enrollment_id}/billingAddress": "Mutation.confirmBillingAddress",
    "GET /v1/customers/{customer_id}/householdMembers": "Query.customer",
    "POST /v1/customers/{customer_id}/householdMembers": "Mutation.addHouseholdMember",
    "GET /v1/customers/{customer_id}/householdMembers/{member_id}": "Query.customer",
    "PATCH /v1/customers/{customer_id}/householdMembers/{member_id}": (
        "Mutation.updateHouseholdMember"
    ),
    "DELETE /v1/customers/{customer_id}/householdMembers/{member_id}": (
        "Mutation.deleteHouseholdMember"
    ),
    "POST /v1/enrollments/{enrollment_id}/submit": "Mutation.submitEnrollment",
    "POST /v1/enrollments/{enrollment_id}/approve": "Mutation.approveEnrollment",
    "POST /v1/enrollments/{enrollment_id}/reject": "Mutation.rejectEnrollment",
    "POST /v1/enrollments/{enrollment_id}/markUnprocessable": (
        "Mutation.markEnrollmentUnprocessable"
    ),
    "POST /v1/enrollments/{enrollment_id}/cancel": "Mutation.cancelEnrollment",
    "POST /v1/enrollments/{enrollment_id}/reevaluate": "Mutation.reevaluateEnrollment",
    "POST /v1/enrollments/{enrollment_id}/decide": "Mutation.decideEnrollment",
    "POST /v1/enrollments/{enrollment_id}/unenroll": "Mutation.unenrollEnrollment",
    # payment methods (seed 003)
    "POST /v1/enrollments/{enrollment_id}/paymentSession": "Mutation.startPaymentSession",
    "POST /v1/enrollments/{enrollment_id}/paymentMethod": "Mutation.addPaymentMethod",
    "GET /v1/enrollments/{enrollment_id}/paymentMethods": "Query.paymentMethods",
    # documents (uploading and downloading a file: see DELIBERATE) and document types
    "GET /v1/enrollments/{enrollment_id}/documents": "Query.enrollment",  # Enrollment.documents
    "GET /v1/enrollments/{enrollment_id}/documents/{document_id}": "Query.enrollment",
    "DELETE /v1/enrollments/{enrollment_id}/documents/{document_id}": "Mutation.deleteDocument",
    "GET /v1/documentTypes": "Query.documentTypes",
    "POST /v1/documentTypes": "Mutation.createDocumentType",
    # customers and leads, API keys (metadata; the secret only in createApiKey's answer)
    "DELETE /v1/enrollments/{enrollment_id}": "Mutation.deleteEnrollment",
    "POST /v1/customers": "Mutation.createCustomer",
    "GET /v1/customers": "Query.customers",
    "GET /v1/customers/{customer_id}": "Query.customer",
    "PATCH /v1/customers/{customer_id}": "Mutation.updateCustomer",
    "POST /v1/leads": "Mutation.createLead",
    "GET /v1/leads": "Query.leads",
    # service locations: the lookups write nothing (queries); an import is read here
    "POST /v1/serviceLocations": "Mutation.createServiceLocation",
    "GET /v1/serviceLocations": "Query.serviceLocations",
    "GET /v1/serviceLocations/{location_id}": "Query.serviceLocation",
    "PATCH /v1/serviceLocations/{location_id}": "Mutation.updateServiceLocation",
    "POST /v1/serviceLocations/search": "Query.searchServiceLocations",
    "POST /v1/serviceLocations/lookup": "Query.lookupServiceLocation",
    "GET /v1/serviceLocationImports/{import_id}": "Query.serviceLocationImport",
    "POST /v1/serviceLocations/{location_id}/usage": "Mutation.recordServiceLocationUsage",
    "GET /v1/serviceLocations/{location_id}/usage": "Query.serviceLocationUsage",
    "POST /v1/apiKeys": "Mutation.createApiKey",
    "GET /v1/apiKeys": "Query.apiKeys",
    "DELETE /v1/apiKeys/{key_id}": "Mutation.revokeApiKey",
    # imports (read; starting one is an upload, see DELIBERATE) and jobs
    "GET /v1/imports/{import_id}": "Query.import",
    "GET /v1/jobs": "Query.jobs",
    # notification templates and the notification log
    "POST /v1/notificationTemplates": "Mutation.createNotificationTemplate",
    "GET /v1/notificationTemplates": "Query.notificationTemplates",
    "GET /v1/notificationTemplates/{template_id}": "Query.notificationTemplate",
    "PATCH /v1/notificationTemplates/{template_id}": "Mutation.updateNotificationTemplate",
    "DELETE /v1/notificationTemplates/{template_id}": "Mutation.deleteNotificationTemplate",
    "GET /v1/notifications": "Query.notifications",
    "GET /v1/notifications/{notification_id}": "Query.notification",
    # plans and delivery charges
    "POST /v1/programInstances/{instance_id}/plans": "Mutation.createPlan",
    "GET /v1/programInstances/{instance_id}/plans": "Query.plans",
    "GET /v1/programInstances/{instance_id}/plans/{plan_id}": "Query.plan",
    "PATCH /v1/programInstances/{instance_id}/plans/{plan_id}": "Mutation.updatePlan",
    "DELETE /v1/programInstances/{instance_id}/plans/{plan_id}": "Mutation.deletePlan",
    "PUT /v1/deliveryCharges/{utility_code}": "Mutation.setDeliveryCharge",
    "GET /v1/deliveryCharges": "Query.deliveryCharges",
    # a quote writes nothing: a query
    "POST /v1/programInstances/{instance_id}/plans/quote": "Query.planQuote",
    # participation: subscriptions, device locations, devices
    "GET /v1/subscriptions": "Query.subscriptions",
    "GET /v1/subscriptions/{subscription_id}": "Query.subscription",
    "GET /v1/deviceLocations/{location_id}": "Query.deviceLocation",
    "GET /v1/devices": "Query.devices",
    "POST /v1/devices": "Mutation.createDevice",
    "GET /v1/devices/{device_id}": "Query.device",
    # service tasks: inbound requests, operations, setup actions, to-dos
    "GET /v1/enrollmentRequests": "Query.enrollmentRequests",
    "POST /v1/enrollmentRequests": "Mutation.createEnrollmentRequest",
    "GET /v1/enrollmentRequests/{task_id}": "Query.enrollmentRequest",
    "GET /v1/unenrollmentRequests": "Query.unenrollmentRequests",
    "POST /v1/unenrollmentRequests": "Mutation.createUnenrollmentRequest",
    "GET /v1/unenrollmentRequests/{task_id}": "Query.unenrollmentRequest",
    "POST /v1/enrollments/{enrollment_id}/devices": "Mutation.addEnrollmentDevice",
    "GET /v1/serviceTasks": "Query.serviceTasks",
    "GET /v1/serviceTasks/{task_id}": "Query.serviceTask",
    "PATCH /v1/serviceTasks/{task_id}": "Mutation.updateServiceTask",
    "GET /v1/serviceTasks/{task_id}/log": "Query.serviceTask",  # ServiceTask.log
    "POST /v1/serviceTasks/{task_id}/retry": "Mutation.retryServiceTask",
    "POST /v1/serviceTasks/{task_id}/discard": "Mutation.discardServiceTask",
    "POST /v1/serviceTasks/{task_id}/cancel": "Mutation.cancelServiceTask",
    "POST /v1/serviceTasks/{task_id}/approve": "Mutation.approveServiceTask",
    "POST /v1/serviceTasks/{task_id}/reject": "Mutation.rejectServiceTask",
    "GET /v1/setupActions/{action_id}": "Query.setupAction",
    "POST /v1/setupActions/{action_id}/complete": "Mutation.completeSetupAction",
    "POST /v1/setupActions/{action_id}/fail": "Mutation.failSetupAction",
    "GET /v1/todos": "Query.todos",
    "POST /v1/todos/{todo_id}/complete": "Mutation.completeTodo",
    # events
    "GET /v1/events": "Query.events",
    # eligibility: a preview writes nothing (a query); a re-evaluation is a job to poll
    "POST /v1/programInstances/{instance_id}/eligibility/preview": "Query.eligibilityPreview",
    "POST /v1/programInstances/{instance_id}/reevaluations": "Mutation.reevaluateProgramInstance",
    "GET /v1/reevaluations/{reevaluation_id}": "Query.reevaluation",
    # webhooks (secrets only in what create and rotate answer), the workspace signing secret
    "POST /v1/webhookEndpoints": "Mutation.createWebhookEndpoint",
    "GET /v1/webhookEndpoints": "Query.webhookEndpoints",
    "GET /v1/webhookEndpoints/{endpoint_id}": "Query.webhookEndpoint",
    "PATCH /v1/webhookEndpoints/{endpoint_id}": "Mutation.updateWebhookEndpoint",
    "DELETE /v1/webhookEndpoints/{endpoint_id}": "Mutation.deleteWebhookEndpoint",
    "POST /v1/webhookEndpoints/{endpoint_id}/rotateSecret": "Mutation.rotateWebhookSecret",
    "GET /v1/webhookEndpoints/{endpoint_id}/deliveries": "Query.webhookDeliveries",
    "POST /v1/webhookEndpoints/{endpoint_id}/test": "Mutation.testWebhookEndpoint",
    "POST /v1/webhookEndpoints/{endpoint_id}/replay": "Mutation.replayWebhookEvents",
    "GET /v1/webhookDeliveries/{delivery_id}": "Query.webhookDelivery",
    "POST /v1/webhookDeliveries/{delivery_id}/retry": "Mutation.retryWebhookDelivery",
    "POST /v1/workspace/signingSecret": "Mutation.signingSecret",
}

# Deliberately REST only, each with its reason.
DELIBERATE: dict[str, str] = {
    # A file upload (multipart or a raw body of up to 20 GiB): GraphQL has no file transport;
    # the import it creates is readable through GraphQL once built.
    "POST /v1/programInstances/{instance_id}/imports": "file upload",
    "POST /v1/serviceLocationImports": "file upload",
    # A download streamed as CSV or JSON Lines, not an object graph.
    "GET /v1/imports/{import_id}/results": "file download",
    # The payment provider's webhook: Stripe posts its signed event body, no API key.
    "POST /v1/providers/stripe/events": "the payment provider's signed webhook",
    # A document is a binary file (multipart up, its bytes down); its metadata is
    # Enrollment.documents.
    "POST /v1/enrollments/{enrollment_id}/documents": "file upload",
    "GET /v1/enrollments/{enrollment_id}/documents/{document_id}/content": "file download",
}

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(doc: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def _root_fields(client: Any) -> set[str]:
    query = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"
    schema = client.post("/graphql", json={"query": query}).json()["data"]["__schema"]
    return {f"Query.{f['name']}" for f in schema["queryType"]["fields"]} | {
        f"Mutation.{f['name']}" for f in schema["mutationType"]["fields"]
    }


def test_every_rest_operation_has_a_graphql_door_or_a_reason(server: Server) -> None:
    with server.client() as client:
        operations = _operations(client.get("/openapi.json").json())
        fields = _root_fields(client)
    listed = [*DOORS, *DELIBERATE]
    assert len(listed) == len(set(listed)), "an operation is listed twice"
    unlisted = operations - set(listed)
    assert not unlisted, f"give these a GraphQL door (or a reasoned exception): {unlisted}"
    stale = set(listed) - operations
    assert not stale, f"no longer in the OpenAPI document, drop them: {stale}"
    missing = {op: f for op, f in DOORS.items() if f not in fields}
    assert not missing, f"doors named here are not in the schema: {missing}"


def test_the_graphql_schema_has_no_field_this_map_does_not_know(server: Server) -> None:
    """The other direction: each root field stands for a REST operation (so the map is the
    index of the GraphQL API)."""
    with server.client() as client:
        fields = _root_fields(client)
    unmapped = fields - set(DOORS.values())
    assert not unmapped, f"map these fields to the REST operations they stand for: {unmapped}"
