"""Settings: `config/defaults.toml`, then the profile overlay, then `LAPOR_*` environment variables.

Everything a process needs is read once at start-up into one immutable `Settings` object that is passed
explicitly; there is no other global state. Every default lives in `config/defaults.toml` alone: the models below
declare none, so a default cannot say one thing there and another here (a key missing from the file is an error).
"""

from __future__ import annotations

import copy
import difflib
import functools
import ipaddress
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from redis.connection import parse_url

from gateway.localtime import operator_zone
from gateway.tracking import MAX_LENGTH, MIN_LENGTH, format_tracking_id

# The settings that name a port besides its own setting: the URL Twilio signs and the fake provider delivers webhooks
# to, the APIs the pollers ask. Moved alone, every signed webhook was refused, or the pollers asked the old port
# (`process.port_in_use` names them). In the development profile each follows its port (`_follow_moved_ports`).
MOVED_TOGETHER: dict[str, tuple[str, ...]] = {
    "LAPOR_HTTP_PORT": ("LAPOR_PUBLIC_URL",),
    "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT": ("LAPOR_X_BASE_URL", "LAPOR_INSTAGRAM_GRAPH_BASE_URL"),
}
# Where each of them is read: (its section, or None for a top-level key; its key).
_PLACES: dict[str, tuple[str | None, str]] = {
    "LAPOR_HTTP_PORT": ("http", "port"), "LAPOR_PUBLIC_URL": (None, "public_url"),
    "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT": ("social", "fake_providers_port"),
    "LAPOR_X_BASE_URL": ("x", "base_url"), "LAPOR_INSTAGRAM_GRAPH_BASE_URL": ("instagram", "graph_base_url"),
}

# The aggregator's send URL that writes replies to the local outbox instead (channels.sms_aggregator_send).
SMS_OUTBOX_URL = "outbox:"

# The paths the webhook adapters take POSTs at (channels.registry; a test keeps the two the same), which the rate
# limit's path prefix must begin one of. Named here: settings load no channel module.
WEBHOOK_PATHS = ("/v1/channels/sms/twilio", "/v1/channels/sms/aggregator", "/v1/channels/sms/aggregator/dlr",
                 "/v1/channels/instagram/webhook")

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENV_PREFIX = "LAPOR_"


# The [x] keys of OAuth 1.0a User Context, as tweepy.Client names its arguments.
OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


# A TCP port. Unchecked, a listener took 70000 modulo 65536 (4464) or, for 0, a port of the kernel's choosing, and
# logged `<process>.listening` with the port set; a client's 0 (the case store's URL) reached nothing.
Port = Annotated[int, Field(ge=1, le=65535)]

# A rate or an interval that must be a real number above 0: 0 or less polled without a pause (or read nothing). Inf
# and nan are refused for every float setting (`_Section`).
FinitePositive = Annotated[float, Field(gt=0)]


class SettingsError(RuntimeError):
    """A setting is missing or malformed: the process must not start."""


def _http_url(value: str, *, empty: bool = False) -> str:
    """An http:// or https:// URL with a host (`empty`: or nothing). Else each was taken, and failed only where it
    was used: a public URL of "" or "lapor.example" signed every Twilio webhook against the wrong URL (each one 403),
    a case-store URL without its scheme failed every forward job until it was dead-lettered."""
    if empty and value == "":
        return value
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http:// or https:// URL with a host")  # not quoted: it may carry a password
    # As checked: a space around it (an env file's `LAPOR_PUBLIC_URL= https://...`) signed every Twilio webhook
    # against " https://..." (each one 403), and made every forward's request URL one httpx refuses.
    return value.strip()


class _Section(BaseModel):
    # No float setting takes "inf" or "nan": passed as a float, each failed only where it was used (a Redis timeout
    # of inf an OverflowError every second in the spool's replay, a poller's lease of inf a traceback at start).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _split_env_lists(cls, value: Any, info: Any) -> Any:
        field = cls.model_fields.get(info.field_name)
        if isinstance(value, str) and field is not None and "list" in str(field.annotation):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


class HttpSettings(_Section):
    host: str
    port: Port
    max_body_bytes: int = Field(ge=1)  # 0 is no limit at all to aiohttp (a compressed body: always too large)
    body_timeout_seconds: float = Field(gt=0)
    reuse_port: bool


class SmtpSettings(_Section):
    host: str
    port: Port


class CaseStoreSettings(_Section):
    url: str  # empty: http://127.0.0.1:<port>
    token: str
    port: Port
    # httpx's timeout: 0 failed every request at once, below 0 or "inf" raised in every worker.
    timeout_seconds: FinitePositive
    batch: bool
    probe_seconds: float = Field(ge=0)  # 0: never (workers.casestore_probe)
    split_after_timeouts: int = Field(ge=0)  # 0: never (workers.forward.split_timing_out)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, empty=True)


