"""The `steps` phase's probe: what each step of a webhook costs the gateway's event-loop thread under load.

Alone in a loop a step runs from the caches; under load the requests around it evict them and it costs two to
three times as much, so the split of a webhook's CPU can only be read under load. The probe is loaded into the
gateway process the phase starts (`bench/probe/sitecustomize.py`, on its PYTHONPATH, when `LAPOR_BENCH_STEPS` names
a file) and wraps each step below with the thread's own CPU clock, counted on the main thread only (the committer
thread's work is read from its thread's CPU time). It writes its running totals to that file ten times a second: a
reading waits for two writes, and at twice a second each of the phase's two readings waited about a second (a write is
well under a millisecond of another thread's CPU).
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

# (module, attribute, label): functions the webhook handler calls on the event loop, each timed whole. A function
# one of them calls is inside its time: none of these calls another.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("channels.twilio_sms", "TwilioSmsAdapter.authenticate", "signature"),
    ("channels.twilio_sms", "TwilioSmsAdapter.parse", "parse"),
    ("gateway.app", "normalize", "normalize"),
    ("gateway.app", "report_reply", "reply text"),
    ("channels.twilio_sms", "TwilioSmsAdapter.respond", "answer"),
    # Every log line: the processors (context, redaction, JSON) and the write.
    ("structlog._base", "BoundLoggerBase._proxy_to_logger", "log lines"),
)
# The webhook handler (`gateway.app.Gateway.webhook_handler`), timed whole across its awaits: what the event-loop
# thread spends outside it is the HTTP stack's (aiohttp's protocol, the loop, the answer's write).
HANDLER = "handler"
ENV = "LAPOR_BENCH_STEPS"
PROBE_PATH = Path(__file__).resolve().parent / "probe"


def _timed(function: Callable[..., Any], label: str, totals: dict[str, list[int]]) -> Callable[..., Any]:
    main = threading.main_thread()

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not main:
            return function(*args, **kwargs)
        began = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            total = totals[label]
            total[0] += time.thread_time_ns() - began
            total[1] += 1

    return timed


class _Suspend:
    """Passes what the timed coroutine yielded (a future it waits on) up to the task running it."""

    def __init__(self, yielded: Any) -> None:
        self.yielded = yielded

    def __await__(self) -> Any:
        return (yield self.yielded)


def _timed_handlers(make_handler: Callable[..., Any], total: list[int]) -> Callable[..., Any]:
    """`Gateway.webhook_handler` whose handlers count the thread CPU of each of their steps between awaits."""

    @functools.wraps(make_handler)
    def webhook_handler(gateway: Any, adapter: Any) -> Callable[..., Any]:
        handle = make_handler(gateway, adapter)

        async def timed(request: Any) -> Any:
            coroutine = handle(request)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                began = time.thread_time_ns()
                try:
                    yielded = coroutine.throw(thrown) if thrown is not None else coroutine.send(sent)
                except StopIteration as done:
                    return done.value
                finally:
                    total[0] += time.thread_time_ns() - began
                thrown = None
                try:
                    sent = await _Suspend(yielded)
                except BaseException as error:  # a cancellation or a timeout, given to the handler as it would be
                    sent, thrown = None, error

        return timed

    return webhook_handler


def install(path: Path, interval: float = 0.1) -> None:
    """Wrap every step and write the totals ({label: [ns, calls]}) to `path` every `interval` seconds."""
    totals: dict[str, list[int]] = {}
    for module_name, attribute, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *path_to, name = attribute.split(".")
        for part in path_to:
            owner = getattr(owner, part)
        totals[label] = [0, 0]
        setattr(owner, name, _timed(getattr(owner, name), label, totals))

    from gateway.app import Gateway

    totals[HANDLER] = [0, 0]
    Gateway.webhook_handler = _timed_handlers(Gateway.webhook_handler, totals[HANDLER])  # type: ignore[method-assign]

    def write() -> None:
        while True:
            time.sleep(interval)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(orjson.dumps(totals))
            os.replace(temporary, path)

    threading.Thread(target=write, name="bench-steps", daemon=True).start()


def read(path: Path) -> dict[str, tuple[int, int]]:
    return {label: (ns, calls) for label, (ns, calls) in orjson.loads(path.read_bytes()).items()}


def split(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], webhooks: int,
          loop_thread_s: float, committer_s: float) -> dict[str, Any]:
    """Microseconds a webhook between two readings: the event-loop thread's CPU, outside the handler (the HTTP
    stack) and in it; each step in the handler, and the handler's own lines beside them (the log context, metrics,
    health signals, handing the draft to the committer); the other threads' CPU (the committer's)."""
    spent = {label: (after[label][0] - before[label][0]) / 1000 / webhooks for label in after}
    handler = spent.pop(HANDLER)
    loop_us = loop_thread_s * 1e6 / webhooks
    return {"webhooks": webhooks, "loop_thread_us": round(loop_us, 1),
            "outside_handler_us": round(loop_us - handler, 1), "handler_us": round(handler, 1),
            "steps_us": {label: round(us, 1) for label, us in spent.items()},
            "handler_own_us": round(handler - sum(spent.values()), 1),
            "committer_thread_us": round(committer_s * 1e6 / webhooks, 1)}
