"""A service location as its sources give it (``Record``), whichever door it came through
(the API, an ERCOT extract, a CSV or JSON Lines file), and what is stored of it: the columns,
the search columns (normalize.py) and the content digest an import compares (pure).

The market's rules are here too, so every door applies them: an ERCOT service point id is an
ESI ID of 17 or 22 digits, and its utility (TDSP) comes from the DUNS number or, without one,
from the ESI ID's prefix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from enroll.ids import new_id
from enroll.location.normalize import parse_address
from enroll.location.schemas import ERCOT, ServiceLocationCreate

# ERCOT's transmission and distribution service providers: (code, name) by the ESI ID's
# first seven digits and by DUNS number.
TDSPS = {
    "oncor": "Oncor Electric Delivery",
    "centerpoint": "CenterPoint Energy Houston Electric",
    "aep_texas": "AEP Texas",
    "tnmp": "Texas-New Mexico Power",
}
TDSP_BY_PREFIX = {
    "1044372": "oncor",
    "1017699": "oncor",
    "1008901": "centerpoint",
    "1003278": "aep_texas",
    "1020404": "aep_texas",
}
TDSP_BY_DUNS = {
    "1039940674000": "oncor",
    "1052623364500": "oncor",
    "957877905": "centerpoint",
    "007924772": "aep_texas",
    "007923311": "aep_texas",
    "007929441": "tnmp",
}

STAGE_COLUMNS = (
    "id",
    "line",
    "market",
    "service_point_id",
    "utility_code",
    "utility_name",
    "street_one",
    "street_two",
    "city",
    "address_state",
    "postal_code",
    "country",
    "county",
    "premise_type",
    "status",
    "metered",
    "attributes",
    "content_hash",
    "search_house",
    "search_street",
    "search_unit",
    "search_city",
    "search_zip",
)
# The stored columns an import writes from the stage (all but the stage's own "line").
STORED_COLUMNS = tuple(c for c in STAGE_COLUMNS if c != "line")


class RecordError(ValueError):
    """The row cannot be a location: ``errors`` are ``{field, message}`` objects."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(slots=True)
class Record:
    market: str
    service_point_id: str
    utility_code: str | None
    utility_name: str | None
    street_one: str
    street_two: str | None
    city: str | None
    address_state: str | None
    postal_code: str | None
    country: str | None
    county: str | None
    premise_type: str | None
    status: str
    metered: bool | None
    attributes: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        """What the source said, as a digest: equal digests, nothing to update."""
        content = orjson.dumps(
            [
                self.utility_code,
                self.utility_name,
                self.street_one,
                self.street_two,
                self.city,
                self.address_state,
                self.postal_code,
                self.country,
                self.county,
                self.premise_type,
                self.status,
                self.metered,
                self.attributes,
            ],
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.blake2b(content, digest_size=16).hexdigest()

    def columns(self) -> dict[str, Any]:
        """The stored columns, with the search columns and the digest."""
        search = parse_address(self.street_one, self.street_two, self.city, self.postal_code)
        return {
            "market": self.market,
            "service_point_id": self.service_point_id,
            "utility_code": self.utility_code,
            "utility_name": self.utility_name,
            "street_one": self.street_one,
            "street_two": self.street_two,
            "city": self.city,
            "address_state": self.address_state,
            "postal_code": self.postal_code,
            "country": self.country,
            "county": self.county,
            "premise_type": self.premise_type,
            "status": self.status,
            "metered": self.metered,
            "attributes": self.attributes,
            "content_hash": self.digest(),
            "search_house": search.house,
            "search_street": search.street,
            "search_unit": search.unit,
            "search_city": search.city,
            "search_zip": search.zip,
        }

    def staged(self, line: int, row_id: str) -> tuple[Any, ...]:
        """The row of the import's stage table (STAGE_COLUMNS' order), ``row_id`` the id
        it gets if it is new."""
        search = parse_address(self.street_one, self.street_two, self.city, self.postal_code)
        return (
            row_id,
            line,
            self.market,
            self.service_point_id,
            self.utility_code,
            self.utility_name,
            self.street_one,
            self.street_two,
            self.city,
            self.address_state,
            self.postal_code,
            self.country,
            self.county,
            self.premise_type,
            self.status,
            self.metered,
            orjson.dumps(self.attributes).decode(),
            self.digest(),
            search.house,
            search.street,
            search.unit,
            search.city,
            search.zip,
        )


def row_ids(count: int) -> list[str]:
    """``count`` fresh ids for a batch's rows: one CUID's time, counter, fingerprint and two
    random characters, then the row's number in base 36 (a CUID per row cost more than the
    rest of the row's parsing)."""
    head = new_id()[:19]
    return [head + _base36(i) for i in range(count)]


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int) -> str:
    out = ""
    for _ in range(6):
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
    return out


def tdsp(service_point_id: str, duns: str | None) -> tuple[str, str] | None:
    """ERCOT's TDSP (code, name) for an ESI ID, by DUNS number or else by prefix."""
    if duns:
        known = _BY_DUNS.get(duns.lstrip("0"))
        return (known, TDSPS[known]) if known else (f"duns-{duns}"[:64], "")
    code = TDSP_BY_PREFIX.get(service_point_id[:7])
    return (code, TDSPS[code]) if code else None


_BY_DUNS = {duns.lstrip("0"): code for duns, code in TDSP_BY_DUNS.items()}


def check_esi_id(service_point_id: str) -> str | None:
    """Why an ERCOT service point id is not an ESI ID, or None."""
    if not service_point_id.isdigit() or len(service_point_id) not in (17, 22):
        return "An ESI ID is 17 or 22 digits."
    return None


def from_create(body: ServiceLocationCreate) -> Record:
    """A location from a create body (the API, a CSV or JSON Lines row), the market's rules
    applied: ``RecordError`` when they fail."""
    utility = (body.utility.code, body.utility.name) if body.utility else None
    if body.market == ERCOT:
        why = check_esi_id(body.service_point_id)
        if why:
            raise RecordError([{"field": "servicePointId", "message": why}])
        if utility is None:
            utility = tdsp(body.service_point_id, None)
            if utility is None:
                raise RecordError([{"field": "utility", "message": UNKNOWN_TDSP}])
    a = body.address
    return Record(
        market=body.market,
        service_point_id=body.service_point_id,
        utility_code=utility[0] if utility else None,
        utility_name=(utility[1] or None) if utility else None,
        street_one=a.street_one,
        street_two=a.street_two or None,
        city=a.city,
        address_state=a.state,
        postal_code=a.postal_code,
        country=a.country or ("US" if body.market == ERCOT else None),
        county=body.county,
        premise_type=body.premise_type.value if body.premise_type else None,
        status=body.status.value,
        metered=body.metered,
        attributes=body.attributes,
    )


UNKNOWN_TDSP = (
    "Unknown TDSP: the ESI ID's prefix is not Oncor's (1044372, 1017699), CenterPoint's "
    "(1008901) or AEP Texas' (1003278, 1020404); give the utility (or the DUNS column)."
)


def validated(data: dict[str, Any]) -> Record:
    """A file row in the platform's field names (a create body) as a Record."""
    try:
        body = ServiceLocationCreate.model_validate(data)
    except ValidationError as exc:
        raise RecordError(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "row", "message": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
        ) from None
    return from_create(body)
