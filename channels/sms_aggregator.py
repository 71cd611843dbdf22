"""SMS 1708 through an Indonesian operator's aggregator: the HTTP callback and its delivery reports.

Operators (Telkomsel, Indosat, Three) hand 1708 traffic to an aggregator, typically Kannel or a Kannel-like SMS
gateway. Its sms-service calls us with one POST per received SMS part, form-encoded or JSON, with Kannel's
sms-service fields under short names (sender `from` %p, short code `to` %P, `text` %a, message `id` %I, `ts` %T,
`coding` %c, `udh` %u ...; the README has the table). Every callback is signed: `X-Lapor-Signature:
sha256=<hex HMAC-SHA256(secret, raw body)>`, and may be restricted to source addresses. Replies never ride in the
callback's answer (set Kannel's `max-messages = 0`): they go out through the reply worker to the send URL
(`channels.sms_aggregator_send`), and the aggregator's delivery reports come back to `.../dlr`.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from channels.base import (
    InboundMessage,
    MessagePart,
    Outcome,
    WebhookAdapter,
    constant_time_equals,
    parse_form,
    verify_hmac_sha256,
)
from channels.sms_aggregator_send import DLR_PATH, dlr_token
from gateway.errors import AuthenticationFailed, RejectedInput
from gateway.logs import get_logger
from gateway.queues import sender_digest
from gateway.ratelimit import request_source
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.inbound import decode_payload, hex_bytes
from normalizer.sender import msisdn_or_as_given

log = get_logger()

SIGNATURE_HEADER = "X-Lapor-Signature"

# Kannel's %c values, and the names aggregators use for them. "-1" is Kannel's DC_UNDEF, the %c of a message no SMSC
# driver set a coding for (one relayed over an HTTP SMSC that gave none): Kannel itself takes its text as 7-bit, in
# UTF-8 (%C), and so do we; refused as an unknown coding, the citizen's report was lost.
CODING_NAMES = {
    "0": "gsm7", "-1": "gsm7", "7bit": "gsm7", "gsm7": "gsm7", "gsm": "gsm7", "gsm-7": "gsm7",
    "1": "8bit", "8bit": "8bit", "binary": "8bit",
    "2": "ucs2", "ucs2": "ucs2", "ucs-2": "ucs2", "utf-16": "ucs2", "utf16": "ucs2",
}
# Kannel delivery-report types (dlr-mask bits) and what they mean for a reply.
DLR_TYPES = {1: "delivered", 2: "failed", 4: "buffered", 8: "submitted", 16: "rejected"}
MAX_PARTS = 255
# What our dlr-url carries in its query (channels.sms_aggregator_send), and the token over them that makes them count.
DLR_URL_FIELDS = ("reply_id", "part")
DLR_TOKEN_FIELD = "sig"
MAX_TEXT = 10_000
# Every field a callback or a delivery report is read for. In a JSON body each must be a string or a number (Kannel's
# own values, written as JSON): an array, an object or true/false was read as Python wrote it, and a text of
# ["LAPOR", "jalan rusak"] reached the case store as "['LAPOR', 'jalan rusak']", an id of {"x": 1} as "{'x': 1}".
READ_FIELDS = frozenset({"from", "to", "text", "id", "ts", "coding", "charset", "udh", "ref", "parts", "part",
                         "smsc", "reply_id", "type", "smsc_id"})
# Kannel's %C for a UCS-2 message ("UTF-16BE"), and the names others give it: the text is the message's own bytes.
UTF16_CHARSETS = frozenset({"utf-16be", "utf16be", "utf-16", "utf16", "ucs-2", "ucs2", "ucs-2be", "unicode"})


# The information elements of a UDH this channel reads (3GPP TS 23.040 9.2.3.24): concatenation with an 8-bit and a
# 16-bit reference, and application port addressing with 8-bit and 16-bit ports.
IEI_CONCAT_8, IEI_PORTS_8, IEI_PORTS_16, IEI_CONCAT_16 = 0x00, 0x04, 0x05, 0x08


def udh_elements(udh_hex: str) -> list[tuple[int, bytes]]:
    """Every information element of a UDH, in order, as (IEI, value); one the header's length cuts short is left
    out. RejectedInput (`bad_hex`) for a UDH that is no hex."""
    udh = hex_bytes(udh_hex)
    if not udh:
        return []
    length = udh[0]
    elements, index, found = udh[1:1 + length], 0, []
    while index + 2 <= len(elements):
        iei, size = elements[index], elements[index + 1]
        value = elements[index + 2:index + 2 + size]
        if len(value) == size:
            found.append((iei, value))
        index += 2 + size
    return found


def concat_elements(udh_hex: str) -> list[tuple[str, int, int]]:
    """Every concatenation element (IEI 0x00 or 0x08) of a UDH, in order, as (reference, part count, part number)."""
    found = []
    for iei, value in udh_elements(udh_hex):
        if iei == IEI_CONCAT_8 and len(value) == 3:
            found.append((str(value[0]), value[1], value[2]))
        elif iei == IEI_CONCAT_16 and len(value) == 4:
            found.append((str(int.from_bytes(value[:2], "big")), value[2], value[3]))
    return found


def port_elements(udh_hex: str) -> list[tuple[int, int, int]]:
    """Every application port addressing element of a UDH, in order, as (destination port, originator port, port
    width in bits): IEI 0x04, 8-bit ports, and 0x05, 16-bit ports (3GPP TS 23.040 9.2.3.24.3 and .4). Such an SMS is
    for an application on the phone (a vCard to port 9204, a WAP push to 2948, an operator's SIM or MMS
    notification), not a person's text: its payload is that application's data."""
    found = []
    for iei, value in udh_elements(udh_hex):
        if iei == IEI_PORTS_8 and len(value) == 2:
            found.append((value[0], value[1], 8))
        elif iei == IEI_PORTS_16 and len(value) == 4:
            found.append((int.from_bytes(value[:2], "big"), int.from_bytes(value[2:], "big"), 16))
    return found


def usable_concat(element: tuple[str, int, int]) -> bool:
    """Whether a receiver may use a concatenation element: 3GPP TS 23.040 (9.2.3.24.1, .8) has one whose part count is
    0, or whose part number is 0 or above the count, ignored whole, and the SMS taken as a single message."""
    _, total, number = element
    return 1 <= number <= total


def dedup_id(settings: Settings, message_id: str, sender: str, smsc: str, text: str) -> str:
    """What intake dedups an aggregator's SMS by: its id, with its SMSC, sender and text. Kannel's ids (%I) are its
    own counter, and two aggregators, or two SMSCs, calling one endpoint repeat each other's: by the id alone one
    citizen's message was dropped as a retry of another's; and a counter that starts again (an aggregator restarted,
    its store lost) gives a citizen's next SMS the id of one they sent within the dedup window, whose Tracking ID it was
    answered with, its words lost. Only a true retry (same id, sender, SMSC and text) is one message. They go in as a
    keyed digest (`sender_digest`): the identity stands as it is in Redis (a same-text repeat's first, an unfiled
    message's field). Claims made before this are not found again: a retry across the upgrade is a second report (a
    repeat of the first's words, answered as one); so, likewise, is one of a JSON id past 64 bits or written as a
    float, read as its float's text before (`2.0261205055512346e+19`, `100000.0`) and as written since (see
    `read_fields`). The sender as the report stores it (E.164, `msisdn_or_as_given`): a retry whose `from` an
    aggregator's other node wrote otherwise (`081299990077`, then `6281299990077`) was a second SMS to the citizen, or
    past the same-text window a second report; a retry of a number not written in E.164 across this upgrade is one
    too."""
    stored = msisdn_or_as_given(sender, settings.sms.default_region)
    return f"{message_id}#{sender_digest(settings, 'sms-aggregator', smsc, stored, text)}"


def parse_udh(udh_hex: str) -> tuple[str, int, int] | None:
    """(reference, part count, part number) from a UDH's first usable concatenation element, else None."""
    return next((element for element in concat_elements(udh_hex) if usable_concat(element)), None)


