"""The generic part of a repository: the tenant filter written once, and the fast inserts.

Every workspace-owned query starts from ``readable(workspace_id)``, so another workspace's id
reads exactly like a missing one (404). A domain's ``repository.py`` holds one instance per
model and adds its own queries on top::

    customers = WorkspaceRepository(Customer, not_found="No customer {id!r}.")
    await customers.get(session, workspace_id=w, id=customer_id)       # None when not there
    await customers.require(session, workspace_id=w, id=customer_id)   # NotFound (404) then
    customers.search(w, email=email)          # a Select, for ``paginate`` (below)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import Insert, Select, Table, func, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from enroll.errors import NotFound
from enroll.kit.pagination import PageParams, PageResult, decode_cursor, encode_cursor

M = TypeVar("M", bound=DeclarativeBase)


class WorkspaceRepository(Generic[M]):
    def __init__(self, model: type[M], *, not_found: str = "No such resource.") -> None:
        """``not_found``: the detail of ``require``'s 404, ``{id!r}`` standing for the id."""
        self.model = model
        self.not_found = not_found
        # Every workspace-owned model has these two columns (an AttributeError here, at import).
        self.id: InstrumentedAttribute[str] = getattr(model, "id")  # noqa: B009
        self.workspace_id: InstrumentedAttribute[str | None] = getattr(model, "workspace_id")  # noqa: B009

    def readable(self, workspace_id: str) -> Select[M]:
        """Every row of the workspace: the statement each query of the model starts from."""
        return select(self.model).where(self.workspace_id == workspace_id)

    async def get(
        self, session: AsyncSession, *, workspace_id: str, id: str, for_update: bool = False
    ) -> M | None:
        """``for_update``: the row locked (PostgreSQL) and read again, even when the session
        holds it already (populate_existing), so concurrent writers take turns."""
        stmt = self.readable(workspace_id).where(self.id == id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return await session.scalar(stmt)

    async def require(
        self, session: AsyncSession, *, workspace_id: str, id: str, for_update: bool = False
    ) -> M:
        """``get``, or 404 ``not_found`` when the workspace has no such row."""
        found = await self.get(session, workspace_id=workspace_id, id=id, for_update=for_update)
        if found is None:
            raise NotFound(self.not_found.format(id=id))
        return found

    async def many(
        self, session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
    ) -> list[M]:
        """The workspace's rows among ``ids`` (a data loader's batch), in no order."""
        rows = await session.scalars(self.readable(workspace_id).where(self.id.in_(ids)))
        return list(rows.all())

    def search(self, workspace_id: str, **equal: Any) -> Select[M]:
        """The workspace's rows whose columns equal the given values; None or an empty text
        filters nothing (an optional query parameter left out or sent empty)."""
        stmt = self.readable(workspace_id)
        for column, value in equal.items():
            if value is not None and value != "":
                stmt = stmt.where(getattr(self.model, column) == value)
        return stmt


# --- inserting without the ORM's unit of work, for the hottest write paths --------------------
# (enrollment.repository.insert, customer.repository.insert_unless_known)


@cache
def _columns(model: type[DeclarativeBase]) -> tuple[Table, tuple[tuple[str, str, Any], ...]]:
    """(attribute, column, scalar default or None) for every mapped column."""
    mapper = inspect(model)
    table = mapper.local_table
    pairs = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if getattr(column, "table", None) is not table:
            continue  # a read-only column_property() (a subquery), not a column to write
        default = column.default
        scalar = default.arg if default is not None and default.is_scalar else None
        pairs.append((attr.key, column.name, scalar))
    return mapper.local_table, tuple(pairs)  # type: ignore[return-value]


def _row(obj: DeclarativeBase) -> tuple[Table, dict[str, Any]]:
    table, pairs = _columns(type(obj))
    row = {}
    for key, column, default in pairs:
        value = getattr(obj, key)
        row[column] = default if value is None and default is not None else value
    return table, row


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


async def insert_new(session: AsyncSession, obj: DeclarativeBase) -> None:
    """INSERT ``obj`` as it is, in one statement; it stays transient (not in the session).

    Every column must already hold its final value (ids, timestamps, version): no Python-side
    default runs but a column's constant one (``default=False``) for an attribute left unset.
    Use it for rows the request creates and does not change again.
    """
    table, row = _row(obj)
    await session.execute(_insert(table), row)


@cache
def _insert_unless_exists(table: Table, unique: tuple[str, ...], dialect: str) -> Insert:
    # Built once: the row goes in as parameters, not .values(), so no per-request bind
    # parameters and cache keys are made (that cost ~10% of a create's CPU).
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )


async def insert_unless_exists(
    session: AsyncSession, obj: DeclarativeBase, *, unique: Sequence[str]
) -> bool:
    """Like ``insert_new``, but a row already holding ``unique``'s values wins: nothing is
    written and False comes back. One statement either way, and safe under concurrency."""
    table, row = _row(obj)
    stmt = _insert_unless_exists(table, tuple(unique), session.get_bind().dialect.name)
    return (await session.execute(stmt, row)).first() is not None


# --- pages ------------------------------------------------------------------------------------


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    id_column: InstrumentedAttribute[str],
) -> PageResult[Any]:
    total: int | None = None
    if params.cursor is not None:
        stmt = stmt.where(id_column > decode_cursor(params.cursor))
    else:
        count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = (await session.execute(count_stmt)).scalar_one()
        stmt = stmt.offset((params.page - 1) * params.per_page)
    rows = list((await session.scalars(stmt.order_by(id_column).limit(params.per_page + 1))).all())
    next_cursor = None
    if len(rows) > params.per_page:
        rows = rows[: params.per_page]
        next_cursor = encode_cursor(getattr(rows[-1], id_column.key))
    return PageResult(items=rows, params=params, total=total, next_cursor=next_cursor)
