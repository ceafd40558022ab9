"""Eligibility criteria: the format, the effective list of an instance, and compiling it (pure).

A criterion is ``{id, description, reason, rule}``: ``rule`` is JsonLogic evaluated against the
rule context (see ``context.py``), ``reason`` the text shown when it fails. An instance's
effective criteria are, in order: the checks derived from its program's ``states`` and
``manufacturerSlugs``, the program's own ``eligibilityCriteria``, then the instance's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import orjson
from pydantic import Field, StringConstraints, field_validator

from enroll.eligibility.jsonlogic import RuleError, compile_rule, validate_rule
from enroll.kit.schemas import ApiModel

CriterionId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", max_length=100)
]
MAX_CRITERIA = 100


class Criterion(ApiModel):
    id: CriterionId
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="Shown as eligibilityReason when the criterion fails."
    )
    pass_reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="Shown when the criterion passes, e.g. 'In service territory'."
    )
    rule: Any = Field(description="A JsonLogic rule over the rule context.")

    @field_validator("rule")
    @classmethod
    def _valid_rule(cls, rule: Any) -> Any:
        try:
            validate_rule(rule)
        except RuleError as exc:
            where = f"rule{exc.path}" if exc.path else "the rule's root"
            raise ValueError(f"{exc.message} (at {where})") from None
        return rule


def _unique_ids(criteria: list[Criterion]) -> list[Criterion]:
    seen: set[str] = set()
    for criterion in criteria:
        if criterion.id in seen:
            raise ValueError(f"criterion id {criterion.id!r} appears twice")
        seen.add(criterion.id)
    return criteria


CriteriaList = Annotated[
    list[Criterion],
    Field(max_length=MAX_CRITERIA, description="JsonLogic eligibility criteria."),
]


def check_unique(criteria: list[Criterion] | None) -> list[Criterion] | None:
    return None if criteria is None else _unique_ids(criteria)


def derived_criteria(
    *, states: Sequence[str], manufacturer_slugs: Sequence[str]
) -> list[dict[str, Any]]:
    """The program's geographic and equipment requirements, as ordinary criteria."""
    derived: list[dict[str, Any]] = []
    if states:
        derived.append(
            {
                "id": "service-area",
                "description": "Address within the program's service area",
                "reason": "Outside service area",
                "passReason": "In service territory",
                "rule": {"in": [{"var": "address.state"}, sorted({s.upper() for s in states})]},
                "source": "program",
            }
        )
    if manufacturer_slugs:
        makers = sorted({m.lower() for m in manufacturer_slugs})
        derived.append(
            {
                "id": "equipment",
                "description": "Owns equipment from a supported manufacturer",
                "reason": "Incompatible equipment",
                "passReason": "Has supported equipment",
                "rule": {"some": [{"var": "manufacturerSlugs"}, {"in": [{"var": ""}, makers]}]},
                "source": "program",
            }
        )
    return derived


def effective_criteria(
    *,
    states: Sequence[str],
    manufacturer_slugs: Sequence[str],
    program_criteria: Sequence[dict[str, Any]],
    instance_criteria: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Everything an instance checks, in evaluation order, each marked with its source."""
    return (
        derived_criteria(states=states, manufacturer_slugs=manufacturer_slugs)
        + [{**c, "source": "program"} for c in program_criteria]
        + [{**c, "source": "instance"} for c in instance_criteria]
    )


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    id: str
    description: str | None
    reason: str
    pass_reason: str | None
    predicate: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class CompiledCriteria:
    items: tuple[CompiledCriterion, ...]
    # Top-level context keys the rules read ("*" when a rule computes its paths).
    roots: frozenset[str]

    def reads(self, key: str) -> bool:
        return key in self.roots or "*" in self.roots


def var_roots(rule: Any) -> set[str]:
    """The first segment of every data path ``rule`` reads (var, missing, missing_some)."""
    roots: set[str] = set()
    stack = [rule]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for op, args in node.items():
                if op in ("var", "missing", "missing_some"):
                    names = args if isinstance(args, list) else [args]
                    if op == "var":
                        names = names[:1]
                    elif op == "missing_some":
                        names = names[1] if len(names) > 1 and isinstance(names[1], list) else ["*"]
                    for name in names:
                        if isinstance(name, str | int | float) and not isinstance(name, bool):
                            roots.add(str(name).split(".")[0] or "*")
                        else:
                            roots.add("*")
                            stack.append(name)
                stack.append(args)
    return roots


@lru_cache(maxsize=512)
def _compile(canonical: bytes) -> CompiledCriteria:
    criteria = orjson.loads(canonical)
    return CompiledCriteria(
        items=tuple(
            CompiledCriterion(
                c["id"],
                c.get("description"),
                c["reason"],
                c.get("passReason"),
                compile_rule(c["rule"]),
            )
            for c in criteria
        ),
        roots=frozenset(root for c in criteria for root in var_roots(c["rule"])),
    )


def compile_criteria(criteria: Sequence[dict[str, Any]]) -> CompiledCriteria:
    """Compile once per distinct criteria list (cached by content)."""
    return _compile(orjson.dumps(list(criteria), option=orjson.OPT_SORT_KEYS))
