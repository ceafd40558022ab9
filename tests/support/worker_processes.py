"""Standalone `enroll worker` processes for the multi-process tests (PostgreSQL).

Each process logs to a file, never to a pipe: a pipe nobody reads fills up (64 KiB) and the
worker's next log line then blocks its whole event loop, which looks exactly like a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.server import TEST_DATA_KEY

ENROLL = str(Path(sys.executable).parent / "enroll")
# For the crash tests: a killed worker's work is taken over within seconds, and the test's
# receivers on 127.0.0.1 may be called.
SHORT_LEASES = {
    "ENROLL_WORKER_POLL_SECONDS": "0.05",
    "ENROLL_JOB_LEASE_SECONDS": "3",
    "ENROLL_WEBHOOK_ALLOW_PRIVATE": "true",
}


class Workers:
    """``count`` worker processes on ``database_url``; ``env`` adds settings."""

    def __init__(self, database_url: str, directory: Path, count: int, **env: str) -> None:
        # The tests' data key and a storage folder of their own: a worker must write no
        # development key or document folder into the checkout.
        self.env = (
            os.environ
            | {
                "ENROLL_DATABASE_URL": database_url,
                "ENROLL_DATA_KEY": TEST_DATA_KEY,
                "ENROLL_STORAGE_URL": (directory / "files").as_uri(),
            }
            | env
        )
        self.directory = directory
        self.started = 0
        self.processes = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        with (self.directory / f"worker-{self.started}.log").open("wb") as log:
            return subprocess.Popen(
                [ENROLL, "worker"], env=self.env, stdout=subprocess.DEVNULL, stderr=log
            )

    def kill(self, index: int) -> None:
        """SIGKILL one worker mid-work: what it holds waits out its lease."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def restart(self, index: int) -> None:
        """A new worker in the place of a killed one."""
        self.processes[index] = self._start()

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        """SIGTERM every worker still running and wait for each to finish its work."""
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            p.wait(timeout=30)

    def stopped_cleanly(self) -> bool:
        return all(p.returncode == 0 for p in self.processes)

    def logs(self) -> str:
        """Every worker's log, the killed ones' too (for an assertion's message)."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(self.directory.glob("worker-*.log"))
        )
