"""ERCOT's "TDSP ESI ID Extract", read as it is published (pure; no I/O of its own).

One CSV file per TDSP, monthly in full and daily with the changes: **no header row**, the
columns below in this order, then possibly newer ones (kept in ``attributes`` as
``column21``, …). Every column but the ESI ID, the address, the county, the status, the
premise type and METERED is kept in ``attributes`` under its camelCase name.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from enroll.kit.textfile import lines
from enroll.location.records import UNKNOWN_TDSP, Record, RecordError, check_esi_id, tdsp
from enroll.location.schemas import ERCOT
from enroll.workflows.service_location import PremiseType, ServiceLocationStatus

COLUMNS = (
    "ESIID",
    "ADDRESS",
    "ADDRESS_OVERFLOW",
    "CITY",
    "STATE",
    "ZIPCODE",
    "COUNTY",
    "DUNS",
    "METER_READ_CYCLE",
    "STATUS",
    "PREMISE_TYPE",
    "POWER_REGION",
    "STATIONCODE",
    "STATIONNAME",
    "METERED",
    "OPEN_SERVICE_ORDERS",
    "POLR_CUSTOMER_CLASS",
    "SETTLEMENT_AMS_INDICATOR",
    "TDSP_AMS_INDICATOR",
    "SWITCH_HOLD_INDICATOR",
)
# The columns kept in ``attributes``, by position: (index, name).
_ATTRIBUTES = (
    (7, "duns"),
    (8, "meterReadCycle"),
    (11, "powerRegion"),
    (12, "stationCode"),
    (13, "stationName"),
    (15, "openServiceOrders"),
    (16, "polrCustomerClass"),
    (17, "settlementAmsIndicator"),
    (18, "tdspAmsIndicator"),
    (19, "switchHoldIndicator"),
)
_STATUS = {
    "a": ServiceLocationStatus.ACTIVE,
    "active": ServiceLocationStatus.ACTIVE,
    "i": ServiceLocationStatus.INACTIVE,
    "inactive": ServiceLocationStatus.INACTIVE,
    "d": ServiceLocationStatus.DE_ENERGIZED,
    "de-energized": ServiceLocationStatus.DE_ENERGIZED,
    "de_energized": ServiceLocationStatus.DE_ENERGIZED,
    "deenergized": ServiceLocationStatus.DE_ENERGIZED,
    "de-energize": ServiceLocationStatus.DE_ENERGIZED,
}
_PREMISE = {
    "residential": PremiseType.RESIDENTIAL,
    "01": PremiseType.RESIDENTIAL,
    "small non-residential": PremiseType.SMALL_COMMERCIAL,
    "small commercial": PremiseType.SMALL_COMMERCIAL,
    "02": PremiseType.SMALL_COMMERCIAL,
    "large non-residential": PremiseType.LARGE_COMMERCIAL,
    "large commercial": PremiseType.LARGE_COMMERCIAL,
    "03": PremiseType.LARGE_COMMERCIAL,
}
_METERED = {"y": True, "yes": True, "n": False, "no": False}
MAX_CELL_CHARS = 200


def record(cells: list[str]) -> Record:
    """One extract row as a Record, or ``RecordError`` saying why it cannot be one."""
    if len(cells) < 6:
        raise RecordError([{"field": "row", "message": f"Has {len(cells)} columns, not 20."}])
    width = len(cells)
    cells = [c.strip() for c in cells]
    if width < len(COLUMNS):
        cells += [""] * (len(COLUMNS) - width)
    esi_id = cells[0].lstrip("'")
    errors = []
    why = check_esi_id(esi_id)
    if why:
        errors.append({"field": "ESIID", "message": why})
    if not cells[1]:
        errors.append({"field": "ADDRESS", "message": "The address is missing."})
    if max(map(len, cells)) > MAX_CELL_CHARS:
        errors.append({"field": "row", "message": f"A cell is over {MAX_CELL_CHARS} characters."})
    utility = None if why else tdsp(esi_id, cells[7] or None)
    if utility is None and not why:
        errors.append({"field": "DUNS", "message": UNKNOWN_TDSP})
    status = _STATUS.get(cells[9].lower()) if cells[9] else ServiceLocationStatus.ACTIVE
    if status is None:
        errors.append({"field": "STATUS", "message": f"Unknown status {cells[9]!r}."})
    if errors:
        raise RecordError(errors)
    assert utility is not None and status is not None
    premise = _PREMISE.get(cells[10].lower())
    return Record(
        market=ERCOT,
        service_point_id=esi_id,
        utility_code=utility[0],
        utility_name=utility[1] or None,
        street_one=cells[1],
        street_two=cells[2] or None,
        city=cells[3] or None,
        address_state=cells[4].upper() or None,
        postal_code=cells[5] or None,
        country="US",
        county=cells[6] or None,
        premise_type=premise.value if premise else None,
        status=status.value,
        metered=_METERED.get(cells[14].lower()),
        attributes=_attributes(cells, premise is None),
    )


def _attributes(cells: list[str], keep_premise: bool) -> dict[str, Any]:
    attributes = {name: value for i, name in _ATTRIBUTES if (value := cells[i])}
    if keep_premise and cells[10]:
        attributes["premiseType"] = cells[10]  # a type the platform does not name
    for i in range(len(COLUMNS), len(cells)):
        if cells[i]:
            attributes[f"column{i + 1}"] = cells[i]
    return attributes


def rows(chunks: Iterable[bytes]) -> Iterator[tuple[int, Record | RecordError]]:
    """(line number, record or why not) for each non-blank line of an extract."""
    reader = csv.reader(lines(chunks), strict=False)
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
        try:
            yield reader.line_num, record(cells)
        except RecordError as exc:
            yield reader.line_num, exc
