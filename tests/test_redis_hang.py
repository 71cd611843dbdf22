"""A Redis that hangs: it takes connections and never answers (paused, a blocked main thread, a partition dropping
packets). Paused here for real with SIGSTOP, on a Redis of the test's own; every timeout is configured short."""

from __future__ import annotations

import asyncio
import io
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import orjson
import psutil
import pytest
from prometheus_client import REGISTRY
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.job import Job, JobStatus

from channels.email.processor import MailProcessor
from gateway.app import GATEWAY_KEY, create_app
from gateway.embedded_redis import EmbeddedRedis, find_redis_server
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.health.signals import SIGNAL_WRITERS, SIGNALS_IN_FLIGHT, HealthSignals, SignalWriter
from gateway.intake import Intake, Receipt
from gateway.liveness import ServingBeat
from gateway.outbound import REPLY_FUNC
from gateway.queues import REPLY_QUEUE, JSONSerializer, answer_within, enqueue_calls, queue, redis_connection
from gateway.same_text import SameTextWindow
from gateway.settings import CONFIG_DIR, Settings
from tests.aggregator_support import post_callback
from tests.conftest import (
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    free_port,
    log_events,
    paused,
    serve_beat,
    serving_gateway,
    wait_until,
)
from workers.reaper import ALIVE_KEY, Liveness
from workers.run import OutageProofScheduler, build_worker

# How long the worker's liveness thread waits for an answer here (queues.liveness_timeout_seconds: 2 s by default).
LIVENESS_TIMEOUT = "0.5"


def events(handle: ProcessHandle) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in handle.output().splitlines() if line.startswith("{")]


def redis_lines(handle: ProcessHandle) -> list[tuple[object, ...]]:
    return [(e["event"], e["level"], e.get("reason")) for e in events(handle)
            if str(e["event"]).startswith("worker.redis")]


def seen(handle: ProcessHandle, event: str, count: int = 1) -> Callable[[], bool]:
    return lambda: handle.output().count(f'"{event}"') >= count


LOST = ("worker.redis_lost", "error", "not_answering")
BACK = ("worker.redis_back", "info", None)


@pytest.mark.parametrize("from_start", [pytest.param(False, id="while-it-waits-for-jobs"),
                                        pytest.param(True, id="from-its-start")])
def test_a_worker_tells_a_redis_that_hangs_within_seconds_and_takes_jobs_once_it_answers(
    from_start: bool, own_redis: EmbeddedRedis, test_env: TestEnvironment,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """RQ waits for an answer on its connection as long as its blocking dequeue may last (about 415 s), and the
    liveness thread shared it: a worker said nothing for seven minutes and more. Its liveness thread now watches
    Redis on a connection of its own that gives up after `queues.liveness_timeout_seconds`, so the hang is told in
    the lines of a stopped Redis (`worker.redis_lost`, reason not_answering, then `worker.redis_back`), and RQ's
    loop, which waited on its own connection meanwhile, takes jobs again."""
    settings = test_env.settings(REDIS_URL=own_redis.url)
    start = lambda: start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url,  # noqa: E731
                                  LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS=LIVENESS_TIMEOUT)
    worker = None if from_start else start()
    if worker is not None:
        wait_until(seen(worker, "worker.ready"), timeout=30)
        time.sleep(0.5)  # RQ's loop is waiting for jobs in its blocking dequeue
    with paused(own_redis) as since:
        worker = worker or start()
        wait_until(seen(worker, "worker.redis_lost"), timeout=30 if from_start else 5)
        told_in = time.monotonic() - since
        time.sleep(1.5)  # it hangs on: nothing more is logged (the reminder comes after a minute)
    wait_until(seen(worker, "worker.redis_back"), timeout=5)
    redis = Redis.from_url(own_redis.url)
    try:
        [job] = enqueue_calls(redis, settings, REPLY_QUEUE, "time.sleep", [(0,)], retry=False)
        wait_until(lambda: Job.fetch(job.id, connection=redis, serializer=JSONSerializer).is_finished, timeout=10)
    finally:
        redis.close()
    assert redis_lines(worker) == [LOST, BACK], worker.output()[-3000:]
    if not from_start:  # a start includes the process's imports
        assert told_in < 3, told_in
    assert "Redis connection timeout" not in worker.output()


