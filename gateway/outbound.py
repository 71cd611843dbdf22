"""Replies that go out later through the reply worker, for providers that cannot carry them in their callback.

The aggregator's callback is answered with a bare 200; the citizen's SMS (acknowledgement, follow-up, help,
status) is a job on `lapor-reply`. This module decides and queues those jobs, with the limits of each provider's
own settings section (its reply sender's, in `channels.reply_senders`; the aggregator's is `[aggregator]`):
- flood control: more than `flood_replies_per_minute` messages a minute (a new report's acknowledgement not counted
  there), or `flood_replies_per_hour` an hour, from one number and the replies are held back (recorded as `held`, not
  sent); the reports themselves are accepted and
  forwarded as always (`count_message`; Twilio's answers in its webhook's response are counted in the same windows by
  `FloodCounter`);
- status queries: answered inline when the case store answers within `status_inline_timeout_seconds`, otherwise
  the citizen is told the answer follows and a status job on `lapor-status` sends it (or, when its retries run
  out, that the status cannot be checked now), never before the promise (`after_reply`, `workers.reply_order`);
- queries and reports are answered once per provider message: the provider's retry of one it sent before queues
  nothing new.
The same text sent again is one report before it gets here (`gateway.same_text`, in intake): a repeat's receipt says
so (`Receipt.same_text`), and its reply is "we already have this report".
Every reply has a record (`lapor:reply:<id>`) that the worker and the delivery reports update.
A reply to a report is addressed by its Tracking ID (the worker reads the number from the stored envelope), so no
phone number sits in a job or a dead letter; only answers to queries, which have no envelope, carry the number. Not
an answer to an anonymous report's own reporter about that report (`status_recipient`): their number beside its
Tracking ID, in a job kept 5 minutes once sent and 30 days once failed, linked them to it outside the envelope copy.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from redis import Redis
from redis.exceptions import NoScriptError, RedisError, WatchError

from channels.reply_senders import reply_limits
from gateway import metrics
from gateway.errors import NotDurable
from gateway.logs import get_logger
from gateway.queries import answer_query
from gateway.queues import (
    REPLY_QUEUE,
    STATUS_QUEUE,
    enqueue_calls,
    envelope_key,
    key_digest,
    readable_envelope,
    sender_digest,
)
from gateway.replies import DEFAULT_LANGUAGE, render
from gateway.settings import Settings
from gateway.transactions import after_commit, commit, commit_watched
from normalizer.envelope import ReportDraft
from normalizer.grammar import Action
from normalizer.inbound import InboundMessage
from normalizer.pipeline import Query
from normalizer.sender import normalize_msisdn

log = get_logger()

REPLY_FUNC = "workers.reply.send_reply"
STATUS_FUNC = "workers.status.answer_status"
REPLY_KEY = "lapor:reply:{reply_id}"
# A number's messages of the last hour (flood control), under its keyed digest (`sender_digest`). Not the name of the
# minute's window before it (`lapor:flood:<source>:<digest>`), which a release before trims to a minute.
FLOOD_KEY = "lapor:flood:hour:{source}:{digest}"
# A number told, within the hour, that its new reports' acknowledgements pause (`flood_notice_due`).
FLOOD_NOTICE_KEY = "lapor:floodnotice:{source}:{digest}"
# A new report's member of a number's window (`FloodCounter.allowed`, `count_message` without a minute's limit):
# counted in the hour, never in the minute, whose limit holds the answers to repeats, additions and queries alone.
NEW_REPORT_MEMBER = "n:"
# The spans flood control counts a number's messages over: `flood_replies_per_minute` and `flood_replies_per_hour`.
FLOOD_WINDOW_SECONDS = 60
FLOOD_HOUR_SECONDS = 3600
# A message's provider id, answered (`once_per_message`): a query's, or a report's (the key's name is older).
QUERY_SEEN_KEY = "lapor:query-seen:{source}:{digest}"
# Tries of `once_per_message` under WATCH before the provider is told to retry (only its own writes spoil a try).
ONCE_ATTEMPTS = 3
# Delivery reports after which a part's fate is known (Kannel: 1, 2, 16): a later buffered (4) or submitted (8) one
# came late and does not replace them.
FINAL_DELIVERY = frozenset({"delivered", "failed", "rejected"})
# The statuses `lapor_delivery_reports_total` counts under their own name (`delivery_label`); any other, a report type
# the aggregator does not document (`type_<n>`: any number it sends), counts as `other`.
COUNTED_DELIVERY = frozenset({*FINAL_DELIVERY, "buffered", "submitted"})
# Final reports that the citizen did not get the part, worst first: a reply with one of them is not delivered, whatever
# its other parts did. Rejected (the SMSC never took the part) ranks before failed (taken, not delivered).
FAILED_DELIVERY = ("rejected", "failed")
# The reply's `delivery` while some parts are delivered and the others' fate is not known yet.
PARTIAL_DELIVERY = "partial"
# A part's fields on a reply's record: `part.<n>.answer` (the worker's), `dlr.<n>` and `dlr.<n>.<detail>` (reports').
_PART_FIELD = re.compile(r"(?P<kind>dlr|part)\.(?P<number>[0-9]+)(?:\.(?P<detail>[a-z_]+))?")

def reply_key(reply_id: str) -> str:
    return REPLY_KEY.format(reply_id=reply_id)


def write_reply_record(pipe: Any, settings: Settings, reply_id: str, fields: dict[str, Any]) -> None:
    """Queue into `pipe` (a transaction the caller executes) a write of `fields` on the reply's record, with its TTL
    (`intake.envelope_ttl_seconds`) set again: every writer goes through here, because a write after the record
    expired (a requeue long after) creates it anew, and an HSET alone would leave it without a TTL, for ever."""
    key = reply_key(reply_id)
    pipe.hset(key, mapping=fields)
    pipe.expire(key, settings.intake.envelope_ttl_seconds)


def reply_delivery(statuses: Mapping[int, str], total: int, latest: str) -> str:
    """The reply's `delivery` from its parts' statuses (`dlr.<n>`): the citizen has the reply only when every one of
    its `total` parts is delivered, so the last report to arrive must not speak for the others.

    A failed or rejected part decides it at once (the worst of them, `FAILED_DELIVERY`); every part delivered makes
    it delivered; some delivered with others not reported or not final makes it `partial`; with no final report yet
    it is the `latest` report's status (buffered, submitted), as a one-part reply's always was. Independent of the
    order of final reports, so two orders of the same reports read the same."""
    finals = {status for status in statuses.values() if status in FINAL_DELIVERY}
    for failure in FAILED_DELIVERY:
        if failure in finals:
            return failure
    if all(statuses.get(number) == "delivered" for number in range(1, total + 1)):
        return "delivered"
    return PARTIAL_DELIVERY if finals else latest


def delivery_label(status: str) -> str:
    """A report's status as `lapor_delivery_reports_total` labels it: named after the number sent, each undocumented
    type added a time series to every scrape for the life of the process."""
    return status if status in COUNTED_DELIVERY else "other"


def _part_statuses(record: Mapping[bytes, bytes], reported: int) -> tuple[dict[int, str], int]:
    """(each part's recorded delivery status, the reply's part count) from its record. The count is `parts`, which
    the reply worker writes with the first part the provider accepts; a report that raced that write, or a record
    from before it was written there, counts the highest part it knows of: sent, reported, or this report's own
    (`reported`)."""
    statuses: dict[int, str] = {}
    highest = reported
    for name, value in record.items():
        field_ = _PART_FIELD.fullmatch(name.decode(errors="replace"))
        if field_ is None:
            continue
        number = int(field_["number"])
        highest = max(highest, number)
        if field_["kind"] == "dlr" and field_["detail"] is None:
            statuses[number] = value.decode()
    parts = record.get(b"parts", b"")
    return statuses, int(parts) if parts.isdigit() else highest


# One message counted in a sliding window (`count_in_sliding_window`). KEYS: the window. ARGV: the oldest time
# kept, now, the message's member, the key's TTL.
_COUNT_IN_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
"""


