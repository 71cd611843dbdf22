"""Raw mail -> ParsedMail, with the standard library's email package (policy.default) and html2text (html_text.py).

Real mail is messy: undeclared 8-bit text, charsets that lie (iso-8859-1 that is really windows-1252),
unknown transfer encodings. Every text part is decoded by `decode_text`, which never raises: the declared charset,
else UTF-8, else windows-1252, a few bytes that are invalid read as U+FFFD (`decode_text` says when a text is read in
another charset). Only mail without any usable header (no sender address) is refused with RejectedInput, and the
processor quarantines it.

A mail of more MIME parts than `email.max_mime_parts` is refused with TooManyParts: the parse and the walk cost about
1.4 ms of CPU per part, so the 115,000 one-byte parts a 20 MiB mail holds would pin a process for minutes. The parser
counts the parts it builds (whatever makes one: a boundary, a forwarded message, a delivery-status block) and stops
at the first one over the limit, a fraction of a second in.

A mail of parts nested deeper than `email.max_mime_depth` is refused with TooDeep, at the first part too deep: the
parser matches every line against every enclosing boundary, so nesting costs CPU quadratic in its depth (350 KB
nested 900 deep took 20 s, well under the part limit). Real mail nests a handful of levels.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import hashlib
import mimetypes
import quopri
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.feedparser import BytesFeedParser
from email.headerregistry import AddressHeader, MessageIDHeader, UnstructuredHeader
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr
from typing import Any

import channels.email.iso2022jp as iso2022jp
from channels.email.html_text import html_to_text
from channels.email.texts import SUBJECT_TAG, cut_at_word, opens_our_text, our_paragraph
from channels.email.tnef import is_tnef, tnef_files
from gateway.errors import GatewayError, RejectedInput, TooLarge
from gateway.tracking import is_valid_tracking_id, normalize_tracking_id
from normalizer.grammar import Action
from normalizer.keywords import parse_text
from normalizer.prefixes import FORWARD_SUBJECT

# Declared charsets that mail clients use for something wider (WHATWG encoding rules), and labels Python has no codec
# of. Read by their narrow codec, a Japanese mail's ① or 髙 (Shift_JIS labels Windows' cp932), a Korean one's
# Hangul outside KS X 1001, a Hong Kong name in Big5-HKSCS failed the whole part, and the text fell back to
# windows-1252: mojibake; Outlook labels Thai `windows-874`, which Python does not know, and each Thai letter was a
# Latin one.
CHARSET_ALIASES = {"iso-8859-1": "windows-1252", "latin1": "windows-1252", "us-ascii": "windows-1252",
                   "ascii": "windows-1252", "iso-2022-jp": iso2022jp.CODEC, "csiso2022jp": iso2022jp.CODEC,
                   "gb2312": "gb18030", "gbk": "gb18030",
                   "x-gbk": "gb18030", "gb_2312-80": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
                   "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
                   "csshiftjis": "cp932", "x-euc-jp": "euc_jp", "big5": "big5hkscs", "x-x-big5": "big5hkscs",
                   "windows-874": "cp874", "tis-620": "cp874", "iso-8859-11": "cp874", "iso-8859-9": "cp1254",
                   "latin5": "cp1254", "iso-8859-8-i": "iso8859_8", "x-mac-roman": "mac_roman",
                   "x-mac-cyrillic": "mac_cyrillic", "x-unknown": "utf-8", "unknown-8bit": "utf-8"}
FORWARD_MARKER = "---------- Pesan terusan / Forwarded message ----------"


# The largest image a mail's HTML shows by its Content-ID that is taken for a signature's logo (`decoration`): a
# logo or an icon is a few KB; a photo pasted into the text (Gmail and Apple Mail show it by its Content-ID too) is
# far larger, and is the citizen's evidence.
DECORATION_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class RawAttachment:
    """An attachment as found in the mail, before it is stored. `referenced`: the mail's text shows it by its
    Content-ID (`cid:` in the HTML, Outlook's `[cid:...]` in the plain text)."""

    content_type: str
    name: str | None
    data: bytes
    inline: bool = False
    content_id: str | None = None
    referenced: bool = False

    @property
    def decoration(self) -> bool:
        """Whether it is part of how the mail looks, not a file its writer sent: a small image, inline, that the
        text shows by its Content-ID (an Outlook signature's logo). A file sent as an attachment, or one the text
        does not show, is a file, whatever its size."""
        return (self.inline and self.referenced and self.content_type.startswith("image/")
                and len(self.data) <= DECORATION_BYTES)


@dataclass(frozen=True, slots=True)
class SenderIdentities:
    """The addresses and display names the mail's SENDER_HEADERS give for its sender, besides its From: an
    anonymous report's text loses them as it loses the From's (workers/own_identity.py)."""

    addresses: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def as_meta(self) -> dict[str, list[str]]:
        """As the envelope's channel_meta keeps them (`SENDER_IDENTITIES`), for the gateway alone."""
        return {"addresses": list(self.addresses), "names": list(self.names)}


@dataclass(slots=True)
class ParsedMail:
    message: EmailMessage
    message_id: str | None
    sender_address: str
    sender_name: str | None
    subject: str
    text: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    reply_to: str | None = None
    attachments: list[RawAttachment] = field(default_factory=list)
    sender_identities: SenderIdentities = field(default_factory=SenderIdentities)
    # `text` as read when the mail answers one of our replies (None: it answers no mail): a quote of our reply, with
    # or without ">", is none of its sender's words, wherever it stands, and what they wrote around it is
    # (`_trimmed`'s `ours`); a mail of quoted history alone adds only its files ("Pada ... LAPOR! <...> menulis:" and
    # our words below it: ""). Only the processor knows whether the mail it answers is ours.
    answer_text: str | None = None
    # `text` as read when the subject carries our `[LAPOR #<id>]` tag (None: it does not), for a mail that names our
    # reply by nothing else (webmail and phone clients drop In-Reply-To and References): a quote of our reply is passed
    # over wherever it stands, as in `answer_text`, but any other quote is read as in `text`, and kept when it is all
    # there is. The tag alone does not say that the history quoted is ours: the mail may answer an official's mail
    # that kept our tag in its subject, and that official's words are the citizen's evidence.
    tagged_text: str | None = None
    # The Tracking IDs of the `[LAPOR #<id>]` tags in the mail's text parts as sent (valid ones, in ASCII digits), in
    # order, each once, at most MAX_NAMED_REPORTS + 1: quoted and forwarded ones too, our replies' among them, which
    # `text` passes over. The reports a mail names besides its subject's and its threading's (`guards.reports_named`):
    # a forward of our acknowledgements of two reports, or an answer quoting them, names both.
    body_tags: tuple[str, ...] = ()
    # The Tracking IDs of the `[LAPOR #<id>]` tags inside our replies the mail quotes (`our_quoted_tags`: in `>` lines,
    # below an attribution or Outlook's header block; not read when its subject has our tag), and `text` as read with
    # such a quote passed over, as in `tagged_text` (None: it quotes none). A mail that lost both its In-Reply-To and
    # its subject's tag still answers our reply there; only the processor knows whether the report quoted is its
    # sender's (`quoted_thread`).
    quoted_tags: tuple[str, ...] = ()
    quoting_text: str | None = None
    # The report whose sender quotes our reply to it, named by that alone (`quoted_tags`, set by the processor once it
    # has read whose the report is): the mail continues it as one with the report's tag in its subject would.
    quoted_thread: str | None = None
    # What the mail says, digested (`content_digest`): with its sender and Message-ID, what dedups it.
    content_digest: str = ""


# The most reports besides the one it continues whose privacy a mail takes, each an envelope copy read: as many tags
# of its text are read (`ParsedMail.body_tags`), one more kept so that a mail naming more is known to (it takes,
# beside theirs, the privacy of a report whose copy cannot be read: anonymous). One bound for both (the processor's).
MAX_NAMED_REPORTS = 16


def body_tags(body: str) -> tuple[str, ...]:
    """`ParsedMail.body_tags` of a mail's text parts."""
    found: dict[str, None] = {}
    for match in SUBJECT_TAG.finditer(body):
        if is_valid_tracking_id(match.group(1)):
            found.setdefault(normalize_tracking_id(match.group(1)), None)
        if len(found) > MAX_NAMED_REPORTS:
            break
    return tuple(found)


def replied_to(in_reply_to: list[str], references: list[str]) -> list[str]:
    """The Message-IDs of the mail a mail answers: its In-Reply-To, or without one the last of its References (RFC
    5322 3.6.4: the parent's). A client that writes only References answered our reply, and our quoted reply was
    filed as the citizen's words."""
    return in_reply_to or references[-1:]


class TooComplex(TooLarge):
    """A MIME structure past one of the channel's limits, found by the parse: SMTP refuses the mail with 552 5.3.4 and
    the `refusal` text of config/replies.toml, the IMAP poller quarantines it. `counts` go into the log line."""

    refusal = ""
    limit_is_size = False  # the refusal quotes `limit` as a size ("2 MB"), not as a count

    def __init__(self, detail: str, limit: int, **counts: int) -> None:
        super().__init__(detail)
        self.limit = limit
        self.counts = {**counts, "limit": limit}


class TooManyParts(TooComplex):
    """More MIME parts than the channel takes (`email.max_mime_parts`). `parts` is the first part over `limit` (the
    parse stops there)."""

    reason = "too_many_parts"
    refusal = "smtp_too_many_parts"

    def __init__(self, parts: int, limit: int) -> None:
        super().__init__(f"more than {limit} MIME parts ({parts} counted)", limit, parts=parts)
        self.parts = parts


class TooDeep(TooComplex):
    """MIME parts nested deeper than the channel takes (`email.max_mime_depth`; the message itself is level 1, each
    part one level below the part holding it). `depth` is the first level over `limit` (the parse stops there)."""

    reason = "too_deeply_nested"
    refusal = "smtp_too_deeply_nested"

    def __init__(self, depth: int, limit: int) -> None:
        super().__init__(f"MIME parts nested more than {limit} deep", limit, depth=depth)
        self.depth = depth


class TooManyHeaderLines(TooComplex):
    """More header lines than the channel takes (`email.max_header_lines`): the message's own and every part's
    together, folded lines included. `lines` is the first line over `limit`, in the header of part number `part`
    (1: the message itself; the parse stops there)."""

    reason = "too_many_header_lines"
    refusal = "smtp_too_many_header_lines"

    def __init__(self, lines: int, limit: int, part: int) -> None:
        super().__init__(f"more than {limit} header lines", limit, header_lines=lines, part=part)


class HeaderTooLarge(TooComplex):
    """More header bytes than the channel takes (`email.max_header_bytes`), counted like the lines: `size` is the
    count when it first passed `limit`, in the header of part number `part`."""

    reason = "header_too_large"
    refusal = "smtp_header_too_large"
    limit_is_size = True

    def __init__(self, size: int, limit: int, part: int) -> None:
        super().__init__(f"more than {limit} bytes of header", limit, header_bytes=size, part=part)


# The most bytes of Content-Type and Content-Disposition fields, every part's together, that a mail may carry by
# default (`email.max_mime_field_bytes`), and the share of it one field may hold. These are the fields read with the
# stdlib's structured parser, and read again and again (about twelve times a part), at some 85 ms of CPU per KB of
# parameters (1 KB of "x;" in each of 100 parts: 10 s), and at a cost quadratic in one field's length (16 KB of "x;"
# in one field: 3 s, 63 KB: 55 s): hence the share. A real mail's are some 300 bytes a part; the longest real field,
# a file name of 255 Thai characters as both filename= (RFC 2047) and filename*= (RFC 2231), is 4.2 KB.
MAX_MIME_FIELD_BYTES = 65536
MIME_FIELD_SHARE = 8
MIME_FIELDS = ("content-type", "content-disposition")


class MimeFieldsTooLarge(TooComplex):
    """More bytes of Content-Type and Content-Disposition, every part's together, than `limit`, or more in one field
    than its share of it: `size` is the count when it first passed the limit, in the header of part number `part`."""

    reason = "mime_fields_too_large"
    refusal = "smtp_mime_fields_too_large"
    limit_is_size = True

    def __init__(self, size: int, limit: int, part: int, *, one_field: bool = False) -> None:
        what = "in one Content-Type or Content-Disposition field" if one_field else \
            "of Content-Type and Content-Disposition"
        super().__init__(f"more than {limit} bytes {what}", limit, mime_field_bytes=size, part=part)


def mime_field_sizes(lines: list[str]) -> list[int]:
    """The bytes of each of a header's Content-Type and Content-Disposition fields, folded lines included."""
    sizes: list[int] = []
    counting = False
    for line in lines:
        if line[:1] not in (" ", "\t"):  # a field's first line; others continue the one before
            counting = line.split(":", 1)[0].strip().lower() in MIME_FIELDS
            if counting:
                sizes.append(0)
        if counting:
            sizes[-1] += len(line)
    return sizes


# The charset of an RFC 2231 value (`filename*=utf-8''...`, `filename*0*=utf-8'id'...`). The stdlib decodes the value
# with it and catches only LookupError: a charset that names a codec refusing its bytes (webmail's `undefined`, whose
# codec refuses everything; `idna`, `punycode`; `utf-16` or `utf-32` of an odd length; an EBCDIC code page) raised
# from the parser, and the whole mail was quarantined for one file name. Read again as UTF-8, the name is its
# percent-decoded bytes with U+FFFD for what is not UTF-8 (the stdlib's reading of a charset it does not know).
_RFC2231_CHARSET = re.compile(r"""(\*(?:0\*)?\s*=\s*"?)[^';]*'""")


# The most of a field's value read as text: a Subject, a Message-ID, In-Reply-To or References, and the fields the loop
# guards read (X-Loop, Auto-Submitted, Precedence, List-Id...). The stdlib's parse of such a field takes time quadratic
# in its length: a Subject of 2 MB (within `email.max_header_bytes`) held a parse thread for minutes, the SMTP answer
# came after 140 s and the acknowledgement's job died at its timeout, so the citizen never got a Tracking ID; 200 KB of
# References or X-Loop took 2 to 5 s. 16 KiB of a field is read (`header_text`, 0.01 s): more than any real one
# holds. The policy, which every lookup of such a field goes through, cuts what reaches the stdlib at twice that
# (MAX_FIELD_PARSE): `header_text` hands it a field's encoded-words rewritten (`_joined_words`), up to a third longer,
# and a second cut could fall inside one. The whole mail is kept as it came (the quarantine, the attachments' source).
MAX_FIELD_READ = 16 * 1024
MAX_FIELD_PARSE = 2 * MAX_FIELD_READ


def within_reading(name: str, value: str, limit: int = MAX_FIELD_READ) -> str:
    """The part of a field's raw value that is read (at most `limit` characters): its start, cut at the last
    whitespace within it (an encoded-word, a msg-id stays whole); of References, whose newest msg-ids come last (the
    one our reply is threaded by), its end, cut at the first."""
    if len(value) <= limit:
        return value
    if name.lower() == "references":
        tail = value[-limit:]
        space = _SPACE.search(tail)
        return tail[space.end():] if space else tail
    head = value[:limit]
    space = max(head.rfind(char) for char in " \t\r\n")
    return head[:space] if space > 0 else head


_SPACE = re.compile(r"\s")


class _ReadOncePolicy(EmailPolicy):
    """policy.default, reading each Content-Type and Content-Disposition value of one mail once: the stdlib parses a
    header again at every lookup, and a part's type, parameters, charset and disposition are looked up about twelve
    times between the parser and the walk, each parse costing as much as the field is long, and more. A policy per
    mail (`fresh`), so nothing outlives it."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        if name.lower() not in MIME_FIELDS:
            kind = self.header_factory[name]
            if issubclass(kind, (UnstructuredHeader, MessageIDHeader)):
                value = within_reading(name, value, MAX_FIELD_PARSE)
            elif issubclass(kind, AddressHeader):  # its parser is slower still: a Resent-From of 1.9 MB took 270 s
                value = within_reading(name, value, MAX_ADDRESS_FIELD)
            if "=?" in value and issubclass(kind, UnstructuredHeader):
                value = decoded_words(value)
            return super().header_fetch_parse(name, value)
        read: dict[tuple[str, str], Any] = self.__dict__["_read"]
        key = (name.lower(), value)
        if key not in read:
            try:
                read[key] = super().header_fetch_parse(name, value)
            except UnicodeError:
                read[key] = super().header_fetch_parse(name, _RFC2231_CHARSET.sub(r"\1utf-8'", value))
        return read[key]

    @classmethod
    def fresh(cls) -> _ReadOncePolicy:
        made = cls()  # policy.default is EmailPolicy() as it is
        object.__setattr__(made, "_read", {})  # policies are read-only; this memo is theirs alone
        return made


class _LimitedParser(BytesFeedParser):
    """The stdlib's parser, stopping at the first part over `max_parts` or deeper than `max_depth`, and at the first
    header line over `max_header_lines` or `max_header_bytes` (0: no limit).

    Every part, whatever makes it (a boundary, a forwarded message, a delivery-status block), is made by
    FeedParser._new_message, and `_msgstack` then holds the parts enclosing it, so there both MIME limits are checked
    before the part exists and before the parser does the work it brings: each level adds a boundary that every
    later line is matched against. The parser then reads the part's header line by line from its input, which shows
    each line to the end-of-input matchers pushed on it: one that never matches counts the header lines as they are
    read, before the parser builds any header of them, until FeedParser._parse_headers takes them and it is popped.
    These are private names of the stdlib's feedparser (3.11 to 3.13); the limits' tests fail if they change."""

    def __init__(self, *, max_parts: int, max_depth: int, max_header_lines: int = 0,
                 max_header_bytes: int = 0, max_mime_field_bytes: int = MAX_MIME_FIELD_BYTES,
                 depth_offset: int = 0) -> None:
        """`depth_offset`: the level of the part holding what this parser reads (a forwarded mail read apart)."""
        super().__init__(policy=_ReadOncePolicy.fresh())
        self.depth_offset = depth_offset
        self.max_parts = max_parts
        self.max_depth = max_depth
        self.max_header_lines = max_header_lines or sys.maxsize
        self.max_header_bytes = max_header_bytes or sys.maxsize
        self.parts = 0
        self.header_lines = 0  # of the headers read to their end
        self.header_bytes = 0
        self.max_mime_field_bytes = max_mime_field_bytes
        self.mime_field_bytes = 0
        self._reading_lines = 0  # of the header being read
        self._reading_bytes = 0

    def _new_message(self) -> None:
        self.parts += 1
        if self.max_parts > 0 and self.parts > self.max_parts:
            raise TooManyParts(self.parts, self.max_parts)
        depth = len(self._msgstack) + 1 + self.depth_offset  # type: ignore[attr-defined]
        if self.max_depth > 0 and depth > self.max_depth:
            raise TooDeep(depth, self.max_depth)
        super()._new_message()  # type: ignore[attr-defined]
        self._reading_lines = self._reading_bytes = 0
        self._input.push_eof_matcher(self._count_header_line)  # type: ignore[attr-defined]

    def _count_header_line(self, line: str) -> bool:
        """Shown each line the parser reads for a header (the header's lines, then the one that ends it), this is
        an end-of-input matcher that never matches. The lines shown before `line` are all header lines."""
        self._check_header(self.header_lines + self._reading_lines, self.header_bytes + self._reading_bytes)
        self._reading_lines += 1
        self._reading_bytes += len(line)
        return False

    def _parse_headers(self, lines: list[str]) -> None:
        self._input.pop_eof_matcher()  # type: ignore[attr-defined]
        self.header_lines += len(lines)
        self.header_bytes += sum(map(len, lines))
        self._check_header(self.header_lines, self.header_bytes)  # a header that ends the mail has no line after it
        self._check_mime_fields(mime_field_sizes(lines))
        super()._parse_headers(lines)  # type: ignore[misc]

    def _check_mime_fields(self, sizes: list[int]) -> None:
        one_field = self.max_mime_field_bytes // MIME_FIELD_SHARE
        for size in sizes:
            if size > one_field:
                raise MimeFieldsTooLarge(size, one_field, self.parts, one_field=True)
        self.mime_field_bytes += sum(sizes)
        if self.mime_field_bytes > self.max_mime_field_bytes:
            raise MimeFieldsTooLarge(self.mime_field_bytes, self.max_mime_field_bytes, self.parts)

    def _check_header(self, lines: int, size: int) -> None:
        if lines > self.max_header_lines:
            raise TooManyHeaderLines(lines, self.max_header_lines, self.parts)
        if size > self.max_header_bytes:
            raise HeaderTooLarge(size, self.max_header_bytes, self.parts)


def parse_bytes(raw: bytes, max_parts: int = 0, max_depth: int = 0, *, max_header_lines: int = 0,
                max_header_bytes: int = 0, max_mime_field_bytes: int = MAX_MIME_FIELD_BYTES) -> EmailMessage:
    """The mail as the standard library reads it; TooManyParts past `max_parts` parts, TooDeep past `max_depth`
    levels, TooManyHeaderLines past `max_header_lines` header lines and HeaderTooLarge past `max_header_bytes` header
    bytes (0: no limit), and MimeFieldsTooLarge past `max_mime_field_bytes` (or an eighth of it in one field)."""
    parser = _LimitedParser(max_parts=max_parts, max_depth=max_depth, max_header_lines=max_header_lines,
                            max_header_bytes=max_header_bytes, max_mime_field_bytes=max_mime_field_bytes)
    message = _fed(parser, with_field_names_closed(without_bare_crs_in_header(raw), max_lines=max_header_lines,
                                                   max_bytes=max_header_bytes))
    _read_encoded_forwards(message, parser)
    return message


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_BARE_CR = re.compile(rb"\r(?!\n)")


def without_bare_crs_in_header(raw: bytes) -> bytes:
    """The mail with each CR alone inside its header's lines read as a space. The standard library ends a line at
    one, and the header at the first line after it that is no field: `Subject: Jalan\rrusak` put every field below
    it in the text, an anonymous mail's Reply-To (an address of its sender's the gateway then never knew) and
    Message-ID among them. A mail whose lines end in CR alone (more of them than in LF: an old Mac's, maybe below a
    relay's CRLF `Received:`) is left as it is: there each CR ends a line, and read as spaces, the whole mail was one
    From field, suppressed as empty."""
    blank = _BLANK_LINE.search(raw)
    head = raw[:blank.start()] if blank else raw
    bare = len(_BARE_CR.findall(head))
    if not bare or bare >= head.count(b"\n") or b"\r\r" in head:
        return raw
    return _BARE_CR.sub(b" ", head) + raw[len(head):]


# A field name with spaces before its colon (RFC 5322 4.5's obsolete `field-name *WSP ":"`, still written by old
# clients and scripts): a one-word name of a header's, or a hyphenated one opening with a header's own word
# (`Reply-To`, `X-Mailer`, `Content-Type`, `Envelope-To`). And a header line as the standard library reads one (a
# field, even of no name, or a folded line of the one above it).
_SPACED_FIELD_NAME = re.compile(
    rb"(from|sender|to|cc|bcc|subject|date|received|organi[sz]ation|importance|priority|keywords|comments|"
    rb"sensitivity|precedence|references|"
    rb"(?:x|content|reply|message|in-reply|mime|list|resent|return|dkim|thread|auto|delivered|disposition|errors|"
    rb"user|received|arc|authentication|original|accept|require|feedback|envelope|mail|followup|sender)"
    rb"(?:-[a-z0-9]+)+)[ \t]+:", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"[!-9;-~]*:|[ \t]")
# How far a header is read for spaced names where the parse sets no limit (`email.max_header_lines` and
# `max_header_bytes` refuse a mail past them anyway): read whole, 25 MB of header lines cost seconds here.
_SPACED_HEADER_READ = 4 * 1024 * 1024


def with_field_names_closed(raw: bytes, *, max_lines: int = 0, max_bytes: int = 0) -> bytes:
    """The mail with the spaces between its header fields' names and their colons taken out, where the header is one
    (`_spaced_header_fields`). The standard library reads `Subject : Jalan rusak` as no field, and ends the header
    there (every field below it in the text, an anonymous mail's Reply-To among them; at the top, the mail had no
    header and was refused), and `From : Budi <...>` as a misplaced mbox line, dropped: the mail had no sender and
    was quarantined. Past `max_lines` lines or `max_bytes` bytes of header (0: `_SPACED_HEADER_READ`), as none."""
    spaced = _spaced_header_fields(raw, max_lines or sys.maxsize, min(max_bytes or _SPACED_HEADER_READ,
                                                                       _SPACED_HEADER_READ))
    if not spaced:
        return raw
    pieces: list[bytes] = []
    done = 0
    for name_end, colon in spaced:
        pieces += [raw[done:name_end], b":"]
        done = colon + 1
    return b"".join([*pieces, raw[done:]])


def _spaced_header_fields(raw: bytes, max_lines: int, max_bytes: int) -> list[tuple[int, int]]:
    """Where each spaced field name of the header ends, and its colon: none unless a blank line ends the header and
    every line above it is a header's (a field, a spaced field of `_SPACED_FIELD_NAME`, a folded line, an mbox line
    first), each ended by LF or CRLF. Else the mail is read as the standard library reads it, its header ending at
    the first line that is no field: a form's `Lokasi : ...`, `Status : ...`, `Tgl-Kejadian : ...` or a date on a
    body's first lines right below a header with no blank line is the citizen's text, and so is a `Reply-To : ...`
    among them (read as a field, the acknowledgement of an anonymous report went to the address the citizen wrote
    there). A CR alone ends a line for the standard library, and may end its header (`without_bare_crs_in_header`
    leaves such a mail as it is): none is closed then."""
    spaced: list[tuple[int, int]] = []
    at = lines = 0
    while (end := raw.find(b"\n", at, max_bytes + 2)) >= 0 and lines <= max_lines:  # and the blank line
        end += 1
        lines += 1
        line = raw[at:end]
        if line in (b"\n", b"\r\n"):
            return spaced
        if b"\r" in line[:-2]:  # a CR alone, before the line's own end
            return []
        field = _SPACED_FIELD_NAME.match(raw, at, end)
        if field is not None:
            spaced.append((field.end(1), field.end() - 1))
        elif not (_HEADER_LINE.match(raw, at, end) or (at == 0 and raw.startswith(b"From "))):
            return []
        at = end
    return []


def _fed(parser: _LimitedParser, raw: bytes) -> EmailMessage:
    for start in range(0, len(raw), 65536):  # as the stdlib's BytesParser feeds it; a refusal leaves the rest unread
        parser.feed(raw[start:start + 65536])
    message = parser.close()
    assert isinstance(message, EmailMessage)
    return message


# A forwarded mail's part may only be 7bit, 8bit or binary (RFC 2046 5.2.1), but Exchange, Outlook for Mac and
# phone clients send one in base64 or quoted-printable all the same. The stdlib parses it as it comes: a base64 one
# as a mail of no header whose text is the base64, a quoted-printable one with its `=E2=80=93` left in: a complaint
# forwarded so reached the case store as a block of base64.
FORWARDED_TYPES = frozenset({"message/rfc822", "message/global"})
_OPENS_WITH_A_FIELD = re.compile(rb"\s*[!-9;-~]{1,76}[ \t]*:")
_FORWARD_ENCODINGS = frozenset({"base64", "quoted-printable"})


def _encoded_forwards(part: Message, depth: int) -> Iterator[tuple[Message, int]]:
    """The forwarded mails under `part` (at level `depth`) that came in a transfer encoding, with their levels."""
    if part.get_content_type() in FORWARDED_TYPES \
            and str(part.get("Content-Transfer-Encoding", "")).strip().lower() in _FORWARD_ENCODINGS:
        yield part, depth
        return
    # A leaf's payload is not read: the stdlib's `get_payload()` decodes an 8-bit one with the part's charset, and
    # raised for a charset whose codec refuses it (webmail's `undefined`, `idna`, a name with a NUL), so a citizen's
    # mail with such a text part or photo was quarantined as unreadable_mime, answered 250 with no report.
    if part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _encoded_forwards(child, depth + 1)


def _read_encoded_forwards(message: EmailMessage, parser: _LimitedParser) -> None:
    """Each forwarded mail in a transfer encoding decoded and parsed again, within what is left of the mail's limits
    (its parts, levels, header lines and bytes counted with the mail's own), and the next ones inside it too."""
    for part, depth in list(_encoded_forwards(message, 1 + parser.depth_offset)):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if not isinstance(inner, Message) or (encoding == "base64" and inner.keys()):
            continue  # a base64 label on a mail that came unencoded (it has a header): read as it is
        try:
            holder = Message()
            holder["Content-Transfer-Encoding"] = encoding
            holder.set_payload(inner.as_bytes().decode("ascii", "surrogateescape"))
            decoded = holder.get_payload(decode=True)
        except Exception:  # nothing to decode the stdlib can write again: the part stays as it was read
            continue
        if not isinstance(decoded, bytes) or not decoded.strip():
            continue
        if not _OPENS_WITH_A_FIELD.match(decoded):  # no mail in it: a file labelled as one, kept as a file
            part.set_payload(holder.get_payload())
            part.set_type("application/octet-stream")  # its parameters (a name) kept
            continue
        again = _LimitedParser(max_parts=parser.max_parts, max_depth=parser.max_depth,
                               max_header_lines=parser.max_header_lines, max_header_bytes=parser.max_header_bytes,
                               max_mime_field_bytes=parser.max_mime_field_bytes, depth_offset=depth)
        # What the first reading counted of it is counted again, in the decoded form
        again.parts = parser.parts - sum(1 for _ in inner.walk())
        again.header_lines, again.header_bytes = parser.header_lines, parser.header_bytes
        again.mime_field_bytes = parser.mime_field_bytes
        read = _fed(again, decoded)
        _read_encoded_forwards(read, again)
        parser.parts, parser.header_lines, parser.header_bytes = again.parts, again.header_lines, again.header_bytes
        parser.mime_field_bytes = again.mime_field_bytes
        part.set_payload([read])
        part.replace_header("Content-Transfer-Encoding", "8bit")


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = CHARSET_ALIASES.get(charset.strip().lower(), charset.strip().lower())
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # unknown, or no name at all ("wind\x00ows-1252" raises ValueError)
        return None


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Bytes -> text, never failing, read as mail clients and browsers read a declared charset (WHATWG): each
    sequence invalid in it is one U+FFFD, the rest of the text as declared. A single stray byte (a web form cutting a
    character, a footer pasted from another charset, a mail cut short) made the whole text mojibake when one invalid
    byte failed the charset: "“" was "â€œ", and an anonymous report's "José" signed below it ("JosÃ©") was no longer
    the sender's name its removal looks for, and reached the case store.

    A text is read in another charset only when the declared one cannot read it: one UTF-8 reads whole is UTF-8 (a
    mislabelled UTF-8 text). Otherwise the few invalid sequences are read as U+FFFD (in UTF-8, as windows-1252 reads
    them: `_bytes_as_windows_1252`) in the first of UTF-8 that reads at least as many characters outside ASCII validly
    as it finds invalid sequences and the declared charset that reads four times as many (LEGACY_VALID_PER_INVALID);
    when neither does, in windows-1252 (what undeclared 8-bit text is, and what Latin-1 and ASCII labels mean), which
    reads every byte. UTF-8 comes first as its invalid sequences tell it from other charsets: a Latin-1 or Shift_JIS
    text read as UTF-8 is mostly invalid sequences, while Shift_JIS reads most UTF-8 bytes as some characters. So a
    Latin-1 text labelled UTF-8 (its accents invalid UTF-8, none valid) is windows-1252, a UTF-8 text labelled
    Shift_JIS is UTF-8, and a text with no charset or a Latin-1 or ASCII label is UTF-8 when it mostly is. ISO-2022-JP
    is read by channels/email/iso2022jp.py (Outlook's ① and ㈱).

    A declared name of one of Python's codecs that is no text encoding (`base64`, `hex`, `rot13`, `zlib`, `quopri`:
    LookupError) or that refuses every text (`undefined`: UnicodeError) is a charset the mail does not have: it
    raised, and the mail was quarantined as unreadable (`unreadable_mime`), answered 250 with no report and no reply."""
    codec = _codec(charset)
    declared = codec if codec and codec not in ("utf-8", "cp1252") else None
    readings = [declared] if declared else []
    if not declared or not data.isascii():  # ASCII read as UTF-8 is no other reading of ISO-2022-JP's 7 bits
        readings.append("utf-8")
    for name in readings:
        try:
            return data.decode(name)
        except (UnicodeError, LookupError):
            pass
    for name in reversed(readings):  # UTF-8 first
        read = _read_with_replacement(data, name)
        if read is None:
            continue
        invalid, text, valid = read
        if name == "utf-8" and invalid <= valid:
            # Each invalid byte as windows-1252 reads it, not U+FFFD: such a byte is an old client's Latin-1 or
            # cp1252 (a name signed "Jos\xe9" under UTF-8 quotes), and read as U+FFFD the sign-off was "Jos\ufffd",
            # which the anonymous report's name removal did not take, so it reached the case store.
            return data.decode("utf-8", _CP1252_BYTES) if invalid <= MAX_BYTES_READ_APART else text
        if invalid * (1 if data.isascii() else LEGACY_VALID_PER_INVALID) <= valid:  # 7 bits: ISO-2022's escapes
            return text
    return _windows_1252(data)


# A declared double-byte charset (GB18030, Big5, Shift_JIS, EUC-KR) read with U+FFFD for its invalid sequences only
# where it reads this many characters validly for each: such a charset reads many a windows-1252 text's pair of bytes
# as a character (a curly quote and the letter after it), and a cp1252 text so labelled lost the first letter of each
# quoted word ("“ini" read "搃ni") where it was read as windows-1252 before.
LEGACY_VALID_PER_INVALID = 4
# The most invalid bytes of a UTF-8 text read one by one as windows-1252 (each a call of Python's error handler, 1 µs);
# past it, U+FFFD.
MAX_BYTES_READ_APART = 100_000
_CP1252_BYTES = "lapor-cp1252-bytes"


def _bytes_as_windows_1252(error: UnicodeError) -> tuple[str, int]:
    """A UTF-8 decoding error handler: invalid bytes as windows-1252 reads them (`_windows_1252`), but a character cut
    short at the text's end, its line end after it at most (a web form's cut, a mail cut short: the start of one after
    no letter, or two or three bytes of one) as one U+FFFD, as a declared charset's invalid sequence is. Within the
    text, bytes that begin a character and do not end it are cp1252's too: "Jos\xe9\xa0Ram\xedrez" (an Outlook
    no-break space) read
    "Jos\ufffdRam\ufffdrez", as did a name at the text's end, or an encoded-word's ("=?utf-8?q?Jos=E9?="), and the
    anonymous report's name removal took neither."""
    assert isinstance(error, UnicodeDecodeError)
    data, start, end = error.object, error.start, error.end
    at_the_end = len(data) - end <= 2 and not data[end:].strip()  # its line end after it at most
    if at_the_end and (end - start > 1 or not data[start - 1:start].isalpha()):
        return "\ufffd", end
    return _windows_1252(data[start:end]), end


