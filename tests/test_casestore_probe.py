"""The forward worker's probe of a case store found down (workers/casestore_probe.py), over real HTTP and Redis.

Most tests take the probe's rounds one at a time (`CaseStoreProbe.probe`); the last runs it in worker processes
through a whole outage (outside tests/test_faults.py's group, which runs its tests one after another).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiohttp import web
from redis import Redis
from rq.job import Job
from rq.scheduler import RQScheduler

from gateway import metrics
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.health.signals import CASESTORE_REFUSING_KEY
from gateway.intake import Intake
from gateway.outbound import STATUS_FUNC
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE, JSONSerializer, enqueue_calls, queue
from gateway.replies import status_text
from gateway.settings import CONFIG_DIR, Settings
from gateway.status_page import render_status_page
from gateway.tracking import is_valid_tracking_id
from tests.aggregator_support import drain
from tests.conftest import (
    CaseStoreServer,
    LoopbackServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    log_events,
    serve_beat,
    serving_gateway,
    wait_ready,
)
from tests.test_faults import all_stored, assert_exactly_once, send_stream
from tests.test_forwarding import cli, due_jobs, hung_case_store, status_job_asked_in_an_outage
from tests.test_spool import draft
from workers import forward
from workers.casestore_client import PROBE_TRACKING_ID
from workers.casestore_probe import PROBE_KEY, CaseStoreProbe
from workers.deadletters import DeadLetters
from workers.forward import CASESTORE_DOWN_KEY

PERIOD = 0.2


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    """A job per report, each waiting ten minutes after its first failure, and a short probe period."""
    return test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600",
                             LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))


@pytest.fixture
def intake(redis: Redis, settings: Settings) -> Iterator[Intake]:
    made = Intake(redis, settings)
    yield made
    made.close()


def forward_each(intake: Intake, settings: Settings, *message_ids: str) -> list[str]:
    """Commit one report per id, each a forward job of its own, and run those jobs; their Tracking IDs."""
    tracking_ids = []
    for message_id in message_ids:
        [receipt] = intake.commit([draft(message_id)])
        drain(settings, (FORWARD_QUEUE,))
        tracking_ids.append(receipt.tracking_id)
    return tracking_ids


def forwarded_by_a_new_intake(redis: Redis, settings: Settings, *message_ids: str) -> list[str]:
    """`forward_each` through an intake of `settings` of its own, closed after; their Tracking IDs."""
    intake = Intake(redis, settings)
    try:
        return forward_each(intake, settings, *message_ids)
    finally:
        intake.close()


def due_now(redis: Redis) -> list[str]:
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    return [job_id for job_id in registry.get_job_ids(cleanup=False)
            if registry.get_scheduled_time(job_id).timestamp() <= time.time()]


def run_due(redis: Redis, settings: Settings) -> None:
    """What a worker's retry scheduler does within a second, then the worker: the forwards due now run."""
    scheduler = RQScheduler([FORWARD_QUEUE], connection=redis, serializer=JSONSerializer)
    scheduler.prepare_registries([FORWARD_QUEUE])
    scheduler.enqueue_scheduled_jobs()
    drain(settings, (FORWARD_QUEUE,))


def next_round(probe: CaseStoreProbe, redis: Redis) -> str:
    """The probe's next period: its slot has expired."""
    redis.delete(PROBE_KEY)
    return probe.probe()


def test_once_the_case_store_answers_the_probe_the_backlog_goes_without_a_new_report(
    settings: Settings, redis: Redis, intake: Intake, casestore: CaseStoreServer, log_stream: io.StringIO,
) -> None:
    """After an outage the forwards waited out their own backoff (here ten minutes; up to an hour) until a new report
    went through. Now the probe finds the case store back, the forward due first runs at once, and the first report
    the case store takes brings the others: each stored once, the outage over, told by the forward."""
    assert not is_valid_tracking_id(PROBE_TRACKING_ID)  # never minted: the case store can only answer 404
    casestore.stop()
    waiting = forward_each(intake, settings, "outage-1", "outage-2", "outage-3")
    probe, other = (CaseStoreProbe(redis, settings, name) for name in ("lapor-a", "lapor-b"))
    try:
        assert probe.probe() == "down"
        assert other.probe() == "probed_elsewhere"  # one probe a period for the deployment
        assert due_now(redis) == []
        casestore.start()
        assert other.probe() == "probed_elsewhere"
        assert next_round(probe, redis) == "retried"
        assert len(due_now(redis)) == 1
        run_due(redis, settings)  # the first: it ends the outage and brings the other two to now
        assert casestore.store.count() == 1 and len(due_now(redis)) == 2
        run_due(redis, settings)
        assert next_round(probe, redis) == "no_outage"
    finally:
        probe.stop()
        other.stop()
    assert sorted(r["tracking_id"] for r in casestore.reports()) == sorted(waiting)
    assert redis.get(forward.CASESTORE_DOWN_KEY) is None and not redis.exists(forward.CASESTORE_OUTAGE_KEY)
    assert [(e["reason"], e["jobs"]) for e in log_events(log_stream) if e["event"] == "forward.retry_now"] == [
        ("casestore_answers", 1), ("casestore_back", 2)]


