"""The formats a location file comes in (pure): ERCOT's extract (ercot.py), and a headered
CSV or JSON Lines in the platform's own field names (a create body per row: CSV headers are
the field names, nested ones dotted, ``address.streetOne``, ``utility.code``,
``attributes.meterReadCycle``; an empty cell leaves its field out)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any

import orjson

from enroll.kit.textfile import FileError, lines
from enroll.location import ercot
from enroll.location.records import Record, RecordError, validated

Row = tuple[int, Record | RecordError]  # (line number, the location or why not)


class LocationFormat(StrEnum):
    ERCOT = "ercot"
    CSV = "csv"
    JSONL = "jsonl"


class UploadFormat(StrEnum):
    """What an upload says of its format: one of them, or ``auto`` (sniffed)."""

    AUTO = "auto"
    ERCOT = "ercot"
    CSV = "csv"
    JSONL = "jsonl"


def parse(fmt: LocationFormat, chunks: Iterable[bytes]) -> Iterator[Row]:
    if fmt == LocationFormat.ERCOT:
        return ercot.rows(chunks)
    if fmt == LocationFormat.CSV:
        return _csv_rows(chunks)
    return _jsonl_rows(chunks)


def _record(data: Any) -> Record | RecordError:
    if not isinstance(data, dict):
        return RecordError([{"field": "row", "message": "Each line must be a JSON object."}])
    try:
        return validated(data)
    except RecordError as exc:
        return exc


def _jsonl_rows(chunks: Iterable[bytes]) -> Iterator[Row]:
    for number, line in enumerate(lines(chunks), start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, RecordError([{"field": "row", "message": f"Not valid JSON: {exc}"}])
            continue
        yield number, _record(data)


_BOOLEANS = {"metered": {"true": True, "false": False, "y": True, "n": False}}


def _csv_rows(chunks: Iterable[bytes]) -> Iterator[Row]:
    reader = csv.reader(lines(chunks), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise FileError(f"the CSV header cannot be read: {exc}") from None
    paths = [tuple(name.strip().split(".")) for name in header]
    if not all(all(p) for p in paths):
        raise FileError("the CSV header has empty column names")
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, RecordError([{"field": "row", "message": f"Not CSV: {exc}"}])
            continue
        if not cells or cells == [""]:
            continue
        if len(cells) != len(paths):
            why = f"Has {len(cells)} cells where the header has {len(paths)}."
            yield reader.line_num, RecordError([{"field": "row", "message": why}])
            continue
        yield reader.line_num, _record(_nested(paths, cells))


def _nested(paths: list[tuple[str, ...]], cells: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for path, cell in zip(paths, cells, strict=True):
        if cell == "":
            continue
        value: Any = cell
        if path[-1] in _BOOLEANS and len(path) == 1:
            value = _BOOLEANS[path[-1]].get(cell.lower(), cell)
        target = row
        for part in path[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                nested = target[part] = {}
            target = nested
        target[path[-1]] = value
    return row
