"""Twilio Programmable Messaging webhook (a second SMS provider; 1708 itself runs through aggregators).

Twilio POSTs form-encoded parameters and signs the public URL plus every POST parameter with the account's
auth token (X-Twilio-Signature). We validate with twilio's own RequestValidator over the URL rebuilt from
`LAPOR_PUBLIC_URL`, because a proxy in front of us changes the host we see. The answer is TwiML.

That signature covers the names and values glued together with nothing between them, so it does not fix where one
parameter ends and the next begins: from one captured webhook anyone can build another body with the same valid
signature, a `MessageSid` that swallows the next parameter (`SM...NumMedia0`, `NumMedia` gone) or is cut shorter.
A new MessageSid passes deduplication, and the citizen's number and words were filed again. Twilio's identifiers
have one fixed shape (two letters, 32 hexadecimal digits), and its counts are digits: one reshaped so is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse, urlsplit
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator, add_port, remove_port

from channels.base import InboundMessage, Outcome, WebhookAdapter, mark_delivery_report, parse_form
from channels.gsm7 import to_gsm7
from gateway import metrics
from gateway.errors import AuthenticationFailed, RejectedInput
from gateway.logs import get_logger
from gateway.settings import Settings
from normalizer.envelope import Attachment, Channel, SenderKind, utc_now

log = get_logger()

MAX_MEDIA = 10

# A Webhooks Rule that matches our URL makes Twilio sign with the rule's Setting's SharedKey, not the auth token, in
# the algorithm this header names (twilio's RequestValidator reads it too). Checked against the auth token, every SMS
# was refused `signature_invalid`, which Twilio does not retry: the channel's reports lost until someone guessed why.
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
DIGESTS: dict[str, Callable[..., Any]] = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}

# Twilio's String Identifiers (SIDs): two letters naming the kind, then 32 hexadecimal digits
# (twilio.com/docs/glossary/what-is-a-sid); a message is SM, or MM with media. The counts are decimal digits. Twilio
# writes the digits in lower case; upper case is taken too, as refusing a real message loses its report, and the fixed
# length already keeps a value from swallowing the next parameter (whose name starts with a letter that is no digit).
MESSAGE_SID = (re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}"), "a message SID (SM or MM, 32 hex digits)")
COUNT = (re.compile(r"[0-9]{1,9}"), "a number")
# Twilio's Advanced Opt-Out names the message its keyword in `OptOutType` (its words an operator may set in any
# language: "KELUAR", "BERHENTI SMS"): read as that, whatever our own tables say of the words. STOP and START leave
# it unfiled and unanswered (Twilio blocks any answer to a STOP anyway), and so does HELP: Twilio has sent the help
# text set in the Messaging Service already (twilio.com/docs/messaging/tutorials/advanced-opt-out), and ours was a
# second SMS (gateway.app answers it empty). A help word without `OptOutType` gets our usage text.
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
# Advanced Opt-Out's name for the keyword, one of three words (OPT_OUT_TYPES), or blank. Read as any text, an
# opt-out's type could swallow the parameter after it (`STOPSmsMessageSidSM...`): no longer an opt-out, its words
# were filed as a report with the citizen's number and acknowledged, under the same valid signature (the opt-out was
# never filed, so deduplication had nothing to match it with).
OPT_OUT_TYPE = (re.compile(f"(?i:{'|'.join(OPT_OUT_TYPES)})?"), "an opt-out type (STOP, START or HELP)")
# A status callback's status, Twilio's lower-case word (OUTBOUND_STATUSES; any other is taken as a word too). Read as
# any text, one that swallowed the parameter after it (`deliveredSmsSidSM...`) was no status callback: the reply's
# Body it carries was filed as a report from our own number.
MESSAGE_STATUS = (re.compile(r"[a-z_]{0,32}"), "a message status (lower-case letters)")
SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "MessageSid": MESSAGE_SID,
    "SmsSid": MESSAGE_SID,
    "SmsMessageSid": MESSAGE_SID,
    "AccountSid": (re.compile(r"AC[0-9a-fA-F]{32}"), "an account SID (AC, 32 hex digits)"),
    "MessagingServiceSid": (re.compile(r"MG[0-9a-fA-F]{32}"), "a messaging service SID (MG, 32 hex digits)"),
    "NumMedia": COUNT,
    "NumSegments": COUNT,
    "OptOutType": OPT_OUT_TYPE,
    "MessageStatus": MESSAGE_STATUS,
}
# An outbound message's status callback (twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks):
# posted here when a number's or Messaging Service's status callback URL is set to this webhook. It carries no
# NumMedia, which every inbound message has, and `MessageStatus` is one of these, never an inbound "received" (it may
# carry the reply's Body on some channels: that is our own text, not the citizen's). Read as a message it was an SMS
# from our own number, answered with the usage text (ignored by Twilio), counted as a citizen's help request (or,
# with that Body, filed as a report of our own reply), and the failure it reported was lost. Twilio's status names,
# as the aggregator's delivery reports count them (`lapor_delivery_reports_total`).
OUTBOUND_STATUSES = {
    "accepted": "buffered", "scheduled": "buffered", "queued": "buffered", "sending": "buffered",
    "sent": "submitted", "delivered": "delivered", "read": "delivered",
    "undelivered": "failed", "failed": "rejected", "canceled": "rejected", "partially_delivered": "failed",
}
# Twilio's error codes on a reply that did not reach the citizen (twilio.com/docs/api/errors), by what they mean: our
# answer is TwiML, which Twilio sends once and we never again, so each is said once in the log; `permanent` tells an
# operator whether this number can get an SMS at all (unsubscribed, invalid, a landline, filtered by the carrier) or
# the failure may pass (a queue overflow, an unknown carrier error).
TWILIO_ERRORS: dict[str, tuple[str, bool]] = {
    "21211": ("invalid_number", True), "21408": ("region_not_enabled", True), "21610": ("unsubscribed", True),
    "21612": ("unreachable_route", True), "21614": ("not_a_mobile_number", True), "30002": ("account_suspended", True),
    "30003": ("unreachable_handset", True), "30004": ("blocked", True), "30005": ("unknown_destination", True),
    "30006": ("landline_or_unreachable_carrier", True), "30007": ("filtered", True),
    "30010": ("price_exceeded", True), "30032": ("toll_free_unverified", True),
    "30001": ("queue_overflow", False), "30008": ("unknown_error", False), "30009": ("missing_segment", False),
}
# Twilio sends these with every inbound message (and MessageSid or its older name SmsSid, checked in `parse`).
REQUIRED = ("AccountSid",)


# What twilio's MessagingResponse renders for one <Message> (checked against it in the tests); building the
# ElementTree for every answer cost more than the rest of the answer.
TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


@lru_cache(maxsize=8)  # `authenticate` parses the body and `parse` reads the same body again: parsed once
def _form(body: bytes) -> MultiDict[str]:
    """The form as a MultiDict (read only): every value of a repeated key is kept (Twilio signs them all), and
    twilio's validator reads it with `getall` directly instead of through two AttributeErrors per parameter."""
    return MultiDict(parse_form(body))


