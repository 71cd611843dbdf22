"""The phases of one benchmark run, each on its own freshly started processes."""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
from redis import Redis

from bench import steps
from bench.load import SignedRequest, ensure_wrk, run_wrk, sign_requests, write_requests
from bench.procs import (
    REPO_ROOT,
    START_TIMEOUT,
    TWILIO_PATH,
    Proc,
    Stack,
    free_port,
    gateway_env,
    start_casestore,
    start_gateway,
    start_redis,
    start_workers,
    wait_casestore,
    wait_for,
    wait_http,
    wait_listening,
)
from bench.verify import stored_at_by_sid, stored_count, stored_rows, verify
from gateway.intake import dedup_key

PYTHON = sys.executable


@dataclass
class Config:
    connections: int = 64
    bare_seconds: float = 8.0
    intake_reports: int = 40_000
    # Closed-loop intake runs on the same stack (fresh webhooks each): the median is the figure. On a shared virtual
    # machine the same gateway measured 3,500 to 6,100 webhooks/s in runs minutes apart.
    intake_repeats: int = 3
    sweep_fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.2)
    sweep_seconds: float = 3.0
    latency_seconds: float = 6.0
    e2e_reports: int = 20_000
    e2e_latency_seconds: float = 8.0
    naive_reports: int = 400
    workers: int = 6
    naive_workers: int = 1
    warmup: int = 500
    drain_timeout: float = 240.0
    # The `scale` phase: bare and intake with this many processes each on one port (default: one per core).
    processes: int = os.cpu_count() or 2

    @classmethod
    def quick(cls) -> Config:
        return cls(connections=32, bare_seconds=2.0, intake_reports=2_000, intake_repeats=1,
                   sweep_fractions=(0.25, 0.5, 1.0),
                   sweep_seconds=1.0, latency_seconds=1.5, e2e_reports=1_000, e2e_latency_seconds=1.5,
                   naive_reports=100, warmup=100, drain_timeout=60.0)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it. Rounded half to even
    instead of up, the rank fell one short whenever q % of the count ended in .5 (the p99 of 150 latencies was the
    148th, the p50 of 5 the 2nd)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(round(q * len(ordered) / 100, 6)) - 1))]


def intake_figure(answered: int, durable: int, reports: int, seconds: float) -> tuple[float, bool]:
    """Webhooks/s answered with a Tracking ID and durable, and whether every one sent was both. The load generator
    counts answers, Redis the durable claims: neither alone is the figure (a claim committed for a webhook answered
    500 was never acknowledged; an answer without a committed claim acknowledged nothing durable)."""
    rate = min(answered, durable) / seconds if seconds > 0 else 0.0
    return rate, answered >= reports and durable == reports


def _cpu_per_1000(stack: Stack, reports: int) -> dict[str, float]:
    return {role: round(seconds * 1000 / max(reports, 1), 3) for role, seconds in stack.cpu_by_role().items()}


def _drive_client(stack: Stack, port: int, requests: list[SignedRequest], *, rate: float = 0.0,
                  concurrency: int = 64) -> dict[str, list[float]]:
    """Run the asyncio client in its own process (its own core), return its per-request record."""
    requests_file = write_requests(stack.workdir / f"client-{time.monotonic_ns()}.txt", requests)
    out = stack.workdir / f"client-{time.monotonic_ns()}.json"
    command = [PYTHON, "-m", "bench.client", "--port", str(port), "--path", TWILIO_PATH,
               "--requests", str(requests_file), "--out", str(out)]
    command += ["--rate", str(rate)] if rate else ["--concurrency", str(concurrency)]
    proc = stack.start("loadgen", command)
    if proc.wait() != 0:
        raise RuntimeError(f"load client failed: {proc.log_path.read_text()[-500:]}")
    return orjson.loads(out.read_bytes())


