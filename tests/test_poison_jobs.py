"""A job that kills every worker that runs it (an out-of-memory on a batch of huge e-mails, a native crash) must not
stall its queue: after `queues.max_worker_deaths` reaps a forward job of several reports is split in halves and any
other job is dead-lettered as worker_died, requeueable by an operator with a fresh count."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError
from rq.executions import Execution
from rq.job import Job

from gateway.outbound import REPLY_FUNC, STATUS_FUNC, OutboundReplies, reply_key
from gateway.queues import FORWARD_FUNC, FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE, enqueue_calls, envelope_key, queue
from gateway.replies import render
from gateway.settings import Settings
from tests.aggregator_support import aggregator_api, drain
from tests.cli_process import run_cli
from tests.conftest import REPO_ROOT, ProcessHandle, TestEnvironment, log_events, wait_ready, wait_until
from workers import reaper
from workers.deadletters import DeadLetters
from workers.reaper import ALIVE_KEY, REAPS_META, reap_abandoned, reap_count

DEAD_WORKER = "lapor-ghost-1-dead00"
LIVE_WORKER = "lapor-ghost-2-live00"
KILLER_FUNC = "tests.poison_support.kill_my_worker"


def started_by(redis: Redis, settings: Settings, queue_name: str, func: str, args: tuple[Any, ...],
               worker: str = DEAD_WORKER, **meta: Any) -> Job:
    """A real job, taken off its queue and started as `worker` would (started registry, execution, status)."""
    job = enqueue_calls(redis, settings, queue_name, func, [args])[0]
    target = queue(queue_name, redis)
    target.remove(job)
    if meta:
        job.meta.update(meta)
        job.save_meta()
    with redis.pipeline() as pipe:
        job.prepare_for_execution(worker, pipe)
        Execution.create(job, ttl=600, pipeline=pipe, worker_name=worker)
        pipe.execute()
    return job


def reply_args(reply_id: str = "r1", tracking_id: str = "10000011") -> tuple[Any, ...]:
    return ({"reply_id": reply_id, "source": "sms-aggregator", "kind": "ack", "text": "Laporan diterima",
             "language": "id", "tracking_id": tracking_id, "to": None, "to_report": tracking_id},)


def status_args() -> tuple[Any, ...]:
    return ({"tracking_id": "10000029", "source": "sms-aggregator", "to": "+6281234567890", "language": "id"},)


def forward_args(count: int) -> tuple[Any, ...]:
    return ([f"1000{index:03d}9" for index in range(count)],)


@dataclass
class Case:
    id: str
    queue: str
    func: str
    args: tuple[Any, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    worker: str = DEAD_WORKER
    # What the queue holds afterwards: each job's args and reap count, front first.
    queued: list[tuple[tuple[Any, ...], int]] = field(default_factory=list)
    # Dead letters afterwards: (tracking_id, args).
    letters: list[tuple[str, list[Any]]] = field(default_factory=list)
    poisoned: bool = False


CASES = [
    Case("reply-first-death-requeued-at-the-front", REPLY_QUEUE, REPLY_FUNC, reply_args(),
         queued=[(reply_args(), 1)]),
    Case("reply-second-death-requeued", REPLY_QUEUE, REPLY_FUNC, reply_args(), meta={REAPS_META: 1},
         queued=[(reply_args(), 2)]),
    Case("reply-third-death-dead-lettered", REPLY_QUEUE, REPLY_FUNC, reply_args(), meta={REAPS_META: 2},
         letters=[("10000011", list(reply_args()))], poisoned=True),
    Case("status-third-death-dead-lettered", STATUS_QUEUE, STATUS_FUNC, status_args(), meta={REAPS_META: 2},
         letters=[("10000029", list(status_args()))], poisoned=True),
    Case("status-without-a-number-dead-lettered-whole", STATUS_QUEUE, STATUS_FUNC,
         ({"tracking_id": "10000029", "source": "sms-aggregator"},), meta={REAPS_META: 2},
         letters=[("10000029", [{"tracking_id": "10000029", "source": "sms-aggregator"}])], poisoned=True),
    Case("forward-of-five-second-death-requeued-whole", FORWARD_QUEUE, FORWARD_FUNC, forward_args(5),
         meta={REAPS_META: 1}, queued=[(forward_args(5), 2)]),
    Case("forward-of-five-third-death-split-in-halves", FORWARD_QUEUE, FORWARD_FUNC, forward_args(5),
         meta={REAPS_META: 2},
         queued=[((forward_args(5)[0][:2],), 0), ((forward_args(5)[0][2:],), 0)], poisoned=True),
    Case("forward-of-one-third-death-dead-lettered", FORWARD_QUEUE, FORWARD_FUNC, forward_args(1),
         meta={REAPS_META: 2}, letters=[("10000009", [["10000009"]])], poisoned=True),
    Case("forward-with-all-but-one-done-dead-letters-that-one", FORWARD_QUEUE, FORWARD_FUNC, forward_args(3),
         meta={REAPS_META: 2, "done": ["10000009", "10000019"]}, letters=[("10000029", [["10000029"]])],
         poisoned=True),
    Case("a-live-worker-keeps-its-job", REPLY_QUEUE, REPLY_FUNC, reply_args(), meta={REAPS_META: 2},
         worker=LIVE_WORKER),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_job_whose_worker_died_is_requeued_until_the_limit_then_split_or_dead_lettered(
    case: Case, redis: Redis, settings: Settings, log_stream: io.StringIO,
) -> None:
    assert settings.queues.max_worker_deaths == 3
    redis.set(ALIVE_KEY.format(name=LIVE_WORKER), "1", ex=60)
    redis.set(envelope_key("10000009"), orjson.dumps({"tracking_id": "10000009", "source": "email"}))
    earlier = queue(case.queue, redis).enqueue_call(func=case.func, args=("another job, queued earlier",))
    job = started_by(redis, settings, case.queue, case.func, case.args, worker=case.worker, **case.meta)

    reaped = reap_abandoned(redis, [case.queue], settings)

    target = queue(case.queue, redis)
    started = target.started_job_registry.get_job_ids(cleanup=False)
    if case.worker == LIVE_WORKER:
        assert (reaped, started) == ([], [job.id])
        return
    assert reaped == [job.id]
    assert started == []
    jobs = target.get_jobs()
    waiting = [(tuple(j.args), reap_count(j)) for j in jobs if j.id != earlier.id]
    assert waiting == case.queued
    if case.queued and not case.poisoned:
        assert jobs[0].id == job.id  # at the front, as before
    letters = DeadLetters(redis).list()
    assert [(letter.tracking_id, letter.args) for letter in letters] == case.letters
    for letter in letters:
        assert (letter.queue, letter.func, letter.reason, letter.job_id) == (case.queue, case.func, "worker_died",
                                                                             job.id)  # `show` names the job
        assert "3 times" in letter.detail
    events = [e for e in log_events(log_stream) if e.get("event") == "worker.job_poisoned"]
    assert len(events) == int(case.poisoned)
    # Its lines name the channel a reply or status job serves, as its dead letter does; a forward's batch, none.
    lines = [e for e in log_events(log_stream) if e.get("event") in ("worker.job_reaped", "worker.job_poisoned")]
    assert lines and {e.get("channel") for e in lines} == {None if case.queue == FORWARD_QUEUE else "sms-aggregator"}
    if case.poisoned:
        assert events[0]["level"] == "warning"
        assert events[0]["reaps"] == 3
        assert not redis.exists(job.key)  # replaced, never run whole again


def test_the_dead_letter_of_a_forward_names_its_reports_channel(redis: Redis, settings: Settings) -> None:
    redis.set(envelope_key("10000009"), orjson.dumps({"tracking_id": "10000009", "source": "email"}))
    started_by(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, forward_args(1), **{REAPS_META: 2})
    reap_abandoned(redis, [FORWARD_QUEUE], settings)
    letter = DeadLetters(redis).get(f"{FORWARD_QUEUE}:10000009")
    assert letter is not None
    assert (letter.channel, letter.attempts) == ("email", 3)


def test_a_reply_given_up_says_so_on_its_record(redis: Redis, settings: Settings) -> None:
    redis.hset(reply_key("r1"), mapping={"state": "queued"})
    started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args(), **{REAPS_META: 2})
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert redis.hget(reply_key("r1"), "state") == b"dead_lettered"
    assert redis.hget(reply_key("r1"), "last_error") == b"worker_died"


def test_a_reply_given_up_after_its_record_expired_writes_a_record_that_expires(
    redis: Redis, settings: Settings,
) -> None:
    started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args(), **{REAPS_META: 2})  # no record: expired
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert redis.hget(reply_key("r1"), "state") == b"dead_lettered"
    assert 0 < redis.ttl(reply_key("r1")) <= settings.intake.envelope_ttl_seconds


def test_a_status_query_given_up_by_the_reaper_is_answered_as_one_whose_retries_ran_out(
    redis: Redis, test_env: TestEnvironment,
) -> None:
    """The citizen was told at once that the answer follows: a status job that takes its workers down must not end in
    silence but in the same "cannot be checked now, send CEK later" SMS as a status job whose retries ran out."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0,0")  # no case store listens: retries run out at once
    started_by(redis, settings, STATUS_QUEUE, STATUS_FUNC, status_args(), **{REAPS_META: 2})
    reap_abandoned(redis, [STATUS_QUEUE], settings)
    enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [status_args()])
    drain(settings, (STATUS_QUEUE,))

    replies = [job.args[0] for job in queue(REPLY_QUEUE, redis).get_jobs()]
    assert len(replies) == 2, replies
    expected = {"source": "sms-aggregator", "kind": "status", "text": render("status_retry", "id",
                                                                              tracking_id="10000029"),
                "language": "id", "tracking_id": "10000029", "to": "+6281234567890", "to_report": None}
    assert [{name: value for name, value in reply.items() if name != "reply_id"} for reply in replies] == [expected] * 2
    assert all(redis.hget(reply_key(reply["reply_id"]), "state") == b"queued" for reply in replies)
    letters = DeadLetters(redis).list()
    assert sorted(letter.reason for letter in letters) == ["casestore_unreachable", "worker_died"]
    assert {(letter.queue, letter.func, letter.tracking_id, letter.channel) for letter in letters} == {
        (STATUS_QUEUE, STATUS_FUNC, "10000029", "sms-aggregator")}


