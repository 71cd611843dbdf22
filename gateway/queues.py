"""Redis connections, queue names and the JSON job serializer: the one place that knows RQ's set-up.

Queues are separate so a slow channel never delays intake: `lapor-forward` (to the case store),
`lapor-reply` (answers to citizens), `lapor-status` (status queries). Jobs are JSON, never pickle: whoever can
write to Redis must not be able to run code in a worker. Job functions are named by dotted path, so the
gateway never imports worker code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry
from rq.job import Job

from gateway.settings import Settings

FORWARD_QUEUE = "lapor-forward"
REPLY_QUEUE = "lapor-reply"
STATUS_QUEUE = "lapor-status"
ALL_QUEUES = (FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE)

FORWARD_FUNC = "workers.forward.forward_reports"

ENVELOPE_KEY = "lapor:envelope:{tracking_id}"


class JSONSerializer:
    """RQ serializer on orjson: fast, and data only."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> bytes:
        return orjson.dumps(obj)

    @staticmethod
    def loads(data: bytes | str, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(data)


def redis_connection(url: str, *, timeout: float = 5.0) -> Redis:
    """A connection for RQ and intake. Never decode_responses: RQ stores bytes.

    One immediate retry (a pooled connection gone stale after a Redis restart), no backoff: during an outage
    intake must fall back to the spool at once rather than keep a citizen waiting."""
    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=min(timeout, 2.0), health_check_interval=30,
        retry=RedisRetry(NoBackoff(), 1),
    )


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def retry_policy(settings: Settings) -> Retry:
    intervals = settings.queues.retry_intervals
    return Retry(max=len(intervals), interval=intervals)


def envelope_key(tracking_id: str) -> str:
    return ENVELOPE_KEY.format(tracking_id=tracking_id)


def enqueue_calls(
    connection: Redis,
    settings: Settings,
    queue_name: str,
    func: str,
    calls: Sequence[tuple[Any, ...]],
    *,
    pipeline: Any = None,
    retry: bool = True,
) -> list[Job]:
    """Enqueue one job per argument tuple, inside `pipeline` when given (so it commits with other writes)."""
    target = queue(queue_name, connection)
    datas = [
        Queue.prepare_data(
            func,
            args=tuple(args),
            timeout=settings.queues.job_timeout_seconds,
            retry=retry_policy(settings) if retry else None,
            result_ttl=300,
            failure_ttl=30 * 24 * 3600,
        )
        for args in calls
    ]
    return target.enqueue_many(datas, pipeline=pipeline)


def enqueue_forward(
    connection: Redis, settings: Settings, tracking_ids: Sequence[str], *, pipeline: Any = None
) -> list[Job]:
    """Forward jobs for these reports, at most `intake.max_batch` reports per job."""
    size = max(1, settings.intake.max_batch)
    chunks = [tuple([list(tracking_ids[i:i + size])]) for i in range(0, len(tracking_ids), size)]
    return enqueue_calls(connection, settings, FORWARD_QUEUE, FORWARD_FUNC, chunks, pipeline=pipeline)
