"""Fixed-window counters in Redis: the reply jobs' send rates and per-address caps count with one function."""

from __future__ import annotations

from redis import Redis


def count_in_window(redis: Redis, key: str, ttl_seconds: int) -> int:
    """Count one more in the window `key` names; returns the count including this one.

    The increment and the expiry go in one MULTI/EXEC: a process that died between the two would leave a counter
    that never expires, and the rate or cap it holds would stay used up for good."""
    pipe = redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, ttl_seconds)
    count, _ = pipe.execute()
    return int(count)