@pytest.mark.parametrize(("timeout", "ttl", "refused"), [("1", "2", False), ("2", "2", True), ("3", "2", True),
                                                         ("6", "10", False), ("5", "5", True)])
def test_a_liveness_timeout_not_below_the_liveness_keys_lifetime_is_refused(
        timeout: str, ttl: str, refused: bool) -> None:
    """A worker whose beat may wait longer than its liveness key lives is taken for dead by the other workers."""
    from gateway.settings import SettingsError, load_settings
    from tests.test_settings import PRODUCTION_SECRETS

    env = {**PRODUCTION_SECRETS, "LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS": timeout,
           "LAPOR_QUEUES_LIVENESS_TTL_SECONDS": ttl}
    if refused:
        with pytest.raises(SettingsError, match=r"queues\.liveness_timeout_seconds .* is not below "
                                                r"queues\.liveness_ttl_seconds"):
            load_settings(env)
    else:
        assert load_settings(env).queues.liveness_ttl_seconds == float(ttl)


def test_the_limit_is_a_setting(redis: Redis, test_env: TestEnvironment) -> None:
    settings = test_env.settings(LAPOR_QUEUES_MAX_WORKER_DEATHS="1")
    started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args())
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert [letter.reason for letter in DeadLetters(redis).list()] == ["worker_died"]


