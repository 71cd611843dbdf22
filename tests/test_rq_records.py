"""What RQ itself keeps of a failed job: its traceback (`rq:results:<id>`), its call (`rq:job:<id>`) and its entry in
the failed registry, for the job's `failure_ttl` (30 days); a job filed as dead letters is left out of the registry.
The traceback is stored as the worker's log line shows it, redacted; the last of the job's dead letters to leave the
registry, requeued or purged, takes all of it."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from redis import Redis
from rq.job import Job
from rq.results import Result

from gateway.intake import Intake
from gateway.outbound import OutboundReplies
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, JSONSerializer, queue
from gateway.settings import Settings
from tests.aggregator_support import aggregator_api, drain
from tests.conftest import TestEnvironment, log_events
from tests.test_forwarding import cli
from tests.test_spool import draft
from workers.deadletters import ENTRIES_KEY, DeadLetter, DeadLetters

NUMBER = "+6281234567801"
ADDRESS = "siti.aminah@desa-sukamulya.id"
WORDS = "Pungli di kantor kelurahan Sukamulya oleh oknum petugas"


def failed_job_id(redis: Redis) -> str:
    """The job the dead letters were made from (one): RQ keeps it out of its failed registry once a letter files it,
    where it counted as a job no worker could read."""
    [job_id] = {letter.job_id for letter in DeadLetters(redis).list()}
    assert job_id is not None
    return job_id


def failed_traceback(redis: Redis, queue_name: str) -> str:
    """The traceback RQ keeps of the queue's one failed job."""
    job_id = failed_job_id(redis)
    assert not queue(queue_name, redis).failed_job_registry.get_job_ids()
    result = Job.fetch(job_id, connection=redis, serializer=JSONSerializer).latest_result()
    assert result is not None and result.exc_string is not None
    return result.exc_string


def fail_a_reply(settings: Settings, redis: Redis) -> None:
    """A reply job whose every attempt ends by a bug quoting the number and an address: dead-lettered `job_failed`."""
    OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="ack", text="Laporan diterima",
                                                 language="id", tracking_id="10000029", to=NUMBER)
    for api in aggregator_api():
        api.route.side_effect = TypeError(f"cannot send to {NUMBER} (copy to {ADDRESS})")
        drain(settings, (REPLY_QUEUE,))


def fail_a_forward(settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch, texts: list[str]) -> list[str]:
    """One forward job of these reports whose every attempt ends by a bug quoting the first report: each report
    dead-lettered `forward_failed`. Their Tracking IDs."""
    from workers import forward

    def failing_payload(envelope: dict[str, Any], *_: Any) -> dict[str, Any]:
        raise ValueError(f"cannot build a payload of {envelope['text']!r}")

    monkeypatch.setattr(forward, "case_store_payload", failing_payload)
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft(f"quoted-{n}", text) for n, text in enumerate(texts)])  # one job
    finally:
        intake.close()
    drain(settings, (FORWARD_QUEUE,))
    return [receipt.tracking_id for receipt in receipts]


def rq_record(redis: Redis, job_id: str, queue_name: str) -> dict[str, bool]:
    """What RQ keeps of the job: its hash (its call), its traceback, its failed-registry entry."""
    return {"job": bool(redis.exists(Job.key_for(job_id))), "traceback": bool(redis.exists(Result.get_key(job_id))),
            "failed": redis.zscore(queue(queue_name, redis).failed_job_registry.key, job_id) is not None}


