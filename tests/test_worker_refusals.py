"""A worker whose Redis answers and refuses what RQ's loop runs: the outage told once when waiting ends it (full,
read-only, an ACL), RQ's traceback kept once and the runs spaced out when it does not (WRONGTYPE), and the retry
scheduler kept alive through it all."""

from __future__ import annotations

import io
import os
import re
import signal
import time
from collections.abc import Callable

import orjson
import psutil
import pytest
from redis import Redis
from redis._parsers import BaseParser
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)

from gateway.embedded_redis import EmbeddedRedis
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.health.signals import WORKER_QUITS_KEY, WorkerQuit
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE
from gateway.settings import CONFIG_DIR
from tests.conftest import ProcessHandle, log_events, wait_until
from workers.reaper import forget_worker_quit, note_worker_quit, note_worker_seen

# The worker's first wait after a run that quit on an error no waiting ends (queues.quit_first_wait_seconds, 1 s).
QUIT_FIRST_WAIT = 0.5


def events(handle: ProcessHandle) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in handle.output().splitlines() if line.startswith("{")]


def scheduler_of(worker: ProcessHandle) -> psutil.Process:
    """The worker's retry scheduler, its only child process."""
    [child] = wait_until(lambda: psutil.Process(worker.process.pid).children(), timeout=10)  # type: ignore[misc]
    return child


@pytest.mark.parametrize(("error", "passes"), [
    pytest.param(OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), True, id="oom"),
    pytest.param(ReadOnlyError("You can't write against a read only replica."), True, id="readonly"),
    pytest.param(ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
                               "persist to disk."), True, id="misconf"),
    pytest.param(NoPermissionError("this user has no permissions to run the 'blmove' command"), True, id="noperm"),
    pytest.param(ResponseError("Error running script (call to f_1): @user_script:14: @user_script: 14: The user "
                               "executing the script can't run this command or subcommand"), True, id="script-acl"),
    pytest.param(BusyLoadingError("Redis is loading the dataset in memory"), True, id="loading"),
    pytest.param(AuthenticationError("invalid username-password pair"), True, id="auth"),
    pytest.param(ResponseError("UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
                               "replica?)"), True, id="unblocked-by-a-failover"),
    # A Redis in a state that ends: taken for a bug's error, the worker waited up to a minute after it ended.
    pytest.param(ResponseError("NOREPLICAS Not enough good replicas to write."), True, id="too-few-replicas"),
    pytest.param(ResponseError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
                               "NOSAVE."), True, id="a-busy-script"),
    # As redis-py raises them (its parser: these three as classes of their own, the code taken off their words).
    pytest.param(BaseParser.parse_error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to "
                                        "'no'."), True, id="primary-down"),
    pytest.param(BaseParser.parse_error("TRYAGAIN Multiple keys request during rehashing of slot"), True,
                 id="slots-moving"),
    pytest.param(BaseParser.parse_error("CLUSTERDOWN The cluster is down"), True, id="cluster-down"),
    pytest.param(BaseParser.parse_error("NOREPLICAS Not enough good replicas to write."), True,
                 id="too-few-replicas-parsed"),
    # Redis 6.2 (the embedded one of make run) wraps a refusal a script met.
    pytest.param(ResponseError("Error running script (call to f_d223ed8c): @user_script:1: @user_script: 1: -OOM "
                               "command not allowed when used memory > 'maxmemory'."), True, id="oom-in-a-6.2-script"),
    pytest.param(ResponseError("Error running script (call to f_d223ed8c): @user_script:1: @user_script: 1: "
                               "-NOREPLICAS Not enough good replicas to write."), True, id="noreplicas-in-6.2-script"),
    pytest.param(ResponseError("Error running script (call to f_d223ed8c): @user_script:1: @user_script: 1: "
                               "-WRONGTYPE Operation against a key holding the wrong kind of value"), False,
                 id="wrongtype-in-a-6.2-script"),
    pytest.param(ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), False,
                 id="wrongtype"),
    pytest.param(ResponseError("unknown command 'LMPOP', with args beginning with: "), False, id="unknown-command"),
    pytest.param(ResponseError("ERR syntax error"), False, id="syntax"),
])
def test_only_a_refusal_that_waiting_ends_is_an_outage_to_wait_out(error: RedisError, passes: bool) -> None:
    """Every ResponseError was one refusal (`redis_refuses`): taken as an outage to wait out, a WRONGTYPE on a queue
    key or an unknown command became one line that never ended, no job run and no traceback to read."""
    from gateway.outage import refusal_passes

    assert refusal_passes(error) is passes


