"""Each log line reaches the stream whole: its text and its newline in one write; and names its channel as the
status views do, so that an operator's filter on `channel` finds every line of one."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
import structlog
from redis import Redis

from channels import x_mentions
from channels.registry import channel_names
from channels.x_mentions import XMentionsPoller
from gateway.channel_names import reply_source
from gateway.concat import sweep_once
from gateway.intake import Intake
from gateway.lease import Lease
from gateway.logs import bind_message_context, clear_message_context, configure_logging, get_logger
from gateway.outbound import OutboundReplies
from gateway.queues import REPLY_QUEUE
from normalizer.envelope import Channel
from tests.aggregator_support import drain
from tests.conftest import TestEnvironment, log_events
from tests.social_helpers import running_fake_provider
from workers.deadletters import DeadLetters
from workers.forward import _upload_attachments, with_triage
from workers.image_metadata import without_identifying_metadata


class Writes:
    """A stream that keeps each write apart, as a pipe shared by processes sees them."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def writes() -> Iterator[Writes]:
    stream = Writes()
    configure_logging(stream=stream)  # type: ignore[arg-type]
    yield stream
    structlog.reset_defaults()
    configure_logging()


def test_a_line_and_its_newline_are_one_write(writes: Writes) -> None:
    """structlog's PrintLogger wrote the text, then the newline: with PYTHONUNBUFFERED (set in many container
    images) each went out alone, and make run's processes, sharing one stdout, ran two lines into one (seen in a
    run's log: `process.beat_restored` and `worker.redis_back` on one line as Redis came back)."""
    get_logger().info("worker.redis_back", channel="sms", tracking_id="10000004")
    logging.getLogger("rq.worker").warning("a library's line")

    assert len(writes.writes) == 2, writes.writes
    for write in writes.writes:
        assert write.endswith("\n") and write.count("\n") == 1, write
        orjson.loads(write)


def test_a_child_forked_while_another_thread_writes_a_line_can_write_its_own() -> None:
    """A worker forks RQ's retry scheduler: a lock another thread held as it forked stayed held in the child, whose
    first line then waited forever."""
    from gateway.logs import LineLogger

    with LineLogger._lock:  # as a thread writing a line at the moment of the fork
        child = os.fork()
        if child == 0:  # pragma: no cover (the child)
            LineLogger(io.StringIO()).msg("{}")
            os._exit(0)
        deadline = time.monotonic() + 10
        while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    if done[0] == 0:
        os.kill(child, 9)
        os.waitpid(child, 0)
    assert done[0] == child and os.waitstatus_to_exitcode(done[1]) == 0, "the child waited on the lock"


# -- The channel as the status views name it ------------------------------------------------------------------------
@dataclass(frozen=True)
class World:
    """What a row's lines are logged with."""

    redis: Redis
    test_env: TestEnvironment
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch


@dataclass(frozen=True)
class ChannelLine:
    id: str
    emit: Callable[[World], None]
    event: str
    channel: str  # as `/v1/status`, the status page and `lapor-gateway status` name it
    source: str | None  # the name the line was logged with, kept where it differs


def x_poller_holds_its_lease(world: World) -> None:
    assert Lease(world.redis, "lapor-test-x", 60, channel=XMentionsPoller.channel).hold()


def x_reply_dead_lettered(world: World) -> None:
    DeadLetters(world.redis).add_new(queue=REPLY_QUEUE, func="workers.social_reply.send_social_reply", args=[],
                                     tracking_id="10000004", item="x-reply:10000004", reason="x_auth",
                                     detail="401 Unauthorized", channel=reply_source(Channel.TWITTER))


def bound_by_a_job(channel: str) -> Callable[[World], None]:
    """A line of a library (rq, httpx) while a job or a mail has bound its channel, as the reply worker and the mail
    processor bind theirs."""

    def emit(_: World) -> None:
        bind_message_context(channel=channel, tracking_id="10000004")
        try:
            logging.getLogger("rq.worker").warning("case.bound")
        finally:
            clear_message_context()

    return emit


def throttled_while_bound(_: World) -> None:
    bind_message_context(channel="x-mentions")
    try:
        get_logger().warning("case.own_source", source="10.255.255.1")
    finally:
        clear_message_context()


CHANNEL_LINES = [
    ChannelLine("an X poller's line", x_poller_holds_its_lease, "poller.active", "x", "x-mentions"),
    ChannelLine("an X reply's dead letter", x_reply_dead_lettered, "deadletter.added", "x", "x-reply"),
    ChannelLine("a library's line in an X reply job", bound_by_a_job("x-reply"), "case.bound", "x", "x-reply"),
    ChannelLine("a library's line in an Instagram reply job", bound_by_a_job("instagram-reply"), "case.bound",
                "instagram", "instagram-reply"),
    ChannelLine("a library's line while a mail over IMAP is handled", bound_by_a_job("email-imap"), "case.bound",
                "email", "email-imap"),
    ChannelLine("a line's own source (a throttled peer) is kept", throttled_while_bound, "case.own_source", "x",
                "10.255.255.1"),
]


@pytest.mark.parametrize("case", CHANNEL_LINES, ids=[case.id for case in CHANNEL_LINES])
def test_a_line_names_its_channel_as_the_status_views_do_and_keeps_its_source(
    case: ChannelLine, redis: Redis, test_env: TestEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO,
) -> None:
    """`jq 'select(.channel=="x")'` missed the X poller's lines (`x-mentions`) and its replies' (`x-reply`), and
    `email` the IMAP poller's: each line's channel is the one the views name, the name it was logged with kept."""
    case.emit(World(redis, test_env, tmp_path, monkeypatch))
    [line] = [e for e in log_events(log_stream) if e["event"] == case.event]
    assert (line["channel"], line.get("source")) == (case.channel, case.source), line
    assert line["channel"] in channel_names()


