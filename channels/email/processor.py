"""One raw mail -> a report, a follow-up, or nothing (loop guards, bounces, quarantine).

Used by the SMTP server, the IMAP poller and the quarantine's reprocess command alike. `process` returns only
once what it decided is durable (the report in Redis with its reply job, the bounce recorded, the quarantine
file on disk) and raises NotDurable otherwise, so the caller answers 451 or keeps its cursor. A mail over the
MIME-part, nesting or header limits is refused (TooComplex) when the caller can refuse it, which only SMTP can: the
sending server bounces it to its sender. The poller and the reprocess command have no one to refuse it to: it is
quarantined.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from redis import Redis
from redis.exceptions import RedisError

from channels.email.guards import (
    BOUNCES,
    SUBJECT_TAG,
    SUPPRESSED,
    Bounce,
    answers_our_reply,
    asks_no_auto_reply,
    bounce_of_our_reply,
    follow_up_of,
    loop_reason,
    names_a_mistyped_report,
    our_tracking_id,
    reports_named,
    without_our_reply_to,
)
from channels.email.parse import (
    MAX_NAMED_REPORTS,
    ParsedMail,
    TooComplex,
    only_a_signature,
    parse_mail,
    without_image_placeholders,
)
from channels.email.reply import reply_subject, sent_with_subject, subject_digest, subject_said
from channels.email.store import MAX_LISTED_ATTACHMENTS, Quarantine, not_kept, store_attachments
from gateway import metrics
from gateway.errors import NotDurable, RejectedInput
from gateway.followups import (
    UNKNOWN_PARENT_FLAGS,
    asking_once,
    facts_of,
    found_nowhere,
    gone_reports_flags,
    others_report_flags,
    remember_reply_subject,
    reply_subjects,
    report_addresses,
    resolve_with_facts,
    sent_by_reports_sender,
    stored_envelope,
    stored_envelopes,
    with_every_written_identity,
    with_parent_flags,
    with_quoted_reports_privacy,
    with_reporters_identity,
)
from gateway.health.signals import HealthSignals, SignalWriter
from gateway.intake import Intake, Receipt
from gateway.logs import add_sensitive_values, bind_message_context, clear_message_context, get_logger
from gateway.outbound import durably
from gateway.queries import StatusLookup, casestore_lookup_now
from gateway.queues import REPLY_QUEUE, REPORT_STATE_KEY, enqueue_calls, envelope_key
from gateway.replies import acknowledgement, flagged
from gateway.settings import EmailSettings, Settings
from normalizer.envelope import SENDER_IDENTITIES, Channel, ReportDraft, SenderKind, utc_now
from normalizer.grammar import load_grammar
from normalizer.inbound import InboundMessage
from normalizer.keywords import adds_to_the_report
from normalizer.pipeline import (
    MailQuery,
    Normalized,
    closes_asking_if_done,
    cut_lengths,
    cut_to_limit,
    mail_status_query,
    names_the_signer,
    normalize,
    only_signs_off,
    signer_words,
)
from normalizer.prefixes import STACKED_PREFIXES
from normalizer.sender import normalize_sender
from normalizer.signature import mailbox_name

log = get_logger()

REPLY_FUNC = "workers.email_reply.send_email_reply"
# The `channel_meta` key of where an anonymous report's mail is answered (`reply_address`'s choice, or its Reply-To or
# From): its reply job is addressed by the report (`to_report`) and the worker reads this back (workers/email_reply.py).
REPLY_ADDRESS = "reply_address"
# What names or may name an anonymous report's sender in a reply job (their address, their subject, their Message-IDs,
# which often carry their domain or address): left out of its job, read back from the report's envelope copy. A job's
# call stays in Redis after it ran, and 30 days in its dead letter and RQ's record of its failure, beside the Tracking
# ID of the anonymous report.
ADDRESSED_BY_REPORT = ("to", "subject", "in_reply_to", "references")
# Quarantine reasons that are the gateway's failure, not the mail's form: the parser raised (`parse_error`), or the
# IMAP poller's processing of it did (`processing_error`). Told by every view (health rule `mail_failed`).
FAILED_TO_READ = frozenset({"parse_error", "processing_error"})
MAX_MESSAGE_ID = 512


@dataclass(frozen=True, slots=True)
class MailOutcome:
    """accepted, duplicate, follow_up, suppressed, bounce or quarantined; with the Tracking ID when there is one."""

    status: str
    tracking_id: str | None = None
    reason: str | None = None


# Fields each hop adds on the way (trace, spam and authentication verdicts): not part of what the citizen sent.
HOP_FIELDS = re.compile(rb"^(received|return-path|delivered-to|x-original-to|x-received|received-spf|"
                        rb"authentication-results|arc-[a-z-]+|x-spam-[a-z-]+|x-virus-[a-z-]+)\s*:", re.IGNORECASE)


def without_hop_fields(raw: bytes) -> bytes:
    """The mail as its sender wrote it: the header without the fields relays and mailboxes add, CRLF line ends."""
    head, separator, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded continuation belongs to the field above it
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(HOP_FIELDS.match(line))
        if not skipping:
            kept.append(line)
    return (b"\n".join(kept) + separator + body).replace(b"\n", b"\r\n")


def provider_message_id(mail: ParsedMail, raw: bytes) -> str:
    """Dedup key: the Message-ID as its sender's and its content's (`from-message-id:`, a sha256 of the From address,
    the Message-ID and what it says as the parse read it, `ParsedMail.content_digest`: not as the processor reads a
    reply, which depends on what Redis says of the mail it answers), or a sha256 of the mail without its hop fields
    when it has none (or an absurd one), so the same mail delivered again by a backup MX or an MTA's retry, or found
    by the IMAP poller, is the same report. Not the Message-ID alone: form mailers and broken clients reuse theirs,
    and anyone who saw a copy of a mail can send another under its Message-ID. Taken alone, such a mail from another
    address was answered as a duplicate with the first mail's Tracking ID (which tied its writer to a whistleblower's
    anonymous report), and was not filed; and a form mailer sending every citizen's complaint from its one address
    under one Message-ID had the second citizen's complaint answered with the first's Tracking ID, and lost."""
    if mail.message_id and len(mail.message_id) <= MAX_MESSAGE_ID:
        return "from-message-id:" + hashlib.sha256(
            f"{mail.sender_address}\0{mail.message_id}\0{mail.content_digest}".encode()).hexdigest()
    return "sha256:" + hashlib.sha256(without_hop_fields(raw)).hexdigest()


def subject_words(subject: str) -> str:
    """A subject as a mail's text when it has no other: "" when it is nothing but reply and forward prefixes ("Re:",
    "Fwd:", "RE: FW:") and our tag ("Re: [LAPOR #<id>]"), which a mail app writes and no one reports: such a mail with
    no words and no file is empty, and was filed as a report (or an addition) of "Re:" and acknowledged."""
    return subject if STACKED_PREFIXES.sub("", SUBJECT_TAG.sub(" ", subject)).strip() else ""


class MailProcessor:
    def __init__(self, settings: Settings, redis: Redis, intake: Intake, *, source: str = "email-smtp",
                 can_refuse: bool = False, signal_writer: SignalWriter | None = None) -> None:
        """`signal_writer`: the process's one writer of health signals (`lapor-gateway smtp` shares one between its
        SMTP server and IMAP poller, and closes it when it stops); without it, one of this processor's own."""
        self.settings = settings
        self.redis = redis
        self.signals = HealthSignals(redis)
        self.signal_writer = signal_writer or SignalWriter(self.signals)
        self.intake = intake
        self.source = source
        self.can_refuse = can_refuse
        self.quarantine = Quarantine(settings.data_dir)
        self.ask_casestore = casestore_lookup_now(settings)

    async def process(self, raw: bytes, envelope_sender: str | None, recipients: Sequence[str]) -> MailOutcome:
        """One mail, to a report, a follow-up, a bounce, a suppression or the quarantine. Once parsed, its words and
        sender are kept out of every log line until the caller's `sensitive_values()` block ends: the caller holds one
        around this call and its own error lines (an exception quoting the mail, `email.failed`)."""
        # A fresh context per mail: the IMAP poller and the quarantine's reprocess handle many in one task, and a
        # mail must not be logged under the Tracking ID of the one before it.
        clear_message_context()
        bind_message_context(channel=self.source)
        metrics.RECEIVED.labels(self.source).inc()
        await self._note_message()
        limits = self.settings.email
        try:  # ~8 ms of CPU for a typical multipart mail: kept off the event loop
            mail = await asyncio.to_thread(parse_mail, raw, limits.max_mime_parts, limits.max_mime_depth,
                                           max_header_lines=limits.max_header_lines,
                                           max_header_bytes=limits.max_header_bytes,
                                           max_mime_field_bytes=limits.max_mime_field_bytes,
                                           max_address_field=limits.max_address_field_bytes)
        except TooComplex as error:  # too many parts, nested too deep, too many header lines or bytes
            if self.can_refuse:
                raise
            return await self.quarantine_mail(raw, error.reason, error.detail, envelope_sender, recipients,
                                          **error.counts)
        except RejectedInput as error:
            return await self.quarantine_mail(raw, error.reason, error.detail, envelope_sender, recipients)
        except Exception as error:  # a parser bug must not lose the mail: keep it for an operator
            return await self.quarantine_mail(raw, "parse_error", f"{type(error).__name__}: {error}", envelope_sender,
                                          recipients)
        add_sensitive_values(mail.text, mail.subject, mail.sender_address, mail.sender_name)
        mail = without_our_reply_to(mail, self.settings.email)
        bounce = bounce_of_our_reply(mail, self.settings.email, envelope_sender)
        if bounce is not None:
            await self._record_bounce(bounce)
            return MailOutcome("bounce", bounce.tracking_id, "dsn")
        reason = loop_reason(mail, envelope_sender, self.settings.email)
        if reason is not None:
            return self._suppress(reason)
        if mail.quoting_text is not None and follow_up_of(mail, self.settings.email) is None:
            mail = await self._quoting_its_senders_reply(mail)
        if mail.answer_text is not None and answers_our_reply(mail, self.settings.email):
            # An answer to our reply: the history it quotes is our own words ("Terima kasih, laporan Anda telah kami
            # terima..."), which went to the case store as the citizen's addition, and Outlook's quote of them (no
            # ">") hid the citizen's words below it.
            mail = replace(mail, text=mail.answer_text)
        elif mail.tagged_text is not None:
            # Our tag in the subject and no In-Reply-To naming our reply (webmail and phones drop it): our reply quoted
            # in it (Outlook's block, with no ">") went to the case store as the citizen's words.
            mail = replace(mail, text=mail.tagged_text)
        queried = status_query_of(mail, self.settings.intake.shortest_tracking_id) or \
            await self._thread_status_query(mail)
        if queried is not None:
            return await self._answer_query(mail, raw, queried)
        # A mail in a report's thread with no words of its own (an answer holding only the quoted history) under the
        # thread's subject: that subject is no news. Filed as an addition of `Re: [LAPOR #<id>] <subject>` and
        # answered, such mails used up the address's replies for the hour, and the citizen's next real addition went
        # unanswered. With no file either it is `empty`, as a mail with nothing to report is; a signature's logo is none
        # (`has_a_file`: Outlook sends one with every mail).
        # A sign-off alone in the thread is no words either (`signs_off_alone`): "Salam,\nBudi" or a signature over
        # the quote was filed and answered as such an answer was. With a file, the file is the addition; under a
        # subject of the citizen's own words, those are its text.
        if signs_off_alone(mail) and follow_up_of(mail, self.settings.email) is not None:
            mail = replace(mail, text="")
        no_news = not without_image_placeholders(mail.text).strip() and await self._under_the_threads_subject(mail)
        if no_news and not has_a_file(mail):
            return self._suppress("empty")
        return await self._report(mail, raw, envelope_sender, recipients, subject_is_news=not no_news)

    async def _quoting_its_senders_reply(self, mail: ParsedMail) -> ParsedMail:
        """A mail naming no report by its subject or its threading that quotes our reply to one report
        (`ParsedMail.quoted_tags`), from that report's own sender (`sent_by_reports_sender`, its From as for a tag in
        the subject): that report's thread (`quoted_thread`), read as an answer naming our reply by its tag is
        (`quoting_text`). Webmail and phone clients drop In-Reply-To, and some the tag with it: "Re: Jalan rusak"
        and the citizen's words above our acknowledgement quoted were filed as a new report, its sender sent a second
        Tracking ID for an addition to their own. Only under the report's subject (`says_the_reports_subject`: "Re:
        Jalan rusak", or none): a subject of the citizen's own over an old acknowledgement quoted is how a citizen
        starts a new report by answering an old mail, and the tag their client left out would have said otherwise;
        filed so before. As before for anyone else's mail (a report of its own, with the quoted report's privacy,
        told nothing of it: `with_quoted_reports_privacy`), for a quote of our replies to two reports or a mail naming
        another besides (which one the words are for it does not say), and once the report's copy is gone (whose it
        was cannot be read)."""
        [tracking_id, *more] = mail.quoted_tags
        if more or any(named != tracking_id for named in reports_named(mail, self.settings.email)):
            return mail
        envelope = await durably(stored_envelope, self.redis, tracking_id, self.source)
        sender = normalize_sender(SenderKind.EMAIL, mail.sender_address, mail.sender_name)
        if envelope is None or not sent_by_reports_sender(envelope, sender):
            return mail
        if not says_the_reports_subject(mail.subject, tracking_id, envelope) and \
                subject_digest(mail.subject) not in await durably(reply_subjects, self.redis, tracking_id):
            return mail
        return replace(mail, quoted_thread=tracking_id, text=mail.quoting_text or "")

    async def _thread_status_query(self, mail: ParsedMail) -> MailQuery | None:
        """A status question without an ID in a report's thread, asking that report's status (`status_query_of`'s
        `thread`), when the subject says nothing of the citizen's: nothing past reply prefixes and our tag, the
        report's own subject as our replies gave it, or the subject of the reply of ours in that thread the mail
        answers (`sent_with_subject`: our acknowledgement of an addition is under the addition's subject, and "CEK"
        answering it was filed as another addition). Words typed into it ("[LAPOR #<id>] ... sudah banjir lagi")
        are the citizen's addition, filed; so is the mail when the report's copy cannot be read to tell."""
        thread = follow_up_of(mail, self.settings.email)
        if thread is None:
            return None
        query = status_query_of(mail, self.settings.intake.shortest_tracking_id, thread=thread)
        if query is None:
            return None
        return query if await self._says_the_threads_subject(mail, thread) else None

    async def _under_the_threads_subject(self, mail: ParsedMail) -> bool:
        """Whether the mail answers a report's thread (`follow_up_of`) under that thread's subject
        (`_says_the_threads_subject`)."""
        thread = follow_up_of(mail, self.settings.email)
        return thread is not None and await self._says_the_threads_subject(mail, thread)

    async def _says_the_threads_subject(self, mail: ParsedMail, thread: str) -> bool:
        """Whether the mail's subject says nothing of the citizen's in `thread`'s report's thread: nothing past reply
        prefixes and our tag, the report's own subject as our replies gave it (read from its copy), or the subject of
        the reply of ours in that thread the mail answers (`sent_with_subject`). False when the copy cannot be read
        to tell: the subject is then taken for the citizen's words."""
        said = subject_said(mail.subject)
        if not said or _answers_our_reply_under_its_subject(mail, thread, self.settings.email):
            return True
        try:
            envelope = await asyncio.to_thread(stored_envelope, self.redis, thread, self.source)
        except RedisError:
            return False
        return says_the_reports_subject(mail.subject, thread, envelope)

    async def _answer_query(self, mail: ParsedMail, raw: bytes, query: MailQuery) -> MailOutcome:
        """A CEK by mail: not filed, answered by the reply worker with the report's status (`status_payload`), or
        for a mistyped ID with `[bad_tracking_id]`, as by SMS (nothing looked up). The 250 names no Tracking ID: the
        mail got none."""
        payload = status_payload(mail, raw, query)
        if query.valid:
            bind_message_context(tracking_id=query.tracking_id)
            # Its report may be in a disk spool not replayed yet: the worker waits for it, never "not found".
            spooled = await asyncio.to_thread(self.intake.may_hold, query.tracking_id)
            addressed = await durably(own_anonymous_report, self.redis, self.settings, query.tracking_id,
                                      mail.sender_address, report_spooled=spooled)
            if addressed is not None:  # threaded to the CEK all the same: its Message-IDs stay in the job
                payload = {**{key: value for key, value in payload.items() if key not in ("to", "subject")},
                           **addressed}
            if spooled:
                payload = {**payload, "report_spooled": True}
        await self._queue_reply_job(payload)
        log.info("message.status_query" if query.valid else "message.bad_tracking_id")
        return MailOutcome("status_query")

    async def _note_message(self, *, report: bool = False) -> None:
        """`message_received` (`report`: taken as a new report), its Redis write at most once a second and off the
        event loop."""
        if self.signals.note_message(self.source, report=report):
            await asyncio.to_thread(self.signals.write_noted, self.source)

    def refused(self, reason: str) -> None:
        """The mail could not be made a durable report (the caller answers 451 or keeps its cursor): the health rules
        count it against the channel. Recorded off the event loop without waiting for it (best effort), so a Redis
        that hangs does not hold the 451 back a second time; and bounded as the gateway's are (SignalWriter): while
        Redis hung, each refused mail queued one more write on the default executor, without bound."""
        self.signal_writer.record("intake_refused", self.source, reason)

    async def quarantine_mail(self, raw: bytes, reason: str, detail: str, envelope_sender: str | None,
                              recipients: Sequence[str], **counts: int) -> MailOutcome:
        """Keep the mail in the quarantine (`lapor-gateway email quarantine`), counted and logged by reason: for the
        processor's own refusals, and for a poller whose mail failed the processor another way."""
        entry = await asyncio.to_thread(self.quarantine.add, raw, reason, detail, envelope_sender, recipients)
        metrics.REJECTED.labels(self.source, reason).inc()
        log.warning("email.quarantined", reason=reason, key=entry.key, size=len(raw), **counts)
        if reason in FAILED_TO_READ:  # ours to mend, not the mail's: every view says so (rule `mail_failed`)
            self.signal_writer.record("mail_failed", self.source, f"{reason}, {detail.partition(':')[0]}")
        return MailOutcome("quarantined", reason=reason)

    def _suppress(self, reason: str) -> MailOutcome:
        SUPPRESSED.labels(reason).inc()
        log.info("email.suppressed", reason=reason)
        return MailOutcome("suppressed", reason=reason)

    async def _record_bounce(self, bounce: Bounce) -> None:
        def record() -> None:
            key = REPORT_STATE_KEY.format(tracking_id=bounce.tracking_id)
            self.redis.hset(key, mapping={"reply_bounced_at": time.time(), "reply_bounce_action": bounce.action,
                                          "reply_bounce_status": bounce.status})
            self.redis.expire(key, self.settings.intake.envelope_ttl_seconds)

        try:
            await asyncio.to_thread(record)
        except RedisError as error:
            raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error
        SUPPRESSED.labels("dsn").inc()
        BOUNCES.labels(bounce.action or "failed").inc()
        bind_message_context(tracking_id=bounce.tracking_id)
        log.warning("email.reply_bounced", action=bounce.action, status=bounce.status)

    def _inbound(self, mail: ParsedMail, raw: bytes, envelope_sender: str | None,
                 recipients: Sequence[str], subject_is_news: bool = True) -> InboundMessage:
        attachments = store_attachments(mail.attachments[:MAX_LISTED_ATTACHMENTS], self.settings.data_dir,
                                        self.settings.email)
        omitted = len(mail.attachments) - len(attachments)
        if omitted:
            log.warning("email.attachments_omitted", listed=len(attachments), omitted=omitted)
        return InboundMessage(
            channel=Channel.EMAIL, source=self.source, provider_message_id=provider_message_id(mail, raw),
            sender_kind=SenderKind.EMAIL, sender_address=mail.sender_address, sender_display_name=mail.sender_name,
            text=mail.text or (subject_words(mail.subject) if subject_is_news else ""), received_at=utc_now(),
            recipient=recipients[0] if recipients else None,
            subject=mail.subject or None, attachments=attachments,
            channel_meta={"message_id": mail.message_id, "in_reply_to": mail.in_reply_to,
                          "references": mail.references, "reply_to": mail.reply_to,
                          "envelope_sender": envelope_sender, SENDER_IDENTITIES: mail.sender_identities.as_meta(),
                          **({"attachments_omitted": omitted} if omitted else {})},
        )

    def _normalized(self, mail: ParsedMail, raw: bytes, envelope_sender: str | None,
                    recipients: Sequence[str], subject_is_news: bool = True) -> Normalized:
        """The attachments stored and the mail normalized, off the event loop: both cost as much as the mail is long
        (a body of a million short lines took 1.1 s to normalize, while every other SMTP session waited)."""
        return normalize(self._inbound(mail, raw, envelope_sender, recipients, subject_is_news),
                         max_text_chars=self.settings.intake.max_text_chars)

    async def _report(self, mail: ParsedMail, raw: bytes, envelope_sender: str | None,
                      recipients: Sequence[str], *, read_news: bool = True,
                      opening: MailQuery | None = None, subject_is_news: bool = True) -> MailOutcome:
        """The mail filed: a new report, or an addition to the report it names. `read_news`: a CEK of a valid ID
        with words of news (`query_with_news`) is read as that report's addition. Someone else's report named so
        makes it a report of its own with that report's flags, as the report's tag in its subject would; an ID issued
        whose report is found nowhere (the case store answers 404), an anonymous new report, as by SMS. Without it
        (an ID never issued), the mail is filed as any other mail, `opening` its status query as read already. Not
        `subject_is_news`: a mail without words is not filed as its subject's (the thread's, `process`)."""
        normalized = await asyncio.to_thread(self._normalized, mail, raw, envelope_sender, recipients,
                                             subject_is_news)
        if normalized.draft is None:
            return self._suppress("empty")
        draft = normalized.draft
        written = draft.text
        # Its text cut at the limit (`Normalized.cut`): the acknowledgement says how much was kept and asks for the
        # rest, as it names the files not kept (`[email_text_truncated]`).
        cut = normalized.cut
        # The case store's answers to this mail's decisions, each report asked for once (`asking_once`).
        answers: dict[str, StatusLookup | None] = {}
        ask = asking_once(self.ask_casestore, answers)
        # `CEK <id>` and a photo: the photo is that report's evidence, added to it with the words after the ID, as
        # by SMS and mentions (`_photo_with_a_tracking_id`); the ID the citizen typed names the report, before the
        # thread's. Filed as a new report, a second case was opened beside theirs.
        # Off the event loop: each reads the whole mail's words, and a long mail's grammar held every other SMTP
        # session (a 1 MB body with a file: 0.6 s).
        with_a_file, opening, news = await asyncio.to_thread(
            _queries_of, mail, self.settings.intake.shortest_tracking_id, read_news=read_news, opening=opening)
        named = with_a_file if with_a_file is not None and with_a_file.valid else None
        # `CEK <id>` and words of news, no file ("CEK <id> jalan makin rusak"): as by SMS, that report's addition,
        # answered that it was received and with the status asked for (`[email_follow_up_status]`). Filed as a new
        # report, the citizen got a new Tracking ID and no status, and the agency a second case of the same thing.
        named = named or news
        if named is not None:
            # The addition's words cut at the limit as any text is, and flagged as they are: a long mail whose
            # words after the ID fit was flagged `text_truncated` with a text never cut.
            text, truncated = cut_to_limit(named.words, self.settings.intake.max_text_chars)
            draft = draft.model_copy(update={"text": text, "text_truncated": truncated})
            cut = cut_lengths(named.words, text) if truncated else None
        parent = named.tracking_id if named is not None else follow_up_of(mail, self.settings.email)
        # A status question in the report's thread that is a grievance too ("Kenapa belum ditanggapi?"), or words
        # closing with a "sudah ... belum" question ("Sudah ada tindak lanjut belum?"): the addition filed, and
        # answered with the status (`asks_status`), as a CEK's words of news are.
        grievance = named is None and parent is not None and await asyncio.to_thread(
            asks_the_threads_status, mail, self.settings.intake.shortest_tracking_id, parent)
        unknown_parent: str | None = None
        others_parent: str | None = None
        # The anonymity a new report's acknowledgement tells: the mail's own asking, its sender's own anonymous report
        # named, a mistyped tag (maybe theirs); never another's report's (below). Told "laporan anonim Anda", whoever
        # typed a guessed `[LAPOR #<id>]` into a mail learnt whether that report was anonymous, gone or never issued.
        told_anonymous = draft.anonymous
        # Its confidentiality likewise (`[email_ack_confidential]`): the mail's own RAHASIA, its sender's own
        # confidential report named; never another's report's, whose RAHASIA a guessed tag would have learnt.
        told_confidential = draft.confidential
        # Every other report the mail names (our acknowledgements of two reports forwarded, an answer quoting them, a
        # forward whose subject lost our tag): the mail takes the strictest privacy among them all, and an anonymous
        # one's reporter is withheld as its own sender is (gateway/followups.py). The first tag's alone, a forward of
        # a named and an anonymous report's acknowledgements was filed open, the anonymous reporter's name beside it.
        others = [report for report in reports_named(mail, self.settings.email) if report != parent]
        # So does the report a `CEK <id>` it opens with names, when that is neither a file's nor news ("CEK <id> kok
        # lama sekali?", a subject of its own over a bare `CEK <id>`: a mail as any other), by the gateway's copy or,
        # that expired or damaged, the case store's flags (below); an ID never issued leaves the mail as it was (a
        # tag's would make it anonymous): someone else's anonymous report's, it was filed open, the writer's name and
        # addresses beside that report's ID.
        asked = opening.tracking_id if opening is not None and opening.valid and named is None else None
        asked = None if asked in (parent, *others) else asked
        # The report's envelope copy, read and checked once for the three decisions below (gateway/followups.py): a
        # damaged copy is taken as gone by all three. The others' are read with it, in one round trip.
        read = [*filter(None, [parent]), *others[:MAX_NAMED_REPORTS], *filter(None, [asked])]
        copies = await durably(stored_envelopes, self.redis, read, self.source) if read else []
        envelope = copies.pop(0) if parent else None
        asked_copy = copies.pop() if asked is not None else None
        if asked is not None and asked_copy is None:
            # A copy expired or damaged: the report's privacy as the case store gives it, as for a follow-up's (30
            # days after forwarding, "sudah sebulan belum ada kabar" from a second address was filed open beside an
            # anonymous report's ID); an ID never issued leaves the mail as is, one the case store has no report of
            # (404: a report still in a spool, maybe the writer's own anonymous one) makes it anonymous.
            flags = await durably(gone_reports_flags, self.redis, asked, self.settings.intake.id_range,
                                  self.intake.holds_unminted, ask)
            if flags is not None and flags[0] and not draft.anonymous:
                log.info("message.made_anonymous", reason="cek_of_a_report_gone")
            draft = with_parent_flags(draft, *flags) if flags is not None else draft
        for copy in [*copies, *filter(None, [asked_copy])]:
            draft = with_quoted_reports_privacy(draft, copy)
            # Told only where the acknowledgement reaches that report's sender: a From is easily forged, and with a
            # Reply-To of the forger's "laporan anonim (rahasia) Anda" told them that From sent the report, and how.
            own = copy is not None and sent_by_reports_sender(copy, draft.sender) and (
                mail.reply_to is None or mail.reply_to.lower() in report_addresses(copy))
            told_anonymous |= own and copy is not None and copy["anonymous"]
            told_confidential |= own and copy is not None and copy["confidential"]
        if len(others) > MAX_NAMED_REPORTS:
            # The reports past the bound are not read: the mail is anonymous, and every address and name it writes
            # is withheld, as an anonymous one's reporter's would be (`with_every_written_identity`).
            draft = with_every_written_identity(with_parent_flags(draft, *UNKNOWN_PARENT_FLAGS))
        others_flags = others_report_flags(envelope, draft.sender)
        if others_flags is not None:
            # Someone else's report (gateway/followups.py): the mail is a report of its own, with that report's
            # flags: it may be the reporter writing from another address, which filed open would stand beside an
            # anonymous report's ID in the subject.
            draft = with_parent_flags(draft, *others_flags)
            if others_flags[0]:
                draft = with_reporters_identity(draft, envelope or {})
            others_parent = parent
        elif parent is not None:
            # As by SMS and mentions: an answer to an anonymous report's reply stays anonymous (when the report's
            # flags are gone, too), and an ID no gateway ever minted makes the mail a new report of its own.
            asked_anonymous = draft.anonymous
            draft, unknown = await durably(resolve_with_facts, self.redis,
                                           draft.model_copy(update={"follow_up_of": parent}),
                                           facts_of(envelope, draft.sender), self.settings.intake.id_range,
                                           self.intake.holds_unminted, ask)
            unknown_parent = parent if unknown else None
            # A new report made anonymous for the ID it named (the case store has no such report, and it may be the
            # sender's own anonymous one in a spool): told so, as by SMS (`[follow_up_unknown_anonymous]`). Not when
            # another report the mail quotes made it so (`told_anonymous` keeps that one's anonymity untold), unless
            # the case store's 404 made it so too: told only where the quoted report was named, the answer said
            # whether a report a stranger quoted (`Re: [LAPOR #<id>]`) was anonymous.
            told_anonymous |= unknown and draft.anonymous and (
                not asked_anonymous or found_nowhere(answers, parent))
        elif names_a_mistyped_report(mail):
            # A new report whose subject names an ID one typo from a report (maybe the citizen's own anonymous one):
            # filed open, it would put their address beside it. Privacy first, as a mistyped ID with a photo by SMS.
            told_anonymous = True
            if not draft.anonymous:
                draft = draft.model_copy(update={"anonymous": True})
                log.info("message.made_anonymous", reason="mistyped_report_tag")
        if news is not None and draft.follow_up_of is None and others_parent is None and \
                not found_nowhere(answers, news.tracking_id):
            # An ID never issued: filed as before, as any mail is. Nothing was written yet: the envelope copies were
            # only read. Not someone else's report (`others_parent`): filed as any mail, it was an open report whose
            # text put that anonymous report's ID beside its sender's address (the whistleblower's, maybe, writing
            # from another one). Nor one found nowhere (the case store's 404): an anonymous new report, answered so
            # (`[email_follow_up_unknown_anonymous]`); filed as any mail, it was open, its sender's address beside
            # the ID of what may be their own anonymous report, still in a spool.
            return await self._report(mail, raw, envelope_sender, recipients, read_news=False, opening=opening,
                                      subject_is_news=subject_is_news)
        if named is not None and draft.follow_up_of is None:
            # Not added (an ID never minted, someone else's report, a file's or news): a report of its own, its text
            # as written, as such a mail by its subject's tag is ("CEK <id>" tells the agency which report it may
            # belong to).
            draft = draft.model_copy(update={"text": written, "text_truncated": normalized.draft.text_truncated})
            cut = normalized.cut
        mistyped = with_a_file.tracking_id if with_a_file is not None and not with_a_file.valid and not parent else None
        if mistyped is not None and not draft.anonymous:
            # `CEK <mistyped id>` and a photo: a report of its own, as by SMS (`_photo_with_a_tracking_id`), made
            # anonymous for the same reason: the ID typed may be the citizen's own anonymous report's. Filed open, it
            # put their address beside it.
            draft = draft.model_copy(update={"anonymous": True})
            log.info("message.made_anonymous", reason="mistyped_id_with_a_file")
        to = reply_address(mail, envelope, draft.follow_up_of, others_parent)
        if draft.anonymous:
            # Its reply is addressed by the report (`reply_payload`): where it goes is kept with the envelope copy.
            draft = draft.model_copy(update={"channel_meta": {
                **draft.channel_meta, REPLY_ADDRESS: to or mail.reply_to or mail.sender_address}})
        # The same mail sent again under a new Message-ID within the window (`gateway.same_text`, as by SMS): the
        # first one's report, answered "we already have this report" (`[email_duplicate]`). Each was a report.
        receipt = await self.intake.submit(draft, (Channel.EMAIL.value, self.settings.email.same_text_window_seconds))
        bind_message_context(tracking_id=receipt.tracking_id)
        if receipt.same_text:
            log.info("message.same_text", reason="same_text_window")
        (metrics.DUPLICATES if receipt.duplicate else metrics.ACCEPTED).labels(self.source).inc()
        if draft.follow_up_of:
            await self._remember_reply_subject(mail, draft.follow_up_of, envelope if parent == draft.follow_up_of
                                               else None)
        await self._enqueue_reply(mail, draft, receipt, normalized.language, unknown_parent, others_parent, to,
                                  mistyped, told_anonymous, told_confidential,
                                  asks_status=news is not None or grievance, cut=cut)
        if not receipt.duplicate:
            await self._note_message(report=True)
        if unknown_parent:
            log.info("message.follow_up_unknown", reason="no_such_report", follow_up_of=unknown_parent)
        if others_parent:
            log.info("message.follow_up_other_sender", reason="not_the_reports_sender", follow_up_of=others_parent)
        log.info("message.accepted", duplicate=receipt.duplicate, follow_up_of=draft.follow_up_of,
                 attachments=len(draft.attachments))
        status = "duplicate" if receipt.duplicate else "follow_up" if draft.follow_up_of else "accepted"
        return MailOutcome(status, receipt.tracking_id)

    async def _remember_reply_subject(self, mail: ParsedMail, tracking_id: str,
                                      envelope: dict[str, Any] | None) -> None:
        """The subject our confirmation of an addition to `tracking_id`'s report goes out under, remembered for the
        report (`remember_reply_subject`) when it is not the report's own: an answer quoting the confirmation under it
        (`Re: Tambahan foto`), the tag and threading fields dropped, continues the report (`_quoting_its_senders_reply`)
        as one under the report's subject does. Best effort: the addition is filed already, and without it such an
        answer is a report of its own, as before."""
        if says_the_reports_subject(mail.subject, tracking_id, envelope):
            return
        digest = subject_digest(reply_subject(tracking_id, mail.subject))
        try:
            await asyncio.to_thread(remember_reply_subject, self.redis, tracking_id, digest,
                                    self.settings.intake.envelope_ttl_seconds)
        except RedisError as error:
            log.warning("email.reply_subject_unremembered", error=type(error).__name__)

    async def _enqueue_reply(self, mail: ParsedMail, draft: ReportDraft, receipt: Receipt, language: str,
                             unknown_parent: str | None, others_parent: str | None, to: str | None,
                             mistyped: str | None, told_anonymous: bool, told_confidential: bool, *,
                             asks_status: bool = False, cut: tuple[int, int] | None = None) -> None:
        # The files not kept are named in the reply (an anonymous report's by its place alone: the worker reads their
        # names from the report's copy, as it reads where the reply goes).
        files = not_kept(draft.attachments, int(draft.channel_meta.get("attachments_omitted") or 0),
                         self.settings.email, with_names=not draft.anonymous)
        await self._queue_reply_job(reply_payload(mail, draft, receipt, language, unknown_parent, others_parent, to,
                                                  mistyped, told_anonymous, told_confidential,
                                                  asks_status=asks_status, not_kept=files,
                                                  text_cut=cut))

    async def _queue_reply_job(self, payload: dict[str, Any]) -> None:
        """The reply worker's job for `payload`, off the event loop; Redis failing is NotDurable (451: sent again)."""

        def enqueue() -> None:
            enqueue_calls(self.redis, self.settings, REPLY_QUEUE, REPLY_FUNC, [(payload,)])

        try:
            await asyncio.to_thread(enqueue)
        except RedisError as error:
            raise NotDurable(f"reply not queued: {type(error).__name__}", reason="redis_unavailable") from error


