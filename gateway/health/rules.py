"""The channel-health rules: what they see of a channel, and one pure function that turns it into ok / degraded / down.

`evaluate(...)`: a pure function of (signals, queue stats, rules, now) -> `ChannelHealth`; the rules are the
functions in `RULES`, their thresholds in config/health.toml (`HealthRules`, read by `load_rules`). Each finding
carries what to do about it (`next_step`). What the rules see (`ChannelSignals`, `QueueStats`) is read from Redis by
the monitor (`gateway.health.monitor`); nothing here reads Redis, so each rule is tested alone on a row of values.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from gateway.health.signals import (
    AUTH_REFUSALS,
    POLLER_CRASHED,
    SERVING_ALIVE_SECONDS,
    UNATTRIBUTED,
    WorkerQuit,
    _clock,
    casestore_timeout_step,
)
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE
from gateway.settings import SettingsError


class State(StrEnum):
    """A channel's state on every view and in the `channel.health` lines; the overall state is the worst of them."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


SEVERITY = {State.OK: 0, State.DEGRADED: 1, State.DOWN: 2}


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
    # Webhook requests our own rate limit refused ([ratelimit]), shown for this long after the last (seconds; 0: the
    # rule is off), by how many its run counts.
    throttled_window_seconds: float = 60
    throttled_degraded: int = 1
    throttled_down: int = 0
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
    except UnicodeDecodeError as error:  # an editor's Latin-1 save: `serve` ended on a traceback naming no file
        raise RulesError(f"{where} is not UTF-8 text (at byte {error.start}): save it as UTF-8") from None
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
    # When the poller whose credentials were refused tries again (its backoff; None: not told).
    auth_retry_at: float | None = None
    # What the provider refused (`signals.AUTH_REFUSALS`: the token, a permission, the account; None: not told).
    last_auth_refusal: str | None = None
    signature_failures: int = 0
    last_signature_error: str | None = None
    intake_refusals: int = 0
    last_intake_refusal: str | None = None
    # Webhook requests our own rate limit refused (gateway.ratelimit) in the last run (refusals less than
    # `signals.THROTTLED_RUN_GAP_SECONDS` apart), every gateway process's: how many, the first's and the last's time.
    throttled: int = 0
    throttled_since: float | None = None
    last_throttled_at: float | None = None
    reply_failures: int = 0
    last_reply_error: str | None = None
    # The kind of the last failed reply's failure (`signals.REPLY_FAILURES`; None: not told, an older version's).
    last_reply_failure: str | None = None
    # Replies put off by a 429 since the last reply sent: how many, since when, and until when the last is put off.
    reply_rate_limits: int = 0
    reply_rate_limited_since: float | None = None
    reply_rate_limited_until: float | None = None
    # Where the last 429 came from (`api.x.com answered 429 Too Many Requests`; None: not told, an older version's).
    last_reply_rate_limit: str | None = None
    # Which 429 that was (`signals.RATE_LIMIT_FAILURES`: `usage_cap`, X's plan's cap; None: not told, a rate limit).
    last_reply_rate_limit_kind: str | None = None
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
    # Each worker process's last run that ended unasked on an error no waiting ends, where no run of that process
    # began since (each process's record goes as its next run begins and as it stops; `workers.outage.LoopQuits`),
    # newest first: the `worker_quitting` rule's, said in place of a worker gone missing.
    worker_quits: tuple[WorkerQuit, ...] = ()
    # Forward queue, its jobs retried for a case-store failure: the workers' LAPOR_CASESTORE_TIMEOUT_SECONDS, as they
    # noted it with the outage (None: none noted), for a timeout's step.
    casestore_timeout: float | None = None


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


def rule_auth(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules, now: float) -> Finding | None:
    """Our credentials refused by the provider (a revoked token or password), in a row: nothing passes until an
    operator mends them, so the default degrades at the first. With the poller's next try, as a failing poll's: a
    401 the provider stops giving (its own fault) is gone by then, the poller waiting quietly till it tries again."""
    state = _level(signals.auth_failures, rules.auth_failures_degraded, rules.auth_failures_down)
    retry = _clock(signals.auth_retry_at) if signals.auth_retry_at is not None and signals.auth_retry_at > now else None
    next_try = f" (next try {retry})" if retry else ""
    return _finding("auth", state, f"authentication failing ({signals.auth_failures} in a row): "
                                   f"{signals.last_auth_error or '?'}{next_try}")