def reads_but_no_writes(status: int = 503) -> web.Application:
    """A case store answering reads (404 for the probe's report) while every write fails with `status`: a database
    failover (503), or a broken write path (500)."""

    async def unavailable(_: web.Request) -> web.Response:
        return web.json_response({"error": "unavailable"}, status=status)

    async def not_found(_: web.Request) -> web.Response:
        return web.json_response({"error": "not_found"}, status=404)

    app = web.Application()
    app.router.add_get("/v1/reports/{tracking_id}", not_found)
    app.router.add_post("/v1/reports", unavailable)
    app.router.add_post("/v1/reports/batch", unavailable)
    return app


def reads_but_writes_asked_to_wait() -> web.Application:
    """A case store answering reads (404 for the probe's report) while it answers every write 503 with a Retry-After of
    an hour (a maintenance window, load shed)."""

    async def maintenance(_: web.Request) -> web.Response:
        return web.json_response({"error": "unavailable"}, status=503, headers={"Retry-After": "3600"})

    async def not_found(_: web.Request) -> web.Response:
        return web.json_response({"error": "not_found"}, status=404)

    app = web.Application()
    app.router.add_get("/v1/reports/{tracking_id}", not_found)
    app.router.add_post("/v1/reports", maintenance)
    app.router.add_post("/v1/reports/batch", maintenance)
    return app


def test_the_probe_runs_no_forward_before_the_retry_after_the_case_store_asked_for(
    settings: Settings, redis: Redis, intake: Intake, casestore: CaseStoreServer,
) -> None:
    """A forward answered 503 with a Retry-After waits it out: the probe, finding the case store answering reads,
    ran it at once (and again at each probe it doubled), and ended the outage while writes were still refused."""
    casestore.stop()
    stand_in = LoopbackServer(reads_but_writes_asked_to_wait, settings.casestore.port)
    stand_in.start()
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    try:
        forward_each(intake, settings, "maintenance-1")
        assert next_round(probe, redis) == "asked_to_wait"
        assert due_now(redis) == []
        assert redis.get(CASESTORE_DOWN_KEY) == b"casestore_503"  # the outage stays said
    finally:
        probe.stop()
        stand_in.stop()


