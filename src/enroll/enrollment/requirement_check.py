"""An enrollment's requirements, judged against what is known of it (docs/requirements.md):
the facts gathered, the states stored on the enrollment, and the refusals of a create or a
submission that leaves requirements of its stage unmet.

The states are recomputed in the transaction of whatever changes them: the create, an update
of the enrollment or its customer, a document, the billing address, a payment method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import applicant
from enroll.customer import repository as customers
from enroll.customer import service as customer_service
from enroll.customer.applicant import ApplicantFields
from enroll.customer.schemas import HouseholdMemberOut
from enroll.document import service as documents
from enroll.document.schemas import APPLICANT
from enroll.eligibility import service as eligibility
from enroll.enrollment import acceptance, changes, repository
from enroll.enrollment.errors import (
    ConsentRequired,
    IncomeCertificationConflict,
    RequirementsUnmet,
)
from enroll.enrollment.requirements import (
    DONE,
    INCOME_DOCUMENTS,
    Consent,
    Document,
    Facts,
    State,
    judge,
)
from enroll.enrollment.schemas import ConsentIn, EnrollmentCreate
from enroll.errors import FieldError, Unprocessable
from enroll.models import Customer, Enrollment, HouseholdMember, ProgramInstance
from enroll.payment import service as payments
from enroll.vault.keyring import KeyRing
from enroll.workflows.enrollment import Status

CREATE, SUBMIT = "create", "submit"
_STAMP = TypeAdapter(datetime)


def _member_view(m: HouseholdMember) -> dict[str, Any]:
    """A member as the API shows them, the tax id masked as the applicant's is."""
    shown = HouseholdMemberOut.of(m).model_dump(mode="json", by_alias=True, include=_MEMBER)
    return shown | {"taxId": applicant.masked(m.tax_id_last4)}


_MEMBER = {
    "id", "role", "first_name", "last_name", "date_of_birth", "has_taxable_income", "agi",
    "has_federal_loans",
}  # fmt: skip


async def customer_of(session: AsyncSession, enrollment: Enrollment) -> Customer | None:
    """The enrollment's customer (the applicant's data, household and billing address)."""
    if enrollment.customer_id is None:
        return None
    return await customers.get(
        session, workspace_id=enrollment.workspace_id, customer_id=enrollment.customer_id
    )


def applicant_view(customer: Customer | None, members: list[dict[str, Any]]) -> dict[str, Any]:
    """The applicant's data as the requirement context shows it (the tax id masked: a rule
    reads whether it is there, never what it is)."""
    if customer is None:
        return {"householdMembers": members}
    shown = applicant.out(customer)
    return {
        "dateOfBirth": customer.date_of_birth.isoformat() if customer.date_of_birth else None,
        "taxId": applicant.masked(customer.tax_id_last4),
        "maritalStatus": shown["maritalStatus"],
        "studentStatus": shown["studentStatus"],
        "employmentStatus": shown["employmentStatus"],
        "income": shown["income"],
        "irsAuthorizedAt": (
            customer.irs_authorized_at.isoformat() if customer.irs_authorized_at else None
        ),
        "billingAddress": customer.billing_address,
        "householdMembers": members,
    }


async def gather(
    session: AsyncSession,
    enrollment: Enrollment,
    *,
    now: datetime,
    consents: list[ConsentIn] | None = None,
    stored: bool = True,
) -> Facts:
    """What the requirements are judged on. ``consents``: ones given but not stored yet (a
    create's); ``stored`` False: the enrollment is not written yet (no documents, methods)."""
    context = await eligibility.build_context(
        session,
        fields=changes.rule_fields(enrollment),
        customer_id=enrollment.customer_id,
        exclude_enrollment_id=enrollment.id,
        reads=None,
        service_location_id=enrollment.service_location_id,
    )
    customer = await customer_of(session, enrollment)
    rows: list[HouseholdMember] = []
    if customer is not None:
        rows = await customers.household_of(session, customer_id=customer.id)
    members = [_member_view(m) for m in rows]
    view = applicant_view(customer, members)
    context.update(view)
    if isinstance(context.get("customer"), dict):
        context["customer"].update(view)
    given = [Consent(c.kind, bool(c.terms_accepted), c.text_version) for c in consents or ()]
    if stored:
        kept = await repository.consents_of(session, enrollment_id=enrollment.id)
        given += [Consent(c.kind, c.terms_accepted, c.text_version) for c in kept]
    return Facts(
        context=context,
        today=now.date(),
        consents=given,
        members=members,
        member_roles={m.id: m.role for m in rows},
        documents=await _documents(session, enrollment) if stored else [],
        billing_confirmed=bool(customer is not None and customer.billing_address),
        payment=await _payment(session, enrollment) if stored else False,
    )


