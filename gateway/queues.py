"""Redis connections, queue names and the JSON job serializer: the one place that knows RQ's set-up.

Queues are separate so a slow channel never delays intake: `lapor-forward` (to the case store),
`lapor-reply` (answers to citizens), `lapor-status` (status queries). Jobs are JSON, never pickle: whoever can
write to Redis must not be able to run code in a worker. Job functions are named by dotted path, so the
gateway never imports worker code.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry
from rq.exceptions import DequeueTimeout
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus

from gateway.errors import RejectedInput
from gateway.logs import get_logger
from gateway.settings import Settings
from normalizer.envelope import SENDER_IDENTITIES

log = get_logger()

FORWARD_QUEUE = "lapor-forward"
REPLY_QUEUE = "lapor-reply"
STATUS_QUEUE = "lapor-status"
ALL_QUEUES = (FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE)

FORWARD_FUNC = "workers.forward.forward_reports"

ENVELOPE_KEY = "lapor:envelope:{tracking_id}"
# Tracking IDs stored and acknowledged whose forward job is not created yet (see `release_held_forwards`).
HELD_FORWARD_KEY = "lapor:forward:held"


class JSONSerializer:
    """RQ serializer on orjson: fast, and data only."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> bytes:
        return orjson.dumps(obj)

    @staticmethod
    def loads(data: bytes | str, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(data)


# TCP keepalive on every connection: a Redis host that vanished without a word (a failover, a partition) is found
# dead by the kernel after about 30 s of silence (15 s idle, then 3 probes 5 s apart), where a worker's blocking
# dequeue, whose socket timeout RQ raises to about 415 s, would otherwise wait that long for a peer that is gone;
# and, with a command sent that the peer never acknowledged (keepalive waits while data is unacknowledged), after
# 30 s too (TCP_USER_TIMEOUT, in ms). A Redis that is alive but paused still acknowledges: the socket timeouts and the
# liveness connection tell that one.
KEEPALIVE_OPTIONS = {getattr(socket, name): value for name, value in
                     (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 30_000))
                     if hasattr(socket, name)}


def redis_connection(url: str, *, timeout: float = 5.0) -> Redis:
    """A connection for RQ and intake. Never decode_responses: RQ stores bytes.

    One immediate retry for a pooled connection gone stale (a Redis restarted), no backoff: during an outage intake
    must fall back to the spool at once rather than keep a citizen waiting. None for a timeout (redis-py's default
    retries those too): a Redis that hangs cost the command its timeout, then the retry's reconnection and handshake
    as long again (the first webhook of a hang answered after 4 s, a scheduler's call after twice RQ's 415 s); and a
    command that timed out may have run, or run once the Redis resumes, so sending it again ran it twice."""
    tcp = {} if url.startswith("unix:") else {"socket_keepalive": True, "socket_keepalive_options": KEEPALIVE_OPTIONS}
    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=min(timeout, 2.0), health_check_interval=30,
        retry=RedisRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)), **tcp,
    )


def answer_within(url: str, timeout: float) -> Redis:
    """A client that counts a Redis silent for `timeout` as lost: what a worker's liveness thread watches Redis with.

    Not the worker's own connection: RQ raises that one's socket timeout to its blocking dequeue's (about 415 s), so
    a Redis that took the connection and stopped answering (paused, a blocked main thread, a partition dropping
    packets) held every call on it silent for minutes. One immediate retry for a stale pooled connection (a Redis
    restarted), none for a timeout: the command already waited its whole `timeout`, and the reconnection's handshake
    would wait it again."""
    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=RedisRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


class UnreadableJobId(RejectedInput):
    """A job id in Redis that is not UTF-8 (written by hand or by another client, a damaged list): it names no job a
    worker can read or run. RQ reads ids as UTF-8, and its UnicodeDecodeError ended the worker's loop."""

    reason = "job_id_not_utf8"

    def __init__(self, raw: bytes) -> None:
        self.shown = raw.decode("utf-8", "backslashreplace")  # as a log line can carry it
        super().__init__(f"job id {self.shown} is not UTF-8")


