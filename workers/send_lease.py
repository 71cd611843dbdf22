"""One job at a time sends a given reply: a lease per reply (the pollers' `gateway.lease`) around its sending.

Two jobs of one reply can run at the same moment on two reply workers: redis-py sent the queueing MULTI again after its
answer was lost (the job is queued twice), or an operator requeued a dead letter while the original job still ran. What
a reply records of its sending (an SMS's accepted parts, the e-mail's and the mention's replied keys) keeps a later run
from sending again, not a run at the same moment: each reads the record before the other writes it, and the citizen
gets the reply twice. So a reply job reads that record and sends only while it holds the reply's lease
(`lapor:lease:reply:<reply>`, SET NX PX with a value naming the worker process and a random token). A job that finds it
held sends nothing: it raises `SendInProgress`, a RetryableError, and runs again later (`wait_for_holder`), when the
holder's sending is recorded (`reply.already_sent`). A held lease is never a reason to give up: it ends by itself.

The lease runs for the job's own timeout (RQ's, `queues.job_timeout_seconds`), which ends an attempt before the lease
ends: so it needs no renewal between an SMS's parts, however many are left and however slow the aggregator answers
within its send timeout. It is released (compare-and-delete: only while it is still ours) however the attempt ends. A
worker that dies holding it holds the reply back for that long at most; one known to be gone from this host (its
process no longer runs) is taken over at once (`reply.took_over`), as a poller's lease is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, get_current_job

from gateway.errors import RetryableError
from gateway.lease import LEASE_KEY, Lease
from gateway.logs import get_logger
from gateway.queues import REPLY_QUEUE, enqueue_later
from workers.context import WorkerContext, attempt_number, note_retry

log = get_logger()

# Past the lease's end, before a job that waited for it runs again: the scheduler's second, and a clock's step.
AFTER_LEASE_SECONDS = 2.0
# Waits between tries at recording a send the provider took while Redis fails it (a restart, a failover): some 30 s
# in all, well within the send lease (a job timeout), so no other job of the reply sends meanwhile.
RECORD_SENT_WAITS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0)


class SendInProgress(RetryableError):
    """Another job of this reply holds its send lease: this one sent nothing, and is to run again later.
    `ends_in` is how long the holder's lease has left at most (seconds): it is never renewed."""

    reason = "send_in_progress"

    def __init__(self, detail: str, *, reply: str, ends_in: float) -> None:
        super().__init__(detail)
        self.reply = reply
        self.ends_in = ends_in


def send_lease_account(reply: str) -> str:
    """The lease's account: its key is `lapor:lease:reply:<reply>`."""
    return f"reply:{reply}"


def send_lease_key(reply: str) -> str:
    return LEASE_KEY.format(account=send_lease_account(reply))


def lease_seconds(context: WorkerContext) -> float:
    """How long a send lease runs: what ends the running job's attempt, as RQ's worker reads it (the job's timeout,
    RQ's own default for a job that has none); outside a job, or for one RQ never times out, the queues' default.

    Not the queues' default for a job without a timeout: RQ gives that job 180 s, and a lease of the 120 s default
    would expire while the attempt still sends, so a second job could take it and send the reply again."""
    job = get_current_job()
    timeout = (job.timeout or Queue.DEFAULT_TIMEOUT) if job is not None else None
    return float(timeout) if timeout and timeout > 0 else float(context.settings.queues.job_timeout_seconds)


@contextmanager
def send_lease(context: WorkerContext, reply: str, *, channel: str) -> Iterator[None]:
    """Hold the send lease of `reply` (a name only this reply has) for the block. Raises SendInProgress when another
    job holds it (see `wait_for_holder`); Redis errors go to the caller as they are."""
    seconds = lease_seconds(context)
    lease = Lease(context.redis, send_lease_account(reply), seconds, channel=channel, events="reply")
    try:
        if not (lease.take() or lease.take_over()):
            left_ms = context.redis.pttl(lease.key)  # -2: gone meanwhile; -1 (never set so): a whole lease
            ends_in = seconds if left_ms == -1 else max(0, left_ms) / 1000
            raise SendInProgress("another job of this reply is sending it", reply=reply, ends_in=ends_in)
        yield
    finally:
        lease.release()  # compare-and-delete: a lease never ours, or since taken by another, is left alone


def wait_for_holder(context: WorkerContext, error: SendInProgress, func: str, args: Sequence[object]) -> float:
    """Another job holds the reply's lease: raise `error` for RQ's retry while this job has retries left; after
    that, queue the job again (`func`, `args`, its timeout, the queue's retry policy) to run once that lease has
    ended, and return in how many seconds. Logs `reply.send_in_progress` either way.

    Never a dead letter: the holder may well send the reply (a letter would be stale, a failure counted against the
    channel, an SMS record's `sent` overwritten), and its lease ends by itself within one job timeout. So this ends:
    the later run finds the reply sent (`reply.already_sent`), takes the lease, or meets a new holder, that is
    another job that ran meanwhile, and waits for it in turn."""
    job = get_current_job()
    attempt = attempt_number(job)
    if job is not None and job.retries_left:
        log.info("reply.send_in_progress", reply=error.reply, attempt=attempt, retry=True)
        note_retry(job, attempt, error.reason)
        raise error
    delay = error.ends_in + AFTER_LEASE_SECONDS
    enqueue_later(context.redis, context.settings, REPLY_QUEUE, func, args, delay,
                  timeout=job.timeout if job is not None else None)
    log.info("reply.send_in_progress", reply=error.reply, attempt=attempt, rescheduled_in=round(delay, 1))
    return delay


def record_sent(write: Callable[[], Any], *, sleep: Callable[[float], None] = time.sleep, **fields: Any) -> None:
    """Run `write`, the record of a send the provider took (an SMS part, a mail), tried again while Redis fails it.

    The message is out: a record that misses it makes the next run of the reply (RQ's retry of the failed attempt,
    the reaper's requeue once Redis is back) send it again, and the citizen got it twice after every Redis restart
    that met a send. Logged `reply.record_retry` (with `fields`) each time; after `RECORD_SENT_WAITS`,
    `reply.sent_not_recorded` and the error raised as before."""
    for wait in (*RECORD_SENT_WAITS, None):
        try:
            write()
            return
        except RedisError as error:
            if wait is None:
                log.error("reply.sent_not_recorded", reason=type(error).__name__, **fields)
                raise
            log.warning("reply.record_retry", reason=type(error).__name__, retry_in_seconds=wait, **fields)
            sleep(wait)
