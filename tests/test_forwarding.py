"""Forwarding to the case store: outages are waited out, refusals are dead-lettered and can be requeued."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import psutil
import pytest
from aiohttp import web
from redis import Redis
from redis.exceptions import BusyLoadingError, ReadOnlyError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from casestore.app import create_casestore_app
from gateway import metrics
from gateway.attachments import store_attachment
from gateway.embedded_redis import EmbeddedRedis
from gateway.errors import RetryableError
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.intake import Intake, Receipt
from gateway.outbound import STATUS_FUNC
from gateway.queues import (
    FORWARD_FUNC,
    FORWARD_QUEUE,
    REPLY_QUEUE,
    REPORT_STATE_KEY,
    STATUS_QUEUE,
    JSONSerializer,
    enqueue_calls,
    enqueue_later,
    envelope_key,
    queue,
    redis_connection,
)
from gateway.replies import status_text
from gateway.settings import CONFIG_DIR, Settings
from normalizer.envelope import Attachment, Channel, ReportDraft, Sender, SenderKind
from tests.aggregator_support import drain
from tests.cli_process import run_cli
from tests.conftest import (
    CASESTORE_TOKEN,
    REPO_ROOT,
    CaseStoreServer,
    GatewayServer,
    LoopbackServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    log_events,
    wait_until,
)
from tests.script_process import run_script
from tests.test_faults import answer_late
from tests.test_spool import draft
from tests.test_twilio_intake import tracking_id_in, twiml_message
from triage.engine import TriageEngine
from workers import forward, run
from workers.context import WorkerContext, current, use_context
from workers.deadletters import ENTRIES_KEY, DeadLetters, Requeued
from workers.media import FETCHED_KEY
from workers.outage import RedisOutage


def cli(test_env: TestEnvironment, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(list(args), test_env.process_env(COLUMNS="200", **env))


def refusing_case_store() -> web.Application:
    """A case store that refuses every report as the real one would refuse a report it cannot accept."""

    async def refuse(_: web.Request) -> web.Response:
        return web.json_response({"error": "invalid_envelope", "detail": "agency code unknown"}, status=422)

    app = web.Application()
    app.router.add_post("/v1/reports", refuse)
    app.router.add_post("/v1/reports/batch", refuse)
    return app


async def test_case_store_down_then_back_delivers_exactly_once(
    gateway: GatewayServer, casestore: CaseStoreServer, worker: ProcessHandle, redis: Redis
) -> None:
    casestore.stop()
    response = await gateway.post_twilio(gateway.twilio_form(Body="Banjir di RT 05", MessageSid="SM" + "b" * 32))
    tracking_id = tracking_id_in(twiml_message(response.text))  # the citizen is answered while the store is down

    # The worker tries, fails and schedules a retry; nothing is lost meanwhile.
    await async_wait_until(lambda: "forward.retry" in worker.output(), timeout=15)
    assert casestore.get(tracking_id) is None
    casestore.start()

    await async_wait_until(lambda: casestore.get(tracking_id), timeout=20)
    assert [r["tracking_id"] for r in casestore.reports()] == [tracking_id]
    assert DeadLetters(redis).count() == 0



@pytest.mark.parametrize("reports", [pytest.param(1, id="posted-alone"), pytest.param(2, id="in-a-batch")])
def test_a_new_report_under_a_tracking_id_the_case_store_has_for_another_is_dead_lettered_not_marked_forwarded(
    settings: Settings, redis: Redis, casestore: CaseStoreServer, reports: int
) -> None:
    """Redis came back behind the IDs it had leased (emptied, rolled back): intake mints an ID the case store already
    has for another citizen's report. Answered 200 "already had it", the new report was marked forwarded, in no queue
    and no dead letter, and its citizen's Tracking ID showed the other report."""
    from gateway.tracking import SEQUENCE_KEY, format_tracking_id

    taken = format_tracking_id(2_000_000)
    earlier = draft("SM-earlier", "Laporan lama").with_tracking_id(taken).model_dump(mode="json")
    casestore.store.store_many([earlier])
    redis.set(SEQUENCE_KEY, 1_999_999)  # behind: the next lease starts at the ID taken
    receipts = Intake(redis, settings).commit([draft(f"SM-new-{n}", "Laporan baru") for n in range(reports)])
    assert receipts[0].tracking_id == taken
    use_context(WorkerContext.build(settings, redis))
    try:
        counts = forward.forward_reports([receipt.tracking_id for receipt in receipts])
    finally:
        use_context(None)
    assert (counts["forwarded"], counts["dead_lettered"]) == (reports - 1, 1)
    letter = DeadLetters(redis).get(taken)
    assert letter is not None and letter.reason == "casestore_409" and "tracking_id_taken" in letter.detail
    assert redis.hget(REPORT_STATE_KEY.format(tracking_id=taken), "state") is None  # not marked forwarded
    assert casestore.get(taken)["channel_message_id"] == "SM-earlier"  # type: ignore[index]

async def test_a_refused_report_is_dead_lettered_and_the_cli_requeues_it(
    gateway: GatewayServer, settings: object, test_env: TestEnvironment, worker: ProcessHandle, redis: Redis,
    tmp_path: object,
) -> None:
    port = test_env.settings().casestore.port
    refusing = LoopbackServer(refusing_case_store, port)
    refusing.start()
    response = await gateway.post_twilio(gateway.twilio_form(Body="Izin usaha dipersulit", MessageSid="SM" + "c" * 32))
    tracking_id = tracking_id_in(twiml_message(response.text))

    registry = DeadLetters(redis)
    await async_wait_until(lambda: registry.count() == 1, timeout=15)
    letter = registry.get(tracking_id)
    assert letter is not None
    assert letter.reason == "casestore_422"
    assert "agency code unknown" in letter.detail
    assert letter.queue == FORWARD_QUEUE

    listing = cli(test_env, "deadletters", "list")
    assert listing.returncode == 0, listing.stderr
    assert tracking_id in listing.stdout
    assert "casestore_422" in listing.stdout

    # The operator fixes the cause (here: the real case store is back) and requeues.
    refusing.stop()
    store = CaseStoreServer(port, test_env.values["LAPOR_CASESTORE_TOKEN"], tmp_path / "store.db")  # type: ignore[operator]
    store.start()
    try:
        requeue = cli(test_env, "deadletters", "requeue", tracking_id)
        assert requeue.returncode == 0, requeue.stdout + requeue.stderr
        # Its output on stdout, its log lines on stderr: 3,000 letters wrote 3,000 JSON lines into a pipe of it.
        assert requeue.stdout.strip() == "requeued 1 dead letter(s)"
        assert '"deadletter.requeued"' in requeue.stderr
        await async_wait_until(lambda: store.get(tracking_id), timeout=15)
        assert [r["tracking_id"] for r in store.reports()] == [tracking_id]
        assert registry.count() == 0
    finally:
        store.stop()


@pytest.mark.usefixtures("deployed")
async def test_requeue_of_an_unknown_id_fails_loudly(test_env: TestEnvironment, redis: Redis) -> None:
    result = cli(test_env, "deadletters", "requeue", "10000011")
    assert result.returncode == 1
    assert "requeued 0" in result.stdout
    assert "no dead letter for 10000011" in result.stdout  # as `deadletters show` says it


@pytest.mark.usefixtures("deployed")
def test_requeue_names_each_id_not_found_beside_those_it_requeued(test_env: TestEnvironment, redis: Redis) -> None:
    """A known Tracking ID with a dead forward and a dead reply requeues two letters: two IDs named, two requeued,
    and the unknown one went unnoticed (exit 0, nothing said)."""
    registry = DeadLetters(redis)
    known = "10000011"
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[known]], tracking_id=known, item=known,
                     reason="casestore_422", detail="refused")
    registry.add_new(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"tracking_id": known}],
                     tracking_id=known, item="reply-1", reason="aggregator_400", detail="refused")
    result = cli(test_env, "deadletters", "requeue", known, "10000029")
    assert result.returncode == 1
    assert "requeued 2 dead letter(s)" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("no dead letter")] == [
        "no dead letter for 10000029"]
    assert registry.count() == 0

    filtered = cli(test_env, "deadletters", "requeue", known, "--queue", FORWARD_QUEUE)
    assert filtered.returncode == 1
    assert f"no dead letter for {known} that passes the filters" in filtered.stdout


def test_a_purged_forward_lets_its_report_expire_as_a_forwarded_one_does(test_env: TestEnvironment,
                                                                          redis: Redis) -> None:
    """A report waits for its forward without end: its envelope (the citizen's words and number), its state and the
    records of its fetched files have no expiry. Purged, it will not be delivered: they stayed in Redis for ever,
    and its files could never be purged. They now expire as a forwarded report's do; a purged reply touches none."""
    registry = DeadLetters(redis)
    photo = "https://pbs.twimg.com/media/GdQx1aXbYAA8kq2.jpg"
    record = FETCHED_KEY.format(url_digest=hashlib.sha256(photo.encode()).hexdigest())
    waiting = {"10000011": "forward", "10000029": "reply"}
    for tracking_id, kind in waiting.items():
        redis.set(envelope_key(tracking_id), orjson.dumps({"tracking_id": tracking_id, "text": "jalan rusak",
                                                           "attachments": [{"location": photo}]}))
        redis.hset(REPORT_STATE_KEY.format(tracking_id=tracking_id), "state", "queued")
        queue_name, func = (FORWARD_QUEUE, FORWARD_FUNC) if kind == "forward" else (REPLY_QUEUE, "workers.reply.x")
        registry.add_new(queue=queue_name, func=func, args=[[tracking_id]], tracking_id=tracking_id,
                         item=tracking_id, reason="casestore_422", detail="refused")
    redis.set(record, b'{"sha256": "00", "size": 1, "content_type": "image/jpeg"}')
    result = cli(test_env, "deadletters", "purge", "--all", "--queue", FORWARD_QUEUE, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    ttl = test_env.settings().intake.envelope_ttl_seconds
    for key in (envelope_key("10000011"), REPORT_STATE_KEY.format(tracking_id="10000011"), record):
        assert ttl - 60 < redis.ttl(key) <= ttl, key
    assert redis.ttl(envelope_key("10000029")) == -1 and registry.count() == 1


@pytest.mark.usefixtures("deployed")
def test_purge_names_each_id_not_found_and_purges_the_rest(test_env: TestEnvironment, redis: Redis) -> None:
    """A mistyped Tracking ID beside a right one: the right one is purged, the other named (exit 1), not a silent
    "purged 1" that reads as if both were gone."""
    registry = DeadLetters(redis)
    known = "10000011"
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[known]], tracking_id=known, item=known,
                     reason="casestore_422", detail="refused")
    result = cli(test_env, "deadletters", "purge", known, "10000029", "--yes")
    assert result.returncode == 1
    assert "purged 1 dead letter(s)" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("no dead letter")] == [
        "no dead letter for 10000029"]
    assert registry.count() == 0
    nothing = cli(test_env, "deadletters", "purge", "10000037")  # nothing to purge: no question asked
    assert (nothing.returncode, nothing.stdout.splitlines()[0]) == (1, "no dead letter for 10000037")


def test_a_purge_leaves_what_was_requeued_or_failed_again_since_it_was_listed(
        test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """While one operator's purge waits for its confirmation, another requeues a letter, and a requeued one fails
    again for another reason. The purge deleted them all the same (the new failure despite `--reason`) and set the
    requeued report's envelope to expire while its forward was queued: it takes only letters as they were listed.
    (`log_stream` sets the logging back after the in-process command, which configures it on CliRunner's stdout.)"""
    import typer
    from typer.testing import CliRunner

    from gateway.cli import app

    settings = test_env.settings()
    registry = DeadLetters(redis)
    for tracking_id in ("10000011", "10000029", "10000037"):
        redis.set(envelope_key(tracking_id), orjson.dumps({"tracking_id": tracking_id, "text": "jalan rusak"}))
        registry.add_forward(tracking_id, None, reason="casestore_422", detail="refused", attempts=1)

    def meanwhile(*_: Any, **__: Any) -> bool:
        listed = {letter.tracking_id: letter for letter in registry.select(None)}
        registry.requeue([listed["10000011"], listed["10000029"]], settings)
        registry.add_forward("10000029", None, reason="casestore_500", detail="failed again", attempts=1)
        return True

    for name, value in test_env.values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(typer, "confirm", meanwhile)
    result = CliRunner().invoke(app, ["deadletters", "purge", "--all", "--reason", "casestore_422"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "purged 1 dead letter(s)" in result.output and "skipped 2 dead letter(s)" in result.output
    assert [(letter.tracking_id, letter.reason) for letter in registry.select(None)] == [("10000029", "casestore_500")]
    assert queue(FORWARD_QUEUE, redis).count == 2  # both requeued forwards still to run
    assert [redis.ttl(envelope_key(tid)) for tid in ("10000011", "10000029")] == [-1, -1]
    assert redis.ttl(envelope_key("10000037")) > 0


async def test_purge_removes_without_delivering(
    gateway: GatewayServer, test_env: TestEnvironment, start_process: Callable[..., ProcessHandle], redis: Redis
) -> None:
    refusing = LoopbackServer(refusing_case_store, test_env.settings().casestore.port)
    refusing.start()
    try:
        start_process("worker")
        response = await gateway.post_twilio(gateway.twilio_form(Body="Pungli", MessageSid="SM" + "d" * 32))
        tracking_id = tracking_id_in(twiml_message(response.text))
        registry = DeadLetters(redis)
        await async_wait_until(lambda: registry.count() == 1, timeout=60)  # a worker's start on a loaded machine
        result = cli(test_env, "deadletters", "purge", tracking_id, "--yes")
        assert result.returncode == 0, result.stderr
        assert registry.count() == 0
        assert queue(FORWARD_QUEUE, redis).count == 0
    finally:
        refusing.stop()


def test_requeue_by_tracking_id_takes_each_of_its_dead_letters_once(test_env: TestEnvironment, redis: Redis) -> None:
    """A report can have a dead forward and a dead reply. Naming its Tracking ID requeues both; naming it twice (or by
    ID and key), or a second operator requeueing from the same listing, enqueues nothing again: a second reply job
    would text the citizen twice."""
    settings = test_env.settings()
    registry = DeadLetters(redis)
    tracking_id = "10000011"
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[tracking_id]], tracking_id=tracking_id,
                     item=tracking_id, reason="casestore_422", detail="refused")
    registry.add_new(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"tracking_id": tracking_id}],
                     tracking_id=tracking_id, item="reply-1", reason="aggregator_400", detail="refused")

    selected = registry.select([tracking_id, tracking_id, f"{FORWARD_QUEUE}:{tracking_id}"])
    assert sorted(letter.key for letter in selected) == [f"{FORWARD_QUEUE}:{tracking_id}", f"{REPLY_QUEUE}:reply-1"]
    assert registry.requeue(selected, settings) == Requeued(requeued=2)
    assert registry.requeue(selected, settings) == Requeued(gone=2)  # the other operator, from the same listing
    assert (queue(FORWARD_QUEUE, redis).count, queue(REPLY_QUEUE, redis).count) == (1, 1)
    assert registry.count() == 0


# A writer of its own process: a thread of the test's process waits for the interpreter's lock while the requeue's
# thread (or the process's other work on a loaded machine) holds it, and a requeue slipped through the pause.
# A transaction's EXEC as redis-py sends it.
_EXEC = b"*1\r\n$4\r\nEXEC\r\n"


class DeadLettersPouringIn:
    """A TCP proxy to Redis that writes to the dead-letter registry's hash, on a connection of its own, before it
    passes on each EXEC its clients send: every WATCH of the hash is spoiled, as by workers dead-lettering without
    pause (a case-store outage), however the machine schedules the processes. A real flood (a writer never waiting
    for answers) left gaps on a loaded machine, and a requeue slipped through them."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        kwargs = redis.connection_pool.connection_kwargs
        self._upstream = (str(kwargs.get("host", "127.0.0.1")), int(kwargs.get("port", 6379)))
        self._listener = socket.create_server(("127.0.0.1", 0))
        password = f":{kwargs['password']}@" if kwargs.get("password") else ""
        self.url = f"redis://{password}127.0.0.1:{self._listener.getsockname()[1]}/{kwargs.get('db', 0)}"
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def client(self) -> Redis:
        return Redis.from_url(self.url)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._redis.hdel(ENTRIES_KEY, "pouring-in")

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._upstream)
                self._sockets += [client, upstream]
                threading.Thread(target=self._to_redis, args=(client, upstream), daemon=True).start()
                threading.Thread(target=self._copy, args=(upstream, client), daemon=True).start()

    def _to_redis(self, client: socket.socket, upstream: socket.socket) -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while data := client.recv(1 << 16):
                pending += data
                while (at := pending.find(_EXEC)) >= 0:
                    upstream.sendall(pending[:at])
                    self._redis.hset(ENTRIES_KEY, "pouring-in", "1")  # answered before the EXEC goes on
                    upstream.sendall(_EXEC)
                    pending = pending[at + len(_EXEC):]
                # What may be the start of an EXEC waits for the rest (an unfinished command has no answer to wait for).
                keep = next((n for n in range(len(_EXEC) - 1, 0, -1) if pending.endswith(_EXEC[:n])), 0)
                upstream.sendall(pending[:len(pending) - keep])
                pending = pending[len(pending) - keep:]
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    @staticmethod
    def _copy(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def dead_letters_pouring_in(redis: Redis) -> Iterator[DeadLettersPouringIn]:
    """Redis as under a flood of dead letters, for the clients that connect to the yielded proxy's `url`."""
    proxy = DeadLettersPouringIn(redis)
    try:
        yield proxy
    finally:
        proxy.close()


def test_requeue_while_dead_letters_pour_in_gives_up_on_the_letter_and_says_so(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO,
) -> None:
    """Every try at requeueing a letter meets a registry changed under its WATCH (a case-store outage dead-letters
    many a second): the requeue must return, leaving the letter listed and nothing queued, instead of trying until
    the outage ends. Once the registry is quiet the same letter is requeued."""
    settings = test_env.settings()
    registry = DeadLetters(redis)
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000011"]], tracking_id="10000011",
                     item="10000011", reason="casestore_unreachable", detail="retries ran out")
    letters = registry.select(None)
    outcome: list[Requeued] = []
    with dead_letters_pouring_in(redis) as flood, flood.client() as through_flood:
        flooded = DeadLetters(through_flood)
        requeue = threading.Thread(target=lambda: outcome.append(flooded.requeue(letters, settings)), daemon=True)
        requeue.start()
        requeue.join(30)  # a guard against the old endless retry, not a measure of speed
        assert not requeue.is_alive(), "requeue kept retrying while the registry changed"
    assert outcome == [Requeued(requeued=0, busy=1)]
    assert [letter.key for letter in registry.list()] == [f"{FORWARD_QUEUE}:10000011"]
    assert queue(FORWARD_QUEUE, redis).count == 0
    busy = [event for event in log_events(log_stream) if event["event"] == "deadletter.requeue_busy"]
    assert [(event["tracking_id"], event["level"]) for event in busy] == [("10000011", "warning")]

    assert registry.requeue(letters, settings) == Requeued(requeued=1)
    assert registry.count() == 0
    assert [job.args for job in queue(FORWARD_QUEUE, redis).get_jobs()] == [[["10000011"]]]


def test_the_cli_says_how_many_it_skipped_while_dead_letters_poured_in(test_env: TestEnvironment, redis: Redis) -> None:
    registry = DeadLetters(redis)
    for tracking_id in ("10000011", "10000029"):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[tracking_id]], tracking_id=tracking_id,
                         item=tracking_id, reason="casestore_unreachable", detail="retries ran out")
    with dead_letters_pouring_in(redis) as flood:
        busy = cli(test_env, "deadletters", "requeue", "--all", REDIS_URL=flood.url)
    assert busy.returncode == 1, busy.stdout + busy.stderr
    assert "requeued 0 dead letter(s)" in busy.stdout and "skipped 2 dead letter(s)" in busy.stdout, busy.stdout
    assert "run the same command again" in busy.stdout
    assert registry.count() == 2

    quiet = cli(test_env, "deadletters", "requeue", "--all")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "requeued 2 dead letter(s)" in quiet.stdout and "skipped" not in quiet.stdout
    assert registry.count() == 0


def test_a_requeue_of_dead_letters_gone_meanwhile_says_so_and_exits_1(
        test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """Between the requeue reading the dead letters and putting them back, another operator requeues one and purges
    another: neither is queued again, and the command said `requeued 1 dead letter(s)` and exited 0, as if all three
    went. (`log_stream` sets the logging back after the in-process command, as in the purge's test above.)"""
    from typer.testing import CliRunner

    from gateway.cli import app

    settings = test_env.settings()
    registry = DeadLetters(redis)
    for tracking_id in ("10000011", "10000029", "10000037"):
        registry.add_forward(tracking_id, None, reason="casestore_422", detail="refused", attempts=1)
    select = DeadLetters.select

    def meanwhile(self: DeadLetters, selectors: Any) -> list[Any]:
        selected = select(self, selectors)
        listed = {letter.tracking_id: letter for letter in select(registry, None)}
        registry.requeue([listed["10000011"]], settings)
        registry.purge([listed["10000029"]], settings.intake.envelope_ttl_seconds)
        return selected

    for name, value in test_env.values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(DeadLetters, "select", meanwhile)
    result = CliRunner().invoke(app, ["deadletters", "requeue", "--all"], env={"COLUMNS": "200"})

    assert result.exit_code == 1, result.output
    assert "requeued 1 dead letter(s)" in result.output
    assert "skipped 2 dead letter(s) no longer there" in result.output
    assert sorted(job.args[0][0] for job in queue(FORWARD_QUEUE, redis).get_jobs()) == ["10000011", "10000037"]
    assert registry.count() == 0
    logged = log_events(io.StringIO(result.output))  # the command's own log lines
    gone = [event for event in logged if event["event"] == "deadletter.requeue_gone"]
    assert sorted(event["tracking_id"] for event in gone) == ["10000011", "10000029"]


def batch_refusing_case_store(status: int) -> Callable[[], web.Application]:
    """A case store whose batch endpoint refuses the whole batch with `status` (a revoked token, a ban...)."""

    def build() -> web.Application:
        async def refuse(_: web.Request) -> web.Response:
            return web.json_response({"error": "refused", "detail": f"refused with {status}"}, status=status)

        app = web.Application()
        app.router.add_post("/v1/reports/batch", refuse)
        app.router.add_post("/v1/reports", refuse)
        return app

    return build


@pytest.mark.parametrize("status", [401, 403, 413, 422])
def test_a_whole_batch_refused_dead_letters_each_report_under_the_status_the_case_store_gave(
    status: int, test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0")
    refusing = LoopbackServer(batch_refusing_case_store(status), settings.casestore.port)
    refusing.start()
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft(f"batch-{status}-{n}") for n in range(3)])  # one commit: one job of three
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
        refusing.stop()
    letters = [DeadLetters(redis).get(receipt.tracking_id) for receipt in receipts]
    assert [letter.reason if letter else None for letter in letters] == [f"casestore_{status}"] * 3