# Longer than any status query's words with a signature's leftovers: a longer mail is no CEK, and is not read twice.
MAX_QUERY_CHARS = 200


def says_the_reports_subject(subject: str, tracking_id: str, envelope: dict[str, Any] | None) -> bool:
    """Whether a mail's subject says nothing but reply prefixes, our tag and the subject of report `tracking_id` as our
    replies gave it (read from its copy, `envelope`; None: gone, and only a subject of no words says it)."""
    said = subject_said(subject)
    stored = (envelope or {}).get("subject")
    return not said or (isinstance(stored, str) and said == subject_said(reply_subject(tracking_id, stored)))


def _answers_our_reply_under_its_subject(mail: ParsedMail, thread: str, settings: EmailSettings) -> bool:
    """Whether the mail answers a reply of ours in `thread`'s report's thread (its In-Reply-To or References name it)
    under that reply's subject (`sent_with_subject`): the report's, an addition's or a status answer's, none of it
    the citizen's new words. A reply sent before its Message-ID carried the digest is read by the report's copy."""
    return any(our_tracking_id(message_id, settings) == thread and sent_with_subject(message_id, mail.subject)
               for message_id in (*mail.in_reply_to, *mail.references))


def status_query_of(mail: ParsedMail, shortest_id: int, *, thread: str | None = None) -> MailQuery | None:
    """The Tracking ID a mail asks the status of, or the mistyped one it asks with, when that is all it says
    (`mail_status_query`): its subject past reply prefixes and our tag, its body past quoted history and signature,
    and no file (a photo with a CEK is that report's addition, as by SMS: `query_with_a_file`). A subject
    with our tag is the thread's, not the citizen's new words: a reply to our acknowledgement whose own text is only
    "CEK <id>" is a query. A signature's logo (`RawAttachment.decoration`) is no file: Outlook sends it with every
    mail, and a CEK from Outlook was filed as an addition. `thread`: the report whose thread the mail answers, whose
    status a question without an ID asks ("CEK" alone in an answer to our acknowledgement); its subject is then the
    thread's (the caller compares it with the report's and the reply's it answers)."""
    if has_a_file(mail):
        return None
    return _query_words(mail, shortest_id, thread=thread)


