"""An anonymous report's files that cannot go without their metadata are withheld; an operator hands them over.

The table sends one real anonymous mail per file kind through the SMTP server, works the forward queue and reads the
reference case store: a PDF with /Author, Word documents old and new, an MP4 and a QuickTime movie with the place
they were shot, voice notes, an archive, a forwarded mail, HTML, CSV and a contact card sent beside the text are
withheld (flag `metadata_not_removed`, no location, sha256 or size, no bytes in the case store, a log line and a
count with the reason); plain text goes as it is; a named report's files go as sent. Then `lapor-gateway attachments
list` and `export` run as an operator runs them (real processes, real Redis): the listing says what the case store
got, the export gives the files as sent.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import resource
import sqlite3
import stat
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY
from redis import Redis

from gateway.attachments import attachment_location
from gateway.private_files import ORPHAN_SECONDS
from gateway.queues import FORWARD_QUEUE, envelope_key
from gateway.settings import Settings
from gateway.tracking import format_tracking_id
from tests.aggregator_support import drain
from tests.conftest import VENV_BIN, CaseStoreServer, GatewayServer, free_port, log_events
from tests.email_support import RECIPIENT, SmtpServerThread
from tests.email_support import fixture as email_fixture
from tests.file_kinds_support import (
    ADDRESS,
    DOC,
    DOCX_TYPE,
    EML,
    HTML,
    M4A,
    MOV,
    MP4,
    OGG,
    PDF,
    PLACE,
    SENDER_IP,
    TEXT,
    VCARD,
    WHISTLEBLOWER,
    WORD_PAGE,
    archive,
    docx,
)
from tests.image_support import fixture
from tests.test_anonymity import stored_strings
from tests.test_forwarding import cli
from tests.test_media_fetch import FETCHING, SIGNED_CDN, TWILIO_MEDIA, X_PHOTO, photo, providers, redirect
from tests.test_twilio_intake import tracking_id_in, twiml_message
from workers.file_kinds import file_kind, is_plain_text, text_format
from workers.handover import FAILED_AS_LOGGED, TO_FETCH
from workers.image_metadata import METADATA_NOT_REMOVED, METADATA_REMOVED, OWN_IDENTITY_REMOVED

if TYPE_CHECKING:
    from tests.conftest import TestEnvironment

# An unfolded DKIM signature: a mail's first header line may hold more than the first KiB of its file.
LONG_FIRST_LINE = b"DKIM-Signature: v=1; a=rsa-sha256; d=contoh-desa.net; b=" + b"Qm9n" * 300 + b"\r\n"
# An internal memo as the office handed it to one reader: the zero-width characters between its words spell who.
FINGERPRINTED_MEMO = "Setoran\u200b\u200c\u200c\u200b bulan ini\u200d\u2060 Rp 5 juta.\n".encode()
# What names the whistleblower in the files: never in the case store of an anonymous report.
NEEDLES = (WHISTLEBLOWER, ADDRESS, PLACE, SENDER_IP)
AS_SENT = "as_sent"  # a named report's file: not examined, not counted


@dataclass(frozen=True)
class FileKind:
    content: bytes
    content_type: str
    filename: str
    outcome: str  # `clean` (goes as it is), the reason it is withheld, or AS_SENT
    anonymous: bool = True


FILES = [
    pytest.param(FileKind(PDF, "application/pdf", "Laporan Budi.pdf", "unsupported_pdf"), id="pdf with /Author"),
    pytest.param(FileKind(PDF, "application/octet-stream", "scan.pdf", "unsupported_pdf"),
                 id="pdf declared as anything: known by its bytes"),
    pytest.param(FileKind(PDF, "text/plain", "catatan.txt", "unsupported_pdf"), id="pdf declared as plain text"),
    pytest.param(FileKind(docx(), DOCX_TYPE, "bukti.docx", "unsupported_office"), id="docx: docProps author, company"),
    pytest.param(FileKind(DOC, "application/msword", "bukti.doc", "unsupported_office"), id="word 97 (ole2)"),
    pytest.param(FileKind(MP4, "video/mp4", "VID_20251118.mp4", "unsupported_video"), id="mp4 with its place (©xyz)"),
    pytest.param(FileKind(MOV, "video/quicktime", "IMG_0042.MOV", "unsupported_video"), id="quicktime mov"),
    pytest.param(FileKind(M4A, "audio/mp4", "rekaman.m4a", "unsupported_audio"), id="m4a voice memo"),
    pytest.param(FileKind(OGG, "audio/ogg", "PTT-20251118.opus", "unsupported_audio"), id="whatsapp voice note"),
    pytest.param(FileKind(archive(), "application/zip", "bukti.zip", "unsupported_archive"), id="zip archive"),
    pytest.param(FileKind(EML, "application/octet-stream", "setoran.eml", "unsupported_mail"),
                 id="forwarded .eml: its To: and Received: name the whistleblower"),
    pytest.param(FileKind(EML, "text/plain", "setoran.txt", "unsupported_mail"), id="a mail declared as plain text"),
    pytest.param(FileKind(b"\xef\xbb\xbf" + EML, "text/plain", "setoran.txt", "unsupported_mail"),
                 id="a mail's source saved by notepad (a byte order mark first) as plain text"),
    pytest.param(FileKind(LONG_FIRST_LINE + EML, "text/plain", "setoran.txt", "unsupported_mail"),
                 id="a mail declared as plain text whose first header line is longer than a KiB"),
    pytest.param(FileKind(HTML, "text/html", "halaman.html", "unsupported_type"), id="html: meta author"),
    pytest.param(FileKind(WORD_PAGE, "text/plain", "laporan.txt", "unsupported_type"),
                 id="a page word saved (o:Author) declared as plain text"),
    pytest.param(FileKind(VCARD, "text/plain", "budi.txt", "unsupported_type"), id="a vcard declared as plain text"),
    pytest.param(FileKind(b"nama,nominal\nloket 3,50000\n", "text/csv", "setoran.csv", "unsupported_type"),
                 id="csv: only plain text goes"),
    pytest.param(FileKind(TEXT, "text/plain", "kuitansi.txt", "clean"), id="plain text (utf-8): as it is"),
    pytest.param(FileKind(FINGERPRINTED_MEMO, "text/plain", "memo.txt", "not_plain_text"),
                 id="a memo marked for its reader with zero-width characters: withheld"),
    pytest.param(FileKind(b"\xef\xbb\xbf" + TEXT, "text/plain", "kuitansi.txt", "clean"),
                 id="plain text with a byte order mark: as it is"),
    pytest.param(FileKind(b"Rp 50.000 \x96 loket 3\n", "text/plain", "kuitansi.txt", "not_plain_text"),
                 id="text in windows-1252: not utf-8, withheld"),
    pytest.param(FileKind(b"loket 3\x00\x1b[8m" + WHISTLEBLOWER.encode(), "text/plain", "kuitansi.txt",
                          "not_plain_text"), id="text with control characters: withheld"),
    pytest.param(FileKind(PDF, "application/pdf", "Laporan Budi.pdf", AS_SENT, anonymous=False),
                 id="named report: a pdf as sent"),
    pytest.param(FileKind(MP4, "video/mp4", "VID_20251118.mp4", AS_SENT, anonymous=False),
                 id="named report: a video as sent (its place may be the problem's)"),
]


def mail_with(*files: FileKind, anonymous: bool = True) -> bytes:
    message = EmailMessage()
    message["From"] = "Warga <warga@example.net>"
    message["To"] = RECIPIENT
    message["Subject"] = ("ANONIM: " if anonymous else "") + "pungli di loket 3"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("Petugas loket meminta uang tambahan. Bukti terlampir.")
    for file in files:
        maintype, subtype = file.content_type.split("/")
        message.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.filename)
    return message.as_bytes().replace(b"\n", b"\r\n")


def mail_in(settings: Settings, redis: Redis, raw: bytes) -> str:
    """Deliver one mail through the gateway's SMTP server; its Tracking ID."""
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(raw)
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id, result
    return result.tracking_id


