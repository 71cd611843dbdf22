"""The parsing steps on their own: charset fallback, quote trimming, which parts are the text and which files,
executable flags, attachment limits."""

from __future__ import annotations

import base64
import hashlib
import itertools
import quopri
import re
import time
import tracemalloc
from dataclasses import dataclass
from email._header_value_parser import get_unstructured, parse_message_id
from email.headerregistry import AddressHeader, MessageIDHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from channels.email import html_text, iso2022jp
from channels.email.guards import OUR_MESSAGE_ID, resent_by
from channels.email.html_text import _is_zero
from channels.email.parse import (
    FORWARD_MARKER,
    MAX_ADDRESS_FIELD,
    MAX_FIELD_PARSE,
    MAX_FIELD_READ,
    MAX_SUBJECT_CHARS,
    MAX_TNEF_FILES,
    HeaderTooLarge,
    RawAttachment,
    TooDeep,
    TooManyHeaderLines,
    TooManyParts,
    decode_text,
    header_text,
    message_ids,
    our_quoted_tags,
    parse_bytes,
    parse_mail,
    trim_quoted,
    unflow,
)
from channels.email.reply import our_message_id, reply_body, reply_subject, sent_with_subject, status_body
from channels.email.store import executable_flags, store_attachments
from channels.email.tnef import tnef_files
from gateway.errors import RejectedInput, TooLarge
from gateway.replies import load_replies
from gateway.settings import Settings
from normalizer.pipeline import MailQuery, mail_status_query, signer_words
from normalizer.prefixes import FORWARD_SUBJECT, FORWARD_WORDS, STACKED_PREFIXES
from tests.email_support import fixture, header_size_of, mail_nested, tnef_stream


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("Jalan rusak – parah".encode(), "utf-8", "Jalan rusak – parah"),
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        ("“kutip” €".encode("cp1252"), "iso-8859-1", "“kutip” €"),  # declared latin-1, really windows-1252
        ("“kutip”".encode("cp1252"), None, "“kutip”"),
        ("ü".encode(), None, "ü"),
        ("詐欺".encode("iso2022_jp"), "ISO-2022-JP", "詐欺"),
        ("ü".encode(), "x-no-such-charset", "ü"),
        (b"\xff\xfe broken", "utf-8", "ÿþ broken"),
        # The five bytes windows-1252 leaves undefined are Latin-1's, as browsers read them, not U+FFFD.
        (b"caf\xe9 \x93ok\x94 \x81\x8d\x8f\x90\x9d", None, "caf\u00e9 \u201cok\u201d \x81\x8d\x8f\x90\x9d"),
        (b"\x80 \x81\x9d", "windows-1252", "\u20ac \x81\x9d"),
        (b"\x80 \x81\x9d", "iso-8859-1", "\u20ac \x81\x9d"),
        ("\u041f\u0440\u0438\u0432\u0435\u0442".encode("koi8-r"), "koi8-r", "\u041f\u0440\u0438\u0432\u0435\u0442"),
        # Python's codecs of bytes to bytes, and its codec that decodes nothing: no charset of a text.
        ("Jalan rusak é".encode(), "base64", "Jalan rusak é"),
        ("Jalan rusak é".encode(), "hex", "Jalan rusak é"),
        ("Jalan rusak é".encode("cp1252"), "rot13", "Jalan rusak é"),
        ("Jalan rusak é".encode(), "zlib", "Jalan rusak é"),
        ("Jalan rusak é".encode(), "quopri", "Jalan rusak é"),
        ("Jalan rusak é".encode(), "undefined", "Jalan rusak é"),
        # Labels read by the wider codec mail clients read them with (WHATWG), or one Python does not know
        ("髙橋さんの①番".encode("cp932"), "Shift_JIS", "髙橋さんの①番"),
        ("ถนนเสียหาย €".encode("cp874"), "windows-874", "ถนนเสียหาย €"),
        ("ถนนเสียหาย".encode("cp874"), "TIS-620", "ถนนเสียหาย"),
        ("똠방각하".encode("cp949"), "euc-kr", "똠방각하"),
        ("道路 香港 𨋢".encode("big5hkscs"), "big5", "道路 香港 𨋢"),
        ("Ödeme 50€ “kutip”".encode("cp1254"), "iso-8859-9", "Ödeme 50€ “kutip”"),
        ("שלום".encode("iso8859_8"), "iso-8859-8-i", "שלום"),
        # A declared charset is honoured with U+FFFD for its few invalid sequences (WHATWG); one stray byte made the
        # whole text windows-1252 ("“" read as "â€œ"). A truncated tail, a byte of another charset, a cut Shift_JIS
        # character; undeclared and Latin-1-labelled text that is UTF-8 but for a byte is UTF-8 too. In UTF-8 a
        # byte no character begins with is read as windows-1252 reads it (an old client's Latin-1 or cp1252 among
        # UTF-8 quotes: as U+FFFD a name signed "Jos\xe9" was "Jos\ufffd", which its removal did not take).
        ("Jalan “rusak” di Kabupatén 😀".encode()[:-2], "utf-8", "Jalan “rusak” di Kabupatén \ufffd"),
        ("Pungli — “Rp 500rb”".encode() + b"\x96 selesai", "utf-8", "Pungli — “Rp 500rb”– selesai"),
        ("Petugas bilang “ini biasa”.\nSalam,\n".encode() + b"Jos\xe9 Ram\xedrez", "utf-8",
         "Petugas bilang “ini biasa”.\nSalam,\nJosé Ramírez"),
        # Within the text, bytes that begin a character and do not end it are cp1252's (an Outlook no-break space
        # after a cp1252 letter: "Jos\xe9\xa0Ram\xedrez" was "Jos\ufffdRam\ufffdrez"); at its end, a cut character.
        ("Jalan “rusak”,\n".encode() + b"Jos\xe9\xa0Ram\xedrez", "utf-8", "Jalan “rusak”,\nJosé\xa0Ramírez"),
        ("Jalan “rusak” di Kabupat".encode() + b"\xf0\x9f\x98\r\n", "utf-8", "Jalan “rusak” di Kabupat\ufffd\r\n"),
        ("Jalan “rusak”,\nSalam,\n".encode() + b"Jos\xe9\n", "utf-8", "Jalan “rusak”,\nSalam,\nJosé\n"),
        # A double-byte charset reads a cp1252 text's curly quote and the letter after it as one character: read so
        # only where it reads four characters for each invalid sequence ("“ini" was "搃ni").
        ("Petugas bilang “ini sudah biasa” dan “tidak apa-apa”.".encode("cp1252"), "gb2312",
         "Petugas bilang “ini sudah biasa” dan “tidak apa-apa”."),
        ("Petugas bilang “ini sudah biasa” dan “tidak apa-apa”.".encode("cp1252"), "shift_jis",
         "Petugas bilang “ini sudah biasa” dan “tidak apa-apa”."),
        ("道路に大きな穴があります".encode("cp932") + b"\x83", "Shift_JIS", "道路に大きな穴があります\ufffd"),
        ("Jalan “rusak”".encode() + b"\xff", None, "Jalan “rusak”\ufffd"),
        ("Jalan “rusak”".encode() + b"\xff", "us-ascii", "Jalan “rusak”\ufffd"),
        # ... but a text mostly invalid in its label is read as the charset it mostly is: Latin-1 labelled UTF-8 (a
        # valid character among them does not make it UTF-8), UTF-8 labelled Shift_JIS, cut or not.
        ("café naïve à 5€ ok".encode("cp1252") + "é".encode(), "utf-8", "café naïve à 5€ okÃ©"),
        ("Jalan “rusak” é".encode(), "Shift_JIS", "Jalan “rusak” é"),
        ("Jalan “rusak” é".encode() + b"\xff", "Shift_JIS", "Jalan “rusak” é\ufffd"),
        # ISO-2022-JP as Windows writes it: NEC row 13 (①, ㈱, Ⅱ) and NEC-selected IBM characters (髙, 﨑) in its JIS
        # X 0208 runs, read as cp932 reads them; Python's codec failed the whole text, filed as "$B-!(B"
        (b"\x1b$B-!-j-6\x1b(B 5 \x1b$B|b66\x1b(B", "ISO-2022-JP", "①㈱Ⅱ 5 髙橋"),
        (b"\x1b$B-!\x1b(B \x1b$(D0!\x1b(J\\\x1b(I1\x1b(B", "iso-2022-jp", "① 丂¥ｱ"),
        (b"\x1b$B-!-\x1b(B ok \x1b$B-!", "iso-2022-jp", "①\ufffd ok ①"),
        (b"\x1b$B-!\r\n0!\x1b(B", "iso-2022-jp", "①\r\n亜"),
        (b"\x1b$B-!\x1b(B", "csISO2022JP", "①"),
    ],
    ids=["utf8", "latin1", "latin1-really-cp1252", "undeclared-cp1252", "undeclared-utf8", "iso-2022-jp",
         "unknown-charset", "invalid-utf8", "undeclared-cp1252-undefined-bytes", "cp1252-undefined-bytes",
         "latin1-undefined-bytes", "declared-koi8-r", "bytes-codec-base64", "bytes-codec-hex", "bytes-codec-rot13",
         "bytes-codec-zlib", "bytes-codec-quopri", "codec-undefined", "shift-jis-is-cp932", "windows-874",
         "tis-620-is-windows-874", "euc-kr-is-cp949", "big5-is-big5-hkscs", "iso-8859-9-is-windows-1254",
         "iso-8859-8-i", "utf8-truncated-tail", "utf8-one-cp1252-byte", "utf8-cp1252-name-signed",
         "utf8-cp1252-name-with-a-no-break-space", "utf8-cut-character-at-a-line-end",
         "utf8-cp1252-name-at-the-end", "cp1252-labelled-gb2312", "cp1252-labelled-shift-jis",
         "shift-jis-cut-character",
         "undeclared-utf8-one-bad-byte", "us-ascii-utf8-one-bad-byte", "latin1-labelled-utf8",
         "utf8-labelled-shift-jis", "utf8-labelled-shift-jis-one-bad-byte", "iso-2022-jp-nec-and-ibm",
         "iso-2022-jp-other-sets", "iso-2022-jp-half-a-character", "iso-2022-jp-a-line-ends-in-a-run",
         "csiso2022jp-is-iso-2022-jp"],
)
def test_decode_text_never_fails(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_text(data, charset) == expected


# A part's header lines (before its blank line) and its body as sent, under one mail's header.
UNDECLARED = "caf\u00e9 \u201cok\u201d \u2013 50\u20ac"


@pytest.mark.parametrize(("part", "expected"), [
    pytest.param(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 b"caf=E9 =93ok=94 =96 50=80", UNDECLARED, id="qp-cp1252"),
    pytest.param(b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 =93ok=94 =96 50=80", UNDECLARED,
                 id="qp-cp1252-no-content-type"),
    pytest.param(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                 + UNDECLARED.encode("cp1252"), UNDECLARED, id="8bit-cp1252"),
    pytest.param(b"Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 b"<p>caf=E9 =93ok=94 =96 50=80</p>", UNDECLARED, id="html-qp-cp1252"),
    pytest.param(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 b"Jalan=81rusak=8D di=8F desa=90 Cik=E9=9D", "Jalan\x81rusak\x8d di\x8f desa\x90 Cik\u00e9\x9d",
                 id="qp-bytes-cp1252-leaves-undefined"),
    pytest.param(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 + quopri.encodestring(UNDECLARED.encode()), UNDECLARED,
                 id="qp-utf8-stays-utf8"),
    pytest.param(b"Content-Type: text/plain; charset=iso-8859-2\r\nContent-Transfer-Encoding: quoted-printable"
                 b"\r\n\r\nKrak=F3w =A3=F3d=BC", "Krak\u00f3w \u0141\u00f3d\u017a", id="declared-latin2-honoured"),
    pytest.param(b"Content-Type: text/plain; charset=base64\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                 + UNDECLARED.encode("cp1252"), UNDECLARED, id="declared-a-codec-of-no-text"),
    # HTML without a MIME charset naming its own in a <meta>, as browsers and mail clients read it
    pytest.param(b"Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><head><meta charset="
                 b"\"windows-1251\"></head><body>" + "\u0414\u043e\u0440\u043e\u0433\u0430".encode("cp1251")
                 + b"</body></html>", "\u0414\u043e\u0440\u043e\u0433\u0430", id="html-meta-charset"),
    pytest.param(b"Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><head>"
                 b"<meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=3Dshift_jis\"></head><body>"
                 + "".join(f"={b:02X}" for b in "\u9ad9\u6a4b\u2460".encode("cp932")).encode() + b"</body></html>",
                 "\u9ad9\u6a4b\u2460", id="html-meta-http-equiv"),
    pytest.param(b"Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<meta charset=windows-1251>"
                 + UNDECLARED.encode(), UNDECLARED, id="html-meta-charset-on-utf-8-is-utf-8"),
    pytest.param(b"Content-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                 b"<meta charset=windows-1251>" + UNDECLARED.encode("cp1252"), UNDECLARED,
                 id="html-mime-charset-before-its-meta"),
])
def test_a_part_without_a_charset_that_is_not_utf8_reads_as_windows_1252(part: bytes, expected: str) -> None:
    """Old Outlook and webmail send windows-1252 (or Latin-1) text without a charset: read as UTF-8 alone, its
    bytes were U+FFFD; the five bytes windows-1252 leaves undefined still were. A declared charset is honoured."""
    mail = parse_mail(b"From: Warga <warga@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Laporan\r\n"
                      b"MIME-Version: 1.0\r\n" + part + b"\r\n")
    assert mail.text == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (b"=?iso-8859-1?Q?=93Pungli=94_=96_parkir_50=80?=", "\u201cPungli\u201d \u2013 parkir 50\u20ac"),
        (b"=?windows-1252?Q?=93Pungli=94?=", "\u201cPungli\u201d"),
        (b"=?iso-8859-1?Q?Caf=E9?=", "Caf\u00e9"),
        (b"=?utf-8?B?SmFsYW4=?= =?utf-8?B?IHJ1c2Fr?=", "Jalan rusak"),
        (b"=?shift_jis?B?" + base64.b64encode("髙橋さんの①番".encode("cp932")) + b"?=", "髙橋さんの①番"),
        (b"=?windows-874?Q?" + "".join(f"={b:02X}" for b in "ถนนเสียหาย".encode("cp874")).encode() + b"?=",
         "ถนนเสียหาย"),
        (b"=?EUC-KR*ko?B?" + base64.b64encode("똠방각하".encode("cp949")) + b"?=", "똠방각하"),
        (b"=?ISO-2022-JP?B?GyRCLSEbKEI=?=", "\u2460"),
        (b"=?iso-2022-jp?B?" + base64.b64encode(b"\x1b$B-j%5%L!<%k\x1b(B") + b"?= =?iso-2022-jp?B?"
         + base64.b64encode(b"\x1b$B-6\x1b(B") + b"?=", "㈱サヌールⅡ"),
        (b"=?utf-8?B?" + base64.b64encode("Jalan “rusak” di Kabupatén".encode() + b"\xe2\x80") + b"?=",
         "Jalan “rusak” di Kabupatén\ufffd"),
        (b"=?utf-8?B?" + base64.b64encode("Jalan “rusak”".encode()) + b"?= =?utf-8?B?"
         + base64.b64encode(b"\xff di Kabupat\xc3\xa9n") + b"?=", "Jalan “rusak”ÿ di Kabupatén"),
    ],
    ids=["latin1-really-cp1252", "cp1252", "latin1", "utf8-words", "shift-jis-is-cp932", "windows-874",
         "euc-kr-with-a-language-is-cp949", "iso-2022-jp-nec-row-13", "iso-2022-jp-words",
         "utf8-word-truncated", "utf8-words-one-bad-byte"],
)
def test_encoded_words_read_like_body_text(subject: bytes, expected: str) -> None:
    """Outlook labels windows-1252 as iso-8859-1 in headers too: its quotes, dashes and euro sign were C1 controls."""
    mail = parse_mail(b"From: a@example.net\r\nSubject: " + subject + b"\r\n\r\nisi\r\n")
    assert mail.subject == expected


@pytest.mark.parametrize(
    ("header", "subject", "name"),
    [
        ("caf\u00e9 \u201ckutip\u201d".encode("cp1252"), "caf\u00e9 \u201ckutip\u201d", "Jos\u00e9 Ximenes"),
        ("caf\u00e9 \u201ckutip\u201d".encode(), "caf\u00e9 \u201ckutip\u201d", "Jos\u00e9 Ximenes"),
        ("caf\u00e9".encode("cp1252") + b" =?utf-8?q?Jalan?=", "caf\u00e9 Jalan", "Jos\u00e9 Ximenes"),
    ],
    ids=["cp1252", "utf8", "with-an-encoded-word"],
)
def test_undeclared_8bit_headers_read_like_body_text(header: bytes, subject: str, name: str) -> None:
    """Old clients and web forms write their header in their own charset, undeclared: UTF-8, else windows-1252."""
    charset = "utf-8" if header.startswith("caf\u00e9".encode()) else "cp1252"
    raw = b"From: " + name.encode(charset) + b" <jose@example.net>\r\nSubject: " + header + b"\r\n\r\nisi\r\n"
    mail = parse_mail(raw)
    assert (mail.subject, mail.sender_name, mail.sender_address) == (subject, name, "jose@example.net")


def test_a_mail_of_cr_line_ends_below_a_relays_crlf_field_is_read_line_by_line() -> None:
    """An old Mac's mail ends its lines in CR alone, and a relay adds its `Received:` in CRLF above: read as a stray CR
    in a header line, each of its CRs became a space, the whole mail one From field, and it was suppressed as empty."""
    raw = (b"Received: from mx.example.net by mx.lapor.go.id; Sat, 5 Dec 2026 10:00:00 +0700\r\n"
           b"From: Warga <warga@example.net>\rTo: pengaduan@lapor.go.id\rSubject: ANONIM pungli di kantor camat\r"
           b"Message-ID: <cr-1@example.net>\r\rKepala kantor camat minta uang.\r")
    mail = parse_mail(raw)
    assert (mail.subject, mail.message_id, mail.sender_address) == (
        "ANONIM pungli di kantor camat", "cr-1@example.net", "warga@example.net")
    assert mail.text == "Kepala kantor camat minta uang."


@pytest.mark.parametrize(("raw", "subject", "text"), [
    pytest.param(b"From: Budi <budi@example.org>\r\nSubject: ANONIM Jalan\rrusak\r\n"
                 b"Reply-To: Budi Rahasia <budi.rahasia@example.net>\r\nMessage-ID: <x1@example.org>\r\n\r\n"
                 b"Ada pungli di kantor camat.\r\n", "ANONIM Jalan rusak", "Ada pungli di kantor camat.",
                 id="a-cr-alone-in-a-crlf-header"),
    pytest.param(b"From: Budi <budi@example.org>\nSubject: Jalan\rrusak\nReply-To: budi.rahasia@example.net\n"
                 b"Message-ID: <x1@example.org>\n\nAda pungli.\n", "Jalan rusak", "Ada pungli.",
                 id="a-cr-alone-in-an-lf-header"),
])
def test_a_cr_alone_in_a_header_line_does_not_end_the_header(raw: bytes, subject: str, text: str) -> None:
    """The standard library ends a line at a CR alone, and the header at the first line after it that is no field:
    the fields below it (an anonymous mail's Reply-To, an address of its sender's the gateway then never knew, and
    its Message-ID) reached the case store as the mail's text."""
    mail = parse_mail(raw)
    assert (mail.subject, mail.text) == (subject, text)
    assert mail.reply_to == "budi.rahasia@example.net" and mail.message_id == "x1@example.org"


@pytest.mark.parametrize("raw", [
    pytest.param(b"From : Budi <budi@example.org>\r\nTo: pengaduan@lapor.go.id\r\nSubject : Jalan rusak\r\n"
                 b"Reply-To\t: budi.rahasia@example.net\r\nMessage-ID : <x1@example.org>\r\n\r\nAda pungli.\r\n",
                 id="sender-first"),
    pytest.param(b"Subject : Jalan rusak\nFrom : Budi <budi@example.org>\nReply-To : budi.rahasia@example.net\n"
                 b"Message-ID: <x1@example.org>\n\nAda pungli.\n", id="subject-first"),
    pytest.param(b"From: Budi <budi@example.org>\r\nSubject  : Jalan rusak\r\nReply-To: budi.rahasia@example.net\r\n"
                 b"Message-ID: <x1@example.org>\r\n\r\nAda pungli.\r\n", id="one-field-below-the-sender"),
    pytest.param(b"From : Budi <budi@example.org>\r\nX-Mailer : PHPMailer 5.2\r\nOrganization : Desa\r\n"
                 b"Subject : Jalan rusak\r\nReply-To : budi.rahasia@example.net\r\nMessage-ID : <x1@example.org>\r\n"
                 b"\r\nAda pungli.\r\n", id="a-scripts-own-fields-above-them"),
    pytest.param(b"From: Budi <budi@example.org>\nX-Status : RO\nSubject : Jalan rusak\n:odd\n"
                 b"Envelope-To : pengaduan@lapor.go.id\nMail-Reply-To : budi.rahasia@example.net\n"
                 b"Reply-To : budi.rahasia@example.net\nMessage-ID: <x1@example.org>\n\nAda pungli.\n",
                 id="a-mailbox-field-and-a-line-of-no-name-above-them"),
    pytest.param(b"From budi@example.org Sat Dec  5 10:00:00 2026\nFrom : Budi <budi@example.org>\n"
                 b"Subject : Jalan rusak\nReply-To : budi.rahasia@example.net\nMessage-ID: <x1@example.org>\n\n"
                 b"Ada pungli.\n", id="below-an-mbox-line"),
])
def test_a_field_name_with_spaces_before_its_colon_is_read(raw: bytes) -> None:
    """RFC 5322's obsolete `Subject : ...`: the standard library ended the header at it (the fields below it, an
    anonymous mail's Reply-To among them, in the text; at the top, "no headers"), and dropped `From : ...` as a
    misplaced mbox line (no sender: quarantined). A body line of that shape stays the citizen's."""
    mail = parse_mail(raw + b"Subject : bukan field\n")
    assert (mail.sender_address, mail.subject, mail.reply_to, mail.message_id) == (
        "budi@example.org", "Jalan rusak", "budi.rahasia@example.net", "x1@example.org")
    assert mail.text == "Ada pungli.\nSubject : bukan field"


@pytest.mark.parametrize("limits", [{"max_header_lines": 3}, {"max_header_bytes": 84}],
                         ids=["lines-at-the-limit", "bytes-at-the-limit"])
def test_a_spaced_field_is_read_in_a_header_at_the_parses_limits(limits: dict[str, int]) -> None:
    """The header's walk for spaced names reads as far as the parse's limits admit a header, its blank line too."""
    raw = b"From : Budi <budi@example.org>\r\nSubject: Jalan rusak\r\nMessage-ID: <b1@example.org>\r\n\r\nIsi.\r\n"
    assert parse_mail(raw, **limits).sender_address == "budi@example.org"


def test_a_spaced_field_below_a_cr_alone_stays_the_text() -> None:
    """A CR alone ends a line for the standard library: where it may end the header (`without_bare_crs_in_header`
    leaves a header holding "\\r\\r" as it is), a `Reply-To : ...` below it is the citizen's text, not the address
    an anonymous report's acknowledgement goes to."""
    mail = parse_mail(b"From: Budi <budi@example.org>\r\nSubject: ANONIM pungli dana desa\r\n"
                      b"Message-ID: <cr1@example.org>\r\nReply-To : rahasia.saya@gmail.com\rLokasi : Jl. Mawar 5\r\r"
                      b"Kades minta setoran 5 juta.\r\n\r\nSalam\r\n")
    assert mail.reply_to is None and "rahasia.saya@gmail.com" in (mail.text or "")


@pytest.mark.parametrize("first", ["Lokasi : Jl. Mawar No. 5", "Tgl-Kejadian : 3 Mei, kades minta setoran",
                                   "E-mail : rahasia.saya@gmail.com", "2024-05-01 : kades minta setoran",
                                   "No-HP : 0812-3456-7001", "Status : Warga RT 03, ASN", "Lines : 3 jalur rusak"])
def test_a_form_line_right_below_a_header_with_no_blank_line_stays_the_text(first: str) -> None:
    """Without the blank line a header ends with, the standard library ends it at the first line that is no field:
    an Indonesian form's label or a date there is the citizen's text, and stays so; so do the lines below it, a field
    of ours spaced among them (`Reply-To : ...`)."""
    mail = parse_mail(b"From: Warga <warga@example.net>\r\nMessage-ID: <f1@example.net>\r\n" + first.encode()
                      + b"\r\nReply-To : kades@desa.example\r\n\r\nJalan berlubang besar.")
    assert mail.text == f"{first}\nReply-To : kades@desa.example\n\nJalan berlubang besar."
    assert mail.reply_to is None and mail.sender_address == "warga@example.net"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Isi.\n\nOn Mon, 16 Nov 2026 at 09:00, A <a@x.id> wrote:\n> lama", "Isi."),
        ("Isi.\n\nPada Sen, 16 Nov 2026 09.00, A <a@x.id>\nmenulis:\n> lama", "Isi."),
        ("Isi.\n\n-----Original Message-----\nFrom: A\nlama", "Isi."),
        ("Isi.\n\n-----Pesan Asli-----\nDari: A\nlama", "Isi."),
        ("Isi.\n________________________________\nFrom: A\nSent: B\nlama", "Isi."),
        ("Isi.\n\nDari: A <a@x.id>\nDikirim: Senin\nKepada: B\nlama", "Isi."),
        ("> kutipan\n\nJawaban di bawah.", "Jawaban di bawah."),
        ("Isi.\n\n-- \nTanda tangan", "Isi."),
        ("Dari: Pak RT kami mendapat kabar\njalan rusak.", "Dari: Pak RT kami mendapat kabar\njalan rusak."),
        ("Lihat ini.\n\n---------- Forwarded message ---------\nFrom: A\nDate: B\n\nisi terusan",
         "Lihat ini.\n\n---------- Forwarded message ---------\nFrom: A\nDate: B\n\nisi terusan"),
    ],
    ids=["gmail-en", "gmail-id", "outlook-original", "outlook-pesan-asli", "outlook-rule", "outlook-id-block",
         "bottom-post", "signature", "dari-in-prose", "forward-kept"],
)
def test_trim_quoted(text: str, expected: str) -> None:
    assert trim_quoted(text) == expected


