"""The states of the platform's queues: jobs, webhook deliveries, Idempotency-Key claims.

job:       queued ─claimed─▶ running ─▶ succeeded, or back to queued (a retry, a lost
           lease) until failed
delivery:  pending ─sent─▶ succeeded, or pending again (a retry) until failed
key:       in_progress ─the request's transaction commits─▶ completed
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class KeyStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