def _is_utf8(charset: str) -> bool:
    return charset.lower().replace("_", "-") in ("utf-8", "utf8")


def read_fields(request: web.Request, body: bytes) -> dict[str, str]:
    """Form-encoded or JSON body as one flat mapping of strings, in the charset the Content-Type declares.

    A body that opens with `{` or `[` is JSON whatever its label (clients post JSON as text/plain or unlabelled):
    no form starts so, and reading it as one would refuse it for "missing" fields it does carry. A UTF-8 byte order
    mark before it (Windows tools and .NET's default UTF-8 writer put one there) is dropped: JSON parsers refuse it,
    and a callback refused `bad_json` for it was a citizen's report lost."""
    charset = request.charset or "utf-8"
    if body.startswith(codecs.BOM_UTF8) and _is_utf8(charset):
        body = body[len(codecs.BOM_UTF8):]
    if request.content_type == "application/json" or body.lstrip()[:1] in (b"{", b"["):
        return _json_fields(body, charset)
    return dict(parse_form(body, charset))


def _json_fields(body: bytes, charset: str) -> dict[str, str]:
    try:
        document = body if _is_utf8(charset) else body.decode(charset)
        raw = orjson.loads(document)
    except LookupError as error:  # its name not repeated: anything a client wrote, of any length, into the log
        raise RejectedInput("JSON body declares an unknown charset", reason="bad_encoding") from error
    except UnicodeError as error:
        raise RejectedInput(f"JSON body is not {charset.upper()}", reason="bad_encoding") from error
    except orjson.JSONDecodeError as error:
        raise RejectedInput("body is not JSON", reason="bad_json") from error
    if not isinstance(raw, dict):
        raise RejectedInput("JSON body must be an object", reason="bad_json")
    if any(isinstance(raw[key], float) for key in READ_FIELDS.intersection(raw)):
        raw = {**raw, **_number_literals(document, raw)}
    fields: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            if key in READ_FIELDS:
                raise RejectedInput(f"{key} is not a string or a number", reason="bad_field")
            continue  # a field of the aggregator's own that nothing reads: no reason to lose the report for it
        fields[key] = "" if value is None else str(value)
    return fields