@lru_cache(maxsize=64)
def _signed_urls(url: str) -> tuple[str, ...]:
    """The URL without and with its port: Twilio signs either, as twilio's RequestValidator.validate allows.
    The variant spelled like the configured public URL comes first: that is the one Twilio was given."""
    parsed = urlparse(url)
    variants = (remove_port(parsed), add_port(parsed))
    return tuple(dict.fromkeys(sorted(variants, key=lambda variant: variant != url)))


def signed_params(params: MultiDict[str]) -> str:
    """What Twilio signs after the URL: each parameter name followed by each of its distinct values, names and
    values sorted, as twilio's RequestValidator.compute_signature builds it (one sort over the (name, value)
    pairs gives the same order as its sort per name, at a fraction of the cost)."""
    return "".join(name + value for name, value in sorted(set(params.items())))


def compute_signature(token: bytes, url: str, signed: str, digest: Callable[..., Any] = hashlib.sha1) -> str:
    """twilio's HMAC signature (base64; SHA-1 unless a Webhooks Rule says otherwise) of the URL followed by
    `signed_params`."""
    return base64.b64encode(hmac.new(token, (url + signed).encode("utf-8"), digest).digest()).decode()


def signature_algorithm(header: str) -> str:
    """The algorithm a `X-Twilio-Webhooks-Signature-Settings` header names (`key=...,algorithm=HMAC_SHA256`), upper
    case; HMAC_SHA1 when it names none, as twilio's get_signature_algorithm reads it."""
    for part in header.split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def check_shapes(form: MultiDict[str]) -> None:
    """RejectedInput (`bad_field`) unless every identifier and count present has Twilio's shape, once; `missing_field`
    without an AccountSid. The reason names the parameter, never its value (a reshaped one holds the sender's number
    or words)."""
    for name, (shape, kind) in SHAPES.items():
        values = form.getall(name, [])
        if len(values) > 1:
            raise RejectedInput(f"{name} given {len(values)} times", reason="bad_field")
        if values and not shape.fullmatch(values[0]):
            raise RejectedInput(f"{name} is not {kind}", reason="bad_field")
    for name in REQUIRED:
        if name not in form:
            raise RejectedInput(f"{name} is required", reason="missing_field")