def count_in_sliding_window(redis: Redis, key: str, message_id: str | None, window_seconds: int) -> int:
    """Count one message in the sliding window `key` names (a sorted set of arrival times); returns how many the
    last `window_seconds` hold, this one included. Counted by `message_id` when given: the provider's retry of a
    message, or a poll that takes it again, is not a second one. The cap on public replies per account
    (`channels.social`) counts with it; the flood control of SMS numbers, over two windows, with `count_message`."""
    now = time.time()
    count = redis.register_script(_COUNT_IN_WINDOW)(
        keys=[key], args=[now - window_seconds, now, _window_member(message_id), window_seconds + 1])
    return int(count)


# One message counted in a number's flood windows (`count_message`; `FloodCounter` sends one a webhook in a
# pipeline): the sorted set keeps the last hour. KEYS: the window. ARGV: the oldest time kept, now, the message's
# member, the key's TTL, the start of the last minute (exclusive), the minute's limit ('': not asked). Returns {the
# last minute's count but its new reports' (NEW_REPORT_MEMBER), counted only as far as one past the limit, 0 when
# not asked; the hour's}. The new reports are looked for only past the limit, newest first, a limit's worth at a time:
# a flood of one number's repeats costs as much as its limit, not a walk over its minute at each message.
_COUNT_IN_FLOOD_WINDOWS = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local limit, minute = tonumber(ARGV[6]), 0
if limit then
  minute = redis.call('ZCOUNT', KEYS[1], ARGV[5], '+inf')
  if minute > limit then
    minute = 0
    local offset = 0
    while minute <= limit do
      local members = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[5], 'LIMIT', offset, limit + 1)
      if #members == 0 then break end
      for _, member in ipairs(members) do
        if string.sub(member, 1, 2) ~= 'n:' then minute = minute + 1 end
        if minute > limit then break end
      end
      offset = offset + #members
    end
  end
