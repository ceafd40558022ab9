"""The problems of imports: the file's, shared with the location imports, are platform-wide
(enroll.errors), re-exported here for the importer's callers."""

from __future__ import annotations

from enroll.errors import EmptyImport, InvalidEncoding

__all__ = ["EmptyImport", "InvalidEncoding"]