def is_status_callback(form: MultiDict[str]) -> bool:
    """Whether `form` is an outbound message's status callback, not an inbound message (see OUTBOUND_STATUSES)."""
    status = (form.get("MessageStatus") or "").lower()
    return "NumMedia" not in form and status in OUTBOUND_STATUSES


def log_status_callback(form: MultiDict[str]) -> None:
    """Say what a status callback posted here reported, without the citizen's number (its `To`): a failed reply with
    Twilio's error code and what it means, at warning, any other at info, each naming the misdirected URL."""
    status = (form.get("MessageStatus") or "").lower()
    metrics.labelled(metrics.DELIVERY_REPORTS, TwilioSmsAdapter.name, OUTBOUND_STATUSES[status]).inc()
    code = (form.get("ErrorCode") or "").strip()
    if not code.isascii() or not code.isdigit() or len(code) > 6:
        code = ""
    meaning, permanent = TWILIO_ERRORS.get(code, ("other", False)) if code else (None, None)
    level = log.warning if OUTBOUND_STATUSES[status] in ("failed", "rejected") else log.info
    level("twilio.status_callback", status=status, error_code=code or None, error=meaning, permanent=permanent,
          reason="status_callback_on_inbound_url")


def render_twiml(replies: Sequence[str]) -> str:
    if not replies:
        return TWIML_HEAD + "<Response />"
    return TWIML_HEAD + "<Response>" + "".join(f"<Message>{escape(text)}</Message>" for text in replies) + "</Response>"


