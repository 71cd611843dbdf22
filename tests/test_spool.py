"""The disk spool: reports keep being acknowledged while Redis is down, and reach Redis once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import io
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, OutOfMemoryError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway import metrics
from gateway import spool as spool_module
from gateway.embedded_redis import EmbeddedRedis
from gateway.errors import NotDurable
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.intake import Intake, Receipt, SpoolReplayer, _Waiting, build_intake, dedup_key
from gateway.logs import scrub
from gateway.private_files import open_private
from gateway.queues import FORWARD_QUEUE, envelope_key, queue, redis_connection
from gateway.same_text import SAME_TEXT_KEY
from gateway.settings import CONFIG_DIR, Settings
from gateway.spool import (
    REPLAY_STUCK_KEY,
    Spool,
    SpoolNotWritable,
    SpoolRecord,
    decode_record,
    encode_record,
    file_stem,
)
from gateway.tracking import SEQUENCE_KEY, format_tracking_id, is_valid_tracking_id
from normalizer.envelope import Channel, ReportDraft, Sender, SenderKind
from tests.conftest import VENV_BIN, TestEnvironment, log_events
from workers.retention import remove_orphaned_temporaries


def draft(message_id: str, text: str = "Jalan rusak") -> ReportDraft:
    return ReportDraft(
        received_at=datetime(2026, 11, 22, tzinfo=UTC), channel=Channel.SMS, channel_message_id=message_id,
        sender=Sender(kind=SenderKind.MSISDN, id="+6281234567890"), text=text,
    )


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, so it can be stopped and restarted."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def intake(own_redis: EmbeddedRedis, test_env: TestEnvironment) -> Iterator[Intake]:
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_INTAKE_ID_RESERVE="50")
    connection = redis_connection(own_redis.url, timeout=1)
    made = build_intake(settings, connection)
    yield made
    made.close()


def test_records_round_trip_and_damage_is_detected() -> None:
    record = SpoolRecord("10000011", "lapor:dedup:sms:x", {"tracking_id": "10000011", "text": "ü"})
    line = encode_record(record)
    assert decode_record(line) == record
    with pytest.raises(ValueError, match="checksum"):
        decode_record(line.replace("ü".encode(), b"u"))
    with pytest.raises(ValueError, match="truncated"):
        decode_record(line[:-5])


def test_reports_are_spooled_while_redis_is_down_and_replayed_in_order(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    before = intake.commit([draft("before")])[0]
    own_redis.stop()

    during = [intake.commit([draft(f"during-{i}", f"laporan {i}")])[0] for i in range(5)]
    retried = intake.commit([draft("during-2")])[0]
    assert all(is_valid_tracking_id(r.tracking_id) for r in during)
    assert len({r.tracking_id for r in during} | {before.tracking_id}) == 6
    assert retried.tracking_id == during[2].tracking_id and retried.duplicate
    assert intake.spool is not None and intake.spool.size_bytes() > 0

    own_redis.start()
    assert intake.replay_spool() == 5
    redis = Redis.from_url(own_redis.url)
    for index, receipt in enumerate(during):
        stored = orjson.loads(redis.get(envelope_key(receipt.tracking_id)))
        assert stored["text"] == f"laporan {index}"
        assert redis.hget(dedup_key("sms", f"during-{index}"), "state") == b"committed"
    jobs = queue(FORWARD_QUEUE, redis).get_jobs()
    forwarded = [tid for job in jobs for tid in job.args[0]]
    assert forwarded == [before.tracking_id] + [r.tracking_id for r in during]  # in order, each once
    assert intake.spool.size_bytes() == 0
    assert intake.replay_spool() == 0
    # After replay, a retry of a spooled message is recognised through Redis.
    assert intake.commit([draft("during-4")])[0].tracking_id == during[4].tracking_id


@dataclass(frozen=True)
class Refusal:
    """A way a Redis answers and refuses the replay: what turns it on and off (on a connection of the test's, which
    stays authenticated), and what `spool.replay_failed` says of it."""

    id: str
    refuse: Callable[[Redis], object]
    allow: Callable[[Redis, str], object]
    error: str
    words: str


def _refuse_the_password(redis: Redis) -> None:
    redis.config_set("requirepass", "not-the-gateways")
    redis.client_kill_filter(_type="normal", skipme=True)  # the intake's connections AUTH anew


REFUSALS = [
    Refusal("a write refused (too few replicas)", lambda redis: redis.config_set("min-replicas-to-write", 1),
            lambda redis, _password: redis.config_set("min-replicas-to-write", 0), "ResponseError", "NOREPLICAS"),
    # redis-py makes this one a ConnectionError: taken for Redis still down, it was told by nothing.
    Refusal("the password refused", _refuse_the_password,
            lambda redis, password: redis.config_set("requirepass", password), "AuthenticationError",
            "invalid username-password pair"),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=[refusal.id for refusal in REFUSALS])
async def test_a_redis_that_answers_but_refuses_the_replay_is_logged_once_with_its_words(
    intake: Intake, own_redis: EmbeddedRedis, log_stream: io.StringIO, refusal: Refusal
) -> None:
    """Redis back but refusing writes (a read-only replica during a failover, full at its maxmemory, too few
    replicas) or the gateway's password: the replay fails at every round and the reports stay in the spool. The
    replayer took every Redis error for Redis still down and said nothing, and nothing else asks Redis while intake
    spools: no line said why the spool did not drain. Told once, with Redis's words, until a round goes through."""
    intake.commit([draft("before-the-outage")])  # the reserve of IDs the spool gives out
    own_redis.stop()
    spooled = intake.commit([draft("refused-replay")])[0]
    own_redis.start()
    redis = Redis.from_url(own_redis.url)
    redis.ping()
    refusal.refuse(redis)  # answers every read, takes no write; or no command at all
    replayer = SpoolReplayer(intake)
    for _ in range(3):
        await replayer.round()
    failed = [event for event in log_events(log_stream) if event["event"] == "spool.replay_failed"]
    assert [(event["reason"], event["error"]) for event in failed] == [("refusing", refusal.error)]
    assert refusal.words in str(failed[0]["detail"])
    assert redis.get(envelope_key(spooled.tracking_id)) is None and intake.spool is not None
    assert intake.spool.size_bytes() > 0

    refusal.allow(redis, own_redis.password)
    await replayer.round()
    assert redis.get(envelope_key(spooled.tracking_id)) is not None and intake.spool.size_bytes() == 0


def test_a_message_first_seen_before_the_outage_keeps_both_ids(intake: Intake, own_redis: EmbeddedRedis) -> None:
    """A retry that straddles the outage got a second ID from the spool: both IDs must exist at the case store."""
    first = intake.commit([draft("straddle")])[0]
    own_redis.stop()
    second = intake.commit([draft("straddle")])[0]
    own_redis.start()
    intake.replay_spool()
    redis = Redis.from_url(own_redis.url)
    assert second.tracking_id != first.tracking_id
    assert orjson.loads(redis.get(envelope_key(second.tracking_id)))["duplicate_of"] == first.tracking_id


