"""No citizen's number, address or words in any log line of any process, tracebacks and libraries included."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import smtplib
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import quote_from_bytes, urlencode

import httpx
import orjson
import pytest
import structlog
from aiohttp import web
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from redis import Redis

from channels.email.server import start_smtp_server
from channels.social import SOCIAL_REPLY_FUNC
from gateway import logs
from gateway.intake import Intake
from gateway.logs import configure_logging, get_logger, scrub, sensitive_values, withhold_quoted
from gateway.outbound import OutboundReplies
from gateway.queues import FORWARD_FUNC, FORWARD_QUEUE, REPLY_QUEUE
from gateway.same_text import SameTextWindow
from gateway.settings import Settings
from gateway.tracking import format_tracking_id
from tests.aggregator_support import AGGREGATOR_PATH, aggregator_api, drain, running_gateway, sign
from tests.conftest import (
    CaseStoreServer,
    GatewayServer,
    LoopbackServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    free_port,
    log_events,
    serving_gateway,
    wait_ready,
)
from tests.email_support import SmtpServerThread
from tests.test_anonymous_traces import redis_values
from tests.test_forwarding import cli
from tests.test_twilio_intake import tracking_id_in, twiml_message
from workers import reaper
from workers.deadletters import DeadLetters

NUMBER_FORMS = ("6281234567890", "081234567890", "0812-3456-7890", "812 3456 7890", "81234567890")
ADDRESS = "budi.santoso@example.co.id"
WORDS = "Pungli di kantor kelurahan Sukamaju"


def _raise_with_a_local() -> None:
    citizen_text = WORDS  # a local variable: must never reach a traceback
    raise RuntimeError(f"could not store report ({len(citizen_text)} characters)")


def structlog_fields() -> None:
    get_logger().info("case.fields", detail="call +62 812-3456-7890 or 0812.3456.7890", reason=f"bounce {ADDRESS}",
                      extra={"senders": ["+6281234567890", ADDRESS]}, value=6281234567890)


def structlog_sensitive_keys() -> None:
    get_logger().info("case.keys", text=WORDS, sender="+6281234567890", subject=WORDS, Body=WORDS, From=ADDRESS)


def structlog_event_text() -> None:
    get_logger().warning(f"case.event from {ADDRESS} and 081234567890")


def stdlib_aiohttp_with_args() -> None:
    logging.getLogger("aiohttp.server").error("case.aiohttp: error handling request from %s (%s)",
                                              "+6281234567890", ADDRESS)


def stdlib_rq_exception() -> None:
    try:
        raise ValueError(f"case.rq cannot deliver to {ADDRESS} / 0812-3456-7890")
    except ValueError:
        logging.getLogger("rq.worker").exception("case.rq: job failed")


def relay_refusal_in_a_job_traceback() -> None:
    """A relay's answer quotes the recipient as written: a quoted local part or an address literal is an address too
    (RQ logs a failed job's traceback, its causes' messages included, after the job has ended)."""
    try:
        try:
            raise smtplib.SMTPDataError(450, b'4.2.0 <"siti aminah"@desa-makmur.id>: Greylisted; '
                                             b"<siti.aminah@[203.0.113.5]>: Greylisted")
        except smtplib.SMTPDataError as error:
            raise RuntimeError("relay answered 450") from error
    except RuntimeError:
        logging.getLogger("rq.worker").exception("case.relay: job failed")


def structlog_traceback_without_locals() -> None:
    try:
        _raise_with_a_local()
    except RuntimeError:
        get_logger().exception("case.traceback")


def exception_quoting_the_message() -> None:
    with sensitive_values(WORDS, "+6281234567890"):
        try:
            raise KeyError(f"unknown keyword in {WORDS!r}")
        except KeyError:
            logging.getLogger("aiohttp.web").exception("case.quoted")


def uncaught_in_a_thread() -> None:
    """A new thread knows no message's words (contextvars do not cross threads), but numbers and addresses go."""

    def run() -> None:
        raise ValueError(f"case.thread reply to +62 812 3456 7890 and {ADDRESS}")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def structlog_unusual_shapes() -> None:
    """Values that are not strings: bytes from a provider, an exception object, a set, a float, a number key."""
    get_logger().info("case.shapes", raw_bytes=b"dari +6281234567890", error=ValueError(f"bad reply-to {ADDRESS}"),
                      errors=[KeyError("0812-3456-7890")], numbers={"081234567890"}, tried=frozenset({ADDRESS}),
                      value=6281234567890.0, by_number={6281234567890: 1, "0812 3456 7890": 2})
    # Floats that are no number at all must not break the line (or the log call).
    get_logger().info("case.shapes.floats", wait=float("inf"), ratio=float("nan"), seconds=1733050000.25)


def structlog_wide_separators() -> None:
    """A number typed with spaced dashes or slashes, as people write it in a message; two numbers side by side."""
    get_logger().info("case.separators", note="hubungi 0812 - 3456 - 7890 atau +62 812 / 3456 / 7890",
                      detail="destination 6281298765002 (0812 9876 5002) is barred")


def structlog_times_beside_numbers() -> None:
    """Times as the status views write them are no numbers; a number written next to one still goes."""
    get_logger().warning("case.times", reason="rate limited for 5 min (until 2026-12-02 01:06:30Z)",
                         detail="2026-12-02 0812-3456-7890 at 2026-12-02 01:06 from 081234567890",
                         typed_like_a_time="6281-23-45 67:89")


LONG_WORDS = ("Kepala desa Sukamulya meminta uang Rp 500 ribu untuk surat keterangan tidak mampu, katanya biaya "
              "administrasi resmi padahal tidak ada aturannya; saya punya rekaman percakapan dan bukti transfernya")
QUOTED_WORDS = 'Pak RT bilang "bayar dulu" baru diurus, Jum\'at kemarin\tdi balai désa'


def downstream_quoting_the_message() -> None:
    """A case store or provider answer quoting the report, as the worker logs it: cut to 200 characters, in JSON
    (quotes, tabs and accents escaped, ASCII only or not), or a dict of it made text (Python's repr)."""
    with sensitive_values(LONG_WORDS, QUOTED_WORDS):
        echoed = orjson.dumps({"tracking_id": "10000004", "text": LONG_WORDS}).decode()
        get_logger().warning("case.downstream", detail=echoed[:200], reason=orjson.dumps(QUOTED_WORDS).decode(),
                             answer=json.dumps({"text": QUOTED_WORDS}), error=str({"text": QUOTED_WORDS}))



def library_shortening_what_it_quotes() -> None:
    """pydantic quotes a long input by its two ends (`'Kepala desa Sukamulya me...ti transfernya'`), as other
    libraries cut what they quote: the tail went out as it was."""
    from pydantic import BaseModel, ValidationError

    class Amount(BaseModel):
        rupiah: int

    with sensitive_values(LONG_WORDS):
        try:
            Amount.model_validate({"rupiah": LONG_WORDS})
        except ValidationError as error:
            assert "..." in str(error)  # quoted by its ends, not whole
            get_logger().warning("case.shortened", error=str(error))
            get_logger().warning("case.shortened_tail", detail="..." + LONG_WORDS[-30:])

@dataclass(frozen=True)
class LogCase:
    id: str
    emit: Callable[[], None]
    marker: str
    secrets: tuple[str, ...]


CASES = [
    LogCase("structlog values, nested and integers", structlog_fields, "case.fields",
            (*NUMBER_FORMS, ADDRESS, "0812.3456.7890")),
    LogCase("structlog sensitive keys", structlog_sensitive_keys, "case.keys", (WORDS, ADDRESS, "6281234567890")),
    LogCase("an event string with an address", structlog_event_text, "case.event", (ADDRESS, "081234567890")),
    LogCase("aiohttp through the standard library", stdlib_aiohttp_with_args, "case.aiohttp",
            ("6281234567890", ADDRESS)),
    LogCase("rq exception whose message holds a number", stdlib_rq_exception, "case.rq",
            (ADDRESS, "0812-3456-7890", "budi")),
    LogCase("relay refusal quoting unusual address forms", relay_refusal_in_a_job_traceback, "case.relay",
            ("siti aminah", "siti.aminah", "203.0.113.5")),
    LogCase("traceback carries no local variables", structlog_traceback_without_locals, "case.traceback",
            (WORDS, "Sukamaju")),
    LogCase("exception quoting the message text", exception_quoting_the_message, "case.quoted", (WORDS,)),
    LogCase("bytes, exceptions, sets, floats and number keys", structlog_unusual_shapes, "case.shapes",
            (*NUMBER_FORMS, ADDRESS, "0812 3456 7890")),
    LogCase("numbers with spaced separators", structlog_wide_separators, "case.separators",
            ("0812 - 3456 - 7890", "3456 - 7890", "812 / 3456 / 7890", "6281298765002", "9876 5002")),
    LogCase("numbers beside times", structlog_times_beside_numbers, "case.times",
            ("0812-3456-7890", "081234567890")),
    LogCase("uncaught exception in a thread", uncaught_in_a_thread, "process.uncaught_exception",
            ("812 3456 7890", ADDRESS)),
    LogCase("a downstream's answer quoting the message, cut or escaped", downstream_quoting_the_message,
            "case.downstream", ("Sukamulya", "surat keterangan", "bayar dulu", "diurus", "balai")),
    LogCase("a library's error quoting the message by its two ends", library_shortening_what_it_quotes,
            "case.shortened", ("Sukamulya", "rekaman", "transfernya")),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_redaction(case: LogCase, log_stream: io.StringIO) -> None:
    case.emit()
    output = log_stream.getvalue()
    events = log_events(log_stream)
    assert len(events) == len(output.splitlines()), output  # every line is JSON, none raw
    assert any(case.marker in str(event["event"]) for event in events), output
    for secret in case.secrets:
        assert secret not in output, f"{secret!r} leaked: {output}"


def test_a_traceback_is_still_useful(log_stream: io.StringIO) -> None:
    structlog_traceback_without_locals()
    event = next(e for e in log_events(log_stream) if e["event"] == "case.traceback")
    exception = event["exception"][0]  # type: ignore[index]
    assert exception["exc_type"] == "RuntimeError"
    assert "could not store report (35 characters)" in exception["exc_value"]
    assert any(frame["name"] == "_raise_with_a_local" for frame in exception["frames"])
    assert all("locals" not in frame or not frame["locals"] for frame in exception["frames"])


# Instagram and X ids (users, posts, comments): 17 to 19 digits, longer than any phone number (E.164: 15 digits).
IG_COMMENT_ID, IG_MEDIA_ID, TWEET_ID = "17858893269000001", "17895695668004550", "1860000000000000001"


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param(f"Object with ID '{IG_COMMENT_ID}' does not exist", "Object with ID '[id]' does not exist",
                 id="an instagram comment id"),
    pytest.param(f"reply to tweet {TWEET_ID} refused", "reply to tweet [id] refused", id="a tweet id"),
    pytest.param("to 6281234567890 or +62 812-3456-7890", "to [phone] or [phone]", id="phone numbers"),
    pytest.param("dial 00628123456789012", "dial [phone]", id="a number with the international prefix 00"),
    pytest.param(f"+{IG_COMMENT_ID}", "[phone]", id="a + says it is a number to call"),
    pytest.param(f"0812 3456 7890 {IG_MEDIA_ID}", "[phone]", id="a number beside an id: one run, as a number"),
    pytest.param("kirim ke " + "6281234567890" * 4 + " ya", "kirim ke [id] ya",
                 id="four numbers typed together: past the separated part's bound, still redacted"),
    pytest.param("0812 3456 7890 " * 4 + "x", "[phone] x", id="four numbers with separators: one run"),
])
def test_an_id_is_redacted_as_an_id_and_a_phone_number_as_a_phone_number(
        text: str, shown: str, log_stream: io.StringIO) -> None:
    get_logger().info("case.ids", detail=text, ig_user=int(IG_MEDIA_ID), msisdn_as_int=6281234567890)
    [line] = [e for e in log_events(log_stream) if e["event"] == "case.ids"]
    assert (line["detail"], line["ig_user"], line["msisdn_as_int"]) == (shown, "[id]", "[phone]")