def job_id_text(raw: bytes | str) -> str:
    """A job id read from Redis, as RQ reads it; UnreadableJobId for one that is not UTF-8."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise UnreadableJobId(raw) from None


def readable_job_ids(connection: Redis, queue_name: str, list_key: str | None, raws: Sequence[bytes], *,
                     found: str) -> list[str]:
    """The ids of `raws`, read from `list_key` (None: already off it), that are UTF-8. Each other one is rejected:
    taken off the list and logged as `worker.job_id_rejected` (error), with where it was `found`."""
    ids = []
    for raw in raws:
        try:
            ids.append(job_id_text(raw))
        except UnreadableJobId as rejection:
            if list_key is not None:
                connection.lrem(list_key, 1, raw)
            log.error("worker.job_id_rejected", queue=queue_name, job_id=rejection.shown,
                      error=type(rejection).__name__, reason=rejection.reason, found=found)
    return ids


class JobQueue(Queue):
    """RQ's queue, whose dequeue rejects a job id that is not UTF-8 (`readable_job_ids`) and goes on to the next.

    RQ moved such an id to the queue's intermediate list, then raised on decoding it: the worker's loop ended, began
    again a second later, and its maintenance of that list raised as well, so the jobs behind it waited on restarts."""

    @classmethod
    def lmove(cls, connection: Redis, queue_key: str, timeout: int | None) -> Any:
        """One queue's dequeue (BLMOVE, LMOVE into its intermediate list)."""
        while (result := super().lmove(connection, queue_key, timeout)) is not None:
            intermediate = IntermediateQueue.get_intermediate_queue_key(queue_key)
            if readable_job_ids(connection, cls._name_of(queue_key), intermediate, [result[1]], found="queue"):
                return result
            if timeout is not None:  # RQ's loop beats, then waits on the queue again
                raise DequeueTimeout(timeout, queue_key)
        return None

    @classmethod
    def lpop(cls, queue_keys: Sequence[str], timeout: int | None, connection: Redis | None = None) -> Any:
        """Several queues' dequeue (BLPOP, LPOP: an in-process drain of several queues)."""
        assert connection is not None
        while (result := super().lpop(queue_keys, timeout, connection=connection)) is not None:
            queue_key = result[0].decode() if isinstance(result[0], bytes) else result[0]
            if readable_job_ids(connection, cls._name_of(queue_key), None, [result[1]], found="queue"):
                return result
            if timeout is not None:
                raise DequeueTimeout(timeout, queue_keys)
        return None

    @classmethod
    def _name_of(cls, queue_key: str) -> str:
        return queue_key.removeprefix(cls.redis_queue_namespace_prefix)


def queue(name: str, connection: Redis) -> JobQueue:
    return JobQueue(name, connection=connection, serializer=JSONSerializer)


def retry_policy(settings: Settings) -> Retry:
    intervals = settings.queues.retry_intervals
    return Retry(max=len(intervals), interval=intervals)


# A report's state hash (forward worker: stored; e-mail processor: a bounce of our reply).
REPORT_STATE_KEY = "lapor:report:{tracking_id}"
# The subjects our mail replies for a report went out under besides its own (an addition's: `[LAPOR #<id>] Tambahan
# foto`), as their digests (`channels.email.reply.subject_digest`), newest first: `gateway.followups.reply_subjects`.
REPLY_SUBJECTS_KEY = "lapor:email:reply-subjects:{tracking_id}"


def envelope_key(tracking_id: str) -> str:
    return ENVELOPE_KEY.format(tracking_id=tracking_id)


def readable_envelope(tracking_id: str, raw: bytes) -> dict[str, Any] | None:
    """A stored envelope as a dict, or None when it is not JSON, not an object, or not under its own Tracking ID."""
    envelope = read_envelope(tracking_id, raw)
    return envelope if isinstance(envelope, dict) else None


# What `read_envelope` answers for a stored value that is no envelope.
ENVELOPE_DAMAGE = frozenset({"not_json", "not_an_object", "another_tracking_id"})


