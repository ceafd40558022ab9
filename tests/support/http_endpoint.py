"""A real HTTP endpoint on 127.0.0.1 for the calls Enroll makes (asynchronous checks, device
commands): it verifies each request's Standard Webhooks signature, records it, and answers as
the test's behaviour says."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from tests.support.server import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    verified: bool
    json: Any = None


# (status, JSON body or raw bytes[, headers]) for one request; may block to play a slow
# endpoint.
Behaviour = Callable[[Received, int], tuple[Any, ...]]


@dataclass
class Route:
    secret: str
    behaviour: Behaviour
    received: list[Received] = field(default_factory=list)


class Checker:
    """Answers POST /<token> with its route's behaviour, after verifying the signature with
    the route's secret (a request that fails verification is answered 401 and recorded)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.routes: dict[str, Route] = {}
        self.lock = threading.Lock()
        checker = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                checker._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/{token}"

    def route(self, secret: str, behaviour: Behaviour, token: str | None = None) -> str:
        token = token or uuid.uuid4().hex[:12]
        self.routes[token] = Route(secret, behaviour)
        return self.url(token)

    def received(self, url: str) -> list[Received]:
        return list(self.routes[url.rsplit("/", 1)[1]].received)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        try:
            length = int(request.headers.get("content-length") or 0)
            body = request.rfile.read(length).decode()
            route = self.routes.get(request.path.lstrip("/"))
            if route is None:
                self._reply(request, 404, {"error": "no such route"})
                return
            headers = {k.lower(): v for k, v in request.headers.items()}
            try:
                Webhook(route.secret).verify(body, headers)
                verified = True
            except Exception:
                verified = False
            seen = Received(request.path, headers, body, verified, json.loads(body))
            with self.lock:
                route.received.append(seen)
                number = len(route.received)
            if not verified:
                self._reply(request, 401, {"error": "bad signature"})
                return
            status, answer, *headers = route.behaviour(seen, number)
            self._reply(request, status, answer, *headers)
        except Exception as exc:  # never let a thread die with an exception (warnings are errors)
            with contextlib.suppress(Exception):
                self._reply(request, 599, {"error": repr(exc)})

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        answer: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        try:
            request.send_response(status)
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.send_header("content-type", "application/json")
            request.send_header("content-length", str(len(raw)))
            request.end_headers()
            request.wfile.write(raw)
        except OSError:
            pass  # the caller gave up (its timeout): nobody reads the answer

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