NOTA_DINAS = "Kepada: Seluruh Kepala Sekolah\nDari: Kepala Dinas Pendidikan\nTanggal: 3 November 2025\n" \
    "Perihal: Iuran wajib\n\nSetiap sekolah wajib menyetor Rp 5.000.000 paling lambat 10 November."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saya laporkan nota dinas berikut:\n\n" + NOTA_DINAS + "\n\nMohon ditindaklanjuti.",
         "Saya laporkan nota dinas berikut:\n\n" + NOTA_DINAS + "\n\nMohon ditindaklanjuti."),
        ("Dari: Budi Santoso, warga RT 03\nKepada: Bupati Bogor\nTanggal: 1 Desember 2025\nPerihal: Jalan rusak\n\n"
         "Jalan di depan SDN 3 berlubang.",
         "Dari: Budi Santoso, warga RT 03\nKepada: Bupati Bogor\nTanggal: 1 Desember 2025\nPerihal: Jalan rusak\n\n"
         "Jalan di depan SDN 3 berlubang."),
        ("Nama pelapor: Budi\n__________________________\nIsi: jalan berlubang\nLokasi: Cibubur",
         "Nama pelapor: Budi\n__________________________\nIsi: jalan berlubang\nLokasi: Cibubur"),
        ("Saya lampirkan pesan WA.\nPada tanggal 5 Mei 2025 kepala desa menulis:\nBayar 50 ribu kalau mau KTP cepat.",
         "Saya lampirkan pesan WA.\nPada tanggal 5 Mei 2025 kepala desa menulis:\nBayar 50 ribu kalau mau KTP cepat."),
        ("Look.\nOn Monday the village head wrote:\n\"Pay Rp 50.000 or no KTP\"\nThis is extortion.",
         "Look.\nOn Monday the village head wrote:\n\"Pay Rp 50.000 or no KTP\"\nThis is extortion."),
        # and the mail clients' own marks still cut the quote off
        ("Isi.\n\nOn 12/1/25 10:00 AM, LAPOR! wrote:\n> Terima kasih", "Isi."),
        ("Isi.\n\nFrom: LAPOR! <pengaduan@lapor.go.id>\nDate: Monday, 1 December 2025 at 10.00\nTo: Budi\n"
         "Subject: [LAPOR #10000057] Jalan\n\nTerima kasih", "Isi."),
        ("Isi.\n\nDari: LAPOR!\nDikirim: Senin, 01 Desember 2025 10.00\nKepada: Budi\nSubjek: Jalan\n\nTerima kasih",
         "Isi."),
        ("Pada Sen, 1 Des 2025 10.00, LAPOR! <pengaduan@lapor.go.id>\nmenulis:\n> Terima kasih\n\nJawaban di bawah.",
         "Jawaban di bawah."),
    ],
    ids=["nota-dinas-pasted", "letter-head-dari-first", "rule-in-a-form", "citizen-quotes-a-message-id",
         "citizen-quotes-a-message-en", "thunderbird-no-address", "outlook-mac-block", "outlook-id-block-subjek",
         "bottom-post-two-line-attribution"],
)
def test_a_citizens_own_memo_letter_or_quotation_is_not_taken_for_quoted_history(text: str, expected: str) -> None:
    """A header block needs Sent/Dikirim or Subject/Subjek, an attribution an address or a ">" quote below it, a rule
    of underscores a header block below it: what a citizen writes or pastes in that shape is the report."""
    assert trim_quoted(text) == expected


FORWARDED = "Jembatan desa ambrol sejak Senin."


@pytest.mark.parametrize(
    ("text", "forwarded", "kept"),
    [
        ("Mohon ditindaklanjuti.\n\n-- \nKepala Desa\n\n---------- Forwarded message ---------\nFrom: A\n\n"
         + FORWARDED, False, "Mohon ditindaklanjuti."),
        ("Lihat.\n\n-------- Forwarded Message --------\nSubject: \tJembatan\nDate: \tKamis\nFrom: \tA\nTo: \tB\n\n"
         + FORWARDED, False, "Lihat."),
        ("Begin forwarded message:\n\nFrom: A <a@x.id>\nSubject: Jembatan\nDate: Kamis\nTo: B\n\n" + FORWARDED,
         False, ""),
        ("Awal pesan yang diteruskan:\n\nDari: A <a@x.id>\nSubjek: Jembatan\nTanggal: Kamis\nKepada: B\n\n"
         + FORWARDED, False, ""),
        ("Diteruskan.\n\n________________________________\nFrom: A\nSent: Kamis\nTo: B\nSubject: Jembatan\n\n"
         + FORWARDED, True, "Diteruskan."),
        ("Diteruskan.\n\n-----Pesan Asli-----\nDari: A\nDikirim: Kamis\n\n" + FORWARDED, True, "Diteruskan."),
        ("---------- Pesan terusan ---------\nDari: A\n\n" + FORWARDED + "\n\n-- \nA, warga", False, ""),
    ],
    ids=["gmail-signature-above", "thunderbird", "apple-mail", "apple-mail-id", "outlook-fw", "outlook-trs-pesan-asli",
         "gmail-id-only-forward"],
)
def test_a_forwarded_message_is_kept_whole(text: str, forwarded: bool, kept: str) -> None:
    """The forwarded mail is the report: neither the forwarder's signature nor a header block cuts it off."""
    trimmed = trim_quoted(text, forwarded=forwarded)
    assert FORWARDED in trimmed
    assert trimmed.startswith(kept)
    assert "Kepala Desa" not in trimmed  # the forwarder's own signature still goes


OUTLOOK_FORWARDED = "Petugas di pintu masuk Pelabuhan Merak meminta Rp 50.000 per truk tanpa karcis."


