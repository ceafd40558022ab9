"""The problems of the program catalog (and of instances, which have slugs too)."""

from __future__ import annotations

from enroll.errors import Conflict


class SlugTaken(Conflict):
    code = "slug_taken"
    description = "a program, or a program instance of the workspace, has that slug already"