def test_a_refusal_a_script_met_is_one_whatever_the_redis(own_redis: EmbeddedRedis) -> None:
    """Redis 6.2 (the embedded one of make run) wraps a refusal a script met in "Error running script ...: -OOM ...",
    a plain ResponseError: taken for a bug's error, and an operator's command told to wait for "Redis answers"."""
    from gateway.cli import _redis_mended
    from gateway.outage import redis_unwritable, refusal_passes

    redis = Redis.from_url(own_redis.url)
    redis.config_set("maxmemory", "1")
    with pytest.raises(ResponseError) as refused:
        redis.eval("return redis.call('set', KEYS[1], 'x')", 1, "lapor:test:script")
    assert refusal_passes(refused.value) and redis_unwritable(refused.value), str(refused.value)
    assert _redis_mended(refused.value).startswith("Redis takes commands again")


def _acl_without(commands: str) -> Callable[[Redis], Callable[[], None]]:
    """The ACL of REDIS_URL's user without `commands` (a command or a category), till it is mended."""

    def refuse(redis: Redis) -> Callable[[], None]:
        redis.execute_command("ACL", "SETUSER", "default", f"-{commands}")
        # RQ's wait for a job in hand goes on (up to 30 s): as if it ended, as it does when its time is up.
        for client in redis.client_list():
            if client["cmd"] == "blmove":
                redis.client_unblock(int(client["id"]))
        return lambda: redis.execute_command("ACL", "SETUSER", "default", f"+{commands}")

    return refuse


def _full(redis: Redis) -> Callable[[], None]:
    redis.config_set("maxmemory", "1")  # below what it uses already: every write that may grow it is refused
    return lambda: redis.config_set("maxmemory", "0")


def _read_only(redis: Redis) -> Callable[[], None]:
    redis.execute_command("REPLICAOF", "127.0.0.1", "1")  # a primary that is never there: a stale replica
    return lambda: redis.execute_command("REPLICAOF", "NO", "ONE")


def _too_few_replicas(redis: Redis) -> Callable[[], None]:
    redis.config_set("min-replicas-to-write", "1")  # none: every write refused, NOREPLICAS
    return lambda: redis.config_set("min-replicas-to-write", "0")


