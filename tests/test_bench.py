"""The benchmark harness runs end to end in its quickest mode, and its self-check catches what it must.

Nothing here is timed: speed is measured by `python -m bench`, never asserted in a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from redis import Redis

from bench.__main__ import main as bench_main
from bench.load import SignedRequest, sign_requests
from bench.procs import Stack
from bench.report import evaluate
from bench.run import Bench, Config, percentile
from bench.verify import stored_rows, verify
from casestore.storage import ReportStore
from gateway.queues import envelope_key
from gateway.tracking import format_tracking_id
from tests.conftest import PORT_BANDS, TestEnvironment, free_port, xdist_worker
from tests.email_support import SmtpServerThread
from tests.test_envelope_schema import sample_envelope


@dataclass(frozen=True)
class VerifyCase:
    id: str
    # (provider message id, Tracking ID sequence) of each row the case store holds.
    stored: list[tuple[str, int]]
    sent: list[str]
    warmup: list[str] = field(default_factory=list)
    ok: bool = True
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


VERIFY_CASES = [
    VerifyCase("all-stored-once", stored=[("SMa", 1), ("SMb", 2)], sent=["SMa", "SMb"]),
    VerifyCase("warmup-reports-allowed", stored=[("SMw", 1), ("SMa", 2)], sent=["SMa"], warmup=["SMw"]),
    VerifyCase("one-missing", stored=[("SMa", 1)], sent=["SMa", "SMb"], ok=False, missing=["SMb"]),
    VerifyCase("same-message-under-two-tracking-ids", stored=[("SMa", 1), ("SMa", 2), ("SMb", 3)],
               sent=["SMa", "SMb"], ok=False, duplicated=["SMa"]),
    VerifyCase("stored-but-never-sent", stored=[("SMa", 1), ("SMx", 2)], sent=["SMa"], ok=False,
               unexpected=["SMx"]),
    VerifyCase("nothing-stored", stored=[], sent=["SMa"], ok=False, missing=["SMa"]),
]


@pytest.mark.parametrize("case", VERIFY_CASES, ids=[case.id for case in VERIFY_CASES])
def test_verification_reads_the_case_store_database(case: VerifyCase, tmp_path: Path) -> None:
    """Rows written by the real reference store (SQLite), read back the way the bench reads them."""
    store = ReportStore(tmp_path / "casestore.sqlite3")
    envelopes = [
        sample_envelope(tracking_id=format_tracking_id(3_000_000 + seq), channel_message_id=sid).model_dump(mode="json")
        for sid, seq in case.stored
    ]
    store.store_many(envelopes)
    store.close()
    check = verify(stored_rows(tmp_path / "casestore.sqlite3"), case.sent, allowed=case.warmup)
    assert check.ok is case.ok
    assert (check.missing, check.duplicated, check.unexpected) == (case.missing, case.duplicated, case.unexpected)
    assert check.stored == sum(1 for sid, _ in case.stored if sid in case.sent)


def _lose_one_report(redis: Redis) -> None:
    """The first envelope gone after its mail's 250 (what a lost write would leave)."""
    from bench.verify import durable_rows

    redis.delete(envelope_key(durable_rows(redis)[0][1]))


def _store_one_mail_twice(redis: Redis) -> None:
    """A second report, under a Tracking ID of its own, for the first mail (what a dedup that failed would leave)."""
    from bench.verify import durable_rows

    envelope = orjson.loads(redis.get(envelope_key(durable_rows(redis)[0][1])))  # type: ignore[arg-type]
    envelope["tracking_id"] = "twice"
    redis.set(envelope_key("twice"), orjson.dumps(envelope))


def _store_a_mail_never_sent(redis: Redis) -> None:
    redis.set(envelope_key("unsent"), orjson.dumps({"tracking_id": "unsent", "channel_message_id": "sha256:unsent"}))


def _store_a_damaged_copy(redis: Redis) -> None:
    redis.set(envelope_key("damaged"), b"{not json")


@dataclass(frozen=True)
class EmailBenchCase:
    id: str
    after: Callable[[Redis], None] | None = None  # done to Redis between the round and its check
    settings: dict[str, str] = field(default_factory=dict)
    one_message_id_per_number: bool = False  # the two sessions' mails share Message-IDs: two mails, one report
    accepted: int = 4
    refused: int = 0
    missing: int = 0
    duplicated: int = 0
    unexpected: int = 0
    ok: bool = True


EMAIL_BENCH_CASES = [
    EmailBenchCase("each-accepted-mail-durable-once"),
    EmailBenchCase("one-report-lost-after-its-250", after=_lose_one_report, missing=1, ok=False),
    EmailBenchCase("one-mail-stored-twice", after=_store_one_mail_twice, duplicated=1, ok=False),
    EmailBenchCase("a-report-of-a-mail-never-sent", after=_store_a_mail_never_sent, unexpected=1, ok=False),
    EmailBenchCase("a-copy-that-is-no-envelope", after=_store_a_damaged_copy, unexpected=1, ok=False),
    EmailBenchCase("two-mails-taken-for-one", one_message_id_per_number=True, ok=False),
    EmailBenchCase("refused-mails-counted-not-accepted", settings={"LAPOR_EMAIL_MAX_MIME_PARTS": "1"}, accepted=0,
                   refused=4),
]


