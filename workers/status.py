"""The status job (queue `lapor-status`): answer a CEK/STATUS query the case store did not answer in time.

It asks the case store for the report's status (retrying with the queue's backoff while the case store is down)
and hands the answer to the reply worker. A query whose retries run out, or that took `queues.max_worker_deaths`
workers down with it (the reaper gives it up), or whose last attempt failed unexpectedly (the failure handler), is
dead-lettered like any job, and the citizen, told at once that the answer follows, gets "cannot be checked now, send
CEK later" (`give_up`); unless its answer went out already (a run queued it, then failed or lost its worker before the
job ended): then nothing more is sent or dead-lettered. Either answer is queued to follow the promise (`after_reply`:
the reply worker sends it only once "the answer follows" went out or was given up, `workers.reply_order`).
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from redis import Redis
from rq import get_current_job
from rq.job import Job

from gateway.errors import PermanentError, RetryableError
from gateway.logs import bind_message_context, get_logger
from gateway.outbound import STATUS_FUNC, OutboundReplies
from gateway.queries import held_by_gateway, held_not_forwarded, names_report, reported_status
from gateway.queues import STATUS_QUEUE
from gateway.replies import render, status_text
from gateway.settings import Settings
from gateway.transactions import after_commit, commit_watched
from workers.context import WorkerContext, attempt_number, current, note_retry
from workers.deadletters import DeadLetters
from workers.forward import back_to_its_turn, casestore_failing, lookup_answered, outage

log = get_logger()

# A status job's answer, queued: a rerun of the job (RQ's retry, the reaper's requeue, a requeue from the dead letters,
# a second copy) finds it and answers nothing more, and a give-up of it sends no "send CEK later". Kept
# `intake.dedup_ttl_seconds`. Only the answer sets it: a query given up unanswered is answered when requeued.
ANSWERED_KEY = "lapor:status-answered:{identity}"
# What `give_up` did: dead-lettered the query and sent "send CEK later", or nothing (the answer was queued already).
DEAD_LETTERED = "dead_lettered"
ALREADY_ANSWERED = "already_answered"


def answer_status(query: dict[str, Any]) -> dict[str, Any]:
    """RQ job: look the status up, queue the SMS answer."""
    context = current()
    job = get_current_job()
    tracking_id, language = str(query["tracking_id"]), str(query.get("language") or "id")
    bind_message_context(channel=query.get("source"), tracking_id=tracking_id)
    attempts = attempt_number(job)
    answered = answered_key(query, job)
    if answered is not None and context.redis.exists(answered):  # a rerun: RQ's retry, a requeue, a copy of the job
        log.info("status.already_answered")
        return {"tracking_id": tracking_id, "already_answered": True}
    try:
        status, found = report_status(context, tracking_id)
    except RetryableError as error:
        if job is not None:  # moved to now as the case store came back (`retry_lookups_now`), and failed again
            back_to_its_turn(context, job, error.reason)
        if job is not None and job.retries_left:
            log.warning("status.retry", reason=error.reason, attempt=attempts)
            note_retry(job, attempts, error.reason)
            raise
        return _give_up(query, job, error, attempts)
    except PermanentError as error:
        return _give_up(query, job, error, attempts)
    if not found and query.get("report_spooled"):
        # Asked while a gateway's disk spool may hold the report (`Intake.may_hold`): in neither Redis nor the
        # case store until the replay, which comes within seconds of Redis's return. "Not found" would deny an ID
        # just given out; retried as an outage is, and when the retries run out "send CEK later".
        error = RetryableError("the report may be in a gateway's disk spool, not in Redis yet",
                               reason="report_not_replayed")
        if job is not None and job.retries_left:
            log.warning("status.retry", reason=error.reason, attempt=attempts)
            note_retry(job, attempts, error.reason)
            raise error
        return _give_up(query, job, error, attempts)
    text = status_text(tracking_id, status, language, found=found)
    outbound = OutboundReplies(context.redis, context.settings)
    reply = partial(outbound.queue_reply, source=str(query["source"]), kind="status", text=text, language=language,
                    tracking_id=tracking_id, after_reply=promise_of(query),
                    report_spooled=bool(query.get("report_spooled")), **recipient_of(query))
    queued = reply() if answered is None else outbound.once(
        answered, reply, repeated=partial(log.info, "status.already_answered"), what="status answer")
    if queued.state == "repeated":  # another run of this job answered while this one asked the case store
        return {"tracking_id": tracking_id, "already_answered": True}
    log.info("status.answered", found=found)
    return {"tracking_id": tracking_id, "reply_id": queued.reply_id}


def report_status(context: WorkerContext, tracking_id: str, queue_name: str = STATUS_QUEUE) -> tuple[str, bool]:
    """(status, whether the report exists) for a CEK, the SMS status job's and the mail reply's alike: the case
    store's status of the contract, "received" for a report the gateway holds and has not forwarded yet. Raises
    RetryableError while the case store is away or answers without a status of the contract, PermanentError as
    `get_report` does. A report the gateway holds and has not forwarded yet is "received" without asking the case
    store, which cannot have it (`held_not_forwarded`): retried through an outage, its CEK was answered "cannot be
    checked now" when the retries ran out.

    A failure of the case store as a whole (`workers.forward.outage`) is noted as a forward's is
    (`workers.forward.casestore_failing`, by the lookup's queue, `queue_name`): the views say the case store down, the
    probe starts, and once it answers the lookup runs at once (`retry_lookups_now`). Noted by the forwards alone, a
    CEK failing with none of them (every report forwarded) said nothing, and waited out its own backoff. A lookup
    answered ends an outage only lookups noted (`workers.forward.lookup_answered`)."""
    if held_not_forwarded(context.redis, tracking_id):
        return "received", True
    try:
        report = context.casestore.get_report(tracking_id)
    except RetryableError as error:
        if outage(error.reason):
            casestore_failing(context, error.reason, queue_name)
        raise
    if report is not None and not names_report(report, tracking_id):  # a cache's answer for another report
        raise RetryableError("report answer is another report's", reason="casestore_bad_answer")
    status = "received" if report is None else reported_status(report)  # None: not a status of the contract
    if status is None:  # as a body that is no report: the case store not answering properly, retried
        raise RetryableError("report answer has no status of the contract", reason="casestore_bad_answer")
    lookup_answered(context.redis)  # an outage only lookups noted is over
    return status, report is not None or held_by_gateway(context.redis, tracking_id)  # not forwarded: "received"


def answered_key(query: dict[str, Any], job: Job | None) -> str | None:
    """The marker of a status job's answer: by the `status_id` the gateway gives each job, or, for a job queued
    before jobs had one, by its RQ job id (the same through RQ's retries and the reaper's requeues); None outside a
    worker."""
    if query.get("status_id"):
        return ANSWERED_KEY.format(identity=f"status-{query['status_id']}")
    return ANSWERED_KEY.format(identity=f"job-{job.id}") if job is not None else None


def promise_of(query: dict[str, Any]) -> str | None:
    """The reply id of the query's "the answer follows" SMS, which its answer (or "send CEK later") must follow; None
    for a job an older gateway queued without it."""
    promise = query.get("promise_reply_id")
    return str(promise) if promise else None


def _give_up(query: dict[str, Any], job: Job | None, error: RetryableError | PermanentError,
             attempts: int) -> dict[str, Any]:
    context = current()
    outcome = give_up(context.redis, context.settings, query, job=job, reason=error.reason,
                      detail=f"after {attempts} attempt(s): {error.detail}", attempts=attempts)
    return {"tracking_id": query["tracking_id"], outcome: True}


def recipient_of(query: dict[str, Any]) -> dict[str, str | None]:
    """Whom the query's answer goes to: its number, or, asked by an anonymous report's own reporter, that report
    (`to_report`, read back from its envelope by the reply worker: `OutboundReplies.status_recipient`)."""
    if query.get("to_report"):
        return {"to": None, "to_report": str(query["to_report"])}
    return {"to": str(query["to"]), "to_report": None}


def status_query(args: list[Any]) -> dict[str, Any] | None:
    """The query a status job's arguments carry, or None when they are damaged (no Tracking ID, source, or number or
    report to answer)."""
    query = args[0] if len(args) == 1 else None
    if (isinstance(query, dict) and all(query.get(name) for name in ("tracking_id", "source"))
            and (query.get("to") or query.get("to_report"))):
        return query
    return None


def give_up(redis: Redis, settings: Settings, query: dict[str, Any], *, job: Job | None, reason: str, detail: str,
            attempts: int, pipeline: Any = None) -> str:
    """Dead-letter the query, and keep the promise that an answer follows: "cannot be checked now, send CEK later".
    The same for retries run out (this worker), a job that took its workers down (the reaper) and one that failed
    unexpectedly (the failure handler): the citizen was told an answer follows either way. Returns `DEAD_LETTERED`.

    Unless the job's answer is queued already (its marker, `answered_key`): a run queued it and then failed or lost its
    worker before the job ended, or another run answered meanwhile. "Send CEK later" would contradict the status the
    citizen has, and the dead letter, requeued, could answer a second time (a job without a status_id is marked by its
    RQ job id, which a requeue does not keep): neither is written, `status.give_up_after_answer` is logged, and
    `ALREADY_ANSWERED` returned. The marker is read under WATCH in the transaction that writes the give-up, so an
    answer queued in between spoils its EXEC and it is built again. A give-up never sets the marker: a query given up
    unanswered is answered when an operator requeues it.

    `pipeline`: the caller's transaction, not yet in MULTI (fresh, or WATCHing keys of the caller's): this WATCHes the
    marker on it, opens the MULTI and queues its writes; the caller queues its own after them and commits, building it
    all again on a WatchError (`commit_watched`). Without it, a transaction of its own."""
    if pipeline is None:
        return commit_watched(redis, lambda pipe: give_up(redis, settings, query, job=job, reason=reason,
                                                          detail=detail, attempts=attempts, pipeline=pipe),
                              what="status give-up")
    pipe = pipeline
    tracking_id, language = str(query["tracking_id"]), str(query.get("language") or "id")
    answered = answered_key(query, job)
    if answered is not None:
        pipe.watch(answered)
        if pipe.exists(answered):
            pipe.multi()
            after_commit(pipe, partial(log.warning, "status.give_up_after_answer", tracking_id=tracking_id,
                                       channel=query.get("source"), reason=reason, attempts=attempts))
            return ALREADY_ANSWERED
    pipe.multi()
    OutboundReplies(redis, settings).queue_reply(
        source=str(query["source"]), kind="status", language=language, tracking_id=tracking_id,
        text=render("status_retry", language, tracking_id=tracking_id), pipeline=pipe, **recipient_of(query),
        after_reply=promise_of(query), report_spooled=bool(query.get("report_spooled")),
    )
    DeadLetters(redis).add_new(
        queue=STATUS_QUEUE, func=STATUS_FUNC, args=[query], tracking_id=tracking_id,
        item=f"status-{tracking_id}-{uuid.uuid4().hex[:12]}", reason=reason, detail=detail, attempts=attempts,
        channel=query.get("source"), job_id=job.id if job is not None else None, pipeline=pipe,
    )
    return DEAD_LETTERED