def test_rq_keeps_a_failed_reply_jobs_traceback_without_the_number_or_address_its_message_quotes(
    test_env: TestEnvironment, redis: Redis
) -> None:
    fail_a_reply(test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0"), redis)

    stored = failed_traceback(redis, REPLY_QUEUE)
    assert "TypeError: cannot send to [phone] (copy to [email])" in stored  # still says what and where
    assert "workers/reply.py" in stored
    for secret in (NUMBER, NUMBER.lstrip("+"), ADDRESS):
        assert secret not in stored


def test_rq_keeps_a_failed_forward_jobs_traceback_without_the_citizens_words(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The words are known only to the job (`sensitive_values`); RQ logs and stores the traceback after the job
    returned, and both quoted them as raised."""
    fail_a_forward(test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0"), redis,
                   monkeypatch, [WORDS])

    stored = failed_traceback(redis, FORWARD_QUEUE)
    assert "ValueError: cannot build a payload of '[redacted]'" in stored
    rq_lines = [event for event in log_events(log_stream) if event.get("logger") == "rq.worker"]
    assert any("ValueError" in str(event) for event in rq_lines)
    for where, text in (("RQ's record", stored), ("RQ's log line", str(rq_lines))):
        for secret in (WORDS, "Sukamulya"):
            assert secret not in text, f"{secret!r} in {where}"


def leave(how: str, registry: DeadLetters, letter: DeadLetter, settings: Settings) -> None:
    """The letter leaves the registry as an operator takes it out: requeued, or purged."""
    if how == "requeue":
        assert registry.requeue([letter], settings).requeued == 1
    else:
        assert registry.purge([letter], settings.intake.envelope_ttl_seconds) == 1


@pytest.mark.parametrize(("first", "last"), [("purge", "purge"), ("requeue", "purge"), ("purge", "requeue"),
                                             ("requeue", "requeue")])
def test_rqs_record_of_a_forward_job_goes_with_the_last_of_its_letters_requeued_or_purged(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch, first: str, last: str,
) -> None:
    """A requeue left RQ's copy of the job's failure for 30 days (its call, the traceback quoting the report), with
    nothing left to reach it; a purge deleted it with the first letter, while the others' failure was still being
    looked into. It goes with the last letter naming the job, whichever way each leaves; until then the other
    reports' letters stay, each requeueable on its own."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0")
    fail_a_forward(settings, redis, monkeypatch, [WORDS, "Jalan rusak di RT 03"])
    registry = DeadLetters(redis)
    job_id = failed_job_id(redis)
    one, other = registry.list()
    assert (one.job_id, other.job_id) == (job_id, job_id)
    assert rq_record(redis, job_id, FORWARD_QUEUE) == {"job": True, "traceback": True, "failed": False}
    shown = cli(test_env, "deadletters", "show", one.tracking_id)
    assert f"job_id: {job_id}" in shown.stdout, shown.stdout  # how an operator finds RQ's record and log lines

    leave(first, registry, one, settings)

    assert rq_record(redis, job_id, FORWARD_QUEUE) == {"job": True, "traceback": True, "failed": False}
    assert registry.list() == [other]

    leave(last, registry, other, settings)

    assert rq_record(redis, job_id, FORWARD_QUEUE) == {"job": False, "traceback": False, "failed": False}
    assert registry.count() == 0


def test_a_forward_jobs_record_goes_when_its_other_reports_letter_names_the_job_it_failed_in_since(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report requeued from one job's letters and failed again has a letter under the same key that names its new
    job: the old job is named by no letter left, and its record goes with its last letter; the new job's stays."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0")
    fail_a_forward(settings, redis, monkeypatch, [WORDS, "Jalan rusak di RT 03"])
    registry = DeadLetters(redis)
    old_job = failed_job_id(redis)
    again, other = registry.list()
    leave("requeue", registry, again, settings)
    drain(settings, (FORWARD_QUEUE,))  # still failing: a letter under the same key, of the requeued job
    [new_letter] = [letter for letter in registry.list() if letter.key == again.key]
    assert new_letter.job_id not in (None, old_job)

    leave("purge", registry, other, settings)

    assert rq_record(redis, old_job, FORWARD_QUEUE) == {"job": False, "traceback": False, "failed": False}
    assert rq_record(redis, str(new_letter.job_id), FORWARD_QUEUE) == {"job": True, "traceback": True,
                                                                       "failed": False}


def named_only_by_its_key(redis: Redis, letter: DeadLetter, job_id: str) -> DeadLetter:
    """The letter as an earlier version wrote it: without `job_id`, the job's id in its key."""
    stored = orjson.loads(redis.hget(ENTRIES_KEY, letter.key) or b"{}")
    del stored["job_id"]
    redis.hset(ENTRIES_KEY, letter.key, orjson.dumps(stored))
    assert letter.key.endswith(job_id)
    return DeadLetters(redis).list()[0]


def requeued_with_rqs_tools(redis: Redis, letter: DeadLetter, job_id: str) -> DeadLetter:
    """Queued again by hand with RQ's API: no longer failed."""
    queue(REPLY_QUEUE, redis).enqueue_job(Job.fetch(job_id, connection=redis, serializer=JSONSerializer))
    return letter


@pytest.mark.parametrize("how", ["purge", "requeue"])
@pytest.mark.parametrize(
    ("before", "left"),
    [
        pytest.param(None, {"job": False, "traceback": False, "failed": False}, id="named-by-the-letter"),
        pytest.param(named_only_by_its_key, {"job": False, "traceback": False, "failed": False},
                     id="an-earlier-versions-letter-named-by-its-key"),
        pytest.param(requeued_with_rqs_tools, {"job": True, "traceback": True, "failed": False},
                     id="a-job-rq-runs-again-is-left-alone"),
    ],
)
def test_a_purge_or_requeue_deletes_rqs_record_of_the_failed_reply_job_its_letter_was_made_from(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO,
    before: Callable[[Redis, DeadLetter, str], DeadLetter] | None, left: dict[str, bool], how: str,
) -> None:
    """A requeue left RQ's record of the old job (its call: the reply's number and text) for 30 days, and then no
    letter named it for a purge to find; the requeued reply is a new job."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")
    fail_a_reply(settings, redis)
    job_id = failed_job_id(redis)
    registry = DeadLetters(redis)
    [letter] = registry.list()
    assert letter.job_id == job_id
    if before is not None:
        letter = before(redis, letter, job_id)

    leave(how, registry, letter, settings)

    assert registry.count() == 0
    if how == "requeue":
        assert [job.args for job in queue(REPLY_QUEUE, redis).get_jobs() if job.id != job_id] == [letter.args]
    assert rq_record(redis, job_id, REPLY_QUEUE) == left
    told = [event.get("jobs") for event in log_events(log_stream) if event["event"] == "deadletter.failed_jobs_purged"]
    assert told == ([] if left["job"] else [1])


def test_a_jobs_description_is_its_functions_name_never_its_arguments(test_env: TestEnvironment,
                                                                      redis: Redis) -> None:
    """RQ's default description is the call with each argument's first 75 characters, which its worker logs as the
    job starts ("replies: workers.reply.send({'to': ..., 'subject': 'Pungli di ...'})") and keeps in the job's
    hash: a citizen's address and words. Every way a job is queued gives its function's name alone."""
    from gateway.outbound import REPLY_FUNC
    from gateway.queues import enqueue_calls, enqueue_later

    settings = test_env.settings()
    job_args = {"to": ADDRESS, "subject": WORDS, "text": f"kirim ke {NUMBER}"}
    now = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [(job_args,)])[0]
    later = enqueue_later(redis, settings, REPLY_QUEUE, REPLY_FUNC, (job_args,), 60)
    for job in (now, later):
        stored = redis.hget(Job.key_for(job.id), "description")
        assert stored == REPLY_FUNC.encode()
        assert Job.fetch(job.id, connection=redis, serializer=JSONSerializer).description == REPLY_FUNC
