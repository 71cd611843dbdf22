"""Helpers for the e-mail tests: the real SMTP server on loopback in a thread, SMTP sessions, the reply queue."""

from __future__ import annotations

import base64
import hashlib
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
from tests.job_support import burst
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


def mail_forwarding(inner: bytes, encoding: str = "base64") -> bytes:
    """A mail (multipart/mixed, its text and a forwarded mail: 3 parts, the forward at level 2) forwarding `inner` in
    a transfer encoding, as Exchange and phone clients send one against RFC 2046."""
    import quopri

    body = base64.encodebytes(inner) if encoding == "base64" else quopri.encodestring(inner)
    head = f"From: Camat <camat@example.net>\nTo: {RECIPIENT}\nSubject: FW: Foto-foto\n" \
        f"Message-ID: {make_msgid(domain='example.net')}\nMIME-Version: 1.0\n" \
        "Content-Type: multipart/mixed; boundary=lapor-fw\n\n--lapor-fw\nContent-Type: text/plain\n\nMeneruskan.\n" \
        f"--lapor-fw\nContent-Type: message/rfc822\nContent-Transfer-Encoding: {encoding}\n\n"
    return head.replace("\n", "\r\n").encode() + body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") \
        + b"\r\n--lapor-fw--\r\n"


def _tnef_attribute(level: int, attribute: int, kind: int, data: bytes) -> bytes:
    return (bytes([level]) + attribute.to_bytes(2, "little") + kind.to_bytes(2, "little")
            + len(data).to_bytes(4, "little") + data + (sum(data) & 0xFFFF).to_bytes(2, "little"))


def tnef_stream(files: list[tuple[str, bytes]], message_class: str = "IPM.Microsoft Mail.Note") -> bytes:
    """A winmail.dat as Outlook writes one ([MS-OXTNEF]): its signature and key, the message's attributes (version,
    class), then each file: attAttachRenddata, attAttachTitle, attAttachData and its MAPI properties (none here)."""
    stream = (0x223E9F78).to_bytes(4, "little") + (0x1A2B).to_bytes(2, "little")
    stream += _tnef_attribute(1, 0x9006, 0x0008, (0x00010000).to_bytes(4, "little"))  # attTnefVersion
    stream += _tnef_attribute(1, 0x8008, 0x0007, message_class.encode("ascii") + b"\0")  # attMessageClass
    for name, data in files:
        stream += _tnef_attribute(2, 0x9002, 0x0006, bytes(14))  # attAttachRenddata: a file begins
        stream += _tnef_attribute(2, 0x8010, 0x0001, name.encode("cp1252") + b"\0")  # attAttachTitle
        stream += _tnef_attribute(2, 0x800F, 0x0006, data)  # attAttachData
        stream += _tnef_attribute(2, 0x9005, 0x0006, bytes(4))  # attAttachment: MAPI properties, none
    return stream


def mail_with_header_lines(extra: int, field: str = "X-Flood: 1") -> bytes:
    """A citizen's mail whose own header carries `extra` lines of `field` besides its five."""
    head = f"From: Warga <warga@example.net>\nTo: {RECIPIENT}\nSubject: Jalan rusak\n" \
        f"Message-ID: {make_msgid(domain='example.net')}\nMIME-Version: 1.0\n"
    body = "Content-Type: text/plain; charset=utf-8\n\nJalan di depan SDN 3 berlubang.\n"
    return (head + f"{field}\n" * extra + body).replace("\n", "\r\n").encode()


def mail_with_flooded_parts(parts: int, extra: int, field: str = "X-Flood: 1") -> bytes:
    """A citizen's mail (multipart/mixed, part 1; its text, part 2) with `parts` notes more, each a part whose own
    header carries `extra` lines of `field` besides its Content-Type."""
    note = "--lapor-b\nContent-Type: text/plain\n" + f"{field}\n" * extra + "\nCatatan.\n"
    head = f"From: Warga <warga@example.net>\nTo: {RECIPIENT}\nSubject: Jalan rusak\n" \
        f"Message-ID: {make_msgid(domain='example.net')}\nMIME-Version: 1.0\n" \
        "Content-Type: multipart/mixed; boundary=lapor-b\n\n"
    text = "--lapor-b\nContent-Type: text/plain; charset=utf-8\n\nJalan di depan SDN 3 berlubang.\n"
    return (head + text + note * parts + "--lapor-b--\n").replace("\n", "\r\n").encode()


def _folded(name: str, value: str, width: int = 76) -> str:
    """`name: value` folded as signers fold a long base64 value: one tab-led piece of `width` per line."""
    pieces = [value[start:start + width] for start in range(0, len(value), width)]
    return f"{name}: " + "\n\t".join(pieces) + "\n"


def _blob(seed: str, size: int) -> str:
    """Base64-looking text (a signature, a body hash, an anti-spam verdict): the same for the same seed."""
    text = ""
    while len(text) < size:
        text += base64.b64encode(hashlib.sha256((seed + text).encode()).digest()).decode().rstrip("=")
    return text[:size]


