"""A reply or status job whose last attempt ends by an exception it did not expect (RQ's job timeout, a bug) must not
sit only in RQ's failed registry, which no operator view shows: after RQ's own retries the worker dead-letters it as
`job_failed` (the exception type, never its message), counted against its channel and requeueable; a status query is
given up as one whose retries ran out, so the citizen told that the answer follows hears "send CEK later"."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web
from redis import Redis
from rq.job import Job, JobStatus
from rq.results import Result

from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.outbound import REPLY_FUNC, STATUS_FUNC, OutboundReplies, reply_key
from gateway.queues import FORWARD_FUNC, FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE, JSONSerializer, queue
from gateway.replies import render, status_name
from gateway.settings import CONFIG_DIR, Settings
from tests.aggregator_support import aggregator_api, drain
from tests.conftest import LoopbackServer, TestEnvironment
from tests.test_poison_jobs import forward_args, reply_args, started_by
from workers.context import use_context
from workers.deadletters import DeadLetters
from workers.run import build_worker

TRACKING_ID = "10000029"
NUMBER = "+6281234567801"


def sms_aggregator_status(redis: Redis) -> dict[str, Any]:
    """The sms-aggregator channel as /v1/status, the status page and `lapor-gateway status` show it."""
    document = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status(time.time())
    return next(channel for channel in document["channels"] if channel["channel"] == "sms-aggregator")


def queue_status(redis: Redis, name: str) -> dict[str, Any]:
    document = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status(time.time())
    return next(entry for entry in document["queues"] if entry["name"] == name)


def test_a_reply_job_that_fails_unexpectedly_is_dead_lettered_and_can_be_requeued(
    test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")  # one retry, at once
    queued = OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="ack", text="Laporan diterima",
                                                          language="id", tracking_id=TRACKING_ID, to=NUMBER)
    for api in aggregator_api():
        api.route.side_effect = TypeError(f"cannot send to {NUMBER}")  # a bug on the send path, quoting the number
        drain(settings, (REPLY_QUEUE,))
        assert api.route.call_count == 2  # RQ's own retry first

        [letter] = DeadLetters(redis).list()
        assert (letter.queue, letter.func, letter.args[0]["reply_id"], letter.tracking_id, letter.channel) == (
            REPLY_QUEUE, REPLY_FUNC, queued.reply_id, TRACKING_ID, "sms-aggregator")
        assert (letter.reason, letter.attempts) == ("job_failed", 2)
        assert letter.detail == "TypeError on the last of 2 attempt(s)"  # the type: the message quotes the number
        assert redis.hget(reply_key(str(queued.reply_id)), "state") == b"dead_lettered"
        channel = sms_aggregator_status(redis)
        assert channel["deadletters"] == 1
        # Its dead letter is its record: not also counted on its queue as a job no worker could read.
        assert (queue(REPLY_QUEUE, redis).failed_job_registry.count, queue_status(redis, REPLY_QUEUE)["failed"]) == (
            0, 0)
        assert [error["reason"] for error in channel["last_errors"]] == ["job_failed", "job_failed"]  # dead, failed

        api.route.side_effect = None  # fixed: the aggregator's 202 again
        api.route.reset()  # forget the failed calls, which have no answer
        assert DeadLetters(redis).requeue([letter], settings).requeued == 1
        drain(settings, (REPLY_QUEUE,))
        assert api.texts_to(NUMBER) == ["Laporan diterima"]
    assert DeadLetters(redis).count() == 0
    assert redis.hget(reply_key(str(queued.reply_id)), "state") == b"sent"


class StallingCaseStore:
    """A case store whose status lookups outlast the worker's job timeout until told to answer: a lookup stalled
    then ends at once (its job long timed out), where the server's stop waited out what was left of its stall."""

    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self.stalling = True

    def app(self) -> web.Application:
        async def report(request: web.Request) -> web.Response:
            if self.stalling:
                deadline = asyncio.get_running_loop().time() + self.stall_seconds
                while self.stalling and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.05)
                return web.json_response({"error": "too_slow"}, status=503)
            return web.json_response({"tracking_id": request.match_info["tracking_id"], "status": "resolved"})

        app = web.Application()
        app.router.add_get("/v1/reports/{tracking_id}", report)
        return app