@pytest.mark.parametrize(("refuse", "errors"), [
    pytest.param(_acl_without("@blocking"), {"NoPermissionError"}, id="an ACL without its blocking dequeue"),
    pytest.param(_too_few_replicas, {"ResponseError"}, id="too few replicas to write to"),
    # RQ's own beat and its start (register_birth) write with HSET: a run that cannot start, not the liveness beat.
    pytest.param(_acl_without("hset"), {"NoPermissionError"}, id="an ACL without HSET"),
    pytest.param(_full, {"OutOfMemoryError"}, id="full at its maxmemory"),
    # Redis cuts RQ's wait for a job short as it becomes a replica (UNBLOCKED), unless a beat met READONLY first.
    pytest.param(_read_only, {"ReadOnlyError", "ResponseError"}, id="a read-only replica"),
])
def test_a_worker_whose_redis_refuses_tells_it_once_and_keeps_its_retry_scheduler(
    refuse: Callable[[Redis], Callable[[], None]], errors: set[str], own_redis: EmbeddedRedis,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """A Redis that answers and refuses what RQ's loop runs: the worker logged RQ's traceback and
    `worker.quit_unasked` about once a second, forever, and started and stopped its retry scheduler at every run.
    Told once as refusing, with Redis's words; its end once when a run works again; one scheduler throughout."""
    worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url)
    wait_until(lambda: '"worker.ready"' in worker.output(), timeout=30)
    scheduler = scheduler_of(worker)
    ready = worker.output().count('"worker.ready"')
    redis = Redis.from_url(own_redis.url)
    try:
        mend = refuse(redis)
        wait_until(lambda: '"worker.redis_lost"' in worker.output(), timeout=10)
        time.sleep(3)  # three runs or so, each quitting on it
        mend()
        wait_until(lambda: '"worker.redis_back"' in worker.output(), timeout=10)
        time.sleep(1)
    finally:
        redis.close()
    output = worker.output()
    told = [(e["event"], e.get("reason"), e.get("error") in errors or e.get("error")) for e in events(worker)
            if str(e["event"]).startswith("worker.") and e["event"] not in ("worker.starting", "worker.stopped")]
    # Not a `worker.ready` at every run meanwhile (about once a second); one after its end, for a run started then.
    if told[-1] == ("worker.ready", None, None):
        told.pop()
    assert told == [("worker.ready", None, None)] * ready + [("worker.redis_lost", "refusing", True),
                                                             ("worker.redis_back", None, None)], output[-4000:]
    (lost,) = [e for e in events(worker) if e["event"] == "worker.redis_lost"]
    assert lost["detail"] and "of pipeline" not in str(lost["detail"]), lost
    assert "Traceback" not in output and '"exception"' not in output, output[-4000:]
    # The scheduler met it too where its own commands write: told once by it, its end once.
    by_scheduler = [e["event"] for e in events(worker) if str(e["event"]).startswith("worker_scheduler.")]
    assert by_scheduler in ([], ["worker_scheduler.redis_lost", "worker_scheduler.redis_back"]), output[-4000:]
    assert scheduler.is_running() and psutil.Process(worker.process.pid).children() == [scheduler], output[-4000:]


@pytest.mark.parametrize(("key", "at_its_start"), [
    pytest.param(f"rq:queue:{REPLY_QUEUE}", False, id="the queue's key: RQ's dequeue"),
    # RQ's registry of workers, which the liveness beat adds the worker to as a run starts: the run never starts,
    # and it was the outage told as refusing, once, for good, where nothing said what to mend.
    pytest.param("rq:workers", True, id="RQ's registry of workers: the run's start"),
])
def test_a_worker_whose_key_holds_another_type_keeps_the_traceback_once_and_backs_off(
    key: str, at_its_start: bool, own_redis: EmbeddedRedis, start_process: Callable[..., ProcessHandle],
) -> None:
    """A WRONGTYPE on a key of the worker's (a SET by hand) ends its run, and no waiting ends it: RQ's traceback and
    `worker.quit_unasked` came about once a second, forever. The first quit keeps the traceback; the runs after it
    wait 2, 4, ... times the first wait (1 s; half a second here, `queues.quit_first_wait_seconds`), each quit a line
    with the repeats counted and what Redis said; its scheduler lives on. Once the key is mended, the next run
    works."""
    redis = Redis.from_url(own_redis.url)
    try:
        redis.set(key, "written by hand")
        worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url,
                               LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS=str(QUIT_FIRST_WAIT))
        wait_until(lambda: worker.output().count('"worker.quit_unasked"') >= 3, timeout=30)
        time.sleep(QUIT_FIRST_WAIT * 1.5)  # the next run is 4 waits (2 s) away
        output = worker.output()
        quits = [e for e in events(worker) if e["event"] == "worker.quit_unasked"]
        assert [(e["retry_in"], e["repeats"], e["error"]) for e in quits] == [
            (QUIT_FIRST_WAIT, 1, "ResponseError"), (QUIT_FIRST_WAIT * 2, 2, "ResponseError"),
            (QUIT_FIRST_WAIT * 4, 3, "ResponseError")], output[-4000:]
        assert "WRONGTYPE" in str(quits[0]["trouble"]), quits[0]
        assert {e["reason"] for e in quits} == {"run_start_error" if at_its_start else "rq_loop_error"}
        tracebacks = [e for e in events(worker) if "exception" in e]
        assert len(tracebacks) == 1 and "WRONGTYPE" in str(tracebacks[0]["exception"]), output[-4000:]
        said = "worker.start_failed" if at_its_start else "found an unhandled exception, quitting"
        assert said in str(tracebacks[0]["event"]), tracebacks[0]["event"]
        assert not [e for e in events(worker) if str(e["event"]).startswith("worker.redis_")], output[-4000:]
        assert '"worker.scheduler_killed"' not in output
        if not at_its_start:  # started by the first run, which reached RQ's loop
            scheduler = scheduler_of(worker)
            assert psutil.Process(worker.process.pid).children() == [scheduler]
        if at_its_start:  # (on the queue's key, every view meets the WRONGTYPE itself, and says it)
            # Every view: the quit said at once, with what Redis refused, where it said "no live worker" after 30 s
            # of a wait, and the beat of each run that could not start counted a live worker for 5 s, one a run.
            x = reply_health(redis)
            assert (x["state"], [finding["rule"] for finding in x["findings"]]) == ("degraded", ["worker_quitting"]), x
            # The next run 2 s after the third quit: on a loaded host the view may read it as due.
            assert re.match(f"{REPLY_QUEUE}: its worker's runs end on an error as it begins, 3 in a row, the next "
                            r"(in \d+ s|due now) \(", str(x["reason"])), x["reason"]
            assert "The key rq:workers in Redis holds another type" in str(x["reason"]), x["reason"]
        ready = worker.output().count('"worker.ready"')
        redis.delete(key)  # mended: the next run, at most 2 s away, works
        wait_until(lambda: worker.output().count('"worker.ready"') > ready, timeout=10)
        wait_until(lambda: redis.hlen(WORKER_QUITS_KEY) == 0)  # its run began: its last quit no longer told
        if at_its_start:
            wait_until(lambda: reply_health(redis)["state"] == "ok")
        time.sleep(1)
        assert worker.output().count('"worker.quit_unasked"') == 3, worker.output()[-3000:]
        os.kill(worker.process.pid, signal.SIGTERM)
        assert worker.process.wait(timeout=10) == 0
    finally:
        redis.close()


