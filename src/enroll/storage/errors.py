"""What a storage back end raises: one problem for any failure of the back end itself, and the
plain errors of a caller's mistake (a key that names nothing, a key that is not one)."""

from __future__ import annotations

from enroll.errors import ProblemError

UNAVAILABLE = "The document storage failed or cannot be reached. Retry later."


class StorageUnavailable(ProblemError):
    """Any failure of the back end (disk, network, S3's answer): nothing was stored."""

    status, code, title = 503, "storage_unavailable", "Storage unavailable"
    description = (
        "the document storage (file system or S3) failed or cannot be reached; nothing was"
        " written: retry later"
    )


class ObjectMissing(LookupError):
    """No object under the key (deleted meanwhile, or never written)."""


class InvalidKey(ValueError):
    """A key that is not ``segment/segment/…`` of ``[A-Za-z0-9._-]``, none starting with a dot: a
    bug of the caller, never the client's input."""
