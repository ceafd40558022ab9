"""Issuing, authenticating and revoking keys."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth import repository
from enroll.auth.errors import ScopeEscalation
from enroll.auth.keys import generate_secret, hash_secret, visible_prefix
from enroll.auth.principal import Principal
from enroll.db import after_commit
from enroll.errors import Unauthorized
from enroll.models import ApiKey


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str


async def issue_key(
    session: AsyncSession,
    *,
    workspace_id: str | None,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> IssuedKey:
    secret = generate_secret()
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=visible_prefix(secret),
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, secret=secret)


async def issue_scoped_key(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> IssuedKey:
    """A key may hand out only scopes it holds itself."""
    missing = sorted(set(scopes) - principal.scopes)
    if missing:
        raise ScopeEscalation(
            f"A key cannot grant scopes it does not hold: {', '.join(missing)}.",
        )
    return await issue_key(
        session,
        workspace_id=principal.workspace_id,
        name=name,
        scopes=scopes,
        expires_at=expires_at,
    )


async def revoke_key(
    session: AsyncSession, *, workspace_id: str, key_id: str, now: datetime, cache: KeyCache
) -> ApiKey:
    key = await repository.keys.require(session, workspace_id=workspace_id, id=key_id)
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    # After the commit: a request between now and then would re-cache the still-valid row.
    secret_hash = key.secret_hash
    after_commit(session, lambda: cache.forget(secret_hash))
    return key


class KeyCache:
    """Authenticated keys trusted for a few seconds, so a request costs no key lookup.

    ``last_used_at`` is written at most once per cache refresh, not on every request.
    """

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, secret_hash: str) -> Principal | None:
        entry = self._entries.get(secret_hash)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, secret_hash: str, principal: Principal) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[secret_hash] = (time.monotonic(), principal)

    def forget(self, secret_hash: str) -> None:
        self._entries.pop(secret_hash, None)


async def load_principal(session: AsyncSession, *, secret_hash: str, now: datetime) -> Principal:
    key = await repository.get_by_hash(session, secret_hash)
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key is not valid.")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("The API key has expired.")
    return Principal(
        key_id=key.id,
        workspace_id=key.workspace_id,
        scopes=frozenset(key.scopes),
        expires_at=key.expires_at,
    )
