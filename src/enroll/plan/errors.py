"""The problems of plans and delivery charges."""

from __future__ import annotations

from enroll.errors import Conflict, Unprocessable


class PlanCodeTaken(Conflict):
    code = "plan_code_taken"
    description = (
        "a plan's code or alias names another plan of the instance already (`planCode`, `planId`)"
    )


class PlanInUse(Conflict):
    code = "plan_in_use"
    description = "deleting a plan that enrollments name (retire it instead: `status: retired`)"


class PlanUnavailable(Unprocessable):
    code, title = "plan_unavailable", "Plan unavailable"
    description = (
        "the plan is retired, or its availability rule does not hold at that location "
        "(`planId`, `planCode`, `reason`)"
    )


class StartDateOutsideWindow(Unprocessable):
    code, title = "start_date_outside_window", "Start date outside the window"
    description = (
        "a start date outside the plan's start window (`earliestStartDate`, `latestStartDate`)"
    )
