"""The one interface every storage back end implements.

Keys are relative, ``/``-separated paths of ``[A-Za-z0-9._-]`` segments, none starting with a
dot (``documents/w/d``);
values are bytes. ``put`` replaces an object whole (a reader sees the old bytes or the new,
never a mix); ``delete`` of a missing key is no error; ``list`` is for housekeeping (the
orphan sweeper), with each object's last-modified time. Every failure of the back end raises
``StorageUnavailable``; ``get`` of a missing key raises ``ObjectMissing``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from enroll.storage.errors import InvalidKey

# A segment never starts with a dot: "." and ".." name no object, and the file back end keeps
# its temporary files under dot names.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


def check_key(key: str) -> str:
    """``key`` when it is a relative path of safe segments; ``InvalidKey`` otherwise."""
    segments = key.split("/")
    if not 0 < len(key) <= 1000 or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise InvalidKey(f"not a storage key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key's leading segments followed by ``/``."""
    if prefix and not prefix.endswith("/"):
        raise InvalidKey(f"a prefix ends with '/': {prefix!r}")
    if prefix:
        check_key(prefix.rstrip("/"))
    return prefix


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    modified: datetime  # UTC


class ObjectStorage(ABC):
    """A place for opaque objects by key (documents/<workspace>/<document>)."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the objects are, for logs and messages (no credentials)."""

    @abstractmethod
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any object there, atomically."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectMissing`` when there is none."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""

    @abstractmethod
    def list(self, prefix: str) -> AsyncIterator[StoredObject]:
        """Every object whose key starts with ``prefix`` (``""`` or ending in ``/``), in no
        particular order."""