def rule_signatures(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                    __: float) -> Finding | None:
    """Webhook requests refused for their signature: our secret is wrong at the provider, or anyone is posting to a
    public URL; so a run of them, not one, and a valid message ends the run."""
    state = _level(signals.signature_failures, rules.signature_failures_degraded, rules.signature_failures_down)
    return _finding("signature", state, f"webhook signatures refused ({signals.signature_failures} in a row, no valid "
                                        f"message since): {signals.last_signature_error or '?'}")


# What the gateway's own rate limit refusing a channel's webhooks does to its messages, where the channel's provider is
# known to do something about it (every refused request is one the provider sent, if it came from the provider).
THROTTLED_EFFECTS = {
    "sms-twilio": ("Twilio does not send a refused message webhook again: if any were Twilio's, those SMS got no "
                   "Tracking ID"),
    "sms-aggregator": "the aggregator sends a refused callback again, later",
    "instagram": "Meta sends a refused notification again, for a while",
}


def rule_throttled(signals: ChannelSignals, _: Sequence[QueueStats], rules: ChannelRules,
                   now: float) -> Finding | None:
    """Webhook requests of the channel our own per-source rate limit ([ratelimit], gateway.ratelimit) refused 429
    before reading them, while the last is recent (`throttled_window_seconds`): a run counted across every gateway
    process, ended by itself once the refusals stop. Before, only `/metrics` and a sampled log line said so, every view
    ok while Twilio's webhooks, which Twilio never sends again, were refused by the thousand.

    Degraded, not down by default (`throttled_down` is 0), however long the run: the limit refuses a request before
    reading it, so nothing tells whether the source refused is the provider (its webhooks lost, or delayed where it
    retries) or anyone flooding the public URL, which is what the limit is there to stop, the provider's own requests
    going through from their own addresses meanwhile. Down is for a channel that does not work; this may be one that
    does, and the step is the same either way: read which source it is, and raise the limit if it is the provider's.
    A deployment that knows every source of its webhooks (an aggregator behind its allowlist) may set a down count."""
    last = signals.last_throttled_at
    window = rules.throttled_window_seconds
    if not signals.throttled or last is None or not window or now - last >= window:
        return None
    state = _level(signals.throttled, rules.throttled_degraded, rules.throttled_down)
    counted = f"{signals.throttled} since {_clock(signals.throttled_since) or '?'}, the last {_clock(last) or '?'}"
    effect = f": {THROTTLED_EFFECTS[signals.channel]}" if signals.channel in THROTTLED_EFFECTS else ""
    return _finding("throttled", state, f"webhook requests refused by the gateway's own rate limit ({counted}){effect}")


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
    said = f": {signals.last_reply_rate_limit}" if signals.last_reply_rate_limit else ""
    if signals.last_reply_rate_limit_kind == "usage_cap":
        # No reply goes out before the plan's next period: `until` is only when the last one put off is tried again
        return _finding("reply_rate_limited", state, f"replies held by the usage cap ({signals.reply_rate_limits} put "
                                                     f"off{since}, none sent since; tried again at "
                                                     f"{_clock(until) or '?'}){said}")
    return _finding("reply_rate_limited", state, f"replies rate limited ({signals.reply_rate_limits} put off{since}, "
                                                 f"none sent since; until {_clock(until) or '?'}){said}")


def rule_queue_age(signals: ChannelSignals, queues: Sequence[QueueStats], rules: ChannelRules,
                   now: float) -> Finding | None:
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
                                             f"{_why_stuck(stats, waiting, signals, now)})"
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


