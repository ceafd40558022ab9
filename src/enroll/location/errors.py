"""The problems of service locations."""

from __future__ import annotations

from enroll.errors import Conflict, Unprocessable


class ServiceLocationExists(Conflict):
    code = "service_location_exists"
    description = (
        "the workspace has a location with that market and `servicePointId` (`serviceLocationId`)"
    )


class InvalidServicePoint(Unprocessable):
    code = "invalid_service_point"
    description = (
        "an ERCOT `servicePointId` that is not an ESI ID (17 or 22 digits), or whose utility "
        "is unknown (no `utility` given and a prefix that names no TDSP); `errors` says which"
    )