def read_envelope(tracking_id: str, raw: bytes) -> dict[str, Any] | str:
    """`readable_envelope`, or why it is not: `not_json`, `not_an_object`, `another_tracking_id` (a copy stored
    under another report's key), for a log line that tells an operator what they will find."""
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "not_json"
    if not isinstance(envelope, dict):
        return "not_an_object"
    return envelope if envelope.get("tracking_id") == tracking_id else "another_tracking_id"


# The fields of a stored envelope the forward worker's steps read, with the type intake writes each as. A field absent
# or null is left to the case store (it refuses what it needs, that report alone); one of another type made a step
# raise, or went to the case store unread (an anonymous report's text in a list kept its sender's number).
_FIELD_TYPES: tuple[tuple[str, type], ...] = (
    ("text", str), ("subject", str), ("source", str), ("channel", str), ("anonymous", bool), ("confidential", bool),
    ("sender", dict), ("channel_meta", dict), ("attachments", list),
)
_SENDER_FIELD_TYPES = (("kind", str), ("id", str), ("display_name", str))
_ATTACHMENT_FIELD_TYPES = (("location", str), ("content_type", str), ("sha256", str), ("flags", list))


def damaged_field(envelope: dict[str, Any]) -> str | None:
    """The first field of a stored envelope (`readable_envelope`) that is not of the type intake writes it as
    (`attachments[0].flags`), None when none is: the forward worker's one check of a report's envelope, so a field
    damaged in Redis is that report's dead letter, not an exception in a step that failed its whole batch."""
    for name, kind in _FIELD_TYPES:
        if not isinstance(envelope.get(name), (kind, type(None))):
            return name
    for name, kind in _SENDER_FIELD_TYPES:
        if not isinstance((envelope.get("sender") or {}).get(name), (kind, type(None))):
            return f"sender.{name}"
    identities = (envelope.get("channel_meta") or {}).get(SENDER_IDENTITIES)  # a mail's other names for its sender
    if identities is not None and not (isinstance(identities, dict) and all(
            isinstance(identities.get(name), (list, type(None))) for name in ("addresses", "names"))):
        return f"channel_meta.{SENDER_IDENTITIES}"
    for index, attachment in enumerate(envelope.get("attachments") or []):
        if not isinstance(attachment, dict):
            return f"attachments[{index}]"
        for name, kind in _ATTACHMENT_FIELD_TYPES:
            if not isinstance(attachment.get(name), (kind, type(None))):
                return f"attachments[{index}].{name}"
    return None


# A job's description is its function's name, never RQ's default, the call with each argument's first 75 characters:
# RQ's worker logs it as each job starts ("replies: workers.reply.send({'to': ..., 'subject': 'Pungli di ...'})"),
# a citizen's address and words in a log line, and keeps it in the job's hash.
# How long RQ keeps a job's result once it ran (5 minutes), and a failed job (30 days, beside its dead letter).
RESULT_TTL = 300
FAILURE_TTL = 30 * 24 * 3600


def enqueue_calls(
    connection: Redis,
    settings: Settings,
    queue_name: str,
    func: str,
    calls: Sequence[tuple[Any, ...]],
    *,
    pipeline: Any = None,
    retry: bool = True,
) -> list[Job]:
    """Enqueue one job per argument tuple, inside `pipeline` when given (so it commits with other writes). Each job's
    description is its function's name alone (see above)."""
    target = queue(queue_name, connection)
    datas = [
        Queue.prepare_data(
            func,
            args=tuple(args),
            description=func,
            timeout=settings.queues.job_timeout_seconds,
            retry=retry_policy(settings) if retry else None,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
        )
        for args in calls
    ]
    return target.enqueue_many(datas, pipeline=pipeline)


def prepared_job(connection: Redis, settings: Settings, queue_name: str, func: str, args: Sequence[Any], *,
                 meta: dict[str, Any], scheduled: bool) -> Job:
    """One job built as `enqueue_calls` queues one (the queue's retry policy, job timeout and result TTLs, its
    function's name for description) with `meta`, not yet queued: for a caller that queues or schedules it in a
    transaction of its own."""
    return queue(queue_name, connection).create_job(
        func, args=tuple(args), description=func, meta=meta, timeout=settings.queues.job_timeout_seconds,
        retry=retry_policy(settings), result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
        status=JobStatus.SCHEDULED if scheduled else JobStatus.QUEUED)