class IntakeSettings(_Section):
    # Redis expiries (EXPIRE): 0 or less deletes the key at once, so nothing was deduped (every retried webhook a new
    # report) and no envelope was kept for follow-ups and replies.
    dedup_ttl_seconds: int = Field(ge=1)
    # A block of 0 leased nothing: every mint an IndexError, and a reserve top-up that never ended; below 0 moved the
    # shared counter back, to numbers already given out.
    id_block_size: int = Field(ge=1)
    id_reserve: int = Field(ge=0)  # 0: none kept (as a process without a spool keeps)
    # With its check digit an ID of MIN_LENGTH..MAX_LENGTH digits, the only ones read back as an ID (a CEK, a
    # follow-up): from 1 it minted IDs such as "13", which no citizen could ask about.
    id_start: int = Field(ge=10 ** (MIN_LENGTH - 2), le=10 ** (MAX_LENGTH - 1) - 1)
    id_end: int = Field(ge=0, le=10 ** (MAX_LENGTH - 1) - 1)  # 0: no end; else not below id_start (below)
    # At most the 1,000 reports the contract's batch endpoint takes (casestore/openapi.yaml, maxItems): a larger
    # batch is refused with 422, and every report of a forward job that size would be dead-lettered.
    max_batch: int = Field(ge=1, le=1000)
    forward_linger_ms: int = Field(ge=0)  # 0: a job per committed batch, at once
    envelope_ttl_seconds: int = Field(ge=1)
    redis_timeout_seconds: float = Field(gt=0)
    # Room for the words of a report and the marker that ends a cut one (normalizer/pipeline.py): below it, a cut
    # text would be mostly marker.
    max_text_chars: int = Field(ge=1000)

    @model_validator(mode="after")
    def _range_ends_after_it_starts(self) -> IntakeSettings:
        if self.id_end and self.id_end < self.id_start:
            raise ValueError(f"intake.id_end (LAPOR_INTAKE_ID_END: {self.id_end}) is below intake.id_start "
                             f"(LAPOR_INTAKE_ID_START: {self.id_start})")
        return self

    @property
    def id_range(self) -> tuple[int, int]:
        """This cell's Tracking-ID sequence numbers (id_start, id_end); id_end 0: no end."""
        return self.id_start, self.id_end

    @property
    def shortest_tracking_id(self) -> int:
        """Digits of the shortest Tracking ID that may have been minted, for the grammar to tell a number in a
        citizen's prose ("500000 diminta petugas") from an ID. Alone, this system mints every ID, the first from
        id_start; with cells (id_end set) another cell's IDs may be shorter, so any ID's shape counts."""
        return MIN_LENGTH if self.id_end else len(format_tracking_id(self.id_start))


class QueueSettings(_Section):
    # RQ's Retry: no interval (max 0) or one below 0 raised ValueError at every enqueue; 0 retries at once.
    retry_intervals: list[Annotated[int, Field(ge=0)]] = Field(min_length=1)
    # RQ refuses a job timeout of 0 at every enqueue; below 0 (RQ's "no timeout") made a send lease of 0 s or less.
    job_timeout_seconds: int = Field(ge=1)
    max_worker_deaths: int = Field(ge=1)
    # How long a reply queued to follow another (a status answer after its "the answer follows") waits for that one
    # to be sent or given up (workers.reply_order); 0: it never waits, and the other is not sent after it.
    reply_order_wait_seconds: float = Field(ge=0)
    # Below the lifetime of a worker's liveness key (workers.reaper.Liveness), which it waits to refresh.
    liveness_timeout_seconds: FinitePositive
    # That lifetime (workers.reaper.Liveness's ttl: 5 s), beaten every fifth of it: at least a second (a lifetime
    # under a millisecond was refused by Redis at every beat, and a beat every few microseconds spun).
    liveness_ttl_seconds: FinitePositive = Field(ge=1)
    # The first wait after a run that quit on an error no waiting ends, doubled at each quit in a row up to a minute
    # (workers.outage.QUIT_LONGEST_WAIT_SECONDS): at most that minute.
    quit_first_wait_seconds: FinitePositive = Field(le=60)
    # RQ's maintenance and the longest wait for a job (workers.run.LaporWorker); RQ counts it in whole seconds.
    maintenance_interval_seconds: int = Field(ge=1)

    @model_validator(mode="after")
    def _beats_wait_less_than_a_lifetime(self) -> QueueSettings:
        if self.liveness_timeout_seconds >= self.liveness_ttl_seconds:
            raise ValueError(f"queues.liveness_timeout_seconds (LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS: "
                             f"{self.liveness_timeout_seconds}) is not below queues.liveness_ttl_seconds "
                             f"(LAPOR_QUEUES_LIVENESS_TTL_SECONDS: {self.liveness_ttl_seconds}): a worker whose beat "
                             "waits that long is taken for dead by the others")
        return self


class PrivacySettings(_Section):
    reply_handle_secret: str


class AttachmentSettings(_Section):
    """Fetching a report's files from its provider (see config/defaults.toml [attachments], workers/media.py), and
    how long the files are kept (workers/retention.py)."""

    fetch_hosts: list[str]
    max_bytes: int = Field(gt=0)
    timeout_seconds: float = Field(gt=0)
    fetch_concurrency: int = Field(ge=1)
    batch_seconds: float = Field(gt=0)
    retry_seconds: float = Field(ge=0)
    retention_days: int = Field(ge=0)  # 0: as long as intake.envelope_ttl_seconds

    @field_validator("fetch_hosts")
    @classmethod
    def _host_entries(cls, value: list[str]) -> list[str]:
        """Each entry a host name, `*.domain` or `host/path/`, checked at start-up: a URL or a port here would match
        nothing, and fetching would stop without a word. A path is a folder, its closing slash added: without it,
        `host/media.twiliocdn.com` also opened the S3 bucket `media.twiliocdn.com.attacker`."""
        entries = []
        for entry in value:
            host, _, path = entry.strip().lower().partition("/")
            if not re.fullmatch(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+", host) or any(c in path for c in "?#%"):
                raise ValueError(f"not a host, *.domain or host/path/: {entry!r}")
            entries.append(f"{host}/{path.rstrip('/')}/" if path.strip("/") else host)
        return entries


class SmsSettings(_Section):
    default_region: str
    short_code: str

    @field_validator("short_code")
    @classmethod
    def _digits(cls, value: str) -> str:
        """The sender (`from`) of every reply SMS through the aggregator: "abc" (or empty) started, and went out as
        it without a word."""
        if not re.fullmatch(r"[0-9]+", value.strip()):
            raise ValueError(f"not a short code of digits: {value!r} (LAPOR! is 1708)")
        return value.strip()

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        """A region phonenumbers knows, checked at start-up: "XX" (or "IDN") started every process healthy, and then
        every sender number written without a country code ("0812...") was refused. Uppercased: "id" is "ID". The
        default is taken as it is, without loading phonenumbers into every process."""
        region = value.strip().upper()
        if region != "ID":
            import phonenumbers

            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"not a two-letter region code phonenumbers knows: {value!r} (Indonesia is ID)")
        return region


