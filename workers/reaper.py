"""Finding jobs whose worker died mid-job (SIGKILL, OOM, a lost host) and putting them back on their queue.

RQ notices an abandoned job only when its started-registry entry expires (minutes). Our workers keep a short
liveness key alive from a thread; any worker's reaper thread requeues, at the front, the started jobs of workers
whose key has expired. A job can then run twice (the case store's idempotency on the Tracking ID makes that
harmless); it cannot be lost. A job that kills every worker that runs it (an out-of-memory on a batch of huge
e-mails, a native crash) must not stall its queue: each reap is counted on the job, and after
`queues.max_worker_deaths` a forward job of several reports is split in halves, so the report at fault ends up
alone, and any other job is dead-lettered as `worker_died`, where an operator sees it and can requeue it.
A job whose hash cannot be read is set aside in RQ's failed registry, and a failure on one job is logged with its
id: either made every pass fail before the jobs after it, and no dead worker's job was requeued again.
The same thread of a forward worker releases held forward IDs that no gateway
released (`HeldForwardWatch`): a gateway that died between making reports durable and releasing them.

A key that lapsed tells a dead worker only while Redis answered it: a Redis that hangs or restarts for longer than
the key's lifetime lets every worker's key lapse, live ones included. So a reaper reaps only once Redis has answered
its own beats for a whole lifetime (after its start, and again after each beat that met a Redis error): by
then every live worker has beaten again.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, ResponseError, WatchError
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.executions import Execution, ExecutionRegistry
from rq.job import Job, JobStatus
from rq.worker import Worker
from rq.worker_registration import REDIS_WORKER_KEYS, WORKERS_BY_QUEUE_KEY

from gateway.health.signals import WORKER_QUITS_KEY, WORKER_SEEN_KEY, WorkerQuit, worker_quit_field
from gateway.lease import RELEASE_SCRIPT
from gateway.logs import get_logger, loggable_host
from gateway.queues import (
    FORWARD_FUNC,
    FORWARD_QUEUE,
    HELD_FORWARD_KEY,
    JSONSerializer,
    enqueue_calls,
    envelope_key,
    queue,
    readable_envelope,
    readable_job_ids,
    release_held_forwards,
)
from gateway.settings import Settings
from gateway.spool import redis_time
from gateway.transactions import commit_watched
from workers.deadletters import DeadLetters
from workers.failures import WORKER_DIED, count_failed_reply, dead_letter_job, job_identity
from workers.outage import RedisOutage

log = get_logger()

WORKER_PREFIX = "lapor-"
ALIVE_KEY = "lapor:worker-alive:{name}"
REAPER_LOCK = "lapor:reaper:lock"
INTERMEDIATE_SEEN = "lapor:reaper:intermediate-seen"
# A live worker moves a job from the intermediate list to the started registry within milliseconds.
ORPHAN_AFTER_SECONDS = 3.0
# Forward jobs a reaper pass makes at most from IDs a dead gateway held (the rest: next pass).
MAX_RELEASE_JOBS_PER_PASS = 20
# How long RQ's failed registry keeps a job the reaper could not read: as long as it keeps any failed job of ours.
UNREADABLE_FAILURE_TTL = 30 * 24 * 3600
# The job meta field counting the workers that died running the job (written with each requeue).
REAPS_META = "reaps"


def worker_name() -> str:
    """`lapor-<host>-p<pid>-<6 hex>`, whole in RQ's log lines. With the pid after a bare dash, a suffix of six
    digits (about one name in 17) or a host ending in digits joined it into a phone number: `lapor-vm-[phone]`.
    After a letter the pid's digits join nobody's, and a host name that reads as a number goes as its checksum."""
    return f"{WORKER_PREFIX}{loggable_host(socket.gethostname())}-p{os.getpid()}-{uuid.uuid4().hex[:6]}"


def note_worker_seen(redis: Redis, queue_names: Sequence[str], *, pipeline: Any = None,
                     at: float | None = None) -> None:
    """Say that a live worker takes `queue_names` now (or `at`): the status views count a queue's missing worker
    from the last time (`gateway.health.rules.rule_worker_missing`)."""
    now = time.time() if at is None else at
    (pipeline if pipeline is not None else redis).hset(WORKER_SEEN_KEY, mapping=dict.fromkeys(queue_names, now))


def note_worker_quit(redis: Redis, queue_name: str, worker_id: str, quit_record: WorkerQuit) -> None:
    """Tell the views that a run of this worker process ended unasked, and when its next begins (`WORKER_QUITS_KEY`,
    the `worker_quitting` rule); records of the queue's other processes whose next run was due over
    `WORKER_QUIT_KEPT_SECONDS` ago (killed in their wait: nothing took them away) go with it. A Redis error here is
    the next run's to meet and tell."""
    with contextlib.suppress(RedisError):
        redis.eval(_NOTE_QUIT, 1, WORKER_QUITS_KEY, worker_quit_field(queue_name, worker_id), quit_record.dumps(),
                   worker_quit_field(queue_name, ""), quit_record.at - WORKER_QUIT_KEPT_SECONDS)


