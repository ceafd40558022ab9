"""What the background loops share: the worker's jobs (worker/runner.py) and the webhook
endpoints it serves (webhook/delivery.py) are both held under a lease on their row, and both
retry with jittered delays."""

from __future__ import annotations

import random


class LeaseLost(Exception):
    """Another worker holds the row now (this one was too slow, or the row is gone): the work
    done under the lease is rolled back."""


# Jitter from a generator of our own: the module-level one is shared process state, and a test
# (Hypothesis, in the same process as an embedded worker) may see its state change mid-draw.
_jitter = random.Random()


def jitter(low: float, high: float) -> float:
    """A factor drawn uniformly from [low, high], to spread retries out."""
    return _jitter.uniform(low, high)
