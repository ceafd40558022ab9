from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.event import service
from enroll.event.schemas import EventFeed, EventOut

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=TransactionalRoute)


@router.get("")
async def list_events(
    session: Annotated[AsyncSession, Depends(get_session)],
    principal: Annotated[Principal, require(Scope.EVENTS_READ)],
    after: Annotated[
        str | None, Query(pattern=service.CURSOR_PATTERN, description="Cursor from nextCursor.")
    ] = None,
    type: Annotated[str | None, Query(max_length=80, description="Only this event type.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventFeed:
    """The workspace's events in commit order. Poll with `after` to follow the feed."""
    rows, cursor = await service.feed(
        session, workspace_id=workspace_id_of(principal), after=after, type_=type, limit=limit
    )
    return EventFeed(data=[EventOut(**service.envelope(e)) for e in rows], next_cursor=cursor)
