"""Collision-resistant ids in the CUID (v1) format of the seeds: ``cllgn0u4r000008l7eazybfbo``.

Layout: ``c`` + timestamp (ms, base36, 8) + counter (4) + host/process fingerprint (4) + random (8).
Ids made in one process sort by creation time, which keeps keyset pagination cheap.
Generation is a handful of integer operations so it never shows up in bulk-insert profiles.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = 36
_PAIR = _BASE**2
_COUNTER_SPACE = _BASE**4
_RANDOM_SPACE = _BASE**8
# Every two-character base36 string, so a 4- or 8-character block is 2 or 4 lookups.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def _base36(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, _BASE)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _fingerprint() -> str:
    pid = _base36(os.getpid() % _PAIR, 2)
    host = sum(ord(c) for c in socket.gethostname()) + _BASE
    return pid + _base36(host % _PAIR, 2)


class _CuidGenerator:
    def __init__(self) -> None:
        self._pid = os.getpid()
        # Seeded from the OS; like CUID v1 itself, ids are unique, not secret.
        self._random = random.Random(secrets.randbits(128))
        self._counter = self._random.randrange(_COUNTER_SPACE)
        self._fingerprint = _fingerprint()
        self._millis = -1
        self._prefix = ""

    def __call__(self) -> str:
        if os.getpid() != self._pid:  # forked: a new process needs its own fingerprint
            self.__init__()  # type: ignore[misc]
        millis = time.time_ns() // 1_000_000
        if millis != self._millis:
            self._millis = millis
            self._prefix = "c" + _base36(millis, 8)
        self._counter = counter = (self._counter + 1) % _COUNTER_SPACE
        rnd = self._random.getrandbits(42) % _RANDOM_SPACE
        r1, r2 = divmod(rnd, _PAIR * _PAIR)
        pairs = _PAIRS
        return (
            self._prefix
            + pairs[counter // _PAIR]
            + pairs[counter % _PAIR]
            + self._fingerprint
            + pairs[r1 // _PAIR]
            + pairs[r1 % _PAIR]
            + pairs[r2 // _PAIR]
            + pairs[r2 % _PAIR]
        )


new_id = _CuidGenerator()


def is_cuid(value: str) -> bool:
    return len(value) == 25 and value[0] == "c" and all(ch in _ALPHABET for ch in value)
