"""Jobs for the worker processes of tests/test_poison_jobs.py: a job that kills whichever worker runs it, as an
out-of-memory or a native crash in a library would."""

from __future__ import annotations

import os
import signal


def kill_my_worker(note: str) -> None:
    """RQ job: SIGKILL the (non-forking) worker process that runs it, every time."""
    os.kill(os.getpid(), signal.SIGKILL)
