"""The `steps` phase's probe: what each step of a webhook costs the gateway's event-loop thread under load.

Alone in a loop a step runs from the caches; under load the requests around it evict them and it costs two to
three times as much, so the split of a webhook's CPU can only be read under load. The probe is loaded into the
gateway process the phase starts (`bench/probe/sitecustomize.py`, on its PYTHONPATH, when `LAPOR_BENCH_STEPS` names
a file) and wraps each step below with the thread's own CPU clock, counted on the main thread only (the committer
thread's work is read from its thread's CPU time). It writes its running totals to that file twice a second.
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
    ("gateway.app", "render", "reply text"),
    ("channels.twilio_sms", "TwilioSmsAdapter.respond", "answer"),
    # Every log line: the processors (context, redaction, JSON) and the write.
    ("structlog._base", "BoundLoggerBase._proxy_to_logger", "log lines"),
)
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


def install(path: Path, interval: float = 0.5) -> None:
    """Wrap every step and write the totals ({label: [ns, calls]}) to `path` every `interval` seconds."""
    totals: dict[str, list[int]] = {}
    for module_name, attribute, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *path_to, name = attribute.split(".")
        for part in path_to:
            owner = getattr(owner, part)
        totals[label] = [0, 0]
        setattr(owner, name, _timed(getattr(owner, name), label, totals))

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
    """Microseconds a webhook for each step between two readings, the rest of the event-loop thread's CPU (aiohttp,
    the loop, the handler's own lines, handing the draft to the committer), and the committer thread's."""
    steps = {label: round((after[label][0] - before[label][0]) / 1000 / webhooks, 1) for label in after}
    loop_us = loop_thread_s * 1e6 / webhooks
    return {"webhooks": webhooks, "loop_thread_us": round(loop_us, 1), "steps_us": steps,
            "rest_of_loop_thread_us": round(loop_us - sum(steps.values()), 1),
            "committer_thread_us": round(committer_s * 1e6 / webhooks, 1)}
