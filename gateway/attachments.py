"""The attachments the gateway keeps: content-addressed by sha256 under the data dir.

One home for a mailed file (the SMTP server and the IMAP poller) and for a file the forward worker fetched from its
provider (an MMS, an X photo, an Instagram post): the same bytes are one file, whatever brought them, and the
forward worker uploads each to the case store from here. An anonymous report's photo goes as its copy without
metadata (workers/image_metadata.py), kept here by its own sha256 beside the original.

Nothing here deletes a file: `lapor-gateway attachments purge` (workers/retention.py) does, for files no envelope in
Redis names that have not been used since before its retention. So a writer that finds its bytes already kept marks
the file as used (its mtime set to now) instead of leaving it as it is: a purge that began before it then leaves it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from gateway.private_files import write_atomically

ATTACHMENTS_DIR = "attachments"


def attachment_location(sha256: str) -> str:
    """Relative to the data dir, so the envelope does not depend on where the data dir is mounted. It names nothing
    but the bytes: an anonymous report's attachment may carry it to the case store."""
    return str(PurePosixPath(ATTACHMENTS_DIR, sha256[:2], sha256))


def is_provider_url(location: str) -> bool:
    """A file at the provider (Twilio, X, Instagram), not one the gateway stored under its data dir."""
    return "://" in location


def kept_by_gateway(attachment: Mapping[str, Any]) -> bool:
    """An attachment whose bytes the gateway keeps here (mailed, or fetched from its provider): what the forward
    worker uploads to the case store, and cleans of metadata for an anonymous report."""
    location = str(attachment.get("location") or "")
    return (bool(location) and not is_provider_url(location) and bool(attachment.get("sha256"))
            and "not_stored" not in attachment.get("flags", []))


def stored_path(data_dir: Path, location: str) -> Path:
    """The file at an attachment's `location`; OSError for one that leads out of the data dir's attachments (an
    envelope in Redis is not trusted to name only the gateway's files). The data dir holds more than the files of
    reports: the spool and quarantined mail (other citizens' numbers and words), the reference case store's database;
    a location naming one was uploaded to the case store as the report's file, or sent as an anonymous report's
    plain text."""
    root = (data_dir / ATTACHMENTS_DIR).resolve()
    try:
        path = (data_dir.resolve() / location).resolve()
    except ValueError as error:  # a NUL in it: no file's name
        raise OSError("attachment location is no path") from error
    if not path.is_relative_to(root):
        raise OSError("attachment location outside the data dir's attachments")
    return path


def is_stored(data_dir: Path, sha256: str) -> bool:
    """Whether the file is kept (an operator's look: it does not count as a use)."""
    return (data_dir / attachment_location(sha256)).is_file()


def reuse_stored(data_dir: Path, sha256: str) -> bool:
    """Whether the file is kept, marked as used now when it is: what a writer about to name it in an envelope or a
    payload asks, so a purge running meanwhile does not delete it (see `mark_used`)."""
    return mark_used(data_dir / attachment_location(sha256))


def mark_used(path: Path) -> bool:
    """Set the file's mtime to now; False when there is no file. A purge deletes only a file whose mtime is older
    than its retention after it has set the file aside (workers/retention.py): a file marked before that is kept, one
    marked after it is found missing here and written anew by the caller."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except OSError:  # not ours to mark (another owner, a read-only mount): kept as it is
        return path.exists()
    return True


def store_attachment(data_dir: Path, sha256: str, data: bytes) -> str:
    """Keep `data` (whose sha256 the caller computed) once, written whole, readable by the gateway user only (a file
    may show the citizen); returns its location. Bytes kept already are not written again, but marked as used."""
    location = attachment_location(sha256)
    path = data_dir / location
    if not mark_used(path):
        write_atomically(path, data, what="attachment")
    return location
