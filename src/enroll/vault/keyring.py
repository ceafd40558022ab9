"""The data keys and the sealed form of a value.

A key ring holds every data key the service can still read, by id; the first is the active one,
which seals new values. ``ENROLL_DATA_KEY`` lists them, newest first: ``id:base64url(32 bytes)``,
comma-separated. A rotation puts a new key first; ``enroll keys rotate`` re-seals what an older
key sealed, after which the old key can leave the list.

A sealed value names its key, so any key of the ring opens it:

- bytes (document contents): ``EV1`` + the key id's length (1 byte) + key id + a 12-byte nonce
  + the AES-256-GCM ciphertext and tag;
- text (a tax id in a column): ``ev1:<key id>:<base64url of nonce + ciphertext and tag>``.

The associated data (``aad``) names what the value is (``customer.tax_id``), so a sealed value
copied into another column does not open there.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BINARY_MAGIC = b"EV1"
TEXT_PREFIX = "ev1:"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class KeyRingError(ValueError):
    """A data key setting that cannot be used, said without the keys themselves."""


class SealedValueError(ValueError):
    """A sealed value that no key of the ring opens (unknown key id, tampered, not sealed)."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key_spec(key_id: str) -> str:
    """A fresh ``id:key`` entry for ``ENROLL_DATA_KEY``."""
    if not KEY_ID.fullmatch(key_id):
        raise KeyRingError("a key id is 1-32 letters, digits, '-' or '_'")
    return f"{key_id}:{_b64encode(AESGCM.generate_key(bit_length=256))}"


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, AESGCM]
    active: str

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys: dict[str, AESGCM] = {}
        order: list[str] = []
        for n, entry in enumerate(p.strip() for p in spec.split(",") if p.strip()):
            key_id, sep, encoded = entry.partition(":")
            if not sep or not KEY_ID.fullmatch(key_id):
                raise KeyRingError(
                    f"entry {n + 1}: write id:base64url-key (id: 1-32 of A-Z a-z 0-9 - _)"
                )
            try:
                raw = _b64decode(encoded)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != KEY_BYTES:
                raise KeyRingError(f"key {key_id!r}: give 32 bytes, base64url-encoded")
            if key_id in keys:
                raise KeyRingError(f"key id {key_id!r} appears twice")
            keys[key_id] = AESGCM(raw)
            order.append(key_id)
        if not order:
            raise KeyRingError("no data key given")
        return cls(keys=keys, active=order[0])

    # bytes --------------------------------------------------------------------------------
    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        kid = self.active.encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        body = self.keys[self.active].encrypt(nonce, plaintext, aad)
        return BINARY_MAGIC + bytes([len(kid)]) + kid + nonce + body

    def open(self, sealed: bytes, *, aad: bytes) -> bytes:
        kid = sealed_key_id(sealed)
        start = len(BINARY_MAGIC) + 1 + len(kid)
        return self._open(kid, sealed[start:], aad)

    # text ---------------------------------------------------------------------------------
    def seal_text(self, plaintext: str, *, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        body = self.keys[self.active].encrypt(nonce, plaintext.encode("utf-8"), aad)
        return f"{TEXT_PREFIX}{self.active}:{_b64encode(nonce + body)}"

    def open_text(self, sealed: str, *, aad: bytes) -> str:
        kid = sealed_text_key_id(sealed)
        try:
            blob = _b64decode(sealed[len(TEXT_PREFIX) + len(kid) + 1 :])
        except (binascii.Error, ValueError) as exc:
            raise SealedValueError("not a sealed value") from exc
        return self._open(kid, blob, aad).decode("utf-8")

    def reseal_text(self, sealed: str, *, aad: bytes) -> str:
        return self.seal_text(self.open_text(sealed, aad=aad), aad=aad)

    def _open(self, kid: str, blob: bytes, aad: bytes) -> bytes:
        key = self.keys.get(kid)
        if key is None:
            raise SealedValueError(
                f"sealed under key {kid!r}, which ENROLL_DATA_KEY no longer holds"
            )
        try:
            return key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError) as exc:
            raise SealedValueError(
                "the sealed value does not open: altered or another value's"
            ) from exc


def sealed_key_id(sealed: bytes) -> str:
    if not sealed.startswith(BINARY_MAGIC) or len(sealed) < len(BINARY_MAGIC) + 1:
        raise SealedValueError("not a sealed value")
    n = sealed[len(BINARY_MAGIC)]
    return sealed[len(BINARY_MAGIC) + 1 : len(BINARY_MAGIC) + 1 + n].decode("ascii", "replace")


def sealed_text_key_id(sealed: str) -> str:
    if not sealed.startswith(TEXT_PREFIX):
        raise SealedValueError("not a sealed value")
    kid, sep, _ = sealed[len(TEXT_PREFIX) :].partition(":")
    if not sep:
        raise SealedValueError("not a sealed value")
    return kid