# A Tracking ID of 10 digits (a cell whose IDs start at 100,000,000): scrubbed as free text, it reads as a number.
LONG_ID = format_tracking_id(123_456_789)


@pytest.mark.parametrize(("fields", "shown"), [
    pytest.param({"follow_up_of": LONG_ID}, {"follow_up_of": LONG_ID}, id="a follow-up's report, kept"),
    pytest.param({"follow_up_of": format_tracking_id(1_000_000)}, {"follow_up_of": format_tracking_id(1_000_000)},
                 id="an 8-digit ID, kept as before"),
    pytest.param({"extra": {"follow_up_of": LONG_ID}}, {"extra": {"follow_up_of": LONG_ID}}, id="nested, kept"),
    pytest.param({"follow_up_of": None}, {"follow_up_of": None}, id="none"),
    # Under the key, only a Tracking ID as the gateway writes it is kept: a number in another shape still goes.
    pytest.param({"follow_up_of": "081234567890"}, {"follow_up_of": "[phone]"}, id="a phone number under the key"),
    pytest.param({"follow_up_of": "+6281234567890"}, {"follow_up_of": "[phone]"}, id="with a plus"),
    pytest.param({"follow_up_of": "812-3456-7890"}, {"follow_up_of": "[phone]"}, id="with separators"),
    pytest.param({"follow_up_of": LONG_ID[:-1] + str((int(LONG_ID[-1]) + 1) % 10)}, {"follow_up_of": "[phone]"},
                 id="a check digit that fails"),
    pytest.param({"follow_up_of": f"{LONG_ID} 081234567890"}, {"follow_up_of": "[phone]"}, id="an ID and more"),
    # Everywhere else the ID is free text, where no pattern can tell it from a phone number; numbers still go.
    pytest.param({"follow_up_of": LONG_ID, "detail": f"report {LONG_ID} from 081234567890"},
                 {"follow_up_of": LONG_ID, "detail": "report [phone] from [phone]"}, id="the same ID in free text"),
    pytest.param({"follow_up_of": LONG_ID, "reply": f"Tambahan untuk {LONG_ID} diterima, hubungi 0812-3456-7890"},
                 {"follow_up_of": LONG_ID, "reply": "Tambahan untuk [phone] diterima, hubungi [phone]"},
                 id="in a reply's text"),
    pytest.param({"follow_up_of": LONG_ID, "text": f"{LONG_ID} tambahan"},
                 {"follow_up_of": LONG_ID, "text": "[redacted]"}, id="the message text, dropped"),
])
def test_a_follow_ups_tracking_id_is_kept_by_its_key_and_numbers_go_elsewhere(
        fields: dict[str, object], shown: dict[str, object], log_stream: io.StringIO) -> None:
    """`message.accepted` names the report a follow-up adds to (`follow_up_of`). An ID of 9 digits or more read as a
    phone number, `[phone]`, and the operator could not trace the follow-up to its report."""
    get_logger().info("case.follow_up", **fields)
    [line] = [e for e in log_events(log_stream) if e["event"] == "case.follow_up"]
    assert {key: line[key] for key in shown} == shown


