"""A status query answered later by SMS: "the answer follows" (the promise) and the answer are two reply jobs, and
the citizen must never read the answer before the promise, on a feature phone that shows them as they come. Real
Redis, the real status and reply workers, the reference case store; only the aggregator's send URL is mocked."""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from redis import Redis
from rq.job import Job

from gateway.lease import process_table
from gateway.outbound import STATUS_FUNC, OutboundReplies, reply_key
from gateway.queues import REPLY_QUEUE, STATUS_QUEUE, enqueue_calls, queue
from gateway.replies import render
from gateway.settings import Settings
from gateway.tracking import format_tracking_id
from tests.aggregator_support import AggregatorApi, aggregator_api, aggregator_settings, drain, sent_part
from tests.conftest import CaseStoreServer, log_events
from tests.conftest import TestEnvironment as Environment
from tests.job_support import SecondJobInFirstSend
from workers.deadletters import DeadLetters
from workers.reply_order import SUPERSEDED_FIELD, WAITS_META
from workers.send_lease import send_lease_key

SOURCE = "sms-aggregator"
TRACKING_ID = format_tracking_id(5_151_515)
NUMBER = "+6281298765031"
PROMISE = render("status_pending", "id", tracking_id=TRACKING_ID)
ANSWER = render("status_unknown", "id", tracking_id=TRACKING_ID)  # the case store does not have it
SEND_CEK_LATER = render("status_retry", "id", tracking_id=TRACKING_ID)
ACCEPTED = httpx.Response(202, text="0: Accepted for delivery")


@pytest.fixture
def settings(test_env: Environment) -> Settings:
    # Retries a second apart: a retried send waits in RQ's scheduled registry, as it does in production.
    return aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="1,1,1")


@pytest.fixture
def api() -> Iterator[AggregatorApi]:
    yield from aggregator_api()


def run_scheduled(redis: Redis) -> int:
    """Move every job waiting in the reply and status queues' scheduled registries onto its queue, as the scheduler
    does once its time has come; returns how many."""
    moved = 0
    for name in (REPLY_QUEUE, STATUS_QUEUE):
        target = queue(name, redis)
        for job_id in target.scheduled_job_registry.get_job_ids():
            target.scheduled_job_registry.remove(job_id)
            target.enqueue_job(target.fetch_job(job_id))
            moved += 1
    return moved


def settle(settings: Settings, redis: Redis, *, rounds: int = 20) -> None:
    """Run the reply and status workers, and their scheduled jobs, until nothing is left to run."""
    for _ in range(rounds):
        drain(settings, (REPLY_QUEUE, STATUS_QUEUE))
        if not run_scheduled(redis):
            return
    raise AssertionError("jobs still scheduled after every round")


def queue_cek(redis: Redis, settings: Settings) -> tuple[str, Job]:
    """A CEK the case store did not answer in time: the promise and the status job, as the gateway queues them.
    Returns (the promise's reply id, the promise's job)."""
    OutboundReplies(redis, settings).queue_status_job_and_promise(source=SOURCE, to=NUMBER, tracking_id=TRACKING_ID,
                                                                  language="id")
    [promise] = queue(REPLY_QUEUE, redis).get_jobs()
    assert promise.args[0]["kind"] == "status_pending"
    return str(promise.args[0]["reply_id"]), promise


def the_answer(redis: Redis) -> dict[str, Any]:
    """The status answer's reply job, queued by the status job (on the reply queue, or waiting to run again)."""
    replies = queue(REPLY_QUEUE, redis)
    jobs = [*replies.get_jobs(), *map(replies.fetch_job, replies.scheduled_job_registry.get_job_ids())]
    [answer] = [job.args[0] for job in jobs if job.args[0]["kind"] == "status"]
    return answer


def the_answer_sent(api: AggregatorApi) -> str:
    """The reply id of the one reply the aggregator accepted."""
    [reply_id] = api.replies()
    return reply_id


