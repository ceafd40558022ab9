"""Eligibility criteria: the format, the effective list of an instance, and compiling it (pure).

A criterion is ``{id, description, reason, rule}``: ``rule`` is JsonLogic evaluated against the
rule context (see ``context.py``), ``reason`` the text shown when it fails. An instance's
effective criteria are, in order: the checks derived from its program's ``states`` and
``manufacturerSlugs``, the program's own ``eligibilityCriteria``, then the instance's.

A criterion of ``kind: "async"`` has no rule but an ``endpoint``: the worker asks that HTTPS
endpoint for the answer (``async_checks.py``). Async criteria are never compiled to a
predicate; ``CompiledCriterion.is_async`` tells them apart. Sync criteria are stored without
``kind`` (the default), so their stored JSON is the same as before async criteria existed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from enroll.eligibility.jsonlogic import RuleError, RuleTooComplex, compile_rule, validate_rule
from enroll.errors import RULE_TOO_COMPLEX
from enroll.kit.fields import HttpUrl
from enroll.kit.schemas import ApiModel

CriterionId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", max_length=100)
]
MAX_CRITERIA = 100
Kind = Literal["sync", "async"]
SYNC: Kind = "sync"
ASYNC: Kind = "async"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_DEADLINE_SECONDS = 86_400
MAX_DEADLINE_SECONDS = 30 * 86_400


class Endpoint(ApiModel):
    """Where an asynchronous criterion's answer comes from."""

    url: HttpUrl = Field(
        description="An https:// URL (http:// only where ENROLL_WEBHOOK_ALLOW_PRIVATE is set)."
    )
    timeout_seconds: Annotated[float, Field(ge=1, le=60)] = Field(
        DEFAULT_TIMEOUT_SECONDS, description="How long one call may take."
    )
    deadline_seconds: Annotated[int, Field(ge=1, le=MAX_DEADLINE_SECONDS)] = Field(
        DEFAULT_DEADLINE_SECONDS,
        description="How long after the evaluation an answer may come; then the check is an "
        "error (the enrollment becomes ineligible).",
    )


def _kind_fields(schema: dict[str, Any]) -> None:
    """``_fields_of_its_kind`` as a schema: an async criterion has an endpoint and no rule; a
    sync one (``kind`` left out, or ``sync``) has a rule and no endpoint."""
    endpoint = schema["properties"]["endpoint"]
    endpoint_ref = next(v for v in endpoint.get("anyOf", [endpoint]) if v != {"type": "null"})
    schema["if"] = {"properties": {"kind": {"const": ASYNC}}, "required": ["kind"]}
    schema["then"] = {
        "properties": {"endpoint": endpoint_ref, "rule": False},
        "required": ["endpoint"],
    }
    schema["else"] = {"properties": {"endpoint": False}, "required": ["rule"]}


