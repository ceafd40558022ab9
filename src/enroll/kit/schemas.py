"""Schema base: camelCase on the wire, unknown fields refused on write."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


class OutModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PatchModel(ApiModel):
    """A partial update: only the fields sent change. ``NULLABLE`` lists fields null may clear."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

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
