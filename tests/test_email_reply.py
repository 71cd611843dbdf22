"""The reply worker through a real SMTP relay on loopback (aiosmtpd), and attachments reaching the case store."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email._header_value_parser import get_unstructured
from email.headerregistry import UnstructuredHeader
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.timeouts import JobTimeoutException

from channels.email.parse import parse_mail
from channels.email.processor import reply_payload
from channels.email.reply import MAX_REPLY_SUBJECT, build_reply, outbox_dir, reply_body
from gateway.attachments import attachment_location
from gateway.intake import Receipt
from gateway.lease import process_table
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, JSONSerializer, enqueue_calls, enqueue_forward, queue
from gateway.settings import Settings
from normalizer.envelope import Channel, ReportDraft, Sender, SenderKind, utc_now
from tests.aggregator_support import drain
from tests.conftest import (
    CASESTORE_TOKEN,
    CaseStoreServer,
    ProcessHandle,
    TestEnvironment,
    free_port,
    log_events,
    wait_until,
)
from tests.email_support import RECIPIENT, SmtpServerThread, fixture, outbox, run_replies, stored_envelope
from tests.image_support import fixture as image_fixture
from tests.job_support import SecondJobInFirstSend
from tests.upgrade_support import previous_module
from workers import email_reply
from workers.casestore_client import CaseStoreClient
from workers.deadletters import DeadLetters
from workers.image_metadata import METADATA_NOT_REMOVED, strip_metadata
from workers.report_payload import NOT_UPLOADED
from workers.send_lease import SendInProgress, send_lease_key


def acknowledgement_subject(subject: str, settings: Settings) -> str:
    """The Subject of our acknowledgement of report 10000004, whose mail came with `subject`."""
    reply = build_reply({"tracking_id": "10000004", "to": "warga@example.net", "subject": subject, "kind": "ack"},
                        settings)
    return str(reply["Subject"])


# The reply kinds the reply worker of the release before this one (785442f, `tests.upgrade_support`) knew: the keys of
# its REPLY_TEXTS (channels/email/texts.py).
PREVIOUS_WORKERS_KINDS = frozenset({"ack", "ack_anonymous", "ack_confidential", "ack_anonymous_confidential",
                                    "duplicate", "follow_up", "follow_up_unknown", "follow_up_unknown_anonymous",
                                    "follow_up_other_sender", "bad_tracking_id_photo", "status_retry"})


def test_the_previous_workers_kinds_are_those_the_previous_release_knew() -> None:
    assert set(previous_module("channels/email/texts.py").REPLY_TEXTS) == PREVIOUS_WORKERS_KINDS


@pytest.mark.parametrize(("anonymous", "confidential", "unknown_parent", "mistyped", "text", "older"), [
    (False, True, None, None, "ack_confidential", "ack_confidential"),
    (True, True, None, None, "ack_anonymous_confidential", "ack_anonymous_confidential"),
    (True, False, "1000000001", None, "follow_up_unknown_anonymous", "follow_up_unknown_anonymous"),
    (False, True, "1000000001", None, "follow_up_unknown_confidential", "follow_up_unknown"),
    # the anonymity sentence kept where the previous release's worker cannot say it is confidential
    (True, True, "1000000001", None, "follow_up_unknown_anonymous_confidential", "follow_up_unknown_anonymous"),
    (True, True, None, "12345", "bad_tracking_id_photo_confidential", "bad_tracking_id_photo"),
    (True, False, None, "12345", "bad_tracking_id_photo", "bad_tracking_id_photo"),
    (True, False, None, None, "ack_anonymous", "ack_anonymous"),
], ids=["confidential", "anonymous-and-confidential", "unknown-id-anonymous", "unknown-id-confidential",
        "unknown-id-anonymous-and-confidential", "mistyped-id-confidential", "mistyped-id-as-before",
        "anonymous-as-before"])
def test_a_reply_job_of_a_newer_kind_names_one_an_older_worker_knows(
        settings: Settings, anonymous: bool, confidential: bool, unknown_parent: str | None, mistyped: str | None,
        text: str, older: str) -> None:
    """During a rolling upgrade (README: one host at a time) a newer SMTP server's job reaches an older reply worker:
    a kind it did not know was a KeyError, retried and dead-lettered, its citizen never answered. The job names the
    kind the previous release knows that says the most (`older`: an anonymous whistleblower's keeps the anonymity
    sentence), which that worker sends, and its own text under `text`, which this worker sends."""
    mail = parse_mail(b"From: Warga <warga@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Jalan rusak\r\n"
                      b"Message-ID: <m1@example.net>\r\n\r\nJalan rusak.\r\n")
    draft = ReportDraft(received_at=utc_now(), channel=Channel.EMAIL, channel_message_id="m1",
                        sender=Sender(kind=SenderKind.EMAIL, id="warga@example.net"), text="Jalan rusak.",
                        anonymous=anonymous, confidential=confidential)
    payload = reply_payload(mail, draft, Receipt(tracking_id="10000004", duplicate=False), "id",
                            unknown_parent=unknown_parent, mistyped=mistyped)
    assert payload["kind"] == older and payload["kind"] in PREVIOUS_WORKERS_KINDS
    body = build_reply({**payload, "tracking_id": "10000004", "to": "warga@example.net"}, settings).get_content()
    assert body == reply_body(text, "10000004", payload.get("follow_up_of"), mistyped)


def test_the_job_of_a_ceks_addition_names_the_follow_up_an_older_worker_knows(settings: Settings) -> None:
    """A CEK's words of news added to its report (`asks_status`) are answered with the addition and the status
    (`[email_follow_up_status]`, the status in each language); the job names `follow_up`, which an older worker
    answers with the addition alone, and its own text under `text`."""
    mail = parse_mail(b"From: Warga <warga@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: CEK 10000004\r\n"
                      b"Message-ID: <m1@example.net>\r\n\r\nCEK 10000004 jalan makin rusak\r\n")
    draft = ReportDraft(received_at=utc_now(), channel=Channel.EMAIL, channel_message_id="m1",
                        sender=Sender(kind=SenderKind.EMAIL, id="warga@example.net"), text="jalan makin rusak",
                        follow_up_of="10000004")
    payload = reply_payload(mail, draft, Receipt(tracking_id="10002007", duplicate=False), "id", asks_status=True)
    assert (payload["kind"], payload["text"], payload["tracking_id"]) == ("follow_up", "follow_up_status", "10000004")
    assert payload["kind"] in PREVIOUS_WORKERS_KINDS
    body = build_reply({**payload, "status": "in_progress"}, settings).get_content()
    assert body == reply_body("follow_up_status", "10000004", status="in_progress")
    assert "Status laporan 10000004 saat ini: sedang ditindaklanjuti" in body and "Report status: in progress." in body
    older = build_reply({**payload, "text": None}, settings).get_content()  # as the previous release reads the job
    assert older == reply_body("follow_up", "10000004")
    assert reply_payload(mail, draft, Receipt(tracking_id="10002007", duplicate=False), "id")["kind"] == "follow_up"


@pytest.mark.parametrize("odd", [pytest.param("\u00f6\u00e4@example.net", id="non-ascii"),
                                 pytest.param("a\x01b@example.net", id="control"),
                                 pytest.param("x" * 984 + "@example.net", id="longer-than-a-line-holds")])
def test_a_message_id_no_client_threads_by_is_left_out_of_our_threading_fields(settings: Settings, odd: str) -> None:
    """Written, it was an encoded-word (`=?utf-8?b?...?=`), which names no mail; the other ids are kept."""
    reply = build_reply({"tracking_id": "10000004", "to": "warga@example.net", "subject": "Jalan rusak", "kind": "ack",
                         "in_reply_to": odd, "references": ["a1@example.net", odd]}, settings)
    raw = bytes(reply)
    assert b"=?" not in raw.split(b"\n\n", 1)[0] and reply["In-Reply-To"] is None
    assert max(len(line) for line in raw.splitlines()) <= 998
    assert str(reply["References"]) == "<a1@example.net>"


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param("Jalan rusak", "Jalan rusak", id="no-prefix"),
    pytest.param("Re: Re: Jalan rusak", "Jalan rusak", id="re-stacked"),
    pytest.param("Re[2]: Jalan rusak", "Jalan rusak", id="re-counter-brackets"),
    pytest.param("RE(3): Jalan rusak", "Jalan rusak", id="re-counter-parentheses"),
    pytest.param("RE: WG: AW: Jalan rusak", "Jalan rusak", id="german-outlook"),
    pytest.param("SV: VS: Jalan rusak", "Jalan rusak", id="nordic"),
    pytest.param("SV: VB: Jalan rusak", "Jalan rusak", id="swedish"),
    pytest.param("VS: VL: Jalan rusak", "Jalan rusak", id="finnish"),
    pytest.param("Antw: Doorst: Jalan rusak", "Jalan rusak", id="dutch"),
    pytest.param("R: I: RIF: Jalan rusak", "Jalan rusak", id="italian"),
    pytest.param("Odp: PD: Jalan rusak", "Jalan rusak", id="polish"),
    pytest.param("YNT: \u0130LT: FS: Jalan rusak", "Jalan rusak", id="turkish-icelandic"),
    pytest.param("Fwd: FW: Jalan rusak", "Jalan rusak", id="forwards"),
    pytest.param("Balas: Bls: Trs: Jalan rusak", "Jalan rusak", id="indonesian-outlook"),
    pytest.param("Re: [LAPOR #10000004] Re[2]: AW: Jalan rusak", "Jalan rusak", id="around-our-tag"),
    pytest.param("RE: Fwd: [LAPOR #10000004] [LAPOR #10000004] Jalan rusak", "Jalan rusak", id="tag-twice"),
    pytest.param("Re\uff1a Jalan rusak", "Jalan rusak", id="fullwidth-colon"),
    pytest.param("RV\ufe55 ENC: Jalan rusak", "Jalan rusak", id="small-colon"),
    # our tag amid the words, as an out-of-office's "Automatic reply:" or a citizen's own writing puts it
    pytest.param("Tambahan [LAPOR #10000004] foto jalan", "Tambahan foto jalan", id="our-tag-between-words"),
    # a subject's own words stay
    pytest.param("Retribusi pasar: pungli", "Retribusi pasar: pungli", id="a-word-starting-re"),
    pytest.param("Irigasi: saluran jebol", "Irigasi: saluran jebol", id="a-word-starting-i"),
    pytest.param("RT 03: jalan rusak", "RT 03: jalan rusak", id="a-word-starting-r"),
    pytest.param("Trotoar rusak: Re: lama", "Trotoar rusak: Re: lama", id="a-prefix-inside"),
])
def test_our_acknowledgements_subject_carries_no_stacked_prefix(subject: str, expected: str,
                                                              settings: Settings) -> None:
    """`[LAPOR #<id>] <subject>`, whatever reply and forward prefixes the citizen's clients stacked before, between
    and after our tag."""
    assert acknowledgement_subject(subject, settings) == f"[LAPOR #10000004] {expected}"


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param("Jalan\x00rusak", "Jalan rusak", id="nul"),
    pytest.param("Jalan rusak\x1b[2J\x07", "Jalan rusak [2J", id="escape-and-bell"),
    pytest.param("Jalan\x7frusak\x9b", "Jalan rusak", id="del-and-c1"),
    pytest.param("Jalan\u2028rusak\u2029parah", "Jalan rusak parah", id="line-and-paragraph-separators"),
    pytest.param("Faktur \u202egpj.exe", "Faktur gpj.exe", id="right-to-left-override"),
    pytest.param("\u202a\u202b\u202c\u202dJalan\u2066 \u2067rusak\u2068\u2069", "Jalan rusak", id="bidi-controls"),
    pytest.param("Re: \x00[LAPOR #\u202e10000004] Jalan rusak", "Jalan rusak", id="controls-around-our-tag"),
    # what a citizen writes stays as written
    *(pytest.param(kept, kept, id=label) for label, kept in [
        ("indonesian", "Pungli di Kelurahan Kebon Jeruk, \u00bd juta"),
        ("emoji", "Banjir lagi \U0001f62d\U0001f64f\U0001f3fd \U0001f1ee\U0001f1e9 \u2764\ufe0f"),
        ("emoji-zwj-sequence", "Keluarga \U0001f468\u200d\U0001f469\u200d\U0001f467 terlantar"),
        ("javanese-arabic-cjk", "\ua997\ua9ad\ua9a4\ua9c0 \u0645\u0633\u062c\u062f \u8a50\u6b3a"),
    ]),
])
def test_our_acknowledgements_subject_carries_no_control_character(subject: str, expected: str,
                                                                   settings: Settings) -> None:
    """A control character (C0, C1, the line separators) or a bidi override in a citizen's subject went into our
    reply's Subject as it was: a NUL, an escape sequence, text a mail client showed reordered."""
    assert acknowledgement_subject(subject, settings) == f"[LAPOR #10000004] {expected}"


