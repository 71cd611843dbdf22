"""The worker processes: a non-forking RQ worker per queue, with the scheduler that retry intervals need, a
liveness key and a reaper for jobs of workers that died. SIGTERM is a warm shutdown: the job in hand finishes.

One queue per process, because RQ only dequeues atomically into its intermediate list (BLMOVE) when a worker
listens on a single queue; with several it uses BLPOP, and a worker that dies right after the pop loses the job.
`lapor-gateway worker` with several queues therefore forks one child process per queue.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from types import FrameType
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.job import Job
from rq.scheduler import RQScheduler

from gateway.errors import RetryableError
from gateway.logs import clear_message_context, get_logger, scrub, sensitive_values
from gateway.outage import RedisOutage as ProcessOutage
from gateway.outage import acl_denied, refusal_passes
from gateway.queues import (
    FORWARD_QUEUE,
    JobQueue,
    JSONSerializer,
    answer_within,
    queue,
    readable_job_ids,
    release_held_forwards,
)
from gateway.runtime import die_with_parent, libc_prctl, settle_heap, tied_to_this_process
from gateway.settings import Settings
from workers.context import WorkerContext, current, use_context
from workers.failures import FilingJob, dead_letter_failed_job
from workers.outage import QUIT_FIRST_WAIT_SECONDS, LoopQuits, RedisOutage
from workers.reaper import (
    HeldForwardWatch,
    Liveness,
    forget_worker_quit,
    note_worker_quit,
    note_worker_seen,
    worker_name,
)

log = get_logger()
REDIS_RETRY_SECONDS = 1.0
# How long a worker that stops waits for its retry scheduler (a child process, stopping at its next loop: within a
# second or two) before it kills it; at once while Redis does not answer, which the scheduler waits on.
SCHEDULER_STOP_SECONDS = 5.0
# RQ's own maintenance (expired registries) runs every ten minutes by default; a worker's runs every
# `queues.maintenance_interval_seconds` (30 s), this for a worker built without settings.
MAINTENANCE_INTERVAL_SECONDS = 30


class StopRequest:
    """Whether SIGTERM or SIGINT came. RQ's loop also ends on any error it meets, and only this tells the two apart.

    A plain flag rather than a threading.Event: a signal handler runs on the main thread, possibly in the middle of
    a wait on that very Event, and would wait for its lock forever."""

    __slots__ = ("asked",)

    def __init__(self) -> None:
        self.asked = False

    def ask(self, *_: object) -> None:
        """Usable as a signal handler."""
        self.asked = True

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, in slices short enough to see a stop within a tenth of a second; whether asked."""
        deadline = time.monotonic() + seconds
        while not self.asked and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.1, left))
        return self.asked


class OutageProofScheduler(RQScheduler):
    """RQ's retry scheduler (a child process of the worker, moving jobs whose retry interval is up back onto their
    queue), which waits out a Redis outage instead of dying of it.

    RQ's loop ended at the first Redis error, logged with its traceback twice (RQ's line, then multiprocessing's): at
    every restart of Redis, and after a hang as long as its connection's timeout (RQ's 415 s); the worker started
    another at its next maintenance, 30 s later. Here a Redis lost or silent only costs the round: the worker's
    liveness thread tells the outage (`worker.redis_lost`), and the next round, a second later, goes on where this
    one stopped. So does a Redis that refuses a command of its own for a reason waiting ends (`refusal_passes`: full
    at its maxmemory, a read-only replica, an ACL without one of its commands): it ended the loop, its traceback
    logged twice, and another started 30 s later to end the same way, no retry put back on its queue. That is told
    once by the scheduler itself (`worker_scheduler.redis_lost`, `refusing`, Redis's words; `worker_scheduler.
    redis_back` at the first round that goes through): the worker's own lines may never meet it (an ACL denying only
    the scheduler's commands). Any other error (WRONGTYPE on its registry, a bug) ends it as before, traceback and
    all."""

    def work(self) -> None:
        self._install_signal_handlers()
        refusals = ProcessOutage("worker_scheduler", queue=",".join(sorted(self._queue_names)))
        born = False
        while not self._stop_requested:
            try:
                if not born:
                    self.register_birth()
                    born = True
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
            except RedisError as error:
                if refusal_passes(error):
                    refusals.lost(error)
                elif not isinstance(error, (RedisConnectionError, RedisTimeoutError)):
                    raise
            else:
                refusals.back()
            self._sleep_unless_stopped(self.interval)
        with contextlib.suppress(RedisError):  # its locks expire by themselves, on a Redis lost or refusing
            self.stop()

    def _sleep_unless_stopped(self, seconds: float) -> None:
        """The wait between rounds, in slices that see a stop within a tenth of a second: a stop only sets a flag, and
        the worker told to stop waits for its scheduler (`stop_scheduler`), which slept out the whole interval."""
        deadline = time.monotonic() + seconds
        while not self._stop_requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.1, left))


