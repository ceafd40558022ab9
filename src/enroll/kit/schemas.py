"""Schema base: camelCase on the wire, unknown fields refused on write, storable values only."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
MAX_JSON_DEPTH = 64
"""How deep lists and objects may nest in a free-form JSON field (``metadata``, rules…). The
JSON encoder (orjson) stops at 255 levels, and a stored value is written again inside events,
webhook bodies and GraphQL answers, a few levels deeper each."""
METADATA_DEPTH = 6
"""How deep a ``metadata`` object nests, itself the first level: a program's extra data (a
list of loans, each with its servicer) needs a few levels, and /openapi.json spells each
level out (``JsonValue``), so the document states exactly what is refused."""
_SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE = "Text must not contain lone surrogates (U+D800 to U+DFFF)."
_CONTAINERS = (dict, list, tuple, set, frozenset)


def storable(value: Any) -> Any:
    """Refuse what a database cannot keep: NUL characters, lone surrogates, non-finite numbers,
    integers beyond 64 bits, JSON nested deeper than ``MAX_JSON_DEPTH`` and times that leave
    the calendar once converted to UTC.

    PostgreSQL rejects U+0000 in text and JSONB, and JSONB has no NaN or Infinity (which
    Python's JSON parser accepts); SQLite would keep them and answer differently. A lone
    surrogate (the JSON escape ``"\\ud800"``) is no character: it cannot be written as UTF-8.
    SQLite's integers and the JSON encoder stop at 64 bits. Walks nested lists and dicts (keys
    too), without recursion, so deep ``metadata`` is refused rather than crashing the walk.
    """
    for item, depth in _walk(value):
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("Text must not contain NUL (U+0000) characters.")
            if _SURROGATE.search(item):
                raise ValueError(LONE_SURROGATE)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("Numbers must be finite.")
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise ValueError("Integers must fit in 64 bits.")
        elif isinstance(item, datetime):
            _check_utc(item)
        elif depth >= MAX_JSON_DEPTH and isinstance(item, _CONTAINERS):
            raise ValueError(f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels.")
    return value


def metadata_value(value: Any) -> Any:
    """Refuse ``metadata`` nested deeper than ``METADATA_DEPTH`` levels, or holding a number
    outside the 64-bit integer range (``1e300`` too: the document bounds every number there,
    a bound JSON Schema cannot set on integers alone, since it reads ``1e20`` as one)."""
    for item, depth in _walk(value):
        if depth >= METADATA_DEPTH and isinstance(item, _CONTAINERS):
            raise ValueError(f"Metadata must not nest deeper than {METADATA_DEPTH} levels.")
        if isinstance(item, float) and not _INT64_MIN <= item <= _INT64_MAX:
            raise ValueError("Numbers in metadata must lie within the 64-bit integer range.")
    return value


def has_lone_surrogate(value: Any) -> bool:
    """Whether any text in ``value`` (nested lists and dicts, keys too) holds a lone surrogate."""
    return any(isinstance(item, str) and _SURROGATE.search(item) for item, _ in _walk(value))


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every item of ``value`` with its depth (containers count), without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in [*item.keys(), *item.values()])
        elif isinstance(item, _CONTAINERS):
            stack.extend((child, depth + 1) for child in item)


def _check_utc(value: datetime) -> None:
    if value.tzinfo is None:
        return
    try:
        value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first instant
        raise ValueError("Time out of range once converted to UTC.") from None


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_lone_surrogate_keys(cls, value: Any) -> Any:
        # Before parsing, for dict keys only: the parser's error would name the field by the
        # key itself. Values are refused where they stand (by the parser or ``storable``).
        if any(isinstance(i, dict) and has_lone_surrogate(list(i)) for i, _ in _walk(value)):
            raise ValueError(LONE_SURROGATE)
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_only(cls, value: Any, info: ValidationInfo) -> Any:
        # JSON's true and false only: pydantic would also read 0, 1, "yes" or "off", which
        # the document's `type: boolean` says are refused.
        if value is not None and not isinstance(value, bool) and info.field_name in _booleans(cls):
            raise PydanticCustomError("bool_type", "Input should be true or false.")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)


@cache
def _booleans(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` typed ``bool`` or ``bool | None``."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if field.annotation is bool or set(get_args(field.annotation)) == {bool, type(None)}
    )


def alternatives(*choices: tuple[str, ...], exclusive: bool = True) -> Any:
    """A ``json_schema_extra`` saying which fields a model's validator requires together: one of
    the choices (exactly one: ``oneOf``; else ``anyOf``), each camelCase fields sent together.
    Those fields lose their ``null`` variant, since null stands for "not sent"."""

    def extra(schema: dict[str, Any]) -> None:
        properties = schema.get("properties", {})
        for name in {n for choice in choices for n in choice}:
            variants = properties.get(name, {}).pop("anyOf", None)
            if variants is not None:
                properties[name].update(next(v for v in variants if v != {"type": "null"}))
            properties.get(name, {}).pop("default", None)
        schema["oneOf" if exclusive else "anyOf"] = [{"required": list(c)} for c in choices]

    return extra


class OutModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PatchModel(ApiModel):
    """A partial update: only the fields sent change. ``NULLABLE`` lists fields null may clear."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Fields are typed ``X | None`` so that "not sent" can be told apart; only ``NULLABLE``
        ones take an explicit null, so the schema offers null only for those."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        for name, field in cls.model_fields.items():
            prop = schema.get("properties", {}).get(field.alias or name)
            if name in cls.NULLABLE or prop is None or "anyOf" not in prop:
                continue
            variants = [v for v in prop["anyOf"] if v != {"type": "null"}]
            if len(variants) == 1:
                del prop["anyOf"]
                prop.update(variants[0])
            else:
                prop["anyOf"] = variants
            if prop.get("default", ...) is None:
                del prop["default"]
        return schema

    def changes(self) -> dict[str, Any]:
        from enroll.errors import FieldError, Unprocessable

        sent = self.model_dump(exclude_unset=True)
        nulls = [k for k, v in sent.items() if v is None and k not in self.NULLABLE]
        if nulls:
            raise Unprocessable(
                "These fields cannot be null.",
                errors=[
                    FieldError(field=to_camel(k), message="Cannot be null.") for k in sorted(nulls)
                ],
            )
        return sent
