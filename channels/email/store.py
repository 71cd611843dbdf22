"""A mail's attachments (kept by gateway/attachments.py, content-addressed by sha256) and the quarantine, both under
the data dir.

Files are written to a temporary name, fsynced and renamed, so a crash never leaves half a file under a
final name, and their directories fsynced, so the names are on disk too (`write_atomically`): the SMTP server answers
250 only after what it keeps is on disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from channels.email.parse import RawAttachment, visible_name
from gateway.attachments import store_attachment
from gateway.private_files import write_atomically
from gateway.settings import EmailSettings
from normalizer.envelope import Attachment

QUARANTINE_DIR = "email/quarantine"
# A quarantined mail's two files, `<sha256>.eml` and `<sha256>.json`; `key` is the mail (workers/retention.py
# deletes both together).
QUARANTINED_FILE = re.compile(r"(?P<key>[0-9a-f]{64})\.(?:eml|json)")
# The reason of an entry whose `.json` cannot be read (`Quarantine._read`), and what each field must hold.
UNREADABLE_ENTRY = "unreadable"
_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,), "reason": (str,), "detail": (str,), "quarantined_at": (int, float),
    "envelope_sender": (str, type(None)), "recipients": (list,), "size": (int,),
}
EXECUTABLE_TYPES = frozenset({
    "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec", "application/x-executable",
    "application/vnd.microsoft.portable-executable", "application/x-sh", "application/x-shellscript",
    "application/java-archive", "application/x-msi", "application/x-ms-installer", "application/hta",
    "application/x-bat", "application/javascript", "text/javascript", "application/x-javascript",
    "application/vnd.android.package-archive", "text/x-sh", "text/vbscript", "application/x-vbscript",
    # disk images, Office files with macros, shortcuts: below (lower case: a type is compared lowered)
    "application/x-iso9660-image", "application/vnd.ms-word.document.macroenabled.12",
    "application/vnd.ms-excel.sheet.macroenabled.12", "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    "application/vnd.ms-excel.addin.macroenabled.12", "application/x-ms-shortcut",
})
EXECUTABLE_EXTENSIONS = frozenset({
    ".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".msi", ".dll", ".js", ".jse", ".vbs", ".vbe", ".wsf", ".ps1",
    ".jar", ".sh", ".apk", ".hta", ".lnk", ".cpl", ".reg", ".app", ".elf",
    # Common malware carriers that run code once opened: disk images Windows mounts with a double click (their files
    # escape the mark of the web), an Excel add-in (a DLL), Office files with macros, a management console snap-in.
    ".iso", ".img", ".vhd", ".vhdx", ".xll", ".docm", ".xlsm", ".pptm", ".msc",
})
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!")
# Attachments listed in the envelope, at most. Each listing is ~180 bytes: 90,000 one-byte parts (an 8 MB mail) were
# an envelope past the case store's 16 MiB request limit, which refused the whole batch it travelled in.
MAX_LISTED_ATTACHMENTS = 100


def executable_flags(raw: RawAttachment) -> list[str]:
    """By type, magic bytes or extension; the extension as Windows reads it (trailing dots and spaces dropped)."""
    extension = os.path.splitext(visible_name(raw.name or "").rstrip(". ").lower())[1]
    if (raw.content_type.lower() in EXECUTABLE_TYPES or extension in EXECUTABLE_EXTENSIONS
            or raw.data.startswith(EXECUTABLE_MAGIC)):
        return ["executable"]
    return []


def store_attachments(raws: Sequence[RawAttachment], data_dir: Path, settings: EmailSettings) -> list[Attachment]:
    """Store each attachment within the limits, durably (`write_atomically`); list every one, with flags for what was
    not stored."""
    listed: list[Attachment] = []
    stored_total = 0
    for index, raw in enumerate(raws):
        digest = hashlib.sha256(raw.data).hexdigest()
        flags = executable_flags(raw) + (["inline"] if raw.inline else [])
        too_many = index >= settings.max_attachments
        too_large = len(raw.data) > settings.max_attachment_bytes
        over_total = stored_total + len(raw.data) > settings.max_attachments_bytes
        if too_many or too_large or over_total:
            flags.append("too_many" if too_many else "too_large" if too_large else "message_too_large")
            flags.append("not_stored")
            location = ""
        else:
            location = store_attachment(data_dir, digest, raw.data)
            stored_total += len(raw.data)
        listed.append(Attachment(content_type=raw.content_type, size=len(raw.data), sha256=digest, name=raw.name,
                                 location=location, flags=flags))
    return listed


# Why an attachment was not stored (its flag beside `not_stored`), and the limit of `EmailSettings` it was over.
NOT_STORED_LIMITS = {"too_large": "max_attachment_bytes", "too_many": "max_attachments",
                     "message_too_large": "max_attachments_bytes"}
# The files a reply names as not kept, at most: the rest are counted ("and 3 more"), so that a quote of our reply
# stays within what the parser reads as ours (parse.OUR_QUOTE_CHARS).
MAX_NAMED_NOT_KEPT = 5


def not_kept(attachments: Sequence[Attachment], omitted: int, settings: EmailSettings, *,
             with_names: bool = True) -> list[dict[str, object]]:
    """The files of a mail that were not kept (`store_attachments`), as its reply names them: each one's place among
    the listed ones (`index`, from 1), `name` (`with_names`: an anonymous report's reply job carries none, the worker
    reads them from the report's copy), why (`reason`: a key of NOT_STORED_LIMITS) and the `limit` it was over; then
    the files past MAX_LISTED_ATTACHMENTS (`omitted`), never listed, as one entry of reason `too_many` and `count`.
    Told nothing, the citizen took the photo she sent for evidence received."""
    items: list[dict[str, object]] = []
    for index, attachment in enumerate(attachments, start=1):
        reason = next((flag for flag in attachment.flags if flag in NOT_STORED_LIMITS), None)
        if reason is None or "not_stored" not in attachment.flags:
            continue
        items.append({"index": index, **({"name": attachment.name} if with_names and attachment.name else {}),
                      "reason": reason, "limit": getattr(settings, NOT_STORED_LIMITS[reason])})
    if omitted:
        items.append({"count": omitted, "reason": "too_many", "limit": settings.max_attachments})
    return items


@dataclass(frozen=True, slots=True)
class QuarantinedMail:
    key: str
    reason: str
    detail: str
    quarantined_at: float
    envelope_sender: str | None
    recipients: list[str]
    size: int

    def eml_path(self, data_dir: Path) -> Path:
        return data_dir / QUARANTINE_DIR / f"{self.key}.eml"


class Quarantine:
    """Mail that could not be parsed at all: `<sha256>.eml` plus `<sha256>.json` with the reason."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.directory = data_dir / QUARANTINE_DIR

    def add(self, raw: bytes, reason: str, detail: str, envelope_sender: str | None,
            recipients: Sequence[str]) -> QuarantinedMail:
        key = hashlib.sha256(raw).hexdigest()
        entry = QuarantinedMail(key=key, reason=reason, detail=detail[:500], quarantined_at=time.time(),
                                envelope_sender=envelope_sender, recipients=list(recipients), size=len(raw))
        write_atomically(self.directory / f"{key}.eml", raw, what="quarantined_mail")
        write_atomically(self.directory / f"{key}.json", orjson.dumps(_as_dict(entry)), what="quarantined_mail")
        return entry

    def list(self) -> list[QuarantinedMail]:
        entries = []
        for meta in sorted(self.directory.glob("*.json")) if self.directory.exists() else []:
            try:
                entries.append(self._read(meta))
            except FileNotFoundError:  # deleted since the glob (`attachments purge`)
                continue
        return sorted(entries, key=lambda entry: entry.quarantined_at)

    def _read(self, meta: Path) -> QuarantinedMail:
        """The entry a `.json` describes. One that is not (cut short, not JSON, fields missing or of another type: a
        disk filled up, a partial restore, a hand edit) ended `email quarantine list` and `reprocess`, of every mail,
        on a traceback: it is read as an `unreadable` entry under its file's name, whose mail (the `.eml`, intact)
        can still be reprocessed, without its envelope's sender and recipients. So is one that cannot be read at all
        (another user's file, a directory or a symbolic link loop under its name): it ended them on an OSError."""
        try:
            stored = orjson.loads(meta.read_bytes())
        except FileNotFoundError:  # deleted since the listing: `list` skips it
            raise
        except (orjson.JSONDecodeError, OSError):
            stored = None
        if (isinstance(stored, dict) and stored.keys() >= _ENTRY_TYPES.keys() and stored["key"] == meta.stem
                and all(isinstance(stored[name], types) and not isinstance(stored[name], bool)
                        for name, types in _ENTRY_TYPES.items())
                and all(isinstance(recipient, str) for recipient in stored["recipients"])):
            return QuarantinedMail(**{name: stored[name] for name in _ENTRY_TYPES})
        eml = self.directory / f"{meta.stem}.eml"
        try:
            size = eml.stat().st_size
        except FileNotFoundError:
            size = 0
        return QuarantinedMail(key=meta.stem, reason=UNREADABLE_ENTRY,
                               detail="its .json cannot be read: reprocess the mail, or delete its two files",
                               quarantined_at=meta.lstat().st_mtime, envelope_sender=None, recipients=[], size=size)

    def get(self, key: str) -> QuarantinedMail | None:
        matches = [entry for entry in self.list() if entry.key.startswith(key)] if key else []
        return matches[0] if len(matches) == 1 else None

    def raw(self, entry: QuarantinedMail) -> bytes:
        return entry.eml_path(self.data_dir).read_bytes()

    def remove(self, entry: QuarantinedMail) -> None:
        for suffix in (".eml", ".json"):
            (self.directory / f"{entry.key}{suffix}").unlink(missing_ok=True)


def _as_dict(entry: QuarantinedMail) -> dict[str, object]:
    return {name: getattr(entry, name) for name in QuarantinedMail.__dataclass_fields__}