def test_a_case_store_answering_the_probe_but_failing_writes_costs_one_forward_a_probe_less_and_less_often(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """Had each probe run every waiting forward, a case store failing writes while it answers reads would spend a
    try of each forward every period, and dead-letter them all within minutes instead of hours. One forward a probe,
    and after each that failed the probe waits twice as long before it runs another."""
    period = 0.5  # each forward run here takes about a second (a worker built and stopped)
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600,600",
                                 LAPOR_CASESTORE_PROBE_SECONDS=str(period))
    casestore.stop()
    forwarded_by_a_new_intake(redis, settings, "outage-1", "outage-2", "outage-3")
    stand_in = LoopbackServer(reads_but_no_writes, settings.casestore.port)
    stand_in.start()
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    # (seconds since the first when the round was asked for, and when it answered; outcome, forwards due)
    rounds: list[tuple[float, float, str, int]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < 9 * period:
            asked = time.monotonic() - started
            outcome = next_round(probe, redis)
            rounds.append((asked, time.monotonic() - started, outcome, len(due_now(redis))))
            if outcome == "retried":
                run_due(redis, settings)  # it fails again: back to its backoff
            time.sleep(period / 4)
    finally:
        probe.stop()
        stand_in.stop()
    retried = [(asked, answered) for asked, answered, outcome, _ in rounds if outcome == "retried"]
    assert {due for _, _, outcome, due in rounds if outcome == "retried"} == {1}
    assert {outcome for _, _, outcome, _ in rounds} == {"retried", "holding_back"}
    # Two, four, then eight periods apart: three in nine periods, where every round found the case store answering.
    # Each round decided somewhere between when it was asked for and when it answered (a loaded machine may take a
    # while to answer): the gaps are bounded by the later round's answer and the earlier one's asking.
    assert len(retried) == 3, rounds
    assert retried[1][1] - retried[0][0] >= 2 * period and retried[2][1] - retried[1][0] >= 4 * period
    assert queue(FORWARD_QUEUE, redis).scheduled_job_registry.count == 3
    assert redis.get(forward.CASESTORE_DOWN_KEY) == b"casestore_503"


@pytest.mark.parametrize("status", [503, 500])
def test_a_forward_the_probe_ran_ahead_of_its_turn_that_fails_goes_back_to_its_turn_with_no_retry_spent(
    status: int, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A case store that answers reads while it fails writes: each forward the probe ran ahead of its turn spent one
    of its retries, on top of those its own backoff spends, one each period while the outage lasted. It goes back to
    the turn it had, its retries as they were, as a forward an outage's end moved does; for a 500 to every write too
    (an outage's end gives no retry back for a 500, which one report may draw: the probe's try is the probe's)."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600",
                                 LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))
    casestore.stop()
    forwarded_by_a_new_intake(redis, settings, "ahead-1")
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    [job_id] = registry.get_job_ids()
    turn = registry.get_scheduled_time(job_id).timestamp()
    stand_in = LoopbackServer(lambda: reads_but_no_writes(status), settings.casestore.port)
    stand_in.start()
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    try:
        assert probe.probe() == "retried"
        run_due(redis, settings)  # it fails again
    finally:
        probe.stop()
        stand_in.stop()
    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert (job.retries_left, job.meta["attempts"]) == (1, 2)
    assert registry.get_job_ids() == [job_id]
    assert abs(registry.get_scheduled_time(job_id).timestamp() - turn) <= 2
    assert DeadLetters(redis).list() == []


def test_the_probe_tries_another_forward_before_one_whose_try_ahead_failed_a_moment_ago(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A forward whose try ahead of its turn fails as the case store's whole failure (503 for its report: a shard of
    the store down) goes back to its turn, at the head of the registry: the probe picked it at every round, and the
    forwards behind it, which the case store would take, waited out their own backoff, the outage declared."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600",
                                 LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))
    casestore.stop()
    intake = Intake(redis, settings)
    try:
        [failing] = forward_each(intake, settings, "shard-down-1")
        time.sleep(1.1)  # due a second after it
        [taken_one] = forward_each(intake, settings, "shard-up-1")
    finally:
        intake.close()
    tried: list[str] = []
    stored: list[str] = []

    def build() -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            report = await request.json()
            tried.append(report["tracking_id"])
            if report["tracking_id"] == failing:
                return web.json_response({"error": "unavailable"}, status=503)
            stored.append(report["tracking_id"])
            return web.json_response({"tracking_id": report["tracking_id"], "status": "received"}, status=201)

        async def not_found(_: web.Request) -> web.Response:
            return web.json_response({"error": "not_found"}, status=404)

        app = web.Application()
        app.router.add_get("/v1/reports/{tracking_id}", not_found)
        app.router.add_post("/v1/reports", answer)
        return app

    stand_in = LoopbackServer(build, settings.casestore.port)
    stand_in.start()
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    try:
        for _ in range(2):
            assert next_round(probe, redis) == "retried"
            run_due(redis, settings)
            redis.hset(forward.CASESTORE_OUTAGE_KEY, "probed_at", 0)  # its hold-back passed
    finally:
        probe.stop()
        stand_in.stop()
    assert tried == [failing, taken_one] and stored == [taken_one]
    job = Job.fetch(queue(FORWARD_QUEUE, redis).scheduled_job_registry.get_job_ids()[0], connection=redis,
                    serializer=JSONSerializer)
    assert job.retries_left == 1  # its first try's retry spent, its try ahead of its turn spent none


def test_with_no_forward_left_waiting_the_probe_ends_the_outage_itself(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forwards whose retries ran out through the outage are dead letters: none is left to end it, and the views said
    the case store was failing until a new report went through. The probe that finds it answering ends it then."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0",
                                 LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))
    casestore.stop()
    forwarded_by_a_new_intake(redis, settings, "given-up-1", "given-up-2")
    assert queue(FORWARD_QUEUE, redis).scheduled_job_registry.count == 0
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    try:
        assert probe.probe() == "down"
        casestore.start()
        assert next_round(probe, redis) == "ended"
    finally:
        probe.stop()
    assert redis.get(forward.CASESTORE_DOWN_KEY) is None and not redis.exists(forward.CASESTORE_OUTAGE_KEY)
    [back] = [e for e in log_events(log_stream) if e["event"] == "casestore.back"]
    assert (back["last_failure"], back["forwards_retried_now"], back["seen_by"]) == ("casestore_unreachable", 0,
                                                                                      "probe")


