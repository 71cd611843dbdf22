"""What registering a webhook adapter in `channels.registry` brings along, checked for every registered adapter.

The gateway routes a new provider, counts it, switches it off and checks its signatures from its module and its line
in the registry. What the code cannot derive goes in other files by hand (README "Adding a channel" lists them all);
of those, what a test can check is named here, so that a forgotten piece fails a test instead of going unseen: its
typed settings section, its channel on the status views, its documented routes, the process receiving it and the
queues its channel's health watches (`config/health.toml`), for a provider answered in its webhook's response the
CEK's `status_inline_timeout_seconds`, and, for a provider whose replies go out later, its reply sender in
`channels.reply_senders` with its limits.
"""

from __future__ import annotations

import sys
import tomllib

import pytest
import yaml

from channels.base import WebhookAdapter
from channels.registry import WEBHOOK_ADAPTERS, webhook_channels
from channels.reply_senders import REPLY_SENDERS, ReplySenderEntry
from channels.sms_aggregator_send import AggregatorSender
from channels.twilio_sms import TwilioSmsAdapter
from gateway.app import OPENAPI_PATH
from gateway.health.rules import load_rules
from gateway.queues import REPLY_QUEUE, STATUS_QUEUE
from gateway.settings import CONFIG_DIR, WEBHOOK_PATHS, Settings
from tests.conftest import serve_channels

HEALTH_CHANNELS = tomllib.loads((CONFIG_DIR / "health.toml").read_text())["channels"]
HEALTH_RULES = load_rules(CONFIG_DIR / "health.toml")
DEFAULTS = tomllib.loads((CONFIG_DIR / "defaults.toml").read_text())
DOCUMENTED_PATHS = set(yaml.safe_load(OPENAPI_PATH.read_text())["paths"])
# What the reply worker and gateway.outbound read from a reply sender's section (channels.reply_senders).
REPLY_LIMITS = ("send_rate_per_second", "flood_replies_per_minute", "flood_replies_per_hour",
                "status_inline_timeout_seconds")
# What gateway.app reads from the section of a provider answered in its webhook's response (Twilio's TwiML).
INLINE_LIMITS = ("status_inline_timeout_seconds", "flood_replies_per_minute", "flood_replies_per_hour")


def missing(adapter: type[WebhookAdapter]) -> list[str]:
    """What the adapter lacks outside its own module (nothing, for one properly added)."""
    gaps = []
    if adapter.settings_section not in Settings.model_fields:
        gaps.append(f"gateway/settings.py: no [{adapter.settings_section}] section in Settings")
    elif "enabled" not in DEFAULTS.get(adapter.settings_section, {}):
        gaps.append(f"config/defaults.toml: [{adapter.settings_section}] has no `enabled`")
    if adapter.name not in HEALTH_CHANNELS:
        gaps.append(f"config/health.toml: {adapter.name!r} not in `channels`")
    elif not HEALTH_RULES.for_channel(adapter.name).process_missing_down_seconds:
        gaps.append(f"config/health.toml: [channel.{adapter.name}] has no process_missing_down_seconds "
                    "(and serving_process)")
    for path in (adapter.path, getattr(adapter, "dlr_path", None)):
        if path and path not in DOCUMENTED_PATHS:
            gaps.append(f"gateway/openapi.yaml: {path} not documented")
    if adapter.same_text_window and "same_text_window_seconds" not in DEFAULTS.get(adapter.settings_section, {}):
        gaps.append(f"config/defaults.toml: [{adapter.settings_section}] has no same_text_window_seconds")
    if adapter.outbound_replies:
        gaps += _reply_sender_gaps(adapter)
    elif not adapter.notifies_only:
        gaps += _inline_answer_gaps(adapter)
    return gaps


class _Unwatched(WebhookAdapter):
    """Instagram's webhook as a channel of its own, named in the health rules' `channels` and nothing more: with
    every gateway process dead its webhooks went unanswered, and no rule said so (the process rule is off by default).
    """

    name = "unwatched"
    path = "/v1/channels/instagram/webhook"
    settings_section = "instagram"
    notifies_only = True


