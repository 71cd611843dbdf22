"""A reply, a status job or a dead letter written into a caller's transaction is logged and counted only once that
transaction commits: an EXEC that fails leaves no `reply.queued` for a reply that never existed, and one tried again
after a WatchError tells of its reply once (gateway/transactions.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest
from prometheus_client import REGISTRY
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError, WatchError

from gateway.outbound import REPLY_FUNC, OutboundReplies, Queued
from gateway.queues import ALL_QUEUES, REPLY_QUEUE, queue
from gateway.settings import Settings
from gateway.tracking import format_tracking_id
from gateway.transactions import commit
from tests.conftest import log_events
from workers.deadletters import DeadLetters
from workers.status import give_up

SOURCE = "sms-aggregator"
TRACKING_ID = format_tracking_id(4_242_101)
NUMBER = "+6281234567811"
QUERY = {"source": SOURCE, "to": NUMBER, "tracking_id": TRACKING_ID, "language": "id"}
TOLD = ("reply.queued", "reply.held", "status.job_queued", "deadletter.added")
# (metric, labels) of what the writers count.
QUEUED_REPLY = ("lapor_replies_total", (("channel", SOURCE), ("outcome", "queued")))
CHANNEL_DEAD_LETTER = ("lapor_channel_deadletters_total", (("channel", SOURCE),))


def dead_letter_of(queue_name: str, reason: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return "lapor_deadletters_total", (("queue", queue_name), ("reason", reason))


@dataclass(frozen=True)
class Writer:
    """A function that writes into a caller's pipeline, and what it logs and counts once that commits."""

    id: str
    write: Callable[[Redis, Settings, Pipeline], object]
    told: list[str]
    counted: list[tuple[str, tuple[tuple[str, str], ...]]]
    # It WATCHes what it reads on the caller's pipeline and opens the MULTI itself (a status query's give-up).
    opens_multi: bool = False


WRITERS = [
    Writer("reply", lambda redis, settings, pipe: OutboundReplies(redis, settings).queue_reply(
        source=SOURCE, kind="ack", text="Laporan diterima", language="id", tracking_id=TRACKING_ID,
        to_report=TRACKING_ID, pipeline=pipe), ["reply.queued"], [QUEUED_REPLY]),
    Writer("status_job_and_promise", lambda redis, settings, pipe: OutboundReplies(
        redis, settings).queue_status_job_and_promise(source=SOURCE, to=NUMBER, tracking_id=TRACKING_ID,
                                                      language="id", pipeline=pipe),
           ["reply.queued", "status.job_queued"], [QUEUED_REPLY]),
    Writer("dead_letter", lambda redis, settings, pipe: DeadLetters(redis).add_new(
        queue=REPLY_QUEUE, func=REPLY_FUNC, args=[{"reply_id": "r1"}], tracking_id=TRACKING_ID, item="r1",
        reason="aggregator_403", detail="refused", channel=SOURCE, pipeline=pipe),
           ["deadletter.added"], [dead_letter_of(REPLY_QUEUE, "aggregator_403"), CHANNEL_DEAD_LETTER]),
    Writer("status_query_given_up", lambda redis, settings, pipe: give_up(
        redis, settings, QUERY, job=None, reason="casestore_unreachable", detail="after 3 attempt(s)",
        attempts=3, pipeline=pipe),
           ["reply.queued", "deadletter.added"],
           [QUEUED_REPLY, dead_letter_of("lapor-status", "casestore_unreachable"), CHANNEL_DEAD_LETTER],
           opens_multi=True),
]


def counts(counted: list[tuple[str, tuple[tuple[str, str], ...]]]) -> list[float]:
    return [REGISTRY.get_sample_value(name, dict(labels)) or 0.0 for name, labels in counted]


def told(stream: io.StringIO) -> list[str]:
    return [str(event["event"]) for event in log_events(stream) if event["event"] in TOLD]


def nothing_written(redis: Redis) -> bool:
    return (all(queue(name, redis).count == 0 for name in ALL_QUEUES) and DeadLetters(redis).count() == 0
            and not list(redis.scan_iter("lapor:reply:*")))


def refused_by_watch(redis: Redis, pipe: Pipeline) -> None:
    """Another client changes a key the transaction watches: Redis refuses the EXEC."""
    redis.set("test:guard", "changed")


def aborted_by_redis(redis: Redis, pipe: Pipeline) -> None:
    """A command Redis does not know, queued into the transaction: Redis aborts the whole EXEC (EXECABORT)."""
    pipe.execute_command("LAPOR-NO-SUCH-COMMAND")


@pytest.mark.parametrize("spoil", [refused_by_watch, aborted_by_redis], ids=["watch_error", "exec_abort"])
@pytest.mark.parametrize("writer", WRITERS, ids=[writer.id for writer in WRITERS])
def test_a_write_into_a_transaction_is_logged_and_counted_only_when_it_commits(
    redis: Redis, settings: Settings, log_stream: io.StringIO, writer: Writer,
    spoil: Callable[[Redis, Pipeline], None],
) -> None:
    before = counts(writer.counted)
    with redis.pipeline(transaction=True) as pipe:
        pipe.watch("test:guard")
        if not writer.opens_multi:
            pipe.multi()
        writer.write(redis, settings, pipe)
        spoil(redis, pipe)
        with pytest.raises((WatchError, RedisError)):
            commit(pipe)
    assert nothing_written(redis)
    assert told(log_stream) == []
    assert counts(writer.counted) == before

    with redis.pipeline(transaction=True) as pipe:
        writer.write(redis, settings, pipe)
        commit(pipe)
    assert not nothing_written(redis)
    assert told(log_stream) == writer.told
    assert counts(writer.counted) == [value + 1 for value in before]


def test_two_deliveries_of_one_message_at_once_tell_of_one_reply(
    redis: Redis, settings: Settings, log_stream: io.StringIO
) -> None:
    """The first try of one delivery meets a WatchError (the other delivery answered the message meanwhile) and is
    dropped: one reply queued, logged once and counted once, not a second `reply.queued` for a reply never made."""
    outbound = OutboundReplies(redis, settings)
    reply = partial(outbound.queue_reply, source=SOURCE, kind="ack", text="Laporan diterima", language="id",
                    tracking_id=TRACKING_ID, to_report=TRACKING_ID)
    before = counts([QUEUED_REPLY])
    first_try = True

    def overtaken(pipeline: Pipeline) -> Queued:
        """This delivery's reply, while the other delivery of the message answers it on another connection."""
        nonlocal first_try
        queued = reply(pipeline=pipeline)
        if first_try:
            first_try = False
            assert outbound.once_per_message(SOURCE, "msg-1", reply, what="report").state == "queued"
        return queued

    assert outbound.once_per_message(SOURCE, "msg-1", overtaken, what="report").state == "repeated"
    assert queue(REPLY_QUEUE, redis).count == 1
    assert told(log_stream) == ["reply.queued"]
    assert counts([QUEUED_REPLY]) == [before[0] + 1]