def test_a_batch_too_large_for_the_case_store_is_split_and_only_a_report_too_large_alone_is_dead_lettered(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer
) -> None:
    """The case store takes at most 16 MiB a request. A backlog of long mails makes full batches past that: the
    413 belongs to the batch, not to each report in it."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0")
    long_mail = "Kronologi kejadian. " * 300_000  # ~6 MB: three of them pass the limit together, none alone
    drafts = [draft("fits-1"), *[draft(f"long-{n}", long_mail) for n in range(3)],
              draft("too-large", "x" * (17 * 1024 * 1024)), draft("fits-2")]
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit(drafts)  # one commit: one job of six
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    too_large = receipts[4].tracking_id
    stored = [receipt.tracking_id for receipt in receipts if casestore.get(receipt.tracking_id)]
    assert stored == [receipt.tracking_id for receipt in receipts if receipt.tracking_id != too_large]
    letters = DeadLetters(redis)
    assert [letter.tracking_id for letter in letters.list()] == [too_large]
    assert letters.get(too_large).reason == "casestore_413"  # type: ignore[union-attr]


def forward_one_job(settings: Settings, redis: Redis, names: list[str],
                    case_store: Callable[[list[str]], Callable[[], web.Application]], *,
                    drafts: list[ReportDraft] | None = None) -> list[str]:
    """Commit one draft per name (or `drafts`) in one commit (one forward job), then drain the forward queue against
    the case store `case_store(tracking_ids)` builds, on the case store's port. The reports' Tracking IDs, in order."""
    intake = Intake(redis, settings)
    try:
        committed = intake.commit(drafts if drafts is not None else [draft(name) for name in names])
        tracking_ids = [receipt.tracking_id for receipt in committed]
        store = LoopbackServer(case_store(tracking_ids), settings.casestore.port)
        store.start()
        try:
            drain(settings, (FORWARD_QUEUE,))
        finally:
            store.stop()
    finally:
        intake.close()
    return tracking_ids


def failing_one_case_store(failing: str, failures: int, posted: list[str]) -> Callable[[], web.Application]:
    """A case store that takes one report per request (one without the batch extension, or a batch split under its
    size limit) and answers 503 to the first `failures` posts of the report `failing` (a shard down behind it), as a
    whole answer, not as one result of a batch. `posted` collects the Tracking ID of each report posted to it."""

    def answer(tracking_id: str, batch: bool) -> web.Response:
        posted.append(tracking_id)
        if tracking_id == failing and posted.count(tracking_id) <= failures:
            return web.json_response({"error": "unavailable"}, status=503)
        if batch:
            return web.json_response({"results": [{"tracking_id": tracking_id, "status": 201}]})
        return web.json_response({"tracking_id": tracking_id, "created": True}, status=201)

    def build() -> web.Application:
        async def one(request: web.Request) -> web.Response:
            return answer((await request.json())["tracking_id"], batch=False)

        async def batch(request: web.Request) -> web.Response:
            reports = (await request.json())["reports"]
            if len(reports) > 1:
                return web.json_response({"error": "too_large"}, status=413)
            return answer(reports[0]["tracking_id"], batch=True)

        app = web.Application()
        app.router.add_post("/v1/reports", one)
        app.router.add_post("/v1/reports/batch", batch)
        return app

    return build


@pytest.mark.parametrize("batch", ["false", "true"], ids=["one-by-one", "batch-split-to-one-each"])
@pytest.mark.parametrize(
    ("failures", "forwarded", "dead_lettered"),
    [
        pytest.param(2, [0, 1, 2], [], id="taken-at-the-last-try"),
        pytest.param(3, [0, 2], [1], id="failing-past-the-last-try"),
    ],
)
def test_reports_the_case_store_took_before_a_retryable_failure_stay_forwarded(
    batch: str, failures: int, forwarded: list[int], dead_lettered: list[int], test_env: TestEnvironment,
    redis: Redis
) -> None:
    """Posted one at a time, a 503, 429 or timeout on one report must not undo the reports the case store took before
    it in that try: they are forwarded and never posted again (a case store that throttles would otherwise see the
    same first reports at every try and never the rest), nor dead-lettered when the retries run out. The report
    that failed goes last in the next try: posted first again, one the case store keeps failing on stopped the
    reports after it at every try, and they were dead-lettered without the case store ever seeing them."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0",
                                 LAPOR_CASESTORE_BATCH=batch)
    posted: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"partial-{batch}-{failures}-{n}" for n in range(3)],
                                   lambda ids: failing_one_case_store(ids[1], failures, posted))
    states = {tid: redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids}
    assert [n for n, tid in enumerate(tracking_ids) if states[tid] == b"forwarded"] == forwarded
    assert posted.count(tracking_ids[0]) == 1
    assert posted.count(tracking_ids[1]) == 3  # once a try
    letters = DeadLetters(redis)
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [
        (tracking_ids[n], "casestore_503") for n in dead_lettered]
    assert queue(FORWARD_QUEUE, redis).failed_job_registry.count == 0


def remembering_case_store(posted: list[str]) -> Callable[[list[str]], Callable[[], web.Application]]:
    """A case store that takes one report per request, 201 the first time it sees a Tracking ID and 200 (already
    had it) after, as the contract says; `posted` collects each post."""

    def build(_: list[str]) -> Callable[[], web.Application]:
        def app() -> web.Application:
            async def post(request: web.Request) -> web.Response:
                tracking_id = (await request.json())["tracking_id"]
                posted.append(tracking_id)
                created = posted.count(tracking_id) == 1
                return web.json_response({"tracking_id": tracking_id, "created": created},
                                         status=201 if created else 200)

            application = web.Application()
            application.router.add_post("/v1/reports", post)
            return application

        return app

    return build


def test_a_forward_job_run_again_after_it_forwarded_its_reports_counts_them_forwarded_once(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A worker paused with a forward job in hand, the job requeued by another worker's reaper and run there, then
    the paused worker resumed and ran its copy: the case store answered 200, and the reports were counted forwarded
    twice (`lapor_reports_forwarded_total`, the status views' counter, its files lost too) and logged
    `report.forwarded` twice."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_CASESTORE_BATCH="false")
    posted: list[str] = []
    before = metrics.FORWARDED.labels("sms")._value.get()
    tracking_ids = forward_one_job(settings, redis, ["twice-1", "twice-2"], remembering_case_store(posted))
    enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(tracking_ids,)])  # the paused worker's copy
    store = LoopbackServer(remembering_case_store(posted)(tracking_ids), settings.casestore.port)
    store.start()
    try:
        drain(settings, (FORWARD_QUEUE,))
    finally:
        store.stop()

    assert sorted(posted) == sorted(tracking_ids * 2)  # both runs posted; the case store kept each once
    assert metrics.FORWARDED.labels("sms")._value.get() - before == 2
    forwarded = [e["tracking_id"] for e in log_events(log_stream) if e["event"] == "report.forwarded"]
    assert sorted(forwarded) == sorted(tracking_ids)
    assert {redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids} == {b"forwarded"}


def core_only_case_store(status: int | None) -> Callable[[], web.Application]:
    """A case store of the core contract only (POST /v1/reports, GET /v1/reports/{tracking_id}), no batch extension:
    its router answers POST /v1/reports/batch as its framework does, 405 (the path is a report's, GET only) or 404
    when `status` is None, or `status` (501, or a 404 of its own)."""

    def build() -> web.Application:
        async def post(request: web.Request) -> web.Response:
            tracking_id = (await request.json())["tracking_id"]
            return web.json_response({"tracking_id": tracking_id, "created": True}, status=201)

        async def get(_: web.Request) -> web.Response:
            return web.json_response({"error": "not_found"}, status=404)

        async def no_batch(_: web.Request) -> web.Response:
            return web.json_response({"error": "not_implemented"}, status=status or 404)

        app = web.Application()
        app.router.add_post("/v1/reports", post)
        if status is not None:
            app.router.add_post("/v1/reports/batch", no_batch)
        app.router.add_get("/v1/reports/{tracking_id}", get)
        return app

    return build


@pytest.mark.parametrize("status", [None, 404, 501], ids=["its-routers-405", "404", "501-not-implemented"])
def test_a_case_store_without_the_batch_extension_takes_the_reports_one_by_one(
    status: int | None, test_env: TestEnvironment, redis: Redis
) -> None:
    """The batch endpoint is this gateway's extension of the contract: a case store that does not have it answers as
    its router does (a POST to a path it serves only GETs on is a 405) and must cost no report a dead letter."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    tracking_ids = forward_one_job(settings, redis, [f"core-only-{status}-{n}" for n in range(3)],
                                   lambda _: core_only_case_store(status))
    states = [redis.hget(REPORT_STATE_KEY.format(tracking_id=tracking_id), "state") for tracking_id in tracking_ids]
    assert states == [b"forwarded"] * 3
    assert DeadLetters(redis).count() == 0


def test_a_worker_tries_the_batch_endpoint_again_a_while_after_it_was_missing(test_env: TestEnvironment) -> None:
    """A 404 from a deploy in progress (or a case store upgraded since) had every worker post one report per request
    until it restarted: it posts one by one for `BATCH_PROBE_SECONDS`, then tries the batch endpoint again."""
    from workers.casestore_client import BATCH_PROBE_SECONDS, CaseStoreClient

    settings = test_env.settings()
    has_batch = {"now": False}
    paths: list[str] = []

    def build() -> web.Application:
        async def post(request: web.Request) -> web.Response:
            paths.append(request.path)
            if request.path.endswith("/batch"):
                if not has_batch["now"]:
                    return web.json_response({"error": "not_found"}, status=404)
                reports = (await request.json())["reports"]
                return web.json_response({"results": [{"tracking_id": r["tracking_id"], "status": 201}
                                                      for r in reports]})
            return web.json_response({"tracking_id": (await request.json())["tracking_id"], "created": True},
                                     status=201)

        app = web.Application()
        app.router.add_post("/v1/reports", post)
        app.router.add_post("/v1/reports/batch", post)
        return app

    clock = {"now": 1000.0}
    store = LoopbackServer(build, settings.casestore.port)
    store.start()
    client = CaseStoreClient(settings, clock=lambda: clock["now"])
    try:
        def submit(*names: str) -> list[int]:
            paths.clear()
            return [result.status for result in client.submit([{"tracking_id": name} for name in names])]

        assert submit("a", "b") == [201, 201] and paths == ["/v1/reports/batch", "/v1/reports", "/v1/reports"]
        has_batch["now"] = True  # the deploy is over
        clock["now"] += BATCH_PROBE_SECONDS - 1
        assert submit("c", "d") == [201, 201] and paths == ["/v1/reports", "/v1/reports"]  # no probe at every job
        clock["now"] += 1
        assert submit("e", "f") == [201, 201] and paths == ["/v1/reports/batch"]
    finally:
        client.close()
        store.stop()


def taken(reports: list[dict[str, Any]], stored: list[str], *, batch: bool) -> web.Response:
    """A fake case store's answer to reports it takes, each added to `stored`: the batch's results, or one's 201."""
    stored.extend(report["tracking_id"] for report in reports)
    if not batch:
        return web.json_response({"tracking_id": reports[0]["tracking_id"], "created": True}, status=201)
    return web.json_response({"results": [{"tracking_id": report["tracking_id"], "status": 201}
                                          for report in reports]})


async def no_such_report(_: web.Request) -> web.Response:
    """A report's read (the outage probe's, `CaseStoreClient.answers`) answered as the contract says: 404."""
    return web.json_response({"error": "not_found", "detail": "no report with this Tracking ID"}, status=404)


def case_store_app(answer: Callable[[web.Request], Awaitable[web.Response]],
                   read: Callable[[web.Request], Awaitable[web.Response]] = no_such_report) -> web.Application:
    """A fake case store answering both the single and the batch POST with `answer`, and a report's read with `read`
    (the contract's 404 unless said)."""
    app = web.Application()
    app.router.add_post("/v1/reports", answer)
    app.router.add_post("/v1/reports/batch", answer)
    app.router.add_get("/v1/reports/{tracking_id}", read)
    return app


def timing_out_once_case_store(stored: list[str]) -> Callable[[], web.Application]:
    """A case store behind a proxy that gives up on the first request it reads (408 Request Timeout, as nginx's
    client_body_timeout answers), then takes every report; `stored` collects what it took."""

    def build() -> web.Application:
        requests: list[str] = []

        async def answer(request: web.Request) -> web.Response:
            body = await request.json()
            requests.append(request.path)
            if len(requests) == 1:
                return web.Response(text="<html><body>408 Request Time-out</body></html>", status=408,
                                    content_type="text/html")
            batch = request.path.endswith("/batch")
            return taken(body["reports"] if batch else [body], stored, batch=batch)

        return case_store_app(answer)

    return build


@pytest.mark.parametrize("batch", ["true", "false"], ids=["batch", "one-by-one"])
def test_a_request_timeout_answered_408_is_retried_as_a_timeout_is(
    batch: str, test_env: TestEnvironment, redis: Redis
) -> None:
    """The contract retries timeouts: one a proxy answers for the case store (408) is no refusal of the reports."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0",
                                 LAPOR_CASESTORE_BATCH=batch)
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"timeout-408-{batch}-{n}" for n in range(2)],
                                   lambda _: timing_out_once_case_store(stored))
    assert sorted(stored) == sorted(tracking_ids)
    assert DeadLetters(redis).count() == 0


def timing_out_on_one_case_store(bad: str, how: str, requests: list[int],
                                 stored: list[str]) -> Callable[[], web.Application]:
    """A case store that times out on every request carrying the report `bad` (a huge mail it chokes on, a large
    body): `how` is "slow" (it answers after the worker's timeout), or "408" / "504" (a proxy before it gives up
    on the request). It takes every other request, batch or single; `requests` collects the number of reports in
    each request, `stored` what it took."""

    def build() -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            body = await request.json()
            batch = request.path.endswith("/batch")
            reports = body["reports"] if batch else [body]
            requests.append(len(reports))
            if any(report["tracking_id"] == bad for report in reports):
                if how == "slow":
                    await answer_late(request, 2.0)
                    return web.json_response({"error": "too_slow"}, status=503)
                return web.Response(text=f"<html><body>{how} timed out</body></html>", status=int(how),
                                    content_type="text/html")
            return taken(reports, stored, batch=batch)

        return case_store_app(answer)

    return build


@pytest.mark.parametrize(
    ("how", "split_after", "reason", "alone"),
    [
        pytest.param("slow", "2", "casestore_timeout", True, id="client-timeout-split"),
        pytest.param("408", "2", "casestore_408", True, id="proxy-408-split"),
        pytest.param("504", "2", "casestore_504", True, id="proxy-504-split"),
        pytest.param("slow", "1", "casestore_timeout", True, id="split-at-the-first-timeout"),
        pytest.param("slow", "0", "casestore_timeout", False, id="never-split-when-switched-off"),
    ],
)
def test_a_batch_timing_out_on_one_report_is_split_so_only_that_report_is_dead_lettered(
    how: str, split_after: str, reason: str, alone: bool, test_env: TestEnvironment, redis: Redis,
    log_stream: io.StringIO,
) -> None:
    """A batch whose request always times out (one huge report, a case store that chokes on one, a proxy timing out
    on a large body) was retried whole until the retries ran out, and every report of it was dead-lettered with the
    one at fault. After `casestore.split_after_timeouts` timeouts the job's reports go on as two jobs of halves,
    down to one report a job: the others are stored, the one at fault is dead-lettered alone after its own tries."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0",
                                 LAPOR_CASESTORE_TIMEOUT_SECONDS="0.3",
                                 LAPOR_CASESTORE_SPLIT_AFTER_TIMEOUTS=split_after)
    requests: list[int] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"timing-out-{how}-{split_after}-{n}" for n in range(6)],
                                   lambda ids: timing_out_on_one_case_store(ids[4], how, requests, stored))
    bad = tracking_ids[4]
    others = [tid for tid in tracking_ids if tid != bad]
    letters = DeadLetters(redis)
    assert queue(FORWARD_QUEUE, redis).failed_job_registry.count == 0
    if not alone:
        assert stored == [] and requests == [6] * 4  # retried whole, then all dead-lettered
        assert sorted(letter.tracking_id for letter in letters.list()) == sorted(tracking_ids)
        return
    assert sorted(stored) == sorted(others)  # each once: the case store saw no report twice
    states = {tid: redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids}
    assert [tid for tid in tracking_ids if states[tid] == b"forwarded"] == others
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [(bad, reason)]
    assert requests[0] == 6 and requests.count(1) >= 4  # alone at last: its own four tries (0,0,0)
    splits = [event for event in log_events(log_stream) if event["event"] == "forward.split_for_timeouts"]
    assert splits and all(event["level"] == "warning" and event["reason"] == reason for event in splits)
    assert splits[0]["reports"] == 6 and splits[0]["halves"] == [3, 3]
    assert [event["timeouts"] for event in splits] == [int(split_after)] * len(splits)


# What nginx answers when the case-store process it passed a request to died on it (its upstream closed the
# connection): the proxy's own page, no word of the case store's.
BAD_GATEWAY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>" \
    "<hr><center>nginx</center></body></html>"


def failing_500_case_store(bad: str | None, reads: int, requests: list[int], stored: list[str], *,
                           status: int = 500) -> Callable[[], web.Application]:
    """A case store with an unhandled error (500) on every request carrying the report `bad` (None: on every post, a
    database that takes no write), batch or single, which answers a read with `reads` (the contract's 404, or 500 too);
    `requests` collects the number of reports in each post, `stored` what it took. `status` 502: behind nginx, whose
    Bad Gateway page answers each request whose case-store process died (a read answered `reads` 502 too: a case
    store down as a whole behind its proxy)."""

    def failure(code: int) -> web.Response:
        if code == 502:
            return web.Response(text=BAD_GATEWAY_PAGE, status=502, content_type="text/html")
        return web.Response(text="Internal Server Error", status=code)

    def build() -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            body = await request.json()
            batch = request.path.endswith("/batch")
            reports = body["reports"] if batch else [body]
            requests.append(len(reports))
            if bad is None or any(report["tracking_id"] == bad for report in reports):
                return failure(status)
            return taken(reports, stored, batch=batch)

        async def read(_: web.Request) -> web.Response:
            if reads == 502:
                return failure(reads)
            return web.json_response({"error": "not_found", "detail": "no report with this Tracking ID"}, status=reads)

        return case_store_app(answer, read)

    return build


@pytest.mark.parametrize("status", [500, 502], ids=["unhandled-error-500", "proxy-502-its-process-died"])
def test_a_batch_answered_500_for_one_report_goes_one_by_one_so_only_that_report_is_dead_lettered(
    status: int, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A case store failing on one report (an unhandled error: 500) failed its whole batch at every try: the other
    reports waited through every retry with it and were dead-lettered with it. After two such answers the job posts
    one report a request: the others are stored at the next try, the one at fault is dead-lettered alone. So for a
    case store behind nginx whose process dies on one report: a 502 to every batch holding it, which was retried
    whole as an outage's, every report of the batch dead-lettered with it, while the case store answered reads."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0")
    requests: list[int] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"failing-{status}-{n}" for n in range(6)],
                                   lambda ids: failing_500_case_store(ids[4], 404, requests, stored, status=status))
    bad = tracking_ids[4]
    assert sorted(stored) == sorted(tid for tid in tracking_ids if tid != bad)  # each once
    assert [(letter.tracking_id, letter.reason) for letter in DeadLetters(redis).list()] == [
        (bad, f"casestore_{status}")]
    assert requests == [6, 6, 1, 1, 1, 1, 1, 1, 1]  # one by one from the third try; the failed one last in the fourth
    [switched] = [event for event in log_events(log_stream) if event["event"] == "forward.one_by_one_after_500s"]
    assert switched["level"] == "warning" and switched["reports"] == 6
    assert (switched["status"], switched["batch_500s"]) == (status, 2)
    assert queue(FORWARD_QUEUE, redis).failed_job_registry.count == 0


