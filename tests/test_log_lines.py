"""Each log line reaches the stream whole: its text and its newline in one write."""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Iterator

import orjson
import pytest
import structlog

from gateway.logs import configure_logging, get_logger


class Writes:
    """A stream that keeps each write apart, as a pipe shared by processes sees them."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def writes() -> Iterator[Writes]:
    stream = Writes()
    configure_logging(stream=stream)  # type: ignore[arg-type]
    yield stream
    structlog.reset_defaults()
    configure_logging()


def test_a_line_and_its_newline_are_one_write(writes: Writes) -> None:
    """structlog's PrintLogger wrote the text, then the newline: with PYTHONUNBUFFERED (set in many container
    images) each went out alone, and make run's processes, sharing one stdout, ran two lines into one (seen in a
    run's log: `process.beat_restored` and `worker.redis_back` on one line as Redis came back)."""
    get_logger().info("worker.redis_back", channel="sms", tracking_id="10000004")
    logging.getLogger("rq.worker").warning("a library's line")

    assert len(writes.writes) == 2, writes.writes
    for write in writes.writes:
        assert write.endswith("\n") and write.count("\n") == 1, write
        orjson.loads(write)


def test_a_child_forked_while_another_thread_writes_a_line_can_write_its_own() -> None:
    """A worker forks RQ's retry scheduler: a lock another thread held as it forked stayed held in the child, whose
    first line then waited forever."""
    from gateway.logs import LineLogger

    with LineLogger._lock:  # as a thread writing a line at the moment of the fork
        child = os.fork()
        if child == 0:  # pragma: no cover (the child)
            LineLogger(io.StringIO()).msg("{}")
            os._exit(0)
        deadline = time.monotonic() + 10
        while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    if done[0] == 0:
        os.kill(child, 9)
        os.waitpid(child, 0)
    assert done[0] == child and os.waitstatus_to_exitcode(done[1]) == 0, "the child waited on the lock"
