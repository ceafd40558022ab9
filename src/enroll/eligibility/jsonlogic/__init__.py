"""JsonLogic (https://jsonlogic.com) with json-logic-js's semantics; see ``evaluator``."""

from enroll.eligibility.jsonlogic.evaluator import (
    MAX_ARRAY_LENGTH,
    MAX_DEPTH,
    MAX_ITERATION_NESTING,
    MAX_NODES,
    OPERATORS,
    RuleError,
    RuleTooComplex,
    RuleTooCostly,
    apply,
    compile_rule,
    evaluation_budget,
    truthy,
    validate_rule,
)

__all__ = [
    "MAX_ARRAY_LENGTH",
    "MAX_DEPTH",
    "MAX_ITERATION_NESTING",
    "MAX_NODES",
    "OPERATORS",
    "RuleError",
    "RuleTooComplex",
    "RuleTooCostly",
    "apply",
    "compile_rule",
    "evaluation_budget",
    "truthy",
    "validate_rule",
]