@pytest.mark.parametrize(("intervals", "found"), [("0", "ended"), ("600", "retried")],
                         ids=["no-forward-left-waiting", "a-forward-waiting-runs-first"])
def test_a_cek_waiting_out_the_outage_runs_once_the_probe_finds_the_case_store_answering_reads(
    intervals: str, found: str, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A CEK's status job reads alone: the probe's read answered is all it waits for. It waited out its own backoff
    (up to an hour) where no forward was left to end the outage (their retries run out), or where the forward the
    probe ran failed again (a case store answering reads and failing writes)."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS=intervals,
                                 LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))
    casestore.stop()
    forwarded_by_a_new_intake(redis, settings, "filed-in-the-outage")
    status_job = status_job_asked_in_an_outage(test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600"), redis,
                                                 "10000530")
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    try:
        assert probe.probe() == "down"
        assert due_jobs(redis, STATUS_QUEUE) == []
        casestore.start()
        assert next_round(probe, redis) == found
    finally:
        probe.stop()
    assert due_jobs(redis, STATUS_QUEUE) == [status_job.id]


@dataclass(frozen=True)
class RefusedAfterOutage:
    id: str
    retry_intervals: str  # "0": the forwards' retries run out through the outage, none is left waiting
    noted_before: bool  # the case store refused the token already before it went down (a note left from then)
    probe: str  # what the probe's round finds once the case store answers refusing the token
    back_seen_by: str | None  # `casestore.back`'s `seen_by` (None: a forward, refused, ended it)
    refused_told: int  # `casestore.credentials_refused` lines


REFUSED_AFTER_OUTAGE = [
    RefusedAfterOutage("a forward waiting: the probe runs it, refused, it ends the outage", "600", False, "retried",
                       None, 1),
    RefusedAfterOutage("none waiting: the probe ends the outage and notes the refusal", "0", False, "ended", "probe",
                       1),
    RefusedAfterOutage("refused before the outage too: the forward ends it, the refusal's start kept", "600", True,
                       "retried", None, 0),
]


