"""Helpers for the e-mail tests: the real SMTP server on loopback in a thread, SMTP sessions, the reply queue."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import orjson
from redis import Redis
from rq import SimpleWorker

from channels.email.reply import outbox_dir
from channels.email.server import start_smtp_server
from gateway.intake import Intake
from gateway.queues import REPLY_QUEUE, JSONSerializer, envelope_key, queue
from gateway.settings import Settings
from tests.conftest import BackgroundLoop
from workers.context import WorkerContext, use_context

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "email"
RECIPIENT = "pengaduan@lapor.go.id"


def fixture(name: str) -> bytes:
    """A fixture as it travels over SMTP: CRLF line endings."""
    return (FIXTURES / f"{name}.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def mail_of_parts(parts: int, text: str = "Foto kerusakan terlampir.", boundary: str | None = None) -> bytes:
    """A mail of `parts` MIME parts: itself (multipart/mixed), its text and one-byte images."""
    message = EmailMessage()
    message["From"] = "Warga <warga@example.net>"
    message["To"] = RECIPIENT
    message["Subject"] = "Foto-foto"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(text)
    for number in range(parts - 2):
        message.add_attachment(bytes([number % 256]), maintype="image", subtype="png", filename=f"{number}.png")
    if boundary:
        message.set_boundary(boundary)
    return message.as_bytes().replace(b"\n", b"\r\n")


def mail_nested(depth: int) -> bytes:
    """A mail whose deepest part is at level `depth`: the message (level 1) and multiparts each holding the next,
    the citizen's text at the bottom. 400 levels took the parser most of a second (quadratic in the depth)."""
    body = "Content-Type: text/plain; charset=utf-8\n\nJalan di depan SDN 3 berlubang.\n"
    for level in range(depth - 1, 0, -1):
        body = f"Content-Type: multipart/mixed; boundary=lapor-{level}\n\n--lapor-{level}\n{body}--lapor-{level}--\n"
    head = f"From: Warga <warga@example.net>\nTo: {RECIPIENT}\nSubject: Jalan rusak\n" \
        f"Message-ID: {make_msgid(domain='example.net')}\nMIME-Version: 1.0\n"
    return (head + body).replace("\n", "\r\n").encode()


@dataclass
class SmtpResult:
    mail_code: int
    rcpt_codes: list[int]
    data_code: int | None
    data_message: str

    @property
    def tracking_id(self) -> str | None:
        marker = "LAPOR #"
        return self.data_message.split(marker, 1)[1].strip() if marker in self.data_message else None


@dataclass
class SmtpServerThread:
    """The gateway's own SMTP server (start_smtp_server) in a thread with its own event loop."""

    settings: Settings
    redis: Redis
    intake: Intake | None = None
    _background: BackgroundLoop = field(default_factory=BackgroundLoop, init=False)
    _server: Any = None
    _intake: Intake | None = field(default=None, init=False)

    @property
    def port(self) -> int:
        return self.settings.smtp.port

    def start(self) -> SmtpServerThread:
        self._intake = self.intake or Intake(self.redis, self.settings)

        async def serve() -> None:
            self._server = await start_smtp_server(self.settings, self.redis, self._intake, host="127.0.0.1")

        self._background.start(serve, "SMTP server")
        return self

    def stop(self) -> None:
        if not self._background.running:
            return

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        self._background.stop(close)
        assert self._intake is not None
        self._intake.close()

    def client(self) -> smtplib.SMTP:
        """A client as patient as a real MTA is with DATA (RFC 5321 allows 10 minutes): a mail of thousands of parts
        takes its server seconds to parse, more than ten on a loaded two-core test machine."""
        client = smtplib.SMTP("127.0.0.1", self.port, timeout=60)
        client.ehlo("client.example.net")
        return client

    def deliver(self, raw: bytes, mail_from: str = "sender@example.net",
                rcpts: tuple[str, ...] = (RECIPIENT,)) -> SmtpResult:
        """One SMTP transaction; returns every code instead of raising, so tests can assert on refusals."""
        with self.client() as client:
            mail_code, _ = client.mail(mail_from)
            rcpt_codes = [client.rcpt(rcpt)[0] for rcpt in rcpts]
            if not any(code == 250 for code in rcpt_codes):
                return SmtpResult(mail_code, rcpt_codes, None, "")
            code, message = client.data(raw)
            return SmtpResult(mail_code, rcpt_codes, code, message.decode())


def run_replies(settings: Settings, redis: Redis) -> None:
    """Work the lapor-reply queue in this process with a real (non-forking, burst) RQ worker."""
    use_context(WorkerContext.build(settings, redis))
    try:
        worker = SimpleWorker([queue(REPLY_QUEUE, redis)], connection=redis, serializer=JSONSerializer)
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    finally:
        use_context(None)


def outbox(settings: Settings) -> list[EmailMessage]:
    directory = outbox_dir(settings)
    files = sorted(directory.glob("*.eml")) if directory.exists() else []
    return [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in files]  # type: ignore[misc]


def stored_envelope(redis: Redis, tracking_id: str) -> dict[str, Any] | None:
    raw = redis.get(envelope_key(tracking_id))
    return orjson.loads(raw) if raw else None


def envelope_count(redis: Redis) -> int:
    return sum(1 for _ in redis.scan_iter("lapor:envelope:*"))