def _why_stuck(stats: QueueStats, waiting: Waiting, signals: ChannelSignals, now: float) -> str:
    """What the operator acts on: the failure its jobs are retried for, and whether any worker takes them (one whose
    runs end on an error is said so: "no live worker" sent the operator to start one, beside the process running)."""
    why = f"; last failure: {waiting.last_failure}" if waiting.last_failure else ""
    if stats.workers != 0:
        return why
    return why + ("; its worker's runs end on an error (worker quitting)" if _quitting(stats, signals, now)
                  else "; no live worker takes its jobs")


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
        if stats.name not in rules.queues or stats.workers != 0 or _quitting(stats, signals, now):
            continue  # a worker between runs that ended on an error: `rule_worker_quitting` says so
        since = stats.worker_seen_at or signals.first_seen
        if since is None:
            continue
        gone = max(0.0, now - since)
        state = _level(_silent_for(since, signals, now), rules.worker_missing_degraded_seconds,
                       rules.worker_missing_down_seconds)
        seen = (f"last seen {duration(gone)} ago" if stats.worker_seen_at is not None
                else f"last seen never; monitoring began {duration(gone)} ago")
        last = next(iter(_quits_between_runs(stats)), None)
        if last is not None and (stats.worker_seen_at or 0.0) <= last.at and _overdue(last, signals, now) > 0:
            # Its next run overdue: gone (stopped, died) in its wait, said at once (it read ok for up to 30 s).
            state = max(state, State.DEGRADED, key=SEVERITY.__getitem__)
            seen += (f"; its last run ended on an error {duration(max(0.0, now - last.at))} ago, and the next, due "
                     f"{duration(max(0.0, now - last.at - last.retry_in))} ago, has not begun")
        if state is not State.OK:
            missing.append((state, f"{stats.name}: no live worker ({seen})", stats.name))
    if not missing:
        return None
    worst = max((state for state, _, _ in missing), key=SEVERITY.__getitem__)
    return Finding("worker_missing", worst, "; ".join(reason for state, reason, _ in missing if state is worst),
                   ",".join(name for state, _, name in missing if state is worst))


# How long after its wait a worker's next run may take to begin (to build its worker and beat) before the quit before
# it is no longer said: a process that died in its wait is then a worker gone missing (`rule_worker_missing`).
WORKER_QUIT_GRACE_SECONDS = 10.0


def _quits_between_runs(stats: QueueStats) -> tuple[WorkerQuit, ...]:
    """The last quits of the queue's worker processes, newest first, where no live worker is on the queue. Whether a
    run began since a quit is each process's own to say (its record goes as its next run begins): the queue's one
    time seen, which another process's run sets, hid a process still quitting."""
    return stats.worker_quits if stats.workers == 0 else ()


def _overdue(last: WorkerQuit, signals: ChannelSignals, now: float) -> float:
    """How long past its grace the run after the quit `last` is overdue (<= 0: not yet), less the time Redis was away
    since it was due, as a silence is counted (`_silent_for`): a run that began in an outage beats only once Redis is
    back."""
    return _silent_for(last.at + last.retry_in, signals, now) - WORKER_QUIT_GRACE_SECONDS


def _quitting(stats: QueueStats, signals: ChannelSignals, now: float) -> WorkerQuit | None:
    """The newest quit the views tell as such (`_quits_between_runs`): the second or a later in a row of its process
    (a run ended once is begun again a second later), its next run not overdue: a process that stopped or died in its
    wait is a worker gone missing (`rule_worker_missing`, at once), unless another still quits."""
    return next((last for last in _quits_between_runs(stats)
                 if last.quits >= 2 and _overdue(last, signals, now) <= 0), None)


