"""What every webhook adapter shares: the adapter base, form parsing and the signature checks (`channels.signatures`).

An adapter only speaks its provider's protocol. It verifies a request, parses it into `InboundMessage`s and
renders the answer; it knows nothing of queues or the case store. The gateway app drives it. `InboundMessage` itself
is the normalizer's input (`normalizer.inbound`), so that the normalizer and the workers never load this module; it
is imported here for the adapters' convenience.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, unquote_to_bytes

from aiohttp import web
from redis import Redis

from channels.signatures import constant_time_equals, verify_hmac_sha256
from gateway.errors import AuthenticationFailed, RejectedInput
from gateway.settings import Settings
from normalizer.inbound import InboundMessage, MessagePart

__all__ = ["InboundMessage", "MessagePart", "Outcome", "WebhookAdapter", "constant_time_equals", "parse_form",
           "subscription_handshake", "verify_hmac_sha256"]


def _unquote_plus(text: str, encoding: str = "utf-8") -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    # An ASCII value (every webhook's "%2B62..." sender) is what `unquote` makes of its one ASCII run, without the
    # split into ASCII and other runs that cost half of it.
    return unquote_to_bytes(text).decode(encoding, "replace") if text.isascii() else unquote(text, encoding=encoding)


def parse_form(body: bytes, charset: str = "utf-8") -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as (name, value) pairs, in order, repeated names kept.

    The same pairs as `urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)` (a property test holds it
    to that) at a third of its cost: a webhook carries twenty-odd fields and parse_qsl was the largest part of
    authenticating one. `charset` (the Content-Type's, UTF-8 when it names none) reads both the raw bytes and the
    %-escapes. RejectedInput when the body is not in it, or the charset is unknown."""
    try:
        text = body.decode(charset)
        pairs = []
        for field_ in text.split("&"):
            if field_:
                name, _, value = field_.partition("=")
                pairs.append((_unquote_plus(name, charset), _unquote_plus(value, charset)))
    except LookupError as error:
        raise RejectedInput("form body declares an unknown charset", reason="bad_encoding") from error
    except UnicodeError as error:  # UnicodeDecodeError, and codecs such as punycode or idna that raise the base class
        raise RejectedInput(f"form body is not {charset.upper()}", reason="bad_encoding") from error
    if not all(_is_text(name) and _is_text(value) for name, value in pairs):
        # Some codecs (UTF-7, unicode_escape) decode to a lone surrogate: no text can hold it, and a report with one
        # could not be stored (a 500, the provider sending it again and again).
        raise RejectedInput(f"form body in {charset.upper()} is not text (a lone surrogate)", reason="bad_encoding")
    return pairs


def _is_text(value: str) -> bool:
    """Whether `value` is Unicode text (no lone surrogate). UTF-8 and most charsets can never decode to one."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one inbound message, for the adapter to answer with."""

    reply_text: str | None
    tracking_id: str | None = None
    duplicate: bool = False


def subscription_handshake(request: web.Request, verify_token: str) -> web.Response:
    """Meta's GET handshake for a webhook (Instagram, and WhatsApp or Messenger alike): `hub.mode=subscribe` and our
    `hub.verify_token` -> `hub.challenge` echoed as text; anything else raises AuthenticationFailed."""
    query = request.rel_url.query
    token = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not constant_time_equals(verify_token, token):
        raise AuthenticationFailed("hub.verify_token does not match", reason="verify_token_invalid")
    return web.Response(text=query.get("hub.challenge", ""), content_type="text/plain")


# Set on a request whose body `parse` found to be a delivery report of one of our replies (Twilio's status callback
# posted to the inbound URL), not a citizen's message: the adapter counts it in `lapor_delivery_reports_total`, and
# the webhook handler then counts it in `lapor_messages_received_total` no more. It was counted there as a message,
# and a burst of reply statuses read as citizens writing in on the received rate operators alert on.
DELIVERY_REPORT = web.RequestKey("delivery_report", bool)


def mark_delivery_report(request: web.Request) -> None:
    """Say that `request` carried a delivery report, not a message (`DELIVERY_REPORT`)."""
    request[DELIVERY_REPORT] = True


def is_delivery_report(request: web.Request) -> bool:
    return bool(request.get(DELIVERY_REPORT))


class WebhookAdapter(ABC):
    """A provider that calls us over HTTP. Subclasses set the class variables and implement the three steps."""

    name: ClassVar[str]
    path: ClassVar[str]
    # The settings section with this adapter's `enabled` switch and secrets.
    settings_section: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def section(self) -> Any:
        """This adapter's settings section: its `enabled` switch, its secrets and, for a provider answered in the
        webhook's response, `status_inline_timeout_seconds` (how long a status query waits for the case store)."""
        return getattr(self.settings, self.settings_section)

    def public_url(self, request: web.Request) -> str:
        """The URL the provider called, rebuilt from the configured public base (proxies rewrite hosts)."""
        return self.settings.public_url.rstrip("/") + request.rel_url.raw_path_qs

    @abstractmethod
    def authenticate(self, request: web.Request, body: bytes) -> None:
        """Raise AuthenticationFailed unless the request provably comes from the provider."""

    @abstractmethod
    def parse(self, request: web.Request, body: bytes) -> list[InboundMessage]:
        """Turn the request into inbound messages; raise RejectedInput for malformed input."""

    @abstractmethod
    def respond(self, outcomes: Sequence[Outcome]) -> web.Response:
        """The provider-specific answer (TwiML, JSON, an empty 200...)."""

    # Adapters whose provider cannot carry a reply in the webhook answer send replies later, through the reply
    # worker (`outbound_replies`), with flood control from their settings section; their
    # sender is registered under the adapter's `name` in `channels.reply_senders`.
    outbound_replies: ClassVar[bool] = False
    # SMS adapters: the same text from the same number within their section's `same_text_window_seconds` is one report
    # (`gateway.same_text`, looked up by intake's committer for a whole batch), answered "we already have this report"
    # with the first one's Tracking ID; while Redis fails, each message is a report of its own, spooled as any is.
    same_text_window: ClassVar[bool] = False
    # Adapters whose requests only notify of a message (`defer`): the request counts as a notification, and the
    # message as received when its poller has fetched it.
    notifies_only: ClassVar[bool] = False
    # Adapters whose URL may also be posted delivery reports of our replies (Twilio's status callback): `parse` marks
    # one (`mark_delivery_report`), and a request is counted received once parsed, at its end, unless it was one.
    # The others' requests are counted as they begin.
    delivery_reports_inbound: ClassVar[bool] = False
    # A second path taking delivery reports of our replies apart from the messages (the aggregator's): None, none.
    dlr_path: ClassVar[str | None] = None

    def verify(self, request: web.Request) -> web.Response | None:
        """A GET subscription handshake (Meta's: `subscription_handshake`). None, the default: the path takes no GET."""
        return None

    async def defer(self, redis: Redis, request: web.Request, body: bytes) -> bool:
        """For providers whose notification does not carry the message (Meta's mentions webhook): make the raw
        notification durable (raising NotDurable if it cannot be) and return True; a poller resolves it later.
        False, the default: the notification is the message, and the gateway parses it."""
        return False
