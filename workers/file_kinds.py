"""What an anonymous report's file that is no image is, by its first bytes: the reason it is withheld.

Such a file reaches the case store only when it carries nothing but its content: plain text (workers/image_metadata.py).
Anything else a citizen sends may name them where no viewer shows it: a PDF's Info dictionary and XMP (Author,
Creator), an Office document's docProps (author, last modified by, company), a phone video's or voice note's place
(QuickTime ©xyz, Android's location), a forwarded mail's headers (its To: is the whistleblower's address, its Received:
lines their provider and address). The kind only names why a file is withheld, for the operator who reviews it
(`lapor-gateway attachments list`): a file is never sent because its kind is unknown. Bytes are read, never the type
the sender's client declared (a mailed file's type is whatever that client said), but for plain text, which has no
bytes of its own to be known by: it must be declared `text/plain`, read as UTF-8 text, and not begin as a text that
other programs show in part (HTML, a vCard, a calendar, PostScript: `text_format`).
"""

from __future__ import annotations

import re

# Enough of a file's start to tell its kind: a PDF's header may come after up to 1 KiB of anything.
SNIFF_BYTES = 1024
PLAIN_TEXT = "text/plain"
MAIL_TYPE = "message/rfc822"
# What Windows' Notepad wrote before UTF-8 text until 2019: a mail's source or an RTF saved by it begins so.
UTF8_BOM = b"\xef\xbb\xbf"

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word, Excel and PowerPoint before 2007, Outlook's .msg
# What the first entries of an Office Open XML or OpenDocument zip are named, or say.
OFFICE_ZIP_NAMES = (b"[Content_Types].xml", b"mimetypeapplication/vnd.oasis.opendocument", b"docProps/", b"word/",
                    b"xl/", b"ppt/")
# Boxes a QuickTime file may begin with instead of `ftyp` (an older .mov).
QUICKTIME_FIRST_BOXES = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
AUDIO_BRANDS = (b"M4A", b"M4B", b"M4P")
AUDIO_STARTS = (b"ID3", b"OggS", b"#!AMR", b"fLaC", b"caff")
# An MP3 frame's or an AAC (ADTS) frame's first two bytes, as encoders write them (never UTF-16's byte order marks).
AUDIO_FRAME_STARTS = (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3", b"\xff\xf1", b"\xff\xf9")
ARCHIVE_STARTS = (b"PK\x03\x04", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b")
# The header fields of a mail (RFC 5322); a text that begins with two or more header lines, one of them these, is one.
MAIL_FIELDS = frozenset({b"from", b"to", b"cc", b"date", b"subject", b"message-id", b"received", b"return-path",
                         b"delivered-to", b"mime-version", b"reply-to"})
HEADER_LINE = re.compile(rb"([!-9;-~]+)[ \t]*:")
# Text that a program other than a text editor shows, hiding part of it, whatever type it was declared as: HTML or XML
# (a page Word saved names its author in <o:Author>; a <meta> or a comment shows nowhere), a vCard (a mail client
# attaches its user's own: name, number, address), an invitation (its organizer), PostScript (%%For: who printed it).
TEXT_FORMATS = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:(?P<markup><[a-z!?])|(?P<vcard>begin:vcard)|"
                          rb"(?P<calendar>begin:vcalendar)|(?P<postscript>%!))", re.IGNORECASE)
# What plain text has no use for: every control character but tab, line feed, form feed and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# What a text editor shows as nothing: Unicode's format characters (zero-width spaces and joiners, direction marks and
# overrides, the soft hyphen, a byte order mark past the first character, tag characters), the grapheme joiner, the
# Hangul fillers, Khmer's invisible vowels and the variation selectors (Mongolian's free ones too) but an emoji's own
# two (U+FE0E, U+FE0F), and the code points Unicode reserves to be shown as nothing when they are assigned (U+2065,
# U+FFF0..U+FFF8, the rest of the tag block): all of its Default_Ignorable_Code_Point. A memo handed out to each
# reader with a different pattern of them names the reader who passed it on: the whistleblower.
INVISIBLE = re.compile("[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
                       "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"  # category Cf
                       "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\uffa0\ufe00-\ufe0d"
                       "\U000e0100-\U000e01ef"
                       "\u2065\ufff0-\ufff8\U000e0000\U000e0002-\U000e001f\U000e0080-\U000e00ff"  # reserved
                       "\U000e01f0-\U000e0fff]")


def media_type(content_type: str | None) -> str:
    """`text/plain; charset=utf-8` as `text/plain`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def file_kind(head: bytes, content_type: str) -> str | None:
    """pdf, office, archive, video, audio or mail by a file's first SNIFF_BYTES, or all of a declared plain text
    (mail by its declared type too; an RTF or a mail after a UTF-8 byte order mark as well); None when they say none
    of these. Only for a file that image_metadata.image_format knows as no image."""
    text = head.removeprefix(UTF8_BOM)
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(OLE2) or text.startswith(b"{\\rtf"):
        return "office"
    if head.startswith(ARCHIVE_STARTS):
        return "office" if any(name in head for name in OFFICE_ZIP_NAMES) else "archive"
    if head[4:8] == b"ftyp":  # ISO base media (MP4, MOV, 3GP, M4A); a HEIF photo is an image, known before
        return "audio" if head[8:11] in AUDIO_BRANDS else "video"
    if head[4:8] in QUICKTIME_FIRST_BOXES or head.startswith((b"\x1a\x45\xdf\xa3", b"FLV\x01")):  # MOV, MKV/WebM, FLV
        return "video"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WAVE"):
        return "video" if head[8:12] == b"AVI " else "audio"
    if head.startswith(AUDIO_STARTS) or head.startswith(AUDIO_FRAME_STARTS):
        return "audio"
    if media_type(content_type) == MAIL_TYPE or looks_like_mail(text):
        return "mail"
    return None


def looks_like_mail(head: bytes) -> bool:
    """A file that begins as a mail does (an .eml, an mbox): header lines, one of them a mail's own field."""
    lines = head.split(b"\n")
    if lines[0].startswith(b"From "):  # an mbox's separator line
        lines = lines[1:]
    names: list[bytes] = []
    for line in lines[:-1]:  # the last may be cut short by SNIFF_BYTES
        line = line.rstrip(b"\r")
        if not line:
            break  # the end of the header
        if line[:1] in (b" ", b"\t") and names:
            continue  # a folded field's next line
        field = HEADER_LINE.match(line)
        if field is None:
            return False
        names.append(field.group(1).lower())
    return len(names) >= 2 and any(name in MAIL_FIELDS for name in names)


def text_format(data: bytes) -> str | None:
    """markup, vcard, calendar or postscript for a text that begins as one (after a byte order mark and blank space);
    None for any other."""
    found = TEXT_FORMATS.match(data)
    return found.lastgroup if found else None


def is_plain_text(data: bytes) -> bool:
    """UTF-8 (a byte order mark allowed) without control characters but tab, line feed, form feed and carriage
    return, nor characters shown as nothing: what a text editor shows whole, so nothing in it is hidden from the
    citizen who sent it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return CONTROL.search(text) is None and INVISIBLE.search(text) is None