class TwilioSettings(_Section):
    enabled: bool
    auth_token: str
    # The other auth token while it is rotated (Twilio's secondary, or the one just replaced): signatures made with
    # it are taken too. Empty: none.
    secondary_auth_token: str
    # The user name of HTTP basic auth on media; empty: the account the media URL names.
    account_sid: str
    # The SharedKey of a Webhooks Rule's Setting that matches our URL (Twilio signs with it then, and says so in
    # X-Twilio-Webhooks-Signature-Settings); empty: no such rule.
    webhook_shared_key: str
    status_inline_timeout_seconds: float = Field(gt=0)
    same_text_window_seconds: int = Field(ge=1)  # as the aggregator's
    # The aggregator's flood control, for the answers in the TwiML (`gateway.outbound.count_message`); 0 held every
    # reply back, as there.
    flood_replies_per_minute: int = Field(ge=1)
    flood_replies_per_hour: int = Field(ge=1)


# The levels `gateway.logs.configure_logging` knows, as the standard library names them (any case; warn and fatal
# too).
LOG_LEVELS = tuple(name.lower() for name in logging.getLevelNamesMapping() if name != "NOTSET")


class LoggingSettings(_Section):
    level: str

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        """Any other name (`verbose`, `warn `, a typo) was logged at info without a word: debug lines asked for at
        2 a.m. never came, and errors-only stayed as chatty as before."""
        if value.strip().lower() not in LOG_LEVELS:
            raise ValueError(f"not a log level: {value!r}; one of {', '.join(LOG_LEVELS)}")
        return value.strip().lower()