def test_a_control_character_in_a_mailed_subject_stays_out_of_the_reply(test_env: TestEnvironment,
                                                                       redis: Redis) -> None:
    """An encoded-word (RFC 2047) carries any character into the subject a mail is read with: a NUL and a
    right-to-left override sent over SMTP reached the Subject of the reply in the outbox."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    message = EmailMessage()
    message["From"], message["To"] = "warga@example.net", RECIPIENT
    message["Subject"] = "=?utf-8?b?" + base64.b64encode("Jalan\x00rusak \u202eparah".encode()).decode() + "?="
    message.set_content("Jalan di depan pasar rusak parah.")
    server = SmtpServerThread(settings, redis).start()
    try:
        assert server.deliver(message.as_bytes().replace(b"\n", b"\r\n")).data_code == 250
    finally:
        server.stop()
    run_replies(settings, redis)
    [reply] = outbox(settings)
    assert str(reply["Subject"]).endswith("] Jalan rusak parah")
    [path] = outbox_dir(settings).glob("*.eml")
    head = path.read_bytes().split(b"\n\n", 1)[0]
    assert b"\x00" not in head and "\u202e".encode() not in head


@dataclass
class RelayHandler:
    """A relay that records what it is given, or refuses with `answer`."""

    answer: str = "250 OK"
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    quit_answer: str = "221 Bye"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return self.quit_answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answer.startswith("250"):
            message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return self.answer


@pytest.fixture(params=[True], ids=["smtputf8"])
def relay(request: pytest.FixtureRequest) -> Iterator[tuple[RelayHandler, int]]:
    """aiosmtpd's Controller offers SMTPUTF8 unless told not to (request.param); most relays do not offer it."""
    handler = RelayHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=request.param)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def relay_server(test_env: TestEnvironment, redis: Redis,
                 relay: tuple[RelayHandler, int]) -> Iterator[SmtpServerThread]:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                                 LAPOR_EMAIL_RELAY_PORT=str(relay[1]), LAPOR_EMAIL_RELAY_STARTTLS="false")
    server = SmtpServerThread(settings, redis).start()
    yield server
    server.stop()



def run_and_retry(replies: Any, settings: Settings, redis: Redis, *, times: int) -> None:
    """Run the reply job `times` times, each failed try put back on its queue as the scheduler does once its time
    has come (the job must have been retried each time)."""
    for _ in range(times):
        run_replies(settings, redis)
        [job_id] = replies.scheduled_job_registry.get_job_ids()
        replies.scheduled_job_registry.remove(job_id)
        replies.enqueue_job(replies.fetch_job(job_id))

