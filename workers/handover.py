"""A report's files as the gateway keeps them, and their hand-over after a human review.

An anonymous report's file that the gateway cannot give without its metadata is withheld from the case store
(workers/image_metadata.py); the gateway keeps it, under the data dir by its sha256, listed in the envelope copy in
Redis. `lapor-gateway attachments list` shows each attachment of a report and what the case store gets of it,
worked out by the steps the forward worker runs (media.fetchable_url and as_not_fetched for a file at its provider,
gateway.attachments.kept_by_gateway, image_metadata.examine and as_given, forward.anonymous_attachment), so the two
cannot disagree. `attachments export` copies the gateway's files out, as the citizen sent them, metadata included,
for an operator to hand over what a review found safe. The citizen's file names are never used: a file is named by its
Tracking ID, its index and an extension from a fixed table.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from gateway.attachments import is_provider_url, is_stored, kept_by_gateway, stored_path
from gateway.localtime import utc_time
from gateway.logs import get_logger
from gateway.private_files import DIRECTORY_MODE, TEMPORARY_SUFFIX, remove_orphans, write_temporary
from gateway.queues import REPORT_STATE_KEY, envelope_key, readable_envelope
from gateway.settings import Settings, env_name
from gateway.tracking import MAX_LENGTH, MIN_LENGTH, is_valid_tracking_id, normalize_tracking_id, was_issued
from workers.file_kinds import media_type
from workers.image_metadata import (
    METADATA_NOT_REMOVED,
    METADATA_REMOVED,
    OWN_IDENTITY_REMOVED,
    Examined,
    as_given,
    examine,
)
from workers.media import (  # the forward worker's record of a fetched file, and what it sends of one it cannot fetch
    NOT_ALLOWED,
    FetchFailed,
    as_fetched,
    as_not_fetched,
    fetchable_url,
    fetched_key,
    fetched_record,
)
from workers.own_identity import own_identity_remover
from workers.report_payload import LOCATION_WITHHELD, NOT_UPLOADED, anonymous_attachment

log = get_logger()

# What the case store gets of an attachment.
AS_SENT, COPY, WITHHELD, NO_FILE, PROVIDER_URL = "as sent", "copy without metadata", "withheld", "no file", "its URL"
# A provider's file the forward worker has not fetched yet and may still fetch (its report not forwarded yet, its URL
# one `attachments.fetch_hosts` allows): what the case store gets of it is known once it is fetched, or failed.
TO_FETCH = "fetched when forwarded"
# Why a provider's file of a forwarded report went `not_fetched` when its URL is one a fetch may open: the worker keeps
# no record of a failure, only its log line.
FAILED_AS_LOGGED = "see attachment.fetch_failed in the worker's log"
TEXT_COPY = "copy without its sender"  # a plain text naming its sender (workers/image_metadata.OWN_IDENTITY_REMOVED)
# An exported file's extension, by the type the gateway keeps it under; any other type (HTML and SVG among them: they
# run scripts when opened) and any file flagged executable get `bin`.
EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/heic": "heic",
    "image/heif": "heif", "image/avif": "avif", "image/tiff": "tif", "application/pdf": "pdf",
    "application/msword": "doc", "application/vnd.ms-excel": "xls", "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt", "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/rtf": "rtf", "application/zip": "zip", "text/plain": "txt", "text/csv": "csv", "message/rfc822": "eml",
    "video/mp4": "mp4", "video/quicktime": "mov", "video/3gpp": "3gp", "video/webm": "webm", "audio/mpeg": "mp3",
    "audio/mp4": "m4a", "audio/aac": "aac", "audio/ogg": "ogg", "audio/amr": "amr", "audio/wav": "wav",
}
UNKNOWN_EXTENSION = "bin"
MISSING_FILE = "missing file"
# The flags that say why a mailed file was not stored (channels/email/store.py).
NOT_STORED_BECAUSE = ("too_large", "too_many", "message_too_large")
# An exported file's name while it is written (`.<name>.<hex>.tmp`, gateway.private_files.write_temporary), before it
# is given its own: what an export killed mid-write left in the directory, deleted by the next export there.
EXPORT_TEMPORARY = re.compile(rf"\.[0-9]+-[0-9]+\.[a-z0-9]+\.[0-9a-f]+{re.escape(TEMPORARY_SUFFIX)}")


class HandoverError(Exception):
    """What an operator asked for that cannot be done; its text names no citizen's data, for the terminal."""


