"""The committer's linger: reports are durable and answered at once, their forward jobs come together a moment
later, and nothing held is ever lost or released twice (another gateway, a worker's reaper, a dead gateway)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from redis import Redis

from gateway.intake import Intake, dedup_key
from gateway.queues import FORWARD_QUEUE, HELD_FORWARD_KEY, envelope_key, queue, release_held_forwards
from gateway.settings import Settings
from gateway.supervisor import hold_data_dir
from gateway.tls import tls_context
from tests.cli_process import run_cli
from tests.conftest import (
    REPO_ROOT,
    CaseStoreServer,
    GatewayServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    wait_until,
)
from tests.test_faults import _ready, send_stream
from tests.test_spool import draft
from workers.reaper import HeldForwardWatch


def forward_jobs(redis: Redis) -> list[list[str]]:
    return [list(job.args[0]) for job in queue(FORWARD_QUEUE, redis).get_jobs()]


@pytest.fixture
def make_intake(redis: Redis, test_env: TestEnvironment) -> Iterator[Callable[[int], Intake]]:
    made: list[Intake] = []

    def make(linger_ms: int) -> Intake:
        intake = Intake(redis, test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS=str(linger_ms)))
        made.append(intake)
        return intake

    yield make
    for intake in made:
        intake.close()


async def test_a_trickle_is_answered_at_once_and_forwarded_in_one_job(
    make_intake: Callable[[int], Intake], redis: Redis
) -> None:
    # A linger long enough for eight commits on a loaded machine (at 300 ms a full run beside other work let it
    # pass before the eighth, and the job went out early).
    intake = make_intake(2000)
    receipts = []
    for index in range(8):  # one at a time, as a trickle arrives: eight commits
        receipts.append(await intake.submit(draft(f"trickle-{index}")))
        # Durable before the answer: envelope stored, claim committed, ID held.
        assert redis.exists(envelope_key(receipts[-1].tracking_id))
        assert redis.hget(dedup_key("sms", f"trickle-{index}"), "state") == b"committed"
    ids = [receipt.tracking_id for receipt in receipts]
    assert forward_jobs(redis) == []  # within the linger: no job yet
    assert [raw.decode() for raw in redis.lrange(HELD_FORWARD_KEY, 0, -1)] == ids

    await async_wait_until(lambda: forward_jobs(redis), timeout=10)
    assert forward_jobs(redis) == [ids]  # one job for the eight, in order
    assert redis.llen(HELD_FORWARD_KEY) == 0


async def test_without_a_linger_every_commit_is_its_own_job_at_once(
    make_intake: Callable[[int], Intake], redis: Redis
) -> None:
    intake = make_intake(0)
    first = await intake.submit(draft("direct-1"))
    assert forward_jobs(redis) == [[first.tracking_id]]
    second = await intake.submit(draft("direct-2"))
    assert forward_jobs(redis) == [[first.tracking_id], [second.tracking_id]]
    assert redis.llen(HELD_FORWARD_KEY) == 0


async def test_held_ids_are_released_once_max_batch_are_held_without_waiting_for_the_linger(
    redis: Redis, test_env: TestEnvironment
) -> None:
    intake = Intake(redis, test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="60000", LAPOR_INTAKE_MAX_BATCH="5"))
    try:
        receipts = await asyncio.gather(*(intake.submit(draft(f"full-{i}")) for i in range(5)))
        await async_wait_until(lambda: forward_jobs(redis), timeout=3)
        assert sorted(forward_jobs(redis)[0]) == sorted(r.tracking_id for r in receipts)
    finally:
        intake.close()


def test_closing_the_intake_releases_what_it_holds(make_intake: Callable[[int], Intake], redis: Redis) -> None:
    intake = make_intake(60000)
    receipt = asyncio.run(intake.submit(draft("at-shutdown")))
    assert forward_jobs(redis) == []
    intake.close()
    assert forward_jobs(redis) == [[receipt.tracking_id]]


def test_concurrent_releases_put_every_held_id_in_exactly_one_job(redis: Redis, settings: Settings) -> None:
    """Two gateways (threads here) push and release the one held list at the same time."""
    pushed = [f"{1000000 + n}" for n in range(600)]
    stop = threading.Event()

    def push() -> None:
        for start in range(0, len(pushed), 3):
            redis.rpush(HELD_FORWARD_KEY, *pushed[start:start + 3])
        stop.set()

    def release() -> None:
        while not stop.is_set():
            release_held_forwards(redis, settings)

    threads = [threading.Thread(target=push), threading.Thread(target=release), threading.Thread(target=release)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    while redis.llen(HELD_FORWARD_KEY):
        release_held_forwards(redis, settings)
    released = [tid for job in forward_jobs(redis) for tid in job]
    assert sorted(released) == sorted(pushed)  # each once: nothing lost, nothing twice
    assert all(len(job) <= settings.intake.max_batch for job in forward_jobs(redis))


def test_a_workers_watch_releases_ids_that_no_gateway_released(redis: Redis, settings: Settings) -> None:
    watch = HeldForwardWatch(redis, settings)
    assert watch.check() == 0  # nothing held
    redis.rpush(HELD_FORWARD_KEY, "10000011", "10000026")
    assert watch.check() == 0  # seen once: a live gateway would release it within its linger
    assert forward_jobs(redis) == []
    assert watch.check() == 2  # still there a pass later: its gateway is gone
    assert forward_jobs(redis) == [["10000011", "10000026"]]
    redis.rpush(HELD_FORWARD_KEY, "10000034")
    assert watch.check() == 0  # a new head: counted from now


async def test_a_burst_worker_started_by_hand_finds_the_embedded_redis_and_drains_what_is_held(
    make_intake: Callable[[int], Intake], test_env: TestEnvironment, casestore: CaseStoreServer, redis: Redis
) -> None:
    """`lapor-gateway worker --burst` run from the repository while `make run` runs: no REDIS_URL, so the worker
    finds the embedded Redis through `<data dir>/redis/url` as every other CLI command does (its supervisor holding
    the data dir's lock), and forwards what a gateway holds."""
    receipt = await make_intake(600_000).submit(draft("by-hand"))
    env = test_env.process_env()
    url_file = test_env.settings().data_dir / "redis" / "url"
    url_file.parent.mkdir(parents=True)
    url_file.write_text(env.pop("REDIS_URL") + "\n")
    with hold_data_dir(test_env.settings().data_dir, wait=0):  # as the running supervisor does
        result = run_cli(["worker", "--queues", FORWARD_QUEUE, "--burst"], env, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert casestore.get(receipt.tracking_id) is not None
    assert redis.llen(HELD_FORWARD_KEY) == 0


@pytest.mark.xdist_group("faults")
async def test_reports_held_by_a_gateway_killed_before_its_linger_reach_the_case_store(
    test_env: TestEnvironment, casestore: CaseStoreServer, start_process: Callable[..., ProcessHandle],
    redis: Redis,
) -> None:
    """SIGKILL the gateway right after it answered, with every forward still held: a worker releases them."""
    settings = test_env.settings()
    gateway = start_process("serve", LAPOR_INTAKE_FORWARD_LINGER_MS="600000")
    wait_until(lambda: _ready(settings.public_url), timeout=30)
    async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=15) as client:
        acknowledged = await send_stream(GatewayServer(url=settings.public_url, settings=settings, client=client),
                                         20, prefix="held")
    assert redis.llen(HELD_FORWARD_KEY) == 20 and forward_jobs(redis) == []
    gateway.process.kill()
    gateway.process.wait()
    started = time.monotonic()
    start_process("worker", "--queues", "lapor-forward")
    await async_wait_until(lambda: all(casestore.get(t) for t in acknowledged.values()), timeout=30)
    assert casestore.store.count() == 20
    assert redis.llen(HELD_FORWARD_KEY) == 0
    print(f"\nfigures: 20 held reports of a killed gateway stored {time.monotonic() - started:.1f} s after a worker"
          " started")



def test_no_release_is_tried_while_intake_is_spooling(make_intake: Callable[[int], Intake], redis: Redis) -> None:
    """Redis known down: the committer does not also wait on a release (a hung Redis would stall it twice)."""
    intake = make_intake(100)
    redis.rpush(HELD_FORWARD_KEY, "10000011")
    intake._spooling = True
    intake.release_held()
    assert forward_jobs(redis) == [] and redis.llen(HELD_FORWARD_KEY) == 1
    intake._spooling = False
    intake.release_held()
    assert forward_jobs(redis) == [["10000011"]]


async def test_the_committer_survives_an_unexpected_error_and_keeps_answering(
    make_intake: Callable[[int], Intake], redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = make_intake(100)
    calls = {"n": 0}
    original = intake._release_due_in

    def fails_once() -> float | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug")
        return original()

    monkeypatch.setattr(intake, "_release_due_in", fails_once)
    receipt = await asyncio.wait_for(intake.submit(draft("after-a-bug")), timeout=5)
    assert redis.exists(envelope_key(receipt.tracking_id))
    assert calls["n"] > 1
