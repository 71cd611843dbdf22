"""What a write says and counts waits for its transaction to commit: one mechanism for every `pipeline=` writer.

A function that queues its writes into a caller's pipeline (a reply, a dead letter, a status job) cannot know
whether they will ever exist: the caller's EXEC may fail (Redis went away) or meet a WatchError and be built again
with new writes (`OutboundReplies.once_per_message`). A log line or a metric increment made before then tells of a
reply that never existed, or of one reply twice. So such a function registers what it would log and count with
`after_commit(pipe, action)`, and whoever executes the pipeline does so with `commit(pipe)`, which runs the actions
after a successful EXEC, in the order they were registered, and drops them when the EXEC raises.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

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
