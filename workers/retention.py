"""How long the gateway keeps a report's files, and the purge that deletes them after (`lapor-gateway attachments
purge`, from cron).

Every file of every report is kept under the data dir by its sha256 (gateway/attachments.py): mailed files, files
fetched from their providers, the copies without metadata sent for anonymous reports. An anonymous report's
originals (a photo's GPS, a document's author) stay there for an operator to hand over after a review, as long as
the report's envelope is in Redis to tell which report they belong to. Once it expired nobody can, and the file only
waits to name its sender to whoever reads the disk. So the purge deletes a file when
- no envelope in Redis names it: not by a sha256 written anywhere in it (whatever its shape: a damaged envelope keeps
  its files too), nor by a provider URL the forward worker fetched it from (its record, workers/media.py; a damaged
  envelope's too, each URL written whole in it). An
  envelope stays in Redis until `intake.envelope_ttl_seconds` after its report is forwarded: a report still waiting
  (a forward job retrying through a long case-store outage, a dead letter an operator may requeue) keeps its files;
  nor by a record waiting in this data dir's spool (a report answered while Redis was down, not yet replayed into
  it: Redis holds no envelope of it yet);
- and it has not been used since before the retention (`attachments.retention_days`, by default the envelopes'
  lifetime): its mtime, which every writer that names existing bytes sets to now (gateway.attachments.mark_used),
  is older than both the retention and the moment the purge began to read the envelopes, so a report that reaches
  Redis while it runs keeps its files.
A copy without metadata is named by no envelope (the gateway's copy keeps the original): it goes by its age alone.
The case store has it, and the forward worker makes it again from the original should the report go again (a
requeue); the retention's floor of a day keeps it through the forward job that wrote it and reads it back.

Four more places on disk keep a citizen's number, address or words and are named by no envelope; each goes by the
same age, an item whose files were none written within it:
- quarantined mail (`email/quarantine/<sha256>.eml` and its `.json`): the raw mail, the sender's address and every
  attachment in it, never a report;
- the spool's quarantine (`spool/quarantine/<spool file>-line<n>.bad` and its `.reason`): a record that could not be
  read back into Redis, the envelope as far as it was written;
- the e-mail outbox (`email.outbox_dir`, `email/outbox/` by default: the replies written without a relay, as the
  development profile does), where only the files named as the gateway names a reply go: it may be any directory;
- the SMS aggregator's outbox (`outbox/sms-aggregator-<day>.jsonl`: the replies written instead of sent with
  `aggregator.send_url = "outbox:"`, as the development profile does), a day's file whole.
And in Redis, the messages kept unfiled (`gateway.unfiled`: a mention, comment or SMS the gateway failed to file,
never a report), by the time each was kept; and the dead letters (`workers.deadletters`), by the time each failed: a
reply's keeps its arguments, the citizen's number, or address and subject, until an operator requeues or purges it.
A forward's dead letter stays however old (`DeadLetters.purge_older`): it is a report the case store never got,
acknowledged to its citizen, an operator's to requeue or purge.

A file is deleted in two steps: renamed aside, then looked at again. A writer that marked it used in between (the
same bytes mailed again) is seen then, and the file is put back; one that comes after the rename finds no file and
writes it anew. Nothing is deleted unless every envelope could be read, and nothing when the Redis read holds no
Tracking-ID counter (a wrong REDIS_URL or database, or a Redis that lost its data would otherwise name no file).
No file name is printed or logged, only counts and bytes.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, ResponseError

from channels.email.reply import OUTBOX_FILE, outbox_dir
from channels.email.store import QUARANTINE_DIR, QUARANTINED_FILE
from channels.sms_aggregator_send import OUTBOX_DIR as SMS_OUTBOX_DIR
from channels.sms_aggregator_send import OUTBOX_FILE as SMS_OUTBOX_FILE
from gateway.attachments import ATTACHMENTS_DIR, is_provider_url
from gateway.logs import get_logger
from gateway.private_files import ANY_TEMPORARY, ORPHAN_SECONDS, TEMPORARY_SUFFIX, remove_orphans
from gateway.queues import ENVELOPE_KEY, readable_envelope
from gateway.settings import Settings
from gateway.spool import CLAIMED_SUFFIX, QUARANTINED_RECORD, SPOOL_DIR, Spool, remove_leftovers
from gateway.spool import QUARANTINE_DIR as SPOOL_QUARANTINE_DIR
from gateway.tracking import SEQUENCE_KEY
from gateway.unfiled import UnfiledMessages
from workers.deadletters import DeadLetters
from workers.media import fetched_key, fetched_record

log = get_logger()

DAY_SECONDS = 86_400
# The shortest retention: a copy without metadata is named by no envelope, and the forward job that wrote it reads it
# back within its job timeout (minutes).
MIN_RETENTION_SECONDS = DAY_SECONDS
# The longest: 10,000 years keeps everything. `--older-than` of 400 digits (or the setting) ended the purge on an
# OverflowError traceback as it became a float.
MAX_RETENTION_SECONDS = 10_000 * 365 * DAY_SECONDS
# How many keys one SCAN step asks Redis to look at, and so at most how many envelopes one MGET reads.
SCAN_COUNT = 1000
_ENVELOPE_PATTERN = ENVELOPE_KEY.format(tracking_id="*")
_ENVELOPE_PREFIX = ENVELOPE_KEY.format(tracking_id="")
SHA256 = re.compile(rb"[0-9a-f]{64}")
# A provider URL as a JSON string holds it (orjson escapes no slash): what a damaged envelope is read for.
JSON_URL = re.compile(rb'"([a-z][a-z0-9+.-]*://[^"\\]+)"')
_SHA256_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class AgedFiles:
    """Files named by no envelope, which go by their age alone: the files of one item (a mail and its reason) whole."""

    item: re.Pattern[str]  # fullmatch of a file's name; its group `key` names the item the file belongs to
    temporary: re.Pattern[str]  # a write or a purge cut short: part of an item
    first: str = ""  # the suffix of an item's file deleted first



def own_temporary(item: re.Pattern[str]) -> re.Pattern[str]:
    """An item's own temporary file (gateway.private_files.write_temporary's, or one a purge set aside), for a
    directory where other files may be. ANY_TEMPORARY in a directory the gateway alone writes."""
    return re.compile(rf"\.(?:{item.pattern})\..+{re.escape(TEMPORARY_SUFFIX)}", re.DOTALL)


# The .json first: then `email quarantine list` no longer shows the mail.
QUARANTINED_MAIL = AgedFiles(QUARANTINED_FILE, ANY_TEMPORARY, first=".json")
QUARANTINED_SPOOL_RECORD = AgedFiles(QUARANTINED_RECORD, ANY_TEMPORARY)
OUTBOX_REPLY = AgedFiles(OUTBOX_FILE, own_temporary(OUTBOX_FILE))
SMS_OUTBOX_DAY = AgedFiles(SMS_OUTBOX_FILE, own_temporary(SMS_OUTBOX_FILE))


# What each process kind writes a citizen's files in, and so sweeps as it starts (`remove_orphaned_temporaries`): the
# HTTP gateway its spool (its replayer the spool's quarantine); the SMTP server quarantined mail and mail's
# attachments; the workers fetched media and the outboxes of replies; the pollers nothing. Every kind swept every
# directory, the gateway and the pollers listing each attachment folder at each start for files they never write.
SPOOL, MAIL, ATTACHMENTS, OUTBOXES = "spool", "mail", "attachments", "outboxes"
WRITTEN_BY: dict[str, frozenset[str]] = {
    "serve": frozenset({SPOOL}),
    "smtp": frozenset({MAIL, ATTACHMENTS}),
    "worker": frozenset({ATTACHMENTS, OUTBOXES}),
}


def remove_orphaned_temporaries(settings: Settings, kind: str | None = None) -> int:
    """Delete the temporary files writers killed mid-write left (gateway.private_files.remove_orphans) wherever the
    process `kind` (`WRITTEN_BY`; None: every kind's) writes a citizen's files through one: every process does so as
    it starts, so part of a file or a reply does not wait for the next purge; and the spool's own leftovers
    (`gateway.spool.remove_leftovers`: a new file's `.opening`, a taken reserve, a probe). Returns how many; logged
    when any, by count only."""
    writes = WRITTEN_BY[kind] if kind is not None else frozenset({SPOOL, MAIL, ATTACHMENTS, OUTBOXES})
    removed = 0
    if ATTACHMENTS in writes:
        attachments = settings.data_dir / ATTACHMENTS_DIR
        try:
            with os.scandir(attachments) as entries:
                folders = [Path(entry.path) for entry in entries if entry.is_dir(follow_symlinks=False)]
        except OSError:  # none yet, or not readable: the purge counts what it cannot read
            folders = []
        removed += sum(remove_orphans(folder) for folder in folders)
    for written, directory, pattern in (
            (MAIL, settings.data_dir / QUARANTINE_DIR, QUARANTINED_MAIL.temporary),
            (SPOOL, settings.data_dir / SPOOL_DIR, ANY_TEMPORARY),
            (SPOOL, settings.data_dir / SPOOL_DIR / SPOOL_QUARANTINE_DIR, QUARANTINED_SPOOL_RECORD.temporary),
            (OUTBOXES, outbox_dir(settings), OUTBOX_REPLY.temporary),
            (OUTBOXES, settings.data_dir / SMS_OUTBOX_DIR, SMS_OUTBOX_DAY.temporary)):
        if written in writes:
            removed += remove_orphans(directory, pattern)
    if SPOOL in writes:
        removed += remove_leftovers(settings.data_dir / SPOOL_DIR)
    if removed:
        log.warning("private_file.orphans_removed", files=removed)
    return removed


class PurgeError(Exception):
    """A purge that could not decide what to keep: nothing was deleted. Its text names no citizen's data."""


class RedisUnavailable(PurgeError):
    """Redis could not be read to the end: which envelopes name which files is unknown. `error` is Redis's, for the
    operator's line to say what to mend (a password refused is no Redis to wait for)."""

    def __init__(self, message: str, error: RedisError) -> None:
        super().__init__(message)
        self.error = error


class NotTheGatewaysRedis(PurgeError):
    """The Redis read has never minted a Tracking ID: no envelope in it would keep any file."""


class SpoolUnreadable(PurgeError):
    """A spool file waiting for replay could not be read: which files its reports name is unknown."""


@dataclass(slots=True)
class Tally:
    files: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size


# The purge's steps in Redis, in order, as the log line names their counts. Each runs whatever became of the other: a
# Redis that fails in one leaves that one not purged (`PurgeResult.not_purged`).
REDIS_STEPS = ("unfiled_messages", "dead_letters")


@dataclass(slots=True)
class PurgeResult:
    """What a purge did (or, dry, would do): counts and bytes, never a name."""

    retention_seconds: int
    dry_run: bool
    envelopes: int = 0
    envelopes_unreadable: int = 0
    deleted: Tally = field(default_factory=Tally)  # files under attachments/ (and leftover temporary files)
    kept_named: Tally = field(default_factory=Tally)  # named by an envelope in Redis, whatever their age
    kept_recent: Tally = field(default_factory=Tally)  # used within the retention
    quarantine_deleted: Tally = field(default_factory=Tally)  # quarantined mails (.eml and .json together)
    quarantine_kept: Tally = field(default_factory=Tally)
    spool_quarantine_deleted: Tally = field(default_factory=Tally)  # spool records (.bad and .reason together)
    spool_quarantine_kept: Tally = field(default_factory=Tally)
    outbox_deleted: Tally = field(default_factory=Tally)  # replies written to the e-mail outbox
    outbox_kept: Tally = field(default_factory=Tally)
    sms_outbox_deleted: Tally = field(default_factory=Tally)  # days of replies written to the SMS outbox
    sms_outbox_kept: Tally = field(default_factory=Tally)
    unfiled_deleted: int = 0  # messages kept unfiled, in Redis
    unfiled_kept: int = 0
    deadletters_deleted: int = 0  # dead letters, in Redis
    deadletters_kept: int = 0
    failed: int = 0  # files or folders that could not be read or deleted
    # Redis failing after the files went (unreachable, a key of another type where unfiled messages or dead letters
    # are kept): each step of `REDIS_STEPS` it failed in, with its error, was not purged; the other step ran all the
    # same. The files deleted, and what the other step did, are said and logged all the same.
    redis_errors: dict[str, RedisError] = field(default_factory=dict)
    aof_rewrite: str = "not_asked"  # what Redis said to rewriting its append-only file (`rewrite_append_only_file`)

    @property
    def redis_error(self) -> RedisError | None:
        """The first step's error, None when Redis failed in none."""
        return next(iter(self.redis_errors.values()), None)

    @property
    def not_purged(self) -> tuple[str, ...]:
        """The steps Redis failed in (of `REDIS_STEPS`, in order)."""
        return tuple(step for step in REDIS_STEPS if step in self.redis_errors)


@dataclass(frozen=True, slots=True)
class References:
    """The files the envelopes in Redis name, by sha256 (as bytes of hex)."""

    names: frozenset[bytes]
    envelopes: int
    unreadable: int


def retention_seconds(settings: Settings, older_than_days: int | None = None) -> int:
    """The retention: `--older-than` when given, else `attachments.retention_days`, else the envelopes' lifetime;
    never below a day, nor above `MAX_RETENTION_SECONDS`."""
    if older_than_days is not None:
        seconds = older_than_days * DAY_SECONDS
    elif settings.attachments.retention_days:
        seconds = settings.attachments.retention_days * DAY_SECONDS
    else:
        seconds = settings.intake.envelope_ttl_seconds
    return min(max(seconds, MIN_RETENTION_SECONDS), MAX_RETENTION_SECONDS)


def purge(settings: Settings, redis: Redis, *, older_than_days: int | None = None,
          dry_run: bool = False) -> PurgeResult:
    """Delete (with `dry_run`: count) the kept files, quarantined mail and spool records, outbox replies (e-mail,
    SMS), unfiled messages and dead letters nothing needs any more; logged as `attachments.purged`. Raises
    PurgeError, having deleted nothing, when it cannot tell what is needed."""
    began = time.monotonic()
    retention = retention_seconds(settings, older_than_days)
    result = PurgeResult(retention_seconds=retention, dry_run=dry_run)
    started_at = time.time()
    # The spool before Redis: a record replayed from it meanwhile is in Redis before the scan begins.
    spooled = spooled_files(settings.data_dir / SPOOL_DIR)
    references = referenced_files(redis)
    result.envelopes, result.envelopes_unreadable = references.envelopes, references.unreadable
    # A file used after the spool and the envelopes began to be read may belong to a report both missed.
    deadline = min(time.time() - retention, started_at)
    # A temporary file goes once no live writer can be at it (gateway.private_files.ORPHAN_SECONDS): its writer was
    # killed mid-write, and the retention would have kept part of a citizen's file or reply for days.
    orphaned = started_at - ORPHAN_SECONDS
    _purge_attachments(settings.data_dir / ATTACHMENTS_DIR, references.names | spooled, deadline, orphaned, result)
    for directory, files, deleted, kept in (
            (settings.data_dir / QUARANTINE_DIR, QUARANTINED_MAIL, result.quarantine_deleted, result.quarantine_kept),
            (settings.data_dir / SPOOL_DIR / SPOOL_QUARANTINE_DIR, QUARANTINED_SPOOL_RECORD,
             result.spool_quarantine_deleted, result.spool_quarantine_kept),
            (outbox_dir(settings), OUTBOX_REPLY, result.outbox_deleted, result.outbox_kept),
            (settings.data_dir / SMS_OUTBOX_DIR, SMS_OUTBOX_DAY, result.sms_outbox_deleted, result.sms_outbox_kept)):
        _purge_by_age(directory, files, deadline, orphaned, result, deleted, kept)
    # The files are gone by now: a Redis that fails here (restarted, a key of another type) ended the command on
    # "it stopped there" with no word or log line of the files deleted. Each step runs whatever became of the other:
    # a key of another type where one channel's unfiled messages are kept left every dead letter (a reply's, with its
    # citizen's number) unpurged, run after run, until someone mended a key they had no reason to look at.
    try:
        result.unfiled_deleted, result.unfiled_kept = UnfiledMessages(redis).purge(deadline, dry_run=dry_run)
    except RedisError as error:
        result.redis_errors["unfiled_messages"] = error
    try:
        result.deadletters_deleted, result.deadletters_kept = DeadLetters(redis).purge_older(
            deadline, settings.intake.envelope_ttl_seconds, dry_run=dry_run)
    except RedisError as error:
        result.redis_errors["dead_letters"] = error
    if not dry_run:
        result.aof_rewrite = rewrite_append_only_file(redis)
        _log(result, time.monotonic() - began)
    return result


def rewrite_append_only_file(redis: Redis) -> str:
    """Has Redis rewrite its append-only file, which holds every write since its last rewrite: an envelope expired
    30 days after its forward, a concatenated SMS's parts deleted once joined, a reply job's recipient, each with an
    anonymous reporter's number or words, stay on the disk until then, and Redis rewrites it by itself only once it
    has doubled and passed 64 MB (`auto-aof-rewrite-min-size`), which a quiet gateway's may never do. What Redis said:
    `started` (or scheduled after a snapshot in progress), `in_progress` (one already runs), `not_aof` (it keeps no
    append-only file), `refused` (a managed Redis that does not offer the command) or `unavailable`."""
    try:
        config = redis.config_get("appendonly")
        if any(value in ("no", b"no") for value in config.values()):
            return "not_aof"
    except ResponseError:
        pass  # CONFIG renamed or refused (a managed Redis): the rewrite is asked for all the same
    except RedisError:
        return "unavailable"
    try:
        redis.bgrewriteaof()
    except ResponseError as error:
        return "in_progress" if "in progress" in str(error).lower() else "refused"
    except RedisError:
        return "unavailable"
    return "started"


def referenced_files(redis: Redis) -> References:
    """Every sha256 the envelopes in Redis name, directly or through the record of a provider URL they carry.

    SCAN, never KEYS (it would stop Redis for every other process while it walks millions of keys). An envelope
    stored while the scan runs may be missed: its files are new, or were marked used, after the caller began to read
    (`purge` keeps those)."""
    names: set[bytes] = set()
    envelopes = unreadable = 0
    try:
        if not redis.exists(SEQUENCE_KEY):
            raise NotTheGatewaysRedis(
                "the Redis read has never minted a Tracking ID, so no envelope would keep any file: is REDIS_URL "
                "(and its database number) the gateway's? nothing was deleted")
        for keys in _scanned(redis):
            raws = redis.mget(keys)
            urls: list[str] = []
            for key, raw in zip(keys, raws, strict=True):
                if raw is None:  # expired since the scan saw it, or no string
                    continue
                envelopes += 1
                names.update(SHA256.findall(raw))
                envelope = readable_envelope(key.decode(errors="replace").removeprefix(_ENVELOPE_PREFIX), raw)
                if envelope is None:
                    # Its provider's files too: the URLs written in it, as far as it goes, lead to their records.
                    unreadable += 1
                    urls.extend(url.decode(errors="replace") for url in JSON_URL.findall(raw))
                    continue
                urls.extend(_provider_urls(envelope))
            names.update(_fetched_names(redis, urls))
    except RedisError as error:
        raise RedisUnavailable(f"Redis could not be read ({type(error).__name__}), so which files the envelopes "
                               "name is unknown: nothing was deleted", error) from None
    return References(frozenset(names), envelopes, unreadable)


def spooled_files(directory: Path) -> frozenset[bytes]:
    """Every sha256 the records waiting in the spool name, read from the raw lines (a damaged record keeps its files
    too, as a damaged envelope does). Raises SpoolUnreadable when a file waiting for replay cannot be read."""
    names: set[bytes] = set()
    for path in Spool(directory).pending_files():
        # A `.spool` claimed for replay since it was listed is read under its new name; one gone altogether was
        # replayed into Redis, read after this.
        for name in dict.fromkeys((path, path.with_suffix(CLAIMED_SUFFIX))):
            try:
                with name.open("rb") as handle:
                    for line in handle:
                        names.update(SHA256.findall(line))
                break
            except FileNotFoundError:
                continue
            except OSError as error:
                raise SpoolUnreadable(f"a spool file waiting for replay could not be read ({type(error).__name__}), "
                                      "so which files its reports name is unknown: nothing was deleted") from None
    return frozenset(names)


def _scanned(redis: Redis) -> Iterator[list[bytes]]:
    """The envelope keys, a SCAN step's worth at a time."""
    cursor = 0
    while True:
        cursor, keys = redis.scan(cursor, match=_ENVELOPE_PATTERN, count=SCAN_COUNT)
        if keys:
            yield list(keys)
        if cursor == 0:
            return


def _provider_urls(envelope: dict[str, Any]) -> Iterator[str]:
    attachments = envelope.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        location = attachment.get("location") if isinstance(attachment, dict) else None
        if isinstance(location, str) and is_provider_url(location):
            yield location


def _fetched_names(redis: Redis, urls: list[str]) -> Iterable[bytes]:
    """The files the forward worker fetched these URLs as (it finds them by the same records)."""
    if not urls:
        return []
    records = (fetched_record(raw) for raw in redis.mget([fetched_key(url) for url in dict.fromkeys(urls)]))
    return [record.sha256.encode() for record in records if record is not None]


def _purge_attachments(root: Path, named: frozenset[bytes], deadline: float, orphaned: float,
                       result: PurgeResult) -> None:
    """attachments/<sha[:2]>/<sha256>: a file no envelope names and unused since `deadline` goes, and so does a
    temporary file not written since `orphaned` (a write or a purge cut short: part of a citizen's file). Anything
    else is left."""
    for folder in _entries(root, result):
        if not folder.is_dir(follow_symlinks=False):
            continue
        for entry in _entries(Path(folder.path), result):
            name = entry.name
            content = _SHA256_NAME.fullmatch(name) is not None and name[:2] == folder.name
            if not content and not ANY_TEMPORARY.fullmatch(name):
                continue
            stat = _stat(entry, result)
            if stat is None:
                continue
            if content and name.encode() in named:
                result.kept_named.add(stat.st_size)
                continue
            since = deadline if content else orphaned
            if stat.st_mtime >= since:
                result.kept_recent.add(stat.st_size)
            else:
                _delete(Path(entry.path), stat.st_size, since, result, result.deleted, result.kept_recent)


def _purge_by_age(directory: Path, files: AgedFiles, deadline: float, orphaned: float, result: PurgeResult,
                  deleted: Tally, kept: Tally) -> None:
    """An item goes whole (`files.first` first), once none of its files was written since `deadline`; a temporary
    file not written since `orphaned` goes too. Anything else is left."""
    items: dict[str, list[tuple[Path, os.stat_result]]] = {}
    for entry in _entries(directory, result):
        if files.temporary.fullmatch(entry.name):
            stat = _stat(entry, result)
            if stat is not None and stat.st_mtime < orphaned:  # counted as an item: it is one, or part of one
                _delete(Path(entry.path), stat.st_size, orphaned, result, deleted, Tally())
            continue
        match = files.item.fullmatch(entry.name)
        if match is None:
            continue
        stat = _stat(entry, result)
        if stat is not None:
            items.setdefault(match["key"], []).append((Path(entry.path), stat))
    for item in items.values():
        size = sum(stat.st_size for _, stat in item)
        if any(stat.st_mtime >= deadline for _, stat in item):
            kept.add(size)
            continue
        gone, put_back = Tally(), Tally()
        for path, stat in sorted(item, key=lambda found: found[0].suffix != files.first):
            _delete(path, stat.st_size, deadline, result, gone, put_back)
        if put_back.files:
            kept.add(size)
        elif gone.files:
            deleted.add(gone.bytes)


def _entries(directory: Path, result: PurgeResult) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError:
        return []
    except OSError:
        result.failed += 1
        return []


def _stat(entry: os.DirEntry[str], result: PurgeResult) -> os.stat_result | None:
    """A regular file's stat; None for anything else (a link, a folder) and for one gone meanwhile."""
    try:
        stat = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError:
        result.failed += 1
        return None
    return stat if entry.is_file(follow_symlinks=False) else None


def _delete(path: Path, size: int, deadline: float, result: PurgeResult, deleted: Tally, kept: Tally) -> None:
    """Delete `path` unless a writer marks it used before it is gone (see the module's docstring)."""
    if result.dry_run:
        deleted.add(size)
        return
    aside = path.with_name(f".{path.name}.purge-{os.getpid()}{TEMPORARY_SUFFIX}")
    try:
        set_aside(path, aside)
        stat = aside.stat()
        if stat.st_mtime >= deadline:  # marked used between the look and the rename
            _put_back(aside, path)
            kept.add(stat.st_size)
            return
        aside.unlink()
    except FileNotFoundError:  # gone meanwhile (another purge)
        return
    except OSError:
        result.failed += 1
        return
    deleted.add(stat.st_size)


def _put_back(aside: Path, path: Path) -> None:
    """Never over a file written meanwhile (a quarantined mail's .json is rewritten, not only marked)."""
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links
        if not path.exists():
            os.rename(aside, path)
            return
    aside.unlink()


def set_aside(path: Path, aside: Path) -> None:
    """The step that decides: after it, a writer finds no file under `path` and writes one anew."""
    os.rename(path, aside)


def _log(result: PurgeResult, seconds: float) -> None:
    """One line per purge. Bytes as decimal megabytes: the log redaction takes an integer of nine digits or more for
    a phone number."""
    fields = {
        "retention_days": round(result.retention_seconds / DAY_SECONDS, 3),
        "envelopes": result.envelopes, "envelopes_unreadable": result.envelopes_unreadable,
        "files": result.deleted.files, "megabytes": result.deleted.bytes / 1_000_000,
        "kept_named": result.kept_named.files, "kept_recent": result.kept_recent.files,
        "quarantined_mails": result.quarantine_deleted.files,
        "quarantined_megabytes": result.quarantine_deleted.bytes / 1_000_000,
        "quarantined_kept": result.quarantine_kept.files,
        "spool_quarantined_records": result.spool_quarantine_deleted.files,
        "spool_quarantined_megabytes": result.spool_quarantine_deleted.bytes / 1_000_000,
        "spool_quarantined_kept": result.spool_quarantine_kept.files,
        "outbox_replies": result.outbox_deleted.files, "outbox_megabytes": result.outbox_deleted.bytes / 1_000_000,
        "outbox_kept": result.outbox_kept.files, "sms_outbox_days": result.sms_outbox_deleted.files,
        "sms_outbox_megabytes": result.sms_outbox_deleted.bytes / 1_000_000,
        "sms_outbox_kept": result.sms_outbox_kept.files, "unfiled_messages": result.unfiled_deleted,
        "unfiled_kept": result.unfiled_kept, "dead_letters": result.deadletters_deleted,
        "dead_letters_kept": result.deadletters_kept, "aof_rewrite": result.aof_rewrite, "failed": result.failed,
        "seconds": round(seconds, 3),
        **({"redis_error": type(result.redis_error).__name__, "not_purged": list(result.not_purged),
            "redis_errors": {step: type(error).__name__ for step, error in result.redis_errors.items()}}
           if result.redis_error is not None else {}),
    }
    (log.warning if result.failed or result.redis_error is not None else log.info)("attachments.purged", **fields)