def rule_worker_quitting(signals: ChannelSignals, queues: Sequence[QueueStats], rules: ChannelRules,
                         now: float) -> Finding | None:
    """A queue of the channel whose worker runs, and whose every run of RQ's loop ends on an error no waiting ends (a
    key of another type in Redis, an unknown command, a bug): between its runs, waits of up to a minute, no worker is
    live on the queue, and the views said "no live worker" of a process running (after 30 s of each wait; nothing
    before), or nothing at all while its waits were short. Said at once, what ended the last run and what to do, from
    the second run in a row to end so (a run ended once is begun again a second later)."""
    if not (rules.worker_missing_degraded_seconds or rules.worker_missing_down_seconds):
        return None
    found = [(stats.name, last) for stats in queues if stats.name in rules.queues
             and (last := _quitting(stats, signals, now)) is not None]
    if not found:
        return None
    reasons = []
    for name, last in found:
        error = last.trouble or (f"{last.error}, a bug: its traceback is in the worker's log" if last.error
                                 else "see the worker's log")
        when = "as it begins" if last.reason == "run_start_error" else "in RQ's loop"
        due = last.at + last.retry_in - now
        next_run = f"the next in {duration(due)}" if due >= 1 else "the next due now"
        reasons.append(f"{name}: its worker's runs end on an error {when}, {last.quits} in a row, {next_run} "
                       f"({error}; worker.quit_unasked)")
    return Finding("worker_quitting", State.DEGRADED, "; ".join(reasons), ",".join(name for name, _ in found))


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
    rule_process_missing, rule_webhook_missing, rule_intake_refused, rule_throttled, rule_auth, rule_signatures,
    rule_poll_failing, rule_rate_limited, rule_replies, rule_reply_rate_limited, rule_deadletters, rule_worker_missing,
    rule_worker_quitting, rule_job_held,
    rule_queue_age, rule_mentions_gap, rule_mail_failed, rule_unfiled, rule_quiet,
)


# The command that runs the process receiving each channel (the process rule's next step).
SERVING_COMMANDS = {"sms-aggregator": "lapor-gateway serve", "sms-twilio": "lapor-gateway serve",
                    "email": "lapor-gateway smtp", "x": "lapor-gateway pollers", "instagram": "lapor-gateway pollers"}
# The command that runs the HTTP gateway, which answers every webhook (the webhook rule's next step).
WEBHOOK_COMMAND = "lapor-gateway serve"
# Where a refused token is set, by channel (the authentication rule's next step).
TOKEN_SETTINGS = {"x": "LAPOR_X_BEARER_TOKEN", "instagram": "LAPOR_INSTAGRAM_ACCESS_TOKEN"}
# What to do about a refused token, by channel and by what the provider refused (`signals.AUTH_REFUSALS`): the reason
# names the host that refused (the X or Graph API host of LAPOR_X_BASE_URL, LAPOR_INSTAGRAM_GRAPH_BASE_URL). "Renew
# or fix the token" alone sent the operator to renew a token that a permission was missing from, or that named an
# account X no longer serves.
# How each poller's token step ends (a reply's step restarts the workers instead: `reply_step`).
POLLERS_RESTART = ", then restart `lapor-gateway pollers`"
# Each without its restart: the pollers' (`POLLERS_RESTART`) or the reply workers' (`reply_step`) is put after it.
TOKEN_REFUSAL_STEPS = {
    ("x", "token"): "X refuses the poller's token (revoked, expired or wrong?): set LAPOR_X_BEARER_TOKEN to the app's "
                    "current bearer token (developer portal: Keys and tokens)",
    ("x", "permission"): "X refuses the token access to mentions (403: its app not in a Project, a plan without the "
                         "mentions endpoint, or a user token without the tweet.read and users.read scopes): mend that "
                         "in the developer portal or set LAPOR_X_BEARER_TOKEN to a token that has it",
    ("x", "account"): "X cannot read the account polled (suspended, protected, or LAPOR_X_USER_ID mistyped?): check "
                      "the account at X and LAPOR_X_USER_ID",
    ("instagram", "token"): "Meta refuses the access token (invalid or expired: a long-lived one lasts 60 days; or the "
                            "password of its user changed): set LAPOR_INSTAGRAM_ACCESS_TOKEN to a new long-lived "
                            "token",
    ("instagram", "permission"): "the access token lacks a permission (instagram_basic, instagram_manage_comments; "
                                 "or its user lost access to the Page): grant it in the Meta app, set "
                                 "LAPOR_INSTAGRAM_ACCESS_TOKEN to a token issued after",
}
# What to do about a reply that failed for good, by channel and kind of failure (`signals.REPLY_FAILURES`, recorded
# with it): the reason names the host, or the relay's host:port, that refused or failed (`signals.reply_failure`).
# "The provider refuses our replies" alone left the operator to find which setting of which process: a reply worker
# holds its own credentials (X's OAuth 1.0a keys, not the pollers' bearer token), its client built once. Followed by
# the restart and the requeue (`reply_step`).
REPLY_CREDENTIAL_STEPS = {
    ("x", "token"): "X refuses the reply worker's credentials (revoked, expired or wrong?): set LAPOR_X_ACCESS_TOKEN "
                    "and LAPOR_X_ACCESS_TOKEN_SECRET (with LAPOR_X_CONSUMER_KEY and LAPOR_X_CONSUMER_SECRET: "
                    "developer portal, Keys and tokens), or LAPOR_X_USER_ACCESS_TOKEN, which X expires 2 hours after "
                    "it is issued",
    ("x", "permission"): "X refuses the account to post (403: an app whose permissions are Read only, or an access "
                         "token issued before Read and Write was set; or the account is restricted): set Read and "
                         "Write in the developer portal, and set LAPOR_X_ACCESS_TOKEN and LAPOR_X_ACCESS_TOKEN_SECRET "
                         "to a token issued after",
    ("sms-aggregator", "token"): "the aggregator refuses our send credentials: set LAPOR_AGGREGATOR_SEND_USERNAME and "
                                 "LAPOR_AGGREGATOR_SEND_PASSWORD to the account's (the aggregator's console)",
    ("sms-aggregator", "permission"): "the aggregator refuses to send for our account (403: its sender 1708, its "
                                      "balance, or our address not on its allowlist): ask the aggregator to mend it",
    ("email", "token"): "the relay refuses our login: set LAPOR_EMAIL_RELAY_USER and LAPOR_EMAIL_RELAY_PASSWORD "
                        "(changed, or an app password revoked?)",
}
# Where each channel's replies go, as the reply steps name the setting.
REPLY_ENDPOINT_SETTINGS = {"x": "LAPOR_X_BASE_URL", "instagram": "LAPOR_INSTAGRAM_GRAPH_BASE_URL",
                           "sms-aggregator": "LAPOR_AGGREGATOR_SEND_URL",
                           "email": "LAPOR_EMAIL_RELAY_HOST, _PORT and _STARTTLS"}
