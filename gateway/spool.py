"""The disk spool: where intake puts reports while Redis is unreachable, so the citizen is still answered.

Each record is one line, `<crc32 hex> <json>\n`, appended and fsync'd before the provider is acknowledged; an
append that fails is cut off the file again, so the next record starts on a line of its own (`Spool.append`).
Every process writes its own file (`<host>-p<pid>-t<start>.spool`, see `file_stem`), open and locked while it lives;
a replayer claims a file whose owner is gone, or its own, by renaming it (`.replaying`; see `Spool` for the lock),
pushes its records into Redis in order through the same claim-and-commit path as live intake, and deletes it only
when every record is durable there. A record that cannot be read (torn write, bit rot) is copied to `quarantine/`
with the reason instead of being replayed forever; `lapor-gateway attachments purge` deletes it after the retention
(workers/retention.py).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import socket
import stat
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from redis import Redis

from gateway.logs import get_logger, loggable_host
from gateway.private_files import (
    ORPHAN_SECONDS,
    fsync_directory,
    open_private,
    private_directory,
    write_atomically,
    write_private,
    write_temporary,
)

log = get_logger()

# Under the data dir.
SPOOL_DIR = "spool"
SPOOL_SUFFIX = ".spool"
CLAIMED_SUFFIX = ".replaying"
# Tracking-ID sequence numbers a process leased and did not use, left for the processes that need them (see
# `save_reserve`): a gateway restarted while Redis is down can still answer from the spool.
RESERVE_PREFIX = "reserve-"
RESERVE_SUFFIX = ".json"
# A record that could not be read, under the spool directory: `<spool file's stem>-line<n>.bad` (the line as it was)
# and `.reason` beside it. The stem is `key`: the two files are one record to the retention's purge.
QUARANTINE_DIR = "quarantine"
QUARANTINED_RECORD = re.compile(r"(?P<key>.+-line[0-9]+)\.(?:bad|reason)", re.DOTALL)

# The files found unreadable (`Spool.unreadable`), by path without its suffix, and the error's name: told once per
# process, not at every replay round nor at every status view (each reads the spool's size through a Spool of its own).
_told_unreadable: dict[str, str] = {}
# Spools whose answered reports a replayer has not moved into Redis for `REPLAY_STUCK_SECONDS` though Redis answers
# (a file it cannot read, ...): a hash, a field per replayer (`<host>-p<pid>-t<start>`, see `SpoolReplayer`), its
# value JSON {"spool", "host", "since", "at", "bytes", "reason"}, written by the replayer every
# round while it lasts and deleted once the spool is empty. The status views say it, one spool per identity with
# each of its replayers' reasons; an entry whose replayer stopped writing (`at` older than
# `REPLAY_STUCK_FRESH_SECONDS`) is not shown, and deleted once older than `REPLAY_STUCK_EXPIRE_SECONDS` by the next
# replayer that writes one (a stopped or killed process's entry, under a pid never used again). `at` is Redis's clock
# (`redis_time`), as the views' `now`: the hosts' own may differ by minutes.
REPLAY_STUCK_KEY = "lapor:spool:replay-stuck"
REPLAY_STUCK_SECONDS = 30.0
REPLAY_STUCK_FRESH_SECONDS = 30.0
REPLAY_STUCK_EXPIRE_SECONDS = 86_400.0
# In the spool directory: a token naming the spool whatever the path or host it is reached by (`Spool.identity`).
SPOOL_ID_FILE = ".spool-id"
SPOOL_ID = re.compile(rb"[0-9a-f]{16}")
# What a process killed at the wrong moment leaves in the spool directory besides temporary files: a new spool file
# not yet renamed (`.<name>.opening`, empty), a saved reserve taken or dropped and not yet deleted
# (`.<reserve>.taken-<pid>`, sequence numbers only), a writability probe (`.probe-<pid>-<thread>`). Removed at start
# once `ORPHAN_SECONDS` old (`remove_leftovers`).
LEFTOVER = re.compile(r"\..+\.opening|\..+\.taken-[0-9]+|\.probe-[0-9]+-[0-9]+", re.DOTALL)


def redis_time(reply: tuple[int, int]) -> float:
    """Redis's TIME reply as seconds: the one clock every host's processes share."""
    seconds, microseconds = reply
    return seconds + microseconds / 1_000_000


def drop_expired_stuck_entries(redis: Redis, now: float) -> int:
    """Delete the entries of `REPLAY_STUCK_KEY` not refreshed for `REPLAY_STUCK_EXPIRE_SECONDS` by Redis's clock
    (`now`), and those without a time (damaged: never shown, never refreshed). Their replayers stopped: kept, the
    hash grew by one for every restarted process that was ever stuck. Returns how many."""
    expired = []
    for field, value in redis.hgetall(REPLAY_STUCK_KEY).items():
        try:
            at = orjson.loads(value).get("at")
        except (orjson.JSONDecodeError, AttributeError):
            at = None
        if not isinstance(at, int | float) or now - at > REPLAY_STUCK_EXPIRE_SECONDS:
            expired.append(field)
    return redis.hdel(REPLAY_STUCK_KEY, *expired) if expired else 0


def remove_leftovers(directory: Path, *, older_than: float | None = None) -> int:
    """Delete the `LEFTOVER` files in the spool `directory` not changed for `older_than` seconds (by the later of
    mtime and ctime: a reserve renamed a moment ago keeps the mtime its saver gave it hours before) that no live
    process holds: a spool file's `.opening` is locked by its maker from its creation, so one whose lock can be
    taken was left by a process gone (a `.taken-*` is not locked: held for a moment, it is never that old). Deleted,
    a taken reserve's numbers are a gap in the sequence, never given out: put back, one its taker was dropping (found
    above Redis's sequence) would be taken again. Returns how many."""
    deadline, removed = time.time() - (ORPHAN_SECONDS if older_than is None else older_than), 0
    try:
        with os.scandir(directory) as entries:
            found = [Path(entry.path) for entry in entries if LEFTOVER.fullmatch(entry.name)]
    except OSError:  # not there yet, or not ours to read
        return 0
    for path in found:
        with contextlib.suppress(OSError):
            seen = path.lstat()
            # Old before its lock is tried: a lock taken on a new `.opening` failed its maker's own, and its append.
            if not stat.S_ISREG(seen.st_mode) or max(seen.st_mtime, seen.st_ctime) >= deadline:
                continue
            handle = _lock_if_abandoned(path)  # None: a live process holds it
            if handle is None:
                continue
            with handle:
                opened = os.fstat(handle.fileno())
                if (seen.st_dev, seen.st_ino) == (opened.st_dev, opened.st_ino):  # the file aged, not one since
                    path.unlink()
                    removed += 1
    return removed