def trace_fields(received: int = 30, arc_sets: int = 3) -> str:
    """What relays put above a mail on its way: `received` hops (MTAs bounce a mail past 25 to 50), an ARC set
    (RFC 8617) per forwarding hop, the authentication verdicts, Gmail's and Exchange Online's own fields, one anti-spam
    verdict of 4 KB. About 290 lines and 18 KB with the defaults; Gmail refuses a mail over 5,000 fields or 500 KB."""
    fields = ["Delivered-To: pengaduan@lapor.go.id\n", "Return-Path: <warga@example.net>\n"]
    for hop in range(received, 0, -1):
        fields.append(f"Received: from mx{hop}.relay.example.net (mx{hop}.relay.example.net [192.0.2.{hop}])\n"
                      f"\tby mx{hop + 1}.relay.example.net with ESMTPS id {_blob(f'id{hop}', 16)}\n"
                      f"\tfor <pengaduan@lapor.go.id>\n\t(version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n"
                      f"\tMon, 01 Dec 2025 10:{hop:02d}:00 +0700\n")
    for hop in range(arc_sets, 0, -1):
        fields += [
            _folded("ARC-Seal", f"i={hop}; a=rsa-sha256; t=1764558000; cv={'none' if hop == 1 else 'pass'}; "
                    f"d=relay{hop}.example.net; s=arc-2025; b={_blob(f'seal{hop}', 344)}"),
            _folded("ARC-Message-Signature", f"i={hop}; a=rsa-sha256; c=relaxed/relaxed; d=relay{hop}.example.net; "
                    "s=arc-2025; h=to:subject:message-id:date:from:mime-version:dkim-signature; "
                    f"bh={_blob(f'bh{hop}', 44)}; b={_blob(f'ams{hop}', 344)}"),
            _folded("ARC-Authentication-Results", f"i={hop}; mx{hop}.relay.example.net; dkim=pass "
                    "header.i=@example.net header.s=s1 header.b=abcdEFGH; spf=pass (domain of warga@example.net "
                    "designates 198.51.100.7 as permitted sender) smtp.mailfrom=warga@example.net; dmarc=pass "
                    "(p=NONE sp=NONE dis=NONE) header.from=example.net"),
        ]
    fields += [
        _folded("Authentication-Results", "mx.lapor.go.id; dkim=pass header.i=@example.net header.s=s1 "
                "header.b=abcdEFGH; arc=pass (i=3 spf=pass dkim=pass dmarc=pass); spf=pass smtp.mailfrom=example.net"),
        "Received-SPF: pass (mx.lapor.go.id: domain of warga@example.net designates 198.51.100.7 as permitted "
        "sender) client-ip=198.51.100.7;\n",
        _folded("DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=s1; t=1764558000; "
                "h=to:subject:message-id:date:from:mime-version:from:to:cc:subject:date:message-id:reply-to; "
                f"bh={_blob('bh', 44)}; b={_blob('dkim', 344)}"),
        _folded("X-Google-DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=1e100.net; s=20230601; "
                f"t=1764558000; h=x-gm-message-state:from:to:cc:subject:date:message-id:reply-to; "
                f"bh={_blob('bh', 44)}; b={_blob('gdkim', 344)}"),
        _folded("X-Gm-Message-State", _blob("state", 200)),
        _folded("X-Google-Smtp-Source", _blob("source", 100)),
        _folded("X-Received", f"by 2002:a17:90b:1c8a:b0:2ea:5e0c:2847 with SMTP id {_blob('xr', 40)}; "
                "Mon, 01 Dec 2025 03:00:00 -0800 (PST)"),
        *(f"X-MS-Exchange-Organization-{name}: {value}\n" for name, value in [
            ("Network-Message-Id", "0b5e4c1a-7f8e-4c2b-9a9d-2f6c1e8b3d44"), ("AuthSource", "mx1.relay.example.net"),
            ("AuthAs", "Anonymous"), ("SCL", "1"), ("MessageDirectionality", "Incoming"),
            ("ExpirationStartTime", "01 Dec 2025 03:00:00.0000 (UTC)")]),
        _folded("X-Microsoft-Antispam-Message-Info", _blob("verdict", 4096)),
    ]
    return "".join(fields).replace("\n", "\r\n")


def mail_through_relays(received: int = 30, arc_sets: int = 3) -> bytes:
    """A citizen's Gmail-style mail (text, its HTML and a photo) as it arrives after `received` relays and
    `arc_sets` forwarders: a real-shaped header, far heavier than most."""
    message = EmailMessage()
    message["From"] = "Warga <warga@example.net>"
    message["To"] = RECIPIENT
    message["Subject"] = "Jalan rusak di depan SDN 3"
    message["Date"] = "Mon, 01 Dec 2025 10:00:00 +0700"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("Jalan di depan SDN 3 berlubang.")
    message.add_alternative("<p>Jalan di depan SDN 3 berlubang.</p>", subtype="html")
    message.add_attachment(b"\xff\xd8\xff\xe0 foto", maintype="image", subtype="jpeg", filename="jalan.jpg")
    return trace_fields(received, arc_sets).encode() + message.as_bytes().replace(b"\n", b"\r\n")


def header_size_of(raw: bytes) -> tuple[int, int]:
    """(lines, bytes) of the headers of a mail and of all its parts, as the standard library reads them without any
    limit: a field's folded lines stay in its value, and a field written `Name: value` is its lines as sent."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    ending = "\r\n" if b"\r\n" in raw else "\n"
    fields = [f"{name}: {value}{ending}" for part in message.walk() for name, value in part.raw_items()]
    return sum(field.count("\n") for field in fields), sum(len(field) for field in fields)


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
        burst(worker)
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
