"""The one place that names every channel adapter. A new provider is one module plus one line here."""

from __future__ import annotations

from channels.base import WebhookAdapter
from channels.instagram import InstagramWebhookAdapter
from channels.sms_aggregator import AggregatorSmsAdapter
from channels.twilio_sms import TwilioSmsAdapter
from gateway.settings import Settings

WEBHOOK_ADAPTERS: dict[str, type[WebhookAdapter]] = {
    TwilioSmsAdapter.name: TwilioSmsAdapter,
    AggregatorSmsAdapter.name: AggregatorSmsAdapter,
    InstagramWebhookAdapter.name: InstagramWebhookAdapter,
}


def enabled_webhook_adapters(settings: Settings) -> list[WebhookAdapter]:
    adapters = []
    for adapter_class in WEBHOOK_ADAPTERS.values():
        if getattr(getattr(settings, adapter_class.settings_section), "enabled", True):
            adapters.append(adapter_class(settings))
    return adapters
