"""JsonLogic (https://jsonlogic.com) with json-logic-js's semantics; see ``evaluator``."""

from enroll.eligibility.jsonlogic.evaluator import (
    MAX_DEPTH,
    OPERATORS,
    RuleError,
    apply,
    compile_rule,
    truthy,
    validate_rule,
)

__all__ = [
    "MAX_DEPTH",
    "OPERATORS",
    "RuleError",
    "apply",
    "compile_rule",
    "truthy",
    "validate_rule",
]