def _number_literals(document: bytes | str, raw: Mapping[str, Any]) -> dict[str, str]:
    """The read fields that orjson gave as floats, as their JSON numbers are written: a float's text is not its
    number's. An integer past 64 bits (`20261205055512345678`, the id of an aggregator that numbers its messages by
    the time) was read as 2.0261205055512346e+19, and every message of one number whose ids differed in their last
    digits got one dedup id: the second filed as a retry of the first, acknowledged, and lost. `1e5` was `100000.0`.
    Read again only for those (the standard library's parser, which hands a number over as its text)."""
    try:
        literals = json.loads(document, parse_float=str, parse_int=str)
    except RecursionError as error:  # orjson's depth limit is above the standard library's recursion limit
        raise RejectedInput("body is nested too deeply to read its numbers", reason="bad_json") from error
    return {key: literals[key] for key in READ_FIELDS.intersection(raw) if isinstance(raw[key], float)}


def _int_field(fields: Mapping[str, str], name: str) -> int | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise RejectedInput(f"{name} is not a number", reason="bad_field") from error


def parse_timestamp(value: str) -> str | None:
    """Kannel %T (unix seconds) or an RFC 3339 / `YYYY-MM-DD HH:MM:SS` time (UTC when no zone), as RFC 3339.

    None for one that is no time, or whose UTC falls outside years 1-9999 ("0001-01-01T00:00:00+07:00", a reset
    clock's): that raised out of the callback, a 500 the aggregator retried for ever, and a delivery report's crash."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromtimestamp(int(value), UTC) if value.isdigit() else datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except (ValueError, OverflowError):
        return None


def _is_text(data: str) -> bool:
    """Whether a payload is readable text: no control character but line breaks and tabs, no U+FFFD (bytes the
    charset did not hold)."""
    return bool(data.strip()) and "\ufffd" not in data and all(
        char.isprintable() or char in "\n\r\t " for char in data)


def _payload_coding(coding: str, data: str) -> str:
    """The coding to read a payload by. UCS-2 comes as hex (the standard, and read as hex whenever it is hex, even
    where it would read as words too), but some aggregators post a UCS-2 SMS as the UTF-8 text they decoded: refused
    `bad_hex`, the citizen's report was lost. A UCS-2 payload that is no hex (a character outside 0-9 A-F, or an odd
    count of digits) but is text is read as text ("gsm7": as it arrives), with a warning naming the mismatch."""
    if coding != "ucs2":
        return coding
    try:
        hex_bytes(data)
    except RejectedInput:
        if not _is_text(data):
            raise
        log.warning("aggregator.coding_mismatch", coding=coding, read_as="text", reason="not_hex")
        return "gsm7"
    return coding


def _raw_field(request: web.Request, body: bytes, fields: Mapping[str, str], name: str) -> bytes | None:
    """A field as the bytes it carries: its %-escapes undone to bytes, not read in a charset (a form body), or a JSON
    string of code points below 256 as those bytes. None when it holds no such bytes."""
    if request.content_type == "application/json" or body.lstrip(codecs.BOM_UTF8).lstrip()[:1] in (b"{", b"["):
        try:
            return fields.get(name, "").encode("latin-1")
        except UnicodeEncodeError:
            return None
    raw = [value for key, _, value in (pair.partition(b"=") for pair in body.split(b"&"))
           if urllib.parse.unquote_to_bytes(key.replace(b"+", b" ")) == name.encode()]
    return urllib.parse.unquote_to_bytes(raw[-1].replace(b"+", b" ")) if raw else None


def _udh_hex(udh: str, raw: bytes | None) -> str:
    """The UDH as hex: as it comes when it is hex (the README's contract), else its own bytes %-escaped, as Kannel's
    `%u` gives them (`%05%00%03%2A%02%01`): refused `bad_hex`, every concatenated SMS through Kannel was lost. A UDH
    opens with its length, a byte below 0x30 for any a part can hold, so its bytes are never read as hex digits."""
    try:
        hex_bytes(udh)
        return udh
    except RejectedInput:
        if raw and raw[0] + 1 == len(raw):
            return raw.hex()
        raise


def _kannel_bytes(coding: str, data: str, charset: str, raw: bytes | None) -> str:
    """A UCS-2 or 8-bit payload that is no hex but the message's own bytes, %-escaped (Kannel's `%a` and `%b`: its
    sms-service escapes a UCS-2 SMS's UTF-16BE bytes, `%00L%00A...`, and gives `%C` = UTF-16BE), as the hex the
    gateway reads them by, so the parts of a concatenated one are still joined as bytes. Refused `bad_hex`, every SMS
    with an emoji in it was lost. UCS-2 is taken so when `charset` names UTF-16 or the text is no text (a NUL, bytes
    that are no UTF-8), and its byte count is even; else it is left to `_payload_coding` (UTF-8 text). Hex stays hex."""
    if coding not in ("ucs2", "8bit") or raw is None or not raw:
        return data
    try:
        hex_bytes(data)
        return data
    except RejectedInput:
        pass
    if coding == "ucs2" and (len(raw) % 2 or (charset.strip().lower() not in UTF16_CHARSETS and _is_text(data))):
        return data
    return raw.hex().upper()


def _udh_field(fields: Mapping[str, str], raw_udh: bytes | None) -> str:
    """The `udh` field as hex (`_udh_hex`), "" without one; RejectedInput (`bad_hex`) naming the UDH."""
    udh = fields.get("udh", "").strip()
    try:
        return _udh_hex(udh, raw_udh) if udh else udh
    except RejectedInput as error:  # hex_bytes' words are the text's: "text is not hex" sent Kannel's admin astray
        raise RejectedInput("udh is not hex", reason="bad_hex") from error


def refuse_port_addressed(udh: str) -> None:
    """RejectedInput (`port_addressed`) for an SMS whose UDH (hex) carries an application port addressing element
    (`port_elements`), whatever its coding and whether it is a part of a concatenated one: it was decoded as text,
    filed as a complaint and acknowledged by SMS (a vCard sent to port 9204 put a third person's name and number in
    an open case; a WAP push filed the operator's binary as words). Refused before its parts are buffered, so no
    part of it waits to be joined. Logged with the ports and their width, never the payload or the sender."""
    ports = port_elements(udh) if udh else []
    if not ports:
        return
    port, origin, width = ports[-1]  # TS 23.040 9.2.3.24: a repeated element's last occurrence is the one used
    concatenated = bool(concat_elements(udh))
    log.warning("aggregator.port_addressed", reason="port_addressed", port=port, originator_port=origin,
                port_bits=width, concatenated=concatenated)
    raise RejectedInput(f"addressed to application port {port} ({width}-bit ports), not a person's text",
                        reason="port_addressed")


def _concat_fields(fields: Mapping[str, str], udh: str) -> tuple[str, int, int] | None:
    concat = parse_udh(udh) if udh else None
    for _, total, number in (element for element in (concat_elements(udh) if udh else [])
                             if not usable_concat(element)):
        # Refused `bad_concat`, the citizen's report was lost; ignored as the standard says, the SMS is one message.
        log.warning("concat.element_ignored", reason="part_outside_count", part_count=total, part_number=number)
    if concat is None and fields.get("ref", "").strip():
        # A number, as the README's contract says and a UDH's reference is: `ref=x` was taken as a part's reference.
        _int_field(fields, "ref")
        total, number = _int_field(fields, "parts"), _int_field(fields, "part")
        if total is None or number is None:
            raise RejectedInput("ref needs parts and part", reason="bad_concat")
        concat = (fields["ref"].strip(), total, number)
    if concat is None:
        return None
    _, total, number = concat
    if not 1 <= total <= MAX_PARTS:  # the aggregator's own ref/parts/part fields
        raise RejectedInput(f"part count outside 1 to {MAX_PARTS}", reason="bad_concat")
    if not 1 <= number <= total:
        raise RejectedInput("part number outside the part count", reason="bad_concat")
    return None if total == 1 else concat


def _address_forms(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
                   ) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    """An address as the allowlist may name it: an IPv4-mapped IPv6 one (`::ffff:203.0.113.9`, as a proxy or socket
    listening dual-stack writes an IPv4 client) also as its IPv4 address, as the rate limit reads it
    (`gateway.ratelimit.bucket_key`), and an IPv4 one also in that form (an entry copied from such a proxy's log). An
    IPv6 address is never in an IPv4 network, and a listed aggregator behind such a proxy had every callback refused
    `source_not_allowed`: its SMS lost."""
    if isinstance(address, ipaddress.IPv4Address):
        return address, ipaddress.IPv6Address(f"::ffff:{address}")
    return (address,) if address.ipv4_mapped is None else (address, address.ipv4_mapped)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The aggregator's word on one part of one reply."""

    reply_id: str
    part: int
    status: str
    dlr_type: int
    smsc_id: str | None = None
    at: str | None = None


class AggregatorSmsAdapter(WebhookAdapter):
    name = "sms-aggregator"
    path = "/v1/channels/sms/aggregator"
    settings_section = "aggregator"
    outbound_replies = True
    same_text_window = True
    dlr_path = DLR_PATH

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._allowed = [ipaddress.ip_network(entry, strict=False) for entry in settings.aggregator.allowlist]

    def authenticate(self, request: web.Request, body: bytes) -> None:
        if self._allowed:
            # Behind a trusted proxy the peer is the proxy: the aggregator's address is the one the proxy wrote into
            # ratelimit.source_header, as the rate limit reads it. Without that setting the header is not trusted.
            try:
                remote = ipaddress.ip_address(request_source(request, self.settings.ratelimit.source_header))
            except ValueError:
                remote = None
            if remote is None or not any(address in network for address in _address_forms(remote)
                                         for network in self._allowed):
                raise AuthenticationFailed("source address not in the allowlist", reason="source_not_allowed")
        verify_hmac_sha256(self.settings.aggregator.secret, body, request.headers.get(SIGNATURE_HEADER))

    def parse(self, request: web.Request, body: bytes) -> list[InboundMessage]:
        fields = read_fields(request, body)
        message_id, sender = fields.get("id", "").strip(), fields.get("from", "").strip()
        if not message_id or not sender:
            raise RejectedInput("id and from are required", reason="missing_field")
        if "text" not in fields:
            raise RejectedInput("text is required", reason="missing_field")
        coding = CODING_NAMES.get(fields.get("coding", "0").strip().lower() or "0")
        if coding is None:
            raise RejectedInput("unknown coding", reason="bad_coding")
        udh = _udh_field(fields, _raw_field(request, body, fields, "udh"))
        refuse_port_addressed(udh)
        data = fields["text"]
        if len(data) > MAX_TEXT:
            raise RejectedInput("text too long for an SMS part", reason="text_too_long")
        data = _kannel_bytes(coding, data, fields.get("charset", ""), _raw_field(request, body, fields, "text"))
        coding = _payload_coding(coding, data)
        text = decode_payload(coding, data)
        concat = _concat_fields(fields, udh)
        part = MessagePart(reference=concat[0], total=concat[1], number=concat[2], coding=coding, data=data) \
            if concat else None
        meta: dict[str, Any] = {"aggregator_id": message_id, "short_code": fields.get("to") or None}
        for key, name in (("smsc", "smsc"), ("sent_at", "ts")):
            value = parse_timestamp(fields.get(name, "")) if key == "sent_at" else fields.get(name) or None
            if value:
                meta[key] = value
        return [
            InboundMessage(
                channel=Channel.SMS,
                source=self.name,
                provider_message_id=message_id,
                sender_kind=SenderKind.MSISDN,
                sender_address=sender,
                recipient=fields.get("to") or None,
                text=text,
                received_at=utc_now(),
                channel_meta=meta,
                part=part,
                dedup_id=dedup_id(self.settings, message_id, sender, fields.get("smsc", "").strip(), text),
            )
        ]

    def respond(self, outcomes: Sequence[Outcome]) -> web.Response:
        """A 200 the aggregator needs no reply from: replies go out through the send URL."""
        return web.json_response(
            {
                "status": "accepted",
                "messages": [
                    {"tracking_id": outcome.tracking_id, "duplicate": outcome.duplicate}
                    for outcome in outcomes
                    if outcome.tracking_id  # queries (status, help) make no report
                ],
            }
        )

    def parse_dlr(self, request: web.Request, body: bytes) -> DeliveryReport:
        """A delivery report: `reply_id` and `part` (from our dlr-url), `type` (Kannel %d), `smsc_id`, `ts`.

        `reply_id` and `part` may stay in the query of the dlr-url we handed out (an aggregator POSTs its report to
        that URL as it is); the body's own fields win. The signature covers the body only, so a field taken from the
        query counts only with the dlr-url's `sig` beside it (`dlr_query_fields`)."""
        fields = read_fields(request, body)
        fields.update(self.dlr_query_fields(request, fields))
        reply_id = fields.get("reply_id", "").strip()
        dlr_type = _int_field(fields, "type")
        if not reply_id or dlr_type is None:
            raise RejectedInput("reply_id and type are required", reason="missing_field")
        if not reply_id.replace("-", "").isalnum() or len(reply_id) > 64:
            raise RejectedInput("reply_id malformed", reason="bad_field")
        part = _int_field(fields, "part")
        if part is not None and not 1 <= part <= MAX_PARTS:
            raise RejectedInput("part outside 1..255", reason="bad_field")
        return DeliveryReport(
            reply_id=reply_id,
            part=part or 1,
            status=DLR_TYPES.get(dlr_type, f"type_{dlr_type}"),
            dlr_type=dlr_type,
            smsc_id=fields.get("smsc_id") or fields.get("id") or None,
            at=parse_timestamp(fields.get("ts", "")),
        )

    def dlr_query_fields(self, request: web.Request, body_fields: Mapping[str, str]) -> dict[str, str]:
        """The dlr-url fields (`reply_id`, `part`) the signed body lacks, from the query, once the query's `sig` is
        the token (`dlr_token`, compared in constant time) over the reply id and part the report is recorded under:
        those the body names, the query's for the others. A body naming one reply (or part) cannot borrow the
        other field from a dlr-url of another one. Raises AuthenticationFailed: `dlr_token_missing` for a query
        without `sig` (a dlr-url handed out before tokens: the aggregator may still post to one for hours), and
        `dlr_token_invalid`. A report whose body names both fields needs no token: its signature covers them."""
        query = request.rel_url.query
        taken = {name: query[name] for name in DLR_URL_FIELDS if name not in body_fields and name in query}
        if not taken:
            return {}
        token = query.get(DLR_TOKEN_FIELD, "")
        if not token:
            raise AuthenticationFailed("the dlr-url's reply_id and part carry no sig", reason="dlr_token_missing")
        named = {**body_fields, **taken}
        reply_id, part = named.get("reply_id", "").strip(), named.get("part", "").strip()
        if part.isascii() and part.isdigit() and len(part) <= 3:
            part = str(int(part))  # "02" and "2" are one part, as the handler reads them
        if not constant_time_equals(dlr_token(self.settings.aggregator.secret, reply_id, part), token.strip()):
            raise AuthenticationFailed("the dlr-url's sig does not match its reply_id and part",
                                       reason="dlr_token_invalid")
        return taken