def test_a_worker_told_to_stop_while_redis_hangs_stops_within_seconds(
    own_redis: EmbeddedRedis, start_process: Callable[..., ProcessHandle],
) -> None:
    """A restart during the hang (a deploy, `systemctl restart`): RQ waited for its retry scheduler to stop and
    unregistered the worker, both on connections that wait minutes for a Redis that hangs, so the stop waited out
    a supervisor's grace and was killed. Told to stop while Redis does not answer, the worker kills its scheduler
    (which holds no job) and leaves its registration to expire, as a killed worker's does."""
    worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url,
                           LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS=LIVENESS_TIMEOUT)
    wait_until(seen(worker, "worker.ready"), timeout=30)
    wait_until(lambda: psutil.Process(worker.process.pid).children(), timeout=10)  # RQ's retry scheduler
    children = psutil.Process(worker.process.pid).children()
    with paused(own_redis):
        wait_until(seen(worker, "worker.redis_lost"), timeout=5)
        asked = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        try:
            code = worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop within 10 s while Redis hung")
        stopped_in = time.monotonic() - asked
    assert code == 0, worker.output()[-3000:]
    assert stopped_in < 4, stopped_in
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert [(e["event"], e["reason"]) for e in events(worker) if e["event"] == "worker.scheduler_killed"] == [
        ("worker.scheduler_killed", "redis_not_answering")]


def _hung_for_good(server: EmbeddedRedis, client: Redis) -> tuple[float, int]:
    """A command while Redis hangs (SIGSTOP) past the client's timeout: how long it took to fail, and how many times
    it ran once Redis answered again."""
    with paused(server):
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            client.rpush("lapor:test:sent", "x")
        failed_in = time.monotonic() - started
    return failed_in, Redis.from_url(server.url).llen("lapor:test:sent")


def _hung_a_moment(server: EmbeddedRedis, client: Redis) -> tuple[float, int]:
    """Redis busy for a moment (CLIENT PAUSE, 0.8 s) past the client's timeout (0.5 s): the command is in Redis's
    socket and runs when it resumes; a retry, sent once the new connection's handshake got through, ran it again."""
    Redis.from_url(server.url).execute_command("CLIENT", "PAUSE", "800", "ALL")
    started = time.monotonic()
    with pytest.raises(RedisTimeoutError):
        client.rpush("lapor:test:sent", "x")
    failed_in = time.monotonic() - started
    time.sleep(1)
    return failed_in, Redis.from_url(server.url).llen("lapor:test:sent")


@pytest.mark.parametrize("hang", [pytest.param(_hung_for_good, id="sigstop"),
                                  pytest.param(_hung_a_moment, id="client-pause-shorter-than-two-timeouts")])
def test_a_command_redis_does_not_answer_in_time_fails_once_and_is_not_sent_again(
        hang: Callable[[EmbeddedRedis, Redis], tuple[float, int]], own_redis: EmbeddedRedis) -> None:
    """The gateway's client (and the workers', and RQ's) retried a command that timed out, as redis-py's default
    retry does: a Redis that hangs cost the first webhook its timeout, then the retry's reconnection and handshake as
    long again (4 s with the default 2 s, before it was answered from the spool; RQ's scheduler twice RQ's 415 s),
    and a command Redis took late ran twice. A stale pooled connection (next test) is still tried again."""
    client = redis_connection(own_redis.url, timeout=0.5)
    client.ping()  # a pooled connection, as the gateway's are
    failed_in, runs = hang(own_redis, client)
    assert failed_in < 0.9, failed_in  # one timeout, not two
    assert runs <= 1


def test_a_pooled_connection_a_restarted_redis_closed_is_tried_again(own_redis: EmbeddedRedis) -> None:
    client = redis_connection(own_redis.url, timeout=0.5)
    client.ping()
    own_redis.stop()
    own_redis.start()
    assert client.ping()


@pytest.mark.parametrize("outage", ["restarted", "hangs"])
def test_the_retry_scheduler_waits_out_a_redis_outage_and_schedules_on(
        outage: str, own_redis: EmbeddedRedis) -> None:
    """RQ's retry scheduler ended at the first Redis error, its traceback logged twice: at every Redis restart, and
    after a hang as long as its connection's timeout (RQ's 415 s; 0.5 s here). It now skips the round and goes on,
    and a retry due after the outage is put back on its queue."""
    client = redis_connection(own_redis.url, timeout=0.5)
    scheduler = OutageProofScheduler([queue(REPLY_QUEUE, client)], connection=client, serializer=JSONSerializer,
                                     interval=1)
    scheduled: list[bool] = []

    def break_redis_then_schedule() -> None:
        try:
            wait_until(lambda: scheduler.acquired_locks, timeout=10)
            if outage == "hangs":
                with paused(own_redis):
                    time.sleep(1.5)
            else:
                own_redis.stop()
                time.sleep(1)
                own_redis.start()
            redis = Redis.from_url(own_redis.url)
            job = queue(REPLY_QUEUE, redis).enqueue_in(timedelta(seconds=0.5), "time.sleep", 0)
            scheduled.append(bool(wait_until(lambda: job.get_status(refresh=True) == JobStatus.QUEUED)))
        finally:
            scheduler.request_stop()

    work_beside(scheduler, break_redis_then_schedule)
    assert scheduled == [True]


