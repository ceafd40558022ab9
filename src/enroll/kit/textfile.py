"""Text files read as a stream of UTF-8 lines, refused whole at their first byte that is not
UTF-8 text (imports of enrollments and of service locations).

Files are UTF-8 (a leading BOM is dropped). Anything else is refused whole, with the byte
offset of the first bad byte (``Utf8Reader``), never decoded by replacement: a Latin-1 "José"
would otherwise be stored as "Jos\ufffd", and a UTF-16 file would read as NUL-laden rows.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

MAX_LINE_CHARS = 1_000_000  # one row; a longer line is refused rather than held


class FileError(ValueError):
    """The file as a whole cannot be read (its CSV header, a line too long)."""


class EncodingError(FileError):
    """The file is not UTF-8 text; ``offset`` is the 0-based byte offset of the first bad byte."""

    code = "invalid_encoding"

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"{message} Save the file as UTF-8 and send it again.")
        self.offset = offset


_UTF8_BOM = codecs.BOM_UTF8
# Other Unicode encodings' byte order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class Utf8Reader:
    """Strict incremental UTF-8 decoding of a byte stream that knows where it is.

    ``decode`` returns the text of each chunk (a character split across chunks comes with the
    later one) or raises ``EncodingError`` at the first byte that is not UTF-8 text: an invalid
    sequence (Latin-1, Windows-1252), a NUL byte (UTF-16 without a byte order mark, binary
    data; NUL is refused in every text field anyway), another encoding's byte order mark, or a
    file that ends inside a character."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._offset = 0  # bytes of the file passed to the decoder (or skipped) so far
        self._head: bytes | None = b""  # the first bytes, until the byte order mark is settled

    def decode(self, chunk: bytes, *, final: bool = False) -> str:
        if self._head is not None:
            self._head += chunk
            if len(self._head) < 4 and not final:
                return ""
            chunk, self._head = self._without_bom(self._head), None
        at = self._offset
        self._offset += len(chunk)
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise EncodingError(
                at + nul,
                f"Byte {at + nul} is NUL (0x00): the file is not UTF-8 text (UTF-16 without a"
                " byte order mark, or binary data?).",
            )
        held = len(self._decoder.getstate()[0])  # an incomplete character from the last chunk
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            bad = at - held + exc.start
            raise EncodingError(
                bad,
                f"Byte {bad} (0x{exc.object[exc.start]:02x}) is not valid UTF-8 (is the file"
                " Latin-1 or Windows-1252?).",
            ) from None

    def _without_bom(self, head: bytes) -> bytes:
        for bom, name in _FOREIGN_BOMS:
            if head.startswith(bom):
                raise EncodingError(
                    0, f"The file is {name} (it starts with a {name} byte order mark)."
                )
        if head.startswith(_UTF8_BOM):
            self._offset = len(_UTF8_BOM)
            return head[len(_UTF8_BOM) :]
        return head


def check_encoding(chunks: Iterable[bytes]) -> None:
    """Raise ``EncodingError`` unless the bytes are UTF-8 text (the whole file, read once)."""
    reader = Utf8Reader()
    for chunk in chunks:
        reader.decode(chunk)
    reader.decode(b"", final=True)


def lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text lines (with their line ends) from byte chunks; a BOM is dropped, bytes that
    are not UTF-8 text raise ``EncodingError``."""
    decoder = Utf8Reader()
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        if "\n" not in pending:
            if len(pending) > MAX_LINE_CHARS:
                raise FileError(f"a line is longer than {MAX_LINE_CHARS} characters")
            continue
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending
