"""The address search: what a customer types → the workspace's locations, best first.

Whole-string similarity over every row was slow and missed (issue 15: 270-920 ms p95 and
0.88 hit@10 at 1M rows). Instead the stored addresses keep normalised columns
(normalize.py), and a query

1. of 10 or more digits is a service point id: exact, then by prefix;
2. with a house number reads the locations with exactly that number (the postal code and
   state filters applied), from an index holding every column the ranking needs;
   without one (or when no location has it), the locations whose street starts as the
   query's first word does;
3. ranks those candidates in Python (rapidfuzz): every split of the typed words into street
   and the rest is tried, the street part normalised as the stored one was (suffix and
   directionals dropped) and compared with the stored street (a prefix when it holds the last,
   maybe unfinished, word), the rest matched to the city, unit, ZIP code and state.

The same candidates and the same Python on both databases: the answers are identical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import Indel
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.location import search_repository as candidates_of
from enroll.location.normalize import is_house_number, street_name, tokens, zip5
from enroll.location.schemas import SearchRequest
from enroll.location.usps import DIRECTIONALS, STATE_NAMES, SUFFIXES, UNIT_DESIGNATORS
from enroll.models import ServiceLocation

SERVICE_POINT_DIGITS = 10
MAX_CANDIDATES = 5_000
MAX_WORDS = 12
MIN_SCORE = 0.5  # below it, a candidate shares little but the house number
_STREET_WEIGHT = 0.8
_NOISE = SUFFIXES.keys() | DIRECTIONALS.keys() | UNIT_DESIGNATORS


@dataclass(frozen=True, slots=True)
class Split:
    street: str  # the street part, normalised
    partial: bool  # it ends with the last typed word, maybe unfinished
    rest: tuple[str, ...]  # the words after it: city, unit, ZIP code, state


@dataclass(frozen=True, slots=True)
class Parsed:
    house: str
    words: tuple[str, ...]  # after the house number, without a unit designator and its unit
    unit: str  # the unit named after a designator (Apt 5, # 5, Unit 5)
    partial: bool
    splits: tuple[Split, ...]


def parse(query: str) -> Parsed:
    words = tokens(query)[:MAX_WORDS]
    partial = not query[-1:].isspace()
    house = ""
    if words and is_house_number(words[0]):
        house, words = words[0], words[1:]
    unit = ""
    for i, word in enumerate(words):
        if word in UNIT_DESIGNATORS and i > 0:
            value = words[i + 1] if i + 1 < len(words) else ""
            unit = "" if value in UNIT_DESIGNATORS else value
            partial = partial and i + 2 < len(words)  # the last word typed is not the unit
            words = words[:i] + words[i + 2 :]
            break
    splits = tuple(
        Split(
            street=street_name(words[:k]),
            partial=partial and k == len(words),
            rest=tuple(words[k:]),
        )
        for k in range(1, len(words) + 1)
    )
    return Parsed(house, tuple(words), unit, partial, splits)


def _similar(a: str, b: str) -> float:
    return float(Indel.normalized_similarity(a, b))


def street_score(typed: str, stored: str, partial: bool) -> float:
    full = _similar(typed, stored)
    if partial and len(typed) < len(stored):
        prefix = _similar(typed, stored[: len(typed)]) * (0.9 + 0.1 * len(typed) / len(stored))
        return max(full, prefix)
    return full


def rest_score(
    words: tuple[str, ...], partial: bool, unit: str, city: str, zip_code: str, state: str
) -> tuple[float, bool]:
    """The share of the words after the street that name the city, unit, ZIP code or state
    (suffixes, directionals and designators left over count for nothing); and whether one
    named the unit."""
    matched = counted = 0
    unit_named = False
    city_words = city.split()
    for i, word in enumerate(words):
        if word in _NOISE:
            continue
        counted += 1
        if unit and word == unit:
            matched += 1
            unit_named = True
        elif _names_place(word, i == len(words) - 1 and partial, city_words, zip_code, state):
            matched += 1
    return (matched / counted if counted else 1.0), unit_named


def _names_place(
    word: str, partial: bool, city_words: list[str], zip_code: str, state: str
) -> bool:
    if word in (zip_code, state) or STATE_NAMES.get(word) == state:
        return True
    return any(_city_word(word, c, partial) for c in city_words)


def _city_word(typed: str, stored: str, partial: bool) -> bool:
    if partial and len(typed) < len(stored):
        stored = stored[: len(typed)]
    return typed == stored or (len(typed) > 3 and _similar(typed, stored) >= 0.8)


def score(q: Parsed, street: str, unit: str, city: str, zip_code: str, state: str) -> float:
    best, named = (0.5, False) if not q.splits else (0.0, False)
    for split in q.splits:
        s = street_score(split.street, street, split.partial)
        if _STREET_WEIGHT * s + (1 - _STREET_WEIGHT) <= best:
            continue
        r, unit_named = rest_score(split.rest, q.partial, unit, city, zip_code, state)
        total = _STREET_WEIGHT * s + (1 - _STREET_WEIGHT) * r
        if total > best:
            best, named = total, unit_named
    if q.unit:
        best -= 0.0 if unit == q.unit else 0.15
    elif unit and not named:
        best -= 0.03
    return round(min(1.0, max(0.0, best)), 4)


async def search(
    session: AsyncSession, *, workspace_id: str, body: SearchRequest
) -> list[tuple[ServiceLocation, float]]:
    digits = re.sub(r"[\s-]", "", body.query)
    if digits.isdigit() and len(digits) >= SERVICE_POINT_DIGITS:
        found = await candidates_of.by_service_point_prefix(
            session, workspace_id=workspace_id, prefix=digits, limit=body.limit
        )
        return [(row, round(len(digits) / len(row.service_point_id), 4)) for row in found]
    q = parse(body.query)
    zip_filter = (zip5(body.postal_code) or body.postal_code) if body.postal_code else None
    rows = await _candidates(session, workspace_id, q, zip_filter, body.state)
    scored = [
        (score(q, r[1], r[2], r[3], r[4], (r[5] or "").lower()), r[1], r[2], r[0]) for r in rows
    ]
    ranked = sorted(
        (t for t in scored if t[0] >= MIN_SCORE), key=lambda t: (-t[0], t[1], t[2], t[3])
    )[: body.limit]
    chosen = {
        row.id: row
        for row in await candidates_of.rows(
            session, workspace_id=workspace_id, ids=[t[3] for t in ranked]
        )
    }
    return [(chosen[t[3]], t[0]) for t in ranked if t[3] in chosen]


async def _candidates(
    session: AsyncSession, workspace_id: str, q: Parsed, zip_filter: str | None, state: str | None
) -> list[candidates_of.Candidate]:
    if q.house:
        found = await candidates_of.by_house(
            session,
            workspace_id=workspace_id,
            house=q.house,
            zip5=zip_filter,
            state=state,
            limit=MAX_CANDIDATES,
        )
        if found:
            return list(found)
    first = next((w for w in q.words if w not in DIRECTIONALS), None)
    if not first:
        return []
    return list(
        await candidates_of.by_street_prefix(
            session,
            workspace_id=workspace_id,
            prefix=first[:3],
            zip5=zip_filter,
            state=state,
            limit=MAX_CANDIDATES,
        )
    )
