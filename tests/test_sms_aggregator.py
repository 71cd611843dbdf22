"""The SMS aggregator channel end to end: real HTTP callbacks, real Redis and queues, the reference case store,
the reply worker against the aggregator's send URL (respx)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
import respx
from prometheus_client import REGISTRY
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job

from channels.base import InboundMessage, MessagePart
from channels.gsm7 import MULTI_PART_16, SINGLE_PART, is_gsm7, septets
from channels.sms_aggregator import concat_elements
from channels.sms_aggregator_send import SPLIT_8, SPLIT_16, AggregatorSender, dlr_token, reply_parts
from gateway.concat import PENDING_KEY, SEEN_MESSAGES, PartBuffer
from gateway.errors import PermanentError, RejectedInput, RetryableError
from gateway.health.signals import SIGNALS_KEY
from gateway.lease import Holder, process_table
from gateway.metrics import health_channel
from gateway.outbound import REPLY_FUNC, STATUS_FUNC, OutboundReplies, flood_key, reply_key
from gateway.queries import answer_query, casestore_client
from gateway.queues import (
    FORWARD_QUEUE,
    REPLY_QUEUE,
    STATUS_QUEUE,
    enqueue_calls,
    envelope_key,
    queue,
    redis_connection,
)
from gateway.replies import render, status_name, status_text
from gateway.settings import Settings, SettingsError, load_settings
from gateway.spool import SPOOL_DIR, SpoolRecord, encode_record
from gateway.tracking import format_tracking_id, is_valid_tracking_id
from gateway.unfiled import UnfiledMessages
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.pipeline import normalize
from tests.aggregator_support import (
    AGGREGATOR_PATH,
    AGGREGATOR_TEST_SETTINGS,
    DLR_PATH,
    AggregatorApi,
    aggregator_api,
    aggregator_settings,
    drain,
    fixture,
    post_callback,
    running_gateway,
    sent_part,
    sign,
)
from tests.conftest import (
    AGGREGATOR_SECRET,
    CaseStoreServer,
    GatewayServer,
    async_wait_until,
    log_events,
    serving_gateway,
    wait_until,
)
from tests.conftest import TestEnvironment as Environment
from tests.job_support import SecondJobInFirstSend
from tests.test_twilio_intake import tracking_id_in
from tests.upgrade_support import previous_module
from workers.deadletters import DeadLetters
from workers.reply import RateLimiter
from workers.report_payload import reply_handle
from workers.send_lease import SendInProgress, send_lease_key


@pytest.fixture
def settings(test_env: Environment) -> Settings:
    return aggregator_settings(test_env)


@pytest.fixture
def api() -> Iterator[AggregatorApi]:
    yield from aggregator_api()


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sms(number: str, text: str, message_id: str, **extra: str) -> dict[str, str]:
    return {"from": number, "to": "1708", "text": text, "id": message_id, "coding": "0", **extra}


def report_by_message_id(casestore: CaseStoreServer, message_id: str) -> dict[str, object]:
    matches = [r for r in casestore.reports() if r["channel_message_id"] == message_id]
    assert len(matches) == 1, [r["channel_message_id"] for r in casestore.reports()]
    return matches[0]


def additions_of(casestore: CaseStoreServer, tracking_id: str) -> list[dict[str, Any]]:
    """The additions the case store holds to report `tracking_id`, in the order of their words in the SMS (a late
    part's text is the part's alone, between gap markers)."""
    return sorted((report for report in casestore.reports() if report.get("follow_up_of") == tracking_id),
                  key=lambda report: (str(report["text"]).startswith("[...]"), str(report["text"])))


def nothing_queued(redis: Redis) -> bool:
    return all(queue(name, redis).count == 0 for name in (FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE)) and not list(
        redis.scan_iter("lapor:concat:*")
    ) and not list(redis.scan_iter("lapor:envelope:*"))


# -- the callback contract ------------------------------------------------------------------------------------------
async def test_a_kannel_callback_is_acknowledged_then_answered_by_sms_and_forwarded(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    payload = fixture("kannel_gsm7_form.json")["fields"]
    response = await post_callback(gateway.client, payload)

    assert response.status_code == 200
    body = response.json()
    tracking_id = body["messages"][0]["tracking_id"]
    assert is_valid_tracking_id(tracking_id)
    assert "reply" not in body and "LAPOR!" not in response.text  # the SMS goes out through the send URL

    drain(settings)
    stored = report_by_message_id(casestore, payload["id"])
    assert stored["tracking_id"] == tracking_id
    assert stored["source"] == "sms-aggregator"
    assert stored["sender"] == {"kind": "msisdn", "id": "+6281234567001", "display_name": None}
    assert stored["text"] == "Jalan berlubang di Jl. Merdeka, Bandung"
    assert stored["channel_meta"]["smsc"] == "telkomsel-smsc1"
    assert stored["channel_meta"]["sent_at"] == "2025-11-22T08:26:40Z"
    [part] = api.parts()
    assert part.to == "+6281234567001"
    assert part.sender == "1708"
    assert part.udh is None
    assert part.text == render("ack", "id", tracking_id=tracking_id)
    assert is_gsm7(part.text) and septets(part.text) <= SINGLE_PART
    record = gateway_redis(settings).hgetall(reply_key(part.reply_id))
    assert record[b"state"] == b"sent" and record[b"tracking_id"] == tracking_id.encode()


async def test_a_reply_sent_through_the_aggregator_is_counted_once(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """The webhook only queues the SMS reply; it is counted as sent when the reply worker has sent it."""
    async def aggregator_counters() -> dict[str, int]:
        document = (await gateway.client.get("/v1/status")).json()
        return next(c for c in document["channels"] if c["channel"] == "sms-aggregator")["counters"]

    before = await aggregator_counters()
    response = await post_callback(gateway.client, fixture("kannel_gsm7_form.json")["fields"])
    assert response.status_code == 200
    assert (await aggregator_counters())["replies_sent"] == before["replies_sent"]  # queued, not sent yet
    drain(settings)
    assert len(api.parts()) == 1
    assert (await aggregator_counters())["replies_sent"] - before["replies_sent"] == 1


def gateway_redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url)


@pytest.mark.parametrize(
    "name", ["kannel_ucs2_form.json", "kannel_ucs2_le_bom_form.json", "kannel_8bit_form.json"],
    ids=["ucs2-hex-with-emoji", "ucs2-little-endian-with-bom", "8bit-hex"],
)
async def test_hex_codings_are_decoded(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, name: str
) -> None:
    case = fixture(name)
    assert (await post_callback(gateway.client, case["fields"])).status_code == 200
    drain(settings)
    stored = report_by_message_id(casestore, case["fields"]["id"])
    assert stored["text"] == case["expected_text"]
    [reply] = api.parts()
    assert is_gsm7(reply.text)  # the emoji never comes back in the reply


def _kannel_bodies() -> list[Any]:
    """Callbacks as Kannel's get-url escapes make them (the README's `get-url`): `%a`/`%b` are the message's own
    bytes %-escaped (UTF-16BE for a UCS-2 SMS, `%C` = UTF-16BE), `%u` the UDH's bytes %-escaped, no hex anywhere."""
    single = fixture("kannel_ucs2_raw_bytes_form.json")
    concat = fixture("kannel_concat_ucs2_raw_bytes.json")
    raw = "LAPOR jalan rusak 😡".encode("utf-16-be")
    as_json = orjson.dumps({"from": "085712345012", "to": "1708", "id": "kannel-ucs2-raw-json", "coding": 2,
                            "charset": "UTF-16BE", "text": raw.decode("latin-1")})
    return [
        pytest.param([single["body"]], FORM, single["expected_text"], id="ucs2-bytes-with-charset"),
        pytest.param([single["body"].replace("&charset=UTF-16BE", "")], FORM, single["expected_text"],
                     id="ucs2-bytes-without-charset"),
        pytest.param(["from=085712345013&to=1708&id=kannel-8bit-raw&coding=1&charset=8-BIT&text="
                      "LAPOR%3A+pungli+Rp+50.000+di+kantor+kelurahan+caf%C3%A9"], FORM,
                     "pungli Rp 50.000 di kantor kelurahan caf\u00e9", id="8bit-bytes"),
        pytest.param([as_json.decode()], JSON, "jalan rusak 😡", id="ucs2-bytes-in-json"),
        pytest.param(concat["bodies"], FORM, concat["expected_text"], id="concat-ucs2-bytes-split-surrogate-udh-bytes"),
        pytest.param([f"from=085712345014&to=1708&id=kannel-gsm7-udh-{n}&coding=0&charset=UTF-8"
                      f"&udh=%05%00%03%20%0A%{n:02X}&text={'LAPOR+sampah+' if n == 1 else 'bagian+' + str(n)}"
                      for n in (10, *range(1, 10))], FORM,
                     "sampah bagian 2bagian 3bagian 4bagian 5bagian 6bagian 7bagian 8bagian 9bagian 10",
                     id="concat-gsm7-udh-bytes-whitespace-reference-and-part"),
    ]


@pytest.mark.parametrize(("bodies", "content_type", "stored"), _kannel_bodies())
async def test_a_callback_as_kannels_escapes_give_it_is_read(
    gateway: GatewayServer, redis: Redis, bodies: list[str], content_type: str, stored: str
) -> None:
    """Kannel's sms-service escapes give a UCS-2 or 8-bit SMS's bytes, and the UDH's, %-escaped, not as hex: each was
    refused `bad_hex`, so every SMS with an emoji, and every concatenated one, sent through the README's get-url was
    lost. The bytes are read as the hex would be: parts joined as bytes, a character split between them kept."""
    answers = []
    for body in bodies:
        raw = body.encode()
        response = await gateway.client.post(AGGREGATOR_PATH, content=raw, headers={
            "Content-Type": content_type, "X-Lapor-Signature": sign(raw)})
        assert response.status_code == 200, response.text
        answers.append(response.json()["messages"])
    assert answers[:-1] == [[]] * (len(bodies) - 1)
    [message] = answers[-1]
    assert orjson.loads(redis.get(envelope_key(message["tracking_id"])))["text"] == stored


@pytest.mark.parametrize(
    ("text", "stored", "mismatch"),
    [
        pytest.param(fixture("kannel_ucs2_utf8_text_form.json")["fields"]["text"],
                     fixture("kannel_ucs2_utf8_text_form.json")["expected_text"], True, id="utf8-text-not-hex"),
        # Hex digits alone, but an odd count of them: no UTF-16 can be so; the text it is.
        pytest.param("ACE", "ACE", True, id="odd-count-of-hex-digits"),
        # Hex and words at once: hex, as the standard has UCS-2 (read as text, it was "CAFE BABE").
        pytest.param("CAFE BABE", bytes.fromhex("CAFEBABE").decode("utf-16-be"), False, id="hex-that-reads-as-words"),
        pytest.param("LAPOR jalan rusak".encode("utf-16-be").hex().upper(), "jalan rusak", False, id="genuine-hex"),
    ],
)
async def test_a_ucs2_payload_that_is_no_hex_but_text_is_read_as_text(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, text: str, stored: str, mismatch: bool
) -> None:
    """Some aggregators post a UCS-2 SMS (coding=2) as the UTF-8 text they decoded, not as hex: refused `bad_hex`,
    the citizen's report was lost. Read as text, with a warning that names the mismatch and nothing of the text."""
    response = await post_callback(gateway.client, sms("085712345003", text, f"ucs2-text-{len(text)}", coding="2"))
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    assert orjson.loads(redis.get(envelope_key(message["tracking_id"])))["text"] == stored
    warnings = [(e["level"], e["coding"], e["read_as"], e["reason"]) for e in log_events(log_stream)
                if e["event"] == "aggregator.coding_mismatch"]
    assert warnings == ([("warning", "ucs2", "text", "not_hex")] if mismatch else [])
    assert "banjir" not in log_stream.getvalue()  # no word of the message in the log


async def test_a_json_callback_works_like_a_form(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    case = fixture("json_body.json")
    response = await post_callback(gateway.client, case["body"], as_json=True)
    assert response.status_code == 200
    drain(settings)
    stored = report_by_message_id(casestore, case["body"]["id"])
    assert stored["kind"] == "aspiration"
    assert stored["text"] == "tambah trayek angkot ke pasar"


async def test_json_numbers_are_read_as_written_and_two_ids_past_64_bits_are_two_messages(
    gateway: GatewayServer, redis: Redis
) -> None:
    """An aggregator that numbers its messages by the time writes ids past 64 bits as JSON numbers. They were read as
    floats: 20261205055512345678 and ...679 were both "2.0261205055512346e+19", so the citizen's second SMS had the
    first one's dedup id and was answered as its retry (its Tracking ID, `duplicate`), never filed. Each read field
    holds the number as written (`1e5` was "100000.0")."""
    answers = []
    for last, text in (("78", "LAPOR jalan rusak di depan pasar"), ("79", "LAPOR lampu jalan mati di gang 3")):
        body = (b'{"id": 202612050555123456' + last.encode() + b', "from": 6281234567002, "to": 1708, '
                b'"ts": 1.7649e9, "text": "' + text.encode() + b'"}')
        response = await gateway.client.post(AGGREGATOR_PATH, content=body,
                                             headers={"Content-Type": JSON, "X-Lapor-Signature": sign(body)})
        assert response.status_code == 200, response.text
        [message] = response.json()["messages"]
        answers.append(message)
    assert [answer["duplicate"] for answer in answers] == [False, False]
    assert answers[0]["tracking_id"] != answers[1]["tracking_id"]
    envelopes = [orjson.loads(redis.get(envelope_key(answer["tracking_id"]))) for answer in answers]
    assert [e["channel_message_id"] for e in envelopes] == ["20261205055512345678", "20261205055512345679"]
    response = await gateway.client.post(AGGREGATOR_PATH, content=(body := b'{"id": "t-1e5", "from": "6281234567003",'
                                                                           b' "text": 1e5}'),
                                         headers={"Content-Type": JSON, "X-Lapor-Signature": sign(body)})
    [message] = response.json()["messages"]
    assert orjson.loads(redis.get(envelope_key(message["tracking_id"])))["text"] == "1e5"


SENT = b"id=enc-1&from=6281234567001&to=1708&text="
SENT_JSON = b'{"id": "enc-1", "from": "6281234567001", "to": "1708", "text": '


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        pytest.param(SENT + b"LAPOR+jalan+rusak+depan+caf%C3%A9", FORM, "jalan rusak depan caf\u00e9",
                     id="utf8-default"),
        pytest.param(SENT + b"LAPOR+jalan+rusak+depan+caf\xe9", FORM + "; charset=ISO-8859-1",
                     "jalan rusak depan caf\u00e9", id="latin1-bytes"),
        pytest.param(SENT + b"LAPOR+jalan+rusak+depan+caf%E9", FORM + "; charset=iso-8859-1",
                     "jalan rusak depan caf\u00e9", id="latin1-escaped"),
        pytest.param(SENT + b"LAPOR+jalan+%93rusak%94+depan+caf%E9", FORM + '; charset="windows-1252"',
                     "jalan \u201crusak\u201d depan caf\u00e9", id="cp1252-quoted-charset"),
        pytest.param(SENT_JSON + b'"LAPOR jalan rusak depan caf\xc3\xa9"}', "text/plain",
                     "jalan rusak depan caf\u00e9", id="json-labelled-text"),
        pytest.param(b"\n " + SENT_JSON + b'"LAPOR jalan rusak depan caf\xc3\xa9"}', "",
                     "jalan rusak depan caf\u00e9", id="json-without-content-type"),
        # A UTF-8 byte order mark first (Windows tools, .NET's default UTF-8 writer): dropped, not `bad_json`.
        pytest.param(b"\xef\xbb\xbf" + SENT_JSON + b'"LAPOR jalan rusak depan caf\xc3\xa9"}', JSON,
                     "jalan rusak depan caf\u00e9", id="json-after-a-bom"),
        pytest.param(b"\xef\xbb\xbf" + SENT_JSON + b'"LAPOR jalan rusak depan caf\xc3\xa9"}', JSON + "; charset=UTF-8",
                     "jalan rusak depan caf\u00e9", id="json-utf8-declared-after-a-bom"),
        pytest.param(b"\xef\xbb\xbf" + SENT_JSON + b'"LAPOR jalan rusak depan caf\xc3\xa9"}', "",
                     "jalan rusak depan caf\u00e9", id="json-unlabelled-after-a-bom"),
        pytest.param(b"\xef\xbb\xbf" + SENT + b"LAPOR+jalan+rusak+depan+caf%C3%A9", FORM,
                     "jalan rusak depan caf\u00e9", id="form-after-a-bom"),
    ],
)
async def test_a_callback_is_read_in_the_format_and_charset_it_has(
    gateway: GatewayServer, redis: Redis, body: bytes, content_type: str, text: str
) -> None:
    """A declared charset is honoured (Kannel hands GSM-7 text on as Latin-1), and a JSON body is read as JSON even
    when its client labels it text/plain or not at all, instead of a "missing id and from" that names no cause."""
    response = await gateway.client.post(AGGREGATOR_PATH, content=body,
                                         headers={"Content-Type": content_type, "X-Lapor-Signature": sign(body)})
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    envelope = orjson.loads(redis.get(envelope_key(message["tracking_id"])))
    assert envelope["text"] == text


@pytest.mark.parametrize(
    ("coding", "text", "stored"),
    [
        pytest.param("0", "LAPOR jalan rusak", "jalan rusak", id="kannel-7bit"),
        pytest.param("", "LAPOR jalan rusak", "jalan rusak", id="blank"),
        # Kannel's DC_UNDEF: %c of a message no SMSC driver set a coding for (one relayed over an HTTP SMSC that gave
        # none). Kannel reads its text as 7-bit, UTF-8 (%C); refused `bad_coding`, the report was lost.
        pytest.param("-1", "LAPOR jalan rusak", "jalan rusak", id="kannel-undefined"),
        pytest.param(" -1 ", "LAPOR jalan rusak", "jalan rusak", id="kannel-undefined-spaced"),
        pytest.param("2", "LAPOR jalan rusak".encode("utf-16-be").hex(), "jalan rusak", id="kannel-ucs2"),
        pytest.param("UCS-2", "LAPOR jalan rusak".encode("utf-16-be").hex(), "jalan rusak", id="named-ucs2"),
    ],
)
async def test_each_coding_kannel_gives_reads_the_text(
    gateway: GatewayServer, redis: Redis, coding: str, text: str, stored: str
) -> None:
    response = await post_callback(gateway.client, sms("081234567890", text, f"coding-{coding.strip()}",
                                                       coding=coding))
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    assert orjson.loads(redis.get(envelope_key(message["tracking_id"])))["text"] == stored


@pytest.mark.parametrize(
    ("case", "fields", "reason"),
    [
        ("no-id", {"from": "081234567890", "text": "lapor"}, "missing_field"),
        ("no-sender", {"id": "x1", "text": "lapor"}, "missing_field"),
        # Neither hex nor text (a control character): not read as text, as a UCS-2 payload that is no hex is.
        ("bad-hex", {"from": "081234567890", "id": "x2", "text": "zz\x0012", "coding": "2"}, "bad_hex"),
        ("unknown-coding", {"from": "081234567890", "id": "x3", "text": "a", "coding": "9"}, "bad_coding"),
        ("part-beyond-count", {"from": "081234567890", "id": "x4", "text": "a", "ref": "10", "parts": "2", "part": "4"},
         "bad_concat"),
        ("part-count-beyond-any-sms", {"from": "081234567890", "id": "x7", "text": "a", "ref": "10",
                                       "parts": "999999999999", "part": "1"}, "bad_concat"),
        # A concatenation reference that is no number: taken as a part's reference, the README saying `bad_field`.
        ("ref-not-a-number", {"from": "081234567890", "id": "x8", "text": "a", "ref": "x", "parts": "2", "part": "1"},
         "bad_field"),
        ("not-a-number", {"from": "halo", "id": "x5", "text": "LAPOR jalan rusak"}, "bad_sender"),
        # Read off a keypad it was +6236364636, someone else's number: their report, and the reply SMS to them.
        ("sender-id-of-letters-and-digits", {"from": "3636INFO", "id": "x6", "text": "LAPOR jalan rusak"},
         "bad_sender"),
    ],
)
async def test_malformed_callbacks_get_a_typed_400(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, case: str, fields: dict[str, str], reason: str
) -> None:
    response = await post_callback(gateway.client, fields)
    assert response.status_code == 400
    assert response.json()["error"] == reason
    if case.startswith("part-"):  # which of the two numbers is wrong
        assert response.json()["detail"] == ("part count outside 1 to 255" if "any-sms" in case
                                             else "part number outside the part count")
    assert nothing_queued(redis)
    assert any(e["event"] == "message.rejected" and e["reason"] == reason for e in log_events(log_stream))


@dataclass(frozen=True)
class PortAddressed:
    """A callback fixture (one SMS, or the parts of one) and what becomes of it: refused `port_addressed` with its
    destination `port` (None: taken, its `expected_text` filed and acknowledged)."""

    id: str
    fixture: str
    port: int | None
    port_bits: int | None = None


PORT_ADDRESSED = [
    PortAddressed("vcard-16bit-ports", "kannel_8bit_vcard_port_9204.json", 9204, 16),
    PortAddressed("wap-push-16bit-ports", "kannel_8bit_wap_push_port_2948.json", 2948, 16),
    # Its payload opens with "LAPOR ": still no one's text.
    PortAddressed("8bit-ports", "kannel_8bit_ports_8bit.json", 245, 8),
    PortAddressed("vcard-16bit-ports-then-concatenation", "kannel_8bit_vcard_port_9204_concat.json", 9204, 16),
    PortAddressed("concatenation-then-8bit-ports", "kannel_8bit_ports_8bit_concat.json", 245, 8),
    PortAddressed("plain-concatenated-text", "kannel_concat_gsm7_udh.json", None),
    PortAddressed("plain-8bit-text", "kannel_8bit_form.json", None),
]


@pytest.mark.parametrize("row", PORT_ADDRESSED, ids=[row.id for row in PORT_ADDRESSED])
async def test_an_sms_addressed_to_an_application_port_is_refused_and_never_filed_or_answered(
    row: PortAddressed, gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings,
    redis: Redis, log_stream: io.StringIO,
) -> None:
    """An SMS whose UDH addresses an application port (IEI 04, 8-bit ports; 05, 16-bit ports: 3GPP TS 23.040
    9.2.3.24.3, .4) is for an application on the phone, not a person's text. Its payload was decoded as words: a vCard
    sent to port 9204 was filed as a complaint (a third person's name and number in an open case) and acknowledged by
    SMS, and so was a WAP push. It is refused with a typed 400 (not retried, as every malformed callback), its parts
    not buffered, no reply; logged with the port, counted as refusals are. A concatenated text is taken as before."""
    case = fixture(row.fixture)
    parts = case.get("parts") or [case["fields"]]
    assert (case.get("port"), case.get("port_bits")) == (row.port, row.port_bits)
    counter = {"channel": "sms-aggregator", "reason": "port_addressed"}
    before = REGISTRY.get_sample_value("lapor_messages_rejected_total", counter) or 0
    answers = [await post_callback(gateway.client, part) for part in parts]
    drain(settings)
    if row.port is None:
        assert [answer.status_code for answer in answers] == [200] * len(parts)
        [message] = answers[-1].json()["messages"]
        assert report_by_message_id(casestore, parts[0]["id"])["text"] == case["expected_text"]
        assert [part.text for part in api.parts()] == [render("ack", "id", tracking_id=message["tracking_id"])]
        assert not [e for e in log_events(log_stream) if e["event"] == "aggregator.port_addressed"]
        return
    detail = f"addressed to application port {row.port} ({row.port_bits}-bit ports), not a person's text"
    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (400, {"error": "port_addressed", "detail": detail})] * len(parts)
    assert nothing_queued(redis)  # no part buffered, no report, no reply queued
    assert casestore.reports() == [] and api.parts() == []
    assert (REGISTRY.get_sample_value("lapor_messages_rejected_total", counter) or 0) - before == len(parts)
    events = log_events(log_stream)
    told = [e for e in events if e["event"] == "aggregator.port_addressed"]
    assert [(e["channel"], e["reason"], e["port"], e["port_bits"], e["concatenated"]) for e in told] == [
        ("sms-aggregator", "port_addressed", row.port, row.port_bits, len(parts) > 1)] * len(parts)
    assert [e["reason"] for e in events if e["event"] == "message.rejected"] == ["port_addressed"] * len(parts)
    logged = log_stream.getvalue()
    for part in parts:
        assert part["text"] not in logged and part["from"] not in logged
    for payload in (bytes.fromhex(part["text"]).decode("latin-1") for part in parts):
        assert not any(line in logged for line in payload.splitlines() if len(line) > 4)