def test_the_retry_scheduler_waits_out_a_redis_refusing_its_commands_and_tells_it_once(
        redis: Redis, log_stream: io.StringIO) -> None:
    """A Redis that answers and refuses a command of the scheduler's for a reason waiting ends (here an ACL without
    the ZRANGEBYSCORE it reads its schedule with; a Redis full or read-only alike) ended its loop, its traceback
    logged twice, and the worker started another 30 s later to end the same way: no retry put back on its queue. It
    skips the round, tells it once (`worker_scheduler.redis_lost`, refusing, Redis's words), and its end once a round
    goes through."""
    user, password = f"worker-test-{uuid.uuid4().hex}", uuid.uuid4().hex
    redis.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all", "-zrangebyscore")
    kwargs = redis.connection_pool.connection_kwargs
    client = Redis(host=kwargs.get("host", "127.0.0.1"), port=kwargs.get("port", 6379), db=kwargs.get("db", 0),
                   username=user, password=password)
    scheduler = OutageProofScheduler([queue(REPLY_QUEUE, client)], connection=client, serializer=JSONSerializer,
                                     interval=1)
    scheduled: list[bool] = []

    def refuse_then_mend() -> None:
        try:
            wait_until(lambda: '"worker_scheduler.redis_lost"' in log_stream.getvalue(), timeout=10)
            time.sleep(2.5)  # two rounds more, refused the same way
            redis.execute_command("ACL", "SETUSER", user, "+zrangebyscore")
            job = queue(REPLY_QUEUE, redis).enqueue_in(timedelta(seconds=0.5), "time.sleep", 0)
            scheduled.append(bool(wait_until(lambda: job.get_status(refresh=True) == JobStatus.QUEUED)))
        finally:
            scheduler.request_stop()

    try:
        work_beside(scheduler, refuse_then_mend)
    finally:
        client.close()
        redis.execute_command("ACL", "DELUSER", user)
    assert scheduled == [True]
    # Redis's words: "... the 'zrangebyscore' command", 6.2 (the embedded one) adds "or its subcommand".
    lines = [(e["event"], e.get("reason"), e.get("error"),
              str(e.get("detail")).startswith("this user has no permissions to run the 'zrangebyscore' command"))
             for e in log_events(log_stream) if str(e["event"]).startswith("worker")]
    assert lines == [("worker_scheduler.redis_lost", "refusing", "NoPermissionError", True),
                     ("worker_scheduler.redis_back", None, None, False)], lines


def work_beside(scheduler: OutageProofScheduler, beside: Callable[[], None]) -> float:
    """Run the scheduler on the main thread, as in its own process (it takes SIGTERM and SIGINT), with `beside` on a
    thread of its own, which must end by asking it to stop; the process's signal handlers are restored after. Returns
    when its work ended (`time.monotonic`)."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    helper = threading.Thread(target=beside)
    helper.start()
    try:
        scheduler.work()
        return time.monotonic()
    finally:
        helper.join(30)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def test_the_retry_scheduler_told_to_stop_between_rounds_stops_at_once(redis: Redis) -> None:
    """A stop (SIGTERM) only sets a flag the scheduler reads between rounds, and it slept out its whole interval (RQ's
    default a second) before reading it: each worker told to stop waited that long for its scheduler, a second or two
    at every restart, and at the end of every test that ran one. Its sleep between rounds now sees the stop."""
    scheduler = OutageProofScheduler([queue(REPLY_QUEUE, redis)], connection=redis, serializer=JSONSerializer,
                                     interval=5)
    asked: list[float] = []

    def stop_while_it_sleeps() -> None:
        try:
            wait_until(lambda: scheduler.acquired_locks, timeout=10)
            time.sleep(0.3)  # its first round is done: it sleeps until the next
        finally:
            asked.append(time.monotonic())
            scheduler.request_stop()

    stopped = work_beside(scheduler, stop_while_it_sleeps)
    assert stopped - asked[0] < 1, stopped - asked[0]


def test_a_worker_leaving_its_command_channel_does_not_wait_on_its_thread(settings: Settings, redis: Redis) -> None:
    """RQ left the command channel first and told its thread to stop after: a thread woken by the server's answer
    before it was told went back to a minute's wait, and RQ gave up joining it after a second, a second of about one
    worker's stop in three. Here the thread is told first (and the telling is slowed down, as on a busy machine)."""
    worker = build_worker(settings, REPLY_QUEUE)
    worker.subscribe()
    thread = worker.pubsub_thread
    assert thread is not None
    stop = thread.stop

    def slow_stop() -> None:
        time.sleep(0.2)  # the thread reads the channel's answer meanwhile, where it comes first
        stop()

    thread.stop = slow_stop  # type: ignore[method-assign]
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 0.9
    assert not thread.is_alive()


