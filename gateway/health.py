"""Channel health: every process records signals in Redis; one pure function turns them into ok / degraded / down.

Three parts, kept apart so each can be tested alone:

- `HealthSignals(redis)`: the recorder every channel, poller and worker calls. Each call is one Redis round trip,
  never raises (health must not break intake) and scrubs the reason of numbers and addresses::

      signals = HealthSignals(redis)
      signals.message_received("x")                # a message came in (webhook, poll, SMTP)
      signals.poll_succeeded("x")                  # a poll went through (clears failing / rate limited / auth)
      signals.poll_failed("x", "timeout talking to api.x.com")
      signals.rate_limited("x", until=reset_epoch) # 429: the provider says wait until `until` (Unix time)
      signals.auth_failed("x", "401 from the API") # a token or secret is refused
      signals.signature_valid("instagram")         # a webhook's signature checked out (ends a run of refused ones)
      signals.reply_sent("x") / signals.reply_failed("x", "403 duplicate content")
      signals.reply_rate_limited("x", until=retry_epoch)  # 429 to a reply, put off until `until`
      signals.intake_refused("x", "id_range_exhausted")  # a new report refused: not durable, or no Tracking ID
      signals.dead_lettered("x", key)              # called by workers.deadletters for you

- `evaluate(...)`: a pure function of (signals, queue stats, rules, now) -> `ChannelHealth`; the rules are the
  functions in `RULES`, their thresholds in config/health.toml.
- `HealthMonitor`: reads the signals and queues, evaluates every channel, and logs one `channel.health` line per
  change of state (compare-and-set in Redis, so two processes never both log it). `check()` is what /v1/status,
  the status page, /metrics and the heartbeat show (it records the state and the counter snapshot); `status()`
  records only when monitoring of a channel began (`first_seen`, once), for `lapor-gateway status`, which first
  asks `deployment_seen` so that a Redis that is not the deployment's gets nothing written to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from redis import Redis
from redis.exceptions import RedisError, ResponseError
from rq import Queue
from rq.job import Job, JobStatus
from rq.worker import Worker
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from gateway import metrics
from gateway.embedded_redis import named_redis
from gateway.lease import LEASE_KEY, lease_status
from gateway.localtime import UTC_FORMAT
from gateway.logs import get_logger, scrub
from gateway.metrics import health_channel
from gateway.outage import failed_key, no_such_database, redis_words, wrong_type
from gateway.queues import ALL_QUEUES, FORWARD_QUEUE, HELD_FORWARD_KEY, REPLY_QUEUE, JSONSerializer, queue
from gateway.redis_epoch import DATA_LOST_KEY, data_lost_record
from gateway.settings import SettingsError
from gateway.spool import REPLAY_STUCK_FRESH_SECONDS, REPLAY_STUCK_KEY, SPOOL_DIR, Spool, redis_time
from gateway.tracking import SEQUENCE_KEY
from gateway.transactions import after_commit, commit
from gateway.unfiled import UNFILED_KEY

log = get_logger()

SIGNALS_KEY = "lapor:health:signals:{channel}"
ERRORS_KEY = "lapor:health:errors:{channel}"
DEADLETTERS_KEY = "lapor:health:deadletters:{channel}"
STATE_KEY = "lapor:health:state"
DEADLETTER_ENTRIES_KEY = "lapor:deadletters"  # workers.deadletters.ENTRIES_KEY (gateway code imports no worker)
WORKER_ALIVE_KEY = "lapor:worker-alive:{name}"  # workers.reaper.ALIVE_KEY: a worker's 5-second liveness key
# When each process receiving the channel (HTTP gateway, SMTP server, pollers) last said it was alive:
# a sorted set, one member per process, scored with the time of its last beat (gateway.liveness).
SERVING_KEY = "lapor:health:serving:{channel}"
# The same for an HTTP gateway answering the webhook of a channel whose messages another process fetches (Instagram's
# notifications, which the pollers resolve): a second way in, whose loss the `webhook_missing` rule says.
WEBHOOK_SERVING_KEY = "lapor:health:serving-webhook:{channel}"
# A serving process counts as alive while its last beat is this recent (it beats every 2 s, gateway.liveness); the
# process rule's thresholds may not be shorter.
SERVING_ALIVE_SECONDS = 5.0
LAPOR_WORKER_PREFIX = "lapor-"  # workers.reaper.WORKER_PREFIX
# When a live worker was last seen on each queue (field: the queue, value: Unix seconds): written by every worker's
# liveness beat (workers.reaper.Liveness) and as the worker process starts, before it warms up.
WORKER_SEEN_KEY = "lapor:health:worker-seen"
# The channels the serving gateway runs with switched off in its settings (channels.registry.disabled_channels), a
# JSON list its health loop writes once per evaluation period: `lapor-gateway status` run from a shell or a cron job
# without the processes' LAPOR_* settings says what the deployment switched off, not what its own environment does.
# It expires DISABLED_PERIODS evaluation periods (at least DISABLED_MIN_SECONDS) after the last write: with no gateway
# left to say, the CLI goes back to its own settings.
DISABLED_KEY = "lapor:health:disabled"
DISABLED_PERIODS = 3
DISABLED_MIN_SECONDS = 15.0
COUNTERS_KEY = "lapor:health:counters"
# Set by a forward that found the case store down (to the reason); the next forward the case store takes clears it and
# moves the forwards waiting out that outage to now (`workers.forward.retry_outage_now`). Meanwhile a forward worker
# probes the case store (workers/casestore_probe.py), and runs a waiting forward as soon as it answers.
CASESTORE_DOWN_KEY = "lapor:casestore:down"
# The outage noted there: `since` (Unix seconds, by the forward that found it first), `url` (where it fails), `told`
# once it was logged, and the probe's `probed` and `probed_at`; cleared with the key above.
CASESTORE_OUTAGE_KEY = "lapor:casestore:outage"
# Set (`reason`: `casestore_401`, `casestore_403` or `casestore_407`; `since` and `at`, Unix seconds) by a forward
# the case store refused for the gateway's credentials (a rotated or revoked token): those reports are dead-lettered
# at once, as any refusal is, and the views say why until the case store takes a report again, or the probe finds it
# answering (`workers.casestore_probe`).
CASESTORE_REFUSING_KEY = "lapor:casestore:refusing"
CASESTORE_LATENCY_SAMPLE = "lapor_casestore_latency_seconds"
LAST_ERRORS_KEPT = 10
REASON_LIMIT = 200
# Where dead letters that cannot tell their channel count (a forward whose envelope is gone): watched like a channel,
# shown only while it has something to show.
UNATTRIBUTED = "unknown"


class State(StrEnum):
    """A channel's state on every view and in the `channel.health` lines; the overall state is the worst of them."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


SEVERITY = {State.OK: 0, State.DEGRADED: 1, State.DOWN: 2}
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


def credentials_step(reason: str) -> str:
    """What to do while the case store refuses the gateway's credentials (`reason`: casestore_401...), as the headline
    and `casestore.credentials_refused` say it. Every process that reads the case store holds the token from its start:
    the HTTP gateway (a CEK's immediate answer) and every worker (forwards, and the status and mail replies' CEK
    answers); restarting the forward workers alone left each CEK answered "cannot check now" on the old token."""
    return (f"set LAPOR_CASESTORE_TOKEN, restart `lapor-gateway serve` and every `lapor-gateway worker`, then "
            f"`lapor-gateway deadletters requeue --all --reason {reason}`")
# A disk spool that cannot be written, with Redis up: nothing is refused yet, but /readyz answers 503 (a load balancer
# gating on it takes the gateway out) and the next Redis outage would refuse every report.
SPOOL_FAILURE_STATE = State.DEGRADED
# How long one probe of the spool's disk (a file written, fsynced and deleted) stands for the checks that follow it,
# and how long one may take before the disk is said not to answer.
SPOOL_PROBE_SECONDS = 1.0
SPOOL_PROBE_HUNG_SECONDS = 2.0
# More wall-clock time than monotonic time gone between two checks of a process, in seconds: its clock stepped
# forward (NTP); the checks of one process run a few seconds apart, their clocks read within milliseconds.
CLOCK_STEP_SECONDS = 2.0
# The overall state of `lapor-gateway status` when the Redis it reads is not the deployment's (`deployment_seen`):
# no channel has a state there to show.
UNKNOWN_OVERALL = "unknown"


