"""The JsonLogic conformance suite (data/jsonlogic_tests.json, verbatim), every case, both ways.

Each case runs through ``apply`` (the cached path) and through ``compile_rule``, and its rule
must pass ``validate_rule``. Values are compared type-aware: a bool never equals a number, ints
and floats compare numerically. No case is excluded: ``EXCLUDED`` lists deliberate exclusions,
with the reason, and is empty.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from enroll.eligibility.jsonlogic import apply, compile_rule, validate_rule

SUITE = Path(__file__).parent / "data" / "jsonlogic_tests.json"
EXCLUDED: dict[int, str] = {}  # case index -> why it is deliberately not supported


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values that keeps booleans and numbers apart (``True == 1`` in Python)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def load_cases() -> list[tuple[int, Any, Any, Any]]:
    entries = json.loads(SUITE.read_text(encoding="utf-8"))
    cases = [entry for entry in entries if isinstance(entry, list)]
    return [(i, rule, data, expected) for i, (rule, data, expected) in enumerate(cases)]


CASES = load_cases()


def case_id(case: tuple[int, Any, Any, Any]) -> str:
    i, rule, data, _ = case
    text = f"{i}:{json.dumps(rule, separators=(',', ':'))}@{json.dumps(data)}"
    return text if len(text) <= 80 else text[:77] + "..."


def test_the_suite_is_all_there() -> None:
    assert len(CASES) == 278
    assert not EXCLUDED


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_case(case: tuple[int, Any, Any, Any]) -> None:
    i, rule, data, expected = case
    if i in EXCLUDED:
        pytest.skip(EXCLUDED[i])
    validate_rule(rule)
    via_apply = apply(rule, data)
    via_compile = compile_rule(rule)(data)
    assert json_equal(via_apply, expected), f"apply gave {via_apply!r}, expected {expected!r}"
    assert json_equal(via_compile, expected), f"compiled gave {via_compile!r}"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (True, 1, False),
        (False, 0, False),
        (1, 1.0, True),
        ([1, True], [1.0, True], True),
        ([1, True], [1, 1], False),
        ({"a": [0]}, {"a": [False]}, False),
        (None, 0, False),
        ("1", 1, False),
        (math.nan, math.nan, True),
    ],
)
def test_json_equal_keeps_booleans_and_numbers_apart(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