class NotATrackingId(HandoverError):
    """The text is no Tracking ID (wrong shape, or its check digit fails: a typo)."""


class UnknownReport(HandoverError):
    """A Tracking ID no gateway of this cell ever minted."""


class EnvelopeGone(HandoverError):
    """A minted Tracking ID whose envelope the gateway no longer has (expired after forwarding) or never stored."""


class EnvelopeUnreadable(HandoverError):
    """The stored envelope is damaged, or another report's."""


class NoSuchAttachment(HandoverError):
    """An index the report has no attachment at."""


class NoFileKept(HandoverError):
    """The gateway keeps no file for this attachment (not stored, or still at its provider)."""


class FileMissing(HandoverError):
    """The gateway's file is gone from the data dir, unreadable, or no longer the bytes its envelope names."""


class WouldOverwrite(HandoverError):
    """A file of the export is there already: nothing is replaced."""


@dataclass(frozen=True, slots=True)
class AttachmentView:
    """One attachment: how the gateway keeps it and what the case store gets of it (and why, when not the file)."""

    index: int
    content_type: str
    size: int | None
    flags: tuple[str, ...]
    location: str  # the gateway's file, relative to the data dir; "" when it keeps none
    sha256: str | None
    keeps: str  # "file", "fetched file", "missing file", "no file (<why>)", "at its provider"
    case_store: str  # AS_SENT, COPY, WITHHELD, NO_FILE or PROVIDER_URL
    reason: str | None = None  # why withheld, or why no file

    @property
    def has_file(self) -> bool:
        return bool(self.location)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    tracking_id: str
    channel: str
    anonymous: bool
    forwarded_at: float | None  # None too for a forwarded report whose time cannot be read (`forwarded` says which)
    attachments: tuple[AttachmentView, ...]
    forwarded: bool = False


def report_files(settings: Settings, redis: Redis, text: str) -> ReportFiles:
    """Every attachment of a report, as the gateway keeps it and as the case store gets it."""
    tracking_id = _checked_tracking_id(settings, redis, text)
    raw = redis.get(envelope_key(tracking_id))
    if raw is None:
        days = settings.intake.envelope_ttl_seconds / 86400
        raise EnvelopeGone(f"the gateway no longer has report {tracking_id}: its envelope is kept {days:g} days "
                           "after the report was forwarded (or the report never reached Redis: see the spool); "
                           "its files cannot be told apart without it")
    envelope = readable_envelope(tracking_id, raw)
    if envelope is None:
        raise EnvelopeUnreadable(f"the envelope stored for {tracking_id} is damaged (not a JSON object of this "
                                 "Tracking ID)")
    attachments = envelope.get("attachments") or []
    if not isinstance(attachments, list) or not all(_readable_attachment(item) for item in attachments):
        raise EnvelopeUnreadable(f"the envelope stored for {tracking_id} is damaged (its attachments are not a list "
                                 "of attachments)")
    anonymous = bool(envelope.get("anonymous"))
    state = redis.hgetall(REPORT_STATE_KEY.format(tracking_id=tracking_id))
    forwarded = state.get(b"state") == b"forwarded"
    own_identity = own_identity_remover(envelope) if anonymous else None
    fetch_hosts = settings.attachments.fetch_hosts
    views = tuple(_view(settings.data_dir, redis, index, attachment, own_identity, fetch_hosts, forwarded=forwarded)
                  for index, attachment in enumerate(attachments))
    return ReportFiles(tracking_id, str(envelope.get("channel") or ""), anonymous,
                       _time(state.get(b"forwarded_at")) if forwarded else None, views, forwarded)


