"""The patterns the OpenAPI document states for text agree with what the server checks.

Schemathesis (and any client) reads a pattern with ECMA semantics, the server with Python's:
the patterns spell out their character classes so both read them alike, and the server's
checks accept exactly what the patterns accept.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enroll.kit.fields import HTTP_URL_PATTERN, NFKC_DELIMITERS, NON_BLANK, http_url


def test_the_spelled_out_classes_are_what_python_computes() -> None:
    delimiters = "".join(
        f"\\u{c:04x}"
        for c in range(0x80, sys.maxunicode + 1)
        if any(d in unicodedata.normalize("NFKC", chr(c)) for d in "/?#@:")
    )
    assert delimiters == NFKC_DELIMITERS
    assert "\\s" not in HTTP_URL_PATTERN and "\\s" not in NON_BLANK


@given(st.text(max_size=5))
def test_non_blank_is_text_left_after_strip(text: str) -> None:
    assert bool(re.match(NON_BLANK, text)) == bool(text.strip() and "\x00" not in text)


@pytest.mark.parametrize("text", ["\x85", " \u3000\t", "\u2028"])
def test_what_strip_removes_is_blank(text: str) -> None:
    assert not re.match(NON_BLANK, text)


@settings(max_examples=500)
@given(st.from_regex(HTTP_URL_PATTERN, fullmatch=True))
def test_every_url_the_pattern_allows_is_accepted(url: str) -> None:
    assert http_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "https://"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com/a b", "whitespace"),
        ("https://example.com:99999/", "Not a valid URL"),
        ("https://exa\uff1amle.com/", "Not a valid URL"),  # NFKC makes it a colon
        ("https://[1::2::3]/", "Not a valid URL"),
        ("https://[::01.2.3.4]/", "Not a valid URL"),
        ("https:///path", "no host"),
    ],
)
def test_urls_outside_the_pattern_are_refused_with_a_reason(url: str, message: str) -> None:
    assert not re.match(HTTP_URL_PATTERN, url)
    with pytest.raises(ValueError, match=re.escape(message)):
        http_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://A*",
        "http://127.0.0.1:8080/hook?x=1#f",
        "https://[::1]/x",
        "https://[::ffff:169.254.169.254]:8443/",
        "https://[1:2:3:4:5:6:1.2.3.4]",
    ],
)
def test_hosts_of_any_name_and_loopback_receivers_are_accepted(url: str) -> None:
    assert http_url(url) == url