def test_a_requeued_dead_letter_starts_a_fresh_count(
    redis: Redis, settings: Settings, test_env: TestEnvironment,
) -> None:
    started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args(), **{REAPS_META: 2})
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert DeadLetters(redis).count() == 1

    result = run_cli(["deadletters", "requeue", "10000011"], test_env.process_env(COLUMNS="200"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert DeadLetters(redis).count() == 0
    [requeued] = queue(REPLY_QUEUE, redis).get_jobs()
    assert (requeued.func_name, list(requeued.args), reap_count(requeued)) == (REPLY_FUNC, list(reply_args()), 0)

    # It kills a worker again: requeued, as any job on its first death.
    queue(REPLY_QUEUE, redis).remove(requeued)
    with redis.pipeline() as pipe:
        requeued.prepare_for_execution(DEAD_WORKER, pipe)
        Execution.create(requeued, ttl=600, pipeline=pipe, worker_name=DEAD_WORKER)
        pipe.execute()
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert [reap_count(job) for job in queue(REPLY_QUEUE, redis).get_jobs()] == [1]
    assert DeadLetters(redis).count() == 0


def test_a_job_that_kills_every_worker_is_dead_lettered_and_the_queue_moves_on(
    start_process: Callable[..., ProcessHandle], redis: Redis, settings: Settings,
) -> None:
    """Real worker processes on the reply queue; the job SIGKILLs each one that runs it. After two deaths
    (LAPOR_QUEUES_MAX_WORKER_DEATHS=2) the next worker's reaper dead-letters it, and that worker goes on with the
    next job. Each death is found once the dead worker's liveness key lapsed and the next worker's reaper beat for as
    long: 2 s here (`queues.liveness_ttl_seconds`, 5 s), where each death cost 5 s."""
    limit = 2
    poison = enqueue_calls(redis, settings, REPLY_QUEUE, KILLER_FUNC, [("boom",)])[0]
    env = {"LAPOR_QUEUES_MAX_WORKER_DEATHS": str(limit), "PYTHONPATH": str(REPO_ROOT),
           "LAPOR_QUEUES_LIVENESS_TTL_SECONDS": "2", "LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS": "1"}
    started = time.monotonic()
    workers: list[ProcessHandle] = []
    deadline = started + 60
    while DeadLetters(redis).count() == 0 and time.monotonic() < deadline:
        if not workers or workers[-1].process.poll() is not None:  # one worker at a time: each takes the job
            workers.append(start_process("worker", "--queues", REPLY_QUEUE, **env))
        time.sleep(0.2)
    died = [handle for handle in workers if handle.process.poll() is not None]
    target = queue(REPLY_QUEUE, redis)
    assert len(died) == limit, (target.get_job_ids(), target.started_job_registry.get_job_ids(cleanup=False),
                                poison.get_meta(refresh=True), [handle.output()[-1500:] for handle in workers])
    [letter] = DeadLetters(redis).list()
    assert (letter.queue, letter.func, letter.args, letter.reason) == (REPLY_QUEUE, KILLER_FUNC, ["boom"],
                                                                       "worker_died")
    assert f"{limit} times" in letter.detail
    survivor = workers[-1]
    after = queue(REPLY_QUEUE, redis).enqueue_call(func="builtins.len", args=("the next reply",))
    wait_until(lambda: after.get_status(refresh=True) == "finished", timeout=15)
    assert survivor.process.poll() is None
    # The survivor's liveness key (the dead workers' lapsed before their jobs were reaped) lives as long as set.
    lifetimes = [redis.pttl(key) for key in redis.scan_iter(ALIVE_KEY.format(name="*"))]
    assert lifetimes and all(0 < lifetime <= 2000 for lifetime in lifetimes), lifetimes
    assert "worker.job_poisoned" in survivor.output()
    assert not redis.exists(poison.key)
    print(f"\nfigures[poison]: dead-lettered after {limit} worker deaths, {time.monotonic() - started:.1f} s")


def test_a_job_whose_first_worker_died_minutes_ago_is_still_given_up(redis: Redis, settings: Settings) -> None:
    """The execution RQ recorded for the first dead worker outlives its hash (90 s) in the job's index (150 s):
    the reaper must not trip on it when the last death comes in between."""
    job = started_by(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, forward_args(1), **{REAPS_META: 2})
    with redis.pipeline() as pipe:
        first = Execution.create(job, ttl=600, pipeline=pipe, worker_name="lapor-ghost-0-first0")
        pipe.execute()
    redis.zrem(job.started_job_registry.key, first.composite_key)  # reaped back then
    redis.delete(first.key)  # its hash expired since

    assert reap_abandoned(redis, [FORWARD_QUEUE], settings) == [job.id]
    assert [letter.reason for letter in DeadLetters(redis).list()] == ["worker_died"]
    assert queue(FORWARD_QUEUE, redis).started_job_registry.get_job_ids(cleanup=False) == []
    assert not redis.exists(job.key)


def test_a_job_back_on_the_intermediate_list_is_not_taken_for_stranded_by_an_old_sighting(
    redis: Redis, settings: Settings
) -> None:
    """A reaper pass that saw a job on the intermediate list in the milliseconds before a live worker started it
    must forget that sighting: the same job id back on the list later (RQ's retry reuses it) would otherwise be
    requeued at once while a worker starts it, and a reply would be sent twice."""
    from workers.reaper import INTERMEDIATE_SEEN

    (job,) = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [reply_args()])
    target = queue(REPLY_QUEUE, redis)
    redis.lrem(target.key, 0, job.id)
    redis.rpush(target.intermediate_queue_key, job.id)  # a worker is about to start it
    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == []  # first sighting: noted
    redis.hset(INTERMEDIATE_SEEN, f"{REPLY_QUEUE}:{job.id}", time.time() - 60)  # ... a minute ago
    redis.lrem(target.intermediate_queue_key, 0, job.id)  # it started, and later failed for a retry
    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == []
    redis.rpush(target.intermediate_queue_key, job.id)  # the retry: a live worker is starting it again
    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == []  # a first sighting again, not "stranded a minute"
    assert redis.lrange(target.intermediate_queue_key, 0, -1) == [job.id.encode()]


def test_a_reaper_on_a_host_whose_clock_runs_ahead_does_not_take_a_job_just_seen_for_stranded(
    redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sighting on the intermediate list was timed by each host's own clock: a reaper on a host half a minute ahead
    of the one that saw the job took it for stranded at its next beat, a second later, and a worker slowed for that
    second ran it beside the requeued copy (a reply sent twice). Both are timed by Redis's clock."""
    from workers import reaper

    (job,) = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [reply_args()])
    target = queue(REPLY_QUEUE, redis)
    redis.lrem(target.key, 0, job.id)
    redis.rpush(target.intermediate_queue_key, job.id)  # a worker, slowed, is about to start it
    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == []  # seen by a host on time
    monkeypatch.setattr(reaper, "time", SimpleNamespace(time=lambda: time.time() + 30, monotonic=time.monotonic))
    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == []  # a host 30 s ahead, a beat later
    assert redis.lrange(target.intermediate_queue_key, 0, -1) == [job.id.encode()]
    assert redis.lrange(target.key, 0, -1) == []


# A job id that is not UTF-8, as a hand edit or another client may leave one: RQ reads ids as UTF-8.
NOT_UTF8 = b"\xff\xfe-not-a-job"
NUMBER = "+6281234567801"


def rejections(stream: io.StringIO) -> list[tuple[object, ...]]:
    return [(e["queue"], e["job_id"], e["error"], e["found"], e["level"]) for e in log_events(stream)
            if e.get("event") == "worker.job_id_rejected"]


@pytest.mark.parametrize(
    ("where", "queues"),
    [
        pytest.param("queue", (REPLY_QUEUE,), id="on-the-queue"),
        pytest.param("queue", (REPLY_QUEUE, STATUS_QUEUE), id="on-the-queue-drained-with-another"),
        pytest.param("intermediate", (REPLY_QUEUE,), id="left-on-the-intermediate-list-by-an-earlier-dequeue"),
    ],
)
def test_a_job_id_that_is_not_utf8_is_rejected_and_the_jobs_behind_it_run(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, where: str, queues: tuple[str, ...],
) -> None:
    """RQ's dequeue moved the id to the intermediate list and raised UnicodeDecodeError out of the worker's loop; the
    worker began again a second later, and RQ's maintenance of that list raised too: the jobs behind it waited on
    restarts. It is taken off its list and logged, and the worker goes on."""
    settings = test_env.settings()
    target = queue(REPLY_QUEUE, redis)
    redis.rpush(target.key if where == "queue" else target.intermediate_queue_key, NOT_UTF8)
    OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="ack", text="Laporan diterima",
                                                 language="id", tracking_id="10000029", to=NUMBER)
    for api in aggregator_api():
        drain(settings, queues)
        assert api.texts_to(NUMBER) == ["Laporan diterima"]
    assert redis.lrange(target.key, 0, -1) == redis.lrange(target.intermediate_queue_key, 0, -1) == []
    assert rejections(log_stream) == [(REPLY_QUEUE, "\\xff\\xfe-not-a-job", "UnreadableJobId", where, "error")]


