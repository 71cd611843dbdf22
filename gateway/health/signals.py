"""The recorder: how every channel, poller and worker tells the health check how it is doing, in Redis.

`HealthSignals(redis)`: the recorder every channel, poller and worker calls. Each call is one Redis round trip, never
raises (health must not break intake) and scrubs the reason of numbers and addresses::

    signals = HealthSignals(redis)
    signals.message_received("x")                # a message came in (webhook, poll, SMTP)
    signals.poll_succeeded("x")                  # a poll went through (clears failing / rate limited / auth)
    signals.poll_failed("x", "timeout talking to api.x.com")
    signals.rate_limited("x", until=reset_epoch) # 429: the provider says wait until `until` (Unix time)
    signals.auth_failed("x", "401 from the API") # a token or secret is refused
    if signals.note_signature_valid("instagram"):  # a webhook's signature checked out (ends a run of refused
        signals.write_noted("instagram")           # ones): noted without I/O, written when due (the gateway: on a
                                                 # thread, `SignalWriter`)
    signals.reply_sent("x") / signals.reply_failed("x", "403 duplicate content")
    signals.reply_rate_limited("x", until=retry_epoch)  # 429 to a reply, put off until `until`
    signals.intake_refused("x", "id_range_exhausted")  # a new report refused: not durable, or no Tracking ID
    if signals.note_throttled("sms-twilio"):     # a webhook refused 429 by our own rate limit (gateway.ratelimit):
        signals.write_throttled("sms-twilio")    # counted without I/O, the count written in a batch when due
    signals.dead_lettered("x", key)              # called by workers.deadletters for you

`SignalWriter` writes them off a process's event loop. Here too are the Redis keys that processes other than the
monitor write for it to read (the signals, a channel's serving beats, the workers seen, the case store's outage) and
the words a failing poll's reason is said in (`endpoint`, `poll_failure`). This module imports no other part of
`gateway.health`: channels and workers import it alone, never the rules or the monitor.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from redis import Redis
from redis.exceptions import RedisError

from gateway import metrics
from gateway.errors import exception_chain
from gateway.localtime import utc_time
from gateway.logs import get_logger, scrub
from gateway.metrics import health_channel
from gateway.transactions import after_commit, commit

log = get_logger()

SIGNALS_KEY = "lapor:health:signals:{channel}"
ERRORS_KEY = "lapor:health:errors:{channel}"
DEADLETTERS_KEY = "lapor:health:deadletters:{channel}"
# When each process receiving the channel (HTTP gateway, SMTP server, pollers) last said it was alive:
# a sorted set, one member per process, scored with the time of its last beat (gateway.liveness).
SERVING_KEY = "lapor:health:serving:{channel}"
# The same for an HTTP gateway answering the webhook of a channel whose messages another process fetches (Instagram's
# notifications, which the pollers resolve): a second way in, whose loss the `webhook_missing` rule says.
WEBHOOK_SERVING_KEY = "lapor:health:serving-webhook:{channel}"
# A serving process counts as alive while its last beat is this recent (it beats every 2 s, gateway.liveness); the
# process rule's thresholds may not be shorter.
SERVING_ALIVE_SECONDS = 5.0
# When a live worker was last seen on each queue (field: the queue, value: Unix seconds): written by every worker's
# liveness beat (workers.reaper.Liveness) and as the worker process starts, before it warms up.
WORKER_SEEN_KEY = "lapor:health:worker-seen"
# Each worker process's last run that ended unasked on an error no waiting ends (field: its queue and the process's
# own id, `worker_quit_field`; value: a `WorkerQuit`'s JSON), written as the worker tells `worker.quit_unasked`
# (workers.outage.LoopQuits). Between its runs (waits of up to a minute) no worker is live on the queue: the views
# said "no live worker", or nothing at all for the first 30 s of each wait, of a worker whose process ran and whose
# log said why each run ended. One field per process, not per queue: a worker stopping, or beginning a run, takes its
# own record away, and another's quitting on the same queue stays told (`worker_quits_by_queue`).
WORKER_QUITS_KEY = "lapor:health:worker-quits"
# Set by a forward (or a CEK's lookup) that found the case store down (to the reason); the next forward the case store
# takes clears it and moves the forwards waiting out that outage to now (`workers.forward.retry_outage_now`), as a
# lookup answered does an outage only lookups noted. Meanwhile a forward worker probes the case store
# (workers/casestore_probe.py), and runs a waiting forward as soon as it answers.
CASESTORE_DOWN_KEY = "lapor:casestore:down"
# The outage noted there: `since` (Unix seconds, by the forward that found it first), `url` (where it fails), `told`
# once it was logged, and the probe's `probed` and `probed_at`; cleared with the key above.
CASESTORE_OUTAGE_KEY = "lapor:casestore:outage"
# What found the case store down, in that record's `failing` (the views' "forwards failing since ..."): forwards, or
# CEKs' lookups alone (`workers.forward.LOOKUP_QUEUES`: no forward failed through it). A forward's failure makes it
# "forwards"; a lookup's changes nothing of an outage forwards noted. A record without it, an older version's, is the
# forwards'.
FAILING = ("forwards", "lookups")
# Set (`reason`: `casestore_401`, `casestore_403` or `casestore_407`; `since` and `at`, Unix seconds) by a forward
# the case store refused for the gateway's credentials (a rotated or revoked token): those reports are dead-lettered
# at once, as any refusal is, and the views say why until the case store takes a report again, or the probe finds it
# answering (`workers.casestore_probe`).
CASESTORE_REFUSING_KEY = "lapor:casestore:refusing"
LAST_ERRORS_KEPT = 10
# What a provider refused when it refused our credentials (`HealthSignals.auth_failed`): the token itself (expired,
# revoked, wrong), a permission or scope the token lacks, or the account polled (unknown, suspended, protected).
AUTH_REFUSALS = ("token", "permission", "account")
# What kind of failure ended a reply for good (`HealthSignals.reply_failed`, a dead letter's `failure`), which the
# views' next step follows: what a provider refused of our credentials (AUTH_REFUSALS), its rate limit, the plan's
# usage cap used up (X's monthly posts), its server failing, no answer in time, no connection (refused, reset, no such
# host), TLS (a certificate, a handshake), the message itself refused, a redirect not followed, or a reply held
# unconfirmed (an attempt may have posted it, and the lookup for it could not tell: Instagram's). A kind a later
# release adds is written by it and read here as none told (`rules.reply_step`: the generic step), never refused.
REPLY_FAILURES = (*AUTH_REFUSALS, "rate_limit", "usage_cap", "server", "timeout", "unreachable", "tls", "refused",
                  "redirect", "unverified")
# The kinds of a 429 that puts a reply off (`HealthSignals.reply_rate_limited`).
RATE_LIMIT_FAILURES = ("rate_limit", "usage_cap")
# Each as a failed reply's reason says it (`reply_failure`).
FAILURE_WORDS = {"token": "credentials refused", "permission": "permission refused", "account": "account refused",
                 "rate_limit": "rate limited", "usage_cap": "usage cap used up", "server": "server error",
                 "timeout": "timed out", "unreachable": "no connection", "tls": "TLS failed",
                 "refused": "message refused", "redirect": "redirect not followed", "unverified": "not confirmed"}
REASON_LIMIT = 200
# Where dead letters that cannot tell their channel count (a forward whose envelope is gone): watched like a channel,
# shown only while it has something to show.
UNATTRIBUTED = "unknown"


@dataclass(frozen=True, slots=True)
class WorkerQuit:
    """A worker's run of RQ's loop that ended unasked (`WORKER_QUITS_KEY`): when (Unix seconds), why (`reason`: an
    error in RQ's loop, or one as the run started), the error's type (never its words: a bug's may hold a citizen's),
    what Redis refused as every view says it (`trouble`), the runs that ended so in a row, and the wait before the
    next."""

    at: float
    reason: str
    error: str | None
    trouble: str | None
    quits: int
    retry_in: float

    def dumps(self) -> bytes:
        return orjson.dumps({"at": self.at, "reason": self.reason, "error": self.error, "trouble": self.trouble,
                             "quits": self.quits, "retry_in": self.retry_in})

    @classmethod
    def loads(cls, raw: bytes | str) -> WorkerQuit | None:
        """The record, or None for one that cannot be read (damaged, of an older release): no view fails on it."""
        try:
            data = orjson.loads(raw)
            return cls(float(data["at"]), str(data["reason"]), _optional_text(data.get("error")),
                       _optional_text(data.get("trouble")), int(data["quits"]), float(data["retry_in"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError):
            return None


def worker_quit_field(queue_name: str, worker_id: str) -> str:
    """The field of `WORKER_QUITS_KEY` a worker process writes its quits to (a queue's name holds no tab)."""
    return f"{queue_name}\t{worker_id}"


def worker_quits_by_queue(records: Mapping[bytes, bytes]) -> dict[str, tuple[WorkerQuit, ...]]:
    """Each queue's records of its worker processes' quits (`WORKER_QUITS_KEY`), newest first; a record that cannot
    be read is left out. A field of a bare queue's name (a record of an earlier release, one per queue) counts as one
    more process's."""
    quits: dict[str, list[WorkerQuit]] = {}
    for field, raw in records.items():
        record = WorkerQuit.loads(raw)
        if record is not None:
            quits.setdefault(field.decode(errors="replace").split("\t", 1)[0], []).append(record)
    return {name: tuple(sorted(held, key=lambda record: record.at, reverse=True)) for name, held in quits.items()}


def _optional_text(value: object) -> str | None:
    """Scrubbed, on one line; longer than a reason (`trouble` says what to do about the key it names)."""
    return None if value is None else " ".join(scrub(str(value)).split())[:2 * REASON_LIMIT + 200]


def credentials_step(reason: str) -> str:
    """What to do while the case store refuses the gateway's credentials (`reason`: casestore_401...), as the headline
    and `casestore.credentials_refused` say it. Every process that reads the case store holds the token from its start:
    the HTTP gateway (a CEK's immediate answer) and every worker (forwards, and the status and mail replies' CEK
    answers); restarting the forward workers alone left each CEK answered "cannot check now" on the old token."""
    return (f"set LAPOR_CASESTORE_TOKEN, restart `lapor-gateway serve` and every `lapor-gateway worker`, then "
            f"`lapor-gateway deadletters requeue --all --reason {reason}`")


def failing_of(noted: bytes | str | None) -> str:
    """What an outage record's `failing` says failed through it (`FAILING`); the forwards for one without it."""
    text = noted.decode(errors="replace") if isinstance(noted, bytes) else noted
    return text if text in FAILING else FAILING[0]


def casestore_timeout_step(where: str, timeout: float | None) -> str:
    """What to do while the case store's requests time out (`casestore_timeout`), `where` it is ("at https://..."),
    `timeout` the forward workers' LAPOR_CASESTORE_TIMEOUT_SECONDS where they noted it. It takes connections and does
    not answer in time: "check that it answers", a refusal's step, sent the operator to a process that was listening."""
    limit = "LAPOR_CASESTORE_TIMEOUT_SECONDS" if timeout is None else f"LAPOR_CASESTORE_TIMEOUT_SECONDS ({timeout:g} s)"
    return (f"the case store {where} takes connections but does not answer within {limit}: overloaded or hung; check "
            "its load and its log, and raise the timeout only if it is just slow")


# A Unix time as the reasons write it; None for one that cannot be a date (a damaged time, past the year 9999).
_clock = utc_time


def _clean(reason: str | None) -> str:
    """A reason as every view shows it: scrubbed, on one line (tweepy words X's 401 "401 Unauthorized\nUnauthorized"),
    and short."""
    return " ".join(scrub(str(reason or "")).split())[:REASON_LIMIT]


def endpoint(url: str) -> str:
    """Where a poller's requests go, as its failing reason names it: the URL's host, and its port when the URL gives
    one (`api.x.com`, `127.0.0.1:8090`). Never its user, password, path or query, which may carry a credential."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:  # a port that is no number: the host alone
        port = None
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def poll_failure(where: str, what: str, *, answered: bool) -> str:
    """A failing poll's reason as every poller writes it (`HealthSignals.poll_failed`), naming the server it failed
    at: what that server answered (`api.x.com answered 503 Service Unavailable`, `graph.facebook.com answered 400
    code=190 (...)`) or why nothing did (`ReadTimeout talking to api.x.com`, `ConnectionRefusedError talking to
    imap.example.go.id:993`). `what` is the poller's own words for the failure (a status line and codes, an error's
    type), never a provider's message or a request's, which may quote a token or a citizen's words. The X and
    Instagram pollers' reasons named no server ("ConnectionError"): the operator had to find which host the process
    polls, and whether the fault was the provider's or the network's."""
    what = " ".join(what.split()) or "failed"
    return f"{where} answered {what}" if answered else f"{what} talking to {where}"


def status_failure(status: int) -> str:
    """The kind of failure (`REPLY_FAILURES`) an HTTP answer that is no success is: 401 the credentials, 403 a
    permission, 429 a rate limit, 408 a timeout (a proxy before the server gave up), 5xx the server, 3xx a redirect,
    any other the message refused."""
    if status == 401:
        return "token"
    if status == 403:
        return "permission"
    if status == 429:
        return "rate_limit"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server"
    return "redirect" if 300 <= status < 400 else "refused"


def transport_failure(error: BaseException) -> tuple[str, str]:
    """The kind of failure (`timeout`, `tls` or `unreachable`) of an error raised before any answer came, and the
    type that names it, looked for along the error's causes (httpx wraps a certificate refused in a ConnectError):
    (`tls`, `SSLCertVerificationError`), (`timeout`, `ReadTimeout`), (`unreachable`, `ConnectionRefusedError`).
    The type alone: an error's words may quote the request, a credential among them."""
    tls = next((linked for linked in exception_chain(error) if isinstance(linked, ssl.SSLError)), None)
    if tls is not None:
        return "tls", type(tls).__name__
    names = [kind.__name__ for kind in type(error).__mro__]
    if isinstance(error, TimeoutError) or any("Timeout" in name for name in names):
        return "timeout", type(error).__name__
    return "unreachable", type(error).__name__


def reply_failure(reason: str, said: str | None = None, failure: str | None = None) -> str:
    """A failed reply's reason as every view shows it (`HealthSignals.reply_failed`): the dead letter's reason (what
    `deadletters list --reason` filters), the kind of failure in words, and where it failed as a failing poll's reason
    names it (`poll_failure`): `x_auth (credentials refused): api.x.com answered 401 Unauthorized`,
    `relay_unreachable (no connection): ConnectionRefusedError talking to smtp.example.go.id:587`. The reason alone
    when neither is known (a job that failed, a worker that died)."""
    words = FAILURE_WORDS.get(failure or "")
    head = f"{reason} ({words})" if words else reason
    return f"{head}: {said}" if said else head


def retry_reason(reason: str, said: str | None = None, failure: str | None = None) -> str:
    """What a reply waiting for a retry records as its job's last failure (`workers.context.note_retry`), which the
    queue views show: what its dead letter would say (`reply_failure`), cleaned as it is written, for a release
    before this one shows it as it finds it."""
    return _clean(reply_failure(reason, said, failure))


def _write_kind(pipe: Any, key: str, field: str, kind: str | None, error: str) -> None:
    """Keep what kind of failure `error` was (`field`), beside the error it came with (`<field>_error`), or neither
    for a kind not told. Read only while the last error is still that one (`monitor._kind_of_last_error`): the
    previous release writes the error alone, and a kind left from an earlier one would name another's step."""
    if kind is not None:
        pipe.hset(key, mapping={field: kind, f"{field}_error": _clean(error)})
    else:
        pipe.hdel(key, field, f"{field}_error")


# -- The recorder ------------------------------------------------------------------------------------------------------
# A time field set only forward: a process writing a message it noted a while ago (see `write_unwritten`) must not
# take "last message" back past a later one another process wrote.
_KEEP_LATEST = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if not current or tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""
# A new report taken ends the run of refusals before it, not one recorded after it (a report noted within the second
# before a refusal, written with the next write).
_END_REFUSALS = """
local refused = tonumber(redis.call('HGET', KEYS[1], 'last_intake_refusal_at'))
if refused and refused <= tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'intake_refusals', 0) end
"""
# Likewise a valid signature (or message) ends the run of refused signatures before it, not a refusal noted after it
# (a valid one noted within the second before a refusal, written with the next write). Without the refusal's time (a
# count an older version wrote) the run ends, as it did.
_END_SIGNATURE_FAILURES = """
local valid = tonumber(ARGV[1])
local known = tonumber(redis.call('HGET', KEYS[1], 'last_signature_valid_at'))
if not known or valid > known then redis.call('HSET', KEYS[1], 'last_signature_valid_at', ARGV[1]) end
local refused = tonumber(redis.call('HGET', KEYS[1], 'last_signature_failure_at'))
if not refused or refused <= valid then redis.call('HSET', KEYS[1], 'signature_failures', 0) end
"""
# ... and a refusal written after the valid signature that came after it (the two writes on the gateway's two signal
# threads, in either order) is not counted: that valid one ended the run it belongs to.
_COUNT_SIGNATURE_FAILURE = """
local refused = tonumber(ARGV[1])
local valid = tonumber(redis.call('HGET', KEYS[1], 'last_signature_valid_at'))
if valid and valid > refused then return 0 end
redis.call('HINCRBY', KEYS[1], 'signature_failures', 1)
local known = tonumber(redis.call('HGET', KEYS[1], 'last_signature_failure_at'))
if not known or refused > known then redis.call('HSET', KEYS[1], 'last_signature_failure_at', ARGV[1]) end
return 1
"""
# A batch of webhook requests our own rate limit refused (`HealthSignals.write_throttled`): ARGV count, the first's and
# the last's time, THROTTLED_RUN_GAP_SECONDS. A batch that begins more than the gap after the last refusal written (by
# any process) begins a new run: its count and its first time are the run's. Else it is added (HINCRBY: the batches of
# several gateway processes add up), unless it is of a run before the one kept (a write held back past the gap).
_COUNT_THROTTLED = """
local count, first, last, gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local known = tonumber(redis.call('HGET', KEYS[1], 'last_throttled_at'))
if not known or first - known > gap then
  redis.call('HSET', KEYS[1], 'throttled', count, 'throttled_since', ARGV[2], 'last_throttled_at', ARGV[3])
  return count
end
local since = tonumber(redis.call('HGET', KEYS[1], 'throttled_since'))
if since and last < since - gap then return 0 end
redis.call('HINCRBY', KEYS[1], 'throttled', count)
if not since or first < since then redis.call('HSET', KEYS[1], 'throttled_since', ARGV[2]) end
if last > known then redis.call('HSET', KEYS[1], 'last_throttled_at', ARGV[3]) end
return count
"""
# Refusals by our own rate limit further apart than this are two runs: the views count (and date) the last run alone.
THROTTLED_RUN_GAP_SECONDS = 60.0


@dataclass(slots=True)
class _Throttled:
    """Refusals by our own rate limit a process noted on a channel and has not written yet: how many, and when the
    first and the last of them were."""

    count: int
    first: float
    last: float


# How often a process writes what it noted of a channel (the last message, a new report, a valid signature) at most,
# unless it ends a run of refused signatures that process saw: a burst of valid webhooks, one write per request for
# facts that change seldom, is one write a second per channel.
NOTED_WRITE_SECONDS = 1.0


# The reason of a poll round that raised past the poller's own error handling (channels.pollers.run_poller): a bug of
# the gateway's that an answer met, not the provider failing; its step says so (gateway.health.rules.next_step).
POLLER_CRASHED = "poller crashed"


class HealthSignals:
    """What channels and workers call to say how they are doing. Best effort: a Redis failure is logged, not raised.

    `message_received` writes at most once a second per channel and instance (a quiet period is hours long). The
    newest message noted and not written yet (one within that second, or one whose write Redis did not take) is
    kept, and written by the next write or by `write_unwritten`, which the gateway's health check runs first. A new
    report (`report=True`) is written the same way, in a second of its own: the mail noted as it came in must not
    hold back the report it became, which ends a run of intake refusals. A valid webhook signature
    (`note_signature_valid`) is noted and written with them, in the same second: it says something only when it ends a
    run of refused ones, and written per request it was one Redis write per notification of a burst. Whatever this
    process noted is written at once, though, when it ends a run of refused signatures this process saw
    (`signature_failed` since its last write): a run ends the moment the provider's signatures check out again.
    """

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._last_attempt: dict[str, float] = {}
        # The newest message (and new report) noted per channel, and the newest of each written. Written is kept
        # apart, not popped off the noted: a health check that ran while another thread's write was on its way found
        # nothing left to write and evaluated the state that write was about to end.
        self._noted: dict[str, float] = {}
        self._written: dict[str, float] = {}
        self._last_report_attempt: dict[str, float] = {}
        self._noted_reports: dict[str, float] = {}
        self._written_reports: dict[str, float] = {}
        # The newest valid signature noted and written per channel, and the channels with a signature refused since
        # their last write was due.
        self._noted_valid: dict[str, float] = {}
        self._written_valid: dict[str, float] = {}
        self._refused_since_write: set[str] = set()
        # Refusals by our own rate limit noted per channel and not written yet, and when a write of them was last due.
        # `_throttled_lock` guards the batches, taken on the event loop too, never across I/O; `_throttled_writing` is
        # held across a batch's write, so a health check's `write_unwritten` waits for a write on its way on the
        # signal threads (it found nothing left and evaluated the count without that batch) and none is written twice.
        self._throttled: dict[str, _Throttled] = {}
        self._throttled_due: dict[str, float] = {}
        self._throttled_lock = threading.Lock()
        self._throttled_writing = threading.Lock()

    def _write(self, channel: str, kind: str, build: Callable[[Any, str, float], None],
               error: str | None = None, *, quiet: bool = False) -> bool:
        """One round trip; False (logged unless `quiet`) when Redis did not take it."""
        channel = health_channel(channel)
        now = self._clock()
        key = SIGNALS_KEY.format(channel=channel)
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hsetnx(key, "first_seen", now)
            build(pipe, key, now)
            if error is not None:
                entry = orjson.dumps({"at": now, "kind": kind, "reason": _clean(error)})
                pipe.lpush(ERRORS_KEY.format(channel=channel), entry)
                pipe.ltrim(ERRORS_KEY.format(channel=channel), 0, LAST_ERRORS_KEPT - 1)
            pipe.execute()
        except RedisError as failure:
            if not quiet:
                log.warning("health.signal_lost", channel=channel, signal=kind, error=type(failure).__name__)
            return False
        return True

    def message_received(self, channel: str, *, report: bool = False) -> None:
        """A message came in on `channel` (counted where it came in: webhook path, poller, SMTP server); `report`:
        it was taken as a new report (not a query, not one already received), which ends a run of intake refusals."""
        if self.note_message(channel, report=report):
            self.write_noted(channel)

    def note_message(self, channel: str, *, report: bool = False) -> bool:
        """The in-process half of `message_received`: sets the gauge, keeps the time for the Redis write and says
        whether that write (`write_noted`) is due. No I/O, so the webhook path calls it on the event loop and hands
        only the due writes to a thread."""
        channel = health_channel(channel)
        now = self._clock()
        metrics.labelled(metrics.LAST_MESSAGE, channel).set(now)
        self._noted[channel] = now
        if report:
            self._noted_reports[channel] = now
        return self._due(channel, now, report=report)

    def note_signature_valid(self, channel: str) -> bool:
        """A webhook request's signature checked out (for a webhook whose valid requests carry no message: Instagram's
        only notify, the pollers process fetches the message; a message does it too, `note_message`): keeps the time
        for the Redis write that ends the run of refused ones before it and says whether that write (`write_noted`)
        is due: at once when it ends a run of refused signatures this process saw (or it saw none yet), else at most
        once a second per channel with what else was noted. No I/O, as `note_message`."""
        channel = health_channel(channel)
        now = self._clock()
        self._noted_valid[channel] = now
        return self._due(channel, now)

    def note_signature_refused(self, channel: str) -> float:
        """The in-process half of `signature_failed`: the next valid signature or message noted on `channel` is
        written at once, since it ends this run. Returns the refusal's time, for `signature_failed(..., at=)`."""
        channel = health_channel(channel)
        self._refused_since_write.add(channel)
        return self._clock()

    def _due(self, channel: str, now: float, *, report: bool = False) -> bool:
        """Whether the write of what was noted on `channel` is due now: a second after the last one due, a new
        report a second after the last report's, or at once after a refused signature. Notes the attempt."""
        due = channel in self._refused_since_write or now - self._last_attempt.get(channel, 0.0) >= NOTED_WRITE_SECONDS
        if report:
            due = due or now - self._last_report_attempt.get(channel, 0.0) >= NOTED_WRITE_SECONDS
        if not due:
            return False
        self._refused_since_write.discard(channel)
        self._last_attempt[channel] = now
        if self._unwritten(channel)[1] is not None:
            self._last_report_attempt[channel] = now
        return True

    def write_noted(self, channel: str, *, quiet: bool = False) -> bool:
        """The Redis half of `message_received` and `signature_valid` (due at most once a second per channel but after
        a refused signature, see `_due`): the newest message noted and not written yet becomes the channel's last
        (unless another process wrote a later one), and ends a run of failures; the newest new report ends the run
        of intake refusals before it, the newest valid signature (or message) the run of refused signatures before
        it. Kept for the next write when Redis does not take it."""
        channel = health_channel(channel)
        at, report_at, valid_at = self._unwritten(channel)
        if at is None and report_at is None and valid_at is None:  # written meanwhile, by another thread
            return True
        valid_since = max((t for t in (at, valid_at) if t is not None), default=None)

        def build(pipe: Any, key: str, _: float) -> None:
            if at is not None:
                pipe.eval(_KEEP_LATEST, 1, key, "last_message_at", at)
                pipe.hset(key, "auth_failures", 0)
            if report_at is not None:
                pipe.eval(_END_REFUSALS, 1, key, report_at)
            if valid_since is not None:
                pipe.eval(_END_SIGNATURE_FAILURES, 1, key, valid_since)

        if not self._write(channel, "message" if at is not None else "signature_valid", build, quiet=quiet):
            return False  # still noted, for the next write
        if at is not None:
            self._written[channel] = max(at, self._written.get(channel, at))
        if report_at is not None:
            self._written_reports[channel] = max(report_at, self._written_reports.get(channel, report_at))
        if valid_at is not None:
            self._written_valid[channel] = max(valid_at, self._written_valid.get(channel, valid_at))
        return True

    def _unwritten(self, channel: str) -> tuple[float | None, float | None, float | None]:
        """The newest message, new report and valid signature noted on `channel` and not written yet (None where
        there is none)."""

        def newer(noted: dict[str, float], written: dict[str, float]) -> float | None:
            at = noted.get(channel)
            return at if at is not None and at > written.get(channel, float("-inf")) else None

        return (newer(self._noted, self._written), newer(self._noted_reports, self._written_reports),
                newer(self._noted_valid, self._written_valid))

    def note_throttled(self, channel: str) -> bool:
        """A webhook request to `channel` refused 429 by our own per-source rate limit (gateway.ratelimit), before its
        body was read: counted in this process, no I/O (the middleware calls it on the event loop, at a flood's
        rate). Says whether the write of what was counted (`write_throttled`) is due: at the first refusal, then at
        most once a second per channel; what is left is written by the next one due or by `write_unwritten`."""
        channel = health_channel(channel)
        now = self._clock()
        with self._throttled_lock:
            batch = self._throttled.get(channel)
            # After a quiet gap a refusal begins a run of its own, written at once: added to the batch still held of
            # the run before, it stretched that run over the gap ("3 since 10 minutes ago" of one late refusal). What
            # that batch held is of a run the views no longer count.
            new_run = batch is not None and now - batch.last > THROTTLED_RUN_GAP_SECONDS
            if batch is None or new_run:
                self._throttled[channel] = _Throttled(1, now, now)
            else:
                batch.count += 1
                batch.first, batch.last = min(batch.first, now), max(batch.last, now)
            due = new_run or now - self._throttled_due.get(channel, float("-inf")) >= NOTED_WRITE_SECONDS
            if due:
                self._throttled_due[channel] = now
        return due

    def write_throttled(self, channel: str, *, quiet: bool = False) -> bool:
        """The Redis half of `note_throttled`: the refusals counted since the last write are added to the channel's run
        (`_COUNT_THROTTLED`), in one round trip however many they are; kept for the next write when Redis does not take
        them. The run's count, start and last refusal are what the rule `throttled` names. The run's bounds are the
        processes' own clocks (they must agree, as NTP keeps them: a process more than the gap behind has its batches
        taken for an older run's), and a batch whose write Redis ran but whose answer was lost is added again."""
        channel = health_channel(channel)
        with self._throttled_writing:
            with self._throttled_lock:
                batch = self._throttled.pop(channel, None)
            if batch is None:  # written meanwhile, by another thread
                return True

            def build(pipe: Any, key: str, _: float) -> None:
                pipe.eval(_COUNT_THROTTLED, 1, key, batch.count, batch.first, batch.last, THROTTLED_RUN_GAP_SECONDS)

            if self._write(channel, "throttled", build, quiet=quiet):
                return True
            with self._throttled_lock:  # still counted, for the next write, with what came meanwhile
                later = self._throttled.get(channel)
                self._throttled[channel] = batch if later is None else _Throttled(
                    batch.count + later.count, min(batch.first, later.first), max(batch.last, later.last))
            return False

    def write_unwritten(self) -> None:
        """Write every channel's newest message, new report and valid signature not written yet, and the refusals by
        our own rate limit counted and not written (a flood's last second). A message answered from the disk spool
        while Redis was away, or a valid SMS within a second of the write before, was never written: "last message"
        stayed at the outage's start, and a channel whose refused signatures another process counted "down:
        signature_invalid", until the next write. Quiet when Redis does not take it: the check that runs this next
        says so."""
        for channel in {*self._noted, *self._noted_reports, *self._noted_valid}:
            if self._unwritten(channel) != (None, None, None):
                self.write_noted(channel, quiet=True)
        with self._throttled_lock:
            throttled = list(self._throttled)
        for channel in throttled:
            self.write_throttled(channel, quiet=True)

    def poll_succeeded(self, channel: str) -> None:
        """A poll went through: clears failing, rate limited and authentication failures."""
        metrics.LAST_POLL_SUCCESS.labels(channel).set(self._clock())

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hset(key, mapping={"last_poll_ok_at": at, "auth_failures": 0})
            pipe.hdel(key, "poll_failing_since", "last_poll_error", "poll_retry_at", "rate_limited_since",
                      "rate_limited_until", "last_auth_refusal", "last_auth_refusal_error", "auth_retry_at",
                      "auth_retry_at_error")

        self._write(channel, "poll_ok", build)

    def poll_failed(self, channel: str, reason: str, retry_at: float | None = None, *, new_error: bool = True) -> None:
        """A poll failed (timeout, 5xx, bad answer). The failing time counts from the first failure in a row;
        `retry_at` (Unix seconds) is when the poller tries again, which the views say. `new_error=False`: the same
        failure signalled again for its next try alone, which adds no entry to the last errors (one per retry, they
        held that failure alone, the errors before it pushed out)."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hsetnx(key, "poll_failing_since", at)
            pipe.hset(key, "last_poll_error", _clean(reason))
            if retry_at is not None and math.isfinite(retry_at):
                pipe.hset(key, "poll_retry_at", retry_at)
            else:
                pipe.hdel(key, "poll_retry_at")

        self._write(channel, "poll_failed", build, error=reason if new_error else None)

    def mentions_gap(self, channel: str, gap_from: str, gap_to: str) -> None:
        """A poll read as many mentions as the provider keeps reachable: those posted between `gap_from` and `gap_to`
        (times) may be out of its reach, lost to the API. Logged alone, it was told by no view."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hset(key, mapping={"mentions_gap_at": at, "mentions_gap": _clean(f"between {gap_from} and {gap_to}")})

        self._write(channel, "mentions_gap", build)

    def mail_failed(self, channel: str, reason: str) -> None:
        """A mail the gateway failed to read went to the quarantine (`reason`: the quarantine's code and the error's
        type, never its message, which may quote the mail)."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hset(key, mapping={"mail_failed_at": at, "mail_failed": _clean(reason)})

        self._write(channel, "mail_failed", build, error=f"mail quarantined: {reason}")

    def message_unfiled(self, channel: str, reason: str) -> None:
        """A message the gateway failed to file was kept (`gateway.unfiled`); `reason`: the error's type and where."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hset(key, mapping={"unfiled_at": at, "unfiled_reason": _clean(reason)})

        self._write(channel, "unfiled", build, error=f"message kept unfiled: {reason}")

    def unfiled_left(self, channel: str, newest: tuple[float, str] | None) -> None:
        """Messages kept unfiled were filed (`lapor-gateway unfiled retry`): the newest of those left, when it was kept
        and why (None: none is left), is what the rule `unfiled` names; it named the one just filed."""

        def build(pipe: Any, key: str, _: float) -> None:
            if newest is None:
                pipe.hdel(key, "unfiled_at", "unfiled_reason")
            else:
                pipe.hset(key, mapping={"unfiled_at": newest[0], "unfiled_reason": _clean(newest[1])})

        self._write(channel, "unfiled", build)

    def rate_limited(self, channel: str, until: float | None = None) -> None:
        """The provider said wait (429); `until` is its reset time (Unix seconds) when it gave one."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hsetnx(key, "rate_limited_since", at)
            if until is not None:
                pipe.hset(key, "rate_limited_until", until)

        self._write(channel, "rate_limited", build, error=f"rate limited until {_clock(until) or 'unknown'}")

    def auth_failed(self, channel: str, reason: str = "authentication failed", refusal: str | None = None,
                    retry_at: float | None = None) -> None:
        """Our token or secret was refused by the provider (a poll, a reply). `refusal`: what it refused, one of
        AUTH_REFUSALS (the token, a permission it lacks, the account polled), which the views' next step follows.
        `retry_at` (Unix seconds): when the poller tries again, which the views say as a failing poll's: X's poller
        waited its backoff (5 min) in silence and recovered by itself, and no view said it would try again.

        It is kept with the error it came with (`last_auth_refusal_error`), and read only while `last_auth_error` is
        still that error (`monitor`): the previous release records an auth failure writing `last_auth_error` alone,
        and a refusal left from before (a permission) gave the step of a permission for its revoked token."""

        def build(pipe: Any, key: str, _: float) -> None:
            pipe.hincrby(key, "auth_failures", 1)
            pipe.hset(key, "last_auth_error", _clean(reason))
            # Beside its error, as the refusal is: the previous release's poller writes its refusal alone.
            told = retry_at is not None and math.isfinite(retry_at)
            _write_kind(pipe, key, "auth_retry_at", repr(retry_at) if told else None, reason)
            _write_kind(pipe, key, "last_auth_refusal", refusal if refusal in AUTH_REFUSALS else None, reason)

        self._write(channel, "auth_failed", build, error=reason)

    def signature_failed(self, channel: str, reason: str = "bad signature", at: float | None = None) -> None:
        """A webhook request's signature was refused by us: counted apart from `auth_failed`, since anyone can post
        to a webhook, and ended by the next valid signature or message (`write_noted`). `at`: when it was refused,
        as `note_signature_refused` said (the gateway writes it later, on a thread); noted here when not given."""
        refused_at = self.note_signature_refused(channel) if at is None else at

        def build(pipe: Any, key: str, _: float) -> None:
            pipe.eval(_COUNT_SIGNATURE_FAILURE, 1, key, refused_at)
            pipe.hset(key, "last_signature_error", _clean(reason))

        self._write(channel, "signature_failed", build, error=reason)

    def intake_refused(self, channel: str, reason: str) -> None:
        """A new report was refused because it could not be made durable or given a Tracking ID (the webhook answered
        5xx, SMTP 451, a poller kept its cursor): `reason` is the refusal's code (`id_range_exhausted`,
        `redis_unavailable`, `internal_error`...). Counted in a run that the next new report taken ends
        (`message_received(..., report=True)`)."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hincrby(key, "intake_refusals", 1)
            pipe.hset(key, mapping={"last_intake_refusal": _clean(reason), "last_intake_refusal_at": at})

        self._write(channel, "intake_refused", build, error=reason)

    def reply_sent(self, channel: str) -> None:
        """A reply went out: ends the run of failed and of rate-limited replies."""
        metrics.REPLIES.labels(channel, "sent").inc()

        def build(pipe: Any, key: str, _: float) -> None:
            pipe.hset(key, mapping={"reply_failures": 0, "reply_rate_limits": 0})
            pipe.hdel(key, "reply_rate_limited_since", "reply_rate_limited_until", "last_reply_rate_limit",
                      "last_reply_rate_limit_kind", "last_reply_rate_limit_kind_error", "last_reply_failure",
                      "last_reply_failure_error")

        self._write(channel, "reply_sent", build)

    def reply_rate_limited(self, channel: str, until: float, said: str | None = None,
                           failure: str | None = None) -> None:
        """The provider told a reply to wait (429): it is put off until `until` (Unix seconds). Counted until a reply
        is sent; the channel shows it while a reply put off is not due again (the latest `until`). `said`: where, as
        a failing poll's reason says it (`api.x.com answered 429 Too Many Requests`), which the reason names.
        `failure`: which 429 (`rate_limit`, or `usage_cap`: X's plan's cap, which no window's reset ends), kept with
        `said` as a failed reply's kind is (`_write_kind`), which the views' step follows."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hincrby(key, "reply_rate_limits", 1)
            pipe.hsetnx(key, "reply_rate_limited_since", at)
            pipe.eval(_KEEP_LATEST, 1, key, "reply_rate_limited_until", until)
            if said:
                pipe.hset(key, "last_reply_rate_limit", _clean(said))
            else:
                pipe.hdel(key, "last_reply_rate_limit")
            _write_kind(pipe, key, "last_reply_rate_limit_kind",
                        failure if said and failure in RATE_LIMIT_FAILURES else None, said or "")

        # A usage cap's `until` is only when the reply is tried again: the cap itself ends at the plan's next period
        held = (f"reply held by the usage cap, tried again at {_clock(until) or 'unknown'}" if failure == "usage_cap"
                else f"reply rate limited until {_clock(until) or 'unknown'}")
        self._write(channel, "reply_rate_limited", build, error=held)

    def reply_failed(self, channel: str, reason: str, failure: str | None = None) -> None:
        """A reply to a citizen failed for good (dead-lettered): counted in a run that the next reply sent ends.
        `reason` as `reply_failure` words it; `failure`: its kind, one of REPLY_FAILURES, which the views' next step
        follows (None: not told, a job that failed or a worker that died)."""
        metrics.REPLIES.labels(channel, "failed").inc()

        # The kind is kept with the error it came with (`_write_kind`): a kind left from an earlier failure gave a
        # step for another (X's credentials beside an X 503 the previous release's worker wrote).
        def build(pipe: Any, key: str, _: float) -> None:
            pipe.hincrby(key, "reply_failures", 1)
            pipe.hset(key, "last_reply_error", _clean(reason))
            _write_kind(pipe, key, "last_reply_failure", failure if failure in REPLY_FAILURES else None, reason)

        self._write(channel, "reply_failed", build, error=reason)

    def dead_lettered(self, channel: str, key: str, reason: str = "dead letter", pipeline: Any = None) -> None:
        """A job of this channel went to the dead-letter registry (workers.deadletters calls this); counted once
        `pipeline`, when given, is committed (`gateway.transactions.commit`)."""
        channel = health_channel(channel)
        now = self._clock()
        target = pipeline if pipeline is not None else self._redis.pipeline(transaction=False)
        # Kept while the letter waits, however old: a forward's letter stays until an operator requeues or purges it
        # (`dead_letters_cleared`), and a trim of those counted over a week ago made the channel's "dead letters"
        # say 1 while `deadletters list --channel` listed last week's outage's hundreds, never delivered.
        target.zadd(DEADLETTERS_KEY.format(channel=channel), {key: now})
        target.lpush(ERRORS_KEY.format(channel=channel),
                     orjson.dumps({"at": now, "kind": "dead_letter", "reason": _clean(reason)}))
        target.ltrim(ERRORS_KEY.format(channel=channel), 0, LAST_ERRORS_KEPT - 1)
        after_commit(target, metrics.DEAD_LETTERED_BY_CHANNEL.labels(channel).inc)
        if pipeline is None:
            try:
                commit(target)
            except RedisError as failure:
                log.warning("health.signal_lost", channel=channel, signal="dead_letter",
                            error=type(failure).__name__)

    def dead_letters_cleared(self, letters: Iterable[tuple[str, bytes | str]], pipeline: Any) -> None:
        """Requeued or purged dead letters, as (channel, key), no longer count against their channel."""
        for channel, key in letters:
            pipeline.zrem(DEADLETTERS_KEY.format(channel=health_channel(channel)), key)

    def dead_letters_gone(self, keys: Sequence[bytes | str], pipeline: Any) -> None:
        """Dead letters gone from the registry by no requeue or purge (their entry deleted) no longer count against
        any channel: nothing tells their channel any more, so every channel's set is looked for (a scan, but only
        for letters found gone, which is rare)."""
        for counted in self._redis.scan_iter(match=DEADLETTERS_KEY.format(channel="*"), count=1000):
            pipeline.zrem(counted, *keys)


# The health-signal writes a process has on their way to Redis at most (the gateway's webhook refusals, signatures
# and throttled "last message"; the SMTP process's refusals); past that they are dropped and counted
# (`health.signals_dropped`, a line a minute at most): while Redis was slow or hung, every refusal queued one more
# write, without bound. Room for a burst on a Redis that answers (20 refused webhooks in a row come faster than their
# writes: at 8, a healthy gateway dropped part of a run and the channel was never said down), not for a hang's backlog.
SIGNALS_IN_FLIGHT = 256
SIGNAL_WRITERS = 2
SIGNALS_DROPPED_LOG_SECONDS = 60.0


class SignalWriter:
    """Writes a process's health signals off its event loop without waiting for them (signals are best effort), on
    SIGNAL_WRITERS threads of its own, so a hung Redis holds those threads and not the default executor's."""

    def __init__(self, signals: HealthSignals) -> None:
        self.signals = signals
        self.in_flight = 0
        self._dropped = 0  # since the last `health.signals_dropped` line
        self._dropped_said_at = float("-inf")
        self._threads = ThreadPoolExecutor(max_workers=SIGNAL_WRITERS, thread_name_prefix="lapor-signals")
        self._closed = False

    def record(self, method: str, *args: object) -> None:
        """`self.signals.<method>(*args)` on the writer's threads; called on the event loop. Dropped and counted,
        never queued, while SIGNALS_IN_FLIGHT are on their way already. Left unwritten once the writer is closed (a
        request finishing during the stop): its threads take no more work, and asked to, they raised."""
        if self._closed:
            return
        if self.in_flight >= SIGNALS_IN_FLIGHT:
            self._drop(method)
            return
        self.in_flight += 1
        write = asyncio.get_running_loop().run_in_executor(self._threads, getattr(self.signals, method), *args)
        write.add_done_callback(self._written)

    def close(self) -> None:
        """On shutdown: writes still waiting on Redis are not waited for, and those queued behind them are dropped
        (`cancel_futures`): the interpreter's exit joins the threads, which ran every queued write first, each
        waiting out Redis's timeout on a Redis that hung."""
        self._closed = True
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _written(self, write: asyncio.Future[Any]) -> None:
        self.in_flight -= 1
        if not write.cancelled():
            write.exception()  # HealthSignals logs its own failures; read here, not left "never retrieved"

    def _drop(self, method: str) -> None:
        metrics.SIGNALS_DROPPED.inc()
        self._dropped += 1
        now = time.monotonic()
        if now - self._dropped_said_at >= SIGNALS_DROPPED_LOG_SECONDS:
            log.warning("health.signals_dropped", reason="signals_backlog", signal=method, dropped=self._dropped,
                        in_flight=self.in_flight)
            self._dropped, self._dropped_said_at = 0, now
