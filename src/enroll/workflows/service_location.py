"""The states of a service location (a premise in a market's registry) and its premise types.

A location's status is what its market's registry says (ERCOT's STATUS column), or what an
API client sets: no transition table, any status may follow any other.

    service location:  active | inactive | de_energized
"""

from __future__ import annotations

from enum import StrEnum


class ServiceLocationStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DE_ENERGIZED = "de_energized"


class PremiseType(StrEnum):
    RESIDENTIAL = "residential"
    SMALL_COMMERCIAL = "small_commercial"
    LARGE_COMMERCIAL = "large_commercial"


class ReadingKind(StrEnum):
    """A usage reading's kind, derived from its length: a period longer than a day is a
    billing month's reading, a day or less an interval (15 minutes, an hour, a day)."""

    MONTHLY = "monthly"
    INTERVAL = "interval"