class AggregatorSettings(_Section):
    """The SMS 1708 operator aggregator: callback authentication, the send URL, concatenation and flood limits."""

    enabled: bool
    secret: str
    allowlist: list[str]
    send_url: str
    send_username: str
    send_password: str
    # 0 (each meant as "off") broke what it limits: a send rate of 0 failed every reply job (a division by it); a
    # wait of 0 took each part as a message of its own, the parts after it answered as its late parts and lost; a
    # sweep every 0 s spun on Redis; a same-text window of 0 is an expiry Redis refuses, so every report was 503.
    send_rate_per_second: FinitePositive
    send_timeout_seconds: FinitePositive  # httpx's timeout, as casestore.timeout_seconds
    dlr_mask: int = Field(ge=0)  # a bit mask; 0: no delivery reports asked for
    concat_wait_seconds: float = Field(gt=0)
    concat_sweep_seconds: float = Field(gt=0)
    # 0 held every reply back: no citizen was answered.
    flood_replies_per_minute: int = Field(ge=1)
    flood_replies_per_hour: int = Field(ge=1)
    same_text_window_seconds: int = Field(ge=1)
    status_inline_timeout_seconds: float = Field(ge=0)  # 0: every CEK answered by SMS (a status job)

    @field_validator("send_url")
    @classmethod
    def _send_url(cls, value: str) -> str:
        """An http(s) URL, or `outbox:` (the local outbox, as in development); empty: none (a missing secret while
        the channel is on). Else "notaurl" started, even in production, and every reply failed at its send."""
        if value.strip().startswith(SMS_OUTBOX_URL):
            return value.strip()
        try:
            return _http_url(value, empty=True)
        except ValueError:
            raise ValueError(f"not an http:// or https:// URL with a host, nor {SMS_OUTBOX_URL!r} (the local "
                             "outbox)") from None

    @field_validator("allowlist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Each entry an address or CIDR network, checked at start-up rather than at the first request."""
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value


class EmailSettings(_Section):
    """The e-mail channel: SMTP intake, IMAP poller, reply relay (see config/defaults.toml [email])."""

    enabled: bool
    addresses: list[str]
    domains: list[str]
    # 0 is no limit at all to aiosmtpd, while the IMAP poller passed every mail as too large.
    max_message_bytes: int = Field(ge=1)
    max_mime_parts: int = Field(ge=1)
    max_mime_depth: int = Field(ge=1)
    max_header_lines: int = Field(ge=1)
    max_header_bytes: int = Field(ge=1)
    max_mime_field_bytes: int = Field(ge=1024)
    max_address_field_bytes: int = Field(ge=256)
    # 0: no attachment stored (each listed, flagged).
    max_attachment_bytes: int = Field(ge=0)
    max_attachments_bytes: int = Field(ge=0)
    max_attachments: int = Field(ge=0)
    from_address: str
    from_name: str
    message_id_domain: str
    reply_cap_per_hour: int = Field(ge=1)  # 0: no reply ever sent
    same_text_window_seconds: int = Field(ge=1)  # as the SMS channels'
    relay_host: str
    relay_port: Port
    relay_user: str
    relay_password: str
    relay_starttls: bool
    relay_timeout_seconds: FinitePositive  # smtplib's timeout: 0, below 0 or "inf" raised at every reply
    outbox_dir: str
    tls_cert: str
    tls_key: str
    imap_host: str
    imap_port: Port
    imap_ssl: bool
    imap_user: str
    imap_password: str
    imap_folder: str
    imap_interval_seconds: FinitePositive  # 0: the mailbox polled without a pause

    @model_validator(mode="after")
    def _tls_certificate_with_its_key(self) -> EmailSettings:
        """A TLS certificate without its key, or a key without its certificate, must not start. (A relay user without a
        password, or an IMAP host without credentials: `missing_credentials`, named with the other secrets.)"""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("set both LAPOR_EMAIL_TLS_CERT and LAPOR_EMAIL_TLS_KEY, or neither")
        return self

    def missing_credentials(self) -> list[str]:
        """The credentials of what is configured that are not set: a relay user's password, an IMAP host's user and
        password. Raised from the model's validation they stopped the start before the channels' missing secrets
        were looked for, which the next start found: named with them (`_missing_secrets`)."""
        return [name for name, needed in (
            ("LAPOR_EMAIL_RELAY_PASSWORD", bool(self.relay_user) and not self.relay_password),
            ("LAPOR_EMAIL_IMAP_USER", bool(self.imap_host) and not self.imap_user),
            ("LAPOR_EMAIL_IMAP_PASSWORD", bool(self.imap_host) and not self.imap_password),
        ) if needed]


class SocialSettings(_Section):
    report_link: str
    fake_providers_port: Port


class XSettings(_Section):
    enabled: bool
    bearer_token: str
    # An OAuth 2.0 user-context token for replies: X expires it 2 hours after it is issued, and nothing renews it.
    user_access_token: str
    # OAuth 1.0a User Context of @lapor1708 for replies (the app's consumer keys, the account's access token): these
    # do not expire. All four or none (`oauth1`).
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str
    user_id: str
    base_url: str
    # The poller's limits, checked at start-up: a poll of 0 pages asked X for nothing and counted as a good poll (the
    # channel healthy while no mention was read); a lookback below 0 asks only for mentions from the future; an
    # interval or retry of 0 polls X without a pause, into its rate limit.
    poll_interval_seconds: FinitePositive
    max_poll_interval_seconds: FinitePositive
    # What X's GET /2/users/:id/mentions takes (5..100): another value was changed to the nearest without a word.
    max_results: int = Field(ge=5, le=100)
    max_pages: int = Field(ge=1)
    first_poll_lookback_minutes: float = Field(ge=0)
    # How far back before the cursor a poll asks again, for mentions X indexes late (0: none). A day at most: X keeps
    # only the newest ~800 mentions reachable, and the mentions of the window are read again at every poll.
    since_lookback_seconds: float = Field(ge=0, le=86400)
    auth_retry_seconds: FinitePositive
    error_retry_seconds: FinitePositive
    # The longest wait for a 429's x-rate-limit-reset (channels.social.Backoff).
    rate_limit_max_wait_seconds: float = Field(gt=0)
    # 0 or less was taken as 1 without a word.
    reply_rate_per_minute: int = Field(ge=1)
    # A reply rate limited this long after its first attempt is dead-lettered at its next 429 (workers.social_reply).
    reply_rate_limit_max_total_hours: float = Field(gt=0)
    # Public replies to one account within an hour (channels.social): past it, mentions are filed unanswered.
    reply_cap_per_hour: int = Field(ge=1)
    # The same mention from the same account within it is one report (channels.social): as the SMS channels'.
    same_text_window_seconds: int = Field(ge=1)
    quoted_post_max_chars: int = Field(gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @model_validator(mode="after")
    def _poll_interval_within_its_longest(self) -> XSettings:
        if self.max_poll_interval_seconds < self.poll_interval_seconds:
            raise ValueError(f"x.max_poll_interval_seconds (LAPOR_X_MAX_POLL_INTERVAL_SECONDS: "
                             f"{self.max_poll_interval_seconds}) is below x.poll_interval_seconds "
                             f"(LAPOR_X_POLL_INTERVAL_SECONDS: {self.poll_interval_seconds})")
        return self

    @model_validator(mode="after")
    def _oauth1_whole_or_none(self) -> XSettings:
        """Three of the four OAuth 1.0a values sign no request: every reply would be refused, and only then seen."""
        given = {env_name("x", key): bool(getattr(self, key)) for key in OAUTH1_KEYS}
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(name for name, present in given.items() if not present)
            raise ValueError(f"OAuth 1.0a for replies needs all four of {', '.join(given)}, or none; "
                             f"missing: {missing}")
        return self

    @property
    def oauth1(self) -> bool:
        """Whether replies are signed with OAuth 1.0a User Context (all four values set: see the validator)."""
        return bool(self.consumer_key)


class InstagramSettings(_Section):
    enabled: bool
    app_secret: str
    verify_token: str
    access_token: str
    ig_user_id: str
    username: str
    graph_base_url: str
    # As for X: 0 or less walked /tags at every pending tick, or read nothing.
    poll_interval_seconds: FinitePositive
    pending_interval_seconds: FinitePositive
    pending_grace_minutes: float = Field(ge=0)
    pending_retry_seconds: float = Field(gt=0)
    max_pages: int = Field(ge=1)
    page_size: int = Field(ge=1)
    first_poll_lookback_minutes: float = Field(ge=0)
    auth_retry_seconds: FinitePositive
    error_retry_seconds: FinitePositive
    # The longest wait for a rate limit's time to regain access (channels.social.Backoff).
    rate_limit_max_wait_seconds: float = Field(gt=0)
    request_timeout_seconds: FinitePositive
    reply_rate_per_minute: int = Field(ge=1)
    reply_rate_limit_max_total_hours: float = Field(gt=0)
    reply_cap_per_hour: int = Field(ge=1)
    same_text_window_seconds: int = Field(ge=1)  # as for X

    @field_validator("graph_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class PollerSettings(_Section):
    # The lease a poller holds on its account (X user, IG user, IMAP mailbox) while it is the one polling it.
    lease_seconds: float = Field(gt=0)


class HealthSettings(_Section):
    # The rules file, relative to the config directory (or absolute).
    rules_file: str
    # How often the gateway evaluates every channel (and logs changes of state), in seconds: 0 checked every channel
    # without a pause.
    evaluate_seconds: FinitePositive
    # How often the gateway logs a `health.heartbeat` line with the counters, in seconds (0: never).
    heartbeat_seconds: float = Field(ge=0)
    # How often the status page reloads itself, in seconds: 0 reloaded it without a pause.
    page_refresh_seconds: int = Field(ge=1)
    # How long a status view (/status, /v1/status, /metrics) waits for its look at Redis before it answers without
    # it (503, "Redis not answering"), in seconds.
    view_check_seconds: FinitePositive
    # How long an operator's command looks again for a sign of the deployment in a Redis that shows none, in seconds
    # (0: one look).
    deployment_wait_seconds: float = Field(ge=0)
    # How long `lapor-gateway status` looks again for a beat while a process or a worker reads as silent, in seconds
    # (`HealthMonitor.settled_status`): 0 gives its first look.
    status_beats_wait_seconds: float = Field(ge=0)

    def rules_path(self) -> Path:
        path = Path(self.rules_file)
        return path if path.is_absolute() else CONFIG_DIR / path


class TriageSettings(_Section):
    enabled: bool
    training_data: str
    model_dir: str
    duplicate_window_seconds: int = Field(ge=1)  # a Redis expiry, as intake.dedup_ttl_seconds
    # Estimated Jaccard similarities (0..1): above 1 nothing was ever a duplicate, or a campaign.
    duplicate_threshold: float = Field(ge=0, le=1)
    campaign_threshold: float = Field(ge=0, le=1)
    # A report's own sender counts: 1 (or less) made every report a campaign.
    campaign_min_senders: int = Field(ge=2)


class RateLimitSettings(_Section):
    """Per-source token buckets on the webhook endpoints (see gateway/ratelimit.py and config/defaults.toml)."""

    enabled: bool
    # 0 would end every request past the burst in a ZeroDivisionError (500); a burst of 0 refuses every request, and
    # 0 sources remembered forgets each bucket at once, so nothing is ever limited.
    rate_per_second: float = Field(gt=0)
    burst: int = Field(ge=1)
    max_sources: int = Field(ge=1)
    path_prefix: str
    source_header: str

    @field_validator("path_prefix")
    @classmethod
    def _a_webhook_path_prefix(cls, value: str) -> str:
        """A prefix no webhook path begins ("nope", "v1/channels/") turned the limit off without a word."""
        if not any(path.startswith(value) for path in WEBHOOK_PATHS):
            raise ValueError(f"{value!r} begins no webhook path: one of {', '.join(WEBHOOK_PATHS)} begins with it "
                             "(the default, /v1/channels/, takes them all)")
        return value


# Never the URL itself, nor a piece of it: it carries the password.
REDIS_URL_UNREADABLE = (
    "cannot be read as redis://[[user]:password@]host[:port][/database] (or rediss://, unix://path?db=N): "
    "percent-encode any of / # ? @ % in the password (/ is %2F), and give the database as a number"
)


class Settings(_Section):
    profile: Literal["production", "development"]
    data_dir: Path
    public_url: str
    redis_url: str
    operator_timezone: str
    # How long an operator's command (deadletters, unfiled, attachments, quarantine reprocess) waits for Redis.
    operator_redis_timeout_seconds: FinitePositive
    http: HttpSettings
    smtp: SmtpSettings
    casestore: CaseStoreSettings
    intake: IntakeSettings
    queues: QueueSettings
    privacy: PrivacySettings
    attachments: AttachmentSettings
    sms: SmsSettings
    twilio: TwilioSettings
    logging: LoggingSettings
    aggregator: AggregatorSettings
    email: EmailSettings
    social: SocialSettings
    x: XSettings
    instagram: InstagramSettings
    pollers: PollerSettings
    health: HealthSettings
    triage: TriageSettings
    ratelimit: RateLimitSettings

    @field_validator("data_dir", mode="before")
    @classmethod
    def _a_directory(cls, value: Any) -> Any:
        """Empty, it was the directory the command ran from (its spool, files and SQLite there); a file there ended
        `casestore`, `triage train` and more on a traceback (FileExistsError, NotADirectoryError)."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("empty: set the directory the gateway keeps its files in (./var by default)")
        if isinstance(value, str | Path) and Path(value).exists() and not Path(value).is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("operator_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA zone zoneinfo finds (on the system or in the tzdata package), checked at start-up: a typo was
        found only when a view was rendered, in the night."""
        return operator_zone(value).key

    @field_validator("redis_url")
    @classmethod
    def _readable_redis_url(cls, url: str) -> str:
        """Read as every process will read it, at start and without quoting it: redis-py's own error quoted what it
        took for the port, which in a password with "/", "#" or "?" written as it is was the password's first part,
        on a traceback in every process's log. Where that part was digits it connected to localhost on them, and a
        database that is no number was database 0, without a word."""
        if not url:
            return url
        try:
            parse_url(url)
            parts = urlsplit(url)
        except ValueError:
            raise ValueError(REDIS_URL_UNREADABLE) from None
        if parts.scheme in ("redis", "rediss") and (not parts.hostname or parts.fragment
                                                     or not re.fullmatch(r"/?\d*", parts.path)):
            raise ValueError(REDIS_URL_UNREADABLE)
        return url

    @property
    def casestore_url(self) -> str:
        return self.casestore.url or f"http://127.0.0.1:{self.casestore.port}"

    @property
    def own_hosts(self) -> tuple[str, ...]:
        """The hosts of the deployment's own endpoints as configured: where it listens, its public URL, the case store,
        Redis, the X and Graph API base URLs, the aggregator's send URL, the mail relay and the IMAP server (Twilio's
        API has no setting: api.twilio.com). The log and view redaction keeps them whole in free text
        (`gateway.logs.configure_logging`): configuration, not a citizen's details. A URL's host alone, never its
        user or password."""
        urls = (self.public_url, self.casestore_url, self.redis_url, self.x.base_url, self.instagram.graph_base_url,
                self.aggregator.send_url)
        hosts = [self.http.host, self.smtp.host, self.email.relay_host, self.email.imap_host]
        for url in urls:
            try:
                hosts.append(urlsplit(url.strip()).hostname or "")
            except ValueError:  # a send URL unchecked here ("outbox:" has no host, which is none)
                continue
        return tuple(dict.fromkeys(host.strip() for host in hosts if host and host.strip()))

    @property
    def operator_zone(self) -> ZoneInfo:
        """The zone the human views add the local time in (`gateway.localtime`); ZoneInfo keeps one per name."""
        return operator_zone(self.operator_timezone)

    @property
    def is_development(self) -> bool:
        return self.profile == "development"


# The models of the sections, by their names in the files.
_SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)}


# (section, key, environment variable) of every secret an enabled channel cannot run without.
REQUIRED_SECRETS: tuple[tuple[str, str, str], ...] = (
    ("privacy", "reply_handle_secret", "LAPOR_PRIVACY_REPLY_HANDLE_SECRET"),
    ("casestore", "token", "LAPOR_CASESTORE_TOKEN"),
    ("twilio", "auth_token", "LAPOR_TWILIO_AUTH_TOKEN"),
    ("aggregator", "secret", "LAPOR_AGGREGATOR_SECRET"),
    ("aggregator", "send_url", "LAPOR_AGGREGATOR_SEND_URL"),
    ("x", "bearer_token", "LAPOR_X_BEARER_TOKEN"),
    ("x", "user_id", "LAPOR_X_USER_ID"),
    ("instagram", "app_secret", "LAPOR_INSTAGRAM_APP_SECRET"),
    ("instagram", "verify_token", "LAPOR_INSTAGRAM_VERIFY_TOKEN"),
    ("instagram", "access_token", "LAPOR_INSTAGRAM_ACCESS_TOKEN"),
    ("instagram", "ig_user_id", "LAPOR_INSTAGRAM_IG_USER_ID"),
)


def _read_toml(path: Path) -> dict[str, Any]:
    """A configuration file, or a SettingsError naming it and where it cannot be read: a syntax error in it ended
    every command and process on a TOMLDecodeError traceback that named no file. Read each time (an edited file is
    read as it is now); parsed once per content (`_parsed_toml`): parsing defaults.toml took 2 ms, and a process
    that builds its settings again and again (the tests: thousands of times) spent most of that time there."""
    try:
        content = path.read_bytes()
        return copy.deepcopy(_parsed_toml(content))  # a copy: the callers merge into what they get
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}: mend it (or restore it from the release)") from None
    except UnicodeDecodeError as error:  # an editor's Latin-1 save: a traceback that named no file
        raise SettingsError(f"{path} is not UTF-8 text (at byte {error.start}): save it as UTF-8") from None
    except OSError as error:
        raise SettingsError(f"{path} cannot be read: {error.strerror or type(error).__name__}") from None