# -- Rules (config/health.toml) ---------------------------------------------------------------------------------------
class ChannelRules(BaseModel):
    """Thresholds for one channel; 0 switches a level of a rule off.

    The values here apply only where config/health.toml's `[defaults]` leaves a key out (a rules file of its own, the
    tests): what ships is in that file, which differs (`worker_missing_degraded_seconds` is 30 there). Read the file
    for a deployment's numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    poll_failing_degraded_seconds: float = 120
    poll_failing_down_seconds: float = 600
    rate_limited_degraded_seconds: float = 300
    rate_limited_down_seconds: float = 1800
    auth_failures_degraded: int = 1
    auth_failures_down: int = 3
    signature_failures_degraded: int = 5
    signature_failures_down: int = 20
    intake_refusals_degraded: int = 1
    intake_refusals_down: int = 5
    # Refusals no retry gets past until an operator acts: the channel is down at the first.
    intake_refusals_down_at_once: tuple[str, ...] = ("id_range_exhausted",)
    deadletter_window_seconds: float = 900
    deadletters_degraded: int = 1
    deadletters_down: int = 20
    reply_failures_degraded: int = 3
    reply_failures_down: int = 10
    # Replies put off by their provider's rate limit (429) since the last reply sent, while one is still put off.
    reply_rate_limits_degraded: int = 1
    reply_rate_limits_down: int = 0
    queue_age_degraded_seconds: float = 300
    queue_age_down_seconds: float = 1800
    queues: tuple[str, ...] = ("lapor-forward", "lapor-reply")
    quiet_degraded_seconds: float = 0
    quiet_down_seconds: float = 0
    # No process receiving the channel alive for this long (seconds); 0: the rule is off. `serving_process` names
    # it in the reason.
    process_missing_degraded_seconds: float = 0
    process_missing_down_seconds: float = 0
    serving_process: str = "process serving the channel"
    # No HTTP gateway answering the channel's webhook alive for this long (seconds), for a channel whose messages
    # another process fetches (Instagram: the pollers, with their own process rule above); 0: the rule is off.
    # `webhook_process` names it in the reason, `webhook_missing_effect` says what is lost meanwhile.
    webhook_missing_degraded_seconds: float = 0
    webhook_missing_down_seconds: float = 0
    webhook_process: str = "HTTP gateway process (lapor-gateway serve)"
    webhook_missing_effect: str = ""
    # One of the channel's `queues` with no live worker for this long (seconds); 0: the rule is off.
    worker_missing_degraded_seconds: float = 0
    worker_missing_down_seconds: float = 0
    # A job a worker took, held in progress this long and past its own time limit; 0: the rule is off.
    job_held_degraded_seconds: float = 300
    job_held_down_seconds: float = 1800
    # For how long after a poll found mentions possibly out of the provider's reach the channel says so (degraded,
    # down); 0: that level is off.
    mentions_gap_degraded_seconds: float = 3600
    mentions_gap_down_seconds: float = 0
    # For how long after a mail the gateway failed to read was quarantined the channel says so; 0: that level is off.
    mail_failed_degraded_seconds: float = 3600
    mail_failed_down_seconds: float = 0
    # Messages the gateway failed to file, kept until an operator retries them (a count).
    unfiled_degraded: int = 1
    unfiled_down: int = 0

    @field_validator("process_missing_degraded_seconds", "process_missing_down_seconds",
                     "webhook_missing_degraded_seconds", "webhook_missing_down_seconds",
                     "worker_missing_degraded_seconds", "worker_missing_down_seconds")
    @classmethod
    def _longer_than_a_beat(cls, value: float) -> float:
        """Shorter, a live process between two beats (a worker's liveness key lives as long) would count as
        missing."""
        if value and value < SERVING_ALIVE_SECONDS:
            raise ValueError(f"must be 0 (off) or at least {SERVING_ALIVE_SECONDS:g} s")
        return value


# The rules switched off for a channel disabled in settings: no process is meant to serve it, no message of it waits
# for a worker, and no message is meant to come (its quiet rule said "no message since monitoring began": it is
# off, not quiet). Nor is it polled, or its webhook or intake used: what its poller, webhook and intake last met
# (a token refused, polls failing, a rate limit, bad signatures, refused reports) is a run nothing will ever end, and
# a channel switched off because X revoked its token stayed down on every view, `status` exiting 2 at every cron run,
# until its keys were deleted by hand. So is the run of failed replies: only a reply sent ends it, and none is sent on a
# channel switched off (the aggregator's 503s before it was, degraded on every view for good). What waits for an
# operator still counts: dead letters (a reply that failed for good is one), queues, held jobs, a mentions gap, a mail
# that failed to read, unfiled messages.
SWITCHED_OFF = {"process_missing_degraded_seconds": 0, "process_missing_down_seconds": 0,
                "webhook_missing_degraded_seconds": 0, "webhook_missing_down_seconds": 0,
                "worker_missing_degraded_seconds": 0, "worker_missing_down_seconds": 0,
                "quiet_degraded_seconds": 0, "quiet_down_seconds": 0,
                "poll_failing_degraded_seconds": 0, "poll_failing_down_seconds": 0,
                "rate_limited_degraded_seconds": 0, "rate_limited_down_seconds": 0,
                "auth_failures_degraded": 0, "auth_failures_down": 0,
                "signature_failures_degraded": 0, "signature_failures_down": 0,
                "intake_refusals_degraded": 0, "intake_refusals_down": 0, "intake_refusals_down_at_once": (),
                "reply_failures_degraded": 0, "reply_failures_down": 0}
# The reason every view gives a channel disabled in settings that no rule finds anything on.
OFF_REASON = "switched off in settings: no traffic expected"


class HealthRules(BaseModel):
    """config/health.toml as read (`load_rules`): `channels` in the order the views list them, `[defaults]`, and each
    `[channel.<name>]` kept as the keys it sets alone, so that `for_channel` lays them over the defaults at each call
    and a default a channel did not set reaches it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: tuple[str, ...]
    defaults: ChannelRules = ChannelRules()
    overrides: dict[str, dict[str, Any]] = {}

    def for_channel(self, channel: str) -> ChannelRules:
        """The rules of `channel`: its own table over `[defaults]`. `unknown`, where dead letters that tell no channel
        count, watches no queue unless the file lists it: a forward's queue is every channel's, not its own."""
        if channel == UNATTRIBUTED and channel not in self.channels:  # only its dead letters count against it
            return self.defaults.model_copy(update={"queues": (), **self.overrides.get(channel, {})})
        return self.defaults.model_copy(update=self.overrides.get(channel, {}))

    @property
    def watched(self) -> tuple[str, ...]:
        """The configured channels, and the one unattributed dead letters count against."""
        return self.channels if UNATTRIBUTED in self.channels else (*self.channels, UNATTRIBUTED)


class RulesError(SettingsError):
    """The health rules file (health.rules_file) is missing, unparsable or says what no rule reads."""


def load_rules(path: Path) -> HealthRules:
    """Read config/health.toml: `channels` (the list), `[defaults]`, and one `[channel.<name>]` per override. What
    cannot be read is a RulesError naming the file and the setting that points to it: a missing file, a syntax error
    or a misspelt key ended `serve` and `status` on a traceback (`status` exit 1, as no state it knows)."""
    where = f"the health rules file {path} (health.rules_file, LAPOR_HEALTH_RULES_FILE)"
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{where} is not valid TOML: {error}") from None
    except OSError as error:
        raise RulesError(f"{where} cannot be read: {error.strerror or type(error).__name__}") from None
    if not isinstance(raw.get("channels"), list) or not all(isinstance(name, str) for name in raw["channels"]):
        raise RulesError(f"{where} names no channels: it needs `channels = [...]`, a list of channel names")

    def table(name: str, values: Any) -> dict[str, Any]:
        """A table of rules, checked: a misspelt key fails at start-up, not at the first evaluation."""
        if not isinstance(values, dict):
            raise RulesError(f"{where}: [{name}] must be a table of rule = value")
        try:
            ChannelRules(**values)
        except ValidationError as error:
            raise RulesError(f"{where}: " + "; ".join(
                f"[{name}] {'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
            )) from None
        return values

    channels = raw.get("channel", {})
    if not isinstance(channels, dict):
        raise RulesError(f"{where}: [channel.<name>] must be tables of rule = value")
    overrides = {name: dict(table(f"channel.{name}", values)) for name, values in channels.items()}
    defaults = ChannelRules(**table("defaults", raw.get("defaults", {})))
    return HealthRules(channels=tuple(raw["channels"]), defaults=defaults, overrides=overrides)


# -- Signals and what the rules see ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChannelSignals:
    """What every process recorded about one channel (times are Unix seconds; None: never)."""

    first_seen: float | None = None
    last_message_at: float | None = None
    last_poll_ok_at: float | None = None
    poll_failing_since: float | None = None
    last_poll_error: str | None = None
    # When the failing poller tries again (its backoff; None: not told).
    poll_retry_at: float | None = None
    rate_limited_since: float | None = None
    rate_limited_until: float | None = None
    auth_failures: int = 0
    last_auth_error: str | None = None
    signature_failures: int = 0
    last_signature_error: str | None = None
    intake_refusals: int = 0
    last_intake_refusal: str | None = None
    reply_failures: int = 0
    last_reply_error: str | None = None
    # Replies put off by a 429 since the last reply sent: how many, since when, and until when the last is put off.
    reply_rate_limits: int = 0
    reply_rate_limited_since: float | None = None
    reply_rate_limited_until: float | None = None
    deadletters_in_window: int = 0
    # The newest beat of a process serving the channel (None: none since Redis started), and how many are alive.
    process_seen_at: float | None = None
    processes_alive: int = 0
    # The same for the HTTP gateways answering its webhook, for a channel whose messages another process fetches
    # (WEBHOOK_SERVING_KEY; None: none since Redis started).
    webhook_seen_at: float | None = None
    webhooks_alive: int = 0
    # The channel's name (for the commands a reason points to) and why its newest dead letter failed.
    channel: str = ""
    last_deadletter_reason: str | None = None
    # When the evaluating process last saw its clock step forward (None: never): the beats and workers' times written
    # before it read as older than they are, so their thresholds count from it too.
    beats_counted_from: float | None = None
    # The evaluating process's recent spans of Redis away (each from its last check that read Redis to the first that
    # did again; oldest first, `REDIS_AWAY_SPANS` at most): no process could beat then, so they are not counted as a
    # process's silence. All of them: with the last alone, a Redis back for a moment and away again (a restart's
    # flapping) before a live process's next beat counted the outage before as its silence, the process gone.
    redis_away: tuple[tuple[float, float], ...] = ()
    # When a poll last found mentions possibly out of the provider's reach, and the window they were posted in.
    mentions_gap_at: float | None = None
    mentions_gap: str | None = None
    # When a mail the gateway failed to read (a parser's or processor's error, not the mail's own form) was last
    # quarantined, and why (the reason's code and the error's type: never its words, which may quote the mail).
    mail_failed_at: float | None = None
    mail_failed: str | None = None
    # Messages the gateway failed to file, kept unfiled (gateway.unfiled): how many, when the newest was kept and why
    # (the error's type and where it was raised).
    unfiled: int = 0
    unfiled_at: float | None = None
    unfiled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """The oldest of some jobs waiting on a queue: its age, and the failure the oldest retried one recorded."""

    age_seconds: float
    last_failure: str | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """The longest-held of some jobs a queue's workers hold past their time limit: how long, that limit, the worker
    holding it (one of ours, by name) and whether its liveness key is fresh (None: not known)."""

    seconds: float
    limit_seconds: float
    worker: str | None = None
    worker_alive: bool | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What `HealthMonitor` read of one RQ queue for the rules (age, workers, held jobs) and the views."""

    name: str
    depth: int
    scheduled: int = 0
    oldest_age_seconds: float | None = None
    # Forward queue only: reports durable and answered whose job a gateway has not made yet (its linger).
    held: int = 0
    # Workers alive and listening on the queue (None: not counted); why the oldest job waiting for a retry failed.
    workers: int | None = None
    last_failure: str | None = None
    # When a live worker was last seen on it (None: never since Redis started).
    worker_seen_at: float | None = None
    # Jobs in RQ's failed registry: jobs file their own failures as dead letters, so only a job no worker or reaper
    # could read ends there (`worker.reap_job_unreadable`), where no dead-letter view showed it.
    failed: int = 0
    # Why the jobs at its head could not be looked at (the error's type: a job id that is not UTF-8 ...), logged as
    # `health.queue_unreadable`; its oldest job's age and last failure are then unknown. None: they were read.
    error: str | None = None
    # Jobs waiting for a retry (or put off by their provider's rate limit) that tell their channel, the oldest per
    # channel: a reply's or a status query's; they hold back that channel alone. `every_channel`: the oldest of the
    # others (the head of the queue, a forward of any channel's reports), which holds back every channel of the
    # queue. Empty and None where no retried job tells its channel: the queue's oldest is then every channel's.
    by_channel: dict[str, Waiting] = field(default_factory=dict)
    every_channel: Waiting | None = None
    # Jobs its workers have taken and not finished (RQ's started registry, as RQ keeps it, without its clean-up),
    # and how long the oldest has been held since it started (None: none held, or no start readable). Taken off the
    # queue, a job a paused or hung worker holds showed nowhere: "0 queued" and no age.
    in_progress: int = 0
    oldest_in_progress_seconds: float | None = None
    # Of those, the jobs held past their own time limit (RQ's job timeout ends a run sooner), the longest-held per
    # channel a job tells (a reply's, a status query's) and under None the others' (a forward: every channel's).
    overdue: dict[str | None, Held] = field(default_factory=dict)
    # Forward queue, its jobs retried for a case-store failure: the URL the forward workers fail at, as they noted it
    # with the outage (`workers.forward.casestore_failing`; None: none noted). The queue-age step names it: the
    # viewer's own LAPOR_CASESTORE_URL may not be the workers'.
    casestore_url: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """What one rule found on a channel: its name (the `rule` of `ChannelHealth.cause`), the state it gives and the
    reason an operator reads."""

    rule: str
    state: State
    reason: str
    # What the rule found it on, where one rule may find several things (the queues it names): part of the cause.
    about: str = ""
    # What an operator does about it (`next_step`), said beside the reason by every view and the channel.health line.
    action: str = ""


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """A channel's evaluated state (`evaluate`): the worst finding's, with the reason of every finding at that level."""

    channel: str
    state: State
    reason: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def cause(self) -> str:
        """The rules (and what each found it on) that give the channel its state, as stored with it: a new cause
        within the same state is a change an operator needs to read (a missing worker fixed as the token is refused),
        the same cause in other words (2 in a row, 3 min) is not. `;`-separated, sorted."""
        return ";".join(sorted(f"{f.rule}:{f.about}" if f.about else f.rule
                               for f in self.findings if f.state is self.state))

    @property
    def actions(self) -> list[str]:
        """What to do, for each finding that gives the channel its state (the reason names the same), once each."""
        return list(dict.fromkeys(f.action for f in self.findings if f.state is self.state and f.action))


def _level(value: float, degraded: float, down: float) -> State:
    """The state a measured value reaches; a threshold of 0 is switched off."""
    if down and value >= down:
        return State.DOWN
    if degraded and value >= degraded:
        return State.DEGRADED
    return State.OK


def duration(seconds: float) -> str:
    """A span as the reasons and views say it: "45 s", "4 min", "2 h 5 min"."""
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _finding(rule: str, state: State, reason: str, about: str = "") -> Finding | None:
    """A rule's finding, or None when its state is OK: `evaluate` keeps only what degrades a channel."""
    return None if state is State.OK else Finding(rule, state, reason, about)


def rule_poll_failing(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                      now: float) -> Finding | None:
    """A poller failing (timeouts, 5xx, answers it cannot read) for so long since the first failure of the run: one
    failed poll is retried and passes, so the time counts, not the number."""
    if signals.poll_failing_since is None:
        return None
    failing = now - signals.poll_failing_since
    state = _level(failing, rules.poll_failing_degraded_seconds, rules.poll_failing_down_seconds)
    # When it tries again: its backoff grows to minutes, and a provider back (or a network mended) read as failing
    # until then, down after 10 min, with no word of when the poller would know.
    retry = signals.poll_retry_at
    next_try = f" (next try {_clock(retry)})" if retry is not None and retry > now and _clock(retry) else ""
    return _finding("poll_failing", state, f"poller failing for {duration(failing)}: {signals.last_poll_error or '?'}"
                                           f"{next_try}")


def rule_rate_limited(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                      now: float) -> Finding | None:
    """A poller told by its provider to wait (429), for so long in a row; over once the wait it was given is past."""
    if signals.rate_limited_since is None:
        return None
    if signals.rate_limited_until is not None and signals.rate_limited_until <= now:
        return None
    limited = now - signals.rate_limited_since
    until = f" (until {_clock(signals.rate_limited_until)})" if signals.rate_limited_until else ""
    state = _level(limited, rules.rate_limited_degraded_seconds, rules.rate_limited_down_seconds)
    return _finding("rate_limited", state, f"rate limited for {duration(limited)}{until}")


def rule_auth(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules, __: float) -> Finding | None:
    """Our credentials refused by the provider (a revoked token or password), in a row: nothing passes until an
    operator mends them, so the default degrades at the first."""
    state = _level(signals.auth_failures, rules.auth_failures_degraded, rules.auth_failures_down)
    return _finding("auth", state, f"authentication failing ({signals.auth_failures} in a row): "
                                   f"{signals.last_auth_error or '?'}")


def rule_signatures(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                    __: float) -> Finding | None:
    """Webhook requests refused for their signature: our secret is wrong at the provider, or anyone is posting to a
    public URL; so a run of them, not one, and a valid message ends the run."""
    state = _level(signals.signature_failures, rules.signature_failures_degraded, rules.signature_failures_down)
    return _finding("signature", state, f"webhook signatures refused ({signals.signature_failures} in a row, no valid "
                                        f"message since): {signals.last_signature_error or '?'}")


# What a refusal's reason means, where its code alone does not tell the operator.
REFUSAL_CAUSES = {
    "id_range_exhausted": "this cell's Tracking IDs up to intake.id_end are used up",
    "internal_error": "an error in the gateway: see its message.rejected or email.failed log lines",
}


def rule_intake_refused(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                        __: float) -> Finding | None:
    """New reports refused because they could not be made durable or given a Tracking ID (a webhook's 5xx, SMTP's
    451, a poller keeping its cursor): nothing filed, no citizen answered. A run, ended by the next new report the
    channel takes (not by a status query or a retry answered from its claim, which a used-up ID range lets through);
    down at the first for a refusal no retry gets past."""
    if not signals.intake_refusals:
        return None
    cause = signals.last_intake_refusal or "?"
    if cause in rules.intake_refusals_down_at_once:
        state = State.DOWN
    else:
        state = _level(signals.intake_refusals, rules.intake_refusals_degraded, rules.intake_refusals_down)
    meaning = f" ({REFUSAL_CAUSES[cause]})" if cause in REFUSAL_CAUSES else ""
    return _finding("intake_refused", state, f"new reports refused ({signals.intake_refusals} in a row, none taken "
                                             f"since): {cause}{meaning}")


def rule_deadletters(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                     __: float) -> Finding | None:
    """Dead letters of the channel within the window: each is a report or reply that waits for an operator, so the
    reason names the command that lists them."""
    count = signals.deadletters_in_window
    state = _level(count, rules.deadletters_degraded, rules.deadletters_down)
    latest = f" (latest: {signals.last_deadletter_reason})" if signals.last_deadletter_reason else ""
    return _finding("deadletters", state, f"{count} dead letter(s) in the last "
                                          f"{duration(rules.deadletter_window_seconds)}{latest}: see `lapor-gateway "
                                          f"deadletters list --channel {signals.channel or '<name>'}`")


def rule_replies(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules, __: float) -> Finding | None:
    """Replies to citizens failing in a row, ended by the next reply sent: citizens are not told their Tracking ID."""
    state = _level(signals.reply_failures, rules.reply_failures_degraded, rules.reply_failures_down)
    return _finding("replies", state, f"replies failing ({signals.reply_failures} in a row): "
                                      f"{signals.last_reply_error or '?'}")


def rule_reply_rate_limited(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                            now: float) -> Finding | None:
    """Replies the provider told to wait (429), shown while the last one put off is not due again: a poll's success
    says nothing of them (X limits posting apart from reading, and restricts an account from posting alone). Degraded
    at the first by default, never down: one 429 is no page, and a reply still limited past the channel's
    `reply_rate_limit_max_total_hours` is dead-lettered, which the dead-letter and reply rules count."""
    until = signals.reply_rate_limited_until
    if not signals.reply_rate_limits or until is None or until <= now:
        return None
    state = _level(signals.reply_rate_limits, rules.reply_rate_limits_degraded, rules.reply_rate_limits_down)
    since = f" since {_clock(signals.reply_rate_limited_since)}" if signals.reply_rate_limited_since else ""
    return _finding("reply_rate_limited", state, f"replies rate limited ({signals.reply_rate_limits} put off{since}, "
                                                 f"none sent since; until {_clock(until) or '?'})")


def rule_queue_age(signals: ChannelSignals, queues: Sequence[QueueStats], rules: ChannelRules,
                   __: float) -> Finding | None:
    """The oldest job of the channel's queues; a queue whose jobs could not be looked at is degraded: the age of its
    oldest job is unknown, and its worker may well choke on what the check choked on."""
    worst: Finding | None = None
    for stats in queues:
        if stats.name in rules.queues and stats.error is not None and worst is None:
            worst = Finding("queue_age", State.DEGRADED, f"{stats.name}: its jobs could not be read ({stats.error}): "
                                                         "the age of its oldest is unknown; see the log line "
                                                         "health.queue_unreadable", stats.name)
        waiting = _waiting_for(stats, signals.channel) if stats.name in rules.queues else None
        if waiting is None:
            continue
        state = _level(waiting.age_seconds, rules.queue_age_degraded_seconds, rules.queue_age_down_seconds)
        found = _finding("queue_age", state, f"{stats.name}: oldest job waiting {duration(waiting.age_seconds)}"
                                             f" ({stats.depth} queued, {stats.scheduled} retrying"
                                             f"{_why_stuck(stats, waiting)})"
                                             f"{FORWARDS_WAITING if stats.name == FORWARD_QUEUE else ''}", stats.name)
        if found and (worst is None or SEVERITY[found.state] > SEVERITY[worst.state]):
            worst = found
    return worst


# What a forward waiting means for citizens, said with its age: their reports were answered and made durable at
# intake, whatever the case store does. "lapor-forward: oldest job waiting 31 min", every channel down, read as
# citizens going unanswered.
FORWARDS_WAITING = ": citizens answered, reports kept; not yet in the case store"


def _waiting_for(stats: QueueStats, channel: str) -> Waiting | None:
    """The oldest job of the queue that holds `channel`'s messages back, with the failure the oldest of those retried
    recorded: its own retried jobs and every channel's. A mail relay that could not be reached aged `lapor-reply` for
    the SMS aggregator, X and Instagram too, down after 30 min, their replies going out all the while."""
    if not stats.by_channel:
        return None if stats.oldest_age_seconds is None else Waiting(stats.oldest_age_seconds, stats.last_failure)
    holding = sorted((w for w in (stats.every_channel, stats.by_channel.get(channel)) if w is not None),
                     key=lambda w: w.age_seconds, reverse=True)
    if not holding:
        return None
    return Waiting(holding[0].age_seconds, next((w.last_failure for w in holding if w.last_failure), None))


def _why_stuck(stats: QueueStats, waiting: Waiting) -> str:
    """What the operator acts on: the failure its jobs are retried for, and whether any worker takes them."""
    why = f"; last failure: {waiting.last_failure}" if waiting.last_failure else ""
    return why + ("; no live worker takes its jobs" if stats.workers == 0 else "")


def rule_worker_missing(signals: ChannelSignals, queues: Sequence[QueueStats], rules: ChannelRules,
                        now: float) -> Finding | None:
    """A queue of the channel that no live worker takes (its worker killed, crashed or never started): counted from
    when a worker was last seen on it, or from when monitoring began. Without it a dead forward or reply worker
    showed only as "live workers 0" in the queues table, every channel ok, until a job had waited out the queue-age
    rule (5 min), and never while nothing was queued."""
    if not (rules.worker_missing_degraded_seconds or rules.worker_missing_down_seconds):
        return None
    missing: list[tuple[State, str, str]] = []
    for stats in queues:
        if stats.name not in rules.queues or stats.workers != 0:
            continue
        since = stats.worker_seen_at or signals.first_seen
        if since is None:
            continue
        gone = max(0.0, now - since)
        state = _level(_silent_for(since, signals, now), rules.worker_missing_degraded_seconds,
                       rules.worker_missing_down_seconds)
        seen = (f"last seen {duration(gone)} ago" if stats.worker_seen_at is not None
                else f"last seen never; monitoring began {duration(gone)} ago")
        if state is not State.OK:
            missing.append((state, f"{stats.name}: no live worker ({seen})", stats.name))
    if not missing:
        return None
    worst = max((state for state, _, _ in missing), key=SEVERITY.__getitem__)
    return Finding("worker_missing", worst, "; ".join(reason for state, reason, _ in missing if state is worst),
                   ",".join(name for state, _, name in missing if state is worst))


def rule_job_held(signals: ChannelSignals, queues: Sequence[QueueStats], rules: ChannelRules,
                  __: float) -> Finding | None:
    """A job a worker took and has held past its own time limit (RQ's job timeout, which ends a run sooner): its
    worker is paused, or hung where the timeout cannot reach it (a call into a C library that waits without
    returning to Python, a job catching the timeout's exception), and no other worker takes the job back while its
    beat goes on (or none is left on the queue to). Taken off the queue, the job aged no queue: its reports never
    reached the case store, or its reply never went, and every view said ok."""
    worst: Finding | None = None
    for stats in queues:
        if stats.name not in rules.queues:
            continue
        held = max((h for h in (stats.overdue.get(None), stats.overdue.get(signals.channel)) if h is not None),
                   key=lambda h: h.seconds, default=None)
        if held is None:
            continue
        state = _level(held.seconds, rules.job_held_degraded_seconds, rules.job_held_down_seconds)
        worker = _held_by(held, stats.workers)
        found = _finding("job_held", state, f"{stats.name}: a job held in progress for {duration(held.seconds)}, "
                                            f"past its {duration(held.limit_seconds)} time limit ({worker})"
                                            f"{FORWARDS_WAITING if stats.name == FORWARD_QUEUE else ''}", stats.name)
        if found and (worst is None or SEVERITY[found.state] > SEVERITY[worst.state]):
            worst = found
    return worst


def _held_by(held: Held, live_workers: int | None) -> str:
    """What holds a job past its time limit, as the operator acts on it: the worker by name, and whether it is hung
    (its beat goes on: restart it) or paused or gone (its beat lapsed; a live worker's reaper takes the job back
    within seconds, so one held this long had none to). Said of the queue's live workers alone, a live worker beside
    a paused one read "its worker is hung: restart it", and the worker restarted was the one that was not."""
    name = f" {held.worker}" if held.worker else ""
    if held.worker_alive:
        return f"its worker{name} is hung: restart it and the job runs again"
    if live_workers == 0:
        return f"no live worker on the queue: the one holding it{name} is paused or gone"
    if held.worker_alive is False:
        return f"its worker{name} is paused or gone, and no live worker took the job back"
    return "its worker is hung: restart it and the job runs again"


# How many of its recent spans of Redis away a monitor leaves out of a process's silence (`_silent_for`): a restart's
# flapping is a few of them.
REDIS_AWAY_SPANS = 32


def _silent_for(since: float, signals: ChannelSignals, now: float) -> float:
    """How long a process or worker counts as silent: from its last beat, or from the clock's last step forward when
    that came later (a beat written before it reads as older than it is, until the next one), less the time Redis
    was away since (no process could beat then). Only that time: counted from Redis's return, a dead process was
    hidden anew by every check that met a Redis error, for ever while they came more often than its threshold."""
    start = max(since, signals.beats_counted_from or since)
    away = sum(max(0.0, min(away_to, now) - max(away_from, start)) for away_from, away_to in signals.redis_away)
    return max(0.0, now - start - away)


def _for_a_while_after(at: float, now: float, degraded_seconds: float, down_seconds: float) -> State:
    """The state an event leaves a channel in for a while after it (`at`): down, then degraded, then ok; a level
    whose seconds are 0 is off."""
    since = max(0.0, now - at)
    return State.DOWN if since < down_seconds else State.DEGRADED if since < degraded_seconds else State.OK


def rule_mentions_gap(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                      now: float) -> Finding | None:
    """Mentions possibly out of the provider's reach (X keeps the newest ~800 reachable), for a while after the poll
    that found them: nothing can fetch them, an operator can look them up by hand for the window said. Logged alone
    (`channel.mentions_gap`), no view said that citizens' mentions may have been lost."""
    if signals.mentions_gap_at is None:
        return None
    state = _for_a_while_after(signals.mentions_gap_at, now, rules.mentions_gap_degraded_seconds,
                               rules.mentions_gap_down_seconds)
    return _finding("mentions_gap", state, f"mentions posted {signals.mentions_gap} may be out of the provider's "
                                           f"reach (found {_clock(signals.mentions_gap_at)}): look them up by hand")


def rule_mail_failed(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                     now: float) -> Finding | None:
    """A mail the gateway failed to read (its parser or processor raised: our fault, not the mail's) kept in the
    quarantine, for a while after: its citizen got no reply and no case was filed, and only the log and the
    rejection counters said so, every view "ok" (a parser bug quarantines every mail of its kind)."""
    if signals.mail_failed_at is None:
        return None
    state = _for_a_while_after(signals.mail_failed_at, now, rules.mail_failed_degraded_seconds,
                               rules.mail_failed_down_seconds)
    return _finding("mail_failed", state, f"a mail the gateway failed to read was quarantined "
                                          f"{_clock(signals.mail_failed_at)} ({signals.mail_failed or 'error'}): "
                                          "lapor-gateway email quarantine list, reprocess once mended")


def rule_unfiled(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules, __: float) -> Finding | None:
    """Messages the gateway failed to file (a bug their words or form met), kept so their words are not lost and a
    poller goes on: no case and no answer until an operator retries them, however long ago. Before, a poller stuck
    on such a message, an SMS was lost to its 500, and only the log said why."""
    if not signals.unfiled:
        return None
    newest = f"; the newest {_clock(signals.unfiled_at)}: {signals.unfiled_reason}" if signals.unfiled_at else ""
    return _finding("unfiled", _level(signals.unfiled, rules.unfiled_degraded, rules.unfiled_down),
                    f"{signals.unfiled} message(s) the gateway failed to file kept unfiled{newest}: "
                    "lapor-gateway unfiled list, retry once mended")


def rule_quiet(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules, now: float) -> Finding | None:
    """No message for longer than the channel is ever quiet (1708: an hour): the fault may be upstream, where no other
    rule looks. Counted from when monitoring began if no message ever came; off (0) by default."""
    since = signals.last_message_at or signals.first_seen
    if since is None:
        return None
    quiet = now - since
    state = _level(quiet, rules.quiet_degraded_seconds, rules.quiet_down_seconds)
    what = "no message" if signals.last_message_at else "no message since monitoring began"
    return _finding("quiet", state, f"{what} for {duration(quiet)}")


def rule_process_missing(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                         now: float) -> Finding | None:
    """The process receiving the channel (the HTTP gateway, the SMTP server, the pollers) not running: counted from
    its last beat, or from when monitoring began if none ever beat (a grace for start-up: `make run` starts them
    together)."""
    if not (rules.process_missing_degraded_seconds or rules.process_missing_down_seconds):
        return None
    since = signals.process_seen_at or signals.first_seen
    if since is None:
        return None
    missing = max(0.0, now - since)
    state = _level(_silent_for(since, signals, now), rules.process_missing_degraded_seconds,
                   rules.process_missing_down_seconds)
    seen = (f"last seen {duration(missing)} ago" if signals.process_seen_at is not None
            else f"last seen never; monitoring began {duration(missing)} ago")
    return _finding("process_missing", state, f"no {rules.serving_process} alive ({seen})")


def rule_webhook_missing(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                         now: float) -> Finding | None:
    """No HTTP gateway answering the webhook of a channel whose messages another process fetches (Instagram's
    `mentions` and `comments`, which the pollers resolve and file): its webhooks go unanswered, and what comes only
    by them is lost once the provider stops retrying. The pollers' beat alone said the channel was served, so it read
    ok on every view while `lapor-gateway serve` was down. Counted as the process rule counts: from the last beat, or
    from when monitoring began. With the pollers gone too, their own process rule gives the channel its state."""
    if not (rules.webhook_missing_degraded_seconds or rules.webhook_missing_down_seconds):
        return None
    since = signals.webhook_seen_at or signals.first_seen
    if since is None:
        return None
    missing = max(0.0, now - since)
    state = _level(_silent_for(since, signals, now), rules.webhook_missing_degraded_seconds,
                   rules.webhook_missing_down_seconds)
    seen = (f"last seen {duration(missing)} ago" if signals.webhook_seen_at is not None
            else f"last seen never; monitoring began {duration(missing)} ago")
    effect = f": {rules.webhook_missing_effect}" if rules.webhook_missing_effect else ""
    return _finding("webhook_missing", state, f"no {rules.webhook_process} alive ({seen}){effect}")


Rule = Callable[[ChannelSignals, Sequence[QueueStats], ChannelRules, float], Finding | None]
RULES: tuple[Rule, ...] = (
    rule_process_missing, rule_webhook_missing, rule_intake_refused, rule_auth, rule_signatures, rule_poll_failing,
    rule_rate_limited, rule_replies, rule_reply_rate_limited, rule_deadletters, rule_worker_missing, rule_job_held,
    rule_queue_age, rule_mentions_gap, rule_mail_failed, rule_unfiled, rule_quiet,
)


# The command that runs the process receiving each channel (the process rule's next step).
SERVING_COMMANDS = {"sms-aggregator": "lapor-gateway serve", "sms-twilio": "lapor-gateway serve",
                    "email": "lapor-gateway smtp", "x": "lapor-gateway pollers", "instagram": "lapor-gateway pollers"}
# The command that runs the HTTP gateway, which answers every webhook (the webhook rule's next step).
WEBHOOK_COMMAND = "lapor-gateway serve"
# Where a refused token is set, by channel (the authentication rule's next step).
TOKEN_SETTINGS = {"x": "LAPOR_X_BEARER_TOKEN", "instagram": "LAPOR_INSTAGRAM_ACCESS_TOKEN"}
# The IMAP poller's failing polls (channel `email`): the mailbox's server is the deployment's to check, not a
# provider's status page, which is what the poll-failing step said; and a refused login (imap-tools'
# MailboxLoginError: a password changed, an app password revoked), counted as a failing poll, passes no retry.
IMAP_LOGIN_REFUSED = "MailboxLoginError"
IMAP_LOGIN_STEP = ("the IMAP server refuses the poller's login: fix LAPOR_EMAIL_IMAP_USER or LAPOR_EMAIL_IMAP_PASSWORD "
                   "(changed, or an app password revoked?), then restart `lapor-gateway smtp`")
IMAP_POLL_STEP = ("the mailbox's IMAP server or the network fails (the error and the server are in the reason; "
                  "`lapor-gateway smtp`'s email.imap_failed lines have each try): check that it answers there "
                  "(LAPOR_EMAIL_IMAP_HOST, _PORT, _SSL); the poller retries by itself")
# Why a channel's webhook signatures fail, by channel (the signature rule's next step).
SIGNATURE_CAUSES = {
    "sms-twilio": "LAPOR_TWILIO_AUTH_TOKEN differs from the Twilio account's auth token, or LAPOR_PUBLIC_URL is not "
                  "the URL Twilio posts to (it signs that URL)",
    "sms-aggregator": "LAPOR_AGGREGATOR_SECRET differs from the aggregator's (source_not_allowed: its address is not "
                      "in LAPOR_AGGREGATOR_ALLOWLIST, or LAPOR_RATELIMIT_SOURCE_HEADER is unset behind a proxy)",
    "instagram": "LAPOR_INSTAGRAM_APP_SECRET differs from the Meta app's secret",
}
# What to do about a refused report, by the refusal's reason (the intake rule's next step).
REFUSAL_STEPS = {
    "id_range_exhausted": "extend this cell's range (LAPOR_INTAKE_ID_END, over IDs no other cell mints) and restart "
                          "`lapor-gateway serve`, `smtp` and `pollers`; the channel is ok again at its next report",
    "redis_unavailable": "bring Redis back (and free the spool's disk, when that is full): the message.rejected log "
                         "lines say why each was refused",
    "spool_failed": "bring Redis back and free or mend the spool's disk (LAPOR_DATA_DIR/spool)",
    "internal_error": "read the message.rejected or email.failed log lines and their traceback",
}
# What to do, by rule: `{channel}`, `{queues}` (the queues the finding names) and `{command}` (the process that
# receives the channel) are filled in; the rules whose step
# depends on more than that are in `next_step`.
NEXT_STEPS = {
    # Where the tries are told: the process and its line (`channels.social.signal_poll_error`), where it said "the
    # poller's warning lines", the operator left to find whose and which.
    "poll_failing": "the provider or the network fails (its answer is in the reason; the channel.provider_error "
                    "and channel.bad_payload lines of `{command}` have each try, channel.lookups_failing Instagram's "
                    "mention lookups): the poller retries by itself; see the provider's status page",
    "rate_limited": "polling too often, or another app uses the same token: the poller waits by itself; if it "
                    "lasts, poll less often or give the gateway a token of its own",
    # The reply queue's letters alone: the channel's forwards the case store refused, or a forward that killed its
    # workers (worker_died), were requeued with them, for nothing, or to kill its workers again.
    "replies": f"the provider refuses our replies: `lapor-gateway deadletters list --channel {{channel}} --queue "
               f"{REPLY_QUEUE}` shows each answer; fix the cause, then `lapor-gateway deadletters requeue --all "
               f"--channel {{channel}} --queue {REPLY_QUEUE}`",
    "reply_rate_limited": "nothing for a backlog (replies go out as the provider allows); if it lasts, see the "
                          "provider's notices for the account, which may be restricted from posting",
    "deadletters": "`lapor-gateway deadletters list --channel {channel}` (and `show <tracking-id>`) say why; fix the "
                   "cause, then `lapor-gateway deadletters requeue --all --channel {channel}`",
    # A worker whose process still runs and beats no more is frozen (stopped with SIGSTOP, its host paused or out of
    # memory): "start one" alone left it there, holding what it had taken.
    "worker_missing": "start `lapor-gateway worker --queues {queues}` (and read the last log lines of the one that "
                      "stopped: why did it?); one whose process still runs is frozen (stopped, its host paused or "
                      "out of memory): restart it",
    "job_held": "restart the worker the reason names (`py-spy dump --pid <pid>` first shows where it hangs): a live "
                "worker then takes the job back and runs it again",
    "mentions_gap": "search the provider for the account's mentions in that window and file them by hand",
    "mail_failed": "`lapor-gateway email quarantine list` shows the mail; once mended (an upgrade), "
                   "`lapor-gateway email quarantine reprocess` it",
    "unfiled": "`lapor-gateway unfiled list` shows them; once mended (an upgrade), `lapor-gateway unfiled retry --all`",
}


def next_step(finding: Finding, channel: str, signals: ChannelSignals, queues: Sequence[QueueStats]) -> str:
    """What an operator does about a finding, in words to act on at 2 a.m.: the command to run or the setting to
    check. The reasons said what was wrong, and what to do was in the README alone."""
    if finding.rule in ("process_missing", "webhook_missing"):
        command = (WEBHOOK_COMMAND if finding.rule == "webhook_missing"
                   else SERVING_COMMANDS.get(channel, "the process that receives it"))
        return (f"start `{command}` (is its unit running, with a restart policy?) and read its last log lines: "
                "why did it stop?")
    if finding.rule == "intake_refused":
        return REFUSAL_STEPS.get(signals.last_intake_refusal or "", "read the message.rejected log lines: they say "
                                 "why each new report was refused")
    if finding.rule == "auth":
        setting = TOKEN_SETTINGS.get(channel, "the channel's LAPOR_<PROVIDER>_* setting")
        return (f"the provider refuses our token: renew or fix {setting} (revoked, expired or wrong?), then restart "
                f"`{SERVING_COMMANDS.get(channel, 'the process that polls it')}`")
    if finding.rule == "signature":
        cause = SIGNATURE_CAUSES.get(channel, "the webhook's secret differs at the provider")
        return f"if these come from the provider, {cause}; if not, someone else is posting to the webhook's URL"
    if finding.rule == "queue_age":
        return _queue_step(finding, queues)
    if finding.rule == "poll_failing" and channel == "email":
        return IMAP_LOGIN_STEP if (signals.last_poll_error or "").startswith(IMAP_LOGIN_REFUSED) else IMAP_POLL_STEP
    if finding.rule == "quiet":
        return (f"nothing arrives: send a test message to the channel, and check that the provider still delivers "
                f"(its webhook or forwarding; for a polled channel, `{SERVING_COMMANDS.get(channel, 'its poller')}`'s "
                "log lines)")
    return NEXT_STEPS.get(finding.rule, "").format(channel=channel, queues=finding.about,
                                                   command=SERVING_COMMANDS.get(channel, "its poller"))


def _queue_step(finding: Finding, queues: Sequence[QueueStats]) -> str:
    """A queue whose oldest job waits too long: no worker takes it, or its jobs are retried for a failure to fix."""
    stats = next((q for q in queues if q.name == finding.about), None)
    if stats is None or stats.error is not None:
        return "see the health.queue_unreadable log line: a job there cannot be read"
    if stats.workers == 0:
        return f"start `lapor-gateway worker --queues {stats.name}`"
    failure = stats.last_failure or ""
    if failure.startswith("casestore_"):
        # The URL itself where the workers noted it: "LAPOR_CASESTORE_URL" sent the operator to find which value the
        # workers run with, while the page's footer named it.
        where = stats.casestore_url or "the forward workers' LAPOR_CASESTORE_URL"
        return (f"the case store fails (the last failure names how; the forward.retry log lines have each try): check "
                f"that it answers at {where}; the forwards go by themselves once it does")
    if failure:
        return ("fix what the last failure names (the README's table of dead-letter reasons says what each means); "
                "the jobs are retried by themselves")
    return f"the workers are behind: start another `lapor-gateway worker --queues {stats.name}`"


def evaluate(channel: str, signals: ChannelSignals, queues: Sequence[QueueStats], rules: ChannelRules,
             now: float) -> ChannelHealth:
    """The channel's state: the worst any rule gives; the reason names every rule at that level, and each finding
    what to do about it."""
    findings = tuple(replace(f, action=next_step(f, channel, signals, queues))
                     for f in (rule(signals, queues, rules, now) for rule in RULES) if f is not None)
    if not findings:
        return ChannelHealth(channel, State.OK, "")
    worst = max(SEVERITY[f.state] for f in findings)
    state = next(s for s, level in SEVERITY.items() if level == worst)
    reason = "; ".join(f.reason for f in findings if f.state is state)
    return ChannelHealth(channel, state, reason, findings)


def _clock(timestamp: float | None) -> str | None:
    """A Unix time as the reasons write it (`localtime.UTC_FORMAT`); None for one that cannot be a date."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime(UTC_FORMAT)
    except (OverflowError, OSError, ValueError):  # a damaged time, past the year 9999: not shown
        return None


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
# How often a process writes what it noted of a channel (the last message, a new report, a valid signature) at most,
# unless it ends a run of refused signatures that process saw: a burst of valid webhooks, one write per request for
# facts that change seldom, is one write a second per channel.
NOTED_WRITE_SECONDS = 1.0


class HealthSignals:
    """What channels and workers call to say how they are doing. Best effort: a Redis failure is logged, not raised.

    `message_received` writes at most once a second per channel and instance (a quiet period is hours long). The
    newest message noted and not written yet (one within that second, or one whose write Redis did not take) is
    kept, and written by the next write or by `write_unwritten`, which the gateway's health check runs first. A new
    report (`report=True`) is written the same way, in a second of its own: the mail noted as it came in must not
    hold back the report it became, which ends a run of intake refusals. A valid webhook signature
    (`signature_valid`) is noted and written with them, in the same second: it says something only when it ends a
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
        """The in-process half of `signature_valid`: keeps the time for the Redis write and says whether that write
        (`write_noted`) is due: at once when it ends a run of refused signatures this process saw (or it saw none
        yet), else at most once a second per channel with what else was noted. No I/O, as `note_message`."""
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

    def write_unwritten(self) -> None:
        """Write every channel's newest message, new report and valid signature not written yet. A message answered
        from the disk spool while Redis was away, or a valid SMS within a second of the write before, was never
        written: "last message" stayed at the outage's start, and a channel whose refused signatures another process
        counted "down: signature_invalid", until the next write. Quiet when Redis does not take it: the check that
        runs this next says so."""
        for channel in {*self._noted, *self._noted_reports, *self._noted_valid}:
            if self._unwritten(channel) != (None, None, None):
                self.write_noted(channel, quiet=True)

    def poll_succeeded(self, channel: str) -> None:
        """A poll went through: clears failing, rate limited and authentication failures."""
        metrics.LAST_POLL_SUCCESS.labels(channel).set(self._clock())

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hset(key, mapping={"last_poll_ok_at": at, "auth_failures": 0})
            pipe.hdel(key, "poll_failing_since", "last_poll_error", "poll_retry_at", "rate_limited_since",
                      "rate_limited_until")

        self._write(channel, "poll_ok", build)

    def poll_failed(self, channel: str, reason: str, retry_at: float | None = None) -> None:
        """A poll failed (timeout, 5xx, bad answer). The failing time counts from the first failure in a row;
        `retry_at` (Unix seconds) is when the poller tries again, which the views say."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hsetnx(key, "poll_failing_since", at)
            pipe.hset(key, "last_poll_error", _clean(reason))
            if retry_at is not None and math.isfinite(retry_at):
                pipe.hset(key, "poll_retry_at", retry_at)
            else:
                pipe.hdel(key, "poll_retry_at")

        self._write(channel, "poll_failed", build, error=reason)

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

    def auth_failed(self, channel: str, reason: str = "authentication failed") -> None:
        """Our token or secret was refused by the provider (a poll, a reply)."""

        def build(pipe: Any, key: str, _: float) -> None:
            pipe.hincrby(key, "auth_failures", 1)
            pipe.hset(key, "last_auth_error", _clean(reason))

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

    def signature_valid(self, channel: str) -> None:
        """A webhook request's signature checked out: the run of refused ones before it ends, written at once after
        a refusal this process saw, else at most once a second (`note_signature_valid`). A valid message does it
        too (`message_received`); this is for a webhook whose valid requests carry none (Instagram's only notify:
        the pollers process fetches the message)."""
        if self.note_signature_valid(channel):
            self.write_noted(channel)

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
            pipe.hdel(key, "reply_rate_limited_since", "reply_rate_limited_until")

        self._write(channel, "reply_sent", build)

    def reply_rate_limited(self, channel: str, until: float) -> None:
        """The provider told a reply to wait (429): it is put off until `until` (Unix seconds). Counted until a reply
        is sent; the channel shows it while a reply put off is not due again (the latest `until`)."""

        def build(pipe: Any, key: str, at: float) -> None:
            pipe.hincrby(key, "reply_rate_limits", 1)
            pipe.hsetnx(key, "reply_rate_limited_since", at)
            pipe.eval(_KEEP_LATEST, 1, key, "reply_rate_limited_until", until)

        self._write(channel, "reply_rate_limited", build,
                    error=f"reply rate limited until {_clock(until) or 'unknown'}")

    def reply_failed(self, channel: str, reason: str) -> None:
        """A reply to a citizen failed for good (dead-lettered): counted in a run that the next reply sent ends."""
        metrics.REPLIES.labels(channel, "failed").inc()

        def build(pipe: Any, key: str, _: float) -> None:
            pipe.hincrby(key, "reply_failures", 1)
            pipe.hset(key, "last_reply_error", _clean(reason))

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

    def dead_letters_cleared(self, letters: Iterable[tuple[str, str]], pipeline: Any) -> None:
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


def spool_size(data_dir: Path) -> int:
    """Bytes waiting in the disk spool (LAPOR_DATA_DIR/spool) for replay into Redis; quarantine not counted."""
    return Spool(data_dir / SPOOL_DIR).size_bytes()


def redis_down_document(error: BaseException, spool_bytes: int, now: float, redis_name: str,
                        spool_failure: str | None = None) -> dict[str, Any]:
    """The status document while Redis does not answer. Twilio's webhooks are still answered from the disk spool, so
    the spool's size is what an operator watches then; the webhooks that are not (the aggregator's SMS, whose reply is
    a queued job; Instagram's notifications, kept on a Redis list) are named, 1708 being the main SMS path. Every
    view shows this one text, ending with the Redis to check (`embedded_redis.named_redis`). A spool that cannot be
    written either (`spool_failure`, `Spool.failure`) answers nothing: said so, where the views said Twilio's SMS
    were answered while each got 503, which Twilio never sends again."""
    # A key of another type is no outage: Redis answers, and takes what goes to the gateway's other keys.
    if wrong_type(error):
        reason = f"{redis_trouble(error)}; the status cannot be read until it is. Check {redis_name}"
    elif spool_failure is not None:
        reason = (f"{redis_trouble(error)} and the disk spool cannot be written ({_clean(spool_failure)}): no "
                  "channel takes a report; Twilio's webhooks get 503 (Twilio does not send those SMS again), the "
                  "aggregator's callbacks and Instagram's notifications get 503 (their senders retry), SMTP answers "
                  f"451, pollers wait ({spool_bytes} bytes waiting in the spool). Check {redis_name} and the spool's "
                  "disk")
    else:
        reason = (f"{redis_trouble(error)}: Twilio's webhooks are answered from the disk spool "
                  f"({spool_bytes} bytes waiting, replayed when Redis is back) while the gateways hold Tracking IDs in "
                  "reserve (/readyz shows how many), 503 after; the aggregator's callbacks and Instagram's "
                  f"notifications get 503 (their senders retry), SMTP answers 451, pollers wait. Check {redis_name}")
    return {"generated_at": _clock(now), "overall": State.DOWN.value, "redis": type(error).__name__,
            "redis_state": "refusing" if isinstance(error, ResponseError) else "unreachable",
            "reason": reason, "spool_size": spool_bytes, "spool_failure": spool_failure}


def check_failed_document(error: BaseException, now: float) -> dict[str, Any]:
    """The status document when the check failed on an error that is not Redis's (a damaged value where it expects
    none, a file in the spool it cannot look at, a bug): overall unknown and why, where the views answered a bare
    500. What it failed on is in the log line `health.check_failed`."""
    kind = type(error).__name__
    return {"generated_at": _clock(now), "overall": UNKNOWN_OVERALL, "error": kind,
            "reason": f"the health check failed ({kind}), so the channels' states are not known: see the gateway's "
                      "log line health.check_failed for where"}


def redis_trouble(error: BaseException) -> str:
    """What is wrong with Redis, first in every view's reason. A Redis that answers with an error (full at its
    maxmemory, a replica since a failover, MISCONF: it cannot write its disk) was said "unreachable" by its error's
    class alone ("ResponseError"): the operator found it running and answering, and never saw what it said. A key
    of another type where the gateway keeps its own (WRONGTYPE) is said so, naming the key where redis-py names the
    command: it was read as one of those, which sent the operator to the Redis's memory, replicas and disk."""
    if wrong_type(error):
        key = failed_key(error)
        return (f"{f'The key {_clean(key)}' if key else 'A key'} in Redis holds another type than the gateway keeps "
                "there (WRONGTYPE: written by hand, a SET on a queue key, or by another application on this "
                "database?): look at it with TYPE, and delete it or move it aside (RENAME) once you know whose it is")
    if no_such_database(error):
        return ("Redis has no such database (ResponseError: DB index is out of range): the database number in "
                "REDIS_URL is beyond the server's `databases` (16 unless set)")
    if isinstance(error, ResponseError):
        return (f"Redis answers but refuses commands ({type(error).__name__}: {_clean(redis_words(error))}; full at "
                "its maxmemory, a read-only replica, or unable to write its disk: see its log and INFO)")
    return f"Redis unreachable ({type(error).__name__})"


