"""Import file formats, parsed as a stream: CSV and JSON Lines (pure; no I/O of its own).

A row is the body of ``POST /v1/programInstances/{id}/enrollments``. JSON Lines carries it
as it is, one object per line. CSV headers are the JSON field names, nested fields dotted
(``address.state``, ``metadata.age``), list fields (``manufacturerSlugs``, ``tags``) separated
by ``|``; an empty cell leaves its field out. ``identificationType`` may be left out of a row
and then is ``customerInfo``.

Both parsers take an iterator of byte chunks and yield ``(row_number, fields | RowError)``,
holding one line (or one quoted CSV record) at a time, so files of any size stream through.
Row numbers are 1-based data rows (the CSV header is not a row).

Files are UTF-8 (a leading BOM is dropped). Anything else is refused whole, with the byte
offset of the first bad byte (``Utf8Reader``), never decoded by replacement: a Latin-1 "José"
would otherwise be stored as "Jos\ufffd", and a UTF-16 file would read as NUL-laden rows.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

LIST_FIELDS = frozenset({"manufacturerSlugs", "tags"})
LIST_SEPARATOR = "|"
DEFAULT_IDENTIFICATION = "customerInfo"
MAX_LINE_CHARS = 1_000_000  # one row; a longer line is refused rather than held


class ImportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


MEDIA_TYPES = {
    "text/csv": ImportFormat.CSV,
    "application/csv": ImportFormat.CSV,
    "application/x-ndjson": ImportFormat.JSONL,
    "application/jsonl": ImportFormat.JSONL,
    "application/x-jsonlines": ImportFormat.JSONL,
    "application/jsonlines": ImportFormat.JSONL,
}


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


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be read at all (as opposed to one that fails validation)."""

    field: str
    message: str


Parsed = tuple[int, dict[str, Any] | RowError]


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


def parse(fmt: ImportFormat, chunks: Iterable[bytes]) -> Iterator[Parsed]:
    return parse_csv(chunks) if fmt == ImportFormat.CSV else parse_jsonl(chunks)


def parse_jsonl(chunks: Iterable[bytes]) -> Iterator[Parsed]:
    number = 0
    for line in lines(chunks):
        if not line.strip():
            continue
        number += 1
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, RowError("row", f"Not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield number, RowError("row", "Each line must be a JSON object.")
            continue
        value.setdefault("identificationType", DEFAULT_IDENTIFICATION)
        yield number, value


def parse_csv(chunks: Iterable[bytes]) -> Iterator[Parsed]:
    reader = csv.reader(lines(chunks), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise FileError(f"the CSV header cannot be read: {exc}") from None
    paths = [tuple(name.strip().split(".")) for name in header]
    bad = [".".join(p) for p in paths if not all(p)]
    if bad:
        raise FileError(f"the CSV header has empty column names: {bad}")
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, RowError("row", f"Not valid CSV: {exc}")
            continue
        if not cells or cells == [""]:
            continue
        number += 1
        if len(cells) != len(paths):
            yield (
                number,
                RowError("row", f"Has {len(cells)} cells where the header has {len(paths)}."),
            )
            continue
        yield number, _row(paths, cells)


def _row(paths: list[tuple[str, ...]], cells: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"identificationType": DEFAULT_IDENTIFICATION}
    for path, cell in zip(paths, cells, strict=True):
        if cell == "":
            continue
        value: Any = cell.split(LIST_SEPARATOR) if path[-1] in LIST_FIELDS else cell
        target = row
        for part in path[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):  # "address" and "address.state" both given
                nested = target[part] = {}
            target = nested
        target[path[-1]] = value
    return row