@functools.lru_cache(maxsize=16)
def _parsed_toml(content: bytes) -> dict[str, Any]:
    return tomllib.loads(content.decode())


def _merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def env_name(section: str | None, key: str) -> str:
    """The environment variable that overrides `[section] key` (or a top-level key)."""
    if section is None:
        return f"{ENV_PREFIX}{key.upper()}"
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    result = dict(raw)
    for key, value in raw.items():
        if isinstance(value, dict):
            section = dict(value)
            for sub_key in value:
                name = env_name(key, sub_key)
                if name in environ:
                    section[sub_key] = environ[name]
            result[key] = section
        elif env_name(None, key) in environ:
            result[key] = environ[env_name(None, key)]
    if environ.get("REDIS_URL"):
        result["redis_url"] = environ["REDIS_URL"]
    return result


def _missing_secrets(settings: Settings) -> str | None:
    missing = [
        variable
        for section, key, variable in REQUIRED_SECRETS
        if getattr(getattr(settings, section), "enabled", True) and not getattr(getattr(settings, section), key)
    ] + settings.email.missing_credentials()
    if not missing:
        return None
    return ("missing secret(s) for enabled channels: " + ", ".join(missing)
            + " (set them in the environment, disable the channel, or use LAPOR_PROFILE=development)")


