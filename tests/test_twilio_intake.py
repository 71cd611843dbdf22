"""The intake core end to end over real HTTP, real Redis, a real worker process and the reference case store."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx
import orjson
import pytest
from aiohttp import web
from multidict import MultiDict
from prometheus_client import REGISTRY
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from twilio.request_validator import RequestValidator

from channels.base import Outcome, WebhookAdapter
from channels.gsm7 import SINGLE_PART, is_gsm7, septets
from channels.twilio_sms import TwilioSmsAdapter
from gateway import app as app_module
from gateway.app import GATEWAY_KEY, READY_CHECK_SECONDS, Gateway, create_app
from gateway.embedded_redis import EmbeddedRedis
from gateway.errors import NotDurable
from gateway.outbound import _COUNT_IN_FLOOD_WINDOWS, FloodCounter, RecentSenders, _flood_args, flood_key
from gateway.queues import FORWARD_QUEUE, REPORT_STATE_KEY, envelope_key, queue, redis_connection
from gateway.replies import render, status_name
from gateway.settings import Settings
from gateway.spool import Spool
from gateway.tls import tls_context
from gateway.tracking import MAX_LENGTH, TrackingIdAllocator, format_tracking_id, is_valid_tracking_id
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.inbound import InboundMessage
from tests.conftest import (
    TWILIO_TOKEN,
    CaseStoreServer,
    GatewayServer,
    LoopbackServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    free_port,
    log_events,
    serving_gateway,
    twilio_sid,
)


def twiml_message(body: str) -> str:
    root = ElementTree.fromstring(body)
    messages = root.findall("Message")
    assert len(messages) == 1, body
    return messages[0].text or ""


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def tracking_id_in(reply: str) -> str:
    match = re.search(r"\b(\d{6,14})\b", reply)
    assert match, reply
    return match.group(1)


@pytest.mark.parametrize(("body", "key"), [
    ("LAPOR Jalan berlubang di Jl. Merdeka", "ack"),
    ("LAPOR ANONIM pungli di kantor kelurahan", "ack_anonymous"),
    ("RAHASIA pungli di kantor kelurahan", "ack_confidential"),
    ("LAPOR ANONIM RAHASIA pungli di kantor kelurahan", "ack_anonymous_confidential"),
    ("WBS (anonim & rahasia) kepala dinas minta setoran", "ack_anonymous_confidential"),
    ("REPORT RAHASIA the village head asks for bribes", "ack_confidential"),
], ids=["named", "anonymous", "confidential", "anonymous-and-confidential", "both-in-brackets", "confidential-en"])
async def test_the_twiml_acknowledgement_of_an_anonymous_report_says_the_identity_is_kept_secret(
    gateway: GatewayServer, body: str, key: str,
) -> None:
    """An anonymous report's acknowledgement says the identity is kept secret, a confidential one's that its content
    is not made public, one that is both names both: each was word for word a public report's, and the citizen could
    not tell an ANONIM or a RAHASIA that was honoured from one that was not."""
    response = await gateway.post_twilio(gateway.twilio_form(Body=body, From="081234567890"))
    reply = twiml_message(response.text)
    language = "en" if body.startswith("REPORT") else "id"
    assert reply == render(key, language, tracking_id=tracking_id_in(reply))
    assert len(reply) <= 160


async def test_signed_sms_gets_a_tracking_id_and_reaches_the_case_store(
    gateway: GatewayServer, casestore: CaseStoreServer, worker: ProcessHandle
) -> None:
    form = gateway.twilio_form(Body="LAPOR: Jalan berlubang di Jl. Merdeka, Bandung", From="081234567890")
    response = await gateway.post_twilio(form)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    reply = twiml_message(response.text)
    tracking_id = tracking_id_in(reply)
    assert is_valid_tracking_id(tracking_id)
    assert "Laporan Anda diterima" in reply

    await async_wait_until(lambda: casestore.get(tracking_id), timeout=15)
    reports = casestore.reports()
    assert [r["tracking_id"] for r in reports] == [tracking_id]
    stored = reports[0]
    assert stored["channel"] == "sms"
    assert stored["source"] == "sms-twilio"
    assert stored["sender"]["id"] == "+6281234567890"
    assert stored["sender"]["kind"] == "msisdn"
    assert stored["text"] == "Jalan berlubang di Jl. Merdeka, Bandung"
    assert stored["kind"] == "complaint"
    assert stored["channel_message_id"] == form["MessageSid"]


async def test_the_same_message_sid_twice_is_one_report(
    gateway: GatewayServer, casestore: CaseStoreServer, worker: ProcessHandle
) -> None:
    """Twilio's retry of a message whose answer it never got: one report, and the answer the first delivery got
    (the citizen sent one message), not "we already have this report"."""
    form = gateway.twilio_form(MessageSid="SM" + "a" * 32, Body="Lampu jalan mati sejak seminggu")
    first_reply = twiml_message((await gateway.post_twilio(form)).text)
    first = tracking_id_in(first_reply)
    second_reply = twiml_message((await gateway.post_twilio(form)).text)
    assert second_reply == first_reply == render("ack", "id", tracking_id=first)

    await async_wait_until(lambda: casestore.get(first), timeout=15)
    # Give a (wrong) second forward every chance to land before counting.
    await async_wait_until(lambda: queue(FORWARD_QUEUE, gateway_redis(gateway)).count == 0, timeout=10)
    assert [r["tracking_id"] for r in casestore.reports()] == [first]


def gateway_redis(gateway: GatewayServer) -> Redis:
    return Redis.from_url(gateway.settings.redis_url)


@pytest.mark.parametrize(
    ("case", "signature"),
    [("missing", None), ("wrong", "bm90IGEgc2lnbmF0dXJl"), ("other token", "other")],
)
async def test_a_bad_signature_is_refused_and_nothing_is_queued(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, case: str, signature: str | None
) -> None:
    form = gateway.twilio_form(Body="Pungli di kelurahan")
    if signature == "other":
        signature = gateway.twilio_signature(form, token="someone-elses-token")
    response = await gateway.post_twilio(form, signature=signature)

    assert response.status_code == 403
    assert queue(FORWARD_QUEUE, redis).count == 0
    assert not list(redis.scan_iter("lapor:dedup:*"))
    assert not list(redis.scan_iter("lapor:envelope:*"))
    rejections = [e for e in log_events(log_stream) if e["event"] == "message.rejected"]
    assert len(rejections) == 1
    assert rejections[0]["channel"] == "sms-twilio"
    assert rejections[0]["reason"] == ("signature_missing" if signature is None else "signature_invalid")
    if signature is not None:  # the URL it checked over: a gateway moved without LAPOR_PUBLIC_URL refused every SMS
        # (its scheme, host, port and path: the response's body shows it to whoever posted)
        assert response.json()["detail"] == (f"X-Twilio-Signature does not match (checked over "
                                             f"{gateway.settings.public_url}/v1/channels/sms/twilio, from "
                                             "LAPOR_PUBLIC_URL)")


async def test_a_tampered_body_fails_the_signature(gateway: GatewayServer, redis: Redis) -> None:
    form = gateway.twilio_form(Body="Asli")
    signature = gateway.twilio_signature(form)
    response = await gateway.post_twilio({**form, "Body": "Palsu"}, signature=signature)
    assert response.status_code == 403
    assert queue(FORWARD_QUEUE, redis).count == 0


SHARED_KEY = "webhooks-sharedkey-secret"


@dataclass(frozen=True)
class RuleSignature:
    """A webhook signed as a Webhooks Rule signs it (`header` the X-Twilio-Webhooks-Signature-Settings value; None:
    no rule), with `key` and `algorithm`, to a gateway given `shared_key` (empty: none)."""

    id: str
    header: str | None
    key: str
    algorithm: str
    shared_key: str
    reason: str | None  # None: taken


RULE_SIGNATURES = [
    RuleSignature("rule-sha256", "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256", SHARED_KEY, "HMAC_SHA256",
                  SHARED_KEY, None),
    RuleSignature("rule-sha1", "key=webhooks_sharedkey_1,algorithm=HMAC_SHA1", SHARED_KEY, "HMAC_SHA1", SHARED_KEY,
                  None),
    RuleSignature("rule-without-algorithm", "key=webhooks_sharedkey_1", SHARED_KEY, "HMAC_SHA1", SHARED_KEY, None),
    RuleSignature("no-rule-with-a-shared-key-set", None, TWILIO_TOKEN, "HMAC_SHA1", SHARED_KEY, None),
    RuleSignature("rule-signed-with-the-auth-token", "key=k,algorithm=HMAC_SHA256", TWILIO_TOKEN, "HMAC_SHA256",
                  SHARED_KEY, "signature_invalid"),
    RuleSignature("rule-header-added-to-an-auth-token-signature", "key=k", TWILIO_TOKEN, "HMAC_SHA1", SHARED_KEY,
                  "signature_invalid"),
    RuleSignature("rule-without-the-shared-key-set", "key=k,algorithm=HMAC_SHA256", SHARED_KEY, "HMAC_SHA256", "",
                  "shared_key_missing"),
    RuleSignature("rule-of-an-unknown-algorithm", "key=k,algorithm=HMAC_SHA512", SHARED_KEY, "HMAC_SHA256",
                  SHARED_KEY, "signature_algorithm_unknown"),
]


@pytest.mark.parametrize("row", RULE_SIGNATURES, ids=lambda row: row.id)
async def test_a_webhooks_rules_shared_key_signature_is_checked_with_that_key(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, row: RuleSignature
) -> None:
    """A Webhooks Rule matching our URL makes Twilio sign with its SharedKey, in the algorithm its header names.
    Checked against the auth token, every SMS was refused `signature_invalid` (Twilio retries no 403): all lost,
    and the reason pointed at the auth token. Without the key set, the refusal says so."""
    settings = test_env.settings(LAPOR_TWILIO_WEBHOOK_SHARED_KEY=row.shared_key)
    async with serving_gateway(settings, redis) as server:
        form = server.twilio_form(Body="Pungli di kelurahan", MessageSid=twilio_sid(row.id))
        url = settings.public_url + "/v1/channels/sms/twilio"
        signature = RequestValidator(row.key).compute_signature(url, form, row.algorithm)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        if row.header is not None:
            headers["X-Twilio-Webhooks-Signature-Settings"] = row.header
        response = await server.client.post("/v1/channels/sms/twilio", content=urlencode(form), headers=headers)
    if row.reason is None:
        assert response.status_code == 200
        assert twiml_message(response.text) == render("ack", "id", tracking_id=tracking_id_in(response.text))
        return
    assert (response.status_code, response.json()["error"]) == (403, row.reason)
    assert not list(redis.scan_iter("lapor:envelope:*"))
    assert [e["reason"] for e in log_events(log_stream) if e["event"] == "message.rejected"] == [row.reason]


@pytest.mark.parametrize(("signed_with", "secondary", "status"), [
    ("new-auth-token", "new-auth-token", 200),
    (TWILIO_TOKEN, "new-auth-token", 200),
    ("new-auth-token", "", 403),
    ("someone-elses-token", "new-auth-token", 403),
], ids=["promoted-secondary", "primary-while-rotating", "secondary-not-set", "neither"])
async def test_an_auth_token_rotation_refuses_no_sms(
    test_env: TestEnvironment, redis: Redis, signed_with: str, secondary: str, status: int
) -> None:
    """Twilio signs with its primary auth token, and a rotation promotes the secondary at a moment of its own: with
    one token configured, every SMS between that promotion and the gateway's restart with the new token (or, the
    restart first, until the promotion) was refused 403, which Twilio does not retry. Both are taken meanwhile."""
    settings = test_env.settings(LAPOR_TWILIO_SECONDARY_AUTH_TOKEN=secondary)
    async with serving_gateway(settings, redis) as server:
        form = server.twilio_form(MessageSid=twilio_sid(f"rotation-{signed_with}-{secondary}"))
        response = await server.post_twilio(form, signature=server.twilio_signature(form, token=signed_with))
    assert response.status_code == status
    assert len(list(redis.scan_iter("lapor:envelope:*"))) == (1 if status == 200 else 0)


async def test_the_signature_covers_the_public_url_not_the_local_one(gateway: GatewayServer) -> None:
    """Behind a proxy, Twilio signs the public URL; a signature over the gateway's own address must fail."""
    form = gateway.twilio_form()
    local_signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://localhost:1/v1/channels/sms/twilio", form
    )
    assert (await gateway.post_twilio(form, signature=local_signature)).status_code == 403


@dataclass(frozen=True)
class Shape:
    """A correctly signed webhook whose identifiers or counts are set (None: left out, `repeated`: sent twice)."""

    id: str
    fields: dict[str, str | None]
    reason: str | None  # None: taken, 200 and a Tracking ID
    repeated: tuple[tuple[str, str], ...] = ()
    named: str = ""  # the parameter the refusal names, when it is not the first of `fields`