def thread_grievance(mail: ParsedMail, shortest_id: int, thread: str) -> bool:
    """Whether the mail, in `thread`'s report's thread, asks that report's status with a grievance about its handling
    ("Kenapa belum ditanggapi?", `MailQuery.grievance`): filed as the citizen's addition, which the agency must read,
    and answered with the status it asks (`[email_follow_up_status]`). Answered that the addition was received, the
    citizen's question went unanswered. Its words alone: a mail with a file is not asked (`asks_the_threads_status`)."""
    query = _query_words(mail, shortest_id, thread=thread, grievances=True)
    return query is not None and query.grievance


def asks_the_threads_status(mail: ParsedMail, shortest_id: int, thread: str) -> bool:
    """Whether the mail, filed in `thread`'s report's thread, asks that report's status too: a grievance
    (`thread_grievance`), or words closing with a "sudah ... belum" question (`closes_asking_if_done`: "Sudah ada
    tindak lanjut belum?", "Sudah sampai ke dinas belum?", "... Sudah diperbaiki belum?" below news), which the
    grammar reads as no status question (a word of news, or none of its topics). Answered only that the addition
    was received, the citizen's question went unanswered. Not with a file, as a grievance is not."""
    return not has_a_file(mail) and (thread_grievance(mail, shortest_id, thread) or closes_asking_if_done(
        without_image_placeholders(mail.text), signer_words(mail.sender_name)))


