"""Whether Redis lost its data under the running processes: a restart without persistence, a failover to a replica
that had nothing, a FLUSHDB by hand.

Redis answers again at once, the processes beat, and every view read OK, while what Redis held was gone: the jobs
queued and not yet run (reports not yet forwarded, replies not yet sent), the records that catch a message delivered
twice (a provider's retry was filed as a second report with a second Tracking ID) and the pollers' places. So the
first process to beat writes a random epoch into Redis (`EPOCH_KEY`), and each remembers the one it saw, in memory
and in its data dir (`EPOCH_FILE`, for the processes started after it on the host); a beat that finds it gone or
another one says the data was lost, and notes when and by whom (`DATA_LOST_KEY`, kept
`DATA_LOST_SHOWN_SECONDS`), which every view shows as a degraded state with what to check. One script does it, so two
processes noticing at once note one loss.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import orjson
from redis import Redis

from gateway.embedded_redis import redis_database

# The deployment's epoch in this Redis: written once (by the first beat on an empty Redis), never changed.
EPOCH_KEY = "lapor:health:redis_epoch"
# The last loss noticed: `epoch` (the new one), `at` (Redis's clock, Unix seconds), `by` (the process that noticed).
DATA_LOST_KEY = "lapor:health:redis_data_lost"
# The epoch of the last loss noted, kept without expiry: a loss is noted once, however late a process that saw the
# epoch before it beats again (a frozen one resumed, one cut off from Redis for a while). Read from `DATA_LOST_KEY`,
# the operator's DEL of it (or its expiry) let such a process note the same loss again, a day more on every view.
NOTED_KEY = "lapor:health:redis_loss_noted"
# How long a loss stays on the views (a day: an operator paged at night reads it in the morning); deleting the key
# clears it sooner (README, "When Redis lost its data").
DATA_LOST_SHOWN_SECONDS = 24 * 3600

# KEYS: epoch, data_lost, noted. ARGV: the epoch this process saw ('' before its first beat), a fresh one to write if
# none is there, the process, how long the loss is kept. Returns the epoch now in Redis.
_CHECK_EPOCH = """
local current = redis.call('GET', KEYS[1])
if current and current == ARGV[1] then return current end
if not current then
  redis.call('SET', KEYS[1], ARGV[2])
  current = ARGV[2]
end
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= current then
  redis.call('SET', KEYS[3], current)
  local now = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'epoch', current, 'at', now[1], 'by', ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return current
"""


# Where a host's processes keep the epoch they last saw (under LAPOR_DATA_DIR), so that one starting again compares
# with it: a host rebooted with its Redis, or everything restarted after Redis lost its data, began with nothing seen
# and noted no loss, the commonest one missed. It names the Redis and database it was read from (`redis_database`):
# a process of another Redis or database on the same data dir (a second deployment, a dev run beside a test run, a
# move to a new Redis) compares with nothing, where the epoch alone read as that Redis's loss at its every start.
EPOCH_FILE = "redis_epoch"


class RedisEpoch:
    """The epoch one process saw, checked at each of its beats (`gateway.liveness.ServingBeat`), and kept in
    `data_dir` (None: in memory only) for the next process on the host."""

    def __init__(self, redis: Redis, process: str, data_dir: Path | None = None) -> None:
        self._check = redis.register_script(_CHECK_EPOCH)
        self._process = process
        self._redis = redis_database(redis)
        self._file = None if data_dir is None else data_dir / EPOCH_FILE
        self.seen = self._read_kept()

    def _read_kept(self) -> str:
        """The epoch kept for this process's Redis and database; "" for none, another's, or an unreadable file."""
        try:
            kept = orjson.loads(self._file.read_bytes()) if self._file is not None else None
        except (OSError, orjson.JSONDecodeError):  # none yet, or unreadable: nothing seen
            return ""
        if not isinstance(kept, dict) or kept.get("redis") != self._redis or not isinstance(kept.get("epoch"), str):
            return ""
        return str(kept["epoch"])

    def _keep(self, epoch: str) -> None:
        """Write the epoch for the next process, whole or not at all; a data dir that takes no file keeps nothing
        (the spool's own check says so on every view)."""
        if self._file is None:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            written = self._file.with_name(f".{EPOCH_FILE}.{os.getpid()}")
            written.write_bytes(orjson.dumps({"redis": self._redis, "epoch": epoch}))
            os.replace(written, self._file)
        except OSError:
            pass

    def check(self, redis: Redis | None = None) -> bool:
        """Whether Redis (`redis`, by default the one given first) lost its data since the last check (the first
        check: never). Raises RedisError."""
        current = self._check(keys=[EPOCH_KEY, DATA_LOST_KEY, NOTED_KEY],
                              args=[self.seen, uuid.uuid4().hex, self._process, DATA_LOST_SHOWN_SECONDS], client=redis)
        current = current.decode() if isinstance(current, bytes) else str(current)
        lost = bool(self.seen) and current != self.seen
        if current != self.seen:
            self._keep(current)
        self.seen = current
        return lost


def data_lost_record(raw: dict[bytes, bytes]) -> dict[str, Any] | None:
    """The loss `DATA_LOST_KEY` holds, as the status document shows it (`at` in Unix seconds, `by`), or None."""
    if not raw or b"at" not in raw:
        return None
    try:
        at = float(raw[b"at"])
    except ValueError:
        at = None
    return {"at": at, "by": raw.get(b"by", b"?").decode(errors="replace")}
