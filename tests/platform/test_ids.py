from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys

from enroll.ids import is_cuid, new_id

CUID = re.compile(r"^c[0-9a-z]{24}$")


def test_format_matches_the_seed() -> None:
    assert is_cuid("cllgn0u4r000008l7eazybfbo")  # the seed's example id
    for _ in range(1000):
        assert CUID.match(new_id())


def test_unique_and_time_ordered_within_a_process() -> None:
    ids = [new_id() for _ in range(200_000)]
    assert len(set(ids)) == len(ids)
    # The 4-character counter wraps once every 36**4 ids; only there may two ids made in the
    # same millisecond come out of order.
    assert sum(1 for a, b in itertools.pairwise(ids) if a > b) <= 1


def test_processes_differ() -> None:
    code = "from enroll.ids import new_id; print(new_id()[13:17])"
    fingerprints = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
        ).stdout.strip()
        for _ in range(3)
    }
    assert len(fingerprints) == 3  # the pid part of the fingerprint differs
