"""Field types reused across request schemas."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

from enroll.kit.schemas import METADATA_DEPTH, ApiModel, metadata_value

# Text with something left once str.strip() (ApiModel's str_strip_whitespace) is done, NUL-free.
# The stripped characters are spelled out: ``\s`` differs between Python (which strips U+0085)
# and the ECMA regexes a client or fuzzer validates with (which match U+FEFF).
WHITESPACE = "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace())  # a [class] body
NON_BLANK = f"^[^\\u0000]*[^{WHITESPACE}\\u0000][^\\u0000]*$"

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


# Characters that NFKC-normalize to a URL delimiter: urlsplit refuses them in a host.
NFKC_DELIMITERS = (
    r"\u2047\u2048\u2049\u2100\u2101\u2105\u2106\u2a74\ufe13\ufe16\ufe55\ufe56\ufe5f"
    r"\ufe6b\uff03\uff0f\uff1a\uff1f\uff20"
)
_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"  # no leading zero, as ipaddress wants
_LS32 = rf"({_H16}:{_H16}|{_OCTET}(\.{_OCTET}){{3}})"
# RFC 3986's IPv6address: n hextets before "::", then the rest.
IPV6_PATTERN = "|".join(
    [
        rf"({_H16}:){{6}}{_LS32}",
        rf"::({_H16}:){{5}}{_LS32}",
        rf"({_H16})?::({_H16}:){{4}}{_LS32}",
        *(
            rf"(({_H16}:){{0,{k}}}{_H16})?::{tail}"
            for k, tail in [
                (1, rf"({_H16}:){{3}}{_LS32}"),
                (2, rf"({_H16}:){{2}}{_LS32}"),
                (3, rf"{_H16}:{_LS32}"),
                (4, _LS32),
                (5, _H16),
                (6, ""),
            ]
        ),
    ]
)
# What http_url accepts, as a pattern the OpenAPI document states and http_url enforces:
# http(s), a host (a name without credentials, or a bracketed IPv6 address), an optional port,
# no whitespace (str.isspace's, spelled out: Python's and JavaScript's \s differ) or NUL.
HTTP_URL_PATTERN = (
    rf"^https?://(\[({IPV6_PATTERN})\]|[^{WHITESPACE}\u0000/?#@:\[\]{NFKC_DELIMITERS}]+)"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{0,4}))?"
    rf"([/?#][^{WHITESPACE}\u0000]*)?$"
)
_HTTP_URL = re.compile(HTTP_URL_PATTERN)
MAX_URL_CHARS = 2048


def http_url(url: str) -> str:
    """Validate the shape of an endpoint URL (for a Pydantic validator: raises ValueError): the
    specific refusals first, each said plainly, then the stated pattern."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("Must be an https:// (or http://) URL.")
    if not host:
        raise ValueError("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Must not carry credentials (the URL is readable by API clients).")
    if any(c.isspace() for c in url):
        raise ValueError("Must not contain whitespace.")
    if not _HTTP_URL.match(url):
        raise ValueError(
            "Not a valid URL: a host name, an IPv4 address or a bracketed IPv6 address, then "
            "an optional port up to 65535."
        )
    return url


# Every URL Enroll calls, in a request body: the document states the pattern, the validator
# explains a refusal (a pattern alone would refuse credentials without saying why).
HttpUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_CHARS),
    AfterValidator(http_url),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_URL_CHARS,
            "pattern": HTTP_URL_PATTERN,
        }
    ),
]
