"""JsonLogic (https://jsonlogic.com) with json-logic-js's semantics; see ``evaluator``."""

from enroll.eligibility.jsonlogic._budget import RuleTooCostly, evaluation_budget
from enroll.eligibility.jsonlogic._js import truthy
from enroll.eligibility.jsonlogic.errors import RuleError, RuleTooComplex
from enroll.eligibility.jsonlogic.evaluator import apply, compile_rule
from enroll.eligibility.jsonlogic.operators import OPERATORS
from enroll.eligibility.jsonlogic.validate import (
    MAX_ARRAY_LENGTH,
    MAX_DEPTH,
    MAX_ITERATION_NESTING,
    MAX_NODES,
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
