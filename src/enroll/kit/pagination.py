"""Page-number and cursor pagination over any select ordered by its id column: the query
parameters, the page on the wire and the cursor (kit/repository.py's ``paginate`` runs the
query).

Page mode answers totals (one COUNT). Cursor mode is keyset on the id, so the millionth row
costs what the first does; every response carries ``nextCursor`` so clients can switch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import Field

from enroll.errors import InvalidCursor
from enroll.kit.schemas import OutModel

T = TypeVar("T")
MAX_PER_PAGE = 100
# A cursor is a keyset position: any string of these characters is one (the id after which the
# page starts), so the schema's pattern says exactly which cursors the server takes.
CURSOR_PATTERN = r"^[A-Za-z0-9]{1,200}$"


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int
    cursor: str | None


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[
        int, Query(alias="perPage", ge=1, le=MAX_PER_PAGE, description="Items per page.")
    ] = 20,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=CURSOR_PATTERN,
            description="Opaque cursor from `nextCursor`; when given, `page` is ignored and "
            "totals are not computed.",
        ),
    ] = None,
) -> PageParams:
    return PageParams(page=page, per_page=per_page, cursor=cursor)


def encode_cursor(last_id: str) -> str:
    return last_id


def decode_cursor(cursor: str) -> str:
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidCursor("The cursor is not one this API issued.")
    return cursor


class Page(OutModel, Generic[T]):
    data: list[T]
    page: int | None = Field(description="Current page (null in cursor mode).")
    per_page: int
    total_items: int | None = Field(description="Matching items (null in cursor mode).")
    total_pages: int | None = Field(description="Pages at this perPage (null in cursor mode).")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next items; null at the end."
    )


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    params: PageParams
    total: int | None
    next_cursor: str | None

    def to_page(self, items: list[Any]) -> Page[Any]:
        p = self.params
        total_pages = None if self.total is None else -(-self.total // p.per_page)
        return Page(
            data=items,
            page=None if p.cursor else p.page,
            per_page=p.per_page,
            total_items=self.total,
            total_pages=total_pages,
            next_cursor=self.next_cursor,
        )
