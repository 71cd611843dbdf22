"""Fixed-window counters in Redis: the reply jobs' send rates and per-address caps count with one function."""

from __future__ import annotations

from redis import Redis

# KEYS[1] the window: take one back only while the window is still there (its count and its expiry with it).
_UNCOUNT_SCRIPT = """
if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end
return 0
"""


def count_in_window(redis: Redis, key: str, ttl_seconds: int) -> int:
    """Count one more in the window `key` names; returns the count including this one.

    The increment and the expiry go in one MULTI/EXEC: a process that died between the two would leave a counter
    that never expires, and the rate or cap it holds would stay used up for good."""
    pipe = redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, ttl_seconds)
    count, _ = pipe.execute()
    return int(count)


def uncount_in_window(redis: Redis, key: str) -> None:
    """Take back one count of `count_in_window` (what it counted did not happen), only while the window exists.

    A bare DECR of a window gone meanwhile (expired, or lost with a Redis restart during the send) made a new key
    at -1 with no expiry: never deleted, and one more allowed than the cap in its window."""
    redis.eval(_UNCOUNT_SCRIPT, 1, key)
