"""What operators see: /v1/status, the status page's HTML, /metrics across real processes, the heartbeat line,
`lapor-gateway status` and the dead-letter commands with filters and progress."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import html
import io
import os
import pickle
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import httpx
import jsonschema
import orjson
import pytest
import respx
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.utils import utcformat
from rq.worker import Worker
from rq.worker_registration import WORKERS_BY_QUEUE_KEY
from rq.worker_registration import register as register_worker

from channels.email.processor import REPLY_FUNC as EMAIL_REPLY_FUNC
from channels.registry import disabled_channels
from channels.social import SOCIAL_REPLY_FUNC
from gateway import metrics
from gateway.app import GATEWAY_KEY, create_app
from gateway.cli import REDIS_SINCE_NOTE
from gateway.embedded_redis import EmbeddedRedis, named_redis
from gateway.errors import RetryableError
from gateway.health import monitor as health_monitor
from gateway.health.documents import (
    DEPLOYMENT_LOOK_SECONDS,
    DEPLOYMENT_WAIT_SECONDS,
    CheckOutlasted,
    check_failed_document,
    deployment_seen,
    redis_down_document,
    spool_size,
)
from gateway.health.monitor import (
    COUNTERS_KEY,
    DISABLED_KEY,
    DISABLED_MIN_SECONDS,
    STATE_KEY,
    WORKER_ALIVE_KEY,
    HealthMonitor,
    publish_disabled,
)
from gateway.health.rules import OFF_REASON, load_rules
from gateway.health.signals import (
    DEADLETTERS_KEY,
    ERRORS_KEY,
    SERVING_KEY,
    SIGNALS_KEY,
    WORKER_SEEN_KEY,
    HealthSignals,
)
from gateway.intake import Intake
from gateway.lease import LEASE_KEY, Lease, mailbox_digest
from gateway.liveness import BEAT_SECONDS, ServingBeat
from gateway.localtime import with_local_times
from gateway.metrics import render_metrics
from gateway.outbound import REPLY_FUNC as OUTBOUND_REPLY_FUNC
from gateway.outbound import STATUS_FUNC
from gateway.queries import lookup_status
from gateway.queues import (
    FORWARD_FUNC,
    FORWARD_QUEUE,
    HELD_FORWARD_KEY,
    REPLY_QUEUE,
    STATUS_QUEUE,
    JSONSerializer,
    enqueue_calls,
    enqueue_later,
    queue,
    redis_connection,
)
from gateway.settings import CONFIG_DIR, Settings
from gateway.spool import Spool
from gateway.status_page import PAGE_VERSION, casestore_step, render_status_page
from gateway.supervisor import hold_data_dir
from gateway.tls import tls_context
from gateway.tracking import TrackingIdAllocator
from normalizer.envelope import Channel, ReportDraft, Sender, SenderKind
from tests.aggregator_support import post_callback
from tests.cli_process import run_cli
from tests.conftest import (
    VENV_BIN,
    CaseStoreServer,
    GatewayServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    first_table,
    free_port,
    log_events,
    serve_beat,
    serving_gateway,
    wait_ready,
    wait_until,
)
from tests.email_support import SmtpServerThread, run_replies
from tests.email_support import fixture as email_fixture
from tests.test_forwarding import cli
from tests.test_health_transitions import live_worker
from tests.test_twilio_intake import tracking_id_in, twiml_message
from workers import casestore_client, forward, reaper
from workers.casestore_client import CaseStoreClient
from workers.deadletters import ENTRIES_KEY, INDEX_KEY, UNREADABLE, DeadLetter, DeadLetters

# Every view lists the channels of config/health.toml, in its order: read from there, so a channel added to the
# registry and its health rules needs no line here.
SHIPPED_RULES = load_rules(CONFIG_DIR / "health.toml")
SHIPPED_CHANNELS = SHIPPED_RULES.channels


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus exposition text as {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


# `lapor-gateway status` looks again for a beat (3 s by default) only while a process or a worker reads as silent:
# just after Redis came back from a pause. Here the channels it finds down are down: it looks once more, not for 3 s,
# each time. The test of that wait sets its own (`test_the_cli_just_after_redis_came_back_...`).
BEATS_WAIT = {"LAPOR_HEALTH_STATUS_BEATS_WAIT_SECONDS": "0.5"}


@pytest.fixture
def test_env(test_env: TestEnvironment) -> TestEnvironment:
    """conftest's, with `lapor-gateway status` looking again for a beat half a second (BEATS_WAIT)."""
    test_env.values.update(BEATS_WAIT)
    return test_env


@pytest.fixture
async def fast_gateway(test_env: TestEnvironment, redis: Redis) -> AsyncIterator[GatewayServer]:
    """The gateway with the health loop evaluating every 0.1 s and a heartbeat every 0.2 s."""
    settings = test_env.settings(LAPOR_HEALTH_EVALUATE_SECONDS="0.1", LAPOR_HEALTH_HEARTBEAT_SECONDS="0.2")
    runner = web.AppRunner(create_app(settings, redis), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
        yield GatewayServer(url=settings.public_url, settings=settings, client=client)
    await runner.cleanup()


async def test_reports_held_for_the_forward_linger_show_on_the_forward_queue(
    gateway: GatewayServer, redis: Redis
) -> None:
    """Answered reports whose forward job is not made yet are visible, so a stuck release would be seen."""
    redis.rpush(HELD_FORWARD_KEY, "10000011", "10000026", "10000034")
    document = (await gateway.client.get("/v1/status")).json()
    held = {q["name"]: q["held"] for q in document["queues"]}
    assert held == {"lapor-forward": 3, "lapor-reply": 0, "lapor-status": 0}
    page = (await gateway.client.get("/status")).text
    assert "<th>held</th>" in page and "<tr><td>lapor-forward</td><td>0</td><td>3</td>" in page


def taken_by_a_worker(redis: Redis, settings: Settings, held_seconds: float) -> str:
    """A real forward job as a forward worker takes it (RQ's own bookkeeping: dequeued, its run in the started
    registry, the job started), the worker then paused: started `held_seconds` ago and never finished."""
    enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(["10000011", "10000026"],)])
    target = queue(FORWARD_QUEUE, redis)
    worker = Worker([target], connection=redis, serializer=JSONSerializer, name="lapor-test-p1-paused")
    taken = target.dequeue_any([target], None, connection=redis, serializer=JSONSerializer)
    assert taken is not None
    job = taken[0]
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    redis.hset(job.key, "started_at", utcformat(datetime.now(UTC) - timedelta(seconds=held_seconds)))
    return job.id


# `shown`: a pattern, the views being read a few seconds apart (the CLI a process of its own, under load).
@pytest.mark.parametrize(("held_seconds", "shown"), [(4 * 60 + 10, "1 for 4 min"), (45, "1 for (4[5-9]|5[0-9]) s")])
async def test_a_job_a_paused_worker_took_shows_in_progress_with_how_long_in_every_view(
    gateway: GatewayServer, test_env: TestEnvironment, redis: Redis, held_seconds: float, shown: str
) -> None:
    """The only forward worker paused (SIGSTOP) with a job taken: the queue said 0 queued with no age, and only
    "no live worker" hinted at it. Each view says how many jobs its workers hold and for how long the oldest."""
    the_deployments(redis)
    job_id = taken_by_a_worker(redis, gateway.settings, held_seconds)
    assert job_id in queue(FORWARD_QUEUE, redis).started_job_registry.get_job_ids(cleanup=False)

    document = (await gateway.client.get("/v1/status")).json()
    jsonschema.validate(document, STATUS_SCHEMA)
    queues = {q["name"]: q for q in document["queues"]}
    forward_queue = queues[FORWARD_QUEUE]
    assert (forward_queue["depth"], forward_queue["oldest_age_seconds"], forward_queue["in_progress"]) == (0, None, 1)
    assert held_seconds <= forward_queue["oldest_in_progress_seconds"] < held_seconds + 30, forward_queue
    assert {name: (q["in_progress"], q["oldest_in_progress_seconds"]) for name, q in queues.items()
            if name != FORWARD_QUEUE} == {REPLY_QUEUE: (0, None), STATUS_QUEUE: (0, None)}

    page = (await gateway.client.get("/status")).text
    assert "<th>in progress</th>" in page
    row = re.search(r"<tr><td>lapor-forward</td>.*?</tr>", page)
    assert row and re.search(f"<td>{shown}</td></tr>$", row.group(0)), row

    exposition = (await gateway.client.get("/metrics")).text
    assert value(exposition, "lapor_queue_in_progress_jobs", queue=FORWARD_QUEUE) == 1
    assert held_seconds <= value(exposition, "lapor_queue_oldest_in_progress_seconds", queue=FORWARD_QUEUE) < (
        held_seconds + 30)
    assert value(exposition, "lapor_queue_in_progress_jobs", queue=REPLY_QUEUE) == 0

    table = await asyncio.to_thread(run_cli, ["status"], test_env.process_env(COLUMNS="400"))
    line = next(line for line in table.stdout.splitlines() if "lapor-forward" in line and "│" in line)
    assert re.search(f"│ {shown}$", line.rstrip(" │")), table.stdout


# Held for: under the rule's threshold (past the job's 2 min limit), past it, past the down threshold.
@pytest.mark.parametrize(("held_seconds", "state"), [(4 * 60 + 10, "ok"), (6 * 60, "degraded"), (31 * 60, "down")])
async def test_a_forward_held_past_its_time_limit_turns_every_channel_degraded_then_down(
    gateway: GatewayServer, redis: Redis, held_seconds: float, state: str
) -> None:
    """The only forward worker hung on a job (its beat going on, so no reaper takes the job back): taken off the
    queue, the job aged no queue, and every channel said ok while its reports never reached the case store. The
    reason names the worker to restart."""
    the_deployments(redis)
    taken_by_a_worker(redis, gateway.settings, held_seconds)
    hung = Worker([queue(FORWARD_QUEUE, redis)], connection=redis, name="lapor-test-p1-paused")
    register_worker(hung)  # the worker that took the job, on the queue's worker list, its beat going on
    redis.set(WORKER_ALIVE_KEY.format(name=hung.name), 1, ex=60)

    document = (await gateway.client.get("/v1/status")).json()
    jsonschema.validate(document, STATUS_SCHEMA)
    assert [set(q) for q in document["queues"] if "overdue" in q] == []  # said by the rule, not as JSON of a null key
    channels = {c["channel"]: c for c in document["channels"]}
    assert {name: c["state"] for name, c in channels.items()} == dict.fromkeys(channels, state), channels
    if state != "ok":
        assert document["overall"] == state
        assert all(re.search(r"lapor-forward: a job held in progress for \d+ min, past its 2 min time limit "
                             r"\(its worker lapor-test-p1-paused is hung: restart it and the job runs again\)",
                             c["reason"])
                   for c in channels.values()), channels
        page = (await gateway.client.get("/status")).text
        assert "a job held in progress for" in page


def taken_off_the_queue(redis: Redis, settings: Settings, queued_seconds: float) -> str:
    """A real forward job as RQ's blocking dequeue hands it to a worker paused while it waited (SIGSTOP): moved into
    the queue's intermediate list (BLMOVE), never started; queued `queued_seconds` ago."""
    enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(["10000011", "10000026"],)])
    target = queue(FORWARD_QUEUE, redis)
    taken = target.dequeue_any([target], None, connection=redis, serializer=JSONSerializer)
    assert taken is not None
    job = taken[0]
    redis.hset(job.key, "created_at", utcformat(datetime.now(UTC) - timedelta(seconds=queued_seconds)))
    return job.id


# Queued for: under the queue-age rule's 5 min, past it, past its 30 min.
@pytest.mark.parametrize(("queued_seconds", "state"), [(45, "ok"), (6 * 60, "degraded"), (31 * 60, "down")])
async def test_a_job_a_paused_worker_took_off_the_queue_and_never_started_counts_as_queued_with_its_age(
    gateway: GatewayServer, redis: Redis, queued_seconds: float, state: str
) -> None:
    """The only forward worker paused while it waited for a job: Redis still answers its blocking dequeue, which
    moves the next job into the queue's intermediate list, off the queue and out of the started registry. Every
    view said 0 queued, no age, nothing in progress, and no rule ever took the channels down, while the report
    never reached the case store."""
    the_deployments(redis)
    job_id = taken_off_the_queue(redis, gateway.settings, queued_seconds)
    target = queue(FORWARD_QUEUE, redis)
    assert (target.count, redis.lrange(target.intermediate_queue_key, 0, -1)) == (0, [job_id.encode()])
    live = Worker([target], connection=redis, name="lapor-test-p1-other")  # the rule on a missing worker aside
    live.register_birth()
    redis.set(WORKER_ALIVE_KEY.format(name=live.name), 1, ex=60)

    document = (await gateway.client.get("/v1/status")).json()
    jsonschema.validate(document, STATUS_SCHEMA)
    forward_queue = {q["name"]: q for q in document["queues"]}[FORWARD_QUEUE]
    assert (forward_queue["depth"], forward_queue["in_progress"]) == (1, 0), forward_queue
    assert queued_seconds <= forward_queue["oldest_age_seconds"] < queued_seconds + 30, forward_queue
    channels = {c["channel"]: c for c in document["channels"]}
    assert {name: c["state"] for name, c in channels.items()} == dict.fromkeys(channels, state), channels
    if state != "ok":
        assert all("lapor-forward: oldest job waiting" in c["reason"] for c in channels.values()), channels
    exposition = (await gateway.client.get("/metrics")).text
    assert value(exposition, "lapor_queue_depth", queue=FORWARD_QUEUE) == 1


async def test_an_id_not_utf8_on_the_intermediate_list_leaves_the_queue_readable_and_its_taken_job_counted(
    gateway: GatewayServer, redis: Redis
) -> None:
    """Such an id is no job (a worker rejects it as it meets it): passed over, the paused worker's job beside it
    still counted, the queue not shown unreadable."""
    the_deployments(redis)
    taken_off_the_queue(redis, gateway.settings, 60)
    redis.rpush(queue(FORWARD_QUEUE, redis).intermediate_queue_key, b"\x80abc")

    forward_queue = {q["name"]: q for q in (await gateway.client.get("/v1/status")).json()["queues"]}[FORWARD_QUEUE]
    assert (forward_queue["error"], forward_queue["depth"]) == (None, 1), forward_queue
    assert 60 <= forward_queue["oldest_age_seconds"] < 90, forward_queue


async def test_a_forward_a_paused_worker_holds_beside_a_live_one_names_the_paused_one(
    gateway: GatewayServer, redis: Redis
) -> None:
    """The worker holding the job paused (its beat lapsed) and another live on the queue, whose reaper did not take
    the job back: the reason said "its worker is hung: restart it", of the queue's live worker, which was not."""
    the_deployments(redis)
    taken_by_a_worker(redis, gateway.settings, 6 * 60)
    live = Worker([queue(FORWARD_QUEUE, redis)], connection=redis, name="lapor-test-p2-live")
    live.register_birth()
    redis.set(WORKER_ALIVE_KEY.format(name=live.name), 1, ex=60)

    document = (await gateway.client.get("/v1/status")).json()
    reasons = {c["channel"]: c["reason"] for c in document["channels"]}
    assert all("(its worker lapor-test-p1-paused is paused or gone, and no live worker took the job back)" in reason
               for reason in reasons.values()), reasons


async def test_status_json_names_every_channel_and_shows_a_poller_going_down(
    gateway: GatewayServer, redis: Redis
) -> None:
    document = (await gateway.client.get("/v1/status")).json()
    assert tuple(c["channel"] for c in document["channels"]) == SHIPPED_CHANNELS
    assert document["overall"] == "ok"
    assert {q["name"] for q in document["queues"]} == {"lapor-forward", "lapor-reply", "lapor-status"}
    assert document["deadletters"] == {"total": 0}
    assert document["spool_size"] == 0

    signals = HealthSignals(redis)
    for _ in range(3):  # the IMAP poller's (X, off in the tests' settings, is held to nothing it met)
        signals.auth_failed("email", "401 Unauthorized: token revoked")
    document = (await gateway.client.get("/v1/status")).json()
    x = next(c for c in document["channels"] if c["channel"] == "email")
    assert document["overall"] == "down"
    assert x["state"] == "down"
    assert x["reason"] == "authentication failing (3 in a row): 401 Unauthorized: token revoked"
    assert x["since"]
    assert x["last_errors"][0]["kind"] == "auth_failed"
    assert x["last_errors"][0]["reason"] == "401 Unauthorized: token revoked"


async def answered_view(client: httpx.AsyncClient, path: str, deadline_seconds: float = 30) -> httpx.Response:
    """A view as it answers once its check ends within the views' time bound: on a loaded machine the check of a test's
    own app, sharing its process, ran past it and the view answered 503 (a "not yet", asked again)."""
    deadline = time.monotonic() + deadline_seconds
    while (response := await client.get(path)).status_code == 503 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text
    return response


async def test_status_counters_move_with_real_twilio_traffic(gateway: GatewayServer, test_env: TestEnvironment) -> None:
    def twilio(document: dict[str, object]) -> dict[str, object]:
        return next(c for c in document["channels"] if c["channel"] == "sms-twilio")["counters"]  # type: ignore[index,union-attr]

    before = twilio((await answered_view(gateway.client, "/v1/status")).json())
    form = gateway.twilio_form(Body="Jalan rusak", MessageSid="SM" + "7" * 32)
    await gateway.post_twilio(form)
    await gateway.post_twilio(form)
    await gateway.post_twilio(form, signature=None)
    after = twilio((await answered_view(gateway.client, "/v1/status")).json())
    assert after["received"] - before["received"] == 3
    assert after["accepted"] - before["accepted"] == 1
    assert after["duplicates"] - before["duplicates"] == 1
    assert after["rejected"] - before["rejected"] == 1
    assert after["rejected_by_reason"]["signature_missing"] - before["rejected_by_reason"].get(
        "signature_missing", 0) == 1
    assert after["replies_sent"] - before["replies_sent"] == 2
    # Why they were rejected, in the same words on the page and in `lapor-gateway status` (which said the count alone).
    by_reason = ", ".join(f"{reason} {count}" for reason, count in after["rejected_by_reason"].items())  # type: ignore[attr-defined]
    assert f"rejected by reason: {by_reason}</div>" in (await answered_view(gateway.client, "/status")).text
    shown = await asyncio.to_thread(cli, test_env, "status")
    assert f"sms-twilio: rejected by reason: {by_reason}\n" in shown.stdout, shown.stdout
    # The spool's size in bytes on both, as the page of Redis down says it ("spool: 2" read as two reports).
    assert " · spool: 0 bytes · " in (await answered_view(gateway.client, "/status")).text
    assert "  spool: 0 bytes" in shown.stdout, shown.stdout


async def test_the_status_page_is_plain_html_that_reloads_itself_and_says_why(
    gateway: GatewayServer, redis: Redis
) -> None:
    HealthSignals(redis).poll_failed("email", "Graph API 500 <script>alert(1)</script>")  # on in the tests' settings
    redis.hset("lapor:health:signals:email", "poll_failing_since", time.time() - 700)
    page = await gateway.client.get("/status")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    # Refreshed by its own script (which keeps the last page under a banner while the gateway is unreachable, see
    # tests/test_status_page_browser.py): the period and the operators' zone it reads, the version of its script and
    # style (a page fetched with another is loaded whole), the generated time it quotes, and the meta refresh for a
    # browser that runs no script: in the head, not in a `<noscript>` (a proxy's CSP blocking inline scripts left
    # the page with neither), which the script removes as it starts.
    assert re.search(r'<html lang="en" data-refresh="10" data-zone="Asia/Jakarta" data-zone-label="WIB" '
                     rf'data-version="{PAGE_VERSION}">', html)
    assert re.fullmatch(r"[0-9a-f]{12}", PAGE_VERSION)
    assert re.search(r'<head><meta charset="utf-8"><meta name="viewport"[^>]*><meta http-equiv="refresh" '
                     r'content="10"><title>', html)
    assert "<noscript>" not in html and 'document.querySelector(\'meta[http-equiv="refresh"]\')' in html
    # (WIB is a day ahead from 17:00 UTC: "(00:08 WIB, Dec 6)")
    assert re.search(r'<div class="muted" data-generated="([-\d]+ [:\d]+Z \(\d\d:\d\d WIB(?:, \w+ \d+)?\))">'
                     r"generated \1 · ", html)
    assert 'id="overall">DOWN: email<' in html
    assert 'id="channel-email" data-state="down"' in html
    assert "poller failing for 11 min: Graph API 500 &lt;script&gt;" in html
    assert html.count("<script>") == 1 and "<script>alert" not in html  # the page's own script alone
    two = (await gateway.client.get("/status?refresh=2")).text
    assert '<meta http-equiv="refresh" content="2">' in two and 'data-refresh="2"' in two


async def test_the_gateway_logs_a_heartbeat_with_the_counters(
    fast_gateway: GatewayServer, log_stream: io.StringIO
) -> None:
    await fast_gateway.post_twilio(fast_gateway.twilio_form(Body="Lampu mati", MessageSid="SM" + "8" * 32))

    def heartbeats() -> list[dict[str, object]]:
        return [e for e in log_events(log_stream) if e["event"] == "health.heartbeat"]

    def by_channel(beat: dict[str, object]) -> dict[str, dict[str, object]]:
        return {entry["channel"]: entry for entry in beat["channels"]}  # type: ignore[attr-defined,index]

    await async_wait_until(lambda: any(by_channel(h)["sms-twilio"]["accepted"] >= 1 for h in heartbeats()),  # type: ignore[operator]
                           timeout=5)
    beat = heartbeats()[-1]
    assert beat["overall"] == "ok"
    assert set(by_channel(beat)) == set(SHIPPED_CHANNELS)
    assert by_channel(beat)["email"]["state"] == "ok"  # a channel named "email" is not mistaken for an address
    assert set(beat["queues"]) == {"lapor-forward", "lapor-reply", "lapor-status"}  # type: ignore[arg-type]
    # A heartbeat every 0.2 s, not a line per evaluation (every 0.1 s) and not a channel.health line per check.
    await async_wait_until(lambda: len(heartbeats()) >= 3, timeout=5)
    assert not [e for e in log_events(log_stream) if e["event"] == "channel.health"]