def _closed_loop(stack: Stack, url: str, port: int, requests: list[SignedRequest], connections: int,
                 use_wrk: bool) -> dict[str, float]:
    """Each request once, as fast as the server answers: wrk, or the asyncio client when wrk is missing."""
    if use_wrk:
        result = run_wrk(stack, url + TWILIO_PATH, write_requests(stack.workdir / "closed.txt", requests),
                         connections=connections)
        return {"seconds": result.seconds, "ok": min(result.ok, len(requests)), "bad": result.bad,
                "p50_ms": result.p50_ms, "p99_ms": result.p99_ms, "errors": result.errors}
    record = _drive_client(stack, port, requests, concurrency=connections)
    latencies = [x * 1000 for x in record["latencies"]]
    return {"seconds": record["elapsed"], "ok": sum(1 for s in record["statuses"] if s == 200),
            "bad": sum(1 for s in record["statuses"] if s != 200), "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "errors": 0}


def _open_loop(stack: Stack, port: int, requests: list[SignedRequest], rate: float) -> dict[str, Any]:
    record = _drive_client(stack, port, requests, rate=rate)
    latencies = [x * 1000 for x in record["latencies"]]
    ok = sum(1 for s in record["statuses"] if s == 200)
    return {"offered_rate": round(rate, 1), "requests": len(requests), "ok": ok, "seconds": record["elapsed"],
            "achieved_rate": round(ok / record["elapsed"], 1) if record["elapsed"] else 0.0,
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "sent_at": record["sent_at"]}


def _wait_stored(db_path: Path, count: int, timeout: float, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while stored_count(db_path) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {stored_count(db_path)} of {count} reports stored within {timeout}s")
        stack.check_alive()
        time.sleep(0.05)


def _wait_rq_workers(redis_url: str, queue: str, procs: list[Proc]) -> None:
    """Until the RQ workers `procs` have registered for `queue`: the naive design's rate and CPU are of its work, not
    of its workers starting up (the gateway's workers are warm by the time e2e measures: its warm-up is stored)."""
    from rq import Queue, Worker

    redis = Redis.from_url(redis_url)
    try:
        wait_for(lambda: Worker.count(queue=Queue(queue, connection=redis)) >= len(procs), START_TIMEOUT,
                 f"{len(procs)} RQ worker(s) on {queue}", watched=procs)
    finally:
        redis.close()


def _written(path: Path) -> tuple[int, int] | None:
    """Which write of `path` is in place (its inode and modification time), None before the first."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _steps_reading(probe: Path, pid: int) -> tuple[dict[str, tuple[int, int]], tuple[float, float]]:
    """The probe's totals once it has written what came before, and the gateway's CPU seconds on its event-loop
    (main) thread and on all its other threads.

    The probe writes ten times a second, each write a new file put in place. The second write seen after this call
    began took its totals after the first had ended, so after the call: waited for, instead of a fixed 1.2 s."""
    seen: list[tuple[int, int] | None] = [_written(probe)]

    def written_twice() -> bool:
        mark = _written(probe)
        if mark != seen[-1]:
            seen.append(mark)
        return len(seen) > 2

    wait_for(written_twice, START_TIMEOUT, "two writes of the steps probe", interval=0.02)
    cpu = {thread.id: thread.user_time + thread.system_time for thread in psutil.Process(pid).threads()}
    loop = cpu.pop(pid)
    return steps.read(probe), (loop, sum(cpu.values()))


class Bench:
    def __init__(self, config: Config, workdir: Path, log=print) -> None:  # type: ignore[no-untyped-def]
        self.config = config
        self.workdir = workdir
        self.log = log
        self.use_wrk = ensure_wrk() is not None
        self._sequence = 0

    def _sign(self, public_url: str, count: int) -> list[SignedRequest]:
        self._sequence += 1  # one fixed-width prefix per batch: no two batches of a run share a message id
        return sign_requests(public_url, f"{self._sequence:06d}", count)

    def _stack(self, name: str) -> Stack:
        directory = self.workdir / name
        directory.mkdir(parents=True, exist_ok=True)
        return Stack(directory)

    # -- bare -------------------------------------------------------------------------------------------------
    def bare(self) -> dict[str, object]:
        stack = self._stack("bare")
        try:
            port = free_port()
            bare = stack.start("bare", [PYTHON, "-m", "bench.bare", "--port", str(port)])
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/healthz", watched=[bare])
            requests = self._sign(url, 2_000)
            if self.use_wrk and self.config.bare_seconds >= 1:
                path = write_requests(stack.workdir / "bare.txt", requests)
                run_wrk(stack, url + TWILIO_PATH, path, connections=self.config.connections, duration=1)
                stack.mark()
                result = run_wrk(stack, url + TWILIO_PATH, path, connections=self.config.connections,
                                 duration=self.config.bare_seconds)
                rate, p50, p99, served = result.rate, result.p50_ms, result.p99_ms, result.ok
            else:
                # wrk runs whole seconds: a ceiling under one (the test suite's quickest run) ran the warm-up's second
                # and its own, both cores loaded for two seconds a bare phase. Each request is sent once instead, as
                # the scale phase does, after a warm-up of the same.
                if self.use_wrk:
                    _closed_loop(stack, url, port, requests, self.config.connections, True)
                stack.mark()
                many = requests * max(1, int(self.config.bare_seconds * 3))
                closed = _closed_loop(stack, url, port, many, self.config.connections, self.use_wrk)
                rate, served = closed["ok"] / closed["seconds"], closed["ok"]
                p50, p99 = closed["p50_ms"], closed["p99_ms"]
            return {"rate": round(rate, 1), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
                    "cpu_s_per_1000": _cpu_per_1000(stack, int(served))}
        finally:
            stack.stop()

    # -- scale: the same two figures with one process per core each --------------------------------------------
    def scale(self) -> dict[str, object]:
        """bare and intake again, each with `processes` processes sharing one port (SO_REUSEPORT), closed loop."""
        count = self.config.processes
        bare_stack = self._stack("scale-bare")
        try:
            port = free_port()
            bare_procs = [bare_stack.start("bare", [PYTHON, "-m", "bench.bare", "--port", str(port), "--reuse-port"])
                          for _ in range(count)]
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/healthz", watched=bare_procs)
            wait_listening(bare_procs, port)  # every process bound, not only the first
            bare_requests = self._sign(url, 2_000)
            many = bare_requests * max(1, int(self.config.bare_seconds * 3))
            bare_stack.mark()
            bare = _closed_loop(bare_stack, url, port, many, self.config.connections, self.use_wrk)
            bare_rate = bare["ok"] / bare["seconds"]
            bare_cpu = _cpu_per_1000(bare_stack, int(bare["ok"]))
        finally:
            bare_stack.stop()
        stack = self._stack("scale-intake")
        try:
            redis_url = start_redis(stack)
            gateway_port, casestore_port = free_port(), free_port()
            env = gateway_env(redis_url, casestore_port, gateway_port, stack.workdir / "data")
            start_gateway(stack, env, processes=count)
            self._warm(stack, env)
            requests = self._sign(env["LAPOR_PUBLIC_URL"], self.config.intake_reports)
            stack.mark()
            closed = _closed_loop(stack, env["LAPOR_PUBLIC_URL"], gateway_port, requests, self.config.connections,
                                  self.use_wrk)
            durable = self._count_durable(redis_url, [r.sid for r in requests])
            intake_rate, intake_verified = intake_figure(int(closed["ok"]), durable, len(requests), closed["seconds"])
            intake_cpu = _cpu_per_1000(stack, len(requests))
        finally:
            stack.stop()
        return {"processes": count, "bare_rate": round(bare_rate, 1), "bare_cpu_s_per_1000": bare_cpu,
                "intake_rate": round(intake_rate, 1), "intake_p99_ms": round(closed["p99_ms"], 2),
                "intake_cpu_s_per_1000": intake_cpu, "intake_durable": durable, "intake_reports": len(requests),
                "intake_answered": int(closed["ok"]), "verified": intake_verified,
                "intake/bare": round(intake_rate / bare_rate, 3) if bare_rate else None}

    # -- the gateway stack ----------------------------------------------------------------------------------
    def _gateway_stack(self, name: str, workers: int,
                       gateway_extra: dict[str, str] | None = None) -> tuple[Stack, dict[str, str], Path]:
        """Redis, case store, gateway, workers; on a failure to start, whatever did start is stopped here (the
        caller's `finally` only begins once it has the stack: a gateway that would not come up left Redis and the
        case store running on their ports after the bench had ended). `gateway_extra`: the gateway's alone."""
        stack = self._stack(name)
        try:
            redis_url = start_redis(stack)
            gateway_port, casestore_port = free_port(), free_port()
            env = gateway_env(redis_url, casestore_port, gateway_port, stack.workdir / "data")
            # The case store comes up while the gateway does: started one after the other, each waited for, their
            # start-ups (a second or two of imports each) added up in every phase.
            casestore = start_casestore(stack, env, wait=False)
            start_gateway(stack, {**env, **(gateway_extra or {})})
            wait_casestore(env, casestore)
            start_workers(stack, env, workers)
        except BaseException:
            stack.stop()
            raise
        return stack, env, stack.workdir / "data" / "casestore.sqlite3"

    def _warm(self, stack: Stack, env: dict[str, str]) -> list[str]:
        requests = self._sign(env["LAPOR_PUBLIC_URL"], self.config.warmup)
        _closed_loop(stack, env["LAPOR_PUBLIC_URL"], int(env["LAPOR_HTTP_PORT"]), requests, 16, self.use_wrk)
        return [r.sid for r in requests]

    def intake(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        """Webhooks/s answered with a Tracking ID and durable (no workers: intake alone), then the sweep."""
        stack, env, _ = self._gateway_stack("intake", workers=0)
        try:
            url, port = env["LAPOR_PUBLIC_URL"], int(env["LAPOR_HTTP_PORT"])
            self._warm(stack, env)
            runs = [self._intake_run(stack, url, port, env["REDIS_URL"]) for _ in range(self.config.intake_repeats)]
            result = dict(sorted(runs, key=lambda run: run["rate"])[(len(runs) - 1) // 2])  # the median (low) run
            result["runs"] = [run["rate"] for run in runs]
            result["verified"] = all(run["verified"] for run in runs)
            rate = float(result["rate"])
            sweep = []
            for fraction in sorted(set(self.config.sweep_fractions) | {0.5}):
                seconds = self.config.latency_seconds if fraction == 0.5 else self.config.sweep_seconds
                offered = rate * fraction
                requests = self._sign(url, max(50, int(offered * seconds)))
                point = _open_loop(stack, port, requests, offered)
                point.pop("sent_at")
                # Answered is not durable: the sweep's rates and the half-rate latency count webhooks both, as the
                # closed-loop runs do (the client counted answers only).
                durable = self._count_durable(env["REDIS_URL"], [r.sid for r in requests])
                achieved, verified = intake_figure(point["ok"], durable, len(requests), point.pop("seconds"))
                point.update(durable=durable, achieved_rate=round(achieved, 1), verified=verified)
                point["fraction"] = fraction
                sweep.append(point)
                self.log(f"  sweep {fraction:>4}: offered {offered:8.0f}/s achieved {point['achieved_rate']:8.0f}/s "
                         f"p50 {point['p50_ms']:7.2f} ms p99 {point['p99_ms']:7.2f} ms")
            half = next(p for p in sweep if p["fraction"] == 0.5)
            result["half_rate"] = {k: half[k] for k in ("offered_rate", "achieved_rate", "p50_ms", "p99_ms", "ok",
                                                       "durable", "requests", "verified")}
            # The latency target is read at half the rate, well below capacity: every webhook answered and durable.
            result["verified"] = result["verified"] and half["verified"]
            return result, sweep
        finally:
            stack.stop()

    def _intake_run(self, stack: Stack, url: str, port: int, redis_url: str) -> dict[str, Any]:
        """One closed-loop run of fresh webhooks: answered, durable (checked per message), rate, latency, CPU."""
        requests = self._sign(url, self.config.intake_reports)
        stack.mark()
        closed = _closed_loop(stack, url, port, requests, self.config.connections, self.use_wrk)
        cpu = _cpu_per_1000(stack, len(requests))
        durable = self._count_durable(redis_url, [r.sid for r in requests])
        rate, verified = intake_figure(int(closed["ok"]), durable, len(requests), closed["seconds"])
        self.log(f"  intake run: {rate:8.0f}/s, {durable}/{len(requests)} durable")
        return {
            "reports": len(requests), "answered": int(closed["ok"]), "durable": durable,
            "rate": round(rate, 1), "p50_ms": round(closed["p50_ms"], 2), "p99_ms": round(closed["p99_ms"], 2),
            "cpu_s_per_1000": cpu, "verified": verified,
        }

    @staticmethod
    def _count_durable(redis_url: str, sids: list[str]) -> int:
        """How many of these messages have their claim committed (envelope stored and job enqueued in one EXEC)."""
        redis = Redis.from_url(redis_url)
        durable = 0
        for start in range(0, len(sids), 5_000):
            pipe = redis.pipeline(transaction=False)
            for sid in sids[start:start + 5_000]:
                pipe.hget(dedup_key("sms", sid), "state")
            durable += sum(1 for state in pipe.execute() if state == b"committed")
        redis.close()
        return durable

    # -- steps ------------------------------------------------------------------------------------------------
    def steps(self) -> dict[str, object]:
        """Where a webhook's gateway CPU goes under the intake load: each step's thread CPU on the event loop
        (`bench.steps`), the rest of that thread's, and the other threads' (the committer's), one closed-loop run."""
        probe = self.workdir / "steps.json"
        path = [str(steps.PROBE_PATH), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
        extra = {steps.ENV: str(probe), "PYTHONPATH": os.pathsep.join(filter(None, path))}
        stack, env, _ = self._gateway_stack("steps", workers=0, gateway_extra=extra)
        try:
            url, port = env["LAPOR_PUBLIC_URL"], int(env["LAPOR_HTTP_PORT"])
            self._warm(stack, env)
            gateway = next(proc for proc in stack.procs if proc.role == "gateway")
            before, threads_before = _steps_reading(probe, gateway.pid)
            requests = self._sign(url, self.config.intake_reports)
            closed = _closed_loop(stack, url, port, requests, self.config.connections, self.use_wrk)
            after, threads_after = _steps_reading(probe, gateway.pid)
            loop_s = threads_after[0] - threads_before[0]
            result = steps.split(before, after, len(requests), loop_s, threads_after[1] - threads_before[1])
            result["rate"] = round(closed["ok"] / closed["seconds"], 1)
            return result
        finally:
            stack.stop()

    # -- end to end -------------------------------------------------------------------------------------------
    def e2e(self) -> dict[str, object]:
        stack, env, db_path = self._gateway_stack("e2e", workers=self.config.workers)
        try:
            url, port = env["LAPOR_PUBLIC_URL"], int(env["LAPOR_HTTP_PORT"])
            warm = self._warm(stack, env)
            _wait_stored(db_path, len(warm), self.config.drain_timeout, stack)
            requests = self._sign(url, self.config.e2e_reports)
            stack.mark()
            started = time.time()
            closed = _closed_loop(stack, url, port, requests, self.config.connections, self.use_wrk)
            _wait_stored(db_path, len(warm) + len(requests), self.config.drain_timeout, stack)
            rows = stored_rows(db_path)
            cpu = _cpu_per_1000(stack, len(requests))
            sids = [r.sid for r in requests]
            check = verify(rows, sids, allowed=warm)
            stored_at = stored_at_by_sid(rows)
            # The reports of this run found stored: with one stored twice, the count above is reached with another
            # missing, which the verification reports (a lookup of every one ended the run in a KeyError instead).
            stored_times = [stored_at[sid] for sid in sids if sid in stored_at]
            finished = max(stored_times, default=started)
            rate = len(stored_times) / (finished - started) if stored_times else 0.0
            result: dict[str, object] = {
                "reports": len(requests), "intake_seconds": round(closed["seconds"], 2),
                "seconds": round(finished - started, 2), "rate": round(rate, 1), "cpu_s_per_1000": cpu,
                "verification": check.summary(),
            }
            # Latency from webhook to stored at half that rate, open loop.
            half_requests = self._sign(url, max(50, int(rate / 2 * self.config.e2e_latency_seconds)))
            point = _open_loop(stack, port, half_requests, rate / 2)
            expected_total = len(warm) + len(requests) + len(half_requests)
            _wait_stored(db_path, expected_total, self.config.drain_timeout, stack)
            rows = stored_rows(db_path)
            stored_at = stored_at_by_sid(rows)
            delays = [(stored_at[r.sid] - sent) * 1000 for r, sent in zip(half_requests, point["sent_at"], strict=True)
                      if r.sid in stored_at]
            half_check = verify(rows, [r.sid for r in half_requests], allowed=warm + sids)
            result["half_rate"] = {
                "offered_rate": point["offered_rate"], "webhook_p50_ms": point["p50_ms"],
                "webhook_p99_ms": point["p99_ms"], "stored_p50_ms": round(percentile(delays, 50), 1),
                "stored_p99_ms": round(percentile(delays, 99), 1), "verification": half_check.summary(),
            }
            return result
        finally:
            stack.stop()

    # -- naive ----------------------------------------------------------------------------------------------
    def naive(self) -> dict[str, object]:
        stack = self._stack("naive")
        try:
            redis_url = start_redis(stack)
            port, casestore_port = free_port(), free_port()
            env = gateway_env(redis_url, casestore_port, port, stack.workdir / "data")
            db_path = stack.workdir / "data" / "casestore.sqlite3"
            casestore = start_casestore(stack, env, wait=False)
            gateway = stack.start("naive-gateway", [PYTHON, "-m", "bench.naive", "--port", str(port)], env)
            wait_http(env["LAPOR_PUBLIC_URL"] + "/healthz", watched=[gateway])
            wait_casestore(env, casestore)
            command = [str(Path(PYTHON).parent / "rq"), "worker", "-u", redis_url, "--path",
                       str(Path(__file__).resolve().parent.parent), "-q", "naive"]
            workers = [stack.start("naive-worker", command, env) for _ in range(self.config.naive_workers)]
            _wait_rq_workers(redis_url, "naive", workers)
            requests = self._sign(env["LAPOR_PUBLIC_URL"], self.config.naive_reports)
            stack.mark()
            started = time.time()
            closed = _closed_loop(stack, env["LAPOR_PUBLIC_URL"], port, requests, 16, self.use_wrk)
            _wait_stored(db_path, len(requests), self.config.drain_timeout, stack)
            rows = stored_rows(db_path)
            cpu = _cpu_per_1000(stack, len(requests))
            check = verify(rows, [r.sid for r in requests])
            finished = max(row[2] for row in rows)
            return {"reports": len(requests), "intake_rate": round(closed["ok"] / closed["seconds"], 1),
                    "intake_p50_ms": round(closed["p50_ms"], 2), "seconds": round(finished - started, 2),
                    "rate": round(len(requests) / (finished - started), 1), "cpu_s_per_1000": cpu,
                    "verification": check.summary()}
        finally:
            stack.stop()


def machine() -> dict[str, object]:
    load = os.getloadavg()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "loadavg_1m": round(load[0], 2)}


def config_dict(config: Config) -> dict[str, object]:
    return asdict(config)

