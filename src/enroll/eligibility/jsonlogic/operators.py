"""The operator table: every operator's builder, argument counts and write-time check, put
into ``compiler.OPS`` (which ``compile_node`` dispatches on) when this module is imported."""

from __future__ import annotations

import operator
from typing import Final

from enroll.eligibility.jsonlogic._js import (
    INF,
    greater_equal,
    greater_than,
    less_equal,
    less_than,
    loose_equal,
    strict_equal,
)
from enroll.eligibility.jsonlogic.arithmetic import (
    build_add,
    build_multiply,
    divide,
    extreme,
    modulo,
    subtract,
)
from enroll.eligibility.jsonlogic.arrays import (
    build_all,
    build_filter,
    build_map,
    build_merge,
    build_none,
    build_reduce,
    build_some,
)
from enroll.eligibility.jsonlogic.comparison import build_binary, build_in, build_relation
from enroll.eligibility.jsonlogic.compiler import OPS, Spec
from enroll.eligibility.jsonlogic.logic import (
    build_if,
    build_junction,
    build_log,
    build_not,
    build_truthy,
)
from enroll.eligibility.jsonlogic.operator_checks import (
    check_in,
    check_missing_some,
    check_reduce,
    check_scoped,
    check_var,
)
from enroll.eligibility.jsonlogic.strings import build_cat, build_substr
from enroll.eligibility.jsonlogic.var import build_missing, build_missing_some, build_var

OPS.update(
    {
        "==": Spec(build_binary(loose_equal), 2, 2, boolean=True),
        "!=": Spec(build_binary(lambda a, b: not loose_equal(a, b)), 2, 2, boolean=True),
        "===": Spec(build_binary(strict_equal), 2, 2, boolean=True),
        "!==": Spec(build_binary(lambda a, b: not strict_equal(a, b)), 2, 2, boolean=True),
        ">": Spec(build_relation(greater_than, operator.gt), 2, 2, boolean=True),
        ">=": Spec(build_relation(greater_equal, operator.ge), 2, 2, boolean=True),
        "<": Spec(build_relation(less_than, operator.lt, between=True), 2, 3, boolean=True),
        "<=": Spec(build_relation(less_equal, operator.le, between=True), 2, 3, boolean=True),
        "!": Spec(build_not, 1, 1, boolean=True),
        "!!": Spec(build_truthy, 1, 1, boolean=True),
        "and": Spec(build_junction(is_and=True), 1, undefined_below=1),
        "or": Spec(build_junction(is_and=False), 1, undefined_below=1),
        "if": Spec(build_if),
        "?:": Spec(build_if),
        "in": Spec(build_in, 2, 2, boolean=True, check=check_in),
        "var": Spec(build_var, 0, 2, check=check_var),
        "missing": Spec(build_missing),
        "missing_some": Spec(build_missing_some, 2, 2, check=check_missing_some),
        "+": Spec(build_add),
        "-": Spec(build_binary(subtract), 1, 2),
        "*": Spec(build_multiply, 1),
        "/": Spec(build_binary(divide), 2, 2),
        "%": Spec(build_binary(modulo), 2, 2),
        "min": Spec(extreme(min, INF), 1),
        "max": Spec(extreme(max, -INF), 1),
        "cat": Spec(build_cat),
        "substr": Spec(build_substr, 2, 3),
        "merge": Spec(build_merge),
        "map": Spec(build_map, 2, 2, list_args=True, check=check_scoped, undefined_below=2),
        "filter": Spec(build_filter, 2, 2, list_args=True, check=check_scoped),
        "reduce": Spec(build_reduce, 2, 3, list_args=True, check=check_reduce, undefined_below=2),
        "all": Spec(build_all, 2, 2, list_args=True, boolean=True, check=check_scoped),
        "some": Spec(build_some, 2, 2, list_args=True, boolean=True, check=check_scoped),
        "none": Spec(build_none, 2, 2, list_args=True, boolean=True, check=check_scoped),
        "log": Spec(build_log, 1, 1, undefined_below=1),
    }
)

OPERATORS: Final[frozenset[str]] = frozenset(OPS)

__all__ = ["OPERATORS", "OPS"]