end
return {minute, redis.call('ZCARD', KEYS[1])}
"""


@dataclass(frozen=True, slots=True)
class FloodCount:
    """How many messages a number's flood windows hold, the one just counted included."""

    minute: int
    hour: int

    def within(self, per_minute: int | None, per_hour: int) -> bool:
        """Whether an answer may go: within the hour's limit, and the minute's when one is given (a new report's
        acknowledgement is held by the hour's alone)."""
        return self.hour <= per_hour and (per_minute is None or self.minute <= per_minute)


def _flood_args(now: float, member: str, per_minute: int | None) -> list[str | float | int]:
    """`_COUNT_IN_FLOOD_WINDOWS`'s ARGV for a message counted at `now`, the minute counted against `per_minute`
    (None: the hour's count alone, a new report's)."""
    return [now - FLOOD_HOUR_SECONDS, now, member, FLOOD_HOUR_SECONDS + 1, f"({now - FLOOD_WINDOW_SECONDS!r}",
            "" if per_minute is None else per_minute]


def _flood_count(counted: Any) -> FloodCount:
    minute, hour = counted
    return FloodCount(int(minute), int(hour))


def _window_member(message_id: str | None) -> str:
    """A message's member of a sliding window: its id's digest, or a random one for a message with no id."""
    return key_digest(message_id) if message_id is not None else uuid.uuid4().hex


def count_message(redis: Redis, settings: Settings, source: str, number: str, message_id: str | None,
                  per_minute: int | None, per_hour: int) -> bool:
    """Flood control: count one message from `number` to `source`; False once the last 60 seconds hold more than
    `per_minute` or the last hour more than `per_hour` (its channel's `flood_replies_per_minute` and
    `flood_replies_per_hour`): the reply is held back, the report taken as always. `per_minute` None: a new report,
    counted in the hour alone (NEW_REPORT_MEMBER), as `FloodCounter.allowed` counts one.

    Sliding windows (a sorted set of arrival times per number), so a flood is not split by minute boundaries; the
    hour's stops an auto-responder slower than the minute's limit (one answer every 10 s was never held, 360 paid SMS
    an hour). Counted by `message_id` when given, so the provider's retry of a message is not a second one. The
    replies the reply worker sends (`OutboundReplies.count_message`) are counted here, those in a webhook's answer
    (Twilio's TwiML) in the same windows by `FloodCounter`: an auto-responder answering each reply with an SMS of its
    own is stopped."""
    now = time.time()
    member = ("" if per_minute is not None else NEW_REPORT_MEMBER) + _window_member(message_id)
    counted = redis.register_script(_COUNT_IN_FLOOD_WINDOWS)(
        keys=[flood_key(settings, source, number)], args=_flood_args(now, member, per_minute))
    return _flood_count(counted).within(per_minute, per_hour)


def flood_key(settings: Settings, source: str, number: str) -> str:
    """Where a number's messages to `source` are counted (`FLOOD_KEY`, under its keyed digest)."""
    return FLOOD_KEY.format(source=source, digest=sender_digest(settings, number))


def flood_notice(language: str, tracking_id: str, *, anonymous: bool, confidential: bool) -> str:
    """`[report_flood_notice]`, or its variant that says again that the report is anonymous (its sender's identity
    kept secret) or confidential, as the acknowledgement it stands in for would have."""
    flags = "_anonymous" * anonymous + "_confidential" * confidential
    return render(f"report_flood_notice{flags}", language, tracking_id=tracking_id)


def flood_notice_due(redis: Redis, settings: Settings, source: str, number: str, message_id: str) -> bool:
    """Whether a number whose new report's acknowledgement flood control holds is to be told so with this message's
    answer: once an hour (`[report_flood_notice]`, with that report's Tracking ID), so a citizen with many reports
    knows why no answer comes, and an auto-responder's answer to it is held as the rest. The hour's notice is the
    message's that took it, whose delivery again (the provider's retry, its answer lost or not queued) is told again.
    Raises RedisError."""
    key = FLOOD_NOTICE_KEY.format(source=source, digest=sender_digest(settings, number))
    member = key_digest(message_id)
    return bool(redis.set(key, member, nx=True, ex=FLOOD_HOUR_SECONDS)) or redis.get(key) == member.encode()


