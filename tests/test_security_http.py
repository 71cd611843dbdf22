"""No one gets in, and nothing hostile gets a crash: every webhook authenticated in constant time with nothing
queued for a request that fails it; oversized, malformed, wrongly encoded and control-character-laden input on every
endpoint and on SMTP answered with a typed rejection and a log line; a flood from one source slowed with 429 while
every accepted report is durable and other sources go on as before.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gzip
import hashlib
import hmac
import html
import http.client
import io
import itertools
import re
import signal
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from redis import Redis
from twilio.request_validator import RequestValidator

from channels.registry import WEBHOOK_ADAPTERS
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.queues import ALL_QUEUES, envelope_key, queue
from gateway.settings import CONFIG_DIR, Settings
from gateway.tracking import SEQUENCE_KEY
from normalizer.text import clean_text
from tests.aggregator_support import running_gateway
from tests.cli_process import run_cli
from tests.conftest import (
    AGGREGATOR_SECRET,
    REPO_ROOT,
    TWILIO_TOKEN,
    GatewayServer,
    ProcessHandle,
    async_wait_until,
    log_events,
    serve_beat,
    serving_gateway,
    wait_until,
)
from tests.conftest import TestEnvironment as Environment
from tests.email_support import RECIPIENT, SmtpServerThread
from tests.social_helpers import IG_SECRET, IG_TOKEN, IG_USER_ID, IG_VERIFY
from workers.reaper import note_worker_seen

TWILIO = "/v1/channels/sms/twilio"
AGGREGATOR = "/v1/channels/sms/aggregator"
DLR = "/v1/channels/sms/aggregator/dlr"
INSTAGRAM = "/v1/channels/instagram/webhook"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_BODY = 4096
NASTY = "\x00\x07\x1b[31m\u202eLAPOR\u202c jalan\u200b rusak\x7f\x85 di\ufeff Jl. Merdeka\r\n"


def hmac_header(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def instagram_env(**overrides: str) -> dict[str, str]:
    return {"LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_APP_SECRET": IG_SECRET,
            "LAPOR_INSTAGRAM_VERIFY_TOKEN": IG_VERIFY, "LAPOR_INSTAGRAM_ACCESS_TOKEN": IG_TOKEN,
            "LAPOR_INSTAGRAM_IG_USER_ID": IG_USER_ID,
            "LAPOR_INSTAGRAM_GRAPH_BASE_URL": "http://127.0.0.1:9/graph",
            "LAPOR_HTTP_MAX_BODY_BYTES": str(MAX_BODY), "LAPOR_HEALTH_EVALUATE_SECONDS": "3600", **overrides}


@pytest.fixture
def security_settings(test_env: Environment) -> Settings:
    return test_env.settings(**instagram_env())


@pytest.fixture
async def server(security_settings: Settings, redis: Redis) -> AsyncIterator[GatewayServer]:
    async with running_gateway(security_settings, redis) as running:
        yield running


def twilio_form(**overrides: str) -> dict[str, str]:
    form = {"MessageSid": "SM" + "7" * 32, "From": "+6281234567890", "To": "+621708", "Body": "Jalan rusak",
            "NumMedia": "0", "AccountSid": "AC" + "1" * 32}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def twilio_signature(body: bytes, public_url: str) -> str:
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return RequestValidator(TWILIO_TOKEN).compute_signature(public_url + TWILIO, params)


@dataclass(frozen=True)
class Signature:
    """How a provider signs the requests of one route: the header, and its valid value for a body (and the
    gateway's public URL, which Twilio's signature covers)."""

    header: str
    valid: Callable[[bytes, str], str]


# Every registered route (`REGISTERED_ROUTES`), by path: a new adapter's route needs its row here, or its calls
# below go unsigned (`test_every_registered_route_has_its_signature_here` names a route without one).
SIGNATURES = {
    TWILIO: Signature("X-Twilio-Signature", twilio_signature),
    AGGREGATOR: Signature("X-Lapor-Signature", lambda body, _: hmac_header(AGGREGATOR_SECRET, body)),
    DLR: Signature("X-Lapor-Signature", lambda body, _: hmac_header(AGGREGATOR_SECRET, body)),
    INSTAGRAM: Signature("X-Hub-Signature-256", lambda body, _: hmac_header(IG_SECRET, body)),
}


@dataclass(frozen=True)
class Call:
    """One request: path, body, content type, and how it is signed ("valid", None, or a header value)."""

    path: str
    body: bytes
    content_type: str = FORM
    sign: str | None = "valid"
    method: str = "POST"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def request_headers(self, public_url: str) -> dict[str, str]:
        headers = {"Content-Type": self.content_type, **self.headers}
        signature = SIGNATURES.get(self.path)
        if signature is None or self.sign is None:
            return headers
        headers[signature.header] = signature.valid(self.body, public_url) if self.sign == "valid" else self.sign
        return headers

    async def send(self, gateway: GatewayServer) -> httpx.Response:
        url = self.path + (f"?{self.query}" if self.query else "")
        return await gateway.client.request(self.method, url, content=self.body if self.method == "POST" else None,
                                            headers=self.request_headers(gateway.settings.public_url))


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def js(value: object) -> bytes:
    return orjson.dumps(value)


AGG = {"id": "agg-1", "from": "6281234567890", "to": "1708", "text": "Jalan rusak", "coding": "0"}


# -- every webhook authenticated, nothing queued otherwise --------------------------------------------------------
UNAUTHENTICATED = [
    pytest.param(Call(TWILIO, form(twilio_form()), sign=None), "signature_missing", id="twilio-unsigned"),
    pytest.param(Call(TWILIO, form(twilio_form()), sign="AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "signature_invalid",
                 id="twilio-wrong-signature"),
    pytest.param(Call(TWILIO, form(twilio_form()), sign=RequestValidator("other-token").compute_signature(
        "http://x/v1/channels/sms/twilio", twilio_form())), "signature_invalid", id="twilio-other-token"),
    pytest.param(Call(TWILIO, b"\xff\xfe\x00", sign="AAAA"), "signature_invalid", id="twilio-undecodable"),
    pytest.param(Call(AGGREGATOR, form(AGG), sign=None), "signature_missing", id="aggregator-unsigned"),
    pytest.param(Call(AGGREGATOR, form(AGG), sign="md5=abc"), "signature_malformed", id="aggregator-malformed"),
    pytest.param(Call(AGGREGATOR, form(AGG), sign=hmac_header("guessed-secret", form(AGG))), "signature_invalid",
                 id="aggregator-wrong-secret"),
    pytest.param(Call(AGGREGATOR, form(AGG), sign=hmac_header(AGGREGATOR_SECRET, form({**AGG, "text": "x"}))),
                 "signature_invalid", id="aggregator-signature-of-another-body"),
    pytest.param(Call(AGGREGATOR, js(AGG), JSON, sign=None), "signature_missing", id="aggregator-json-unsigned"),
    pytest.param(Call(DLR, form({"reply_id": "r1", "type": "1"}), sign=None), "signature_missing",
                 id="dlr-unsigned"),
    pytest.param(Call(INSTAGRAM, js({"object": "instagram", "entry": []}), JSON, sign=None), "signature_missing",
                 id="instagram-unsigned"),
    pytest.param(Call(INSTAGRAM, js({"object": "instagram", "entry": []}), JSON,
                      sign=hmac_header(AGGREGATOR_SECRET, js({"object": "instagram", "entry": []}))),
                 "signature_invalid", id="instagram-other-secret"),
    pytest.param(Call(INSTAGRAM, b"", method="GET", sign=None,
                      query="hub.mode=subscribe&hub.verify_token=guess&hub.challenge=42"),
                 "verify_token_invalid", id="instagram-verify-wrong-token"),
]


def redis_snapshot(redis: Redis) -> tuple[dict[str, int], set[bytes]]:
    """Queue lengths and every key but the health counters (which count refusals on purpose), RQ's own
    bookkeeping of worker processes (a worker left by another test may heartbeat meanwhile) and the Tracking-ID
    sequence (the gateway's spool replayer leases its reserve of IDs at its first round, whatever comes in)."""
    keys = {key for key in redis.scan_iter()
            if not key.startswith((b"lapor:health:", b"rq:scheduler", b"rq:worker", b"rq:workers"))
            and key != SEQUENCE_KEY.encode()}
    return {name: queue(name, redis).count for name in ALL_QUEUES}, keys


@pytest.mark.parametrize(("call", "reason"), UNAUTHENTICATED)
async def test_an_unauthenticated_request_is_403_and_reaches_no_queue(
        server: GatewayServer, redis: Redis, log_stream: io.StringIO, call: Call, reason: str) -> None:
    before = redis_snapshot(redis)
    response = await call.send(server)
    assert response.status_code == 403
    assert response.json()["error"] == reason
    assert redis_snapshot(redis) == before
    events = [e for e in log_events(log_stream) if e.get("reason") == reason]
    assert events and events[0]["event"] in ("message.rejected", "dlr.rejected", "webhook.verify_refused")


# Every route of channels.registry: a new adapter's is checked below without a row of its own.
REGISTERED_ROUTES = sorted({path for adapter in WEBHOOK_ADAPTERS.values()
                            for path in (adapter.path, getattr(adapter, "dlr_path", None)) if path})


def test_every_registered_route_has_its_signature_here() -> None:
    """A request of the rows here to a route without a row in `SIGNATURES` goes unsigned: a new adapter's valid calls
    would be refused for want of a header, and its wrong signatures never tried."""
    assert [path for path in REGISTERED_ROUTES if path not in SIGNATURES] == []


@pytest.mark.parametrize("path", REGISTERED_ROUTES)
@pytest.mark.parametrize(("body", "content_type"), [
    pytest.param(js({"id": "sec-9", "from": "081234567890", "text": "LAPOR jalan rusak"}), JSON, id="json"),
    pytest.param(form({"id": "sec-9", "from": "081234567890", "text": "LAPOR jalan rusak"}), FORM, id="form"),
])
async def test_every_registered_route_refuses_a_request_without_any_signature(
        server: GatewayServer, redis: Redis, path: str, body: bytes, content_type: str) -> None:
    """The rows above say which signature each provider's requests carry; this says that no registered adapter's
    `authenticate` forgot to ask for one: a body any parser would take, with no signature header at all, is 403 and
    reaches no queue."""
    before = redis_snapshot(redis)
    response = await server.client.post(path, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 403, response.text
    assert redis_snapshot(redis) == before


def _compare_calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


SECRETISH = re.compile(r"signature|secret|token|expected", re.IGNORECASE)


def _plain_secret_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something secret-looking with == / != (a timing leak)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in (None, "", "subscribe") for o in operands):
                continue
            names = [n.id if isinstance(n, ast.Name) else n.attr for o in operands for n in ast.walk(o)
                     if isinstance(n, (ast.Name, ast.Attribute))]
            if any(SECRETISH.search(name) for name in names):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("module", "comparison"),
    [
        pytest.param("channels/signatures.py", "compare_digest", id="hmac"),
        pytest.param("channels/base.py", "constant_time_equals", id="verify-token"),
        pytest.param("channels/twilio_sms.py", "compare_digest", id="twilio"),
        pytest.param("channels/sms_aggregator.py", "verify_hmac_sha256", id="aggregator"),
        pytest.param("channels/sms_aggregator.py", "constant_time_equals", id="aggregator-dlr-url-token"),
        pytest.param("channels/instagram.py", "verify_hmac_sha256", id="instagram-signature"),
        pytest.param("casestore/app.py", "compare_digest", id="casestore-bearer"),
    ],
)
def test_every_secret_is_compared_in_constant_time(module: str, comparison: str) -> None:
    tree = ast.parse((REPO_ROOT / module).read_text())
    assert comparison in _compare_calls(tree)
    assert _plain_secret_comparisons(tree) == [], f"{module} compares a secret with ==/!="