def _reply_route_missing(settings: Settings) -> str | None:
    """In production an enabled e-mail channel needs a way out for its replies: without a relay they were written to
    the outbox under the data dir, counted as sent, and no citizen got one. A pickup directory another mailer sends
    from is a choice made by naming it (`email.outbox_dir`); the development profile's local outbox is its own."""
    email = settings.email
    if settings.profile == "production" and email.enabled and not email.relay_host and not email.outbox_dir:
        return ("e-mail replies have no way out: set LAPOR_EMAIL_RELAY_HOST (the SMTP relay they go through), or "
                "LAPOR_EMAIL_OUTBOX_DIR (a pickup directory another mailer sends from), or LAPOR_EMAIL_ENABLED=false")
    return None


def settings_warnings(settings: Settings) -> list[str]:
    """Settings that start but fail later, each as one line for the operator (names only: never a value). Every
    command says them on stderr at start, as it does the variables that name no setting.

    X replies without OAuth 1.0a go with an OAuth 2.0 token: a user-context one, which X expires 2 hours after it is
    issued (nothing here renews it), or the bearer token, which cannot post at all when it is app-only. Either way
    every reply is refused with 401 sooner or later, dead-lettered and counted as the channel's authentication
    failure."""
    found = []
    x = settings.x
    if x.enabled and not x.oauth1:
        used = ("LAPOR_X_USER_ACCESS_TOKEN, an OAuth 2.0 user token that X expires 2 hours after it is issued "
                "(nothing renews it)" if x.user_access_token else
                "LAPOR_X_BEARER_TOKEN (an app-only bearer token cannot post; an OAuth 2.0 user token expires in "
                "2 hours)")
        found.append(f"X replies are posted with {used}: set {', '.join(env_name('x', key) for key in OAUTH1_KEYS)} "
                     "(OAuth 1.0a User Context of the account, which does not expire)")
    if x.enabled and x.oauth1 and (owner := _access_token_owner(x.access_token)) and owner != x.user_id.strip():
        found.append(f"{env_name('x', 'access_token')} belongs to another account than {env_name('x', 'user_id')}: "
                     "every reply would be posted by that account, X would name the account polled in it, and the "
                     "poller would take each reply for a citizen's mention and answer it, again and again; generate "
                     "the access token signed in as the account polled")
    return found