def file_stem(host: str) -> str:
    """`<host>-p<pid>-t<ns>` for this process now, pid and time in hex after a letter: unique, and logged as it is on
    disk. In decimal (`vm-4242-1764600000000000000`, the old form, still replayed) the log redaction took the digits
    for a phone number. A host name that itself reads as one is replaced by its checksum (`loggable_host`)."""
    return f"{loggable_host(host)}-p{os.getpid():x}-t{time.time_ns():x}"


class SpoolNotWritable(RuntimeError):
    """The spool directory cannot be written: the process must not start (it could lose reports)."""


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    tracking_id: str
    dedup_key: str
    envelope: dict[str, Any]
    # The message's identity at intake where it is not the envelope's `channel_message_id` (an aggregator's SMS:
    # `ReportDraft.dedup_id`, kept out of the envelope): what the replay forgets a message kept unfiled by.
    identity: str | None = None


def encode_record(record: SpoolRecord) -> bytes:
    data: dict[str, Any] = {"v": 1, "tracking_id": record.tracking_id, "dedup_key": record.dedup_key,
                            "envelope": record.envelope}
    if record.identity is not None:
        data["identity"] = record.identity
    body = orjson.dumps(data)
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def decode_record(line: bytes) -> SpoolRecord:
    """Raise ValueError with the reason when the line is not an intact record."""
    if not line.endswith(b"\n"):
        raise ValueError("truncated record (no newline)")
    checksum, _, body = line.rstrip(b"\n").partition(b" ")
    try:
        expected = int(checksum, 16)
    except ValueError:
        raise ValueError("malformed checksum") from None
    if zlib.crc32(body) != expected:
        raise ValueError("checksum mismatch")
    data = orjson.loads(body)
    return SpoolRecord(data["tracking_id"], data["dedup_key"], data["envelope"], data.get("identity"))