@pytest.mark.parametrize("module", sorted({adapter.__module__.replace(".", "/") + ".py"
                                           for adapter in WEBHOOK_ADAPTERS.values()}))
def test_no_registered_adapter_compares_a_secret_with_equals(module: str) -> None:
    """Every adapter in channels.registry, a new one too, without a line here."""
    assert _plain_secret_comparisons(ast.parse((REPO_ROOT / module).read_text())) == [], module


def test_the_shared_verifiers_use_hmac_compare_digest() -> None:
    """The HMAC helpers live in `channels.signatures` (the reply senders sign with them too, and the workers that
    load those never load `channels.base`), re-exported by `channels.base`."""
    functions = {node.name: node for module in ("channels/signatures.py", "channels/base.py")
                 for node in ast.walk(ast.parse((REPO_ROOT / module).read_text()))
                 if isinstance(node, ast.FunctionDef)}
    assert "compare_digest" in _compare_calls(functions["constant_time_equals"])
    assert "constant_time_equals" in _compare_calls(functions["verify_hmac_sha256"])
    assert "constant_time_equals" in _compare_calls(functions["subscription_handshake"])  # Meta's verify token


# -- hostile input: a typed rejection and a log line on every endpoint ----------------------------------------------
@dataclass(frozen=True)
class Hostile:
    call: Call
    status: int
    reason: str | None  # None: accepted (200), with its text cleaned