# The same by kind of failure alone, for every channel (`{setting}`: where its replies go).
REPLY_FAILURE_STEPS = {
    "rate_limit": "the provider limited our replies past every retry: see its notices for the account (restricted "
                  "from posting?) and send fewer (the channel's reply or send rate)",
    # A 429 that no rate window ends (X's `UsageCapExceeded`): "send fewer" had the operator slow a reply rate
    # that was never the cause.
    "usage_cap": "the plan's usage cap is used up (X: the posts its plan allows a month; developer portal, Dashboard): "
                 "no reply goes out until it resets at the plan's next period, or the plan is raised",
    "server": "the provider failed through every retry: see its status page",
    "timeout": "nothing answered in time at the host named: check that it answers there from the workers' hosts "
               "({setting}; a firewall, a proxy or DNS on the way)",
    "unreachable": "nothing answered at the host named: check that it answers there from the workers' hosts "
                   "({setting}; a firewall, a proxy or DNS on the way)",
    "tls": "TLS with the host named failed: its certificate (expired, for another name, from a CA the workers do not "
           "trust), or a port that speaks no TLS ({setting})",
    "refused": "the provider refused the message itself: `lapor-gateway deadletters show <tracking-id>` has its answer",
    "redirect": "{setting} redirects (an http:// URL, a moved path): set it to where it points",
    # Held rather than posted twice (`workers.social_reply._posted_before`): read by its lookup's last answer, a full
    # page of others said "no connection" and sent the operator after the network.
    "unverified": "an attempt may have posted the reply already, and the lookup for it on the post could not tell "
                  "through every retry (the reason says why; no setting to mend): a requeued reply looks again first "
                  "and posts only if ours is not there (held again after a full page of others: the README's \"A "
                  "reply that may be out already\" says how to post it anyway)",
}
# Replies put off by X's plan's usage cap: "nothing for a backlog ... send fewer" had the operator wait for a backlog
# or slow the reply rate, neither of them the cause.
USAGE_CAP_WAIT_STEP = (f"{REPLY_FAILURE_STEPS['usage_cap']}; the replies are tried again by themselves meanwhile, "
                       "and one still held past the channel's reply_rate_limit_max_total_hours is dead-lettered "
                       "(x_usage_cap), to requeue once the cap allows")
