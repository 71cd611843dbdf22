"""The disk spool: where intake puts reports while Redis is unreachable, so the citizen is still answered.

Each record is one line, `<crc32 hex> <json>\n`, appended and fsync'd before the provider is acknowledged; an
append that fails is cut off the file again, so the next record starts on a line of its own (`Spool.append`).
Every process writes its own file (`<host>-p<pid>-t<start>.spool`, see `file_stem`); a replayer claims a file by
renaming it (`.replaying`), pushes its records into Redis in order through the same claim-and-commit path as live
intake, and deletes it only when every record is durable there. A record that cannot be read (torn write, bit rot)
is copied to `quarantine/` with the reason instead of being replayed forever; `lapor-gateway attachments purge`
deletes it after the retention (workers/retention.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from gateway.logs import get_logger, loggable_host
from gateway.private_files import open_private, private_directory, write_private

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


def encode_record(record: SpoolRecord) -> bytes:
    body = orjson.dumps({"v": 1, "tracking_id": record.tracking_id, "dedup_key": record.dedup_key,
                         "envelope": record.envelope})
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
    return SpoolRecord(data["tracking_id"], data["dedup_key"], data["envelope"])


class Spool:
    """Append-only, fsync'd files under `<data_dir>/spool`. Thread-safe for writers of one process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.quarantine = directory / QUARANTINE_DIR
        self._lock = threading.Lock()
        self._path = directory / f"{file_stem(socket.gethostname())}{SPOOL_SUFFIX}"
        # Files this process claimed for replay: retried at once after a replay cut short by another outage.
        self._claimed: set[Path] = set()

    def check_writable(self) -> None:
        """Prove the spool can take a record now; raise SpoolNotWritable naming the directory otherwise."""
        try:
            private_directory(self.directory)
            private_directory(self.quarantine)
            probe = self.directory / f".probe-{os.getpid()}"
            with open_private(probe) as handle:
                handle.write(b"probe")
                handle.flush()
                os.fsync(handle.fileno())
            probe.unlink()
        except OSError as error:
            raise SpoolNotWritable(f"spool directory {self.directory} is not writable: {error}") from error

    def append(self, records: list[SpoolRecord]) -> None:
        """Durable on disk when this returns (written and fsync'd). When it raises, nothing of `records` is left in
        the file (`_cut_back`). Unbuffered: a buffered file would write what a failed write left in its buffer
        when closed, after the cut."""
        payload = b"".join(encode_record(record) for record in records)
        with self._lock, open_private(self._path, append=True, buffered=False) as handle:
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
            torn, self._path = self._path, self.directory / f"{file_stem(socket.gethostname())}{SPOOL_SUFFIX}"
            log.error("spool.cut_back_failed", file=torn.name, next_file=self._path.name, error=type(error).__name__)

    def _pending_stats(self) -> list[tuple[os.stat_result, Path]]:
        """Files waiting for replay with their stat, oldest first. A file renamed or deleted meanwhile (a replayer
        claiming or finishing it) is left out, not an error: it is on its way."""
        stamped = []
        for path in [*self.directory.glob(f"*{SPOOL_SUFFIX}"), *self.directory.glob(f"*{CLAIMED_SUFFIX}")]:
            with contextlib.suppress(FileNotFoundError):
                stamped.append((path.stat(), path))
        return sorted(stamped, key=lambda entry: (entry[0].st_mtime_ns, entry[1]))

    def pending_files(self) -> list[Path]:
        """Files waiting for replay, oldest first (see `_pending_stats`)."""
        return [path for _, path in self._pending_stats()]

    def size_bytes(self) -> int:
        return sum(stat.st_size for stat, _ in self._pending_stats())

    def claim(self, path: Path) -> Path | None:
        """Take a file for replay (rename is atomic); None when another replayer has it or it is gone.

        A `.replaying` file is retried at once by the process that claimed it; one left by a replayer that died
        is taken over by another process after it is a minute old."""
        if path.suffix == CLAIMED_SUFFIX:
            if path in self._claimed or time.time() - path.stat().st_mtime >= 60:
                self._claimed.add(path)
                return path
            return None
        if path == self._path:
            with self._lock:
                if not path.exists():
                    return None
                target = path.with_suffix(CLAIMED_SUFFIX)
                path.rename(target)
                self._claimed.add(target)
                return target
        target = path.with_suffix(CLAIMED_SUFFIX)
        try:
            path.rename(target)
        except FileNotFoundError:
            return None
        self._claimed.add(target)
        return target

    def release(self, path: Path) -> None:
        """Forget a claimed file once it is fully replayed and deleted."""
        self._claimed.discard(path)

    def save_reserve(self, numbers: list[int]) -> None:
        """Leave leased, unused sequence numbers to the processes on this directory (whole and fsync'd, or none)."""
        if not numbers:
            return
        name = f"{RESERVE_PREFIX}{file_stem(socket.gethostname())}"
        partial = self.directory / f".{name}.partial"
        with open_private(partial) as handle:
            handle.write(orjson.dumps({"v": 1, "numbers": numbers}))
            handle.flush()
            os.fsync(handle.fileno())
        partial.rename(self.directory / f"{name}{RESERVE_SUFFIX}")

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
                numbers = orjson.loads(taken.read_bytes())["numbers"]
                if not all(type(number) is int and number > 0 for number in numbers):
                    raise ValueError("not sequence numbers")
            except (OSError, ValueError, KeyError, TypeError) as error:  # a damaged file: its IDs stay unused
                log.error("spool.reserve_unreadable", file=path.name, reason=type(error).__name__)
                numbers = []
            taken.unlink(missing_ok=True)
            if numbers:
                return numbers
        return []

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