def refusing(text: str, answer: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """The aggregator's send URL answering `answer` to every send of `text`, accepting the others."""
    return lambda request: answer if sent_part(request).text == text else ACCEPTED


def state(redis: Redis, reply_id: str) -> bytes | None:
    return redis.hget(reply_key(reply_id), "state")


def events(stream: io.StringIO, name: str) -> list[dict[str, object]]:
    return [event for event in log_events(stream) if event["event"] == name]


@pytest.mark.parametrize("failure", [
    pytest.param(httpx.Response(503, text="Message queue full"), id="503"),
    pytest.param(httpx.Response(429), id="429-rate-limited"),
    pytest.param(httpx.Response(408, text="Request Timeout"), id="408-timeout"),
])
def test_the_answer_waits_for_its_promise_whose_send_is_retried(
    casestore: CaseStoreServer, settings: Settings, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
    failure: httpx.Response,
) -> None:
    """The promise's first send fails and waits a second for its retry, while the status job answers: the answer
    waits for it (queued again, no retry of its own spent), and each SMS goes out once, the promise first."""
    failures = iter([failure])
    api.route.side_effect = lambda request: next(failures, ACCEPTED)
    promise, _ = queue_cek(redis, settings)
    drain(settings, (REPLY_QUEUE, STATUS_QUEUE))  # the promise fails; the status job answers; the answer waits
    answer = the_answer(redis)
    assert api.texts_to(NUMBER) == []
    assert (state(redis, promise), state(redis, answer["reply_id"])) == (b"retrying", b"queued")
    [waiting] = events(log_stream, "reply.waits_for_earlier")
    assert (waiting["earlier"], waiting["earlier_state"], waiting["rescheduled_in"]) == (promise, "retrying", 1.0)
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [PROMISE, ANSWER]
    assert len(api.parts()) == 2  # each once
    assert (state(redis, promise), state(redis, answer["reply_id"])) == (b"sent", b"sent")
    assert DeadLetters(redis).count() == 0 and events(log_stream, "reply.supersedes_earlier") == []


def test_the_answer_on_a_second_reply_worker_waits_for_the_promise_not_yet_sent(
    casestore: CaseStoreServer, settings: Settings, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
) -> None:
    """Two reply workers: the first has not run the promise yet (it is busy, or slow) when the second takes the
    answer. The answer waits, looking again after 1, 2, 4 s..., and goes once the promise is sent."""
    _, promise_job = queue_cek(redis, settings)
    replies = queue(REPLY_QUEUE, redis)
    replies.remove(promise_job)  # taken by the first reply worker, which has not sent it yet
    drain(settings, (STATUS_QUEUE, REPLY_QUEUE))  # the status job answers; the second worker takes the answer
    assert run_scheduled(redis) == 1
    drain(settings, (REPLY_QUEUE,))  # it looks again a second later: the promise is still not sent
    assert api.texts_to(NUMBER) == []
    [waiting] = replies.scheduled_job_registry.get_job_ids()
    assert replies.fetch_job(waiting).meta[WAITS_META] == 2
    assert [event["rescheduled_in"] for event in events(log_stream, "reply.waits_for_earlier")] == [1.0, 2.0]
    replies.enqueue_job(promise_job)  # the first worker gets to it
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [PROMISE, ANSWER]
    assert len(api.parts()) == 2


@pytest.mark.parametrize("promise_fate", ["dead-lettered", "dead-letter-purged", "record-expired"])
def test_the_answer_to_a_promise_given_up_goes_at_once_and_the_promise_never_after_it(
    casestore: CaseStoreServer, settings: Settings, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
    promise_fate: str,
) -> None:
    """A promise that will not be sent (the aggregator refused it: dead-lettered; the letter purged; its record
    expired) holds nothing back: the answer goes at once. The promise is marked superseded, so an operator who
    requeues its letter later sends nothing: "the answer follows" after the answer would confuse."""
    api.route.side_effect = refusing(PROMISE, httpx.Response(403, text="Authorization failed for sendsms"))
    promise, _ = queue_cek(redis, settings)
    drain(settings, (REPLY_QUEUE,))  # refused: dead-lettered at once
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.reason, letter.args[0]["reply_id"]) == (REPLY_QUEUE, "aggregator_403", promise)
    if promise_fate == "dead-letter-purged":
        assert DeadLetters(redis).purge([letter], settings.intake.envelope_ttl_seconds) == 1
    elif promise_fate == "record-expired":
        redis.delete(reply_key(promise))
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [ANSWER]
    assert events(log_stream, "reply.waits_for_earlier") == []
    [superseding] = events(log_stream, "reply.supersedes_earlier")
    assert (superseding["earlier"], superseding["reason"]) == (promise, "given_up")
    answer = the_answer_sent(api)
    assert redis.hget(reply_key(promise), SUPERSEDED_FIELD) == answer.encode()
    assert state(redis, promise) == (b"superseded" if promise_fate == "record-expired" else b"dead_lettered")

    if promise_fate == "dead-lettered":  # the aggregator fixed, the operator requeues the dead promise
        api.route.side_effect = None
        assert DeadLetters(redis).requeue([letter], settings).requeued == 1
        settle(settings, redis)
        assert api.texts_to(NUMBER) == [ANSWER]
        assert state(redis, promise) == b"superseded" and DeadLetters(redis).count() == 0
        [skipped] = events(log_stream, "reply.superseded")
        assert skipped["reply_id"] == promise