class SchedulerKeeper:
    """The retry scheduler of one worker process, kept from one run of RQ's loop to the next (`run_worker`).

    RQ (rq 2.12) starts a scheduler process at the start of every `work()` and stops it in its goodbye: a worker whose
    loop quit (a refusal, an error no waiting ends, Redis gone while a job ran) forked and stopped one at every run,
    about once a second, and while an outage was told killed it at once (`worker.scheduler_killed`). It waits out an
    outage by itself (`OutageProofScheduler`), so it is left running between runs, and stopped only with the worker.
    One that ended (a bug of its own) is started again by the next run at most once a maintenance interval, as RQ's
    maintenance would."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 interval: float = MAINTENANCE_INTERVAL_SECONDS) -> None:
        self.scheduler: OutageProofScheduler | None = None
        self._clock = clock
        self._interval = interval
        self._started_at: float | None = None

    def alive(self) -> OutageProofScheduler | None:
        """The scheduler kept, while its process runs."""
        process = self.scheduler._process if self.scheduler is not None else None
        if process is None or process.pid is None or process.exitcode is not None:
            return None
        return self.scheduler

    def may_start(self) -> bool:
        """Whether a run may start a scheduler: none started yet, or the last one a maintenance interval ago."""
        return self._started_at is None or self._clock() - self._started_at >= self._interval

    def started(self, scheduler: OutageProofScheduler) -> None:
        self.scheduler = scheduler
        self._started_at = self._clock()

    def stop(self, queue: str, redis_answers: bool) -> None:
        """Stop the scheduler kept, waiting at most `SCHEDULER_STOP_SECONDS` (not at all while Redis does not answer,
        which a scheduler stopping waits on): one that has not stopped by then is killed. It holds no job, and its
        lock on the queue's schedule expires within a minute and a half."""
        scheduler = self.alive()
        if scheduler is None or scheduler._process is None or scheduler._process.pid is None:
            return
        process = scheduler._process
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
        process.join(SCHEDULER_STOP_SECONDS if redis_answers else 0)
        if process.exitcode is None:
            log.warning("worker.scheduler_killed", queue=queue,
                        reason="not_stopping" if redis_answers else "redis_not_answering")
            process.kill()
            process.join()