def test_a_status_job_that_fails_unexpectedly_tells_the_citizen_to_send_cek_later_and_can_be_requeued(
    test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0", LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="1")
    case_store = StallingCaseStore(stall_seconds=3.0)  # inside the HTTP timeout (5 s): RQ's job timeout ends it
    server = LoopbackServer(case_store.app, settings.casestore.port)
    server.start()
    try:
        OutboundReplies(redis, settings).queue_status_job_and_promise(source="sms-aggregator", to=NUMBER,
                                                                      tracking_id=TRACKING_ID, language="id")
        [status_job] = queue(STATUS_QUEUE, redis).get_jobs()
        drain(settings, (STATUS_QUEUE,))

        [letter] = DeadLetters(redis).list()
        query = status_job.args[0]  # its status_id too: a requeue is the same query, answered once
        assert {name: query[name] for name in ("source", "to", "tracking_id", "language")} == {
            "source": "sms-aggregator", "to": NUMBER, "tracking_id": TRACKING_ID, "language": "id"}
        assert (letter.queue, letter.func, letter.args, letter.tracking_id, letter.channel) == (
            STATUS_QUEUE, STATUS_FUNC, [query], TRACKING_ID, "sms-aggregator")
        assert (letter.reason, letter.attempts, letter.job_id) == ("job_failed", 2, status_job.id)
        assert letter.detail == "JobTimeoutException on the last of 2 attempt(s)"
        replies = [job.args[0] for job in queue(REPLY_QUEUE, redis).get_jobs()]
        assert [(reply["kind"], reply["text"], reply["to"]) for reply in replies] == [
            ("status_pending", render("status_pending", "id", tracking_id=TRACKING_ID), NUMBER),
            ("status", render("status_retry", "id", tracking_id=TRACKING_ID), NUMBER),
        ]
        assert sms_aggregator_status(redis)["deadletters"] == 1
        assert queue_status(redis, STATUS_QUEUE)["failed"] == 0

        case_store.stalling = False  # the case store answers again: the operator requeues the query
        assert DeadLetters(redis).requeue([letter], settings).requeued == 1
        for api in aggregator_api():
            drain(settings, (STATUS_QUEUE, REPLY_QUEUE))
            assert api.texts_to(NUMBER) == [
                render("status_pending", "id", tracking_id=TRACKING_ID),
                render("status_retry", "id", tracking_id=TRACKING_ID),
                render("status", "id", tracking_id=TRACKING_ID, status=status_name("resolved", "id")),
            ]
    finally:
        server.stop()
    assert DeadLetters(redis).count() == 0


def abandoned(redis: Redis, settings: Settings, queue_name: str, func: str, args: tuple[Any, ...]) -> Job:
    """A job on its last attempt whose worker vanished without a trace (no reaper took it): its run in the started
    registry has expired, as RQ's maintenance finds it."""
    job = started_by(redis, settings, queue_name, func, args, attempts=1)
    redis.hset(job.key, "retries_left", 0)
    started = queue(queue_name, redis).started_job_registry
    [member] = redis.zrange(started.key, 0, -1)
    redis.zadd(started.key, {member: time.time() - 1})
    return job


@pytest.mark.parametrize(
    ("queue_name", "func", "args", "reasons"),
    [
        pytest.param(REPLY_QUEUE, REPLY_FUNC, reply_args(), ["job_failed"], id="reply"),
        pytest.param(FORWARD_QUEUE, FORWARD_FUNC, forward_args(2), ["forward_failed", "forward_failed"],
                     id="forward-of-two"),
    ],
)
def test_a_job_rqs_clean_up_finds_abandoned_is_dead_lettered_and_not_also_counted_unreadable(
    test_env: TestEnvironment, redis: Redis, queue_name: str, func: str, args: tuple[Any, ...], reasons: list[str],
) -> None:
    """RQ's maintenance (`StartedJobRegistry.cleanup`, rq 2.12) fails an abandoned job itself: it runs the exception
    handlers, which file it, then adds it to the failed registry without the worker's `handle_job_failure`, which
    took a filed job out of it. The job was both a dead letter and, in every status view, a job no worker could
    read."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")
    job = abandoned(redis, settings, queue_name, func, args)
    worker = build_worker(settings, queue_name)
    try:
        worker.clean_registries()  # RQ's maintenance, as a worker runs it every 30 s
    finally:
        use_context(None)

    target = queue(queue_name, redis)
    assert target.started_job_registry.get_job_ids(cleanup=False) == []
    letters = DeadLetters(redis).list()
    assert [(letter.reason, letter.job_id) for letter in letters] == [(reason, job.id) for reason in reasons]
    assert all(letter.detail == "AbandonedJobError on the last of 2 attempt(s)" for letter in letters)
    assert (target.failed_job_registry.get_job_ids(cleanup=False), queue_status(redis, queue_name)["failed"]) == (
        [], 0)
    # RQ's record of the failure stays, as the worker's path keeps it, until its dead letters leave the registry.
    assert Job.fetch(job.id, connection=redis, serializer=JSONSerializer).get_status() == JobStatus.FAILED
    assert redis.exists(Result.get_key(job.id))