def test_the_acknowledgement_goes_through_the_relay(relay_server: SmtpServerThread, relay: tuple[RelayHandler, int],
                                                    redis: Redis) -> None:
    handler, _ = relay
    result = relay_server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    run_replies(relay_server.settings, redis)
    assert outbox(relay_server.settings) == []
    [(mail_from, rcpts, message)] = handler.received
    assert mail_from == "pengaduan@lapor.go.id"
    assert rcpts == ["budi.santoso1987@gmail.com"]
    assert message["Subject"] == f"[LAPOR #{result.tracking_id}] Jalan berlubang di Jl. Merdeka"
    assert str(message["In-Reply-To"]).strip() == "<CAHx7kPq8Jd3nE1vYw2=mT0xQ9cZL5fQ@mail.gmail.com>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert str(message["From"]) == "LAPOR! <pengaduan@lapor.go.id>"
    body = message.get_content()
    assert "LAPOR! telah menerima laporan Anda" in body and "English: LAPOR! received your report" in body
    # A retried job (or a re-sent mail) does not answer twice.
    relay_server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    run_replies(relay_server.settings, redis)
    assert len(handler.received) == 1


@pytest.mark.parametrize(("answer", "dead_lettered"), [("550 5.1.1 No such user", True), ("451 4.3.0 Busy", False)],
                         ids=["permanent-550", "temporary-451"])
def test_relay_refusals(relay_server: SmtpServerThread, relay: tuple[RelayHandler, int], redis: Redis, answer: str,
                        dead_lettered: bool) -> None:
    relay[0].answer = answer
    result = relay_server.deliver(fixture("yahoo_alternative"), mail_from="wahyu_nugroho@yahoo.co.id")
    run_replies(relay_server.settings, redis)
    letters = DeadLetters(redis).list()
    if dead_lettered:
        assert [(letter.queue, letter.tracking_id, letter.reason) for letter in letters] == [
            (REPLY_QUEUE, result.tracking_id, "relay_550")]
    else:
        assert letters == []
        # Scheduled for a retry with backoff (the scheduler runs in real workers).
        assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 1


def run_replies_and_their_retry(settings: Settings, redis: Redis) -> Queue:
    """Work the reply queue, then the retries its jobs scheduled at once, as RQ's scheduler would run them later."""
    replies = queue(REPLY_QUEUE, redis)
    run_replies(settings, redis)
    for job_id in replies.scheduled_job_registry.get_job_ids():
        replies.scheduled_job_registry.remove(job_id)
        replies.enqueue_job(replies.fetch_job(job_id))
    run_replies(settings, redis)
    return replies


@pytest.mark.parametrize("quit_answer", ["421 4.3.2 Service shutting down", "500 5.5.1 Unrecognized command"],
                         ids=["quit-421", "quit-500"])
def test_a_reply_the_relay_accepted_is_not_sent_again_for_its_answer_to_quit(
    relay_server: SmtpServerThread, relay: tuple[RelayHandler, int], redis: Redis, quit_answer: str
) -> None:
    """Once the relay said 250 to the mail's data it has the reply: an answer other than 221 to the QUIT after it
    (a relay shutting down) is no failure of the send. Taken for one, the reply was retried and the citizen got it
    twice (a 4xx), or it was dead-lettered though sent (a 5xx)."""
    handler, _ = relay
    handler.quit_answer = quit_answer
    relay_server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    replies = run_replies_and_their_retry(relay_server.settings, redis)
    assert [rcpts for _, rcpts, _ in handler.received] == [["budi.santoso1987@gmail.com"]]
    assert DeadLetters(redis).count() == 0 and replies.count == 0


@pytest.mark.parametrize("failures", [1, 4], ids=["a-blip", "a-restart-of-seconds"])
def test_a_reply_the_relay_accepted_while_redis_fails_to_record_it_is_not_mailed_again(
    relay_server: SmtpServerThread, relay: tuple[RelayHandler, int], redis: Redis, monkeypatch: pytest.MonkeyPatch,
    failures: int
) -> None:
    """The relay said 250, then Redis failed the write that marks the mail answered (a restart, a failover: redis-py's
    own one retry spent): RQ retried the job, and the retry mailed the reply again. The mark is tried again while
    Redis comes back, and the citizen gets one reply."""
    handler, _ = relay
    relay_server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    left, set_key = [failures], Redis.set

    def failing_set(client: Redis, name: Any, *args: Any, **kwargs: Any) -> Any:
        if left[0] and str(name).startswith("lapor:email:replied:"):
            left[0] -= 1
            raise RedisConnectionError("Connection refused")
        return set_key(client, name, *args, **kwargs)

    monkeypatch.setattr(Redis, "set", failing_set)
    replies = run_replies_and_their_retry(relay_server.settings, redis)
    assert [rcpts for _, rcpts, _ in handler.received] == [["budi.santoso1987@gmail.com"]]
    assert DeadLetters(redis).count() == 0 and replies.count == 0 and left == [0]


@pytest.mark.parametrize("failure", ["451 4.3.0 Busy", "unreachable"], ids=["relay-busy", "relay-unreachable"])
def test_retries_through_a_relay_outage_do_not_use_up_the_hourly_cap(
    test_env: TestEnvironment, redis: Redis, relay: tuple[RelayHandler, int], failure: str
) -> None:
    """Only replies that went out count against an address's cap: a reply retried more times than the cap while
    the relay refuses or cannot be reached still goes out once the relay is back, instead of being dropped as
    capped with nothing waiting in the queues and no dead letter for an operator to see."""
    handler, port = relay
    relayed = {"LAPOR_SMTP_PORT": str(free_port()), "LAPOR_EMAIL_RELAY_HOST": "127.0.0.1",
               "LAPOR_EMAIL_RELAY_STARTTLS": "false", "LAPOR_EMAIL_REPLY_CAP_PER_HOUR": "2"}
    settings = test_env.settings(LAPOR_EMAIL_RELAY_PORT=str(port), **relayed)
    failing = settings if failure != "unreachable" else test_env.settings(
        LAPOR_EMAIL_RELAY_PORT=str(free_port()), **relayed)  # nothing listens there
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    handler.answer = failure
    replies = queue(REPLY_QUEUE, redis)
    run_and_retry(replies, failing, redis, times=4)  # twice the cap
    handler.answer = "250 OK"
    run_replies(settings, redis)
    assert [rcpts for _, rcpts, _ in handler.received] == [["budi.santoso1987@gmail.com"]]
    assert DeadLetters(redis).count() == 0 and replies.count == 0


@pytest.mark.parametrize("failure", ["outbox-unwritable", "job-timeout"])
def test_retries_after_a_failed_outbox_write_do_not_use_up_the_hourly_cap(
    test_env: TestEnvironment, redis: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """An attempt that wrote nothing to the outbox sent nothing: retried, it must not count against the cap, whether
    the outbox could not be written (`outbox_unwritable`, a path that is no directory) or the attempt ended by an
    exception the job does not classify (RQ's job timeout). Counted, the retry after the cap's worth dropped the reply
    as capped, the job done, with no dead letter."""
    blocker = tmp_path / "not-a-directory"
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_REPLY_CAP_PER_HOUR="2",
                                 LAPOR_EMAIL_OUTBOX_DIR=str(blocker / "outbox"))
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    if failure == "outbox-unwritable":
        blocker.write_bytes(b"")
    else:
        real_write, failures = email_reply.write_to_outbox, [4]

        def timing_out(*args: Any, **kwargs: Any) -> Any:
            if failures[0]:
                failures[0] -= 1
                raise JobTimeoutException("Task exceeded maximum timeout value (180 seconds)")
            return real_write(*args, **kwargs)

        monkeypatch.setattr(email_reply, "write_to_outbox", timing_out)
    replies = queue(REPLY_QUEUE, redis)
    run_and_retry(replies, settings, redis, times=4)  # twice the cap
    blocker.unlink(missing_ok=True)
    run_replies(settings, redis)
    assert [str(reply["To"]) for reply in outbox(settings)] == ["budi.santoso1987@gmail.com"]
    assert DeadLetters(redis).count() == 0 and replies.count == 0


def outbox_a_file(outbox: Path) -> None:
    """The outbox's own name taken by a regular file."""
    outbox.write_bytes(b"")


def outbox_under_a_file(outbox: Path) -> None:
    """The directory above the outbox a regular file: the outbox cannot be made."""
    outbox.parent.rename(outbox.parent.with_name("moved"))
    outbox.parent.write_bytes(b"")