JSON_SMS = {"from": "081234567890", "to": "1708", "id": "json-1", "text": "LAPOR jalan rusak", "coding": "0"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("text", ["LAPOR", "jalan rusak"], id="text-array"),
        pytest.param("text", {"isi": "LAPOR jalan rusak"}, id="text-object"),
        pytest.param("id", ["json-1"], id="id-array"),
        pytest.param("id", {"x": 1}, id="id-object"),
        pytest.param("id", True, id="id-boolean"),
        pytest.param("from", ["081234567890"], id="from-array"),
        pytest.param("to", ["1708"], id="to-array"),
        pytest.param("smsc", {"name": "telkomsel-smsc1"}, id="smsc-object"),
        pytest.param("ts", [1764000000], id="ts-array"),
    ],
)
async def test_a_json_field_that_is_neither_a_string_nor_a_number_is_a_typed_400(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, field: str, value: object
) -> None:
    """Read as Python prints it, a text of ["LAPOR", "jalan rusak"] reached the case store as the report
    "['LAPOR', 'jalan rusak']" (its LAPOR unread), an id of {"x": 1} as the message id "{'x': 1}"."""
    response = await post_callback(gateway.client, {**JSON_SMS, field: value}, as_json=True)
    assert (response.status_code, response.json()) == (
        400, {"error": "bad_field", "detail": f"{field} is not a string or a number"})
    assert nothing_queued(redis)
    assert any(e["event"] == "message.rejected" and e["reason"] == "bad_field" for e in log_events(log_stream))


@pytest.mark.parametrize(
    ("extra", "message_id"),
    [
        pytest.param({"id": 12345, "ts": 1764000000, "coding": 0}, "12345", id="numbers"),
        pytest.param({"meta": {"gateway": "kannel"}, "tags": ["a"], "flash": False}, "json-1",
                     id="unread-fields-of-any-kind"),
    ],
)
async def test_a_json_callback_with_numbers_or_unread_fields_of_any_kind_is_taken(
    gateway: GatewayServer, redis: Redis, extra: dict[str, object], message_id: str
) -> None:
    response = await post_callback(gateway.client, {**JSON_SMS, **extra}, as_json=True)
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    envelope = orjson.loads(redis.get(envelope_key(message["tracking_id"])))
    assert (envelope["text"], envelope["channel_message_id"]) == ("jalan rusak", message_id)


@pytest.mark.parametrize(("fields", "detail"), [
    ({"text": "zz\x0012", "coding": "2"}, "text is not hex for its coding"),
    ({"text": "LAPOR jalan rusak", "udh": "zz"}, "udh is not hex"),
], ids=["text", "udh"])
async def test_a_field_that_is_not_hex_is_named_in_the_400(gateway: GatewayServer, fields: dict[str, str],
                                                          detail: str) -> None:
    """A UDH that is not hex was answered "text is not hex for its coding": the aggregator's admin looked at a text
    that was fine."""
    response = await post_callback(gateway.client, {"from": "081234567890", "id": "hex-1", **fields})
    assert (response.status_code, response.json()) == (400, {"error": "bad_hex", "detail": detail})


@pytest.mark.parametrize(
    "udh",
    [
        pytest.param("0500030A0204", id="part-above-count"),
        pytest.param("0500030A0200", id="part-zero"),
        pytest.param("0500030A0001", id="count-zero"),
        pytest.param("0608040A0B0203", id="16bit-part-above-count"),
        # A text formatting element (EMS, IEI 0A) first: read past. (Port addressing first was this row's element;
        # such an SMS is refused now, `port_addressed`.)
        pytest.param("0A0A0300050100030A0200", id="part-zero-after-text-formatting"),
    ],
)
async def test_a_concatenation_element_out_of_range_is_ignored_and_the_sms_taken_as_one_message(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, udh: str
) -> None:
    """3GPP TS 23.040 (9.2.3.24.1) has a receiver ignore a concatenation element whose part number is 0 or above its
    count, and take the SMS as a single message. It was refused `bad_concat`, and the citizen's report lost."""
    response = await post_callback(gateway.client, sms("081234567890", "LAPOR jalan rusak", f"udh-{udh}", udh=udh))
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    envelope = orjson.loads(redis.get(envelope_key(message["tracking_id"])))
    assert (envelope["text"], envelope["channel_message_id"]) == ("jalan rusak", f"udh-{udh}")
    assert not list(redis.scan_iter("lapor:concat:*"))
    ignored = [e for e in log_events(log_stream) if e["event"] == "concat.element_ignored"]
    assert [(e["channel"], e["reason"]) for e in ignored] == [("sms-aggregator", "part_outside_count")]
    assert "081234567890" not in log_stream.getvalue() and "jalan rusak" not in log_stream.getvalue()


# -- authentication ---------------------------------------------------------------------------------------------------
def _wrong_signature(body: bytes) -> str:
    return sign(body, secret="someone-elses-secret")


@pytest.mark.parametrize(
    ("case", "signature", "reason"),
    [
        ("missing", None, "signature_missing"),
        ("not-sha256-prefixed", "md5=abc", "signature_malformed"),
        ("garbage", "sha256=00ff", "signature_invalid"),
        ("other-secret", "other", "signature_invalid"),
        ("tampered-body", "tampered", "signature_invalid"),
    ],
)
async def test_a_bad_signature_is_refused_and_nothing_is_queued(
    gateway: GatewayServer, redis: Redis, api: AggregatorApi, log_stream: io.StringIO, settings: Settings,
    case: str, signature: str | None, reason: str,
) -> None:
    fields = sms("081234567890", "LAPOR pungli di kelurahan", "sig-1", udh="050003010201")
    body = urlencode(fields).encode()
    if signature == "other":
        signature = _wrong_signature(body)
    elif signature == "tampered":
        signature = sign(urlencode({**fields, "text": "LAPOR palsu"}).encode())
    response = await post_callback(gateway.client, fields, signature=signature)

    assert response.status_code == 403
    assert response.json()["error"] == reason
    assert nothing_queued(redis)
    drain(settings)
    assert api.parts() == []
    rejected = [e for e in log_events(log_stream) if e["event"] == "message.rejected"]
    assert [(e["channel"], e["reason"]) for e in rejected] == [("sms-aggregator", reason)]


@pytest.mark.parametrize(
    ("allowlist", "source_header", "forwarded_for", "status"),
    [
        pytest.param("10.0.0.0/8,192.168.1.7", "", None, 403, id="not-listed"),
        pytest.param("127.0.0.1/32", "", None, 200, id="listed-network"),
        pytest.param("10.1.2.3,127.0.0.0/8", "", None, 200, id="listed-among-others"),
        # Behind a proxy the peer is the proxy; the aggregator's address is the one the proxy wrote.
        pytest.param("203.0.113.0/24", "X-Forwarded-For", "198.51.100.1, 203.0.113.9", 200, id="proxy-listed"),
        pytest.param("203.0.113.0/24", "X-Forwarded-For", "203.0.113.9, 198.51.100.1", 403, id="proxy-not-listed"),
        pytest.param("203.0.113.0/24", "X-Forwarded-For", "not-an-address", 403, id="proxy-garbled"),
        # A proxy on a dual-stack socket writes an IPv4 client as IPv4-mapped IPv6 (`::ffff:203.0.113.9`): it is that
        # IPv4 address, as the rate limit reads it. Refused, every SMS of a listed aggregator was lost.
        pytest.param("203.0.113.0/24", "X-Forwarded-For", "::ffff:203.0.113.9", 200, id="proxy-ipv4-mapped"),
        pytest.param("203.0.113.0/24", "X-Forwarded-For", "::ffff:198.51.100.1", 403, id="proxy-mapped-not-listed"),
        pytest.param("::ffff:203.0.113.0/120", "X-Forwarded-For", "203.0.113.9", 200, id="listed-as-ipv4-mapped"),
        pytest.param("127.0.0.0/8", "X-Forwarded-For", "203.0.113.9", 403, id="proxy-its-own-address-is-not-enough"),
        # Without a trusted proxy configured, a client naming an allowed address in the header gains nothing.
        pytest.param("203.0.113.0/24", "", "203.0.113.9", 403, id="header-not-trusted"),
    ],
)
async def test_the_source_allowlist(
    test_env: Environment, redis: Redis, casestore: CaseStoreServer, allowlist: str, source_header: str,
    forwarded_for: str | None, status: int,
) -> None:
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_ALLOWLIST=allowlist,
                                   LAPOR_RATELIMIT_SOURCE_HEADER=source_header)
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    async with running_gateway(settings, redis) as gateway:
        response = await post_callback(gateway.client, sms("081234567890", "LAPOR jalan rusak", "allow-1"),
                                       headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"] == "source_not_allowed"
        assert nothing_queued(redis)
    else:
        assert queue(FORWARD_QUEUE, redis).count == 1


def test_production_refuses_to_start_without_the_aggregator_secret(test_env: Environment) -> None:
    values = {k: v for k, v in test_env.values.items() if k != "LAPOR_AGGREGATOR_SECRET"}
    with pytest.raises(SettingsError, match="LAPOR_AGGREGATOR_SECRET"):
        load_settings(values)
    assert load_settings({**values, "LAPOR_AGGREGATOR_ENABLED": "false"}).aggregator.enabled is False
    development = load_settings({**values, "LAPOR_PROFILE": "development"})
    assert development.aggregator.secret == "dev-aggregator-secret"
    with pytest.raises(SettingsError, match=r"aggregator\.allowlist"):
        load_settings({**test_env.values, "LAPOR_AGGREGATOR_ALLOWLIST": "10.0.0.0/8,not-an-address"})


# -- concatenated SMS ------------------------------------------------------------
@pytest.mark.parametrize(
    "order",
    [[1, 2, 3], [3, 1, 2], [2, 3, 1], [3, 3, 1, 1, 2], [2, 1, 2, 3, 3]],
    ids=["in-order", "last-first", "first-last", "duplicates-before-the-end", "duplicates-after-the-end"],
)
async def test_concatenated_parts_are_joined_in_any_order_duplicates_ignored(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    order: list[int],
) -> None:
    case = fixture("kannel_concat_gsm7_udh.json")
    answers = []
    for number in order:
        response = await post_callback(gateway.client, case["parts"][number - 1])
        assert response.status_code == 200
        answers.append(response.json()["messages"])
    # Parts before the last are stored and acknowledged without a report; the completing part carries the ID.
    tracking_ids = {m["tracking_id"] for messages in answers for m in messages}
    assert len(tracking_ids) == 1

    drain(settings)
    [stored] = casestore.reports()
    assert stored["text"] == case["expected_text"]
    assert stored["incomplete"] is False
    assert stored["channel_message_id"] == "kannel-cc-1"
    assert stored["channel_meta"]["part_ids"] == ["kannel-cc-1", "kannel-cc-2", "kannel-cc-3"]
    assert len(api.parts()) == 1  # one acknowledgement, however many duplicates
    assert redis.zcard(PENDING_KEY) == 0


async def test_concatenated_messages_of_two_senders_with_the_same_part_ids_are_two_reports(
    gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings
) -> None:
    """A joined SMS is known by its first part's id: with the same ids from two aggregators, the second citizen's
    joined message was deduped as the first's unless the join kept the sender in its identity."""
    case = fixture("kannel_concat_gsm7_udh.json")
    answers = []
    for sender in ("6281234567021", "6285712345022"):
        for part in case["parts"]:
            answers.append((await post_callback(gateway.client, {**part, "from": sender})).json()["messages"])
    [a], [b] = (messages for messages in answers if messages)
    assert (a["duplicate"], b["duplicate"]) == (False, False) and a["tracking_id"] != b["tracking_id"]
    drain(settings)
    assert [r["text"] for r in casestore.reports()] == [case["expected_text"]] * 2


async def test_a_part_is_durable_in_redis_before_it_is_acknowledged(
    gateway: GatewayServer, redis: Redis
) -> None:
    case = fixture("kannel_concat_gsm7_udh.json")
    response = await post_callback(gateway.client, case["parts"][1])
    assert response.status_code == 200 and response.json()["messages"] == []
    [buffer] = [k for k in redis.scan_iter("lapor:concat:sms-aggregator:*") if not k.endswith(b":done")]
    stored = orjson.loads(redis.hget(buffer, "p2"))
    assert stored["data"] == case["parts"][1]["text"]
    assert redis.zscore(PENDING_KEY, buffer) is not None


async def test_missing_parts_are_taken_as_they_are_after_the_wait_marked_incomplete(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    case = fixture("kannel_concat_gsm7_udh.json")
    for number in (3, 1):
        assert (await post_callback(gateway.client, case["parts"][number - 1])).status_code == 200
    assert queue(FORWARD_QUEUE, redis).count == 0

    # The gateway's sweep (every 0.2 s here) takes the message once the 1 s wait is over.
    # The buffer leaves the pending set only after the message is committed (and its reply queued).
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    await async_wait_until(lambda: queue(FORWARD_QUEUE, redis).count == 1, timeout=5)  # after the linger
    drain(settings)
    [stored] = casestore.reports()
    assert stored["incomplete"] is True
    first, third = case["parts"][0]["text"], case["parts"][2]["text"]
    assert stored["text"] == f"{first[len('LAPOR '):]} [...] {third}".strip()
    # Anonymous (its missing part may have held ANONIM): the case store gets no channel_meta, the gateway's copy has it.
    assert stored["anonymous"] is True
    assert orjson.loads(redis.get(envelope_key(stored["tracking_id"])))["channel_meta"]["parts_received"] == 2
    [ack] = api.parts()
    assert ack.text == render("ack_incomplete", "id", tracking_id=stored["tracking_id"])

    # The missing part arriving late does not make a second report: it gets the same Tracking ID, no new SMS, and its
    # words are added to the report (anonymous, as the report is).
    late = await post_callback(gateway.client, case["parts"][1])
    assert late.json()["messages"] == [{"tracking_id": stored["tracking_id"], "duplicate": True}]
    drain(settings)
    [addition] = additions_of(casestore, stored["tracking_id"])
    assert (addition["text"], addition["anonymous"]) == (f"[...] {case['parts'][1]['text']} [...]", True)
    assert len(casestore.reports()) == 2 and len(api.parts()) == 1


@pytest.mark.parametrize(("lost", "words", "confidential"), [
    (1, ["ANONIM WBS kepala bidang perizinan di dinas", " meminta uang pelicin lima juta rupiah untuk",
         " setiap izin usaha yang diajukan warga"], False),
    (3, ["WBS kepala bidang perizinan di dinas", " meminta uang pelicin lima juta rupiah untuk",
         " setiap izin usaha yang diajukan warga. #anonim"], False),
    (1, ["{parent} pelakunya kepala bidang perizinan", " meminta uang pelicin lima juta rupiah untuk",
         " setiap izin usaha yang diajukan warga"], False),
    # a RAHASIA in a part that came is read, and its acknowledgement says so (`[ack_incomplete_confidential]`)
    (3, ["RAHASIA WBS kepala bidang perizinan di dinas", " meminta uang pelicin lima juta rupiah untuk",
         " setiap izin usaha yang diajukan warga. #anonim"], True),
], ids=["anonim-in-the-lost-first-part", "anonim-in-the-lost-last-part", "an-anonymous-reports-id-in-the-lost-part",
        "rahasia-in-a-part-that-came"])
async def test_a_message_taken_without_a_part_that_may_have_held_its_anonim_is_anonymous(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    lost: int, words: list[str], confidential: bool,
) -> None:
    """A whistleblower's ANONIM (at the start, at the end, or anywhere as #anonim), or the Tracking ID of their
    anonymous report whose flags a follow-up takes, may be in the part that never came: the rest was filed as an
    open report, their number beside the words about the official, for the agency. Privacy first, as for a follow-up
    whose report's flags cannot be read; the gateway keeps the number, so the acknowledgement still reaches them."""
    number = "081266660001"
    first = await post_callback(gateway.client, sms(number, "LAPOR #anonim pungli di kantor kelurahan", "lost-0"))
    parent = first.json()["messages"][0]["tracking_id"]
    await async_wait_until(lambda: queue(FORWARD_QUEUE, redis).count == 1, timeout=5)
    for part, text in enumerate(words, start=1):
        if part != lost:
            fields = sms(number, text.format(parent=parent), f"lost-{part}", udh=f"0500036103{part:02X}")
            assert (await post_callback(gateway.client, fields)).json()["messages"] == []
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    await async_wait_until(lambda: queue(FORWARD_QUEUE, redis).count == 2, timeout=5)
    drain(settings)
    [taken] = [report for report in casestore.reports() if report["tracking_id"] != parent]
    assert taken["incomplete"] is True and "pelicin" in taken["text"]
    assert (taken["anonymous"], taken["sender"]["kind"], taken["confidential"]) == (True, "reply_handle", confidential)
    assert "81266660001" not in orjson.dumps(casestore.reports()).decode()
    ack = "ack_incomplete_confidential" if confidential else "ack_incomplete"
    assert api.texts_to("+6281266660001")[-1] == render(ack, "id", tracking_id=taken["tracking_id"])


def _age(redis: Redis, pattern: str, seconds: int) -> None:
    """Let `seconds` pass for the keys matching `pattern`: what would have expired by then is gone."""
    for key in redis.scan_iter(pattern):
        left = redis.ttl(key)
        if 0 < left <= seconds:
            redis.delete(key)
        elif left > seconds:
            redis.expire(key, left - seconds)


@pytest.mark.parametrize(
    ("taken", "late"),
    [
        ([1, 2, 3], {"number": 2}),
        ([1, 2, 3], {"number": 1}),
        ([1, 2, 3], {"number": 3, "id": "kannel-cc-3-redelivered"}),
        ([1, 3], {"number": 2}),
    ],
    ids=["a-part-retried", "the-lowest-part-retried", "a-part-the-smsc-delivers-again", "the-missing-part-at-last"],
)
async def test_a_part_arriving_long_after_its_message_was_taken_makes_no_second_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    taken: list[int], late: dict[str, object],
) -> None:
    """Eleven minutes after the join (an SMSC that late, an aggregator retrying a part's callback), a part is still
    answered with its message's Tracking ID: no second report, no second acknowledgement. A part the message was taken
    without is added to its report; one it was taken with adds nothing."""
    case = fixture("kannel_concat_gsm7_udh.json")
    for number in taken:
        assert (await post_callback(gateway.client, case["parts"][number - 1])).status_code == 200
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    await async_wait_until(lambda: queue(FORWARD_QUEUE, redis).count == 1, timeout=5)
    drain(settings)
    [stored] = casestore.reports()

    _age(redis, "lapor:concat:*", 11 * 60)
    number = int(str(late.pop("number")))
    response = await post_callback(gateway.client, {**case["parts"][number - 1], **late})
    assert response.json()["messages"] == [{"tracking_id": stored["tracking_id"], "duplicate": True}]
    await asyncio.sleep(settings.aggregator.concat_wait_seconds + 3 * settings.aggregator.concat_sweep_seconds)
    assert redis.zcard(PENDING_KEY) == 0
    drain(settings)
    added = additions_of(casestore, stored["tracking_id"])
    assert [addition["text"] for addition in added] == ([] if number in taken else [
        f"[...] {case['parts'][number - 1]['text']} [...]"])
    assert len(casestore.reports()) == 1 + len(added) and len(api.parts()) == 1


@dataclass(frozen=True)
class LatePartCase:
    """A message taken without its part 2 (the sweep), then that part: how many deliveries of it, at once or one after
    the other, what part 1 said, and whether the sender's next message under the reference follows."""

    id: str
    deliveries: int = 1
    at_once: bool = False
    opening: str = ""  # put before part 1's words
    confidential: bool = False
    next_message: bool = False


LATE_PART_CASES = [
    LatePartCase("once"),
    LatePartCase("retried", deliveries=3),
    LatePartCase("ten-at-once", deliveries=10, at_once=True),
    LatePartCase("a-confidential-report", opening="RAHASIA ", confidential=True),
    # its parts at numbers the message taken had (1, 3) with other content, and at the late part's (2)
    LatePartCase("the-next-message-after-it", next_message=True),
]


@pytest.mark.parametrize("case", LATE_PART_CASES, ids=[case.id for case in LATE_PART_CASES])
async def test_a_part_arriving_after_its_message_was_taken_is_added_to_its_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    log_stream: io.StringIO, case: LatePartCase,
) -> None:
    """The sweep took the message without its part 2 (filed anonymous, the citizen told a part did not come), then
    part 2 came. It was answered with the Tracking ID and its words thrown away: acknowledged, then lost. They are
    added to the report, once however many times or at once the aggregator delivers the part, with the report's
    flags; answered as before (the Tracking ID, no SMS more), and logged without the words or the sender."""
    sms = fixture("kannel_concat_gsm7_udh.json")
    first, late, third = sms["parts"]
    first = {**first, "text": case.opening + first["text"][len(case.opening):]}  # one part's length still
    for part in (first, third):
        assert (await post_callback(gateway.client, part)).json()["messages"] == []
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    await async_wait_until(lambda: queue(FORWARD_QUEUE, redis).count == 1, timeout=5)
    drain(settings)
    [stored] = casestore.reports()
    tracking_id = stored["tracking_id"]

    posts = [post_callback(gateway.client, late) for _ in range(case.deliveries)]
    answers = await asyncio.gather(*posts) if case.at_once else [await post for post in posts]
    assert [(a.status_code, a.json()["messages"]) for a in answers] == [
        (200, [{"tracking_id": tracking_id, "duplicate": True}])] * case.deliveries
    if case.next_message:
        for part in fixture("kannel_concat_gsm7_udh_reference_reused.json")["parts"]:
            assert (await post_callback(gateway.client, part)).status_code == 200
    drain(settings)

    [addition] = additions_of(casestore, tracking_id)
    assert addition["text"] == f"[...] {late['text']} [...]"
    assert (addition["anonymous"], addition["confidential"]) == (True, case.confidential) == (
        stored["anonymous"], stored["confidential"])
    assert addition["sender"]["kind"] == "reply_handle" and "81234567004" not in orjson.dumps(addition).decode()
    others = [r for r in casestore.reports() if r["tracking_id"] not in (tracking_id, addition["tracking_id"])]
    expected = [fixture("kannel_concat_gsm7_udh_reference_reused.json")["expected_text"]] if case.next_message else []
    assert [r["text"] for r in others] == expected
    assert len(api.parts()) == 1 + len(expected)  # the acknowledgements of the reports: none for the addition
    lines = [event for event in log_events(log_stream) if event["event"] == "concat.late_part"]
    assert sum(not line["duplicate"] for line in lines) == 1  # one filing; each other found it filed (intake's dedup)
    assert {(line["tracking_id"], line["channel"], line["part"], line["addition"]) for line in lines} == {
        (tracking_id, "sms-aggregator", 2, addition["tracking_id"])}
    logged = log_stream.getvalue()
    assert "81234567004" not in logged and "menyeberang sungai" not in logged
    assert not list(redis.scan_iter("lapor:concat:*:late"))


async def test_a_late_part_sent_again_after_the_next_message_was_taken_is_added_to_no_other_report(
    gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis
) -> None:
    """The first message was taken without its part 2, which came late and was added to its report. The sender's next
    message under the reference (same part count) was taken without its part 2 too, and its parts taken are written
    over the first's. The aggregator sends the first's part 2 again: it came as the next message's late part, and its
    words were added to that report as well (a part once in every report that took its number missing)."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")

    async def taken_without_part_2(sms: dict[str, Any], reports: int) -> str:
        for part in (sms["parts"][0], sms["parts"][2]):
            assert (await post_callback(gateway.client, part)).json()["messages"] == []
        await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
        await async_wait_until(lambda: len(redis.keys("lapor:envelope:*")) == reports, timeout=5)
        drain(settings)
        [taken] = [r for r in casestore.reports() if sms["parts"][2]["text"] in str(r["text"])]
        return str(taken["tracking_id"])

    one = await taken_without_part_2(first, 1)
    assert (await post_callback(gateway.client, first["parts"][1])).status_code == 200
    await async_wait_until(lambda: len(redis.keys("lapor:envelope:*")) == 2, timeout=5)
    two = await taken_without_part_2(second, 3)
    assert one != two
    assert (await post_callback(gateway.client, first["parts"][1])).status_code == 200
    drain(settings)
    assert [a["text"] for a in additions_of(casestore, one)] == [f"[...] {first['parts'][1]['text']} [...]"]
    assert additions_of(casestore, two) == []


async def test_a_late_part_of_a_confidential_addition_to_an_open_report_is_filed_confidential(
    gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis
) -> None:
    """An open report, then a three-part SMS adding to it with RAHASIA (a confidential addition), taken without its
    part 3, then part 3. The part was filed with the open report's flags alone: the whistleblower's words, which they
    had asked to be kept confidential, went to the agency as a plain addition. It carries its message's flags too."""
    number = "081266660009"
    first = await post_callback(gateway.client, sms(number, "LAPOR jalan rusak di depan pasar", "conf-0"))
    parent = first.json()["messages"][0]["tracking_id"]
    words = [f"{parent} RAHASIA kepala bidang perizinan di dinas", " meminta uang pelicin lima juta rupiah untuk",
             " setiap izin usaha: rekeningnya atas nama istrinya di bank X"]
    for part, text in enumerate(words[:2], start=1):
        fields = sms(number, text, f"conf-{part}", udh=f"05000362030{part}")
        assert (await post_callback(gateway.client, fields)).json()["messages"] == []
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    await async_wait_until(lambda: len(list(redis.scan_iter("lapor:envelope:*"))) == 2, timeout=5)
    late = await post_callback(gateway.client, sms(number, words[2], "conf-3", udh="050003620303"))
    assert late.status_code == 200
    drain(settings)
    [message, added] = additions_of(casestore, parent)
    assert "pelicin" in message["text"] and message["confidential"] is True
    assert "rekeningnya" in added["text"]
    assert (added["anonymous"], added["confidential"]) == (True, True)


