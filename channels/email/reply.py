"""The e-mail acknowledgement: built here, sent by the reply worker through the relay or into the outbox.

No HTTP or SMTP-server imports: the worker imports this module. A reply carries the Tracking ID in the
subject, In-Reply-To/References, `Auto-Submitted: auto-replied` (RFC 3834) and a Message-ID in our own domain
that names the report, so an answer to it threads and a bounce of it is recognised.
"""

from __future__ import annotations

import errno
import hashlib
import re
import secrets
import smtplib
import ssl
import time
from email import policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, localtime
from pathlib import Path
from typing import Any

import idna

from channels.email.guards import NO_REPORT, SUBJECT_TAG
from channels.email.store import MAX_NAMED_NOT_KEPT
from channels.email.texts import REPLY_TEXTS, cut_at_word
from gateway.errors import PermanentError, RetryableError
from gateway.health.signals import poll_failure, transport_failure
from gateway.private_files import write_atomically
from gateway.replies import load_replies, render, shown_typed_id, status_name, status_text
from gateway.settings import Settings
from normalizer.prefixes import STACKED_PREFIXES

# A reply written to the outbox (`write_to_outbox`), `key` without its extension. The outbox may be any directory
# (`email.outbox_dir`): `lapor-gateway attachments purge` deletes only files of this name there.
OUTBOX_FILE = re.compile(r"(?P<key>[0-9]{8}T[0-9]{6}Z-[0-9A-Za-z]+-[0-9a-f]{8})\.eml")


# Our Message-ID's token: 16 random hex digits, then (a reply under a report's tag) the first SUBJECT_DIGEST_CHARS of
# the sha256 of what its subject says (`subject_digest`). A citizen's answer naming the reply, under that subject, says
# nothing of their own in it (channels/email/processor.py `_thread_status_query`).
SUBJECT_DIGEST_CHARS = 8
OUR_TOKEN = re.compile(rf"lapor-\d{{6,14}}-[0-9a-f]{{16}}([0-9a-f]{{{SUBJECT_DIGEST_CHARS}}})@", re.IGNORECASE)


def our_message_id(tracking_id: str, domain: str, subject: str | None = None) -> str:
    """A Message-ID of ours naming `tracking_id`'s report (NO_REPORT for none); with `subject`, the reply's, its digest
    too (`subject_digest`)."""
    digest = subject_digest(subject) if subject is not None and tracking_id else ""
    return f"<lapor-{tracking_id or NO_REPORT}-{secrets.token_hex(8)}{digest}@{domain}>"


def subject_said(subject: str) -> str:
    """A subject's words past reply and forward prefixes and our tags, spaced and cased alike: what a thread's
    subject is compared by."""
    return " ".join(STACKED_PREFIXES.sub("", SUBJECT_TAG.sub(" ", subject)).split()).casefold()


def subject_digest(subject: str) -> str:
    """What a subject says (`subject_said`) as our Message-ID's token ends with it: no words of it, a digest's start."""
    return hashlib.sha256(subject_said(subject).encode()).hexdigest()[:SUBJECT_DIGEST_CHARS]


def sent_with_subject(message_id: str, subject: str) -> bool:
    """Whether `message_id`, one of ours, is a reply whose subject said what `subject` says (`our_message_id`). One
    sent before the digest was written in it never is."""
    match = OUR_TOKEN.match(message_id.strip("<> "))
    return match is not None and match.group(1).lower() == subject_digest(subject)


# What a citizen's subject (an encoded-word carries any character) must not bring into ours. The controls (C0, DEL,
# C1, the line and paragraph separators) become a space: copied, a NUL, a bell or an escape sequence went out in the
# Subject of our reply. The bidi embeddings, overrides and isolates, invisible, are removed: they reorder what a mail
# client shows of our subject, the Tracking ID too. All else is kept as written: any script, emoji with their joiners
# and selectors.
_SUBJECT_SEPARATORS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SUBJECT_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def subject_text(original: str) -> str:
    """The citizen's subject without control characters (`_SUBJECT_SEPARATORS`, `_SUBJECT_BIDI_CONTROLS`), its
    whitespace runs one space."""
    text = _SUBJECT_BIDI_CONTROLS.sub("", _SUBJECT_SEPARATORS.sub(" ", original))
    return " ".join(text.split())


