"""The event feed's representation."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from enroll.kit.schemas import OutModel


class EventOut(OutModel):
    id: str
    type: str
    version: int
    occurred_at: str
    workspace_id: str | None
    data: dict[str, Any]


class EventFeed(OutModel):
    data: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `after` to continue; stable when empty.")
