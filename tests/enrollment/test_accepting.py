"""Whether an instance accepts enrollments (pure rule)."""

from __future__ import annotations

from datetime import date

from enroll.workflows.program_instance import why_not_accepting

TODAY = date(2026, 6, 15)


def _reason(**overrides: object) -> str | None:
    values: dict[str, object] = {
        "status": "active",
        "start_date": None,
        "end_date": None,
        "capacity": None,
        "approved": None,
        "today": TODAY,
    } | overrides
    return why_not_accepting(**values)  # type: ignore[arg-type]


def test_active_without_limits_accepts() -> None:
    assert _reason() is None


def test_status_must_be_active() -> None:
    for status in ("draft", "paused", "closed", "archived"):
        assert _reason(status=status) == f"The program instance is {status}, not active."


def test_period_is_start_inclusive_end_exclusive() -> None:
    assert _reason(start_date=TODAY) is None
    assert _reason(start_date=date(2026, 6, 16)) == "The program instance opens on 2026-06-16."
    assert _reason(end_date=date(2026, 6, 16)) is None
    assert _reason(end_date=TODAY) == "The program instance closed on 2026-06-15."


def test_capacity_counts_approved() -> None:
    assert _reason(capacity=2, approved=1) is None
    assert _reason(capacity=2, approved=2) == (
        "The program instance is at capacity (2 approved enrollments)."
    )
    assert _reason(capacity=0, approved=0) is not None
