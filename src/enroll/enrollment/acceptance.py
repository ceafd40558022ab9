"""Accepting a plan at a service location with an enrollment (issue 15, sections 3 and 4): the
checks of a create, the consent records, and the service activation a market enrollment ends
with.

A create that names a location and a plan is checked here before anything is written: the
location and plan exist (404), the plan is available there (422 ``plan_unavailable``), the
start date lies in its window (422 ``start_date_outside_window``), and the consent accepts the
plan's current documents (422 ``terms_not_accepted``, ``consent_documents_mismatch``), and the
instance's terms when the instance requires consent on every enrollment. The
result is the enrollment's columns, the consent record to keep, and what ``enrollment.created``
carries besides the enrollment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import changes, repository
from enroll.enrollment.errors import ConsentDocumentsMismatch, PlanNeedsLocation, TermsNotAccepted
from enroll.enrollment.schemas import (
    TERMS,
    ConsentIn,
    ConsentOut,
    EnrollmentCreate,
    EnrollmentUpdate,
)
from enroll.ids import new_id
from enroll.location import service as locations
from enroll.location.schemas import rule_view
from enroll.models import Enrollment, EnrollmentConsent, Plan, ProgramInstance, ServiceLocation
from enroll.models.enrollment_fields import FIELDS
from enroll.plan import service as plans
from enroll.plan.availability import check_available, check_start_date, window_of


@dataclass
class Acceptance:
    values: dict[str, Any] = field(default_factory=dict)  # the enrollment's columns
    consents: list[ConsentIn] = field(default_factory=list)
    plan: Plan | None = None
    event: dict[str, Any] = field(default_factory=dict)  # enrollment.created's extra keys
    has_usage: bool = False  # the location's, for the new (transient) enrollment to show
    documents: list[dict[str, Any]] = field(default_factory=list)  # those consent accepts

    def attach(self, enrollment: Enrollment, *, now: datetime) -> list[EnrollmentConsent]:
        """What the new enrollment carries of the acceptance: its location's usage flag (a
        transient row loads none), and the consent records to keep, which
        ``enrollment.created`` carries without their IP address (``consent``: the terms')."""
        enrollment.has_usage_history = self.has_usage
        records = consent_records(
            enrollment, self.consents, plan=self.plan, documents=self.documents, now=now
        )
        if records:
            shown = [ConsentOut.of(r).public() for r in records]
            self.event["consent"] = next((c for c in shown if c["kind"] == TERMS), shown[0])
            if len(shown) > 1:
                self.event["consents"] = shown
        return records


def given(body: EnrollmentCreate | EnrollmentUpdate) -> list[ConsentIn]:
    """The consents a body carries: ``consent`` and ``consents`` together."""
    return ([body.consent] if body.consent is not None else []) + list(body.consents or [])


def terms_of(consents: list[ConsentIn]) -> ConsentIn | None:
    return next((c for c in consents if c.kind == TERMS), None)


def consent_records(
    enrollment: Enrollment,
    consents: list[ConsentIn],
    *,
    plan: Plan | None,
    documents: list[dict[str, Any]],
    now: datetime,
) -> list[EnrollmentConsent]:
    return [
        EnrollmentConsent(
            id=new_id(),
            workspace_id=enrollment.workspace_id,
            enrollment_id=enrollment.id,
            kind=c.kind,
            text_version=c.text_version,
            plan_id=plan.id if plan and c.kind == TERMS else None,
            terms_accepted=bool(c.terms_accepted),
            documents=_documents_as_accepted(documents, c) if c.kind == TERMS else [],
            text=c.text,
            accepted_at=c.accepted_at or now,
            ip_address=c.ip_address,
            user_agent=c.user_agent,
            channel=c.channel.value,
            actor=c.actor.model_dump(mode="json", by_alias=True, exclude_none=True),
            created_at=now,
        )
        for c in consents
    ]


def _documents_as_accepted(
    documents: list[dict[str, Any]], consent: ConsentIn
) -> list[dict[str, Any]]:
    """The documents as held (url, sha256 too) where the consent names them; else as sent."""
    held = {(d["type"], d.get("version")): d for d in documents}
    return [
        held.get((d.type, d.version)) or {"type": d.type, "version": d.version}
        for d in consent.documents
    ]


async def check(
    session: AsyncSession,
    *,
    instance: ProgramInstance,
    body: EnrollmentCreate,
    applicant: dict[str, Any],
    now: datetime,
) -> Acceptance:
    """What the create's location, plan, start date and consent add, checked."""
    found = Acceptance(consents=given(body))
    location = await _location(session, instance.workspace_id, body)
    place = rule_view(location) if location is not None else None
    if location is not None and place is not None:
        found.values["service_location_id"] = location.id
        found.has_usage = bool(location.has_usage)
        if not applicant.get("address"):
            found.values["address"] = {k: v for k, v in place["address"].items() if v is not None}
        found.event["serviceLocation"] = {k: place[k] for k in _SUMMARY}
    ref = body.plan_id or body.plan_code
    if ref is not None:
        await _plan(session, found, instance, ref, body, place, applicant, now)
    found.documents = _documents(instance, found.plan)
    _check_consent(instance, found.plan, found.documents, terms_of(found.consents))
    return found


async def _plan(
    session: AsyncSession,
    found: Acceptance,
    instance: ProgramInstance,
    ref: str,
    body: EnrollmentCreate,
    place: dict[str, Any] | None,
    applicant: dict[str, Any],
    now: datetime,
) -> None:
    choice = await plans.resolve(
        session, workspace_id=instance.workspace_id, instance_id=instance.id, ref=ref
    )
    plan = found.plan = choice.plan
    if place is None and (plan.availability is not None or plan.pricing):
        # Offered or priced by premise; a plan offered everywhere at no price (a repayment
        # plan, seed 004) is taken without one.
        raise PlanNeedsLocation(
            f"Plan {plan.code!r} is offered by premise: send serviceLocationId."
        )
    check_available(plan, location=place or {}, applicant=_applicant(applicant))
    start = body.start_date or window_of(plan, timezone=instance.timezone, now=now).earliest
    check_start_date(plan, timezone=instance.timezone, start_date=start, now=now)
    found.values |= {
        "plan_id": plan.id,
        "plan_code": plan.code,
        "plan_code_given": choice.code_given,
        "start_date": start,
    }
    found.event["plan"] = {
        "id": plan.id,
        "code": plan.code,
        "codeGiven": choice.code_given,
        "name": plan.name,
        "startDate": start.isoformat(),
    }


async def _location(
    session: AsyncSession, workspace_id: str, body: EnrollmentCreate
) -> ServiceLocation | None:
    if body.service_location_id is not None:
        return await locations.get(
            session, workspace_id=workspace_id, location_id=body.service_location_id
        )
    if body.service_point_id is not None:
        return await locations.lookup(
            session, workspace_id=workspace_id, service_point_id=body.service_point_id
        )
    return None


# What enrollment.created carries of the location.
_SUMMARY = ("id", "servicePointId", "market", "utility", "address", "premiseType", "status")


def _applicant(values: dict[str, Any]) -> dict[str, Any]:
    """The person as an availability rule reads them: the enrollment's fields, camelCase."""
    return {f.name: values[f.attr] for f in FIELDS if f.attr in values}


PROGRAM_TERMS = "programTerms"


def _documents(instance: ProgramInstance, plan: Plan | None) -> list[dict[str, Any]]:
    """The documents a consent accepts: the plan's, and the instance's terms when the
    instance requires consent."""
    documents = list(plan.documents) if plan else []
    terms = instance.terms or {}
    if instance.consent_required and terms.get("version"):
        documents.append(
            {"type": PROGRAM_TERMS} | {k: terms[k] for k in ("version", "url") if k in terms}
        )
    return documents


def _check_consent(
    instance: ProgramInstance,
    plan: Plan | None,
    documents: list[dict[str, Any]],
    consent: ConsentIn | None,
) -> None:
    """Consent is needed when the instance requires it or the plan has documents: the terms
    accepted, each document at its current version."""
    if not instance.consent_required and not (plan and plan.documents):
        return
    expected = [{"type": d["type"], "version": d.get("version")} for d in documents]
    if consent is None or consent.terms_accepted is not True:
        whose = f"Plan {plan.code!r}" if plan and plan.documents else "This program instance"
        raise TermsNotAccepted(f"{whose} needs consent.termsAccepted: true.", expected=expected)
    given = sorted((d.type, d.version) for d in consent.documents)
    if given != sorted((d["type"], d["version"]) for d in expected):
        raise ConsentDocumentsMismatch(
            "The consent must accept each document at its current version.",
            expected=expected,
        )


async def consents(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[EnrollmentConsent]:
    """The enrollment's consent records, oldest first (404 for an unknown enrollment)."""
    enrollment = await repository.enrollments.require(
        session, workspace_id=workspace_id, id=enrollment_id
    )
    return await repository.consents_of(session, enrollment_id=enrollment.id)


async def activate_service(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    start: date | None,
    now: datetime,
) -> Enrollment:
    """The market enrollment (the switch request) completed: the plan's service runs from
    ``start`` (the utility's date; else the requested one). Once: a repeat changes nothing."""
    enrollment = await repository.enrollments.require(
        session, workspace_id=workspace_id, id=enrollment_id
    )
    if enrollment.service_active:
        return enrollment
    enrollment.service_active = True
    enrollment.service_start_date = start or enrollment.start_date or now.date()
    enrollment.updated_at = now
    await session.flush()
    await changes.emit(
        session, changes.Pending(enrollment, [("enrollment.service_activated", {})]), now
    )
    return enrollment
