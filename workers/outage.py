"""A worker process's Redis outage (gateway/outage.py), told by whatever meets it.

Everything in a worker meets a lost Redis on its own: RQ's loop logged "could not connect to Redis instance ...
retrying" at error level at every try (258 lines in a 90-second outage over four worker processes), and the
liveness thread `worker.liveness_failed` every second; the line to alert on was lost among them. Each of those now
tells this one tracker: `worker.redis_lost`, `worker.redis_still_lost` once a minute, `worker.redis_back`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.outage import REMIND_SECONDS
from gateway.outage import RedisOutage as BaseOutage

# The words of the line RQ's loop logs at every failed try at a lost Redis (rq 2.12: "Worker %s: could not connect to
# Redis instance: %s retrying in %d seconds..."), and of the one it quits with when its connection timed out (rq 2.12:
# "Worker %s: Redis connection timeout, quitting...": after a hang of up to its dequeue's wait, about 7 minutes).
RQ_RETRY_LINE = "could not connect to Redis"
RQ_TIMEOUT_LINE = "Redis connection timeout"
# And of the one it quits with, its traceback attached, when anything else in its loop raised (rq 2.12: "Worker %s:
# found an unhandled exception, quitting..."): after a job, Redis gone while the job ran.
RQ_QUIT_LINE = "found an unhandled exception, quitting"


class RedisOutage(BaseOutage):
    """Whether Redis is away for this worker process, told by whatever met it (RQ's loop through its log line, the
    liveness thread, a run that could not start) and logged once as `worker.redis_*` with its queue(s)."""

    def __init__(self, queue: str, *, clock: Callable[[], float] = time.monotonic,
                 remind_seconds: float = REMIND_SECONDS) -> None:
        super().__init__("worker", clock=clock, remind_seconds=remind_seconds, queue=queue)
        self.queue = queue

    def take_rq_line(self, record: logging.LogRecord) -> bool:
        """A filter for RQ's worker logger: RQ's line at each failed try at a lost Redis, and the one it quits with on
        a timed-out connection or on a lost one (an error line with a traceback at every Redis restart during a job),
        count as `lost` and are dropped; any other line, or one whose error cannot be read, passes."""
        if RQ_TIMEOUT_LINE in str(record.msg):
            self.lost(RedisTimeoutError("RQ's connection timed out"))
            return False
        if RQ_QUIT_LINE in str(record.msg):
            error = record.exc_info[1] if record.exc_info else None
            if not isinstance(error, (RedisConnectionError, RedisTimeoutError)):
                return True  # a bug of RQ's or ours: its traceback is what to read
            self.lost(error)
            return False
        if RQ_RETRY_LINE not in str(record.msg) or not isinstance(record.args, tuple):
            return True
        error = next((arg for arg in record.args if isinstance(arg, BaseException)), None)
        if error is None:
            return True
        self.lost(error)
        return False
