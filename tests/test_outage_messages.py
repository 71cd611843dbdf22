"""Messages around a Redis outage: every one acknowledged reaches Redis and the case store, and its citizen is answered.

Redis is taken away as in tests/test_faults.py: a Redis of the test's own, stopped, or paused with SIGSTOP (it takes
connections and never answers), under the gateway's app on this test's loop with its spool replayer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pytest
from redis import Redis

from gateway.app import GATEWAY_KEY, create_app
from gateway.embedded_redis import EmbeddedRedis
from gateway.intake import Intake
from gateway.outbound import OutboundReplies, reply_key
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE, envelope_key, queue, redis_connection
from gateway.replies import render, status_text
from gateway.settings import Settings
from tests.aggregator_support import AggregatorApi, aggregator_settings, drain, post_callback
from tests.conftest import (
    FIXTURES,
    CaseStoreServer,
    GatewayServer,
    TestEnvironment,
    async_wait_until,
    serving_gateway,
    twilio_sid,
)
from tests.test_anonymous_traces import number_forms, redis_values
from tests.test_faults import own_redis  # noqa: F401  (a fixture)
from tests.test_sms_aggregator import api, sms  # noqa: F401  (api: a fixture)
from tests.test_twilio_intake import tracking_id_in, twiml_message
from workers.deadletters import DeadLetters

# How long the gateway's Redis client waits for an answer (intake.redis_timeout_seconds; 2 s by default).
REDIS_TIMEOUT = 1.0
REPORTER = "+6281234567001"
MMS = json.loads((FIXTURES / "twilio" / "inbound_mms.json").read_text())


@contextlib.contextmanager
def redis_away(server: EmbeddedRedis, how: str) -> Iterator[None]:
    """Redis stopped (connections refused), or paused (it takes them and never answers), inside the block."""
    if how == "stopped":
        server.stop()
        try:
            yield
        finally:
            server.start()
        return
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


def envelope_of(redis: Redis, message_id: str) -> dict[str, object] | None:
    """The envelope in Redis of the report made of provider message `message_id`."""
    for key in redis.scan_iter(envelope_key("*")):
        raw = redis.get(key)
        envelope = orjson.loads(raw) if raw else {}
        if envelope.get("channel_message_id") == message_id:
            return envelope  # type: ignore[no-any-return]
    return None


def outage_settings(test_env: TestEnvironment, server: EmbeddedRedis) -> Settings:
    """Forward jobs at once (no linger): a test drains them right after a report."""
    return test_env.settings(REDIS_URL=server.url, LAPOR_INTAKE_FORWARD_LINGER_MS="0")


@dataclass(frozen=True)
class FollowUpRow:
    id: str
    outage: str  # "stopped" or "hanging"
    form: dict[str, str] = field(default_factory=dict)  # the follow-up's Twilio fields ({parent}: the report's ID)
    parent_forwarded: bool = False  # the case store had the report before the outage
    anonymous: bool = True  # the follow-up as stored
    files: int = 0


FOLLOW_UPS = [
    # The gateway's copy of the report cannot be read and the case store does not have it: anonymous, privacy first.
    FollowUpRow("text-redis-stopped", "stopped", {"Body": "{parent} sekarang lubangnya makin besar"}),
    FollowUpRow("text-redis-hanging", "hanging", {"Body": "{parent} sekarang lubangnya makin besar"}),
    # The case store has it: its flags (an open report, an open follow-up).
    FollowUpRow("text-report-at-the-case-store", "stopped", {"Body": "{parent} sekarang lubangnya makin besar"},
                parent_forwarded=True, anonymous=False),
    # CEK with a photo is the photo added to the report, not a status query.
    FollowUpRow("cek-with-a-photo-redis-stopped", "stopped",
                {**MMS, "Body": "CEK {parent}", "NumMedia": "1", "From": REPORTER}, files=1),
    FollowUpRow("cek-with-a-photo-redis-hanging", "hanging",
                {**MMS, "Body": "CEK {parent}", "NumMedia": "1", "From": REPORTER}, files=1),
]


@pytest.mark.parametrize("row", FOLLOW_UPS, ids=lambda row: row.id)
async def test_a_twilio_follow_up_while_redis_is_away_is_answered_from_the_spool_and_reaches_the_case_store(
    row: FollowUpRow, own_redis: EmbeddedRedis, test_env: TestEnvironment, casestore: CaseStoreServer,  # noqa: F811
) -> None:
    """Twilio does not send an inbound-message webhook again: a follow-up answered 503 while Redis was away (its
    report's copy could not be read) was lost, its photo with it, where a new report was answered from the spool. It
    is now resolved as one whose report's copy is gone (the case store's flags, or anonymous), spooled like any
    report, and added to its report once Redis is back. While intake already spools, Redis is not asked at all:
    a Redis that hangs costs the next follow-ups nothing."""
    settings = outage_settings(test_env, own_redis)
    async with serving_gateway(settings, redis_connection(own_redis.url, timeout=REDIS_TIMEOUT)) as gateway:
        first = await gateway.post_twilio(gateway.twilio_form(From=REPORTER, MessageSid=twilio_sid("parent"),
                                                              SmsSid=twilio_sid("parent"),
                                                              Body="Jalan berlubang di depan SDN 3"))
        parent = tracking_id_in(twiml_message(first.text))  # Redis answers: this also leases the spool's reserve
        if row.parent_forwarded:
            drain(settings, (FORWARD_QUEUE,))
            assert casestore.get(parent) is not None
        sids = [twilio_sid("follow1"), twilio_sid("follow2")]
        answered_in = []
        with redis_away(own_redis, row.outage):
            for number, sid in enumerate(sids):
                form = gateway.twilio_form(**{**row.form, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid})
                # Each an addition of its own: the same text sent again would be one (a same-text repeat).
                form["Body"] = form["Body"].format(parent=parent) + " lagi" * number
                started = time.monotonic()
                response = await gateway.post_twilio(form)
                answered_in.append(time.monotonic() - started)
                assert response.status_code == 200, response.text
                assert twiml_message(response.text) == render("follow_up", "id", follow_up_of=parent)
        # The second one finds intake spooling: no wait for Redis (a hang's timeout) before its answer.
        assert answered_in[1] < REDIS_TIMEOUT, answered_in
        redis = Redis.from_url(own_redis.url)
        try:
            envelopes = await async_wait_until(lambda: [envelope_of(redis, sid) for sid in sids] if all(
                envelope_of(redis, sid) for sid in sids) else None, timeout=15)
        finally:
            redis.close()
    for envelope in envelopes:  # type: ignore[attr-defined]
        assert (envelope["follow_up_of"], envelope["anonymous"]) == (parent, row.anonymous)
    drain(settings, (FORWARD_QUEUE,))
    for envelope in envelopes:  # type: ignore[attr-defined]
        stored = casestore.get(str(envelope["tracking_id"]))
        assert stored is not None
        assert (stored["follow_up_of"], stored["anonymous"]) == (parent, row.anonymous)
        assert stored["sender"]["kind"] == ("reply_handle" if row.anonymous else "msisdn")  # type: ignore[index]
        assert len(stored["attachments"]) == row.files  # type: ignore[arg-type]
    assert queue(FORWARD_QUEUE, Redis.from_url(own_redis.url)).count == 0


@pytest.mark.parametrize("how", ["stopped", "hanging"])
async def test_a_gateway_just_started_answers_sms_from_the_spool_before_any_report_went_through_redis(
    how: str, own_redis: EmbeddedRedis, test_env: TestEnvironment, casestore: CaseStoreServer,  # noqa: F811
) -> None:
    """The reserve of Tracking IDs the spool gives out was leased only after a report went through Redis: a gateway
    just started (or restarted after a crash, which took its reserve with it) answered every SMS 503 in an outage
    before that, and Twilio never sends those again, while the views said the spool answered them. The spool
    replayer leases it once Redis answers."""
    settings = outage_settings(test_env, own_redis)
    app = create_app(settings, redis_connection(own_redis.url, timeout=REDIS_TIMEOUT))
    intake = app[GATEWAY_KEY].intake
    assert intake.reserve == 0  # none saved in the spool directory: a first start, or one after a crash
    async with serving_gateway(settings, intake.redis, app=app) as gateway:
        await async_wait_until(lambda: intake.reserve >= settings.intake.id_reserve, timeout=10)
        sid = twilio_sid("first-after-start")
        with redis_away(own_redis, how):
            response = await gateway.post_twilio(gateway.twilio_form(MessageSid=sid, SmsSid=sid, SmsMessageSid=sid,
                                                                     Body="Jalan berlubang di depan SDN 3"))
            assert response.status_code == 200, response.text
            tracking_id = tracking_id_in(twiml_message(response.text))
        redis = Redis.from_url(own_redis.url)
        await async_wait_until(lambda: envelope_of(redis, sid) is not None, timeout=15)
        assert envelope_of(redis, sid)["tracking_id"] == tracking_id  # type: ignore[index]


@pytest.mark.parametrize("outage", ["stopped", "hanging"])
async def test_the_same_twilio_sms_sent_twice_while_redis_is_away_is_one_case(
    outage: str, own_redis: EmbeddedRedis, test_env: TestEnvironment, casestore: CaseStoreServer,  # noqa: F811
) -> None:
    """A citizen who hears nothing sends the SMS again, the likelier while the gateway is in trouble: with Redis
    away nothing was looked up, and the second send was answered with a second Tracking ID and became a second case
    at the agency. It is answered "we already have this report" with the first's ID, and the case store gets one."""
    settings = outage_settings(test_env, own_redis)
    text = "Lampu jalan di Jl. Kenanga mati sudah seminggu"
    async with serving_gateway(settings, redis_connection(own_redis.url, timeout=REDIS_TIMEOUT)) as gateway:
        warm = await gateway.post_twilio(gateway.twilio_form(From=REPORTER, MessageSid=twilio_sid("warm"),
                                                             SmsSid=twilio_sid("warm"), Body="Jalan berlubang"))
        assert warm.status_code == 200  # Redis answers: this also leases the spool's reserve
        answers = []
        with redis_away(own_redis, outage):
            for name in ("send1", "send2"):
                sid = twilio_sid(name)
                response = await gateway.post_twilio(gateway.twilio_form(From=REPORTER, MessageSid=sid, SmsSid=sid,
                                                                         SmsMessageSid=sid, Body=text))
                assert response.status_code == 200, response.text
                answers.append(twiml_message(response.text))
        first = tracking_id_in(answers[0])
        assert answers == [render("ack", "id", tracking_id=first), render("duplicate", "id", tracking_id=first)]
        redis = Redis.from_url(own_redis.url)
        try:
            await async_wait_until(lambda: envelope_of(redis, twilio_sid("send1")), timeout=15)
        finally:
            redis.close()
    drain(settings, (FORWARD_QUEUE,))
    assert [report["tracking_id"] for report in casestore.reports() if report["text"] == text] == [first]