# The longest subject of a reply, in characters, the tag included: the citizen's subject after the tag is cut at a
# word, with "…". A mail client shows a few dozen; written whole, a subject of 1.8 MB (before the parser kept at most
# `parse.MAX_SUBJECT_CHARS`, and still so in a job queued then) was parsed and folded again for the reply, past the
# job's timeout at every attempt: the citizen never got the Tracking ID.
MAX_REPLY_SUBJECT = 200


def reply_subject(tracking_id: str, original: str) -> str:
    """`[LAPOR #<id>] <original subject>`, without stacking tags or the reply and forward prefixes before, between
    and after them ("RE: AW: [LAPOR #<id>] Re[2]: Jalan rusak" answers as "[LAPOR #<id>] Jalan rusak"), and
    without control characters (`subject_text`), at most MAX_REPLY_SUBJECT characters (`cut_at_word`). Without a
    report (`tracking_id` "": a mistyped ID's answer), `Re: <original subject>` and no tag: one of a number that is
    no ID would thread the citizen's next mail to it."""
    original = subject_text(original or "")
    if SUBJECT_TAG.search(original):  # between two words the tag leaves one space, not two ("Tambahan  foto")
        original = " ".join(SUBJECT_TAG.sub(" ", original).split())
    original = STACKED_PREFIXES.sub("", original).strip()
    if not tracking_id:
        return cut_at_word(f"Re: {original}", MAX_REPLY_SUBJECT) if original else "LAPOR!"
    return cut_at_word(f"[LAPOR #{tracking_id}] {original}".strip(), MAX_REPLY_SUBJECT)


def size_text(size: int) -> str:
    """A byte limit as a reply names it: `10 MiB`, `1.5 MiB`, `64 KiB`, `60 byte`."""
    for unit, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if size >= unit:
            amount = size / unit
            return f"{amount:.0f} {name}" if amount == int(amount) else f"{amount:.1f} {name}"
    return f"{size} byte"


# The longest file name a reply names, in characters (cut at a word, with "…"): a name may be as long as a subject.
MAX_NAME_SHOWN = 40


def not_kept_lines(not_kept: list[dict[str, Any]], language: str, settings: Settings) -> str:
    """The files of a mail not kept (`store.not_kept`), a line each in `language` (`[email_not_kept_<reason>]`), the
    rest past MAX_NAMED_NOT_KEPT counted (`[email_not_kept_rest]`), then how to send them again
    (`[email_not_kept_again]`, with the limits as they are now); "" when every file was kept."""
    if not not_kept:
        return ""
    replies = load_replies()
    lines = []
    rest = 0
    for item in not_kept:
        if "count" in item or len(lines) >= MAX_NAMED_NOT_KEPT:
            rest += int(item.get("count", 1))
            continue
        reason = str(item["reason"])
        limit = int(item["limit"])
        name = item.get("name")
        shown = f'"{cut_at_word(subject_text(name), MAX_NAME_SHOWN)}"' if isinstance(name, str) and name.strip() \
            else replies["email_not_kept_unnamed"][language].format(number=item["index"])
        lines.append(replies[f"email_not_kept_{reason}"][language].format(
            name=shown, limit=limit if reason == "too_many" else size_text(limit)))
    if rest:
        lines.append(replies["email_not_kept_rest"][language].format(count=rest))
    limits = settings.email
    lines.append(replies["email_not_kept_again"][language].format(
        file_limit=size_text(limits.max_attachment_bytes), count_limit=limits.max_attachments,
        total_limit=size_text(limits.max_attachments_bytes)))
    return "\n".join(lines)


def count_text(number: int, language: str) -> str:
    """A count as each language writes it: `5.280.000` in Indonesian, `5,280,000` in English (as the marker ending a
    cut text writes its length: `normalizer.pipeline.cut_marker`)."""
    grouped = f"{number:,}"
    return grouped.replace(",", ".") if language == "id" else grouped