@pytest.mark.parametrize("status", [500, 502])
def test_going_one_by_one_on_the_last_try_posts_every_report_past_the_one_the_case_store_fails_on(
    status: int, test_env: TestEnvironment, redis: Redis
) -> None:
    """Gone one by one at the job's last try, the try stopped at the report the case store fails on: the reports
    after it went untried into the dead letters, as if the case store had answered 500 for each. Once it took one
    report of the try, a 500 (a proxy's 502) is that report's answer and the next one goes."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    requests: list[int] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"last-try-{status}-{n}" for n in range(6)],
                                   lambda ids: failing_500_case_store(ids[1], 404, requests, stored, status=status))
    bad = tracking_ids[1]
    assert sorted(stored) == sorted(tid for tid in tracking_ids if tid != bad)
    assert requests == [6, 6, 1, 1, 1, 1, 1, 1]  # the last try one by one, every report posted
    [letter] = DeadLetters(redis).list()
    assert letter.tracking_id == bad and f"case store answered {status} for this report" in letter.detail


@pytest.mark.parametrize(("reads", "posts"), [(404, [3, 3, 1, 1]), (500, [3, 3, 3, 3])],
                         ids=["writes-fail-one-post-a-try", "reads-fail-too-stays-batched"])
def test_a_case_store_failing_every_write_costs_one_request_a_try_one_by_one(
    reads: int, posts: list[int], test_env: TestEnvironment, redis: Redis
) -> None:
    """Going one by one costs a case store that fails every write one post a try, as the batch did; one failing its
    reads too is in an outage, and the job stays batched. Every report is dead-lettered when the retries run out."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0")
    requests: list[int] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"no-writes-{reads}-{n}" for n in range(3)],
                                   lambda _: failing_500_case_store(None, reads, requests, stored))
    assert requests == posts and stored == []
    assert sorted(letter.tracking_id for letter in DeadLetters(redis).list()) == sorted(tracking_ids)


def test_a_case_store_down_behind_its_proxy_is_an_outage_and_its_batch_stays_whole(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A proxy's 502 to every request, reads too (the case store down behind nginx), is the whole case store's
    outage, as it always was: the job is retried whole (no one-by-one, which would only cost more requests), each try
    notes the outage under `casestore_502`, and the reports are dead-lettered together when the retries run out.
    Only a 502 to the batches while the case store answers reads is one report's (the test above)."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0")
    requests: list[int] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"proxy-down-{n}" for n in range(3)],
                                   lambda _: failing_500_case_store(None, 502, requests, stored, status=502))
    assert requests == [3, 3, 3, 3] and stored == []
    assert sorted((letter.tracking_id, letter.reason) for letter in DeadLetters(redis).list()) == sorted(
        (tid, "casestore_502") for tid in tracking_ids)
    assert redis.get(forward.CASESTORE_DOWN_KEY) == b"casestore_502"  # the outage's, noted
    events = log_events(log_stream)
    assert not [event for event in events if event["event"] == "forward.one_by_one_after_500s"]
    assert [event["reason"] for event in events if event["event"] == "forward.retry"] == ["casestore_502"] * 3


def dying_behind_a_proxy(bad: str | None, requests: list[str], stored: list[str], *, restart_window: int = 0,
                         dies_after_first: bool = False, status: int = 502) -> Callable[[], web.Application]:
    """A case store behind nginx (502 and its page for a request whose process died) whose process dies on every
    request carrying `bad`; the `restart_window` posts after its first death of a single post meet its restart (502
    too; by the next try it is back), reads still answered (a replica); `dies_after_first`: it dies for good (reads
    too) right after the first report a single post stores. `requests` names each request and its answer. `status`
    500: no proxy, the case store's own unhandled error (its database gone, for good)."""
    state = {"restarting": 0, "dead": False, "restarted": False}

    def failure() -> web.Response:
        if status == 502:
            return web.Response(text=BAD_GATEWAY_PAGE, status=502, content_type="text/html")
        return web.Response(text="Internal Server Error", status=status)

    def build() -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            body = await request.json()
            batch = request.path.endswith("/batch")
            reports = body["reports"] if batch else [body]
            name = "batch" if batch else reports[0]["tracking_id"]
            if state["dead"] or (not batch and state["restarting"]):
                state["restarting"] = max(0, state["restarting"] - 1)
                requests.append(f"{name}:{status}")
                return failure()
            if any(report["tracking_id"] == bad for report in reports):
                if not batch and not state["restarted"]:
                    state["restarting"], state["restarted"] = restart_window, True
                requests.append(f"{name}:{status}")
                return failure()
            requests.append(f"{name}:201")
            state["dead"] = dies_after_first and not batch
            return taken(reports, stored, batch=batch)

        async def read(request: web.Request) -> web.Response:
            requests.append(f"read:{status}" if state["dead"] else "read:404")
            return failure() if state["dead"] else await no_such_report(request)

        return case_store_app(answer, read)

    return build


@pytest.mark.parametrize("status", [502, 500], ids=["its-process-died-behind-nginx", "its-database-gone"])
def test_a_failure_after_a_report_of_a_one_by_one_try_is_an_outage_when_no_read_is_answered(
    status: int, test_env: TestEnvironment, redis: Redis
) -> None:
    """Gone one by one, a 500 or a proxy's 502 once the case store took a report of the try was that report's answer
    whatever came next: the process behind nginx dying mid-try (a deploy, the host gone), or the case store's database
    going away, made every later report "the one at fault", the outage unnoted (no probe, no move at its end, a retry
    spent) and, on a last try, each dead-lettered as such. It is that report's only while the case store answers a
    read; else the try ends, an outage's."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,600,600")
    requests: list[str] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"dies-mid-try-{status}-{n}" for n in range(4)],
                                   lambda ids: dying_behind_a_proxy(ids[3], requests, stored, dies_after_first=True,
                                                                    status=status))
    first, second = tracking_ids[:2]
    assert requests == [f"batch:{status}", f"batch:{status}", "read:404", f"{first}:201", f"{second}:{status}",
                        f"read:{status}"], requests
    assert stored == [first] and DeadLetters(redis).list() == []
    [job_id] = queue(FORWARD_QUEUE, redis).scheduled_job_registry.get_job_ids()
    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert job.meta["last_error"] == f"casestore_{status}" and job.meta["failed"] == [second]
    assert redis.get(forward.CASESTORE_DOWN_KEY) == f"casestore_{status}".encode()  # noted: the probe takes it up


def test_a_report_that_met_the_restart_after_another_killed_the_process_goes_before_it_at_the_next_try(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """The report posted in the moment a case store behind nginx restarts after its process died on another one gets
    a 502 too. Both went last at every later try, in the order of their IDs: the one at fault first, its 502 ended
    each try before the other was posted again, and both were dead-lettered. Of the reports that failed, the one that
    failed least goes first: it is stored, the one at fault is dead-lettered alone."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0,0")
    requests: list[str] = []
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"restart-window-{n}" for n in range(4)],
                                   lambda ids: dying_behind_a_proxy(ids[1], requests, stored, restart_window=1))
    bad, unlucky = tracking_ids[1], tracking_ids[2]
    assert f"{unlucky}:502" in requests and f"{unlucky}:201" in requests, requests
    assert sorted(stored) == sorted(tid for tid in tracking_ids if tid != bad), requests
    assert [letter.tracking_id for letter in DeadLetters(redis).list()] == [bad], requests


def hung_case_store(requests: list[str]) -> Callable[[], web.Application]:
    """A case store hung as a whole: every request, reads too, takes past the worker's timeout; `requests` collects
    the method and path of each."""

    def build() -> web.Application:
        async def hang(request: web.Request) -> web.Response:
            requests.append(f"{request.method} {request.path}")
            await answer_late(request, 1.0)
            return web.json_response({"error": "too_slow"}, status=503)

        app = web.Application()
        app.router.add_post("/v1/reports", hang)
        app.router.add_post("/v1/reports/batch", hang)
        app.router.add_get("/v1/reports/{tracking_id}", hang)
        return app

    return build


def test_a_batch_timing_out_on_a_case_store_hung_as_a_whole_is_not_split(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A case store that times out on every request is in an outage, not held up by one report: split, a batch of N
    became up to 2N - 1 jobs, each timing out through every retry (190 requests for 32 reports where the batch
    made 4). Its reads time out too, so the job is retried whole as before, and dead-lettered whole."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0",
                                 LAPOR_CASESTORE_TIMEOUT_SECONDS="0.2")
    requests: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"hung-{n}" for n in range(6)],
                                   lambda _: hung_case_store(requests))
    assert [request for request in requests if request.startswith("POST")] == ["POST /v1/reports/batch"] * 4
    assert requests.count("GET /v1/reports/10000000") == 3  # asked from the second timeout on
    assert sorted(letter.tracking_id for letter in DeadLetters(redis).list()) == sorted(tracking_ids)
    assert not [event for event in log_events(log_stream) if event["event"] == "forward.split_for_timeouts"]


def sized_timing_out_case_store(bad: str, requests: list[list[str]], stored: list[str],
                                largest: int = 3) -> Callable[[], web.Application]:
    """A case store that takes at most `largest` reports a batch (413 above: the size is checked first) and takes
    past the worker's timeout over every request carrying the report `bad` (empty: none); `requests` collects the
    Tracking IDs of each request, `stored` what it took."""

    def build() -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            body = await request.json()
            batch = request.path.endswith("/batch")
            reports = body["reports"] if batch else [body]
            requests.append([report["tracking_id"] for report in reports])
            if len(reports) > largest:
                return web.json_response({"error": "too_large"}, status=413)
            if any(report["tracking_id"] == bad for report in reports):
                await answer_late(request, 2.0)
                return web.json_response({"error": "too_slow"}, status=503)
            return taken(reports, stored, batch=batch)

        return case_store_app(answer)

    return build


def test_a_split_for_timeouts_hands_each_report_not_done_to_one_half_which_waits_the_jobs_next_retry(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """The halves of a job split for its timeouts carry exactly its reports not done yet (those the case store took
    in an earlier try stay done), wait what the job's next retry would have (a case store hung as a whole is not
    asked more often for the split) and wait out the outage as the job did, so the first report the case store
    takes again brings them to now. The job, run again after the split (its worker died before it ended, the reaper
    requeued it), leaves its reports to the halves: each report is in one job, and nothing is lost."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,30,60",
                                 LAPOR_CASESTORE_TIMEOUT_SECONDS="0.3")
    requests: list[list[str]] = []
    stored: list[str] = []
    started = time.time()
    tracking_ids = forward_one_job(settings, redis, [f"split-halves-{n}" for n in range(6)],
                                   lambda ids: sized_timing_out_case_store(ids[3], requests, stored))
    # Try 1: 413, then the first half stored and the second timed out; try 2 (no wait, interval 0): timed out again.
    assert sorted(stored) == sorted(tracking_ids[:3])
    assert len(requests) == 4 and requests[-1] == [tracking_ids[4], tracking_ids[5], tracking_ids[3]]
    assert DeadLetters(redis).count() == 0
    forwards = queue(FORWARD_QUEUE, redis)
    registry = forwards.scheduled_job_registry
    halves = [forwards.fetch_job(job_id) for job_id in registry.get_job_ids()]
    assert sorted(job.args[0] for job in halves if job) == [[tracking_ids[3]], tracking_ids[4:]]
    for job in halves:
        assert job is not None and job.meta["last_error"] == "casestore_timeout"
        assert job.retries_left == 3  # each counts afresh
        due = registry.get_scheduled_time(job).timestamp()
        assert started + 29 <= due <= time.time() + 31  # the job's next retry: 30 s (whole seconds), not at once
    parent = forwards.fetch_job(str(halves[0].meta["split_from"]))  # type: ignore[union-attr]
    assert parent is not None and sorted(parent.meta["done"]) == sorted(tracking_ids)
    assert sorted(parent.meta["split_into"]) == sorted(job.id for job in halves if job)
    # A report waiting for its file does not wait longer for the split.
    assert {job.meta[forward.FIRST_TRY_META] for job in halves if job} == {parent.meta[forward.FIRST_TRY_META]}
    use_context(WorkerContext.build(settings, redis))
    try:  # the case store takes a report again: the halves, waiting out its outage, run now
        assert forward.retry_outage_now(current()) == 2
    finally:
        use_context(None)
    assert all(registry.get_scheduled_time(job).timestamp() <= time.time() for job in halves if job)

    forwards.enqueue_job(parent)  # run again, as the reaper requeues a job whose worker died
    stored_after: list[str] = []
    requests.clear()
    for job in halves:  # due now: their scheduler's work
        registry.remove(job)  # type: ignore[arg-type]
        forwards.enqueue_job(job)  # type: ignore[arg-type]
    store = LoopbackServer(sized_timing_out_case_store("", requests, stored_after), settings.casestore.port)
    store.start()
    try:
        drain(settings, (FORWARD_QUEUE,))
    finally:
        store.stop()
    assert sorted(requests) == sorted([[tracking_ids[3]], tracking_ids[4:]])  # the job run again posted nothing
    assert sorted(stored + stored_after) == sorted(tracking_ids)
    states = [redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids]
    assert states == [b"forwarded"] * 6 and DeadLetters(redis).count() == 0


def test_the_halves_of_a_split_for_a_proxys_504_wait_out_its_retry_after(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """A proxy before the case store answers 504 with a Retry-After to every batch with one report the case store
    chokes on. The job's retry waited it out, but its split's halves were queued at once (the job's next interval, 0
    here), asked again before the time the proxy gave, and an outage's end brought them to now. They wait what it
    asked, and say so (`retry_after_until`, which keeps an outage's end from moving them sooner)."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0,0")
    requests: list[list[str]] = []

    def proxy(tracking_ids: list[str]) -> Callable[[], web.Application]:
        def build() -> web.Application:
            async def answer(request: web.Request) -> web.Response:
                body = await request.json()
                reports = body["reports"] if request.path.endswith("/batch") else [body]
                requests.append([report["tracking_id"] for report in reports])
                if tracking_ids[1] in requests[-1]:
                    asked = {"Retry-After": "120"} if len(requests) > 1 else {}  # its first 504 asked nothing
                    return web.json_response({"error": "gateway_timeout"}, status=504, headers=asked)
                return taken(reports, [], batch=request.path.endswith("/batch"))

            return case_store_app(answer)

        return build

    started = time.time()
    forward_one_job(settings, redis, [f"proxy-504-{n}" for n in range(4)], proxy)
    assert len(requests) == 2  # the batch twice, the split at the second
    forwards = queue(FORWARD_QUEUE, redis)
    registry = forwards.scheduled_job_registry
    halves = [forwards.fetch_job(job_id) for job_id in registry.get_job_ids()]
    assert len(halves) == 2 and all(halves)
    for half in halves:
        assert registry.get_scheduled_time(half).timestamp() >= started + 119
        assert half.meta[forward.RETRY_AFTER_META] >= started + 119
    assert DeadLetters(redis).count() == 0


def test_a_split_for_timeouts_whose_transaction_fails_leaves_the_jobs_reports_not_done(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """The split's halves and the job's meta (its reports counted done) go in one transaction: one that fails (a
    Redis error on EXEC) queued no half, and the job, failing on that error, must still hold its reports. Counted done
    on the job before the EXEC, its retry (`note_retry` saves the meta) or its give-up (`dead_letter_unfinished`)
    found nothing left: the reports were in no job and no dead letter."""
    settings = test_env.settings(LAPOR_CASESTORE_SPLIT_AFTER_TIMEOUTS="1")
    (job,) = enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(["10000007", "10000015", "10000023"],)])

    class FailingPipeline(type(redis.pipeline())):  # type: ignore[misc]
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            if any(command[0] == "HSET" and command[2] == "meta" for command, _ in self.command_stack):
                self.reset()
                raise RedisConnectionError("connection reset on EXEC")
            return super().execute(*args, **kwargs)

    class FailingRedis(Redis):
        def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
            return FailingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    failing = FailingRedis(connection_pool=redis.connection_pool)
    context = SimpleNamespace(settings=settings, redis=failing, casestore=SimpleNamespace(answers=lambda: True))
    error = RetryableError("timed out", reason="casestore_timeout")
    with pytest.raises(RedisConnectionError):
        forward.split_timing_out(context, job, list(job.args[0]), {"10000007"}, error, {})  # type: ignore[arg-type]
    assert not {"10000015", "10000023"} & set(job.meta.get("done", [])) and forward.SPLIT_INTO_META not in job.meta
    # No half was stored (RQ's scheduled registry takes their ids outside the transaction: its scheduler drops them).
    forwards = queue(FORWARD_QUEUE, redis)
    assert [forwards.fetch_job(job_id) for job_id in forwards.scheduled_job_registry.get_job_ids()] == [None, None]
    assert forwards.count == 1


def test_a_split_for_timeouts_schedules_its_halves_inside_its_transaction(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """RQ's scheduled registry takes a scheduled job's id at once, outside the pipeline it is given; its scheduler,
    passing before the transaction commits, drops an id whose job it cannot fetch yet. Here the id so added is dropped
    at once: the halves must still be scheduled, by the transaction itself (without it, they were saved and never run,
    their reports counted done on the job split)."""
    settings = test_env.settings(LAPOR_CASESTORE_SPLIT_AFTER_TIMEOUTS="1", LAPOR_QUEUES_RETRY_INTERVALS="30,60")
    (job,) = enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(["10000007", "10000015", "10000023"],)])

    class SchedulerDroppingEarlyIds(Redis):
        def zadd(self, *args: Any, **kwargs: Any) -> Any:  # a direct ZADD, as RQ's registry makes it: dropped
            return 0

    dropping = SchedulerDroppingEarlyIds(connection_pool=redis.connection_pool)
    context = SimpleNamespace(settings=settings, redis=dropping, casestore=SimpleNamespace(answers=lambda: True))
    error = RetryableError("timed out", reason="casestore_timeout")
    split = forward.split_timing_out(context, job, list(job.args[0]), set(), error, {})  # type: ignore[arg-type]
    assert split is not None and split["split"] == 3
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    assert sorted(registry.get_job_ids()) == sorted(job.meta[forward.SPLIT_INTO_META])
    assert all(registry.get_scheduled_time(job_id).timestamp() > time.time() + 25
               for job_id in job.meta[forward.SPLIT_INTO_META])


def split_refusing_case_store(refused: str, stored: list[str]) -> Callable[[], web.Application]:
    """A case store that takes one report a batch (413 for more: the size is checked first), behind a web application
    firewall that refuses the request carrying the report `refused` (403, as ModSecurity answers a body matching a
    rule); `stored` collects what it took."""

    def build() -> web.Application:
        async def batch(request: web.Request) -> web.Response:
            reports = (await request.json())["reports"]
            if len(reports) > 1:
                return web.json_response({"error": "too_large"}, status=413)
            if reports[0]["tracking_id"] == refused:
                return web.Response(text="<html><body>403 Forbidden</body></html>", status=403,
                                    content_type="text/html")
            stored.append(reports[0]["tracking_id"])
            return web.json_response({"results": [{"tracking_id": reports[0]["tracking_id"], "status": 201}]})

        app = web.Application()
        app.router.add_post("/v1/reports/batch", batch)
        return app

    return build


