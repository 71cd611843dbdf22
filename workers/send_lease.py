"""One job at a time sends a given reply: a lease per reply (the pollers' `gateway.lease`) around its sending.

Two jobs of one reply can run at the same moment on two reply workers: redis-py sent the queueing MULTI again after its
answer was lost (the job is queued twice), or an operator requeued a dead letter while the original job still ran. What
a reply records of its sending (an SMS's accepted parts, the e-mail's and the mention's replied keys) keeps a later run
from sending again, not a run at the same moment: each reads the record before the other writes it, and the citizen
gets the reply twice. So a reply job reads that record and sends only while it holds the reply's lease
(`lapor:lease:reply:<reply>`, SET NX PX with a value naming the worker process and a random token). A job that finds it
held sends nothing: it raises `SendInProgress`, a RetryableError, and RQ runs it again after the queue's retry
interval, when the holder's sending is recorded (`reply.already_sent`).

The lease runs for the job's own timeout (RQ's, `queues.job_timeout_seconds`), which ends an attempt before the lease
ends: so it needs no renewal between an SMS's parts, however many are left and however slow the aggregator answers
within its send timeout. It is released (compare-and-delete: only while it is still ours) however the attempt ends. A
worker that dies holding it holds the reply back for that long at most; one known to be gone from this host (its
process no longer runs) is taken over at once (`reply.took_over`), as a poller's lease is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rq import Queue, get_current_job

from gateway.errors import RetryableError
from gateway.lease import LEASE_KEY, Lease
from gateway.logs import get_logger
from workers.context import WorkerContext

log = get_logger()


class SendInProgress(RetryableError):
    """Another job of this reply holds its send lease: this one sent nothing, and is to run again later."""

    reason = "send_in_progress"


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
    """Hold the send lease of `reply` (a name only this reply has) for the block. Raises SendInProgress, logged as
    `reply.send_in_progress`, when another job holds it; Redis errors go to the caller as they are."""
    lease = Lease(context.redis, send_lease_account(reply), lease_seconds(context), channel=channel, events="reply")
    try:
        if not (lease.take() or lease.take_over()):
            log.info("reply.send_in_progress", reply=reply)
            raise SendInProgress("another job of this reply is sending it")
        yield
    finally:
        lease.release()  # compare-and-delete: a lease never ours, or since taken by another, is left alone
