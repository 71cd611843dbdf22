"""Redis losing its data under the running processes (a restart without persistence, a failover to an empty replica,
a FLUSHDB): every view read OK once the processes beat again, while the queued jobs and the records that catch a
message delivered twice were gone (gateway/redis_epoch.py)."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from redis import Redis

from gateway.embedded_redis import EmbeddedRedis, redis_database
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.liveness import ServingBeat
from gateway.queues import redis_connection
from gateway.redis_epoch import DATA_LOST_KEY, DATA_LOST_SHOWN_SECONDS, EPOCH_FILE, EPOCH_KEY
from gateway.settings import CONFIG_DIR
from tests.conftest import TestEnvironment, log_events
from tests.test_faults import own_redis  # noqa: F401  (a fixture)
from tests.test_forwarding import cli


def status(redis: Redis) -> dict[str, object]:
    return HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status()


def test_a_process_starting_on_an_empty_redis_notes_no_loss(redis: Redis) -> None:
    """A new deployment, or a process started after another noticed: nothing was lost under it."""
    beat = ServingBeat(redis, "serve", ["sms-twilio"])
    assert beat.beat() and beat.beat()
    assert redis.get(EPOCH_KEY) and not redis.exists(DATA_LOST_KEY)
    document = status(redis)
    assert document["redis_data_lost"] is None and "lost its data" not in str(document["reason"])


def test_a_beat_after_redis_lost_its_data_says_so_in_the_log_and_on_every_view(
    redis: Redis, test_env: TestEnvironment, log_stream: io.StringIO
) -> None:
    gateway = ServingBeat(redis, "serve", ["sms-twilio", "sms-aggregator"])
    assert gateway.beat()
    redis.flushdb()  # as a restart without persistence leaves it
    assert gateway.beat()

    [lost] = [event for event in log_events(log_stream) if event["event"] == "redis.data_lost"]
    assert (lost["level"], lost["process"], lost["reason"]) == ("error", "serve", "epoch_changed")
    assert 0 < redis.ttl(DATA_LOST_KEY) <= DATA_LOST_SHOWN_SECONDS
    document = status(redis)
    assert document["overall"] == "degraded"
    assert document["redis_data_lost"]["by"].startswith("serve:")  # type: ignore[index]
    assert "Redis (lost its data at " in str(document["reason"])
    assert "DEL lapor:health:redis_data_lost" in str(document["reason"])

    shown = cli(test_env, "status", "--strict")
    assert shown.returncode == 1 and "Redis (lost its data at" in shown.stdout, shown.stdout + shown.stderr

    redis.delete(DATA_LOST_KEY)  # the operator's, once checked: the epoch stays, so nothing is noted again
    assert gateway.beat()
    assert status(redis)["redis_data_lost"] is None


def test_processes_noticing_one_loss_note_it_once_even_one_started_after_it(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """A process started after the loss writes the new epoch before the running ones beat: they still notice (the
    epoch is not theirs), and however many notice, one loss is noted, by the first."""
    smtp, pollers = ServingBeat(redis, "smtp", ["email"]), ServingBeat(redis, "pollers", ["x"])
    assert smtp.beat() and pollers.beat()
    redis.flushdb()
    assert ServingBeat(redis, "serve", ["sms-twilio"]).beat()  # started after the loss: notes none
    assert not redis.exists(DATA_LOST_KEY)
    assert smtp.beat() and pollers.beat()
    assert redis.hget(DATA_LOST_KEY, "by").decode().startswith("smtp:")  # type: ignore[union-attr]
    assert [event["process"] for event in log_events(log_stream) if event["event"] == "redis.data_lost"] == [
        "smtp", "pollers"]
    assert smtp.beat() and pollers.beat()  # said once each
    assert len([event for event in log_events(log_stream) if event["event"] == "redis.data_lost"]) == 2


def test_a_loss_cleared_by_the_operator_is_not_noted_again_by_a_process_that_beats_late(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """A process that saw the epoch before the loss and beats again only after the operator cleared it (frozen and
    resumed, cut off from Redis for a while), or after the day it is shown: the loss was noted again, with a new
    time, and every view degraded for another day for a loss already checked."""
    gateway, late = ServingBeat(redis, "serve", ["sms-aggregator"]), ServingBeat(redis, "smtp", ["email"])
    assert gateway.beat() and late.beat()
    redis.flushdb()
    assert gateway.beat()
    assert redis.exists(DATA_LOST_KEY)
    redis.delete(DATA_LOST_KEY)  # the operator's, once checked
    assert late.beat()
    assert not redis.exists(DATA_LOST_KEY) and status(redis)["redis_data_lost"] is None
    redis.flushdb()  # a second loss is noted again
    assert late.beat() and redis.exists(DATA_LOST_KEY)


def test_a_process_started_again_after_redis_lost_its_data_notices_it_by_the_epoch_its_host_kept(
    redis: Redis, tmp_path: Path, log_stream: io.StringIO
) -> None:
    """A host rebooted with its Redis (no persistence), or every process restarted after the loss: each began with
    nothing seen and noted nothing, the commonest loss missed. The epoch seen is kept in the data dir; a process on
    another host, or the first ever, has none and notes nothing."""
    assert ServingBeat(redis, "serve", ["sms-twilio"], data_dir=tmp_path).beat()
    epoch = redis.get(EPOCH_KEY)
    assert epoch is not None and kept_epoch(tmp_path) == {"redis": redis_database(redis), "epoch": epoch.decode()}
    redis.flushdb()  # the reboot: Redis back empty, the processes start again
    assert ServingBeat(redis, "serve", ["sms-twilio"], data_dir=tmp_path / "elsewhere").beat()  # another host's
    assert not redis.exists(DATA_LOST_KEY)
    again = ServingBeat(redis, "smtp", ["email"], data_dir=tmp_path)
    assert again.beat() and again.beat()
    assert redis.hget(DATA_LOST_KEY, "by").decode().startswith("smtp:")  # type: ignore[union-attr]
    assert [event["process"] for event in log_events(log_stream) if event["event"] == "redis.data_lost"] == ["smtp"]
    assert kept_epoch(tmp_path)["epoch"] == redis.get(EPOCH_KEY).decode()  # type: ignore[union-attr]


def kept_epoch(data_dir: Path) -> dict[str, str]:
    kept = orjson.loads((data_dir / EPOCH_FILE).read_bytes())
    assert isinstance(kept, dict)
    return kept


def test_processes_of_two_redis_servers_on_one_data_dir_note_no_loss_of_either(
    redis: Redis, own_redis: EmbeddedRedis, tmp_path: Path, log_stream: io.StringIO  # noqa: F811
) -> None:
    """Two deployments on one data dir (a dev run beside a test run, another Redis database), or one moved to
    another Redis: the epoch kept was the last process's, whatever Redis it read, and each start on the other noted a
    loss there, every view degraded a day for nothing lost. The epoch kept names its Redis and database."""
    other = redis_connection(own_redis.url)
    try:
        for _ in range(2):  # each starts again after the other
            for client, process in ((redis, "serve"), (other, "smtp")):
                started = ServingBeat(client, process, ["sms-twilio"], data_dir=tmp_path)
                assert started.beat() and started.beat()
        assert not redis.exists(DATA_LOST_KEY) and not other.exists(DATA_LOST_KEY)
        assert [event for event in log_events(log_stream) if event["event"] == "redis.data_lost"] == []
        other.flushdb()  # a loss of the Redis the data dir kept last is still noticed at a start
        again = ServingBeat(other, "smtp", ["email"], data_dir=tmp_path)
        assert again.beat() and other.exists(DATA_LOST_KEY)
    finally:
        other.close()
