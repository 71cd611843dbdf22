"""Files a citizen mails besides photos, each carrying what names its sender where no viewer shows it.

Small but real in the parts that matter: a PDF's Info dictionary (/Author, /Creator), an Office Open XML zip's
docProps (creator, last modified by, company), an MP4's and a QuickTime movie's ©xyz location, a voice note's
container, a forwarded mail's headers (its To: is the whistleblower, its Received: their provider and address).
`WHISTLEBLOWER` and `PLACE` are what must never reach the case store of an anonymous report.
"""

from __future__ import annotations

import io
import struct
import zipfile

WHISTLEBLOWER = "Budi Santoso Rahasia"
ADDRESS = "budi.rahasia@contoh-desa.net"
PLACE = "-06.2088+106.8456/"  # ISO 6709, as a phone's camera app writes it
SENDER_IP = "203.0.113.77"

PDF = ("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
       f"3 0 obj << /Author ({WHISTLEBLOWER}) /Creator (Microsoft Word) /Producer (macOS Quartz PDFContext) >> endobj\n"
       "trailer << /Root 1 0 R /Info 3 0 R >>\n%%EOF\n").encode("latin-1")
# Word 97-2003 and Outlook's .msg: an OLE2 compound file (its header, then the author in its SummaryInformation).
DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + WHISTLEBLOWER.encode("utf-16-le")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx() -> bytes:
    """A minimal Word document whose properties name its author, as Word writes them (stored, not deflated, so the
    name is in the bytes a search can find)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as document:
        document.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org'
                          '/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="'
                          'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        document.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        document.writestr("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>Pungli di loket 3</w:t></w:r>"
                          "</w:p></w:body></w:document>")
        document.writestr("docProps/core.xml", f"<cp:coreProperties><dc:creator>{WHISTLEBLOWER}</dc:creator>"
                          f"<cp:lastModifiedBy>{WHISTLEBLOWER}</cp:lastModifiedBy></cp:coreProperties>")
        document.writestr("docProps/app.xml", "<Properties><Company>Dinas Pekerjaan Umum</Company></Properties>")
    return buffer.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def movie(brand: bytes) -> bytes:
    """An ISO base media file (MP4, QuickTime, M4A) whose user data holds the place it was recorded (©xyz)."""
    location = box(b"\xa9xyz", struct.pack(">HH", len(PLACE), 0x15C7) + PLACE.encode())
    return (box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"mp41")
            + box(b"moov", box(b"mvhd", bytes(100)) + box(b"udta", location)) + box(b"mdat", bytes(64)))


MP4 = movie(b"isom")
MOV = movie(b"qt  ")
M4A = movie(b"M4A ")
OGG = b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x01" + bytes(16)


def archive() -> bytes:
    """A zip of a recording: the archive is no document, but what it holds is the recording as made."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as packed:
        packed.writestr("rekaman.m4a", M4A)
    return buffer.getvalue()


EML = ("Return-Path: <kadis@dinas-pu.go.id>\r\n"
       f"Received: from [{SENDER_IP}] by mx.contoh-desa.net; Tue, 18 Nov 2025 09:12:00 +0700\r\n"
       "From: Kepala Dinas <kadis@dinas-pu.go.id>\r\n"
       f"To: {WHISTLEBLOWER} <{ADDRESS}>\r\n"
       "Subject: Setoran bulan ini\r\nDate: Tue, 18 Nov 2025 09:11:58 +0700\r\n"
       "Message-ID: <setoran-11@dinas-pu.go.id>\r\n"
       "\r\nTolong setor Rp 5 juta sebelum Jumat.\r\n").encode()
TEXT = "Kuitansi pungli: Rp 50.000 — loket 3, Kamis pagi.\n".encode()
HTML = b"<html><head><meta name=\"author\" content=\"" + WHISTLEBLOWER.encode() + b"\"></head><body>x</body></html>"
# What Word writes for "Save as Web Page": its author in an XML block no browser shows.
WORD_PAGE = ('<html xmlns:o="urn:schemas-microsoft-com:office:office">\r\n<head><!--[if gte mso 9]><xml>'
             f"<o:DocumentProperties><o:Author>{WHISTLEBLOWER}</o:Author></o:DocumentProperties></xml><![endif]-->"
             "</head><body><p>Pungli di loket 3</p></body></html>").encode()
# The card a mail client attaches on its own to every mail its user sends ("attach my vCard").
VCARD = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{WHISTLEBLOWER}\r\nEMAIL:{ADDRESS}\r\nEND:VCARD\r\n".encode()
