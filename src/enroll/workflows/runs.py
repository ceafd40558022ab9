"""The states of the platform's long runs, which the worker moves in batches.

import:        receiving ─upload complete─▶ queued ─claimed─▶ running ─▶ completed | failed
re-evaluation:                               queued ─claimed─▶ running ─▶ completed | failed
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    RECEIVING = "receiving"  # an import's file is still arriving in chunks
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
FINAL = (RunStatus.COMPLETED, RunStatus.FAILED)
