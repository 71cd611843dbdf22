"""Load: pre-signed Twilio webhooks, driven by wrk (closed loop, as fast as the server answers).

Requests are signed before a phase starts (twilio's RequestValidator over the public URL and every parameter,
exactly as Twilio does), so the load generator spends nothing on crypto and every request is a new SMS.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import orjson
from twilio.request_validator import RequestValidator

from bench.procs import TWILIO_PATH, TWILIO_TOKEN, Stack

LUA_SCRIPT = Path(__file__).resolve().parent / "twilio.lua"
TEXTS = (
    "LAPOR jalan berlubang di depan SDN 3 nomor {i}, sudah tiga bulan tidak diperbaiki",
    "Lampu jalan mati di gang {i} RT 04 RW 02, mohon segera diperbaiki",
    "ASPIRASI mohon ditambah jadwal bus sekolah rute {i}",
    "LAPOR RAHASIA pungutan liar di kantor kelurahan loket {i}",
)


@dataclass(frozen=True)
class SignedRequest:
    sid: str
    signature: str
    body: str


def twilio_form(sid: str, index: int, batch: str = "") -> dict[str, str]:
    """A real inbound-SMS parameter set (the shape Twilio posts), one distinct message per index and batch: the same
    text from the same number within the window is one report (gateway/same_text.py), so a warm-up's index 7 and a
    measured run's index 7 differ in their words."""
    return {
        "ToCountry": "ID", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
        "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": TEXTS[index % len(TEXTS)].format(i=f"{batch}{index}"),
        "FromCountry": "ID", "To": "+621708", "ToZip": "",
        "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + "b" * 32,
        "From": f"+62812{index % 100_000_000:08d}", "ApiVersion": "2010-04-01",
    }


def sign_requests(public_url: str, prefix: str, count: int, start: int = 0) -> list[SignedRequest]:
    """`count` webhooks with Twilio's 34-character message ids: "SM", `prefix`, then the index, zero-padded. Give
    every batch of a run a prefix of the same width: cut to 34, a longer prefix or index made ids of one batch the
    same as another's (prefix "100" ended where "10" did), which the gateway dedups as retries of one message. The
    prefix is hex digits: the gateway refuses a message id of any other shape than Twilio's (32 hex digits)."""
    if not all(char in "0123456789abcdef" for char in prefix):
        raise ValueError(f"the prefix {prefix!r} is not lowercase hex digits: no Twilio message id holds it")
    validator = RequestValidator(TWILIO_TOKEN)
    url = public_url.rstrip("/") + TWILIO_PATH
    width = 32 - len(prefix)
    if start + count > 10**width:
        raise ValueError(f"{start + count} webhooks do not fit {width} digits after the prefix {prefix!r}")
    requests = []
    for index in range(start, start + count):
        sid = f"SM{prefix}{index:0{width}d}"
        form = twilio_form(sid, index, prefix)
        requests.append(SignedRequest(sid, validator.compute_signature(url, form), urlencode(form)))
    return requests


def write_requests(path: Path, requests: list[SignedRequest]) -> Path:
    path.write_text("".join(f"{r.signature}\t{r.body}\n" for r in requests))
    return path


def ensure_wrk() -> str | None:
    """wrk on PATH, installing the Debian package once if apt-get is there (the bench's own setup)."""
    if os.environ.get("BENCH_NO_WRK"):  # force the asyncio client (what runs where wrk cannot be installed)
        return None
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_NO_INSTALL") or not shutil.which("apt-get"):
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False, timeout=300)
    return shutil.which("wrk")


@dataclass
class WrkResult:
    """wrk's figures of one run. `requests` and the percentiles are of every answer wrk timed: with each line sent
    once, the webhooks alone (twilio.lua sends nothing else); `extra`, /healthz polls sent on a connection wrk
    reopened after an error."""

    requests: int
    seconds: float
    ok: int
    bad: int
    extra: int
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def run_wrk(stack: Stack, url: str, requests_file: Path, *, connections: int, threads: int = 1,
            duration: float | None = None, limit: float = 300) -> WrkResult:
    """Closed-loop load. With `duration`: cycle through the file for that long; without: each line once."""
    wrk = shutil.which("wrk")
    assert wrk, "wrk is required for this phase"
    done = stack.workdir / f"wrk-done-{time.monotonic_ns()}"
    env = {"BENCH_REQUESTS": str(requests_file), "BENCH_THREADS": str(threads), "BENCH_DONE": str(done),
           "BENCH_REPEAT": "1" if duration else "0"}
    # wrk counts whole seconds: a duration is rounded up to them. It was given a second more (the full run's 8 s
    # ceiling ran 9 s, the test's quick run's 1 s ran 2, its 1 s warm-up 2 too): both cores loaded for nothing. Without
    # a duration, the limit only guards against a hang: the bench ends wrk with SIGINT once every line is answered.
    seconds = max(1, math.ceil(duration)) if duration else int(limit) + 1
    proc = stack.start("loadgen", [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                                   "--timeout", "10s", "-s", str(LUA_SCRIPT), url], env)
    if duration is None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and proc.alive():
            if all(Path(f"{done}.{i}").exists() for i in range(threads)):
                proc.popen.send_signal(signal.SIGINT)
                break
            time.sleep(0.01)
        else:
            if proc.alive():
                proc.popen.send_signal(signal.SIGINT)
    proc.wait()
    return _parse_wrk(proc.log_path.read_text(errors="replace"))


def _parse_wrk(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            data = orjson.loads(line[len("BENCH_JSON "):])
            return WrkResult(
                requests=data["requests"], seconds=data["duration_us"] / 1e6, ok=data["ok"], bad=data["bad"],
                extra=data["extra"], p50_ms=data["p50_us"] / 1e3, p99_ms=data["p99_us"] / 1e3, errors=data["errors"],
            )
    raise RuntimeError(f"wrk gave no result: {output[-500:]}")