async def _documents(session: AsyncSession, enrollment: Enrollment) -> list[Document]:
    found = await documents.facts(
        session, workspace_id=enrollment.workspace_id, enrollment_id=enrollment.id
    )
    return [Document(d.owner, d.type, d.issued_at) for d in found]


def _certifies_income(instance: ProgramInstance | None) -> bool:
    return instance is not None and any(
        r["kind"] == "incomeCertification" for r in instance.requirements or ()
    )


async def check_document(
    session: AsyncSession, enrollment: Enrollment, *, owner: str, type_: str
) -> None:
    """A document's owner is the applicant or a member of their household (422); an income
    document beside an IRS authorisation, where the instance certifies income, is 422
    ``income_certification_conflict`` (seed 004: they exclude each other)."""
    customer = await customer_of(session, enrollment)
    if owner != APPLICANT:
        member = await customers.members.get(
            session, workspace_id=enrollment.workspace_id, id=owner
        )
        if member is None or customer is None or member.customer_id != customer.id:
            raise Unprocessable(
                "owner: no household member of this applicant has that id.",
                errors=[FieldError(field="owner", message="Not a member of the household.")],
            )
    if type_ in INCOME_DOCUMENTS and customer is not None and customer.irs_authorized_at:
        instance = await repository.instance_of(session, enrollment)
        if _certifies_income(instance):
            raise IncomeCertificationConflict(CONFLICT_DETAIL)


CONFLICT_DETAIL = (
    "The applicant authorised the IRS to verify their income (irsAuthorizedAt): an income "
    "document and the authorisation exclude each other; clear irsAuthorizedAt to upload one."
)


async def check_irs_authorization(session: AsyncSession, enrollment: Enrollment) -> None:
    """An IRS authorisation where the enrollment holds income documents, and its instance
    certifies income: 422 ``income_certification_conflict``."""
    instance = await repository.instance_of(session, enrollment)
    if not _certifies_income(instance):
        return
    held = await _documents(session, enrollment)
    if any(d.type in INCOME_DOCUMENTS for d in held):
        raise IncomeCertificationConflict(
            "The enrollment holds income documents: irsAuthorizedAt and an income document "
            "exclude each other; delete them first."
        )


async def _payment(session: AsyncSession, enrollment: Enrollment) -> bool:
    """Whether a verified method is stored: a session alone (a setup that may still fail, or
    be declined) leaves the requirement unmet."""
    return await payments.has_active_method(
        session, workspace_id=enrollment.workspace_id, enrollment_id=enrollment.id
    )


@dataclass(frozen=True)
class Outcome:
    states: list[dict[str, Any]]  # as stored on the enrollment
    newly_met: list[dict[str, Any]]
    completed: bool  # every requirement met or not applicable, and not so before