@contextlib.contextmanager
def replay_held(intake: Intake) -> Iterator[threading.Event]:
    """The gateway's spool replayer waits at its next round until the event is set: the moment before it comes round
    (once a second) after Redis answers again, held as long as the test needs. What it then runs is the real replay."""
    let_go = threading.Event()
    replay = intake.replay_spool

    def when_let_go() -> int:
        let_go.wait(30)
        return replay()

    intake.replay_spool = when_let_go  # type: ignore[method-assign]
    try:
        yield let_go
    finally:
        let_go.set()
        intake.replay_spool = replay  # type: ignore[method-assign]


async def _report_spooled_after_redis_returned(gateway: GatewayServer, intake: Intake, embedded: EmbeddedRedis,
                                               redis: Redis, message_id: str,
                                               text: str = "Lampu jalan mati di Jl. Merdeka") -> str:
    """The Tracking ID of an aggregator's SMS spooled just after Redis came back (the replayer held): Redis answers
    again, the replayer has not come round yet, so the report is in the spool, in neither Redis nor the case store."""
    # Redis answers: this also leases the reserve the spool draws on.
    await gateway.post_twilio(gateway.twilio_form(MessageSid=twilio_sid("before"), SmsSid=twilio_sid("before")))
    with redis_away(embedded, "stopped"):
        spooled = await gateway.post_twilio(gateway.twilio_form(MessageSid=twilio_sid("during"),
                                                              SmsSid=twilio_sid("during")))
        assert spooled.status_code == 200 and intake.spooling
    response = await post_callback(gateway.client, sms(REPORTER, text, message_id))
    assert response.status_code == 200, response.text
    [answer] = response.json()["messages"]
    assert not redis.exists(envelope_key(answer["tracking_id"]))  # in the spool, its answers queued in Redis
    return str(answer["tracking_id"])


