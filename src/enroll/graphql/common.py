"""What the root fields share: ids from the request, connections, and running a mutation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.errors import FieldError, NotFound
from enroll.graphql import repository
from enroll.graphql.context import GraphQLContext, info_context
from enroll.graphql.inputs import check_range, check_text, invalid
from enroll.graphql.types import Connection, Edge, PageInfo
from enroll.kit.pagination import MAX_PER_PAGE, decode_cursor, encode_cursor

T = TypeVar("T")
N = TypeVar("N")
Info = strawberry.Info[GraphQLContext, None]


def ref(value: str) -> str:
    """An id from the request; NUL can name nothing (REST answers 404 for it in a path)."""
    if "\x00" in value:
        raise NotFound("No such resource.")
    return value


def id_or_slug(id: str | None, slug: str | None) -> str:
    if (id is None) == (slug is None):
        raise invalid(
            [FieldError(field="id", message="Give exactly one of id or slug.")],
        )
    return ref(id if id is not None else slug or "")


async def connection(
    ctx: GraphQLContext,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[str],
    convert: Callable[[Any], N],
    *,
    first: int,
    after: str | None,
) -> Connection[N]:
    check_range("first", first, low=1, high=MAX_PER_PAGE)
    check_text("after", after, max_length=200)
    after_id = decode_cursor(after) if after is not None else None  # 422 invalid_cursor
    async with ctx.use() as session:
        rows, more = await repository.keyset_page(
            session, stmt, id_column, first=first, after_id=after_id
        )
        # The keyset column's value (the id, or another unique key such as a reading's period)
        edges = [
            Edge(cursor=encode_cursor(getattr(row, id_column.key)), node=convert(row))
            for row in rows
        ]

    async def count() -> int:
        async with ctx.use() as session:
            return await repository.count(session, stmt)

    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        count=count,
    )


async def mutate(
    info: Info,
    scope: Scope,
    work: Callable[[AsyncSession, Principal], Awaitable[T]],
    *,
    workspace: bool = True,
) -> T:
    ctx = info_context(info)

    async def run(session: AsyncSession) -> T:
        return await work(session, await ctx.principal(scope, workspace=workspace))

    return await ctx.mutate(run)