def test_a_worker_waiting_on_its_queue_rejects_a_job_id_that_is_not_utf8_and_goes_on(
    test_env: TestEnvironment, redis: Redis, start_process: Callable[..., ProcessHandle],
) -> None:
    """The same for a worker process blocked on its queue (BLMOVE): it restarted its loop (`worker.quit_unasked`)
    again and again, where it now ends the wait as RQ's own timeout does, and waits again."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")  # the reply fails for good at once: no aggregator
    worker = wait_ready(start_process("worker", "--queues", REPLY_QUEUE), queues=1)
    redis.rpush(queue(REPLY_QUEUE, redis).key, NOT_UTF8)
    wait_until(lambda: "worker.job_id_rejected" in worker.output())
    OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="ack", text="Laporan diterima",
                                                 language="id", tracking_id="10000029", to=NUMBER)
    wait_until(lambda: DeadLetters(redis).count() == 1, timeout=20)  # the reply ran (and met no aggregator)
    assert "worker.quit_unasked" not in worker.output() and "UnicodeDecodeError" not in worker.output()
    assert worker.process.poll() is None


def test_a_job_id_that_is_not_utf8_on_the_intermediate_list_is_rejected_and_the_reaper_goes_on(
    redis: Redis, settings: Settings, log_stream: io.StringIO,
) -> None:
    """Every reaper pass raised on it (`worker.reaper_failed` each second), and no stranded job was requeued again."""
    from workers.reaper import INTERMEDIATE_SEEN

    (stranded,) = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [reply_args()])
    target = queue(REPLY_QUEUE, redis)
    redis.lrem(target.key, 0, stranded.id)
    redis.rpush(target.intermediate_queue_key, NOT_UTF8, stranded.id)
    redis.hset(INTERMEDIATE_SEEN, f"{REPLY_QUEUE}:{stranded.id}", time.time() - 60)

    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == [stranded.id]

    assert target.get_job_ids() == [stranded.id]
    assert redis.lrange(target.intermediate_queue_key, 0, -1) == []
    assert rejections(log_stream) == [(REPLY_QUEUE, "\\xff\\xfe-not-a-job", "UnreadableJobId", "intermediate",
                                       "error")]


@pytest.mark.parametrize(
    ("damage", "reaps"),
    [
        pytest.param({"data": b"not the JSON of a call"}, 2, id="data-not-json-given-up"),
        pytest.param({"data": b'{"func": "workers.reply.send_reply"}'}, 2, id="data-not-a-call-given-up"),
        pytest.param({"status": b"exploded"}, 0, id="status-unknown"),
        pytest.param({"created_at": b"yesterday"}, 0, id="created-at-not-a-date"),
        pytest.param({"dependency_ids": b"[not json"}, 0, id="dependencies-not-json"),
    ],
)
def test_a_dead_workers_job_that_cannot_be_read_is_set_aside_and_the_reaper_goes_on(
    redis: Redis, settings: Settings, log_stream: io.StringIO, damage: dict[str, bytes], reaps: int,
) -> None:
    """A job hash that cannot be read (written by hand, by another version, damaged) made every reaper pass raise
    before the jobs after it: each beat logged `worker.reaper_failed`, and no dead worker's job on that queue or the
    queues after it was requeued again. It goes to RQ's failed registry, as a job a worker cannot read does."""
    damaged = started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args("r-damaged"), **{REAPS_META: reaps})
    redis.hset(damaged.key, mapping=damage)
    same_queue = started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args("r-after"))
    next_queue = started_by(redis, settings, STATUS_QUEUE, STATUS_FUNC, status_args())

    reaped = reap_abandoned(redis, [REPLY_QUEUE, STATUS_QUEUE], settings)

    assert reaped == [same_queue.id, next_queue.id]
    replies, statuses = queue(REPLY_QUEUE, redis), queue(STATUS_QUEUE, redis)
    assert (replies.get_job_ids(), statuses.get_job_ids()) == ([same_queue.id], [next_queue.id])
    assert replies.started_job_registry.get_job_ids(cleanup=False) == []
    assert replies.failed_job_registry.get_job_ids() == [damaged.id]
    assert redis.hget(damaged.key, "status") == b"failed"
    assert DeadLetters(redis).count() == 0
    unreadable = [e for e in log_events(log_stream) if e.get("event") == "worker.reap_job_unreadable"]
    assert [(e["job_id"], e["queue"], e["level"]) for e in unreadable] == [(damaged.id, REPLY_QUEUE, "error")]
    assert reap_abandoned(redis, [REPLY_QUEUE, STATUS_QUEUE], settings) == []  # set aside once, not at every pass