def signs_off_alone(mail: ParsedMail) -> bool:
    """Whether the mail's words (a signature's logo aside) are only its sender's sign-off: a signature with nothing
    above it and the From's name alone in it (`only_a_signature`, `names_the_signer`), or a closing that is no thanks
    and the From's name below it (`only_signs_off`: "Salam,\nBudi" from Budi). A word of the citizen's anywhere keeps
    them: "Salam,\nJalan makin rusak", words above or in a signature, thanks ("Terima kasih" is an addition, as it
    always was)."""
    text = without_image_placeholders(mail.text).strip()
    signer = signer_words(mail.sender_name)
    if text and only_a_signature(text):  # "-- " over the From's name: anything else may be the citizen's words
        # A From with no name is read for one in its address ("budi.santoso@", "budisantoso87@"), as an anonymous
        # mail's is (`mailbox_name`: "info@", "warga@" name no one).
        joined = None
        if not signer:
            signer, joined = mailbox_name(mail.sender_address)
        return names_the_signer([line.strip() for line in text.splitlines()[1:] if line.strip()], signer,
                                joined=joined)
    return bool(text) and only_signs_off(text, signer)


def has_a_file(mail: ParsedMail) -> bool:
    """Whether the mail carries a file of the citizen's: any attachment but a signature's logo."""
    return any(not item.decoration for item in mail.attachments)