def _time(raw: bytes | None) -> float | None:
    """A time the gateway wrote (seconds since the epoch), or None where it cannot be read (a partial restore, a hand
    edit: not a number, not finite, no date: past the year 9999), as the views read such a value: it ended
    `attachments list` on a traceback."""
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if utc_time(value) is not None else None


def _readable_attachment(item: Any) -> bool:
    """An object whose location and flags, the fields every step reads, are what they should be."""
    return (isinstance(item, dict) and isinstance(item.get("location", ""), str)
            and isinstance(item.get("flags", []), list))


# The most of what an operator typed that an error repeats: a paste of a whole message is cut, and says so.
SHOWN_LIMIT = 40


def as_typed(text: str) -> str:
    """What an operator typed, for an error: quoted, with anything unprintable escaped (an escape sequence, a direction
    override), and past SHOWN_LIMIT characters cut with its length said: an ID cut silently reads as another ID."""
    if len(text) <= SHOWN_LIMIT:
        return repr(text)
    return f"{text[:SHOWN_LIMIT]!r}... ({len(text)} characters)"


def _why_not_a_tracking_id(candidate: str) -> str:
    """Why a text (separators taken out) is no Tracking ID, in the words an operator fixes it by."""
    if not (candidate.isascii() and candidate.isdigit()):
        return f"a Tracking ID is {MIN_LENGTH} to {MAX_LENGTH} digits; #, dots, dashes and spaces are left out"
    if not MIN_LENGTH <= len(candidate) <= MAX_LENGTH:
        return f"{len(candidate)} digits: a Tracking ID has {MIN_LENGTH} to {MAX_LENGTH}"
    if candidate.startswith("0"):
        return "a Tracking ID does not start with 0"
    return "a digit mistyped or two swapped?"


def _checked_tracking_id(settings: Settings, redis: Redis, text: str) -> str:
    tracking_id = normalize_tracking_id(text)
    if not is_valid_tracking_id(tracking_id):
        raise NotATrackingId(f"{as_typed(text)} is not a Tracking ID ({_why_not_a_tracking_id(tracking_id)})")
    if not was_issued(redis, tracking_id, *settings.intake.id_range):
        raise UnknownReport(f"no gateway minted Tracking ID {tracking_id}: no such report")
    return tracking_id


def _view(data_dir: Path, redis: Redis, index: int, listed: Mapping[str, Any],
          own_identity: Callable[[str], str] | None, fetch_hosts: Sequence[str], *,
          forwarded: bool) -> AttachmentView:
    """One attachment, through the forward worker's steps: a provider's file it fetched (or why it sends it
    `not_fetched`), then (for an anonymous report, whose sender's identity `own_identity` removes from a text) the
    metadata step and the payload's attachment. Its flags are those the case store gets."""
    anonymous = own_identity is not None
    kept = _as_fetched(data_dir, redis, listed)
    keeps = _keeps(data_dir, listed, kept)
    unfetched = _why_not_fetched(kept, fetch_hosts, forwarded=forwarded)
    if unfetched == TO_FETCH:  # the worker's steps run once it is fetched (or given up on): nothing said before
        return AttachmentView(
            index=index, content_type=str(kept.get("content_type") or ""), size=kept.get("size"),
            flags=tuple(str(flag) for flag in listed.get("flags") or []), location="", sha256=None, keeps=keeps,
            case_store=TO_FETCH, reason=None)
    sent = as_not_fetched(kept) if unfetched else kept
    examined: Examined | None = None
    given: Mapping[str, Any] = sent
    if anonymous and kept_by_gateway(sent):
        examined = examine(data_dir, sent, keep_copy=False, own_identity=own_identity)
        given = as_given(sent, examined)
    if anonymous:
        given = anonymous_attachment(dict(given))
    flags = [str(flag) for flag in given.get("flags") or []]
    has_file = kept_by_gateway(kept)
    location = str(kept.get("location") or "") if has_file else ""
    case_store = _case_store(given, examined, unfetched)
    if case_store["case_store"] == AS_SENT and keeps == MISSING_FILE:  # a named report's: uploaded it cannot be
        case_store = {"case_store": NO_FILE, "reason": NOT_UPLOADED}
        flags.append(NOT_UPLOADED)
    return AttachmentView(
        index=index, content_type=str(kept.get("content_type") or ""), size=kept.get("size"), flags=tuple(flags),
        location=location, sha256=str(kept.get("sha256")) if has_file else None, keeps=keeps, **case_store)


