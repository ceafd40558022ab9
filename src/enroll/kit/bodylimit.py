"""Refuse request bodies over the limit before any of them is parsed (pure ASGI)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from enroll.errors import PayloadTooLarge, answer


class BodyLimitMiddleware:
    """``max_bytes`` for every route; ``overrides`` give larger limits to paths (uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        overrides: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = tuple(overrides)

    def limit_for(self, path: str) -> int:
        return next((n for pattern, n in self.overrides if pattern.match(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = answer(
            PayloadTooLarge, f"Bodies are limited to {limit} bytes.", instance=scope.get("path")
        )
        await response(scope, receive, send)


class _TooLarge(HTTPException):
    """Raised from ``receive``. An HTTPException, because FastAPI turns any other error met while
    reading the body into a 400; this way a chunked body over the limit still answers 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Request body too large")
