"""Files that hold citizens' reports: readable and writable by the gateway's own user only.

The spool, quarantined mail, attachments and the local outboxes carry numbers, addresses and words, an anonymous
reporter's among them. A common umask (022) would leave them readable by every account on the machine, so these
files and their directories get their modes here, whatever the umask.

A file written whole or not at all goes through a temporary name beside it (`.<name>.<hex>.tmp`, `write_temporary`):
a write that fails part way (a full disk, an I/O error, the file-size limit) removes it at once, so no citizen's data
stays on disk under a name nothing reads. One left by a process killed mid-write is an orphan once it is
ORPHAN_SECONDS old (a live write takes well under a second): `remove_orphans` deletes it, at each process's start and
at each purge (workers/retention.py), not after the retention of days.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path
from typing import BinaryIO

from gateway.logs import get_logger

log = get_logger()

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
# A file's name while it is written, before it is given its own.
TEMPORARY_SUFFIX = ".tmp"
# How old a temporary file is when no live writer can still be at it: its writer was killed (SIGKILL, the OOM killer,
# a power cut). Writes here are of one report's file or reply, done and renamed within a second.
ORPHAN_SECONDS = 600
# Any temporary file, in a directory the gateway alone writes.
ANY_TEMPORARY = re.compile(rf"\..*{re.escape(TEMPORARY_SUFFIX)}", re.DOTALL)


def private_directory(path: Path) -> Path:
    """Create `path` (and its parents) and make it the gateway user's only."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        # One made by an older version, or by hand: tightened. Not ours to change (another owner): left as it is.
        with contextlib.suppress(PermissionError):
            path.chmod(DIRECTORY_MODE)
    return path


def open_private(path: Path, *, append: bool = False, buffered: bool = True) -> BinaryIO:
    """Open `path` for binary writing (truncated, or appended to), created with FILE_MODE; one that is there already
    with a looser mode (an older version's, or one made by hand) is tightened before anything is written to it.
    Unbuffered, each `write` is one system call and may write less than it was given (a full disk)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, FILE_MODE)
    if _loose_file(os.fstat(descriptor)):
        with contextlib.suppress(PermissionError):  # not ours to change (another owner): left as it is
            os.fchmod(descriptor, FILE_MODE)
    return os.fdopen(descriptor, "ab" if append else "wb", buffering=-1 if buffered else 0)


def private_file(path: Path) -> Path:
    """Make `path`, if it is there, the gateway user's only: for a file another program creates and opens (SQLite's
    write-ahead log), which an older version may have left readable by every account."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if _loose_file(path.stat()):
            path.chmod(FILE_MODE)
    return path


def _loose_file(status: os.stat_result) -> bool:
    """Whether a regular file is readable or writable by others than its owner. Only a regular file is tightened: one
    of these names made a link to a device (`redis.stderr` -> /dev/null, to keep a disk free of it), and a gateway run
    as root made /dev/null its own (0600), every other account's program failing to open it from then on."""
    return stat.S_ISREG(status.st_mode) and bool(status.st_mode & 0o077)


def write_private(path: Path, data: bytes) -> None:
    with open_private(path) as handle:
        handle.write(data)


def fsync_directory(directory: Path) -> None:
    """The names made or renamed in `directory` made durable: fsyncing a file keeps its bytes, not its name."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def temporary_path(path: Path) -> Path:
    """A hidden name beside `path` no other write uses: `.<name>.<hex>.tmp`."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}")


def write_temporary(path: Path, data: bytes, *, what: str) -> Path:
    """`data` written whole and fsynced under a temporary name of its own beside `path` (created here, FILE_MODE),
    returned for the caller to give it its name. A write that fails part way removes it before raising."""
    temporary = temporary_path(path)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as error:
        discard_temporary(temporary, what, error)
        raise
    return temporary


def discard_temporary(temporary: Path, what: str, error: BaseException) -> None:
    """Remove a write's temporary file after `error` cut it short, logged by the kind of file (`what`) and the
    error's type and errno: never the path, which names a report, nor anything of the data."""
    try:
        temporary.unlink(missing_ok=True)
        removed = True
    except OSError:  # left for `remove_orphans`
        removed = False
    code = getattr(error, "errno", None)
    log.warning("private_file.write_failed", what=what, error=type(error).__name__,
                errno=errno.errorcode.get(code, "") if isinstance(code, int) else "", temporary_removed=removed)


def remove_orphans(directory: Path, pattern: re.Pattern[str] = ANY_TEMPORARY, *,
                   older_than: float = ORPHAN_SECONDS) -> int:
    """Delete the temporary files in `directory` (names `pattern` fullmatches) not written for `older_than` seconds:
    left by a writer killed mid-write. Returns how many; a directory that cannot be read is none."""
    deadline, removed = time.time() - older_than, 0
    try:
        with os.scandir(directory) as entries:
            found = [entry for entry in entries if pattern.fullmatch(entry.name)]
    except OSError:  # not there (nothing written yet), or not ours to read: the purge counts what it cannot read
        return 0
    for entry in found:
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < deadline:
                os.unlink(entry.path)
                removed += 1
    return removed


def write_atomically(path: Path, data: bytes, *, what: str = "file") -> None:
    """Written whole or not at all (a temporary name, fsynced, renamed): a crash never leaves half a file under its
    final name, and a write that fails part way leaves no temporary file either (`write_temporary`). The temporary
    name is this call's own, so two threads writing the same file never share one. `what` names the kind of file
    in the log line of a failure.

    Durable on return: its directory is fsynced after the rename, and so is each directory made for it (the one
    above holds its name). Without that a power cut kept the bytes but lost the name, and with it an e-mail reply
    the outbox had taken a moment before."""
    made, directory = [], path.parent
    while not directory.is_dir() and directory != directory.parent:
        made.append(directory)
        directory = directory.parent
    private_directory(path.parent)
    temporary = write_temporary(path, data, what=what)
    try:
        temporary.replace(path)
    except BaseException as error:
        discard_temporary(temporary, what, error)
        raise
    for synced in dict.fromkeys([path.parent, *(new.parent for new in made)]):
        fsync_directory(synced)