def test_a_report_spooled_after_its_claim_ran_unanswered_keeps_its_one_spooled_id(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis runs the claim and its answer is lost (killed just then, or a hang that times the claim out and runs it
    once it resumes): the claim stays `pending` under an ID nobody was given, and the report is spooled and
    acknowledged with another. The replay stored the spooled report as that claim's `duplicate_of` and left the
    claim, and the provider's next retry committed it: the one SMS two reports, its citizen told a second ID."""
    intake.commit([draft("warm-up")])  # the reserve of IDs the spool gives out

    def claimed_then_redis_dies(*args: Any, **kwargs: Any) -> None:
        claim(*args, **kwargs)
        own_redis.stop()
        raise RedisConnectionError("Connection closed by server.")

    claim = intake._claim_batch
    monkeypatch.setattr(intake, "_claim_batch", claimed_then_redis_dies)
    (spooled,) = intake.commit([draft("torn-commit")])
    monkeypatch.setattr(intake, "_claim_batch", claim)
    assert spooled.spooled
    redis = Redis.from_url(own_redis.start().url)
    assert redis.hget(dedup_key("sms", "torn-commit"), "state") == b"pending"
    assert redis.hget(dedup_key("sms", "torn-commit"), "id") != spooled.tracking_id.encode()

    assert intake.replay_spool() == 1
    retried = intake.commit([draft("torn-commit")])[0]
    assert (retried.tracking_id, retried.duplicate) == (spooled.tracking_id, True)
    stored = [orjson.loads(redis.get(key)) for key in redis.scan_iter(envelope_key("*"))]
    assert [(e["tracking_id"], e.get("duplicate_of")) for e in stored if e["channel_message_id"] == "torn-commit"] == [
        (spooled.tracking_id, None)]


def test_a_claim_another_process_left_pending_is_not_taken_over_by_the_replay(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """A pending claim this process did not send may be another's commit between its claim and its store: its report
    is stored all the same, and the spooled one stays linked to it (`duplicate_of`), not a second report unlinked."""
    intake.commit([draft("warm-up")])
    own_redis.stop()
    (spooled,) = intake.commit([draft("claimed-elsewhere")])
    redis = Redis.from_url(own_redis.start().url)
    redis.hset(dedup_key("sms", "claimed-elsewhere"), mapping={"id": "10000999", "state": "pending"})
    intake.replay_spool()
    assert redis.hmget(dedup_key("sms", "claimed-elsewhere"), "id", "state") == [b"10000999", b"pending"]
    assert orjson.loads(redis.get(envelope_key(spooled.tracking_id)))["duplicate_of"] == "10000999"


def test_a_report_whose_store_ran_as_redis_went_away_is_spooled_under_the_id_it_was_stored_with(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's MULTI/EXEC ran, and its answer was lost (Redis killed or timed out just then): the report is in
    Redis under its claim's ID and was spooled too. Spooled under a new ID from the reserve, it was a second report at
    the case store (`duplicate_of` the first), and the citizen was told the one ID and the provider's retry the other.
    Spooled under the claim's ID, it is one report; so is one in the same batch whose claim was committed before."""
    (before,) = intake.commit([draft("committed-before")])

    def stored_then_redis_dies(*args: Any, **kwargs: Any) -> None:
        store(*args, **kwargs)
        own_redis.stop()
        raise RedisConnectionError("Connection closed by server.")

    store = intake._store
    monkeypatch.setattr(intake, "_store", stored_then_redis_dies)
    lost, again = intake.commit([draft("answer-lost", "jalan berlubang"), draft("committed-before")])
    monkeypatch.setattr(intake, "_store", store)
    assert lost.spooled and not lost.duplicate
    assert (again.tracking_id, again.duplicate) == (before.tracking_id, True)
    assert intake.commit([draft("answer-lost", "jalan berlubang")])[0].tracking_id == lost.tracking_id
    redis = Redis.from_url(own_redis.start().url)
    intake.replay_spool()
    assert intake.commit([draft("answer-lost", "jalan berlubang")])[0].tracking_id == lost.tracking_id
    stored = [orjson.loads(redis.get(key)) for key in redis.scan_iter(envelope_key("*"))]
    assert sorted((e["channel_message_id"], e["tracking_id"], e.get("duplicate_of")) for e in stored) == sorted([
        ("answer-lost", lost.tracking_id, None), ("committed-before", before.tracking_id, None)])


def test_corrupt_records_are_quarantined_not_replayed_forever(intake: Intake, own_redis: EmbeddedRedis) -> None:
    intake.commit([draft("warm-up")])
    own_redis.stop()
    good = intake.commit([draft("good-1")])[0]
    spool = intake.spool
    assert spool is not None
    [path] = spool.pending_files()
    with path.open("ab") as handle:
        handle.write(b"deadbeef {not json at all}\n")
        handle.write(b"0000 torn")
    own_redis.start()
    assert intake.replay_spool() == 1
    assert Redis.from_url(own_redis.url).exists(envelope_key(good.tracking_id))
    reasons = sorted(p.read_text().strip() for p in spool.quarantine.glob("*.reason"))
    assert reasons == ["checksum mismatch", "truncated record (no newline)"]
    assert intake.replay_spool() == 0


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """No file of this process grows past `limit` bytes: the kernel writes up to it (a short write) and refuses the
    rest (EFBIG), as a disk that fills mid-write does (ENOSPC). SIGXFSZ, which would end the process, is ignored."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def refuse_truncate(descriptor: int, length: int) -> None:
    raise OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize(
    ("cut_back_fails", "quarantined"),
    [
        pytest.param(False, [], id="torn-bytes-cut-back"),
        # The torn bytes stay at the end of the old file (no record of them was acknowledged); the next record
        # begins a new one.
        pytest.param(True, ["truncated record (no newline)"], id="cut-back-fails-next-record-in-a-new-file"),
    ],
)
def test_a_record_acknowledged_after_an_append_the_disk_cut_short_is_replayed(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, cut_back_fails: bool,
    quarantined: list[str],
) -> None:
    """A full disk takes part of a batch and fails the write: that batch is refused (503), the next one, once there
    is room, acknowledged. Its record was written after the torn bytes, on their line: on replay it failed the
    checksum and went to quarantine (deleted after the retention), an acknowledged report lost."""
    intake.commit([draft("warm-up")])
    own_redis.stop()
    (first,) = intake.commit([draft("before-the-disk-filled")])
    assert intake.spool is not None
    [path] = intake.spool.pending_files()
    with file_size_limit(path.stat().st_size + 40), monkeypatch.context() as patch:
        if cut_back_fails:
            patch.setattr(os, "ftruncate", refuse_truncate)
        with pytest.raises(NotDurable, match="spool failed"):
            intake.commit([draft("cut-short")])
    (third,) = intake.commit([draft("after-room-was-made")])
    own_redis.start()
    assert intake.replay_spool() == 2
    redis = Redis.from_url(own_redis.url)
    assert [orjson.loads(redis.get(envelope_key(r.tracking_id)))["channel_message_id"] for r in (first, third)] == [
        "before-the-disk-filled", "after-room-was-made"]
    assert sorted(p.read_text().strip() for p in intake.spool.quarantine.glob("*.reason")) == quarantined


def test_spool_files_are_logged_by_the_name_they_have_on_disk(
    intake: Intake, own_redis: EmbeddedRedis, log_stream: io.StringIO
) -> None:
    """An operator matches a log line to a file in the spool directory: the redaction must not take the name's
    process id and time for a phone number ("vm-[phone].replaying")."""
    intake.commit([draft("warm-up")])
    own_redis.stop()
    intake.commit([draft("during")])
    assert intake.spool is not None
    [path] = intake.spool.pending_files()
    with path.open("ab") as handle:
        handle.write(b"0000 torn")
    own_redis.start()
    assert intake.replay_spool() == 1
    claimed = path.with_suffix(".replaying").name
    logged = {e["event"]: e["file"] for e in log_events(log_stream) if "file" in e}
    assert logged == {"spool.record_quarantined": claimed, "spool.file_replayed": claimed}
    assert [p.name for p in intake.spool.quarantine.glob("*.bad")] == [f"{path.stem}-line2.bad"]


@pytest.mark.parametrize("host", ["vm", "ip-10-0-0-12", "gw-01.lapor.go.id", "6281234567890", "node-0812-3456-7890"])
def test_a_spool_file_name_reads_the_same_in_a_log_line_whatever_the_host(host: str) -> None:
    stem = file_stem(host)
    assert scrub(stem) == stem
    assert stem.startswith(f"{host}-p") == (scrub(host) == host)  # a host name that reads as a number is not kept


def test_a_spool_file_of_the_old_decimal_name_is_still_replayed(intake: Intake, own_redis: EmbeddedRedis) -> None:
    assert intake.spool is not None
    tracking_id = format_tracking_id(9_000_001)
    envelope = draft("old").with_tracking_id(tracking_id).model_dump(mode="json")
    old = intake.spool.directory / "vm-4242-1764600000000000000.spool"
    old.write_bytes(encode_record(SpoolRecord(tracking_id, dedup_key("sms", "old"), envelope)))
    assert intake.replay_spool() == 1
    assert Redis.from_url(own_redis.url).exists(envelope_key(tracking_id))
    assert not old.exists()


def spool_file_left(directory: Path, name: str, count: int, *, age_seconds: float = 0, first: int = 9_000_100
                    ) -> list[str]:
    """A spool file as a gateway that stopped left it, its last record appended `age_seconds` ago; its IDs, from
    sequence number `first` on."""
    ids = [format_tracking_id(first + n) for n in range(count)]
    path = directory / name
    path.write_bytes(b"".join(
        encode_record(SpoolRecord(t, dedup_key("sms", f"{name}-{n}"),
                                  draft(f"{name}-{n}").with_tracking_id(t).model_dump(mode="json")))
        for n, t in enumerate(ids)))
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return ids


@pytest.fixture
def other_gateway(own_redis: EmbeddedRedis, test_env: TestEnvironment) -> Iterator[Intake]:
    """The intake of another gateway process on the same data directory: its own spool files, its own replayer."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_INTAKE_ID_RESERVE="50")
    made = build_intake(settings, redis_connection(own_redis.url, timeout=1))
    yield made
    made.close()


def test_a_file_one_replayer_claimed_is_not_replayed_by_another(
    intake: Intake, other_gateway: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two gateways on one data directory replay in the same second. The claim (a rename) keeps the file's mtime,
    and a `.replaying` file a minute old was taken as abandoned: with the last report spooled over a minute before
    Redis came back, the other replayer took the file the moment it was claimed, stored its reports again (each
    forward job enqueued twice) and one of them failed to delete it (`spool.replay_failed`)."""
    assert intake.spool is not None
    ids = spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 3, age_seconds=120)
    in_store, let_go = threading.Event(), threading.Event()
    store = intake._store

    def store_when_let_go(items: dict[str, tuple[bytes | str, str | None]], *, hold: bool = False) -> None:
        in_store.set()  # the first replayer has claimed the file and its reports, not stored them yet
        let_go.wait(10)
        store(items, hold=hold)

    monkeypatch.setattr(intake, "_store", store_when_let_go)
    outcome: dict[str, object] = {}

    def first_replayer() -> None:
        try:
            outcome["replayed"] = intake.replay_spool()
        except Exception as error:  # what run_spool_replayer logs as spool.replay_failed
            outcome["error"] = error

    thread = threading.Thread(target=first_replayer)
    thread.start()
    try:
        assert in_store.wait(10)
        replayed_by_the_other = other_gateway.replay_spool()
    finally:
        let_go.set()
        thread.join(10)
    assert (outcome, replayed_by_the_other) == ({"replayed": 3}, 0)
    jobs = queue(FORWARD_QUEUE, Redis.from_url(own_redis.url)).get_jobs()
    assert sorted(t for job in jobs for t in job.args[0]) == ids  # each once
    assert intake.spool.pending_files() == []


def test_a_report_spooled_while_another_gateway_replays_is_not_lost(
    intake: Intake, other_gateway: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis is back; this gateway has not noticed yet and still spools while another one replays. That one took
    this gateway's own file (renamed it): an append that had opened the file before the rename wrote to it after
    the other had read it to its end, and went with the file when it was deleted. Acknowledged and lost."""
    intake.commit([draft("warm-up")])
    own_redis.stop()
    (first,) = intake.commit([draft("spooled-before")])
    own_redis.start()
    opened, let_go = threading.Event(), threading.Event()

    def open_and_wait(path: Path, **kwargs: bool) -> BinaryIO:  # the writer descheduled between open and write
        handle = open_private(path, **kwargs)
        opened.set()
        let_go.wait(10)
        return handle

    monkeypatch.setattr(spool_module, "open_private", open_and_wait)
    receipts: list[Receipt] = []
    writer = threading.Thread(target=lambda: receipts.extend(intake.commit([draft("spooled-meanwhile")])))
    writer.start()
    try:
        while writer.is_alive() and not opened.wait(0.01):  # a writer that keeps its file open opens nothing
            pass
        replayed_by_the_other = other_gateway.replay_spool()
    finally:
        let_go.set()
        writer.join(10)
    intake.replay_spool()
    (second,) = receipts
    redis = Redis.from_url(own_redis.url)
    assert [redis.exists(envelope_key(r.tracking_id)) for r in (first, second)] == [1, 1]
    assert replayed_by_the_other == 0  # a live gateway's file is its own to replay


def test_a_file_whose_replayer_stopped_is_taken_over_at_once(intake: Intake, own_redis: EmbeddedRedis) -> None:
    """A `.replaying` file no live process holds (its replayer stopped mid-replay) is the next replayer's at once;
    it waited a minute after its last append."""
    assert intake.spool is not None
    ids = spool_file_left(intake.spool.directory, "vm-p1f-t1.replaying", 2)
    assert intake.replay_spool() == 2
    redis = Redis.from_url(own_redis.url)
    assert all(redis.exists(envelope_key(tracking_id)) for tracking_id in ids)


class FailsAfterFirstLine:
    """A spool file open for reading whose disk fails (EIO) after its first line."""

    def __init__(self, handle: BinaryIO, error: OSError) -> None:
        self._handle, self._error = handle, error

    def __enter__(self) -> FailsAfterFirstLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[bytes]:
        yield self._handle.readline()
        raise self._error


@pytest.mark.parametrize(
    ("failing_mode", "error"),
    [
        # The replayer's open for its lock refused: a file a gateway run as another user (root) left behind.
        pytest.param("r+b", PermissionError(errno.EACCES, "Permission denied"), id="cannot-be-opened"),
        pytest.param("rb", OSError(errno.EIO, "Input/output error"), id="io-error-mid-file"),
    ],
)
def test_a_spool_file_that_cannot_be_read_does_not_hold_back_the_files_after_it(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO,
    failing_mode: str, error: OSError,
) -> None:
    """The oldest file cannot be read: the replay raised at it every round (`spool.replay_failed` once a second),
    and the reports in every newer file stayed in the spool for as long. It is left as it is, nothing of it deleted,
    told once, and replayed once it can be read."""
    assert intake.spool is not None
    older = spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    newer = spool_file_left(intake.spool.directory, "vm-p2f-t2.spool", 2, first=9_000_200)
    real_open = Path.open

    def failing_open(path: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        handle = real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]
        if path.stem != "vm-p1f-t1" or mode != failing_mode:
            return handle
        if mode == "rb":
            return FailsAfterFirstLine(handle, error)
        handle.close()
        raise error

    monkeypatch.setattr(Path, "open", failing_open)
    assert [intake.replay_spool() for _ in range(2)] == [2, 0]
    redis = Redis.from_url(own_redis.url)
    assert all(redis.exists(envelope_key(tracking_id)) for tracking_id in newer)
    assert [path.stem for path in intake.spool.pending_files()] == ["vm-p1f-t1"]
    told = [e for e in log_events(log_stream) if e["event"] == "spool.file_unreadable"]
    assert [(e["error"], e["errno"]) for e in told] == [(type(error).__name__, error.errno)]

    monkeypatch.setattr(Path, "open", real_open)
    assert intake.replay_spool() == 2
    assert all(redis.exists(envelope_key(tracking_id)) for tracking_id in older)
    assert intake.spool.pending_files() == []


async def test_a_spool_the_replayer_cannot_empty_while_redis_answers_turns_every_view_degraded(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO,
) -> None:
    """Answered reports in a spool file the replayer cannot read never reach Redis nor the case store, and with Redis
    up every view said all ok beside the spool's size. After 30 s of rounds that found Redis answering, the replayer
    says so (`spool.replay_stuck`, once) and every view is degraded naming the host, the bytes and why, until the
    spool is empty again."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    real_open = Path.open

    def refused(path: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        if path.stem == "vm-p1f-t1" and mode == "r+b":  # left by a gateway run as another user
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refused)
    shift = [0.0]
    replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    redis = Redis.from_url(own_redis.url)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: time.time() + shift[0])

    def stuck_events() -> list[str]:
        return [e["event"] for e in log_events(log_stream) if e["event"].startswith("spool.replay_")]

    await replayer.round()
    shift[0] = 20.0
    await replayer.round()
    assert (monitor.status()["overall"], redis.exists(REPLAY_STUCK_KEY), stuck_events()) == ("ok", 0, [])
    shift[0] = 31.0
    await replayer.round()
    await replayer.round()
    document = monitor.check()  # as the gateway's health loop: the metrics set too
    assert document["overall"] == "degraded"
    [stuck] = document["spool_stuck"]
    assert stuck["bytes"] == intake.spool.size_bytes() > 0
    assert stuck["reason"] == "vm-p1f-t1.spool: PermissionError; see spool.file_unreadable"
    assert (f"DEGRADED: disk spool on {stuck['host']} ({stuck['bytes']} bytes of answered reports not replayed "
            f"into Redis since {stuck['since']}") in document["reason"]
    assert metrics.SPOOL_REPLAY_STUCK._value.get() == 1
    assert stuck_events() == ["spool.replay_stuck"]

    monkeypatch.setattr(Path, "open", real_open)
    await replayer.round()
    document = monitor.status()
    assert (document["overall"], document["spool_stuck"], redis.exists(REPLAY_STUCK_KEY)) == ("ok", [], 0)
    assert stuck_events() == ["spool.replay_stuck", "spool.replay_unstuck"]


@pytest.mark.parametrize(("case", "replayer_skew", "views_skew", "entry_age", "shown"), [
    ("the replayer's host runs 90 s behind: its fresh entry is shown", -90.0, 0.0, None, True),
    ("the views' host runs a minute behind: an entry 31 s old by Redis is not", 0.0, -60.0, 31.0, False),
    ("the views' host runs a minute ahead: an entry 10 s old by Redis is shown", 0.0, 60.0, 10.0, True),
])
async def test_a_stuck_spools_freshness_is_told_by_redis_clock_not_the_hosts(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, case: str, replayer_skew: float,
    views_skew: float, entry_age: float | None, shown: bool,
) -> None:
    """The replayer and the status views run on different hosts (another gateway, an operator's `lapor-gateway
    status`), whose clocks may differ by minutes. Told by each host's own, a stuck spool's entry from a host 30 s
    behind was never shown (its reports never reaching the case store, every view all ok), and one that stopped
    refreshing was shown for as long after on a host behind it."""
    assert intake.spool is not None
    redis = Redis.from_url(own_redis.url)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: time.time() + views_skew)
    if entry_age is None:
        spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
        real_open = Path.open

        def refused(path: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
            if path.stem == "vm-p1f-t1" and mode == "r+b":
                raise PermissionError(errno.EACCES, "Permission denied")
            return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(Path, "open", refused)
        shift = [replayer_skew]
        replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
        await replayer.round()
        shift[0] += 31.0
        await replayer.round()
        assert redis.exists(REPLAY_STUCK_KEY), case
    else:
        seconds, microseconds = redis.time()
        redis.hset(REPLAY_STUCK_KEY, "vm:/srv/spool", orjson.dumps({
            "host": "vm", "since": seconds - 60, "at": seconds + microseconds / 1e6 - entry_age, "bytes": 10,
            "reason": "not replayed"}))
    document = monitor.status()
    assert (bool(document["spool_stuck"]), document["overall"]) == (shown, "degraded" if shown else "ok"), case


async def test_a_stuck_spools_reason_names_a_file_another_live_process_holds(
    intake: Intake, own_redis: EmbeddedRedis, log_stream: io.StringIO,
) -> None:
    """A file whose lock another live process holds (a gateway on the same directory cut off from Redis, or hung,
    writing or replaying it) is not this replayer's to take, and no `spool.file_unreadable` is logged for it: the
    headline said "not replayed; see spool.file_unreadable", a line the operator would look for in vain. A file made
    readable again is no longer named either: the reason is the latest round's."""
    assert intake.spool is not None
    held = intake.spool.directory / "other-p99-t1.replaying"
    spool_file_left(intake.spool.directory, held.name, 3, age_seconds=5)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'r+b'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(held)],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        shift = [0.0]
        replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
        intake.spool.last_unreadable = "vm-p1f-t1.spool: PermissionError; see spool.file_unreadable"  # made readable
        await replayer.round()
        shift[0] = 31.0
        await replayer.round()
        document = HealthMonitor(Redis.from_url(own_redis.url), load_rules(CONFIG_DIR / "health.toml")).status()
        [stuck] = document["spool_stuck"]
        assert stuck["reason"] == ("other-p99-t1.replaying: held by another live process (a gateway cut off from "
                                   "Redis, or hung)")
        assert "file_unreadable" not in document["reason"]
        assert [e["reason"] for e in log_events(log_stream) if e["event"] == "spool.replay_stuck"] == [stuck["reason"]]
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("written", [b'"x"', b'[1]', b'{"n": 1}', b'null', b'true'])
def test_a_stuck_spools_entry_with_a_damaged_size_is_shown_without_failing_the_status(
    own_redis: EmbeddedRedis, written: bytes,
) -> None:
    """An entry written by hand or by another version with a size that is no number: every view's status failed
    (`int()` of it), overall unknown, where the stuck spool is what there is to say."""
    redis = Redis.from_url(own_redis.url)
    seconds, _ = redis.time()
    redis.hset(REPLAY_STUCK_KEY, "vm:/srv/spool", b'{"host": "vm", "since": %d, "at": %d, "bytes": %s, '
               b'"reason": "not replayed"}' % (seconds - 60, seconds, written))
    document = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status()
    assert document["overall"] == "degraded"
    assert [(stuck["host"], stuck["bytes"]) for stuck in document["spool_stuck"]] == [("vm", 0)]


@pytest.mark.parametrize("since", [b'"x"', b'null', b'[1]', b'{}'])
def test_a_stuck_spools_since_is_its_replayers_earliest_readable_one(own_redis: EmbeddedRedis, since: bytes) -> None:
    """One replayer's entry with a damaged `since` (by hand, another version) sorted first as 0 and stood for the
    spool's: the views said stuck since nothing, where the other replayer said since when."""
    redis = Redis.from_url(own_redis.url)
    seconds, _ = redis.time()
    for field, written in ((b"vm-p1-t1", b"%d" % (seconds - 60)), (b"vm-p2-t2", since)):
        redis.hset(REPLAY_STUCK_KEY, field, b'{"spool": "0123456789abcdef", "host": "vm", "since": %s, "at": %d, '
                   b'"bytes": 10, "reason": "not replayed"}' % (written, seconds))
    [stuck] = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status()["spool_stuck"]
    assert stuck["since"] == datetime.fromtimestamp(seconds - 60, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def fail_every_replay(monkeypatch: pytest.MonkeyPatch, intake: Intake) -> None:
    """Each replay of `intake`'s spool fails on an error of its own, not Redis's (a record this version cannot
    store): the spool stays stuck while Redis answers."""

    def fails(records: object) -> int:
        raise ValueError("a record this version cannot store")

    monkeypatch.setattr(intake, "_replay_batch", fails)


async def test_a_replay_failing_every_round_on_an_error_not_redis_is_a_stuck_spool(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis answers and the replay fails each round on an error of its own (a bug, a record it cannot store): taken
    for Redis down, the stuck spool was never told and every view said all ok while no spooled report reached the
    case store."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    fail_every_replay(monkeypatch, intake)
    shift = [0.0]
    replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    await replayer.round()
    shift[0] = 31.0
    await replayer.round()
    document = HealthMonitor(Redis.from_url(own_redis.url), load_rules(CONFIG_DIR / "health.toml")).status()
    assert document["overall"] == "degraded"
    assert [stuck["reason"] for stuck in document["spool_stuck"]] == [
        "replay failed (ValueError); see spool.replay_failed"]


@pytest.mark.parametrize("case", ["replayed", "refused by Redis", "failing on an error not Redis's"])
async def test_the_replayer_lists_the_spool_off_the_event_loop(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """Each round, once a second, asked whether the spool held files and read its size on the gateway's event loop: a
    spool disk that hangs (an NFS server gone) stalled every webhook with it, the ones the spool was to answer."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    if case == "refused by Redis":
        Redis.from_url(own_redis.url).config_set("min-replicas-to-write", 1)
    elif case == "failing on an error not Redis's":
        monkeypatch.setattr(intake, "_replay_batch", lambda records: 1 / 0)
    listed_on_loop: list[bool] = []
    real = intake.spool._pending_stats

    def listed() -> list[tuple[os.stat_result, Path]]:
        try:
            asyncio.get_running_loop()
            listed_on_loop.append(True)
        except RuntimeError:
            listed_on_loop.append(False)
        return real()

    monkeypatch.setattr(intake.spool, "_pending_stats", listed)
    await SpoolReplayer(intake).round()
    assert listed_on_loop and not any(listed_on_loop), case


HELD = "vm-p1f-t1.replaying: held by another live process (a gateway cut off from Redis, or hung)"


@pytest.mark.parametrize(("case", "other_host"), [
    ("two gateways on one host and data directory", None),
    ("two hosts mounting one spool directory", "vm-b"),
])
async def test_each_replayer_stuck_on_one_spool_is_told_and_the_spool_counted_once(
    intake: Intake, other_gateway: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, case: str,
    other_host: str | None,
) -> None:
    """Two gateways replay one spool directory: one fails replaying the file it claimed, the other finds that file
    held. One entry per host and directory had them overwrite each other's reason every round (the failure the
    operator must see was lost under "held"); one per host counted a spool on a shared disk once per host."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    fail_every_replay(monkeypatch, intake)
    shift = [0.0]
    failing = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    with monkeypatch.context() as patched:
        if other_host is not None:
            patched.setattr(socket, "gethostname", lambda: other_host)
        finding_it_held = SpoolReplayer(other_gateway, clock=lambda: time.time() + shift[0])
    for shift[0] in (0.0, 31.0, 32.0):
        await failing.round()
        await finding_it_held.round()
    document = HealthMonitor(Redis.from_url(own_redis.url), load_rules(CONFIG_DIR / "health.toml")).check()
    [stuck] = document["spool_stuck"]
    assert stuck["reason"] == f"replay failed (ValueError); see spool.replay_failed; {HELD}", case
    assert stuck["host"].endswith(f", {other_host}") if other_host else ", " not in stuck["host"], case
    assert stuck["bytes"] == intake.spool.size_bytes() > 0, case
    assert metrics.SPOOL_REPLAY_STUCK._value.get() == 1, case


@pytest.mark.parametrize("case", ["its read failing once (an I/O error)", "its making failing once (a fsync)"])
async def test_a_spool_identity_not_found_once_is_looked_for_again(
    intake: Intake, other_gateway: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """The replayer read its spool's identity (`.spool-id`) once and kept what it found for good: after one I/O
    error, host and path stood for it as long as the process lived, and a spool two hosts share, stuck, was counted
    twice in every view."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    fail_every_replay(monkeypatch, intake)
    failures = [OSError(errno.EIO, "Input/output error")]
    if case.startswith("its read"):
        real_read = Path.read_bytes

        def read_bytes(path: Path) -> bytes:
            if path.name == ".spool-id" and failures:
                raise failures.pop()
            return real_read(path)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    else:
        real_fsync = spool_module.fsync_directory

        def fsync_directory(directory: Path) -> None:
            if failures:
                raise failures.pop()
            real_fsync(directory)

        monkeypatch.setattr(spool_module, "fsync_directory", fsync_directory)
    shift = [0.0]
    failing = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    with monkeypatch.context() as patched:
        patched.setattr(socket, "gethostname", lambda: "vm-b")
        finding_it_held = SpoolReplayer(other_gateway, clock=lambda: time.time() + shift[0])
    for shift[0] in (0.0, 31.0, 32.0):
        await failing.round()
        await finding_it_held.round()
    assert not failures, case
    document = HealthMonitor(Redis.from_url(own_redis.url), load_rules(CONFIG_DIR / "health.toml")).check()
    [stuck] = document["spool_stuck"]
    assert stuck["host"].endswith(", vm-b"), case


@pytest.mark.parametrize("damaged", [b"", b"0123\n", b"\xff\xfe", b"0123456789ABCDEF"])
async def test_a_damaged_spool_identity_is_replaced_and_a_spool_two_hosts_share_counted_once(
    intake: Intake, other_gateway: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, damaged: bytes,
) -> None:
    """A `.spool-id` that is no token (emptied or edited by hand, a disk's damage) was left as it was, host and path
    standing for it on each host: a stuck spool two hosts share was counted once per host, for good. It is replaced,
    and read at each round, so two hosts that each found it damaged and replaced it agree on the last one."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    fail_every_replay(monkeypatch, intake)
    identity = intake.spool.directory / ".spool-id"
    identity.write_bytes(damaged)
    shift = [0.0]
    first = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    with monkeypatch.context() as patched:
        patched.setattr(socket, "gethostname", lambda: "vm-b")
        second = SpoolReplayer(other_gateway, clock=lambda: time.time() + shift[0])
    for shift[0] in (0.0, 31.0):
        await first.round()
    identity.write_bytes(damaged)  # as the second host read it, before the first replaced it
    for shift[0] in (32.0, 63.0, 64.0):
        await first.round()
        await second.round()
    document = HealthMonitor(Redis.from_url(own_redis.url), load_rules(CONFIG_DIR / "health.toml")).check()
    [stuck] = document["spool_stuck"]
    assert stuck["host"].endswith(", vm-b")
    assert re.fullmatch(rb"[0-9a-f]{16}", identity.read_bytes())


@pytest.mark.parametrize(("case", "age", "kept"), [
    ("a replayer restarted a day and more ago", 86_401.0, False),
    ("a replayer stopped a minute ago: hidden, kept for now", 60.0, True),
    ("an entry without a time, never shown", None, False),
])
async def test_stuck_entries_whose_replayer_stopped_are_deleted_once_a_day_old(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, case: str, age: float | None,
    kept: bool,
) -> None:
    """An entry its replayer stopped refreshing is hidden after 30 s but was never deleted: a field per process, the
    hash grew with every gateway restarted while stuck. The next replayer that says its spool is stuck deletes
    those a day old (by Redis's clock)."""
    assert intake.spool is not None
    redis = Redis.from_url(own_redis.url)
    seconds, _ = redis.time()
    left = {"spool": "0123456789abcdef", "host": "vm", "since": seconds - 90_000, "bytes": 10, "reason": "x"}
    if age is not None:
        left["at"] = seconds - age
    redis.hset(REPLAY_STUCK_KEY, "0123456789abcdef:vm-p1f-t1", orjson.dumps(left))
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    fail_every_replay(monkeypatch, intake)
    shift = [0.0]
    replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    for shift[0] in (0.0, 31.0):
        await replayer.round()
    fields = redis.hkeys(REPLAY_STUCK_KEY)
    assert (b"0123456789abcdef:vm-p1f-t1" in fields, len(fields)) == (kept, 1 + kept), case


def refuse_opening(monkeypatch: pytest.MonkeyPatch, stem: str) -> Callable[..., Any]:
    """The spool file `stem` cannot be opened for its replay (another user's file): the spool is stuck. Returns the
    real `Path.open`, to make it readable again."""
    real_open = Path.open

    def refused(path: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        if path.stem == stem and mode == "r+b":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refused)
    return real_open


async def test_a_spool_stuck_again_after_a_redis_outage_is_told_again(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO,
) -> None:
    """`spool.replay_stuck` is told once a stuck episode, which ends when the spool empties or Redis was down: after
    an outage the spool stuck again was never told again (the views said it, the log did not)."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    refuse_opening(monkeypatch, "vm-p1f-t1")
    shift = [0.0]
    replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])

    def told() -> list[str]:
        return [e["event"] for e in log_events(log_stream) if e["event"] == "spool.replay_stuck"]

    for shift[0] in (0.0, 31.0, 32.0):
        await replayer.round()
    assert told() == ["spool.replay_stuck"]
    own_redis.stop()
    await replayer.round()
    own_redis.start()
    for shift[0] in (40.0, 60.0):
        await replayer.round()
    assert told() == ["spool.replay_stuck"]  # stuck again for 20 s only
    for shift[0] in (71.0, 72.0):
        await replayer.round()
    assert told() == ["spool.replay_stuck", "spool.replay_stuck"]


@pytest.mark.parametrize("stuck_again", [False, True], ids=["emptied once Redis was back", "stuck again, then emptied"])
async def test_a_spool_told_stuck_is_told_unstuck_once_empty_though_a_redis_outage_came_between(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO,
    stuck_again: bool,
) -> None:
    """An outage ends a stuck episode, and it ended the promise of `spool.replay_unstuck` with it: a spool told stuck,
    then Redis down a moment, then emptied, was never told unstuck (an alert on the pair stayed open for good)."""
    assert intake.spool is not None
    spool_file_left(intake.spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    real_open = refuse_opening(monkeypatch, "vm-p1f-t1")
    shift = [0.0]
    replayer = SpoolReplayer(intake, clock=lambda: time.time() + shift[0])
    for shift[0] in (0.0, 31.0):
        await replayer.round()
    own_redis.stop()
    await replayer.round()
    own_redis.start()
    for shift[0] in ((40.0, 71.0) if stuck_again else (40.0,)):
        await replayer.round()
    monkeypatch.setattr(Path, "open", real_open)  # made readable
    await replayer.round()
    told = [e["event"] for e in log_events(log_stream) if e["event"].startswith("spool.replay_")]
    assert told == ["spool.replay_stuck", *(["spool.replay_stuck"] if stuck_again else []), "spool.replay_unstuck"]
    assert intake.spool.size_bytes() == 0 and not Redis.from_url(own_redis.url).exists(REPLAY_STUCK_KEY)


def test_the_spools_leftovers_of_killed_processes_are_removed_at_start_once_old_and_not_held(
    test_env: TestEnvironment, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process killed between making a spool file and naming it leaves `.<name>.opening` (empty), one killed
    while taking or dropping a saved reserve `.<reserve>.taken-<pid>` (sequence numbers only), one killed while
    probing `.probe-<pid>-<thread>`: never removed. They go at start once old (here 0.5 s, `ORPHAN_SECONDS`), but
    never one a live process holds, nor a reserve renamed a moment ago (its mtime, its saver's, is hours old)."""
    settings = test_env.settings()
    directory = settings.data_dir / "spool"
    directory.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(spool_module, "ORPHAN_SECONDS", 0.5)
    rows = [  # name, contents, removed
        (".vm-p1f-t1.spool.opening", b"", True),
        (".vm-p2f-t2.spool.opening", b"", False),  # its maker alive, holding its lock
        (".reserve-vm.json.taken-4242", b'{"v": 1, "numbers": [9000001, 9000002]}', True),
        (".probe-4242-140000000000", b"probe", True),
        ("vm-p3f-t3.spool", b"", False),
        ("reserve-vm.json", b'{"v": 1, "numbers": [9000003]}', False),
        (".spool-id", b"0123456789abcdef", False),
    ]
    for name, contents, _ in rows:
        (directory / name).write_bytes(contents)
    hour_ago = time.time() - 3600
    saved = directory / "reserve-vm2.json"
    saved.write_bytes(b'{"v": 1, "numbers": [9000004]}')
    os.utime(saved, (hour_ago, hour_ago))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'r+b'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
         str(directory / ".vm-p2f-t2.spool.opening")], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        time.sleep(0.6)
        saved.rename(directory / ".reserve-vm2.json.taken-4243")  # taken a moment ago by a live process
        (directory / ".vm-p4f-t4.spool.opening").write_bytes(b"")  # its maker about to lock it
        locked, real_flock = [], fcntl.flock

        def flock(descriptor: int, operation: int) -> None:
            locked.append(Path(os.readlink(f"/proc/self/fd/{descriptor}")).name)
            real_flock(descriptor, operation)

        monkeypatch.setattr(fcntl, "flock", flock)
        assert remove_orphaned_temporaries(settings) == sum(removed for *_, removed in rows)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(path.name for path in directory.iterdir()) == sorted(
        [name for name, _, removed in rows if not removed] + [".reserve-vm2.json.taken-4243",
                                                             ".vm-p4f-t4.spool.opening"])
    # A new one's lock never tried: taken in that moment, it failed its maker's and the append.
    assert ".vm-p4f-t4.spool.opening" not in locked and ".vm-p2f-t2.spool.opening" in locked


def symlink_to_itself(path: Path) -> None:
    path.symlink_to(path.name)


def directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize("make", [symlink_to_itself, directory], ids=["a symbolic link to itself", "a directory"])
def test_a_spool_name_that_cannot_be_looked_at_or_is_no_file_is_left_in_place_and_skipped(
    intake: Intake, own_redis: EmbeddedRedis, log_stream: io.StringIO, make: Callable[[Path], None],
) -> None:
    """Listing the spool raised at a symbolic link to itself (ELOOP): the spool's size read failed, and with it the
    status views ("unknown"), and every replay round failed before any file (`spool.replay_failed` once a second).
    Such a name, or a directory where a spool file should be, is left out of the size and the replay, told once,
    and left where it is for the operator; the files beside it are replayed, and no round is due for it after."""
    assert intake.spool is not None
    spool = intake.spool
    older = spool_file_left(spool.directory, "vm-p1f-t1.spool", 2, age_seconds=120)
    make(spool.directory / "vm-p3f-t3.spool")
    newer = spool_file_left(spool.directory, "vm-p2f-t2.spool", 2, first=9_000_200)
    readable = sum((spool.directory / name).stat().st_size for name in ("vm-p1f-t1.spool", "vm-p2f-t2.spool"))

    assert spool.size_bytes() == readable
    assert intake.replay_spool() == 4
    redis = Redis.from_url(own_redis.url)
    assert all(redis.exists(envelope_key(tracking_id)) for tracking_id in [*older, *newer])
    assert [intake.replay_spool() for _ in range(2)] == [0, 0] and not intake.replay_due
    assert spool.size_bytes() == 0 and spool.pending_files() == []
    assert os.path.lexists(spool.directory / "vm-p3f-t3.spool")
    told = [e for e in log_events(log_stream) if e["event"] == "spool.file_unreadable"]
    assert [(e["file"], e["level"]) for e in told] == [("vm-p3f-t3.spool", "error")]


def private(path: Path) -> bool:
    """Readable and writable by the gateway's own user only (what the citizen wrote, and who they are)."""
    return path.stat().st_mode & 0o077 == 0


def test_spooled_reports_are_readable_by_the_gateway_user_only(intake: Intake, own_redis: EmbeddedRedis) -> None:
    """The spool holds whole envelopes, an anonymous reporter's number included; a umask of 022 is common."""
    previous = os.umask(0o022)
    try:
        intake.commit([draft("warm-up")])
        own_redis.stop()
        intake.commit([draft("anon-1", "ANONIM pungli di kantor desa")])
        spool = intake.spool
        assert spool is not None
        [path] = spool.pending_files()
        with path.open("ab") as handle:
            handle.write(b"0000 torn")
        own_redis.start()
        intake.replay_spool()
        [bad] = spool.quarantine.glob("*.bad")
    finally:
        os.umask(previous)
    assert private(spool.directory) and private(spool.quarantine)
    assert private(bad) and private(bad.with_suffix(".reason"))
    # A spool file still waiting for Redis, too.
    own_redis.stop()
    intake.commit([draft("anon-2")])
    assert all(private(p) for p in spool.pending_files())



@pytest.mark.parametrize("older_directory", [False, True], ids=["new data dir", "a directory an older version made"])
def test_the_embedded_redis_files_are_readable_by_the_gateway_user_only(tmp_path: Path, older_directory: bool) -> None:
    """Its append-only file holds every envelope as the spool does: an anonymous reporter's number and words; its
    password file and URL file let whoever reads them in."""
    directory = tmp_path / "redis"
    previous = os.umask(0o022)
    try:
        if older_directory:  # with a URL file left by a killed supervisor, and a password file made by hand
            directory.mkdir(mode=0o755)
            (directory / "url").write_text("redis://127.0.0.1:6390/0\n")
            (directory / "password").write_text("0123456789abcdef0123456789abcdef\n")
        server = EmbeddedRedis(directory).start()
        try:
            server.write_url()
            client = Redis.from_url(server.url)
            client.set("lapor:envelope:10000004", b'{"anonymous": true, "sender": {"id": "+6281234567001"}}')
            client.close()
            url_file = directory / "url"
            assert private(url_file) and private(directory / "password")
            if older_directory:  # the password kept there, now for the gateway user's eyes only
                assert server.password == "0123456789abcdef0123456789abcdef"
        finally:
            server.stop()
    finally:
        os.umask(previous)
    files = [path for path in directory.rglob("*") if path.is_file()]
    assert any(b"+6281234567001" in path.read_bytes() for path in files)  # the append-only file was looked at
    assert private(directory) and [path for path in directory.rglob("*") if not private(path)] == []


def test_without_a_reserve_an_outage_is_not_acknowledged(test_env: TestEnvironment, tmp_path: Path) -> None:
    settings: Settings = test_env.settings(REDIS_URL="redis://127.0.0.1:1/0")
    cold = Intake(redis_connection(settings.redis_url, timeout=0.5), settings, Spool(tmp_path / "spool"))
    with pytest.raises(NotDurable):
        cold.commit([draft("cold")])


def test_a_gateway_restarted_while_redis_is_down_answers_from_the_ids_the_last_one_left(
    own_redis: EmbeddedRedis, test_env: TestEnvironment
) -> None:
    """The unused reserve of a process that stops goes to the next one: before, a gateway (re)started during an
    outage had no Tracking IDs and answered 503, and a provider that does not retry (Twilio) lost the message."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_INTAKE_ID_RESERVE="50")
    first = build_intake(settings, redis_connection(own_redis.url, timeout=1))
    (receipt,) = first.commit([draft("before-restart")])
    first.close()
    own_redis.stop()

    second = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))
    try:
        receipts = second.commit([draft(f"after-restart-{n}") for n in range(3)])
    finally:
        second.close()
    spooled = [r.tracking_id for r in receipts]
    assert all(is_valid_tracking_id(t) for t in spooled) and len(set(spooled)) == 3
    assert receipt.tracking_id not in spooled
    # From the first process's lease (a block of id_block_size); a few went to the claim that failed, unused.
    leased = range(int(receipt.tracking_id[:-1]) + 1, int(receipt.tracking_id[:-1]) + settings.intake.id_block_size)
    assert all(int(t[:-1]) in leased for t in spooled)

    third = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))  # the rest went on again
    try:
        (later,) = third.commit([draft("third")])
    finally:
        third.close()
    assert int(later.tracking_id[:-1]) in leased and int(later.tracking_id[:-1]) > int(spooled[-1][:-1])

    own_redis.start()
    replayer = build_intake(settings, redis_connection(own_redis.url, timeout=1))
    try:
        assert replayer.replay_spool() == 4
    finally:
        replayer.close()
    redis = Redis.from_url(own_redis.url)
    assert all(redis.exists(envelope_key(t)) for t in [*spooled, later.tracking_id])


@pytest.mark.parametrize(
    ("sequence", "env", "kept"),
    [
        pytest.param(1_000_100, {}, 3, id="leased-from-this-redis"),
        pytest.param(1_000_001, {}, 0, id="sequence-below-them-another-or-emptied-redis"),
        pytest.param(1_000_100, {"LAPOR_INTAKE_ID_START": "1000060"}, 0, id="below-this-cells-range"),
        pytest.param(1_000_100, {"LAPOR_INTAKE_ID_END": "1000051"}, 2, id="partly-past-this-cells-end"),
    ],
)
def test_a_saved_reserve_is_taken_once_and_only_when_it_is_this_redis_and_cells(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, sequence: int, env: dict[str, str],
    kept: int,
) -> None:
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"), **env)
    Redis.from_url(own_redis.url).set(SEQUENCE_KEY, sequence)
    spool = Spool(settings.data_dir / "spool")
    spool.check_writable()
    spool.save_reserve([1_000_050, 1_000_051, 1_000_052])
    takers = [build_intake(settings, redis_connection(own_redis.url, timeout=1)) for _ in range(2)]
    try:
        assert sorted(intake.reserve for intake in (t._allocator for t in takers)) == [0, kept]
    finally:
        for taker in takers:
            taker._spool = None  # nothing saved back: this test counts what was taken
            taker.close()
    assert list(spool.directory.glob("*reserve*")) == []


def test_a_reserve_taken_while_redis_was_down_is_checked_when_it_answers_and_never_leased_again(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO
) -> None:
    """Redis came back behind the saved numbers (emptied, rolled back): its sequence is raised past them, so no other
    process leases an ID this one hands out."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    spool = Spool(settings.data_dir / "spool")
    spool.check_writable()
    spool.save_reserve([1_000_050, 1_000_051, 1_000_052])
    own_redis.stop()
    intake = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))
    try:
        assert intake._allocator.reserve == 3 and intake.replay_due
        own_redis.start()
        redis = Redis.from_url(own_redis.url)
        assert redis.get(SEQUENCE_KEY) is None  # a Redis that knows nothing of them
        intake.replay_spool()
        assert int(redis.get(SEQUENCE_KEY)) == 1_000_052 and not intake.replay_due
        assert "intake.sequence_raised" in [e["event"] for e in log_events(log_stream)]
        other = build_intake(settings, redis_connection(own_redis.url, timeout=1))
        try:
            (receipt,) = other.commit([draft("from-another-process")])
        finally:
            other.close()
        assert int(receipt.tracking_id[:-1]) > 1_000_052
    finally:
        intake.close()


@pytest.mark.parametrize("counter_after", [pytest.param("first", id="rolled-back-to-the-first-lease"),
                                           pytest.param(None, id="emptied")])
def test_ids_a_process_holds_in_reserve_are_never_leased_again_by_a_redis_that_came_back_behind(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO,
    counter_after: str | None,
) -> None:
    """The reserve a gateway leased before an outage, and keeps minting from once Redis answers again, must not be
    leased to another process by a Redis that came back without those leases (emptied; a crash that lost the last
    second of its AOF, the reserve's top-up in it): two reports would share a Tracking ID, the second envelope
    stored over the first."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    intake = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))
    try:
        (before,) = intake.commit([draft("before-the-outage")])  # and the reserve topped up
        own_redis.stop()
        (during,) = intake.commit([draft("during-the-outage")])
        assert during.spooled
        own_redis.start()
        redis = Redis.from_url(own_redis.url)
        if counter_after is None:
            redis.delete(SEQUENCE_KEY)
        else:
            redis.set(SEQUENCE_KEY, int(before.tracking_id[:-1]))
        assert intake.replay_spool() == 1
        held = set(intake._allocator.take_reserve())
        assert held
        other = build_intake(settings, redis_connection(own_redis.url, timeout=1))
        try:
            receipts = other.commit([draft(f"other-{n}") for n in range(3)])
            leased = {int(receipt.tracking_id[:-1]) for receipt in receipts}
            leased |= set(other._allocator.take_reserve())
        finally:
            other.close()
        assert not leased & held, sorted(leased & held)[:5]
        assert "intake.sequence_raised" in [e["event"] for e in log_events(log_stream)]
    finally:
        intake.close()


def saved_reserves(settings: Settings, *reserves: list[int]) -> Spool:
    """The spool directory of `settings` with `reserves` left in it by processes that stopped, oldest first."""
    spool = Spool(settings.data_dir / "spool")
    spool.check_writable()
    for numbers in reserves:
        spool.save_reserve(numbers)
    return spool


def test_processes_starting_on_one_directory_during_an_outage_each_take_a_saved_reserve(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path
) -> None:
    """Several gateways on one data directory (one per core, or restarted together): before, the first to start took
    every saved reserve and the others, with no IDs, answered 503 for the whole outage."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    saved_reserves(settings, [1_000_050, 1_000_051, 1_000_052], [1_000_080, 1_000_081, 1_000_082])
    own_redis.stop()
    starting = [build_intake(settings, redis_connection(own_redis.url, timeout=0.5)) for _ in range(2)]
    try:
        assert [intake.reserve for intake in starting] == [3, 3]
        receipts = [intake.commit([draft(f"from-process-{n}")])[0] for n, intake in enumerate(starting)]
    finally:
        for intake in starting:
            intake.close()
    # Each answered from its own reserve (its first number went to the claim that met Redis down, unused).
    assert sorted(int(receipt.tracking_id[:-1]) for receipt in receipts) == [1_000_051, 1_000_081]


def test_a_process_whose_reserve_runs_out_during_an_outage_takes_the_next_saved_one(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path
) -> None:
    """Saved reserves are a pool: one at start, the next when this process's own runs out, 503 only once the
    directory has none left. Every one taken while Redis was down is checked when it answers."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    spool = saved_reserves(settings, [1_000_050, 1_000_051, 1_000_052], [1_000_080, 1_000_081])
    own_redis.stop()
    intake = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))
    try:
        assert intake.reserve == 3 and spool.saved_reserves() == 1
        receipts = [intake.commit([draft(f"pooled-{n}")])[0] for n in range(4)]
        # 1_000_050 went to the claim that met Redis down, unused; then the next saved reserve.
        numbers = [int(receipt.tracking_id[:-1]) for receipt in receipts]
        assert numbers == [1_000_051, 1_000_052, 1_000_080, 1_000_081]
        assert spool.saved_reserves() == 0
        with pytest.raises(NotDurable, match="reserve"):
            intake.commit([draft("none-left")])

        own_redis.start()
        assert intake.replay_spool() == 4
        assert int(Redis.from_url(own_redis.url).get(SEQUENCE_KEY)) == 1_000_081  # past the one taken on demand
    finally:
        intake.close()


def test_ids_spooled_by_a_process_that_stopped_during_the_outage_are_never_leased_again(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path
) -> None:
    """A process that took a saved reserve while Redis was down checks it once Redis answers; one stopped before
    that (a deploy during the outage) leaves its spooled reports to another process. That one replayed them into a
    Redis that came back behind them (emptied, rolled back) without raising its sequence, and the Tracking IDs the
    citizens had been given went to new reports."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    saved_reserves(settings, [1_000_050, 1_000_051, 1_000_052])
    own_redis.stop()
    stopped = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))
    try:
        (spooled,) = stopped.commit([draft("answered-during-the-outage")])
    finally:
        stopped.close()  # before Redis answers: its spool file stays, the rest of the reserve is saved again
    own_redis.start()
    replayer = build_intake(settings, redis_connection(own_redis.url, timeout=1))
    try:
        assert replayer.replay_spool() == 1
        later = replayer.commit([draft(f"after-the-outage-{n}") for n in range(60)])
    finally:
        replayer.close()
    assert spooled.tracking_id not in [receipt.tracking_id for receipt in later]


def test_a_damaged_saved_reserve_is_dropped_with_a_log_line(test_env: TestEnvironment, tmp_path: Path,
                                                              log_stream: io.StringIO) -> None:
    spool = Spool(tmp_path / "spool")
    spool.check_writable()
    (spool.directory / "reserve-elsewhere-1-2.json").write_bytes(b'{"v": 1, "numbers": [12, "x"]}')
    assert spool.take_saved_reserve() == []
    assert [e["event"] for e in log_events(log_stream)] == ["spool.reserve_unreadable"]
    assert list(spool.directory.glob("*reserve*")) == []


def test_a_spool_file_that_vanishes_while_listed_is_left_out_not_an_error(tmp_path: Path) -> None:
    """A replayer renames and deletes files while the health check lists them (its size on the status views): a
    file gone between the listing and its stat is on its way, and must not kill the health loop or a view."""
    spool = Spool(tmp_path / "spool")
    spool.check_writable()
    spool.append([SpoolRecord("10000004", "k", {"text": "x"})])
    (spool.directory / "gone.spool").symlink_to(spool.directory / "renamed-meanwhile.replaying")
    assert spool.pending_files() == [spool._path]
    assert spool.size_bytes() == spool._path.stat().st_size


@pytest.mark.parametrize("failing_step", ["release", "top_up"])
def test_a_redis_failure_after_a_good_commit_sends_the_next_reports_straight_to_the_spool(
    intake: Intake, own_redis: EmbeddedRedis, failing_step: str
) -> None:
    """Redis going away between batches is learnt by the step that meets it (releasing held forward jobs, topping
    up the reserve): the next batch goes to the spool at once instead of waiting out Redis's timeout again."""
    intake.commit([draft("good")], hold=True)
    own_redis.stop()
    assert not intake.spooling
    if failing_step == "release":
        intake.release_held()
    else:
        kept = [intake._allocator.mint_from_reserve() for _ in range(intake.reserve)]  # an empty one leases
        intake._top_up_reserve()
        intake._allocator.give_back(*kept)
    assert intake.spooling
    (receipt,) = intake.commit([draft("next")])
    assert is_valid_tracking_id(receipt.tracking_id)
    assert intake.spool is not None and intake.spool.pending_files()
    own_redis.start()
    assert intake.replay_spool() == 1 and not intake.spooling


@pytest.mark.parametrize(("error", "state", "detail"), [
    pytest.param(RedisConnectionError("Connection refused"), "unreachable", None, id="stopped"),
    pytest.param(RedisTimeoutError("Timeout reading from socket"), "not_answering", None, id="hanging"),
    pytest.param(OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), "refusing",
                 "command not allowed when used memory > 'maxmemory'.", id="full"),
    pytest.param(AuthenticationError("invalid username-password pair or user is disabled."), "refusing",
                 "invalid username-password pair or user is disabled.", id="password refused"),
])
def test_the_spooling_line_says_how_redis_failed_as_every_view_does(
    intake: Intake, log_stream: io.StringIO, error: Exception, state: str, detail: str | None
) -> None:
    """`intake.spooling` said `redis_unavailable` alone, a Redis full or refusing the password among them."""
    intake._redis_failed(error)
    (line,) = [event for event in log_events(log_stream) if event["event"] == "intake.spooling"]
    assert (line["reason"], line["redis_state"], line["error"], line["detail"]) == (
        "redis_unavailable", state, type(error).__name__, detail)


def test_a_redis_full_under_a_commit_is_said_in_its_own_words_without_the_citizens(
    intake: Intake, own_redis: EmbeddedRedis, log_stream: io.StringIO
) -> None:
    """The spooling line says a Redis full as refusing, with its words, and nothing of the report that met it."""
    intake.commit([draft("good")])
    redis = Redis.from_url(own_redis.url)
    redis.config_set("maxmemory", "1")  # every write refused: OOM
    secret = "pungli di loket tujuh oleh pak Sutrisno"

    (receipt,) = intake.commit([draft(secret)])

    assert is_valid_tracking_id(receipt.tracking_id) and intake.spooling
    (line,) = [event for event in log_events(log_stream) if event["event"] == "intake.spooling"]
    # The commit's script met it: Redis says so, "-OOM command not allowed when used memory > 'maxmemory'."
    assert line["redis_state"] == "refusing" and "OOM command not allowed when used memory" in line["detail"], line
    assert "pipeline" not in line["detail"], line
    assert "Sutrisno" not in log_stream.getvalue() and "6281234567890" not in log_stream.getvalue()


SECRET_ARGUMENT = "+6281234567890 pungli Sutrisno"


def _unknown_command(redis: Redis) -> None:
    redis.execute_command("LAPOR_NO_SUCH_COMMAND", SECRET_ARGUMENT)


def _pipeline_set(transaction: bool) -> Callable[[Redis], None]:
    def run(redis: Redis) -> None:
        redis.config_set("maxmemory", "1")  # every write refused: OOM
        pipeline = redis.pipeline(transaction=transaction)
        pipeline.set("lapor:test:words", SECRET_ARGUMENT)
        pipeline.execute()
    return run


@pytest.mark.parametrize(("failing", "words"), [
    # A renamed or disabled command: "unknown command 'X', with args beginning with: <its arguments>".
    pytest.param(_unknown_command, "unknown command `LAPOR_NO_SUCH_COMMAND`", id="unknown command"),
    # redis-py writes the failed command of a pipeline, its arguments among them, before Redis's words.
    pytest.param(_pipeline_set(True), "command not allowed when used memory > 'maxmemory'.", id="transaction"),
    pytest.param(_pipeline_set(False), "command not allowed when used memory > 'maxmemory'.", id="pipeline"),
])
def test_redis_words_leave_out_the_arguments_of_the_command_that_failed(
    own_redis: EmbeddedRedis, failing: Callable[[Redis], None], words: str
) -> None:
    """What every outage line and view shows of a Redis error: Redis's words, never the arguments (a citizen's
    words and number) that redis-py or Redis repeat with them."""
    from redis.exceptions import ResponseError

    from gateway.outage import redis_words

    with pytest.raises(ResponseError) as refused:
        failing(Redis.from_url(own_redis.url))
    assert "Sutrisno" in str(refused.value)  # as Redis and redis-py said it
    assert redis_words(refused.value) == words


async def test_the_replayer_leases_the_reserve_once_redis_takes_writes_and_says_nothing_meanwhile(
    intake: Intake, own_redis: EmbeddedRedis, log_stream: io.StringIO
) -> None:
    """A gateway just started holds no Tracking IDs until its replayer leases them. A Redis full at its maxmemory
    answers the replayer's PING and refuses the lease: told as spooling at each round, then back at the next PING,
    an idle gateway logged `intake.spooling` and `intake.redis_back` every second."""
    admin = Redis.from_url(own_redis.url)
    admin.config_set("maxmemory", "1")  # every write refused
    replayer = SpoolReplayer(intake)
    for _ in range(4):
        await replayer.round()
    assert intake.reserve == 0 and not intake.spooling
    assert [event["event"] for event in log_events(log_stream) if event["event"].startswith("intake.")] == []

    admin.config_set("maxmemory", "0")
    await replayer.round()
    assert intake.reserve >= 50  # LAPOR_INTAKE_ID_RESERVE of the fixture, leased in blocks


async def test_a_spool_file_another_gateway_holds_does_not_keep_the_reserve_unleased(
    intake: Intake, log_stream: io.StringIO
) -> None:
    """A file in the spool directory the replayer cannot replay (another gateway's, held; one it cannot read) keeps
    a replay due at every round: the lease waited for a round with none due, and a gateway just started held no
    Tracking IDs for good, answering every SMS 503 in the next Redis outage."""
    assert intake.spool is not None
    held = os.open(intake.spool.directory / "otherhost.spool", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # a live gateway's own file
        replayer = SpoolReplayer(intake)
        for _ in range(3):
            await replayer.round()
        assert intake.replay_due and intake.reserve >= 50
    finally:
        os.close(held)


async def test_a_replay_that_fails_every_round_does_not_keep_the_reserve_unleased(intake: Intake) -> None:
    """A record the replay fails on at every round (another version's, a bug) held the lease back for good, as a
    held file did: a gateway just started answered every SMS 503 in the next outage."""
    assert intake.spool is not None
    (intake.spool.directory / "oldhost-p1.spool").write_bytes(
        encode_record(SpoolRecord("abc", "lapor:dedup:sms:x", {"tracking_id": "abc"})))
    replayer = SpoolReplayer(intake)
    for _ in range(3):
        await replayer.round()
    assert intake.replay_due and intake.reserve >= 50


def test_an_unwritable_spool_is_refused(tmp_path: Path) -> None:
    blocked = tmp_path / "spool"
    blocked.write_text("a file where the spool directory should be")
    with pytest.raises(SpoolNotWritable, match="not writable"):
        Spool(blocked).check_writable()


def test_a_spool_on_a_full_disk_is_refused_and_its_probe_is_not_left(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The check of a full disk's spool left its `.probe-<pid>-<thread>` file behind, one more with each
    `lapor-gateway status` run (a new pid each), outliving the full disk."""
    spool = Spool(tmp_path / "spool")

    def disk_full(_: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SpoolNotWritable, match="No space left"):
        spool.check_writable()
    monkeypatch.undo()
    assert [path.name for path in (tmp_path / "spool").iterdir() if path.name.startswith(".probe-")] == []
    spool.check_writable()  # room again


def test_the_gateway_refuses_to_start_when_the_spool_is_not_writable(test_env: TestEnvironment, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "spool").write_text("not a directory")
    result = subprocess.run([str(VENV_BIN / "lapor-gateway"), "serve"], env=test_env.process_env(
        LAPOR_DATA_DIR=str(data_dir)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "spool_not_writable" in result.stdout


def test_a_process_without_a_spool_leases_no_reserve(test_env: TestEnvironment, redis: Redis) -> None:
    """The SMTP server, the pollers and a quarantine reprocess commit without a spool, so they never mint from a
    reserve: each start leased `intake.id_reserve` IDs (1,000) more than it could use, lost at its exit."""
    settings = test_env.settings(LAPOR_INTAKE_ID_RESERVE="1000")
    intake = Intake(redis, settings)
    try:
        intake.commit([draft("no-spool")])
        assert intake._allocator.reserve < 1000
        assert int(redis.get(SEQUENCE_KEY) or 0) < settings.intake.id_start + 1000
    finally:
        intake.close()


def test_a_batch_the_reserve_cannot_cover_is_refused_whole_and_its_retry_is_not_a_phantom_duplicate(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """The reserve runs dry mid-batch: nobody in the batch is acknowledged, and a retry must not be answered with an
    ID that was minted for a record that never reached the spool (an acknowledged report no one would ever store)."""
    intake.commit([draft("warm-up")])
    reserve = intake._allocator.reserve
    own_redis.stop()
    batch = [draft(f"dry-{i}") for i in range(reserve + 3)]
    with pytest.raises(NotDurable, match="reserve"):
        intake.commit(batch)
    assert intake._allocator.reserve == reserve  # nothing was used up by the refused batch

    retried = intake.commit([draft("dry-0")])[0]
    assert not retried.duplicate
    own_redis.start()
    assert intake.replay_spool() == 1
    stored = orjson.loads(Redis.from_url(own_redis.url).get(envelope_key(retried.tracking_id)))
    assert stored["channel_message_id"] == "dry-0"


def test_a_claim_batch_sent_again_after_a_lost_answer_is_still_new(intake: Intake) -> None:
    """redis-py sends a command again when its answer was lost: the claims it already made are this batch's own."""
    keys = [dedup_key("sms", "resent-1"), dedup_key("sms", "resent-2")]
    first = intake._run_claims(keys, ["10000011", "10000026"])
    again = intake._run_claims(keys, ["10000011", "10000026"])
    assert first == again == [("10000011", "new"), ("10000026", "new")]
    # A real retry of the message (another attempt, another candidate) is a duplicate.
    assert intake._run_claims(keys[:1], ["10000034"]) == [("10000011", "pending")]


def test_a_providers_retry_of_a_spooled_report_during_the_replay_gets_its_spooled_id(
    intake: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis answers again: new reports go to Redis from the replay's start, while the spooled ones are still being
    replayed. A provider's retry of a spooled message (its answer lost) in that moment was claimed afresh: a second
    Tracking ID for one message, and a second report at the case store (the spooled one as its `duplicate_of`)."""
    intake.commit([draft("warm-up")])  # the reserve of IDs the spool gives out
    own_redis.stop()
    (spooled,) = intake.commit([draft("retried-mid-replay")])
    assert spooled.spooled
    own_redis.start()
    replay_file = intake._replay_file
    during: list[Receipt] = []

    def retry_comes_in_first(path: Path) -> int:  # the committer thread takes the retry before the file's replay
        during.extend(intake.commit([draft("retried-mid-replay"), draft("new-mid-replay")]))
        return replay_file(path)

    monkeypatch.setattr(intake, "_replay_file", retry_comes_in_first)
    assert intake.replay_spool() == 1
    retried, new = during
    assert (retried.tracking_id, retried.duplicate) == (spooled.tracking_id, True)
    assert not new.spooled and not new.duplicate and new.tracking_id != spooled.tracking_id
    redis = Redis.from_url(own_redis.url)
    stored = [orjson.loads(redis.get(key)) for key in redis.scan_iter(envelope_key("*"))]
    assert sorted(e["tracking_id"] for e in stored if e["channel_message_id"] == "retried-mid-replay") == [
        spooled.tracking_id]
    assert redis.hmget(dedup_key("sms", "retried-mid-replay"), "id", "state") == [
        spooled.tracking_id.encode(), b"committed"]
    # Once replayed, the claim in Redis answers a retry (the process's memory of the outage is not needed).
    monkeypatch.setattr(intake, "_replay_file", replay_file)
    assert intake.commit([draft("retried-mid-replay")])[0].tracking_id == spooled.tracking_id


@pytest.mark.parametrize(("sequence", "reserves"), [
    pytest.param(1_000_001, [[1_000_050, 1_000_051, 1_000_052]], id="one-saved-reserve"),
    pytest.param(1_000_001, [[1_000_050, 1_000_051, 1_000_052], [1_000_080, 1_000_081, 1_000_082]],
                 id="both-above-the-sequence"),
    pytest.param(1_000_060, [[1_000_050, 1_000_051, 1_000_052], [1_000_080, 1_000_081, 1_000_082]],
                 id="the-one-taken-below-the-sequence-the-other-above"),
])
def test_ids_handed_out_below_a_saved_reserve_are_never_leased_again_by_a_redis_that_came_back_behind(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, log_stream: io.StringIO,
    sequence: int, reserves: list[list[int]],
) -> None:
    """Gateways stopped (each leaving its reserve: the numbers below it it had handed out to citizens) and Redis came
    back behind them (emptied, rolled back, a lagging replica promoted). A gateway starting with Redis up dropped
    such a reserve and left the sequence as it was: its next lease gave the stopped gateways' Tracking IDs to new
    reports, which the case store, idempotent on the ID, answered 200 "already had it" and never stored. The sequence
    is raised past every reserve saved in the directory, by the first gateway that takes one, before it leases."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    spool = saved_reserves(settings, *reserves)
    Redis.from_url(own_redis.url).set(SEQUENCE_KEY, sequence)  # behind what the stopped gateways leased
    highest = max(max(numbers) for numbers in reserves)
    minted: list[int] = []
    for n in range(2):  # one after the other: the first leases before the second could take the other reserve
        starting = build_intake(settings, redis_connection(own_redis.url, timeout=1))
        try:
            minted += [int(r.tracking_id[:-1]) for r in starting.commit([draft(f"new-{n}-{i}") for i in range(5)])]
        finally:
            starting._spool = None  # nothing saved back: this test counts what was minted
            starting.close()
    # Nothing Redis forgot it had leased: a number below the sequence is a saved reserve kept, leased before.
    assert not [number for number in minted if sequence < number <= highest], sorted(minted)
    assert int(Redis.from_url(own_redis.url).get(SEQUENCE_KEY)) > highest
    assert spool.saved_reserves() == 0
    assert "intake.sequence_raised" in [e["event"] for e in log_events(log_stream)]


def test_a_gateway_that_took_a_saved_reserve_while_redis_was_down_raises_the_sequence_past_the_others_too(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path
) -> None:
    """Started during the outage, the gateway takes one saved reserve; Redis comes back emptied. Raised past that
    reserve only, its next lease handed out the numbers below the other one, which its stopped gateway had given."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"),
                                 LAPOR_INTAKE_ID_RESERVE="3")
    spool = saved_reserves(settings, [1_000_050, 1_000_051, 1_000_052], [1_000_080, 1_000_081, 1_000_082])
    own_redis.stop()
    intake = build_intake(settings, redis_connection(own_redis.url, timeout=0.5))
    try:
        assert intake.reserve == 3 and spool.saved_reserves() == 1
        own_redis.start()
        assert Redis.from_url(own_redis.url).get(SEQUENCE_KEY) is None  # emptied
        intake.replay_spool()
        minted = [int(r.tracking_id[:-1]) for r in intake.commit([draft(f"after-{i}") for i in range(6)])]
    finally:
        intake._spool = None  # nothing saved back
        intake.close()
    assert minted[:3] == [1_000_050, 1_000_051, 1_000_052]  # its own reserve first
    assert min(minted[3:]) > 1_000_082, minted  # then leases past the other one
    assert spool.saved_reserves() == 0  # the other one dropped: some of its numbers may have been leased meanwhile


def start_gateway(settings: Settings, url: str, hook: Callable[[Spool], None] | None = None) -> Intake:
    """`build_intake`, with `hook` given the spool before the saved reserve is taken (to step into what it does)."""
    spool = Spool(settings.data_dir / "spool")
    spool.check_writable()
    intake = Intake(redis_connection(url, timeout=1), settings, spool)
    if hook is not None:
        hook(spool)
    intake.restore_saved_reserve()
    return intake


def step_in(monkeypatch: pytest.MonkeyPatch, spool: Spool, name: str, step: Callable[[], object], *,
            after: bool = False) -> None:
    """Run `step` once, just before (or just after) the first call of `spool.<name>`: another process's move at that
    very point, deterministically."""
    original = getattr(spool, name)
    stepped: list[bool] = []

    def with_step(*args: object) -> object:
        if not stepped and not after:
            stepped.append(True)
            step()
        result = original(*args)
        if not stepped and after:
            stepped.append(True)
            step()
        return result

    monkeypatch.setattr(spool, name, with_step)


def leased_behind(test_env: TestEnvironment, url: str, *, sequence: int, count: int) -> set[int]:
    """Redis came back behind at `sequence`, and a process without a spool (the SMTP server, a poller) leased `count`
    numbers from it: the numbers it may give to reports."""
    redis = Redis.from_url(url)
    redis.set(SEQUENCE_KEY, sequence)
    spoolless = Intake(redis_connection(url, timeout=1),
                       test_env.settings(REDIS_URL=url, LAPOR_INTAKE_ID_BLOCK_SIZE=str(count)))
    spoolless.commit([draft("through-the-smtp-server")])
    assert int(redis.get(SEQUENCE_KEY)) == sequence + count
    return set(range(sequence + 1, sequence + count + 1))


def minted_by(gateway: Intake, name: str) -> list[int]:
    """The sequence numbers a few reports get from `gateway`, and those it holds for the next."""
    receipts = gateway.commit([draft(f"{name}-{n}") for n in range(4)])
    return [int(receipt.tracking_id[:-1]) for receipt in receipts] + gateway._allocator.take_reserve()


@pytest.mark.parametrize(("first_saved", "hooked", "after"), [
    pytest.param("high", "discard_saved_reserve", False, id="the-other-starts-as-the-raiser-is-to-drop-its-reserve"),
    pytest.param("low", "take_saved_reserve", True, id="the-other-raises-between-this-ones-take-and-its-check"),
])
def test_two_gateways_starting_together_never_keep_a_reserve_a_redis_behind_it_may_have_leased(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    first_saved: str, hooked: str, after: bool,
) -> None:
    """Redis came back behind two saved reserves, and a process without a spool leased from it up into the lower
    one. Two gateways start together, each taking one. The one that found its reserve above the sequence raised the
    sequence past every reserve saved, then dropped the others; the other, taking one in that moment (or checking
    it only after that raise), found the sequence past it and kept numbers already leased: two reports under one
    Tracking ID. The steps are driven in that order here, against a real Redis."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"),
                                 LAPOR_INTAKE_ID_RESERVE="3")
    low, high = [1_000_050, 1_000_051, 1_000_052], [1_000_080, 1_000_081, 1_000_082]
    saved_reserves(settings, *([high, low] if first_saved == "high" else [low, high]))  # the first one started takes
    leased = leased_behind(test_env, own_redis.url, sequence=1_000_001, count=50)  # up to 1_000_051
    other: list[Intake] = []
    started = start_gateway(settings, own_redis.url, lambda spool: step_in(
        monkeypatch, spool, hooked, lambda: other.append(start_gateway(settings, own_redis.url)), after=after))
    gateways = [started, *other]
    try:
        assert len(gateways) == 2
        minted = minted_by(started, "started") + minted_by(other[0], "other")
    finally:
        for gateway in gateways:
            gateway._spool = None  # nothing saved back: this test counts what was minted
            gateway.close()
    assert not leased & set(minted), sorted(leased & set(minted))
    assert len(minted) == len(set(minted))
    assert int(Redis.from_url(own_redis.url).get(SEQUENCE_KEY)) >= max(high)  # what their gateways handed out
    assert list((settings.data_dir / "spool").glob("*reserve*")) == []


def test_a_gateway_starting_as_another_finds_redis_back_behind_keeps_no_reserve_leased_meanwhile(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway that answered through the outage finds Redis back behind a reserve a stopped one saved, which a
    process without a spool has leased into. It raised the sequence past that reserve before dropping it: another
    gateway starting in that moment took it, found the sequence past it and kept it."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"),
                                 LAPOR_INTAKE_ID_RESERVE="3")
    running = start_gateway(settings, own_redis.url)
    other: list[Intake] = []
    try:
        running.commit([draft("before-the-outage")])  # its reserve: a block from 1_000_000
        assert running._allocator.leased_high < 1_000_200
        saved_reserves(settings, [1_000_250, 1_000_251, 1_000_252])  # a gateway that stopped
        Redis.from_url(own_redis.url).set(SEQUENCE_KEY, 1_000_400)
        own_redis.stop()
        assert running.commit([draft("during-the-outage")])[0].spooled
        own_redis.start()
        leased = leased_behind(test_env, own_redis.url, sequence=1_000_200, count=51)  # up to 1_000_251
        assert running.spool is not None
        step_in(monkeypatch, running.spool, "discard_saved_reserve",
                lambda: other.append(start_gateway(settings, own_redis.url)))
        assert running.replay_spool() == 1 and len(other) == 1
        minted = minted_by(other[0], "other")
    finally:
        for gateway in [running, *other]:
            gateway._spool = None  # nothing saved back
            gateway.close()
    assert not leased & set(minted), sorted(leased & set(minted))
    assert int(Redis.from_url(own_redis.url).get(SEQUENCE_KEY)) >= 1_000_252
    assert list((settings.data_dir / "spool").glob("*reserve*")) == []


def test_reserves_dropped_when_the_raise_past_them_meets_redis_down_are_raised_past_once_it_answers(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reserves above the sequence are dropped before it is raised past them: Redis gone in between, the numbers
    their stopped gateways handed out were known to no one, and the sequence, once Redis answered, was left behind
    them for the next lease. The replayer raises it past them."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_DATA_DIR=str(tmp_path / "data"))
    saved_reserves(settings, [1_000_080, 1_000_081, 1_000_082], [1_000_050, 1_000_051, 1_000_052])
    Redis.from_url(own_redis.url).set(SEQUENCE_KEY, 1_000_001)  # came back behind both

    def redis_gone_after_the_drop(spool: Spool) -> None:
        discard = spool.discard_saved_reserve

        def then_redis_stops(path: Path) -> bool:
            dropped = discard(path)
            own_redis.stop()
            return dropped

        monkeypatch.setattr(spool, "discard_saved_reserve", then_redis_stops)

    intake = start_gateway(settings, own_redis.url, redis_gone_after_the_drop)
    try:
        assert intake.reserve == 0 and list((settings.data_dir / "spool").glob("*reserve*")) == []
        own_redis.start()
        assert int(Redis.from_url(own_redis.url).get(SEQUENCE_KEY) or 0) < 1_000_082
        assert intake.replay_due
        intake.replay_spool()
        assert int(Redis.from_url(own_redis.url).get(SEQUENCE_KEY)) >= 1_000_082 and not intake.replay_due
    finally:
        intake.close()


SAME_TEXT = ("sms-aggregator", 600)  # an SMS channel's same-text window: (its name, seconds)


def window_over(intake: Intake, redis_url: str | None, seconds: float = 1.1) -> None:
    """`seconds` later for a same-text window, not waited out: intake's memory of the first texts it committed reads
    a clock moved on by them, and the same-text keys Redis holds (set for a window's seconds or what was left of it,
    here a second: `short_window`) are gone, as they expire, where `redis_url` names the Redis that is up."""
    recent = intake._recent_texts
    clock = recent._clock
    recent._clock = lambda: clock() + seconds
    if redis_url is not None:
        redis = Redis.from_url(redis_url)
        keys = list(redis.scan_iter(SAME_TEXT_KEY.format(source="*", digest="*")))
        if keys:
            redis.delete(*keys)
        redis.close()


@pytest.mark.parametrize("when", ["after-the-replay", "during-the-replay"])
async def test_a_providers_retry_of_a_report_spooled_beside_an_earlier_one_of_its_text_keeps_its_spooled_id(
    intake: Intake, other_gateway: Intake, own_redis: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """The same text sent again while Redis was down, its first message taken by another gateway, is a report of its
    own (no one could look it up), and the citizen was given its Tracking ID (or, by the aggregator, the 503 of a
    reply Redis could not take). Its retry once Redis answered was mapped onto the earlier message of its text:
    answered "we already have this report" with that one's Tracking ID, while the spooled report went on as a second
    case under an ID the citizen never heard again."""
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    first = await other_gateway.submit(draft("first", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    own_redis.stop()
    spooled = await intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    assert spooled.spooled and spooled.tracking_id != first.tracking_id
    own_redis.start()
    retried: list[Receipt] = []
    if when == "during-the-replay":  # the committer takes the retry before the file's replay
        replay_file = intake._replay_file

        def retry_comes_in_first(path: Path) -> int:
            retried.append(asyncio.run(intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)))
            return replay_file(path)

        monkeypatch.setattr(intake, "_replay_file", retry_comes_in_first)
    await asyncio.to_thread(intake.replay_spool)
    if when == "after-the-replay":
        retried.append(await intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), SAME_TEXT))
    assert [(r.tracking_id, r.duplicate, r.same_text) for r in retried] == [(spooled.tracking_id, True, False)]


def spooled_ids(settings_dir: Path) -> list[str]:
    """The Tracking IDs of every report in the spool directory's files, in order."""
    return [decode_record(line).tracking_id for path in sorted((settings_dir / "spool").glob("*.spool"))
            for line in path.read_bytes().splitlines(keepends=True) if line.strip()]


@pytest.mark.parametrize("first_when", ["before-the-outage", "during-the-outage"])
async def test_the_same_text_sent_again_during_an_outage_is_one_report(
    intake: Intake, own_redis: EmbeddedRedis, test_env: TestEnvironment, first_when: str
) -> None:
    """A feature phone shows no sign that an SMS arrived, and with Redis down nothing was looked up: the same SMS
    sent again was a second report, a second case at the agency, answered with a second Tracking ID. The gateway
    remembers the first messages it committed within their windows: the repeat is answered "we already have this
    report" with the first's Tracking ID, and nothing more is spooled; the provider's retry of the first gets its own
    answer again."""
    text = "LAPOR air PDAM tidak mengalir sejak tiga hari"
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    if first_when == "before-the-outage":
        first = await intake.submit(draft("first", text), SAME_TEXT)
        own_redis.stop()
    else:
        own_redis.stop()
        first = await intake.submit(draft("first", text), SAME_TEXT)
    again = await intake.submit(draft("again", text), SAME_TEXT)
    third = await intake.submit(draft("third", "  " + text.upper() + " "), SAME_TEXT)
    retried = await intake.submit(draft("first", text), SAME_TEXT)
    other = await intake.submit(draft("other", "LAPOR lampu jalan mati"), SAME_TEXT)
    assert [(r.tracking_id, r.duplicate, r.same_text) for r in (again, third, retried)] == [
        (first.tracking_id, True, True), (first.tracking_id, True, True), (first.tracking_id, True, False)]
    assert not other.duplicate and other.tracking_id != first.tracking_id
    spooled = [first.tracking_id] if first_when == "during-the-outage" else []
    assert spooled_ids(test_env.settings().data_dir) == [*spooled, other.tracking_id]


async def test_the_same_text_twice_in_one_batch_during_an_outage_is_one_report(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    own_redis.stop()
    await intake.submit(draft("warm", "LAPOR jalan berlubang"), SAME_TEXT)  # the outage found: spooling
    receipts = await asyncio.gather(*(intake.submit(draft(f"send-{n}", "LAPOR air PDAM mati"), SAME_TEXT)
                                      for n in range(5)))
    assert len({r.tracking_id for r in receipts}) == 1, receipts
    assert [(r.duplicate, r.same_text) for r in receipts].count((False, False)) == 1, receipts


async def test_a_providers_retry_in_one_batch_with_its_message_during_an_outage_gets_the_messages_answer(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """Twilio's retry of an SMS whose answer is late (the same MessageSid, sent once by the citizen) may come while the
    first delivery is still in hand: in one batch while spooling, it was taken for the same text sent again, answered
    "we already have this report", and remembered as a repeat of itself, so its later retries, once Redis was back,
    were answered so too. With Redis up each gets the first delivery's answer, and so it does now."""
    text = "LAPOR air PDAM tidak mengalir"
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    own_redis.stop()
    await intake.submit(draft("warm", "LAPOR jalan berlubang"), SAME_TEXT)  # the outage found: spooling
    loop = asyncio.get_running_loop()
    batch = [_Waiting(draft("once", text), loop.create_future(), SAME_TEXT) for _ in range(3)]
    intake._commit_batch(batch)
    first, *retries = [await item.future for item in batch]
    assert (first.duplicate, first.same_text) == (False, False)
    assert [(r.tracking_id, r.duplicate, r.same_text) for r in retries] == [(first.tracking_id, True, False)] * 2
    own_redis.start()
    await asyncio.to_thread(intake.replay_spool)
    retried = await intake.submit(draft("once", text), SAME_TEXT)
    assert (retried.tracking_id, retried.duplicate, retried.same_text) == (first.tracking_id, True, False)


async def test_the_same_text_sent_once_redis_is_back_is_one_report_with_the_one_spooled(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """Redis holds no same-text key for a report spooled during the outage: the repeat sent once Redis answered
    again, within the window, was a second case."""
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    own_redis.stop()
    first = await intake.submit(draft("first", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    own_redis.start()
    await asyncio.to_thread(intake.replay_spool)
    again = await intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    retried = await intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    assert [(r.tracking_id, r.duplicate, r.same_text) for r in (again, retried)] == [
        (first.tracking_id, True, True), (first.tracking_id, True, True)]


async def test_a_providers_retry_of_a_first_message_after_its_window_keeps_its_own_id(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """Once the window is over, the next message of the text is a first one: the retry of the earlier first message
    (its own claim in Redis) was mapped onto it, answered with that one's Tracking ID as "we already have it"."""
    first = await intake.submit(draft("first", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    redis = Redis.from_url(own_redis.url)
    redis.delete(*redis.scan_iter("lapor:sametext:*"))  # the window is over
    later = await intake.submit(draft("later", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    assert not later.duplicate and later.tracking_id != first.tracking_id
    retried = await intake.submit(draft("first", "LAPOR air PDAM tidak mengalir"), SAME_TEXT)
    assert (retried.tracking_id, retried.duplicate, retried.same_text) == (first.tracking_id, True, False)


@pytest.mark.parametrize("retried_when", ["during-the-outage", "after-the-replay"])
async def test_a_providers_retry_of_a_first_spooled_before_the_next_first_of_its_text_keeps_its_own_id(
    intake: Intake, own_redis: EmbeddedRedis, retried_when: str
) -> None:
    """While spooling, a message of the text sent after the first one's window is a first one of its own, and the
    gateway remembers it in the first's place. The provider's retry of the earlier first (spooled, its Tracking ID
    told), during the outage or once Redis was back and the spool replayed, was answered from that memory: "we
    already have this report" with the later one's Tracking ID, while the earlier report went on as a case under an
    ID the citizen never heard again."""
    short_window = ("sms-aggregator", 1)
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    own_redis.stop()
    first = await intake.submit(draft("first", "LAPOR air PDAM tidak mengalir"), short_window)
    window_over(intake, None)  # Redis is down: the window is in intake's memory alone
    later = await intake.submit(draft("later", "LAPOR air PDAM tidak mengalir"), short_window)
    assert first.spooled and not later.duplicate and later.tracking_id != first.tracking_id
    if retried_when == "after-the-replay":
        own_redis.start()
        await asyncio.to_thread(intake.replay_spool)
    retried = await intake.submit(draft("first", "LAPOR air PDAM tidak mengalir"), short_window)
    assert (retried.tracking_id, retried.duplicate, retried.same_text) == (first.tracking_id, True, False)


@pytest.mark.parametrize("retried_when", ["during-the-outage", "after-the-replay"])
async def test_a_providers_retry_of_a_repeat_answered_during_an_outage_is_one_report_with_its_first_after_the_window(
    intake: Intake, own_redis: EmbeddedRedis, retried_when: str
) -> None:
    """A repeat answered from memory while Redis was down is claimed nowhere, and no repeat-of key was written: the
    provider's retry of it once the window was over was a second report, under a Tracking ID the citizen was never
    told (they were told the first's)."""
    short_window = ("sms-aggregator", 1)
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    own_redis.stop()
    first = await intake.submit(draft("first", "LAPOR air PDAM tidak mengalir"), short_window)
    again = await intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), short_window)
    assert (again.tracking_id, again.duplicate, again.same_text) == (first.tracking_id, True, True)
    if retried_when == "after-the-replay":
        own_redis.start()
        await asyncio.to_thread(intake.replay_spool)
    window_over(intake, own_redis.url if retried_when == "after-the-replay" else None)
    retried = await intake.submit(draft("again", "LAPOR air PDAM tidak mengalir"), short_window)
    assert (retried.tracking_id, retried.duplicate, retried.same_text) == (first.tracking_id, True, True)


async def test_a_providers_retry_of_a_repeat_in_the_batch_of_its_first_during_an_outage_is_one_report_with_it(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    short_window = ("sms-aggregator", 1)
    await intake.submit(draft("warm-up", "LAPOR lampu jalan mati"))  # its reserve leased, as a running gateway's
    own_redis.stop()
    await intake.submit(draft("warm", "LAPOR jalan berlubang"), short_window)  # the outage found: spooling
    receipts = await asyncio.gather(*(intake.submit(draft(f"send-{n}", "LAPOR air PDAM mati"), short_window)
                                      for n in range(3)))
    assert len({r.tracking_id for r in receipts}) == 1, receipts
    window_over(intake, None)  # Redis is down: the window is in intake's memory alone
    retried = await asyncio.gather(*(intake.submit(draft(f"send-{n}", "LAPOR air PDAM mati"), short_window)
                                     for n in range(3)))
    assert {r.tracking_id for r in retried} == {receipts[0].tracking_id}, retried


def test_a_message_kept_unfiled_and_sent_again_during_an_outage_is_forgotten_when_its_spooled_report_is_replayed(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """A message kept unfiled (`gateway.unfiled`) whose provider sends it again while Redis is down is filed into the
    spool: its entry cannot go then, and goes once the spool is replayed into Redis."""
    from gateway.unfiled import UnfiledMessages
    from normalizer.inbound import InboundMessage

    redis = Redis.from_url(own_redis.url)
    message = InboundMessage(channel=Channel.SMS, source="sms-twilio", provider_message_id="SM-kept",
                             sender_kind=SenderKind.MSISDN, sender_address="+6281234567890", text="Jalan rusak",
                             received_at=datetime(2026, 11, 22, tzinfo=UTC))
    UnfiledMessages(redis).keep("sms-twilio", message, RuntimeError("a bug"), time.time())
    intake.commit([draft("before")])  # the reserve of Tracking IDs the spool mints from
    own_redis.stop()
    (spooled,) = intake.commit([draft("SM-kept").model_copy(update={"source": "sms-twilio"})])
    assert spooled.spooled
    own_redis.start()
    assert len(UnfiledMessages(redis).list()[0]) == 1
    assert intake.replay_spool() == 1
    assert UnfiledMessages(redis).list() == ([], 0)
    assert orjson.loads(redis.get(envelope_key(spooled.tracking_id)))["channel_message_id"] == "SM-kept"


def test_an_aggregator_sms_kept_unfiled_and_sent_again_during_an_outage_is_forgotten_when_replayed(
    intake: Intake, own_redis: EmbeddedRedis
) -> None:
    """An aggregator's SMS is kept unfiled under its dedup identity (its id with its sender and SMSC), not its id: the
    replay of its spooled report forgets it by that identity too (by the id alone, the entry stayed, and the channel
    degraded, after the report was filed)."""
    from gateway.unfiled import UnfiledMessages
    from normalizer.inbound import InboundMessage

    redis = Redis.from_url(own_redis.url)
    identity = "42#0123456789abcdef"
    message = InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id="42",
                             sender_kind=SenderKind.MSISDN, sender_address="+6281234567890", text="Jalan rusak",
                             received_at=datetime(2026, 11, 22, tzinfo=UTC), dedup_id=identity)
    UnfiledMessages(redis).keep("sms-aggregator", message, RuntimeError("a bug"), time.time())
    intake.commit([draft("before")])  # the reserve of Tracking IDs the spool mints from
    own_redis.stop()
    (spooled,) = intake.commit([draft("42").model_copy(update={"source": "sms-aggregator", "dedup_id": identity})])
    assert spooled.spooled
    own_redis.start()
    assert intake.replay_spool() == 1
    assert UnfiledMessages(redis).list() == ([], 0)
    assert orjson.loads(redis.get(envelope_key(spooled.tracking_id)))["channel_message_id"] == "42"
    assert "dedup_id" not in orjson.loads(redis.get(envelope_key(spooled.tracking_id)))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({}, False, id="no-file"),
        pytest.param({"a.spool": ["10000013"]}, False, id="another-report"),
        pytest.param({"a.spool": ["10000013", "10000004"]}, True, id="its-record"),
        pytest.param({"a.replaying": ["10000004"]}, True, id="being-replayed"),
        pytest.param({"a.spool": ["10000013"] * 40_000 + ["10000004"]}, True, id="past-the-first-chunk"),
        pytest.param({"a.spool": ["100000041"]}, False, id="a-longer-id"),
        pytest.param({"a.spool": None}, True, id="unreadable"),
    ],
)
def test_a_spool_may_hold_a_report_its_records_name_or_a_file_it_cannot_read(
    tmp_path: Path, files: dict[str, list[str] | None], expected: bool
) -> None:
    """A status query waits for a replay only for an ID a spool may hold (`Intake.may_hold`): any spool file at all
    made a CEK of an ID it never held wait for hours, answered nowhere."""
    spool = Spool(tmp_path / "spool")
    spool.directory.mkdir(parents=True, exist_ok=True)
    for name, ids in files.items():
        path = spool.directory / name
        if ids is None:
            path.write_bytes(b"x")
            path.chmod(0)
            continue
        path.write_bytes(b"".join(encode_record(SpoolRecord(tracking_id=tracking_id, dedup_key=f"k:{index}",
                                                            envelope={"text": "x" * 20}))
                                  for index, tracking_id in enumerate(ids)))
    if None in files.values() and os.geteuid() == 0:
        pytest.skip("root reads a file without permissions")
    assert spool.may_hold("10000004") is expected


def test_a_spool_file_claimed_as_it_is_read_is_looked_for_under_its_new_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replayer renames the file it takes (`.replaying`) between the listing and the read: read as replayed, its
    report not in Redis yet, the status query was answered "not found"."""
    spool = Spool(tmp_path / "spool")
    spool.directory.mkdir(parents=True, exist_ok=True)
    claimed = spool.directory / "a.replaying"
    claimed.write_bytes(encode_record(SpoolRecord(tracking_id="10000004", dedup_key="k:1", envelope={})))
    listings = iter([[spool.directory / "a.spool"], [claimed]])
    monkeypatch.setattr(Spool, "pending_files", lambda self: next(listings))
    assert spool.may_hold("10000004")