def _inline_answer_gaps(adapter: type[WebhookAdapter]) -> list[str]:
    """An adapter answered in its webhook's response (Twilio's TwiML): a CEK waits its section's
    `status_inline_timeout_seconds` for the case store (gateway/app.py), its answers are held back past its
    `flood_replies_per_minute`, and it queues no reply job, so the reply queue is no queue of its channel. Without
    the keys, every CEK (or every message answered) it took raised AttributeError in the gateway; watching the reply
    queue, its channel went degraded whenever no reply worker ran, every citizen of it answered."""
    gaps, section = [], DEFAULTS.get(adapter.settings_section)
    lacking = [key for key in INLINE_LIMITS if section is not None and key not in section]
    if lacking:
        gaps.append(f"config/defaults.toml: [{adapter.settings_section}] has no {', '.join(lacking)}")
    if adapter.name in HEALTH_CHANNELS and REPLY_QUEUE in HEALTH_RULES.for_channel(adapter.name).queues:
        gaps.append(f"config/health.toml: [channel.{adapter.name}] watches {REPLY_QUEUE}, which it queues nothing on")
    return gaps


def _reply_sender_gaps(adapter: type[WebhookAdapter]) -> list[str]:
    sender = REPLY_SENDERS.get(adapter.name)
    if sender is None:
        return [f"channels/reply_senders.py: no reply sender for {adapter.name!r}"]
    if sender.settings_section != adapter.settings_section:
        return [f"channels/reply_senders.py: {adapter.name!r} reads [{sender.settings_section}], "
                f"its adapter [{adapter.settings_section}]"]
    lacking = [key for key in REPLY_LIMITS if key not in DEFAULTS.get(adapter.settings_section, {})]
    gaps = [f"config/defaults.toml: [{adapter.settings_section}] has no {', '.join(lacking)}"] if lacking else []
    if adapter.name in HEALTH_CHANNELS:
        unwatched = [name for name in (REPLY_QUEUE, STATUS_QUEUE)
                     if name not in HEALTH_RULES.for_channel(adapter.name).queues]
        if unwatched:
            gaps.append(f"config/health.toml: [channel.{adapter.name}] does not watch {', '.join(unwatched)}")
    return gaps


@pytest.mark.parametrize("adapter", list(WEBHOOK_ADAPTERS.values()), ids=list(WEBHOOK_ADAPTERS))
def test_a_registered_adapter_has_its_settings_its_health_channel_and_its_documented_routes(
        adapter: type[WebhookAdapter]) -> None:
    assert missing(adapter) == []


def test_the_names_are_the_registry_keys_and_the_paths_are_distinct() -> None:
    assert all(name == adapter.name for name, adapter in WEBHOOK_ADAPTERS.items())
    paths = [adapter.path for adapter in WEBHOOK_ADAPTERS.values()]
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize(("path", "channel"), [
    ("/v1/channels/sms/twilio", "sms-twilio"),
    ("/v1/channels/sms/aggregator", "sms-aggregator"),
    ("/v1/channels/sms/aggregator/dlr", "sms-aggregator"),  # a delivery report refused is the aggregator's too
    ("/v1/channels/instagram/webhook", "instagram"),
])
def test_every_path_the_rate_limit_refuses_on_is_a_channels(path: str, channel: str) -> None:
    """The health rule `throttled` names the channel whose webhooks our own rate limit refused, by the route it
    refused a request on: every path the limit may take (WEBHOOK_PATHS) is one channel's."""
    paths = webhook_channels(list(WEBHOOK_ADAPTERS.values()))  # type: ignore[arg-type]  # class attributes alone
    assert set(paths) == set(WEBHOOK_PATHS)
    assert paths[path] == channel


def test_every_reply_sender_is_a_registered_adapter_whose_replies_go_out_later() -> None:
    assert {name for name, adapter in WEBHOOK_ADAPTERS.items() if adapter.outbound_replies} == set(REPLY_SENDERS)


class _Unwired(WebhookAdapter):
    """Registered and nothing else: no settings section, no health channel, no documented route."""

    name = "sms-unwired"
    path = "/v1/channels/sms/unwired"
    settings_section = "unwired"


class _DeliveryReportsUndocumented(WebhookAdapter):
    name = "sms-twilio"
    path = "/v1/channels/sms/twilio"
    settings_section = "twilio"
    dlr_path = "/v1/channels/sms/twilio/dlr"


class _RepliesLater(WebhookAdapter):
    """Twilio's, were its replies sent later by the reply worker."""

    name = "sms-twilio"
    path = "/v1/channels/sms/twilio"
    settings_section = "twilio"
    outbound_replies = True


