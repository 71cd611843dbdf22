"""A worker process's Redis outage (gateway/outage.py), told by whatever meets it.

Everything in a worker meets a lost Redis on its own: RQ's loop logged "could not connect to Redis instance ...
retrying" at error level at every try (258 lines in a 90-second outage over four worker processes), and the
liveness thread `worker.liveness_failed` every second; the line to alert on was lost among them. Each of those now
tells this one tracker: `worker.redis_lost`, `worker.redis_still_lost` once a minute, `worker.redis_back`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.health.signals import WorkerQuit
from gateway.logs import get_logger
from gateway.outage import DETAIL_LIMIT, REMIND_SECONDS, failed_key, redis_words, refusal_passes
from gateway.outage import RedisOutage as BaseOutage

log = get_logger()

# The words of the line RQ's loop logs at every failed try at a lost Redis (rq 2.12: "Worker %s: could not connect to
# Redis instance: %s retrying in %d seconds..."), and of the one it quits with when its connection timed out (rq 2.12:
# "Worker %s: Redis connection timeout, quitting...": after a hang of up to its dequeue's wait, about 7 minutes).
RQ_RETRY_LINE = "could not connect to Redis"
RQ_TIMEOUT_LINE = "Redis connection timeout"
# And of the one it quits with, its traceback attached, when anything else in its loop raised (rq 2.12: "Worker %s:
# found an unhandled exception, quitting..."): after a job, Redis gone while the job ran.
RQ_QUIT_LINE = "found an unhandled exception, quitting"
# How long after RQ's loop last quit on a refusal that waiting ends (`refusal_passes`) a call that went through ends
# the outage. The liveness thread's beat goes through every second on a Redis that refuses only what RQ's loop runs
# (an ACL without its blocking dequeue), and the worker's next run, a second later, quits on it again within
# milliseconds: a run that has gone this long without quitting on it is one that works again.
REFUSAL_HELD_SECONDS = 3.0
# The waits between runs of RQ's loop that quit on an error no waiting ends (WRONGTYPE on a queue key, an unknown
# command, a bug): the first (the default of queues.quit_first_wait_seconds), doubled at each quit in a row, up to the
# last. A run that lasted the longest wait before it quit starts the count afresh.
QUIT_FIRST_WAIT_SECONDS = 1.0
QUIT_LONGEST_WAIT_SECONDS = 60.0


class RedisOutage(BaseOutage):
    """Whether Redis is away for this worker process, told by whatever met it (RQ's loop through its log line, the
    liveness thread, a run that could not start) and logged once as `worker.redis_*` with its queue(s)."""

    def __init__(self, queue: str, *, clock: Callable[[], float] = time.monotonic,
                 remind_seconds: float = REMIND_SECONDS) -> None:
        super().__init__("worker", clock=clock, remind_seconds=remind_seconds, queue=queue)
        self.queue = queue
        # When RQ's loop last quit on a refusal that waiting ends (None: none in this outage).
        self._refused_at: float | None = None
        # Whether Redis answered (refusing) as the outage began.
        self._answers = False

    def refused(self, error: BaseException) -> None:
        """RQ's loop quit on a refusal that waiting ends (`refusal_passes`): `lost`, held until `REFUSAL_HELD_SECONDS`
        have passed without another, whatever else goes through meanwhile (`back`)."""
        self._refused_at = self._clock()
        self.lost(error)

    def lost(self, error: BaseException) -> None:
        """`BaseOutage.lost`, noting whether Redis answers through it (`not_answering`)."""
        if not self.active:
            self._answers = refusal_passes(error)
        super().lost(error)

    @property
    def not_answering(self) -> bool:
        """Whether an outage is on in which Redis does not answer (lost, silent), as opposed to one in which it answers
        and refuses: a stop need not wait on a Redis that answers at once, nor kill a scheduler as if it hung."""
        return self.active and not self._answers

    @property
    def refusing(self) -> bool:
        """Whether this outage is held by RQ's loop quitting on a refusal (`refused`)."""
        return self._refused_at is not None and self.active

    def back(self) -> None:
        """A call to Redis went through: the outage is over, unless RQ's loop quit on a refusal within
        `REFUSAL_HELD_SECONDS`: the liveness thread's beat goes through on a Redis that refuses only RQ's commands,
        and told over at every beat, the outage would begin again at every run."""
        refused_at = self._refused_at
        if refused_at is not None and self._clock() - refused_at < REFUSAL_HELD_SECONDS:
            return
        self._refused_at = None
        super().back()

    def take_rq_line(self, record: logging.LogRecord) -> bool:
        """A filter for RQ's worker logger: RQ's line at each failed try at a lost Redis, and the one it quits with on
        a timed-out connection or on a lost one (an error line with a traceback at every Redis restart during a job),
        count as `lost` and are dropped; so is its quit on a refusal that waiting ends (`refusal_passes`: full at its
        maxmemory, a read-only replica, MISCONF, an ACL without a command of RQ's, loading, the credentials), told as
        `refused`, where RQ's traceback and `worker.quit_unasked` came at every run, about once a second. Any other
        line (a quit on WRONGTYPE, an unknown command, a bug: `LoopQuits`), or one whose error cannot be read,
        passes."""
        if RQ_TIMEOUT_LINE in str(record.msg):
            self.lost(RedisTimeoutError("RQ's connection timed out"))
            return False
        if RQ_QUIT_LINE in str(record.msg):
            error = record.exc_info[1] if record.exc_info else None
            if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
                self.lost(error)
            elif error is not None and refusal_passes(error):
                self.refused(error)
            else:
                return True  # a bug of RQ's or ours, or a key to mend: its traceback is what to read
            return False
        if RQ_RETRY_LINE not in str(record.msg) or not isinstance(record.args, tuple):
            return True
        error = next((arg for arg in record.args if isinstance(arg, BaseException)), None)
        if error is None:
            return True
        self.lost(error)
        return False


