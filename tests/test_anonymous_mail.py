"""An anonymous mail names its sender in more places than its From: the fields that name a sender (Sender, Return-Path,
X-Sender, a read receipt's address...) and a signature below a `--` typed without its space.

Every header that names the sender is a source of what the case store's copy of the text loses (a row per header,
through the real parse), and none of their values reaches the case store or a log line. Real mail
(tests/fixtures/email/) goes through the gateway's own SMTP server, parse and normalizer into Redis; what the forward
worker would send of it (`case_store_payload`) is checked against the envelope the gateway keeps whole. A whole
anonymous mail reaching the reference case store is a row of tests/test_anonymity.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from redis import Redis

from channels.email.parse import MAX_ADDRESS_FIELD, SenderIdentities, parse_mail
from gateway.settings import Settings
from normalizer.envelope import SENDER_IDENTITIES
from tests.conftest import free_port
from tests.email_support import RECIPIENT, SmtpServerThread, fixture, stored_envelope
from workers.own_identity import OWN_IDENTITY, SIGNATURE_TAIL_LINES, without_dashed_signature
from workers.report_payload import case_store_payload

if TYPE_CHECKING:
    from tests.conftest import TestEnvironment

ADDRESS = "budi.rahasia@contoh-desa.net"
NAMED = f'"Rahasia, Budi" <{ADDRESS}>'


def mail_with(*fields: str) -> bytes:
    """A citizen's mail from a throwaway address, with `fields` added to its header."""
    head = ["From: Warga <warga.anonim@example.net>", f"To: {RECIPIENT}", "Subject: ANONIM pungli",
            "Message-ID: <hdr-1@example.net>", *fields]
    return ("\r\n".join(head) + "\r\n\r\nPetugas meminta uang.\r\n").encode()


# -- which fields name the sender ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeaderCase:
    id: str
    fields: tuple[str, ...]
    addresses: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