class LaporWorker(SimpleWorker):
    """SimpleWorker on one queue, plus liveness: other workers requeue our job quickly if this process dies."""

    # RQ doubles its wait between tries at a lost Redis up to a minute: after an outage of a few minutes the worker
    # took up to a minute more to take jobs once Redis was back. Trying every two seconds costs nothing.
    max_connection_wait_time = 2 * REDIS_RETRY_SECONDS
    # Its dequeue rejects a job id that is not UTF-8 instead of ending the loop on it.
    queue_class = JobQueue
    # A failed job its handler filed as dead letters stays out of RQ's failed registry, on the worker's path and on
    # RQ's clean-up of an abandoned job alike (`__init__` gives its queues this class: the clean-up reads jobs by it).
    job_class = FilingJob

    def __init__(self, *args: Any, stop: StopRequest | None = None, settings: Settings | None = None,
                 outage: RedisOutage | None = None, watch: Redis | None = None, scheduler_name: str | None = None,
                 quits: LoopQuits | None = None, keeper: SchedulerKeeper | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for target in self.queues:  # RQ gives its own class only to the queues it builds from names
            target.job_class = self.job_class
        # Shared by the workers `run_worker` builds one after another, so a late signal is not lost, and an outage
        # that outlasts a run is logged once.
        self.stop = stop or StopRequest()
        self.outage = outage or RedisOutage(",".join(q.name for q in self.queues))
        # The longest one wait for a job lasts (`dequeue_job_and_maintain_ttl`): the worker's maintenance interval.
        self._longest_wait = (settings.queues.maintenance_interval_seconds if settings is not None
                              else MAINTENANCE_INTERVAL_SECONDS)
        self.quits = quits or LoopQuits(self.outage.queue, first_wait=(
            settings.queues.quit_first_wait_seconds if settings is not None else QUIT_FIRST_WAIT_SECONDS))
        # The retry scheduler kept between runs (`SchedulerKeeper`); one of its own for a worker built alone, whose
        # scheduler stops with its run, as RQ's does.
        self._keeps_scheduler = keeper is not None
        self.keeper = keeper or SchedulerKeeper(interval=self._longest_wait)
        self._settings = settings
        # The client the liveness thread watches Redis with (`answer_within`); None: one of its own for each run.
        self._watch = watch
        self._watching: Redis | None = None  # the one of the run in progress
        # Whether Redis was away as RQ's loop ended (`teardown`): RQ quit on the outage, not on a bug of its own.
        self.ended_in_outage = False
        # The name its retry scheduler holds the queue's scheduler lock under, shared by the runs of one process
        # (`run_worker`): RQ's loop ends on a Redis lost while a job runs, and the next run's scheduler, named anew,
        # found the lock (a minute long, kept in Redis's append-only file) held by the one the ended run had just
        # stopped, and gave up: retries waited up to a minute and a half. One name takes its predecessor's lock
        # over; the predecessor is dead by then (`stop_scheduler` kills one that does not stop).
        self.scheduler_name = scheduler_name or uuid.uuid4().hex

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """RQ's (rq 2.12), with the scheduler that waits out an outage, kept from one run to the next: the one an
        earlier run started goes on, where RQ started one at every run and stopped it at the run's end."""
        kept = self.keeper.scheduler
        if not burst and kept is not None and (self.keeper.alive() is not None or not self.keeper.may_start()):
            # Running; or ended a moment ago, for RQ's maintenance to start again (`run_maintenance_tasks`: it starts
            # the process of the worker's scheduler anew where none runs), not every run, a second apart.
            self.scheduler = kept
            return
        self.scheduler = OutageProofScheduler(
            self.queues, connection=self.connection, name=self.scheduler_name,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer,
        )
        if not burst:  # kept even without the lock: RQ's maintenance starts its process once the lock is free
            self.keeper.started(self.scheduler)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """RQ's, waiting for a job at most a maintenance interval at a time. RQ runs its maintenance only between two
        waits, and a wait lasted its dequeue timeout (405 s): the maintenance is what starts the retry scheduler of a
        worker that found the queue's scheduler lock held as it started (by the scheduler of a worker killed with
        SIGKILL: the lock outlives it by a minute), so on a quiet queue the retries waited nearly seven minutes (the
        acknowledgements of a reply worker restarted after a kill, the only one on its queue). RQ's loop goes on
        waiting after each of these shorter waits; the connection's socket timeout stays RQ's."""
        if timeout is not None:
            timeout = min(timeout, self._longest_wait)
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def clean_registries(self) -> None:
        """RQ's maintenance, once job ids that are not UTF-8 are off the queues' intermediate lists (rejected, as the
        dequeue rejects them): RQ's clean-up of a list reads its ids as UTF-8, and one that an earlier version's
        dequeue left there (or a stock RQ worker's) ended the loop again at every maintenance."""
        for target in self.queues:
            key = target.intermediate_queue_key
            readable_job_ids(self.connection, target.name, key, self.connection.lrange(key, 0, -1),
                             found="intermediate")
        super().clean_registries()

    def stop_scheduler(self) -> None:
        """RQ's, with a bound, and only as the worker stops. RQ stopped its scheduler at the end of every run, and a
        run that quit (a refusal, an error no waiting ends, Redis gone while a job ran) forked a new one at the next,
        about once a second: the one kept (`SchedulerKeeper`) goes on. RQ waited for its scheduler to stop for as
        long as it took, and a scheduler waiting on a Redis that hangs (on RQ's connection: minutes) held up a worker
        told to stop (a restart, a deploy): one that has not stopped in time is killed (`SchedulerKeeper.stop`)."""
        if self._keeps_scheduler and not self.stop.asked:
            return
        self.keeper.stop(self.outage.queue, redis_answers=not self.outage.not_answering)

    def teardown(self) -> None:
        """RQ's goodbye: stop the scheduler, unregister, unsubscribe. Told to stop while Redis does not answer, only
        the first: the others wait on RQ's connection, which waits minutes for a Redis that hangs, and a stop must
        not. RQ's registration then expires by itself, as a killed worker's does; the process is about to end.
        Whether an outage was on is noted first: RQ's goodbye after a quit on a hang waits until Redis answers again,
        and by then the liveness thread may have told the outage's end."""
        self.ended_in_outage = self.outage.active
        try:
            if self.stop.asked and not self._redis_answers():
                self.stop_scheduler()
                return
            super().teardown()
        finally:
            self._end_pubsub_thread()

    def unsubscribe(self) -> None:
        """RQ's, with its thread told to stop before the channel is left. RQ left it first: a thread woken by the
        server's answer before it was told went back to its wait of a minute, and RQ gave up joining it after 1 s, a
        second of about one stop in three. Told first, the answer wakes it to end."""
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()
        super().unsubscribe()

    def _end_pubsub_thread(self) -> None:
        """RQ stops the thread of its command channel last, after unregistering on Redis: a goodbye that Redis ended
        (gone, silent) left it running for good after the run, reconnecting, holding a connection and logging RQ's
        "could not connect" error every 2 s outside any run's outage filter, one more after each outage. Told to
        stop, it needs no Redis: it ends at its next wake-up (at most a minute) and closes its connection."""
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()

    def _redis_answers(self) -> bool:
        """Whether Redis answers now, as the liveness thread sees it (within its timeout)."""
        if self.outage.active:
            return False
        if self._watching is None:
            return True
        try:
            self._watching.ping()
        except RedisError:
            return False
        return True

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop.ask()
        super().request_stop(signum, frame)

    def _install_signal_handlers(self) -> None:
        """RQ's handlers for the run ahead; a stop that came while this worker was being built ends the run at
        once (RQ's loop reads `_stop_requested`, rq 2.12)."""
        super()._install_signal_handlers()
        if self.stop.asked:
            self._stop_requested = True

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        """RQ's start of a run, then `worker.ready`: said before it, a worker that a monitor or a test trusted at its
        word was not yet registered on its queue, and the views counted it missing (seen in CI). Not while RQ's loop
        quits on a refusal at every run, about once a second (`RedisOutage.refusing`): its end is told instead."""
        super().bootstrap(*args, **kwargs)
        if not self.outage.refusing:
            log.info("worker.ready", queue=",".join(self.queue_names()))

    def execute_job(self, job: Job, queue: Queue) -> None:
        """The job, its failure handling included, with the channel and Tracking ID it binds for its own lines
        only: left bound, the worker's next lines (a lost Redis connection while idle) named the last report. The
        citizen's words and sender the job learns stay bound until its failure is logged and stored
        (`job_sensitive_values`), and no longer: the next job's lines are not scrubbed of them."""
        try:
            with sensitive_values():
                super().execute_job(job, queue)
        finally:
            clear_message_context()

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None,
                           exc_string: str = "") -> None:
        """RQ's, storing the traceback as the worker's log line shows it (`scrub`, the job's values bound). RQ keeps a
        failed job's traceback in Redis for its `failure_ttl` (30 days; `rq:results:<job id>`), and a message quoting a
        number, an address or the citizen's words (a provider's refusal echoing the recipient, a validation error
        quoting the input) was kept there as raised, outside the logs' redaction and the dead letter's."""
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=scrub(exc_string))

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """RQ logs every exception a job raises at error level with its traceback, then runs the exception handlers.
        A RetryableError with tries left is the job asking for its next one, and the job logged it as a warning
        (forward.retry, reply.retry, email.reply_retry): a traceback for each try of every job through a case-store
        outage buried the errors that need one. Those (RQ's job timeout, a bug, a last try) keep RQ's line."""
        if not (isinstance(exc_info[1], RetryableError) and job.retries_left):
            super().handle_exception(job, *exc_info)
            return
        for handler in self._exc_handlers:  # as RQ walks them: only an explicit falsy answer stops the walk
            answer = handler(job, *exc_info)
            if answer is not None and not answer:
                break

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's loop, beside the liveness thread. That thread watches Redis on a client of its own that gives up
        after `queues.liveness_timeout_seconds` (`answer_within`): a Redis that hangs is logged as lost within
        seconds, while RQ's blocking dequeue keeps its own long wait. A Redis that does not answer the first beat
        ends the run at once (RedisError), for `run_worker` to log and try again."""
        names = [q.name for q in self.queues]
        settings = self._settings or current().settings
        watch = self._watch or answer_within(settings.redis_url, settings.queues.liveness_timeout_seconds)
        self._watching = watch
        try:
            burst = kwargs.get("burst", args[0] if args else False)
            held = HeldForwardWatch(watch, settings) if FORWARD_QUEUE in names else None
            if held is not None and burst:
                # A burst run drains everything, including what a gateway holds back for its linger.
                release_held_forwards(self.connection, settings)
            probe = None
            if held is not None and not burst and settings.casestore.probe_seconds > 0:
                from workers.casestore_probe import CaseStoreProbe  # the forward job's module: forward workers only

                # A thread of its own, not the liveness thread's: a probe may wait out the case store's timeout.
                probe = CaseStoreProbe(watch, settings, self.name)
            liveness = Liveness(watch, self.name, names, settings, held=held, outage=self.outage)
            liveness.start()
            if probe is not None:
                probe.start()
            # RQ's error line at every try at a lost Redis, and its quit on a refusal: told once instead; then its
            # quit on the same error as the last run's: counted instead of another traceback.
            rq_lines = (self.outage.take_rq_line, self.quits.take_rq_line)
            for rq_line in rq_lines:
                self.log.addFilter(rq_line)
            try:
                return super().work(*args, **kwargs)
            finally:
                for rq_line in rq_lines:
                    self.log.removeFilter(rq_line)
                if probe is not None:
                    probe.stop()
                liveness.stop()
        finally:
            self._watching = None
            if watch is not self._watch:
                watch.close()


def build_worker(settings: Settings, queue_names: str | Sequence[str]) -> LaporWorker:
    """A worker for one queue (how processes run); several queues only for an in-process burst drain. It brings
    a new context of its own, installed for the jobs it runs."""
    context = WorkerContext.build(settings)
    use_context(context)
    return worker_on(context, queue_names)


def worker_on(context: WorkerContext, queue_names: str | Sequence[str], stop: StopRequest | None = None,
              outage: RedisOutage | None = None, scheduler_name: str | None = None, quits: LoopQuits | None = None,
              keeper: SchedulerKeeper | None = None) -> LaporWorker:
    """An RQ worker on an existing context's Redis client. Cheap, unlike the context (its trained triage model):
    a worker that lost Redis builds only this again, since the client reconnects by itself."""
    names = [queue_names] if isinstance(queue_names, str) else list(queue_names)
    return LaporWorker(
        [queue(name, context.redis) for name in names], connection=context.redis, serializer=JSONSerializer,
        name=worker_name(), maintenance_interval=context.settings.queues.maintenance_interval_seconds, stop=stop,
        settings=context.settings,
        outage=outage, watch=context.watch, exception_handlers=[dead_letter_failed_job],
        scheduler_name=scheduler_name, quits=quits, keeper=keeper,
    )


def run_worker(settings: Settings, queue_name: str, *, burst: bool = False) -> bool:
    """Work one queue until told to stop (SIGTERM, SIGINT) or, with `burst`, until it is empty.

    A Redis outage is waited out, never a crash: RQ's loop quits on a lost or timed-out connection (returning, or
    raising from its own teardown), and the worker comes back by itself; whatever job it held is requeued by the
    reaper. The context outlives the outage, so a forward worker drains the backlog at once instead of training its
    triage model again first. A stop asked for at any point ends it: RQ's `work()` installs signal handlers bound
    to that run's worker and leaves them behind, so between runs the signals set `stop` instead, and a run that
    starts after a stop ends at once. The process's own handlers and signal mask are put back when this returns.

    A Redis that refuses what RQ's loop runs, for a reason waiting ends (`refusal_passes`), is an outage as well, told
    once (`RedisOutage.refused`). A run that ends on an error no waiting ends (WRONGTYPE on a queue key, an unknown
    command, a bug) is `worker.quit_unasked`, and the next waits longer at each quit in a row (`LoopQuits`); the
    retry scheduler lives on from one run to the next (`SchedulerKeeper`)."""
    if threading.current_thread() is not threading.main_thread():  # signals reach only the main thread
        raise RuntimeError("run_worker handles SIGTERM and SIGINT: call it from the main thread")
    stop = StopRequest()
    outage = RedisOutage(queue_name)
    quits: LoopQuits | None = None
    keeper = SchedulerKeeper(interval=settings.queues.maintenance_interval_seconds)
    scheduler_name = uuid.uuid4().hex  # one for every run of this process (LaporWorker.scheduler_name)
    worker_id = uuid.uuid4().hex[:12]  # the process's own record of its quits (`note_worker_quit`)
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    _stop_on_signals(stop)
    # A child of run_workers starts with them blocked: a stop that came before the line above is taken now.
    previous_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        ChildrenDieWithWorker().register()
        context = WorkerContext.build(settings)
        use_context(context)
        quits = LoopQuits(queue_name, record=partial(note_worker_quit, context.watch, queue_name, worker_id),
                          first_wait=settings.queues.quit_first_wait_seconds)
        # Before the warm-up (the forward worker's triage model: seconds), so a worker starting where its queue's
        # last worker was seen long ago (a restart after a stop, a new deployment on an old Redis) is not shown as
        # missing meanwhile. An outage here is the loop's below to tell.
        with contextlib.suppress(RedisError):
            note_worker_seen(context.watch, [queue_name])
        warm_up(context, queue_name)
        settle_heap()  # once: after an outage it would freeze what the failed run left behind
        while not stop.asked:
            wait = REDIS_RETRY_SECONDS
            quits.began()
            try:
                # RQ's worker names itself to Redis as it is built, on the connection that waits minutes for an
                # answer: a Redis that hangs is found here first, in the liveness timeout.
                context.watch.ping()
                worker = worker_on(context, queue_name, stop, outage, scheduler_name, quits, keeper)
                if quits.recorded is not None:  # a run begun: the views no longer tell its last quit
                    forget_worker_quit(context.watch, queue_name, worker_id, quits.recorded)
                worked = worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
                if burst:
                    return worked
                if stop.asked:  # the usual stop (SIGTERM, make run's Ctrl-C) ends RQ's loop: logged as the others are
                    log.info("worker.stopped", queue=queue_name)
                    return worked
                if not (worker.ended_in_outage or outage.active):  # else RQ quit on the outage already told
                    wait = quits.told()
            except StopRequested:  # the finished run's handler, reached during its teardown: the stop is noted
                break
            except RedisError as error:
                if stop.asked:
                    break  # told to stop, and Redis went away with it (as under a killed supervisor)
                if acl_denied(error):  # a command of RQ's, not of the beat: the next run's first beat goes through
                    outage.refused(error)
                elif isinstance(error, (RedisConnectionError, RedisTimeoutError)) or refusal_passes(error):
                    outage.lost(error)  # logged once per outage, not at every try
                else:  # WRONGTYPE on a key the run writes as it starts, an unknown command: no outage to wait out
                    quits.failed(error)
                    wait = quits.told(reason="run_start_error")
            finally:
                _stop_on_signals(stop)  # not the finished run's handlers
            stop.wait(wait)
        log.info("worker.stopped", queue=queue_name)
        return False
    finally:
        with contextlib.suppress(RedisError):
            keeper.stop(queue_name, redis_answers=not outage.not_answering)  # a stop between runs: no run's goodbye did
        if quits is not None and quits.recorded is not None and not outage.not_answering:
            forget_worker_quit(context.watch, queue_name, worker_id, quits.recorded)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop_on_signals(stop: StopRequest) -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop.ask)


def warm_up(context: WorkerContext, queue_name: str) -> None:
    """Do the slow first-use work before taking jobs, so the first citizen's report is not the one that waits
    (the forward worker trains the triage model: about two seconds, once per context)."""
    if queue_name == FORWARD_QUEUE:
        from workers.forward import triage_engine

        triage_engine(context)


class ChildrenDieWithWorker:
    """Fork hooks for a worker process: a child forked by the worker's main thread dies with the worker.

    That child is RQ's retry scheduler (a SimpleWorker forks nothing else; job code forks nothing today). Without
    this, a worker killed with SIGKILL (the OOM killer, `kill -9`) leaves its scheduler running on its own, holding
    the queue's scheduler lock, outside any supervisor, with the code it started with. Forks from other threads
    (the signal would come when that thread ends) and forks by the child itself are left alone."""

    def __init__(self) -> None:
        self._worker = (os.getpid(), threading.get_ident())
        self._prctl = libc_prctl()
        self._forking: tuple[int, int] | None = None

    def register(self) -> None:
        os.register_at_fork(before=self._before, after_in_child=self._after_in_child)

    def _before(self) -> None:
        self._forking = (os.getpid(), threading.get_ident())

    def _after_in_child(self) -> None:
        if self._forking == self._worker:
            die_with_parent(self._worker[0], self._prctl, signal.SIGKILL)
            # The worker's own stop handlers mean nothing here: until the scheduler installs its own, a SIGTERM
            # must end it, not set a flag in a copy of the worker nobody reads (its parent would wait forever).
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)


def run_workers(settings: Settings, queue_names: Sequence[str], *, burst: bool = False) -> int:
    """One queue: work it here. Several: one child process per queue, stopped together; the worst exit code.

    The children are forked from this process, which has loaded the code already: a fresh interpreter per queue
    spent about two seconds of CPU each importing it again, and kept its own copy of every module in memory.

    A child that ends before a stop was asked for (killed, crashed; in a burst, one that failed) stops the others
    too, and the exit code says so: a process left working some of its queues looks alive to whatever runs it, so
    no restart policy would bring the missing queue back (`make run`'s supervisor stops everything for the same
    reason). A child killed by a signal counts as 128 + the signal, as a shell reports it."""
    if len(queue_names) == 1:
        run_worker(settings, queue_names[0], burst=burst)
        return 0
    if threading.active_count() > 1:
        # A forked child has only the forking thread, and every lock another thread held stays held in it for good
        # (the log writer's, prometheus_client's): its first log line or metric would hang the worker.
        raise RuntimeError("run_workers forks: call it before this process starts any thread")
    # Ignored SIGCHLD (inherited across exec from whatever started us) has the kernel reap the children itself:
    # waitpid would then find none of them, a dead child unnoticed.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    tie_to_us = tied_to_this_process(signal.SIGKILL)
    # Stops and ended children are taken one at a time with sigwait, never by a handler: a handler's signal that
    # came just before a blocking wait began went unseen until a child ended (a stop lost, the children never told),
    # and a stop that came while the children were forked ended this process by its default action (the kernel
    # then SIGKILLs the children). The children start with stops blocked too, until their own handlers are in place
    # (run_worker).
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, *STOP_SIGNALS})
    try:
        return _supervise({fork_worker(settings, name, burst, tie_to_us): name for name in queue_names}, burst)
    finally:
        while signal.sigtimedwait(STOP_SIGNALS, 0) is not None:  # a stop that came once every child had ended
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _supervise(running: dict[int, str], burst: bool) -> int:
    """Wait for the children (pid: queue), with SIGCHLD and the stop signals blocked; the worst exit code."""
    stopping = False
    worst = 0
    while True:
        for pid, status in _ended_children():  # whichever end first, not the first forked
            queue_name = running.pop(pid, None)
            if queue_name is None:
                continue
            code = exit_code(status)
            worst = max(worst, code)
            if not stopping and (code or not burst):
                log.error("worker.child_exited", queue=queue_name, exit_code=code, others=sorted(running.values()))
                worst = max(worst, 1)
                stopping = True
                _signal_all(running, signal.SIGTERM)
        if not running:
            return worst
        signum = signal.sigwait({signal.SIGCHLD, *STOP_SIGNALS})  # a child that ends from here on is seen next
        if signum != signal.SIGCHLD:
            stopping = True
            _signal_all(running, signum)


def _ended_children() -> Iterator[tuple[int, int]]:
    """The children that have ended so far, reaped: (pid, wait status)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        yield pid, status