BIG = b"x" * (MAX_BODY + 1)
HOSTILE = [
    # body too large: 413 before anything else, on every webhook
    pytest.param(Hostile(Call(TWILIO, BIG), 413, "body_too_large"), id="twilio-too-large"),
    pytest.param(Hostile(Call(AGGREGATOR, BIG), 413, "body_too_large"), id="aggregator-too-large"),
    pytest.param(Hostile(Call(DLR, BIG), 413, "body_too_large"), id="dlr-too-large"),
    pytest.param(Hostile(Call(INSTAGRAM, BIG, JSON), 413, "body_too_large"), id="instagram-too-large"),
    # not UTF-8 (signed, so the parser sees it); Twilio signs decoded parameters, so it cannot be authenticated
    pytest.param(Hostile(Call(AGGREGATOR, b"id=1&from=62812&text=\xe9\xff"), 400, "bad_encoding"),
                 id="aggregator-not-utf8"),
    pytest.param(Hostile(Call(DLR, b"reply_id=\xff&type=1"), 400, "bad_encoding"), id="dlr-not-utf8"),
    pytest.param(Hostile(Call(INSTAGRAM, b'{"object": "\xff"}', JSON), 400, "bad_payload"),
                 id="instagram-not-utf8"),
    pytest.param(Hostile(Call(TWILIO, b"From=\xff", sign="AAAA"), 403, "signature_invalid"),
                 id="twilio-not-utf8-cannot-be-authenticated"),
    # malformed JSON / form
    pytest.param(Hostile(Call(AGGREGATOR, b'{"id": "1", ', JSON), 400, "bad_json"), id="aggregator-bad-json"),
    pytest.param(Hostile(Call(AGGREGATOR, b"[1, 2]", JSON), 400, "bad_json"), id="aggregator-json-array"),
    pytest.param(Hostile(Call(AGGREGATOR, b'{"id": "1", "from": "62812", "text": "\\ud800"}', JSON), 400,
                         "bad_json"), id="aggregator-lone-surrogate"),
    pytest.param(Hostile(Call(AGGREGATOR, b"%%%&&&==="), 400, "missing_field"), id="aggregator-garbage-form"),
    pytest.param(Hostile(Call(DLR, b"{nope", JSON), 400, "bad_json"), id="dlr-bad-json"),
    pytest.param(Hostile(Call(INSTAGRAM, b"{nope", JSON), 400, "bad_payload"), id="instagram-bad-json"),
    pytest.param(Hostile(Call(INSTAGRAM, b"[]", JSON), 400, "bad_payload"), id="instagram-json-array"),
    pytest.param(Hostile(Call(INSTAGRAM, js({"object": "instagram", "entry": "x"}), JSON), 400, "bad_payload"),
                 id="instagram-entry-not-a-list"),
    pytest.param(Hostile(Call(INSTAGRAM, js({"object": "instagram", "entry": [{"changes": [{"field": "mentions",
                                                                                         "value": [1]}]}]}), JSON),
                         400, "bad_payload"), id="instagram-mention-without-media"),
    # missing or malformed fields
    pytest.param(Hostile(Call(TWILIO, form(twilio_form(From=None))), 400, "missing_field"),
                 id="twilio-missing-from"),
    pytest.param(Hostile(Call(TWILIO, form(twilio_form(NumMedia="lots"))), 400, "bad_field"),
                 id="twilio-bad-num-media"),
    pytest.param(Hostile(Call(TWILIO, form(twilio_form(MessageSid="S" * 600))), 400, "bad_field"),
                 id="twilio-absurd-message-sid"),
    pytest.param(Hostile(Call(AGGREGATOR, form({"from": "62812", "text": "x"})), 400, "missing_field"),
                 id="aggregator-missing-id"),
    # Not hex and not text either (a control character): a UCS-2 payload sent as readable text is read as text.
    pytest.param(Hostile(Call(AGGREGATOR, form({**AGG, "coding": "2", "text": "zz\x0012"})), 400, "bad_hex"),
                 id="aggregator-ucs2-not-hex"),
    pytest.param(Hostile(Call(AGGREGATOR, form({**AGG, "coding": "7"})), 400, "bad_coding"),
                 id="aggregator-unknown-coding"),
    pytest.param(Hostile(Call(AGGREGATOR, form({**AGG, "ref": "1", "parts": "2", "part": "9"})), 400, "bad_concat"),
                 id="aggregator-part-outside-count"),
    pytest.param(Hostile(Call(AGGREGATOR, form({**AGG, "from": "not a number"})), 400, "bad_sender"),
                 id="aggregator-sender-not-a-number"),
    pytest.param(Hostile(Call(DLR, form({"type": "1"})), 400, "missing_field"), id="dlr-missing-reply-id"),
    pytest.param(Hostile(Call(DLR, form({"reply_id": "r1", "type": "1", "part": "0"})), 400, "bad_field"),
                 id="dlr-part-zero"),
    pytest.param(Hostile(Call(DLR, form({"reply_id": "r1", "type": "1", "part": "-2"})), 400, "bad_field"),
                 id="dlr-part-negative"),
    pytest.param(Hostile(Call(DLR, form({"reply_id": "r1", "type": "1", "part": "99999"})), 400, "bad_field"),
                 id="dlr-part-beyond-any-sms"),
    pytest.param(Hostile(Call(AGGREGATOR, form(AGG), FORM + "; charset=x-no-such-charset"), 400, "bad_encoding"),
                 id="aggregator-unknown-charset"),
    pytest.param(Hostile(Call(AGGREGATOR, form(AGG), FORM + "; charset=punycode"), 400, "bad_encoding"),
                 id="aggregator-charset-whose-codec-raises-unicodeerror"),
    pytest.param(Hostile(Call(AGGREGATOR, form({**AGG, "text": "Jalan rusak depan kafé"}), FORM + "; charset=idna"),
                         400, "bad_encoding"),
                 id="aggregator-charset-that-fails-on-percent-escapes"),
    pytest.param(Hostile(Call(AGGREGATOR, b'{"id": "1", "text": "kaf\xc3\xa9"}', "application/json; charset=idna"), 400,
                         "bad_encoding"),
                 id="aggregator-json-in-a-charset-that-cannot-decode-it"),
    # Codecs that decode to a lone surrogate, which no text holds: the report (or the concatenated SMS's part) could
    # not be stored, and the aggregator was answered 500 (internal_error) and sent it again and again
    pytest.param(Hostile(Call(AGGREGATOR, b"id=1&from=6281234567890&text=LAPOR+2AA-rusak", FORM + "; charset=utf-7"),
                         400, "bad_encoding"), id="aggregator-utf7-lone-surrogate"),
    pytest.param(Hostile(Call(AGGREGATOR, b"id=1&from=6281234567890&udh=050003110201&text=LAPOR%2B2AA-",
                              FORM + "; charset=utf-7"), 400, "bad_encoding"),
                 id="aggregator-utf7-lone-surrogate-in-a-part-escaped"),
    pytest.param(Hostile(Call(AGGREGATOR, b"id=1&from=6281234567890&text=LAPOR\\ud800",
                              FORM + "; charset=unicode_escape"), 400, "bad_encoding"),
                 id="aggregator-escaped-lone-surrogate"),
    pytest.param(Hostile(Call(DLR, form({"reply_id": "../../etc", "type": "1"})), 400, "bad_field"),
                 id="dlr-reply-id-path"),
    # a body its Content-Encoding cannot decode: aiohttp's payload error was answered 500 (internal_error) with a
    # traceback, and counted against the channel as a refused report
    pytest.param(Hostile(Call(AGGREGATOR, b"not gzip at all", headers={"Content-Encoding": "gzip"}), 400, "bad_body"),
                 id="aggregator-gzip-undecodable"),
    pytest.param(Hostile(Call(TWILIO, b"\x1f\x8b\x08\x00garbage", sign="AAAA", headers={"Content-Encoding": "gzip"}),
                         400, "bad_body"), id="twilio-gzip-undecodable"),
    pytest.param(Hostile(Call(INSTAGRAM, b"\x78\x9cgarbage", JSON, headers={"Content-Encoding": "deflate"}), 400,
                         "bad_body"), id="instagram-deflate-undecodable"),
    # raw deflate (no zlib header) that decodes to something, but whose stream never ends: aiohttp's own 400
    pytest.param(Hostile(Call(DLR, b"reply_id=r1&type=1", headers={"Content-Encoding": "deflate"}), 400, "bad_body"),
                 id="dlr-deflate-unterminated"),
    pytest.param(Hostile(Call(AGGREGATOR, gzip.compress(form(AGG))[:-12], headers={"Content-Encoding": "gzip"}), 400,
                         "bad_body"), id="aggregator-gzip-truncated"),
    pytest.param(Hostile(Call(AGGREGATOR, form(AGG), headers={"Content-Encoding": "br"}), 400, "bad_body"),
                 id="aggregator-encoding-not-taken"),
    pytest.param(Hostile(Call(AGGREGATOR, gzip.compress(b"x" * (MAX_BODY + 1)), headers={"Content-Encoding": "gzip"}),
                         413, "body_too_large"), id="aggregator-gzip-too-large-once-decoded"),
    # one that decodes is taken, its signature checked over the decoded body (as aiohttp's decoding had it)
    pytest.param(Hostile(Call(AGGREGATOR, gzip.compress(form({**AGG, "text": NASTY})),
                              sign=hmac_header(AGGREGATOR_SECRET, form({**AGG, "text": NASTY})),
                              headers={"Content-Encoding": "gzip"}), 200, None), id="aggregator-gzip-accepted"),
    # two gzip members (RFC 1952), as a writer that flushes between parts sends: the body is both; the first alone
    # cut the report's text short without a word
    pytest.param(Hostile(Call(AGGREGATOR, gzip.compress(form({**AGG, "text": NASTY})[:60])
                              + gzip.compress(form({**AGG, "text": NASTY})[60:]),
                              sign=hmac_header(AGGREGATOR_SECRET, form({**AGG, "text": NASTY})),
                              headers={"Content-Encoding": "gzip"}), 200, None), id="aggregator-gzip-two-members"),
    pytest.param(Hostile(Call(AGGREGATOR, zlib.compress(form(AGG)) + b"trailing",
                              headers={"Content-Encoding": "deflate"}), 400, "bad_body"),
                 id="aggregator-deflate-data-after-its-end"),
    pytest.param(Hostile(Call(AGGREGATOR, zlib.compress(form({**AGG, "text": NASTY})),
                              sign=hmac_header(AGGREGATOR_SECRET, form({**AGG, "text": NASTY})),
                              headers={"Content-Encoding": "deflate"}), 200, None), id="aggregator-deflate-accepted"),
    # control-character-laden: a sender is refused, a text is cleaned and accepted
    pytest.param(Hostile(Call(TWILIO, form(twilio_form(From="+62812\x003456\x1b7890"))), 400, "bad_sender"),
                 id="twilio-control-chars-in-sender"),
    pytest.param(Hostile(Call(TWILIO, form(twilio_form(Body=NASTY))), 200, None), id="twilio-control-chars-in-text"),
    pytest.param(Hostile(Call(AGGREGATOR, form({**AGG, "text": NASTY})), 200, None),
                 id="aggregator-control-chars-in-text"),
    pytest.param(Hostile(Call(AGGREGATOR, js({**AGG, "text": NASTY}), JSON), 200, None),
                 id="aggregator-json-control-chars-in-text"),
    # the operator views take any query
    pytest.param(Hostile(Call("/status", b"", method="GET", query="refresh=%C2%B2", sign=None), 200, None),
                 id="status-superscript-refresh"),
    pytest.param(Hostile(Call("/status", b"", method="GET", query="refresh=" + "9" * 5000, sign=None), 200, None),
                 id="status-huge-refresh"),
]


