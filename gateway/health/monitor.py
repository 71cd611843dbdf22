"""The monitor: reads the signals and queues, evaluates every channel, and gives every view its status document.

`HealthMonitor`: reads the signals and queues, evaluates every channel, and logs one `channel.health` line per
change of state (compare-and-set in Redis, so two processes never both log it). `check()` is what /v1/status,
the status page, /metrics and the heartbeat show (it records the state and the counter snapshot); `status()`
records only when monitoring of a channel began (`first_seen`, once), for `lapor-gateway status`, which first
asks `deployment_seen` so that a Redis that is not the deployment's gets nothing written to it.

Here too are the overall state and its reason (`overall_reason`: the case store's outage, Redis's lost data, a spool
that cannot be written), the probe of the spool's disk (`SpoolProbe`) and the channels the serving gateway switched
off (`publish_disabled`), with the Redis keys the monitor alone writes or reads.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.worker import Worker
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from gateway import metrics
from gateway.embedded_redis import named_redis
from gateway.health.documents import redis_down_document, spool_size
from gateway.health.rules import (
    OFF_REASON,
    REDIS_AWAY_SPANS,
    SEVERITY,
    SWITCHED_OFF,
    ChannelHealth,
    ChannelRules,
    ChannelSignals,
    HealthRules,
    Held,
    QueueStats,
    State,
    Waiting,
    evaluate,
)
from gateway.health.signals import (
    CASESTORE_DOWN_KEY,
    CASESTORE_OUTAGE_KEY,
    CASESTORE_REFUSING_KEY,
    DEADLETTERS_KEY,
    ERRORS_KEY,
    LAST_ERRORS_KEPT,
    SERVING_ALIVE_SECONDS,
    SERVING_KEY,
    SIGNALS_KEY,
    UNATTRIBUTED,
    WEBHOOK_SERVING_KEY,
    WORKER_QUITS_KEY,
    WORKER_SEEN_KEY,
    HealthSignals,
    _clean,
    _clock,
    credentials_step,
    failing_of,
    worker_quits_by_queue,
)
from gateway.lease import LEASE_KEY, lease_status
from gateway.logs import get_logger
from gateway.metrics import health_channel
from gateway.outage import wrong_type
from gateway.queues import ALL_QUEUES, FORWARD_QUEUE, HELD_FORWARD_KEY, JSONSerializer, queue
from gateway.redis_epoch import DATA_LOST_KEY, data_lost_record
from gateway.spool import REPLAY_STUCK_FRESH_SECONDS, REPLAY_STUCK_KEY, SPOOL_DIR, Spool, redis_time
from gateway.unfiled import UNFILED_KEY

log = get_logger()

STATE_KEY = "lapor:health:state"
DEADLETTER_ENTRIES_KEY = "lapor:deadletters"  # workers.deadletters.ENTRIES_KEY (gateway code imports no worker)
WORKER_ALIVE_KEY = "lapor:worker-alive:{name}"  # workers.reaper.ALIVE_KEY: a worker's 5-second liveness key
LAPOR_WORKER_PREFIX = "lapor-"  # workers.reaper.WORKER_PREFIX
# The channels the serving gateway runs with switched off in its settings (channels.registry.disabled_channels), a
# JSON list its health loop writes once per evaluation period: `lapor-gateway status` run from a shell or a cron job
# without the processes' LAPOR_* settings says what the deployment switched off, not what its own environment does.
# It expires DISABLED_PERIODS evaluation periods (at least DISABLED_MIN_SECONDS) after the last write: with no gateway
# left to say, the CLI goes back to its own settings.
DISABLED_KEY = "lapor:health:disabled"
DISABLED_PERIODS = 3
DISABLED_MIN_SECONDS = 15.0
COUNTERS_KEY = "lapor:health:counters"
CASESTORE_LATENCY_SAMPLE = "lapor_casestore_latency_seconds"


# The overall state once a case-store outage is declared (`casestore_outage.declared`: forwards have failed for
# `workers.forward.OUTAGE_TOLD_AFTER_SECONDS`, and `casestore.down` was logged), whatever the channels say: no report
# reaches the agency, though citizens are still answered and their reports kept (so not down). The channels keep their
# own rules (the queue-age rule degrades each after 5 min): every view said OK until then. A single failed forward
# taken at its next try is no outage: the footer names it, the headline does not flap.
CASESTORE_OUTAGE_STATE = State.DEGRADED
# The overall state while the case store refuses the gateway's credentials (`casestore_refusing`): every report is
# dead-lettered at once (kept, and answered to its citizen) until an operator puts the token right and requeues them.
# Before, only each channel's dead letters said so, under `casestore_401` among any other reasons.
CASESTORE_REFUSING_STATE = State.DEGRADED
# The overall state for a day after Redis lost its data under the running processes (`gateway.redis_epoch`): the
# channels take reports again at once, but what was queued and not yet forwarded or answered is gone, and a provider's
# retry of a message filed before may be filed twice. Every view said OK.
REDIS_DATA_LOST_STATE = State.DEGRADED
REDIS_DATA_LOST_STEP = ("reports queued before then and not yet forwarded, replies not yet sent, the records that "
                        "catch a message delivered twice and the pollers' places are gone; give Redis persistence "
                        "(README: Redis persistence a deployment needs), compare the case store with the providers' "
                        "logs of the hour before, then DEL lapor:health:redis_data_lost (it clears itself after a day)")
# Each channel's state in `lapor_channel_state` while Redis does not answer (`HealthMonitor.redis_down`): every view
# says overall DOWN then, and no channel's state can be read; an alert on `lapor_channel_state == 2` fires with them.
REDIS_DOWN_CHANNEL_STATE = State.DOWN
# A disk spool that cannot be written, with Redis up: nothing is refused yet, but /readyz answers 503 (a load balancer
# gating on it takes the gateway out) and the next Redis outage would refuse every report.
SPOOL_FAILURE_STATE = State.DEGRADED
# How long one probe of the spool's disk (a file written, fsynced and deleted) stands for the checks that follow it,
# and how long one may take before the disk is said not to answer.
SPOOL_PROBE_SECONDS = 1.0
SPOOL_PROBE_HUNG_SECONDS = 2.0
# The rules that count a process's or a worker's silence from its last beat (`rules._silent_for`). A one-shot view
# (`lapor-gateway status`) keeps no spans of Redis away as the gateway's monitor does (`ChannelSignals.redis_away`):
# just after Redis came back from a pause or a hang of 30 s or more, every beat read as old as the pause until each
# process beat again (within a beat, `gateway.liveness.BEAT_SECONDS`), and it said "DOWN: no SMTP server process alive
# (last seen 39 s ago)", exit 2, while the SMTP server had beaten again a moment later and /v1/status said ok. So
# `settled_status` looks again, for up to BEATS_WAIT_SECONDS (a serving process's beat, 2 s, and a margin), every
# BEATS_LOOK_SECONDS, while any of these rules finds a channel degraded or down: a process that is gone is still
# found so then, and a status where no beat is silent is given at the first look.
BEAT_RULES = frozenset({"process_missing", "webhook_missing", "worker_missing"})
BEATS_WAIT_SECONDS = 3.0
BEATS_LOOK_SECONDS = 0.5
# More wall-clock time than monotonic time gone between two checks of a process, in seconds: its clock stepped
# forward (NTP); the checks of one process run a few seconds apart, their clocks read within milliseconds.
CLOCK_STEP_SECONDS = 2.0


def _redis_clock(time_reply: Sequence[Any]) -> str:
    """Redis's TIME as "seconds.microseconds", exact (a float's digits would round the microseconds)."""
    seconds, microseconds = time_reply
    return f"{int(seconds)}.{int(microseconds):06d}"


# -- The monitor -------------------------------------------------------------------------------------------------------
# Compare-and-set of a channel's state: returns the previous state when it changed, or when its cause did within the
# same state (ChannelHealth.cause; "since" starts again when no cause of before remains), for the caller to log; `STALE`
# for a result evaluated before the one stored (`at`: two checks at once, the first to evaluate the last to store), or
# whose reads from Redis began before the stored one's ended (`read`, `read_last`: Redis's clock at a check's first and
# last read; the later to evaluate may be the first to read, before a process's first beat or a worker's return that the
# other read, and its "down" came after the other's "ok"; with reads that overlap neither is known to be the newer, and
# the state stored stands until the next check), which is discarded; nil otherwise. A state stored without a cause (by
# an older version) keeps its "since" and logs nothing. A stored result more than STALE_WINDOW_SECONDS ahead was stamped
# by a clock that was wrong (a host resumed before its clock was set), not by a check that overtook this one: it must
# not hold the state still until that time comes. A check takes a few Redis round trips, each bounded by its timeout.
STALE = "stale"
STALE_WINDOW_SECONDS = 60.0
_SET_STATE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local previous = 'ok'
local at = tonumber(ARGV[4])
local since = at
local new_cause = false
local known = {ok = true, degraded = true, down = true}
if raw then
  local decoded, current = pcall(cjson.decode, raw)
  if decoded and type(current) == 'table' and known[current.state] then
    local stored_at = tonumber(current.at)
    if stored_at and at < stored_at and stored_at - at <= tonumber(ARGV[5]) then return 'stale' end
    local stored_read, read = tonumber(current.read_last) or tonumber(current.read), tonumber(ARGV[7])
    if stored_read and read and read < stored_read and stored_read - read <= tonumber(ARGV[5]) then return 'stale' end
    previous = current.state
    if previous == ARGV[2] then
      local kept = type(current.cause) ~= 'string' or current.cause == ARGV[6]
      new_cause = not kept
      if new_cause then
        local before = {}
        for part in string.gmatch(current.cause, '[^;]+') do before[part] = true end
        for part in string.gmatch(ARGV[6], '[^;]+') do kept = kept or before[part] == true end
      end
      if kept then since = tonumber(current.since) or since end
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1],
           cjson.encode({state = ARGV[2], reason = ARGV[3], since = since, at = at, cause = ARGV[6],
                         read = tonumber(ARGV[7]) and ARGV[7] or nil,
                         read_last = tonumber(ARGV[8]) and ARGV[8] or nil}))
if previous ~= ARGV[2] or new_cause then return previous end
return false
"""


