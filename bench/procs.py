"""Processes the benchmark starts and measures: Redis, the case store, gateways, workers, the load generator.

Everything listens on free loopback ports and keeps its data in the run's temporary directory, so a run never
touches another Redis or case store. CPU time is read per process (children included, ended or still running:
RQ's forking worker does its work in children, Redis rewrites its AOF in one).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from redis import Redis
from redis.exceptions import RedisError

from gateway.embedded_redis import find_redis_server
from gateway.runtime import tied_to_this_process
from gateway.tls import tls_context

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TWILIO_TOKEN = "bench-twilio-auth-token"
CASESTORE_TOKEN = "bench-casestore-token"
TWILIO_PATH = "/v1/channels/sms/twilio"


# The ports the bench's servers listen on: below the kernel's ephemeral range, which every outgoing connection draws
# its own port from (the load generator's thousands; the test suite's, around a bench run within it), and below the
# test suite's bands (tests/conftest.py: 12000-31999). A port bind(0) hands out is in that range: a connection may take
# it before the server binds it, which then ends ("port ... is taken"; a case store seen not coming up in a test run).
PORT_BAND = range(10_000, 12_000)
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# A part of the band for runs side by side, `BENCH_PORTS=10000-10249` (the test suite gives each of its processes
# one): two runs drawing from the whole band at once handed the same port to two servers, and the later one ended
# "address already in use".
PORTS_VARIABLE = "BENCH_PORTS"
# Ports handed out lately by this process: a port is free until its server binds it, so two asked for back to back
# (a gateway's and its case store's) could be the same one.
_handed_out: dict[int, None] = {}
_HANDED_OUT_KEPT = 64


def port_band() -> range:
    """PORT_BAND, or the part of it `BENCH_PORTS` names (`low-high`, both in the band); a value that is not one is
    refused rather than read as the whole band, which would let two runs meet again."""
    value = os.environ.get(PORTS_VARIABLE, "").strip()
    if not value:
        return PORT_BAND
    low, _, high = value.partition("-")
    try:
        band = range(int(low), int(high) + 1)
    except ValueError:
        band = range(0)
    if len(band) < 2 or band.start < PORT_BAND.start or band.stop > PORT_BAND.stop:
        raise ValueError(f"{PORTS_VARIABLE}={value!r}: expected low-high within {PORT_BAND.start}-{PORT_BAND.stop - 1}")
    return band


def free_port() -> int:
    """A loopback port no one listens on and not handed out lately here: from `port_band()` where the ephemeral range
    lies above it, else the kernel's."""
    band = port_band()
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 0
    candidates = random.sample(band, min(200, len(band))) if ephemeral_low > band.stop else []
    for port in [*(port for port in candidates if port not in _handed_out), 0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen = int(probe.getsockname()[1])
        _handed_out[chosen] = None
        while len(_handed_out) > min(_HANDED_OUT_KEPT, len(band) // 2):
            del _handed_out[next(iter(_handed_out))]
        return chosen
    raise RuntimeError("no free loopback port")  # bind(0) failed too


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05,
             watched: Sequence[Proc] = ()) -> None:
    """Until `predicate` holds; a RuntimeError once `timeout` has passed, or at once when a process of `watched` (those
    being waited for) has ended, each with the end of its log. A case store that could not bind its port had ended
    within a second, and the bench waited out its whole minute to say only that it "did not come up"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, RedisError, httpx.HTTPError):
            pass
        ended = [proc for proc in watched if not proc.alive()]
        if ended:
            raise RuntimeError(f"{what} did not come up: {_told(ended)}")
        time.sleep(interval)
    raise RuntimeError(f"{what} did not come up within {timeout}s{': ' + _told(watched) if watched else ''}")


def _told(procs: Sequence[Proc]) -> str:
    """What each process said last, and how it ended if it did."""
    return "; ".join(f"{proc.role} ({'running' if proc.alive() else f'ended with exit status {proc.popen.returncode}'})"
                     f", its log ends: {proc.log_tail()!r}" for proc in procs)


def _cpu_total(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class Proc:
    """One child process, with its role for the CPU table."""

    role: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _mark: float = 0.0
    _final: float | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """User + system time of the process, of its children it has waited for (a forking worker's work horses)
        and of those still running: the kernel adds a child's time to its parent's only once it is reaped, so a
        long-lived child (RQ's retry scheduler, Redis's AOF rewrite, a work horse at work) was missing, or counted
        whole, time before the mark included, when it ended between the mark and the reading."""
        if self._final is not None:
            return self._final
        try:
            process = psutil.Process(self.pid)
            total = _cpu_total(process)
            children = process.children(recursive=True)
        except psutil.Error:
            return self._mark
        for child in children:
            with contextlib.suppress(psutil.Error):  # ended meanwhile: its time is its parent's from now on
                total += _cpu_total(child)
        return total

    def mark(self) -> None:
        self._mark = self.cpu_seconds()

    def since_mark(self) -> float:
        return self.cpu_seconds() - self._mark

    def wait(self) -> int:
        """Reap the process and keep its CPU time (psutil cannot read an exited process): the load generator."""
        if self.popen.returncode is None:
            try:
                _, status, usage = os.wait4(self.pid, 0)
            except ChildProcessError:  # already reaped by a poll(): its CPU time is gone
                return self.popen.wait()
            self._final = usage.ru_utime + usage.ru_stime
            self.popen.returncode = os.waitstatus_to_exitcode(status)
        return self.popen.returncode

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, size: int = 1_000) -> str:
        """The last lines of its log, whole, within `size` characters (a JSON line cut was hard to read)."""
        try:
            tail = self.log_path.read_text(errors="replace").strip()[-size:]
        except OSError:
            return ""
        _, newline, rest = tail.partition("\n")
        return rest if newline and len(tail) == size else tail

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            self.ended_or_killed(timeout)

    def ended_or_killed(self, timeout: float) -> None:
        """Wait up to `timeout` for the process to end, then kill it."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@dataclass
class Stack:
    """The processes of one phase; stopped together."""

    workdir: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, role: str, command: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.workdir / f"{role}-{len(self.procs)}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_") and k != "REDIS_URL"}
        full_env.update(env or {})
        full_env["PATH"] = f"{VENV_BIN}{os.pathsep}{full_env.get('PATH', '')}"
        # Tied to the bench: killed or stopped by a signal (a CI job's timeout, `kill`), it could not stop them itself,
        # and Redis, the gateways and a load generator still hammering them kept running with their ports.
        popen = subprocess.Popen(list(command), env=full_env, cwd=REPO_ROOT, stdout=log_path.open("wb"),
                                 stderr=subprocess.STDOUT, preexec_fn=tied_to_this_process(signal.SIGTERM))
        proc = Proc(role, popen, log_path)
        self.procs.append(proc)
        return proc

    def mark(self) -> None:
        for proc in self.procs:
            proc.mark()

    def cpu_by_role(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for proc in self.procs:
            totals[proc.role] = totals.get(proc.role, 0.0) + proc.since_mark()
        return totals

    def check_alive(self) -> None:
        dead = [proc for proc in self.procs if proc.role != "loadgen" and not proc.alive()]
        if dead:
            tails = "; ".join(f"{p.role}: {p.log_tail()}" for p in dead)
            raise RuntimeError(f"process(es) died: {tails}")

    def stop(self, timeout: float = 10) -> None:
        """Every process told to stop at once (SIGTERM), and each killed that has not ended `timeout` seconds after:
        stopped one after the other, each given its own `timeout`, a loaded machine's stop outlasted the grace a CI
        job's timeout (and the test of it) gives a bench that is stopped."""
        running = [proc for proc in reversed(self.procs) if proc.alive()]
        for proc in running:
            proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            proc.ended_or_killed(max(0.0, deadline - time.monotonic()))


def start_redis(stack: Stack) -> str:
    """A private redis-server with append-only persistence (fsync every second), as in production."""
    port = free_port()
    directory = stack.workdir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    proc = stack.start("redis", [
        find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
    ])
    client = Redis(port=port, socket_connect_timeout=0.2)
    wait_for(client.ping, START_TIMEOUT, "redis", watched=[proc])
    client.close()
    return f"redis://127.0.0.1:{port}/0"


def gateway_env(redis_url: str, casestore_port: int, gateway_port: int, data_dir: Path) -> dict[str, str]:
    """The production profile with bench secrets; logs at info level like a real deployment."""
    return {
        "LAPOR_PROFILE": "production",
        "LAPOR_DATA_DIR": str(data_dir),
        "LAPOR_EMAIL_OUTBOX_DIR": str(data_dir / "email" / "outbox"),  # production wants a way out for e-mail replies
        "REDIS_URL": redis_url,
        "LAPOR_HTTP_PORT": str(gateway_port),
        "LAPOR_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
        "LAPOR_CASESTORE_URL": f"http://127.0.0.1:{casestore_port}",
        "LAPOR_CASESTORE_PORT": str(casestore_port),
        "LAPOR_CASESTORE_TOKEN": CASESTORE_TOKEN,
        "LAPOR_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "LAPOR_PRIVACY_REPLY_HANDLE_SECRET": "bench-reply-handle-secret",
        "LAPOR_QUEUES_RETRY_INTERVALS": "1,1,2,5",
        "LAPOR_AGGREGATOR_ENABLED": "false",
        # The load generator is one source sending thousands a second: the per-source flood limit would measure
        # itself, not the intake path.
        "LAPOR_RATELIMIT_ENABLED": "false",
    }


# How long a process may take to come up: seconds on an idle machine, but several processes starting at once on
# two loaded cores (the test suite runs the bench beside other tests) were seen to take over 15.
START_TIMEOUT = 60.0


def wait_http(url: str, timeout: float = START_TIMEOUT, watched: Sequence[Proc] = ()) -> None:
    """Poll `url` until it answers (`wait_for`: `watched`, the processes that should answer). With the process's one
    TLS context: a new httpx client builds its own, 57 ms of CPU, and twenty polls a second took the core the process
    being waited for was starting on."""
    wait_for(lambda: httpx.get(url, timeout=1, verify=tls_context()).status_code < 500, timeout, url,
             watched=watched)


def listening(proc: Proc, port: int) -> bool:
    """Whether this process holds a listening socket of its own on `port` (with SO_REUSEPORT each process does)."""
    try:
        connections = psutil.Process(proc.pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def wait_listening(procs: Sequence[Proc], port: int, timeout: float = START_TIMEOUT) -> None:
    """Until every one of `procs` listens on `port`. One answering /healthz is not all of them: the kernel spreads
    connections over the sockets bound when they connect, and a closed-loop load keeps its connections, so a
    process that bound late took no share of the whole run."""
    wait_for(lambda: all(listening(proc, port) for proc in procs), timeout, f"{len(procs)} processes on port {port}",
             watched=procs)


def start_casestore(stack: Stack, env: dict[str, str], *, wait: bool = True) -> Proc:
    """Without `wait`, the caller waits for it (`wait_casestore`) once it has started what comes up beside it."""
    proc = stack.start("casestore", [str(VENV_BIN / "lapor-gateway"), "casestore"], env)
    if wait:
        wait_casestore(env, proc)
    return proc


def wait_casestore(env: dict[str, str], proc: Proc) -> None:
    wait_http(f"{env['LAPOR_CASESTORE_URL']}/healthz", watched=[proc])


def start_gateway(stack: Stack, env: dict[str, str], processes: int = 1) -> Proc:
    """`processes` gateways on one port (SO_REUSEPORT) when more than one; returns the first."""
    if processes > 1:
        env = {**env, "LAPOR_HTTP_REUSE_PORT": "true"}
    procs = [stack.start("gateway", [str(VENV_BIN / "lapor-gateway"), "serve"], env) for _ in range(processes)]
    wait_http(f"{env['LAPOR_PUBLIC_URL']}/healthz", watched=procs)
    wait_listening(procs, int(env["LAPOR_HTTP_PORT"]))  # each of them, not only the first to answer
    return procs[0]


def start_workers(stack: Stack, env: dict[str, str], count: int) -> list[Proc]:
    return [
        stack.start("worker", [str(VENV_BIN / "lapor-gateway"), "worker", "--queues", "lapor-forward"], env)
        for _ in range(count)
    ]
