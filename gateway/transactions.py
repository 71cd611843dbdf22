"""What a write says and counts waits for its transaction to commit: one mechanism for every `pipeline=` writer.

A function that queues its writes into a caller's pipeline (a reply, a dead letter, a status job) cannot know
whether they will ever exist: the caller's EXEC may fail (Redis went away) or meet a WatchError and be built again
with new writes (`OutboundReplies.once_per_message`). A log line or a metric increment made before then tells of a
reply that never existed, or of one reply twice. So such a function registers what it would log and count with
`after_commit(pipe, action)`, and whoever executes the pipeline does so with `commit(pipe)`, which runs the actions
after a successful EXEC, in the order they were registered, and drops them when the EXEC raises.

A transaction whose writes depend on what it reads (a marker that says whether to write at all) is built under WATCH
of what it reads and built again when one of those keys changed before the EXEC: `commit_watched`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import WatchError

T = TypeVar("T")

# Tries of `commit_watched` before it gives up: only writers of the few keys a transaction watches spoil a try.
WATCH_ATTEMPTS = 3

# Per pipeline, its actions: a side table rather than an attribute on redis-py's object; gone with the pipeline.
_ACTIONS: weakref.WeakKeyDictionary[Any, list[Callable[[], object]]] = weakref.WeakKeyDictionary()


def after_commit(pipe: Any, action: Callable[[], object]) -> None:
    """Run `action` once `pipe`'s writes are committed (`commit`); never if its EXEC fails."""
    _ACTIONS.setdefault(pipe, []).append(action)


def commit(pipe: Any) -> list[Any]:
    """Execute `pipe`, then run the actions registered on it; an EXEC that raises (a RedisError, a WatchError before a
    retry) drops them, so a retry that builds the pipeline again registers its own."""
    actions = _ACTIONS.pop(pipe, [])
    results = pipe.execute()
    for action in actions:
        action()
    return results


def commit_watched(redis: Redis, build: Callable[[Any], T], *, what: str, attempts: int = WATCH_ATTEMPTS) -> T:
    """`build(pipe)` committed as one transaction: `build` WATCHes and reads (on `pipe`) what its writes depend on,
    opens the MULTI (`pipe.multi()`) and queues them; `commit` runs it. A watched key changed before the EXEC
    (WatchError) and it is built again from a fresh read, `attempts` times at most; then the WatchError is raised."""
    with redis.pipeline(transaction=True) as pipe:
        for _ in range(attempts):
            try:
                result = build(pipe)
                commit(pipe)
                return result
            except WatchError:  # what it read changed meanwhile: read it again
                continue
    raise WatchError(f"the keys the {what} depends on kept changing")