async def test_metrics_are_summed_over_the_gateway_and_worker_processes(
    start_process: Callable[..., ProcessHandle], casestore: CaseStoreServer, test_env: TestEnvironment,
    tmp_path: object,
) -> None:
    """Two real processes write their samples to PROMETHEUS_MULTIPROC_DIR; the gateway's /metrics adds them up."""
    metrics_dir = f"{tmp_path}/metrics"
    import os

    os.makedirs(metrics_dir)
    gateway_process = start_process("serve", PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    start_process("worker", PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    settings = test_env.settings()
    async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
        server = GatewayServer(url=settings.public_url, settings=settings, client=client)

        async def up() -> bool:
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        deadline = time.monotonic() + 20
        while not await up():
            assert time.monotonic() < deadline, gateway_process.output()
            await _sleep()
        replies = [await server.post_twilio(server.twilio_form(Body=f"Laporan {i}", MessageSid=f"SM{i:032d}"))
                   for i in range(3)]
        tracking_ids = [tracking_id_in(twiml_message(reply.text)) for reply in replies]
        await server.post_twilio(server.twilio_form(Body="x"), signature="bm90IGEgc2lnbmF0dXJl")
        await async_wait_until(lambda: all(casestore.get(t) for t in tracking_ids), timeout=20)

        async def forwarded() -> str:
            return (await client.get("/metrics")).text

        text = await forwarded()
        deadline = time.monotonic() + 10
        while value(text, "lapor_reports_forwarded_total", channel="sms-twilio") < 3:
            assert time.monotonic() < deadline, text
            await _sleep()
            text = await forwarded()
    assert value(text, "lapor_messages_received_total", channel="sms-twilio") == 4  # gateway process
    assert value(text, "lapor_messages_accepted_total", channel="sms-twilio") == 3
    assert value(text, "lapor_messages_rejected_total", channel="sms-twilio", reason="signature_invalid") == 1
    assert value(text, "lapor_reports_forwarded_total", channel="sms-twilio") == 3  # worker process
    assert value(text, "lapor_casestore_latency_seconds") > 0  # worker process, read by the gateway
    assert value(text, "lapor_channel_last_message_timestamp_seconds", channel="sms-twilio") > time.time() - 60
    assert value(text, "lapor_channel_state", channel="sms-twilio") == 0
    assert ("lapor_queue_depth", (("queue", "lapor-forward"),)) in samples(text)
    assert ("lapor_queue_oldest_job_age_seconds", (("queue", "lapor-forward"),)) in samples(text)
    assert ("lapor_spool_bytes", ()) in samples(text)


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.1)


def the_deployments(redis: Redis) -> Redis:
    """`redis` as a running deployment's: the HTTP gateway's beat for the SMS channels it receives, which
    `lapor-gateway status` looks for (or the Tracking-ID counter) before it reads the channels there."""
    serve_beat(redis).beat()
    return redis


def test_cli_status_exits_non_zero_when_a_channel_is_down(test_env: TestEnvironment, redis: Redis) -> None:
    the_deployments(redis)
    ok = cli(test_env, "status")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "overall: OK" in ok.stdout
    for channel in SHIPPED_CHANNELS:
        assert channel in ok.stdout

    signals = HealthSignals(redis)
    for _ in range(3):
        signals.reply_failed("email", "550 mailbox unavailable")
    degraded = cli(test_env, "status")
    assert degraded.returncode == 0
    assert cli(test_env, "status", "--strict").returncode == 1

    for _ in range(3):  # the IMAP poller's (X, off in the tests' settings, is held to nothing it met)
        signals.auth_failed("email", "401 Unauthorized")
    down = cli(test_env, "status")
    assert down.returncode == 2
    assert "overall: DOWN" in down.stdout
    assert "authentication failing (3 in a row): 401 Unauthorized" in down.stdout
    document = orjson.loads(cli(test_env, "status", "--json").stdout)
    assert next(c for c in document["channels"] if c["channel"] == "email")["state"] == "down"


def test_the_cli_says_since_when_each_channel_is_in_its_state(test_env: TestEnvironment, redis: Redis) -> None:
    """The page said since when a channel was down; `lapor-gateway status`, the view of an operator on a shell at
    2 a.m., did not: whether X went down a minute or six hours ago took the page or the JSON."""
    the_deployments(redis)
    for _ in range(3):
        HealthSignals(redis).auth_failed("email", "401 Unauthorized")
    checked = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check()  # as the gateway's health loop
    since = next(c["since"] for c in checked["channels"] if c["channel"] == "email")
    assert since is not None

    shown = cli(test_env, "status").stdout
    # under the table, which keeps its width for the reasons; its time in the operators' zone too
    assert f"email: DOWN since {with_local_times(since, test_env.settings().operator_zone)}\n" in shown
    assert "sms-twilio: OK since" not in shown  # only the channels that are not ok


@pytest.mark.parametrize(("channel", "error", "shown"), [
    # An IMAP server quoting the mailbox it refused: the scrubber's "[email]" is no rich style to drop.
    ("email", "LOGIN failed for pengaduan@lapor.go.id: [AUTHENTICATIONFAILED] Invalid credentials",
     "authentication failing (1 in a row): LOGIN failed for [email]: [AUTHENTICATIONFAILED] Invalid credentials"),
    # A provider's text with what reads as a closing tag: it ended the command on rich's MarkupError.
    ("email", "502 from the proxy: upstream [/2/users/me/mentions] closed the connection",
     "authentication failing (1 in a row): 502 from the proxy: upstream [/2/users/me/mentions] closed the connection"),
    # A provider's answer quoting an escape sequence (it cleared the screen and retitled the terminal) and a direction
    # override: written as their codes, as the dead-letter and quarantine commands write them.
    ("email", "403 \x1b[2J\x1b]0;owned\x07 \u202eforbidden\u202c",
     r"authentication failing (1 in a row): 403 \x1b[2J\x1b]0;owned\x07 \u202eforbidden\u202c"),
])
def test_the_cli_shows_a_reason_as_its_text_not_as_markup(
        test_env: TestEnvironment, redis: Redis, channel: str, error: str, shown: str) -> None:
    the_deployments(redis)
    HealthSignals(redis).auth_failed(channel, error)

    result = run_cli(["status"], test_env.process_env(COLUMNS="400"))  # wide enough for the reason on one line

    assert result.returncode == 0, result.stdout + result.stderr
    assert first_table(result.stdout)[channel]["reason"] == shown
    assert not {"\x1b", "\x07", "\u202e", "\u202c"} & set(result.stdout), result.stdout


@pytest.mark.parametrize(("signal", "times", "reason"), [
    ("auth_failed", 1, "authentication failing (1 in a row): 401 Unauthorized Unauthorized"),
    ("poll_failed", 1, "poller failing for 2 min: 401 Unauthorized Unauthorized"),
    ("reply_failed", 3, "replies failing (3 in a row): 401 Unauthorized Unauthorized"),
])
def test_a_reason_given_over_several_lines_reads_as_one(redis: Redis, signal: str, times: int, reason: str) -> None:
    """tweepy words X's 401 as "401 Unauthorized\nUnauthorized": a reason is one line in every view, not a row of
    the CLI table broken in two or a page and a log line with a line break in the middle of the cause."""
    signals = HealthSignals(redis)
    for _ in range(times):
        getattr(signals, signal)("sms-twilio", "401 Unauthorized\nUnauthorized\r\n")
    serve_beat(redis, clock=lambda: time.time() + 130).beat()  # the gateway receiving it
    live_worker(redis)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: time.time() + 130)
    twilio = next(c for c in monitor.check()["channels"] if c["channel"] == "sms-twilio")
    assert (twilio["state"], twilio["reason"]) == ("degraded", reason)
    assert twilio["last_errors"][0]["reason"] == "401 Unauthorized Unauthorized"


@dataclass(frozen=True)
class Damaged:
    id: str
    write: Callable[[Redis], object]


# One damaged value each, of every kind the views read: not UTF-8, not JSON, JSON of another shape, not a number.
DAMAGED = [
    Damaged("state not utf-8", lambda r: r.hset(STATE_KEY, "x", b"\xff\xfe")),
    Damaged("state of no known name", lambda r: r.hset(STATE_KEY, "x", b'{"state": "sideways", "since": "then"}')),
    Damaged("last error not json", lambda r: r.lpush(ERRORS_KEY.format(channel="x"), b"not json")),
    Damaged("last error without its time", lambda r: r.lpush(ERRORS_KEY.format(channel="email"),
                                                             b'{"kind": "dead_letter", "reason": "casestore_422"}')),
    Damaged("counters not utf-8", lambda r: r.set(COUNTERS_KEY, b"\x80garbage")),
    Damaged("counters of another shape", lambda r: r.set(COUNTERS_KEY, b'{"at": "x", "counters": [1]}')),
    Damaged("worker seen not utf-8", lambda r: r.hset(WORKER_SEEN_KEY, b"\xff", b"abc")),
    Damaged("a count not a number", lambda r: r.hset(SIGNALS_KEY.format(channel="x"), "auth_failures", b"many")),
    Damaged("a time out of range", lambda r: r.hset(SIGNALS_KEY.format(channel="x"), "first_seen", b"1e400")),
    # A job an older version pickled, at the head of the forward queue: its meta is no JSON.
    Damaged("a job that is not json", lambda r: (
        r.hset("rq:job:pickled-1", mapping={"created_at": "2026-12-02T02:00:00.000000Z", "meta": b"\x80\x04\x95"}),
        r.rpush("rq:queue:lapor-forward", "pickled-1"))),
]


@pytest.mark.parametrize("damaged", DAMAGED, ids=[row.id for row in DAMAGED])
def test_one_damaged_value_in_redis_does_not_blind_the_views(
        test_env: TestEnvironment, redis: Redis, damaged: Damaged) -> None:
    """Each of these ended `lapor-gateway status` on a traceback (exit 1, the code of "degraded" with --strict) and
    the gateway's check, so /v1/status, the page and /metrics, on an exception, until someone found the key."""
    the_deployments(redis)
    damaged.write(redis)

    table = run_cli(["status"], test_env.process_env(COLUMNS="400"))
    as_json = run_cli(["status", "--json"], test_env.process_env(COLUMNS="400"))
    checked = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check()

    assert table.returncode == 0 and "overall: OK" in table.stdout, table.stdout + table.stderr
    assert "Traceback" not in table.stdout + table.stderr + as_json.stderr
    assert orjson.loads(as_json.stdout)["overall"] == checked["overall"] == "ok"
    assert {c["channel"] for c in checked["channels"]} >= {"sms-twilio", "x", "email"}


# A job id that is not UTF-8 where the check reads the jobs at the head of a queue: RQ decodes ids as UTF-8, and its
# UnicodeDecodeError (a ValueError, not Redis's) ended /v1/status, the page, /metrics and `status` on a 500.
UNREADABLE_QUEUES = [
    Damaged("a queued job id not utf-8", lambda r: r.rpush(f"rq:queue:{FORWARD_QUEUE}", b"\xff\xfe")),
    Damaged("a retrying job id not utf-8", lambda r: r.zadd(f"rq:scheduled:{FORWARD_QUEUE}", {b"\x80abc": 1})),
]


@pytest.mark.parametrize("damaged", UNREADABLE_QUEUES, ids=[row.id for row in UNREADABLE_QUEUES])
async def test_a_queue_whose_jobs_cannot_be_read_is_shown_unknown_and_the_views_still_answer(
        fast_gateway: GatewayServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO,
        damaged: Damaged) -> None:
    gateway = fast_gateway
    the_deployments(redis)
    damaged.write(redis)

    status = await gateway.client.get("/v1/status")
    page = await gateway.client.get("/status")
    exposition = await gateway.client.get("/metrics")
    table = run_cli(["status"], test_env.process_env(COLUMNS="400"))

    assert (status.status_code, page.status_code, exposition.status_code) == (200, 200, 200)
    queues = {q["name"]: q for q in status.json()["queues"]}
    assert queues[FORWARD_QUEUE]["error"] == "UnicodeDecodeError"
    assert queues[FORWARD_QUEUE]["oldest_age_seconds"] is None
    assert queues[REPLY_QUEUE]["error"] is None  # the other queues read as ever
    sms = next(c for c in status.json()["channels"] if c["channel"] == "sms-twilio")
    assert sms["state"] == "degraded"
    assert f"{FORWARD_QUEUE}: its jobs could not be read (UnicodeDecodeError)" in sms["reason"]
    assert "unknown: its jobs could not be read (UnicodeDecodeError; see health.queue_unreadable)" in page.text
    assert table.returncode == 0 and "Traceback" not in table.stdout + table.stderr, table.stdout + table.stderr
    assert "its jobs could not be read" in table.stdout
    unreadable = [e for e in log_events(log_stream) if e["event"] == "health.queue_unreadable"]
    assert unreadable and {(e["queue"], e["error"], e["level"]) for e in unreadable} == {
        (FORWARD_QUEUE, "UnicodeDecodeError", "error")}

    def heartbeats() -> list[dict[str, Any]]:
        return [e for e in log_events(log_stream) if e["event"] == "health.heartbeat"]

    await async_wait_until(heartbeats, timeout=5)
    beat = heartbeats()[-1]
    assert beat["queues"][FORWARD_QUEUE]["error"] == "UnicodeDecodeError"
    assert "error" not in beat["queues"][REPLY_QUEUE]


def test_cli_status_json_is_one_json_document_while_the_check_logs(test_env: TestEnvironment, redis: Redis) -> None:
    """A line the check logs as it reads (`health.queue_unreadable`, `health.clock_stepped`) was written to stdout
    before the document: `status --json | jq` failed on it just when a queue was in trouble. Its log lines go to
    stderr; stdout is the document alone."""
    the_deployments(redis)
    redis.rpush(f"rq:queue:{FORWARD_QUEUE}", b"\xff\xfe")

    result = run_cli(["status", "--json"], test_env.process_env(COLUMNS="400"))

    document = orjson.loads(result.stdout)
    assert {q["name"]: q["error"] for q in document["queues"]}[FORWARD_QUEUE] == "UnicodeDecodeError"
    assert [orjson.loads(line)["event"] for line in result.stderr.splitlines() if line.startswith("{")] == [
        "health.queue_unreadable"]


async def test_a_queue_unreadable_is_logged_once_when_it_becomes_so_and_once_when_it_reads_again(
        fast_gateway: GatewayServer, redis: Redis, log_stream: io.StringIO) -> None:
    """The check logged `health.queue_unreadable` at every evaluation (every 5 s) and every view and scrape: with no
    worker on the queue to take the bad id off, an error line every few seconds for as long as it lasted, where the
    channels' change of state is one line. Now one line when it cannot be read, one when it can again."""
    the_deployments(redis)
    UNREADABLE_QUEUES[0].write(redis)

    def lines(event: str) -> list[dict[str, object]]:
        return [e for e in log_events(log_stream) if e["event"] == event]

    await async_wait_until(lambda: len(lines("health.heartbeat")) >= 5)  # the health loop has evaluated many times
    for _ in range(3):
        assert (await fast_gateway.client.get("/v1/status")).json()["queues"][0]["error"] == "UnicodeDecodeError"
    assert [(e["queue"], e["error"]) for e in lines("health.queue_unreadable")] == [(FORWARD_QUEUE,
                                                                                    "UnicodeDecodeError")]
    redis.lrem(f"rq:queue:{FORWARD_QUEUE}", 0, b"\xff\xfe")  # a worker took it off
    await async_wait_until(lambda: lines("health.queue_readable"))
    heartbeats = len(lines("health.heartbeat"))
    await async_wait_until(lambda: len(lines("health.heartbeat")) >= heartbeats + 3)
    assert [e["queue"] for e in lines("health.queue_readable")] == [FORWARD_QUEUE]
    assert len(lines("health.queue_unreadable")) == 1


async def test_a_health_check_that_fails_on_no_redis_error_says_so_in_every_view(
        gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything else the check cannot get past (here the spool's disk failing as it is listed) ended /v1/status and
    the page on a bare 500 and /metrics too: they say that the state is unknown, and why, and /metrics still shows
    the process's own metrics."""
    the_deployments(redis)

    def failing_disk(_: Spool) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Spool, "size_bytes", failing_disk)

    status = await gateway.client.get("/v1/status")
    page = await gateway.client.get("/status")
    exposition = await gateway.client.get("/metrics")

    assert status.status_code == page.status_code == 503
    assert {key: status.json()[key] for key in ("overall", "error")} == {"overall": "unknown", "error": "OSError"}
    assert "health.check_failed" in status.json()["reason"]
    assert 'id="overall">UNKNOWN: the health check failed (OSError)<' in page.text
    assert exposition.status_code == 200 and "lapor_redis_up" in exposition.text
    failed = [e for e in log_events(log_stream) if e["event"] == "health.check_failed"]
    assert {(e["view"], e["error"], e["level"]) for e in failed} >= {
        ("status", "OSError", "error"), ("status_page", "OSError", "error"), ("metrics", "OSError", "error")}
    assert all("exception" in e for e in failed)  # where it failed: its traceback


async def test_a_spool_file_the_check_cannot_look_at_is_left_out_of_the_spool_size_not_the_view(
        gateway: GatewayServer, redis: Redis, log_stream: io.StringIO) -> None:
    """A symbolic link to itself, or a directory, where a spool file should be: the spool's size read raised at it,
    and every view said the state was unknown. It is left out of the size, and told once."""
    the_deployments(redis)
    spool = gateway.settings.data_dir / "spool"
    (spool / "loop.spool").symlink_to("loop.spool")
    (spool / "folder.spool").mkdir()

    status = await gateway.client.get("/v1/status")
    page = await gateway.client.get("/status")
    exposition = await gateway.client.get("/metrics")

    assert status.status_code == page.status_code == exposition.status_code == 200, status.text
    assert status.json()["spool_size"] == 0 and status.json()["overall"] != "unknown"
    assert value(exposition.text, "lapor_spool_bytes") == 0
    told = [e for e in log_events(log_stream) if e["event"] == "spool.file_unreadable"]
    assert sorted((e["file"], e["error"]) for e in told) == [
        ("folder.spool", "IsADirectoryError"), ("loop.spool", "OSError")]
    assert [e for e in log_events(log_stream) if e["event"] == "health.check_failed"] == []


def _add_letters(redis: Redis, count: int, channel: str, reason: str, start: int = 0) -> None:
    registry = DeadLetters(redis)
    for index in range(start, start + count):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[f"2{index:07d}"]],
                         tracking_id=f"2{index:07d}", item=f"2{index:07d}", reason=reason, detail="refused",
                         channel=channel)


def requeue_with_stderr_on_a_terminal(test_env: TestEnvironment, *args: str) -> tuple[str, str]:
    """`deadletters requeue <args>` with its stdout piped and its stderr a terminal (`... | tee log` at a shell):
    what each says. Exit 0."""
    import pty

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([str(VENV_BIN / "lapor-gateway"), "deadletters", "requeue", *args],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                                   env=test_env.process_env(COLUMNS="200"))
        os.close(follower)
        said = bytearray()
        reader = threading.Thread(target=lambda: _read_until_closed(leader, said), daemon=True)
        reader.start()  # a full terminal would stop the command
        stdout, _ = process.communicate(timeout=60)
        reader.join(timeout=10)
    finally:
        os.close(leader)
    assert process.returncode == 0, stdout.decode() + said.decode(errors="replace")
    return stdout.decode(), said.decode(errors="replace")


def _read_until_closed(fd: int, into: bytearray) -> None:
    with contextlib.suppress(OSError):  # EIO once the command's end closed the terminal's other side
        while chunk := os.read(fd, 65536):
            into.extend(chunk)


@dataclass(frozen=True)
class RequeueOutput:
    """Where `deadletters requeue --all` of many letters writes: its stderr a terminal or not."""

    id: str
    stderr_terminal: bool
    bar_on_stderr: bool


REQUEUE_OUTPUTS = [
    RequeueOutput("piped into tee at a terminal", stderr_terminal=True, bar_on_stderr=True),
    RequeueOutput("no terminal at all (cron, 2>log)", stderr_terminal=False, bar_on_stderr=False),
]


@pytest.mark.parametrize("output", REQUEUE_OUTPUTS, ids=[output.id for output in REQUEUE_OUTPUTS])
def test_a_requeues_progress_bar_never_goes_into_its_output(
        output: RequeueOutput, test_env: TestEnvironment, redis: Redis) -> None:
    """The bar went to stdout: piped (`| tee log`), its last frame landed in the output among the counts. On stderr,
    and only where a terminal shows it."""
    _add_letters(redis, 30, "sms-twilio", "casestore_422")
    if output.stderr_terminal:
        stdout, stderr = requeue_with_stderr_on_a_terminal(test_env, "--all")
    else:
        result = cli(test_env, "deadletters", "requeue", "--all")
        assert result.returncode == 0, result.stdout + result.stderr
        stdout, stderr = result.stdout, result.stderr
    assert stdout == "requeued 30 dead letter(s)\n", stdout
    assert bool(re.search(r"requeueing.*30/30", stderr)) is output.bar_on_stderr, stderr


def test_requeueing_many_dead_letters_shows_progress_and_honours_the_filters(
    test_env: TestEnvironment, redis: Redis
) -> None:
    _add_letters(redis, 250, "sms-twilio", "casestore_422")
    _add_letters(redis, 30, "email", "casestore_422", start=250)
    _add_letters(redis, 5, "sms-twilio", "envelope_missing", start=280)

    listing = cli(test_env, "deadletters", "list", "--channel", "email", "--limit", "500")
    assert listing.returncode == 0
    assert listing.stdout.count("email") == 30
    assert "sms-twilio" not in listing.stdout

    stdout, stderr = requeue_with_stderr_on_a_terminal(
        test_env, "--all", "--channel", "sms-twilio", "--reason", "casestore_422")
    assert "requeued 250 dead letter(s)" in stdout
    assert re.search(r"requeueing.*250/250", stderr), stderr
    assert queue(FORWARD_QUEUE, redis).count == 250
    assert DeadLetters(redis).count() == 35

    stdout, stderr = requeue_with_stderr_on_a_terminal(test_env, "--all", "--reason", "envelope_missing")
    assert "requeued 5 dead letter(s)" in stdout
    assert "requeueing" not in stderr  # no bar for a handful

    purge = cli(test_env, "deadletters", "purge", "--all", "--queue", FORWARD_QUEUE, "--channel", "email", "--yes")
    assert "purged 30 dead letter(s)" in purge.stdout
    assert DeadLetters(redis).count() == 0


@dataclass(frozen=True)
class Page:
    id: str
    args: tuple[str, ...]
    rows: list[str]  # the Tracking IDs listed, in order
    said: str  # the line under the table


PAGES = [
    Page("the first page", ("--limit", "3"), ["20000000", "20000001", "20000002"],
         "shown 1-3 of 120, oldest first; `--offset 3` for the next"),
    Page("the next page", ("--limit", "3", "--offset", "3"), ["20000003", "20000004", "20000005"],
         "shown 4-6 of 120, oldest first; `--offset 6` for the next"),
    Page("the last page", ("--offset", "118"), ["20000118", "20000119"], "shown 119-120 of 120, oldest first"),
    Page("past the end", ("--offset", "120"), [], "none shown past --offset 120: 120"),
    Page("a filter's count", ("--channel", "email", "--limit", "2"), ["20000100", "20000101"],
         "shown 1-2 of 20 that pass the filters, oldest first; `--offset 2` for the next"),
    Page("a filter's next page", ("--channel", "email", "--limit", "2", "--offset", "18"), ["20000118", "20000119"],
         "shown 19-20 of 20 that pass the filters, oldest first"),
    Page("a filter that matches none", ("--reason", "casestore_401"), [], "none pass the filters"),
]


@pytest.mark.parametrize("row", PAGES, ids=[row.id for row in PAGES])
def test_deadletters_list_pages_through_thousands_and_says_how_many_a_filter_matches(
        test_env: TestEnvironment, redis: Redis, row: Page) -> None:
    """A case-store outage leaves thousands of letters: `list` showed the oldest 50 with no way to the others (no
    offset) and no word of how many a filter matched, the number `requeue --all` with that filter would take."""
    _add_letters(redis, 100, "sms-twilio", "casestore_422")
    _add_letters(redis, 20, "email", "casestore_422", start=100)

    listing = cli(test_env, "deadletters", "list", *row.args)

    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert re.findall(r"│ (2\d{7}) ", listing.stdout) == row.rows, listing.stdout
    assert "Dead letters (120 in all)" in listing.stdout
    assert f"\n{row.said}\n" in listing.stdout, listing.stdout


def test_deadletters_list_refuses_a_negative_offset(test_env: TestEnvironment, redis: Redis) -> None:
    refused = cli(test_env, "deadletters", "list", "--offset", "-1")
    assert refused.returncode == 2 and "Invalid value for '--offset'" in refused.stdout + refused.stderr


@pytest.mark.parametrize("reason", ["", "  ", "\t"], ids=["empty", "blank", "a tab"])
@pytest.mark.parametrize("command", [("list",), ("requeue", "--all"), ("purge", "--all", "--yes")],
                         ids=["list", "requeue", "purge"])
