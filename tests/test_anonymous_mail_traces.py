"""Where the gateway keeps an anonymous mail's sender, once the mail has gone all the way through.

tests/test_anonymous_traces.py follows an anonymous SMS; this follows an anonymous mail (over SMTP, and found by the
IMAP poller), the sender's own `CEK <id>` and addition after it: the forward, reply and status queues are worked to
the end (the replies sent through the relay, or refused by it until they are dead letters or retried), and the sender's
address (as written, its local part, and an unkeyed hash of it, which hashing every address on a list undoes) and name
are searched for in every Redis key and value, every file under the data dir, every log line, `/metrics`,
`/v1/status`, the status page and the operator's commands. They may stand in the envelope copies alone, which the
replies are addressed from.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from redis import Redis

from channels.email.imap import ImapPoller
from gateway.intake import Intake
from gateway.queues import ALL_QUEUES, envelope_key
from gateway.settings import Settings
from tests.aggregator_support import drain
from tests.conftest import CaseStoreServer, GatewayServer, TestEnvironment, free_port
from tests.email_support import RECIPIENT, SmtpServerThread
from tests.fake_imap import FakeImapServer, FakeMailbox
from tests.test_anonymous_traces import data_files, redis_values
from tests.test_email_reply import RelayHandler
from tests.test_forwarding import cli
from workers.deadletters import DeadLetters

ADDRESS = "budi.rahasia@contoh-desa.net"
NAME = "Budi Rahasia Wicaksono"
FORMS = (ADDRESS, "budi.rahasia", NAME,
         *(getattr(hashlib, name)(form.encode()).hexdigest()[:16]
           for form in (ADDRESS, ADDRESS.upper(), f"{NAME} <{ADDRESS}>") for name in ("sha256", "sha1", "md5")))


def found_in(text: str) -> list[str]:
    return [form for form in FORMS if form.lower() in text.lower()]


def mail(subject: str, body: str, message_id: str, in_reply_to: str | None = None) -> bytes:
    head = [f"From: {NAME} <{ADDRESS}>", f"To: {RECIPIENT}", f"Subject: {subject}", f"Message-ID: <{message_id}>",
            "Date: Thu, 03 Dec 2026 09:00:00 +0700", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    if in_reply_to:
        head.append(f"In-Reply-To: <{in_reply_to}>")
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def relay() -> Iterator[tuple[RelayHandler, int]]:
    from aiosmtpd.controller import Controller

    handler, port = RelayHandler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def mailbox() -> Iterator[tuple[FakeMailbox, FakeImapServer]]:
    box = FakeMailbox()
    with FakeImapServer(box) as server:
        yield box, server


@pytest.fixture
def settings(test_env: TestEnvironment, relay: tuple[RelayHandler, int],
             mailbox: tuple[FakeMailbox, FakeImapServer]) -> Settings:
    return test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                             LAPOR_EMAIL_RELAY_PORT=str(relay[1]), LAPOR_EMAIL_RELAY_STARTTLS="false",
                             LAPOR_TRIAGE_ENABLED="true", LAPOR_EMAIL_IMAP_HOST="127.0.0.1",
                             LAPOR_EMAIL_IMAP_PORT=str(mailbox[1].port), LAPOR_EMAIL_IMAP_SSL="false",
                             LAPOR_EMAIL_IMAP_USER="lapor", LAPOR_EMAIL_IMAP_PASSWORD="imap-secret")


# A confidential one's acknowledgement is a kind older reply workers do not know: its job names the one they do, and
# its own under `text` (`channels.email.processor.reply_payload`).
@pytest.mark.parametrize("flags", ["ANONIM", "ANONIM RAHASIA"], ids=["anonymous", "anonymous-confidential"])
@pytest.mark.parametrize("refused", [None, "550", "451"], ids=["replied", "replies-dead-lettered", "replies-retried"])
@pytest.mark.parametrize("over", ["smtp", "imap"])
async def test_the_gateway_keeps_an_anonymous_mails_sender_only_in_its_envelope_copies(
        over: str, refused: str | None, flags: str, relay: tuple[RelayHandler, int],
        mailbox: tuple[FakeMailbox, FakeImapServer],
        gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis, tmp_path: Path,
        log_stream: io.StringIO, test_env: TestEnvironment) -> None:
    handler, _ = relay
    if refused:  # the relay's refusal quotes the address: RQ logs a retried job's traceback, its causes too
        handler.answer = f"{refused} 5.1.1 <{ADDRESS}>: Recipient address rejected: no mailbox for {NAME}"
    server = SmtpServerThread(settings, redis).start()
    intake = Intake(redis, settings)
    imap = ImapPoller(settings, redis, intake)

    async def deliver(raw: bytes) -> None:
        if over == "smtp":
            assert server.deliver(raw, mail_from=ADDRESS).data_code == 250
        else:
            mailbox[0].messages[len(mailbox[0].messages) + 1] = raw
            assert await imap.poll_once() == 1
        drain(settings, ALL_QUEUES)

    try:
        await deliver(mail(f"{flags} pungli di kantor desa", "Kepala desa meminta uang untuk surat tanah."
                           "\r\n\r\n--\r\n" + NAME, "report-1@contoh-desa.net"))
        (filed,) = casestore.reports()
        tracking_id = str(filed["tracking_id"])
        await deliver(mail(f"CEK {tracking_id}", f"CEK {tracking_id}", "status-1@contoh-desa.net"))
        await deliver(mail(f"Re: [LAPOR #{tracking_id}] pungli", "Bendahara juga ikut menerima uang.",
                           "addition-1@contoh-desa.net", in_reply_to="report-1@contoh-desa.net"))
    finally:
        server.stop()
        intake.close()
    report = casestore.get(tracking_id)
    assert report is not None and report["anonymous"] is True and report["sender"]["kind"] == "reply_handle"
    assert report["confidential"] is ("RAHASIA" in flags)
    if refused == "550":
        assert handler.received == [] and len(DeadLetters(redis).list()) == 3
    elif refused:
        assert handler.received == [] and DeadLetters(redis).list() == []
    else:
        assert len(handler.received) == 3

    kept = {key.decode() for key in redis.scan_iter(match=envelope_key("*"))}
    assert envelope_key(tracking_id) in kept
    for key in kept:
        assert orjson.loads(redis.get(key) or b"{}")["anonymous"] is True
    leaks = [(key, where, hits) for key, where, text in redis_values(redis)
             if (hits := found_in(text)) and (key not in kept or where != "value")]
    assert leaks == [], f"Redis keeps the anonymous mail's sender beyond the envelope copies: {leaks}"
    files = {str(path.relative_to(tmp_path)): hits for path, text in data_files(Path(settings.data_dir))
             if (hits := found_in(text))}
    assert files == {}, f"a file under the data dir names the anonymous sender: {files}"
    assert tracking_id in log_stream.getvalue()
    logged = [line for line in log_stream.getvalue().splitlines() if found_in(line)]
    assert logged == [], f"a log line named the anonymous sender: {logged}"
    for command in (("deadletters", "list"), ("deadletters", "show", tracking_id), ("status",)):
        shown = cli(test_env, *command)
        assert found_in(shown.stdout + shown.stderr) == [], f"`lapor-gateway {' '.join(command)}` names them"
    for path in ("/metrics", "/v1/status", "/status"):
        response = await gateway.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert found_in(response.text) == [], f"{path} names the anonymous sender"