@pytest.mark.parametrize(("prefix", "forward"), [
    pytest.param("FW:", True, id="fw"),
    pytest.param("Fwd:", True, id="fwd"),
    pytest.param("WG:", True, id="wg-german"),
    pytest.param("TR:", True, id="tr-french"),
    pytest.param("TRS:", True, id="trs-indonesian"),
    pytest.param("Terusan:", True, id="terusan-indonesian"),
    # the forward prefixes the reply side knew and the parse did not
    pytest.param("Fwd[2]:", True, id="fwd-counter-brackets"),
    pytest.param("FW(3):", True, id="fw-counter-parentheses"),
    pytest.param("FW\uff1a", True, id="fw-fullwidth-colon"),
    pytest.param("RV:", True, id="rv-spanish"),
    pytest.param("ENC:", True, id="enc-portuguese"),
    pytest.param("VS:", True, id="vs-danish-norwegian"),
    # Outlook's other localizations
    pytest.param("VB:", True, id="vb-swedish"),
    pytest.param("VL:", True, id="vl-finnish"),
    pytest.param("Doorst:", True, id="doorst-dutch"),
    pytest.param("I:", True, id="i-italian"),
    pytest.param("PD:", True, id="pd-polish"),
    pytest.param("FS:", True, id="fs-icelandic"),
    pytest.param("\u0130LT:", True, id="ilt-turkish"),
    pytest.param("FW: RE:", True, id="forward-of-a-reply"),
    # a reply's header block is quoted history
    pytest.param("RE:", False, id="re"),
    pytest.param("AW:", False, id="aw-german"),
    pytest.param("SV:", False, id="sv-nordic"),
    pytest.param("Antw:", False, id="antw-dutch"),
    pytest.param("RES:", False, id="res-portuguese"),
    pytest.param("Balas:", False, id="balas-indonesian"),
    pytest.param("R:", False, id="r-italian"),
    pytest.param("RIF:", False, id="rif-italian"),
    pytest.param("Odp:", False, id="odp-polish"),
    pytest.param("YNT:", False, id="ynt-turkish"),
    pytest.param("RE: FW:", False, id="reply-to-a-forward"),
    pytest.param("", False, id="no-prefix"),
])
def test_a_forward_prefix_keeps_outlooks_forwarded_message(prefix: str, forward: bool) -> None:
    """Outlook forwards inline below a header block, which in a reply starts the quoted history: the subject's first
    prefix tells them apart, in every form the reply's subject knows (counters, fullwidth colon, other languages)."""
    raw = fixture("outlook_forward_inline").replace(b"Subject: FW: Pungli", f"Subject: {prefix} Pungli".encode())
    mail = parse_mail(raw)
    assert mail.text.startswith("Diteruskan untuk ditindaklanjuti.")
    assert (OUTLOOK_FORWARDED in mail.text) is forward


@pytest.mark.parametrize("word", FORWARD_WORDS)
def test_every_forward_prefix_is_also_stripped_from_our_replys_subject(word: str) -> None:
    """One list read two ways: what the parse takes for a forward, the reply's subject drops."""
    assert FORWARD_SUBJECT.match(f"{word.upper()}: Jalan") and STACKED_PREFIXES.sub("", f"{word}: Jalan") == "Jalan"


@pytest.mark.parametrize(("subject", "stripped"), [
    pytest.param("Fwd" + " " * 100_000 + "Jalan", "Fwd" + " " * 100_000 + "Jalan", id="no-colon-after-the-run"),
    pytest.param("Re:" + " " * 100_000 + "Jalan", "Jalan", id="a-run-after-the-colon"),
    pytest.param("RE" + " " * 100_000 + "[2] : Jalan", "Jalan", id="a-run-before-the-counter"),
])
def test_a_long_run_of_spaces_in_a_subject_is_read_in_linear_time(subject: str, stripped: str) -> None:
    """A prefix's spaces before its counter and before its colon were two adjacent runs: "Fwd" and 100 000 spaces
    took a minute, every split of the run tried. The normalizer reads every mail's subject past its prefixes."""
    assert STACKED_PREFIXES.sub("", subject) == stripped
    assert bool(FORWARD_SUBJECT.match(subject)) is False


def html_mail(html: str) -> bytes:
    """An HTML-only mail, as Outlook, web forms and some webmail send them."""
    return ("From: Warga <warga@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Laporan\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"<html><body>{html}</body></html>\r\n").encode()


ROADS = "<p>Jalan di depan SDN 3 berlubang.</p>"
SEEN = "Jalan di depan SDN 3 berlubang."


@pytest.mark.parametrize(("html", "expected"), [
    pytest.param('<div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0px;max-width:0px;'
                 'opacity:0;overflow:hidden;">Pratinjau laporan&zwnj;&nbsp;&#847;&zwnj;&nbsp;</div>' + ROADS, SEEN,
                 id="preheader-display-none"),
    pytest.param('<span style="display: none !important">Pratinjau</span>' + ROADS, SEEN, id="display-none-important"),
    pytest.param('<span style="visibility:hidden">Pratinjau</span>' + ROADS, SEEN, id="visibility-hidden"),
    pytest.param('<div style="visibility:hidden">Pratinjau <span style="visibility:visible">Lihat foto.</span></div>',
                 "Lihat foto.", id="visibility-hidden-child-visible"),
    pytest.param('<div style="max-height:0;overflow:hidden;mso-hide:all">Pratinjau</div>' + ROADS, SEEN,
                 id="max-height-zero-clipped"),
    pytest.param('<div style="max-height:0">Lihat foto terlampir.</div>' + ROADS, "Lihat foto terlampir.\n\n" + SEEN,
                 id="max-height-zero-not-clipped-is-seen"),
    pytest.param('<p>Jalan<span style="font-size:0">Pratinjau</span> rusak.</p>', "Jalan rusak.", id="font-size-zero"),
    pytest.param('<table role="presentation"><tr><td style="font-size:0px"><div style="display:inline-block;'
                 'font-size:14px">Jalan rusak.</div><div style="display:inline-block;font-size:14px">Sejak Mei.</div>'
                 '</td></tr></table>', "Jalan rusak.\n\nSejak Mei.", id="font-size-zero-row-of-sized-cells"),
    pytest.param('<table><tr><td style="font-size:0"><font size="2">Jalan rusak.</font></td></tr>'
                 '<tr><td style="font-size:0"><font size="+1">Sejak Mei.</font></td></tr></table>',
                 "Jalan rusak.\nSejak Mei.", id="font-size-zero-cell-of-a-font-size"),
    pytest.param('<table><tr><td>Nama</td><td style="font-size:0"><span style="font-size:14px">Budi</span></td>'
                 '<td style="display:none">Pratinjau</td><td>RT 03</td></tr></table>', "Nama · Budi · RT 03",
                 id="a-cell-of-font-size-zero-is-set-apart"),
    # All of it hidden by a size we do not read (a tag selector of its <style>): read whole, not left empty.
    pytest.param('<style>td div { font-size:14px }</style><table><tr><td style="font-size:0"><div>Jalan rusak.</div>'
                 '</td></tr></table>', "Jalan rusak.", id="all-hidden-is-read-whole"),
    pytest.param('<span style="opacity:0">Pratinjau</span>' + ROADS, SEEN, id="opacity-zero"),
    pytest.param('<div hidden>Pratinjau</div>' + ROADS, SEEN, id="hidden-attribute"),
    # A style value of 100 000 zeros that is no length: read in linear time (the quadratic pattern took minutes).
    pytest.param('<span style="opacity:' + "0" * 100_000 + 'x">Pratinjau</span>' + ROADS, "Pratinjau\n\n" + SEEN,
                 id="a-long-run-of-zeros-is-no-zero"),
    pytest.param('<span style="font-size:' + "0" * 100_000 + 'px">Pratinjau</span>' + ROADS, SEEN,
                 id="a-long-run-of-zeros-is-zero"),
    pytest.param('<style>.preheader { display:none !important; }</style><span class="preheader">Pratinjau</span>'
                 + ROADS, SEEN, id="class-of-the-mails-style"),
    pytest.param('<a href="https://lapor.go.id" style="mso-hide:all">Lihat foto</a>', "Lihat foto (https://lapor.go.id)",
                 id="mso-hide-only-hides-from-outlook"),
    pytest.param('<div style="display:none">Pratinjau<p>Jalan di depan SDN 3 berlubang.</p>',
                 "Pratinjau\n\n" + SEEN, id="hidden-left-open-hides-nothing"),
    pytest.param('<p>Jalan rusak.</p><hr><p>Lampu mati.</p>', "Jalan rusak.\n\nLampu mati.", id="rule"),
    pytest.param('<p>Potongan BLT:</p><table border="1"><tr><th>No</th><th>Nama</th><th>Potongan</th></tr>'
                 '<tr><td>1</td><td>Siti</td><td>Rp 100.000</td></tr><tr><td>2</td><td>Budi, RT 03</td>'
                 '<td>Rp 150.000</td></tr></table>',
                 "Potongan BLT:\n\nNo · Nama · Potongan\n1 · Siti · Rp 100.000\n2 · Budi, RT 03 · Rp 150.000",
                 id="data-table"),
    pytest.param('<table role="presentation" width="100%"><tr><td width="20">&nbsp;</td><td>' + ROADS +
                 '</td><td width="20">&nbsp;</td></tr></table>', SEEN, id="layout-table-spacer-cells"),
    pytest.param("<div>Kronologi:</div><div>1. Diminta Rp 50.000</div><div>2. Tidak diberi kuitansi</div>"
                 "<div>- Lokasi: kantor desa</div><div>+ saksi 2 orang</div><div>Berkas: C:\\Data\\surat-1.pdf</div>",
                 "\n\n".join(["Kronologi:", "1. Diminta Rp 50.000", "2. Tidak diberi kuitansi", "- Lokasi: kantor desa",
                             "+ saksi 2 orang", "Berkas: C:\\Data\\surat-1.pdf"]), id="markdown-escapes-undone"),
    # Plain text for the agency: a heading without "#", a link as "text (address)", each address shown once.
    pytest.param("<h1>Pungli di Kantor Desa</h1><h3>Kronologi</h3><p>Petugas meminta Rp 50.000.</p>",
                 "Pungli di Kantor Desa\n\nKronologi\n\nPetugas meminta Rp 50.000.", id="headings-without-marks"),
    pytest.param('<p>Video: <a href="https://youtu.be/a1b2c3">rekaman petugas</a>, dan <a href="https://drive.google.com/'
                 'file/d/9z">foto </a>kuitansi.</p>', "Video: rekaman petugas (https://youtu.be/a1b2c3), dan foto "
                 "(https://drive.google.com/file/d/9z) kuitansi.", id="link-text-then-its-address"),
    pytest.param('<p><a href="https://lapor.go.id/pengaduan/10000004">https://lapor.go.id/pengaduan/10000004</a></p>',
                 "https://lapor.go.id/pengaduan/10000004", id="a-linked-address-shown-once"),
    pytest.param('<p>Lihat <a href="https://www.lapor.go.id/">lapor.go.id</a></p>', "Lihat lapor.go.id",
                 id="a-linked-address-without-its-scheme-shown-once"),
    pytest.param('<p><a href="https://apc01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fdesa.id%2Fapbdes.pdf&'
                 'data=05">https://desa.id/apbdes.pdf</a></p>', "https://desa.id/apbdes.pdf",
                 id="a-linked-address-a-redirect-wraps-shown-as-seen"),
    pytest.param('<p>Tembusan: <a href="mailto:inspektorat@desa.id?subject=Pungli">Inspektorat</a>, '
                 '<a href="mailto:camat@desa.id">camat@desa.id</a>, <a href="tel:+62215551234">kantor</a></p>',
                 "Tembusan: Inspektorat (inspektorat@desa.id), camat@desa.id, kantor (+62215551234)",
                 id="mailto-and-tel-links"),
    pytest.param('<p><a href="#kronologi">Kronologi</a> <a href="cid:ii_abc">Foto</a> <a href="javascript:void(0)">'
                 'Tutup</a></p>', "Kronologi Foto Tutup", id="links-that-lead-nowhere-outside-the-mail"),
    pytest.param('<p>Bukti: <a href="https://desa.id/bukti.jpg"><img src="cid:ii_abc" alt=""></a></p>',
                 "Bukti: https://desa.id/bukti.jpg", id="a-link-of-an-image-reads-as-its-address"),
    pytest.param('<div style="display:none"><a href="https://t.example/open?u=1">Pratinjau</a></div>' + ROADS, SEEN,
                 id="a-hidden-link-shows-nothing"),
])
def test_an_html_only_mail_reads_as_its_reader_sees_it(html: str, expected: str) -> None:
    """What the mail hides (a preview, a preheader) is left out, what it shows stays; no `* * *`, `|` or `---|---`
    of html2text's Markdown, no `#` before a heading, no `[text](address)`, and no backslashes it adds to a numbered
    line."""
    assert parse_mail(html_mail(html)).text == expected


@pytest.mark.parametrize("text", [
    pytest.param("x" * 200_000, id="a-run-of-letters"),
    pytest.param("a1" * 100_000 + "x:", id="a-run-of-scheme-letters"),
    pytest.param("(a" * 100_000, id="a-run-of-word-starts"),
])
def test_a_long_link_text_is_read_in_linear_time(text: str) -> None:
    """Whether a link's text shows an address was looked for at every letter, each look scanning the run after it:
    200 000 letters took minutes. The address follows the text, which shows none."""
    html = f'<p><a href="https://desa.id/bukti">{text}</a></p>'
    assert parse_mail(html_mail(html)).text == f"{text} (https://desa.id/bukti)"


def test_a_zero_length_is_told_as_the_quadratic_pattern_told_it() -> None:
    """The linear pattern for a zero length (opacity, font-size, height) says what the earlier one said, for every
    value up to five characters of its alphabet."""
    earlier = re.compile(r"[+-]?0*\.?0+(px|pt|em|rem|ex|ch|%|vh|vw|cm|mm|in|pc)?")
    for length in range(1, 6):
        for value in map("".join, itertools.product("0.+-1px%", repeat=length)):
            assert _is_zero(value) == bool(earlier.fullmatch(value)), value


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("Isi.\n\n-- \nBudi Santoso\n0812", "Isi.", id="rfc-3676-delimiter"),
    pytest.param("Isi.\n--  \nBudi Santoso", "Isi.", id="delimiter-with-more-spaces"),
    pytest.param("Isi.\n--\u00a0\nBudi Santoso\n0812-3456-7890", "Isi.", id="delimiter-with-a-no-break-space"),
    pytest.param("Kronologi:\n--\nPetugas meminta Rp 50.000.\n--\nSaksi: 2 orang.",
                 "Kronologi:\n--\nPetugas meminta Rp 50.000.\n--\nSaksi: 2 orang.", id="dashes-alone-are-the-citizens"),
    pytest.param("Jalan rusak.\n--\nBudi", "Jalan rusak.\n--\nBudi", id="dashes-alone-above-a-name-stay"),
    pytest.param("Kepala desa menjawab:\nBayar dulu baru diurus.\n-- \nKepala Desa Sukamaju\n\nMohon ditindak.\n-- \n"
                 "Budi", "Kepala desa menjawab:\nBayar dulu baru diurus.\n-- \nKepala Desa Sukamaju\n\nMohon ditindak.",
                 id="a-signature-pasted-above-the-citizens-own"),
    # a flag word alone opening or closing the signature (signed "anonim") stays below the text, where it closes
    # the body: cut with the signature, the mail was a named report
    pytest.param("Kades jual tanah kas desa.\n-- \nanonim", "Kades jual tanah kas desa.\n\nanonim",
                 id="signed-anonim"),
    pytest.param("Isi.\n\n-- \nBudi Santoso\n0812\nANONIM.", "Isi.\n\nANONIM.", id="flag-closing-the-signature"),
    pytest.param("Isi.\n\n-- \n#rahasia\nBudi Santoso", "Isi.\n\n#rahasia", id="flag-opening-the-signature"),
    pytest.param("Isi.\n\n-- \nBudi Santoso\nDesa Anonim Jaya", "Isi.", id="a-flag-word-in-a-name-goes"),
    pytest.param("Isi.\n\n-- \nBudi Santoso\nanonim\n0812", "Isi.", id="a-flag-word-inside-the-signature-goes"),
])
def test_the_signature_is_below_the_last_delimiter(text: str, expected: str) -> None:
    """Only `-- ` (RFC 3676) delimits a signature, and only the last one: a `--` typed alone, or an official's
    signature in what the citizen pasted, is the report."""
    assert trim_quoted(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("Jalan rusak.\n\nSent from my iPhone", "Jalan rusak.", id="iphone-en"),
    pytest.param("Jalan rusak.\n\nDikirim dari iPhone saya", "Jalan rusak.", id="iphone-id"),
    pytest.param("Jalan rusak.\n\nSent from Outlook", "Jalan rusak.", id="outlook"),
    pytest.param("Jalan rusak.\n\nGet Outlook for Android<https://aka.ms/ghei36>", "Jalan rusak.",
                 id="outlook-mobile-text-part"),
    pytest.param("Jalan rusak.\n\nDapatkan [Outlook untuk Android](https://aka.ms/AAb9ysg)", "Jalan rusak.",
                 id="outlook-mobile-html-part-id"),
    pytest.param("Jalan rusak.\n\n[Dikirim dari Yahoo Mail di Android](https://go.onelink.me/107872968?pid=InProduct)",
                 "Jalan rusak.", id="yahoo-android-html-part"),
    pytest.param("Jalan rusak.\n\nSent from Yahoo Mail for iPhone", "Jalan rusak.", id="yahoo-iphone"),
    pytest.param("Jalan rusak.\n\nDikirim dari ponsel cerdas Samsung Galaxy saya.", "Jalan rusak.", id="samsung-id"),
    pytest.param("Jalan rusak.\n\nSent from Mail for Windows", "Jalan rusak.", id="windows-mail"),
    pytest.param("Jalan rusak.\n\nSent from my iPhone\n\nOn 1 Dec 2025, at 10.00, LAPOR! <pengaduan@lapor.go.id> "
                 "wrote:\n> Terima kasih", "Jalan rusak.", id="above-the-quote"),
    pytest.param("Jalan rusak.\nBudi\nSent from my iPhone\n-- \nBudi Santoso", "Jalan rusak.\nBudi",
                 id="above-a-signature"),
    pytest.param("Sent from my iPhone\n\nBegin forwarded message:\n\nFrom: A <a@x.id>\nSubject: Jembatan\n\n"
                 "Jembatan ambrol.", "Begin forwarded message:\n\nFrom: A <a@x.id>\nSubject: Jembatan\n\n"
                 "Jembatan ambrol.", id="above-a-forward"),
    pytest.param("Sent from my iPhone", "", id="nothing-else"),
    # the citizen's own words stay
    pytest.param("Jalan rusak.\nDikirim dari Desa Sukamaju, Kab. Bogor", "Jalan rusak.\nDikirim dari Desa Sukamaju, "
                 "Kab. Bogor", id="a-place-is-no-app"),
    pytest.param("Sent from my iPhone because my laptop was taken.\nJalan rusak.",
                 "Sent from my iPhone because my laptop was taken.\nJalan rusak.", id="in-a-sentence"),
])
def test_the_mail_apps_footer_is_not_the_citizens(text: str, expected: str) -> None:
    """"Sent from my iPhone", "Dikirim dari Yahoo Mail di Android": the app's last lines, by its own names, go."""
    assert trim_quoted(text) == expected


