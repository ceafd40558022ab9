"""Stripe's side of the tests: localstripe (PyPI) started on a loopback port, the calls a
browser's Stripe.js makes to it, and events signed exactly as Stripe signs them.

Where localstripe differs from Stripe (docs/payments.md): a setup that succeeds does **not**
attach its payment method to the setup's customer (Stripe does), so the tests attach it
explicitly, as Stripe would have; a declined confirmation leaves the setup ``canceled``
without Stripe's ``last_setup_error``; every card is a ``visa``; a missing object is "Not
Found" rather than "No such PaymentMethod".
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port

SECRET_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"
WEBHOOK_SECRET = "whsec_tests"
VISA = "4242424242424242"
DECLINED = "4000000000000002"
AUTHENTICATION_REQUIRED = "4000002500003155"


@dataclass(frozen=True)
class LocalStripe:
    url: str

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)

    def confirm_setup(self, client_secret: str, card_number: str) -> httpx.Response:
        """What Stripe.js's ``confirmSetup`` sends for a card typed into Elements: the
        publishable key and the client secret, never the secret key."""
        setup_id = client_secret.split("_secret_")[0]
        with self._client() as http:
            return http.post(
                f"/v1/setup_intents/{setup_id}/confirm",
                data={
                    "key": PUBLISHABLE_KEY,
                    "client_secret": client_secret,
                    "payment_method_data[type]": "card",
                    "payment_method_data[card][number]": card_number,
                    "payment_method_data[card][exp_month]": "12",
                    "payment_method_data[card][exp_year]": "2031",
                    "payment_method_data[card][cvc]": "123",
                },
            )

    def confirmed_method(self, client_secret: str, card_number: str = VISA) -> str:
        r = self.confirm_setup(client_secret, card_number)
        assert r.status_code == 200, r.text
        method: str = r.json()["payment_method"]
        return method

    def attach(self, payment_method_id: str, customer_id: str) -> None:
        """What Stripe itself does when a setup on a customer succeeds (localstripe does not)."""
        with self._client() as http:
            r = http.post(
                f"/v1/payment_methods/{payment_method_id}/attach",
                data={"customer": customer_id},
                auth=(SECRET_KEY, ""),
            )
        assert r.status_code == 200, r.text

    def get(self, path: str) -> dict[str, Any]:
        with self._client() as http:
            r = http.get(path, auth=(SECRET_KEY, ""))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@contextlib.contextmanager
def run_localstripe(directory: Path) -> Iterator[LocalStripe]:
    """localstripe as a subprocess on a free port, until the block ends."""
    port = free_port()
    exe = Path(sys.executable).parent / "localstripe"
    log = (directory / f"localstripe-{port}.log").open("wb")
    # --from-scratch: never load the state another run left in /tmp/localstripe.pickle.
    proc = subprocess.Popen(
        [str(exe), "--port", str(port), "--from-scratch"],
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=directory,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_until_serving(proc)
        yield LocalStripe(f"http://127.0.0.1:{port}")
    finally:
        with proc:  # closes its stdout pipe once it has exited
            proc.kill()
        log.close()


def _wait_until_serving(proc: subprocess.Popen[bytes]) -> None:
    """Until localstripe says it listens ("Running on …", printed once its socket accepts)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0 and selector.select(left):
            line = proc.stdout.readline()
            if not line:
                break  # it exited
            if b"Running on" in line:
                return
    proc.kill()
    raise RuntimeError(f"localstripe did not start (exit status {proc.poll()})")


def signed(event: dict[str, Any], secret: str, *, at: int | None = None) -> tuple[bytes, str]:
    """An event's body and ``Stripe-Signature`` header, as Stripe makes them:
    ``t=<time>,v1=<hex HMAC-SHA256 of "<time>.<body>" under the endpoint's secret>``."""
    payload = json.dumps(event).encode()
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={t},v1={mac}"


def event(kind: str, obj: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {
        "id": f"evt_{abs(hash((kind, json.dumps(obj)))) % 10**12}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "type": kind,
        "data": {"object": obj, **data},
    }