def test_a_worker_keeps_its_retry_scheduler_through_a_redis_restart_without_a_traceback(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, start_process: Callable[..., ProcessHandle],
) -> None:
    """Redis restarted under a worker: its retry scheduler (a child process) printed two tracebacks and died, to be
    started again at the worker's next maintenance; it now waits the restart out, and a job's retry still comes."""
    settings = test_env.settings(REDIS_URL=own_redis.url)
    worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url,
                           LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS=LIVENESS_TIMEOUT)
    wait_until(seen(worker, "worker.ready"), timeout=30)
    [scheduler] = wait_until(lambda: psutil.Process(worker.process.pid).children(), timeout=10)  # type: ignore[misc]
    own_redis.stop()
    time.sleep(2)
    own_redis.start()
    wait_until(seen(worker, "worker.redis_back"), timeout=10)
    redis = Redis.from_url(own_redis.url)
    try:
        [job] = enqueue_calls(redis, settings, REPLY_QUEUE, "time.sleep", [(0,)], retry=False)
        later = queue(REPLY_QUEUE, redis).enqueue_in(timedelta(seconds=1), "time.sleep", 0)
        wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, timeout=10)
        try:
            wait_until(lambda: later.get_status(refresh=True) == JobStatus.FINISHED, timeout=10)
        except AssertionError as error:  # what the scheduler and the worker were doing, for a failure seen once
            locks = {key: redis.get(key) for key in redis.scan_iter("rq:scheduler-lock:*")}
            state = (f"later={later.get_status(refresh=True)} locks={locks} children="
                     f"{psutil.Process(worker.process.pid).children()} scheduler={scheduler}")
            raise AssertionError(f"{error}: {state}\n{worker.output()[-6000:]}") from None
    finally:
        redis.close()
    assert scheduler.is_running() and psutil.Process(worker.process.pid).children() == [scheduler]
    assert "Traceback" not in worker.output(), worker.output()[-3000:]


def test_a_worker_whose_run_ended_in_a_redis_restart_schedules_retries_again_at_once(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, start_process: Callable[..., ProcessHandle],
) -> None:
    """Redis restarted while a job ran: RQ's loop ends on the lost connection, and the worker's next run started a
    scheduler of another name, which found the queue's lock (kept in the append-only file, a minute long) held by
    the one the ended run had stopped, and gave up; retries waited up to a minute and a half. The scheduler now
    lives on from one run to the next, waiting the restart out (and the worker's schedulers share one name: one
    started again takes its predecessor's lock over)."""
    settings = test_env.settings(REDIS_URL=own_redis.url)
    worker = start_process("worker", "--queues", REPLY_QUEUE, REDIS_URL=own_redis.url,
                           LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS=LIVENESS_TIMEOUT)
    wait_until(seen(worker, "worker.ready"), timeout=30)
    [first_scheduler] = wait_until(lambda: psutil.Process(worker.process.pid).children(), timeout=10)  # type: ignore[misc]
    redis = Redis.from_url(own_redis.url)
    try:
        [running] = enqueue_calls(redis, settings, REPLY_QUEUE, "time.sleep", [(1.5,)], retry=False)
        wait_until(lambda: running.get_status(refresh=True) == JobStatus.STARTED, timeout=10)
        redis.close()
        own_redis.stop()
        time.sleep(2)  # the job ends meanwhile, and RQ's loop with it
        own_redis.start()
        wait_until(seen(worker, "worker.redis_back"), timeout=15)
        later = queue(REPLY_QUEUE, redis).enqueue_in(timedelta(seconds=1), "time.sleep", 0)
        wait_until(lambda: later.get_status(refresh=True) == JobStatus.FINISHED, timeout=15)
    finally:
        redis.close()
    assert seen(worker, "worker.ready", count=2)(), worker.output()[-3000:]  # a second run's, as the docstring says
    # The scheduler the first run started waited the restart out, and goes on: RQ stopped it with the ended run.
    assert first_scheduler.is_running() and psutil.Process(worker.process.pid).children() == [first_scheduler]
    # RQ's quit on the lost connection is the outage already told, not an error line with a traceback of its own.
    assert redis_lines(worker) == [("worker.redis_lost", "error", "unreachable"), BACK], worker.output()[-3000:]
    assert "Traceback" not in worker.output() and '"exception"' not in worker.output(), worker.output()[-3000:]


