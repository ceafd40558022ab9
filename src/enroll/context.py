"""What one running process shares: settings, the database, the clock, caches, the data keys,
the document storage and the payment provider."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from enroll.auth.service import KeyCache
from enroll.config import Settings
from enroll.db import Database
from enroll.gateway import PaymentGateway, SandboxGateway, gateway_from_settings
from enroll.kit.clock import Clock, system_clock
from enroll.storage.base import ObjectStorage
from enroll.storage.setup import storage_from_settings
from enroll.vault.keyring import KeyRing
from enroll.vault.setup import keyring_from_settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock = system_clock
    key_cache: KeyCache = field(default_factory=lambda: KeyCache(10.0))
    vault: KeyRing = field(default=None)  # type: ignore[assignment]  # from settings below
    # The payment provider (ENROLL_PAYMENT_PROVIDER): routes reach it as ``ctx.gateway``.
    gateway: PaymentGateway = field(default_factory=SandboxGateway)
    storage: ObjectStorage = field(default=None)  # type: ignore[assignment]  # from settings
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        return cls(
            settings=settings,
            db=Database(settings.database_url, pool_size=settings.db_pool_size),
            key_cache=KeyCache(settings.auth_cache_seconds),
            gateway=gateway_from_settings(settings),
        )

    def __post_init__(self) -> None:
        if self.vault is None:
            self.vault = keyring_from_settings(self.settings)
        if self.storage is None:
            self.storage = storage_from_settings(self.settings)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Fire-and-forget housekeeping that must not delay the response."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