def test_a_mention_and_its_reply_read_channel_x_from_the_poll_to_the_reply(
    redis: Redis, test_env: TestEnvironment, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    """The whole way, in the lines the processes write: the poller's round, the mention it files, a library's line
    after the round's mentions are taken, and the reply job's lines all read `x`, each keeping its source."""
    after_mentions = x_mentions.after_poll_success

    def said_by_a_library(*args: object) -> None:
        logging.getLogger("tweepy.client").warning("case.after_the_mentions")
        after_mentions(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(x_mentions, "after_poll_success", said_by_a_library)
    with running_fake_provider() as fake:
        settings = test_env.settings(**fake.env())
        fake.state.add_tweet("@lapor1708 lampu jalan di gang mawar mati sebulan")
        intake = Intake(redis, settings)
        try:
            XMentionsPoller(settings, redis, intake).poll_once()
        finally:
            intake.close()
        drain(settings, (REPLY_QUEUE,))
    lines = {e["event"]: (e.get("channel"), e.get("source")) for e in log_events(log_stream)}
    assert {event: lines.get(event) for event in ("message.accepted", "case.after_the_mentions",
                                                   "channel.polled", "reply.sent")} == {
        "message.accepted": ("x", "x-mentions"), "case.after_the_mentions": ("x", "x-mentions"),
        "channel.polled": ("x", "x-mentions"), "reply.sent": ("x", "x-reply")}
    assert lines["worker.ready"] == (None, None)  # the round's channel is not the worker's after it


# -- Lines about one channel's work carry it --------------------------------------------------------------------
GONE_FILE = {"location": "attachments/ab/" + "ab" * 32, "sha256": "ab" * 32, "content_type": "image/jpeg",
             "size": 10, "name": None, "flags": []}


def reply_queued_outside_a_message(world: World) -> None:
    OutboundReplies(world.redis, world.test_env.settings()).queue_reply(
        source="sms-aggregator", kind="status", text="Status laporan", language="id", tracking_id="10000004",
        to="+6281234567801")


def triage_failed(_: World) -> None:
    envelope = {"tracking_id": "10000004", "channel": "twitter", "source": "x-mentions"}
    with_triage(RuntimeError("model not loaded"), envelope, dict(envelope))


def attachment_not_uploaded(world: World) -> None:
    payload = {"tracking_id": "10000004", "channel": "email", "source": "email-smtp", "attachments": [GONE_FILE]}
    context = SimpleNamespace(settings=SimpleNamespace(data_dir=world.tmp_path), casestore=None)
    _upload_attachments(context, [payload], {})  # type: ignore[arg-type]


def metadata_not_removed(world: World) -> None:
    envelope = {"tracking_id": "10000004", "channel": "email", "source": "email-imap", "anonymous": True,
                "attachments": [GONE_FILE]}
    without_identifying_metadata(world.tmp_path, {"10000004": envelope})


def dead_letter_purged(world: World) -> None:
    letters = DeadLetters(world.redis)
    letter = letters.add_new(queue=REPLY_QUEUE, func="workers.social_reply.send_social_reply", args=[],
                             tracking_id="10000004", item="instagram-reply:10000004", reason="instagram_auth",
                             detail="401", channel="instagram-reply")
    assert letters.purge([letter], envelope_ttl=60) == 1


def expired_parts_not_taken(_: World) -> None:
    message = SimpleNamespace(source="sms-aggregator", personal_values=lambda: ())
    buffer = SimpleNamespace(claim_due=lambda: [("lapor:concat:1", message)])

    async def handle(_key: str, _message: object) -> None:
        raise LookupError("no adapter of that name")  # before the handler bound anything

    asyncio.run(sweep_once(buffer, handle))  # type: ignore[arg-type]


@dataclass(frozen=True)
class FixedLine:
    id: str
    emit: Callable[[World], None]
    event: str
    channel: str
    source: str | None


FIXED_LINES = [
    FixedLine("a reply queued outside a message's handling (a status job's answer)", reply_queued_outside_a_message,
              "reply.queued", "sms-aggregator", None),
    FixedLine("a report's triage that failed in the forward job", triage_failed, "triage.failed", "x", "x-mentions"),
    FixedLine("a report's file the forward job could not upload", attachment_not_uploaded, "forward.attachment_failed",
              "email", "email-smtp"),
    FixedLine("an anonymous report's file withheld", metadata_not_removed, "attachment.metadata_not_removed", "email",
              "email-imap"),
    FixedLine("a dead letter an operator purged", dead_letter_purged, "deadletter.purged", "instagram",
              "instagram-reply"),
    FixedLine("a message whose parts expired, failing before its handler bound its channel", expired_parts_not_taken,
              "concat.expired_not_taken", "sms-aggregator", None),
]


@pytest.mark.parametrize("case", FIXED_LINES, ids=[case.id for case in FIXED_LINES])
def test_a_line_about_one_channels_work_names_the_channel(
    case: FixedLine, redis: Redis, test_env: TestEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO,
) -> None:
    """These lines, each about one report, reply or message, named no channel: a filter on the channel missed them."""
    clear_message_context()
    case.emit(World(redis, test_env, tmp_path, monkeypatch))
    [line] = [e for e in log_events(log_stream) if e["event"] == case.event]
    assert (line.get("channel"), line.get("source")) == (case.channel, case.source), line
