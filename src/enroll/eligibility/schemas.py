"""An instance's stored criteria versions on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from enroll.kit.schemas import OutModel
from enroll.models import CriteriaVersion


class CriteriaVersionOut(OutModel):
    version: int
    criteria: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, v: CriteriaVersion) -> CriteriaVersionOut:
        return cls(version=v.version, criteria=v.criteria, created_at=v.created_at)
