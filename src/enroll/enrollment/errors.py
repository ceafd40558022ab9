"""The problems of enrollments, their re-evaluations and notification templates."""

from __future__ import annotations

from enroll.errors import Conflict, Unprocessable


class InstanceNotAccepting(Conflict):
    code = "instance_not_accepting"
    description = (
        "the instance is not active, outside its dates, or at capacity (`detail` says which)"
    )


class EnrollmentExists(Conflict):
    code = "enrollment_exists"
    description = "the customer already holds an open enrollment in the instance (`enrollmentId`)"


class LeadIncomplete(Conflict):
    code = "lead_incomplete"
    description = (
        "enrolling a lead that lacks first or last name, sent in neither lead nor body (fields"
        " listed in `errors`)"
    )


class CriteriaUnchanged(Conflict):
    code = "criteria_unchanged"
    description = (
        "`reevaluate` on a rejected enrollment under the criteria version it was rejected under"
        " (`criteriaVersion`)"
    )


class EnrollmentHasSubscription(Conflict):
    code = "enrollment_has_subscription"
    description = "deleting an enrollment that was set up (unenroll it instead)"


class ReevaluationRunning(Conflict):
    code = "reevaluation_running"
    description = "a re-evaluation of the instance is under way (`reevaluationId`)"


class NotificationTemplateExists(Conflict):
    code = "notification_template_exists"
    description = (
        "a template for that instance, audience and trigger exists (`notificationTemplateId`)"
    )


class InvalidTemplate(Unprocessable):
    code = "invalid_template"
    description = "a notification template that does not compile or render (notifications.md)"


class EnrollmentHasConsent(Conflict):
    code = "enrollment_has_consent"
    description = "deleting an enrollment whose consent record must be kept (cancel it instead)"


class TermsNotAccepted(Unprocessable):
    code, title = "terms_not_accepted", "Terms not accepted"
    description = (
        "a plan with documents, or an instance with `consentRequired`, without "
        "`consent.termsAccepted: true`"
    )


class ConsentDocumentsMismatch(Unprocessable):
    code, title = "consent_documents_mismatch", "Consent documents mismatch"
    description = (
        "the consent's documents are not the plan's current ones and the instance's terms "
        "when it requires consent (`expected`: each type and version)"
    )


class PlanNeedsLocation(Unprocessable):
    code, title = "plan_needs_location", "Plan needs a service location"
    description = (
        "a plan offered or priced by premise (an availability rule or pricing) without "
        "`serviceLocationId` or `servicePointId`"
    )


class RequirementsUnmet(Conflict):
    code, title = "requirements_unmet", "Requirements unmet"
    description = (
        "a create or submission that leaves requirements of its stage unmet (`unmet`: every "
        "one, with key, kind, label and detail; docs/requirements.md)"
    )


class ConsentRequired(Unprocessable):
    code, title = "consent_required", "Consent required"
    description = (
        "a create (or submission) whose only unmet requirements are consents the body does not "
        "give, or gives as not accepted (`unmet`)"
    )


class IncomeCertificationConflict(Unprocessable):
    code, title = "income_certification_conflict", "Income certification conflict"
    description = (
        "`irsAuthorizedAt` together with an income document (seed 004: they exclude each other)"
    )