def test_megabytes_of_quotes_and_attributions_are_trimmed_in_linear_time() -> None:
    """A mail body has no bound but the mail's size. Each attribution looked again at every line kept before it and
    copied every line after it: 3 MB of them (a mail may hold 20) took minutes."""
    text = "> dikutip\nOn Mon, 1 Dec 2025 Budi <budi@desa.id> wrote:\n" * 60_000
    assert trim_quoted(text) == "\n".join(["> dikutip"] * 60_000)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("quote", [
    pytest.param("> dikutip\nOn Mon, 1 Dec 2025 Budi <budi@desa.id> wrote:\n", id="other-quotes"),
    pytest.param("On Mon, 1 Dec 2025 LAPOR! <pengaduan@lapor.go.id> wrote:\n> Terima kasih, laporan Anda x\n",
                 id="quotes-opening-as-ours-do"),
    pytest.param("From: LAPOR!\nSent: Senin\nTo: a\nSubject: b\n\nTerima kasih, laporan Anda\n", id="outlook-blocks"),
])
def test_an_answer_of_megabytes_of_quotes_is_read_for_our_reply_in_linear_time(quote: str) -> None:
    """An answer to one of our replies is read for a quote of our reply below each quote's mark, a bounded look
    ahead each: a mail of marks costs as its length does, not its length times each mark's rest."""
    raw = (b"From: Warga <warga@example.net>\r\nSubject: Re: Laporan\r\nIn-Reply-To: <lapor-10000004-ab@lapor.go.id>"
           b"\r\n\r\n" + quote.encode().replace(b"\n", b"\r\n") * 50_000)
    assert parse_mail(raw).answer_text is not None


def _unflow_as_written(text: str, delsp: bool) -> str:
    """RFC 3676 unflowing as first written here, one string grown line by line: the reading `unflow` keeps."""
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if lines and lines[-1].endswith(" ") and lines[-1] != "-- ":
            lines[-1] = (lines[-1][:-1] if delsp else lines[-1]) + line
        else:
            lines.append(line)
    return "\n".join(lines)


def test_format_flowed_is_unflowed_as_before_for_every_short_text() -> None:
    """Joining a flowed paragraph piece by piece reads every text as growing one string did: each text of up to six
    characters of spaces, dashes, letters and line ends, with DelSp and without."""
    for length in range(7):
        for text in map("".join, itertools.product(" -a\n", repeat=length)):
            for delsp in (False, True):
                assert unflow(text, delsp) == _unflow_as_written(text, delsp), (text, delsp)


@pytest.mark.timeout(60)
def test_a_long_flowed_paragraph_is_unflowed_in_linear_time() -> None:
    """A flowed paragraph of 6 MB (a mail may hold 20): the line being joined was copied whole at each of its
    lines, time quadratic in its length (2 MB took 8 s, 4 MB 35 s, 20 MB would pin a core for a quarter of an hour
    while the sending server waited, gave up and sent it again)."""
    raw = (b"From: Warga <warga@example.net>\r\nSubject: Laporan\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n"
           + b"Jalan rusak \r\n" * 500_000 + b"parah.\r\n")
    assert parse_mail(raw).text == "Jalan rusak" * 500_000 + "parah."


def test_an_html_only_mails_app_footer_goes_too() -> None:
    """Outlook for Android's footer, a link in an HTML-only mail."""
    html = ('<div dir="auto">Jalan rusak.</div><div dir="auto"><br></div><div id="ms-outlook-mobile-signature" '
            'dir="auto">Sent from <a href="https://aka.ms/AAb9ysg">Outlook for Android</a></div>')
    assert parse_mail(html_mail(html)).text == "Jalan rusak."

def test_an_html_signature_is_trimmed_as_its_text_is() -> None:
    """Gmail's HTML signature keeps its `-- ` through html2text (which writes it `\\--` and a hard break)."""
    html = ('<div dir="ltr">Jalan rusak.<br clear="all"><br><span class="gmail_signature_prefix">-- </span><br>'
            '<div dir="ltr" class="gmail_signature">Budi Santoso<br>0812</div></div>')
    assert parse_mail(html_mail(html)).text == "Jalan rusak."


def test_a_signature_typed_in_a_webmail_editor_is_trimmed() -> None:
    """An HTML editor keeps the space typed after `--` at a line's end as `&nbsp;`: it is RFC 3676's `-- ` as typed."""
    html = ("<div>Jalan rusak.</div><div><br></div><div>--&nbsp;</div><div>Budi Santoso</div>"
            "<div>0812-3456-7890</div>")
    assert parse_mail(html_mail(html)).text == "Jalan rusak."


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-- \nBudi Santoso\n0812", "-- \nBudi Santoso\n0812"), ("\n-- \nBudi Santoso", "-- \nBudi Santoso")],
    ids=["signature-first-line", "signature-after-blank-line"],
)
def test_a_text_that_is_only_a_signature_keeps_it(text: str, expected: str) -> None:
    assert trim_quoted(text) == expected


@pytest.mark.parametrize(
    ("content_type", "name", "data", "flagged"),
    [
        ("application/x-msdownload", "setup.bin", b"\x00", True),
        ("application/octet-stream", "bukti.pdf.exe", b"\x00", True),
        ("application/octet-stream", "skrip.JS", b"x", True),
        ("application/pdf", "surat.pdf", b"MZ\x90\x00", True),
        ("application/octet-stream", None, b"\x7fELF\x02", True),
        ("application/pdf", "surat.pdf", b"%PDF-1.4", False),
        ("image/jpeg", "foto.jpg", b"\xff\xd8\xff", False),
        ("application/octet-stream", "bukti.pdf.exe.", b"\x00", True),
        ("application/octet-stream", "surat.vbs. . ", b"x", True),
        ("application/octet-stream", "foto\u202egpj.scr", b"x", True),
        ("application/octet-stream", "laporan.js\u200b", b"x", True),
    ],
    ids=["type", "double-extension", "script-extension", "pe-magic-in-pdf", "elf-magic", "pdf", "jpeg",
         "trailing-dot", "trailing-dots-and-spaces", "rtl-override", "zero-width-suffix"],
)
def test_executables_are_flagged(content_type: str, name: str | None, data: bytes, flagged: bool) -> None:
    assert (executable_flags(RawAttachment(content_type, name, data)) == ["executable"]) is flagged


# (a file's name and the type it was sent as, whether it is flagged): the carriers of malware that run code once
# opened, each by its extension alone (sent as octet-stream) and by its type alone where it has one; their
# macro-free and harmless neighbours are not flagged
CARRIERS = ["iso", "img", "vhd", "vhdx", "xll", "docm", "xlsm", "pptm", "msc", "lnk"]
CARRIER_TYPES = [
    ("application/x-iso9660-image", True), ("application/vnd.ms-word.document.macroEnabled.12", True),
    ("application/vnd.ms-excel.sheet.macroEnabled.12", True),
    ("application/vnd.ms-powerpoint.presentation.macroEnabled.12", True),
    ("application/vnd.ms-excel.addin.macroEnabled.12", True), ("application/x-ms-shortcut", True),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
]
CARRIER_NAMES = [
    *[pytest.param(f"bukti.{extension}", "application/octet-stream", True, id=extension) for extension in CARRIERS],
    *[pytest.param(f"BUKTI.{extension.upper()}", "application/octet-stream", True, id=f"{extension}-upper")
      for extension in CARRIERS],
    pytest.param("Surat_Tagihan.pdf.iso", "application/octet-stream", True, id="double-extension"),
    pytest.param("invoice.img. ", "application/octet-stream", True, id="trailing-dot-and-space"),
    *[pytest.param(None, content_type, flagged, id=content_type.rsplit("/", 1)[1]) for content_type, flagged
      in CARRIER_TYPES],
    *[pytest.param(f"laporan.{extension}", "application/octet-stream", False, id=f"{extension}-not-flagged")
      for extension in ["docx", "xlsx", "pptx", "pdf", "jpg", "odt", "mscz"]],
]


@pytest.mark.parametrize(("name", "content_type", "flagged"), CARRIER_NAMES)
def test_disk_images_macro_office_files_and_shortcuts_are_executable(name: str | None, content_type: str,
                                                                     flagged: bool) -> None:
    """An ISO, IMG or VHD(X) mounts with a double click and its files lose the mark of the web; an XLL is a DLL
    Excel loads, DOCM, XLSM and PPTM carry macros, MSC runs a console snap-in, LNK a command: the operator who opens
    them runs the sender's code, as with an .exe."""
    assert (executable_flags(RawAttachment(content_type, name, b"\x00")) == ["executable"]) is flagged


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("../../../etc/passwd", "passwd"), ("C:\\Users\\budi\\bukti.pdf", "bukti.pdf"),
     ("bukti\u202efdp.exe", "buktifdp.exe"), ("foto.jpg", "foto.jpg"), ("..", None)],
    ids=["path-traversal", "windows-path", "rtl-override", "plain", "dots-only"],
)
def test_attachment_names_are_file_names(filename: str, expected: str | None) -> None:
    """A name is what an operator sees and saves as: no directories, no characters that reverse what is shown."""
    raw = ("From: a@example.net\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
           "\r\n--b\r\nContent-Type: text/plain\r\n\r\nlihat\r\n--b\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Disposition: attachment; filename*=utf-8''{quote(filename, safe='')}\r\n"
           "\r\nxx\r\n--b--\r\n").encode()
    [attachment] = parse_mail(raw).attachments
    assert attachment.name == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [pytest.param('Content-Disposition: attachment; filename="C:\\Documents and Settings\\Budi Santoso\\foto.jpg"',
                  "foto.jpg", id="windows-path-quoted"),
     pytest.param('Content-Disposition: attachment; filename="..\\..\\Users\\budi\\catatan.txt"', "catatan.txt",
                  id="windows-traversal-quoted"),
     pytest.param('Content-Type: image/jpeg; name="D:\\foto\\jalan.jpg"', "jalan.jpg", id="windows-path-in-name"),
     pytest.param('Content-Disposition: attachment; filename="\\\\server\\budi\\foto.jpg"', "foto.jpg",
                  id="windows-share-path-quoted"),
     pytest.param('Content-Disposition: attachment; filename="C:\\\\Users\\\\budi\\\\foto.jpg"', "foto.jpg",
                  id="windows-path-escaped"),
     pytest.param('Content-Disposition: attachment; filename="foto \\"jalan\\".jpg"', 'foto "jalan".jpg',
                  id="an-escaped-quote"),
     # A path's name in 8-bit UTF-8 was read as U+FFFD; RFC 2045's escapes in a name that is no path were taken for
     # its directories ("Laporan \(final\).pdf" was ").pdf").
     pytest.param('Content-Disposition: attachment; filename="C:\\Users\\budi\\Foto jalán – RT 03.jpg"',
                  "Foto jalán – RT 03.jpg", id="windows-path-8-bit"),
     pytest.param('Content-Disposition: attachment; filename="Laporan \\(final\\).pdf"', "Laporan (final).pdf",
                  id="escaped-parentheses"),
     pytest.param('Content-Disposition: attachment; filename="Laporan\\ Budi.pdf"', "Laporan Budi.pdf",
                  id="an-escaped-space"),
     # The name the policy reads is Content-Disposition's: a path in Content-Type's name did not replace it.
     pytest.param('Content-Type: image/jpeg; name="C:\\fakepath\\ktp.jpg"\r\n'
                  'Content-Disposition: attachment; filename="bukti pungli.jpg"', "bukti pungli.jpg",
                  id="content-disposition-first")],
)
def test_a_quoted_windows_path_is_a_file_name(fields: str, expected: str) -> None:
    """Old clients and web forms (a browser's upload sent the whole path) write a file's Windows path in a quoted
    parameter, its "\\" unescaped: read as RFC 2045's escapes, the name was the directories run together,
    "C:Documents and SettingsBudi Santosofoto.jpg", the sender's name in it."""
    raw = ("From: a@example.net\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
           "\r\n--b\r\nContent-Type: text/plain\r\n\r\nlihat\r\n--b\r\n"
           + ("" if fields.startswith("Content-Type") else "Content-Type: image/jpeg\r\n")
           + f"{fields}\r\n\r\nxx\r\n--b--\r\n").encode()
    [attachment] = parse_mail(raw).attachments
    assert attachment.name == expected


# (the parameters of Content-Type and Content-Disposition, the name read): RFC 2231 values whose charset names a codec
# that refuses their bytes, which the stdlib's parser raised on, and the mail was quarantined (`unreadable_mime`)
RFC2231_CHARSETS = [
    pytest.param("; name*=undefined''x.jpg", "; filename*=undefined''Foto%20jalan%20%E2%80%93%20RT%2003.jpg",
                 "Foto jalan \u2013 RT 03.jpg", id="undefined"),
    pytest.param("", "; filename*=UNDEFINED'id'caf%C3%A9%FF.jpg", "caf\u00e9\ufffd.jpg", id="undefined-bad-utf-8"),
    pytest.param("", "; filename*0*=undefined''Foto%20jalan; filename*1*=%20rusak.jpg", "Foto jalan rusak.jpg",
                 id="undefined-sectioned"),
    pytest.param("", "; filename*=\"undefined''foto%20RT%2003.jpg\"", "foto RT 03.jpg", id="undefined-quoted"),
    pytest.param("; name*=idna''foto.jpg", "", "foto.jpg", id="idna-in-content-type"),
    pytest.param("", "; filename*=punycode''foto%20jalan.jpg", "foto jalan.jpg", id="punycode"),
    pytest.param("", "; filename*=utf-16''foto1.jpg", "foto1.jpg", id="utf-16-odd-length"),
    pytest.param("", "; filename*=cp424''foto.jpg", "foto.jpg", id="ebcdic"),
    pytest.param("", "; filename*=x-no-such-charset''caf%C3%A9.jpg", "caf\u00e9.jpg", id="unknown-charset"),
    pytest.param("", "; filename*=''caf%C3%A9.jpg", "caf\u00e9.jpg", id="no-charset"),
    pytest.param("", "; filename*=iso-8859-1''caf%E9.jpg", "caf\u00e9.jpg", id="a-real-charset-kept"),
]


