"""The SMTP server: aiosmtpd on asyncio, feeding the mail processor.

Never an open relay: RCPT is refused (550) for any address that is not ours. The size limit (552) is
aiosmtpd's own, lowered from its 32 MiB default, with room for the dots SMTP doubles (`wire_size_limit`) and the mail
itself held to it at DATA; a mail of more MIME parts than `email.max_mime_parts`, nested
deeper than `email.max_mime_depth`, or of more header lines or bytes than `email.max_header_lines` and
`email.max_header_bytes`, is refused with 552 5.3.4 at DATA, as soon as the parse reaches the limit. DATA
answers 250 only once the report is durable, 451 when it cannot be made durable (the sending server retries), and
STARTTLS is offered when a certificate is configured. Every refusal a citizen's mail can earn carries a text from
config/replies.toml (Indonesian, then English), which the sending server quotes in its bounce; aiosmtpd's own English
size refusals are swapped for ours as they are sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session, TLSSetupException
from redis import Redis

from channels.email.guards import without_subaddress
from channels.email.parse import TooComplex
from channels.email.processor import MailProcessor
from gateway import metrics
from gateway.errors import INTERNAL_ERROR, NotDurable, TooLarge, exception_chain
from gateway.health.signals import SignalWriter
from gateway.intake import Intake
from gateway.logs import clear_message_context, get_logger, sensitive_values
from gateway.replies import render
from gateway.settings import EmailSettings, Settings, SettingsError

log = get_logger()


def accepts_recipient(address: str, settings: EmailSettings) -> bool:
    """Our addresses (and their subaddresses, `pengaduan+wbs@lapor.go.id`) and domains only (case-insensitive);
    everything else would make us a relay."""
    address = address.strip("<> ").lower()
    if "@" not in address:
        return False
    domain = address.rsplit("@", 1)[1]
    ours = {a.lower() for a in settings.addresses}
    return address in ours or without_subaddress(address) in ours or domain in {d.lower() for d in settings.domains}


def malformed_address(address: str, *, smtputf8: bool) -> bool:
    """Control characters (NUL, ESC, DEL...) never belong in an address; non-ASCII only with SMTPUTF8."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or "\udc80" <= ch <= "\udcff" for ch in address):
        return True
    return not smtputf8 and not address.isascii()


def refusal_text(key: str, **fields: object) -> str:
    """Indonesian, then English, on one line (config/replies.toml): the sending server quotes it to the sender."""
    return f"{render(key, 'id', **fields)} / {render(key, 'en', **fields)}"


# The command lines aiosmtpd's echo (`mail.log`, "<peer> >> <line>") keeps whole: the greeting's name and the
# envelope's addresses (scrubbed as any log line is), in a command's own shape ("Helo Pak, saya mau lapor pungli di
# Jl. Mawar No. 5" and "Mail ini saya kirim karena ..." open with a verb too). Of any other line it keeps the verb
# (AUTH's argument is the client's password in base64, NOOP's and VRFY's whatever the client wrote) or nothing: a
# client that sends a mail's lines after a refused DATA, as some scripts and devices do, had each line logged as a
# command, the citizen's words and street address among them.
_ECHOED_WHOLE = re.compile(r"(?:(?:HELO|EHLO) [^\s]+|(?:MAIL FROM|RCPT TO):\s*<[^<>\s]*>(?: [^\s]+)*)\s*",
                           re.IGNORECASE)
_SMTP_VERBS = frozenset({"HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "AUTH",
                         "STARTTLS", "BDAT", "PROXY"})
# aiosmtpd's refusal of a line that is no command names the line's first word: a word of the mail's text.
_UNKNOWN_COMMAND = re.compile(r'command ".*" not recognized', re.DOTALL)