def test_a_worker_stopped_between_runs_that_quit_leaves_no_quit_for_the_views(
    own_redis: EmbeddedRedis, start_process: Callable[..., ProcessHandle],
) -> None:
    """Stopped in its wait after runs that quit (SIGTERM: `worker.stopped`), a worker was said by every view to begin
    again by itself ("the next in 60 s") until that run was overdue: its record of the quit goes as it stops."""
    redis = Redis.from_url(own_redis.url)
    try:
        redis.set("rq:workers", "written by hand")
        worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url,
                               LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS=str(QUIT_FIRST_WAIT))
        wait_until(lambda: worker.output().count('"worker.quit_unasked"') >= 2, timeout=30)
        wait_until(lambda: reply_health(redis)["state"] == "degraded")  # quitting: the next run 1 s away
        assert [field.split(b"\t")[0] for field in redis.hkeys(WORKER_QUITS_KEY)] == [REPLY_QUEUE.encode()]
        os.kill(worker.process.pid, signal.SIGTERM)
        assert worker.process.wait(timeout=10) == 0
        assert '"worker.stopped"' in worker.output()
        assert redis.hlen(WORKER_QUITS_KEY) == 0
        x = reply_health(redis)
        assert "its worker's runs end on an error" not in str(x["reason"]), x
    finally:
        redis.close()


def a_quit(at: float, retry_in: float, quits: int = 3) -> WorkerQuit:
    return WorkerQuit(at, "run_start_error", "ResponseError", None, quits, retry_in)