@pytest.mark.parametrize(("type_params", "disposition_params", "expected"), RFC2231_CHARSETS)
def test_a_file_name_in_a_charset_that_cannot_read_it_is_read_as_utf_8(type_params: str, disposition_params: str,
                                                                      expected: str) -> None:
    """A webmail writes `filename*=undefined''...`: the mail is read, its file named by the percent-decoded bytes
    as UTF-8 (U+FFFD for what is not), as the stdlib reads a charset it does not know; a real charset is honoured."""
    raw = ("From: a@example.net\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
           "\r\n--b\r\nContent-Type: text/plain\r\n\r\nfoto terlampir\r\n"
           f"--b\r\nContent-Type: image/jpeg{type_params}\r\nContent-Disposition: attachment{disposition_params}\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n/9j/4A==\r\n--b--\r\n").encode()
    mail = parse_mail(raw)
    assert mail.text == "foto terlampir"
    [attachment] = mail.attachments
    assert (attachment.name, attachment.content_type, attachment.data) == (expected, "image/jpeg", b"\xff\xd8\xff\xe0")


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("<abc123@mail.example.id>", ["abc123@mail.example.id"], id="bracketed"),
    pytest.param("abc123@mail.example.id", ["abc123@mail.example.id"], id="bare"),
    pytest.param(" abc123@mail.example.id (server lama)", ["abc123@mail.example.id"], id="bare-with-a-comment"),
    pytest.param("a1@x.example b2@y.example", ["a1@x.example", "b2@y.example"], id="bare-references"),
    pytest.param("your message of Fri, 4 Dec 2026 <a1@x.example>", ["a1@x.example"], id="obsolete-phrase-and-id"),
    pytest.param("your message of Fri, 4 Dec 2026", [], id="obsolete-phrase-alone"),
    pytest.param("message from warga@example.net", [], id="phrase-with-an-address"),
    pytest.param("abc 123@mail.example.id", [], id="a-space"),
    pytest.param("abc123", [], id="no-at"),
    pytest.param("abc@123@mail.example.id", [], id="two-ats"),
    pytest.param("@mail.example.id", [], id="nothing-before-the-at"),
    pytest.param("abc123@", [], id="nothing-after-the-at"),
    pytest.param("abc\x01123@mail.example.id", [], id="a-control"),
    pytest.param("<abc 123@mail.example.id>", [], id="bracketed-with-a-space"),
    pytest.param("", [], id="empty"),
])
def test_message_ids_with_and_without_angle_brackets(value: str, expected: list[str]) -> None:
    """Some small mail servers write a Message-ID (and In-Reply-To, References) bare: read, our reply threads under
    it. A field with anything but bare msg-ids in it gives none."""
    assert message_ids(value) == expected


def test_attachment_limits_per_attachment_per_message_and_count(tmp_path: Path, settings: Settings) -> None:
    limits = settings.email.model_copy(update={"max_attachment_bytes": 100, "max_attachments_bytes": 150,
                                               "max_attachments": 3})
    raws = [RawAttachment("image/png", f"{n}.png", bytes([n]) * size) for n, size in
            enumerate([80, 120, 80, 60, 10])]
    listed = store_attachments(raws, tmp_path, limits)
    assert [a.flags for a in listed] == [[], ["too_large", "not_stored"], ["message_too_large", "not_stored"],
                                         ["too_many", "not_stored"], ["too_many", "not_stored"]]
    assert [a.size for a in listed] == [80, 120, 80, 60, 10]
    assert all(a.sha256 == hashlib.sha256(r.data).hexdigest() for a, r in zip(listed, raws, strict=True))
    assert (tmp_path / listed[0].location).read_bytes() == raws[0].data
    assert [a.location for a in listed[1:]] == ["", "", "", ""]


def _mail(content_type: str, body: str, eol: str = "\r\n") -> bytes:
    """A hand-written mail (written with LF), with the line ends given."""
    head = f"From: a@example.net\nSubject: x\nMIME-Version: 1.0\nContent-Type: {content_type}\n\n"
    return (head + body).replace("\n", eol).encode()


_LEAF = "--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\nAA==\n"
_LOOK_ALIKES = "--\n-- \n-----Original Message-----\n--bb\n---b\n --b\n--b--x\n--b -\n--c\n"
PART_CASES = [
    pytest.param(_mail('multipart/mixed; boundary="b"', _LEAF * 4 + "--b--\n"), 5, id="flat-crlf"),
    pytest.param(_mail('multipart/mixed; boundary="b"', _LEAF * 4 + "--b--\n", eol="\n"), 5, id="flat-lf"),
    pytest.param(_mail("multipart/mixed; boundary=b",
                       "--b\nContent-Type: multipart/alternative; boundary=alt\n\n"
                       "--alt\nContent-Type: text/plain\n\nisi\n--alt\nContent-Type: text/html\n\n<p>isi</p>\n"
                       "--alt--\n" + _LEAF * 2 + "--b--\n"), 6, id="nested"),
    pytest.param(_mail("multipart/mixed; boundary=b",
                       "--b\nContent-Type: text/plain\n\n" + _LOOK_ALIKES * 20 + _LEAF + "--b--\n"), 3,
                 id="boundary-look-alikes-in-a-body"),
    pytest.param(_mail('multipart/mixed;\n\tboundary="=_Part 1.2+3?x"',
                       "Ini pesan MIME.\n--=_Part 1.2+3?x \n\nsatu\n--=_Part 1.2+3?x\t\n\ndua\n"
                       "--=_Part 1.2+3?x--\n-- \nepilog\n"), 3, id="quoted-folded-trailing-blanks-epilogue"),
]


@pytest.mark.parametrize(("raw", "parts"), PART_CASES)
def test_mime_parts_are_counted_as_the_parser_makes_them(raw: bytes, parts: int) -> None:
    """Every part of a declared boundary, nested ones included, CRLF or LF; no line that merely looks like a delimiter
    (dashes, a signature, Outlook's separator, a longer or other boundary)."""
    parse_bytes(raw, parts)
    with pytest.raises(TooManyParts):
        parse_bytes(raw, parts - 1)


@pytest.mark.parametrize(
    "raw",
    [
        _mail("message/delivery-status", "Reporting-MTA: dns; a.example\n\n" + "Action: failed\n\n" * 30),
        _mail("multipart/mixed; boundary=b", ("--b\nContent-Type: message/rfc822\n\nFrom: c@example.net\n\nx\n") * 6
              + "--b--\n"),
        _mail('multipart/mixed; boundary="=?utf-8?q?b?="', _LEAF * 30 + "--b--\n"),
        _mail("multipart/digest; boundary=b", "--b\n\nFrom: c@example.net\n\nx\n" * 6 + "--b--\n"),
        _mail("multipart/mixed; boundary=b", "--b\nContent-Type: text/plain\n" * 30 + "--b--\n"),
    ],
    ids=["delivery-status-blocks", "forwarded-messages", "encoded-word-boundary", "digest", "headers-only-parts"],
)
def test_every_kind_of_part_counts_and_the_parse_stops_at_the_first_over_the_limit(raw: bytes) -> None:
    """Each delivery-status block and each forwarded message is a part of its own, as is each member of a digest
    (a forwarded message by default, so two parts) and a part of headers alone; a boundary written as an encoded word
    is one the parser decodes."""
    with pytest.raises(TooManyParts) as refused:
        parse_mail(raw, 10)
    assert (refused.value.parts, refused.value.limit) == (11, 10)
    assert parse_mail(raw).sender_address == "a@example.net"  # no limit: read as before


def _forwarded_chain(depth: int) -> bytes:
    """A mail that is a forwarded message, itself a forwarded message...: one level per message, `depth` in all."""
    head = "From: a@example.net\nSubject: Fwd: x\nContent-Type: message/rfc822\n\n"
    return (head * (depth - 1) + "From: warga@example.net\nSubject: x\n\nJalan di depan SDN 3 berlubang.\n").encode()


NESTINGS = [pytest.param(mail_nested, id="multiparts"), pytest.param(_forwarded_chain, id="forwarded-messages")]


@pytest.mark.parametrize("nested", NESTINGS)
@pytest.mark.parametrize("limit", [1, 2, 10, 30])
def test_parts_nested_to_the_depth_limit_parse_and_one_level_deeper_is_refused(nested, limit: int) -> None:  # type: ignore[no-untyped-def]
    """The message itself is level 1, each part one level below the part holding it, whatever holds it."""
    assert "berlubang" in parse_mail(nested(limit), 0, limit).text
    with pytest.raises(TooDeep) as refused:
        parse_mail(nested(limit + 1), 0, limit)
    assert isinstance(refused.value, TooLarge) and refused.value.reason == "too_deeply_nested"
    assert (refused.value.depth, refused.value.limit) == (limit + 1, limit)