def query_with_a_file(mail: ParsedMail, shortest_id: int) -> MailQuery | None:
    """The status query a mail with a file (a signature's logo is none) opens with (`mail_status_query` with a file),
    read once for both its readings; None for a mail without a file or without such a query. For a valid ID the file
    is that report's addition, with the words after the ID (`MailQuery.words`), as a photo with `CEK <id>` by SMS;
    for a mistyped one (not `valid`) a report of its own, answered that the number was not valid
    (`[email_bad_tracking_id_photo]`), as a photo with a mistyped ID by SMS."""
    return _query_words(mail, shortest_id, with_a_file=True) if has_a_file(mail) else None


def query_opening(mail: ParsedMail, shortest_id: int) -> MailQuery | None:
    """The status query a mail without a file opens with, whatever words follow it ("CEK <id> jalan makin rusak",
    "CEK <id> kok lama sekali?", a subject's "CEK <id>" over a body of words), read as a file's words are
    (`query_with_a_file`); None for a mail with a file."""
    return None if has_a_file(mail) else _query_words(mail, shortest_id, with_a_file=True)


def _queries_of(mail: ParsedMail, shortest_id: int, *, read_news: bool, opening: MailQuery | None,
                ) -> tuple[MailQuery | None, MailQuery | None, MailQuery | None]:
    """What the mail's words ask, read together (in a thread: each reads the whole mail): its query with a file
    (`query_with_a_file`); else its opening status query (`query_opening`; `opening` as read already when not
    `read_news`) and, with `read_news`, the same when words of news follow it (`query_with_news`)."""
    with_a_file = query_with_a_file(mail, shortest_id)
    if with_a_file is not None:
        return with_a_file, None, None
    if not read_news:
        return None, opening, None
    opening = query_opening(mail, shortest_id)
    return None, opening, query_with_news(opening)