SID = twilio_sid("shape")
SHAPES = [
    Shape("message-sid-of-a-label", {"MessageSid": "SMparent"}, "bad_field"),
    Shape("message-sid-a-digit-short", {"MessageSid": SID[:-1]}, "bad_field"),
    Shape("message-sid-a-digit-long", {"MessageSid": SID + "0"}, "bad_field"),
    Shape("message-sid-swallowing-num-media", {"MessageSid": SID + "NumMedia0", "NumMedia": None}, "bad_field"),
    Shape("message-sid-upper-case-hex", {"MessageSid": SID.upper()}, None),
    Shape("message-sid-of-another-kind", {"MessageSid": "AC" + SID[2:]}, "bad_field"),
    Shape("message-sid-empty", {"MessageSid": ""}, "bad_field"),
    Shape("message-sid-given-twice", {}, "bad_field", repeated=(("MessageSid", twilio_sid("another")),),
          named="MessageSid"),
    Shape("sms-sid-alone-malformed", {"MessageSid": None, "SmsSid": "SM1"}, "bad_field", named="SmsSid"),
    Shape("sms-message-sid-malformed", {"SmsMessageSid": SID + "SmsSid"}, "bad_field"),
    Shape("account-sid-swallowing-api-version", {"AccountSid": twilio_sid("account", "AC") + "ApiVersion2010-04-01",
                                                 "ApiVersion": None}, "bad_field"),
    Shape("account-sid-missing", {"AccountSid": None}, "missing_field"),
    Shape("messaging-service-sid-malformed", {"MessagingServiceSid": "MG123"}, "bad_field"),
    Shape("num-media-negative", {"NumMedia": "-1"}, "bad_field"),
    Shape("num-media-other-digits", {"NumMedia": "\u0661"}, "bad_field"),  # ARABIC-INDIC ONE: int() takes it
    Shape("num-media-swallowing-num-segments", {"NumMedia": "0NumSegments1", "NumSegments": None}, "bad_field"),
    Shape("num-segments-spaced", {"NumSegments": " 1"}, "bad_field"),
    Shape("opt-out-type-swallowing-sms-message-sid", {"OptOutType": "STOPSmsMessageSid" + SID, "SmsMessageSid": None},
          "bad_field"),
    Shape("opt-out-type-of-another-word", {"OptOutType": "KELUAR"}, "bad_field"),
    Shape("message-status-swallowing-sms-sid", {"MessageStatus": "deliveredSmsSid" + SID, "SmsSid": None},
          "bad_field"),
    # Twilio's own shapes are taken
    Shape("message-sid", {"MessageSid": SID, "SmsSid": SID, "SmsMessageSid": SID}, None),
    Shape("mms-sid", {"MessageSid": twilio_sid("mms", "MM")}, None),
    Shape("sms-sid-alone", {"MessageSid": None, "SmsSid": SID}, None),
    Shape("with-a-messaging-service", {"MessagingServiceSid": twilio_sid("service", "MG")}, None),
    Shape("without-the-counts", {"NumMedia": None, "NumSegments": None}, None),
    Shape("with-a-blank-opt-out-type", {"OptOutType": ""}, None),
]


@pytest.mark.parametrize("row", SHAPES, ids=lambda row: row.id)
async def test_twilios_identifiers_and_counts_must_have_twilios_shape(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, row: Shape
) -> None:
    """The signature does not fix where a parameter ends (channels/twilio_sms.py): a well signed body whose SID or
    count has another shape is refused 400 with the parameter named and nothing filed; Twilio's own are taken."""
    form = MultiDict({k: v for k, v in gateway.twilio_form(**row.fields).items() if v is not None})  # type: ignore[arg-type]
    form.extend(row.repeated)
    response = await gateway.post_twilio(form)  # type: ignore[arg-type]
    if row.reason is None:
        assert response.status_code == 200, response.text
        assert is_valid_tracking_id(tracking_id_in(twiml_message(response.text)))
        return
    assert (response.status_code, response.json()["error"]) == (400, row.reason), response.text
    assert queue(FORWARD_QUEUE, redis).count == 0
    assert not list(redis.scan_iter("lapor:dedup:*")) and not list(redis.scan_iter("lapor:envelope:*"))
    [rejected] = [e for e in log_events(log_stream) if e["event"] == "message.rejected"]
    assert (rejected["channel"], rejected["reason"]) == ("sms-twilio", row.reason)
    assert (row.named or next(iter(row.fields))) in rejected["detail"]
    logged = log_stream.getvalue()
    # The refusal names the parameter, never its value: a reshaped one may hold the sender's number or words.
    assert not [value for _, value in [*row.fields.items(), *row.repeated] if value and len(value) > 8
                and value in logged]
    assert "6281234567890" not in logged


def swallowed(form: dict[str, str], name: str, count: int = 1) -> dict[str, str]:
    """`form` with `name`'s value taking in the `count` parameters after it in Twilio's signing order, their names and
    values glued on, and those parameters gone: the string Twilio signs is the same, and so is the signature."""
    names = sorted(form)
    taken = names[names.index(name) + 1:names.index(name) + 1 + count]
    return {**{k: v for k, v in form.items() if k not in taken}, name: form[name] + "".join(k + form[k] for k in taken)}


def cut(form: dict[str, str], name: str, keep: int) -> dict[str, str]:
    """`form` with `name`'s value cut after `keep` characters, the rest made the name of a blank parameter: the same
    signed string while `name` is signed last and the rest starts with a small letter (sorted after every name)."""
    value = form[name]
    assert sorted(form)[-1] == name and value[keep].islower(), "this body cannot be cut so"
    return {**form, name: value[:keep], value[keep:]: ""}


@dataclass(frozen=True)
class Reshaped:
    id: str
    form: Callable[[GatewayServer], dict[str, str]]  # the body Twilio signed
    reshape: Callable[[dict[str, str]], dict[str, str]]
    filed: int = 1  # reports the body Twilio signed makes (an opt-out none)


def _minimal(gateway: GatewayServer) -> dict[str, str]:
    """A body whose MessageSid is signed last (a SID ending in letters), as a short client's may be."""
    sid = next(sid for index in range(100) if (sid := twilio_sid(f"cut-{index}"))[-4:].isalpha())
    return {"AccountSid": "AC" + "1" * 32, "Body": "Pungli di kantor kelurahan", "From": "+6281234567890",
            "MessageSid": sid}


RESHAPED = [
    Reshaped("message-sid-swallows-num-media", lambda g: g.twilio_form(Body="Pungli di kantor kelurahan"),
             lambda form: swallowed(form, "MessageSid")),
    Reshaped("message-sid-swallows-num-media-and-num-segments", lambda g: g.twilio_form(Body="Pungli di kelurahan"),
             lambda form: swallowed(form, "MessageSid", 2)),
    Reshaped("num-media-swallows-num-segments", lambda g: g.twilio_form(Body="Pungli di kantor kelurahan"),
             lambda form: swallowed(form, "NumMedia")),
    Reshaped("message-sid-cut-shorter", _minimal, lambda form: cut(form, "MessageSid", 30)),
    # An Advanced Opt-Out keyword of the operator's, whose type swallows the next parameter: no longer an opt-out,
    # "KELUAR" was filed as a report with the citizen's number and acknowledged.
    Reshaped("opt-out-type-swallows-sms-message-sid", lambda g: g.twilio_form(Body="KELUAR", OptOutType="STOP"),
             lambda form: swallowed(form, "OptOutType"), filed=0),
    # A status callback of our reply, with its Body, whose status swallows the next parameter: no longer a status
    # callback, our own reply was filed as a report from our own number.
    Reshaped("message-status-swallows-sms-sid",
             lambda g: status_callback_form("delivered", None, twilio_sid("reshaped-status"), REPLY_BODY),
             lambda form: swallowed(form, "MessageStatus"), filed=0),
]


@pytest.mark.parametrize("row", RESHAPED, ids=lambda row: row.id)
async def test_a_signed_body_reshaped_under_its_signature_is_refused_and_files_no_second_report(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, row: Reshaped
) -> None:
    """Twilio's signature glues names and values together with nothing between them: from one captured webhook, a
    body whose MessageSid swallows the next parameter (or is cut shorter) carries the same valid signature and a new
    MessageSid, so deduplication took it as a new message and filed the citizen's number and words again."""
    form = row.form(gateway)
    signature = gateway.twilio_signature(form)
    reshaped = row.reshape(form)
    url = gateway.settings.public_url + "/v1/channels/sms/twilio"
    assert reshaped != form and RequestValidator(TWILIO_TOKEN).validate(url, reshaped, signature)

    first = await gateway.post_twilio(form, signature=signature)
    assert first.status_code == 200, first.text
    again = await gateway.post_twilio(reshaped, signature=signature)

    assert (again.status_code, again.json()["error"]) == (400, "bad_field"), again.text
    assert len(list(redis.scan_iter("lapor:envelope:*"))) == row.filed
    assert len(list(redis.scan_iter("lapor:dedup:*"))) == row.filed
    rejected = [e["reason"] for e in log_events(log_stream) if e["event"] == "message.rejected"]
    assert rejected == ["bad_field"]


async def test_one_log_line_per_accepted_message_with_channel_event_and_tracking_id(
    gateway: GatewayServer, log_stream: io.StringIO
) -> None:
    response = await gateway.post_twilio(gateway.twilio_form(Body="Sampah menumpuk di pasar", From="+6281311112222"))
    tracking_id = tracking_id_in(twiml_message(response.text))
    accepted = [e for e in log_events(log_stream) if e["event"] == "message.accepted"]
    assert len(accepted) == 1
    assert accepted[0]["channel"] == "sms-twilio"
    assert accepted[0]["tracking_id"] == tracking_id
    assert "6281311112222" not in log_stream.getvalue()
    assert "Sampah" not in log_stream.getvalue()


@pytest.mark.parametrize("language_body", ["Jalan rusak parah di desa kami", "The road in my village is broken"])
async def test_the_acknowledgement_fits_one_gsm7_sms(gateway: GatewayServer, language_body: str) -> None:
    response = await gateway.post_twilio(gateway.twilio_form(Body=language_body, MessageSid="SM" + "f" * 32))
    reply = twiml_message(response.text)
    assert is_gsm7(reply)
    assert septets(reply) <= SINGLE_PART


async def test_an_oversized_body_is_refused_with_413(gateway: GatewayServer) -> None:
    form = gateway.twilio_form(Body="x" * 70_000)
    response = await gateway.post_twilio(form)
    assert response.status_code == 413


async def test_health_and_readiness(gateway: GatewayServer) -> None:
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["redis"] == "ok"


async def test_a_redis_that_answers_a_ping_but_refuses_writes_is_not_ready(test_env: TestEnvironment,
                                                                             tmp_path: Path) -> None:
    """A Redis full at its maxmemory (or a read-only replica, or one that cannot write its disk) answers PING, and
    /readyz said ready while every webhook got 503: it must take a write. A gateway with no Tracking IDs in reserve
    (none kept, `LAPOR_INTAKE_ID_RESERVE=0`), which cannot answer from the spool either."""
    own = EmbeddedRedis(tmp_path / "redis").start()
    try:
        settings = test_env.settings(REDIS_URL=own.url, LAPOR_INTAKE_ID_RESERVE="0")
        admin = redis_connection(own.url)
        async with serving_gateway(settings, redis_connection(own.url, timeout=0.5)) as server:
            assert (await server.client.get("/readyz")).status_code == 200
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", "1")  # every write refused from here on
            assert admin.ping()
            refusing = await server.client.get("/readyz")
            assert refusing.status_code == 503, refusing.text
            assert refusing.json() == {"status": "unavailable", "redis": "OutOfMemoryError"}
            admin.config_set("maxmemory", "0")
            assert (await server.client.get("/readyz")).status_code == 200
    finally:
        own.stop()