class FloodCounter:
    """Flood control of the answers a webhook's response carries (Twilio's TwiML; `gateway.app` asks for the
    repeats, additions, queries and notices, and for a new report's acknowledgement from its number's second new
    report to the process, `RecentSenders`): each counted in its number's windows in Redis, as the aggregator's
    replies are (`count_message`), those of the webhooks waiting at one moment in one pipeline on one thread. Counted
    one by one, each webhook waited for a Redis transaction on a thread of its own, 0.2 ms of CPU beside a webhook's
    0.45 (`make bench`); a repeat counted only from a number's second message to a process, a flood spread over many
    gateway processes (SO_REUSEPORT, several hosts) was held late or never by the minute's limit. Built once per
    process, on its event loop."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis, self._settings = redis, settings
        self._sha: str | None = None
        self._waiting: list[tuple[str, str, float, int | None, asyncio.Future[FloodCount]]] = []
        self._task: asyncio.Task[None] | None = None

    async def allowed(self, source: str, number: str, message_id: str | None, per_minute: int | None,
                      per_hour: int) -> bool:
        """Count one message from `number` to `source`; False once the last minute holds more than `per_minute`
        or the last hour more than `per_hour` (hold the answer). `per_minute` None: a new report, counted in the hour
        alone (NEW_REPORT_MEMBER). NotDurable when Redis fails the count."""
        future: asyncio.Future[FloodCount] = asyncio.get_running_loop().create_future()
        member = ("" if per_minute is not None else NEW_REPORT_MEMBER) + _window_member(message_id)
        self._waiting.append((flood_key(self._settings, source, number), member, time.time(), per_minute, future))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._count_waiting())
        return (await future).within(per_minute, per_hour)

    async def _count_waiting(self) -> None:
        """Count what waits, one pipeline a round, until nothing does (what comes meanwhile goes in the next). Each
        future is settled whatever happens: one left, its webhook waited for good."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    counts = await asyncio.to_thread(self._count, [entry[:4] for entry in batch])
                except BaseException as error:
                    failure = NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable")
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(failure)
                    if not isinstance(error, Exception):  # cancelled, the loop stopping
                        raise
                    continue
                for (*_, future), count in zip(batch, counts, strict=True):
                    if not future.done():
                        if isinstance(count, BaseException):  # this key's alone (WRONGTYPE): the others are counted
                            future.set_exception(NotDurable(f"redis refused the count: {type(count).__name__}",
                                                            reason="redis_unavailable"))
                        else:
                            future.set_result(_flood_count(count))
        finally:
            self._task = None

    def _count(self, batch: list[tuple[str, str, float, int | None]]) -> list[Any]:
        """One EVALSHA a message, in one pipeline; the script loaded once (redis-py's pipeline asked SCRIPT EXISTS
        before every pipeline that held a script), and again when Redis lost it (a restart, SCRIPT FLUSH)."""
        counts = self._evaluate(batch)
        if any(isinstance(count, NoScriptError) for count in counts):
            self._sha = None
            counts = self._evaluate(batch)
        return counts

    def _evaluate(self, batch: list[tuple[str, str, float, int | None]]) -> list[Any]:
        if self._sha is None:
            self._sha = str(self._redis.script_load(_COUNT_IN_FLOOD_WINDOWS))
        pipe = self._redis.pipeline(transaction=False)
        for key, member, now, per_minute in batch:
            pipe.evalsha(self._sha, 1, key, *_flood_args(now, member, per_minute))
        return pipe.execute(raise_on_error=False)


class RecentSenders:
    """The senders of the new reports one gateway process took within the last hour, in its memory, by their
    strings' hashes (no number kept): flood control counts a number's new reports from its second to the process
    on (`Gateway.recent_senders`). A number's first costs no Redis round trip, and most citizens send one; a loop
    spread over N processes is counted N messages late. Used on the event loop alone."""

    LIMIT = 100_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._seen: OrderedDict[int, float] = OrderedDict()
        self._clock = clock

    def seen_before(self, sender: str) -> bool:
        """Whether `sender` sent a new report to this process within the hour; remembers this one."""
        key, now = hash(sender), self._clock()
        earlier = self._seen.pop(key, None)
        self._seen[key] = now
        if len(self._seen) > self.LIMIT:
            self._seen.popitem(last=False)
        return earlier is not None and now - earlier < FLOOD_HOUR_SECONDS