def query_with_news(query: MailQuery | None) -> MailQuery | None:
    """The mail's opening status query (`query_opening`) when words of news follow it ("CEK <id> jalan makin rusak",
    "CEK <id>" over lines of news below a closing, a subject's "CEK <id>" over a body of news), its `words` the
    addition's text. None for a mistyped ID (filed as any mail, as before), and words that tell the report nothing,
    as by SMS (`adds_to_the_report`: thanks, a sign-off, "kok lama"); a subject of other words over a bare
    `CEK <id>` names no news either."""
    if query is None or not query.valid or not query.words or not adds_to_the_report(query.words, load_grammar()):
        return None
    return query


def _query_words(mail: ParsedMail, shortest_id: int, *, with_a_file: bool = False,
                 thread: str | None = None, grievances: bool = False) -> MailQuery | None:
    """What the mail's words ask (`mail_status_query`) when they are short enough to be a query, its files aside.
    `with_a_file`: whatever follows the query is the file's words, of any length (read in linear time)."""
    if len(mail.text) > MAX_QUERY_CHARS and not with_a_file:
        return None
    text = without_image_placeholders(mail.text)
    subject = "" if thread or SUBJECT_TAG.search(mail.subject) else subject_words(mail.subject)
    if len(text) + len(subject) > MAX_QUERY_CHARS and not with_a_file:  # the thread's long subject is none of theirs
        return None
    return mail_status_query(STACKED_PREFIXES.sub("", subject), text, shortest_id=shortest_id, with_a_file=with_a_file,
                             thread=thread, signer=signer_words(mail.sender_name), grievances=grievances)