async def test_a_follow_up_by_sms_names_its_report_in_the_log_and_no_number(
        test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    """A real Twilio follow-up to a report of a cell whose Tracking IDs have 10 digits: the accepted line names the
    report; the sender's number and the one typed in the message are in no line."""
    async with serving_gateway(test_env.settings(LAPOR_INTAKE_ID_START="100000000"), redis) as gateway:
        first = gateway.twilio_form(Body="LAPOR jalan berlubang di depan SDN 3 Bandung", From="+6281299990001",
                                    MessageSid="SM" + "a" * 32, SmsMessageSid="SM" + "a" * 32, SmsSid="SM" + "a" * 32)
        parent = tracking_id_in(twiml_message((await gateway.post_twilio(first)).text))
        assert len(parent) == 10, parent
        body = f"{parent} tambahan: hubungi saya di 0812-9999-0001"
        second = gateway.twilio_form(Body=body, From="+6281299990001", MessageSid="SM" + "b" * 32,
                                     SmsMessageSid="SM" + "b" * 32, SmsSid="SM" + "b" * 32)
        response = await gateway.post_twilio(second)
        assert response.status_code == 200, response.text
    accepted = [e for e in log_events(log_stream) if e["event"] == "message.accepted"]
    assert [e.get("follow_up_of") for e in accepted] == [None, parent]
    output = log_stream.getvalue()
    for secret in ("6281299990001", "0812-9999-0001", "081299990001", "tambahan: hubungi"):
        assert secret not in output, f"{secret!r} leaked: {output}"


@pytest.mark.parametrize(("body", "event", "shown"), [
    pytest.param("help", "message.query", {"action": "help"}, id="a Twilio HELP: the query's action"),
    pytest.param("message", "message.accepted", {"channel": "sms-twilio"}, id="a report reading 'message'"),
    pytest.param("sms-twilio", "message.accepted", {"channel": "sms-twilio"}, id="a report naming the channel"),
])
async def test_a_message_that_reads_like_a_name_of_ours_leaves_our_names_whole(
        body: str, event: str, shown: dict[str, str], test_env: TestEnvironment, redis: Redis,
        log_stream: io.StringIO) -> None:
    """The citizen's words are removed from a line wherever they appear, but the gateway's own names (events, a
    query's action, the channel) are not their words: a text of just "help" showed `action: [redacted]`, one of
    "message" turned every event of its handling into `[redacted].accepted`."""
    async with serving_gateway(test_env.settings(), redis) as gateway:
        response = await gateway.post_twilio(gateway.twilio_form(Body=body))
        assert response.status_code == 200, response.text
    lines = [e for e in log_events(log_stream) if e["event"] == event]
    assert lines, log_stream.getvalue()
    assert {key: lines[0][key] for key in shown} == shown
    assert not any(str(e["event"]).startswith(logs.REDACTED) for e in log_events(log_stream))


def test_a_librarys_line_quoting_the_citizens_words_loses_them_even_in_its_event(log_stream: io.StringIO) -> None:
    """Only the gateway's own lines keep their names whole: a library's message may quote anything."""
    with sensitive_values("pungli"):
        logging.getLogger("somelibrary").warning("pungli")
        get_logger().info("case.own", action="pungli.x")
    events = log_events(log_stream)
    assert [e["event"] for e in events] == [logs.REDACTED, "case.own"]
    assert events[1]["action"] == "pungli.x"


# An address the gateway listens on or a peer it saw: 9 digits or more, which free text cannot tell from a number.
LISTEN_ADDRESS, PEER_ADDRESS = "10.255.255.1", "203.0.113.254"


@pytest.mark.parametrize(("fields", "shown"), [
    # Kept by the key, on the gateway's own lines: each of these read as `[phone]`.
    pytest.param({"host": LISTEN_ADDRESS}, {"host": LISTEN_ADDRESS}, id="a listening address"),
    pytest.param({"host": "192.168.100.200"}, {"host": "192.168.100.200"}, id="a private address"),
    pytest.param({"source": PEER_ADDRESS}, {"source": PEER_ADDRESS}, id="a peer's address"),
    pytest.param({"source": "::ffff:10.255.255.1"}, {"source": "::ffff:10.255.255.1"}, id="ipv4-mapped ipv6"),
    pytest.param({"host": LISTEN_ADDRESS, "port": 8080}, {"host": LISTEN_ADDRESS, "port": 8080}, id="with its port"),
    # Under the key, only one address: a number written with dots is no address, nor is anything more.
    pytest.param({"host": "0812.3456.7890"}, {"host": "[phone]"}, id="a number with dots"),
    pytest.param({"host": "081.234.56.78"}, {"host": "[phone]"}, id="a number in four dotted parts"),
    pytest.param({"source": "+62.812.3456.789"}, {"source": "[phone]"}, id="an international number with dots"),
    pytest.param({"source": "62.812.345.678"}, {"source": "[phone]"}, id="one in four parts, one over 255"),
    pytest.param({"host": 6281234567890}, {"host": "[phone]"}, id="a number as an integer"),
    pytest.param({"host": f"{LISTEN_ADDRESS}:8080"}, {"host": "[phone]:8080"}, id="an address and a port as text"),
    pytest.param({"host": f"{LISTEN_ADDRESS} 0812-3456-7890"}, {"host": "[phone]"}, id="an address and more"),
    pytest.param({"source": "fe80::1%zona 0812-3456-7890"}, {"source": "fe80::1%zona [phone]"},
                 id="an ipv6 zone, which may be any text"),
    # Anywhere else the address is text like any other: scrubbed, or dropped with a message's words.
    pytest.param({"detail": f"listening on {LISTEN_ADDRESS}"}, {"detail": "listening on [phone]"}, id="free text"),
    pytest.param({"text": LISTEN_ADDRESS}, {"text": "[redacted]"}, id="a message's text"),
    pytest.param({"address": LISTEN_ADDRESS}, {"address": "[redacted]"}, id="a citizen's address key"),
    pytest.param({"extra": {"host": LISTEN_ADDRESS}}, {"extra": {"host": "[phone]"}}, id="nested"),
    pytest.param({"logger": "aiohttp.server", "host": LISTEN_ADDRESS}, {"host": "[phone]"}, id="a library's line"),
])
def test_a_network_address_is_kept_by_its_key_and_numbers_go_everywhere(
        fields: dict[str, object], shown: dict[str, object], log_stream: io.StringIO) -> None:
    """`gateway.listening` on 10.255.255.1 said `host: [phone]`: an operator could not tell where the gateway
    listened, nor which peer `ratelimit.throttled` slowed. An IP address is kept by its key (`host`, `source`); no
    number written with dots is one, and the same address anywhere else is scrubbed as before."""
    get_logger().info("case.address", **fields)
    [line] = [e for e in log_events(log_stream) if e["event"] == "case.address"]
    assert {key: line[key] for key in shown} == shown


async def test_the_smtp_server_names_the_address_it_listens_on(
        settings: Settings, redis: Redis, log_stream: io.StringIO) -> None:
    """127.100.200.1 is loopback (all of 127.0.0.0/8 is), and 10 digits: its `smtp.listening` line said `[phone]`."""
    intake = Intake(redis, settings)
    try:
        server = await start_smtp_server(settings, redis, intake, host="127.100.200.1", port=free_port())
        server.close()
        await server.wait_closed()
    finally:
        intake.close()
    [line] = [e for e in log_events(log_stream) if e["event"] == "smtp.listening"]
    assert line["host"] == "127.100.200.1"


async def test_a_throttled_peer_is_named_and_a_number_in_its_place_is_not(
        test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    """Behind a trusted proxy the source is the address it wrote (X-Forwarded-For): `ratelimit.throttled` names it,
    and a header holding a number written with dots instead still shows none (no address: `not_an_address`)."""
    settings = test_env.settings(LAPOR_RATELIMIT_RATE_PER_SECOND="0.01", LAPOR_RATELIMIT_BURST="1",
                                 LAPOR_RATELIMIT_SOURCE_HEADER="X-Forwarded-For")
    async with running_gateway(settings, redis) as gateway:
        for source in (PEER_ADDRESS, "0812.3456.7890"):
            statuses = [(await gateway.client.post("/v1/channels/sms/aggregator", content=b"x",
                                                   headers={"X-Forwarded-For": source})).status_code
                        for _ in range(2)]
            assert statuses[1] == 429, statuses
    throttled = [e["source"] for e in log_events(log_stream) if e["event"] == "ratelimit.throttled"]
    assert throttled == [PEER_ADDRESS, "not_an_address"]
    assert "0812.3456.7890" not in log_stream.getvalue()


# The deployment's own endpoints as its settings give them, each host with 9 digits or more: scrubbed as a number,
# an operator read "case store at http://[phone]:8080 refused" and could not tell which endpoint of theirs failed. The
# case store's and Redis's URLs carry a user and a password, which no line shows.
OWN_CASESTORE, OWN_REDIS = "192.168.100.200", "10.255.255.1"
OWN_X, OWN_GRAPH = "ip-172-31-45-101.ap-southeast-3.compute.internal", "graph-2024120101.internal"
OWN_RELAY, OWN_SEND = "relay-3456789012.internal", "172.16.254.254"
OWN_ENDPOINTS = {
    "LAPOR_CASESTORE_URL": f"http://lapor:s3cret-case@{OWN_CASESTORE}:8080",
    "REDIS_URL": f"redis://gateway:s3cret-redis@{OWN_REDIS}:6379/10",
    "LAPOR_X_BASE_URL": f"https://{OWN_X}/x",
    "LAPOR_INSTAGRAM_GRAPH_BASE_URL": f"https://{OWN_GRAPH}/v21.0",
    "LAPOR_EMAIL_RELAY_HOST": OWN_RELAY,
    "LAPOR_AGGREGATOR_SEND_URL": f"http://{OWN_SEND}:13013/cgi-bin/sendsms?username=lapor&password=s3cret-send",
}


@pytest.fixture
def own_endpoints(test_env: TestEnvironment) -> Settings:
    return test_env.settings(**OWN_ENDPOINTS)


@pytest.fixture
def own_log_stream(own_endpoints: Settings) -> Iterator[io.StringIO]:
    """`log_stream`, logging set up as every process sets it up: with its settings' own endpoints."""
    stream = io.StringIO()
    configure_logging("debug", stream=stream, own_hosts=own_endpoints.own_hosts)
    yield stream
    configure_logging("info")


@pytest.mark.parametrize(("text", "shown"), [
    # Each host kept as written, in a reason or a detail as the gateway writes them about its own endpoints.
    pytest.param(f"case store at http://{OWN_CASESTORE}:8080 refused", None, id="the case store in a reason"),
    pytest.param(f"Error 111 connecting to {OWN_REDIS}:6379. Connection refused.", None, id="redis in a detail"),
    pytest.param(f"timeout talking to {OWN_X}:443", None, id="the x base url's host"),
    pytest.param(f"403 from https://{OWN_GRAPH}/17841400000000000/tags", f"403 from https://{OWN_GRAPH}/[id]/tags",
                 id="the graph api's host, an id beside it"),
    pytest.param(f"relay {OWN_RELAY}:587 said 421", None, id="the relay host"),
    pytest.param(f"invalid destination in http://{OWN_SEND}:13013/cgi-bin/sendsms?to=%2B6281234567890",
                 f"invalid destination in http://{OWN_SEND}:13013/cgi-bin/sendsms?to=%2B[phone]", id="the send url"),
    pytest.param(f"timeout talking to {OWN_X.upper()}", None, id="whatever its case"),
    pytest.param(f"http://{OWN_CASESTORE}:8080/v1/reports/10000004 (ConnectError), retried", None,
                 id="with a path and a tracking id"),
    # Nothing else: another address, one that only begins or ends like ours, a number run into ours, a phone number.
    pytest.param(f"case store at {OWN_CASESTORE}, not at 192.168.100.201", f"case store at {OWN_CASESTORE}, not "
                 "at [phone]", id="another address in the same text"),
    pytest.param(f"{OWN_REDIS}, not 10.255.255.10, 110.255.255.1 nor 10.255.255.1.5",
                 f"{OWN_REDIS}, not [phone], [phone] nor [phone]", id="longer addresses that hold ours"),
    pytest.param(f"{OWN_CASESTORE}: reply to 0812 {OWN_CASESTORE}", f"{OWN_CASESTORE}: reply to [phone]",
                 id="a number run into ours before it"),
    pytest.param(f"{OWN_REDIS}: {OWN_REDIS} 0812-3456", f"{OWN_REDIS}: [phone]", id="a number run into ours after it"),
    pytest.param(f"at {OWN_CASESTORE} from 0812.3456.7890", f"at {OWN_CASESTORE} from [phone]",
                 id="a phone number with dots"),
    pytest.param(f"{OWN_REDIS} said 081.234.56.78", f"{OWN_REDIS} said [phone]", id="a number in four dotted parts"),
    pytest.param(f"{OWN_X}, not x{OWN_X} nor {OWN_X}.example", f"{OWN_X}, not xip-[phone].ap-southeast-3.compute"
                 ".internal nor ip-[phone].ap-southeast-3.compute.internal.example", id="longer names that hold ours"),
    pytest.param(f"ip-172-31-45-102.ap-southeast-3.compute.internal beside {OWN_X}",
                 f"ip-[phone].ap-southeast-3.compute.internal beside {OWN_X}", id="a name like ours"),
    pytest.param(f"{OWN_CASESTORE} bounced budi@{OWN_CASESTORE}", f"{OWN_CASESTORE} bounced [email]",
                 id="an address at our host"),
])
def test_the_deployments_own_endpoints_stay_readable_in_free_text_and_nothing_else(
        text: str, shown: str | None, own_log_stream: io.StringIO) -> None:
    """In a reason and a detail as every view shows them (`scrub`), and in a log line, its free text as any key's."""
    shown = text if shown is None else shown
    assert scrub(text) == shown
    get_logger().warning("case.own_endpoint", reason=text, detail=text, url=text)
    [line] = [e for e in log_events(own_log_stream) if e["event"] == "case.own_endpoint"]
    assert (line["reason"], line["detail"], line["url"]) == (shown, shown, shown)


@pytest.mark.parametrize("host", ["0812.3456.7890", "081234567890", "62.812.3456.7890", "+6281234567890"])
def test_a_number_in_a_host_setting_keeps_no_citizens_number(test_env: TestEnvironment, host: str) -> None:
    """A number pasted into a host setting was kept whole as one of the deployment's hosts: every citizen's same
    number then went through every scrub as it was written. Only an IP address, or a name whose last label has a
    letter, is kept."""
    settings = test_env.settings(LAPOR_EMAIL_RELAY_HOST=host, **{
        key: value for key, value in OWN_ENDPOINTS.items() if key != "LAPOR_EMAIL_RELAY_HOST"})
    configure_logging("debug", stream=io.StringIO(), own_hosts=settings.own_hosts)
    try:
        assert scrub(f"nomor saya {host}, tolong dibalas") == "nomor saya [phone], tolong dibalas"
        assert scrub(f"timeout talking to {OWN_X}") == f"timeout talking to {OWN_X}"  # the hosts still kept
    finally:
        configure_logging("info")


def test_the_own_endpoints_are_hosts_without_a_user_or_password(own_endpoints: Settings,
                                                                own_log_stream: io.StringIO) -> None:
    """Only a URL's host is configuration to keep: a user or password of it, quoted, is scrubbed or shown as before."""
    assert {OWN_CASESTORE, OWN_REDIS, OWN_X, OWN_GRAPH, OWN_RELAY, OWN_SEND} <= set(own_endpoints.own_hosts)
    assert not any(secret in host for host in own_endpoints.own_hosts
                   for secret in ("lapor", "gateway", "s3cret", "password", "@"))
    for url in (OWN_ENDPOINTS["LAPOR_CASESTORE_URL"], OWN_ENDPOINTS["REDIS_URL"]):
        assert "s3cret" not in scrub(f"cannot reach {url}")


def test_an_operator_reads_our_own_case_store_in_a_dead_letters_detail(
        test_env: TestEnvironment, redis: Redis, own_log_stream: io.StringIO) -> None:
    """Recorded by a worker set up with its settings, shown by `deadletters list` and `show` set up with theirs."""
    detail = f"422 from http://{OWN_CASESTORE}:8080/v1/reports: agency unknown; citizen 0812.3456.7890"
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000004"]], tracking_id="10000004",
                               item="10000004", reason="casestore_422", detail=detail, channel="sms-twilio")
    kept = f"422 from http://{OWN_CASESTORE}:8080/v1/reports: agency unknown; citizen [phone]"
    assert DeadLetters(redis).get("10000004").detail == kept
    for command in (("deadletters", "show", "10000004"), ("deadletters", "list")):
        shown = cli(test_env, *command, **{**OWN_ENDPOINTS, "REDIS_URL": test_env.values["REDIS_URL"]})
        assert shown.returncode == 0, shown.stderr
        assert f"http://{OWN_CASESTORE}:8080" in shown.stdout, shown.stdout
        assert "0812.3456.7890" not in shown.stdout and "s3cret" not in shown.stdout


def test_deadletters_show_calls_an_instagram_id_an_id(test_env: TestEnvironment, redis: Redis) -> None:
    """A public reply the Graph API refused: its target's ids stay redacted, under a label that does not send an
    operator looking for a phone number."""
    DeadLetters(redis).add_new(
        queue=REPLY_QUEUE, func=SOCIAL_REPLY_FUNC, tracking_id="10000004", item="instagram:media",
        args=["instagram", {"media_id": IG_MEDIA_ID, "comment_id": IG_COMMENT_ID}, "social_ack", "10000004", "id"],
        reason="instagram_bad_payload", detail=f"400 code=100: Object with ID '{IG_COMMENT_ID}' does not exist",
        channel="instagram")
    shown = cli(test_env, "deadletters", "show", "10000004")
    assert shown.returncode == 0, shown.stderr
    assert IG_COMMENT_ID not in shown.stdout and IG_MEDIA_ID not in shown.stdout
    assert "[phone]" not in shown.stdout
    assert "'media_id': '[id]', 'comment_id': '[id]'" in shown.stdout
    assert "Object with ID '[id]' does not exist" in shown.stdout


def test_times_as_the_views_write_them_stay_readable(log_stream: io.StringIO) -> None:
    structlog_times_beside_numbers()
    [line] = [e for e in log_events(log_stream) if e["event"] == "case.times"]
    assert line["reason"] == "rate limited for 5 min (until 2026-12-02 01:06:30Z)"
    assert line["detail"] == "[phone] at 2026-12-02 01:06 from [phone]"
    assert line["typed_like_a_time"] == "[phone]:89"  # its digits up to the last separator the rule allows


@pytest.mark.parametrize(
    ("host", "pid", "suffix", "host_kept"),
    [
        pytest.param("vm", 12345, "123456", True, id="suffix-all-digits"),
        pytest.param("vm", 4194304, "000000", True, id="largest-pid"),
        pytest.param("worker-0001", 12345, "3fa9c1", True, id="host-ending-in-digits"),
        pytest.param("gw-01.lapor.go.id", 7, "999999", True, id="dotted-host"),
        pytest.param("ip-172-31-45-101", 2024, "3fa9c1", False, id="host-reading-as-a-number"),
    ],
)
def test_a_worker_name_reads_whole_in_rqs_lines_beside_a_number_still_redacted(
    host: str, pid: int, suffix: str, host_kept: bool, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ names its worker in its lines. With a suffix of six digits (about one name in 17) the pid and the suffix
    read as a phone number: `Worker lapor-vm-[phone]: cold shut down`, and the operator could not tell which."""
    with monkeypatch.context() as patched:
        patched.setattr(reaper.socket, "gethostname", lambda: host)
        patched.setattr(reaper.os, "getpid", lambda: pid)
        patched.setattr(reaper.uuid, "uuid4", lambda: SimpleNamespace(hex=suffix + "0" * 26))
        name = reaper.worker_name()
    logging.getLogger("rq.worker").warning("Worker %s: cold shut down (last reply to %s)", name, "0812-3456-7890")
    [line] = [e for e in log_events(log_stream) if "cold shut down" in str(e["event"])]
    assert line["event"] == f"Worker {name}: cold shut down (last reply to [phone])"
    assert name.endswith(f"-p{pid}-{suffix}") and name.startswith(f"lapor-{host}-p") == host_kept


def test_structlog_is_configured_for_json_lines() -> None:
    assert structlog.is_configured()


def test_a_jobs_report_is_not_named_on_the_workers_lines_after_it(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A reply job binds its channel and Tracking ID for its own lines. Left bound after it, they named that report
    on the worker's next lines too: an idle worker's "could not connect to Redis" read as the last citizen's reply
    failing, and a grep for the Tracking ID found an outage it had nothing to do with."""
    settings = test_env.settings()
    OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="ack", text="Laporan diterima",
                                                 language="id", tracking_id="10000029", to="+6281234567801")
    for _ in aggregator_api():
        drain(settings, (REPLY_QUEUE,))
    logging.getLogger("rq.worker").error("case.idle: could not connect to Redis instance")
    events = log_events(log_stream)
    assert any(e.get("tracking_id") == "10000029" for e in events)  # the job's own lines name its report
    [idle] = [e for e in events if str(e["event"]).startswith("case.idle")]
    assert ("tracking_id" in idle, "channel" in idle) == (False, False), idle


# -- End to end: one row per channel ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KnownSender:
    """A citizen writing on one channel: what they send, and every form of their identity that must not leak."""

    channel: str
    send: Callable[[GatewayServer, str], Awaitable[str]]  # posts `text`, returns the Tracking ID
    identity_forms: tuple[str, ...]
    text: str


async def send_twilio_sms(gateway: GatewayServer, text: str) -> str:
    form = gateway.twilio_form(Body=text, From="0812-7777-3333", MessageSid="SM" + "e" * 32)
    response = await gateway.post_twilio(form)
    assert response.status_code == 200, response.text
    return tracking_id_in(twiml_message(response.text))


async def send_mail(gateway: GatewayServer, text: str) -> str:
    """A real mail over SMTP to the gateway's SMTP server; its acknowledgement reply goes out through the worker."""
    settings = gateway.settings.model_copy(update={"smtp": gateway.settings.smtp.model_copy(
        update={"port": free_port()})})
    raw = (f"From: Warga Sukamulya <warga.sukamulya@contoh-desa.net>\r\nTo: pengaduan@lapor.go.id\r\n"
           f"Subject: {text}\r\nMessage-ID: <redaction-1@contoh-desa.net>\r\n\r\n{text}\r\n").encode()
    server = SmtpServerThread(settings, Redis.from_url(settings.redis_url)).start()
    try:
        result = await asyncio.to_thread(server.deliver, raw, "warga.sukamulya@contoh-desa.net")
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id, result
    return result.tracking_id


async def post_kannel(gateway: GatewayServer, fields: dict[str, str], text: bytes) -> httpx.Response:
    """A Kannel callback as its sms-service posts it: the text its own bytes, %-escaped (`%a`, `%b`), not hex."""
    body = (urlencode(fields) + "&text=" + quote_from_bytes(text, safe="")).encode()
    return await gateway.client.post(AGGREGATOR_PATH, content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Lapor-Signature": sign(body)})


async def send_kannel_ucs2(gateway: GatewayServer, text: str) -> str:
    """A UCS-2 SMS (an emoji in it) as Kannel escapes its UTF-16BE bytes."""
    fields = {"id": "kannel-ucs2-1", "from": "6281277774444", "to": "1708", "coding": "2", "charset": "UTF-16BE",
              "smsc": "telkomsel", "ts": "1763800000"}
    response = await post_kannel(gateway, fields, text.replace("pungli", "pungli \U0001F621").encode("utf-16-be"))
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["tracking_id"])


async def send_superseded_parts(gateway: GatewayServer, text: str) -> str:
    """A concatenated SMS whose second part never came, taken at once when the phone's next message reuses its
    reference (`message.parts_superseded`): its parts' UDH %-escaped as Kannel's `%u` gives them."""
    later = "Mohon ditindaklanjuti segera karena warga sudah lama menunggu jawaban dari pihak kelurahan ya pak"
    earlier_id = None
    for message, numbers, tag in ((text, (1, 3), "a"), (later, (1, 2, 3), "b")):
        third = -(-len(message) // 3)
        for number in numbers:
            fields = {"id": f"kannel-{tag}-{number}", "from": "6281277775555", "to": "1708", "coding": "0",
                      "smsc": "telkomsel", "ts": "1763800000"}
            udh = bytes([5, 0, 3, 0x2A, 3, number])
            body = (urlencode(fields) + "&udh=" + quote_from_bytes(udh, safe="") + "&text="
                    + quote_from_bytes(message[(number - 1) * third:number * third].encode(), safe="")).encode()
            response = await gateway.client.post(AGGREGATOR_PATH, content=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Lapor-Signature": sign(body)})
            assert response.status_code == 200, response.text
            if tag == "b" and number == 1:
                [earlier] = response.json()["messages"]  # the earlier message, taken incomplete
                earlier_id = str(earlier["tracking_id"])
    assert earlier_id is not None
    return earlier_id


SENDERS = [
    KnownSender("sms-twilio", send_twilio_sms, ("6281277773333", "081277773333", "0812-7777-3333", "81277773333"),
                "LAPOR pungli di kantor kelurahan Sukamulya oleh oknum petugas"),
    KnownSender("sms-aggregator-kannel-ucs2", send_kannel_ucs2, ("6281277774444", "081277774444", "81277774444"),
                "LAPOR pungli di kantor kelurahan Sukamulya oleh oknum petugas"),
    KnownSender("sms-aggregator-parts-superseded", send_superseded_parts,
                ("6281277775555", "081277775555", "81277775555"),
                "LAPOR pungli uang surat tanah, diminta tunai tanpa kuitansi di kantor kelurahan Sukamulya oleh oknum "
                "petugas"),
    KnownSender("email", send_mail, ("warga.sukamulya@contoh-desa.net", "warga.sukamulya", "Warga Sukamulya"),
                "Pungli di kantor kelurahan Sukamulya oleh oknum petugas"),
]


@pytest.mark.parametrize("sender", SENDERS, ids=[sender.channel for sender in SENDERS])
async def test_no_process_logs_the_citizens_identity_or_words(
    sender: KnownSender, gateway: GatewayServer, casestore: CaseStoreServer, log_stream: io.StringIO,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """Gateway (this process, debug level), worker (a real process, debug level) and the case store: none of
    them writes the number or the text, through an outage and a retry too."""
    worker = wait_ready(start_process("worker", LAPOR_LOGGING_LEVEL="debug"))
    casestore.stop()  # the first attempt fails: the retry path logs too
    tracking_id = await sender.send(gateway, sender.text)
    await async_wait_until(lambda: "forward.retry" in worker.output(), timeout=15)
    casestore.start()
    await async_wait_until(lambda: casestore.get(tracking_id), timeout=20)
    stored = casestore.get(tracking_id)
    assert stored is not None and stored["text"].endswith("Sukamulya oleh oknum petugas")  # it did flow through

    logs = {"gateway and case store": log_stream.getvalue(), "worker": worker.output()}
    assert tracking_id in logs["gateway and case store"] and tracking_id in logs["worker"]
    for where, text in logs.items():
        for secret in (*sender.identity_forms, sender.text, "Sukamulya", "oknum petugas"):
            assert secret not in text, f"{secret!r} in the {where} log"


# Mail the loop guards keep from the case store and from any answer, each over a real SMTP socket, with the words,
# address and number of someone who wrote it: logged and counted by reason alone (`email.suppressed`).
GUARDED_WORDS = "Saya sedang cuti. Hubungi Bu Sulastri di 0813-9988-7766 atau sulastri.wibowo@kantor-desa.net"
GUARDED_FORMS = ("81399887766", "0813-9988-7766", "sulastri.wibowo", "Sulastri", "sedang cuti")


def guarded_mail(kind: str) -> bytes:
    head = (f"From: Sulastri Wibowo <sulastri.wibowo@kantor-desa.net>\r\nTo: pengaduan@lapor.go.id\r\n"
            f"Message-ID: <guard-{kind}@kantor-desa.net>\r\nMIME-Version: 1.0\r\n")
    if kind == "autoreply_subject":  # an out-of-office answer to our acknowledgement, its tag after the opening
        return (head + "Subject: Automatic reply: [LAPOR #10000004] Jalan rusak\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + GUARDED_WORDS + "\r\n").encode()
    if kind == "calendar_reply":  # an attendee's answer to an invitation, their comment in it
        ics = ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nORGANIZER:mailto:kadis@dinas.example.go.id\r\n"
               "ATTENDEE;PARTSTAT=DECLINED:mailto:sulastri.wibowo@kantor-desa.net\r\n"
               f"COMMENT:{GUARDED_WORDS}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        return (head + "Subject: Declined: Rapat koordinasi\r\nContent-Type: multipart/alternative; boundary=b\r\n"
                "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + GUARDED_WORDS + "\r\n--b\r\n"
                "Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n" + ics + "--b--\r\n").encode()
    # a feedback loop's abuse report on one of our replies (RFC 5965)
    return (head + "Subject: Abuse report\r\nContent-Type: multipart/report; report-type=feedback-report; "
            "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + GUARDED_WORDS
            + "\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
            "Original-Rcpt-To: sulastri.wibowo@kantor-desa.net\r\n\r\n--b--\r\n").encode()


@pytest.mark.parametrize("reason", ["autoreply_subject", "calendar_reply", "mail_report"])
def test_mail_the_loop_guards_keep_is_logged_by_its_reason_alone(
        reason: str, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(guarded_mail(reason), mail_from="sulastri.wibowo@kantor-desa.net")
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id is None, result
    assert [event.get("reason") for event in log_events(log_stream) if event["event"] == "email.suppressed"] == [reason]
    logged = [line for line in log_stream.getvalue().splitlines() if any(form in line for form in GUARDED_FORMS)]
    assert logged == []
    kept = [(key, where) for key, where, value in redis_values(redis) if any(form in value for form in GUARDED_FORMS)]
    assert kept == []


def echoing_case_store() -> web.Application:
    """A case store that refuses a report quoting it back, text and sender, as careless APIs do."""

    async def refuse(request: web.Request) -> web.Response:
        report = await request.json()
        return web.json_response({"error": "invalid_report",
                                  "detail": f"cannot file {report['text']!r} from {report['sender']['id']}"},
                                 status=422)

    app = web.Application()
    app.router.add_post("/v1/reports", refuse)
    return app


async def test_a_case_store_error_quoting_the_report_is_not_logged_by_the_worker(
    gateway: GatewayServer, settings: Settings, start_process: Callable[..., ProcessHandle], redis: Redis,
) -> None:
    """The worker binds each job's text and sender as sensitive: the refusal it logs (deadletter.added, detail)
    names the reason, never the words or the number, even when the case store quotes them."""
    refusing = LoopbackServer(echoing_case_store, settings.casestore.port)
    refusing.start()
    try:
        worker = wait_ready(start_process("worker", LAPOR_LOGGING_LEVEL="debug"))
        text = "Pungutan liar di puskesmas Cibeunying Kidul"
        tracking_id = await send_twilio_sms(gateway, text)
        registry = DeadLetters(redis)
        await async_wait_until(lambda: registry.get(tracking_id), timeout=15)
        await async_wait_until(lambda: "deadletter.added" in worker.output(), timeout=5)
    finally:
        refusing.stop()
    output = worker.output()
    assert "casestore_422" in output and tracking_id in output
    for secret in (text, "Cibeunying", "6281277773333", "0812-7777-3333"):
        assert secret not in output, f"{secret!r} in the worker log"


def test_undecodable_bytes_in_a_log_line_do_not_break_it(log_stream: io.StringIO) -> None:
    """An SMTP peer's 8-bit garbage arrives as surrogate escapes; the line must still be valid JSON."""
    from gateway.logs import get_logger

    get_logger().warning("smtp.refused", reason="MAIL FROM:<\udce9\udcff@b.c>")
    [line] = [e for e in log_events(log_stream) if e["event"] == "smtp.refused"]
    assert "\\udce9" in str(line["reason"])


# The patterns as they were before they were made linear (the phone pattern with the lookbehind it has since): what
# they found, the new ones must find the same, in text too short to meet the bound. The separators are today's (the
# marks since added, "_" of this alphabet among them, are no part of what the linear form changed), and so is where a
# run may end (before a "_" too, since) and begin (after one: "_000000000").
_OLD_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+" + logs._EMAIL_DOMAIN)
_OLD_PHONE = re.compile(r"(?<![^\W_])(?!\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[ T](?:[01]\d|2[0-3]):[0-5]\d)"
                        rf"\+?\(?\d(?:{logs._SEPARATOR}{{0,3}}\d){{8,40}}{logs._RUN_END}")


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789 -.()+@a_Z:T", max_size=60))
@example("a@a.a+a@a.a")  # the second address begins where the first ends
@example("_000000000")  # a run after a "_" (a field name's: "hp_081234567890")
def test_the_linear_patterns_find_what_the_earlier_ones_found(text: str) -> None:
    assert logs._redact_addresses(text) == _OLD_EMAIL.sub("[email]", text)
    assert logs._redact_number_runs(text) == _OLD_PHONE.sub(lambda m: logs._number_label(m.group()), text)


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("1" * 100_000 + "a", "1" * 100_000 + "a", id="digits run into a word: no number"),
    pytest.param("1" * 100_000 + " a", "[id] a", id="a run of plain digits, whole"),
    pytest.param("+" + "6281234567890" * 4, "[phone]", id="four numbers typed together after a +"),
    pytest.param("+" + "1" * 100_000 + " a", "[phone] a", id="a run of plain digits after a +, whole"),
    pytest.param("+" + "1" * 100_000 + "a", "+" + "1" * 100_000 + "a", id="after a +, run into a word: no number"),
    pytest.param("1-" * 50_000, "[phone]-", id="separated digits far past the bound, every one"),
    pytest.param("a dot " * 50_000 + "b at desa dot id", "a dot " * 49_998 + "[email]",
                 id="dots written out far past an address's own"),
    pytest.param("a [dot] " * 50_000 + "[at] x", "a [dot] " * 50_000 + "[at] x", id="dots written out, no address"),
])
def test_a_long_run_is_redacted_whole_or_left_whole(text: str, shown: str) -> None:
    assert scrub(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    # An address right after another: the address pattern, made linear, refused to start where one ended.
    pytest.param("mailto:siti@desa.id?cc=budi@desa.id", "mailto:[email][email]", id="a mailto link's cc"),
    pytest.param("siti@desa.id/budi@desa.id", "[email][email]", id="two addresses with a slash between"),
    pytest.param("siti@desa.id...budi@desa.id", "[email][email]", id="an ellipsis between"),
    pytest.param("siti@[203.0.113.5]+budi@desa.id", "[email][email]", id="after an address literal"),
    pytest.param("a@b.id&c@d.id&e@f.id", "[email][email][email]", id="three in a row"),
    # Long runs around addresses, each quadratic in an earlier form (minutes of CPU at this length).
    pytest.param("siti@desa.id" + "x" * 200_000, "[email]", id="a long run after an address"),
    pytest.param("siti@desa.id/" * 20_000, "[email]" * 20_000 + "/", id="many addresses in a row"),
    pytest.param(("a@b.id" + "y-" * 500 + "@") * 200, "[email]@" * 200, id="runs after addresses, no domain"),
    # A number right after a + that cannot begin it.
    pytest.param("HP+6281234567890", "HP+[phone]", id="a + after a word"),
    pytest.param("Body=Nomor+saya+081234567890&To=1708", "Body=Nomor+saya+[phone]&To=1708", id="a form body"),
    pytest.param("+6281234567890+6281234567891", "[phone]+[phone]", id="two numbers joined by a +"),
    pytest.param("++6281234567890", "+[phone]", id="a + doubled"),
    pytest.param("v1.2+20261202 ID 10000004", "v1.2+20261202 ID 10000004", id="8 digits after a + stay"),
    # Percent-encoded, as a URL or a form body quoted back carries them.
    pytest.param("to=%2B6281234567890&text=a", "to=%2B[phone]&text=a", id="an escaped + before a number"),
    pytest.param("to=%2b62%20812%203456%207890", "to=%2b[phone]", id="escaped spaces between its digits"),
    pytest.param("hp%3A%280812%29%2F3456-7890", "hp%3A%28[phone]", id="escaped parentheses and slash"),
    pytest.param("mailto:siti%40desa.id", "mailto:[email]", id="an escaped @"),
    pytest.param("id=%2010000004&port=%208080", "id=%2010000004&port=%208080", id="escaped short numbers stay"),
    # An RQ job's id, a UUID: its first groups read as a number; a number right before one still goes.
    pytest.param("Job OK (54351668-1642-4c09-8dce-053ebc874e65)", "Job OK (54351668-1642-4c09-8dce-053ebc874e65)",
                 id="a job id stays"),
    pytest.param("hp 081234567890 54351668-1642-4c09-8dce-053ebc874e65",
                 "hp [phone] 54351668-1642-4c09-8dce-053ebc874e65", id="a number before a job id goes"),
    pytest.param("081234567890-54351668-1642-4c09-8dce-053ebc874e65", "[phone]-54351668-1642-4c09-8dce-053ebc874e65",
                 id="a number joined to a job id goes"),
])
def test_addresses_and_numbers_next_to_others_are_redacted(text: str, shown: str) -> None:
    assert scrub(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("hp 0812_3456_7890", "hp [phone]", id="underscores"),
    pytest.param("hp 0812*3456*7890", "hp [phone]", id="asterisks"),
    pytest.param("hp 0812~3456~7890", "hp [phone]", id="tildes"),
    pytest.param("hp 0812\u00b73456\u00b77890", "hp [phone]", id="middle dots"),
    pytest.param("hp +62 812\u00b73456\u00b77890", "hp [phone]", id="middle dots after a country code"),
    pytest.param("hp 0812 \u00b7 3456 \u00b7 7890.", "hp [phone].", id="spaced middle dots"),
    pytest.param("hp 0812\u20223456\u20227890", "hp [phone]", id="bullets"),
    pytest.param("hp 0812\u30fb3456\u30fb7890", "hp [phone]", id="katakana middle dots"),
    pytest.param("hp +62\u2212812\u22123456\u22127890", "hp [phone]", id="minus signs"),
    pytest.param("hp 0812_-_3456_-_7890", "hp [phone]", id="marks mixed"),
    pytest.param("hp 0812_3456_7890_ ya", "hp [phone]_ ya", id="an underscore after it"),
    pytest.param("6281234567890_budi", "[phone]_budi", id="joined to a word by an underscore"),
    pytest.param("file foto_081234567890.jpg", "file foto_[phone].jpg", id="after a word and an underscore"),
    pytest.param("budi_6281234567890 wrote", "budi_[phone] wrote", id="a handle's number after an underscore"),
    pytest.param("post 17841400000000000_17900000000000001 gone", "post [id] gone", id="a post id of two joined ids"),
    pytest.param("hp \uff10\uff18\uff11\uff12\uff0d\uff13\uff14\uff15\uff16\uff0d\uff17\uff18\uff19\uff10",
                 "hp [phone]", id="fullwidth digits and hyphens"),
    pytest.param("hp \uff080812\uff09\uff3f3456\uff3f7890", "hp \uff08[phone]",
                 id="fullwidth parentheses and low lines"),
    pytest.param("to=0812%2A3456%2A7890&x=1", "to=[phone]&x=1", id="escaped asterisks"),
    pytest.param("to=0812%5f3456%7E7890&x=1", "to=[phone]&x=1", id="escaped underscore and tilde"),
    pytest.param("to=0812%C2%B73456%c2%b77890&x=1", "to=[phone]&x=1", id="escaped middle dots"),
    pytest.param("to=0812%E2%80%933456%E2%80%A27890&x=1", "to=[phone]&x=1", id="escaped en dash and bullet"),
])
def test_numbers_with_the_other_marks_people_type_between_groups_are_redacted(text: str, shown: str) -> None:
    """Each went out whole: only spaces, dots, dashes, parentheses and slashes separated a number's groups."""
    assert scrub(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("no.hp081234567890 a.n. Budi", "no.hp[phone] a.n. Budi", id="after a word"),
    pytest.param("WA:0812-3456-7890a.n. Budi", "WA:[phone]a.n. Budi", id="before a word"),
    pytest.param("wa6281234567890ya", "wa[phone]ya", id="in international form between words"),
    pytest.param("hp+6281234567890x", "hp[phone]x", id="with its + between words"),
    pytest.param("hp 0812\u200b3456\u200b7890", "hp [phone]", id="zero-width spaces between groups"),
    pytest.param("hp 0812\u200d3456\u2060789", "hp [phone]", id="a zero-width joiner and a word joiner"),
    pytest.param("hubungi dede081234567890", "hubungi dede[phone]", id="after a name of hex letters"),
])
def test_a_mobile_number_run_into_a_word_is_redacted(text: str, shown: str) -> None:
    """A run of digits touching a letter is no number to `_PHONE` (a digest's, an id's), and these went out whole: a
    mobile number's own prefix (08, 628, +628) tells them apart."""
    assert scrub(text) == shown


