"""The sample context's values: ``sample_of(model)``, a JSON object shaped like a response
model's output with every field filled, against which a template is checked when saved."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

_SAMPLE_TEXT = {"email": "pat.doe@example.com", "phone": "+15555550100", "state": "NY"}
_SAMPLE_ADDRESS = {
    "streetOne": "123 Main St",
    "streetTwo": "Apt 4B",
    "city": "New York",
    "state": "NY",
    "postalCode": "10001",
    "country": "USA",
}


def _sample_value(name: str, annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        (inner, *_) = [a for a in get_args(annotation) if a is not NoneType] or [None]
        return _sample_value(name, inner)
    if name == "address":
        return dict(_SAMPLE_ADDRESS)
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return [_sample_value(name, item)] if item in (str, int) else []
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return sample_of(annotation)
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int | float):
            return 1
        if issubclass(annotation, datetime):
            return "2026-01-15T09:30:00Z"
        if issubclass(annotation, date):
            return "2026-01-15"
        if issubclass(annotation, str):
            return _SAMPLE_TEXT.get(name, f"sample {name}")
    return None


def sample_of(model: type[BaseModel]) -> dict[str, Any]:
    """A JSON object shaped like ``model``'s output (camelCase keys), every field filled."""
    return {
        (info.alias or name): _sample_value(info.alias or name, info.annotation)
        for name, info in model.model_fields.items()
    }