def status_payload(mail: ParsedMail, raw: bytes, query: MailQuery) -> dict[str, Any]:
    """The reply job of a CEK by mail: the worker looks the status up (workers/email_reply.py) and answers the mail
    once (`dedup`: a redelivery is answered once), threaded to it, at its From alone: a Reply-To may be anyone's,
    and the status of someone else's report is all a writer learns. Nothing of the report is in the payload. A
    mistyped ID names no report (`tracking_id` ""): the answer says the number as typed (`typed_id`) is not valid."""
    asked = {"tracking_id": query.tracking_id, "kind": "status"} if query.valid else \
        {"tracking_id": "", "kind": "bad_tracking_id", "typed_id": query.tracking_id}
    return {
        **({"no_auto_reply": True} if asks_no_auto_reply(mail) else {}),
        **asked,
        "to": mail.sender_address,
        "subject": mail.subject,
        "in_reply_to": mail.message_id,
        "references": thread_references(mail),
        "dedup": provider_message_id(mail, raw),
    }


def own_anonymous_report(redis: Redis, settings: Settings, tracking_id: str, address: str, *,
                         report_spooled: bool = False) -> dict[str, Any] | None:
    """How the answer to a CEK by mail is addressed when its From is the address of the anonymous report it asks
    about (its sender's, or the one its acknowledgement went to): by the report (`to_report`; `to_sender`: at the
    report's From rather than where it was answered), so that the job never writes that address beside the report's
    Tracking ID; its subject is the report's. None for anyone else's CEK (answered at its From, as the
    status of someone else's report is all its writer learns), a named report's, or a report no longer kept. The copy
    is kept until the answer can have used its retries, no longer (as an SMS CEK's: `status_recipient`).

    `report_spooled`: a disk spool may hold the report (`Intake.may_hold`). One whose copy is not in Redis yet
    cannot tell whose it is, and is addressed by the report all the same, answered where its acknowledgement went
    once the copy is replayed: the address asking, maybe its anonymous sender's, stood beside its Tracking ID in the
    job, retried while the spool waits and kept 30 days as a dead letter when it waited too long."""
    key = envelope_key(tracking_id)
    raw = redis.get(key)
    if raw is None and report_spooled:
        return {"to_report": tracking_id}
    try:
        envelope = orjson.loads(raw) if raw is not None else None
        if not isinstance(envelope, dict) or envelope.get("anonymous") is not True:
            return None
        meta = envelope.get("channel_meta") or {}
        sender = envelope["sender"]
        own_sender = sender["kind"] == SenderKind.EMAIL.value and sender["id"] == address.lower()
        answered = meta.get(REPLY_ADDRESS) or meta.get("reply_to")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):  # a damaged copy: answered at the From
        return None
    if not own_sender and not (isinstance(answered, str) and answered.lower() == address.lower()):
        return None
    answerable = sum(settings.queues.retry_intervals) + settings.queues.job_timeout_seconds * 2
    if 0 <= redis.ttl(key) < answerable:
        redis.expire(key, answerable)
    return {"to_report": tracking_id, **({"to_sender": True} if own_sender else {})}


def thread_references(mail: ParsedMail) -> list[str]:
    """The References of our reply to `mail`: its own and its Message-ID, the last 20 (a long thread's whole chain
    would grow every reply)."""
    return [*mail.references, *([mail.message_id] if mail.message_id else [])][-20:]