@pytest.mark.parametrize("case", REFUSED_AFTER_OUTAGE, ids=lambda case: case.id)
def test_a_case_store_back_refusing_the_gateways_token_ends_the_outage_and_only_the_refusal_is_said(
    case: RefusedAfterOutage, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, tmp_path: Path,
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The case store down (an outage declared), then back with the gateway's token rotated: it refuses every
    request 401. The probe took the 401 for no answer ("down" every round) and a refused forward noted the refusal
    without ending the outage: it stayed declared as long as the refusal lasted, its reason `casestore_unreachable`
    and its step "check that the case store answers at ...: the forwards go by themselves" beside the refusal's, and
    lapor_casestore_outage 1. A refusal is an answer: the outage ends (`casestore.back`, with the refusal), and every
    view says the refusal alone."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS=case.retry_intervals,
                                 LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))
    serve_beat(redis).beat()  # the deployment, for `lapor-gateway status`
    refused_since = time.time() - 600
    if case.noted_before:
        redis.hset(CASESTORE_REFUSING_KEY, mapping={"reason": "casestore_401", "since": refused_since,
                                                    "at": refused_since})
    casestore.stop()
    intake = Intake(redis, settings)
    try:
        tracking_ids = forward_each(intake, settings, "refused-after-1", "refused-after-2", "refused-after-3")
    finally:
        intake.close()
    assert redis.hget(forward.CASESTORE_OUTAGE_KEY, "told") is not None  # declared: casestore.down logged
    rotated = CaseStoreServer(casestore.port, "the-rotated-token", tmp_path / "rotated.db")
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    rotated.start()
    try:
        assert probe.probe() == case.probe
        run_due(redis, settings)  # the forward the probe brought to now, refused; it brings the others
        run_due(redis, settings)
    finally:
        probe.stop()
        rotated.stop()

    assert redis.get(forward.CASESTORE_DOWN_KEY) is None and not redis.exists(forward.CASESTORE_OUTAGE_KEY)
    assert redis.hget(CASESTORE_REFUSING_KEY, "reason") == b"casestore_401"
    assert (float(redis.hget(CASESTORE_REFUSING_KEY, "since") or 0) == refused_since) is case.noted_before
    # every report kept as a dead letter, those waiting out the outage refused at once, not an hour of backoff later
    letters = {letter.tracking_id: letter.reason for letter in DeadLetters(redis).list()}
    expected = "casestore_unreachable" if case.retry_intervals == "0" else "casestore_401"
    assert letters == dict.fromkeys(tracking_ids, expected)
    events = log_events(log_stream)
    [back] = [e for e in events if e["event"] == "casestore.back"]
    assert (back["last_failure"], back["refusing"], back.get("seen_by")) == (
        "casestore_unreachable", "casestore_401", case.back_seen_by)
    assert len([e for e in events if e["event"] == "casestore.credentials_refused"]) == case.refused_told

    shown = cli(test_env, "status", "--json")
    document = orjson.loads(shown.stdout)
    assert (shown.returncode, document["overall"], document["casestore_outage"]) == (0, "degraded", None), shown
    assert document["casestore_refusing"]["reason"] == "casestore_401"
    assert document["reason"].startswith("DEGRADED: case store (refuses the gateway's credentials since ")
    assert "forwards failing" not in document["reason"] and "answers at" not in shown.stdout
    checked = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check_and_collect(time.time())
    assert (metrics.gauge_value(checked.collected, "lapor_casestore_outage"),
            metrics.gauge_value(checked.collected, "lapor_casestore_refusing")) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("answer", "error", "answers"),
    [pytest.param(404, "not_found", True, id="404-the-contracts-answer"),
     # a framework's own 404 behind a wrong path in LAPOR_CASESTORE_URL: the status lookups retry it as an outage,
     # and the probe took it for the case store answering again
     pytest.param(404, "Not Found", False, id="404-a-frameworks-not-the-contracts"),
     pytest.param(503, "x", False, id="503-still-down"),
     pytest.param(401, "x", False, id="401-refusing-our-token")],
)
def test_what_the_probe_takes_for_a_case_store_that_answers(
    settings: Settings, casestore: CaseStoreServer, answer: int, error: str, answers: bool,
) -> None:
    from workers.casestore_client import CaseStoreClient

    seen: list[tuple[str, str]] = []

    def build() -> web.Application:
        async def report(request: web.Request) -> web.Response:
            seen.append((request.path, request.headers.get("Authorization", "")))
            return web.json_response({"error": error}, status=answer)

        app = web.Application()
        app.router.add_get("/v1/reports/{tracking_id}", report)
        return app

    casestore.stop()
    stand_in: Callable[[], web.Application] = build
    server = LoopbackServer(stand_in, settings.casestore.port)
    server.start()
    client = CaseStoreClient(settings)
    try:
        assert client.answers() is answers
    finally:
        client.close()
        server.stop()
    assert seen == [(f"/v1/reports/{PROBE_TRACKING_ID}", f"Bearer {settings.casestore.token}")]


def unavailable_case_store(probes: list[float]) -> Callable[[], web.Application]:
    """A case store answering 503 to everything (a database failover behind it), noting when it was probed."""

    def factory() -> web.Application:
        async def unavailable(request: web.Request) -> web.Response:
            if request.method == "GET" and request.path == f"/v1/reports/{PROBE_TRACKING_ID}":
                probes.append(time.monotonic())
            return web.json_response({"error": "unavailable"}, status=503)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", unavailable)
        return app

    return factory


