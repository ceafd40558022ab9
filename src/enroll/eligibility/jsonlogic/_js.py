"""JavaScript's abstract operations, as json-logic-js leans on them, over JSON-shaped values.

Values are Python's JSON types: ``None`` (null), ``bool``, ``int``/``float`` (number), ``str``,
``list``/``tuple`` (array) and ``dict`` (object), plus ``UNDEFINED`` for an argument a rule
leaves out. Strings are measured, sliced and ordered in UTF-16 code units, as in JavaScript.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final

from enroll.eligibility.jsonlogic._budget import charge, charge_text, produce

NAN: Final = math.nan
INF: Final = math.inf
_SAFE_INT: Final = 2**53
# StrWhiteSpaceChar: what Number() and parseFloat() skip (Python's str.strip() differs).
_WS: Final = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL: Final = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX: Final = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_BASES: Final = {"x": 16, "o": 8, "b": 2}
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")


class Undefined:
    """JavaScript's ``undefined``: the value of an argument that a rule leaves out."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = Undefined()

_KINDS: Final[dict[type, str]] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
    list: "object",
    tuple: "object",
    dict: "object",
    Undefined: "undefined",
}


def kind(x: Any) -> str:
    """The JavaScript type of ``x``; arrays and plain objects are both ``"object"``."""
    found = _KINDS.get(type(x))
    if found is not None:
        return found
    if isinstance(x, str):
        return "string"
    if isinstance(x, bool):
        return "boolean"
    if isinstance(x, int | float):
        return "number"
    return "object"


def is_array(x: Any) -> bool:
    return isinstance(x, list | tuple)


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: JavaScript's, except that an empty array is falsy."""
    t = type(value)
    if t is bool:
        return value is True
    if value is None:
        return False
    if t is str or t is list or t is tuple:
        return len(value) > 0
    if t is int:
        return bool(value)
    if t is float:
        return bool(value) and not math.isnan(value)
    if t is dict:
        return True
    match kind(value):
        case "boolean":
            return bool(value)
        case "number":
            return bool(value) and not math.isnan(value)
        case "string":
            return len(value) > 0
        case "undefined":
            return False
    return not is_array(value) or len(value) > 0


# --- numbers -----------------------------------------------------------------------------------


def number_result(x: float) -> int | float:
    """An arithmetic result as JSON would show it: integral values (but -0) as ``int``."""
    if x.is_integer() and -_SAFE_INT <= x <= _SAFE_INT and (x != 0 or math.copysign(1, x) > 0):
        return int(x)
    return x


def _int_to_float(x: int) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.copysign(INF, x)


def string_to_number(s: str) -> float:
    """``Number(s)``: whitespace-trimmed decimal, ``Infinity`` or 0x/0o/0b literal; else NaN."""
    charge_text(len(s))
    s = s.strip(_WS)
    if not s:
        return 0.0
    if _DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))
    m = _RADIX.fullmatch(s)
    if m:
        return _int_to_float(int(m[1][1:], _BASES[m[1][0].lower()]))
    return NAN


def to_number(x: Any) -> float:
    """``Number(x)``."""
    t = type(x)
    if t is float:
        return x  # type: ignore[no-any-return]
    if t is int:
        return _int_to_float(x)
    match kind(x):
        case "number":
            return _int_to_float(x) if isinstance(x, int) else float(x)
        case "string":
            return string_to_number(x)
        case "boolean":
            return 1.0 if x else 0.0
        case "null":
            return 0.0
        case "undefined":
            return NAN
    return string_to_number(to_primitive(x))


def to_integer(x: Any) -> float:
    """ToIntegerOrInfinity: NaN becomes 0, finite values are truncated."""
    n = to_number(x)
    if n != n:
        return 0.0
    return n if math.isinf(n) else float(math.trunc(n))


def parse_float(x: Any) -> float:
    """``parseFloat(x)``: the longest decimal prefix of ``String(x)``, else NaN."""
    t = type(x)
    if t is int or t is float:
        n = to_number(x)
        return 0.0 if n == 0 else n  # String(-0) is "0"
    text = to_string(x)
    charge_text(len(text))
    m = _DECIMAL.match(text.lstrip(_WS))
    return float(m[0].replace("Infinity", "inf")) if m else NAN


def number_to_string(x: float) -> str:
    """``String(x)`` for a number (ECMAScript Number::toString)."""
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    # repr() gives the shortest digits that round-trip, as JavaScript does.
    _, digit_tuple, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = exponent + k  # x = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + (f".{digits[1:]}" if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return ("-" if x < 0 else "") + text


# --- strings -----------------------------------------------------------------------------------


def to_primitive(x: Any) -> Any:
    """ToPrimitive for JSON values: arrays join with commas, objects are ``[object Object]``."""
    if is_array(x):
        charge(len(x))
        parts = ["" if e is None or e is UNDEFINED else to_string(e) for e in x]
        produce(sum(map(len, parts)) + len(parts))
        return ",".join(parts)
    if kind(x) == "object":
        return "[object Object]"
    return x