def command_verb(line: bytes | str) -> str:
    """What a log line may say of a command line a client sent (`_ECHOED_WHOLE`): the line, its verb, or nothing."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
    verb = text.split(" ", 1)[0].upper()
    return text if _ECHOED_WHOLE.fullmatch(text) else verb if verb in _SMTP_VERBS else "[not a command]"


class _CommandEchoFilter(logging.Filter):
    """aiosmtpd's `mail.log` lines of what a client sent, without what a command does not need (`command_verb`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%r >> %r" and isinstance(record.args, tuple) and len(record.args) == 2:
            record.args = (record.args[0], command_verb(record.args[1]))
        elif record.msg == "%r unrecognised: %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            record.args = (record.args[0], "[not a command]")
        return True


COMMAND_ECHO_FILTER = _CommandEchoFilter()


def readable_size(size: int) -> str:
    """A size limit as a citizen reads it: whole MiB as `20 MB`, anything else in bytes."""
    return f"{size // 2**20} MB" if size and size % 2**20 == 0 else f"{size} byte"


# aiosmtpd's own refusals of a mail over the size limit (SIZE= in MAIL FROM, or at the end of DATA; a line longer
# than the limit, which a line of the mail may be as long as, is such a mail too): a citizen's oversized photos earn
# them, so they get our text. A new aiosmtpd wording would slip through: the tests check.
AIOSMTPD_SIZE_REFUSALS = frozenset({"552 Error: message size exceeds fixed maximum message size",
                                     "552 Error: Too much mail data", "500 Line too long (see RFC5321 4.5.3.1.6)"})


# The most recipients one transaction takes (RFC 5321 4.5.3.1.8: at least 100); past them RCPT is answered 452 4.5.3
# (4.5.3.1.10), and the sending server delivers the rest in another transaction, which the dedup makes the same
# report. Without a limit every RCPT for one of our addresses was kept until DATA: a client sending them without end,
# each restarting the session's timeout, grew the SMTP process's memory without bound (20,000 were all taken).
MAX_RECIPIENTS = 100


# Exceptions a session meets for the client's own bytes, not for a bug: a command aiosmtpd echoes back (`VRFY`,
# `EXPN`...) holding a byte that is no UTF-8 cannot be encoded in its answer.
CLIENT_ERRORS: tuple[type[Exception], ...] = (UnicodeError,)


def exception_texts(error: BaseException) -> list[str]:
    """The texts of an exception and of its causes and contexts (with their notes), as its logged traceback shows
    them: for `sensitive_values`, as such a text may quote the command line and the address in it."""
    return [text for linked in exception_chain(error)
            for text in (str(linked), *(str(note) for note in getattr(linked, "__notes__", ())))]


def wire_size_limit(limit: int | None) -> int | None:
    """The most bytes a mail of `limit` bytes takes on the wire in DATA. SMTP doubles the dot that opens a line
    (RFC 5321 4.5.2), and aiosmtpd counts its size limit in the bytes received, before it removes them: a mail of
    exactly the limit whose lines open with "." (a list of "...", a quoted signature) was refused 552 while `SIZE=`
    took it, and RFC 1870 counts the mail, not the doubled dots. A line opening with a dot is 3 bytes at least
    (".\r\n", sent "..\r\n"), so a mail is at most a third longer on the wire; the mail itself is held to `limit` at
    DATA (`IntakeHandler.handle_DATA`), and a session holds at most this many bytes."""
    return limit + (limit + 2) // 3 if limit else limit


# How DATA's 250 names the mail's report: `250 2.0.0 OK: LAPOR #<tracking id>`.
TRACKING_ID_MARKER = "LAPOR #"


