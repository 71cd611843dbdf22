"""What becomes of a job that fails for good without having decided so itself: one home for every queue.

Jobs turn the failures they know (a refusal, retries run out) into dead letters themselves. What they do not know
(RQ's job timeout, a bug raising TypeError) ends the job with an exception; RQ retries it with the queue's backoff,
and after the last attempt `dead_letter_failed_job`, the exception handler of every worker, files it where operators
look and requeue: a forward job's unfinished reports one by one (`forward_failed`), any other job whole
(`job_failed`), a status query through `workers.status.give_up` (the citizen, told an answer follows, is told to send
CEK later, unless a run of the job queued its answer already: then nothing is filed). The reaper files a job that took
its workers down (`worker_died`) through the same `dead_letter_job`.
Details name the exception type, never its message: it may quote a citizen's number or words.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq.job import Job

from gateway.errors import RetryableError
from gateway.health.signals import HealthSignals
from gateway.logs import get_logger
from gateway.metrics import health_channel, reply_source
from gateway.outbound import REPLY_FUNC, STATUS_FUNC, write_reply_record
from gateway.queues import FORWARD_FUNC, REPLY_QUEUE
from gateway.settings import Settings
from gateway.transactions import commit_watched
from workers.context import attempt_number, current, note_retry
from workers.deadletters import DeadLetters
from workers.status import DEAD_LETTERED, give_up, status_query

log = get_logger()

# Reply jobs whose channel is not in their arguments (dotted paths: no channel code imported here).
SOCIAL_REPLY_FUNC = "workers.social_reply.send_social_reply"
EMAIL_REPLY_FUNC = "workers.email_reply.send_email_reply"
# Dead-letter reasons: the last attempt ended by an exception (`forward_failed` for each report of a forward job),
# and a job that took `queues.max_worker_deaths` workers down with it (the reaper's).
JOB_FAILED = "job_failed"
FORWARD_FAILED = "forward_failed"
WORKER_DIED = "worker_died"
# Set on a job whose failure the handler filed (its dead letters written, or its status query given up). RQ adds a
# failed job to its failed registry after the handlers ran; `FilingJob` leaves a filed one out of it, so the registry
# holds only jobs nobody filed (no worker or reaper could read them, or filing failed), which the status views count on
# their queue as `unreadable`: a dead-lettered job counted there too told the operator of jobs no worker could read.
FILED_ATTRIBUTE = "lapor_failure_filed"


class FilingJob(Job):
    """RQ's job, whose failure record leaves the job out of the failed registry once the handler filed it.

    RQ records a failure through `_handle_failure` (rq 2.12) on two paths, each after the exception handlers ran on the
    same job object: the worker's `handle_job_failure`, and its maintenance's clean-up of a job abandoned in the
    started registry (`StartedJobRegistry.cleanup`), which calls the handlers itself and never reaches the worker's
    method. Taking the job out afterwards, in the worker, missed the second path: a job dead-lettered there was counted
    `unreadable` too. Here the removal joins RQ's own transaction on both paths, and cannot fail apart from it. The job
    hash and its traceback stay (`failure_ttl`), for `deadletters purge` and `requeue` to delete."""

    def _handle_failure(self, exc_string: str, pipeline: Any, *args: Any, **kwargs: Any) -> None:
        super()._handle_failure(exc_string, pipeline, *args, **kwargs)
        if getattr(self, FILED_ATTRIBUTE, False):
            pipeline.zrem(self.failed_job_registry.key, self.id)


def dead_letter_failed_job(job: Job, exc_type: type[BaseException], exc_value: BaseException,
                           traceback: Any) -> bool:
    """RQ exception handler (every worker's): the last attempt of a job ended by an exception it did not turn into a
    decision goes to the dead-letter registry. An attempt RQ will retry is only counted on the job (`note_retry`),
    so the dead letter says how many runs it had and the queue views show why it waits. Always falls through: RQ
    keeps the job and its traceback (`failure_ttl`), out of its failed registry once filed (`FilingJob`)."""
    try:
        if job.should_retry:
            if not isinstance(exc_value, RetryableError):  # a job raising for a retry has noted it itself
                note_retry(job, attempt_number(job), exc_type.__name__)
            return True
        attempts = attempt_number(job)
        detail = f"{exc_type.__name__} on the last of {attempts} attempt(s)"
        if job.func_name == FORWARD_FUNC and job.args and isinstance(job.args[0], list):
            from workers.forward import dead_letter_unfinished  # here: other queues' workers never load triage

            dead_letter_unfinished(current(), job, reason=FORWARD_FAILED, detail=detail, attempts=attempts)
        else:
            context = current()
            outcome = commit_watched(context.redis, lambda pipe: dead_letter_job(
                context.redis, context.settings, job, reason=JOB_FAILED, detail=detail, attempts=attempts,
                pipeline=pipe), what="dead letter of a failed job")
            if outcome == DEAD_LETTERED:
                count_failed_reply(context.redis, job, JOB_FAILED)
        setattr(job, FILED_ATTRIBUTE, True)
    except Exception as error:  # the handler must never take the worker down; RQ's failed registry still has it
        log.error("job.dead_letter_failed", job_id=job.id, queue=job.origin, error=type(error).__name__)
    return True


def dead_letter_job(redis: Redis, settings: Settings, job: Job, *, reason: str, detail: str, attempts: int,
                    pipeline: Any) -> str:
    """Queue into `pipeline` a dead letter that redoes the whole job (its function and arguments), filed under its
    report's Tracking ID and channel as its own worker would; a reply's record says so too, and a status query is
    given up as its worker gives it up (the citizen, told an answer follows, is told to send CEK later; nothing, when
    its answer was queued already). Returns `DEAD_LETTERED`, or `ALREADY_ANSWERED` for that status query.

    `pipeline` is not yet in MULTI: this opens it (a status query's give-up WATCHes its answer's marker first); the
    caller queues its own writes after and commits it with `commit_watched`, which builds it again on a WatchError."""
    args = list(job.args or [])
    query = status_query(args) if job.func_name == STATUS_FUNC else None
    if query is not None:
        return give_up(redis, settings, query, job=job, reason=reason, detail=detail, attempts=attempts,
                       pipeline=pipeline)
    pipeline.multi()
    tracking_id, channel = job_identity(job, args)
    DeadLetters(redis).add_new(
        queue=job.origin, func=job.func_name, args=args, tracking_id=tracking_id,
        item=f"{reason.replace('_', '-')}-{job.id}", reason=reason, detail=detail, attempts=attempts,
        channel=channel, job_id=job.id, pipeline=pipeline,
    )
    if job.func_name == REPLY_FUNC and args and isinstance(args[0], dict) and args[0].get("reply_id"):
        write_reply_record(pipeline, settings, str(args[0]["reply_id"]),
                           {"state": "dead_lettered", "last_error": reason, "attempts": str(attempts)})
    if job.func_name == SOCIAL_REPLY_FUNC and len(args) >= 2 and isinstance(args[1], dict):
        # Here: a worker that runs no public reply never loads its module. Its first attempt, kept with the reply in
        # Redis, goes with the letter: requeued, the reply starts its hours of rate limits afresh, as one its own
        # worker dead-letters does; kept, its first 429 after a requeue the next day dead-lettered it again at once.
        from workers.social_reply import first_attempt_key

        pipeline.delete(first_attempt_key(str(args[0]), args[1]))
    return DEAD_LETTERED


def count_failed_reply(redis: Redis, job: Job, reason: str) -> None:
    """Once its dead letter is committed, a reply job counts as a failed reply of its channel, as a reply worker's
    own give-up counts it (the channel's health rules watch reply failures)."""
    if job.origin == REPLY_QUEUE:
        channel = job_identity(job, list(job.args or []))[1]
        HealthSignals(redis).reply_failed(health_channel(channel or "unknown"), reason)


def job_identity(job: Job, args: list[Any]) -> tuple[str, str | None]:
    """(Tracking ID, channel) of a reply or status job, from its arguments; the job id when it names no report."""
    if job.func_name == SOCIAL_REPLY_FUNC and len(args) >= 4:  # (channel, target, reply_key, tracking_id, ...)
        return str(args[3] or job.id), reply_source(str(args[0]))
    first = args[0] if args and isinstance(args[0], dict) else {}
    channel = first.get("source") or ("email" if job.func_name == EMAIL_REPLY_FUNC else None)
    return str(first.get("tracking_id") or first.get("reply_id") or job.id), channel
