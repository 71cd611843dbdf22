"""Break real processes and prove that every acknowledged Tracking ID reaches the case store exactly once.

Marked `fault`: still part of `make test`. The outage of the case store lasts LAPOR_TEST_OUTAGE_SECONDS
(default 60, the duration the guarantees are stated for).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import httpx
import orjson
import pytest
from aiohttp import web
from redis import Redis

from casestore.app import create_casestore_app
from gateway.embedded_redis import EmbeddedRedis
from gateway.queues import FORWARD_QUEUE, envelope_key, queue
from gateway.tls import tls_context
from tests.conftest import (
    CASESTORE_TOKEN,
    CaseStoreServer,
    GatewayServer,
    LoopbackServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    twilio_sid,
    wait_until,
)

# One xdist group: the fault tests load the machine heavily and must not overlap each other.
pytestmark = [pytest.mark.fault, pytest.mark.timeout(300), pytest.mark.xdist_group("faults")]

TWILIO_PATH = "/v1/channels/sms/twilio"
OUTAGE_SECONDS = float(os.environ.get("LAPOR_TEST_OUTAGE_SECONDS", "60"))
TRACKING_ID = re.compile(r"Nomor lacak: (\d+)")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=0.5, verify=tls_context()).status_code == 200
    except httpx.HTTPError:
        return False


async def send_stream(server: GatewayServer, count: int, *, prefix: str, concurrency: int = 16,
                      on_ack: Callable[[int], None] | None = None) -> dict[str, str]:
    """Send `count` signed SMS webhooks; retry a 5xx like an aggregator would. MessageSid -> acknowledged ID.

    Sent through aiohttp's client rather than the server's httpx one: sixteen at a time, httpx's connection pool took
    about 3 ms of this process's CPU a request, ten times aiohttp's (3 s for the thousand webhooks of a test)."""
    acknowledged: dict[str, str] = {}
    pending: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        pending.put_nowait(index)

    async def sender(session: aiohttp.ClientSession) -> None:
        while not pending.empty():
            index = pending.get_nowait()
            sid = twilio_sid(f"{prefix}-{index}")
            # Words of their own per stream: the same text from one number within the window is one report. A number
            # of its own per message: past `twilio.flood_replies_per_minute` from one number the answer is empty,
            # and carries no Tracking ID to check.
            form = server.twilio_form(MessageSid=sid, Body=f"Laporan {prefix} nomor {index}",
                                      From=f"+62812345{index:05d}")
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": server.twilio_signature(form)}
            for _attempt in range(400):
                try:
                    async with session.post(TWILIO_PATH, data=urlencode(form), headers=headers) as response:
                        status, text = response.status, await response.text()
                except (aiohttp.ClientError, TimeoutError):  # refused, reset, or no answer in time
                    await asyncio.sleep(0.05)
                    continue
                if status == 200:
                    acknowledged[sid] = TRACKING_ID.search(text).group(1)  # type: ignore[union-attr]
                    if on_ack:
                        on_ack(len(acknowledged))
                    break
                assert status >= 500, text
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{sid} never acknowledged")

    async with aiohttp.ClientSession(server.url, timeout=aiohttp.ClientTimeout(total=15)) as session:
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
    return acknowledged


def assert_exactly_once(
    casestore: CaseStoreServer, acknowledged: dict[str, str], *, answers_lost_with_redis: bool = False
) -> None:
    """Every acknowledged Tracking ID is stored once, under its own message, and nothing else is stored.

    With `answers_lost_with_redis` one exception is allowed: a message whose commit reached Redis just as Redis was
    killed, so its answer was lost and the citizen was given a spooled ID instead. Both IDs are then stored, and the
    acknowledged one names the other in `duplicate_of` (design: the spooled ID is never dropped)."""
    reports = casestore.reports()
    stored = [r["tracking_id"] for r in reports]
    assert len(stored) == len(set(stored)), "a Tracking ID was stored twice"
    by_id = {r["tracking_id"]: r for r in reports}
    for sid, tracking_id in acknowledged.items():
        assert tracking_id in by_id, f"acknowledged {tracking_id} ({sid}) is not stored"
        assert by_id[tracking_id]["channel_message_id"] == sid
    extras = set(stored) - set(acknowledged.values())
    if not answers_lost_with_redis:
        assert not extras, f"stored but never acknowledged: {sorted(extras)}"
        assert all(r.get("duplicate_of") is None for r in reports)
        return
    linked = {by_id[t].get("duplicate_of") for t in acknowledged.values()} - {None}
    assert extras <= linked, f"stored, never acknowledged and named by no duplicate: {sorted(extras - linked)}"
    for extra in extras:
        (sid,) = [s for s, t in acknowledged.items() if by_id[t].get("duplicate_of") == extra]
        assert by_id[extra]["channel_message_id"] == sid


def all_stored(casestore: CaseStoreServer, acknowledged: dict[str, str]) -> bool:
    return all(casestore.store.get(tracking_id) is not None for tracking_id in acknowledged.values())


@pytest.fixture
def own_redis(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", appendfsync=getattr(request, "param", "everysec")).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("own_redis", "how"),
    [pytest.param("everysec", "stop", id="aof-everysec-clean-stop"),
     pytest.param("always", "kill", id="aof-always-sigkill")],
    indirect=["own_redis"],
)
async def test_a_thousand_webhooks_while_redis_stops_and_restarts(
    own_redis: EmbeddedRedis, how: str, test_env: TestEnvironment, casestore: CaseStoreServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    settings = test_env.settings(REDIS_URL=own_redis.url)
    gateway = start_process("serve", REDIS_URL=own_redis.url)
    worker = start_process("worker", REDIS_URL=own_redis.url)
    wait_until(lambda: _ready(settings.public_url), timeout=30)
    acks_during_outage: list[int] = []
    outage = {"down": False}
    # Redis breaks after the 300th answer, not after a fixed time: on a loaded machine a timer could fire after the
    # last webhook, and the outage would test nothing.
    three_hundred_answered = asyncio.Event()

    def on_ack(total: int) -> None:
        if total >= 300:
            three_hundred_answered.set()
        if outage["down"]:
            acks_during_outage.append(total)

    async def break_redis() -> None:
        await asyncio.wait_for(three_hundred_answered.wait(), timeout=60)
        own_redis.kill() if how == "kill" else own_redis.stop()
        outage["down"] = True
        await asyncio.sleep(2.0)
        outage["down"] = False
        own_redis.start()

    started = time.monotonic()
    async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=15) as client:
        server = GatewayServer(url=settings.public_url, settings=settings, client=client)
        breaker = asyncio.create_task(break_redis())
        acknowledged = await send_stream(server, 1000, prefix=how, on_ack=on_ack)
        await breaker
    answered_in = time.monotonic() - started

    assert len(acknowledged) == 1000
    assert len(set(acknowledged.values())) == 1000
    assert acks_during_outage, "no citizen was answered while Redis was down"
    assert "intake.spooling" in gateway.output()
    try:
        await async_wait_until(lambda: all_stored(casestore, acknowledged), timeout=60)
    except AssertionError:
        raise AssertionError(
            f"stored {casestore.store.count()} of 1000\nGATEWAY:\n{gateway.output()[-3000:]}\n"
            f"WORKER:\n{worker.output()[-3000:]}"
        ) from None
    assert_exactly_once(casestore, acknowledged, answers_lost_with_redis=True)
    assert worker.process.poll() is None
    print(f"\nfigures[{how}]: 1000 answered in {answered_in:.1f} s, {len(acks_during_outage)} while Redis was down,"
          f" all stored {time.monotonic() - started:.1f} s after the first")


async def test_while_redis_hangs_webhooks_are_answered_from_the_spool_workers_say_so_and_all_are_stored_once(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, casestore: CaseStoreServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """A Redis that accepts connections but never answers (a stalled host, a long fork): the gateway counts it down
    after its short timeout once (intake.redis_timeout_seconds), then answers from the spool at once, until the spool
    replayer finds Redis answering again. The forward worker says so within its liveness timeout (before, nothing for
    minutes), and every acknowledged report reaches the case store once."""
    settings = test_env.settings(REDIS_URL=own_redis.url)
    gateway = start_process("serve", REDIS_URL=own_redis.url)
    worker = start_process("worker", "--queues", FORWARD_QUEUE, REDIS_URL=own_redis.url,
                           LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS="0.5")
    wait_until(lambda: _ready(settings.public_url), timeout=30)
    wait_until(lambda: '"worker.ready"' in worker.output(), timeout=30)
    answered_in: list[float] = []
    acknowledged: dict[str, str] = {}
    async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=30) as client:
        server = GatewayServer(url=settings.public_url, settings=settings, client=client)

        async def send(sid: str) -> None:
            started = time.monotonic()
            # Each a report of its own: another text (the same SMS sent again would be one report).
            response = await server.post_twilio(server.twilio_form(MessageSid=sid, SmsSid=sid,
                                                                   Body=f"Jalan rusak {sid}"))
            answered_in.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            acknowledged[sid] = TRACKING_ID.search(response.text).group(1)  # type: ignore[union-attr]

        await send(twilio_sid("hang-0"))  # Redis answers: this also leases the reserve the spool draws on
        pid = own_redis.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            for index in range(1, 5):
                await send(twilio_sid(f"hang-{index}"))
            await async_wait_until(lambda: '"worker.redis_lost"' in worker.output(), timeout=5)
        finally:
            os.kill(pid, signal.SIGCONT)
    assert "intake.spooling" in gateway.output()
    first_in_hang, *after = answered_in[1:]
    # The command waits out the 2 s once (a provider such as Twilio waits 15 s); before, its retry and the retry's
    # new connection waited them out again: 4 s and more.
    assert first_in_hang < 3.5, answered_in
    assert max(after) < 2, answered_in  # straight to the spool; before, each waited out the timeouts again
    redis = Redis.from_url(own_redis.url)
    try:
        await async_wait_until(lambda: all(redis.exists(envelope_key(t)) for t in acknowledged.values()), timeout=30)
    finally:
        redis.close()
    await async_wait_until(lambda: "intake.redis_back" in gateway.output(), timeout=10)
    assert len(set(acknowledged.values())) == 5
    stored = lambda: {r["tracking_id"] for r in casestore.reports()}  # noqa: E731
    await async_wait_until(lambda: set(acknowledged.values()) <= stored(), timeout=30)
    # The first commit in the hang was taken into the paused Redis's socket all the same and ran when it resumed: that
    # message is also stored under the ID it was never given, which its spooled one names (duplicate_of).
    assert_exactly_once(casestore, acknowledged, answers_lost_with_redis=True)
    # The worker's liveness thread says Redis is back at its next beat, which on a loaded machine may come after the
    # forwards the main loop made.
    await async_wait_until(lambda: '"worker.redis_back"' in worker.output(), timeout=10)
    lines = [orjson.loads(line) for line in worker.output().splitlines() if '"worker.redis' in line]
    assert [(e["event"], e.get("reason")) for e in lines] == [("worker.redis_lost", "not_answering"),
                                                             ("worker.redis_back", None)]


# Its own group: it spends its minute waiting for the outage to end, and so was a minute more of the one process
# that runs the fault group, the suite's longest chain; the little load it puts on the machine overlaps no timing.
@pytest.mark.xdist_group("faults-waiting")
async def test_the_case_store_down_for_a_minute_and_back(
    gateway: GatewayServer, casestore: CaseStoreServer, start_process: Callable[..., ProcessHandle]
) -> None:
    start_process("worker")
    first = await send_stream(gateway, 50, prefix="before")
    await async_wait_until(lambda: casestore.store.count() == 50, timeout=20)
    casestore.stop()
    started = time.monotonic()
    during = await send_stream(gateway, 200, prefix="during")
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
    assert casestore.store.count() == 50
    casestore.start()
    back = time.monotonic()
    await async_wait_until(lambda: casestore.store.count() >= 250, timeout=60)
    assert_exactly_once(casestore, {**first, **during})
    print(f"\nfigures[casestore]: backlog of 200 stored {time.monotonic() - back:.1f} s after the case store returned")


async def answer_late(request: web.Request, seconds: float) -> None:
    """Wait `seconds` before a case store answers, or until its client gave up (its connection closed): a case store
    slower than the worker. A test's server stopped (`LoopbackServer.stop`) waits for each answer in flight, and a
    stall the worker gave up on a second into it kept the test waiting out the rest."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0 and request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(min(0.05, left))