@pytest.mark.parametrize("text", [
    pytest.param("sha256 75d1f71b0dc4c12868e655b83d4c599ada0dc6c9", id="a digest"),
    pytest.param("e8081234567890f", id="a longer run of digits in a digest"),
    pytest.param("SM0d2f1c58e7a94b03b6f1c2d3e4f5a6b7", id="a twilio sid"),
    pytest.param("worker lapor-vm-p12345-a1b2c3 started", id="a worker name"),
    pytest.param("dead letter email-401da6c0824684162c2329bec24e885d2c63caf3", id="a reply's id on a digest"),
    pytest.param("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4c0812345678a", id="a sha256"),
])
def test_digits_in_a_word_that_are_no_mobile_number_stay(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("balas ke budi [at] gmail [dot] com", "balas ke [email]", id="bracketed at and dot"),
    pytest.param("balas ke budi(at)desa(titik)id ya", "balas ke [email] ya", id="in indonesian"),
    pytest.param("balas ke budi at gmail dot com", "balas ke [email]", id="words"),
    pytest.param("balas ke budi AT gmail DOT com", "balas ke [email]", id="words in capitals"),
    pytest.param("balas ke budi @ gmail . com", "balas ke [email]", id="spaces around"),
    pytest.param("balas ke budi[@]gmail.com", "balas ke [email]", id="a bracketed at sign"),
    pytest.param("balas ke siti.aminah at yahoo.co.id.", "balas ke [email].", id="a word at and plain dots"),
    pytest.param("balas ke budi dot santoso at gmail dot com", "balas ke [email]", id="a dot of the local part"),
    pytest.param("balas ke siti (titik) aminah (at) yahoo (titik) co (titik) id", "balas ke [email]",
                 id="dots of the local part in indonesian"),
])
def test_an_address_written_against_harvesters_is_redacted(text: str, shown: str) -> None:
    """As citizens write their own address (the case store's copy loses it so too: workers/own_identity.py): each
    went out whole in a line quoting the text."""
    assert scrub(text) == shown


