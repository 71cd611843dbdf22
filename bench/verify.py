"""The benchmark checks its own figures: every report counted as stored is in the case store exactly once.

Reads the reference case store's SQLite database directly (read-only), keyed by the provider's message id, so a
report stored twice under two Tracking IDs would be caught as well as a Tracking ID stored twice. Where nothing is
forwarded (the e-mail bench: intake alone), the same check runs on the envelopes intake made durable in Redis.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from gateway.queues import envelope_key, readable_envelope


@dataclass
class Verification:
    expected: int
    stored: int
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unexpected)

    def summary(self) -> dict[str, object]:
        return {"expected": self.expected, "stored": self.stored, "missing": len(self.missing),
                "duplicated": len(self.duplicated), "unexpected": len(self.unexpected), "ok": self.ok,
                "examples": (self.missing + self.duplicated + self.unexpected)[:5]}


def _connect(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)


def stored_rows(db_path: Path) -> list[tuple[str, str, float]]:
    """(provider message id, Tracking ID, stored_at) of every stored report."""
    if not db_path.exists():
        return []
    with _connect(db_path) as connection:
        return connection.execute(
            "SELECT json_extract(envelope, '$.channel_message_id'), tracking_id, stored_at FROM reports"
        ).fetchall()


def stored_count(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with _connect(db_path) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM reports").fetchone()[0])
    except sqlite3.OperationalError:  # the case store has not created its schema yet
        return 0


def durable_rows(redis: Redis) -> list[tuple[str, str, float]]:
    """(provider message id, Tracking ID, 0.0) of every envelope intake has stored in Redis, for `verify` where no
    case store runs (intake has no store time: 0.0). A value under an envelope key that is no readable envelope of
    its own (not JSON, another report's, no message id) is listed as `unreadable:<key>`, so it fails the check as
    unexpected instead of being passed over."""
    prefix = envelope_key("")
    keys = sorted(redis.scan_iter(match=envelope_key("*"), count=1_000))
    rows: list[tuple[str, str, float]] = []
    for start in range(0, len(keys), 1_000):
        chunk = keys[start:start + 1_000]
        for key, raw in zip(chunk, redis.mget(chunk), strict=True):
            if raw is None:  # gone since the scan
                continue
            name = key.decode() if isinstance(key, bytes) else key
            tracking_id = name[len(prefix):]
            envelope = readable_envelope(tracking_id, raw)
            sid = envelope.get("channel_message_id") if envelope else None
            rows.append((sid if isinstance(sid, str) else f"unreadable:{name}", tracking_id, 0.0))
    return rows


def verify(
    rows: Iterable[tuple[str, str, float]], expected: Iterable[str], allowed: Iterable[str] = ()
) -> Verification:
    """Each expected message id stored exactly once; nothing stored that was not sent (`allowed`: warm-up)."""
    expected_set, allowed_set = set(expected), set(allowed)
    counts = Counter(row[0] for row in rows)
    return Verification(
        expected=len(expected_set),
        stored=sum(count for sid, count in counts.items() if sid in expected_set),
        missing=sorted(expected_set - counts.keys()),
        duplicated=sorted(sid for sid, count in counts.items() if count > 1),
        unexpected=sorted(sid for sid in counts if sid not in expected_set and sid not in allowed_set),
    )


def stored_at_by_sid(rows: Iterable[tuple[str, str, float]]) -> dict[str, float]:
    return {sid: stored_at for sid, _, stored_at in rows}