@pytest.mark.parametrize("nested", NESTINGS)
def test_a_mail_nested_400_deep_is_refused_at_the_first_level_over_the_limit(nested, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Each level adds a boundary the parser matches every later line against: 400 levels of 26 KB, well under the
    part limit, took most of a second to parse (900 levels of 350 KB: 20 s). The parse stops at level 31."""
    limits = settings.email
    assert limits.max_mime_depth == 30
    with pytest.raises(TooDeep) as refused:
        parse_mail(nested(400), limits.max_mime_parts, limits.max_mime_depth)
    assert refused.value.depth == 31
    assert parse_mail(nested(400)).sender_address  # no limit: read as before


def _forward(mail: EmailMessage, sender: str, text: str) -> EmailMessage:
    """`mail` forwarded as an attachment (message/rfc822), as Thunderbird and Outlook do."""
    forward = EmailMessage()
    forward["From"], forward["To"], forward["Subject"] = sender, "pengaduan@lapor.go.id", "Fwd: " + mail["Subject"]
    forward.set_content(text)
    forward.add_attachment(mail)
    return forward


def test_a_forward_of_a_forwarded_mail_with_html_and_inline_photos_is_well_under_the_depth_limit(
        settings: Settings) -> None:
    """A citizen's HTML mail (alternative, related inline photo, a PDF) forwarded by the village head, forwarded
    again by the district office: 8 levels, the most real mail reaches."""
    citizen = EmailMessage()
    citizen["From"], citizen["To"], citizen["Subject"] = "warga@example.net", "kades@example.net", "Jalan rusak"
    citizen.set_content("Jalan di depan SDN 3 berlubang.")
    citizen.add_alternative('<p>Jalan di depan SDN 3 berlubang.</p><img src="cid:foto">', subtype="html")
    html = citizen.get_payload()[1]
    html.add_related(b"\x89PNG foto", maintype="image", subtype="png", cid="<foto>", filename="foto.png")
    citizen.add_attachment(b"%PDF-1.4 surat", maintype="application", subtype="pdf", filename="surat.pdf")
    village = _forward(citizen, "kades@example.net", "Mohon ditindaklanjuti.")
    district = _forward(village, "camat@example.net", "Diteruskan ke LAPOR!.")
    raw = district.as_bytes().replace(b"\n", b"\r\n")
    limits = settings.email
    mail = parse_mail(raw, limits.max_mime_parts, limits.max_mime_depth)
    assert mail.text.count(FORWARD_MARKER) == 2 and "Jalan di depan SDN 3 berlubang." in mail.text
    assert sorted(a.name or "" for a in mail.attachments) == ["foto.png", "surat.pdf"]
    parse_mail(raw, 0, 8)
    with pytest.raises(TooDeep):
        parse_mail(raw, 0, 7)


@pytest.mark.parametrize("header", [
    pytest.param(b"Content-Type: text/plain; name*0*", id="content-type-of-the-mail"),
    pytest.param(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; name*0*",
                 id="content-type-of-a-part"),
    pytest.param(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
                 b"Content-Disposition: attachment; filename*0*", id="content-disposition-of-a-part"),
])
def test_a_mime_parameter_the_stdlib_cannot_parse_is_a_typed_rejection(header: bytes) -> None:
    """The stdlib's header parser raises IndexError on a sectioned parameter cut short (CPython 3.11 to 3.13): the
    mail is malformed input, quarantined for an operator like any other, not a parser crash."""
    raw = b"From: warga@contoh-desa.net\r\n" + header + b"\r\n\r\nJalan rusak\r\n--x--\r\n"
    with pytest.raises(RejectedInput) as rejected:
        parse_mail(raw)
    assert rejected.value.reason == "unreadable_mime"


# (a mail, the part holding its last header line: 1 is the message itself, then each part in the order it starts)
HEADER_SHAPES = [
    pytest.param(_mail("text/plain", "isi\n"), 1, id="the-message-crlf"),
    pytest.param(_mail("text/plain", "isi\n", eol="\n"), 1, id="the-message-lf"),
    pytest.param(b"From: a@example.net\r\nSubject: x\r\nReferences: <1@example.net>\r\n\t<2@example.net>\r\n"
                 b"\t<3@example.net>\r\n\r\nisi\r\n", 1, id="a-folded-field"),
    pytest.param(_mail("text/plain", "Kode: 17\nLokasi: Jl. Merdeka 3\n" * 50), 1, id="a-body-of-header-look-alikes"),
    pytest.param(b"From: a@example.net\r\nSubject: x\r\n", 1, id="a-header-that-ends-the-mail"),
    pytest.param(_mail("multipart/mixed; boundary=b", _LEAF * 3 + "--b--\n"), 4, id="parts"),
    pytest.param(_mail("multipart/mixed; boundary=b", "--b\nContent-Type: text/plain\nX-A: 1\n--b--\n"), 2,
                 id="a-header-ended-by-a-boundary"),
    pytest.param(_mail("message/rfc822", "From: c@example.net\nSubject: y\nX-A: 1\n\nisi\n"), 2,
                 id="a-forwarded-message"),
    pytest.param(_mail("message/delivery-status", "Reporting-MTA: dns; a.example\n\nAction: failed\nStatus: 5.1.1\n"
                       "\nAction: failed\n"), 4, id="delivery-status-blocks"),
]


@pytest.mark.parametrize(("raw", "part"), HEADER_SHAPES)
def test_every_header_line_and_byte_counts_and_one_more_than_the_limit_is_refused(raw: bytes, part: int) -> None:
    """The message's header and every part's count together, every line of a folded field, line ends included; a
    body is not a header however it looks, nor is the boundary or blank line that ends one. At the limits the mail
    parses; one line or byte over, it is refused at the last header line, in the part holding it."""
    lines, size = header_size_of(raw)
    parse_bytes(raw, max_header_lines=lines, max_header_bytes=size)
    with pytest.raises(TooManyHeaderLines) as refused:
        parse_bytes(raw, max_header_lines=lines - 1)
    assert isinstance(refused.value, TooLarge) and refused.value.reason == "too_many_header_lines"
    assert refused.value.counts == {"header_lines": lines, "part": part, "limit": lines - 1}
    with pytest.raises(HeaderTooLarge) as too_large:
        parse_bytes(raw, max_header_bytes=size - 1)
    assert too_large.value.reason == "header_too_large"
    assert too_large.value.counts == {"header_bytes": size, "part": part, "limit": size - 1}


def test_the_parse_stops_at_the_first_header_line_over_the_limit() -> None:
    """A flood in the first part's header, 60 parts before the end: refused there, at line 101, before the parser
    reads on to the part that would pass the part limit."""
    flood = "--b\nContent-Type: text/plain\n" + "X-Flood: 1\n" * 1000 + "\nisi\n"
    raw = _mail("multipart/mixed; boundary=b", flood + _LEAF * 60 + "--b--\n")
    with pytest.raises(TooManyHeaderLines) as refused:
        parse_mail(raw, 10, max_header_lines=100)
    assert refused.value.counts == {"header_lines": 101, "part": 2, "limit": 100}
    with pytest.raises(TooManyParts):
        parse_mail(raw, 10)  # no header limit: read on to the eleventh part


def addresses_of(size: int) -> str:
    """Folded addresses, at least `size` characters in all."""
    names = []
    while sum(map(len, names)) + 3 * len(names) < size:
        names.append(f'"Warga {len(names)}" <w{len(names)}@desa.id>')
    return ",\r\n ".join(names)


def mail_with_fields(**fields: str) -> bytes:
    head = {"From": "Siti <siti@desa.id>", "To": "lapor@lapor.go.id", "Subject": "Jalan rusak",
            "Message-ID": "<a1@desa.id>", **{name.replace("_", "-"): value for name, value in fields.items()}}
    return ("".join(f"{name}: {value}\r\n" for name, value in head.items()) + "\r\nJalan berlubang.\r\n").encode()


@pytest.mark.parametrize(("fields", "rejected", "reply_to"), [
    pytest.param({"From": addresses_of(MAX_ADDRESS_FIELD + 1)}, "from_too_long", None,
                 id="a From longer than the limit: malformed, never parsed"),
    pytest.param({"From": "Siti <siti@desa.id>, " + addresses_of(MAX_ADDRESS_FIELD - 200)}, None, None,
                 id="a From just under it: its first address"),
    pytest.param({"Reply_To": addresses_of(MAX_ADDRESS_FIELD + 1)}, None, None,
                 id="a Reply-To longer than the limit: not read"),
    pytest.param({"Reply_To": "Budi <budi@desa.id>"}, None, "budi@desa.id", id="a Reply-To as mail has it"),
])
def test_an_address_field_too_long_to_parse_in_time_is_refused_or_left_unread(
        fields: dict[str, str], rejected: str | None, reply_to: str | None) -> None:
    """The stdlib's address parser is quadratic in a field's length: 64 KiB of From cost 0.65 s of CPU."""
    raw = mail_with_fields(**fields)
    if rejected:
        with pytest.raises(RejectedInput) as error:
            parse_mail(raw)
        assert error.value.reason == rejected
        return
    mail = parse_mail(raw)
    assert (mail.sender_address, mail.reply_to) == ("siti@desa.id", reply_to)


def test_a_parts_content_type_and_disposition_are_read_once_per_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stdlib parses a header again at every lookup, and a part's type, parameters, charset and disposition are
    looked up about twelve times between the parser and the walk: eight times the CPU of a mail whose parts carry
    long parameters (8 parts of 8 KB: 6.7 s, now 0.8 s)."""
    parsed: list[str] = []
    fetch = EmailPolicy.header_fetch_parse

    def counting(self: EmailPolicy, name: str, value: str) -> object:
        if name.lower() in ("content-type", "content-disposition") and not hasattr(value, "name"):
            parsed.append(name.lower())
        return fetch(self, name, value)

    monkeypatch.setattr(EmailPolicy, "header_fetch_parse", counting)
    raw = fixture("apple_mail_related")
    mail = parse_mail(raw)
    assert mail.sender_address and mail.attachments
    distinct = {(name.lower(), value) for part in parse_bytes(raw).walk() for name, value in part.raw_items()
                if name.lower() in ("content-type", "content-disposition")}
    parsed.clear()
    parse_mail(raw)
    assert len(parsed) == len(distinct)


# -- which parts are the report's text -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextPart:
    """A mail with a text part that is no body text: its `content_type`, as its file keeps it, and what it `holds`
    (never in the report's text); `text` is what the report's text is, or `starts` with."""

    id: str
    raw: bytes
    content_type: str
    holds: tuple[str, ...]
    starts: str
    inline: bool = False
    text: str | None = None


def _beside_text(part: str, text: str = "Petugas loket meminta Rp 50.000.") -> bytes:
    """A mail of a text/plain body and one more part (`part`: its header lines, a blank line, its content)."""
    return _mail("multipart/mixed; boundary=b", f"--b\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
                                                 f"--b\n{part}\n--b--\n")


VCARD_4 = "BEGIN:VCARD\nVERSION:4.0\nFN:Endang Lestari\nTEL;TYPE=cell:+62 813-9876-5432\nEND:VCARD\n"
TEXT_PARTS = [
    TextPart("thunderbird: a nameless text/calendar beside the text", fixture("thunderbird_calendar_nameless"),
             "text/calendar", ("BEGIN:VCALENDAR", "ORGANIZER", "hartono.kepsek@sdn3-sukajadi.sch.id",
                               "mailto:ratna.kusumawardani@posteo.net"), "Kepala sekolah mengundang semua wali murid"),
    TextPart("samsung email: text/x-vcard inline", fixture("samsung_vcard_inline"), "text/x-vcard",
             ("BEGIN:VCARD", "Sri Wahyuni", "0857-1111-2222", "Jl. Kenanga No. 7", "sri.wahyuni.kds@example.net"),
             "Di depan loket KTP kecamatan ada calo", inline=True),
    TextPart("mutt: text/rfc822-headers, a relay's Received lines", fixture("mutt_rfc822_headers"),
             "text/rfc822-headers", ("Received:", "36.72.214.9", "Delivered-To", "noreply@djp-pajak-online.example"),
             "Saya menerima surel yang mengaku dari DJP", inline=True),
    TextPart("outlook invitation: text/calendar beside text/plain and text/html alternatives",
             fixture("outlook_invitation_alternative"), "text/calendar",
             ("BEGIN:VCALENDAR", "ORGANIZER", "mailto:bambang.sutrisno@dpmptsp-kabbogor.example.go.id",
              "X-MICROSOFT-CDO-BUSYSTATUS"), "Petugas perizinan mengundang saya bertemu di warung kopi"),
    TextPart("text/vcard, vCard 4", _beside_text(f"Content-Type: text/vcard; charset=utf-8\n\n{VCARD_4}"),
             "text/vcard", ("BEGIN:VCARD", "Endang Lestari", "813-9876-5432"), "Petugas loket meminta"),
    TextPart("text/directory, a vCard in its old type (RFC 2425)",
             _beside_text(f"Content-Type: text/directory; profile=vCard; charset=utf-8\n\n{VCARD_4}"),
             "text/directory", ("BEGIN:VCARD", "Endang Lestari", "813-9876-5432"), "Petugas loket meminta"),
    TextPart("text/csv inline", _beside_text("Content-Type: text/csv\nContent-Disposition: inline\n\n"
                                             "nama,nominal\nSri Wahyuni,50000\n"),
             "text/csv", ("nama,nominal", "Sri Wahyuni,50000"), "Petugas loket meminta", inline=True),
    TextPart("text/xml", _beside_text('Content-Type: text/xml\n\n<?xml version="1.0"?><pelapor>Sri Wahyuni</pelapor>'),
             "text/xml", ("<?xml", "<pelapor>Sri Wahyuni"), "Petugas loket meminta"),
    TextPart("text/x-* (a log)", _beside_text("Content-Type: text/x-log\n\nlogin budi.s 36.72.214.9\n"),
             "text/x-log", ("login budi.s", "36.72.214.9"), "Petugas loket meminta"),
    TextPart("text/enriched: no reader here, a file", _beside_text("Content-Type: text/enriched\n\n"
                                                                    "<bold>Sri Wahyuni</bold> 0857-1111-2222\n"),
             "text/enriched", ("<bold>", "Sri Wahyuni", "0857-1111-2222"), "Petugas loket meminta"),
    TextPart("a mail that is one text/calendar (iMIP without multipart)",
             _mail("text/calendar; method=REQUEST; charset=utf-8",
                   "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nORGANIZER:mailto:camat@kec.example.go.id\n"
                   "END:VEVENT\nEND:VCALENDAR\n"),
             "text/calendar", ("BEGIN:VCALENDAR", "camat@kec.example.go.id"), "", text=""),
]


@pytest.mark.parametrize("case", TEXT_PARTS, ids=lambda case: case.id)
def test_only_plain_text_and_html_are_the_reports_text_any_other_text_part_is_a_file(case: TextPart) -> None:
    """A calendar (its organizer and attendees), a contact card (a name and number), a mail's headers (a relay's
    Received lines: an IP address, a provider), CSV, XML, named or not, were read into the report as they were, past
    an anonymous report's own-identity removal: they are files, with their type, and go the attachment path."""
    mail = parse_mail(case.raw)
    assert mail.text.startswith(case.starts) and case.text in (None, mail.text), mail.text
    assert [held for held in case.holds if held.lower() in mail.text.lower()] == []
    assert [(file.content_type, file.name, file.inline) for file in mail.attachments] == [
        (case.content_type, None, case.inline)]
    [file] = mail.attachments
    assert [held for held in case.holds if held.encode() not in file.data] == []


def _gt(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.rstrip("\n").split("\n"))


ACK_10001301 = reply_body("ack", "10001301")


def _former_body(key: str, **fields: str) -> str:
    """A mail reply of ours in its former words (`[<key>.former]`, the first of each language, the current English
    where it kept its words), as citizens still hold it and quote it back."""
    table = load_replies()[key]
    former = table["former"]
    return "\n\n".join((former.get(language) or [table[language]])[0].format(**fields)
                        for language in ("id", "en")) + "\n"
GMAIL_FORWARD = ("---------- Forwarded message ---------\nFrom: LAPOR! <pengaduan@lapor.go.id>\n"
                 "Date: Thu, Nov 26, 2026 at 9:02 AM\nSubject: [LAPOR #10001301] Lampu jalan mati\n"
                 "To: <warga@example.net>\n\n\n")


@dataclass(frozen=True)
class ForwardRow:
    id: str
    subject: str
    body: str
    text: str  # the mail's text as parsed (`ParsedMail.text`: threaded or tagged or not)
    forwarded: EmailMessage | None = None  # a mail attached whole (Outlook's "forward as attachment")


def _our_ack_attached() -> EmailMessage:
    ack = EmailMessage()
    ack["From"], ack["To"] = "LAPOR! <pengaduan@lapor.go.id>", "warga@example.net"
    ack["Subject"], ack["Date"] = "[LAPOR #10001301] Lampu jalan mati", "Thu, 26 Nov 2026 09:02:00 +0700"
    ack.set_content(ACK_10001301)
    return ack


FORWARD_ROWS = [
    # the subject lost our tag: our words are still none of the citizen's
    ForwardRow("gmail-forward-subject-without-the-tag", "Fwd: Lampu jalan mati",
               "Lampunya masih mati.\n\n" + GMAIL_FORWARD + ACK_10001301, "Lampunya masih mati."),
    ForwardRow("tr-outlook-block", "Tr: [LAPOR #10001301] Lampu jalan mati",
               "Lampunya masih mati.\n\n________________________________\nFrom: LAPOR! <pengaduan@lapor.go.id>\n"
               "Sent: Thursday, November 26, 2026 9:02 AM\nTo: warga@example.net\n"
               "Subject: [LAPOR #10001301] Lampu jalan mati\n\n" + ACK_10001301, "Lampunya masih mati."),
    ForwardRow("yahoo-header-on-the-markers-line", "Fwd: Lampu jalan mati",
               "Lampunya masih mati.\n\n----- Forwarded Message ----- From: LAPOR! <pengaduan@lapor.go.id>To: "
               "<warga@example.net>Sent: Thursday, November 26, 2026, 09:02:00 AM GMT+7Subject: [LAPOR #10001301] "
               "Lampu jalan mati\n" + ACK_10001301, "Lampunya masih mati."),
    ForwardRow("forwarded-as-an-attachment", "Fwd: [LAPOR #10001301] Lampu jalan mati", "Lampunya masih mati.\n",
               "Lampunya masih mati.", _our_ack_attached()),
    ForwardRow("our-forward-then-someone-elses", "Fwd: Lampu jalan mati",
               "Lampunya masih mati.\n\n" + GMAIL_FORWARD + ACK_10001301 + "\n---------- Forwarded message ---------\n"
               "From: Kepala Desa <kades@desa.example.id>\nSubject: Lampu\n\nLampu akan diganti tahun depan.\n",
               "Lampunya masih mati.\n\n---------- Forwarded message ---------\nFrom: Kepala Desa "
               "<kades@desa.example.id>\nSubject: Lampu\n\nLampu akan diganti tahun depan."),
    # the citizen's words typed in or below the forward's header block, in a line that opens with a word and a colon:
    # no header field, so no forward of ours alone; kept whole, or they were dropped with our acknowledgement
    ForwardRow("words-below-the-forwards-header", "Fwd: [LAPOR #10001301] Lampu jalan mati",
               GMAIL_FORWARD + "Tambahan: lampunya masih mati.\n\n" + ACK_10001301,
               (GMAIL_FORWARD + "Tambahan: lampunya masih mati.\n\n" + ACK_10001301).strip()),
    ForwardRow("words-in-the-forwards-header", "Fwd: [LAPOR #10001301] Lampu jalan mati",
               GMAIL_FORWARD.rstrip("\n") + "\nUpdate: lampunya masih mati.\n\n" + ACK_10001301,
               (GMAIL_FORWARD.rstrip("\n") + "\nUpdate: lampunya masih mati.\n\n" + ACK_10001301).strip()),
    # words typed into our text beside its Tracking ID: kept, with the forward around them
    ForwardRow("words-beside-the-id-in-our-text", "Fwd: [LAPOR #10001301] Lampu jalan mati",
               GMAIL_FORWARD + ACK_10001301.replace("10001301.", "10001301 LAMPUNYA MASIH MATI.", 1),
               (GMAIL_FORWARD + ACK_10001301.replace("10001301.", "10001301 LAMPUNYA MASIH MATI.", 1)).strip()),
    # the links a client makes of our page's address and of the ID are still our text
    ForwardRow("our-text-with-the-links-a-client-made", "Fwd: [LAPOR #10001301] Lampu jalan mati",
               "Lampunya masih mati.\n\n" + GMAIL_FORWARD + ACK_10001301.replace(
                   "pengaduan/10001301", "pengaduan/10001301<https://www.lapor.go.id/pengaduan/10001301>").replace(
                   "Anda: 10001301.", "Anda: 10001301 (tel:10001301)."), "Lampunya masih mati."),
    # our reply in its former words ("...kami terima di LAPOR!."), still in citizens' mailboxes: ours too
    *(ForwardRow(f"our-former-{key}", "Fwd: [LAPOR #10001301] Lampu jalan mati",
                 "Lampunya masih mati.\n\n" + GMAIL_FORWARD + _former_body(key, tracking_id="10001301",
                                                                           follow_up_of="10001292", typed_id="12345"),
                 "Lampunya masih mati.")
      for key in ("email_ack", "email_ack_anonymous", "email_duplicate", "email_follow_up",
                  "email_follow_up_unknown", "email_follow_up_other_sender", "email_bad_tracking_id_photo",
                  "email_bad_tracking_id")),
    # the answer to a CEK whose status lookups ran out ("send CEK later"), sent back: ours too
    ForwardRow("our-status-retry-answer", "Fwd: [LAPOR #10001301] CEK 10001301",
               "Lampunya masih mati.\n\n" + GMAIL_FORWARD + "\n\n".join(
                   load_replies()["email_status_retry"][language].format(tracking_id="10001301")
                   for language in ("id", "en")) + "\n",
               "Lampunya masih mati."),
    # someone else's mail is the report, whole, our reply quoted in it too
    ForwardRow("an-officials-mail-quoting-our-reply-below-its-words", "Fwd: Jawaban kepala desa",
               "Mohon dicek.\n\n---------- Forwarded message ---------\nFrom: Kepala Desa <kades@desa.example.id>\n"
               "Subject: Re: [LAPOR #10001301] Lampu jalan mati\n\nSudah kami tindak lanjuti.\n\n"
               "Pada Kam, 26 Nov 2026 LAPOR! <pengaduan@lapor.go.id> menulis:\n" + _gt(ACK_10001301),
               "Mohon dicek.\n\n---------- Forwarded message ---------\nFrom: Kepala Desa <kades@desa.example.id>\n"
               "Subject: Re: [LAPOR #10001301] Lampu jalan mati\n\nSudah kami tindak lanjuti.\n\n"
               "Pada Kam, 26 Nov 2026 LAPOR! <pengaduan@lapor.go.id> menulis:\n" + _gt(ACK_10001301)),
]


@pytest.mark.parametrize("row", FORWARD_ROWS, ids=[row.id for row in FORWARD_ROWS])
def test_a_forward_of_our_reply_holds_none_of_the_citizens_words(row: ForwardRow) -> None:
    """Our acknowledgement forwarded back to us, under any client's marker, whatever the subject says, is passed over;
    the words around it are the citizen's, and any other forwarded message is kept whole."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Warga <warga@example.net>", "pengaduan@lapor.go.id", row.subject
    mail.set_content(row.body)
    if row.forwarded is not None:
        mail.add_attachment(row.forwarded)
    parsed = parse_mail(mail.as_bytes())
    assert (parsed.tagged_text if parsed.tagged_text is not None else parsed.text) == row.text

# -- Our reply quoted, naming its report by the tag in it ------------------------------------------------------------

ACK_10002007 = reply_body("ack_anonymous", "10002007")
_ATTRIBUTION = "Pada Kam, 26 Nov 2026 pukul 09.02 LAPOR! <pengaduan@lapor.go.id> menulis:\n"
_OUTLOOK_BLOCK = ("________________________________\nFrom: LAPOR! <pengaduan@lapor.go.id>\n"
                  "Sent: Thursday, November 26, 2026 9:02 AM\nTo: warga@example.net\n"
                  "Subject: [LAPOR #10001301] Lampu jalan mati\n\n")
QUOTED_TAG_ROWS = [
    # (subject, body): the tags of the replies of ours it quotes, and its text read with them passed over
    pytest.param("Re: Lampu jalan mati", "Lampunya masih mati.\n\n" + _gt(ACK_10001301),
                 ("10001301",), "Lampunya masih mati.", id="gt-lines-alone"),
    pytest.param("Re: Lampu jalan mati", "Lampunya masih mati.\n\n" + _ATTRIBUTION + "\n" + _gt(ACK_10001301),
                 ("10001301",), "Lampunya masih mati.", id="under-an-attribution"),
    pytest.param("Re: Lampu jalan mati", _ATTRIBUTION + _gt(ACK_10001301) + "\n\nLampunya masih mati.",
                 ("10001301",), "Lampunya masih mati.", id="bottom-posted"),
    pytest.param("RE: Lampu jalan mati", "Lampunya masih mati.\n\n" + _OUTLOOK_BLOCK + ACK_10001301
                 + "\nTiangnya juga miring.", ("10001301",), "Lampunya masih mati.\n\n\nTiangnya juga miring.",
                 id="below-outlooks-header-block-words-below-it-too"),
    # a client wraps the tag over two quoted lines
    pytest.param("Re: Lampu jalan mati", "Lampunya masih mati.\n\n"
                 + _gt(ACK_10001301.replace("[LAPOR #10001301]", "[LAPOR\n#10001301]")),
                 ("10001301",), "Lampunya masih mati.", id="the-tag-wrapped-in-the-quote"),
    pytest.param("Re: laporan", "Keduanya belum ditangani.\n\n" + _gt(ACK_10001301) + "\n>\n" + _gt(ACK_10002007),
                 ("10001301", "10002007"), "Keduanya belum ditangani.", id="two-of-our-replies-quoted"),
    # a forward shares our reply, where a quote answers it: no quote of ours
    pytest.param("Fwd: Lampu jalan mati", "Lampunya masih mati.\n\n" + GMAIL_FORWARD + ACK_10001301, (), None,
                 id="forwarded"),
    pytest.param("FW: Lampu jalan mati", "Lampunya masih mati.\n\n" + _OUTLOOK_BLOCK + ACK_10001301, (), None,
                 id="forwarded-by-outlook"),
    pytest.param("Re: Lampu jalan mati", "Lampunya masih mati.\n\n" + GMAIL_FORWARD + _ATTRIBUTION
                 + _gt(ACK_10001301), (), None, id="quoted-in-a-forwarded-mail"),
    # our tag where our reply is not quoted
    pytest.param("Re: Lampu jalan mati", "Laporan saya [LAPOR #10001301] lampunya masih mati.", (), None,
                 id="the-tag-typed-by-the-citizen"),
    pytest.param("Re: Lampu jalan mati", "Lampunya masih mati.\n\n" + _ATTRIBUTION.replace(
                 "LAPOR! <pengaduan@lapor.go.id>", "Kades <kades@desa.example.id>")
                 + "> Laporan [LAPOR #10001301] sudah kami terima.", (), None, id="in-someone-elses-quote"),
    pytest.param("Re: Lampu jalan mati", "Lampunya masih mati.\n\n" + _gt(ACK_10001301.replace(
                 "10001301.", "10001301 LAMPUNYA MASIH MATI.", 1)), (), None, id="words-typed-into-our-quote"),
    # with our tag in its subject the subject names the report (`tagged_text`)
    pytest.param("Re: [LAPOR #10001301] Lampu jalan mati", "Lampunya masih mati.\n\n" + _gt(ACK_10001301), (), None,
                 id="the-tag-in-the-subject"),
]


@pytest.mark.parametrize(("subject", "body", "tags", "text"), QUOTED_TAG_ROWS)
def test_the_tags_of_our_replies_a_mail_quotes_are_read(subject: str, body: str, tags: tuple[str, ...],
                                                        text: str | None) -> None:
    """`ParsedMail.quoted_tags`: the report our reply quoted names, which its sender's mail continues when it lost
    both its In-Reply-To and the subject's tag (the processor decides whose it is), and `quoting_text`, the mail read
    with our quote passed over. Only our own reply quoted: not forwarded, not a tag typed or in another's quote."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Warga <warga@example.net>", "pengaduan@lapor.go.id", subject
    mail.set_content(body)
    parsed = parse_mail(mail.as_bytes())
    assert (parsed.quoted_tags, parsed.quoting_text) == (tags, text)


def test_quotes_of_our_reply_are_looked_for_in_linear_time() -> None:
    """A mail of short quotes, each with our tag, is read for our reply in at most QUOTES_LOOKED_AT of them: each
    costs a look-up of every text we send (a 5 MB mail took 6 s)."""
    body = "x\n> To: a [LAPOR #10001301]\n" * 100_000
    started = time.process_time()
    assert our_quoted_tags(body) == ()
    assert time.process_time() - started < 1.5


# Each mail reply of ours and whether an answer quoting it names its report by the tag in its text: every reply that
# tells its reader of their own report, new or not (an acknowledgement, an addition confirmed, the same report sent
# again); not the answers to a CEK (`status_body`, `[email_status_retry]`), which anyone may ask of any Tracking ID
# and whose subject carries the tag, nor `[email_bad_tracking_id]`, which names no report.
REPLIES_QUOTED = [
    *((kind, True) for kind in (
        "ack", "ack_anonymous", "ack_confidential", "ack_anonymous_confidential",
        "duplicate", "duplicate_anonymous", "duplicate_confidential", "duplicate_anonymous_confidential",
        "follow_up", "follow_up_status", "follow_up_status_retry",
        "follow_up_unknown", "follow_up_unknown_anonymous", "follow_up_unknown_confidential",
        "follow_up_unknown_anonymous_confidential", "follow_up_other_sender",
        "bad_tracking_id_photo", "bad_tracking_id_photo_confidential")),
    ("status_retry", False),
]


def _reply_text(kind: str) -> str:
    return reply_body(kind, "10001301", follow_up_of="10001292", typed_id="12345", status="verified")


@pytest.mark.parametrize(("kind", "tagged"), REPLIES_QUOTED, ids=[kind for kind, _ in REPLIES_QUOTED])
@pytest.mark.parametrize("quote", ["gt", "attribution", "outlook"])
def test_each_reply_telling_of_a_report_names_it_where_it_is_quoted(kind: str, tagged: bool, quote: str) -> None:
    """An answer that lost its In-Reply-To and the subject's tag names its report by the tag inside our reply it
    quotes. Our confirmation of an addition carried none (`[email_follow_up]`, `[email_follow_up_status]`,
    `[email_follow_up_status_retry]`, `[email_duplicate]` and its flags), and the citizen answering it from such a
    client had her next addition filed as a new report. Outlook's header block names the tag in its `Subject:` line
    whatever our text says: quoted without it here, as a client that drops it writes it. Our words are passed over."""
    body = {"gt": _gt(_reply_text(kind)), "attribution": _ATTRIBUTION + "\n" + _gt(_reply_text(kind)),
            "outlook": _OUTLOOK_BLOCK.replace("[LAPOR #10001301] ", "") + _reply_text(kind)}[quote]
    mail = EmailMessage()
    mail["From"], mail["To"] = "Warga <warga@example.net>", "pengaduan@lapor.go.id"
    mail["Subject"] = "Re: Lampu jalan mati"
    mail.set_content("Lampunya masih mati.\n\n" + body)
    parsed = parse_mail(mail.as_bytes())
    assert parsed.quoted_tags == (("10001301",) if tagged else ())
    if tagged:
        assert parsed.quoting_text == "Lampunya masih mati."


def test_the_status_answer_by_mail_names_no_report_where_it_is_quoted() -> None:
    """The answer to a CEK is the SMS's (`[status]`, `[status_unknown]`), to whoever asked: no tag in its text."""
    for found in (True, False):
        mail = EmailMessage()
        mail["From"], mail["To"] = "Warga <warga@example.net>", "pengaduan@lapor.go.id"
        mail["Subject"] = "Re: CEK 10001301"
        mail.set_content("Lampunya masih mati.\n\n" + _gt(status_body("10001301", "verified", found)))
        assert parse_mail(mail.as_bytes()).quoted_tags == ()


# The texts given the tag: each of their former wordings, forwarded or quoted back from a citizen's mailbox, is ours.
RETAGGED = ("email_follow_up", "email_follow_up_status", "email_follow_up_status_retry", "email_duplicate",
            "email_duplicate_anonymous", "email_duplicate_confidential", "email_duplicate_anonymous_confidential")


@pytest.mark.parametrize("key", RETAGGED)
def test_our_replies_in_the_words_they_had_before_the_tag_are_still_ours(key: str) -> None:
    """A reworded reply keeps its old words under `[<key>.former]` (config/replies.toml): a citizen's mailbox holds
    the old mail, and a quote of it was otherwise taken for her words. Each former text, in each language (the other
    language's current text beside it), forwarded under the tag's subject, is passed over."""
    table = load_replies()[key]
    assert {language: bool(table["former"].get(language)) for language in ("id", "en")} == {"id": True, "en": True}
    fields = {"tracking_id": "10001301", "status": "diverifikasi"}
    for language in ("id", "en"):
        for former in table["former"][language]:
            texts = {"id": table["id"], "en": table["en"], language: former}
            body = "\n\n".join(texts[each].format(**fields) for each in ("id", "en")) + "\n"
            mail = EmailMessage()
            mail["From"], mail["To"] = "Warga <warga@example.net>", "pengaduan@lapor.go.id"
            mail["Subject"] = "Fwd: [LAPOR #10001301] Lampu jalan mati"
            mail.set_content("Lampunya masih mati.\n\n" + GMAIL_FORWARD + body)
            assert parse_mail(mail.as_bytes()).tagged_text == "Lampunya masih mati.", (language, former)


# -- What a mail's status query says beside its ID -------------------------------------------------------------------

QUERY_WORDS_ROWS = [
    # (subject, body, with a file): (Tracking ID, valid, words); "10000004" is a valid ID
    pytest.param("", "CEK 10000004", False, ("10000004", True, ""), id="cek-alone"),
    pytest.param("CEK 10000004", "", False, ("10000004", True, ""), id="in-the-subject"),
    pytest.param("CEK 10000004 terima kasih", "", False, ("10000004", True, ""), id="thanks-in-the-subject-is-no-body"),
    # thanks or a sign-off add nothing: as an addition's text they carried a name from a signature, and nothing else
    pytest.param("", "CEK 10000004 terima kasih", False, ("10000004", True, ""), id="thanks-after-the-id"),
    pytest.param("", "CEK 10000004\n\nTerima kasih,\nBudi", False, ("10000004", True, ""), id="a-sign-off-below"),
    pytest.param("CEK 10000004", "Terima kasih,\nBudi", False, ("10000004", True, ""),
                 id="a-sign-off-below-a-subjects-query"),
    pytest.param("", "ANONIM CEK 10000004", False, ("10000004", True, ""), id="a-flag-before"),
    pytest.param("", "CEK 10000004 #rahasia", False, ("10000004", True, ""), id="a-hashtag-flag-after"),
    # with a file, whatever follows the ID is the file's words, as by SMS; without one, such a mail is no query
    pytest.param("", "CEK 10000004 lubangnya makin besar", True, ("10000004", True, "lubangnya makin besar"),
                 id="file-words-after-the-id"),
    pytest.param("", "CEK 10000004\n\nTerima kasih,\nSiti\n0812-3456-7001", True,
                 ("10000004", True, "Terima kasih,\nSiti\n0812-3456-7001"), id="file-a-sign-off-with-a-number"),
    pytest.param("CEK 10000004", "lubangnya makin besar", True, ("10000004", True, "lubangnya makin besar"),
                 id="file-the-body-below-a-subjects-query"),
    pytest.param("Foto jalan", "CEK 10000004", True, ("10000004", True, ""), id="file-a-subject-of-other-words"),
    # a mistyped ID names no report: its mail is a report of its own, filed as written
    pytest.param("", "CEK 10000005 lubangnya makin besar", True, ("10000005", False, ""),
                 id="file-a-mistyped-id-and-words"),
]


@pytest.mark.parametrize(("subject", "body", "with_a_file", "asked"), QUERY_WORDS_ROWS)
def test_a_mail_status_query_gives_the_words_its_body_says_beside_the_id(
        subject: str, body: str, with_a_file: bool, asked: tuple[str, bool, str]) -> None:
    """The words a photo's addition carries (channels/email/processor.py `query_with_a_file`), as by SMS the
    words after the ID: the body's, never the query's own (the command, the ID, a flag word, which the draft's flags
    keep); a subject is the draft's already."""
    query = mail_status_query(subject, body, with_a_file=with_a_file)
    assert query is not None and (query.tracking_id, query.valid, query.words) == asked


SIGN_OFF_ROWS = [
    # (body below "CEK 10000004", the From's name): whether the mail is the status query alone
    # the From's name's words, however cased or many of them
    pytest.param("Salam,\nBUDI SANTOSO", "Budi Santoso", True, id="the-froms-name-in-capitals"),
    pytest.param("Terima kasih,\nBudi", "Budi Santoso", True, id="one-word-of-the-froms-name"),
    pytest.param("Hormat saya,\nSiti R. Rahayu", "Siti R. Rahayu", True, id="the-froms-name-with-an-initial"),
    pytest.param("Salam,\nbudi santoso", "Budi Santoso", True, id="the-froms-name-in-lowercase"),
    # a name: with no From name, another one (a mailbox's) or a nickname; with an initial, a title, a hyphen, an
    # apostrophe; of words a complaint uses too; a role below it
    pytest.param("Terima kasih,\nBudi", "", True, id="a-name-and-no-from-name"),
    pytest.param("Hormat saya,\nBudi Santoso", "Warga", True, id="a-name-under-a-mailboxs-from"),
    pytest.param("Hormat saya,\nSiti R. Rahayu", "Warga", True, id="a-name-with-an-initial-under-a-mailboxs-from"),
    pytest.param("Salam,\nUcok", "Budi Santoso", True, id="a-nickname-under-a-from-of-another-name"),
    pytest.param("Salam,\nHj. Siti Aminah", "Warga", True, id="a-title-abbreviated"),
    pytest.param("Wassalam,\nMoh. Rizal", "", True, id="a-name-abbreviated"),
    pytest.param("Salam,\nNur-Aini", "", True, id="a-name-with-a-hyphen"),
    pytest.param("Salam,\nMa'ruf Amin", "", True, id="a-name-with-an-apostrophe"),
    pytest.param("Regards,\nDan", "", True, id="an-english-name-of-a-word-of-prose"),
    pytest.param("Salam,\nYang Li", "", True, id="a-chinese-name-of-a-word-of-prose"),
    pytest.param("Salam,\nBudi\nPetugas Kebersihan", "", True, id="a-name-and-a-role"),
    # a sentence (not every word capitalized), or more than a name's lines: the citizen's, filed
    pytest.param("Terima kasih,\njalan masih rusak", "", False, id="a-sentence-in-lowercase"),
    pytest.param("Salam,\nJalan masih rusak", "Budi Santoso", False, id="a-sentence-from-a-named-sender"),
    pytest.param("Salam,\nBudi\nRT 03 belum diperbaiki", "Budi Santoso", False, id="the-froms-name-and-a-sentence"),
    pytest.param("Salam,\nBudi\nJalan Rusak\nSudah Lama", "", False, id="more-than-two-lines"),
]


@pytest.mark.parametrize(("below", "name", "alone"), SIGN_OFF_ROWS)
def test_lines_below_a_ceks_closing_are_a_signed_name_unless_they_are_a_sentence(
        below: str, name: str, alone: bool) -> None:
    """Lines below a closing are a name signed when their words are the From's name's, or when they look like a name:
    "Salam,\nHj. Siti Aminah" under a status query from an anonymous reporter's mailbox was filed beside the report's
    ID, the name in it. A sentence below is the citizen's, filed. Read without the blank line too (`_adds_nothing`)."""
    for body in (f"CEK 10000004\n\n{below}", f"CEK 10000004\n{below}"):
        query = mail_status_query("", body, signer=signer_words(name))
        assert (query == MailQuery("10000004")) is alone, body
        assert (mail_status_query("CEK 10000004", below, signer=signer_words(name)) is not None) is alone


_TNEF = tnef_stream([("a.png", b"\x89PNG one"), ("b.pdf", b"%PDF two"), ("c.txt", b"three")])
TNEF_ROWS = [
    pytest.param(_TNEF, 100, [("a.png", b"\x89PNG one"), ("b.pdf", b"%PDF two"), ("c.txt", b"three")], id="whole"),
    pytest.param(_TNEF, 2, [("a.png", b"\x89PNG one"), ("b.pdf", b"%PDF two")], id="past-the-most-files"),
    pytest.param(_TNEF[:-40], 100, [("a.png", b"\x89PNG one"), ("b.pdf", b"%PDF two")], id="cut-short"),
    pytest.param(_TNEF[:60] + b"\x02\x0f\x80\x06\x00\xff\xff\xff\x7f", 100, [], id="a-length-past-its-end"),
    pytest.param(b"PK\x03\x04 not tnef" + _TNEF, 100, [], id="no-tnef-signature"),
    pytest.param(tnef_stream([("kosong.txt", b"")]), 100, [], id="a-file-of-no-bytes"),
    pytest.param(b"", 100, [], id="empty"),
]


@pytest.mark.parametrize(("data", "most", "files"), TNEF_ROWS)
def test_the_files_inside_a_winmail_dat_are_read_and_a_broken_one_never_raises(data: bytes, most: int,
                                                                               files: list[tuple[str, bytes]]) -> None:
    assert [(found.name, found.data) for found in tnef_files(data, most)] == files


def test_a_winmail_dat_files_names_are_file_names() -> None:
    """A title is a name to save a file under, as any attachment's: no directories, no invisible characters."""
    stream = tnef_stream([("..\\..\\Windows\\bukti\x1bgnp.exe", b"MZ"), ("foto.JPG", b"\xff\xd8\xff")])
    raw = (b"From: a@example.net\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\n\r\nisi\r\n--b\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(stream) + b"--b--\r\n")
    names = [(item.name, item.content_type) for item in parse_mail(raw).attachments]
    assert names == [("buktignp.exe", "application/octet-stream"), ("foto.JPG", "image/jpeg"),
                     ("winmail.dat", "application/ms-tnef")]



@pytest.mark.parametrize("nested", [False, True], ids=["side-by-side", "in-alternatives-and-a-forward"])
def test_a_mails_winmail_dat_streams_give_at_most_max_tnef_files_together(nested: bool) -> None:
    """The cap is the mail's, not each stream's: 990 winmail.dat parts of 100 files each gave 99,990 attachments to
    list and store (2 s where 990 plain parts took 0.03). Streams in an alternative or a forwarded mail share it."""
    stream = base64.encodebytes(tnef_stream([(f"f{n}.txt", b"x") for n in range(60)]))
    part = b"Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n" + stream
    if nested:
        body = (b"--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\nContent-Type: text/plain\r\n"
                b"\r\nisi\r\n--c\r\n" + part + b"--c\r\n" + part + b"--c--\r\n--b\r\nContent-Type: message/rfc822\r\n"
                b"\r\nFrom: b@example.net\r\nSubject: y\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n--d\r\n"
                + part + b"--d--\r\n--b--\r\n")
    else:
        body = (b"--b\r\nContent-Type: text/plain\r\n\r\nisi\r\n" + b"".join(b"--b\r\n" + part for _ in range(3))
                + b"--b--\r\n")
    raw = b"From: a@example.net\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + body
    attachments = parse_mail(raw).attachments
    assert len([item for item in attachments if item.name != "winmail.dat"]) == MAX_TNEF_FILES
    assert len([item for item in attachments if item.name == "winmail.dat"]) == 3

@pytest.mark.parametrize("field", ["Subject", "X-Autoreply"])
def test_a_field_of_thousands_of_encoded_words_is_read_in_memory_linear_in_its_size(field: str) -> None:
    """The policy read an unstructured field's encoded-words one by one at a cost far past their size: 2,000 words
    in two charsets by turns (66 KB) took 132 MB, 20,000 (660 KB, well within the header limits) 85 s and 15 GB, and
    any field a loop guard looks up is read so. Each run of them is decoded in one pass (`decoded_words`), of the
    field's first MAX_FIELD_READ characters."""
    raw = (f"From: a@example.net\r\n{field}: ".encode() + b"=?utf-8?q?a?= =?iso-8859-2?q?=B1?= " * 2000
           + b"\r\n\r\nisi\r\n")
    tracemalloc.start()
    try:
        mail = parse_mail(raw)
        value = header_text(mail.message, field)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ("a\u0105" * 2000).startswith(value) and len(value) >= 2 * (MAX_FIELD_READ // 35), len(value)
    assert peak < 32 * 2**20, peak


def test_an_html_body_of_endless_tags_is_read_only_to_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tag costs the HTML reader time and, left open, memory: 11 MB of `<p>x` took 45 s and 590 MB, 11 MB of
    `<p>` and text 6 s. An HTML part is read up to `MAX_HTML_TAGS` tags (and `MAX_HTML_CHARS` characters), its text
    the start of the whole one. The bound is lowered here: under tracemalloc each tag costs ten times the time."""
    monkeypatch.setattr(html_text, "MAX_HTML_TAGS", 5000, raising=False)  # without the bound: all 300,000 read
    raw = (b"From: a@example.net\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>"
           + b"<p>x" * 300_000 + b"</div>\r\n")
    tracemalloc.start()
    try:
        text = parse_mail(raw).text
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak  # without the bound: 55 MB
    assert text.startswith("x\n\nx\n\n") and set(text) == {"x", "\n"}
    assert len(text) < 30_000, len(text)


def test_a_text_of_endless_content_id_references_is_read_for_a_bounded_number_of_them() -> None:
    """20 MB of `cid:1 cid:2 ...` made a set of 2 million ids (180 MB) to look the mail's inline parts up in; a mail
    has at most `email.max_mime_parts` of them, and its text is read for at most `MAX_SHOWN_CONTENT_IDS`."""
    refs = b" ".join(b"cid:%x" % number for number in range(300_000))
    raw = (b"From: a@example.net\r\nContent-Type: multipart/related; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\n\r\nLihat [cid:logo@desa] " + refs + b"\r\n--b\r\n"
           b"Content-Type: image/png\r\nContent-ID: <logo@desa>\r\n\r\npng\r\n--b--\r\n")
    tracemalloc.start()
    try:
        mail = parse_mail(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 2**20, peak  # without the bound: 49 MB
    assert [(item.content_id, item.referenced) for item in mail.attachments] == [("logo@desa", True)]


def test_a_file_labelled_a_forwarded_mail_in_base64_is_a_file() -> None:
    """Decoded, a forwarded mail in base64 is read as a mail; bytes that open with no header field are no mail (a PDF
    a phone labelled message/rfc822): a file, not its bytes or its base64 in the report's text."""
    pdf = b"%PDF-1.4\n\x00\x01\x02 binary\xff\xfe"
    raw = (b"From: a@example.net\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\n\r\nisi\r\n--b\r\nContent-Type: message/rfc822; name=bukti.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(pdf) + b"--b--\r\n")
    mail = parse_mail(raw)
    assert mail.text == "isi"
    assert [(item.content_type, item.name, item.data) for item in mail.attachments] == [
        ("application/octet-stream", "bukti.pdf", pdf)]


def test_a_forwarded_mail_of_non_ascii_addresses_is_kept_as_a_forwarded_mail() -> None:
    """message/global (RFC 6532: a mail of non-ASCII addresses, as Gmail forwards one) is read as message/rfc822 is:
    under the forward marker with its From, Date and Subject. Walked as a multipart, its words came with none."""
    raw = ("From: a@example.net\r\nSubject: Fwd: Pungli\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           "Content-Type: text/plain\r\n\r\nMohon ditindaklanjuti.\r\n--b\r\nContent-Type: message/global\r\n\r\n"
           "From: Jos\u00e9 <jos\u00e9@desa.example>\r\nSubject: Pungli\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nPetugas meminta uang.\r\n--b--\r\n").encode()
    assert parse_mail(raw).text == (f"Mohon ditindaklanjuti.\n\n{FORWARD_MARKER}\n"
                                    "From: Jos\u00e9 <jos\u00e9@desa.example>\nSubject: Pungli\n\n"
                                    "Petugas meminta uang.")


def _current_body(key: str, **fields: str) -> str:
    """A mail reply of ours in its words now, Indonesian then English, as the reply worker writes it."""
    table = load_replies()[key]
    return "\n\n".join(table[language].format(**fields) for language in ("id", "en")) + "\n"


# Every mail reply of ours that names a report (config/replies.toml's `email_*`): a new one left out of
# channels/email/texts.py was taken, forwarded or quoted back, for the citizen's own words.
EMAIL_REPLIES_NAMING_A_REPORT = sorted(
    key for key, table in load_replies().items()
    if key.startswith("email_") and isinstance(table, dict) and "{tracking_id}" in str(table.get("id")))


@pytest.mark.parametrize("key", EMAIL_REPLIES_NAMING_A_REPORT)
def test_a_forward_of_any_of_our_mail_replies_holds_none_of_the_citizens_words(key: str) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"] = "Warga <warga@example.net>", "pengaduan@lapor.go.id"
    mail["Subject"] = "Fwd: [LAPOR #10001301] Lampu jalan mati"
    mail.set_content("Lampunya masih mati.\n\n" + GMAIL_FORWARD + _current_body(
        key, tracking_id="10001301", follow_up_of="10001292", typed_id="12345", status="sedang diproses",
        length="5.280.000", kept="99.912", limit="100.000"))
    parsed = parse_mail(mail.as_bytes())
    assert (parsed.tagged_text if parsed.tagged_text is not None else parsed.text) == "Lampunya masih mati."


@dataclass(frozen=True)
class LongFieldRow:
    id: str
    field: str
    value: str


# Each about 100 KB (the header limit is 2 MiB): the stdlib's parse of one whole takes a second or more.
_WORDS_OF_A_SUBJECT = "Jalan rusak parah di depan pasar " * 3000  # 99 KB
LONG_FIELD_ROWS = [
    LongFieldRow("subject-ascii", "Subject", _WORDS_OF_A_SUBJECT),
    LongFieldRow("subject-encoded-words", "Subject", " ".join(  # one charset: `header_text` joins them in one word
        f"=?utf-8?q?{quopri.encodestring(f'{word} '.encode(), header=True).decode()}?="
        for word in ("Jalan rusak di Kabupatén " * 1200).split())),
    LongFieldRow("subject-encoded-words-two-charsets", "Subject",
                 "=?utf-8?q?Jalan_rusak_?= =?iso-8859-1?q?di_Kabupat=E9n_?= " * 2000),
    LongFieldRow("subject-8bit", "Subject", "Jalan rusak di Kabupat\udcc3\udca9n " * 4000),
    LongFieldRow("in-reply-to", "In-Reply-To", "<a@example.net> " + "x " * 50_000),
    LongFieldRow("references", "References", "x " * 50_000 + "<newest@example.net>"),
    LongFieldRow("message-id", "Message-ID", "<m@example.net> " + "x " * 50_000),
    LongFieldRow("loop-guard-field", "X-Autoreply", "yes " * 25_000),
]


@pytest.mark.parametrize("row", LONG_FIELD_ROWS, ids=[row.id for row in LONG_FIELD_ROWS])
def test_a_long_field_reaches_the_stdlibs_parse_only_up_to_max_field_read(monkeypatch: pytest.MonkeyPatch,
                                                                         row: LongFieldRow) -> None:
    """The stdlib's parse of an unstructured field (and of a Message-ID) takes time quadratic in its length: a Subject
    of 2 MB held the parse for minutes and the acknowledgement's job past its timeout. No field reaches it longer than
    MAX_FIELD_PARSE (its start, cut at a space; the end of References, where the newest msg-id is)."""
    seen: list[int] = []
    for header, parser in ((UnstructuredHeader, get_unstructured), (MessageIDHeader, parse_message_id)):
        def spy(value: str, parser: Any = parser) -> Any:
            seen.append(len(value))
            return parser(value)
        monkeypatch.setattr(header, "value_parser", staticmethod(spy))
    head = "From: Budi <budi@example.net>\r\nTo: pengaduan@lapor.go.id\r\n"
    head += "" if row.field == "Subject" else "Subject: Jalan rusak\r\n"
    raw = (head + f"{row.field}: {row.value}\r\n\r\nJalan rusak.\r\n").encode("utf-8", "surrogateescape")
    mail = parse_mail(raw)
    read = header_text(mail.message, row.field)
    assert mail.message.get(row.field) is not None
    assert seen and max(seen) <= MAX_FIELD_PARSE, max(seen)
    assert read and len(read) <= MAX_FIELD_READ
    if row.field == "References":
        assert mail.references == ["newest@example.net"]
    if row.field == "In-Reply-To":
        assert mail.in_reply_to == ["a@example.net"]
    if row.field == "Subject":
        assert len(mail.subject) <= MAX_SUBJECT_CHARS and mail.subject.endswith("…")
        assert mail.subject.startswith(("Jalan rusak parah di depan pasar Jalan", "Jalan rusak di Kabupatén Jalan"))


def test_iso_2022_jp_of_crafted_escapes_and_line_ends_is_read_by_pythons_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each piece between escape sequences and line ends is read apart in Python (~1 µs): 10 MB of them cost 5 s
    of a parse thread. Past one in eight bytes, the text is Python's codec's to read, in C."""
    read_apart: list[int] = []
    decoded = iso2022jp._decoded

    def spy(data: bytes, *args: Any) -> str:
        read_apart.append(len(data))
        return decoded(data, *args)

    monkeypatch.setattr(iso2022jp, "_decoded", spy)
    crafted = b"\x1b$B-!0!\n" * 20_000
    assert decode_text(crafted, "iso-2022-jp").startswith("\ufffd") and read_apart == []
    assert decode_text(b"\x1b$B-!-j-6\x1b(B 5 \x1b$B|b66\x1b(B", "iso-2022-jp") == "①㈱Ⅱ 5 髙橋" and read_apart


@pytest.mark.parametrize("field", ["Resent-From", "Resent-Sender", "Sender"])
def test_a_long_address_field_reaches_the_address_parser_only_cut(monkeypatch: pytest.MonkeyPatch,
                                                                  field: str) -> None:
    """The loop guards read Resent-From of every mail (`resent_by`), through the stdlib's address parser, slower
    still than the unstructured one: a field of 1.9 MB (within the header limit) took 270 s, 100 KB over SMTP 17 s.
    It reaches the parser cut to MAX_ADDRESS_FIELD."""
    seen: list[int] = []
    value_parser = AddressHeader.value_parser

    def spy(value: str) -> Any:
        seen.append(len(value))
        return value_parser(value)

    monkeypatch.setattr(AddressHeader, "value_parser", staticmethod(spy))
    raw = ("From: Budi <budi@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Jalan rusak\r\n"
           f"{field}: <kades@desa.example> " + "x " * 50_000 + "\r\n\r\nJalan rusak.\r\n").encode()
    mail = parse_mail(raw)
    assert resent_by(mail.message) == ("kades@desa.example" if field.startswith("Resent") else None)
    str(mail.message.get(field))
    assert seen and max(seen) <= MAX_ADDRESS_FIELD, max(seen)


def test_our_message_id_early_in_a_long_references_field_is_read() -> None:
    """Only the last MAX_FIELD_READ of References is parsed: our reply's id among 10,000 others, not in that end,
    was not found, and the citizen's follow-up was filed as a new report (an anonymous report's, named)."""
    ours = "lapor-10000004-2d4f6a8c0e1b3d5f@mail.lapor.go.id"
    others = [f"<other-{n}@x.example>" for n in range(10_000)]
    references = " ".join([*others[:5000], f"<{ours}>", *others[5000:]])
    raw = ("From: Budi <budi@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Re: Jalan rusak\r\n"
           f"In-Reply-To: <other-9999@x.example>\r\nReferences: {references}\r\n\r\nMasih rusak.\r\n").encode()
    mail = parse_mail(raw)
    assert ours in mail.references and mail.references[-1] == "other-9999@x.example"


def test_our_message_id_carries_its_replys_subject_digest_and_stays_ours() -> None:
    """An answer under the subject of our reply it names says nothing of its own there (`sent_with_subject`); another
    subject, a reply naming no report, or one sent before the digest was written does not match."""
    subject = reply_subject("10000004", "Tambahan foto")
    ours = our_message_id("10000004", "mail.lapor.go.id", subject).strip("<>")
    assert OUR_MESSAGE_ID.match(ours) and ours.startswith("lapor-10000004-")
    assert sent_with_subject(ours, f"Re: {subject}")
    assert sent_with_subject(ours, "RE:  [lapor #10000004]  TAMBAHAN FOTO")
    assert not sent_with_subject(ours, f"Re: {subject} - makin parah")
    assert not sent_with_subject(our_message_id("", "mail.lapor.go.id", "Re: x").strip("<>"), "Re: x")
    assert not sent_with_subject("lapor-10000004-2d4f6a8c0e1b3d5f@mail.lapor.go.id", f"Re: {subject}")


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param("Jalan rusak", "Jalan rusak", id="short"),
    pytest.param("a" * MAX_SUBJECT_CHARS, "a" * MAX_SUBJECT_CHARS, id="exactly-the-limit"),
    pytest.param("kata " * 300, ("kata " * 200).rstrip() + "…", id="cut-at-a-word"),
    pytest.param("x" * 2000, "x" * (MAX_SUBJECT_CHARS - 1) + "…", id="one-long-word-cut-inside"),
    pytest.param("Jalan " + "rusak" * 400, "Jalan " + ("rusak" * 400)[:MAX_SUBJECT_CHARS - 7] + "…",
                 id="a-word-longer-than-half-the-limit-cut-inside"),
])
def test_a_subject_is_kept_to_max_subject_chars_cut_at_a_word(subject: str, expected: str) -> None:
    """What the case store gets and the reply starts from: a subject is a line, not a report's text."""
    raw = f"From: a@example.net\r\nSubject: {subject}\r\n\r\nisi\r\n".encode()
    assert parse_mail(raw).subject == expected