class TwilioSmsAdapter(WebhookAdapter):
    name = "sms-twilio"
    path = "/v1/channels/sms/twilio"
    settings_section = "twilio"
    same_text_window = True
    delivery_reports_inbound = True  # a status callback URL set to this webhook (OUTBOUND_STATUSES)

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._validator = RequestValidator(settings.twilio.auth_token)
        self._token = settings.twilio.auth_token.encode("utf-8")
        # While the auth token is rotated, Twilio signs with whichever of the two is primary at that moment: both
        # are taken, so neither order of Twilio's promotion and our restart refuses (and loses) an SMS between them.
        secondary = settings.twilio.secondary_auth_token
        self._secondary_validator = RequestValidator(secondary) if secondary else None
        self._secondary_token = secondary.encode("utf-8")
        shared_key = settings.twilio.webhook_shared_key
        self._shared_validator = RequestValidator(shared_key) if shared_key else None
        self._shared_key = shared_key.encode("utf-8")

    def authenticate(self, request: web.Request, body: bytes) -> None:
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            raise AuthenticationFailed("X-Twilio-Signature missing", reason="signature_missing")
        try:
            params = _form(body)
        except RejectedInput as error:
            raise AuthenticationFailed("body unreadable", reason="signature_invalid") from error
        rule = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        url = self.public_url(request)
        if rule is None:
            matches = self._signature_matches(url, params, signature)
        else:
            matches = self._rule_signature_matches(rule, url, params, signature)
        if not matches:
            # The URL it was checked over (Twilio signs the URL it posts to): a gateway moved to another port without
            # LAPOR_PUBLIC_URL refused every webhook, and nothing said over which URL it had checked.
            # Its scheme, host, port and path alone: the detail is the response's too, and LAPOR_PUBLIC_URL may carry
            # a user and password (Twilio's basic auth), the query a token.
            parts = urlsplit(url)
            shown = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
            raise AuthenticationFailed(f"X-Twilio-Signature does not match (checked over {shown}, from "
                                       "LAPOR_PUBLIC_URL)", reason="signature_invalid")

    def _rule_signature_matches(self, rule: str, url: str, params: MultiDict[str], signature: str) -> bool:
        """A signature made with a Webhooks Rule's SharedKey (`SIGNATURE_SETTINGS_HEADER`): AuthenticationFailed
        `shared_key_missing` when `twilio.webhook_shared_key` is not set, `signature_algorithm_unknown` for an
        algorithm other than HMAC-SHA1 or HMAC-SHA256; each says what to set, where `signature_invalid` did not."""
        algorithm = signature_algorithm(rule)
        if self._shared_validator is None:
            raise AuthenticationFailed(f"signed by a Webhooks Rule ({SIGNATURE_SETTINGS_HEADER}) with its shared key: "
                                       "set LAPOR_TWILIO_WEBHOOK_SHARED_KEY", reason="shared_key_missing")
        digest = DIGESTS.get(algorithm)
        if digest is None:
            raise AuthenticationFailed(f"signature algorithm {algorithm[:40]!r} is not HMAC_SHA1 or HMAC_SHA256",
                                       reason="signature_algorithm_unknown")
        if "bodySHA256" in url:
            return bool(self._shared_validator.validate(url, params, signature, algorithm))
        return self._matches(self._shared_key, digest, url, params, signature)

    def _signature_matches(self, url: str, params: MultiDict[str], signature: str) -> bool:
        """twilio's signature over the URL as configured, then over its other port variant (validate() always
        computes both); compared in constant time. The parameters are serialized once for both."""
        if "bodySHA256" in url:  # a JSON webhook with a body hash: let twilio's validate handle all of it
            return bool(self._validator.validate(url, params, signature)) or (
                self._secondary_validator is not None
                and bool(self._secondary_validator.validate(url, params, signature)))
        return self._matches(self._token, hashlib.sha1, url, params, signature) or (
            bool(self._secondary_token) and self._matches(self._secondary_token, hashlib.sha1, url, params, signature))

    @staticmethod
    def _matches(key: bytes, digest: Callable[..., Any], url: str, params: MultiDict[str], signature: str) -> bool:
        given = signature.encode("utf-8", "replace")
        signed = signed_params(params)
        return any(hmac.compare_digest(compute_signature(key, candidate, signed, digest).encode(), given)
                   for candidate in _signed_urls(url))

    def parse(self, request: web.Request, body: bytes) -> list[InboundMessage]:
        form = _form(body)
        check_shapes(form)  # after the signature, which cannot tell a reshaped body from Twilio's (module docstring)
        if is_status_callback(form):  # no citizen's message: said in the log, answered with an empty <Response />
            log_status_callback(form)
            mark_delivery_report(request)  # counted as a delivery report, not as a message received
            return []
        message_id = form.get("MessageSid") or form.get("SmsSid")
        sender = form.get("From")
        if not message_id or not sender:
            raise RejectedInput("MessageSid and From are required", reason="missing_field")
        media_count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
        attachments = [
            Attachment(
                content_type=form.get(f"MediaContentType{index}") or "application/octet-stream",
                location=form[f"MediaUrl{index}"],
            )
            for index in range(media_count)
            if form.get(f"MediaUrl{index}")
        ]
        return [
            InboundMessage(
                channel=Channel.SMS,
                source=self.name,
                provider_message_id=message_id,
                sender_kind=SenderKind.MSISDN,
                sender_address=sender,
                recipient=form.get("To"),
                text=form.get("Body", ""),
                received_at=utc_now(),
                attachments=attachments,
                channel_meta={"message_sid": message_id, "to": form.get("To")},
                provider_action=OPT_OUT_TYPES.get((form.get("OptOutType") or "").upper()),
            )
        ]

    def respond(self, outcomes: Sequence[Outcome]) -> web.Response:
        replies = [to_gsm7(outcome.reply_text) for outcome in outcomes if outcome.reply_text]
        return web.Response(text=render_twiml(replies), content_type="application/xml")