def _requeue_due(redis: Redis, name: str) -> None:
    """Every job waiting for its retry on queue `name` back on it, as RQ's scheduler does once its interval is up."""
    target = queue(name, redis)
    for job_id in target.scheduled_job_registry.get_job_ids():
        target.scheduled_job_registry.remove(job_id)
        target.enqueue_job(target.fetch_job(job_id))


async def test_an_aggregator_report_spooled_just_after_redis_returned_gets_its_acknowledgement_sms(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, casestore: CaseStoreServer, api: AggregatorApi,  # noqa: F811
) -> None:
    """After a Redis failure intake writes to the spool until its replayer next finds Redis answering (within a
    second). An aggregator's callback in that window is spooled, and its acknowledgement, addressed by its Tracking
    ID, queued in Redis, which answers: the reply worker found no envelope to read the number from and dead-lettered
    it at once (`recipient_unknown`), the citizen told nothing while the aggregator had its 200 and Tracking ID. The
    reply now waits for its report's replay (retried), and then goes out."""
    settings = aggregator_settings(test_env, REDIS_URL=own_redis.url, LAPOR_QUEUES_RETRY_INTERVALS="1")
    redis = redis_connection(own_redis.url, timeout=REDIS_TIMEOUT)
    app = create_app(settings, redis)
    intake = app[GATEWAY_KEY].intake
    async with serving_gateway(settings, redis, app=app) as gateway:
        with replay_held(intake) as let_go:
            tracking_id = await _report_spooled_after_redis_returned(gateway, intake, own_redis, redis, "kannel-7")
            drain(settings, (REPLY_QUEUE,))  # the reply worker takes it at once
            assert DeadLetters(redis).count() == 0
            assert api.parts() == []
            let_go.set()
            await async_wait_until(lambda: redis.exists(envelope_key(tracking_id)), timeout=10)
    assert len(queue(REPLY_QUEUE, redis).scheduled_job_registry.get_job_ids()) == 1  # its retry, a second from then
    _requeue_due(redis, REPLY_QUEUE)
    drain(settings, (REPLY_QUEUE,))
    assert api.texts_to(REPORTER) == [render("ack", "id", tracking_id=tracking_id)]
    assert DeadLetters(redis).count() == 0
    drain(settings, (FORWARD_QUEUE,))
    assert casestore.get(tracking_id) is not None
    redis.close()


