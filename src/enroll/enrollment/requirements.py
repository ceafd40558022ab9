"""Whether an enrollment meets its instance's requirements (docs/requirements.md): pure.

Each declared requirement (program_instance/requirements.py) is judged against ``Facts``: the
requirement context (the rule context of eligibility, plus the applicant's data and household),
the consents given, the documents uploaded, the billing address and payment method. The
result is one state per requirement: ``met``, ``unmet`` or ``not_applicable`` (its ``when``
does not hold). ``pending`` is the state the API reserves for one a third party is still
deciding; no kind here waits so (a payment session alone leaves a payment method unmet).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from enroll.eligibility.jsonlogic import RuleTooCostly, compile_rule, evaluation_budget, truthy


class State(StrEnum):
    MET = "met"
    UNMET = "unmet"
    NOT_APPLICABLE = "not_applicable"
    PENDING = "pending"


DONE = frozenset({State.MET, State.NOT_APPLICABLE})

# Seed 004's income certifications: what proves income that has not decreased since filing,
# and what proves income that has.
TAX_FILINGS = frozenset({"TAX_RETURN", "TAX_TRANSCRIPT"})
CURRENT_INCOME = frozenset({"PAY_STUB", "OFFER_LETTER", "DETERMINATION_SUMMARY"})
INCOME_DOCUMENTS = TAX_FILINGS | CURRENT_INCOME


@dataclass(frozen=True)
class Document:
    owner: str  # "applicant" or a household member's id
    type: str
    issued_at: date | None


@dataclass(frozen=True)
class Consent:
    kind: str
    accepted: bool
    text_version: str | None


@dataclass
class Facts:
    context: dict[str, Any]  # the requirement context (requirement_facts.context)
    today: date
    consents: Sequence[Consent] = ()
    members: Sequence[dict[str, Any]] = ()  # the household, as the context shows them
    documents: Sequence[Document] = ()
    billing_confirmed: bool = False
    payment: bool = False  # a verified payment method is stored
    member_roles: dict[str, str] = field(default_factory=dict)  # member id → role


@dataclass(frozen=True)
class Judgement:
    status: State
    detail: str | None = None


def judge(requirements: Sequence[dict[str, Any]], facts: Facts) -> list[Judgement]:
    """Each requirement's state, in declaration order."""
    with evaluation_budget():  # one budget for all their rules (jsonlogic/_budget.py)
        return [_judge_one(r, facts) for r in requirements]


def _judge_one(requirement: dict[str, Any], facts: Facts) -> Judgement:
    when = requirement.get("when")
    if when is not None:
        holds = _holds(when, facts.context)
        if holds is None:
            return Judgement(State.UNMET, "Its condition (when) could not be evaluated.")
        if not holds:
            return Judgement(State.NOT_APPLICABLE)
    return _KINDS[requirement["kind"]](requirement, facts)


@lru_cache(maxsize=1024)
def _compiled(canonical: bytes) -> Callable[[Any], Any]:
    return compile_rule(orjson.loads(canonical))


def _holds(rule: Any, context: dict[str, Any]) -> bool | None:
    """Whether the rule holds; None when it cannot be evaluated on this data."""
    try:
        return truthy(_compiled(orjson.dumps(rule, option=orjson.OPT_SORT_KEYS))(context))
    except RuleTooCostly:
        return None
    except Exception:  # a rule that fails on this data does not hold, and says so
        return None


