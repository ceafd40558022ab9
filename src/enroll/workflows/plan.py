"""The states of a plan a program instance offers (plan/).

    plan:  active ⇄ retired

A retired plan is kept (enrollments name it) but is never quoted nor accepted; it may be
offered again.
"""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