def test_an_answer_waits_no_longer_than_its_bound_and_the_promise_is_then_never_sent(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
) -> None:
    """The promise's job is lost (its record still says queued, for ever): the answer waits
    `queues.reply_order_wait_seconds`, then goes. A copy of the promise's job that runs after that sends nothing."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="1,1,1",
                                   LAPOR_QUEUES_REPLY_ORDER_WAIT_SECONDS="1")
    promise, promise_job = queue_cek(redis, settings)
    replies = queue(REPLY_QUEUE, redis)
    replies.remove(promise_job)
    drain(settings, (STATUS_QUEUE, REPLY_QUEUE))
    assert api.texts_to(NUMBER) == [] and replies.scheduled_job_registry.count == 1
    time.sleep(1.1)  # the wait is over
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [ANSWER]
    [superseding] = events(log_stream, "reply.supersedes_earlier")
    assert (superseding["earlier_state"], superseding["reason"]) == ("queued", "waited_out")
    assert state(redis, promise) == b"superseded"

    replies.enqueue_job(promise_job)  # the lost job turns up after all
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [ANSWER] and len(api.parts()) == 1
    assert DeadLetters(redis).count() == 0


def test_an_answer_that_has_looked_a_thousand_times_still_waits_thirty_seconds_between_looks(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
) -> None:
    """A long `reply_order_wait_seconds` (a day) lets an answer look again a thousand times and more: its next look
    is still 30 s away, and its job does not fail on the doubling (2.0 ** 1024 overflows)."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="1,1,1",
                                   LAPOR_QUEUES_REPLY_ORDER_WAIT_SECONDS="86400")
    _, promise_job = queue_cek(redis, settings)
    replies = queue(REPLY_QUEUE, redis)
    replies.remove(promise_job)  # taken by another reply worker, not sent yet
    drain(settings, (STATUS_QUEUE,))
    [answer_job] = replies.get_jobs()
    answer_job.meta[WAITS_META] = 1100  # it has looked that often, some nine hours
    answer_job.save_meta()
    drain(settings, (REPLY_QUEUE,))
    [waiting] = events(log_stream, "reply.waits_for_earlier")
    assert waiting["rescheduled_in"] == 30.0
    [again] = replies.scheduled_job_registry.get_job_ids()
    assert replies.fetch_job(again).meta[WAITS_META] == 1101
    assert api.texts_to(NUMBER) == [] and DeadLetters(redis).count() == 0