def outbox_read_only(outbox: Path) -> None:
    """The outbox there, but not writable by the gateway's user. Root (with CAP_DAC_OVERRIDE) writes it anyway: the
    rows above are its cases."""
    outbox.mkdir()
    outbox.chmod(0o500)
    probe = outbox / "probe"
    try:
        probe.write_bytes(b"")
    except PermissionError:
        return
    probe.unlink()
    pytest.skip("this user writes into a directory of mode 0500 (root)")


@pytest.mark.parametrize(("unwritable", "detail"), [
    pytest.param(outbox_a_file, "FileExistsError (EEXIST)", id="outbox-is-a-file"),
    pytest.param(outbox_under_a_file, "NotADirectoryError (ENOTDIR)", id="parent-is-a-file"),
    pytest.param(outbox_read_only, "PermissionError (EACCES)", id="outbox-mode-0500"),
])
def test_a_reply_the_outbox_cannot_take_is_retried_then_dead_lettered(
    test_env: TestEnvironment, redis: Redis, tmp_path: Path, log_stream: io.StringIO,
    unwritable: Callable[[Path], None], detail: str,
) -> None:
    """An outbox that cannot be written fails the reply as an unreachable relay does: retried with an
    `email.reply_retry` line, then dead-lettered as `outbox_unwritable` and counted as a failed reply. The OSError
    went out raw, RQ's traceback for each try, and the channel showed "replies 0/0 failed" meanwhile. No line, no
    dead letter and no stored traceback names the outbox's path (a home directory, the Tracking ID in its name)."""
    private = tmp_path / "budi-santoso-home"
    outbox_path = private / "lapor" / "outbox"
    outbox_path.parent.mkdir(parents=True)
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_OUTBOX_DIR=str(outbox_path),
                                 LAPOR_QUEUES_RETRY_INTERVALS="1")
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    unwritable(outbox_path)
    failed = REGISTRY.get_sample_value("lapor_replies_total", {"channel": "email", "outcome": "failed"}) or 0.0
    replies = queue(REPLY_QUEUE, redis)
    run_and_retry(replies, settings, redis, times=1)  # the one retry of LAPOR_QUEUES_RETRY_INTERVALS=1
    [job] = replies.get_jobs()
    assert job.meta["last_error"] == "outbox_unwritable"
    run_replies(settings, redis)  # the last try
    events = log_events(log_stream)
    assert [(event["event"], event["reason"]) for event in events if event["event"].startswith("email.reply_")] == [
        ("email.reply_retry", "outbox_unwritable"), ("email.reply_failed", "outbox_unwritable")]
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.tracking_id, letter.reason) == (REPLY_QUEUE, result.tracking_id, "outbox_unwritable")
    assert letter.detail == f"outbox unwritable: {detail}"
    assert REGISTRY.get_sample_value("lapor_replies_total", {"channel": "email", "outcome": "failed"}) == failed + 1
    signals = redis.hgetall("lapor:health:signals:email")
    assert (signals[b"reply_failures"], signals[b"last_reply_error"]) == (b"1", b"outbox_unwritable")
    stored = b" ".join(value for key in redis.keys("rq:*") if redis.type(key) == b"hash"
                       for value in redis.hvals(key))
    for text in (log_stream.getvalue(), letter.detail, stored.decode(errors="replace")):
        assert private.name not in text
    assert replies.count == 0 and replies.scheduled_job_registry.count == 0


def test_retries_of_a_reply_that_could_not_be_built_do_not_use_up_the_hourly_cap(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply was counted against the cap before it was built: a build that failed (a bug, a template gone) sent
    nothing, and its retries used up the address's hour, the reply then dropped as capped."""
    from workers import email_reply

    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_REPLY_CAP_PER_HOUR="2")
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    real_build, failures = email_reply.build_reply, [4]

    def failing_build(*args: Any, **kwargs: Any) -> Any:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("template gone")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(email_reply, "build_reply", failing_build)
    replies = queue(REPLY_QUEUE, redis)
    run_and_retry(replies, settings, redis, times=4)  # twice the cap
    run_replies(settings, redis)
    assert [str(reply["To"]) for reply in outbox(settings)] == ["budi.santoso1987@gmail.com"]
    assert DeadLetters(redis).count() == 0 and replies.count == 0

def test_a_send_that_outlived_its_cap_window_leaves_no_counter_without_expiry(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count taken back after a failed send is taken only from a window still there: the window lost during
    the send (Redis restarted without its data) was made anew by the DECR at -1, a key that never expired."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()

    def lost_then_failed(*_: Any) -> None:
        redis.delete(*redis.keys("lapor:email:replycap:*"))  # the restart: the window counted before is gone
        raise email_reply.RetryableError("relay unreachable", reason="relay_unreachable")

    monkeypatch.setattr(email_reply, "write_to_outbox", lost_then_failed)
    run_replies(settings, redis)
    assert redis.keys("lapor:email:replycap:*") == []


def test_a_refused_reply_requeued_by_an_operator_is_not_dropped_as_capped(
    test_env: TestEnvironment, redis: Redis, relay: tuple[RelayHandler, int]
) -> None:
    """A reply the relay refused for good (550) did not go out: requeued once the cause is fixed, it goes, even
    where the cap is one reply an hour. Counted, the refusal used up the hour and the requeue dropped the reply as
    capped, the dead letter gone."""
    handler, port = relay
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                                 LAPOR_EMAIL_RELAY_PORT=str(port), LAPOR_EMAIL_RELAY_STARTTLS="false",
                                 LAPOR_EMAIL_REPLY_CAP_PER_HOUR="1")
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    handler.answer = "550 5.7.1 Relaying denied"
    run_replies(settings, redis)
    letters = DeadLetters(redis).list()
    assert [letter.reason for letter in letters] == ["relay_550"]
    handler.answer = "250 OK"
    assert DeadLetters(redis).requeue(letters, settings).requeued == 1
    run_replies(settings, redis)
    assert [rcpts for _, rcpts, _ in handler.received] == [["budi.santoso1987@gmail.com"]]