@pytest.mark.parametrize("row", HOSTILE)
async def test_hostile_input_gets_a_typed_rejection_and_a_log_line(
        server: GatewayServer, redis: Redis, log_stream: io.StringIO, row: Hostile) -> None:
    response = await row.call.send(server)
    assert response.status_code == row.status, response.text[:300]
    assert "Traceback" not in response.text and "Internal Server Error" not in response.text
    if row.reason is None:
        for key in redis.scan_iter("lapor:envelope:*"):
            envelope = orjson.loads(redis.get(key))
            assert envelope["text"] == clean_text(envelope["text"]) and "\x00" not in envelope["text"]
            assert "\u202e" not in envelope["text"] and "jalan rusak" in envelope["text"].lower()
        return
    assert response.json()["error"] == row.reason
    lines = [e for e in log_events(log_stream) if e.get("reason") == row.reason]
    assert lines, "no log line for the rejection"
    assert lines[0]["event"] in ("message.rejected", "dlr.rejected") and lines[0]["status"] == row.status
    assert not any("exception" in e or e.get("level") == "error" for e in log_events(log_stream))


@pytest.mark.parametrize(("path", "header", "value"), [
    pytest.param(AGGREGATOR, "X-Lapor-Signature", b"sha256=ab\xff\xfe", id="aggregator"),
    pytest.param(DLR, "X-Lapor-Signature", b"sha256=\xff", id="dlr"),
    pytest.param(INSTAGRAM, "X-Hub-Signature-256", b"sha256=\xc3", id="instagram"),
    pytest.param(TWILIO, "X-Twilio-Signature", b"\xff\xfe", id="twilio"),
])
async def test_a_signature_header_that_is_no_utf8_is_refused_403(
        server: GatewayServer, redis: Redis, log_stream: io.StringIO, path: str, header: str, value: bytes) -> None:
    """aiohttp hands a header's bytes that are no UTF-8 over as lone surrogates, and the signature comparison encoded
    them strictly: an unsigned request was a 500 `internal_error` with an error line and its traceback, counted
    against the channel as a refused report (its health degraded by anyone who could reach the port). A 403."""
    before = redis_snapshot(redis)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.http.port)
    body = form(AGG)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nContent-Length: {len(body)}\r\n"
                 f"Connection: close\r\n{header}: ".encode() + value + b"\r\n\r\n" + body)
    await writer.drain()
    try:
        status, answer = await asyncio.wait_for(_answer(reader), 5)
    finally:
        writer.close()
    assert (status, answer["error"]) == (403, "signature_invalid")
    [line] = [e for e in log_events(log_stream) if e.get("reason") == "signature_invalid"]
    assert line["event"] in ("message.rejected", "dlr.rejected") and line["level"] == "warning"
    assert not [e for e in log_events(log_stream) if e.get("level") in ("error", "critical") or "exception" in e]
    assert redis_snapshot(redis) == before


@pytest.mark.parametrize("content_type", [JSON, FORM])
async def test_an_unknown_charset_is_refused_without_repeating_its_name(
        server: GatewayServer, log_stream: io.StringIO, content_type: str) -> None:
    """A JSON callback's unknown charset was named in the answer and the log line whole: anything a client wrote
    there, words and of any length (the form body's refusal never named it)."""
    body = js(AGG) if content_type == JSON else form(AGG)
    charset = "Budiono Santoso " + "z" * 3000
    response = await server.client.post(AGGREGATOR, content=body, headers={
        "Content-Type": f'{content_type}; charset="{charset}"', "X-Lapor-Signature": hmac_header(AGGREGATOR_SECRET,
                                                                                                 body)})
    assert (response.status_code, response.json()["error"]) == (400, "bad_encoding")
    [line] = [e for e in log_events(log_stream) if e.get("reason") == "bad_encoding"]
    assert line["event"] == "message.rejected"
    assert "Budiono" not in response.text and "zzz" not in response.text
    assert "Budiono" not in log_stream.getvalue() and "zzz" not in log_stream.getvalue()