# A case store not listening at all is the first test's, round by round: in processes, the one answering 503 (its
# listener counts the deployment's probes) tells the same and more, at half the suite's cost.
@pytest.mark.parametrize("how", ["answering-503"])
async def test_the_case_store_back_after_its_forwards_went_into_a_long_backoff_takes_them_without_a_new_report(
    how: str, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """The forwards of an outage wait ten minutes here (an hour with the defaults) once their first tries failed.
    Only a new report the case store took brought them to now; without one they waited it all out, the views saying
    the case store was failing. Two forward workers probe it now, one of them a period (1 s here): the backlog is
    stored within seconds of its return, each report once, and the outage ends."""
    period = 1.0
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="2,4,8,600")  # the gateway gives its jobs their retries
    probes: list[float] = []
    stand_in = LoopbackServer(unavailable_case_store(probes), casestore.port) if how == "answering-503" else None
    casestore.stop()
    if stand_in:
        stand_in.start()
    workers = [wait_ready(start_process("worker", "--queues", FORWARD_QUEUE, LAPOR_QUEUES_RETRY_INTERVALS="2,4,8,600",
                                        LAPOR_CASESTORE_PROBE_SECONDS=str(period)), queues=1) for _ in range(2)]
    forward = queue(FORWARD_QUEUE, redis)

    def all_in_the_long_wait() -> bool:
        # The schedule read in one call: read id by id, a job the scheduler moved on in between raised NoSuchJobError.
        due = [at for _, at in redis.zrange(forward.scheduled_job_registry.key, 0, -1, withscores=True)]
        return (bool(due) and forward.count == 0 and forward.started_job_registry.count == 0
                and all(at > time.time() + 300 for at in due))

    try:
        async with serving_gateway(settings, redis) as gateway:
            acknowledged = await send_stream(gateway, 100, prefix=how)
        await async_wait_until(all_in_the_long_wait, timeout=60)
        if stand_in:  # one probe a period for the deployment, not one per worker
            # Over the last four periods: the retries before the long wait took ten periods and more, the outage noted
            # (the probes running) since the first, so no wait of its own is needed for them.
            watched = time.monotonic()
            during = [at for at in probes if watched - 4 * period <= at < watched]
            assert 2 <= len(during) <= 4 + 1, during
    finally:
        if stand_in:
            stand_in.stop()
    assert casestore.store.count() == 0
    casestore.start()
    back = time.monotonic()
    await async_wait_until(lambda: all_stored(casestore, acknowledged), timeout=12)  # the README's figure
    drained = time.monotonic() - back
    assert_exactly_once(casestore, acknowledged)
    # The line comes from the run that ended the outage, which may still be writing it as the last report is stored.
    await async_wait_until(lambda: "casestore.back" in "".join(worker.output() for worker in workers), timeout=10)
    assert redis.get(CASESTORE_DOWN_KEY) is None
    print(f"\nfigures[probe-{how}]: backlog of 100 stored {drained:.1f} s after the case store returned "
          f"(probe every {period:.0f} s; their next retry was ten minutes away)")


def ceks_asked_with_no_forward(settings: Settings, redis: Redis, *tracking_ids: str) -> list[Job]:
    """At night, every report forwarded: CEKs' status jobs (as the gateway queues them after "the answer follows"),
    each run once during the outage, no forward failing."""
    jobs = enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [
        ({"source": "sms-aggregator", "to": "+6281234567811", "tracking_id": tracking_id, "language": "id",
          "status_id": f"asked-alone-{tracking_id}-{index}"},) for index, tracking_id in enumerate(tracking_ids)])
    drain(settings, (STATUS_QUEUE,))
    assert queue(FORWARD_QUEUE, redis).count == queue(FORWARD_QUEUE, redis).scheduled_job_registry.count == 0
    return jobs


def lookups_outage_document(redis: Redis) -> dict[str, Any]:
    return HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check()


