"""Intake: dedup, Tracking ID, durable enqueue. A provider is acknowledged only after `submit` returns.

Concurrent requests are committed together: a single committer thread takes whatever drafts are waiting
(no artificial delay, so a lone SMS is not slowed and a flood is batched) and makes them durable in two Redis
round trips: one atomic claim script for the batch (dedup and Tracking ID), then one MULTI/EXEC that stores the
envelopes, marks their claims committed and enqueues their forward jobs. The event loop never blocks on Redis.
The committer holds the forward side back a little (`intake.forward_linger_ms`): the IDs go on a held list in that
same MULTI/EXEC, and become forward jobs together once enough are held or the linger is up (see
`release_held_forwards`), so a trickle of reports does not cost a job each.

A claim is `lapor:dedup:<channel>:<sha1 of provider id>` -> {id, state}. A retry whose claim is still
`pending` (the first attempt died before committing) commits again; the case store is idempotent on the
Tracking ID, so that can only repeat a job, never a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue as thread_queue
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import orjson
from redis import Redis
from redis.exceptions import RedisError, WatchError

from gateway import metrics
from gateway.errors import NotDurable
from gateway.logs import get_logger, loggable_host
from gateway.outage import DETAIL_LIMIT, outage_reason, redis_refuses, redis_words
from gateway.queues import HELD_FORWARD_KEY, enqueue_forward, envelope_key, release_held_forwards
from gateway.same_text import FirstOfText, RecentTexts, SameText, SameTextWindow
from gateway.settings import Settings
from gateway.spool import (
    REPLAY_STUCK_KEY,
    REPLAY_STUCK_SECONDS,
    SPOOL_DIR,
    Spool,
    SpoolRecord,
    drop_expired_stuck_entries,
    file_stem,
    redis_time,
)
from gateway.tracking import SEQUENCE_KEY, IdRangeExhausted, TrackingIdAllocator
from gateway.unfiled import UnfiledMessages, unfiled_entry
from normalizer.envelope import ReportDraft

log = get_logger()

# Both scripts take a whole batch: one command per batch instead of one or two per report (redis-py spends more
# CPU packing and parsing a command than Redis spends running it). The claim goes alone, as EVALSHA (redis-py's
# registered script): a Redis that restarted without it refuses it unrun, and redis-py loads it and sends it again.
# The store goes with EVAL, its text each time: inside MULTI/EXEC a refused EVALSHA would not stop the rest of the
# transaction (the forward jobs of envelopes never stored), and redis-py's scripts in a pipeline ask SCRIPT EXISTS
# before every execute, a third round trip per batch.

# KEYS: one dedup claim per message, then the unfiled-message hashes of the batch's channels (`gateway.unfiled`).
# ARGV[1]: the claim's TTL; ARGV[1 + i]: the candidate Tracking ID for KEYS[i]. Returns id1, state1, id2, state2...:
# the existing claim's ID and state, or the candidate and 'new'; then, per unfiled hash, 1 when it holds any message
# (a later delivery of one, filed now, forgets it: `Intake._forget_unfiled`). A claim that already holds this very
# candidate was made by this same batch, sent again by the client after a lost answer (candidates are never reused):
# still 'new', so the citizen is not told their first message was a repeat.
_CLAIM_SCRIPT = """
local out = {}
local claims = #ARGV - 1
for i = 1, claims do
  local key = KEYS[i]
  local found = redis.call('HMGET', key, 'id', 'state')
  if found[1] and found[1] == ARGV[i + 1] and found[2] == 'pending' then
    out[#out + 1] = found[1]
    out[#out + 1] = 'new'
  elseif found[1] then
    out[#out + 1] = found[1]
    out[#out + 1] = found[2] or 'pending'
  else
    redis.call('HSET', key, 'id', ARGV[i + 1], 'state', 'pending')
    redis.call('EXPIRE', key, ARGV[1])
    out[#out + 1] = ARGV[i + 1]
    out[#out + 1] = 'new'
  end
end
for i = claims + 1, #KEYS do
  out[#out + 1] = redis.call('EXISTS', KEYS[i])
end
return out
"""

# KEYS: ARGV[1] envelope keys, then the claims to mark committed. ARGV[2..]: the envelopes, in KEYS' order.
_STORE_SCRIPT = """
local envelopes = tonumber(ARGV[1])
for i = 1, envelopes do
  redis.call('SET', KEYS[i], ARGV[i + 1])
end
for i = envelopes + 1, #KEYS do
  redis.call('HSET', KEYS[i], 'state', 'committed')
end
return envelopes
"""


# KEYS: claims a replay finds `pending` under another Tracking ID. ARGV: per claim, that ID, then the spooled record's.
# Each claim still so is given the record's ID (1), else left (0): see `Intake._take_over_pending`.
_TAKE_OVER_SCRIPT = """
local out = {}
for i = 1, #KEYS do
  local found = redis.call('HMGET', KEYS[i], 'id', 'state')
  if found[1] == ARGV[2 * i - 1] and (found[2] or 'pending') == 'pending' then
    redis.call('HSET', KEYS[i], 'id', ARGV[2 * i], 'state', 'pending')
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""


# KEYS[1]: the ID sequence; ARGV[1]: a number it must be at least. Returns 1 when it had to be raised.
_RAISE_SEQUENCE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Receipt:
    """A report made durable: its Tracking ID, whether it was one already, and whether it went to the disk spool (not in
    Redis until the replayer next finds Redis answering: a reply addressed by its Tracking ID waits for that)."""

    tracking_id: str
    duplicate: bool
    spooled: bool = False
    # The message was the same text as an earlier one from its sender, within its window (`gateway.same_text`): it is
    # that message's report, and `tracking_id` is that report's.
    same_text: bool = False


# The most provider messages a process remembers in each of its memories of them (IDs spooled, claims unanswered).
REMEMBERED_MESSAGES = 100_000


def _forget_oldest(memory: OrderedDict[str, str]) -> None:
    """Trim `memory` (oldest first) to REMEMBERED_MESSAGES."""
    while len(memory) > REMEMBERED_MESSAGES:
        memory.popitem(last=False)


class _StoreFailed(RedisError):
    """A batch's store failed after its claims were answered: the Tracking ID each message holds in Redis (`claims`,
    as `Intake._run_claims` gives them), for the spool to use (`Intake._commit_to_spool`)."""

    def __init__(self, claims: list[tuple[str, str]]) -> None:
        super().__init__("the store failed after the claims")
        self.claims = claims


class _Text(Protocol):
    """A draft with its same-text window (`Intake.submit`, `Intake.commit_texts`): None, never a repeat."""

    @property
    def draft(self) -> ReportDraft: ...

    @property
    def same_text(self) -> SameTextWindow | None: ...


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A draft waiting for the committer, with its caller's future and same-text window (`Intake.submit`)."""

    draft: ReportDraft
    future: asyncio.Future[Receipt]
    same_text: SameTextWindow | None


@dataclass(frozen=True, slots=True)
class _Committed:
    """A draft committed by its caller's thread, with its same-text window (`Intake.commit_texts`)."""

    draft: ReportDraft
    same_text: SameTextWindow | None


def _same_text_source(item: _Text) -> str:
    """The same-text source of a message with a same-text key (`RecentTexts.key`: it has a window)."""
    assert item.same_text is not None
    return item.same_text[0]


def dedup_key(channel: str, provider_message_id: str) -> str:
    digest = hashlib.sha1(provider_message_id.encode(), usedforsecurity=False).hexdigest()
    return f"lapor:dedup:{channel}:{digest}"


class Intake:
    """Makes report drafts durable. `commit` is synchronous; `submit` is its asyncio face.

    With a `spool`, a Redis outage does not stop intake: reports are written to the disk spool with Tracking IDs
    from the allocator's reserve, and `replay_spool` moves them into Redis, in order, once it answers again.
    """

    def __init__(self, redis: Redis, settings: Settings, spool: Spool | None = None, *,
                 forget_unfiled: bool = True) -> None:
        self._redis = redis
        self._settings = settings
        # Whether a message kept unfiled is forgotten once filed here (`_forget_unfiled`): not by `lapor-gateway
        # unfiled retry`, which forgets one itself once it went through whole (one that raises after its commit,
        # a bug in its reply, stays kept).
        self._forget_unfiled_filed = forget_unfiled
        self._claim = redis.register_script(_CLAIM_SCRIPT)
        self._raise_sequence = redis.register_script(_RAISE_SEQUENCE_SCRIPT)
        self._take_over = redis.register_script(_TAKE_OVER_SCRIPT)
        self._spool = spool
        self._allocator = TrackingIdAllocator(
            redis, block_size=settings.intake.id_block_size, start=settings.intake.id_start,
            end=settings.intake.id_end,
        )
        self._waiting: thread_queue.SimpleQueue[_Waiting | None] = thread_queue.SimpleQueue()
        self._same_text = SameText(redis, settings)
        self._recent_texts = RecentTexts()
        # Held while a batch's same texts are looked up and committed: by the committer thread, and by the threads of
        # `commit_texts` (each poller's), which share the memory of first texts (`RecentTexts`).
        self._texts_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Dedup while spooling, and until each report is replayed: provider message -> Tracking ID given out from
        # the spool (see `_commit_beside_spooled`).
        self._spooled_ids: OrderedDict[str, str] = OrderedDict()
        self._spooling = False
        # The candidate each message's claim was sent with, where the claim's answer never came (`_take_over_pending`):
        # provider message -> Tracking ID, until the replay of its spooled report.
        self._unanswered_claims: OrderedDict[str, str] = OrderedDict()
        # The committer's held forward IDs: how many, and since when (monotonic), until released.
        self._held = 0
        self._held_since: float | None = None
        self._release_not_before = 0.0  # after a failed release (Redis down): not again at once
        self._release_failures = 0
        # The highest sequence number of a saved reserve taken while Redis was down, or of those dropped when the
        # raise past them met Redis down (0: none to check), set by the committer and cleared by the replayer: under
        # its own lock.
        self._unchecked_reserve = 0
        self._closing = False
        self._unchecked_lock = threading.Lock()

    @property
    def spool(self) -> Spool | None:
        return self._spool

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def reserve(self) -> int:
        """Tracking IDs this process holds leased: what it can still give out from the spool while Redis is down."""
        return self._allocator.reserve

    def holds_unminted(self, tracking_id: str) -> bool:
        """Whether `tracking_id` is in this process's reserve, leased and never minted: no report has it yet, though
        the Tracking-ID counter is past it (`gateway/followups.py`)."""
        return self._allocator.holds(tracking_id)

    # -- synchronous core -------------------------------------------------------------------------------
    def commit(self, drafts: Sequence[ReportDraft], *, hold: bool = False,
               received: Sequence[ReportDraft | None] | None = None) -> list[Receipt]:
        """Claim, store and enqueue `drafts` (or spool them); raise NotDurable if neither is possible.

        With `hold`, their forward jobs are left to `release_held` (the committer's linger). Once a Redis command
        has failed (a commit, a reserve top-up, a release), reports go straight to the spool until the spool
        replayer finds Redis answering again (`replay_spool`): a Redis that hangs then costs its timeout once
        (`intake.redis_timeout_seconds`: a command that timed out is not sent again), not once per batch.

        A message kept unfiled (`gateway.unfiled`: an earlier delivery of it met a bug) is forgotten once filed here
        (`_forget_unfiled`); so is the one `received` holds in a draft's place (the message as it came, where that
        draft is a same-text repeat mapped onto its first's id)."""
        if self._spooling:
            return self._commit_to_spool(drafts)
        if self._spooled_ids:
            return self._commit_beside_spooled(drafts, hold=hold, received=received)
        return self._commit_or_spool(drafts, hold=hold, received=received)

    def _commit_or_spool(self, drafts: Sequence[ReportDraft], *, hold: bool,
                         received: Sequence[ReportDraft | None] | None = None) -> list[Receipt]:
        try:
            receipts = self._commit(drafts, hold=hold, received=received)
        except RedisError as error:
            cause = error.__cause__ if isinstance(error, _StoreFailed) else error
            if self._spool is None:
                raise NotDurable(f"redis unavailable: {type(cause).__name__}", reason="redis_unavailable") from cause
            self._redis_failed(cause if isinstance(cause, RedisError) else error)
            return self._commit_to_spool(drafts, error.claims if isinstance(error, _StoreFailed) else None)
        if self._spool is not None:  # only a spool mints from the reserve: without one it was leased to be lost
            self._top_up_reserve()
        return receipts

    def _commit_beside_spooled(self, drafts: Sequence[ReportDraft], *, hold: bool,
                               received: Sequence[ReportDraft | None] | None = None) -> list[Receipt]:
        """`commit` while reports this process spooled are not in Redis yet (the replay under way, or cut short): a
        provider's retry of one is answered with the Tracking ID it was given, not claimed afresh in Redis (a second
        ID and a second report). Only then: the usual commit costs one test of an empty dict, no hash."""
        known = [self._spooled_ids.get(dedup_key(draft.channel.value, draft.message_identity)) for draft in drafts]
        fresh = [draft for draft, tracking_id in zip(drafts, known, strict=True) if tracking_id is None]
        fresh_received = None if received is None else [
            as_received for as_received, tracking_id in zip(received, known, strict=True) if tracking_id is None]
        committed = iter(self._commit_or_spool(fresh, hold=hold, received=fresh_received) if fresh else [])
        return [next(committed) if tracking_id is None else Receipt(tracking_id, duplicate=True, spooled=True)
                for tracking_id in known]

    def may_hold(self, tracking_id: str) -> bool:
        """Whether a disk spool may hold the report `tracking_id`, not replayed into Redis yet: this process spools
        (Redis cannot be asked), or a record waiting in its spool directory names it (`Spool.may_hold`; one given out
        from the spool is written there before its ID is). Its replay writes Redis before it deletes its file: False,
        a report ever spooled is in Redis now. Asked of the report, not of the spool as a whole: a status query for
        an ID no spool holds is answered at once, where it waited for a replay that could not bring it. Not
        `_spooled_ids`, which the committer and the replayer change from their threads as this reads."""
        if self._spooling:
            return True
        return self._spool is not None and self._spool.may_hold(tracking_id)

    @property
    def spooling(self) -> bool:
        """A Redis command failed and the replayer has not found Redis answering since: reports go to the spool."""
        return self._spooling

    def _redis_failed(self, error: RedisError) -> None:
        """Send new reports to the spool from now on (with a spool); the replayer's probe ends it."""
        if self._spool is None:
            return
        if not self._spooling:
            # `redis_state` as every view says it (a Redis refusing was told only as `redis_unavailable`), and what a
            # refusing Redis said.
            detail = redis_words(error)[:DETAIL_LIMIT] if redis_refuses(error) else None
            log.error("intake.spooling", reason="redis_unavailable", redis_state=outage_reason(error),
                      error=type(error).__name__, detail=detail)
        self._spooling = True

    def fill_reserve(self) -> None:
        """Lease the reserve the spool mints from in an outage, where no commit has yet: a gateway just started (or
        restarted after a crash, its reserve lost with it) held none until a report went through Redis, and a Redis
        outage before that answered every SMS 503, which Twilio never sends again, while the views said the spool
        answered them. Each round of the spool replayer, on its thread. Not while reports go to the spool, nor while
        a reserve taken during an outage waits for its check against Redis's sequence (`_unchecked_reserve`: the
        committer takes and records one on its own thread), nor once closing. A Redis error is the next commit's or
        round's to tell: told here, a Redis refusing writes (full, read-only) that answers the replayer's PING made
        an idle gateway log `intake.spooling` and `intake.redis_back` every second."""
        if (self._spool is None or self._spooling or self._unchecked_reserve or self._closing
                or self.reserve >= self._settings.intake.id_reserve):
            return
        with contextlib.suppress(RedisError, NotDurable):  # NotDurable: the ID range used up, the commit's to say
            # Asked first, outside the allocator's lease: a Redis that hangs would hold the lease (one at a time) for
            # the timeout, and with it the committer's mint of a reserve run dry.
            self._redis.ping()
            self._allocator.top_up(self._settings.intake.id_reserve)

    def _top_up_reserve(self) -> None:
        # The reports just committed are durable whatever happens here. A Redis error sends the next batches to the
        # spool at once (they need not wait out the timeout again); a used-up ID range is the next commit's to say.
        try:
            self._allocator.top_up(self._settings.intake.id_reserve)
        except RedisError as error:
            self._redis_failed(error)
        except NotDurable:
            pass

    def _run_claims(self, keys: Sequence[str], candidates: Sequence[str]) -> list[tuple[str, str]]:
        """Claim every key in one atomic script: (Tracking ID, 'new' | 'pending' | 'committed') per key."""
        return self._claim_batch(keys, candidates, [])[0]

    def _claim_batch(self, keys: Sequence[str], candidates: Sequence[str],
                     unfiled: Sequence[str]) -> tuple[list[tuple[str, str]], set[str]]:
        """`_run_claims`, and which of the `unfiled` hashes hold any message, asked in the same script: a batch on a
        channel without one costs no round trip more."""
        flat = self._claim([*keys, *unfiled], [self._settings.intake.dedup_ttl_seconds, *candidates])
        claimed = 2 * len(keys)
        return ([(flat[i].decode(), flat[i + 1].decode()) for i in range(0, claimed, 2)],
                {key for key, held in zip(unfiled, flat[claimed:], strict=True) if held})

    def _existing_claims(self, keys: Sequence[str],
                         unfiled: Sequence[str] = ()) -> tuple[list[tuple[str, str]] | None, set[str]]:
        """The claim of every key as (Tracking ID, 'pending' | 'committed'), read without claiming anything (None
        when one of them has none: a new message), and which of the `unfiled` hashes hold any message."""
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, "id", "state")
        for key in unfiled:
            pipe.exists(key)
        found = pipe.execute()
        held = {key for key, exists in zip(unfiled, found[len(keys):], strict=True) if exists}
        found = found[:len(keys)]
        if any(tracking_id is None for tracking_id, _ in found):
            return None, held
        return [(tracking_id.decode(), (state or b"pending").decode()) for tracking_id, state in found], held

    def _unfiled_hashes(self, sources: Iterable[str | None]) -> list[str]:
        """The unfiled-message hashes (`gateway.unfiled`) of the channels of `sources`, one a channel; none when this
        intake forgets none."""
        if not self._forget_unfiled_filed:
            return []
        return sorted({unfiled_entry(source, "")[0] for source in set(sources) if source})

    def _forget_unfiled(self, filed: Iterable[tuple[str | None, str, str, Any]], held: set[str]) -> None:
        """Forget the messages kept unfiled (`gateway.unfiled`) that `filed` (source, provider message id, Tracking
        ID, the draft's `part_ids` or None) has just filed, unless one kept holds a part the filed one lacks
        (`UnfiledMessages.forget_filed`): a later delivery of one (the provider's retry, a poller reading it again,
        after an upgrade or a passing bug). Asked only of the channels whose hash `held` names (the claim script saw
        it hold any), so a channel with none pays nothing. Their channel's health names the newest message left, or
        none. The reports are durable already: a failure here is logged, not raised, and leaves the entry to
        `lapor-gateway unfiled retry`, which finds its report filed (the dedup claim)."""
        entries: dict[tuple[str, str], str] = {}
        parts: dict[tuple[str, str], Any] = {}
        for source, provider_id, tracking_id, part_ids in filed:
            if source and (entry := unfiled_entry(source, provider_id))[0] in held:
                entries.setdefault(entry, tracking_id)
                parts.setdefault(entry, part_ids)
        if not entries:
            return
        try:
            store = UnfiledMessages(self._redis)
            forgotten = store.forget_filed([(*entry, parts[entry]) for entry in entries])
            for channel, _, entry in forgotten:
                log.warning("message.unfiled_filed", channel=channel, tracking_id=entries[entry])
            if forgotten:
                from gateway.health.signals import HealthSignals  # only here: intake alone imports no health check

                signals = HealthSignals(self._redis)
                for channel in sorted({channel for channel, _, _ in forgotten}):
                    signals.unfiled_left(channel, store.newest(channel))
        except Exception as error:  # a RedisError, or a bug: the reports are filed, and their callers must hear so
            log.warning("intake.unfiled_not_forgotten", error=type(error).__name__, count=len(entries))

    def _store(self, items: dict[str, tuple[bytes | str, str | None]], *, hold: bool = False) -> None:
        """One MULTI/EXEC: every envelope, its claim marked committed, and the forward jobs (or, with `hold`, the
        IDs on the held list, for `release_held`)."""
        envelope_keys = [envelope_key(tracking_id) for tracking_id in items]
        claim_keys = [key for _, key in items.values() if key is not None]
        pipe = self._redis.pipeline(transaction=True)
        pipe.eval(_STORE_SCRIPT, len(envelope_keys) + len(claim_keys), *envelope_keys, *claim_keys,
                  len(envelope_keys), *(envelope for envelope, _ in items.values()))
        if hold:
            pipe.rpush(HELD_FORWARD_KEY, *items)
        else:
            enqueue_forward(self._redis, self._settings, list(items), pipeline=pipe)
        pipe.execute()
        if hold:
            self._held += len(items)
            if self._held_since is None:
                self._held_since = time.monotonic()

    def release_held(self) -> None:
        """Make the held IDs forward jobs now. A failure leaves them held (in Redis) for the next try: soon after
        losing to other gateways, later and later while Redis fails. While spooling (Redis known down) no try
        is made at all, so a Redis that hangs does not also stall the committer here; the first commit that
        reaches Redis again, or a forward worker's reaper, releases them."""
        now = time.monotonic()
        if self._spooling:
            self._release_not_before = now + 1.0
            return
        try:
            release_held_forwards(self._redis, self._settings)
        except WatchError:
            self._release_not_before = now + 0.05
            return
        except Exception as error:  # RedisError, or a bug: the committer must go on answering citizens
            if isinstance(error, RedisError):
                self._redis_failed(error)
            self._release_failures += 1
            log.warning("intake.release_failed", error=type(error).__name__, failures=self._release_failures)
            self._release_not_before = now + min(30.0, 0.5 * 2 ** (self._release_failures - 1))
            return
        self._held, self._held_since, self._release_failures = 0, None, 0

    def _release_due_in(self) -> float | None:
        """Seconds until the held IDs must be released (0: now); None when nothing is held."""
        if self._held_since is None:
            return None
        now = time.monotonic()
        due = now if self._held >= self._settings.intake.max_batch else (
            self._held_since + self._settings.intake.forward_linger_ms / 1000)
        return max(0.0, due - now, self._release_not_before - now)

    def _commit(self, drafts: Sequence[ReportDraft], *, hold: bool = False,
                received: Sequence[ReportDraft | None] | None = None) -> list[Receipt]:
        keys = [dedup_key(draft.channel.value, draft.message_identity) for draft in drafts]
        unfiled = self._unfiled_hashes(draft.source for draft in drafts)
        candidates: list[str] = []
        try:
            candidates.extend(self._allocator.mint() for _ in drafts)
        except (RedisError, NotDurable) as error:
            # A block lease failed (Redis, or this cell's range used up) before any claim was sent: the IDs go back
            # (to the reserve the spool needs, or for the next batch). Not after a failed claim pipeline: Redis may
            # have run it and only the answer was lost.
            self._allocator.give_back(*candidates)
            if not isinstance(error, IdRangeExhausted):
                raise
            # No new ID can be minted, but a message claimed before (a provider's retry of one it was answered for)
            # needs none: it gets its Tracking ID back. Looked up only here, so the usual commit costs no more.
            found, held = self._existing_claims(keys, unfiled)
            if found is None:
                raise
            claims = found
            candidates = [tracking_id for tracking_id, _ in claims]  # nothing minted, nothing to give back
        else:
            try:
                claims, held = self._claim_batch(keys, candidates, unfiled)
            except RedisError:  # perhaps run, its answer lost: claims nobody will store, for the replay to take over
                for key, candidate in zip(keys, candidates, strict=True):
                    self._unanswered_claims.setdefault(key, candidate)
                _forget_oldest(self._unanswered_claims)
                raise
        receipts: list[Receipt] = []
        to_store: dict[str, tuple[bytes | str, str | None]] = {}
        for draft, key, candidate, (tracking_id, state) in zip(drafts, keys, candidates, claims, strict=True):
            if tracking_id != candidate:
                self._allocator.give_back(candidate)
            if state != "committed" and tracking_id not in to_store:
                to_store[tracking_id] = (draft.envelope_json(tracking_id), key)
            receipts.append(Receipt(tracking_id=tracking_id, duplicate=state != "new"))
        if to_store:
            try:
                self._store(to_store, hold=hold)
            except RedisError as error:  # perhaps run, its answer lost: spooled, each keeps the ID its claim holds
                raise _StoreFailed(list(claims)) from error
        if held:  # a channel of the batch holds messages kept unfiled: those filed now go
            filed = [*zip(drafts, receipts, strict=True),
                     *(zip(received, receipts, strict=True) if received is not None else ())]
            self._forget_unfiled([(draft.source, draft.message_identity, receipt.tracking_id,
                                   draft.channel_meta.get("part_ids"))
                                  for draft, receipt in filed if draft is not None], held)
        return receipts

    # -- the disk spool ------------------------------------------------------------------------------------
    def _commit_to_spool(self, drafts: Sequence[ReportDraft],
                         claims: Sequence[tuple[str, str]] | None = None) -> list[Receipt]:
        """Spool `drafts` with IDs from the reserve. All or nothing: an ID is remembered (and so can be given to a
        retry) only once its record is on disk, or a retry could be acknowledged with an ID no record carries.

        With `claims` (a commit whose store failed after its claims were answered: `_StoreFailed`), each message
        keeps the ID its claim holds, and one committed before is answered from Redis's copy, nothing spooled: the
        store may have run with only its answer lost, and a new ID from the reserve made the one message two reports
        (the spooled one the first's `duplicate_of`), its citizen told one ID and the provider's retry the other."""
        assert self._spool is not None
        records: list[SpoolRecord] = []
        receipts: list[Receipt] = []
        in_batch: dict[str, str] = {}
        minted: list[str] = []
        for index, draft in enumerate(drafts):
            key = dedup_key(draft.channel.value, draft.message_identity)
            known = self._spooled_ids.get(key) or in_batch.get(key)
            if known is not None:
                receipts.append(Receipt(tracking_id=known, duplicate=True, spooled=True))
                continue
            if claims is not None:
                tracking_id, state = claims[index]
                if state == "committed":
                    receipts.append(Receipt(tracking_id=tracking_id, duplicate=True))
                    continue
            else:
                try:
                    tracking_id, state = self._mint_from_reserve(), "new"
                except LookupError as error:
                    self._allocator.give_back(*minted)
                    raise NotDurable(
                        "redis unavailable and no Tracking IDs in reserve", reason="redis_unavailable"
                    ) from error
                minted.append(tracking_id)
            envelope = draft.with_tracking_id(tracking_id).model_dump(mode="json")
            records.append(SpoolRecord(tracking_id, key, envelope, draft.dedup_id))
            receipts.append(Receipt(tracking_id=tracking_id, duplicate=state != "new", spooled=True))
            in_batch[key] = tracking_id
        try:
            if records:
                self._spool.append(records)
        except OSError as error:  # part of the batch may be on disk (see Spool.append): its IDs are not given back
            # The OS's words without the file's path: the detail is the webhook's answer, which anyone may read.
            raise NotDurable(f"redis unavailable and the spool failed: {error.strerror or type(error).__name__}",
                             reason="spool_failed") from error
        for key, tracking_id in in_batch.items():
            self._remember_spooled(key, tracking_id)
        metrics.SPOOLED.inc(len(records))
        return receipts

    def _mint_from_reserve(self) -> str:
        """An ID from this process's reserve; when it runs out, from a reserve a stopped process left in the spool
        directory (unchecked: Redis is down). LookupError when neither has one left."""
        try:
            return self._allocator.mint_from_reserve()
        except LookupError:
            if not self.take_saved_reserve(redis_down=True):
                raise
            return self._allocator.mint_from_reserve()

    def _remember_spooled(self, key: str, tracking_id: str) -> None:
        self._spooled_ids[key] = tracking_id
        _forget_oldest(self._spooled_ids)

    def replay_spool(self) -> int:
        """Move every spooled report into Redis, oldest file first, in order; returns how many were replayed.

        Idempotent: a record whose claim is already committed is skipped, so a replay cut short by another outage
        simply runs again. A message that reached Redis under another Tracking ID before the outage keeps both IDs
        the citizen was given: the spooled one is stored with `duplicate_of` naming the first."""
        if self._spool is None:
            return 0
        self._redis.ping()  # RedisError when still down: nothing is claimed in vain
        unchecked = self._unchecked_reserve
        # Redis found again after an outage may have come back behind this process's own leases too (emptied, its
        # last second lost): the reserve this process goes on minting from must not be leased to another; nor the
        # numbers below the reserves stopped processes left (`_sequence_past_saved_reserves`).
        leased = self._allocator.leased_high if self._spooling else 0
        if unchecked or leased:
            self._sequence_past_saved_reserves(max(unchecked, leased))
            with self._unchecked_lock:  # the committer may have taken another one meanwhile: that one stays to check
                if self._unchecked_reserve == unchecked:
                    self._unchecked_reserve = 0
        if self._spooling:  # new reports go to Redis again (the committer does not probe while spooling)
            self._spooling = False
            self._release_not_before = 0.0
            log.warning("intake.redis_back", detail="new reports go to Redis again; the spool is being replayed")
        replayed = 0
        for path in self._spool.pending_files():
            replayed += self._replay_file(path)
        if replayed:
            log.warning("spool.replayed", count=replayed)
        return replayed

    def _replay_file(self, path: Path) -> int:
        """Replay one spool file, if this process may claim it, and delete it; how many reports were replayed.

        A file this process cannot open or read (another user's, an I/O error) is left as it is, nothing of it
        deleted, and tried again next round: raised, the error ended every round at that file, and the files after
        it were never replayed."""
        assert self._spool is not None
        replayed = 0
        claimed: Path | None = None
        try:
            claimed = self._spool.claim(path)
            if claimed is None:
                return 0
            batch: list[SpoolRecord] = []
            for record in self._spool.read(claimed):
                batch.append(record)
                if len(batch) >= self._settings.intake.max_batch:
                    replayed += self._replay_batch(batch)
                    batch = []
            if batch:
                replayed += self._replay_batch(batch)
        except OSError as error:
            self._spool.unreadable(claimed or path, error)
            return replayed
        claimed.unlink()
        self._spool.release(claimed)
        log.info("spool.file_replayed", file=claimed.name)
        return replayed

    def _replay_batch(self, records: Sequence[SpoolRecord]) -> int:
        # Their IDs came from reserves, perhaps one taken while Redis was down by a process that stopped before it
        # answered (its check, `_unchecked_reserve`, went with it): a Redis that came back behind them must not
        # lease them again. A no-op (one round trip per batch) when the sequence is past them, as it normally is.
        self._sequence_past(max(int(record.tracking_id[:-1]) for record in records))
        unfiled = self._unfiled_hashes(record.envelope.get("source") for record in records)
        claims, held = self._claim_batch([r.dedup_key for r in records], [r.tracking_id for r in records], unfiled)
        claims = self._take_over_pending(records, claims)
        to_store: dict[str, tuple[bytes | str, str | None]] = {}
        for record, (tracking_id, state) in zip(records, claims, strict=True):
            if tracking_id == record.tracking_id:
                if state != "committed":
                    to_store[record.tracking_id] = (orjson.dumps(record.envelope), record.dedup_key)
            else:
                envelope = {**record.envelope, "duplicate_of": tracking_id}
                if not self._redis.exists(envelope_key(record.tracking_id)):
                    to_store[record.tracking_id] = (orjson.dumps(envelope), None)
        if to_store:
            self._store(to_store)
        if held:  # filed from the spool: a message kept unfiled goes as it would have from the webhook
            self._forget_unfiled([(record.envelope.get("source"),
                                   record.identity or str(record.envelope.get("channel_message_id")), tracking_id,
                                   (record.envelope.get("channel_meta") or {}).get("part_ids"))
                                  for record, (tracking_id, _) in zip(records, claims, strict=True)], held)
        for record in records:  # in Redis now, a retry answered from its claim: this process's own record forgotten
            if self._spooled_ids.get(record.dedup_key) == record.tracking_id:
                self._spooled_ids.pop(record.dedup_key, None)
        return len(to_store)

    def _take_over_pending(self, records: Sequence[SpoolRecord],
                           claims: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The replay's claims, a `pending` one under the ID this process sent it with and never heard back about given
        to the spooled record. Redis ran the claim and its answer was lost (Redis killed just then, or a hang that
        timed the claim out and ran it once it resumed): no store followed, nobody was given that ID, and the citizen
        was given the spooled one. Left, the spooled report went in as the pending claim's `duplicate_of`, and the
        provider's next retry committed the claim: the one message a second report, its citizen told a second
        Tracking ID. Only this process's own unanswered claims (`_unanswered_claims`): another's pending claim may be
        a commit between its claim and its store, whose report would be stored beside the spooled one, unlinked."""
        stale = [index for index, (record, (tracking_id, state)) in enumerate(zip(records, claims, strict=True))
                 if tracking_id != record.tracking_id and state == "pending"
                 and self._unanswered_claims.get(record.dedup_key) == tracking_id]
        taken = self._take_over([records[index].dedup_key for index in stale], [
            item for index in stale for item in (claims[index][0], records[index].tracking_id)]) if stale else []
        for record in records:
            self._unanswered_claims.pop(record.dedup_key, None)
        claims = list(claims)
        for index, took in zip(stale, taken, strict=True):
            if took:
                log.warning("intake.pending_claim_taken_over", tracking_id=records[index].tracking_id)
                claims[index] = (records[index].tracking_id, "pending")
        return claims

    # -- asyncio face ------------------------------------------------------------------------------------
    async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
        """Durable when this returns; raises NotDurable otherwise. Batches with concurrent callers. With `same_text`
        (its channel's name and window), the same text from the same sender within the window is the first one's
        report (`gateway.same_text`, looked up for the whole batch at once)."""
        self._ensure_thread()
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._waiting.put(_Waiting(draft, future, same_text))
        return await future

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="intake-committer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                if self._run_once():
                    return
            except Exception as error:  # a bug must not leave the next citizens waiting on a dead thread
                log.error("intake.committer_error", error=type(error).__name__)

    def _run_once(self) -> bool:
        """Commit one batch (or release what is due); True once told to stop."""
        try:
            first = self._waiting.get(timeout=self._release_due_in())
        except thread_queue.Empty:  # the linger is up and nothing else came
            self.release_held()
            return False
        if first is None:
            if self._held_since is not None:
                self.release_held()
            return True
        batch = [first]
        while len(batch) < self._settings.intake.max_batch:
            try:
                item = self._waiting.get_nowait()
            except thread_queue.Empty:
                break
            if item is None:
                self._waiting.put(None)
                break
            batch.append(item)
        self._commit_batch(batch)
        if self._release_due_in() == 0.0:
            self.release_held()
        return False

    def _commit_batch(self, batch: list[_Waiting]) -> None:
        hold = self._settings.intake.forward_linger_ms > 0
        try:
            with self._texts_lock:
                keys = [RecentTexts.key(item.draft, item.same_text) for item in batch]
                drafts = self._one_report_per_text(batch, keys)
                receipts: list[Receipt] | BaseException = self._commit_texts(batch, keys, drafts, hold)
        except Exception as error:  # NotDurable or a bug: every waiting caller must hear of it
            if len(batch) > 1 and (isinstance(error, IdRangeExhausted) or not isinstance(error, NotDurable)):
                # The batch is whoever was waiting, not one provider's: each is committed alone, so a message
                # claimed before gets its Tracking ID even beside a new one, and only the new ones are refused; and
                # a bug one message's draft meets fails that message alone (the others' citizens were told theirs
                # was kept unfiled, gateway.unfiled, instead of getting their Tracking IDs).
                for item in batch:
                    self._commit_batch([item])
                return
            receipts = error
            log.error("intake.commit_failed", error=type(error).__name__, batch=len(batch))
        # One wake-up per event loop for the whole batch, not one per request: each wake-up costs the loop a
        # self-pipe write and read and the committer a GIL hand-over.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Receipt], Receipt | None]]] = {}
        for index, item in enumerate(batch):
            receipt = None if isinstance(receipts, BaseException) else receipts[index]
            by_loop.setdefault(item.future.get_loop(), []).append((item.future, receipt))
        error = receipts if isinstance(receipts, BaseException) else None
        for loop, settlements in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settlements, error)

    def commit_texts(self, drafts: Sequence[ReportDraft], windows: Sequence[SameTextWindow | None]) -> list[Receipt]:
        """`commit`, each draft with its same-text window as `submit` takes one (None: never a repeat), for a caller
        holding its drafts at once (a poller's batch, in its own thread): the same text from the same sender within
        the window is the first one's report, its receipt marked `same_text` (`gateway.same_text`), two of one text
        in the batch included. One script for the batch, as for the committer's."""
        batch = [_Committed(draft, window) for draft, window in zip(drafts, windows, strict=True)]
        with self._texts_lock:
            keys = [RecentTexts.key(item.draft, item.same_text) for item in batch]
            return self._commit_texts(batch, keys, self._one_report_per_text(batch, keys), hold=False)

    def _commit_texts(self, batch: Sequence[_Text], keys: list[str | None], drafts: list[ReportDraft],
                      hold: bool) -> list[Receipt]:
        """Commit the batch's drafts, a same-text repeat's receipt marked `same_text`. While spooling, a repeat of a
        first message this process committed within its window (`RecentTexts`), or of one earlier in the batch, is
        answered with that one's Tracking ID and nothing is spooled for it; so is the provider's retry of a message
        committed before the outage, which was spooled again as a second report. Every first is remembered."""
        answered: dict[int, Receipt | int] = {}
        if self._spooling:
            earlier: dict[str, int] = {}
            for index, key in enumerate(keys):
                # A message this process spooled has its own Tracking ID (`_commit_to_spool` answers its retry):
                # the first of its text remembered now may be a later message, sent once its window was over.
                if key is None or dedup_key(drafts[index].channel.value,
                                            drafts[index].message_identity) in self._spooled_ids:
                    continue
                source, provider_id = _same_text_source(batch[index]), drafts[index].message_identity
                if (first := self._recent_texts.repeat_of(source, provider_id)) is not None:  # a repeat's retry
                    answered[index] = Receipt(first.tracking_id, duplicate=True, spooled=first.spooled, same_text=True)
                elif (first := self._recent_texts.first(key)) is not None:
                    answered[index] = Receipt(first.tracking_id, duplicate=True, spooled=first.spooled,
                                              same_text=first.provider_id != provider_id)
                    if first.provider_id != provider_id:
                        self._recent_texts.remember_repeat(source, provider_id, first)
                elif key in earlier:
                    answered[index] = earlier[key]
                else:
                    earlier[key] = index
        fresh = [index for index in range(len(batch)) if index not in answered]
        # A same-text repeat is filed under its first's id: the message as it came is filed all the same.
        received = [None if drafts[index] is batch[index].draft else batch[index].draft for index in fresh]
        mapped = any(draft is not None for draft in received)
        committed = dict(zip(fresh, self.commit([drafts[index] for index in fresh], hold=hold,
                                                received=received if mapped else None), strict=True))
        receipts: list[Receipt] = []
        for index, (item, draft, key) in enumerate(zip(batch, drafts, keys, strict=True)):
            settled = answered.get(index, committed.get(index))
            if isinstance(settled, int):  # the same text earlier in this batch
                # or the provider's retry of that very message (its answer late), which gets that message's answer
                # and is no repeat of itself: remembered as one, its later retries were "we already have this" too
                again = drafts[settled].message_identity == draft.message_identity
                receipt = replace(committed[settled], duplicate=True, same_text=not again)
                if not again:
                    self._recent_texts.remember_repeat(_same_text_source(item), draft.message_identity, FirstOfText(
                        drafts[settled].message_identity, receipt.tracking_id, receipt.spooled, 0.0))
            else:
                assert settled is not None
                receipt = replace(settled, same_text=True) if draft is not item.draft else settled
            if key is not None and item.same_text is not None and not receipt.duplicate:  # a first
                self._recent_texts.remember(key, draft, receipt.tracking_id, receipt.spooled, item.same_text[1])
            receipts.append(receipt)
        return receipts

    def _one_report_per_text(self, batch: Sequence[_Text], keys: list[str | None]) -> list[ReportDraft]:
        """The batch's drafts, a same-text repeat's under its first message's provider id (`SameText`). Not while
        spooling: Redis failed, and a hang would cost its timeout again. Nor for a message this process spooled and
        has not replayed yet: it has its Tracking ID (the script finds the claims in Redis). A first message this
        process spooled within its window is told to the script as its text's first: Redis holds no same-text key
        for that one, and the repeat sent once Redis answered again was a second case. A Redis failure here is the
        commit's: the batch goes to the spool as it would have."""
        drafts = [item.draft for item in batch]
        if self._spooling or all(item.same_text is None for item in batch):
            return drafts
        claims = [dedup_key(draft.channel.value, draft.message_identity) for draft in drafts]
        windows = [None if claim in self._spooled_ids else item.same_text
                   for item, claim in zip(batch, claims, strict=True)]
        # Told to the script, which looks up the message's own claim first: mapped here, the provider's retry of an
        # earlier first of the text, spooled and since replayed, was answered with this one's Tracking ID.
        spooled_firsts = [self._recent_texts.spooled_first(key) if key is not None else None for key in keys]
        for index, (item, key) in enumerate(zip(batch, keys, strict=True)):
            # A repeat answered from memory while spooling: one report with its first, whatever the window says now.
            if key is not None and (first := self._recent_texts.repeat_of(
                    _same_text_source(item), drafts[index].message_identity)) is not None:
                drafts[index] = drafts[index].under_identity(first.provider_id)
                windows[index] = None
        try:
            return self._same_text.one_report_per_text(drafts, windows, claims, spooled_firsts)
        except RedisError as error:
            if self._spool is None:
                raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error
            self._redis_failed(error)
            return drafts

    def close(self) -> None:
        """Stop the committer, then leave the unused Tracking IDs in reserve to the processes on its spool directory."""
        self._closing = True  # no lease by the replayer's round from here: its IDs would be lost (a gap)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._waiting.put(None)
                self._thread.join(timeout=5)
                if self._thread.is_alive():  # still minting (Redis hangs): its IDs must not be handed on
                    return
            self._thread = None
            if self._spool is not None:
                try:
                    self._spool.save_reserve(self._allocator.take_reserve())
                except OSError as error:  # the IDs are only lost (a gap in the sequence), never given twice
                    log.warning("intake.reserve_not_saved", error=type(error).__name__)
                self._spool.close()  # its spool file the other gateways' to replay now

    @property
    def waits_for_redis(self) -> bool:
        """Whether the replayer is to find Redis again: reports go to the spool, or a reserve taken in an outage
        waits for its check against Redis's sequence."""
        return bool(self._spooling or self._unchecked_reserve)

    @property
    def replay_due(self) -> bool:
        """Whether the spool replayer has work: spooled reports, a Redis to find again, a reserve to check."""
        return self._spool is not None and bool(
            self._spooling or self._unchecked_reserve or self._spool.pending_files())

    def _sequence_past(self, number: int) -> None:
        """Raise Redis's ID sequence to at least `number` (a reserve taken or held while Redis was down): a Redis that
        came back behind it (emptied, rolled back, another one) must not lease these IDs to anyone again."""
        if self._raise_sequence([SEQUENCE_KEY], [number]):
            log.warning("intake.sequence_raised", reason="sequence_below_reserve", sequence=number)

    def _sequence_past_saved_reserves(self, high: int) -> None:
        """Raise the sequence past `high` (a saved reserve just taken, or what this process minted from while Redis
        was away) and past every reserve still saved in this cell's range, those above the sequence dropped first.

        One above it is a Redis that came back behind the process that left it (emptied, rolled back, a lagging
        replica promoted): that process handed out the numbers below its reserve, and a lease from the sequence as
        it was gives them to new reports, which the case store (idempotent on the Tracking ID) answers "already had
        it" and never stores; and some of the reserve's own numbers may have been leased already, so it is dropped (a
        gap). Every reserve, not only the one taken: the processes starting now each take one, and the first to lease
        must not lease below the others.

        The invariant, with `take_saved_reserve`: a reserve is minted from only when it is below the sequence as read
        before it was taken, and the sequence is raised past a reserve found above it only once that reserve is gone
        from the directory. So no raise is what puts the sequence past a reserve a taker keeps: a taker that reads
        after the raise finds none of those the raiser dropped, and one that took such a reserve first read the
        sequence before the raise, found the reserve above it and drops it too. That holds in every order of two
        processes starting together (each reading, taking, dropping, raising), and of one starting while another's
        replayer finds Redis back. (Raised before the drops, a process that took one in that moment, or checked it
        only after the raise, found the sequence past it and kept numbers a process without a spool had leased from
        the Redis behind.) Not covered: a lease between the drops and the raise is as blind as any between Redis's
        return and the first raise; a reserve saved after the raiser looked (a gateway that ran through the outage)
        and passed by its raise, or one that leases passed, or Redis going behind again between a read and a raise,
        look like numbers leased from this Redis. A raise that meets Redis down leaves `high` to the replayer (the
        reserves dropped are gone)."""
        assert self._spool is not None
        try:
            sequence = int(self._redis.get(SEQUENCE_KEY) or 0)
            for path, numbers in self._spool.peek_saved_reserves():
                if not (in_range := self._in_cell_range(numbers)):
                    continue
                high = max(high, *in_range)
                if max(in_range) > sequence and self._spool.discard_saved_reserve(path):
                    log.warning("intake.saved_reserve_dropped", reason="sequence_below_reserve", count=len(in_range))
            self._sequence_past(high)
        except RedisError:
            with self._unchecked_lock:
                self._unchecked_reserve = max(self._unchecked_reserve, high)
            raise

    def _in_cell_range(self, numbers: list[int]) -> list[int]:
        """The numbers within this cell's id_start..id_end (no end: any above the start)."""
        start, end = self._settings.intake.id_range
        return [number for number in numbers if start <= number <= (end or number)]

    def restore_saved_reserve(self) -> int:
        """At start, take one of the reserves earlier processes left in the spool directory, so that this one can
        answer from the spool even if Redis is down from its start. One, not all: the other processes starting on
        the same directory need theirs, and what is left waits for a process whose reserve runs out during an
        outage (`_mint_from_reserve`). Returns how many IDs were taken."""
        return self.take_saved_reserve(redis_down=False)

    def take_saved_reserve(self, *, redis_down: bool) -> int:
        """Take one saved reserve this process may mint from; returns how many IDs it holds (0: none is left).

        Numbers outside this cell's id_start..id_end are not this cell's, and a reserve above Redis's sequence, read
        before the file is taken, was not leased by this Redis as it is now (emptied, rolled back, or another Redis):
        both are dropped, and the next file taken; the sequence is raised past the latter, and past every reserve
        still saved (`_sequence_past_saved_reserves`, which says why the read comes first). With Redis down
        (`redis_down`: known to be, so not asked; or found so now) the sequence cannot be read, which is exactly the
        case a saved reserve is for: the replayer checks once Redis answers, and raises the sequence past it if it
        must."""
        if self._spool is None:
            return 0
        while self._spool.saved_reserves():  # none saved: Redis is not asked, so a hanging one delays no start
            sequence = 0
            if not redis_down:
                try:
                    sequence = int(self._redis.get(SEQUENCE_KEY) or 0)
                except RedisError:
                    redis_down = True
            if not (found := self._spool.take_saved_reserve()):
                continue
            numbers = self._in_cell_range(found)
            if not numbers:
                continue
            if not redis_down:
                behind = sequence < max(numbers)
                try:
                    self._sequence_past_saved_reserves(max(numbers))
                except RedisError:  # `max(numbers)` left to the replayer to raise past
                    redis_down = True
                if behind:
                    log.warning("intake.saved_reserve_dropped", reason="sequence_below_reserve", count=len(numbers))
                    continue
            if redis_down:
                with self._unchecked_lock:
                    self._unchecked_reserve = max(self._unchecked_reserve, max(numbers))
            self._allocator.restore(sorted(numbers))
            log.info("intake.saved_reserve_taken", count=len(numbers), redis_down=redis_down)
            return len(numbers)
        return 0


def _settle_all(settlements: list[tuple[asyncio.Future[Receipt], Receipt | None]], error: BaseException | None) -> None:
    for future, receipt in settlements:
        _settle(future, receipt, error)


def _settle(future: asyncio.Future[Receipt], receipt: Receipt | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(receipt)  # type: ignore[arg-type]


def build_intake(settings: Settings, redis: Redis) -> Intake:
    """The intake every receiving process uses: with the disk spool, which must be writable before we start."""
    spool = Spool(settings.data_dir / SPOOL_DIR)
    spool.check_writable()
    intake = Intake(redis, settings, spool)
    intake.restore_saved_reserve()
    return intake


class SpoolReplayer:
    """The rounds of `run_spool_replayer`. A Redis that answers with an error (a read-only replica during a failover,
    full at its maxmemory, too few replicas to write to) is told once, with its words, until a round goes through:
    taken for Redis still down, it was told by nothing (intake, spooling, does not ask Redis), and the spool did not
    drain for as long with no line saying why."""

    def __init__(self, intake: Intake, *, clock: Callable[[], float] = time.time) -> None:
        self._intake = intake
        self._refusal: tuple[str, str] | None = None  # the refusal told last: (error type, Redis's words)
        self._clock = clock
        # Since when answered reports stayed in the spool though Redis answered (None: none did), and whether that
        # is told (`REPLAY_STUCK_KEY`, `spool.replay_stuck`).
        self._stuck_since: float | None = None
        self._stuck_told = False
        # Whether a `spool.replay_stuck` waits for its `spool.replay_unstuck`: owed until the spool is empty, an
        # outage between (which ends the episode) or not.
        self._unstuck_owed = False
        # Whether this replayer's entry may be in `REPLAY_STUCK_KEY`: deleted once the spool is empty, even after an
        # outage ended the episode in between.
        self._stuck_written = False
        self._host = loggable_host(socket.gethostname())
        # This replayer's field: the replayer itself (host, pid, start). One entry per replayer, not per host and
        # directory: two gateways on one directory each say why they are stuck (one's "held by another live process"
        # overwrote the other's own reason, every round). The views count a spool once by its identity in the entry
        # (`Spool.identity`), which the hosts sharing a directory share too, so a spool on a shared disk is one
        # spool, not one per host.
        self._stuck_field = file_stem(socket.gethostname())

    async def round(self) -> None:
        """When the spool holds reports and Redis answers, replay them."""
        spool = self._intake.spool
        if spool is None:
            return
        waiting: int | None = None  # the spool's size once a round found Redis answering; None while it does not
        failed: str | None = None  # a replay that failed on an error not Redis's: Redis answered all the same
        try:
            spool.last_unreadable = None  # the reason as of this round: a file made readable is no longer it
            waiting = await asyncio.to_thread(self._replay, spool)
            metrics.SPOOL_SIZE.set(waiting)
            self._refusal = None
        except RedisError as error:
            # Refused (a command, or the password: `redis_refuses`), told once; else still down: tried next round.
            refusal = (type(error).__name__, redis_words(error)[:DETAIL_LIMIT]) if redis_refuses(error) else None
            if refusal is not None and refusal != self._refusal:
                self._refusal = refusal
                log.error("spool.replay_failed", reason=outage_reason(error), error=refusal[0], detail=refusal[1],
                          spool_bytes=await asyncio.to_thread(spool.size_bytes))
        except Exception as error:  # a bug must not stop replay for good
            log.error("spool.replay_failed", error=type(error).__name__)
            # Redis answered (its errors are the branches above): a replay failing so every round is a stuck spool.
            # Taken for Redis down, it left the views all ok while no spooled report reached the case store.
            waiting = await asyncio.to_thread(spool.size_bytes)
            failed = f"replay failed ({type(error).__name__}); see spool.replay_failed"
        await asyncio.to_thread(self._say_stuck, spool, waiting, failed)

    def _replay(self, spool: Spool) -> int:
        """Replay the spool when it has work; its size after. On a thread, as all of a round's spool I/O: listed on the
        event loop once a second, a spool disk that hangs (an NFS server gone) stalled every webhook with it."""
        # After a round that found Redis back or checked a reserve, the next: a commit spooling as the replay ended
        # has taken and recorded its saved reserve by then. Not only after a round with nothing to replay: a spool
        # file another gateway holds, or one that cannot be read, kept the reserve unleased for good.
        # Nor a replay that fails every round on an error not Redis's (told as `spool.replay_failed`).
        redis_was_away = self._intake.waits_for_redis
        try:
            if self._intake.replay_due:
                self._intake.replay_spool()
        except RedisError:
            raise
        except Exception:
            if not redis_was_away:
                self._intake.fill_reserve()
            raise
        if not redis_was_away:
            self._intake.fill_reserve()
        return spool.size_bytes()

    def _say_stuck(self, spool: Spool, waiting: int | None, failed: str | None = None) -> None:
        """Answered reports left in the spool for `REPLAY_STUCK_SECONDS` after rounds that found Redis answering (a
        file the replayer cannot read, ...): told in the log once and to every status view through Redis, each round
        while it lasts, until the spool is empty. They never reached the case store, and the views showed only the
        spool's size beside "all ok". `waiting`: the spool's size as the round found it, None when Redis did not
        answer (down or refusing: the views say that, and the spool waits for it)."""
        if waiting is None:  # Redis down or refusing: the episode ends, and a spool stuck again is told again
            self._stuck_since = None
            self._stuck_told = False
            return
        now = self._clock()
        try:
            if not waiting:
                self._stuck_since = None
                spool.last_unreadable = None
                if self._stuck_written:
                    self._intake.redis.hdel(REPLAY_STUCK_KEY, self._stuck_field)
                    self._stuck_written = False
                self._stuck_told = False
                if self._unstuck_owed:
                    self._unstuck_owed = False
                    log.warning("spool.replay_unstuck")
                return
            self._stuck_since = self._stuck_since or now
            if now - self._stuck_since < REPLAY_STUCK_SECONDS:
                return
            reason = failed or spool.last_unreadable or spool.held_elsewhere() or "not replayed"
            at = redis_time(self._intake.redis.time())  # the status views' clock, whichever host they run on
            self._intake.redis.hset(REPLAY_STUCK_KEY, self._stuck_field, orjson.dumps({
                "spool": self._identity(spool), "host": self._host, "since": self._stuck_since, "at": at,
                "bytes": waiting, "reason": reason}))
            self._stuck_written = True
            if not self._stuck_told:
                drop_expired_stuck_entries(self._intake.redis, at)
        except RedisError:
            return  # gone meanwhile: the next round tells
        if not self._stuck_told:
            self._stuck_told = self._unstuck_owed = True
            log.error("spool.replay_stuck", spool_bytes=waiting, reason=reason,
                      seconds=round(now - self._stuck_since))

    def _identity(self, spool: Spool) -> str:
        """The spool's identity (`Spool.identity`), read at each round it is stuck; host and path while it can be
        neither read nor made. Kept for the process's life, host and path after one I/O error, or a token another
        host replaced (a damaged one two hosts replaced at once), counted a spool two hosts share twice for good."""
        return spool.identity() or f"{self._host}:{spool.directory}"


async def run_spool_replayer(intake: Intake, interval: float = 1.0) -> None:
    """Forever: when the spool holds reports and Redis answers, replay them. Cancel to stop."""
    if intake.spool is None:
        return
    replayer = SpoolReplayer(intake)
    while True:
        await replayer.round()
        await asyncio.sleep(interval)
