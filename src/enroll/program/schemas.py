from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator

from enroll.eligibility.criteria import CriteriaList, check_unique
from enroll.kit.fields import LongText, Metadata, Name, ShortText, Slug, StateCode, Tag
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.models import Program


class ProgramType(StrEnum):
    DEMAND_RESPONSE = "demand_response"
    REBATE = "rebate"
    GRID_SERVICES = "grid_services"
    MANAGED_CHARGING = "managed_charging"
    RETAIL_PLAN = "retail_plan"
    TIME_OF_USE = "time_of_use"
    ENERGY_EFFICIENCY = "energy_efficiency"
    OTHER = "other"


Year = Annotated[int, Field(ge=1900, le=2200)]
States = Annotated[
    list[StateCode],
    Field(
        max_length=100,
        description='Where the program is offered, e.g. ["NY", "NJ"]; empty means everywhere.',
    ),
]
Manufacturers = Annotated[
    list[Tag],
    Field(
        max_length=200, description="Device manufacturers the program supports; empty means any."
    ),
]


class ProgramCreate(ApiModel):
    slug: Slug
    name: Name
    description: LongText | None = None
    type: ProgramType
    category: ShortText | None = None
    states: States = []
    manufacturer_slugs: Manufacturers = []
    active: bool = True
    year: Year | None = None
    metadata: Metadata = {}
    eligibility_criteria: CriteriaList = []

    _unique = field_validator("eligibility_criteria")(check_unique)


class ProgramUpdate(PatchModel):
    NULLABLE = frozenset({"description", "category", "year"})

    name: Name | None = None
    description: LongText | None = None
    type: ProgramType | None = None
    category: ShortText | None = None
    states: States | None = None
    manufacturer_slugs: Manufacturers | None = None
    active: bool | None = None
    year: Year | None = None
    metadata: Metadata | None = None
    eligibility_criteria: CriteriaList | None = None

    _unique = field_validator("eligibility_criteria")(check_unique)


class ProgramOut(OutModel):
    id: str
    slug: str
    name: str
    description: str | None
    type: ProgramType
    category: str | None
    states: list[str]
    manufacturer_slugs: list[str]
    active: bool
    year: int | None
    metadata: dict[str, Any]
    eligibility_criteria: list[dict[str, Any]]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Program) -> ProgramOut:
        return cls(
            id=p.id,
            slug=p.slug,
            name=p.name,
            description=p.description,
            type=ProgramType(p.type),
            category=p.category,
            states=p.states,
            manufacturer_slugs=p.manufacturer_slugs,
            active=p.active,
            year=p.year,
            metadata=p.metadata_,
            eligibility_criteria=p.eligibility_criteria,
            version=p.version,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
