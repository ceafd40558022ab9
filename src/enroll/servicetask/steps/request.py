"""The task's stored request as steps read it, parsed once per step (``Run.request``).

A task stores the request that made it as JSON: an enrollment or unenrollment request as
received (then corrected by PATCH), or the ``assetInfo`` alone that approval and an added
device write. These models read any of them, with the defaults the steps assume where a field
is absent; they check nothing the request's own schema did not (a stored value is read as it
stands: an installation method taken from an enrollment's metadata may be any string).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

AnyText = Annotated[str, BeforeValidator(str)]  # str(value), as the steps always read these


class _Stored(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class StoredAsset(_Stored):
    type: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None


class StoredAssetInfo(_Stored):
    installation_method: AnyText = "bring_your_own"
    asset_ownership: AnyText = "customer"
    assets: list[StoredAsset] = []


class StoredCustomerInfo(_Stored):
    customer_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class StoredLocationInfo(_Stored):
    address: dict[str, Any] | None = None
    premise_id: str | None = None
    service_point_id: str | None = None
    division: str | None = None


class TaskRequest(_Stored):
    """Every field either kind of request may hold (a PATCH may add any of them)."""

    asset_info: StoredAssetInfo | None = None  # None: not stored (an unenrollment's)
    customer_info: StoredCustomerInfo = StoredCustomerInfo()
    location_info: StoredLocationInfo = StoredLocationInfo()
    start_date: date | None = None
    metadata: dict[str, Any] = {}
    customer_id: str | None = None  # an unenrollment naming customer and instance
    reason: str | None = None
    comment: str | None = None
    removal_method: str | None = None

    @property
    def method(self) -> str:
        return self.asset_info.installation_method if self.asset_info else "bring_your_own"

    @property
    def ownership(self) -> str:
        return self.asset_info.asset_ownership if self.asset_info else "customer"

    @property
    def assets(self) -> list[StoredAsset]:
        return list(self.asset_info.assets) if self.asset_info else []