@pytest.mark.parametrize("path", [TWILIO, AGGREGATOR, DLR, INSTAGRAM])
async def test_a_caller_that_hangs_up_mid_body_is_a_warning_not_an_error_traceback(
        server: GatewayServer, redis: Redis, log_stream: io.StringIO, path: str) -> None:
    """A provider's connection dropped mid-request (a mobile link, its own timeout) is routine: one typed warning
    line, nothing stored, and no error-level traceback for an operator's alerting to wake someone over."""
    before = redis_snapshot(redis)
    _, writer = await asyncio.open_connection("127.0.0.1", server.settings.http.port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nContent-Length: 900\r\n"
                 f"X-Lapor-Signature: sha256=00\r\n\r\nid=1&from=62".encode())
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    await async_wait_until(lambda: any(e.get("reason") == "client_disconnected" for e in log_events(log_stream)), 5)
    await asyncio.sleep(0.2)
    assert not [e for e in log_events(log_stream) if e.get("level") in ("error", "critical") or "exception" in e]
    assert redis_snapshot(redis) == before


MISCOUNTED_TEXT = "Jalan rusak depan rumah Pak Budiono Santoso"


@pytest.mark.parametrize("request_bytes", [
    # a body longer than its Content-Length (a length counted in characters, not bytes): the rest, the citizen's
    # text, is read as the next request's line and quoted in aiohttp's error
    pytest.param(lambda body: (f"POST {AGGREGATOR} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
                               f"Content-Length: 20\r\n\r\n").encode() + body, id="body-past-its-content-length"),
    pytest.param(lambda body: f"GET /v1/status?{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), id="url-too-long"),
    pytest.param(lambda body: (f"POST {AGGREGATOR} HTTP/1.1\r\nHost: x\r\nX-Lapor-Signature: {'0' * 9000}\r\n"
                               "Content-Length: 0\r\n\r\n").encode(), id="header-too-long"),
    pytest.param(lambda body: (f"POST {AGGREGATOR} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "zz\r\n").encode(), id="chunk-size-not-hex"),
    pytest.param(lambda body: (f"POST {AGGREGATOR} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999"
                               "\r\n\r\n").encode(), id="content-length-overflow"),
])
async def test_a_request_http_cannot_parse_is_a_warning_without_its_bytes(
        server: GatewayServer, redis: Redis, log_stream: io.StringIO,
        request_bytes: Callable[[bytes], bytes]) -> None:
    """A request aiohttp's parser refuses (400 before any handler) was logged by aiohttp at error level with a
    traceback whose message quoted the bytes it choked on: a body past its Content-Length put the citizen's text in
    the log. One warning line `http.bad_request` naming the parser's error, none of the request's bytes."""
    before = redis_snapshot(redis)
    body = form({**AGG, "text": MISCOUNTED_TEXT})
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.http.port)
    # on a connection kept alive from an earlier request, as a provider keeps it (aiohttp logs a first request's
    # unknown method at debug level)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    await reader.readexactly(int(re.search(rb"(?i)content-length: *(\d+)", head).group(1)))  # type: ignore[union-attr]
    writer.write(request_bytes(body))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert b" 400 " in answer
    await async_wait_until(lambda: any(e["event"] == "http.bad_request" for e in log_events(log_stream)), 5)
    [line] = [e for e in log_events(log_stream) if e["event"] == "http.bad_request"]
    assert line["level"] == "warning" and line["status"] == 400 and line["error"]
    logged = log_stream.getvalue()
    assert not [e for e in log_events(log_stream) if e.get("level") in ("error", "critical") or "exception" in e]
    assert "Budiono" not in logged and "Santoso" not in logged and "0" * 100 not in logged and "a" * 100 not in logged
    assert redis_snapshot(redis) == before


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, object]]:
    """The status and JSON body of the one HTTP/1.1 answer on a raw connection (read until the server closes it,
    or until its Content-Length is in)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    return status, orjson.loads(await reader.readexactly(length))


async def _send_slowly(writer: asyncio.StreamWriter, path: str, *, trickle: bool) -> asyncio.Task[None] | None:
    """A request whose body is announced as 900 bytes: a few of them, then nothing (stalled) or one more every 50 ms
    (trickling: it would take 45 s)."""
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nContent-Length: 900\r\n"
                 f"X-Lapor-Signature: sha256=00\r\n\r\nid=1&from=62".encode())
    await writer.drain()
    if not trickle:
        return None

    async def drip() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(900):
                await asyncio.sleep(0.05)
                writer.write(b"1")
                await writer.drain()

    return asyncio.create_task(drip())


@pytest.mark.parametrize(("path", "trickle"), [
    pytest.param(TWILIO, False, id="twilio-stalled"), pytest.param(AGGREGATOR, False, id="aggregator-stalled"),
    pytest.param(DLR, False, id="dlr-stalled"), pytest.param(INSTAGRAM, False, id="instagram-stalled"),
    pytest.param(AGGREGATOR, True, id="aggregator-trickling"),
])
async def test_a_body_that_stalls_or_trickles_is_answered_408_once_the_body_timeout_has_passed(
        test_env: Environment, redis: Redis, log_stream: io.StringIO, path: str, trickle: bool) -> None:
    """A client that sends its headers and then its body slowly or not at all held a connection and a handler for as
    long as it liked (a few hundred such, and the gateway ran out of file descriptors). Past
    `http.body_timeout_seconds` from the headers, trickling or not, it is answered 408 `body_timeout`, logged."""
    settings = test_env.settings(**instagram_env(LAPOR_HTTP_BODY_TIMEOUT_SECONDS="0.5"))
    before = redis_snapshot(redis)
    async with running_gateway(settings, redis) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.http.port)
        dripping = await _send_slowly(writer, path, trickle=trickle)
        try:
            status, body = await asyncio.wait_for(_answer(reader), 20)
        finally:
            if dripping is not None:
                dripping.cancel()
            writer.close()
    assert (status, body["error"]) == (408, "body_timeout")
    [line] = [e for e in log_events(log_stream) if e.get("reason") == "body_timeout"]
    assert line["event"] in ("message.rejected", "dlr.rejected") and line["level"] == "warning"
    assert redis_snapshot(redis) == before


@pytest.mark.parametrize(("path", "length", "expect"), [
    pytest.param(AGGREGATOR, 10**12, False, id="aggregator-huge-length"),
    pytest.param(TWILIO, MAX_BODY + 1, False, id="twilio-one-past-the-limit"),
    pytest.param(INSTAGRAM, 10**9, True, id="instagram-expecting-100-continue"),
    pytest.param(DLR, MAX_BODY + 1, True, id="dlr-expecting-100-continue"),
])
async def test_a_content_length_past_the_limit_is_answered_413_as_its_headers_come(
        test_env: Environment, redis: Redis, log_stream: io.StringIO, path: str, length: int, expect: bool) -> None:
    """A request announcing more than `http.max_body_bytes` waited for that body: a client that sent less (a huge or
    a false length) held a handler until the body timeout and got a 408 `body_timeout`, and one that asked
    `Expect: 100-continue` was told to send it. It is answered 413 `body_too_large` at once, no 100 Continue first.
    The body is never read, so the connection closes after that answer and says so (`Connection: close`): a
    keep-alive client sent its next request on it, read as the rest of that body and never answered."""
    settings = test_env.settings(**instagram_env(LAPOR_HTTP_BODY_TIMEOUT_SECONDS="30"))
    before = redis_snapshot(redis)
    # aiohttp's lingering read of the unread body after the 413 (10 s by default) cut to 1 s: the connection is still
    # closed only once it ends, a second after the answer instead of ten.
    async with serving_gateway(settings, redis, lingering_time=1.0) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.http.port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nContent-Length: {length}\r\n"
                     f"{'Expect: 100-continue' + chr(13) + chr(10) if expect else ''}\r\nid=1&from=62".encode())
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)  # the body timeout is 30 s
            assert head.startswith(b"HTTP/1.1 413 "), head
            length_field = re.search(rb"(?i)content-length: *(\d+)", head)
            assert length_field is not None
            body = orjson.loads(await reader.readexactly(int(length_field.group(1))))
            assert re.search(rb"(?i)\r\nconnection: *close\r\n", head), head
            if expect:  # a client that sent no body: its next request, were the connection kept, became the body
                with contextlib.suppress(ConnectionError):
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    await writer.drain()
                # Closed, not kept for more requests: once aiohttp's lingering read (up to 10 s as served, 1 s here,
                # so a client still sending does not lose the 413 to a reset) ends.
                assert await asyncio.wait_for(reader.read(), 15) == b""
        finally:
            writer.close()
    assert body["error"] == "body_too_large"
    [line] = [e for e in log_events(log_stream) if e.get("reason") == "body_too_large"]
    assert line["event"] in ("message.rejected", "dlr.rejected") and line["level"] == "warning"
    assert redis_snapshot(redis) == before


def test_a_stop_answers_a_request_whose_body_is_still_arriving_at_once(
        test_env: Environment, start_process: Callable[..., ProcessHandle]) -> None:
    """SIGTERM while a client's body is still to come (a body timeout of 30 s here): the stop waited for that
    handler through the shutdown grace (10 s) and then cut it off without an answer. It is answered 503
    `shutting_down` as the stop begins, counted as no refused report, and the process ends."""
    gateway = start_process("serve", LAPOR_HTTP_BODY_TIMEOUT_SECONDS="30")
    url = test_env.values["LAPOR_PUBLIC_URL"]

    def received() -> float | None:
        """The aggregator requests the gateway's handler has begun (None: not listening yet)."""
        try:
            text = httpx.get(f"{url}/metrics", timeout=5).text
        except httpx.TransportError:
            return None
        found = re.search(r'^lapor_messages_received_total\{channel="sms-aggregator"\} (\S+)$', text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    wait_until(lambda: received() is not None, timeout=30)
    with socket.create_connection(("127.0.0.1", int(test_env.values["LAPOR_HTTP_PORT"])), timeout=30) as sock:
        sock.sendall(f"POST {AGGREGATOR} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nContent-Length: 900\r\n"
                     "X-Lapor-Signature: sha256=00\r\n\r\nid=1&from=62".encode())
        wait_until(lambda: received() == 1)  # its handler waits for the rest of the body
        gateway.process.send_signal(signal.SIGTERM)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b'"shutting_down"' in answer
    assert gateway.process.wait(30) == 0
    events = [orjson.loads(line) for line in gateway.output().splitlines() if line.startswith("{")]
    [line] = [e for e in events if e.get("reason") == "shutting_down"]
    assert line["event"] == "message.rejected" and line["level"] == "warning" and line["status"] == 503


def serving_process(test_env: Environment,
                    start_process: Callable[..., ProcessHandle]) -> tuple[ProcessHandle, str, int]:
    """`lapor-gateway serve` started and answering, with its public URL and port."""
    gateway = start_process("serve")
    url, port = test_env.values["LAPOR_PUBLIC_URL"], int(test_env.values["LAPOR_HTTP_PORT"])

    def answering() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answering, timeout=30)
    return gateway, url, port


