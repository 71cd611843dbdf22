"""Prometheus metrics, correct across processes.

When PROMETHEUS_MULTIPROC_DIR is set (the supervisor sets it under the data dir), every process writes its
samples there and `/metrics` aggregates them; otherwise the gateway reports its own process only.

A collection reads every family (multiprocess: every process's files), so it is made once per health check:
`collect_metrics()` returns it, the channel counters and gauge values are read from it, and /metrics renders it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# The channels' names, kept apart from the metrics (gateway.channel_names): imported here for the callers that name
# a channel through this module.
from gateway.channel_names import health_channel as health_channel
from gateway.channel_names import reply_source as reply_source

RECEIVED = Counter("lapor_messages_received_total", "Inbound messages received, by channel.", ["channel"])
# A webhook that only notifies of a message (Instagram's mentions) is not the message: the poller that fetches it
# counts it received, so a citizen's mention is received once.
NOTIFICATIONS = Counter(
    "lapor_notifications_received_total", "Webhook notifications of a message a poller fetches, by channel.",
    ["channel"],
)
# Comments under our own Instagram posts (webhook field `comments`) neither filed nor answered: `own` (ours, our
# replies among them) or `not_addressed` (not written to us: "mantap min", emoji). Counted without text or author.
COMMENTS_LEFT_OUT = Counter(
    "lapor_comments_left_out_total", "Comments on our own posts neither filed nor answered, by reason.",
    ["channel", "reason"],
)
UNFILED = Counter("lapor_messages_unfiled_total", "Messages the gateway failed to file, kept for an operator's retry "
                  "(`lapor-gateway unfiled`), by channel.", ["channel"])
ACCEPTED = Counter("lapor_messages_accepted_total", "New reports made durable, by channel.", ["channel"])
DUPLICATES = Counter("lapor_messages_duplicate_total", "Messages recognised as already received.", ["channel"])
REJECTED = Counter("lapor_messages_rejected_total", "Inbound requests rejected, by reason.", ["channel", "reason"])
QUERIES = Counter("lapor_queries_total", "Status, help and other non-report messages.", ["channel", "action"])
FORWARDED = Counter("lapor_reports_forwarded_total", "Reports the case store accepted.", ["channel"])
DEAD_LETTERED = Counter("lapor_deadletters_total", "Jobs moved to the dead-letter registry.", ["queue", "reason"])
REPLIES = Counter("lapor_replies_total", "Replies sent to citizens, by outcome.", ["channel", "outcome"])
# What the provider said became of each SMS part of a reply: a rising `failed` or `rejected` is citizens not getting
# their Tracking ID although the send was accepted (the reply's record has the reply's worst, `delivery`).
DELIVERY_REPORTS = Counter(
    "lapor_delivery_reports_total", "Delivery reports recorded for reply parts, by the part's status.",
    ["channel", "status"],
)
INTAKE_SECONDS = Histogram(
    "lapor_intake_seconds",
    "Time from request to durable acknowledgement.",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CASESTORE_SECONDS = Histogram(
    "lapor_casestore_request_seconds",
    "Case-store request latency.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# A report's files still at its provider, as each try of the forward worker found them (workers/media.py). A held
# try is not a loss (the report waits for another); what reached the case store without its file is counted apart.
ATTACHMENT_FETCHES = Counter(
    "lapor_attachment_fetches_total",
    "Provider-hosted attachments by try outcome: fetched, reused (kept by an earlier try), held (failed, its report "
    "waits for another try) or not_fetched (failed, its report goes without it), and the failure's reason.",
    ["outcome", "reason"],
)
ATTACHMENTS_FORWARDED_NOT_FETCHED = Counter(
    "lapor_attachment_forwarded_not_fetched_total",
    "Attachments the case store took flagged not_fetched (their report went without the file), by channel and reason.",
    ["channel", "reason"],
)
# An anonymous report's files kept by the gateway, as the forward worker cleaned them (workers/image_metadata.py).
ATTACHMENT_METADATA = Counter(
    "lapor_attachment_metadata_total",
    "Anonymous reports' stored files by outcome: removed (a copy without metadata), clean (none to remove), or why the "
    "file was withheld.",
    ["outcome"],
)
SPOOLED = Counter("lapor_spooled_total", "Reports written to the disk spool while Redis was unreachable.")
TRIAGE_SUGGESTIONS = Counter(
    "lapor_triage_suggestions_total", "Reports triaged, by suggested province and topic.", ["province", "topic"]
)
TRIAGE_FAILURES = Counter("lapor_triage_failures_total", "Reports forwarded without triage, by error.", ["error"])
TRIAGE_SECONDS = Histogram(
    "lapor_triage_seconds",
    "Time to triage one report in the forward worker.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 5),
)
# The most recent value, as the other queue gauges: every gateway reads the same queues. With "livemax", the file of
# a gateway that had died (a restart policy's restart: nothing empties the shared directory then, nor marks it dead)
# kept the depth of its last check in the maximum for good, a backlog long drained read as waiting.
QUEUE_DEPTH = Gauge("lapor_queue_depth", "Jobs waiting per queue.", ["queue"], multiprocess_mode="mostrecent")


@dataclass(frozen=True, slots=True)
class CollectedMetrics:
    """Every metric family, collected once. A collection is not cheap (multiprocess, it reads and merges every
    process's files), so the health check derives its counters and gauges from one, and /metrics renders it."""

    families: tuple[Metric, ...]

    def collect(self) -> Iterable[Metric]:
        """The families as a registry yields them, so `generate_latest` renders them without collecting again."""
        return self.families


def collect_metrics(registry: Collector | None = None) -> CollectedMetrics:
    """Collect `registry` once; by default every process's metrics when running multiprocess, else this one's."""
    source = _collecting_registry() if registry is None else registry
    return CollectedMetrics(tuple(source.collect()))


def render_metrics(collected: CollectedMetrics | None = None) -> tuple[bytes, str]:
    """The exposition text for /metrics: of `collected` when given (the health check's), else collected now."""
    return generate_latest(collect_metrics() if collected is None else collected), CONTENT_TYPE_LATEST


# -- Channel health (gateway/health/) ----------------------------------------------------------------------------
# Timestamps take the maximum over every process, living or not: "the last message" is the last one anyone saw.
DEAD_LETTERED_BY_CHANNEL = Counter(
    "lapor_channel_deadletters_total", "Jobs moved to the dead-letter registry, by channel.", ["channel"]
)
LAST_MESSAGE = Gauge(
    "lapor_channel_last_message_timestamp_seconds", "When the channel last received a message (Unix time).",
    ["channel"], multiprocess_mode="max",
)
LAST_POLL_SUCCESS = Gauge(
    "lapor_channel_last_poll_success_timestamp_seconds", "When the channel's poller last succeeded (Unix time).",
    ["channel"], multiprocess_mode="max",
)
SIGNALS_DROPPED = Counter(
    "lapor_health_signals_dropped_total",
    "Health signals a process (gateway, SMTP server) dropped unwritten: too many of its writes were already "
    "waiting on Redis.",
)
CHANNEL_STATE = Gauge(
    "lapor_channel_state", "Channel health: 0 ok, 1 degraded, 2 down (also while Redis does not answer).",
    ["channel"], multiprocess_mode="mostrecent",
)
QUEUE_OLDEST_AGE = Gauge(
    "lapor_queue_oldest_job_age_seconds", "Age of the oldest job waiting (queued or scheduled for retry).",
    ["queue"], multiprocess_mode="mostrecent",
)
QUEUE_WORKERS = Gauge(
    "lapor_queue_workers", "Workers alive and listening on the queue (liveness key fresh).", ["queue"],
    multiprocess_mode="mostrecent",
)
QUEUE_FAILED = Gauge(
    "lapor_queue_failed_jobs", "Jobs set aside in RQ's failed registry: unreadable, in no dead-letter view.",
    ["queue"], multiprocess_mode="mostrecent",
)
# A job a worker took and holds (paused, hung, or killed before a reaper saw it) left the queue: without these it
# showed in no gauge, the queue 0 deep and its oldest age 0.
QUEUE_IN_PROGRESS = Gauge(
    "lapor_queue_in_progress_jobs", "Jobs the queue's workers hold in progress (RQ's started registry).", ["queue"],
    multiprocess_mode="mostrecent",
)
QUEUE_OLDEST_IN_PROGRESS_AGE = Gauge(
    "lapor_queue_oldest_in_progress_seconds", "How long the oldest job held in progress has run (0: none).",
    ["queue"], multiprocess_mode="mostrecent",
)
DEADLETTERS_WAITING = Gauge(
    "lapor_deadletters_waiting", "Dead letters in the registry, waiting for an operator.",
    multiprocess_mode="mostrecent",
)
SPOOL_SIZE = Gauge("lapor_spool_bytes", "Bytes waiting in the disk spool for replay.", multiprocess_mode="mostrecent")
# While Redis does not answer, a scrape cannot read the channels or the queues: lapor_redis_up says why the views are
# DOWN, every channel's state is 2, down, with them (`monitor.REDIS_DOWN_CHANNEL_STATE`), and the queue gauges keep
# their last values (no depth is known then).
# The disk spool takes a file (1) or not (0): with Redis up nothing is refused yet, but /readyz answers 503, and
# the next Redis outage would refuse every report.
SPOOL_WRITABLE = Gauge(
    "lapor_spool_writable", "Whether the disk spool took the health check's latest probe file (1) or not (0).",
    multiprocess_mode="mostrecent",
)
# Spools whose answered reports no replay moved into Redis for 30 s though Redis answers (a file the replayer cannot
# read): how many (hosts); their reports never reach the case store until an operator acts.
SPOOL_REPLAY_STUCK = Gauge(
    "lapor_spool_replay_stuck", "Disk spools holding answered reports not replayed though Redis answers (0: none).",
    multiprocess_mode="mostrecent",
)
# A declared case-store outage (forwards, or CEKs' lookups, failing for 10 s, `casestore.down`): 1 while it lasts.
# Alerting on the channels' state waited for their queue-age rule (5 min, 30 to be down) while no report reached the
# agency.
CASESTORE_OUTAGE = Gauge(
    "lapor_casestore_outage",
    "Whether a case-store outage is declared (1: forwards or CEK lookups have failed for 10 s) or not (0).",
    multiprocess_mode="mostrecent",
)
# The case store refusing the gateway's credentials (a rotated or revoked token: every report dead-lettered at once,
# `casestore_refusing` in /v1/status): 1 while it lasts. No outage is declared then, so lapor_casestore_outage stayed 0.
CASESTORE_REFUSING = Gauge(
    "lapor_casestore_refusing", "Whether the case store refuses the gateway's credentials (1) or not (0).",
    multiprocess_mode="mostrecent",
)
# Redis lost its data under the running processes (`gateway.redis_epoch`: a restart without persistence, a failover
# to an empty replica, a FLUSHDB): 1 for a day after a process noticed, `redis_data_lost` in /v1/status.
REDIS_DATA_LOST = Gauge(
    "lapor_redis_data_lost", "Whether Redis lost its data under the running processes in the last day (1) or not (0).",
    multiprocess_mode="mostrecent",
)
REDIS_UP = Gauge(
    "lapor_redis_up", "Whether Redis answered the gateway's latest health check (1) or not (0).",
    multiprocess_mode="mostrecent",
)
CASESTORE_LATENCY = Gauge(
    "lapor_casestore_latency_seconds", "Duration of the latest case-store request.", multiprocess_mode="mostrecent"
)

# The per-channel counters the status page, `lapor-gateway status` and the heartbeat show, by sample name.
CHANNEL_COUNTER_SAMPLES: dict[str, str] = {
    "lapor_messages_received_total": "received",
    "lapor_messages_accepted_total": "accepted",
    "lapor_messages_duplicate_total": "duplicates",
    "lapor_messages_rejected_total": "rejected",
    "lapor_reports_forwarded_total": "forwarded",
    "lapor_replies_total": "replies",
    "lapor_channel_deadletters_total": "dead_lettered",
    "lapor_attachment_forwarded_not_fetched_total": "attachments_not_fetched",
}
# Counters shown by their `reason` label too, under "<name>_by_reason".
BY_REASON = frozenset({"rejected", "attachments_not_fetched"})


def _collecting_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return DEFAULT_REGISTRY


# Reply outcomes as operators count them: written to the local outbox counts as sent.
# Held by flood control, or left out past an account's or an address's hourly cap (`capped`: another bot answering
# each reply of ours, a mail loop): no answer went (the report was taken); said beside the others, where a citizen
# left unanswered showed on `/metrics` alone and every view read "replies ok" (capped ones too, through a bot's loop).
REPLY_OUTCOMES = {"sent": "replies_sent", "outbox": "replies_sent", "failed": "replies_failed", "held": "replies_held",
                  "capped": "replies_held"}


def channel_counters(collected: CollectedMetrics) -> dict[str, dict[str, Any]]:
    """Counters per channel, summed over every process: received, accepted, duplicates, rejected (by reason),
    forwarded, replies_sent, replies_failed, replies_held, dead_lettered, attachments_not_fetched (by reason: files
    its reports reached the case store without)."""
    counters: dict[str, dict[str, Any]] = {}
    for family in collected.families:
        for sample in family.samples:
            name = CHANNEL_COUNTER_SAMPLES.get(sample.name)
            channel = sample.labels.get("channel")
            if name is None or channel is None:
                continue
            channel = health_channel(channel)
            entry = counters.setdefault(channel, empty_counters())
            if name in BY_REASON:
                reason, by_reason = sample.labels.get("reason", "unknown"), entry[f"{name}_by_reason"]
                by_reason[reason] = by_reason.get(reason, 0) + int(sample.value)
                entry[name] += int(sample.value)
            elif name == "replies":
                key = REPLY_OUTCOMES.get(sample.labels.get("outcome", ""))
                if key is not None:  # skipped on purpose (reply cap, our own address...): neither
                    entry[key] += int(sample.value)
            else:
                entry[name] += int(sample.value)
    return counters


def empty_counters() -> dict[str, Any]:
    """The counters of a channel that has seen nothing yet."""
    return {"received": 0, "accepted": 0, "duplicates": 0, "rejected": 0, "rejected_by_reason": {}, "forwarded": 0,
            "replies_sent": 0, "replies_failed": 0, "replies_held": 0, "dead_lettered": 0, "attachments_not_fetched": 0,
            "attachments_not_fetched_by_reason": {}}


def gauge_value(collected: CollectedMetrics, name: str) -> float | None:
    """The value of an unlabelled gauge, over every process (None when nothing set it yet)."""
    for family in collected.families:
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None
@lru_cache(maxsize=1024)
def labelled(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: on the webhook path the lookup cost as much as the update."""
    return metric.labels(*labels)
