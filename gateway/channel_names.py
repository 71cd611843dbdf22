"""The names a channel goes by: the sources (adapters) that receive and answer its messages, and the one name the
status views, the health rules, the metrics' views and the log lines give it (config/health.toml's).

Apart from `gateway.metrics`, which imports prometheus_client (it reads PROMETHEUS_MULTIPROC_DIR as it is imported,
and the CLI sets that only once it runs), so that `gateway.logs` can name a line's channel as the views do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Sources (adapter names) whose health shows under another channel name of config/health.toml.
HEALTH_CHANNEL_OF_SOURCE = {
    "x-mentions": "x", "x-reply": "x", "twitter": "x", "twitter-reply": "x", "instagram-reply": "instagram",
    "email-smtp": "email", "email-imap": "email", "email-reply": "email",
    "email-quarantine": "email",  # `lapor-gateway email quarantine reprocess`
}


def health_channel(source: str) -> str:
    """The health channel a source reports to (`x-mentions` -> `x`, `email-imap` -> `email`)."""
    return HEALTH_CHANNEL_OF_SOURCE.get(source, source)


def report_source(envelope: Mapping[str, Any]) -> str:
    """The adapter a report came through (`sms-twilio`), as the metrics and the log lines name its channel: its
    envelope's `source`, or its `channel` where it has none."""
    return str(envelope.get("source") or envelope.get("channel", "unknown"))


def reply_source(channel: str) -> str:
    """What operators see a channel's replies as (logs, dead letters): `x-reply` for the envelope's `twitter`,
    as the status views name the channel `x` and the README names its dead letters."""
    return f"{health_channel(channel)}-reply"
