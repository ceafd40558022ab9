"""Start windows (pure): the first and last day a plan may start, counted in the program
instance's time zone from the day ``now`` falls on there.

At 23:30 in Chicago on day D it is already D+1 in UTC: the window counts from D, the day the
customer sees on their calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    earliest: date
    latest: date

    def holds(self, day: date) -> bool:
        return self.earliest <= day <= self.latest


def today_in(timezone: str, now: datetime) -> date:
    """The calendar day ``now`` (an aware time; naive means UTC) falls on in ``timezone``."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(ZoneInfo(timezone)).date()


def start_window(*, earliest_days: int, latest_days: int, timezone: str, now: datetime) -> Window:
    today = today_in(timezone, now)
    return Window(
        earliest=today + timedelta(days=earliest_days),
        latest=today + timedelta(days=latest_days),
    )