def _access_token_owner(token: str) -> str | None:
    """The user id an OAuth 1.0a access token is X's for (`<user id>-<secret part>`); None for a token of another
    shape."""
    owner, dash, _ = token.strip().partition("-")
    return owner if dash and owner.isdigit() else None


def unknown_variables(environ: Mapping[str, str] | None = None,
                      config_dir: Path | None = None) -> list[tuple[str, str | None]]:
    """`LAPOR_*` variables that name no setting, each with the closest one's name (or None). Such a variable is
    ignored, so a misspelt override (`LAPOR_ATTACHMENTS_FETCH_BATCH_SECONDS` for `LAPOR_ATTACHMENTS_BATCH_SECONDS`,
    `LAPOR_HTTP_HOSTS`) left the default in force without a word: the processes say so at start."""
    environ = os.environ if environ is None else environ
    raw = _read_toml((CONFIG_DIR if config_dir is None else config_dir) / "defaults.toml")
    known = {env_name(section, key) for section, value in raw.items() if isinstance(value, dict) for key in value}
    known |= {env_name(None, key) for key, value in raw.items() if not isinstance(value, dict)}
    return [(name, next(iter(difflib.get_close_matches(name, known, n=1, cutoff=0.8)), None))
            for name in sorted(environ) if name.startswith(ENV_PREFIX) and name not in known]


def _where(loc: tuple[int | str, ...]) -> str:
    """A refused value's place: `x.max_pages (LAPOR_X_MAX_PAGES)`, the variable an operator sets it with."""
    path = ".".join(str(part) for part in loc)
    if loc == ("redis_url",):
        return f"{path} (REDIS_URL)"
    if len(loc) >= 2 and all(isinstance(part, str) for part in loc[:2]):  # an item of a list: queues.retry_intervals.2
        return f"{path} ({env_name(str(loc[0]), str(loc[1]))})"
    if len(loc) == 1 and isinstance(loc[0], str) and loc[0] in _SECTIONS:  # a section's own check: it names its
        return path  # variables itself ("set both LAPOR_EMAIL_TLS_CERT and ..."); LAPOR_EMAIL is none
    if len(loc) == 1 and isinstance(loc[0], str):  # a top-level key: `profile (LAPOR_PROFILE)`, as a section's
        return f"{path} ({env_name(None, loc[0])})"
    return path