@pytest.mark.parametrize(("text", "acknowledgement"), [("Lampu jalan mati di Jl. Merdeka", "ack"),
                                                        ("ANONIM Lampu jalan mati di Jl. Merdeka", "ack_anonymous")],
                         ids=["named", "anonymous"])
async def test_a_status_query_for_a_spooled_report_before_its_replay_is_answered_later_not_as_not_found(
    text: str, acknowledgement: str, own_redis: EmbeddedRedis, test_env: TestEnvironment,  # noqa: F811
    casestore: CaseStoreServer, api: AggregatorApi,  # noqa: F811
) -> None:
    """A report answered from the disk spool is in neither Redis nor the case store until the replayer's next round
    after Redis's return. A citizen's `CEK <id>` in that window, for the ID just given, was answered "tidak
    ditemukan. Periksa kembali nomornya." (seen under load with Redis hanging for a few seconds). It is now answered
    as a case store away is: the answer follows, and the status job waits for the replay, then says "received".
    Both are addressed by the report, whose copy is not in Redis to tell whose it is: the number asking, an anonymous
    reporter's, stood beside its Tracking ID in the status job, the promise and their dead letters."""
    settings = aggregator_settings(test_env, REDIS_URL=own_redis.url, LAPOR_QUEUES_RETRY_INTERVALS="1")
    redis = redis_connection(own_redis.url, timeout=REDIS_TIMEOUT)
    app = create_app(settings, redis)
    intake = app[GATEWAY_KEY].intake
    async with serving_gateway(settings, redis, app=app) as gateway:
        with replay_held(intake) as let_go:
            tracking_id = await _report_spooled_after_redis_returned(gateway, intake, own_redis, redis, "kannel-8",
                                                                     text)
            asked = await post_callback(gateway.client, sms(REPORTER, f"CEK {tracking_id}", "kannel-9"))
            assert asked.status_code == 200, asked.text
            forms = number_forms(REPORTER)
            assert [(key, where) for key, where, value in redis_values(redis) if forms.found_in(value)] == []
            drain(settings, (STATUS_QUEUE, REPLY_QUEUE))  # the workers take them before the replay
            pending = render("status_pending", "id", tracking_id=tracking_id)
            assert api.texts_to(REPORTER) == [] and DeadLetters(redis).count() == 0  # each waits for the copy
            let_go.set()
            await async_wait_until(lambda: redis.exists(envelope_key(tracking_id)), timeout=10)
    for name in (STATUS_QUEUE, REPLY_QUEUE):
        _requeue_due(redis, name)
    drain(settings, (STATUS_QUEUE, REPLY_QUEUE))
    _requeue_due(redis, REPLY_QUEUE)  # an answer queued behind its promise may have waited a round
    drain(settings, (REPLY_QUEUE,))
    assert sorted(api.texts_to(REPORTER)) == sorted(
        [pending, render(acknowledgement, "id", tracking_id=tracking_id),
         status_text(tracking_id, "received", "id", found=True)])
    assert DeadLetters(redis).count() == 0
    redis.close()


