"""A status job given up after its answer was queued (a run queued it, then failed or lost its worker before the job
ended; another run answered while this one asked the case store) must not follow the status with "cannot be checked
now, send CEK later", nor leave a dead letter that a requeue would turn into a second answer: one
`status.give_up_after_answer` line instead. The same whichever gives it up: its own worker when its retries run out,
the reaper when its workers died, the failure handler when its last attempt failed unexpectedly. Given up unanswered,
it is told "send CEK later" and dead-lettered as before, and nothing keeps an operator's requeue from answering it."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from redis import Redis
from rq import get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

import workers.status
from gateway.errors import RetryableError
from gateway.outbound import STATUS_FUNC, OutboundReplies, Queued
from gateway.queues import REPLY_QUEUE, STATUS_QUEUE, enqueue_calls, queue
from gateway.replies import render, status_name
from gateway.settings import Settings
from gateway.tracking import format_tracking_id
from gateway.transactions import commit_watched
from tests.aggregator_support import drain
from tests.conftest import TestEnvironment, log_events
from tests.test_poison_jobs import started_by
from workers.casestore_client import CaseStoreClient
from workers.deadletters import DeadLetters
from workers.reaper import REAPS_META, reap_abandoned
from workers.status import ALREADY_ANSWERED, DEAD_LETTERED, answered_key, give_up

SOURCE = "sms-aggregator"
TRACKING_ID = format_tracking_id(4_646_464)
NUMBER = "+6281234567831"
ANSWER = render("status", "id", tracking_id=TRACKING_ID, status=status_name("resolved", "id"))
SEND_CEK_LATER = render("status_retry", "id", tracking_id=TRACKING_ID)
AFTER_ANSWER = "status.give_up_after_answer"

Patch = Callable[[Any, str, Any], None]


def query_of(queued_by: str) -> dict[str, Any]:
    """A status job's query as the gateway queues it (with its status_id), or as an older gateway did (without)."""
    query = {"source": SOURCE, "to": NUMBER, "tracking_id": TRACKING_ID, "language": "id"}
    return {**query, "status_id": uuid.uuid4().hex} if queued_by == "gateway" else query


def queue_the_answer(redis: Redis, settings: Settings, query: dict[str, Any], job: Job | None) -> None:
    """The job's answer, queued as a run of it queues it (`answer_status`): with the job's marker, in one EXEC."""
    outbound = OutboundReplies(redis, settings)
    reply = partial(outbound.queue_reply, source=SOURCE, kind="status", text=ANSWER, language="id",
                    tracking_id=TRACKING_ID, to=NUMBER)
    marker = answered_key(query, job)
    assert marker is not None
    assert outbound.once(marker, reply, repeated=lambda: None, what="status answer").state == "queued"


def last_attempt() -> bool:
    job = get_current_job()
    return job is not None and not job.retries_left


def retries_run_out(redis: Redis, settings: Settings, query: dict[str, Any], answered: bool, patch: Patch) -> Job:
    """The case store never answers; while the last attempt asks it, another run of the job (a second copy, a
    requeue, a run whose worker only looked dead) answers."""

    def lookup(client: CaseStoreClient, tracking_id: str) -> dict[str, Any] | None:
        if answered and last_attempt():
            queue_the_answer(redis, settings, query, get_current_job())
        raise RetryableError("case store unreachable: ConnectError", reason="casestore_unreachable")

    patch(CaseStoreClient, "get_report", lookup)
    [job] = enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [(query,)])
    drain(settings, (STATUS_QUEUE,))
    return job


def worker_died(redis: Redis, settings: Settings, query: dict[str, Any], answered: bool, patch: Patch) -> Job:
    """Its workers died each time it ran; the last of them after the run queued the answer."""
    job = started_by(redis, settings, STATUS_QUEUE, STATUS_FUNC, (query,),
                     **{REAPS_META: settings.queues.max_worker_deaths - 1})
    if answered:
        queue_the_answer(redis, settings, query, job)
    reap_abandoned(redis, [STATUS_QUEUE], settings)
    return job


class TimedOutAfterTheAnswer(OutboundReplies):
    """RQ's job timeout strikes just after the answer's EXEC, before the job returns."""

    def once(self, *args: Any, **kwargs: Any) -> Queued:
        super().once(*args, **kwargs)
        raise JobTimeoutException("Task exceeded maximum timeout value (1 seconds)")


def job_failed(redis: Redis, settings: Settings, query: dict[str, Any], answered: bool, patch: Patch) -> Job:
    """The case store stalls past RQ's job timeout; the last attempt gets the status, queues the answer and is timed
    out just then."""

    def lookup(client: CaseStoreClient, tracking_id: str) -> dict[str, Any] | None:
        if answered and last_attempt():
            return {"tracking_id": tracking_id, "status": "resolved"}
        raise JobTimeoutException("Task exceeded maximum timeout value (1 seconds)")

    patch(CaseStoreClient, "get_report", lookup)
    patch(workers.status, "OutboundReplies", TimedOutAfterTheAnswer)
    [job] = enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [(query,)])
    drain(settings, (STATUS_QUEUE,))
    return job