@pytest.mark.parametrize(
    ("sender", "relayed_to", "dead_letter"),
    [("warga@bücher.example", "warga@xn--bcher-kva.example", None),
     # IDNA 2008: Python's IDNA 2003 codec would write strasse.de, a different domain.
     ("warga@straße.de", "warga@xn--strae-oqa.de", None),
     ("josé@bücher.example", None, "relay_no_smtputf8")],
    ids=["idn-domain-as-punycode", "idn-2008-sharp-s", "utf8-local-part-permanent"],
)
@pytest.mark.parametrize("relay", [False], ids=["no-smtputf8"], indirect=True)
def test_replies_to_internationalized_addresses_through_a_relay_without_smtputf8(
    relay_server: SmtpServerThread, relay: tuple[RelayHandler, int], redis: Redis, sender: str,
    relayed_to: str | None, dead_letter: str | None,
) -> None:
    """The citizen wrote with SMTPUTF8; most relays do not offer it. An IDN domain has an ASCII form; a UTF-8 local
    part has none, and retrying it for hours as "relay_unreachable" only hides a permanent failure."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, RECIPIENT, "Jalan rusak"
    message.set_content("Jalan di depan pasar rusak parah.")
    with relay_server.client() as client:
        assert client.mail(sender, options=["SMTPUTF8"])[0] == 250
        assert client.rcpt(RECIPIENT)[0] == 250
        code, answer = client.data(message.as_bytes(policy=policy.SMTPUTF8).replace(b"\n", b"\r\n"))
    assert code == 250
    tracking_id = answer.decode().rsplit("#", 1)[1]
    run_replies(relay_server.settings, redis)
    assert [rcpts for _, rcpts, _ in relay[0].received] == ([[relayed_to]] if relayed_to else [])
    if relayed_to:
        assert str(relay[0].received[0][2]["To"]) == relayed_to
    assert [(letter.tracking_id, letter.reason) for letter in DeadLetters(redis).list()] == (
        [(tracking_id, dead_letter)] if dead_letter else [])
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 0


def test_attachments_reach_the_case_store_before_their_report(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, worker: ProcessHandle
) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(fixture("outlook_pdf_attachment"), mail_from="yusuf.h@outlook.com")
    finally:
        server.stop()
    report = wait_until(lambda: casestore.get(result.tracking_id or ""), timeout=15)
    [attachment] = report["attachments"]  # type: ignore[index]
    stored = casestore.store.get_attachment(attachment["sha256"])
    assert stored is not None
    assert stored[0] == "application/pdf"
    assert hashlib.sha256(stored[1]).hexdigest() == attachment["sha256"]
    assert attachment["name"] == "tagihan-pdam.pdf" and attachment["size"] == len(stored[1])
    # The worker answered too: the reply is in the outbox.
    wait_until(lambda: outbox(settings), timeout=10)


def test_attachments_over_the_limit_are_listed_but_not_stored(test_env: TestEnvironment, redis: Redis) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_MAX_ATTACHMENT_BYTES="60")
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(fixture("nested_multipart"), mail_from="fitri.handayani@gmail.com")
    finally:
        server.stop()
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None
    by_name = {a["name"]: a for a in envelope["attachments"]}
    assert "not_stored" not in by_name["daftar-penerima.docx"]["flags"]  # 57 bytes
    assert {"too_large", "not_stored"} <= set(by_name["logo.png"]["flags"])  # 70 bytes
    assert by_name["logo.png"]["location"] == "" and by_name["logo.png"]["size"] == 70


# -- a stored file the worker cannot read or the case store refuses: logged, and the report goes ---------------------
def mail_with_file(content_type: str, filename: str, data: bytes, subject: str = "Jalan rusak") -> bytes:
    message = EmailMessage()
    message["From"] = "Warga <warga@example.net>"
    message["To"] = RECIPIENT
    message["Subject"] = subject
    message["Message-ID"] = f"<{secrets.token_hex(8)}@example.net>"
    message.set_content("Foto terlampir.")
    maintype, subtype = content_type.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=policy.SMTP)


def mailed_report(settings: Settings, redis: Redis, raw: bytes) -> tuple[str, dict[str, Any]]:
    """A mail taken by the gateway's SMTP server: its Tracking ID and its one stored attachment."""
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(raw, mail_from="warga@example.net")
    finally:
        server.stop()
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None
    [attachment] = envelope["attachments"]
    assert attachment["sha256"] and attachment["location"]
    return envelope["tracking_id"], attachment


def file_gone(path: Path) -> None:
    path.unlink()


def bytes_changed(path: Path) -> None:
    """The case store checks the bytes against the sha256 in the path: 422."""
    path.write_bytes(b"%PDF-1.4 not what was mailed")