@pytest.mark.parametrize("case", EMAIL_BENCH_CASES, ids=[case.id for case in EMAIL_BENCH_CASES])
def test_email_bench_checks_each_accepted_mail_is_durable_exactly_once(
    case: EmailBenchCase, test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round of the e-mail bench (two SMTP sessions, two mails each) against the gateway's SMTP server on the
    test's Redis; its check reads the envelopes intake stored, keyed by the provider message id as the webhook
    bench's check is, and fails on a report lost, stored twice, stored for a mail never accepted, or two mails
    accepted as one."""
    import bench.email_smtp as email_bench

    if case.one_message_id_per_number:
        real_mail = email_bench.bench_mail
        monkeypatch.setattr(email_bench, "bench_mail", lambda _tag, number: real_mail("same", number))
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), **case.settings)
    server = SmtpServerThread(settings, redis).start()
    try:
        result = email_bench.run_round(server.port, connections=2, per_connection=2, tag="t")
    finally:
        server.stop()
    if case.after is not None:
        case.after(redis)
    check = email_bench.check_round(redis, email_bench.accepted_ids(result), earlier=[])
    summary = check.summary()
    assert (len(result.accepted), len(result.refused), result.answered) == (case.accepted, case.refused, True)
    assert (summary["missing"], summary["duplicated"], summary["unexpected"]) == (
        case.missing, case.duplicated, case.unexpected)
    assert email_bench.durable_once(result, check) is case.ok


def test_signed_requests_are_distinct_and_signed_like_twilio() -> None:
    from urllib.parse import parse_qsl

    from multidict import MultiDict
    from twilio.request_validator import RequestValidator

    from bench.procs import TWILIO_PATH, TWILIO_TOKEN
    from channels.twilio_sms import check_shapes

    requests = sign_requests("http://127.0.0.1:8080", "07", 50)
    assert len({r.sid for r in requests}) == 50
    validator = RequestValidator(TWILIO_TOKEN)
    for request in requests[:5]:
        form = dict(parse_qsl(request.body, keep_blank_values=True))
        assert form["MessageSid"] == request.sid
        assert validator.validate("http://127.0.0.1:8080" + TWILIO_PATH, form, request.signature)
        check_shapes(MultiDict(form))  # the gateway refuses any other shape than Twilio's
    with pytest.raises(ValueError, match="hex"):
        sign_requests("http://127.0.0.1:8080", "run7", 1)


@pytest.mark.bench
@pytest.mark.timeout(240)  # a guard against a hang only: the run takes 45 to 75 s on a slow shared two-core machine
def test_quickest_bench_run_end_to_end_checks_every_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every phase on real processes (own Redis, case store, gateway, a forward worker, naive design), a few hundred
    reports; the run's own check finds each sent report stored exactly once. One forward worker: each trains its
    triage model as it starts (3 s of CPU), and a second one here only trained it again for the same 270 reports."""
    monkeypatch.setenv("BENCH_NO_INSTALL", "1")
    # A bare ceiling under a second: the bare phases and the scale phase's closed loop on the bare servers send each
    # of their 2,000 webhooks once (at 1 s, wrk would run a second after a second's warm-up, and scale three times
    # each).
    code = bench_main([
        "--quick", "--intake-reports", "200", "--intake-repeats", "3", "--e2e-reports", "200", "--naive-reports", "5",
        "--warmup", "20",
        "--bare-seconds", "0.3", "--sweep-seconds", "0.3", "--latency-seconds", "0.3", "--connections", "16",
        "--processes", "2", "--workers", "1", "--no-plot", "--out", str(tmp_path),
    ])
    results = orjson.loads((tmp_path / "latest.json").read_bytes())
    assert code == 0
    assert results["verified"] == {"intake": True, "e2e": True, "naive": True, "scale": True}
    assert results["intake"]["durable"] == results["intake"]["reports"] == 200
    runs = results["intake"]["runs"]  # three closed-loop runs of fresh webhooks, each checked; the median counts
    assert len(runs) == 3 and results["intake"]["rate"] == sorted(runs)[1]
    e2e = results["e2e"]["verification"]
    assert (e2e["expected"], e2e["stored"], e2e["missing"], e2e["duplicated"], e2e["unexpected"]) == (200, 200, 0, 0, 0)
    assert results["naive"]["verification"]["stored"] == 5
    assert set(results["targets"]) == {"intake/bare", "e2e/naive", "intake_p99_ms_at_half_rate",
                                       "e2e_stored_p99_ms_at_half_rate"}
    assert {"gateway", "worker", "redis", "casestore"} <= set(results["e2e"]["cpu_s_per_1000"])
    scale = results["scale"]  # two processes each for bare and intake, on one port
    bare_mean = (results["bare"]["rate"] + results["bare_after"]["rate"]) / 2  # the ceiling brackets intake
    # The ratios are of the rates measured, the rates printed rounded to 0.1/s: within a rounding step of each other.
    assert results["targets"]["intake/bare"]["value"] == pytest.approx(results["intake"]["rate"] / bare_mean, abs=1e-3)
    assert scale["processes"] == 2 and scale["intake_durable"] == scale["intake_reports"] == 200
    assert scale["bare_rate"] > 0
    assert scale["intake/bare"] == pytest.approx(scale["intake_rate"] / scale["bare_rate"], abs=1e-3)


@pytest.mark.bench
@pytest.mark.timeout(180)  # a guard against a hang only
def test_the_steps_phase_splits_the_gateways_cpu_a_webhook_under_load(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`--phases steps`: each step's event-loop CPU a webhook, read from the probe inside the gateway, the handler's
    whole across its awaits, and the rest of that thread's; each fits inside what ran it, and the webhooks were
    really answered."""
    monkeypatch.setenv("BENCH_NO_INSTALL", "1")
    code = bench_main(["--phases", "steps", "--intake-reports", "300", "--warmup", "20", "--connections", "8",
                       "--no-plot", "--out", str(tmp_path)])
    results = orjson.loads((tmp_path / "latest.json").read_bytes())
    assert code == 0
    split = results["steps"]
    assert split["webhooks"] == 300 and split["rate"] > 0
    assert set(split["steps_us"]) == {"signature", "parse", "normalize", "reply text", "answer", "log lines"}
    assert all(us > 0 for us in split["steps_us"].values())  # every step was timed for the loaded webhooks
    # The steps inside the handler, the handler inside the thread that ran it, the HTTP stack around it.
    assert split["handler_us"] > sum(split["steps_us"].values()) and split["handler_own_us"] > 0
    assert split["loop_thread_us"] == pytest.approx(split["outside_handler_us"] + split["handler_us"], abs=0.2)
    assert split["outside_handler_us"] > 0 and split["committer_thread_us"] > 0


def test_a_steps_reading_holds_every_total_taken_before_it_began(tmp_path: Path) -> None:
    """The probe puts its totals in place whole, each write some time after it took them (here every 35 ms, 30 ms
    after): a reading waits for a write whose totals were taken after the reading began, whenever it begins, and
    not for a fixed time. The first write after it began could hold totals taken before."""
    import threading

    from bench.run import _steps_reading

    probe = tmp_path / "steps.json"
    counted = {"calls": 0}
    stop = threading.Event()

    def write() -> None:
        while not stop.wait(0.005):
            totals = orjson.dumps({"handler": [counted["calls"], counted["calls"]]})
            time.sleep(0.03)
            temporary = probe.with_suffix(".tmp")
            temporary.write_bytes(totals)
            os.replace(temporary, probe)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    readings = []
    try:
        for pause in range(12):
            time.sleep(pause * 0.003)  # each reading begins at another point of the probe's cycle
            counted["calls"] += 1  # a webhook handled before the reading
            totals, (loop_s, _other_s) = _steps_reading(probe, os.getpid())
            readings.append((counted["calls"], totals["handler"]))
            assert loop_s > 0
    finally:
        stop.set()
        writer.join()
    assert [totals for _, totals in readings] == [(calls, calls) for calls, _ in readings]


@pytest.mark.parametrize(
    ("bare_runs", "ratio"),
    [
        pytest.param([10_000.0], 0.15, id="one-bare-run"),
        pytest.param([10_000.0, 5_000.0], 0.2, id="bare-before-and-after-intake-averaged"),
        pytest.param([], None, id="no-bare-run"),
    ],
)
def test_intake_is_divided_by_the_bare_runs_around_it(bare_runs: list[float], ratio: float | None) -> None:
    results: dict[str, object] = {"intake": {"rate": 1_500.0, "verified": True}}
    for key, rate in zip(("bare", "bare_after"), bare_runs, strict=False):
        results[key] = {"rate": rate}
    assert evaluate(results)["ratios"]["intake/bare"] == ratio


@pytest.mark.parametrize(
    ("count", "q", "expected"),
    [
        pytest.param(5, 50, 3, id="p50-of-5-is-the-median"),
        pytest.param(150, 99, 149, id="p99-of-150-half-rank-goes-up"),
        pytest.param(250, 99, 248, id="p99-of-250-half-rank-goes-up"),
        pytest.param(100, 99, 99, id="p99-of-100-exact-rank"),
        pytest.param(1, 99, 1, id="one-value"),
        pytest.param(1000, 100, 1000, id="p100-is-the-maximum"),
        pytest.param(41_000, 99.9, 40_959, id="p99.9-float-rank-not-pushed-up"),
    ],
)
def test_percentile_is_the_nearest_rank(count: int, q: float, expected: float) -> None:
    """The smallest latency with at least q % of them at or below it, whatever order they came in."""
    values = [float(v) for v in range(count, 0, -1)]
    assert percentile(values, q) == expected


@pytest.mark.parametrize("phase", ["intake", "e2e"])
def test_a_gateway_that_does_not_come_up_leaves_no_process_behind(
    phase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis and the case store, started before the gateway failed to start, are stopped with the phase."""
    import bench.run as bench_run

    started: list[Stack] = []
    real_start_redis = bench_run.start_redis

    def start_redis(stack: Stack) -> str:
        started.append(stack)
        return real_start_redis(stack)

    def start_gateway(stack: Stack, env: dict[str, str], processes: int = 1) -> None:
        raise RuntimeError("gateway did not come up")

    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr(bench_run, "start_redis", start_redis)
    monkeypatch.setattr(bench_run, "start_gateway", start_gateway)
    bench = Bench(Config.quick(), tmp_path)
    with pytest.raises(RuntimeError, match="did not come up"):
        getattr(bench, phase)()
    [stack] = started
    assert {proc.role for proc in stack.procs} == {"redis", "casestore"}
    still_running = [proc.role for proc in stack.procs if proc.alive()]
    for proc in stack.procs:  # the test's own cleanup, whatever the outcome
        proc.stop()
    assert still_running == []


@dataclass(frozen=True)
class IntakeCase:
    id: str
    answered: int  # answered 200 with a Tracking ID, as the load generator counted
    durable: int  # claims committed in Redis, as the bench counted them per message
    rate: float
    verified: bool


INTAKE_CASES = [
    IntakeCase("all-answered-all-durable", answered=200, durable=200, rate=100.0, verified=True),
    IntakeCase("answered-500-after-the-commit", answered=150, durable=200, rate=75.0, verified=False),
    IntakeCase("answered-without-a-committed-claim", answered=150, durable=100, rate=50.0, verified=False),
    IntakeCase("all-answered-some-not-durable", answered=200, durable=180, rate=90.0, verified=False),
]


@pytest.mark.parametrize("phase", ["intake", "scale"])
@pytest.mark.parametrize("case", INTAKE_CASES, ids=[case.id for case in INTAKE_CASES])
def test_intake_counts_webhooks_both_answered_and_durable(
    case: IntakeCase, phase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 webhooks in 2 s: the rate counts only those answered and durable, and the run is verified only when
    every one was both, in the intake runs and in the scale phase alike. No process is started."""
    import bench.run as bench_run

    def closed_loop(*_: object) -> dict[str, float]:
        return {"seconds": 2.0, "ok": case.answered, "bad": 200 - case.answered, "p50_ms": 1.0, "p99_ms": 2.0}

    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr(bench_run, "_closed_loop", closed_loop)
    monkeypatch.setattr(bench_run.Bench, "_count_durable", staticmethod(lambda _url, _sids: case.durable))
    bench = Bench(Config.quick(), tmp_path)
    bench.config.intake_reports = 200
    if phase == "intake":
        run = bench._intake_run(Stack(tmp_path), "http://127.0.0.1:1", 1, "redis://127.0.0.1:1/0")
        assert (run["rate"], run["verified"]) == (case.rate, case.verified)
        return
    monkeypatch.setattr(bench_run, "wait_http", lambda _url, **_: None)
    monkeypatch.setattr(bench_run, "wait_listening", lambda _procs, _port: None)
    monkeypatch.setattr(bench_run, "start_redis", lambda _stack: "redis://127.0.0.1:1/0")
    monkeypatch.setattr(bench_run, "start_gateway", lambda *_, **__: None)
    monkeypatch.setattr(bench_run.Bench, "_warm", lambda *_: [])
    monkeypatch.setattr(bench_run.Stack, "start", lambda *_: None)
    monkeypatch.setattr(bench_run.time, "sleep", lambda _seconds: None)
    scale = bench.scale()
    assert (scale["intake_rate"], scale["verified"]) == (case.rate, case.verified)


@pytest.mark.parametrize("lost", [0, 5], ids=["all-durable", "five-answered-not-durable"])
def test_open_loop_sweep_counts_only_durable_webhooks(
    lost: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sweep point is answered in full; `lost` of each point's webhooks have no committed claim. The achieved
    rate counts the durable ones, and the half-rate point (the latency target's) must be all durable to verify."""
    import bench.run as bench_run

    def drive_client(_stack: Stack, _port: int, requests: list[object], *, rate: float = 0.0,
                     concurrency: int = 64) -> dict[str, object]:
        count = len(requests)
        return {"latencies": [0.001] * count, "statuses": [200] * count, "sent_at": [0.0] * count,
                "elapsed": count / rate if rate else 2.0}

    def count_durable(_url: str, sids: list[str]) -> int:
        return len(sids) if len(sids) == 200 else len(sids) - lost  # the closed-loop runs send 200: all durable

    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr(bench_run, "_drive_client", drive_client)
    monkeypatch.setattr(bench_run.Bench, "_count_durable", staticmethod(count_durable))
    monkeypatch.setattr(bench_run.Bench, "_warm", lambda *_: [])
    monkeypatch.setattr(bench_run.Bench, "_gateway_stack", lambda *_, **__: (
        Stack(tmp_path), {"LAPOR_PUBLIC_URL": "http://127.0.0.1:1", "LAPOR_HTTP_PORT": "1",
                          "REDIS_URL": "redis://127.0.0.1:1/0"}, tmp_path / "casestore.sqlite3"))
    bench = Bench(Config.quick(), tmp_path)
    bench.config.intake_reports = 200
    result, sweep = bench.intake()
    assert result["rate"] == 100.0  # 200 webhooks in 2 s
    for point in sweep:
        assert point["ok"] == point["requests"] and point["durable"] == point["requests"] - lost
        assert point["achieved_rate"] == pytest.approx(point["offered_rate"] * point["durable"] / point["requests"],
                                                       abs=0.1)
    assert result["half_rate"]["verified"] is result["verified"] is (lost == 0)


def test_scale_loads_the_bare_servers_only_once_each_listens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two bare servers on one port, the second binding 2 s late (a loaded machine's slow start): the closed loop
    begins only once both listen, or the second takes no connection and 'two processes' measure one."""
    import bench.run as bench_run
    from bench.procs import listening

    real_start = Stack.start
    listening_at_load: list[int] = []

    def start(stack: Stack, role: str, command: list[str], env: dict[str, str] | None = None) -> object:
        if role == "bare" and any(proc.role == "bare" for proc in stack.procs):
            # 2 s, not 1: on a loaded machine the first server's own start took longer than a second, and the late one
            # was up before the loop even without the wait for it (the test passed without what it guards).
            late = ("import runpy, sys, time; time.sleep(2); sys.argv = ['bench.bare'] + sys.argv[1:]; "
                    "runpy.run_module('bench.bare', run_name='__main__')")
            command = [command[0], "-c", late, *command[3:]]
        return real_start(stack, role, command, env)

    def closed_loop(stack: Stack, _url: str, port: int, *_: object) -> dict[str, float]:
        listening_at_load.append(sum(listening(proc, port) for proc in stack.procs if proc.role == "bare"))
        return {"seconds": 1.0, "ok": 100, "bad": 0, "p50_ms": 1.0, "p99_ms": 2.0}

    def start_redis(_stack: Stack) -> str:
        raise RuntimeError("bare part done")

    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr(Stack, "start", start)
    monkeypatch.setattr(bench_run, "_closed_loop", closed_loop)
    monkeypatch.setattr(bench_run, "start_redis", start_redis)
    bench = Bench(Config.quick(), tmp_path)
    bench.config.processes = 2
    with pytest.raises(RuntimeError, match="bare part done"):
        bench.scale()
    assert listening_at_load == [2]


def test_naive_load_begins_once_its_worker_is_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The naive design's RQ worker starting half a second late (a loaded machine): no webhook is sent before it has
    registered, or its start-up would count as the design's slowness."""
    from redis import Redis
    from rq import Queue, Worker

    import bench.run as bench_run

    real_start = Stack.start
    workers_at_load: list[int] = []

    def start(stack: Stack, role: str, command: list[str], env: dict[str, str] | None = None) -> object:
        if role == "naive-worker":
            command = ["sh", "-c", 'sleep 0.5; exec "$@"', "sh", *command]
        return real_start(stack, role, command, env)

    def closed_loop(stack: Stack, url: str, *_: object) -> dict[str, float]:
        [redis_proc] = [proc for proc in stack.procs if proc.role == "redis"]
        redis = Redis(port=int(redis_proc.popen.args[2]))  # type: ignore[index]
        workers_at_load.append(Worker.count(queue=Queue("naive", connection=redis)))
        redis.close()
        raise RuntimeError("load begins")

    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr(Stack, "start", start)
    monkeypatch.setattr(bench_run, "_closed_loop", closed_loop)
    with pytest.raises(RuntimeError, match="load begins"):
        Bench(Config.quick(), tmp_path).naive()
    assert workers_at_load == [1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_bench_stopped_or_killed_leaves_no_process_behind(signum: int, tmp_path: Path) -> None:
    """`python -m bench` stopped (a CI job's timeout) or killed in its naive phase, with Redis, the case store, the
    naive gateway and its RQ worker running: none of them outlives it; stopped, it removes its run directory too."""
    import psutil

    bench = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--phases", "naive", "--naive-reports", "100000", "--no-plot",
         "--out", str(tmp_path / "out")],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "BENCH_NO_WRK": "1", "TMPDIR": str(tmp_path)},
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            "naive" in " ".join(child.cmdline()) and "worker" in " ".join(child.cmdline()) for child in children
        ):
            time.sleep(0.2)
            with contextlib.suppress(psutil.Error):
                children = psutil.Process(bench.pid).children()
        assert len(children) >= 4, "the naive phase did not start"
        bench.send_signal(signum)
        bench.wait(30)
        _, alive = psutil.wait_procs(children, timeout=20)
    finally:
        for child in children:  # the test's own cleanup, whatever the outcome
            with contextlib.suppress(psutil.Error):
                child.kill()
        bench.kill()
        bench.wait()
    assert [child.pid for child in alive] == []
    if signum == signal.SIGTERM:
        assert list(tmp_path.glob("lapor-bench-*")) == []


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_client_gives_up_on_an_answer_that_never_comes(mode: str) -> None:
    """A server that reads the request and never answers: the client counts it failed (599) at its timeout and
    ends, the other request answered, instead of waiting for good with the whole bench."""
    from bench.client import Client, closed_loop, open_loop

    async def scenario() -> dict[str, list[float]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = await reader.readuntil(b"\r\n\r\n")
            if b"never" not in request:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<Message>")
            await reader.read()  # until the client closes the connection
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        requests = [b"GET /never HTTP/1.1\r\n\r\n", b"GET /ok HTTP/1.1\r\n\r\n"]
        client = Client("127.0.0.1", port, timeout=0.3)
        run = open_loop(client, requests, 100.0) if mode == "open" else closed_loop(client, requests, 2)
        try:
            return await asyncio.wait_for(run, 5)  # type: ignore[return-value]
        finally:
            for _, writer in client.idle:
                writer.close()
            server.close()
            await asyncio.sleep(0.1)  # the handlers see the connections close

    record = asyncio.run(scenario())
    assert record["statuses"] == [599, 200]
    assert 0.3 <= record["latencies"][0] < 2


def test_e2e_reports_a_duplicate_and_a_missing_report_instead_of_crashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case store holds as many rows as were sent, one report twice (under two Tracking IDs) and another not
    at all: the phase ends with its verification saying so, and counts only the reports stored."""
    import bench.run as bench_run

    db_path = tmp_path / "casestore.sqlite3"
    store = ReportStore(db_path)
    sequence = iter(range(3_000_000, 4_000_000))

    def store_sids(sids: list[str]) -> None:
        store.store_many([sample_envelope(tracking_id=format_tracking_id(next(sequence)), channel_message_id=sid)
                          .model_dump(mode="json") for sid in sids])

    def closed_loop(_stack: Stack, _url: str, _port: int, requests: list[SignedRequest], *_: object) -> dict:
        sids = [r.sid for r in requests]
        time.sleep(2)  # the reports take 2 s to be stored
        store_sids(sids[:-1] + sids[:1])  # the last one lost, the first one stored twice
        return {"seconds": 1.0, "ok": len(sids), "bad": 0, "p50_ms": 1.0, "p99_ms": 2.0}

    def open_loop(_stack: Stack, _port: int, requests: list[SignedRequest], rate: float) -> dict:
        store_sids([r.sid for r in requests])
        return {"offered_rate": rate, "p50_ms": 1.0, "p99_ms": 2.0, "sent_at": [time.time()] * len(requests)}

    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr(bench_run, "_closed_loop", closed_loop)
    monkeypatch.setattr(bench_run, "_open_loop", open_loop)
    monkeypatch.setattr(bench_run.Bench, "_warm", lambda *_: [])
    monkeypatch.setattr(bench_run.Bench, "_gateway_stack", lambda *_, **__: (
        Stack(tmp_path), {"LAPOR_PUBLIC_URL": "http://127.0.0.1:1", "LAPOR_HTTP_PORT": "1"}, db_path))
    bench = Bench(Config.quick(), tmp_path)
    bench.config.e2e_reports = 100
    try:
        result = bench.e2e()
    finally:
        store.close()
    check = result["verification"]
    assert (check["ok"], check["missing"], check["duplicated"]) == (False, 1, 1)
    assert result["rate"] == pytest.approx(99 / result["seconds"], rel=0.005)  # not 100


def test_every_webhook_of_a_run_has_its_own_message_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """150 batches (a run with many intake repeats): no message id comes twice, or the gateway would answer the
    second as a retry of the first, from its dedup record, and the bench count work never done."""
    monkeypatch.setenv("BENCH_NO_WRK", "1")
    monkeypatch.setattr("bench.load.RequestValidator.compute_signature", lambda *_: "signature")
    bench = Bench(Config.quick(), tmp_path)
    sids = [request.sid for _ in range(150) for request in bench._sign("http://127.0.0.1:1", 20)]
    assert len(set(sids)) == len(sids) == 3_000
    assert {len(sid) for sid in sids} == {34}


@pytest.mark.parametrize(
    ("duration", "argument"),
    [
        pytest.param(8.0, "8s", id="the-full-runs-ceiling"),
        pytest.param(1.0, "1s", id="one-second"),
        pytest.param(0.3, "1s", id="under-a-second-is-one"),
        pytest.param(2.5, "3s", id="rounded-up"),
    ],
)
def test_wrk_runs_as_long_as_asked_in_whole_seconds(
    duration: float, argument: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wrk counts whole seconds: a duration is rounded up to them, and no more. A second more than asked (the full
    run's 8 s ceiling ran 9 s, the quick run's 1 s ceiling and its warm-up 2 s each) loaded both cores for nothing."""
    import bench.load as load
    from bench.procs import Proc

    commands: list[list[str]] = []
    summary = {"requests": 1, "duration_us": 1_000_000, "ok": 1, "bad": 0, "extra": 0, "p50_us": 1, "p99_us": 1,
               "max_us": 1, "errors": 0}

    def start(stack: Stack, role: str, command: list[str], env: dict[str, str] | None = None) -> Proc:
        commands.append(list(command))
        log_path = tmp_path / "wrk.log"
        log_path.write_bytes(b"BENCH_JSON " + orjson.dumps(summary) + b"\n")
        return Proc(role, subprocess.Popen(["true"]), log_path)

    monkeypatch.setattr(Stack, "start", start)
    monkeypatch.setattr(load.shutil, "which", lambda _name: "/usr/bin/wrk")
    result = load.run_wrk(Stack(tmp_path), "http://127.0.0.1:1" + load.TWILIO_PATH, tmp_path / "requests.txt",
                          connections=1, duration=duration)
    [command] = commands
    assert command[command.index("-d") + 1] == argument
    assert (result.ok, result.seconds) == (1, 1.0)


@pytest.mark.parametrize(
    ("seconds", "loads"),
    [
        pytest.param(2.0, [("wrk", 1), ("wrk", 2.0)], id="a-second-or-more-runs-wrk-that-long-after-its-warm-up"),
        pytest.param(0.3, [("once", 2_000), ("once", 2_000)], id="under-a-second-sends-each-request-once"),
    ],
)
def test_a_bare_ceiling_under_a_second_sends_each_request_once(
    seconds: float, loads: list[tuple[str, float]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wrk runs whole seconds: a bare ceiling under one ran its warm-up's second and a second of its own, both cores
    loaded for two seconds a bare phase (twice a run). It sends each request once instead, after a warm-up of the
    same, as the scale phase's closed loop does; a ceiling of a second or more is wrk's, for as long as asked."""
    import bench.run as bench_run
    from bench.load import WrkResult
    from bench.procs import Proc

    seen: list[tuple[str, float]] = []

    def run_wrk(_stack: Stack, _url: str, _path: Path, *, connections: int, duration: float) -> WrkResult:
        seen.append(("wrk", duration))
        return WrkResult(requests=10, seconds=1.0, ok=10, bad=0, extra=0, p50_ms=1.0, p99_ms=2.0, errors=0)

    def closed_loop(_stack: Stack, _url: str, _port: int, requests: list[SignedRequest], _connections: int,
                    use_wrk: bool) -> dict[str, float]:
        assert use_wrk
        seen.append(("once", len(requests)))
        return {"seconds": 1.0, "ok": len(requests), "bad": 0, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0}

    monkeypatch.setattr(Stack, "start", lambda _stack, role, *_: Proc(role, subprocess.Popen(["true"]), tmp_path))
    monkeypatch.setattr(bench_run, "wait_http", lambda _url, **_: None)
    monkeypatch.setattr(bench_run, "run_wrk", run_wrk)
    monkeypatch.setattr(bench_run, "_closed_loop", closed_loop)
    monkeypatch.setattr("bench.load.RequestValidator.compute_signature", lambda *_: "signature")
    bench = Bench(Config.quick(), tmp_path)
    bench.use_wrk = True
    bench.config.bare_seconds = seconds
    result = bench.bare()
    assert seen == loads
    assert result["rate"] > 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_counts_no_health_poll_of_the_bare_server_as_a_webhook(tmp_path: Path) -> None:
    """Each webhook once through wrk against the bare server (the scale phase's closed loop): the /healthz polls of
    its idle connections at the end are not counted, answered or failed, so the thread ends on its last answer."""
    from bench.load import run_wrk, write_requests
    from bench.procs import TWILIO_PATH, free_port, wait_http

    stack = Stack(tmp_path)
    try:
        port = free_port()
        stack.start("bare", [sys.executable, "-m", "bench.bare", "--port", str(port)])
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        path = write_requests(tmp_path / "requests.txt", sign_requests(url, "000001", 3_000))
        results = [run_wrk(stack, url + TWILIO_PATH, path, connections=64) for _ in range(10)]
    finally:
        stack.stop()
    assert [(result.ok, result.bad) for result in results] == [(3_000, 0)] * 10


SLOW_WEBHOOK_SERVER = """
import asyncio, sys
from aiohttp import web

async def webhook(request):
    await request.read()
    await asyncio.sleep(0.02)
    return web.Response(text="<Response><Message>ok</Message></Response>", content_type="application/xml")

app = web.Application()
app.router.add_post("/v1/channels/sms/twilio", webhook)
app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_latency_counts_only_the_webhooks(tmp_path: Path) -> None:
    """100 webhooks on 64 connections to a server answering each in 20 ms and /healthz at once: 28 connections have
    no webhook left after the first round. wrk times every answer on a connection, so /healthz polls of theirs
    filled its histogram with sub-millisecond figures; the reported requests and percentiles are of webhooks alone."""
    from bench.load import run_wrk, write_requests
    from bench.procs import TWILIO_PATH, free_port, wait_http

    stack = Stack(tmp_path)
    try:
        port = free_port()
        stack.start("slow", [sys.executable, "-c", SLOW_WEBHOOK_SERVER, str(port)])
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        path = write_requests(tmp_path / "requests.txt", sign_requests(url, "000001", 100))
        result = run_wrk(stack, url + TWILIO_PATH, path, connections=64)
    finally:
        stack.stop()
    assert (result.requests, result.ok, result.bad, result.extra) == (100, 100, 0, 0)
    assert result.p50_ms >= 20


def test_cpu_of_a_child_still_running_is_counted_with_its_parent(tmp_path: Path) -> None:
    """A process whose forked child burns 0.5 s of CPU and lives on (as RQ's scheduler does beside its worker):
    the child's time is the process's, not left out until it is reaped at the end."""
    burn = ("import os, time\n"
            "if os.fork() == 0:\n"
            "    end = time.process_time() + 0.5\n"
            "    while time.process_time() < end: pass\n"
            "    open(os.environ['DONE'], 'w').close()\n"
            "time.sleep(30)\n")
    import psutil

    done = tmp_path / "done"
    stack = Stack(tmp_path)
    proc = stack.start("parent", [sys.executable, "-c", burn], {"DONE": str(done)})
    try:
        proc.mark()
        deadline = time.monotonic() + 20
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done.exists()
        assert proc.since_mark() >= 0.45
    finally:
        for child in psutil.Process(proc.pid).children():
            child.kill()
        stack.stop()


def test_open_loop_latency_is_never_shorter_than_the_round_trip() -> None:
    """On uvloop (as the bench runs it), against a server answering each request 0.3 ms after it came in, at
    2,000/s: every latency is at least those 0.3 ms. Timed with uvloop's whole-millisecond clock from due times the
    sender had run ahead of, they came out as 0 or less."""
    import uvloop

    from bench.client import Client, open_loop

    async def scenario() -> dict[str, list[float]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    began = time.perf_counter()
                    while time.perf_counter() - began < 0.0003:  # the server's work, in its own time
                        pass
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<Message>")
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        client = Client("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            return await open_loop(client, [b"GET / HTTP/1.1\r\n\r\n"] * 400, 2_000.0)  # type: ignore[return-value]
        finally:
            for _, writer in client.idle:
                writer.close()
            server.close()
            await asyncio.sleep(0.1)

    record = uvloop.run(scenario())
    assert record["statuses"] == [200] * 400
    assert min(record["latencies"]) >= 0.0003


@pytest.mark.parametrize(
    ("argv", "partial"),
    [
        pytest.param([], False, id="full-run"),
        pytest.param(["--quick"], True, id="quick"),
        pytest.param(["--phases", "bare,intake"], True, id="some-phases"),
        pytest.param(["--phases", "scale,naive,e2e,intake,bare"], False, id="every-phase-in-another-order"),
    ],
)
def test_only_a_full_run_writes_the_plot_the_readme_links(argv: list[str], partial: bool) -> None:
    """A quick or partial run wrote its plot (small sizes, phases missing) over bench/results/latest.png, the full
    run's that the README links and the repository keeps."""
    from bench.__main__ import RESULTS, parse_args

    assert parse_args(argv).out == (RESULTS / "partial" if partial else RESULTS)
    assert parse_args([*argv, "--out", "elsewhere"]).out == Path("elsewhere")


def test_a_phases_processes_are_stopped_together_within_one_grace(tmp_path: Path) -> None:
    """A stop waited for each process in turn, each with its own grace (an RQ worker finishing its job, a server
    draining): on a loaded machine a stopped bench outlived the 30 s a CI job's timeout gives it. All are told at once
    and share the grace; one that ignores it is killed at its end."""
    stack = Stack(tmp_path)
    ignoring = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); " \
               "time.sleep(60)"
    procs = [stack.start(f"deaf-{n}", [sys.executable, "-c", ignoring]) for n in range(4)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(b"up" in proc.log_path.read_bytes() for proc in procs):
        time.sleep(0.05)
    started = time.monotonic()
    stack.stop(timeout=2)
    stopped_in = time.monotonic() - started
    assert not any(proc.alive() for proc in procs)
    assert stopped_in < 6, f"{stopped_in:.1f} s: one grace of 2 s for all four, not 2 s each"


def test_a_process_that_ends_before_it_comes_up_is_told_at_once_with_its_log(tmp_path: Path) -> None:
    """The case store's port taken by a socket that takes connections and never answers (another program's): the
    case store cannot bind it and ends, and the wait says so with its exit status and the end of its log, where it
    polled the silent socket for its whole timeout and said only that the case store "did not come up"."""
    import socket

    from bench.procs import free_port, gateway_env, start_casestore, wait_casestore

    stack = Stack(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(16)
        env = gateway_env("redis://127.0.0.1:1/0", taken.getsockname()[1], free_port(), tmp_path / "data")
        try:
            casestore = start_casestore(stack, env, wait=False)
            with pytest.raises(RuntimeError) as raised:
                wait_casestore(env, casestore)
        finally:
            stack.stop()
    said = str(raised.value)
    assert casestore.popen.returncode not in (None, 0)
    assert f"casestore (ended with exit status {casestore.popen.returncode})" in said, said
    assert "its log ends: " in said and '"event":"process.port_in_use"' in said, said


def test_the_bench_listens_on_ports_no_outgoing_connection_draws_its_own_from() -> None:
    """Below the kernel's ephemeral range, from which the load generator's and the test suite's connections take their
    own ports (one took a port handed out before its server bound it), and below the test suite's bands."""
    from bench import procs

    if int(procs.EPHEMERAL_RANGE.read_text().split()[0]) <= procs.PORT_BAND.stop:
        pytest.skip("this machine's ephemeral range reaches down to the bench's band: the kernel picks its ports")
    ports = {procs.free_port() for _ in range(50)}
    assert all(port in procs.PORT_BAND for port in ports), sorted(ports)


def test_two_ports_asked_for_back_to_back_are_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """A port is free until its server binds it: a gateway's and its case store's, asked for one after the other,
    were the same port now and then, and the later server ended "address already in use". In a band of two ports,
    each pair asked for is both."""
    from bench import procs

    if int(procs.EPHEMERAL_RANGE.read_text().split()[0]) <= procs.PORT_BAND.stop:
        pytest.skip("this machine's ephemeral range reaches down to the bench's band: the kernel picks its ports")
    monkeypatch.setenv(procs.PORTS_VARIABLE, "11990-11991")
    pairs = [(procs.free_port(), procs.free_port()) for _ in range(20)]
    assert all(sorted(pair) == [11990, 11991] for pair in pairs), pairs


@pytest.mark.parametrize(("value", "band"), [
    ("", range(10_000, 12_000)),
    ("10250-10499", range(10_250, 10_500)),
    (" 11000-11001 ", range(11_000, 11_002)),
])
def test_bench_ports_names_a_part_of_the_band(value: str, band: range, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import procs

    monkeypatch.setenv(procs.PORTS_VARIABLE, value)
    assert procs.port_band() == band


@pytest.mark.parametrize("value", ["10250", "10499-10250", "9000-9999", "11900-12100", "a-b", "11000-11000"])
def test_bench_ports_that_is_no_part_of_the_band_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as the whole band instead, two runs side by side could meet on a port again."""
    from bench import procs

    monkeypatch.setenv(procs.PORTS_VARIABLE, value)
    with pytest.raises(ValueError, match="BENCH_PORTS="):
        procs.port_band()


def test_each_test_process_runs_its_benches_on_ports_of_its_own() -> None:
    """Bench tests run side by side in the xdist workers: each worker's part of the band is apart from the others'."""
    from bench import procs

    band = procs.port_band()
    assert band != procs.PORT_BAND and len(band) == len(procs.PORT_BAND) // PORT_BANDS
    assert band.start == procs.PORT_BAND.start + (xdist_worker() % PORT_BANDS) * len(band)
