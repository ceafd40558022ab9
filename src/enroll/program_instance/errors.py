"""The problems of program instances."""

from __future__ import annotations

from enroll.errors import Conflict


class InstanceHasEnrollments(Conflict):
    code = "instance_has_enrollments"
    description = "deleting a program instance that has enrollments (close or archive it)"