class LoopQuits:
    """RQ's loop quitting, in a row, on errors no waiting ends (WRONGTYPE on a queue key, an unknown command, a bug
    of RQ's or ours): the worker ran it again a second later, and it logged RQ's traceback and `worker.quit_unasked`
    about once a second, forever. The first quit on an error keeps RQ's traceback; the runs after it wait longer and
    longer (`first_wait`, queues.quit_first_wait_seconds, doubled up to `QUIT_LONGEST_WAIT_SECONDS`), and a quit on
    the same error again (its type, where it was raised) is counted on `worker.quit_unasked` instead of a traceback.
    A run that worked the longest wait before it quit (a bug met by one job an hour later) starts afresh: its
    traceback, its first wait again. Shared by the runs of one worker process (`began` at the start of each);
    thread-safe."""

    def __init__(self, queue: str, *, clock: Callable[[], float] = time.monotonic,
                 record: Callable[[WorkerQuit], None] | None = None,
                 first_wait: float = QUIT_FIRST_WAIT_SECONDS) -> None:
        self.queue = queue
        self._clock = clock
        self._first_wait = first_wait  # queues.quit_first_wait_seconds
        self._record = record  # where the views read each quit (`note_worker_quit`)
        self.recorded: WorkerQuit | None = None  # the last quit given to `record`
        self._lock = threading.Lock()
        self._quits = 0  # in a row, on any error
        self._repeats = 0  # in a row, on the same error as the last
        self._last: tuple[str, str, int, str] | None = None
        self._error: BaseException | None = None
        self._began = clock()  # when the run in progress, or the last, began
        self._ended = False  # whether that run's end was seen (`_afresh`)

    def began(self) -> None:
        """A run begins."""
        with self._lock:
            self._began = self._clock()
            self._ended = False

    def _afresh(self) -> None:
        """With the lock held, at a run's end (its quit, or its being told): forget the quits before it, if it worked
        the longest wait."""
        if not self._ended and self._clock() - self._began >= QUIT_LONGEST_WAIT_SECONDS:
            self._quits = 0
            self._last = None
        self._ended = True

    @staticmethod
    def _where(error: BaseException) -> tuple[str, str, int, str]:
        """An error's type and the line that raised it: the same bug met again, whatever its words (a job id). For an
        error Redis answered, the last line outside redis-py, and Redis's words with the key it names: every such
        error is raised on one line of redis-py, and a WRONGTYPE, an unknown command and another key's WRONGTYPE
        were one error, the second and third told by no traceback."""
        frame, where = error.__traceback__, None
        while frame is not None:
            if not isinstance(error, ResponseError) or not _in_redis_py(frame.tb_frame.f_code.co_filename):
                where = frame
            frame = frame.tb_next
        code = (where.tb_frame.f_code.co_filename, where.tb_lineno) if where is not None else ("", 0)
        said = (f"{redis_words(error)[:DETAIL_LIMIT]} {failed_key(error) or ''}" if isinstance(error, ResponseError)
                else "")
        return type(error).__qualname__, *code, said

    def quit_on(self, error: BaseException) -> bool:
        """RQ's loop quit on `error`: whether its traceback is to be logged (not the same error as the last quit)."""
        where = self._where(error)
        with self._lock:
            self._afresh()
            same = where == self._last
            self._last = where
            self._error = error
            self._repeats = self._repeats + 1 if same else 1
        return not same

    def take_rq_line(self, record: logging.LogRecord) -> bool:
        """A filter for RQ's worker logger, after `RedisOutage.take_rq_line`: its quit line, traceback attached, passes
        the first time for an error, and is dropped (counted) when it is the same error as at the last quit."""
        if RQ_QUIT_LINE not in str(record.msg) or not record.exc_info or record.exc_info[1] is None:
            return True
        return self.quit_on(record.exc_info[1])

    def told(self, reason: str = "rq_loop_error") -> float:
        """The run ended unasked, outside an outage: `worker.quit_unasked`, with the error RQ quit on, how many quits
        in a row on it, and the wait before the next run, which this returns."""
        with self._lock:
            self._afresh()
            self._quits += 1
            quits = self._quits
            wait = min(QUIT_LONGEST_WAIT_SECONDS, self._first_wait * 2 ** (quits - 1))
            error, repeats = self._error, self._repeats
            self._error = None
        fields: dict[str, object] = {"error": type(error).__name__, "repeats": repeats} if error is not None else {}
        trouble = None
        if isinstance(error, ResponseError):  # what Redis said, and what to do about it, as every view says it
            from gateway.health.documents import redis_trouble

            fields["trouble"] = trouble = redis_trouble(error)
        log.error("worker.quit_unasked", queue=self.queue, reason=reason, **fields, retry_in=wait)
        if self._record is not None:
            self.recorded = WorkerQuit(time.time(), reason, type(error).__name__ if error is not None else None,
                                       trouble, quits, wait)
            self._record(self.recorded)
        return wait

    def failed(self, error: RedisError) -> None:
        """A run could not start, on an error Redis answered that no waiting ends (WRONGTYPE on a key the worker
        writes as it starts): its traceback the first time, as RQ's loop's would be; counted after."""
        if self.quit_on(error):
            log.error("worker.start_failed", queue=self.queue, error=type(error).__name__, exc_info=error)


def _in_redis_py(filename: str) -> bool:
    """Whether a traceback's line is redis-py's own (not any path holding a directory named redis)."""
    return filename.startswith(_REDIS_PY)


_REDIS_PY = os.path.dirname(redis.__file__) + os.sep