def to_string(x: Any) -> str:
    """``String(x)``."""
    t = type(x)
    if t is str:
        return x  # type: ignore[no-any-return]
    match kind(x):
        case "string":
            return str(x)
        case "boolean":
            return "true" if x else "false"
        case "number":
            if isinstance(x, int) and -_SAFE_INT <= x <= _SAFE_INT:
                return str(int(x))
            return number_to_string(to_number(x))
        case "null":
            return "null"
        case "undefined":
            return "undefined"
    return to_primitive(x)  # type: ignore[no-any-return]


def _is_bmp(s: str) -> bool:
    if s.isascii():
        return True
    charge_text(len(s))
    return _ASTRAL.search(s) is None


def _utf16(s: str) -> bytes:
    charge_text(2 * len(s))
    return s.encode("utf-16-be", "surrogatepass")


def js_length(s: str) -> int:
    """``s.length``: UTF-16 code units."""
    if _is_bmp(s):
        return len(s)
    return len(_utf16(s)) // 2


def js_slice(s: str, start: int, end: int) -> str:
    """``s.slice(start, end)`` for 0 <= start <= end, in UTF-16 code units."""
    if _is_bmp(s):
        return s[start:end]
    units = _utf16(s)[2 * start : 2 * end]
    return units.decode("utf-16-be", "surrogatepass")


def code_unit(s: str, index: int) -> str:
    """``s[index]`` for 0 <= index < ``js_length(s)``: one UTF-16 code unit."""
    return s[index] if _is_bmp(s) else js_slice(s, index, index + 1)


def code_units(s: str) -> list[str]:
    """The string's UTF-16 code units, each as a one-character string."""
    if _is_bmp(s):
        produce(len(s))
        return list(s)
    units = _utf16(s)
    produce(len(units) // 2)
    charge(len(units) // 2)
    return [units[i : i + 2].decode("utf-16-be", "surrogatepass") for i in range(0, len(units), 2)]


def string_less(a: str, b: str) -> bool:
    """``a < b`` for strings: by UTF-16 code units (Python orders code points)."""
    if a.isascii() or b.isascii():
        return a < b
    return _utf16(a) < _utf16(b)


def substr(s: str, start: Any, length: Any = UNDEFINED) -> str:
    """``String.prototype.substr``."""
    size = js_length(s)
    first = to_integer(start)
    if first < 0:
        first = max(size + first, 0)
    first = min(first, size)
    count = size if length is UNDEFINED else min(max(to_integer(length), 0), size)
    end = min(first + count, size)
    return js_slice(s, int(first), int(end)) if first < end else ""


def plus(a: Any, b: Any) -> Any:
    """The binary ``+`` operator (string concatenation when either side is a string)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) or isinstance(pb, str):
        return to_string(pa) + to_string(pb)
    return to_number(pa) + to_number(pb)


# --- comparison --------------------------------------------------------------------------------


def strict_equal(a: Any, b: Any) -> bool:
    """``a === b``; arrays and objects are equal only to themselves."""
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int or ta is float or ta is bool):
        return a == b  # type: ignore[no-any-return]
    ka = kind(a)
    if ka != kind(b):
        return False
    return a is b if ka == "object" else bool(a == b)


def loose_equal(a: Any, b: Any) -> bool:
    """``a == b`` (IsLooselyEqual)."""
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int or ta is float or ta is bool):
        return a == b  # type: ignore[no-any-return]
    ka, kb = kind(a), kind(b)
    if ka == kb:
        return strict_equal(a, b)
    nullish = ("null", "undefined")
    if ka in nullish or kb in nullish:
        return ka in nullish and kb in nullish
    if ka == "boolean":
        return loose_equal(1 if a else 0, b)
    if kb == "boolean":
        return loose_equal(a, 1 if b else 0)
    if ka == "number" and kb == "string":
        return a == string_to_number(b)  # type: ignore[no-any-return]
    if ka == "string" and kb == "number":
        return string_to_number(a) == b  # type: ignore[no-any-return]
    if ka == "object":
        return loose_equal(to_primitive(a), b)
    if kb == "object":
        return loose_equal(a, to_primitive(b))
    return False


def _numeric(x: Any) -> bool:
    t = type(x)
    return t is int or t is float


def less_than(a: Any, b: Any) -> bool:
    """``a < b``: strings by code units when both are strings, else numbers (NaN: false)."""
    if _numeric(a) and _numeric(b):
        return a < b  # type: ignore[no-any-return]
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return string_less(pa, pb)
    return to_number(pa) < to_number(pb)


def less_equal(a: Any, b: Any) -> bool:
    """``a <= b``: false whenever a number comparison meets NaN."""
    if _numeric(a) and _numeric(b):
        return a <= b  # type: ignore[no-any-return]
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return not string_less(pb, pa)
    return to_number(pa) <= to_number(pb)


def greater_than(a: Any, b: Any) -> bool:
    return less_than(b, a)


def greater_equal(a: Any, b: Any) -> bool:
    return less_equal(b, a)


def contains(array: Any, x: Any) -> bool:
    """``array.indexOf(x) !== -1``: strict equality, so NaN is never found."""
    if type(x) is str:
        charge(len(array) // 8 + 1)
        return x in array
    charge(len(array))
    return any(strict_equal(e, x) for e in array)