def text_cut_line(text_cut: dict[str, Any], tracking_id: str, language: str, settings: Settings) -> str:
    """That the mail's text was cut (`processor.reply_payload`'s `text_cut`: its length and the characters of it kept),
    with the limit as it is now and how to send the rest (`[email_text_truncated]`), in `language`."""
    return load_replies()["email_text_truncated"][language].format(
        length=count_text(int(text_cut["length"]), language), kept=count_text(int(text_cut["kept"]), language),
        limit=count_text(settings.intake.max_text_chars, language), tracking_id=tracking_id)


def reply_body(kind: str, tracking_id: str, follow_up_of: str | None = None, typed_id: str | None = None,
               status: str | None = None, not_kept: list[dict[str, Any]] | None = None,
               settings: Settings | None = None, text_cut: dict[str, Any] | None = None) -> str:
    """Indonesian text, then the English line (config/replies.toml). `follow_up_of`: the ID a mail named that no
    gateway issued (kind `follow_up_unknown`) or that is someone else's report (`follow_up_other_sender`);
    `typed_id`: the number a mail with a file asked with, not valid (`bad_tracking_id_photo`), cut as
    `shown_typed_id` cuts it. `tracking_id` is then the new report's. `status`: the report's, of the contract, named
    in each text's language (`follow_up_status`). `not_kept`: the mail's files not kept (`store.not_kept`), named
    after each language's text, the Tracking ID first still (`not_kept_lines`, with `settings`' limits). `text_cut`:
    the mail's text was cut at the limit (`processor.reply_payload`): said after each language's text, before the
    files not kept (`text_cut_line`, with `settings`' limit)."""
    table = load_replies()[REPLY_TEXTS[kind]]
    fields = {"tracking_id": tracking_id, "follow_up_of": follow_up_of,
              "typed_id": shown_typed_id(typed_id) if typed_id is not None else None}
    texts = []
    for language in ("id", "en"):
        texts.append(table[language].format(
            **fields, status=status_name(status, language) if status is not None else None))
        if text_cut and settings is not None:
            texts.append(text_cut_line(text_cut, tracking_id, language, settings))
        if not_kept and settings is not None:
            texts.append(not_kept_lines(not_kept, language, settings))
    return "\n\n".join(texts) + "\n"


def status_body(tracking_id: str, status: str | None, found: bool) -> str:
    """The answer to a CEK by mail: what an SMS CEK reads (`[status]`, or `[status_unknown]` for a report no one
    has), Indonesian text, then the English line, as the other mail replies. Nothing of the report but its status."""
    return "\n\n".join(status_text(tracking_id, status, language, found=found) for language in ("id", "en")) + "\n"


def bad_tracking_id_body(typed_id: str) -> str:
    """The answer to a CEK by mail whose number is no Tracking ID: what an SMS of it reads, but a new report is mailed,
    not texted (`[email_bad_tracking_id]`, the number as typed, cut as `shown_typed_id` cuts it), Indonesian text,
    then the English line."""
    shown = shown_typed_id(typed_id)
    return "\n\n".join(render("email_bad_tracking_id", language, tracking_id=shown)
                         for language in ("id", "en")) + "\n"


def ascii_address(address: str) -> str:
    """An IDN domain in its ASCII form (`warga@xn--bcher-kva.example`), so the reply needs no SMTPUTF8 relay; a
    UTF-8 local part has no ASCII form and is left as it is."""
    local, _, domain = address.rpartition("@")
    if not local or domain.isascii():
        return address
    try:
        # IDNA 2008 with UTS 46 mapping, as registries and mail clients do today; Python's own "idna" codec is
        # IDNA 2003, which turns straße.de into strasse.de: another domain, another person's mailbox.
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:  # not a valid IDN: left as written, which a relay without SMTPUTF8 refuses for good
        return address


class MessageIdsHeader(UnstructuredHeader):
    """In-Reply-To and References: msg-ids (RFC 5322 3.6.4), folded between them, never encoded. As the unstructured
    fields the standard library takes them for, a line's worth of id or more (an Outlook.com or Exchange Online
    Message-ID of some 80 characters, over the 78 of a line with "In-Reply-To: " before it) was written as RFC 2047
    encoded-words, which no mail client reads in a msg-id: our acknowledgement did not thread under the citizen's mail.
    An id longer than a line stays whole on a line of its own (RFC 5322 allows 998 characters)."""

    def fold(self, *, policy: EmailPolicy) -> str:  # type: ignore[override]
        lines = [f"{self.name}:"]
        holds_an_id = False  # the line being written: a line holds one id at least, however long
        for msg_id in str(self).split():
            if holds_an_id and len(lines[-1]) + 1 + len(msg_id) > (policy.max_line_length or 998):
                lines.append("")
            lines[-1] += f" {msg_id}"
            holds_an_id = True
        return policy.linesep.join(lines) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("in-reply-to", MessageIdsHeader)
