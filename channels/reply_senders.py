"""The one table of reply senders: who sends a reply that goes out after the webhook was answered.

A provider whose webhook answer cannot carry the citizen's reply (`WebhookAdapter.outbound_replies`: the SMS
aggregator) has it queued by `gateway.outbound` and sent by the reply worker (`workers.reply`). Both find the
provider here by its source (the adapter's `name`): the factory of its outbound client, and its settings section,
which holds its limits:
- `send_rate_per_second`: the most parts sent per second, across every reply worker (`workers.reply`);
- `flood_replies_per_minute`, `flood_replies_per_hour`, `status_inline_timeout_seconds`: flood control and how long
  a status query waits for the case store (`gateway.outbound`).
Each client lives in a module of its own, never the webhook adapter's: the reply worker loads no HTTP handler
(tests/test_layering.py). A source with no entry here has its replies dead-lettered as `no_sender`.

X, Instagram and e-mail replies are not here: each has a job of its own, built from what only it needs
(`workers.social_reply`: the mention's target and a reply key; `workers.email_reply`: the mail's threading).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from channels.sms_aggregator_send import AggregatorSender
from gateway.settings import Settings


class ReplyPart(Protocol):
    """One message of a reply as its provider sends it; the worker records each by `number` once it is accepted."""

    @property
    def number(self) -> int: ...


class ReplySender(Protocol):
    """A provider's outbound client, one per worker process (its connection pool is kept between jobs).

    `send_part` returns the provider's answer, written on the reply's record; it raises `RetryableError` (5xx, 429,
    timeouts) or `PermanentError` (a refusal), each with a `reason`: its request made through
    `channels.send_http.send_request`, which classifies the failure once for every sender."""

    def parts(self, text: str, reply_id: str) -> Sequence[ReplyPart]: ...
    # A sender whose split of a reply changed between releases also has `SPLIT` (its split now, which the reply worker
    # writes on the reply's record with each part sent), `UNMARKED_SPLIT` (the split of a record with parts sent and
    # none named: the release before's) and takes `split` in `parts`: a reply keeps the split it started with
    # (`channels.sms_aggregator_send`).

    def send_part(self, to: str, part: Any, reply_id: str) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReplySenderEntry:
    settings_section: str
    build: Callable[[Settings], ReplySender]

    def section(self, settings: Settings) -> Any:
        """The provider's settings section, with its limits (see the module's docstring)."""
        return getattr(settings, self.settings_section)


REPLY_SENDERS: dict[str, ReplySenderEntry] = {
    "sms-aggregator": ReplySenderEntry("aggregator", AggregatorSender),
}


def reply_limits(settings: Settings, source: str) -> Any:
    """The settings section of `source`'s reply sender; LookupError naming this table when it has none."""
    entry = REPLY_SENDERS.get(source)
    if entry is None:
        raise LookupError(f"no reply sender for {source!r} in channels/reply_senders.py")
    return entry.section(settings)