def case_store_files(tmp_path: Path) -> list[bytes]:
    with sqlite3.connect(f"file:{tmp_path / 'casestore.db'}?mode=ro", uri=True) as connection:
        return [content for (content,) in connection.execute("SELECT content FROM attachments")]


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("lapor_attachment_metadata_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    """The tests' settings, with the providers' media hosts allowed (under respx) for an MMS's files, and an SMTP
    port of their own (the tests run in parallel)."""
    return test_env.settings(**FETCHING, LAPOR_SMTP_PORT=str(free_port()))


@pytest.mark.parametrize("file", FILES)
def test_a_file_that_cannot_go_without_its_metadata_is_withheld_from_the_case_store(
        file: FileKind, settings: Settings, redis: Redis, casestore: CaseStoreServer, tmp_path: Path,
        log_stream: io.StringIO) -> None:
    before = counted(file.outcome)
    tracking_id = mail_in(settings, redis, mail_with(file, anonymous=file.anonymous))
    drain(settings, (FORWARD_QUEUE,))
    [report] = casestore.reports()
    [attachment] = report["attachments"]
    sha256 = hashlib.sha256(file.content).hexdigest()
    withheld = [(event["tracking_id"], event["attachment"], event["reason"]) for event in log_events(log_stream)
                if event["event"] == "attachment.metadata_not_removed"]
    assert (settings.data_dir / attachment_location(sha256)).read_bytes() == file.content  # the gateway keeps it
    if file.outcome in (AS_SENT, "clean"):
        assert (attachment["sha256"], attachment["size"]) == (sha256, len(file.content))
        assert attachment["location"] == attachment_location(sha256)
        assert METADATA_NOT_REMOVED not in attachment["flags"] and METADATA_REMOVED not in attachment["flags"]
        assert case_store_files(tmp_path) == [file.content] and withheld == []
    else:
        assert {key: attachment[key] for key in ("content_type", "location", "sha256", "size", "name", "flags")} == {
            "content_type": file.content_type, "location": "", "sha256": None, "size": None, "name": None,
            "flags": [METADATA_NOT_REMOVED]}
        assert case_store_files(tmp_path) == []
        assert withheld == [(tracking_id, 0, file.outcome)]
    if file.anonymous:
        assert counted(file.outcome) == before + 1
        leaks = [value for value in stored_strings(tmp_path / "casestore.db") for needle in NEEDLES
                 if needle in value]
        assert leaks == []


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param("Kronologi: loket 3 meminta Rp 50.000.\r\nBalas ke Warga@Example.NET atau warga%40example.net\r\n",
                 "Kronologi: loket 3 meminta Rp 50.000.\r\nBalas ke [anonim] atau [anonim]\r\n",
                 id="the sender's address, windows line ends"),
    pytest.param("\ufeffSetoran Rp 50.000 tiap bulan.\n--\nPak RT 03 Sukajadi\nHP/WA 0857-1234-9876\n",
                 "\ufeffSetoran Rp 50.000 tiap bulan.\n--\n[anonim]", id="a signature below --, a byte order mark"),
])
def test_a_plain_text_naming_its_sender_goes_as_a_copy_without_them(
        content: str, expected: str, settings: Settings, redis: Redis, casestore: CaseStoreServer,
        test_env: TestEnvironment, tmp_path: Path) -> None:
    """The sender writes a text file as they write the mail: its closing, its address. The case store gets it as the
    report's own text, with the sender's identity replaced by [anonim] (workers/own_identity.py); the gateway keeps
    the file as sent, and the operator's listing says what the case store got."""
    sent = content.encode()
    tracking_id = mail_in(settings, redis, mail_with(FileKind(sent, "text/plain", "kronologi.txt", "removed")))
    drain(settings, (FORWARD_QUEUE,))
    [attachment] = casestore.get(tracking_id)["attachments"]  # type: ignore[index]
    copy = expected.encode()
    assert (attachment["sha256"], attachment["size"]) == (hashlib.sha256(copy).hexdigest(), len(copy))
    assert OWN_IDENTITY_REMOVED in attachment["flags"] and attachment["name"] is None
    assert case_store_files(tmp_path) == [copy]
    assert (settings.data_dir / attachment_location(hashlib.sha256(sent).hexdigest())).read_bytes() == sent
    leaks = [value for value in stored_strings(tmp_path / "casestore.db") if "warga@example.net" in value.lower()]
    assert leaks == []
    listing = cli(test_env, "attachments", "list", tracking_id)
    assert [row[4:6] for row in table_rows(listing.stdout)] == [["file", "copy without its sender"]], listing.stdout


# What the card beside an anonymous mail's text says of its owner: the sender, in the card their mail app added.
CARD_OWNER = ("Endang Lestari", "Lestari;Endang", "9876-5432", "Posyandu Melati", "Dusun Krajan RT 02", "BEGIN:VCARD")


def test_an_anonymous_mails_nameless_contact_card_is_withheld_and_never_read_into_its_text(
        settings: Settings, redis: Redis, casestore: CaseStoreServer, tmp_path: Path,
        log_stream: io.StringIO) -> None:
    """A card beside the text, without a file name (text/vcard), was read as the report's text: its name, number and
    address reached the case store, as the own-identity removal knows the sender's From and header fields, not a
    card's. It is a file, withheld as any vCard is, and kept by the gateway for an operator's handover."""
    before = counted("unsupported_type")
    raw = email_fixture("anonymous_vcard_nameless")
    tracking_id = mail_in(settings, redis, raw)
    drain(settings, (FORWARD_QUEUE,))
    report = casestore.get(tracking_id)
    assert report is not None and str(report["text"]).startswith("Bendahara desa memotong honor kader posyandu")
    [attachment] = report["attachments"]  # type: ignore[misc]
    assert {key: attachment[key] for key in ("content_type", "location", "sha256", "size", "name", "flags")} == {
        "content_type": "text/vcard", "location": "", "sha256": None, "size": None, "name": None,
        "flags": [METADATA_NOT_REMOVED]}
    withheld = [(event["tracking_id"], event["attachment"], event["reason"]) for event in log_events(log_stream)
                if event["event"] == "attachment.metadata_not_removed"]
    assert withheld == [(tracking_id, 0, "unsupported_type")]
    assert counted("unsupported_type") == before + 1
    assert case_store_files(tmp_path) == []
    leaks = [value for value in stored_strings(tmp_path / "casestore.db") for held in CARD_OWNER if held in value]
    assert leaks == []
    [kept] = orjson.loads(redis.get(envelope_key(tracking_id)) or b"{}")["attachments"]
    card = (settings.data_dir / kept["location"]).read_bytes()
    assert card.startswith(b"BEGIN:VCARD") and b"FN:Endang Lestari" in card  # the gateway keeps it as sent


@pytest.mark.parametrize(("head", "content_type", "kind"), [
    pytest.param(b"\xff\xfeR\x00p\x00", "text/plain", None, id="utf-16 text: no audio frame (its byte order mark)"),
    pytest.param(b"Kepada Yth. Bapak Camat,\nSubject: pungli\n\nIsi", "text/plain", None,
                 id="a note that begins like a letter: no mail"),
    pytest.param(b"Subject: pungli\nDate: Kamis\n\nIsi laporan", "text/plain", "mail", id="two mail header lines"),
    pytest.param(b"From kadis@dinas-pu.go.id Tue Nov 18 09:11:58 2025\nFrom: Kadis <kadis@dinas-pu.go.id>\n"
                 b"X-Folded: a\n  b\n\nbody", "text/plain", "mail", id="an mbox, a folded header line"),
    pytest.param(b"anything", "message/rfc822", "mail", id="declared a mail"),
    pytest.param(b"\x00" * 600 + b"%PDF-1.7", "application/octet-stream", "pdf", id="a pdf's header after junk"),
    pytest.param(b"\x00\x00\x00\x08wide\x00\x00\x00\x10mdat", "video/quicktime", "video",
                 id="an old quicktime movie without ftyp"),
    pytest.param(b"{\\rtf1\\ansi{\\info{\\author Budi}}", "text/plain", "office", id="rtf declared as text"),
    pytest.param(b"\xef\xbb\xbf{\\rtf1\\ansi{\\info{\\author Budi}}", "text/plain", "office",
                 id="rtf after a byte order mark"),
    pytest.param(b"\xef\xbb\xbfReturn-Path: <kadis@dinas-pu.go.id>\r\nTo: Budi <budi@contoh-desa.net>\r\n\r\nx",
                 "text/plain", "mail", id="mail headers after a byte order mark"),
])
def test_a_files_kind_is_told_by_its_first_bytes(head: bytes, content_type: str, kind: str | None) -> None:
    assert file_kind(head, content_type) == kind


@pytest.mark.parametrize(("data", "shown_as"), [
    pytest.param(b"\xef\xbb\xbf\r\n  <!DOCTYPE html><html>", "markup", id="html after a bom and blank space"),
    pytest.param(b'<?xml version="1.0"?><w:wordDocument>', "markup", id="xml (word 2003)"),
    pytest.param(b"<!-- Budi --> catatan", "markup", id="a comment first"),
    pytest.param(b"begin:vcard\nfn:Budi", "vcard", id="vcard, any case"),
    pytest.param(b"BEGIN:VCALENDAR\r\nORGANIZER;CN=Budi:mailto:budi@contoh-desa.net", "calendar", id="invitation"),
    pytest.param(b"%!PS-Adobe-3.0\n%%For: Budi", "postscript", id="postscript"),
    pytest.param(b"<- lihat foto, <3 terima kasih", None, id="a note that begins with <-"),
    pytest.param(b"Kuitansi pungli: <b>Rp 50.000</b>", None, id="markup after text: shown as text"),
])
def test_text_that_another_program_shows_is_told_by_its_start(data: bytes, shown_as: str | None) -> None:
    assert text_format(data) == shown_as


@pytest.mark.parametrize(("data", "plain"), [
    pytest.param("Laporan pungli: Rp 50.000 — loket 3\r\n\tKamis\f".encode(), True, id="utf-8, tab, crlf, ff"),
    pytest.param(b"", True, id="empty"),
    pytest.param("Rp 50.000 — loket 3".encode("utf-16"), False, id="utf-16"),
    pytest.param(b"loket 3\x1b[8mtersembunyi", False, id="an escape sequence hides text in a terminal"),
    pytest.param("loket\u00853".encode(), False, id="a c1 control"),
    pytest.param(FINGERPRINTED_MEMO, False, id="a memo marked for its reader with zero-width characters"),
    pytest.param("Memo\U000e0042\U000e0075\U000e0064\U000e0069".encode(), False, id="tag characters"),
    pytest.param("loket 3 \u202egnuhsip".encode(), False, id="a direction override"),
    pytest.param("pung\u00adli".encode(), False, id="a soft hyphen"),
    pytest.param("loket\ufeff3".encode(), False, id="a byte order mark past the first character"),
    pytest.param("loket\U000e0101 3".encode(), False, id="a variation selector of the supplement"),
    pytest.param("Terima kasih \u2764\ufe0f \u263a\ufe0e".encode(), True, id="an emoji's own variation selectors"),
])
def test_plain_text_is_utf_8_that_hides_nothing(data: bytes, plain: bool) -> None:
    assert is_plain_text(data) is plain


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, 15.1): what a renderer shows as nothing, assigned
# or not (the Mongolian free variation selectors, the reserved tag block...), a text editor too.
DEFAULT_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
                     (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))