@dataclass(frozen=True, slots=True)
class StoredStatus:
    """What the status document shows from Redis and the spool besides the evaluation: read before the metrics are
    collected, so the dead-letter and spool gauges are set by then."""

    states: dict[str, dict[str, Any]]
    deadletters_total: int
    last_errors: dict[str, list[dict[str, Any]]]
    deadletters: dict[str, int]
    spool_size: int
    # Per polled channel: who holds its account's lease and for how long (gateway.lease.lease_status).
    pollers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # While forwards find the case store down: their last failure and since when (None: not known).
    casestore_outage: dict[str, Any] | None = None
    # While the case store refuses our credentials: the status it refuses them with and since when.
    casestore_refusing: dict[str, Any] | None = None
    # Why this host's disk spool cannot be written (`Spool.failure`); None while it can, or where none is.
    spool_failure: str | None = None
    # Since when it cannot (UTC, as the views show times); None while it can, or where it is not known (a one-shot
    # command's probe, which sees one moment).
    spool_failure_since: str | None = None
    # Spools (any host's) whose answered reports a replayer has not moved into Redis though it answers
    # (`gateway.spool.REPLAY_STUCK_KEY`): host, since, bytes, reason.
    spool_stuck: list[dict[str, Any]] = field(default_factory=list)
    # Redis lost its data under the running processes in the last day (`gateway.redis_epoch`): when, noticed by whom.
    redis_data_lost: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CheckedHealth:
    """One check: the status document, and the metrics it collected once for its counters and gauges."""

    document: dict[str, Any]
    collected: metrics.CollectedMetrics


def _kind_of_last_error(raw: dict[bytes, bytes], field: bytes, error_field: bytes) -> str | None:
    """What kind the last error was (`field`: what a provider refused, a failed reply's kind), while `error_field` is
    still the error it was recorded with (`signals._write_kind`): the previous release writes the error alone, and a
    kind left from an earlier error is not this one's."""
    error = raw.get(error_field)
    if error is None or raw.get(field + b"_error") != error:
        return None
    return _text(raw.get(field))


def _signals(channel: str, raw: dict[bytes, bytes], deadletters_in_window: int,
             errors: Sequence[bytes] = (), newest_beat: Sequence[tuple[bytes, float]] = (),
             processes_alive: int = 0, unfiled: int = 0, newest_webhook_beat: Sequence[tuple[bytes, float]] = (),
             webhooks_alive: int = 0) -> ChannelSignals:
    get = raw.get
    entries = (entry for entry in map(_error_entry, errors) if entry is not None)
    last_deadletter = next((e["reason"] for e in entries if e["kind"] == "dead_letter"), None)
    return ChannelSignals(
        first_seen=_float(get(b"first_seen")), last_message_at=_float(get(b"last_message_at")),
        last_poll_ok_at=_float(get(b"last_poll_ok_at")), poll_failing_since=_float(get(b"poll_failing_since")),
        last_poll_error=_text(get(b"last_poll_error")), poll_retry_at=_float(get(b"poll_retry_at")),
        rate_limited_since=_float(get(b"rate_limited_since")),
        rate_limited_until=_float(get(b"rate_limited_until")), auth_failures=_int(get(b"auth_failures")),
        last_auth_error=_text(get(b"last_auth_error")),
        auth_retry_at=_float(_kind_of_last_error(raw, b"auth_retry_at", b"last_auth_error")),
        last_auth_refusal=_kind_of_last_error(raw, b"last_auth_refusal", b"last_auth_error"),
        signature_failures=_int(get(b"signature_failures")),
        last_signature_error=_text(get(b"last_signature_error")),
        intake_refusals=_int(get(b"intake_refusals")),
        last_intake_refusal=_text(get(b"last_intake_refusal")),
        throttled=_int(get(b"throttled")), throttled_since=_float(get(b"throttled_since")),
        last_throttled_at=_float(get(b"last_throttled_at")),
        reply_failures=_int(get(b"reply_failures")),
        last_reply_error=_text(get(b"last_reply_error")),
        last_reply_failure=_kind_of_last_error(raw, b"last_reply_failure", b"last_reply_error"),
        reply_rate_limits=_int(get(b"reply_rate_limits")),
        reply_rate_limited_since=_float(get(b"reply_rate_limited_since")),
        reply_rate_limited_until=_float(get(b"reply_rate_limited_until")),
        last_reply_rate_limit=_text(get(b"last_reply_rate_limit")),
        last_reply_rate_limit_kind=_kind_of_last_error(raw, b"last_reply_rate_limit_kind", b"last_reply_rate_limit"),
        deadletters_in_window=int(deadletters_in_window),
        channel=channel, last_deadletter_reason=last_deadletter,
        process_seen_at=float(newest_beat[0][1]) if newest_beat else None, processes_alive=int(processes_alive),
        webhook_seen_at=float(newest_webhook_beat[0][1]) if newest_webhook_beat else None,
        webhooks_alive=int(webhooks_alive),
        mentions_gap_at=_float(get(b"mentions_gap_at")), mentions_gap=_text(get(b"mentions_gap")),
        mail_failed_at=_float(get(b"mail_failed_at")), mail_failed=_text(get(b"mail_failed")),
        unfiled=int(unfiled), unfiled_at=_float(get(b"unfiled_at")), unfiled_reason=_text(get(b"unfiled_reason")),
    )


