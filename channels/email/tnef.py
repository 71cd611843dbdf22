"""The files inside Outlook's `winmail.dat` (TNEF, [MS-OXTNEF]).

Outlook sends a mail in its rich-text format as a TNEF stream, `application/ms-tnef`, named `winmail.dat`, and the
files attached to it go inside that stream, not as MIME parts: to anyone without Outlook the citizen's photo or PDF was
a `winmail.dat` no one could open, and an anonymous report's copy withholds such a file whole (it is no photo or text),
so the evidence was lost. The stream is a signature, a key, then attributes, each `level (1 byte) | id (2) | type (2) |
length (4) | data | checksum (2)`, little-endian; at the attachment level, `attAttachRenddata` opens a file,
`attAttachTitle` names it and `attAttachData` holds its bytes. Only those are read: the message's own text (compressed
RTF in its MAPI properties) is not, nor the long file name there (the title is the name Outlook gives, at worst 8.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

TNEF_SIGNATURE = 0x223E9F78
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
LEVEL_MESSAGE = 0x01
LEVEL_ATTACHMENT = 0x02
MESSAGE_CLASS = 0x8008  # attMessageClass: the message's class, NUL-terminated ("IPM.Note", "IPM.Outlook.Recall")
ATTACH_RENDDATA = 0x9002  # opens a file
ATTACH_TITLE = 0x8010  # its name, NUL-terminated, in the sender's ANSI code page
ATTACH_DATA = 0x800F  # its bytes
_HEADER = 9  # level, id, type, length
_CHECKSUM = 2


@dataclass(frozen=True, slots=True)
class TnefFile:
    name: str | None
    data: bytes


def is_tnef(content_type: str, name: str | None) -> bool:
    return content_type in TNEF_TYPES or (name or "").lower() == "winmail.dat"


def _attributes(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """A TNEF stream's attributes, each (level, id, data), in order; none for a stream that is none, and none past the
    point a stream cut short cannot be read past."""
    if len(data) < 6 or int.from_bytes(data[:4], "little") != TNEF_SIGNATURE:
        return
    offset = 6
    while offset + _HEADER <= len(data):
        level = data[offset]
        attribute = int.from_bytes(data[offset + 1:offset + 3], "little")
        length = int.from_bytes(data[offset + 5:offset + _HEADER], "little")
        start = offset + _HEADER
        offset = start + length + _CHECKSUM
        if offset > len(data):
            return
        yield level, attribute, data[start:start + length]


def tnef_message_class(data: bytes) -> str | None:
    """The message class a TNEF stream names (attMessageClass), or None; never raises. Outlook's message recall is
    `IPM.Outlook.Recall` whatever language its subject and text are in."""
    for level, attribute, value in _attributes(data):
        if level == LEVEL_MESSAGE and attribute == MESSAGE_CLASS:
            return value.split(b"\0", 1)[0].decode("ascii", "replace").strip() or None
    return None


def tnef_files(data: bytes, max_files: int) -> list[TnefFile]:
    """The files of a TNEF stream, at most `max_files`; never raises: a stream that is none or is cut short gives the
    files read whole before the point it could not be read past."""
    files: list[TnefFile] = []
    name: str | None = None
    content: bytes | None = None
    opened = False
    for level, attribute, value in _attributes(data):
        if level != LEVEL_ATTACHMENT:
            continue
        if attribute == ATTACH_RENDDATA:
            if opened and content:
                files.append(TnefFile(name, content))
            if len(files) >= max_files:
                return files
            opened, name, content = True, None, None
        elif opened and attribute == ATTACH_TITLE:
            name = value.split(b"\0", 1)[0].decode("cp1252", "replace").strip() or None
        elif opened and attribute == ATTACH_DATA:
            content = value
    if opened and content and len(files) < max_files:
        files.append(TnefFile(name, content))
    return files