def test_two_workers_quitting_on_one_queue_are_told_apart_and_one_stopping_leaves_the_others_told(
    redis: Redis,
) -> None:
    """The record of a quit was one per queue: of two workers quitting on it, the one stopped took the other's record
    away too (it wrote the last), and the views said "no live worker" of a worker still quitting until its next quit.
    Each process's record is its own now, and goes as that process begins a run: the queue's one time seen, which any
    process's run start sets, hid another still quitting. A process killed in its wait (its record left, overdue)
    does not hide another still quitting either."""
    now = time.time()
    slow, fast, killed = a_quit(now - 5, 32.0, quits=6), a_quit(now - 1, 4.0), a_quit(now - 300, 60.0, quits=7)
    note_worker_quit(redis, REPLY_QUEUE, "killed", killed)
    note_worker_quit(redis, REPLY_QUEUE, "slow", slow)
    note_worker_seen(redis, [REPLY_QUEUE], at=now - 2)  # the fast one's run began, and quit a second later
    note_worker_quit(redis, REPLY_QUEUE, "fast", fast)
    assert redis.hlen(WORKER_QUITS_KEY) == 3
    x = reply_health(redis)
    assert [finding["rule"] for finding in x["findings"]] == ["worker_quitting"], x  # not the killed one's "missing"
    assert "3 in a row, the next in " in str(x["reason"]), x["reason"]  # the newest: the fast one's
    forget_worker_quit(redis, REPLY_QUEUE, "fast", fast)  # it stops
    x = reply_health(redis)
    assert [finding["rule"] for finding in x["findings"]] == ["worker_quitting"], x
    assert "6 in a row, the next in 2" in str(x["reason"]), x["reason"]  # the slow one's, its run 27 s away
    forget_worker_quit(redis, REPLY_QUEUE, "slow", a_quit(now - 60, 30.0))  # a record it no longer holds: kept
    assert redis.hlen(WORKER_QUITS_KEY) == 2
    forget_worker_quit(redis, REPLY_QUEUE, "slow", slow)  # its next run began
    x = reply_health(redis)
    # A run was seen since the killed one's quit: its stale record makes no worker missing at once.
    assert (x["state"], x["findings"]) == ("ok", []), x


def test_a_quit_takes_away_the_records_of_its_queues_processes_gone_for_an_hour(redis: Redis) -> None:
    """A process killed in its wait leaves its record, and each process's record is its own: without a clean-up,
    one more field for every worker ever killed so."""
    now = time.time()
    note_worker_quit(redis, REPLY_QUEUE, "gone", a_quit(now - 4000, 60.0))
    note_worker_quit(redis, REPLY_QUEUE, "recent", a_quit(now - 3000, 60.0))
    note_worker_quit(redis, FORWARD_QUEUE, "other-queue", a_quit(now - 9000, 60.0))
    redis.hset(WORKER_QUITS_KEY, f"{REPLY_QUEUE}\tdamaged", b"\xff not JSON")
    redis.hset(WORKER_QUITS_KEY, REPLY_QUEUE, a_quit(now - 5000, 60.0).dumps())  # an earlier release's, per queue
    redis.hset(WORKER_QUITS_KEY, f"{REPLY_QUEUE}-other\tlookalike", a_quit(now - 9000, 60.0).dumps())
    note_worker_quit(redis, REPLY_QUEUE, "new", a_quit(now, 2.0))
    assert sorted(redis.hkeys(WORKER_QUITS_KEY)) == sorted(
        f"{queue_name}\t{worker}".encode() for queue_name, worker in (
            (REPLY_QUEUE, "recent"), (REPLY_QUEUE, "new"), (FORWARD_QUEUE, "other-queue"),
            (f"{REPLY_QUEUE}-other", "lookalike")))


def reply_health(redis: Redis) -> dict[str, object]:
    """The X channel as every view says it (its replies go through the reply queue's worker)."""
    rules = load_rules(CONFIG_DIR / "health.toml")
    return {channel["channel"]: channel for channel in HealthMonitor(redis, rules).status()["channels"]}["x"]


def _raised(error: Exception) -> Exception:
    try:
        raise error
    except Exception as raised:
        return raised


