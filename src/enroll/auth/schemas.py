from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from enroll.auth.scopes import Scope
from enroll.kit.fields import Name, Timestamp
from enroll.kit.schemas import ApiModel, OutModel
from enroll.models import ApiKey


class ApiKeyCreate(ApiModel):
    name: Name
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]
    expires_at: Timestamp | None = None


class ApiKeyOut(OutModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyOut:
        return cls(
            id=k.id,
            name=k.name,
            prefix=k.prefix,
            scopes=k.scopes,
            expires_at=k.expires_at,
            revoked_at=k.revoked_at,
            last_used_at=k.last_used_at,
            created_at=k.created_at,
        )


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="The key itself (`enr_…`). Shown only in this response.")
