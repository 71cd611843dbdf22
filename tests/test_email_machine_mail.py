"""Machine mail that carries none of the loop-guard fields (Auto-Submitted, Precedence, List-*, multipart/report ...):
an Outlook message recall, a DMARC aggregate report, a plain-text bounce (by its From, subject, first words and fields),
a Lotus Notes return receipt, known by their words (config/email.toml) and shape; a plain-text bounce of one of our
replies, recorded on its report as a DSN of one is; and mail from a noreply address, filed and never answered
there. Each such mail was filed as a citizen's report and answered. A citizen's mail that only looks like one (a
complaint about a recall or a bounce, a notice they forward or quote) is still a report: a false positive drops it.

The real mails of these kinds are the corpus's rows (tests/test_email_corpus.py); here, what tells one from a citizen's.
"""

from __future__ import annotations

import gzip
import smtplib
import threading
import time
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid

import pytest
from redis import Redis

from channels.email.guards import BOUNCES, SUPPRESSED, Bounce, bounce_of_our_reply, is_noreply_address, loop_reason
from channels.email.machine_words import _notice_text, load_machine_words
from channels.email.parse import parse_mail
from gateway.settings import Settings
from tests.conftest import log_events
from tests.email_support import (
    RECIPIENT,
    SmtpServerThread,
    envelope_count,
    fixture,
    outbox,
    run_replies,
    stored_envelope,
    tnef_stream,
)

RECALL_LINE = 'Dewi Kartika would like to recall the message, "Laporan puskesmas tutup".'
# A citizen's complaint of some length, which a machine notice's few lines never reach.
COMPLAINT = ("Saya mengirim surel ke kementerian tiga kali tentang bantuan sosial yang tidak sampai ke keluarga kami "
             "di Dusun Krajan, tetapi surel saya selalu ditolak dan kembali. Padahal alamatnya saya salin dari situs "
             "resmi kementerian. Bantuan sudah empat bulan tidak cair, dan petugas desa bilang data kami hilang. Mohon "
             "dibantu agar laporan ini sampai ke pihak yang berwenang, karena kami tidak tahu lagi harus mengadu ke "
             "mana. Terima kasih.")