def test_an_empty_reason_is_refused_as_a_bad_value(
        command: tuple[str, ...], reason: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`--reason ''` (a script's unset variable) matched no letter: `requeue --all` said "requeued 0", exit 0, which
    reads as nothing to do. Refused as typer refuses a bad value: a clear line, exit 2, nothing done."""
    _add_letters(redis, 2, "sms-twilio", "casestore_422")

    refused = cli(test_env, "deadletters", *command, "--reason", reason)

    said = " ".join(refused.stderr.replace("│", " ").split())
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout + refused.stderr
    assert ("Invalid value for '--reason': an empty reason names none: give one as `deadletters list` shows it (e.g. "
            "casestore_422), or leave --reason out") in said, said
    assert DeadLetters(redis).count() == 2 and queue(FORWARD_QUEUE, redis).count == 0


def test_cli_status_counts_each_channels_dead_letters(test_env: TestEnvironment, redis: Redis) -> None:
    the_deployments(redis)
    _add_letters(redis, 2, "email", "casestore_422")
    document = orjson.loads(cli(test_env, "status", "--json").stdout)
    email = next(c for c in document["channels"] if c["channel"] == "email")
    assert email["deadletters"] == 2
    assert email["state"] == "degraded"
    assert document["deadletters"]["total"] == 2


def test_a_channels_dead_letters_waiting_counts_those_older_than_a_week(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A forward's dead letter waits for an operator however old (no retention takes it): each new letter of a channel
    dropped those counted more than 7 days before from its count, so the channel's "dead letters" said 1 while
    `deadletters list --channel` listed 501, the reports of last week's outage never delivered among them."""
    the_deployments(redis)
    _add_letters(redis, 3, "sms-twilio", "casestore_503")
    week_ago = time.time() - 8 * 24 * 3600
    counted = DEADLETTERS_KEY.format(channel="sms-twilio")
    for key in redis.zrange(counted, 0, -1):  # as if they failed 8 days ago
        redis.zadd(counted, {key: week_ago})
        redis.zadd(INDEX_KEY, {key: week_ago})
    _add_letters(redis, 1, "sms-twilio", "casestore_422", start=3)

    document = orjson.loads(cli(test_env, "status", "--json").stdout)

    twilio = next(c for c in document["channels"] if c["channel"] == "sms-twilio")
    assert (twilio["deadletters"], document["deadletters"]["total"]) == (4, 4)
    assert "1 dead letter(s) in the last 15 min" in twilio["reason"]  # the rule still counts its window alone


@dataclass(frozen=True)
class Orphaning:
    id: str
    orphan: Callable[[Redis], object]  # takes letters' entries away, leaving their index entries
    left: int  # the letters still there


ORPHANINGS = [
    Orphaning("one entry deleted by hand", lambda r: r.hdel(ENTRIES_KEY, f"{FORWARD_QUEUE}:20000000"), 2),
    Orphaning("the whole hash lost", lambda r: r.delete(ENTRIES_KEY), 0),
]


@pytest.mark.parametrize("row", ORPHANINGS, ids=[row.id for row in ORPHANINGS])
def test_index_entries_of_dead_letters_gone_are_not_counted_and_a_listing_prunes_them(
        test_env: TestEnvironment, redis: Redis, row: Orphaning) -> None:
    """A letter whose entry is gone was skipped by every listing but its index entry kept for ever: counted in
    `deadletters list`'s total, every view's dead letters waiting, lapor_deadletters_waiting and its channel's."""
    the_deployments(redis)
    _add_letters(redis, 3, "email", "casestore_422")
    row.orphan(redis)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))

    assert monitor.check()["deadletters"] == {"total": row.left}  # at once, before any listing
    assert value(render_metrics()[0].decode(), "lapor_deadletters_waiting") == row.left
    assert DeadLetters(redis).count() == row.left

    listing = cli(test_env, "deadletters", "list", "--limit", "2")
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert f"Dead letters ({row.left} in all)" in listing.stdout
    assert listing.stdout.count("casestore_422") == min(row.left, 2)  # the page filled past the one pruned
    assert redis.zcard(INDEX_KEY) == row.left
    email = next(c for c in monitor.check()["channels"] if c["channel"] == "email")
    assert email["deadletters"] == row.left
    assert (email["state"] == "ok") is (row.left == 0)


@pytest.mark.parametrize("stale", [False, True], ids=["unindexed", "and-an-index-entry-of-a-letter-gone"])
@pytest.mark.parametrize("command", [("deadletters", "list"), ("deadletters", "requeue", "--all"),
                                     ("deadletters", "requeue", "--all", "--channel", "email")],
                         ids=["list", "requeue --all", "requeue --all --channel"])
def test_a_dead_letter_whose_index_entry_is_gone_is_listed_and_requeued(
        test_env: TestEnvironment, redis: Redis, command: tuple[str, ...], stale: bool) -> None:
    """The other way round: a letter whose entry is there and whose index entry is not (a partial restore, a hand
    edit) was counted among the letters waiting, in no listing ("shown 1-2 of 3", its page empty), and never taken
    by `requeue --all`, which said it had requeued all it read, exit 0: its report never reached the case store.
    With both kinds of damage at once (`stale`: an index entry whose letter is gone too), the counts matched and it
    was not put back: the index entry gone was pruned, and nothing looked again ("requeued 2", exit 0)."""
    the_deployments(redis)
    _add_letters(redis, 3, "email", "casestore_422")
    lost = f"{FORWARD_QUEUE}:20000001"
    redis.zrem(INDEX_KEY, lost)
    if stale:
        redis.zadd(INDEX_KEY, {f"{FORWARD_QUEUE}:29999999": time.time() - 60})

    done = cli(test_env, *command)

    assert done.returncode == 0, done.stdout + done.stderr
    if command[1] == "list":
        assert "shown 1-3 of 3, oldest first" in done.stdout and lost in done.stdout, done.stdout
        assert redis.zcard(INDEX_KEY) == 3
    else:
        assert "requeued 3 dead letter(s)" in done.stdout, done.stdout
        assert DeadLetters(redis).count() == 0 and redis.zcard(INDEX_KEY) == 0
        assert redis.llen(f"rq:queue:{FORWARD_QUEUE}") == 3
    assert '"deadletter.unindexed_restored"' in done.stderr and '"count":1' in done.stderr, done.stderr
    assert ('"deadletter.orphans_pruned"' in done.stderr) is stale, done.stderr


@pytest.mark.parametrize("page", [(1, 0), (1, 1), (2, 2), (1, 3)], ids=["first", "second", "third-and-fourth",
                                                                         "fourth"])
def test_every_page_of_a_paged_listing_finds_a_letter_whose_index_entry_is_gone(redis: Redis,
                                                                                 page: tuple[int, int]) -> None:
    """A paged `deadletters list` looked for letters missing from the index only when the counts differed, or when
    its page held an index entry of a letter gone: with that entry on another page, the counts matched, and the
    letter unindexed (a partial restore) was on no page, while `--all` and a listing of one page found it."""
    the_deployments(redis)
    _add_letters(redis, 4, "email", "casestore_422")
    lost = f"{FORWARD_QUEUE}:20000002"
    redis.zrem(INDEX_KEY, lost)
    redis.zadd(INDEX_KEY, {f"{FORWARD_QUEUE}:29999999": 1.0})  # the oldest: first in the index, on the first page
    registry = DeadLetters(redis)
    limit, offset = page

    registry.list(limit=limit, offset=offset)

    assert redis.zscore(INDEX_KEY, lost) is not None and redis.zscore(INDEX_KEY, f"{FORWARD_QUEUE}:29999999") is None
    pages = [letter.key for start in range(0, 4) for letter in registry.list(limit=1, offset=start)]
    assert pages == [f"{FORWARD_QUEUE}:2000000{n}" for n in range(4)]


@pytest.mark.parametrize("stale_age_days", [None, 40, 1],
                         ids=["unindexed", "and-an-old-index-entry-gone", "and-a-recent-index-entry-gone"])
def test_an_old_dead_letter_whose_index_entry_is_gone_is_purged_by_the_first_retention_run(
        redis: Redis, stale_age_days: int | None) -> None:
    """The retention's purge reads the old part of the index only: with an index entry of a letter gone beside the
    letter unindexed, the counts matched and the old letter (a reply's, with its citizen's number) was not put back.
    An old index entry gone was pruned and the letter purged a day later; a recent one, never."""
    registry, now = DeadLetters(redis), time.time()
    for item, age_days in (("old-1", 40), ("old-2", 40), ("new", 1)):
        registry.add(DeadLetter(
            key=DeadLetters.entry_key(REPLY_QUEUE, item), queue=REPLY_QUEUE, func="workers.reply.send_reply",
            args=[{"to": "+6281234567890"}], tracking_id="", reason="failed", detail="refused",
            failed_at=now - age_days * 86400, channel="sms-twilio"))
    redis.zrem(INDEX_KEY, DeadLetters.entry_key(REPLY_QUEUE, "old-2"))
    if stale_age_days is not None:
        redis.zadd(INDEX_KEY, {DeadLetters.entry_key(REPLY_QUEUE, "gone"): now - stale_age_days * 86400})

    deleted, kept = registry.purge_older(now - 30 * 86400, 86400)

    assert (deleted, kept) == (2, 1)
    assert redis.hkeys(ENTRIES_KEY) == [DeadLetters.entry_key(REPLY_QUEUE, "new").encode()]


@pytest.mark.parametrize(("entry", "purged"), [
    pytest.param(b"not json", False, id="no-time-said-dated-when-found"),
    pytest.param(b'{"queue": "lapor-reply", "failed_at": %d, "args": [{"to": "+6281234567890"}]}', False,
                 id="its-own-recent-failure"),
    pytest.param(b'{"queue": "lapor-reply", "failed_at": %d, "args": [{"to": "+6281234567890"}]}', True,
                 id="its-own-old-failure"),
    pytest.param(b'{"queue": "lapor-reply", "failed_at": 1, "args": []}', False, id="no-time-of-a-failure-said"),
])
@pytest.mark.parametrize("indexed_at_zero", [pytest.param(False, id="unindexed"),
                                             pytest.param(True, id="indexed-at-0-by-an-older-release")])
def test_an_unreadable_unindexed_dead_letter_waits_out_the_retention_from_its_own_failure_or_from_when_found(
        redis: Redis, entry: bytes, purged: bool, indexed_at_zero: bool) -> None:
    """An entry this version cannot read and the index does not hold (a partial restore, another release's reply
    letter), or holds at 0 (an older release indexed it so), was taken to have failed in 1970 and deleted by the
    first retention run, before any operator saw it: it waits from the failure it says, or from when it is found,
    and is indexed at that time, so the next runs count from it."""
    registry, now = DeadLetters(redis), time.time()
    key = DeadLetters.entry_key(REPLY_QUEUE, "restored")
    failed_at = now - (40 if purged else 1) * 86400
    redis.hset(ENTRIES_KEY, key, entry % int(failed_at) if b"%d" in entry else entry)
    if indexed_at_zero:
        redis.zadd(INDEX_KEY, {key: 0})
    [shown] = registry.select([key])  # `deadletters show`, before any listing indexed it: not 1970
    assert shown.reason == UNREADABLE and shown.failed_at >= (failed_at if b"%d" in entry else now) - 1

    deleted, kept = registry.purge_older(now - 30 * 86400, 86400)

    assert (deleted, kept) == ((1, 0) if purged else (0, 1))
    assert redis.hexists(ENTRIES_KEY, key) is not purged
    assert [letter.reason for letter in registry.list()] == ([] if purged else [UNREADABLE])
    if not purged:
        assert redis.zscore(INDEX_KEY, key) >= shown.failed_at - 1  # dated once: not "now" again at every run