def test_a_stop_answers_every_webhook_its_open_connections_had_sent(
        test_env: Environment, start_process: Callable[..., ProcessHandle]) -> None:
    """A gateway stopped under load closed every connection it found idle at once, one whose request the loop had not
    read yet among them: those webhooks went unanswered (the client read a closed connection; Twilio retries none),
    on a routine restart. Here 12 keep-alive connections, each used once, send a signed webhook each while the
    process is paused, and it is told to stop before it runs again: it stops listening, answers every one of them
    (closing each connection), and ends."""
    gateway, url, port = serving_process(test_env, start_process)
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(12)]
    try:
        for connection in connections:  # accepted, answered once, and idle: a client's keep-alive connections
            connection.request("GET", "/healthz")
            connection.getresponse().read()
        gateway.process.send_signal(signal.SIGSTOP)
        try:
            for index, connection in enumerate(connections):
                params = twilio_form(MessageSid=f"SM{index:032x}", Body=f"jalan rusak di gang {index}")
                body = urlencode(params).encode()
                signature = RequestValidator(TWILIO_TOKEN).compute_signature(url + TWILIO, params)
                assert connection.sock is not None
                connection.sock.sendall(f"POST {TWILIO} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
                                        f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n"
                                        .encode() + body)
            gateway.process.send_signal(signal.SIGTERM)
        finally:
            gateway.process.send_signal(signal.SIGCONT)
        answers = []
        for connection in connections:
            answer = b""
            assert connection.sock is not None
            while chunk := connection.sock.recv(65536):
                answer += chunk
            answers.append(answer)
    finally:
        for connection in connections:
            connection.close()
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * 12, answers
    assert all(b"Connection: close" in answer and b"<Message>" in answer for answer in answers), answers
    assert gateway.process.wait(30) == 0


def whole_answer(connection: socket.socket) -> bytes:
    """One HTTP answer read whole (its head, then its Content-Length), or what came before the connection closed."""
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + int(
            (re.search(rb"Content-Length: (\d+)", answer) or re.search(rb"()", b"0")).group(1) or 0):
        if not (chunk := connection.recv(65536)):
            break
        answer += chunk
    return answer


def test_a_stop_under_load_leaves_no_webhook_sent_on_an_open_connection_unanswered(
        test_env: Environment, start_process: Callable[..., ProcessHandle]) -> None:
    """The walk-through's restart under load: 16 clients sending signed webhooks back to back on keep-alive
    connections, the gateway told to stop. Its stop closed connections between a client's answer and its next
    webhook, sent on the connection the answer left open: the client read a closed connection, its webhook
    unanswered (28 of 40 there). Every webhook sent on a connection the gateway had taken is answered now; a client
    that comes after finds the port closed."""
    gateway, url, port = serving_process(test_env, start_process)
    tally: Counter[str] = Counter()
    lock = threading.Lock()

    def client(number: int) -> None:
        connection, used = None, False
        for index in itertools.count():
            params = twilio_form(MessageSid=f"SM{number:08x}{index:024x}", Body=f"jalan rusak di gang {index}")
            body = urlencode(params).encode()
            signature = RequestValidator(TWILIO_TOKEN).compute_signature(url + TWILIO, params)
            try:
                if connection is None:
                    connection, used = socket.create_connection(("127.0.0.1", port), timeout=30), False
                connection.sendall(f"POST {TWILIO} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
                                   f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n"
                                   .encode() + body)
                answer = whole_answer(connection)
            except ConnectionRefusedError:
                outcome = "refused"
            except OSError:  # reset: by a port closed before it took the connection, or on one it had answered on
                outcome = "reset on an answered connection" if used else "refused"
            else:
                outcome = "answered" if answer.startswith(b"HTTP/1.1 200") else \
                    "unanswered on an answered connection" if used else "refused"
            with lock:
                tally[outcome] += 1
            if outcome != "answered":
                break
            used = True
            assert connection is not None
            if b"Connection: close" in answer:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    wait_until(lambda: tally["answered"] >= 200, timeout=60)
    gateway.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(60)
    assert gateway.process.wait(30) == 0
    assert set(tally) <= {"answered", "refused"} and tally["refused"] == 16, tally