_HEADERS.map_to_type("references", MessageIdsHeader)
REPLY_POLICY = policy.default.clone(header_factory=_HEADERS)


# The longest Message-ID written in our threading fields: "In-Reply-To: <id>" on one line of at most 998 characters
# (RFC 5322 2.1.1), which a relay may refuse past. Real ones are under 250.
MAX_THREADING_ID = 998 - len("In-Reply-To: <>")


def threading_id(msg_id: str) -> bool:
    """Whether a Message-ID of the mail answered can be written in our reply's In-Reply-To and References: printable
    ASCII (RFC 5322 3.6.4) that fits a line (MAX_THREADING_ID). Anything else is no msg-id a mail client threads by,
    and has no form an ASCII header carries but an encoded-word, which names no mail."""
    return len(msg_id) <= MAX_THREADING_ID and msg_id.isascii() and msg_id.isprintable() and " " not in msg_id


def build_reply(payload: dict[str, Any], settings: Settings) -> EmailMessage:
    email = settings.email
    tracking_id = payload["tracking_id"]
    message = EmailMessage(policy=REPLY_POLICY)
    message["From"] = formataddr((email.from_name, email.from_address))
    message["To"] = ascii_address(payload["to"])
    subject = reply_subject(tracking_id, payload.get("subject") or "")
    message["Subject"] = subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = our_message_id(tracking_id, email.message_id_domain, subject)
    if payload.get("in_reply_to") and threading_id(payload["in_reply_to"]):
        message["In-Reply-To"] = f"<{payload['in_reply_to']}>"
    references = [ref for ref in payload.get("references") or [] if threading_id(ref)]
    if references:
        message["References"] = " ".join(f"<{ref}>" for ref in references)
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Loop"] = email.from_address
    message["Precedence"] = "auto_reply"
    if tracking_id:
        message["X-LAPOR-Tracking-ID"] = tracking_id
    if payload["kind"] == "status":  # a CEK by mail: the worker looked the status up (workers/email_reply.py)
        message.set_content(status_body(tracking_id, payload.get("status"), bool(payload.get("found"))))
    elif payload["kind"] == "bad_tracking_id":  # a CEK by mail of a number that is no Tracking ID
        message.set_content(bad_tracking_id_body(payload["typed_id"]))
    else:
        # `text`: the reply's own kind where the job names an older one for older workers (processor.reply_payload)
        kind = payload["text"] if payload.get("text") in REPLY_TEXTS else payload["kind"]
        message.set_content(reply_body(kind, tracking_id, payload.get("follow_up_of"), payload.get("typed_id"),
                                       payload.get("status"), payload.get("not_kept"), settings,
                                       payload.get("text_cut")))
    return message


def outbox_dir(settings: Settings) -> Path:
    """Where replies go without a relay. They hold the citizen's address: the retention's purge deletes them."""
    return Path(settings.email.outbox_dir) if settings.email.outbox_dir else settings.data_dir / "email" / "outbox"