HEADER_CASES = [
    HeaderCase("Sender (on behalf of, a send-as alias)", (f"Sender: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Reply-To, its name too", (f"Reply-To: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Mail-Reply-To", (f"Mail-Reply-To: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Return-Path", (f"Return-Path: <{ADDRESS}>",), (ADDRESS,)),
    HeaderCase("X-Envelope-From", (f"X-Envelope-From: <{ADDRESS}>",), (ADDRESS,)),
    HeaderCase("X-Original-From", (f"X-Original-From: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("X-Original-Sender", (f"X-Original-Sender: {ADDRESS}",), (ADDRESS,)),
    HeaderCase("X-Google-Original-From", (f"X-Google-Original-From: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("X-Sender", (f"X-Sender: {ADDRESS}",), (ADDRESS,)),
    HeaderCase("X-Authenticated-Sender (cPanel: host, then the account)",
               (f"X-Authenticated-Sender: mail.contoh-desa.net: {ADDRESS}",), (ADDRESS,)),
    HeaderCase("Resent-From", (f"Resent-From: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Resent-Sender", (f"Resent-Sender: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Resent-Reply-To", (f"Resent-Reply-To: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Disposition-Notification-To", (f"Disposition-Notification-To: {NAMED}",), (ADDRESS,),
               ("Rahasia, Budi",)),
    HeaderCase("Return-Receipt-To", (f"Return-Receipt-To: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("X-Confirm-Reading-To", (f"X-Confirm-Reading-To: {NAMED}",), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("Errors-To", (f"Errors-To: {ADDRESS}",), (ADDRESS,)),
    HeaderCase("a name in RFC 2047 and a mixed-case address",
               ("Sender: =?utf-8?q?Budi_Santoso_=E2=80=93_TU?= <Budi.Rahasia@Contoh-Desa.NET>",), (ADDRESS,),
               ("Budi Santoso \u2013 TU",)),
    HeaderCase("several addresses in one field", (f"Reply-To: {NAMED}, istri.budi@contoh-desa.net",),
               (ADDRESS, "istri.budi@contoh-desa.net"), ("Rahasia, Budi",)),
    HeaderCase("a mail sent on twice: the latest sender, first", (f"Resent-From: {NAMED}",
               "Resent-From: Kepala Dinas <kadis@dinas.example.go.id>"), (ADDRESS,), ("Rahasia, Budi",)),
    HeaderCase("a null Return-Path names no one", ("Return-Path: <>",)),
    # Fields that name others, or no one: the recipients, a list, the thread.
    HeaderCase("To, Cc and Bcc name the recipients", (f"Cc: {NAMED}", f"Bcc: {ADDRESS}")),
    HeaderCase("List-Unsubscribe is the list's", (f"List-Unsubscribe: <mailto:{ADDRESS}?subject=unsubscribe>",)),
    HeaderCase("Mail-Followup-To names the thread", (f"Mail-Followup-To: {NAMED}",)),
    HeaderCase("a field over the address limit is not read",
               ("Sender: " + ", ".join(f"w{index}@desa.id" for index in range(MAX_ADDRESS_FIELD // 10)),)),
]


@pytest.mark.parametrize("case", HEADER_CASES, ids=lambda case: case.id)
def test_every_field_that_names_the_sender_is_read_and_no_other(case: HeaderCase) -> None:
    mail = parse_mail(mail_with(*case.fields))
    assert mail.sender_identities == SenderIdentities(case.addresses, case.names)
    assert (mail.sender_address, mail.sender_name) == ("warga.anonim@example.net", "Warga")  # the From, as before


# -- real mail through SMTP, and what the case store would get -------------------------------------------------------
@dataclass(frozen=True)
class MailCase:
    fixture: str
    mail_from: str
    # The sender's identity (case-insensitive): in the gateway's copy, never in the case store's text or subject, nor
    # in a log line.
    identity: tuple[str, ...]
    # What the case store's text holds of the citizen's words around it.
    kept: tuple[str, ...]


MAIL_CASES = [
    # Gmail's "send mail as" an alias: the From is the alias, Sender the Gmail account and its owner's name, which the
    # citizen signs with.
    MailCase("anonymous_gmail_send_as_sender", "budi.santoso1987@gmail.com", ("Budi Santoso", "budi.santoso1987"),
             ("Ketua RW 05 Kelurahan Sukajadi memotong dana bansos", "Salam,\n[anonim]")),
    # Exchange's "send on behalf of" a shared mailbox: Sender (and the read receipt asked for) name the staff member,
    # as Outlook's directory writes them, "Last, First"; they sign "First Last" and give their own address.
    MailCase("anonymous_outlook_on_behalf", "pelayanan@kecamatan-sukajadi.example.go.id",
             ("Budi Santoso", "Santoso, Budi", "budi.santoso@kecamatan-sukajadi.example.go.id", "budi.santoso"),
             ("meminta Rp 100.000 per berkas", "hubungi saya di [anonim] (mohon identitas saya dirahasiakan)",
              "Hormat saya,\n[anonim]")),
    # Roundcube: X-Sender is the account logged in, a read receipt goes to its owner; the form's link carries the
    # address with its @ as %40.
    MailCase("anonymous_roundcube_x_sender", "kader.melati@desa-krajan.example.id",
             ("Sri Wahyuni", "sri.wahyuni.kds"),
             ("Bendahara desa memotong honor kader posyandu", "/kader?email=[anonim]); di sana tercatat",
              "Terima kasih,\n[anonim]")),
    # A work signature of eight lines (name, post, school, address, phone, mobile, mail, web) below a "--" typed by
    # hand, a disclaimer below it; an earlier "--" sets the citizen's chronology apart.
    MailCase("anonymous_long_dash_signature", "pengirim.anonim.2026@gmail.com",
             ("Budi Santoso", "Guru Kelas V", "0812-3456-7890", "2034567", "budi.santoso@sdn3sukajadi.sch.id",
              "sdn3sukajadi.sch.id", "Jl. Merdeka No. 10"),
             ("setiap triwulan. Kronologi:\n--\nJanuari: setoran pertama, diminta tunai di ruang kepala sekolah.\n"
              "April: setoran kedua", "Bukti transfer dan catatan rapat ada pada saya.\n\n--\n[anonim]\n\n"
              "PERHATIAN: E-mail ini beserta lampirannya bersifat rahasia")),
    # An old client (Eudora) writes its latin-1 header undeclared, 8-bit: the name the citizen signs with is the From's
    # as that client wrote it, read as its body is (UTF-8, else windows-1252), not as "Jos\ufffd".
    MailCase("anonymous_eudora_8bit_latin1_headers", "jose.ximenes.kupang@example.net",
             ("Jos\u00e9 Ximenes", "jose.ximenes.kupang"),
             ("Petugas kelurahan meminta Rp 50.000 untuk surat keterangan domisili", "Hormat saya,\n[anonim]")),
    # The citizen's own words below a "--" divider, the number of the tout they report among them: all of it stays.
    MailCase("anonymous_dash_divider_report", "warga.samsat@yahoo.co.id", ("warga.samsat",),
             ("Calo di Samsat Kota Bandung.\n--\nPetugas calo di depan loket 3 menawarkan perpanjangan STNK",
              "Calo itu menyebut nomornya 0813-2222-3333 dan mengaku kenal kepala unit.\n"
              "Kejadian Senin pagi, 30 November 2026.")),
]


@pytest.fixture
def smtp_server(test_env: TestEnvironment, redis: Redis) -> Iterator[SmtpServerThread]:
    server = SmtpServerThread(test_env.settings(LAPOR_SMTP_PORT=str(free_port())), redis).start()
    yield server
    server.stop()


@pytest.mark.parametrize("case", MAIL_CASES, ids=lambda case: case.fixture)
def test_an_anonymous_mail_reaches_the_case_store_without_what_its_headers_and_signature_say_of_its_sender(
        case: MailCase, smtp_server: SmtpServerThread, redis: Redis, log_stream: io.StringIO) -> None:
    raw = fixture(case.fixture)
    parsed = parse_mail(raw)
    result = smtp_server.deliver(raw, mail_from=case.mail_from)
    assert result.data_code == 250 and result.tracking_id, result.data_message
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and envelope["anonymous"] is True
    payload = case_store_payload(envelope, smtp_server.settings)
    sent = f"{payload['text']}\n{payload['subject']}"
    assert [form for form in case.identity if form.lower() in sent.lower()] == []
    assert [words for words in case.kept if words not in payload["text"]] == []
    assert (payload["channel_meta"], payload["sender"]["kind"]) == ({}, "reply_handle")
    # The gateway's copy keeps the text whole, and what the headers said of the sender, for the gateway alone.
    assert envelope["text"] == parsed.text and OWN_IDENTITY not in envelope["text"]
    headers = parsed.sender_identities
    assert envelope["channel_meta"][SENDER_IDENTITIES] == headers.as_meta()
    logged = log_stream.getvalue()
    assert result.tracking_id in logged  # the lines of this mail were captured
    assert [value for value in (*case.identity, *headers.addresses, *headers.names) if value in logged] == []


def test_a_named_mails_other_names_for_its_sender_stay_with_the_gateway(
        smtp_server: SmtpServerThread, redis: Redis, settings: Settings) -> None:
    """No reply needs them: the case store gets a named report's sender, Reply-To and envelope sender as before, and
    not what the other fields say."""
    raw = mail_with(f"Sender: {NAMED}", f"Reply-To: {NAMED}").replace(b"ANONIM pungli", b"Pungli di kelurahan")
    result = smtp_server.deliver(raw, mail_from="warga.anonim@example.net")
    envelope = stored_envelope(redis, result.tracking_id or "")
    assert envelope is not None and envelope["anonymous"] is False
    assert envelope["channel_meta"][SENDER_IDENTITIES] == {"addresses": [ADDRESS], "names": ["Rahasia, Budi"]}
    payload = case_store_payload(envelope, settings)
    assert payload["sender"] == envelope["sender"]
    assert payload["channel_meta"] == {key: value for key, value in envelope["channel_meta"].items()
                                       if key != SENDER_IDENTITIES}
    assert (payload["channel_meta"]["reply_to"], payload["channel_meta"]["envelope_sender"]) == (
        ADDRESS, "warga.anonim@example.net")
    assert envelope["channel_meta"][SENDER_IDENTITIES]  # the gateway's own copy is untouched


# Long hostile texts below a "--", read in time linear in their length and only at their end: each signature costs a
# phone-number search, and a reading of every paragraph took 4 s for 3 MB (a mail may hold 20 MiB).
@pytest.mark.parametrize(("text", "most"), [
    pytest.param("Judul\n--\n" + "B. Santoso\nHP 0812-3456-7890\n\nPetugas meminta uang di loket setiap pagi.\n\n"
                 * 30_000, SIGNATURE_TAIL_LINES // 5, id="a signature and a sentence, 30 000 times"),
    pytest.param("Judul\n--\n" + "x\n\n0812-3456-7890\n\n" * 300_000, 0, id="a number between short lines"),
    pytest.param("Judul\n--\n" + "x\n" * 3_000_000, 0, id="three million short lines"),
])
def test_a_long_text_below_a_dash_line_is_read_for_signatures_at_its_end_only(text: str, most: int) -> None:
    kept = without_dashed_signature(text)
    assert (0 < kept.count(OWN_IDENTITY) <= most) if most else kept == text
    assert kept[:len(text) // 2] == text[:len(text) // 2]