# -- hostile input on SMTP --------------------------------------------------------------------------------------
@pytest.fixture
def smtp(test_env: Environment, redis: Redis) -> Iterator[SmtpServerThread]:
    from tests.conftest import free_port

    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_MAX_MESSAGE_BYTES="4096")
    server = SmtpServerThread(settings, redis).start()
    yield server
    server.stop()


MAIL = b"From: Warga <warga@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Jalan\r\n\r\nJalan rusak.\r\n"


def _session(smtp: SmtpServerThread, commands: list[bytes]) -> list[int]:
    """Raw SMTP commands over the socket (smtplib would refuse to send some of them); the reply codes."""
    codes = []
    with socket.create_connection(("127.0.0.1", smtp.port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def reply() -> int:
            while True:
                line = reader.readline()
                if line[3:4] != b"-":
                    return int(line[:3])

        reply()
        for command in commands:
            sock.sendall(command)
            codes.append(reply())
    return codes


SMTP_ROWS = [
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@b.c> SIZE=999999\r\n"], 552, id="declared-size-too-large"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<" + RECIPIENT.encode() + b">\r\n",
                  b"DATA\r\n", MAIL + (b"x" * 70 + b"\r\n") * 100 + b".\r\n"], 552, id="data-too-large"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<someone@elsewhere.example>\r\n"], 550,
                 id="relay"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a\x00@b.c>\r\n"], 553, id="control-char-in-address"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<pengaduan@lapor.go.id\x1b>\r\n"], 553,
                 id="control-char-in-recipient"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<\xe9\xff@b.c>\r\n"], 553, id="8bit-address-without-smtputf8"),
    pytest.param([b"EHLO x\r\n", b"X" * 2000 + b"\r\n"], 500, id="line-too-long"),
    # the stdlib's address parser raised IndexError on these; aiosmtpd answered 500 with the exception's text
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:a@\r\n"], 553, id="bare-address-without-domain"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b'RCPT TO:"a"@\r\n'], 553,
                 id="bare-recipient-without-domain"),
    # and AttributeError on an unclosed domain literal: answered 451 on every attempt, the sender retrying for days
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@[1>\r\n"], 553, id="sender-of-an-unclosed-domain-literal"),
    pytest.param([b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<pengaduan@[1>\r\n"], 553,
                 id="recipient-of-an-unclosed-domain-literal"),
    # a command echoed back holding a byte that is no UTF-8 could not be encoded: 451 and a traceback, each time
    pytest.param([b"EHLO x\r\n", b'VRFY @x.y;\x80"\r\n'], 500, id="vrfy-of-an-undecodable-byte"),
]


@pytest.mark.parametrize(("commands", "code"), SMTP_ROWS)
def test_hostile_smtp_gets_a_coded_refusal_and_a_log_line(
        smtp: SmtpServerThread, log_stream: io.StringIO, commands: list[bytes], code: int) -> None:
    codes = _session(smtp, commands)
    assert codes[-1] == code, codes
    assert not [e for e in log_events(log_stream) if e["level"] in ("error", "critical") or "exception" in e]
    refusals = [e for e in log_events(log_stream) if e.get("event") in ("smtp.refused", "email.relay_denied")]
    assert any(str(code) == str(e.get("code", 550 if e["event"] == "email.relay_denied" else "")) for e in refusals)


# -- a flood from one source is slowed, nothing accepted is lost ----------------------------------------------------
@pytest.fixture
def flood_settings(test_env: Environment) -> Settings:
    return test_env.settings(LAPOR_RATELIMIT_RATE_PER_SECOND="5", LAPOR_RATELIMIT_BURST="10")


async def _post_aggregator(client: httpx.AsyncClient, number: int, *, forwarded_for: str | None = None
                           ) -> httpx.Response:
    body = form({**AGG, "id": f"flood-{number}", "text": f"Jalan rusak nomor {number}"})
    headers = {"Content-Type": FORM, "X-Lapor-Signature": hmac_header(AGGREGATOR_SECRET, body)}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return await client.post(AGGREGATOR, content=body, headers=headers)


async def test_a_flood_from_one_source_is_slowed_without_losing_an_accepted_report(
        flood_settings: Settings, redis: Redis, log_stream: io.StringIO) -> None:
    async with running_gateway(flood_settings, redis) as gateway:
        responses = await asyncio.gather(*(_post_aggregator(gateway.client, n) for n in range(60)))
        accepted = [r for r in responses if r.status_code == 200]
        throttled = [r for r in responses if r.status_code == 429]
        assert len(accepted) + len(throttled) == 60
        assert 10 <= len(accepted) < 30 and throttled
        assert all(int(r.headers["Retry-After"]) >= 1 and r.json()["error"] == "rate_limited" for r in throttled)
        # Every acknowledged report is durable; no refused one was read, let alone queued.
        tracking_ids = [m["tracking_id"] for r in accepted for m in r.json()["messages"]]
        assert len(tracking_ids) == len(accepted)
        assert all(redis.exists(envelope_key(tid)) for tid in tracking_ids)
        assert sum(1 for _ in redis.scan_iter("lapor:envelope:*")) == len(accepted)
        # Another source is not affected by the flood.
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(base_url=flood_settings.public_url, transport=other, timeout=10) as neighbour:
            assert (await _post_aggregator(neighbour, 1000)).status_code == 200
        # The flooded source, slowed down to the rate, gets through again: a retried message is accepted.
        await asyncio.sleep(int(throttled[0].headers["Retry-After"]))
        assert (await _post_aggregator(gateway.client, 59)).status_code == 200
    # A line when the source starts being throttled, not one per refused request. On a loaded machine the burst
    # spreads out and the bucket refills in between, so the source may start being throttled twice.
    throttle_lines = [e for e in log_events(log_stream) if e.get("event") == "ratelimit.throttled"]
    assert 1 <= len(throttle_lines) <= 3 < len(throttled), (len(throttle_lines), len(throttled))
    assert {line["reason"] for line in throttle_lines} == {"rate_limited"}


async def test_a_flood_from_the_addresses_of_one_ipv6_network_is_one_source(test_env: Environment, redis: Redis
                                                                             ) -> None:
    """An IPv6 client is given a whole /64 and may send from any address in it: each address had a bucket of its own,
    so a flood that changed address at every request was never slowed. IPv4 clients seen as IPv4-mapped IPv6
    addresses (a dual-stack socket) stay one source each."""
    settings = test_env.settings(LAPOR_RATELIMIT_RATE_PER_SECOND="5", LAPOR_RATELIMIT_BURST="10",
                                 LAPOR_RATELIMIT_SOURCE_HEADER="X-Forwarded-For")
    async with running_gateway(settings, redis) as gateway:
        flood = await asyncio.gather(*(_post_aggregator(gateway.client, n, forwarded_for=f"2001:db8:1:2::{n:x}")
                                       for n in range(30)))
        neighbour = await _post_aggregator(gateway.client, 100, forwarded_for="2001:db8:1:3::1")
        mapped = await asyncio.gather(*(_post_aggregator(gateway.client, 200 + n,
                                                         forwarded_for=f"::ffff:198.51.100.{n}") for n in range(15)))
    assert sum(r.status_code == 429 for r in flood) >= 10
    assert neighbour.status_code == 200 and {r.status_code for r in mapped} == {200}


async def test_a_throttled_source_that_is_no_address_is_not_written_into_the_log(test_env: Environment, redis: Redis,
                                                                                 log_stream: io.StringIO) -> None:
    """Behind a proxy the source is read from `ratelimit.source_header`, and its throttled line named whatever that
    header held: a proxy passing a client's own X-Forwarded-For on unchecked put the client's words in the log. An
    IPv6 address with a zone is no address either: the zone (after `%`) took any words, kilobytes of them."""
    settings = test_env.settings(LAPOR_RATELIMIT_RATE_PER_SECOND="0.1", LAPOR_RATELIMIT_BURST="2",
                                 LAPOR_RATELIMIT_SOURCE_HEADER="X-Forwarded-For")
    sources = ("Budiono Santoso " + "z" * 2000, "fe80::1%Siti Aminah Jl. Melati 12 RT 3 " + "y" * 2000, "203.0.113.9")
    async with running_gateway(settings, redis) as gateway:
        answers = [await _post_aggregator(gateway.client, n, forwarded_for=source) for source in sources
                   for n in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 429, 429] * 3
    lines = [e for e in log_events(log_stream) if e.get("event") == "ratelimit.throttled"]
    assert [line["source"] for line in lines] == ["not_an_address", "not_an_address", "203.0.113.9"]
    for words in ("Budiono", "zzz", "Siti", "Melati", "yyy"):
        assert words not in log_stream.getvalue()


async def test_our_own_limit_refusing_a_channels_webhooks_shows_on_the_status_views(
        test_env: Environment, redis: Redis) -> None:
    """A flood of Twilio's webhooks from one source, refused 429 by our own limit: /metrics and a sampled log line
    alone said so, and every status view read ok while those SMS (Twilio never sends a refused one again) got no
    Tracking ID. The channel is degraded with the count, since when and the settings to raise; another channel stays
    ok; a minute after the last refusal it is ok again by itself."""
    settings = test_env.settings(LAPOR_RATELIMIT_RATE_PER_SECOND="0.1", LAPOR_RATELIMIT_BURST="2")
    async with running_gateway(settings, redis) as gateway:
        before = time.time()
        answers = [await gateway.post_twilio(gateway.twilio_form(MessageSid=f"SM{n:032d}", SmsSid=f"SM{n:032d}"))
                   for n in range(7)]
        after = time.time()
        assert [r.status_code for r in answers] == [200, 200, 429, 429, 429, 429, 429]
        document = (await gateway.client.get("/v1/status")).json()
        page = html.unescape((await gateway.client.get("/status")).text)
        as_json = orjson.loads((await asyncio.to_thread(run_cli, ["status", "--json"], test_env.process_env())).stdout)

    for seen in (document, as_json):
        channels = {c["channel"]: c for c in seen["channels"]}
        twilio = channels["sms-twilio"]
        assert twilio["state"] == "degraded" and [f["rule"] for f in twilio["findings"]] == ["throttled"], twilio
        counted = re.fullmatch(r"webhook requests refused by the gateway's own rate limit \(5 since (\S+ \S+), the "
                               r"last (\S+ \S+)\): Twilio does not send a refused message webhook again: if any were "
                               r"Twilio's, those SMS got no Tracking ID", twilio["reason"])
        assert counted, twilio["reason"]
        times = [datetime.strptime(at, "%Y-%m-%d %H:%M:%SZ").replace(tzinfo=UTC).timestamp()
                 for at in counted.groups()]
        assert int(before) <= times[0] <= times[1] <= after, (before, counted.groups(), after)
        assert "LAPOR_RATELIMIT_RATE_PER_SECOND" in twilio["actions"][0]
        assert channels["sms-aggregator"]["state"] == "ok", channels["sms-aggregator"]
    # The page, its times said in the operators' zone too: `... 12:18:54Z (19:18 WIB)`.
    assert "webhook requests refused by the gateway's own rate limit (5 since " in page
    assert f"what to do: {twilio['actions'][0]}" in page

    # A minute on, the gateway and the workers alive then (their beats), no refusal since: ok, by itself.
    later = after + 61
    serve_beat(redis, clock=lambda: later).beat()
    note_worker_seen(redis, ALL_QUEUES, at=later)
    document = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: later).status()
    assert {c["channel"]: c["reason"] for c in document["channels"]}["sms-twilio"] == ""


def _throttled_paths() -> set[str]:
    from prometheus_client import REGISTRY

    return {sample.labels["path"] for metric in REGISTRY.collect() if metric.name == "lapor_ratelimited"
            for sample in metric.samples if sample.name == "lapor_ratelimited_total"}


async def test_a_flood_of_made_up_paths_adds_no_time_series(flood_settings: Settings, redis: Redis) -> None:
    """A throttled request was counted under the path it was sent to: a flood to made-up paths under the prefix
    (`/v1/channels/<anything>`) added a time series to `lapor_ratelimited_total` per path, for as long as the process
    ran, growing its memory and every `/metrics` answer without bound. It is counted under its route's path."""
    before = _throttled_paths()
    async with running_gateway(flood_settings, redis) as gateway:
        made_up = await asyncio.gather(*(gateway.client.post(f"/v1/channels/made-up-{n}", content=b"x")
                                         for n in range(40)))
        await asyncio.sleep(2 / 5)  # two tokens back, at 5 a second
        # Thirty: on a slow machine nine took long enough for the bucket to refill under them, none throttled.
        on_routes = await asyncio.gather(*(_post_aggregator(gateway.client, n) for n in range(1, 31)))
    assert sum(r.status_code == 429 for r in made_up) >= 20 and any(r.status_code == 429 for r in on_routes)
    assert _throttled_paths() - before <= {AGGREGATOR, "unmatched"}


async def test_the_default_limit_never_throttles_a_provider_at_a_normal_rate(
        server: GatewayServer) -> None:
    responses = await asyncio.gather(*(_post_aggregator(server.client, n) for n in range(100)))
    assert {r.status_code for r in responses} == {200}


def test_rate_limit_buckets_refill_at_the_rate() -> None:
    from gateway.ratelimit import TokenBuckets

    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a")[0] for _ in range(4)] == [True, True, True, False]
    assert buckets.take("b")[0]
    now[0] += 0.5
    assert buckets.take("a")[0] and not buckets.take("a")[0]