@pytest.mark.parametrize("text", [
    pytest.param("raised at gateway.intake line 5", id="where an error was raised"),
    pytest.param("retry at 10.5 s", id="a time"),
    pytest.param("look at me. Then go", id="prose"),
    pytest.param("failed @ 12:00", id="an at sign before a time"),
])
def test_prose_with_at_and_dots_stays_readable(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize("text", [
    pytest.param("rate limited until 2026-12-04 18:06:30Z \u00b7 3 waiting", id="a time before a middle dot"),
    pytest.param("2026-12-04T18:06:30.123456+00:00", id="an iso timestamp"),
    pytest.param("on 2026-12-04, 2026-12-05 and 04/12/2026", id="dates"),
    pytest.param("biaya Rp 25.000 \u00b7 ongkos Rp 1.500.000 * 2", id="amounts"),
    pytest.param("total Rp 25.000 x 3 = Rp 75.000", id="an amount times a count"),
    pytest.param("report 10000004 \u00b7 follow-up 10000012", id="tracking ids between words"),
    pytest.param("Nomor lacak: 1000-0004 \u00b7 status: diterima", id="a tracking id as replies write it"),
    pytest.param("job 54351668-1642-4c09-8dce-053ebc874e65 \u00b7 12 ms", id="a job id before a middle dot"),
    pytest.param("took 12.5 ms ~ 3 s, p99 250 ms", id="durations"),
    pytest.param("lapor-gateway 1.4.2 (python 3.12.7) redis 7.2.4", id="version numbers"),
    pytest.param("queued=12 \u00b7 started=3 \u00b7 failed=0 \u00b7 deadletters=1",
                 id="counts as a status line joins them"),
    pytest.param("spool_bytes=123456 reply_attempts=3 shard_12_of_16", id="counts in names with underscores"),
    pytest.param("lapor:reply:*:10000004 retry in ~5 s", id="a key pattern and an approximate wait"),
    pytest.param("sha256 123456789abcdef0 and 1234567890abc_def", id="digests beginning with digits"),
    pytest.param("DOWN: email \u00b7 DEGRADED: case store (12 forwards waiting)", id="the status views' summary"),
])
def test_text_with_those_marks_but_no_number_stays_readable(text: str) -> None:
    """The marks added as separators left every line of this kind as it was: each needs 9 digits or more joined."""
    assert scrub(text) == text


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("balas ke budi\uff20gmail.com ya", "balas ke [email] ya", id="a fullwidth at sign"),
    pytest.param("balas ke budi\ufe6bgmail.com ya", "balas ke [email] ya", id="a small at sign"),
    pytest.param("balas ke budi\uff20gmail\uff0ecom ya", "balas ke [email] ya", id="and fullwidth dots"),
    pytest.param("ke budi.santoso\ufe6bdesa\u3002co\uff61id", "ke [email]", id="ideographic and small dots"),
    pytest.param("ke budi\uff0esantoso\uff3f01\uff20gmail.com", "ke [email]", id="fullwidth marks in the local part"),
    pytest.param("ke budi@gmail\uff0ecom", "ke [email]", id="an ascii at sign and a fullwidth dot"),
    pytest.param('tolak <"siti aminah"\uff20desa.id>', "tolak <[email]>", id="a quoted local part"),
    pytest.param("siti\uff20desa.id/budi\ufe6bdesa.id", "[email][email]", id="one after another"),
    pytest.param("harga 5\uff20Rp 25.000, sapa \uff20budi", "harga 5\uff20Rp 25.000, sapa \uff20budi",
                 id="no address, left as it was"),
])
def test_addresses_with_an_asian_keyboards_at_sign_or_dots_are_redacted(text: str, shown: str) -> None:
    """A phone keyboard's fullwidth "＠" and small "﹫" (X reads them as "@" too) and its fullwidth or ideographic
    dots: each address so written went into the line whole."""
    assert scrub(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("GET https://host.example/path?email=budi@example.com&x=1 failed",
                 "GET https://host.example/path?email=[email]&x=1 failed", id="a query's value"),
    pytest.param("GET https://10.0.0.5:8443/v1/users?x=1&email=budi.santoso+lapor@example.co.id#top: 500",
                 "GET https://10.0.0.5:8443/v1/users?x=1&email=[email]#top: 500", id="after a port and another value"),
    pytest.param("GET /v1/users?email=budi%40example.com&x=1", "GET /v1/users?email=[email]&x=1",
                 id="a request's path, the address escaped"),
    pytest.param("GET https://host.example/users/budi@example.com/profile",
                 "GET https://host.example/users/[email]/profile", id="a path's segment"),
    pytest.param("https://host.example/p?to=a@b.id&cc=c@d.id&x=1", "https://host.example/p?to=[email]&cc=[email]&x=1",
                 id="one after another"),
    pytest.param("https://host.example/u/a@b.id?to=c@d.id", "https://host.example/u/[email]?to=[email]",
                 id="in the path, then in the query"),
    pytest.param("https://[::1]:8443/p?e=budi@x.id", "https://[::1]:8443/p?e=[email]", id="an ipv6 host"),
    pytest.param("GET https:\\/\\/h.example\\/p?email=budi@x.id", "GET https:\\/\\/h.example\\/p?email=[email]",
                 id="slashes escaped as json writes them"),
    # Whatever follows a parameter's plain name goes: a bounce address carries the citizen's in its local part.
    pytest.param("https://h.example/p?to=bounces+siti=desa.id@lists.example&x=1", "https://h.example/p?to=[email]&x=1",
                 id="a bounce address as a value"),
    pytest.param("https://h.example/p?bounces+siti=desa.id@lists.example", "https://h.example/p?[email]",
                 id="a bounce address with no name before it"),
    pytest.param("https://h.example/p?next=/a/siti@x.id", "https://h.example/p?next=[email]", id="slashes in a value"),
    # Where no path tells the address from the URL, it goes from where it went before.
    pytest.param("https://budi@desa.id/path", "https:[email]/path", id="an address in the authority"),
    pytest.param("https://siti:x@desa.id/p?to=budi@x.id", "https://[credentials]@desa.id/p?to=[email]",
                 id="a user and password in the authority, then an address in the query"),
    # A URL's user and password go whole, up to the authority's last "@"; its host stays.
    pytest.param("send failed: https://kannel:s3cret@sms.example.id/cgi-bin/sendsms?to=0812",
                 "send failed: https://[credentials]@sms.example.id/cgi-bin/sendsms?to=0812", id="a send url's login"),
    pytest.param("redis://:pw-1@redis.internal:6379/0 down", "redis://[credentials]@redis.internal:6379/0 down",
                 id="a password alone"),
    pytest.param("https://u:p@ss@h.example/x then budi@x.id", "https://[credentials]@[email]/x then [email]",
                 id="an at sign in the password: up to the first, the rest an address"),
    pytest.param('{"webhook":"https://u:p@cs.id","email":"budi.santoso@pemda.go.id","phone":"081234567890"}',
                 '{"webhook":"https://[credentials]@cs.id","email":"[email]","phone":"[phone]"}',
                 id="never past a quote: a citizen's address further on is no host"),
    pytest.param("https://kannel:pa,ss\"<x>'@sms.example.id/send", "https://[credentials]@sms.example.id/send",
                 id="a password holding a comma, quotes and brackets"),
    pytest.param("https://u:081234567890@h.example", "https://[credentials]@h.example", id="a number for a password"),
    pytest.param("desa.id/p?to=budi@x.id", "[email]", id="no scheme"),
    pytest.param("mailto:siti@desa.id?cc=budi@desa.id", "mailto:[email][email]", id="a mailto link"),
    pytest.param("see https://a.example then x/budi@x.id", "see https://a.example then [email]",
                 id="a url earlier in the text"),
])
def test_an_address_in_a_url_leaves_the_host_and_path_readable(text: str, shown: str,
                                                               log_stream: io.StringIO) -> None:
    """The characters a local part may have ("/", "?", "=", "&") ran back to the URL's "//": the line read
    "GET https:[email]&x=1 failed", without the host and path that tell an operator which call failed."""
    assert scrub(text) == shown
    get_logger().warning("case.url", reason=text)
    [line] = [e for e in log_events(log_stream) if e["event"] == "case.url"]
    assert line["reason"] == shown