async def test_a_part_of_the_message_before_delivered_again_is_added_to_no_report_of_the_next(
    gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis
) -> None:
    """The sender's first message was taken whole and named; their next one under the reference (same part count) was
    taken without its part 1, anonymous. The SMSC delivers the first message's part 1 again. The next message's mark
    had written its parts taken over the first's, so the part, at a number the next message lacked, was its late part:
    the first message's words, from a named report, added to the anonymous one. Every part taken under the reference
    is remembered (as long as the done marker): it is answered with its own message's Tracking ID, and filed nowhere."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    for part in first["parts"]:
        await post_callback(gateway.client, part)
    for part in second["parts"][1:]:
        assert (await post_callback(gateway.client, part)).json()["messages"] == []
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    await async_wait_until(lambda: len(list(redis.scan_iter("lapor:envelope:*"))) == 2, timeout=5)
    drain(settings)
    [named] = [r for r in casestore.reports() if not r["incomplete"]]
    [anonymous] = [r for r in casestore.reports() if r["incomplete"]]
    assert named["anonymous"] is False and anonymous["anonymous"] is True
    again = await post_callback(gateway.client, {**first["parts"][0], "id": "kannel-cc-1-again"})
    assert again.json()["messages"] == [{"tracking_id": named["tracking_id"], "duplicate": True}]
    drain(settings)
    assert additions_of(casestore, anonymous["tracking_id"]) == [] and len(casestore.reports()) == 2


@pytest.mark.parametrize(("later", "first_taken"), [
    (0, [1, 2, 3]),
    (24 * 3600, [1, 2, 3]),
    # The first one taken without its part 2 (it never came): the second one's part 2, in the order sent, was
    # answered as that late part, with the first one's Tracking ID, and its text was lost ("... [...] ...").
    (24 * 3600, [1, 3]),
], ids=["at-once", "a-day-later", "a-day-after-one-taken-incomplete"])
async def test_another_message_with_the_reference_its_sender_used_before_is_a_report_of_its_own(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    later: int, first_taken: list[int],
) -> None:
    """A phone's concatenation reference is a counter of 8 bits: the same sender's next long SMS may carry an old
    one, with the same part count. Its parts are not the first message's late parts."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    for number in first_taken:
        assert (await post_callback(gateway.client, first["parts"][number - 1])).status_code == 200
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)  # taken as it is, if incomplete
    _age(redis, "lapor:concat:*", later)
    answers = [(await post_callback(gateway.client, part)).json()["messages"] for part in second["parts"]]
    assert answers[:2] == [[], []] and answers[2][0]["duplicate"] is False
    drain(settings)
    stored = report_by_message_id(casestore, "kannel-cc-7")
    assert stored["text"] == second["expected_text"] and stored["incomplete"] is False
    assert len(casestore.reports()) == 2 and len(api.parts()) == 2


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 2, 1)], ids=["in-order", "last-part-first"])
async def test_a_message_with_the_reference_of_one_still_waiting_takes_that_one_and_is_its_own_report(
    test_env: Environment, casestore: CaseStoreServer, api: AggregatorApi, redis: Redis, order: tuple[int, ...]
) -> None:
    """Some phones give every long SMS the same reference: the sender's next message comes while the first still
    waits for a part the network lost. A part at a number the waiting message has with other content is the next
    message's: the first is taken at once as it is (incomplete, so anonymous), and the next one is whole. Kept as a
    duplicate, that part was acknowledged and lost, and the next message's other parts were joined to the first's
    as one report, complete, open, of two messages' words."""
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="60")
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    async with running_gateway(settings, redis) as gateway:
        for number in (1, 3):  # part 2 is lost
            assert (await post_callback(gateway.client, first["parts"][number - 1])).json()["messages"] == []
        answers = [(await post_callback(gateway.client, second["parts"][number - 1])).json()["messages"]
                   for number in order]
    drain(settings)
    whole = report_by_message_id(casestore, second["parts"][0]["id"])
    [taken] = [report for report in casestore.reports() if report["tracking_id"] != whole["tracking_id"]]
    assert (taken["incomplete"], taken["anonymous"]) == (True, True)
    assert taken["text"] == f"{first['parts'][0]['text'][len('LAPOR '):]} [...] {first['parts'][2]['text']}".strip()
    assert (whole["text"], whole["incomplete"], whole["anonymous"]) == (second["expected_text"], False, False)
    assert answers == [[{"tracking_id": taken["tracking_id"], "duplicate": False}], [],
                       [{"tracking_id": whole["tracking_id"], "duplicate": False}]]
    assert sorted(part.text for part in api.parts()) == sorted([
        render("ack_incomplete", "id", tracking_id=taken["tracking_id"]),
        render("ack", "id", tracking_id=whole["tracking_id"])])
    assert redis.zcard(PENDING_KEY) == 0


def test_a_next_messages_part_stored_as_a_sweep_takes_the_waiting_one_is_not_dropped_by_the_sweeps_mark(
    settings: Settings, redis: Redis
) -> None:
    """The sweep claims a message that waits for a lost part; before it marks it done, the next message's part at a
    number it has comes (one reference for every message), takes it at once and starts its own buffer. The sweep's
    mark drops only the parts it took: it dropped the whole buffer, the new part with it, and the next message's
    other parts were answered as late parts of the first."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")

    def part(fields: dict[str, str], number: int) -> InboundMessage:
        return InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id=fields["id"],
                              sender_kind=SenderKind.MSISDN, sender_address=fields["from"], text=fields["text"],
                              received_at=utc_now(), part=MessagePart("167", 3, number, "gsm7", fields["text"]),
                              dedup_id=fields["id"])

    buffer = PartBuffer(redis, settings)
    for number in (1, 3):  # part 2 is lost
        assert buffer.add(part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)
    assert swept is not None and swept.incomplete
    conflict = buffer.add(part(second["parts"][0], 1))
    assert conflict.state == "conflict" and conflict.message is not None
    buffer.mark_done(conflict.key, "10000004", conflict.message)  # the webhook takes it (the same report)
    assert buffer.add(part(second["parts"][0], 1)).state == "waiting"
    buffer.mark_done(key, "10000004", swept)  # the sweep, after its commit
    assert buffer.add(part(second["parts"][1], 2)).state == "waiting"
    joined = buffer.add(part(second["parts"][2], 3))
    assert joined.state == "complete" and joined.message is not None
    assert (joined.message.text, joined.message.incomplete) == (f"LAPOR {second['expected_text']}", False)
    assert redis.zscore(PENDING_KEY, key) is not None  # its own deadline, until its join marks it done


def _part(fields: dict[str, str], number: int, total: int = 3) -> InboundMessage:
    """One part of a fixture's SMS, as the adapter parses it (reference 0xA7)."""
    return InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id=fields["id"],
                          sender_kind=SenderKind.MSISDN, sender_address=fields["from"], text=fields["text"],
                          received_at=utc_now(), part=MessagePart("167", total, number, "gsm7", fields["text"]),
                          dedup_id=fields["id"])


@pytest.mark.parametrize("next_total", [2, 4], ids=["fewer-parts", "more-parts"])
def test_a_next_message_with_the_reference_but_another_part_count_never_joins_the_waiting_one(
    settings: Settings, redis: Redis, next_total: int
) -> None:
    """The one signal that tells a next message's part at a number the waiting message lacks: its part count. The
    buffer is the sender's, reference's and part count's, so the part waits in its own, in whatever order it comes."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    buffer = PartBuffer(redis, settings)
    for number in (1, 3):  # part 2 is lost
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    states = [buffer.add(_part(second["parts"][number - 1], number, next_total)).state
              for number in range(next_total, 0, -1) if number <= len(second["parts"])]
    assert states[-1] == ("complete" if next_total == 2 else "waiting") and "conflict" not in states
    [(_, waiting)] = [(key, message) for key, message in buffer.claim_due(now=time.time() + 3600)
                      if message is not None and message.provider_message_id == "kannel-cc-1"]
    assert waiting is not None and waiting.incomplete
    assert waiting.channel_meta["part_ids"] == ["kannel-cc-1", "kannel-cc-3"]


@pytest.mark.xfail(strict=True, reason="nothing in the SMS tells the two apart (README: Concatenated SMS)")
def test_a_next_messages_part_at_a_number_the_waiting_message_lacks_is_not_joined_to_it(
    settings: Settings, redis: Redis
) -> None:
    """The limit the README states: the waiting message lacks its part 2 (the network lost it); the sender's next
    message with the same reference and part count sends its part 2 first. Same sender, reference, part count and
    coding, a number the waiting message lacks, a full part like the lost one: it is joined to the waiting message,
    one complete and open report of two messages' words, and the next message is taken without it. The SMSC time
    (`ts`) is Kannel's receipt time over SMPP, for a late part as for the next message's, so it tells nothing either."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    buffer = PartBuffer(redis, settings)
    for number in (1, 3):  # part 2 is lost
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    assert buffer.add(_part(second["parts"][1], 2)).state == "waiting"


def test_a_next_messages_part_at_the_number_of_a_late_part_taken_starts_the_next_message(
    settings: Settings, redis: Redis
) -> None:
    """The first message was taken without its part 1, which came late and was answered as its late part. The next
    message with the reference sends its part 1 first: the number the first message lacked when taken, but whose
    late part has come since, with other content. It was answered as a second late part of the first message (its
    Tracking ID, or none when that one was kept unfiled), and the next message's text lost; the late part's
    fingerprint now tells it is another message's, as a part the message was taken with does."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    buffer = PartBuffer(redis, settings)
    for number in (2, 3):  # part 1 comes late
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)
    assert swept is not None
    buffer.mark_done(key, "10000004", swept, late=True)
    late = buffer.add(_part(first["parts"][0], 1))
    assert (late.state, late.tracking_id) == ("late", "10000004") and late.late is not None
    assert buffer.add(_part(second["parts"][0], 1)).state == "waiting"  # the next message's, not a second late one
    again = buffer.add(_part(first["parts"][0], 1))  # the late part's retry is still the first message's
    # Not filed yet: filed again, as the one addition (its identity is the first delivery's).
    assert (again.state, again.tracking_id) == ("late", "10000004") and again.late is not None
    assert again.late.message.message_identity == late.late.message.message_identity
    buffer.late_taken(late.late)
    again = buffer.add(_part(first["parts"][0], 1))  # filed: answered as the message's other parts are
    assert (again.state, again.tracking_id) == ("done", "10000004")


@pytest.mark.parametrize("late_mark", ["the-superseded-sweeps", "a-second-mark-finding-no-parts"])
def test_a_late_mark_of_one_message_leaves_the_next_messages_claim_under_the_same_reference(
    settings: Settings, redis: Redis, late_mark: str
) -> None:
    """Sweep A claims a message waiting without its part 1 (its `:as` names part 2); the next message under the same
    reference (one reference for every long SMS) supersedes it at part 2, and itself waits without part 1 until
    sweep B claims it (`:as`: its own part 2). Sweep A's mark, late, deleted the `:as` whatever it named: the next
    message's part 1 then joined it under part 1's id, where sweep B had filed it under part 2's, two reports with two
    Tracking IDs and two acknowledgements for one SMS. So too a second mark of the first message, which finds no
    parts of its own."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    buffer = PartBuffer(redis, settings)
    for number in (2, 3):  # part 1 is lost
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)  # sweep A
    assert swept is not None and swept.provider_message_id == "kannel-cc-2"
    conflict = buffer.add(_part(second["parts"][1], 2))
    assert conflict.state == "conflict" and conflict.message is not None
    buffer.mark_done(conflict.key, "10000004", conflict.message)  # the webhook takes the first one
    for number in (2, 3):
        assert buffer.add(_part(second["parts"][number - 1], number)).state == "waiting"
    [(_, next_swept)] = buffer.claim_due(now=time.time() + 7200)  # sweep B, the second message's wait over
    assert next_swept is not None and next_swept.provider_message_id == "kannel-cc-8"
    if late_mark == "the-superseded-sweeps":
        buffer.mark_done(key, "10000004", swept)  # sweep A, after its commit
    else:
        buffer.mark_done(key, "10000004", conflict.message)  # the first message marked again: none of its parts left
    joined = buffer.add(_part(second["parts"][0], 1))
    assert joined.state == "complete" and joined.message is not None
    assert joined.message.provider_message_id == next_swept.provider_message_id  # sweep B's report, not a second


def test_a_late_mark_of_a_superseded_message_leaves_the_next_ones_tracking_id_on_its_parts(
    settings: Settings, redis: Redis
) -> None:
    """Sweep A claims a message waiting without its part 1; the next message under the same reference supersedes it
    at part 2 and is joined whole (Tracking ID 10000005) before sweep A marks the first one done, late. That mark
    took no part (the superseding took them) but wrote its Tracking ID on the done marker: the aggregator's retry of
    the next message's part was answered with the first message's Tracking ID."""
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    buffer = PartBuffer(redis, settings)
    for number in (2, 3):  # part 1 is lost
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)  # sweep A
    conflict = buffer.add(_part(second["parts"][1], 2))
    assert conflict.state == "conflict" and conflict.message is not None
    buffer.mark_done(conflict.key, "10000004", conflict.message)  # the webhook takes the first one
    for number in (2, 1):
        assert buffer.add(_part(second["parts"][number - 1], number)).state == "waiting"
    joined = buffer.add(_part(second["parts"][2], 3))
    assert joined.state == "complete" and joined.message is not None
    buffer.mark_done(joined.key, "10000005", joined.message)
    buffer.mark_done(key, "10000004", swept)  # sweep A, after its commit
    for number in (1, 2, 3):  # the aggregator's retries
        retried = buffer.add(_part(second["parts"][number - 1], number))
        assert (retried.state, retried.tracking_id) == ("done", "10000005")


@pytest.mark.parametrize("joins", ["the-previous-release-joins", "this-release-joins"])
def test_a_message_this_releases_sweep_claimed_is_joined_under_the_same_part_by_the_previous_release(
    settings: Settings, redis: Redis, joins: str
) -> None:
    """A rolling upgrade runs the previous release beside this one on one Redis. This release's sweep claims a message
    waiting without its part 1 and files it under part 2's id; part 1 then reaches a gateway of the previous release.
    That release reads the claim's `:as` as `p2` (`f"p{number}" == taken_as`): written `p2 <fingerprint>`, it named no
    part, and the message was joined under part 1's id, a second report of one SMS. The previous release's sweep
    claiming it after this one's lease gives the same id."""
    previous = previous_module("gateway/concat.py").PartBuffer(redis, settings)
    first = fixture("kannel_concat_gsm7_udh.json")
    buffer = PartBuffer(redis, settings)
    for number in (2, 3):  # part 1 is late
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)
    assert swept is not None and swept.provider_message_id == "kannel-cc-2"
    [(_, swept_again)] = previous.claim_due(now=time.time() + 7200)  # this release's sweeper died in its lease
    assert swept_again is not None and swept_again.provider_message_id == "kannel-cc-2"
    joiner = previous if joins == "the-previous-release-joins" else buffer
    joined = joiner.add(_part(first["parts"][0], 1))
    assert joined.state == "complete" and joined.message is not None
    assert joined.message.provider_message_id == "kannel-cc-2"
    buffer.mark_done(key, "10000004", swept)
    assert redis.get(key + ":as") is None and redis.get(key + ":as:fp") is None


def test_a_pending_late_part_is_answered_done_by_the_previous_release(settings: Settings, redis: Redis) -> None:
    """A rolling upgrade: a late part reaches this release, whose filing fails (the provider retries, 503), and the
    retry reaches a gateway of the previous release. Kept pending as `<fp> late` in the parts taken, it was another
    message's fingerprint to that release, which stored the part as a message of its own, filed it as a second report
    (a second acknowledgement SMS) and wrote its Tracking ID over the message's done marker. Its parts taken hold the
    plain fingerprint: that release answers it as a part taken, and this release still files it."""
    previous = previous_module("gateway/concat.py").PartBuffer(redis, settings)
    first = fixture("kannel_concat_gsm7_udh.json")
    buffer = PartBuffer(redis, settings)
    for number in (1, 3):
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)
    assert swept is not None
    buffer.mark_done(key, "10000004", swept, late=True)
    pending = buffer.add(_part(first["parts"][1], 2))
    assert (pending.state, pending.tracking_id) == ("late", "10000004")  # its filing fails: not `late_taken`
    retried = previous.add(_part(first["parts"][1], 2))
    assert (retried.state, retried.tracking_id) == ("done", "10000004")
    assert redis.zcard(PENDING_KEY) == 0 and previous.claim_due(now=time.time() + 7200) == []
    again = buffer.add(_part(first["parts"][1], 2))
    assert (again.state, again.tracking_id) == ("late", "10000004") and again.late is not None
    buffer.late_taken(again.late)
    assert buffer.add(_part(first["parts"][1], 2)).state == "done"
    assert redis.get(key + ":done") == b"10000004"


def _own_part(text: str, provider_id: str, number: int, *, reference: str = "77", total: int = 3) -> InboundMessage:
    """A part from one sender under one reference, its text its own bytes (GSM-7 as the test writes it)."""
    return InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id=provider_id,
                          sender_kind=SenderKind.MSISDN, sender_address="081266665555", text=text,
                          received_at=utc_now(), part=MessagePart(reference, total, number, "gsm7", text),
                          dedup_id=provider_id)


