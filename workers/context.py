"""What jobs in one worker process share: settings, the Redis connection, the case-store client.

A worker process builds its context once (`use_context`); a job started by RQ's own CLI builds it from the
environment on first use. Tests install and drop contexts explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis import Redis

from gateway.queues import answer_within, redis_connection
from gateway.settings import Settings, load_settings
from workers.casestore_client import CaseStoreClient

if TYPE_CHECKING:
    from triage.engine import TriageEngine


@dataclass
class WorkerContext:
    settings: Settings
    redis: Redis
    casestore: CaseStoreClient
    # What the liveness thread watches Redis with: a client that gives up after queues.liveness_timeout_seconds,
    # where RQ has the one in `redis` wait for an answer as long as its blocking dequeue may last (workers.run).
    watch: Redis
    # Provider clients built on first use by reply jobs, and the forward worker's media fetcher (one HTTP connection
    # pool per process), closed with it.
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self.clients:
            self.clients[name] = build()
        return self.clients[name]
    # Built on first use by the forward worker (training takes a second or two); see workers/forward.py.
    triage: TriageEngine | None = None

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None = None) -> WorkerContext:
        return cls(
            settings=settings,
            redis=redis or redis_connection(settings.redis_url),
            casestore=CaseStoreClient(settings),
            watch=answer_within(settings.redis_url, settings.queues.liveness_timeout_seconds),
        )

    def close(self) -> None:
        self.casestore.close()
        self.watch.close()
        for client in self.clients.values():
            client.close()
        self.clients.clear()


_current: WorkerContext | None = None


def use_context(context: WorkerContext | None) -> None:
    global _current
    if _current is not None and _current is not context:
        _current.close()
    _current = context


def current() -> WorkerContext:
    global _current
    if _current is None:
        _current = WorkerContext.build(load_settings())
    return _current


def attempt_number(job: Any) -> int:
    """Which run of this job this is (1 for the first). RQ does not count the retries that follow an exception,
    so a job counts itself: `note_retry` before it raises for a retry."""
    return int(job.meta.get("attempts", 0)) + 1 if job is not None else 1


def note_retry(job: Any, attempt: int, reason: str | None = None, **meta: Any) -> None:
    """Remember this run (and any progress in `meta`) on the job before raising for a retry; `reason` (why it
    failed) is what the status views show for a queue whose jobs wait for a retry."""
    job.meta.update(meta, attempts=attempt)
    if reason:
        job.meta["last_error"] = reason
    job.save_meta()
