"""The JsonLogic evaluator beyond the conformance suite: JavaScript's coercions, validation,
truthiness, and the eligibility rule the issue gives as its example."""

from __future__ import annotations

import math
from typing import Any

import pytest

from enroll.eligibility.jsonlogic import (
    MAX_DEPTH,
    OPERATORS,
    RuleError,
    apply,
    compile_rule,
    truthy,
    validate_rule,
)

NAN, INF = math.nan, math.inf
EQUIPMENT = {"some": [{"var": "manufacturerSlugs"}, {"in": [{"var": ""}, ["tesla", "enphase"]]}]}


def json_equal(a: Any, b: Any) -> bool:
    """Like test_jsonlogic_conformance's: bools are not numbers, ints and floats compare equal."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def evaluate(rule: Any, data: Any = None) -> Any:
    """Both ways, which must agree; the compiled value."""
    compiled = compile_rule(rule)(data)
    assert json_equal(apply(rule, data), compiled)
    return compiled


# --- the issue's example -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "eligible"),
    [
        ({"manufacturerSlugs": ["tesla"]}, True),
        ({"manufacturerSlugs": ["lg", "enphase"]}, True),
        ({"manufacturerSlugs": ["lg"]}, False),
        ({"manufacturerSlugs": []}, False),
        ({"manufacturerSlugs": None}, False),
        ({}, False),
        (None, False),
        ({"manufacturerSlugs": "tesla"}, False),  # a string is not an array
        ({"manufacturerSlugs": ("lg", "tesla")}, True),  # tuples are arrays
    ],
)
def test_issue_example(data: Any, eligible: bool) -> None:
    validate_rule(EQUIPMENT)
    assert evaluate(EQUIPMENT, data) is eligible


# --- truthiness --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], False),
        ((), False),
        ([0], True),
        ([[]], True),
        ("0", True),
        ("", False),
        ("false", True),
        (" ", True),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (NAN, False),
        (1, True),
        (-1, True),
        (0.5, True),
        (INF, True),
        ({}, True),
        ({"a": 0, "b": 1}, True),  # one key would be an operator
        (None, False),
        (True, True),
        (False, False),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
    assert evaluate({"!!": [value]}) is expected
    assert evaluate({"!": [value]}) is (not expected)


# --- semantics, case by case -------------------------------------------------------------------

SEMANTICS: list[tuple[str, Any, Any, Any]] = [
    # loose and strict equality
    ("null is not 0", {"==": [None, 0]}, None, False),
    ("[] == false", {"==": [[], False]}, None, True),
    ("array to string", {"==": [[1, 2], "1,2"]}, None, True),
    ("true == '1'", {"==": [True, "1"]}, None, True),
    ("'' == 0", {"==": ["", 0]}, None, True),
    ("whitespace == 0", {"==": [" \n", 0]}, None, True),
    ("hex string", {"==": ["0x10", 16]}, None, True),
    ("null == undefined", {"==": [None]}, None, True),
    ("null !== undefined", {"===": [None]}, None, False),
    ("1 === 1.0", {"===": [1, 1.0]}, None, True),
    ("true !== 1", {"===": [True, 1]}, None, False),
    ("arrays by identity", {"===": [[1], [1]]}, None, False),
    ("same array", {"===": [{"var": "x"}, {"var": "x"}]}, {"x": [1]}, True),
    ("NaN != NaN", {"==": [{"+": "x"}, {"+": "x"}]}, None, False),
    ("objects vs strings", {"==": [{"var": "o"}, "[object Object]"]}, {"o": {"a": 1}}, True),
    # relational
    ("strings by code unit", {"<": ["10", "9"]}, None, True),
    ("string vs number", {"<": ["10", 9]}, None, False),
    ("null is 0", {"<": [None, 1]}, None, True),
    ("NaN is never ordered", {">": ["abc", 1]}, None, False),
    ("NaN <= is false", {"<=": ["abc", 1]}, None, False),
    ("string <=", {"<=": ["a", "a"]}, None, True),
    ("between with null", {"<": [1, 2, {"var": "none"}]}, {}, False),
    ("between with undefined", {"<": [1, 2, {"or": []}]}, None, True),
    ("UTF-16 order", {"<": ["\U0001f600", "\uffff"]}, None, True),
    ("bool is a number", {">": [True, 0]}, None, True),
    # arithmetic
    ("empty sum", {"+": []}, None, 0),
    ("parseFloat prefix", {"+": ["3.5kg", 1]}, None, 4.5),
    ("parseFloat(true)", {"+": [True]}, None, NAN),
    ("unary * returns its argument", {"*": ["2"]}, None, "2"),
    ("unary minus", {"-": ["5"]}, None, -5),
    ("Number() is strict", {"-": ["5kg", 1]}, None, NAN),
    ("divide by zero", {"/": [1, 0]}, None, INF),
    ("divide by negative zero", {"/": [1, {"-": [0]}]}, None, -INF),
    ("zero by zero", {"/": [0, 0]}, None, NAN),
    ("integral quotient", {"/": [4, 2]}, None, 2),
    ("float quotient", {"/": [1, 4]}, None, 0.25),
    ("remainder keeps the dividend's sign", {"%": [-7, 2]}, None, -1),
    ("remainder by zero", {"%": [7, 0]}, None, NAN),
    ("max of nothing", {"max": []}, None, -INF),
    ("min of nothing", {"min": []}, None, INF),
    ("max coerces", {"max": ["3", 2]}, None, 3),
    ("max with NaN", {"max": [1, "x"]}, None, NAN),
    # strings
    (
        "cat uses String()",
        {"cat": [1, 1.5, True, None, [1, [2, None]], {"var": "o"}]},
        {"o": {"a": 1}},
        "11.5true1,2,[object Object]",
    ),
    (
        "cat of big numbers",
        {"cat": [1e21, " ", 1.2345678901234568e20]},
        None,
        "1e+21 123456789012345680000",
    ),
    (
        "cat of small numbers",
        {"cat": [0.000001, " ", 1e-7, " ", 2.0, " ", -0.0]},
        None,
        "0.000001 1e-7 2 0",
    ),
    ("substr by code units", {"substr": ["a\U0001f600b", 1, 2]}, None, "\U0001f600"),
    ("substr coerces", {"substr": [12345, "1", 2]}, None, "23"),
    ("substr negative length", {"substr": ["abcdef", 1, -2]}, None, "bcd"),
    ("substr past the end", {"substr": ["abc", 5]}, None, ""),
    # in
    ("in a string coerces", {"in": [1, "a1"]}, None, True),
    ("in an empty string", {"in": ["", ""]}, None, False),
    ("1 is not true", {"in": [1, [True]]}, None, False),
    ("true is not 1", {"in": [True, [1]]}, None, False),
    ("1 is 1.0", {"in": [1, [1.0]]}, None, True),
    ("null in a list", {"in": [None, [None]]}, None, True),
    ("in null", {"in": ["x", None]}, None, False),
    ("in an object", {"in": ["a", {"var": "o"}]}, {"o": {"a": 1}}, False),
    ("computed list", {"in": [{"var": "s"}, {"var": "l"}]}, {"s": "b", "l": ["a", "b"]}, True),
    # var
    ("array index in a path", {"var": "a.0.b"}, {"a": [{"b": 1}]}, 1),
    ("array length", {"var": "l.length"}, {"l": [1, 2, 3]}, 3),
    ("string index", {"var": "s.1"}, {"s": "abc"}, "b"),
    ("null is not missing", {"var": ["a", 5]}, {"a": None}, None),
    ("missing takes the default", {"var": ["a", 5]}, {}, 5),
    ("no such index", {"var": "a.01"}, {"a": [1, 2]}, None),
    ("into a number", {"var": "x"}, 5, None),
    ("tuple index", {"var": "t.1"}, {"t": ("x", "y")}, "y"),
    ("dotted key is a path", {"var": "a.b"}, {"a.b": 1}, None),
    ("computed default", {"var": ["a", {"var": "b"}]}, {"b": 2}, 2),
    # missing
    ("empty string is missing", {"missing": ["a"]}, {"a": ""}, ["a"]),
    ("zero is present", {"missing": ["a", "b"]}, {"a": 0, "b": False}, []),
    ("missing_some", {"missing_some": [1, ["a", "b"]]}, {"b": 0}, []),
    # logic and arrays
    ("and returns the deciding value", {"and": [1, "", 2]}, None, ""),
    ("or returns the deciding value", {"or": [0, [], "x"]}, None, "x"),
    ("or without arguments", {"or": []}, None, None),
    ("undefined in an array is null", [{"and": []}, 1], None, [None, 1]),
    ("else-if chain", {"if": [False, 1, 0, 2, "", 3, 4]}, None, 4),
    ("all over a string", {"all": ["abc", True]}, None, False),
    ("some over null", {"some": [None, True]}, None, False),
    ("none over null", {"none": [None, True]}, None, True),
    ("reduce starts from null", {"reduce": [[1], {"+": [{"var": "accumulator"}, 1]}]}, None, NAN),
    ("reduce with initial", {"reduce": [[1, 2], {"+": [{"var": "accumulator"}, 1]}, 0]}, None, 2),
    ("map elements", {"map": [[1, "2"], {"+": {"var": ""}}]}, None, [1, 2]),
    (
        "filter by truthiness",
        {"filter": [[0, 1, "", "0", [], [0]], {"var": ""}]},
        None,
        [1, "0", [0]],
    ),
    ("merge one level", {"merge": [[1, [2]], 3, None]}, None, [1, [2], 3, None]),
    ("log returns its argument", {"log": {"var": "a"}}, {"a": [1]}, [1]),
    ("objects with two keys are data", {"a": 1, "b": 2}, None, {"a": 1, "b": 2}),
]


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [pytest.param(rule, data, expected, id=name) for name, rule, data, expected in SEMANTICS],
)
def test_semantics(rule: Any, data: Any, expected: Any) -> None:
    got = evaluate(rule, data)
    assert json_equal(got, expected), f"got {got!r}, expected {expected!r}"
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        assert type(got) is type(expected) or math.isnan(expected) or math.isinf(expected)


def test_results_are_fresh_each_time() -> None:
    first = apply({"merge": [[1], [2]]})
    first.append(3)
    assert apply({"merge": [[1], [2]]}) == [1, 2]
    literal = compile_rule([1, 2])
    literal(None).append(3)
    assert literal(None) == [1, 2]


def test_apply_takes_rules_that_are_not_json() -> None:
    assert apply({"in": ["a", ("a", "b")]}) is True
    assert apply({"==": [{"var": "x"}, 1]}, {"x": 1}) is True
    assert apply({"!!": [{1, 2}]}) is True  # not JSON: compiled without the cache


def test_apply_cache_tells_null_from_nan_and_infinity() -> None:
    rules = [{"==": [{"var": "x"}, v]} for v in (None, NAN, INF)]
    for _ in range(2):  # the second time from the cache
        assert [apply(rule, {}) for rule in rules] == [True, False, False]
        assert [apply(rule, {"x": INF}) for rule in rules] == [False, False, True]


# --- compile errors ----------------------------------------------------------------------------


def test_unknown_operator_fails_to_compile_even_where_unreached() -> None:
    with pytest.raises(RuleError) as caught:
        compile_rule({"if": [False, {"and": [True, {"nope": [1]}]}, 1]})
    assert caught.value.path == "/if/1/and/1"
    assert "nope" in caught.value.message


def test_multiply_without_arguments_fails_to_compile() -> None:
    with pytest.raises(RuleError):
        compile_rule({"*": []})


def test_compiling_is_lenient_where_json_logic_js_is() -> None:
    assert compile_rule({"==": [1]})(None) is False  # 1 == undefined
    assert compile_rule({"var": True})({"true": 1}) == 1  # String(true)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "words"),
    [
        ({"nope": 1}, "", "unknown operator"),
        ({"and": [{"==": [1, 1]}, {"bogus": [1]}]}, "/and/1", "'bogus'"),
        ({"and": [True, {"in": [{"nope": 1}, [1]]}]}, "/and/1/in/0", "unknown operator"),
        ({"!": {"nope": 1}}, "/!", "unknown operator"),
        ({"/": [1, {"x": 1}]}, "/~1/1", "unknown operator"),
        ({"or": [{"a": 1, "b": 2}]}, "/or/0", "exactly one key"),
        ({}, "", "exactly one key"),
        ({"var": True}, "/var", "path"),
        ({"var": [["a"]]}, "/var/0", "path"),
        ({"var": ["a", 1, 2]}, "", "0 to 2 arguments"),
        ({"some": {"var": "x"}}, "/some", "list of arguments"),
        ({"some": [{"var": "x"}]}, "", "2 arguments"),
        ({"all": [{"var": "x"}, True, False]}, "", "2 arguments"),
        ({"map": [1, {"var": ""}]}, "/map/0", "array"),
        ({"reduce": [[1], {"var": "current"}, 0, 1]}, "", "2 to 3 arguments"),
        ({"substr": ["abc"]}, "", "2 to 3 arguments"),
        ({"substr": ["abc", 1, 2, 3]}, "", "2 to 3 arguments"),
        ({"==": [1]}, "", "2 arguments"),
        ({">": [1, 2, 3]}, "", "2 arguments"),
        ({"<": [1, 2, 3, 4]}, "", "2 to 3 arguments"),
        ({"!": [1, 2]}, "", "1 argument,"),
        ({"*": []}, "", "at least 1"),
        ({"and": []}, "", "at least 1"),
        ({"max": []}, "", "at least 1"),
        ({"in": ["a", 5]}, "/in/1", "string or an array"),
        ({"missing_some": ["1", ["a"]]}, "/missing_some/0", "number"),
        ({"missing_some": [1, "a"]}, "/missing_some/1", "list"),
        ({"==": [1, {1, 2}]}, "/==/1", "not a JSON value"),
        ({"==": [1, NAN]}, "/==/1", "not a JSON number"),
        ({"if": [True, [1, {"x": 1}]]}, "/if/1/1", "unknown operator"),
        ({"~a/b": 1}, "", "unknown operator"),
        ({"cat": [{"~a/b": 1}]}, "/cat/0", "unknown operator"),
    ],
)
def test_validate_rejects(rule: Any, path: str, words: str) -> None:
    with pytest.raises(RuleError) as caught:
        validate_rule(rule)
    assert caught.value.path == path
    assert words in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_pointer_escapes_operator_names() -> None:
    with pytest.raises(RuleError) as caught:
        validate_rule({"!": {"var": {"a/b~": 1}}})
    assert caught.value.path == "/!/var"


def test_validate_limits_depth() -> None:
    rule: Any = True
    for _ in range(MAX_DEPTH + 1):
        rule = {"!": [rule]}
    with pytest.raises(RuleError, match="deeper"):
        validate_rule(rule)
    shallow: Any = True
    for _ in range(MAX_DEPTH // 2):
        shallow = {"!": [shallow]}
    validate_rule(shallow)


# One valid use of every operator: validate accepts it and both evaluation paths agree on it.
EXAMPLES: dict[str, tuple[Any, Any]] = {
    "==": ({"==": [{"var": "n"}, "1"]}, True),
    "!=": ({"!=": [{"var": "n"}, 2]}, True),
    "===": ({"===": [{"var": "n"}, 1]}, True),
    "!==": ({"!==": [{"var": "n"}, "1"]}, True),
    ">": ({">": [{"var": "n"}, 0]}, True),
    ">=": ({">=": [{"var": "n"}, 1]}, True),
    "<": ({"<": [0, {"var": "n"}, 2]}, True),
    "<=": ({"<=": [{"var": "n"}, 1]}, True),
    "!": ({"!": {"var": "flag"}}, True),
    "!!": ({"!!": [{"var": "list"}]}, True),
    "and": ({"and": [{"var": "n"}, {"var": "s"}]}, "ab"),
    "or": ({"or": [{"var": "flag"}, {"var": "n"}]}, 1),
    "if": ({"if": [{"var": "flag"}, "yes", "no"]}, "no"),
    "?:": ({"?:": [{"var": "n"}, "yes", "no"]}, "yes"),
    "in": ({"in": [{"var": "s"}, ["ab", "cd"]]}, True),
    "var": ({"var": ["nothing", 7]}, 7),
    "missing": ({"missing": ["n", "nothing"]}, ["nothing"]),
    "missing_some": ({"missing_some": [1, ["n", "nothing"]]}, []),
    "+": ({"+": [{"var": "n"}, "2"]}, 3),
    "-": ({"-": [{"var": "n"}, 3]}, -2),
    "*": ({"*": [{"var": "n"}, 2.5]}, 2.5),
    "/": ({"/": [{"var": "n"}, 8]}, 0.125),
    "%": ({"%": [7, 4]}, 3),
    "min": ({"min": [{"var": "list"}, 3]}, 1),
    "max": ({"max": [{"var": "n"}, 3]}, 3),
    "cat": ({"cat": [{"var": "s"}, "-", {"var": "n"}]}, "ab-1"),
    "substr": ({"substr": [{"var": "s"}, -1]}, "b"),
    "merge": ({"merge": [{"var": "list"}, 2]}, [1, 2]),
    "map": ({"map": [{"var": "list"}, {"*": [{"var": ""}, 2]}]}, [2]),
    "filter": ({"filter": [[1, 2, 3], {">": [{"var": ""}, 1]}]}, [2, 3]),
    "reduce": ({"reduce": [[1, 2], {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, 3),
    "all": ({"all": [{"var": "list"}, {"==": [{"var": ""}, 1]}]}, True),
    "some": ({"some": [[1, 2], {"==": [{"var": ""}, 2]}]}, True),
    "none": ({"none": [{"var": "list"}, {"==": [{"var": ""}, 2]}]}, True),
    "log": ({"log": "hello"}, "hello"),
}
EXAMPLE_DATA = {"n": 1, "s": "ab", "flag": False, "list": [1]}


def test_every_operator_has_an_example() -> None:
    assert set(EXAMPLES) == OPERATORS


@pytest.mark.parametrize("op", sorted(EXAMPLES))
def test_operator_example(op: str) -> None:
    rule, expected = EXAMPLES[op]
    validate_rule(rule)
    assert json_equal(evaluate(rule, EXAMPLE_DATA), expected)


def test_rule_error_message() -> None:
    error = RuleError("unknown operator 'x'", path="/and/0")
    assert (error.message, error.path) == ("unknown operator 'x'", "/and/0")
    assert "/and/0" in str(error)
    assert str(RuleError("bad")) == "bad"