# A refused reply's step by its dead letter's reason, where the reason tells more than the kind: X's 404 to a reply
# (`x_not_found`, channels.x_mentions.reply_not_found) is the post answered gone for one reply, but for every reply
# most likely a base URL that is not the API's (a proxy's path, a typo), which "the message itself" did not name.
REPLY_REASON_STEPS = {
    "x_not_found": "X answered 404 Not Found: for one reply, the post it answers (`lapor-gateway deadletters show "
                   "<tracking-id>` has the answer); for every reply, LAPOR_X_BASE_URL is most likely not the API's (a "
                   "proxy's path, a typo): set it to the API's base URL and restart every `lapor-gateway worker`",
}
# The processes that hold a reply's credentials from their start (the reply workers; Instagram's token the pollers too).
REPLY_RESTART = {"instagram": "every `lapor-gateway worker` and `lapor-gateway pollers`"}


def reply_step(channel: str, failure: str | None, reason: str | None = None) -> str | None:
    """What to do about `channel`'s replies failing for good with a `failure` of that kind (`signals.REPLY_FAILURES`),
    then the restart its credentials need and the requeue; None when the kind is not told (an older version's
    failure, a job that failed). A refused token or permission of Instagram's is the pollers' too: their step
    (`TOKEN_REFUSAL_STEPS`), which restarts the workers with them. `reason`: the dead letter's (`x_not_found`), for
    a refusal whose reason has a step of its own (`REPLY_REASON_STEPS`)."""
    setting = REPLY_ENDPOINT_SETTINGS.get(channel, "the channel's LAPOR_<PROVIDER>_* settings")
    requeue = f"requeue them: `lapor-gateway deadletters requeue --all --channel {channel} --queue {REPLY_QUEUE}`"
    if failure == "refused" and reason in REPLY_REASON_STEPS:
        return f"{REPLY_REASON_STEPS[reason]}; then {requeue}"
    if failure in AUTH_REFUSALS:
        restart = REPLY_RESTART.get(channel, "every `lapor-gateway worker`")
        if (channel, failure) in REPLY_CREDENTIAL_STEPS:
            step = REPLY_CREDENTIAL_STEPS[channel, failure]
        elif (channel, failure) in TOKEN_REFUSAL_STEPS:
            step = TOKEN_REFUSAL_STEPS[channel, failure]
        else:
            step = "the provider refuses our credentials: fix the channel's LAPOR_<PROVIDER>_* credentials"
        return f"{step}; then restart {restart}, and {requeue}"
    if failure in REPLY_FAILURE_STEPS:
        return f"{REPLY_FAILURE_STEPS[failure].format(setting=setting)}; then {requeue}"
    return None


