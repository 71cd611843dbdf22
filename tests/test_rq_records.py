"""What RQ itself keeps of a failed job: its traceback (`rq:results:<id>`), its call (`rq:job:<id>`) and its entry in
the failed registry, for the job's `failure_ttl` (30 days). The traceback is stored as the worker's log line shows it,
redacted; a purge of the job's dead letters deletes all of it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from redis import Redis
from rq.job import Job

from gateway.intake import Intake
from gateway.outbound import OutboundReplies
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, JSONSerializer, queue
from tests.aggregator_support import aggregator_api, drain
from tests.conftest import TestEnvironment, log_events
from tests.test_spool import draft

NUMBER = "+6281234567801"
ADDRESS = "siti.aminah@desa-sukamulya.id"
WORDS = "Pungli di kantor kelurahan Sukamulya oleh oknum petugas"


def failed_traceback(redis: Redis, queue_name: str) -> str:
    """The traceback RQ keeps of the queue's one failed job."""
    [job_id] = queue(queue_name, redis).failed_job_registry.get_job_ids()
    result = Job.fetch(job_id, connection=redis, serializer=JSONSerializer).latest_result()
    assert result is not None and result.exc_string is not None
    return result.exc_string


def test_rq_keeps_a_failed_reply_jobs_traceback_without_the_number_or_address_its_message_quotes(
    test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")
    OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="ack", text="Laporan diterima",
                                                 language="id", tracking_id="10000029", to=NUMBER)
    for api in aggregator_api():
        api.route.side_effect = TypeError(f"cannot send to {NUMBER} (copy to {ADDRESS})")  # a bug quoting both
        drain(settings, (REPLY_QUEUE,))

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
    from workers import forward

    def failing_payload(envelope: dict[str, Any], *_: Any) -> dict[str, Any]:
        raise ValueError(f"cannot build a payload of {envelope['text']!r}")  # a bug quoting the report

    monkeypatch.setattr(forward, "case_store_payload", failing_payload)
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0")
    intake = Intake(redis, settings)
    try:
        intake.commit([draft("quoted-1", WORDS)])
    finally:
        intake.close()
    drain(settings, (FORWARD_QUEUE,))

    stored = failed_traceback(redis, FORWARD_QUEUE)
    assert "ValueError: cannot build a payload of '[redacted]'" in stored
    rq_lines = [event for event in log_events(log_stream) if event.get("logger") == "rq.worker"]
    assert any("ValueError" in str(event) for event in rq_lines)
    for where, text in (("RQ's record", stored), ("RQ's log line", str(rq_lines))):
        for secret in (WORDS, "Sukamulya"):
            assert secret not in text, f"{secret!r} in {where}"
