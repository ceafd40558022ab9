"""Schema base: camelCase on the wire, unknown fields refused on write, storable values only."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, field_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def storable(value: Any) -> Any:
    """Refuse what a database cannot keep: NUL characters, non-finite numbers, and integers
    beyond 64 bits.

    PostgreSQL rejects U+0000 in text and JSONB, and JSONB has no NaN or Infinity (which
    Python's JSON parser accepts); SQLite would keep them and answer differently. SQLite's
    integers and the JSON encoder stop at 64 bits. Walks
    nested lists and dicts (keys too), without recursion, so deep ``metadata`` is safe.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("Text must not contain NUL (U+0000) characters.")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("Numbers must be finite.")
        elif isinstance(item, int):
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise ValueError("Integers must fit in 64 bits.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return value


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)


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