codecs.register_error(_CP1252_BYTES, _bytes_as_windows_1252)


def _read_with_replacement(data: bytes, codec: str) -> tuple[int, str, int] | None:
    """The text in `codec` with U+FFFD for each invalid sequence, how many there are, and how many characters outside
    ASCII it reads validly; None when the codec reads no text at all. The codec's own "replace" (a handler of ours
    that counts cost 5 s for 10 MB of bytes mostly invalid); a U+FFFD the bytes hold is no invalid sequence of UTF-8's
    (another charset's, rarer, is counted as one)."""
    try:
        text = data.decode(codec, "replace")
    except (UnicodeError, LookupError):
        return None
    invalid = text.count("\ufffd") - (data.count("\ufffd".encode()) if codec == "utf-8" else 0)
    ascii_characters = len(text.encode("utf-8", "surrogatepass").translate(None, _HIGH_BYTES))
    return invalid, text, len(text) - ascii_characters - invalid


_HIGH_BYTES = bytes(range(0x80, 0x100))


# The five bytes windows-1252 leaves undefined, as the decoder's surrogate escapes, and their Latin-1 characters.
_CP1252_UNDEFINED = {0xDC00 + byte: byte for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def _windows_1252(data: bytes) -> str:
    """windows-1252 as browsers and mail clients read it (the WHATWG encoding of that name): the five bytes it leaves
    undefined are Latin-1's. Python's cp1252 refuses them, and each was a U+FFFD in an old client's undeclared
    Latin-1 text; every byte reads as some character, so this never fails."""
    return data.decode("cp1252", errors="surrogateescape").translate(_CP1252_UNDEFINED)


_C1 = re.compile(r"[\x80-\x9f]")


def _has_raw_bytes(text: str) -> bool:
    """Whether the text holds undeclared 8-bit bytes, as the parser keeps them (surrogate escapes)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


# A run of encoded-words with only whitespace between them, which RFC 2047 6.2 reads as one text.
_WORD = r"=\?[^?\s]{1,40}\?[bBqQ]\?[^?\s]*\?="
_WORD_RUN = re.compile(rf"{_WORD}(?:\s+{_WORD})+")


def _word_chunks(run: str) -> list[tuple[str, bytearray]] | None:
    """The bytes of a run of encoded-words, those of adjacent words in one charset joined (RFC 2047 6.2: the
    whitespace between two words is none of the text, and a character may be split between two); None when a word is
    not in its encoding. One pass: the stdlib's `decode_header` takes time quadratic in the words' count (50,000 took
    10 s)."""
    chunks: list[tuple[str, bytearray]] = []
    try:
        for word in _ONE_WORD.finditer(run):
            charset = word.group(1).lower().split("*", 1)[0]  # without an RFC 2231 language ("utf-8*id")
            data = _word_bytes(word.group(2), word.group(3))
            if chunks and chunks[-1][0] == charset:
                chunks[-1][1].extend(data)
            else:
                chunks.append((charset, bytearray(data)))
    except (ValueError, binascii.Error):  # UnicodeError is a ValueError
        return None
    return chunks


def _joined_words(match: re.Match[str]) -> str:
    """A run of adjacent encoded-words as one word per charset, for a structured field (an address's display name):
    the policy's address parser put a space between two words of a name (mail clients split a long name into several:
    "Siti Á" "mínah" was "Siti Á mínah") and read a character split between two as two U+FFFD. The name then matched
    neither the name signed below an anonymous report, which loses its sender's name, nor the one a reader knows."""
    chunks = _word_chunks(match.group())
    if chunks is None:
        return match.group()
    return " ".join(f"=?{charset}?B?{base64.b64encode(data).decode('ascii')}?=" for charset, data in chunks)


def _decoded_run(match: re.Match[str]) -> str:
    chunks = _word_chunks(match.group())
    if chunks is None:
        return match.group()
    return "".join(decode_text(bytes(data), charset) for charset, data in chunks)


# A run of encoded-words in unstructured text (a Subject, an X- field): each opens a token, as the stdlib reads them.
_WORDS = re.compile(rf"(?<!\S){_WORD}(?:\s+{_WORD})*")


def decoded_words(value: str) -> str:
    """An unstructured field's encoded-words as their text, each run read as one (`_word_chunks`), as body text is
    decoded (`decode_text`). The policy's own reading of them word by word costs time and memory far past their size:
    a subject of 20,000 words in two charsets by turns (660 KB, well within the header limits) took 85 s and 15 GB,
    and any field a guard looks up (`X-Autoreply`, `X-Loop`) is read so."""
    return _WORDS.sub(_decoded_run, value) if "=?" in value else value


_ONE_WORD = re.compile(r"=\?([^?\s]{1,40})\?([bBqQ])\?([^?\s]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes:
    """An encoded-word's bytes: base64 (its padding restored, as the stdlib does) or RFC 2047's Q."""
    if encoding in "bB":
        return base64.b64decode(text + "=" * (-len(text) % 4))
    return quopri.decodestring(text.encode("ascii"), header=True)


# The charset label of an RFC 2047 encoded-word (`=?shift_jis?B?...?=`, `=?windows-874*th?Q?...?=`).
_WORD_CHARSET = re.compile(r"=\?([^?*\s]{1,40})(?=(?:\*[^?\s]*)?\?[bBqQ]\?)")


def _word_charset(match: re.Match[str]) -> str:
    """An encoded-word's charset read as a part's is (CHARSET_ALIASES); iso-8859-1 and ASCII labels stay, read as
    windows-1252 in `header_text` without failing on its five undefined bytes."""
    alias = CHARSET_ALIASES.get(match.group(1).lower())
    return f"=?{alias}" if alias and alias != "windows-1252" else match.group()


def header_text(message: Message, name: str) -> str:
    """A header as text: RFC 2047 decoded by the policy; undeclared 8-bit bytes read as UTF-8, else cp1252. The
    policy reads them as UTF-8 alone, each other byte a U+FFFD: an old client's latin-1 "José" was "Jos\ufffd", in the
    subject and in the name an anonymous report's text loses (workers/own_identity.py), so "José" stayed in it."""
    raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    raw = within_reading(name, raw)
    try:
        if _has_raw_bytes(raw):  # the bytes as body text is read, then the policy's parse of that text
            value = message.policy.header_fetch_parse(name, decode_text(raw.encode("utf-8", "surrogateescape")))
        elif "=?" in raw and raw != (read := _WORD_CHARSET.sub(_word_charset, _WORD_RUN.sub(_joined_words, raw))):
            value = message.policy.header_fetch_parse(name, read)
        else:  # `message.get`, of the field as read
            value = message.policy.header_fetch_parse(name, raw)
    except Exception:  # a header the policy cannot parse at all: read its raw form
        value = raw
    text = str(value)
    if _has_raw_bytes(text):
        text = decode_text(text.encode("utf-8", "surrogateescape"))
    if _C1.search(text):  # an encoded-word labelled iso-8859-1 that is really windows-1252 (as in bodies)
        text = _C1.sub(lambda match: match.group().encode("latin-1").decode("cp1252", "ignore"), text)
    return " ".join(text.split())


def part_bytes(part: Message) -> bytes:
    """The decoded payload; an unknown transfer encoding gives the raw payload (the stdlib's behaviour)."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def unflow(text: str, delsp: bool = False) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next one (the signature line does not).

    The line being joined is kept as its pieces, joined once it ends: grown as one string, it was copied whole at
    each of its lines, time quadratic in a paragraph's length (4 MB of one flowed paragraph took 35 s, and a mail may
    hold 20)."""
    lines: list[str] = []
    pieces: list[str] = []  # the line being joined, its empty pieces left out
    length = 0  # of the line being joined
    for index, line in enumerate(text.replace("\r\n", "\n").split("\n")):
        flows = bool(pieces) and pieces[-1].endswith(" ") and not (length == 3 and "".join(pieces) == "-- ")
        if index and not flows:
            lines.append("".join(pieces))
            pieces, length = [], 0
        elif flows and delsp:  # DelSp: the space that marks the line flowed is not part of the text
            pieces[-1] = pieces[-1][:-1]
            length -= 1
            if not pieces[-1]:
                pieces.pop()
        if line:
            pieces.append(line)
            length += len(line)
    lines.append("".join(pieces))
    return "\n".join(lines)


# An HTML document's own charset (`<meta charset=...>`, `<meta http-equiv="Content-Type" content="...; charset=...">`),
# looked for in its first bytes as browsers prescan them (WHATWG). Web forms and some webmail send HTML with no MIME
# charset and name it there: a form in Shift_JIS, GBK or windows-1251 was read as windows-1252, mojibake.
_META_CHARSET = re.compile(rb"<meta\b[^>]{0,1024}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
META_PRESCAN_BYTES = 4096


def _charset_of(part: Message, data: bytes) -> str | None:
    """The part's charset: its MIME one; for HTML without one that is not UTF-8, its document's own (above)."""
    charset = part.get_content_charset()
    if charset or part.get_content_type() != "text/html":
        return charset
    try:
        data.decode("utf-8")
        return None  # valid UTF-8 is UTF-8, whatever a template's meta says
    except UnicodeDecodeError:
        found = _META_CHARSET.search(data[:META_PRESCAN_BYTES])
        return found.group(1).decode("ascii") if found else None


def part_text(part: Message) -> str:
    data = part_bytes(part)
    text = decode_text(data, _charset_of(part, data))
    if part.get_content_type() == "text/plain" and (part.get_param("format") or "").lower() == "flowed":
        text = unflow(text, (part.get_param("delsp") or "").lower() == "yes")
    return text


# The parts read as the report's text: what mail clients write a citizen's words in. Any other text part is a file,
# named or not: a calendar invitation (its organizer's and attendees' addresses), a contact card (a name, a number, an
# address), a mail's headers (Received lines with the sender's IP address and provider), CSV, XML. Read as text, it
# went into the report as it was, past an anonymous report's own-identity removal (which knows the sender's From and
# header fields, not a card's name); as a file an anonymous report's is withheld (workers/file_kinds.py). There is no
# reader of text/enriched or text/richtext here: they are files too.
BODY_TYPES = frozenset({"text/plain", "text/html"})


def _is_attachment(part: Message) -> bool:
    """Files, not body text: declared attachments and any leaf that is no body text (BODY_TYPES), named or not."""
    if (part.get_content_disposition() or "").lower() == "attachment":
        return True
    if part.get_content_maintype() in ("multipart", "message"):
        return False
    return part.get_content_type() not in BODY_TYPES


def _best_alternative(parts: list[Message]) -> Message | None:
    """The alternative read as the mail's text: its plain text, unless that is blank beside an HTML part with the
    words (some clients send an empty text/plain): read, the mail had no text, and one with "CEK <id>" in its subject
    was answered as a status query, its complaint unfiled."""
    for wanted in ("text/plain", "text/html", "multipart/related", "multipart/mixed"):
        for part in reversed(parts):
            if part.get_content_type() == wanted and (wanted != "text/plain" or part_text(part).strip()):
                return part
    return parts[-1] if parts else None


# The detached signature of a clear-signed mail (multipart/signed, RFC 1847: S/MIME from Outlook and Apple Mail with a
# certificate, as agencies' staff hold one from BSrE; OpenPGP from Thunderbird). It proves who wrote the signed part's
# bytes, which the case store never gets (it gets the text read from them), so it is no evidence there; taken for a
# file, it made a signed `CEK <id>` an addition (a query with a file), a signed mail of no words a report, and every
# signed mail carried an `smime.p7s` an anonymous report's copy withheld.
SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature",
                             "application/pgp-signature"})


@dataclass(slots=True)
class _TnefBudget:
    """How many more files the mail's winmail.dat streams may give (`MAX_TNEF_FILES`), shared by the whole walk."""
    left: int


# The most Content-IDs a mail's text parts are read for, all of them together: a mail has at most
# `email.max_mime_parts` (1000) parts to show. Collected whole, 20 MB of `cid:1 cid:2 ...` made a set of 2 million
# ids, some 180 MB more than the mail's own text.
MAX_SHOWN_CONTENT_IDS = 10_000


@dataclass(slots=True)
class _IdBudget:
    """How many more Content-IDs the mail's text parts may give (`MAX_SHOWN_CONTENT_IDS`), shared by the whole walk."""
    left: int


@dataclass(slots=True)
class _Walk:
    texts: list[str] = field(default_factory=list)
    attachments: list[RawAttachment] = field(default_factory=list)
    content_ids: set[str] = field(default_factory=set)  # those the text parts show (`_shown_content_ids`)
    tnef: _TnefBudget = field(default_factory=lambda: _TnefBudget(MAX_TNEF_FILES))
    ids: _IdBudget = field(default_factory=lambda: _IdBudget(MAX_SHOWN_CONTENT_IDS))


# Where a text part shows an inline part: `src="cid:<id>"` in HTML, `[cid:<id>]` in Outlook's plain text.
_CID_REFERENCE = re.compile(r"cid:([^\s\"'<>()\]]{1,200})", re.IGNORECASE)


# Outlook's plain text in place of an inline image: `[cid:image001.png@01DA1234.56789AB0]`.
_CID_PLACEHOLDER = re.compile(r"\[cid:[^\s\]]{1,200}\]", re.IGNORECASE)


def _shown_content_ids(text: str, budget: _IdBudget) -> set[str]:
    """The Content-IDs the text shows, as many different ones as the mail's `budget` has left, taken from it."""
    found: set[str] = set()
    for match in _CID_REFERENCE.finditer(text):
        if len(found) >= budget.left:
            break
        found.add(match.group(1).lower())
    budget.left -= len(found)
    return found


def without_image_placeholders(text: str) -> str:
    """The text without Outlook's placeholders of inline images (`[cid:...]`): a logo's, in a signature, is none of
    its writer's words."""
    return _CID_PLACEHOLDER.sub("", text) if "[cid:" in text.lower() else text


def _content_id(part: Message) -> str | None:
    ids = message_ids(str(part.get("Content-ID", "")))
    return ids[0].lower() if ids else None


# Controls, zero-width and bidi characters: "bukti\u202efdp.exe" shows as "buktiexe.pdf".
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def visible_name(name: str) -> str:
    """A name as it really reads: no invisible or direction-changing characters, whitespace runs folded."""
    return " ".join(_INVISIBLE.sub("", name).split())


_FILENAME_FIELDS = ("content-disposition", "content-type")
# A quoted name or filename parameter, as written, and whether it is a Windows path, unescaped as old clients and web
# forms write it: a drive's, a share's, a relative one, or a "\" before a letter, digit or dot (RFC 2045's escapes in a
# name are of its quotes, brackets and spaces: "foto \"jalan\".jpg", "Laporan \(final\).pdf").
_QUOTED_NAME_PARAMETER = re.compile(r'(?:file)?name\s*=\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\|\.{1,2}\\)|\\[\w.]")


def _filename(part: Message) -> str | None:
    """A file name, never a path ("../../etc/passwd" is "passwd"): operators see it and save files under it."""
    try:
        name = part.get_filename()
        # A Windows path as old clients and web forms write one, quoted ("C:\Users\budi\foto.jpg"): the policy reads
        # each "\" as RFC 2045's escape of the character after it, and the name was the path's directories run
        # together, "C:Usersbudifoto.jpg". Its last part, read from the field as written (its 8-bit bytes as UTF-8);
        # any other quoted name keeps RFC 2045's reading ("Laporan \(final\).pdf" is "Laporan (final).pdf").
        if name is not None:
            # The field the name came from: Content-Disposition's filename first, as `get_filename` reads it.
            fields = {key.lower(): value for key, value in reversed(list(part.raw_items()))}
            for field in _FILENAME_FIELDS:
                quoted = _QUOTED_NAME_PARAMETER.search(fields.get(field, ""))
                if quoted is not None:
                    if _WINDOWS_PATH.search(quoted.group(1)):
                        last = quoted.group(1).rsplit("\\", 1)[-1]
                        name = last.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    break
    except Exception:
        name = None
    return file_name(name)


def file_name(name: str | None) -> str | None:
    """A name as a file name: visible characters, no directories, not only dots and spaces."""
    name = re.split(r"[/\\]", visible_name(name))[-1].strip() if name else ""
    return name if name.strip(". ") else None


# The most files read out of a mail's winmail.dat streams, all of them together: the store keeps at most 20 a mail
# (`email.max_attachments`) and lists at most 100; a stream of thousands of tiny ones is not read past these, nor
# a mail of 990 winmail.dat parts (each read for 100 files, it gave 99,990 attachments to list and store).
MAX_TNEF_FILES = 100
# Types by extension from Python's own table alone, not the machine's /etc/mime.types: the same on every machine.
_TYPES = mimetypes.MimeTypes()


def _tnef_attachments(data: bytes, budget: _TnefBudget) -> list[RawAttachment]:
    """The files Outlook put inside a winmail.dat (channels/email/tnef.py), as attachments of their own, their type
    by their name's extension; as many as the mail's `budget` has left, taken from it."""
    if budget.left <= 0:
        return []
    found = tnef_files(data, budget.left)
    budget.left -= len(found)
    return [RawAttachment(_TYPES.guess_type(name or "")[0] or "application/octet-stream", name, file.data)
            for file in found for name in [file_name(file.name)]]


def _walk(part: Message, out: _Walk, *, related: bool = False) -> None:
    ctype = part.get_content_type()
    if part.is_multipart() and ctype not in FORWARDED_TYPES:
        children = list(part.iter_parts()) if isinstance(part, EmailMessage) else part.get_payload()
        if ctype == "multipart/alternative":
            best = _best_alternative(children)
            if best is not None:
                _walk(best, out, related=related)
            # The other alternatives' text is the same words again, but their files are kept as any other part's:
            # the inline images of Apple Mail's, the text/calendar beside Outlook's and Google's invitation text.
            for child in children:
                if child is not best:
                    files = _Walk(tnef=out.tnef, ids=out.ids)
                    _walk(child, files, related=related)
                    out.attachments.extend(files.attachments)
                    out.content_ids |= files.content_ids  # the HTML beside the plain text shows the logo
            return
        if ctype == "multipart/signed":  # the signed content, then its detached signature: no file of the report
            children = children[:1] + [child for child in children[1:]
                                       if child.get_content_type() not in SIGNATURE_TYPES]
        for child in children:
            _walk(child, out, related=related or ctype == "multipart/related")
        return
    if ctype in FORWARDED_TYPES:  # message/global: one of non-ASCII addresses (RFC 6532)
        _walk_forwarded(part, out)
        return
    if part.get_content_maintype() == "multipart":
        # A multipart the parser found no parts in (no boundary parameter, or its boundary on no line: a broken
        # mailer's, a script's): its body is all there is, read as plain text. It was neither text nor a file, and
        # the citizen's words were dropped, the report filed with its subject alone.
        out.texts.append(part_text(part))
        return
    if _is_attachment(part) or (related and part.get_content_maintype() == "image"):
        disposition = (part.get_content_disposition() or "").lower()
        inline = disposition == "inline" or (related and disposition != "attachment") or bool(part.get("Content-ID"))
        name, data = _filename(part), part_bytes(part)
        if is_tnef(ctype, name):  # its files first, within the mail's budget of stored bytes before the stream's copy
            out.attachments.extend(_tnef_attachments(data, out.tnef))
        # a winmail.dat is kept as sent too: what it holds beside its files is not read
        out.attachments.append(RawAttachment(ctype, name, data, inline=inline, content_id=_content_id(part)))
        return
    if ctype in BODY_TYPES:
        text = part_text(part)
        if "cid:" in text.lower():
            out.content_ids |= _shown_content_ids(text, out.ids)
        out.texts.append(html_to_text(text) if ctype == "text/html" else text)


def _walk_forwarded(part: Message, out: _Walk) -> None:
    payload = part.get_payload() if part.is_multipart() else None  # a leaf's is read as bytes (`_encoded_forwards`)
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        out.attachments.append(RawAttachment("message/rfc822", _filename(part), part_bytes(part)))
        return
    header = [FORWARD_MARKER]
    for name in ("From", "Date", "Subject"):
        value = header_text(inner, name)
        if value:
            header.append(f"{name}: {value}")
    inner_walk = _Walk(tnef=out.tnef, ids=out.ids)
    _walk(inner, inner_walk)
    out.texts.append("\n".join(header) + "\n\n" + "\n\n".join(t for t in inner_walk.texts if t.strip()))
    out.attachments.extend(inner_walk.attachments)


# Where quoted history starts: "On ... wrote:", "Pada ... menulis:", Outlook's separators and header blocks. Each is
# told by what the mail client writes and a citizen does not: an attribution names the quoted mail's address or has the
# quote (">") below it; a header block has a Sent/Dikirim or Subject/Subjek field (a memo or a letter pasted into the
# mail has Perihal or Hal); Outlook's rule of underscores has a header block below it. A citizen's own "Pada 5 Mei
# kepala desa menulis:" or a pasted "Kepada: / Dari: / Tanggal: / Perihal:" nota dinas is the report, and stays.
_ATTRIBUTION = re.compile(r"^\s*(?:(On|Am|Le|El|Op)\s.+(wrote|schrieb|a écrit|escribió|schreef)|Pada\s.+menulis)"
                          r"\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*(On|Pada)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(wrote|menulis)\s*:\s*$", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*(Original Message|Pesan Asli)\s*-{2,}\s*$", re.IGNORECASE)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*(From|Dari)\s*:\s.+$")
_HEADER_FIELDS = re.compile(r"^\s*(Sent|Dikirim|Subject|Subjek)\s*:", re.IGNORECASE)
_ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+")


def _is_header_block(lines: list[str], index: int) -> bool:
    """A quoted mail's header block: "From:"/"Dari:" with a Sent/Dikirim or Subject/Subjek field in the next lines
    (Outlook writes From, Sent, To, Cc, Subject; Outlook for Mac and iOS From, Date, To, Subject)."""
    return bool(_HEADER_FROM.match(lines[index])) and any(
        _HEADER_FIELDS.match(item) for item in lines[index + 1:index + 5])


def _quote_start(lines: list[str], index: int) -> int:
    """How many lines the mark of quoted history at `index` spans (0: none there)."""
    line = lines[index]
    if _ORIGINAL_MESSAGE.match(line) or _is_header_block(lines, index):
        return 1
    if _OUTLOOK_RULE.match(line):
        below = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
        return 1 if below is not None and _is_header_block(lines, below) else 0
    if _ATTRIBUTION.match(line):
        span = 1
    elif _ATTRIBUTION_START.match(line) and index + 1 < len(lines) and _ATTRIBUTION_END.search(lines[index + 1]):
        span = 2  # Gmail wraps a long "On ... wrote:" over two lines
    else:
        return 0
    attribution = " ".join(lines[index:index + span])
    below = next((lines[i] for i in range(index + span, len(lines)) if lines[i].strip()), "")  # no copy of the rest
    return span if _ADDRESS.search(attribution) or below.lstrip().startswith(">") else 0


# Where a forwarded message starts (Gmail, Thunderbird, Apple Mail, in English and Indonesian): it is the report
# (a village head forwarding a citizen's mail), kept whole. Yahoo's text part may carry the header's fields on the
# marker's line ("----- Forwarded Message ----- From: LAPOR! <...> To: ... Subject: ...").
_FORWARD_STARTS = [
    re.compile(r"^\s*-{2,}\s*(Forwarded message|Pesan terusan|Pesan yang diteruskan)\b[^-]*-{2,}"
               r"\s*(?:(?:From|Dari)\s*:.*)?$", re.IGNORECASE),
    re.compile(r"^\s*(Begin forwarded message|Awal pesan yang diteruskan)\s*:\s*$", re.IGNORECASE),
]
# The signature delimiter (RFC 3676 4.3): "-- ", dash dash space, alone on its line, as Gmail, Thunderbird, K-9 and
# mutt write it (and html_text keeps it from an HTML signature); its space a no-break space too, as an HTML editor
# keeps a space typed at a line's end ("--&nbsp;"). A line of "--" alone is the citizen's: a divider, a dash typed on
# its own line, with the report below it (an anonymous mail's signature below one is withheld from the case store,
# workers/own_identity.py).
_SIGNATURE_DELIMITER = re.compile(r"--[ \u00a0][ \t\u00a0]*")


def _without_signature(text: str, *, keep_if_empty: bool) -> str:
    """The text above the last signature delimiter: what a citizen pasted with someone's signature in it (an
    official's mail, a letter) stays, only the signature at the end goes. A text that is only a signature keeps it
    (it is all there is). A flag word on a line of its own opening or closing the signature (`_signature_flag_line`:
    "-- " / "anonim", signed so) stays, below the text: it closes the body as the flag word the help teaches, and
    cut with the signature, the mail was a named report, its sender's address at the agency."""
    lines = text.split("\n")
    last = next((index for index in range(len(lines) - 1, -1, -1) if _SIGNATURE_DELIMITER.fullmatch(lines[index])),
                None)
    if last is None:
        return text
    trimmed = "\n".join(lines[:last])
    if keep_if_empty and not trimmed.strip():
        return text
    flag = _signature_flag_line(lines[last + 1:])
    return f"{trimmed.rstrip()}\n\n{flag}" if flag else trimmed


def only_a_signature(text: str) -> bool:
    """Whether the text is only a signature: its delimiter with nothing above it (`_without_signature` keeps such a
    text whole, it being all there is), and no flag word opening or closing it ("-- " / "anonim" is the citizen's)."""
    rest = _without_signature(text, keep_if_empty=False)
    return rest != text and not rest.strip()


# The longest line of a signature read for a flag word alone ("ANONIM", "#anonim", "Rahasia."): a name or an address
# is no flag word, and a long line is not read.
_SIGNATURE_FLAG_CHARS = 40


def _signature_flag_line(signature: list[str]) -> str | None:
    """The first or last line of a signature when it is only flag words of the keyword grammar ("anonim",
    "ANONIM.", "#rahasia", "Anonim, rahasia"), stripped; None otherwise."""
    filled = [line.strip() for line in signature if line.strip()]
    for line in dict.fromkeys(filled[:1] + filled[-1:]):
        if len(line) > _SIGNATURE_FLAG_CHARS:
            continue
        parsed = parse_text(line)
        if parsed.action is Action.REPORT and not parsed.text.strip() and (parsed.anonymous or parsed.confidential):
            return line
    return None


# What mail apps write below the citizen's words, by their own names only ("Sent from my iPhone", "Dikirim dari iPhone
# saya", "Sent from Outlook", "Get Outlook for Android", "Dikirim dari Yahoo Mail di Android", "Sent from my Samsung
# Galaxy smartphone.", "Sent from Mail for Windows", "Dikirim dari Email untuk Windows"): the app's line, not the
# citizen's. "Dikirim dari Desa Sukamaju" names no app and stays.
_DEVICE = (r"(?:iphone|ipad|ipod|android(?:\s+(?:phone|device|tablet))?"
           r"|(?:samsung\s+)?galaxy(?:\s+(?:smartphone|device))?|samsung\s+(?:mobile|smartphone|device)"
           r"|huawei(?:\s+(?:phone|mobile))?|xiaomi|redmi|oppo|vivo|realme"
           r"|blackberry(?:\s+device)?|mobile(?:\s+(?:device|phone))?|phone|smartphone)")
_APP = (r"(?:outlook(?:\.com)?|yahoo\s+mail|gmail(?:\s+mobile)?|(?:e-?mail|mail|surel)(?=\s+(?:for|untuk)\s+windows)"
        r"|proton\s*mail(?:\s+(?:mobile|secure\s+email))?|spark)"
        r"(?:\s+(?:for|on|untuk|di|pada)\s+(?:android|ios|iphone|ipad|windows(?:\s+1[01])?))?")
_CLIENT_FOOTER = re.compile(
    rf"(?:sent\s+(?:from|with|via)\s+(?:my\s+)?(?:{_DEVICE}|{_APP})"
    rf"|dikirim\s+(?:dari|dengan|melalui|lewat)\s+(?:(?:ponsel|perangkat|hp)(?:\s+(?:cerdas|seluler|pintar))?\s+)?"
    rf"(?:{_DEVICE}|{_APP})(?:\s+saya)?"
    rf"|dikirim\s+(?:dari|dengan|melalui|lewat)\s+(?:ponsel|perangkat|hp)(?:\s+(?:cerdas|seluler|pintar))?\s+saya"
    rf"|(?:get|dapatkan)\s+outlook\s+(?:for|untuk)\s+(?:android|ios))[\s.!]*",
    re.IGNORECASE)
# A link as html_text writes it ("Sent from Outlook (https://aka.ms/...)"), in Markdown ("Sent from
# [Outlook](https://aka.ms/...)"), or as Outlook's text part does ("Get Outlook for Android<https://aka.ms/ghei36>"):
# its words are what the reader sees.
_LINKED = re.compile(r"\[([^\]\n]*)\]\([^)\s]*\)|<https?://[^>\s]*>|\s\(https?://[^)\s]*\)")


def _is_client_footer(line: str) -> bool:
    """Whether the line is only an app's footer; a long line is none (and is not scanned for links: a line of
    "[" would take the link pattern time quadratic in its length)."""
    if len(line) > 300:
        return False
    return bool(_CLIENT_FOOTER.fullmatch(_LINKED.sub(lambda match: match.group(1) or "", line).strip()))


def _without_client_footer(text: str) -> str:
    """The text without the mail app's lines at its end ("Sent from my iPhone"), however many; one in the middle of
    the text is left as it is."""
    lines = text.rstrip().split("\n")
    while lines and (not lines[-1].strip() or _is_client_footer(lines[-1])):
        lines.pop()
    return "\n".join(lines)


def trim_quoted(text: str, *, forwarded: bool = False) -> str:
    """Drop the quoted history, the signature and the mail app's footer ("Sent from my iPhone") of a reply; a
    forwarded message is kept whole (it is the report).

    In a forward (`forwarded`: the subject says so) Outlook's header block starts the forwarded message, not
    quoted history, and the forwarder's signature above it does not cut it off."""
    return _trimmed(text, forwarded=forwarded)[0]


def _trimmed(text: str, *, forwarded: bool = False, ours: bool = False) -> tuple[str, bool]:
    """`trim_quoted`'s text, and whether it is quoted history alone: the mail opens with the mark of a quote (an
    attribution, Outlook's header block, separator or rule) before any words of the sender's, and holds none of theirs
    below an attribution's `>` lines, or follows Outlook's block (whose quote has no `>`: what follows it is the quoted
    mail).

    `ours`: the mail answers one of our replies, so a quote that holds only our reply's texts (`_our_quote_end`) is
    passed over wherever it stands, and the sender's words above, between and below it are read: Outlook quotes our
    reply with no `>` below its header block, and a citizen who wrote below it (or below Gmail's quote, having written
    above it too) lost those words, their mail taken for quoted history alone.

    A forwarded message that holds only our reply's texts (a citizen forwarding our acknowledgement back to us, under
    Gmail's, Yahoo's or Apple Mail's marker, or, in a mail whose subject says it is a forward, Outlook's header block)
    is passed over too, in any mail: it is none of its sender's words, and was filed as their report. Any other
    forwarded message is the report, kept whole."""
    lines = text.split("\n")
    opened_with_quote = False  # a quote's mark came before any words of the sender's
    outlook_history = False  # ... and it was Outlook's: no ">" tells its quoted mail from what follows
    kept: list[str] = []
    forward: list[str] = []
    skip = 0
    resume = 0  # the first line below a quote of our reply
    own_text = False  # whether `kept` holds a line of the citizen's own (not blank, not a ">" quote)
    for index, line in enumerate(lines):
        if index < resume:
            continue
        if line.strip() == FORWARD_MARKER or any(pattern.match(line) for pattern in _FORWARD_STARTS):
            end = _our_quote_end(lines, index + 1)
            if end is not None:  # our reply sent back to us: none of its writer's words
                resume = end
                continue
            forward = lines[index:]
            break
        if skip:  # the second line of an attribution a bottom-posted reply starts with
            skip -= 1
            continue
        span = _quote_start(lines, index)
        if span:
            end = _our_quote_end(lines, index + span) if ours or forwarded else None
            if end is not None:
                resume = end
                continue
            if forwarded:
                forward = lines[index:]
                break
            if own_text:
                break
            opened_with_quote = True
            outlook_history = outlook_history or not (_ATTRIBUTION.match(lines[index])
                                                      or _ATTRIBUTION_START.match(lines[index]))
            skip = span - 1
            continue  # a bottom-posted reply: the quote comes first, the answer below it
        kept.append(line)
        own_text = own_text or (bool(line.strip()) and not line.lstrip().startswith(">"))
    # Interleaved ">" lines are quotes too; a text that is only quotes keeps them.
    unquoted = [line for line in kept if not line.lstrip().startswith(">")]
    own = "\n".join(unquoted if any(line.strip() for line in unquoted) else kept)
    history_only = opened_with_quote and not forward and (
        outlook_history or not any(line.strip() for line in unquoted))
    own = _without_client_footer(_without_signature(own, keep_if_empty=not forward)).strip()
    return "\n\n".join(part for part in (own, "\n".join(forward).strip()) if part), history_only


# The most quotes near a tag `our_quoted_tags` reads for our reply: an answer quotes a few mails, ours among them.
QUOTES_LOOKED_AT = 64


def our_quoted_tags(text: str, *, forwarded: bool = False) -> tuple[str, ...]:
    """`ParsedMail.quoted_tags` of a mail's text: the valid tags (ASCII digits, each once, at most MAX_NAMED_REPORTS
    + 1) inside each quote of our reply (`_our_quote_end`) below a quote's mark (`_quote_start`: an attribution,
    Outlook's header block) or opening a run of `>` lines (blank lines between them too) with no mark above it, read
    without the quote's `>` marks (a client wraps a tag over two quoted lines). Not in a forward: none below a
    forwarded message's marker (that message's quotes are its writer's, not the sender's), and none in a mail whose
    subject says it is one (`forwarded`), where Outlook's header block starts the forwarded message: a forward shares
    our reply, where a quote answers it. Our reply is looked for only where a tag stands within its reach below
    (`_tag_lines`), in at most QUOTES_LOOKED_AT quotes, and a run of `>` lines is passed as a whole: most mail has
    no tag, and one of thousands of quotes is read in time linear in its length, not each quote's next lines again
    (whether a line opens a text of ours is looked up in every text we send, 16 µs a line: a mail of 5 MB of short
    quotes, each with a tag, took 6 s). Past the bound the mail names its report by no quote: filed as before."""
    if forwarded:
        return ()
    lines = text.split("\n")
    tag_lines = _tag_lines(lines)
    found: dict[str, None] = {}

    def quoted(line: str) -> bool:
        return line.lstrip().startswith(">")

    index, looked = 0, 0
    while tag_lines and index < len(lines) and len(found) <= MAX_NAMED_REPORTS and looked < QUOTES_LOOKED_AT:
        line = lines[index]
        if line.strip() == FORWARD_MARKER or any(pattern.match(line) for pattern in _FORWARD_STARTS):
            break
        span = _quote_start(lines, index)
        start, stop = index + span, index + max(span, 1)
        if not span and quoted(line):
            for later in range(index + 1, len(lines)):
                if quoted(lines[later]):
                    stop = later + 1
                elif lines[later].strip():
                    break
        near = bisect.bisect_left(tag_lines, start)
        if (span or quoted(line)) and near < len(tag_lines) and tag_lines[near] < start + OUR_QUOTE_LINES:
            looked += 1
            end = _our_quote_end(lines, start)
            if end is not None and (span or end <= stop):
                found.update(dict.fromkeys(body_tags("\n".join(item.lstrip(" \t>") for item in lines[start:end]))))
                stop = max(stop, end)
        index = stop
    return tuple(found)


def _tag_lines(lines: list[str]) -> list[int]:
    """The index of each line where a valid `[LAPOR #<id>]` starts, read without quotes' `>` marks, in order."""
    dequoted = "\n".join(line.lstrip(" \t>") for line in lines)
    found: list[int] = []
    line, position = 0, 0
    for match in SUBJECT_TAG.finditer(dequoted):
        if is_valid_tracking_id(match.group(1)):
            line += dequoted.count("\n", position, match.start())
            position = match.start()
            found.append(line)
    return found


# How far below a quote's mark our reply is looked for: its header block (five or six fields) and its texts (the
# longest pair some 1,000 characters), wrapped by a client at 72 columns and quoted with ">", are some 25 lines, and
# the lines naming files not kept (`reply.not_kept_lines`, at most `store.MAX_NAMED_NOT_KEPT` names a language) some
# 1,700 characters more, the lines telling a text was cut (`reply.text_cut_line`) 600 more: at most some 3,000
# characters and 60 lines wrapped at 76 columns; the bound keeps a mail of marks from reading far ahead of each. (At
# 2,000 characters, an Outlook quote of an acknowledgement naming five files was read as the citizen's words past
# them; at 60 lines, one naming five files and a text cut.)
OUR_QUOTE_LINES = 80
OUR_QUOTE_CHARS = 5000
# A field of the header block a mail client writes above the mail it quotes or forwards (Outlook, Gmail, Yahoo, Apple
# Mail, Thunderbird), in English, Indonesian and the languages `_ATTRIBUTION` reads. These names only: any line opening
# with a word and a colon was taken for one, and a citizen's "Tambahan: lampu masih mati" typed below a forward's
# header block was dropped with our acknowledgement below it, the mail filed as its subject alone.
_QUOTED_FIELD = re.compile(r"^\s*(From|Dari|Sent|Dikirim|Date|Tanggal|To|Kepada|Ke|Cc|Bcc|Subject|Subjek|Reply-To"
                           r"|Von|Gesendet|An|Betreff|Datum|De|Envoy[eé]|À|Objet|Enviado|Para|Asunto|Fecha"
                           r"|Van|Verzonden|Aan|Onderwerp)[ \t]*:(?:\s|$)", re.IGNORECASE)


def _our_quote_end(lines: list[str], start: int) -> int | None:
    """The index of the first line below a quote, starting at `start` (below its mark), that holds nothing but our
    replies' texts (`texts.our_paragraph`), in `>` lines or Outlook's header block and lines; None for any other
    quote."""
    window: list[str] = []
    size = 0
    for line in lines[start:start + OUR_QUOTE_LINES]:
        line = line.lstrip(" \t>")  # a quote's ">" marks; none of our texts opens with one
        if not window and (not line.strip() or _QUOTED_FIELD.match(line)):
            start += 1  # Outlook's header block (From, Sent, To, Subject), and blank lines
            continue
        if not window and not opens_our_text(line):
            return None
        window.append(line)
        size += len(line)
        if size > OUR_QUOTE_CHARS:
            break
    quoted = "\n".join(window)
    end = 0
    while (match := our_paragraph().match(quoted, end)) is not None and match.end() > end:
        end = match.end()
    return start + quoted.count("\n", 0, end) + 1 if end else None


# A msg-id written without its angle brackets (`Message-ID: abc123@mail.example.id`), as some small mail servers and
# old clients write it: one word, one "@" with something on each side, no controls, brackets or quotes.
_BARE_MESSAGE_ID = re.compile(r'[^\s\x00-\x1f\x7f<>@()"\\,;]+@[^\s\x00-\x1f\x7f<>@()"\\,;]+')


def message_ids(value: str) -> list[str]:
    """The msg-ids of a Message-ID, In-Reply-To, References or Content-ID field. A field with none in angle brackets
    whose every word (comments aside) is a bare msg-id gives those words: such a Message-ID read as none, and our
    reply had no In-Reply-To or References, so the citizen's client did not thread it. Anything else (obsolete
    phrases, "your mail of ...", an id with a space) is no msg-id."""
    bracketed = [item.strip() for item in re.findall(r"<([^<>\s]+)>", value)]
    if bracketed or "<" in value:
        return bracketed
    words = without_comments(value).split()
    return words if all(_BARE_MESSAGE_ID.fullmatch(word) for word in words) else []


# The longest address field (From, Reply-To) parsed, by default (`email.max_address_field_bytes`). The stdlib's
# address parser takes time quadratic in a field's length (a From of 64 KiB, 1,300 folded addresses: 0.65 s of CPU,
# 16 KiB: 0.09 s, 4 KiB: 0.02 s), and a citizen's mail names one address there, a few at most: a longer From is
# malformed input, a longer Reply-To is not read.
MAX_ADDRESS_FIELD = 4096


# The header fields besides From that name a mail's sender, by address or display name: the one list the gateway
# reads them from. An anonymous report's text and subject lose whatever of them the sender also wrote there (a closing
# with the Sender's name, a Reply-To typed out, a read-receipt address), as they lose the From's; their values reach
# neither the case store nor a log line. Fields that name others stay out: To/Cc, Mail-Followup-To (a list's address
# and everyone in the thread), List-* (the list's; such mail is not reported at all).
SENDER_HEADERS = (
    "Sender",                       # RFC 5322: who sent it, when not the From (a secretary, an office account)
    "Reply-To",                     # where the sender wants answers (our replies go there)
    "Mail-Reply-To",                # mutt's and Gnus's Reply-To for the author alone
    "Return-Path",                  # the envelope sender, as the delivering server recorded it
    "X-Envelope-From",              # the same, as qmail, Courier and some filters record it
    "X-Original-From",              # the From a mailing list or a group rewrote (DMARC), or a forwarder kept
    "X-Original-Sender",            # Google Groups: the original author
    "X-Google-Original-From",       # Gmail's "send mail as": the mailbox behind the From
    "X-Sender",                     # Roundcube, Eudora, Pine: the account that sent it
    "X-Authenticated-Sender",       # cPanel/Exim submission: the account that logged in to send it
    "Resent-From",                  # a mail sent on again (RFC 5322 3.6.6): who sent it on
    "Resent-Sender",
    "Resent-Reply-To",
    "Disposition-Notification-To",  # read receipts (RFC 8098) go to the sender
    "Return-Receipt-To",            # the same, an older form
    "X-Confirm-Reading-To",         # the same, Pegasus and old Outlook
    "Errors-To",                    # bounces go to the sender (obsolete, still written)
)
_SENDER_HEADER_NAMES = frozenset(name.lower() for name in SENDER_HEADERS)
# The most addresses and names kept of them: a sender has a handful, and each becomes a pattern matched at every
# position of the report's text (a Reply-To of 4 KB holds some hundred addresses).
MAX_SENDER_IDENTITIES = 16


def sender_identities(message: Message, max_address_field: int = MAX_ADDRESS_FIELD) -> SenderIdentities:
    """The addresses (lowercased) and display names SENDER_HEADERS give, and a From's authors after its first, the
    first field of each name only (a mail sent on again names its latest sender first); a field longer than
    `max_address_field` is not read, as a Reply-To is not (the address parser is quadratic in its length)."""
    first: dict[str, str] = {}
    for key, raw in message.raw_items():
        name = key.lower()
        if name in _SENDER_HEADER_NAMES and name not in first:
            first[name] = raw
    addresses: dict[str, None] = {}
    names: dict[str, None] = {}
    fields = [getaddresses([header_text(message, header)]) for header in SENDER_HEADERS
              if (raw := first.get(header.lower())) is not None and len(raw) <= max_address_field]
    if _raw_length(message, "From") <= max_address_field:
        # A From of several authors (RFC 5322 3.6.2) names each: the first is the mail's sender, the others wrote it
        # with them and sign it ("Salam,\nAni Wijaya"), yet an anonymous report's text kept their names and addresses.
        # After the sender fields: the Sender RFC 5322 asks of such a mail names who sent it, and a petition's authors
        # first filled the cap without them.
        fields.append(getaddresses([header_text(message, "From")])[1:])
    for found in fields:
        for display_name, address in found:
            if "@" in address and len(addresses) < MAX_SENDER_IDENTITIES:
                addresses.setdefault(address.strip().lower(), None)
            if display_name.strip() and len(names) < MAX_SENDER_IDENTITIES:
                names.setdefault(" ".join(display_name.split()), None)
    return SenderIdentities(tuple(addresses), tuple(names))


# One of our own Message-IDs as a References field writes it (`channels.email.guards.OUR_MESSAGE_ID` reads it), found
# in linear time; and the most of them taken from a field's part not read (our replies keep the last 20).
_OUR_ID_IN_FIELD = re.compile(r"<\s*(lapor-[0-9A-Za-z]{1,20}-[0-9a-f]{1,64}@[^<>\s]{1,255})\s*>", re.IGNORECASE)
MAX_OUR_IDS_BEYOND = 20


def _ours_before_reading(message: Message) -> list[str]:
    """Our own Message-IDs in the part of a References field longer than MAX_FIELD_READ that is not read (its start):
    a follow-up whose thread named our reply among 10,000 others was filed as a new report, and one answering an
    anonymous report lost its anonymity."""
    raw = next((value for key, value in message.raw_items() if key.lower() == "references"), "")
    unread = raw[:len(raw) - len(within_reading("References", raw))]
    return [found.group(1) for found in _OUR_ID_IN_FIELD.finditer(unread)][-MAX_OUR_IDS_BEYOND:]


def _raw_length(message: Message, name: str) -> int:
    """The longest raw value of a header, read without the policy's parse."""
    return max((len(value) for key, value in message.raw_items() if key.lower() == name.lower()), default=0)


# A field's quoted strings (but a quoted local part, `"a b"@x`) and comments, which may hold anything (an address in
# brackets too), and the addresses it writes in angle brackets outside them: `name <address>`'s mailbox.
_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"(?!\s*@)')
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
# (an obsolete source route, `<@relay:a@b>`, is not the address; a quoted local part may hold spaces)
_ANGLE_ADDRESS = re.compile(r'<\s*(?:@[^<>\s:]*:)?((?:"(?:[^"\\]|\\.)*"|[^<>\s"@]+)@[^<>\s]+)\s*>')


def without_comments(value: str) -> str:
    """A structured field's value without its comments (RFC 5322 3.2.2), each a space: "no (a person)" is "no "."""
    while (uncommented := _COMMENT.sub(" ", value)) != value:  # a comment may hold comments
        value = uncommented
    return value


def _raw_field(message: Message, name: str) -> str:
    """The first `name` field as written, unfolded (RFC 5322 2.2.3): its undeclared 8-bit read as header_text reads
    it, its encoded-words not decoded. Folded, a quoted display name of encoded-words split over two lines (Outlook's,
    a long name's) was read by `getaddresses` as no address, and the mail was quarantined for having no sender."""
    raw = _FOLD.sub("", next((value for key, value in message.raw_items() if key.lower() == name.lower()), ""))
    return decode_text(raw.encode("utf-8", "surrogateescape")) if _has_raw_bytes(raw) else raw


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _angle_addresses(raw: str) -> list[str]:
    """The addresses a raw field (`_raw_field`) writes in angle brackets, outside quoted strings and comments."""
    return [address.lower() for address in _ANGLE_ADDRESS.findall(without_comments(_QUOTED_STRING.sub('""', raw)))]


def _written(addresses: list[tuple[str, str]], raw: str) -> list[tuple[str, str]]:
    """Those of `addresses` (read from the decoded field) that the raw field (`_raw_field`) writes as addresses. An
    encoded-word (RFC 2047) is text, never an address or a part of one (RFC 2047 5): `=?utf-8?q?victim=40gov=2Eid?=`
    names no mailbox for a mail client, nor a domain for DMARC. Decoded first and read as addresses after, it was the
    mail's sender (adding to victim@gov.id's anonymous report), or, holding "a@x, b@y", a Reply-To our reply went to
    as two recipients, past each one's hourly cap."""
    if "=?" not in raw:
        return addresses
    written = {address.strip().lower() for _, address in getaddresses([raw])}
    return [(display, address) for display, address in addresses if address.strip().lower() in written]


def mailboxes(message: Message, name: str) -> list[tuple[str, str]]:
    """The (display name, address) pairs of an address field (From, Reply-To), its mailbox first as mail clients
    and DMARC read it: the address in angle brackets. "victim@gov.id <me@evil.example>" is not RFC 5322 (an
    unquoted display name holds no "@"); the stdlib read it as two addresses, or the policy as victim@gov.id alone,
    and the mail was taken as victim@gov.id's while its author, its DMARC check and every mail client's answer are
    me@evil.example's: it added to victim@gov.id's anonymous report, and our reply went to victim@gov.id. A field
    whose mailbox is no address (a control, zero-width or bidi character in it: not `isprintable`) has none, nor has
    one whose address is an encoded-word (`_written`). Such a character was checked only in a bracketed address
    behind another: a From of one address ending in a NUL was filed as a sender with the NUL, one with a zero-width
    space in it as a sender an operator reads as victim@gov.id, and our reply went to either as written."""
    raw = header_text(message, name)
    addresses = [(display, address) for display, address in getaddresses([raw]) if "@" in address]
    if not addresses:
        display, address = parseaddr(raw)
        addresses = [(display, address)] if "@" in address else []
    raw_field = _raw_field(message, name)  # read once for both checks
    addresses = _written(addresses, raw_field)
    bracketed = _angle_addresses(raw_field)
    if addresses and bracketed and addresses[0][1].strip().lower() not in bracketed:
        first = bracketed[0]
        return [("", first)] if "@" in first and first.isprintable() else []
    return addresses if not addresses or addresses[0][1].isprintable() else []


# The longest subject kept, in characters: what the case store gets, the reply's is shorter still
# (`reply.MAX_REPLY_SUBJECT`). A subject is one line, a few words; RFC 5322 2.1.1 holds a line to 998 characters.
MAX_SUBJECT_CHARS = 1000


def mail_subject(message: Message) -> str:
    """The Subject as text (`header_text`), at most MAX_SUBJECT_CHARS: a longer one, or one whose field was longer
    than is read (MAX_FIELD_READ), is cut at a word and ends in "…"."""
    first = next((value for key, value in message.raw_items() if key.lower() == "subject"), "")
    return cut_at_word(header_text(message, "Subject"), MAX_SUBJECT_CHARS, cut=len(first) > MAX_FIELD_READ)


def _sender(message: EmailMessage, max_address_field: int) -> tuple[str, str | None]:
    if _raw_length(message, "From") > max_address_field:
        raise RejectedInput(f"From header longer than {max_address_field} characters", reason="from_too_long")
    addresses = mailboxes(message, "From")
    if not addresses:
        raise RejectedInput("mail has no usable From address", reason="no_sender")
    name, address = addresses[0]
    return address.strip().lower(), (name.strip() or None)


def parse_mail(raw: bytes, max_parts: int = 0, max_depth: int = 0, *, max_header_lines: int = 0,
               max_header_bytes: int = 0, max_mime_field_bytes: int = MAX_MIME_FIELD_BYTES,
               max_address_field: int = MAX_ADDRESS_FIELD) -> ParsedMail:
    """Everything the channel needs from one raw mail; RejectedInput when it cannot be read at all, TooManyParts
    when it has more than `max_parts` MIME parts, TooDeep when they nest more than `max_depth` levels,
    TooManyHeaderLines or HeaderTooLarge when its headers are over `max_header_lines` lines or `max_header_bytes`
    bytes (0: no limit)."""
    if not raw.strip():
        raise RejectedInput("empty message", reason="empty")
    try:
        return _read_mail(parse_bytes(raw, max_parts, max_depth, max_header_lines=max_header_lines,
                                      max_header_bytes=max_header_bytes, max_mime_field_bytes=max_mime_field_bytes),
                          max_address_field)
    except GatewayError:
        raise
    except Exception as error:
        # The stdlib's header parser, which records defects instead of raising, raises on a few malformed MIME
        # parameters ("Content-Type: text/plain; name*0*": IndexError): a mail it cannot read is malformed input.
        raise RejectedInput(f"unreadable MIME headers: {type(error).__name__}", reason="unreadable_mime") from error


def _read_mail(message: EmailMessage, max_address_field: int) -> ParsedMail:
    if not list(message.keys()):
        raise RejectedInput("message has no headers", reason="no_headers")
    address, name = _sender(message, max_address_field)
    walk = _Walk()
    _walk(message, walk)
    attachments = [replace(item, referenced=True) if item.content_id in walk.content_ids else item
                   for item in walk.attachments]
    # Each part's CRLF read as "\n" before its blank lines around are cut: cut first, a part's last line kept the "\r"
    # of the mail's CRLF, and our reply quoted at an answer's end (Outlook's top-posting) was no quote of ours there.
    body = "\n\n".join(text.replace("\r\n", "\n").strip("\n") for text in walk.texts if text.strip())
    message_id = message_ids(header_text(message, "Message-ID"))
    reply_to = [a for _, a in mailboxes(message, "Reply-To")] \
        if _raw_length(message, "Reply-To") <= max_address_field else []
    subject = mail_subject(message)
    forwarded = bool(FORWARD_SUBJECT.match(subject))
    text = trim_quoted(body, forwarded=forwarded)
    in_reply_to = message_ids(header_text(message, "In-Reply-To"))
    references = message_ids(header_text(message, "References"))
    if _raw_length(message, "References") > MAX_FIELD_READ:
        references = _ours_before_reading(message) + references
    answer_text: str | None = None
    tagged_text: str | None = None
    quoting_text: str | None = None
    tagged = bool(SUBJECT_TAG.search(subject))
    answers = replied_to(in_reply_to, references)
    quoted_tags = our_quoted_tags(body, forwarded=forwarded) if not tagged else ()
    if answers or tagged or quoted_tags:  # one reading serves all three
        answer, history_only = _trimmed(body, forwarded=forwarded, ours=True)
        answer_text = ("" if history_only else answer) if answers else None
        tagged_text = answer if tagged else None
        quoting_text = answer if quoted_tags else None
    return ParsedMail(
        message=message,
        message_id=message_id[0] if message_id else None,
        sender_address=address,
        sender_name=name,
        subject=subject,
        text=text,
        answer_text=answer_text,
        tagged_text=tagged_text,
        in_reply_to=in_reply_to,
        references=references,
        reply_to=reply_to[0].lower() if reply_to else None,
        attachments=attachments,
        sender_identities=sender_identities(message, max_address_field),
        body_tags=body_tags(body),
        quoted_tags=quoted_tags,
        quoting_text=quoting_text,
        content_digest=content_digest(subject, body, attachments),
    )


def content_digest(subject: str, body: str, attachments: list[RawAttachment]) -> str:
    """A digest of what a mail says, as the parse reads it alone: its subject, its text before any trimming (the
    plain alternative before the HTML, a forwarded mail's From, Date and Subject with its words) and its files' bytes.
    Not its body as sent: a relay that downgrades 8BITMIME re-encodes it (quoted-printable), and Exchange writes a
    mailbox's MIME anew when it moves (an HTML alternative re-wrapped or added; a new UIDVALIDITY, the poller reading
    the folder again): the same mail, another body."""
    digest = hashlib.sha256(f"{subject}\0{body}".encode("utf-8", "surrogatepass"))
    for attachment in attachments:
        digest.update(b"\0" + hashlib.sha256(attachment.data).digest())
    return digest.hexdigest()