def forget_worker_quit(redis: Redis, queue_name: str, worker_id: str, quit_record: WorkerQuit) -> None:
    """A worker stopping, or beginning a run: the record of its last quit goes, if it is still the one it wrote. A
    process stopped was said by the views to begin again by itself ("its worker's runs end on an error, the next in 60
    s") until that run was overdue; one whose run began is no longer between runs, whatever the queue's other
    processes do (the queue's one time seen, which any of them sets, hid one still quitting). Another process's
    quitting on the same queue stays told."""
    with contextlib.suppress(RedisError):
        redis.eval(_FORGET_OWN_QUIT, 1, WORKER_QUITS_KEY, worker_quit_field(queue_name, worker_id),
                   quit_record.dumps())


# A record of a worker process whose next run was due this long ago is of a process gone (a run beats as it begins,
# and its next quit writes the record again): an hour, past any wait between runs (a minute at most).
WORKER_QUIT_KEPT_SECONDS = 3600.0

# The field set, and the queue's fields of records due before ARGV[4] dropped (atomic: a record another process writes
# meanwhile is read whole or not at all), an earlier release's one field of the queue (its bare name) among them.
_NOTE_QUIT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local field = fields[i]
  if field ~= ARGV[1] and (string.sub(field, 1, #ARGV[3]) == ARGV[3] or field .. '\t' == ARGV[3]) then
    local ok, record = pcall(cjson.decode, fields[i + 1])
    if not ok or type(record) ~= 'table' or type(record['at']) ~= 'number' or type(record['retry_in']) ~= 'number'
       or record['at'] + record['retry_in'] < tonumber(ARGV[4]) then
      redis.call('HDEL', KEYS[1], field)
    end
  end
end
return 1
"""

# The field goes only while it holds the value given (atomic: a quit the process wrote meanwhile stays).
_FORGET_OWN_QUIT = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def is_worker_alive(redis: Redis, name: str) -> bool:
    if name.startswith(WORKER_PREFIX):
        return bool(redis.exists(ALIVE_KEY.format(name=name)))
    return bool(redis.exists(f"rq:worker:{name}"))  # a stock RQ worker: trust RQ's own heartbeat key


def reap_abandoned(redis: Redis, queue_names: Sequence[str], settings: Settings) -> list[str]:
    """Requeue started jobs whose worker is gone (or split or dead-letter one that took too many workers with it);
    returns their job ids. One reaper at a time (a short lock, released only while it is still this pass's: a pass
    that outlasted it deleted the next reaper's, and a third ran beside that one)."""
    token = uuid.uuid4().hex
    if not redis.set(REAPER_LOCK, token, nx=True, ex=5):
        return []
    reaped: list[str] = []
    try:
        for name in queue_names:
            target = queue(name, redis)
            registry = target.started_job_registry
            for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
                try:
                    execution = Execution.fetch(execution_id, job_id, redis)
                except (NoSuchJobError, ValueError):
                    continue
                if is_worker_alive(redis, execution.worker_name):
                    continue
                member = f"{job_id}:{execution_id}"
                try:
                    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
                except NoSuchJobError:
                    redis.zrem(registry.key, member)
                    continue
                except RedisError:
                    raise
                except Exception as error:  # a hash RQ cannot read (a bad status, date, dependency list)
                    _set_aside_unreadable(redis, target, job_id, error, started_member=member)
                    continue
                try:
                    _after_worker_died(redis, settings, target, job, member, execution.worker_name)
                except RedisError:  # Redis down, or contention: the whole pass waits for the next beat
                    raise
                except DeserializationError as error:  # its call cannot be read: neither split nor dead-lettered
                    _set_aside_unreadable(redis, target, job_id, error, started_member=member)
                    continue
                except Exception as error:  # one job's failure must not keep the reaper from the others
                    log.error("worker.reap_job_failed", job_id=job_id, queue=name, error=type(error).__name__)
                    continue
                reaped.append(job_id)
            reaped.extend(_reap_intermediate(redis, target))
    finally:
        redis.eval(RELEASE_SCRIPT, 1, REAPER_LOCK, token)
    return reaped


def _set_aside_unreadable(redis: Redis, target: Any, job_id: str, error: Exception, *,
                          started_member: str | None = None, intermediate_field: str | None = None) -> None:
    """A dead worker's job that cannot be read goes to RQ's failed registry, as a job a worker cannot read does (no
    dead letter: it names no call to redo), instead of failing every reaper pass before the jobs after it. Logged
    once, by the reaper that took it off the started registry or the intermediate list."""
    pipe = redis.pipeline(transaction=True)
    if started_member is not None:
        pipe.zrem(target.started_job_registry.key, started_member)
    else:
        pipe.lrem(target.intermediate_queue_key, 1, job_id)
        pipe.hdel(INTERMEDIATE_SEEN, intermediate_field)
    pipe.zadd(target.failed_job_registry.key, {job_id: time.time() + UNREADABLE_FAILURE_TTL})
    pipe.hset(Job.key_for(job_id), "status", JobStatus.FAILED.value)
    if pipe.execute()[0]:
        log.error("worker.reap_job_unreadable", job_id=job_id, queue=target.name, error=type(error).__name__)


def reap_count(job: Job) -> int:
    """How many workers died running this job so far (a job requeued from the dead letters starts at 0)."""
    try:
        return max(0, int(job.meta.get(REAPS_META) or 0))
    except (TypeError, ValueError):
        return 0


def _after_worker_died(redis: Redis, settings: Settings, target: Any, job: Job, member: str, dead_worker: str) -> None:
    """Requeue the job at the front, its reap counted in the same transaction; once it has taken
    `queues.max_worker_deaths` workers, split or dead-letter it instead (`_give_up_running_whole`)."""
    reaps = reap_count(job) + 1
    registry = target.started_job_registry.key
    if reaps < settings.queues.max_worker_deaths:

        def requeue(pipe: Any) -> bool:
            if not _still_started(pipe, registry, job, member):
                pipe.multi()
                return False
            pipe.multi()  # explicit: RQ's enqueue_job joins a transaction only if it is already open
            pipe.zrem(registry, member)
            job.meta[REAPS_META] = reaps  # saved with the job by enqueue_job, in this transaction
            target.enqueue_job(job, pipeline=pipe, at_front=True)
            return True

        if commit_watched(redis, requeue, what="requeue of a job whose worker died"):
            log.warning("worker.job_reaped", job_id=job.id, queue=target.name, dead_worker=dead_worker, reaps=reaps,
                        **_channel_of(job))
        return

    def replace(pipe: Any) -> str | None:
        if not _still_started(pipe, registry, job, member):
            pipe.multi()
            return None
        outcome = _give_up_running_whole(redis, settings, pipe, job, reaps)  # opens the MULTI
        pipe.zrem(target.started_job_registry.key, member)
        # Not RQ's job.delete: it reads every execution of the job, and fails on one whose hash expired (90 s) before
        # its index entry (150 s), as a dead worker's may have when the last of its deaths comes minutes after the
        # first.
        pipe.delete(job.key, job.dependents_key, job.dependencies_key, ExecutionRegistry(job.id, redis).key)
        return outcome

    # Under WATCH: a status job's give-up reads whether its answer was queued (`workers.status.give_up`).
    outcome = commit_watched(redis, replace, what="give-up of a job that killed its workers")
    if outcome is None:
        return
    if outcome == "dead_lettered":
        count_failed_reply(redis, job, WORKER_DIED)
    log.warning("worker.job_poisoned", job_id=job.id, queue=target.name, func=job.func_name,
                dead_worker=dead_worker, reaps=reaps, outcome=outcome, **_channel_of(job))


def _channel_of(job: Job | None) -> dict[str, str]:
    """The channel a reaped job serves, as its dead letter names it (`workers.failures.job_identity`: a reply's or a
    status job's), for its lines; nothing for a forward, whose batch may hold reports of any channel, nor for a job
    whose arguments cannot be read (its line goes all the same)."""
    if job is None:
        return {}
    try:
        channel = job_identity(job, list(job.args or []))[1]
    except Exception:
        return {}
    return {"channel": channel} if channel else {}


def _still_started(pipe: Any, registry: str, job: Job, member: str) -> bool:
    """WATCH the job, then read whether its run is still in the started registry. Another reaper that read the
    registry too, or RQ's clean-up of an abandoned job, may act on it first: that one removes the entry and changes
    the job, so this one's EXEC fails and the transaction, built again, finds the entry gone and leaves the job."""
    pipe.watch(job.key)
    return pipe.zscore(registry, member) is not None


def _give_up_running_whole(redis: Redis, settings: Settings, pipe: Any, job: Job, reaps: int) -> str:
    """Queue into `pipe` (not yet in MULTI: this opens it) what replaces a job that killed `reaps` workers: two
    forward jobs of halves of its reports not yet done ("split"), a dead letter ("dead_lettered"), or nothing for a
    status job whose answer a run of it queued before its worker died ("already_answered") or for a forward job
    whose reports are all done ("nothing_left"); returns which."""
    detail = f"its worker died (killed, out of memory or crashed) each of the {reaps} times it ran; not run again"
    attempts = int(job.meta.get("attempts") or 0) + reaps
    tracking_ids = job.args[0] if job.func_name == FORWARD_FUNC and job.args else None
    if not isinstance(tracking_ids, list):  # not a forward job (or a damaged one): redo it whole, by an operator
        return dead_letter_job(redis, settings, job, reason=WORKER_DIED, detail=detail, attempts=attempts,
                               pipeline=pipe)
    pipe.multi()
    done = set(job.meta.get("done") or [])
    pending = [str(tid) for tid in tracking_ids if tid not in done]
    if len(pending) > 1:
        half = len(pending) // 2
        enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(pending[:half],), (pending[half:],)],
                      pipeline=pipe)
        return "split"
    for tracking_id in pending:
        envelope = readable_envelope(tracking_id, redis.get(envelope_key(tracking_id)) or b"null")
        DeadLetters(redis).add_forward(tracking_id, envelope, reason=WORKER_DIED, detail=detail, attempts=attempts,
                                       job_id=job.id, pipeline=pipe)
    return "dead_lettered" if pending else "nothing_left"


def _reap_intermediate(redis: Redis, target: Any) -> list[str]:
    """Jobs a worker moved to the intermediate list and never started (it died in between): requeue them.

    A sighting is timed by Redis's clock, the one every host's reapers share: by each host's own, a reaper whose host
    ran `ORPHAN_AFTER_SECONDS` or more ahead of the one that saw the job first took it for stranded at its next beat,
    a second later, and a worker slowed for that second (a pause, a swap) ran it beside the requeued copy."""
    started = set(target.started_job_registry.get_job_ids(cleanup=False))
    now = redis_time(redis.time())
    reaped = []
    key = target.intermediate_queue_key
    listed = readable_job_ids(redis, target.name, key, redis.lrange(key, 0, -1), found="intermediate")
    waiting = [job_id for job_id in listed if job_id not in started]
    # A sighting counts only while the job stays on the list: one that went on normally (started) is forgotten, or
    # the same job id back on the list later (a retry, a reap) would look stranded at once and run twice.
    prefix = f"{target.name}:"
    stale = [field for field in (key.decode() for key in redis.hkeys(INTERMEDIATE_SEEN))
             if field.startswith(prefix) and field[len(prefix):] not in waiting]
    if stale:
        redis.hdel(INTERMEDIATE_SEEN, *stale)
    for job_id in waiting:
        field = f"{target.name}:{job_id}"
        first_seen = redis.hget(INTERMEDIATE_SEEN, field)
        if first_seen is None:
            redis.hset(INTERMEDIATE_SEEN, field, now)
            continue
        if now - float(first_seen) < ORPHAN_AFTER_SECONDS:
            continue
        try:
            job: Job | None = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        except NoSuchJobError:
            job = None
        except RedisError:
            raise
        except Exception as error:  # a hash RQ cannot read: set aside, and on to the next job
            _set_aside_unreadable(redis, target, job_id, error, intermediate_field=field)
            continue
        requeue = partial(_requeue_stranded, target=target, job_id=job_id, job=job, field=field, first_seen=first_seen)
        if not commit_watched(redis, requeue, what="requeue of a job stranded on the intermediate list"):
            continue
        reaped.append(job_id)
        log.warning("worker.job_reaped", job_id=job_id, queue=target.name, dead_worker="unknown (intermediate)",
                    **_channel_of(job))
    return reaped


def _requeue_stranded(pipe: Any, *, target: Any, job_id: str, job: Job | None, field: str,
                      first_seen: bytes) -> bool:
    """Queue into `pipe` the requeue of a job stranded on the intermediate list, only while it still is: on the
    list, under the sighting this pass read, its hash unchanged (WATCHed). Another reaper that read the list too (a
    pass that outlasted the lock) requeues it first and forgets the sighting; a worker that was slow, not dead,
    starts it (its hash marked started, the job off the list): either way this one leaves it, where it pushed the
    job onto its queue again and two workers ran it at once."""
    pipe.watch(Job.key_for(job_id), INTERMEDIATE_SEEN)
    ours = pipe.hget(INTERMEDIATE_SEEN, field) == first_seen
    listed = pipe.lpos(target.intermediate_queue_key, job_id) is not None
    pipe.multi()  # explicit: RQ's enqueue_job joins a transaction only if it is already open
    if not (ours and listed):
        if ours:  # started meanwhile: its sighting is forgotten, as one gone on normally is
            pipe.hdel(INTERMEDIATE_SEEN, field)
        return False
    pipe.lrem(target.intermediate_queue_key, 1, job_id)
    pipe.hdel(INTERMEDIATE_SEEN, field)
    if job is not None:
        target.enqueue_job(job, pipeline=pipe, at_front=True)
    return True


class HeldForwardWatch:
    """Releases held forward IDs that stayed at the head of the held list for a whole pass: their gateway died (or
    stopped) before its linger was up. A live gateway releases them within `intake.forward_linger_ms`."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings
        self._last_head: bytes | None = None

    def check(self) -> int:
        head = self._redis.lindex(HELD_FORWARD_KEY, 0)
        released = 0
        if head is not None and head == self._last_head:
            # A few jobs a pass: the liveness key this thread keeps fresh must not wait on a long backlog.
            released = release_held_forwards(self._redis, self._settings, max_jobs=MAX_RELEASE_JOBS_PER_PASS)
            if released:
                log.warning("forward.held_released", count=released, reason="not_released_by_a_gateway")
            head = None
        self._last_head = head
        return released


class Liveness:
    """Keeps this worker's liveness key fresh and runs the reaper, from one daemon thread."""

    def __init__(self, redis: Redis, name: str, queue_names: Sequence[str], settings: Settings, *,
                 ttl: float | None = None, held: HeldForwardWatch | None = None,
                 outage: RedisOutage | None = None) -> None:
        self._redis = redis
        # Told of every beat that fails or goes through: a lost Redis is logged once, not at every beat.
        self._outage = outage or RedisOutage(",".join(queue_names))
        self._settings = settings
        self._key = ALIVE_KEY.format(name=name)
        self._rq_key = Worker.redis_worker_namespace_prefix + name
        self._queue_names = list(queue_names)
        # The liveness key's lifetime: queues.liveness_ttl_seconds, or a test's own.
        self._ttl = settings.queues.liveness_ttl_seconds if ttl is None else ttl
        self._held = held
        # Since when (monotonic) every beat reached Redis; None after one that did not.
        self._answering_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-liveness", daemon=True)

    def start(self) -> None:
        try:
            self._beat()
        except ResponseError:
            # Redis answered, and refused a command of the beat's pipeline (a WRONGTYPE on RQ's registry of workers):
            # the others went through, and the views counted a live worker on the queue for the key's TTL, one more at
            # every run that failed so. Not after a Redis that did not answer: the clean-up would wait it out too.
            self._forget()
            raise
        self._answering_since = time.monotonic()
        self._outage.back()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and drop the key, so other workers' reapers need not wait for it to expire, and this
        worker's place in RQ's registry that a beat after RQ's own farewell put back; not while Redis does not answer
        (it expires by itself, and a stop during a hang would wait the timeout out once more)."""
        self._stop.set()
        self._thread.join(timeout=self._ttl)
        if self._outage.active:
            return
        self._forget()

    def _forget(self) -> None:
        """Drop this worker's liveness key and its place in RQ's registry, each whatever the others meet: a key of
        another type among them (a WRONGTYPE) leaves the rest done."""
        with contextlib.suppress(RedisError):
            pipe = self._redis.pipeline(transaction=False)
            pipe.delete(self._key)
            self._registered(pipe.srem)
            pipe.execute(raise_on_error=False)

    def _registered(self, command: Any) -> None:
        """`command` (SADD, SREM) for this worker in RQ's registry of workers, by queue too: where the views count
        a queue's live workers (`HealthMonitor.live_workers`)."""
        command(REDIS_WORKER_KEYS, self._rq_key)
        for name in self._queue_names:
            command(WORKERS_BY_QUEUE_KEY % name, self._rq_key)

    def _beat(self) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._key, "1", px=int(self._ttl * 1000))
        note_worker_seen(self._redis, self._queue_names, pipeline=pipe)
        # RQ registers a worker once, at its start: a Redis that came back empty (restarted without persistence, a
        # failover to a copy without it) or RQ's cleanup of a worker paused past its TTL (a frozen VM) took it out,
        # and every view said "live workers 0" of a queue its workers were draining, for as long as they ran.
        self._registered(pipe.sadd)
        pipe.execute()

    def _run(self) -> None:
        while not self._stop.wait(self._ttl / 5):
            beaten = False
            try:
                self._beat()
                beaten = True
                now = time.monotonic()
                if self._answering_since is None:
                    self._answering_since = now
                if now - self._answering_since >= self._ttl:  # every live worker has beaten since
                    reap_abandoned(self._redis, self._queue_names, self._settings)
                if self._held is not None:
                    self._held.check()
            except WatchError:  # other workers' reapers took the same jobs meanwhile, three times: next beat
                log.info("worker.reap_contended")
            except RedisError as error:  # Redis is down: RQ's own loop reconnects; so do we, next beat
                if not beaten:  # other workers' beats may not have reached it either
                    self._answering_since = None
                self._outage.lost(error)
                continue
            except Exception as error:  # the reaper must never take the worker down
                log.error("worker.reaper_failed", error=type(error).__name__)
                continue
            self._outage.back()