class Criterion(ApiModel, json_schema_extra=_kind_fields):
    id: CriterionId
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="Shown as eligibilityReason when the criterion fails."
    )
    pass_reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="Shown when the criterion passes, e.g. 'In service territory'."
    )
    kind: Kind = Field(
        SYNC,
        description="sync: `rule` decides at once. async: the worker asks `endpoint`; until it "
        "answers the check is pending.",
    )
    rule: Any = Field(
        None, description="A JsonLogic rule over the rule context (required for sync criteria)."
    )
    endpoint: Endpoint | None = Field(None, description="Async criteria only (required there).")

    @field_validator("rule")
    @classmethod
    def _valid_rule(cls, rule: Any, info: ValidationInfo) -> Any:
        try:
            validate_rule(rule)
        except RuleTooComplex as exc:
            # Its own problem code (rule_too_complex, see errors.py), naming the criterion.
            where = f" (at rule{exc.path})" if exc.path else ""
            raise PydanticCustomError(
                RULE_TOO_COMPLEX,
                "The rule of criterion {criterion} is too complex: {message}{where}.",
                {"criterion": repr(info.data.get("id")), "message": exc.message, "where": where},
            ) from None
        except RuleError as exc:
            where = f"rule{exc.path}" if exc.path else "the rule's root"
            raise ValueError(f"{exc.message} (at {where})") from None
        return rule

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> Criterion:
        sent = self.model_fields_set
        problems: list[tuple[str, str, str]] = []  # (field, error type, message)
        if self.kind == SYNC:
            if "rule" not in sent:
                problems.append(("rule", "missing", "Field required."))
            if "endpoint" in sent:
                problems.append(("endpoint", "kind", "Only async criteria have an endpoint."))
        else:
            if "rule" in sent:
                problems.append(("rule", "kind", "An async criterion has no rule."))
            if self.endpoint is None:
                problems.append(("endpoint", "missing", "Field required."))
        if problems:
            # Errors at the offending field (eligibilityCriteria.N.rule), not at the criterion.
            raise ValidationError.from_exception_data(
                "Criterion",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(kind, message), loc=(field,), input=None
                    )
                    for field, kind, message in problems
                ],
            )
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON kept on the program or instance (and in criteria versions)."""
        stored = self.model_dump(by_alias=True, exclude_none=True)
        if self.kind == SYNC:
            del stored["kind"]  # the default: sync criteria keep their pre-async shape
            stored["rule"] = self.rule  # even null (exclude_none would drop it)
        return stored


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


def checked_rule(rule: Any, name: str) -> Any:
    """``rule`` if it is valid JsonLogic within the limits; else the error a field validator
    raises (rule_too_complex for one past the limits), naming the field ``name``."""
    try:
        validate_rule(rule)
    except RuleTooComplex as exc:
        where = f" (at {name}{exc.path})" if exc.path else ""
        raise PydanticCustomError(
            RULE_TOO_COMPLEX,
            "The {name} is too complex: {message}{where}.",
            {"name": name, "message": exc.message, "where": where},
        ) from None
    except RuleError as exc:
        where = f"{name}{exc.path}" if exc.path else f"the {name}'s root"
        raise ValueError(f"{exc.message} (at {where})") from None
    return rule


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
class AsyncEndpoint:
    url: str
    timeout_seconds: float
    deadline_seconds: int


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    id: str
    description: str | None
    reason: str
    pass_reason: str | None
    # None for an async criterion: it is never compiled, its endpoint answers.
    predicate: Callable[[Any], Any] | None
    endpoint: AsyncEndpoint | None = None

    @property
    def is_async(self) -> bool:
        return self.endpoint is not None

    @property
    def label(self) -> str:
        """What checks show as the description."""
        return self.description or self.id


@dataclass(frozen=True, slots=True)
class CompiledCriteria:
    # Every criterion in evaluation order, async ones included (``is_async``).
    items: tuple[CompiledCriterion, ...]
    # Top-level context keys the sync rules read ("*" when a rule computes its paths).
    roots: frozenset[str]

    def reads(self, key: str) -> bool:
        return key in self.roots or "*" in self.roots

    @property
    def synchronous(self) -> tuple[CompiledCriterion, ...]:
        return tuple(c for c in self.items if not c.is_async)

    @property
    def asynchronous(self) -> tuple[CompiledCriterion, ...]:
        return tuple(c for c in self.items if c.is_async)

    def get(self, criterion_id: str) -> CompiledCriterion | None:
        return next((c for c in self.items if c.id == criterion_id), None)


def is_async(criterion: dict[str, Any]) -> bool:
    """Whether a stored criterion is asynchronous (stored sync criteria carry no ``kind``)."""
    return bool(criterion.get("kind", SYNC) == ASYNC)


_SCOPED = frozenset({"some", "all", "none", "map", "filter", "reduce"})


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
                if op in _SCOPED and isinstance(args, list) and args:
                    # The array (and reduce's initial value) read the context; the logic
                    # runs on each element ({"var": ""} is the element, not the context).
                    stack.append(args[0])
                    stack.extend(args[2:])
                    continue
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


def _compile_one(c: dict[str, Any]) -> CompiledCriterion:
    if is_async(c):
        endpoint = c["endpoint"]
        return CompiledCriterion(
            c["id"],
            c.get("description"),
            c["reason"],
            c.get("passReason"),
            None,
            AsyncEndpoint(
                url=endpoint["url"],
                timeout_seconds=float(endpoint.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)),
                deadline_seconds=int(endpoint.get("deadlineSeconds", DEFAULT_DEADLINE_SECONDS)),
            ),
        )
    return CompiledCriterion(
        c["id"], c.get("description"), c["reason"], c.get("passReason"), compile_rule(c.get("rule"))
    )


@lru_cache(maxsize=512)
def _compile(canonical: bytes) -> CompiledCriteria:
    criteria = orjson.loads(canonical)
    return CompiledCriteria(
        items=tuple(_compile_one(c) for c in criteria),
        roots=frozenset(
            root for c in criteria if not is_async(c) for root in var_roots(c.get("rule"))
        ),
    )


def compile_criteria(criteria: Sequence[dict[str, Any]]) -> CompiledCriteria:
    """Compile once per distinct criteria list (cached by content)."""
    return _compile(orjson.dumps(list(criteria), option=orjson.OPT_SORT_KEYS))
