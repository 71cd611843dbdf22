"""The forward job: deliver reports to the case store, exactly once there through the Tracking ID.

One job carries up to `intake.max_batch` Tracking IDs; their envelopes are read from Redis, the files still at their
providers are fetched (workers/media.py) and uploaded with the mailed ones, before the reports. Reports the case
store takes (201, or 200 when it already had them) are marked forwarded; a refusal (other 4xx) goes to the
dead-letter registry with the reason; a retryable failure (5xx, 429, timeout) makes RQ retry the job with
backoff, skipping what is already done, until the retries run out and the rest is dead-lettered too. Reports posted
one request after another keep what the case store answered before such a failure (`SubmitInterrupted`). A job of
several reports whose request timed out `casestore.split_after_timeouts` times is replaced by two jobs of halves of
the reports it has not done (`split_timing_out`), so a report the case store keeps timing out on holds back only itself.
A job whose batch the case store answered 500 `ONE_BY_ONE_AFTER` times (or a proxy before it 502: its process died on
one report) posts its reports one per request from its next try (`one_by_one_after_500s`), so a report the case store
fails on holds back only itself there too.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import WatchError
from rq import get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

from gateway import metrics
from gateway.attachments import kept_by_gateway, stored_path
from gateway.channel_names import report_source
from gateway.errors import PermanentError, RetryableError
from gateway.health.signals import (
    CASESTORE_DOWN_KEY,
    CASESTORE_OUTAGE_KEY,
    CASESTORE_REFUSING_KEY,
    FAILING,
    casestore_timeout_step,
    credentials_step,
    failing_of,
)
from gateway.logs import add_sensitive_values, get_logger, job_sensitive_values
from gateway.queues import (
    ENVELOPE_DAMAGE,
    FORWARD_FUNC,
    FORWARD_QUEUE,
    REPLY_QUEUE,
    REPORT_STATE_KEY,
    STATUS_QUEUE,
    JSONSerializer,
    damaged_field,
    envelope_key,
    prepared_job,
    queue,
    read_envelope,
)
from gateway.settings import Settings, SettingsError
from gateway.spool import redis_time
from workers.casestore_client import (
    CREDENTIAL_STATUSES,
    LEFT_OUT,
    ONE_REPORT_FAILURES,
    SubmitInterrupted,
    SubmitResult,
)
from workers.context import WorkerContext, attempt_number, current, note_retry
from workers.deadletters import DeadLetters
from workers.image_metadata import without_identifying_metadata
from workers.media import counted_reason, expire_report, fetch_provider_media
from workers.report_payload import HANDLE_KEY, NOT_UPLOADED, case_store_payload, reply_handle

if TYPE_CHECKING:
    from triage.engine import TriageEngine

log = get_logger()

# The longest a case store's Retry-After may hold a forward back (a misconfigured one must not park reports for days).
MAX_RETRY_AFTER_SECONDS = 3600
# Until when (epoch seconds, in a forward job's meta) the case store asked the job's last try to wait (its Retry-After):
# an outage's end moves the job no sooner (`retry_outage_now`), the probe runs it no sooner.
RETRY_AFTER_META = "retry_after_until"
# What `retry_next_outage_forward` answers when every forward waiting for an outage waits out a Retry-After.
ASKED_TO_WAIT = ""
# A forward job moved ahead of its retry (`retry_outage_now`, the probe's): when that retry was due (epoch seconds),
# kept until then. A try of it that fails before then goes back to that time with no retry spent (`back_to_its_turn`).
MOVED_KEY = "lapor:forward:moved:{job_id}"
# How long a moved job's note outlives the retry it was moved from (a worker busy with others when it came due).
MOVED_KEY_GRACE_SECONDS = 60
# Who moved a forward job ahead of its turn, in its note after when it was due: an outage's end, or the probe.
OUTAGE_END, PROBE = "outage_end", "probe"
# The failures of a try an outage's end moved ahead of its turn that give its retry back (`back_to_its_turn`; the
# probe's, any failure of the case store as a whole): the case store failing as a whole, for a while (not listening,
# timing out, shedding load: 502, 503, 504). Not a 500, an unhandled error one report's content may cause: given back
# at every other report's success, such a job was tried at the pace of the traffic for its whole backoff (two hours),
# its dead letter that much later, and the probe picked it first at each round while the forwards behind it waited
# out theirs.
GIVES_RETRY_BACK = frozenset({"casestore_unreachable", "casestore_timeout", "casestore_502", "casestore_503",
                              "casestore_504"})
# When (epoch seconds, in a forward job's meta) a try of it ahead of its turn last failed and gave its retry back:
# the probe tries another forward first for PROBE_AVOIDS_SECONDS (`retry_next_outage_forward`).
GIVEN_BACK_META = "given_back_at"
PROBE_AVOIDS_SECONDS = 300
# How long after such a failed try an outage's end may move the job again (`retry_outage_now` moves it to the end of
# this pause, not to now): a case store flapping under load saw every waiting forward again at each report it took.
MOVED_AGAIN_AFTER_SECONDS = 60
# How long forwards must have failed before the outage is logged: a case store failing now and then (a 503 under
# load, taken at the next try) is the forward.retry lines' to tell, not a casestore.down / casestore.back pair each.
OUTAGE_TOLD_AFTER_SECONDS = 10.0
# When a forward job first ran (epoch seconds, in its meta): what a report's wait for its file counts from.
FIRST_TRY_META = "first_try_at"
# The sha256 of the files the case store took in earlier tries of a forward job (in its meta): not uploaded again.
UPLOADED_META = "uploaded"
# How a request to the case store that timed out fails: httpx's timeout, a proxy's 408 (its body timeout: a large
# body) or 504 (the case store behind it did not answer in time).
TIMEOUT_REASONS = frozenset({"casestore_timeout", "casestore_408", "casestore_504"})
# The tries of a forward job whose request to the case store timed out (in its meta), for `split_timing_out`.
TIMEOUTS_META = "timeouts"
# The ids of the two jobs a forward job was split into for its timeouts (in its meta).
SPLIT_INTO_META = "split_into"
# How many times a forward job's batch may be answered 500 (or 502, `ONE_REPORT_FAILURES`) as a whole before its next
# tries post its reports one per request (`one_by_one_after_500s`), and its meta's count of them (both kinds, under
# the name it had when it counted 500s alone: a job in flight keeps its count) and the switch.
ONE_BY_ONE_AFTER = 2
BATCH_500S_META = "batch_500s"
ONE_BY_ONE_META = "one_by_one"
# The queues besides the forwards' whose jobs may wait on the case store alone: a CEK's status job, and a mailed
# CEK's reply, which looks the status up before it writes (workers/email_reply.py). Those whose lookup failed in an
# outage run as soon as the case store is back, with the forwards (`retry_lookups_now`).
LOOKUP_QUEUES = (STATUS_QUEUE, REPLY_QUEUE)
# Retry-scheduled forward jobs read at a time looking for one that waits out an outage (`retry_next_outage_forward`).
PROBE_PAGE = 100


def triage_engine(context: WorkerContext) -> TriageEngine | Exception | None:
    """The process's triage engine, built on first use; None when disabled, the error when it cannot be built.

    A failed build is tried again with the next job, never once per report: a bad training file costs one attempt
    per batch.
    """
    if not context.settings.triage.enabled:
        return None
    if context.triage is None:
        try:
            # Imported here: its libraries (scikit-learn, numpy, datasketch) took two seconds of CPU at every start
            # of a forward worker, triage enabled or not. A broken install fails the build, never the forward.
            from triage.engine import TriageEngine

            context.triage = TriageEngine.build(context.settings, context.redis)
        except Exception as error:  # reported per report by with_triage
            return error
    return context.triage


def with_triage(engine: TriageEngine | Exception | None, envelope: dict[str, Any],
                payload: dict[str, Any]) -> dict[str, Any]:
    """Add the triage block to what the case store receives; on any failure forward it without, counted and logged.

    Triage reads the stored envelope (its sender, so campaigns can count senders) with the words the case store gets:
    an anonymous report's, without its sender's own identity and signature. Read whole, the block told what those
    had lost (a region from the address in the signature, a `link` reason from its site, a duplicate of another
    report under the same signature); the block itself carries no sender data.
    """
    if engine is None:
        return payload
    started = time.perf_counter()
    try:
        if isinstance(engine, Exception):
            raise engine
        block = engine.triage({**envelope, "text": payload.get("text"), "subject": payload.get("subject")})
    except JobTimeoutException:
        # RQ's time limit for the job, raised once by its alarm wherever the job is: taken as a failed suggestion,
        # the job ran on past its limit with none left (a Redis that hangs during the posts that follow held it).
        raise
    except Exception as error:  # any failure of a suggestion step must not hold a report back
        metrics.TRIAGE_FAILURES.labels(type(error).__name__).inc()
        # A TrainingDataError (triage.model, loaded with the engine: never imported here, where a broken install
        # would fail the forward) says which row of the training data is wrong; a SettingsError which triage table
        # (config/triage/) and what is wrong with it. Neither holds a citizen's words.
        model = sys.modules.get("triage.model")
        told = isinstance(error, SettingsError) or (model is not None and isinstance(error, model.TrainingDataError))
        detail = str(error)[:300] if told else None
        log.warning("triage.failed", tracking_id=envelope.get("tracking_id"), channel=report_source(envelope),
                    error=type(error).__name__, detail=detail)
        return payload
    metrics.TRIAGE_SECONDS.observe(time.perf_counter() - started)
    province = block.region.province.name if block.region and block.region.province else "none"
    metrics.TRIAGE_SUGGESTIONS.labels(province, block.topic.category).inc()
    return {**payload, "triage": block.model_dump(mode="json")}


def _load_envelopes(context: WorkerContext, tracking_ids: list[str]) -> dict[str, dict[str, Any] | str]:
    """The stored envelopes by Tracking ID, or why one cannot be forwarded, so it is dead-lettered alone: not a JSON
    object under its own Tracking ID (`read_envelope`: damaged, or written by something else), or a field of another
    type than intake writes (`damaged_field`: the field's name); absent when nothing is stored."""
    raws = context.redis.mget([envelope_key(tracking_id) for tracking_id in tracking_ids])
    stored = {tid: read_envelope(tid, raw) for tid, raw in zip(tracking_ids, raws, strict=True) if raw is not None}
    return {tid: (damaged_field(envelope) or envelope) if isinstance(envelope, dict) else envelope
            for tid, envelope in stored.items()}


def _unreadable_detail(why: str) -> str:
    """A dead letter's detail for an envelope `_load_envelopes` could not take: what is wrong, never its value."""
    if why in ENVELOPE_DAMAGE:
        return f"the stored envelope is not a JSON object with this Tracking ID ({why})"
    return f"the stored envelope's {why} is not of the type intake writes"


def _mark_forwarded(context: WorkerContext, envelopes: list[dict[str, Any]],
                    not_fetched: Mapping[str, list[str]]) -> tuple[OutageEnd | None, list[dict[str, Any]]]:
    """Mark the reports the case store took, and count them and their files it took without (`not_fetched`, by why:
    a try that held its report back is no loss, this is); returns the outage of the case store it ended (a forward
    had found it down), if any, in the same round trip, and the reports this call marked forwarded first.

    A report already marked is not counted again: a job run twice (a worker paused with it in hand, its job requeued
    by another worker's reaper, then resumed) counted its reports forwarded, and their files lost, twice; the case
    store answered the second post 200, already had it. The state is read and written in one transaction, so of two
    runs at once one counts."""
    if not envelopes:
        return None, []
    ttl = context.settings.intake.envelope_ttl_seconds
    pipe = context.redis.pipeline(transaction=True)
    now = time.time()
    was_at: list[int] = []
    for envelope in envelopes:
        tracking_id = envelope["tracking_id"]
        state_key = REPORT_STATE_KEY.format(tracking_id=tracking_id)
        was_at.append(len(pipe))
        pipe.hget(state_key, "state")
        pipe.hset(state_key, mapping={"state": "forwarded", "forwarded_at": now})
        expire_report(pipe, tracking_id, envelope, ttl)
        if envelope.get("anonymous"):
            handle = reply_handle(context.settings.privacy.reply_handle_secret, tracking_id)
            pipe.set(HANDLE_KEY.format(handle=handle), tracking_id, ex=ttl)
    _end_outage(pipe)
    replies = pipe.execute()
    *_, refusing_cleared, outage_noted, _, down_reason, redis_now = replies
    _tell_credentials_taken(refusing_cleared)
    first = [envelope for envelope, at in zip(envelopes, was_at, strict=True) if replies[at] != b"forwarded"]
    for envelope in first:
        source = report_source(envelope)
        metrics.FORWARDED.labels(source).inc()
        for reason in not_fetched.get(envelope["tracking_id"], ()):
            metrics.ATTACHMENTS_FORWARDED_NOT_FETCHED.labels(source, counted_reason(reason)).inc()
    return _ended(outage_noted, down_reason, redis_now), first


def _end_outage(pipe: Any, *, credentials_taken: bool = True) -> None:
    """Queue into `pipe` the end of a case-store outage: its record read and cleared (`_ended` reads the answers),
    and, with `credentials_taken`, of a refusal of our credentials (the case store took a report, or answered the
    probe: it takes them now). A refusal of our credentials ends an outage too, its note left in place: the case store
    answers. Last, Redis's clock, which timed the outage's start (`casestore_failing`)."""
    if credentials_taken:
        pipe.delete(CASESTORE_REFUSING_KEY)
    pipe.hgetall(CASESTORE_OUTAGE_KEY)
    pipe.delete(CASESTORE_OUTAGE_KEY)
    pipe.getdel(CASESTORE_DOWN_KEY)
    pipe.time()


def _ended(outage_noted: dict[bytes, bytes], down_reason: bytes | None,
           redis_now: tuple[int, int]) -> OutageEnd | None:
    if down_reason is None:
        return None
    since = outage_noted.get(b"since")
    return OutageEnd(down_reason.decode(errors="replace"), float(since) if since else None, b"told" in outage_noted,
                     redis_time(redis_now), failing_of(outage_noted.get(b"failing")))


def end_outage(redis: Redis, refused: int | None = None) -> OutageEnd | None:
    """End a case-store outage that no forward can end, none waiting for it (`workers.casestore_probe`); the outage,
    if one was noted. `refused`: the status with which the case store refused our credentials to the probe's read,
    which it answers all the same: the refusal is noted in the same transaction (as a refused forward notes it),
    where a read answered clears one."""
    pipe = redis.pipeline(transaction=True)
    if refused is None:
        _end_outage(pipe)
        refusing_cleared, outage_noted, _, down_reason, redis_now = pipe.execute()
        _tell_credentials_taken(refusing_cleared)
    else:
        _note_refusal(pipe, refused)
        _end_outage(pipe, credentials_taken=False)
        noted, _, outage_noted, _, down_reason, redis_now = pipe.execute()
        _tell_credentials_refused(noted, refused)
    return _ended(outage_noted, down_reason, redis_now)


def lookup_answered(redis: Redis) -> None:
    """A CEK's lookup was answered (`workers.status.report_status`): an outage only lookups noted (`failing`
    lookups: no forward failed through it) is over, ended as the probe ends one, the other lookups waiting for it run
    now (`retry_lookups_now`) and `casestore.back` told (`seen_by: lookup`). Without it, and with the probe off or its
    worker stopped, the views said lookups were failing until a report was forwarded, hours at night, while the CEKs
    were answered. One forwards noted stays: a case store may answer reads while it fails writes (the probe's
    reasoning), and the forwards or the probe end it. One read of the record when no such outage is noted; ended in a
    transaction that a forward noting it meanwhile spoils."""
    if redis.hget(CASESTORE_OUTAGE_KEY, "failing") != FAILING[1].encode():
        return
    with redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(CASESTORE_DOWN_KEY, CASESTORE_OUTAGE_KEY)
            if pipe.hget(CASESTORE_OUTAGE_KEY, "failing") != FAILING[1].encode():
                return
            pipe.multi()
            _end_outage(pipe)
            refusing_cleared, outage_noted, _, down_reason, redis_now = pipe.execute()
        except WatchError:  # noted by a forward, or ended, meanwhile: theirs to tell
            return
    _tell_credentials_taken(refusing_cleared)
    ended = _ended(outage_noted, down_reason, redis_now)
    if ended is not None:
        retry_lookups_now(redis)
        tell_back(ended, 0, seen_by="lookup")


def _tell_credentials_taken(refusing_cleared: int) -> None:
    if refusing_cleared:
        log.info("casestore.credentials_accepted", detail="the case store takes the gateway's credentials again: "
                 "requeue the reports it refused meanwhile")


def casestore_refusing(context: WorkerContext, results: Sequence[SubmitResult]) -> None:
    """Note a refusal of the gateway's credentials (`CASESTORE_REFUSING_KEY`) when a report was refused with a status
    that may say so and the case store refuses the contract's read too (`refused_credentials`: a firewall's 403 for
    one report's words is not noted). `casestore.credentials_refused` (error) once per refusal. Dead-lettered one by
    one as any refusal, a rotated token showed on the views only as each channel's dead letters.

    Asked once per refusal, not by every job it refuses: noted already, it stands until a report is taken or the probe
    finds the case store answering. Each job of a backlog made one more request of a case store that refused it, and
    waited out the client's timeout on a read that hung, its reports' dead letters written and its progress not.

    A case store that refuses our credentials answers: an outage of it (forwards found it down before) ends then, in
    the transaction that notes the refusal (`casestore.back`, with the refusal's `refusing`), and the forwards waiting
    it out run now, to be refused as this one was. The outage stayed declared for as long as the refusal lasted, its
    reason `casestore_unreachable` and its step "check that the case store answers" beside the refusal's."""
    if not any(r.status in CREDENTIAL_STATUSES for r in results if not r.accepted and not r.retryable):
        return
    status: int | None = None
    if not context.redis.exists(CASESTORE_REFUSING_KEY):
        status = context.casestore.refused_credentials()
        if status is None:
            return
    pipe = context.redis.pipeline(transaction=True)
    if status is not None:
        _note_refusal(pipe, status)
    pipe.hget(CASESTORE_REFUSING_KEY, "reason")
    _end_outage(pipe, credentials_taken=False)
    *noted, reason, outage_noted, _, down_reason, redis_now = pipe.execute()
    if status is not None:
        _tell_credentials_refused(noted[0], status)
    ended = _ended(outage_noted, down_reason, redis_now)
    if ended is not None:
        refusing = None if reason is None else reason.decode(errors="replace")
        tell_back(ended, retry_outage_now(context), refusing=refusing)


def _note_refusal(pipe: Any, status: int) -> None:
    """Queue into `pipe` the note of a refusal of our credentials with `status` (two answers: the first says whether
    it is a new refusal, for `_tell_credentials_refused`)."""
    now = time.time()
    pipe.hsetnx(CASESTORE_REFUSING_KEY, "since", now)
    pipe.hset(CASESTORE_REFUSING_KEY, mapping={"reason": f"casestore_{status}", "at": now})


def _tell_credentials_refused(new: int, status: int) -> None:
    """`casestore.credentials_refused` (error), once per refusal: when its note was new (`_note_refusal`)."""
    if new:
        log.error("casestore.credentials_refused", reason=f"casestore_{status}",
                  detail=f"the case store refuses the gateway's credentials: {credentials_step(f'casestore_{status}')}")


def tell_back(ended: OutageEnd, retried_now: int, **fields: Any) -> None:
    """`casestore.back` for an outage that was told (`casestore.down`); one that was not stays a blip. Its `queue` is
    the forwards' or, for an outage only lookups noted, the lookups' (`lapor-status,lapor-reply`): it said
    `lapor-forward` beside `failing: lookups`, a queue nothing had failed in."""
    if ended.told:
        down = None if ended.since is None else round(max(0.0, ended.at - ended.since), 1)
        queue_name = FORWARD_QUEUE if ended.failing == FAILING[0] else ",".join(LOOKUP_QUEUES)
        log.info("casestore.back", last_failure=ended.reason, down_seconds=down, forwards_retried_now=retried_now,
                 queue=queue_name, failing=ended.failing, **fields)


class OutageEnd(NamedTuple):
    """An outage of the case store a forward ended: the last failure it was noted for, since when (None: noted by a
    version that kept no start), whether it was logged, and when it ended, and what failed through it (`FAILING`).
    Both times by Redis's clock, as the start is taken: this host's clock against another's start said `down_seconds`
    off by their skew (0 for a host behind)."""

    reason: str
    since: float | None
    told: bool
    at: float
    failing: str = FAILING[0]


# A failing forward's (or lookup's) note of the outage, in one step: the down key, and for a new outage its record (its
# start, URL, the workers' timeout and what failed, `FAILING`) with it, so that a view never reads an outage without
# its start; in two, the status page showed "forwards failing since ?" between them. A forward's note of an outage a
# lookup began makes it the forwards'. Returns the down key's reason before (nil: a new outage).
_NOTE_OUTAGE = """
local was = redis.call('SET', KEYS[1], ARGV[1], 'GET')
if not was then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'since', ARGV[2], 'url', ARGV[3], 'timeout', ARGV[4], 'failing', ARGV[5])
elseif ARGV[5] == 'forwards' then
  redis.call('HSET', KEYS[2], 'failing', ARGV[5])
end
return was
"""


def casestore_failing(context: WorkerContext, reason: str, queue_name: str = FORWARD_QUEUE) -> None:
    """Note the case store down for `reason` (a failure of the whole case store, `outage`), found so by a job of
    `queue_name`: a forward, or a CEK's lookup (`LOOKUP_QUEUES`: `workers.status.report_status`). Once it has failed
    for `OUTAGE_TOLD_AFTER_SECONDS`, the job that finds it so, of every worker, logs `casestore.down` (its `queue`),
    once for the outage; the forward that ends it, or the probe, logs `casestore.back` (`_forward_reports`). Each
    forward's own try stays a `forward.retry` line with its Tracking IDs: through an hour of outage those were hundreds
    of lines, and none of them said when it began or that it was over. A lookup failing alone (no forward waiting: at
    night, every report forwarded) noted nothing: the views said all was well while the CEK failed, and no probe ran
    to move it to now once the case store was back.

    Timed by Redis's clock, which every host's workers share: by each host's own, a worker on a host 10 s or more
    ahead of the one that noted the start declared an outage at its first failed try (one 503 retried at once), and
    one behind declared none until its own clock got there."""
    redis = context.redis
    now = redis_time(redis.time())
    # Where the forwards fail and how long they wait for an answer, for the views to say what to check: the workers'
    # settings, not the viewer's.
    url = shown_url(context.settings.casestore_url)
    timeout = context.settings.casestore.timeout_seconds
    failing = FAILING[0] if queue_name == FORWARD_QUEUE else FAILING[1]
    if redis.eval(_NOTE_OUTAGE, 2, CASESTORE_DOWN_KEY, CASESTORE_OUTAGE_KEY, reason, now, url, timeout,
                  failing) is None:
        return  # a new outage: its start noted, nothing told yet
    since = redis.hget(CASESTORE_OUTAGE_KEY, "since")
    if since is None:  # noted by an older version, which kept no start
        redis.hsetnx(CASESTORE_OUTAGE_KEY, "since", now)
        return
    failing_for = now - float(since)
    if failing_for >= OUTAGE_TOLD_AFTER_SECONDS and redis.hsetnx(CASESTORE_OUTAGE_KEY, "told", now):
        # A timeout's step is its own: the case store listens, and "check that it answers" sent the operator to
        # look for a process that was running.
        step = (casestore_timeout_step("at this url", timeout) if reason == "casestore_timeout" else
                "check that the case store answers at this url (LAPOR_CASESTORE_URL)")
        kept = ("the reports are kept and their forwards retried" if queue_name == FORWARD_QUEUE else
                "the CEKs' lookups are retried, and run at once when it answers")
        log.error("casestore.down", reason=reason, failing_seconds=round(failing_for, 1), queue=queue_name, url=url,
                  detail=f"{kept}; {step}")


def shown_url(url: str) -> str:
    """The case store's URL as views and logs show it: without a user and password, a query or a fragment."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl()


def _dead_letter(context: WorkerContext, envelope: dict[str, Any] | None, tracking_id: str, reason: str,
                 detail: str, attempts: int, job_id: str | None = None) -> None:
    DeadLetters(context.redis).add_forward(tracking_id, envelope, reason=reason, detail=detail, attempts=attempts,
                                           job_id=job_id)


def _failed_before(job: Any) -> set[str]:
    """The reports whose own post or file failed in an earlier try of the job (its meta's `failed`)."""
    return set(job.meta.get("failed") or []) if job is not None else set()


# How many tries each report's own post or file failed in (a job's meta, beside `failed`, which the release before
# reads): of those that failed, the one failing least goes first (`_forward_reports`).
FAILURES_META = "failures"


def _failures(job: Any) -> dict[str, int]:
    return dict(job.meta.get(FAILURES_META) or {}) if job is not None else {}


def _with_failed(job: Any, failed: Iterable[str]) -> dict[str, Any]:
    """The job's meta of the reports that failed, with `failed` (this try's) counted once more."""
    counts = _failures(job)
    for tracking_id in failed:
        counts[tracking_id] = counts.get(tracking_id, 0) + 1
    return {"failed": sorted(_failed_before(job).union(failed)), FAILURES_META: counts}


def _upload_attachments(context: WorkerContext, payloads: list[dict[str, Any]],
                        uploaded: dict[str, bool]) -> tuple[list[str], RetryableError | None]:
    """Attachments stored under the data dir go to the case store before their report (content-addressed, so a
    retry uploads again harmlessly). A refused or missing file is logged and flagged `not_uploaded` in the payload
    (the stored envelope stays as it is); the report still goes. A file in several reports of the batch (a
    follow-up with the same photo, a mail sent twice) is read and uploaded once. `uploaded` (by sha256: whether the
    case store has it) holds what earlier tries of the job uploaded, and is filled as the uploads go, so that a try
    cut short (RQ's job timeout) keeps them (`_uploaded_so_far`).

    A retryable failure (5xx, 429, a timeout) stops the uploads, as the case store may be down: the Tracking IDs of
    the report whose file failed (first) and of the later ones with a file not uploaded yet are returned with the
    error, to wait for the job's next try; the other reports go now. Raised, it held back every report of the batch
    at every try, and dead-lettered them all when the tries ran out, for one file the case store kept failing on."""
    waiting: list[str] = []
    stopped: RetryableError | None = None
    for payload in payloads:
        attachments = list(payload.get("attachments") or [])
        if stopped is not None and any(kept_by_gateway(attachment) and attachment["sha256"] not in uploaded
                                       for attachment in attachments):
            waiting.append(payload["tracking_id"])
            continue
        for index, attachment in enumerate(attachments):
            if not kept_by_gateway(attachment):
                continue
            location, sha256 = attachment["location"], attachment["sha256"]
            if sha256 not in uploaded:
                try:
                    content = stored_path(context.settings.data_dir, location).read_bytes()
                    context.casestore.put_attachment(sha256, attachment.get("content_type", ""), content)
                    uploaded[sha256] = True
                except (OSError, PermanentError) as error:
                    log.error("forward.attachment_failed", tracking_id=payload["tracking_id"], attachment=index,
                              channel=report_source(payload), error=type(error).__name__,
                              reason=getattr(error, "reason", "unreadable"))
                    uploaded[sha256] = False
                except RetryableError as error:
                    stopped = error
                    waiting.append(payload["tracking_id"])
                    break
            if not uploaded[sha256]:
                attachments[index] = {**attachment, "flags": [*attachment.get("flags", []), NOT_UPLOADED]}
        if attachments and payload["tracking_id"] not in waiting:
            payload["attachments"] = attachments
    return waiting, stopped


def _uploaded_so_far(job: Any, uploaded: Mapping[str, bool]) -> list[str]:
    """The files the case store took in this try and the earlier ones, for the job's meta (`UPLOADED_META`). Kept, a
    batch whose uploads outlast the job's timeout (a backlog of photos, a slow link) goes on where it stopped: each try
    uploaded the same first files again and timed out before any report was posted, until the tries ran out."""
    earlier = set(job.meta.get(UPLOADED_META) or []) if job is not None else set()
    return sorted(earlier.union(sha256 for sha256, taken in uploaded.items() if taken))


def forward_reports(tracking_ids: list[str]) -> dict[str, int]:
    """RQ job. Returns counts; raises RetryableError to have RQ retry what is not done yet."""
    with job_sensitive_values():  # the citizens' words and numbers of this job stay out of every log line
        return _forward_reports(tracking_ids)


def _citizen_values(envelope: dict[str, Any]) -> list[str | None]:
    """The report's words and its sender's identity, to keep out of this job's log lines and dead letters: an X
    sender's handle is in `channel_meta`, not in the sender (the user id and the name), and the case store gets it."""
    sender = envelope.get("sender") or {}
    username = (envelope.get("channel_meta") or {}).get("username")
    return [envelope.get("text"), envelope.get("subject"), sender.get("id"), sender.get("display_name"),
            username if isinstance(username, str) else None]


def _forward_reports(tracking_ids: list[str]) -> dict[str, int]:
    context = current()
    job = get_current_job()
    done: set[str] = set(job.meta.get("done", [])) if job else set()
    attempts = attempt_number(job)
    if job is not None:  # kept with the job's progress by note_retry; see may_wait_for_files
        job.meta.setdefault(FIRST_TRY_META, time.time())
    # The reports whose post or file failed in an earlier try go after the others: posted first at every try, one the
    # case store keeps failing on stopped the reports after it each time, and they were dead-lettered untried.
    # Among them the one that failed least goes first: a case store behind a proxy, restarting after its process died
    # on one report, answered the next report's post 502 too; after it in every try (they went in the order of
    # their IDs), that one was never posted again once the first failed before any report was taken, and was
    # dead-lettered with it.
    failed_before, failures = _failed_before(job), _failures(job)
    pending = sorted((tid for tid in tracking_ids if tid not in done),
                     key=lambda tid: (tid in failed_before, failures.get(tid, 0)))
    stored = _load_envelopes(context, pending)
    envelopes = {tid: envelope for tid, envelope in stored.items() if isinstance(envelope, dict)}
    add_sensitive_values(*[value for envelope in envelopes.values() for value in _citizen_values(envelope)])
    for missing in (tid for tid in pending if tid not in stored):
        log.error("forward.envelope_missing", tracking_id=missing)
        _dead_letter(context, None, missing, "envelope_missing", "no envelope stored under this Tracking ID", attempts)
        done.add(missing)
    for unreadable, why in ((tid, stored[tid]) for tid in pending if isinstance(stored.get(tid), str)):
        log.error("forward.envelope_unreadable", tracking_id=unreadable, damaged=why)
        _dead_letter(context, None, unreadable, "envelope_unreadable", _unreadable_detail(str(why)), attempts)
        done.add(unreadable)

    engine = triage_engine(context) if any(tid in envelopes for tid in pending) else None
    # The stored envelopes keep their providers' URLs; a report whose file may come later can wait for it.
    with_media = fetch_provider_media(context, envelopes, may_hold=may_wait_for_files(context.settings, job))
    # An anonymous report's photos go without what names their taker (GPS, owner, serial); the gateway keeps them whole.
    outgoing = without_identifying_metadata(context.settings.data_dir, with_media.envelopes)
    payloads = [with_triage(engine, envelopes[tid], case_store_payload(outgoing[tid], context.settings))
                for tid in pending if tid in outgoing]
    held = sorted(with_media.held)
    counts = {"forwarded": 0, "dead_lettered": 0, "retry": 0}
    interrupted: SubmitInterrupted | None = None
    waiting: list[str] = []  # reports whose file failed to upload (first), or not tried after it: the next try's
    upload_error: RetryableError | None = None
    ready: list[dict[str, Any]] = []
    uploaded = dict.fromkeys(job.meta.get(UPLOADED_META) or [], True) if job is not None else {}
    try:
        waiting, upload_error = _upload_attachments(context, payloads, uploaded)
        ready = [p for p in payloads if p["tracking_id"] not in waiting]
        one_by_one = bool(job is not None and job.meta.get(ONE_BY_ONE_META))
        results = context.casestore.submit(ready, one_by_one=one_by_one) if ready else []
    except SubmitInterrupted as error:  # what the case store answered before the failure is kept, not posted again
        results, interrupted = error.answered, error
    except JobTimeoutException:
        # RQ's job timeout in the middle of the posts: what the case store answered is kept, as for a retryable
        # failure, and the report in flight goes last in the next try; RQ retries or gives up the job as before.
        posted = {p["tracking_id"] for p in ready}
        _take_answers(context, envelopes, [r for r in context.casestore.answered if r.tracking_id in posted],
                      with_media.not_fetched, done, attempts)
        if job is not None:
            in_flight = [p["tracking_id"] for p in ready if p["tracking_id"] not in done][:1]
            job.meta.update(done=sorted(done), **_with_failed(job, in_flight),
                            **{UPLOADED_META: _uploaded_so_far(job, uploaded)})
            job.save_meta()
            # A try that ran out of time spends its retry, ahead of its turn or not: a note of a move left here would
            # pass for a later move's turn (`_MOVE_AHEAD` keeps the later).
            context.redis.delete(MOVED_KEY.format(job_id=job.id))
        raise
    except RetryableError as error:
        if (split := split_timing_out(context, job, tracking_ids, done, error, uploaded)) is not None:
            return split
        one_by_one_after_500s(context, job, ready, error)
        return _retry_or_give_up(context, job, envelopes, [p["tracking_id"] for p in payloads] + held, done, error,
                                 attempts, uploaded=uploaded)
    except PermanentError as error:  # the whole batch refused (401, 403...): each report under that status
        results = [SubmitResult(p["tracking_id"], error.status or 400, error.detail) for p in ready]

    counts["forwarded"], counts["dead_lettered"] = _take_answers(context, envelopes, results, with_media.not_fetched,
                                                                 done, attempts)
    if interrupted is not None:
        if (split := split_timing_out(context, job, tracking_ids, done, interrupted, uploaded)) is not None:
            return {**split, "forwarded": counts["forwarded"], "dead_lettered": counts["dead_lettered"]}
        unanswered = [p["tracking_id"] for p in payloads if p["tracking_id"] not in done and
                      p["tracking_id"] not in waiting]
        return _retry_or_give_up(context, job, envelopes, unanswered + waiting + held, done, interrupted, attempts,
                                 failed=unanswered[:1] + waiting[:1], uploaded=uploaded)
    retry_ids = [r.tracking_id for r in results if r.retryable]
    if retry_ids or upload_error is not None:
        error = upload_error if upload_error is not None and not retry_ids else RetryableError(
            f"case store failed {len(retry_ids)} report(s) in a batch", reason="casestore_partial")
        return _retry_or_give_up(context, job, envelopes, retry_ids + waiting + held, done, error, attempts,
                                 failed=retry_ids + waiting[:1], uploaded=uploaded,
                                 details={r.tracking_id: _answered(r) for r in results if r.retryable})
    if held:
        reason = with_media.held[held[0]]
        error = RetryableError(f"{len(held)} report(s) wait for a file from their provider ({reason})",
                               reason=f"attachment_{reason}")
        return _retry_or_give_up(context, job, envelopes, held, done, error, attempts, uploaded=uploaded)
    return counts


def _answered(result: SubmitResult) -> str:
    """A batch's retryable result for one report, as its dead letter says it: the status and the case store's words,
    or that its answer left the report out (`LEFT_OUT`). Each said "case store failed N report(s) in a batch", the
    same for a shard down (503) as for a report missing from the answer."""
    if result.error == LEFT_OUT:
        return LEFT_OUT
    return f"case store answered {result.status} for this report" + (f": {result.error}" if result.error else "")


def _take_answers(context: WorkerContext, envelopes: dict[str, dict[str, Any]], results: list[SubmitResult],
                  not_fetched: Mapping[str, list[str]], done: set[str], attempts: int) -> tuple[int, int]:
    """Mark the reports the case store took forwarded and dead-letter those it refused, each added to `done`; how
    many of each. A retryable answer is left for the caller."""
    accepted = [envelopes[r.tracking_id] for r in results if r.accepted]
    ended, first = _mark_forwarded(context, accepted, not_fetched)
    if ended is not None:
        tell_back(ended, retry_outage_now(context))
    done.update(r.tracking_id for r in results if r.accepted)
    dead_lettered = 0
    for result in results:
        if not result.accepted and not result.retryable:
            _dead_letter(context, envelopes[result.tracking_id], result.tracking_id,
                         f"casestore_{result.status}", result.error or "", attempts)
            done.add(result.tracking_id)
            dead_lettered += 1
    if dead_lettered:
        casestore_refusing(context, results)
    for envelope in first:
        log.info("report.forwarded", tracking_id=envelope["tracking_id"], channel=envelope.get("source"))
    return len(accepted), dead_lettered


def may_wait_for_files(settings: Settings, job: Any) -> bool:
    """Whether a report may be held back for a file that failed for a reason that may pass: within
    `attachments.retry_seconds` of the job's first try, and with a retry left, so that a file never costs a report its
    delivery. From the first try, not from the job's queueing: a job that waited longer than that in a backlog (no
    worker for a while, a burst) would never wait for a file at all."""
    window = settings.attachments.retry_seconds
    if job is None or not job.retries_left or window <= 0:
        return False
    return time.time() - float(job.meta.get(FIRST_TRY_META, time.time())) < window


def _retry_or_give_up(context: WorkerContext, job: Any, envelopes: dict[str, dict[str, Any]], remaining: list[str],
                      done: set[str], error: RetryableError, attempts: int,
                      failed: Sequence[str] = (), uploaded: Mapping[str, bool] | None = None,
                      details: Mapping[str, str] | None = None) -> dict[str, int]:
    """Retry `remaining` (`failed`: those whose own post or file failed, to go last in every later try; `uploaded`:
    the files the case store took, not uploaded again), or, with no retry left, dead-letter them, each with its own
    answer's words where it had one (`details`: a batch's result for it) or the error's."""
    if outage(error.reason):
        casestore_failing(context, error.reason)
    if job is not None:
        back_to_its_turn(context, job, error.reason)
    if job is not None and job.retries_left:
        until = None
        if error.retry_after:
            _wait_at_least(job, error.retry_after)
            until = time.time() + min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
        note_retry(job, attempts, error.reason, done=sorted(done), **{RETRY_AFTER_META: until},
                   **_with_failed(job, failed), **{UPLOADED_META: _uploaded_so_far(job, uploaded or {})})
        for channel, tracking_ids in _by_channel(envelopes, remaining).items():  # a line per channel of the batch
            log.warning("forward.retry", channel=channel, reason=error.reason, tracking_ids=tracking_ids,
                        attempt=attempts, retries_left=job.retries_left)
        raise error
    for tracking_id in remaining:
        detail = (details or {}).get(tracking_id, error.detail)
        _dead_letter(context, envelopes.get(tracking_id), tracking_id, error.reason,
                     f"gave up after {attempts} attempt(s): {detail}", attempts)
    return {"forwarded": 0, "dead_lettered": len(remaining), "retry": 0}


def split_timing_out(context: WorkerContext, job: Any, tracking_ids: list[str], done: set[str],
                     error: RetryableError, uploaded: Mapping[str, bool]) -> dict[str, int] | None:
    """Count a try whose request to the case store timed out (`TIMEOUT_REASONS`) on the job; at the
    `casestore.split_after_timeouts`-th, queue two forward jobs of halves of its reports not yet done in place of its
    retry, and return its counts (None: retry or give up as before).

    A batch with one report the case store (or a proxy before it) keeps timing out on (a huge mail, a report it chokes
    on, a large body through a proxy) timed out whole at every try, and the other reports of the batch waited with it
    until the retries ran out and were dead-lettered with it. Halves, down to one report a job (each counting afresh,
    as the reaper's split does), let the others go; the report at fault is dead-lettered alone after its own retries.
    The halves wait what the job's next retry would have (a case store hung as a whole is not asked sooner; at least a
    Retry-After it answered with, and no outage's end moves them sooner: `_asked_to_wait`), carry its
    first try (a report waiting for a file does not wait longer) and the files the case store took, and are queued in
    one transaction with the job's meta, which counts their reports done: the job, run again (its worker died before
    it ended), leaves them to the halves. Each report stays in exactly one job; the case store's idempotency on the
    Tracking ID covers a report posted again by a job run twice. Only while the case store answers a read
    (`CaseStoreClient.answers`, asked once the count is reached): one that times out on everything is in an outage,
    which no split shortens."""
    threshold = context.settings.casestore.split_after_timeouts
    if job is None or threshold <= 0 or error.reason not in TIMEOUT_REASONS:
        return None
    pending = [tid for tid in dict.fromkeys(tracking_ids) if tid not in done]
    if len(pending) < 2:
        return None
    timeouts = int(job.meta.get(TIMEOUTS_META) or 0) + 1
    job.meta[TIMEOUTS_META] = timeouts  # saved with the retry's progress (note_retry) when it does not split
    if timeouts < threshold or not context.casestore.answers():
        # Not answering a read either: hung as a whole, not held up by a report. Split, each job of a batch of N
        # became up to 2N - 1 jobs timing out through every retry (about 6N requests where the batch made 14).
        return None
    if outage(error.reason):
        casestore_failing(context, error.reason)
    half = len(pending) // 2
    delay = _next_interval(job)
    carried = {"last_error": error.reason, "split_from": job.id, UPLOADED_META: _uploaded_so_far(job, uploaded)}
    if error.retry_after:  # a proxy's 504 with a Retry-After: the halves wait it out, as the job's retry would
        asked = min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
        delay = max(delay, math.ceil(asked))
        carried[RETRY_AFTER_META] = time.time() + asked
    if FIRST_TRY_META in job.meta:
        carried[FIRST_TRY_META] = job.meta[FIRST_TRY_META]
    target = queue(FORWARD_QUEUE, context.redis)
    pipe = context.redis.pipeline(transaction=True)
    halves = []
    for part in (pending[:half], pending[half:]):
        new = prepared_job(context.redis, context.settings, FORWARD_QUEUE, FORWARD_FUNC, (part,), meta=dict(carried),
                           scheduled=bool(delay))
        if delay:
            due = datetime.now(UTC) + timedelta(seconds=delay)
            target.schedule_job(new, due, pipeline=pipe)
            # RQ's registry adds the id at once, outside the pipeline: a scheduler passing before the EXEC drops an id
            # whose job it cannot fetch yet, and the half, saved, was never run. Added again inside the transaction.
            pipe.zadd(target.scheduled_job_registry.key, {new.id: int(due.timestamp())})
        else:
            target.enqueue_job(new, pipeline=pipe)
        halves.append(new.id)
    # The job's own meta only once the halves are queued: counted done before a failed EXEC, its reports were in no
    # job (its retry saves the meta, its give-up dead-letters only what is not done).
    meta = {**job.meta, "done": sorted(done.union(pending)), SPLIT_INTO_META: halves}
    pipe.hset(job.key, "meta", job.serializer.dumps(meta))
    pipe.execute()
    job.meta.update(meta)
    log.warning("forward.split_for_timeouts", reason=error.reason, timeouts=timeouts, reports=len(pending),
                halves=[half, len(pending) - half], jobs=halves, delay_seconds=delay, tracking_ids=pending)
    return {"forwarded": 0, "dead_lettered": 0, "retry": 0, "split": len(pending)}


def one_by_one_after_500s(context: WorkerContext, job: Any, posted: Sequence[dict[str, Any]],
                          error: RetryableError) -> None:
    """Count a batch the case store answered 500 as a whole (an unhandled error, which one report's content may cause)
    or a proxy before it 502 (`ONE_REPORT_FAILURES`: nginx's Bad Gateway, the case-store process it passed the batch
    to died on one report) on the job; at the `ONE_BY_ONE_AFTER`-th, while the case store answers a read
    (`CaseStoreClient.answers`), switch the job's next tries to one request per report (`ONE_BY_ONE_META`, saved with
    the retry's progress by note_retry).

    A batch with one report the case store fails on was answered 500 at every try, and every report of it (up to
    `intake.max_batch`) waited through every retry, hours, and was dead-lettered with it. Posted one by one, the reports
    before it are taken, and the one that failed goes last at each later try (`_forward_reports`): the others are taken
    at the next, the one at fault is dead-lettered alone. A case store failing every write costs one request a try
    still (the first post fails and the try ends there); one failing reads too is in an outage, and stays batched.

    A 502 is an outage's too (`outage`, `GIVES_RETRY_BACK`): a case store down behind its proxy answers 502 to reads
    as well, and stays batched, each try's failure the outage's as before. One whose process died on one report
    answered 502 to every batch holding it, while it answered reads and the other reports: retried whole, the batch
    went into the dead letters whole, two hours later. 503 (shedding load) and 504 (a timeout, `split_timing_out`)
    are the whole case store's: not counted."""
    if job is None or error.reason not in ONE_REPORT_FAILURES or len(posted) < 2 or job.meta.get(ONE_BY_ONE_META):
        return
    count = int(job.meta.get(BATCH_500S_META) or 0) + 1
    job.meta[BATCH_500S_META] = count
    if count < ONE_BY_ONE_AFTER or not job.retries_left or not context.casestore.answers():
        return
    job.meta[ONE_BY_ONE_META] = True
    # The event keeps its name (alerts and dashboards read it); `status` says whether this try's answer was a 500 or a
    # proxy's 502, `batch_500s` counts both.
    log.warning("forward.one_by_one_after_500s", batch_500s=count, status=ONE_REPORT_FAILURES[error.reason],
                reports=len(posted), tracking_ids=[payload["tracking_id"] for payload in posted])


def _next_interval(job: Any) -> int:
    """The seconds RQ would wait before the job's next retry (its last interval once it has none left)."""
    intervals = list(job.retry_intervals or [0])
    return int(intervals[_next_interval_index(job, intervals)])


def _next_interval_index(job: Any, intervals: Sequence[int]) -> int:
    """Which of `intervals` RQ schedules the job's next retry by (as `Job.get_retry_interval` reads it): the one its
    retries left point at, the last once it has none left."""
    return min(max(len(intervals) - (job.retries_left or 0), 0), len(intervals) - 1)


def _by_channel(envelopes: Mapping[str, Mapping[str, Any]], tracking_ids: list[str]) -> dict[str, list[str]]:
    """The Tracking IDs by their reports' channel (`report_source`), in their order."""
    grouped: dict[str, list[str]] = {}
    for tracking_id in tracking_ids:
        grouped.setdefault(report_source(envelopes.get(tracking_id) or {}), []).append(tracking_id)
    return grouped


def outage(reason: str | None) -> bool:
    """A failure of the case store as a whole (not listening, timing out, 5xx), over once it takes a report again;
    not a 429, whose Retry-After is kept, nor a report the case store failed alone."""
    status = (reason or "").removeprefix("casestore_")
    return status in ("unreachable", "timeout") or (status.isdigit() and int(status) >= 500)


def retry_outage_now(context: WorkerContext) -> int:
    """The case store took a report again: the forwards waiting for their retry after an outage run now (their
    RQ scheduler enqueues them within a second), not each at the end of its own backoff, up to an hour later, the
    views meanwhile still saying the reports wait for a case store that is back. Returns how many.

    One whose last try the case store asked to wait (a 503 with Retry-After: shedding load, a maintenance window) runs
    at the end of that wait, not sooner (`_asked_to_wait`): moved to now by every report another forward got through,
    a case store shedding load saw each such job again at once, its retries spent in seconds instead of the hours of
    backoff, and its reports dead-lettered while the case store asked for a minute.

    A move is a try ahead of the job's turn, not one of its retries: each job moved notes when its retry was due
    (`MOVED_KEY`, in the same script as the move), and a try of it that fails before then goes back to that time with
    no retry spent (`back_to_its_turn`). A case store shedding load without a Retry-After (a 503 to nine requests in
    ten) ends an "outage" at every report it takes, and each end moved every waiting job to now: their retries were
    spent at the rate of its successes, and about a quarter of them dead-lettered within seconds. Now a job's retries
    go at its own backoff's pace, as the schedule means (about two hours in all), however often the case store flaps,
    and a real outage still drains at once. Chosen over moving jobs only after an outage that lasted past a threshold
    (a flapping case store with little traffic lasts past any threshold between two successes, and a short outage
    left jobs in long backoffs waiting an hour) and over moving them in waves (each wave still spent a retry of each
    job in it): this one keeps every move and makes none of them cost a retry.

    Nor does a move load a flapping case store with every waiting forward at each report it takes: a job whose try
    ahead of its turn failed a moment ago (`GIVEN_BACK_META`) is moved to MOVED_AGAIN_AFTER_SECONDS after that
    failure, not to now. With 9 requests in 10 shed and 100 waiting, every report taken sent the other waiting
    forwards again (the workers' whole throughput at a case store failing under load); now each is seen again once a
    minute at most, and once it stops flapping within a minute of the first report it takes, traffic or none.

    The jobs of the other queues that wait on the case store alone go with them (`retry_lookups_now`): a CEK asked
    during the outage is answered now, not at the end of its status job's backoff."""
    moved = _retry_waiting_now(context.redis, FORWARD_QUEUE, outage)
    if moved:
        log.info("forward.retry_now", reason="casestore_back", jobs=moved)
    retry_lookups_now(context.redis)
    return moved


def waits_for_casestore(last_error: object) -> bool:
    """Whether a job of a lookup queue (`LOOKUP_QUEUES`) waits for its retry on the case store alone: its last failure
    (its meta's `last_error`; a reply's are its dead letter's words, the reason first) an outage of the case store's
    (`outage`). A reply waiting on its provider (`aggregator_503`, `twilio_unreachable (...)`) waits for that."""
    reason = str(last_error or "").partition(" ")[0].rstrip(":")
    return reason.startswith("casestore_") and outage(reason)


def retry_lookups_now(redis: Redis) -> int:
    """The case store answers again: the jobs that wait on it alone besides the forwards (`LOOKUP_QUEUES`: a CEK's
    status job, a mailed CEK's reply, whose lookups failed in the outage: `waits_for_casestore`) run now, as the
    forwards waiting out the outage do (`retry_outage_now`), and as they are moved (a try ahead of its turn that
    fails before it goes back to it with no retry spent, `back_to_its_turn`; one that failed so a moment ago waits
    `MOVED_AGAIN_AFTER_SECONDS`). Only the forwards were moved: a CEK asked during the outage was answered at the end
    of its status job's own backoff (4 minutes after a short outage, up to an hour after a long one), the status views
    meanwhile saying that its queue waited on a case store that "takes connections but does not answer" when it
    answered. Returns how many; `lookup.retry_now` names them by queue."""
    moved = {name: _retry_waiting_now(redis, name, waits_for_casestore) for name in LOOKUP_QUEUES}
    if any(moved.values()):
        log.info("lookup.retry_now", reason="casestore_back", jobs=sum(moved.values()),
                 queues={name: count for name, count in moved.items() if count})
    return sum(moved.values())


def _retry_waiting_now(redis: Redis, name: str, waits: Callable[[object], bool]) -> int:
    """Move the jobs scheduled for a retry on queue `name` whose last failure `waits` says waited for the case store
    to now (or to the end of a pause or a Retry-After, `retry_outage_now`); how many moved."""
    registry = queue(name, redis).scheduled_job_registry
    ids = registry.get_job_ids(cleanup=False)
    jobs = Job.fetch_many(ids, connection=redis, serializer=JSONSerializer) if ids else []
    now = int(time.time())
    waiting: dict[str, int] = {}
    for job in jobs:
        if job is None or not waits(job.meta.get("last_error")):
            continue
        # Its backoff may be longer than either wait: it runs at the end of them.
        given_back = job.meta.get(GIVEN_BACK_META)
        paused = given_back + MOVED_AGAIN_AFTER_SECONDS if isinstance(given_back, int | float) else now
        at = max(paused, _asked_to_wait(job) or now)
        waiting[job.id] = math.ceil(at) if at > time.time() else now
    return _move_ahead(redis, registry.key, waiting, now) if waiting else 0


# KEYS[1] the scheduled registry, KEYS[2..] each job's MOVED_KEY; ARGV[1] now, then each job's id and when it is to
# run. A job still scheduled later than that (not enqueued meanwhile: it would run twice) is moved there, and when it
# was due is noted: its turn, the later of where it was and what a note of an earlier move says (a job moved to the
# end of its pause, then by the probe to now, was noted due at that pause's end: its try that failed went back there,
# not to its turn, and the try at the pause's end spent a retry ahead of its turn).
_MOVE_AHEAD = """
local moved = 0
local now = tonumber(ARGV[1])
for i = 2, #KEYS do
  local id = ARGV[2 * i - 2]
  local at = tonumber(ARGV[2 * i - 1])
  local due = tonumber(redis.call('ZSCORE', KEYS[1], id))
  if due and at < due then
    redis.call('ZADD', KEYS[1], at, id)
    local noted = redis.call('GET', KEYS[i])
    local turn = noted and tonumber(string.match(noted, '^(%S+)')) or due
    if turn < due then turn = due end
    redis.call('SET', KEYS[i], turn .. ' ' .. ARGV[#ARGV], 'EX',
               math.max(1, math.ceil(turn - now)) + tonumber(ARGV[#ARGV - 1]))
    moved = moved + 1
  end
end
return moved
"""


def _move_ahead(redis: Redis, registry_key: str, runs: Mapping[str, int], now: int, by: str = OUTAGE_END) -> int:
    """Move the scheduled jobs `runs` (job id: when to run; forwards, or the lookups of `retry_lookups_now`) ahead,
    noting when each was due and who moved it (`MOVED_KEY`: `OUTAGE_END` or `PROBE`), in one script; how many
    moved."""
    keys = [registry_key, *(MOVED_KEY.format(job_id=job_id) for job_id in runs)]
    args: list[Any] = [now]
    for job_id, at in runs.items():
        args += [job_id, at]
    return int(redis.eval(_MOVE_AHEAD, len(keys), *keys, *args, MOVED_KEY_GRACE_SECONDS, by))


def back_to_its_turn(context: WorkerContext, job: Any, reason: str | None) -> None:
    """A try of a job moved ahead of its retry (an outage's end, `retry_outage_now` and `retry_lookups_now`, or the
    probe, `retry_next_outage_forward`) failed before that retry was due, the case store failing as a whole
    (GIVES_RETRY_BACK): the job goes back to that time, its retry not spent (RQ spends one as it schedules the job:
    given back here, and the interval it schedules by is what was left of the wait). A try at or after its turn, or
    failed otherwise, is one of its retries, as any. The note is taken (GETDEL), so a try counts as ahead of its turn
    once."""
    note = context.redis.getdel(MOVED_KEY.format(job_id=job.id))
    if note is None:
        return
    due, _, by = note.decode().partition(" ")
    # The probe runs one forward a period, to see whether the case store takes writes again: any failure of it as a
    # whole (a 500 to every write) is its answer, no retry of that forward's (each probe spent one).
    if not (outage(reason) if by == PROBE else reason in GIVES_RETRY_BACK):
        return
    wait = math.ceil(float(due) - time.time())
    if wait < 1:
        return
    job.meta[GIVEN_BACK_META] = time.time()
    job.retries_left = (job.retries_left or 0) + 1
    intervals = list(job.retry_intervals or [0])
    intervals[_next_interval_index(job, intervals)] = wait
    job.retry_intervals = intervals


def retry_next_outage_forward(redis: Redis) -> str | None:
    """A probe found the case store answering again (`workers.casestore_probe`): the forward waiting out the outage
    whose retry is due first runs now, alone; the first report the case store takes brings the others to now
    (`retry_outage_now`); its try, failed before its turn, spends no retry of it. Its job id; None when no forward
    waits for an outage; `ASKED_TO_WAIT` when those that wait for it all wait out what the case store asked (a
    Retry-After, `_asked_to_wait`): none runs sooner, and the outage is not over for them."""
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    start = 0
    asked = False
    avoided: str | None = None  # the first one whose try ahead of its turn failed a moment ago
    while ids := registry.get_job_ids(start, start + PROBE_PAGE - 1, cleanup=False):  # the soonest due first
        for job in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer):
            if job is None or not outage(job.meta.get("last_error")):
                continue
            if _asked_to_wait(job) is not None:
                asked = True
                continue
            given_back = job.meta.get(GIVEN_BACK_META)
            if isinstance(given_back, int | float) and time.time() - given_back < PROBE_AVOIDS_SECONDS:
                avoided = avoided or job.id  # back at the head of the registry, it was picked at every round
                continue
            return _probe_runs(redis, registry.key, job.id)
        start += PROBE_PAGE
    if avoided is not None:
        return _probe_runs(redis, registry.key, avoided)
    return ASKED_TO_WAIT if asked else None


def _probe_runs(redis: Redis, registry_key: str, job_id: str) -> str:
    """The probe's forward run now. One the scheduler enqueued meanwhile runs already. A try ahead of its turn, as an
    outage's end moves: failed before its turn, it goes back to it with no retry spent (`back_to_its_turn`)."""
    now = int(time.time())
    _move_ahead(redis, registry_key, {job_id: now}, now, by=PROBE)
    log.info("forward.retry_now", reason="casestore_answers", jobs=1)
    return job_id


def _asked_to_wait(job: Job) -> float | None:
    """Until when the case store asked the job's last try to wait (`RETRY_AFTER_META`), if that is still to come."""
    until = job.meta.get(RETRY_AFTER_META)
    return float(until) if isinstance(until, int | float) and until > time.time() else None


def _wait_at_least(job: Any, seconds: float) -> None:
    """Make RQ's next retry of this job wait at least `seconds` (a case store's Retry-After), never less than the
    configured schedule. RQ reads the interval from the job in hand when it schedules the retry, by this index."""
    intervals = list(job.retry_intervals or [0])
    index = _next_interval_index(job, intervals)
    intervals[index] = max(intervals[index], math.ceil(min(seconds, MAX_RETRY_AFTER_SECONDS)))
    job.retry_intervals = intervals


def dead_letter_unfinished(context: WorkerContext, job: Any, *, reason: str, detail: str, attempts: int) -> None:
    """Dead-letter each report of a forward job that it had not finished (not in its meta's `done`), requeueable one
    by one: what `workers.failures` does with a forward job whose last attempt ended by an exception."""
    done = set(job.meta.get("done", []))
    pending = [str(tid) for tid in (job.args[0] if job.args else []) if tid not in done]
    stored = _load_envelopes(context, pending)
    for tracking_id in pending:
        envelope = stored.get(tracking_id)
        _dead_letter(context, envelope if isinstance(envelope, dict) else None, tracking_id, reason, detail, attempts,
                     job_id=job.id)