def test_a_dead_workers_job_the_reaper_fails_on_is_left_and_the_others_are_reaped(
    redis: Redis, settings: Settings, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure of the reaper's own on one job (a bug) is that job's: logged with its id, the job left where it is for
    the next pass (or RQ's own clean-up), every other job reaped."""
    failing = started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args("r-failing"))
    same_queue = started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args("r-after"))
    next_queue = started_by(redis, settings, STATUS_QUEUE, STATUS_FUNC, status_args())
    handle = reaper._after_worker_died

    def after_worker_died(*args: Any) -> None:
        if args[3].id == failing.id:
            raise TypeError("a bug")
        handle(*args)

    monkeypatch.setattr(reaper, "_after_worker_died", after_worker_died)
    assert reap_abandoned(redis, [REPLY_QUEUE, STATUS_QUEUE], settings) == [same_queue.id, next_queue.id]
    assert queue(REPLY_QUEUE, redis).started_job_registry.get_job_ids(cleanup=False) == [failing.id]
    failed = [e for e in log_events(log_stream) if e.get("event") == "worker.reap_job_failed"]
    assert [(e["job_id"], e["queue"], e["error"], e["level"]) for e in failed] == [
        (failing.id, REPLY_QUEUE, "TypeError", "error")]


def test_a_stranded_job_that_cannot_be_read_is_set_aside_and_the_reaper_goes_on(
    redis: Redis, settings: Settings, log_stream: io.StringIO,
) -> None:
    """The same for a job a dead worker left on the intermediate list."""
    from workers.reaper import INTERMEDIATE_SEEN

    damaged, stranded = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC,
                                      [reply_args("r-damaged"), reply_args("r-stranded")])
    (other,) = enqueue_calls(redis, settings, STATUS_QUEUE, STATUS_FUNC, [status_args()])
    redis.hset(damaged.key, "status", "exploded")
    for job, name in ((damaged, REPLY_QUEUE), (stranded, REPLY_QUEUE), (other, STATUS_QUEUE)):
        target = queue(name, redis)
        redis.lrem(target.key, 0, job.id)
        redis.rpush(target.intermediate_queue_key, job.id)
        redis.hset(INTERMEDIATE_SEEN, f"{name}:{job.id}", time.time() - 60)

    reaped = reap_abandoned(redis, [REPLY_QUEUE, STATUS_QUEUE], settings)

    assert reaped == [stranded.id, other.id]
    replies = queue(REPLY_QUEUE, redis)
    assert (replies.get_job_ids(), queue(STATUS_QUEUE, redis).get_job_ids()) == ([stranded.id], [other.id])
    assert redis.lrange(replies.intermediate_queue_key, 0, -1) == []
    assert replies.failed_job_registry.get_job_ids() == [damaged.id]
    assert not redis.hexists(INTERMEDIATE_SEEN, f"{REPLY_QUEUE}:{damaged.id}")
    unreadable = [e for e in log_events(log_stream) if e.get("event") == "worker.reap_job_unreadable"]
    assert [(e["job_id"], e["queue"]) for e in unreadable] == [(damaged.id, REPLY_QUEUE)]