# The IMAP poller's failing polls (channel `email`): the mailbox's server is the deployment's to check, not a
# provider's status page, which is what the poll-failing step said; and a refused login (imap-tools'
# MailboxLoginError: a password changed, an app password revoked), counted as a failing poll, passes no retry.
# A poll round that raised past the poller's error handling: no provider's failure, and no setting mends it.
POLLER_CRASHED_STEP = ("a bug of the gateway's that a provider's answer meets: read the poller.crashed lines of "
                       "`{command}` and their traceback; the poller retries every 30 s, and what it reads waits till "
                       "that is mended")
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
    # Said until the channel's next report is taken, Redis back or not: "bring Redis back" alone, with Redis back,
    # sent the operator after what was mended, for the hours a quiet channel waits for its next report.
    "redis_unavailable": "bring Redis back (and free the spool's disk, when that is full): the message.rejected log "
                         "lines say why each was refused; once Redis answers, the channel is ok again at its next "
                         "report",
    "spool_failed": "bring Redis back and free or mend the spool's disk (LAPOR_DATA_DIR/spool); once both are "
                    "mended, the channel is ok again at its next report",
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
    # Refused or not answered (`aggregator_unreachable`, `relay_timeout`): the reason names which; "refuses" alone
    # sent the operator after a refusal where the provider's host was down.
    "replies": f"the reply provider refuses our replies or does not answer (the reason says which): `lapor-gateway "
               f"deadletters list --channel {{channel}} --queue {REPLY_QUEUE}` shows each failure; fix the cause, "
               f"then `lapor-gateway deadletters requeue --all --channel {{channel}} --queue {REPLY_QUEUE}`",
    # Refused unread, the source may be the provider or anyone flooding the URL: its log line says which.
    "throttled": "the ratelimit.throttled log lines of `lapor-gateway serve` name the source refused; if it is the "
                 "provider's, raise LAPOR_RATELIMIT_RATE_PER_SECOND and LAPOR_RATELIMIT_BURST ([ratelimit] "
                 "rate_per_second, burst) and restart `lapor-gateway serve`; behind a proxy, set "
                 "LAPOR_RATELIMIT_SOURCE_HEADER (unset, every client counts as the proxy, one source). Ok again by "
                 "itself once the refusals stop",
    "reply_rate_limited": "nothing for a backlog (replies go out as the provider allows); if it lasts, see the "
                          "provider's notices for the account, which may be restricted from posting",
    "deadletters": "`lapor-gateway deadletters list --channel {channel}` (and `show <tracking-id>`) say why; fix the "
                   "cause, then `lapor-gateway deadletters requeue --all --channel {channel}`",
    # A worker whose process still runs and beats no more is frozen (stopped with SIGSTOP, its host paused or out of
    # memory): "start one" alone left it there, holding what it had taken.
    "worker_missing": "start `lapor-gateway worker --queues {queues}` (and read the last log lines of the one that "
                      "stopped: why did it?); one whose process still runs is frozen (stopped, its host paused or "
                      "out of memory): restart it",
    # Said "start a worker" of a worker whose process ran: its runs ended, each told in its log.
    "worker_quitting": "read the worker's log from its first worker.quit_unasked line (the traceback just before it "
                       "says where): a key of another type in Redis (the reason names it and what to do), a command "
                       "this Redis does not know (older than the gateway needs, or renamed), or a bug to report; it "
                       "begins again by itself, and works once that is mended",
    "job_held": "restart the worker the reason names (`py-spy dump --pid <pid>` first shows where it hangs): a live "
                "worker then takes the job back and runs it again",
    "mentions_gap": "search the provider for the account's mentions in that window and file them by hand",
    "mail_failed": "`lapor-gateway email quarantine list` shows the mail; once mended (an upgrade), "
                   "`lapor-gateway email quarantine reprocess` it",
    # An entry that cannot be read back (damaged by hand) no retry files: "retry once mended" alone was no way out.
    "unfiled": "`lapor-gateway unfiled list` shows them; once mended (an upgrade), `lapor-gateway unfiled retry "
               "--all`; one it says cannot be read, `lapor-gateway unfiled drop <key>`",
}


# A forward whose report's envelope is gone (the `unknown` channel's letters): "fix the cause, then requeue" sent it
# round again to the same letter, as nothing a requeue reads can bring the report back.
ENVELOPE_MISSING = "envelope_missing"
ENVELOPE_MISSING_STEP = ("`lapor-gateway deadletters list --channel {channel} --reason envelope_missing` lists them: "
                         "forwards of reports whose envelope is gone from Redis (emptied, restored from an older "
                         "copy?), which a requeue cannot deliver unless the envelope is restored; once looked into, "
                         "`lapor-gateway deadletters purge --all --channel {channel} --reason envelope_missing`")