def evaluate(
    instance: ProgramInstance,
    enrollment: Enrollment,
    facts: Facts,
    *,
    now: datetime,
) -> Outcome:
    """The states the instance's requirements are in; ``updatedAt`` moves only for those
    whose status or detail changed."""
    before = {r["key"]: r for r in enrollment.requirements or ()}
    stamp = _STAMP.dump_python(now, mode="json")  # as EnrollmentOut writes it (bulk_sql too)
    states: list[dict[str, Any]] = []
    newly_met: list[dict[str, Any]] = []
    for requirement, judged in zip(
        instance.requirements, judge(instance.requirements, facts), strict=True
    ):
        state = {
            "key": requirement["key"],
            "kind": requirement["kind"],
            "label": requirement["label"],
            "stage": requirement["stage"],
            "status": judged.status.value,
            "detail": judged.detail,
        }
        old = before.get(state["key"])
        same = old is not None and all(old.get(k) == state[k] for k in state)
        state["updatedAt"] = old["updatedAt"] if same and old else stamp
        states.append(state)
        if judged.status == State.MET and (old is None or old.get("status") != State.MET):
            newly_met.append(state)
    was_complete = bool(before) and all(r.get("status") in DONE for r in before.values())
    complete = all(s["status"] in DONE for s in states)
    return Outcome(states, newly_met if before else [], complete and not was_complete)


def unmet(states: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    """The requirements of ``stage`` (a submission checks the create ones too) not met."""
    stages = {CREATE} if stage == CREATE else {CREATE, SUBMIT}
    return [
        {k: s[k] for k in ("key", "kind", "label", "detail")}
        for s in states
        if s["stage"] in stages and s["status"] not in DONE
    ]


def refuse(missing: list[dict[str, Any]], *, stage: str) -> None:
    """409 requirements_unmet listing every unmet one; 422 consent_required where consents
    are all that is missing (seed 004's ``signed_at``)."""
    if not missing:
        return
    if all(m["kind"] == "consent" for m in missing):
        labels = ", ".join(m["label"] for m in missing)
        raise ConsentRequired(f"Consent required: {labels}.", unmet=missing)
    action = "create" if stage == CREATE else "submit"
    raise RequirementsUnmet(
        f"Cannot {action} the enrollment: {len(missing)} requirement(s) unmet.", unmet=missing
    )


def store_applicant(
    customer: Customer | None, body: ApplicantFields, *, ring: KeyRing | None
) -> list[str]:
    """The applicant's fields a body carries, written to its customer (the changed ones)."""
    sent = applicant.APPLICANT_FIELDS & body.model_fields_set
    if not sent:
        return []
    if customer is None:
        raise Unprocessable(
            "The applicant's data is stored on a customer; this enrollment has none."
        )
    if ring is None:  # every door passes the process's key ring
        raise RuntimeError("a key ring is needed to store a tax id")
    return customer_service.set_applicant(customer, applicant.columns(body, ring=ring))


async def admit(
    session: AsyncSession,
    enrollment: Enrollment,
    instance: ProgramInstance,
    body: EnrollmentCreate,
    *,
    ring: KeyRing | None,
    now: datetime,
) -> Outcome | None:
    """A create's applicant data stored on its customer, then its ``create`` requirements
    checked: refused (409 or 422), the request's transaction is rolled back, so nothing is
    written. The states of all requirements are set on the new enrollment."""
    if applicant.APPLICANT_FIELDS & body.model_fields_set:  # else no query: the hot path
        store_applicant(await customer_of(session, enrollment), body, ring=ring)
    if not instance.requirements:
        return None
    consents = acceptance.given(body)
    facts = await gather(session, enrollment, now=now, consents=consents, stored=False)
    outcome = evaluate(instance, enrollment, facts, now=now)
    refuse(unmet(outcome.states, CREATE), stage=CREATE)
    enrollment.requirements = outcome.states
    return outcome


async def check_submit(
    session: AsyncSession, enrollment: Enrollment, instance: ProgramInstance, *, now: datetime
) -> None:
    """A submission with requirements unmet is refused (409, or 422 for consents only)."""
    if not instance.requirements:
        return
    outcome = evaluate(instance, enrollment, await gather(session, enrollment, now=now), now=now)
    enrollment.requirements = outcome.states
    refuse(unmet(outcome.states, SUBMIT), stage=SUBMIT)


def submits(instance: ProgramInstance, enrollment: Enrollment, outcome: Outcome | None) -> bool:
    """Whether the platform submits it now: its last requirement was just met, the instance
    says submitWhenComplete, and it is eligible."""
    return bool(
        outcome is not None
        and outcome.completed
        and instance.submit_when_complete
        and enrollment.status == Status.ELIGIBLE
    )
