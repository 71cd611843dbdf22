"""Sending SMS through the aggregator's Kannel sendsms-style URL: what the reply worker needs, no HTTP handler.

A reply is made GSM-7 safe, then sent as one SMS (up to 160 septets) or as 152-septet parts, each part its own
sendsms request carrying a concatenation UDH with a 16-bit reference (06 08 04 ref ref count number) so the phone
joins them; Kannel sends a `udh` it is given as it is, splitting nothing itself. A reply keeps the split it started
with (`SPLIT_16`, or the release before's `SPLIT_8` for a reply whose parts that release began sending). Each request
asks for delivery reports (`dlr-mask`, `dlr-url` pointing back at us with the reply id and part number, and `sig`,
a token over both: `dlr_token`).
Failures are classified once, by `channels.send_http.send_request` as every reply sender's: 5xx, 429, timeouts (a 408
too) and connection errors retry; any other answer but a 2xx (a 4xx, a redirect) is permanent. Only a 2xx is a part
accepted: the reply worker never sends a part again once it has one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import httpx
import orjson

from channels.gsm7 import MULTI_PART, MULTI_PART_16, split_parts, to_gsm7
from channels.send_http import send_request
from channels.signatures import hmac_sha256_hex
from gateway.logs import scrub
from gateway.private_files import open_private, private_directory
from gateway.settings import SMS_OUTBOX_URL, Settings
from gateway.tls import tls_context
from normalizer.envelope import utc_now

# Where delivery reports come back (the adapter serves it; this module must not import the HTTP handler).
DLR_PATH = "/v1/channels/sms/aggregator/dlr"
# Hex digits of the HMAC the dlr-url's `sig` keeps (128 bits).
DLR_TOKEN_CHARS = 32
OUTBOX_SCHEME = SMS_OUTBOX_URL
# The development outbox under the data dir: one file a day (UTC), so the retention's purge deletes a day's replies
# whole once none was written within it (workers/retention.py); sms-aggregator.jsonl, the one file earlier versions
# appended to for ever, goes by its age the same way.
OUTBOX_DIR = "outbox"
OUTBOX_FILE = re.compile(r"(?P<key>sms-aggregator(?:-[0-9]{4}-[0-9]{2}-[0-9]{2})?)\.jsonl")


def outbox_file(day: datetime) -> str:
    return f"sms-aggregator-{day:%Y-%m-%d}.jsonl"


@dataclass(frozen=True, slots=True)
class SmsPart:
    number: int
    total: int
    text: str
    udh: bytes | None


def dlr_token(secret: str, reply_id: str, part: str) -> str:
    """The `sig` of the dlr-url for one part of one reply: HMAC-SHA256(secret, "dlr|<reply_id>|<part>"), truncated.

    A delivery report's signature covers its body only, so the reply id and part it leaves in the dlr-url's query
    are only taken with this token beside them: without it, anyone holding one signed report whose body names no
    reply could post it again with any reply's id in the query, and mark another citizen's reply delivered or failed.
    `part` as the URL carries it (the decimal number, no padding)."""
    return hmac_sha256_hex(secret, f"dlr|{reply_id}|{part}".encode())[:DLR_TOKEN_CHARS]


# How a long reply is split, written on the reply's record with each part the aggregator accepts (`workers.reply`), so
# every run of the reply splits it the same way. `udh16`: 152-septet parts beside a 16-bit reference (IEI 08), this
# release's. `udh8`: 153-septet parts beside an 8-bit reference (IEI 00), the release before's, which wrote no split
# on the record: a reply whose parts it began sending is finished with its split. Split anew, the parts sent after an
# upgrade were parts of another message (another reference, another count, other boundaries): the phone joined
# neither, and the text at the boundary came twice.
SPLIT_16 = "udh16"
SPLIT_8 = "udh8"


def reply_parts(text: str, reply_id: str, split: str = SPLIT_16) -> list[SmsPart]:
    """The reply as GSM-7 SMS parts, with a concatenation UDH whose reference is derived from the reply id, so every
    run of the reply gives its parts the same one. 16 bits of it (IEI 08, 152 septets a part): a phone joins parts
    by sender, reference and count, and with 8 bits two long replies to one phone in 256 (a status answer and a help
    text at once) had the same reference, their parts joined as one message or the second's dropped as repeats.
    `split` `SPLIT_8`: as the release before split it (IEI 00, the digest's first byte, 153 septets a part); any
    other is this release's."""
    legacy = split == SPLIT_8
    chunks = split_parts(to_gsm7(text), MULTI_PART if legacy else MULTI_PART_16)
    if len(chunks) == 1:
        return [SmsPart(1, 1, chunks[0], None)]
    digest = hashlib.sha256(reply_id.encode()).digest()
    header = bytes([5, 0, 3, digest[0]]) if legacy else bytes([6, 8, 4, *digest[:2]])
    return [
        SmsPart(number, len(chunks), chunk, header + bytes([len(chunks), number]))
        for number, chunk in enumerate(chunks, start=1)
    ]


class AggregatorSender:
    """One sendsms request per part. `outbox:` as send URL (development) appends the parts to a local file."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self._settings = settings
        self._config = settings.aggregator
        self._client = client or httpx.Client(timeout=settings.aggregator.send_timeout_seconds,
                                              verify=tls_context())

    def close(self) -> None:
        self._client.close()

    # The split `parts` makes now, and the one a reply's record with parts sent but no split names was made with.
    SPLIT = SPLIT_16
    UNMARKED_SPLIT = SPLIT_8

    def parts(self, text: str, reply_id: str, split: str = SPLIT_16) -> list[SmsPart]:
        return reply_parts(text, reply_id, split)

    def request_url(self, to: str, part: SmsPart, reply_id: str) -> str:
        dlr_url = (
            f"{self._settings.public_url.rstrip('/')}{DLR_PATH}?"
            + urlencode({"reply_id": reply_id, "part": part.number,
                         "sig": dlr_token(self._config.secret, reply_id, str(part.number))})
        )
        params: list[tuple[str, str | bytes]] = [
            ("username", self._config.send_username),
            ("password", self._config.send_password),
            ("from", self._settings.sms.short_code),
            ("to", to),
            ("text", part.text),
            ("coding", "0"),
            ("charset", "UTF-8"),
            ("dlr-mask", str(self._config.dlr_mask)),
            ("dlr-url", dlr_url),
        ]
        if part.udh is not None:
            params.append(("udh", part.udh))
        separator = "&" if "?" in self._config.send_url else "?"
        return self._config.send_url + separator + urlencode(params, quote_via=quote)

    def send_part(self, to: str, part: SmsPart, reply_id: str) -> str:
        """Send one part; the aggregator's answer text (Kannel: "0: Accepted for delivery")."""
        if self._config.send_url.startswith(OUTBOX_SCHEME):
            return self._to_outbox(to, part, reply_id)
        response = send_request("aggregator", lambda: self._client.get(self.request_url(to, part, reply_id)),
                                describe=lambda answer: self._answer(answer, to, part.text),
                                setting="aggregator.send_url")
        return self._answer(response, to, part.text)

    def _answer(self, response: httpx.Response, to: str, text: str) -> str:
        """The aggregator's answer as the reply's record, its dead letter and the log keep it: without the send
        password, which an answer quoting the request (the sendsms URL) carries as its query does, nor the citizen's
        number and the reply's text it quotes with it (the record is kept as long as the report's envelope)."""
        answer, password = response.text[:2000], self._config.send_password
        quoted = ((password, "[secret]"), (to, "[phone]"), (to.lstrip("+"), "[phone]"), (text, "[text]"))
        for value, shown in quoted:
            forms = {value, quote(value, safe=""), quote_plus(value)} if value else set()
            for form in sorted(forms, key=len, reverse=True):
                answer = answer.replace(form, shown)
        return scrub(answer)[:200]

    def _to_outbox(self, to: str, part: SmsPart, reply_id: str) -> str:
        outbox = private_directory(Path(self._settings.data_dir) / OUTBOX_DIR)
        at = utc_now()
        line = {"at": at.isoformat(), "reply_id": reply_id, "to": to, "part": part.number,
                "parts": part.total, "text": part.text}
        with open_private(outbox / outbox_file(at), append=True) as handle:
            handle.write(orjson.dumps(line) + b"\n")
        return "outbox"