@pytest.mark.parametrize(("spoil", "uploads", "flags"), [
    pytest.param(None, 1, [], id="uploaded once for both reports"),
    pytest.param(bytes_changed, 1, [NOT_UPLOADED], id="refused once, flagged in both reports"),
])
def test_a_file_in_two_reports_of_a_batch_is_read_and_uploaded_once(
        spoil: Callable[[Path], None] | None, uploads: int, flags: list[str], test_env: TestEnvironment,
        redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A follow-up with the same photo, a mail sent twice: the same sha256 in two reports of one forward job."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    photo = b"\x89PNG\r\n\x1a\n same photo"
    first, attachment = mailed_report(settings, redis, mail_with_file("image/png", "a.png", photo, "Jalan rusak"))
    second, _ = mailed_report(settings, redis, mail_with_file("image/png", "a.png", photo, "Jalan rusak lagi"))
    if spoil is not None:
        spoil(settings.data_dir / attachment["location"])
    forward = queue(FORWARD_QUEUE, redis)
    wait_until(lambda: sorted(tid for job in forward.get_jobs() for tid in job.args[0]) == sorted([first, second]))
    forward.empty()
    enqueue_forward(redis, settings, [first, second])  # one job for both
    put = CaseStoreClient.put_attachment
    sent: list[str] = []

    def counted(self: CaseStoreClient, sha256: str, content_type: str, content: bytes) -> None:
        sent.append(sha256)
        put(self, sha256, content_type, content)

    monkeypatch.setattr(CaseStoreClient, "put_attachment", counted)
    drain(settings, (FORWARD_QUEUE,))
    assert sent == [attachment["sha256"]] * uploads
    for tracking_id in (first, second):
        report = casestore.get(tracking_id)
        assert report is not None and report["attachments"][0]["flags"] == flags


@pytest.mark.parametrize(("spoil", "error", "reason"), [
    pytest.param(file_gone, "FileNotFoundError", "unreadable", id="the stored file is gone"),
    pytest.param(bytes_changed, "PermanentError", "casestore_422", id="the case store refuses the upload"),
])
def test_a_file_that_does_not_reach_the_case_store_is_logged_and_its_report_goes(
        spoil: Callable[[Path], None], error: str, reason: str, test_env: TestEnvironment, redis: Redis,
        casestore: CaseStoreServer, log_stream: io.StringIO) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    tracking_id, attachment = mailed_report(settings, redis, mail_with_file("application/pdf", "kuitansi.pdf",
                                                                            b"%PDF-1.4 kuitansi"))
    spoil(settings.data_dir / attachment["location"])
    drain(settings, (FORWARD_QUEUE,))
    report = casestore.get(tracking_id)
    assert report is not None
    assert report["attachments"] == [{**attachment, "flags": [NOT_UPLOADED]}]  # no bytes for its sha256, and why
    assert casestore.store.get_attachment(attachment["sha256"]) is None
    assert stored_envelope(redis, tracking_id)["attachments"] == [attachment]  # type: ignore[index]
    failed = [event for event in log_events(log_stream) if event["event"] == "forward.attachment_failed"]
    assert [(event["tracking_id"], event["attachment"], event["error"], event["reason"]) for event in failed] == [
        (tracking_id, 0, error, reason)]
    assert "kuitansi" not in log_stream.getvalue()


def test_an_anonymous_photo_whose_copy_cannot_be_kept_is_withheld_and_its_report_goes(
        test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO) -> None:
    """The data dir cannot take the copy without metadata (where its folder would be is a file): the photo as sent
    never goes instead."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    photo = image_fixture("phone.jpg")
    copy_sha256 = hashlib.sha256(strip_metadata(photo)).hexdigest()
    tracking_id, attachment = mailed_report(settings, redis, mail_with_file("image/jpeg", "IMG_20251120.jpg", photo,
                                                                            subject="ANONIM: pungli di kelurahan"))
    assert copy_sha256[:2] != attachment["sha256"][:2]  # the original's folder stays usable
    (settings.data_dir / attachment_location(copy_sha256)).parent.write_bytes(b"")
    drain(settings, (FORWARD_QUEUE,))
    report = casestore.get(tracking_id)
    assert report is not None and report["anonymous"] is True
    [sent] = report["attachments"]  # type: ignore[index]
    assert (sent["location"], sent["sha256"], sent["size"]) == ("", None, None)
    assert sent["flags"] == [METADATA_NOT_REMOVED]
    assert casestore.store.get_attachment(attachment["sha256"]) is None
    assert casestore.store.get_attachment(copy_sha256) is None
    events = log_events(log_stream)
    withheld = [event for event in events if event["event"] == "attachment.metadata_not_removed"]
    assert [(event["tracking_id"], event["reason"], event["format"]) for event in withheld] == [
        (tracking_id, "not_stored", "jpeg")]
    assert [event for event in events if event["event"] == "forward.attachment_failed"] == []


@pytest.mark.parametrize(
    ("body", "path_hash", "status"),
    [(b"%PDF-1.4 bukti", None, 201), (b"%PDF-1.4 bukti", "again", 200), (b"lain", "mismatch", 422),
     (b"x", "not-a-hash", 422)],
    ids=["created", "idempotent", "hash-mismatch", "bad-hash"],
)
def test_case_store_attachment_upload(casestore: CaseStoreServer, body: bytes, path_hash: str | None,
                                      status: int) -> None:
    digest = hashlib.sha256(b"%PDF-1.4 bukti").hexdigest()
    headers = {"Authorization": f"Bearer {CASESTORE_TOKEN}", "Content-Type": "application/pdf"}
    url = f"{casestore.url}/v1/attachments/{digest if path_hash != 'not-a-hash' else 'abc'}"
    if path_hash == "again":
        assert httpx.put(url, content=body, headers=headers).status_code == 201
    response = httpx.put(url, content=body, headers=headers)
    assert response.status_code == status, response.text
    if status in (200, 201):
        fetched = httpx.get(url, headers=headers)
        assert fetched.content == body and fetched.headers["Content-Type"] == "application/pdf"
    assert httpx.put(url, content=body).status_code == 401


def test_replies_go_to_the_outbox_as_eml_without_a_relay(test_env: TestEnvironment, redis: Redis) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    assert settings.email.relay_host == ""
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("iso2022jp_japanese"), mail_from="t.yamada@example.co.jp")
    finally:
        server.stop()
    run_replies(settings, redis)
    [reply] = outbox(settings)
    assert str(reply["To"]) == "t.yamada@example.co.jp"
    assert str(reply["Subject"]).endswith("詐欺の報告")
    assert str(reply["X-LAPOR-Tracking-ID"]).isdigit()
    assert RECIPIENT in str(reply["From"])


@pytest.mark.parametrize(("sender", "written"), [
    ("jos\u00e9@b\u00fccher.example", "jos\u00e9@xn--bcher-kva.example"),
    ("warga@b\u00fccher.example", "warga@xn--bcher-kva.example"),
], ids=["utf8-local-part", "idn-domain"])
def test_a_reply_in_the_outbox_names_its_internationalized_address_as_written(
        test_env: TestEnvironment, redis: Redis, sender: str, written: str) -> None:
    """The mailer that sends the outbox reads its recipient from the file's To. A UTF-8 local part has no ASCII form:
    written as an encoded-word (`=?utf-8?q?jos=C3=A9?=@...`), which is no address but an atom of ASCII, the reply
    went to another mailbox or none. It is written in UTF-8 (RFC 6532), as a relay with SMTPUTF8 gets it."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, RECIPIENT, "Jalan rusak"
    message.set_content("Jalan di depan pasar rusak parah.")
    server = SmtpServerThread(settings, redis).start()
    try:
        with server.client() as client:
            assert client.mail(sender, options=["SMTPUTF8"])[0] == 250
            assert client.rcpt(RECIPIENT)[0] == 250
            assert client.data(message.as_bytes(policy=policy.SMTPUTF8).replace(b"\n", b"\r\n"))[0] == 250
    finally:
        server.stop()
    run_replies(settings, redis)
    [path] = outbox_dir(settings).glob("*.eml")
    head = path.read_bytes().split(b"\n\n", 1)[0].decode()
    assert f"\nTo: {written}\n" in head


def test_a_reply_in_the_outbox_has_its_name_on_disk_before_its_job_ends(
        test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reply is renamed into the outbox: its bytes were fsynced, but its name only once the outbox directory is
    (and the outbox's own name once the directory above it is, the outbox made for it). Without that a power cut just
    after the job ended lost the reply, which nothing would send again."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    directory = outbox_dir(settings).resolve()
    assert not directory.exists()
    synced: list[tuple[str, list[str]]] = []  # each directory fsynced, with the replies named in it by then
    fsync = os.fsync

    def recording(descriptor: int) -> None:
        path = os.readlink(f"/proc/self/fd/{descriptor}")
        synced.append((path, sorted(os.listdir(path)) if os.path.isdir(path) else []))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    run_replies(settings, redis)
    [reply] = [path.name for path in directory.glob("*.eml")]
    assert (str(directory), [reply]) in synced
    assert str(directory.parent) in [path for path, _ in synced]


def test_two_jobs_of_one_mail_at_the_same_moment_answer_it_once(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    """The reply queued twice, its two jobs on two reply workers at once: the second, trying while the first is
    sending, sends nothing and is retried; its retry finds the mail answered."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    [first] = queue(REPLY_QUEUE, redis).get_jobs()
    [second] = enqueue_calls(redis, settings, REPLY_QUEUE, first.func_name, [tuple(first.args)])
    concurrently = SecondJobInFirstSend(email_reply.write_to_outbox, redis, second.id)
    monkeypatch.setattr(email_reply, "write_to_outbox", concurrently)
    run_replies(settings, redis)
    assert len(outbox(settings)) == 1
    assert isinstance(concurrently.outcome, SendInProgress)
    [busy] = [event for event in log_events(log_stream) if event["event"] == "reply.send_in_progress"]
    assert (busy["channel"], busy["tracking_id"]) == ("email", result.tracking_id)
    skipped = [event["reason"] for event in log_events(log_stream) if event["event"] == "email.reply_skipped"]
    assert skipped == ["already_replied"]  # the second job's retry
    assert DeadLetters(redis).count() == 0


@pytest.mark.parametrize("holder", ["answered-the-mail", "died-without-answering"])
def test_a_mail_whose_send_lease_another_job_holds_through_every_retry_runs_again_once_the_lease_ended(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, holder: str
) -> None:
    """Retries run out while another job holds the mail's lease: no dead letter (the holder may well answer it), the
    job is queued again for just after the lease's end, and then answers the mail only if the holder did not."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_QUEUES_RETRY_INTERVALS="0")
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    [job] = queue(REPLY_QUEUE, redis).get_jobs()
    if holder == "answered-the-mail":
        run_replies(settings, redis)
        enqueue_calls(redis, settings, REPLY_QUEUE, job.func_name, [tuple(job.args)])  # the reply queued twice
    key = send_lease_key(email_reply._item(job.args[0]))
    redis.set(key, f"reply-b.lapor.internal:4242:{process_table()}:{secrets.token_hex(16)}", px=60_000)
    run_replies(settings, redis)
    assert len(outbox(settings)) == (1 if holder == "answered-the-mail" else 0)
    assert DeadLetters(redis).count() == 0
    replies = queue(REPLY_QUEUE, redis)
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    again = replies.fetch_job(job_id)
    assert again is not None and (again.func_name, again.args) == (job.func_name, job.args)
    assert (again.timeout, again.retries_left) == (settings.queues.job_timeout_seconds, 1)
    [waiting] = [event for event in log_events(log_stream) if "rescheduled_in" in event]
    assert waiting["event"] == "reply.send_in_progress" and 60 < waiting["rescheduled_in"] <= 62
    redis.delete(key)  # released, or run out
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(again)  # as the scheduler does once its time has come
    run_replies(settings, redis)
    assert len(outbox(settings)) == 1
    assert DeadLetters(redis).count() == 0 and replies.scheduled_job_registry.count == 0


def test_mail_kept_on_disk_is_readable_by_the_gateway_user_only(test_env: TestEnvironment, redis: Redis) -> None:
    """Attachments, quarantined mail and outbox replies name the citizen (address, words, files)."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    previous = os.umask(0o022)
    try:
        server = SmtpServerThread(settings, redis).start()
        try:
            server.deliver(fixture("nested_multipart"), mail_from="fitri.handayani@gmail.com")
            server.deliver(fixture("quarantine_no_from"))
        finally:
            server.stop()
        run_replies(settings, redis)
    finally:
        os.umask(previous)
    files = [path for path in settings.data_dir.rglob("*") if path.is_file()]
    for kept in ("email/outbox", "email/quarantine", "attachments"):
        assert any(path.is_relative_to(settings.data_dir / kept) for path in files), kept
    exposed = [str(path.relative_to(settings.data_dir)) for path in files
               if path.stat().st_mode & 0o077 or path.parent.stat().st_mode & 0o077]
    assert exposed == []


# -- an anonymous report's reply, addressed by the report ------------------------------------------------------------
@dataclass(frozen=True)
class AddressedCase:
    id: str
    payload: dict[str, Any]
    meta: dict[str, Any] | None  # the envelope copy's channel_meta; None: no copy in Redis
    to: str | None  # where the reply goes; None: it cannot be addressed
    in_reply_to: str | None = "report@contoh-desa.net"
    error: str | None = None
    envelope: dict[str, Any] = field(default_factory=dict)  # more of the copy


_THREAD = {"message_id": "report@contoh-desa.net", "references": ["earlier@contoh-desa.net"]}
ADDRESSED_CASES = [
    AddressedCase("a-job-queued-before-carries-its-address",
                  {"to": "lama@contoh-desa.net", "in_reply_to": "old@x"}, None, "lama@contoh-desa.net", "old@x"),
    AddressedCase("an-acknowledgement-goes-where-the-report-was-answered",
                  {"to_report": "10000004"}, {**_THREAD, "reply_address": "balas@contoh-desa.net",
                                              "reply_to": "balas@contoh-desa.net"}, "balas@contoh-desa.net"),
    AddressedCase("the-senders-own-cek-from-its-from-keeps-its-threading",
                  {"to_report": "10000004", "to_sender": True, "in_reply_to": "cek@contoh-desa.net"},
                  {**_THREAD, "reply_address": "balas@contoh-desa.net"}, "budi@contoh-desa.net",
                  "cek@contoh-desa.net"),
    AddressedCase("a-cek-from-the-reply-to-of-a-report-filed-before-reply-address-was-kept",
                  {"to_report": "10000004", "in_reply_to": "cek@contoh-desa.net"},
                  {**_THREAD, "reply_to": "balas@contoh-desa.net"}, "balas@contoh-desa.net", "cek@contoh-desa.net"),
    AddressedCase("a-follow-up-filed-before-reply-address-was-kept-is-answered-at-its-from",
                  {"to_report": "10000004", "kind": "follow_up"},
                  {**_THREAD, "reply_to": "penipu@example.net"}, "budi@contoh-desa.net",
                  envelope={"follow_up_of": "10000012"}),
    AddressedCase("a-report-filed-before-reply-address-was-kept-is-answered-at-its-from",
                  {"to_report": "10000004"}, {**_THREAD, "reply_to": "balas@example.net"}, "budi@contoh-desa.net"),
    AddressedCase("a-report-gone-cannot-be-answered", {"to_report": "10000004"}, None, None,
                  error="recipient_unknown"),
    AddressedCase("a-report-still-in-the-spool-is-waited-for", {"to_report": "10000004", "report_spooled": True},
                  None, None, error="report_not_replayed"),
]


@pytest.mark.parametrize("case", ADDRESSED_CASES, ids=[case.id for case in ADDRESSED_CASES])
def test_an_anonymous_reports_reply_is_addressed_from_its_envelope_copy(
        case: AddressedCase, settings: Settings, redis: Redis) -> None:
    """Its job names no address, subject or Message-ID of the sender's (a job is kept after it ran, and 30 days in a
    dead letter, beside the anonymous report's Tracking ID): the worker reads them back from the copy."""
    from gateway.errors import PermanentError, RetryableError
    from gateway.queues import envelope_key
    from workers.context import WorkerContext

    if case.meta is not None:
        envelope = {"tracking_id": "10000004", "anonymous": True, "subject": "ANONIM pungli",
                    "sender": {"kind": "email", "id": "budi@contoh-desa.net"}, "channel_meta": case.meta,
                    **case.envelope}
        redis.set(envelope_key("10000004"), orjson.dumps(envelope))
    kind = "status" if "to_sender" in case.payload or "in_reply_to" in case.payload else "ack_anonymous"
    payload = {"tracking_id": "10000004", "kind": kind, "dedup": "d", **case.payload}
    context = WorkerContext.build(settings, redis)
    if case.error is not None:
        with pytest.raises((PermanentError, RetryableError)) as raised:
            email_reply.addressed_reply(context, payload)
        assert raised.value.reason == case.error
        return
    addressed = email_reply.addressed_reply(context, payload)
    assert (addressed["to"], addressed["in_reply_to"]) == (case.to, case.in_reply_to)
    assert {key: addressed[key] for key in payload} == payload  # the job's own fields stay as they were
    if case.meta is not None and "in_reply_to" not in case.payload:
        assert addressed["subject"] == "ANONIM pungli"
        assert addressed["references"] == ["earlier@contoh-desa.net", "report@contoh-desa.net"]


@pytest.mark.parametrize(("asker", "anonymous", "addressed"), [
    pytest.param("Budi@Contoh-Desa.net", True, {"to_report": "10000004", "to_sender": True}, id="its-from"),
    pytest.param("balas@contoh-desa.net", True, {"to_report": "10000004"}, id="where-it-was-answered"),
    pytest.param("orang.lain@example.net", True, None, id="anyone-else-at-their-from"),
    pytest.param("budi@contoh-desa.net", False, None, id="a-named-reports-sender-at-their-from"),
])
@pytest.mark.parametrize("ttl", [60, 30 * 86400], ids=["copy-about-to-expire", "copy-with-time-left"])
def test_a_cek_by_mail_of_the_anonymous_reports_own_sender_is_addressed_by_the_report(
        asker: str, anonymous: bool, addressed: dict[str, Any] | None, ttl: int, settings: Settings,
        redis: Redis) -> None:
    """As an SMS CEK's (`status_recipient`): the address never stands beside the report's Tracking ID in the job, and
    the copy the worker reads it from is kept until the answer can have used its retries, no longer."""
    from channels.email.processor import own_anonymous_report
    from gateway.queues import envelope_key

    envelope = {"tracking_id": "10000004", "anonymous": anonymous,
                "sender": {"kind": "email", "id": "budi@contoh-desa.net"},
                "channel_meta": {"reply_address": "balas@contoh-desa.net", "reply_to": "balas@contoh-desa.net"}}
    redis.set(envelope_key("10000004"), orjson.dumps(envelope), ex=ttl)
    assert own_anonymous_report(redis, settings, "10000004", asker) == addressed
    answerable = sum(settings.queues.retry_intervals) + 2 * settings.queues.job_timeout_seconds
    kept = redis.ttl(envelope_key("10000004"))
    assert kept >= answerable if addressed else kept <= ttl
    assert own_anonymous_report(redis, settings, "10000012", asker) is None  # no copy: answered at its From


@pytest.mark.parametrize(("tracking_id", "subject", "expected"), [
    pytest.param("10000004", "Jalan rusak", "[LAPOR #10000004] Jalan rusak", id="short"),
    pytest.param("10000004", "x" * (MAX_REPLY_SUBJECT - 18), "[LAPOR #10000004] " + "x" * (MAX_REPLY_SUBJECT - 18),
                 id="exactly-the-limit"),
    pytest.param("10000004", "Jalan rusak parah " * 20,
                 "[LAPOR #10000004] " + ("Jalan rusak parah " * 10).rstrip() + "…",
                 id="cut-at-a-word"),
    pytest.param("10000004", "Re: " + "x" * 500, "[LAPOR #10000004] " + "x" * (MAX_REPLY_SUBJECT - 19) + "…",
                 id="one-long-word-cut-inside"),
    pytest.param("", "kata " * 100, "Re: " + ("kata " * 39).rstrip() + "…", id="no-report"),
    # a job queued before the parser kept at most 1,000 characters of a subject
    pytest.param("10000004", "a " * 50_000, "[LAPOR #10000004] " + ("a " * 91).rstrip() + "…", id="queued-long-ago"),
])
def test_our_acknowledgements_subject_is_kept_to_max_reply_subject_cut_at_a_word(
        tracking_id: str, subject: str, expected: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reply's Subject was the citizen's whole: a subject of 1.8 MB was parsed and folded again for the reply,
    past the job's 120 s timeout at every attempt, and the citizen never got the Tracking ID. The tag stays whole."""
    parsed: list[int] = []

    def spy(value: str) -> Any:
        parsed.append(len(value))
        return get_unstructured(value)

    monkeypatch.setattr(UnstructuredHeader, "value_parser", staticmethod(spy))
    reply = build_reply({"tracking_id": tracking_id, "to": "warga@example.net", "subject": subject, "kind": "ack"},
                        settings)
    assert str(reply["Subject"]) == expected and len(expected) <= MAX_REPLY_SUBJECT
    assert parsed and max(parsed) <= MAX_REPLY_SUBJECT  # the standard library never parses more of it
    assert bytes(reply)  # written, folded


# -- files not kept are named in the acknowledgement ------------------------------------------------------------------
def mail_with_files(files: list[tuple[str | None, int]], subject: str = "Jalan rusak") -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = "Warga <warga@example.net>", RECIPIENT
    message["Subject"] = subject
    message["Message-ID"] = f"<{secrets.token_hex(8)}@example.net>"
    message.set_content("Foto jalan rusak terlampir.")
    for number, (name, size) in enumerate(files):
        message.add_attachment(bytes([number]) * size, maintype="image", subtype="jpeg", filename=name)
    return message.as_bytes(policy=policy.SMTP)


@dataclass(frozen=True)
class NotKept:
    id: str
    files: list[tuple[str | None, int]]
    said: list[str]  # lines of the reply, in this order
    subject: str = "Jalan rusak"
    env: dict[str, str] = field(default_factory=dict)


NOT_KEPT_CASES = [
    NotKept("too-large", [("kecil.jpg", 50), ("video-jalan.jpg", 70)], [
        'Lampiran "video-jalan.jpg" tidak disimpan: terlalu besar (lebih dari 60 byte per berkas).',
        "Mohon kirim lagi dengan membalas surel ini: paling besar 60 byte per berkas, paling banyak 3 berkas dan 150",
        'Attachment "video-jalan.jpg" not kept: too large (over 60 byte a file).',
        "Please send them again by replying to this mail"]),
    NotKept("too-many-and-over-the-mails-total", [("a.jpg", 50), ("b.jpg", 50), ("c.jpg", 55), (None, 5),
                                                  ("e.jpg", 5)], [
        'Lampiran "c.jpg" tidak disimpan: lampiran surel ini lebih dari 150 byte seluruhnya.',
        "Lampiran ke-4 tidak disimpan: lebih dari 3 berkas dalam satu surel.",
        'Lampiran "e.jpg" tidak disimpan: lebih dari 3 berkas dalam satu surel.',
        "Attachment no. 4 not kept: more than 3 files in one mail."]),
    NotKept("past-five-counted", [(f"{number}.jpg", 5) for number in range(15)], [
        'Lampiran "7.jpg" tidak disimpan: lebih dari 3 berkas dalam satu surel.',
        "Sebanyak 7 lampiran lain juga tidak disimpan.", "Also 7 more attachments not kept."]),
    # an anonymous report's job names its files by their place alone; the reply names them all the same
    NotKept("anonymous", [("foto-budi.jpg", 70)], [
        "laporan anonim Anda",
        'Lampiran "foto-budi.jpg" tidak disimpan: terlalu besar (lebih dari 60 byte per berkas).'],
        subject="ANONIM Pungli di kelurahan"),
    NotKept("megabytes", [("video.mp4", 3 << 20)], [
        'Lampiran "video.mp4" tidak disimpan: terlalu besar (lebih dari 2 MiB per berkas).',
        "paling besar 2 MiB per berkas, paling banyak 20 berkas dan 15 MiB per surel"],
        env={"LAPOR_EMAIL_MAX_ATTACHMENT_BYTES": str(2 << 20), "LAPOR_EMAIL_MAX_ATTACHMENTS": "20",
             "LAPOR_EMAIL_MAX_ATTACHMENTS_BYTES": str(15 << 20)}),
]


@pytest.mark.parametrize("case", NOT_KEPT_CASES, ids=[case.id for case in NOT_KEPT_CASES])
def test_the_acknowledgement_names_each_file_not_kept_and_asks_for_it_again(
        test_env: TestEnvironment, redis: Redis, case: NotKept) -> None:
    """A file over a limit was listed `not_stored` and the acknowledgement said nothing of it: the citizen believed
    the evidence she sent had arrived. Each is named, with why and the limit, after the Tracking ID, in both
    languages, with how to send it again."""
    env = case.env or {"LAPOR_EMAIL_MAX_ATTACHMENT_BYTES": "60", "LAPOR_EMAIL_MAX_ATTACHMENTS": "3",
                       "LAPOR_EMAIL_MAX_ATTACHMENTS_BYTES": "150"}
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), **env)
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(mail_with_files(case.files, case.subject))
    finally:
        server.stop()
    [job] = Queue(REPLY_QUEUE, connection=redis, serializer=JSONSerializer).get_jobs()
    payload = job.args[0]
    assert payload["not_kept"]
    if "anonymous" in case.id:
        assert "foto-budi" not in orjson.dumps(payload).decode()
    run_replies(settings, redis)
    [reply] = outbox(settings)
    body = " ".join(reply.get_content().split())
    assert body.index(f"Nomor lacak laporan Anda: {result.tracking_id}") < body.index("tidak disimpan")
    place = 0
    for line in case.said:
        place = body.index(line, place)


LONG_NAME = "rekaman-video-kejadian-pungli-di-kantor-kelurahan-bagian-{}.mp4"


@pytest.mark.parametrize(("kind", "not_kept", "width", "text_cut"), [
    ("ack", [{"index": 2, "name": "video-jalan.jpg", "reason": "too_large", "limit": 60},
             {"count": 4, "reason": "too_many", "limit": 3}], None, None),
    # the text cut at the limit told (`[email_text_truncated]`), no file named; wrapped, a follow-up's too
    ("ack", [], None, {"length": 5_280_000, "kept": 99_912}),
    ("follow_up", [], 72, {"length": 150_000, "kept": 99_915}),
    # the most a reply names: five long names a language, the rest counted, the longest acknowledgement, wrapped at 76
    # columns as Outlook's plain text is (at the parser's 2,000 characters, the lines past them were the citizen's)
    ("ack_anonymous_confidential", [{"index": index, "name": LONG_NAME.format(index), "reason": "too_large",
                                     "limit": 10 << 20} for index in range(1, 8)]
     + [{"count": 80, "reason": "too_many", "limit": 20}], 76, None),
    # and the text cut too: the longest reply there is
    ("ack_anonymous_confidential", [{"index": index, "name": LONG_NAME.format(index), "reason": "too_large",
                                     "limit": 10 << 20} for index in range(1, 8)]
     + [{"count": 80, "reason": "too_many", "limit": 20}], 76, {"length": 5_280_000, "kept": 99_912}),
], ids=["one-file", "text-cut", "text-cut-follow-up-wrapped", "the-most-named-wrapped", "the-most-named-text-cut"])
def test_a_quote_of_an_acknowledgement_naming_files_not_kept_is_read_as_ours(
        settings: Settings, kind: str, not_kept: list[dict[str, Any]], width: int | None,
        text_cut: dict[str, int] | None) -> None:
    """A citizen's answer quoting our acknowledgement (Outlook: no `>`) with its lines of files not kept, or the lines
    telling its text was cut: those lines are ours, not her addition."""
    ack = build_reply({"tracking_id": "10000004", "to": "warga@example.net", "subject": "Jalan rusak", "kind": kind,
                       "not_kept": not_kept, **({"text_cut": text_cut} if text_cut else {})}, settings)
    assert ("karakter pertama" in ack.get_content()) is (text_cut is not None)
    quoted = ack.get_content() if width is None else "\n".join(
        textwrap.fill(line, width) if line else line for line in ack.get_content().split("\n"))
    answer = EmailMessage()
    answer["From"], answer["To"] = "warga@example.net", RECIPIENT
    answer["Subject"] = "RE: [LAPOR #10000004] Jalan rusak"
    answer["Message-ID"] = "<jawab-1@example.net>"
    answer.set_content("Ini videonya, sudah saya kecilkan.\n\nFrom: LAPOR! <pengaduan@lapor.go.id>\n"
                       "Sent: Sunday, December 6, 2026 10:00 AM\nTo: warga@example.net\n"
                       "Subject: [LAPOR #10000004] Jalan rusak\n\n" + quoted)
    mail = parse_mail(answer.as_bytes(), 1000, 30)
    assert mail.tagged_text == "Ini videonya, sudah saya kecilkan."