class Spool:
    """Append-only, fsync'd files under `<data_dir>/spool`. Thread-safe for writers of one process.

    Who may take a file for replay is settled by a lock on it (flock), held by whoever uses it: the process writing
    a `.spool` keeps it open and locked from before it has that name until it claims it itself or stops (`close`, or
    its exit), and a replayer holds the `.replaying` file it replays until it has deleted it. A replayer takes only a
    file whose lock it gets, so one whose owner is gone (the kernel lets a dead process's locks go), and at once.
    Never a live process's `.spool`: an append that had opened it before the rename would land after the replayer
    read it to its end, and be deleted with it. Never a file another replayer is replaying: both would store its
    reports and enqueue their forward jobs, and the second to finish find it gone. Its age, the rule before, tells
    neither: a rename keeps the mtime (a file claimed a moment ago looked as old as its last append), and an mtime
    refreshed while replaying would still give away a replay stalled past the limit, and says nothing of a writer."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.quarantine = directory / QUARANTINE_DIR
        self._lock = threading.Lock()
        self._path = self._new_path()
        self._file: BinaryIO | None = None  # `_path`, open and locked, once something was appended to it
        # Files this process claimed for replay, each open to hold its lock: retried at once after a replay cut short
        # by another outage.
        self._claimed: dict[Path, BinaryIO] = {}
        # Why the last file the replayer could not read was not read ("<file>: <error>; see ..."), in this round.
        self.last_unreadable: str | None = None

    def _new_path(self) -> Path:
        return self.directory / f"{file_stem(socket.gethostname())}{SPOOL_SUFFIX}"

    def identity(self) -> str | None:
        """A token naming this spool, kept in it (`SPOOL_ID_FILE`, made by the first process that asks): the same
        for every host that mounts the directory, whatever its path there, and different for two hosts' own
        directories under one path. One that is no token (emptied or edited by hand, a disk's damage) is replaced:
        left, host and path stood for it on each host, and a stuck spool two hosts share was counted once per host.
        Two replacing it at once leave the last one's, which every caller reads from then on (none keeps it). None
        where it can be neither read nor made (an I/O error)."""
        path = self.directory / SPOOL_ID_FILE
        try:
            try:
                found: bytes | None = path.read_bytes().strip()
            except FileNotFoundError:
                found = None
            if found is None or not SPOOL_ID.fullmatch(found):
                made = write_temporary(path, secrets.token_hex(8).encode(), what="spool_id")
                try:
                    if found is None:
                        os.link(made, path)  # never over one another process made meanwhile
                    else:
                        os.replace(made, path)
                    fsync_directory(self.directory)
                except FileExistsError:
                    pass
                finally:
                    made.unlink(missing_ok=True)
                found = path.read_bytes().strip()
        except OSError:
            return None
        return found.decode() if SPOOL_ID.fullmatch(found) else None

    def check_writable(self) -> None:
        """Prove the spool can take a record now; raise SpoolNotWritable naming the directory otherwise."""
        try:
            private_directory(self.directory)
            private_directory(self.quarantine)
            # Per thread: the status views probe from several threads of one process at once, and one's unlink
            # made another's fail.
            probe = self.directory / f".probe-{os.getpid()}-{threading.get_ident()}"
            try:
                with open_private(probe) as handle:
                    handle.write(b"probe")
                    handle.flush()
                    os.fsync(handle.fileno())
            finally:  # a full disk failed the write and left it: one more file each `status` run, for good
                with contextlib.suppress(OSError):
                    probe.unlink(missing_ok=True)
        except OSError as error:
            raise SpoolNotWritable(f"spool directory {self.directory} is not writable: {error}") from error

    def failure(self) -> str | None:
        """Why the spool could not take a record now, or None when it could. None too where this process cannot
        tell: no spool here (a status command run on a host without a gateway; none is made) or another account's
        (a viewer that may not write there is no sign that the gateway cannot)."""
        try:
            owner = os.lstat(self.directory).st_uid
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"spool directory {self.directory} cannot be looked at: {error}"
        if owner != os.geteuid() and os.geteuid() != 0:
            return None
        try:
            self.check_writable()
        except SpoolNotWritable as error:
            # The error's words without the probe file's name (a number the views' scrubbing takes for a phone's).
            cause = error.__cause__
            why = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause or error)
            return f"spool directory {self.directory} is not writable: {why}"
        return None

    def append(self, records: list[SpoolRecord]) -> None:
        """Durable on disk when this returns (written and fsync'd). When it raises, nothing of `records` is left in
        the file (`_cut_back`). Unbuffered: a buffered file would write what a failed write left in its buffer
        when closed, after the cut."""
        payload = b"".join(encode_record(record) for record in records)
        with self._lock:
            handle = self._live_file()
            start = os.fstat(handle.fileno()).st_size
            try:
                unwritten = memoryview(payload)
                while unwritten:
                    unwritten = unwritten[handle.write(unwritten):]
                os.fsync(handle.fileno())
            except OSError:
                self._cut_back(handle, start)
                raise

    def _cut_back(self, handle: BinaryIO, size: int) -> None:
        """Take a failed append's bytes off the end of the file. A full disk (ENOSPC) writes part of a batch, then
        fails: left there, the next record, acknowledged, would follow them on the same line, fail its checksum on
        replay and go to quarantine. Should the cut fail too, the next records go to a new file."""
        try:
            os.ftruncate(handle.fileno(), size)
        except OSError as error:
            log.error("spool.cut_back_failed", file=self._path.name, error=type(error).__name__)
            self._let_go_of_live_file()  # a replayer's to take, its torn end quarantined

    def _live_file(self) -> BinaryIO:
        """This process's `.spool`, open and locked (under `_lock`). A new one is made under a name no replayer looks
        at and locked before it is renamed to its own, so that no replayer takes it in between. One renamed away
        by a process that takes no lock (an older version's replayer) is not written to again."""
        if self._file is not None:
            if _still_named(self._path, self._file):
                return self._file
            log.warning("spool.file_taken_while_written", file=self._path.name)
            self._let_go_of_live_file()
        path = self._new_path()
        opening = path.with_name(f".{path.name}.opening")
        handle = open_private(opening, append=True, buffered=False)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file nobody else knows yet
            opening.rename(path)
            try:
                fsync_directory(self.directory)  # its name as durable as the records fsync'd in it
            except OSError:
                path.unlink(missing_ok=True)
                raise
        except BaseException:
            handle.close()
            opening.unlink(missing_ok=True)
            raise
        self._path, self._file = path, handle
        return handle

    def _let_go_of_live_file(self) -> None:
        """Close this process's `.spool` (under `_lock`), its lock with it: the next append starts a new one."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def close(self) -> None:
        """Let go of this process's `.spool`, for a process that stops: the gateways that go on replay it at once, as
        after its exit. Files it is replaying stay its own until it has deleted them (or exits)."""
        with self._lock:
            self._let_go_of_live_file()

    def _pending_stats(self) -> list[tuple[os.stat_result, Path]]:
        """Files waiting for replay with their stat, oldest first. A file renamed or deleted meanwhile (a replayer
        claiming or finishing it) is left out, not an error: it is on its way. So is, told once and left where it is
        for the operator, a name that cannot be looked at (a symbolic link to itself) or is no file (a directory; a
        FIFO, whose read would wait for ever): raised, it failed the status views' size read, and every replay round
        before the files after it."""
        stamped = []
        for path in [*self.directory.glob(f"*{SPOOL_SUFFIX}"), *self.directory.glob(f"*{CLAIMED_SUFFIX}")]:
            try:
                found = path.stat()
            except FileNotFoundError:
                continue
            except OSError as error:
                self.unreadable(path, error)
                continue
            if stat.S_ISREG(found.st_mode):
                stamped.append((found, path))
            elif stat.S_ISDIR(found.st_mode):
                self.unreadable(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
            else:
                self.unreadable(path, OSError(errno.EINVAL, "not a regular file"))
        return sorted(stamped, key=lambda entry: (entry[0].st_mtime_ns, entry[1]))

    def pending_files(self) -> list[Path]:
        """Files waiting for replay, oldest first (see `_pending_stats`)."""
        return [path for _, path in self._pending_stats()]

    def size_bytes(self) -> int:
        return sum(stat.st_size for stat, _ in self._pending_stats())

    def may_hold(self, tracking_id: str) -> bool:
        """Whether a file waiting for replay may hold the report `tracking_id`: one of its records names it, or the
        file cannot be read (it may). Read as bytes, a damaged line too: erring towards "may" only makes a status
        query wait for a replay. A spool's files do not say whether they hold an ID: asked of the spool as a whole,
        a CEK for an ID no spool holds (mistyped, never given, a report whose copy expired) waited for a replay that
        could not bring it, for hours while a file stayed (held by a hung gateway, unreadable), and was answered
        nowhere: addressed by a report whose copy never came."""
        needle = b'"tracking_id":' + orjson.dumps(tracking_id)
        for _ in range(3):
            vanished = False
            for path in self.pending_files():
                try:
                    with path.open("rb") as handle:
                        tail = b""
                        while chunk := handle.read(1 << 20):
                            if needle in tail + chunk:
                                return True
                            tail = chunk[-len(needle):]
                except FileNotFoundError:  # replayed and deleted, or claimed under its `.replaying` name: looked again
                    vanished = True
                except OSError:
                    return True
            if not vanished:
                return False
        return True

    def claim(self, path: Path) -> Path | None:
        """Take a file for replay, renamed `.replaying`, and hold its lock until `release`; None while a live process
        holds it (its writer, another replayer), or once it is gone. A file this process claimed before is still
        its own: a replay cut short by another outage is retried at once."""
        if path in self._claimed:
            return path
        with self._lock:
            if path == self._path and self._file is not None:  # its own: its appends wait on `_lock`
                target = path.with_suffix(CLAIMED_SUFFIX)
                path.rename(target)
                self._claimed[target], self._file = self._file, None
                return target
        handle = _lock_if_abandoned(path)
        if handle is None:
            return None
        target = path.with_suffix(CLAIMED_SUFFIX)
        try:
            if target != path:
                if target.exists():  # a replay under that name not finished (older versions reused names): first
                    handle.close()
                    return None
                path.rename(target)
        except BaseException:
            handle.close()
            raise
        self._claimed[target] = handle
        return target

    def held_elsewhere(self) -> str | None:
        """Why the oldest file waiting that this process has not claimed is not replayed by it: another live process
        holds its lock (a gateway that does not reach Redis, or hung, writing or replaying it). Its name, for the
        stuck spool's reason: "not replayed; see spool.file_unreadable" sent the operator to a line never logged."""
        held = [path for path in self.pending_files() if path not in self._claimed]
        return f"{held[0].name}: held by another live process (a gateway cut off from Redis, or hung)" if held else None

    def release(self, path: Path) -> None:
        """Let go of a claimed file once it is fully replayed and deleted."""
        handle = self._claimed.pop(path, None)
        if handle is not None:
            handle.close()

    def unreadable(self, path: Path, error: OSError) -> None:
        """A file the replayer could not open or read: left as it is (not quarantined, not deleted: its records may
        all be intact), tried again at the next round, and told once per file and error, not once a second. Also a
        name that cannot be looked at or is no file (`_pending_stats`), which no round tries again."""
        reason, told = type(error).__name__, str(path.with_suffix(""))
        self.last_unreadable = f"{path.name}: {reason}; see spool.file_unreadable"
        if _told_unreadable.get(told) != reason:
            _told_unreadable[told] = reason
            log.error("spool.file_unreadable", file=path.name, error=reason, errno=error.errno)

    def save_reserve(self, numbers: list[int]) -> None:
        """Leave leased, unused sequence numbers to the processes on this directory (whole and fsync'd, or none)."""
        if not numbers:
            return
        name = f"{RESERVE_PREFIX}{file_stem(socket.gethostname())}{RESERVE_SUFFIX}"
        write_atomically(self.directory / name, orjson.dumps({"v": 1, "numbers": numbers}), what="spool_reserve")

    def saved_reserves(self) -> int:
        """How many reserves left by processes that stopped are waiting to be taken."""
        return len(list(self.directory.glob(f"{RESERVE_PREFIX}*{RESERVE_SUFFIX}")))

    def take_saved_reserve(self) -> list[int]:
        """One reserve left by a process that stopped ([] when none is left), taken by exactly one process (rename
        is atomic). One at a time: several processes starting on one directory each get one, and a process whose
        reserve runs out during an outage takes the next (see `Intake.take_saved_reserve`). A damaged file is
        dropped and the next one taken."""
        for path in sorted(self.directory.glob(f"{RESERVE_PREFIX}*{RESERVE_SUFFIX}")):
            taken = path.with_name(f".{path.name}.taken-{os.getpid()}")
            try:
                path.rename(taken)
            except FileNotFoundError:  # another process took it first
                continue
            try:
                numbers = _reserve_numbers(taken)
            except (OSError, ValueError, KeyError, TypeError) as error:  # a damaged file: its IDs stay unused
                log.error("spool.reserve_unreadable", file=path.name, reason=type(error).__name__)
                numbers = []
            taken.unlink(missing_ok=True)
            if numbers:
                return numbers
        return []

    def peek_saved_reserves(self) -> list[tuple[Path, list[int]]]:
        """The reserves waiting to be taken, read without taking them (one taken meanwhile, or damaged, left out): what
        the stopped processes leased, for `Intake` to hold Redis's sequence against."""
        found = []
        for path in sorted(self.directory.glob(f"{RESERVE_PREFIX}*{RESERVE_SUFFIX}")):
            try:
                found.append((path, _reserve_numbers(path)))
            except (OSError, ValueError, KeyError, TypeError):  # taken meanwhile; a damaged one is its taker's to tell
                continue
        return found

    def discard_saved_reserve(self, path: Path) -> bool:
        """Drop one saved reserve (its numbers are never minted: a gap); False when another process took it first."""
        taken = path.with_name(f".{path.name}.taken-{os.getpid()}")
        try:
            path.rename(taken)
        except FileNotFoundError:
            return False
        taken.unlink(missing_ok=True)
        return True

    def read(self, path: Path) -> Iterator[SpoolRecord]:
        """The intact records of a claimed file in order; damaged lines go to quarantine with the reason."""
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    yield decode_record(line)
                except (ValueError, KeyError, orjson.JSONDecodeError) as error:
                    self._quarantine(path, number, line, str(error))

    def _quarantine(self, path: Path, number: int, line: bytes, reason: str) -> None:
        private_directory(self.quarantine)
        target = self.quarantine / f"{path.stem}-line{number}.bad"
        write_private(target, line)
        write_private(target.with_suffix(".reason"), (reason + "\n").encode())
        log.error("spool.record_quarantined", file=path.name, line_number=number, reason=reason)


def _reserve_numbers(path: Path) -> list[int]:
    """The sequence numbers of a saved reserve; raises (OSError, ValueError, KeyError, TypeError) for a damaged one."""
    numbers = orjson.loads(path.read_bytes())["numbers"]
    if not all(type(number) is int and number > 0 for number in numbers):
        raise ValueError("not sequence numbers")
    return list(numbers)


def _lock_if_abandoned(path: Path) -> BinaryIO | None:
    """`path` open and locked, when no live process holds its lock; None when one does, or it is gone."""
    try:
        handle = path.open("r+b")  # for writing: over NFS an exclusive lock asks for it
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        if _still_named(path, handle):
            return handle
    except BlockingIOError:
        pass
    except BaseException:
        handle.close()
        raise
    handle.close()  # held by another, or replayed and deleted between the open and the lock
    return None


def _still_named(path: Path, handle: BinaryIO) -> bool:
    """Whether `path` still names the file `handle` has open (not renamed away, nor deleted)."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