def test_a_part_of_a_split_batch_refused_whole_costs_only_its_own_reports(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """A batch split under the case store's size limit goes as several requests: one refused whole (a firewall's 403)
    is a refusal of its reports only, not of those another request of the split delivered."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"split-refused-{n}" for n in range(3)],
                                   lambda ids: split_refusing_case_store(ids[1], stored))
    assert stored == [tracking_ids[0], tracking_ids[2]]
    states = [redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids]
    assert [states[0], states[2]] == [b"forwarded"] * 2
    letters = DeadLetters(redis)
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [(tracking_ids[1], "casestore_403")]


def firewalled_case_store(refused: str, status: int, stored: list[str],
                          requests: list[int]) -> Callable[[], web.Application]:
    """A case store behind a web application firewall that refuses, with `status`, every request carrying the report
    `refused` (ModSecurity answers a body matching a rule 403, whatever else the body holds); `requests` collects the
    number of reports in each request, `stored` what it took."""

    def build() -> web.Application:
        async def batch(request: web.Request) -> web.Response:
            reports = (await request.json())["reports"]
            requests.append(len(reports))
            if any(report["tracking_id"] == refused for report in reports):
                return web.Response(text=f"<html><body>{status} refused</body></html>", status=status,
                                    content_type="text/html")
            return taken(reports, stored, batch=True)

        app = web.Application()
        app.router.add_post("/v1/reports/batch", batch)
        return app

    return build


def refusing_everything(status: int) -> Callable[[], web.Application]:
    """A case store (or the gateway before it) that refuses every request with `status`, its reads too: a token it no
    longer takes, as many APIs answer one with 403."""

    def build() -> web.Application:
        async def refuse(_: web.Request) -> web.Response:
            return web.json_response({"error": "forbidden", "detail": "token revoked"}, status=status)

        app = web.Application()
        app.router.add_route("*", "/{path:.*}", refuse)
        return app

    return build


def test_a_refusal_of_the_gateways_credentials_is_asked_about_once_not_by_every_job_it_refuses(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Each forward job refused 401 asked the case store the probe's read to tell a token from a firewall: a backlog
    of jobs through a rotated token made one more request each, and each waited out the client's timeout on a read
    that hung. Once noted, the refusal stands until a report is taken or the probe finds the case store answering."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    reads: list[str] = []

    def refusing() -> web.Application:
        async def refuse(request: web.Request) -> web.Response:
            if request.method == "GET":
                reads.append(request.path)
            return web.json_response({"error": "unauthorized"}, status=401)

        app = web.Application()
        app.router.add_route("*", "/{path:.*}", refuse)
        return app

    for name in ("first-refused", "second-refused", "third-refused"):  # a job each
        forward_one_job(settings, redis, [], lambda _: refusing, drafts=[draft(name)])
    assert len(DeadLetters(redis).list()) == 3
    assert redis.hget(forward.CASESTORE_REFUSING_KEY, "reason") == b"casestore_401"
    assert reads == ["/v1/reports/10000000"]


@pytest.mark.parametrize(
    ("refusing", "noted"),
    [
        pytest.param(lambda port, tmp_path: CaseStoreServer(port, "the-rotated-token", tmp_path / "rotated.db"),
                     "casestore_401", id="401-a-rotated-token"),
        pytest.param(lambda port, _: LoopbackServer(refusing_everything(403), port), "casestore_403",
                     id="403-to-every-request"),
        pytest.param(lambda port, _: LoopbackServer(refusing_everything(407), port), "casestore_407",
                     id="407-a-proxy-wanting-its-own"),
        pytest.param(lambda port, _: LoopbackServer(firewalled_case_store("", 403, [], []), port), None,
                     id="403-a-firewall-for-the-reports-words"),
    ],
)
def test_a_case_store_refusing_the_gateways_credentials_is_said_on_the_status_until_it_takes_them(
    refusing: Callable[[int, Path], LoopbackServer], noted: str | None, test_env: TestEnvironment, redis: Redis,
    tmp_path: Path, log_stream: io.StringIO,
) -> None:
    """A rotated token: every report is refused 401 (or 403) and dead-lettered at once, never retried for ever. The
    views said so only as each channel's dead letters (`latest: casestore_401`), among any other reasons, nothing of
    the case store or the token. The headline names the case store's refusal and what to do, until the case store
    answers the probe again (or takes a report). A firewall's 403 for one report's words is no such refusal: the
    contract's read, which carries no report, is answered."""
    from workers.casestore_probe import CaseStoreProbe

    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    server = refusing(settings.casestore.port, tmp_path)
    [tracking_id] = forward_one_job(settings, redis, [], lambda _: lambda: server._app_factory(),
                                    drafts=[draft("refused-for-the-token")])
    letter = DeadLetters(redis).get(tracking_id)
    assert letter is not None and letter.reason.startswith("casestore_40")  # at once: retries were left
    status = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status(time.time())
    # The alert's gauge: no outage is declared meanwhile, so lapor_casestore_outage stays 0.
    checked = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check_and_collect(time.time())
    assert metrics.gauge_value(checked.collected, "lapor_casestore_refusing") == float(noted is not None)
    if noted is None:
        assert status["casestore_refusing"] is None
        assert "credentials" not in (status["reason"] or "")
        return
    assert status["casestore_refusing"]["reason"] == noted
    assert status["overall"] == "degraded"
    assert f"case store (refuses the gateway's credentials since {status['casestore_refusing']['since']}, {noted}: " \
           f"set LAPOR_CASESTORE_TOKEN" in status["reason"]
    assert f"deadletters requeue --all --reason {noted}" in status["reason"]
    # Every process that reads the case store holds the token from its start: the HTTP gateway answers a CEK at once,
    # the status and reply workers later. Restarting the forward workers alone left each CEK failing on the old one.
    restart = "restart `lapor-gateway serve` and every `lapor-gateway worker`"
    assert restart in status["reason"]
    [refused] = [e for e in log_events(log_stream) if e["event"] == "casestore.credentials_refused"]
    assert restart in refused["detail"] and f"--reason {noted}" in refused["detail"]

    probe = CaseStoreProbe(redis, settings, "probe-refusing")
    server.start()
    try:
        assert probe.probe() == "refusing"
    finally:
        server.stop()
    redis.delete("lapor:casestore:probe")  # the next period's slot
    store = CaseStoreServer(settings.casestore.port, CASESTORE_TOKEN, tmp_path / "store.db")  # the token put right
    store.start()
    try:
        assert probe.probe() == "ended"
    finally:
        store.stop()
        probe.stop()
    status = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).status(time.time())
    assert status["casestore_refusing"] is None and "credentials" not in (status["reason"] or "")
    checked = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml")).check_and_collect(time.time())
    assert metrics.gauge_value(checked.collected, "lapor_casestore_refusing") == 0.0


def test_an_outage_is_never_seen_without_its_start(test_env: TestEnvironment, redis: Redis) -> None:
    """A view reading between the failing forward's commands found the outage (its down key) without its start:
    "forwards failing since ?" on the page, `since` null in /v1/status. Every command the forward sends leaves both
    or neither."""
    seen: list[tuple[bytes | None, bytes | None]] = []

    class Watched(Redis):
        def execute_command(self, *args: Any, **options: Any) -> Any:
            answer = super().execute_command(*args, **options)
            seen.append((redis.get(forward.CASESTORE_DOWN_KEY), redis.hget(forward.CASESTORE_OUTAGE_KEY, "since")))
            return answer

    watched = Watched(connection_pool=redis.connection_pool)
    failing = SimpleNamespace(redis=watched, settings=test_env.settings())
    forward.casestore_failing(failing, "casestore_unreachable")  # type: ignore[arg-type]
    forward.casestore_failing(failing, "casestore_unreachable")  # type: ignore[arg-type]
    assert seen and all((down is None) == (since is None) for down, since in seen), seen
    assert redis.hget(forward.CASESTORE_OUTAGE_KEY, "url") is not None

def test_a_case_store_outage_is_timed_by_redis_clock_not_by_each_hosts(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forward failing on a host whose clock runs half a minute ahead of the one that noted the outage's start took
    it for 30 s old, and declared it at its first try (`casestore.down`, every view degraded) for a 503 retried at
    once; a host behind declared none until its own clock got there."""
    # The forward worker's context, as far as noting the outage goes.
    failing = SimpleNamespace(redis=redis, settings=test_env.settings())
    forward.casestore_failing(failing, "casestore_503")  # type: ignore[arg-type]  # on a host on time
    ahead = SimpleNamespace(time=lambda: time.time() + 30, perf_counter=time.perf_counter, monotonic=time.monotonic)
    monkeypatch.setattr(forward, "time", ahead)
    forward.casestore_failing(failing, "casestore_503")  # type: ignore[arg-type]  # at once, on one 30 s ahead
    assert [e for e in log_events(log_stream) if e["event"] == "casestore.down"] == []
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    forward.casestore_failing(failing, "casestore_503")  # type: ignore[arg-type]
    assert [e["reason"] for e in log_events(log_stream) if e["event"] == "casestore.down"] == ["casestore_503"]


def test_a_case_store_timing_out_is_told_as_overloaded_or_hung_naming_the_workers_timeout(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case store timing out takes connections: `casestore.down` and every view said "check that the case store
    answers", a refusal's step, and the operator looked for a process that was running. The step of a timeout names
    the timeout the forward workers wait (theirs, noted with the outage: not the viewer's) and what to check."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.0)
    failing = SimpleNamespace(redis=redis, settings=test_env.settings(LAPOR_CASESTORE_TIMEOUT_SECONDS="7.5"))
    forward.casestore_failing(failing, "casestore_timeout")  # type: ignore[arg-type]
    forward.casestore_failing(failing, "casestore_timeout")  # type: ignore[arg-type]
    [down] = [e for e in log_events(log_stream) if e["event"] == "casestore.down"]
    step = ("takes connections but does not answer within LAPOR_CASESTORE_TIMEOUT_SECONDS (7.5 s): overloaded or "
            "hung; check its load and its log, and raise the timeout only if it is just slow")
    assert down["detail"] == f"the reports are kept and their forwards retried; the case store at this url {step}"
    # The views read the workers' timeout where they read their URL.
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    assert monitor.status(time.time())["casestore_outage"]["timeout"] == 7.5
    queue(FORWARD_QUEUE, redis).enqueue_in(timedelta(minutes=1), "os.getcwd", meta={"last_error": "casestore_timeout"})
    [stats] = [q for q in monitor.queue_stats(time.time()) if q.name == FORWARD_QUEUE]
    assert (stats.last_failure, stats.casestore_timeout) == ("casestore_timeout", 7.5)


@pytest.mark.parametrize("skew", [-30.0, 30.0], ids=["ended-on-a-host-behind", "ended-on-a-host-ahead"])
def test_a_case_store_outage_ended_on_another_host_says_how_long_it_lasted_by_redis_clock(
    skew: float, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outage's start is Redis's time; its end, by the ending host's own clock, said `down_seconds` off by the two
    hosts' skew: 0 on a host half a minute behind, half a minute too long on one ahead."""
    failing = SimpleNamespace(redis=redis, settings=test_env.settings())
    forward.casestore_failing(failing, "casestore_503")  # type: ignore[arg-type]
    redis.hset(forward.CASESTORE_OUTAGE_KEY, "told", 1)  # declared: its end is told
    redis.hincrbyfloat(forward.CASESTORE_OUTAGE_KEY, "since", -5.0)  # five seconds ago, by Redis's clock
    skewed = SimpleNamespace(time=lambda: time.time() + skew, perf_counter=time.perf_counter,
                             monotonic=time.monotonic)
    monkeypatch.setattr(forward, "time", skewed)
    ended = forward.end_outage(redis)
    assert ended is not None
    forward.tell_back(ended, 0, seen_by="probe")
    [back] = [e for e in log_events(log_stream) if e["event"] == "casestore.back"]
    assert 5.0 <= float(back["down_seconds"]) < 7.0  # type: ignore[arg-type]
    assert (back["queue"], back["failing"]) == (FORWARD_QUEUE, "forwards")


@pytest.mark.parametrize("status", [403, 400, 422])
def test_a_batch_refused_whole_for_one_report_costs_only_that_report(
    status: int, test_env: TestEnvironment, redis: Redis
) -> None:
    """A batch refused whole for one report's words is split, halves down to one report each, so that only the report
    the refusal is about is dead-lettered; before, the five reports of the job with it were."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    stored: list[str] = []
    requests: list[int] = []
    tracking_ids = forward_one_job(settings, redis, [f"firewalled-{status}-{n}" for n in range(6)],
                                   lambda ids: firewalled_case_store(ids[4], status, stored, requests))
    assert sorted(stored) == sorted(tracking_ids[:4] + tracking_ids[5:])
    letters = DeadLetters(redis)
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [(tracking_ids[4],
                                                                                 f"casestore_{status}")]
    assert requests[0] == 6 and len(requests) <= 2 * 6 - 1  # halves: never more than a binary tree's requests


def file_failing_case_store(store: CaseStoreServer, failing: str) -> Callable[[], web.Application]:
    """The reference case store of `store`, whose attachment endpoint fails (500) on the file with sha256 `failing`
    every time (a file its blob storage chokes on), and takes every other file and every report."""

    def build() -> web.Application:
        @web.middleware
        async def fail_one_file(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.method == "PUT" and request.path == f"/v1/attachments/{failing}":
                return web.json_response({"error": "internal"}, status=500)
            return await handler(request)

        app = create_casestore_app(store.store, CASESTORE_TOKEN)
        app.middlewares.append(fail_one_file)
        return app

    return build


def test_a_file_the_case_store_keeps_failing_on_holds_back_only_its_own_report(
    test_env: TestEnvironment, redis: Redis, tmp_path: Path
) -> None:
    """A retryable failure uploading one report's file (a 5xx, a timeout on a large file) retried the whole batch:
    the reports without files and those whose files the case store takes waited with it through every try, then
    were all dead-lettered. Only the report whose file fails waits for the next try; the file that failed goes
    last then, so the files after it are tried too."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    files = {name: f"foto {name}".encode() for name in ("failing", "fine")}
    attached = {}
    for name, data in files.items():
        sha256 = hashlib.sha256(data).hexdigest()
        attached[name] = draft(f"file-{name}").model_copy(update={"attachments": [Attachment(
            content_type="image/jpeg", size=len(data), sha256=sha256, name=f"{name}.jpg",
            location=store_attachment(settings.data_dir, sha256, data))]})
    store = CaseStoreServer(settings.casestore.port, CASESTORE_TOKEN, tmp_path / "store.db")
    failing_sha = attached["failing"].attachments[0].sha256
    tracking_ids = forward_one_job(settings, redis, [], lambda _: file_failing_case_store(store, failing_sha),
                                   drafts=[draft("no-file-1"), attached["failing"], attached["fine"],
                                           draft("no-file-2")])
    failing = tracking_ids[1]
    assert sorted(report["tracking_id"] for report in store.reports()) == sorted(
        tid for tid in tracking_ids if tid != failing)
    assert store.store.get_attachment(attached["fine"].attachments[0].sha256) is not None
    letters = DeadLetters(redis)
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [(failing, "casestore_500")]
    store.store.close()


def file_answering_once(store: CaseStoreServer, body: bytes) -> Callable[[], web.Application]:
    """The reference case store of `store`, behind a proxy that answers the first file upload 200 with `body` (a
    maintenance page while the case store's blob storage is deployed, a captive portal), then lets all through."""

    def build() -> web.Application:
        answered: list[str] = []

        @web.middleware
        async def page_once(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.method == "PUT" and not answered:
                answered.append(request.path)
                return web.Response(body=body, status=200, content_type="text/html" if body.startswith(b"<") else
                                    "application/json")
            return await handler(request)

        app = create_casestore_app(store.store, CASESTORE_TOKEN)
        app.middlewares.append(page_once)
        return app

    return build


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><body>Sedang dalam pemeliharaan</body></html>", id="maintenance-page"),
        pytest.param(b"null", id="json-null"),
        pytest.param(b'{"sha256": "%s", "size": 1, "created": true}' % (b"0" * 64), id="another-files-answer"),
    ],
)
def test_a_file_upload_answer_that_is_not_the_contract_is_retried_not_taken_as_stored(
    body: bytes, test_env: TestEnvironment, redis: Redis, tmp_path: Path
) -> None:
    """A 200 to a file's PUT whose body is not the contract's (a load balancer's maintenance page, a captive portal)
    was taken as the file stored: the job's later tries did not upload it again, and its report reached the case
    store naming a file the case store never got, without the `not_uploaded` flag that says so. It is retried as a
    report's answer of that kind is."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    data = b"foto jalan berlubang"
    sha256 = hashlib.sha256(data).hexdigest()
    attached = draft("file-behind-a-page").model_copy(update={"attachments": [Attachment(
        content_type="image/jpeg", size=len(data), sha256=sha256, name="jalan.jpg",
        location=store_attachment(settings.data_dir, sha256, data))]})
    store = CaseStoreServer(settings.casestore.port, CASESTORE_TOKEN, tmp_path / "store.db")
    [tracking_id] = forward_one_job(settings, redis, [], lambda _: file_answering_once(store, body), drafts=[attached])
    stored = store.get(tracking_id)
    assert stored is not None
    assert store.store.get_attachment(sha256) == ("image/jpeg", data)
    assert "not_uploaded" not in stored["attachments"][0].get("flags", [])  # type: ignore[index]
    assert DeadLetters(redis).list() == []
    store.store.close()


def slow_files_case_store(store: CaseStoreServer, delay: float, puts: list[str]) -> Callable[[], web.Application]:
    """The reference case store of `store`, taking `delay` seconds over each file uploaded (a slow link to its blob
    storage); `puts` collects the sha256 of each upload."""

    def build() -> web.Application:
        @web.middleware
        async def slow_files(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.method == "PUT":
                puts.append(request.path.rsplit("/", 1)[-1])
                await asyncio.sleep(delay)
            return await handler(request)

        app = create_casestore_app(store.store, CASESTORE_TOKEN)
        app.middlewares.append(slow_files)
        return app

    return build


def test_files_uploaded_before_the_job_timed_out_are_not_uploaded_again(
    test_env: TestEnvironment, redis: Redis, tmp_path: Path
) -> None:
    """A batch whose files take longer to upload than RQ's job timeout (a backlog of photos, a slow link): every try
    uploaded the same first files again and timed out before any report was posted, until the tries ran out and every
    report was dead-lettered. The files the case store took are kept with the job's progress: the next try uploads
    only the others, then posts the reports."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0",
                                 LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="2")
    drafts = []
    for n in range(6):
        data = f"foto {n}".encode()
        sha256 = hashlib.sha256(data).hexdigest()
        drafts.append(draft(f"photo-{n}").model_copy(update={"attachments": [Attachment(
            content_type="image/jpeg", size=len(data), sha256=sha256, name=f"{n}.jpg",
            location=store_attachment(settings.data_dir, sha256, data))]}))
    store = CaseStoreServer(settings.casestore.port, CASESTORE_TOKEN, tmp_path / "store.db")
    puts: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [], lambda _: slow_files_case_store(store, 0.6, puts),
                                   drafts=drafts)
    assert sorted(report["tracking_id"] for report in store.reports()) == sorted(tracking_ids)
    assert all(store.store.get_attachment(str(d.attachments[0].sha256)) is not None for d in drafts)
    # The upload each timeout cut short may go again, no other: one per try after the first ("0,0": two more tries;
    # on a loaded machine the second try may time out too, in the upload of a file the first never reached).
    assert max(Counter(puts).values()) <= 2 and len(puts) - len(set(puts)) <= 2
    assert DeadLetters(redis).list() == []
    store.store.close()


def test_a_batch_refused_for_its_credentials_is_not_split(test_env: TestEnvironment, redis: Redis) -> None:
    """A 401 refuses the request's credentials, never a report in it: one request, not one per report, and every
    report dead-lettered under it for the operator to requeue once the token is right."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    stored: list[str] = []
    requests: list[int] = []
    tracking_ids = forward_one_job(settings, redis, [f"credentials-{n}" for n in range(4)],
                                   lambda ids: firewalled_case_store(ids[0], 401, stored, requests))
    assert requests == [4] and stored == []
    assert sorted(letter.tracking_id for letter in DeadLetters(redis).list()) == sorted(tracking_ids)


def batch_answering(body: bytes) -> Callable[[], web.Application]:
    """A case store (or a proxy before it) whose batch endpoint answers 200 with `body`."""

    def build() -> web.Application:
        async def answer(_: web.Request) -> web.Response:
            return web.Response(body=body, status=200, content_type="application/json")

        app = web.Application()
        app.router.add_post("/v1/reports/batch", answer)
        return app

    return build


def forward_two_against_a_batch_answer(settings: Settings, redis: Redis, body: bytes, name: str) -> list[Receipt]:
    """Commit two drafts (one forward job) and drain it against a batch endpoint answering `body`, its `%s` and `%t`
    the two reports' Tracking IDs; their receipts."""
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft(f"{name}-1"), draft(f"{name}-2")])
        first, second = (receipt.tracking_id.encode() for receipt in receipts)
        odd = LoopbackServer(batch_answering(body.replace(b"%s", first).replace(b"%t", second)),
                             settings.casestore.port)
        odd.start()
        try:
            drain(settings, (FORWARD_QUEUE,))
        finally:
            odd.stop()
    finally:
        intake.close()
    return receipts


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><body>Welcome</body></html>", id="html-page"),
        pytest.param(b"[]", id="json-list"),
        pytest.param(b'{"results": null}', id="results-null"),
        pytest.param(b'{"results": ["stored"]}', id="result-not-an-object"),
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": "created"}]}', id="status-not-a-number"),
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": true}, {"tracking_id": "%t", "status": 201}]}',
                     id="status-true"),
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": 0}, {"tracking_id": "%t", "status": 201}]}',
                     id="status-zero"),
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": 422}, {"tracking_id": "%s", "status": 201},'
                     b' {"tracking_id": "%t", "status": 201}]}', id="one-report-answered-twice"),
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": 422}, {"tracking_id": "%s", "status": 503},'
                     b' {"tracking_id": "%t", "status": 201}]}', id="one-report-refused-two-ways"),
    ],
)
def test_a_batch_answer_that_is_not_the_contract_is_retried_then_dead_lettered(
    body: bytes, test_env: TestEnvironment, redis: Redis
) -> None:
    """A 200 whose body is not one result per report (a captive portal, a proxy, a broken deploy) must not end the
    job in RQ's failed registry, where no dead-letter view or requeue shows it. A result whose status is no HTTP
    status was a refusal (`casestore_1`, `casestore_0`) at the first try, and of a report answered twice the last
    answer was taken: refused, then stored, it was marked forwarded."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    receipts = forward_two_against_a_batch_answer(settings, redis, body, "answer")
    letters = [DeadLetters(redis).get(receipt.tracking_id) for receipt in receipts]
    assert [letter.reason if letter else None for letter in letters] == ["casestore_bad_answer"] * 2
    assert all("attempt" in letter.detail for letter in letters if letter)
    assert queue(FORWARD_QUEUE, redis).failed_job_registry.count == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": "201"}, {"tracking_id": "%t", "status": "200"}]}',
                     id="statuses-as-strings"),
        pytest.param(b'{"results": [{"tracking_id": "%s", "status": 201}, {"tracking_id": "%s", "status": 200},'
                     b' {"tracking_id": "%t", "status": 201}]}', id="one-report-stored-then-found-stored"),
    ],
)
def test_a_batch_answer_the_contract_can_be_read_in_takes_its_reports(
    body: bytes, test_env: TestEnvironment, redis: Redis
) -> None:
    """A status as its three digits in a string (a case store whose JSON writes them so), and a report answered
    stored then found stored, are answers that stored the reports: each batch was retried for two hours as an
    answer not of the contract and dead-lettered, its reports in the case store."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    receipts = forward_two_against_a_batch_answer(settings, redis, body, "readable")
    assert [DeadLetters(redis).get(receipt.tracking_id) for receipt in receipts] == [None, None]
    assert [redis.hget(REPORT_STATE_KEY.format(tracking_id=receipt.tracking_id), "state") for receipt in receipts] \
        == [b"forwarded"] * 2