def test_a_connection_to_a_redis_host_that_vanished_is_found_dead_by_tcp_keepalive(redis: Redis) -> None:
    """A host gone without a word (a failover, a partition) sends no reset: only keepalive probes tell the worker's
    blocking dequeue, whose socket timeout RQ raises to about 415 s. Dropping packets on loopback is beyond a test;
    the socket's options are what the kernel acts on."""
    url = redis.connection_pool.connection_kwargs
    password = f":{url['password']}@" if url.get("password") else ""  # the embedded Redis asks for one
    connection = redis_connection(f"redis://{password}{url['host']}:{url['port']}/{url.get('db', 0)}")
    assert connection.ping()
    sock = connection.connection_pool.get_connection()._sock
    assert sock is not None and sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    idle, interval, probes = (sock.getsockopt(socket.IPPROTO_TCP, option)
                              for option in (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT))
    assert idle + interval * probes <= 30
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 30_000  # a command never acknowledged


def test_a_redis_on_a_unix_socket_is_reached_without_tcp_options() -> None:
    """redis-py refuses keepalive options for a unix socket (TypeError): a REDIS_URL of unix:// must still work."""
    with tempfile.TemporaryDirectory(prefix="lapor-") as directory:  # short: a socket's path has at most 107 bytes
        path = Path(directory) / "redis.sock"
        server = subprocess.Popen([find_redis_server(), "--port", "0", "--unixsocket", str(path), "--save", "",
                                   "--appendonly", "no", "--dir", directory], stdout=subprocess.PIPE, text=True)
        try:
            connection = redis_connection(f"unix://{path}?db=0")

            def answers() -> bool:  # the socket file exists a moment before redis-server listens on it
                try:
                    return bool(connection.ping())
                except RedisConnectionError:
                    return False

            assert wait_until(answers, timeout=30)
        finally:
            server.terminate()
            server.communicate(timeout=10)


def test_a_reaper_back_from_a_hang_gives_the_workers_it_finds_unbeaten_a_lifetime_to_beat_again(
    own_redis: EmbeddedRedis, settings: Settings,
) -> None:
    """Every worker's liveness key lapses while Redis hangs (or restarts) longer than the key's lifetime. The first
    reaper to reach Redis again took the jobs of live workers that had not beaten yet for abandoned: requeued while
    they ran (a job run twice at once), each hang counted as a worker death toward its dead letter. A reaper now
    reaps only once Redis has answered its own beats for a whole lifetime; a worker that died is still reaped then."""
    from tests.test_poison_jobs import LIVE_WORKER, reply_args, started_by

    ttl = 2.0
    redis = Redis.from_url(own_redis.url)
    alive = ALIVE_KEY.format(name=LIVE_WORKER)
    job = started_by(redis, settings, REPLY_QUEUE, REPLY_FUNC, reply_args(), worker=LIVE_WORKER)
    target = queue(REPLY_QUEUE, redis)
    redis.set(alive, "1", px=int(ttl * 1000))
    reaper = Liveness(answer_within(own_redis.url, 0.3), "lapor-reaper-hang", [REPLY_QUEUE], settings, ttl=ttl)
    reaper.start()
    try:
        with paused(own_redis):
            time.sleep(ttl + 0.5)  # longer than the key's lifetime: both workers' keys lapse
        back = time.monotonic()
        time.sleep(1.2)  # the live worker's beat comes a moment after the reaper's (its own wait, a timed-out beat)
        while time.monotonic() - back < 2.5 * ttl:
            redis.set(alive, "1", px=int(ttl * 1000))
            assert target.started_job_registry.get_job_ids(cleanup=False) == [job.id], "a live worker's job reaped"
            time.sleep(ttl / 5)
        assert target.get_job_ids() == []
        redis.delete(alive)  # now it died
        wait_until(lambda: target.get_job_ids() == [job.id], timeout=3 * ttl)
    finally:
        reaper.stop()
        redis.close()