def test_no_character_shown_as_nothing_passes_as_plain_text() -> None:
    """A memo marked for its reader with Mongolian free variation selectors (U+180B..U+180F) between its words, or
    with reserved code points a renderer ignores, is marked as surely as with zero-width spaces; an emoji's own two
    variation selectors alone pass."""
    shown = [hex(code) for first, last in DEFAULT_IGNORABLE for code in range(first, last + 1)
             if code not in (0xFE0E, 0xFE0F) and is_plain_text(f"Setoran{chr(code)} bulan ini".encode())]
    assert shown == []


def test_no_format_character_passes_as_plain_text() -> None:
    """Every character Unicode (as this Python knows it) files as a format character: each is shown as nothing."""
    shown = [hex(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
             and is_plain_text(f"loket{chr(code)}3".encode())]
    assert shown == []


# -- the operator's commands ------------------------------------------------------------------------------------------
PHOTO = fixture("phone.jpg")  # Exif GPS, owner and serial: the case store gets a copy without them
REPORT_FILES = (FileKind(PHOTO, "image/jpeg", "IMG_20251118.jpg", "removed"),
                FileKind(PDF, "application/pdf", "Laporan Budi Santoso Rahasia.pdf", "unsupported_pdf"),
                FileKind(TEXT, "text/plain", "kuitansi.txt", "clean"),
                FileKind(MP4, "video/mp4", "../../VID_Budi.mp4", "unsupported_video"))


@pytest.fixture
def forwarded(test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer) -> tuple[str, Settings]:
    """An anonymous report with a photo, a PDF, a text and a video, forwarded to the reference case store (through an
    SMTP port of its own: the tests run in parallel)."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    tracking_id = mail_in(settings, redis, mail_with(*REPORT_FILES))
    drain(settings, (FORWARD_QUEUE,))
    return tracking_id, settings


def table_rows(output: str) -> list[list[str]]:
    """The data rows of a rich table (its header is drawn with ┃), cells stripped."""
    rows = [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in output.splitlines()
            if line.strip().startswith("│")]
    return rows


def test_the_listing_says_what_the_case_store_got_of_each_file(
        forwarded: tuple[str, Settings], test_env: TestEnvironment, casestore: CaseStoreServer) -> None:
    tracking_id, _ = forwarded
    listing = cli(test_env, "attachments", "list", tracking_id)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert f"report {tracking_id}: anonymous, email, forwarded at " in listing.stdout
    rows = table_rows(listing.stdout)
    assert [(row[0], row[1], row[4], row[5], row[6]) for row in rows] == [
        ("0", "image/jpeg", "file", "copy without metadata", ""),
        ("1", "application/pdf", "file", "withheld", "unsupported_pdf"),
        ("2", "text/plain", "file", "as sent", ""),
        ("3", "video/mp4", "file", "withheld", "unsupported_video"),
    ]
    assert [row[2] for row in rows] == [str(len(file.content)) for file in REPORT_FILES]
    # The same answer as the case store's: it cannot disagree with the forward worker.
    got = casestore.get(tracking_id)
    assert got is not None
    shown = {"copy without metadata": METADATA_REMOVED, "withheld": METADATA_NOT_REMOVED, "as sent": None}
    for row, attachment in zip(rows, got["attachments"], strict=True):  # type: ignore[call-overload]
        flag = shown[row[5]]
        assert flag is None or flag in attachment["flags"]
        assert (attachment["sha256"] is None) == (row[5] == "withheld")
    assert "Budi" not in listing.stdout  # no citizen's file name
    assert f"attachments export {tracking_id} <dir> --index 1 --index 3" in listing.stdout


def test_an_operator_exports_the_files_as_sent_and_nothing_is_overwritten(
        forwarded: tuple[str, Settings], test_env: TestEnvironment, tmp_path: Path) -> None:
    tracking_id, _ = forwarded
    handover = tmp_path / "serah-terima"
    withheld = cli(test_env, "attachments", "export", tracking_id, str(handover), "--index", "1", "--index", "3")
    assert withheld.returncode == 0, withheld.stdout + withheld.stderr
    assert "WARNING" in withheld.stdout and "metadata included" in withheld.stdout
    assert sorted(path.name for path in handover.iterdir()) == [f"{tracking_id}-1.pdf", f"{tracking_id}-3.mp4"]
    assert (handover / f"{tracking_id}-1.pdf").read_bytes() == PDF  # as sent: its /Author too
    assert (handover / f"{tracking_id}-3.mp4").read_bytes() == MP4
    assert stat.S_IMODE((handover / f"{tracking_id}-1.pdf").stat().st_mode) == 0o600
    assert stat.S_IMODE(handover.stat().st_mode) == 0o700
    assert '"event":"attachments.exported"' in withheld.stderr  # the operator's output alone on stdout

    again = cli(test_env, "attachments", "export", tracking_id, str(handover))
    assert again.returncode == 1
    assert "not overwriting" in again.stdout and "nothing was exported" in again.stdout
    # What then: the line stopped at what it did not do.
    assert "export into an empty directory, or move those files aside first" in " ".join(again.stdout.split())
    assert sorted(path.name for path in handover.iterdir()) == [f"{tracking_id}-1.pdf", f"{tracking_id}-3.mp4"]

    everything = tmp_path / "semua"
    exported = cli(test_env, "attachments", "export", tracking_id, str(everything))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    names = sorted(path.name for path in everything.iterdir())
    assert names == [f"{tracking_id}-{index}.{extension}" for index, extension in enumerate(("jpg", "pdf", "txt",
                                                                                               "mp4"))]
    assert [(everything / name).read_bytes() for name in names] == [file.content for file in REPORT_FILES]


def test_a_named_reports_file_gone_before_its_forward_is_listed_as_the_worker_sent_it(
        test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer) -> None:
    """The forward worker sends an attachment whose file it cannot read flagged not_uploaded, without its bytes: the
    listing says the case store got no file, not the file as sent."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    tracking_id = mail_in(settings, redis, mail_with(FileKind(PDF, "application/pdf", "bukti.pdf", AS_SENT,
                                                              anonymous=False), anonymous=False))
    (settings.data_dir / attachment_location(hashlib.sha256(PDF).hexdigest())).unlink()
    drain(settings, (FORWARD_QUEUE,))
    got = casestore.get(tracking_id)
    assert got is not None and "not_uploaded" in got["attachments"][0]["flags"]  # type: ignore[index]
    listing = cli(test_env, "attachments", "list", tracking_id)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert [row[4:] for row in table_rows(listing.stdout)] == [["missing file", "no file", "not_uploaded"]]