@pytest.mark.parametrize("status", [422, 503])
def test_a_dead_letter_keeps_no_quote_of_the_reports_words_from_the_case_stores(
    status: int, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """What the case store says of a report it refuses (422) or fails on (503, one result of a batch) went into the
    dead letter, its line in the log and the views: a quote from the middle of the report's words passed the log's
    scrub, which knows a value quoted whole or cut at an end."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0")
    words = "Lapor: kepala desa Sukamaju menerima suap dari kontraktor jalan"
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft("quoted-1", words), draft("quoted-2", words)])

        def build() -> web.Application:
            async def answer(request: web.Request) -> web.Response:  # each report's own result, retried in a batch
                return web.json_response({"results": [
                    {"tracking_id": report["tracking_id"], "status": status, "error": "shard_down",
                     "detail": "could not index 'kepala desa Sukamaju menerima suap'"}
                    for report in (await request.json())["reports"]]})

            app = web.Application()
            app.router.add_post("/v1/reports/batch", answer)
            return app

        store = LoopbackServer(build, settings.casestore.port)
        store.start()
        try:
            drain(settings, (FORWARD_QUEUE,))
        finally:
            store.stop()
    finally:
        intake.close()
    for receipt in receipts:
        letter = DeadLetters(redis).get(receipt.tracking_id)
        assert letter is not None and "could not index '[redacted]'" in letter.detail, letter
    assert "Sukamaju" not in log_stream.getvalue()


def report_answering(body: bytes) -> Callable[[], web.Application]:
    """A case store (or a proxy before it) whose POST /v1/reports answers 200 with `body`."""

    def build() -> web.Application:
        async def answer(_: web.Request) -> web.Response:
            return web.Response(body=body, status=200, content_type="text/html" if body.startswith(b"<") else
                                "application/json")

        app = web.Application()
        app.router.add_post("/v1/reports", answer)
        return app

    return build


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><body>Sedang dalam pemeliharaan</body></html>", id="maintenance-page"),
        pytest.param(b"null", id="json-null"),
        pytest.param(b"[]", id="json-list"),
        pytest.param(b'{"tracking_id": "10000004", "created": false}', id="another-reports-answer"),
        # A proxy's or an API gateway's own JSON: it names no report, so it says nothing of this one being stored.
        pytest.param(b'{"status": "ok"}', id="json-object-naming-no-report"),
        pytest.param(b"{}", id="empty-json-object"),
    ],
)
def test_a_report_answer_that_is_not_the_contract_is_retried_then_dead_lettered(
    body: bytes, test_env: TestEnvironment, redis: Redis
) -> None:
    """A 200 to one report's POST whose body is not the contract's (a load balancer's maintenance page served with
    200, a captive portal, a cache answering with another report's answer) marked the report forwarded: it reached no
    case store, was in no queue and no dead letter, and its envelope expired a month later. It is the case store not
    answering properly, retried as a batch answer of that kind is. Each report of a batch goes on its own without the
    batch extension, and a job of one report does with it."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0",
                                 LAPOR_CASESTORE_BATCH="false", LAPOR_INTAKE_ID_START="2000000")
    tracking_ids = forward_one_job(settings, redis, ["answered-1", "answered-2"], lambda _: report_answering(body))
    states = [redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids]
    assert b"forwarded" not in states
    letters = [DeadLetters(redis).get(tracking_id) for tracking_id in tracking_ids]
    assert [letter.reason if letter else None for letter in letters] == ["casestore_bad_answer"] * 2


def test_a_report_a_batch_refuses_is_dead_lettered_with_the_case_stores_error_and_its_detail(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """A case store of another major envelope version refuses each report of a batch with a typed error and why: the
    dead letter reads as a single POST's refusal does (`error: detail`), not the bare error."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0")
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft("typed-1"), draft("typed-2")])
        results = [{"tracking_id": receipt.tracking_id, "status": 422, "error": "unsupported_envelope_version",
                    "detail": "envelope_version 1: this case store takes 2"} for receipt in receipts]
        newer = LoopbackServer(batch_answering(orjson.dumps({"results": results})), settings.casestore.port)
        newer.start()
        try:
            drain(settings, (FORWARD_QUEUE,))
        finally:
            newer.stop()
    finally:
        intake.close()
    letters = [DeadLetters(redis).get(receipt.tracking_id) for receipt in receipts]
    assert [letter.reason if letter else None for letter in letters] == ["casestore_422"] * 2
    assert all("unsupported_envelope_version: envelope_version 1: this case store takes 2" in letter.detail
               for letter in letters if letter)


def test_reports_a_batch_keeps_failing_are_dead_lettered_each_with_its_own_answer(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Reports a batch answer failed one by one through every try (a shard down behind the case store: 503 with its
    words), or left out of its results, were dead-lettered alike: "case store failed 3 report(s) in a batch". Each
    letter says what the case store answered for its own report, or that it was left out."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0")
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft(f"shard-{n}") for n in range(4)])
        first, second, left_out, taken_id = (receipt.tracking_id for receipt in receipts)
        results = [{"tracking_id": tid, "status": 503, "error": "unavailable", "detail": "shard 3 is down"}
                   for tid in (first, second)] + [{"tracking_id": taken_id, "status": 201}]
        sharded = LoopbackServer(batch_answering(orjson.dumps({"results": results})), settings.casestore.port)
        sharded.start()
        try:
            drain(settings, (FORWARD_QUEUE,))
        finally:
            sharded.stop()
    finally:
        intake.close()
    letters = {letter.tracking_id: letter for letter in DeadLetters(redis).list()}
    assert sorted(letters) == sorted([first, second, left_out])
    assert {letter.reason for letter in letters.values()} == {"casestore_partial"}
    for tid in (first, second):
        assert letters[tid].detail == ("gave up after 2 attempt(s): case store answered 503 for this report: "
                                       "unavailable: shard 3 is down")
    assert letters[left_out].detail == "gave up after 2 attempt(s): the case store's batch answer left this report out"
    assert redis.hget(REPORT_STATE_KEY.format(tracking_id=taken_id), "state") == b"forwarded"


def batch_answering_with(status: int, refused: str, posted: list[list[str]]) -> Callable[[], web.Application]:
    """A case store whose batch endpoint answers with `status` and one result per report: 201, but 422 for the report
    whose channel_message_id is `refused`. `posted` collects each batch's channel_message_ids."""

    def build() -> web.Application:
        async def batch(request: web.Request) -> web.Response:
            reports = (await request.json())["reports"]
            posted.append([report["channel_message_id"] for report in reports])
            results = [{"tracking_id": report["tracking_id"], "status": 201} if report["channel_message_id"] != refused
                       else {"tracking_id": report["tracking_id"], "status": 422, "error": "invalid_envelope",
                             "detail": "text: too long"} for report in reports]
            return web.json_response({"results": results}, status=status)

        app = web.Application()
        app.router.add_post("/v1/reports/batch", batch)
        return app

    return build


@pytest.mark.parametrize("status", [200, 201, 202, 207])
def test_a_batch_answered_with_any_2xx_is_read_report_by_report(status: int, test_env: TestEnvironment,
                                                                 redis: Redis) -> None:
    """A case store may answer its batch 201 (as it answers one report created) or 207 (Multi-Status). Taken for a
    refusal of the whole batch, the batch was split down to batches of one, and each answer's own status taken for
    its report's: a report refused inside a 201 was marked forwarded, in no case store, queue or dead letter; the
    reports a 207 stored were dead-lettered as `casestore_207`. Each report's result decides, in one request."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    posted: list[list[str]] = []
    tracking_ids = forward_one_job(settings, redis, ["taken-1", "refused", "taken-2"],
                                   lambda _: batch_answering_with(status, "refused", posted))
    assert posted == [["taken-1", "refused", "taken-2"]]
    states = [redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids]
    assert states == [b"forwarded", None, b"forwarded"]
    letters = [DeadLetters(redis).get(tracking_id) for tracking_id in tracking_ids]
    assert [letter.reason if letter else None for letter in letters] == [None, "casestore_422", None]


def redirecting(status: int) -> Callable[[], web.Application]:
    """A case store behind a URL that moved (http:// to https://, another path): every post answered with a redirect."""

    def build() -> web.Application:
        async def moved(_: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": "https://cases.example.go.id/v1/reports"})

        app = web.Application()
        app.router.add_post("/v1/reports/batch", moved)
        app.router.add_post("/v1/reports", moved)
        return app

    return build


@pytest.mark.parametrize("status", [301, 307, 308])
def test_a_case_store_that_redirects_is_named_where_it_points(status: int, test_env: TestEnvironment,
                                                              redis: Redis) -> None:
    """An http:// URL behind an HTTPS redirect: every report dead-lettered `casestore_30x` with an empty detail, the
    cause a guess. The letter says where the redirect pointed and which setting to change (it is not followed)."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    tracking_ids = forward_one_job(settings, redis, ["one", "two"], lambda _: redirecting(status))
    letters = [DeadLetters(redis).get(tracking_id) for tracking_id in tracking_ids]
    assert [letter.reason if letter else None for letter in letters] == [f"casestore_{status}"] * 2
    for letter in letters:
        assert letter is not None
        assert "redirected to https://cases.example.go.id/v1/reports" in letter.detail
        assert "LAPOR_CASESTORE_URL" in letter.detail


def batch_throttling(retry_after: str, status: int = 429) -> Callable[[], web.Application]:
    """A case store that throttles: 429 with a Retry-After header (seconds or an HTTP date), or `status` (a 503
    shedding load)."""

    def build() -> web.Application:
        async def throttle(_: web.Request) -> web.Response:
            return web.json_response({"error": "too_many_requests"}, status=status,
                                     headers={"Retry-After": retry_after})

        app = web.Application()
        app.router.add_post("/v1/reports/batch", throttle)
        app.router.add_post("/v1/reports", throttle)
        return app

    return build


@pytest.mark.parametrize(
    ("retry_after", "waits"),
    [
        pytest.param("120", 120, id="seconds"),
        pytest.param(lambda: formatdate(time.time() + 300, usegmt=True), 300, id="http-date"),
        pytest.param("not-a-time", 1, id="unreadable-the-schedule-as-configured"),
        pytest.param("999999", 3600, id="capped-at-an-hour"),
    ],
)
def test_a_throttled_forward_is_retried_no_sooner_than_the_case_store_asked(
    retry_after: str | Callable[[], str], waits: int, test_env: TestEnvironment, redis: Redis
) -> None:
    """Retrying after one second a case store that asked for two minutes only burns the retries (and its patience):
    the next try waits for Retry-After, never less than the configured schedule."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="1,2,5")
    header = retry_after() if callable(retry_after) else retry_after
    throttling = LoopbackServer(batch_throttling(header), settings.casestore.port)
    throttling.start()
    intake = Intake(redis, settings)
    try:
        intake.commit([draft("throttled-1"), draft("throttled-2")])
        started = time.time()
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
        throttling.stop()
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    [job_id] = registry.get_job_ids()
    delay = registry.get_scheduled_time(job_id).timestamp() - started
    assert waits - 2 <= delay <= waits + 5
    assert DeadLetters(redis).count() == 0


@pytest.mark.parametrize("stored", [b"\x00\x01 not json", b"[]", b'"a string"', b'{"text": "no tracking id"}'],
                         ids=["not-json", "a-list", "a-string", "no-tracking-id"])
def test_an_unreadable_envelope_is_dead_lettered_alone_and_its_batch_goes_on(
    stored: bytes, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer
) -> None:
    """An envelope damaged in Redis (or written by something else) must not hold back the reports sharing its job."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft("readable-1"), draft("damaged"), draft("readable-2")])
        damaged = receipts[1].tracking_id
        redis.set(envelope_key(damaged), stored)
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    assert [r["tracking_id"] for r in casestore.reports()] == [receipts[0].tracking_id, receipts[2].tracking_id]
    letters = DeadLetters(redis)
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [(damaged, "envelope_unreadable")]
    assert queue(FORWARD_QUEUE, redis).failed_job_registry.count == 0


# A stored envelope that is JSON of its Tracking ID, with a field of a type intake never writes: each made every step
# of the forward (fetching provider files, cleaning an anonymous report's photos, the case store's payload) raise.
DAMAGED_FIELDS = [
    pytest.param({"attachments": "foto.jpg"}, "attachments", id="attachments-a-string"),
    pytest.param({"attachments": {"location": "attachments/ab/x.jpg"}}, "attachments", id="attachments-an-object"),
    pytest.param({"attachments": [7]}, "attachments[0]", id="an-attachment-not-an-object"),
    pytest.param({"attachments": [{"location": 7}]}, "attachments[0].location", id="an-attachment-location-a-number"),
    pytest.param({"attachments": [{"location": "https://api.twilio.com/m/1", "flags": 3}]}, "attachments[0].flags",
                 id="an-attachment-flags-a-number"),
    pytest.param({"attachments": [{"location": "attachments/ab/x", "sha256": ["ab"]}]}, "attachments[0].sha256",
                 id="a-sha256-a-list"),
    pytest.param({"sender": "+6281234567890"}, "sender", id="sender-a-string"),
    pytest.param({"sender": {"kind": "msisdn", "id": 6281234567890}}, "sender.id", id="sender-id-a-number"),
    pytest.param({"text": ["Jalan rusak"]}, "text", id="text-a-list"),
    pytest.param({"subject": 12}, "subject", id="subject-a-number"),
    pytest.param({"channel_meta": "link-1"}, "channel_meta", id="channel-meta-a-string"),
    pytest.param({"anonymous": True, "channel_meta": 5}, "channel_meta", id="anonymous-channel-meta-a-number"),
    pytest.param({"channel": "email", "sender": {"kind": "email", "id": "budi@example.id"}, "anonymous": True,
                  "channel_meta": {"sender_identities": {"addresses": 5}}}, "channel_meta.sender_identities",
                 id="anonymous-mail-identities-a-number"),
    pytest.param({"anonymous": 0}, "anonymous", id="anonymous-not-a-flag"),
]


@pytest.mark.parametrize(("damage", "field"), DAMAGED_FIELDS)
def test_an_envelope_with_a_damaged_field_is_dead_lettered_alone_and_its_batch_goes_on(
    damage: dict[str, Any], field: str, test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer
) -> None:
    """One report's damaged field is that report's trouble: raised in a step of the forward, it retried the whole
    batch and dead-lettered every report of it (`forward_failed`), the healthy ones with it; a flag of another type
    (`anonymous: 0`) was forwarded as the case store would read it. Its dead letter names the field, and purges."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0")
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft("healthy-1"), draft("field-damaged"), draft("healthy-2")])
        damaged = receipts[1].tracking_id
        stored = orjson.loads(redis.get(envelope_key(damaged)))  # type: ignore[arg-type]
        redis.set(envelope_key(damaged), orjson.dumps({**stored, **damage}))
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    assert [r["tracking_id"] for r in casestore.reports()] == [receipts[0].tracking_id, receipts[2].tracking_id]
    letters = DeadLetters(redis).list()
    assert [(letter.tracking_id, letter.reason) for letter in letters] == [(damaged, "envelope_unreadable")]
    assert f"envelope's {field} is not" in letters[0].detail
    assert queue(FORWARD_QUEUE, redis).failed_job_registry.count == 0
    purged = cli(test_env, "deadletters", "purge", damaged, "--yes")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert DeadLetters(redis).count() == 0


def test_what_the_forward_worker_sends_is_the_envelope_model_and_nothing_more(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer
) -> None:
    """The case store keeps fields it does not know (a later revision's), so it no longer refuses a misspelled one
    this gateway sends: what it got, triage and an anonymous report's rewritten fields included, is held to the
    envelope model, which forbids any field it does not define, at any level."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_TRIAGE_ENABLED="true")
    mailed = Attachment(content_type="image/jpeg", size=3, sha256="b" * 64, name="budi.jpg",
                        location="attachments/bb/missing.jpg")
    anonymous = draft("strict-anonymous", "Pungli di kelurahan. ANONIM").model_copy(update={
        "channel": Channel.EMAIL, "sender": Sender(kind=SenderKind.EMAIL, id="budi@example.id"), "anonymous": True,
        "subject": "Pungli", "attachments": [mailed], "channel_meta": {"message_id": "<a1@example.id>"}})
    intake = Intake(redis, settings)
    try:
        [named] = intake.commit([draft("strict-named")])
        follow_up = draft("strict-follow-up", "Sudah seminggu").model_copy(update={
            "follow_up_of": named.tracking_id, "from_reports_sender": True})
        intake.commit([anonymous, follow_up])
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    reports = casestore.reports()
    assert len(reports) == 3 and all(report["triage"] for report in reports)
    assert [report["sender"]["kind"] for report in reports] == ["msisdn", "reply_handle", "msisdn"]
    casestore.assert_envelopes_strict()


def stalling_case_store(delay: float) -> Callable[[], web.Application]:
    """A case store that takes `delay` seconds to answer a batch (slow, yet inside the HTTP timeout)."""

    def build() -> web.Application:
        async def stall(request: web.Request) -> web.Response:
            await answer_late(request, delay)
            return web.json_response({"error": "too_slow"}, status=503)

        app = web.Application()
        app.router.add_post("/v1/reports/batch", stall)
        return app

    return build


def test_a_forward_job_that_fails_for_good_unexpectedly_leaves_its_reports_in_the_dead_letter_registry(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Whatever ends a forward job's last attempt (here RQ's job timeout; a bug would do the same), its reports must
    land where operators look and requeue, not only in RQ's failed registry."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0",
                                 LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="1")
    stalling = LoopbackServer(stalling_case_store(3.0), settings.casestore.port)
    stalling.start()
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft("stalled-1"), draft("stalled-2")])
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
        stalling.stop()
    letters = [DeadLetters(redis).get(receipt.tracking_id) for receipt in receipts]
    assert [letter.reason if letter else None for letter in letters] == ["forward_failed"] * 2
    assert all("JobTimeoutException" in letter.detail for letter in letters if letter)
    assert all(letter.args == [[letter.tracking_id]] for letter in letters if letter)  # each requeues on its own


def test_a_moved_forward_whose_try_runs_out_of_time_leaves_no_note_of_its_move(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A forward moved ahead of its turn whose try RQ's time limit ends spends that retry (RQ's), and its note of the
    move was left for ten minutes: a later move, keeping the later of a note's turn and the job's, would send a try
    of it that failed back to a turn long spent. The note goes with the try."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600",
                                 LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="1")
    casestore.stop()
    intake = Intake(redis, settings)
    try:
        intake.commit([draft("moved-then-out-of-time")])
        drain(settings, (FORWARD_QUEUE,))  # unreachable: its retry in 10 min
    finally:
        intake.close()
    [job_id] = queue(FORWARD_QUEUE, redis).scheduled_job_registry.get_job_ids()
    use_context(WorkerContext.build(settings, redis))
    try:
        assert forward.retry_outage_now(current()) == 1
    finally:
        use_context(None)
    assert redis.exists(forward.MOVED_KEY.format(job_id=job_id))

    async def stall(request: web.Request) -> web.Response:
        await answer_late(request, 3.0)
        return web.json_response({"error": "too_slow"}, status=503)

    stalling = LoopbackServer(lambda: case_store_app(stall), settings.casestore.port)
    stalling.start()
    try:
        forwards_run_until_none_is_due(settings, redis)()
    finally:
        stalling.stop()
    job = queue(FORWARD_QUEUE, redis).fetch_job(job_id)
    assert job is not None and job.retries_left == 0  # its try ran out of time, and spent the last retry
    assert not redis.exists(forward.MOVED_KEY.format(job_id=job_id))


def one_slow_report_case_store(slow: str, delay: float, stored: list[str]) -> Callable[[], web.Application]:
    """A case store without the batch extension that answers each report at once, but takes `delay` seconds over the
    report `slow`, every time (then fails it); `stored` collects what it took."""

    def build() -> web.Application:
        async def post(request: web.Request) -> web.Response:
            tracking_id = (await request.json())["tracking_id"]
            if tracking_id == slow:
                await answer_late(request, delay)
                return web.json_response({"error": "too_slow"}, status=503)
            stored.append(tracking_id)
            return web.json_response({"tracking_id": tracking_id, "created": True}, status=201)

        app = web.Application()
        app.router.add_post("/v1/reports", post)
        return app

    return build


def test_reports_the_case_store_took_before_the_job_timed_out_stay_forwarded(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """RQ's job timeout in the middle of reports posted one after another: what the case store answered before it is
    kept, and the report it interrupted goes last in the next try. Lost, every try posted the same first reports and
    timed out on the same slow one; the reports after it never reached the case store, and when the tries ran out
    every report was dead-lettered, those the case store had taken too."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0",
                                 LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="1", LAPOR_CASESTORE_BATCH="false")
    stored: list[str] = []
    tracking_ids = forward_one_job(settings, redis, [f"timed-out-{n}" for n in range(5)],
                                   lambda ids: one_slow_report_case_store(ids[2], 3.0, stored))
    slow = tracking_ids[2]
    assert sorted(set(stored)) == sorted(tid for tid in tracking_ids if tid != slow)
    states = {tid: redis.hget(REPORT_STATE_KEY.format(tracking_id=tid), "state") for tid in tracking_ids}
    assert [tid for tid in tracking_ids if states[tid] == b"forwarded"] == [tid for tid in tracking_ids if tid != slow]
    letters = DeadLetters(redis)
    assert [(letter.tracking_id, letter.reason) for letter in letters.list()] == [(slow, "forward_failed")]