def _why_not_fetched(kept: Mapping[str, Any], fetch_hosts: Sequence[str], *, forwarded: bool) -> str | None:
    """Why the forward worker sends (or sent) a file still at its provider flagged `not_fetched`: a URL no fetch
    opens (workers/media.fetchable_url, as the worker asks it), or one of a forwarded report with no record of its
    fetch (FAILED_AS_LOGGED). TO_FETCH for one it may still fetch; None for any other attachment."""
    location = str(kept.get("location") or "")
    if not is_provider_url(location):
        return None
    try:
        fetchable_url(location, fetch_hosts)
    except FetchFailed as failure:
        if failure.reason == NOT_ALLOWED:  # the setting an operator changes for it
            return f"{NOT_ALLOWED}: host not in {env_name('attachments', 'fetch_hosts')}"
        return failure.reason
    # Every file the worker fetched is recorded while its report's envelope is kept (workers/media._remember).
    return FAILED_AS_LOGGED if forwarded else TO_FETCH


def _as_fetched(data_dir: Path, redis: Redis, attachment: Mapping[str, Any]) -> Mapping[str, Any]:
    """A file still at its provider in the envelope, as the forward worker gives it once fetched (workers/media.py
    keeps it by its sha256 and records what the URL was fetched as); as listed when it was not, or is gone."""
    location = str(attachment.get("location") or "")
    if not is_provider_url(location):
        return attachment
    known = fetched_record(redis.get(fetched_key(location)))
    if known is None or not is_stored(data_dir, known.sha256):
        return attachment
    return as_fetched(attachment, known)


def _keeps(data_dir: Path, listed: Mapping[str, Any], kept: Mapping[str, Any]) -> str:
    if kept_by_gateway(kept):
        try:
            present = stored_path(data_dir, str(kept["location"])).is_file()
        except OSError:
            present = False
        if not present:
            return MISSING_FILE
        return "fetched file" if kept is not listed else "file"  # _as_fetched gave a new mapping
    if is_provider_url(str(kept.get("location") or "")):
        return "at its provider"
    why = [flag for flag in listed.get("flags") or [] if flag in NOT_STORED_BECAUSE]
    return f"no file ({', '.join(why) or 'not stored'})"


def _case_store(given: Mapping[str, Any], examined: Examined | None,
                unfetched: str | None) -> dict[str, str | None]:
    flags = given.get("flags") or []
    location = str(given.get("location") or "")
    if METADATA_NOT_REMOVED in flags:
        return {"case_store": WITHHELD, "reason": examined.outcome if examined else None}
    if METADATA_REMOVED in flags:
        return {"case_store": COPY, "reason": None}
    if OWN_IDENTITY_REMOVED in flags:
        return {"case_store": TEXT_COPY, "reason": None}
    if LOCATION_WITHHELD in flags:
        return {"case_store": NO_FILE, "reason": ", ".join(filter(None, (unfetched, LOCATION_WITHHELD)))}
    if is_provider_url(location):
        return {"case_store": PROVIDER_URL, "reason": unfetched}
    if not kept_by_gateway(given):
        return {"case_store": NO_FILE, "reason": "not_stored"}
    return {"case_store": AS_SENT, "reason": None}


@dataclass(frozen=True, slots=True)
class Exported:
    index: int
    path: Path
    size: int
    withheld: bool