# How long `lapor-gateway status` waits for a sign of the deployment in a Redis that shows none (a deployment started
# a moment ago beats within one beat, gateway.liveness.BEAT_SECONDS, 2 s), and how often it looks meanwhile.
DEPLOYMENT_WAIT_SECONDS = 2.5
DEPLOYMENT_LOOK_SECONDS = 0.25


def deployment_seen(redis: Redis, channels: Iterable[str], *, wait: float = 0.0,
                    sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> bool:
    """Whether this Redis shows any sign of the deployment: a beat of a process serving one of `channels` (the HTTP
    gateway, SMTP server or pollers: a channel's set keeps its newest beat for good) or the Tracking-ID counter (set
    when a process takes its first reserve of IDs). A Redis with neither (a typo in REDIS_URL's database number, a
    fresh Redis after a failover without persistence) is not the deployment's as it is now, whatever its rules would
    say; looked at again until `wait` has passed, one round trip each."""
    keys = [SEQUENCE_KEY, *(SERVING_KEY.format(channel=channel) for channel in channels)]
    deadline = clock() + wait
    while not redis.exists(*keys):
        if clock() >= deadline:
            return False
        sleep(DEPLOYMENT_LOOK_SECONDS)
    return True


def no_deployment_document(redis_name: str, now: float) -> dict[str, Any]:
    """The status document of a Redis that shows no sign of the deployment (`deployment_seen`): overall unknown, and
    a reason naming the Redis read, its database number included, so the operator checks REDIS_URL before anything
    else. Nothing was written to it."""
    reason = (f"no sign of this deployment in {redis_name}: no process receiving a channel (lapor-gateway serve, "
              "smtp, pollers) ever beat there and no Tracking ID was minted there. Is REDIS_URL, its database "
              "number included, the deployment's? If it is, none of those processes runs and this Redis lost what "
              "they wrote (a fresh one after a failover, without persistence): start them. Nothing was written to it")
    return {"generated_at": _clock(now), "overall": UNKNOWN_OVERALL, "reason": reason}


# -- The monitor -------------------------------------------------------------------------------------------------------
# Compare-and-set of a channel's state: returns the previous state when it changed, or when its cause did within the
# same state (ChannelHealth.cause; "since" starts again when no cause of before remains), for the caller to log;
# `STALE` for a result evaluated before the one stored (`at`: two checks at once, the first to evaluate the last to
# store), which is discarded; nil otherwise. A state stored without a cause (by an older version) keeps its "since"
# and logs nothing. A stored result more than STALE_WINDOW_SECONDS ahead was stamped by a clock that was wrong (a host
# resumed before its clock was set), not by a check that overtook this one: it must not hold the state still until
# that time comes. A check takes a few Redis round trips, each bounded by its timeout.
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
           cjson.encode({state = ARGV[2], reason = ARGV[3], since = since, at = at, cause = ARGV[6]}))
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
        signature_failures=_int(get(b"signature_failures")),
        last_signature_error=_text(get(b"last_signature_error")),
        intake_refusals=_int(get(b"intake_refusals")),
        last_intake_refusal=_text(get(b"last_intake_refusal")),
        reply_failures=_int(get(b"reply_failures")),
        last_reply_error=_text(get(b"last_reply_error")), reply_rate_limits=_int(get(b"reply_rate_limits")),
        reply_rate_limited_since=_float(get(b"reply_rate_limited_since")),
        reply_rate_limited_until=_float(get(b"reply_rate_limited_until")),
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


