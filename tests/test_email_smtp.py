"""The SMTP server's promises: never an open relay, a size limit, 451 until durable, dedup, threading, loop
guards, a per-address reply cap and STARTTLS, all over real SMTP sessions on loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import io
import itertools
import os
import re
import smtplib
import socket
import ssl
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email._header_value_parser import get_unstructured, parse_message_id
from email.header import Header
from email.headerregistry import MessageIDHeader, UnstructuredHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.scheduler import RQScheduler

from channels.base import InboundMessage
from channels.email import processor as processor_module
from channels.email.guards import SUPPRESSED, loop_reason
from channels.email.parse import (
    MAX_FIELD_PARSE,
    MAX_MIME_FIELD_BYTES,
    MAX_NAMED_REPORTS,
    MAX_SUBJECT_CHARS,
    parse_mail,
)
from channels.email.processor import MailProcessor
from channels.email.reply import MAX_REPLY_SUBJECT, outbox_dir, reply_body, status_body
from channels.email.server import (
    COMMAND_STREAM_LIMIT,
    MAX_RECIPIENTS,
    SESSION_TIMEOUT_SECONDS,
    LoggedSMTP,
    readable_size,
    refusal_text,
)
from channels.email.store import MAX_LISTED_ATTACHMENTS
from gateway.followups import asking_once, found_nowhere
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.intake import Intake
from gateway.queries import StatusLookup
from gateway.queues import (
    ALL_QUEUES,
    FORWARD_QUEUE,
    REPLY_QUEUE,
    JSONSerializer,
    envelope_key,
    queue,
    redis_connection,
)
from gateway.replies import load_replies, render
from gateway.settings import Settings, SettingsError
from gateway.spool import SPOOL_DIR, Spool
from gateway.tracking import TrackingIdAllocator, format_tracking_id
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.pipeline import cut_marker, cut_to_limit, normalize
from tests.aggregator_support import drain
from tests.conftest import CaseStoreServer, LoopbackServer, TestEnvironment, free_port, log_events, wait_until
from tests.copy_support import DAMAGES, Damage, damage
from tests.email_support import (
    FIXTURES,
    RECIPIENT,
    SmtpServerThread,
    envelope_count,
    fixture,
    header_size_of,
    mail_forwarding,
    mail_nested,
    mail_of_parts,
    mail_through_relays,
    mail_with_flooded_parts,
    mail_with_header_lines,
    outbox,
    run_replies,
    stored_envelope,
)
from tests.image_support import FIXTURES as ATTACHMENT_FIXTURES
from tests.test_anonymous_traces import redis_values
from tests.test_envelope_schema import sample_envelope
from tests.test_sms_aggregator import spool_file_held
from workers import email_reply as email_reply_worker
from workers import forward
from workers.context import WorkerContext, current, use_context
from workers.deadletters import DeadLetters
from workers.own_identity import without_own_identity


def citizen_mail(subject: str = "Jalan rusak", body: str = "Jalan di depan pasar rusak parah.",
                 sender: str = "warga@example.net", message_id: str | None = "auto",
                 headers: dict[str, str] | None = None, name: str = "Warga") -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = RECIPIENT
    message["Subject"] = subject
    if message_id == "auto":
        message["Message-ID"] = make_msgid(domain="example.net")
    elif message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes().replace(b"\n", b"\r\n")


@pytest.fixture
def make_server(test_env: TestEnvironment, redis: Redis) -> Iterator:  # type: ignore[type-arg]
    servers: list[SmtpServerThread] = []

    def make(intake_redis: Redis | None = None, *, with_spool: bool = False, **env: str) -> SmtpServerThread:
        settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), **env)
        connection = intake_redis or redis
        spool = Spool(settings.data_dir / SPOOL_DIR) if with_spool else None
        server = SmtpServerThread(settings, connection, Intake(connection, settings, spool)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.mark.parametrize(
    ("rcpt", "domains", "code"),
    [
        ("pengaduan@lapor.go.id", "", 250),
        ("PENGADUAN@Lapor.Go.Id", "", 250),
        ("someone@gmail.com", "", 550),
        ("admin@lapor.go.id", "", 550),
        ("pengaduan@lapor.go.id.evil.example", "", 550),
        ("admin@lapor.go.id", "lapor.go.id", 250),
        ("victim@example.org", "lapor.go.id", 550),
        # a subaddress of ours (RFC 5233) is our mailbox, as Postfix, Gmail and Exchange Online deliver it: refused,
        # the citizen got a bounce for a mail their provider's MTA had taken for us
        ("pengaduan+wbs@lapor.go.id", "", 250),
        ("Pengaduan+Desa.Sukamaju@LAPOR.go.id", "", 250),
        ("admin+pengaduan@lapor.go.id", "", 550),
        ("pengaduan+wbs@lapor.go.id.evil.example", "", 550),
        ("pengaduanx+wbs@lapor.go.id", "", 550),
    ],
    ids=["our-address", "case-insensitive", "foreign", "other-local-part", "lookalike-domain", "our-domain",
         "foreign-with-domains", "our-subaddress", "our-subaddress-case-insensitive", "another-local-parts-subaddress",
         "our-subaddress-at-a-lookalike-domain", "a-longer-local-parts-subaddress"],
)
def test_recipients_outside_our_addresses_are_refused(make_server, redis: Redis, rcpt: str, domains: str,  # type: ignore[no-untyped-def]
                                                      code: int) -> None:
    server = make_server(LAPOR_EMAIL_DOMAINS=domains) if domains else make_server()
    result = server.deliver(citizen_mail(), rcpts=(rcpt,))
    assert result.rcpt_codes == [code]
    assert envelope_count(redis) == (1 if code == 250 else 0)


@pytest.mark.parametrize("rcpt", [pytest.param(b"<warga\xff@lapor.go.id>", id="undeclared-8-bit"),
                                  pytest.param(b"<warga\x00@lapor.go.id>", id="nul"),
                                  pytest.param("<w\u00e9rga@lapor.go.id>".encode(), id="utf-8-without-smtputf8")])
def test_a_recipient_of_our_domain_that_is_no_address_is_refused_and_the_mail_behind_it_is_not_held(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, rcpt: bytes) -> None:
    """With `email.domains`, any local part of ours was taken, one of control characters or 8-bit bytes too: a mail
    without a sender behind it could not be recorded in the quarantine (its record holds the recipients), and was
    answered 451 on every attempt, its sending server retrying for days."""
    server = make_server(LAPOR_EMAIL_DOMAINS="lapor.go.id")
    no_sender = b"To: pengaduan@lapor.go.id\r\nSubject: Jalan rusak\r\n\r\nJalan di depan pasar rusak.\r\n"
    commands = [b"EHLO x\r\n", b"MAIL FROM:<warga@example.net>\r\n", b"RCPT TO:" + rcpt + b"\r\n"]
    assert _last_reply(server.port, commands).startswith(b"553 5.1.3 ")
    line = _last_reply(server.port, [*commands, f"RCPT TO:<{RECIPIENT}>\r\n".encode(), b"DATA\r\n",
                                     no_sender + b".\r\n"])
    assert line.startswith(b"250 ")
    [quarantined] = (server.settings.data_dir / "email" / "quarantine").glob("*.json")
    assert orjson.loads(quarantined.read_bytes())["recipients"] == [RECIPIENT]


def test_recipients_past_the_limit_are_refused_for_now_and_the_mail_is_still_taken_once(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """Without a limit, every RCPT for one of our addresses was kept until DATA: 20,000 were all taken, and a client
    sending them without end grew the process's memory without bound. Past the limit a RCPT gets 452 (RFC 5321
    4.5.3.1.10: the sending server delivers to the rest in another transaction, the same report by the dedup); the
    recipients taken get the mail, filed once."""
    server = make_server()
    with server.client() as client:
        assert client.mail("warga@example.net")[0] == 250
        codes = [client.rcpt(RECIPIENT)[0] for _ in range(MAX_RECIPIENTS)]
        assert codes == [250] * MAX_RECIPIENTS
        assert client.rcpt(RECIPIENT)[0] == 452
        assert client.rcpt("victim@example.org")[0] == 550  # a relay attempt is still refused for good
        code, message = client.data(citizen_mail())
    assert code == 250 and b"LAPOR #" in message
    assert envelope_count(redis) == 1


def test_a_relay_attempt_among_valid_recipients_only_drops_the_foreign_one(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    result = server.deliver(citizen_mail(), rcpts=("victim@example.org", RECIPIENT))
    assert result.rcpt_codes == [550, 250]
    assert result.data_code == 250
    assert envelope_count(redis) == 1


def test_a_sessions_next_refusals_are_logged_under_no_tracking_id_of_its_last_mail_and_with_the_code_sent(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, log_stream: io.StringIO) -> None:
    """The Tracking ID bound while a mail was processed stayed bound to its session: the refusals of the session's
    next transaction (a relay attempt, a mail over the size limit) were logged under the first mail's ID, a report they
    had nothing to do with. A line over the size limit was logged `code` 500 while the client got 552."""
    server = make_server(LAPOR_EMAIL_MAX_MESSAGE_BYTES="4096")
    with server.client() as client:
        assert client.mail("warga@example.net")[0] == 250 and client.rcpt(RECIPIENT)[0] == 250
        code, message = client.data(citizen_mail())
        assert code == 250 and b"LAPOR #" in message
        assert client.mail("warga@example.net")[0] == 250
        assert client.rcpt("victim@example.org")[0] == 550
        assert client.rcpt(RECIPIENT)[0] == 250
        assert client.data(b"Subject: x\r\n\r\n" + b"x" * 5000 + b"\r\n")[0] == 552
    accepted = [e for e in log_events(log_stream) if e.get("event") == "message.accepted"]
    assert accepted and accepted[0].get("tracking_id")
    refusals = [e for e in log_events(log_stream) if e.get("event") in ("smtp.refused", "email.relay_denied")]
    assert len(refusals) == 3, refusals
    assert not [e for e in refusals if "tracking_id" in e], refusals
    assert [e.get("code") for e in refusals if e["event"] == "smtp.refused"] == ["550", "552"]
    assert envelope_count(redis) == 1


def test_a_mail_whose_client_leaves_after_its_final_dot_is_filed_whole_and_once(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """aiosmtpd cancels a session's handler when its connection drops: a sending server that left after the final
    dot (its timeout, a network hiccup) cut the mail off half-way, its report filed with no reply job, no
    `message.accepted` line and no count. The mail is processed to its end; its delivery again is the same report."""
    queue_reply_job = MailProcessor._queue_reply_job

    async def slow_queue_reply_job(self: MailProcessor, payload: dict[str, object]) -> None:
        await asyncio.sleep(0.5)  # the client is gone by now
        await queue_reply_job(self, payload)

    monkeypatch.setattr(MailProcessor, "_queue_reply_job", slow_queue_reply_job)
    server = make_server()
    mail = citizen_mail()
    replies = queue(REPLY_QUEUE, redis)
    _leave_after_the_final_dot(server.port, mail)  # the client leaves without the answer
    wait_until(lambda: replies.count == 1)
    gone = wait_until(lambda: [e for e in log_events(log_stream) if e.get("event") == "smtp.client_gone"])
    assert envelope_count(redis) == 1
    accepted = [e for e in log_events(log_stream) if e.get("event") == "message.accepted"]
    assert [e["duplicate"] for e in accepted] == [False]
    [tracking_id] = [key.decode().rsplit(":", 1)[1] for key in redis.scan_iter("lapor:envelope:*")]
    assert gone == [{**gone[0], "code": "250", "tracking_id": tracking_id}]
    # Delivered again, as the sending server does: the same report.
    assert server.deliver(mail).tracking_id == tracking_id
    assert envelope_count(redis) == 1


def _leave_after_the_final_dot(port: int, mail: bytes) -> None:
    """A transaction over the socket whose client leaves after its final dot, without waiting for the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220")
        for command in _transaction(mail):
            sock.sendall(command)
            if not command.endswith(b".\r\n"):
                line = reader.readline()
                while line[3:4] == b"-":
                    line = reader.readline()
                assert line[:1] in (b"2", b"3"), line
        reader.close()  # the socket closes with its last file


