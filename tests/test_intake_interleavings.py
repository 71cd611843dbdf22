"""Seeded interleavings of intake's commits and spool replays with Redis failing at each step of a commit: a claim or
a store not run, or run with its answer lost (Redis killed, or a hang that timed it out and ran it once it resumed);
and gateways restarted or killed between, on one spool directory. Deterministic by seed. Whatever the order, every
Tracking ID a message was answered with is stored under that message, and is its only report (any other the message
has names it, or it another, in `duplicate_of`). A provider's retry during an outage of a message committed before it
is still spooled under a new Tracking ID (linked so)."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from gateway.embedded_redis import EmbeddedRedis
from gateway.errors import NotDurable
from gateway.intake import Intake, build_intake
from gateway.queues import envelope_key, redis_connection
from gateway.settings import Settings
from tests.conftest import TestEnvironment
from tests.test_spool import draft

SEEDS = range(20)
FAULT_RATE = 0.15  # of each kind, at each claim and store


@pytest.fixture
def own_redis(tmp_path: Path) -> Any:
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


def failing(intake: Intake, rng: random.Random) -> Intake:
    """`intake` whose claims and stores fail at random: not run, or run with the answer lost."""
    for name in ("_claim_batch", "_store"):
        step = getattr(intake, name)

        def maybe_failing(*args: Any, step: Any = step, **kwargs: Any) -> Any:
            roll = rng.random()
            if roll < FAULT_RATE:
                raise RedisConnectionError("Connection refused.")
            result = step(*args, **kwargs)
            if roll < 2 * FAULT_RATE:
                raise RedisConnectionError("Connection closed by server.")
            return result

        setattr(intake, name, maybe_failing)
    return intake


def stop(intake: Intake, *, killed: bool) -> None:
    """The gateway's process stops (its reserve saved) or is killed: its files' locks go with it."""
    assert intake.spool is not None
    if not killed:
        intake.close()
    intake.spool.close()
    for handle in intake.spool._claimed.values():
        handle.close()


def gateway(settings: Settings, url: str, rng: random.Random) -> Intake:
    return failing(build_intake(settings, redis_connection(url, timeout=1)), rng)


@pytest.mark.parametrize("restarts", [False, True], ids=["one-gateway", "gateways-restarted-and-killed"])
@pytest.mark.parametrize("seed", SEEDS)
def test_every_answered_id_is_its_messages_one_report_whatever_fails(
    seed: int, restarts: bool, own_redis: EmbeddedRedis, test_env: TestEnvironment
) -> None:
    rng = random.Random(seed)
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_INTAKE_ID_RESERVE="200",
                                 LAPOR_INTAKE_FORWARD_LINGER_MS="0")
    intake = build_intake(settings, redis_connection(own_redis.url, timeout=1))
    intake.commit([draft("warm-up")])  # the reserve the spool gives out
    failing(intake, rng)
    answered: dict[str, set[str]] = defaultdict(set)
    steps = []
    for _ in range(60):
        roll = rng.random()
        if roll < 0.7:
            ids = [f"m{rng.randint(0, 15)}" for _ in range(rng.randint(1, 4))]
            steps.append(("commit", ids))
            try:
                receipts = intake.commit([draft(i, f"laporan {i}") for i in ids])
            except NotDurable:
                continue
            for message, receipt in zip(ids, receipts, strict=True):
                answered[message].add(receipt.tracking_id)
        elif roll < 0.85 or not restarts:
            steps.append(("replay", []))
            try:
                intake.replay_spool()
            except RedisError:
                pass
        else:
            killed = rng.random() < 0.5
            steps.append(("killed" if killed else "restarted", []))
            stop(intake, killed=killed)
            intake = gateway(settings, own_redis.url, rng)
    stop(intake, killed=False)
    final = build_intake(settings, redis_connection(own_redis.url, timeout=1))  # Redis answering for good
    try:
        final.replay_spool()
    finally:
        final.close()
    redis = Redis.from_url(own_redis.url)
    stored = {envelope["tracking_id"]: envelope
              for envelope in (orjson.loads(redis.get(key)) for key in redis.scan_iter(envelope_key("*")))}
    for message, tracking_ids in answered.items():
        for tracking_id in tracking_ids:
            assert tracking_id in stored, (seed, message, tracking_id, steps)
            assert stored[tracking_id]["channel_message_id"] == message, (seed, message, tracking_id, steps)
    reports: dict[str, list[str]] = defaultdict(list)
    for tracking_id, envelope in stored.items():
        if not envelope.get("duplicate_of"):
            reports[envelope["channel_message_id"]].append(tracking_id)
    assert all(len(ids) == 1 for ids in reports.values()), (seed, dict(reports), steps)
