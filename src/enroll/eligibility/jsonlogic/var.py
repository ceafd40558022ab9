"""The data operators: ``var`` (a dotted path into the data, with fast paths for the common
one- and two-key reads of dicts), ``missing`` and ``missing_some``."""

from __future__ import annotations

from typing import Any, Final

from enroll.eligibility.jsonlogic._budget import charge, charge_text
from enroll.eligibility.jsonlogic._js import (
    NAN,
    UNDEFINED,
    code_unit,
    greater_equal,
    is_array,
    js_length,
    to_string,
)
from enroll.eligibility.jsonlogic.compiler import Call, Compiled, identity, nth

_ABSENT: Final = object()


def _index(key: str) -> int | None:
    """The array index ``key`` names, if it is a canonical one ("0", "17", not "01")."""
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def _child(data: Any, key: str, index: int | None) -> Any:
    """``data[key]`` for the data's own values, or _ABSENT (JavaScript's undefined)."""
    if isinstance(data, dict):
        return data.get(key, _ABSENT)
    if is_array(data) or isinstance(data, str):
        size = len(data) if is_array(data) else js_length(data)
        if index is not None:
            if index >= size:
                return _ABSENT
            return data[index] if is_array(data) else code_unit(data, index)
        return size if key == "length" else _ABSENT
    return _ABSENT


def _segments(path: Any) -> list[tuple[str, int | None]]:
    text = to_string(path)
    charge_text(len(text))
    keys = text.split(".")
    charge(4 * len(keys))  # each key is a path to walk
    return [(key, _index(key)) for key in keys]


def _lookup(data: Any, path: Any, not_found: Any) -> Any:
    """json-logic-js's ``var``: the whole data for "" or null, else walk the dotted path."""
    if path is None or path is UNDEFINED or path == "":
        return data
    for key, index in _segments(path):
        if data is None:
            return not_found
        data = _child(data, key, index)
        if data is _ABSENT:
            return not_found
    return data


def _var_of(data: Any, key: Any) -> Any:
    """``apply({"var": key}, data)``, as ``missing`` uses it (a list key is var's arguments)."""
    if is_array(key):
        path, default = [*key, UNDEFINED, UNDEFINED][:2]
        return _lookup(data, path, None if default is UNDEFINED else default)
    return _lookup(data, key, None)


def build_var(c: Call) -> Compiled:
    fs = c.compiled()
    if not fs:
        return identity
    path, default = c.args[0], (_or_null(fs[1]) if len(fs) > 1 else None)
    if isinstance(path, dict) or is_array(path):  # computed at run time
        path_f = fs[0]
        if default is None:
            return lambda data: _lookup(data, path_f(data), None)
        return lambda data: _lookup(data, path_f(data), default(data))
    if path is None or path == "":
        return identity
    segments = _segments(path)
    var_path = _var_walk(segments, default)
    if len(segments) == 1 and default is None:  # the common cases, for dicts, first
        ((key, _),) = segments

        def var_key(data: Any) -> Any:
            if type(data) is dict:
                return data.get(key)  # missing and null are both null
            return var_path(data)

        return var_key
    if len(segments) == 2 and default is None:
        (outer, _), (inner, _) = segments

        def var_nested(data: Any) -> Any:
            if type(data) is dict:
                value = data.get(outer)
                if type(value) is dict:
                    return value.get(inner)
            return var_path(data)

        return var_nested
    return var_path


def _var_walk(segments: list[tuple[str, int | None]], default: Compiled | None) -> Compiled:
    def var_path(data: Any) -> Any:
        value = data
        for key, index in segments:
            if type(value) is dict:
                value = value.get(key, _ABSENT)
            elif value is None:
                value = _ABSENT
            else:
                value = _child(value, key, index)
            if value is _ABSENT:
                return None if default is None else default(data)
        return value

    return var_path


def _or_null(f: Compiled) -> Compiled:
    """``f``, but null where it gives undefined (var's default, like JavaScript's)."""
    return lambda data: None if (value := f(data)) is UNDEFINED else value


def _missing_keys(data: Any, values: list[Any]) -> list[Any]:
    keys = values[0] if values and is_array(values[0]) else values
    charge(4 * len(keys))  # each key is a path to walk
    missing = []
    for key in keys:
        value = _var_of(data, key)
        if value is None or (type(value) is str and value == ""):
            missing.append(key)
    return missing


def build_missing(c: Call) -> Compiled:
    fs = c.compiled()
    return lambda data: _missing_keys(data, [f(data) for f in fs])


def build_missing_some(c: Call) -> Compiled:
    fs = c.compiled()
    need_f, options_f = nth(fs, 0), nth(fs, 1)

    def missing_some(data: Any) -> Any:
        need, options = need_f(data), options_f(data)
        if options is None or options is UNDEFINED:
            return []  # json-logic-js throws: null has no length
        missing = _missing_keys(data, list(options) if is_array(options) else [options])
        if is_array(options):
            present: float = len(options) - len(missing)
        elif isinstance(options, str):
            present = js_length(options) - len(missing)
        else:
            present = NAN
        return [] if greater_equal(present, need) else missing

    return missing_some
