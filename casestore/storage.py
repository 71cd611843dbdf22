"""SQLite storage for the reference case store: each Tracking ID stored once, in arrival order."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.private_files import open_private, private_directory, private_file

STATUSES = ("received", "verified", "forwarded", "in_progress", "resolved", "rejected", "archived")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tracking_id TEXT NOT NULL UNIQUE,
    follow_up_of TEXT,
    status TEXT NOT NULL DEFAULT 'received',
    stored_at REAL NOT NULL,
    envelope TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_follow_up_of ON reports (follow_up_of);
CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    content BLOB NOT NULL
);
"""


def _make_private(path: Path) -> None:
    """The database holds every report (an anonymous reporter's words, a named one's number and address): the
    gateway user's only, as the gateway's own files are (gateway/private_files.py), whatever the umask. SQLite creates
    a file 0644 less the umask, but gives its write-ahead log and shared-memory file the database file's mode: the
    database file is made first, empty (what SQLite takes for a new database), 0600."""
    private_directory(path.parent)
    with open_private(path, append=True):  # a new one empty; one an older version made 0644 tightened
        pass
    for companion in (path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        private_file(companion)  # left by an older version that stopped without a checkpoint


@dataclass(frozen=True, slots=True)
class StoreResult:
    tracking_id: str
    created: bool
    # Not created because another message is stored under this Tracking ID (`same_message`): nothing changed.
    taken: bool = False


def same_message(stored: dict[str, Any], posted: dict[str, Any]) -> bool:
    """Whether two envelopes under one Tracking ID are one provider message: the same channel and channel_message_id
    (a retry's text, time or files may differ; a new message under an ID given before, by a gateway whose Redis came
    back behind its Tracking-ID sequence, differs there)."""
    return all(stored.get(field) == posted.get(field) for field in ("channel", "channel_message_id"))


class ReportStore:
    """Thread-safe; one connection, one lock (the reference store favours clarity over concurrency)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) not in ("", ":memory:"):  # SQLite's names for a database of no file
            _make_private(Path(path))
        self._connection = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        # FULL: the write-ahead log is fsynced at each commit. With NORMAL a commit reached the disk only at the next
        # checkpoint, so a power loss could take back a report already answered 201, which the forward worker had
        # marked forwarded: in no queue, no dead letter and no case. One fsync a batch, not a report.
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._connection.close()

    def store_many(self, envelopes: Sequence[dict[str, Any]]) -> list[StoreResult]:
        """Insert each envelope unless its Tracking ID is already stored (`taken` when by another message, see
        `same_message`); one transaction. `stored_at` is taken once
        the transaction has begun: taken before waiting for the lock, behind the batches of other forward workers, it
        was earlier than the store by that wait (and the bench's webhook-to-stored latency shorter)."""
        results = []
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            now = time.time()
            try:
                for envelope in envelopes:
                    cursor.execute(
                        "INSERT OR IGNORE INTO reports (tracking_id, follow_up_of, stored_at, envelope) "
                        "VALUES (?, ?, ?, ?)",
                        (envelope["tracking_id"], envelope.get("follow_up_of"), now, orjson.dumps(envelope).decode()),
                    )
                    created = cursor.rowcount == 1
                    results.append(StoreResult(envelope["tracking_id"], created,
                                               taken=not created and not self._holds(cursor, envelope)))
                cursor.execute("COMMIT")
            except BaseException:
                # SQLite has rolled back already after some errors (a full disk): a ROLLBACK then fails, and its
                # "no transaction is active" was the error raised and logged in place of the disk's.
                if self._connection.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
        return results

    @staticmethod
    def _holds(cursor: sqlite3.Cursor, envelope: dict[str, Any]) -> bool:
        """Whether the report stored under this envelope's Tracking ID is its message (a repeat: read only then)."""
        query = "SELECT envelope FROM reports WHERE tracking_id = ?"
        row = cursor.execute(query, (envelope["tracking_id"],)).fetchone()
        return row is None or same_message(orjson.loads(row[0]), envelope)

    def get(self, tracking_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT seq, status, stored_at, envelope FROM reports WHERE tracking_id = ?", (tracking_id,)
            ).fetchone()
            if row is None:
                return None
            follow_ups = self._connection.execute(
                "SELECT envelope FROM reports WHERE follow_up_of = ? ORDER BY seq", (tracking_id,)
            ).fetchall()
        report = orjson.loads(row[3])
        # The store's own fields (normalizer.envelope.STORE_FIELDS), which no envelope it took names.
        report.update(status=row[1], seq=row[0], stored_at=row[2], follow_ups=[orjson.loads(f[0]) for f in follow_ups])
        return report

    def list_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT seq, status, envelope FROM reports WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [{**orjson.loads(envelope), "seq": seq, "status": status} for seq, status, envelope in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._connection.execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def put_attachment(self, sha256: str, content_type: str, content: bytes) -> bool:
        """Store an attachment under its sha256 unless already stored; True when it was new."""
        with self._lock:
            cursor = self._connection.execute(
                "INSERT OR IGNORE INTO attachments (sha256, content_type, size, stored_at, content) "
                "VALUES (?, ?, ?, ?, ?)", (sha256, content_type, len(content), time.time(), content),
            )
            return cursor.rowcount == 1

    def get_attachment(self, sha256: str) -> tuple[str, bytes] | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT content_type, content FROM attachments WHERE sha256 = ?", (sha256,)
            ).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def set_status(self, tracking_id: str, status: str) -> bool:
        with self._lock:
            cursor = self._connection.execute(
                "UPDATE reports SET status = ? WHERE tracking_id = ?", (status, tracking_id)
            )
            return cursor.rowcount == 1