@dataclass(frozen=True)
class GiveUpPath:
    id: str
    give_up: Callable[[Redis, Settings, dict[str, Any], bool, Patch], Job]
    reason: str  # of the dead letter when given up unanswered


PATHS = [
    GiveUpPath("retries-run-out", retries_run_out, "casestore_unreachable"),
    GiveUpPath("worker-died-reaper", worker_died, "worker_died"),
    GiveUpPath("job-failed-handler", job_failed, "job_failed"),
]


def replies(redis: Redis) -> list[tuple[str, str]]:
    return [(job.args[0]["kind"], job.args[0]["text"]) for job in queue(REPLY_QUEUE, redis).get_jobs()]


def events(stream: io.StringIO, name: str) -> list[dict[str, object]]:
    return [event for event in log_events(stream) if event["event"] == name]


@pytest.mark.parametrize("queued_by", ["gateway", "older-gateway"], ids=["status-id", "no-status-id"])
@pytest.mark.parametrize("path", PATHS, ids=[path.id for path in PATHS])
def test_a_status_job_given_up_after_its_answer_was_queued_sends_no_cek_later_and_leaves_no_dead_letter(
    path: GiveUpPath, queued_by: str, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")  # one retry, at once
    query = query_of(queued_by)

    path.give_up(redis, settings, query, True, monkeypatch.setattr)

    assert replies(redis) == [("status", ANSWER)]  # the answer alone: no "send CEK later" after it
    assert DeadLetters(redis).count() == 0  # nothing an operator would requeue into a second answer
    assert events(log_stream, "deadletter.added") == []
    [event] = events(log_stream, AFTER_ANSWER)
    assert {name: event.get(name) for name in ("tracking_id", "channel", "reason", "level")} == {
        "tracking_id": TRACKING_ID, "channel": SOURCE, "reason": path.reason, "level": "warning"}
    assert "to" not in event and NUMBER[3:] not in str(event)
    assert queue(STATUS_QUEUE, redis).count == 0
    assert queue(STATUS_QUEUE, redis).started_job_registry.get_job_ids(cleanup=False) == []


@pytest.mark.parametrize("queued_by", ["gateway", "older-gateway"], ids=["status-id", "no-status-id"])
@pytest.mark.parametrize("path", PATHS, ids=[path.id for path in PATHS])
def test_a_status_job_given_up_unanswered_sends_cek_later_and_its_requeue_answers(
    path: GiveUpPath, queued_by: str, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")
    query = query_of(queued_by)

    job = path.give_up(redis, settings, query, False, monkeypatch.setattr)

    assert replies(redis) == [("status", SEND_CEK_LATER)]
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.func, letter.args, letter.reason) == (STATUS_QUEUE, STATUS_FUNC, [query],
                                                                       path.reason)
    assert letter.job_id == job.id  # whoever gave it up: `deadletters show` names the job
    assert events(log_stream, AFTER_ANSWER) == []
    assert not redis.exists(str(answered_key(query, job)))  # the give-up marks nothing: a requeue is answered

    monkeypatch.undo()  # the cause fixed: the case store answers, nothing times out
    monkeypatch.setattr(CaseStoreClient, "get_report", lambda client, tracking_id: {"status": "resolved"})
    assert DeadLetters(redis).requeue([letter], settings).requeued == 1
    # RQ's record of the old job: deleted with its letter when it failed, gone since the reaper gave it up, and kept
    # a while as finished (no failure of it) when its own worker gave the query up and the job ended normally.
    assert redis.exists(job.key) == (path.id == "retries-run-out")
    drain(settings, (STATUS_QUEUE,))
    assert replies(redis) == [("status", SEND_CEK_LATER), ("status", ANSWER)]


def test_an_answer_queued_while_the_give_up_is_built_is_not_contradicted(
    redis: Redis, settings: Settings, log_stream: io.StringIO,
) -> None:
    """The marker is read under WATCH: a run of the job that queues its answer between the give-up's read and its
    EXEC (the reaper gives up a job whose worker only looked dead) spoils the EXEC, and the give-up built again finds
    the answer. Not "answer, then send CEK later"."""
    query = query_of("gateway")
    outcomes: list[str] = []

    def overtaken(pipe: Any) -> str:
        outcome = give_up(redis, settings, query, job=None, reason="worker_died", detail="died", attempts=3,
                          pipeline=pipe)
        if not outcomes:
            queue_the_answer(redis, settings, query, None)  # on another connection, before this EXEC
        outcomes.append(outcome)
        return outcome

    assert commit_watched(redis, overtaken, what="test give-up") == ALREADY_ANSWERED
    assert outcomes == [DEAD_LETTERED, ALREADY_ANSWERED]
    assert replies(redis) == [("status", ANSWER)]
    assert DeadLetters(redis).count() == 0
    assert len(events(log_stream, "reply.queued")) == 1  # the answer's; the spoiled "send CEK later" never told
    assert len(events(log_stream, AFTER_ANSWER)) == 1
