"""``/graphql``: strawberry's FastAPI router, with the request's transaction and REST's errors.

One operation runs in one transaction (see context.py), ended here once the operation has
run: a mutation that failed rolls the whole request back and the answer's ``data`` is null
(nothing it reported happened); otherwise it commits before the response is sent, so a failed
commit is an error in the answer rather than a success that was lost (api/routing.py does the
same for REST). Transport errors (a body that is not JSON, a mutation sent with GET) are
problem documents like REST's.

A mutation sent with ``Idempotency-Key`` runs under the key as a REST POST does
(idempotency/service.py): its answer is stored in the operation's transaction, a repeat is
answered with it, and the key's refusals (reused, in use, malformed) are problem documents,
since the key is an HTTP header rather than part of the operation. Queries ignore the key.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.requests import Request
from starlette.responses import Response
from strawberry import UNSET
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from enroll.errors import (
    BadRequest,
    FieldError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    ProblemError,
    problem_response,
)
from enroll.graphql.context import GraphQLContext, get_context
from enroll.graphql.errors import format_error, log_unexpected
from enroll.graphql.inputs import invalid
from enroll.graphql.limits import MAX_TOKENS
from enroll.graphql.schema import schema
from enroll.idempotency import service as idempotency
from enroll.kit.schemas import LONE_SURROGATE, has_lone_surrogate

PATH = "/graphql"
_TRANSPORT: dict[int, type[ProblemError]] = {404: NotFound, 405: MethodNotAllowed}


class _Answered(Exception):
    """Answers the request with ``response`` instead of running it (a stored answer)."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


class EnrollGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    def decode_json(self, data: str | bytes) -> object:
        """Python's parser recurses: a body nested deeper than the stack is malformed too."""
        try:
            return json.loads(data)
        except RecursionError:
            raise HTTPException(
                400, "Unable to parse request body as JSON: it nests too deeply."
            ) from None

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: GraphQLContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        refused = unstorable_variables(request_data.variables)
        if refused is not None:
            return ExecutionResult(data=None, errors=[refused])
        guard = await idempotency_guard(request, context, request_data)
        async with guard:  # leaving it without complete() (data null, an error) releases the key
            try:
                result = await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
            except BaseException:
                await context.finish(commit=False)
                raise
            if context.mutation_failed:
                await context.finish(commit=False)
                return ExecutionResult(
                    data=None, errors=result.errors, extensions=result.extensions
                )
            if guard.claimed and result.data is not None:
                # The answer as it will be sent, stored in the transaction of the changes.
                answer = self.create_response(
                    await self.process_result(request, result), sub_response
                )
                async with context.use(write=True) as session:
                    await guard.complete(session, answer)
            try:
                await context.finish(commit=True)
            except (ProblemError, StaleDataError, IntegrityError) as exc:
                await guard.release()  # the stored answer was rolled back with the changes
                failed = GraphQLError(str(exc), original_error=exc)
                log_unexpected([failed])
                return ExecutionResult(
                    data=None, errors=[*(result.errors or []), failed], extensions=result.extensions
                )
            return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            response["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            response["extensions"] = result.extensions
        return response

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except _Answered as answered:
            return answered.response
        except HTTPException as exc:
            problem = _TRANSPORT.get(exc.status_code, BadRequest)
            if "parse request body as JSON" in exc.reason:
                problem = MalformedJson
            return problem_response(
                status=exc.status_code,
                code=problem.code,
                title=problem.title,
                detail=exc.reason,
                instance=PATH,
            )


async def idempotency_guard(
    request: Request, context: GraphQLContext, data: GraphQLRequestData
) -> idempotency.Guard:
    """The guard a POSTed mutation with ``Idempotency-Key`` runs under, in the caller's
    ``idempotency_scope`` and fingerprinted by the body (query, variables, operationName) as
    REST fingerprints a POST; raises ``_Answered`` with the first answer on a repeat. Anything
    else runs unguarded: queries, and what will be refused before it runs (no valid key, a
    document that does not parse), since that changes nothing."""
    key = request.headers.get("idempotency-key")
    if key is None or request.method != "POST" or not _is_mutation(data):
        return idempotency.Guard(context.app.db, None)
    try:
        principal = await context.principal(workspace=False)
    except ProblemError:
        return idempotency.Guard(context.app.db, None)  # every field answers unauthorized
    outcome = await idempotency.begin(
        context.app,
        scope=principal.idempotency_scope,
        key=key,
        fingerprint=idempotency.fingerprint(
            request.method, request.url.path, request.url.query, await request.body()
        ),
    )
    if isinstance(outcome, Response):
        raise _Answered(outcome)
    return outcome


def _is_mutation(data: GraphQLRequestData) -> bool:
    if not isinstance(data.query, str):
        return False
    try:
        document = parse(data.query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False  # refused when it runs
    operation = get_operation_ast(document, data.operation_name)
    return operation is not None and operation.operation == OperationType.MUTATION


def unstorable_variables(variables: dict[str, Any] | None) -> GraphQLError | None:
    """Variables holding a lone surrogate (the JSON escape ``"\\ud800"``: no character, it
    cannot be stored, compared or even written back as UTF-8) are refused before anything
    runs, naming each; a literal in the document is already a syntax error."""
    names = sorted(
        "variables" if has_lone_surrogate(n) else n
        for n, v in (variables or {}).items()
        if has_lone_surrogate(n) or has_lone_surrogate(v)
    )
    if not names:
        return None
    errors = [FieldError(field=n, message=LONE_SURROGATE) for n in names]
    return GraphQLError("Variables failed validation.", original_error=invalid(errors))


def create_graphql_router() -> GraphQLRouter[GraphQLContext, None]:
    """The router to mount: POST (and GET for queries) at /graphql, GraphiQL for browsers.
    Left out of the OpenAPI document."""
    return EnrollGraphQLRouter(
        schema,
        path=PATH,
        context_getter=get_context,
        subscription_protocols=(),
        include_in_schema=False,
    )


__all__ = ["PATH", "create_graphql_router"]