@hypothesis_settings(max_examples=300, deadline=None)
@given(url=st.text(alphabet="ab/?&=#:.-_", max_size=24), local=st.text(alphabet="XY+._-", min_size=1, max_size=12),
       after=st.text(alphabet="ab/?&=#.", max_size=8))
@example(url="?to=", local="X", after="")
@example(url="/?a=b=", local="X.Y", after="&c=d")
def test_an_address_in_a_url_loses_every_character_of_its_own(url: str, local: str, after: str) -> None:
    """Whatever the URL around it, no character of the address stays (its letters are the only capitals)."""
    text = f"post https://h.example{url}{local}Z@desa.example{after} failed"
    shown = scrub(text)
    assert not any(character.isupper() for character in shown), shown
    assert shown.startswith("post https:") and shown.endswith(" failed")


def test_an_aggregators_refusal_quoting_the_send_url_shows_no_number(test_env: TestEnvironment) -> None:
    """The send URL carries the citizen's number percent-encoded (to=%2B62...): an aggregator's 4xx that quotes the
    request, kept in the reply's dead letter and its log line, showed it whole."""
    from channels.sms_aggregator_send import AggregatorSender, reply_parts
    from gateway.errors import PermanentError

    settings = test_env.settings(LAPOR_AGGREGATOR_SEND_URL="http://127.0.0.1:9/cgi-bin/sendsms")
    quoting = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(400, text=f"invalid destination in {request.url}")))
    sender = AggregatorSender(settings, client=quoting)
    [part] = reply_parts("Laporan Anda diterima. Nomor lacak: 1000-0004.", "r1")
    with pytest.raises(PermanentError) as refused:
        sender.send_part("+6281234567890", part, "r1")  # as the reply worker sends it: E.164
    assert "to=[phone]&" in str(refused.value)  # its dead letter keeps the error: the number is out of it too
    assert "81234567890" not in str(refused.value)