def mail(subject: str, body: str, sender: str = "Warga <warga@example.net>", *, files: tuple[tuple[str, str], ...] = (),
         reply_to: str | None = None, fields: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A mail of `body` and `files` ((name, content type) each, a few bytes of content), with header `fields`."""
    message = EmailMessage()
    for name, value in fields:
        message[name] = value
    message["From"], message["To"], message["Subject"] = sender, RECIPIENT, subject
    message["Message-ID"] = make_msgid(domain="example.net")
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(body)
    for name, content_type in files:
        maintype, subtype = content_type.split("/")
        data = gzip.compress(b"<feedback/>", mtime=0) if "!" in name else b"\x89PNG bukti"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes().replace(b"\n", b"\r\n")


def tnef_mail(subject: str, message_class: str, *, photo: bool = False) -> bytes:
    """A mail in Outlook's rich text: a line of text and a winmail.dat of `message_class`, with no file inside."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Dewi <dewi@dinkes.example.go.id>", RECIPIENT, subject
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("Dewi Kartika ingin menarik kembali pesan ini.")
    message.add_attachment(tnef_stream([], message_class), maintype="application", subtype="ms-tnef",
                           filename="winmail.dat")
    if photo:
        message.add_attachment(b"\x89PNG bukti", maintype="image", subtype="png", filename="bukti.png")
    return message.as_bytes().replace(b"\n", b"\r\n")


DMARC_SUBJECT = "Report domain: lapor.go.id Submitter: google.com Report-ID: 4719326508861294721"
DMARC_FILE = ("google.com!lapor.go.id!1764806400!1764892799.zip", "application/zip")
POSTMASTER = "Mail Delivery System <postmaster@mail.dinas.example.go.id>"
RECEIPT_TABLE = ("Your document:   Jalan berlubang\nwas received by:   Sutrisno Hadi/DPUPR/PEMKAB\n"
                 "at:   05/12/2026 10:05")


# Bounces' own words, as each MTA writes them (Postfix, Exim's delay warning, qmail, Gmail, Yahoo, Exchange).
POSTFIX_WORDS = ("This is the mail system at host mail.kelurahan.example.id.\n\nI'm sorry to have to inform you that "
                 "your message could not\nbe delivered to one or more recipients. It's attached below.\n\n"
                 "                   The mail system\n\n<lurah@kelurahan.example.id>: host "
                 "mail.kelurahan.example.id[192.0.2.7] said: 550\n    5.1.1 <lurah@kelurahan.example.id>: Recipient "
                 "address rejected: User unknown (in reply to RCPT TO command)\n")
EXIM_DELAY_WORDS = ("This message was created automatically by mail delivery software.\nA message that you sent has "
                    "not yet been delivered to one or more of its\nrecipients after more than 24 hours on the queue on "
                    "srv1.hosting.example.id.\n\nThe message identifier is:     1tJ7Ql-0004Zz-3a\n\n"
                    "No action is required on your part. Delivery attempts will continue for\nsome time.\n")
POSTFIX_DELAY_WORDS = ("This is the mail system at host mail.kelurahan.example.id.\n\n"
                       "####################################################################\n"
                       "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
                       "####################################################################\n\n"
                       "<lurah@kelurahan.example.id>: host mail.kelurahan.example.id[192.0.2.7] said: 451 4.7.1 "
                       "Try again later (in reply to RCPT TO command)\n")
EXCHANGE_DELAY_WORDS = ("Delivery is delayed to these recipients or groups:\n\nsekretariat@dinas.example.go.id\n\n"
                        "Subject: [LAPOR #10000057] Jalan berlubang\n\nThis message hasn't been delivered yet. "
                        "Delivery will continue to be attempted.\n\n#450 4.4.7 Message delayed ##\n")
QMAIL_WORDS = ("Hi. This is the qmail-send program at mail.desa.example.id.\nI'm afraid I wasn't able to deliver your "
               "message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work "
               "out.\n\n<sekdes@desa.example.id>:\nSorry, no mailbox here by that name. (#5.1.1)\n")
GMAIL_WORDS = ("** Address not found **\n\nYour message wasn't delivered to kades@sukamaju.example.id because the "
               "address couldn't be found, or is unable to receive mail.\n\nThe response from the remote server was:\n"
               "550 5.1.1 <kades@sukamaju.example.id>: Recipient address rejected: User unknown\n")
YAHOO_WORDS = ("Sorry, we were unable to deliver your message to the following address.\n\n"
               "<kades@sukamaju.example.id>:\nRemote host said: 550 5.1.1 <kades@sukamaju.example.id>... User Unknown "
               "[RCPT_TO]\n")
EXCHANGE_WORDS = ("Delivery has failed to these recipients or groups:\n\nsekretariat@dinas.example.go.id\nThe e-mail "
                  "address you entered couldn't be found.\n\nDiagnostic information for administrators:\n\n"
                  "Generating server: EXCH02.dinas.example.go.id\n\nsekretariat@dinas.example.go.id\n#550 5.1.1 "
                  "RESOLVER.ADR.RecipNotFound; not found ##\n")
# Exchange's system mailbox, which sends its NDRs (config/email.toml [bounce] senders).
EXCHANGE_SYSTEM = "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@dinas.example.go.id>"
# What Thunderbird's, Apple Mail's and Roundcube's Redirect add to the mail they send on (RFC 5322 3.6.6).
REDIRECTED = (("Resent-From", "Budi <budi@example.net>"), ("Resent-Date", "Sat, 05 Dec 2026 10:20:00 +0700"),
              ("Resent-To", RECIPIENT), ("Resent-Message-ID", "<resent-1@example.net>"))
# Where a bounce comes from when its MTA's own address was rewritten or is not postmaster's: a forwarding mailbox.
FORWARDER = "Pengaduan Kelurahan <pengaduan@kelurahan.example.id>"
GMAIL_FORWARD_DIVIDER = ("---------- Forwarded message ---------\nFrom: Mail Delivery System "
                         "<MAILER-DAEMON@mail.kelurahan.example.id>\nDate: Sat, 5 Dec 2026 at 10:02\n"
                         "Subject: Undelivered Mail Returned to Sender\nTo: <warga@example.net>\n\n\n")


def mail_attaching(subject: str, body: str, attached: bytes) -> bytes:
    """A citizen's mail of `body` with the mail `attached` (message/rfc822): their evidence."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Warga <warga@example.net>", RECIPIENT, subject
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(body)
    message.add_attachment(BytesParser(policy=policy.default).parsebytes(attached))
    return message.as_bytes().replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class Row:
    id: str
    raw: bytes
    reason: str | None  # None: a report
    # MAIL FROM (the IMAP poller's: the newest Return-Path); None: none known, the mail's newest Return-Path read
    envelope: str | None = "someone@example.net"


ROWS = [
    # an Outlook message recall: its subject, its one line, no file but winmail.dat
    Row("recall-fixture", fixture("exchange_recall_external"), "recall"),
    Row("recall-plain", mail("Recall: Laporan puskesmas tutup", RECALL_LINE), "recall"),
    Row("recall-with-winmail-dat", mail("Recall: Laporan puskesmas tutup", RECALL_LINE,
                                        files=(("winmail.dat", "application/ms-tnef"),)), "recall"),
    Row("recall-line-wrapped", mail("RECALL: Laporan", "Dewi Kartika would like to recall\nthe message, \"Laporan\"."),
        "recall"),
    # its winmail.dat's class says it whatever the language: Outlook in Indonesian, rich text to us
    Row("recall-class-in-winmail-dat", tnef_mail("Penarikan: Laporan puskesmas tutup", "IPM.Outlook.Recall"), "recall"),
    Row("note-class-in-winmail-dat", tnef_mail("Penarikan: Laporan puskesmas tutup", "IPM.Note"), None),
    Row("forwarded-recall-class", tnef_mail("FW: Penarikan: Laporan puskesmas tutup", "IPM.Outlook.Recall"), None),
    Row("recall-class-beside-a-photo", tnef_mail("Laporan", "IPM.Outlook.Recall", photo=True), None),
    # a citizen's words about a recall, or one they forward, quote or answer: a report
    Row("citizen-recall-subject-own-words", mail("Recall: susu formula ditarik tapi masih dijual",
                                                 "Susu formula yang ditarik BPOM masih dijual di toko dekat pasar."),
        None),
    Row("citizen-recall-of-the", mail("Recall of the vehicles never happened",
                                      "The dealer never recalled the faulty buses, they still carry passengers."),
        None),
    Row("forwarded-recall", mail("Fwd: Recall: Undangan rapat", RECALL_LINE), None),
    Row("answer-to-a-recall", mail("RE: Recall: Undangan rapat", "Surel apa yang ditarik pak?\n\n" + RECALL_LINE),
        None),
    Row("recall-quoted-in-a-long-complaint", mail("Recall: surat dinas", RECALL_LINE + "\n\n" + COMPLAINT), None),
    Row("recall-quoted-below-a-line", mail("Recall: surat dinas", "Kenapa surat pungli ini ditarik?\n\n" + RECALL_LINE),
        None),
    Row("recall-quoted-above-a-line", mail("Recall: surat dinas", RECALL_LINE + "\nIsinya permintaan uang."), None),
    # a citizen's words on the recall's own line, after it or before it
    Row("recall-line-then-the-citizens-words-on-it", mail("Recall: surat dinas", RECALL_LINE
        + " Isinya permintaan uang Rp 2 juta dari kepala dinas."), None),
    Row("citizens-question-then-the-recall-line", mail("Recall: surat dinas", "Kenapa ditarik? " + RECALL_LINE), None),
    Row("citizens-cry-then-the-recall-line", mail("Recall: surat dinas", "Tolong pak! " + RECALL_LINE), None),
    # the subject in its quotes holds what a subject may ("Jl.", quotes of its own, a question), the name "Dr." and ","
    Row("recall-subject-with-its-own-stops-and-quotes", mail("Recall: Jalan", 'Dr. Dewi Kartika, M.Kes would like to '
        'recall the message, "Jalan berlubang di Jl. Merdeka, \"lagi\". Kapan?".'), "recall"),
    Row("recall-of-an-empty-subject", mail("Recall:", 'Dewi Kartika would like to recall the message, "".'), "recall"),
    Row("recall-with-a-photo", mail("Recall: Laporan puskesmas tutup", RECALL_LINE,
                                    files=(("bukti.png", "image/png"),)), None),
    # a DMARC aggregate report: its subject (RFC 7489) and its report files alone
    Row("dmarc-google-fixture", fixture("dmarc_aggregate_google"), "dmarc_report"),
    Row("dmarc-microsoft-fixture", fixture("dmarc_aggregate_microsoft"), "dmarc_report"),
    Row("dmarc-built", mail(DMARC_SUBJECT, "This is an aggregate report from google.com.", files=(DMARC_FILE,)),
        "dmarc_report"),
    Row("dmarc-subject-no-file", mail(DMARC_SUBJECT, "This is an aggregate report from google.com."), None),
    Row("dmarc-subject-with-a-photo", mail(DMARC_SUBJECT, "Laporan", files=(DMARC_FILE, ("bukti.png", "image/png"))),
        None),
    Row("dmarc-file-under-a-citizens-subject", mail("Situs dinas dipalsukan", "Lampiran dari admin kami.",
                                                    files=(DMARC_FILE,)), None),
    Row("forwarded-dmarc", mail("Fwd: " + DMARC_SUBJECT, "Laporan dari admin", files=(DMARC_FILE,)), None),
    # a plain-text bounce from postmaster, whose null sender was lost on the way
    Row("postfix-bounce-fixture", fixture("postfix_plain_bounce_postmaster"), "bounce_subject"),
    Row("exchange-undeliverable-fixture", fixture("exchange_plain_undeliverable_postmaster"), "bounce_subject"),
    *(Row(f"postmaster-{subject.split(':')[0].split()[0].lower()}", mail(subject, "550 5.1.1 User unknown", POSTMASTER),
          "bounce_subject")
      for subject in ("Delivery Status Notification (Failure)", "Mail delivery failed: returning message to sender",
                      "Undeliverable: Jalan rusak", "Returned mail: see transcript for details")),
    # a citizen's mail about a bounce, a bounce forwarded, postmaster's own other mail: reports
    Row("citizen-undeliverable-subject", mail("Undeliverable: surel saya ke kementerian selalu ditolak", COMPLAINT),
        None),
    Row("citizen-forwards-a-bounce", mail("Fwd: Undelivered Mail Returned to Sender", COMPLAINT), None),
    Row("postmaster-ordinary-subject", mail("Server surel kelurahan diretas", "Akun admin kami diambil alih.",
                                            POSTMASTER), None),
    # a plain-text bounce: a sign no mail client writes (a mail system's address in its From, a null reverse path,
    # Exim's X-Failed-Recipients) and another sign (a mail system's name, a bounce's subject, a bounce's first words)
    Row("exchange-ndr-text-fixture", fixture("exchange_ndr_text_of_our_reply"), "bounce_subject"),
    Row("exchange-ndr-backscatter-fixture", fixture("exchange_ndr_text_backscatter"), "bounce_subject"),
    Row("microsoft-outlook-name-and-a-null-return-path", mail(
        "Undeliverable: Jalan rusak", EXCHANGE_WORDS, "Microsoft Outlook <ndr@relay.dinas.example.go.id>",
        fields=(("Return-Path", "<>"),)), "bounce_text", envelope=None),
    Row("mail-delivery-system-name-exim-delay-words-and-a-null-return-path", mail(
        "Warning: message 1tJ7Ql-0004Zz-3a delayed 24 hours", EXIM_DELAY_WORDS,
        "Mail Delivery System <relay@forward.kelurahan.example.id>", fields=(("Return-Path", "<>"),)), "bounce_text",
        envelope=None),
    Row("qmail-words-and-a-null-return-path", mail("Laporan", QMAIL_WORDS, FORWARDER, fields=(("Return-Path", "<>"),)),
        "bounce_text", envelope=None),
    # a null reverse path in the newest Return-Path field alone, with a space between its brackets; a bounce's first
    # words after a byte order mark. An older null one below a forwarder's is a hop before it, which a citizen's mail
    # carries too: with a typed bounce subject it made two signs, and their mail was dropped; such a bounce is filed
    Row("postfix-words-and-a-null-return-path-below-a-forwarders", mail(
        "Laporan", POSTFIX_WORDS, FORWARDER, fields=(("Return-Path", "<srs0=k3x9=kelurahan.example.id=p@fwd.example>"),
                                                     ("Return-Path", "<>"))), None),
    # over SMTP, a Return-Path in the mail is a hop before its MAIL FROM (a forwarder's): no null reverse path
    Row("citizens-typed-bounce-subject-and-a-null-return-path-before-a-forwarders-mail-from", mail(
        "Delivery Failure bantuan sosial", "Bantuan sosial belum diterima warga RT 02 sejak Agustus.", FORWARDER,
        fields=(("Return-Path", "<>"),)), None, envelope="srs0=k3x9=kelurahan.example.id=p@fwd.example"),
    Row("citizens-typed-bounce-subject-and-a-null-return-path-below-a-forwarders", mail(
        "Delivery Failure bantuan sosial", "Bantuan sosial belum diterima warga RT 02 sejak Agustus.", FORWARDER,
        fields=(("Return-Path", "<srs0=k3x9=kelurahan.example.id=p@fwd.example>"), ("Return-Path", "<>"))), None),
    Row("qmail-words-and-a-null-return-path-with-a-space", mail("Laporan", QMAIL_WORDS, FORWARDER,
                                                                fields=(("Return-Path", "< >"),)), "bounce_text",
        envelope=None),
    Row("postfix-words-after-a-byte-order-mark-and-a-null-return-path", mail(
        "Laporan", "\ufeff" + POSTFIX_WORDS, FORWARDER, fields=(("Return-Path", "<>"),)), "bounce_text", envelope=None),
    # a mail system's name, a bounce's subject and its first words are what a citizen can type or paste: without a
    # sign no mail client writes, a report in any number (a bounce a forwarding mailbox sends on under its own From,
    # a mail system's name at an address of no mail system's, is filed: a bogus case at worst, never a lost report)
    Row("citizen-named-microsoft-outlook-under-a-typed-bounce-subject", mail(
        "Undeliverable: surel saya ke Dinas PU", COMPLAINT, "Microsoft Outlook <budi@example.net>"), None),
    Row("citizen-named-mail-delivery-system-under-a-typed-bounce-subject", mail(
        "Mail delivery failed: laporan saya", COMPLAINT, "Mail Delivery System <budi@example.net>"), None),
    Row("citizen-pastes-an-exchange-ndr-above-their-words-under-its-subject", mail(
        "Undeliverable: surel saya ke kementerian", EXCHANGE_WORDS + "\n" + COMPLAINT), None),
    Row("citizen-pastes-gmails-address-not-found-above-their-words-under-its-subject", mail(
        "Delivery Status Notification (Failure)", GMAIL_WORDS + "\n" + COMPLAINT), None),
    Row("citizen-named-microsoft-outlook-pastes-an-ndr-under-its-subject", mail(
        "Undeliverable: Jalan rusak", EXCHANGE_WORDS, "Microsoft Outlook <ndr@relay.dinas.example.go.id>"), None),
    Row("mail-delivery-subsystem-name-of-no-mail-systems-address", mail(
        "Delivery Status Notification (Failure)", GMAIL_WORDS, "Mail Delivery Subsystem <bounce@relay.example.net>"),
        None),
    Row("bounce-subject-and-postfix-words-from-a-forwarder", mail("Undelivered Mail Returned to Sender", POSTFIX_WORDS,
                                                                  FORWARDER), None),
    Row("yahoo-words-under-its-subject-from-a-forwarder", mail("Failure Notice", YAHOO_WORDS, FORWARDER), None),
    # a bounce a person sent on to us with their client's Redirect (Resent-From, its From, subject and fields kept):
    # their evidence; sent on by a mail system or by us, a bounce
    Row("citizen-redirects-an-exchange-ndr", mail("Undeliverable: Jalan rusak SDN 3", EXCHANGE_WORDS, EXCHANGE_SYSTEM,
                                                  fields=REDIRECTED), None),
    Row("citizen-redirects-a-bounce-with-x-failed-recipients", mail(
        "Laporan", "Jalan rusak.", FORWARDER,
        fields=(*REDIRECTED, ("X-Failed-Recipients", "kades@sukamaju.example.id"))), None),
    Row("citizen-redirects-an-ndr-with-a-null-return-path", mail(
        "Undeliverable: Jalan rusak", EXCHANGE_WORDS, "Microsoft Outlook <ndr@relay.dinas.example.go.id>",
        fields=(*REDIRECTED, ("Return-Path", "<>"))), None),
    Row("citizen-resends-an-ndr-named-by-resent-sender", mail(
        "Undeliverable: Jalan rusak SDN 3", EXCHANGE_WORDS, EXCHANGE_SYSTEM,
        fields=(("Resent-Sender", "budi@example.net"),)), None),
    Row("postmaster-redirects-an-exchange-ndr", mail("Undeliverable: Jalan rusak SDN 3", EXCHANGE_WORDS,
                                                     EXCHANGE_SYSTEM, fields=(("Resent-From",
                                                                               "postmaster@relay.example.id"),)),
        "bounce_subject"),
    Row("we-redirect-an-exchange-ndr", mail("Undeliverable: Jalan rusak SDN 3", EXCHANGE_WORDS, EXCHANGE_SYSTEM,
                                            fields=(("Resent-From", f"LAPOR! <{RECIPIENT}>"),)), "bounce_subject"),
    Row("x-failed-recipients", mail("Laporan", "Jalan rusak.", FORWARDER,
                                    fields=(("X-Failed-Recipients", "kades@sukamaju.example.id"),)), "bounce_header"),
    # one sign alone, or a bounce a citizen forwards, quotes, pastes or attaches: a report
    Row("citizen-forwards-a-bounce-with-words", mail("Fwd: Undelivered Mail Returned to Sender", "Surel saya ke "
        "kelurahan ditolak terus, mohon dibantu.\n\n" + GMAIL_FORWARD_DIVIDER + POSTFIX_WORDS), None),
    Row("citizen-forwards-a-bounce-without-words", mail("Fwd: Undelivered Mail Returned to Sender",
                                                        GMAIL_FORWARD_DIVIDER + POSTFIX_WORDS), None),
    Row("citizen-quotes-a-bounce-below-their-words", mail("Surel ke kelurahan selalu ditolak",
                                                          COMPLAINT + "\n\n" + POSTFIX_WORDS), None),
    Row("citizen-pastes-a-bounce-above-their-words", mail("Surel ke kelurahan selalu ditolak",
                                                          POSTFIX_WORDS + "\n\n" + COMPLAINT), None),
    Row("citizen-attaches-a-bounce-under-its-subject", mail_attaching(
        "Undelivered Mail Returned to Sender", "", fixture("postfix_plain_bounce_postmaster")), None),
    Row("citizen-named-microsoft-outlook", mail("Jalan rusak di depan SDN 3", COMPLAINT,
                                                "Microsoft Outlook <budi.santoso@example.net>"), None),
    Row("citizen-with-a-null-return-path", mail("Jalan rusak di depan SDN 3", COMPLAINT,
                                                fields=(("Return-Path", "<>"),)), None),
    # 100 KB a mail system's words are looked for in, read once: white space before them, their first words repeated
    # by a citizen, the words of several bounces run together
    Row("100-kb-of-white-space-before-a-bounces-words", mail("Undelivered Mail Returned to Sender",
                                                              " \t\n" * 34_000 + POSTFIX_WORDS, FORWARDER,
                                                              fields=(("Return-Path", "<>"),)), "bounce_text",
        envelope=None),
    Row("100-kb-of-a-bounces-first-words-repeated", mail("Laporan", "Hi. This is the qmail-send program at " * 2_700),
        None),
    Row("100-kb-of-bounces-words-run-together", mail("Undelivered Mail Returned to Sender",
                                                     "".join((POSTFIX_WORDS + QMAIL_WORDS).split()) * 300), None),
    # a Lotus Notes return receipt: its subject and its table, its labels wrapped or not
    Row("domino-receipt-fixture", fixture("domino_return_receipt"), "return_receipt"),
    Row("domino-receipt-one-line-labels", mail("Return Receipt", RECEIPT_TABLE, "Sutrisno <s@pemkab.example.go.id>"),
        "return_receipt"),
    Row("domino-receipt-labels-inside-the-subjects-words", mail("Return Receipt", "Your document: [LAPOR #10000057] "
        "Pengawasan dana desa, Surat: 12\nwas received by: Budi/DPMD\nat: 05/12/2026 10:05"), "return_receipt"),
    # the receipt's time as Notes writes it, with AM/PM or a zone; a citizen's words after it, on its line
    *(Row(f"domino-receipt-time-{at.replace(' ', '-').replace('/', '').replace(':', '')}", mail(
        "Return Receipt", f"Your document: Jalan berlubang\nwas received by: Sutrisno\nat: {at}"), "return_receipt")
      for at in ("12/05/2026 10:05:01 AM", "05.12.2026 10.05", "2026-12-05 10:05 WIB", "05/12/2026 10:05:01 ZE7")),
    Row("receipt-then-the-citizens-words-on-its-last-line", mail("Return Receipt", "Your document: Laporan pungli "
        "SMPN 2\nwas received by: Budi/DISDIK\nat: 05/12/2026 10:05 tapi sampai sekarang kepala sekolah masih minta "
        "Rp 500.000 per siswa."), None),
    Row("receipt-then-a-citizens-word-after-its-time", mail("Return Receipt", RECEIPT_TABLE + " tolong"), None),
    Row("receipt-whose-time-is-words", mail("Return Receipt", "Your document: Jalan berlubang\nwas received by: "
        "Sutrisno\nat: kemarin sore"), None),
    Row("citizen-return-receipt-subject", mail("Return receipt paket bansos tidak pernah ada",
                                               "Kantor pos tidak memberi tanda terima paket bansos kami."), None),
    Row("return-receipt-with-a-photo", mail("Return Receipt", RECEIPT_TABLE, files=(("bukti.png", "image/png"),)),
        None),
    Row("return-receipt-then-a-line", mail("Return Receipt", RECEIPT_TABLE + "\n\nTapi belum ada tindak lanjut."),
        None),
    Row("return-receipt-form-filled-with-words", mail("Return Receipt", "\n".join(
        f"{label}   {COMPLAINT[:190]}" for label in ("Your document:", "was received by:", "at:"))), None),
    Row("forwarded-return-receipt", mail("Fwd: Return Receipt", "Dinas sudah membaca surel saya.\n\n" + RECEIPT_TABLE),
        None),
    # a noreply sender is no loop reason: its mail may be a citizen's report (a web form's, a school system's)
    Row("noreply-sender", mail("Pengaduan warga", "Petugas meminta uang.", "Formulir <noreply@desa.example.id>"), None),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_machine_mail_is_known_by_its_words_and_a_citizens_look_alike_is_a_report(settings: Settings,
                                                                                  row: Row) -> None:
    """Each row read at once (the guards run on the SMTP server's event loop): the 100 KB ones too."""
    parsed = parse_mail(row.raw)
    started = time.perf_counter()
    assert loop_reason(parsed, row.envelope, settings.email) == row.reason
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("address", "noreply"), [
    ("noreply@desa.example.id", True), ("no-reply@perizinan.example.go.id", True), ("No_Reply@x.example", True),
    ("noreply-dmarc-support@google.com", True), ("tlsrpt-noreply@x.example", True), ("DoNotReply@x.example", True),
    ("do-not-reply@x.example", True), ("sistem.dontreply@x.example", True), ("jangan-balas@desa.example.id", True),
    ("noreply+laporan@x.example", True), ("<noreply@x.example>", True),
    ("noreplyanto@gmail.com", False), ("reply@x.example", False), ("no@x.example", False), ("warga@x.example", False),
    ("nonoreply@x.example", False), ("warga@noreply.example", False), ("", False),
], ids=lambda value: str(value))
def test_a_noreply_address_is_told_by_its_local_part(address: str, noreply: bool) -> None:
    assert is_noreply_address(address) is noreply


@pytest.mark.parametrize(("name", "reason"), [
    ("exchange_recall_external", "recall"), ("dmarc_aggregate_google", "dmarc_report"),
    ("exchange_ndr_text_backscatter", "bounce_subject"), ("domino_return_receipt", "return_receipt")])
def test_machine_mail_not_filed_is_logged_by_reason_without_address_or_words(  # type: ignore[no-untyped-def]
        smtp_server: SmtpServerThread, email_settings: Settings, redis: Redis, log_stream, name: str,
        reason: str) -> None:
    raw = fixture(name)
    before = SUPPRESSED.labels(reason)._value.get()
    result = smtp_server.deliver(raw, mail_from="sender@example.net")
    assert result.data_code == 250 and result.tracking_id is None
    run_replies(email_settings, redis)
    assert envelope_count(redis) == 0 and outbox(email_settings) == []
    assert SUPPRESSED.labels(reason)._value.get() == before + 1
    events = log_events(log_stream)
    assert [event["reason"] for event in events if event["event"] == "email.suppressed"] == [reason]
    parsed = parse_mail(raw)
    logged = log_stream.getvalue()
    for secret in (parsed.sender_address, parsed.subject, parsed.text.splitlines()[0]):
        assert secret not in logged


@dataclass(frozen=True)
class Answered:
    id: str
    raw: bytes
    to: str | None  # where our answer goes; None: not sent


ANSWERED = [
    # a citizen's complaint about a bounce, under a bounce's subject, or about a recall: filed and answered
    Answered("citizen-undeliverable", mail("Undeliverable: surel saya ke kementerian selalu ditolak", COMPLAINT),
             "warga@example.net"),
    Answered("citizen-recall", mail("Recall: susu formula ditarik tapi masih dijual",
                                    "Susu formula yang ditarik BPOM masih dijual di toko dekat pasar."),
             "warga@example.net"),
    # a noreply sender's mail: filed; answered at a Reply-To that names someone, never at a noreply address
    Answered("noreply-from-alone", mail("Pengaduan warga", "Petugas meminta uang.", "Formulir <noreply@d.example.id>"),
             None),
    Answered("noreply-from-citizens-reply-to", mail("Pengaduan warga", "Petugas meminta uang.",
                                                    "Formulir <noreply@d.example.id>", reply_to="sri@example.net"),
             "sri@example.net"),
    Answered("citizens-from-noreply-reply-to", mail("Pengaduan warga", "Petugas meminta uang.",
                                                    reply_to="no-reply@d.example.id"), None),
    Answered("anonymous-from-noreply", mail("ANONIM pungli", "Petugas meminta uang.",
                                            "Sistem <donotreply@d.example.id>"), None),
    Answered("name-like-noreply", mail("Pengaduan", "Petugas meminta uang.", "Noreplyanto <noreplyanto@example.net>"),
             "noreplyanto@example.net"),
]


@pytest.mark.parametrize("row", ANSWERED, ids=[row.id for row in ANSWERED])
def test_a_report_is_filed_and_never_answered_at_a_noreply_address(  # type: ignore[no-untyped-def]
        smtp_server: SmtpServerThread, email_settings: Settings, redis: Redis, log_stream, row: Answered) -> None:
    result = smtp_server.deliver(row.raw, mail_from="sender@example.net")
    assert result.data_code == 250 and result.tracking_id is not None
    assert stored_envelope(redis, result.tracking_id) is not None
    run_replies(email_settings, redis)
    assert [str(reply["To"]) for reply in outbox(email_settings)] == ([row.to] if row.to else [])
    skipped = [event["reason"] for event in log_events(log_stream) if event["event"] == "email.reply_skipped"]
    assert skipped == ([] if row.to else ["noreply_address"])


def test_a_bounce_a_citizen_redirects_to_us_is_filed_and_not_answered_at_its_mail_system(  # type: ignore[no-untyped-def]
        smtp_server: SmtpServerThread, email_settings: Settings, redis: Redis, log_stream) -> None:
    """Their client's Redirect keeps the NDR's From (Exchange's system mailbox) and subject: the mail was taken for
    the bounce (250, not filed, not answered), a lost report. Filed, it is not answered at that From, where our
    answer would reach a mail system, not the citizen."""
    raw = mail("Undeliverable: Jalan rusak SDN 3", EXCHANGE_WORDS, EXCHANGE_SYSTEM, fields=REDIRECTED)
    result = smtp_server.deliver(raw, mail_from="budi@example.net")
    assert result.data_code == 250 and result.tracking_id is not None
    assert stored_envelope(redis, result.tracking_id) is not None
    run_replies(email_settings, redis)
    assert outbox(email_settings) == []


def test_a_cek_from_a_noreply_address_is_not_answered(smtp_server: SmtpServerThread, email_settings: Settings,
                                                      redis: Redis) -> None:
    """A status query's answer goes to its From alone: a noreply one gets none (a mistyped ID's answer neither)."""
    for body in ("CEK 10000057", "CEK 10000058"):
        result = smtp_server.deliver(mail("", body, "Sistem <noreply@d.example.id>"), mail_from="sender@example.net")
        assert result.data_code == 250 and result.tracking_id is None
    run_replies(email_settings, redis)
    assert envelope_count(redis) == 0 and outbox(email_settings) == []


def test_a_notices_pattern_reads_a_text_of_spaces_at_once(settings: Settings) -> None:
    """The guards run on the event loop: a text of one long run of spaces under a notice's subject took a notice's
    whole-text pattern 0.3 s (each space could be taken by either side of a "..."), while every SMTP session waited."""
    parsed = parse_mail(mail("Return Receipt", "Your" + " " * 590 + "x"))
    started = time.perf_counter()
    assert loop_reason(parsed, "someone@example.net", settings.email) is None
    assert time.perf_counter() - started < 0.05


# A return receipt's look-alike that repeats the receipt's labels on one line and fails at its very end: read as one
# regular expression with a lazy "any text on a line" for each "...", every way of splitting it was tried (0.8 s at 8
# repetitions, 2.8 s at 10, about two minutes at 19, all under the 600-character bound), holding the GIL: the SMTP
# server's event loop and every thread of the process stood still.
def receipt_look_alike(repeats: int) -> str:
    return "Your " + "document: was received by: at: " * repeats + "\n!\n!"


def test_a_return_receipt_look_alike_is_read_at_once(settings: Settings) -> None:
    parsed = parse_mail(mail("Return Receipt", receipt_look_alike(10)))
    started = time.perf_counter()
    assert loop_reason(parsed, "someone@example.net", settings.email) is None
    assert time.perf_counter() - started < 0.5


class CountedPiece:
    """A notice text's piece that counts how often it is looked for."""

    def __init__(self, pattern, looks: list[int]) -> None:  # type: ignore[no-untyped-def]
        self.pattern, self.looks = pattern, looks

    def match(self, text: str, *args: int):  # type: ignore[no-untyped-def]
        self.looks[0] += 1
        return self.pattern.match(text, *args)

    def search(self, text: str, *args: int):  # type: ignore[no-untyped-def]
        self.looks[0] += 1
        return self.pattern.search(text, *args)


# An operator's text of many gaps, as config/email.toml allows, and what repeats its pieces.
MANY_GAPS = '... would ... like ... to ... recall ... the ... message, "...".'
MANY_GAPS_LOOK_ALIKE = "x " + 'would like to recall the message, "". ' * 14 + "!"


@pytest.mark.parametrize("text", [
    pytest.param(receipt_look_alike(repeats), id=f"receipt-look-alike-{repeats}") for repeats in (1, 8, 19, 100)] + [
    pytest.param("Your " + "document: " * 60 + "was received by: at: 05/12/2026 10:05", id="labels-repeated"),
    pytest.param("Your document: x\nwas received by: y\nat: 05/12/2026 10:05", id="a-receipt"),
    pytest.param(RECALL_LINE, id="a-recall"),
    pytest.param(MANY_GAPS_LOOK_ALIKE, id="recall-look-alike"),
    pytest.param('"". ' * 140, id="recall-closings-repeated"),
])
def test_each_piece_of_a_notices_text_is_looked_for_once_whatever_the_text(text: str) -> None:
    """The work of reading a notice's text grows with the text, not with the ways it could be split: each piece of a
    configured text (each of the table's, and an operator's of many gaps) is looked for once, from where the piece
    before it ended."""
    words = load_machine_words()
    for notice in (*words.return_receipt_texts, *words.recall_texts, _notice_text(MANY_GAPS)):
        looks = [0]
        counted = replace(notice, pieces=tuple(CountedPiece(piece, looks) for piece in notice.pieces))
        counted.matches(text)
        assert looks[0] <= len(notice.pieces)


def test_another_smtp_session_is_answered_while_a_return_receipt_look_alike_is_read(
        smtp_server: SmtpServerThread) -> None:
    """`re` holds the GIL through a match: while the look-alike's text was matched (2.8 s at 10 repetitions), another
    citizen's SMTP session waited for its greeting, and so did every other thread of the process."""
    sent = threading.Thread(target=smtp_server.deliver, args=(mail("Return Receipt", receipt_look_alike(10)),),
                            kwargs={"mail_from": "warga@example.net"})
    started = time.perf_counter()
    sent.start()
    time.sleep(0.3)  # its DATA is in
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=60) as other:
        other.ehlo("citizen.example.net")
    waited = time.perf_counter() - started
    sent.join()
    assert waited < 1.0, f"another citizen's SMTP session waited {waited:.1f} s for its greeting"