@pytest.mark.parametrize(
    ("case_store", "warnings", "tracebacks", "reason"),
    [
        pytest.param(None, 2, 0, "casestore_unreachable", id="expected-retries-warn"),
        pytest.param(stalling_case_store(3.0), 0, 3, "forward_failed", id="unexpected-failures-keep-tracebacks"),
    ],
)
def test_a_retry_the_job_asked_for_is_a_warning_and_an_unexpected_failure_keeps_its_traceback(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, case_store: Callable[[], web.Application] | None,
    warnings: int, tracebacks: int, reason: str,
) -> None:
    """A job raising RetryableError asks for its next try and logs it itself (forward.retry). RQ logged each such
    try once more at error level with a traceback: through a case-store outage, a traceback per try of every job,
    burying the errors that need one (RQ's job timeout, a bug), which keep theirs."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="0,0",
                                 LAPOR_QUEUES_JOB_TIMEOUT_SECONDS="1")
    server = LoopbackServer(case_store, settings.casestore.port) if case_store else None
    if server:
        server.start()
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit([draft("outage-1"), draft("outage-2")])  # one batch
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
        if server:
            server.stop()
    letters = [DeadLetters(redis).get(receipt.tracking_id) for receipt in receipts]
    assert [letter.reason if letter else None for letter in letters] == [reason] * 2
    events = log_events(log_stream)
    assert [e["level"] for e in events if e["event"] == "forward.retry"] == ["warning"] * warnings
    assert len([e for e in events if "exception raised while executing" in str(e["event"])]) == tracebacks


CITIZEN_TEXT = "Jalan rusak di depan rumah Bu Siti Aminah, RT 04"
SENDERS = {"sms-twilio": (Channel.SMS, Sender(kind=SenderKind.MSISDN, id="+6281234567890")),
           "sms-aggregator": (Channel.SMS, Sender(kind=SenderKind.MSISDN, id="+6285712345678")),
           "email": (Channel.EMAIL, Sender(kind=SenderKind.EMAIL, id="siti.aminah@desa.id", display_name="Siti"))}


@pytest.mark.parametrize(
    ("sources", "lines"),
    [
        pytest.param(["sms-twilio"], [("sms-twilio", [0])], id="one-report"),
        pytest.param(["email", "sms-twilio", "sms-aggregator", "sms-twilio"],
                     [("email", [0]), ("sms-twilio", [1, 3]), ("sms-aggregator", [2])], id="a-batch-of-three-channels"),
    ],
)
def test_a_forward_retry_line_names_its_reports_channel_and_nothing_of_the_citizen(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    sources: list[str], lines: list[tuple[str, list[int]]],
) -> None:
    """Every other line about a report names its channel (the adapter it came through); a forward.retry line named
    its Tracking IDs alone, so an operator could not tell which channel's reports were waiting. A batch of several
    channels is a line per channel, each with its reports' Tracking IDs; their words and senders are in none."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600", LAPOR_INTAKE_FORWARD_LINGER_MS="0")
    drafts = [draft(f"retry-{index}", CITIZEN_TEXT).model_copy(
        update={"source": source, "channel": SENDERS[source][0], "sender": SENDERS[source][1]})
        for index, source in enumerate(sources)]
    casestore.stop()
    intake = Intake(redis, settings)
    try:
        receipts = intake.commit(drafts)  # one forward job
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    ids = [receipt.tracking_id for receipt in receipts]
    retries = [e for e in log_events(log_stream) if e["event"] == "forward.retry"]
    assert [(e["channel"], e["tracking_ids"]) for e in retries] == [
        (channel, [ids[index] for index in indexes]) for channel, indexes in lines]
    assert {(e["level"], e["reason"], e["attempt"]) for e in retries} == {("warning", "casestore_unreachable", 1)}
    written = log_stream.getvalue()
    for citizen in ("Jalan rusak", "Siti", "siti.aminah@desa.id", "81234567890", "85712345678"):
        assert citizen not in written


@pytest.mark.parametrize(
    ("failing", "retried_now"),
    [
        pytest.param(None, True, id="not-listening"),
        pytest.param(stalling_case_store(0.0), True, id="answering-503"),
        pytest.param(batch_throttling("3600"), False, id="throttling-keeps-its-retry-after"),
        pytest.param(batch_throttling("3600", 503), False, id="shedding-load-503-keeps-its-retry-after"),
    ],
)
def test_forwards_waiting_out_a_case_store_outage_run_as_soon_as_it_takes_a_report_again(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    failing: Callable[[], web.Application] | None, retried_now: bool,
) -> None:
    """Each forward waited out its own backoff, up to an hour in a long outage: after the case store came back, the
    views said the reports still waited ("last failure: casestore_unreachable") and they did. The first report
    it takes moves the forwards waiting for that outage to now; a throttled one keeps the wait it was asked for, and
    so does one answered 503 with a Retry-After (a case store shedding load: moved to now by every report another
    forward got through, its retries were spent in seconds and its reports dead-lettered)."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600")
    casestore.stop()
    stand_in = LoopbackServer(failing, settings.casestore.port) if failing else None
    intake = Intake(redis, settings)
    try:
        if stand_in:
            stand_in.start()
        try:
            waiting = intake.commit([draft("during-the-outage-1"), draft("during-the-outage-2")])  # one batch
            drain(settings, (FORWARD_QUEUE,))
        finally:
            if stand_in:
                stand_in.stop()
        registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
        [job_id] = registry.get_job_ids()
        assert registry.get_scheduled_time(job_id).timestamp() > time.time() + 500
        casestore.start()
        [after] = intake.commit([draft("once-it-is-back")])
        drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    assert casestore.get(after.tracking_id) and not any(casestore.get(r.tracking_id) for r in waiting)
    due = registry.get_scheduled_time(job_id).timestamp() <= time.time()
    assert due is retried_now
    assert [e["jobs"] for e in log_events(log_stream) if e["event"] == "forward.retry_now"] == ([1] if retried_now
                                                                                               else [])


def shedding_case_store(stored: list[str], shedding: dict[str, bool],
                        tries: Counter[str] | None = None) -> Callable[[], web.Application]:
    """A case store shedding load without a Retry-After: while `shedding["on"]`, every other report request (one or
    a batch) is answered 503, the others taken (each into `stored`, once per time it is taken); each report's
    requests counted in `tries`."""

    def build() -> web.Application:
        requests = [0]

        async def answer(request: web.Request) -> web.Response:
            body = await request.json()
            requests[0] += 1
            if tries is not None:
                tries.update(report["tracking_id"] for report in body.get("reports", [body]))
            if shedding["on"] and requests[0] % 2:
                return web.json_response({"error": "overloaded"}, status=503)
            batch = request.path.endswith("/batch")
            return taken(body["reports"] if batch else [body], stored, batch=batch)

        return case_store_app(answer)

    return build


def forwards_run_until_none_is_due(settings: Settings, redis: Redis) -> Callable[[], None]:
    """Run the forward queue, the retries the scheduler finds due included (what a worker's scheduler does within a
    second), until no retry is due."""
    scheduler = RQScheduler([FORWARD_QUEUE], connection=redis, serializer=JSONSerializer)
    scheduler.prepare_registries([FORWARD_QUEUE])
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry

    def run() -> None:
        for _ in range(40):
            drain(settings, (FORWARD_QUEUE,))
            if not any(registry.get_scheduled_time(job_id).timestamp() <= time.time()
                       for job_id in registry.get_job_ids(cleanup=False)):
                return
            scheduler.enqueue_scheduled_jobs()

    return run


def test_a_case_store_shedding_every_other_request_spends_no_retry_of_a_forward_moved_ahead_of_its_turn(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A case store shedding load without a Retry-After ends an outage at every report it takes, and each end moves
    every waiting forward to now. Each such try counted as one of the job's retries: spent at the rate of the case
    store's successes, a job's two retries were gone in a second and its report dead-lettered, to be requeued by an
    operator. A try ahead of its turn that fails goes back to its turn with no retry spent: no report is
    dead-lettered, the shed ones are taken at a later move or once the case store stops shedding, each exactly once."""
    monkeypatch.setattr(forward, "MOVED_AGAIN_AFTER_SECONDS", 0)  # moved again at once: each move, as many as come
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600")
    casestore.stop()
    stored: list[str] = []
    shedding = {"on": True}
    stand_in = LoopbackServer(shedding_case_store(stored, shedding), settings.casestore.port)
    stand_in.start()
    intake = Intake(redis, settings)
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    run_until_none_is_due = forwards_run_until_none_is_due(settings, redis)

    try:
        receipts = [receipt for n in range(16) for receipt in intake.commit([draft(f"shed-{n}")])]  # 16 jobs
        run_until_none_is_due()
        assert DeadLetters(redis).list() == []
        assert 8 <= len(stored) < 16  # it takes writes while it sheds; the last one shed waits for its turn
        shedding["on"] = False
        [after] = intake.commit([draft("once-it-stops-shedding")])
        run_until_none_is_due()
    finally:
        intake.close()
        stand_in.stop()
    assert DeadLetters(redis).list() == []
    assert sorted(stored) == sorted(receipt.tracking_id for receipt in [*receipts, after])  # each exactly once
    assert registry.get_job_ids() == []


def test_a_flapping_case_store_sees_a_waiting_forward_again_a_minute_after_its_failed_try_not_at_every_report(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A case store shedding load without a Retry-After ends an outage at every report it takes, and each end moved
    every waiting forward to now: a forward shed again was sent again at the next report taken, the workers' whole
    throughput aimed at a case store failing under load. One whose try ahead of its turn failed is moved to a minute
    after that failure instead: tried at most once more here, however many reports are taken meanwhile; once the case
    store stops shedding, due within that minute (not at its 10-min turn), and taken then, each exactly once."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600")
    casestore.stop()
    stored: list[str] = []
    tries: Counter[str] = Counter()
    shedding = {"on": True}
    stand_in = LoopbackServer(shedding_case_store(stored, shedding, tries), settings.casestore.port)
    stand_in.start()
    intake = Intake(redis, settings)
    registry = queue(FORWARD_QUEUE, redis).scheduled_job_registry
    run_until_none_is_due = forwards_run_until_none_is_due(settings, redis)

    try:
        receipts = [receipt for n in range(8) for receipt in intake.commit([draft(f"flap-{n}")])]
        run_until_none_is_due()
        for n in range(12):  # reports taken one after another while it flaps, each ending an "outage"
            receipts += intake.commit([draft(f"while-it-flaps-{n}")])
            run_until_none_is_due()
        waiting = registry.get_job_ids(cleanup=False)
        assert waiting  # some forwards were shed on their try ahead of their turn, and wait
        assert max(tries.values()) <= 2  # its first try and one ahead of its turn; sent again at every report before
        assert DeadLetters(redis).list() == []
        shedding["on"] = False
        [after] = intake.commit([draft("once-it-stops-shedding")])
        run_until_none_is_due()
        assert after.tracking_id in stored
        for job_id in waiting:
            assert registry.get_scheduled_time(job_id).timestamp() <= time.time() + 61  # not at its 10-min turn
        redis.zadd(registry.key, dict.fromkeys(waiting, int(time.time()) - 1))  # that minute, gone by
        run_until_none_is_due()
    finally:
        intake.close()
        stand_in.stop()
    assert DeadLetters(redis).list() == []
    assert sorted(stored) == sorted(receipt.tracking_id for receipt in [*receipts, after])  # each exactly once
    assert registry.get_job_ids() == []


def test_a_forward_moved_to_its_pause_end_then_by_the_probe_goes_back_to_its_own_turn_when_that_try_fails(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A forward whose try ahead of its turn failed a moment ago is moved to the end of its pause by an outage's end;
    the probe then runs it now (it picks one given back lately when no other waits). The second move noted the pause's
    end as its turn: the probe's try, failed, went back there and not to its turn ten minutes on, and the try at the
    pause's end spent a retry ahead of its turn. The turn noted is the later of the two."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600")
    casestore.stop()
    intake = Intake(redis, settings)
    try:
        intake.commit([draft("given-back-lately")])
        drain(settings, (FORWARD_QUEUE,))  # unreachable: its retry in 10 min
    finally:
        intake.close()
    forwards = queue(FORWARD_QUEUE, redis)
    registry = forwards.scheduled_job_registry
    [job_id] = registry.get_job_ids()
    turn = registry.get_scheduled_time(job_id).timestamp()
    job = forwards.fetch_job(job_id)
    assert job is not None
    retries_left = job.retries_left
    job.meta[forward.GIVEN_BACK_META] = time.time() - 10  # its try ahead of its turn failed 10 s ago
    job.save_meta()
    use_context(WorkerContext.build(settings, redis))
    try:
        assert forward.retry_outage_now(current()) == 1  # to its pause's end, 50 s on
    finally:
        use_context(None)
    assert registry.get_scheduled_time(job_id).timestamp() <= time.time() + 51
    assert forward.retry_next_outage_forward(redis) == job_id  # the probe: now
    forwards_run_until_none_is_due(settings, redis)()  # still unreachable
    assert registry.get_scheduled_time(job_id).timestamp() >= turn - 1  # back to its own turn
    job = forwards.fetch_job(job_id)
    assert job is not None and job.meta["attempts"] == 2  # the probe's try ran
    assert job.retries_left == retries_left  # and spent no retry
    assert DeadLetters(redis).count() == 0


def test_a_report_the_case_store_fails_on_alone_spends_its_retries_though_the_others_end_outages(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
) -> None:
    """A report the case store answers 500 alone (an unhandled error its content meets) fails as an outage does, and
    each other report taken ended that "outage" and moved it to now: given its retry back each time, it was tried at
    the pace of the traffic for its whole backoff (two hours) and dead-lettered that much later. Its tries ahead of
    its turn spend its retries, as before: dead-lettered once they are spent, every other report taken."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600,600")
    casestore.stop()
    stored: list[str] = []
    poison: set[str] = set()
    poison_tries: list[str] = []

    def build() -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            batch = request.path.endswith("/batch")
            reports = (await request.json())["reports"] if batch else [await request.json()]
            if any(report["tracking_id"] in poison for report in reports):
                poison_tries.append("tried")
                return web.json_response({"error": "internal"}, status=500)
            return taken(reports, stored, batch=batch)

        return case_store_app(answer)

    stand_in = LoopbackServer(build, settings.casestore.port)
    stand_in.start()
    intake = Intake(redis, settings)
    scheduler = RQScheduler([FORWARD_QUEUE], connection=redis, serializer=JSONSerializer)
    scheduler.prepare_registries([FORWARD_QUEUE])
    try:
        [bad] = intake.commit([draft("fails-alone", "Laporan yang gagal")])
        poison.add(bad.tracking_id)
        drain(settings, (FORWARD_QUEUE,))
        others = []
        for n in range(10):
            others += intake.commit([draft(f"taken-{n}")])
            drain(settings, (FORWARD_QUEUE,))
            scheduler.enqueue_scheduled_jobs()
            drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
        stand_in.stop()
    assert len(poison_tries) == 3  # its first try and its two retries
    assert [letter.tracking_id for letter in DeadLetters(redis).list()] == [bad.tracking_id]
    assert sorted(stored) == sorted(receipt.tracking_id for receipt in others)


def unavailable_case_store() -> web.Application:
    """A case store answering 503 to every report, one or a batch (a database failover behind it)."""

    async def unavailable(_: web.Request) -> web.Response:
        return web.json_response({"error": "unavailable"}, status=503)

    app = web.Application()
    app.router.add_post("/v1/reports", unavailable)
    app.router.add_post("/v1/reports/batch", unavailable)
    return app


@pytest.mark.parametrize("failing", [None, unavailable_case_store], ids=["not-listening", "answering-503"])
def test_a_case_store_outage_is_logged_once_when_it_has_lasted_and_once_when_it_is_over(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, failing: Callable[[], web.Application] | None,
) -> None:
    """Through a case-store outage every forward's every try was a forward.retry line (an hour of it: hundreds), and
    no line said when the outage began, that it went on, or that it was over. Now the forward that finds it down
    past a few seconds logs casestore.down once, whatever the number of forwards failing, and the one it takes again
    logs casestore.back with how long it lasted; a single failure taken at the next try logs neither."""
    monkeypatch.setattr(forward, "OUTAGE_TOLD_AFTER_SECONDS", 0.5, raising=False)
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600")
    intake = Intake(redis, settings)

    def forward_one(message_id: str) -> str:
        [receipt] = intake.commit([draft(message_id)])
        drain(settings, (FORWARD_QUEUE,))
        return receipt.tracking_id

    def told() -> list[dict[str, Any]]:
        return [e for e in log_events(log_stream) if e["event"] in ("casestore.down", "casestore.back")]

    try:
        casestore.stop()
        stand_in = LoopbackServer(failing, settings.casestore.port) if failing else None
        if stand_in:
            stand_in.start()
        try:
            forward_one("outage-1")
            assert told() == []  # one failure: maybe a blip
            time.sleep(0.6)
            forward_one("outage-2")
            forward_one("outage-3")
        finally:
            if stand_in:
                stand_in.stop()
        casestore.start()
        back = forward_one("back")
        [down, over] = told()
        reason = "casestore_unreachable" if failing is None else "casestore_503"
        assert (down["event"], down["level"], down["reason"], down["queue"]) == ("casestore.down", "error", reason,
                                                                                FORWARD_QUEUE)
        assert 0.5 <= down["failing_seconds"] < 30
        assert (over["event"], over["level"], over["last_failure"]) == ("casestore.back", "info", reason)
        assert down["failing_seconds"] <= over["down_seconds"] < 30 and over["forwards_retried_now"] == 3
        assert casestore.get(back)

        casestore.stop()  # a blip: one failure, and the next try goes through
        forward_one("blip")
        casestore.start()
        forward_one("after-the-blip")
        assert len(told()) == 2
    finally:
        intake.close()


def status_job_asked_in_an_outage(settings: Settings, redis: Redis, tracking_id: str) -> Job:
    """A CEK's status job (as the gateway queues it after "the answer follows"), run once during the outage."""
    query = {"source": "sms-aggregator", "to": "+6281234567811", "tracking_id": tracking_id, "language": "id",
             "status_id": "waits-for-the-case-store"}
    [job] = enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [(query,)])
    drain(settings, (STATUS_QUEUE,))
    return job


def due_jobs(redis: Redis, name: str) -> list[str]:
    """The ids of the jobs of queue `name` scheduled for a retry that is due now (its scheduler's to enqueue)."""
    registry = queue(name, redis).scheduled_job_registry
    return [job_id for job_id in registry.get_job_ids(cleanup=False)
            if registry.get_scheduled_time(job_id).timestamp() <= time.time()]


