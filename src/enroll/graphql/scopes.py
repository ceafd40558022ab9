"""Scopes checked before a mutation runs.

Each field declares what its resolver checks (``Needs`` in fields.py). A query checks them
field by field as it resolves: a field the key may not read is null with its error, the rest
is answered. A mutation cannot work that way: by the time a nested field such as
``createEnrollment { customer { id } }`` is refused, the enrollment exists and is committed,
and a refused non-null field makes ``data`` null, which says nothing happened. So before any
mutation runs, the whole selection (fragments too) is walked against the declarations and
the operation is refused with ``insufficient_scope`` (or ``unauthorized``) unless the key
holds everything it selects; nothing runs then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from enroll.errors import Forbidden, ProblemError
from enroll.graphql.context import GraphQLContext
from enroll.graphql.fields import NEEDS, Needs

_DEFINITION = "strawberry-definition"  # where strawberry keeps its field on graphql-core's


@dataclass(frozen=True)
class Selected:
    path: str  # createEnrollment.customer
    needs: Needs


def selected_needs(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> list[Selected]:
    """Every field ``operation`` selects that declares needs, with its path (fragments
    followed once per type condition; ``@skip``/``@include`` not read: the worst case)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    if root is None:
        return []
    found: list[Selected] = []
    seen: set[str] = set()
    stack: list[tuple[GraphQLNamedType, SelectionSetNode, str]] = [
        (root, operation.selection_set, "")
    ]
    while stack:
        parent, selections, prefix = stack.pop()
        for node in selections.selections:
            if isinstance(node, FieldNode):
                fields = (
                    parent.fields
                    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                    else {}
                )
                definition = fields.get(node.name.value)
                if definition is None:  # __typename (unknown fields fail validation)
                    continue
                path = f"{prefix}{node.name.value}"
                strawberry_field = definition.extensions.get(_DEFINITION)
                needs = getattr(strawberry_field, "metadata", {}).get(NEEDS)
                if isinstance(needs, Needs):
                    found.append(Selected(path, needs))
                if node.selection_set is not None:
                    inner = get_named_type(definition.type)
                    stack.append((inner, node.selection_set, f"{path}."))
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner_type = schema.get_type(condition.name.value) if condition else parent
                if inner_type is not None:
                    stack.append((inner_type, node.selection_set, prefix))
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    continue
                seen.add(name)
                fragment_type = schema.get_type(fragment.type_condition.name.value)
                if fragment_type is not None:
                    stack.append((fragment_type, fragment.selection_set, prefix))
    return found


async def refusal(context: GraphQLContext, selected: list[Selected]) -> ProblemError | None:
    """Why the key may not run an operation selecting ``selected``, or None."""
    try:
        principal = await context.principal(workspace=False)
    except ProblemError as exc:
        return exc
    if principal.workspace_id is None and any(s.needs.workspace for s in selected):
        return Forbidden(
            "This operation needs a workspace key; platform keys manage programs only."
        )
    missing: dict[str, list[str]] = {}
    for item in selected:
        for scope in item.needs.scopes:
            if scope.value not in principal.scopes:
                missing.setdefault(scope.value, []).append(item.path)
    if not missing:
        return None
    lacking = "; ".join(f"{scope} (for {', '.join(paths)})" for scope, paths in missing.items())
    return Forbidden(f"This operation requires the scope {lacking}. Nothing was run.")


class ScopesFirst(SchemaExtension):
    """Refuses a mutation whose selection the key may not wholly run, before it runs."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is not None and isinstance(ec.context, GraphQLContext):
            operation = get_operation_ast(document, ec.operation_name)
            if operation is not None and operation.operation is OperationType.MUTATION:
                schema = ec.schema._schema
                problem = await refusal(ec.context, selected_needs(schema, document, operation))
                if problem is not None:
                    error = GraphQLError(str(problem), original_error=problem)
                    ec.result = ExecutionResult(data=None, errors=[error])
        yield