def enqueue_later(connection: Redis, settings: Settings, queue_name: str, func: str, args: Sequence[Any],
                  delay_seconds: float, *, timeout: int | None = None, meta: dict[str, Any] | None = None) -> Job:
    """One job to run in `delay_seconds` (at least a second: RQ's scheduler looks once a second), as `enqueue_calls`
    would queue it: the queue's retry policy and result TTLs, `timeout` (the queues' job timeout when None) and
    `meta`, so a job that schedules itself again keeps what its own run had."""
    return queue(queue_name, connection).enqueue_in(
        timedelta(seconds=max(1.0, delay_seconds)), func, *args,
        job_timeout=timeout or settings.queues.job_timeout_seconds, retry=retry_policy(settings),
        result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL, meta=meta, description=func,
    )


def enqueue_forward(
    connection: Redis, settings: Settings, tracking_ids: Sequence[str], *, pipeline: Any = None
) -> list[Job]:
    """Forward jobs for these reports, at most `intake.max_batch` reports per job."""
    size = settings.intake.max_batch
    chunks = [tuple([list(tracking_ids[i:i + size])]) for i in range(0, len(tracking_ids), size)]
    return enqueue_calls(connection, settings, FORWARD_QUEUE, FORWARD_FUNC, chunks, pipeline=pipeline)


def release_held_forwards(connection: Redis, settings: Settings, *, attempts: int = 5,
                          max_jobs: int | None = None) -> int:
    """Turn held Tracking IDs into forward jobs of up to `intake.max_batch` each; returns how many were released.

    Intake under a trickle commits a report or two at a time. One RQ job per commit would cost a worker about
    2 ms of CPU a report in RQ's own bookkeeping, so the gateway's committer puts the IDs on a held list (in the
    same MULTI/EXEC as their envelopes: durable before the citizen is answered) and releases them together a
    moment later. Each job is created and its IDs removed from the list in one transaction under WATCH, so an ID
    is never dropped and never released twice, whoever else (another gateway, a worker's reaper) releases too.
    Stops after `max_jobs` jobs when given; raises WatchError when other writers won `attempts` times in a row
    (the list is then not drained: the caller tries again soon)."""
    size = settings.intake.max_batch
    released, jobs, conflicts = 0, 0, 0
    while max_jobs is None or jobs < max_jobs:
        with connection.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(HELD_FORWARD_KEY)
                # Only intake writes this list; a damaged entry still becomes a job, whose worker dead-letters it
                # as an unknown Tracking ID (visible), instead of stopping every release after it.
                ids = [raw.decode(errors="replace") for raw in pipe.lrange(HELD_FORWARD_KEY, 0, size - 1)]
                if not ids:
                    break
                pipe.multi()
                enqueue_forward(connection, settings, ids, pipeline=pipe)
                pipe.ltrim(HELD_FORWARD_KEY, len(ids), -1)
                pipe.execute()
            except WatchError:
                conflicts += 1
                if conflicts >= attempts:
                    raise
                continue
        conflicts = 0
        released += len(ids)
        jobs += 1
    return released


def key_digest(*parts: str) -> str:
    """A Redis key's part for values that must not stand in it as they are (provider ids, texts). Not for a sender:
    see `sender_digest`."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def sender_digest(settings: Settings, *parts: str) -> str:
    """A Redis key's part for a sender (a phone number, an e-mail address, an X or Instagram account id): keyed with
    `privacy.reply_handle_secret`, as triage keeps senders (triage.duplicates). A plain hash of a number is undone by
    hashing every number there is, which takes minutes, and a key name is read by anyone with the Redis (`SCAN`,
    a dump, the append-only file)."""
    key = settings.privacy.reply_handle_secret.encode() or b"lapor-triage"
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:40]