def next_step(finding: Finding, channel: str, signals: ChannelSignals, queues: Sequence[QueueStats],
              now: float) -> str:
    """What an operator does about a finding, in words to act on at 2 a.m.: the command to run or the setting to
    check. The reasons said what was wrong, and what to do was in the README alone."""
    if finding.rule in ("process_missing", "webhook_missing"):
        command = (WEBHOOK_COMMAND if finding.rule == "webhook_missing"
                   else SERVING_COMMANDS.get(channel, "the process that receives it"))
        # One whose process still runs is frozen: a second one started meets `process.port_in_use` (the worker
        # rule's step says so too).
        return (f"start `{command}` (is its unit running, with a restart policy?) and read its last log lines: "
                "why did it stop? One whose process still runs is frozen (stopped, its host paused or out of "
                "memory): restart it")
    if finding.rule == "intake_refused":
        return REFUSAL_STEPS.get(signals.last_intake_refusal or "", "read the message.rejected log lines: they say "
                                 "why each new report was refused")
    if finding.rule == "auth":
        if (channel, signals.last_auth_refusal) in TOKEN_REFUSAL_STEPS:
            return TOKEN_REFUSAL_STEPS[channel, signals.last_auth_refusal] + POLLERS_RESTART
        setting = TOKEN_SETTINGS.get(channel, "the channel's LAPOR_<PROVIDER>_* setting")
        return (f"the provider refuses our token: renew or fix {setting} (revoked, expired or wrong?), then restart "
                f"`{SERVING_COMMANDS.get(channel, 'the process that polls it')}`")
    if finding.rule == "replies":
        # The failure's dead-letter reason heads its words (`signals.reply_failure`: "x_not_found (message ...")
        reason = (signals.last_reply_error or "").partition(" ")[0].rstrip(":")
        step = reply_step(channel, signals.last_reply_failure, reason)
        if step is not None:
            return step
    if finding.rule == "reply_rate_limited" and signals.last_reply_rate_limit_kind == "usage_cap":
        return USAGE_CAP_WAIT_STEP
    if finding.rule == "signature":
        cause = SIGNATURE_CAUSES.get(channel, "the webhook's secret differs at the provider")
        return f"if these come from the provider, {cause}; if not, someone else is posting to the webhook's URL"
    if finding.rule == "queue_age":
        return _queue_step(finding, queues, signals, now)
    if finding.rule == "deadletters" and signals.last_deadletter_reason == ENVELOPE_MISSING:
        return ENVELOPE_MISSING_STEP.format(channel=channel)
    if finding.rule == "poll_failing" and (signals.last_poll_error or "").startswith(POLLER_CRASHED):
        return POLLER_CRASHED_STEP.format(command=SERVING_COMMANDS.get(channel, "its poller"))
    if finding.rule == "poll_failing" and channel == "email":
        return IMAP_LOGIN_STEP if (signals.last_poll_error or "").startswith(IMAP_LOGIN_REFUSED) else IMAP_POLL_STEP
    if finding.rule == "quiet":
        return (f"nothing arrives: send a test message to the channel, and check that the provider still delivers "
                f"(its webhook or forwarding; for a polled channel, `{SERVING_COMMANDS.get(channel, 'its poller')}`'s "
                "log lines)")
    return NEXT_STEPS.get(finding.rule, "").format(channel=channel, queues=finding.about,
                                                   command=SERVING_COMMANDS.get(channel, "its poller"))


def _queue_step(finding: Finding, queues: Sequence[QueueStats], signals: ChannelSignals, now: float) -> str:
    """A queue whose oldest job waits too long: no worker takes it, or its jobs are retried for a failure to fix."""
    stats = next((q for q in queues if q.name == finding.about), None)
    if stats is None or stats.error is not None:
        return "see the health.queue_unreadable log line: a job there cannot be read"
    if _quitting(stats, signals, now):  # "start a worker", the only step once the age made the channel down
        return NEXT_STEPS["worker_quitting"]
    if stats.workers == 0:
        return f"start `lapor-gateway worker --queues {stats.name}`"
    failure = stats.last_failure or ""
    if failure.startswith("casestore_"):
        # The URL itself where the workers noted it: "LAPOR_CASESTORE_URL" sent the operator to find which value the
        # workers run with, while the page's footer named it.
        where = stats.casestore_url or "the forward workers' LAPOR_CASESTORE_URL"
        if failure == "casestore_timeout":  # it takes connections: "check that it answers" looked for no process
            return (f"{casestore_timeout_step(f'at {where}', stats.casestore_timeout)} (the forward.retry log lines "
                    "have each try); the forwards go by themselves once it answers")
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
    findings = tuple(replace(f, action=next_step(f, channel, signals, queues, now))
                     for f in (rule(signals, queues, rules, now) for rule in RULES) if f is not None)
    if not findings:
        return ChannelHealth(channel, State.OK, "")
    worst = max(SEVERITY[f.state] for f in findings)
    state = next(s for s, level in SEVERITY.items() if level == worst)
    reason = "; ".join(f.reason for f in findings if f.state is state)
    return ChannelHealth(channel, state, reason, findings)