def _signal_all(running: dict[int, str], signum: int) -> None:
    """Only children not reaped yet, so no pid is reused by then."""
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def exit_code(status: int) -> int:
    """A child's wait status as a shell reports it: its exit code, or 128 + the signal that killed it."""
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def system_exit_code(request: SystemExit) -> int:
    """The exit code the interpreter would give `request` in a process of its own: 0 for none, its number, else 1."""
    if request.code is None:
        return 0
    return request.code if isinstance(request.code, int) else 1


def fork_worker(settings: Settings, queue_name: str, burst: bool, tie_to_parent: Callable[[], None]) -> int:
    """A child process that works `queue_name` and exits; its pid. Forked before this process starts any thread
    or opens any connection, so the child inherits neither."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else the child would write this process's buffered lines a second time
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})  # the parent's wait, not the worker's
        tie_to_parent()
        run_worker(settings, queue_name, burst=burst)
        code = 0
    except SystemExit as exit_request:  # RQ's cold shutdown (a second stop signal while a job runs): an exit
        code = system_exit_code(exit_request)
    except BaseException:  # the child must reach os._exit, never return into the parent's code
        # With its traceback, as a worker started on its own would log it (process.uncaught_exception).
        log.error("worker.crashed", queue=queue_name, exc_info=True)
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)
