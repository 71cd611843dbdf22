"""The one list of the webhook adapters. A new provider's module and its line here are what the gateway routes,
answers, counts and watches it from; the rest goes in other files by hand (its settings section and secrets, its
health rules, its documented routes, its tests, and if its replies go out later, through the reply worker, its sender
in `channels.reply_senders`, which loads no adapter): README "Adding a channel" lists every file it touches.

What the gateway knows of a channel it reads from here: the webhook routes (`gateway.app`), the channels the beat of
`lapor-gateway serve` names (`served_channels`, `notified_channels`), which channels are switched off in settings
(`disabled_channels`, for the health rules), which channel's webhook a path the rate limit refused is
(`webhook_channels`), and the channel names an operator's dead-letter filter takes (`channel_names`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from channels.base import WebhookAdapter
from channels.instagram import InstagramWebhookAdapter
from channels.sms_aggregator import AggregatorSmsAdapter
from channels.twilio_sms import TwilioSmsAdapter
from gateway.settings import Settings
from normalizer.inbound import InboundMessage

WEBHOOK_ADAPTERS: dict[str, type[WebhookAdapter]] = {
    TwilioSmsAdapter.name: TwilioSmsAdapter,
    AggregatorSmsAdapter.name: AggregatorSmsAdapter,
    InstagramWebhookAdapter.name: InstagramWebhookAdapter,
}


# The channels a process of their own receives (the SMTP server and IMAP poller, the pollers), by their health names,
# each switched on and off by the settings section of that name.
OWN_PROCESS_CHANNELS = ("email", "x", "instagram")


# The polled channels' modules, by health name: each has the `reply_target` its poller files mentions with, which an
# operator's retry of an unfiled message (`lapor-gateway unfiled retry`) files it with too.
POLLED_CHANNEL_MODULES = {"x": "channels.x_mentions", "instagram": "channels.instagram_graph"}


def polled_reply_target(channel: str) -> Callable[[InboundMessage], dict[str, str]]:
    """Where a polled channel's public answer to a message goes; loaded on demand (X's loads tweepy)."""
    return importlib.import_module(POLLED_CHANNEL_MODULES[channel]).reply_target  # type: ignore[no-any-return]


def channel_names() -> tuple[str, ...]:
    """Every channel by the name the status views give it (webhook adapters first), once each: what an operator's
    `deadletters --channel` may name, so a misspelt one is refused rather than matching nothing."""
    return tuple(dict.fromkeys((*WEBHOOK_ADAPTERS, *OWN_PROCESS_CHANNELS)))


def _enabled(settings: Settings, section: str) -> bool:
    return bool(getattr(getattr(settings, section), "enabled", True))


def enabled_webhook_adapters(settings: Settings) -> list[WebhookAdapter]:
    return [adapter_class(settings) for adapter_class in WEBHOOK_ADAPTERS.values()
            if _enabled(settings, adapter_class.settings_section)]


def served_channels(adapters: Sequence[WebhookAdapter]) -> list[str]:
    """The channels whose messages the HTTP gateway (`lapor-gateway serve`) receives itself, which its beat names
    (`gateway.app`; the tests' beat of that process too): not those its webhooks only notify of (Instagram's: the
    pollers process fetches the message, and its beat is the one that says the channel is served; the gateway beats
    for their webhook apart, `notified_channels`)."""
    return [adapter.name for adapter in adapters if not adapter.notifies_only]


def notified_channels(adapters: Sequence[WebhookAdapter]) -> list[str]:
    """The channels whose webhook the HTTP gateway answers while another process fetches their messages
    (Instagram's): its beat for them says the webhook is answered (health rule webhook_missing), the pollers' that
    they are fetched."""
    return [adapter.name for adapter in adapters if adapter.notifies_only]


def webhook_channels(adapters: Sequence[WebhookAdapter]) -> dict[str, str]:
    """Each path the adapters take POSTs at (a webhook's, a delivery report's), as its route names it, mapped to the
    channel it is of: whose webhooks the gateway's own rate limit refused (`gateway.ratelimit`, health rule
    `throttled`)."""
    paths = {adapter.path: adapter.name for adapter in adapters}
    paths.update((adapter.dlr_path, adapter.name) for adapter in adapters if adapter.dlr_path)
    return paths


def disabled_channels(settings: Settings) -> frozenset[str]:
    """The watched channels switched off in settings, by their health names: nothing is meant to receive them, so
    the pollers process idling for `x`, or `lapor-gateway smtp` idling with e-mail off, is not a missing process.
    A webhook adapter counts by its `name` and `settings_section`: a new one needs no line here."""
    sections = {adapter_class.name: adapter_class.settings_section for adapter_class in WEBHOOK_ADAPTERS.values()}
    sections.update((channel, channel) for channel in OWN_PROCESS_CHANNELS)
    return frozenset(channel for channel, section in sections.items() if not _enabled(settings, section))
