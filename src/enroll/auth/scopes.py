"""Every scope a key can hold.

Platform keys manage the Program catalog; every other scope belongs to a workspace.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    PROGRAMS_WRITE = "programs:write"
    PROGRAM_INSTANCES_READ = "program_instances:read"
    PROGRAM_INSTANCES_WRITE = "program_instances:write"
    ENROLLMENTS_READ = "enrollments:read"
    ENROLLMENTS_WRITE = "enrollments:write"
    ENROLLMENTS_REVIEW = "enrollments:review"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    API_KEYS_MANAGE = "api_keys:manage"
    EVENTS_READ = "events:read"
    JOBS_READ = "jobs:read"
    IMPORTS_READ = "imports:read"
    IMPORTS_WRITE = "imports:write"
    WEBHOOKS_MANAGE = "webhooks:manage"
    DEVICES_WRITE = "devices:write"
    LOCATIONS_READ = "locations:read"
    LOCATIONS_WRITE = "locations:write"


PLATFORM_SCOPES: frozenset[Scope] = frozenset({Scope.PROGRAMS_WRITE})
WORKSPACE_SCOPES: frozenset[Scope] = frozenset(Scope) - PLATFORM_SCOPES