def reply_address(mail: ParsedMail, envelope: dict[str, Any] | None, follow_up: str | None,
                  others_parent: str | None) -> str | None:
    """Where a mail naming a report is answered (None: one naming none, or an ID never issued, is a new report answered
    at its Reply-To or From, as any). Someone else's mail (`others_parent`) at its From alone: answered at a Reply-To
    that is one of the report's addresses, a stranger who guessed the whistleblower's address got no answer, and one
    who guessed wrong got it, so the answer told them who sent the anonymous report. The report's sender's own mail at
    its Reply-To only when that is one of the report's addresses (`report_addresses`): a forged From with the forger's
    Reply-To would learn from the answer (an addition, or not) whether that From sent the report."""
    if others_parent:
        return mail.sender_address
    if follow_up:
        return mail.reply_to if mail.reply_to in report_addresses(envelope) else mail.sender_address
    return None


# The reply kinds the release before this one does not know -> the one it knows that says the most of it: the job
# names that one as `kind`, and its own under `text`, which a worker that knows it sends (that release's does too).
# Every kind this version added maps to one that release knew (tests/test_email_reply.py, PREVIOUS_WORKERS_KINDS): a
# worker of that release may take any job of this one's during a rolling upgrade. An anonymous whistleblower's keeps
# the anonymity sentence (`follow_up_unknown_anonymous`, which that release knew); mapped to the plain
# `follow_up_unknown`, that release's worker answered without it. A kind that release knew is named as it is.
OLDER_REPLY_KINDS = {"follow_up_status": "follow_up", "duplicate_anonymous": "duplicate",
                     "duplicate_confidential": "duplicate", "duplicate_anonymous_confidential": "duplicate",
                     "follow_up_unknown_confidential": "follow_up_unknown",
                     "follow_up_unknown_anonymous_confidential": "follow_up_unknown_anonymous",
                     "bad_tracking_id_photo_confidential": "bad_tracking_id_photo"}


def reply_payload(mail: ParsedMail, draft: ReportDraft, receipt: Receipt, language: str,
                  unknown_parent: str | None = None, others_parent: str | None = None,
                  to: str | None = None, mistyped: str | None = None,
                  told_anonymous: bool | None = None, told_confidential: bool | None = None, *,
                  asks_status: bool = False, not_kept: list[dict[str, Any]] | None = None,
                  text_cut: tuple[int, int] | None = None) -> dict[str, Any]:
    """What the reply worker needs, and nothing else of the report. A mail that named a report never issued
    (`unknown_parent`), or someone else's (`others_parent`), is answered with the new report's Tracking ID and the
    ID it named: the citizen learns the Tracking ID their mail got, in the subject too, so their next answer threads
    to it. Nothing of the report named is told but that it was not theirs to add to. Answered at `to`, or else at
    the mail's Reply-To or From; not at all when the mail asks for no automatic answer (`no_auto_reply`). A file sent
    with a CEK of a mistyped ID (`mistyped`: the number as typed) is answered that the number is not valid, and with
    the new report's Tracking ID (`typed_id`), threaded as any acknowledgement. A new report's acknowledgement says
    it is anonymous when `told_anonymous` is (None: when the report is), not when another's report named made it so;
    so does the answer to a mail naming an unknown ID (`[email_follow_up_unknown_anonymous]`). It says the report is
    confidential when `told_confidential` is (None: when the report is), likewise, and so do those two answers and the
    answer to a mistyped ID with a file (`[email_follow_up_unknown_confidential]`,
    `[email_follow_up_unknown_anonymous_confidential]`, `[email_bad_tracking_id_photo_confidential]`).
    An anonymous report's reply is addressed by the report (`to_report`): its address, subject and Message-IDs are read
    back from the report's envelope copy (`REPLY_ADDRESS`), and never stand in the job beside its Tracking ID.
    `not_kept`: the mail's files not kept (`store.not_kept`), which the reply names and asks to be sent again.
    `text_cut`: the text's length and the characters of it kept when it was cut at `intake.max_text_chars`
    (`Normalized.cut`), which the reply tells and asks the rest of (`[email_text_truncated]`); numbers alone, in an
    anonymous report's job too."""
    named = unknown_parent or others_parent
    # A mail delivered again (`receipt.duplicate`: a sending server's retry after our 451, the IMAP poller reading it
    # again) is answered as its first delivery was: a mail is answered once (workers/email_reply.py), so this reply
    # goes out only when the first delivery's did not, and is the citizen's first answer. It was "we already have this
    # report" (`[email_duplicate]`), without how to add to it, to a citizen who had sent it once. A citizen's own mail
    # sent again is no delivery again: their client gives it a Message-ID of its own.
    anonymous = draft.anonymous if told_anonymous is None else told_anonymous
    confidential = draft.confidential if told_confidential is None else told_confidential
    if receipt.same_text and not draft.follow_up_of:
        # the same mail sent again within the window (`gateway.same_text`): its first one's Tracking ID, its flags
        # told as the acknowledgement told them (`[email_duplicate_anonymous]`...), as by SMS
        kind = flagged("duplicate", anonymous=anonymous, confidential=confidential)
    elif draft.follow_up_of:
        # a CEK's words of news (`query_with_news`): the worker looks the report's status up and gives it with them
        kind = "follow_up_status" if asks_status else "follow_up"
    elif unknown_parent:
        kind = flagged("follow_up_unknown", anonymous=anonymous, confidential=confidential)
    elif others_parent:
        kind = "follow_up_other_sender"
    elif mistyped is not None:
        kind = flagged("bad_tracking_id_photo", anonymous=True, confidential=confidential)
    else:
        kind = acknowledgement(anonymous, confidential)
    # A kind this version added goes as the kind an older reply worker knows, and its own under `text`: during a
    # rolling upgrade an older worker took "ack_confidential" for a bug (KeyError, retried, dead-lettered: the citizen
    # never answered), where "ack" answers them, without the sentence it did not know (`channels.email.reply`).
    older = OLDER_REPLY_KINDS.get(kind)
    payload = {
        **({"follow_up_of": named} if named else {}),
        **({"typed_id": mistyped} if mistyped is not None else {}),
        **({"text": kind} if older else {}),
        **({"no_auto_reply": True} if asks_no_auto_reply(mail) else {}),  # the worker skips it (and says so)
        **({"not_kept": not_kept} if not_kept else {}),
        **({"text_cut": {"length": text_cut[0], "kept": text_cut[1]}} if text_cut else {}),
        "tracking_id": draft.follow_up_of or receipt.tracking_id,
        "report_id": receipt.tracking_id,
        "kind": older or kind,
        "to": to or mail.reply_to or mail.sender_address,
        "subject": mail.subject,
        "in_reply_to": mail.message_id,
        "references": thread_references(mail),
        "language": language,
        "dedup": draft.channel_message_id,
    }
    if not draft.anonymous:
        return payload
    # An anonymous report's: addressed by the report, whose envelope copy keeps the rest (`ADDRESSED_BY_REPORT`).
    return {**{key: value for key, value in payload.items() if key not in ADDRESSED_BY_REPORT},
            "to_report": receipt.tracking_id, **({"report_spooled": True} if receipt.spooled else {})}
