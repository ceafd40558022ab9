"""JsonLogic's cost bounds (issue 13, A1): static limits refuse a rule at save time, and every
evaluation runs under a budget of operations and of produced items and characters, so no rule
holds the process (or its memory) however it is written."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from typing import Any

import pytest

from enroll.eligibility.jsonlogic import (
    RuleError,
    RuleTooComplex,
    RuleTooCostly,
    apply,
    compile_rule,
    evaluation_budget,
    validate_rule,
)

# The issue's two rules, verbatim: three nested maps over a 150-element array (2 KB), and a
# 318-byte reduce that joins the accumulator with itself 29 times.
A = list(range(150))
NESTED_MAPS = {"!!": {"map": [A, {"map": [A, {"map": [A, {"cat": ["x", {"var": ""}]}]}]}]}}
DOUBLING = {
    "!!": {
        "reduce": [
            list(range(29)),
            {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]},
            "xxxxxxxx",
        ]
    }
}
# One evaluation may hold the event loop for about this long (CPU time of this thread, which a
# busy machine disturbs less than wall time).
EVENT_LOOP_SLICE = 0.05


def cpu_seconds(rule: Any, data: Any = None) -> float:
    f = compile_rule(rule)
    start = time.thread_time()
    with pytest.raises(RuleTooCostly):
        f(data)
    return time.thread_time() - start


def test_the_issues_rules_are_refused_at_save_time() -> None:
    with pytest.raises(RuleTooComplex, match="iterating operators"):
        validate_rule(NESTED_MAPS)
    with pytest.raises(RuleTooComplex, match="accumulator"):
        validate_rule(DOUBLING)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"in": [{"var": "zip"}, ["x"] * 25_001]}, "array of 25001 items"),
        ({"or": [{"==": [{"var": "a"}, i]} for i in range(12_500)]}, "50000"),
        ({"!": {"!": {"!": True}}}, None),  # depth is checked as before
        ({"some": [{"var": "a"}, {"all": [{"var": ""}, {"none": [{"var": ""}, True]}]}]}, "2"),
        (
            {"reduce": [{"var": "a"}, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}]},
            "accumulator",
        ),
    ],
)
def test_static_limits(rule: Any, message: str | None) -> None:
    if message is None:
        validate_rule(rule)
        return
    with pytest.raises(RuleTooComplex, match=message) as raised:
        validate_rule(rule)
    assert isinstance(raised.value, RuleError)


def test_large_rules_within_the_limits_are_stored() -> None:
    validate_rule({"in": [{"var": "zip"}, [f"{i:05}" for i in range(20_000)]]})
    validate_rule({"or": [{"==": [{"var": "metadata.n"}, i]} for i in range(1_500)]})
    validate_rule({"some": [{"var": "a"}, {"some": [{"var": ""}, {"==": [{"var": ""}, 1]}]}]})
    accumulate = {"reduce": [{"var": "a"}, {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]}
    validate_rule(accumulate)
    assert apply(accumulate, {"a": [1, 2, 3]}) == 6


def test_the_nested_maps_stop_within_one_slice_of_the_event_loop() -> None:
    assert cpu_seconds(NESTED_MAPS) < EVENT_LOOP_SLICE


def test_the_doubling_reduce_stops_without_growing_memory() -> None:
    tracemalloc.start()
    try:
        assert cpu_seconds(DOUBLING) < EVENT_LOOP_SLICE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


@pytest.mark.parametrize(
    ("rule", "data"),
    [
        # A quadratic reduce over the data: each step copies the accumulator.
        (
            {"reduce": [{"var": "a"}, {"merge": [{"var": "accumulator"}, {"var": "current"}]}, []]},
            {"a": list(range(60_000))},
        ),
        # Searching a large array from the data, from inside an iteration.
        (
            {"some": [[{"var": "a"}] * 150, {"in": ["zz", {"var": ""}]}]},
            {"a": ["y"] * 200_000},
        ),
        (
            {"reduce": [A, {"in": [{"var": "current"}, {"var": "accumulator"}]}, {"var": "a"}]},
            {"a": ["y"] * 200_000},
        ),
        # String work over large data: lengths of non-BMP text, indexes, numbers.
        (
            {"map": [[{"var": "s"}] * 150, {"var": "length"}]},
            {"s": "\U0001f600" * 200_000},
        ),
        (
            {"reduce": [A, {"substr": [{"var": "accumulator"}, 1]}, {"var": "s"}]},
            {"s": "\U0001f600" * 200_000},
        ),
        (
            {"reduce": [A, {"cat": [{"var": "accumulator"}, "!"]}, {"var": "a"}]},
            {"a": list(range(100_000))},
        ),
        (
            {"reduce": [A, {"==": [{"var": "accumulator"}, 0]}, {"var": "a"}]},
            {"a": list(range(100_000))},
        ),
    ],
)
def test_data_driven_work_is_charged(rule: Any, data: Any) -> None:
    validate_rule(rule)  # statically allowed: the budget is what bounds it
    f = compile_rule(rule)
    start = time.thread_time()
    with contextlib.suppress(RuleTooCostly):
        f(data)
    assert time.thread_time() - start < EVENT_LOOP_SLICE


def test_one_budget_spans_the_rules_of_one_evaluation() -> None:
    costly = compile_rule({"map": [list(range(5_000)), {"+": [{"var": ""}, 1]}]})
    cheap = compile_rule({"==": [{"var": "a"}, 1]})
    costly(None)  # alone, within the budget
    with evaluation_budget(), pytest.raises(RuleTooCostly):
        for _ in range(10):
            costly(None)
    with evaluation_budget():
        assert cheap({"a": 1}) is True
    assert compile_rule({"cat": ["a", "b"]})(None) == "ab"
