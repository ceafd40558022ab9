"""The problems of imports."""

from __future__ import annotations

from enroll.errors import Unprocessable


class EmptyImport(Unprocessable):
    code = "empty_import"
    description = "an import file that is empty"


class InvalidEncoding(Unprocessable):
    code = "invalid_encoding"
    description = "an import file that is not UTF-8 text (`offset`: its first bad byte)"
