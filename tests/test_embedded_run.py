"""`make run` on a machine without Redis: the supervisor starts an embedded Redis and every Procfile process,
the README's example gets a Tracking ID, the report is in the case store within two seconds, Ctrl-C stops all,
and a supervisor killed outright takes its processes with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest
from redis import Redis
from twilio.request_validator import RequestValidator

from gateway.embedded_redis import EmbeddedRedis
from tests.conftest import REPO_ROOT, VENV_BIN, free_port, wait_until

pytestmark = pytest.mark.embedded


def _alive(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
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
        assert '"redis.embedded"' in output
        assert '"profile.development"' in output

        url = f"{gateway}/v1/channels/sms/twilio"
        form = {"MessageSid": "SMdemo0001", "From": "0812-3456-7890", "To": "1708",
                "Body": "LAPOR jalan berlubang di depan SDN 3 Bandung"}
        signature = RequestValidator("dev-twilio-auth-token").compute_signature(url, form)
        sent_at = time.monotonic()
        reply = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=5)
        assert reply.status_code == 200
        tracking_id = reply.text.split("Nomor lacak: ")[1].split(".")[0]

        auth = {"Authorization": "Bearer dev-casestore-token"}
        stored = wait_until(
            lambda: httpx.get(f"{casestore}/v1/reports/{tracking_id}", headers=auth, timeout=1).status_code == 200,
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
        status = subprocess.run([str(VENV_BIN / "lapor-gateway"), "status", "--json"], env=cli_env,
                                capture_output=True, text=True, timeout=60)
        assert status.returncode in (0, 1), status.stdout + status.stderr
        assert "sms-twilio" in status.stdout
        # The SMTP server and the pollers (both social channels are on in development) say they are alive.
        channels = {c["channel"]: c for c in json.loads(status.stdout)["channels"]}
        for name in ("email", "x", "instagram"):
            assert channels[name]["processes_alive"] == 1, channels[name]
            assert "process_missing" not in [f["rule"] for f in channels[name]["findings"]]
    finally:
        supervisor.send_signal(signal.SIGINT)
        code = supervisor.wait(timeout=30)
    assert code == 0, log_path.read_text()[-3000:]
    assert not _alive(f"http://127.0.0.1:{http_port}/healthz")
    assert not _alive(f"http://127.0.0.1:{casestore_port}/healthz")
    assert '"supervisor.stopping"' in log_path.read_text()


def test_the_embedded_redis_starts_under_a_relative_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` uses LAPOR_DATA_DIR=./var: a relative path must work."""
    monkeypatch.chdir(tmp_path)
    with EmbeddedRedis(Path("var") / "redis") as embedded:
        assert Redis.from_url(embedded.url).ping()
    assert (tmp_path / "var" / "redis" / "redis.log").exists()


SUPERVISE = ("import sys; from pathlib import Path; from gateway.settings import load_settings; "
             "from gateway.supervisor import supervise; sys.exit(supervise(load_settings(), Path(sys.argv[1])))")


def test_ctrl_c_stops_the_processes_before_the_embedded_redis(tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group, not only to the supervisor. The
    embedded Redis must not take it: it is stopped last, by the supervisor, once the processes that use it (a
    worker finishing its job, the gateway draining its committer) have stopped."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: sleep 300\nworker: lapor-gateway worker --queues lapor-status\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_") and k != "REDIS_URL"}
    env.update(LAPOR_PROFILE="development", LAPOR_DATA_DIR=str(tmp_path / "var"),
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    log_path = tmp_path / "supervisor.log"
    with log_path.open("wb") as log:  # a process group of its own, as a shell runs a foreground job
        supervisor = subprocess.Popen([str(VENV_BIN / "python"), "-c", SUPERVISE, str(procfile)], env=env,
                                      cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: '"worker.ready"' in log_path.read_text(), timeout=60)
        os.killpg(supervisor.pid, signal.SIGINT)
        assert supervisor.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    redis_log = (tmp_path / "var" / "redis" / "redis.log").read_text()
    assert "Received SIGTERM" in redis_log and "Received SIGINT" not in redis_log, redis_log
    assert "Connection refused" not in log_path.read_text()  # the worker stopped with its Redis still there


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_") and k != "REDIS_URL"}
    env.update(LAPOR_PROFILE="development", LAPOR_DATA_DIR=str(tmp_path / "var"),
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if redis_url:
        env["REDIS_URL"] = redis_url
    log_path = tmp_path / "supervisor.log"
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen([str(VENV_BIN / "python"), "-c", SUPERVISE, str(procfile)], env=env,
                                      cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        parent = psutil.Process(supervisor.pid)
        wait_until(lambda: f'"{worker_state}"' in log_path.read_text(), timeout=60)
        children = parent.children()
        assert {Path(child.name()).name for child in children} == expected_children
    finally:
        supervisor.kill()
        supervisor.wait(timeout=10)
    wait_until(lambda: all(_gone(child) for child in children), timeout=15)
