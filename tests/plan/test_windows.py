"""Start windows count days in the instance's time zone, from the day ``now`` falls on there."""

from __future__ import annotations

from datetime import UTC, date, datetime

from enroll.plan.windows import Window, start_window, today_in


def test_late_evening_in_chicago_counts_from_chicagos_day() -> None:
    # 2026-01-16 05:30 UTC is 2026-01-15 23:30 in Chicago (CST, UTC-6): day D is the 15th.
    now = datetime(2026, 1, 16, 5, 30, tzinfo=UTC)
    window = start_window(earliest_days=0, latest_days=30, timezone="America/Chicago", now=now)
    assert window == Window(earliest=date(2026, 1, 15), latest=date(2026, 2, 14))
    # the same instant counted in UTC is already the 16th
    in_utc = start_window(earliest_days=0, latest_days=30, timezone="UTC", now=now)
    assert in_utc == Window(earliest=date(2026, 1, 16), latest=date(2026, 2, 15))


def test_the_window_moves_on_at_midnight_in_the_instances_zone() -> None:
    # 06:00 UTC is midnight in Chicago (CST): now it is the 16th there too
    now = datetime(2026, 1, 16, 6, 0, tzinfo=UTC)
    window = start_window(earliest_days=3, latest_days=10, timezone="America/Chicago", now=now)
    assert window == Window(earliest=date(2026, 1, 19), latest=date(2026, 1, 26))


def test_summer_time_and_naive_times() -> None:
    # 2026-07-01 04:30 UTC is 2026-06-30 23:30 in Chicago (CDT, UTC-5)
    assert today_in("America/Chicago", datetime(2026, 7, 1, 4, 30, tzinfo=UTC)) == date(2026, 6, 30)
    # a naive time is UTC
    assert today_in("America/Chicago", datetime(2026, 7, 1, 4, 30)) == date(2026, 6, 30)


def test_holds_both_ends() -> None:
    window = Window(earliest=date(2026, 1, 1), latest=date(2026, 1, 31))
    assert window.holds(date(2026, 1, 1)) and window.holds(date(2026, 1, 31))
    assert not window.holds(date(2025, 12, 31)) and not window.holds(date(2026, 2, 1))