async def test_a_spool_directory_that_cannot_be_written_is_not_ready(gateway: GatewayServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The spool is where reports go while Redis is away: a gateway whose spool cannot take a file would answer 503
    (or lose reports) at Redis's first hiccup, and /readyz said ready all along."""
    monkeypatch.setattr(app_module, "SPOOL_PROOF_SECONDS", 0)  # each /readyz writes its file: broken right after one
    directory = gateway.settings.data_dir / "spool"
    assert (await gateway.client.get("/readyz")).status_code == 200
    shutil.rmtree(directory)
    directory.write_bytes(b"")  # a file where the directory was: nothing can be written under it
    try:
        broken = await gateway.client.get("/readyz")
        assert broken.status_code == 503, broken.text
        assert broken.json() == {"status": "unavailable", "redis": "ok", "spool": "not_writable"}
    finally:
        directory.unlink()
    assert (await gateway.client.get("/readyz")).status_code == 200  # the probe makes the directory again


async def test_readyz_writes_one_spool_probe_file_per_proof_period_however_often_it_is_asked(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each /readyz wrote, fsynced and deleted a file in the spool directory: one fsync per load-balancer probe per
    gateway. A file the disk took less than SPOOL_PROOF_SECONDS ago stands for the next; past it, one is written again.
    The saved reserves are still counted every time (another process may have taken one meanwhile: see the test of
    gateways sharing them)."""
    app = create_app(settings, redis)
    spool = app[GATEWAY_KEY].intake.spool
    assert spool is not None
    proofs = []
    check_writable = spool.check_writable

    def counted() -> None:
        proofs.append(threading.current_thread().name)
        check_writable()

    monkeypatch.setattr(spool, "check_writable", counted)
    monkeypatch.setattr(app_module, "SPOOL_PROOF_SECONDS", 3600)  # no proof expires meanwhile, however slow the run
    async with serving_gateway(settings, redis, app=app) as server:
        for _ in range(3):
            assert (await server.client.get("/readyz")).status_code == 200
        assert len(proofs) == 1
        monkeypatch.setattr(app_module, "SPOOL_PROOF_SECONDS", 0)  # the proof has expired
        assert (await server.client.get("/readyz")).status_code == 200
        assert len(proofs) == 2 and all(name.startswith("lapor-spool-probe") for name in proofs)


async def test_a_hung_spool_disk_does_not_stall_the_gateway_and_is_not_ready(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that stops answering (a dead NFS server, a failing device) hangs the call that touches it. /readyz
    probes the spool on a thread of its own: the gateway answers meanwhile, /readyz says the spool is not answering
    once its bound has passed, and asked again joins the probe still hanging instead of hanging a second thread."""
    app = create_app(settings, redis)
    spool = app[GATEWAY_KEY].intake.spool
    assert spool is not None
    entered, release = threading.Semaphore(0), threading.Event()
    probes = []

    def hung_disk() -> None:
        probes.append(threading.current_thread().name)
        entered.release()
        release.wait(30)

    monkeypatch.setattr(spool, "check_writable", hung_disk)
    # Its bound (2 s) waited out twice while the disk hangs: 1 s here, as long for the Redis write beside it.
    monkeypatch.setattr(app_module, "READY_CHECK_SECONDS", 1.0)
    async with serving_gateway(settings, redis, app=app) as server:
        try:
            pending = asyncio.ensure_future(server.client.get("/readyz"))
            assert await asyncio.to_thread(entered.acquire, True, 10)
            assert (await server.client.get("/healthz", timeout=5)).status_code == 200
            for answer in (await pending, await server.client.get("/readyz")):
                assert answer.status_code == 503, answer.text
                assert answer.json() == {"status": "unavailable", "redis": "ok", "spool": "not_answering"}
            assert len(probes) == 1
        finally:
            release.set()
        monkeypatch.setattr(app_module, "READY_CHECK_SECONDS", READY_CHECK_SECONDS)
        await async_wait_until(lambda: app[GATEWAY_KEY].spool_probe.done())  # type: ignore[union-attr]
        assert (await server.client.get("/readyz")).status_code == 200


async def test_a_hung_redis_holds_one_thread_of_readyz_own_however_often_it_is_asked(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that stops answering hangs /readyz's write until its socket timeout. Each /readyz started one more
    thread of the default executor, which the health loop and the spool replayer share, for every load-balancer
    probe meanwhile: now the write runs on a thread of its own, and /readyz asked again joins the one still hanging."""
    app = create_app(settings, redis)
    entered, release = threading.Semaphore(0), threading.Event()
    writes = []

    def hung_redis(_: Redis) -> None:
        writes.append(threading.current_thread().name)
        entered.release()
        release.wait(30)

    monkeypatch.setattr(app_module, "_accepts_a_write", hung_redis)
    # Its bound (2 s) waited out twice while Redis hangs: 1 s here, as long for the spool probe beside it.
    monkeypatch.setattr(app_module, "READY_CHECK_SECONDS", 1.0)
    async with serving_gateway(settings, redis, app=app) as server:
        try:
            pending = asyncio.ensure_future(server.client.get("/readyz"))
            assert await asyncio.to_thread(entered.acquire, True, 10)
            assert (await server.client.get("/healthz", timeout=5)).status_code == 200
            for answer in (await pending, await server.client.get("/readyz")):
                assert answer.json()["redis"] == "TimeoutError", answer.text
            assert len(writes) == 1 and writes[0].startswith("lapor-redis-probe")
        finally:
            release.set()
        monkeypatch.setattr(app_module, "READY_CHECK_SECONDS", READY_CHECK_SECONDS)
        await async_wait_until(lambda: app[GATEWAY_KEY].redis_probe.done())  # type: ignore[union-attr]
        assert (await server.client.get("/readyz")).json() == {"status": "ready", "redis": "ok"}


async def test_redis_down_means_not_ready_and_no_acknowledgement(settings: Settings) -> None:
    """With Redis unreachable and no Tracking IDs in reserve the gateway must not acknowledge: Twilio gets a 5xx,
    /readyz says 503."""
    dead_redis = redis_connection(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    runner = web.AppRunner(create_app(settings, dead_redis), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            server = GatewayServer(url=settings.public_url, settings=settings, client=client)
            assert (await client.get("/readyz")).status_code == 503
            response = await server.post_twilio(server.twilio_form(Body="Jalan rusak"))
            assert response.status_code == 503
            assert response.json()["error"] == "redis_unavailable"
    finally:
        await runner.cleanup()


async def test_a_status_query_by_twilio_is_answered_from_the_case_store(
    gateway: GatewayServer, casestore: CaseStoreServer
) -> None:
    from tests.test_envelope_schema import sample_envelope

    casestore.store.store_many([sample_envelope(tracking_id="10000004").model_dump(mode="json")])
    casestore.store.set_status("10000004", "in_progress")
    response = await gateway.post_twilio(gateway.twilio_form(Body="CEK 10000004", MessageSid="SM" + "e" * 32))
    assert twiml_message(response.text) == "LAPOR! Laporan 10000004: sedang ditindaklanjuti."
    assert casestore.store.count() == 1  # a query is not a report


async def test_a_status_query_before_the_report_is_forwarded_says_received(
    gateway: GatewayServer, casestore: CaseStoreServer
) -> None:
    """No worker runs here: the case store has not got the report the citizen was just given an ID for."""
    ack = await gateway.post_twilio(gateway.twilio_form(Body="LAPOR lampu jalan mati", MessageSid="SM" + "7" * 32))
    tracking_id = tracking_id_in(twiml_message(ack.text))
    response = await gateway.post_twilio(gateway.twilio_form(Body=f"CEK {tracking_id}", MessageSid="SM" + "6" * 32))
    assert casestore.get(tracking_id) is None
    assert twiml_message(response.text) == f"LAPOR! Laporan {tracking_id}: diterima."


async def test_a_status_query_while_the_case_store_is_down_promises_nothing(
    gateway: GatewayServer, casestore: CaseStoreServer, redis: Redis
) -> None:
    """Twilio has no outbound path here: the answer must not promise an SMS that will never come."""
    casestore.stop()
    response = await gateway.post_twilio(gateway.twilio_form(Body="cek 10000004", MessageSid="SM" + "9" * 32))
    reply = twiml_message(response.text)
    assert "belum bisa dicek" in reply and "10000004" in reply
    assert "dikirim lewat SMS" not in reply
    assert queue(FORWARD_QUEUE, redis).count == 0


@contextlib.contextmanager
def case_store_away(casestore: CaseStoreServer, how: str) -> Iterator[None]:
    """The case store away, `how`: stopped (nothing listens), taking connections and answering none (a process
    paused with SIGSTOP: the kernel takes them into its backlog), or answering 503 to everything."""
    casestore.stop()
    port = casestore.port
    if how == "stopped":
        yield
    elif how == "taking-connections-answering-none":
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(16)
            yield
    else:
        async def unavailable(_: web.Request) -> web.Response:
            return web.json_response({"error": "unavailable"}, status=503)

        def app() -> web.Application:
            made = web.Application()
            made.router.add_route("*", "/{path:.*}", unavailable)
            return made

        stand_in = LoopbackServer(app, port)
        stand_in.start()
        try:
            yield
        finally:
            stand_in.stop()
    casestore.start()


@dataclass(frozen=True)
class CekInOutageRow:
    id: str
    how: str  # how the case store is away (`case_store_away`)
    forwarded: bool  # whether the report was forwarded before it went away
    answer: str  # the TwiML's reply, by its key in replies.toml: its status "received" ("status"), or "send CEK later"


CEK_IN_OUTAGE_ROWS = [
    CekInOutageRow("held-case-store-stopped", "stopped", False, "status"),
    CekInOutageRow("held-case-store-paused", "taking-connections-answering-none", False, "status"),
    CekInOutageRow("held-case-store-answering-503", "answering-503", False, "status"),
    # forwarded: the case store may have moved it on since; only it can say
    CekInOutageRow("forwarded-case-store-paused", "taking-connections-answering-none", True, "status_retry"),
    CekInOutageRow("forwarded-case-store-stopped", "stopped", True, "status_retry"),
]


@pytest.mark.parametrize("row", CEK_IN_OUTAGE_ROWS, ids=lambda row: row.id)
async def test_a_cek_in_a_case_store_outage_for_a_report_the_gateway_holds_unforwarded_says_received(
    row: CekInOutageRow, gateway: GatewayServer, casestore: CaseStoreServer, redis: Redis
) -> None:
    """The README promises "received" for a report the gateway holds and has not forwarded yet. With the case store
    stopped, paused (SIGSTOP) or failing, its lookup gave no answer, which skipped that check (made only after the
    case store's "no such report"), and the citizen who had just been given the ID read "Status laporan ... belum
    bisa dicek saat ini". Not forwarded, the case store cannot have it: "received" needs no answer of it. A report
    forwarded before the outage is the case store's to tell: "send CEK later", as before."""
    ack = await gateway.post_twilio(gateway.twilio_form(Body="LAPOR lampu jalan mati", MessageSid=twilio_sid(row.id)))
    tracking_id = tracking_id_in(twiml_message(ack.text))
    if row.forwarded:  # as the forward worker marks a report the case store took
        redis.hset(REPORT_STATE_KEY.format(tracking_id=tracking_id), mapping={"state": "forwarded",
                                                                              "forwarded_at": time.time()})
    # The forwarded rows wait out the query's 3 s bound: a slow host under the full run's load answered one past the
    # client's 10 s (the bound is the gateway's, checked below for the held rows; this is the test's patience).
    gateway.client.timeout = httpx.Timeout(30.0)
    with case_store_away(casestore, row.how):
        started = time.monotonic()
        response = await gateway.post_twilio(gateway.twilio_form(Body=f"CEK {tracking_id}",
                                                                 MessageSid=twilio_sid(f"cek-{row.id}")))
        answered_in = time.monotonic() - started
    expected = (render("status", "id", tracking_id=tracking_id, status=status_name("received", "id"))
                if row.answer == "status" else render("status_retry", "id", tracking_id=tracking_id))
    assert twiml_message(response.text) == expected
    if row.answer == "status":
        assert answered_in < 1.0, answered_in  # the case store's timeout is not waited for


@pytest.mark.parametrize(("body", "action", "reason"), [
    ("Terima kasih", "courtesy", "only_courtesy_words"),
    ("Ok 👍", "courtesy", "only_courtesy_words"),
    ("makasih banyak pak!", "courtesy", "only_courtesy_words"),
    ("thanks", "courtesy", "only_courtesy_words"),
    ("STOP", "opt_out", "only_opt_out_words"),
    ("Unsubscribe", "opt_out", "only_opt_out_words"),
    ("UNREG 1708", "opt_out", "only_opt_out_words"),
    # The rest of Twilio's default opt-out words: Twilio blocks our answers after each, so an answer is lost anyway.
    ("STOPALL", "opt_out", "only_opt_out_words"),
    ("CANCEL", "opt_out", "only_opt_out_words"),
    ("END", "opt_out", "only_opt_out_words"),
    ("QUIT", "opt_out", "only_opt_out_words"),
    ("REVOKE", "opt_out", "only_opt_out_words"),
    ("OPTOUT", "opt_out", "only_opt_out_words"),
    ("START", "opt_in", "only_opt_in_words"),
    ("unstop", "opt_in", "only_opt_in_words"),
    ("Yes", "opt_in", "only_opt_in_words"),
])
async def test_a_courtesy_an_opt_out_or_an_opt_in_gets_an_empty_answer_and_makes_no_report(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, body: str, action: str, reason: str
) -> None:
    """"Terima kasih" after the acknowledgement: filed, it was a junk report and a second SMS (with a new Tracking
    ID) the citizen did not ask for. "STOP" was too, and an SMS to someone who asked for none (Twilio answers its own
    opt-out words itself), and so were "START", "UNSTOP" and "YES", Twilio's opt-in words, which it acts on itself.
    Counted as a non-report message, logged with the reason and without its text."""
    before = counted("lapor_queries_total", channel="sms-twilio", action=action)
    response = await gateway.post_twilio(gateway.twilio_form(Body=body, From="+6281377778888",
                                                             MessageSid="SM" + "c" * 32))
    assert response.status_code == 200
    root = ElementTree.fromstring(response.text)
    assert (root.tag, list(root)) == ("Response", [])
    assert queue(FORWARD_QUEUE, redis).count == 0
    assert list(redis.scan_iter("lapor:envelope:*")) == []
    assert counted("lapor_queries_total", channel="sms-twilio", action=action) - before == 1
    events = [e for e in log_events(log_stream) if e["event"].startswith("message.")]
    assert [(e["event"], e["channel"], e["reason"]) for e in events] == [(f"message.{action}", "sms-twilio", reason)]
    assert body not in log_stream.getvalue() and "6281377778888" not in log_stream.getvalue()


@pytest.mark.parametrize(("body", "language"), [("HELP", "en"), ("INFO", "id")])
async def test_twilios_help_words_are_answered_with_the_usage_text(
    gateway: GatewayServer, redis: Redis, body: str, language: str
) -> None:
    """Twilio's help words, unlike its opt-out and opt-in words, block nothing: the citizen asking gets our usage
    text (how to report to 1708), and no report is made."""
    response = await gateway.post_twilio(gateway.twilio_form(Body=body, MessageSid="SM" + "9" * 32))
    assert twiml_message(response.text) == render("help", language)
    assert list(redis.scan_iter("lapor:envelope:*")) == []


@pytest.mark.parametrize(("body", "opt_out_type", "action"), [
    ("KELUAR", "STOP", "opt_out"),
    ("Jangan kirim lagi", "STOP", "opt_out"),
    ("MULAI", "START", "opt_in"),
    ("daftar lagi", "start", "opt_in"),
    ("PANDUAN", "HELP", "help"),
    ("HELP", "HELP", "help"),
    ("info", "help", "help"),
], ids=["custom-opt-out", "opt-out-phrase", "custom-opt-in", "opt-in-lowercase", "custom-help", "help",
        "info-lowercase"])
async def test_twilios_advanced_opt_out_keywords_are_read_by_its_opt_out_type(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, body: str, opt_out_type: str, action: str
) -> None:
    """Advanced Opt-Out lets an operator set keywords of their own at Twilio, in Indonesian, which our tables do not
    hold: Twilio names them in `OptOutType`. Read by the words alone, "KELUAR" was filed as a report of that word, an
    empty case for an agency from someone who asked for no more SMS, and answered with a Tracking ID Twilio blocked.
    Twilio answers each of them itself, a HELP with the help text set there: our usage text as well was a second SMS
    to the citizen, and a second charge. Without `OptOutType` a help word gets ours (the test above)."""
    response = await gateway.post_twilio(gateway.twilio_form(Body=body, OptOutType=opt_out_type,
                                                             MessageSid=twilio_sid(f"opt-out-type-{body}")))
    assert response.status_code == 200
    assert list(redis.scan_iter("lapor:envelope:*")) == []
    assert queue(FORWARD_QUEUE, redis).count == 0
    root = ElementTree.fromstring(response.text)
    assert (root.tag, list(root)) == ("Response", [])
    reason = {"opt_out": "only_opt_out_words", "opt_in": "only_opt_in_words", "help": "answered_by_provider"}[action]
    assert [(e["event"], e["reason"]) for e in log_events(log_stream) if e["event"].startswith("message.")] == [
        (f"message.{action}", reason)]


async def test_an_advanced_opt_out_keyword_sent_with_a_photo_is_a_report(gateway: GatewayServer, redis: Redis) -> None:
    """A photo is something to report, whatever Twilio made of the words beside it."""
    sid = twilio_sid("opt-out-type-photo")
    form = gateway.twilio_form(Body="KELUAR", OptOutType="STOP", MessageSid=sid, NumMedia="1",
                               MediaUrl0=f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/"
                                         f"{sid}/Media/ME{'2' * 32}", MediaContentType0="image/jpeg")
    reply = twiml_message((await gateway.post_twilio(form)).text)
    stored = orjson.loads(redis.get(envelope_key(tracking_id_in(reply))))
    assert (stored["text"], len(stored["attachments"])) == ("KELUAR", 1)


def status_callback_form(status: str, error_code: str | None, sid: str, body: str | None = None) -> dict[str, str]:
    """What Twilio posts to a status callback URL about our reply (no NumMedia; a Body, our reply's, on some
    channels), `To` the citizen."""
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "1" * 32, "From": "+15005550006",
            "To": "+6281344445555", "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01"}
    if error_code is not None:
        form["ErrorCode"] = error_code
    if body is not None:
        form["Body"] = body
    return form


REPLY_BODY = "LAPOR! Laporan Anda diterima. Nomor lacak: 10000004."


@pytest.mark.parametrize(("status", "error_code", "counted_as", "level", "error", "permanent", "body"), [
    ("delivered", None, "delivered", "info", None, None, None),
    ("sent", None, "submitted", "info", None, None, None),
    ("undelivered", "30007", "failed", "warning", "filtered", True, None),
    ("failed", "21610", "rejected", "warning", "unsubscribed", True, None),
    ("failed", "21211", "rejected", "warning", "invalid_number", True, None),
    ("undelivered", "30001", "failed", "warning", "queue_overflow", False, None),
    ("undelivered", "39999", "failed", "warning", "other", False, None),
    ("delivered", None, "delivered", "info", None, None, REPLY_BODY),
], ids=["delivered", "sent", "filtered-30007", "unsubscribed-21610", "invalid-number-21211", "queue-overflow-30001",
        "unknown-code", "with-our-replys-body"])
async def test_a_status_callback_posted_to_the_inbound_webhook_is_no_citizens_message(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, status: str, error_code: str | None,
    counted_as: str, level: str, error: str | None, permanent: bool | None, body: str | None,
) -> None:
    """A status callback URL set to this webhook (on the number or the Messaging Service) posts every reply's status
    here. Read as a message, it was an empty SMS from our own number: answered with the usage text, counted as a
    citizen's help request, and the failure it told of (21610 unsubscribed, 30007 filtered) lost. Now it is said in
    the log with Twilio's error and what it means, counted as a delivery report, and answered with nothing."""
    help_before = counted("lapor_queries_total", channel="sms-twilio", action="help")
    reports_before = counted("lapor_delivery_reports_total", channel="sms-twilio", status=counted_as)
    received_before = counted("lapor_messages_received_total", channel="sms-twilio")
    response = await gateway.post_twilio(status_callback_form(status, error_code, twilio_sid(f"status-{status}"), body))
    assert response.status_code == 200
    root = ElementTree.fromstring(response.text)
    assert (root.tag, list(root)) == ("Response", [])
    assert list(redis.scan_iter("lapor:envelope:*")) == []
    assert counted("lapor_queries_total", channel="sms-twilio", action="help") == help_before
    assert counted("lapor_delivery_reports_total", channel="sms-twilio", status=counted_as) - reports_before == 1
    # Not a message received: counted there too, a burst of reply statuses read as citizens writing in.
    assert counted("lapor_messages_received_total", channel="sms-twilio") == received_before
    events = [e for e in log_events(log_stream) if e["event"].startswith(("message.", "twilio."))]
    assert [(e["event"], e["level"], e["status"], e["error_code"], e["error"], e["permanent"], e["reason"])
            for e in events] == [("twilio.status_callback", level, status, error_code, error, permanent,
                                  "status_callback_on_inbound_url")]
    assert "6281344445555" not in log_stream.getvalue()


async def test_an_inbound_message_without_words_or_media_still_gets_the_usage_text(gateway: GatewayServer) -> None:
    """An inbound message always has its Body (empty here) and NumMedia: it is never taken for a status callback."""
    received_before = counted("lapor_messages_received_total", channel="sms-twilio")
    response = await gateway.post_twilio(gateway.twilio_form(Body="", MessageSid=twilio_sid("empty-inbound")))
    assert twiml_message(response.text) == render("help", "id")
    assert counted("lapor_messages_received_total", channel="sms-twilio") - received_before == 1


async def test_a_courtesy_sent_with_a_photo_is_a_report(gateway: GatewayServer, redis: Redis) -> None:
    """A photo is something to report, whatever the words beside it."""
    form = gateway.twilio_form(Body="Terima kasih", MessageSid="SM" + "d" * 32, NumMedia="1",
                               MediaUrl0=f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/"
                                         f"SM{'d' * 32}/Media/ME{'2' * 32}", MediaContentType0="image/jpeg")
    reply = twiml_message((await gateway.post_twilio(form)).text)
    tracking_id = tracking_id_in(reply)
    assert reply == render("ack", "id", tracking_id=tracking_id)
    stored = orjson.loads(redis.get(envelope_key(tracking_id)))
    assert (stored["text"], len(stored["attachments"])) == ("Terima kasih", 1)


@dataclass(frozen=True)
class PhotoWithId:
    """An MMS naming a Tracking ID, sent after the citizen's anonymous report. In `body`, `reply_fields` and `text`:
    {parent} is that report's ID, {mistyped} it with its check digit wrong, {never} an ID no gateway minted, {new}
    the Tracking ID the MMS was filed under."""

    id: str
    body: str
    reply: str  # the key in config/replies.toml
    reply_fields: dict[str, str]
    text: str  # the text filed with the photo
    follow_up_of: str | None
    anonymous: bool
    confidential: bool = False


PHOTO_WITH_ID_ROWS = [
    PhotoWithId("id-alone", "{parent}", "follow_up", {"follow_up_of": "{parent}"}, "", "{parent}", True),
    PhotoWithId("cek-id", "CEK {parent}", "follow_up", {"follow_up_of": "{parent}"}, "", "{parent}", True),
    # the words after the ID describe the photo: they go with it
    PhotoWithId("cek-id-words", "CEK {parent} lubangnya makin besar", "follow_up", {"follow_up_of": "{parent}"},
                "lubangnya makin besar", "{parent}", True),
    PhotoWithId("cek-bracketed-id-words", "CEK ({parent}): lubangnya makin besar", "follow_up",
                {"follow_up_of": "{parent}"}, "lubangnya makin besar", "{parent}", True),
    PhotoWithId("named-id", "Nomor lacak: {parent}", "follow_up", {"follow_up_of": "{parent}"}, "", "{parent}",
                True),
    # the reply says the ID typed is not valid, and gives the photo's own report's Tracking ID
    PhotoWithId("cek-mistyped-id", "CEK {mistyped}", "bad_tracking_id_photo",
                {"typed_id": "{mistyped}", "tracking_id": "{new}"}, "CEK {mistyped}", None, True),
    PhotoWithId("mistyped-id-alone", "{mistyped}", "bad_tracking_id_photo",
                {"typed_id": "{mistyped}", "tracking_id": "{new}"}, "{mistyped}", None, True),
    PhotoWithId("cek-too-short", "CEK 12345", "bad_tracking_id_photo", {"typed_id": "12345", "tracking_id": "{new}"},
                "CEK 12345", None, True),
    PhotoWithId("cek-id-never-minted", "CEK {never}", "follow_up_unknown",
                {"follow_up_of": "{never}", "tracking_id": "{new}"}, "{never}", None, False),
    # its words' own flags go with the photo: here to a report of its own, whose flags are the words' alone
    PhotoWithId("cek-id-never-minted-anonim", "CEK {never} foto loketnya #anonim", "follow_up_unknown_anonymous",
                {"follow_up_of": "{never}", "tracking_id": "{new}"}, "{never} foto loketnya", None, True),
    # A flag word before the status command changes nothing but the flags: a follow-up, the words after the ID with
    # the photo (it was an anonymous new report of "CEK <id> ..."), and for an ID never minted a report of its own,
    # still anonymous.
    PhotoWithId("anonim-cek-id-words", "ANONIM CEK {parent} lubangnya makin besar", "follow_up_anonymous",
                {"follow_up_of": "{parent}"}, "lubangnya makin besar", "{parent}", True),
    PhotoWithId("anonim-laporan-id", "ANONIM laporan {parent}", "follow_up_anonymous", {"follow_up_of": "{parent}"}, "",
                "{parent}", True),
    PhotoWithId("anonim-cek-id-never-minted", "ANONIM CEK {never} foto loketnya", "follow_up_unknown_anonymous",
                {"follow_up_of": "{never}", "tracking_id": "{new}"}, "{never} foto loketnya", None, True),
    # A RAHASIA goes with the photo too, and the answer to a report of its own says so, as an acknowledgement does
    # (the plain and anonymous answers left the citizen unsure whether it was read); a follow-up's names its own.
    PhotoWithId("rahasia-cek-mistyped-id", "RAHASIA CEK {mistyped}", "bad_tracking_id_photo_confidential",
                {"typed_id": "{mistyped}", "tracking_id": "{new}"}, "RAHASIA CEK {mistyped}", None, True, True),
    PhotoWithId("rahasia-cek-id-never-minted", "RAHASIA CEK {never} foto loketnya", "follow_up_unknown_confidential",
                {"follow_up_of": "{never}", "tracking_id": "{new}"}, "{never} foto loketnya", None, False, True),
    PhotoWithId("anonim-rahasia-cek-id-never-minted", "ANONIM RAHASIA CEK {never} foto loketnya",
                "follow_up_unknown_anonymous_confidential", {"follow_up_of": "{never}", "tracking_id": "{new}"},
                "{never} foto loketnya", None, True, True),
    PhotoWithId("rahasia-cek-id-words", "RAHASIA CEK {parent} lubangnya makin besar", "follow_up_confidential",
                {"follow_up_of": "{parent}"}, "lubangnya makin besar", "{parent}", True, True),
    # Privacy asked in words after the ID goes with the photo as a flag word does (it was filed open, the number
    # beside it); here to a report of its own, whose flags are the words' alone.
    PhotoWithId("cek-id-never-minted-anonymity-in-words", "CEK {never} foto loketnya, tolong jangan sebut nama saya",
                "follow_up_unknown_anonymous", {"follow_up_of": "{never}", "tracking_id": "{new}"},
                "{never} foto loketnya, tolong jangan sebut nama saya", None, True),
    PhotoWithId("cek-id-never-minted-confidentiality-in-words", "CEK {never} mohon laporan ini tidak dipublikasikan",
                "follow_up_unknown_confidential", {"follow_up_of": "{never}", "tracking_id": "{new}"},
                "{never} mohon laporan ini tidak dipublikasikan", None, False, True),
]


@pytest.mark.parametrize("row", PHOTO_WITH_ID_ROWS, ids=lambda row: row.id)
async def test_a_tracking_id_sent_with_a_photo_files_the_photo(
        gateway: GatewayServer, redis: Redis, row: PhotoWithId) -> None:
    """"12345678" or "CEK 12345678" with a picture was answered with the status and the picture never filed: the
    evidence lost. It is a follow-up of that report (its anonymity kept) answered as one; with a mistyped ID, whose
    report cannot be named, a report of its own with the words as typed, anonymous (normalizer/pipeline.py)."""
    sender = "+6281355556666"
    ack = await gateway.post_twilio(gateway.twilio_form(Body="ANONIM pungli di loket samsat", From=sender,
                                                        MessageSid="SM" + "a" * 32))
    parent = tracking_id_in(twiml_message(ack.text))
    ids = {"parent": parent, "mistyped": parent[:-1] + str((int(parent[-1]) + 1) % 10),
           "never": format_tracking_id(7_777_777)}
    sid = "MM" + "b" * 32
    media_url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/{sid}/Media/ME{'3' * 32}"
    form = gateway.twilio_form(Body=row.body.format(**ids), From=sender, MessageSid=sid, SmsMessageSid=sid,
                               SmsSid=sid, NumMedia="1", MediaUrl0=media_url, MediaContentType0="image/jpeg")
    reply = twiml_message((await gateway.post_twilio(form)).text)
    (filed,) = [e for key in redis.scan_iter("lapor:envelope:*")
                if (e := orjson.loads(redis.get(key)))["tracking_id"] != parent]
    ids["new"] = filed["tracking_id"]
    assert reply == render(row.reply, "id", **{k: v.format(**ids) for k, v in row.reply_fields.items()})
    # a photo filed anonymous as a new report (always, for a mistyped ID's), and the citizen is told so, as an ANONIM
    # report's is; a follow-up's answer names its own words' flags, never its (anonymous) report's
    own = row.body.split()
    assert ("anonim" in reply) is (row.anonymous if row.follow_up_of is None else "ANONIM" in own), reply
    assert ("rahasia" in reply.split()) is (row.confidential if row.follow_up_of is None else "RAHASIA" in own), reply
    assert [a["location"] for a in filed["attachments"]] == [media_url]
    expected_parent = row.follow_up_of.format(**ids) if row.follow_up_of else None
    assert (filed["text"], filed["follow_up_of"], filed["anonymous"], filed["confidential"]) == (
        row.text.format(**ids), expected_parent, row.anonymous, row.confidential)


async def test_an_addition_to_an_id_still_in_the_gateways_reserve_is_a_new_report_not_a_later_reports_follow_up(
        gateway: GatewayServer, redis: Redis) -> None:
    """The Tracking-ID counter runs hundreds ahead of the reports (each process leases its reserve), so an ID in a
    gateway's reserve passed for minted: "<id> ..." for it (a typo that keeps the check digit, a guess at the next ID)
    was answered "addition received", while "CEK <id>" said "not found", and it was filed as a follow-up of whichever
    report took the ID later: a stranger's words under a whistleblower's anonymous report. Such an ID is a new report,
    answered so, as an ID above the counter is."""
    def sms(body: str, sender: str) -> dict[str, str]:
        sid = twilio_sid(body)
        return gateway.twilio_form(Body=body, From=sender, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)

    ack = await gateway.post_twilio(sms("LAPOR lampu jalan mati", "+6281355550001"))
    first = tracking_id_in(twiml_message(ack.text))
    ahead = format_tracking_id(int(first[:-1]) + 3)  # leased with the first one's block, not minted yet
    assert int(ahead[:-1]) <= int(redis.get("lapor:tracking:seq"))
    reply = twiml_message((await gateway.post_twilio(sms(f"{ahead} laporan ini palsu", "+6281399990000"))).text)
    filed = [e for key in redis.scan_iter("lapor:envelope:*")
             if (e := orjson.loads(redis.get(key)))["tracking_id"] != first]
    assert [(e["text"], e["follow_up_of"]) for e in filed] == [(f"{ahead} laporan ini palsu", None)]
    assert reply == render("follow_up_unknown", "id", follow_up_of=ahead, tracking_id=filed[0]["tracking_id"])
    # the whistleblower who gets that ID later has a report of their own, with nothing of the stranger's in it
    for number in range(3):
        await gateway.post_twilio(sms(f"ANONIM pungli di loket {number}", "+6281355550002"))
    envelope = orjson.loads(redis.get(envelope_key(ahead)))
    assert (envelope["text"], envelope["follow_up_of"]) == ("pungli di loket 1", None)
    follow_ups = [key for key in redis.scan_iter("lapor:envelope:*")
                  if orjson.loads(redis.get(key))["follow_up_of"] == ahead]
    assert follow_ups == []


async def test_an_addition_to_an_id_leased_by_another_process_is_a_new_report_once_the_case_store_says_it_has_none(
        gateway: GatewayServer, casestore: CaseStoreServer, redis: Redis) -> None:
    """An ID in another process's reserve (the SMTP server's, the pollers'): neither Redis nor the case store (404)
    has its report, and it was a follow-up waiting at the case store for whichever report took the ID later."""
    leased = TrackingIdAllocator(redis, block_size=5).mint()  # as another process's block: leased, not given yet
    sid = twilio_sid("palsu")
    form = gateway.twilio_form(Body=f"{leased} laporan ini palsu", From="+6281399990000", MessageSid=sid,
                               SmsMessageSid=sid, SmsSid=sid)
    reply = twiml_message((await gateway.post_twilio(form)).text)
    [filed] = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
    assert (filed["text"], filed["follow_up_of"], filed["anonymous"]) == (f"{leased} laporan ini palsu", None, True)
    # filed anonymous (privacy first: the ID may be an anonymous report's still on its way), and told so
    assert reply == render("follow_up_unknown_anonymous", "id", follow_up_of=leased, tracking_id=filed["tracking_id"])


async def test_two_gateway_processes_share_one_port_with_reuse_port(
    test_env: TestEnvironment, start_process: Callable[..., ProcessHandle], redis: Redis
) -> None:
    """`http.reuse_port`: one `serve` process per core on the same port; the kernel spreads connections over them,
    and a Tracking ID is unique whichever process answered."""
    settings = test_env.settings()
    first = start_process("serve", LAPOR_HTTP_REUSE_PORT="true")
    await async_wait_until(lambda: "gateway.listening" in first.output(), timeout=30)
    second = start_process("serve", LAPOR_HTTP_REUSE_PORT="true")
    await async_wait_until(lambda: "gateway.listening" in second.output(), timeout=30)
    tracking_ids = []
    for index in range(40):  # a new connection each: SO_REUSEPORT balances connections, not requests
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            server = GatewayServer(url=settings.public_url, settings=settings, client=client)
            # Each from a number of its own: 40 answers to one number within a minute are flood control's to hold.
            response = await server.post_twilio(server.twilio_form(MessageSid=twilio_sid(f"reuse-{index}"),
                                                                   Body=f"Jalan rusak di RT {index}",
                                                                   From=f"+628137777{index:04d}"))
            assert response.status_code == 200, response.text
            tracking_ids.append(tracking_id_in(twiml_message(response.text)))
    assert len(set(tracking_ids)) == 40
    await async_wait_until(lambda: first.output().count('"message.accepted"')
                           + second.output().count('"message.accepted"') == 40, timeout=10)
    assert first.output().count('"message.accepted"') > 0
    assert second.output().count('"message.accepted"') > 0
    assert first.process.poll() is None and second.process.poll() is None


async def test_redis_down_with_ids_in_reserve_is_still_ready_and_answers_from_the_spool(
    test_env: TestEnvironment, tmp_path: Path
) -> None:
    """A load balancer gating on /readyz must keep a gateway that answers citizens from the spool."""
    own = EmbeddedRedis(tmp_path / "redis").start()
    try:
        settings = test_env.settings(REDIS_URL=own.url)
        async with serving_gateway(settings, redis_connection(own.url, timeout=0.5)) as server:
            sid = twilio_sid("ready1")
            first = await server.post_twilio(server.twilio_form(MessageSid=sid, SmsSid=sid))
            assert first.status_code == 200  # Redis up: this also leases the reserve
            own.stop()
            ready = await server.client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["spool"] == "answering" and ready.json()["reserve"] > 0
            sid = twilio_sid("ready2")
            spooled = await server.post_twilio(server.twilio_form(MessageSid=sid, SmsSid=sid))
            assert spooled.status_code == 200
            assert is_valid_tracking_id(tracking_id_in(twiml_message(spooled.text)))
    finally:
        own.stop()


async def test_gateways_on_one_data_directory_share_the_saved_reserves_through_an_outage(
    test_env: TestEnvironment,
) -> None:
    """Gateways started on one data directory while Redis is down (one per core, or restarted together): each takes
    one reserve its predecessors left, one whose own runs out takes the next (and stays ready while one is left),
    and only with none left is it 503. Before, the first took them all and the second answered 503 throughout."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    ports = [free_port(), free_port()]
    settings = [test_env.settings(REDIS_URL=dead_redis, LAPOR_HTTP_PORT=str(port),
                                  LAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}") for port in ports]
    spool = Spool(settings[0].data_dir / "spool")
    spool.check_writable()
    for low in (1_000_050, 1_000_060, 1_000_070):
        spool.save_reserve([low, low + 1])
    sent = iter(range(100))

    async def answered(server: GatewayServer) -> httpx.Response:
        number = next(sent)
        sid = twilio_sid(f"pool-{number}")  # each a report of its own: another text (not the same SMS sent again)
        return await server.post_twilio(server.twilio_form(MessageSid=sid, SmsSid=sid,
                                                           Body=f"Jalan rusak nomor {number}"))

    async with (serving_gateway(settings[0], redis_connection(dead_redis, timeout=0.5)) as first,
                serving_gateway(settings[1], redis_connection(dead_redis, timeout=0.5)) as second):
        for server in (first, second):
            ready = await server.client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["reserve"] == 2 and ready.json()["saved_reserves"] == 1
        # The same-text lookup before the claim meets Redis down before an ID is minted: each ID is a report's.
        numbers = [int(tracking_id_in(twiml_message((await answered(server)).text))[:-1])
                   for server in (first, second)]
        assert sorted(numbers) == [1_000_050, 1_000_060]
        for server, number in zip((first, second), numbers, strict=True):  # each one's own reserve used up
            assert int(tracking_id_in(twiml_message((await answered(server)).text))[:-1]) == number + 1
        ready = await first.client.get("/readyz")  # its own reserve is used up, one is left to take
        assert ready.status_code == 200 and ready.json()["reserve"] == 0 and ready.json()["saved_reserves"] == 1
        from_the_pool = [int(tracking_id_in(twiml_message((await answered(first)).text))[:-1]) for _ in range(2)]
        assert from_the_pool == [1_000_070, 1_000_071]
        for server in (first, second):
            assert (await server.client.get("/readyz")).status_code == 503
            refused = await answered(server)
            assert refused.status_code == 503 and refused.json()["error"] == "redis_unavailable"


async def test_once_the_id_range_is_used_up_a_retry_of_an_answered_message_still_gets_its_tracking_id(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Twilio retries a webhook whose answer it did not get: after the cell's last ID, the retry of a message that was
    given one must get that ID back ("already received"), not a 503; a new message is still refused, clearly."""
    settings = test_env.settings(LAPOR_INTAKE_ID_END="1000001", LAPOR_INTAKE_ID_BLOCK_SIZE="2")
    forms = {}
    last, past = [twilio_sid("last1"), twilio_sid("last2")], [twilio_sid("past1"), twilio_sid("past2")]
    async with serving_gateway(settings, redis) as server:

        async def post(sid: str) -> httpx.Response:
            form = forms.setdefault(sid, server.twilio_form(MessageSid=sid, SmsSid=sid, Body=f"Jalan rusak {sid}"))
            return await server.post_twilio(form)

        given = {sid: tracking_id_in(twiml_message((await post(sid)).text)) for sid in last}
        assert sorted(int(tracking_id[:-1]) for tracking_id in given.values()) == [1_000_000, 1_000_001]
        for sid in (past[0], *last, past[1]):
            response = await post(sid)
            if sid in given:
                assert response.status_code == 200, response.text
                reply = twiml_message(response.text)
                assert reply == render("ack", "id", tracking_id=given[sid])  # the answer the first delivery got
            else:
                assert response.status_code == 503 and response.json()["error"] == "id_range_exhausted"


async def test_a_status_answer_trickling_in_is_cut_at_the_deadline_and_twilio_is_answered_in_time(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """httpx's timeouts are per read: a case store (or a proxy) that sends a byte a second never trips them. The
    lookup as a whole has a deadline, so the citizen's TwiML goes out long before Twilio's 15 s."""
    import asyncio
    import time

    settings = test_env.settings(LAPOR_TWILIO_STATUS_INLINE_TIMEOUT_SECONDS="1.0")

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for byte in b'{"status": "in_progress"}':
            await response.write(bytes([byte]))
            await asyncio.sleep(0.5)
        return response

    slow = web.Application()
    slow.router.add_get("/v1/reports/{tracking_id}", trickle)
    slow_runner = web.AppRunner(slow, access_log=None)
    await slow_runner.setup()
    await web.TCPSite(slow_runner, "127.0.0.1", settings.casestore.port).start()
    try:
        async with serving_gateway(settings, redis, timeout=30) as server:
            started = time.monotonic()
            form = server.twilio_form(Body="CEK 10000004", MessageSid=twilio_sid("trickle"))
            response = await server.post_twilio(form)
            answered_in = time.monotonic() - started
        reply = twiml_message(response.text)
        assert "belum bisa dicek" in reply and "10000004" in reply
        assert answered_in < 5, answered_in  # the trickle takes 12 s
    finally:
        await slow_runner.cleanup()



class _SecondInlineProvider(WebhookAdapter):
    """A provider answered in its webhook's response, as Twilio is, with the aggregator's settings section."""

    name = "sms-second"
    path = "/v1/channels/sms/second"
    settings_section = "aggregator"

    def authenticate(self, request: web.Request, body: bytes) -> None:
        return None

    def parse(self, request: web.Request, body: bytes) -> list[InboundMessage]:
        return []

    def respond(self, outcomes: Sequence[Outcome]) -> web.Response:
        return web.Response()


@pytest.mark.parametrize(
    ("adapter_class", "deadlines"),
    [
        pytest.param(TwilioSmsAdapter, {"TWILIO": "0.3", "AGGREGATOR": "30"}, id="twilio-by-its-own"),
        pytest.param(_SecondInlineProvider, {"TWILIO": "30", "AGGREGATOR": "0.3"}, id="another-by-its-own"),
    ],
)
async def test_a_status_asked_in_a_webhook_waits_as_long_as_the_adapters_own_settings_say(
    test_env: TestEnvironment, redis: Redis, adapter_class: type[WebhookAdapter], deadlines: dict[str, str]
) -> None:
    """The deadline of a status answered in the webhook's response is `status_inline_timeout_seconds` of the
    adapter's own settings section: a second such provider is not held to Twilio's."""
    import asyncio

    settings = test_env.settings(**{f"LAPOR_{section}_STATUS_INLINE_TIMEOUT_SECONDS": seconds
                                    for section, seconds in deadlines.items()})

    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(never_answers),
                                 base_url=settings.casestore_url) as client:
        gateway = Gateway(settings=settings, redis=redis, intake=None, status_client=client)  # type: ignore[arg-type]
        adapter = adapter_class(settings)
        message = InboundMessage(channel=Channel.SMS, source=adapter.name, provider_message_id="SM" + "d" * 32,
                                 sender_kind=SenderKind.MSISDN, sender_address="+6281234567890",
                                 text="CEK 10000004", received_at=utc_now())
        outcome = await asyncio.wait_for(gateway.handle_message(adapter, message), 5)
    assert outcome.reply_text == render("status_retry", "id", tracking_id="10000004")


async def test_a_status_query_for_a_report_answered_from_the_spool_is_never_not_found(
    test_env: TestEnvironment, casestore: CaseStoreServer, tmp_path: Path
) -> None:
    """Redis down: the report is acknowledged from the disk spool, so neither the case store nor Redis has it yet.
    Its CEK cannot tell "received" from "no such report" while Redis is away: it asks to try later, and must never
    tell the citizen that the report they were just given an ID for does not exist."""
    own = EmbeddedRedis(tmp_path / "redis").start()
    try:
        settings = test_env.settings(REDIS_URL=own.url)
        async with serving_gateway(settings, redis_connection(own.url, timeout=0.5)) as server:
            sid = twilio_sid("cek1")
            first = await server.post_twilio(server.twilio_form(MessageSid=sid, SmsSid=sid))
            assert first.status_code == 200  # Redis up: this also leases the reserve
            own.stop()
            sid = twilio_sid("cek2")
            spooled = await server.post_twilio(server.twilio_form(MessageSid=sid, SmsSid=sid))
            tracking_id = tracking_id_in(twiml_message(spooled.text))
            sid = twilio_sid("cek3")
            response = await server.post_twilio(server.twilio_form(Body=f"CEK {tracking_id}", MessageSid=sid,
                                                                   SmsSid=sid))
            assert casestore.get(tracking_id) is None
            assert twiml_message(response.text) == render("status_retry", "id", tracking_id=tracking_id)
    finally:
        own.stop()


@pytest.mark.parametrize("photo", [False, True], ids=["alone", "with-a-photo"])
async def test_a_mistyped_id_of_any_length_is_answered_in_one_sms(gateway: GatewayServer, photo: bool) -> None:
    """"CEK" and a long number (a receipt number, a finger resting on a key): the answer repeats the number cut at the
    longest Tracking ID. Repeated whole, the answer ran to an SMS part per 153 digits, and past 1,600 characters
    Twilio sends none; with a photo, the acknowledgement of the report it filed no longer fit one SMS."""
    typed = "3" * 1_500
    sid = "MM" + ("c" if photo else "d") * 32
    media = {"NumMedia": "1", "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/{sid}"
             f"/Media/ME{'3' * 32}", "MediaContentType0": "image/jpeg"} if photo else {}
    form = gateway.twilio_form(Body=f"CEK {typed}", MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, **media)
    reply = twiml_message((await gateway.post_twilio(form)).text)
    assert is_gsm7(reply) and septets(reply) <= SINGLE_PART
    assert f" {typed[:MAX_LENGTH]}... " in reply and typed[:MAX_LENGTH + 1] not in reply
    assert ("foto" in reply and is_valid_tracking_id(reply.rstrip(".").split()[-1])) if photo else "foto" not in reply


@dataclass(frozen=True)
class SameTextRow:
    """A first SMS, then `again` (None: the first's text) from `sender` (None: the first's number), with or without
    a photo: whether it is the first one's report, answered "we already have this report" (`reply`)."""

    id: str
    first: str
    again: str | None = None
    sender: str | None = None
    photo: bool = False
    one_report: bool = True
    reply: str = "duplicate"


SAME_TEXT_ROWS = [
    SameTextRow("same-text", "LAPOR air PDAM tidak mengalir 3 hari di Klender"),
    SameTextRow("case-and-spaces-aside", "LAPOR air PDAM tidak mengalir 3 hari di Klender",
                again="lapor  AIR pdam tidak mengalir 3 hari di klender"),
    SameTextRow("anonymous-told-again", "ANONIM bendahara desa memotong dana bantuan",
                reply="duplicate_anonymous"),
    SameTextRow("another-number", "LAPOR air PDAM tidak mengalir 3 hari di Klender", sender="+6281355550099",
                one_report=False, reply="ack"),
    SameTextRow("anonim-added", "LAPOR pungli di kantor kelurahan", again="ANONIM pungli di kantor kelurahan",
                one_report=False, reply="ack_anonymous"),
    SameTextRow("with-a-photo", "LAPOR jalan berlubang di Jl. Merdeka", photo=True, one_report=False, reply="ack"),
    SameTextRow("other-words", "LAPOR jalan berlubang di Jl. Merdeka", again="LAPOR jalan berlubang di Jl. Sudirman",
                one_report=False, reply="ack"),
]


@pytest.mark.parametrize("row", SAME_TEXT_ROWS, ids=[row.id for row in SAME_TEXT_ROWS])
async def test_the_same_text_from_the_same_number_by_twilio_is_one_report(
        row: SameTextRow, gateway: GatewayServer, redis: Redis) -> None:
    """A feature phone shows no sign that an SMS arrived, and the citizen sends it again: by Twilio that was a second
    Tracking ID and a second case at the agency for one complaint (the aggregator's SMS had the same-text window)."""
    def sms(body: str, label: str, sender: str, photo: bool = False) -> dict[str, str]:
        sid = twilio_sid(f"{row.id}-{label}")
        media = {"NumMedia": "1", "MediaContentType0": "image/jpeg",
                 "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/{sid}/Media/"
                              f"ME{'3' * 32}"} if photo else {}
        return gateway.twilio_form(Body=body, From=sender, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, **media)

    number = "+6281355550001"
    first = tracking_id_in(twiml_message((await gateway.post_twilio(sms(row.first, "1", number))).text))
    again = sms(row.again or row.first, "2", row.sender or number, row.photo)
    reply = twiml_message((await gateway.post_twilio(again)).text)
    second = tracking_id_in(reply)
    assert (second == first) is row.one_report
    assert reply == render(row.reply, "id", tracking_id=second)
    assert len(list(redis.scan_iter("lapor:envelope:*"))) == (1 if row.one_report else 2)
    # Twilio's retry of the repeat (its answer lost) gets the same answer, once the window is over too.
    for key in redis.scan_iter("lapor:sametext:*"):
        redis.delete(key)
    assert twiml_message((await gateway.post_twilio(again)).text) == reply


async def test_the_same_text_sent_twice_at_once_is_one_report(gateway: GatewayServer, redis: Redis) -> None:
    """Both in one batch of intake's committer: one report, the second answered as a repeat."""
    forms = []
    for label in ("a", "b"):
        sid = twilio_sid(f"at-once-{label}")
        forms.append(gateway.twilio_form(Body="LAPOR lampu jalan mati di gang 5", From="+6281355550002",
                                         MessageSid=sid, SmsMessageSid=sid, SmsSid=sid))
    replies = [twiml_message(r.text) for r in await asyncio.gather(*(gateway.post_twilio(f) for f in forms))]
    assert len({tracking_id_in(reply) for reply in replies}) == 1
    tracking_id = tracking_id_in(replies[0])
    assert sorted(replies) == sorted([render("ack", "id", tracking_id=tracking_id),
                                      render("duplicate", "id", tracking_id=tracking_id)])
    assert len(list(redis.scan_iter("lapor:envelope:*"))) == 1


async def test_words_after_a_cek_by_twilio_are_added_and_answered_with_the_status_too(
    gateway: GatewayServer, casestore: CaseStoreServer, redis: Redis
) -> None:
    """"CEK <id> <words>": the words a follow-up of the report (answered with the status alone, they were dropped),
    and the TwiML answer says both, the status as any CEK's (the report held by the gateway, not forwarded: received).
    With the case store away, a report not forwarded yet is "received" still (not the case store's yet); for one
    forwarded, no job can answer later: the citizen is asked to send CEK again."""
    ack = await gateway.post_twilio(gateway.twilio_form(Body="LAPOR lampu jalan mati", MessageSid="SM" + "a1" * 16))
    tracking_id = tracking_id_in(twiml_message(ack.text))
    added = await gateway.post_twilio(gateway.twilio_form(Body=f"CEK {tracking_id} tiangnya juga miring",
                                                          MessageSid="SM" + "a2" * 16))
    assert twiml_message(added.text) == render("follow_up_status", "id", follow_up_of=tracking_id,
                                               status="diterima")
    casestore.stop()
    away = await gateway.post_twilio(gateway.twilio_form(Body=f"cek {tracking_id} kabelnya putus",
                                                         MessageSid="SM" + "a3" * 16))
    assert twiml_message(away.text) == render("follow_up_status", "id", follow_up_of=tracking_id, status="diterima")
    redis.hset(REPORT_STATE_KEY.format(tracking_id=tracking_id), "state", "forwarded")  # as the forward marks it
    later = await gateway.post_twilio(gateway.twilio_form(Body=f"cek {tracking_id} tiangnya roboh",
                                                          MessageSid="SM" + "a4" * 16))
    assert twiml_message(later.text) == render("follow_up_status_retry", "id", follow_up_of=tracking_id)
    follow_ups = [orjson.loads(raw) for raw in redis.mget(list(redis.scan_iter(envelope_key("*"))))]
    assert sorted(e["text"] for e in follow_ups if e.get("follow_up_of") == tracking_id) == [
        "kabelnya putus", "tiangnya juga miring", "tiangnya roboh"]


async def test_an_additions_answer_names_its_own_flags_never_its_reports(gateway: GatewayServer,
                                                                       casestore: CaseStoreServer) -> None:
    """"CEK <id> <words>" from anyone who typed an anonymous report's ID was answered "Tambahan anonim untuk laporan
    <id> diterima; identitas Anda dirahasiakan": a stranger learned that its reporter had asked for anonymity (an
    addition without CEK was answered alike either way). And the reporter's own "<id> ANONIM <words>", made anonymous,
    was answered as any addition: the ANONIM never confirmed. The message's own flags are named, and only they."""
    reporter, stranger = "+6281355550031", "+6281355550032"
    ack = await gateway.post_twilio(gateway.twilio_form(Body="LAPOR ANONIM kepala dinas minta setoran",
                                                        From=reporter, MessageSid="SM" + "b1" * 16))
    tracking_id = tracking_id_in(twiml_message(ack.text))
    assert twiml_message(ack.text) == render("ack_anonymous", "id", tracking_id=tracking_id)
    rows = [
        (stranger, f"CEK {tracking_id} kepala dinas tidak pernah minta setoran", "follow_up_status"),
        (stranger, f"{tracking_id} itu fitnah", "follow_up"),
        (stranger, f"CEK {tracking_id} RAHASIA saya saksinya", "follow_up_status_confidential"),
        (reporter, f"{tracking_id} ANONIM buktinya ada di map biru", "follow_up_anonymous"),
        (reporter, f"{tracking_id} ANONIM RAHASIA buktinya ada di map merah", "follow_up_anonymous_confidential"),
        (reporter, f"CEK {tracking_id} ANONIM kades mengancam saksi", "follow_up_status_anonymous"),
    ]
    for index, (sender, body, key) in enumerate(rows):
        added = await gateway.post_twilio(gateway.twilio_form(Body=body, From=sender,
                                                              MessageSid=f"SM{index:02d}" + "b2" * 15))
        fields = {"status": "diterima"} if key.startswith("follow_up_status") else {}
        assert twiml_message(added.text) == render(key, "id", follow_up_of=tracking_id, **fields), body


async def test_an_apology_before_anonim_and_the_id_is_the_follow_up_it_asks(gateway: GatewayServer,
                                                                             casestore: CaseStoreServer,
                                                                             redis: Redis) -> None:
    """"Maaf, ANONIM <id> ...": a citizen asking, too late, that her report be anonymous, her words an addition to it
    as "<id> ANONIM ..." is. It was filed as a new report of the whole text, her number beside her report's ID. The
    citizen's prose with the flag word in it ("Maaf, akun anonim <id> ...") stays a report of its own, named."""
    reporter = "+6281355550041"
    ack = await gateway.post_twilio(gateway.twilio_form(Body="LAPOR kepala dinas minta setoran", From=reporter,
                                                        MessageSid="SM" + "c1" * 16))
    tracking_id = tracking_id_in(twiml_message(ack.text))
    rows = [
        (f"Maaf, ANONIM {tracking_id} buktinya ada di map biru", "follow_up_anonymous", "buktinya ada di map biru"),
        (f"Maaf tadi lupa. {tracking_id} ANONIM saksinya pak RT", "follow_up_anonymous", "saksinya pak RT"),
        (f"Maaf min, RAHASIA {tracking_id} saya saksinya", "follow_up_confidential", "saya saksinya"),
    ]
    for index, (body, key, _) in enumerate(rows):
        added = await gateway.post_twilio(gateway.twilio_form(Body=body, From=reporter,
                                                              MessageSid=f"SM{index:02d}" + "c2" * 15))
        assert twiml_message(added.text) == render(key, "id", follow_up_of=tracking_id), body
    prose = await gateway.post_twilio(gateway.twilio_form(Body=f"Maaf, akun anonim {tracking_id} menyebar hoaks",
                                                          From=reporter, MessageSid="SM" + "c3" * 16))
    assert tracking_id_in(twiml_message(prose.text)) != tracking_id
    envelopes = [orjson.loads(raw) for raw in redis.mget(list(redis.scan_iter(envelope_key("*"))))]
    assert sorted((e["text"], e["anonymous"], e["confidential"]) for e in envelopes
                  if e.get("follow_up_of") == tracking_id) == sorted(
        (text, key.endswith("anonymous"), key.endswith("confidential")) for _, key, text in rows)
    assert sorted((e["text"], e["anonymous"]) for e in envelopes if not e.get("follow_up_of")) == [
        ("Maaf, akun anonim " + tracking_id + " menyebar hoaks", False), ("kepala dinas minta setoran", False)]


@dataclass(frozen=True)
class FloodRow:
    """`posts` messages from one number within seconds, each its own MessageSid, each `body(n, first_reply)`;
    `limit` the flood setting given (None: the default, 10); `reports` the envelopes filed; `first` and `then` the
    reply keys of the first answer and those after it up to the limit."""

    id: str
    body: Callable[[int, str | None], str]
    limit: str | None
    reports: int
    first: str
    then: str


FLOOD_ROWS = [
    # The probe's: another system's auto-reply to our acknowledgement, the same words every time. One report (the
    # same-text window), answered "we already have this report" until the limit.
    FloodRow("the-same-auto-reply-text", lambda n, first: "Balasan otomatis: kami sedang di luar kantor, pesan Anda "
             "akan kami balas secepatnya", None, 1, "ack", "duplicate"),
    # An auto-responder that echoes what it gets: our acknowledgement read back is a status query (no report), and
    # each status answer it echoed drew the next one.
    FloodRow("our-acknowledgement-echoed", lambda n, first: first or "LAPOR jalan rusak di gang 7", None, 1, "ack",
             "status"),
    # An auto-responder answering in words of its own, the same each time, under a lower limit.
    FloodRow("the-same-text-a-lower-limit", lambda n, first: "Maaf, nomor ini tidak menerima SMS.", "4", 1, "ack",
             "duplicate"),
]


@pytest.mark.parametrize("row", FLOOD_ROWS, ids=[row.id for row in FLOOD_ROWS])
async def test_a_flood_from_one_number_by_twilio_gets_empty_answers_past_the_limit_and_every_report_is_kept(
        row: FloodRow, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
        log_stream: io.StringIO) -> None:
    """Twilio's answers in the TwiML had no flood control, which the aggregator's replies have: 15 messages from one
    number in seconds got 15 <Message> answers (each segment paid; an auto-responder's ping-pong was limited only by
    the carrier), where the aggregator queued its limit. Past `twilio.flood_replies_per_minute` the answer is an empty
    <Response />, `reply.held` is logged and counted as the aggregator's is; the report is filed as always. Another
    number's message is answered."""
    settings = test_env.settings(**({"LAPOR_TWILIO_FLOOD_REPLIES_PER_MINUTE": row.limit} if row.limit else {}))
    limit = settings.twilio.flood_replies_per_minute
    assert limit == int(row.limit or 10)
    held_before = counted("lapor_replies_total", channel="sms-twilio", outcome="held")
    sent_before = counted("lapor_replies_total", channel="sms-twilio", outcome="sent")
    number = "+6281377770001"
    async with serving_gateway(settings, redis) as gateway:
        answers: list[str] = []
        first: str | None = None
        for n in range(15):
            sid = twilio_sid(f"{row.id}-{n}")
            form = gateway.twilio_form(Body=row.body(n, first), From=number, MessageSid=sid, SmsMessageSid=sid,
                                       SmsSid=sid)
            response = await gateway.post_twilio(form)
            assert response.status_code == 200, response.text
            answers.append(response.text)
            if first is None:
                first = twiml_message(response.text)
        replies = [ElementTree.fromstring(answer).findall("Message") for answer in answers]
        # The new report's acknowledgement (never counted), then `limit` repeats answered, then held.
        assert [len(messages) for messages in replies] == [1] * (limit + 1) + [0] * (14 - limit)
        assert all(answer.endswith("<Response />") for answer in answers[limit + 1:])
        assert first is not None
        tracking_id = tracking_id_in(first)
        assert first == render(row.first, "id", tracking_id=tracking_id)
        if row.then == "duplicate":
            assert {message.text for [message] in replies[1:limit + 1]} == {render("duplicate", "id",
                                                                               tracking_id=tracking_id)}
        elif row.then == "status":  # the status, or (the case store slower than the inline wait) to ask again later
            assert {message.text for [message] in replies[1:limit + 1]} <= {
                f"LAPOR! Laporan {tracking_id}: diterima.", render("status_retry", "id", tracking_id=tracking_id)}
        assert len(list(redis.scan_iter("lapor:envelope:*"))) == row.reports  # held answers, reports filed

        # Twilio's retry of a held message (the same MessageSid) is no new message: held still, counted once.
        retry = await gateway.post_twilio(form)
        assert ElementTree.fromstring(retry.text).findall("Message") == []
        other_sid = twilio_sid(f"{row.id}-other")
        other = await gateway.post_twilio(gateway.twilio_form(
            Body="LAPOR sampah menumpuk di pasar", From="+6281377770002", MessageSid=other_sid,
            SmsMessageSid=other_sid, SmsSid=other_sid))
        assert twiml_message(other.text).startswith("LAPOR! ")
    held = [e for e in log_events(log_stream) if e["event"] == "reply.held"]
    assert len(held) == 14 - limit + 1
    assert {(e["channel"], e["reason"]) for e in held} == {("sms-twilio", "flood_control")}
    assert counted("lapor_replies_total", channel="sms-twilio", outcome="held") - held_before == 14 - limit + 1
    assert counted("lapor_replies_total", channel="sms-twilio", outcome="sent") - sent_before == limit + 2
    assert number not in log_stream.getvalue()


async def test_flood_control_counts_a_numbers_messages_across_gateway_processes(
        settings: Settings, redis: Redis, test_env: TestEnvironment) -> None:
    """The limit is the number's, whichever gateway process takes each message (SO_REUSEPORT, several hosts): every
    message is counted in Redis as it comes. Messages taken in turn by two gateways from one number are answered up
    to the limit in all, then held."""
    limit = settings.twilio.flood_replies_per_minute
    port = free_port()
    other = test_env.settings(LAPOR_HTTP_PORT=str(port),
                              LAPOR_PUBLIC_URL=settings.public_url.replace(f":{settings.http.port}", f":{port}"))
    async with serving_gateway(settings, redis) as first, serving_gateway(other, redis) as second:
        answered = []
        for n in range(limit + 4):
            gateway = (first, second)[n % 2]
            sid = twilio_sid(f"spread-{n}")
            form = gateway.twilio_form(Body="Balasan otomatis: kami sedang di luar kantor", From="+6281377770004",
                                       MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
            answered.append(len(ElementTree.fromstring((await gateway.post_twilio(form)).text).findall("Message")))
    assert answered == [1] * (limit + 1) + [0] * 3  # the first a new report's acknowledgement, never counted


async def test_the_flood_counts_of_webhooks_waiting_together_go_to_redis_in_one_pipeline(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each webhook's count was a Redis transaction on a thread of its own (0.2 ms of CPU beside a webhook's 0.45):
    those waiting at one moment share one pipeline, and each still gets its own number's count."""
    counter = FloodCounter(redis, settings)
    rounds: list[int] = []
    count = counter._count

    def counted(batch: list[object]) -> list[object]:
        rounds.append(len(batch))
        return count(batch)

    monkeypatch.setattr(counter, "_count", counted)
    numbers = [f"+628137778{n:04d}" for n in range(20)]
    allowed = await asyncio.gather(*(counter.allowed("sms-twilio", number, f"SM{n}", 1, 30)
                                     for n, number in enumerate(numbers)),
                                   counter.allowed("sms-twilio", numbers[0], "SM-again", 1, 30))
    assert allowed == [True] * 20 + [False]  # the first number's second message is past a limit of 1
    assert rounds == [21]



async def test_a_refused_signatures_detail_shows_no_user_password_or_query_of_the_public_url(
        test_env: TestEnvironment, redis: Redis) -> None:
    """The URL a refused signature was checked over went into the 403's body whole: LAPOR_PUBLIC_URL's password
    (Twilio's basic auth) and the query's token, to whoever posted."""
    port = free_port()
    settings = test_env.settings(LAPOR_HTTP_PORT=str(port), LAPOR_PUBLIC_URL=f"http://twilio:Sup3rS3cret@127.0.0.1:{port}")
    async with serving_gateway(settings, redis) as gateway:
        form = gateway.twilio_form(Body="Pungli di kelurahan")
        response = await gateway.client.post(f"http://127.0.0.1:{port}/v1/channels/sms/twilio?token=abc123", data=form,
                                             headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert response.status_code == 403
    assert response.json()["detail"] == (f"X-Twilio-Signature does not match (checked over http://127.0.0.1:{port}"
                                         "/v1/channels/sms/twilio, from LAPOR_PUBLIC_URL)")


async def test_a_flood_count_that_fails_any_way_settles_every_waiting_webhook(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a Redis error settled the waiting webhooks: any other (the loop's executor shut down) left them waiting
    for good. Each is told NotDurable (its answer then goes, `reply.flood_not_counted`); the next count works."""
    counter = FloodCounter(redis, settings)

    def shut_down(_: object) -> list[object]:
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(counter, "_count", shut_down)
    results = await asyncio.wait_for(asyncio.gather(
        *(counter.allowed("sms-twilio", f"+62813777{n:05d}", f"SM{n}", 10, 30) for n in range(3)),
        return_exceptions=True), timeout=5)
    assert [type(result) for result in results] == [NotDurable] * 3
    monkeypatch.undo()
    assert await counter.allowed("sms-twilio", "+6281377700001", "SM-next", 10, 30)


async def test_a_flood_count_after_redis_lost_its_scripts_loads_its_script_again(
        settings: Settings, redis: Redis) -> None:
    counter = FloodCounter(redis, settings)
    assert await counter.allowed("sms-twilio", "+6281377700002", "SM-1", 1, 30)
    redis.script_flush()  # as a Redis restart loses them
    assert not await counter.allowed("sms-twilio", "+6281377700002", "SM-2", 1, 30)  # the second of a limit of 1


async def test_a_new_reports_acknowledgement_is_held_by_the_hours_limit_alone(settings: Settings, redis: Redis
                                                                                ) -> None:
    """New reports from one number get their Tracking IDs past the minute's limit (a citizen with several complaints
    at once); the hour's limit counts them. A number's first new report to the process costs no Redis count (each
    webhook paid one, `make bench`: most citizens send one)."""
    assert settings.twilio.flood_replies_per_minute + 3 <= settings.twilio.flood_replies_per_hour
    async with serving_gateway(settings, redis) as gateway:
        sid = twilio_sid("new-first")
        first = gateway.twilio_form(Body="LAPOR lampu jalan mati di Jl. Kenanga", From="+6281377770005",
                                    MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
        assert twiml_message((await gateway.post_twilio(first)).text).startswith("LAPOR! ")
        assert list(redis.scan_iter("lapor:flood:*")) == []
        for n in range(settings.twilio.flood_replies_per_minute + 3):
            sid = twilio_sid(f"new-{n}")
            form = gateway.twilio_form(Body=f"LAPOR lampu jalan nomor {n} mati di Jl. Kenanga", From="+6281377770005",
                                       MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
            assert twiml_message((await gateway.post_twilio(form)).text).startswith("LAPOR! ")
    [key] = redis.scan_iter("lapor:flood:*")
    assert redis.zcard(key) == settings.twilio.flood_replies_per_minute + 3  # all but the first counted


@pytest.mark.parametrize(("words", "notice_key"), [
    ("Pesan Anda sudah kami terima dengan nomor tiket #{n}. CS kami akan segera membalas.", "report_flood_notice"),
    ("ANONIM pungli di loket nomor {n}", "report_flood_notice_anonymous"),
    ("RAHASIA pungli di loket nomor {n}", "report_flood_notice_confidential"),
    ("ANONIM RAHASIA pungli di loket nomor {n}", "report_flood_notice_anonymous_confidential"),
], ids=["auto-reply", "anonymous", "confidential", "anonymous-confidential"])
async def test_an_auto_responder_whose_every_answer_is_a_new_report_is_held_past_the_hours_limit(
        words: str, notice_key: str, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
        log_stream: io.StringIO) -> None:
    """Another system's auto-reply with a ticket number of its own in each (a new text every time, so a new report
    every time) drew an acknowledgement each time, without end: each of ours drew its next. Past
    `twilio.flood_replies_per_hour` the acknowledgement is held (an empty <Response />, `reply.held` with the reply's
    kind `ack`, as the aggregator's), the report filed all the same, but for the first held in the number's hour,
    answered with its Tracking ID and why the next go unanswered (`[report_flood_notice]`, saying again what an
    anonymous or confidential report's acknowledgement says), counted sent, not held; Twilio's retry of that message
    gets the notice again. Another number is answered, and told in its own turn."""
    settings = test_env.settings(LAPOR_TWILIO_FLOOD_REPLIES_PER_HOUR="4")
    held_before = counted("lapor_replies_total", channel="sms-twilio", outcome="held")
    sent_before = counted("lapor_replies_total", channel="sms-twilio", outcome="sent")
    async with serving_gateway(settings, redis) as gateway:

        async def post(number: str, n: int) -> list[ElementTree.Element]:
            sid = twilio_sid(f"{notice_key}-{number}-{n}")
            form = gateway.twilio_form(Body=words.format(n=4471 + n), From=number, MessageSid=sid,
                                       SmsMessageSid=sid, SmsSid=sid)
            return ElementTree.fromstring((await gateway.post_twilio(form)).text).findall("Message")

        answers = [await post("+6281377770006", n) for n in range(8)]
        retried = await post("+6281377770006", 5)  # Twilio's retry of the message the notice answered
        others = [await post("+6281377770007", n) for n in range(7)]
    # The first not counted (the number's first to this process), then four within the hour's limit, then the notice
    # once in the hour in place of the sixth's acknowledgement, then nothing.
    assert [len(answer) for answer in answers] == [1] * 6 + [0] * 2
    assert [len(answer) for answer in others] == [1] * 6 + [0]
    assert len(list(redis.scan_iter("lapor:envelope:*"))) == 15  # every one filed
    held = [e for e in log_events(log_stream) if e["event"] == "reply.held"]
    assert [(e["reply_kind"], e["reason"]) for e in held] == [("ack", "flood_control")] * 3
    notices = [e["tracking_id"] for e in log_events(log_stream) if e["event"] == "reply.flood_notice"]
    assert len(notices) == 3 and notices[0] == notices[1] != notices[2]
    assert answers[5][0].text == retried[0].text == render(notice_key, "id", tracking_id=notices[0])
    assert others[5][0].text == render(notice_key, "id", tracking_id=notices[2])
    assert counted("lapor_replies_total", channel="sms-twilio", outcome="held") - held_before == 3
    assert counted("lapor_replies_total", channel="sms-twilio", outcome="sent") - sent_before == 13


async def test_a_notice_redis_fails_to_note_leaves_the_acknowledgement_held(
        test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """The once-an-hour notice is noted in Redis before it goes: Redis failing that, the answer stays held (logged
    `reply.flood_notice_failed`), never a notice each time."""
    import gateway.app

    def failing(*_: object) -> bool:
        raise RedisConnectionError("gone")

    monkeypatch.setattr(gateway.app, "flood_notice_due", failing)
    settings = test_env.settings(LAPOR_TWILIO_FLOOD_REPLIES_PER_HOUR="1")
    async with serving_gateway(settings, redis) as served:
        answers = []
        for n in range(4):
            sid = twilio_sid(f"notice-fails-{n}")
            form = served.twilio_form(Body=f"Tiket #{n}: pesan diterima", From="+6281377770008", MessageSid=sid,
                                      SmsMessageSid=sid, SmsSid=sid)
            answers.append(len(ElementTree.fromstring((await served.post_twilio(form)).text).findall("Message")))
    assert answers == [1, 1, 0, 0]
    events = [e["event"] for e in log_events(log_stream)]
    assert events.count("reply.flood_notice_failed") == 2 and events.count("reply.held") == 2


async def test_a_window_of_the_release_before_counts_nothing_of_this_ones(
        settings: Settings, redis: Redis) -> None:
    """The release before keeps a number's window for a minute under `lapor:flood:<source>:<digest>`, and trims it
    so at each count: the hour's window has a name of its own, which that trim never empties."""
    counter = FloodCounter(redis, settings)
    number = "+6281377700009"
    old = flood_key(settings, "sms-twilio", number).replace(":hour:", ":")
    redis.zadd(old, {f"old-{n}": time.time() - 1 for n in range(50)})
    assert await counter.allowed("sms-twilio", number, "SM-1", 1, 1)
    redis.zremrangebyscore(flood_key(settings, "sms-twilio", number), "-inf", "+inf")  # a release before's trim
    assert redis.zcard(old) == 50
    redis.zadd(flood_key(settings, "sms-twilio", number), {"SM-earlier": time.time() - 120})
    assert not await counter.allowed("sms-twilio", number, "SM-2", 10, 1)


async def test_new_reports_do_not_count_toward_the_minutes_limit_of_the_answers_after_them(
        settings: Settings, redis: Redis) -> None:
    """A citizen's burst of new reports (acknowledged past the minute's limit) filled that minute's count, and their
    CEK right after was held: the minute's limit counts repeats, additions, queries and notices alone."""
    number = "+6281377770034"
    async with serving_gateway(settings, redis) as gateway:
        for n in range(settings.twilio.flood_replies_per_minute + 2):
            sid = twilio_sid(f"burst-{n}")
            answer = await gateway.post_twilio(gateway.twilio_form(Body=f"LAPOR lampu jalan {n} mati di gang {n}",
                                                                   From=number, MessageSid=sid, SmsMessageSid=sid,
                                                                   SmsSid=sid))
            tracking_id = tracking_id_in(twiml_message(answer.text))
        sid = twilio_sid("burst-cek")
        answer = await gateway.post_twilio(gateway.twilio_form(Body=f"CEK {tracking_id}", From=number, MessageSid=sid,
                                                               SmsMessageSid=sid, SmsSid=sid))
    assert [message.text for message in ElementTree.fromstring(answer.text).findall("Message")] == [
        render("status", "id", tracking_id=tracking_id, status=status_name("received", "id"))]  # answered (not
    # forwarded: received, no case store asked)


async def test_a_mistyped_id_after_the_minutes_limit_of_queries_is_still_answered(
        settings: Settings, redis: Redis) -> None:
    """A citizen's few CEKs, then an addition with one digit of the ID mistyped: its answer ("not valid ... a new
    report? ...") was held by the minute's count, and the words typed after the ID, which are not filed, went nowhere
    without a word. Held by the hour's limit alone, as a new report's acknowledgement is."""
    number = "+6281377770035"
    mistyped = "10000005"  # 10000004 is the valid one
    async with serving_gateway(settings, redis) as gateway:
        for n in range(settings.twilio.flood_replies_per_minute + 2):
            sid = twilio_sid(f"cek-{n}")
            await gateway.post_twilio(gateway.twilio_form(Body="CEK 10000004", From=number, MessageSid=sid,
                                                          SmsMessageSid=sid, SmsSid=sid))
        held = await gateway.post_twilio(gateway.twilio_form(Body="CEK 10000004", From=number, MessageSid=(
            sid := twilio_sid("cek-held")), SmsMessageSid=sid, SmsSid=sid))
        sid = twilio_sid("mistyped")
        answer = await gateway.post_twilio(gateway.twilio_form(
            Body=f"{mistyped} petugas kelurahan minta uang 200 ribu untuk KTP", From=number, MessageSid=sid,
            SmsMessageSid=sid, SmsSid=sid))
    assert ElementTree.fromstring(held.text).findall("Message") == []  # a query past the minute's limit: held
    assert [message.text for message in ElementTree.fromstring(answer.text).findall("Message")] == [
        render("bad_tracking_id", "id", tracking_id=mistyped)]


def test_a_numbers_windows_count_the_last_minute_and_the_last_hour_with_their_edges_left_out(redis: Redis) -> None:
    key, now = "lapor:flood:hour:test:edges", 1_764_941_234.25
    redis.zadd(key, {"at-the-minutes-edge": now - 60, "in-the-minute": now - 59.999, "at-the-hours-edge": now - 3600,
                     "in-the-hour": now - 3599.999, "n:a-new-report-in-the-minute": now - 1})
    count = redis.register_script(_COUNT_IN_FLOOD_WINDOWS)
    # Past a limit of 1, the minute's count is looked at closer: no new report in it, and counted one past the limit.
    assert count(keys=[key], args=_flood_args(now, "this-one", 1)) == [2, 5]
    assert count(keys=[key], args=_flood_args(now, "this-one", 3)) == [3, 5]  # within it: no need to look closer
    assert count(keys=[key], args=_flood_args(now, "n:another-new-report", None)) == [0, 6]  # the hour's alone
    assert redis.zscore(key, "at-the-hours-edge") is None
    redis.zadd(key, {f"repeat-{n}": now - 1 for n in range(30)})
    assert count(keys=[key], args=_flood_args(now, "one-more", 10)) == [11, 37]  # counted as far as one past 10


def test_a_numbers_new_reports_are_counted_from_its_second_within_the_hour_to_the_process() -> None:
    clock = [0.0]
    senders = RecentSenders(clock=lambda: clock[0])
    assert not senders.seen_before("+6281377770040")
    clock[0] = 3599.0
    assert senders.seen_before("+6281377770040")
    clock[0] = 3599.0 + 3600
    assert not senders.seen_before("+6281377770040")  # an hour after the last: a first again
    senders.LIMIT = 3
    for n in range(4):
        senders.seen_before(f"+62813777700{50 + n}")
    assert not senders.seen_before("+6281377770040")  # the oldest forgotten past the limit
    assert senders.seen_before("+6281377770053")


async def test_the_hours_limit_holds_answers_the_minutes_would_give(settings: Settings, redis: Redis) -> None:
    """A loop slower than the minute's limit (one answer every 10 s was never held: 360 paid SMS an hour) is held by
    the hour's: the number's window keeps an hour of messages, and the minute's limit counts the last minute's."""
    counter = FloodCounter(redis, settings)
    number, now = "+6281377700003", time.time()
    key = flood_key(settings, "sms-twilio", number)
    redis.zadd(key, {f"earlier-{n}": now - 3000 + 90 * n for n in range(5)})  # five within the hour, none this minute
    assert await counter.allowed("sms-twilio", number, "SM-6", 10, 6)  # the sixth
    assert not await counter.allowed("sms-twilio", number, "SM-7", 10, 6)  # the seventh, the minute's second
    assert not await counter.allowed("sms-twilio", number, "SM-8", None, 6)
    redis.zadd(key, {"older-than-an-hour": now - 3700})
    assert await counter.allowed("sms-twilio", number, "SM-9", 10, 9)  # the hour's ninth: the old one is not counted
    assert redis.zscore(key, "older-than-an-hour") is None
    assert 3600 < redis.ttl(key) <= 3601