def test_an_undated_entry_failed_again_while_it_is_dated_keeps_its_new_time(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The undated entry (indexed at 0 by an older release) is read, then dated: a letter written under its key in
    between (it failed again) kept the old entry's time in the index, listed out of order."""
    registry, now = DeadLetters(redis), time.time()
    key = DeadLetters.entry_key(REPLY_QUEUE, "restored")
    redis.hset(ENTRIES_KEY, key, b'{"queue": "lapor-reply", "failed_at": 1620000000, "args": []}')
    redis.zadd(INDEX_KEY, {key: 0})
    read = redis.hmget

    def failed_again_meanwhile(*args: object, **kwargs: object) -> object:
        raws = read(*args, **kwargs)
        redis.zadd(INDEX_KEY, {key: now})  # its new failure, indexed as a new letter is
        return raws

    monkeypatch.setattr(redis, "hmget", failed_again_meanwhile)
    assert registry._date_the_undated() == 1
    assert redis.zscore(INDEX_KEY, key) == pytest.approx(now)


def test_counters_a_gateway_of_an_earlier_version_wrote_show_as_nought_where_it_had_none(
        test_env: TestEnvironment, redis: Redis) -> None:
    """The CLI shows the counters of the gateway's last snapshot: during an upgrade that is one an older gateway
    wrote, without the counters added since (`attachments_not_fetched`), which must not end the CLI on a KeyError."""
    older = {"received": 3, "accepted": 1, "duplicates": 0, "rejected": 0, "rejected_by_reason": {}, "forwarded": 1,
             "replies_sent": 1, "replies_failed": 0, "dead_lettered": 0}
    the_deployments(redis).set(COUNTERS_KEY, orjson.dumps({"at": time.time(), "counters": {"sms-twilio": older}}))

    table = cli(test_env, "status")
    assert table.returncode == 0, table.stdout + table.stderr
    twilio = first_table(table.stdout)["sms-twilio"]
    assert (twilio["received"], twilio["files lost"]) == ("3", "0")
    document = orjson.loads(cli(test_env, "status", "--json").stdout)
    assert next(c for c in document["channels"] if c["channel"] == "sms-twilio")["counters"] == {
        **metrics.empty_counters(), **older}


def test_status_cli_refuses_without_redis(test_env: TestEnvironment) -> None:
    env = test_env.process_env()
    env.pop("REDIS_URL")
    assert run_cli(["status"], env).returncode == 2


def test_a_redis_with_no_sign_of_the_deployment_is_said_so_and_nothing_is_written_to_it(
        test_env: TestEnvironment, redis: Redis, redis_url: str) -> None:
    """A typo in REDIS_URL's database number, or a fresh Redis after a failover without persistence: the CLI said
    `overall: OK` and exited 0 for the process rule's first 30 s (counted from "monitoring began", which its own read
    started by writing the monitor's keys into that Redis). At 2 a.m. that sent the operator looking elsewhere."""
    with ThreadPoolExecutor(2) as pool:  # together: each waits a beat for a sign before it says so
        runs = list(pool.map(lambda args: cli(test_env, "status", *args), ((), ("--json",))))
    (table, table_err), (as_json, json_err) = ((run.stdout, run.stderr) for run in runs)

    assert [run.returncode for run in runs] == [2, 2], table + table_err + as_json + json_err
    parsed = urlparse(redis_url)
    read = f"the Redis server REDIS_URL names ({parsed.hostname}:{parsed.port}{parsed.path})"
    document = orjson.loads(as_json)
    assert document["overall"] == "unknown" and "channels" not in document
    assert document["reason"].startswith(f"no sign of this deployment in {read}: no process receiving a channel "
                                         "(lapor-gateway serve, smtp, pollers) ever beat there and no Tracking ID "
                                         "was minted there. Is REDIS_URL, its database number included, the "
                                         "deployment's?"), document["reason"]
    assert table.startswith(f"overall: UNKNOWN: {document['reason']}"), table
    assert "overall: OK" not in table and "Channels" not in table
    assert redis.dbsize() == 0  # not a key of the monitor's written into a Redis that is not the deployment's


@pytest.mark.parametrize("sign", [
    pytest.param(lambda redis: ServingBeat(redis, "smtp", ["email"]).beat(), id="a beat of the smtp process alone"),
    pytest.param(lambda redis: TrackingIdAllocator(redis, block_size=1).mint(), id="the Tracking-ID counter alone"),
])
def test_one_sign_of_the_deployment_is_enough_for_the_status_to_read_its_channels(
        sign: Callable[[Redis], object], test_env: TestEnvironment, redis: Redis) -> None:
    sign(redis)
    result = cli(test_env, "status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = orjson.loads(result.stdout)
    assert document["overall"] == "ok"
    assert tuple(c["channel"] for c in document["channels"]) == SHIPPED_CHANNELS


# The CLI's own environment with X switched on, as a shell or a cron job without the processes' LAPOR_X_ENABLED=false.
X_ON = {"LAPOR_X_ENABLED": "true", "LAPOR_X_BEARER_TOKEN": "x-bearer", "LAPOR_X_USER_ID": "1708"}


def _x_as_the_cli_says(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """`lapor-gateway status --json` in `env`: its exit code and X's channel."""
    result = run_cli(["status", "--json"], env)
    document = orjson.loads(result.stdout)
    return result.returncode, next(c for c in document["channels"] if c["channel"] == "x")


async def test_a_stopped_gateway_leaves_no_write_of_its_health_loop_behind(
        test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The health loop's Redis calls run in threads, and a stop cancelled the loop without them: a write of the
    switched-off channels in flight landed after the gateway had stopped (and after the test had cleared the key: the
    status CLI then went by a gateway that was gone). A stop now waits for the call in flight."""
    import threading

    from gateway import app as gateway_app

    writing = threading.Event()

    def slow_publish(*args: Any) -> None:
        writing.set()
        time.sleep(0.5)  # a write that takes its time (a busy Redis)
        publish_disabled(*args)

    monkeypatch.setattr(gateway_app, "publish_disabled", slow_publish)
    async with serving_gateway(test_env.settings(LAPOR_HEALTH_EVALUATE_SECONDS="0.1"), redis):
        assert await asyncio.to_thread(writing.wait, 10)
    assert redis.exists(DISABLED_KEY)  # the write in flight ended before the stop did
    redis.delete(DISABLED_KEY)
    await asyncio.sleep(0.8)
    assert not redis.exists(DISABLED_KEY)


async def test_the_status_cli_says_what_the_running_gateway_switched_off_not_what_its_own_environment_does(
        test_env: TestEnvironment, redis: Redis) -> None:
    """An operator's cron job ran `lapor-gateway status` without the processes' LAPOR_* settings: X, which the
    deployment switched off, was down for it (no pollers process beat, exit 2) while the status page said it was off.
    The gateway says which channels it runs switched off; the CLI goes by that, and by its own settings only when no
    gateway said so lately."""
    settings = test_env.settings(LAPOR_HEALTH_EVALUATE_SECONDS="0.1")  # X off, as by default
    assert "x" in disabled_channels(settings) and "x" not in disabled_channels(test_env.settings(**X_ON))
    # Monitoring of X began an hour ago and no pollers process ever beat: down, for a view that takes X to be on.
    redis.hset(SIGNALS_KEY.format(channel="x"), "first_seen", time.time() - 3600)
    async with serving_gateway(settings, redis):
        await async_wait_until(lambda: redis.exists(DISABLED_KEY))
        assert 0 < redis.pttl(DISABLED_KEY) <= DISABLED_MIN_SECONDS * 1000  # gone soon after the gateway is
        code, x = await asyncio.to_thread(_x_as_the_cli_says, test_env.process_env(**X_ON))
    assert (code, x["state"], x["reason"]) == (0, "ok", OFF_REASON)

    redis.delete(DISABLED_KEY)  # as when it expires, no gateway left to say: the CLI's own settings
    code, x = _x_as_the_cli_says(test_env.process_env(**X_ON))
    assert (code, x["state"]) == (2, "down") and "no pollers process polling X alive" in x["reason"], x
    code, x = _x_as_the_cli_says(test_env.process_env())
    assert (code, x["state"], x["reason"]) == (0, "ok", OFF_REASON)

    # A gateway running X: the CLI's stale environment that has it off does not hide the channel (not a union).
    publish_disabled(redis, disabled_channels(test_env.settings(**X_ON)), 5.0)
    code, x = _x_as_the_cli_says(test_env.process_env())
    assert (code, x["state"]) == (2, "down"), x


async def test_a_deployment_started_a_moment_ago_is_not_called_unknown(test_env: TestEnvironment, redis: Redis) -> None:
    """A brand-new deployment on an empty Redis, running fine: its gateway takes its reserve of Tracking IDs and
    beats as it starts."""
    async with serving_gateway(test_env.settings(), redis):
        result = await asyncio.to_thread(cli, test_env, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("overall: OK")


async def test_a_spool_that_cannot_be_written_while_redis_answers_is_said_in_every_view(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """With Redis up a disk spool that cannot be written refuses nothing yet, but /readyz answers 503 (a load balancer
    gating on it takes the gateway out) and the next Redis outage would refuse every report, while every view said
    "ALL CHANNELS OK": degraded, naming the disk spool, until it can be written again."""
    # Evaluated every 0.1 s: the heartbeat says what the last evaluation found (5 s apart by default).
    settings = test_env.settings(LAPOR_HEALTH_EVALUATE_SECONDS="0.1", LAPOR_HEALTH_HEARTBEAT_SECONDS="0.2")
    spool_dir, aside = settings.data_dir / "spool", settings.data_dir / "spool-aside"
    async with serving_gateway(settings, redis) as server:
        assert (await server.client.get("/v1/status")).json()["overall"] == "ok"
        spool_dir.rename(aside)
        spool_dir.write_text("a file where the spool directory was")  # refused even to root, unlike a chmod
        ready = await server.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["spool"] == "not_writable"

        document = await _status_once(server, "degraded")
        assert document["reason"].startswith("DEGRADED: disk spool (spool directory ")
        assert "/readyz answers 503" in document["reason"]
        # The OS's words (which depend on the moment of the probe: the spool is replaced in two steps), without the
        # probe file's name.
        failure = document["spool_failure"]
        assert failure.startswith(f"spool directory {spool_dir} is not writable: ") and ".probe" not in failure
        assert "DEGRADED: disk spool" in (await server.client.get("/status")).text
        assert value((await server.client.get("/metrics")).text, "lapor_spool_writable") == 0
        said = await asyncio.to_thread(cli, test_env, "status")
        assert said.returncode == 0 and said.stdout.startswith("overall: DEGRADED: disk spool"), said.stdout
        assert (await asyncio.to_thread(cli, test_env, "status", "--strict")).returncode == 1
        await async_wait_until(lambda: any(e["event"] == "health.heartbeat" and e["overall"] == "degraded"
                                           and "not writable" in str(e.get("spool_failure"))
                                           for e in log_events(log_stream)), timeout=5)

        spool_dir.unlink()
        aside.rename(spool_dir)

        assert (await _status_once(server, "ok"))["spool_failure"] is None
        assert value((await server.client.get("/metrics")).text, "lapor_spool_writable") == 1
    # The change logged once each way, as it happened: the heartbeat's field alone said it, and nothing its end.
    told = [e for e in log_events(log_stream) if e["event"] in ("spool.not_writable", "spool.writable")]
    assert [(e["event"], e["level"]) for e in told] == [("spool.not_writable", "error"), ("spool.writable", "info")]
    assert str(told[0]["reason"]).startswith(f"spool directory {spool_dir} ")
    assert float(told[1]["not_writable_seconds"]) > 0  # type: ignore[arg-type]


async def test_a_spool_disk_that_hangs_stalls_no_view_and_is_said_not_to_answer(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The views' probe of the spool writes and fsyncs a file: on a hung disk it must hold its own thread, never the
    event loop the webhooks and views share, and say the disk does not answer once it has waited 2 s. (Held on the
    loop, the views would answer only when the probe is let go: 30 s; a loaded test machine takes seconds for them.)"""
    released = threading.Event()

    def hung(_: Spool) -> str | None:
        released.wait(30)
        return None

    monkeypatch.setattr(Spool, "failure", hung)
    try:
        async with serving_gateway(test_env.settings(), redis) as server:
            started = time.monotonic()
            for _ in range(5):
                assert (await server.client.get("/v1/status")).status_code == 200
            assert (await server.client.get("/healthz")).status_code == 200
            assert time.monotonic() - started < 10
            document = await _status_once(server, "degraded")
            assert "does not answer (a probe has waited" in document["spool_failure"]
            released.set()
            assert (await _status_once(server, "ok"))["spool_failure"] is None
    finally:
        released.set()


async def _status_once(server: GatewayServer, overall: str, timeout: float = 20) -> dict[str, Any]:
    """The gateway's status document once its overall state is `overall` (20 s: a slow host under a full run's load
    took more than 5 for the spool's prober to be read)."""
    deadline = time.monotonic() + timeout
    while (document := (await server.client.get("/v1/status")).json())["overall"] != overall:
        assert time.monotonic() < deadline, document
        await asyncio.sleep(0.1)
    return dict(document)


def test_the_status_waits_a_beat_for_a_deployment_starting_as_it_looks(redis: Redis) -> None:
    """`make run` and `lapor-gateway status` typed at once: each process beats within a beat of starting, so the CLI
    looks again for that long before it says the Redis is not the deployment's. (A clock that moves when slept.)"""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def clock() -> float:
        return now[0]

    assert not deployment_seen(redis, ["email"]) and slept == []  # no wait asked: one look
    assert not deployment_seen(redis, ["email"], wait=DEPLOYMENT_WAIT_SECONDS, sleep=sleep, clock=clock)
    assert sum(slept) == DEPLOYMENT_WAIT_SECONDS > BEAT_SECONDS

    slept.clear()

    def sleep_while_smtp_starts(seconds: float) -> None:
        sleep(seconds)
        if len(slept) == 3:
            ServingBeat(redis, "smtp", ["email"]).beat()

    assert deployment_seen(redis, ["email"], wait=DEPLOYMENT_WAIT_SECONDS, sleep=sleep_while_smtp_starts, clock=clock)
    assert slept == [DEPLOYMENT_LOOK_SECONDS] * 3


# How long Redis was paused (SIGSTOP) in the operator's reproduction: past every beat rule's 30 s.
PAUSED_SECONDS = 39.0


def every_process_beating(redis: Redis, at: float, *, smtp: bool = True) -> None:
    """Every process of the deployment beating at `at` (the SMTP server's with `smtp`): the HTTP gateway (the SMS
    channels and Instagram's webhook), the pollers, and a worker on every queue, its 5-second liveness key set only
    for a beat of now (one of `at` long ago has expired, Redis's clock having moved on through its pause)."""
    clock = lambda: at  # noqa: E731
    serve_beat(redis, clock=clock).beat()
    ServingBeat(redis, "pollers", ["x", "instagram"], clock=clock).beat()
    if smtp:
        ServingBeat(redis, "smtp", ["email"], clock=clock).beat()
    live_worker(redis, at=at)
    if at < time.time() - 5:
        redis.delete(WORKER_ALIVE_KEY.format(name="lapor-test-p1-abcdef"))


@dataclass(frozen=True)
class SilenceCase:
    id: str
    beaten_ago: float  # when every process last beat as the status first looks
    beat_again: bool  # whether they beat again while it looks (the SMTP server's too)
    smtp_beats_again: bool
    auth_failures: int  # the IMAP poller's token refused in a row: down for another rule than a silent beat
    overall: str
    looks: int  # how many times the status was read


SILENCE_CASES = [
    SilenceCase("every process beating: one look", 0.0, False, False, 0, "ok", 1),
    SilenceCase("redis back from a pause: every beat as old as the pause until each beats again", PAUSED_SECONDS,
                True, True, 0, "ok", 3),
    SilenceCase("the smtp server gone: still down once the others beat again", PAUSED_SECONDS, True, False, 0,
                "down", 1 + round(health_monitor.BEATS_WAIT_SECONDS / health_monitor.BEATS_LOOK_SECONDS)),
    SilenceCase("down for a refused token, every process beating: one look", 0.0, False, False, 3, "down", 1),
]


@pytest.mark.parametrize("case", SILENCE_CASES, ids=lambda case: case.id)
def test_the_status_looks_again_for_a_beat_while_a_process_reads_as_silent(redis: Redis, case: SilenceCase) -> None:
    """`lapor-gateway status` just after Redis came back from a pause of 30 s or more: every beat read as old as the
    pause, "DOWN: email ... no SMTP server process alive (last seen 39 s ago)", exit 2, while the SMTP server beat
    again a moment later and /v1/status said ok (the gateway's monitor leaves out the time Redis was away; a one-shot
    command has no such record). It looks again, for up to a beat and a margin, while a process or a worker reads as
    silent; at once when none does. (A clock that moves when slept; the processes beat again at the second sleep.)"""
    every_process_beating(redis, time.time() - case.beaten_ago)
    for _ in range(case.auth_failures):
        HealthSignals(redis).auth_failed("email", "401 Unauthorized")
    monitor = HealthMonitor(redis, SHIPPED_RULES)
    looks = 0
    status = monitor.status

    def counted_status(now: float | None = None) -> dict[str, Any]:
        nonlocal looks
        looks += 1
        return status(now)

    monitor.status = counted_status  # type: ignore[method-assign]
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds
        if case.beat_again and len(slept) == 2:
            every_process_beating(redis, time.time(), smtp=case.smtp_beats_again)

    document = monitor.settled_status(sleep=sleep, clock=lambda: clock[0])
    assert (document["overall"], looks) == (case.overall, case.looks), document["reason"]
    assert sum(slept) <= health_monitor.BEATS_WAIT_SECONDS
    if case.overall == "down" and case.beat_again:
        email = next(c for c in document["channels"] if c["channel"] == "email")
        # Read on the wall clock since the beats were written: a loaded host's seconds more (a clean clone's run read
        # 41 s for 39).
        seen = re.fullmatch(r"no SMTP server process alive \(last seen (\d+) s ago\)", email["reason"])
        assert seen is not None and PAUSED_SECONDS <= int(seen.group(1)) <= PAUSED_SECONDS + 30, email["reason"]
        assert {c["state"] for c in document["channels"] if c["channel"] != "email"} == {"ok"}


def test_the_cli_just_after_redis_came_back_from_a_pause_says_ok_once_the_processes_beat_again(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """The operator's reproduction, in Redis as it is the moment Redis comes back from a 40-s SIGSTOP: every beat
    written 39 s ago, then each process beating again a moment after `lapor-gateway status` first read them (the
    command's read of the channels' signals notes when monitoring of one began: the processes beat once that is
    there). Exit 2, "DOWN: ... no SMTP server process alive (last seen 39 s ago)", where it now says ok."""
    shipped_wait = {"LAPOR_HEALTH_STATUS_BEATS_WAIT_SECONDS": str(health_monitor.BEATS_WAIT_SECONDS)}
    every_process_beating(redis, time.time() - PAUSED_SECONDS)
    first_read = SIGNALS_KEY.format(channel="email")
    assert not redis.exists(first_read)

    def processes_back() -> None:
        wait_until(lambda: redis.hexists(first_read, "first_seen"), timeout=30, interval=0.005)
        every_process_beating(redis, time.time())

    resumed = threading.Thread(target=processes_back)
    resumed.start()
    try:
        shown = cli(test_env, "status", "--json", **shipped_wait)
    finally:
        resumed.join()
    document = orjson.loads(shown.stdout)
    assert (shown.returncode, document["overall"], document["reason"]) == (0, "ok", None), shown.stdout
    assert {c["process_last_seen_at"] is not None for c in document["channels"]} == {True}

    # And with none of them back (their beats of a moment ago taken away): down, after a beat and a margin.
    redis.delete(*redis.keys("lapor:health:serving*"))
    every_process_beating(redis, time.time() - PAUSED_SECONDS)
    started = time.monotonic()
    gone = cli(test_env, "status", **shipped_wait)
    assert gone.returncode == 2 and "no SMTP server process alive (last seen 4" in gone.stdout, gone.stdout
    assert time.monotonic() - started >= health_monitor.BEATS_WAIT_SECONDS

    # Told not to look again (LAPOR_HEALTH_STATUS_BEATS_WAIT_SECONDS=0): its first look, the beats as old as the
    # pause there, though each process beats again as it reads them.
    redis.delete(*redis.keys("lapor:health:serving*"), first_read)
    every_process_beating(redis, time.time() - PAUSED_SECONDS)
    resumed = threading.Thread(target=processes_back)
    resumed.start()
    try:
        once = cli(test_env, "status", "--json", LAPOR_HEALTH_STATUS_BEATS_WAIT_SECONDS="0")
    finally:
        resumed.join()
    document = orjson.loads(once.stdout)
    assert (once.returncode, document["overall"]) == (2, "down"), once.stdout
    seen = re.fullmatch(r"no SMTP server process alive \(last seen (\d+) s ago\)",
                        next(c for c in document["channels"] if c["channel"] == "email")["reason"])
    assert seen is not None and int(seen.group(1)) >= PAUSED_SECONDS, once.stdout


@pytest.mark.parametrize(("url", "named"), [
    pytest.param("redis://:s3cret-pass@127.0.0.1:6390/7", "127.0.0.1:6390/7", id="a password is never shown"),
    pytest.param("redis://127.0.0.1:6390", "127.0.0.1:6390/0", id="no database in the URL: 0"),
    pytest.param("unix:///run/redis/redis.sock?db=3", "/run/redis/redis.sock?db=3", id="a unix socket"),
])
def test_the_redis_read_is_named_with_its_database_number(url: str, named: str) -> None:
    assert named_redis(redis_connection(url), None, database=True) == f"the Redis server REDIS_URL names ({named})"
    assert "s3cret-pass" not in named_redis(redis_connection(url), None)


LAST_POLLS = [
    # An SMS channel is never polled: "last successful poll: never" read as a poller that never worked.
    ("sms-twilio", None, None, None),
    ("x", {"account": "x:1", "holder": None, "lease_remaining_seconds": None, "holder_gone": False}, None,
     "last successful poll: never"),
    ("x", {"account": "x:1", "holder": "vm:42", "lease_remaining_seconds": 40, "holder_gone": False},
     "2026-12-02 02:12:58Z", "last successful poll: 2026-12-02 02:12:58Z"),
    # One a poller reported for, this view not knowing its account (the IMAP poller of another configuration).
    ("email", None, "2026-12-02 02:12:58Z", "last successful poll: 2026-12-02 02:12:58Z"),
]


@pytest.mark.parametrize(("name", "poller", "polled_at", "said"), LAST_POLLS,
                         ids=["not polled", "polled, never yet", "polled", "reported for"])
def test_the_page_gives_the_last_successful_poll_of_a_polled_channel_only(
        name: str, poller: dict[str, Any] | None, polled_at: str | None, said: str | None) -> None:
    entry = {"channel": name, "state": "ok", "reason": "", "since": None, "counters": {}, "last_errors": [],
             "deadletters": 0, "poller": poller, "last_poll_ok_at": polled_at, "last_message_at": None}
    status = {"overall": "ok", "generated_at": "now", "deadletters": {"total": 0}, "spool_size": 0, "queues": [],
              "channels": [entry], "reason": None}

    html = render_status_page(status, 10)

    assert ("last successful poll" in html) == (said is not None), html
    if said is not None:
        assert f"{said} · " in html


def test_the_page_headline_groups_channels_by_state() -> None:
    from gateway.health.monitor import overall_reason
    from gateway.status_page import render_status_page

    def channel(name: str, state: str) -> dict[str, object]:
        return {"channel": name, "state": state, "reason": f"{name} reason" if state != "ok" else "", "since": None,
                "counters": {}, "last_errors": [], "deadletters": 0}

    channels = [channel("email", "degraded"), channel("sms-twilio", "ok"), channel("x", "down")]
    status = {"overall": "down", "generated_at": "now", "deadletters": {"total": 0}, "spool_size": 0, "queues": [],
              "channels": channels, "reason": overall_reason(channels, None)}
    html = render_status_page(status, 10)
    assert 'id="overall">DOWN: x · DEGRADED: email<' in html
    assert html.index('id="channel-x"') < html.index('id="channel-email"') < html.index('id="channel-sms-twilio"')
    assert 'id="overall">ALL CHANNELS OK<' in render_status_page({**status, "reason": None}, 10)
    # A declared case-store outage is one of the degraded, after the channels; a failed forward not yet one is not.
    outage = {"reason": "casestore_503", "since": "2026-12-02 02:23:10Z", "declared": True}
    assert overall_reason(channels, outage) == (
        "DOWN: x · DEGRADED: email, case store (forwards failing since 2026-12-02 02:23:10Z, casestore_503)")
    assert overall_reason(channels, {**outage, "declared": False}) == "DOWN: x · DEGRADED: email"
    assert overall_reason([channel("email", "ok")], {**outage, "declared": False}) is None



FORWARD_GONE = "lapor-forward: no live worker (last seen 4 min ago)"
FORWARD_AGED = "lapor-forward: oldest job waiting 6 min (3 queued, 0 retrying; no live worker takes its jobs)"


def _channel(name: str, state: str, *findings: tuple[str, str, str], reason: str | None = None) -> dict[str, Any]:
    """A channel of the status document with its findings (rule, about, reason) at its state."""
    return {"channel": name, "state": state, "since": None,
            "reason": reason if reason is not None else "; ".join(said for _, _, said in findings),
            "findings": [{"rule": rule, "state": state, "reason": said, "about": about, "action": ""}
                         for rule, about, said in findings]}


ALL_FIVE = ("sms-aggregator", "sms-twilio", "email", "x", "instagram")
GONE = ("worker_missing", "lapor-forward", FORWARD_GONE)
AGED = ("queue_age", "lapor-forward", FORWARD_AGED)
REPLY_GONE = "lapor-reply: no live worker (last seen 4 min ago)"
STATUS_GONE = "lapor-status: no live worker (last seen 4 min ago)"


def _gone(*said: str) -> tuple[str, str, str]:
    """`rule_worker_missing`'s one finding on the channel's queues whose worker is gone, each queue's part said."""
    return "worker_missing", ",".join(part.split(":")[0] for part in said), "; ".join(said)


@pytest.mark.parametrize(("channels", "headline"), [
    pytest.param([_channel(name, "degraded", GONE) for name in ALL_FIVE],
                 f"DEGRADED: all channels ({FORWARD_GONE})", id="every-channel-one-worker"),
    pytest.param([_channel(name, "degraded", GONE, AGED) for name in ALL_FIVE],
                 f"DEGRADED: all channels ({FORWARD_GONE}; {FORWARD_AGED})", id="one-worker-two-findings"),
    pytest.param([_channel(name, "degraded", GONE) for name in ALL_FIVE[:4]]
                 + [_channel("instagram", "ok", reason=OFF_REASON)],
                 f"DEGRADED: all channels ({FORWARD_GONE})", id="one-switched-off"),
    pytest.param([_channel(name, "degraded", GONE) for name in ALL_FIVE[:3]] + [_channel("x", "ok"),
                                                                                _channel("instagram", "ok")],
                 f"DEGRADED: sms-aggregator, sms-twilio, email ({FORWARD_GONE})", id="several"),
    pytest.param([_channel("sms-aggregator", "degraded", GONE), _channel("email", "degraded", GONE),
                  _channel("x", "degraded", GONE, ("replies", "", "replies failing (3 in a row): 403"))],
                 f"DEGRADED: all channels ({FORWARD_GONE}), x (replies failing (3 in a row): 403)",
                 id="shared-and-its-own"),
    pytest.param([_channel("x", "degraded", ("replies", "", "replies failing (3 in a row): 403")),
                  _channel("instagram", "degraded", ("replies", "", "replies failing (5 in a row): 500"))],
                 "DEGRADED: x, instagram", id="same-rule-other-words"),
    pytest.param([_channel("email", "down", ("process_missing", "", "no SMTP server process alive")),
                  *(_channel(name, "degraded", GONE) for name in ("sms-aggregator", "x"))],
                 f"DOWN: email · DEGRADED: sms-aggregator, x ({FORWARD_GONE})", id="down-and-degraded"),
    pytest.param([_channel("email", "degraded", GONE), _channel("x", "ok")], "DEGRADED: email", id="one-alone"),
    # The Procfile's `replies` worker (lapor-reply, lapor-status) gone: the SMS aggregator's finding names both queues.
    pytest.param([_channel("sms-aggregator", "degraded", _gone(REPLY_GONE, STATUS_GONE)), _channel("sms-twilio", "ok"),
                  *(_channel(name, "degraded", _gone(REPLY_GONE)) for name in ("email", "x", "instagram"))],
                 f"DEGRADED: sms-aggregator, email, x, instagram ({REPLY_GONE}), sms-aggregator ({STATUS_GONE})",
                 id="replies-worker"),
    # One worker serving every queue gone: each queue's cause once, with every channel it touches.
    pytest.param([_channel("sms-aggregator", "degraded", _gone(FORWARD_GONE, REPLY_GONE, STATUS_GONE)),
                  _channel("sms-twilio", "degraded", _gone(FORWARD_GONE)),
                  *(_channel(name, "degraded", _gone(FORWARD_GONE, REPLY_GONE))
                    for name in ("email", "x", "instagram"))],
                 f"DEGRADED: all channels ({FORWARD_GONE}), sms-aggregator, email, x, instagram ({REPLY_GONE}), "
                 f"sms-aggregator ({STATUS_GONE})", id="every-queue-one-worker"),
])
def test_the_headline_names_a_cause_several_channels_share_once(
    channels: list[dict[str, Any]], headline: str
) -> None:
    """A forward worker frozen or gone degrades every channel for one cause: the headline read "DEGRADED:
    sms-aggregator, sms-twilio, email, x, instagram", five channels to look at, where the case store's outage is
    named as one. A finding of the same rule, on the same queue, said the same, is named once with the channels it
    concerns ("all channels" for every one that runs), a finding on several queues one cause a queue (a worker
    process serving several gone); each channel's findings stay in the document."""
    from gateway.health.monitor import overall_reason

    assert overall_reason(channels, None) == headline


def _status_pages() -> list[tuple[str, str, str]]:
    """(label, page, the state its title starts with): the status page ok and down, and the pages when the check
    failed and when Redis does not answer."""
    from gateway.status_page import render_check_failed_page
    from gateway.status_page import render_redis_down_page as redis_down_page

    status = {"overall": "ok", "generated_at": "now", "deadletters": {"total": 0}, "spool_size": 0, "queues": [],
              "channels": [], "reason": None}
    return [
        ("ok", render_status_page(status, 10), "OK"),
        ("down", render_status_page({**status, "overall": "down", "reason": "DOWN: x"}, 10), "DOWN"),
        ("check failed", render_check_failed_page(check_failed_document(KeyError("k"), 0), 10), "UNKNOWN"),
        ("redis down", redis_down_page(redis_down_document(ConnectionError("refused"), 0, 0, "r"), 10),
         "DOWN"),
    ]


@pytest.mark.parametrize(("page", "state"), [(page, state) for _, page, state in _status_pages()],
                         ids=[label for label, _, _ in _status_pages()])
def test_every_status_page_says_its_language_charset_viewport_and_state_in_its_title(page: str, state: str) -> None:
    """The page Redis down had no `lang`, and none had a viewport: a phone laid them out 980 px wide and shrank them
    (how each is laid out is tests/test_status_page_browser.py's). Each is refreshed by the same script, which keeps
    it under a banner while the gateway is unreachable and quotes its generated time (Redis down, or the check
    failing, is no time to lose the page either)."""
    assert page.startswith(f'<!doctype html><html lang="en" data-refresh="10" data-version="{PAGE_VERSION}"><head>'
                           '<meta charset="utf-8">'), page[:80]
    assert page.count("<script>") == 1 and ' data-generated="' in page and 'id="overall"' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert re.search(f"<title>{state} · LAPOR! gateway status</title>", page)

async def test_with_redis_unreachable_status_says_so_and_metrics_still_answer(
    settings: object, test_env: TestEnvironment
) -> None:
    from gateway.queues import redis_connection
    from gateway.settings import Settings
    from tests.conftest import free_port

    assert isinstance(settings, Settings)
    dead = f"redis://127.0.0.1:{free_port()}/0"
    runner = web.AppRunner(create_app(settings, redis_connection(dead, timeout=0.5)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            status = await client.get("/v1/status")
            assert status.status_code == 503
            assert status.json()["overall"] == "down"
            page = await client.get("/status")
            assert page.status_code == 503
            assert "DOWN: Redis unreachable" in page.text
            # It says that it reloads itself, and how often: as the page asked for, not the settings' period.
            assert '<meta http-equiv="refresh" content="10">' in page.text and "reloads every 10 s" in page.text
            page = await client.get("/status?refresh=2")
            assert '<meta http-equiv="refresh" content="2">' in page.text and "reloads every 2 s" in page.text
            assert (await client.get("/metrics")).status_code == 200
    finally:
        await runner.cleanup()
    result = run_cli(["status"], test_env.process_env(REDIS_URL=dead))
    assert result.returncode == 2
    # State and reason apart, as the channels' headline ("overall: DOWN: email"): it read "overall: DOWN Redis ...".
    reason = orjson.loads(run_cli(["status", "--json"], test_env.process_env(REDIS_URL=dead)).stdout)["reason"]
    assert reason.startswith("Redis unreachable (ConnectionError): "), reason
    # Then where to read since when: this command cannot know it.
    assert result.stdout.splitlines() == [f"overall: DOWN: {reason}", REDIS_SINCE_NOTE], result.stdout
    # Webhooks still answer from the spool: the CLI must not say nothing can be made durable.
    assert "Twilio's webhooks are answered from the disk spool (0 bytes waiting" in result.stdout
    as_json = run_cli(["status", "--json"], test_env.process_env(REDIS_URL=dead))
    assert as_json.returncode == 2
    assert orjson.loads(as_json.stdout)["spool_size"] == 0


def _status_reason(env: dict[str, str]) -> str:
    result = run_cli(["status", "--json"], env)
    assert result.returncode == 2, result.stdout + result.stderr
    return str(orjson.loads(result.stdout)["reason"])


def test_a_redis_that_answers_with_an_error_is_said_so_with_its_words_not_called_unreachable(
        test_env: TestEnvironment, tmp_path: Path) -> None:
    """A Redis full at its maxmemory takes reads and refuses writes: `status` said "Redis unreachable
    (OutOfMemoryError)" and the operator found it running and answering; `deadletters purge` ended on a traceback."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        full = the_deployments(redis_connection(server.url))
        _add_letters(full, 1, "sms-twilio", "casestore_422")
        full.config_set("maxmemory-policy", "noeviction")
        full.config_set("maxmemory", "1")  # every write refused from here on
        env = test_env.process_env(COLUMNS="400", REDIS_URL=server.url)

        reason = _status_reason(env)
        table = run_cli(["status"], env)
        purge = run_cli(["deadletters", "purge", "--all", "--yes"], env)
    finally:
        server.stop()

    said = "Redis answers but refuses commands (OutOfMemoryError: command not allowed when used memory > 'maxmemory'"
    assert reason.startswith(said) and "unreachable" not in reason, reason
    assert (table.returncode, table.stdout.splitlines()[0].startswith(f"overall: DOWN: {said}")) == (2, True), (
        table.stdout + table.stderr)
    assert purge.returncode == 1 and "Traceback" not in purge.stdout + purge.stderr, purge.stdout + purge.stderr
    assert purge.stdout.startswith(said), purge.stdout


WRONG_TYPE_SAID = ("in Redis holds another type than the gateway keeps there (WRONGTYPE: written by hand, a SET on "
                   "a queue key, or by another application on this database?): look at it with TYPE, and delete it "
                   "or move it aside (RENAME) once you know whose it is")


def test_a_key_of_another_type_is_said_so_naming_the_key_not_taken_for_a_full_redis(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A stray SET on one of the gateway's keys (here the dead letters' hash) made every read of it a WRONGTYPE
    ResponseError, which `status` and the dead-letter commands said was a Redis "full at its maxmemory, a read-only
    replica, or unable to write its disk", and the status added that webhooks were answered from the spool: the
    operator looked at memory, replication and disk, none of them the trouble. Where redis-py names the command (a
    pipeline's, as the status reads), the key is named."""
    the_deployments(redis)
    redis.set(ENTRIES_KEY, "stray")
    env = test_env.process_env(COLUMNS="400")

    reason = _status_reason(env)
    table = run_cli(["status"], env)
    listing = run_cli(["deadletters", "list"], env)

    assert reason.startswith(f"The key {ENTRIES_KEY} {WRONG_TYPE_SAID}; the status cannot be read until it is. "
                             "Check the Redis server REDIS_URL names"), reason
    assert "maxmemory" not in reason and "disk spool" not in reason, reason
    assert (table.returncode, table.stdout.startswith(f"overall: DOWN: The key {ENTRIES_KEY} {WRONG_TYPE_SAID}")) == (
        2, True), table.stdout + table.stderr
    # A command sent alone: redis-py does not say which, so no key is named.
    assert listing.returncode == 1 and "Traceback" not in listing.stdout + listing.stderr, listing.stdout
    assert listing.stdout.startswith(f"A key {WRONG_TYPE_SAID}: check the Redis server REDIS_URL names"), listing.stdout
    assert listing.stdout.rstrip().endswith("The command stopped there; run it again once that key is the gateway's "
                                            "again"), listing.stdout
    assert "maxmemory" not in listing.stdout


@pytest.mark.parametrize(("said", "key"), [
    pytest.param("Command # 2 (HLEN lapor:deadletters) of pipeline caused error: WRONGTYPE Operation against a key",
                 "lapor:deadletters", id="a pipeline's command"),
    pytest.param("Command # 1 (HSET lapor:envelope:10000004 text Jalan rusak) of pipeline caused error: WRONGTYPE",
                 "lapor:envelope:10000004", id="its first argument, none of the others"),
    pytest.param("Command # 1 (EVALSHA 4f1c 1 lapor:deadletters) of pipeline caused error: WRONGTYPE", None,
                 id="a script's sha is no key"),
    pytest.param("Command # 1 (HSET lapor:reply:" + "a" * 120 + "...) of pipeline caused error: WRONGTYPE", None,
                 id="a key cut short"),
    pytest.param("WRONGTYPE Operation against a key holding the wrong kind of value", None, id="a command sent alone"),
])
def test_the_key_a_redis_error_came_from_is_named_only_where_redis_py_names_it(said: str, key: str | None) -> None:
    from redis.exceptions import ResponseError

    from gateway.outage import failed_key, wrong_type

    assert wrong_type(ResponseError(said)) and failed_key(ResponseError(said)) == key


@dataclass(frozen=True)
class RedisErrorCase:
    """A Redis error, and how every view classifies it: the processes' outage lines (`reason`), `/v1/status`'s
    `redis_state` and the page's "DOWN: Redis <state>"."""

    id: str
    error: Exception
    outage: str
    state: str


REDIS_ERROR_CASES = [
    RedisErrorCase("stopped", RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
                   "unreachable", "unreachable"),
    # It took the connection and let the command run out of time: said `unreachable`, the operator found it running.
    RedisErrorCase("hanging", RedisTimeoutError("Timeout reading from socket"), "not_answering", "not_answering"),
    # redis-py's words for a connection that ran out of time: a host down, a packet filter, or a Redis that hangs with
    # its queue of connections full (a hang's reconnections fill it): said apart by the reason.
    RedisErrorCase("connection timed out", RedisTimeoutError("Timeout connecting to server"), "not_answering",
                   "not_answering"),
    RedisErrorCase("full", OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), "refusing",
                   "refusing"),
    # redis-py makes these two ConnectionErrors: Redis answered, and refused the credentials.
    RedisErrorCase("password refused", AuthenticationError("invalid username-password pair or user is disabled."),
                   "refusing", "refusing"),
    RedisErrorCase("no password given", AuthenticationError("Authentication required."), "refusing", "refusing"),
    RedisErrorCase("a command its ACL denies",
                   NoPermissionError("this user has no permissions to run the 'evalsha' command"), "refusing",
                   "refusing"),
    # a ConnectionError too: Redis runs, and answers LOADING to every command until its AOF or RDB file is read
    RedisErrorCase("loading its data", BusyLoadingError("Redis is loading the dataset in memory"), "refusing",
                   "refusing"),
]


@pytest.mark.parametrize("case", REDIS_ERROR_CASES, ids=[case.id for case in REDIS_ERROR_CASES])
def test_every_view_classifies_a_redis_error_alike(case: RedisErrorCase) -> None:
    """A Redis refusing the gateway's password was said `refusing` by its reason ("Redis refuses the credentials")
    and `unreachable` by `redis_state`, the page's header and the outage lines, which sent the operator looking for
    a Redis stopped: one classification (`redis_refuses`) for all."""
    from gateway.outage import outage_reason
    from gateway.status_page import render_redis_down_page

    document = redis_down_document(case.error, 0, 0, "r")
    assert (outage_reason(case.error), document["redis_state"]) == (case.outage, case.state)
    assert (f"DOWN: Redis {case.state.replace('_', ' ')} ({type(case.error).__name__})"
            in render_redis_down_page(document, 10))


def test_a_connection_that_ran_out_of_time_is_said_as_one_not_as_a_redis_that_took_it() -> None:
    """redis-py raises the TimeoutError of a hang for a connection that ran out of time too (a host down, a packet
    filter, a wrong address, a hung Redis whose queue of connections is full): "it takes the connection" sent the
    operator to SLOWLOG. A listening socket whose queue of connections is full lets the next one time out."""
    from gateway.outage import outage_reason

    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):  # the queue filled, never accepted
            waiting = stack.enter_context(socket.socket())
            waiting.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                waiting.connect(("127.0.0.1", port))
        with pytest.raises(RedisTimeoutError) as timed_out:
            redis_connection(f"redis://127.0.0.1:{port}/0", timeout=0.3).ping()

    document = redis_down_document(timed_out.value, 0, 0, "r")
    assert (outage_reason(timed_out.value), document["redis_state"]) == ("not_answering", "not_answering")
    assert document["reason"].startswith(
        "Redis does not answer in time (TimeoutError: no connection was made in time: its host down"), document


async def test_a_redis_refusing_the_password_is_refusing_on_every_view_and_in_the_outage_line(
        test_env: TestEnvironment, redis_url: str, log_stream: io.StringIO) -> None:
    """End to end, on a real Redis that refuses the password in REDIS_URL (AuthenticationError): `/v1/status`, the
    page and `gateway.redis_lost` said `unreachable` while its reason said the credentials were refused."""
    wrong = redis_url.replace("redis://", "redis://lapor:not-the-password@", 1)
    settings = test_env.settings(REDIS_URL=wrong)
    runner = web.AppRunner(create_app(settings, redis_connection(wrong, timeout=0.5)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            status = await client.get("/v1/status")
            page = await client.get("/status")
    finally:
        await runner.cleanup()

    assert status.status_code == 503 and status.json()["redis_state"] == "refusing", status.text
    assert status.json()["reason"].startswith("Redis refuses the credentials (AuthenticationError)"), status.text
    assert "DOWN: Redis refusing (AuthenticationError)" in page.text, page.text
    lost = [event for event in log_events(log_stream) if event["event"] == "gateway.redis_lost"]
    assert [(event["reason"], event["error"]) for event in lost] == [("refusing", "AuthenticationError")], lost
    assert "not-the-password" not in status.text + page.text + log_stream.getvalue()


@dataclass(frozen=True)
class AclDenial:
    """What an ACL of REDIS_URL's user denied, as Redis says it, and how every view says it."""

    id: str
    error: Exception
    what: str  # what the user lacks permission for
    allow: str  # how to allow it, in that user's ACL
    mended: str = "the user in REDIS_URL may run the commands the gateway needs"


# Where Redis names no command, key or channel: `ACL LOG` does.
FIND = "find it in `ACL LOG` in Redis and allow it"
ACL_DENIALS = [
    AclDenial("a command sent alone", NoPermissionError("this user has no permissions to run the 'evalsha' command"),
              "the command EVALSHA", "allow it in that user's ACL (ACL SETUSER <user> +evalsha"),
    AclDenial("a pipeline's", NoPermissionError("Command # 2 (EVALSHA 4f1c 1 lapor:report:Jalan rusak) of pipeline "
                                                "caused error: this user has no permissions to run the 'evalsha' "
                                                "command"),
              "the command EVALSHA", "allow it in that user's ACL (ACL SETUSER <user> +evalsha"),
    # "(ACL SETUSER <user> what `ACL LOG` in Redis names" was no command to run, and "a command (or a key or
    # channel)" where Redis said which.
    AclDenial("a key", NoPermissionError("this user has no permissions to access one of the keys used as arguments"),
              "a key", f"{FIND} in that user's ACL (ACL SETUSER <user> ~<pattern>",
              "the user in REDIS_URL may use the keys the gateway needs"),
    AclDenial("a key, Redis 7.2", NoPermissionError("No permissions to access a key"),
              "a key", f"{FIND} in that user's ACL (ACL SETUSER <user> ~<pattern>",
              "the user in REDIS_URL may use the keys the gateway needs"),
    AclDenial("a channel", NoPermissionError("this user has no permissions to access one of the channels used as "
                                             "arguments"),
              "a channel", f"{FIND} in that user's ACL (ACL SETUSER <user> &<pattern>",
              "the user in REDIS_URL may use the channels the gateway needs"),
    # A command a script runs is answered ERR, not NOPERM: redis-py's plain ResponseError.
    AclDenial("in a script, Redis 7.0",
              ResponseError("Command # 1 (EVALSHA 4f1c 1 lapor:report:Jalan rusak) of pipeline caused error: The user "
                            "executing the script can't run this command or subcommand script: 4f1c, on "
                            "@user_script:14."),
              "a command", f"{FIND} in that user's ACL (ACL SETUSER <user> +<command>"),
    AclDenial("in a script, Redis 6.2",
              ResponseError("Error running script (call to f_4f1c): @user_script:14: @user_script: 14: The user "
                            "executing the script can't run this command or subcommand"),
              "a command", f"{FIND} in that user's ACL (ACL SETUSER <user> +<command>"),
    AclDenial("a key in a script, Redis 7.0",
              ResponseError("The user executing the script can't access at least one of the keys mentioned in the "
                            "command script: 4f1c, on @user_script:14."),
              "a key", f"{FIND} in that user's ACL (ACL SETUSER <user> ~<pattern>",
              "the user in REDIS_URL may use the keys the gateway needs"),
    AclDenial("in a script, Redis 7.2",
              ResponseError("ACL failure in script: User lapor has no permissions to run the 'hset' command script: "
                            "4f1c, on @user_script:14."),
              "the command HSET", "allow it in that user's ACL (ACL SETUSER <user> +hset"),
]


@pytest.mark.parametrize("denial", ACL_DENIALS, ids=[denial.id for denial in ACL_DENIALS])
def test_a_command_the_acl_denies_is_said_as_the_redis_users_permission(denial: AclDenial) -> None:
    """NOPERM, and the ERR of a command denied inside a script, were said "full at its maxmemory, a read-only replica,
    or unable to write its disk". ACL SAVE answers ERR without an aclfile: users in redis.conf are saved by CONFIG
    REWRITE."""
    from gateway.cli import _redis_mended
    from gateway.health.documents import redis_trouble
    from gateway.outage import outage_reason

    error = denial.error
    said = redis_trouble(error)
    assert said == (f"The Redis user in REDIS_URL lacks permission for {denial.what} the gateway needs "
                    f"({type(error).__name__}: {str(error).rpartition(' of pipeline caused error: ')[2]}): "
                    f"{denial.allow}, then ACL SAVE where Redis has an aclfile, or CONFIG REWRITE where its users are "
                    "in redis.conf) or give REDIS_URL a user that has it"), said
    assert "maxmemory" not in said and "Jalan rusak" not in said, said
    assert _redis_mended(error) == denial.mended
    assert outage_reason(error) == "refusing"


def test_a_redis_loading_its_data_is_said_so_and_when_to_run_a_command_again() -> None:
    """A Redis reading its AOF after a restart answers LOADING to every command (BusyLoadingError, a ConnectionError
    in redis-py): it was "Redis unreachable ... is it running?", the operator looking for a Redis stopped."""
    from gateway.cli import _redis_said

    trouble, mended = _redis_said(BusyLoadingError("Redis is loading the dataset in memory"))
    assert trouble.startswith("Redis is loading its data into memory (BusyLoadingError: after a start or restart"), (
        trouble)
    assert mended == "Redis has loaded its data (`lapor-gateway status` says when)"


# When to run a command again that met a Redis answering with a refusal it will stop (`_redis_mended`).
TAKES_COMMANDS = ("Redis takes commands again (memory freed, a writable primary, its disk writable: `lapor-gateway "
                  "status` says when)")


@pytest.mark.parametrize(("error", "mended"), [
    pytest.param(RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
                 "Redis answers (`lapor-gateway status` says when)", id="stopped"),
    pytest.param(BusyLoadingError("Redis is loading the dataset in memory"),
                 "Redis has loaded its data (`lapor-gateway status` says when)", id="loading its data"),
    # It answers already: "once Redis answers" had the operator wait for what was so all along.
    pytest.param(OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), TAKES_COMMANDS,
                 id="full at its maxmemory"),
    pytest.param(ReadOnlyError("You can't write against a read only replica."), TAKES_COMMANDS,
                 id="a read-only replica"),
    pytest.param(ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
                               "persist to disk."), TAKES_COMMANDS, id="unable to write its disk"),
    # A refusal no freed memory or writable disk ends (a command an older Redis lacks): nothing of those said.
    pytest.param(ResponseError("unknown command 'LMPOP', with args beginning with: "),
                 "Redis answers (`lapor-gateway status` says when)", id="an-unknown-command"),
])
def test_when_to_run_a_command_again_is_what_redis_lacks(error: Exception, mended: str) -> None:
    """An operator's command that met a Redis full, read-only or unable to write its disk said to run it again "once
    Redis answers (...)": it answered, and refuses until that is mended."""
    from gateway.cli import _redis_mended

    assert _redis_mended(error) == mended


async def test_with_the_embedded_redis_gone_the_views_name_it_not_redis_url(
        test_env: TestEnvironment, settings: Settings) -> None:
    """Under `make run` REDIS_URL is unset in the operator's shell (the supervisor hands the embedded Redis's URL to
    its processes): "check REDIS_URL" sent them looking for a variable they never set."""
    embedded = EmbeddedRedis(settings.data_dir / "redis").start()
    embedded.write_url()  # as the supervisor does while it runs
    embedded.kill()  # the embedded Redis died; the supervisor (its lock and its URL file) did not
    expected = f"Check the embedded Redis of `make run` (127.0.0.1:{embedded.port}, its log in "
    env = test_env.process_env()
    env.pop("REDIS_URL")
    with hold_data_dir(settings.data_dir, wait=0):
        reason = _status_reason(env)
    assert expected in reason and "REDIS_URL" not in reason
    # The gateway of that `make run`: REDIS_URL in its environment, set by the supervisor.
    app = create_app(test_env.settings(REDIS_URL=embedded.url), redis_connection(embedded.url, timeout=0.5))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            status = await client.get("/v1/status")
        assert status.status_code == 503 and expected in status.json()["reason"]
    finally:
        await runner.cleanup()


def test_with_the_redis_of_redis_url_unreachable_the_views_name_it_by_address_without_its_password(
        test_env: TestEnvironment) -> None:
    port = free_port()
    reason = _status_reason(test_env.process_env(REDIS_URL=f"redis://:s3cret-pass@127.0.0.1:{port}/0"))
    assert reason.endswith(f"Check the Redis server REDIS_URL names (127.0.0.1:{port})")
    assert "s3cret-pass" not in reason


@pytest.mark.parametrize("content", [
    pytest.param(b"redis://127.0.0.1:port/0\n", id="a port that is no number"),
    pytest.param(b"\xff\xferedis\x00", id="bytes that are no text"),
])
def test_a_url_file_that_names_no_redis_does_not_stop_the_views(tmp_path: Path, content: bytes) -> None:
    from gateway.embedded_redis import URL_FILE, named_redis

    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / URL_FILE).write_bytes(content)
    assert named_redis(redis_connection("redis://127.0.0.1:6390/0"), tmp_path) == (
        "the Redis server REDIS_URL names (127.0.0.1:6390)")


async def test_with_redis_hanging_the_operator_views_still_answer_in_time_and_say_it_does_not_answer(
    settings: object, tmp_path: object
) -> None:
    """A Redis that takes connections but never answers (paused, swapping, a partition that drops packets) costs each
    command its socket timeout (the gateway's 2 s, `intake.redis_timeout_seconds`): the views answer from what they
    have before Prometheus's 10 s scrape timeout, as they do for a Redis that refuses connections. (The Redis client
    as `lapor-gateway serve` makes it, with `intake.redis_timeout_seconds`: each look below waits that out.)"""
    import signal

    from gateway.queues import redis_connection
    from gateway.settings import Settings
    from tests.conftest import free_port

    assert isinstance(settings, Settings)
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        hanging = redis_connection(f"redis://127.0.0.1:{port}/0", timeout=settings.intake.redis_timeout_seconds)
        for _ in range(50):  # until it listens
            try:
                hanging.ping()
                break
            except Exception:
                time.sleep(0.1)
        runner = web.AppRunner(create_app(settings, hanging), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
        server.send_signal(signal.SIGSTOP)
        try:
            async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=30) as client:
                answered = {}
                for path, status in (("/metrics", 200), ("/v1/status", 503), ("/status", 503)):
                    started = time.monotonic()
                    answered[path] = response = await client.get(path)
                    assert (path, response.status_code) == (path, status)
                    assert time.monotonic() - started < 6, path
                # Said not answering, not unreachable: it runs and takes connections.
                document = answered["/v1/status"].json()
                assert document["redis_state"] == "not_answering", document
                assert document["reason"].startswith("Redis does not answer in time (TimeoutError"), document
                assert "DOWN: Redis not answering (TimeoutError)" in answered["/status"].text
                assert "python_gc_objects_collected_total" in (await client.get("/metrics")).text
                # A burst of scrapes and refreshes while it hangs joins the checks already waiting on Redis.
                gateway = runner.app[GATEWAY_KEY]
                asked: list[str] = []

                class CountingMonitor:  # counts the checks the views start (on the event loop, as they start)
                    def __getattr__(self, name: str) -> Any:
                        if name in ("check", "check_and_collect"):
                            asked.append(name)
                        return getattr(real_monitor, name)

                real_monitor, gateway.monitor = gateway.monitor, CountingMonitor()  # type: ignore[assignment]
                answers = await asyncio.gather(*(client.get(path) for path in ("/metrics", "/v1/status", "/status")
                                                 for _ in range(6)))
                gateway.monitor = real_monitor
                assert sorted({r.status_code for r in answers}) == [200, 503]
                # At most one new check of each kind (and the health loop's own): not one per request.
                assert len(asked) <= 3, asked
        finally:
            server.send_signal(signal.SIGCONT)
            await runner.cleanup()
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize(
    ("status", "body", "found"),
    [
        pytest.param(200, b"<html>maintenance</html>", None, id="html-page"),
        pytest.param(200, b"[1, 2]", None, id="not-an-object"),
        pytest.param(503, b"{}", None, id="unavailable"),
        pytest.param(404, b'{"error": "not_found"}', False, id="not-found"),
        pytest.param(200, b'{"status": "in_progress", "anonymous": true}', True, id="a-report"),
    ],
)
async def test_a_case_store_answer_that_is_not_a_report_counts_as_no_answer(
    status: int, body: bytes, found: bool | None
) -> None:
    """A proxy's error page in front of the case store must not become a 500 for the citizen's webhook."""
    with respx.mock(base_url="http://127.0.0.1:9") as mock:
        mock.get("/v1/reports/10000011").respond(status, content=body)
        async with httpx.AsyncClient(verify=tls_context(), base_url="http://127.0.0.1:9") as client:
            lookup = await lookup_status(client, "10000011")
    assert (None if lookup is None else lookup.found) is found
    if found:
        assert lookup is not None and (lookup.status, lookup.anonymous) == ("in_progress", True)


def casestore_request_count() -> float:
    """How many case-store requests the latency histogram holds, from the collection the status views read."""
    return next(sample.value for family in metrics.collect_metrics().families for sample in family.samples
                if sample.name == "lapor_casestore_request_seconds_count")


@pytest.mark.parametrize(
    ("answer", "recorded"),
    [
        pytest.param(httpx.Response(201, json={"tracking_id": "10000011"}), True, id="answered"),
        pytest.param(httpx.Response(503, json={"error": "maintenance"}), True, id="answered-503"),
        pytest.param(httpx.ReadTimeout("timed out"), True, id="timed-out"),
        pytest.param(httpx.ConnectError("connection refused"), False, id="refused"),
        pytest.param(httpx.ConnectError("name or service not known"), False, id="no-such-host"),
    ],
)
def test_case_store_latency_counts_only_requests_that_met_the_case_store(
    answer: httpx.Response | Exception, recorded: bool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused connection fails in a millisecond: counted as latency, the status page said "case-store latency:
    1 ms" all through an outage. A timeout is the case store being that slow at least."""
    metrics.CASESTORE_LATENCY.set(0.04)  # the request before, answered in 40 ms
    before = casestore_request_count()
    ticks = iter([100.0, 100.25])  # the request takes 250 ms, whatever happens to it
    monkeypatch.setattr(casestore_client, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    client = CaseStoreClient(settings)
    try:
        with respx.mock(base_url=settings.casestore_url) as mock:
            route = mock.post("/v1/reports")
            if isinstance(answer, Exception):
                route.side_effect = answer
            else:
                route.return_value = answer
            with contextlib.suppress(RetryableError):
                client.submit([{"tracking_id": "10000011"}])
    finally:
        client.close()
    latency = metrics.gauge_value(metrics.collect_metrics(), "lapor_casestore_latency_seconds")
    assert (latency, casestore_request_count() - before) == ((0.25, 1) if recorded else (0.04, 0))
    page = render_status_page({"overall": "ok", "channels": [], "queues": [], "deadletters": {"total": 0},
                               "generated_at": "2026-12-02 02:00:00Z", "spool_size": 0,
                               "casestore_latency_seconds": latency}, 10)
    assert f"case-store latency: {250 if recorded else 40} ms" in page


async def test_while_forwards_find_the_case_store_down_every_view_says_so_instead_of_its_old_latency(
    fast_gateway: GatewayServer, casestore: CaseStoreServer, test_env: TestEnvironment,
    start_process: Callable[..., ProcessHandle], log_stream: io.StringIO,
) -> None:
    """The latency is that of the last request the case store answered: through an outage the page said "case-store
    latency: 3 ms", every channel ok, for the 5 min the queue-age rule waits. Now the page, /v1/status,
    `lapor-gateway status` and the heartbeat say forwards find it down, why and since when, until it takes one again."""
    gateway = fast_gateway
    wait_ready(start_process("worker", "--queues", FORWARD_QUEUE, LAPOR_INTAKE_FORWARD_LINGER_MS="0"), queues=1)

    async def send(sid: str) -> str:
        response = await gateway.post_twilio(gateway.twilio_form(MessageSid="SM" + sid * 32,
                                                                 Body=f"Jalan rusak di RT {sid}"))
        return tracking_id_in(twiml_message(response.text))

    async def status() -> dict[str, Any]:
        return (await gateway.client.get("/v1/status")).json()

    async def outage() -> dict[str, Any] | None:
        return (await status())["casestore_outage"]

    first = await send("1")
    await async_wait_until(lambda: casestore.get(first), timeout=20)
    assert await outage() is None
    assert "case-store latency: " in (await gateway.client.get("/status")).text

    casestore.stop()
    await send("2")
    for _ in range(200):
        if (found := await outage()) is not None:
            break
        await asyncio.sleep(0.1)
    assert found is not None and found["reason"] == "casestore_unreachable", found
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", found["since"])
    page = (await gateway.client.get("/status")).text
    # ... and that citizens are answered meanwhile: no view said so, every channel down after 30 min of it.
    said = (f"case store: forwards failing since {found['since']} (casestore_unreachable); citizens are still "
            "answered and their reports kept")
    assert with_local_times(said, gateway.settings.operator_zone) in page  # its time in the operators' zone too
    assert "case-store latency" not in page
    # A failed forward is not yet an outage (`casestore.down` waits 10 s of them: the next try may be taken), so the
    # headline is left as the channels give it; a declared one is the next test's.
    assert found["declared"] is False
    document = await status()
    assert (document["overall"], document["reason"]) == ("ok", None), document
    assert 'id="overall">ALL CHANNELS OK<' in page
    shown = await asyncio.to_thread(cli, test_env, "status")
    assert with_local_times(said, gateway.settings.operator_zone) in shown.stdout
    assert (shown.returncode, shown.stdout.startswith("overall: OK  (")) == (0, True), shown.stdout
    await async_wait_until(lambda: any(e["event"] == "health.heartbeat" and e.get("casestore_outage") == found
                                       for e in log_events(log_stream)), timeout=5)

    casestore.start()
    third = await send("3")
    await async_wait_until(lambda: casestore.get(third), timeout=20)
    document = await status()
    assert (document["casestore_outage"], document["overall"], document["reason"]) == (None, "ok", None), document
    page = (await gateway.client.get("/status")).text
    assert "case-store latency: " in page and 'id="overall">ALL CHANNELS OK<' in page
    shown = (await asyncio.to_thread(cli, test_env, "status")).stdout
    assert "case store:" not in shown and shown.startswith("overall: OK  ("), shown


STATUS_SCHEMA = yaml.safe_load((Path(__file__).resolve().parent.parent / "gateway" / "openapi.yaml").read_text())[
    "paths"]["/v1/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


REDIS_DOWN_SCHEMA = yaml.safe_load((Path(__file__).resolve().parent.parent / "gateway" / "openapi.yaml").read_text())[
    "paths"]["/v1/status"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]


def test_every_field_of_the_status_documents_is_described(redis: Redis) -> None:
    """The description of /v1/status left out what the document serves (the spool's failure and since when, the case
    store's latency): a client generated from it dropped them. Each field of the document, and of the one Redis
    down, is described, as served."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), spool=lambda: 0,
                            spool_failure=lambda: "spool directory ... is not writable",
                            spool_failing_since=lambda: time.time() - 60)
    served = monitor.check()
    assert served["spool_failure"] and served["spool_failure_since"], served
    assert set(served) <= set(STATUS_SCHEMA["properties"]), set(served) - set(STATUS_SCHEMA["properties"])
    jsonschema.validate(served, STATUS_SCHEMA)
    down = monitor.redis_down(RedisConnectionError("refused"), since=time.time() - 5)
    assert set(down) <= set(REDIS_DOWN_SCHEMA["properties"]), set(down) - set(REDIS_DOWN_SCHEMA["properties"])
    jsonschema.validate(down, REDIS_DOWN_SCHEMA)


async def test_a_declared_case_store_outage_makes_every_view_degraded_naming_it_until_it_is_back(
    gateway: GatewayServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forwards failing, `casestore.down` logged: the headline of the page, `overall` in /v1/status and
    `lapor-gateway status` said OK until each channel's queue-age rule (5 min), and an operator at 2 a.m. saw green
    while no report reached the agency. Degraded, the case store named, the channels left as their rules say; not
    down (citizens are still answered, nothing is lost), so a plain `status` still exits 0 and `--strict` 1."""
    the_deployments(redis)
    # The forward worker's context, as far as noting the outage goes; its case store's URL with what no view shows.
    workers_url = "https://lapor:secret@casestore.example.go.id:8443/api?token=x"
    failing = SimpleNamespace(redis=redis, settings=gateway.settings.model_copy(
        update={"casestore": gateway.settings.casestore.model_copy(update={"url": workers_url})}))
    forward.casestore_failing(failing, "casestore_503")  # type: ignore[arg-type]
    # One failed forward, not yet 10 s of them: the footer's, not the headline's (no flapping on a 503 retried once).
    document = (await gateway.client.get("/v1/status")).json()
    assert (document["overall"], document["reason"], document["casestore_outage"]["declared"]) == ("ok", None, False)
    assert 'id="overall">ALL CHANNELS OK<' in (await gateway.client.get("/status")).text
    assert "\nlapor_casestore_outage 0.0\n" in (await gateway.client.get("/metrics")).text
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    forward.casestore_failing(failing, "casestore_unreachable")  # type: ignore[arg-type]
    down = [e for e in log_events(log_stream) if e["event"] == "casestore.down"]
    assert [e["reason"] for e in down] == ["casestore_unreachable"]
    # Where to look: the URL the workers fail at (not the viewer's setting), without its password or query.
    shown_url = "https://casestore.example.go.id:8443/api"
    assert down[0]["url"] == shown_url
    step = f"check that the case store answers at {shown_url}: the forwards go by themselves once it does"

    document = (await gateway.client.get("/v1/status")).json()
    since = document["casestore_outage"]["since"]
    headline = f"DEGRADED: case store (forwards failing since {since}, casestore_unreachable)"
    assert (document["overall"], document["reason"]) == ("degraded", headline), document
    assert {c["state"] for c in document["channels"]} == {"ok"}  # the channels' own rules give them
    assert document["casestore_outage"]["url"] == shown_url
    jsonschema.validate(document, STATUS_SCHEMA)
    page = (await gateway.client.get("/status")).text
    assert f'id="overall">{with_local_times(headline, gateway.settings.operator_zone)}<' in page
    # The step under the outage's own block, as a channel's action, above the channels (in the grey line under the
    # headline it was read last, if at all).
    outage_block = page.partition('<section class="channel" id="casestore" data-state="degraded">')[2]
    assert outage_block, page
    assert outage_block.startswith('<div class="reason">case store: forwards failing since ')
    assert f'their reports kept</div><div class="action">what to do: {step}</div></section>' in outage_block
    assert outage_block.index("</section>") < outage_block.index('id="channel-') and "secret" not in page
    assert "case-store latency" not in page
    assert "<title>DEGRADED · " in page
    # an alert on it fires now, not after the channels' queue-age rule (5 min)
    assert "\nlapor_casestore_outage 1.0\n" in (await gateway.client.get("/metrics")).text
    with ThreadPoolExecutor(2) as pool:
        plain, strict = await asyncio.to_thread(
            lambda: list(pool.map(lambda args: cli(test_env, "status", *args), ((), ("--strict",)))))
    assert (plain.returncode, strict.returncode) == (0, 1), plain.stdout + plain.stderr + strict.stderr
    assert plain.stdout.startswith(f"overall: {with_local_times(headline, gateway.settings.operator_zone)}  ("), (
        plain.stdout)
    assert f"their reports kept; {step}" in " ".join(plain.stdout.split()), plain.stdout
    assert "requeue" not in plain.stdout

    # A forward whose retries ran out does not go by itself: the step said it did, and nothing said to requeue it.
    letters = DeadLetters(redis)
    letter = letters.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                             item="10000012", reason="casestore_unreachable", detail="gave up", channel="sms-twilio")
    requeue = (f"{step}, but not those whose retries ran out: once it answers, `lapor-gateway deadletters list "
               "--queue lapor-forward` says why each failed; requeue those the outage left (`lapor-gateway "
               "deadletters requeue --all --queue lapor-forward`, with `--reason` to pick)")
    assert f'<div class="action">what to do: {requeue}</div>' in (await gateway.client.get("/status")).text
    plain = await asyncio.to_thread(cli, test_env, "status")
    assert f"their reports kept; {requeue}" in " ".join(plain.stdout.split()), plain.stdout
    assert letters.purge([letter], 60) == 1

    forward.tell_back(forward.end_outage(redis), 0, seen_by="probe")  # as the probe that finds it answering
    assert [e["event"] for e in log_events(log_stream) if e["event"].startswith("casestore.")][-1] == "casestore.back"
    document = (await gateway.client.get("/v1/status")).json()
    assert (document["overall"], document["reason"], document["casestore_outage"]) == ("ok", None, None), document
    jsonschema.validate(document, STATUS_SCHEMA)
    assert 'id="overall">ALL CHANNELS OK<' in (await gateway.client.get("/status")).text
    assert "\nlapor_casestore_outage 0.0\n" in (await gateway.client.get("/metrics")).text
    strict = await asyncio.to_thread(cli, test_env, "status", "--strict")
    assert strict.returncode == 0 and strict.stdout.startswith("overall: OK  ("), strict.stdout + strict.stderr


class RestartableRedis:
    """An embedded Redis of the test's own (the shared one must stay up), stopped and started again on its port."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.server = EmbeddedRedis(directory).start()

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def start_again(self) -> None:
        self.server = EmbeddedRedis(self._directory, port=self.server.port).start()


@contextlib.asynccontextmanager
async def gateway_on_its_own_redis(test_env: TestEnvironment, tmp_path: Path,
                                   **env: str) -> AsyncIterator[tuple[RestartableRedis, GatewayServer]]:
    """A gateway served over loopback on a Redis the test may stop, and a client of it."""
    own = RestartableRedis(tmp_path / "redis")
    settings = test_env.settings(REDIS_URL=own.url, **env)
    runner = web.AppRunner(create_app(settings, redis_connection(own.url, timeout=0.5)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            yield own, GatewayServer(url=settings.public_url, settings=settings, client=client)
    finally:
        await runner.cleanup()
        own.stop()


async def test_while_redis_is_down_every_view_shows_the_spool_filling(
    test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO
) -> None:
    """Redis gone: Twilio's webhooks are still answered from the disk spool. The views must say so, and which are not
    (the aggregator's, whose SMS reply needs Redis), show the spool grow (not a gauge frozen at its last value, not
    "webhooks answer 503"), and the heartbeat must go on."""
    async with gateway_on_its_own_redis(test_env, tmp_path, LAPOR_HEALTH_EVALUATE_SECONDS="0.1",
                                        LAPOR_HEALTH_HEARTBEAT_SECONDS="0.2") as (own, server):
        client, settings = server.client, server.settings
        first = await server.post_twilio(server.twilio_form(MessageSid="SM" + "1" * 32))
        assert first.status_code == 200
        await client.get("/metrics")  # the gauge as of Redis still up: an empty spool
        own.stop()
        for index in range(3):  # each a report of its own (the same text again would be one report)
            spooled = await server.post_twilio(server.twilio_form(MessageSid=f"SM{index:032d}",
                                                                  Body=f"Jalan rusak di gang {index}"))
            assert spooled.status_code == 200, spooled.text
        on_disk = spool_size(settings.data_dir)
        assert on_disk > 0
        # The aggregator's SMS are answered by a queued reply, which needs Redis: 503, and the aggregator retries. Its
        # report is not spooled meanwhile: its retry may reach another gateway process and be spooled there too.
        fields = {"from": "081234567890", "to": "1708", "text": "LAPOR jalan rusak", "id": "outage-1"}
        assert (await post_callback(client, fields, signature="auto")).status_code == 503

        status = await client.get("/v1/status")
        assert status.status_code == 503
        document = status.json()
        assert document["overall"] == "down"
        assert document["spool_size"] == on_disk
        # What the operator reads is what each webhook got: 1708 through the aggregator is not answered.
        assert "Twilio's webhooks are answered from the disk spool" in document["reason"]
        assert "the aggregator's callbacks and Instagram's notifications get 503" in document["reason"]
        page = (await client.get("/status")).text
        assert "webhooks answer 503" not in page
        assert f"spool: {on_disk} bytes" in page
        metrics_text = (await client.get("/metrics")).text
        assert value(metrics_text, "lapor_spool_bytes") == on_disk

        def outage_beats() -> list[dict[str, object]]:
            return [e for e in log_events(log_stream)
                    if e["event"] == "health.heartbeat" and e.get("spool_size") == on_disk]

        await async_wait_until(outage_beats, timeout=5)
        beat = outage_beats()[-1]
        assert beat["overall"] == "down"
        assert "Redis unreachable" in str(beat["reason"])


async def test_while_redis_is_down_every_view_says_since_when(
    test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO
) -> None:
    """Paged at 02:10, an operator could not tell a blip of 5 s from an outage of 40 min: /v1/status, the page and the
    heartbeat gave the reason and no start (the log line gateway.redis_lost alone had it). Each says since when the
    gateway met the outage, the same at each look; `lapor-gateway status`, which cannot know, says where to read it."""
    async with gateway_on_its_own_redis(test_env, tmp_path, LAPOR_HEALTH_EVALUATE_SECONDS="0.1",
                                        LAPOR_HEALTH_HEARTBEAT_SECONDS="0.2") as (own, server):
        client = server.client
        assert (await client.get("/v1/status")).status_code == 200
        before = datetime.now(UTC).replace(microsecond=0)
        own.stop()
        deadline = time.monotonic() + 5
        while not (document := (await client.get("/v1/status")).json()).get("redis_down_since"):
            assert time.monotonic() < deadline, document
            await asyncio.sleep(0.1)
        since = document["redis_down_since"]
        assert before <= datetime.strptime(since, "%Y-%m-%d %H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)
        assert f"Redis unreachable (ConnectionError), since {since}: " in document["reason"]
        await asyncio.sleep(1.1)  # a second later: the start, not the time of the look
        assert (await client.get("/v1/status")).json()["redis_down_since"] == since
        headline = with_local_times(f"DOWN: Redis unreachable (ConnectionError) since {since}",
                                    server.settings.operator_zone)
        assert f"{headline}</div>" in (await client.get("/status")).text

        def outage_beats() -> list[dict[str, object]]:
            return [e for e in log_events(log_stream) if e["event"] == "health.heartbeat" and e["overall"] == "down"]

        await async_wait_until(outage_beats, timeout=5)
        assert outage_beats()[-1]["redis_down_since"] == since
        result = run_cli(["status"], test_env.process_env(REDIS_URL=own.url))
        assert result.returncode == 2
        assert "since when: this command cannot tell; the gateway's /v1/status does (redis_down_since" in " ".join(
            result.stdout.split()), result.stdout
        own.start_again()
        deadline = time.monotonic() + 5
        while (await client.get("/v1/status")).status_code != 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        own.stop()  # a new outage: a new start
        deadline = time.monotonic() + 5
        while (again := (await client.get("/v1/status")).json().get("redis_down_since")) in (None, since):
            assert time.monotonic() < deadline, again
            await asyncio.sleep(0.1)


@pytest.mark.parametrize(("since", "spool_failure", "spool_since", "said"), [
    pytest.param(None, None, None, "Redis unreachable (ConnectionError): Twilio's", id="not-known"),
    pytest.param(1796523000.0, None, None, "Redis unreachable (ConnectionError), since 2026-12-06 02:10:00Z: Twilio",
                 id="redis-since"),
    pytest.param(1796523000.0, "disk full", 1796522940.0, "since 2026-12-06 02:10:00Z and the disk spool cannot be "
                 "written since 2026-12-06 02:09:00Z (disk full): no channel", id="both-since"),
    pytest.param(None, "disk full", None, "Redis unreachable (ConnectionError) and the disk spool cannot be written "
                 "(disk full): no channel", id="spool-not-known"),
])
def test_the_document_of_redis_down_says_since_when_where_known(
    since: float | None, spool_failure: str | None, spool_since: float | None, said: str
) -> None:
    from gateway.status_page import render_redis_down_page

    document = redis_down_document(RedisConnectionError("refused"), 0, 1796523600.0, "r", spool_failure,
                                   since=since, spool_failure_since=spool_since)
    assert said in document["reason"]
    assert document["redis_down_since"] == (None if since is None else "2026-12-06 02:10:00Z")
    assert document["spool_failure_since"] == (None if spool_since is None else "2026-12-06 02:09:00Z")
    headline = "DOWN: Redis unreachable (ConnectionError)" + ("" if since is None else " since 2026-12-06 02:10:00Z")
    assert f'id="overall">{headline}</div>' in render_redis_down_page(document, 10)


def test_a_spool_that_cannot_be_written_is_said_since_when_in_the_headline(tmp_path: Path) -> None:
    """The headline "DEGRADED: disk spool (...)" and `spool_failure` gave no start: the gateway's probe, which tells
    each change, knows it, and the document says it (`spool_failure_since`); a probe that tells nothing (a one-shot
    command's) does not, and the headline says no time."""
    from gateway.health.monitor import SpoolProbe, overall_reason

    assert overall_reason([], None, "disk full", spool_failure_since="2026-12-06 02:09:00Z") == (
        "DEGRADED: disk spool (disk full since 2026-12-06 02:09:00Z; /readyz answers 503, and while Redis fails no "
        "report is taken)")
    assert overall_reason([], None, "disk full") == (
        "DEGRADED: disk spool (disk full; /readyz answers 503, and while Redis fails no report is taken)")
    (tmp_path / "spool").write_text("a file where the spool directory was")
    told, untold = (SpoolProbe(Spool(tmp_path / "spool"), wait=True, tell=tell) for tell in (True, False))
    before = time.time()
    assert told.failure() is not None and untold.failure() is not None
    assert before <= (told.failing_since() or 0) <= time.time()
    assert untold.failing_since() is None
    (tmp_path / "spool").unlink()
    time.sleep(health_monitor.SPOOL_PROBE_SECONDS)  # a probe stands for a second
    assert told.failure() is None and told.failing_since() is None


async def test_with_redis_down_and_the_spool_unwritable_every_view_says_no_report_is_taken(
    test_env: TestEnvironment, tmp_path: Path
) -> None:
    """Redis gone and the spool's disk refusing too: every Twilio SMS gets 503, and Twilio never sends it again. The
    views said "Twilio's webhooks are answered from the disk spool" all the same; they must say the spool fails, and
    say it no more once it can be written again."""
    async with gateway_on_its_own_redis(test_env, tmp_path) as (own, server):
        client, settings = server.client, server.settings
        assert (await server.post_twilio(server.twilio_form(MessageSid="SM" + "1" * 32))).status_code == 200
        own.stop()
        spool_dir = settings.data_dir / "spool"
        spool_dir.rename(tmp_path / "spool-aside")
        spool_dir.write_text("a file where the spool directory was")  # refused even to root, unlike a chmod
        refused = await server.post_twilio(server.twilio_form(MessageSid="SM" + "2" * 32, Body="Lampu jalan mati"))
        assert refused.status_code == 503 and refused.json()["error"] == "spool_failed"
        # The answer anyone posting may read names no path of the gateway's host.
        assert str(settings.data_dir) not in refused.text and "Not a directory" in refused.json()["detail"]

        deadline = time.monotonic() + 5  # the gateway's probe of the spool runs beside its views, a second apart
        while "the disk spool cannot be written" not in (status := await client.get("/v1/status")).json()["reason"]:
            assert time.monotonic() < deadline, status.text
            await asyncio.sleep(0.1)
        assert status.status_code == 503
        document = status.json()
        for said in (document["reason"], (await client.get("/status")).text):
            assert "the disk spool cannot be written" in said
            assert "answered from the disk spool" not in said
        assert "not writable" in document["spool_failure"]
        assert f"the disk spool cannot be written since {document['spool_failure_since']} (" in document["reason"]
        cli_env = test_env.process_env(REDIS_URL=own.url)
        result = run_cli(["status"], cli_env)
        assert result.returncode == 2
        assert "the disk spool cannot be written" in " ".join(result.stdout.split()), result.stdout

        spool_dir.unlink()
        (tmp_path / "spool-aside").rename(spool_dir)
        deadline = time.monotonic() + 5  # a probe of the spool stands for a second
        while "Twilio's webhooks are answered from the disk spool" not in (back := (await client.get(
                "/v1/status")).json())["reason"]:
            assert time.monotonic() < deadline, back
            await asyncio.sleep(0.1)
        assert back["spool_failure"] is None
        assert "answered from the disk spool" in " ".join(run_cli(["status"], cli_env).stdout.split())


async def test_the_part_sweeper_says_a_redis_outage_once_as_it_begins_and_once_as_it_ends(
    test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO
) -> None:
    """The sweeper of concatenated SMS parts logged concat.sweep_failed at every sweep (every 5 s) for as long as
    Redis was away: one line as the outage begins, one as it ends."""
    async with gateway_on_its_own_redis(test_env, tmp_path, LAPOR_AGGREGATOR_CONCAT_SWEEP_SECONDS="0.05") as (own, _):
        def said(event: str) -> int:
            return sum(e["event"] == event for e in log_events(log_stream))

        own.stop()
        await async_wait_until(lambda: said("concat.sweep_failed"), timeout=5)
        await asyncio.sleep(1)  # twenty sweeps more
        assert said("concat.sweep_failed") == 1
        own.start_again()
        await async_wait_until(lambda: said("concat.sweep_back"), timeout=5)
        await asyncio.sleep(0.3)
        assert (said("concat.sweep_failed"), said("concat.sweep_back")) == (1, 1)


async def test_a_message_answered_from_the_spool_is_the_channels_last_once_redis_is_back(
    test_env: TestEnvironment, tmp_path: Path
) -> None:
    """"Last message" is written to Redis at most once a second: the write of an SMS answered from the disk spool
    was lost with Redis, and sms-twilio kept the time of the last SMS before the outage after Redis came back."""
    async with gateway_on_its_own_redis(test_env, tmp_path, LAPOR_HEALTH_EVALUATE_SECONDS="0.1") as (own, server):
        client = server.client

        async def last_message() -> str | None:
            response = await client.get("/v1/status")
            if response.status_code != 200:
                return None
            return next(c for c in response.json()["channels"] if c["channel"] == "sms-twilio")["last_message_at"]

        async def shown_once(predicate: Callable[[str | None], bool]) -> str | None:
            deadline = time.monotonic() + 5
            while not predicate(shown := await last_message()):
                assert time.monotonic() < deadline, shown
                await _sleep()
            return shown

        assert (await server.post_twilio(server.twilio_form(MessageSid="SM" + "1" * 32))).status_code == 200
        before = await shown_once(lambda shown: shown is not None)
        own.stop()
        await asyncio.sleep(1.1)  # a second later: another "last message"
        spooled_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        assert (await server.post_twilio(server.twilio_form(MessageSid="SM" + "2" * 32))).status_code == 200
        own.start_again()
        assert str(before) < spooled_at <= str(await shown_once(lambda shown: (shown or "") >= spooled_at))


async def test_metrics_say_whether_redis_answers_and_clear_once_it_is_back(
    test_env: TestEnvironment, tmp_path: Path
) -> None:
    """While Redis does not answer, /metrics still answered 200 with the channel and queue gauges as they last were
    (all ok, say): a Prometheus alert on lapor_channel_state never fired for the outage every other view calls DOWN,
    and a dashboard was green. lapor_redis_up says why, and each channel's state is down (2) with the views, but
    those switched off (X here: no credentials) and the dead letters of no channel (`unknown`), which say nothing of
    a report taken; each is as found once Redis is back."""
    async with gateway_on_its_own_redis(test_env, tmp_path) as (own, server):
        client = server.client

        async def scrape() -> tuple[float, float, float, float]:
            text = (await client.get("/metrics")).text
            return (value(text, "lapor_redis_up"), value(text, "lapor_channel_state", channel="x"),
                    value(text, "lapor_channel_state", channel="sms-twilio"),
                    value(text, "lapor_channel_state", channel="unknown"))

        assert await scrape() == (1.0, 0.0, 0.0, 0.0)
        own.stop()
        assert "x" in disabled_channels(server.settings)
        assert await scrape() == (0.0, 0.0, 2.0, 0.0)
        own.start_again()
        assert await scrape() == (1.0, 0.0, 0.0, 0.0)


def test_a_process_whose_results_are_stale_sets_its_channel_states_again_once_redis_is_back(redis: Redis) -> None:
    """Two gateways, one's clock 20 s behind the other's: each result of the one behind is stale (the other's, stamped
    later, stands) and set no gauge. Redis away from it, its `lapor_channel_state` went to down (2) with every view,
    and back, it stayed 2 for good: a Prometheus alert fired on for an outage long over. Its own evaluation sets it.
    (One registry for both here: the one ahead checks before the outage only, as another process's would not show.)"""
    rules = load_rules(CONFIG_DIR / "health.toml")
    start = float(int(time.time()))
    ahead = HealthMonitor(redis, rules, clock=lambda: start, spool=lambda: 0, spool_failure=lambda: None)
    behind = HealthMonitor(redis, rules, clock=lambda: start - 20, spool=lambda: 0, spool_failure=lambda: None)

    def gauge() -> float | None:
        return metrics.CHANNEL_STATE.labels("sms-twilio")._value.get()

    ahead.check()
    behind.redis_down(RedisConnectionError("gone"))
    assert gauge() == 2
    document = behind.check()
    assert orjson.loads(redis.hget(STATE_KEY, "sms-twilio") or b"{}")["at"] == start  # its own result stale
    [twilio] = [channel for channel in document["channels"] if channel["channel"] == "sms-twilio"]
    assert twilio["state"] == "ok" and gauge() == 0


async def test_a_redis_outage_is_three_lines_of_the_gateway_whatever_looks_at_redis(
    test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO
) -> None:
    """The health loop (every 0.1 s here, 5 s by default) and every scrape and status view meet a lost Redis: each
    logged `health.check_failed`, twelve lines a minute and more, and nothing when Redis came back. Now the outage is
    `gateway.redis_lost` once (a reminder a minute) and `gateway.redis_back`."""
    async with gateway_on_its_own_redis(test_env, tmp_path, LAPOR_HEALTH_EVALUATE_SECONDS="0.1") as (own, server):

        def lines() -> list[tuple[object, ...]]:
            return [(e["event"], e["level"], e.get("reason")) for e in log_events(log_stream)
                    if str(e["event"]).startswith(("gateway.redis", "health.check"))]

        assert (await server.client.get("/v1/status")).status_code == 200
        own.stop()
        for _ in range(3):
            assert (await server.client.get("/v1/status")).status_code == 503
            assert (await server.client.get("/metrics")).status_code == 200
        await asyncio.sleep(1.0)  # some ten rounds of the health loop
        own.start_again()
        await async_wait_until(lambda: ("gateway.redis_back", "info", None) in lines(), timeout=10)
        assert lines() == [("gateway.redis_lost", "error", "unreachable"), ("gateway.redis_back", "info", None)]
        [back] = [e for e in log_events(log_stream) if e["event"] == "gateway.redis_back"]
        assert float(str(back["outage_seconds"])) >= 1.0


async def test_a_redis_slower_than_the_views_bound_but_answering_is_no_outage(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view gives up on its check past its bound and answers 503, saying so, but the check that then succeeds is
    Redis answering: `gateway.redis_lost` is the line operators alert on, and a slow scrape once paged them. The
    reason said a Redis command had run out of time, on a host too busy to run the check while Redis answered."""
    settings = test_env.settings(LAPOR_HEALTH_VIEW_CHECK_SECONDS="0.2")
    runner = web.AppRunner(create_app(settings, redis), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    monitor = runner.app[GATEWAY_KEY].monitor
    assert monitor is not None
    real_check = monitor.check

    def slow_check() -> dict[str, object]:
        time.sleep(0.5)
        return real_check()

    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:
            monkeypatch.setattr(monitor, "check", slow_check)
            outlasted = await client.get("/v1/status")
            assert outlasted.status_code == 503  # the view did not wait
            # Said as a check past the views' bound, Redis slow or the host busy; not as a Redis command timed out.
            reason = outlasted.json()["reason"]
            assert reason.startswith("Redis does not answer in time (the health check took longer than 0.2 s, "
                                     "health.view_check_seconds:") and "this host too busy" in reason, reason
            assert "a command runs out of time" not in reason
            assert outlasted.json()["redis"] == "TimeoutError"  # the field's values as documented
            await asyncio.sleep(0.6)  # the check it gave up on ends: Redis answered
            monkeypatch.setattr(monitor, "check", real_check)
            # The bound back to the tests' own: a loaded machine's real check took longer than 0.2 s, once.
            runner.app[GATEWAY_KEY].settings = test_env.settings()
            assert (await client.get("/v1/status")).status_code == 200
    finally:
        await runner.cleanup()
    assert [e["event"] for e in log_events(log_stream) if str(e["event"]).startswith("gateway.redis")] == []


def test_a_check_past_the_views_bound_is_copied_with_its_bound() -> None:
    """An exception is copied and pickled through its arguments: this one's message went back in as its bound."""
    outlasted = pickle.loads(pickle.dumps(CheckOutlasted(0.2)))
    assert outlasted.seconds == 0.2 and str(outlasted) == "the health check took longer than 0.2 s"
    assert copy.copy(outlasted).seconds == 0.2


def test_a_stuck_queue_says_why_the_last_retry_failed_and_whether_a_worker_takes_its_jobs(
    test_env: TestEnvironment, redis: Redis, start_process: Callable[..., ProcessHandle]
) -> None:
    """The case store not listening, then the forward worker killed: the queue-age reason every channel shows names
    the case store's failure while a worker retries, and says no worker takes the jobs once it is gone."""
    # One job, retried after 60 s: it waits in the retry registry for the whole test.
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="60,60")
    intake = Intake(redis, settings)
    try:
        intake.commit([ReportDraft(received_at=datetime.now(UTC), channel=Channel.SMS, source="sms-twilio",
                                   channel_message_id="SMstuck", sender=Sender(kind=SenderKind.MSISDN,
                                                                               id="+6281234567890"),
                                   text="Jalan rusak")])
    finally:
        intake.close()
    forward = wait_ready(start_process("worker", "--queues", FORWARD_QUEUE), queues=1)
    wait_until(lambda: "forward.retry" in forward.output(), timeout=20)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: time.time() + 400)

    def reason() -> str:
        return str(next(c for c in monitor.status()["channels"] if c["channel"] == "sms-twilio")["reason"])

    wait_until(lambda: "lapor-forward: oldest job waiting" in reason(), timeout=5)  # RQ schedules after the log
    assert "last failure: casestore_unreachable" in reason()
    assert "no worker" not in reason()
    # What to do names the URL the worker fails at, as the footer does: it said "check that it answers at
    # LAPOR_CASESTORE_URL", the operator left to find the workers' value of it.
    [action] = next(c for c in monitor.status()["channels"] if c["channel"] == "sms-twilio")["actions"]
    assert f"check that it answers at {settings.casestore_url}; " in action, action
    forward_queue = next(q for q in monitor.status()["queues"] if q["name"] == FORWARD_QUEUE)
    assert forward_queue["workers"] == 1

    def scraped_workers() -> float:
        """lapor_queue_workers as /metrics renders the check's collection: an alert on it needs no queue to age."""
        payload, _ = render_metrics(monitor.check_and_collect().collected)
        return value(payload.decode(), "lapor_queue_workers", queue=FORWARD_QUEUE)

    assert scraped_workers() == 1
    forward.stop(signal.SIGKILL)
    wait_until(lambda: "no live worker takes its jobs" in reason(), timeout=15)
    assert "last failure: casestore_unreachable" in reason()
    assert scraped_workers() == 0


def queue_age_reasons(document: dict[str, Any]) -> dict[str, str | None]:
    """Each channel's queue-age finding (None: none)."""
    return {c["channel"]: next((f["reason"] for f in c["findings"] if f["rule"] == "queue_age"), None)
            for c in document["channels"]}


def test_replies_retried_for_one_channels_provider_age_that_channel_alone(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """The e-mail relay not listening: e-mail's Tracking-ID replies wait for their retries on `lapor-reply`, which the
    aggregator's SMS replies and X's and Instagram's share. The queue's age made all four degraded after 5 min and
    down after 30 ("DOWN: sms-aggregator, email, x, instagram" for a mail relay), their own replies going out all the
    while. A reply waiting for a retry, or put off by its provider's rate limit, ages its own channel; a job at the
    head of the queue, or a forward (of any channel's reports), every channel of its queue, as before."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                                 LAPOR_EMAIL_RELAY_PORT=str(free_port()), LAPOR_EMAIL_RELAY_STARTTLS="false",
                                 LAPOR_QUEUES_RETRY_INTERVALS="600,600")
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(email_fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()
    run_replies(settings, redis)  # nothing listens at the relay's port: retried in 10 min
    queue(FORWARD_QUEUE, redis).empty()  # the mail's report: forwarded, say
    replies = queue(REPLY_QUEUE, redis)
    assert (replies.count, replies.scheduled_job_registry.count) == (0, 1)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: time.time() + 400)
    reasons = queue_age_reasons(monitor.status())
    assert "relay_unreachable" in str(reasons.pop("email"))
    assert reasons == dict.fromkeys(channel for channel in SHIPPED_CHANNELS if channel != "email")
    # X's replies put off by its rate limit, then an aggregator's reply retried: each ages its own channel.
    enqueue_later(redis, settings, REPLY_QUEUE, SOCIAL_REPLY_FUNC,
                  ["twitter", {"tweet_id": "1900000000000000001"}, "social_received", "10000004", "id"], 900)
    aggregator_reply = {"reply_id": "ab12", "source": "sms-aggregator", "kind": "received", "tracking_id": "10000012"}
    enqueue_later(redis, settings, REPLY_QUEUE, OUTBOUND_REPLY_FUNC, [aggregator_reply], 900)
    reasons = queue_age_reasons(monitor.status())
    assert all(str(reasons[name]).startswith("lapor-reply: oldest job waiting 6 min")
               for name in ("email", "x", "sms-aggregator")), reasons
    assert (reasons["instagram"], reasons["sms-twilio"]) == (None, None)
    # The names the check reads jobs by are those the jobs are queued under.
    queued_under = (SOCIAL_REPLY_FUNC, EMAIL_REPLY_FUNC, {OUTBOUND_REPLY_FUNC, STATUS_FUNC})
    assert queued_under == (health_monitor.SOCIAL_REPLY_FUNC, health_monitor.EMAIL_REPLY_FUNC,
                            health_monitor.SOURCED_FUNCS)
    # A forward waiting holds back every channel's reports.
    enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(["10000020"],)])
    reasons = queue_age_reasons(monitor.status())
    assert all(str(reason).startswith("lapor-forward: oldest job waiting 6 min")
               for reason in reasons.values()), reasons


@pytest.mark.parametrize("queues", [(FORWARD_QUEUE,), (REPLY_QUEUE, STATUS_QUEUE)], ids=["forward", "replies"])
def test_a_killed_worker_degrades_the_channels_of_its_queue_with_nothing_queued(
    test_env: TestEnvironment, redis: Redis, start_process: Callable[..., ProcessHandle], queues: tuple[str, ...]
) -> None:
    """The forward worker, or the reply worker, killed at 2 a.m. with nothing queued: every view said "ALL CHANNELS
    OK" (only "live workers 0" in the queues table) until a job had waited out the queue-age rule (5 min), and never
    while no message came. Now every channel whose queue it took says which queue has no live worker, and since when,
    30 s after the worker was last seen."""
    # The clock of the views runs 40 s ahead: a worker last seen a moment ago reads as gone for longer than 30 s.
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: time.time() + 40)
    handle = wait_ready(start_process("worker", "--queues", ",".join(queues)), queues=len(queues))

    def channel(name: str) -> dict[str, Any]:
        return next(c for c in monitor.status()["channels"] if c["channel"] == name)

    assert f"{queues[0]}: no live worker" not in channel("sms-aggregator")["reason"]
    handle.stop(signal.SIGKILL)
    wait_until(lambda: f"{queues[0]}: no live worker (last seen 4" in channel("sms-aggregator")["reason"], timeout=15)
    # Twilio answers in its TwiML: only a missing forward worker holds its citizens' reports back.
    takers = ["sms-aggregator", "email", "x", "instagram"] + (["sms-twilio"] if queues[0] == FORWARD_QUEUE else [])
    for name in takers:
        shown = channel(name)
        assert shown["state"] == "degraded", shown
        assert f"{queues[0]}: no live worker (last seen 4" in shown["reason"]
        assert "worker_missing" in [f["rule"] for f in shown["findings"]]
    if queues[0] == REPLY_QUEUE:
        assert channel("sms-twilio")["state"] == "ok", channel("sms-twilio")
    else:  # one worker, one cause: named once, not as five channels
        assert re.fullmatch(r"DEGRADED: all channels \(lapor-forward: no live worker \(last seen 4\d s ago\)\)",
                            str(monitor.status()["reason"])), monitor.status()["reason"]
    [stats] = [q for q in monitor.status()["queues"] if q["name"] == queues[0]]
    assert stats["workers"] == 0 and stats["worker_seen_at"].endswith("Z")  # as the views write a time


def test_a_live_worker_taken_out_of_rqs_registry_is_counted_live_again_at_its_next_beat(
    redis: Redis, settings: Settings
) -> None:
    """RQ registers a worker once, at its start. A Redis restarted empty under running workers (no persistence, a
    failover to a copy without it), or RQ's cleanup of a worker paused past its TTL, took them out of its registry:
    every view said "live workers 0" of queues they went on draining, and `lapor_queue_workers` 0 paged for it. The
    worker's liveness beat puts it back; its stop takes it out."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    liveness = reaper.Liveness(redis, "lapor-test-p7-registry", [FORWARD_QUEUE, REPLY_QUEUE], settings, ttl=0.5)
    liveness.start()
    try:
        assert monitor.live_workers() == {FORWARD_QUEUE: 1, REPLY_QUEUE: 1, STATUS_QUEUE: 0}
        redis.delete("rq:workers", *(WORKERS_BY_QUEUE_KEY % name for name in (FORWARD_QUEUE, REPLY_QUEUE)))
        wait_until(lambda: monitor.live_workers() == {FORWARD_QUEUE: 1, REPLY_QUEUE: 1, STATUS_QUEUE: 0}, timeout=3)
    finally:
        liveness.stop()
    assert monitor.live_workers() == dict.fromkeys((FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE), 0)
    assert not redis.smembers(WORKERS_BY_QUEUE_KEY % FORWARD_QUEUE) and not redis.smembers("rq:workers")


START_STATUS_WORKER = ("start `lapor-gateway worker --queues lapor-status` (and read the last log lines of the one "
                       "that stopped: why did it?); one whose process still runs is frozen (stopped, its host paused "
                       "or out of memory): restart it")


async def test_a_dead_status_worker_degrades_the_aggregators_sms_on_every_view_and_no_other_channel(
    gateway: GatewayServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """The status worker (`lapor-status`) killed a minute ago, the forward and reply workers alive: no channel watched
    its queue, so every view said "ALL CHANNELS OK" while the aggregator's citizens, told their CEK answer follows,
    got none. Now the aggregator's channel, the only one whose status queries it answers, is degraded and says which
    queue, on /v1/status, the page and `lapor-gateway status`; the other channels stay ok."""
    the_deployments(redis)
    now = time.time()
    live_worker(redis, (FORWARD_QUEUE, REPLY_QUEUE), at=now)
    # As a SIGKILL leaves it: RQ's registration stays, the liveness key is gone, last seen a minute ago.
    redis.sadd(WORKERS_BY_QUEUE_KEY % STATUS_QUEUE, "rq:worker:lapor-test-p2-status")
    redis.hset(WORKER_SEEN_KEY, STATUS_QUEUE, now - 60)
    # 60 s and then what the views take (the CLI looks again for a beat while a worker reads as silent).
    missing = re.compile(r"lapor-status: no live worker \(last seen [67]\d s ago\)")

    # The channels whose status queries the status worker answers: the aggregator's, and any other whose replies go
    # out later (its health rules watch the status queue: tests/test_channel_registry.py).
    answered = [name for name in SHIPPED_CHANNELS if STATUS_QUEUE in SHIPPED_RULES.for_channel(name).queues]
    assert "sms-aggregator" in answered

    def shown(document: dict[str, Any]) -> None:
        assert document["overall"] == "degraded", document
        channels = {c["channel"]: c for c in document["channels"]}
        for name in answered:
            channel = channels.pop(name)
            assert channel["state"] == "degraded" and missing.fullmatch(channel["reason"]), channel
            assert [f["rule"] for f in channel["findings"]] == ["worker_missing"]
            assert channel["actions"] == [START_STATUS_WORKER] == [f["action"] for f in channel["findings"]]
        assert {name: c["state"] for name, c in channels.items()} == dict.fromkeys(
            (name for name in SHIPPED_CHANNELS if name not in answered), "ok")
        [status_queue] = [q for q in document["queues"] if q["name"] == STATUS_QUEUE]
        assert status_queue["workers"] == 0 and status_queue["worker_seen_at"].endswith("Z")

    shown((await gateway.client.get("/v1/status")).json())
    page = (await gateway.client.get("/status")).text
    assert f'id="overall">DEGRADED: {", ".join(answered)}<' in page
    assert 'id="channel-sms-aggregator" data-state="degraded"' in page and missing.search(page)
    # What to do, under the reason on the page and under "since" in the CLI's output, in the same words.
    assert f'<div class="action">what to do: {html.escape(START_STATUS_WORKER)}</div>' in page
    shown(orjson.loads((await asyncio.to_thread(cli, test_env, "status", "--json")).stdout))
    table = await asyncio.to_thread(cli, test_env, "status", "--strict")
    assert table.returncode == 1, table.stdout + table.stderr  # degraded, nothing down
    assert "overall: DEGRADED" in table.stdout and missing.search(table.stdout), table.stdout
    assert re.search(r"^sms-aggregator: DEGRADED since .*\n  what to do: " + re.escape(START_STATUS_WORKER) + "$",
                     table.stdout, re.MULTILINE), table.stdout


def test_a_worker_is_seen_on_its_queue_before_it_warms_up(
    test_env: TestEnvironment, redis: Redis, start_process: Callable[..., ProcessHandle]
) -> None:
    """A forward worker trains its triage model (seconds) before it takes jobs: started where the queue's last worker
    was seen an hour ago (a restart after a stop, `make run` on yesterday's Redis), it counted as missing until then,
    and the views went degraded and back at every start. It says it is there as it starts."""
    redis.hset(WORKER_SEEN_KEY, FORWARD_QUEUE, time.time() - 3600)

    def seen_at() -> float:
        return float(redis.hget(WORKER_SEEN_KEY, FORWARD_QUEUE) or 0)

    handle = start_process("worker", "--queues", FORWARD_QUEUE, LAPOR_TRIAGE_ENABLED="true")
    wait_until(lambda: seen_at() > time.time() - 60, timeout=30)
    assert '"worker.ready"' not in handle.output()  # still warming up
    wait_ready(handle, queues=1)


def test_jobs_no_worker_could_read_are_counted_on_every_view(test_env: TestEnvironment, redis: Redis) -> None:
    """A job the reaper sets aside as unreadable goes to RQ's failed registry, which no dead-letter view lists: the
    views count it on its queue (RQ's expired entries not), and say where it is named."""
    the_deployments(redis)
    failed_key = queue(REPLY_QUEUE, redis).failed_job_registry.key
    redis.zadd(failed_key, {"unreadable-now": time.time() + 3600, "expired-long-ago": time.time() - 60})
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))

    document = monitor.status()
    assert {q["name"]: q["failed"] for q in document["queues"]} == {FORWARD_QUEUE: 0, REPLY_QUEUE: 1, STATUS_QUEUE: 0}
    assert redis.zcard(failed_key) == 2  # a status view cleans up nothing
    payload, _ = render_metrics(monitor.check_and_collect().collected)
    assert value(payload.decode(), "lapor_queue_failed_jobs", queue=REPLY_QUEUE) == 1
    assert value(payload.decode(), "lapor_queue_failed_jobs", queue=FORWARD_QUEUE) == 0
    page = render_status_page(document, 10)
    assert f"<tr><td>{REPLY_QUEUE}</td><td>0</td><td>0</td><td>0</td><td>-</td><td>0</td><td>1</td>" in page

    result = run_cli(["status"], test_env.process_env(COLUMNS="400"))
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if REPLY_QUEUE in line and "│" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]][:7] == [REPLY_QUEUE, "0", "0", "0", "-", "0", "1"]
    assert "1 job(s) no worker could read were set aside" in result.stdout
    assert "worker.reap_job_unreadable" in result.stdout


def test_jobs_created_in_the_same_microsecond_do_not_break_the_queue_age(redis: Redis) -> None:
    """Two gateways can create jobs with equal timestamps: ordering must never fall through to comparing jobs."""
    from datetime import timedelta

    from rq.job import Job

    from gateway.queues import JSONSerializer

    created = datetime.now(UTC) - timedelta(seconds=90)
    forward = queue(FORWARD_QUEUE, redis)
    for name in ("same-a", "same-b"):
        job = Job.create(FORWARD_FUNC, args=[[]], id=name, connection=redis, serializer=JSONSerializer)
        job.created_at = created
        job.save()
        forward.scheduled_job_registry.schedule(job, datetime.now(UTC) + timedelta(hours=1))
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    (stats,) = [q for q in monitor.queue_stats(time.time()) if q.name == FORWARD_QUEUE]
    assert stats.scheduled == 2 and stats.oldest_age_seconds is not None and 85 < stats.oldest_age_seconds < 120


def test_piped_cli_tables_keep_queue_names_and_reasons_whole(test_env: TestEnvironment, redis: Redis) -> None:
    """Piped to grep or a file, or mailed by cron, there is no terminal: rich squeezed the tables into 80 columns
    and cut short the names an operator greps for and passes to --queue, --channel and --reason."""
    the_deployments(redis)
    _add_letters(redis, 1, "sms-aggregator", "casestore_unreachable")
    env = test_env.process_env()
    env.pop("COLUMNS", None)

    def piped(*args: str) -> str:
        result = run_cli(list(args), env)
        assert result.returncode in (0, 1), result.stdout + result.stderr
        return result.stdout

    listing = piped("deadletters", "list")
    for whole in ("lapor-forward", "sms-aggregator", "casestore_unreachable"):
        assert whole in listing, listing
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", listing), listing  # when, on one line
    status = piped("status")
    for whole in ("lapor-forward", "lapor-reply", "lapor-status", "sms-aggregator",
                  "see `lapor-gateway deadletters list --channel sms-aggregator`"):
        assert whole in status, status


def test_a_shown_dead_letter_says_when_it_failed_as_the_list_does(test_env: TestEnvironment, redis: Redis) -> None:
    _add_letters(redis, 1, "sms-twilio", "casestore_422")
    shown = cli(test_env, "deadletters", "show", "20000000")
    assert shown.returncode == 0, shown.stderr
    # UTC, then in the operators' zone (Asia/Jakarta by default)
    assert re.search(r"^failed_at: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d\d:\d\d WIB(, \w+ \d+)?\)$", shown.stdout,
                     re.MULTILINE), shown.stdout


def test_the_channel_filter_takes_the_name_the_status_shows(test_env: TestEnvironment, redis: Redis) -> None:
    """Dead letters are recorded under their source (`x-mentions`, `x-reply`, `email-smtp`); the status counts them
    under the channel (`x`, `email`) and tells the operator to filter by that name, so the filter must take it."""
    the_deployments(redis)
    _add_letters(redis, 1, "x-mentions", "casestore_422")
    _add_letters(redis, 1, "x-reply", "x_auth", start=1)
    _add_letters(redis, 2, "email-smtp", "casestore_422", start=2)
    _add_letters(redis, 1, "sms-twilio", "casestore_422", start=4)
    _add_letters(redis, 1, "email-quarantine", "casestore_422", start=5)  # a reprocessed quarantined mail's report
    document = orjson.loads(cli(test_env, "status", "--json").stdout)
    x = next(c for c in document["channels"] if c["channel"] == "x")
    assert x["deadletters"] == 2
    assert "--channel x`" in x["reason"]
    assert "(latest: x_auth)" in x["reason"]  # what failed, not only how many

    # Listed by the channel's name as the status shows it, the letters of both sources (Tracking IDs 20000000 and
    # 20000001) and no other; a source alone takes its own.
    listing = cli(test_env, "deadletters", "list", "--channel", "x")
    assert listing.returncode == 0, listing.stderr
    assert "20000000" in listing.stdout and "20000001" in listing.stdout
    assert not any(f"2000000{index}" in listing.stdout for index in range(2, 6))
    only_replies = cli(test_env, "deadletters", "list", "--channel", "x-reply")
    assert "20000001" in only_replies.stdout and "20000000" not in only_replies.stdout

    email = next(c for c in document["channels"] if c["channel"] == "email")
    assert email["deadletters"] == 3
    requeued = cli(test_env, "deadletters", "requeue", "--all", "--channel", "email")
    assert "requeued 3 dead letter(s)" in requeued.stdout, requeued.stdout
    assert DeadLetters(redis).count() == 3


async def test_the_heartbeat_says_why_a_channel_is_not_ok(
    fast_gateway: GatewayServer, redis: Redis, log_stream: io.StringIO
) -> None:
    """`channel.health` is logged once, at the change: a later reader of the logs (or a reason that changed while
    the state did not) needs the reason in the periodic line too."""
    for _ in range(3):  # the IMAP poller's (X, off in the tests' settings, is held to nothing it met)
        HealthSignals(redis).auth_failed("email", "401 Unauthorized: token revoked")

    def x_in_beats() -> list[dict[str, object]]:
        return [entry for e in log_events(log_stream) if e["event"] == "health.heartbeat"
                for entry in e["channels"] if entry["channel"] == "email" and entry["state"] == "down"]  # type: ignore[attr-defined]

    await async_wait_until(x_in_beats, timeout=5)
    assert x_in_beats()[-1]["reason"] == "authentication failing (3 in a row): 401 Unauthorized: token revoked"


def test_dead_letters_of_no_known_channel_do_not_leave_the_status_green(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """A forward job whose envelope is gone (`envelope_missing`) cannot tell its channel: its dead letter must
    still turn the status from ok, under a name the dead-letter commands take."""
    the_deployments(redis)
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000011"]], tracking_id="10000011",
                               item="10000011", reason="envelope_missing", detail="no envelope", channel=None)
    result = cli(test_env, "status", "--json")
    document = orjson.loads(result.stdout)
    assert document["overall"] == "degraded"
    unknown = next(c for c in document["channels"] if c["channel"] == "unknown")
    assert unknown["deadletters"] == 1
    assert "(latest: envelope_missing): see `lapor-gateway deadletters list --channel unknown`" in unknown["reason"]
    # No requeue delivers it: the step said to requeue, which made the same letter again.
    assert "`lapor-gateway deadletters purge --all --channel unknown --reason envelope_missing`" in (
        unknown["actions"][0])
    listing = cli(test_env, "deadletters", "list", "--channel", "unknown")
    assert "10000011" in listing.stdout
    assert "purged 1" in cli(test_env, "deadletters", "purge", "--all", "--channel", "unknown", "--yes").stdout
    after = orjson.loads(cli(test_env, "status", "--json").stdout)
    assert after["overall"] == "ok"
    assert "unknown" not in [c["channel"] for c in after["channels"]]


async def test_the_status_views_say_which_process_polls_each_account_and_how_long_its_lease_has_left(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """X polled by this process, Instagram by a pollers process on another host, the IMAP folder by nobody (its
    poller died and the lease expired): /v1/status, /status and `lapor-gateway status` each say so."""
    from tests.social_helpers import IG_USER_ID, X_USER_ID, running_fake_provider

    with running_fake_provider() as fake:
        test_env.values.update(fake.env(LAPOR_EMAIL_IMAP_HOST="imap.lapor.example", LAPOR_EMAIL_IMAP_USER="pengaduan",
                                        LAPOR_EMAIL_IMAP_PASSWORD="imap-secret"))
        settings = test_env.settings()
        assert Lease(redis, f"x:{X_USER_ID}", 60, channel="x-mentions").hold()
        elsewhere = "pollers-b.lapor.internal:4242:4026531836:0f3c"
        redis.set(LEASE_KEY.format(account=f"instagram:{IG_USER_ID}"), elsewhere, px=30_000)
        this_process = f"{socket.gethostname()}:{os.getpid()}"

        async with serving_gateway(settings, redis) as gateway:
            document = (await gateway.client.get("/v1/status")).json()
            page = (await gateway.client.get("/status")).text
        shown = orjson.loads(cli(test_env, "status", "--json").stdout)
        table = cli(test_env, "status").stdout

    pollers = {c["channel"]: c["poller"] for c in document["channels"]}
    assert {c["channel"]: c["poller"] and c["poller"]["holder"] for c in shown["channels"]} == {
        channel: poller and poller["holder"] for channel, poller in pollers.items()}  # the CLI reads the same
    x, instagram = pollers["x"], pollers["instagram"]
    assert (x["account"], x["holder"]) == (f"x:{X_USER_ID}", this_process) and 0 < x["lease_remaining_seconds"] <= 60
    assert (instagram["account"], instagram["holder"]) == (f"instagram:{IG_USER_ID}", "pollers-b.lapor.internal:4242")
    assert 0 < instagram["lease_remaining_seconds"] <= 30
    assert pollers["email"] == {"account": f"imap:{mailbox_digest(settings.email)}", "holder": None,
                                "lease_remaining_seconds": None, "holder_gone": False}
    assert not x["holder_gone"] and not instagram["holder_gone"]  # alive, and another host's: never judged
    assert pollers["sms-twilio"] is None and pollers["sms-aggregator"] is None  # nothing polls them

    assert re.search(r'polled by: <b class="poller">pollers-b\.lapor\.internal:4242</b> \(lease \d+ s left\)', page)
    assert f'polled by: <b class="poller">{this_process}</b>' in page
    assert "polled by: <b>nobody</b> (no lease held)" in page
    assert "Pollers" in table
    assert re.search(rf"instagram\s+│\s+instagram:{IG_USER_ID}\s+│\s+pollers-b\.lapor\.internal:4242\s+│\s+\d+", table)
    assert re.search(r"email\s+│\s+imap:[0-9a-f]{24}\s+│\s+nobody \(no lease held\)\s+│\s+-", table)


def _a_dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_a_lease_left_by_a_poller_that_died_is_said_to_be_held_by_a_process_gone(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """A pollers process killed outright (`kill -9`, the OOM killer) leaves its lease to run out: every view named it
    as the process polling X ("polled by: vm:4242 (lease 58 s left)") while nothing polled. Judged where it can be (a
    holder of this host's process table), each view says its process no longer runs; the CLI's pollers table says
    when each account was last polled without an error, which only the page and the JSON said."""
    from gateway.lease import Holder, process_table
    from tests.social_helpers import X_USER_ID, running_fake_provider

    with running_fake_provider() as fake:
        test_env.values.update(fake.env())
        settings = test_env.settings()
        the_deployments(redis)
        dead = Holder(socket.gethostname(), _a_dead_pid(), process_table(), "0f3c")
        redis.set(LEASE_KEY.format(account=f"x:{X_USER_ID}"), dead.value, px=60_000)
        HealthSignals(redis).poll_succeeded("instagram")

        async with serving_gateway(settings, redis) as gateway:
            document = (await gateway.client.get("/v1/status")).json()
            page = (await gateway.client.get("/status")).text
        shown = orjson.loads(cli(test_env, "status", "--json").stdout)
        table = cli(test_env, "status").stdout

    for view in (document, shown):
        x = next(c for c in view["channels"] if c["channel"] == "x")
        assert (x["poller"]["holder"], x["poller"]["holder_gone"]) == (f"{dead.host}:{dead.pid}", True), view
    assert re.search(rf'polled by: <b class="poller">{re.escape(dead.host)}:{dead.pid}</b> '
                     r"\(its process no longer runs; lease \d+ s left\)", page)
    assert re.search(rf"x\s+│\s+x:{X_USER_ID}\s+│\s+{re.escape(dead.host)}:{dead.pid} \(its process no longer runs\)"
                     r"\s+│\s+\d+\s+│\s+never", table), table
    instagram = next(c for c in shown["channels"] if c["channel"] == "instagram")
    polled = with_local_times(instagram["last_poll_ok_at"], settings.operator_zone)  # the table: UTC, then local
    assert re.search(rf"instagram\s+│.*│\s+{re.escape(polled)}\s+│", table), table


async def test_with_every_http_gateway_gone_the_sms_channels_are_down_on_the_operators_cli(
    test_env: TestEnvironment, redis: Redis, tmp_path: Path
) -> None:
    """The gateway receives the SMS webhooks itself, so nothing said it was gone: `lapor-gateway status` (cron, the
    operator's shell) showed Twilio's SMS ok for ever and the aggregator's degraded after an hour of quiet. The
    gateway beats for the channels it receives (not Instagram's, whose messages the pollers fetch)."""
    rules = tmp_path / "health.toml"
    rules.write_text((CONFIG_DIR / "health.toml").read_text().replace("process_missing_down_seconds = 30",
                                                                      "process_missing_down_seconds = 5"))
    env = {"LAPOR_HEALTH_RULES_FILE": str(rules)}
    settings = test_env.settings(**env)
    runner = web.AppRunner(create_app(settings, redis), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    runner.app[GATEWAY_KEY].now_listening()
    try:
        await async_wait_until(lambda: redis.zcard("lapor:health:serving:sms-twilio") == 1, timeout=5)
        assert redis.zcard("lapor:health:serving:sms-aggregator") == 1
        assert redis.zcard("lapor:health:serving:instagram") == 0
    finally:
        await runner.cleanup()
    # The gateway's last beats, which nothing moves on once it is gone, aged by the rule's 5 s: moved back by that
    # much rather than waited out; still where they were moved to once the CLI reads the channels down.
    aged = {}
    for name in ("sms-twilio", "sms-aggregator"):
        key = SERVING_KEY.format(channel=name)
        redis.zadd(key, {member: seen - 5 for member, seen in redis.zrange(key, 0, -1, withscores=True)})
        aged[key] = redis.zrange(key, 0, -1, withscores=True)

    def cli_status() -> tuple[int, dict[str, dict[str, object]]]:
        done = run_cli(["status", "--json"], test_env.process_env(**env))
        return done.returncode, {c["channel"]: c for c in orjson.loads(done.stdout)["channels"]}

    deadline = time.monotonic() + 30
    while (status := await asyncio.to_thread(cli_status))[1]["sms-twilio"]["state"] != "down":
        assert time.monotonic() < deadline, status
        await asyncio.sleep(1)
    code, channels = status
    assert code == 2
    assert {key: redis.zrange(key, 0, -1, withscores=True) for key in aged} == aged
    for name in ("sms-twilio", "sms-aggregator"):
        assert re.fullmatch(r"no HTTP gateway process \(lapor-gateway serve\) alive \(last seen \d+ s ago\)",
                            str(channels[name]["reason"])), channels[name]
        assert channels[name]["processes_alive"] == 0


async def test_instagram_reads_degraded_with_its_webhooks_gateway_gone_and_down_with_its_pollers_gone_too(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Instagram comes two ways: `lapor-gateway serve` answers its webhook (keeping the notifications), the pollers
    fetch and file. Only the pollers beat for it, so with every HTTP gateway down Instagram read ok on every view
    while its webhooks went unanswered (the SMS channels read down). The gateway beats for the webhook it answers,
    apart from the channels it receives: the pollers' beat alone is not the gateway's, nor the gateway's theirs."""
    from tests.social_helpers import running_fake_provider

    with running_fake_provider() as fake:
        settings = test_env.settings(**fake.env())
        runner = web.AppRunner(create_app(settings, redis), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
        runner.app[GATEWAY_KEY].now_listening()
        try:
            await async_wait_until(lambda: redis.zcard("lapor:health:serving-webhook:instagram") == 1, timeout=5)
            assert redis.zcard("lapor:health:serving:instagram") == 0  # the pollers' own, not the gateway's
            served = time.time()
            ServingBeat(redis, "pollers", ["instagram"]).beat()
            fresh = {c["channel"]: c for c in HealthMonitor(redis, SHIPPED_RULES).status()["channels"]}
            assert fresh["instagram"]["state"] == "ok", fresh["instagram"]
            assert fresh["instagram"]["webhook_processes_alive"] == 1
        finally:
            await runner.cleanup()

    def instagram(at: float) -> dict[str, Any]:
        return {c["channel"]: c for c in HealthMonitor(redis, SHIPPED_RULES, clock=lambda: at).status()["channels"]}[
            "instagram"]

    later = served + 60  # the gateway gone a minute, the pollers beating all along
    ServingBeat(redis, "pollers", ["instagram"], clock=lambda: later).beat()
    gone = instagram(later)
    assert gone["state"] == "degraded", gone
    assert re.fullmatch(r"no HTTP gateway process \(lapor-gateway serve\) alive \(last seen (59|60|61) s ago\): "
                        r"Instagram's webhooks go unanswered: .*", gone["reason"]), gone["reason"]
    # No worker runs here either (the worker rule, degraded too): what gives the state, each with what to do.
    assert {f["rule"] for f in gone["findings"]} == {"webhook_missing", "worker_missing"}
    assert any(action.startswith("start `lapor-gateway serve`") for action in gone["actions"]), gone["actions"]
    assert gone["webhook_processes_alive"] == 0 and gone["processes_alive"] == 1
    both = instagram(later + 120)  # the pollers gone 2 min too
    assert both["state"] == "down", both
    assert {f["rule"] for f in both["findings"]} >= {"process_missing", "webhook_missing"}
    assert both["reason"].startswith("no pollers process polling Instagram alive")


@pytest.mark.parametrize(("reason", "step"), [
    ("casestore_unreachable", "check that the case store answers at http://cs:8081: the forwards go by themselves "
                              "once it does"),
    # It takes connections and does not answer in time: overloaded or hung, not a process to look for.
    ("casestore_timeout", "the case store at http://cs:8081 takes connections but does not answer within "
                          "LAPOR_CASESTORE_TIMEOUT_SECONDS (5 s): overloaded or hung; check its load and its log, and "
                          "raise the timeout only if it is just slow; the forwards go by themselves once it answers"),
    # It answers, with errors: "check that it answers" sent the operator to a process that did.
    ("casestore_500", "the case store at http://cs:8081 answers 500: its own log says why; the forwards go by "
                      "themselves once it takes them"),
    ("casestore_503", "the case store at http://cs:8081 answers 503: its own log says why; the forwards go by "
                      "themselves once it takes them"),
])
def test_the_case_store_outages_step_says_where_to_look_by_what_its_forwards_met(reason: str, step: str) -> None:
    assert casestore_step({"reason": reason, "url": "http://cs:8081", "timeout": 5.0}) == step


def test_a_gateway_told_to_stop_beats_no_more_once_it_stops_listening(
    test_env: TestEnvironment, redis: Redis, start_process: Callable[..., ProcessHandle]
) -> None:
    """SIGTERM: `lapor-gateway serve` stops listening, then lets the webhooks in flight finish (up to 10 s). Its beat
    went on through that drain, so the views counted a gateway alive that took no webhook any more; it now ends as
    the listening does. The last beat is left to age, as a killed process's is (a restart pages nobody), and the
    stop logs no traceback."""
    port = test_env.settings().http.port
    gateway = start_process("serve")
    key = "lapor:health:serving:sms-twilio"
    wait_until(lambda: redis.zcard(key), timeout=30)

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    with socket.create_connection(("127.0.0.1", port)) as in_flight:  # a webhook whose body is still on its way
        in_flight.sendall(b"POST /v1/channels/sms/twilio HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          b"application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nBody=Jalan")
        time.sleep(0.5)
        gateway.process.send_signal(signal.SIGTERM)
        wait_until(lambda: not listening(), timeout=10)
        time.sleep(0.5)  # a beat in flight as the listening stopped has landed
        last = redis.zrange(key, 0, -1, withscores=True)
        time.sleep(BEAT_SECONDS * 2)
        assert gateway.process.poll() is None, gateway.output()  # still draining the webhook in flight
        assert redis.zrange(key, 0, -1, withscores=True) == last
    assert gateway.process.wait(15) == 0
    assert redis.zrange(key, 0, -1, withscores=True) == last and len(last) == 1
    assert "Traceback" not in gateway.output() and not [
        e for e in (orjson.loads(line) for line in gateway.output().splitlines() if line.startswith("{"))
        if e["level"] == "error"]


async def test_a_killed_smtp_or_pollers_process_takes_its_channel_down_until_one_runs_again(
    test_env: TestEnvironment, start_process: Callable[..., ProcessHandle], tmp_path: Path, log_stream: io.StringIO,
) -> None:
    """Real `lapor-gateway smtp` and `pollers` processes, the gateway over HTTP: not started, then killed, each
    turns its channels down on /v1/status, /status, /metrics, the heartbeat and `lapor-gateway status`, saying
    which process and when it was last seen; running again turns them back to ok. (Rules file: 8 s, not 30 s: on a
    loaded machine a process's beat, every 2 s, was once late past 5 s, and the channel flapped.)"""
    from tests.social_helpers import FakeProviderServer

    rules = tmp_path / "health.toml"
    shipped = (CONFIG_DIR / "health.toml").read_text()
    # One per channel (tests/test_channel_registry.py asks it of every webhook channel).
    assert shipped.count("process_missing_down_seconds = 30") == len(SHIPPED_CHANNELS)
    # No worker runs here: the missing-worker rule (30 s) would turn a channel degraded while a process starts slowly.
    assert shipped.count("worker_missing_degraded_seconds = 30") == 1
    rules.write_text(shipped.replace("process_missing_down_seconds = 30", "process_missing_down_seconds = 8")
                     .replace("worker_missing_degraded_seconds = 30", "worker_missing_degraded_seconds = 0"))
    fake = FakeProviderServer(port=free_port())
    fake.start()
    smtp_port = str(free_port())
    # A Redis of its own: the channel states it logs are its monitor's alone (the shared one's states are written
    # by whatever else evaluates them, with other rules).
    own = RestartableRedis(tmp_path / "own-redis")
    env = {**fake.env(), "LAPOR_HEALTH_RULES_FILE": str(rules), "LAPOR_HEALTH_EVALUATE_SECONDS": "0.1",
           "LAPOR_HEALTH_HEARTBEAT_SECONDS": "0.2", "LAPOR_SMTP_PORT": smtp_port, "REDIS_URL": own.url}
    settings = test_env.settings(**env)
    runner = web.AppRunner(create_app(settings, redis_connection(own.url)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    runner.app[GATEWAY_KEY].now_listening()
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=10) as client:

            async def channels() -> dict[str, dict[str, object]]:
                response = await answered_view(client, "/v1/status")  # a 503 of the views' time bound asked again
                return {c["channel"]: c for c in response.json()["channels"]}

            async def wait_for(**states: str) -> dict[str, dict[str, object]]:
                deadline = time.monotonic() + 60  # process start-ups on a loaded machine
                while True:
                    current = await channels()
                    if all(current[name]["state"] == state for name, state in states.items()):
                        return current
                    assert time.monotonic() < deadline, (states, current)
                    await _sleep()

            # Nothing started yet: a grace while `make run` starts everything, then down, "never". The grace runs
            # from when monitoring began (`first_seen`, written by that first look): moved back by the rule's 8 s
            # rather than waited out.
            assert {name: c["state"] for name, c in (await channels()).items()} == dict.fromkeys(SHIPPED_CHANNELS, "ok")
            own_redis = redis_connection(own.url)
            for name in ("email", "x", "instagram"):
                began = float(own_redis.hget(SIGNALS_KEY.format(channel=name), "first_seen") or 0)
                assert began > time.time() - 8, began
                own_redis.hset(SIGNALS_KEY.format(channel=name), "first_seen", began - 8)
            never = await wait_for(email="down", x="down", instagram="down")
            assert str(never["email"]["reason"]).startswith("no SMTP server process alive (last seen never; ")
            assert str(never["x"]["reason"]).startswith("no pollers process polling X alive (last seen never; ")
            assert never["email"]["processes_alive"] is None

            smtp = start_process("smtp", **env)
            pollers = start_process("pollers", **env)
            running = await wait_for(email="ok", x="ok", instagram="ok")
            assert running["email"]["processes_alive"] == 1 and running["x"]["processes_alive"] == 1
            assert running["sms-twilio"]["processes_alive"] == 1  # the gateway itself, which receives SMS

            smtp.stop(signal.SIGKILL)
            pollers.stop(signal.SIGKILL)
            # Their last beats, which nothing moves on once they are killed, aged by the rule's 8 s: moved back by
            # that much rather than waited out; still where they were moved to once the channels read down.
            aged = {}
            for name in ("email", "x", "instagram"):
                key = SERVING_KEY.format(channel=name)
                last = own_redis.zrange(key, 0, -1, withscores=True)
                assert last, key
                own_redis.zadd(key, {member: seen - 8 for member, seen in last})
                aged[key] = own_redis.zrange(key, 0, -1, withscores=True)
            down = await wait_for(email="down", x="down", instagram="down")
            assert {key: own_redis.zrange(key, 0, -1, withscores=True) for key in aged} == aged
            assert re.fullmatch(r"no SMTP server process alive \(last seen \d+ s ago\)", str(down["email"]["reason"]))
            assert re.fullmatch(r"no pollers process polling Instagram alive \(last seen \d+ s ago\)",
                                str(down["instagram"]["reason"]))
            assert down["email"]["process_last_seen_at"] and down["email"]["processes_alive"] == 0
            assert 'id="channel-email" data-state="down"' in (await client.get("/status")).text
            assert value((await client.get("/metrics")).text, "lapor_channel_state", channel="email") == 2
            status = await asyncio.to_thread(cli, test_env, "status", **env)
            assert status.returncode == 2 and "no SMTP server process alive (last seen" in status.stdout

            def email_down_in_a_heartbeat() -> bool:
                return any("no SMTP server process alive" in str(entry.get("reason"))
                           for e in log_events(log_stream) if e["event"] == "health.heartbeat"
                           for entry in e["channels"] if entry["channel"] == "email")  # type: ignore[attr-defined]

            await async_wait_until(email_down_in_a_heartbeat, timeout=5)
            changes = [e for e in log_events(log_stream) if e["event"] == "channel.health" and e["channel"] == "email"]
            assert [(e["state"], e["rules"]) for e in changes] == [
                ("down", ["process_missing"]), ("ok", []), ("down", ["process_missing"])]

            start_process("smtp", **env)
            await wait_for(email="ok", x="down")
            start_process("pollers", **env)
            await wait_for(email="ok", x="ok", instagram="ok")
    finally:
        await runner.cleanup()
        fake.stop()
        own.stop()