def test_each_error_redis_answers_is_its_own_with_its_traceback(own_redis: EmbeddedRedis) -> None:
    """Every error Redis answers is raised on one line of redis-py: keyed on it, a WRONGTYPE, an unknown command,
    another key's WRONGTYPE were the same error, counted as repeats and told by no traceback."""
    from workers.outage import LoopQuits

    redis = Redis.from_url(own_redis.url)
    redis.set("lapor:test:a-string", "x")
    redis.set("lapor:test:another-string", "x")

    def met(command: Callable[[], object]) -> Exception:
        with pytest.raises(ResponseError) as raised:
            command()
        return raised.value

    def another_keys_wrong_type() -> object:
        pipeline = redis.pipeline()
        pipeline.lpush("lapor:test:another-string", "job")
        return pipeline.execute()

    quits = LoopQuits(REPLY_QUEUE)
    errors = [met(lambda: redis.lpush("lapor:test:a-string", "job")),
              met(lambda: redis.execute_command("LAPOR_NO_SUCH_COMMAND")),
              met(lambda: redis.execute_command("SET", "lapor:test:x")),
              met(another_keys_wrong_type)]
    assert [quits.quit_on(error) for error in errors] == [True, True, True, True]
    assert quits.quit_on(met(another_keys_wrong_type)) is False  # the same error again: counted


def test_quits_in_a_row_wait_longer_each_time_and_a_run_that_worked_a_while_starts_afresh(
        log_stream: io.StringIO) -> None:
    """The waits double up to a minute, and only while the quits come in a row: a run that worked for the longest
    wait before it quit (one job that meets a bug an hour later) waits a second again, not a minute. A quit on
    another error keeps its traceback, and its repeats start again; so does the same error after a run that worked."""
    from workers.outage import QUIT_LONGEST_WAIT_SECONDS, LoopQuits

    clock = {"now": 0.0}
    quits = LoopQuits(REPLY_QUEUE, clock=lambda: clock["now"])
    wrong_type = _raised(ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"))
    waits = []
    for run in range(8):
        quits.began()
        clock["now"] += 0.1  # each run quits at once
        assert quits.quit_on(wrong_type) is (run == 0)  # the same error again: counted, no traceback
        waits.append(quits.told())
        clock["now"] += waits[-1]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    quits.began()
    assert quits.quit_on(_raised(KeyError("job"))) is True  # another error: its traceback
    assert quits.told() == 60.0  # still in a row
    quits.began()
    clock["now"] += QUIT_LONGEST_WAIT_SECONDS  # a run that worked a minute, then met the bug again
    assert quits.quit_on(_raised(KeyError("job"))) is True
    assert quits.told() == 1.0
    quits.began()
    clock["now"] += 0.1
    assert quits.quit_on(_raised(KeyError("job"))) is False  # in a row again
    assert quits.told() == 2.0
    told = [(e["retry_in"], e["repeats"], e["error"]) for e in log_events(log_stream)
            if e["event"] == "worker.quit_unasked"]
    assert told[-4:] == [(60.0, 8, "ResponseError"), (60.0, 1, "KeyError"), (1.0, 1, "KeyError"),
                         (2.0, 2, "KeyError")], told


def test_a_worker_told_to_stop_while_redis_refuses_stops_its_scheduler_without_killing_it(
    own_redis: EmbeddedRedis, start_process: Callable[..., ProcessHandle],
) -> None:
    """A Redis that refuses answers at once: a stop during that outage lets the retry scheduler stop by itself (it
    releases its lock), where one held as an outage was killed as if Redis hung (`worker.scheduler_killed`,
    `redis_not_answering`)."""
    worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url)
    wait_until(lambda: '"worker.ready"' in worker.output(), timeout=30)
    scheduler = scheduler_of(worker)
    redis = Redis.from_url(own_redis.url)
    try:
        _acl_without("@blocking")(redis)
        wait_until(lambda: '"worker.redis_lost"' in worker.output(), timeout=10)
        time.sleep(1.5)  # between two runs, or in one
        started = time.monotonic()
        os.kill(worker.process.pid, signal.SIGTERM)
        assert worker.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert '"worker.scheduler_killed"' not in worker.output(), worker.output()[-3000:]
        wait_until(lambda: not scheduler.is_running(), timeout=5)
        assert not list(redis.scan_iter("rq:scheduler-lock:*"))  # released by the scheduler as it stopped
    finally:
        redis.close()