def test_an_answer_whose_wait_is_over_does_not_overtake_a_promise_being_sent(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
) -> None:
    """With no wait at all, the answer still never overtakes a promise whose send is under way on another worker
    (it holds the promise's send lease): it waits for that send, which ends within a job timeout, then goes."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="1,1,1",
                                   LAPOR_QUEUES_REPLY_ORDER_WAIT_SECONDS="0")
    promise, _ = queue_cek(redis, settings)
    drain(settings, (STATUS_QUEUE,))
    answer_job = next(job for job in queue(REPLY_QUEUE, redis).get_jobs() if job.args[0]["kind"] == "status")
    concurrently = SecondJobInFirstSend(lambda request: ACCEPTED, redis, answer_job.id)
    api.route.side_effect = concurrently  # the answer runs on a second worker while the promise is being sent
    settle(settings, redis)
    assert isinstance(concurrently.outcome, dict) and concurrently.outcome["waits_for"] == promise
    [waiting] = events(log_stream, "reply.waits_for_earlier")
    assert waiting["earlier_state"] == "queued"
    assert api.texts_to(NUMBER) == [PROMISE, ANSWER] and len(api.parts()) == 2
    assert state(redis, promise) == b"sent" and redis.hget(reply_key(promise), SUPERSEDED_FIELD) is None
    assert not redis.exists(send_lease_key(promise))


def test_an_answer_whose_wait_is_over_waits_out_a_dead_workers_lease_on_the_promise_doubling_not_every_second(
    test_env: Environment, casestore: CaseStoreServer, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
) -> None:
    """The promise's worker died on another host while sending it: its send lease stays for a whole job timeout
    (120 s), and cannot be judged from here. The answer, its wait over, looks again after 1, 2, 4... up to 30 s,
    never much past the lease's end, not every second (some 120 jobs and log lines); then it goes."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="1,1,1",
                                   LAPOR_QUEUES_REPLY_ORDER_WAIT_SECONDS="0")
    promise, promise_job = queue_cek(redis, settings)
    replies = queue(REPLY_QUEUE, redis)
    replies.remove(promise_job)  # taken by the worker that died
    lease = send_lease_key(promise)
    redis.set(lease, f"reply-b.lapor.internal:4242:{process_table()}:{secrets.token_hex(16)}", px=120_000)
    drain(settings, (STATUS_QUEUE,))
    for _ in range(20):  # each round: the answer looks, and the time until its next look passes for the lease
        drain(settings, (REPLY_QUEUE,))
        if api.texts_to(NUMBER):
            break
        [waiting] = events(log_stream, "reply.waits_for_earlier")[-1:]
        left_ms = redis.pttl(lease) - int(float(str(waiting["rescheduled_in"])) * 1000)
        if left_ms > 0:
            redis.pexpire(lease, left_ms)
        else:
            redis.delete(lease)  # it ran out meanwhile
        assert run_scheduled(redis) == 1
    assert api.texts_to(NUMBER) == [ANSWER] and len(api.parts()) == 1
    looks = [event["rescheduled_in"] for event in events(log_stream, "reply.waits_for_earlier")]
    # 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 s cover the lease: eight looks, fewer if the test's own time ate into it.
    assert looks[:5] == [1.0, 2.0, 4.0, 8.0, 16.0] and max(looks) == 30.0 and len(looks) <= 8
    [superseding] = events(log_stream, "reply.supersedes_earlier")
    assert (superseding["earlier"], superseding["reason"]) == (promise, "waited_out")
    assert state(redis, promise) == b"superseded" and DeadLetters(redis).count() == 0


def test_send_cek_later_waits_for_its_promise_too(
    settings: Settings, redis: Redis, api: AggregatorApi, log_stream: io.StringIO,
) -> None:
    """The case store away through every retry: "send CEK later" is the answer, and follows the promise as the
    status does, also when the promise's send was retried meanwhile."""
    answers = iter([httpx.Response(503, text="Message queue full")])
    api.route.side_effect = lambda request: next(answers, ACCEPTED)
    promise, _ = queue_cek(redis, settings)  # no case store: it does not answer
    drain(settings, (REPLY_QUEUE,))  # the promise fails: retried in a second
    for _ in range(len(settings.queues.retry_intervals) + 1):  # the status job's tries, faster than the promise's
        drain(settings, (STATUS_QUEUE,))
        status = queue(STATUS_QUEUE, redis)
        for job_id in status.scheduled_job_registry.get_job_ids():
            status.scheduled_job_registry.remove(job_id)
            status.enqueue_job(status.fetch_job(job_id))
    assert the_answer(redis)["text"] == SEND_CEK_LATER
    [letter] = DeadLetters(redis).list()
    assert letter.queue == STATUS_QUEUE and letter.args[0]["promise_reply_id"] == promise
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [PROMISE, SEND_CEK_LATER] and len(api.parts()) == 2
    # It waited for the promise (once, or again when the promise's retry came due after it on a loaded machine).
    waited_for = {event["earlier"] for event in events(log_stream, "reply.waits_for_earlier")}
    assert waited_for == {promise}


def test_a_status_job_queued_without_a_promise_id_answers_as_before(
    casestore: CaseStoreServer, settings: Settings, redis: Redis, api: AggregatorApi
) -> None:
    """A status job an older gateway queued names no promise: its answer follows nothing and goes at once."""
    query = {"source": SOURCE, "to": NUMBER, "tracking_id": TRACKING_ID, "language": "id", "status_id": "older"}
    enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [(query,)])
    drain(settings, (STATUS_QUEUE,))
    assert "after_reply" not in the_answer(redis)
    settle(settings, redis)
    assert api.texts_to(NUMBER) == [ANSWER]
