"""A health check collects the metrics once, and a /metrics scrape renders that same collection: each collection
of every family (multiprocess: reading and merging every process's files) is paid once, and what is shown is
unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
    multiprocess,
)
from redis import Redis

from gateway import metrics
from gateway.app import GATEWAY_KEY, create_app
from gateway.health.monitor import HealthMonitor
from gateway.health.signals import HealthSignals
from gateway.queues import FORWARD_FUNC, FORWARD_QUEUE
from gateway.settings import Settings
from tests.conftest import REPO_ROOT
from tests.test_status_views import value
from workers.deadletters import DeadLetters

Operation = Callable[[web.Application], Awaitable[object]]


def monitor_of(app: web.Application) -> HealthMonitor:
    monitor = app[GATEWAY_KEY].monitor
    assert monitor is not None
    return monitor


async def health_check(app: web.Application) -> object:
    """What the health loop (and its heartbeat) runs every few seconds."""
    return monitor_of(app).check()


async def status_read(app: web.Application) -> object:
    """What `lapor-gateway status` runs: nothing recorded, the counters from the last check."""
    return monitor_of(app).status()


def scrape(path: str) -> Operation:
    """A GET of `path` through the app's own route, without a server (so no health loop runs alongside)."""

    async def get(app: web.Application) -> web.StreamResponse:
        request = make_mocked_request("GET", path, app=app)
        match = await app.router.resolve(request)
        response = await match.handler(request)
        assert response.status == 200, response
        return response

    return get


def count_collections(monkeypatch: pytest.MonkeyPatch, collector: type) -> list[object]:
    """Every call of `collector.collect` from now on, by the instance collected."""
    calls: list[object] = []
    original = collector.collect

    def counting_collect(self: object) -> object:
        calls.append(self)
        return original(self)

    monkeypatch.setattr(collector, "collect", counting_collect)
    return calls