def _float(value: bytes | float | None) -> float | None:
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
        if answer is not None:
            log.error("spool.not_writable", reason=answer,
                      detail="/readyz answers 503, and while Redis fails no report is taken: free or mend its disk")
        else:
            assert since is not None
            log.info("spool.writable", not_writable_seconds=round(now - since, 1))

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
                 spool_failure: Callable[[], str | None] | None = None) -> None:
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
        pipe = self._redis.pipeline(transaction=False)
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
        replies = pipe.execute()
        per = 9
        return {channel: _signals(channel, *replies[per * index + 1:per * index + per])
                for index, channel in enumerate(self.rules.watched)}

    def queue_stats(self, now: float) -> list[QueueStats]:
        """Depth and age of the oldest job per queue, counting jobs scheduled for a retry (an outage's backlog);
        the live workers on it and why its oldest retried job failed (what tells "case store down" from "no
        worker")."""
        stats = []
        workers = self.live_workers()
        seen = {name.decode(errors="replace"): _float(at)
                for name, at in self._redis.hgetall(WORKER_SEEN_KEY).items()}
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
            casestore_url = None
            if name == FORWARD_QUEUE and (failure or "").startswith("casestore_"):
                casestore_url = _text(self._redis.hget(CASESTORE_OUTAGE_KEY, "url")) or None
            stats.append(QueueStats(name, depth, scheduled.count, oldest, held, workers[name], failure, seen.get(name),
                                    failed, error, by_channel, every_channel, in_progress, held_longest, overdue,
                                    casestore_url))
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
            return next((str(job.meta["last_error"]) for _, job in members if job.meta.get("last_error")), None)

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
        now = self._now() if now is None else now
        try:
            queues = self.queue_stats(now)
            signals = self.read_signals(now)
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
        return healths, queues, signals

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

    def commit(self, healths: Sequence[ChannelHealth], now: float) -> dict[str, State]:
        """Store each channel's state, evaluated at `now` (one round trip); on a change of state or of its cause,
        log `channel.health` once, whichever process gets there first. A result older than the one stored is
        discarded: it would take the state back, and forth again at the next. Returns the previous state of every
        channel that changed (the same state for a new cause)."""
        pipe = self._redis.pipeline(transaction=False)
        for health in healths:
            self._set_state(keys=[STATE_KEY], args=[health.channel, health.state.value, health.reason, now,
                                                    STALE_WINDOW_SECONDS, health.cause], client=pipe)
        changed: dict[str, State] = {}
        for health, stored in zip(healths, pipe.execute(), strict=True):
            previous = stored.decode() if isinstance(stored, bytes) else stored
            if previous == STALE:
                continue
            metrics.CHANNEL_STATE.labels(health.channel).set(SEVERITY[health.state])
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
        healths, queues, signals = self.evaluate_all(now)
        self.commit(healths, now)
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

    def redis_down(self, error: BaseException) -> dict[str, Any]:
        """The document while Redis does not answer, with the spool gauge set as of now (the spool is on disk) and
        lapor_redis_up at 0."""
        metrics.REDIS_UP.set(0)
        spool_bytes = self._spool()
        metrics.SPOOL_SIZE.set(spool_bytes)
        failure = self._spool_failure()
        metrics.SPOOL_WRITABLE.set(failure is None)
        return redis_down_document(error, spool_bytes, self._clock(), named_redis(self._redis, self._data_dir),
                                   failure)

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
        pipe.hmget(CASESTORE_OUTAGE_KEY, ["since", "told", "url"])
        pipe.hmget(CASESTORE_REFUSING_KEY, ["reason", "since"])
        pipe.hgetall(REPLAY_STUCK_KEY)
        pipe.hgetall(DATA_LOST_KEY)
        pipe.time()  # the replayers stamp their entries with Redis's clock: a host's own may be off by minutes
        (raw_states, deadletters_total, *replies, down_reason, (down_since, told, url), (refusing, refusing_since),
         stuck, data_lost, redis_now) = pipe.execute()
        per_channel, leases = replies[:2 * len(healths)], replies[2 * len(healths):]
        return StoredStatus(
            states={key.decode(errors="replace"): _stored_state(value) for key, value in raw_states.items()},
            deadletters_total=int(deadletters_total),
            last_errors={health.channel: [entry for entry in map(_error_entry, per_channel[2 * index]) if entry]
                         for index, health in enumerate(healths)},
            deadletters={health.channel: int(per_channel[2 * index + 1]) for index, health in enumerate(healths)},
            spool_size=self._spool(),
            spool_failure=self._spool_failure(),
            spool_stuck=_stuck_spools(stuck, redis_time(redis_now)),
            pollers={channel: lease_status(account, leases[2 * index], leases[2 * index + 1])
                     for index, (channel, account) in enumerate(self.polled.items())},
            casestore_outage=None if down_reason is None else {
                "reason": _clean(_text(down_reason)), "since": _clock(_float(down_since)),
                "declared": told is not None, "url": _text(url)},
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


def outage_declared(casestore_outage: Mapping[str, Any] | None) -> bool:
    """Whether the status document's `casestore_outage` is a declared one (`CASESTORE_OUTAGE_STATE`)."""
    return bool(casestore_outage and casestore_outage.get("declared"))


def overall_reason(channels: Sequence[Mapping[str, Any]], casestore_outage: Mapping[str, Any] | None,
                   spool_failure: str | None = None, spool_stuck: Sequence[Mapping[str, Any]] = (),
                   casestore_refusing: Mapping[str, Any] | None = None,
                   redis_data_lost: Mapping[str, Any] | None = None) -> str | None:
    """What makes the overall state what it is, as every view's headline says it: the channels that are down, then
    those degraded, the case store while forwards find it down (`CASESTORE_OUTAGE_STATE`) or it refuses the gateway's
    credentials (`CASESTORE_REFUSING_STATE`, with what to do) and a disk spool that
    cannot be written (`SPOOL_FAILURE_STATE`), in the order given ("DOWN: x · DEGRADED: email, case store (forwards
    failing since 2026-12-02 02:23:10Z, casestore_unreachable)"); None when everything is ok."""
    named: dict[str, list[str]] = {state.value: [str(c["channel"]) for c in channels if c["state"] == state.value]
                                   for state in (State.DOWN, State.DEGRADED)}
    if outage_declared(casestore_outage):
        assert casestore_outage is not None
        named[CASESTORE_OUTAGE_STATE.value].append(
            f"case store (forwards failing since {casestore_outage.get('since') or '?'}, "
            f"{casestore_outage.get('reason') or '?'})")
    if casestore_refusing:
        reason = casestore_refusing.get("reason") or "?"
        named[CASESTORE_REFUSING_STATE.value].append(
            f"case store (refuses the gateway's credentials since {casestore_refusing.get('since') or '?'}, {reason}: "
            f"{credentials_step(reason)})")
    if spool_failure is not None:
        named[SPOOL_FAILURE_STATE.value].append(
            f"disk spool ({_clean(spool_failure)}; /readyz answers 503, and while Redis fails no report is taken)")
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
                                 stored.casestore_refusing, stored.redis_data_lost),
        "channels": channels,
        # Without the jobs held past their limit (`overdue`, keyed by channel or None): the job-held rule says them.
        "queues": [{**{key: value for key, value in asdict(stats).items() if key not in ("overdue", "casestore_url")},
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
        # Spools whose answered reports are not replayed though Redis answers ([] while none).
        "spool_stuck": stored.spool_stuck,
        # Redis lost its data under the running processes in the last day: when and noticed by whom (null: not).
        "redis_data_lost": stored.redis_data_lost,
    }
