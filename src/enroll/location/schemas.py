"""The wire of service locations: create, update, the location, the two lookups, imports."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from enroll.kit.fields import (
    NON_BLANK,
    RESOURCE_REFERENCE,
    Metadata,
    ShortText,
    StateCode,
    Timestamp,
)
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.models import ServiceLocation, ServiceLocationImport, UsageReading
from enroll.workflows.runs import RunStatus
from enroll.workflows.service_location import PremiseType, ReadingKind, ServiceLocationStatus

ERCOT = "ercot"
MAX_QUERY_CHARS = 200
MAX_LIMIT = 50
ServicePointId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
    Field(description="The market's premise id (ERCOT: the ESI ID, 17 or 22 digits)."),
]
Market = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$"),
    Field(description="`ercot`, or any market name (lower case)."),
]
UtilityCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]


class Utility(ApiModel):
    code: UtilityCode
    name: ShortText | None = None


class LocationAddress(ApiModel):
    street_one: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NON_BLANK)]
    street_two: ShortText | None = None
    city: ShortText | None = None
    state: StateCode | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(max_length=60)] | None = None


class AddressUpdate(ApiModel):
    """A changed address: the fields sent replace the stored ones (null clears)."""

    street_one: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NON_BLANK)] | None
    ) = None
    street_two: ShortText | None = None
    city: ShortText | None = None
    state: StateCode | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(max_length=60)] | None = None


ESI_ID_PATTERN = r"^[0-9]{17}([0-9]{5})?$"
# An ESI ID whose prefix names its TDSP (records.TDSP_BY_PREFIX), for a body without a utility.
KNOWN_ESI_ID_PATTERN = r"^(1044372|1017699|1008901|1003278|1020404)[0-9]{10}([0-9]{5})?$"


def _ercot_rules(schema: dict[str, Any]) -> None:
    """ERCOT's rules in the document: its service point id is an ESI ID, and without a
    utility its prefix must name a TDSP (market left out is ERCOT)."""
    schema["allOf"] = [
        {
            "if": {"properties": {"market": {"const": ERCOT}}},
            "then": {"properties": {"servicePointId": {"pattern": ESI_ID_PATTERN}}},
        },
        {
            "if": {"properties": {"market": {"const": ERCOT}, "utility": {"type": "null"}}},
            "then": {"properties": {"servicePointId": {"pattern": KNOWN_ESI_ID_PATTERN}}},
        },
    ]


class ServiceLocationCreate(ApiModel):
    model_config = ConfigDict(json_schema_extra=_ercot_rules)

    service_point_id: ServicePointId
    market: Market = ERCOT
    utility: Utility | None = Field(
        None,
        description="ERCOT: derived from the ESI ID's prefix when left out (Oncor, CenterPoint, "
        "AEP Texas); required for other prefixes and markets.",
    )
    address: LocationAddress
    county: ShortText | None = None
    premise_type: PremiseType | None = None
    status: ServiceLocationStatus = ServiceLocationStatus.ACTIVE
    metered: bool | None = None
    attributes: Metadata = {}


class ServiceLocationUpdate(PatchModel):
    NULLABLE = frozenset({"county", "premise_type", "metered"})

    utility: Utility | None = None
    address: AddressUpdate | None = None
    county: ShortText | None = None
    premise_type: PremiseType | None = None
    status: ServiceLocationStatus | None = None
    metered: bool | None = None
    attributes: Metadata | None = None


class UtilityOut(OutModel):
    code: str
    name: str | None


class AddressOut(OutModel):
    street_one: str
    street_two: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


class ServiceLocationOut(OutModel):
    id: str
    service_point_id: str
    market: str
    utility: UtilityOut | None
    address: AddressOut
    county: str | None
    premise_type: PremiseType | None
    status: ServiceLocationStatus
    metered: bool | None
    attributes: dict[str, Any]
    last_seen_at: datetime | None
    source: str = Field(description="Where it came from: `api`, `ercot`, `csv` or `jsonl`.")
    has_usage_history: bool = Field(description="Whether any usage reading was received.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ServiceLocation) -> ServiceLocationOut:
        return cls(**_location_fields(row))


def _location_fields(row: ServiceLocation) -> dict[str, Any]:
    utility = UtilityOut(code=row.utility_code, name=row.utility_name) if row.utility_code else None
    return {
        "id": row.id,
        "service_point_id": row.service_point_id,
        "market": row.market,
        "utility": utility,
        "address": AddressOut(
            street_one=row.street_one,
            street_two=row.street_two,
            city=row.city,
            state=row.address_state,
            postal_code=row.postal_code,
            country=row.country,
        ),
        "county": row.county,
        "premise_type": row.premise_type,
        "status": row.status,
        "metered": row.metered,
        "attributes": row.attributes,
        "last_seen_at": row.last_seen_at,
        "source": row.source,
        "has_usage_history": bool(row.has_usage),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def rule_view(row: ServiceLocation) -> dict[str, Any]:
    """The location as rules read it (``location.*`` of eligibility criteria and of plans'
    availability): as the API shows it. ``rule_columns.py`` maps the same paths to columns
    for set-based SQL."""
    return ServiceLocationOut.of(row).model_dump(mode="json", by_alias=True)


class ServiceLocationHit(ServiceLocationOut):
    score: float = Field(ge=0, le=1, description="How well it matches the query (1: exactly).")

    @classmethod
    def scored(cls, row: ServiceLocation, score: float) -> ServiceLocationHit:
        return cls(**_location_fields(row), score=score)


class SearchRequest(ApiModel):
    query: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NON_BLANK)
    ] = Field(
        description="What the customer typed: an address (typos, missing or other suffixes, "
        "units, an unfinished last word are fine), or 10 or more digits of a service point id."
    )
    state: StateCode | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    limit: int = Field(10, ge=1, le=MAX_LIMIT)


class SearchResults(OutModel):
    data: list[ServiceLocationHit]


class LookupRequest(ApiModel):
    service_point_id: Annotated[ServicePointId, RESOURCE_REFERENCE]
    market: Market | None = Field(None, description="Only this market's (default: any).")


class ImportCounts(OutModel):
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    duplicates: int = Field(0, description="Rows of a service point id a later row repeats.")


class ImportIssueOut(OutModel):
    line: int
    errors: list[dict[str, Any]]


class ServiceLocationImportOut(OutModel):
    id: str
    status: RunStatus
    format: str
    market: str
    file_bytes: int
    bytes_done: int
    rows_done: int
    progress: float = Field(description="Share of the file's bytes processed, 0..1.")
    counts: ImportCounts
    errors: list[ImportIssueOut] = Field(
        description=f"The first {100} invalid rows, by line (all are counted in `invalid`)."
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(
        cls, imp: ServiceLocationImport, issues: list[ImportIssueOut] | None = None
    ) -> ServiceLocationImportOut:
        return cls(
            id=imp.id,
            status=RunStatus(imp.status),
            format=imp.format,
            market=imp.market,
            file_bytes=imp.file_bytes,
            bytes_done=imp.bytes_done,
            rows_done=imp.rows_done,
            progress=round(imp.bytes_done / imp.file_bytes, 4) if imp.file_bytes else 0.0,
            counts=ImportCounts(**imp.counts),
            errors=issues or [],
            error=imp.error,
            created_at=imp.created_at,
            started_at=imp.started_at,
            finished_at=imp.finished_at,
        )


# --- usage readings ---------------------------------------------------------------------------

MAX_READINGS = 35_040  # a year of 15-minute intervals
MAX_MONTHLY_READINGS = 13
INTERVAL_LONGEST = timedelta(days=1)  # longer: a monthly reading
READING_LONGEST = timedelta(days=62)  # a two-month bill at most
MAX_KWH = 9_999_999
_KWH = r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,3})?$"
_KWH_TEXT = "kWh, 0 to 9,999,999.999: a decimal string of up to 3 decimals, or a whole number"


def _kwh(value: Any) -> Any:
    """Exact kWh: a decimal string, or a JSON whole number (a fraction sent as a JSON number
    may have passed through a float, so it must come as a string)."""
    if isinstance(value, Decimal):  # from the code: JSON has no Decimal
        return value
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if whole and not isinstance(value, bool) and 0 <= value <= MAX_KWH:
        return Decimal(int(value))
    if isinstance(value, str) and re.fullmatch(_KWH, value):
        return Decimal(value)
    raise PydanticCustomError(
        "kwh",
        'A non-negative kWh, such as "512.25" or 512 ({description}).',
        {"description": _KWH_TEXT},
    )


Kwh = Annotated[
    Decimal,
    BeforeValidator(_kwh),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _KWH},
                {"type": "integer", "minimum": 0, "maximum": MAX_KWH},
            ],
            "description": _KWH_TEXT,
        }
    ),
]


def kind_of(start: datetime, end: datetime) -> ReadingKind:
    return ReadingKind.MONTHLY if end - start > INTERVAL_LONGEST else ReadingKind.INTERVAL


class UsageReadingIn(ApiModel):
    """A consumption over [start, end): longer than a day is a monthly (billing) reading,
    a day or less an interval reading."""

    start: Timestamp
    end: Timestamp = Field(description="After `start`, by at most 62 days.")
    kwh: Kwh

    @model_validator(mode="after")
    def _period(self) -> UsageReadingIn:
        if self.end <= self.start:
            raise ValueError("end must lie after start")
        if self.end - self.start > READING_LONGEST:
            raise ValueError("a reading covers at most 62 days")
        return self


class UsagePost(ApiModel):
    readings: list[UsageReadingIn] = Field(
        min_length=1,
        max_length=MAX_READINGS,
        description=f"Up to {MAX_READINGS:,} readings, of which at most "
        f"{MAX_MONTHLY_READINGS} monthly ones (longer than a day). A period sent again (in this "
        "request or a later one) replaces the reading of that period; within one request the "
        "last one wins.",
    )

    @model_validator(mode="after")
    def _monthly(self) -> UsagePost:
        monthly = sum(kind_of(r.start, r.end) == ReadingKind.MONTHLY for r in self.readings)
        if monthly > MAX_MONTHLY_READINGS:
            raise ValueError(
                f"at most {MAX_MONTHLY_READINGS} monthly readings (longer than a day) per request"
                f", not {monthly}"
            )
        return self


class UsageWindow(ApiModel):
    """The list's time filters (GraphQL parses its arguments with it, as REST its query)."""

    start_from: Timestamp | None = Field(None, alias="from")
    until: Timestamp | None = Field(None, alias="to")


class UsageCounts(OutModel):
    created: int = Field(description="Periods that had no reading.")
    updated: int = Field(description="Periods whose kWh changed.")
    unchanged: int = Field(description="Periods sent again with the same kWh.")


class UsageReceipt(OutModel):
    service_location_id: str
    counts: UsageCounts
    period_start: datetime = Field(description="The earliest `start` received.")
    period_end: datetime = Field(description="The latest `end` received.")


class UsageReadingOut(OutModel):
    id: str
    start: datetime
    end: datetime
    kwh: Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str)] = Field(
        description="kWh, as a decimal string."
    )
    kind: ReadingKind
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: UsageReading) -> UsageReadingOut:
        return cls(
            id=row.id,
            start=row.period_start,
            end=row.period_end,
            kwh=row.kwh,
            kind=ReadingKind(row.kind),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
