"""Field types reused across request schemas."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

from enroll.kit.schemas import METADATA_DEPTH, ApiModel, metadata_value

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,98}[a-z0-9]$|^[a-z0-9]$", max_length=100)
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Phone = Annotated[str, StringConstraints(max_length=40)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=100)]
TagList = Annotated[list[Tag], Field(max_length=100)]
Metadata = Annotated[
    dict[str, Any],
    AfterValidator(metadata_value),
    Field(
        description="Arbitrary data for program needs (JSON nested at most "
        f"{METADATA_DEPTH} levels; no NUL or lone surrogates; numbers within the 64-bit integer "
        "range)."
    ),
]
# Stored as the rule context spells them (upper-cased states, lower-cased maker slugs), so
# rules compiled to SQL read the columns as they are.
StateCode = Annotated[
    str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True, to_upper=True)
]
ManufacturerSlug = Annotated[str, StringConstraints(max_length=200, to_lower=True)]


class _ResourceReference:
    """Marks a request field that names another resource by id or slug.

    The OpenAPI document reads it: a route whose body holds one may answer 404.
    """

    def __repr__(self) -> str:
        return "RESOURCE_REFERENCE"


RESOURCE_REFERENCE = _ResourceReference()
Reference = Annotated[str, StringConstraints(min_length=1, max_length=100), RESOURCE_REFERENCE]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a time without an offset is UTC
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the last representable instant
        raise ValueError("out of range once converted to UTC") from None


def _iso_only(value: Any) -> Any:
    """Pydantic would also read a number ("0.5") as a Unix time; the API takes ISO 8601 only."""
    if isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}([Tt ]|$)", value)):
        raise ValueError("Must be an ISO 8601 date-time.")
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_as_utc),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]
"""A request time: offset-less means UTC; always converted to UTC (storable on both databases)."""


def _iso_date_only(value: Any) -> Any:
    """Pydantic would also read a number (or a numeric string: query parameters) as a Unix
    time; a date is ``YYYY-MM-DD``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("Must be an ISO 8601 date (YYYY-MM-DD).")
    return value


IsoDate = Annotated[
    date, BeforeValidator(_iso_date_only), WithJsonSchema({"type": "string", "format": "date"})
]
"""A calendar date, ``YYYY-MM-DD`` only."""


def _normalize_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or " " in value:
        raise ValueError("not a valid email address")
    return value.lower()


Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=320),
    AfterValidator(_normalize_email),
    WithJsonSchema({"type": "string", "format": "email", "minLength": 3, "maxLength": 320}),
]


class Address(ApiModel):
    street_one: ShortText | None = None
    street_two: ShortText | None = None
    city: ShortText | None = None
    state: StateCode | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(max_length=60)] | None = None


@cache
def timezone_names() -> tuple[str, ...]:
    """The IANA time zones this server knows (its tz database), sorted, without the POSIX
    ``Etc/GMT+5`` style (signs inverted: +5 is five hours *behind* UTC, a trap) and the
    ``GMT+0`` spellings of ``GMT0``: geographic names say what is meant."""
    return tuple(
        sorted(z for z in zoneinfo.available_timezones() if not re.search(r"[+-][0-9]", z))
    )


def _known_timezone(value: str) -> str:
    if value not in timezone_names():
        raise ValueError("Must be an IANA time zone name, such as America/Chicago (not Etc/GMT+N).")
    return value


Timezone = Annotated[
    str,
    AfterValidator(_known_timezone),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(timezone_names()),
            "description": "An IANA time zone name (e.g. America/Chicago).",
        }
    ),
]
"""An IANA time zone name, refused (422) unless the tz database knows it."""