class _AnsweredInline(WebhookAdapter):
    """Instagram's, were the mention in its webhook and the answer in the webhook's response."""

    name = "instagram"
    path = "/v1/channels/instagram/webhook"
    settings_section = "instagram"


class _SameTextWithoutItsWindow(WebhookAdapter):
    """Instagram's, were a repeated text one report in its webhook, its settings read from a section without the
    window ([social], which the two social channels share)."""

    name = "instagram"
    path = "/v1/channels/instagram/webhook"
    settings_section = "social"
    notifies_only = True
    same_text_window = True


@pytest.mark.parametrize(
    ("adapter", "senders", "gaps"),
    [
        pytest.param(_Unwired, {}, ["gateway/settings.py: no [unwired] section in Settings",
                                    "config/health.toml: 'sms-unwired' not in `channels`",
                                    "gateway/openapi.yaml: /v1/channels/sms/unwired not documented"], id="unwired"),
        pytest.param(_Unwatched, {},
                     ["config/health.toml: [channel.unwatched] has no process_missing_down_seconds "
                      "(and serving_process)"], id="no-serving-process-watched"),
        pytest.param(_DeliveryReportsUndocumented, {},
                     ["gateway/openapi.yaml: /v1/channels/sms/twilio/dlr not documented"],
                     id="delivery-reports-undocumented"),
        pytest.param(_RepliesLater, {}, ["channels/reply_senders.py: no reply sender for 'sms-twilio'"],
                     id="replies-later-without-a-sender"),
        pytest.param(_RepliesLater, {"sms-twilio": ReplySenderEntry("aggregator", AggregatorSender)},
                     ["channels/reply_senders.py: 'sms-twilio' reads [aggregator], its adapter [twilio]"],
                     id="replies-later-by-another-providers-section"),
        pytest.param(_RepliesLater, {"sms-twilio": ReplySenderEntry("twilio", AggregatorSender)},
                     ["config/defaults.toml: [twilio] has no send_rate_per_second",
                      "config/health.toml: [channel.sms-twilio] does not watch lapor-reply, lapor-status"],
                     id="replies-later-without-its-limits-and-queues"),
        pytest.param(_AnsweredInline, {},
                     ["config/defaults.toml: [instagram] has no status_inline_timeout_seconds, "
                      "flood_replies_per_minute, flood_replies_per_hour",
                      "config/health.toml: [channel.instagram] watches lapor-reply, which it queues nothing on"],
                     id="answered-inline-without-its-timeout-watching-the-reply-queue"),
        pytest.param(_SameTextWithoutItsWindow, {},
                     ["config/defaults.toml: [social] has no `enabled`",
                      "config/defaults.toml: [social] has no same_text_window_seconds"],
                     id="same-text-without-its-window"),
    ],
)
def test_what_an_adapter_lacks_is_named(monkeypatch: pytest.MonkeyPatch, adapter: type[WebhookAdapter],
                                        senders: dict[str, ReplySenderEntry], gaps: list[str]) -> None:
    for name, sender in senders.items():
        monkeypatch.setitem(REPLY_SENDERS, name, sender)
    monkeypatch.setattr(sys.modules[__name__], "HEALTH_CHANNELS", [*HEALTH_CHANNELS, _Unwatched.name])
    assert missing(adapter) == gaps


class _AnotherSmsGateway(TwilioSmsAdapter):
    """Another SMS gateway (Twilio's, by another name), received by the HTTP gateway itself."""

    name = "sms-another"
    path = "/v1/channels/sms/another"


def test_the_tests_beat_of_the_http_gateway_names_a_newly_registered_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests of the status views, the health rules and the operator CLI beat for `lapor-gateway serve` with the
    channels it beats for itself (`tests.conftest.serve_channels`, from the registry): a new webhook channel needs no
    line in them. Hard-coded, a new channel went down in them ("no HTTP gateway process alive")."""
    received, webhooks = serve_channels()
    monkeypatch.setitem(WEBHOOK_ADAPTERS, _AnotherSmsGateway.name, _AnotherSmsGateway)
    assert serve_channels() == ([*received, "sms-another"], webhooks)
    assert (received, webhooks) == (["sms-twilio", "sms-aggregator"], ["instagram"])