# What the views read from Redis is parsed so that a damaged value (a partial restore, a hand edit, another program
# writing into the database, an older version's form) is read as absent: before, one value that was not a number or
# not JSON (`int(b"x")`, orjson on b"\xff") ended every view on an exception, `lapor-gateway status` on a traceback
# and exit 1 (the code of "degraded" with --strict), /v1/status and /metrics on a 500, until someone found the key.
def _number(value: object) -> float | None:
    """A JSON value read as a count: a number, or None (a string, a list...: `int()` of one failed the status)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: bytes | str | float | None) -> float | None:
    """A time or a count as a float; None for absent, not a number, infinite or NaN."""
    try:
        number = float(value) if value not in (None, b"") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _int(value: bytes | None) -> int:
    """A run's count; 0 for absent or damaged."""
    number = _float(value)
    return int(number) if number is not None else 0


def _json_object(raw: bytes | None) -> dict[str, Any] | None:
    """A JSON object as stored; None for absent, not JSON, or not an object."""
    try:
        value = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _error_entry(raw: bytes) -> dict[str, Any] | None:
    """One of a channel's last errors (`at`, `kind`, `reason`); None for one that is damaged."""
    entry = _json_object(raw)
    at = _float(entry.get("at")) if entry is not None else None
    if entry is None or at is None:
        return None
    reason = entry.get("reason")
    return {**entry, "at": at, "kind": str(entry.get("kind") or "?"),
            "reason": reason if isinstance(reason, str) else ""}


def _stored_state(raw: bytes) -> dict[str, Any]:
    """A channel's recorded state and since when; empty for one that is damaged."""
    entry = _json_object(raw) or {}
    return {"state": entry.get("state"), "since": _float(entry.get("since"))} if entry else {}


def _text(value: bytes | None) -> str | None:
    """A stored reason as text; bytes another writer left undecodable are shown replaced, not raised on."""
    return value.decode(errors="replace") if value is not None else None


# The jobs whose arguments tell the channel they serve, as workers.failures.job_identity reads them (gateway code
# imports no worker): a public reply names its network first (channels.social.SOCIAL_REPLY_FUNC), an e-mail reply is
# e-mail's (channels.email.processor.REPLY_FUNC), the aggregator's replies and status jobs carry their `source`
# (gateway.outbound.REPLY_FUNC, STATUS_FUNC). A forward carries reports of any channel: it tells none.
SOCIAL_REPLY_FUNC = "workers.social_reply.send_social_reply"
EMAIL_REPLY_FUNC = "workers.email_reply.send_email_reply"
SOURCED_FUNCS = frozenset({"workers.reply.send_reply", "workers.status.answer_status"})


def _job_channel(job: Job) -> str | None:
    """The health channel a job serves, None when it tells none (or cannot be read)."""
    try:
        func, args = job.func_name, job.args
    except Exception:  # a damaged job: its age still counts, for every channel
        return None
    first = args[0] if args else None
    if func == SOCIAL_REPLY_FUNC and isinstance(first, str):
        return health_channel(first)
    if func == EMAIL_REPLY_FUNC:
        return "email"
    if func in SOURCED_FUNCS and isinstance(first, dict) and isinstance(first.get("source"), str):
        return health_channel(first["source"])
    return None


# Started-registry entries read for the age of the oldest held: one per worker running a job, so a few at most.
IN_PROGRESS_READ = 100
# How long past its time limit a job's run may still be ending: the timeout's exception raised, its failure filed.
DEATH_PENALTY_SLACK_SECONDS = 10


def _fetch_jobs(redis: Redis, ids: Sequence[str]) -> list[Job]:
    """The jobs of `ids` that exist and can be read: one that cannot (an older version's pickled job, a damaged hash)
    is left out of the queue's age and last failure instead of ending the view. RQ's restore raises whatever its
    serializer and parsers raise; Redis's own errors still end the check (Redis down)."""
    try:
        return [job for job in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer) if job]
    except RedisError:
        raise
    except Exception:
        return [job for job_id in ids for job in _fetch_jobs(redis, [job_id])] if len(ids) > 1 else []


def publish_disabled(redis: Redis, disabled: Iterable[str], evaluate_seconds: float) -> None:
    """Say which channels this gateway runs switched off, for the views of processes without its settings: one
    write, replacing the last (a list, so that "none switched off" is said too, which an empty Redis set cannot)."""
    expiry = max(DISABLED_PERIODS * evaluate_seconds, DISABLED_MIN_SECONDS)
    redis.set(DISABLED_KEY, orjson.dumps(sorted(disabled)), px=math.ceil(expiry * 1000))


def published_disabled(redis: Redis) -> frozenset[str] | None:
    """The channels a running gateway said it has switched off, or None when none said so lately (or what it wrote
    cannot be read): the caller then goes by its own settings."""
    raw = redis.get(DISABLED_KEY)
    if raw is None:
        return None
    try:
        channels = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(channels, list) or not all(isinstance(channel, str) for channel in channels):
        return None
    return frozenset(channels)


class SpoolProbe:
    """Why this host's disk spool cannot be written (`Spool.failure`), probed on a thread of its own at most once a
    SPOOL_PROBE_SECONDS, since every check and view asks. The gateway does not wait for it (`wait=False`: the last
    probe's answer; a view runs on the event loop, and a hung disk must not stall the webhooks): a probe that has
    taken SPOOL_PROBE_HUNG_SECONDS is an answer of its own. A one-shot command waits for its probe.

    With `tell`, a change between writable and not is logged once: `spool.not_writable` (error, with the `reason`)
    and `spool.writable` (info, with how long it was not). A full spool disk was said by the views and by the
    heartbeat's `spool_failure`, a minute apart, and its end by nothing but that field missing from the next one."""

    def __init__(self, spool: Spool, *, wait: bool, tell: bool = False) -> None:
        self._spool = spool
        self._wait = wait
        self._tell = tell
        self._prober = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lapor-spool-status")
        self._lock = threading.Lock()
        self._started: float | None = None  # the probe in flight's start
        self._last: tuple[float, str | None] | None = None  # the last probe's end and its answer
        self._failing_since: float | None = None  # since when (monotonic) the answers told say it is not writable
        self._failing_since_at: float | None = None  # the same by the wall clock, for the views (`failing_since`)

    def failure(self) -> str | None:
        answer = self._answer()
        if self._tell:
            self._told(answer)
        return answer

    def _told(self, answer: str | None) -> None:
        """Log a change of writable to not, or back (only the change: every check and view asks)."""
        now = time.monotonic()
        with self._lock:
            since = self._failing_since
            if (answer is not None) is (since is not None):
                return
            self._failing_since = now if answer is not None else None
            self._failing_since_at = time.time() if answer is not None else None
        if answer is not None:
            log.error("spool.not_writable", reason=answer,
                      detail="/readyz answers 503, and while Redis fails no report is taken: free or mend its disk")
        else:
            assert since is not None
            log.info("spool.writable", not_writable_seconds=round(now - since, 1))

    def failing_since(self) -> float | None:
        """Since when (wall clock, Unix time) the answers told (`tell`) say the spool cannot be written; None while
        it can, or where nothing is told (a one-shot command's probe: it cannot know)."""
        return self._failing_since_at

    def _answer(self) -> str | None:
        now = time.monotonic()
        with self._lock:
            if self._started is None and (self._last is None or now - self._last[0] >= SPOOL_PROBE_SECONDS):
                self._started = now
                probe = self._prober.submit(self._probe)
                if self._wait:
                    self._lock.release()
                    try:
                        wait_for([probe], timeout=SPOOL_PROBE_HUNG_SECONDS)
                    finally:
                        self._lock.acquire()
                    now = time.monotonic()
            if self._started is not None and now - self._started >= SPOOL_PROBE_HUNG_SECONDS:
                return (f"spool directory {self._spool.directory} does not answer (a probe has waited "
                        f"{now - self._started:.0f} s)")
            return self._last[1] if self._last is not None else None

    def _probe(self) -> None:
        failure = self._spool.failure()
        with self._lock:
            self._last, self._started = (time.monotonic(), failure), None

    def close(self) -> None:
        """On shutdown: a probe held by a hung disk is not waited for."""
        self._prober.shutdown(wait=False)