@pytest.mark.parametrize("failing", [None, hung_case_store], ids=["not-listening", "taking-connections-not-answering"])
def test_a_cek_asked_in_a_case_store_outage_is_answered_as_soon_as_it_is_back_and_the_views_stop_blaming_it(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO,
    failing: Callable[[list[str]], Callable[[], web.Application]] | None,
) -> None:
    """The case store back, the forward that it took logged `casestore.back` and moved the forwards waiting out the
    outage to now, but a CEK's status job waiting out the same outage waited out its own backoff (4 minutes after a
    short outage, up to an hour after a long one), and the views meanwhile said its queue waited on a case store that
    "takes connections but does not answer". It runs with the forwards, and the views say nothing of the case store."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600",
                                 LAPOR_CASESTORE_TIMEOUT_SECONDS="0.3")
    intake = Intake(redis, settings)
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))

    def status_queue() -> Any:
        return next(stats for stats in monitor.queue_stats(time.time()) if stats.name == STATUS_QUEUE)

    try:
        [asked] = intake.commit([draft("asked-after")])
        drain(settings, (FORWARD_QUEUE,))
        assert casestore.store.set_status(asked.tracking_id, "in_progress")
        casestore.stop()
        stand_in = LoopbackServer(failing([]), settings.casestore.port) if failing else None
        if stand_in:
            stand_in.start()
        try:
            [waiting] = intake.commit([draft("filed-in-the-outage")])
            drain(settings, (FORWARD_QUEUE,))
            status_job = status_job_asked_in_an_outage(settings, redis, asked.tracking_id)
        finally:
            if stand_in:
                stand_in.stop()
        reason = "casestore_unreachable" if failing is None else "casestore_timeout"
        assert (status_queue().scheduled, status_queue().last_failure) == (1, reason)
        assert due_jobs(redis, STATUS_QUEUE) == due_jobs(redis, FORWARD_QUEUE) == []
        casestore.start()
        [back] = intake.commit([draft("taken-again")])
        drain(settings, (FORWARD_QUEUE,))  # the case store takes it: the outage is over
        assert casestore.get(back.tracking_id)
        assert due_jobs(redis, STATUS_QUEUE) == [status_job.id]  # with the forward waiting out the outage
        assert len(due_jobs(redis, FORWARD_QUEUE)) == 1
        [moved] = [e for e in log_events(log_stream) if e["event"] == "lookup.retry_now"]
        assert (moved["jobs"], moved["queues"]) == (1, {STATUS_QUEUE: 1})

        scheduler = RQScheduler([FORWARD_QUEUE, STATUS_QUEUE], connection=redis, serializer=JSONSerializer)
        scheduler.prepare_registries([FORWARD_QUEUE, STATUS_QUEUE])
        scheduler.enqueue_scheduled_jobs()  # what a worker's scheduler does within a second
        drain(settings, (FORWARD_QUEUE, STATUS_QUEUE))
        assert casestore.get(waiting.tracking_id)
        [answer] = [job.args[0] for job in queue(REPLY_QUEUE, redis).get_jobs() if job.args[0]["kind"] == "status"]
        assert answer["text"] == status_text(asked.tracking_id, "in_progress", "id", found=True)
        stats = status_queue()
        assert (stats.depth, stats.scheduled, stats.oldest_age_seconds, stats.last_failure) == (0, 0, None, None)
    finally:
        intake.close()


def test_a_ceks_status_job_moved_ahead_of_its_turn_that_fails_again_spends_no_retry(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Moved to now as a forward's report was taken, a status job whose lookup fails again (a case store flapping)
    goes back to its turn with its retry given back, as a forward does: moved at every report taken, its retries were
    spent at the rate of the case store's successes, and the citizen told "send CEK later" within minutes."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="600,600")  # nothing listens at the case store's port
    job = status_job_asked_in_an_outage(settings, redis, "10000530")
    registry = queue(STATUS_QUEUE, redis).scheduled_job_registry
    job.refresh()
    turn, retries_left = registry.get_scheduled_time(job).timestamp(), job.retries_left
    assert retries_left == 1
    use_context(WorkerContext.build(settings, redis))
    try:
        forward.retry_outage_now(current())
    finally:
        use_context(None)
    scheduler = RQScheduler([STATUS_QUEUE], connection=redis, serializer=JSONSerializer)
    scheduler.prepare_registries([STATUS_QUEUE])
    scheduler.enqueue_scheduled_jobs()
    drain(settings, (STATUS_QUEUE,))  # fails again, ahead of its turn
    job.refresh()
    assert job.retries_left == retries_left and job.id in registry.get_job_ids(cleanup=False)
    assert abs(registry.get_scheduled_time(job).timestamp() - turn) <= 2  # back to its turn
    assert DeadLetters(redis).count() == 0 and queue(REPLY_QUEUE, redis).count == 0


def test_a_ceks_status_job_for_a_report_not_forwarded_yet_answers_received_through_an_outage(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """A report the gateway holds and has not forwarded is not the case store's yet: "received", as the README says,
    with the case store away too. Its status job was retried through the outage, then said "send CEK later"."""
    settings = test_env.settings(LAPOR_INTAKE_FORWARD_LINGER_MS="0", LAPOR_QUEUES_RETRY_INTERVALS="600")
    intake = Intake(redis, settings)  # nothing listens at the case store's port
    try:
        [receipt] = intake.commit([draft("not-forwarded-yet")])
    finally:
        intake.close()
    status_job_asked_in_an_outage(settings, redis, receipt.tracking_id)
    [answer] = [job.args[0] for job in queue(REPLY_QUEUE, redis).get_jobs() if job.args[0]["kind"] == "status"]
    assert answer["text"] == status_text(receipt.tracking_id, "received", "id", found=True)
    assert queue(STATUS_QUEUE, redis).scheduled_job_registry.count == 0


@dataclass(frozen=True)
class WaitingJobRow:
    id: str
    queue: str
    last_error: str  # its meta's, as its last try noted it (`note_retry`)
    moved: bool  # to now, by the case store's return


WAITING_JOB_ROWS = [
    WaitingJobRow("a-forward", FORWARD_QUEUE, "casestore_timeout", True),
    WaitingJobRow("a-ceks-status-job-timed-out", STATUS_QUEUE, "casestore_timeout", True),
    WaitingJobRow("a-ceks-status-job-answered-503", STATUS_QUEUE, "casestore_503", True),
    WaitingJobRow("a-ceks-status-job-not-listened-to", STATUS_QUEUE, "casestore_unreachable", True),
    # a mailed CEK's reply looks its status up first (workers/email_reply.py)
    WaitingJobRow("a-mailed-ceks-lookup", REPLY_QUEUE, "casestore_unreachable", True),
    # what the case store's return does not end
    WaitingJobRow("a-status-job-waiting-for-a-spools-replay", STATUS_QUEUE, "report_not_replayed", False),
    WaitingJobRow("a-status-job-the-case-store-rate-limited", STATUS_QUEUE, "casestore_429", False),
    WaitingJobRow("a-status-job-answered-badly", STATUS_QUEUE, "casestore_bad_answer", False),
    WaitingJobRow("an-sms-reply-its-aggregator-failed", REPLY_QUEUE, "aggregator_503", False),
    WaitingJobRow("a-reply-its-relay-did-not-answer", REPLY_QUEUE,
                  "relay_timeout (no answer in time): smtp.example.go.id:587", False),
]


@pytest.mark.parametrize("row", WAITING_JOB_ROWS, ids=lambda row: row.id)
def test_the_case_store_back_runs_now_each_job_that_waited_on_it_alone(
    row: WaitingJobRow, test_env: TestEnvironment, redis: Redis
) -> None:
    """Of the jobs waiting for a retry, those whose last try failed for the case store as a whole run now once it is
    back, of whichever queue; the others keep their turn."""
    job = queue(row.queue, redis).enqueue_in(timedelta(minutes=10), "os.getcwd", meta={"last_error": row.last_error})
    use_context(WorkerContext.build(test_env.settings(), redis))
    try:
        forward.retry_outage_now(current())
    finally:
        use_context(None)
    assert (due_jobs(redis, row.queue) == [job.id]) is row.moved


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_worker_killed_with_sigkill_takes_its_scheduler_with_it(
    start_process: Callable[..., ProcessHandle], redis: Redis,
) -> None:
    """RQ forks its retry scheduler from the worker. A worker killed outright (the OOM killer, kill -9) must not
    leave it running on its own, holding the queue's scheduler lock, outside any supervisor."""
    victim = start_process("worker", "--queues", FORWARD_QUEUE)
    worker = psutil.Process(victim.process.pid)
    wait_until(lambda: worker.children() or victim.process.poll() is not None, timeout=90)
    schedulers = worker.children()
    assert schedulers, victim.output()[-2000:]
    victim.stop(signal.SIGKILL)
    wait_until(lambda: all(_gone(process) for process in schedulers), timeout=10)


def _blocked_in_dequeue(redis: Redis, queue_name: str) -> bool:
    """Whether a client of this test's database waits in RQ's blocking dequeue of `queue_name` (BLMOVE)."""
    database = redis.connection_pool.connection_kwargs.get("db", 0)
    return any(client.get("cmd") == "blmove" and int(client.get("db", -1)) == database
               for client in redis.client_list())


def test_a_worker_that_found_the_scheduler_lock_taken_schedules_retries_once_it_is_free_even_while_idle(
    start_process: Callable[..., ProcessHandle], redis: Redis, test_env: TestEnvironment,
) -> None:
    """A worker started after one killed with SIGKILL finds the queue's scheduler lock still held by the dead one's
    scheduler (RQ's lock lasts a minute) and starts none; RQ's maintenance takes the lock later, but runs only
    between dequeues, and an idle worker's blocking dequeue waited 405 s: the retries of the replies a killed reply
    worker left (the only one on its queue) waited nearly seven minutes on a quiet queue. The dequeue now gives the
    loop back every maintenance interval, so the scheduler starts within one of the lock's end. The interval is 2 s
    here (30 s by default), the deadline the default's: the dequeue's 405 s still outlast it."""
    redis.set(f"rq:scheduler-lock:{FORWARD_QUEUE}", "a-killed-workers-scheduler", ex=120)
    handle = start_process("worker", "--queues", FORWARD_QUEUE, LAPOR_QUEUES_MAINTENANCE_INTERVAL_SECONDS="2")
    wait_until(lambda: _blocked_in_dequeue(redis, FORWARD_QUEUE) or handle.process.poll() is not None, timeout=90)
    assert handle.process.poll() is None, handle.output()[-3000:]
    assert not psutil.Process(handle.process.pid).children()  # no scheduler: the lock was taken
    redis.delete(f"rq:scheduler-lock:{FORWARD_QUEUE}")  # the dead scheduler's lock ends
    job = enqueue_later(redis, test_env.settings(), FORWARD_QUEUE, FORWARD_FUNC, [[]], 1)
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED,
               timeout=run.MAINTENANCE_INTERVAL_SECONDS + 20, interval=0.5)


