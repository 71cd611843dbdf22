"""Two jobs of one reply at the same moment, as on two reply workers: the second runs while the first is sending."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq.job import Job

from gateway.queues import JSONSerializer


class SecondJobInFirstSend:
    """Wraps a send (a function, or a respx side effect): its first call, the first job's first send, waits there
    while the queued job `job_id`, a second job of the same reply, runs on another thread as on a second worker, and
    goes on once that run ended; later calls, the second job's among them, just send. `outcome` is what that run
    returned or raised."""

    def __init__(self, send: Callable[..., Any], redis: Redis, job_id: str) -> None:
        self._send = send
        self._redis = redis
        self._job_id = job_id
        self._waited = False
        self.outcome: object = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._waited:
            self._waited = True
            second = threading.Thread(target=self._run_second, name="second-reply-worker")
            second.start()
            second.join(timeout=60)
            assert not second.is_alive(), "the second job did not end"
        return self._send(*args, **kwargs)

    def _run_second(self) -> None:
        job = Job.fetch(self._job_id, connection=self._redis, serializer=JSONSerializer)
        try:
            self.outcome = job.perform()  # as a worker runs it: get_current_job() is this job on this thread
        except Exception as error:
            self.outcome = error
