"""The dead-letter registry: jobs that failed for good, with the reason, until an operator acts.

One entry per (queue, item): a forward of one report, a reply to one citizen. Each entry keeps the job
function and arguments that will redo it, so `requeue` works the same for every queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any, Literal, TypeVar

import orjson
from redis import Redis
from redis.exceptions import RedisError, WatchError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.results import Result

from gateway import metrics
from gateway.health.signals import HealthSignals
from gateway.logs import get_logger, scrub, withhold_quoted
from gateway.queues import (
    ALL_QUEUES,
    FORWARD_FUNC,
    FORWARD_QUEUE,
    JSONSerializer,
    enqueue_calls,
    envelope_key,
    readable_envelope,
)
from gateway.settings import Settings
from gateway.tracking import looks_like_tracking_id, normalize_tracking_id
from gateway.transactions import after_commit, commit
from workers.media import expire_report

log = get_logger()
T = TypeVar("T")

ENTRIES_KEY = "lapor:deadletters"
INDEX_KEY = "lapor:deadletters:index"
# A requeue WATCHes the whole registry: how often one letter's requeue tries, and the pause after its first try
# (doubled after each), before the letter is left for the next run (busy). 5 tries: 150 ms at most per letter.
REQUEUE_ATTEMPTS = 5
REQUEUE_BACKOFF_SECONDS = 0.01
# The highest rank in the index Redis takes (a signed 64-bit integer).
MAX_RANK = 2**63 - 1
# How many letters the retention's purge deletes in one transaction (`purge_older`): all at once, a registry a long
# outage filled would be WATCHed through one long read, and given up whenever a letter came meanwhile.
PURGE_BATCH = 500


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: str
    queue: str
    func: str
    args: list[Any]
    tracking_id: str
    reason: str
    detail: str
    failed_at: float
    attempts: int = 1
    channel: str | None = None
    # The RQ job the letter was made from, when RQ may keep a record of its failure (`purge` and `requeue` delete it
    # with the last letter naming the job): a job that failed, or a status query's, whichever gave it up (one that
    # gives itself up ends normally, and RQ keeps no failure of it). None in letters an earlier version wrote, and in
    # those a forward or reply job wrote of its own decision.
    job_id: str | None = None
    # Where and how a reply failed, as the health views say it (`gateway.health.signals.reply_failure`): the host (or
    # the relay's host:port) and its answer's status line or the error's type (`api.x.com answered 401 Unauthorized`),
    # and the kind of failure (`signals.REPLY_FAILURES`), which `show`'s step follows. None in letters an earlier
    # version wrote and in those that tell neither; fields added, none changed, so each version reads the other's.
    where: str | None = None
    failure: str | None = None

    @property
    def readable(self) -> bool:
        """False for an entry read as `UNREADABLE`: it names no job to redo, so it is never requeued."""
        return bool(self.func)


def _unreadable_since(raw: bytes) -> float:
    """When an unreadable entry (`UNREADABLE`) is taken to have failed: its own `failed_at` where it still says one,
    else now, as it is found. Indexed at 0, one restored or written by another release (a reply's, holding a citizen's
    number) was deleted by the first retention run after it was found, before any operator could see it."""
    try:
        stored = orjson.loads(raw)
    except orjson.JSONDecodeError:
        stored = None
    said = stored.get("failed_at") if isinstance(stored, dict) else None
    if isinstance(said, int | float) and not isinstance(said, bool) and _EARLIEST_FAILURE < said < time.time() + 86_400:
        return float(said)
    return time.time()


# No dead letter of this gateway failed before 2020: a `failed_at` below it is no time of a failure (a monotonic
# clock's seconds, a count), and read as one the entry went at the first retention run.
_EARLIEST_FAILURE = 1_577_836_800.0


def _indexed_or_since(score: float | None, raw: bytes) -> float:
    """An unreadable entry's time: its index entry's, or `_unreadable_since` where it has none, or one no failure of
    this gateway can have (an older release indexed such an entry at 0): `deadletters show` said 1970."""
    return float(score) if score is not None and score >= _EARLIEST_FAILURE else _unreadable_since(raw)


def selector_names(selector: str) -> frozenset[str]:
    """What an operator's selector names: a key as typed, or a Tracking ID as people write one (`#10012002`,
    `1001-2002`, ` 10012002`, as the acknowledgement shows it and `attachments list` takes it). Typed so, `deadletters
    show` said "no dead letter", which read as a report gone through."""
    return frozenset({selector, normalize_tracking_id(selector)}) if looks_like_tracking_id(selector) else \
        frozenset({selector})


# The reason of an entry that could not be read as a dead letter (not JSON, not an object, fields missing): it is
# listed, shown and purged by its key like any other, never requeued (there is no job in it to redo).
UNREADABLE = "unreadable"
_FIELDS = frozenset(field.name for field in fields(DeadLetter))
_REQUIRED = frozenset(field.name for field in fields(DeadLetter)
                      if field.name not in {"attempts", "channel", "job_id", "where", "failure"})
# What each field must hold for the commands to print, filter and sort letters: a Tracking ID written as a JSON
# number (a hand edit, another version) ended `deadletters list` on a TypeError, and a purge among others too.
_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,), "queue": (str,), "func": (str,), "args": (list,), "tracking_id": (str,), "reason": (str,),
    "detail": (str,), "failed_at": (int, float), "attempts": (int,), "channel": (str, type(None)),
    "job_id": (str, type(None)), "where": (str, type(None)), "failure": (str, type(None)),
}
# The item of a `job_failed` letter: the reason and the failed job's id (`workers.failures.dead_letter_job`), by which
# a purge finds RQ's record of a letter written before letters named their job.
JOB_FAILED_ITEM = "job-failed-"


@dataclass(frozen=True, slots=True)
class Requeued:
    """What a requeue did: letters put back on their queue, letters left in the registry (`busy`) because it
    kept changing under them (running the requeue again takes those), `unreadable` ones, which only a purge
    takes, letters `gone` from the registry since they were read (another operator requeued or purged them), and
    letters of a queue this release has not (`foreign`), left in the registry."""

    requeued: int = 0
    busy: int = 0
    unreadable: int = 0
    gone: int = 0
    foreign: int = 0


def _text(value: Any) -> str | None:
    """An envelope's text field as a string, or None (a damaged copy's field of another type)."""
    return value if isinstance(value, str) else None


def _letter_fields(letter: DeadLetter) -> dict[str, Any]:
    """What an operator's line about one letter names it by: its queue, Tracking ID and channel (when it has one)."""
    return {"queue": letter.queue, "tracking_id": letter.tracking_id,
            **({"channel": letter.channel} if letter.channel else {})}