def export_files(report: ReportFiles, data_dir: Path, directory: Path,
                 indexes: Sequence[int] | None = None) -> list[Exported]:
    """Copy the gateway's files of a report (every one it keeps, or those at `indexes`) into `directory`, as the
    citizen sent them. All or nothing: every file is checked (there, the bytes its envelope names, no file of that
    name in `directory`) before the first is written, none is ever replaced, and a write that fails (a full disk)
    takes back those before it; killed halfway, it leaves at most hidden temporary files, never one under its
    name."""
    chosen = _chosen(report, indexes)
    contents = {view.index: _original(data_dir, report.tracking_id, view) for view in chosen}
    targets = {view.index: directory / export_name(report.tracking_id, view) for view in chosen}
    there = sorted(str(path) for path in targets.values() if path.exists() or path.is_symlink())
    if there:
        raise WouldOverwrite(f"not overwriting {', '.join(there)}: nothing was exported; export into an empty "
                             "directory, or move those files aside first")
    if not directory.exists():
        directory.mkdir(mode=DIRECTORY_MODE, parents=True)
    remove_orphans(directory, EXPORT_TEMPORARY)
    # Every file written whole under a temporary name first, and only then given its own: an export killed halfway
    # (the operator's session dropped, the OOM killer), where no handler below runs, leaves no file under a name an
    # operator hands over, neither one cut short nor one whole and unlogged.
    written: dict[int, Path] = {}
    exported: list[Exported] = []
    try:
        for view in chosen:
            written[view.index] = write_temporary(targets[view.index], contents[view.index], what="export")
        for view in chosen:
            _publish(written[view.index], targets[view.index])
            exported.append(Exported(view.index, targets[view.index], len(contents[view.index]),
                                     view.case_store == WITHHELD))
    except BaseException:  # a full disk, a file made meanwhile: none of this export stays, unlogged or cut short
        for item in exported:
            item.path.unlink(missing_ok=True)
        raise
    finally:
        for temporary in written.values():
            temporary.unlink(missing_ok=True)
    # The citizen's files leave the gateway, withheld ones among them: a line at any log level, for the record.
    log.warning("attachments.exported", tracking_id=report.tracking_id, channel=report.channel,
                anonymous=report.anonymous, attachments=[item.index for item in exported],
                withheld=[item.index for item in exported if item.withheld])
    return exported


def export_name(tracking_id: str, view: AttachmentView) -> str:
    """`<tracking id>-<index>.<extension>`: nothing of the citizen's file name, an extension from a fixed table."""
    extension = EXTENSIONS.get(media_type(view.content_type), UNKNOWN_EXTENSION)
    if "executable" in view.flags:
        extension = UNKNOWN_EXTENSION
    return f"{tracking_id}-{view.index}.{extension}"


def _chosen(report: ReportFiles, indexes: Sequence[int] | None) -> list[AttachmentView]:
    if indexes is None:
        chosen = [view for view in report.attachments if view.has_file]
        if not chosen:
            raise NoFileKept(f"the gateway keeps no file of report {report.tracking_id}")
        return chosen
    by_index = {view.index: view for view in report.attachments}
    chosen = []
    for index in dict.fromkeys(indexes):
        view = by_index.get(index)
        if view is None:
            raise NoSuchAttachment(f"report {report.tracking_id} has no attachment {index} (its attachments: "
                                   f"{len(report.attachments)}, from 0)")
        if not view.has_file:
            raise NoFileKept(f"the gateway keeps no file for attachment {index} of {report.tracking_id}: "
                             f"{view.keeps}")
        chosen.append(view)
    return chosen


def _original(data_dir: Path, tracking_id: str, view: AttachmentView) -> bytes:
    what = f"attachment {view.index} of {tracking_id} ({view.location})"
    try:
        content = stored_path(data_dir, view.location).read_bytes()
    except OSError as error:
        raise FileMissing(f"the gateway's file of {what} cannot be read: {error.strerror or error}") from None
    if hashlib.sha256(content).hexdigest() != view.sha256:
        raise FileMissing(f"the gateway's file of {what} is not the one its envelope names (its sha256 differs)")
    return content


def _publish(temporary: Path, path: Path) -> None:
    """The written file under its own name, never over a file: a hard link fails when there is one."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise WouldOverwrite(f"not overwriting {path}") from None
    except OSError:  # a file system without hard links (a FAT-formatted USB stick)
        if path.exists() or path.is_symlink():
            raise WouldOverwrite(f"not overwriting {path}") from None
        os.rename(temporary, path)