def test_a_part_of_a_message_the_previous_release_took_is_no_late_part_of_the_next(
        settings: Settings, redis: Redis) -> None:
    """The previous release kept no `:seen`: a named message it took, whose part an SMSC delivered again once this
    release had taken the sender's next message under the reference incomplete (anonymous), was taken for that one's
    late part, the named words added to the anonymous report. The next mark remembers the parts the message before
    took, under its Tracking ID."""
    previous = previous_module("gateway/concat.py").PartBuffer(redis, settings)
    buffer = PartBuffer(redis, settings)
    named = ["LAPOR saya Budi Santoso NIK 3201", "xxxx melaporkan pungli di loket", " kelurahan setiap senin"]
    for number in (1, 2):
        assert previous.add(_own_part(named[number - 1], f"a{number}", number)).state == "waiting"
    taken = previous.add(_own_part(named[2], "a3", 3))
    assert taken.state == "complete"
    previous.mark_done(taken.key, "10000004", taken.message)
    anonymous = ["anonim: kepala dinas menerima suap", "", " dari kontraktor proyek jalan"]
    for number in (1, 3):  # its part 2 is lost
        assert buffer.add(_own_part(anonymous[number - 1], f"b{number}", number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)
    assert swept is not None
    buffer.mark_done(key, "10000012", swept, late=True)
    again = buffer.add(_own_part(named[1], "a2", 2))
    assert (again.state, again.tracking_id) == ("done", "10000004")


def test_the_parts_remembered_under_one_reference_are_the_last_messages_only(settings: Settings, redis: Redis) -> None:
    """`:seen` kept every part of every message under a key, its expiry pushed back at each: a phone that gives every
    message one reference grew it for as long as it wrote (5,000 messages: 850 KB). The last SEEN_MESSAGES messages'
    parts are kept."""
    buffer = PartBuffer(redis, settings)
    for n in range(SEEN_MESSAGES * 3):
        buffer.add(_own_part(f"pesan {n} bagian satu", f"m{n}-1", 1, reference="9", total=2))
        joined = buffer.add(_own_part(f"pesan {n} bagian dua", f"m{n}-2", 2, reference="9", total=2))
        assert joined.message is not None
        buffer.mark_done(joined.key, format_tracking_id(10_000 + n), joined.message)
    [seen] = list(redis.scan_iter("lapor:concat:*:seen"))
    kept = {value.decode() for value in redis.hvals(seen)}
    assert kept == {format_tracking_id(10_000 + n) for n in range(SEEN_MESSAGES * 2, SEEN_MESSAGES * 3)}
    assert redis.hlen(seen) == 2 * SEEN_MESSAGES
    newest = buffer.add(_own_part(f"pesan {SEEN_MESSAGES * 3 - 1} bagian dua", "m-again", 2, reference="9", total=2))
    assert (newest.state, newest.tracking_id) == ("done", format_tracking_id(10_000 + SEEN_MESSAGES * 3 - 1))


def test_a_claim_the_previous_release_wrote_over_a_left_fingerprint_names_its_own_part(
    settings: Settings, redis: Redis
) -> None:
    """The previous release's mark deletes a claim's `:as` and knows nothing of `:as:fp`, which stays; its claim of
    the sender's next message under the reference then writes `:as` anew (`p2`, its own part 2). The fingerprint left
    is the first message's: read with it, the claim named no part and this release joined the next message under its
    part 1's id, where the previous release's sweep had filed it under part 2's."""
    previous = previous_module("gateway/concat.py").PartBuffer(redis, settings)
    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    buffer = PartBuffer(redis, settings)
    for number in (2, 3):
        assert buffer.add(_part(first["parts"][number - 1], number)).state == "waiting"
    [(key, swept)] = buffer.claim_due(now=time.time() + 3600)  # this release's sweep
    assert swept is not None
    previous.mark_done(key, "10000004", swept)  # its mark by a process still on the previous release
    assert redis.get(key + ":as") is None and redis.get(key + ":as:fp") is not None
    for number in (2, 3):
        assert buffer.add(_part(second["parts"][number - 1], number)).state == "waiting"
    [(_, next_swept)] = previous.claim_due(now=time.time() + 7200)  # the previous release's sweep
    assert next_swept is not None and next_swept.provider_message_id == "kannel-cc-8"
    joined = buffer.add(_part(second["parts"][0], 1))
    assert joined.state == "complete" and joined.message is not None
    assert joined.message.provider_message_id == "kannel-cc-8"
    buffer.mark_done(key, "10000005", joined.message)
    assert redis.get(key + ":as") is None and redis.get(key + ":as:fp") is None


@pytest.mark.parametrize("sweep", ["commits-after-the-join", "died-after-its-commit"])
async def test_the_lowest_part_arriving_as_the_sweep_takes_its_message_gets_the_sweeps_tracking_id(
    test_env: Environment, casestore: CaseStoreServer, api: AggregatorApi, redis: Redis, sweep: str
) -> None:
    """Part 1 comes just as a sweep takes the message without it (its wait over): the sweep joins parts 2 and 3
    under part 2's id, the webhook all three under part 1's. Two ids were two reports: two Tracking IDs, two
    acknowledgements, for one SMS. So too within a sweep's lease when the sweeper died after its commit (or had not yet
    marked the message): the join, under part 2's id, was that report to intake, and part 1's words were lost; they are
    added to it, as a late part's are."""
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.concat import PartBuffer
    from tests.conftest import serving_gateway

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    case = fixture("kannel_concat_gsm7_udh.json")
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    adapter = next(adapter for adapter in handler.adapters if adapter.name == "sms-aggregator")
    async with serving_gateway(settings, redis, app=app) as gateway:
        for number in (2, 3):
            assert (await post_callback(gateway.client, case["parts"][number - 1])).json()["messages"] == []
        # Another gateway's sweep claims the message, its wait over.
        [(key, message)] = PartBuffer(redis, settings).claim_due(time.time() + 301)
        assert message is not None and message.incomplete
        if sweep == "died-after-its-commit":
            await handler.handle_message(adapter, message)
        late = await post_callback(gateway.client, case["parts"][0])
        assert late.status_code == 200
        [answer] = late.json()["messages"]
        if sweep == "commits-after-the-join":
            await handler.handle_expired_parts(key, message)
        assert PartBuffer(redis, settings).claim_due(time.time() + 400) == []  # done: nothing for the next sweep
    drain(settings)
    [stored] = [report for report in casestore.reports() if report.get("follow_up_of") is None]
    assert answer["tracking_id"] == stored["tracking_id"]
    # The first commit is the report: the whole text when the webhook's join came first.
    assert stored["incomplete"] is (sweep == "died-after-its-commit")
    added = [addition["text"] for addition in additions_of(casestore, stored["tracking_id"])]
    part_1 = case["parts"][0]["text"].removeprefix("LAPOR ")  # its keyword read, as a report's is
    assert added == ([f"{part_1} [...]"] if sweep == "died-after-its-commit" else [])
    assert len(casestore.reports()) == 1 + len(added)
    [ack] = api.parts()
    # Taken without a part that may have held its ANONIM, the report is anonymous, and its acknowledgement says so.
    ack_key = "ack_incomplete" if stored["incomplete"] else "ack"
    assert ack.text == render(ack_key, "id", tracking_id=stored["tracking_id"])


@pytest.mark.parametrize("in_window", [1, 3], ids=["the-lowest-part", "a-later-part"])
async def test_a_part_stored_while_a_sweep_takes_its_message_is_no_second_report(
    test_env: Environment, casestore: CaseStoreServer, api: AggregatorApi, redis: Redis, in_window: int
) -> None:
    """The message waits with its part 2 alone (1 and 3 lost); a sweep claims it, and before the sweep marks it done
    one of the missing parts comes: the buffer still holds the message, so the part joins it and waits (200, no
    Tracking ID yet). The sweep's mark dropped only the part it took: the late one stayed, under the lease's deadline,
    and a sweep after the lease filed it as a second report of the one SMS (a second Tracking ID and acknowledgement),
    the other missing part joining it there instead of getting the Tracking ID. It is a late part of the message
    taken, as one coming after the mark is: no second report, and its retry gets the Tracking ID. Its words are
    filed as an addition to the report by the sweep that took the message (dropped with the mark, they were lost),
    and so are the other missing part's, coming after the mark; no SMS more."""
    from gateway.app import GATEWAY_KEY, create_app
    from tests.conftest import serving_gateway

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    case = fixture("kannel_concat_gsm7_udh.json")
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    async with serving_gateway(settings, redis, app=app) as gateway:
        assert (await post_callback(gateway.client, case["parts"][1])).json()["messages"] == []
        # Another gateway's sweep claims the message, its wait over.
        [(key, message)] = PartBuffer(redis, settings).claim_due(time.time() + 301)
        assert message is not None and message.incomplete
        window = await post_callback(gateway.client, case["parts"][in_window - 1])
        assert (window.status_code, window.json()["messages"]) == (200, [])
        await handler.handle_expired_parts(key, message)
        assert PartBuffer(redis, settings).claim_due(time.time() + 400) == []  # nothing left for a sweep
        after = [(await post_callback(gateway.client, case["parts"][number - 1])).json()["messages"]
                 for number in (1, 3)]
        assert PartBuffer(redis, settings).claim_due(time.time() + 800) == []
    drain(settings)
    [stored] = [report for report in casestore.reports() if not report.get("follow_up_of")]
    assert stored["incomplete"] is True and stored["text"] == f"[...] {case['parts'][1]['text'].strip()} [...]"
    assert after == [[{"tracking_id": stored["tracking_id"], "duplicate": True}]] * 2
    additions = additions_of(casestore, stored["tracking_id"])
    # Each missing part once, as its words came, anonymous as the report is (the case store gets no message id).
    assert [addition["text"] for addition in additions] == [
        f"{case['parts'][0]['text'].removeprefix('LAPOR ')} [...]", f"[...] {case['parts'][2]['text']}"]
    assert all(addition["anonymous"] is True for addition in additions)
    assert [part.text for part in api.parts()] == [render("ack_incomplete", "id", tracking_id=stored["tracking_id"])]
    assert redis.zcard(PENDING_KEY) == 0 and not list(redis.scan_iter("lapor:concat:*:late"))


@pytest.mark.parametrize("failure", ["a-bug", "refused"])
@pytest.mark.parametrize("when", ["after-the-mark", "as-the-sweep-takes-it"])
async def test_a_late_part_of_a_message_kept_unfiled_is_kept_unfiled_too(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, when: str, failure: str,
) -> None:
    """A bug of ours failed the sweep on the message (part 1 alone): it is kept unfiled, no Tracking ID, no report to
    add its other parts to; or the message was refused, and dropped. A part coming after the mark, or as the sweep
    took the message, was answered and dropped: kept unfiled (beside its message), for an operator to file, and
    logged; its retries keep it once."""
    import gateway.app as app_module
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.concat import sweep_once

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    first, late, third = fixture("kannel_concat_gsm7_udh.json")["parts"]
    original = app_module.normalize

    def failing_on_the_message(message: InboundMessage, **kwargs: Any) -> Any:
        if "Cibeber" in message.text:  # the message the sweep takes: part 1 alone
            raise RuntimeError("a bug") if failure == "a-bug" else RejectedInput("refused", reason="bad_field")
        return original(message, **kwargs)

    monkeypatch.setattr(app_module, "normalize", failing_on_the_message)
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    async with serving_gateway(settings, redis, app=app) as gateway:
        assert (await post_callback(gateway.client, first)).json()["messages"] == []
        buffer = PartBuffer(redis, settings)
        claim_due = buffer.claim_due
        if when == "as-the-sweep-takes-it":  # part 3 comes after the sweep's claim, before its mark

            def claimed_then_part(*args: Any, **kwargs: Any) -> Any:
                taken = claim_due(time.time() + 301)
                buffer.add(_part(third, 3))
                return taken

            monkeypatch.setattr(buffer, "claim_due", claimed_then_part)
        else:
            monkeypatch.setattr(buffer, "claim_due", lambda *args, **kwargs: claim_due(time.time() + 301))
        assert await sweep_once(buffer, handler.handle_expired_parts) == (1 if failure == "a-bug" else 0)
        # Part 3, answered as stored when it came as the sweep took the message, is not sent again.
        after = (late, late) if when == "as-the-sweep-takes-it" else (late, late, third)
        answers = [(await post_callback(gateway.client, part)) for part in after]
        assert [(answer.status_code, answer.json()["messages"]) for answer in answers] == [(200, [])] * len(after)
        assert PartBuffer(redis, settings).claim_due(time.time() + 400) == []
    kept, damaged = UnfiledMessages(redis).list()
    swept = [f"{first['text']} [...]"] if failure == "a-bug" else []  # the message kept, as its parts make it
    assert damaged == 0 and sorted(entry.message.text for entry in kept) == sorted(
        [*swept, f"[...] {late['text']} [...]", f"[...] {third['text']}"])
    assert casestore.reports() == []
    lines = [event for event in log_events(log_stream) if event["event"] == "concat.late_part"]
    assert sorted((line["tracking_id"], line["channel"], line["part"], line["kept_unfiled"]) for line in lines) == [
        (None, "sms-aggregator", 2, True), (None, "sms-aggregator", 3, True)]
    assert "menyeberang sungai" not in log_stream.getvalue()


async def test_a_message_kept_unfiled_whole_keeps_its_words_when_a_sweep_keeps_fewer_of_its_parts(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep claims the message with parts 2 and 3 (its wait over); part 1 comes, and the webhook joins all three
    under the sweep's id. A bug of ours fails both: the webhook keeps the whole message unfiled, then the sweep keeps
    its own join, under the same identity. It overwrote the whole one, and part 1's words were lost; the entry keeps
    the message that carries every part, and its first time."""
    import gateway.app as app_module
    from gateway.app import GATEWAY_KEY, create_app

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    first, second, third = fixture("kannel_concat_gsm7_udh.json")["parts"]

    def failing(message: InboundMessage, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app_module, "normalize", failing)
    # The whole one kept just after the sweep looked for it (`holds_more_parts`): the sweep tries its join, keeps it.
    monkeypatch.setattr(UnfiledMessages, "holds_more_parts", lambda self, message: False)
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    async with serving_gateway(settings, redis, app=app) as gateway:
        for part in (second, third):
            assert (await post_callback(gateway.client, part)).json()["messages"] == []
        [(key, swept)] = PartBuffer(redis, settings).claim_due(time.time() + 301)  # another gateway's sweep
        assert swept is not None and swept.incomplete
        assert (await post_callback(gateway.client, first)).status_code == 200  # joined whole, kept unfiled
        [whole] = UnfiledMessages(redis).list()[0]
        assert not whole.message.incomplete and first["text"] in whole.message.text
        await handler.handle_expired_parts(key, swept)  # the bug again: the sweep keeps its join unfiled
        assert PartBuffer(redis, settings).claim_due(time.time() + 400) == []
    kept, damaged = UnfiledMessages(redis).list()
    assert damaged == 0 and [entry.message for entry in kept] == [whole.message]
    assert kept[0].unfiled_at == whole.unfiled_at and casestore.reports() == []


@pytest.mark.parametrize(("sweep_sees_it", "copy_gone"), [(True, False), (False, False), (False, True)],
                         ids=["sweep-sees-it", "sweep-files-it", "sweep-files-it-its-copy-gone"])
async def test_a_whole_message_kept_unfiled_is_not_forgotten_for_a_sweep_s_join_of_fewer_of_its_parts(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO, sweep_sees_it: bool, copy_gone: bool,
) -> None:
    """A sweep claims the message with parts 2 and 3; part 1 comes, the webhook joins all three under the sweep's id,
    and a bug only part 1's words meet keeps it unfiled. The sweep's join of parts 2 and 3 was filed under the same
    identity, which forgot the whole one: part 1's words lost, its citizen told it was kept and never given a Tracking
    ID. The sweep leaves it to the operator's retry, which files the whole message once and releases it; where the
    sweep files it all the same (the whole one kept just after its look), the whole one stays kept."""
    from typer.testing import CliRunner

    import gateway.app as app_module
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.cli import app as cli_app

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    first, second, third = fixture("kannel_concat_gsm7_udh.json")["parts"]

    def failing_on_part_1(message: InboundMessage, **kwargs: Any) -> Any:
        if "Sukamaju" in message.text:  # a bug only part 1's words meet
            raise RuntimeError("a bug")
        return app_normalize(message, **kwargs)

    app_normalize = app_module.normalize
    monkeypatch.setattr(app_module, "normalize", failing_on_part_1)
    if not sweep_sees_it:
        monkeypatch.setattr(UnfiledMessages, "holds_more_parts", lambda self, message: False)
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    async with serving_gateway(settings, redis, app=app) as gateway:
        for part in (second, third):
            assert (await post_callback(gateway.client, part)).json()["messages"] == []
        [(key, swept)] = PartBuffer(redis, settings).claim_due(time.time() + 301)  # another gateway's sweep
        assert swept is not None and swept.incomplete
        assert (await post_callback(gateway.client, first)).status_code == 200  # joined whole, kept unfiled
        [whole] = UnfiledMessages(redis).list()[0]
        await handler.handle_expired_parts(key, swept)
        assert ("message.parts_expired_kept_whole" in log_stream.getvalue()) is sweep_sees_it
        assert PartBuffer(redis, settings).claim_due(time.time() + 400) == []
    kept, damaged = UnfiledMessages(redis).list()
    assert damaged == 0 and [entry.message for entry in kept] == [whole.message]
    envelopes = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
    assert len(envelopes) == (0 if sweep_sees_it else 1)
    if copy_gone:  # the report's copy expired (30 days after it was forwarded), or is damaged
        redis.delete(*redis.scan_iter("lapor:envelope:*"))

    # The operator's retry files the whole message once; where the sweep filed its fewer parts all the same (the
    # whole one kept in the moment after its look), the whole words go as an addition to that report, never lost.
    for name, value in {**test_env.values, **AGGREGATOR_TEST_SETTINGS,
                        "LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS": "300"}.items():
        monkeypatch.setenv(name, value)
    # In a thread of its own, as the command runs: no event loop there (the case store is asked without the copy).
    retried = await asyncio.to_thread(CliRunner().invoke, cli_app, ["unfiled", "retry", "--all"],
                                      env={"COLUMNS": "200"})  # logs: log_stream's
    assert retried.exit_code == 0 and "released 1 of 1 unfiled message(s)" in retried.output, retried.output
    assert ("its whole words added to it" in retried.output) is not sweep_sees_it
    assert UnfiledMessages(redis).list() == ([], 0)
    envelopes = sorted((orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")),
                       key=lambda envelope: envelope["follow_up_of"] or "")
    whole = envelopes[-1]
    assert all(words in whole["text"] for words in ("Desa Sukamaju", "berkarat", "sebelum ada korban"))
    assert sorted(whole["channel_meta"]["part_ids"]) == sorted(str(part["id"]) for part in (first, second, third))
    if copy_gone:  # a report neither the gateway nor the case store (not forwarded here) holds: privacy first
        assert whole["anonymous"] is True
    elif not sweep_sees_it:
        assert len(envelopes) == 2 and whole["follow_up_of"] == envelopes[0]["tracking_id"]


@pytest.mark.parametrize("failure", ["not-durable", "a-bug"])
async def test_a_part_set_aside_by_the_sweep_whose_filing_fails_is_kept_unfiled(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, failure: str,
) -> None:
    """Part 3 came as the sweep took the message (after its claim, before its mark): answered as stored, set aside,
    and filed by the sweep. Its filing failed (Redis blinking; a bug, which ended the sweep's step): nothing tried
    again, the aggregator never sends it again, and its words and sender stayed in Redis the done marker's 30 days,
    filed nowhere. It is kept unfiled, for an operator to file, and set aside no longer than parts wait."""
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.concat import sweep_once
    from gateway.errors import NotDurable

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    first, _, third = fixture("kannel_concat_gsm7_udh.json")["parts"]
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    set_aside_ttls: list[int] = []
    async with serving_gateway(settings, redis, app=app) as gateway:
        assert (await post_callback(gateway.client, first)).json()["messages"] == []
        buffer = PartBuffer(redis, settings)
        claim_due = buffer.claim_due

        def claimed_then_part(*args: Any, **kwargs: Any) -> Any:
            taken = claim_due(time.time() + 301)
            buffer.add(_part(third, 3))
            return taken

        async def failing(*args: Any, **kwargs: Any) -> Any:
            set_aside_ttls.extend(redis.ttl(key) for key in redis.scan_iter("lapor:concat:*:late"))
            if failure == "a-bug":
                raise RuntimeError("a bug in the late part's filing")
            raise NotDurable("redis blinked", reason="redis_unavailable")

        monkeypatch.setattr(buffer, "claim_due", claimed_then_part)
        monkeypatch.setattr(handler, "late_addition", failing)
        assert await sweep_once(buffer, handler.handle_expired_parts) == 1
        again = await post_callback(gateway.client, third)
        [done] = [redis.get(key) for key in redis.scan_iter("lapor:concat:*:done")]
        assert done is not None and again.json()["messages"] == [{"tracking_id": done.decode(), "duplicate": True}]
    assert len(set_aside_ttls) == 1 and 0 < set_aside_ttls[0] <= buffer.parts_ttl < buffer.done_ttl
    kept, damaged = UnfiledMessages(redis).list()
    assert damaged == 0 and [entry.message.text for entry in kept] == [f"[...] {third['text']}"]
    assert not list(redis.scan_iter("lapor:concat:*:late")) and not list(redis.scan_iter("lapor:concat:*:pending-late"))
    events = [event["event"] for event in log_events(log_stream) if event["event"].startswith("concat.late_part")]
    assert events == ["concat.late_part_not_filed", "concat.late_part"]
    assert third["text"][:30] not in log_stream.getvalue()


async def test_a_late_part_whose_filing_failed_is_filed_when_the_aggregator_sends_it_again(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its fingerprint kept, a late part whose filing failed (Redis, answered 503) was answered done when the
    aggregator sent it again, and lost: it stays to be filed until it is."""
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.errors import NotDurable

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    first, late, third = fixture("kannel_concat_gsm7_udh.json")["parts"]
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    async with serving_gateway(settings, redis, app=app) as gateway:
        for part in (first, third):
            assert (await post_callback(gateway.client, part)).json()["messages"] == []
        [(key, message)] = PartBuffer(redis, settings).claim_due(time.time() + 301)
        assert message is not None
        await handler.handle_expired_parts(key, message)
        submit = handler.intake.submit

        async def failing_once(draft: Any, *args: Any) -> Any:
            monkeypatch.setattr(handler.intake, "submit", submit)
            raise NotDurable("redis went away", reason="redis_unavailable")

        monkeypatch.setattr(handler.intake, "submit", failing_once)
        assert (await post_callback(gateway.client, late)).status_code == 503
        again = await post_callback(gateway.client, late)
    drain(settings)
    [stored] = [report for report in casestore.reports() if not report.get("follow_up_of")]
    assert again.json()["messages"] == [{"tracking_id": stored["tracking_id"], "duplicate": True}]
    assert [addition["text"] for addition in additions_of(casestore, stored["tracking_id"])] == [
        f"[...] {late['text']} [...]"]


async def test_a_message_the_sweep_fails_on_holds_back_no_other_and_its_words_stay_out_of_the_log(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in handling one swept message (here: an exception quoting its words) ended the whole round: every other
    message claimed with it waited out its lease, and the next round, in the same order, ended the same way before
    reaching them, so their citizens never got a Tracking ID. The crash's line quoted the words, outside the block
    that keeps them out of the log. The failing one was then tried again after every lease, for ever: it is kept
    unfiled now (gateway.unfiled)."""
    import gateway.app as app_module

    texts = {"081211110001": "LAPOR kepala dinas meminta setoran bulanan",
             "081211110002": "LAPOR pejabat kecamatan meminta komisi proyek"}
    for number, text in texts.items():
        fields = sms(number, text, f"poison-{number}", udh="050003310201")
        assert (await post_callback(gateway.client, fields)).json()["messages"] == []
    # Both due at one moment: a round takes them in the order of their keys, and the first one's handling fails.
    keys = sorted(key.decode() for key in redis.zrange(PENDING_KEY, 0, -1))
    redis.zadd(PENDING_KEY, dict.fromkeys(keys, time.time() + 0.5), xx=True)
    failing, healthy = (orjson.loads(redis.hget(key, "p1"))["sender"] for key in keys)
    original = app_module.normalize

    def failing_for_one(message: InboundMessage, **kwargs: Any) -> Any:
        if message.sender_address == failing:
            raise ValueError(f"cannot read {message.text!r}")
        return original(message, **kwargs)

    monkeypatch.setattr(app_module, "normalize", failing_for_one)
    await async_wait_until(lambda: queue(FORWARD_QUEUE, redis).count == 1, timeout=10)
    drain(settings)
    [stored] = casestore.reports()
    assert stored["text"] == f"{texts[healthy][len('LAPOR '):]} [...]"
    assert [part.to for part in api.parts()] == ["+62" + healthy[1:]]
    # Kept unfiled (its words not lost, an operator's retry files it), not tried again after every lease for ever.
    [kept_line] = [e for e in log_events(log_stream) if e["event"] == "message.unfiled"]
    assert (kept_line["error"], kept_line["channel"]) == ("ValueError", "sms-aggregator")
    assert texts[failing][len("LAPOR "):] not in log_stream.getvalue()
    await async_wait_until(lambda: redis.zcard(PENDING_KEY) == 0, timeout=10)
    (kept,), _ = UnfiledMessages(redis).list()
    assert (kept.message.sender_address, kept.message.text, kept.message.incomplete) == (
        failing, f"{texts[failing]} [...]", True)


async def test_ucs2_parts_joined_as_bytes_keep_a_split_emoji(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    case = fixture("kannel_concat_ucs2_16bit_ref.json")
    for part in reversed(case["parts"]):
        assert (await post_callback(gateway.client, part)).status_code == 200
    drain(settings)
    [stored] = casestore.reports()
    assert stored["text"] == case["expected_text"]
    assert "\ufffd" not in stored["text"]


# -- status queries ------------------------------------------------------------
async def _report(gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, number: str,
                  text: str, message_id: str) -> str:
    response = await post_callback(gateway.client, sms(number, text, message_id))
    tracking_id = response.json()["messages"][0]["tracking_id"]
    drain(settings)
    assert casestore.get(tracking_id)
    return str(tracking_id)


async def test_a_courtesy_after_the_acknowledgement_is_neither_filed_nor_answered(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    log_stream: io.StringIO
) -> None:
    """The citizen's "Terima kasih" (from a smartphone, "Ok 👍" in UCS-2) after the acknowledgement: filed, it was a
    junk report for an agency and a second paid SMS with a new Tracking ID. Counted as a non-report message."""
    number = "081298765020"
    tracking_id = await _report(gateway, casestore, settings, number, "LAPOR jalan berlubang di Jl. Pemuda", "ty-1")
    before = REGISTRY.get_sample_value("lapor_queries_total", {"channel": "sms-aggregator", "action": "courtesy"})
    thanks = [sms(number, "Terima kasih", "ty-2"),
              sms(number, "Ok 👍".encode("utf-16-be").hex().upper(), "ty-3", coding="2"),
              sms(number, "makasih banyak pak!", "ty-4")]
    for message in thanks:
        response = await post_callback(gateway.client, message)
        assert (response.status_code, response.json()) == (200, {"status": "accepted", "messages": []})
    assert all(queue(name, redis).count == 0 for name in (FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE))
    drain(settings)
    assert api.texts_to("+6281298765020") == [render("ack", "id", tracking_id=tracking_id)]
    assert [r["tracking_id"] for r in casestore.reports()] == [tracking_id]
    after = REGISTRY.get_sample_value("lapor_queries_total", {"channel": "sms-aggregator", "action": "courtesy"})
    assert (after or 0) - (before or 0) == len(thanks)
    courtesies = [e for e in log_events(log_stream) if e["event"] == "message.courtesy"]
    assert [(e["channel"], e["reason"]) for e in courtesies] == [
        ("sms-aggregator", "only_courtesy_words")] * len(thanks)
    assert "Terima" not in log_stream.getvalue() and "makasih" not in log_stream.getvalue()


async def test_an_opt_out_word_alone_is_neither_filed_nor_answered(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    log_stream: io.StringIO
) -> None:
    """"STOP", "UNREG" (as operators' subscription services are stopped), "Berhenti" after the acknowledgement: filed,
    each was an empty case for an agency and a paid SMS with a new Tracking ID to someone who had asked for none.
    Counted as a non-report message, logged with the reason and without the text."""
    number = "081298765021"
    tracking_id = await _report(gateway, casestore, settings, number, "LAPOR lampu jalan mati di gang 4", "oo-1")
    labels = {"channel": "sms-aggregator", "action": "opt_out"}
    before = REGISTRY.get_sample_value("lapor_queries_total", labels) or 0
    stops = [sms(number, "STOP", "oo-2"), sms(number, "unreg 1708", "oo-3"),
             sms(number, "Berhenti!".encode("utf-16-be").hex().upper(), "oo-4", coding="2")]
    for message in stops:
        response = await post_callback(gateway.client, message)
        assert (response.status_code, response.json()) == (200, {"status": "accepted", "messages": []})
    assert all(queue(name, redis).count == 0 for name in (FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE))
    drain(settings)
    assert api.texts_to("+6281298765021") == [render("ack", "id", tracking_id=tracking_id)]
    assert [r["tracking_id"] for r in casestore.reports()] == [tracking_id]
    assert (REGISTRY.get_sample_value("lapor_queries_total", labels) or 0) - before == len(stops)
    opt_outs = [e for e in log_events(log_stream) if e["event"] == "message.opt_out"]
    assert [(e["channel"], e["reason"]) for e in opt_outs] == [
        ("sms-aggregator", "only_opt_out_words")] * len(stops)
    assert "Berhenti" not in log_stream.getvalue() and "unreg" not in log_stream.getvalue()


async def test_a_status_query_the_case_store_cannot_answer_in_time_is_answered_by_a_status_job(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    tracking_id = await _report(gateway, casestore, settings, "081298765001", "LAPOR sampah menumpuk", "st-1")
    casestore.store.set_status(tracking_id, "resolved")
    casestore.stop()
    try:
        response = await post_callback(gateway.client, sms("081298765001", f"CEK {tracking_id}", "st-2"))
        assert response.status_code == 200
        assert queue(STATUS_QUEUE, redis).count == 1
        assert queue(FORWARD_QUEUE, redis).count == 0  # a status query is not a report
    finally:
        casestore.start()
    drain(settings)
    # Told at once that the answer follows (no silence after CEK), then the answer.
    assert api.texts_to("+6281298765001") == [
        render("ack", "id", tracking_id=tracking_id), render("status_pending", "id", tracking_id=tracking_id),
        render("status", "id", tracking_id=tracking_id, status=status_name("resolved", "id")),
    ]
    assert len(casestore.reports()) == 1


async def test_a_status_job_that_never_reaches_the_case_store_is_dead_lettered(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    tracking_id = await _report(gateway, casestore, settings, "081298765002", "LAPOR lampu mati", "st-3")
    casestore.stop()
    try:
        await post_callback(gateway.client, sms("081298765002", f"status {tracking_id}", "st-4"))
        drain(settings)
    finally:
        casestore.start()
    [letter] = DeadLetters(redis).list()
    assert letter.queue == STATUS_QUEUE and letter.tracking_id == tracking_id
    assert letter.reason == "casestore_unreachable"
    # The promise "the answer follows by SMS" is kept: the citizen learns it could not be checked, and to retry.
    assert api.texts_to("+6281298765002")[1:] == [
        render("status_pending", "id", tracking_id=tracking_id), render("status_retry", "id", tracking_id=tracking_id),
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"null", id="json-null"),
        pytest.param(b"<html><body>Maintenance</body></html>", id="html-page"),
        pytest.param(b"", id="empty"),
        pytest.param(b'["received"]', id="json-list"),
        pytest.param(b'"resolved"', id="json-string"),
        # A cache before the case store answering with another report's: its status was told as this one's.
        pytest.param(b'{"tracking_id": "10000004", "status": "resolved", "confidential": false}',
                     id="another-reports-answer"),
    ],
)
def test_a_status_answer_that_is_not_a_report_is_no_answer_and_never_not_found(
    settings: Settings, redis: Redis, log_stream: io.StringIO, body: bytes,
) -> None:
    """A 200 whose body is not a report (a proxy's page, a broken deploy answering `null`) is the case store not
    answering properly, as in an outage: retried, then "send CEK later" and a dead letter. `null` told the citizen of
    a report the gateway no longer holds that it does not exist; any other such body failed the job as a bug."""
    tracking_id, number = format_tracking_id(4_545_454), "+6281298765012"
    OutboundReplies(redis, settings).queue_status_job_and_promise(source="sms-aggregator", to=number,
                                                                  tracking_id=tracking_id, language="id")
    queue(REPLY_QUEUE, redis).empty()  # the promise: not what this test counts
    with respx.mock(base_url=settings.casestore_url, assert_all_called=True) as mock:
        mock.get(f"/v1/reports/{tracking_id}").respond(200, content=body,
                                                       headers={"Content-Type": "application/json"})
        drain(settings, (STATUS_QUEUE,))
    [answer] = queue(REPLY_QUEUE, redis).get_jobs()
    assert answer.args[0]["text"] == render("status_retry", "id", tracking_id=tracking_id)
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (STATUS_QUEUE, tracking_id, "casestore_bad_answer")
    bad = [e for e in log_events(log_stream) if e["event"] == "casestore.bad_answer"]
    assert bad and all((e["level"], e["path"]) == ("warning", "/v1/reports/{tracking_id}") for e in bad)


def _cek_answered(settings: Settings, redis: Redis, tracking_id: str, status: int, body: bytes,
                  content_type: str) -> tuple[tuple[str | None, bool], Job]:
    """A CEK by SMS answered while the case store answers `status` with `body`: the immediate answer (text, whether
    one follows), and the reply job its status job queued once its retries ran (the promise left out)."""
    number = "+6281298765014"
    message = InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id="kannel-cek",
                             sender_kind=SenderKind.MSISDN, sender_address=number, text=f"CEK {tracking_id}",
                             received_at=utc_now())
    query = normalize(message).query
    assert query is not None and query.tracking_id == tracking_id

    async def immediate() -> tuple[str | None, bool]:
        async with casestore_client(settings, 5) as client:
            return await answer_query(query, client, redis)

    OutboundReplies(redis, settings).queue_status_job_and_promise(source="sms-aggregator", to=number,
                                                                  tracking_id=tracking_id, language="id")
    queue(REPLY_QUEUE, redis).empty()  # the promise: not what these tests count
    with respx.mock(base_url=settings.casestore_url, assert_all_called=True) as mock:
        mock.get(f"/v1/reports/{tracking_id}").respond(status, content=body, headers={"Content-Type": content_type})
        inline = asyncio.run(immediate())
        drain(settings, (STATUS_QUEUE,))
    [answer] = queue(REPLY_QUEUE, redis).get_jobs()
    return inline, answer


@pytest.mark.parametrize(
    ("body", "content_type", "found"),
    [
        # the contract's 404: a Problem, JSON with an `error`
        pytest.param(b'{"error": "not_found", "detail": "no report with this Tracking ID"}', "application/json",
                     False, id="the-case-stores-not-found"),
        # not the case store's: an ingress's page while it is deployed, a wrong path in LAPOR_CASESTORE_URL
        pytest.param(b"<html><body><h1>404 Not Found</h1>nginx</body></html>", "text/html", None, id="proxy-page"),
        pytest.param(b"", "text/plain", None, id="empty"),
        pytest.param(b'{"message": "no Route matched with those values"}', "application/json", None,
                     id="api-gateways-json"),
        pytest.param(b'"Not Found"', "application/json", None, id="json-string"),
        # a framework's own 404 behind a wrong path: an `error`, but not the contract's
        pytest.param(b'{"timestamp": "2026-12-05T03:40:00.000+00:00", "status": 404, "error": "Not Found", '
                     b'"path": "/api/v1/reports/10000004"}', "application/json", None, id="spring-boots-json"),
    ],
)
def test_only_the_case_stores_own_404_says_a_report_does_not_exist(
    settings: Settings, redis: Redis, log_stream: io.StringIO, body: bytes, content_type: str, found: bool | None,
) -> None:
    """A CEK of a report the gateway no longer holds, answered 404 by something before the case store (an ingress
    while the case store is deployed, a wrong path in its URL): both the immediate answer and the status job told the
    citizen that the report does not exist. Only the contract's 404 (a Problem: JSON whose `error` is `not_found`)
    says so; any other is the case store not answering properly: the answer follows, the job retries, then "send CEK
    later"."""
    tracking_id = format_tracking_id(4_545_488)
    inline, answer = _cek_answered(settings, redis, tracking_id, 404, body, content_type)
    if found is False:
        assert inline == (render("status_unknown", "id", tracking_id=tracking_id), False)
        assert answer.args[0]["text"] == render("status_unknown", "id", tracking_id=tracking_id)
        assert DeadLetters(redis).count() == 0
        return
    assert inline == (render("status_pending", "id", tracking_id=tracking_id), True)
    assert answer.args[0]["text"] == render("status_retry", "id", tracking_id=tracking_id)
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (STATUS_QUEUE, tracking_id, "casestore_bad_answer")
    bad = [e for e in log_events(log_stream) if e["event"] == "casestore.bad_answer"]
    assert bad and all((e["level"], e["status"]) == ("warning", 404) for e in bad)
    assert "nginx" not in log_stream.getvalue() and "Route" not in log_stream.getvalue()


def test_an_immediate_status_answer_naming_another_report_is_no_answer(settings: Settings) -> None:
    """The immediate answer to a CEK reads the case store's answer as the status job does: one naming another report
    (a cache before the case store) told the citizen that report's status; now the answer follows, as when the case
    store is away."""
    from gateway.queries import lookup_status_now

    tracking_id = format_tracking_id(4_545_470)
    with respx.mock(base_url=settings.casestore_url, assert_all_called=True) as mock:
        mock.get(f"/v1/reports/{tracking_id}").respond(200, json={"tracking_id": "10000004", "status": "resolved"})
        assert lookup_status_now(settings, tracking_id) is None
        mock.get(f"/v1/reports/{tracking_id}").respond(200, json={"tracking_id": tracking_id, "status": "resolved"})
        found = lookup_status_now(settings, tracking_id)
    assert found is not None and found.status == "resolved"


@pytest.mark.parametrize(
    ("report", "kind"),
    [
        pytest.param({"status": None}, "null", id="status-null"),
        pytest.param({"status": "ditutup_sementara"}, "unknown_name", id="status-unknown"),
        pytest.param({"status": "Resolved"}, "unknown_name", id="status-another-case"),
        pytest.param({}, "missing", id="status-missing"),
        pytest.param({"status": 3}, "int", id="status-a-number"),
        pytest.param({"status": ["resolved"]}, "list", id="status-a-list"),
    ],
)
def test_a_status_outside_the_contract_is_never_echoed_and_both_answers_agree(
    settings: Settings, redis: Redis, log_stream: io.StringIO, report: dict[str, Any], kind: str,
) -> None:
    """A report whose status is none of the contract's is the case store not answering properly, as a body that is
    no report: the immediate answer says the answer follows, the status job retries, then "send CEK later" and a dead
    letter. The immediate answer echoed an unknown name raw, and null as "None"; the job read null as "received"."""
    tracking_id = format_tracking_id(4_545_462)
    body = orjson.dumps({"tracking_id": tracking_id, "text": "Jalan rusak", **report})
    inline, answer = _cek_answered(settings, redis, tracking_id, 200, body, "application/json")
    assert inline == (render("status_pending", "id", tracking_id=tracking_id), True)
    assert answer.args[0]["text"] == render("status_retry", "id", tracking_id=tracking_id)
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (STATUS_QUEUE, tracking_id, "casestore_bad_answer")
    bad = [e for e in log_events(log_stream) if e["event"] == "casestore.bad_answer"]
    assert bad and all((e["level"], e["report_status"]) == ("warning", kind) for e in bad)
    assert "ditutup" not in log_stream.getvalue() and "Jalan rusak" not in log_stream.getvalue()


def _rerun(redis: Redis, settings: Settings, job: Job, how: str) -> None:
    if how == "same-job":  # RQ's retry, the reaper's requeue: the job itself, under its id
        queue(STATUS_QUEUE, redis).enqueue_job(job)
    else:  # a requeue from the dead letters, a duplicate: a new job with the same arguments
        enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [tuple(job.args)])


@pytest.mark.parametrize(("queued_by", "how"), [
    pytest.param("gateway", "same-job", id="rerun-of-the-job"),
    pytest.param("gateway", "copy", id="copy-of-the-job"),
    pytest.param("older-gateway", "same-job", id="rerun-of-a-job-without-a-status-id"),
])
def test_a_status_job_run_again_after_it_answered_queues_no_second_answer(
    casestore: CaseStoreServer, settings: Settings, redis: Redis, log_stream: io.StringIO, queued_by: str, how: str,
) -> None:
    """Whatever runs a status job again once its answer is queued (an exception after it, a worker killed after it,
    a requeue, a second copy), the citizen gets one answer: the job's identity is marked with the answer."""
    tracking_id, number = format_tracking_id(4_343_434), "+6281298765011"
    if queued_by == "gateway":
        OutboundReplies(redis, settings).queue_status_job_and_promise(source="sms-aggregator", to=number,
                                                                      tracking_id=tracking_id, language="id")
        queue(REPLY_QUEUE, redis).empty()  # the promise: not what this test counts
    else:
        query = {"source": "sms-aggregator", "to": number, "tracking_id": tracking_id, "language": "id"}
        enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [(query,)])
    [job] = queue(STATUS_QUEUE, redis).get_jobs()
    drain(settings, (STATUS_QUEUE,))
    [answer] = queue(REPLY_QUEUE, redis).get_jobs()

    _rerun(redis, settings, job, how)
    drain(settings, (STATUS_QUEUE,))

    assert [reply.args[0]["reply_id"] for reply in queue(REPLY_QUEUE, redis).get_jobs()] == [answer.args[0]["reply_id"]]
    assert answer.args[0]["text"] == render("status_unknown", "id", tracking_id=tracking_id)
    runs = [e["event"] for e in log_events(log_stream) if e["event"] in {"status.answered", "status.already_answered"}]
    assert runs == ["status.answered", "status.already_answered"]


class LosesOneWrite(Redis):
    """The real Redis, except that the first transaction writing to `key` is lost as it is when Redis goes away just
    then: the client raises before EXEC reaches the server (redis-py's one reconnect failed too)."""

    def __init__(self, redis: Redis, key: str) -> None:
        super().__init__(connection_pool=redis.connection_pool)
        self.key = key
        self.lost = 0

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return _LosingPipeline(self, transaction, shard_hint)


class _LosingPipeline(Pipeline):
    def __init__(self, owner: LosesOneWrite, transaction: bool, shard_hint: str | None) -> None:
        super().__init__(owner.connection_pool, owner.response_callbacks, transaction, shard_hint)
        self.owner = owner

    def execute(self, raise_on_error: bool = True) -> list[object]:
        if not self.owner.lost and any(args[1:2] == (self.owner.key,) for args, _ in self.command_stack):
            self.owner.lost += 1
            self.reset()
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return super().execute(raise_on_error)


async def test_a_status_promise_lost_to_a_redis_failure_takes_its_status_job_with_it(
    api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The status job and the "answer follows" SMS commit together: Redis failing as the promise is written leaves
    neither, the aggregator retries the message, and the citizen gets one promise and one answer, not two."""
    flaky = LosesOneWrite(redis, queue(REPLY_QUEUE, redis).key)  # the promise is the one reply job of a CEK
    tracking_id = format_tracking_id(4_242_424)
    message = sms("081298765009", f"CEK {tracking_id}", "st-lost-1")
    async with running_gateway(settings, flaky) as gateway:  # no case store: the status job must answer
        failed = await post_callback(gateway.client, message)
        assert flaky.lost == 1
        assert failed.status_code == 503  # not durable: the aggregator sends the message again
        assert (queue(STATUS_QUEUE, redis).count, queue(REPLY_QUEUE, redis).count) == (0, 0)
        retried = await post_callback(gateway.client, message)
        assert retried.status_code == 200
    assert queue(STATUS_QUEUE, redis).count == 1
    [promise] = queue(REPLY_QUEUE, redis).get_jobs()
    assert promise.args[0]["kind"] == "status_pending"
    drain(settings)  # the case store stays away: the status job's retries run out
    assert api.texts_to("+6281298765009") == [render("status_pending", "id", tracking_id=tracking_id),
                                              render("status_retry", "id", tracking_id=tracking_id)]


async def test_a_status_query_the_aggregator_delivers_again_queues_nothing_new(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """An aggregator that never got our 200 sends the CEK again under the same message id: answered the same way,
    it must queue no second status job and no second promise (the citizen would get every SMS twice), also when
    both deliveries arrive at once; another CEK of the citizen's own (another id) is answered again."""
    number, answers = "081298765010", (STATUS_QUEUE, REPLY_QUEUE)
    tracking_id = await _report(gateway, casestore, settings, number, "LAPOR jalan berlubang", "st-again-1")
    casestore.stop()
    try:
        cek = sms(number, f"CEK {tracking_id}", "st-again-2")
        first = await post_callback(gateway.client, cek)
        again = await post_callback(gateway.client, cek)
        accepted = (200, {"status": "accepted", "messages": []})
        assert [(r.status_code, r.json()) for r in (first, again)] == [accepted, accepted]
        assert [queue(name, redis).count for name in answers] == [1, 1]

        at_once = sms(number, f"cek {tracking_id}", "st-again-3")
        both = await asyncio.gather(*(post_callback(gateway.client, at_once) for _ in range(2)))
        assert [r.status_code for r in both] == [200, 200]
        assert [queue(name, redis).count for name in answers] == [2, 2]
    finally:
        casestore.start()
    drain(settings)
    pending = render("status_pending", "id", tracking_id=tracking_id)
    answer = render("status", "id", tracking_id=tracking_id, status=status_name("received", "id"))
    assert api.texts_to("+6281298765010") == [render("ack", "id", tracking_id=tracking_id), pending, pending, answer,
                                              answer]


async def test_a_query_answered_at_once_and_delivered_again_is_answered_once(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The same for a query answered in the webhook's own time (the case store answered): one SMS per message."""
    number = "081298765011"
    tracking_id = await _report(gateway, casestore, settings, number, "LAPOR lampu jalan mati", "st-once-1")
    for message in (sms(number, f"CEK {tracking_id}", "st-once-2"), sms(number, "BANTUAN", "st-once-3")):
        for _ in range(2):
            assert (await post_callback(gateway.client, message)).status_code == 200
    assert queue(REPLY_QUEUE, redis).count == 2
    drain(settings)
    assert api.texts_to("+6281298765011") == [
        render("ack", "id", tracking_id=tracking_id),
        render("status", "id", tracking_id=tracking_id, status=status_name("received", "id")), render("help", "id"),
    ]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("BANTUAN", lambda _: [render("help", "id")], id="help"),
    pytest.param("HELP", lambda _: [render("help", "en")], id="help-in-english"),
    pytest.param("CEK", lambda _: [render("status_help", "id")], id="status-help"),
    pytest.param("CEK 12", lambda _: [render("bad_tracking_id", "id", tracking_id="12")], id="mistyped-id"),
    pytest.param("CEK {tracking_id}", lambda tracking_id: [
        render("status_pending", "id", tracking_id=tracking_id),
        render("status", "id", tracking_id=tracking_id, status=status_name("received", "id"))], id="status-by-sms"),
])
async def test_with_no_inline_status_wait_only_status_queries_go_by_status_job(
    test_env: Environment, redis: Redis, casestore: CaseStoreServer, api: AggregatorApi, text: str,
    expected: Callable[[str], list[str]]
) -> None:
    """`aggregator.status_inline_timeout_seconds = 0` (every CEK answered by SMS): a help request or a mistyped ID,
    which asks nothing of the case store, was timed out all the same, failed an assertion, and its citizen was told
    the message was kept unfiled instead of getting the help text."""
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS="0")
    number = "081298765030"
    async with running_gateway(settings, redis) as gateway:
        tracking_id = await _report(gateway, casestore, settings, number, "LAPOR got mampet", "zero-wait-1")
        response = await post_callback(gateway.client, sms(number, text.format(tracking_id=tracking_id),
                                                           "zero-wait-2"))
        assert response.status_code == 200
        drain(settings)
    assert UnfiledMessages(redis).list()[0] == []
    assert api.texts_to("+6281298765030") == [render("ack", "id", tracking_id=tracking_id), *expected(tracking_id)]


async def test_a_report_the_aggregator_delivers_again_is_answered_once(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """An aggregator that never got our 200 sends the report again under the same message id: the same Tracking ID,
    and no second SMS ("we already have this report") for the one message the citizen sent, also when both
    deliveries arrive at once; nor do the retries count toward flood control, which would hold the citizen's next
    reply back."""
    number = "081298765012"
    message = sms(number, "LAPOR pohon tumbang di Jl. Sudirman", "rep-again-1")
    retries = settings.aggregator.flood_replies_per_minute  # one more delivery than flood control lets through
    deliveries = [await post_callback(gateway.client, message) for _ in range(1 + retries)]
    [tracking_id] = {r.json()["messages"][0]["tracking_id"] for r in deliveries}
    at_once = sms(number, "LAPOR lampu jalan mati di Jl. Thamrin", "rep-again-2")
    both = await asyncio.gather(*(post_callback(gateway.client, at_once) for _ in range(2)))
    assert [r.status_code for r in both] == [200, 200]
    other = both[0].json()["messages"][0]["tracking_id"]
    assert queue(REPLY_QUEUE, redis).count == 2
    drain(settings)
    assert api.texts_to("+6281298765012") == [render("ack", "id", tracking_id=tracking_id),
                                              render("ack", "id", tracking_id=other)]


async def test_a_status_query_before_the_case_store_has_the_report_says_received_not_unknown(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The citizen holds an acknowledged Tracking ID: while its report waits to be forwarded (a backlog, a case store
    just back), CEK must not tell them the report does not exist. Nor wait for a case store that is away: not
    forwarded, the report is not the case store's yet, and "received" is answered at once (it was "the answer follows
    by SMS", and a status job that waited out the outage; by Twilio, "send CEK later")."""
    response = await post_callback(gateway.client, sms("081298765003", "LAPOR got mampet di RT 02", "st-5"))
    tracking_id = response.json()["messages"][0]["tracking_id"]
    await post_callback(gateway.client, sms("081298765003", f"CEK {tracking_id}", "st-6"))  # answered inline
    casestore.stop()
    try:
        await post_callback(gateway.client, sms("081298765003", f"cek {tracking_id}", "st-7"))  # inline still
        assert queue(STATUS_QUEUE, redis).count == 0
    finally:
        casestore.start()
    drain(settings, (STATUS_QUEUE, REPLY_QUEUE))  # the report is still waiting to be forwarded
    assert casestore.get(tracking_id) is None
    received = render("status", "id", tracking_id=tracking_id, status=status_name("received", "id"))
    assert api.texts_to("+6281298765003") == [render("ack", "id", tracking_id=tracking_id), received, received]


async def test_a_status_query_for_an_id_nobody_holds_is_unknown(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    unknown = format_tracking_id(7_777_777)
    await post_callback(gateway.client, sms("081298765004", f"CEK {unknown}", "st-8"))
    drain(settings)
    assert api.texts_to("+6281298765004") == [render("status_unknown", "id", tracking_id=unknown)]


# -- anonymity ---------------------------------------------------------------------------------------------------------
async def test_an_anonymous_report_reaches_the_case_store_without_the_number(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    number = "0812-7777-6543"
    response = await post_callback(
        gateway.client, sms(number, "WBS #anonim kepala dinas minta setoran proyek", "anon-1", smsc="tsel")
    )
    tracking_id = response.json()["messages"][0]["tracking_id"]
    drain(settings)

    # Exactly what the case store received and keeps, every field and byte of it.
    raw = casestore.store._connection.execute(
        "SELECT envelope FROM reports WHERE tracking_id = ?", (tracking_id,)
    ).fetchone()[0]
    for form in ("6281277776543", "081277776543", "81277776543", "7776543", "0812-7777-6543"):
        assert form not in raw
    stored = orjson.loads(raw)
    handle = reply_handle(settings.privacy.reply_handle_secret, tracking_id)
    assert stored["sender"] == {"kind": "reply_handle", "id": handle, "display_name": None}
    assert stored["channel_meta"] == {}
    assert stored["anonymous"] is True and stored["kind"] == "whistleblowing"
    # The acknowledgement still reached the citizen, through the gateway's own copy of the envelope.
    assert api.texts_to("+6281277776543") == [render("ack_anonymous", "id", tracking_id=tracking_id)]

    # A later reply addressed only by the handle the case store knows is mapped back by the gateway alone.
    from gateway.outbound import REPLY_FUNC
    from gateway.queues import enqueue_calls

    enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [({
        "reply_id": "r-handle-1", "source": "sms-aggregator", "kind": "update", "language": "id",
        "text": "LAPOR! Laporan Anda sedang ditindaklanjuti.", "tracking_id": tracking_id, "to_handle": handle,
    },)])
    drain(settings)
    assert api.texts_to("+6281277776543")[-1] == "LAPOR! Laporan Anda sedang ditindaklanjuti."


# -- flood control and repeats ----------------------------------------------------------------------------------------
async def test_a_flood_from_one_number_holds_replies_back_but_keeps_every_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """Past the minute's limit a number's repeats, additions and queries are held back (an auto-responder answering
    each of our SMS), its messages filed all the same. Its new reports are not counted there, as on Twilio: a citizen
    who sent several complaints and then asked `CEK` had the CEK's answer held (and the acknowledgements past the
    limit), the hour's limit alone holding what a loop of new reports costs."""
    limit = settings.aggregator.flood_replies_per_minute
    texts = [f"LAPOR pohon tumbang nomor {n} di Jl. Diponegoro" for n in range(limit + 3)]
    answers = [await post_callback(gateway.client, sms("+62 813 1111 2222", t, f"flood-{n}"))
               for n, t in enumerate(texts)]
    assert all(a.status_code == 200 for a in answers)
    tracking_ids = [a.json()["messages"][0]["tracking_id"] for a in answers]
    queries = [await post_callback(gateway.client, sms("6281311112222", f"CEK {tracking_ids[0]}", f"flood-cek-{n}"))
               for n in range(limit + 2)]
    assert all(a.status_code == 200 for a in queries)
    drain(settings)

    assert sorted(r["text"] for r in casestore.reports()) == sorted(t[len("LAPOR "):] for t in texts)
    sent = api.texts_to("+6281311112222")
    acks = [render("ack", "id", tracking_id=tracking_id) for tracking_id in tracking_ids]
    assert sent[:len(acks)] == acks
    statuses = sent[len(acks):]
    assert len(statuses) == limit and all(tracking_ids[0] in text for text in statuses)
    held = [key for key in redis.scan_iter("lapor:reply:*") if redis.hget(key, "state") == b"held"]
    assert sorted(redis.hget(key, "kind") for key in held) == [b"status", b"status"]


async def test_a_held_status_query_does_not_ask_the_case_store(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CEK whose answer flood control holds gets no answer to carry a status: the case store is not asked (nor the
    webhook held up to `status_inline_timeout_seconds` for it), as Twilio's held query is not. An auto-responder
    reading each of our answers as a CEK cost the case store a lookup a message, for answers nobody got."""
    import gateway.outbound as outbound_module

    asked: list[str | None] = []
    lookup = outbound_module.answer_query

    async def counted(query: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(query.tracking_id)
        return await lookup(query, *args, **kwargs)

    monkeypatch.setattr(outbound_module, "answer_query", counted)
    limit = settings.aggregator.flood_replies_per_minute
    tracking_id = (await post_callback(gateway.client, sms("081311115555", "LAPOR got mampet di RT 04", "held-q-0"))
                   ).json()["messages"][0]["tracking_id"]
    for n in range(limit + 2):
        response = await post_callback(gateway.client, sms("081311115555", f"CEK {tracking_id}", f"held-q-{n + 1}"))
        assert response.status_code == 200
    assert asked == [tracking_id] * limit
    held = [key for key in redis.scan_iter("lapor:reply:*") if redis.hget(key, "state") == b"held"]
    assert sorted(redis.hget(key, "kind") for key in held) == [b"status", b"status"]
    drain(settings)
    received = render("status", "id", tracking_id=tracking_id, status=status_name("received", "id"))
    assert api.texts_to("+6281311115555") == [render("ack", "id", tracking_id=tracking_id), *[received] * limit]


async def test_a_mistyped_id_after_the_minutes_limit_of_queries_is_still_answered(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """A few CEKs, then an addition with one digit of its ID mistyped: its answer was held by the minute's count, and
    the words after the ID (not filed: the answer asks to send them again) went nowhere without a word. Held by the
    hour's limit alone, as a new report's acknowledgement is."""
    limit = settings.aggregator.flood_replies_per_minute
    for n in range(limit + 1):
        assert (await post_callback(gateway.client, sms("081311115555", "CEK 10000004", f"mistyped-cek-{n}"))
                ).status_code == 200
    text = "10000005 petugas puskesmas minta uang pendaftaran"  # 10000004 is the valid one
    assert (await post_callback(gateway.client, sms("081311115555", text, "mistyped"))).status_code == 200
    drain(settings)
    assert casestore.reports() == []  # nothing filed: the answer is what keeps the words
    assert api.texts_to("+6281311115555")[-1] == render("bad_tracking_id", "id", tracking_id="10000005")


async def test_replies_past_the_hours_limit_are_held_though_the_minutes_has_room(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """An auto-responder answering each of our SMS once every 10 s was never held by the minute's limit (360 paid
    SMS an hour): the hour's (`aggregator.flood_replies_per_hour`) holds it. Its reports are filed all the same."""
    now, limit = time.time(), settings.aggregator.flood_replies_per_hour
    redis.zadd(flood_key(settings, "sms-aggregator", "+6281311113333"),
               {f"earlier-{n}": now - 3000 + n for n in range(limit - 1)})  # none within the last minute
    texts = [f"Tiket #{4471 + n}: pesan Anda kami terima, CS akan membalas" for n in range(3)]
    for n, text in enumerate(texts):
        assert (await post_callback(gateway.client, sms("081311113333", text, f"hourly-{n}"))).status_code == 200
    drain(settings)
    assert len(casestore.reports()) == 3
    assert settings.aggregator.flood_replies_per_minute == 3  # the minute's limit lets all three through
    first, notice = api.texts_to("+6281311113333")  # the hour's last acknowledgement, then the notice once
    assert first == render("ack", "id", tracking_id=tracking_id_in(first))
    assert notice == render("report_flood_notice", "id", tracking_id=tracking_id_in(notice))
    held = [key for key in redis.scan_iter("lapor:reply:*") if redis.hget(key, "state") == b"held"]
    assert len(held) == 1


async def test_the_flood_notice_goes_once_to_the_report_not_the_number_and_a_retry_does_not_spend_it(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The notice standing in for a held acknowledgement is addressed by its report, as the acknowledgement is (an
    anonymous report's number stays out of the reply job), says again that the report is anonymous, and goes once
    an hour. The aggregator's retry of a report answered before, held now, spent the hour's notice without a word:
    the next held acknowledgement went silent."""
    limit = settings.aggregator.flood_replies_per_minute
    now, per_hour = time.time(), settings.aggregator.flood_replies_per_hour
    redis.zadd(flood_key(settings, "sms-aggregator", "+6281311114444"),  # the limit's reports fill the hour
               {f"earlier-{n}": now - 3000 + n for n in range(per_hour - limit)})
    answers = [await post_callback(gateway.client, sms("081311114444", f"ANONIM pungli di loket {n}", f"notice-{n}"))
               for n in range(limit)]
    [first] = answers[0].json()["messages"]
    await post_callback(gateway.client, sms("081311114444", f"CEK {first['tracking_id']}", "notice-cek"))  # held
    retry = await post_callback(gateway.client, sms("081311114444", f"ANONIM pungli di loket {limit - 1}",
                                                    f"notice-{limit - 1}"))  # answered before, held now
    assert retry.status_code == 200
    later = [await post_callback(gateway.client, sms("081311114444", f"ANONIM pungli di loket {n}", f"notice-{n}"))
             for n in range(limit, limit + 2)]
    notices = [key for key in redis.scan_iter("lapor:reply:*") if redis.hget(key, "kind") == b"flood_notice"]
    assert len(notices) == 1
    assert redis.hget(notices[0], "tracking_id").decode() == later[0].json()["messages"][0]["tracking_id"]
    record = redis.hgetall(notices[0])
    assert b"6281311114444" not in b"".join(record.values())
    jobs = b"".join(redis.get(key) or b"" for key in redis.scan_iter("rq:job:*") if redis.type(key) == b"string")
    jobs += b"".join(b"".join(redis.hvals(key)) for key in redis.scan_iter("rq:job:*") if redis.type(key) == b"hash")
    assert b"6281311114444" not in jobs
    drain(settings)
    sent = api.texts_to("+6281311114444")
    assert len(sent) == limit + 1
    assert sent[-1] == render("report_flood_notice_anonymous", "id", tracking_id=tracking_id_in(sent[-1]))


async def test_the_same_text_from_the_same_number_is_one_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    text = "LAPOR: air PDAM tidak mengalir 3 hari di Perumnas Klender"
    first = await post_callback(gateway.client, sms("081355550001", text, "same-1"))
    second = await post_callback(gateway.client, sms("6281355550001", "lapor  air PDAM tidak mengalir 3 hari di "
                                                                       "Perumnas Klender", "same-2"))
    other = await post_callback(gateway.client, sms("081355550002", text, "same-3"))
    [a], [b], [c] = (r.json()["messages"] for r in (first, second, other))
    assert a["tracking_id"] == b["tracking_id"] and b["duplicate"] is True
    assert c["tracking_id"] != a["tracking_id"]
    drain(settings)
    assert len(casestore.reports()) == 2
    assert api.texts_to("+6281355550001") == [
        render("ack", "id", tracking_id=a["tracking_id"]), render("duplicate", "id", tracking_id=a["tracking_id"]),
    ]


async def test_an_anonymous_report_sent_again_is_told_again_that_it_is_anonymous(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """The whistleblower who sends their ANONIM report twice learns from the second answer too that it was read."""
    text = "LAPOR ANONIM bendahara desa memotong dana bantuan"
    answers = [await post_callback(gateway.client, sms("081355550021", text, f"anon-same-{n}")) for n in (1, 2)]
    [a], [b] = (r.json()["messages"] for r in answers)
    assert a["tracking_id"] == b["tracking_id"] and b["duplicate"] is True
    drain(settings)
    [stored] = casestore.reports()
    assert stored["anonymous"] is True
    assert api.texts_to("+6281355550021") == [
        render("ack_anonymous", "id", tracking_id=a["tracking_id"]),
        render("duplicate_anonymous", "id", tracking_id=a["tracking_id"]),
    ]


@pytest.mark.parametrize(("text", "flags", "keys"), [
    ("LAPOR RAHASIA kepala sekolah menjual soal ujian", (False, True), ("ack_confidential", "duplicate_confidential")),
    ("WBS ANONIM RAHASIA kepala dinas minta setoran proyek", (True, True),
     ("ack_anonymous_confidential", "duplicate_anonymous_confidential")),
    ("(anonim & rahasia) bendahara desa memotong dana bantuan", (True, True),
     ("ack_anonymous_confidential", "duplicate_anonymous_confidential")),
], ids=["confidential", "anonymous-and-confidential", "both-in-brackets"])
async def test_a_confidential_report_is_told_its_content_is_not_made_public(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings,
    text: str, flags: tuple[bool, bool], keys: tuple[str, str],
) -> None:
    """The citizen who sent RAHASIA got the plain acknowledgement, word for word a public report's, and could not tell
    their request was read; sent again, the plain "we already have it". Anonymous too, the answer names both."""
    answers = [await post_callback(gateway.client, sms("081355550031", text, f"rahasia-same-{n}")) for n in (1, 2)]
    [a], [b] = (r.json()["messages"] for r in answers)
    assert a["tracking_id"] == b["tracking_id"] and b["duplicate"] is True
    drain(settings)
    [stored] = casestore.reports()
    assert (stored["anonymous"], stored["confidential"]) == flags
    assert api.texts_to("+6281355550031") == [render(key, "id", tracking_id=a["tracking_id"]) for key in keys]
    assert len(api.parts()) == 2  # each one SMS part


async def test_a_same_text_repeat_the_aggregator_delivers_again_after_the_window_keeps_the_first_reports_id(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """A repeat of a text near the end of its window, delivered again by the aggregator (its 200 lost) once the window
    is over: the same message gets the same Tracking ID back, not a second report the citizen never hears of."""
    text = "LAPOR: lampu lalu lintas mati di simpang Dago"
    first = await post_callback(gateway.client, sms("081355550011", text, "late-1"))
    repeat = await post_callback(gateway.client, sms("081355550011", text, "late-2"))
    for key in redis.scan_iter("lapor:sametext:*"):  # the window is over
        redis.delete(key)
    retried = await post_callback(gateway.client, sms("081355550011", text, "late-2"))
    [a], [b], [c] = (r.json()["messages"] for r in (first, repeat, retried))
    assert a["tracking_id"] == b["tracking_id"] == c["tracking_id"] and c["duplicate"] is True
    drain(settings)
    assert len(casestore.reports()) == 1
    assert api.texts_to("+6281355550011") == [
        render("ack", "id", tracking_id=a["tracking_id"]), render("duplicate", "id", tracking_id=a["tracking_id"]),
    ]


@pytest.mark.parametrize("other", [1, 2], ids=["another-smsc", "same-smsc"])
async def test_messages_of_two_senders_with_one_id_are_two_reports_and_only_a_true_retry_is_one(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, other: int
) -> None:
    """Kannel's %I is each aggregator's own counter: two aggregators (or SMSCs) on one endpoint repeat each other's
    ids. Deduped by the id alone, the second citizen's report was dropped as a retry of the first's, and they were
    answered with a stranger's Tracking ID. Only the same id from the same sender (and SMSC) is the same message."""
    first, second = (fixture("kannel_same_id_two_aggregators.json")["messages"][n] for n in (0, other))
    answers = [await post_callback(gateway.client, payload) for payload in (first, second, first)]
    [a], [b], [retried] = (response.json()["messages"] for response in answers)
    assert a["duplicate"] is False and b["duplicate"] is False
    assert a["tracking_id"] != b["tracking_id"]
    assert retried == {"tracking_id": a["tracking_id"], "duplicate": True}
    drain(settings)
    stored = {report["tracking_id"]: report for report in casestore.reports()}
    assert sorted(stored) == sorted([a["tracking_id"], b["tracking_id"]])
    assert {stored[a["tracking_id"]]["text"], stored[b["tracking_id"]]["text"]} == {
        first["text"][len("LAPOR: "):], second["text"][len("LAPOR: "):]}
    assert {report["channel_message_id"] for report in stored.values()} == {"100042"}  # the provider's id, as it was
    assert api.texts_to(f"+{first['from']}") == [render("ack", "id", tracking_id=a["tracking_id"])]
    assert api.texts_to(f"+{second['from']}") == [render("ack", "id", tracking_id=b["tracking_id"])]


@pytest.mark.parametrize("written", ["0{national}", "+62{national}", "+62 {national}", "0062{national}"])
async def test_a_retry_whose_sender_another_node_wrote_otherwise_is_the_same_message(
    written: str, gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """An aggregator's failover node wrote the retry's `from` otherwise (`081299990077`, then `6281299990077`): keyed
    by the number as written, it was another message: a second SMS to the citizen ("already received"), or past the
    same-text window a second report. Keyed by the number as the report stores it (E.164), it is the retry."""
    first = fixture("kannel_same_id_two_aggregators.json")["messages"][0]
    national = first["from"].removeprefix("62")
    answers = [await post_callback(gateway.client, payload)
               for payload in (first, {**first, "from": written.format(national=national)})]
    [a], [retried] = (response.json()["messages"] for response in answers)
    assert retried == {"tracking_id": a["tracking_id"], "duplicate": True}
    drain(settings)
    assert [report["tracking_id"] for report in casestore.reports()] == [a["tracking_id"]]
    assert api.texts_to(f"+{first['from']}") == [render("ack", "id", tracking_id=a["tracking_id"])]


async def test_a_citizens_next_sms_under_an_id_the_aggregator_gave_again_is_its_own_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """Kannel's %I is the aggregator's own counter, and one that starts again (restarted, its store lost) gives a
    citizen's next SMS the id of one they sent within the dedup window. Taken for that SMS's retry, it was answered
    with the first report's Tracking ID and its words were lost. Another text under the same id, sender and SMSC is
    another message; the retry of either (its very bytes) is still that message."""
    first = fixture("kannel_same_id_two_aggregators.json")["messages"][0]
    again = {**first, "text": "LAPOR: lampu jalan mati di gang 5 sejak seminggu"}
    answers = [await post_callback(gateway.client, payload) for payload in (first, again, again, first)]
    [a], [b], [b_retried], [a_retried] = (response.json()["messages"] for response in answers)
    assert a["duplicate"] is False and b["duplicate"] is False
    assert a["tracking_id"] != b["tracking_id"]
    assert b_retried == {"tracking_id": b["tracking_id"], "duplicate": True}
    assert a_retried == {"tracking_id": a["tracking_id"], "duplicate": True}
    drain(settings)
    stored = {report["tracking_id"]: report["text"] for report in casestore.reports()}
    assert stored == {a["tracking_id"]: first["text"][len("LAPOR: "):],
                      b["tracking_id"]: "lampu jalan mati di gang 5 sejak seminggu"}
    assert api.texts_to(f"+{first['from']}") == [render("ack", "id", tracking_id=a["tracking_id"]),
                                                 render("ack", "id", tracking_id=b["tracking_id"])]


async def test_a_same_text_repeats_id_sent_by_another_citizen_is_that_citizens_own_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """A same-text repeat is remembered by its id as one report with its first; another aggregator's SMS of another
    citizen under that id was taken for the repeat's retry, and filed under the first citizen's report."""
    first, _, other = fixture("kannel_same_id_two_aggregators.json")["messages"]
    original = await post_callback(gateway.client, {**first, "id": "100041"})
    repeat = await post_callback(gateway.client, first)
    stranger = await post_callback(gateway.client, other)
    [a], [b], [c] = (response.json()["messages"] for response in (original, repeat, stranger))
    assert b == {"tracking_id": a["tracking_id"], "duplicate": True}
    assert c["duplicate"] is False and c["tracking_id"] != a["tracking_id"]
    drain(settings)
    assert len(casestore.reports()) == 2


# -- the reply worker --------------------------------------------------------------------------------------------------
def test_a_long_reply_goes_out_in_concatenated_152_septet_parts_with_a_16_bit_reference(
    api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    # Help's usage text, the long reply this was shown with, fits one SMS now: a reply of three parts.
    queue_long_reply(redis, settings)
    drain(settings, (REPLY_QUEUE,))
    [parts] = api.replies().values()
    expected = LONG_REPLY
    assert septets(expected) > SINGLE_PART
    assert "".join(p.text for p in parts) == expected
    assert all(septets(p.text) <= MULTI_PART_16 for p in parts[:-1])
    assert len(parts) >= 2
    reference = list(parts[0].udh[3:5]) if parts[0].udh else []
    assert [p.udh for p in parts] == [bytes([6, 8, 4, *reference, len(parts), n]) for n in range(1, len(parts) + 1)]


@pytest.mark.parametrize(
    ("answer", "outcome", "reason"),
    [
        pytest.param(httpx.Response(202, text="0: Accepted for delivery"), "accepted", None, id="202-accepted"),
        pytest.param(httpx.Response(202, text="3: Queued for later delivery"), "accepted", None, id="202-queued"),
        pytest.param(httpx.Response(503, text="Message queue full"), "retry", "aggregator_503", id="503"),
        pytest.param(httpx.Response(429), "retry", "aggregator_429", id="429"),
        # A request timeout (a proxy before the aggregator gave up waiting for the request) is a timeout, retried as
        # one; refused as permanent, the citizen's acknowledgement went to the dead letters at the first try.
        pytest.param(httpx.Response(408, text="Request Timeout"), "retry", "aggregator_408", id="408"),
        pytest.param(httpx.Response(403, text="Authorization failed for sendsms"), "permanent", "aggregator_403",
                     id="403"),
        pytest.param(httpx.Response(400, text="Garbage 'to' field, rejected."), "permanent", "aggregator_400",
                     id="400"),
        pytest.param(httpx.Response(302, headers={"Location": "https://elsewhere.example/"}), "permanent",
                     "aggregator_302", id="302"),
        pytest.param(httpx.ReadTimeout("slow"), "retry", "aggregator_timeout", id="read-timeout"),
        pytest.param(httpx.ConnectError("refused"), "retry", "aggregator_unreachable", id="unreachable"),
    ],
)
def test_each_answer_of_the_send_url_is_accepted_retried_or_refused(
    settings: Settings, answer: httpx.Response | httpx.TransportError, outcome: str, reason: str | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, httpx.TransportError):
            raise answer
        return answer

    sender = AggregatorSender(settings.model_copy(update={"aggregator": settings.aggregator.model_copy(
        update={"send_url": "https://aggregator.example/cgi-bin/sendsms"})}),
        client=httpx.Client(transport=httpx.MockTransport(handler)))
    [part] = sender.parts("LAPOR! Laporan Anda diterima.", "r-1")
    try:
        sender.send_part("+6281234567890", part, "r-1")
    except RetryableError as error:
        assert (outcome, reason) == ("retry", error.reason)
    except PermanentError as error:
        assert (outcome, reason) == ("permanent", error.reason)
    else:
        assert outcome == "accepted"
    finally:
        sender.close()


async def test_a_failing_send_url_is_retried_then_dead_lettered(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    api.route.mock(return_value=httpx.Response(503, text="3: Queued for later delivery failed"))
    response = await post_callback(gateway.client, sms("081244440002", "LAPOR got mampet", "fail-1"))
    tracking_id = response.json()["messages"][0]["tracking_id"]
    drain(settings, (REPLY_QUEUE,))
    assert api.route.call_count == 1 + len(settings.queues.retry_intervals)
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (REPLY_QUEUE, tracking_id, "aggregator_503")
    assert "0812" not in orjson.dumps(letter.args).decode()  # addressed by report, not by number
    record = redis.hgetall(reply_key(letter.args[0]["reply_id"]))
    assert record[b"state"] == b"dead_lettered"

    # After the operator fixes the aggregator, requeueing sends it.
    api.route.mock(return_value=httpx.Response(202, text="0: Accepted"))
    DeadLetters(redis).requeue([letter], settings)
    drain(settings, (REPLY_QUEUE,))
    assert api.texts_to("+6281244440002")[-1] == render("ack", "id", tracking_id=tracking_id)


async def test_a_send_url_that_redirects_sends_nothing_and_is_dead_lettered_at_once(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """A redirect (the send URL moved to https, a login page) is no accepted SMS: the part is not recorded as
    accepted, the reply is dead-lettered, and the requeue once the URL is fixed sends it."""
    api.route.mock(return_value=httpx.Response(302, headers={"Location": "https://sms.example/sendsms"}, text="Moved"))
    response = await post_callback(gateway.client, sms("081244440005", "LAPOR jembatan retak", "moved-1"))
    tracking_id = response.json()["messages"][0]["tracking_id"]
    drain(settings, (REPLY_QUEUE,))
    assert api.route.call_count == 1
    [letter] = DeadLetters(redis).list()
    assert (letter.tracking_id, letter.reason) == (tracking_id, "aggregator_302")
    record = redis.hgetall(reply_key(letter.args[0]["reply_id"]))
    assert record[b"state"] == b"dead_lettered" and b"part.1.answer" not in record

    api.route.mock(return_value=httpx.Response(202, text="0: Accepted for delivery"))
    assert DeadLetters(redis).requeue([letter], settings).requeued == 1
    drain(settings, (REPLY_QUEUE,))
    assert api.texts_to("+6281244440005") == [render("ack", "id", tracking_id=tracking_id)]


async def test_a_refused_send_is_dead_lettered_at_once_and_a_flaky_one_sends_each_part_once(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    api.route.mock(return_value=httpx.Response(403, text="Authorization failed for sendsms"))
    await post_callback(gateway.client, sms("081244440003", "LAPOR pungli", "refused-1"))
    drain(settings, (REPLY_QUEUE,))
    assert api.route.call_count == 1
    assert DeadLetters(redis).list()[0].reason == "aggregator_403"

    # A reply of several parts, the second part failing once: every part reaches the aggregator once.
    api.route.reset()
    outcomes = iter([httpx.Response(202), httpx.Response(500), httpx.Response(202), httpx.Response(202),
                     httpx.Response(202)])
    api.route.mock(side_effect=lambda request: next(outcomes))
    queue_long_reply(redis, settings)
    drain(settings, (REPLY_QUEUE,))
    [parts] = api.replies().values()
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))  # each part accepted exactly once
    assert "".join(p.text for p in parts) == LONG_REPLY
    assert api.route.call_count == len(parts) + 1


# A reply of three SMS parts.
LONG_REPLY = " ".join(f"Bagian {n}: laporan Anda sedang ditindaklanjuti oleh instansi terkait." for n in range(1, 7))
LONG_REPLY_TO = "+6281244440010"


class PartTwoInterrupted:
    """The aggregator's send URL (a respx side effect): accepts every part, but the first `times` sends of part 2
    are interrupted by `interrupt` before it answers (a bug raising, RQ's job timeout), as an attempt ends mid-reply."""

    def __init__(self, interrupt: Callable[[], None], times: int = 1) -> None:
        self.interrupt = interrupt
        self.left = times
        self.accepted: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        part = sent_part(request).part
        if part == 2 and self.left:
            self.left -= 1
            self.interrupt()
        self.accepted.append(part)
        return httpx.Response(202, text="0: Accepted for delivery")


def a_bug() -> None:
    raise TypeError("a bug on the send path")


def outlasting_the_job_timeout() -> None:
    time.sleep(5)  # RQ's job timeout (1 s here) ends the attempt


def queue_long_reply(redis: Redis, settings: Settings, tracking_id: str | None = None) -> tuple[str, dict[str, object]]:
    """A three-part reply queued as the gateway queues it: (its reply id, its job's argument)."""
    queued = OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="help", text=LONG_REPLY,
                                                          language="id", tracking_id=tracking_id, to=LONG_REPLY_TO)
    [job] = queue(REPLY_QUEUE, redis).get_jobs()
    assert len(reply_parts(LONG_REPLY, str(queued.reply_id))) == 3
    return str(queued.reply_id), job.args[0]


@pytest.mark.parametrize("interrupt", [a_bug, outlasting_the_job_timeout], ids=["exception", "job_timeout"])
def test_a_reply_interrupted_after_a_part_was_accepted_sends_each_part_once(
    test_env: Environment, redis: Redis, api: AggregatorApi, interrupt: Callable[[], None]
) -> None:
    """Part 1 accepted, then the attempt ends on part 2 by something the worker did not expect: RQ's retry sends
    parts 2 and 3 only, and the citizen gets part 1 once."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="0", LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="1")
    reply_id, _ = queue_long_reply(redis, settings)
    aggregator = PartTwoInterrupted(interrupt)
    api.route.side_effect = aggregator
    drain(settings, (REPLY_QUEUE,))
    assert aggregator.accepted == [1, 2, 3]
    record = redis.hgetall(reply_key(reply_id))
    assert record[b"state"] == b"sent" and record[b"attempts"] == b"2"
    assert [record[f"part.{n}.answer".encode()] for n in (1, 2, 3)] == [b"0: Accepted for delivery"] * 3
    assert DeadLetters(redis).count() == 0


def a_long_reply_as_the_phone_joins_it(received: list[tuple[bytes | None, str]]) -> str:
    """The text of a long reply's parts as received, (UDH, text) in the order of their numbers; asserting that they are
    the parts of one message: one concatenation element (IEI 00 or 08), one reference, one count, numbered 1..count."""
    elements = [concat_elements(udh.hex()) if udh else [] for udh, _ in received]
    assert len({udh[:2] for udh, _ in received if udh}) == 1  # one kind of element: 8-bit or 16-bit reference
    assert elements == [[(elements[0][0][0], len(received), n)] for n in range(1, len(received) + 1)]
    return "".join(text for _, text in received)


@pytest.mark.parametrize("began", ["the-previous-release", "this-release"])
def test_a_long_reply_is_finished_with_the_split_it_began_with(
    test_env: Environment, redis: Redis, api: AggregatorApi, began: str
) -> None:
    """A rolling upgrade changed how a long reply is split (153-septet parts beside an 8-bit reference, now 152 beside
    a 16-bit one), and a retried reply sends only the parts its record lacks. Part 1 accepted from a worker of the
    previous release, part 2 failing there (a 5xx, retried by a worker of this one): split anew, parts 2 and 3 were
    another message's on the phone (another reference, other boundaries), neither joined, the text at the boundary
    doubled. A reply records its split with its parts, and one with parts recorded and no split is the previous
    release's; a reply this release began keeps its own."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="0")
    reply_id, _ = queue_long_reply(redis, settings)
    received: list[tuple[bytes | None, str]] = []
    if began == "the-previous-release":
        previous = previous_module("channels/sms_aggregator_send.py").reply_parts(LONG_REPLY, reply_id)
        received.append((previous[0].udh, previous[0].text))  # as its worker wrote the record, then part 2 failed
        redis.hset(reply_key(reply_id), mapping={"part.1.answer": "0: Accepted for delivery", "parts": len(previous),
                                                 "state": "retrying", "last_error": "aggregator_503", "attempts": 1})
        api.route.mock(return_value=httpx.Response(202, text="0: Accepted for delivery"))
    else:
        outcomes = iter([httpx.Response(202), httpx.Response(503), httpx.Response(202), httpx.Response(202)])
        api.route.mock(side_effect=lambda request: next(outcomes))
    drain(settings, (REPLY_QUEUE,))
    accepted = [call.request for call in api.route.calls if call.response.status_code == 202]
    received += [(part.udh, part.text) for part in map(sent_part, accepted)]
    assert a_long_reply_as_the_phone_joins_it(received) == LONG_REPLY
    record = redis.hgetall(reply_key(reply_id))
    assert record[b"state"] == b"sent" and record[b"parts"] == str(len(received)).encode()
    assert record[b"split"] == (SPLIT_8 if began == "the-previous-release" else SPLIT_16).encode()


def record_of_part_two_fails(times: int) -> Callable[..., Any]:
    """`Pipeline.execute` with Redis failing (a restart, a failover) on the first `times` writes of part 2's answer
    onto the reply's record, right after the aggregator accepted it: redis-py's own one retry spent already."""
    execute, left = Pipeline.execute, [times]

    def failing(pipe: Pipeline, *args: Any, **kwargs: Any) -> Any:
        if left[0] and any(command[0] == "HSET" and "part.2.answer" in command for command, _ in pipe.command_stack):
            left[0] -= 1
            pipe.reset()
            raise RedisConnectionError("Connection refused")
        return execute(pipe, *args, **kwargs)

    return failing


@pytest.mark.parametrize("failures", [1, 4], ids=["a-blip", "a-restart-of-seconds"])
def test_a_part_accepted_while_redis_fails_to_record_it_is_not_sent_again(
    test_env: Environment, redis: Redis, api: AggregatorApi, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO, failures: int
) -> None:
    """The aggregator accepted part 2, then Redis failed the write of its answer: the record missed it, RQ retried
    the attempt, and the retry sent part 2 again (a citizen got the Tracking ID twice after a Redis restart that met a
    send). The write is tried again while Redis comes back, and each part goes out once."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="0")
    reply_id, _ = queue_long_reply(redis, settings)
    monkeypatch.setattr(Pipeline, "execute", record_of_part_two_fails(failures))
    drain(settings, (REPLY_QUEUE,))
    assert [part.part for part in api.parts()] == [1, 2, 3]
    record = redis.hgetall(reply_key(reply_id))
    assert record[b"state"] == b"sent" and record[b"attempts"] == b"1"
    events = [event["event"] for event in log_events(log_stream)]
    assert events.count("reply.record_retry") == failures


def test_a_second_job_for_a_sent_reply_sends_nothing(
    test_env: Environment, redis: Redis, api: AggregatorApi, log_stream: io.StringIO
) -> None:
    """Two jobs for one reply (redis-py sent the queueing MULTI again after its answer was lost): the citizen gets
    the reply once, counted once."""
    settings = aggregator_settings(test_env)
    reply_id, job_argument = queue_long_reply(redis, settings)
    enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [(job_argument,)])
    drain(settings, (REPLY_QUEUE,))
    assert [part.part for part in api.parts()] == [1, 2, 3]
    assert redis.hget(reply_key(reply_id), "state") == b"sent"
    events = [event["event"] for event in log_events(log_stream)]
    assert (events.count("reply.sent"), events.count("reply.already_sent")) == (1, 1)


def test_two_jobs_of_one_reply_at_the_same_moment_send_each_part_once(
    test_env: Environment, redis: Redis, api: AggregatorApi, log_stream: io.StringIO
) -> None:
    """The reply queued twice (redis-py sent the queueing MULTI again), its two jobs on two reply workers at once: the
    second tries while the first is inside its first part's send. It sends nothing and is retried; its retry finds
    the reply sent. The citizen gets each part once."""
    settings = aggregator_settings(test_env)
    tracking_id = format_tracking_id(4_242)
    reply_id, job_argument = queue_long_reply(redis, settings, tracking_id)
    [second] = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [(job_argument,)])
    accepted: list[int] = []

    def aggregator(request: httpx.Request) -> httpx.Response:
        accepted.append(sent_part(request).part)
        return httpx.Response(202, text="0: Accepted for delivery")

    concurrently = SecondJobInFirstSend(aggregator, redis, second.id)
    api.route.side_effect = concurrently
    drain(settings, (REPLY_QUEUE,))  # the first job, the second's run beside it, then the second's retry
    assert accepted == [1, 2, 3]
    assert isinstance(concurrently.outcome, SendInProgress)
    assert redis.hget(reply_key(reply_id), "state") == b"sent"
    events = log_events(log_stream)
    [busy] = [event for event in events if event["event"] == "reply.send_in_progress"]
    assert (busy["channel"], busy["tracking_id"]) == ("sms-aggregator", tracking_id)
    assert "0812" not in orjson.dumps(busy).decode() and "Bagian" not in orjson.dumps(busy).decode()
    names = [event["event"] for event in events]
    assert (names.count("reply.sent"), names.count("reply.already_sent")) == (1, 1)
    assert DeadLetters(redis).count() == 0 and not redis.exists(send_lease_key(reply_id))


def gone_pid() -> int:
    """The pid of a process that ran on this host and has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("holder", ["on-another-host", "gone-from-this-host"])
def test_a_send_lease_left_by_a_dead_worker_holds_the_reply_back_no_longer_than_its_period(
    test_env: Environment, redis: Redis, api: AggregatorApi, log_stream: io.StringIO, holder: str
) -> None:
    """A worker died holding the reply's send lease. One on another host cannot be judged from here: the reply waits
    (retried, nothing sent, nothing written on its record) until the lease's period runs out, then goes out. One whose
    process is gone from this host is taken over at once, as a poller's lease is."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="1")
    reply_id, _ = queue_long_reply(redis, settings)
    key = send_lease_key(reply_id)
    host, pid = ("reply-b.lapor.internal", 4242) if holder == "on-another-host" else (socket.gethostname(), gone_pid())
    left = f"{host}:{pid}:{process_table()}:{secrets.token_hex(16)}"
    redis.set(key, left, px=60_000)
    drain(settings, (REPLY_QUEUE,))
    if holder == "on-another-host":
        assert api.parts() == []
        assert redis.get(key) == left.encode() and redis.pttl(key) > 50_000  # the dead worker's lease, left alone
        assert redis.hget(reply_key(reply_id), "state") == b"queued"
        replies = queue(REPLY_QUEUE, redis)
        [job_id] = replies.scheduled_job_registry.get_job_ids()  # RQ's retry, a second from now
        redis.pexpire(key, 1)  # the period runs out
        wait_until(lambda: not redis.exists(key))
        replies.scheduled_job_registry.remove(job_id)
        replies.enqueue_job(replies.fetch_job(job_id))  # as the scheduler does once its second has passed
        drain(settings, (REPLY_QUEUE,))
    else:
        [took] = [event for event in log_events(log_stream) if event["event"] == "reply.took_over"]
        assert (took["channel"], took["reason"]) == ("sms-aggregator", "holder_dead")
    assert [part.part for part in api.parts()] == [1, 2, 3]
    assert redis.hget(reply_key(reply_id), "state") == b"sent"
    assert DeadLetters(redis).count() == 0 and not redis.exists(key)


@pytest.mark.parametrize("holder", ["sent-the-reply", "died-without-sending"])
def test_a_reply_whose_send_lease_another_job_holds_through_every_retry_runs_again_once_the_lease_ended(
    test_env: Environment, redis: Redis, api: AggregatorApi, log_stream: io.StringIO, holder: str
) -> None:
    """Retries run out while another job holds the lease. The holder may well be sending the reply, and its lease ends
    by itself: no dead letter, no failure counted, the record left as the holder wrote it (not `dead_lettered` over
    its `sent`); the job is queued again, as it was queued, for just after the lease's end. Then it sends nothing
    when the holder sent the reply, and sends it when the holder died without sending."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="0")
    reply_id, job_argument = queue_long_reply(redis, settings)
    if holder == "sent-the-reply":
        drain(settings, (REPLY_QUEUE,))  # the holder's sending, recorded; it has yet to release its lease
        enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [(job_argument,)])  # the reply queued twice
    state = redis.hget(reply_key(reply_id), "state")
    key = send_lease_key(reply_id)
    redis.set(key, f"reply-b.lapor.internal:4242:{process_table()}:{secrets.token_hex(16)}", px=60_000)
    drain(settings, (REPLY_QUEUE,))
    assert [part.part for part in api.parts()] == ([1, 2, 3] if holder == "sent-the-reply" else [])
    assert DeadLetters(redis).count() == 0
    assert redis.hget(reply_key(reply_id), "state") == state == (b"sent" if holder == "sent-the-reply" else b"queued")
    assert redis.hget(SIGNALS_KEY.format(channel=health_channel("sms-aggregator")), "reply_failures") in (None, b"0")
    replies = queue(REPLY_QUEUE, redis)
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    again = replies.fetch_job(job_id)
    assert again is not None and again.func_name == REPLY_FUNC and again.args == [job_argument]
    assert (again.timeout, again.retries_left) == (settings.queues.job_timeout_seconds, 1)
    [waiting] = [event for event in log_events(log_stream) if event["event"] == "reply.send_in_progress"
                 and "rescheduled_in" in event]
    assert 60 < waiting["rescheduled_in"] <= 62  # the lease's minute at most, and the margin past its end
    if holder == "sent-the-reply":
        redis.delete(key)  # the holder released it
    else:
        redis.pexpire(key, 1)  # the dead holder's lease runs out
        wait_until(lambda: not redis.exists(key))
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(again)  # as the scheduler does once its time has come
    drain(settings, (REPLY_QUEUE,))
    assert [part.part for part in api.parts()] == [1, 2, 3]
    assert redis.hget(reply_key(reply_id), "state") == b"sent"
    assert DeadLetters(redis).count() == 0 and replies.scheduled_job_registry.count == 0
    names = [event["event"] for event in log_events(log_stream)]
    assert (names.count("reply.sent"), names.count("reply.already_sent")) == (
        (1, 1) if holder == "sent-the-reply" else (1, 0))


def test_the_send_lease_is_held_while_the_parts_go_out_and_released_after(
    settings: Settings, redis: Redis, api: AggregatorApi
) -> None:
    reply_id, _ = queue_long_reply(redis, settings)
    key = send_lease_key(reply_id)
    during: list[bytes | None] = []

    def aggregator(request: httpx.Request) -> httpx.Response:
        during.append(redis.get(key))
        return httpx.Response(202, text="0: Accepted for delivery")

    api.route.side_effect = aggregator
    drain(settings, (REPLY_QUEUE,))
    assert len(during) == 3 and len(set(during)) == 1  # one lease for every part
    holder = Holder.parse(during[0] or b"")
    assert holder is not None and (holder.host, holder.pid) == (socket.gethostname(), os.getpid())
    assert not redis.exists(key)
    assert redis.hget(reply_key(reply_id), "state") == b"sent"


def test_a_reply_requeued_from_the_dead_letters_sends_only_the_parts_not_accepted(
    test_env: Environment, redis: Redis, api: AggregatorApi
) -> None:
    """Part 2 fails through every attempt: the dead letter, once requeued, sends parts 2 and 3, never part 1 again;
    its delivery reports still land on the reply's record."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="0")
    reply_id, _ = queue_long_reply(redis, settings)
    aggregator = PartTwoInterrupted(a_bug, times=2)  # the first attempt and RQ's one retry
    api.route.side_effect = aggregator
    drain(settings, (REPLY_QUEUE,))
    assert aggregator.accepted == [1]
    [letter] = DeadLetters(redis).list()
    assert (letter.reason, redis.hget(reply_key(reply_id), "state")) == ("job_failed", b"dead_lettered")

    assert DeadLetters(redis).requeue([letter], settings).requeued == 1
    drain(settings, (REPLY_QUEUE,))
    assert aggregator.accepted == [1, 2, 3]
    assert redis.hget(reply_key(reply_id), "state") == b"sent"
    for part in (1, 3):
        assert OutboundReplies(redis, settings).record_delivery(reply_id, part, "delivered", {"smsc_id": "tsel-1"})
    record = redis.hgetall(reply_key(reply_id))
    assert (record[b"dlr.1"], record[b"dlr.3"], record[b"delivery"]) == (b"delivered", b"delivered", b"partial")
    assert OutboundReplies(redis, settings).record_delivery(reply_id, 2, "delivered", {"smsc_id": "tsel-1"})
    assert redis.hget(reply_key(reply_id), "delivery") == b"delivered"


@pytest.mark.parametrize(("answer", "state"), [
    pytest.param(httpx.Response(202, text="0: Accepted for delivery"), b"sent", id="sent"),
    pytest.param(httpx.Response(403, text="Authorization failed for sendsms"), b"dead_lettered", id="refused"),
])
def test_a_reply_whose_record_expired_before_it_ran_writes_a_record_that_expires(
    redis: Redis, settings: Settings, api: AggregatorApi, answer: httpx.Response, state: bytes,
) -> None:
    """A reply run long after it was queued (a requeue from the dead letters) finds its record expired: what the
    worker writes creates it anew, and with the record's TTL, or it would stay in Redis for ever."""
    reply_id, _ = queue_long_reply(redis, settings)
    redis.delete(reply_key(reply_id))  # expired
    api.route.mock(return_value=answer)
    drain(settings, (REPLY_QUEUE,))
    assert redis.hget(reply_key(reply_id), "state") == state
    assert 0 < redis.ttl(reply_key(reply_id)) <= settings.intake.envelope_ttl_seconds


async def test_delivery_reports_are_recorded_against_the_reply(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    await post_callback(gateway.client, sms("081244440005", "LAPOR drainase tersumbat", "dlr-1"))
    drain(settings)
    [part] = api.parts()
    dlr = {k: v.replace("{reply_id}", part.reply_id) for k, v in fixture("dlr_delivered.json")["fields"].items()}

    assert (await post_callback(gateway.client, dlr, path=DLR_PATH, signature=None)).status_code == 403
    response = await post_callback(gateway.client, dlr, path=DLR_PATH)
    assert response.status_code == 200 and response.json()["status"] == "delivered"
    record = redis.hgetall(reply_key(part.reply_id))
    assert record[b"dlr.1"] == b"delivered" and record[b"delivery"] == b"delivered"
    assert record[b"dlr.1.smsc_id"] == b"tsel-88213"
    unknown = await post_callback(gateway.client, {**dlr, "reply_id": "0" * 32}, path=DLR_PATH)
    assert unknown.status_code == 404


async def test_a_late_intermediate_delivery_report_does_not_undo_a_final_one(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """Kannel reports a part as submitted (8) when the SMSC takes it and as delivered (1) when the phone has it; the
    two callbacks race, and an aggregator that retries a refused one (our 503 while Redis blinked) sends the submitted
    report after the delivered one. Recorded as it came, the reply then read "submitted" for good. A final report
    (delivered, failed, rejected) stays; a later one that is final too still replaces it."""
    await post_callback(gateway.client, sms("081244440008", "LAPOR gorong-gorong ambrol", "dlr-late-1"))
    drain(settings)
    [part] = api.parts()
    fields = {"reply_id": part.reply_id, "part": "1"}
    delivered = await post_callback(gateway.client, {**fields, "type": "1", "smsc_id": "tsel-9"}, path=DLR_PATH)
    late = await post_callback(gateway.client, {**fields, "type": "8", "smsc_id": "tsel-8"}, path=DLR_PATH)
    assert (delivered.status_code, late.status_code) == (200, 200), late.text
    assert late.json() == {"recorded": False, "status": "submitted"}
    record = redis.hgetall(reply_key(part.reply_id))
    assert (record[b"dlr.1"], record[b"delivery"], record[b"dlr.1.smsc_id"]) == (b"delivered", b"delivered", b"tsel-9")

    failed = await post_callback(gateway.client, {**fields, "type": "2"}, path=DLR_PATH)
    assert failed.json() == {"recorded": True, "status": "failed"}
    assert redis.hget(reply_key(part.reply_id), "delivery") == b"failed"


async def test_a_time_outside_the_calendar_in_utc_is_dropped_not_a_crash(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """A `ts` whose UTC falls before year 1 (an aggregator's reset clock in WIB) raised out of the handlers: the
    callback answered 500, retried by the aggregator for ever with the citizen's report never filed, and the
    delivery report went unrecorded. It is dropped like any unreadable time."""
    reset_clock = "0001-01-01T00:00:00+07:00"
    response = await post_callback(gateway.client, {**sms("081244440007", "LAPOR jembatan putus", "ts-1"),
                                                    "ts": reset_clock})
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    stored = orjson.loads(redis.get(envelope_key(message["tracking_id"])))
    assert "sent_at" not in stored["channel_meta"]
    drain(settings)
    [part] = api.parts()
    dlr = await post_callback(gateway.client, {"reply_id": part.reply_id, "type": "1", "ts": reset_clock},
                              path=DLR_PATH)
    assert dlr.status_code == 200, dlr.text
    assert redis.hget(reply_key(part.reply_id), "dlr.1") == b"delivered"


async def test_a_delivery_report_posted_to_the_dlr_url_we_gave_is_recorded(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The dlr-url in every send carries `reply_id` and `part` in its query: an aggregator that POSTs its report to
    that very URL, with only its own fields signed in the body, is recorded (a field in the body still wins)."""
    await post_callback(gateway.client, sms("081244440006", "LAPOR lampu jalan mati", "dlr-url-1"))
    drain(settings)
    [call] = api.route.calls
    dlr_url = dlr_url_of(call)
    fields = {"type": "2", "smsc_id": "tsel-1", "ts": "1763800300"}

    response = await post_callback(gateway.client, fields, path=dlr_target(dlr_url))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "failed"
    reply_id = dict(dlr_url.params)["reply_id"]
    record = redis.hgetall(reply_key(reply_id))
    assert record[b"dlr.1"] == b"failed" and record[b"dlr.1.smsc_id"] == b"tsel-1"

    # Without the query, the same body names no reply: still a typed 400.
    bare = await post_callback(gateway.client, fields, path=DLR_PATH)
    assert bare.status_code == 400 and bare.json()["error"] == "missing_field"


def dlr_url_of(call: Any) -> httpx.URL:
    """The dlr-url a sendsms request handed the aggregator."""
    return httpx.URL(dict(httpx.QueryParams(call.request.url.query))["dlr-url"])


def dlr_target(url: httpx.URL) -> str:
    """The path and query an aggregator POSTs a report to, for the test client."""
    return f"{url.path}?{url.query.decode()}"


@dataclass(frozen=True)
class DlrReplay:
    """A report posted to the dlr path. `query` and `body` may name `{A}` and `{B}` (two citizens' reply ids) and
    `{sig_A}`, `{sig_B}` (the `sig` of the dlr-url each reply's part 1 was sent with); every body is signed, as the
    aggregator signs it. `failed_on`: the reply whose part 1 reads failed afterwards (None: neither)."""

    query: dict[str, str]
    body: dict[str, str]
    status: int
    error: str | None
    failed_on: str | None


# The aggregator's own report of reply A, as it posts it to A's dlr-url: a signed body that names no reply. Anyone
# holding it (a log, a proxy) could post it again with any reply's id in the query, unsigned, until the dlr-url
# carried `sig`: each row below but the accepted ones was recorded, B's reply marked failed.
OWN_REPORT: dict[str, str] = fixture("dlr_failed_at_dlr_url.json")["fields"]

DLR_REPLAYS = [
    pytest.param(DlrReplay({"reply_id": "{A}", "part": "1", "sig": "{sig_A}"}, OWN_REPORT, 200, None, "A"),
                 id="the-dlr-url-as-handed-out"),
    pytest.param(DlrReplay({"reply_id": "{B}", "part": "1"}, OWN_REPORT, 403, "dlr_token_missing", None),
                 id="another-replys-id-in-the-query-without-sig"),
    pytest.param(DlrReplay({"reply_id": "{B}", "part": "1", "sig": "{sig_A}"}, OWN_REPORT, 403, "dlr_token_invalid",
                           None), id="another-replys-id-with-the-first-ones-sig"),
    pytest.param(DlrReplay({"reply_id": "{B}", "part": "1", "sig": "0" * 32}, OWN_REPORT, 403, "dlr_token_invalid",
                           None), id="another-replys-id-with-a-made-up-sig"),
    pytest.param(DlrReplay({"reply_id": "{A}", "part": "2", "sig": "{sig_A}"}, OWN_REPORT, 403, "dlr_token_invalid",
                           None), id="another-part-with-part-1s-sig"),
    pytest.param(DlrReplay({"reply_id": "{A}", "part": "1", "sig": "{sig_A}"}, {**OWN_REPORT, "reply_id": "{B}"},
                           403, "dlr_token_invalid", None), id="a-body-naming-b-borrowing-the-part-of-as-url"),
    pytest.param(DlrReplay({"reply_id": "{A}", "part": "1", "sig": "{sig_A}"}, {**OWN_REPORT, "part": "2"},
                           403, "dlr_token_invalid", None), id="a-body-naming-part-2-borrowing-as-reply-id"),
    pytest.param(DlrReplay({"reply_id": "{B}", "part": "1", "sig": "{sig_B}"}, {**OWN_REPORT, "reply_id": "{B}"},
                           200, None, "B"), id="a-body-repeating-the-urls-reply-id"),
    pytest.param(DlrReplay({"reply_id": "{B}", "part": "01", "sig": "{sig_B}"}, OWN_REPORT, 200, None, "B"),
                 id="the-part-written-with-a-leading-zero"),
    # A dlr-url handed out before `sig` (an aggregator still reports on it for hours after the upgrade): refused with
    # its reason, unless the body names the reply and part itself (signed, they need no token; the query is not read).
    pytest.param(DlrReplay({"reply_id": "{A}", "part": "1"}, OWN_REPORT, 403, "dlr_token_missing", None),
                 id="a-dlr-url-from-before-sig"),
    pytest.param(DlrReplay({"reply_id": "{A}", "part": "1"}, {**OWN_REPORT, "reply_id": "{B}", "part": "1"},
                           200, None, "B"), id="a-body-naming-both-needs-no-sig"),
]


@pytest.mark.parametrize("row", DLR_REPLAYS)
async def test_a_reply_id_in_the_dlr_urls_query_counts_only_with_its_sig(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis, log_stream: io.StringIO,
    row: DlrReplay,
) -> None:
    """The signature covers the body, not the URL: a reply id or part taken from the query needs the dlr-url's
    `sig`, the token over the reply id and part the report is recorded under."""
    await post_callback(gateway.client, sms("081244440011", "LAPOR jalan rusak di Jl. Sudirman", "dlr-replay-a"))
    await post_callback(gateway.client, sms("081244440012", "LAPOR banjir di Kampung Melayu", "dlr-replay-b"))
    drain(settings)
    urls = {part.to[-1]: dlr_url_of(call) for part, call in zip(api.parts(), api.route.calls, strict=True)}
    names = {}
    for name, digit in (("A", "1"), ("B", "2")):
        params = dict(urls[digit].params)
        names |= {"{" + name + "}": params["reply_id"], "{sig_" + name + "}": params["sig"]}

    def filled(fields: dict[str, str]) -> dict[str, str]:
        return {key: names.get(value, value) for key, value in fields.items()}

    response = await post_callback(gateway.client, filled(row.body),
                                   path=f"{DLR_PATH}?{urlencode(filled(row.query))}")
    assert response.status_code == row.status, response.text
    if row.error:
        assert response.json()["error"] == row.error
        assert [(e["reason"], e["status"]) for e in log_events(log_stream) if e["event"] == "dlr.rejected"] == [
            (row.error, 403)]
    failed = {name: redis.hget(reply_key(names["{" + name + "}"]), "dlr.1") for name in ("A", "B")}
    assert failed == {name: b"failed" if name == row.failed_on else None for name in ("A", "B")}


async def test_each_part_of_a_long_reply_is_reported_through_its_own_dlr_url(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """Every part's dlr-url carries a `sig` of its own, the token over its reply id and part number."""
    queue_long_reply(redis, settings)
    drain(settings, (REPLY_QUEUE,))
    urls = [dlr_url_of(call) for call in api.route.calls]
    assert len(urls) >= 2
    for number, url in enumerate(urls, start=1):
        params = dict(url.params)
        assert params["part"] == str(number)
        assert params["sig"] == dlr_token(AGGREGATOR_SECRET, params["reply_id"], str(number))
        response = await post_callback(gateway.client, {"type": "1"}, path=dlr_target(url))
        assert response.status_code == 200, response.text
    record = redis.hgetall(reply_key(dict(urls[0].params)["reply_id"]))
    assert record[b"delivery"] == b"delivered"
    assert [record[f"dlr.{n}".encode()] for n in range(1, len(urls) + 1)] == [b"delivered"] * len(urls)


async def test_the_reply_worker_runs_at_the_configured_rate(
    test_env: Environment, redis: Redis, casestore: CaseStoreServer, api: AggregatorApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every grant the limiter gave sits in a window of at most `send_rate_per_second` sends."""
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_SEND_RATE_PER_SECOND="4")
    async with running_gateway(settings, redis) as gateway:
        for n in range(9):
            await post_callback(gateway.client, sms(f"08124444{n:04d}", f"LAPOR sampah liar titik {n}", f"rate-{n}"))
    windows: list[int] = []
    original = RateLimiter.acquire

    def recording(self: RateLimiter) -> int:
        window = original(self)
        windows.append(window)
        return window

    monkeypatch.setattr(RateLimiter, "acquire", recording)
    drain(settings, (REPLY_QUEUE,))
    assert len(api.parts()) == 9
    assert max(windows.count(w) for w in set(windows)) <= 4
    assert len(set(windows)) >= 3


async def test_the_development_outbox_takes_replies_without_an_aggregator(
    test_env: Environment, redis: Redis, casestore: CaseStoreServer, tmp_path: Path
) -> None:
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_SEND_URL="outbox:")
    async with running_gateway(settings, redis) as gateway:
        await post_callback(gateway.client, sms("081244449999", "LAPOR trotoar rusak", "outbox-1"))
    drain(settings)
    [outbox] = (settings.data_dir / "outbox").iterdir()
    lines = outbox.read_text().splitlines()
    assert [orjson.loads(line)["to"] for line in lines] == ["+6281244449999"]
    # One file a day (UTC), for the retention's purge to delete whole (tests/test_attachment_purge.py).
    assert outbox.name == f"sms-aggregator-{orjson.loads(lines[0])['at'][:10]}.jsonl"
    # Numbers and texts: the gateway user's only, whatever the umask.
    assert outbox.stat().st_mode & 0o077 == 0 and outbox.parent.stat().st_mode & 0o077 == 0


async def test_no_log_line_carries_the_number_the_text_or_the_send_password(
    test_env: Environment, redis: Redis, casestore: CaseStoreServer, api: AggregatorApi, log_stream: io.StringIO
) -> None:
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_SEND_PASSWORD="s3cret-sendsms-pw")
    async with running_gateway(settings, redis) as gateway:
        await post_callback(gateway.client, sms("081266660001", "LAPOR Bu Sri dipalak preman", "log-1"))
        await post_callback(gateway.client, sms("081266660001", "BANTUAN", "log-2"))
    drain(settings)
    assert len(api.parts()) >= 2
    logged = log_stream.getvalue()
    events = [e["event"] for e in log_events(log_stream)]
    assert "reply.sent" in events and "message.accepted" in events
    for secret in ("81266660001", "dipalak", "s3cret-sendsms-pw"):
        assert secret not in logged


def test_a_sweeper_that_dies_mid_way_leaves_the_message_to_the_next_one(redis: Redis, settings: Settings) -> None:
    """The sweep claims a due buffer with a lease, not by removing it: a crash before the commit loses nothing."""
    from channels.base import InboundMessage, MessagePart
    from gateway.concat import LEASE_SECONDS, PartBuffer
    from normalizer.envelope import Channel, SenderKind, utc_now

    buffer = PartBuffer(redis, settings)
    part = InboundMessage(
        channel=Channel.SMS, source="sms-aggregator", provider_message_id="lease-1", sender_kind=SenderKind.MSISDN,
        sender_address="081277770000", text="LAPOR awal", received_at=utc_now(),
        part=MessagePart(reference="9", total=2, number=1, coding="gsm7", data="LAPOR awal"),
    )
    assert buffer.add(part).state == "waiting"
    now = time.time() + settings.aggregator.concat_wait_seconds + 1
    [(key, message)] = buffer.claim_due(now)
    assert message is not None and message.incomplete and message.text == "LAPOR awal [...]"
    assert buffer.claim_due(now + 1) == []  # leased: no second sweeper takes it meanwhile
    # ... the first sweeper dies here, without marking it done ...
    [(again, _)] = buffer.claim_due(now + LEASE_SECONDS + 1)
    assert again == key
    buffer.mark_done(key, "10000004")
    assert buffer.pending() == 0
    assert buffer.add(part).tracking_id == "10000004"


@pytest.mark.parametrize("race", ["last-part-twice-at-once", "sweep-and-late-part"])
def test_a_message_marked_done_twice_keeps_its_fingerprints(redis: Redis, settings: Settings, race: str) -> None:
    """A message is marked done twice when two of its joins race: the aggregator's retry of the last part while the
    first delivery is still being handled (both complete it), or the sweep taking it as the missing part arrives.
    The second mark found the parts gone and wiped their fingerprints, and with the done marker left alone every part
    of the sender's next message with that reference, for 30 days, was answered as a late part: all of it lost."""
    from channels.base import InboundMessage, MessagePart
    from gateway.concat import PartBuffer
    from normalizer.envelope import Channel, SenderKind, utc_now

    buffer = PartBuffer(redis, settings)

    def part(message_id: str, number: int, data: str) -> InboundMessage:
        return InboundMessage(
            channel=Channel.SMS, source="sms-aggregator", provider_message_id=message_id,
            sender_kind=SenderKind.MSISDN, sender_address="081277770001", text=data, received_at=utc_now(),
            part=MessagePart(reference="42", total=2, number=number, coding="gsm7", data=data),
        )

    assert buffer.add(part("a-1", 1, "LAPOR jalan")).state == "waiting"
    if race == "last-part-twice-at-once":
        first, second = buffer.add(part("a-2", 2, " rusak")), buffer.add(part("a-2", 2, " rusak"))
        assert (first.state, second.state) == ("complete", "complete")
        keys = [first.key, second.key]
    else:
        [(swept, _)] = buffer.claim_due(time.time() + settings.aggregator.concat_wait_seconds + 1)
        completed = buffer.add(part("a-2", 2, " rusak"))
        assert completed.state == "complete"
        keys = [completed.key, swept]
    for key in keys:
        buffer.mark_done(key, "10000004")

    assert buffer.add(part("a-2", 2, " rusak")).tracking_id == "10000004"  # still a late part
    assert buffer.add(part("b-1", 1, "LAPOR lampu")).state == "waiting"
    joined = buffer.add(part("b-2", 2, " mati"))
    assert joined.state == "complete" and joined.message is not None
    assert joined.message.text == "LAPOR lampu mati" and not joined.message.incomplete


@pytest.mark.parametrize(
    "fields",
    [sms("081288880001", "LAPOR jalan rusak", "down-1"),
     sms("081288880001", "LAPOR bagian pertama", "down-2", udh="050003110201")],
    ids=["single-sms", "concatenated-part"],
)
async def test_without_redis_the_aggregator_gets_503_and_retries(
    test_env: Environment, fields: dict[str, str]
) -> None:
    """Nothing is acknowledged that is not durable: a Redis that cannot be reached makes the aggregator retry."""
    from tests.conftest import free_port

    settings = aggregator_settings(test_env)
    dead = redis_connection(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    async with running_gateway(settings, dead) as gateway:
        response = await post_callback(gateway.client, fields)
    assert response.status_code == 503
    assert response.json()["error"] == "redis_unavailable"


async def test_a_disabled_aggregator_has_no_endpoint(test_env: Environment, redis: Redis) -> None:
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_ENABLED="false")
    async with running_gateway(settings, redis) as gateway:
        response = await post_callback(gateway.client, sms("081288880002", "LAPOR x", "off-1"))
        dlr = await post_callback(gateway.client, {"reply_id": "a", "type": "1"}, path=DLR_PATH)
    assert (response.status_code, dlr.status_code) == (404, 404)


async def test_a_follow_up_to_an_anonymous_report_stays_anonymous(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """The citizen does not repeat #anonim when adding to the report: the follow-up must not reveal them."""
    first = await post_callback(gateway.client, sms("081233334444", "LAPOR #anonim #rahasia camat terima suap",
                                                    "fu-anon-1"))
    parent = first.json()["messages"][0]["tracking_id"]
    await post_callback(gateway.client, sms("081233334444", f"{parent} ada rekaman videonya", "fu-anon-2"))
    drain(settings)

    [follow_up] = casestore.get(parent)["follow_ups"]
    assert follow_up["follow_up_of"] == parent and follow_up["text"] == "ada rekaman videonya"
    assert (follow_up["anonymous"], follow_up["confidential"]) == (True, True)
    assert follow_up["sender"]["kind"] == "reply_handle"
    assert "81233334444" not in orjson.dumps(casestore.reports()).decode()
    assert api.texts_to("+6281233334444")[-1] == render("follow_up", "id", follow_up_of=parent)


async def test_someone_elses_status_query_and_addition_to_an_anonymous_report_tell_them_only_its_status(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """A Tracking ID is short, sequential and public: whoever sends `CEK <id>` or `<id> <text>` from another number
    is answered at their own number, with the status or the confirmation and nothing of the report or its sender;
    the reporter gets nothing of it, and the addition reaches the case store anonymous, without the other number."""
    first = await post_callback(gateway.client, sms("081233334444", "WBS #anonim camat terima suap", "other-1"))
    parent = first.json()["messages"][0]["tracking_id"]
    drain(settings)
    casestore.store.set_status(parent, "in_progress")
    await post_callback(gateway.client, sms("085699990000", f"CEK {parent}", "other-2"))
    await post_callback(gateway.client, sms("085699990000", f"{parent} saya juga lihat", "other-3"))
    drain(settings)
    assert api.texts_to("+6285699990000") == [render("status", "id", tracking_id=parent,
                                                     status=status_name("in_progress", "id")),
                                              render("follow_up", "id", follow_up_of=parent)]
    assert api.texts_to("+6281233334444") == [render("ack_anonymous", "id", tracking_id=parent)]
    [follow_up] = casestore.get(parent)["follow_ups"]
    assert (follow_up["anonymous"], follow_up["sender"]["kind"]) == (True, "reply_handle")
    stored = orjson.dumps(casestore.reports()).decode()
    assert "81233334444" not in stored and "85699990000" not in stored


async def test_a_follow_up_to_a_tracking_id_never_issued_is_filed_as_a_new_report(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """design.md: a follow-up is to an *existing* report. A well-formed ID above the counter makes a new report."""
    unknown = format_tracking_id(7_777_777)
    response = await post_callback(gateway.client, sms("081255556666", f"{unknown} jalan di depan pasar rusak",
                                                       "fu-unknown-1"))
    tracking_id = response.json()["messages"][0]["tracking_id"]
    drain(settings)

    assert tracking_id != unknown
    [report] = casestore.reports()
    assert report["tracking_id"] == tracking_id and report["follow_up_of"] is None
    assert report["text"] == f"{unknown} jalan di depan pasar rusak"  # what the citizen typed, number included
    assert api.texts_to("+6281255556666")[-1] == render("follow_up_unknown", "id", follow_up_of=unknown,
                                                        tracking_id=tracking_id)


async def test_a_follow_up_to_a_report_only_the_case_store_still_has_keeps_its_privacy(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The gateway's copy of the report has expired (30 days): the case store's says it is anonymous."""
    first = await post_callback(gateway.client, sms("081277778888", "LAPOR #anonim pungli di kelurahan", "fu-old-1"))
    parent = first.json()["messages"][0]["tracking_id"]
    drain(settings)
    redis.delete(envelope_key(parent))
    await post_callback(gateway.client, sms("081277778888", f"{parent} pelakunya minta lagi", "fu-old-2"))
    drain(settings)

    [follow_up] = casestore.get(parent)["follow_ups"]
    assert follow_up["anonymous"] is True and follow_up["sender"]["kind"] == "reply_handle"
    assert api.texts_to("+6281277778888")[-1] == render("follow_up", "id", follow_up_of=parent)


@pytest.mark.parametrize("case_store", ["down", "not-there-yet"])
async def test_a_follow_up_to_an_issued_id_found_nowhere_is_kept_as_meant_while_the_case_store_cannot_say(
    case_store: str, gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings,
    redis: Redis,
) -> None:
    """The report was issued but Redis no longer has it. With the case store down, the follow-up is kept as the
    citizen meant it, and anonymous, since its report's flags are unknown. With the case store answering 404 (the ID
    leased to another process and not given yet, or its report still in a spool not yet replayed) it is a new report,
    anonymous, with the ID at the start of its words: taken as a follow-up, a guess at the next IDs put a stranger's
    words among the additions of the report that took the ID later."""
    first = await post_callback(gateway.client, sms("081299990000", "LAPOR jalan berlubang", "fu-issued-1"))
    parent = first.json()["messages"][0]["tracking_id"]
    redis.delete(envelope_key(parent))  # not forwarded, and the gateway's copy gone
    if case_store == "down":
        casestore.stop()
    response = await post_callback(gateway.client, sms("081299990000", f"{parent} ada foto baru", "fu-issued-2"))
    tracking_id = response.json()["messages"][0]["tracking_id"]
    envelope = orjson.loads(redis.get(envelope_key(tracking_id)))
    drain(settings, (REPLY_QUEUE,))
    if case_store == "down":
        assert envelope["follow_up_of"] == parent and envelope["text"] == "ada foto baru"
        assert envelope["anonymous"] is True
        assert api.texts_to("+6281299990000")[-1] == render("follow_up", "id", follow_up_of=parent)
    else:
        assert (envelope["follow_up_of"], envelope["text"]) == (None, f"{parent} ada foto baru")
        assert envelope["anonymous"] is True  # its report may be an anonymous one still in a spool; told so
        assert api.texts_to("+6281299990000")[-1] == render("follow_up_unknown_anonymous", "id", follow_up_of=parent,
                                                            tracking_id=tracking_id)


@pytest.mark.parametrize(("timeout", "expected"), [(30, 30.0), (None, 180.0), (0, 180.0), (-1, 120.0)])
def test_a_send_lease_runs_as_long_as_rq_lets_the_attempt_run(
    monkeypatch: pytest.MonkeyPatch, timeout: int | None, expected: float
) -> None:
    """The job's timeout; for a job without one RQ's own default (180 s), which is what ends its attempt, not the
    queues' shorter default: that lease would expire while the attempt still sends. A job RQ never times out (-1)
    gets the queues' default."""
    import workers.send_lease as send_lease_module

    context = SimpleNamespace(settings=SimpleNamespace(queues=SimpleNamespace(job_timeout_seconds=120)))
    monkeypatch.setattr(send_lease_module, "get_current_job", lambda: SimpleNamespace(timeout=timeout))
    assert send_lease_module.lease_seconds(context) == expected  # type: ignore[arg-type]
    monkeypatch.setattr(send_lease_module, "get_current_job", lambda: None)
    assert send_lease_module.lease_seconds(context) == 120.0  # type: ignore[arg-type]


async def test_a_citizen_whose_sms_a_bug_failed_to_file_is_told_it_was_kept(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The webhook's 500 got the aggregator's citizen nothing at all (its answer carries no reply): the SMS kept
    unfiled (gateway.unfiled), an SMS of our own tells them so, once, however often the aggregator sends it again."""
    import gateway.app as app_module

    def normalize_with_a_bug(message: InboundMessage, **kwargs: Any) -> Any:
        raise ValueError(f"cannot read {message.text!r}")

    monkeypatch.setattr(app_module, "normalize", normalize_with_a_bug)
    fields = sms("081211110009", "LAPOR lurah meminta uang untuk surat pindah", "bug-1")
    for _ in range(2):
        answer = await post_callback(gateway.client, fields)
        assert (answer.status_code, answer.json()) == (200, {"status": "accepted", "messages": []})
    drain(settings)
    [told] = api.parts()
    assert (told.to, told.text) == ("+6281211110009", render("sms_kept_unfiled"))


async def test_the_sweepers_outage_lines_name_no_message_it_took_before(log_stream: io.StringIO) -> None:
    """A sweep's message left its Tracking ID and channel bound in the sweeper's context: the next outage's
    `concat.sweep_failed` and `concat.sweep_back` named that message, as if it had to do with the outage."""
    from redis.exceptions import ConnectionError as Gone

    from gateway.concat import run_sweeper
    from gateway.logs import bind_message_context

    rounds: list[Any] = [[("k1", SimpleNamespace(personal_values=lambda: ()))], Gone("down"), []]

    class Buffer:
        def claim_due(self) -> Any:
            step = rounds.pop(0) if rounds else []
            if isinstance(step, Exception):
                raise step
            return step

    async def handle(key: str, message: Any) -> None:
        bind_message_context(channel="sms-aggregator", tracking_id="10000004")

    sweeper = asyncio.create_task(run_sweeper(Buffer(), handle, 0.01))  # type: ignore[arg-type]
    try:
        await async_wait_until(lambda: any(e["event"] == "concat.sweep_back" for e in log_events(log_stream)),
                               timeout=5)
    finally:
        sweeper.cancel()
    lines = [e for e in log_events(log_stream) if e["event"] in ("concat.sweep_failed", "concat.sweep_back")]
    assert len(lines) == 2 and not [e for e in lines if "tracking_id" in e or "channel" in e], lines


@pytest.mark.parametrize("mended", [False, True], ids=["bug-still-there", "bug-gone-before-the-wait-ends"])
async def test_a_concatenated_sms_kept_unfiled_leaves_no_parts_for_the_sweeper(
    gateway: GatewayServer, settings: Settings, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, mended: bool,
) -> None:
    """The webhook kept a joined SMS a bug failed to file, and left its parts waiting: the sweeper took it again
    once the wait was over, kept and counted it twice, or, the bug gone, filed it while it stayed kept, its
    acknowledgement held back as a repeat of the kept SMS's (the citizen told it was kept never got a Tracking ID)."""
    import gateway.app as app_module
    from gateway.unfiled import UnfiledMessages

    original = app_module.normalize

    def normalize_with_a_bug(message: InboundMessage, **kwargs: Any) -> Any:
        raise ValueError("a bug")

    monkeypatch.setattr(app_module, "normalize", normalize_with_a_bug)
    first = sms("081211110009", "LAPOR lurah meminta ", "joined-1", udh="050003310201")
    assert (await post_callback(gateway.client, first)).json()["messages"] == []
    answer = await post_callback(gateway.client, sms("081211110009", "uang surat pindah", "joined-2",
                                                     udh="050003310202"))
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted", "messages": []})
    assert redis.zcard(PENDING_KEY) == 0  # its parts are taken: nothing for the sweeper
    if mended:
        monkeypatch.setattr(app_module, "normalize", original)
    await asyncio.sleep(2 * settings.aggregator.concat_wait_seconds)  # a sweep would have taken it by now
    assert len([e for e in log_events(log_stream) if e["event"] == "message.unfiled"]) == 1
    assert not [e for e in log_events(log_stream) if e["event"] == "message.accepted"]
    assert [job.args[0]["kind"] for job in queue(REPLY_QUEUE, redis).jobs] == ["kept_unfiled"]
    (kept,), _ = UnfiledMessages(redis).list()
    assert (kept.message.text, kept.message.incomplete) == ("LAPOR lurah meminta uang surat pindah", False)
    again = await post_callback(gateway.client, first)  # a part delivered again: no second message
    assert (again.status_code, again.json()) == (200, {"status": "accepted", "messages": []})
    assert UnfiledMessages(redis).list()[0] == [kept]


@pytest.mark.parametrize("failure", ["bug", "refusal"])
async def test_a_part_that_takes_a_waiting_message_that_fails_to_file_is_still_stored(
    gateway: GatewayServer, redis: Redis, monkeypatch: pytest.MonkeyPatch, failure: str,
) -> None:
    """The next message's part takes the waiting one at once (one reference for every message); a bug fails to file
    that earlier message, which is kept unfiled and its citizen told. The part in hand is the next message's, not
    the kept one's: answered 200 without being stored, it was acknowledged and lost, and the next message's part at
    a number the earlier never had was answered as its late part ("done") and lost too. Refused (400), the part was
    refused with it, and the aggregator does not send a refused callback again."""
    import gateway.app as app_module

    original = app_module.normalize

    def normalize_failing_the_earlier(message: InboundMessage, **kwargs: Any) -> Any:
        if message.incomplete:
            raise ValueError("a bug") if failure == "bug" else RejectedInput("a refusal", reason="bad_field")
        return original(message, **kwargs)

    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    for number in (1, 3):  # part 2 is lost
        assert (await post_callback(gateway.client, first["parts"][number - 1])).json()["messages"] == []
    monkeypatch.setattr(app_module, "normalize", normalize_failing_the_earlier)
    taking = await post_callback(gateway.client, second["parts"][0])
    monkeypatch.setattr(app_module, "normalize", original)
    if taking.status_code != 200:  # not acknowledged: the aggregator sends it again
        assert (await post_callback(gateway.client, second["parts"][0])).status_code == 200
    answers = [await post_callback(gateway.client, part) for part in second["parts"][1:]]
    assert [answer.status_code for answer in answers] == [200, 200]
    kept = UnfiledMessages(redis).list()[0]
    assert [entry.message.incomplete for entry in kept] == ([True] if failure == "bug" else [])
    [filed] = answers[-1].json()["messages"]
    whole = orjson.loads(redis.get(envelope_key(filed["tracking_id"])))  # type: ignore[arg-type]
    assert (whole["text"], whole["incomplete"]) == (second["expected_text"], False)
    assert sorted(job.args[0]["kind"] for job in queue(REPLY_QUEUE, redis).jobs) == [
        "ack", *(["kept_unfiled"] if failure == "bug" else [])]
    assert redis.zcard(PENDING_KEY) == 0


@pytest.mark.parametrize("bug", ["gone-by-the-retry", "still-there"])
async def test_a_superseded_message_kept_unfiled_is_kept_and_told_once_when_its_mark_meets_a_redis_outage(
    gateway: GatewayServer, redis: Redis, monkeypatch: pytest.MonkeyPatch, bug: str,
) -> None:
    """The next message's part takes the waiting one (one reference for every message); a bug fails to file it, so
    it is kept unfiled and its citizen told; then Redis fails as its parts are marked done: a 503, and the
    aggregator's retry found the waiting message again. The bug gone, it was filed while it stayed kept (two copies,
    the citizen told both that it was kept and its Tracking ID); the bug still there, the citizen was told twice.
    Kept and marked in one transaction, the 503 leaves neither, and the retry does it once."""
    import gateway.app as app_module

    original, failures = app_module.normalize, {"normalize": 0, "mark": 0}
    mark_done = PartBuffer.mark_done

    def normalize_failing_the_earlier(message: InboundMessage, **kwargs: Any) -> Any:
        if message.incomplete and (bug == "still-there" or failures["normalize"] == 0):
            failures["normalize"] += 1
            raise ValueError("a bug")
        return original(message, **kwargs)

    def mark_done_in_an_outage(self: PartBuffer, *args: Any, **kwargs: Any) -> None:
        if failures["mark"] == 0:
            failures["mark"] += 1
            raise RedisConnectionError("Connection refused")
        mark_done(self, *args, **kwargs)

    first, second = fixture("kannel_concat_gsm7_udh.json"), fixture("kannel_concat_gsm7_udh_reference_reused.json")
    for number in (1, 3):  # part 2 is lost
        assert (await post_callback(gateway.client, first["parts"][number - 1])).json()["messages"] == []
    monkeypatch.setattr(app_module, "normalize", normalize_failing_the_earlier)
    monkeypatch.setattr(PartBuffer, "mark_done", mark_done_in_an_outage)
    taking = await post_callback(gateway.client, second["parts"][0])
    assert taking.status_code == 503 and failures["mark"] == 1
    again = await post_callback(gateway.client, second["parts"][0])  # the aggregator's retry
    assert again.status_code == 200
    for part in second["parts"][1:]:
        assert (await post_callback(gateway.client, part)).status_code == 200
    kept, _ = UnfiledMessages(redis).list()
    kinds = sorted(job.args[0]["kind"] for job in queue(REPLY_QUEUE, redis).jobs)
    if bug == "gone-by-the-retry":  # filed once, never kept
        assert kept == [] and kinds == ["ack", "ack"]
    else:  # kept once, told once
        assert [entry.message.incomplete for entry in kept] == [True] and kinds == ["ack", "kept_unfiled"]
    assert redis.zcard(PENDING_KEY) == 0


@contextlib.contextmanager
def spool_file_held(settings: Settings, tracking_id: str) -> Iterator[Path]:
    """A spool file waiting for replay, holding one record of `tracking_id`, its lock held as a gateway cut off from
    Redis (or hung) holds its live file: no replayer takes it, and `Intake.may_hold` stays true for that report."""
    directory = settings.data_dir / SPOOL_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "held-elsewhere.spool"
    path.write_bytes(encode_record(SpoolRecord(tracking_id=tracking_id, dedup_key="held:1", envelope={})))
    with path.open("r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield path
        finally:
            path.unlink()


@pytest.mark.parametrize("case_store", ["answers", "away"])
async def test_a_status_query_for_an_id_no_spool_holds_is_answered_at_its_number_while_a_spool_waits(
    case_store: str, gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings,
    redis: Redis,
) -> None:
    """While a spool file waits (held by a gateway cut off from Redis, or one that hung), a `CEK` of an ID that no
    spool holds (mistyped with a right check digit, never given) was addressed by that ID's report and waited for its
    copy: nothing reached the one asking, and the promise, the status job and its "send CEK later" each retried for
    hours into a dead letter. Only an ID a spool record names waits for its replay."""
    await _report(gateway, casestore, settings, "081298765041", "LAPOR sampah menumpuk", "st-sp-1")
    unknown = format_tracking_id(1_000_000 + 2_999)
    with spool_file_held(settings, format_tracking_id(1_000_000 + 1_999)):
        if case_store == "away":
            casestore.stop()
        try:
            response = await post_callback(gateway.client, sms("081298765042", f"CEK {unknown}", "st-sp-2"))
            assert response.status_code == 200, response.text
        finally:
            if case_store == "away":
                casestore.start()
        drain(settings)
    not_found = status_text(unknown, "received", "id", found=False)
    expected = [not_found] if case_store == "answers" else [
        render("status_pending", "id", tracking_id=unknown), not_found]
    assert api.texts_to("+6281298765042") == expected
    assert DeadLetters(redis).count() == 0


async def test_a_part_that_comes_as_the_sweep_takes_a_message_a_bug_keeps_unfiled_is_no_second_message(
    test_env: Environment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep's mark takes a part that came after its claim, at a number the message lacks, as the message's late
    part (`mark_done(late=True)`); so does the mark of a swept message a bug keeps unfiled (`keep_unfiled(late=True)`).
    Marked without it, the part stayed, and the next sweep after the lease took it as a message of its own: a second
    report of the one SMS, or a second unfiled entry."""
    import gateway.app as app_module
    from gateway.app import GATEWAY_KEY, create_app

    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")  # no sweep of the app's own
    case = fixture("kannel_concat_gsm7_udh.json")
    app = create_app(settings, redis)
    handler = app[GATEWAY_KEY]
    original = app_module.normalize

    def a_bug_for_the_swept_one(message: InboundMessage, **kwargs: Any) -> Any:
        if message.incomplete and "kannel-cc-1" not in (message.channel_meta.get("part_ids") or ()):
            raise ValueError("a bug")
        return original(message, **kwargs)

    async with serving_gateway(settings, redis, app=app) as gateway:
        # Part 2 is lost; part 3 waits until the sweep claims it.
        assert (await post_callback(gateway.client, case["parts"][2])).json()["messages"] == []
        [(key, message)] = PartBuffer(redis, settings).claim_due(time.time() + 301)  # the sweep's claim
        assert message is not None and message.incomplete
        late = await post_callback(gateway.client, case["parts"][0])  # part 1, as the sweep takes the message
        assert (late.status_code, late.json()["messages"]) == (200, [])
        monkeypatch.setattr(app_module, "normalize", a_bug_for_the_swept_one)
        await handler.handle_expired_parts(key, message)  # kept unfiled, its parts marked done
        left = PartBuffer(redis, settings).claim_due(time.time() + 400)
        assert left == [], [m.channel_meta.get("part_ids") if m else None for _, m in left]
