"""Address normalisation for the search (pure): the same rules for what is stored and what a
customer types, so a typo is the only difference left for the ranking to forgive.

``tokens`` folds case and accents and splits on anything that is not a letter or a digit
(``#`` is kept as a word of its own). ``parse_address`` splits a stored address into the
columns the search reads: the house number, the street name without its suffix or
directionals (USPS Publication 28: "N Christian Dr" and "Christian Drive North" are both
``christian``), the unit (after Apt, #, Unit, Ste, …; or from the second address line), the
city and the 5-digit ZIP code. ``street_name`` applies the street rules to a run of typed
words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from enroll.location.usps import DIRECTIONALS, SUFFIXES, UNIT_DESIGNATORS

_SPLIT = re.compile(r"[^a-z0-9#]+")
_HOUSE = re.compile(r"^\d+[a-z]?$")
_UNIT_GLUED = re.compile(r"^#(\w+)$")


def fold(text: str) -> str:
    """Lower case without accents: "Peñasco" → "penasco"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str | None) -> list[str]:
    if not text:
        return []
    folded = fold(text).replace("#", " # ")
    return [t for t in _SPLIT.split(folded) if t]


def street_name(words: list[str]) -> str:
    """A street's words without a leading or trailing directional and a trailing suffix
    (each only when a word of the name is left): "n christian dr" → "christian"."""
    words = list(words)
    if len(words) > 1 and words[0] in DIRECTIONALS:
        words = words[1:]
    if len(words) > 1 and words[-1] in DIRECTIONALS:
        words = words[:-1]
    if len(words) > 1 and words[-1] in SUFFIXES:
        words = words[:-1]
    if len(words) > 1 and words[-1] in DIRECTIONALS:  # "main n st"
        words = words[:-1]
    return " ".join(words)


def is_house_number(word: str) -> bool:
    return bool(_HOUSE.match(word))


def unit_of(words: list[str]) -> str:
    """The unit a run of words names ("apt 5", "# 5", "unit 5b", "5"), or ""."""
    for i, word in enumerate(words):
        if word in UNIT_DESIGNATORS:
            rest = [w for w in words[i + 1 :] if w not in UNIT_DESIGNATORS]
            return rest[0] if rest else ""
    return words[-1] if len(words) == 1 else ""


@dataclass(frozen=True, slots=True)
class SearchColumns:
    house: str
    street: str
    unit: str
    city: str
    zip: str


def split_street_line(words: list[str]) -> tuple[str, list[str], list[str]]:
    """(house number, the street's words, the words from the first unit designator on)."""
    house = ""
    if len(words) > 1 and is_house_number(words[0]):
        house, words = words[0], words[1:]
    for i, word in enumerate(words):
        if word in UNIT_DESIGNATORS and i > 0:
            return house, words[:i], words[i:]
    return house, words, []


def parse_address(
    street_one: str, street_two: str | None, city: str | None, postal_code: str | None
) -> SearchColumns:
    house, street, unit_words = split_street_line(tokens(street_one))
    unit = unit_of(unit_words) if unit_words else unit_of(tokens(street_two))
    return SearchColumns(
        house=house[:20],
        street=street_name(street)[:200],
        unit=unit[:40],
        city=normal_city(city),
        zip=zip5(postal_code),
    )


@lru_cache(maxsize=8192)
def normal_city(city: str | None) -> str:
    """A city's words (cities repeat: each is normalised once)."""
    return " ".join(tokens(city))[:200]


def zip5(postal_code: str | None) -> str:
    if postal_code and postal_code[:5].isdigit():
        return postal_code[:5]
    digits = re.sub(r"\D", "", postal_code or "")
    return digits[:5] if len(digits) >= 5 else ""