async def test_a_twilio_status_query_for_a_spooled_report_before_its_replay_asks_to_try_again_not_not_found(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, casestore: CaseStoreServer,  # noqa: F811
) -> None:
    """Twilio's answer carries the reply, and no status job answers later: a `CEK <id>` for a report still in the
    spool is asked to be sent again later, as with a case store away, not told the ID does not exist."""
    settings = test_env.settings(REDIS_URL=own_redis.url)
    redis = redis_connection(own_redis.url, timeout=REDIS_TIMEOUT)
    app = create_app(settings, redis)
    intake = app[GATEWAY_KEY].intake
    async with serving_gateway(settings, redis, app=app) as gateway:
        with replay_held(intake):
            await gateway.post_twilio(gateway.twilio_form(MessageSid=twilio_sid("before"), SmsSid=twilio_sid("before")))
            with redis_away(own_redis, "stopped"):
                spooled = await gateway.post_twilio(gateway.twilio_form(
                    MessageSid=twilio_sid("during"), SmsSid=twilio_sid("during"), Body="Sampah menumpuk di pasar"))
                assert spooled.status_code == 200 and intake.spooling
            tracking_id = tracking_id_in(twiml_message(spooled.text))
            assert not redis.exists(envelope_key(tracking_id))  # Redis answers; the replayer has not come round
            asked = await gateway.post_twilio(gateway.twilio_form(
                MessageSid=twilio_sid("cek"), SmsSid=twilio_sid("cek"), Body=f"CEK {tracking_id}"))
            assert twiml_message(asked.text) == render("status_retry", "id", tracking_id=tracking_id)
    redis.close()


@dataclass(frozen=True)
class MissingEnvelopeRow:
    id: str
    spooled: bool  # the gateway queued the reply to a report it had put in its disk spool
    retry_intervals: str
    dead_letter: str | None  # its reason; None: retried later
    state: str


MISSING_ENVELOPE = [
    # A report whose envelope is gone from Redis (expired, deleted): no number to send to, at once.
    MissingEnvelopeRow("not-spooled", False, "1", "recipient_unknown", "dead_lettered"),
    # A report still in a spool: retried, on the queue's intervals ...
    MissingEnvelopeRow("spooled-retried", True, "1", None, "retrying"),
    # ... until they run out (a spool not replayed for about two hours with the defaults): a letter to requeue then.
    MissingEnvelopeRow("spooled-retries-run-out", True, "0", "report_not_replayed", "dead_lettered"),
]


@pytest.mark.parametrize("row", MISSING_ENVELOPE, ids=lambda row: row.id)
def test_a_reply_to_a_report_not_in_redis_waits_only_when_its_report_was_spooled(
    row: MissingEnvelopeRow, test_env: TestEnvironment, redis: Redis, api: AggregatorApi,  # noqa: F811
) -> None:
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS=row.retry_intervals)
    tracking_id = "10000004"
    queued = OutboundReplies(redis, settings).queue_reply(
        source="sms-aggregator", kind="ack", text=render("ack", "id", tracking_id=tracking_id), language="id",
        tracking_id=tracking_id, to_report=tracking_id, report_spooled=row.spooled)
    assert queued.reply_id is not None
    drain(settings, (REPLY_QUEUE,))
    assert api.parts() == []
    assert [letter.reason for letter in DeadLetters(redis).list()] == ([row.dead_letter] if row.dead_letter else [])
    assert redis.hget(reply_key(queued.reply_id), "state") == row.state.encode()
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == (0 if row.dead_letter else 1)
