"""A worker process's Redis outage, told in three lines: when it starts, now and then while it lasts, when it ends.

Everything in a worker meets a lost Redis on its own: RQ's loop logged "could not connect to Redis instance ...
retrying" at error level at every try (258 lines in a 90-second outage over four worker processes), and the
liveness thread `worker.liveness_failed` every second; the line to alert on was lost among them. Each of those now
tells this one tracker, which logs `worker.redis_lost` (error, with the first error: the line to alert on) once,
`worker.redis_still_lost` (warning) every `REMIND_SECONDS` while it lasts, and `worker.redis_back` (info, with the
outage's length) at the first call Redis answers again. Each says why: `unreachable` (refused, reset, closed: a
Redis stopped or restarting) or `not_answering` (it took the connection and let a command run out of time: paused,
a blocked main thread, a partition dropping packets), so that a hang is told in the same lines as a stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.logs import get_logger

log = get_logger()

REMIND_SECONDS = 60.0
# The words of the line RQ's loop logs at every failed try at a lost Redis (rq 2.12: "Worker %s: could not connect to
# Redis instance: %s retrying in %d seconds..."), and of the one it quits with when its connection timed out (rq 2.12:
# "Worker %s: Redis connection timeout, quitting...": after a hang of about 14 minutes, its dequeue's wait and retry).
RQ_RETRY_LINE = "could not connect to Redis"
RQ_TIMEOUT_LINE = "Redis connection timeout"
DETAIL_LIMIT = 200


def outage_reason(error: BaseException) -> str:
    """Why Redis is away, as the outage's lines say it: `not_answering` for a command or a connection that ran out of
    time, `unreachable` for anything else (refused, reset, closed)."""
    return "not_answering" if isinstance(error, (RedisTimeoutError, TimeoutError)) else "unreachable"


class RedisOutage:
    """Whether Redis is away for this worker process, told by whatever met it (RQ's loop through its log line, the
    liveness thread, a run that could not start) and logged once. Thread-safe: the liveness thread tells it too."""

    def __init__(self, queue: str, *, clock: Callable[[], float] = time.monotonic,
                 remind_seconds: float = REMIND_SECONDS) -> None:
        self.queue = queue
        self._clock = clock
        self._remind_seconds = remind_seconds
        self._lock = threading.Lock()
        self._since: float | None = None
        self._reminded_at = 0.0

    def lost(self, error: BaseException) -> None:
        """A call to Redis failed: the outage's first line, a reminder when one is due, else nothing."""
        with self._lock:
            now = self._clock()
            started = self._since is None
            remind = not started and now - self._reminded_at >= self._remind_seconds
            if started:
                self._since = now
            if started or remind:
                self._reminded_at = now
            since = self._since
        assert since is not None
        if started:
            log.error("worker.redis_lost", queue=self.queue, reason=outage_reason(error), error=type(error).__name__,
                      detail=str(error)[:DETAIL_LIMIT])
        elif remind:
            log.warning("worker.redis_still_lost", queue=self.queue, reason=outage_reason(error),
                        error=type(error).__name__, outage_seconds=round(now - since))

    @property
    def active(self) -> bool:
        """Whether an outage is on: lost, and no call went through since.

        Read without the lock (one attribute: atomic): a stop asks this from RQ's signal handler, which runs on the
        main thread wherever it was, possibly inside `lost` with the lock held (RQ's line through the filter), and
        would wait for it forever."""
        return self._since is not None

    def back(self) -> None:
        """A call to Redis went through: the outage, if there was one, is over."""
        with self._lock:
            if self._since is None:
                return
            seconds = self._clock() - self._since
            self._since = None
        log.info("worker.redis_back", queue=self.queue, outage_seconds=round(seconds, 1))

    def take_rq_line(self, record: logging.LogRecord) -> bool:
        """A filter for RQ's worker logger: RQ's line at each failed try at a lost Redis, and the one it quits with on
        a timed-out connection, count as `lost` and are dropped; any other line, or one whose error cannot be read,
        passes."""
        if RQ_TIMEOUT_LINE in str(record.msg):
            self.lost(RedisTimeoutError("RQ's connection timed out"))
            return False
        if RQ_RETRY_LINE not in str(record.msg) or not isinstance(record.args, tuple):
            return True
        error = next((arg for arg in record.args if isinstance(arg, BaseException)), None)
        if error is None:
            return True
        self.lost(error)
        return False
