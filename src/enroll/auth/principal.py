from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its workspace (None for platform keys) and what it may do."""

    key_id: str
    workspace_id: str | None
    scopes: frozenset[str]
    expires_at: datetime | None

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"

    @property
    def idempotency_scope(self) -> str:
        return self.workspace_id or "platform"