class HealthMonitor:
    """Evaluates every configured channel from what is in Redis, and logs each change of state exactly once."""

    def __init__(self, redis: Redis, rules: HealthRules, *, data_dir: Path | None = None,
                 queues: Sequence[str] = ALL_QUEUES, spool: Callable[[], int] | None = None,
                 clock: Callable[[], float] = time.time, disabled: Iterable[str] = (),
                 polled: Mapping[str, str] | None = None, signals: HealthSignals | None = None,
                 monotonic: Callable[[], float] | None = None,
                 spool_failure: Callable[[], str | None] | None = None,
                 spool_failing_since: Callable[[], float | None] | None = None) -> None:
        self._redis = redis
        self.rules = rules
        # This process's recorder: what it noted and has not written yet is written before each check evaluates.
        self._signals = signals
        # Channels switched off in settings: no process is meant to serve them (channels.registry.disabled_channels).
        self.disabled = frozenset(disabled)
        # The lease account of each channel's poller (gateway.lease.polled_accounts): who polls it is shown.
        self.polled = dict(polled or {})
        self._queues = tuple(queues)
        self._spool = spool or (lambda: spool_size(data_dir) if data_dir is not None else 0)
        self._data_dir = data_dir
        # Why the spool's disk cannot be written: a probe of its own by default, waited for (a one-shot command's).
        self._spool_failure = spool_failure or (SpoolProbe(Spool(data_dir / SPOOL_DIR), wait=True).failure
                                                if data_dir is not None else lambda: None)
        # Since when (wall clock) it cannot: known to a process whose probe tells its changes (`SpoolProbe.tell`).
        self._spool_failing_since = spool_failing_since or (lambda: None)
        self._clock = clock
        # A step of the wall clock is told by a clock that does not step: the real monotonic one beside the real wall
        # clock; a caller moving a wall clock of its own passes its own (or none: no step is looked for).
        self._monotonic = monotonic if monotonic is not None else (time.monotonic if clock is time.time else None)
        self._last_clocks: tuple[float, float] | None = None
        self._clock_stepped_at: float | None = None
        # When this monitor's last check that read Redis ran; since when its checks fail on Redis (None: they do not;
        # -inf: no check read it before); its recent spans of Redis away (`ChannelSignals.redis_away`).
        self._redis_read_at: float | None = None
        self._redis_failed_from: float | None = None
        self._redis_away: tuple[tuple[float, float], ...] = ()
        self._set_state = redis.register_script(_SET_STATE)
        # The queues whose jobs the last check could not read, and why (logged once per change: `_say_readable`).
        self._unreadable: dict[str, str] = {}
        # The channels whose `lapor_channel_state` `redis_down` set, no check having set it since (`commit`).
        self._gauge_redis_down: set[str] = set()
        self._lock = threading.Lock()  # checks run on several threads at once (the health loop's, the views')

    def rules_for(self, channel: str) -> ChannelRules:
        """The channel's thresholds; a channel disabled in settings has no serving process to miss, and no message
        to wait for."""
        rules = self.rules.for_channel(channel)
        return rules.model_copy(update=SWITCHED_OFF) if channel in self.disabled else rules

    def evaluated(self, channel: str, signals: ChannelSignals, queues: Sequence[QueueStats],
                  now: float) -> ChannelHealth:
        """`evaluate` with the channel's rules; a channel disabled in settings that is ok says it is off."""
        health = evaluate(channel, signals, queues, self.rules_for(channel), now)
        if channel in self.disabled and health.state is State.OK:
            return ChannelHealth(channel, State.OK, OFF_REASON)
        return health

    def read_signals(self, now: float) -> dict[str, ChannelSignals]:
        """Every configured channel's signals, in one round trip; a channel never seen before gets its `first_seen`
        (the start of the process rule's grace), its one write."""
        return self._read_signals(now)[0]

    def _read_signals(self, now: float) -> tuple[dict[str, ChannelSignals], str]:
        """`read_signals`, and when Redis read them by its own clock ("seconds.microseconds"): one transaction, so
        that two checks' signals are read in the order of their times (`_SET_STATE`'s `read`)."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.time()
        for channel in self.rules.watched:
            key = SIGNALS_KEY.format(channel=channel)
            window = self.rules.for_channel(channel).deadletter_window_seconds
            pipe.hsetnx(key, "first_seen", now)
            pipe.hgetall(key)
            pipe.zcount(DEADLETTERS_KEY.format(channel=channel), now - window, "+inf")
            pipe.lrange(ERRORS_KEY.format(channel=channel), 0, LAST_ERRORS_KEPT - 1)
            serving = SERVING_KEY.format(channel=channel)
            pipe.zrevrange(serving, 0, 0, withscores=True)
            pipe.zcount(serving, now - SERVING_ALIVE_SECONDS, "+inf")
            pipe.hlen(UNFILED_KEY.format(channel=channel))
            webhook = WEBHOOK_SERVING_KEY.format(channel=channel)
            pipe.zrevrange(webhook, 0, 0, withscores=True)
            pipe.zcount(webhook, now - SERVING_ALIVE_SECONDS, "+inf")
        clock, *replies = pipe.execute()
        per = 9
        return {channel: _signals(channel, *replies[per * index + 1:per * index + per])
                for index, channel in enumerate(self.rules.watched)}, _redis_clock(clock)

    def queue_stats(self, now: float) -> list[QueueStats]:
        """Depth and age of the oldest job per queue, counting jobs scheduled for a retry (an outage's backlog);
        the live workers on it and why its oldest retried job failed (what tells "case store down" from "no
        worker")."""
        stats = []
        workers = self.live_workers()
        pipe = self._redis.pipeline(transaction=False)  # one round trip for both
        pipe.hgetall(WORKER_SEEN_KEY)
        pipe.hgetall(WORKER_QUITS_KEY)
        seen_at, quit_records = pipe.execute()
        seen = {name.decode(errors="replace"): _float(at) for name, at in seen_at.items()}
        quits = worker_quits_by_queue(quit_records)
        for name in self._queues:
            target = queue(name, self._redis)
            scheduled = target.scheduled_job_registry
            oldest: float | None = None
            failure: str | None = None
            error: str | None = None
            every_channel: Waiting | None = None
            by_channel: dict[str, Waiting] = {}
            taken: list[Job] = []
            try:
                taken = self._taken_not_started(target)
                oldest, failure, every_channel, by_channel = self._oldest_job(target, now, taken)
            except RedisError:
                raise
            except Exception as unreadable:  # a damaged value (a job id not UTF-8): this queue unknown, not the view
                error = type(unreadable).__name__
            self._say_readable(name, error)
            held = int(self._redis.llen(HELD_FORWARD_KEY)) if name == FORWARD_QUEUE else 0
            # Counted as RQ keeps them (scored by expiry), without RQ's clean-up: a status view writes nothing.
            failed = int(self._redis.zcount(target.failed_job_registry.key, now, "+inf"))
            in_progress, held_longest, overdue = self._in_progress(target, now)
            depth = target.count + len(taken)
            casestore_url, casestore_timeout = None, None
            if name == FORWARD_QUEUE and (failure or "").startswith("casestore_"):
                url, timeout = self._redis.hmget(CASESTORE_OUTAGE_KEY, ["url", "timeout"])
                casestore_url, casestore_timeout = _text(url) or None, _float(timeout)
            stats.append(QueueStats(name, depth, scheduled.count, oldest, held, workers[name], failure, seen.get(name),
                                    failed, error, by_channel, every_channel, in_progress, held_longest, overdue,
                                    casestore_url, quits.get(name, ()), casestore_timeout))
        return stats

    def _in_progress(self, target: Any, now: float) -> tuple[int, float | None, dict[str | None, Held]]:
        """How many jobs the queue's workers hold (RQ's started registry: one entry per run, scored by when it
        expires, so its order says nothing of age), since when the oldest has run, from its jobs' `started_at`, and
        the longest-held past its time limit per channel. Read without RQ's clean-up, which would fail an abandoned
        job: a status view writes nothing, and a dead worker's job still held is what the operator needs to see. A
        job that cannot be read counts, without an age."""
        registry = target.started_job_registry
        count = int(self._redis.zcard(registry.key))
        if not count:
            return 0, None, {}
        try:
            ids = list(dict.fromkeys(registry.get_job_ids(0, IN_PROGRESS_READ - 1, cleanup=False)))
        except RedisError:
            raise
        except Exception:  # a damaged entry (not UTF-8): the count stands, the age is unknown
            return count, None, {}
        started = [(max(0.0, now - job.started_at.timestamp()), job)
                   for job in _fetch_jobs(self._redis, ids) if job.started_at is not None]
        overdue: dict[str | None, Held] = {}
        for held, job in started:
            limit = float(job.timeout if job.timeout is not None and job.timeout > 0 else Queue.DEFAULT_TIMEOUT)
            channel = _job_channel(job)
            if held > limit + DEATH_PENALTY_SLACK_SECONDS and (channel not in overdue
                                                                 or held > overdue[channel].seconds):
                name = job.worker_name if job.worker_name and job.worker_name.startswith(LAPOR_WORKER_PREFIX) else None
                overdue[channel] = Held(held, limit, name)
        named = [(channel, held) for channel, held in overdue.items() if held.worker is not None]
        if named:  # rare (a job held past its limit): one round trip for their workers' liveness keys
            pipe = self._redis.pipeline(transaction=False)
            for _, held in named:
                pipe.exists(WORKER_ALIVE_KEY.format(name=held.worker))
            for (channel, held), alive in zip(named, pipe.execute(), strict=True):
                overdue[channel] = replace(held, worker_alive=bool(alive))
        return count, (max(held for held, _ in started) if started else None), overdue

    def _say_readable(self, name: str, error: str | None) -> None:
        """`health.queue_unreadable` once when a queue's jobs cannot be read (again with another error), and
        `health.queue_readable` once they can: logged at every check and view, it was an error line every few
        seconds for as long as it lasted (no worker on the queue to take the bad id off)."""
        with self._lock:
            said = self._unreadable.get(name)
            if error == said:
                return
            if error is None:
                del self._unreadable[name]
            else:
                self._unreadable[name] = error
        if error is None:
            log.info("health.queue_readable", queue=name, was=said)
        else:
            log.error("health.queue_unreadable", queue=name, error=error)

    def _taken_not_started(self, target: Any) -> list[Job]:
        """Jobs a worker took off the queue and has not started: RQ's dequeue moves a job into the queue's
        intermediate list (BLMOVE), and the worker takes it out as the run starts. A worker paused while it waited
        (SIGSTOP, a frozen VM) takes the next job all the same, Redis answering its blocking dequeue: that job then
        sat in no view, "0 queued", no age and nothing in progress, while its reports never reached the case store.
        They count as queued, aged as the head of the queue is. A job already started (a worker of several queues
        keeps it in the list while it runs) is in progress, not here. An id that is not UTF-8 is no job (a worker
        rejects it, `worker.job_id_rejected`), and is passed over rather than making the queue unreadable."""
        ids = []
        for raw in self._redis.lrange(target.intermediate_queue_key, 0, IN_PROGRESS_READ - 1):
            with contextlib.suppress(UnicodeDecodeError):
                ids.append(raw.decode())
        return [job for job in _fetch_jobs(self._redis, list(dict.fromkeys(ids)))
                if job.get_status(refresh=False) == JobStatus.QUEUED]

    def _oldest_job(self, target: Any, now: float, taken: Sequence[Job] = ()) -> tuple[
            float | None, str | None, Waiting | None, dict[str, Waiting]]:
        """The age of the queue's oldest job and the failure its oldest retried job recorded: from the head of the
        queue (RQ appends) and the first 50 jobs waiting for a retry. RQ reads their ids as UTF-8 and raises for
        one that is not, which ended every view on a 500. Then the same for every channel's jobs (the head of the
        queue and jobs that tell no channel) and, per channel, for the retried jobs that tell theirs."""
        head = target.get_job_ids(0, 1)
        jobs = _fetch_jobs(self._redis, head + target.scheduled_job_registry.get_job_ids(0, 49, cleanup=False))
        jobs += taken  # taken off the head: they hold back every channel of the queue as the head does
        head += [job.id for job in taken]
        dated = sorted(((job.created_at.timestamp(), job) for job in jobs if job.created_at is not None),
                       key=lambda pair: pair[0])  # equal times must not fall through to comparing jobs
        groups: dict[str | None, list[tuple[float, Job]]] = {}
        for created, job in dated:
            groups.setdefault(None if job.id in head else _job_channel(job), []).append((created, job))

        def failure(members: list[tuple[float, Job]]) -> str | None:
            return next((_clean(str(job.meta["last_error"])) for _, job in members if job.meta.get("last_error")), None)

        every = groups.pop(None, None)
        own = {channel: Waiting(max(0.0, now - members[0][0]), failure(members)) for channel, members in groups.items()
               if channel is not None}
        return (max(0.0, now - dated[0][0]) if dated else None, failure(dated),
                Waiting(max(0.0, now - every[0][0]), failure(every)) if every else None, own)

    def live_workers(self) -> dict[str, int]:
        """Workers listening on each queue whose liveness key is fresh (RQ's own registration outlives a killed
        worker by minutes). Two round trips for every queue together."""
        pipe = self._redis.pipeline(transaction=False)
        for name in self._queues:
            pipe.smembers(WORKERS_BY_QUEUE_KEY % name)
        prefix = Worker.redis_worker_namespace_prefix
        names = {queue_name: [key.decode(errors="replace").removeprefix(prefix) for key in keys]
                 for queue_name, keys in zip(self._queues, pipe.execute(), strict=True)}
        for members in names.values():
            for name in members:
                pipe.exists(WORKER_ALIVE_KEY.format(name=name) if name.startswith(LAPOR_WORKER_PREFIX)
                            else Worker.redis_worker_namespace_prefix + name)
        alive = iter(pipe.execute())
        return {queue_name: sum(bool(next(alive)) for _ in members) for queue_name, members in names.items()}

    def evaluate_all(self, now: float | None = None) -> tuple[list[ChannelHealth], list[QueueStats],
                                                             dict[str, ChannelSignals]]:
        """Every channel's health, recording nothing but when monitoring of a channel began (`read_signals`); `check`
        also records states and logs changes."""
        healths, queues, signals, _ = self._evaluate(now)
        return healths, queues, signals

    def _evaluate(self, now: float | None = None) -> tuple[list[ChannelHealth], list[QueueStats],
                                                           dict[str, ChannelSignals], tuple[str, str]]:
        """`evaluate_all`, and when Redis's clock says its reads began and ended (the signals, read first by
        `_read_signals`, and TIME after the queues and workers), for `commit`: a check whose workers were read before
        another's reads ended stored "no worker" after that one's "ok" when only one stamp was compared."""
        now = self._now() if now is None else now
        try:
            signals, first = self._read_signals(now)
            queues = self.queue_stats(now)
            last = _redis_clock(self._redis.time())
        except RedisError as error:  # away, or refusing writes: nobody's beat went in either (a key out of place did)
            if self._redis_failed_from is None and not wrong_type(error):  # away since after the last read at most
                self._redis_failed_from = self._redis_read_at if self._redis_read_at is not None else float("-inf")
            raise
        if self._redis_failed_from is not None:  # back from an outage: no process could beat during it
            self._redis_away = (*self._redis_away, (self._redis_failed_from, now))[-REDIS_AWAY_SPANS:]
            self._redis_failed_from = None
        self._redis_read_at = now
        if self._clock_stepped_at is not None or self._redis_away:
            signals = {channel: replace(sig, beats_counted_from=self._clock_stepped_at, redis_away=self._redis_away)
                       for channel, sig in signals.items()}
        healths = [self.evaluated(channel, signals[channel], queues, now) for channel in self.rules.watched]
        return healths, queues, signals, (first, last)

    def _now(self) -> float:
        """The wall clock for a check, noting (and logging, `health.clock_stepped`) a step forward since the last
        check: more wall time gone than monotonic time. NTP setting the clock after a resume or a migration made the
        check that ran before the processes' next beat read every one as silent for as long, every channel down for
        a moment."""
        now = self._clock()
        if self._monotonic is None:
            return now
        steady = self._monotonic()
        with self._lock:
            last, self._last_clocks = self._last_clocks, (now, steady)
            step = (now - last[0]) - (steady - last[1]) if last is not None else 0.0
            if step > CLOCK_STEP_SECONDS:
                self._clock_stepped_at = now
        if step > CLOCK_STEP_SECONDS:
            log.warning("health.clock_stepped", seconds=round(step, 1),
                        detail="beats and workers counted from now: the clock moved ahead of them")
        return now

    def commit(self, healths: Sequence[ChannelHealth], now: float,
               read: tuple[str, str] = ("", "")) -> dict[str, State]:
        """Store each channel's state, evaluated at `now` from what Redis read between `read` (its clock at the
        check's first and last read, as `_evaluate` gives them; "": not known) in one round trip; on a change of
        state or of its cause, log `channel.health` once, whichever process gets there first. A result older than
        the one stored, evaluated before it or read before its reads ended, is discarded: it would take the state
        back, and forth again at the next; its gauge keeps this process's last, but for a gauge `redis_down` set: that
        2 was no evaluation, and with another process's results stored after this one's (a clock some seconds ahead)
        it stayed for good once Redis was back, so this process's own evaluation sets it. Returns the previous state
        of every channel that changed (the same state for a new cause)."""
        pipe = self._redis.pipeline(transaction=False)
        for health in healths:
            self._set_state(keys=[STATE_KEY], args=[health.channel, health.state.value, health.reason, now,
                                                    STALE_WINDOW_SECONDS, health.cause, *read], client=pipe)
        changed: dict[str, State] = {}
        for health, stored in zip(healths, pipe.execute(), strict=True):
            previous = stored.decode() if isinstance(stored, bytes) else stored
            with self._lock:
                if previous == STALE and health.channel not in self._gauge_redis_down:
                    continue
                self._gauge_redis_down.discard(health.channel)
                metrics.CHANNEL_STATE.labels(health.channel).set(SEVERITY[health.state])
            if previous == STALE:
                continue
            if previous is None:
                continue
            changed[health.channel] = State(previous)
            level = {State.OK: log.info, State.DEGRADED: log.warning, State.DOWN: log.error}[health.state]
            level("channel.health", channel=health.channel, state=health.state.value,
                  previous=changed[health.channel].value, reason=health.reason or "all rules pass",
                  rules=[f.rule for f in health.findings], actions=health.actions)
        return changed

    def check(self, now: float | None = None) -> dict[str, Any]:
        """Evaluate, log changes, refresh the gauges and the counter snapshot; return the status document."""
        return self.check_and_collect(now).document

    def check_and_collect(self, now: float | None = None) -> CheckedHealth:
        """`check`, also returning the metrics it collected: /metrics renders them instead of collecting again.

        The one collection comes after every gauge the check sets, so the exposition shows them as of now."""
        now = self._now() if now is None else now
        if self._signals is not None:
            self._signals.write_unwritten()
        healths, queues, signals, read = self._evaluate(now)
        self.commit(healths, now, read)
        for stats in queues:
            metrics.QUEUE_DEPTH.labels(stats.name).set(stats.depth + stats.scheduled)
            metrics.QUEUE_OLDEST_AGE.labels(stats.name).set(stats.oldest_age_seconds or 0)
            if stats.workers is not None:
                metrics.QUEUE_WORKERS.labels(stats.name).set(stats.workers)
            metrics.QUEUE_FAILED.labels(stats.name).set(stats.failed)
            metrics.QUEUE_IN_PROGRESS.labels(stats.name).set(stats.in_progress)
            metrics.QUEUE_OLDEST_IN_PROGRESS_AGE.labels(stats.name).set(stats.oldest_in_progress_seconds or 0)
        stored = self.read_stored(healths)
        metrics.DEADLETTERS_WAITING.set(stored.deadletters_total)
        metrics.SPOOL_SIZE.set(stored.spool_size)
        metrics.SPOOL_WRITABLE.set(stored.spool_failure is None)
        metrics.SPOOL_REPLAY_STUCK.set(len(stored.spool_stuck))
        metrics.CASESTORE_OUTAGE.set(outage_declared(stored.casestore_outage))
        metrics.CASESTORE_REFUSING.set(stored.casestore_refusing is not None)
        metrics.REDIS_DATA_LOST.set(stored.redis_data_lost is not None)
        metrics.REDIS_UP.set(1)
        collected = metrics.collect_metrics()
        counters = metrics.channel_counters(collected)
        self._redis.set(COUNTERS_KEY, orjson.dumps({"at": now, "counters": counters}))
        document = _document(healths, queues, signals, stored, counters,
                             metrics.gauge_value(collected, CASESTORE_LATENCY_SAMPLE), now)
        return CheckedHealth(document, collected)

    def status(self, now: float | None = None) -> dict[str, Any]:
        """The status document, recording nothing but when monitoring of a channel began where no process did yet
        (counters from the gateway's last snapshot). Ask `deployment_seen` first: that is a write."""
        now = self._now() if now is None else now
        healths, queues, signals = self.evaluate_all(now)
        raw = self._redis.get(COUNTERS_KEY)
        snapshot = _json_object(raw) or {}
        counters = snapshot.get("counters")
        stored = self.read_stored(healths)
        casestore_latency = metrics.gauge_value(metrics.collect_metrics(), CASESTORE_LATENCY_SAMPLE)
        counters = {channel: values for channel, values in counters.items()
                    if isinstance(values, dict)} if isinstance(counters, dict) else {}
        document = _document(healths, queues, signals, stored, counters, casestore_latency, now)
        document["counters_at"] = _clock(_float(snapshot.get("at")))
        return document

    def settled_status(self, *, wait: float = BEATS_WAIT_SECONDS, sleep: Callable[[float], None] = time.sleep,
                       clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
        """`status`, looked at again every BEATS_LOOK_SECONDS for up to `wait` while a process or a worker reads as
        silent (`BEAT_RULES`): Redis back from a pause a moment ago, each process beats again within a beat, and the
        silence was Redis's, not theirs. One look when none is silent."""
        document = self.status()
        deadline = clock() + wait
        while beats_silent(document) and clock() < deadline:
            sleep(min(BEATS_LOOK_SECONDS, max(0.0, deadline - clock())))
            document = self.status()
        return document

    def redis_down(self, error: BaseException, since: float | None = None) -> dict[str, Any]:
        """The document while Redis does not answer, with the spool gauge set as of now (the spool is on disk) and
        lapor_redis_up at 0. `since`: when (wall clock) this process's outage began (`RedisOutage.since_at`), None
        where it is not known (a one-shot command).

        Every channel's `lapor_channel_state` goes to down (`REDIS_DOWN_CHANNEL_STATE`) with it, but those switched off
        and the dead letters of no channel (`UNATTRIBUTED`), whose states say nothing of a report taken: they kept
        their last values (0, ok, for all), and a dashboard was green while every view said DOWN. The next check
        that reads Redis sets each as it finds it (`commit`), its result stale or not. The queue gauges keep theirs
        (the last check's: no depth is known meanwhile, and none is 0)."""
        metrics.REDIS_UP.set(0)
        for channel in self.rules.watched:
            if channel != UNATTRIBUTED and channel not in self.disabled:
                with self._lock:
                    self._gauge_redis_down.add(channel)
                    metrics.CHANNEL_STATE.labels(channel).set(SEVERITY[REDIS_DOWN_CHANNEL_STATE])
        spool_bytes = self._spool()
        metrics.SPOOL_SIZE.set(spool_bytes)
        failure = self._spool_failure()
        metrics.SPOOL_WRITABLE.set(failure is None)
        return redis_down_document(error, spool_bytes, self._clock(), named_redis(self._redis, self._data_dir),
                                   failure, since=since,
                                   spool_failure_since=self._spool_failing_since() if failure is not None else None)

    def read_stored(self, healths: Sequence[ChannelHealth]) -> StoredStatus:
        """What the document shows besides the evaluation, in one round trip (and the spool's size)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(STATE_KEY)
        pipe.hlen(DEADLETTER_ENTRIES_KEY)  # the letters there are: the index may still name one gone
        for health in healths:
            pipe.lrange(ERRORS_KEY.format(channel=health.channel), 0, 4)
            pipe.zcard(DEADLETTERS_KEY.format(channel=health.channel))
        for account in self.polled.values():
            pipe.get(LEASE_KEY.format(account=account))
            pipe.pttl(LEASE_KEY.format(account=account))
        pipe.get(CASESTORE_DOWN_KEY)
        pipe.hmget(CASESTORE_OUTAGE_KEY, ["since", "told", "url", "timeout", "failing"])
        pipe.hmget(CASESTORE_REFUSING_KEY, ["reason", "since"])
        pipe.hgetall(REPLAY_STUCK_KEY)
        pipe.hgetall(DATA_LOST_KEY)
        pipe.time()  # the replayers stamp their entries with Redis's clock: a host's own may be off by minutes
        (raw_states, deadletters_total, *replies, down_reason, outage_noted,
         (refusing, refusing_since), stuck, data_lost, redis_now) = pipe.execute()
        down_since, told, url, timeout, failing = outage_noted
        per_channel, leases = replies[:2 * len(healths)], replies[2 * len(healths):]
        return StoredStatus(
            states={key.decode(errors="replace"): _stored_state(value) for key, value in raw_states.items()},
            deadletters_total=int(deadletters_total),
            last_errors={health.channel: [entry for entry in map(_error_entry, per_channel[2 * index]) if entry]
                         for index, health in enumerate(healths)},
            deadletters={health.channel: int(per_channel[2 * index + 1]) for index, health in enumerate(healths)},
            spool_size=self._spool(),
            spool_failure=(failure := self._spool_failure()),
            spool_failure_since=_clock(self._spool_failing_since()) if failure is not None else None,
            spool_stuck=_stuck_spools(stuck, redis_time(redis_now)),
            pollers={channel: lease_status(account, leases[2 * index], leases[2 * index + 1])
                     for index, (channel, account) in enumerate(self.polled.items())},
            casestore_outage=None if down_reason is None else {
                "reason": _clean(_text(down_reason)), "since": _clock(_float(down_since)),
                "declared": told is not None, "url": _text(url), "timeout": _float(timeout),
                "failing": failing_of(failing)},
            casestore_refusing=None if refusing is None else {
                "reason": _clean(_text(refusing)), "since": _clock(_float(refusing_since))},
            redis_data_lost=None if (lost := data_lost_record(data_lost)) is None else {
                "at": _clock(lost["at"]), "by": _clean(lost["by"])},
        )


def _stuck_spools(raw: dict[bytes, bytes], now: float) -> list[dict[str, Any]]:
    """The spools a replayer says are stuck and still says so (an entry its replayer stopped refreshing, a process
    stopped or a host gone, is not shown: its spool waits for a gateway on that directory), oldest first. `now` and
    each entry's `at` are Redis's clock: told by this host's, a replayer whose host runs 30 s behind was never shown,
    and one ahead was shown for as long after it stopped.

    One spool per identity (`spool`; an older version's entry, without one, is its own), however many replayers
    say it is stuck: its hosts, its oldest `since`, its size as the latest of them found it, and each different
    reason in turn (one replayer's file it cannot read is another's "held by another live process")."""
    entries = []
    for name, value in raw.items():
        entry = _json_object(value)
        if entry is None or not isinstance(entry.get("at"), int | float) or now - entry["at"] > (
                REPLAY_STUCK_FRESH_SECONDS):
            continue
        entries.append((str(entry.get("spool") or name.decode(errors="replace")), entry))
    spools: dict[str, list[dict[str, Any]]] = {}
    for identity, entry in sorted(entries, key=lambda found: (_float(found[1].get("since")) or 0, found[0])):
        spools.setdefault(identity, []).append(entry)
    stuck = []
    for replayers in spools.values():
        latest = max(replayers, key=lambda entry: entry["at"])
        # The earliest a replayer can tell: one whose `since` is damaged sorted first (as 0) and stood for them all.
        since = min((found for entry in replayers if (found := _float(entry.get("since"))) is not None), default=None)
        stuck.append({
            "host": ", ".join(dict.fromkeys(str(entry.get("host", "?")) for entry in replayers)),
            "since": _clock(since),
            "bytes": int(_number(latest.get("bytes")) or 0),
            "reason": "; ".join(dict.fromkeys(_clean(str(entry.get("reason", ""))) for entry in replayers))})
    return sorted(stuck, key=lambda entry: entry["since"] or "")


def beats_silent(document: Mapping[str, Any]) -> bool:
    """Whether the status document finds a channel degraded or down for a process or a worker silent (`BEAT_RULES`)."""
    return any(finding.get("rule") in BEAT_RULES for channel in document.get("channels", ())
               for finding in channel.get("findings", ()))


def outage_declared(casestore_outage: Mapping[str, Any] | None) -> bool:
    """Whether the status document's `casestore_outage` is a declared one (`CASESTORE_OUTAGE_STATE`)."""
    return bool(casestore_outage and casestore_outage.get("declared"))


# What the headline calls a cause every channel that runs shares (`_named_channels`).
ALL_CHANNELS = "all channels"


def _finding_keys(finding: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The causes of one finding as several channels may share them: the same rule, on the same queue, said the same.
    A finding on several queues (a worker process serving lapor-reply and lapor-status gone: "lapor-reply: ...;
    lapor-status: ...", about "lapor-reply,lapor-status") is one cause a queue, each part of its reason begun by its
    queue's name: whole, the channels with lapor-forward alone and those with more were never one cause. A reason
    not so parted stays whole."""
    rule, about, reason = str(finding.get("rule")), str(finding.get("about") or ""), str(finding.get("reason"))
    queues = about.split(",")
    if len(queues) < 2 or not reason.startswith(f"{queues[0]}: "):
        return [(rule, about, reason)]
    parts: list[tuple[str, str, str]] = []
    start = 0
    for name, after in zip(queues, [*queues[1:], None], strict=True):
        end = len(reason) if after is None else reason.find(f"; {after}: ", start)
        if end < 0:
            return [(rule, about, reason)]
        parts.append((rule, name, reason[start:end]))
        start = end + 2
    return parts


def _named_channels(channels: Sequence[Mapping[str, Any]], state: str) -> list[str]:
    """The channels in `state` as the headline names them. A cause that several share (`_finding_keys`: a forward
    worker frozen or gone finds every channel degraded for lapor-forward) is named once, with the channels it concerns,
    `ALL_CHANNELS` for every channel that runs (not one switched off, nor the dead letters of no channel): the
    headline read "DEGRADED: sms-aggregator, sms-twilio, email, x, instagram", five channels for one worker, where
    the case store's outage is named as one. Then, by name as before, each channel with a cause of its own at that
    level (or none shown), that cause beside the name of one named in a shared cause already. Each channel's findings
    stay in the document."""
    members = [c for c in channels if c["state"] == state]
    keys = {str(c["channel"]): list(dict.fromkeys(key for f in c.get("findings") or () if f.get("state") == state
                                                  for key in _finding_keys(f))) for c in members}
    sharers: dict[tuple[str, str, str], list[str]] = {}
    for name, found in keys.items():
        for key in found:
            sharers.setdefault(key, []).append(name)
    shared = {key: names for key, names in sharers.items() if len(names) > 1}
    # Causes shared by the same channels are said together: a worker gone, and the queue it leaves to age.
    causes: dict[tuple[str, ...], list[str]] = {}
    for (_, _, reason), names in shared.items():
        causes.setdefault(tuple(names), []).append(reason)
    running = {str(c["channel"]) for c in channels if c["channel"] != UNATTRIBUTED and c.get("reason") != OFF_REASON}
    named = [f"{ALL_CHANNELS if running and running <= set(names) else ', '.join(names)} ({'; '.join(reasons)})"
             for names, reasons in causes.items()]
    grouped = {name for names in causes for name in names}
    for name, found in keys.items():
        own = [reason for (rule, queue, reason) in found if (rule, queue, reason) not in shared]
        if not found or own:
            # Named in a shared cause already, a channel's own is said beside its name: "sms-aggregator" twice, once in
            # the group and once alone, read as one channel with two faults to find (a worker of lapor-reply and
            # lapor-status gone: "..., sms-aggregator (lapor-status: no live worker ...)").
            named.append(f"{name} ({'; '.join(own)})" if own and name in grouped else name)
    return named


def overall_reason(channels: Sequence[Mapping[str, Any]], casestore_outage: Mapping[str, Any] | None,
                   spool_failure: str | None = None, spool_stuck: Sequence[Mapping[str, Any]] = (),
                   casestore_refusing: Mapping[str, Any] | None = None,
                   redis_data_lost: Mapping[str, Any] | None = None, *,
                   spool_failure_since: str | None = None) -> str | None:
    """What makes the overall state what it is, as every view's headline says it: the channels that are down, then
    those degraded, the case store while forwards find it down (`CASESTORE_OUTAGE_STATE`) or it refuses the gateway's
    credentials (`CASESTORE_REFUSING_STATE`, with what to do) and a disk spool that cannot be written
    (`SPOOL_FAILURE_STATE`, since when where known), in the order given ("DOWN: x · DEGRADED: email, case store
    (forwards failing since 2026-12-02 02:23:10Z, casestore_unreachable)"); None when everything is ok. A cause
    several channels share is named once (`_named_channels`)."""
    named: dict[str, list[str]] = {state.value: _named_channels(channels, state.value)
                                   for state in (State.DOWN, State.DEGRADED)}
    if outage_declared(casestore_outage):
        assert casestore_outage is not None
        named[CASESTORE_OUTAGE_STATE.value].append(
            f"case store ({casestore_outage.get('failing') or 'forwards'} failing since "
            f"{casestore_outage.get('since') or '?'}, "
            f"{casestore_outage.get('reason') or '?'})")
    if casestore_refusing:
        reason = casestore_refusing.get("reason") or "?"
        named[CASESTORE_REFUSING_STATE.value].append(
            f"case store (refuses the gateway's credentials since {casestore_refusing.get('since') or '?'}, {reason}: "
            f"{credentials_step(reason)})")
    if spool_failure is not None:
        named[SPOOL_FAILURE_STATE.value].append(
            f"disk spool ({_clean(spool_failure)}{f' since {spool_failure_since}' if spool_failure_since else ''}; "
            "/readyz answers 503, and while Redis fails no report is taken)")
    if redis_data_lost:
        named[REDIS_DATA_LOST_STATE.value].append(
            f"Redis (lost its data at {redis_data_lost.get('at') or '?'}, noticed by "
            f"{redis_data_lost.get('by') or '?'}: {REDIS_DATA_LOST_STEP})")
    for stuck in spool_stuck:
        named[SPOOL_FAILURE_STATE.value].append(
            f"disk spool on {stuck['host']} ({stuck['bytes']} bytes of answered reports not replayed into Redis "
            f"since {stuck['since'] or '?'}: {stuck['reason']})")
    return " · ".join(f"{state.upper()}: {', '.join(names)}" for state, names in named.items() if names) or None


def _document(healths: list[ChannelHealth], queues: list[QueueStats], signals: dict[str, ChannelSignals],
              stored: StoredStatus, counters: dict[str, Any], casestore_latency: float | None,
              now: float) -> dict[str, Any]:
    """The status document /v1/status, the status page, `lapor-gateway status` and the heartbeat show."""
    channels = []
    for health in healths:
        if health.channel == UNATTRIBUTED and health.state is State.OK and not stored.deadletters[health.channel]:
            continue
        sig = signals[health.channel]
        since = stored.states.get(health.channel, {})
        channels.append({
            "channel": health.channel, "state": health.state.value, "reason": health.reason,
            "since": _clock(since.get("since")) if since.get("state") == health.state.value else None,
            "findings": [{**asdict(f), "state": f.state.value} for f in health.findings],
            # What to do, for the findings that give it its state (the reason's), once each; [] when ok.
            "actions": health.actions,
            # Every counter this version shows: a snapshot an older gateway wrote lacks the newer ones.
            "counters": {**metrics.empty_counters(), **counters.get(health.channel, {})},
            "last_message_at": _clock(sig.last_message_at), "last_poll_ok_at": _clock(sig.last_poll_ok_at),
            # The processes receiving it (HTTP gateways, SMTP servers, pollers; None: none ever beat for it).
            "processes_alive": sig.processes_alive if sig.process_seen_at is not None else None,
            "process_last_seen_at": _clock(sig.process_seen_at),
            # The HTTP gateways answering its webhook, for a channel whose messages another process fetches
            # (Instagram's; None: none ever beat for it).
            "webhook_processes_alive": sig.webhooks_alive if sig.webhook_seen_at is not None else None,
            "webhook_last_seen_at": _clock(sig.webhook_seen_at),
            # Its poller's account, the process holding its lease (host:pid) and the time the lease has left;
            # None for a channel nothing polls.
            "poller": stored.pollers.get(health.channel),
            "deadletters": stored.deadletters[health.channel],
            "last_errors": [{**e, "at": _clock(e["at"])} for e in stored.last_errors[health.channel]],
        })
    worst = max((SEVERITY[h.state] for h in healths), default=0)
    if outage_declared(stored.casestore_outage):
        worst = max(worst, SEVERITY[CASESTORE_OUTAGE_STATE])
    if stored.casestore_refusing:
        worst = max(worst, SEVERITY[CASESTORE_REFUSING_STATE])
    if stored.spool_failure is not None or stored.spool_stuck:
        worst = max(worst, SEVERITY[SPOOL_FAILURE_STATE])
    if stored.redis_data_lost:
        worst = max(worst, SEVERITY[REDIS_DATA_LOST_STATE])
    return {
        "generated_at": _clock(now),
        "overall": next(s.value for s, level in SEVERITY.items() if level == worst),
        # Why, as the page's headline and the first line of `lapor-gateway status` say it (null: all ok).
        "reason": overall_reason(channels, stored.casestore_outage, stored.spool_failure, stored.spool_stuck,
                                 stored.casestore_refusing, stored.redis_data_lost,
                                 spool_failure_since=stored.spool_failure_since),
        "channels": channels,
        # Without the jobs held past their limit (`overdue`, keyed by channel or None) and a worker's quit: the
        # job-held and worker-quitting rules say them.
        "queues": [{**{key: value for key, value in asdict(stats).items()
                       if key not in ("overdue", "casestore_url", "worker_quits", "casestore_timeout")},
                    "worker_seen_at": _clock(stats.worker_seen_at)} for stats in queues],
        "deadletters": {"total": stored.deadletters_total},
        "spool_size": stored.spool_size,
        "casestore_latency_seconds": casestore_latency,
        # While forwards find the case store down (the latency above is then the last request it answered, from
        # before): their last failure and since when.
        "casestore_outage": stored.casestore_outage,
        # While the case store refuses the gateway's credentials (a rotated token): the status and since when.
        "casestore_refusing": stored.casestore_refusing,
        # Why this host's disk spool cannot be written; null while it can.
        "spool_failure": stored.spool_failure,
        # Since when (UTC); null while it can, or where not known (`lapor-gateway status`: see the gateway's).
        "spool_failure_since": stored.spool_failure_since,
        # Spools whose answered reports are not replayed though Redis answers ([] while none).
        "spool_stuck": stored.spool_stuck,
        # Redis lost its data under the running processes in the last day: when and noticed by whom (null: not).
        "redis_data_lost": stored.redis_data_lost,
    }
