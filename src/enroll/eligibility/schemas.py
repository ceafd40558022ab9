"""An instance's stored criteria versions on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from enroll.kit.schemas import OutModel
from enroll.models import CriteriaVersion


class CriteriaVersionOut(OutModel):
    version: int
    criteria: list[dict[str, Any]]
    requirements: list[dict[str, Any]] = Field(
        description="The instance's requirements in this version (docs/requirements.md)."
    )
    created_at: datetime

    @classmethod
    def of(cls, v: CriteriaVersion) -> CriteriaVersionOut:
        return cls(
            version=v.version,
            criteria=v.criteria,
            requirements=v.requirements or [],
            created_at=v.created_at,
        )