def present(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value != [] and value != {}


def lookup(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _field(requirement: dict[str, Any], facts: Facts) -> Judgement:
    missing = [p for p in requirement["paths"] if not present(lookup(facts.context, p))]
    if missing:
        return Judgement(State.UNMET, f"Missing: {', '.join(missing)}.")
    return Judgement(State.MET)


def _rule(requirement: dict[str, Any], facts: Facts) -> Judgement:
    holds = _holds(requirement["rule"], facts.context)
    if holds:
        return Judgement(State.MET)
    reason = requirement.get("reason") or requirement["label"]
    if holds is None:
        return Judgement(State.UNMET, f"{reason} (the rule could not be evaluated).")
    return Judgement(State.UNMET, reason)


def _consent(requirement: dict[str, Any], facts: Facts) -> Judgement:
    kind, version = requirement["consentKind"], requirement.get("textVersion")
    for c in facts.consents:
        if c.kind == kind and c.accepted and (version is None or c.text_version == version):
            return Judgement(State.MET)
    wording = f" to text version {version}" if version else ""
    return Judgement(State.UNMET, f"Needs the applicant's {kind} consent{wording}.")


def _household_member(requirement: dict[str, Any], facts: Facts) -> Judgement:
    role = requirement["role"]
    of_role = [m for m in facts.members if m.get("role") == role]
    if not of_role:
        return Judgement(State.UNMET, f"Add a household member with role {role}.")
    gaps = [[p for p in requirement.get("paths", []) if not present(m.get(p))] for m in of_role]
    if any(not gap for gap in gaps):
        return Judgement(State.MET)
    fewest = min(gaps, key=len)
    return Judgement(State.UNMET, f"The {role} lacks: {', '.join(fewest)}.")


def _document(requirement: dict[str, Any], facts: Facts) -> Judgement:
    owner, types = requirement.get("owner", "applicant"), set(requirement["types"])
    count, max_age = requirement.get("count", 1), requirement.get("maxAgeDays")
    oldest = facts.today - timedelta(days=max_age) if max_age else None
    found = [
        d
        for d in facts.documents
        if d.type in types
        and _owned_by(d.owner, owner, facts)
        and (oldest is None or (d.issued_at is not None and d.issued_at >= oldest))
    ]
    if len(found) >= count:
        return Judgement(State.MET)
    recent = f" issued in the last {max_age} days" if max_age else ""
    whose = "" if owner == "applicant" else f" of the {owner}"
    return Judgement(
        State.UNMET,
        f"Needs {count} {' or '.join(sorted(types))} document(s){whose}{recent}"
        f" ({len(found)} given).",
    )


def _owned_by(document_owner: str, owner: str, facts: Facts) -> bool:
    if owner == "applicant":
        return document_owner == "applicant"
    return facts.member_roles.get(document_owner) == owner


def _billing_address(requirement: dict[str, Any], facts: Facts) -> Judgement:
    if facts.billing_confirmed:
        return Judgement(State.MET)
    return Judgement(State.UNMET, "Confirm the billing address.")


def _payment_method(requirement: dict[str, Any], facts: Facts) -> Judgement:
    if facts.payment:
        return Judgement(State.MET)
    return Judgement(State.UNMET, "Add a payment method.")


def _income_certification(requirement: dict[str, Any], facts: Facts) -> Judgement:
    """Seed 004's table, exactly (docs/requirements.md, "Income certification")."""
    income = facts.context.get("income") or {}
    if income.get("hasTaxableIncome") is None:
        return Judgement(State.UNMET, "Say whether the applicant has taxable income.")
    spouse = _spouse(facts)
    earners = [("applicant", "the applicant", income.get("hasTaxableIncome"), income.get("agi"))]
    if spouse is not None:
        earners.append(
            (spouse["id"], "the spouse", spouse.get("hasTaxableIncome"), spouse.get("agi"))
        )
    if spouse is not None and spouse.get("hasTaxableIncome") is None:
        return Judgement(State.UNMET, "Say whether the spouse has taxable income.")
    income_documents = [d for d in facts.documents if d.type in INCOME_DOCUMENTS]
    if facts.context.get("irsAuthorizedAt") and income_documents:
        return Judgement(State.UNMET, CONFLICT)
    if not any(taxable for _, _, taxable, _ in earners):
        nonzero = [who for _, who, _, agi in earners if agi not in (0, None)]
        if nonzero:
            return Judgement(
                State.UNMET, f"Without taxable income the AGI must be 0 ({', '.join(nonzero)})."
            )
        return Judgement(State.MET, "No taxable income: no certification is needed.")
    if not income.get("decreasedSinceFiling"):
        if facts.context.get("irsAuthorizedAt"):
            return Judgement(State.MET, "The IRS verifies the income (irsAuthorizedAt).")
        if any(d.type in TAX_FILINGS for d in income_documents):
            return Judgement(State.MET)
        return Judgement(
            State.UNMET,
            "Authorise the IRS (irsAuthorizedAt) or upload a TAX_RETURN or TAX_TRANSCRIPT.",
        )
    lacking = [
        who
        for owner, who, taxable, _ in earners
        if taxable
        and not any(d.owner == owner and d.type in CURRENT_INCOME for d in income_documents)
    ]
    if lacking:
        return Judgement(
            State.UNMET,
            "Upload a PAY_STUB, OFFER_LETTER or DETERMINATION_SUMMARY for "
            f"{' and '.join(lacking)}.",
        )
    return Judgement(State.MET)


CONFLICT = "irsAuthorizedAt and an income document exclude each other: remove one of them."


def _spouse(facts: Facts) -> dict[str, Any] | None:
    """The spouse whose income counts: a married applicant's (filing jointly)."""
    if facts.context.get("maritalStatus") != "married":
        return None
    return next((m for m in facts.members if m.get("role") == "spouse"), None)


_KINDS: dict[str, Callable[[dict[str, Any], Facts], Judgement]] = {
    "field": _field,
    "rule": _rule,
    "consent": _consent,
    "householdMember": _household_member,
    "document": _document,
    "incomeCertification": _income_certification,
    "billingAddress": _billing_address,
    "paymentMethod": _payment_method,
}