def test_a_reaper_pass_that_outlasts_its_lock_leaves_the_next_reapers_lock(
    redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lock lives 5 s; a pass that takes longer (a slow Redis, a long registry) found another reaper holding it
    when it ended, and deleted it: a third reaper then ran beside the second."""
    others = []
    reap_one_queue = reaper._reap_intermediate

    def slow_pass(redis_: Redis, target: Any) -> list[str]:
        redis.delete(reaper.REAPER_LOCK)  # ... the lock lapsed meanwhile,
        assert redis.set(reaper.REAPER_LOCK, "another-reaper", nx=True, ex=5)  # and another reaper took it
        others.append(reap_abandoned(redis, [REPLY_QUEUE], settings))  # which runs beside nobody
        return reap_one_queue(redis_, target)

    monkeypatch.setattr(reaper, "_reap_intermediate", slow_pass)
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert others == [[]]  # the third found the lock held
    assert redis.get(reaper.REAPER_LOCK) == b"another-reaper"
    monkeypatch.setattr(reaper, "_reap_intermediate", reap_one_queue)
    redis.delete(reaper.REAPER_LOCK)
    reap_abandoned(redis, [REPLY_QUEUE], settings)
    assert not redis.exists(reaper.REAPER_LOCK)  # its own lock, released at the end of its pass


@pytest.mark.parametrize(
    ("error", "event", "level"),
    [
        pytest.param(WatchError("the keys kept changing"), "worker.reap_contended", "info", id="contended"),
        pytest.param(RedisConnectionError("Connection refused"), "worker.redis_lost", "error", id="redis-down"),
        pytest.param(ValueError("a bug"), "worker.reaper_failed", "error", id="reaper-bug"),
    ],
)
def test_a_failing_reaper_pass_is_logged_for_what_it_was_and_the_worker_stays_alive(
    redis: Redis, settings: Settings, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
    error: Exception, event: str, level: str,
) -> None:
    """Reapers of several workers racing for the same stranded jobs is no outage: an operator reading
    `worker.redis_lost` would look for a Redis that is fine."""
    passes: list[float] = []

    def failing_pass(*_: Any) -> None:
        passes.append(time.monotonic())
        raise error

    monkeypatch.setattr(reaper, "reap_abandoned", failing_pass)
    liveness = reaper.Liveness(redis, "lapor-reaper-test", [REPLY_QUEUE], settings, ttl=0.5)
    liveness.start()
    try:
        wait_until(lambda: len(passes) >= 3)
        assert redis.exists(ALIVE_KEY.format(name="lapor-reaper-test"))  # still beating after failed passes
    finally:
        liveness.stop()
    logged = [(e["event"], e["level"]) for e in log_events(log_stream) if str(e["event"]).startswith("worker.")]
    assert logged and set(logged) == {(event, level)}


@pytest.mark.parametrize("reaps", [pytest.param(0, id="requeued"), pytest.param(2, id="given-up")])
def test_reapers_that_found_the_same_dead_workers_job_requeue_or_give_it_up_once(
    redis: Redis, settings: Settings, reaps: int,
) -> None:
    """Two reapers can read the started registry before either acts on it (one whose pass outlasted the reaper lock,
    RQ's own clean-up of an abandoned job): the second pushed the job onto its queue again, and two workers ran it at
    once, or filed a second dead letter of it. Whoever acts second finds it reaped and leaves it."""
    job = started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args(), **{REAPS_META: reaps})
    target = queue(REPLY_QUEUE, redis)
    [(job_id, execution_id)] = target.started_job_registry.get_job_and_execution_ids(cleanup=False)
    seen = [Job.fetch(job_id, connection=redis, serializer=reaper.JSONSerializer) for _ in range(2)]
    for found in seen:  # each reaper acts on what it read
        reaper._after_worker_died(redis, settings, target, found, f"{job_id}:{execution_id}", DEAD_WORKER)
    if reaps:
        assert target.get_job_ids() == [] and DeadLetters(redis).count() == 1
    else:
        assert target.get_job_ids() == [job.id]
        assert reap_count(Job.fetch(job.id, connection=redis, serializer=reaper.JSONSerializer)) == 1


def another_reaper_requeues_it(redis: Redis, settings: Settings, job: Job) -> None:
    """A second reaper (the first's pass outlasted the lock) finds the same stranded job and requeues it."""
    redis.delete(reaper.REAPER_LOCK)
    assert reap_abandoned(redis, [REPLY_QUEUE], settings) == [job.id]


def a_live_worker_starts_it(redis: Redis, settings: Settings, job: Job) -> None:
    """The worker that moved it there was slow, not dead: it starts the job now, as RQ does (the job's hash marked
    started, its execution in the started registry, the job taken off the intermediate list)."""
    target = queue(REPLY_QUEUE, redis)
    with redis.pipeline() as pipe:
        job.prepare_for_execution(LIVE_WORKER, pipe)
        Execution.create(job, ttl=600, pipeline=pipe, worker_name=LIVE_WORKER)
        pipe.lrem(target.intermediate_queue_key, 1, job.id)
        pipe.execute()


# What happens between a reaper's reading of the intermediate list and its requeue of a job it found stranded there;
# how many times the job is queued afterwards.
MEANWHILE: dict[str, tuple[Callable[[Redis, Settings, Job], None] | None, int]] = {
    "nothing": (None, 1),
    "another-reaper-requeued-it": (another_reaper_requeues_it, 1),
    "a-live-worker-started-it": (a_live_worker_starts_it, 0),
}


@pytest.mark.parametrize(("meanwhile", "queued"), list(MEANWHILE.values()), ids=list(MEANWHILE))
def test_a_stranded_job_is_requeued_only_while_it_is_still_stranded(
    redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    meanwhile: Callable[[Redis, Settings, Job], None] | None, queued: int,
) -> None:
    """The requeue of a job stranded on the intermediate list took it off the list and pushed it onto its queue
    whether or not it was still there: a second reaper that had read the list too (a pass that outlasted the lock)
    pushed it a second time, and a worker that was only slow ran it beside the worker that took the requeued one."""
    from workers.reaper import INTERMEDIATE_SEEN

    (job,) = enqueue_calls(redis, settings, REPLY_QUEUE, REPLY_FUNC, [reply_args()])
    target = queue(REPLY_QUEUE, redis)
    redis.lrem(target.key, 0, job.id)
    redis.rpush(target.intermediate_queue_key, job.id)
    redis.hset(INTERMEDIATE_SEEN, f"{REPLY_QUEUE}:{job.id}", time.time() - 60)
    pending = [meanwhile] if meanwhile is not None else []

    class JobReadThenInterrupted(Job):
        @classmethod
        def fetch(cls, *args: Any, **kwargs: Any) -> Job:
            found = super().fetch(*args, **kwargs)
            if pending:
                pending.pop()(redis, settings, found)
            return found

    monkeypatch.setattr(reaper, "Job", JobReadThenInterrupted)
    reap_abandoned(redis, [REPLY_QUEUE], settings)

    assert target.get_job_ids() == [job.id] * queued
    assert redis.lrange(target.intermediate_queue_key, 0, -1) == []
    assert not redis.hexists(INTERMEDIATE_SEEN, f"{REPLY_QUEUE}:{job.id}")