@dataclass(frozen=True, slots=True)
class Queued:
    """What became of a reply: `queued` (a job will send it), `held` (flood control), `status_job`, or `repeated`
    (the provider's retry of a query already answered: nothing queued)."""

    state: str
    reply_id: str | None = None


class OutboundReplies:
    """Synchronous Redis work behind async faces (`asyncio.to_thread`): the event loop never waits on Redis."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings

    # -- flood control -------------------------------------------------------------------------------------------
    def count_message(self, source: str, number: str, message_id: str | None = None, *,
                      new_report: bool = False) -> bool:
        """Count one message from `number`; False once the last 60 seconds or the last hour hold more than the
        limits of `source`'s reply sender's section (hold the reply): `count_message`, which Twilio's answers in the
        webhook use too. `new_report`: a new report's acknowledgement, held by the hour's limit alone and left out of
        the minute's count of the answers after it, as Twilio's is (`FloodCounter`): counted in the minute, a citizen
        who sent a few complaints and then `CEK` had the CEK's answer held, and their own acknowledgements past the
        minute's limit too, though the hour's bounds what a loop of them costs either way."""
        limits = reply_limits(self._settings, source)
        return count_message(self._redis, self._settings, source, number, message_id,
                             None if new_report else limits.flood_replies_per_minute, limits.flood_replies_per_hour)

    # -- queueing ------------------------------------------------------------------------------------------------
    def queue_reply(self, *, source: str, kind: str, text: str, language: str, tracking_id: str | None,
                    to: str | None = None, to_report: str | None = None, allowed: bool = True,
                    pipeline: Any = None, report_spooled: bool = False, after_reply: str | None = None) -> Queued:
        """Record the reply and, unless flood control holds it, enqueue its job in the same transaction; inside
        `pipeline` when given (the caller runs it with `commit`, so the reply commits with the caller's other writes,
        and is logged and counted only then). `report_spooled`: the report `to_report` names went to the disk spool,
        and the reply worker waits for its envelope (`workers.reply.resolve_recipient`). `after_reply`: the id of a
        reply the citizen must read first (a status answer's promise), which the reply worker waits for
        (`workers.reply_order`)."""
        reply_id = uuid.uuid4().hex
        state = "queued" if allowed else "held"
        record = {"source": source, "kind": kind, "language": language, "tracking_id": tracking_id or "",
                  "state": state, "created_at": time.time()}
        pipe = pipeline if pipeline is not None else self._redis.pipeline(transaction=True)
        write_reply_record(pipe, self._settings, reply_id, record)
        if allowed:
            job = {"reply_id": reply_id, "source": source, "kind": kind, "text": text, "language": language,
                   "tracking_id": tracking_id, "to": to, "to_report": to_report,
                   **({"report_spooled": True} if report_spooled else {}),
                   **({"after_reply": after_reply} if after_reply else {})}
            enqueue_calls(self._redis, self._settings, REPLY_QUEUE, REPLY_FUNC, [(job,)], pipeline=pipe)

        def committed() -> None:
            metrics.REPLIES.labels(source, state).inc()
            log.info("reply.held" if not allowed else "reply.queued", reply_kind=kind, tracking_id=tracking_id,
                     reply_id=reply_id, channel=source)

        after_commit(pipe, committed)
        if pipeline is None:
            commit(pipe)
        return Queued(state, reply_id)

    def status_recipient(self, number: str, tracking_id: str, *, report_spooled: bool = False) -> dict[str, str | None]:
        """How a status answer is addressed: by the report (`to_report`) when the number asking is the sender of the
        anonymous report it asks about, by the number (`to`) otherwise. An anonymous reporter's number stays in the
        report's envelope copy alone (README, **Anonymous reports**): `CEK <id>` answered `to` their number wrote it
        in clear beside that Tracking ID into the reply job (and the status job), kept 5 minutes once sent and, in a
        failed job and its dead letter, 30 days. Anyone else's number is no anonymous reporter's of that report.

        `report_spooled`: a disk spool may hold the report (`Intake.may_hold`). One without its envelope copy in
        Redis yet cannot tell whose it is, and is addressed by the report all the same: the number asking, maybe its
        anonymous reporter's, stood beside its Tracking ID in the status job, its promise and their dead letters (a
        spool not replayed for the jobs' retries). The reply worker reads the number from the copy once it is
        replayed (`workers.reply.resolve_recipient`); an ID given out seconds before is asked after by its reporter."""
        key = envelope_key(tracking_id)
        raw = self._redis.get(key)
        if raw is None and report_spooled:
            return {"to": None, "to_report": tracking_id}
        envelope = readable_envelope(tracking_id, raw) if raw is not None else None
        try:
            own = envelope is not None and envelope.get("anonymous") is True and envelope["sender"]["id"] == number
        except (KeyError, TypeError):  # a damaged copy: answered at the number, as before
            own = False
        if not own:
            return {"to": number, "to_report": None}
        # The reply worker reads the number back from the copy: one expiring before the status job and then the reply
        # job have run out of their retries (the case store down, the aggregator too) left the answer unsendable, a
        # dead letter `recipient_unknown` and the citizen told nothing. The copy is kept that long, no longer.
        answerable = 2 * sum(self._settings.queues.retry_intervals) + self._settings.queues.job_timeout_seconds * 4
        if 0 <= self._redis.ttl(key) < answerable:
            self._redis.expire(key, answerable)
        return {"to": None, "to_report": tracking_id}

    def queue_status_job_and_promise(self, *, source: str, to: str | None, tracking_id: str, language: str,
                                     pipeline: Any = None, to_report: str | None = None,
                                     report_spooled: bool = False) -> Queued:
        """The status job, and an SMS now saying the answer follows: a CEK met with silence while the case store is
        down (the job may retry for hours) looks lost, and the citizen sends it again and again.

        One transaction (or inside `pipeline`, which the caller commits): a Redis failure leaves neither behind, so
        the provider's retry of the message queues one job and one promise, never a job whose promise was lost.

        The promise and the answer are two reply jobs, which two reply workers, or a retry of the promise's send,
        could deliver in either order: the job carries the promise's reply id (`promise_reply_id`), and its answer
        is queued to follow it (`after_reply`, `workers.reply_order`). `report_spooled`: the report may be in a disk
        spool not replayed yet, and the job retries a report neither Redis nor the case store has instead of
        answering "not found" (`workers.status`)."""
        pipe = pipeline if pipeline is not None else self._redis.pipeline(transaction=True)
        promise = self.queue_reply(source=source, kind="status_pending", text=render("status_pending", language,
                                                                                      tracking_id=tracking_id),
                                   language=language, tracking_id=tracking_id, to=to, to_report=to_report,
                                   pipeline=pipe, report_spooled=report_spooled)
        self.queue_status_job(source=source, to=to, tracking_id=tracking_id, language=language,
                              promise_reply_id=promise.reply_id, pipeline=pipe, to_report=to_report,
                              report_spooled=report_spooled)
        if pipeline is None:
            commit(pipe)
        return Queued("status_job")

    def queue_status_job(self, *, source: str, to: str | None, tracking_id: str, language: str,
                         promise_reply_id: str, pipeline: Any, to_report: str | None = None,
                         report_spooled: bool = False) -> None:
        """The status job alone, inside `pipeline`, its answer to follow the reply `promise_reply_id` (the promise
        `queue_status_job_and_promise` queues, or the answer to an addition that asked the status too, which says
        the status follows: `reply_to_report`). The job is the one every release runs."""
        # status_id: the job's identity, whatever reruns it (a retry, a requeue, a copy): it is answered once.
        job = {"source": source, "to": to, "tracking_id": tracking_id, "language": language,
               "status_id": uuid.uuid4().hex, "promise_reply_id": promise_reply_id,
               **({"to_report": to_report} if to_report else {}),
               **({"report_spooled": True} if report_spooled else {})}
        enqueue_calls(self._redis, self._settings, STATUS_QUEUE, STATUS_FUNC, [(job,)], pipeline=pipeline)
        after_commit(pipeline, partial(log.info, "status.job_queued", tracking_id=tracking_id))

    def once_per_message(self, source: str, message_id: str, queue: Callable[..., Queued], *,
                         what: str = "query") -> Queued:
        """`queue(pipeline=...)` in one MULTI/EXEC with a marker of the message's provider id, unless the marker is
        there: a provider that retries a query (or a report, `what`) whose 200 it never received then queues nothing
        new, and the citizen gets one answer (one promise and one status job, one acknowledgement), not two.

        The marker lives `intake.dedup_ttl_seconds`, as a report's claim on its provider id does. It is checked
        under WATCH, so two deliveries of the message at once queue one answer; a Redis failure loses the marker
        with what it guards, and the provider's retry is answered afresh. What `queue` logs and counts waits for the
        EXEC (`commit`): a try spoiled by a WatchError and built again is told of once, a failed one not at all."""
        key = QUERY_SEEN_KEY.format(source=source, digest=key_digest(message_id))
        return self.once(key, queue, repeated=partial(log.info, f"message.{what}_repeated", reason="same_message_id"),
                         what=what)

    def once(self, key: str, queue: Callable[..., Queued], *, repeated: Callable[[], object],
             what: str) -> Queued:
        """`queue(pipeline=...)` in one MULTI/EXEC with the marker `key` (kept `intake.dedup_ttl_seconds`), unless
        the marker is there (then `repeated()` and nothing queued): the mechanism of `once_per_message`, for any
        identity of an answer (a status job's own). Raises WatchError when the marker kept changing under WATCH."""
        with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(ONCE_ATTEMPTS):
                try:
                    pipe.watch(key)
                    if pipe.exists(key):
                        repeated()
                        return Queued("repeated")
                    pipe.multi()
                    pipe.set(key, "1", ex=self._settings.intake.dedup_ttl_seconds)
                    queued = queue(pipeline=pipe)
                    commit(pipe)
                    return queued
                except WatchError:  # another delivery of it answered meanwhile (or its marker expired): look again
                    continue
        raise WatchError(f"the {what}'s marker kept changing")

    # -- delivery reports ------------------------------------------------------------------------------------------
    def record_delivery(self, reply_id: str, part: int, status: str, details: dict[str, Any]) -> bool | None:
        """Record a delivery report against its reply: True when recorded, None when a final report of the part
        (`FINAL_DELIVERY`) was recorded already and this one is not final (it arrived late: "submitted" after
        "delivered"), False when no such reply is known. Under WATCH, so two reports of a reply at once keep that,
        and its `delivery` (`reply_delivery`) is read from every part's report, this one's included."""
        key, field_ = reply_key(reply_id), f"dlr.{part}"

        def record(pipe: Any) -> bool | None:
            pipe.watch(key)
            found = pipe.hgetall(key)
            recorded = found.get(field_.encode())
            pipe.multi()  # nothing queued when the report is not recorded: an empty EXEC, read again if it changed
            if not found:
                return False
            if recorded is not None and recorded.decode() in FINAL_DELIVERY and status not in FINAL_DELIVERY:
                after_commit(pipe, partial(log.info, "reply.delivery_report_late", reply_id=reply_id, part=part,
                                           status=status, recorded=recorded.decode()))
                return None
            statuses, total = _part_statuses(found, part)
            statuses[part] = status
            delivery = reply_delivery(statuses, total, status)
            fields = {field_: status, f"{field_}.at": time.time(), "delivery": delivery}
            fields.update({f"{field_}.{name}": value for name, value in details.items() if value})
            write_reply_record(pipe, self._settings, reply_id, fields)
            after_commit(pipe, partial(log.info, "reply.delivery_report", reply_id=reply_id, part=part, status=status,
                                       delivery=delivery))
            return True

        return commit_watched(self._redis, record, what="reply's delivery report")

    # -- the gateway's async faces ------------------------------------------------------------------------------------
    async def reply_to_report(self, source: str, draft: ReportDraft, tracking_id: str, duplicate: bool,
                              text: str, language: str, message_id: str, *, spooled: bool = False,
                              status_later: bool = False) -> Queued:
        """The reply to a report, once per provider message (`message_id`, this delivery's own id: a same-text
        repeat's draft carries the first message's), as a query's answer is: the provider's retry of a report whose
        200 it never got is a duplicate at intake, and must not send the citizen a second SMS. `spooled`: intake put
        the report in its disk spool (Redis failed and the replayer has not found it answering since), while Redis
        takes the reply: the job says so, and waits for the report's replay.

        `status_later`: an addition that asked its report's status too ("CEK <id> <words>"), whose status the case
        store did not give in time: the reply says the status follows, and a status job asks it, in the same
        transaction, its answer to follow this reply (`promise_reply_id`) and addressed as this reply is, by the
        addition's own report (`to_report`), whose envelope holds the sender: the number stays out of the job."""
        kind = "follow_up" if draft.follow_up_of else "duplicate" if duplicate else "ack"

        def queue(pipeline: Any, allowed: bool) -> Queued:
            if not allowed and kind == "ack" and flood_notice_due(self._redis, self._settings, source,
                                                                  draft.sender.id, message_id):
                # In place of the held acknowledgement, once in its number's hour: the notice with its Tracking ID.
                after_commit(pipeline, partial(log.info, "reply.flood_notice", tracking_id=tracking_id))
                notice = flood_notice(language, tracking_id, anonymous=draft.anonymous, confidential=draft.confidential)
                return self.queue_reply(source=source, kind="flood_notice", text=notice, language=language,
                                        tracking_id=tracking_id, to_report=tracking_id, report_spooled=spooled,
                                        pipeline=pipeline)
            queued = self.queue_reply(source=source, kind=kind, text=text, language=language, tracking_id=tracking_id,
                                      to_report=tracking_id, allowed=allowed, report_spooled=spooled,
                                      pipeline=pipeline)
            if status_later and allowed and draft.follow_up_of:
                self.queue_status_job(source=source, to=None, tracking_id=draft.follow_up_of, language=language,
                                      promise_reply_id=queued.reply_id, pipeline=pipeline, to_report=tracking_id,
                                      report_spooled=spooled)
            return queued

        def count_and_queue() -> Queued:  # one thread hop for both Redis steps
            allowed = self.count_message(source, draft.sender.id, message_id, new_report=kind == "ack")
            return self.once_per_message(source, message_id, partial(queue, allowed=allowed), what="report")

        return await durably(count_and_queue)

    async def tell_kept_unfiled(self, source: str, message: InboundMessage) -> Queued:
        """The SMS telling a citizen that their message, which a bug of ours failed to file, was kept unfiled
        (`[sms_kept_unfiled]`), once per provider message: the aggregator's answer carries no reply, and its citizen
        got nothing at all. Raises RejectedInput for a sender that is no number, NotDurable without Redis."""
        number = normalize_msisdn(message.sender_address, self._settings.sms.default_region)

        def count_and_queue() -> Queued:
            allowed = self.count_message(source, number, message.message_identity)
            reply = partial(self.queue_reply, source=source, kind="kept_unfiled", text=render("sms_kept_unfiled"),
                            language=DEFAULT_LANGUAGE, tracking_id=None, to=number, allowed=allowed)
            return self.once_per_message(source, message.message_identity, reply, what="report")

        return await durably(count_and_queue)

    async def answer_query(self, source: str, query: Query, client: httpx.AsyncClient,
                           spool_may_hold: Callable[[], bool] | None = None) -> tuple[str | None, Queued]:
        """(the reply text, or None when a status job answers later; what was queued). `spool_may_hold`: whether a
        disk spool may hold the report asked about, not replayed into Redis yet (`Intake.may_hold`)."""
        number = normalize_msisdn(query.message.sender_address, self._settings.sms.default_region)
        message_id = query.message.message_identity
        # A mistyped ID's answer is held by the hour's limit alone, as a new report's acknowledgement is: it is all
        # that tells the citizen to send again the words typed after the ID, which are not filed. Held by the
        # minute's count (a few CEKs before it), the words went nowhere and nothing was said.
        allowed = await durably(partial(self.count_message, new_report=query.action is Action.BAD_TRACKING_ID),
                                source, number, message_id)
        if not allowed:
            # Held: no answer carries a status, so the case store is not asked, nor the report's copy read (and kept
            # longer for an answer), as Twilio's held query is not: an auto-responder reading each of our answers as
            # a CEK cost the case store a lookup a message, and its webhook the inline wait, for answers nobody got.
            held = partial(self.queue_reply, source=source, kind=query.action.value, text="", language=query.language,
                           tracking_id=query.tracking_id, allowed=False)
            return None, await durably(self.once_per_message, source, message_id, held)
        recipient: dict[str, str | None] = {"to": number, "to_report": None}
        if query.action is Action.STATUS and query.tracking_id:
            recipient = await durably(self.status_recipient, number, query.tracking_id)
        if query.action is Action.STATUS and query.tracking_id:
            try:
                text, later = await asyncio.wait_for(
                    answer_query(query, client, self._redis, spool_may_hold),
                    reply_limits(self._settings, source).status_inline_timeout_seconds
                )
            except TimeoutError:
                text, later = None, True
        else:  # help, a mistyped ID: asks nothing of the case store, so never late (a timeout of 0 failed every one)
            text, later = await answer_query(query, client, self._redis)
        if later and query.action is Action.STATUS and query.tracking_id:
            spooled = spool_may_hold is not None and await asyncio.to_thread(spool_may_hold)
            if recipient["to_report"] is None:
                # Read again after the spool: a report replayed since the first read is in Redis now, and its copy
                # says whether the number asking is its anonymous reporter's.
                recipient = await durably(self.status_recipient, number, query.tracking_id, report_spooled=spooled)
            job = partial(self.queue_status_job_and_promise, source=source, tracking_id=query.tracking_id,
                          language=query.language, report_spooled=spooled, **recipient)
            return None, await durably(self.once_per_message, source, message_id, job)
        assert text is not None
        reply = partial(self.queue_reply, source=source, kind=query.action.value, text=text, language=query.language,
                        tracking_id=query.tracking_id, **recipient)
        return text, await durably(self.once_per_message, source, message_id, reply)


async def durably(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a Redis step in a thread; a Redis failure means the provider must retry (NotDurable)."""
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except RedisError as error:
        raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error