async def test_a_gateway_keeps_a_bounded_number_of_health_signals_waiting_on_a_redis_that_hangs(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, log_stream: io.StringIO,
) -> None:
    """Every refused webhook records a health signal off the loop: while Redis hung, each one queued another write
    (and held another thread), without bound. SIGNALS_IN_FLIGHT wait at most; the rest are dropped, counted in
    `lapor_health_signals_dropped_total` and said in one `health.signals_dropped` line; once Redis answers, signals
    are written again."""
    settings = test_env.settings(REDIS_URL=own_redis.url, LAPOR_HEALTH_EVALUATE_SECONDS="3600")
    app = create_app(settings, redis_connection(own_redis.url, timeout=20))
    gateway = app[GATEWAY_KEY]
    before = REGISTRY.get_sample_value("lapor_health_signals_dropped_total") or 0.0
    redis = redis_connection(own_redis.url)
    async with serving_gateway(settings, redis, app=app) as server:

        async def unsigned() -> int:  # refused before anything else touches Redis: signature_missing
            return (await post_callback(server.client, {"id": "1", "from": "6281234567890", "text": "x"},
                                        signature=None)).status_code

        with paused(own_redis):
            assert [await unsigned() for _ in range(SIGNALS_IN_FLIGHT + 12)] == [403] * (SIGNALS_IN_FLIGHT + 12)
            assert gateway.signal_writer.in_flight == SIGNALS_IN_FLIGHT
            assert (REGISTRY.get_sample_value("lapor_health_signals_dropped_total") or 0.0) - before == 12
        await async_wait_until(lambda: gateway.signal_writer.in_flight == 0)
        assert int(redis.hget("lapor:health:signals:sms-aggregator", "signature_failures") or 0) == SIGNALS_IN_FLIGHT
        assert await unsigned() == 403
        await async_wait_until(lambda: gateway.signal_writer.in_flight == 0)
        failures = int(redis.hget("lapor:health:signals:sms-aggregator", "signature_failures") or 0)
        assert failures == SIGNALS_IN_FLIGHT + 1
    [line] = [e for e in log_events(log_stream) if e["event"] == "health.signals_dropped"]
    assert (line["level"], line["dropped"], line["in_flight"], line["signal"]) == (
        "warning", 1, SIGNALS_IN_FLIGHT, "signature_failed")


async def test_the_smtp_process_keeps_a_bounded_number_of_refusals_waiting_on_a_redis_that_hangs(
    own_redis: EmbeddedRedis, test_env: TestEnvironment, log_stream: io.StringIO,
) -> None:
    """Every mail answered 451 records `intake_refused` off the loop: while Redis hung, each one queued another write
    on the default executor, without bound. The gateway's bound holds for it: SIGNALS_IN_FLIGHT wait at most, the
    rest are dropped, counted and said in one `health.signals_dropped` line; once Redis answers, refusals are written
    again."""
    settings = test_env.settings(REDIS_URL=own_redis.url)
    hanging = redis_connection(own_redis.url, timeout=20)
    intake = Intake(hanging, settings)
    processor = MailProcessor(settings, hanging, intake, can_refuse=True)
    before = REGISTRY.get_sample_value("lapor_health_signals_dropped_total") or 0.0
    redis = redis_connection(own_redis.url)
    try:
        with paused(own_redis):
            for _ in range(SIGNALS_IN_FLIGHT + 12):
                processor.refused("redis_unavailable")
            assert (REGISTRY.get_sample_value("lapor_health_signals_dropped_total") or 0.0) - before == 12
            assert processor.signal_writer.in_flight == SIGNALS_IN_FLIGHT
        await async_wait_until(lambda: processor.signal_writer.in_flight == 0)
        assert int(redis.hget("lapor:health:signals:email", "intake_refusals") or 0) == SIGNALS_IN_FLIGHT
        processor.refused("redis_unavailable")
        await async_wait_until(lambda: processor.signal_writer.in_flight == 0)
        assert int(redis.hget("lapor:health:signals:email", "intake_refusals") or 0) == SIGNALS_IN_FLIGHT + 1
    finally:
        intake.close()
    [line] = [e for e in log_events(log_stream) if e["event"] == "health.signals_dropped"]
    assert (line["level"], line["dropped"], line["in_flight"], line["signal"]) == (
        "warning", 1, SIGNALS_IN_FLIGHT, "intake_refused")


