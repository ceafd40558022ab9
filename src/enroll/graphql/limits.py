"""What one GraphQL document may ask for: depth, aliases, tokens and a cost.

The cost of a document is the number of fields it selects, where a field taking ``first`` (the
connections) or ``limit`` (the event feed) counts its selection as many times as it may return
items: ``enrollments(first: 100) { edges { node { id } } }`` costs 1 + 100 * 3. A variable
counts as the largest value the argument accepts. Documents over a limit are refused before
anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

MAX_DEPTH = 8
MAX_ALIASES = 20
MAX_TOKENS = 3000
MAX_COST = 10_000
# Arguments that multiply their field's selection: (default, largest accepted).
MULTIPLIERS = {"first": (20, 100), "limit": (100, 500)}

TOO_DEEP = "query_too_deep"
TOO_COMPLEX = "query_too_complex"
# Fields whose multiplying argument may be left out (then its default applies).
_ARGUMENTS_OF = {
    "programs": ("first",),
    "programInstances": ("first",),
    "enrollments": ("first",),
    "events": ("limit",),
}


def _multiplier(node: FieldNode) -> int:
    for argument in node.arguments or ():
        bounds = MULTIPLIERS.get(argument.name.value)
        if bounds is None:
            continue
        if isinstance(argument.value, IntValueNode):
            return max(1, min(int(argument.value.value), bounds[1]))
        return bounds[1]  # a variable (or a wrong type, refused elsewhere): the worst case
    for name, (default, _) in MULTIPLIERS.items():
        if name in _ARGUMENTS_OF.get(node.name.value, ()):
            return default
    return 1


def _cost(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str],
) -> int:
    total = 0
    for node in selections.selections if selections else ():
        if isinstance(node, FieldNode):
            inner = _cost(node.selection_set, fragments, seen)
            total += 1 + _multiplier(node) * inner
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # cycles are refused elsewhere
                total += _cost(fragment.selection_set, fragments, seen | {name})
    return total


def cost(document: Any) -> int:
    """The cost of the most expensive operation of a parsed document."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    costs = [
        _cost(d.selection_set, fragments, frozenset())
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    return max(costs, default=0)


class CostLimit(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        spent = cost(context.document)
        if spent > MAX_COST:
            context.report_error(
                GraphQLError(
                    f"The query costs {spent}, more than {MAX_COST}: ask for fewer items "
                    "(first, limit) or fewer fields.",
                    extensions={"code": TOO_COMPLEX},
                )
            )


def extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories: strawberry makes each request its own instances."""
    return [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: AddValidationRules([CostLimit]),
    ]


def limit_code(message: str) -> str | None:
    """The code of a refusal by one of strawberry's limiters, which set none themselves."""
    if "exceeds maximum operation depth" in message:
        return TOO_DEEP
    if "aliases found. Allowed:" in message or "Document contains more than" in message:
        return TOO_COMPLEX
    return None