@pytest.mark.parametrize(
    ("multiprocess_mode", "collector"),
    [
        pytest.param(False, CollectorRegistry, id="one-process"),
        pytest.param(True, CollectorRegistry, id="multiprocess-registry"),
        pytest.param(True, multiprocess.MultiProcessCollector, id="multiprocess-file-merge"),
    ],
)
@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(health_check, id="check"),
        pytest.param(status_read, id="status-read"),
        pytest.param(scrape("/metrics"), id="metrics-scrape"),
        pytest.param(scrape("/v1/status"), id="status-json"),
        pytest.param(scrape("/status"), id="status-page"),
    ],
)
async def test_each_check_and_each_scrape_collects_the_metrics_once(
    operation: Operation, multiprocess_mode: bool, collector: type, settings: Settings, redis: Redis,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Counted where the cost is: a registry's collection, and (multiprocess) the merge of every process's files.
    A check used to collect twice (channel counters, then the case-store latency) and a scrape three times."""
    if multiprocess_mode:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    else:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    app = create_app(settings, redis)
    collections = count_collections(monkeypatch, collector)
    await operation(app)
    assert len(collections) == 1


def add_dead_letters(redis: Redis, count: int) -> None:
    registry = DeadLetters(redis)
    for index in range(count):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[f"3{index:07d}"]],
                         tracking_id=f"3{index:07d}", item=f"3{index:07d}", reason="casestore_422",
                         detail="refused", channel="email")


def fail_authentication(redis: Redis, count: int) -> None:
    for _ in range(count):
        HealthSignals(redis).auth_failed("email", "401 Unauthorized")  # on in the tests' settings (X is off)


@pytest.mark.parametrize(
    ("arrange", "sample", "labels", "expected"),
    [
        pytest.param(lambda redis: add_dead_letters(redis, 4), "lapor_deadletters_waiting", {}, 4.0,
                     id="deadletters-waiting"),
        pytest.param(lambda redis: fail_authentication(redis, 3), "lapor_channel_state", {"channel": "email"}, 2.0,
                     id="channel-state"),
    ],
)
async def test_a_scrape_shows_the_gauges_its_own_check_just_set(
    arrange: Callable[[Redis], None], sample: str, labels: dict[str, str], expected: float,
    settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one collection comes after the check sets its gauges, not before: no value a check behind."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    app = create_app(settings, redis)
    await health_check(app)  # the gauge as it was
    arrange(redis)
    response = await scrape("/metrics")(app)
    assert isinstance(response, web.Response)
    assert value(response.text, sample, **labels) == expected


# -- One collection, rendered and read as the registry would be ----------------------------------------------------
def with_labelled_counter(registry: CollectorRegistry) -> None:
    counter = Counter("lapor_test_received", "Received.", ["channel", "reason"], registry=registry)
    counter.labels("sms-twilio", "signature_invalid").inc(3)
    counter.labels("x", 'a "quoted"\nreason\\').inc()


def with_gauges(registry: CollectorRegistry) -> None:
    Gauge("lapor_test_depth", "Depth.", ["queue"], registry=registry).labels("lapor-forward").set(7)
    Gauge("lapor_test_size", "Size.", registry=registry).set(0.25)
    Gauge("lapor_test_unset", "Never set.", registry=registry)


def with_histogram_and_summary(registry: CollectorRegistry) -> None:
    histogram = Histogram("lapor_test_seconds", "Latency.", ["channel"], buckets=(0.01, 0.1, 1), registry=registry)
    for seconds in (0.005, 0.05, 0.5, 5):
        histogram.labels("email").observe(seconds)
    Summary("lapor_test_bytes", "Sizes.", registry=registry).observe(512)


def with_info(registry: CollectorRegistry) -> None:
    Info("lapor_test_build", "Build.", registry=registry).info({"version": "1.2.3"})


@pytest.mark.parametrize(
    "fill",
    [
        pytest.param(with_labelled_counter, id="labelled-counter-escaped"),
        pytest.param(with_gauges, id="gauges"),
        pytest.param(with_histogram_and_summary, id="histogram-and-summary"),
        pytest.param(with_info, id="info"),
        pytest.param(lambda registry: None, id="empty"),
    ],
)
def test_rendering_one_collection_is_byte_for_byte_rendering_the_registry(
    fill: Callable[[CollectorRegistry], None],
) -> None:
    registry = CollectorRegistry()
    fill(registry)
    collected = metrics.collect_metrics(registry)
    expected = (generate_latest(registry), CONTENT_TYPE_LATEST)
    assert metrics.render_metrics(collected) == expected
    assert metrics.render_metrics(collected) == expected  # a collection renders again: not a spent generator


Increment = tuple[str, dict[str, str], int]


def counted(increments: list[Increment]) -> metrics.CollectedMetrics:
    """A collection after `increments` of (counter name without _total, labels, amount)."""
    registry = CollectorRegistry()
    counters: dict[str, Counter] = {}
    for name, labels, amount in increments:
        if name not in counters:
            counters[name] = Counter(name, name, sorted(labels), registry=registry)
        counter = counters[name]
        if labels:
            counter.labels(**labels).inc(amount)
        else:
            counter.inc(amount)
    return metrics.collect_metrics(registry)


def channel(**counts: object) -> dict[str, object]:
    return {**metrics.empty_counters(), **counts}


@pytest.mark.parametrize(
    ("increments", "expected"),
    [
        pytest.param([], {}, id="nothing-counted"),
        pytest.param(
            [("lapor_messages_received", {"channel": "x-mentions"}, 2),
             ("lapor_messages_received", {"channel": "twitter"}, 1),
             ("lapor_messages_accepted", {"channel": "sms-twilio"}, 4)],
            {"x": channel(received=3), "sms-twilio": channel(accepted=4)},
            id="sources-add-up-under-their-channel",
        ),
        pytest.param(
            [("lapor_messages_rejected", {"channel": "email-smtp", "reason": "too_large"}, 2),
             ("lapor_messages_rejected", {"channel": "email-imap", "reason": "spam"}, 1)],
            {"email": channel(rejected=3, rejected_by_reason={"too_large": 2, "spam": 1})},
            id="rejected-by-reason",
        ),
        pytest.param(
            [("lapor_messages_received", {"channel": "email-smtp"}, 1),
             ("lapor_reports_forwarded", {"channel": "email-smtp"}, 1),
             ("lapor_reports_forwarded", {"channel": "email-quarantine"}, 1)],
            {"email": channel(received=1, forwarded=2)},
            id="reprocessed-quarantined-mail-is-email",
        ),
        pytest.param(
            [("lapor_replies", {"channel": "sms-aggregator", "outcome": "sent"}, 2),
             ("lapor_replies", {"channel": "sms-aggregator", "outcome": "outbox"}, 1),
             ("lapor_replies", {"channel": "sms-aggregator", "outcome": "failed"}, 1),
             ("lapor_replies", {"channel": "sms-aggregator", "outcome": "held"}, 4),  # flood control: no answer went
             ("lapor_replies", {"channel": "sms-aggregator", "outcome": "skipped"}, 5)],
            {"sms-aggregator": channel(replies_sent=3, replies_failed=1, replies_held=4)},
            id="reply-outcomes",
        ),
        # Left out past the account's hourly cap (another bot answering each reply of ours): held too, where only
        # `reply.capped` and /metrics said it.
        pytest.param(
            [("lapor_replies", {"channel": "x", "outcome": "sent"}, 2),
             ("lapor_replies", {"channel": "x", "outcome": "capped"}, 7),
             ("lapor_replies", {"channel": "email", "outcome": "capped"}, 1),
             ("lapor_replies", {"channel": "email", "outcome": "own_address"}, 3)],
            {"x": channel(replies_sent=2, replies_held=7), "email": channel(replies_held=1)},
            id="capped-replies-are-held",
        ),
        pytest.param(
            [("lapor_attachment_forwarded_not_fetched", {"channel": "x-mentions", "reason": "http_404"}, 2),
             ("lapor_attachment_forwarded_not_fetched", {"channel": "twitter", "reason": "timeout"}, 1),
             ("lapor_attachment_fetches", {"outcome": "held", "reason": "http_5xx"}, 4)],  # a try, not a loss
            {"x": channel(attachments_not_fetched=3, attachments_not_fetched_by_reason={"http_404": 2, "timeout": 1})},
            id="files-the-case-store-took-without-by-reason",
        ),
        pytest.param(
            [("lapor_spooled", {}, 2), ("lapor_queries", {"channel": "x", "action": "help"}, 1)],
            {}, id="other-counters-ignored",
        ),
    ],
)
def test_channel_counters_come_from_the_collection(increments: list[Increment], expected: dict[str, object]) -> None:
    assert metrics.channel_counters(counted(increments)) == expected


@pytest.mark.parametrize(
    ("latency", "expected"),
    [
        pytest.param(0.125, 0.125, id="set"),
        pytest.param(None, None, id="absent"),  # multiprocess, before any process set it
    ],
)
def test_a_gauge_value_comes_from_the_collection(latency: float | None, expected: float | None) -> None:
    registry = CollectorRegistry()
    if latency is not None:
        Gauge("lapor_casestore_latency_seconds", "Latency.", registry=registry).set(latency)
    assert metrics.gauge_value(metrics.collect_metrics(registry), "lapor_casestore_latency_seconds") == expected


SET_QUEUE_DEPTH = ("import sys; from gateway import metrics; "
                   "metrics.QUEUE_DEPTH.labels('lapor-forward').set(int(sys.argv[1])); "
                   "print([s.value for f in metrics.collect_metrics().families for s in f.samples "
                   "if s.name == 'lapor_queue_depth'])")


def test_a_dead_gateways_queue_depth_does_not_outlive_it(tmp_path: Path) -> None:
    """Gateways behind a balancer share one PROMETHEUS_MULTIPROC_DIR, and a restart policy restarts one that died
    without emptying it: the depth its last check saw (a backlog since drained) must not stay the one shown."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    died = subprocess.run([sys.executable, "-c", SET_QUEUE_DEPTH, "5000"], env=env, capture_output=True, text=True,
                          check=True)
    assert died.stdout.strip() == "[5000.0]"
    restarted = subprocess.run([sys.executable, "-c", SET_QUEUE_DEPTH, "3"], env=env, capture_output=True, text=True,
                               check=True)
    assert restarted.stdout.strip() == "[3.0]", restarted.stdout + restarted.stderr
