"""`lapor-gateway <command>` in a process of its own, forked from a server that has imported the libraries once.

An operator's command is a real process here as in production: its own environment, working directory, stdout,
stderr and exit status, its imports of the gateway's own modules, its settings and its logging. What it does not pay
again is the interpreter start-up and the import of the third-party libraries (redis, pydantic, structlog, typer,
rich...) and of the gateway's modules that only define things (the settings' and the envelope's models, the
keywords' patterns): most of the second a command takes, and the tests run some 120 of them. Only modules that read
nothing from the environment as they are imported are preloaded; the CLI itself (its console's width) and
prometheus_client (which picks its storage from PROMETHEUS_MULTIPROC_DIR when imported) are imported by each command
afresh, as are the other modules of the command it runs (the health checks, the metrics, the channels).

The long-running processes the tests start (`start_process` in conftest.py: `serve`, `worker`, `smtp`, `pollers`,
`casestore`: some 100 a run, most of a second of CPU each before they did any work) are forked from the same server
(`start_cli`), their output to one log file as before, their exit status and signals as a Popen's. The console script
itself (`.venv/bin/lapor-gateway`, the entry point in pyproject.toml) is still run as a whole new process by
`test_the_forked_cli_answers_as_the_console_script`, by the `make run` tests (the supervisor starts each process of
the Procfile through the shell) and by the bench's tests.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

# Imported once by the fork server. Nothing here may read the environment at import time (see the module docstring):
# aiohttp reads only OpenSSL's certificate paths, which no test sets; gateway.settings reads it only when called.
# The gateway's modules here read neither the environment nor a file as they are imported, and import nothing of
# FRESH: the envelope's models and the keywords' patterns were 0.1 s of each status or dead-letter command.
PRELOAD = [
    "redis", "rq", "pydantic", "structlog", "typer", "click", "rich.console", "rich.table", "rich.markup",
    "rich.progress", "orjson", "httpx", "httpcore", "anyio", "certifi", "aiohttp", "aiohttp.web", "phonenumbers",
    "markdown_it", "gateway.settings", "gateway.embedded_redis", "gateway.queues", "normalizer.envelope",
    "normalizer.keywords", "normalizer.inbound", "channels.base",
]
# Read the environment as they are imported (the console's width; the metrics' storage): each command's own.
FRESH = ("prometheus_client", "gateway.cli", "gateway.metrics")

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _command(args: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """The child: the command's environment, directory and output files (one file for both when they are the same
    path, as `stderr=subprocess.STDOUT`), then the console script's `main`."""
    loaded = sorted(name for name in sys.modules if name.startswith(FRESH))
    if loaded:  # the fork server imported what each command must import afresh: a preload went wrong
        raise RuntimeError(f"preloaded modules that read the environment: {loaded[:5]}")
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    output_to(stdout, stderr)
    sys.argv = [str(Path(sys.executable).parent / "lapor-gateway"), *args]
    from gateway.cli import main

    as_a_script(main)


def output_to(stdout: str, stderr: str) -> None:
    """A forked child's stdout and stderr written to these files (one file for both when they are the same path, as
    `stderr=subprocess.STDOUT`), and no input, as `subprocess.run` gives a child without a terminal to read."""
    opened: dict[str, int] = {}
    for fd, path in ((1, stdout), (2, stderr)):
        if path not in opened:
            opened[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened[path], fd)
    for target in opened.values():
        os.close(target)
    sys.stdin = open(os.devnull)  # noqa: SIM115


def as_a_script(main: Callable[[], object]) -> None:
    """`main()` ended as the interpreter ends a script: an exception nobody caught goes through `sys.excepthook`
    (the gateway's writes one redacted JSON line) and exits 1, Ctrl-C's ends it as SIGINT does, and the atexit
    handlers run. A multiprocessing child ended on its own terms: a raw traceback under `Process ForkServerProcess-1:`
    (a citizen's number in it unredacted), no atexit handler."""
    interrupted = False
    try:
        main()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        interrupted = True
    except BaseException:
        sys.excepthook(*sys.exc_info())
        raise SystemExit(1) from None
    finally:
        atexit._run_exitfuncs()
        if interrupted:
            sys.stdout.flush()
            sys.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)


def run_cli(args: list[str], env: dict[str, str], *, cwd: str | Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """As `subprocess.run([lapor-gateway, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=...)`."""
    with tempfile.TemporaryDirectory(prefix="lapor-cli-") as scratch:
        stdout, stderr = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
        child = _context.Process(target=_command, args=(list(args), dict(env), str(cwd or os.getcwd()), stdout, stderr))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["lapor-gateway", *args], timeout)
        output, errors = (Path(path).read_text(encoding="utf-8", errors="replace") if os.path.exists(path) else ""
                          for path in (stdout, stderr))
    return subprocess.CompletedProcess(["lapor-gateway", *args], child.exitcode, output, errors)


class ForkedProcess:
    """A long-running `lapor-gateway <args>` forked from the server, with the part of subprocess.Popen the tests use:
    `pid`, `poll`, `wait`, `send_signal`, `kill`, `returncode` (negative: the signal that ended it)."""

    def __init__(self, args: list[str], child: multiprocessing.process.BaseProcess) -> None:
        self.args = args
        self._child = child
        self.pid: int = child.pid  # type: ignore[assignment]  (set once started)

    @property
    def returncode(self) -> int | None:
        return self._child.exitcode

    def poll(self) -> int | None:
        return self._child.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._child.join(timeout)
        if self._child.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._child.exitcode

    def send_signal(self, sig: int) -> None:
        """As Popen's: nothing once it ended (its pid may be another process's by then), nor in the moment between
        the fork server reaping it and telling its status."""
        if self._child.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start_cli(args: list[str], env: dict[str, str], *, cwd: str | Path, log_path: Path) -> ForkedProcess:
    """As `subprocess.Popen([lapor-gateway, *args], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)`."""
    return fork(["lapor-gateway", *args], _command, list(args), dict(env), str(cwd), str(log_path), str(log_path))


def fork(args: list[str], target: Callable[..., None], *target_args: object) -> ForkedProcess:
    """`target(*target_args)` in a process forked from the server (`args`: what it stands for, as a Popen's)."""
    # Not daemonic, as the console script's process: a worker starts RQ's scheduler with multiprocessing, which a
    # daemonic process may not. `start_process` stops each at its test's end.
    child = _context.Process(target=target, args=target_args)
    child.start()
    # Out of multiprocessing's list of children, which a process joins as it exits: a test that failed before its
    # process was stopped hung its test process at the end of the run (a Popen's process would be left running).
    multiprocessing.process._children.discard(child)  # type: ignore[attr-defined]
    return ForkedProcess(args, child)