def write_to_outbox(message: EmailMessage, settings: Settings) -> Path:
    """Without a relay: one .eml file per reply, which any mail client opens, named as OUTBOX_FILE says and never
    written again. An outbox that cannot be written (no permission, a path that is no directory, a full disk) is
    retryable, as an unreachable relay is: the reply did not go out, and may once the outbox is fixed."""
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{message['X-LAPOR-Tracking-ID'] or NO_REPORT}-" \
           f"{secrets.token_hex(4)}.eml"
    path = outbox_dir(settings) / name
    # A UTF-8 local part has no ASCII form: the policy wrote it as an encoded-word, which a mailer reads as an ASCII
    # atom (`=?utf-8?q?jos=C3=A9?=@...`), another mailbox or none. Written in UTF-8 (RFC 6532), as send_via_relay
    # sends it to a relay with SMTPUTF8.
    utf8 = not str(message["To"]).isascii()
    data = message.as_bytes(policy=message.policy.clone(utf8=True)) if utf8 else bytes(message)
    try:
        write_atomically(path, data, what="outbox_reply")
    except OSError as error:
        # Not chained: the OSError's message names the path (a home directory, the Tracking ID), and RQ keeps a
        # retried job's traceback. Its type and errno name what an operator needs.
        code = errno.errorcode.get(error.errno or 0, "no errno")
        raise RetryableError(f"outbox unwritable: {type(error).__name__} ({code})",
                             reason="outbox_unwritable") from None
    return path


# SMTP answers that refuse our login to the relay (RFC 4954: 530 authentication required, 534 mechanism too weak,
# 535 credentials invalid; 538 encryption required for it).
RELAY_LOGIN_REFUSED = (530, 534, 535, 538)


def relay_where(settings: Settings) -> str:
    """The relay as a failed reply's reason names it: `host:port` (an IPv6 address in brackets)."""
    host = settings.email.relay_host
    return f"[{host}]:{settings.email.relay_port}" if ":" in host else f"{host}:{settings.email.relay_port}"


def _relay_code_failure(code: int) -> str:
    """The kind of failure (`gateway.health.signals.REPLY_FAILURES`) of a relay's answer: our login refused, a
    temporary failure (4xx), or the mail refused (5xx)."""
    if code in RELAY_LOGIN_REFUSED:
        return "token"
    return "server" if 400 <= code < 500 else "refused"


def send_via_relay(message: EmailMessage, settings: Settings) -> None:
    """smtplib to the configured relay; 4xx and connection trouble are retryable, 5xx permanent, and so is a UTF-8
    address when the relay does not offer SMTPUTF8. Each failure says where and how it failed (`said`, `failure`:
    `smtp.example.go.id:587 answered 535`, `token`), the relay's codes alone: its words may quote the citizen's
    address."""
    email = settings.email
    where = relay_where(settings)
    accepted = False
    try:
        try:
            with smtplib.SMTP(email.relay_host, email.relay_port, timeout=email.relay_timeout_seconds) as client:
                client.ehlo()
                if email.relay_starttls:
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if email.relay_user:
                    client.login(email.relay_user, email.relay_password)
                if not str(message["To"]).isascii() and not client.has_extn("smtputf8"):  # a UTF-8 local part
                    raise PermanentError("relay does not offer SMTPUTF8", reason="relay_no_smtputf8",
                                         said=f"{where} offers no SMTPUTF8", failure="refused")
                # Null envelope sender would be right for a bounce; an auto-reply uses our address (RFC 3834 §3.3).
                client.send_message(message, from_addr=email.from_address, to_addrs=[message["To"]])
                accepted = True
        except (OSError, smtplib.SMTPException):
            # The relay took the mail: what it answers to the QUIT after (the block's end: a 421 as it shuts down)
            # is no failure of the send. Raised, the reply was retried and sent twice, or dead-lettered though sent.
            if not accepted:
                raise
    except smtplib.SMTPResponseException as error:
        kind = RetryableError if 400 <= error.smtp_code < 500 else PermanentError
        raise kind(f"relay answered {error.smtp_code}", reason=f"relay_{error.smtp_code}",
                   said=poll_failure(where, str(error.smtp_code), answered=True),
                   failure=_relay_code_failure(error.smtp_code)) from error
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        temporary = bool(codes) and all(400 <= code < 500 for code in codes)
        kind = RetryableError if temporary else PermanentError
        raise kind("relay refused the recipient", reason="relay_recipient_refused",
                   said=poll_failure(where, " ".join(str(code) for code in codes) + " to the recipient",
                                     answered=True),
                   failure="server" if temporary else "refused") from error
    except (OSError, smtplib.SMTPException) as error:
        failure, name = transport_failure(error)
        raise RetryableError(f"relay unreachable: {type(error).__name__}", reason="relay_unreachable",
                             said=poll_failure(where, name, answered=False), failure=failure) from error