def _announce(letter: DeadLetter) -> None:
    """A letter committed: counted, and logged for the operator."""
    metrics.DEAD_LETTERED.labels(letter.queue, letter.reason).inc()
    log.error("deadletter.added", queue=letter.queue, tracking_id=letter.tracking_id, reason=letter.reason,
              detail=letter.detail, channel=letter.channel)


def _stored(key: bytes | str) -> bytes | str:
    """A letter's key as Redis holds it. A key that is not UTF-8 (a hand edit, a partial restore) is read with its
    bytes kept (`surrogateescape`), and written back so: read with them replaced, it named no entry, and `purge`
    skipped it for good as "changed since listed" (exit 1) while it counted among the letters waiting."""
    return key.encode("utf-8", "surrogateescape") if isinstance(key, str) and not key.isascii() else key


class DeadLetters:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @property
    def redis(self) -> Redis:
        return self._redis

    @staticmethod
    def entry_key(queue: str, item: str) -> str:
        return f"{queue}:{item}"

    def add(self, letter: DeadLetter, *, pipeline: Any = None) -> None:
        """Store the letter; inside `pipeline` when given (the caller runs it with `commit`, so the letter commits
        with the removal of what it replaces, and is logged and counted only then)."""
        pipe = pipeline if pipeline is not None else self._redis.pipeline(transaction=True)
        pipe.hset(ENTRIES_KEY, letter.key, orjson.dumps(asdict(letter)))
        pipe.zadd(INDEX_KEY, {letter.key: letter.failed_at})
        HealthSignals(self._redis).dead_lettered(letter.channel or "unknown", letter.key, letter.reason, pipeline=pipe)
        after_commit(pipe, partial(_announce, letter))
        if pipeline is None:
            commit(pipe)

    def add_new(self, *, queue: str, func: str, args: list[Any], tracking_id: str, item: str, reason: str,
                detail: str, attempts: int = 1, channel: str | None = None, job_id: str | None = None,
                where: str | None = None, failure: str | None = None, pipeline: Any = None) -> DeadLetter:
        """The detail is kept as a log line shows it: a downstream's answer may quote the citizen (a case store
        echoing the report it refuses), and only the job in hand knows their words (`sensitive_values`)."""
        letter = DeadLetter(
            key=self.entry_key(queue, item), queue=queue, func=func, args=args, tracking_id=tracking_id,
            reason=reason, detail=scrub(detail), failed_at=time.time(), attempts=attempts, channel=channel,
            job_id=job_id, where=scrub(where) if where else None, failure=failure,
        )
        self.add(letter, pipeline=pipeline)
        return letter

    def add_forward(self, tracking_id: str, envelope: Mapping[str, Any] | None, *, reason: str, detail: str,
                    attempts: int, job_id: str | None = None, pipeline: Any = None) -> DeadLetter:
        """One report's forward, requeued alone (`[[tracking_id]]`), filed under its envelope's source or channel.
        What the case store said of it keeps no quote of its text or subject (`withhold_quoted`): the letter is
        shown in the views and logged."""
        envelope = envelope or {}
        detail = withhold_quoted(detail, _text(envelope.get("text")), _text(envelope.get("subject")))
        return self.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[tracking_id]], tracking_id=tracking_id,
                            item=tracking_id, reason=reason, detail=detail, attempts=attempts,
                            channel=envelope.get("source") or envelope.get("channel"), job_id=job_id,
                            pipeline=pipeline)

    def count(self) -> int:
        """The letters there are: the entries of the hash, not of the index, which may still name a letter gone
        (`_prune`)."""
        return int(self._redis.hlen(ENTRIES_KEY))

    def list(self, *, limit: int = 100, offset: int = 0) -> list[DeadLetter]:
        """A page of letters, oldest first; the page is read again after index entries of letters gone were pruned
        from it, so it is as full as the letters there are allow.

        A page that does not hold the whole index first looks for index entries of letters gone outside it, by the
        keys alone (`_prune_stale`): one there evened the count of a letter unindexed (a partial restore), so that
        letter was in no page of `--limit/--offset`, while `--all` and a listing of one page found it."""
        if offset > 0 or offset + limit < self._redis.zcard(INDEX_KEY):
            self._prune_stale()
        self._index_unindexed()
        # Redis takes 64-bit ranks: `--limit 99999999999999999999` (to see them all) was refused as "value is not an
        # integer or out of range", said as a Redis that refuses commands (full, a replica). Past them, all there are.
        first, last = min(offset, MAX_RANK), min(offset + limit - 1, MAX_RANK)
        while True:
            letters, pruned = self._load_indexed(self._redis.zrange(INDEX_KEY, first, last))
            if not pruned:
                return letters
            self._index_unindexed()  # the counts may have matched only while the index named letters gone

    def get(self, key_or_tracking_id: str) -> DeadLetter | None:
        """The entry under this key, or the oldest of this Tracking ID's."""
        matches = self.select([key_or_tracking_id])
        return matches[0] if matches else None

    def _all(self) -> list[DeadLetter]:
        """Every letter. An index entry of a letter gone and a letter with no index entry (both left by one partial
        restore) kept the counts equal, so the letter was not put back in the index: `requeue --all` said it had
        requeued all it read, exit 0, and the letter waited on, its report never forwarded. Once the whole index is
        read and its letters gone pruned, the counts differ whenever a letter is still unindexed."""
        self._index_unindexed()
        while True:
            letters, pruned = self._load_indexed(self._redis.zrange(INDEX_KEY, 0, -1))
            if not pruned:
                return letters
            self._index_unindexed()

    def _index_unindexed(self, *, whatever_the_counts: bool = False) -> int:
        """Put back in the index the letters whose entry is there and whose index entry is not (a partial restore, a
        hand edit); returns how many. Counted among the letters waiting (`count`), they were in no listing, and
        `requeue --all` never took them: a forward's report never reached the case store. Looked for only when the
        hash and the index hold other counts (two reads of a count), unless `whatever_the_counts`: an index entry of
        a letter gone evens the count of a letter unindexed, and is pruned only by a listing that reads it (`list`
        and `_all` look again after pruning one). Under WATCH of the registry, by the time each failed (an
        unreadable entry's as it says it, or else the time it is found: `_unreadable_since`)."""
        if not whatever_the_counts and self._redis.hlen(ENTRIES_KEY) == self._redis.zcard(INDEX_KEY):
            return 0

        def index(pipe: Any) -> int:
            keys = pipe.hkeys(ENTRIES_KEY)
            scores = pipe.zmscore(INDEX_KEY, keys) if keys else []
            missing = [key for key, score in zip(keys, scores, strict=True) if score is None]
            raws = pipe.hmget(ENTRIES_KEY, missing) if missing else []
            failed_at = {key: letter.failed_at if (letter := self._read(key, raw)).readable else _unreadable_since(raw)
                         for key, raw in zip(missing, raws, strict=True) if raw is not None}
            if failed_at:
                pipe.multi()
                pipe.zadd(INDEX_KEY, failed_at)
                pipe.execute()
                log.warning("deadletter.unindexed_restored", count=len(failed_at))
            return len(failed_at)

        return self._watching_the_registry(index) or 0

    def _date_the_undated(self) -> int:
        """Index each unreadable entry an older release indexed at 0 at the time it says it failed, or else now, as
        `_index_unindexed` does one it finds unindexed; returns how many. Read as failed in 1970, each went at the
        first retention run, before any operator saw it. Only where the index still holds it (`xx`): one purged
        meanwhile stays gone; and only later than it is indexed (`gt`): a letter written again meanwhile keeps its
        own time."""
        keys = self._redis.zrangebyscore(INDEX_KEY, "-inf", f"({_EARLIEST_FAILURE!r}")
        raws = self._redis.hmget(ENTRIES_KEY, keys) if keys else []
        dated = {key: _unreadable_since(raw) for key, raw in zip(keys, raws, strict=True)
                 if raw is not None and not self._read(key, raw).readable}
        if dated:
            self._redis.zadd(INDEX_KEY, dated, xx=True, gt=True)
        return len(dated)

    def _prune_stale(self) -> int:
        """Prune every index entry whose letter is gone, found by comparing the index's keys with the hash's (no
        letter is read); returns how many. A letter added between the two reads is seen in the index alone, and kept:
        `_prune` looks again under WATCH."""
        letters = set(self._redis.hkeys(ENTRIES_KEY))
        stale = [key for key in self._redis.zrange(INDEX_KEY, 0, -1) if key not in letters]
        return self._prune(stale) if stale else 0

    def _load(self, keys: Sequence[bytes | str]) -> list[DeadLetter]:
        return self._load_indexed(keys, prune=False)[0]

    def _load_indexed(self, keys: Sequence[bytes | str], *, prune: bool = True) -> tuple[list[DeadLetter], int]:
        """The letters under `keys`, and how many index entries of letters gone among them were pruned (`prune`:
        the keys were read from the index, not typed by an operator)."""
        if not keys:
            return [], 0
        raws = self._redis.hmget(ENTRIES_KEY, [_stored(key) for key in keys])
        gone = [key for key, raw in zip(keys, raws, strict=True) if raw is None]
        letters = [self._read(key, raw) for key, raw in zip(keys, raws, strict=True) if raw is not None]
        return letters, self._prune(gone) if prune and gone else 0

    def _prune(self, keys: Sequence[bytes | str]) -> int:
        """Drop index entries whose letter is gone (its entry deleted by hand, or the whole hash lost: a partial
        restore), and stop counting them against their channel; returns how many. They were skipped by every
        listing but kept for ever, counted by `count` and the views' dead letters waiting. Under WATCH of the
        registry: a letter added again under the same key meanwhile keeps its entry."""
        def prune(pipe: Any) -> int:
            gone = [key for key, raw in zip(keys, pipe.hmget(ENTRIES_KEY, list(keys)), strict=True) if raw is None]
            if gone:
                pipe.multi()
                pipe.zrem(INDEX_KEY, *gone)
                HealthSignals(self._redis).dead_letters_gone(gone, pipe)
                pipe.execute()
                log.warning("deadletter.orphans_pruned", count=len(gone))
            return len(gone)

        return self._watching_the_registry(prune) or 0

    def _read(self, key: bytes | str, raw: bytes) -> DeadLetter:
        """The entry as a dead letter. One that is not (a partial restore, a hand edit, a version's other form) ended
        every `deadletters` command on a traceback, so none could list, requeue or purge any letter: it is read as
        an `unreadable` letter under its key, to purge."""
        name = key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key
        try:
            stored = orjson.loads(raw)
        except orjson.JSONDecodeError:
            stored = None
        if isinstance(stored, dict) and stored.keys() >= _REQUIRED and all(
                isinstance(stored[field], types) and not isinstance(stored[field], bool)
                for field, types in _TYPES.items() if field in stored):
            letter = DeadLetter(**{field: value for field, value in stored.items() if field in _FIELDS})
            if letter.key == name:
                return letter
        return DeadLetter(
            key=name, queue=name.partition(":")[0], func="", args=[], tracking_id="", reason=UNREADABLE,
            detail="this entry is no dead letter this version can read: nothing to requeue; purge it by its key",
            failed_at=_indexed_or_since(self._redis.zscore(INDEX_KEY, _stored(name)), raw), attempts=0)

    def select(self, selectors: Iterable[str] | None) -> list[DeadLetter]:
        """Entries by key or Tracking ID (as people write one, `selector_names`); every entry when `selectors` is
        None."""
        if selectors is None:
            return self._all()
        wanted = set(selectors)
        letters = {letter.key: letter for letter in self._load(list(wanted))}
        if wanted - letters.keys():  # Tracking IDs: every letter of each (a report's dead forward and dead reply)
            ids = frozenset().union(*(selector_names(selector) for selector in wanted))
            letters.update((letter.key, letter) for letter in self._all() if letter.tracking_id in ids)
        return list(letters.values())

    def requeue(self, letters: Sequence[DeadLetter], settings: Settings) -> Requeued:
        """Enqueue each letter's job again and drop it from the registry, atomically per letter.

        A letter no longer in the registry (another operator requeued or purged it since it was listed) is skipped:
        its job is never enqueued twice. A letter whose registry kept changing through every try is left there,
        counted as busy."""
        requeued = busy = unreadable = gone = jobs = foreign = 0
        for letter in {letter.key: letter for letter in letters}.values():
            if not letter.readable:
                unreadable += 1
                continue
            if letter.queue not in ALL_QUEUES:
                # A queue none of this release's (a later release's, a hand edit's `lapor-forwrd`): requeued onto it,
                # no worker read it, the letter was deleted and its report never forwarded, and nothing said so.
                # Read whole all the same (its Tracking ID, channel and reason), not as an unreadable entry.
                foreign += 1
                log.warning("deadletter.requeue_foreign_queue", **_letter_fields(letter))
                continue
            outcome, deleted = self._requeue_one(letter, settings)
            jobs += deleted
            if outcome == "requeued":
                requeued += 1
                log.info("deadletter.requeued", **_letter_fields(letter))
            elif outcome == "busy":
                busy += 1
                log.warning("deadletter.requeue_busy", **_letter_fields(letter), attempts=REQUEUE_ATTEMPTS)
            else:
                gone += 1
                log.warning("deadletter.requeue_gone", **_letter_fields(letter))
        if jobs:
            log.info("deadletter.failed_jobs_purged", jobs=jobs)
        return Requeued(requeued, busy, unreadable, gone, foreign)

    def _requeue_one(self, letter: DeadLetter, settings: Settings) -> tuple[Literal["requeued", "gone", "busy"], int]:
        """Requeue one letter under WATCH of the whole registry (a letter is a field of one hash), so any letter added
        or removed meanwhile spoils the try. Tries `REQUEUE_ATTEMPTS` times: while a case-store outage dead-letters
        many a second, trying until a quiet moment could spin for as long as the outage lasts. Also returns how many
        jobs' records RQ kept of the old failure went with it (`_left_by_rq`, as a purge deletes them): the requeued
        call is a new job, and RQ's record of the old one, its arguments (a reply's number and text) among them, was
        kept 30 days with nothing left to reach it."""
        def requeue(pipe: Any) -> tuple[Literal["requeued", "gone"], int]:
            if not pipe.hexists(ENTRIES_KEY, letter.key):
                return "gone", 0
            jobs = self._left_by_rq(pipe, [letter])
            pipe.multi()
            enqueue_calls(self._redis, settings, letter.queue, letter.func, [tuple(letter.args)], pipeline=pipe)
            pipe.hdel(ENTRIES_KEY, letter.key)
            pipe.zrem(INDEX_KEY, letter.key)
            HealthSignals(self._redis).dead_letters_cleared([(letter.channel or "unknown", letter.key)], pipe)
            self._delete_rq_records(pipe, jobs)
            pipe.execute()
            return "requeued", len(jobs)

        return self._watching_the_registry(requeue) or ("busy", 0)

    def _watching_the_registry(self, run: Callable[[Any], T]) -> T | None:
        """`run(pipe)` with the registry WATCHed, again a moment later whenever a letter was added or removed
        meanwhile (WatchError), `REQUEUE_ATTEMPTS` times; None when it kept changing through every try."""
        with self._redis.pipeline(transaction=True) as pipe:
            for attempt in range(REQUEUE_ATTEMPTS):
                if attempt:
                    time.sleep(REQUEUE_BACKOFF_SECONDS * 2 ** (attempt - 1))
                try:
                    pipe.watch(ENTRIES_KEY)
                    return run(pipe)
                except WatchError:
                    continue
        return None

    def purge(self, letters: Sequence[DeadLetter], envelope_ttl: int) -> int:
        """Delete the letters, each only if it is still in the registry as it was listed; returns how many.

        A purge is asked for from a listing (and a confirmation that may wait): a letter another operator requeued
        meanwhile is on its queue, and one that failed again since is a new failure, maybe for another reason than
        the filters chose. Either was deleted all the same, and its report's envelope set to expire while its forward
        was queued or dead-lettered again: under WATCH of the registry, only letters unchanged since they were
        listed are deleted; the rest are left (not counted), and so is everything when the registry kept changing
        through every try.

        A purged forward's report will not be delivered: its envelope, state and fetched-file records, kept without
        end while it waited, now expire in `envelope_ttl` as a forwarded report's do (they held the citizen's words
        and number in Redis for ever, and their files could never be purged).

        RQ's record of the job a letter was made from goes in the same transaction (`_left_by_rq`), with the last
        letter naming it, as a requeue's does: its call, its traceback and its failed-registry entry, kept 30 days
        after the letter was gone."""
        wanted = {letter.key: letter for letter in letters}
        if not wanted:
            return 0

        def purge_unchanged(pipe: Any) -> tuple[list[DeadLetter], int]:
            raws = pipe.hmget(ENTRIES_KEY, [_stored(key) for key in wanted])
            unchanged = [letter for (key, letter), raw in zip(wanted.items(), raws, strict=True)
                         if raw is not None and self._read(key, raw) == letter]
            return unchanged, self._purge(pipe, unchanged, envelope_ttl) if unchanged else 0

        unchanged, jobs = self._watching_the_registry(purge_unchanged) or ([], 0)
        for letter in unchanged:
            log.warning("deadletter.purged", **_letter_fields(letter))
        if jobs:
            log.info("deadletter.failed_jobs_purged", jobs=jobs)
        return len(unchanged)

    def purge_older(self, before: float, envelope_ttl: int, *, dry_run: bool = False) -> tuple[int, int]:
        """Delete (with `dry_run`: count) the letters that failed before `before`, but a forward's: the retention's
        (workers.retention), for a reply's letter keeps its arguments, the citizen's number, address and subject
        among them, and nothing else takes it away but an operator. A forward's letter is a report the case store
        never got, acknowledged to its citizen: it stays until an operator requeues or purges it (it holds Tracking
        IDs only, and keeps its report's envelope). Each goes as `purge` deletes it (only as it was listed: one that
        failed again meanwhile is a new failure, and stays), `PURGE_BATCH` letters to a transaction. How many went,
        and how many stay (forwards, newer, or changed while the purge ran). Every letter's index entry is looked
        for, whatever the counts: the purge reads the old part of the index only, and an index entry of a letter gone
        outside it kept an old letter unindexed from one purge after another."""
        self._index_unindexed(whatever_the_counts=True)
        self._date_the_undated()
        keys = self._redis.zrangebyscore(INDEX_KEY, "-inf", f"({before!r}")
        old = [letter for letter in self._load_indexed(keys)[0]
               if letter.failed_at < before and letter.queue != FORWARD_QUEUE]
        if dry_run:
            return len(old), max(self.count() - len(old), 0)
        deleted = sum(self.purge(old[start:start + PURGE_BATCH], envelope_ttl)
                      for start in range(0, len(old), PURGE_BATCH))
        return deleted, self.count()

    def _purge(self, pipe: Any, letters: list[DeadLetter], envelope_ttl: int) -> int:
        """Delete the letters in the watched `pipe`, let their forwards' reports expire, and delete RQ's records of
        their jobs; returns how many jobs' records."""
        forwards = sorted({letter.tracking_id for letter in letters
                           if letter.queue == FORWARD_QUEUE and letter.readable})
        stored = pipe.mget([envelope_key(tid) for tid in forwards]) if forwards else []
        jobs = self._left_by_rq(pipe, letters)
        pipe.multi()
        pipe.hdel(ENTRIES_KEY, *[_stored(letter.key) for letter in letters])
        pipe.zrem(INDEX_KEY, *[_stored(letter.key) for letter in letters])
        for tracking_id, raw in zip(forwards, stored, strict=True):
            expire_report(pipe, tracking_id, readable_envelope(tracking_id, raw) if raw is not None else None,
                          envelope_ttl)
        HealthSignals(self._redis).dead_letters_cleared([(lt.channel or "unknown", _stored(lt.key)) for lt in letters],
                                                       pipe)
        self._delete_rq_records(pipe, jobs)
        pipe.execute()
        return len(jobs)

    def _delete_rq_records(self, pipe: Any, jobs: dict[str, str]) -> None:
        """Queue into the MULTI `pipe` the deletion of what RQ keeps of each failed job ({job id: queue},
        `_left_by_rq`): its hash, dependents, results (the traceback) and failed-registry entry."""
        for job_id, queue_name in jobs.items():
            pipe.zrem(FailedJobRegistry(queue_name, connection=self._redis).key, job_id)
            pipe.delete(Job.key_for(job_id), Job.dependents_key_for(job_id), Result.get_key(job_id))

    def _left_by_rq(self, pipe: Any, letters: list[DeadLetter]) -> dict[str, str]:
        """{job id: queue} of the jobs the letters (all leaving the registry, requeued or purged) were made from that
        RQ still keeps as failed and that no other letter names: a forward job files one letter per unfinished report,
        and its record goes with the last of them, whichever way each leaves (it is what an operator looking into the
        ones left finds the failure by). A job gone (expired, or deleted by the reaper with its letter's making) has
        nothing left, and one RQ runs again (requeued with RQ's own tools) is no longer a record of this failure: both
        are left alone. Reads under WATCH of the jobs, in the not yet MULTI `pipe` that WATCHes the registry. A
        `job_failed` letter of an earlier version names its job in its key; a `forward_failed` one named none."""
        jobs: dict[str, str] = {}
        for letter in letters:
            item = letter.key.partition(":")[2]
            job_id = letter.job_id or (item.removeprefix(JOB_FAILED_ITEM) if item.startswith(JOB_FAILED_ITEM) else "")
            if job_id:
                jobs[job_id] = letter.queue
        if not jobs:
            return {}
        pipe.watch(*[Job.key_for(job_id) for job_id in jobs])
        statuses = [pipe.hget(Job.key_for(job_id), "status") for job_id in jobs]
        leaving = {letter.key for letter in letters}
        return {job_id: queue_name for (job_id, queue_name), status in zip(jobs.items(), statuses, strict=True)
                if status == JobStatus.FAILED.value.encode() and not self._named_by_others(pipe, job_id, leaving)}

    def _named_by_others(self, pipe: Any, job_id: str, leaving: set[str]) -> bool:
        """Whether a letter not `leaving` names the job: another report's of the same forward job, the one job whose
        failure files several letters, each under its report's Tracking ID (a letter under that key that failed again
        since names its new job). Read from the job's call; one RQ cannot read back names no report, and goes with
        the first of its letters."""
        try:
            job = Job.fetch(job_id, connection=self._redis, serializer=JSONSerializer)
            reports = job.args[0] if job.func_name == FORWARD_FUNC and job.args else []
        except RedisError:
            raise
        except Exception:  # its hash or call damaged (as the reaper meets them): RQ itself could not run it either
            return False
        keys = [key for key in dict.fromkeys(self.entry_key(FORWARD_QUEUE, str(tid)) for tid in reports)
                if key not in leaving] if isinstance(reports, list) else []
        raws = pipe.hmget(ENTRIES_KEY, keys) if keys else []
        return any(raw is not None and self._read(key, raw).job_id == job_id
                   for key, raw in zip(keys, raws, strict=True))