async def test_a_signal_writer_closed_while_redis_hangs_drops_the_writes_still_queued(
    own_redis: EmbeddedRedis,
) -> None:
    """On shutdown the writes queued behind the ones on their way are dropped: the interpreter's exit joins the
    writer's threads, and they ran every queued write first, each waiting out Redis's timeout (256 of them held a
    stopping gateway for minutes). Only the writes already on their way still go."""
    writer = SignalWriter(HealthSignals(redis_connection(own_redis.url, timeout=20)))
    queued = SIGNAL_WRITERS + 10
    redis = redis_connection(own_redis.url)
    with paused(own_redis):
        for _ in range(queued):
            writer.record("signature_failed", "sms-aggregator", "signature_invalid")
        writer.close()
    await async_wait_until(lambda: writer.in_flight == 0)
    written = int(redis.hget("lapor:health:signals:sms-aggregator", "signature_failures") or 0)
    assert written <= SIGNAL_WRITERS


async def test_the_smtp_processs_server_and_imap_poller_write_signals_through_the_one_writer_given(
    test_env: TestEnvironment, redis: Redis,
) -> None:
    """`lapor-gateway smtp` closes its one signal writer when it stops. Each mail processor made a writer of its own,
    which nothing closed: on a Redis that hung the process's exit ran every queued write first, past the
    supervisor's grace."""
    from channels.email.imap import ImapPoller
    from channels.email.server import start_smtp_server
    from gateway.errors import NotDurable
    from normalizer.envelope import ReportDraft
    from tests.email_support import SmtpServerThread

    class Recording(SignalWriter):
        def __init__(self) -> None:
            super().__init__(HealthSignals(redis))
            self.recorded: list[tuple[object, ...]] = []

        def record(self, method: str, *args: object) -> None:
            self.recorded.append((method, *args))

    class Refusing(Intake):
        async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
            raise NotDurable("redis unavailable", reason="redis_unavailable")

    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    writer = Recording()
    intake = Refusing(redis, settings)
    server = await start_smtp_server(settings, redis, intake, host="127.0.0.1", signal_writer=writer)
    try:
        sender = SmtpServerThread(settings, redis)  # its client only: the server is this test's
        raw = b"From: warga@contoh-desa.net\r\nTo: pengaduan@lapor.go.id\r\nSubject: jalan\r\n\r\njalan rusak\r\n"
        result = await asyncio.to_thread(sender.deliver, raw, "warga@contoh-desa.net")
    finally:
        server.close()
        await server.wait_closed()
        intake.close()
    assert result.data_code == 451, result
    assert writer.recorded == [("intake_refused", "email-smtp", "redis_unavailable")]
    assert ImapPoller(settings, redis, intake, signal_writer=writer).processor.signal_writer is writer


async def test_a_signal_recorded_after_its_writer_closed_is_left_unwritten_without_an_error(redis: Redis) -> None:
    """A webhook that finishes while the gateway stops records its signal after the writer closed: the closed pool
    raised RuntimeError in the handler (a 500 for a request that was fine) and left `in_flight` one too high."""
    writer = SignalWriter(HealthSignals(redis))
    writer.close()
    writer.record("signature_failed", "sms-aggregator", "signature_invalid")
    assert writer.in_flight == 0
    assert redis.hget("lapor:health:signals:sms-aggregator", "signature_failures") is None