@pytest.mark.parametrize("failing", [None, hung_case_store], ids=["not-listening", "taking-connections-not-answering"])
def test_a_cek_failing_alone_on_a_case_store_down_notes_the_outage_as_a_forward_does(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, failing: Callable[[list[str]], Callable[[], web.Application]] | None,
) -> None:
    """With no forward running (at 2 a.m. every report is forwarded) a CEK whose lookup failed for the case store
    down noted nothing: the views said all was well while it failed. Noted as a forward's failure is, the case store
    is down on every view once it has failed past the threshold, and the views say it is lookups that fail."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600,600", LAPOR_CASESTORE_TIMEOUT_SECONDS="0.3")
    serve_beat(redis).beat()  # the deployment, for `lapor-gateway status`
    casestore.stop()
    stand_in = LoopbackServer(failing([]), settings.casestore.port) if failing else None
    if stand_in:
        stand_in.start()
    try:
        ceks_asked_with_no_forward(settings, redis, "10000530")
        assert redis.hget(forward.CASESTORE_OUTAGE_KEY, "failing") == b"lookups"  # noted: its start, not yet told
        ceks_asked_with_no_forward(settings, redis, "10000548")  # another, past the threshold: declared
    finally:
        if stand_in:
            stand_in.stop()
    reason = "casestore_unreachable" if failing is None else "casestore_timeout"
    assert redis.get(forward.CASESTORE_DOWN_KEY) == reason.encode()
    [down] = [e for e in log_events(log_stream) if e["event"] == "casestore.down"]
    assert (down["reason"], down["queue"]) == (reason, STATUS_QUEUE)
    assert down["detail"].startswith("the CEKs' lookups are retried"), down

    document = lookups_outage_document(redis)
    outage = document["casestore_outage"]
    assert (outage["reason"], outage["declared"], outage["failing"]) == (reason, True, "lookups")
    assert (document["overall"], document["reason"]) == (
        "degraded", f"DEGRADED: case store (lookups failing since {outage['since']}, {reason})")
    page = render_status_page(document, 10)
    assert f"case store: lookups failing since {outage['since']} ({reason})" in page
    assert "the lookups go by themselves" in page and "forwards" not in page.partition("case store:")[2][:200]
    shown = " ".join(cli(test_env, "status").stdout.split())  # times with the operators' zone's beside them
    assert shown.startswith(f"overall: DEGRADED: case store (lookups failing since {outage['since']} "), shown
    assert f"case store: lookups failing since {outage['since']} " in shown
    checked = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check_and_collect(time.time())
    assert metrics.gauge_value(checked.collected, "lapor_casestore_outage") == 1.0


@pytest.mark.parametrize(("found_by", "failing"), [
    ((STATUS_QUEUE,), "lookups"),
    ((REPLY_QUEUE, STATUS_QUEUE), "lookups"),  # a mailed CEK's lookup
    ((FORWARD_QUEUE,), "forwards"),
    ((STATUS_QUEUE, FORWARD_QUEUE), "forwards"),  # no report reaches the agency: what the views say
    ((FORWARD_QUEUE, STATUS_QUEUE), "forwards"),
], ids=lambda value: "-then-".join(value) if isinstance(value, tuple) else value)
def test_what_the_outage_record_says_fails_through_it(
    found_by: tuple[str, ...], failing: str, settings: Settings, redis: Redis,
) -> None:
    """A lookup's note changes nothing of an outage forwards noted; a forward's makes a lookups' outage the
    forwards'."""
    context = SimpleNamespace(redis=redis, settings=settings)
    for queue_name in found_by:
        forward.casestore_failing(context, "casestore_unreachable", queue_name)  # type: ignore[arg-type]
    assert redis.hget(forward.CASESTORE_OUTAGE_KEY, "failing") == failing.encode()
    ended = forward.end_outage(redis)
    assert ended is not None and ended.failing == failing


def test_the_probe_ends_an_outage_only_a_cek_noted_and_the_cek_runs_at_once(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Noted by no forward, the outage started no probe, and the CEK waited out its own backoff (ten minutes here, up
    to an hour after a long outage) once the case store was back. Noted, the probe that finds it answering moves the
    CEK to now and ends the outage (`casestore.back`); the CEK is answered at its next run."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600,600", LAPOR_CASESTORE_PROBE_SECONDS=str(PERIOD))
    intake = Intake(redis, settings)
    try:
        [asked] = forward_each(intake, settings, "asked-after")  # forwarded before the outage
    finally:
        intake.close()
    assert casestore.store.set_status(asked, "in_progress")
    casestore.stop()
    jobs = ceks_asked_with_no_forward(settings, redis, asked, asked)  # two: past the threshold, declared
    probe = CaseStoreProbe(redis, settings, "lapor-a")
    try:
        assert probe.probe() == "down"
        assert due_jobs(redis, STATUS_QUEUE) == []
        casestore.start()
        assert next_round(probe, redis) == "ended"
        assert next_round(probe, redis) == "no_outage"
    finally:
        probe.stop()
    assert sorted(due_jobs(redis, STATUS_QUEUE)) == sorted(job.id for job in jobs)
    assert redis.get(forward.CASESTORE_DOWN_KEY) is None and not redis.exists(forward.CASESTORE_OUTAGE_KEY)
    events = log_events(log_stream)
    [back] = [e for e in events if e["event"] == "casestore.back"]
    assert (back["last_failure"], back["failing"], back["seen_by"], back["forwards_retried_now"], back["queue"]) == (
        "casestore_unreachable", "lookups", "probe", 0, f"{STATUS_QUEUE},{REPLY_QUEUE}")
    [moved] = [e for e in events if e["event"] == "lookup.retry_now"]
    assert moved["queues"] == {STATUS_QUEUE: 2}

    scheduler = RQScheduler([STATUS_QUEUE], connection=redis, serializer=JSONSerializer)
    scheduler.prepare_registries([STATUS_QUEUE])
    scheduler.enqueue_scheduled_jobs()  # what a worker's scheduler does within a second
    drain(settings, (STATUS_QUEUE,))
    answers = [job.args[0] for job in queue(REPLY_QUEUE, redis).get_jobs() if job.args[0]["kind"] == "status"]
    assert [answer["text"] for answer in answers] == [status_text(asked, "in_progress", "id", found=True)] * 2
    assert lookups_outage_document(redis)["casestore_outage"] is None