class IntakeHandler:
    """aiosmtpd handler: recipient policy at RCPT, the processor at DATA."""

    def __init__(self, processor: MailProcessor) -> None:
        self.processor = processor
        self.settings = processor.settings.email
        # Every mail being processed, its client waiting or gone: referenced until it is done, and waited for at a stop.
        self._mails: set[asyncio.Task[str]] = set()

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        """Refuse a reverse-path with control characters, or non-ASCII without SMTPUTF8 (RFC 5321/6531)."""
        if malformed_address(address, smtputf8=bool(envelope.smtp_utf8)):
            metrics.REJECTED.labels(self.processor.source, "malformed_sender").inc()
            return "553 5.1.7 " + refusal_text("smtp_bad_sender")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        """Our addresses only; and, as a reverse-path, none with control characters or undeclared 8-bit bytes, nor
        non-ASCII without SMTPUTF8. With `email.domains` any local part of ours was taken, those too: one of 8-bit
        bytes could not be written in the quarantine's record of a mail without a sender, which was answered 451 on
        every attempt, its sending server retrying for days."""
        if malformed_address(address, smtputf8=bool(envelope.smtp_utf8)):
            metrics.REJECTED.labels(self.processor.source, "malformed_recipient").inc()
            return "553 5.1.3 " + refusal_text("smtp_bad_recipient")
        if not accepts_recipient(address, self.settings):
            metrics.REJECTED.labels(self.processor.source, "relay_denied").inc()
            log.warning("email.relay_denied", channel=self.processor.source)
            return "550 5.7.1 " + refusal_text("smtp_relay_denied")
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            metrics.REJECTED.labels(self.processor.source, "too_many_recipients").inc()
            return "452 4.5.3 " + refusal_text("smtp_too_many_recipients")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_exception(self, error: Exception) -> str:
        """An exception aiosmtpd's session met outside our hooks. A client whose TLS handshake failed (a scanner, a
        client without a cipher in common) is the client's failure: one warning, where aiosmtpd logged a traceback
        at error level and the session closes as before. So is a command aiosmtpd cannot answer for the bytes it
        holds (`CLIENT_ERRORS`: `VRFY` of an undecodable byte, echoed back, cannot be encoded): `500 5.5.2` and one
        warning, where it was 451 and a traceback at error level each time, which anyone could fill the log with.
        Anything else is a bug of aiosmtpd's or ours, not the client's: 451, so that a sending server tries again,
        and the traceback logged; aiosmtpd answered 500, a permanent refusal that bounced the mail, with the
        exception's own text, which may quote the command: that text, and its causes', is kept out of the line."""
        if isinstance(error, TLSSetupException):
            cause = error.__cause__ or error
            log.warning("smtp.tls_failed", channel="email-smtp", error=type(cause).__name__,
                        reason=getattr(cause, "reason", None))
            return "421 4.7.0 " + refusal_text("smtp_retry_later")  # not sent: aiosmtpd closes the connection
        if isinstance(error, CLIENT_ERRORS):
            log.warning("smtp.bad_command", channel="email-smtp", error=type(error).__name__)
            return "500 5.5.2 Error: bad syntax"
        metrics.REJECTED.labels(self.processor.source, INTERNAL_ERROR).inc()
        with sensitive_values(*exception_texts(error)):
            log.error("smtp.session_failed", channel="email-smtp", error=type(error).__name__, exc_info=error)
        return "451 4.3.0 " + refusal_text("smtp_retry_later")

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """A mail received whole is processed to its end, whether or not its client waits for the answer. aiosmtpd
        cancels the session's handler when the connection drops: a client that left after its final dot (a sending
        server's timeout, a network hiccup) cut the mail off half-way, its report filed with no reply job, no
        `message.accepted` line and no count, until the sending server delivered it again."""
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        limit = self.settings.max_message_bytes
        if len(raw) > limit:  # taken on the wire up to `wire_size_limit`: the mail without its doubled dots counts
            metrics.REJECTED.labels(self.processor.source, TooLarge.reason).inc()
            return "552 5.3.4 " + refusal_text("smtp_too_large", limit=readable_size(limit))
        task = asyncio.ensure_future(self._answer_sensitively(raw, envelope))
        self._mails.add(task)
        task.add_done_callback(self._mails.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                task.add_done_callback(self._orphan_done)
            raise

    async def finish_mails(self, grace: float) -> None:
        """Wait, up to `grace` seconds, for the mails being processed, those whose client left among them: the stop
        of `lapor-gateway smtp` cancelled them half-way (a report filed with no reply job, no `message.accepted` line
        and no count), as `asyncio.run` cancels every task left when its coroutine returns."""
        if not self._mails:
            return
        _, unfinished = await asyncio.wait(set(self._mails), timeout=grace)
        if unfinished:
            log.warning("smtp.stopped_with_mails_unfinished", channel="email-smtp", mails=len(unfinished))

    def _orphan_done(self, task: asyncio.Task[str]) -> None:
        failure = None if task.cancelled() else task.exception()
        status = "" if task.cancelled() or failure is not None else task.result()
        # The answer's code and Tracking ID, never its text; the sending server delivers the mail again, and the
        # dedup makes that the same report. A mail whose processing failed names the exception's type.
        tracking_id = status.rpartition(TRACKING_ID_MARKER)[2].strip() if TRACKING_ID_MARKER in status else None
        log.warning("smtp.client_gone", channel="email-smtp", code=status[:3] or None, tracking_id=tracking_id,
                    **({"error": type(failure).__name__} if failure is not None else {}))

    async def _answer_sensitively(self, raw: bytes, envelope: Envelope) -> str:
        with sensitive_values():  # the mail's words and sender, once parsed, until its answer is chosen
            return await self._answer(raw, envelope)

    async def _answer(self, raw: bytes, envelope: Envelope) -> str:
        try:
            outcome = await self.processor.process(raw, envelope.mail_from, list(envelope.rcpt_tos))
        except NotDurable as error:
            metrics.REJECTED.labels(self.processor.source, error.reason).inc()
            self.processor.refused(error.reason)
            log.error("message.rejected", reason=error.reason, status=451)
            return "451 4.3.0 " + refusal_text("smtp_retry_later")
        except TooComplex as error:  # permanent: the sending server bounces it to its sender, nothing is kept
            metrics.REJECTED.labels(self.processor.source, error.reason).inc()
            log.warning("message.rejected", reason=error.reason, status=552, **error.counts, size=len(raw))
            limit = readable_size(error.limit) if error.limit_is_size else error.limit
            return "552 5.3.4 " + refusal_text(error.refusal, limit=limit)
        except Exception as error:  # never crash a session; the sender retries later
            metrics.REJECTED.labels(self.processor.source, INTERNAL_ERROR).inc()
            self.processor.refused(INTERNAL_ERROR)
            log.exception("email.failed", error=type(error).__name__)
            return "451 4.3.0 " + refusal_text("smtp_retry_later")
        if outcome.tracking_id and outcome.status != "bounce":
            return f"250 2.0.0 OK: {TRACKING_ID_MARKER}{outcome.tracking_id}"
        return "250 2.0.0 OK"


# How much of a command line a session's stream holds before it is drained and refused (aiosmtpd's own line limit).
COMMAND_STREAM_LIMIT = SMTP.line_length_limit


class LoggedSMTP(SMTP):
    """aiosmtpd's SMTP, with one log line for every refusal it sends (552 too large, 500 line too long, 501/553
    malformed commands and addresses...), most of which aiosmtpd answers without calling the handler. The size
    refusals get our text (`[smtp_too_large]`); the protocol errors only a broken client earns keep aiosmtpd's.
    Its timeout is how long it waits for the client's next bytes (RFC 5321 4.5.3.2), not a time a whole mail must
    arrive in (`data_received`)."""

    def __init__(self, handler: Any, *, line_length_limit: int = 0, **kwargs: Any) -> None:
        """`line_length_limit`: the longest line taken in a mail (0: aiosmtpd's 1,001 bytes). RFC 5321 4.5.3.1.6
        allows 1,000, but mail clients and web forms write longer ones (an HTML body on one line, base64 unbroken,
        8-bit text with no wrapping) and the MTAs that take mail for people (Postfix, Gmail) take them: at 1,001
        bytes such a mail got `500 Line too long` at the end of its DATA, a permanent refusal, and was lost."""
        super().__init__(handler, **kwargs)  # its stream holds a command line to aiosmtpd's 1,001 bytes
        # The limit announced (EHLO's SIZE) and checked at MAIL FROM SIZE= and in the refusals' text: the mail's size.
        # aiosmtpd's own count in DATA, of the bytes on the wire, is given the doubled dots' room (`smtp_DATA`).
        self.message_size_limit = self.data_size_limit
        if line_length_limit:  # read at each line of DATA, and as the stream's limit while DATA is read
            self.line_length_limit = line_length_limit

    async def smtp_DATA(self, arg: str) -> None:
        """DATA's lines may be as long as `line_length_limit`; a command line is not: with the stream's limit that
        high outside DATA, a client that sent no line end before DATA had as much as the mail may be held in memory
        per session (a command is refused at 512 bytes only once its line is whole), where 1 KB was before, and kept
        it there sending a byte a minute. asyncio's StreamReader reads its limit at each read: raised for DATA alone."""
        reader: asyncio.StreamReader = self._reader
        reader._limit = max(self.line_length_limit, COMMAND_STREAM_LIMIT)  # type: ignore[attr-defined]
        self.data_size_limit = wire_size_limit(self.message_size_limit)  # read once, as DATA begins
        try:
            await super().smtp_DATA(arg)
        finally:
            self.data_size_limit = self.message_size_limit
            reader._limit = COMMAND_STREAM_LIMIT  # type: ignore[attr-defined]
            # The mail's Tracking ID, bound while it was processed, is the session's no longer once DATA is answered:
            # the refusals of the session's next transaction (a relay attempt, a 552) were logged under it.
            clear_message_context()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address of a MAIL or RCPT, None when malformed (553 5.1.3). The standard library's parser raises
        IndexError for one ending in `@` without angle brackets (`MAIL FROM:a@`), which aiosmtpd does not catch: it
        answered `500 Error: (IndexError) string index out of range` and logged a traceback at error level.
        An unclosed domain literal (`MAIL FROM:<a@[1>`) raised AttributeError in it, answered 451 on every attempt:
        whatever it raises, the address is the client's and malformed."""
        try:
            return super()._getaddr(arg)
        except Exception:
            return None, None

    def data_received(self, data: bytes) -> None:
        """aiosmtpd restarts its timeout at each command alone, so DATA's bytes had to arrive within it from the DATA
        command on: a 20 MB mail from a sender on a line slower than 1.4 Mbit/s was cut off at 120 s each time it was
        sent (logged by aiosmtpd at INFO, which we do not show), and never arrived. The timeout restarts at each
        piece of the mail that arrives; a sender that stops sending is still cut off."""
        super().data_received(data)
        if self.transport is not None:
            self._reset_timeout()

    async def push(self, status: str) -> None:
        sent = status
        if status in AIOSMTPD_SIZE_REFUSALS:  # refused by aiosmtpd itself, so counted here as every refusal is
            metrics.REJECTED.labels("email-smtp", TooLarge.reason).inc()
            # 5.3.4 "message too big for system" (RFC 3463), as the parse's limits answer: a bounce quoting only 552
            # told the sending server and the citizen's mail client less than every other refusal of ours.
            sent = "552 5.3.4 " + refusal_text("smtp_too_large", limit=readable_size(self.message_size_limit or 0))
        if status[:1] in ("4", "5"):
            # The code the client got (a line over the size limit was logged 500, answered 552); aiosmtpd's own
            # words for why, which name the limit it met.
            reason = _UNKNOWN_COMMAND.sub("command not recognized", status.partition(" ")[2])
            log.warning("smtp.refused", channel="email-smtp", code=sent[:3], reason=reason[:80])
        await super().push(sent)


def tls_context(settings: EmailSettings) -> ssl.SSLContext | None:
    """STARTTLS with the configured certificate and key, or None without them. One that cannot be loaded is a
    SettingsError naming the variable: a path mistyped, or a file that is no PEM, ended the SMTP server on a
    FileNotFoundError or SSLError naming neither."""
    if not (settings.tls_cert and settings.tls_key):
        return None
    for path, variable in ((settings.tls_cert, "LAPOR_EMAIL_TLS_CERT"), (settings.tls_key, "LAPOR_EMAIL_TLS_KEY")):
        if not Path(path).is_file():
            raise SettingsError(f"email.tls_{variable.rsplit('_', 1)[1].lower()} ({variable}): {path} is no file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except OSError as error:  # ssl.SSLError too: no PEM certificate, a key that is not the certificate's
        raise SettingsError(f"email.tls_cert and email.tls_key (LAPOR_EMAIL_TLS_CERT, LAPOR_EMAIL_TLS_KEY): cannot "
                            f"be loaded as a PEM certificate and its private key ({error.strerror or error})") from None
    return context


# How long a session waits for the client's next bytes: the next command (aiosmtpd's own timeout, restarted at each
# command), or the next piece of a mail (`LoggedSMTP.data_received`). RFC 5321 4.5.3.2.7 asks a server for at least
# 5 minutes while it waits for a command; 120 s cut off a sending server that paused longer between two commands.
SESSION_TIMEOUT_SECONDS = 300.0


def smtp_factory(processor: MailProcessor, hostname: str | None = None, handler: IntakeHandler | None = None) -> Any:
    handler = handler or IntakeHandler(processor)
    context = tls_context(processor.settings.email)
    limit = processor.settings.email.max_message_bytes

    def factory() -> SMTP:
        # A line of the mail may be as long as the mail may be on the wire (`wire_size_limit`): the size limit
        # bounds what one session holds, as before. A command line is still held to aiosmtpd's 512 bytes.
        return LoggedSMTP(handler, data_size_limit=limit, line_length_limit=wire_size_limit(limit) or 0,
                          enable_SMTPUTF8=True, decode_data=False, hostname=hostname, tls_context=context,
                          require_starttls=False, timeout=SESSION_TIMEOUT_SECONDS)

    return factory


# How long a stop waits for the mails being processed (`IntakeHandler.finish_mails`): the HTTP server's shutdown grace,
# within the supervisor's before it kills a process (gateway.supervisor.GRACE_SECONDS).
STOP_GRACE_SECONDS = 10.0


class SmtpServer:
    """The listening server, and its handler: `wait_closed` waits for the mails being processed too."""

    def __init__(self, server: asyncio.AbstractServer, handler: IntakeHandler) -> None:
        self.server = server
        self.handler = handler

    @property
    def sockets(self) -> Any:
        return self.server.sockets  # type: ignore[attr-defined]

    def close(self) -> None:
        self.server.close()

    async def wait_closed(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """The server's own wait (at once in Python 3.11, its sessions still open), then the mails' (`grace`): a mail
        taken whole is processed to its end across a stop, before the caller closes the intake."""
        await self.server.wait_closed()
        await self.handler.finish_mails(grace)


async def start_smtp_server(settings: Settings, redis: Redis, intake: Intake | None = None, *,
                            host: str | None = None, port: int | None = None,
                            signal_writer: SignalWriter | None = None) -> SmtpServer:
    """Listen on [smtp] host/port (LAPOR_SMTP_PORT); the caller serves it and closes it (and `signal_writer`)."""
    processor = MailProcessor(settings, redis, intake or Intake(redis, settings), can_refuse=True,
                              signal_writer=signal_writer)
    handler = IntakeHandler(processor)
    logging.getLogger("mail.log").addFilter(COMMAND_ECHO_FILTER)  # once, however many servers a process starts
    loop = asyncio.get_running_loop()
    # The name the server gives in its greeting, looked up once and off the event loop: without it aiosmtpd looks it up
    # (a DNS lookup when the name is not in /etc/hosts) for each connection, on the loop, and while DNS was slow or
    # down every connection held up every SMTP session and the IMAP poller for the resolver's timeout.
    hostname = await asyncio.to_thread(socket.getfqdn)
    server = await loop.create_server(smtp_factory(processor, hostname, handler), host or settings.smtp.host,
                                      settings.smtp.port if port is None else port, reuse_address=True)
    log.info("smtp.listening", host=host or settings.smtp.host, port=settings.smtp.port if port is None else port,
             starttls=tls_context(settings.email) is not None)
    return SmtpServer(server, handler)