def test_a_declared_type_cannot_write_to_the_operators_terminal(
        test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer) -> None:
    """A mail client (or whoever wrote the mail) declares any type: an escape sequence in it would move the cursor
    over the listing or hide what follows; the listing writes it as its code."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    raw = (b"From: Warga <warga@example.net>\r\nTo: " + RECIPIENT.encode() + b"\r\nSubject: ANONIM: pungli\r\n"
           b"Message-ID: <escape-1@example.net>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nBukti.\r\n"
           b"--BB\r\nContent-Type: application/x\x1b[8m\x1b[9a\xe2\x80\xae; name=bukti.bin\r\n"
           b"Content-Disposition: attachment; filename=bukti.bin\r\n\r\nisi\r\n--BB--\r\n")
    tracking_id = mail_in(settings, redis, raw)
    drain(settings, (FORWARD_QUEUE,))
    listing = cli(test_env, "attachments", "list", tracking_id)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "\x1b" not in listing.stdout
    assert [row[1] for row in table_rows(listing.stdout)] == ["application/x\\x1b[8m\\x1b[9a\\u202e"]


def test_an_export_that_cannot_write_every_file_leaves_none(
        forwarded: tuple[str, Settings], test_env: TestEnvironment, tmp_path: Path) -> None:
    """A disk that fills up halfway (here: a file size limit the PDF fits and the photo does not): no file of the
    export stays, the first whole and unlogged or the second cut short, and the export can be run again."""
    tracking_id, _ = forwarded
    out = tmp_path / "out"
    limit = len(PDF) + 1
    assert len(PHOTO) > limit

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = ["attachments", "export", tracking_id, str(out), "--index", "1", "--index", "0"]
    full = subprocess.run([str(VENV_BIN / "lapor-gateway"), *args], env=test_env.process_env(COLUMNS="200"),
                          capture_output=True, text=True, timeout=60, preexec_fn=small_files)
    assert full.returncode == 1 and "nothing was exported" in full.stdout, full.stdout + full.stderr
    assert list(out.iterdir()) == []
    again = cli(test_env, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(path.name for path in out.iterdir()) == [f"{tracking_id}-0.jpg", f"{tracking_id}-1.pdf"]


def test_an_export_deletes_what_an_export_killed_mid_write_left_in_its_directory(
        forwarded: tuple[str, Settings], test_env: TestEnvironment, tmp_path: Path) -> None:
    """An export killed before its renames (a dropped SSH session) left a hidden copy of a citizen's file: the next
    export into that directory deletes it once no live export can be at it. Any other file is the operator's."""
    tracking_id, _ = forwarded
    out = tmp_path / "out"
    out.mkdir()
    left, writing, operators = (out / f".{tracking_id}-1.pdf.0a1b2c3d.tmp", out / f".{tracking_id}-0.jpg.0a1b2c3d.tmp",
                                out / ".catatan.txt.tmp")
    for path, seconds in ((left, ORPHAN_SECONDS + 60), (writing, 30), (operators, ORPHAN_SECONDS + 60)):
        path.write_bytes(PDF)
        then = time.time() - seconds
        os.utime(path, (then, then))

    result = cli(test_env, "attachments", "export", tracking_id, str(out), "--index", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted([writing.name, operators.name,
                                                                  f"{tracking_id}-1.pdf"])


def test_an_unknown_or_expired_report_or_a_missing_file_is_said_plainly(
        forwarded: tuple[str, Settings], test_env: TestEnvironment, redis: Redis, tmp_path: Path) -> None:
    tracking_id, settings = forwarded
    mistyped = tracking_id[:-1] + str((int(tracking_id[-1]) + 1) % 10)
    never_minted = format_tracking_id(int(tracking_id[:-1]) + 10_000_000)
    for wanted, code, said in ((mistyped, 2, f"'{mistyped}' is not a Tracking ID"),
                               (never_minted, 1, f"no gateway minted Tracking ID {never_minted}: no such report")):
        result = cli(test_env, "attachments", "list", wanted)
        assert (result.returncode, result.stdout.startswith(said)) == (code, True), result.stdout + result.stderr

    beyond = cli(test_env, "attachments", "export", tracking_id, str(tmp_path / "out"), "--index", "4")
    assert beyond.returncode == 1 and f"report {tracking_id} has no attachment 4" in beyond.stdout, beyond.stdout

    (settings.data_dir / attachment_location(hashlib.sha256(PDF).hexdigest())).unlink()
    missing = cli(test_env, "attachments", "export", tracking_id, str(tmp_path / "out"), "--index", "1")
    assert missing.returncode == 1 and "the gateway's file of" in missing.stdout, missing.stdout
    assert not (tmp_path / "out").exists()
    listing = cli(test_env, "attachments", "list", tracking_id)
    assert [row[4:] for row in table_rows(listing.stdout)][1] == ["missing file", "withheld", "unreadable"]
    # The next step names only the files an export can write: it named the missing one, whose export then failed.
    assert f"attachments export {tracking_id} <dir> --index 3\n" in listing.stdout, listing.stdout
    assert "1 withheld file(s) cannot be handed over, #1: the gateway's file is missing" in listing.stdout

    stored = orjson.loads(redis.get(envelope_key(tracking_id)))  # type: ignore[arg-type]
    for damaged in ("x", [1], [{"location": 7}], [{"location": "", "flags": "not_stored"}]):
        redis.set(envelope_key(tracking_id), orjson.dumps({**stored, "attachments": damaged}))
        result = cli(test_env, "attachments", "list", tracking_id)
        assert (result.returncode, "is damaged" in result.stdout, result.stderr) == (1, True, ""), damaged
    nul = {**stored["attachments"][1], "location": "attachments/\x00"}
    redis.set(envelope_key(tracking_id), orjson.dumps({**stored, "attachments": [nul]}))
    listing = cli(test_env, "attachments", "list", tracking_id)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert [row[4:] for row in table_rows(listing.stdout)] == [["missing file", "withheld", "unreadable"]]
    nothing = cli(test_env, "attachments", "export", tracking_id, str(tmp_path / "out"))
    assert (nothing.returncode, "the gateway's file of" in nothing.stdout, nothing.stderr) == (1, True, "")

    redis.delete(envelope_key(tracking_id))  # as its TTL would, once forwarded
    expired = cli(test_env, "attachments", "export", tracking_id, str(tmp_path / "out"))
    assert expired.returncode == 1 and "the gateway no longer has report" in expired.stdout, expired.stdout
    assert re.search(r"kept \d+ days", expired.stdout)


async def test_a_providers_file_is_listed_and_exported_as_the_forward_worker_fetched_it(
        gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, test_env: TestEnvironment,
        tmp_path: Path) -> None:
    """An anonymous MMS: a video the forward worker fetched (kept by its sha256, withheld from the case store) and
    a photo it could not (its URL withheld): the listing and the export find the video where the worker kept it."""
    with providers() as router:
        router.get(url=TWILIO_MEDIA).mock(return_value=redirect(SIGNED_CDN))
        router.get(url=SIGNED_CDN).mock(return_value=photo(MP4, "video/mp4"))
        router.get(url=X_PHOTO).mock(return_value=httpx.Response(404))
        form = gateway.twilio_form(Body="#anonim Rekaman pungli di loket 3", NumMedia="2", MediaUrl0=TWILIO_MEDIA,
                                   MediaContentType0="video/mp4", MediaUrl1=X_PHOTO, MediaContentType1="image/jpeg")
        response = await gateway.post_twilio(form)
        assert response.status_code == 200
        tracking_id = tracking_id_in(twiml_message(response.text))
        drain(settings, (FORWARD_QUEUE,))
    report = casestore.get(tracking_id)
    assert report is not None
    assert [(attachment["location"], attachment["flags"]) for attachment in report["attachments"]] == [
        ("", [METADATA_NOT_REMOVED]), ("", ["not_fetched", "location_withheld"])]  # type: ignore[index]

    listing = cli(test_env, "attachments", "list", tracking_id, **FETCHING)  # the worker's settings
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert table_rows(listing.stdout) == [
        ["0", "video/mp4", str(len(MP4)), METADATA_NOT_REMOVED, "fetched file", "withheld", "unsupported_video"],
        ["1", "image/jpeg", "-", "not_fetched, location_withheld", "at its provider", "no file",
         f"{FAILED_AS_LOGGED}, location_withheld"]]
    assert "twilio" not in listing.stdout.lower() and "twimg" not in listing.stdout  # no provider's address

    out = tmp_path / "out"
    exported = cli(test_env, "attachments", "export", tracking_id, str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert [(path.name, path.read_bytes()) for path in out.iterdir()] == [(f"{tracking_id}-0.mp4", MP4)]
    nothing = cli(test_env, "attachments", "export", tracking_id, str(tmp_path / "none"), "--index", "1")
    assert nothing.returncode == 1, nothing.stdout
    assert "the gateway keeps no file" in nothing.stdout and "at its provider" in nothing.stdout


@dataclass(frozen=True)
class Unfetched:
    """An MMS's photo the forward worker cannot fetch (or has not yet), and what `attachments list` says of it."""

    id: str
    anonymous: bool
    fetch_hosts: str  # LAPOR_ATTACHMENTS_FETCH_HOSTS of the worker and of the listing
    forwarded: bool  # the forward queue worked (the provider answers 404), or not yet
    listed: list[str]  # flags, gateway keeps, case store gets, why


ALLOWED_HOSTS = FETCHING["LAPOR_ATTACHMENTS_FETCH_HOSTS"]
NOT_ALLOWED_WHY = "not_allowed: host not in LAPOR_ATTACHMENTS_FETCH_HOSTS"
WITHHELD_URL = "not_fetched, location_withheld"  # an anonymous report's: its URL leads back to the sender
UNFETCHED = [
    # The development profile's: no host allowed, the worker refuses the URL before any request.
    Unfetched("named, no host allowed", False, "", True,
              ["not_fetched", "at its provider", "its URL", NOT_ALLOWED_WHY]),
    Unfetched("anonymous, no host allowed", True, "", True,
              [WITHHELD_URL, "at its provider", "no file", f"{NOT_ALLOWED_WHY}, location_withheld"]),
    Unfetched("named, no host allowed, not forwarded yet: as it will go", False, "", False,
              ["not_fetched", "at its provider", "its URL", NOT_ALLOWED_WHY]),
    Unfetched("anonymous, no host allowed, not forwarded yet: as it will go", True, "", False,
              [WITHHELD_URL, "at its provider", "no file", f"{NOT_ALLOWED_WHY}, location_withheld"]),
    # Allowed, answered 404: no record of the failure but the worker's log line.
    Unfetched("named, allowed, failed", False, ALLOWED_HOSTS, True,
              ["not_fetched", "at its provider", "its URL", FAILED_AS_LOGGED]),
    Unfetched("anonymous, allowed, failed", True, ALLOWED_HOSTS, True,
              [WITHHELD_URL, "at its provider", "no file", f"{FAILED_AS_LOGGED}, location_withheld"]),
    # Allowed, not forwarded yet: the worker fetches it first, nothing is known of what the case store gets.
    Unfetched("named, allowed, not forwarded yet", False, ALLOWED_HOSTS, False,
              ["-", "at its provider", TO_FETCH, ""]),
    Unfetched("anonymous, allowed, not forwarded yet", True, ALLOWED_HOSTS, False,
              ["-", "at its provider", TO_FETCH, ""]),
]


@pytest.mark.parametrize("row", UNFETCHED, ids=[row.id for row in UNFETCHED])
async def test_a_providers_file_not_fetched_is_listed_as_the_forward_worker_sends_it(
        row: Unfetched, gateway: GatewayServer, casestore: CaseStoreServer, test_env: TestEnvironment) -> None:
    """A photo the forward worker could not fetch was listed flags `-`, "its URL" and no why (or `location_withheld`
    alone), while the case store's copy was flagged `not_fetched` and the worker logged why; one it had not fetched
    yet was listed as going by its URL. The listing's flags are now the case store's, and say why."""
    hosts = {"LAPOR_ATTACHMENTS_FETCH_HOSTS": row.fetch_hosts}
    with providers() as router:
        router.get(url=X_PHOTO).mock(return_value=httpx.Response(404))
        body = "#anonim Foto pungli di loket 3" if row.anonymous else "Foto pungli di loket 3"
        response = await gateway.post_twilio(gateway.twilio_form(Body=body, NumMedia="1", MediaUrl0=X_PHOTO,
                                                                 MediaContentType0="image/jpeg"))
        assert response.status_code == 200
        tracking_id = tracking_id_in(twiml_message(response.text))
        if row.forwarded:
            drain(test_env.settings(**{**FETCHING, **hosts}), (FORWARD_QUEUE,))

    listing = cli(test_env, "attachments", "list", tracking_id, **hosts)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert table_rows(listing.stdout) == [["0", "image/jpeg", "-", *row.listed]], listing.stdout
    assert "twimg" not in listing.stdout  # no provider's address
    report = casestore.get(tracking_id)
    if row.forwarded:  # the flags the case store has, as listed
        assert report is not None
        [attachment] = report["attachments"]  # type: ignore[misc]
        assert ", ".join(attachment["flags"]) == row.listed[0]
        assert (attachment["location"] == X_PHOTO) == (row.listed[2] == "its URL")
    else:
        assert report is None


# An export killed halfway through its second file, as a dropped SSH session's SIGHUP or the OOM killer ends it: no
# exception handler runs. `os.fdopen` is what every write of a file there goes through.
KILLED_EXPORT = """
import hashlib, os, sys
from pathlib import Path
from gateway.attachments import attachment_location
from workers.handover import AS_SENT, WITHHELD, AttachmentView, ReportFiles, export_files

data_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
views = []
for index, content in enumerate((b"%PDF-1.4 /Author (Budi Santoso) " * 200, b"\\xff\\xd8\\xff" + bytes(40_000))):
    sha256 = hashlib.sha256(content).hexdigest()
    location = attachment_location(sha256)
    (data_dir / location).parent.mkdir(parents=True, exist_ok=True)
    (data_dir / location).write_bytes(content)
    views.append(AttachmentView(index=index, content_type=("application/pdf", "image/jpeg")[index], size=len(content),
                                flags=(), location=location, sha256=sha256, keeps="file",
                                case_store=(WITHHELD, AS_SENT)[index]))
real_fdopen, opened = os.fdopen, []

class KilledMidWrite:
    def __init__(self, file):
        self.file = file

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def __getattr__(self, name):
        return getattr(self.file, name)

    def write(self, data):
        if len(opened) < 2:
            return self.file.write(data)
        self.file.write(data[:len(data) // 2])
        self.file.flush()
        os._exit(9)

def fdopen(*args, **kwargs):
    opened.append(args)
    return KilledMidWrite(real_fdopen(*args, **kwargs))

if sys.argv[3] == "kill":
    os.fdopen = fdopen
export_files(ReportFiles("10000004", "email", True, None, tuple(views)), data_dir, out)
"""


def test_an_export_killed_halfway_leaves_no_file_under_its_name(tmp_path: Path) -> None:
    """Killed while it writes the second file, the export leaves neither the first file whole (exported, unlogged)
    nor the second cut short under the names an operator hands over: a rerun exports both."""
    out = tmp_path / "serah-terima"

    def export(how: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(tmp_path / "data"), str(out), how],
                              capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent)

    killed = export("kill")
    assert killed.returncode == 9, killed.stdout + killed.stderr
    assert [path.name for path in out.iterdir() if not path.name.startswith(".")] == []
    again = export("whole")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == [
        "10000004-0.pdf", "10000004-1.jpg"]
    assert (out / "10000004-1.jpg").stat().st_size == 40_003
