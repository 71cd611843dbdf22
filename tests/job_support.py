"""RQ jobs run in the test's process: a burst run of a worker, and two jobs of one reply at the same moment, as on two
reply workers (the second runs while the first is sending)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Worker
from rq.job import Job

from gateway.queues import JSONSerializer


def burst(worker: Worker, **options: Any) -> bool:
    """`worker.work(burst=True)` in the test's process, without RQ's command channel (`rq shutdown`, `rq
    kill-horse`): no test sends a burst run a command, and each run waited about 0.16 s at its end for the thread
    that listens on it, most of the time the mail and aggregator tests took."""
    worker.subscribe = lambda: None  # type: ignore[method-assign]
    return worker.work(burst=True, **{"with_scheduler": False, "logging_level": "WARNING", **options})


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