def test_a_workers_maintenance_interval_and_longest_wait_for_a_job_are_its_setting(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`queues.maintenance_interval_seconds`: how often RQ runs the worker's maintenance, the longest one wait for a
    job, and how long a kept retry scheduler that ended waits to be started again. A worker built alone (`worker_on`,
    `build_worker`: no run's shared scheduler keeper nor quits) keeps to it too, and to `queues.quit_first_wait_seconds`
    (they kept 30 s and 1 s whatever the settings said)."""
    settings = test_env.settings(LAPOR_QUEUES_MAINTENANCE_INTERVAL_SECONDS="7",
                                 LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS="0.25")
    worker = run.worker_on(SimpleNamespace(redis=redis, settings=settings, watch=redis), FORWARD_QUEUE)  # type: ignore[arg-type]
    waits: list[int | None] = []
    monkeypatch.setattr(SimpleWorker, "dequeue_job_and_maintain_ttl",
                        lambda _self, timeout, max_idle_time=None: waits.append(timeout))
    worker.dequeue_job_and_maintain_ttl(405)
    assert (worker.maintenance_interval, waits) == (7, [7])
    assert (worker.keeper._interval, worker.quits._first_wait) == (7, 0.25)
    clock = {"now": 100.0}
    keeper = run.SchedulerKeeper(clock=lambda: clock["now"], interval=7)
    keeper.started(None)  # type: ignore[arg-type]
    clock["now"] += 6.9
    assert not keeper.may_start()
    clock["now"] += 0.1
    assert keeper.may_start()


def test_a_forked_script_runs_in_the_environment_its_caller_has_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_script` as `subprocess.run`: the child reads the caller's environment as it is at the call, not the one the
    fork server was started in (the first call below starts it, if no test did before)."""
    probe = "import os; print(os.environ.get('LAPOR_SCRIPT_PROBE'))"
    assert run_script(probe, cwd=REPO_ROOT).stdout == "None\n"
    monkeypatch.setenv("LAPOR_SCRIPT_PROBE", "set after the server started")
    result = run_script(probe, cwd=REPO_ROOT)
    assert (result.returncode, result.stdout) == (0, "set after the server started\n")


# Forks in a process with ChildrenDieWithWorker registered; each child exits with the parent-death signal it was
# given (PR_GET_PDEATHSIG), so 9 means "dies with the worker" and 0 "left alone".
FORK_SCOPE_SCRIPT = """
import ctypes, os, signal, sys, threading
from workers.run import ChildrenDieWithWorker

ChildrenDieWithWorker().register()
libc = ctypes.CDLL("libc.so.6", use_errno=True)

def pdeathsig():
    value = ctypes.c_int()
    libc.prctl(2, ctypes.byref(value))
    return value.value

def fork_and_report(in_child=pdeathsig):
    pid = os.fork()
    if pid == 0:
        os._exit(in_child())
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

def grandchild():
    return fork_and_report()

def default_stop_signals():  # 1 when SIGTERM and SIGINT are back to their defaults in the child
    return int(all(signal.getsignal(s) == signal.SIG_DFL for s in (signal.SIGTERM, signal.SIGINT)))

where = sys.argv[1]
if where == "main-thread":
    code = fork_and_report()
elif where == "main-thread-signals":
    signal.signal(signal.SIGTERM, lambda *_: None)  # as run_worker's own stop handler
    signal.signal(signal.SIGINT, lambda *_: None)
    code = fork_and_report(default_stop_signals)
elif where == "other-thread":
    box = []
    thread = threading.Thread(target=lambda: box.append(fork_and_report()))
    thread.start()
    thread.join()
    code = box[0]
else:
    code = fork_and_report(grandchild)
print(code)
"""


@pytest.mark.parametrize(
    ("where", "signal_given"),
    [
        pytest.param("main-thread", signal.SIGKILL, id="worker-main-thread-fork-dies-with-the-worker"),
        pytest.param("other-thread", 0, id="fork-from-another-thread-left-alone"),
        pytest.param("grandchild", 0, id="fork-by-the-child-left-alone"),
        # RQ's scheduler, forked before it installs its own handlers, must not inherit the worker's stop flag: a
        # SIGTERM then would be swallowed, and the worker would wait on it forever.
        pytest.param("main-thread-signals", 1, id="the-workers-child-starts-with-default-stop-signals"),
    ],
)
def test_only_the_workers_own_children_are_tied_to_it(where: str, signal_given: int) -> None:
    result = run_script(FORK_SCOPE_SCRIPT, where, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == signal_given


# `lapor-gateway worker` with several queues, its children standing in for workers: each queue's child does what
# the plan says ("wait": until SIGTERM; "cold": the same, then end as RQ's cold shutdown ends a worker, with
# SystemExit; "stop": SIGTERM the command at once, as a supervisor stopping everything as it starts would, then wait;
# "done": return at once, as a burst on an empty queue; "crash": raise; "killed": SIGKILL itself), the last three
# only once every waiting sibling is ready for its SIGTERM. Marks under argv[1] say which children ran, got ready and
# were stopped; the last line is run_workers' result.
RUN_WORKERS_SCRIPT = """
import os, signal, sys, threading, time
from pathlib import Path
from gateway.logs import configure_logging
from workers import forward, run

configure_logging("info")
marks, plan, burst = Path(sys.argv[1]), dict(item.split("=") for item in sys.argv[2].split(",")), sys.argv[3] == "burst"

def crash_in_the_worker():
    raise ValueError("the worker broke")

def wait_for_the_waiting_siblings():
    while any(not (marks / f"ready-{name}").exists() for name, what in plan.items() if what in ("wait", "cold")):
        time.sleep(0.01)

def fake_run_worker(settings, queue_name, *, burst=False):
    (marks / f"ran-{queue_name}").touch()
    if plan[queue_name] in ("wait", "cold", "stop"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        if plan[queue_name] == "stop":
            os.kill(os.getppid(), signal.SIGTERM)
        else:
            (marks / f"ready-{queue_name}").touch()
        signal.sigwait({signal.SIGTERM})
        (marks / f"stopped-{queue_name}").touch()
        if plan[queue_name] == "cold":
            raise SystemExit()
        return False
    wait_for_the_waiting_siblings()
    if plan[queue_name] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if plan[queue_name] == "crash":
        crash_in_the_worker()
    return True

run.run_worker = fake_run_worker
if sys.argv[4:] == ["with-a-thread"]:
    threading.Thread(target=threading.Event().wait, daemon=True).start()
if sys.argv[4:] == ["sigchld-ignored"]:  # as a parent that ignores SIGCHLD leaves it to the programs it starts
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
print(run.run_workers(None, list(plan), burst=burst), flush=True)
"""


def run_workers_as_planned(tmp_path: Path, plan: str, *extra: str, burst: bool = False,
                           ) -> tuple[int, list[dict[str, object]], set[str]]:
    """run_workers' result, its log lines and the marks its children left, in a process of its own."""
    result = run_script(RUN_WORKERS_SCRIPT, str(tmp_path), plan, "burst" if burst else "run", *extra, cwd=REPO_ROOT)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    events = [orjson.loads(line) for line in lines[:-1] if line.startswith("{")]
    return int(lines[-1]), events, {path.name for path in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("plan", "burst", "expected_code", "logged"),
    [
        pytest.param("a=wait,b=killed,c=wait", False, 128 + signal.SIGKILL, [("b", 128 + signal.SIGKILL)],
                     id="one-killed"),
        pytest.param("a=wait,b=crash", False, 1, [("b", 1)], id="one-crashed"),
        pytest.param("a=wait,b=done", False, 1, [("b", 0)], id="one-ended-by-itself"),
        pytest.param("a=done,b=killed", True, 128 + signal.SIGKILL, [("b", 128 + signal.SIGKILL)],
                     id="burst-one-killed"),
        pytest.param("a=done,b=done", True, 0, [], id="burst-all-done"),
    ],
)
def test_a_worker_child_that_ends_unasked_stops_its_siblings_and_the_exit_code_says_so(
    plan: str, burst: bool, expected_code: int, logged: list[tuple[str, int]], tmp_path: Path,
) -> None:
    """A process left working some of its queues looks alive to whatever runs it: no restart policy (nor `make
    run`'s supervisor) would bring the missing queue back. And a killed child is a failure, not a 0."""
    code, events, marks = run_workers_as_planned(tmp_path, plan, burst=burst)
    assert code == expected_code
    waiting = [item.split("=")[0] for item in plan.split(",") if item.endswith("=wait")]
    assert {f"stopped-{name}" for name in waiting} <= marks  # each got its SIGTERM, a warm shutdown
    exited = [(e["queue"], e["exit_code"]) for e in events if e["event"] == "worker.child_exited"]
    assert exited == logged


def test_a_crashed_worker_child_logs_its_traceback(tmp_path: Path) -> None:
    """As a worker process of its own would (process.uncaught_exception): the error's name alone says not where."""
    _, events, _ = run_workers_as_planned(tmp_path, "a=wait,b=crash")
    crashed = [e for e in events if e["event"] == "worker.crashed"]
    assert [e["queue"] for e in crashed] == ["b"]
    assert "crash_in_the_worker" in orjson.dumps(crashed[0].get("exception")).decode()


def test_a_stop_asked_while_the_worker_children_start_stops_each_and_the_command_exits_0(tmp_path: Path) -> None:
    """As a supervisor stopping everything as it starts would: the stop waits until every child is forked and has
    its own handlers, then reaches each (a warm shutdown). Not SIGTERM's default action, which ended the command and
    had the kernel SIGKILL the children forked so far; not a signal that came just before the wait for the children
    began and went unseen, so nobody told them to stop."""
    code, events, marks = run_workers_as_planned(tmp_path, "a=stop,b=wait,c=wait")
    assert code == 0
    assert {"stopped-a", "stopped-b", "stopped-c"} <= marks
    assert [e for e in events if e["event"] in ("worker.crashed", "worker.child_exited")] == []


def test_a_worker_child_ended_by_a_cold_shutdown_exits_as_a_worker_process_of_its_own_would(tmp_path: Path) -> None:
    """A second stop signal while a job runs has RQ raise SystemExit (its cold shutdown): an exit asked for, not a
    crash with a traceback and a failing exit code for the command."""
    code, events, marks = run_workers_as_planned(tmp_path, "a=stop,b=cold")
    assert code == 0
    assert {"stopped-a", "stopped-b"} <= marks
    assert [e["event"] for e in events if e["event"] in ("worker.crashed", "worker.child_exited")] == []


@pytest.mark.parametrize(("exit_request", "expected"), [
    pytest.param(SystemExit(), 0, id="none"),
    pytest.param(SystemExit(0), 0, id="zero"),
    pytest.param(SystemExit(3), 3, id="a-number"),
    pytest.param(SystemExit("a message"), 1, id="a-message"),
])
def test_a_system_exit_in_a_worker_child_gives_the_code_the_interpreter_would(exit_request: SystemExit,
                                                                              expected: int) -> None:
    assert run.system_exit_code(exit_request) == expected


def test_a_crashed_worker_child_is_seen_when_the_command_was_started_with_sigchld_ignored(tmp_path: Path) -> None:
    """SIG_IGN for SIGCHLD survives exec: the kernel then reaps the children itself, and the command would never
    see a crashed child while its siblings work."""
    code, events, marks = run_workers_as_planned(tmp_path, "a=wait,b=crash", "sigchld-ignored")
    assert code == 1
    assert "stopped-a" in marks
    assert [(e["queue"], e["exit_code"]) for e in events if e["event"] == "worker.child_exited"] == [("b", 1)]


def test_the_worker_children_are_not_forked_from_a_process_with_threads(tmp_path: Path) -> None:
    """A forked child keeps none of the other threads, but every lock they held (the log writer's,
    prometheus_client's) stays held in it for good: refused, before any child is forked."""
    result = run_script(RUN_WORKERS_SCRIPT, str(tmp_path), "a=done,b=done", "burst", "with-a-thread", cwd=REPO_ROOT)
    assert result.returncode != 0
    assert "RuntimeError" in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


# The wait after RQ's loop quit unasked (a second: queues.quit_first_wait_seconds) made short where a test waits it out.
SHORT_QUIT_WAIT = {"LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS": "0.01"}


# How RQ's loop meets an outage: its teardown raises the Redis error (the connection is still gone), or, when the
# connection is back by then, it returns as if done: it quits on any error inside its loop (a timeout included).
# The outage is logged when it starts, and when the next run's first beat finds Redis back. With RQ's loop faked no run
# registers, so none says `worker.ready` (`test_a_worker_is_registered_and_alive_when_it_says_it_is_ready`).
@pytest.mark.parametrize(
    ("outage", "logged"),
    [
        pytest.param(RedisConnectionError("Connection refused"),
                     [("worker.redis_lost", "ConnectionError"), ("worker.redis_back", None),
                      ("worker.stopped", None)],
                     id="redis-down"),
        pytest.param(BusyLoadingError("Redis is loading the dataset in memory"),
                     [("worker.redis_lost", "BusyLoadingError"), ("worker.redis_back", None),
                      ("worker.stopped", None)],
                     id="redis-restarted-and-loading"),
        pytest.param(ReadOnlyError("You can't write against a read only replica."),
                     [("worker.redis_lost", "ReadOnlyError"), ("worker.redis_back", None),
                      ("worker.stopped", None)],
                     id="redis-failed-over-read-only"),
        pytest.param(None, [("worker.quit_unasked", None), ("worker.stopped", None)],
                     id="rq-quit-its-loop-on-a-timeout"),
    ],
)
def test_a_forward_worker_back_from_a_redis_outage_keeps_its_context_and_trained_triage_model(
    outage: RedisError | None, logged: list[tuple[str, str | None]], test_env: TestEnvironment, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backlog is largest right after an outage: the worker must drain it at once, not train its model again
    first (two seconds of CPU per forward worker) nor rebuild its case-store client."""
    engine = object()  # stands in for the trained model: how often it is trained is what the test counts
    trainings: list[WorkerContext] = []

    def train(cls: type[TriageEngine], *args: Any, **kwargs: Any) -> object:
        trainings.append(current())
        return engine

    monkeypatch.setattr(TriageEngine, "build", classmethod(train))
    # RQ's own loop is the boundary: the first run meets the outage, the second finds Redis back. LaporWorker's
    # liveness runs for real around both.
    runs: list[tuple[WorkerContext, Redis]] = []

    def work(worker: run.LaporWorker, *args: Any, **kwargs: Any) -> bool:
        runs.append((current(), worker.connection))
        if len(runs) == 1:
            if outage is None:
                return False
            raise outage
        worker.stop.ask()  # the second run ends as a SIGTERM ends it
        return True

    monkeypatch.setattr(SimpleWorker, "work", work)
    monkeypatch.setattr(run, "REDIS_RETRY_SECONDS", 0.01)
    # Process-wide effects a worker process wants and a test process must not keep (a frozen heap, fork hooks).
    monkeypatch.setattr(run, "settle_heap", lambda: None)
    registrations: list[object] = []
    monkeypatch.setattr(run.ChildrenDieWithWorker, "register", lambda self: registrations.append(self))

    handlers = {signum: signal.getsignal(signum) for signum in run.STOP_SIGNALS}
    try:
        assert run.run_worker(test_env.settings(LAPOR_TRIAGE_ENABLED="true", **SHORT_QUIT_WAIT), FORWARD_QUEUE) is True
        context = current()
    finally:
        use_context(None)
    assert {signum: signal.getsignal(signum) for signum in run.STOP_SIGNALS} == handlers  # the process's own again

    assert len(trainings) == 1, "the triage model was trained again after the outage"
    assert len(runs) == 2
    assert all(seen is context for seen, _ in runs), "a new context was built after the outage"
    assert all(connection is context.redis for _, connection in runs)
    assert context.triage is engine
    assert len(registrations) == 1
    events = [(event["event"], event.get("error")) for event in log_events(log_stream)
              if str(event["event"]).startswith("worker.")]
    assert events == logged


def test_a_worker_tries_a_lost_redis_again_every_few_seconds_however_long_it_was_gone(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ doubles its wait between tries at a lost Redis up to a minute: once Redis was back after a few minutes,
    the worker took up to a minute more to take jobs, its queue growing behind a worker every view called live."""
    from rq.worker import base

    waits: list[float] = []
    monkeypatch.setattr(base, "time", SimpleNamespace(sleep=waits.append, time=time.time, monotonic=time.monotonic))
    lost = iter([RedisConnectionError("Connection refused")] * 8)  # 1 + 2 + 4 + ... seconds: over four minutes

    def dequeue_any(*_: Any, **__: Any) -> None:
        if (error := next(lost, None)) is not None:
            raise error

    worker = run.LaporWorker([queue(FORWARD_QUEUE, redis)], connection=redis, serializer=JSONSerializer,
                             settings=test_env.settings())
    monkeypatch.setattr(worker.queue_class, "dequeue_any", staticmethod(dequeue_any))
    assert worker.dequeue_job_and_maintain_ttl(timeout=1) is None
    assert len(waits) == 8 and max(waits) <= 2 * run.REDIS_RETRY_SECONDS, waits


def worker_lines(stream: io.StringIO) -> list[tuple[str, str, object]]:
    """(event, level, outage_seconds) of the worker's own lines about Redis."""
    return [(str(e["event"]), str(e["level"]), e.get("outage_seconds")) for e in log_events(stream)
            if str(e["event"]).startswith("worker.redis")]


LOST, BACK = ("worker.redis_lost", "error", None), "worker.redis_back"


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        pytest.param([("lost", 0.0), ("back", 1.5)], [LOST, (BACK, "info", 1.5)], id="a-blip"),
        # RQ's loop and the liveness thread each meet it every second or two, then Redis answers again.
        pytest.param([*[("lost", tick / 2) for tick in range(180)], ("back", 90.0)],
                     [LOST, ("worker.redis_still_lost", "warning", 60), (BACK, "info", 90.0)], id="ninety-seconds"),
        pytest.param([("lost", 0.0), ("lost", 1.0), ("back", 2.0), ("back", 3.0), ("lost", 100.0), ("back", 101.0)],
                     [LOST, (BACK, "info", 2.0), LOST, (BACK, "info", 1.0)], id="two-outages"),
        pytest.param([("back", 0.0), ("back", 1.0)], [], id="no-outage"),
    ],
)
def test_a_redis_outage_is_logged_when_it_starts_every_minute_while_it_lasts_and_when_it_ends(
    calls: list[tuple[str, float]], expected: list[tuple[str, str, object]], log_stream: io.StringIO
) -> None:
    """RQ's loop logged an error at every try at a lost Redis (258 lines in a 90-s outage over four worker
    processes) and the liveness thread a warning every second. One line to alert on, a reminder a minute, one at
    the end."""
    clock = {"now": 0.0}
    outage = RedisOutage("lapor-forward", clock=lambda: clock["now"])
    for call, at in calls:
        clock["now"] = at
        if call == "lost":
            outage.lost(RedisConnectionError("Connection refused"))
        else:
            outage.back()
    assert worker_lines(log_stream) == expected
    assert all(e["queue"] == "lapor-forward" for e in log_events(log_stream) if str(e["event"]).startswith("worker."))


def test_a_redis_refusing_commands_is_logged_as_refusing_with_its_words_and_none_of_the_commands_data(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """A Redis that answers with an error (OOM at its maxmemory, READONLY after a failover) is running: logged as
    `unreachable`, the operator looked for a stopped one. redis-py words a pipeline's error with the command and its
    arguments, the citizen's words among them: the line keeps Redis's words only."""
    key = "lapor:test:refusing"
    redis.set(key, "a string")
    pipe = redis.pipeline(transaction=False)
    pipe.lpush(key, "Jalan rusak di depan rumah Pak Budi +6281234567890")  # a list command on a string: refused
    with pytest.raises(ResponseError) as refused:
        pipe.execute()
    outage = RedisOutage(FORWARD_QUEUE)
    outage.lost(refused.value)
    (line,) = [e for e in log_events(log_stream) if e.get("event") == "worker.redis_lost"]
    assert (line["reason"], line["error"]) == ("refusing", "ResponseError")
    assert str(line["detail"]).startswith("WRONGTYPE"), line
    assert "Budi" not in log_stream.getvalue() and "rusak" not in log_stream.getvalue()


def test_whether_an_outage_is_on_is_answered_on_the_thread_that_holds_the_outages_lock() -> None:
    """A stop asks it from RQ's signal handler (`stop_scheduler`), which runs on the main thread wherever that thread
    was: possibly inside `lost`, with the lock held (RQ's "could not connect" line through the outage filter, every
    2 s of a stopped Redis). Waiting for that lock there, the worker would never stop."""
    outage = RedisOutage(REPLY_QUEUE)
    outage.lost(RedisConnectionError("Connection refused"))
    answers: list[bool] = []

    def ask_holding_the_lock() -> None:
        with outage._lock:  # a signal handler runs on the thread it interrupted, the lock still held
            answers.append(outage.active)

    asker = threading.Thread(target=ask_holding_the_lock, daemon=True)
    asker.start()
    asker.join(timeout=5)
    assert answers == [True]


def test_rqs_line_at_every_try_at_a_lost_redis_becomes_one_line_with_the_first_error(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ's own loop (rq.worker) at a Redis lost for eight tries, then back: its "could not connect to Redis
    instance ... retrying" error at every try is gone, the first error is in `worker.redis_lost`, and the worker's
    next beat says Redis is back."""
    from rq.worker import base

    monkeypatch.setattr(base, "time", SimpleNamespace(sleep=lambda _: None, time=time.time, monotonic=time.monotonic))
    lost = iter([RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")] * 8)

    def dequeue_any(*_: Any, **__: Any) -> None:
        if (error := next(lost, None)) is not None:
            raise error
        time.sleep(1.5)  # Redis answers again: the liveness thread's next beat (every second) goes through

    worker = run.LaporWorker([queue(REPLY_QUEUE, redis)], connection=redis, serializer=JSONSerializer,
                             settings=test_env.settings())
    monkeypatch.setattr(worker.queue_class, "dequeue_any", staticmethod(dequeue_any))
    worker.work(burst=True, logging_level="WARNING")
    assert "could not connect" not in log_stream.getvalue()
    assert worker_lines(log_stream) == [LOST, (BACK, "info", pytest.approx(1.5, abs=1.0))]
    [first] = [e for e in log_events(log_stream) if e["event"] == "worker.redis_lost"]
    assert (first["error"], first["detail"]) == ("ConnectionError", "Error 111 connecting to 127.0.0.1:6379. "
                                                                    "Connection refused.")


def test_rqs_line_quitting_on_a_connection_that_timed_out_is_the_outage_told_once(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ's own loop (rq.worker) whose blocking dequeue ran out of time, as after a Redis that hung as long as RQ's
    socket timeout (up to about 7 minutes): its "Redis connection timeout, quitting..." error becomes the outage's
    line, reason not_answering."""
    def dequeue_any(*_: Any, **__: Any) -> None:
        raise RedisTimeoutError("Timeout reading from socket")

    worker = run.LaporWorker([queue(REPLY_QUEUE, redis)], connection=redis, serializer=JSONSerializer,
                             settings=test_env.settings())
    monkeypatch.setattr(worker.queue_class, "dequeue_any", staticmethod(dequeue_any))
    assert worker.work(burst=False, logging_level="WARNING") is False  # RQ quit its loop
    assert "Redis connection timeout" not in log_stream.getvalue()
    first = next(e for e in log_events(log_stream) if str(e["event"]).startswith("worker.redis"))
    assert (first["event"], first["level"], first["reason"]) == ("worker.redis_lost", "error", "not_answering")


def run_stopped_at_the_second_build(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                    work: Callable[[run.LaporWorker, int], bool]) -> None:
    """`run.run_worker` on lapor-status with RQ's loop replaced by `work` (given the worker and which run it is, from
    1), and a SIGTERM while the second run's worker is built: two runs, and the worker stops."""
    built: list[int] = []
    real_worker_on = run.worker_on

    def worker_on(*args: Any, **kwargs: Any) -> run.LaporWorker:
        built.append(1)
        if len(built) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # while the next worker is built
        return real_worker_on(*args, **kwargs)

    monkeypatch.setattr(SimpleWorker, "work", lambda worker, *args, **kwargs: work(worker, len(built)))
    monkeypatch.setattr(run, "worker_on", worker_on)
    monkeypatch.setattr(run, "REDIS_RETRY_SECONDS", 0.01)
    monkeypatch.setattr(run, "settle_heap", lambda: None)
    monkeypatch.setattr(run.ChildrenDieWithWorker, "register", lambda self: None)
    original = signal.getsignal(signal.SIGTERM)
    try:
        assert run.run_worker(settings, "lapor-status") is False
    finally:
        signal.signal(signal.SIGTERM, original)
        use_context(None)


def test_rq_quitting_on_an_outage_already_told_is_not_an_unasked_quit(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RQ quit its loop on a connection that timed out (a Redis that hung): the worker logged `worker.quit_unasked`,
    `rq_loop_error`, an error that sends an operator looking for a bug, beside the outage's own lines."""
    def work(worker: run.LaporWorker, run_number: int) -> bool:
        if run_number == 1:  # the second is stopped before it starts
            worker.log.error("Worker %s: Redis connection timeout, quitting...", worker.name)  # rq 2.12's words
        return False

    run_stopped_at_the_second_build(test_env.settings(**SHORT_QUIT_WAIT), monkeypatch, work)
    lines = [(e["event"], e.get("reason")) for e in log_events(log_stream) if str(e["event"]).startswith("worker.")]
    assert lines == [("worker.redis_lost", "not_answering"), ("worker.redis_back", None), ("worker.stopped", None)]


def test_rq_quitting_on_a_hang_that_ends_during_its_goodbye_is_not_an_unasked_quit(
    test_env: TestEnvironment, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RQ quits on its timed-out connection while Redis still hangs, then says goodbye on that connection, which
    waits until Redis answers again; meanwhile the liveness thread's beat has told the outage's end. Whether the quit
    was the outage's is what held when RQ's loop ended, not after its goodbye: `worker.quit_unasked` (an error that
    sends an operator looking for a bug) came after every hang that ended during it (14 to 28 minutes long)."""
    def work(worker: run.LaporWorker, run_number: int) -> bool:
        if run_number == 1:  # the second is stopped before it starts
            try:
                worker.log.error("Worker %s: Redis connection timeout, quitting...", worker.name)  # rq 2.12's words
            finally:
                worker.teardown()  # as RQ's loop ends
        return False

    # Redis answers again while RQ's goodbye waits on it; the liveness thread's beat tells it first.
    monkeypatch.setattr(run.LaporWorker, "register_death", lambda worker: worker.outage.back())
    run_stopped_at_the_second_build(test_env.settings(**SHORT_QUIT_WAIT), monkeypatch, work)
    lines = [(e["event"], e.get("reason")) for e in log_events(log_stream) if str(e["event"]).startswith("worker.")]
    assert lines == [("worker.redis_lost", "not_answering"), ("worker.redis_back", None), ("worker.stopped", None)]


def test_a_worker_process_logs_a_real_redis_outage_once_and_its_end(
    tmp_path: Path, start_process: Callable[..., ProcessHandle]
) -> None:
    """The drill: Redis stopped under a live worker and started again. Before, each second of it was an error line
    from RQ's loop and a warning from the liveness thread."""
    own = EmbeddedRedis(tmp_path / "redis").start()
    try:
        worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own.url)
        wait_until(lambda: '"worker.ready"' in worker.output(), timeout=30)
        watching = redis_connection(own.url)
        try:  # live: waiting for jobs in RQ's loop
            wait_until(lambda: _blocked_in_dequeue(watching, REPLY_QUEUE), timeout=30)
        finally:
            watching.close()
        own.stop()
        time.sleep(6)
        own = EmbeddedRedis(tmp_path / "redis", port=own.port).start()
        wait_until(lambda: '"worker.redis_back"' in worker.output(), timeout=20)
        worker.stop()
    finally:
        own.stop()
    output = worker.output()
    assert "could not connect to Redis" not in output and "liveness_failed" not in output
    events = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [(e["event"], e["level"]) for e in events if str(e["event"]).startswith("worker.redis")] == [
        ("worker.redis_lost", "error"), ("worker.redis_back", "info")]
    assert next(e["outage_seconds"] for e in events if e["event"] == "worker.redis_back") >= 5


def test_a_run_that_redis_ended_leaves_no_pubsub_thread_behind(tmp_path: Path, test_env: TestEnvironment) -> None:
    """RQ stops its command channel's thread last in its goodbye, after unregistering the worker on Redis: a run that
    Redis ended (RQ quits its loop and its goodbye raises) left that thread running for good, holding a connection,
    and logging RQ's "could not connect to Redis instance" at error level every 2 s while Redis stayed away (outside
    the run, no outage filter took it): one more thread, connection and flood after each outage. Here the job kills
    Redis, as a Redis that died under a running job."""
    own = EmbeddedRedis(tmp_path / "redis").start()
    try:
        settings = test_env.settings(REDIS_URL=own.url)
        redis = redis_connection(own.url)
        enqueue_calls(redis, settings, REPLY_QUEUE, "os.kill", [(own.pid, int(signal.SIGKILL))], retry=False)
        worker = run.LaporWorker([queue(REPLY_QUEUE, redis)], connection=redis, serializer=JSONSerializer,
                                 settings=settings)
        with pytest.raises(RedisError):  # RQ's goodbye met the Redis its job killed
            worker.work(burst=True, logging_level="WARNING")
        thread = worker.pubsub_thread
        assert thread is not None
        wait_until(lambda: not thread.is_alive(), timeout=5)
    finally:
        own.stop()


def test_sigterm_between_two_tries_during_an_outage_stops_the_worker(
    test_env: TestEnvironment, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis stays away; SIGTERM comes while the worker waits to try again (RQ's handlers belong to the run that
    quit): the worker stops, says so, and leaves the process's own handlers as they were."""
    def work(worker: run.LaporWorker, *args: Any, **kwargs: Any) -> bool:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(SimpleWorker, "work", work)
    monkeypatch.setattr(run, "REDIS_RETRY_SECONDS", 30.0)
    monkeypatch.setattr(run, "settle_heap", lambda: None)
    monkeypatch.setattr(run.ChildrenDieWithWorker, "register", lambda self: None)
    reached_the_test: list[int] = []  # SIGTERM here would mean the worker's own handler was not in place

    def recorder(signum: int, _: object) -> None:
        reached_the_test.append(signum)

    original = signal.signal(signal.SIGTERM, recorder)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        started = time.monotonic()
        assert run.run_worker(test_env.settings(), "lapor-status") is False
        elapsed = time.monotonic() - started
        own = signal.getsignal(signal.SIGTERM)
    finally:
        timer.cancel()
        timer.join()  # a timer already firing is not stopped by cancel: let it land on the recorder
        signal.signal(signal.SIGTERM, original)
        use_context(None)
    assert elapsed < 10 and reached_the_test == []
    assert own is recorder  # put back by the worker
    events = [event["event"] for event in log_events(log_stream) if str(event["event"]).startswith("worker.")]
    assert events == ["worker.redis_lost", "worker.stopped"]


def test_a_worker_is_registered_and_alive_when_it_says_it_is_ready(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`worker.ready` was said before RQ's loop registered the worker and its liveness key was set: the views,
    read at that word, counted the queue's worker missing (a CI failure). The status views must count it live
    when it says so."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    live_at_ready: list[int] = []
    module_log = run.log

    class Watched:
        """The worker module's logger, reading the views at the word `worker.ready`."""

        def __getattr__(self, name: str) -> Any:
            return getattr(module_log, name)

        def info(self, event: str, **fields: Any) -> None:
            if event == "worker.ready":
                live_at_ready.append(monitor.live_workers()["lapor-status"])
            module_log.info(event, **fields)

    monkeypatch.setattr(run, "log", Watched())
    handlers = {signum: signal.getsignal(signum) for signum in run.STOP_SIGNALS}
    context = WorkerContext.build(test_env.settings())
    try:
        run.worker_on(context, "lapor-status").work(burst=True, logging_level="WARNING")
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        context.close()
    assert live_at_ready == [1]


def test_a_run_that_starts_after_a_stop_ends_at_once(test_env: TestEnvironment, redis: Redis) -> None:
    """A stop that came while the next worker was being built: that worker's real RQ loop must not start waiting
    for jobs (a blocking dequeue of minutes) but end at once."""
    stop = run.StopRequest()
    stop.ask()
    handlers = {signum: signal.getsignal(signum) for signum in run.STOP_SIGNALS}
    context = WorkerContext.build(test_env.settings())
    try:
        worker = run.worker_on(context, "lapor-status", stop)
        started = time.monotonic()
        worker.work(burst=False, logging_level="WARNING", max_idle_time=30)  # without the fix: 30 s, not minutes
        assert time.monotonic() - started < 10
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        context.close()


def test_sigterm_while_the_next_worker_is_built_stops_it_cleanly(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RQ's run leaves its signal handlers behind, bound to its worker. A SIGTERM after that run quit and before the
    next one starts must not reach them (they would raise RQ's StopRequested out of nowhere, or record the stop on
    a worker nobody reads): it stops the worker."""
    runs: list[run.LaporWorker] = []

    def work(worker: run.LaporWorker, _: int) -> bool:
        runs.append(worker)
        signal.signal(signal.SIGTERM, worker.request_stop)  # as RQ's work() does, and leaves
        return False  # the first run quit on an error, unasked

    run_stopped_at_the_second_build(test_env.settings(**SHORT_QUIT_WAIT), monkeypatch, work)
    assert len(runs) == 2  # the run that started after the stop (RQ's loop would end at once: see the next test)
    events = [event["event"] for event in log_events(log_stream) if str(event["event"]).startswith("worker.")]
    assert events == ["worker.quit_unasked", "worker.stopped"]


def test_a_stop_reaching_a_finished_runs_handler_during_its_teardown_stops_the_worker(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RQ's handler of a run that is tearing down (idle) raises its StopRequested: the worker stops, quietly."""
    def work(worker: run.LaporWorker, *args: Any, **kwargs: Any) -> bool:
        worker.request_stop(signal.SIGTERM, None)  # what RQ's handler does when SIGTERM comes in its teardown
        return True

    monkeypatch.setattr(SimpleWorker, "work", work)
    monkeypatch.setattr(run, "settle_heap", lambda: None)
    monkeypatch.setattr(run.ChildrenDieWithWorker, "register", lambda self: None)
    handlers = {signum: signal.getsignal(signum) for signum in run.STOP_SIGNALS}
    try:
        assert run.run_worker(test_env.settings(), "lapor-status") is False
    finally:
        use_context(None)
    assert {signum: signal.getsignal(signum) for signum in run.STOP_SIGNALS} == handlers
    events = [event["event"] for event in log_events(log_stream) if str(event["event"]).startswith("worker.")]
    assert events == ["worker.stopped"]


def test_a_worker_stopped_while_it_waits_for_jobs_says_so(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The usual stop: SIGTERM (or make run's Ctrl-C) while RQ's loop waits for jobs ends that loop. The worker said
    `worker.stopped` only when the stop came between two runs or in a run's teardown, so after a clean stop of
    `make run` or a systemd unit no worker's log said it had stopped."""
    def work(worker: run.LaporWorker, *args: Any, **kwargs: Any) -> bool:
        worker.stop.ask()  # what the worker's handler does with the SIGTERM that ends RQ's loop
        return True

    monkeypatch.setattr(SimpleWorker, "work", work)
    monkeypatch.setattr(run, "settle_heap", lambda: None)
    monkeypatch.setattr(run.ChildrenDieWithWorker, "register", lambda self: None)
    try:
        assert run.run_worker(test_env.settings(), "lapor-status") is True
    finally:
        use_context(None)
    events = [(event["event"], event.get("queue")) for event in log_events(log_stream)
              if str(event["event"]).startswith("worker.")]
    assert events == [("worker.stopped", "lapor-status")]