def slow_case_store(store_server: CaseStoreServer, delay: float) -> Callable[[], web.Application]:
    """The reference case store behind a slow network: every write takes `delay` seconds to be answered."""

    def factory() -> web.Application:
        @web.middleware
        async def slow(request: web.Request, handler: Callable[..., object]) -> web.StreamResponse:
            if request.method == "POST":
                await answer_late(request, delay)
            return await handler(request)  # type: ignore[misc,no-any-return]

        app = create_casestore_app(store_server.store, CASESTORE_TOKEN)
        app.middlewares.insert(0, slow)
        return app

    return factory


async def test_a_worker_killed_mid_job_loses_nothing(
    gateway: GatewayServer, casestore: CaseStoreServer, start_process: Callable[..., ProcessHandle],
    redis: Redis, test_env: TestEnvironment,
) -> None:
    casestore.stop()
    slow = LoopbackServer(slow_case_store(casestore, delay=3.0), casestore.port)
    slow.start()
    try:
        acknowledged = await send_stream(gateway, 40, prefix="kill")
        victim = start_process("worker", "--queues", "lapor-forward")
        started = queue(FORWARD_QUEUE, redis).started_job_registry
        await async_wait_until(lambda: started.count > 0, timeout=20)  # the worker is busy posting
        victim.stop(signal.SIGKILL)
        killed = time.monotonic()
        slow.stop()  # the network recovers: only the reaper stands between the lost job and the case store
        casestore.start()
        survivor = start_process("worker", "--queues", "lapor-forward")
        try:
            await async_wait_until(lambda: casestore.store.count() >= 40, timeout=60)
        except AssertionError:
            forward = queue(FORWARD_QUEUE, redis)
            missing = set(acknowledged.values()) - {r["tracking_id"] for r in casestore.reports()}
            state = {
                "missing": sorted(missing), "queued": forward.count,
                "started": forward.started_job_registry.get_job_ids(cleanup=False),
                "scheduled": forward.scheduled_job_registry.get_job_ids(),
                "failed": forward.failed_job_registry.get_job_ids(),
                "intermediate": redis.lrange(forward.intermediate_queue_key, 0, -1),
                "jobs": {j.id: (j.args, j.get_status()) for j in
                         [forward.fetch_job(i) for i in forward.failed_job_registry.get_job_ids()
                          + forward.started_job_registry.get_job_ids(cleanup=False)] if j},
            }
            raise AssertionError(f"stored {casestore.store.count()}: {state}") from None
        assert_exactly_once(casestore, acknowledged)
        assert "worker.job_reaped" in survivor.output()
        print(f"\nfigures[sigkill]: all 40 stored {time.monotonic() - killed:.1f} s after the kill")
    finally:
        slow.stop()
        casestore.stop()