# The limit of knowing a notice by its words: where it writes a name or a subject ("..."), on that line, anything a
# citizen writes that a name or a subject may also hold is taken for the notice's, and the mail is dropped
# (README, config/email.toml). These rows say what should hold, and do not.
@pytest.mark.xfail(strict=True, reason="words on a notice's line where it writes a name or a subject are taken for it")
@pytest.mark.parametrize(("subject", "body"), [
    pytest.param("Recall: surat dinas", "Tolong. " + RECALL_LINE, id="citizens-words-before-the-recalls-name"),
    pytest.param("Return Receipt", "Your document: Jalan berlubang, sudah tiga bulan tidak diperbaiki\n"
                 "was received by: Sutrisno\nat: 05/12/2026 10:05", id="citizens-words-after-the-receipts-subject"),
])
def test_a_citizens_words_where_a_notice_writes_a_name_or_a_subject_are_a_report(settings: Settings, subject: str,
                                                                                 body: str) -> None:
    assert loop_reason(parse_mail(mail(subject, body)), "someone@example.net", settings.email) is None


# Our reply, as the mail a bounce returns quotes its header.
OUR_MESSAGE_ID = "lapor-10000057-2d4f6a8c0e1b3d5f@mail.lapor.go.id"
OUR_HEADER = (f"From: LAPOR! <pengaduan@lapor.go.id>\nTo: kades@sukamaju.example.id\nSubject: [LAPOR #10000057] Jalan "
              f"berlubang\nMessage-ID: <{OUR_MESSAGE_ID}>\nAuto-Submitted: auto-replied\n")


