"""Batch sizes that follow the time batches take.

Bulk paths (imports, re-evaluations) commit in batches, and no write transaction may run
much longer than a second or two: on PostgreSQL the event feed waits for the oldest running
writer (docs/architecture.md), and on SQLite every other writer waits for the lock. A fixed
number of rows cannot promise that (a rule the SQL cannot decide makes each row far dearer),
so the next batch's size is scaled to the time the last one took: grown at most twofold,
shrunk at once, but not below a floor: a batch also has a fixed cost, which smaller batches
do not reduce.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_SECONDS = 1.0


@dataclass
class Sizer:
    size: int
    minimum: int
    maximum: int
    target: float = TARGET_SECONDS

    def took(self, seconds: float) -> int:
        """Record the last batch's time (of ``size`` rows); the next batch's size."""
        scaled = self.size * self.target / max(seconds, 1e-3)
        self.size = int(max(self.minimum, min(self.maximum, 2 * self.size, scaled)))
        return self.size
