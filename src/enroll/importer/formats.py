"""Import file formats, parsed as a stream: CSV and JSON Lines (pure; no I/O of its own).

A row is the body of ``POST /v1/programInstances/{id}/enrollments``. JSON Lines carries it
as it is, one object per line. CSV headers are the JSON field names, nested fields dotted
(``address.state``, ``metadata.age``), list fields (``manufacturerSlugs``, ``tags``) separated
by ``|``; an empty cell leaves its field out. ``identificationType`` may be left out of a row
and then is ``customerInfo``.

Both parsers take an iterator of byte chunks and yield ``(row_number, fields | RowError)``,
holding one line (or one quoted CSV record) at a time, so files of any size stream through.
Row numbers are 1-based data rows (the CSV header is not a row).

Files are UTF-8 (a leading BOM is dropped), read by kit/textfile.py.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from enroll.kit.textfile import (  # re-exported: the importer's file errors
    EncodingError,
    FileError,
    Utf8Reader,
    check_encoding,
    lines,
)

LIST_FIELDS = frozenset({"manufacturerSlugs", "tags"})
LIST_SEPARATOR = "|"
DEFAULT_IDENTIFICATION = "customerInfo"


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


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be read at all (as opposed to one that fails validation)."""

    field: str
    message: str


Parsed = tuple[int, dict[str, Any] | RowError]


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


__all__ = ["EncodingError", "FileError", "Utf8Reader", "check_encoding", "lines"]