@pytest.mark.parametrize("password", ["kata-sandi-kirim", "p@ss w/rd+&=1"], ids=["plain", "escaped-in-the-url"])
def test_an_aggregators_answer_quoting_the_send_url_keeps_no_password(test_env: TestEnvironment,
                                                                       password: str) -> None:
    """The sendsms URL carries the send password in its query: an answer quoting the request (a refusal, kept in
    the reply's dead letter and its log line, or an acceptance, kept on the reply) carried it too."""
    from urllib.parse import quote

    from channels.sms_aggregator_send import AggregatorSender, reply_parts
    from gateway.errors import PermanentError

    settings = test_env.settings(LAPOR_AGGREGATOR_SEND_URL="http://127.0.0.1:9/sendsms",
                                 LAPOR_AGGREGATOR_SEND_PASSWORD=password)
    [part] = reply_parts("Laporan Anda diterima.", "r1")
    for status in (400, 202):
        quoting = httpx.Client(transport=httpx.MockTransport(
            lambda request, status=status: httpx.Response(status, text=f"{status} for {request.url}")))
        try:
            answer = AggregatorSender(settings, client=quoting).send_part("+6281234567890", part, "r1")
        except PermanentError as refused:
            answer = str(refused)
        assert "[secret]" in answer and f"{status} for" in answer
        assert password not in answer and quote(password, safe="") not in answer
        # Nor the citizen's number nor the reply's words: the reply's record keeps the answer as long as the report.
        assert "81234567890" not in answer and "diterima" not in answer