@pytest.mark.parametrize(("noted_by", "ended"), [(STATUS_QUEUE, True), (FORWARD_QUEUE, False)],
                         ids=["noted-by-lookups-alone", "noted-by-forwards-too"])
def test_a_cek_answered_ends_an_outage_only_lookups_noted(
    noted_by: str, ended: bool, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the probe off (or its worker stopped) an outage only lookups noted said "lookups failing" until a report
    was forwarded, hours at night, while the CEKs were answered. A CEK answered ends it, and the CEKs waiting for it
    run now; one the forwards noted stays (reads answered, writes perhaps not), for the forwards or the probe."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600", LAPOR_CASESTORE_PROBE_SECONDS="0")
    casestore.stop()
    waiting = ceks_asked_with_no_forward(settings, redis, "10000530", "10000548")
    context = SimpleNamespace(redis=redis, settings=settings)
    forward.casestore_failing(context, "casestore_unreachable", noted_by)  # type: ignore[arg-type]
    casestore.start()
    ceks_asked_with_no_forward(settings, redis, "10000556")  # answered: no such report
    assert (redis.get(forward.CASESTORE_DOWN_KEY) is None, redis.exists(forward.CASESTORE_OUTAGE_KEY)) == (
        ended, not ended)
    backs = [e for e in log_events(log_stream) if e["event"] == "casestore.back"]
    assert [(e["failing"], e["seen_by"], e["queue"]) for e in backs] == (
        [("lookups", "lookup", f"{STATUS_QUEUE},{REPLY_QUEUE}")] if ended else [])
    assert sorted(due_jobs(redis, STATUS_QUEUE)) == (sorted(job.id for job in waiting) if ended else [])


def answering_reads(status: int, body: dict[str, Any]) -> Callable[[], web.Application]:
    """A case store (or what answers at its URL) answering every read `status` with `body`."""

    def build() -> web.Application:
        async def answer(_: web.Request) -> web.Response:
            return web.json_response(body, status=status)

        app = web.Application()
        app.router.add_get("/v1/reports/{tracking_id}", answer)
        return app

    return build


@dataclass(frozen=True)
class LookupRow:
    id: str
    answering: Callable[[], web.Application] | None  # None: the reference case store; "down": nothing listens
    down: bool  # nothing listens at the case store's port
    noted: bool  # an outage of the whole case store noted


LOOKUP_ROWS = [
    LookupRow("not-listening", None, True, True),
    LookupRow("answering-503", answering_reads(503, {"error": "unavailable"}), False, True),
    # the case store answers: no such report, which the citizen is told
    LookupRow("not-found", None, False, False),
    # a PermanentError: a refusal of this read, not the case store down
    LookupRow("refused-403", answering_reads(403, {"error": "forbidden"}), False, False),
    # a proxy's or framework's 404 (`casestore_bad_answer`): retried, but nothing says the whole store is down
    LookupRow("a-404-not-the-contracts", answering_reads(404, {"detail": "Not Found"}), False, False),
]


@pytest.mark.parametrize("row", LOOKUP_ROWS, ids=lambda row: row.id)
def test_only_a_lookup_failing_for_the_whole_case_store_notes_an_outage(
    row: LookupRow, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """What a CEK's status job notes of the case store: an outage for a failure of it as a whole (as a forward's
    `outage` tells one), nothing for an answer, a refusal of the read or an answer that is not the contract's."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600")
    if row.down or row.answering is not None:
        casestore.stop()
    stand_in = LoopbackServer(row.answering, settings.casestore.port) if row.answering else None
    if stand_in:
        stand_in.start()
    try:
        ceks_asked_with_no_forward(settings, redis, "10000530")
    finally:
        if stand_in:
            stand_in.stop()
    assert (redis.exists(forward.CASESTORE_DOWN_KEY), redis.exists(forward.CASESTORE_OUTAGE_KEY)) == (
        row.noted, row.noted)
    assert (lookups_outage_document(redis)["casestore_outage"] is not None) is row.noted