@dataclass(frozen=True)
class BounceRow:
    id: str
    raw: bytes
    tracking_id: str | None  # None: not recorded as a bounce of our reply
    action: str = "failed"
    status: str = "5.1.1"
    # The envelope's sender: by default a forwarding mailbox's (SRS), no null reverse path, so that a row is known by
    # the signs it carries, never by a free null path.
    envelope: str = "bounces+srs=k3x9q=2a@forward.kelurahan.example.id"


BOUNCE_ROWS = [
    # the report a plain-text bounce is about: our Message-ID in the header it returns, in its threading fields, or
    # our tag in its subject; its status code as its diagnostic writes it
    BounceRow("postfix-returned-header", fixture("postfix_plain_bounce_postmaster"), "10000057"),
    BounceRow("exchange-subject-tag", fixture("exchange_plain_undeliverable_postmaster"), "10000057",
              status="5.1.10"),
    BounceRow("exchange-ndr-text-from-its-system-mailbox", fixture("exchange_ndr_text_of_our_reply"), "10000057"),
    BounceRow("exim-returned-mail-and-references", fixture("exim_plain_bounce_of_our_reply"), "10000057"),
    BounceRow("qmail-returned-mail", fixture("qmail_plain_bounce_of_our_reply"), "10000057"),
    BounceRow("yahoo-returned-header", mail("Failure Notice", YAHOO_WORDS + "\n--- Below this line is a copy of the "
                                            "message.\n\n" + OUR_HEADER, "MAILER-DAEMON@yahoo.example.com"),
              "10000057"),
    BounceRow("gmail-delay-in-reply-to-ours", mail(
        "Delivery Status Notification (Delay)", GMAIL_WORDS.replace("550 5.1.1", "450 4.2.2"),
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", fields=(("In-Reply-To", f"<{OUR_MESSAGE_ID}>"),)),
              "10000057", action="delayed", status="4.2.2"),
    # a mail system's name and a bounce's subject, from an address of no mail system's: a bounce by its envelope's
    # null reverse path, a citizen's mail without it (each what a citizen can type)
    BounceRow("mail-delivery-system-name-and-a-null-envelope", mail(
        "Undelivered Mail Returned to Sender", POSTFIX_WORDS + "\n" + OUR_HEADER,
        "Mail Delivery System <relay@forward.kelurahan.example.id>"), "10000057", envelope=""),
    BounceRow("mail-delivery-system-name-without-a-null-envelope", mail(
        "Undelivered Mail Returned to Sender", POSTFIX_WORDS + "\n" + OUR_HEADER,
        "Mail Delivery System <relay@forward.kelurahan.example.id>"), None),
    # the status code after a reply code on a line Postfix wrapped ("said: 550\n    5.1.1 <...>"); none after a
    # blank line
    BounceRow("postfix-wrapped-diagnostic", mail("Undelivered Mail Returned to Sender", POSTFIX_WORDS + "\n"
                                                 + OUR_HEADER, POSTMASTER), "10000057"),
    BounceRow("reply-code-and-a-status-a-blank-line-apart", mail(
        "Undelivered Mail Returned to Sender", POSTFIX_WORDS.replace("550\n", "550\n\n") + "\n" + OUR_HEADER,
        POSTMASTER), "10000057", status=""),
    # a delay warning known by its subject's start, as each MTA writes it; the citizen's words of our reply's subject
    # after our tag ("KRL delay 2 jam") say nothing of it
    BounceRow("postfix-delayed-mail", mail("Delayed Mail (still being retried)", POSTFIX_DELAY_WORDS + "\n"
                                           + OUR_HEADER, POSTMASTER), "10000057", action="delayed", status="4.7.1"),
    BounceRow("exchange-delivery-delayed", mail("Delivery delayed:[LAPOR #10000057] Jalan berlubang",
                                                EXCHANGE_DELAY_WORDS, EXCHANGE_SYSTEM), "10000057", action="delayed",
              status="4.4.7"),
    BounceRow("exim-warning-message-delayed", mail("Warning: message 1tJ7Ql-0004Zz-3a delayed 24 hours",
                                                   EXIM_DELAY_WORDS + "\n" + OUR_HEADER, POSTMASTER), "10000057",
              action="delayed", status=""),
    BounceRow("sendmail-warning-could-not-send", mail(
        "Warning: could not send message for past 4 hours", "    **********************************************\n"
        "    **      THIS IS A WARNING MESSAGE ONLY      **\n    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
        "    **********************************************\n\n451 4.4.1 reply: read error from mx.example.id.\n\n"
        + OUR_HEADER, POSTMASTER), "10000057", action="delayed", status="4.4.1"),
    BounceRow("ndr-of-our-reply-whose-subject-says-delay", mail(
        "Undeliverable: [LAPOR #10000057] KRL delay 2 jam tiap pagi", EXCHANGE_WORDS, EXCHANGE_SYSTEM), "10000057"),
    BounceRow("ndr-of-our-reply-whose-subject-says-a-warning-delayed", mail(
        "Undeliverable: [LAPOR #10000057] Warning: message ini delayed", EXCHANGE_WORDS, EXCHANGE_SYSTEM), "10000057"),
    BounceRow("no-status-code-in-its-words", mail("failure notice", QMAIL_WORDS.replace(" (#5.1.1)", "") + "\n"
                                                  + OUR_HEADER, POSTMASTER), "10000057", status=""),
    # a bounce of someone else's mail, a mistyped tag, another domain's id: nothing recorded
    BounceRow("qmail-of-another-mail", fixture("qmail_plain_bounce"), None),
    BounceRow("backscatter-of-a-forged-mail", fixture("exchange_ndr_text_backscatter"), None),
    BounceRow("mistyped-tag", mail("Undeliverable: [LAPOR #10000058] Jalan", EXCHANGE_WORDS, POSTMASTER), None),
    BounceRow("our-id-in-another-domain", mail("failure notice", QMAIL_WORDS + "\n" + OUR_HEADER.replace(
        "mail.lapor.go.id", "lapor.example.net"), POSTMASTER), None),
    # a citizen's forward of a bounce of our reply to them is their mail, not a bounce
    BounceRow("citizen-forwards-the-bounce-of-our-reply", mail(
        "Fwd: Undelivered Mail Returned to Sender", "Balasan LAPOR tidak sampai ke surel saya.\n\n"
        + GMAIL_FORWARD_DIVIDER + POSTFIX_WORDS + "\n" + OUR_HEADER), None, envelope="warga@example.net"),
    # 100 KB read once: unclosed Message-IDs of ours before the real one; a run of dotted digits that is no status
    BounceRow("100-kb-of-unclosed-message-ids", mail("failure notice", QMAIL_WORDS + "\n" + "Message-ID: <lapor-"
                                                     * 5_000 + "\n" + OUR_HEADER, POSTMASTER), "10000057"),
    BounceRow("100-kb-of-dotted-digits", mail("Undeliverable: [LAPOR #10000057] Jalan", "Delivery has failed to these "
                                              "recipients or groups:\n\n#550 " + "5." * 50_000 + "5.1.1", POSTMASTER),
              "10000057", status=""),
]


@pytest.mark.parametrize("row", BOUNCE_ROWS, ids=[row.id for row in BOUNCE_ROWS])
def test_a_plain_text_bounce_of_our_reply_names_its_report(settings: Settings, row: BounceRow) -> None:
    parsed = parse_mail(row.raw)
    started = time.perf_counter()
    bounce = bounce_of_our_reply(parsed, settings.email, row.envelope)
    assert time.perf_counter() - started < 0.5  # the 100 KB rows too: read at once, on the event loop
    if row.tracking_id is None:
        assert bounce is None
    else:
        assert bounce == Bounce(tracking_id=row.tracking_id, action=row.action, status=row.status)


@pytest.mark.parametrize(("name", "mail_from", "status"), [
    ("postfix_plain_bounce_postmaster", "bounces+srs=k3x9q=2a@forward.kelurahan.example.id", "5.1.1"),
    ("exchange_plain_undeliverable_postmaster", "postmaster@dinas.example.go.id", "5.1.10"),
    ("exchange_ndr_text_of_our_reply", "", "5.1.1"), ("exim_plain_bounce_of_our_reply", "", "5.1.1"),
    ("qmail_plain_bounce_of_our_reply", "", "5.1.1")])
def test_a_plain_text_bounce_of_our_reply_is_recorded_on_its_report_as_a_dsn_is(  # type: ignore[no-untyped-def]
        smtp_server: SmtpServerThread, email_settings: Settings, redis: Redis, log_stream, name: str,
        mail_from: str, status: str) -> None:
    """Our acknowledgement never reached the citizen: an operator sees it on the report (`reply_bounce_*`, the
    `email.reply_bounced` line, `lapor_email_bounces_total`), where a plain-text bounce was dropped unrecorded (from
    postmaster or MAILER-DAEMON, with Auto-Submitted) or filed as the citizen's addition and answered (Exchange's)."""
    raw = fixture(name)
    bounces, dsn = BOUNCES.labels("failed")._value.get(), SUPPRESSED.labels("dsn")._value.get()
    result = smtp_server.deliver(raw, mail_from=mail_from)
    assert result.data_code == 250 and result.tracking_id is None
    run_replies(email_settings, redis)
    assert envelope_count(redis) == 0 and outbox(email_settings) == []
    state = redis.hgetall("lapor:report:10000057")
    assert state[b"reply_bounce_action"] == b"failed" and state[b"reply_bounce_status"] == status.encode()
    assert b"reply_bounced_at" in state
    assert BOUNCES.labels("failed")._value.get() == bounces + 1
    assert SUPPRESSED.labels("dsn")._value.get() == dsn + 1
    [event] = [event for event in log_events(log_stream) if event["event"] == "email.reply_bounced"]
    assert event["tracking_id"] == "10000057" and event["action"] == "failed"
    parsed = parse_mail(raw)
    logged = log_stream.getvalue()
    for secret in (parsed.sender_address, parsed.subject, parsed.text.splitlines()[0]):
        assert secret not in logged
