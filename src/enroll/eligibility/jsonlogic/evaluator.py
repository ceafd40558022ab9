"""JsonLogic rules, compiled once into closures, with json-logic-js's semantics.

``compile_rule(rule)`` turns a rule into a function of the data; ``apply(rule, data)`` does the
same through a small cache; ``validate_rule(rule)`` (``validate.py``) is the stricter check for
storing a rule. One table, ``OPS`` (``operators.py``), defines the operators for all three.

Semantics are json-logic-js's (2.x), including JavaScript's coercions: ``==`` is loose
equality and ``===`` strict (arrays and objects equal only themselves); ``<`` and friends
compare strings by UTF-16 code units when both sides are strings and numbers otherwise, with
NaN false; ``+`` and ``*`` apply ``parseFloat``, the others ``Number()``; ``cat`` and ``in`` use
``String()`` (``1.5`` → ``"1.5"``, ``[1, 2]`` → ``"1,2"``; ``cat`` joins like
``Array.prototype.join``, so null adds nothing); ``and``/``or`` return the deciding value; empty
arrays are falsy; ``all`` of an empty array is false. Results are plain JSON values: numbers that
an operator computes are ``int`` when integral (JavaScript has one number type), so
``{"/": [4, 2]}`` gives ``2``; values read from the data come back unchanged; ``*`` of a single
argument returns it untouched (as ``Array.prototype.reduce`` does). ``min``/``max`` of nothing
are ``-inf``/``inf``, like JavaScript's. Missing arguments are JavaScript's undefined inside
(``{"==": [null]}`` is true, ``{"===": [null]}`` false) and null in results. ``log`` returns
its argument without printing.

Where json-logic-js differs from this module:

* ``compile_rule`` (and so ``apply``) raises RuleError for an unknown operator anywhere in the
  rule, and for ``*`` without arguments, where json-logic-js throws only once evaluation
  reaches them. Dotted operators (``Math.abs``) and ``method`` are not supported.
* ``var`` reads the data's own values only: object keys, array and string indexes and the
  ``length`` of arrays and strings, never inherited JavaScript properties. Tuples are arrays.
* Integers beyond 2**53 keep their precision in comparisons (JavaScript would round them).
* ``missing_some`` with a null key list returns [] (json-logic-js throws a TypeError), and
  ``missing`` takes its keys as they are (json-logic-js would run a one-key object as a rule).

``validate_rule`` is stricter than evaluation (see ``validate.py``).

Every evaluation runs under a budget (``_budget.py``): work is charged before it is done, and
an evaluation that would spend more raises ``RuleTooCostly``.

Where things are: ``compiler.py`` compiles a node of a rule by the operator table
(``operators.py``), whose builders are in ``var.py`` (``var``, ``missing``), ``logic.py``,
``comparison.py``, ``arrays.py``, ``arithmetic.py`` and ``strings.py``; ``_js.py`` holds
JavaScript's coercions, ``_budget.py`` the budget, ``sql.py`` the SQL target.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Final

import orjson

from enroll.eligibility.jsonlogic._budget import produce
from enroll.eligibility.jsonlogic._budget import run as run_budgeted
from enroll.eligibility.jsonlogic._js import UNDEFINED, is_array
from enroll.eligibility.jsonlogic.compiler import Compiled, compile_node, is_call, weight
from enroll.eligibility.jsonlogic.errors import RuleError
from enroll.eligibility.jsonlogic.operators import OPS

_CACHE_SIZE: Final = 512


def compile_rule(rule: Any) -> Compiled:
    """Compile ``rule`` once into a function of the data. Raises RuleError (see module doc)."""
    try:
        f = compile_node(rule, "")
    except RecursionError:
        raise RuleError("rule nests too deeply to compile") from None
    if _yields_undefined(rule):
        f = _then_defined(f)
    cost = weight(rule)

    def evaluate(data: Any) -> Any:
        # Every evaluation runs under a budget (RuleTooCostly past it): one of its own, or
        # the caller's (evaluation_budget), which an enrollment's criteria share. The weight
        # pays for each node once; iterations charge for their elements as they start.
        return run_budgeted(f, data, cost)

    return evaluate


def _then_defined(f: Compiled) -> Compiled:
    return lambda data: _defined(f(data))


def apply(rule: Any, data: Any = None) -> Any:
    """Evaluate ``rule`` against ``data``: compiled once per distinct rule (a small LRU cache
    keyed on the rule's canonical JSON), then run. Raises RuleError like ``compile_rule``."""
    if not isinstance(rule, dict | list | tuple):
        return rule
    key = _canonical(rule)
    if key is None:  # not JSON: compile without the cache
        return compile_rule(rule)(data)
    return _cached(key)(data)


def _canonical(rule: Any) -> bytes | None:
    """The rule's canonical JSON (sorted keys), told apart from any other rule's; None if the
    rule is not JSON. orjson is fast but writes NaN and Infinity as null, so a rule whose
    orjson text shows a null is keyed by the standard library's text instead."""
    try:
        text = orjson.dumps(rule, option=orjson.OPT_SORT_KEYS)
        if b"null" not in text:
            return b"o" + text
    except TypeError:
        pass
    try:
        return b"j" + json.dumps(rule, sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError):
        return None


@lru_cache(maxsize=_CACHE_SIZE)
def _cached(key: bytes) -> Compiled:
    return compile_rule(orjson.loads(key[1:]) if key[:1] == b"o" else json.loads(key[1:]))


def _yields_undefined(rule: Any) -> bool:
    """Whether evaluating ``rule`` can produce JavaScript's undefined (from missing arguments)."""
    if is_array(rule):
        return any(_yields_undefined(x) for x in rule)
    if not is_call(rule):
        return False
    ((op, value),) = rule.items()
    args = list(value) if is_array(value) else [value]
    return len(args) < OPS[op].undefined_below or any(_yields_undefined(x) for x in args)


def _defined(value: Any) -> Any:
    """``value`` as JSON shows it: undefined, also inside arrays, becomes null."""
    if value is UNDEFINED:
        return None
    if is_array(value):
        produce(len(value))
        return [_defined(x) for x in value]
    return value


__all__ = ["apply", "compile_rule"]