def _unknown_key(loc: tuple[int | str, ...], files: list[tuple[Path, dict[str, Any]]]) -> str:
    """A section or key of a configuration file that no setting reads, with the file it is in (the environment
    sets only known keys): named as a variable, `htp (LAPOR_HTP): Extra inputs are not permitted` sent the operator
    looking for a variable nobody set."""
    names = [str(part) for part in loc]
    found = [(path, held) for path, data in reversed(files) if (held := _held(data, names)) is not _ABSENT]
    place = f"{found[0][0]}: " if found else ""
    if len(names) == 1 and found and isinstance(found[0][1], dict):
        close = difflib.get_close_matches(names[0], list(_SECTIONS), n=1, cutoff=0.6)
        hint = f" (did you mean [{close[0]}]?)" if close else ""
        return f"{place}section [{names[0]}] is unknown: no setting is read from it{hint}"
    section = _SECTIONS.get(names[0]) if len(names) == 2 else None
    close = difflib.get_close_matches(names[-1], list((section or Settings).model_fields), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    key = f"[{names[0]}] {names[1]}" if len(names) == 2 else names[0]
    return f"{place}{key} is unknown: no setting reads it{hint}"


_ABSENT = object()


def _held(data: Any, names: list[str]) -> Any:
    """What `data` holds at the key path `names`, or _ABSENT."""
    for name in names:
        if not isinstance(data, Mapping) or name not in data:
            return _ABSENT
        data = data[name]
    return data


def _on_this_machine(url: str, port: int) -> bool:
    """Whether `url` names `port` (written out) of this machine's loopback: the URL of a process `make run` starts."""
    try:
        parts = urlsplit(str(url).strip())
        if parts.port != port or not parts.hostname:
            return False
    except ValueError:  # no URL, or a port that is none: its own check says so
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _read(raw: Mapping[str, Any], name: str) -> Any:
    section, key = _PLACES[name]
    return raw.get(key) if section is None else raw.get(section, {}).get(key)


def _follow_moved_ports(configured: dict[str, Any], raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """`raw` (the configuration files' values, `configured`, with the environment's) with each setting of
    MOVED_TOGETHER moved to its port where the environment moved the port and set that setting not: the development
    profile's URLs of its own processes (`make run`). A gateway moved with LAPOR_HTTP_PORT alone checked every
    Twilio signature over the old port's public URL (each SMS refused 403), and the pollers asked the old port.
    Only a URL that names the port as configured, on loopback: one set otherwise is no URL of these processes."""
    result = {key: dict(value) if isinstance(value, dict) else value for key, value in raw.items()}
    for port_name, followers in MOVED_TOGETHER.items():
        old, new = _read(configured, port_name), str(_read(raw, port_name)).strip()
        if port_name not in environ or not new.isdigit() or not 1 <= int(new) <= 65535 or int(new) == old:
            continue
        for name in followers:
            url = _read(raw, name)
            if name in environ or not isinstance(url, str) or not _on_this_machine(url, old):
                continue
            parts = urlsplit(url.strip())
            host, _, _ = parts.netloc.rpartition(":")
            section, key = _PLACES[name]
            (result if section is None else result[section])[key] = parts._replace(netloc=f"{host}:{new}").geturl()
    return result


def port_holder(port: int) -> str:
    """What `process.port_in_use` says of finding the process that holds `port`, in every process's line and in
    `make run`'s: the port was named and the operator left to find its holder."""
    return f"`ss -ltnp 'sport = :{port}'` names the one listening (as root for another user's)"


def moved_with(port_name: str, settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """What `process.port_in_use` adds to "move this one with `port_name`": the settings to move with it (all of
    MOVED_TOGETHER's in production, where the public URL is the real public address; in development those set
    in the environment, or naming no port of this machine's), and those that follow it (development)."""
    environ = os.environ if environ is None else environ
    names, values = MOVED_TOGETHER.get(port_name, ()), settings.model_dump()
    follow = [name for name in names if _follows(settings, values, name, port_name, environ)]
    moved = [name for name in names if name not in follow]
    return ((f" together with {' and '.join(moved)}" if moved else "")
            + (f" ({' and '.join(follow)} {'follows' if len(follow) == 1 else 'follow'} it)" if follow else ""))


def followed_ports(settings: Settings, environ: Mapping[str, str] | None = None) -> list[tuple[str, str, int]]:
    """(setting, the port setting it follows, the port) of each URL the development profile moved with a port the
    environment set (`_follow_moved_ports`): `make run` says so at start, as a moved public URL is what Twilio
    must sign."""
    environ = os.environ if environ is None else environ
    values = settings.model_dump()
    return [(name, port_name, _read(values, port_name)) for port_name, names in MOVED_TOGETHER.items()
            if port_name in environ for name in names if _follows(settings, values, name, port_name, environ)]


def _follows(settings: Settings, values: Mapping[str, Any], name: str, port_name: str,
             environ: Mapping[str, str]) -> bool:
    """Whether the setting `name` follows its port `port_name` (`_follow_moved_ports`): in development, not set in
    the environment, and a URL of this machine at that port."""
    return settings.is_development and name not in environ and _on_this_machine(_read(values, name),
                                                                                 _read(values, port_name))


def load_settings(environ: Mapping[str, str] | None = None, config_dir: Path | None = None) -> Settings:
    """Build the settings for this process (from `config_dir`, by default CONFIG_DIR); raises SettingsError naming what
    is wrong."""
    environ = os.environ if environ is None else environ
    config_dir = CONFIG_DIR if config_dir is None else config_dir
    raw = _read_toml(config_dir / "defaults.toml")
    files = [(config_dir / "defaults.toml", raw)]
    profile = environ.get(env_name(None, "profile"), raw.get("profile", "production"))
    if profile == "development":
        files.append((config_dir / "development.toml", _read_toml(config_dir / "development.toml")))
        raw = _merge(raw, files[-1][1])
    configured, raw = raw, _apply_environment(raw, environ)
    if profile == "development":
        raw = _follow_moved_ports(configured, raw, environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(_unknown_key(item["loc"], files) if item["type"] == "extra_forbidden"
                             else f"{_where(item['loc'])}: {item['msg']}" for item in error.errors())
        raise SettingsError(f"invalid settings: {problems}") from None
    # Every such problem at once: one at a time, a deployment found the relay missing only once the secrets were set.
    problems = [problem for problem in (_missing_secrets(settings), _reply_route_missing(settings)) if problem]
    if problems:
        raise SettingsError("; ".join(problems))
    return settings