def test_a_redis_outage_is_no_process_gone_once_redis_answers_again(own_redis: EmbeddedRedis,
                                                                     log_stream: io.StringIO) -> None:
    """Redis hangs for a minute: no process can write its beat meanwhile, and the gateway's first check once Redis
    answers came before their next beats (it ran 8 ms after Redis did, they beat every 2 s). It read every process as
    silent since the outage's start and took the channels down: "no HTTP gateway process (lapor-gateway serve) alive
    (last seen 54 s ago)", logged by that very gateway, "no SMTP server process alive", an error line each and a page,
    back to ok 5 s later. The beats are given their thresholds again from Redis's return, as after a clock's step; a
    process that stays silent past them is gone as ever."""
    from tests.test_health_transitions import health_lines, live_worker

    start = float(int(time.time()))
    wall, steady = {"now": start}, {"now": 1000.0}
    monitor = HealthMonitor(answer_within(own_redis.url, 0.3), load_rules(CONFIG_DIR / "health.toml"),
                            clock=lambda: wall["now"], monotonic=lambda: steady["now"])
    redis = Redis.from_url(own_redis.url)
    beats = [serve_beat(redis, clock=lambda: wall["now"]), *(
        ServingBeat(redis, process, channels, clock=lambda: wall["now"])
        for process, channels in (("smtp", ["email"]), ("pollers", ["x", "instagram"])))]

    def at(seconds: float, *, beating: bool = True) -> dict[str, str]:
        wall["now"], steady["now"] = start + seconds, 1000.0 + seconds
        if beating:
            for beat in beats:
                assert beat.beat()
            live_worker(redis, at=wall["now"])
        return {c["channel"]: c["state"] for c in monitor.check()["channels"]}

    try:
        assert set(at(0).values()) == {"ok"}
        assert set(at(2).values()) == {"ok"}
        with paused(own_redis):
            wall["now"], steady["now"] = start + 30, 1030.0
            with pytest.raises(RedisError):
                monitor.check()
        assert set(at(60, beating=False).values()) == {"ok"}  # Redis back, before the processes' next beats
        assert set(at(62).values()) == {"ok"}
        states = at(95, beating=False)  # now every process is silent for 33 s: gone
        assert {states[name] for name in ("sms-twilio", "email", "x")} == {"down"}
        assert health_lines(log_stream, "email")[-1]["reason"] == "no SMTP server process alive (last seen 33 s ago)"
        assert len(health_lines(log_stream, "email")) == 1  # down once, never as Redis came back
    finally:
        redis.close()


def monitor_on_a_clock(own_redis: EmbeddedRedis) -> tuple[HealthMonitor, Redis, ServingBeat, Callable[[float], None]]:
    """A health monitor with a short Redis timeout, the serve process's beat, and `at(seconds)`, which moves their
    wall and steady clocks to that many seconds after the start."""
    start = float(int(time.time()))
    wall, steady = {"now": start}, {"now": 1000.0}
    monitor = HealthMonitor(answer_within(own_redis.url, 0.3), load_rules(CONFIG_DIR / "health.toml"),
                            clock=lambda: wall["now"], monotonic=lambda: steady["now"])
    redis = Redis.from_url(own_redis.url)
    beat = serve_beat(redis, clock=lambda: wall["now"])

    def at(seconds: float) -> None:
        wall["now"], steady["now"] = start + seconds, 1000.0 + seconds

    return monitor, redis, beat, at


def test_a_process_that_died_is_gone_however_often_the_checks_meet_a_redis_error(own_redis: EmbeddedRedis,
                                                                                 log_stream: io.StringIO) -> None:
    """Every check that met a Redis error (a hang past the monitor's short timeout) counted the processes' silence
    from Redis's return: a gateway that died was hidden anew by each, for ever while they came more often than its
    threshold (30 s). Only the span Redis was away is left out of its silence."""
    monitor, redis, beat, at = monitor_on_a_clock(own_redis)

    try:
        at(0)
        assert beat.beat()
        states = []
        for seconds in range(5, 125, 5):  # the serve process is gone from the start; one check in four fails
            at(seconds)
            if seconds % 20 == 0:
                with paused(own_redis), pytest.raises(RedisError):
                    monitor.check()
                continue
            states.append({c["channel"]: c["state"] for c in monitor.check()["channels"]}["sms-twilio"])
        assert states[0] == "ok" and states[-1] == "down", states
    finally:
        redis.close()


def test_a_second_redis_outage_leaves_the_first_out_of_a_live_processs_silence(own_redis: EmbeddedRedis) -> None:
    """Only the last span of Redis away was left out of a process's silence: a Redis that came back and failed a check
    again (a restart's flapping) before the process's next beat counted the long outage before as its silence, and a
    live gateway read as gone (down), as before a check that read Redis again counted from its return."""
    monitor, redis, beat, at = monitor_on_a_clock(own_redis)

    def state() -> str:
        return {c["channel"]: c["state"] for c in monitor.check()["channels"]}["sms-twilio"]

    try:
        at(0)
        assert beat.beat()
        at(5)
        assert state() == "ok"
        for seconds in range(10, 65, 5):  # away for a minute: no beat could go in
            at(seconds)
            with paused(own_redis), pytest.raises(RedisError):
                monitor.check()
        at(65)
        assert state() == "ok"
        at(67)  # away again for a moment, before the process's next beat
        with paused(own_redis), pytest.raises(RedisError):
            monitor.check()
        at(68)
        assert state() == "ok"
        at(70)
        assert beat.beat()
        assert state() == "ok"
    finally:
        redis.close()
