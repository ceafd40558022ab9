"""Each kind of requirement judged on facts, without a database (enrollment/requirements.py);
seed 004's income certification table row by row."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from enroll.enrollment.requirements import (
    CONFLICT,
    Consent,
    Document,
    Facts,
    Judgement,
    State,
    judge,
)

TODAY = date(2026, 12, 8)
INCOME = {"key": "income", "kind": "incomeCertification", "label": "Income", "stage": "submit"}


def one(requirement: dict[str, Any], **facts: Any) -> Judgement:
    context = facts.pop("context", {})
    (judged,) = judge([requirement], Facts(context=context, today=TODAY, **facts))
    return judged


def test_field_paths_must_hold_something() -> None:
    need = {"key": "k", "kind": "field", "label": "L", "stage": "create",
            "paths": ["phone", "address.postalCode", "metadata.tags"]}  # fmt: skip
    assert one(need, context={"phone": " ", "address": {}, "metadata": {"tags": []}}) == (
        Judgement(State.UNMET, "Missing: phone, address.postalCode, metadata.tags.")
    )
    full = {"phone": "1", "address": {"postalCode": "0"}, "metadata": {"tags": [0]}}
    assert one(need, context=full).status == State.MET


def test_a_rule_and_a_condition() -> None:
    rule = {"key": "r", "kind": "rule", "label": "Adult", "stage": "create",
            "rule": {">=": [{"var": "age"}, 18]}, "when": {"var": "applies"}}  # fmt: skip
    assert one(rule, context={"applies": False, "age": 3}).status == State.NOT_APPLICABLE
    assert one(rule, context={"applies": True, "age": 3}) == Judgement(State.UNMET, "Adult")
    assert one(rule, context={"applies": True, "age": 30}).status == State.MET


def test_a_consent_of_its_kind_and_version() -> None:
    need = {"key": "s", "kind": "consent", "label": "Sign", "stage": "create",
            "consentKind": "signature", "textVersion": "2026-01"}  # fmt: skip
    assert one(need).detail == "Needs the applicant's signature consent to text version 2026-01."
    assert one(need, consents=[Consent("terms", True, "2026-01")]).status == State.UNMET
    assert one(need, consents=[Consent("signature", False, "2026-01")]).status == State.UNMET
    assert one(need, consents=[Consent("signature", True, "2025-01")]).status == State.UNMET
    assert one(need, consents=[Consent("signature", True, "2026-01")]).status == State.MET


def test_a_household_member_with_its_fields() -> None:
    need = {"key": "s", "kind": "householdMember", "label": "Spouse", "stage": "submit",
            "role": "spouse", "paths": ["firstName", "taxId"]}  # fmt: skip
    child = {"id": "m1", "role": "dependent", "firstName": "A", "taxId": "***-**-1111"}
    assert one(need, members=[child]).detail == "Add a household member with role spouse."
    partial = {"id": "m2", "role": "spouse", "firstName": "B", "taxId": None}
    assert one(need, members=[child, partial]).detail == "The spouse lacks: taxId."
    full = partial | {"taxId": "***-**-2222"}
    assert one(need, members=[partial, full]).status == State.MET


def test_documents_by_type_count_age_and_owner() -> None:
    need = {"key": "d", "kind": "document", "label": "Bill", "stage": "submit",
            "types": ["UTILITY_BILL"], "count": 2, "maxAgeDays": 90}  # fmt: skip
    fresh, old = date(2026, 11, 1), date(2026, 1, 1)
    docs = [
        Document("applicant", "UTILITY_BILL", fresh),
        Document("applicant", "UTILITY_BILL", old),
    ]
    assert one(need, documents=docs).detail == (
        "Needs 2 UTILITY_BILL document(s) issued in the last 90 days (1 given)."
    )
    docs.append(Document("applicant", "UTILITY_BILL", fresh))
    assert one(need, documents=docs).status == State.MET
    spouse = need | {"owner": "spouse", "count": 1}
    assert one(spouse, documents=docs).status == State.UNMET
    assert (
        one(
            spouse, documents=[Document("m1", "UTILITY_BILL", fresh)], member_roles={"m1": "spouse"}
        ).status
        == State.MET
    )


def _income(
    *,
    taxable: bool | None,
    decreased: bool | None = False,
    agi: float | None = 1000,
    irs: bool = False,
    spouse: dict[str, Any] | None = None,
    documents: list[Document] = (),  # type: ignore[assignment]
) -> Judgement:
    context: dict[str, Any] = {
        "income": {"agi": agi, "hasTaxableIncome": taxable, "decreasedSinceFiling": decreased},
        "maritalStatus": "married" if spouse else "single",
        "irsAuthorizedAt": "2026-01-05T10:00:00Z" if irs else None,
    }
    members = [spouse] if spouse else []
    return one(INCOME, context=context, members=members, documents=list(documents))


STUB = Document("applicant", "PAY_STUB", TODAY)
RETURN = Document("applicant", "TAX_RETURN", TODAY)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # 1. No taxable income (applicant and spouse): none required; their AGI must be 0.
        (dict(taxable=False, agi=0), State.MET),
        (dict(taxable=False, agi=1200), State.UNMET),
        (dict(taxable=False, agi=0, spouse={"id": "s", "role": "spouse",
                                            "hasTaxableIncome": False, "agi": 50}), State.UNMET),
        # 2. Income not significantly decreased: IRS authorisation, or a return or transcript.
        (dict(taxable=True), State.UNMET),
        (dict(taxable=True, irs=True), State.MET),
        (dict(taxable=True, documents=[RETURN]), State.MET),
        (dict(taxable=True, documents=[Document("applicant", "TAX_TRANSCRIPT", None)]), State.MET),
        (dict(taxable=True, documents=[STUB]), State.UNMET),
        # 3. Decreased: a pay stub, offer letter or determination summary for each earner.
        (dict(taxable=True, decreased=True), State.UNMET),
        (dict(taxable=True, decreased=True, documents=[RETURN]), State.UNMET),
        (dict(taxable=True, decreased=True, documents=[STUB]), State.MET),
        (dict(taxable=True, decreased=True, documents=[STUB],
              spouse={"id": "s", "role": "spouse", "hasTaxableIncome": True}), State.UNMET),
        (dict(taxable=True, decreased=True,
              documents=[STUB, Document("s", "OFFER_LETTER", TODAY)],
              spouse={"id": "s", "role": "spouse", "hasTaxableIncome": True}), State.MET),
        (dict(taxable=False, decreased=True, agi=0,
              documents=[Document("s", "DETERMINATION_SUMMARY", TODAY)],
              spouse={"id": "s", "role": "spouse", "hasTaxableIncome": True}), State.MET),
        # Unknown taxable income: asked for first.
        (dict(taxable=None), State.UNMET),
        # irsAuthorizedAt with an income document: they exclude each other.
        (dict(taxable=True, irs=True, documents=[RETURN]), State.UNMET),
    ],
)  # fmt: skip
def test_income_certification_is_seed_004s_table(case: dict[str, Any], expected: State) -> None:
    assert _income(**case).status == expected


def test_income_certification_details() -> None:
    assert _income(taxable=True, irs=True, documents=[RETURN]).detail == CONFLICT
    both = _income(
        taxable=True,
        decreased=True,
        spouse={"id": "s", "role": "spouse", "hasTaxableIncome": True},
    )
    assert both.detail == (
        "Upload a PAY_STUB, OFFER_LETTER or DETERMINATION_SUMMARY for the applicant and the spouse."
    )


def test_billing_address_and_payment_method() -> None:
    billing = {"key": "b", "kind": "billingAddress", "label": "B", "stage": "submit"}
    payment = {"key": "p", "kind": "paymentMethod", "label": "P", "stage": "submit"}
    assert one(billing).status == State.UNMET
    assert one(billing, billing_confirmed=True).status == State.MET
    assert one(payment).status == State.UNMET
    assert one(payment, payment=True).status == State.MET