def strict_case_store() -> web.Application:
    """A case store that refuses a report's provider data, quoting it back, as a strict schema validator does."""

    async def refuse(request: web.Request) -> web.Response:
        report = await request.json()
        return web.json_response({"error": "invalid_report",
                                  "detail": f"unexpected channel_meta {report['channel_meta']!r}"}, status=422)

    app = web.Application()
    app.router.add_post("/v1/reports", refuse)
    return app


def test_a_case_store_refusal_quoting_an_x_reports_handle_shows_it_nowhere(
        test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    """A named X report's handle travels in its channel_meta (`username`), not in its sender (the user id and the
    name): a case store quoting it back had it in the forward worker's log line and the dead letter."""
    from channels.x_mentions import XMentionsPoller
    from gateway.intake import Intake
    from gateway.queues import FORWARD_QUEUE
    from tests.aggregator_support import drain
    from tests.social_helpers import running_fake_provider

    with running_fake_provider() as fake:
        settings = test_env.settings(**fake.env())
        fake.state.add_tweet("@lapor1708 lampu jalan di gang mawar mati sebulan", username="rudi_terang",
                             name="Rudi Hartono")
        intake = Intake(redis, settings)
        try:
            XMentionsPoller(settings, redis, intake).poll_once()
        finally:
            intake.close()
    refusing = LoopbackServer(strict_case_store, settings.casestore.port)
    refusing.start()
    try:
        drain(settings, (FORWARD_QUEUE,))
    finally:
        refusing.stop()
    [letter] = DeadLetters(redis).list()
    assert letter.reason == "casestore_422" and "unexpected channel_meta" in letter.detail
    shown = cli(test_env, "deadletters", "show", letter.tracking_id).stdout
    assert "unexpected channel_meta" in shown
    for where, text in {"dead letter": letter.detail, "deadletters show": shown, "log": log_stream.getvalue()}.items():
        assert "rudi_terang" not in text, f"the handle in the {where}: {text}"


async def test_a_webhooks_internal_error_quoting_the_message_logs_neither_its_words_nor_its_number(
        test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    """A bug's exception may quote the message in hand: the webhook logged its traceback (`message.rejected`,
    internal_error) after leaving the message's sensitive values, so the words went out whole."""
    from gateway.app import create_app
    from gateway.intake import Intake, Receipt
    from normalizer.envelope import ReportDraft

    class QuotingIntake(Intake):
        async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
            raise ValueError(f"no table for {draft.text!r} from {draft.sender.id}")

    settings = test_env.settings()
    text = "Pungli di kantor kelurahan Cibeunying oleh oknum petugas"
    app = create_app(settings, redis, QuotingIntake(redis, settings))
    async with serving_gateway(settings, redis, app=app) as server:
        form = server.twilio_form(Body=text, From="0812-7777-3333", MessageSid="SM" + "f" * 32)
        assert (await server.post_twilio(form)).status_code == 200  # kept unfiled, and the citizen told so
    [line] = [event for event in log_events(log_stream) if event["event"] == "message.rejected"]
    assert "no table for" in str(line["exception"])  # the traceback is still there
    logged = log_stream.getvalue()
    for secret in ("Cibeunying", "oknum petugas", "81277773333"):
        assert secret not in logged, f"{secret!r} in the gateway's log"


async def test_an_internal_error_quoting_a_joined_sms_logs_none_of_its_parts_words(
        test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    """A concatenated SMS's message in hand is the joined one: the webhook kept out of its error line only the words
    of the part that completed it, and the other parts' went out."""
    from gateway.app import create_app
    from gateway.intake import Intake, Receipt
    from normalizer.envelope import ReportDraft
    from tests.aggregator_support import aggregator_settings, post_callback

    class QuotingIntake(Intake):
        async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
            raise ValueError(f"no table for {draft.text!r}")

    # parts waited for long enough that a loaded machine's second post comes in time: no sweep takes part 1 alone
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="60")
    texts = ["LAPOR kepala desa Sukamulya meminta uang ", "pelicin untuk surat tanah dari warga"]
    app = create_app(settings, redis, QuotingIntake(redis, settings))
    async with serving_gateway(settings, redis, app=app) as server:
        statuses = [(await post_callback(server.client, {
            "from": "081277773334", "to": "1708", "id": f"joined-{number}", "coding": "0", "text": text,
            "udh": f"0500035C02{number:02X}"})).status_code for number, text in enumerate(texts, start=1)]
    assert statuses == [200, 200]  # the joined SMS kept unfiled, its citizen told by an SMS of their own
    [line] = [event for event in log_events(log_stream) if event["event"] == "message.rejected"]
    assert "no table for" in str(line["exception"])
    logged = log_stream.getvalue()
    for secret in ("Sukamulya meminta", "pelicin untuk"):
        assert secret not in logged, f"{secret!r} in the gateway's log"
    from gateway.unfiled import UnfiledMessages

    (kept,), _ = UnfiledMessages(redis).list()  # the message in hand kept unfiled: the joined SMS, not its last part
    assert kept.message.text == "".join(texts) and kept.message.channel_meta["parts"] == 2


async def test_a_mails_error_quoting_it_logs_neither_its_words_nor_its_sender(
        test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO) -> None:
    """The SMTP server logs a bug's traceback (`email.failed`) and answers 451: an exception quoting the mail in hand
    went out whole, its words and the sender's name (addresses and numbers only were caught, by pattern)."""
    from gateway.intake import Intake, Receipt
    from normalizer.envelope import ReportDraft

    class QuotingIntake(Intake):
        async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
            raise ValueError(f"no table for {draft.text!r} from {draft.sender.display_name!r}")

    settings = test_env.settings()
    settings = settings.model_copy(update={"smtp": settings.smtp.model_copy(update={"port": free_port()})})
    text = "Pungli di kantor kelurahan Cibeunying oleh oknum petugas"
    raw = (f"From: Warga Sukamulya <warga.sukamulya@contoh-desa.net>\r\nTo: pengaduan@lapor.go.id\r\n"
           f"Subject: Laporan pungli\r\nMessage-ID: <quoting-1@contoh-desa.net>\r\n\r\n{text}\r\n").encode()
    server = SmtpServerThread(settings, redis, intake=QuotingIntake(redis, settings)).start()
    try:
        result = await asyncio.to_thread(server.deliver, raw, "warga.sukamulya@contoh-desa.net")
    finally:
        server.stop()
    assert result.data_code == 451, result
    [line] = [event for event in log_events(log_stream) if event["event"] == "email.failed"]
    assert "no table for" in str(line["exception"])  # the traceback is still there
    logged = log_stream.getvalue()
    for secret in ("Cibeunying", "oknum petugas", "Warga Sukamulya", "Laporan pungli"):
        assert secret not in logged, f"{secret!r} in the SMTP server's log"


def test_values_learnt_midway_last_until_their_block_ends_and_outside_every_block_are_not_kept() -> None:
    """A poller's round and a mail add the words they learn to the block their caller holds. Called without one (a
    test calling a poller directly, code that forgot its block), the words of every message that thread handled
    piled up on its context for good: every later line, of any message, was scrubbed of them."""
    from gateway.logs import add_sensitive_values

    add_sensitive_values("Kepala desa Sukamulya")  # no block: nothing kept
    assert scrub("Kepala desa Sukamulya") == "Kepala desa Sukamulya"
    with sensitive_values():
        add_sensitive_values("Kepala desa Sukamulya")
        assert scrub("kata Kepala desa Sukamulya") == f"kata {logs.REDACTED}"
    assert scrub("Kepala desa Sukamulya") == "Kepala desa Sukamulya"


@pytest.mark.parametrize(("said", "texts", "kept"), [
    ("shard_down: could not index 'kepala desa Sukamaju menerima suap'",
     ("Lapor: Kepala desa Sukamaju\n  menerima suap dari kontraktor",), "shard_down: could not index '[redacted]'"),
    ("agency code unknown", ("Jalan rusak di depan SDN 3",), "agency code unknown"),
    ("rejected 'desa Sukamaju' twice", ("kepala desa Sukamaju",), "rejected 'desa Sukamaju' twice"),  # two words
    ("subject 'Pungli di Puskesmas Cempaka' too long", (None, "ANONIM Pungli di Puskesmas Cempaka"),
     "subject '[redacted]' too long"),
    ("one: jalan tidak bisa dilewati; two: air tidak mengalir lagi",
     ("jalan tidak bisa dilewati, air tidak mengalir lagi",), "one: [redacted]; two: [redacted]"),
    ("report 1234567 is not a valid follow-up", ("this is not an accident",),
     "report 1234567 is not a valid follow-up"),  # "is not a" inside "is not an": no quote, word for word
], ids=["middle-quote", "no-quote", "two-words-only", "the-subject", "two-quotes", "words-not-inside-words"])
def test_a_downstreams_words_keep_no_quote_of_a_reports_text(said: str, texts: tuple[str | None, ...],
                                                             kept: str) -> None:
    assert withhold_quoted(said, *texts) == kept