def test_a_mail_whose_client_left_is_processed_to_its_end_across_a_stop(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """The stop of `lapor-gateway smtp` closed the intake and returned at once (the server's `wait_closed` does not
    wait in Python 3.11), and the mail its client had left was cancelled half-way: filed with no reply job and no
    `message.accepted` line. The stop waits for it (bounded)."""
    queue_reply_job = MailProcessor._queue_reply_job
    queueing = []

    async def slow_queue_reply_job(self: MailProcessor, payload: dict[str, object]) -> None:
        queueing.append(True)
        await asyncio.sleep(1.0)  # the client is gone, and the server stopping, by now
        await queue_reply_job(self, payload)

    monkeypatch.setattr(MailProcessor, "_queue_reply_job", slow_queue_reply_job)
    server = make_server()
    _leave_after_the_final_dot(server.port, citizen_mail())
    wait_until(lambda: queueing)
    server.stop()
    assert envelope_count(redis) == 1
    assert queue(REPLY_QUEUE, redis).count == 1
    assert [e["event"] for e in log_events(log_stream) if e.get("event") == "message.accepted"] == ["message.accepted"]
    assert [e.get("code") for e in log_events(log_stream) if e.get("event") == "smtp.client_gone"] == ["250"]


def test_a_mail_whose_client_left_and_whose_processing_failed_names_the_exception(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """`smtp.client_gone` of a mail whose processing raised said only `code: null`, as if it had been cancelled."""
    from channels.email.server import IntakeHandler

    async def failing(*args: object) -> str:
        await asyncio.sleep(0.5)  # the client is gone by now
        raise RuntimeError("processing failed")

    monkeypatch.setattr(IntakeHandler, "_answer", failing)
    server = make_server()
    _leave_after_the_final_dot(server.port, citizen_mail())
    gone = wait_until(lambda: [e for e in log_events(log_stream) if e.get("event") == "smtp.client_gone"])
    assert [(e.get("code"), e.get("error")) for e in gone] == [(None, "RuntimeError")]


def test_the_size_limit_is_announced_and_enforced(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server(LAPOR_EMAIL_MAX_MESSAGE_BYTES="4096")
    big = citizen_mail(body="Laporan panjang. " * 600)
    counted = rejected("too_large")
    with server.client() as client:
        assert client.esmtp_features["size"] == "4096"
        code, _ = client.mail("warga@example.net", options=[f"SIZE={len(big)}"])
        assert code == 552
    # A client that does not declare the size is refused at the end of DATA.
    result = server.deliver(big)
    assert result.data_code == 552
    assert envelope_count(redis) == 0
    assert rejected("too_large") == counted + 2  # both refusals, as IMAP counts a mail it passes for its size
    assert server.deliver(citizen_mail()).data_code == 250


def long_line_mail(line: str, content_type: str = "text/plain; charset=utf-8", encoding: str = "8bit") -> bytes:
    """A mail whose body is `line` on one line, as old webmail, web forms and scripts write it: no wrapping, no
    quoted-printable."""
    head = (f"From: Warga <warga@example.net>\r\nTo: {RECIPIENT}\r\nSubject: Jalan rusak\r\n"
            f"Message-ID: {make_msgid(domain='example.net')}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n")
    return (head + line + "\r\n").encode()


LONG_LINE_ROWS = [
    pytest.param("Jalan di depan SDN 3 berlubang besar. " * 130, "text/plain; charset=utf-8", "8bit",
                 "Jalan di depan SDN 3 berlubang besar.", id="text-5-kb"),
    pytest.param("<html><body>" + "<p>Jalan di depan SDN 3 berlubang besar.</p>" * 2500 + "</body></html>",
                 "text/html; charset=utf-8", "8bit", "Jalan di depan SDN 3 berlubang besar.", id="html-110-kb"),
    pytest.param(base64.b64encode(("Jalan di depan SDN 3 berlubang besar. " * 40).encode()).decode(),
                 "text/plain; charset=utf-8", "base64", "Jalan di depan SDN 3 berlubang besar.", id="base64-unbroken"),
]


@pytest.mark.parametrize(("line", "content_type", "encoding", "text"), LONG_LINE_ROWS)
def test_a_mail_with_lines_longer_than_rfc_5321s_1000_bytes_is_taken(make_server, redis: Redis, line: str,  # type: ignore[no-untyped-def]
                                                                      content_type: str, encoding: str,
                                                                      text: str) -> None:
    """Old webmail, web forms and scripts write a body on one line; Postfix and Gmail take such mail. At aiosmtpd's
    1,001 bytes it got `500 Line too long` at the end of DATA, a permanent refusal in English: the mail was lost."""
    server = make_server()
    result = server.deliver(long_line_mail(line, content_type, encoding))
    assert result.data_code == 250, result.data_message
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None and text in envelope["text"]
    with server.client() as client:  # a command line is held to its 512 bytes as before
        assert client.docmd("NOOP " + "x" * 600)[0] == 500


def test_a_command_line_without_its_end_is_not_held_as_long_as_a_mail_line(make_server) -> None:  # type: ignore[no-untyped-def]
    """A line of DATA may be as long as the mail; a command line is refused at 512 bytes, and a client that sends
    megabytes before DATA with no line end had them all held per session (the stream's limit was the mail's)."""
    server = make_server(LAPOR_EMAIL_MAX_MESSAGE_BYTES=str(64 * 2**20))
    sent = 8 * 2**20
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"NOOP " + b"x" * sent)
        time.sleep(0.5)  # the server reads what arrived
        held = [len(session._reader._buffer) for session in gc.get_objects() if isinstance(session, LoggedSMTP)
                and session.transport is not None]
        assert held and max(held) <= 2 * COMMAND_STREAM_LIMIT + 2**20, held
        sock.sendall(b"\r\n")
        assert reader.readline().startswith(b"500")  # refused once the line is whole, as before
        sock.sendall(b"NOOP\r\n")
        assert reader.readline().startswith(b"250")


def test_451_while_redis_is_unreachable_and_250_once_it_is_back(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    closed = redis_connection(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    down = make_server(intake_redis=closed)
    mail = citizen_mail(message_id="<retry-1@example.net>")
    result = down.deliver(mail)
    assert result.data_code == 451
    assert result.data_message.startswith("4.3.0")
    assert envelope_count(redis) == 0
    # The sending server retries later against a gateway whose Redis works: the report is made once.
    up = make_server()
    result = up.deliver(mail)
    assert result.data_code == 250
    assert stored_envelope(redis, result.tracking_id or "") is not None


def test_the_same_message_id_twice_is_one_report_and_one_reply(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    mail = citizen_mail(message_id="<same-1@example.net>")
    first = server.deliver(mail)
    # The same Message-ID re-sent by another relay with different trace headers is still the same mail.
    second = server.deliver(b"Received: from relay2.example.net by mx.lapor.go.id\r\n" + mail)
    assert first.tracking_id and first.tracking_id == second.tracking_id
    assert envelope_count(redis) == 1
    run_replies(server.settings, redis)
    assert len(outbox(server.settings)) == 1


def test_the_same_mail_re_encoded_by_a_relay_is_one_report(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """A relay that cannot pass 8-bit mail on re-encodes its body (quoted-printable), and Exchange writes a mailbox's
    MIME anew when it moves (the IMAP poller then reads the folder again): the same mail, under its Message-ID, with
    another body as sent. It is the same report, answered once."""
    server = make_server()
    first = citizen_mail(subject="Pungli", body="Kepala desa minta uang – Rp 50.000 – untuk surat domisili.",
                         message_id="<reencoded-1@example.net>")
    message = BytesParser(policy=policy.default).parsebytes(first)
    message.set_content("Kepala desa minta uang – Rp 50.000 – untuk surat domisili.", cte="quoted-printable")
    again = b"Received: from relay2.example.net by mx.lapor.go.id\r\n" + message.as_bytes().replace(b"\n", b"\r\n")
    assert b"=E2=80=93" in again and b"\xe2\x80\x93" in first  # the same words, another body
    one, two = server.deliver(first), server.deliver(again)
    assert one.tracking_id is not None and one.tracking_id == two.tracking_id
    assert envelope_count(redis) == 1
    run_replies(server.settings, redis)
    assert len(outbox(server.settings)) == 1


REWRITTEN_BODY = "Kepala desa minta uang Rp 50.000 untuk surat domisili."


def _with_html(raw: bytes, html: str) -> bytes:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    message.add_alternative(html, subtype="html")
    return message.as_bytes().replace(b"\r\r\n", b"\r\n")


@pytest.mark.parametrize("rewrite", [
    pytest.param(lambda raw: _with_html(raw, f'<html><head><meta http-equiv="Content-Type" content="text/html">'
                                             f'</head><body><div dir="ltr">{REWRITTEN_BODY}</div></body></html>'),
                 id="an-html-alternative-added"),
])
def test_the_same_mail_rewritten_by_exchange_is_one_report(make_server, redis: Redis, rewrite) -> None:  # type: ignore[no-untyped-def]
    """Exchange writes a mailbox's MIME anew when it moves (the IMAP poller then reads the folder again): an HTML
    alternative added to a plain mail, or its HTML re-wrapped, and the key that digested each part made it a second
    report. The text the mail is read as is the plain part's: the same report."""
    server = make_server()
    first = citizen_mail(subject="Pungli", body=REWRITTEN_BODY, message_id="<rewritten-1@example.net>")
    one, two = server.deliver(first), server.deliver(rewrite(first))
    assert one.tracking_id is not None and one.tracking_id == two.tracking_id
    assert envelope_count(redis) == 1


def test_two_forwarded_mails_under_one_message_id_are_two_reports(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """A form mailer sends two citizens' forwarded evidence with the same words around it under one Message-ID: the
    forwarded mails differ in their From and Subject, which the key read from their words alone missed, and the second
    was answered as a repeat of the first."""
    server = make_server()

    def forwarded(sender: str, subject: str) -> bytes:
        inner = EmailMessage()
        inner["From"], inner["Subject"] = sender, subject
        inner.set_content("Mohon ditindaklanjuti.")
        outer = BytesParser(policy=policy.default).parsebytes(
            citizen_mail(subject="Fwd: aduan", body="Lihat lampiran.", message_id="<form-1@form.example>"))
        outer.add_attachment(inner)
        return outer.as_bytes()

    one = server.deliver(forwarded("camat@kec.example.go.id", "Pungli IMB Rp 5 juta"))
    two = server.deliver(forwarded("lurah@kel.example.go.id", "Pungli KTP Rp 200 ribu"))
    assert one.tracking_id is not None and two.tracking_id is not None and one.tracking_id != two.tracking_id
    assert envelope_count(redis) == 2


def test_a_mail_whose_reply_could_not_be_queued_is_acknowledged_when_it_is_sent_again(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its report was stored and its reply job was not (Redis lost in between): 451, and the sending server sends it
    again. The reply to that delivery is the citizen's first and only answer, so it is the acknowledgement, with how
    to add to the report: it was "we already have this report", though nobody had sent it before. (A mail comes again
    only from a sending server or the IMAP poller, never from a citizen, whose client gives each mail a Message-ID of
    its own; and one whose first reply went out gets none again.)"""
    server = make_server()
    enqueue, calls = processor_module.enqueue_calls, []

    def lost_once(*args: object) -> None:
        calls.append(args)
        if len(calls) == 1:
            raise RedisConnectionError("lost")
        enqueue(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(processor_module, "enqueue_calls", lost_once)
    mail = citizen_mail()
    assert server.deliver(mail).data_code == 451
    again = server.deliver(mail)
    assert again.data_code == 250 and again.tracking_id is not None and envelope_count(redis) == 1
    run_replies(server.settings, redis)
    [reply] = outbox(server.settings)
    assert reply.get_content() == reply_body("ack", again.tracking_id)


@pytest.mark.parametrize(("subject", "key"), [
    ("Jalan rusak", "ack"),
    ("ANONIM Pungli di kantor kecamatan", "ack_anonymous"),
    ("[ANONIM] Pungli di kantor kecamatan", "ack_anonymous"),
    ("RAHASIA Pungli di kantor kecamatan", "ack_confidential"),
    ("[ANONIM, RAHASIA] Pungli di kantor kecamatan", "ack_anonymous_confidential"),
], ids=["named", "anonim-in-subject", "tag-in-subject", "rahasia-in-subject", "both-in-subject"])
def test_an_anonymous_mails_acknowledgement_says_its_sender_is_kept_secret(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, subject: str, key: str) -> None:
    """The whistleblower's acknowledgement read word for word as anyone's: they could not tell an ANONIM that was
    honoured from one that was not. An anonymous report's says the identity is kept secret; a named one's does not."""
    server = make_server()
    result = server.deliver(citizen_mail(subject=subject))
    assert result.data_code == 250 and result.tracking_id is not None
    run_replies(server.settings, redis)
    [reply] = outbox(server.settings)
    assert reply.get_content() == reply_body(key, result.tracking_id)
    assert ("Identitas Anda dirahasiakan" in reply.get_content()) is ("anonymous" in key)
    # a confidential report's says its content is not made public (the citizen's RAHASIA was read)
    assert ("Isi laporan Anda tidak dipublikasikan" in reply.get_content()) is ("confidential" in key)
    assert ("content is not made public" in reply.get_content()) is ("confidential" in key)


@dataclass(frozen=True)
class MessageIdRow:
    """A second mail under the first one's Message-ID (from whistle@example.net, an anonymous report) and whether it is
    that mail again (an MTA's retry, the IMAP poller reading it again, another relay's copy) or a mail of its own."""

    id: str
    sender: str
    body: str
    same_report: bool
    trace: bytes = b""


MESSAGE_ID_ROWS = [
    MessageIdRow("same-sender-retried", "whistle@example.net", "Pungli dana desa oleh kepala desa.", True),
    MessageIdRow("same-sender-through-another-relay", "whistle@example.net", "Pungli dana desa oleh kepala desa.",
                 True, trace=b"Received: from relay2.example.net by mx.lapor.go.id\r\n"),
    MessageIdRow("same-sender-in-capitals", "Whistle@Example.NET", "Pungli dana desa oleh kepala desa.", True),
    # Form mailers and broken clients reuse Message-IDs, and anyone who saw a copy of a mail can send one under its
    # Message-ID: as one mail, the stranger was answered "duplicate" with the whistleblower's Tracking ID (in the
    # SMTP answer and the reply), tying them to the anonymous report, and their own report was lost.
    MessageIdRow("other-sender-other-text", "other@example.org", "Jalan di depan balai desa berlubang.", False),
    MessageIdRow("other-sender-same-text", "other@example.org", "Pungli dana desa oleh kepala desa.", False),
    # A form mailer sends every citizen's complaint from its one address under one Message-ID: the second was
    # answered with the first's Tracking ID, and lost.
    MessageIdRow("same-sender-other-text", "whistle@example.net", "Jalan di depan balai desa berlubang.", False),
]


@pytest.mark.parametrize("row", MESSAGE_ID_ROWS, ids=[row.id for row in MESSAGE_ID_ROWS])
def test_a_message_id_is_one_mail_only_from_its_sender(make_server, redis: Redis, row: MessageIdRow) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    message_id = "<form-mailer-1@example.com>"
    first = server.deliver(citizen_mail(subject="ANONIM: pungli", body="Pungli dana desa oleh kepala desa.",
                                        sender="whistle@example.net", message_id=message_id),
                           mail_from="whistle@example.net")
    second = server.deliver(row.trace + citizen_mail(subject="ANONIM: pungli" if row.same_report else "Laporan",
                                                     body=row.body, sender=row.sender, message_id=message_id),
                            mail_from=row.sender.lower())
    assert first.data_code == second.data_code == 250 and first.tracking_id and second.tracking_id
    run_replies(server.settings, redis)
    replies = outbox(server.settings)
    if row.same_report:
        assert second.tracking_id == first.tracking_id
        assert envelope_count(redis) == 1
        assert [str(r["To"]) for r in replies] == ["whistle@example.net"]  # one reply: the first delivery's
        return
    assert second.tracking_id != first.tracking_id
    assert first.tracking_id not in second.data_message
    assert envelope_count(redis) == 2
    envelope = stored_envelope(redis, second.tracking_id)
    assert envelope is not None
    assert (envelope["sender"]["id"], envelope["text"], envelope["anonymous"]) == (row.sender, row.body, False)
    # Each mail answered at its own address, with its own Tracking ID; the stranger's never names the first.
    [theirs] = [r for r in replies if str(r["To"]) == row.sender and second.tracking_id in str(r["Subject"])]
    assert str(theirs["Subject"]) == f"[LAPOR #{second.tracking_id}] Laporan"
    assert theirs.get_content() == reply_body("ack", second.tracking_id)
    assert first.tracking_id not in theirs.as_string()
    assert sorted(str(r["To"]) for r in replies) == sorted(["whistle@example.net", row.sender])
    assert sorted(str(r["Subject"]) for r in replies) == sorted(
        [f"[LAPOR #{first.tracking_id}] ANONIM: pungli", f"[LAPOR #{second.tracking_id}] Laporan"])


def test_what_a_mail_leaves_on_disk_has_its_name_on_disk_before_the_250(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quarantined mail and a stored attachment are renamed into place: their bytes fsynced, but their names only
    once their directory is. Without that, a power cut a few seconds after the 250 lost the quarantined mail (kept
    nowhere else) and the report's photo."""
    synced: list[str] = []
    fsync = os.fsync

    def recording(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    server = make_server()
    data_dir = server.settings.data_dir.resolve()
    assert server.deliver(fixture("quarantine_no_from")).data_code == 250
    assert str(data_dir / "email" / "quarantine") in synced
    result = server.deliver(fixture("outlook_pdf_attachment"))
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None
    [attachment] = envelope["attachments"]
    assert str((data_dir / attachment["location"]).parent) in synced


def test_without_message_id_dedup_uses_a_hash_of_the_raw_message(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    mail = citizen_mail(message_id=None)
    first, second = server.deliver(mail), server.deliver(mail)
    other = server.deliver(citizen_mail(message_id=None, body="Laporan lain sama sekali."))
    assert first.tracking_id == second.tracking_id != other.tracking_id
    assert envelope_count(redis) == 2


def test_hundreds_of_tiny_attachments_do_not_blow_up_the_envelope(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """Listed one by one, each part cost ~180 bytes of envelope: 90,000 lean one-byte parts (an 8 MB mail) made an
    envelope past the case store's 16 MiB request limit, which refused it with the other reports of its batch. The
    MIME-part limit (1,000) now refuses such a mail; 500 parts, within it, would still make an envelope of 90 KB."""
    server = make_server()
    result = server.deliver(mail_of_parts(502))
    assert result.data_code == 250
    raw = redis.get(f"lapor:envelope:{result.tracking_id}")
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert raw is not None and envelope is not None
    assert len(envelope["attachments"]) == MAX_LISTED_ATTACHMENTS
    assert envelope["attachments"][0]["name"] == "0.png"
    assert envelope["channel_meta"]["attachments_omitted"] == 500 - MAX_LISTED_ATTACHMENTS
    assert len(raw) < 64 * 1024


def redis_state(redis: Redis) -> tuple[dict[str, int], set[bytes]]:
    """Queue lengths and every key but the health counters (they count the mail on purpose)."""
    keys = {key for key in redis.scan_iter() if not key.startswith((b"lapor:health:", b"rq:worker"))}
    return {name: queue(name, redis).count for name in ALL_QUEUES}, keys


def rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("lapor_messages_rejected_total", {"channel": "email-smtp", "reason": reason}) or 0


# (the limit's setting at 10, a mail, the refusal's reason and its text's table, the count the log line carries, the
# code): at the limit accepted, over it refused. Parsing costs ~1.4 ms of CPU per part (the ~115,000 one-byte
# attachments 20 MiB can hold pinned the SMTP process for minutes) and nesting costs quadratically (every line is
# matched against every enclosing boundary: 400 levels, most of a second).
MIME_LIMITS = {
    "parts-at-the-limit": ("LAPOR_EMAIL_MAX_MIME_PARTS", lambda: mail_of_parts(10), "too_many_parts", "parts", 250),
    "parts-one-over": ("LAPOR_EMAIL_MAX_MIME_PARTS", lambda: mail_of_parts(11), "too_many_parts", "parts", 552),
    "depth-at-the-limit": ("LAPOR_EMAIL_MAX_MIME_DEPTH", lambda: mail_nested(10), "too_deeply_nested", "depth", 250),
    "depth-400": ("LAPOR_EMAIL_MAX_MIME_DEPTH", lambda: mail_nested(400), "too_deeply_nested", "depth", 552),
    # a forwarded mail in base64 is decoded and read again, within what the mail has left of its limits
    "forwarded-parts-at-the-limit": ("LAPOR_EMAIL_MAX_MIME_PARTS", lambda: mail_forwarding(mail_of_parts(7)),
                                     "too_many_parts", "parts", 250),
    "forwarded-parts-one-over": ("LAPOR_EMAIL_MAX_MIME_PARTS", lambda: mail_forwarding(mail_of_parts(8)),
                                 "too_many_parts", "parts", 552),
    "forwarded-depth-at-the-limit": ("LAPOR_EMAIL_MAX_MIME_DEPTH", lambda: mail_forwarding(mail_nested(8)),
                                     "too_deeply_nested", "depth", 250),
    "forwarded-depth-400": ("LAPOR_EMAIL_MAX_MIME_DEPTH", lambda: mail_forwarding(mail_nested(400)),
                            "too_deeply_nested", "depth", 552),
    # in quoted-printable its parts were read once already: counted once
    "forwarded-quoted-printable-parts-at-the-limit": (
        "LAPOR_EMAIL_MAX_MIME_PARTS", lambda: mail_forwarding(mail_of_parts(7), "quoted-printable"), "too_many_parts",
        "parts", 250),
}


@pytest.mark.parametrize("case", list(MIME_LIMITS), ids=list(MIME_LIMITS))
def test_a_mail_over_a_mime_limit_is_refused_with_552_and_nothing_kept(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                                       log_stream: io.StringIO, case: str) -> None:
    """Over `email.max_mime_parts` or `email.max_mime_depth` the mail is refused at DATA, the parse stopping at the
    first part over the limit, and nothing is kept."""
    setting, mail, reason, count, code = MIME_LIMITS[case]
    server = make_server(**{setting: "10"})
    before, refused_before = redis_state(redis), rejected(reason)
    result = server.deliver(mail())
    assert result.data_code == code, result.data_message
    events = [e for e in log_events(log_stream) if e.get("reason") == reason]
    if code == 250:
        assert envelope_count(redis) == 1 and events == []
        return
    assert result.data_message == "5.3.4 " + refusal_text(f"smtp_{reason}", limit=10)
    assert redis_state(redis) == before  # no report, no reply, no dedup key
    assert not (server.settings.data_dir / "email" / "quarantine").exists()
    assert rejected(reason) == refused_before + 1
    [line] = events
    assert {k: line[k] for k in ("event", "status", count, "limit")} == {"event": "message.rejected", "status": 552,
                                                                         count: 11, "limit": 10}
    assert "warga" not in str(line) and "Foto" not in str(line) and "berlubang" not in str(line)


def test_a_body_of_boundary_look_alikes_is_not_counted_as_parts(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """Dashes, a signature, Outlook's separator and lines that start like the boundary are text, not parts."""
    server = make_server(LAPOR_EMAIL_MAX_MIME_PARTS="10")
    look_alikes = "--\n-- \n-----Original Message-----\n--lapor-bx\n---lapor-b\n --lapor-b\n--lapor-b -\n"
    mail = mail_of_parts(3, text="Foto kerusakan terlampir.\n" + look_alikes * 10, boundary="lapor-b")
    assert mail.count(b"\r\n--") > 60
    result = server.deliver(mail)
    assert result.data_code == 250, result.data_message
    assert envelope_count(redis) == 1


@dataclass
class HeaderCase:
    """One mail over a real SMTP session, against the header limits as configured by default (50,000 lines and
    2 MiB, the message's own header and its parts' together): refused with 552 5.3.4 and the text of the reason's
    table, or taken."""

    id: str
    mail: Callable[[], bytes]
    code: int
    reason: str = ""
    limit: object = None  # as the refusal quotes it
    logged: dict[str, int] = field(default_factory=dict)  # counts of the `message.rejected` line


# A part's Content-Disposition of 1 KB of parameters (five folded lines).
PARAMETERS_OF_A_KB = "Content-Disposition: attachment;" + ("\n " + "x;" * 100) * 5

# Before the limits, the parser built every header line of a flood into the message (1,000,000 lines in 7.6 MiB:
# 5 s of the SMTP process's CPU, the other sessions waiting up to 0.9 s) and every lookup walked them all.
HEADER_CASES = [
    HeaderCase("top-level-flood", lambda: mail_with_header_lines(60_000), 552, "too_many_header_lines", 50_000,
               {"header_lines": 50_001, "part": 1}),
    HeaderCase("part-flood", lambda: mail_with_flooded_parts(1, 60_000), 552, "too_many_header_lines", 50_000,
               {"header_lines": 50_001, "part": 3}),
    HeaderCase("flood-spread-over-parts", lambda: mail_with_flooded_parts(120, 500), 552, "too_many_header_lines",
               50_000, {"header_lines": 50_001, "part": 102}),
    HeaderCase("long-header-lines", lambda: mail_with_header_lines(2_200, "X-Flood: " + "b" * 980), 552,
               "header_too_large", "2 MB", {"part": 1}),
    HeaderCase("mime-parameters-spread-over-parts",
               lambda: mail_with_flooded_parts(70, 1, PARAMETERS_OF_A_KB), 552,
               "mime_fields_too_large", "65536 byte", {"part": 63}),
    HeaderCase("real-mail-through-30-relays-and-3-forwarders", mail_through_relays, 250),
]


@pytest.mark.parametrize("case", HEADER_CASES, ids=[case.id for case in HEADER_CASES])
def test_a_mail_over_the_header_limits_is_refused_with_552_and_nothing_kept(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                                           log_stream: io.StringIO,
                                                                           case: HeaderCase) -> None:
    """A flood of header lines, in the message's header, in a part's or spread over a hundred parts, or of header
    bytes, is refused at DATA, the parse stopping at the first line over the limit; nothing is kept. A real mail's
    header, 30 hops and 3 ARC sets, is far from either limit."""
    server = make_server()
    before = redis_state(redis)
    refused_before = rejected(case.reason) if case.reason else 0
    result = server.deliver(case.mail())
    assert result.data_code == case.code, result.data_message
    events = [e for e in log_events(log_stream) if e.get("event") == "message.rejected"]
    if case.code == 250:
        assert envelope_count(redis) == 1 and events == []
        return
    assert result.data_message == "5.3.4 " + refusal_text(f"smtp_{case.reason}", limit=case.limit)
    assert redis_state(redis) == before  # no report, no reply, no dedup key
    assert not (server.settings.data_dir / "email" / "quarantine").exists()
    assert rejected(case.reason) == refused_before + 1
    [line] = events
    limit = {"too_many_header_lines": server.settings.email.max_header_lines,
             "mime_fields_too_large": MAX_MIME_FIELD_BYTES}.get(case.reason, server.settings.email.max_header_bytes)
    assert {k: line[k] for k in ("reason", "status", "limit", *case.logged)} == {
        "reason": case.reason, "status": 552, "limit": limit, **case.logged}
    assert "warga" not in str(line) and "berlubang" not in str(line) and "Flood" not in str(line)


@pytest.mark.parametrize(("setting", "count"), [("LAPOR_EMAIL_MAX_HEADER_LINES", 0),
                                                ("LAPOR_EMAIL_MAX_HEADER_BYTES", 1)], ids=["lines", "bytes"])
def test_a_real_mail_at_exactly_the_header_limit_is_taken_and_one_field_more_refused(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, setting: str, count: int) -> None:
    """Every line and byte of every header counts, and nothing else: with the limit set to what the standard library
    finds in a real-shaped mail's headers (its own and its three parts'), the mail is taken; with the one-line field a
    last relay adds, it is refused."""
    mail = mail_through_relays()
    server = make_server(**{setting: str(header_size_of(mail)[count])})
    assert server.deliver(mail).data_code == 250
    refused = server.deliver(b"X-Original-To: pengaduan@lapor.go.id\r\n" + mail)
    assert (refused.data_code, refused.data_message[:5]) == (552, "5.3.4")
    assert envelope_count(redis) == 1


def mail_with_a_long_file_name(name: str) -> bytes:
    """A citizen's mail with one photo named `name`, as Outlook names it: filename= in RFC 2047 and filename*= in
    RFC 2231 continuations, and name= in the Content-Type."""
    message = EmailMessage()
    message["From"] = "Warga <warga@example.net>"
    message["To"] = RECIPIENT
    message["Subject"] = "Jalan rusak"
    message.set_content("Foto terlampir.")
    message.add_attachment(b"\xff\xd8", maintype="image", subtype="jpeg", filename=name)
    encoded = Header(name, "utf-8").encode(maxlinelen=76).replace("\n", "\r\n").encode()
    raw = message.as_bytes(policy=policy.SMTP)
    disposition = b"Content-Disposition: attachment;"
    return raw.replace(b"Content-Type: image/jpeg", b'Content-Type: image/jpeg;\r\n name="' + encoded + b'"') \
        .replace(disposition, disposition + b'\r\n filename="' + encoded + b'";')


# The longest real field: a file name of 255 Thai characters (Windows' limit) as filename= and filename*= (4.2 KB).
THAI_NAME = ("ถนนเสียหายหน้าสำนักงานเทศบาล" * 10)[:251] + ".jpg"


def test_a_real_long_file_name_is_taken_and_one_field_over_its_share_of_the_budget_refused(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, log_stream: io.StringIO) -> None:
    """One field may hold an eighth of `email.max_mime_field_bytes` (8 KB): the stdlib's cost is quadratic in a
    field's length (63 KB of "x;" in one field, within the mail's budget: 55 s of CPU). The longest real field is
    taken."""
    server = make_server()
    taken = server.deliver(mail_with_a_long_file_name(THAI_NAME))
    assert taken.data_code == 250, taken.data_message
    over_its_share = "Content-Disposition: attachment;" + ("\n" + " a=b;" * 100) * 17  # 8.5 KB
    refused = server.deliver(mail_with_flooded_parts(1, 1, over_its_share))
    assert (refused.data_code, refused.data_message) == (
        552, "5.3.4 " + refusal_text("smtp_mime_fields_too_large", limit="8192 byte"))
    [line] = [e for e in log_events(log_stream) if e.get("event") == "message.rejected"]
    assert (line["reason"], line["limit"], line["part"]) == ("mime_fields_too_large", 8192, 3)


def test_the_mime_fields_budget_is_a_setting_so_a_quarantined_mail_can_be_let_through(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """`LAPOR_EMAIL_MAX_MIME_FIELD_BYTES`: what `email quarantine reprocess` raises for a mail the IMAP poller kept as
    mime_fields_too_large, as for the other limits."""
    mail = mail_with_flooded_parts(70, 1, PARAMETERS_OF_A_KB)
    assert make_server().deliver(mail).data_code == 552
    assert make_server(LAPOR_EMAIL_MAX_MIME_FIELD_BYTES="131072").deliver(mail).data_code == 250
    assert envelope_count(redis) == 1


@pytest.mark.parametrize("name", ["max_mime_parts", "max_mime_depth", "max_header_lines", "max_header_bytes",
                                  "max_mime_field_bytes"])
def test_the_mime_limits_must_be_positive(test_env: TestEnvironment, name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        test_env.settings(**{f"LAPOR_EMAIL_{name.upper()}": "0"})


def _broken_processor(monkeypatch: pytest.MonkeyPatch) -> None:
    async def process(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(MailProcessor, "process", process)


@dataclass
class Refusal:
    """One SMTP refusal a sending server quotes in its bounce: the raw commands, and the reply they earn."""

    id: str
    commands: list[bytes]
    status: str  # the code and enhanced code, unchanged by moving the text to config/replies.toml
    key: str  # the text's table in config/replies.toml
    fields: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    redis_down: bool = False
    setup: Callable[[pytest.MonkeyPatch], None] | None = None


def _transaction(mail: bytes, rcpt: str = RECIPIENT) -> list[bytes]:
    return [b"EHLO client.example.net\r\n", b"MAIL FROM:<warga@example.net>\r\n", f"RCPT TO:<{rcpt}>\r\n".encode(),
            b"DATA\r\n", mail.replace(b"\r\n.", b"\r\n..") + b".\r\n"]


REFUSALS = [
    Refusal("relay", [b"EHLO x\r\n", b"MAIL FROM:<warga@example.net>\r\n", b"RCPT TO:<victim@example.org>\r\n"],
            "550 5.7.1", "smtp_relay_denied"),
    Refusal("8bit-recipient-without-smtputf8", [b"EHLO x\r\n", b"MAIL FROM:<warga@example.net>\r\n",
                                                b"RCPT TO:<pengadu\xe1n@lapor.go.id>\r\n"], "553 5.1.3",
            "smtp_bad_recipient", env={"LAPOR_EMAIL_DOMAINS": "lapor.go.id"}),
    Refusal("too-many-recipients", [b"EHLO x\r\n", b"MAIL FROM:<warga@example.net>\r\n",
                                    *[f"RCPT TO:<{RECIPIENT}>\r\n".encode()] * (MAX_RECIPIENTS + 1)],
            "452 4.5.3", "smtp_too_many_recipients"),
    Refusal("control-char-sender", [b"EHLO x\r\n", b"MAIL FROM:<warga\x1b@example.net>\r\n"], "553 5.1.7",
            "smtp_bad_sender"),
    Refusal("8bit-sender-without-smtputf8", [b"EHLO x\r\n", b"MAIL FROM:<w\xe9rga@example.net>\r\n"], "553 5.1.7",
            "smtp_bad_sender"),
    Refusal("declared-size-too-large", [b"EHLO x\r\n", b"MAIL FROM:<warga@example.net> SIZE=999999\r\n"], "552 5.3.4",
            "smtp_too_large", {"limit": "4096 byte"}, {"LAPOR_EMAIL_MAX_MESSAGE_BYTES": "4096"}),
    Refusal("data-too-large", _transaction(citizen_mail(body="Laporan panjang. " * 600)), "552 5.3.4",
            "smtp_too_large",
            {"limit": "4096 byte"}, {"LAPOR_EMAIL_MAX_MESSAGE_BYTES": "4096"}),
    # a line longer than the mail may be (a line is taken as long as the mail may be): the mail is too large
    Refusal("line-longer-than-the-size-limit", _transaction(long_line_mail("Laporan panjang. " * 300)), "552 5.3.4",
            "smtp_too_large", {"limit": "4096 byte"}, {"LAPOR_EMAIL_MAX_MESSAGE_BYTES": "4096"}),
    Refusal("too-many-parts", _transaction(mail_of_parts(11)), "552 5.3.4", "smtp_too_many_parts", {"limit": 10},
            {"LAPOR_EMAIL_MAX_MIME_PARTS": "10"}),
    Refusal("too-deeply-nested", _transaction(mail_nested(11)), "552 5.3.4", "smtp_too_deeply_nested",
            {"limit": 10}, {"LAPOR_EMAIL_MAX_MIME_DEPTH": "10"}),
    Refusal("too-many-header-lines", _transaction(mail_with_header_lines(20)), "552 5.3.4",
            "smtp_too_many_header_lines", {"limit": 10}, {"LAPOR_EMAIL_MAX_HEADER_LINES": "10"}),
    Refusal("header-too-large", _transaction(mail_with_header_lines(200)), "552 5.3.4", "smtp_header_too_large",
            {"limit": "1024 byte"}, {"LAPOR_EMAIL_MAX_HEADER_BYTES": "1024"}),
    Refusal("not-durable", _transaction(citizen_mail()), "451 4.3.0", "smtp_retry_later", redis_down=True),
    Refusal("unexpected-error", _transaction(citizen_mail()), "451 4.3.0", "smtp_retry_later",
            setup=_broken_processor),
]


def _last_reply(port: int, commands: list[bytes]) -> bytes:
    """Raw SMTP over the socket, as the sending server speaks it; the last reply's final line, as it would quote it."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        reader = sock.makefile("rb")

        def reply() -> bytes:
            while True:
                line = reader.readline()
                if line[3:4] != b"-":
                    return line

        reply()
        replies = []
        for command in commands:
            sock.sendall(command)
            replies.append(reply())
    return replies[-1]


def test_what_a_client_sends_besides_commands_is_not_logged(make_server, log_stream: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    """aiosmtpd logs each command line it reads (`mail.log`, "<peer> >> <line>") and the first word of one it does not
    know: a client that sends its mail after a refused DATA, as some scripts and devices do, had each line of it
    logged, the citizen's words and street address among them, and a client's AUTH its password in base64. A line
    says the verb, and the greeting's and the envelope's arguments (scrubbed as any line is), nothing else."""
    server = make_server()
    credentials = base64.b64encode(b"\0relay-user\0Rahasia-Sandi-2026").decode()
    _last_reply(server.port, [
        b"EHLO client.example.net\r\n", b"MAIL FROM:<warga@example.net>\r\n", b"RCPT TO:<victim@example.org>\r\n",
        b"DATA\r\n", b"Subject: Pungli di Jl. Melati No. 5\r\n", b"\r\n",
        b"Pak RT minta uang lima puluh ribu untuk surat domisili\r\n", b".\r\n",
        b"NOOP Budi Santoso tinggal di Jl. Kenanga 7\r\n", f"AUTH PLAIN {credentials}\r\n".encode(),
        # Lines of a mail's text that open with a verb ("Helo" is how many write "Halo") are no command of its shape.
        b"Helo Pak, saya mau lapor pungli di Jl. Mawar No. 5\r\n", b"Mail ini saya kirim karena Pak Camat\r\n",
        b"QUIT\r\n"])
    wait_until(lambda: any("QUIT" in str(line.get("event")) for line in log_events(log_stream)))
    logged = "\n".join(str(value) for line in log_events(log_stream) for value in line.values())
    assert [words for words in ("Melati", "Pak RT", "PAK", "SUBJECT", "lima puluh", "Budi Santoso", "Kenanga",
                                credentials, "Mawar", "Pak Camat") if words in logged] == []
    # A command's own arguments stay, scrubbed as any line is.
    assert ">> 'EHLO client.example.net'" in logged and ">> 'MAIL FROM:<[email]>'" in logged
    assert all(f">> '{verb}'" in logged for verb in ("DATA", "NOOP", "AUTH", "QUIT"))


@pytest.mark.parametrize("row", REFUSALS, ids=[row.id for row in REFUSALS])
def test_every_smtp_refusal_text_comes_from_config_indonesian_first(make_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                                    row: Refusal) -> None:
    """The sending server quotes our refusal in the bounce the citizen reads: Indonesian, then English, from
    config/replies.toml, ASCII on one line (no SMTPUTF8 needed), with the code and enhanced code it always had."""
    if row.setup:
        row.setup(monkeypatch)
    closed = redis_connection(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5) if row.redis_down else None
    server = make_server(intake_redis=closed, **row.env)
    line = _last_reply(server.port, row.commands)
    assert line.endswith(b"\r\n") and b"\n" not in line[:-2] and len(line) < 512
    assert line.isascii()
    text = line[:-2].decode("ascii")
    indonesian, english = render(row.key, "id", **row.fields), render(row.key, "en", **row.fields)
    assert indonesian != english
    assert text == f"{row.status} {indonesian} / {english}" == f"{row.status} {refusal_text(row.key, **row.fields)}"


def test_smtp_texts_in_config_are_ascii_lines_in_both_languages() -> None:
    """Every `[smtp_*]` text: an SMTP reply is ASCII without SMTPUTF8, one line, well under 512 octets."""
    tables = {key: table for key, table in load_replies().items() if key.startswith("smtp_")}
    assert {"smtp_relay_denied", "smtp_bad_recipient", "smtp_too_many_recipients", "smtp_bad_sender",
            "smtp_retry_later", "smtp_too_large", "smtp_too_many_parts", "smtp_too_deeply_nested",
            "smtp_too_many_header_lines", "smtp_header_too_large", "smtp_mime_fields_too_large"} <= set(tables)
    for key, table in tables.items():
        assert set(table) == {"id", "en"}, key
        text = refusal_text(key, limit="20 MB")
        assert text.isascii() and "\n" not in text and len(text) < 400, key


@pytest.mark.parametrize(("size", "text"),
                         [(20 * 2**20, "20 MB"), (2**20, "1 MB"), (4096, "4096 byte"), (3 * 2**20 + 1, "3145729 byte")],
                         ids=["default", "one-mib", "small", "odd"])
def test_the_size_limit_is_quoted_as_a_citizen_reads_it(size: int, text: str) -> None:
    assert readable_size(size) == text


def test_without_message_id_a_copy_through_another_hop_is_still_one_report(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """Phones' MMS-to-mail gateways and old scripts send no Message-ID; the backup MX (or the IMAP mailbox) that
    delivers the same mail again has added its own trace fields, which do not make it another mail."""
    server = make_server()
    mail = b"Received: from mms.operator.example by mx1.lapor.go.id; Mon, 1 Dec 2026 10:00:00 +0700\r\n" + \
        citizen_mail(message_id=None)
    first = server.deliver(mail)
    again = server.deliver(b"Return-Path: <warga@example.net>\r\nDelivered-To: pengaduan@lapor.go.id\r\n"
                           b"Received: from mx2.lapor.go.id by mx1.lapor.go.id; Mon, 1 Dec 2026 10:05:00 +0700\r\n"
                           b"X-Spam-Status: No, score=0.1\r\n"
                           b"Received: from mms.operator.example by mx2.lapor.go.id; Mon, 1 Dec 2026 10:00:01 +0700\r\n"
                           + citizen_mail(message_id=None))
    assert first.tracking_id and again.tracking_id == first.tracking_id
    assert envelope_count(redis) == 1


def reply_to(reply: EmailMessage, *, subject: str | None, references: bool, body: str) -> bytes:
    """What a mail client sends when the citizen answers our acknowledgement."""
    answer = EmailMessage()
    answer["From"] = f"Warga <{reply['To']}>"
    answer["To"] = RECIPIENT
    answer["Subject"] = subject if subject is not None else "Re: " + str(reply["Subject"])
    answer["Message-ID"] = make_msgid(domain="example.net")
    if references:
        answer["In-Reply-To"] = str(reply["Message-ID"])
        answer["References"] = f"{str(reply['References']).strip()} {reply['Message-ID']}"
    answer.set_content(body + "\n\n> " + reply.get_content().splitlines()[0])
    return answer.as_bytes().replace(b"\n", b"\r\n")


# Message-IDs as the citizens' mail services write them: Exchange Online's and Outlook.com's are some 80 characters,
# over a header line's 78 with "In-Reply-To: " before them.
THREADING_IDS = [
    pytest.param("CAKd6Gv2bWx8hZ0N4jZ+Qf0oYk5mF9T6=Wq9cL3Xv0JwP8+K3Qw@mail.gmail.com", id="gmail"),
    pytest.param("1734567890.1234567.1701234567890@mail.yahoo.com", id="yahoo"),
    pytest.param("SEZPR06MB5269B1A3B5F0E1A7B7C52B9FB8F62@SEZPR06MB5269.apcprd06.prod.outlook.com", id="outlook-com"),
    pytest.param("AM0PR03MB5612A1B2C3D4E5F6A7B8C9D0E1F2A3B4@AM0PR03MB5612.eurprd03.prod.outlook.com",
                 id="exchange-online"),
    pytest.param("x" * 300 + "@example.net", id="longer-than-a-line"),
]


def raw_field(raw: bytes, name: str) -> str:
    """A header field of a mail as its bytes write it, unfolded: what a mail client that threads reads."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")
    fields = re.split(r"\n(?![ \t])", head)
    [value] = [field.split(":", 1)[1] for field in fields if field.lower().startswith(name.lower() + ":")]
    return " ".join(value.split())


@pytest.mark.parametrize("message_id", THREADING_IDS)
def test_our_reply_names_the_mail_it_answers_by_its_message_id_as_written(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                                           message_id: str) -> None:
    """Written as the encoded-words of an unstructured field (`=?utf-8?q?=3CSEZPR06...?=`), which no mail client reads
    in a msg-id, an Outlook user's Message-ID named no mail: our acknowledgement did not thread under their mail."""
    server = make_server()
    earlier = "CAHx7kPq8Jd3nE1vYw2=mT0xQ9cZL5fQ@mail.gmail.com"
    result = server.deliver(citizen_mail(message_id=f"<{message_id}>", headers={"References": f"<{earlier}>"}))
    assert result.tracking_id is not None
    run_replies(server.settings, redis)
    [path] = outbox_dir(server.settings).glob("*.eml")
    raw = path.read_bytes()
    assert raw_field(raw, "In-Reply-To") == f"<{message_id}>"
    assert raw_field(raw, "References") == f"<{earlier}> <{message_id}>"
    # Folded between ids: a line longer than 78 holds one id alone, after the field's name.
    assert max(len(line) for line in raw.splitlines()) <= max(78, len(f"In-Reply-To: <{message_id}>"))


@pytest.mark.parametrize(("by_subject", "by_references"), [(True, False), (False, True), (True, True)],
                         ids=["subject-tag", "references", "both"])
def test_an_answer_to_our_reply_is_a_follow_up(make_server, redis: Redis, by_subject: bool,  # type: ignore[no-untyped-def]
                                               by_references: bool) -> None:
    server = make_server()
    first = server.deliver(citizen_mail(subject="Drainase tersumbat"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    subject = None if by_subject else "Tambahan foto"
    answer = server.deliver(reply_to(ack, subject=subject, references=by_references, body="Sekarang makin parah."))
    envelope = stored_envelope(redis, answer.tracking_id or "")
    assert envelope is not None and answer.tracking_id != first.tracking_id
    assert envelope["follow_up_of"] == first.tracking_id
    assert envelope["text"] == "Sekarang makin parah."
    run_replies(server.settings, redis)
    replies = outbox(server.settings)
    assert len(replies) == 2
    follow_up_reply = next(r for r in replies if "tambahan informasi untuk laporan" in r.get_content())
    assert str(follow_up_reply["Subject"]).startswith(f"[LAPOR #{first.tracking_id}]")


@pytest.mark.parametrize(("body", "subject_added"), [
    ("Bagaimana status laporan saya? Lubangnya makin besar.", ""),
    ("CEK, jalan masih rusak", ""),
    ("Cek status laporan\n\nSudah ada lubang baru di depan SD.", ""),
    # a grievance about its handling is for the agency to read, not a question to answer with the status
    ("Kok statusnya selesai?", ""),
    ("Kenapa belum ditanggapi?\n\nTerima kasih", ""),
    ("Laporan saya diproses tidak?", ""),
    # lines under a closing that are not the From's name may be the citizen's words
    ("Bagaimana status laporan saya?\n\nTerima kasih,\nSudah Tiga Bulan\nBelum Diperbaiki", ""),
    ("Cek\n\nSalam,\nJALAN MASIH RUSAK", ""),
    # words the citizen typed into the thread's subject are theirs
    ("Bagaimana status laporan saya?", " - sudah banjir lagi, 3 rumah terendam"),
])
def test_a_status_question_in_the_thread_with_more_words_is_an_addition(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, body: str, subject_added: str) -> None:
    """In a report's thread a status question alone asks that report's status (CEK_ROWS); beside the citizen's
    words (in the body or the subject), or as a grievance, it is their addition, filed whole."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Drainase tersumbat"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    subject = f"Re: {ack['Subject']}{subject_added}" if subject_added else None
    answer = server.deliver(reply_to(ack, subject=subject, references=True, body=body))
    envelope = stored_envelope(redis, answer.tracking_id or "")
    assert envelope is not None and (envelope["follow_up_of"], envelope["text"]) == (first.tracking_id, body)


def gmail_answer_quoting(reply: EmailMessage) -> str:
    """Gmail's text part of an answer with no words of its own: the attribution, our reply quoted below it."""
    quoted = "\n".join(f"> {line}".rstrip() for line in reply.get_content().splitlines())
    return f"\nPada Kam, 3 Des 2026 pukul 18.05 LAPOR! <{RECIPIENT}> menulis:\n\n{quoted}\n"


def outlook_answer_quoting(reply: EmailMessage) -> str:
    """Outlook's: a header block, our reply below it as it was, no ">"."""
    return (f"\n\n________________________________\nFrom: LAPOR! <{RECIPIENT}>\n"
            f"Sent: Thursday, December 3, 2026 6:05 PM\nTo: {reply['To']}\nSubject: {reply['Subject']}\n\n"
            f"{reply.get_content()}")


@pytest.mark.parametrize("quoting", [gmail_answer_quoting, outlook_answer_quoting], ids=["gmail", "outlook"])
def test_an_answer_to_our_reply_adding_only_a_photo_adds_none_of_our_words(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, quoting: Callable[[EmailMessage], str]) -> None:
    """Answering our acknowledgement with a photo and no words, a citizen's client quotes our reply: that is no
    addition of theirs (it went to the case store as their words, the citizen's address in Outlook's `To:` too)."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Drainase tersumbat"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    answer = EmailMessage()
    answer["From"] = f"Warga <{ack['To']}>"
    answer["To"] = RECIPIENT
    answer["Subject"] = "Re: " + str(ack["Subject"])
    answer["Message-ID"] = make_msgid(domain="example.net")
    answer["In-Reply-To"] = str(ack["Message-ID"])
    answer["References"] = f"{str(ack['References']).strip()} {ack['Message-ID']}"
    answer.set_content(quoting(ack))
    answer.add_attachment(b"\xff\xd8\xff\xe0foto", maintype="image", subtype="jpeg", filename="IMG_0001.jpg")
    added = server.deliver(answer.as_bytes().replace(b"\n", b"\r\n"))
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and envelope["follow_up_of"] == first.tracking_id
    assert len(envelope["attachments"]) == 1
    assert "laporan Anda" not in envelope["text"] and "example.net" not in envelope["text"], envelope["text"]
    # The same quote, answering no reply of ours (a citizen's answer to an official, sent on to us): it is the report.
    del answer["In-Reply-To"], answer["References"], answer["Subject"], answer["Message-ID"]
    answer["Subject"], answer["Message-ID"] = "Re: Pungutan sekolah", make_msgid(domain="example.net")
    kept = server.deliver(answer.as_bytes().replace(b"\n", b"\r\n"))
    assert "laporan Anda" in (stored_envelope(redis, kept.tracking_id or "") or {})["text"]


@pytest.mark.parametrize("quoting", [gmail_answer_quoting, outlook_answer_quoting], ids=["gmail", "outlook"])
def test_an_answer_naming_our_reply_in_its_references_alone_adds_none_of_our_words(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, quoting: Callable[[EmailMessage], str]) -> None:
    """A client that writes References and no In-Reply-To (RFC 5322: the last of them is the mail answered), under a
    subject of its own, a photo and no words: our quoted reply was filed as the citizen's words."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Drainase tersumbat"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    answer = EmailMessage()
    answer["From"] = f"Warga <{ack['To']}>"
    answer["To"] = RECIPIENT
    answer["Subject"] = "Tanggapan warga"
    answer["Message-ID"] = make_msgid(domain="example.net")
    answer["References"] = f"{str(ack['References']).strip()} {ack['Message-ID']}"
    answer.set_content(quoting(ack))
    answer.add_attachment(b"\xff\xd8\xff\xe0foto", maintype="image", subtype="jpeg", filename="IMG_0002.jpg")
    added = server.deliver(answer.as_bytes().replace(b"\n", b"\r\n"))
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and envelope["follow_up_of"] == first.tracking_id
    assert len(envelope["attachments"]) == 1
    assert "laporan Anda" not in envelope["text"] and "example.net" not in envelope["text"], envelope["text"]


def answer_quoting_alone(reply: EmailMessage, quoting: Callable[[EmailMessage], str], subject: str | None = None,
                         references: bool = True, above: str = "", name: str = "Warga") -> bytes:
    """The citizen's answer to our reply with no words of its own: the quoted history alone (`above` it, what the
    sender from `name` typed or their client signed)."""
    answer = EmailMessage()
    answer["From"] = f"{name} <{reply['To']}>"
    answer["To"] = RECIPIENT
    answer["Subject"] = subject or "Re: " + str(reply["Subject"])
    answer["Message-ID"] = make_msgid(domain="example.net")
    if references:
        answer["In-Reply-To"] = str(reply["Message-ID"])
        answer["References"] = f"{str(reply['References']).strip()} {reply['Message-ID']}"
    answer.set_content(above + quoting(reply))
    return answer.as_bytes().replace(b"\n", b"\r\n")


# What the answer holds above the quote that is no words of the citizen's (the From is Budi Santoso's): nothing, or a
# sign-off alone. Each was filed as an addition and acknowledged, using up the address's replies for the hour.
SIGN_OFFS_ALONE = [
    pytest.param("", id="nothing"),
    pytest.param("-- \nBudi Santoso\n\n", id="a-signature-of-the-froms-name"),
    # The From's name over its contacts, with a degree or an initial: the sender's usual signature, which was filed
    # and acknowledged again.
    pytest.param("-- \nBudi Santoso\n0812-3456-7890", id="a-signature-of-the-froms-name-and-number"),
    pytest.param("-- \nBudi Santoso\nHP/WA: 0812-3456-7890\nbudi.santoso@example.net",
                 id="a-signature-of-the-froms-name-and-contacts"),
    pytest.param("-- \nBudi Santoso, S.H.", id="a-signature-of-the-froms-name-and-degree"),
    pytest.param("-- \nBudi S.", id="a-signature-of-the-froms-name-with-an-initial"),
    pytest.param("Salam,\nBudi", id="a-closing-and-the-froms-name"),
    pytest.param("Hormat saya,\n\nbudi santoso\n", id="a-closing-and-the-froms-name-in-lowercase"),
    pytest.param("Wassalamualaikum", id="a-closing-alone"),
]


@pytest.mark.parametrize("above", SIGN_OFFS_ALONE)
@pytest.mark.parametrize("quoting", [gmail_answer_quoting, outlook_answer_quoting], ids=["gmail", "outlook"])
@pytest.mark.parametrize(("subject", "references"), [
    (None, True),  # "Re: [LAPOR #<id>] Angkot ngetem sembarangan", answering our acknowledgement
    (None, False),  # the same subject, its In-Reply-To dropped by a webmail: the report's own subject, from its copy
    ("Fwd: [LAPOR #{id}] Angkot ngetem sembarangan", False),
    ("Re: Angkot ngetem sembarangan", True),  # our tag dropped from the subject, our reply named
    # both dropped: our reply quoted by the report's sender names it (it was a new report of our acknowledgement)
    ("Re: Angkot ngetem sembarangan", False),
], ids=["re-our-tag", "re-our-tag-no-references", "fwd-our-tag", "no-tag-answering-our-reply",
        "neither-tag-nor-references"])
def test_an_answer_of_quoted_history_alone_under_the_threads_subject_adds_nothing(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, quoting: Callable[[EmailMessage], str], subject: str | None,
        references: bool, above: str) -> None:
    """An answer to our acknowledgement holding only the quoted history was filed as an addition whose text was the
    thread's subject, `Re: [LAPOR #<id>] Angkot ngetem sembarangan`, and acknowledged: a few of them used up the
    address's replies for the hour, and the citizen's next real addition went unanswered. Such a mail is `empty`,
    not filed nor answered; her next addition is. So is one holding only a sign-off above the quote (a signature,
    a closing over the From's name), which was filed as an addition of that sign-off."""
    server = make_server(LAPOR_EMAIL_REPLY_CAP_PER_HOUR="3")
    first = server.deliver(citizen_mail(subject="Angkot ngetem sembarangan"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    for _ in range(3):
        empty = server.deliver(answer_quoting_alone(ack, quoting, subject and subject.format(id=first.tracking_id),
                                                    references, above, name="Budi Santoso"))
        assert empty.data_code == 250 and empty.tracking_id is None
    assert envelope_count(redis) == 1
    run_replies(server.settings, redis)
    assert len(outbox(server.settings)) == 1
    added = server.deliver(reply_to(ack, subject=None, references=True, body="Sekarang angkotnya tambah banyak."))
    assert (stored_envelope(redis, added.tracking_id or "") or {})["follow_up_of"] == first.tracking_id
    run_replies(server.settings, redis)
    assert len(outbox(server.settings)) == 2


def test_an_outlook_answer_of_quoted_history_and_its_signatures_logo_adds_nothing(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """Outlook sends its signature's logo with every mail: no file of the citizen's, it made an answer holding only
    the quoted history an addition of a logo, acknowledged."""
    server = make_server()
    server.deliver(citizen_mail(subject="Angkot ngetem sembarangan"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    text = f"[cid:{LOGO_CID}]" + outlook_answer_quoting(ack)
    mail = mail_with_an_image(f"RE: {ack['Subject']}", text.replace("\n", "\r\n"),
                              f'<p><img src="cid:{LOGO_CID}" width="120" height="40"></p>', LOGO)
    empty = server.deliver(mail)
    assert empty.data_code == 250 and empty.tracking_id is None
    assert envelope_count(redis) == 1


# Words of the citizen's above the quote, beside a sign-off or looking like one: each is their addition, filed.
WORDS_BESIDE_A_SIGN_OFF = [
    pytest.param("Salam,\nJalan makin rusak", id="a-sentence-below-a-closing"),
    pytest.param("Jalan makin rusak\n\n-- \nBudi Santoso\n0812-3456-7890", id="words-above-a-signature"),
    # Under a signature's "-- " anything but the From's name may be the citizen's: typed below it, or a "--" an editor
    # turned into one. Taken for a signature, the news of a bridge down was neither filed nor answered.
    pytest.param("-- \nJembatan sudah ambruk total tadi malam, dua motor jatuh ke sungai.\nBudi",
                 id="news-under-a-signatures-delimiter"),
    pytest.param("--\u00a0\nJalan masih rusak", id="words-under-a-rich-text-delimiter"),
    pytest.param("-- \nSiti Rahayu\n0812-3456-7890\nJl. Melati 5", id="a-signature-of-another-name-and-more"),
    # The From's name over lines that are no signature's: news, someone else's number, a title-cased headline
    pytest.param("-- \nBudi Santoso\nJalan masih rusak", id="the-froms-name-over-a-sentence"),
    pytest.param("-- \nBudi Santoso\nKades Hendra 0813-1111-2222", id="the-froms-name-over-someone-elses-number"),
    pytest.param("-- \nBudi Santoso\nWA penipu 0813-1111-2222", id="the-froms-name-over-a-scammers-number"),
    pytest.param("-- \nBudi Santoso\nJembatan Ambruk", id="the-froms-name-over-a-headline"),
    # a role or an address is not told from a headline or the accused's account (dropped as empty, the news went
    # unfiled): a signature of them is filed, and acknowledged once more
    pytest.param("-- \nBudi Santoso\nBLT Dipotong 300 Ribu", id="the-froms-name-over-a-headline-with-an-amount"),
    pytest.param("-- \nBudi Santoso\nRT 03 Banjir 1 Meter", id="the-froms-name-over-a-headline-with-a-place"),
    pytest.param("-- \nBudi Santoso\nNo. Rekening Pak Hendra 1234567890", id="the-froms-name-over-an-account"),
    pytest.param("-- \nBudi Santoso\nKTP 3201234567890001 Diblokir", id="the-froms-name-over-an-id-blocked"),
    pytest.param("-- \nBudi Santoso\nKetua RT 03", id="the-froms-name-over-a-role"),
    pytest.param("-- \nBudi Santoso, warga RT 03", id="the-froms-name-and-words-after-its-comma"),
    pytest.param("-- \nBudi Sutrisno\n0812-3456-7890", id="a-signature-of-another-name-sharing-a-word"),
    # capitalized words below a closing look like a name, but are not the From's: maybe the citizen's
    pytest.param("Salam,\nJALAN MASIH RUSAK", id="capitals-below-a-closing"),
    pytest.param("Salam,\nBudi\nAngkot masih ngetem tiap pagi", id="a-sentence-below-the-froms-name"),
    # thanks are words of the citizen's: a mail has no courtesy
    pytest.param("Terima kasih", id="thanks"),
    pytest.param("Terima kasih,\nBudi", id="thanks-and-the-froms-name"),
    # a "--" with no space is a divider the citizen typed, no signature's
    pytest.param("--\nAngkot masih ngetem", id="a-divider-above-words"),
]


@pytest.mark.parametrize("above", WORDS_BESIDE_A_SIGN_OFF)
def test_an_answer_of_a_sign_off_and_words_of_the_citizens_is_their_addition(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, above: str) -> None:
    """A sign-off alone above the quote adds nothing (above); any word of the citizen's beside it is filed."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Angkot ngetem sembarangan"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    added = server.deliver(answer_quoting_alone(ack, gmail_answer_quoting, above=above, name="Budi Santoso"))
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and envelope["follow_up_of"] == first.tracking_id
    assert envelope["text"].split("\n")[0] == above.split("\n")[0].strip()


# A From with no display name: the name its address spells is the one a signature's "-- " holds alone (as an
# anonymous mail's address is read, `address_spelling`); an address that spells no name, or another, signs nothing.
@pytest.mark.parametrize(("sender", "adds"), [
    pytest.param("budi.santoso@example.net", False, id="an-address-spelling-the-name"),
    pytest.param("budisantoso87@example.net", False, id="an-address-spelling-the-name-joined"),
    pytest.param("warga@example.net", True, id="an-address-spelling-no-name"),
    pytest.param("siti.rahayu@example.net", True, id="an-address-spelling-another-name"),
])
def test_a_signature_of_the_name_a_nameless_froms_address_spells_adds_nothing(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, sender: str, adds: bool) -> None:
    """`-- \nBudi Santoso` from <budi.santoso@...> with no display name was filed and acknowledged as an addition."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Angkot ngetem sembarangan", sender=sender))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    answer = answer_quoting_alone(ack, gmail_answer_quoting, above="-- \nBudi Santoso", name="")
    answer = answer.replace(b"From:  <", b"From: <")  # no display name
    assert f"From: <{sender}>\r\n".encode() in answer
    added = server.deliver(answer)
    assert added.data_code == 250
    if not adds:
        assert added.tracking_id is None and envelope_count(redis) == 1
        return
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and envelope["follow_up_of"] == first.tracking_id


@pytest.mark.parametrize("subject", ["Re: [LAPOR #{id}] Angkot ngetem sembarangan - sudah 3 hari",
                                     "Re: [LAPOR #{id}] Angkot masih ngetem"], ids=["words-added", "words-changed"])
@pytest.mark.parametrize("above", ["", "Salam,\nBudi"], ids=["nothing-above", "a-sign-off-above"])
def test_an_answer_of_quoted_history_alone_under_words_of_its_own_is_their_addition(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, subject: str, above: str) -> None:
    """Words the citizen typed into the thread's subject are theirs: with no other (a sign-off is none), they are the
    addition's text."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Angkot ngetem sembarangan"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    typed = subject.format(id=first.tracking_id)
    added = server.deliver(answer_quoting_alone(ack, outlook_answer_quoting, typed, above=above, name="Budi Santoso"))
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and (envelope["follow_up_of"], envelope["text"]) == (first.tracking_id, typed)


def _outlook_block(reply: EmailMessage) -> str:
    """The header block Outlook writes above the mail it quotes (with no ">" below it)."""
    return (f"From: LAPOR! <{RECIPIENT}>\nSent: Thursday, December 3, 2026 6:05 PM\nTo: {reply['To']}\n"
            f"Subject: RE: {reply['Subject']}\n\n")


def _wrapped(text: str, width: int = 76) -> str:
    """Outlook's plain text, its lines wrapped at 76 columns."""
    return "\n".join(textwrap.fill(line, width) if line else line for line in text.split("\n"))


def _gt(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def _halves(reply: EmailMessage) -> tuple[str, str]:
    """Our reply's Indonesian text and its English line, as a client quotes them."""
    indonesian, _, english = reply.get_content().strip().rpartition("\n\n")
    return indonesian, english


@dataclass(frozen=True)
class AnswerRow:
    id: str
    body: Callable[[EmailMessage], str]  # the answer's text part, built around our acknowledgement
    filed: str  # the addition's text


GMAIL_ATTRIBUTION = f"Pada Kam, 3 Des 2026 pukul 18.05 LAPOR! <{RECIPIENT}> menulis:\n"
ANSWER_ROWS = [
    AnswerRow("outlook-header-block-words-below",
              lambda ack: _outlook_block(ack) + ack.get_content() + "\nSekarang makin parah.\n\nBudi",
              "Sekarang makin parah.\n\nBudi"),
    AnswerRow("outlook-original-message-words-below",
              lambda ack: "-----Original Message-----\n" + _outlook_block(ack) + ack.get_content()
              + "\n\nSekarang makin parah.\n\nSent from Outlook", "Sekarang makin parah."),
    AnswerRow("outlook-rule-lines-wrapped-at-76",
              lambda ack: "\n________________________________\n" + _outlook_block(ack) + _wrapped(ack.get_content())
              + "\n\nSekarang makin parah.", "Sekarang makin parah."),
    # Outlook's usual answer: the words on top, our reply quoted at the mail's end (its last line, as delivered, ends
    # the mail's CRLF text: read so, our English line was filed as the citizen's words)
    AnswerRow("outlook-words-above",
              lambda ack: "Sekarang makin parah.\n\n________________________________\n" + _outlook_block(ack)
              + _wrapped(ack.get_content()), "Sekarang makin parah."),
    AnswerRow("outlook-words-above-and-below",
              lambda ack: "Ada foto baru.\n\n-----Original Message-----\n" + _outlook_block(ack) + ack.get_content()
              + "\n\nSekarang makin parah.", "Ada foto baru.\n\nSekarang makin parah."),
    AnswerRow("gmail-words-below", lambda ack: GMAIL_ATTRIBUTION + _gt(ack.get_content()) + "\n\nSekarang makin parah.",
              "Sekarang makin parah."),
    AnswerRow("thunderbird-words-above-and-below",
              lambda ack: f"Ada foto baru.\n\nOn 03/12/2026 18.05, LAPOR! wrote:\n{_gt(ack.get_content())}\n\n"
              "Sekarang makin parah.", "Ada foto baru.\n\nSekarang makin parah."),
    AnswerRow("interleaved",
              lambda ack: GMAIL_ATTRIBUTION + _gt(_halves(ack)[0]) + "\n\nSudah saya cantumkan.\n\n"
              + _gt(_halves(ack)[1]) + "\n\nSekarang makin parah.", "Sudah saya cantumkan.\n\nSekarang makin parah."),
    AnswerRow("interleaved-below-words-above",
              lambda ack: "Halo.\n\n" + GMAIL_ATTRIBUTION + _gt(_halves(ack)[0]) + "\nSudah saya cantumkan.\n"
              + _gt(_halves(ack)[1]), "Halo.\n\nSudah saya cantumkan."),
]


@pytest.mark.parametrize("row", ANSWER_ROWS, ids=[row.id for row in ANSWER_ROWS])
def test_an_answer_to_our_reply_files_the_citizens_words_wherever_they_stand_and_none_of_ours(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, row: AnswerRow) -> None:
    """Outlook quotes our acknowledgement below its header block with no ">": the citizen's words below it (or below
    Gmail's quote, having written above it too) were lost, the mail taken for quoted history alone. They are the
    addition; our words, wrapped or not, are not."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Drainase tersumbat"))
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    answer = EmailMessage()
    answer["From"], answer["To"] = f"Warga <{ack['To']}>", RECIPIENT
    answer["Subject"], answer["Message-ID"] = "RE: " + str(ack["Subject"]), make_msgid(domain="example.net")
    answer["In-Reply-To"] = str(ack["Message-ID"])
    answer.set_content(row.body(ack))
    added = server.deliver(answer.as_bytes().replace(b"\n", b"\r\n"))
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and envelope["follow_up_of"] == first.tracking_id
    assert envelope["text"] == row.filed


@pytest.mark.parametrize("subject", ["Re:", "Fwd: ", "RE: FW:", "Balas：", "Re: [LAPOR #10000004]"])
def test_a_mail_of_a_bare_reply_prefix_and_no_words_is_empty(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                             subject: str) -> None:
    """Nothing but a mail app's prefix in the subject, no words, no file: nothing to report (it was filed as a report
    of "Re:" for an agency, and acknowledged); with a file it is that file's report."""
    server = make_server()
    before = SUPPRESSED.labels("empty")._value.get()
    result = server.deliver(citizen_mail(subject=subject, body="\n"))
    assert result.data_code == 250 and result.tracking_id is None
    assert envelope_count(redis) == 0 and SUPPRESSED.labels("empty")._value.get() == before + 1
    run_replies(server.settings, redis)
    assert outbox(server.settings) == []
    photo = EmailMessage()
    photo["From"], photo["To"], photo["Subject"] = "Warga <warga@example.net>", RECIPIENT, subject
    photo.add_attachment(b"\xff\xd8\xff\xe0foto", maintype="image", subtype="jpeg", filename="IMG_0002.jpg")
    filed = server.deliver(photo.as_bytes().replace(b"\n", b"\r\n"))
    envelope = stored_envelope(redis, filed.tracking_id or "")
    assert envelope is not None and len(envelope["attachments"]) == 1 and envelope["text"] == ""


@pytest.mark.parametrize(("subject", "body"), [("STOP", "STOP"), ("Unsubscribe", "unsubscribe"), ("", "berhenti")],
                         ids=["stop", "unsubscribe", "berhenti-no-subject"])
def test_a_mail_saying_only_an_opt_out_word_is_still_a_report(make_server, redis: Redis, subject: str,  # type: ignore[no-untyped-def]
                                                              body: str) -> None:
    """Mail reads no opt-out table (SMS and mentions do): a mail is no subscription a word stops, our answer to it is
    one mail (capped per address and hour), and what a person means by "STOP" there is for the agency to read."""
    server = make_server()
    result = server.deliver(citizen_mail(subject=subject, body=body))
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None and (envelope["text"], envelope["follow_up_of"]) == (body, None)
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    assert "LAPOR! telah menerima laporan Anda" in ack.get_content()


# Digits as a fullwidth keyboard (Chinese and Japanese phones and mail clients) types them.
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class TagRow:
    """A mail whose subject names a report by `[LAPOR #<id>]` and what it becomes: `follow_up` (added to the report
    named, `anonymous` when the gateway no longer has that report's flags) or `new_report` (an ID no gateway ever
    issued: a report of its own, answered with its own Tracking ID)."""

    id: str
    subject: str
    names: str  # the field the subject's ID comes from (see `_tag_fields`)
    becomes: str
    anonymous: bool = False
    # Whether the case store answers, and the flags of the report it holds under the ID (None: none).
    casestore: bool = False
    held: dict[str, bool] | None = None


TAG_ROWS = [
    TagRow("subject-tag", "Re: [LAPOR #{first}] Drainase tersumbat", "first", "follow_up"),
    TagRow("subject-tag-fullwidth-digits", "Re: [LAPOR #{first_fullwidth}] Drainase tersumbat", "first",
           "follow_up"),
    TagRow("never-issued", "Re: [LAPOR #{never_issued}] Drainase tersumbat", "never_issued", "new_report"),
    TagRow("never-issued-fullwidth-digits", "[LAPOR #{never_issued_fullwidth}] Drainase", "never_issued",
           "new_report"),
    # the tag's "#" (and all of it) as a fullwidth keyboard types it, read through NFKC as the SMS grammar reads it
    TagRow("subject-tag-fullwidth-hash", "Re: [LAPOR ＃{first}] Drainase tersumbat", "first", "follow_up"),
    TagRow("subject-tag-all-fullwidth", "Re: ［ＬＡＰＯＲ ＃{first_fullwidth}］ Drainase tersumbat", "first",
           "follow_up"),
    TagRow("never-issued-fullwidth-hash", "[LAPOR ＃{never_issued}] Drainase", "never_issued", "new_report"),
    # Minted (by another process, from a block of its own) but found nowhere: its report may still be in a spool,
    # so it stays a follow-up, made anonymous as its flags cannot be read.
    TagRow("issued-report-gone", "Re: [LAPOR #{issued_unused}] Drainase tersumbat", "issued_unused", "follow_up",
           anonymous=True),
    # ... unless the case store is asked: one it has no report under was leased to another process and given to no
    # report yet (waiting at the case store, the mail went to whichever report took the ID later): a new report,
    # anonymous, as by SMS (it may be the sender's own anonymous report in a spool).
    TagRow("issued-casestore-has-none", "Re: [LAPOR #{issued_unused}] Drainase tersumbat", "issued_unused",
           "new_report", anonymous=True, casestore=True),
    TagRow("issued-casestore-has-it", "Re: [LAPOR #{issued_unused}] Drainase tersumbat", "issued_unused",
           "follow_up", casestore=True, held={"anonymous": False}),
    TagRow("issued-casestore-has-it-anonymous", "Re: [LAPOR #{issued_unused}] Drainase tersumbat", "issued_unused",
           "follow_up", anonymous=True, casestore=True, held={"anonymous": True}),
    # Leased with the first report's block and still in the SMTP server's reserve: no report has it, and one filed
    # later under it would get this mail as its follow-up (a stranger's words under a whistleblower's report).
    TagRow("in-the-servers-reserve", "Re: [LAPOR #{in_reserve}] Drainase tersumbat", "in_reserve", "new_report"),
]


def _tag_fields(first: str, redis: Redis) -> dict[str, str]:
    sequence = int(first[:-1])
    fields = {"first": first, "never_issued": format_tracking_id(sequence + 5_000_000),
              "issued_unused": TrackingIdAllocator(redis, block_size=1).mint(),
              "in_reserve": format_tracking_id(sequence + 1)}
    return fields | {f"{name}_fullwidth": value.translate(FULLWIDTH) for name, value in list(fields.items())}


@pytest.mark.parametrize("row", TAG_ROWS, ids=[row.id for row in TAG_ROWS])
def test_a_subject_tag_names_the_report_a_mail_adds_to(make_server, redis: Redis, log_stream: io.StringIO,  # type: ignore[no-untyped-def]
                                                       row: TagRow, request: pytest.FixtureRequest) -> None:
    """Through the real SMTP server and the reply worker: what the mail is stored as, and what its reply says. A tag
    no gateway ever issued was filed as a follow-up to nothing, and the citizen, told "addition to <id> received",
    never learnt the Tracking ID their mail got: as by SMS, it is a new report and the reply says so, with that ID."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Drainase tersumbat"))
    assert first.tracking_id is not None
    fields = _tag_fields(first.tracking_id, redis)
    if row.casestore:
        casestore: CaseStoreServer = request.getfixturevalue("casestore")
        if row.held is not None:
            held = sample_envelope(tracking_id=fields[row.names], **row.held)
            casestore.store.store_many([held.model_dump(mode="json")])
    named = fields[row.names]
    message_id = make_msgid(domain="example.net")
    subject = row.subject.format(**fields)
    answer = server.deliver(citizen_mail(subject=subject, body="Sekarang makin parah.", message_id=message_id))
    assert answer.tracking_id is not None and answer.tracking_id != first.tracking_id
    envelope = stored_envelope(redis, answer.tracking_id)
    assert envelope is not None
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    # The mail's text and subject stay as written, whatever it becomes.
    assert (envelope["text"], envelope["subject"], envelope["anonymous"]) == (
        "Sekarang makin parah.", subject, row.anonymous)
    if row.becomes == "follow_up":
        assert envelope["follow_up_of"] == named
        assert str(reply["Subject"]).startswith(f"[LAPOR #{named}] ")
        assert reply.get_content() == reply_body("follow_up", named)
    else:
        assert row.becomes == "new_report" and envelope["follow_up_of"] is None
        # The reply's subject carries the new ID, so the citizen's next answer threads to the new report.
        assert str(reply["Subject"]) == f"[LAPOR #{answer.tracking_id}] {subject.split('] ', 1)[1]}"
        body = reply.get_content()
        # filed anonymous (the case store has no such report: it may be the sender's own anonymous one), it says so,
        # as by SMS: the plain answer left the citizen unaware their address was withheld
        kind = "follow_up_unknown_anonymous" if row.anonymous else "follow_up_unknown"
        assert body == reply_body(kind, answer.tracking_id, follow_up_of=named)
        assert body.index("tidak menemukan laporan") < body.index("English: no report") and named in body
        assert ("laporan anonim baru" in body and "new anonymous report" in body) is row.anonymous
    unknown = [(e["reason"], e["follow_up_of"], e["tracking_id"]) for e in log_events(log_stream)
               if e["event"] == "message.follow_up_unknown"]
    assert unknown == ([("no_such_report", named, answer.tracking_id)] if row.becomes == "new_report" else [])


@dataclass(frozen=True)
class SenderRow:
    """A mail naming a report (by its subject's tag, or by answering our reply to it, as a forwarded copy of our reply
    lets anyone do) and who writes it: the report's own sender adds to it; anyone else's mail is a report of its own,
    with that report's anonymity, answered with its own Tracking ID. The report is `parent_subject` from
    warga@example.net (Reply-To `parent_reply_to`), or an SMS (`by_sms`)."""

    id: str
    sender: str
    adds: bool
    by_references: bool = False
    parent_subject: str = "Drainase tersumbat"
    parent_reply_to: str | None = None
    by_sms: bool = False
    # The answer's own Reply-To, and where our reply to it goes (None: its From).
    reply_to: str | None = None
    answered_at: str | None = None


SENDER_ROWS = [
    SenderRow("the-reports-sender", "warga@example.net", adds=True),
    SenderRow("the-reports-sender-in-capitals", "WARGA@Example.NET", adds=True),
    SenderRow("the-address-our-reply-went-to", "rumah@example.net", adds=True, parent_reply_to="rumah@example.net"),
    SenderRow("the-reports-sender-with-the-reports-reply-to", "warga@example.net", adds=True,
              parent_reply_to="rumah@example.net", reply_to="rumah@example.net", answered_at="rumah@example.net"),
    # A From is easily forged: answered at a Reply-To of the writer's choosing, whether the mail was taken as an
    # addition or not would tell them whether that From sent an anonymous report. Either goes to the From.
    SenderRow("the-reports-sender-forged-with-another-reply-to", "warga@example.net", adds=True,
              parent_subject="ANONIM: pungli dana desa", reply_to="lurah@example.org",
              answered_at="warga@example.net"),
    SenderRow("another-address-forged-with-another-reply-to", "tetangga@example.org", adds=False,
              parent_subject="ANONIM: pungli dana desa", reply_to="lurah@example.org",
              answered_at="tetangga@example.org"),
    # A stranger guessing who sent an anonymous report, by naming it with the guess as Reply-To: answered there on a
    # right guess (one of the report's addresses), they got no answer, and on a wrong one they did. Always the From.
    SenderRow("another-address-with-the-reports-sender-as-reply-to", "probe@evil.example", adds=False,
              parent_subject="ANONIM: pungli dana desa", reply_to="warga@example.net",
              answered_at="probe@evil.example"),
    SenderRow("another-address-with-the-reports-reply-to-as-reply-to", "probe@evil.example", adds=False,
              parent_subject="ANONIM: pungli dana desa", parent_reply_to="rumah@example.net",
              reply_to="rumah@example.net", answered_at="probe@evil.example"),
    SenderRow("another-address-by-the-tag", "lurah@example.org", adds=False),
    SenderRow("another-address-answering-our-reply", "lurah@example.org", adds=False, by_references=True),
    # A whistleblower's anonymous report: whoever learnt its ID (a forwarded acknowledgement, a guess) wrote into it,
    # anonymous as the report, and the agency could not tell their words from the reporter's.
    SenderRow("another-address-to-an-anonymous-report", "lurah@example.org", adds=False,
              parent_subject="ANONIM: pungli dana desa"),
    SenderRow("a-mail-to-a-report-sent-by-sms", "warga@example.net", adds=False, by_sms=True),
]


def sms_report(settings: Settings, redis: Redis, text: str) -> str:
    """A report filed by SMS, through the normalizer and intake as the aggregator's callback files one."""
    message = InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id="kannel-77",
                             sender_kind=SenderKind.MSISDN, sender_address="0812-3456-7001", text=text,
                             received_at=utc_now())
    draft = normalize(message).draft
    assert draft is not None
    intake = Intake(redis, settings)
    try:
        return asyncio.run(intake.submit(draft)).tracking_id
    finally:
        intake.close()


@pytest.mark.parametrize("row", SENDER_ROWS, ids=[row.id for row in SENDER_ROWS])
def test_a_mail_adds_to_a_report_only_from_the_reports_sender(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                             log_stream: io.StringIO, row: SenderRow) -> None:
    server = make_server()
    if row.by_sms:
        parent, anonymous = sms_report(server.settings, redis, "ANONIM pungli di kantor desa"), True
    else:
        headers = {"Reply-To": row.parent_reply_to} if row.parent_reply_to else None
        first = server.deliver(citizen_mail(subject=row.parent_subject, headers=headers))
        assert first.tracking_id is not None
        parent, anonymous = first.tracking_id, row.parent_subject.startswith("ANONIM")
        run_replies(server.settings, redis)
    message_id = make_msgid(domain="example.org")
    subject = f"Re: [LAPOR #{parent}] Drainase tersumbat"
    if row.by_references:
        [ack] = outbox(server.settings)
        headers = {"In-Reply-To": str(ack["Message-ID"]), "References": str(ack["Message-ID"])}
        subject = "Tanggapan"
    answer_headers = {**(headers if row.by_references else {}), **({"Reply-To": row.reply_to} if row.reply_to else {})}
    answer = server.deliver(citizen_mail(subject=subject, body="Laporan ini tidak benar, mohon dicabut.",
                                         sender=row.sender, message_id=message_id, headers=answer_headers),
                            mail_from=row.sender)
    assert answer.tracking_id is not None and answer.tracking_id != parent
    envelope = stored_envelope(redis, answer.tracking_id)
    assert envelope is not None
    # The mail's text and subject stay as written; its sender is its own.
    assert (envelope["text"], envelope["subject"]) == ("Laporan ini tidak benar, mohon dicabut.", subject)
    assert envelope["sender"]["id"] == row.sender.lower()
    assert envelope["anonymous"] is anonymous  # the report's anonymity, whichever it becomes
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    assert str(reply["To"]) == (row.answered_at or row.sender.lower())
    refused = [(e["reason"], e["follow_up_of"]) for e in log_events(log_stream)
               if e["event"] == "message.follow_up_other_sender"]
    if row.adds:
        assert envelope["follow_up_of"] == parent
        assert reply.get_content() == reply_body("follow_up", parent)
        assert refused == []
        return
    assert envelope["follow_up_of"] is None
    # Nothing but the report's own acknowledgement went to the report's addresses.
    if not row.by_sms:
        report_addresses = {"warga@example.net", row.parent_reply_to}
        assert [str(r["Subject"]) for r in outbox(server.settings) if str(r["To"]) in report_addresses] == [
            f"[LAPOR #{parent}] {row.parent_subject}"]
    # Answered with the new report's ID, in the subject too, and nothing of the report it named.
    assert str(reply["Subject"]).startswith(f"[LAPOR #{answer.tracking_id}] ")
    assert reply.get_content() == reply_body("follow_up_other_sender", answer.tracking_id, follow_up_of=parent)
    assert refused == [("not_the_reports_sender", parent)]


REPORTER = "siti.rahayu77@example.net"


@dataclass(frozen=True)
class ReportersIdentityRow:
    """Someone else's mail naming a report by its tag (`body`: "{ack}" our acknowledgement to the reporter, "{id}"
    its Tracking ID), and whether the case store's copy of the report it becomes keeps the reporter's address and
    name (`kept`: the report named is not anonymous, so neither is the mail's)."""

    id: str
    body: str
    parent_subject: str = "ANONIM: pungli di kelurahan"
    kept: bool = False
    subject: str = "Fwd: [LAPOR #{id}] Pungli di kelurahan"  # "Fwd: Pungli di kelurahan": a forward that lost the tag
    sender: str = "teman@example.org"
    gone: bool = False  # the gateway's copy of the report named has expired


_FORWARD = "---------- Forwarded message ---------\n"
_ON_BY_A_FRIEND = ("Saya saksinya, pungli itu benar terjadi.\n\n" + _FORWARD + f"From: Siti Rahayu <{REPORTER}>"
                   "\nDate: Fri, Nov 27, 2026\nSubject: Fwd: [LAPOR #{id}] Pungli di kelurahan\n"
                   "To: <teman@example.org>\n\n\n" + _FORWARD + "From: LAPOR! <pengaduan@lapor.go.id>\n"
                   "Date: Thu, Nov 26, 2026\nSubject: [LAPOR #{id}] Pungli di kelurahan\n"
                   f"To: Siti Rahayu <{REPORTER}>\n\n\n{{ack}}")
REPORTERS_IDENTITY_ROWS = [
    # the reporter forwarded our acknowledgement to a friend, who sends it on to us: both header blocks name them
    ReportersIdentityRow("our-ack-forwarded-on-by-a-friend", _ON_BY_A_FRIEND),
    # a forward whose subject lost our tag names the report by our acknowledgement in it: its privacy too
    ReportersIdentityRow("our-ack-forwarded-on-by-a-friend-without-the-tag", _ON_BY_A_FRIEND,
                         subject="Fwd: Fwd: Pungli di kelurahan"),
    ReportersIdentityRow("the-reporters-own-forward-of-it-without-the-tag", _ON_BY_A_FRIEND,
                         subject="Fwd: Fwd: Pungli di kelurahan", sender=REPORTER),
    ReportersIdentityRow("without-the-tag-the-reports-copy-gone", _ON_BY_A_FRIEND,
                         subject="Fwd: Fwd: Pungli di kelurahan", sender=REPORTER, gone=True),
    ReportersIdentityRow("without-the-tag-a-named-report", _ON_BY_A_FRIEND, parent_subject="Pungli di kelurahan",
                         subject="Fwd: Fwd: Pungli di kelurahan", kept=True),
    ReportersIdentityRow("a-mail-naming-the-reporter",
                         f"Saya teman Siti Rahayu ({REPORTER}), saya juga melihat pungli itu."),
    # a named report's sender is named to the agency already: the mail is filed as written
    ReportersIdentityRow("a-named-reports-sender",
                         f"Saya teman Siti Rahayu ({REPORTER}), saya juga melihat pungli itu.",
                         parent_subject="Pungli di kelurahan", kept=True),
]


@pytest.mark.parametrize("row", REPORTERS_IDENTITY_ROWS, ids=[row.id for row in REPORTERS_IDENTITY_ROWS])
def test_someone_elses_mail_naming_an_anonymous_report_withholds_its_reporters_identity(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: ReportersIdentityRow) -> None:
    """Someone else's mail naming an anonymous report is a report of its own, anonymous (`others_report_flags`), and
    the case store gets it without the reporter's address and name as well as without its own sender's: a friend
    sending our acknowledgement on ("To: Siti Rahayu <siti...>"), or naming the reporter, put the anonymous reporter's
    identity beside their report's ID. A forward whose subject lost the tag names the report by our acknowledgement
    in its text: filed open, the reporter's own forward of it named them beside "laporan anonim Anda ... <id>"."""
    server = make_server()
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"Siti Rahayu <{REPORTER}>", RECIPIENT, row.parent_subject
    mail["Message-ID"] = make_msgid(domain="example.net")
    mail.set_content("Petugas kelurahan meminta uang.")
    parent = server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from=REPORTER).tracking_id
    assert parent is not None
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    body = row.body.replace("{ack}", ack.get_content()).replace("{id}", parent)
    if row.gone:
        redis.delete(envelope_key(parent))
    named = "Siti Rahayu" if row.sender == REPORTER else "Teman"
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{named} <{row.sender}>", RECIPIENT, row.subject.format(id=parent)
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(body)
    friends = server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from=row.sender)
    assert friends.tracking_id is not None
    envelope = stored_envelope(redis, friends.tracking_id)
    assert envelope is not None and (envelope["follow_up_of"], envelope["anonymous"]) == (None, not row.kept)
    server.stop()  # its intake hands the reports to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    report = casestore.get(friends.tracking_id)
    assert report is not None and any(words in str(report["text"]) for words in ("juga melihat", "Saya saksinya"))
    filed = orjson.dumps(report).decode()
    assert (REPORTER in filed, "Siti Rahayu" in filed) == (row.kept, row.kept)


NEIGHBOUR = "warga@example.net"  # the named report's sender (`citizen_mail`'s)


@dataclass(frozen=True)
class TwoReportsRow:
    """A mail naming two reports: a named one of NEIGHBOUR's ("{named}" its ID, "{named_ack}" our acknowledgement to
    them) and Siti Rahayu's ("{other}", "{other_ack}", filed with `other_subject`). It becomes a follow-up of the
    report it continues (`follow_up`: the named one, whose sender writes) or a report of its own, with the strictest
    privacy of the two (`anonymous`, `confidential`), and the case store gets Siti's address and name only when hers
    is not anonymous (or the gateway no longer knows it was hers: the mail is anonymous then, privacy first).
    `headers`: more fields, "{named_ack_id}"/"{other_ack_id}" our acknowledgements' Message-IDs."""

    id: str
    subject: str
    body: str
    other_subject: str = "ANONIM: pungli di kelurahan"
    sender: str = NEIGHBOUR
    follow_up: bool = True
    anonymous: bool = True
    confidential: bool = False
    from_reports_sender: bool | None = None
    gone: bool = False  # the gateway's copy of Siti's report has expired: who filed it is not known
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def sitis_kept(self) -> bool:
        return self.gone or not self.anonymous


def _forward_of(ack: str, subject: str, to: str) -> str:
    return (f"{_FORWARD}From: LAPOR! <pengaduan@lapor.go.id>\nDate: Thu, Nov 26, 2026\nSubject: {subject}\n"
            f"To: {to}\n\n\n{{{ack}}}\n")


_NAMING_SITI = f"Saya saksinya, Siti Rahayu ({REPORTER}) melapor hal yang sama."
_BOTH_ACKS = (_NAMING_SITI + "\n\n"
              + _forward_of("named_ack", "[LAPOR #{named}] Jalan rusak", f"Warga <{NEIGHBOUR}>") + "\n"
              + _forward_of("other_ack", "[LAPOR #{other}] Pungli di kelurahan", f"Siti Rahayu <{REPORTER}>"))
TWO_REPORTS_ROWS = [
    # NEIGHBOUR forwards our acknowledgements of their report and of Siti's (which she had forwarded to them)
    TwoReportsRow("the-named-reports-sender-forwards-both-acknowledgements", "Fwd: [LAPOR #{named}] Jalan rusak",
                  _BOTH_ACKS),
    TwoReportsRow("a-friend-forwards-both-acknowledgements", "Fwd: [LAPOR #{named}] Jalan rusak", _BOTH_ACKS,
                  sender="teman@example.org", follow_up=False),
    TwoReportsRow("both-forwarded-in-a-mail-whose-subject-lost-the-tags", "Fwd: laporan warga", _BOTH_ACKS,
                  sender="teman@example.org", follow_up=False),
    # an answer to a mail naming both (a digest): both tags in the subject, the named one first
    TwoReportsRow("both-tags-in-the-subject", "Re: [LAPOR #{named}] [LAPOR #{other}] laporan warga", _NAMING_SITI),
    TwoReportsRow("both-tags-in-the-subject-by-a-friend", "Re: [LAPOR #{named}] [LAPOR #{other}] laporan warga",
                  _NAMING_SITI, sender="teman@example.org", follow_up=False),
    # an answer to our acknowledgement of one report whose References name our acknowledgement of the other
    TwoReportsRow("an-answer-to-one-whose-references-name-the-other", "Re: Jalan rusak", _NAMING_SITI,
                  headers=(("In-Reply-To", "{named_ack_id}"), ("References", "{other_ack_id} {named_ack_id}"))),
    # the anonymous report's tag first: its privacy was taken already
    TwoReportsRow("the-anonymous-reports-tag-first", "Re: [LAPOR #{other}] [LAPOR #{named}] laporan warga",
                  _NAMING_SITI, follow_up=False),
    TwoReportsRow("the-other-reports-copy-gone", "Fwd: [LAPOR #{named}] Jalan rusak", _BOTH_ACKS, gone=True),
    TwoReportsRow("a-confidential-other-report", "Fwd: [LAPOR #{named}] Jalan rusak", _BOTH_ACKS,
                  other_subject="RAHASIA: pungli di kelurahan", anonymous=False, confidential=True,
                  from_reports_sender=True),
    # two named reports: the mail is filed as written, an addition from the named report's sender
    TwoReportsRow("two-named-reports", "Fwd: [LAPOR #{named}] Jalan rusak", _BOTH_ACKS,
                  other_subject="Pungli di kelurahan", anonymous=False, from_reports_sender=True),
]


@pytest.mark.parametrize("row", TWO_REPORTS_ROWS, ids=[row.id for row in TWO_REPORTS_ROWS])
def test_a_mail_naming_several_reports_takes_the_strictest_privacy_among_them(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: TwoReportsRow) -> None:
    """A mail carrying our acknowledgements of two reports (forwarded together, or an answer naming both) is filed
    with the strictest privacy among all the reports it names, and an anonymous one's reporter is withheld from the
    case store as in `test_someone_elses_mail_naming_an_anonymous_report_withholds_its_reporters_identity`. It took the
    first tag's privacy alone: an addition to a named report, filed open, carried an anonymous reporter's name and
    address (the header block of her forwarded acknowledgement) to the agency beside her report's ID."""
    server = make_server()
    named = server.deliver(citizen_mail(subject="Jalan rusak")).tracking_id
    siti = EmailMessage()
    siti["From"], siti["To"], siti["Subject"] = f"Siti Rahayu <{REPORTER}>", RECIPIENT, row.other_subject
    siti["Message-ID"] = make_msgid(domain="example.net")
    siti.set_content("Petugas kelurahan meminta uang.")
    other = server.deliver(siti.as_bytes().replace(b"\n", b"\r\n"), mail_from=REPORTER).tracking_id
    assert named is not None and other is not None
    run_replies(server.settings, redis)
    acks = {str(ack["To"]).rpartition("<")[2].rstrip(">"): ack for ack in outbox(server.settings)}
    values = {"named": named, "other": other, "named_ack": acks[NEIGHBOUR].get_content(),
              "other_ack": acks[REPORTER].get_content(), "named_ack_id": str(acks[NEIGHBOUR]["Message-ID"]),
              "other_ack_id": str(acks[REPORTER]["Message-ID"])}
    if row.gone:
        redis.delete(envelope_key(other))
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"Warga <{row.sender}>", RECIPIENT, row.subject.format(**values)
    mail["Message-ID"] = make_msgid(domain="example.org")
    for name, value in row.headers:
        mail[name] = value.format(**values)
    mail.set_content(row.body.format(**values))
    result = server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from=row.sender)
    assert result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["anonymous"], envelope["confidential"]) == (
        named if row.follow_up else None, row.anonymous, row.confidential)
    if row.follow_up:
        assert envelope.get("from_reports_sender") == row.from_reports_sender
    server.stop()  # its intake hands the reports to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    report = casestore.get(named) if row.follow_up else casestore.get(result.tracking_id)
    assert report is not None
    filed = orjson.dumps(report).decode()
    assert "saksinya" in filed
    assert (REPORTER in filed, "Siti Rahayu" in filed) == (row.sitis_kept, row.sitis_kept)


def _gt_quoting(reply: EmailMessage) -> str:
    """A phone client's or a webmail's quote with no attribution above it: our reply in `>` lines alone."""
    return "\n" + "\n".join(f"> {line}".rstrip() for line in reply.get_content().splitlines()) + "\n"


def _forwarding(reply: EmailMessage) -> str:
    """Gmail's forward of our reply: its marker and header block, our reply below them as it was."""
    return (f"\n{_FORWARD}From: LAPOR! <{RECIPIENT}>\nDate: Thu, Nov 26, 2026\nSubject: {reply['Subject']}\n"
            f"To: {reply['To']}\n\n\n{reply.get_content()}")


@dataclass(frozen=True)
class QuotedAckRow:
    """A mail with no `In-Reply-To` and no tag in its subject (webmail and phone clients drop both: `subject`, by
    default `Re: ` and our reply's subject without its tag, `Re: Jalan rusak`), the citizen's words above our
    acknowledgement of Siti Rahayu's report `Jalan rusak` quoted (`quoting`; `parent_anonymous`: she sent it with
    `ANONIM` in its text; with `both`, our acknowledgement of her second report, anonymous, quoted below it too). From
    her
    (`sender`), it adds to that report as an answer threaded to our reply does (`joined`), answered as that report's
    additions are (`reply`: "follow_up"); anyone else's is a report of its own as before, with the quoted report's
    privacy and answered as a new report (`reply`: the acknowledgement's kind), nothing of the report told. The
    follow-up, or the new report, is `anonymous`; the case store's copy keeps its sender's address only when it is
    not, and never Siti's then."""

    id: str
    quoting: Callable[[EmailMessage], str]
    parent_anonymous: bool = False
    sender: str = REPORTER
    subject: str | None = None
    both: bool = False
    gone: bool = False  # the gateway's copy of the report quoted has expired: whose it is cannot be told
    joined: bool = True
    anonymous: bool = False
    reply: str = "follow_up"


QUOTED_ACK_ROWS = [
    QuotedAckRow("her-answer-quoting-our-ack-in-gt-lines", _gt_quoting),
    QuotedAckRow("her-answer-quoting-our-ack-under-an-attribution", gmail_answer_quoting),
    QuotedAckRow("her-answer-quoting-our-ack-under-outlooks-header-block", outlook_answer_quoting),
    QuotedAckRow("her-answer-quoting-our-ack-of-her-anonymous-report", _gt_quoting,
                 parent_anonymous=True, anonymous=True),
    QuotedAckRow("her-outlook-answer-quoting-our-ack-of-her-anonymous-report", outlook_answer_quoting,
                 parent_anonymous=True, anonymous=True),
    # someone else's mail quoting it: a report of its own, as before, anonymous as the report and told nothing of it
    QuotedAckRow("another-address-quoting-our-ack-of-an-anonymous-report", _gt_quoting,
                 parent_anonymous=True, sender="teman@example.org", joined=False, anonymous=True, reply="ack"),
    QuotedAckRow("another-address-quoting-our-ack-of-a-named-report", gmail_answer_quoting,
                 sender="teman@example.org", joined=False, reply="ack"),
    # a quote naming two reports does not say which one the words are for: a report of its own, the stricter privacy
    QuotedAckRow("her-answer-quoting-our-acks-of-two-reports", _gt_quoting, both=True, joined=False, anonymous=True,
                 reply="ack_anonymous"),
    # a forward of our reply shares it: whatever the words around it, it is a report of its own unless its subject
    # keeps our tag (`test_someone_elses_mail_naming_an_anonymous_report_withholds_its_reporters_identity`)
    QuotedAckRow("her-forward-of-our-ack", _forwarding, subject="Fwd: Jalan rusak", joined=False, reply="ack"),
    # an old acknowledgement answered under a subject of her own: how a new report is started by answering an old
    # mail, which the tag would have said otherwise
    QuotedAckRow("her-answer-quoting-our-ack-under-a-subject-of-her-own", _gt_quoting,
                 subject="Re: Lampu jalan mati di RT 03", joined=False, reply="ack"),
    QuotedAckRow("her-answer-quoting-our-ack-under-no-subject", _gt_quoting, subject=""),
    QuotedAckRow("her-answer-quoting-our-ack-its-reports-copy-gone", _gt_quoting, gone=True, joined=False,
                 anonymous=True, reply="ack"),
]


@pytest.mark.parametrize("row", QUOTED_ACK_ROWS, ids=[row.id for row in QUOTED_ACK_ROWS])
def test_an_answer_quoting_our_acknowledgement_without_the_tag_adds_to_its_senders_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: QuotedAckRow) -> None:
    """An answer to our acknowledgement that lost both its `In-Reply-To` and the tag of its subject, our reply quoted
    (with the report's tag in it) below the citizen's words, was filed as a new report, and its sender got a second
    Tracking ID for what was an addition to their own report. Our reply quoted by the report's own sender names that
    report as the subject's tag would; a forward of it, someone else's quote of it, or a quote naming two reports
    stays a report of its own, with the privacy of the reports it names (README, E-mail)."""
    server = make_server()
    tracking_ids = []
    for subject, anonymous in [("Jalan rusak", row.parent_anonymous), ("Pungli di kelurahan", True)][:1 + row.both]:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = f"Siti Rahayu <{REPORTER}>", RECIPIENT, subject
        mail["Message-ID"] = make_msgid(domain="example.net")
        mail.set_content(f"{'ANONIM' if anonymous else 'Kepada LAPOR!'}\n\nJalan di depan SDN 3 berlubang.")
        tracking_ids.append(server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from=REPORTER).tracking_id)
    parent = tracking_ids[0]
    assert parent is not None
    run_replies(server.settings, redis)
    acks = outbox(server.settings)
    assert len(acks) == len(tracking_ids)
    if row.gone:
        redis.delete(envelope_key(parent))
    words = "Sudah seminggu belum diperbaiki."
    mail = EmailMessage()
    name = "Siti Rahayu" if row.sender == REPORTER else "Teman"
    subject = row.subject if row.subject is not None else \
        f"Re: {str(acks[0]['Subject']).removeprefix(f'[LAPOR #{parent}] ')}"
    assert row.subject is not None or subject == "Re: Jalan rusak"
    mail["From"], mail["To"], mail["Subject"] = f"{name} <{row.sender}>", RECIPIENT, subject
    message_id = make_msgid(domain="example.org")
    mail["Message-ID"] = message_id
    mail.set_content(words + "\n" + "".join(row.quoting(ack) for ack in acks))
    result = server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from=row.sender)
    assert result.tracking_id is not None and result.tracking_id not in tracking_ids
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["anonymous"]) == (parent if row.joined else None, row.anonymous)
    assert envelope["text"] == words  # none of our words
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    assert str(reply["To"]) == row.sender
    if row.joined:
        assert str(reply["Subject"]).startswith(f"[LAPOR #{parent}]")
        assert reply.get_content() == reply_body("follow_up", parent)
    else:
        assert str(reply["Subject"]).startswith(f"[LAPOR #{result.tracking_id}] ")
        assert reply.get_content() == reply_body(row.reply, result.tracking_id)
    server.stop()  # its intake hands the reports to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    report = casestore.get(parent if row.joined else result.tracking_id)
    assert report is not None
    filed = orjson.dumps(report).decode()
    assert words in filed and "Nomor lacak" not in filed
    assert (row.sender in filed) is not row.anonymous
    if row.anonymous:
        assert REPORTER not in filed and "Siti Rahayu" not in filed

@dataclass(frozen=True)
class QuotedConfirmationRow:
    """A second mail from the sender of a named report `Pungli di kelurahan` (`second`, given its Tracking ID),
    confirmed by our reply of kind `confirmed` (with `status`, the case store's), then a third mail of theirs quoting
    that reply (`quoting`) below their words, with no `In-Reply-To`, no `References` and `Re: Pungli di kelurahan` for
    its subject: webmail and phone clients drop the threading fields and the subject's tag. (Outlook's header block
    quotes our subject's tag too, which threaded it before.)"""

    id: str
    second: Callable[[str], bytes]
    confirmed: str
    quoting: Callable[[EmailMessage], str]
    status: str | None = None


def _tagged_addition(tracking_id: str) -> bytes:
    return citizen_mail(subject=f"Re: [LAPOR #{tracking_id}] Pungli di kelurahan", body="Petugas datang lagi.")


def _tagged_grievance(tracking_id: str) -> bytes:
    return citizen_mail(subject=f"Re: [LAPOR #{tracking_id}] Pungli di kelurahan", body="Kenapa belum ditanggapi?")


def _report_again(tracking_id: str) -> bytes:
    return citizen_mail(subject="Pungli di kelurahan", body="Petugas kelurahan meminta uang.")


QUOTED_CONFIRMATION_ROWS = [
    QuotedConfirmationRow("follow-up-in-gt-lines", _tagged_addition, "follow_up", _gt_quoting),
    QuotedConfirmationRow("follow-up-under-gmails-attribution", _tagged_addition, "follow_up", gmail_answer_quoting),
    QuotedConfirmationRow("follow-up-under-outlooks-header-block", _tagged_addition, "follow_up",
                          outlook_answer_quoting),
    # a grievance in the thread: the addition received and the status it asks
    QuotedConfirmationRow("follow-up-with-the-status", _tagged_grievance, "follow_up_status", gmail_answer_quoting,
                          status="verified"),
    # the same mail sent again within the window: "we already have this report"
    QuotedConfirmationRow("the-same-report-again", _report_again, "duplicate", gmail_answer_quoting),
]


@pytest.mark.parametrize("row", QUOTED_CONFIRMATION_ROWS, ids=[row.id for row in QUOTED_CONFIRMATION_ROWS])
def test_an_answer_quoting_our_confirmation_of_an_addition_continues_the_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: QuotedConfirmationRow) -> None:
    """Our acknowledgement carries the report's tag in its text, so the sender's answer quoting it continues the
    report when the mail lost its `In-Reply-To` and the subject's tag; our confirmation of an addition (or of the same
    report sent again) carried none, and an answer quoting it was filed as a new report with a second Tracking ID,
    a second case for the agency. Each now carries the tag as the acknowledgement does (README, E-mail)."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status=row.status,
                                  body="Petugas kelurahan meminta uang.")
    server = make_server()
    second = row.second(tracking_id)
    result = server.deliver(second)
    assert result.tracking_id is not None
    run_replies(server.settings, redis)
    [confirmation] = answer_to(outbox(server.settings), second)
    status = {"status": row.status} if row.status else {}
    assert confirmation.get_content() == reply_body(row.confirmed, tracking_id, **status)
    words = "Sudah seminggu belum ada tindakan."
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Warga <warga@example.net>", RECIPIENT, "Re: Pungli di kelurahan"
    mail["Message-ID"] = make_msgid(domain="example.net")
    mail.set_content(words + "\n" + row.quoting(confirmation))
    third = mail.as_bytes().replace(b"\n", b"\r\n")
    added = server.deliver(third)
    assert added.tracking_id is not None
    envelope = stored_envelope(redis, added.tracking_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["text"]) == (tracking_id, words)
    run_replies(server.settings, redis)
    [reply] = answer_to(outbox(server.settings), third)
    assert str(reply["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
    assert reply.get_content() == reply_body("follow_up", tracking_id)
    server.stop()  # its intake hands the additions to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    assert [report["tracking_id"] for report in casestore.reports() if not report.get("follow_up_of")] == [tracking_id]


@dataclass(frozen=True)
class AdditionsSubjectRow:
    """Warga's report `Jalan rusak`, then her addition under a subject of its own (`Tambahan foto`: tagged, or
    `threaded` by In-Reply-To to our acknowledgement, its subject without the tag), confirmed by our reply under it;
    then a mail from `sender` under `subject`, no In-Reply-To, no References, quoting that confirmation. `joined`:
    it continues the report."""

    id: str
    sender: str
    subject: str
    joined: bool
    threaded: bool = False


ADDITIONS_SUBJECT_ROWS = [
    AdditionsSubjectRow("her-answer-under-the-additions-subject", "warga@example.net", "Re: Tambahan foto", True),
    AdditionsSubjectRow("the-addition-threaded-by-in-reply-to", "warga@example.net", "Re: Tambahan foto", True,
                        threaded=True),
    AdditionsSubjectRow("her-answer-under-the-reports-subject", "warga@example.net", "Re: Jalan rusak", True),
    # the same mail from someone else (her confirmation forwarded to them): a report of its own, as before
    AdditionsSubjectRow("another-senders-mail", "teman@example.org", "Re: Tambahan foto", False),
    # a subject of her own not used before: a new report started by answering an old mail, as before
    AdditionsSubjectRow("a-subject-of-her-own", "warga@example.net", "Re: Lampu jalan mati", False),
]


@pytest.mark.parametrize("row", ADDITIONS_SUBJECT_ROWS, ids=[row.id for row in ADDITIONS_SUBJECT_ROWS])
def test_an_answer_quoting_our_confirmation_under_the_additions_subject_continues_the_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, row: AdditionsSubjectRow) -> None:
    """Our confirmation of an addition sent under a subject of its own goes out under that subject
    (`[LAPOR #<id>] Tambahan foto`): its sender's answer quoting it, the tag and threading fields dropped by her
    client, came as `Re: Tambahan foto`, which is not the report's subject, and was filed as a new report with a
    second Tracking ID for her own addition. The subjects our replies for the report went out under count as the
    report's (README, E-mail); only for the report's own sender, and not a subject never used in its thread."""
    server = make_server()
    report = server.deliver(citizen_mail(subject="Jalan rusak", body="Jalan di depan pasar rusak parah."))
    tracking_id = report.tracking_id
    assert tracking_id is not None
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    if row.threaded:
        addition = reply_to(ack, subject="Tambahan foto", references=True, body="Lubangnya makin lebar.")
    else:
        addition = citizen_mail(subject=f"[LAPOR #{tracking_id}] Tambahan foto", body="Lubangnya makin lebar.")
    added = server.deliver(addition)
    assert added.tracking_id is not None
    assert (stored_envelope(redis, added.tracking_id) or {}).get("follow_up_of") == tracking_id
    run_replies(server.settings, redis)
    [confirmation] = answer_to(outbox(server.settings), addition)
    assert str(confirmation["Subject"]) == f"[LAPOR #{tracking_id}] Tambahan foto"
    words = "Fotonya sudah saya kirim ulang."
    mail = citizen_mail(subject=row.subject, body=words + "\n" + gmail_answer_quoting(confirmation),
                        sender=row.sender, name="Warga" if row.sender == "warga@example.net" else "Teman")
    result = server.deliver(mail)
    assert result.tracking_id is not None and result.tracking_id not in (tracking_id, added.tracking_id)
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None
    assert envelope["follow_up_of"] == (tracking_id if row.joined else None)
    run_replies(server.settings, redis)
    [reply] = answer_to(outbox(server.settings), mail)
    if row.joined:
        assert envelope["text"] == words
        assert str(reply["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
        assert reply.get_content() == reply_body("follow_up", tracking_id)
    else:
        assert str(reply["Subject"]).startswith(f"[LAPOR #{result.tracking_id}] ")


@dataclass(frozen=True)
class PastTheBoundRow:
    """A friend's mail naming `before` other reports (IDs never issued: anonymous, none read past the bound) and
    then Siti Rahayu's anonymous one, in `body` ("{tags}" the others' tags, "{id}" hers, "{ack}" our acknowledgement
    to her)."""

    id: str
    body: str
    before: int = MAX_NAMED_REPORTS


_PAST_THE_BOUND_ROWS = [
    # her own forward of our acknowledgement, sent on by a friend with a digest of others: her header block names her
    PastTheBoundRow("her-ack-forwarded-on-as-the-17th", "Saya saksinya, pungli itu benar terjadi.\n{tags}\n\n"
                    + _ON_BY_A_FRIEND.replace("[LAPOR #{id}] Pungli", "[LAPOR #{{id}}] Pungli")),
    PastTheBoundRow("her-report-the-17th-named-with-her-address",
                    f"Saya saksinya. Laporan terkait: {{tags}} [LAPOR #{{id}}] dari Siti Rahayu <{REPORTER}>."),
    PastTheBoundRow("a-bare-address-beside-the-17th", f"Saya saksinya. {{tags}} [LAPOR #{{id}}] pelapor: {REPORTER}"),
    # a digest naming more people than are withheld by name: hers, the last, goes with her address
    PastTheBoundRow("her-name-past-the-names-withheld", "Saya saksinya. {tags} [LAPOR #{id}]\n"
                    + "".join(f"To: Warga Desa{n} <warga{n}@example.org>\n" for n in range(40))
                    + f"To: Siti Rahayu <{REPORTER}>\n"),
    # within the bound her copy is read and her identity withheld by it
    PastTheBoundRow("her-report-the-16th-within-the-bound",
                    f"Saya saksinya. Laporan terkait: {{tags}} [LAPOR #{{id}}] dari Siti Rahayu <{REPORTER}>.",
                    before=MAX_NAMED_REPORTS - 1),
]


@pytest.mark.parametrize("row", _PAST_THE_BOUND_ROWS, ids=[row.id for row in _PAST_THE_BOUND_ROWS])
def test_a_mail_naming_reports_past_the_bound_withholds_every_address_it_writes(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: PastTheBoundRow) -> None:
    """A mail naming more reports than are read (`MAX_NAMED_REPORTS`, one MGET) is anonymous, and every address it
    writes, and the name written before one, is withheld from the case store: the reports past the bound are not
    read, and any may be an anonymous one. Made anonymous alone, the mail put the seventeenth report's anonymous
    reporter's address and name (her forwarded header block, a mail naming her) beside her report's ID."""
    server = make_server()
    siti = EmailMessage()
    siti["From"], siti["To"], siti["Subject"] = f"Siti Rahayu <{REPORTER}>", RECIPIENT, "ANONIM: pungli di kelurahan"
    siti["Message-ID"] = make_msgid(domain="example.net")
    siti.set_content("Petugas kelurahan meminta uang.")
    other = server.deliver(siti.as_bytes().replace(b"\n", b"\r\n"), mail_from=REPORTER).tracking_id
    assert other is not None
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    tags = " ".join(f"[LAPOR #{format_tracking_id(int(other[:-1]) + 5_000_000 + k)}]" for k in range(row.before))
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Teman <teman@example.org>", RECIPIENT, "Fwd: laporan warga"
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(row.body.replace("{ack}", ack.get_content()).replace("{tags}", tags).replace("{id}", other))
    result = server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from="teman@example.org")
    assert result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and (envelope["follow_up_of"], envelope["anonymous"]) == (None, True)
    server.stop()  # its intake hands the reports to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    report = casestore.get(result.tracking_id)
    assert report is not None and "saksinya" in str(report["text"]) and other in str(report["text"])
    filed = orjson.dumps(report).decode()
    assert (REPORTER in filed, "Siti Rahayu" in filed) == (False, False)


@dataclass(frozen=True)
class NamedReportRow:
    """A new report's mail naming a report in its text (`names`: Siti's anonymous one, a confidential or a named one,
    one whose copy is gone, an ID never issued) from `sender`, with `subject`; the flags it is filed with, and the
    acknowledgement it gets (`ack`): anonymous (confidential) only when the mail asked for it or named its own
    sender's anonymous (confidential) report, never by what someone else's report is."""

    id: str
    names: str
    anonymous: bool
    ack: str = "ack"
    sender: str = "teman@example.org"
    subject: str = "Laporan warga"
    confidential: bool = False
    reply_to: str | None = None


NAMED_REPORT_ROWS = [
    NamedReportRow("someone-elses-anonymous-report", "anonymous", anonymous=True),
    NamedReportRow("someone-elses-confidential-report", "confidential", anonymous=False, confidential=True),
    NamedReportRow("someone-elses-named-report", "named", anonymous=False),
    NamedReportRow("a-report-whose-copy-is-gone", "gone", anonymous=True),
    NamedReportRow("an-id-never-issued", "never_issued", anonymous=True),
    # the writer's own asking, and the reporter naming her own anonymous report, are told
    NamedReportRow("the-writer-asks-for-anonymity", "named", anonymous=True, ack="ack_anonymous",
                   subject="ANONIM: laporan warga"),
    NamedReportRow("the-reporter-names-her-own-anonymous-report", "anonymous", anonymous=True, ack="ack_anonymous",
                   sender=REPORTER),
    # so is confidentiality: the writer's own RAHASIA, or the reporter's own confidential report named; someone else's
    # confidential report (above) is never told ("laporan rahasia Anda" told a guesser that report was one)
    NamedReportRow("the-writer-asks-for-confidentiality", "named", anonymous=False, confidential=True,
                   ack="ack_confidential", subject="RAHASIA: laporan warga"),
    NamedReportRow("the-reporter-names-her-own-confidential-report", "confidential", anonymous=False,
                   confidential=True, ack="ack_confidential", sender="lurah@example.org"),
    # her own report named under her From with her own Reply-To is told too; a forged From with someone else's
    # Reply-To is not: told "laporan anonim (rahasia) Anda" there, the forger learnt that this From sent that report,
    # and that it is anonymous (confidential)
    NamedReportRow("the-reporter-names-her-own-anonymous-report-with-her-reply-to", "anonymous", anonymous=True,
                   ack="ack_anonymous", sender=REPORTER, reply_to=REPORTER),
    NamedReportRow("a-forged-from-with-anothers-reply-to-anonymous", "anonymous", anonymous=True,
                   sender=REPORTER, reply_to="penyelidik@example.org"),
    NamedReportRow("a-forged-from-with-anothers-reply-to-confidential", "confidential", anonymous=False,
                   confidential=True, sender="lurah@example.org", reply_to="penyelidik@example.org"),
]


@pytest.mark.parametrize("row", NAMED_REPORT_ROWS, ids=[row.id for row in NAMED_REPORT_ROWS])
def test_a_mail_naming_someone_elses_report_in_its_text_is_told_nothing_of_it(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, row: NamedReportRow) -> None:
    """A new report carrying another report's tag in its text takes that report's privacy (anonymous when its copy is
    gone or its ID was never issued), but its acknowledgement says so only when the anonymity is the writer's own:
    told "laporan anonim Anda", anyone who typed a guessed `[LAPOR #<id>]` into a mail learnt whether that report was
    anonymous, gone or never issued, or a live named one; up to 16 IDs a mail."""
    server = make_server()
    ids = {}
    for name, subject, sender in [("anonymous", "ANONIM: pungli di kelurahan", REPORTER),
                                  ("confidential", "RAHASIA: pungli di kelurahan", "lurah@example.org"),
                                  ("named", "Jalan rusak", NEIGHBOUR), ("gone", "ANONIM: jalan rusak", NEIGHBOUR)]:
        ids[name] = server.deliver(citizen_mail(subject=subject, sender=sender), mail_from=sender).tracking_id
        assert ids[name] is not None
    redis.delete(envelope_key(ids["gone"]))
    ids["never_issued"] = _tag_fields(ids["named"], redis)["never_issued"]
    run_replies(server.settings, redis)
    message_id = make_msgid(domain="example.org")
    result = server.deliver(citizen_mail(subject=row.subject, sender=row.sender, message_id=message_id,
                                         body=f"Sama dengan laporan [LAPOR #{ids[row.names]}], jalan di RT 3 rusak.",
                                         headers={"Reply-To": row.reply_to} if row.reply_to else None),
                            mail_from=row.sender)
    assert result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["anonymous"], envelope["confidential"]) == (
        None, row.anonymous, row.confidential)
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    assert reply.get_content() == reply_body(row.ack, result.tracking_id)


@pytest.mark.parametrize(("subject", "told"), [
    ("Re: [LAPOR #{never_issued}] Jalan rusak", "follow_up_unknown"),
    ("ANONIM Re: [LAPOR #{never_issued}] Jalan rusak", "follow_up_unknown_anonymous"),
], ids=["quoting-someone-elses-anonymous-report", "and-asking-anonymity-itself"])
def test_a_mail_naming_an_unknown_id_is_not_told_anonymous_for_another_report_it_quotes(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, subject: str, told: str) -> None:
    """A mail naming a Tracking ID never issued, quoting someone else's anonymous report, is filed anonymous (that
    report's privacy), but told "filed as a new anonymous report" only for its own asking: otherwise its writer learnt
    the quoted report was anonymous, as the acknowledgement never tells (`told_anonymous`)."""
    server = make_server()
    anonymous = server.deliver(citizen_mail(subject="ANONIM: pungli di kelurahan", sender=REPORTER),
                               mail_from=REPORTER).tracking_id
    named = server.deliver(citizen_mail(subject="Jalan rusak")).tracking_id
    assert anonymous is not None and named is not None
    never_issued = _tag_fields(named, redis)["never_issued"]
    run_replies(server.settings, redis)
    message_id = make_msgid(domain="example.org")
    result = server.deliver(citizen_mail(subject=subject.format(never_issued=never_issued), sender="teman@example.org",
                                         message_id=message_id,
                                         body=f"Sama dengan laporan [LAPOR #{anonymous}], jalan di RT 3 rusak."),
                            mail_from="teman@example.org")
    assert result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and (envelope["follow_up_of"], envelope["anonymous"]) == (None, True)
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    assert reply.get_content() == reply_body(told, result.tracking_id, follow_up_of=never_issued)


@dataclass(frozen=True)
class FromRow:
    """A From field as written (raw, so not RFC 5322 where the row says so) and the sender it is: the address in angle
    brackets, as mail clients answer it and DMARC checks its domain."""

    id: str
    field: str
    sender: str


FROM_ROWS = [
    FromRow("an-address-as-display-name", "warga@example.net <penyusup@evil.example>", "penyusup@evil.example"),
    FromRow("the-same-without-a-space", "warga@example.net<penyusup@evil.example>", "penyusup@evil.example"),
    FromRow("a-quoted-address-as-display-name", '"warga@example.net" <penyusup@evil.example>', "penyusup@evil.example"),
    FromRow("a-bracketed-address-in-the-quoted-name", '"Warga <warga@example.net>" <penyusup@evil.example>',
            "penyusup@evil.example"),
    FromRow("a-bracketed-address-in-a-comment", "penyusup@evil.example (<warga@example.net>)",
            "penyusup@evil.example"),
    FromRow("an-undeclared-8-bit-address", "warga@example.net <penyus\u00fcp@evil.example>",
            "penyus\u00fcp@evil.example"),
    FromRow("a-quoted-local-part", 'warga@example.net <"penyusup desa"@evil.example>', '"penyusup desa"@evil.example'),
    FromRow("the-reports-sender-named-by-its-address", "warga@example.net <warga@example.net>", "warga@example.net"),
    FromRow("the-reports-sender-by-a-source-route", "Warga <@mx.example.net:warga@example.net>", "warga@example.net"),
    FromRow("the-reports-sender", "Warga <warga@example.net>", "warga@example.net"),
]


def _words(text: str, *cuts: int, encoding: str = "B") -> str:
    """`text` as a mail client splits it into RFC 2047 encoded-words: cut at the UTF-8 byte offsets `cuts` (a byte-
    counting mailer cuts inside a character), each folded onto a line of its own."""
    data, edges = text.encode(), [0, *cuts, len(text.encode())]
    pieces = [data[start:end] for start, end in itertools.pairwise(edges)]
    if encoding == "B":
        return "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(piece).decode()}?=" for piece in pieces)
    quoted = ["".join(chr(b) if b < 128 and chr(b).isalnum() else "_" if b == 32 else f"={b:02X}" for b in piece)
              for piece in pieces]
    return "\r\n ".join(f"=?utf-8?Q?{piece}?=" for piece in quoted)


SPLIT_NAME = "Siti Ámínah Rahayu"
SPLIT_NAME_ROWS = [
    pytest.param(_words(SPLIT_NAME, 7), id="at-a-character"),
    pytest.param(_words(SPLIT_NAME, 6), id="inside-a-character"),
    pytest.param(_words(SPLIT_NAME, 6, 10, encoding="Q"), id="inside-characters-quoted-printable"),
    # folded inside its quotes: read as no address at all, and the mail was quarantined (`no_sender`), unanswered
    pytest.param('"' + _words(SPLIT_NAME, 7) + '"', id="quoted-and-folded"),
]


@pytest.mark.parametrize("written", SPLIT_NAME_ROWS)
def test_a_from_name_in_several_encoded_words_is_one_name(make_server, redis: Redis, written: str) -> None:  # type: ignore[no-untyped-def]
    """RFC 2047 6.2: the whitespace between two encoded-words is none of the text. The policy's address parser put a
    space between a display name's words ("Siti Á mínah") and read a character split between two as two U+FFFD: the
    name an anonymous report's copy loses was not the one signed below it, which reached the case store."""
    server = make_server()
    raw = (f"From: {written} <siti.rahayu@example.net>\r\nTo: {RECIPIENT}\r\nSubject: ANONIM pungli\r\n"
           f"Message-ID: {make_msgid(domain='example.net')}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           f"Petugas meminta uang.\r\n\r\nSalam,\r\n{SPLIT_NAME}\r\n").encode()
    result = server.deliver(raw, mail_from="siti.rahayu@example.net")
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None and envelope["anonymous"]
    assert envelope["sender"]["display_name"] == SPLIT_NAME
    assert "Ámínah" not in without_own_identity(envelope)["text"]


@pytest.mark.parametrize("row", FROM_ROWS, ids=[row.id for row in FROM_ROWS])
def test_a_mail_is_its_from_fields_bracketed_address(make_server, redis: Redis, row: FromRow) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    first = server.deliver(citizen_mail(subject="ANONIM: pungli dana desa"))
    assert first.tracking_id is not None
    parent = first.tracking_id
    message_id = make_msgid(domain="evil.example")
    raw = (f"From: {row.field}\r\nTo: {RECIPIENT}\r\nSubject: Re: [LAPOR #{parent}] pungli dana desa\r\n"
           f"Message-ID: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Laporan ini tidak benar, mohon dicabut.\r\n").encode()
    plain = row.sender.isascii() and '"' not in row.sender  # an envelope sender smtplib sends as it is
    answer = server.deliver(raw, mail_from=row.sender if plain else "penyusup@evil.example")
    assert answer.tracking_id is not None
    envelope = stored_envelope(redis, answer.tracking_id)
    assert envelope is not None and envelope["sender"]["id"] == row.sender
    # Only the report's sender adds to it; anyone else's mail is a report of its own, answered at its own address.
    assert envelope["follow_up_of"] == (parent if row.sender == "warga@example.net" else None)
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    assert str(reply["To"]) == row.sender


def test_a_from_whose_bracketed_address_is_no_address_is_quarantined(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """Read as the name before it, the mail would be warga@example.net's; its own address has a control character."""
    server = make_server()
    raw = (f"From: warga@example.net <penyusup\x7f@evil.example>\r\nTo: {RECIPIENT}\r\nSubject: Jalan rusak\r\n"
           "Message-ID: <ctl-1@evil.example>\r\n\r\nJalan di depan pasar rusak parah.\r\n").encode()
    result = server.deliver(raw, mail_from="penyusup@evil.example")
    assert (result.data_code, result.tracking_id, envelope_count(redis)) == (250, None, 0)
    [quarantined] = (server.settings.data_dir / "email" / "quarantine").glob("*.json")
    assert orjson.loads(quarantined.read_bytes())["reason"] == "no_sender"


# Characters no address holds, each in a From or Reply-To whose only mailbox it is.
NO_ADDRESS_CHARACTERS = [pytest.param("\x00", id="nul"), pytest.param("\x01", id="soh"),
                         pytest.param("\x7f", id="del"), pytest.param("\u200b", id="zero-width-space"),
                         pytest.param("\u202e", id="right-to-left-override")]


@pytest.mark.parametrize("character", NO_ADDRESS_CHARACTERS)
def test_a_from_whose_only_address_is_no_address_is_quarantined(make_server, redis: Redis, character: str) -> None:  # type: ignore[no-untyped-def]
    """Filed, the report's sender was the address with the character in it (one an operator reads as someone else's,
    for a zero-width one), and our reply went to it as written."""
    server = make_server()
    raw = (f"From: Warga <warga{character}@example.net>\r\nTo: {RECIPIENT}\r\nSubject: Jalan rusak\r\n"
           "Message-ID: <ctl-2@example.net>\r\n\r\nJalan di depan pasar rusak parah.\r\n").encode()
    result = server.deliver(raw)
    assert (result.data_code, result.tracking_id, envelope_count(redis)) == (250, None, 0)
    [quarantined] = (server.settings.data_dir / "email" / "quarantine").glob("*.json")
    assert orjson.loads(quarantined.read_bytes())["reason"] == "no_sender"


@pytest.mark.parametrize("character", NO_ADDRESS_CHARACTERS)
def test_a_reply_to_that_is_no_address_is_not_answered_the_from_is(make_server, redis: Redis, character: str) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    raw = (f"From: Warga <warga@example.net>\r\nReply-To: <balas{character}@example.net>\r\nTo: {RECIPIENT}\r\n"
           "Subject: Jalan rusak\r\nMessage-ID: <ctl-3@example.net>\r\n\r\nJalan di depan pasar rusak parah.\r\n"
           ).encode()
    result = server.deliver(raw)
    assert result.tracking_id is not None
    run_replies(server.settings, redis)
    [reply] = outbox(server.settings)
    assert str(reply["To"]) == "warga@example.net"


@pytest.mark.parametrize("reply_to", [pytest.param(RECIPIENT, id="our-address"),
                                      pytest.param("LAPOR! <PENGADUAN@Lapor.Go.Id>", id="ours-named-in-capitals"),
                                      pytest.param("pengaduan+balasan@lapor.go.id", id="a-subaddress-of-ours")])
def test_a_reply_to_naming_our_own_address_is_not_where_the_acknowledgement_goes(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, reply_to: str) -> None:
    """Answered at the Reply-To, the reply worker skipped the acknowledgement (it never writes to our own address),
    and the citizen never learnt their Tracking ID."""
    server = make_server()
    result = server.deliver(citizen_mail(headers={"Reply-To": reply_to}))
    assert result.tracking_id is not None
    run_replies(server.settings, redis)
    [reply] = outbox(server.settings)
    assert (str(reply["To"]), str(reply["X-LAPOR-Tracking-ID"])) == ("warga@example.net", result.tracking_id)


@pytest.mark.parametrize(("case", "broken", "said"), [
    pytest.param("a parser bug some mail meets", True, True, id="parse-error"),
    pytest.param("a mail of its own bad form (no sender)", False, False, id="no-sender"),
])
def test_a_mail_the_gateway_failed_to_read_turns_the_channel_degraded_one_of_its_own_bad_form_not(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch, case: str, broken: bool, said: bool) -> None:
    """Kept in the quarantine, a mail our parser failed on got no answer and no case, and every view said "ok" (a bug
    quarantines every mail of its kind): the e-mail channel is degraded for an hour, the reason naming the error's
    type alone (its message may quote the mail) and the command to see the mails. A mail quarantined for its own
    form (no sender to answer) is the mail's, not ours: counted as a rejection, as before."""
    if broken:
        def failing_parse(*_: object, **__: object) -> None:
            raise UnicodeDecodeError("utf-8", b"\xff Budi 0812-3456-7890", 0, 1, "invalid start byte")
        monkeypatch.setattr(processor_module, "parse_mail", failing_parse)
    server = make_server()
    from_line = "warga@example.net" if broken else "warga@example.net <penyusup\x7f@evil.example>"
    raw = (f"From: {from_line}\r\nTo: {RECIPIENT}\r\nSubject: Jalan rusak\r\nMessage-ID: <q-1@example.net>"
           "\r\n\r\nJalan di depan pasar rusak parah.\r\n").encode()
    assert server.deliver(raw, mail_from="warga@example.net").data_code == 250
    [quarantined] = (server.settings.data_dir / "email" / "quarantine").glob("*.json")
    assert orjson.loads(quarantined.read_bytes())["reason"] == ("parse_error" if broken else "no_sender"), case
    rules = load_rules(server.settings.health.rules_path())

    def email() -> dict[str, object]:
        return {c["channel"]: c for c in HealthMonitor(redis, rules).status()["channels"]}["email"]

    if said:
        wait_until(lambda: email()["state"] == "degraded")
        reason = str(email()["reason"])
        assert "a mail the gateway failed to read was quarantined" in reason, reason
        assert "(parse_error, UnicodeDecodeError)" in reason and "lapor-gateway email quarantine list" in reason
        assert "0812" not in reason and "Budi" not in reason
        later = {c["channel"]: c for c in HealthMonitor(redis, rules, clock=lambda: time.time() + 3601).status()[
            "channels"]}["email"]
        assert "failed to read" not in str(later["reason"]), later
    else:
        server.stop()  # its signal writes done
        assert "failed to read" not in str(email()["reason"]), case


def _open_data(port: int) -> tuple[socket.socket, io.BufferedReader]:
    """A raw session up to DATA's 354, as a sending server opens it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    reader = sock.makefile("rb")
    for command in (None, b"EHLO mx.example.net\r\n", b"MAIL FROM:<warga@example.net>\r\n",
                    f"RCPT TO:<{RECIPIENT}>\r\n".encode(), b"DATA\r\n"):
        if command:
            sock.sendall(command)
        while (line := reader.readline())[3:4] == b"-":
            continue
    assert line.startswith(b"354")
    return sock, reader


def test_a_mail_that_keeps_arriving_is_received_however_long_it_takes(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's timeout is how long the server waits for the sender's next bytes (RFC 5321 4.5.3.2), not a
    time the whole mail must arrive in: aiosmtpd restarts it at each command only, so a 20 MB mail from a sender on
    a line slower than 1.4 Mbit/s was cut off at 120 s every time it was sent, with no line in our log, and never
    arrived. Here: a timeout of 1 s and a mail arriving over 3 s, a piece every 0.3 s."""
    monkeypatch.setattr("channels.email.server.SESSION_TIMEOUT_SECONDS", 1.0)
    server = make_server()
    raw = citizen_mail() + b".\r\n"
    piece = len(raw) // 10 + 1
    sock, reader = _open_data(server.port)
    with sock:
        for start in range(0, len(raw), piece):
            time.sleep(0.3)  # the sender's pace, not a wait for the server
            sock.sendall(raw[start:start + piece])
        assert reader.readline().startswith(b"250 2.0.0 OK: LAPOR #")
    assert envelope_count(redis) == 1


def test_a_session_waits_the_five_minutes_rfc_5321_asks_for_the_next_command(make_server,  # type: ignore[no-untyped-def]
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 5321 4.5.3.2.7: a server SHOULD wait at least 5 minutes for the next command. The session waited 120 s,
    and a sending server that paused longer between two commands was cut off. The wait is SESSION_TIMEOUT_SECONDS
    (here run at 1 s, over a socket: an idle client is let go once it is over, not before)."""
    assert SESSION_TIMEOUT_SECONDS >= 5 * 60
    monkeypatch.setattr("channels.email.server.SESSION_TIMEOUT_SECONDS", 1.0)
    server = make_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"EHLO mx.example.net\r\n")
        while (line := reader.readline())[3:4] == b"-":
            continue
        assert line.startswith(b"250 ")
        answered = time.monotonic()
        assert reader.readline() == b""  # the server closes the connection
        assert time.monotonic() - answered >= 0.9


def test_the_servers_name_is_looked_up_once_not_at_every_connection(make_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                                     redis: Redis) -> None:
    """aiosmtpd looks up its host's name (`socket.getfqdn`, a DNS lookup when the name is not in /etc/hosts) for each
    connection it accepts, on the event loop: while DNS was slow or down, each connection stopped every SMTP session
    and the IMAP poller for the resolver's timeout (5 s, and again for each server it tries)."""
    looked_up: list[str] = []

    def getfqdn(name: str = "") -> str:
        looked_up.append(name)
        return "mx.lapor.go.id"

    monkeypatch.setattr(socket, "getfqdn", getfqdn)
    server = make_server()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            assert sock.makefile("rb").readline().startswith(b"220 mx.lapor.go.id ")
    assert len(looked_up) == 1


def test_a_sender_that_stops_sending_in_the_middle_of_a_mail_is_still_cut_off(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("channels.email.server.SESSION_TIMEOUT_SECONDS", 1.0)
    server = make_server()
    sock, reader = _open_data(server.port)
    with sock:
        sock.sendall(citizen_mail()[:200])
        assert reader.readline() == b""  # the server closes the connection; nothing is stored
    assert envelope_count(redis) == 0


# An encoded-word (RFC 2047) is text: where it stands for an address, the field names none (RFC 2047 5: never in an
# addr-spec). Decoded first and read as an address after, the first made the mail warga@example.net's, and the second
# (Reply-To alone) answered two strangers in one reply, past each one's hourly cap.
ENCODED_ADDRESSES = {
    "an-address": "=?utf-8?q?warga=40example=2Enet?=",
    "two-addresses": "=?utf-8?b?" + base64.b64encode(b"warga@example.net, korban@example.org").decode() + "?=",
}
ENCODED_REPLY_TO = {
    "an-address": "=?utf-8?q?korban=40example=2Eorg?=",
    "two-addresses": "=?utf-8?b?" + base64.b64encode(b"korban@example.org, target@example.com").decode() + "?=",
}


@pytest.mark.parametrize("written", ENCODED_ADDRESSES.values(), ids=ENCODED_ADDRESSES.keys())
def test_a_from_that_is_an_encoded_word_names_no_sender(make_server, redis: Redis, written: str) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    first = server.deliver(citizen_mail(subject="ANONIM: pungli dana desa"))
    assert first.tracking_id is not None
    raw = (f"From: {written}\r\nTo: {RECIPIENT}\r\nSubject: Re: [LAPOR #{first.tracking_id}] pungli dana desa\r\n"
           "Message-ID: <ew-1@evil.example>\r\n\r\nLaporan ini tidak benar, mohon dicabut.\r\n").encode()
    result = server.deliver(raw, mail_from="penyusup@evil.example")
    assert (result.data_code, result.tracking_id, envelope_count(redis)) == (250, None, 1)
    [quarantined] = (server.settings.data_dir / "email" / "quarantine").glob("*.json")
    assert orjson.loads(quarantined.read_bytes())["reason"] == "no_sender"


@pytest.mark.parametrize("written", ENCODED_REPLY_TO.values(), ids=ENCODED_REPLY_TO.keys())
def test_a_reply_to_that_is_an_encoded_word_is_not_answered(make_server, redis: Redis, written: str) -> None:  # type: ignore[no-untyped-def]
    """The mail is answered at its From, as one without a Reply-To is; an encoded name before an address stays a
    name (the next mail's Reply-To is answered)."""
    server = make_server()
    named = "=?utf-8?q?Budi=2C_RT_03?= <rumah@example.net>"
    for number, reply_to in enumerate((written, named)):
        raw = (f"From: Warga <warga@example.net>\r\nReply-To: {reply_to}\r\nTo: {RECIPIENT}\r\n"
               f"Subject: Jalan rusak\r\nMessage-ID: <ew-{number}@example.net>\r\n\r\n"
               "Jalan di depan pasar rusak parah.\r\n").encode()
        assert server.deliver(raw, mail_from="warga@example.net").tracking_id is not None
    run_replies(server.settings, redis)
    assert sorted(str(reply["To"]) for reply in outbox(server.settings)) == ["rumah@example.net", "warga@example.net"]


# What reads a key's value: MONITOR shows each as its command and arguments.
VALUE_READS = frozenset({"GET", "GETEX", "MGET"})


@contextmanager
def envelope_reads(redis: Redis, *tracking_ids: str) -> Iterator[list[str]]:
    """The commands on this test's database that read the envelope copy of one of `tracking_ids` while the block ran,
    as Redis saw them (MONITOR), whichever client or thread sent them; the list is filled as the block ends."""
    keys, db = {envelope_key(tracking_id) for tracking_id in tracking_ids}, \
        redis.connection_pool.connection_kwargs.get("db", 0)
    marker = f"envelope-reads-end-{uuid.uuid4().hex}"
    reads: list[str] = []
    with redis.monitor() as monitor:
        yield reads
        redis.echo(marker)
        while (seen := monitor.next_command())["command"].lower() != f"echo {marker}":
            words = seen["command"].split()
            if seen["db"] == db and words[0].upper() in VALUE_READS and keys.intersection(words[1:]):
                reads.append(seen["command"])


@dataclass(frozen=True)
class ReadRow:
    """A mail naming a report (`_tag_fields`) by `sender`, the report's own (warga@example.net) or not, and whether it
    becomes a follow-up."""

    id: str
    sender: str
    names: str
    follow_up: bool


READ_ROWS = [
    ReadRow("the-reports-sender", "warga@example.net", "first", follow_up=True),
    ReadRow("another-address", "lurah@example.org", "first", follow_up=False),
    ReadRow("issued-report-gone", "warga@example.net", "issued_unused", follow_up=True),
    ReadRow("never-issued", "warga@example.net", "never_issued", follow_up=False),
    ReadRow("in-the-servers-reserve", "warga@example.net", "in_reserve", follow_up=False),
]


@pytest.mark.parametrize("row", READ_ROWS, ids=[row.id for row in READ_ROWS])
def test_a_mail_naming_a_report_reads_its_envelope_copy_once(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                              row: ReadRow) -> None:
    """Whose report it is, its flags and `from_reports_sender`, and where the mail is answered all come from one read
    of the report's envelope copy (gateway/followups.py `stored_envelope`). Read by each decision, it cost up to three
    Redis round trips for the same data, and the decisions could see the report change (expire) between them."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="ANONIM: pungli dana desa"))
    assert first.tracking_id is not None
    named = _tag_fields(first.tracking_id, redis)[row.names]
    with envelope_reads(redis, named) as reads:
        answer = server.deliver(citizen_mail(subject=f"Re: [LAPOR #{named}] pungli dana desa", sender=row.sender,
                                             body="Ada bukti transfernya."), mail_from=row.sender)
    assert answer.tracking_id is not None
    envelope = stored_envelope(redis, answer.tracking_id)
    assert envelope is not None and envelope["follow_up_of"] == (named if row.follow_up else None)
    assert (len(reads), set(reads)) == (1, {f"MGET {envelope_key(named)}"})


def test_a_mail_naming_several_reports_reads_their_envelope_copies_in_one_round_trip(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """The report a mail continues and every other report it names (its subject's tags, its text's) are read in one
    MGET: the report's copy in a GET of its own, then the others', cost a second round trip on each such mail."""
    server = make_server()
    first = server.deliver(citizen_mail(subject="Jalan rusak")).tracking_id
    second = server.deliver(citizen_mail(subject="ANONIM: pungli dana desa")).tracking_id
    third = server.deliver(citizen_mail(subject="Lampu jalan mati")).tracking_id
    assert first is not None and second is not None and third is not None
    with envelope_reads(redis, first, second, third) as reads:
        answer = server.deliver(citizen_mail(subject=f"Re: [LAPOR #{first}] [LAPOR #{second}] laporan warga",
                                             body=f"Ada bukti transfernya.\n\n> [LAPOR #{third}] diterima"))
    assert answer.tracking_id is not None
    envelope = stored_envelope(redis, answer.tracking_id)
    assert envelope is not None and (envelope["follow_up_of"], envelope["anonymous"]) == (first, True)
    assert len(reads) == 1 and reads[0].split()[0].upper() == "MGET", reads
    assert all(envelope_key(report) in reads[0] for report in (first, second, third))


@pytest.mark.parametrize("row", DAMAGES, ids=[row.id for row in DAMAGES])
def test_a_mail_naming_a_report_whose_copy_is_damaged_is_taken_as_one_whose_copy_is_gone(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, log_stream: io.StringIO, row: Damage) -> None:
    """A copy that is not JSON, not an object, another report's, or without a field the decisions read, is the
    report's copy gone (gateway/followups.py `readable_copy`), for every decision the mail takes: an anonymous
    follow-up that cannot say whose words it is, answered at its From, and a warning an operator sees. The flags and
    sender were read from it unchecked: a copy not an object failed the mail (451, over and over), and another report's
    copy made a stranger's mail a follow-up filed open beside an anonymous report, told as its reporter's words (or
    as someone else's, from a mail that may not add to the report at all)."""
    server = make_server()
    parent = server.deliver(citizen_mail(subject="ANONIM: pungli dana desa")).tracking_id
    other = server.deliver(citizen_mail(subject="Jalan rusak", sender="lurah@example.org"),
                           mail_from="lurah@example.org").tracking_id
    assert parent is not None and other is not None
    damage(redis, parent, other, row)
    message_id = make_msgid(domain="example.org")
    answer = server.deliver(citizen_mail(subject=f"Re: [LAPOR #{parent}] pungli dana desa", sender="lurah@example.org",
                                         body="Laporan ini tidak benar.", message_id=message_id,
                                         headers={"Reply-To": "lurah.pribadi@example.org"}),
                            mail_from="lurah@example.org")
    assert answer.data_code == 250 and answer.tracking_id is not None
    envelope = stored_envelope(redis, answer.tracking_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["anonymous"], envelope["from_reports_sender"]) == (parent, True, None)
    run_replies(server.settings, redis)
    [reply] = [r for r in outbox(server.settings) if str(r["In-Reply-To"]).strip() == message_id]
    assert (str(reply["To"]), reply.get_content()) == ("lurah@example.org", reply_body("follow_up", parent))
    damaged = [(e["level"], e["channel"], e["source"], e["tracking_id"], e["reason"]) for e in log_events(log_stream)
               if e["event"] == "follow_up.copy_damaged"]
    assert damaged == ([("warning", "email", "email-smtp", parent, row.reason)] if row.reason else [])


def test_the_reply_to_a_mail_naming_someone_elses_report_says_so_in_both_languages() -> None:
    """Indonesian first, then English: the new ID, the ID named, and whose additions are taken; not how the report
    named was sent (a mail or an SMS), nor anything else of it."""
    body = reply_body("follow_up_other_sender", "10000004", follow_up_of="10000057")
    indonesian, english = body.split("\n\nEnglish: ")
    for text in (indonesian, english):
        assert "10000057" in text and "10000004" in text
    assert "laporan baru" in indonesian and "pengirimnya" in indonesian and "[LAPOR #10000004]" in indonesian
    assert english.startswith("your mail was filed as a new report with Tracking ID 10000004, not as an addition")


def test_the_reply_to_a_mail_naming_a_report_never_issued_says_so_in_both_languages() -> None:
    """Indonesian first, then English, as every e-mail reply: each names the ID the mail named and the new one."""
    body = reply_body("follow_up_unknown", "10000004", follow_up_of="1000000001")
    indonesian, english = body.split("\n\nEnglish: ")
    for text in (indonesian, english):
        assert "1000000001" in text and "10000004" in text
    assert "laporan baru" in indonesian and "[LAPOR #10000004]" in indonesian
    assert english.startswith("no report 1000000001 was found; your mail was filed as a new report")
    anonymous = reply_body("follow_up_unknown_anonymous", "10000004", follow_up_of="1000000001")
    indonesian, english = anonymous.split("\n\nEnglish: ")
    for text in (indonesian, english):
        assert "1000000001" in text and "10000004" in text
    assert "laporan anonim baru" in indonesian and "tidak diteruskan ke instansi" in indonesian
    assert "[LAPOR #10000004]" in indonesian
    assert english.startswith("no report 1000000001 was found; your mail was filed as a new anonymous report")


def test_a_tag_with_a_wrong_check_digit_is_a_new_anonymous_report(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """Its subject names a report one typo away, maybe the citizen's own anonymous one: filed open, the citizen's
    address would stand beside that ID in the case store."""
    server = make_server()
    result = server.deliver(citizen_mail(subject="Re: [LAPOR #10000058] Jalan"))
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["anonymous"]) == (None, True)
    plain = server.deliver(citizen_mail(subject="Re: [LAPOR] Jalan", message_id=make_msgid(domain="example.net")))
    assert stored_envelope(redis, plain.tracking_id or "")["anonymous"] is False  # type: ignore[index]


@pytest.mark.parametrize(
    ("headers", "envelope_sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "x@example.net", "auto_submitted"),
        ({"Auto-Submitted": "auto-generated"}, "x@example.net", "auto_submitted"),
        ({"Auto-Submitted": "auto-notified; owner-email=x@example.net"}, "x@example.net", "auto_submitted"),
        ({"Auto-Submitted": "no"}, "x@example.net", None),
        ({"Auto-Submitted": "no (dikirim oleh warga)"}, "x@example.net", None),
        ({"Auto-Submitted": "auto-replied (cuti)"}, "x@example.net", "auto_submitted"),
        ({"Precedence": "bulk (buletin)"}, "x@example.net", "precedence"),
        ({"Precedence": "bulk"}, "x@example.net", "precedence"),
        ({"Precedence": "list"}, "x@example.net", "precedence"),
        ({"Precedence": "junk"}, "x@example.net", "precedence"),
        ({"Precedence": "first-class"}, "x@example.net", None),
        # A request about the answers to the mail, not a mark of auto-mail (filed; see the test below), but beside
        # Exchange's Inbox-rules counter, the mark of its out-of-office assistant's replies, which set no
        # Auto-Submitted.
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "x@example.net", None),
        ({"X-Auto-Response-Suppress": "All", "X-MS-Exchange-Inbox-Rules-Loop": "kabag@pemkot.example.go.id"},
         "x@example.net", "x_auto_response_suppress"),
        ({"List-Id": "<warga.lists.example.net>"}, "x@example.net", "mailing_list"),
        ({"List-Unsubscribe": "<mailto:leave@lists.example.net>"}, "x@example.net", "mailing_list"),
        # another system's loop (a forward of a citizen's complaint): filed, not answered (see the test below)
        ({"X-Loop": "helpdesk@example.net"}, "x@example.net", None),
        ({"X-Loop": "LAPOR <Pengaduan@Lapor.go.id>"}, "x@example.net", "x_loop"),  # ours come back
        ({"X-Loop": "helpdesk@example.net", "In-Reply-To": "<a@example.net>"}, "x@example.net", "x_loop"),
        ({"Precedence": "auto_reply"}, "x@example.net", "precedence"),
        ({"X-Autoreply": "yes"}, "x@example.net", "autoreply_header"),
        ({"X-Autorespond": "Saya sedang cuti"}, "x@example.net", "autoreply_header"),
        ({"X-Autogenerated": "Reply"}, "x@example.net", "autoreply_header"),
        ({}, "", "null_sender"),
        ({}, "<>", "null_sender"),
        ({}, None, None),
        ({}, "x@example.net", None),
    ],
    ids=["auto-replied", "auto-generated", "auto-notified", "auto-submitted-no", "auto-submitted-no-with-a-comment",
         "auto-replied-with-a-comment", "precedence-bulk-with-a-comment", "precedence-bulk", "precedence-list",
         "precedence-junk", "precedence-other", "x-auto-response-suppress", "exchange-out-of-office",
         "list-id", "list-unsubscribe", "x-loop-of-a-forwarder", "x-loop-ours", "x-loop-on-an-answer",
         "precedence-auto-reply", "x-autoreply", "x-autorespond", "x-autogenerated",
         "null-sender", "null-sender-brackets", "imap-no-envelope", "ordinary"],
)
def test_loop_guard_headers(settings: Settings, headers: dict[str, str], envelope_sender: str | None,
                            reason: str | None) -> None:
    mail = parse_mail(citizen_mail(headers=headers))
    assert loop_reason(mail, envelope_sender, settings.email) == reason


OUR_ACK = "<lapor-10000057-9f8e7d6c5b4a3921@mail.lapor.go.id>"


@dataclass(frozen=True)
class AutoreplySubject:
    id: str
    subject: str
    headers: dict[str, str]
    reason: str | None


AUTOREPLY_SUBJECTS = [
    # an autoresponder's subject on a mail that answers our reply: an autoreply, whatever else it lacks
    AutoreplySubject("outlook-english", "Automatic reply: [LAPOR #10000057] Jalan rusak", {"In-Reply-To": OUR_ACK},
                     "autoreply_subject"),
    AutoreplySubject("outlook-indonesian", "Balasan Otomatis: [LAPOR #10000057] Jalan rusak",
                     {"In-Reply-To": OUR_ACK}, "autoreply_subject"),
    AutoreplySubject("indonesian-lowercase", "balasan otomatis: Jalan rusak", {"In-Reply-To": OUR_ACK},
                     "autoreply_subject"),
    AutoreplySubject("lotus-notes-auto", "AUTO: Budi Santoso is out of the office (returning 07/12/2026)",
                     {"In-Reply-To": OUR_ACK}, "autoreply_subject"),
    AutoreplySubject("out-of-office-autoreply", "Out of Office AutoReply: Jalan rusak", {"In-Reply-To": OUR_ACK},
                     "autoreply_subject"),
    AutoreplySubject("out-of-office-no-colon", "Out of office until 7 December", {"In-Reply-To": OUR_ACK},
                     "autoreply_subject"),
    AutoreplySubject("autoreply", "Autoreply: Jalan rusak", {"In-Reply-To": OUR_ACK}, "autoreply_subject"),
    AutoreplySubject("german", "Abwesenheitsnotiz: Jalan rusak", {"In-Reply-To": OUR_ACK}, "autoreply_subject"),
    AutoreplySubject("french-space-before-colon", "Réponse automatique : Jalan rusak", {"In-Reply-To": OUR_ACK},
                     "autoreply_subject"),
    AutoreplySubject("japanese-fullwidth-colon", "自動返信：Jalan rusak", {"In-Reply-To": OUR_ACK},
                     "autoreply_subject"),
    # our reply named in the References alone (a client that writes no In-Reply-To), not as their last
    AutoreplySubject("references-only", "Automatic reply: Jalan rusak",
                     {"References": f"{OUR_ACK} <CAother01@mail.gmail.com>"}, "autoreply_subject"),
    # a query's answer (no report) is ours too
    AutoreplySubject("answer-to-a-query", "Automatic reply: Re: Cek",
                     {"In-Reply-To": "<lapor-query-0a1b2c3d@mail.lapor.go.id>"}, "autoreply_subject"),
    # no threading, but our reply's subject after the opening: an autoresponder that writes no In-Reply-To
    AutoreplySubject("our-tag-after-the-opening", "Automatic reply: [LAPOR #10000057] Jalan rusak", {},
                     "autoreply_subject"),
    AutoreplySubject("our-tag-after-a-reply-prefix", "Out of Office: RE: [LAPOR #10000057] Jalan rusak", {},
                     "autoreply_subject"),
    # a tag whose check digit fails names no reply of ours
    AutoreplySubject("a-mistyped-tag", "Automatic reply: [LAPOR #10000058] Jalan rusak", {}, None),
    # the same subject answering no mail of ours: a citizen may type it, and it is a report
    AutoreplySubject("no-threading", "Automatic reply: Jalan rusak", {}, None),
    AutoreplySubject("answers-someone-else", "Automatic reply: Jalan rusak",
                     {"In-Reply-To": "<CAother01@mail.gmail.com>"}, None),
    AutoreplySubject("our-form-another-domain", "Automatic reply: Jalan rusak",
                     {"In-Reply-To": "<lapor-10000057-9f8e7d6c5b4a3921@mail.example.net>"}, None),
    # an ordinary answer to our reply, and words that only begin like an opening
    AutoreplySubject("answer-to-our-reply", "Re: [LAPOR #10000057] Jalan rusak", {"In-Reply-To": OUR_ACK}, None),
    AutoreplySubject("reply-to-an-autoreply", "Re: Automatic reply: Jalan rusak", {"In-Reply-To": OUR_ACK}, None),
    AutoreplySubject("auto-without-colon", "Auto rusak di depan kantor dinas", {"In-Reply-To": OUR_ACK}, None),
    AutoreplySubject("automatic-word", "Automatically charged Rp 50.000", {"In-Reply-To": OUR_ACK}, None),
    AutoreplySubject("out-of-office-longer-word", "Out of officers on duty at the market", {"In-Reply-To": OUR_ACK},
                     None),
    AutoreplySubject("sedang-cuti", "Sedang cuti: petugas loket tidak ada", {"In-Reply-To": OUR_ACK}, None),
]


@pytest.mark.parametrize("row", AUTOREPLY_SUBJECTS, ids=[row.id for row in AUTOREPLY_SUBJECTS])
def test_an_autoresponders_subject_is_an_autoreply_only_on_an_answer_to_our_mail(settings: Settings,
                                                                                row: AutoreplySubject) -> None:
    """An out-of-office notice without Auto-Submitted, Precedence or X-Autoreply (Exchange behind a gateway that
    drops its X-MS-Exchange fields, Lotus Notes, an Outlook rule) answering our acknowledgement was filed as the
    citizen's addition and answered. Its subject's opening (config/email.toml) says so only beside our own
    Message-ID in its In-Reply-To or References: alone, a citizen may have typed it."""
    mail = parse_mail(citizen_mail(subject=row.subject, headers=row.headers))
    assert loop_reason(mail, "x@example.net", settings.email) == row.reason


def calendar_ics(method: str | None) -> str:
    """An iCalendar object (RFC 5545) as calendar software sends it, with a METHOD line when `method` is given."""
    method_line = f"METHOD:{method}\n" if method else ""
    return (f"BEGIN:VCALENDAR\nPRODID:Microsoft Exchange Server 2010\nVERSION:2.0\n{method_line}BEGIN:VEVENT\n"
            "ORGANIZER;CN=Kepala Dinas:mailto:kadis@dinas.example.go.id\n"
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:warga@example.net\nSUMMARY:Rapat koordinasi\n"
            "DTSTART:20261126T020000Z\nDTEND:20261126T030000Z\nUID:rapat-0001@dinas.example.go.id\n"
            "END:VEVENT\nEND:VCALENDAR\n")


def calendar_mail(subject: str = "Accepted: Rapat koordinasi", *, method: str | None = "REPLY",
                  method_param: str | None = None, text: str = "", photo: bool = False, as_file: bool = False,
                  attached: bool = False, sender: str = "Warga <warga@example.net>") -> bytes:
    """A mail of a text part and a calendar part: `method` its METHOD line, `method_param` its Content-Type's
    `method`; `as_file` the calendar as an invite.ics attachment (application/ics), `photo` a photo beside it,
    `attached` the calendar mail attached (message/rfc822) to a citizen's mail instead; `sender` its From (the
    calendar's attendee by default, the organizer being the Kepala Dinas)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, RECIPIENT, subject
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(text or "\n")
    if as_file:
        message.add_attachment(calendar_ics(method).encode(), maintype="application", subtype="ics",
                               filename="invite.ics")
    else:
        message.add_alternative(calendar_ics(method), subtype="calendar",
                                params={"method": method_param} if method_param else None)
    if photo:
        message.add_attachment(b"\x89PNG bukti", maintype="image", subtype="png", filename="bukti.png")
    if not attached:
        return message.as_bytes().replace(b"\n", b"\r\n")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "Warga <warga@example.net>", RECIPIENT, "Undangan dari dinas"
    outer["Message-ID"] = make_msgid(domain="example.net")
    outer.set_content("Kepala dinas mengundang saya rapat dan meminta uang koordinasi. Undangannya terlampir.")
    outer.add_attachment(message)
    return outer.as_bytes().replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class CalendarRow:
    id: str
    raw: bytes
    reason: str | None


CALENDAR_ROWS = [
    # a calendar's answer or cancellation, however its method is written: no report
    CalendarRow("reply-method-line-and-param", calendar_mail(method_param="REPLY"), "calendar_reply"),
    CalendarRow("reply-method-line-alone", calendar_mail(), "calendar_reply"),
    CalendarRow("reply-method-param-alone", calendar_mail(method=None, method_param="reply"), "calendar_reply"),
    CalendarRow("cancel", calendar_mail("Canceled: Rapat koordinasi", method="CANCEL", method_param="CANCEL",
                                        sender="Kepala Dinas <kadis@dinas.example.go.id>"), "calendar_reply"),
    CalendarRow("reply-as-an-ics-file", calendar_mail("Declined: Rapat koordinasi", as_file=True), "calendar_reply"),
    # an attendee's comment to the organizer is the calendar's, not a report
    CalendarRow("reply-with-a-comment", calendar_mail("Ditolak: Rapat koordinasi", text="Maaf, saya berhalangan."),
                "calendar_reply"),
    # no method: the subject of a calendar's answer says what it is
    CalendarRow("no-method-accepted-subject", calendar_mail("Accepted: Rapat koordinasi", method=None),
                "calendar_reply"),
    CalendarRow("no-method-indonesian-subject", calendar_mail("Diterima: Rapat koordinasi", method=None),
                "calendar_reply"),
    CalendarRow("no-method-other-subject", calendar_mail("Jadwal rapat dengan dinas", method=None), None),
    # an invitation is a citizen's evidence, whatever the subject says
    CalendarRow("request", calendar_mail("Undangan rapat", method="REQUEST", method_param="REQUEST"), None),
    CalendarRow("request-under-an-answer-subject", calendar_mail("Accepted: Rapat koordinasi", method="REQUEST"),
                None),
    CalendarRow("publish", calendar_mail("Jadwal pelayanan", method="PUBLISH"), None),
    CalendarRow("request-and-reply", calendar_mail(method="REQUEST", method_param="REPLY"), None),
    # a forward, a file of the citizen's, or the answer attached to a citizen's mail: a report
    CalendarRow("forwarded-reply", calendar_mail("Fwd: Accepted: Rapat koordinasi",
                                                 text="Dinas menerima undangan rapat ini, padahal ..."), None),
    CalendarRow("reply-with-a-photo", calendar_mail("Accepted: Rapat koordinasi", photo=True), None),
    CalendarRow("reply-attached-to-a-report", calendar_mail(attached=True), None),
    # someone else's calendar mail sent on by a citizen, its "Fwd:" deleted or its invite.ics saved and attached to a
    # mail of their own: the cancellation of a meeting they were invited to is not theirs to send (the organizer's),
    # nor an attendee's answer that of another attendee. Each was dropped unanswered, the citizen's words with it.
    CalendarRow("cancel-sent-on-by-an-attendee", calendar_mail(
        "Rapat koordinasi dibatalkan sepihak lagi", method="CANCEL", method_param="CANCEL",
        text="Kepala dinas membatalkan rapat ganti rugi untuk ketiga kalinya. Undangannya saya lampirkan."), None),
    CalendarRow("cancel-file-attached-by-an-attendee", calendar_mail(
        "Rapat ganti rugi dibatalkan", method="CANCEL", as_file=True,
        text="Rapat ganti rugi lahan dibatalkan lagi, alat berat sudah masuk. Undangannya terlampir."), None),
    CalendarRow("reply-sent-on-by-another", calendar_mail(
        "Accepted: Rapat koordinasi", sender="Tetangga <tetangga@example.net>",
        text="Warga yang menerima undangan ini dimintai uang koordinasi."), None),
]


@pytest.mark.parametrize("row", CALENDAR_ROWS, ids=[row.id for row in CALENDAR_ROWS])
def test_a_calendars_answer_to_an_invitation_is_no_report(settings: Settings, row: CalendarRow) -> None:
    """A calendar's answer to an invitation (accepted, declined: METHOD:REPLY) or an organizer's cancellation
    (METHOD:CANCEL) was filed as a report and answered. An invitation (REQUEST) a citizen forwards is evidence."""
    mail = parse_mail(row.raw)
    assert loop_reason(mail, "warga@example.net", settings.email) == row.reason


@pytest.mark.parametrize("name", ["outlook_invitation_alternative", "thunderbird_calendar_nameless"])
def test_an_invitation_a_citizen_forwards_is_their_report(make_server, redis: Redis, name: str) -> None:  # type: ignore[no-untyped-def]
    """Over SMTP: an invitation (METHOD:REQUEST) beside the citizen's words is filed and answered, its calendar part
    a file of the report; a calendar's answer is not (the corpus's `*_calendar_*` rows)."""
    server = make_server()
    result = server.deliver(fixture(name))
    assert result.data_code == 250 and result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and "text/calendar" in [item["content_type"] for item in envelope["attachments"]]
    run_replies(server.settings, redis)
    assert [str(reply["X-LAPOR-Tracking-ID"]) for reply in outbox(server.settings)] == [result.tracking_id]


def test_a_complaint_forwarded_by_a_system_that_marks_its_loop_is_filed_not_answered(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """An agency's inbox or a procmail rule passing a citizen's complaint on writes its own `X-Loop`: taken for our
    loop, the complaint was answered 250 and dropped, lost. It is filed; our answer, which the forwarder's
    autoresponder might answer again, is not sent. Our own `X-Loop` come back is still dropped."""
    server = make_server()
    result = server.deliver(citizen_mail(headers={"X-Loop": "pengaduan@dinas.example.go.id"}))
    assert result.data_code == 250 and result.tracking_id is not None
    assert stored_envelope(redis, result.tracking_id) is not None
    run_replies(server.settings, redis)
    assert outbox(server.settings) == []
    ours = server.settings.email.from_address
    assert server.deliver(citizen_mail(headers={"X-Loop": ours}, subject="Lagi")).tracking_id is None


def test_a_mail_an_exchange_inbox_rule_forwarded_is_filed_not_answered(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """An Outlook rule that forwards a mailbox's mail to us (an agency passing complaints on, a citizen's "forward
    everything") forwards our answer too: a forward of our acknowledgement from the report's sender, filed as an
    addition of its subject and answered, whose answer the rule forwarded again, every hour the reply cap let one out.
    Such a forward of our acknowledgement alone holds nothing new, and is not filed at all (`empty`).
    Exchange marks a mail a rule passed on with the rule's mailbox (`X-MS-Exchange-Inbox-Rules-Loop`): such a mail
    whose answer would go to that mailbox is filed, and not answered, as another system's `X-Loop` is. A complaint a
    complaints mailbox's rule redirected keeps its citizen's From, and the citizen is answered (every one was filed
    and never told a Tracking ID)."""
    server = make_server()
    report = server.deliver(citizen_mail(sender="kasubag@pemkot.example.go.id"))
    assert report.tracking_id is not None
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    rules = {"X-MS-Exchange-Inbox-Rules-Loop": "kasubag@pemkot.example.go.id"}
    body = ("\n\n________________________________\nFrom: LAPOR! <pengaduan@lapor.go.id>\n"
            f"Sent: Monday, December 1, 2025 10:00 AM\nTo: Kasubag <kasubag@pemkot.example.go.id>\n"
            f"Subject: {ack['Subject']}\n\n{ack.get_body(('plain',)).get_content()}")
    # Exchange adds the field once for each rule's mailbox the mail went through.
    forward = server.deliver(b"X-MS-Exchange-Inbox-Rules-Loop: pengaduan@pemkot.example.go.id\r\n"
                             + citizen_mail(subject=f"FW: {ack['Subject']}", body=body,
                                            sender="kasubag@pemkot.example.go.id", headers=rules))
    # Our acknowledgement alone under the thread's subject: nothing new, not filed (it was an addition of its subject).
    assert forward.data_code == 250 and forward.tracking_id is None
    assert envelope_count(redis) == 1
    passed_on = server.deliver(citizen_mail(subject="Jalan rusak di Kelurahan Sukajadi",
                                            sender="kasubag@pemkot.example.go.id", headers=rules))
    assert passed_on.tracking_id is not None and stored_envelope(redis, passed_on.tracking_id) is not None
    redirected = server.deliver(citizen_mail(subject="Lampu jalan mati di Kelurahan Sukajadi",
                                             sender="siti.warga@example.net", headers=rules))
    assert redirected.tracking_id is not None
    run_replies(server.settings, redis)
    # The acknowledgement, and the redirected citizen's: nothing for the rule to forward again.
    assert [str(reply["To"]) for reply in outbox(server.settings)] == ["kasubag@pemkot.example.go.id",
                                                                      "siti.warga@example.net"]


@pytest.mark.parametrize(("suppress", "answered"), [
    ("All", False), ("OOF, AutoReply", False), ("DR, RN, NRN, OOF", True), ("None", True)])
def test_a_mail_asking_for_no_auto_reply_is_filed_and_answered_only_if_it_allows(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, suppress: str, answered: bool) -> None:
    """X-Auto-Response-Suppress ([MS-OXCMAIL] 2.1.3.2.20) asks the receiving side not to answer a mail automatically
    (All, or AutoReply: auto-replies other than out-of-office notices, as ours is); it says nothing of what the mail
    is. An organisation's mail server adds it to what its staff send, to keep out-of-office storms away: taken for
    auto-mail, such a mail (a civil servant's report of their own office) was answered 250 and dropped, neither
    filed nor answered. Exchange's own out-of-office replies carry its Inbox-rules counter beside it, and are still
    dropped (`test_loop_guard_headers`)."""
    server = make_server()
    result = server.deliver(citizen_mail(headers={"X-Auto-Response-Suppress": suppress}))
    assert result.tracking_id is not None and stored_envelope(redis, result.tracking_id) is not None
    run_replies(server.settings, redis)
    assert [str(reply["X-LAPOR-Tracking-ID"]) for reply in outbox(server.settings)] == (
        [result.tracking_id] if answered else [])


@pytest.mark.parametrize(("attached", "text"), [("dsn_gmail_other", "Surel saya ke dinas selalu ditolak"),
                                               ("read_receipt_mdn", "Dinas sudah membaca surel saya"),
                                               ("arf_feedback_report_hotmail", "Surel saya dilaporkan sebagai spam")],
                         ids=["a-bounce", "a-read-receipt", "a-feedback-report"])
def test_a_bounce_or_read_receipt_a_citizen_attaches_is_their_report(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                                     attached: str, text: str) -> None:
    """The bounce of a citizen's mail to an agency, attached as evidence: read as a DSN sent to us, the mail was
    answered 250 and dropped. Sent to us as it is, the same bounce is still neither reported nor answered."""
    server = make_server()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Warga <warga@example.net>", RECIPIENT, "Surel dinas"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(f"{text}, bukti terlampir.")
    message.add_attachment(BytesParser(policy=policy.default).parsebytes(fixture(attached)))
    result = server.deliver(message.as_bytes().replace(b"\n", b"\r\n"))
    assert result.data_code == 250 and result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and envelope["text"].startswith(f"{text}, bukti terlampir.")
    assert server.deliver(fixture(attached)).tracking_id is None
    assert envelope_count(redis) == 1


def test_a_mail_saying_it_is_not_auto_mail_in_a_comment_is_a_report(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """RFC 3834 lets `Auto-Submitted: no` carry a comment: taken for auto-mail, it was answered 250 and dropped."""
    server = make_server()
    result = server.deliver(citizen_mail(headers={"Auto-Submitted": "no (dikirim oleh warga)"}))
    assert result.data_code == 250 and result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and envelope["text"] == "Jalan di depan pasar rusak parah."
    run_replies(server.settings, redis)
    assert [str(reply["To"]) for reply in outbox(server.settings)] == ["warga@example.net"]


@pytest.mark.parametrize(
    ("sender", "message_id", "reason"),
    [
        ("pengaduan@lapor.go.id", "<x@example.net>", "own_address"),
        ("Pengaduan@LAPOR.go.id", "<x@example.net>", "own_address"),
        ("pengaduan+wbs@lapor.go.id", "<x@example.net>", "own_address"),
        ("warga@example.net", "<lapor-10000057-00ff@mail.lapor.go.id>", "own_message_id"),
        ("warga@example.net", "<abc@MAIL.LAPOR.GO.ID>", "own_message_id"),
        ("warga@example.net", "lapor-10000057-00ff@mail.lapor.go.id", "own_message_id"),
    ],
    ids=["own-address", "own-address-case", "own-subaddress", "own-message-id", "own-domain-case",
         "own-message-id-bare"],
)
def test_mail_from_ourselves_is_never_answered(make_server, redis: Redis, sender: str, message_id: str,  # type: ignore[no-untyped-def]
                                               reason: str) -> None:
    server = make_server()
    before = SUPPRESSED.labels(reason)._value.get()
    result = server.deliver(citizen_mail(sender=sender, message_id=message_id))
    assert result.data_code == 250
    run_replies(server.settings, redis)
    assert envelope_count(redis) == 0
    assert outbox(server.settings) == []
    assert SUPPRESSED.labels(reason)._value.get() == before + 1


def test_a_plain_text_bounce_with_an_envelope_sender_is_not_reported_or_answered(make_server,  # type: ignore[no-untyped-def]
                                                                                 redis: Redis) -> None:
    """Old MTAs (qmail, Exchange 2003) and forwarding mailboxes bounce in plain text, and not every hop keeps the
    null reverse-path: answering MAILER-DAEMON is the start of a loop."""
    server = make_server()
    before = SUPPRESSED.labels("mailer_daemon")._value.get()
    bounce = citizen_mail(sender="MAILER-DAEMON@mx.example.net", subject="failure notice",
                          body="Hi. This is the qmail-send program at mx.example.net.\n"
                               "I'm afraid I wasn't able to deliver your message to the following addresses.")
    result = server.deliver(bounce, mail_from="bounces@forwarder.example.net")
    assert result.data_code == 250
    run_replies(server.settings, redis)
    assert envelope_count(redis) == 0 and outbox(server.settings) == []
    assert SUPPRESSED.labels("mailer_daemon")._value.get() == before + 1


def test_a_null_envelope_sender_is_not_reported_or_answered(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    result = server.deliver(fixture("gmail_alternative"), mail_from="")
    assert result.data_code == 250
    run_replies(server.settings, redis)
    assert envelope_count(redis) == 0 and outbox(server.settings) == []


def test_replies_to_one_address_are_capped_per_hour(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server(LAPOR_EMAIL_REPLY_CAP_PER_HOUR="2")
    for number in range(4):
        assert server.deliver(citizen_mail(subject=f"Laporan {number}", body=f"Isi laporan {number}")).data_code == 250
    server.deliver(citizen_mail(sender="lain@example.net"))
    run_replies(server.settings, redis)
    recipients = [str(reply["To"]) for reply in outbox(server.settings)]
    assert envelope_count(redis) == 5  # every report is kept; only the answers are capped
    assert recipients.count("warga@example.net") == 2
    assert recipients.count("lain@example.net") == 1


@pytest.mark.parametrize(("spellings", "answered"), [
    pytest.param(["budi@b\u00fccher.de", "budi@xn--bcher-kva.de", "Budi@B\u00dcCHER.de", "budi@XN--BCHER-KVA.de"],
                 ["budi@xn--bcher-kva.de"] * 2, id="idn-and-its-ascii-form"),
    pytest.param(["warga@stra\u00dfe.de", "Warga@xn--strae-oqa.de", "warga@STRA\u00dfE.de"],
                 ["warga@xn--strae-oqa.de"] * 2, id="idna-2008-sharp-s"),
    pytest.param(["Budi@Example.ID", "budi@example.id", "BUDI@EXAMPLE.ID"], ["budi@example.id"] * 2, id="case"),
])
def test_the_hourly_reply_cap_counts_one_address_however_it_is_written(  # type: ignore[no-untyped-def]
    make_server, redis: Redis, spellings: list[str], answered: list[str]
) -> None:
    """An IDN domain and its ASCII form (punycode), in any case, are one mailbox: counted as written, each spelling
    had a cap of its own, and a flood from one mailbox got a cap's worth of replies per spelling. Where the replies
    go is unchanged (the domain's ASCII form, as before)."""
    server = make_server(LAPOR_EMAIL_REPLY_CAP_PER_HOUR="2")
    for number, sender in enumerate(spellings):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = sender, RECIPIENT, f"Laporan {number}"
        mail["Message-ID"] = make_msgid(domain="example.net")
        mail.set_content(f"Isi laporan {number}")
        with server.client() as client:
            assert client.mail(sender, options=["SMTPUTF8"])[0] == 250
            assert client.rcpt(RECIPIENT)[0] == 250
            assert client.data(mail.as_bytes(policy=policy.SMTPUTF8).replace(b"\n", b"\r\n"))[0] == 250
    run_replies(server.settings, redis)
    assert envelope_count(redis) == len(spellings)  # every report is kept; only the answers are capped
    assert [str(reply["To"]) for reply in outbox(server.settings)] == answered


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_starttls_is_offered_when_a_certificate_is_configured(make_server, redis: Redis,  # type: ignore[no-untyped-def]
                                                              certificate: tuple[Path, Path]) -> None:
    plain = make_server()
    with plain.client() as client:
        assert not client.has_extn("starttls")
    server = make_server(LAPOR_EMAIL_TLS_CERT=str(certificate[0]), LAPOR_EMAIL_TLS_KEY=str(certificate[1]))
    context = ssl.create_default_context(cafile=str(certificate[0]))
    context.check_hostname = False
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo()
        client.sendmail("warga@example.net", [RECIPIENT], citizen_mail())
    assert envelope_count(redis) == 1


def test_a_failed_tls_handshake_is_one_warning_and_the_server_serves_on(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, certificate: tuple[Path, Path], log_stream: io.StringIO) -> None:
    """A client that sends no TLS after STARTTLS (a scanner, a client with no cipher in common) was logged by aiosmtpd
    as an `SMTP session exception` at error level with a traceback: the client's failure, now one warning."""
    server = make_server(LAPOR_EMAIL_TLS_CERT=str(certificate[0]), LAPOR_EMAIL_TLS_KEY=str(certificate[1]))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220")
        sock.sendall(b"EHLO client.example.net\r\n")
        while reader.readline()[3:4] == b"-":
            pass
        sock.sendall(b"STARTTLS\r\n")
        assert reader.readline().startswith(b"220")
        sock.sendall(b"\x16\x03\x01\x00\x05 this is no TLS handshake\r\n")
        assert reader.read() == b""  # closed
        reader.close()
    context = ssl.create_default_context(cafile=str(certificate[0]))
    context.check_hostname = False
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.starttls(context=context)
        client.sendmail("warga@example.net", [RECIPIENT], citizen_mail())
    assert envelope_count(redis) == 1
    events = log_events(log_stream)
    assert not [e for e in events if e["level"] in ("error", "critical")]
    [failed] = [e for e in events if e["event"] == "smtp.tls_failed"]
    assert failed["level"] == "warning" and failed["error"] == "SSLError"


def test_an_exception_in_a_session_is_answered_451_without_its_text(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """aiosmtpd answered an exception it met in a session `500 Error: (<type>) <its text>`: a permanent refusal for
    what is a bug of the server's, bouncing the mail, with a text that may quote the command. 451, and logged."""
    from channels.email.server import IntakeHandler

    async def broken(*args: object) -> str:
        raise RuntimeError("cannot take pengaduan@lapor.go.id")

    monkeypatch.setattr(IntakeHandler, "handle_RCPT", broken)
    server = make_server()
    with server.client() as client:
        assert client.mail("warga@example.net")[0] == 250
        code, message = client.rcpt(RECIPIENT)
    assert code == 451 and message.startswith(b"4.3.0 ") and b"RuntimeError" not in message
    assert b"pengaduan" not in message
    [failed] = [e for e in log_events(log_stream) if e["event"] == "smtp.session_failed"]
    assert failed["level"] == "error" and failed["error"] == "RuntimeError"


def test_an_exception_in_a_session_quoting_the_address_leaves_it_out_of_the_log(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """The traceback of `smtp.session_failed` carried the exception's text, and its cause's: an address of a form the
    log's patterns do not know as one (a host without a dot) went out whole."""
    from channels.email.server import IntakeHandler

    async def broken(self: object, server: object, session: object, envelope: object, address: str,
                     options: object) -> str:
        try:
            raise LookupError(f"no mailbox {address}")
        except LookupError as error:
            raise RuntimeError(f"cannot take RCPT TO:<{address}>") from error

    monkeypatch.setattr(IntakeHandler, "handle_RCPT", broken)
    server = make_server()
    with server.client() as client:
        assert client.mail("warga@example.net")[0] == 250
        assert client.rcpt("budi.santoso@kantor-desa")[0] == 451
    [failed] = [e for e in log_events(log_stream) if e["event"] == "smtp.session_failed"]
    assert failed["level"] == "error" and failed["error"] == "RuntimeError" and failed["exception"]
    # aiosmtpd's own INFO lines of each command (`mail.log`) are not shown: `lapor-gateway smtp` sets them to WARNING
    ours = [e for e in log_events(log_stream) if e.get("logger") != "mail.log"]
    assert "budi.santoso" not in orjson.dumps(ours).decode()


@pytest.mark.parametrize(
    ("env", "named"),
    [({"LAPOR_EMAIL_RELAY_HOST": "smtp.example.net", "LAPOR_EMAIL_RELAY_USER": "lapor"}, "LAPOR_EMAIL_RELAY_PASSWORD"),
     ({"LAPOR_EMAIL_IMAP_HOST": "imap.example.net", "LAPOR_EMAIL_IMAP_USER": "lapor"}, "LAPOR_EMAIL_IMAP_PASSWORD"),
     ({"LAPOR_EMAIL_TLS_CERT": "/etc/ssl/cert.pem"}, "LAPOR_EMAIL_TLS_KEY")],
    ids=["relay-password", "imap-password", "tls-key"],
)
def test_a_configured_relay_or_mailbox_without_its_secret_does_not_start(test_env: TestEnvironment, env: dict[str, str],
                                                                         named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        test_env.settings(**env)


def test_an_answer_to_the_reply_to_an_anonymous_report_stays_anonymous(make_server, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    first = server.deliver(citizen_mail(subject="ANONIM: pungli di kantor kecamatan"))
    assert (stored_envelope(redis, first.tracking_id or "") or {})["anonymous"] is True
    run_replies(server.settings, redis)
    [ack] = outbox(server.settings)
    answer = server.deliver(reply_to(ack, subject=None, references=True, body="Ada bukti transfernya."))
    envelope = stored_envelope(redis, answer.tracking_id or "")
    assert envelope is not None and envelope["follow_up_of"] == first.tracking_id
    assert envelope["anonymous"] is True  # the reporter did not repeat ANONIM; the follow-up keeps it


@dataclass(frozen=True)
class FlagRow:
    """A mail asking for anonymity or confidentiality, and the flags its report reaches the case store with."""

    id: str
    subject: str
    body: str
    anonymous: bool = False
    confidential: bool = False
    text: str | None = None  # the envelope's text, when not the body (a signature cut off)


FLAG_ROWS = [
    FlagRow("body-hashtag", "Pungli di kelurahan", "Petugas meminta uang. #anonim", anonymous=True),
    # a fullwidth keyboard's hashtag (Chinese and Japanese phones), read through NFKC as the SMS grammar reads it
    FlagRow("body-hashtag-fullwidth", "Pungli di kelurahan", "Petugas meminta uang. ＃ａｎｏｎｉｍ", anonymous=True),
    FlagRow("body-fullwidth-hash", "Pungli di kelurahan", "＃anonim Petugas meminta uang.", anonymous=True),
    FlagRow("body-small-hash-confidential", "Pungli di kelurahan", "Petugas meminta uang. ﹟RAHASIA",
            confidential=True),
    FlagRow("subject-hashtag-fullwidth", "Pungli di kelurahan ＃ａｎｏｎｉｍ", "Petugas meminta uang.", anonymous=True),
    # the flag after the prefixes a client put before the subject: the citizen's own mail sent on, or an answer
    FlagRow("subject-flag-after-forward-prefix", "Fwd: ANONIM pungli di kelurahan", "Petugas meminta uang.",
            anonymous=True),
    FlagRow("subject-flag-after-stacked-prefixes", "RE: FW[2]： RAHASIA pungli", "Petugas meminta uang.",
            confidential=True),
    FlagRow("subject-flag-after-italian-outlooks-prefixes", "R: I: ANONIM pungli", "Petugas meminta uang.",
            anonymous=True),
    # the flag word opening or closing the body, as the SMS help teaches ("Tambah ANONIM")
    FlagRow("body-opens-with-the-flag", "Pungli di kelurahan", "ANONIM\nPetugas meminta uang.", anonymous=True),
    FlagRow("body-closes-with-the-flag", "Pungli di kelurahan", "Petugas meminta uang. Terima kasih.\nRAHASIA",
            confidential=True),
    # signed "anonim" below the signature delimiter: the flag line stays, closing the body, the rest goes
    FlagRow("signature-of-the-flag-word", "Pungli di kelurahan", "Petugas meminta uang.\n-- \nanonim", anonymous=True,
            text="Petugas meminta uang.\n\nanonim"),
    FlagRow("signature-closed-by-the-flag-word", "Pungli di kelurahan",
            "Petugas meminta uang.\n\n-- \nWarga Desa Sukamaju\nRAHASIA", confidential=True,
            text="Petugas meminta uang.\n\nRAHASIA"),
    FlagRow("flag-word-inside-the-body-is-prose", "Pungli di kelurahan", "Dia menulis surat anonim ke camat kemarin."),
    # a confidentiality word negated is the citizen's "no secret", as a hashtag or closing the body
    FlagRow("negated-hashtag-is-prose", "Pungli di kelurahan", "Pungli ini bukan #rahasia lagi, semua warga tahu."),
    FlagRow("negated-closing-word-is-prose", "Pungli di kelurahan", "Petugas meminta uang, ini bukan rahasia"),
    # a "#" inside a word is no hashtag, in any form
    FlagRow("inside-a-word", "Pungli di kelurahan", "Petugas meminta uang. kode＃anonim"),
    # the body's hashtags read as the grammar reads a report's: flag words joined by "_" or "+" are one tag, a tag
    # of a flag word and another word ("state secret") is the citizen's
    FlagRow("body-hashtag-joined-by-underscore", "Pungli di kelurahan", "Petugas meminta uang. #WBS_Anonim",
            anonymous=True),
    FlagRow("body-hashtags-joined-by-plus", "Pungli di kelurahan", "Petugas meminta uang. #anonim+rahasia",
            anonymous=True, confidential=True),
    FlagRow("body-hashtag-of-a-flag-and-another-word", "Dokumen bocor", "Ada #rahasia_negara yang dijual di pasar."),
    # signed as one who gives unnamed: the sender's address withheld
    FlagRow("signed-hamba-allah", "Pungli di kelurahan", "Petugas meminta uang.\n\nWassalam,\nHamba Allah",
            anonymous=True),
]


@pytest.mark.parametrize("row", FLAG_ROWS, ids=[row.id for row in FLAG_ROWS])
def test_a_mails_flags_reach_the_case_store_in_any_form_of_the_hash(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: FlagRow) -> None:
    """Through the real SMTP server and the forward worker: an anonymity asked for and missed sends the citizen's
    address to the agency. The envelope keeps the subject and text as typed; only the reading is folded."""
    server = make_server()
    result = server.deliver(citizen_mail(subject=row.subject, body=row.body))
    server.stop()  # its intake hands the report to the forward queue
    assert result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and (envelope["subject"], envelope["text"]) == (row.subject, row.text or row.body)
    drain(server.settings, (FORWARD_QUEUE,))
    [report] = casestore.reports()
    assert (report["anonymous"], report["confidential"]) == (row.anonymous, row.confidential)
    assert (report["sender"]["kind"] == "reply_handle") is row.anonymous  # type: ignore[index]


def test_a_webmail_html_mail_reaches_the_agency_as_plain_text_without_its_signatures_contact(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    """Roundcube, HTML only: a heading ANONIM opens it (read as "# ANONIM" it was missed, and the address went to the
    agency), links to the evidence, and a signature typed below "--" without its space, with a phone number. The
    agency reads plain text, each address once, and no contact of the anonymous sender; the gateway keeps it all."""
    server = make_server()
    result = server.deliver(fixture("webmail_html_heading_dash_signature"),
                            mail_from="sri.wahyuni.kds@mail.desa-krajan.example.id")
    server.stop()  # its intake hands the report to the forward queue
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None and envelope["anonymous"] is True
    assert envelope["text"].endswith("--\nSri W.\nKader Posyandu Melati\nHP/WA 0857-1234-9876")
    drain(server.settings, (FORWARD_QUEUE,))
    [report] = casestore.reports()
    assert report["sender"]["kind"] == "reply_handle"  # type: ignore[index]
    text = str(report["text"])
    assert text.startswith("ANONIM\n\nBendahara desa memotong honor kader posyandu")
    assert "rekaman rapat 12 Agustus (https://drive.google.com/file/d/1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT/view)." in text
    assert text.count("https://desa-krajan.example.id/apbdes") == 1
    assert "#" not in text and "](" not in text
    assert text.endswith("--\n[anonim]") and "0857" not in text and "Sri" not in text


@pytest.mark.parametrize(("env", "reported"), [
    pytest.param({}, False, id="default: quarantined as from_too_long"),
    pytest.param({"LAPOR_EMAIL_MAX_ADDRESS_FIELD_BYTES": "8192"}, True, id="the limit raised: a report"),
])
def test_a_from_longer_than_the_address_limit_is_quarantined_unless_the_limit_is_raised(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, env: dict[str, str], reported: bool) -> None:
    """The limit is a setting, as every other limit of a mail is: a quarantined mail can be reprocessed past it."""
    names = ",\r\n ".join(f'"Warga {index}" <w{index}@desa.id>' for index in range(200))  # some 5 KB
    raw = (f"From: {names}\r\nTo: {RECIPIENT}\r\nSubject: Jalan rusak\r\nMessage-ID: <long-from@desa.id>\r\n\r\n"
           "Jalan di depan SDN 3 berlubang.\r\n").encode()
    server = make_server(**env)
    assert server.deliver(raw, mail_from="w0@desa.id").data_code == 250
    quarantined = list((server.settings.data_dir / "email" / "quarantine").glob("*.json"))
    assert (envelope_count(redis), len(quarantined)) == ((1, 0) if reported else (0, 1))
    if not reported:
        assert orjson.loads(quarantined[0].read_bytes())["reason"] == "from_too_long"


# -- CEK by mail: a status query answered, not filed ------------------------------------------------------------------


@dataclass(frozen=True)
class CekRow:
    id: str
    subject: str  # "{id}" is the report's Tracking ID
    body: str
    sender: str = "warga@example.net"
    headers: dict[str, str] = field(default_factory=dict)
    answers_our_reply: bool = False  # the citizen's client answers our acknowledgement, quoting it
    signed: str | None = None  # the protocol of a clear-signed mail's signature (multipart/signed)
    name: str = "Warga"  # the From's name


def signed_mail(raw: bytes, protocol: str) -> bytes:
    """`raw` clear-signed (RFC 1847) as Outlook and Apple Mail (S/MIME) or Thunderbird (OpenPGP) send it: the text,
    then the detached signature as an attachment."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    signed = EmailMessage()
    for name, value in message.items():
        if not name.lower().startswith("content-"):
            signed[name] = value
    text = EmailMessage()
    text.set_content(message.get_content())
    del text["MIME-Version"]
    signature = EmailMessage()
    maintype, subtype = protocol.split("/")
    name = "signature.asc" if subtype == "pgp-signature" else "smime.p7s"
    signature.set_content(b"0\x82\x05\x00" + bytes(range(256)), maintype=maintype, subtype=subtype, filename=name)
    del signature["MIME-Version"]
    signed.set_payload([text, signature])
    signed["Content-Type"] = f'multipart/signed; protocol="{protocol}"; micalg=sha-256; boundary="lapor-signed"'
    return signed.as_bytes(policy=policy.default.clone(linesep="\r\n"))


CEK_ROWS = [
    CekRow("in-the-subject", "CEK {id}", ""),
    CekRow("in-the-body", "", "CEK {id}"),
    CekRow("in-both-with-a-signature", "Re: CEK {id}", "cek {id}\n\n-- \nBudi\n0812-3456-7001"),
    # the thread's subject, however long, is none of the citizen's words
    CekRow("under-a-long-subject-of-the-thread", "Re: [LAPOR #{id}] " + "Pungli di kantor kelurahan oleh petugas loket "
           * 5, "CEK {id}"),
    CekRow("answering-our-acknowledgement", "", "CEK {id}", answers_our_reply=True),
    # someone else asks (as anyone may by SMS), a Reply-To naming another: answered at the From, with the status alone
    CekRow("from-another-with-a-reply-to", "Cek {id}", "CEK {id}", sender="tetangga@example.org",
           headers={"Reply-To": "warga@example.net"}),
    # thanks or a sign-off beside the query adds nothing (filed, it was an addition "CEK <id> terima kasih")
    CekRow("thanks-after-the-id", "", "CEK {id} terima kasih"),
    CekRow("thanks-and-an-emoji-after-the-id", "", "cek {id} makasih banyak pak 🙏"),
    CekRow("a-sign-off-below", "", "CEK {id}\n\nTerima kasih,\nBudi"),
    CekRow("a-closing-and-a-full-name-below", "", "CEK {id}\n\nHormat saya,\nBudi Santoso"),
    CekRow("a-sign-off-below-a-subjects-query", "CEK {id}", "Terima kasih,\nBudi"),
    CekRow("a-sign-off-answering-our-acknowledgement", "", "CEK {id}\n\nSalam,\nBUDI", answers_our_reply=True),
    # the From's name signed, however cased, one word of it or with an initial; a nickname of a From of another name
    CekRow("the-froms-name-in-capitals", "", "CEK {id}\n\nSalam,\nBUDI SANTOSO", name="Budi Santoso"),
    CekRow("one-word-of-the-froms-name", "", "CEK {id}\n\nTerima kasih,\nBudi", name="Budi Santoso"),
    CekRow("the-froms-name-with-an-initial", "", "CEK {id}\n\nHormat saya,\nSiti R. Rahayu", name="Siti R. Rahayu"),
    CekRow("the-froms-name-in-lowercase-with-no-blank-line", "", "CEK {id}\nSalam,\nbudi santoso", name="Budi Santoso"),
    CekRow("a-nickname-under-a-from-of-another-name", "", "CEK {id}\n\nSalam,\nUcok", name="Budi Santoso"),
    # a status question without the ID beside the query asks the same (filed, it was a new report and acknowledged)
    CekRow("a-status-question-as-the-subject", "Cek status laporan", "CEK {id}"),
    CekRow("a-status-word-as-the-subject-over-the-id-alone", "Status", "{id}"),
    CekRow("an-english-status-question-as-the-subject", "Where is my report?", "CEK {id}"),
    CekRow("a-status-question-below-a-subjects-query", "CEK {id}", "Mohon info status laporan saya"),
    # in the report's thread a status question needs no ID: it asks the thread's report (filed, it was an addition
    # "CEK" to the report, and its writer was told the addition was taken)
    CekRow("cek-alone-answering-our-acknowledgement", "", "CEK", answers_our_reply=True),
    CekRow("a-status-question-answering-our-acknowledgement", "", "Bagaimana status laporan saya?\n\nSalam,\nWarga",
           answers_our_reply=True),
    CekRow("a-status-question-under-our-tag", "Re: [LAPOR #{id}] Pungli di kelurahan", "Cek status laporan"),
    # "sudah ... belum" asks (its "belum" no grievance: filed, it was answered that the addition was received)
    CekRow("sudah-diproses-belum-ya-answering-our-acknowledgement", "", "Laporan saya sudah diproses belum ya?",
           answers_our_reply=True),
    CekRow("sudah-diproses-belum-answering-our-acknowledgement", "", "sudah diproses belum?", answers_our_reply=True),
    CekRow("udah-ditanggapi-blm-under-our-tag", "Re: [LAPOR #{id}] Pungli di kelurahan", "udah ditanggapi blm"),
    # a clear-signed mail's signature is no file: filed, a signed CEK was an addition to the report of its signature
    CekRow("signed-s-mime-by-outlook", "CEK {id}", "CEK {id}", signed="application/x-pkcs7-signature"),
    CekRow("signed-s-mime", "", "CEK {id}", signed="application/pkcs7-signature"),
    CekRow("signed-openpgp", "", "CEK {id}", signed="application/pgp-signature"),
]


def filed_report(make_server, redis: Redis, casestore: CaseStoreServer,  # type: ignore[no-untyped-def]
                 status: str | None = None, body: str = "ANONIM\nPetugas kelurahan meminta uang.",
                 ) -> tuple[str, EmailMessage]:
    """An anonymous report by mail from warga@example.net (`body` without ANONIM: a named one), in the case store
    (with `status`), and its acknowledgement."""
    server = make_server()
    filed = server.deliver(citizen_mail(subject="Pungli di kelurahan", body=body))
    run_replies(server.settings, redis)
    server.stop()  # its intake hands the report to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    assert filed.tracking_id is not None and casestore.get(filed.tracking_id) is not None
    if status:
        assert casestore.store.set_status(filed.tracking_id, status)
    [ack] = outbox(server.settings)
    return filed.tracking_id, ack


def answer_to(replies: list[EmailMessage], mail: bytes) -> list[EmailMessage]:
    message_id = BytesParser(policy=policy.default).parsebytes(mail)["Message-ID"]
    return [reply for reply in replies if reply["In-Reply-To"] == message_id]


@pytest.mark.parametrize("row", CEK_ROWS, ids=[row.id for row in CEK_ROWS])
def test_a_cek_by_mail_is_answered_with_the_status_and_not_filed(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: CekRow) -> None:
    """As by SMS: `CEK <id>` and nothing else is answered with the report's status (`[status]`, both languages),
    threaded to the mail, at its From; no report or addition is filed, and no Tracking ID is given. It was filed as a
    new report (from the report's sender, an addition "CEK <id>") and acknowledged with a new Tracking ID."""
    tracking_id, ack = filed_report(make_server, redis, casestore, status="verified")
    server = make_server()
    if row.answers_our_reply:
        mail = reply_to(ack, subject=None, references=True, body=row.body.format(id=tracking_id))
    else:
        mail = citizen_mail(subject=row.subject.format(id=tracking_id), body=row.body.format(id=tracking_id),
                            sender=row.sender, headers=row.headers, name=row.name)
    if row.signed:
        mail = signed_mail(mail, row.signed)
    result = server.deliver(mail)
    assert result.data_code == 250 and result.tracking_id is None
    assert envelope_count(redis) == 1
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer["To"] == row.sender
    assert str(answer["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
    assert answer.get_content() == status_body(tracking_id, "verified", True)
    assert "diverifikasi" in answer.get_content() and "verified" in answer.get_content()
    assert "Petugas" not in answer.get_content() and "warga@" not in answer.get_content()
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    assert len(casestore.reports()) == 1


THREAD_GRIEVANCES = [
    pytest.param("Kok statusnya selesai?", id="kok-statusnya-selesai"),
    pytest.param("Kenapa belum ditanggapi?\n\nTerima kasih", id="kenapa-belum-ditanggapi"),
    pytest.param("Laporan saya diproses tidak?", id="diproses-tidak"),
    # "sudah ... belum" asks, and "kok" beside it is a grievance still
    pytest.param("Kok sudah diproses belum?", id="kok-with-sudah-belum"),
    # words closing with a "sudah ... belum" question the grammar reads as none (no topic or state of its own, or
    # news above it): each was answered only that the addition was received
    pytest.param("Sudah ada tindak lanjut belum?", id="sudah-ada-tindak-lanjut-belum"),
    pytest.param("Sudah diperbaiki belum?", id="sudah-diperbaiki-belum"),
    pytest.param("Sudah sampai ke dinas belum?", id="sudah-sampai-ke-dinas-belum"),
    pytest.param("sudah belum?", id="sudah-belum"),
    pytest.param("Jalan makin parah.\nSudah diperbaiki belum ya pak?", id="news-above-sudah-belum"),
    pytest.param("Sudah ada tindak lanjut belum?\n\nTerima kasih,\nWarga", id="sudah-belum-over-a-sign-off"),
]

# Statements with "sudah" and "belum" closing with no question of them: filed, answered that they were received.
THREAD_STATEMENTS = [
    pytest.param("Sudah 3 bulan belum diperbaiki", id="sudah-3-bulan-belum-diperbaiki"),
    pytest.param("sudah rusak parah belum juga diperbaiki?", id="belum-juga-diperbaiki"),
    # what is done and what is not yet: "tapi" between "sudah" and "belum" asks nothing
    pytest.param("Jalan sudah diperbaiki tapi lampunya belum", id="sudah-tapi-belum"),
    pytest.param("Jalannya sdh ditambal, namun saluran airnya blm.", id="sdh-namun-blm"),
    pytest.param("Sudah ada petugas datang tp perbaikannya belum.\n\nTerima kasih,\nWarga", id="sudah-tp-belum-signed"),
]


@pytest.mark.parametrize(("body", "answered"), [*((row.values[0], "follow_up_status") for row in THREAD_GRIEVANCES),
                                                *((row.values[0], "follow_up") for row in THREAD_STATEMENTS)],
                         ids=[str(row.id) for row in [*THREAD_GRIEVANCES, *THREAD_STATEMENTS]])
def test_a_grievance_in_the_thread_is_filed_and_answered_with_the_status(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, body: str, answered: str) -> None:
    """A status question that is a grievance about the report's handling is the citizen's addition, for the agency
    to read; it is answered with the status it asks too (`[email_follow_up_status]`): answered that the addition was
    received, the question went unanswered. So is an addition closing with a "sudah ... belum" question; a statement
    is answered that it was received (`[email_follow_up]`)."""
    tracking_id, ack = filed_report(make_server, redis, casestore, status="verified")
    server = make_server()
    mail = reply_to(ack, subject=None, references=True, body=body)
    added = server.deliver(mail)
    envelope = stored_envelope(redis, added.tracking_id or "")
    assert envelope is not None and (envelope["follow_up_of"], envelope["text"]) == (tracking_id, body)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    status = {"status": "verified"} if answered == "follow_up_status" else {}
    assert answer.get_content() == reply_body(answered, tracking_id, **status)


@dataclass(frozen=True)
class AdditionThreadRow:
    id: str
    body: str
    subject: str | None = None  # the answer's subject, "{ack}" our acknowledgement's; None: "Re: " and ours
    answers_the_reports_ack: bool = False  # the answer names our acknowledgement of the report, not the addition's
    answered: bool = True  # answered with the status, nothing filed; else filed as an addition


ADDITION_THREAD_ROWS = [
    AdditionThreadRow("cek-alone", "CEK"),
    AdditionThreadRow("a-status-question", "Bagaimana status laporan saya?"),
    AdditionThreadRow("a-status-question-and-the-froms-sign-off", "Bagaimana status laporan saya?\n\nSalam,\nWarga"),
    # the citizen's words typed into the subject are theirs, filed
    AdditionThreadRow("words-typed-into-the-subject", "CEK", subject="Re: {ack} - petugas datang lagi",
                      answered=False),
    # the addition's subject is that reply's, not the report's acknowledgement's: typed under it, it is the citizen's
    AdditionThreadRow("the-additions-subject-answering-the-reports-ack", "CEK", subject="Re: {ack}",
                      answers_the_reports_ack=True, answered=False),
]


@pytest.mark.parametrize("row", ADDITION_THREAD_ROWS, ids=[row.id for row in ADDITION_THREAD_ROWS])
def test_a_status_question_answering_our_acknowledgement_of_an_addition_asks_the_reports_status(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: AdditionThreadRow) -> None:
    """Our acknowledgement of an addition is under the addition's subject ("[LAPOR #<id>] Tambahan bukti"), not the
    report's: "CEK" answering it was filed as another addition, its writer told the addition was taken, since the
    subject was not the report's. Each reply of ours carries its subject's digest in its Message-ID, and an answer
    under the subject of the reply it names says nothing of the citizen's there."""
    tracking_id, ack = filed_report(make_server, redis, casestore, status="verified")
    server = make_server()
    added_mail = reply_to(ack, subject="Tambahan bukti", references=True, body="Petugas minta lagi hari ini.")
    added = server.deliver(added_mail)
    run_replies(server.settings, redis)
    [added_ack] = answer_to(outbox(server.settings), added_mail)
    assert str(added_ack["Subject"]) == f"[LAPOR #{tracking_id}] Tambahan bukti"
    answered = ack if row.answers_the_reports_ack else added_ack
    subject = row.subject.format(ack=added_ack["Subject"]) if row.subject else None
    mail = reply_to(answered, subject=subject, references=True, body=row.body)
    result = server.deliver(mail)
    assert result.data_code == 250
    if not row.answered:
        envelope = stored_envelope(redis, result.tracking_id or "")
        assert envelope is not None and (envelope["follow_up_of"], envelope["text"]) == (tracking_id, row.body)
        return
    assert result.tracking_id is None and envelope_count(redis) == 2  # the report and its addition
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert str(answer["Subject"]).startswith(f"[LAPOR #{tracking_id}]") and added.tracking_id != tracking_id
    assert answer.get_content() == status_body(tracking_id, "verified", True)


@pytest.mark.parametrize("spool", ["empty", "another_report_held"])
def test_a_cek_by_mail_of_an_unknown_id_is_answered_as_not_found(  # type: ignore[no-untyped-def]
        spool: str, make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    """Also while a spool file of another report waits (held by a gateway cut off from Redis, or hung): the mail was
    addressed by the ID's report, whose copy never came, retried for hours into a dead letter, and never answered."""
    unknown = format_tracking_id(98_765_432)
    server = make_server(with_spool=True)
    mail = citizen_mail(subject=f"CEK {unknown}", body=f"CEK {unknown}")
    with (spool_file_held(server.settings, format_tracking_id(98_765_431)) if spool == "another_report_held"
          else contextlib.nullcontext()):
        result = server.deliver(mail)
    assert result.data_code == 250 and result.tracking_id is None
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer.get_content() == status_body(unknown, None, False)
    assert "tidak ditemukan" in answer.get_content() and "was not found" in answer.get_content()
    assert envelope_count(redis) == 0 and DeadLetters(redis).count() == 0


def test_a_cek_by_mail_while_a_spool_may_hold_its_report_waits_for_it_instead_of_not_found(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report answered from a disk spool is in neither Redis nor the case store until its replay. A CEK by mail in
    that moment was answered "tidak ditemukan" for the ID just given out; while the intake says a spool may hold the
    report (`Intake.may_hold`), the answer is retried as with the case store away, and no "not found" goes."""
    monkeypatch.setattr(Intake, "may_hold", lambda self, tracking_id: True)
    spooled = format_tracking_id(98_765_432)  # in neither Redis nor the case store, as a report before its replay
    server = make_server()
    mail = citizen_mail(subject=f"CEK {spooled}", body=f"CEK {spooled}")
    result = server.deliver(mail)
    assert result.data_code == 250 and result.tracking_id is None
    run_replies(server.settings, redis)
    assert answer_to(outbox(server.settings), mail) == []
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 1  # its retry
    assert DeadLetters(redis).count() == 0


def test_a_cek_by_mail_of_an_anonymous_report_a_spool_may_hold_names_no_address_beside_it(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before its replay, an anonymous report's copy is not in Redis to say whose it is: the CEK's job was addressed
    to its From, and the whistleblower's address stood beside the report's Tracking ID in the job, retried while the
    spool waited, and 30 days in its dead letter when it waited too long. It is addressed by the report, and once the
    copy is replayed answered where the acknowledgement went."""
    sender = "saksi.kunci@contoh-desa.net"
    server = make_server()
    filed = server.deliver(citizen_mail(subject="ANONIM pungli", body="Kepala desa minta uang.", sender=sender))
    tracking_id = filed.tracking_id
    assert filed.data_code == 250 and tracking_id
    run_replies(server.settings, redis)  # its acknowledgement
    copy = redis.get(envelope_key(tracking_id))
    assert copy is not None and orjson.loads(copy)["anonymous"] is True
    redis.delete(envelope_key(tracking_id))  # as in a spool: a report the replay has not brought back yet
    monkeypatch.setattr(Intake, "may_hold", lambda self, tracking_id: True)
    mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id}", sender=sender)
    assert server.deliver(mail, mail_from=sender).data_code == 250
    run_replies(server.settings, redis)
    assert answer_to(outbox(server.settings), mail) == []
    assert [(key, where) for key, where, value in redis_values(redis) if sender in value] == []
    redis.set(envelope_key(tracking_id), copy)  # the replay
    replies = queue(REPLY_QUEUE, redis)
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(replies.fetch_job(job_id))  # as RQ's scheduler does once the interval has passed
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer["To"] == sender and answer.get_content() == status_body(tracking_id, "received", True)


def test_a_cek_by_mail_of_a_report_no_gateway_replays_is_dead_lettered_without_the_address_asking(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spool that may hold an anonymous report is never replayed through the job's retries (README: a CEK by mail
    asked while a disk spool may hold the report): the job is dead-lettered `report_not_replayed` and no "ask again
    later" goes out, since its only address would be the one asking, maybe the whistleblower's, kept beside the
    report's Tracking ID. Requeued once the copy is back, it is answered where the acknowledgement went."""
    sender = "saksi.kunci@contoh-desa.net"
    server = make_server(LAPOR_QUEUES_RETRY_INTERVALS="1")
    filed = server.deliver(citizen_mail(subject="ANONIM pungli", body="Kepala desa minta uang.", sender=sender))
    tracking_id = filed.tracking_id
    assert filed.data_code == 250 and tracking_id
    run_replies(server.settings, redis)  # its acknowledgement
    copy = redis.get(envelope_key(tracking_id))
    assert copy is not None
    redis.delete(envelope_key(tracking_id))  # as in a spool that no gateway replays
    monkeypatch.setattr(Intake, "may_hold", lambda self, tracking_id: True)
    mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id}", sender=sender)
    assert server.deliver(mail, mail_from=sender).data_code == 250
    replies = queue(REPLY_QUEUE, redis)
    run_replies(server.settings, redis)  # the first try, retried
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(replies.fetch_job(job_id))
    run_replies(server.settings, redis)  # the last try
    assert answer_to(outbox(server.settings), mail) == []
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (REPLY_QUEUE, tracking_id, "report_not_replayed")
    assert [(key, where) for key, where, value in redis_values(redis) if sender in value] == []
    redis.set(envelope_key(tracking_id), copy)  # the replay, then the operator's requeue
    DeadLetters(redis).requeue([letter], server.settings)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer["To"] == sender and answer.get_content() == status_body(tracking_id, "received", True)


def answered_at_the_last_try(server: SmtpServerThread, redis: Redis, mail: bytes) -> EmailMessage:
    """The reply jobs run twice with the case store away (a queue of one retry): nothing answered nor dead-lettered
    at the first try, retried; the one answer to `mail` at the last."""
    replies = queue(REPLY_QUEUE, redis)
    run_replies(server.settings, redis)  # the first try, retried
    assert answer_to(outbox(server.settings), mail) == [] and DeadLetters(redis).count() == 0
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(replies.fetch_job(job_id))
    run_replies(server.settings, redis)  # the last try
    [answer] = answer_to(outbox(server.settings), mail)
    return answer


@pytest.mark.parametrize("sender", ["warga@example.net", "orang.lain@example.net"],
                         ids=["the-anonymous-reports-own-sender-by-the-report", "anyone-else-at-their-from"])
def test_a_cek_by_mail_whose_lookups_run_out_is_told_to_ask_again_and_dead_lettered(  # type: ignore[no-untyped-def]
        sender: str, make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    """As by SMS (`[status_retry]`): once the status lookups' retries run out (the case store away), the citizen is
    told the status cannot be checked now and to mail CEK again later (`[email_status_retry]`), where and as the
    status answer would have gone (the anonymous report's own sender addressed by the report: no address beside its
    Tracking ID in the job or its dead letter), and the job is dead-lettered still, for an operator to requeue. The
    CEK was dead-lettered and the citizen got nothing at all."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    server = make_server(LAPOR_CASESTORE_URL=f"http://127.0.0.1:{free_port()}", LAPOR_QUEUES_RETRY_INTERVALS="1")
    mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id}", sender=sender)
    assert server.deliver(mail, mail_from=sender).data_code == 250
    answer = answered_at_the_last_try(server, redis, mail)
    assert answer["To"] == sender and str(answer["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
    assert answer.get_content() == reply_body("status_retry", tracking_id)
    assert "belum bisa dicek" in answer.get_content() and "cannot be checked" in answer.get_content()
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (REPLY_QUEUE, tracking_id, "casestore_unreachable")
    assert ("to_report" in letter.args[0]) == (sender == "warga@example.net")
    assert (sender in orjson.dumps(letter.args).decode()) == (sender != "warga@example.net")


def test_a_cek_by_mail_asked_in_an_outage_is_answered_once_the_case_store_is_back_its_retries_kept(
        make_server, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mailed CEK's lookup waits on the case store alone, as an SMS CEK's status job does: moved to now with the
    forwards as the case store comes back (`retry_lookups_now`), and, moved while it still fails (a case store
    flapping), its try goes back to its turn with no retry spent. Its answer waited out its own backoff, up to an hour
    after the case store was back."""
    monkeypatch.setattr(forward, "MOVED_AGAIN_AFTER_SECONDS", 0)
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    casestore.stop()
    server = make_server(LAPOR_QUEUES_RETRY_INTERVALS="600,600")
    mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id}")
    assert server.deliver(mail).data_code == 250
    run_replies(server.settings, redis)  # the lookup fails: retried in ten minutes
    replies = queue(REPLY_QUEUE, redis)
    registry = replies.scheduled_job_registry
    [job_id] = registry.get_job_ids()
    turn = registry.get_scheduled_time(job_id).timestamp()
    scheduler = RQScheduler([REPLY_QUEUE], connection=redis, serializer=JSONSerializer)
    scheduler.prepare_registries([REPLY_QUEUE])

    def the_case_store_takes_a_report() -> None:
        use_context(WorkerContext.build(server.settings, redis))
        try:
            forward.retry_outage_now(current())
        finally:
            use_context(None)
        assert registry.get_scheduled_time(job_id).timestamp() <= time.time()
        scheduler.enqueue_scheduled_jobs()
        run_replies(server.settings, redis)

    the_case_store_takes_a_report()  # and fails again at once
    job = replies.fetch_job(job_id)
    assert job is not None and job.retries_left == 1 and job_id in registry.get_job_ids()
    assert abs(registry.get_scheduled_time(job_id).timestamp() - turn) <= 2
    assert answer_to(outbox(server.settings), mail) == [] and DeadLetters(redis).count() == 0
    casestore.start()
    the_case_store_takes_a_report()
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer.get_content() == status_body(tracking_id, "verified", True)


def test_a_cek_by_mail_failing_alone_notes_the_case_store_outage_by_its_queue(
        make_server, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A mailed CEK's lookup failing for the case store down, no forward failing, noted nothing, as an SMS CEK's
    did: it is noted as a forward's failure is, the views saying lookups fail and `casestore.down` naming the reply
    queue that found it so."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    casestore.stop()
    server = make_server(LAPOR_QUEUES_RETRY_INTERVALS="600")
    for _ in range(2):  # the second past the threshold: declared
        mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id}")
        assert server.deliver(mail).data_code == 250
        run_replies(server.settings, redis)
    assert redis.get(forward.CASESTORE_DOWN_KEY) == b"casestore_unreachable"
    assert redis.hget(forward.CASESTORE_OUTAGE_KEY, "failing") == b"lookups"
    [down] = [e for e in log_events(log_stream) if e["event"] == "casestore.down"]
    assert (down["reason"], down["queue"]) == ("casestore_unreachable", REPLY_QUEUE)


@dataclass(frozen=True)
class FiledCekRow:
    id: str
    subject: str  # "{id}": the report's Tracking ID, "{never}" one never issued
    body: str
    html: str = ""  # an HTML alternative beside the text part
    filed: str = ""  # the envelope's text, when not `body`
    name: str = "Warga"  # the From's name
    sender: str = "warga@example.net"


FILED_CEK_ROWS = [
    FiledCekRow("a-subject-of-other-words", "Jalan rusak", "CEK {id}"),
    # words after the ID that tell the report nothing new, as by SMS (`adds_to_the_report`): filed as before
    FiledCekRow("a-question-after-the-id", "", "CEK {id} kok lama sekali?"),
    # a CEK with news of an ID never issued is filed as any mail is, as before (someone else's report: a report with
    # its flags, OTHER_SENDERS_NEWS_ROWS; a mistyped ID with news is answered that it is not valid: BAD_ID_ROWS)
    FiledCekRow("news-after-an-id-never-issued", "", "CEK {never} jalan makin rusak"),
]


def cek_fields(tracking_id: str) -> dict[str, str]:
    return {"id": tracking_id, "never": format_tracking_id(int(tracking_id[:-1]) + 5_000_000)}


def cek_mail(row: FiledCekRow | AddedCekRow, fields: dict[str, str]) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = f"{row.name} <{row.sender}>", RECIPIENT
    mail["Subject"], mail["Message-ID"] = row.subject.format(**fields), make_msgid(domain="example.net")
    mail.set_content(row.body.format(**fields))
    if row.html:
        mail.add_alternative(row.html, subtype="html")
    return mail.as_bytes().replace(b"\n", b"\r\n")


@pytest.mark.parametrize("row", FILED_CEK_ROWS, ids=[row.id for row in FILED_CEK_ROWS])
def test_a_cek_by_mail_with_other_words_or_a_photo_is_still_filed(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: FiledCekRow) -> None:
    tracking_id, _ = filed_report(make_server, redis, casestore)
    server = make_server()
    alone = server.deliver(citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id}"))
    assert alone.tracking_id is None  # the query alone is answered, as the test above shows
    fields = cek_fields(tracking_id)
    raw = cek_mail(row, fields)
    filed = server.deliver(raw, mail_from=row.sender)
    assert filed.tracking_id is not None and filed.tracking_id != tracking_id
    envelope = stored_envelope(redis, filed.tracking_id)
    written = row.filed or row.body.format(**fields)
    assert envelope is not None and envelope["text"] == written
    assert (envelope["attachments"], envelope["follow_up_of"]) == ([], None)
    assert envelope_count(redis) == 2
    # acknowledged as the report it is, not answered with the status; its words reach the case store
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), raw)
    assert f"Nomor lacak laporan Anda: {filed.tracking_id}" in answer.get_content()
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    assert casestore.get(filed.tracking_id)["text"] == written


@dataclass(frozen=True)
class AddedCekRow:
    id: str
    subject: str  # "{id}": the report's Tracking ID
    body: str
    added: str  # the addition's text: the words after the query
    html: str = ""  # an HTML alternative beside the text part
    name: str = "Warga"  # the From's name
    sender: str = "warga@example.net"
    report: str = "ANONIM\nPetugas kelurahan meminta uang."  # the report's body: anonymous
    anonymous: bool = True  # the addition's, as a mail adding to the report by its tag carries it


ADDED_CEK_ROWS = [
    AddedCekRow("words-after-the-id", "CEK {id}", "CEK {id} lubangnya makin besar", "lubangnya makin besar"),
    AddedCekRow("words-and-thanks-after-the-id", "CEK {id}", "CEK {id} lubangnya makin besar, terima kasih",
                "lubangnya makin besar, terima kasih"),
    AddedCekRow("a-sentence-below-thanks", "CEK {id}", "CEK {id}\n\nTerima kasih,\nlubangnya makin besar",
                "Terima kasih,\nlubangnya makin besar"),
    AddedCekRow("more-than-a-name-below-a-closing", "CEK {id}", "CEK {id}\n\nSalam,\nBudi\nRT 03 belum diperbaiki",
                "Salam,\nBudi\nRT 03 belum diperbaiki"),
    # the citizen's sentence below a closing, not the From's name
    AddedCekRow("a-sentence-below-a-closing", "", "CEK {id}\n\nSalam,\nJalan masih rusak", "Salam,\nJalan masih rusak"),
    AddedCekRow("a-sentence-from-a-named-sender", "", "CEK {id}\n\nSalam,\nJalan masih rusak",
                "Salam,\nJalan masih rusak", name="Budi Santoso"),
    # the complaint in the HTML part, the text part empty (read, the mail was a CEK of its subject alone)
    AddedCekRow("html-words-beside-an-empty-text-part", "CEK {id}", "", "Lubangnya makin besar",
                html="<p>Lubangnya makin besar</p>"),
    # a named report's addition is named as a mail adding to it by its tag is; ANONIM in the mail keeps its writer out
    AddedCekRow("to-a-named-report", "", "CEK {id} jalan makin rusak", "jalan makin rusak",
                report="Petugas kelurahan meminta uang.", anonymous=False),
    AddedCekRow("anonim-in-the-subject-to-a-named-report", "ANONIM", "CEK {id} jalan makin rusak",
                "jalan makin rusak", report="Petugas kelurahan meminta uang."),
]


@pytest.mark.parametrize("row", ADDED_CEK_ROWS, ids=[row.id for row in ADDED_CEK_ROWS])
def test_a_cek_by_mail_with_news_is_its_reports_addition_answered_with_the_status(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: AddedCekRow) -> None:
    """As by SMS (`[follow_up_status]`): `CEK <id>` and words of news from the report's sender are added to that
    report (`follow_up_of`, the words after the query, the flags a mail adding to it by its tag has), and the answer
    says the addition was received and gives the status, Indonesian first (`[email_follow_up_status]`), under the
    report's Tracking ID. It was filed as a new report: a second case, a new Tracking ID and no status."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified", body=row.report)
    server = make_server()
    raw = cek_mail(row, cek_fields(tracking_id))
    added = server.deliver(raw, mail_from=row.sender)
    assert added.data_code == 250 and added.tracking_id is not None
    envelope = stored_envelope(redis, added.tracking_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["text"], envelope["anonymous"]) == (tracking_id, row.added,
                                                                                   row.anonymous)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), raw)
    assert answer["To"] == row.sender and str(answer["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
    text = answer.get_content()
    assert text == reply_body("follow_up_status", tracking_id, status="verified")
    assert text.index("menerima tambahan informasi") < text.index("diverifikasi") < text.index("English: your addition")
    assert text.index("English: your addition") < text.index("Report status: verified")
    # no Tracking ID but the report's is given: the addition's own is no case of the citizen's
    assert added.tracking_id not in text and added.tracking_id not in str(answer["Subject"])
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    assert [report["tracking_id"] for report in casestore.reports() if not report.get("follow_up_of")] == [tracking_id]
    stored = casestore.get(added.tracking_id)
    assert stored is not None and (stored["follow_up_of"], stored["text"]) == (tracking_id, row.added)
    assert (row.sender in orjson.dumps(stored).decode()) is not row.anonymous


@dataclass(frozen=True)
class OtherSendersNewsRow:
    """A CEK with news ("{id}": the Tracking ID of a report by warga@example.net, filed with `report`) from
    `sender`: someone else's report makes it a report of its own with that report's flags and the mail's own
    (`anonymous`, `confidential`); the report's own sender's is its addition (`adds`)."""

    id: str
    subject: str
    body: str
    report: str = "ANONIM\nPetugas kelurahan meminta uang."
    sender: str = "tetangga@example.org"
    anonymous: bool = True
    confidential: bool = False
    adds: bool = False


OTHER_SENDERS_NEWS_ROWS = [
    OtherSendersNewsRow("news-after-the-id", "", "CEK {id} jalan makin rusak"),
    OtherSendersNewsRow("news-below-the-id", "", "CEK {id}\n\nSalam,\nJalan masih rusak"),
    OtherSendersNewsRow("news-below-a-subjects-query", "CEK {id}", "Jalan makin rusak, lubangnya makin besar."),
    OtherSendersNewsRow("an-anonymous-confidential-report", "", "CEK {id} jalan makin rusak",
                        report="ANONIM RAHASIA\nPetugas kelurahan meminta uang.", confidential=True),
    # a named report's flags are none: the mail is open, as by the report's tag, unless it asks otherwise itself
    OtherSendersNewsRow("a-named-report", "", "CEK {id} jalan makin rusak", report="Petugas kelurahan meminta uang.",
                        anonymous=False),
    OtherSendersNewsRow("anonim-rahasia-to-a-named-report", "ANONIM RAHASIA", "CEK {id} jalan makin rusak",
                        report="Petugas kelurahan meminta uang.", confidential=True),
    # the report's own sender: its addition, as before
    OtherSendersNewsRow("the-reports-own-sender", "", "CEK {id} jalan makin rusak", sender="warga@example.net",
                        adds=True),
]


@pytest.mark.parametrize("row", OTHER_SENDERS_NEWS_ROWS, ids=[row.id for row in OTHER_SENDERS_NEWS_ROWS])
def test_a_cek_by_mail_with_news_of_someone_elses_report_is_a_report_with_its_flags(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
        row: OtherSendersNewsRow) -> None:
    """As a mail naming someone else's report by its tag (`others_report_flags`): `CEK <id>` and words of news from
    another address is a report of its own with that report's `anonymous` and `confidential` (it may be the
    whistleblower writing from another address), the mail's own kept, its text as written, answered at its From with
    `[email_follow_up_other_sender]` (nothing of the report named: no status) and logged
    `message.follow_up_other_sender`. It was filed as an open report, its text putting the anonymous report's ID
    beside its sender's address in the case store."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified", body=row.report)
    server = make_server()
    fields = {"id": tracking_id}
    mail = EmailMessage()
    mail["From"], mail["To"] = f"Tetangga <{row.sender}>", RECIPIENT
    mail["Subject"], mail["Message-ID"] = row.subject.format(**fields), make_msgid(domain="example.org")
    mail.set_content(row.body.format(**fields))
    raw = mail.as_bytes().replace(b"\n", b"\r\n")
    filed = server.deliver(raw, mail_from=row.sender)
    assert filed.data_code == 250 and filed.tracking_id not in (None, tracking_id)
    new_id = filed.tracking_id or ""
    envelope = stored_envelope(redis, new_id)
    assert envelope is not None
    refused = [(e["reason"], e["follow_up_of"]) for e in log_events(log_stream)
               if e["event"] == "message.follow_up_other_sender"]
    if row.adds:
        assert (envelope["follow_up_of"], envelope["text"], refused) == (tracking_id, "jalan makin rusak", [])
        return
    assert (envelope["follow_up_of"], envelope["text"]) == (None, row.body.format(**fields))
    assert (envelope["anonymous"], envelope["confidential"]) == (row.anonymous, row.confidential)
    assert refused == [("not_the_reports_sender", tracking_id)]
    # the reply job of an anonymous report names no address beside the IDs (addressed by the report)
    [job] = queue(REPLY_QUEUE, redis).jobs
    assert (row.sender in orjson.dumps(job.args).decode()) is not row.anonymous
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), raw)
    assert answer["To"] == row.sender and str(answer["Subject"]).startswith(f"[LAPOR #{new_id}]")
    assert answer.get_content() == reply_body("follow_up_other_sender", new_id, follow_up_of=tracking_id)
    assert "diverifikasi" not in answer.get_content() and "verified" not in answer.get_content()
    # nothing but the report's acknowledgement went to its sender
    assert [str(reply["Subject"]) for reply in outbox(server.settings) if reply["To"] == "warga@example.net"] == [
        "[LAPOR #" + tracking_id + "] Pungli di kelurahan"]
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    stored = casestore.get(new_id)
    assert stored is not None and (stored["follow_up_of"], stored["confidential"]) == (None, row.confidential)
    assert (row.sender in orjson.dumps(stored).decode()) is not row.anonymous
    assert (stored["sender"]["kind"] == "reply_handle") is row.anonymous  # type: ignore[index]


# (id, subject, body, sender, filed anonymous): a `CEK <id>` of a report by warga@example.net (anonymous unless
# `named`) whose words are no news, filed as a mail as any other: it takes the named report's privacy, as a mail
# quoting that report does.
CEK_WITHOUT_NEWS_ROWS = [
    pytest.param("", "CEK {id} sudah sebulan belum ada kabar", "tetangga@example.org", True, id="a-question-after-it"),
    pytest.param("", "CEK {id} kok lama sekali?", "tetangga@example.org", True, id="a-complaint-after-it"),
    pytest.param("Jalan rusak", "CEK {id}", "tetangga@example.org", True, id="a-subject-of-its-own-over-it"),
    pytest.param("", "CEK {id} sudah sebulan belum ada kabar", "warga@example.net", True, id="the-reports-own-sender"),
    pytest.param("named", "CEK {id} sudah sebulan belum ada kabar", "tetangga@example.org", False,
                 id="a-named-report-stays-open"),
    # an ID never issued: the mail as it was, open (a tag's would be made anonymous)
    pytest.param("", "CEK {never_issued} sudah sebulan belum ada kabar", "tetangga@example.org", False,
                 id="an-id-never-issued-stays-open"),
    # a report whose copy expired (30 days after forwarding) or is damaged: the case store's flags, as a follow-up's
    pytest.param("", "CEK {expired} sudah sebulan belum ada kabar", "tetangga@example.org", True,
                 id="an-anonymous-report-whose-copy-expired"),
    pytest.param("", "CEK {damaged} sudah sebulan belum ada kabar", "tetangga@example.org", True,
                 id="an-anonymous-report-whose-copy-is-damaged"),
    pytest.param("named", "CEK {expired} sudah sebulan belum ada kabar", "warga@example.net", False,
                 id="a-named-report-whose-copy-expired-stays-open"),
    # an ID issued that the case store has no report of (404): one still in a spool, maybe the writer's own
    # anonymous report; filed open, it put their address beside its ID
    pytest.param("named", "CEK {issued_unused} sudah sebulan belum ada kabar", "tetangga@example.org", True,
                 id="an-id-issued-the-case-store-has-none-of"),
]


@pytest.mark.parametrize(("subject", "body", "sender", "anonymous"), CEK_WITHOUT_NEWS_ROWS)
def test_a_cek_by_mail_without_news_filed_as_a_mail_takes_the_named_reports_privacy(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO, subject: str, body: str,
        sender: str, anonymous: bool) -> None:
    """`CEK <id>` and words that ask or complain ("sudah sebulan belum ada kabar"), or a subject of its own over a
    bare `CEK <id>`, is filed as a mail as any other. Naming an anonymous report, it was filed open: the writer's name
    and addresses (a whistleblower's second address, maybe) in the case store beside that report's ID. It takes the
    report's privacy now, as a mail quoting that report by its tag does."""
    report = "Petugas kelurahan meminta uang." if subject == "named" else "ANONIM\nPetugas kelurahan meminta uang."
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified", body=report)
    server = make_server()
    mail = EmailMessage()
    mail["From"], mail["To"] = f"Budi Santoso <{sender}>", RECIPIENT
    mail["Subject"] = "" if subject == "named" else subject
    mail["Message-ID"] = make_msgid(domain="example.org")
    if "{expired}" in body:
        redis.delete(envelope_key(tracking_id))  # its copy expired (`intake.envelope_ttl_seconds`)
    if "{damaged}" in body:
        redis.set(envelope_key(tracking_id), b"{not json")
    never_issued = format_tracking_id(int(tracking_id[:-1]) + 5_000_000)
    issued_unused = TrackingIdAllocator(redis, block_size=1).mint() if "{issued_unused}" in body else ""
    mail.set_content(body.format(id=tracking_id, never_issued=never_issued, expired=tracking_id, damaged=tracking_id,
                                 issued_unused=issued_unused))
    filed = server.deliver(mail.as_bytes().replace(b"\n", b"\r\n"), mail_from=sender)
    assert filed.data_code == 250 and filed.tracking_id not in (None, tracking_id)
    envelope = stored_envelope(redis, filed.tracking_id or "")
    assert envelope is not None and (envelope["follow_up_of"], envelope["anonymous"]) == (None, anonymous)
    made = [e["reason"] for e in log_events(log_stream) if e["event"] == "message.made_anonymous"]
    gone_anonymous = "{damaged}" in body or "{issued_unused}" in body or ("{expired}" in body and anonymous)
    assert made == (["cek_of_a_report_gone"] if gone_anonymous else []), made
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    stored = casestore.get(filed.tracking_id or "")
    assert stored is not None and stored["anonymous"] is anonymous
    as_stored = orjson.dumps(stored).decode()
    assert (sender in as_stored or "Budi Santoso" in as_stored) is not anonymous, as_stored


@dataclass(frozen=True)
class NewsOfAReportGoneRow:
    """`CEK <id>` and words of news (`body`, "{id}": the ID) from warga@example.net naming an ID whose report the
    gateway's copy does not hold (`names`: `issued_unused`, minted and never stored, as a report still in a spool;
    `unforwarded`, the sender's anonymous report whose copy expired before the case store got it; `never_minted`), and
    what it becomes: a new report answered `becomes` (`ack`: as any mail), or still an addition (`becomes` "")."""

    id: str
    body: str
    names: str = "issued_unused"
    becomes: str = "follow_up_unknown_anonymous"
    anonymous: bool = True
    confidential: bool = False
    lookups: int = 1  # the case store asked for the ID named
    casestore_away: bool = False


NEWS_OF_A_REPORT_GONE_ROWS = [
    # the case store has no such report (404): a new report, anonymous, as by SMS; it may be the sender's own
    # anonymous report, in a spool not replayed yet, and filed open it put their address beside its ID
    NewsOfAReportGoneRow("issued-the-case-store-has-none", "CEK {id} jalan makin rusak"),
    NewsOfAReportGoneRow("its-copy-expired-before-forwarding", "CEK {id} jalan makin rusak", names="unforwarded"),
    NewsOfAReportGoneRow("issued-the-case-store-has-none-anonim", "ANONIM\nCEK {id} jalan makin rusak"),
    NewsOfAReportGoneRow("issued-the-case-store-has-none-rahasia", "RAHASIA\nCEK {id} jalan makin rusak",
                         becomes="follow_up_unknown_anonymous_confidential", confidential=True),
    # an ID never minted: filed as any mail, open, as before; nothing to ask the case store
    NewsOfAReportGoneRow("never-minted", "CEK {id} jalan makin rusak", names="never_minted", becomes="ack",
                         anonymous=False, lookups=0),
    # the case store not answering: still an addition, anonymous (`UNKNOWN_PARENT_FLAGS`)
    NewsOfAReportGoneRow("the-case-store-away", "CEK {id} jalan makin rusak", becomes="", lookups=0,
                         casestore_away=True),
]


@pytest.mark.parametrize("row", NEWS_OF_A_REPORT_GONE_ROWS, ids=[row.id for row in NEWS_OF_A_REPORT_GONE_ROWS])
def test_a_cek_by_mail_with_news_of_a_report_found_nowhere_is_an_anonymous_new_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: NewsOfAReportGoneRow) -> None:
    """As by SMS (`[follow_up_unknown_anonymous]`): `CEK <id>` and news naming an ID that was issued, whose report
    neither the gateway's copy nor the case store (404) holds, is a new report, anonymous, its text as written, and
    the answer says so (`[email_follow_up_unknown_anonymous]`). The case store is asked once. The mail was filed
    again as any mail, the case store asked a second time, and filed open: the sender's address beside the ID of a
    report that may be their own anonymous one, still in a spool."""
    server = make_server()
    parent = server.deliver(citizen_mail(subject="ANONIM: pungli di kelurahan", body="Petugas meminta uang."))
    assert parent.tracking_id is not None
    ids = _cek_ids(parent.tracking_id, redis)
    if row.names == "unforwarded":
        ids["unforwarded"] = parent.tracking_id
        redis.delete(envelope_key(parent.tracking_id))  # expired; its forward job still waits (server not stopped)
    named = ids[row.names]
    if row.casestore_away:
        casestore.stop()
    body = row.body.format(id=named)
    raw = cek_mail(FiledCekRow(row.id, "", body), {})
    filed = server.deliver(raw, mail_from="warga@example.net")
    assert filed.data_code == 250 and filed.tracking_id not in (None, named)
    new_id = filed.tracking_id or ""
    envelope = stored_envelope(redis, new_id)
    assert envelope is not None
    assert (envelope["follow_up_of"], envelope["anonymous"], envelope["confidential"]) == (
        None if row.becomes else named, row.anonymous, row.confidential)
    assert casestore.lookups(named) == row.lookups
    if not row.becomes:
        return
    assert envelope["text"] == body
    [job] = [job for job in queue(REPLY_QUEUE, redis).jobs if job.args[0].get("report_id") == new_id]
    assert ("warga@example.net" in orjson.dumps(job.args).decode()) is not row.anonymous
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), raw)
    assert answer["To"] == "warga@example.net" and str(answer["Subject"]).startswith(f"[LAPOR #{new_id}]")
    told = {"follow_up_of": named} if row.becomes != "ack" else {}
    assert answer.get_content() == reply_body(row.becomes, new_id, **told)
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    stored = casestore.get(new_id)
    assert stored is not None and (stored["follow_up_of"], stored["anonymous"]) == (None, row.anonymous)
    assert ("warga@example.net" in orjson.dumps(stored).decode()) is not row.anonymous


@pytest.mark.parametrize("quoted", [pytest.param("ANONIM: pungli di kelurahan", id="quoting-an-anonymous-report"),
                                    pytest.param("Pungli di kelurahan", id="quoting-a-named-report")])
@pytest.mark.parametrize("names", [pytest.param("cek", id="by-a-cek-with-news"), pytest.param("tag", id="by-its-tag")])
def test_news_of_a_report_found_nowhere_is_told_anonymous_whatever_report_it_quotes(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, quoted: str, names: str) -> None:
    """A stranger's mail naming an ID issued that the case store has no report of (404), while it quotes someone
    else's report (`Re: [LAPOR #<theirs>]`): the new report is anonymous for the 404 either way, and its answer says
    so either way. It said so only where the quoted report was named (an anonymous one had made the mail anonymous
    first, and that one's anonymity is kept untold): the answer told the stranger which the quoted report was."""
    server = make_server()
    theirs = server.deliver(citizen_mail(subject=quoted, body="Petugas meminta uang.", sender="pelapor@example.net"))
    assert theirs.tracking_id is not None
    issued = _cek_ids(theirs.tracking_id, redis)["issued_unused"]
    if names == "cek":
        raw = cek_mail(FiledCekRow("quoting", f"Re: [LAPOR #{theirs.tracking_id}]", f"CEK {issued} jalan makin rusak",
                                   sender="orang@example.org"), {})
    else:
        raw = citizen_mail(subject=f"[LAPOR #{issued}] [LAPOR #{theirs.tracking_id}]", body="jalan makin rusak",
                           sender="orang@example.org")
    filed = server.deliver(raw, mail_from="orang@example.org")
    envelope = stored_envelope(redis, filed.tracking_id or "")
    assert envelope is not None and (envelope["follow_up_of"], envelope["anonymous"]) == (None, True)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), raw)
    assert answer.get_content() == reply_body("follow_up_unknown_anonymous", filed.tracking_id or "",
                                              follow_up_of=issued)


def test_a_mails_decisions_ask_the_case_store_once_per_report() -> None:
    """`asking_once`: every decision of one mail about a report takes the case store's first answer (a 404, or none),
    and tells a report found nowhere (`found_nowhere`) from one found or not answered for."""
    asked: list[str] = []
    said = {"10000012": StatusLookup(found=False), "10000020": StatusLookup(found=True, status="verified")}

    def ask(tracking_id: str) -> StatusLookup | None:
        asked.append(tracking_id)
        return said.get(tracking_id)

    answers: dict[str, StatusLookup | None] = {}
    once = asking_once(ask, answers)
    assert [once(tracking_id) for tracking_id in ("10000012", "10000012", "10000020", "10000038", "10000038")] == [
        said["10000012"], said["10000012"], said["10000020"], None, None]
    assert asked == ["10000012", "10000020", "10000038"]
    assert [found_nowhere(answers, tracking_id) for tracking_id in ("10000012", "10000020", "10000038", "10000046")
            ] == [True, False, False, False]


def test_a_cek_by_mail_with_news_whose_lookups_run_out_is_told_the_addition_was_received(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    """The addition is durable before the 250, whatever the case store does. Once the status lookups' retries run
    out (the case store away), the answer says the addition was received and to mail CEK again later
    (`[email_follow_up_status_retry]`), and the job is dead-lettered, as a CEK's is, for an operator to requeue: the
    status then follows."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    server = make_server(LAPOR_CASESTORE_URL=f"http://127.0.0.1:{free_port()}", LAPOR_QUEUES_RETRY_INTERVALS="1")
    mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id} jalan makin rusak")
    added = server.deliver(mail)
    assert added.data_code == 250 and added.tracking_id is not None
    assert stored_envelope(redis, added.tracking_id)["follow_up_of"] == tracking_id
    answer = answered_at_the_last_try(server, redis, mail)
    assert answer["To"] == "warga@example.net" and str(answer["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
    assert answer.get_content() == reply_body("follow_up_status_retry", tracking_id)
    assert "menerima tambahan" in answer.get_content() and "addition to report" in answer.get_content()
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (REPLY_QUEUE, tracking_id, "casestore_unreachable")
    assert "warga@example.net" not in orjson.dumps(letter.args).decode()  # the anonymous report's: by the report


def refusing_reads(status: int) -> Callable[[], web.Application]:
    """A case store refusing every read with `status` (a proxy's 403, a 400 of a changed contract)."""

    def build() -> web.Application:
        async def refuse(_: web.Request) -> web.Response:
            return web.json_response({"error": "forbidden", "detail": "not for this client"}, status=status)

        app = web.Application()
        app.router.add_get("/v1/reports/{tracking_id}", refuse)
        return app

    return build


@pytest.mark.parametrize("status", [403, 400])
def test_a_cek_by_mail_with_news_whose_lookup_is_refused_is_told_the_addition_was_received(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, status: int) -> None:
    """A case store refusing the status read (a 4xx, no retry) left the addition's writer with no answer at all and
    the job dead-lettered, where a mail adding by the report's tag is answered: it is told the addition was received
    (`[email_follow_up]`), without the status."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    port = free_port()
    server = make_server(LAPOR_CASESTORE_URL=f"http://127.0.0.1:{port}")
    mail = citizen_mail(subject=f"CEK {tracking_id}", body=f"CEK {tracking_id} kades masih minta setoran")
    added = server.deliver(mail)
    assert added.data_code == 250 and stored_envelope(redis, added.tracking_id)["follow_up_of"] == tracking_id
    refusing = LoopbackServer(refusing_reads(status), port)
    refusing.start()
    try:
        run_replies(server.settings, redis)
    finally:
        refusing.stop()
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer.get_content() == reply_body("follow_up", tracking_id)
    assert DeadLetters(redis).count() == 0


def mistyped(tracking_id: str) -> str:
    """The ID with its check digit wrong: one typo away."""
    return tracking_id[:-1] + str((int(tracking_id[-1]) + 1) % 10)


@dataclass(frozen=True)
class BadIdRow:
    id: str
    subject: str  # "{bad}": the ID mistyped
    body: str
    typed: str  # the number the answer repeats; "{bad}" too


BAD_ID_ROWS = [
    BadIdRow("a-wrong-check-digit-in-the-body", "", "CEK {bad}", "{bad}"),
    BadIdRow("a-wrong-check-digit-in-the-subject", "Cek {bad}", "", "{bad}"),
    BadIdRow("too-short", "", "CEK 12345", "12345"),
    BadIdRow("seven-digits-with-thanks", "CEK 1234567", "Terima kasih,\nBudi", "1234567"),
    BadIdRow("a-wrong-check-digit-under-a-status-question", "Status laporan", "CEK {bad}", "{bad}"),
    # news after it is not added to any report, nor filed: the citizen is asked to check the number, as before
    BadIdRow("a-wrong-check-digit-with-news", "", "CEK {bad} jalan makin rusak", "{bad}"),
]


@pytest.mark.parametrize("row", BAD_ID_ROWS, ids=[row.id for row in BAD_ID_ROWS])
def test_a_cek_by_mail_of_a_mistyped_id_is_answered_as_by_sms_and_not_filed(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: BadIdRow) -> None:
    """By SMS `CEK <a mistyped ID>` is answered `[bad_tracking_id]`; by mail it was filed as a new report and
    acknowledged. It is answered with the SMS's text, both languages, under no report's tag, and nothing is
    filed."""
    tracking_id, _ = filed_report(make_server, redis, casestore)
    bad = mistyped(tracking_id)
    server = make_server()
    mail = citizen_mail(subject=row.subject.format(bad=bad), body=row.body.format(bad=bad))
    result = server.deliver(mail)
    assert result.data_code == 250 and result.tracking_id is None
    assert envelope_count(redis) == 1
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    typed = row.typed.format(bad=bad)
    assert answer.get_content() == "\n\n".join(render("email_bad_tracking_id", language, tracking_id=typed)
                                                 for language in ("id", "en")) + "\n"
    assert "tidak valid" in answer.get_content() and "is not valid" in answer.get_content()
    # a new report is mailed: the SMS's "Ketik LAPOR <isi>" / "Text REPORT <text>" told a mail to text one
    assert "surel" in answer.get_content() and "mail" in answer.get_content()
    assert "Ketik LAPOR" not in answer.get_content() and "Text REPORT" not in answer.get_content()
    assert "[LAPOR #" not in str(answer["Subject"]) and answer["X-LAPOR-Tracking-ID"] is None
    assert answer["To"] == "warga@example.net"
    server.stop()
    drain(server.settings, (FORWARD_QUEUE,))
    assert len(casestore.reports()) == 1


def test_an_outlook_answer_to_our_not_valid_answer_files_the_citizens_words_alone(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    """Our answer to a CEK of a mistyped ID names no report (`lapor-query-...` Message-ID): an answer to it quoting it
    as Outlook does (no '>'), the citizen's words below it, was taken for quoted history and lost them."""
    tracking_id, _ = filed_report(make_server, redis, casestore)
    server = make_server()
    cek = citizen_mail(subject="", body=f"CEK {mistyped(tracking_id)}")
    server.deliver(cek)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), cek)
    quoted = "\n".join(["", "From: LAPOR! <pengaduan@lapor.go.id>", "Sent: Thursday, 3 December 2026 10:00",
                         "To: Warga <warga@example.net>", f"Subject: {answer['Subject']}", "",
                         answer.get_content().strip()])
    words = "Maaf salah ketik. Lampu jalan di gang 5 mati sudah seminggu."
    mail = reply_to(answer, subject=None, references=True, body=quoted.lstrip() + "\n\n" + words)  # written below
    result = server.deliver(mail)
    assert result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and envelope["text"] == words


LOGO_CID = "image001.png@01DA4C2B.7E8F9A10"


def mail_with_an_image(subject: str, text: str, html: str, image: bytes, *, disposition: str = "inline",
                       content_id: str | None = LOGO_CID, name: str = "image001.png") -> bytes:
    """Outlook's shape of a mail with an image: multipart/related of the text and HTML alternatives and the image."""
    cid = f"Content-ID: <{content_id}>\r\n" if content_id else ""
    image_part = (f"Content-Type: image/png; name=\"{name}\"\r\nContent-Disposition: {disposition}; "
                  f"filename=\"{name}\"\r\n{cid}Content-Transfer-Encoding: base64\r\n\r\n"
                  + base64.encodebytes(image).decode().replace("\n", "\r\n"))
    return (f"From: Warga <warga@example.net>\r\nTo: {RECIPIENT}\r\nSubject: {subject}\r\n"
            f"Message-ID: {make_msgid(domain='example.net')}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/related; boundary=\"rel\"; type=\"multipart/alternative\"\r\n\r\n"
            "--rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
            f"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            f"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{html}</body></html>\r\n"
            f"--alt--\r\n\r\n--rel\r\n{image_part}--rel--\r\n").encode()


LOGO = b"\x89PNG\r\n\x1a\n" + bytes(3000)  # a signature's logo: a few KB
PHOTO = b"\xff\xd8\xff\xe0" + os.urandom(300_000)  # a phone's photo pasted into the text


@dataclass(frozen=True)
class ImageCekRow:
    id: str
    text: str  # "{id}": the report's Tracking ID
    html: str
    image: bytes
    answered: bool  # with the status; else filed, the image with it
    disposition: str = "inline"
    content_id: str | None = LOGO_CID


IMAGE_CEK_ROWS = [
    ImageCekRow("outlook-signature-logo", f"CEK {{id}}\r\n\r\n[cid:{LOGO_CID}]",
                f'<p>CEK {{id}}</p><p><img src="cid:{LOGO_CID}" width="120" height="40"></p>', LOGO, answered=True),
    ImageCekRow("logo-shown-by-the-html-alone", "CEK {id}",
                f"<p>CEK {{id}}</p><img src='cid:{LOGO_CID}'>", LOGO, answered=True),
    # files the citizen sent: added to the report, as a photo with a CEK by SMS
    ImageCekRow("a-photo-attached", "CEK {id}", "<p>CEK {id}</p>", PHOTO, answered=False, disposition="attachment",
                content_id=None),
    ImageCekRow("a-small-image-attached", "CEK {id}", "<p>CEK {id}</p>", LOGO, answered=False,
                disposition="attachment", content_id=None),
    ImageCekRow("an-inline-image-the-text-does-not-show", "CEK {id}", "<p>CEK {id}</p>", LOGO, answered=False),
    ImageCekRow("a-photo-pasted-into-the-text", "CEK {id}",
                f'<p>CEK {{id}}</p><img src="cid:{LOGO_CID}">', PHOTO, answered=False),
]


@pytest.mark.parametrize("row", IMAGE_CEK_ROWS, ids=[row.id for row in IMAGE_CEK_ROWS])
def test_a_cek_by_mail_with_a_signatures_logo_is_answered_and_with_a_photo_filed(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: ImageCekRow) -> None:
    """Outlook sends a signature's logo with every mail: a small image, inline, that the HTML shows by its
    Content-ID. It is no file of the citizen's, and a CEK from Outlook was filed as an addition instead of answered.
    A photo (attached, inline and not shown, or pasted into the text) is that report's addition, as a photo with a
    CEK by SMS."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    server = make_server()
    mail = mail_with_an_image(f"CEK {tracking_id}", row.text.format(id=tracking_id), row.html.format(id=tracking_id),
                              row.image, disposition=row.disposition, content_id=row.content_id)
    result = server.deliver(mail)
    assert result.data_code == 250
    if row.answered:
        assert result.tracking_id is None and envelope_count(redis) == 1
        run_replies(server.settings, redis)
        [answer] = answer_to(outbox(server.settings), mail)
        assert answer.get_content() == status_body(tracking_id, "verified", True)
    else:
        assert result.tracking_id is not None and envelope_count(redis) == 2
        envelope = stored_envelope(redis, result.tracking_id)
        assert envelope is not None and len(envelope["attachments"]) == 1
        assert (envelope["follow_up_of"], envelope["text"]) == (tracking_id, "")


@dataclass(frozen=True)
class MistypedPhotoRow:
    id: str
    subject: str  # "{bad}": the report's ID with its check digit wrong
    text: str
    html: str
    image: bytes
    typed: str  # the number the answer repeats; "{bad}" too
    disposition: str = "attachment"
    content_id: str | None = None
    confidential: bool = False  # a RAHASIA beside the query: the answer says the new report is confidential too


MISTYPED_PHOTO_ROWS = [
    MistypedPhotoRow("a-photo-attached", "CEK {bad}", "CEK {bad}", "<p>CEK {bad}</p>", PHOTO, "{bad}"),
    MistypedPhotoRow("in-the-body-alone", "", "CEK {bad}", "<p>CEK {bad}</p>", PHOTO, "{bad}"),
    MistypedPhotoRow("in-the-subject-a-small-image-attached", "Re: cek {bad}", "", "", LOGO, "{bad}"),
    MistypedPhotoRow("too-short", "Cek 12345", "", "", PHOTO, "12345"),
    MistypedPhotoRow("a-sign-off-below", "CEK 1234567", "Terima kasih,\r\nBudi", "<p>Terima kasih,<br>Budi</p>",
                     PHOTO, "1234567"),
    # words after the ID, a sign-off with a number: the same, not a named report beside a number one typo off
    MistypedPhotoRow("words-after-the-id", "", "CEK {bad} lubangnya makin besar",
                     "<p>CEK {bad} lubangnya makin besar</p>", PHOTO, "{bad}"),
    MistypedPhotoRow("a-sign-off-with-a-number", "", "CEK {bad}\r\n\r\nSalam,\r\nBudi\r\n0812-3456-7001",
                     "<p>CEK {bad}</p><p>Salam,<br>Budi<br>0812-3456-7001</p>", PHOTO, "{bad}"),
    MistypedPhotoRow("a-photo-pasted-into-the-text", "CEK {bad}", "CEK {bad}",
                     f'<p>CEK {{bad}}</p><img src="cid:{LOGO_CID}">', PHOTO, "{bad}", "inline", LOGO_CID),
    MistypedPhotoRow("rahasia-before-the-cek", "", "RAHASIA CEK {bad}", "<p>RAHASIA CEK {bad}</p>", PHOTO, "{bad}",
                     confidential=True),
    MistypedPhotoRow("rahasia-in-the-subject", "RAHASIA", "CEK {bad}", "<p>CEK {bad}</p>", PHOTO, "{bad}",
                     confidential=True),
]


@pytest.mark.parametrize("row", MISTYPED_PHOTO_ROWS, ids=[row.id for row in MISTYPED_PHOTO_ROWS])
def test_a_photo_with_a_cek_of_a_mistyped_id_is_an_anonymous_report_answered_not_valid(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: MistypedPhotoRow) -> None:
    """As by SMS (`[bad_tracking_id_photo]`): `CEK <a mistyped ID>` with a photo is a report of its own, anonymous (the
    ID typed may be the citizen's own anonymous report's, one typo away), answered that the number typed is not valid
    and with the new report's Tracking ID, threaded as an acknowledgement. It was filed as a named report and
    acknowledged as one: the agency had the citizen's address beside a number one digit off their anonymous report."""
    tracking_id, _ = filed_report(make_server, redis, casestore)
    bad = mistyped(tracking_id)
    server = make_server()
    mail = mail_with_an_image(row.subject.format(bad=bad), row.text.format(bad=bad), row.html.format(bad=bad),
                              row.image, disposition=row.disposition, content_id=row.content_id)
    result = server.deliver(mail)
    assert result.data_code == 250 and result.tracking_id is not None and result.tracking_id != tracking_id
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and envelope["anonymous"] is True and envelope["follow_up_of"] is None
    assert envelope["confidential"] is row.confidential
    assert len(envelope["attachments"]) == 1
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    typed = row.typed.format(bad=bad)
    kind = "bad_tracking_id_photo_confidential" if row.confidential else "bad_tracking_id_photo"
    assert answer.get_content() == reply_body(kind, result.tracking_id, typed_id=typed)
    content = answer.get_content()
    assert f"Nomor lacak {typed} tidak valid" in content and f"Tracking ID {typed} is not valid" in content
    assert content.index("tidak valid") < content.index("English:")
    assert str(answer["Subject"]).startswith(f"[LAPOR #{result.tracking_id}]")
    assert answer["X-LAPOR-Tracking-ID"] == result.tracking_id and answer["To"] == "warga@example.net"
    assert str(answer["Message-ID"]).startswith(f"<lapor-{result.tracking_id}-")
    server.stop()  # its intake hands the report to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    report = casestore.get(result.tracking_id)
    assert report is not None and report["anonymous"] is True
    assert report["sender"]["kind"] == "reply_handle"  # type: ignore[index]
    assert "warga@example.net" not in orjson.dumps(report).decode()


def test_an_outlook_answer_to_our_not_valid_photo_answer_adds_the_citizens_words_alone(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    """Outlook quotes our answer with no '>' above the citizen's words: our texts are known again where quoted
    (channels/email/texts.py), `[email_bad_tracking_id_photo]` too, or the agency got our words as the citizen's."""
    tracking_id, _ = filed_report(make_server, redis, casestore)
    server = make_server()
    bad = mistyped(tracking_id)
    mail = mail_with_an_image(f"CEK {bad}", f"CEK {bad}", f"<p>CEK {bad}</p>", PHOTO, disposition="attachment",
                              content_id=None)
    filed = server.deliver(mail)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    quoted = "\n".join(["", "From: LAPOR! <pengaduan@lapor.go.id>", "Sent: Thursday, 3 December 2026 10:00",
                         "To: Warga <warga@example.net>", f"Subject: {answer['Subject']}", "",
                         answer.get_content().strip()])
    words = "Maaf salah ketik. Fotonya untuk laporan jalan berlubang di depan pasar."
    result = server.deliver(reply_to(answer, subject=None, references=True, body=quoted.lstrip() + "\n\n" + words))
    addition = stored_envelope(redis, result.tracking_id or "")
    assert addition is not None and addition["follow_up_of"] == filed.tracking_id
    assert (addition["text"], addition["anonymous"]) == (words, True)


def gmail_cek_with_a_photo(subject: str, text: str, sender: str = "warga@example.net") -> bytes:
    """Gmail for Android's shape of a mail with a photo attached (tests/fixtures/email/gmail_android_cek_photo.eml):
    the text and HTML alternatives, and a phone's JPEG that names its owner in its Exif and XMP."""
    photo = base64.encodebytes((ATTACHMENT_FIXTURES / "phone.jpg").read_bytes()).decode().rstrip("\n")
    html = "<br>".join(text.splitlines())
    raw = (FIXTURES / "gmail_android_cek_photo.eml").read_text().format(
        message_id=make_msgid(domain="mail.gmail.com"), subject=subject, sender=sender, text=text, html=html,
        photo=photo)
    return raw.replace("\r\n", "\n").replace("\n", "\r\n").encode()


@dataclass(frozen=True)
class CekPhotoRow:
    """A mail of a status query for one valid Tracking ID (the forms a mail asks the status with) and a photo, and
    what it becomes: `follow_up` (the photo and the words after the ID added to that report, with its flags),
    `follow_up_unknown` (an ID never minted, or one the case store has no report under: a new report, as by SMS;
    `follow_up_unknown_anonymous` when that one is anonymous), or
    `follow_up_other_sender` (someone else's report: a new report with its flags, as any mail naming it)."""

    id: str
    subject: str  # "{id}": the ID the mail names
    text: str
    becomes: str = "follow_up"
    words: str = ""  # the addition's text; a new report's is the mail's as written
    names: str = "parent"  # the ID named: the parent report's, or one of `_cek_ids` ("{parent}": the parent's)
    parent_subject: str = "ANONIM: pungli di kelurahan"  # the report filed first, by warga@example.net
    sender: str = "warga@example.net"
    anonymous: bool = True
    confidential: bool = False
    held: dict[str, bool] | None = None  # the flags of a report the case store holds under the ID
    withheld: str = ""  # a number of the sender's the case store must not get


CEK_PHOTO_ROWS = [
    CekPhotoRow("cek-in-the-body", "", "CEK {id}"),
    CekPhotoRow("cek-in-the-subject", "CEK {id}", ""),
    CekPhotoRow("in-both-with-a-signature", "Re: CEK {id}", "cek {id}\n\n-- \nBudi\n0812-3456-7001"),
    CekPhotoRow("the-id-alone", "", "{id}"),
    CekPhotoRow("status-in-the-subject", "Status {id}", ""),
    CekPhotoRow("answering-in-the-reports-thread", "Re: [LAPOR #{id}] Pungli di kelurahan", "CEK {id}"),
    # the ID typed names the report, not the thread it is written in (the citizen's second report, named); the
    # thread's tag names their anonymous report, whose privacy the addition takes (filed open, its subject put that
    # report's ID beside their address)
    CekPhotoRow("another-report-in-a-thread", "Re: [LAPOR #{parent}] Pungli di kelurahan", "CEK {id}", names="second"),
    CekPhotoRow("another-report-in-a-named-reports-thread", "Re: [LAPOR #{parent}] Jalan rusak", "CEK {id}",
                names="second", parent_subject="Jalan rusak", anonymous=False),
    # thanks or a sign-off add nothing: no name from a signature beside an anonymous report
    CekPhotoRow("thanks-after-the-id", "", "CEK {id} terima kasih"),
    CekPhotoRow("a-sign-off-below", "", "CEK {id}\n\nTerima kasih,\nBudi"),
    # whatever else follows the ID is the photo's words, as by SMS: such a mail was a new report, open, the sender's
    # address and number beside their anonymous report's ID (`withheld`: what the case store must not get)
    CekPhotoRow("words-after-the-id", "", "CEK {id} lubangnya makin besar", words="lubangnya makin besar"),
    CekPhotoRow("a-sign-off-with-a-number", "", "CEK {id}\n\nTerima kasih,\nSiti\n0812-3456-7001",
                words="Terima kasih,\nSiti\n0812-3456-7001", withheld="3456-7001"),
    CekPhotoRow("words-below-a-subjects-query", "CEK {id}", "Ini fotonya.\n\nSalam,\nSiti\nHP 0812-3456-7001",
                words="Ini fotonya.\n\nSalam,\nSiti\nHP 0812-3456-7001", withheld="3456-7001"),
    CekPhotoRow("someone-elses-report-with-a-signature", "", "CEK {id}\n\nSalam,\nJoko\n0812-3456-7002",
                becomes="follow_up_other_sender", sender="tetangga@example.org", withheld="3456-7002"),
    # the report's flags kept, and the mail's own added: "ANONIM CEK <id>" is anonymous even to a named report
    CekPhotoRow("to-a-named-report", "", "CEK {id}", parent_subject="Jalan rusak", anonymous=False),
    CekPhotoRow("anonim-to-a-named-report", "", "ANONIM CEK {id}", parent_subject="Jalan rusak"),
    CekPhotoRow("anonim-in-the-subject-to-a-named-report", "ANONIM CEK {id}", "", parent_subject="Jalan rusak"),
    CekPhotoRow("rahasia-hashtag-to-a-named-report", "", "CEK {id} #rahasia", parent_subject="Jalan rusak",
                anonymous=False, confidential=True),
    # not the report's sender: a report of its own with the report's anonymity, as any mail naming it
    CekPhotoRow("someone-elses-report", "", "CEK {id}", becomes="follow_up_other_sender",
                sender="tetangga@example.org"),
    # as by SMS: an ID never minted, or one the case store has no report under, is a new report; flags kept
    CekPhotoRow("never-minted", "", "CEK {id}", becomes="follow_up_unknown", names="never_minted", anonymous=False),
    # filed anonymous (its ANONIM, or the case store's 404), the answer says so, as by SMS
    CekPhotoRow("never-minted-anonim", "", "ANONIM CEK {id}", becomes="follow_up_unknown_anonymous",
                names="never_minted"),
    CekPhotoRow("issued-the-case-store-has-none", "", "CEK {id}", becomes="follow_up_unknown_anonymous",
                names="issued_unused"),
    # filed confidential (the mail's RAHASIA), the answer says so too, as an acknowledgement does
    CekPhotoRow("never-minted-rahasia", "", "RAHASIA CEK {id}", becomes="follow_up_unknown_confidential",
                names="never_minted", anonymous=False, confidential=True),
    CekPhotoRow("never-minted-rahasia-in-the-subject", "RAHASIA", "CEK {id}", becomes="follow_up_unknown_confidential",
                names="never_minted", anonymous=False, confidential=True),
    CekPhotoRow("never-minted-anonim-rahasia", "", "ANONIM RAHASIA CEK {id}",
                becomes="follow_up_unknown_anonymous_confidential", names="never_minted", confidential=True),
    CekPhotoRow("issued-the-case-store-has-none-rahasia", "", "CEK {id} #rahasia",
                becomes="follow_up_unknown_anonymous_confidential", names="issued_unused", confidential=True),
    CekPhotoRow("issued-the-case-store-has-it", "", "CEK {id}", names="issued_unused", anonymous=False,
                confidential=True, held={"anonymous": False, "confidential": True}),
]


def _cek_ids(parent: str, redis: Redis) -> dict[str, str]:
    return {"parent": parent, "never_minted": format_tracking_id(int(parent[:-1]) + 5_000_000),
            "issued_unused": TrackingIdAllocator(redis, block_size=1).mint()}


@pytest.mark.parametrize("row", CEK_PHOTO_ROWS, ids=[row.id for row in CEK_PHOTO_ROWS])
def test_a_cek_by_mail_with_a_photo_adds_the_photo_to_that_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, row: CekPhotoRow) -> None:
    """As by SMS and mentions: `CEK <id>` with a photo is that report's addition, the photo and the words after the
    ID, answered "addition received" (`[email_follow_up]`). It was filed as a new report, a second case beside the
    citizen's, its photo missing from theirs. An anonymous addition reaches the case store without the address."""
    server = make_server()
    parent = server.deliver(citizen_mail(subject=row.parent_subject, body="Petugas kelurahan meminta uang."))
    assert parent.tracking_id is not None
    ids = _cek_ids(parent.tracking_id, redis)
    if row.names == "second":
        ids["second"] = server.deliver(citizen_mail(subject="Lampu jalan mati")).tracking_id or ""
    named = ids[row.names]
    if row.held is not None:
        casestore.store.store_many([sample_envelope(tracking_id=named, **row.held).model_dump(mode="json")])
    subject, text = row.subject.format(id=named, parent=parent.tracking_id), row.text.format(id=named)
    mail = gmail_cek_with_a_photo(subject, text, sender=row.sender)
    result = server.deliver(mail, mail_from=row.sender)
    assert result.data_code == 250 and result.tracking_id not in (None, named, parent.tracking_id)
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None and len(envelope["attachments"]) == 1
    assert (envelope["anonymous"], envelope["confidential"]) == (row.anonymous, row.confidential)
    added = row.becomes == "follow_up"
    assert envelope["follow_up_of"] == (named if added else None)
    assert envelope["text"] == (row.words if added else text or subject)
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer["To"] == row.sender
    if added:
        assert answer.get_content() == reply_body("follow_up", named)
        assert "tambahan informasi untuk" in answer.get_content() and "addition to report" in answer.get_content()
        assert str(answer["Subject"]).startswith(f"[LAPOR #{named}]")
    else:
        assert answer.get_content() == reply_body(row.becomes, result.tracking_id, follow_up_of=named)
        assert str(answer["Subject"]).startswith(f"[LAPOR #{result.tracking_id}]")
    server.stop()  # its intake hands the reports to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    report = casestore.get(result.tracking_id or "")
    assert report is not None and report["follow_up_of"] == envelope["follow_up_of"]
    if row.anonymous:
        assert report["sender"]["kind"] == "reply_handle"  # type: ignore[index]
        assert row.sender not in orjson.dumps(report).decode()
        assert not row.withheld or row.withheld not in orjson.dumps(report).decode()


def cek_with_a_photo(tracking_id: str, words: str) -> bytes:
    """A citizen's `CEK <id>` mail with `words` below it and a photo, as sent over SMTP."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Warga <warga@example.net>", RECIPIENT, "Foto"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(f"CEK {tracking_id}\n\n{words}")
    message.add_attachment((ATTACHMENT_FIXTURES / "phone.jpg").read_bytes(), maintype="image", subtype="jpeg",
                           filename="IMG_0001.jpg")
    return message.as_bytes().replace(b"\n", b"\r\n")


def test_a_cek_by_mail_with_a_photo_and_a_long_text_adds_it_cut_at_the_limit(  # type: ignore[no-untyped-def]
        make_server, redis: Redis) -> None:
    """The words after the ID are the addition's, of any length: cut at `intake.max_text_chars` as any report's text,
    or the case store, whose text field holds that many, refused the addition."""
    server = make_server()
    parent = server.deliver(citizen_mail(subject="ANONIM: pungli di kelurahan"))
    words = "\n".join(["Petugas kelurahan kembali meminta uang."] * 3000)
    result = server.deliver(cek_with_a_photo(parent.tracking_id or "", words))
    envelope = stored_envelope(redis, result.tracking_id or "")
    limit = server.settings.intake.max_text_chars
    assert envelope is not None and envelope["follow_up_of"] == parent.tracking_id
    assert envelope["text"] == cut_to_limit(words.strip(), limit)[0] and len(envelope["text"]) <= limit < len(words)


# -- a text cut at the limit is told in the acknowledgement ---------------------------------------------------------
@dataclass(frozen=True)
class CutReplyRow:
    id: str
    length: int  # the mail's text, in characters
    text_key: str  # the reply's text (config/replies.toml)
    cut: bool  # filed cut, and told so
    subject: str = "Pungli di kelurahan"
    follow_up: bool = False  # an answer to the acknowledgement of a short report first filed
    cek_photo: bool = False  # `CEK <that report's id>` and a photo: the words after the ID are its addition
    limit: int = 100_000  # `intake.max_text_chars`


CUT_REPLY_ROWS = [
    CutReplyRow("new report over the limit", 150_000, "email_ack", cut=True),
    # the QA's mail: 5.28 million characters cut to 100,000, the acknowledgement silent about it
    CutReplyRow("new report of 5.28M characters", 5_280_000, "email_ack", cut=True),
    # addressed by the report (`to_report`): the job carries the counts beside the Tracking ID, nothing else
    CutReplyRow("anonymous report over the limit", 150_000, "email_ack_anonymous", cut=True,
                subject="ANONIM: pungli di kelurahan"),
    CutReplyRow("new report under the limit", 99_000, "email_ack", cut=False),
    CutReplyRow("new report at the limit exactly", 100_000, "email_ack", cut=False),
    CutReplyRow("follow-up over the limit", 150_000, "email_follow_up", cut=True, follow_up=True),
    CutReplyRow("follow-up under the limit", 2_000, "email_follow_up", cut=False, follow_up=True),
    # the words after the ID, cut again as the addition's text: the count is theirs
    CutReplyRow("CEK <id> and a photo, its words over the limit", 150_000, "email_follow_up", cut=True,
                cek_photo=True),
    CutReplyRow("a lower limit set: the limit named is the setting", 5_000, "email_ack", cut=True, limit=2_000),
    # the mail over the limit by its "CEK <id>", the addition's words within it: filed whole, so not flagged cut (it
    # was, `text_truncated` naming a text that had no marker) and not told so
    CutReplyRow("CEK <id> and a photo, the mail over the limit, its words within it", 1_995, "email_follow_up",
                cut=False, cek_photo=True, limit=2_000),
]


def _grouped(number: int, language: str) -> str:
    return f"{number:,}".replace(",", "." if language == "id" else ",")


@pytest.mark.parametrize("row", CUT_REPLY_ROWS, ids=[row.id for row in CUT_REPLY_ROWS])
def test_a_mail_cut_at_the_limit_is_told_so_in_its_acknowledgement(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, row: CutReplyRow) -> None:
    """A mail whose text is over `intake.max_text_chars` is filed cut (`text_truncated`), and the rest is kept
    nowhere: its acknowledgement, and a follow-up's, says so after each language's text, Indonesian then English, with
    the text's length, how much of it the report kept, the limit, and how to send the rest (a reply, the tag kept).
    One under the limit is answered as before, without it."""
    server = make_server(LAPOR_INTAKE_MAX_TEXT_CHARS=str(row.limit))
    words = ("Petugas kelurahan kembali meminta uang untuk surat pindah.\n" * (row.length // 59 + 1))[
        :row.length - 1] + "."
    report = None
    if row.follow_up or row.cek_photo:
        first = server.deliver(citizen_mail(subject="Pungli di kelurahan"))
        report = first.tracking_id
        run_replies(server.settings, redis)
        [ack] = outbox(server.settings)
        ack_path = next(outbox_dir(server.settings).glob("*.eml"))
        ack_path.unlink()
    if row.follow_up:
        raw = reply_to(ack, subject=None, references=True, body=words)
    elif row.cek_photo:
        raw = cek_with_a_photo(report, words)
    else:
        raw = citizen_mail(subject=row.subject, body=words)
    result = server.deliver(raw)
    assert result.data_code == 250 and result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and envelope["text_truncated"] is row.cut
    assert envelope["follow_up_of"] == report
    tracking_id = report or result.tracking_id
    run_replies(server.settings, redis)
    [reply] = outbox(server.settings)
    assert str(reply["Subject"]).startswith(f"[LAPOR #{tracking_id}]")
    texts = load_replies()
    paragraphs = [texts[row.text_key][language].format(tracking_id=tracking_id) for language in ("id", "en")]
    if row.cut:
        kept = len(envelope["text"]) - len(cut_marker(row.length))
        assert envelope["text"].endswith(cut_marker(row.length)) and 0 < kept < row.limit
        told = [texts["email_text_truncated"][language].format(
            length=_grouped(row.length, language), kept=_grouped(kept, language),
            limit=_grouped(row.limit, language), tracking_id=tracking_id) for language in ("id", "en")]
        paragraphs = [paragraphs[0], told[0], paragraphs[1], told[1]]
    assert reply.get_content() == "\n\n".join(paragraphs) + "\n"
    content = reply.get_content()
    assert ("dari " + _grouped(row.length, "id") + " karakter" in content) is row.cut
    assert ("of its " + _grouped(row.length, "en") + " characters" in content) is row.cut

@dataclass(frozen=True)
class CekFloodRow:
    id: str
    reports: int  # mails filed from the address first, each answered
    queries: int  # CEK mails from it after them
    answered: int  # status answers that go out
    cap: int = 2


CEK_FLOOD_ROWS = [
    CekFloodRow("past-the-cap", reports=0, queries=5, answered=2),
    CekFloodRow("the-cap-used-up-by-acknowledgements", reports=2, queries=3, answered=0),
    CekFloodRow("within-the-cap", reports=0, queries=2, answered=2),
]


@pytest.mark.parametrize("row", CEK_FLOOD_ROWS, ids=[row.id for row in CEK_FLOOD_ROWS])
def test_a_flood_of_cek_mails_past_the_hourly_cap_costs_no_case_store_lookup(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch,
        row: CekFloodRow) -> None:
    """The status is looked up only for a reply that can go out: each CEK mail past the address's hourly cap cost a
    case-store lookup, and no answer was sent (one address could keep the case store busy at SMTP's rate)."""
    tracking_id, _ = filed_report(make_server, redis, casestore, status="verified")
    looked_up: list[str] = []
    real_lookup = email_reply_worker.report_status

    def counted(context, asked: str, *queue_name: str):  # type: ignore[no-untyped-def]
        looked_up.append(asked)
        return real_lookup(context, asked, *queue_name)

    monkeypatch.setattr(email_reply_worker, "report_status", counted)
    server = make_server(LAPOR_EMAIL_REPLY_CAP_PER_HOUR=str(row.cap))
    sender = "tetangga@example.org"
    for number in range(row.reports):
        server.deliver(citizen_mail(subject=f"Laporan {number}", body=f"Isi laporan {number}", sender=sender))
    run_replies(server.settings, redis)
    queries = [citizen_mail(subject=f"CEK {tracking_id}", body="", sender=sender) for _ in range(row.queries)]
    assert all(server.deliver(mail).tracking_id is None for mail in queries)
    run_replies(server.settings, redis)
    answers = [answer for mail in queries for answer in answer_to(outbox(server.settings), mail)]
    assert len(answers) == row.answered
    assert len(looked_up) == row.answered


def test_a_cek_mail_delivered_again_is_answered_once(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer) -> None:
    tracking_id, _ = filed_report(make_server, redis, casestore)
    server = make_server()
    mail = citizen_mail(subject=f"CEK {tracking_id}", body="", message_id="<cek-1@example.net>")
    again = b"Received: from relay2.example.net by mx.lapor.go.id\r\n" + mail
    assert [server.deliver(raw).data_code for raw in (mail, again)] == [250, 250]
    run_replies(server.settings, redis)
    assert server.deliver(again).data_code == 250  # once more, after the answer went out
    run_replies(server.settings, redis)
    [answer] = answer_to(outbox(server.settings), mail)
    assert answer.get_content() == status_body(tracking_id, "received", True)
    assert envelope_count(redis) == 1


# A subject of 148 KB, within the 2 MiB header limit: read whole, the standard library's parse of it took seconds (one
# of 2 MB took minutes, and the acknowledgement's job died at its timeout, so the citizen never got a Tracking ID).
LONG_SUBJECT = "Jalan rusak parah di depan pasar " * 4500


def test_a_long_subject_is_filed_answered_and_forwarded_cut_at_a_word(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over real SMTP, through the reply and forward workers: the report keeps the subject's first
    MAX_SUBJECT_CHARS characters, the reply's Subject its first MAX_REPLY_SUBJECT with the tag, each cut at a word and
    ending in "…", and no field reaches the standard library's parse longer than MAX_FIELD_PARSE."""
    parsed: list[int] = []
    for header, parser in ((UnstructuredHeader, get_unstructured), (MessageIDHeader, parse_message_id)):
        def spy(value: str, parser: Callable[[str], object] = parser) -> object:
            parsed.append(len(value))
            return parser(value)
        monkeypatch.setattr(header, "value_parser", staticmethod(spy))
    server = make_server()
    raw = (f"From: Warga <warga@example.net>\r\nTo: {RECIPIENT}\r\nSubject: {LONG_SUBJECT}\r\n"
           f"Message-ID: <long-subject@example.net>\r\n\r\nJalan di depan pasar rusak parah.\r\n").encode()
    result = server.deliver(raw)
    assert result.data_code == 250 and result.tracking_id is not None, result
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None
    subject = envelope["subject"]
    words = set(LONG_SUBJECT.split())
    assert len(subject) <= MAX_SUBJECT_CHARS and subject.endswith("…"), len(subject)
    assert LONG_SUBJECT.startswith(subject[:-1]) and subject[:-1].split()[-1] in words
    run_replies(server.settings, redis)
    [reply] = outbox(server.settings)
    replied = str(reply["Subject"])
    assert replied.startswith(f"[LAPOR #{result.tracking_id}] Jalan rusak parah di depan pasar Jalan")
    assert len(replied) <= MAX_REPLY_SUBJECT and replied.endswith("…") and replied[:-1].split()[-1] in words
    server.stop()  # its intake hands the report to the forward queue
    drain(server.settings, (FORWARD_QUEUE,))
    [report] = casestore.reports()
    assert report["subject"] == subject
    assert parsed and max(parsed) <= MAX_FIELD_PARSE, max(parsed)


def mail_of_size(size: int, line: bytes) -> bytes:
    """A citizen's mail of exactly `size` bytes, its body `line` over and over (a line opening with "." is sent with
    its dot doubled: RFC 5321 4.5.2)."""
    def mail(padding: int) -> bytes:
        return citizen_mail(body="Laporan" + "x" * padding, message_id="<sized@example.net>")

    lines = (size - len(mail(0))) // len(line)
    raw = mail(size - len(mail(0)) - lines * len(line)) + line * lines
    assert len(raw) == size
    return raw


@pytest.mark.parametrize(("line", "over", "code"), [
    pytest.param(b"xy\r\n", 0, 250, id="exactly-the-limit"),
    pytest.param(b"xy\r\n", 1, 552, id="one-byte-over"),
    pytest.param(b".y\r\n", 0, 250, id="lines-opening-with-a-dot-exactly-the-limit"),
    pytest.param(b".y\r\n", 1, 552, id="lines-opening-with-a-dot-one-byte-over"),
    pytest.param(b".\r\n", 0, 250, id="lone-dots-exactly-the-limit"),  # a third longer on the wire, the most
    pytest.param(b".\r\n", 1, 552, id="lone-dots-one-byte-over"),
])
def test_the_size_limit_counts_the_mail_not_its_doubled_dots(make_server, redis: Redis, line: bytes,  # type: ignore[no-untyped-def]
                                                              over: int, code: int) -> None:
    """aiosmtpd counted the bytes on the wire, the dot SMTP doubles at a line's start among them: a mail of exactly the
    limit whose lines open with "." was refused 552, while `SIZE=` of its size was taken (RFC 1870 counts the mail)."""
    limit = 8192
    server = make_server(LAPOR_EMAIL_MAX_MESSAGE_BYTES=str(limit))
    counted = rejected("too_large")
    result = server.deliver(mail_of_size(limit + over, line))
    assert result.data_code == code, result
    if code == 552:
        assert result.data_message == "5.3.4 " + refusal_text("smtp_too_large", limit=readable_size(limit))
        assert rejected("too_large") == counted + 1
        assert envelope_count(redis) == 0
    else:
        assert result.tracking_id is not None and envelope_count(redis) == 1


@dataclass(frozen=True)
class SameMailRow:
    id: str
    again: dict[str, Any]  # what the second mail changes of citizen_mail's arguments
    one_report: bool
    window_over: bool = False  # the first one's window ended before the second came
    first: dict[str, Any] = field(default_factory=dict)  # citizen_mail's arguments of both mails


SAME_MAIL_ROWS = [
    SameMailRow("same-from-subject-and-words", {}, True),
    SameMailRow("spaces-and-case-aside", {"subject": "jalan  RUSAK", "body": "Jalan di depan pasar  rusak parah.\n"},
                True),
    SameMailRow("another-subject", {"subject": "Jalan rusak lagi"}, False),
    SameMailRow("other-words", {"body": "Jalan di depan pasar rusak parah, sudah sebulan."}, False),
    SameMailRow("another-from", {"sender": "tetangga@example.net"}, False),
    # a form mailer's one From, each citizen's address the Reply-To: two citizens' same words are two reports
    SameMailRow("a-form-mailers-two-citizens", {"headers": {"Reply-To": "dua@example.org"}}, False,
                first={"sender": "formulir@pemda.example.go.id", "headers": {"Reply-To": "satu@example.org"}}),
    SameMailRow("a-form-mailers-same-citizen", {}, True,
                first={"sender": "formulir@pemda.example.go.id", "headers": {"Reply-To": "satu@example.org"}}),
    # ... or her name as the From's, no Reply-To: two citizens again
    SameMailRow("a-form-mailers-two-named-citizens", {"name": "Ani"}, False,
                first={"sender": "formulir@pemda.example.go.id", "name": "Budi"}),
    SameMailRow("a-form-mailers-same-named-citizen", {}, True,
                first={"sender": "formulir@pemda.example.go.id", "name": "Budi"}),
    SameMailRow("after-the-window", {}, False, window_over=True),
    # a whistleblower's repeat is told again that it is anonymous (or confidential), as by SMS
    SameMailRow("anonymous", {}, True, first={"subject": "ANONIM Pungli di kelurahan"}),
    SameMailRow("confidential", {}, True, first={"subject": "RAHASIA Pungli di kelurahan"}),
    SameMailRow("anonymous-and-confidential", {}, True, first={"subject": "ANONIM RAHASIA Pungli di kelurahan"}),
    # ANONIM added to a named report's words: a mail of its own
    SameMailRow("anonim-added", {"subject": "ANONIM Jalan rusak"}, False),
]


@pytest.mark.parametrize("row", SAME_MAIL_ROWS, ids=[row.id for row in SAME_MAIL_ROWS])
def test_the_same_mail_sent_again_under_a_new_message_id_is_one_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, row: SameMailRow) -> None:
    """As by SMS (`same_text_window_seconds`): the same mail (From address, subject, words) sent again seconds later
    under a Message-ID of its own made two reports. Within the window it is the first one's report, answered "we
    already have this report" with its Tracking ID (`[email_duplicate]`)."""
    server = make_server()
    first = server.deliver(citizen_mail(**row.first))
    if row.window_over:
        for key in redis.scan_iter("lapor:sametext:*"):
            redis.delete(key)
    repeat = citizen_mail(**{**row.first, **row.again})
    again = server.deliver(repeat)
    assert first.tracking_id is not None and again.tracking_id is not None
    assert (again.tracking_id == first.tracking_id) is row.one_report
    assert envelope_count(redis) == (1 if row.one_report else 2)
    run_replies(server.settings, redis)
    replies = outbox(server.settings)
    assert len(replies) == 2 and all(str(reply["Subject"]).startswith("[LAPOR #") for reply in replies)
    flags = "_".join(["", *(flag for flag, word in (("anonymous", "ANONIM"), ("confidential", "RAHASIA"))
                            if word in row.first.get("subject", ""))]).rstrip("_")
    # (an anonymous report's answers are threaded to its first mail, read from its copy: told apart by their text)
    expected = reply_body(f"duplicate{flags}", first.tracking_id) if row.one_report else reply_body(
        "ack_anonymous" if "ANONIM" in row.again.get("subject", "") else "ack", again.tracking_id)
    assert [reply.get_content() for reply in replies].count(expected) == 1


FILE_LOGO = (b"\x89PNG\r\n\x1a\n logo dinas", "image001.png")
FILE_PHOTO = (b"\xff\xd8\xff\xe0 foto jalan", "IMG_0001.jpg")
FILE_OTHER_PHOTO = (b"\xff\xd8\xff\xe0 foto jembatan", "IMG_0002.jpg")


def mail_with_files(files: list[tuple[bytes, str]]) -> bytes:
    message = BytesParser(policy=policy.default).parsebytes(citizen_mail())
    for data, name in files:
        maintype, subtype = ("image", "png") if name.endswith(".png") else ("image", "jpeg")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize(("first_files", "again_files", "one_report", "env"), [
    pytest.param([FILE_LOGO], [FILE_LOGO], True, {}, id="the-same-signature-logo"),
    pytest.param([FILE_PHOTO, FILE_LOGO], [FILE_LOGO, FILE_PHOTO], True, {}, id="the-same-files-in-another-order"),
    pytest.param([FILE_LOGO], [FILE_LOGO, FILE_PHOTO], False, {}, id="a-photo-added"),
    pytest.param([FILE_PHOTO], [FILE_OTHER_PHOTO], False, {}, id="another-photo"),
    pytest.param([], [FILE_PHOTO], False, {}, id="a-photo-after-words-alone"),
    pytest.param([FILE_PHOTO], [], False, {}, id="words-alone-after-a-photo"),
    # a file not kept is asked for again: the citizen sending the mail again is trying, and is told again
    pytest.param([FILE_PHOTO], [FILE_PHOTO], False, {"LAPOR_EMAIL_MAX_ATTACHMENT_BYTES": "8"}, id="a-file-not-kept"),
])
def test_the_same_mail_with_the_same_files_is_one_report(  # type: ignore[no-untyped-def]
        make_server, redis: Redis, first_files: list[tuple[bytes, str]], again_files: list[tuple[bytes, str]],
        one_report: bool, env: dict[str, str]) -> None:
    """A mail with any file was never a repeat: sent twice from Outlook, whose signature carries the office's logo,
    the same complaint made two cases. A mail's files are in hand, told apart by their bytes."""
    server = make_server(**env)
    first = server.deliver(mail_with_files(first_files))
    again = server.deliver(mail_with_files(again_files))
    assert first.tracking_id is not None and again.tracking_id is not None
    assert (again.tracking_id == first.tracking_id) is one_report
    assert envelope_count(redis) == (1 if one_report else 2)
