"""Objects as files under a root directory (``file:///abs/path``).

A write goes to a temporary file beside its target (a dot name, which no key has), is flushed
to disk, then renamed over the target: a reader sees the old object or the new one, and a
crash leaves at most a temporary file. Keys are checked segment by segment (base.py), so no
key names a path outside the root. The blocking file calls run in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from enroll.storage.base import ObjectStorage, StoredObject, check_key, check_prefix
from enroll.storage.errors import UNAVAILABLE, ObjectMissing, StorageUnavailable

log = logging.getLogger("enroll.storage")
_TEMP_PREFIX = ".tmp-"


class FileStorage(ObjectStorage):
    def __init__(self, root: Path) -> None:
        if not root.is_absolute():
            raise ValueError(f"the storage root must be an absolute path, not {root}")
        self.root = root

    @property
    def location(self) -> str:
        return self.root.as_uri()

    def path_of(self, key: str) -> Path:
        """Where ``key``'s object lives (always under the root)."""
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise self._unavailable("write", exc) from exc

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise self._unavailable("read", exc) from exc

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise self._unavailable("delete", exc) from exc

    async def list(self, prefix: str) -> AsyncIterator[StoredObject]:
        check_prefix(prefix)
        top = self.root.joinpath(*prefix.rstrip("/").split("/")) if prefix else self.root
        batches = _listing(top, self.root)
        while True:
            try:
                batch = await asyncio.to_thread(next, batches, None)
            except OSError as exc:
                raise self._unavailable("list", exc) from exc
            if batch is None:
                return
            for item in batch:
                yield item

    def _unavailable(self, what: str, exc: OSError) -> StorageUnavailable:
        log.warning("file storage %s: cannot %s: %s", self.root, what, exc)
        return StorageUnavailable(UNAVAILABLE)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry is the directory's data)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system syncs directories
    finally:
        os.close(fd)


def _listing(top: Path, root: Path) -> Iterator[list[StoredObject]]:
    """The objects under ``top``, a directory's worth at a time (temporary files left out)."""

    def fail(exc: OSError) -> None:
        if not isinstance(exc, FileNotFoundError):
            raise exc

    for directory, _dirs, files in os.walk(top, onerror=fail):
        batch = []
        base = Path(directory).relative_to(root)
        for name in files:
            if name.startswith("."):
                continue
            try:
                stat = os.stat(os.path.join(directory, name))
            except FileNotFoundError:
                continue  # deleted meanwhile
            key = "/".join((*base.parts, name))
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            batch.append(StoredObject(key=key, modified=modified))
        if batch:
            yield batch
