"""The reply job (queue `lapor-reply`): send a citizen's SMS through their provider, rate limited.

The provider is the reply's source, found in `channels.reply_senders` (its client, and its settings section with
`send_rate_per_second`); a source with no sender there is dead-lettered at once as `no_sender`.

A reply is addressed by its report's Tracking ID (the number is read from the envelope the gateway stored; for a
report still in a gateway's disk spool, once it is replayed: `resolve_recipient`), by an anonymous report's opaque
reply handle (mapped back through the gateway's own handle table), or, for answers to queries that have no report,
by the number itself.

Each part the provider accepts is written on the reply's record (`part.<n>.answer`, with the reply's part count
`parts` and, for a sender that has more than one, its split `split`) the moment it is accepted, so whatever ends an
attempt (a retryable failure, RQ's job timeout, a killed worker, a bug), the next run of the reply (RQ's retry, the
reaper's requeue, a requeue from the dead letters, a second job for the same reply id) sends only the parts not
recorded, and nothing once every part is; split as the record says the first were (`_split_of`): split anew, after
an upgrade that changed the split, they were parts of another message on the phone. Two jobs of one reply running
at the same moment, on two reply workers, are kept apart by the reply's send lease (`workers.send_lease`): the job
holding it reads the record, sends and records the outcome; the other sends nothing, writes nothing on the record and
runs again later, after the holder's lease has ended once its retries ran out (`reply.send_in_progress`): never a
dead letter.

A reply queued to follow another (`after_reply`: a status answer after its "the answer follows") waits until that
one is sent or given up, and one that such a reply overtook is not sent any more (`workers.reply_order`).

Retryable failures (5xx, 429, timeouts) are retried with the queue's backoff, then dead-lettered; a refusal (other
4xx) is dead-lettered at once. Every outcome is written on the reply's record.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import partial
from typing import Any

import orjson
from redis import Redis
from rq import get_current_job

from channels.reply_senders import REPLY_SENDERS, ReplyPart, ReplySenderEntry
from gateway.errors import PermanentError, RetryableError
from gateway.health.signals import HealthSignals, reply_failure, retry_reason
from gateway.logs import bind_message_context, get_logger
from gateway.metrics import health_channel
from gateway.outbound import REPLY_FUNC, reply_key, write_reply_record
from gateway.queues import REPLY_QUEUE, envelope_key
from workers.context import WorkerContext, attempt_number, current, note_retry
from workers.deadletters import DeadLetters
from workers.reply_order import SUPERSEDED, SUPERSEDED_FIELD, wait_for_earlier
from workers.report_payload import HANDLE_KEY
from workers.send_lease import SendInProgress, record_sent, send_lease, wait_for_holder
from workers.windows import count_in_window

log = get_logger()

RATE_KEY = "lapor:ratelimit:{name}:{window}"


# How finely a fractional rate of 1 or more is kept: to a millionth of a grant per second.
RATE_DENOMINATOR_LIMIT = 1_000_000


class RateLimiter:
    """At most `per_second` grants per second across every process: fixed windows counted in Redis.

    A rate of 1 or more counts per second, window `w` granting floor((w + 1) * rate) - floor(w * rate): an integer
    rate its whole rate every second, a fractional one its share exactly over the seconds (1.5: 1 and 2 in turn,
    3 every 2 s; at most its rate rounded up in any one second). One limit per window, the rate floored, made 1.5
    send as 1 a second. Below 1, one grant per window of 1 / rate seconds."""

    def __init__(self, redis: Redis, name: str, per_second: float, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._redis = redis
        self._name = name
        self.window = 1.0 if per_second >= 1 else 1.0 / per_second
        # Exact arithmetic for the per-second shares: a float's w * rate, w some 1.7e9 seconds, is off by a fraction
        # of a grant, which the floors then turn into a whole grant too many or too few in a second.
        self._rate = Fraction(per_second).limit_denominator(RATE_DENOMINATOR_LIMIT) if per_second >= 1 else None
        self._clock = clock
        self._sleep = sleep

    def limit(self, window: int) -> int:
        """How many grants `window` (the clock's seconds divided by `self.window`, floored) holds."""
        if self._rate is None:
            return 1
        share = self._rate.numerator
        return ((window + 1) * share) // self._rate.denominator - (window * share) // self._rate.denominator

    def acquire(self) -> int:
        """Wait for a grant; returns the window it was granted in."""
        while True:
            now = self._clock()
            window = int(now // self.window)
            key = RATE_KEY.format(name=self._name, window=window)
            if count_in_window(self._redis, key, int(self.window) + 2) <= self.limit(window):
                return window
            self._sleep(max(0.001, (window + 1) * self.window - now))


def resolve_recipient(context: WorkerContext, reply: dict[str, Any]) -> str:
    """The number to send to, from the reply's address (number, report, or anonymous reply handle).

    A report acknowledged from a gateway's disk spool while Redis already answered again (intake spools until its
    replayer, once a second, finds Redis back) has its reply queued before its envelope reaches Redis. Its job says
    so (`report_spooled`), and a missing envelope is then retried on the queue's intervals (about two hours in all,
    past a gateway's restart), not a recipient unknown at once: the citizen whose report was acknowledged gets the
    SMS once the spool is replayed. Queueing the reply at the replay instead would put the reply (and the flood and
    once-per-message bookkeeping done while the webhook waits) into the spool and its replay; this keeps both as
    they are, and touches replies to spooled reports alone."""
    if reply.get("to"):
        return str(reply["to"])
    tracking_id = reply.get("to_report")
    if not tracking_id and reply.get("to_handle"):
        raw = context.redis.get(HANDLE_KEY.format(handle=reply["to_handle"]))
        tracking_id = raw.decode() if raw else None
    if not tracking_id:
        raise PermanentError("reply has no known recipient", reason="recipient_unknown")
    raw_envelope = context.redis.get(envelope_key(str(tracking_id)))
    if raw_envelope is None and reply.get("report_spooled"):
        raise RetryableError("the report is in a gateway's disk spool, not in Redis yet", reason="report_not_replayed")
    if raw_envelope is None:
        raise PermanentError("the report's envelope is gone", reason="recipient_unknown")
    return str(orjson.loads(raw_envelope)["sender"]["id"])


def _record(context: WorkerContext, reply_id: str, **fields: Any) -> None:
    with context.redis.pipeline(transaction=True) as pipe:
        write_reply_record(pipe, context.settings, reply_id, {key: str(value) for key, value in fields.items()})
        pipe.execute()


# The record's field naming how the reply was split (`_split_of`), and the fields of the parts accepted (`_sent_field`).
SPLIT_FIELD = "split"
_SENT_FIELD = re.compile(r"part\.[0-9]+\.answer")


def _sent_field(number: int) -> str:
    """The record's field of a part the provider accepted: its answer, written the moment it was accepted."""
    return f"part.{number}.answer"


def _split_of(context: WorkerContext, reply_id: str, sender: Any) -> str | None:
    """How the reply's parts are split: as its record says (`SPLIT_FIELD`); with parts sent and no split named (the
    release before wrote the record, and no split on it), as that release split them (`UNMARKED_SPLIT`); else the
    sender's own (`SPLIT`). None for a sender that has one split only."""
    if not hasattr(sender, "UNMARKED_SPLIT"):
        return None
    record = context.redis.hgetall(reply_key(reply_id))
    named = record.get(SPLIT_FIELD.encode())
    if named is not None:
        return named.decode()
    if any(_SENT_FIELD.fullmatch(name.decode(errors="replace")) for name in record):
        return str(sender.UNMARKED_SPLIT)
    return str(sender.SPLIT)


def _sent_so_far(context: WorkerContext, reply_id: str,
                 parts: Sequence[ReplyPart]) -> tuple[set[int], bool, bool]:
    """(the parts of this reply any earlier run had accepted, whether the record says the reply was sent, whether a
    reply meant to follow it went out first: `workers.reply_order`)."""
    fields = [_sent_field(part.number) for part in parts]
    *answers, state, superseded = context.redis.hmget(reply_key(reply_id), [*fields, "state", SUPERSEDED_FIELD])
    sent = {part.number for part, answer in zip(parts, answers, strict=True) if answer is not None}
    return sent, state == b"sent", superseded is not None


def send_reply(reply: dict[str, Any]) -> dict[str, Any]:
    """RQ job. Sends every part no run of this reply sent yet; raises RetryableError to have RQ retry the rest, or
    the whole reply while another job of it holds its send lease (then queued again once it ended)."""
    context = current()
    job = get_current_job()
    reply_id = str(reply["reply_id"])
    bind_message_context(channel=reply.get("source"), tracking_id=reply.get("tracking_id"))
    attempts = attempt_number(job)
    source = str(reply.get("source"))
    provider = REPLY_SENDERS.get(source)
    if provider is None:
        unknown = PermanentError(f"no reply sender for source {source!r} in channels/reply_senders.py",
                                 reason="no_sender")
        return _give_up(context, reply, unknown, attempts)
    if reply.get("after_reply"):  # the citizen must read another reply first (a status answer's promise)
        waiting = wait_for_earlier(context, reply)
        if waiting is not None:
            return {"reply_id": reply_id, "waits_for": str(reply["after_reply"]), "rescheduled_in": waiting}
    try:
        with send_lease(context, reply_id, channel=source):
            return _send_parts(context, job, reply, provider, attempts)
    except SendInProgress as error:
        return {"reply_id": reply_id, "rescheduled_in": wait_for_holder(context, error, REPLY_FUNC, [reply])}


def _send_parts(context: WorkerContext, job: Any, reply: dict[str, Any], provider: ReplySenderEntry,
                attempts: int) -> dict[str, Any]:
    """Under the reply's send lease: what the record says was sent, the parts it lacks, and the outcome written."""
    reply_id = str(reply["reply_id"])
    source = str(reply["source"])
    sender = context.client(source, lambda: provider.build(context.settings))
    split = _split_of(context, reply_id, sender)
    text = str(reply["text"])
    parts = sender.parts(text, reply_id) if split is None else sender.parts(text, reply_id, split)
    split_field = {} if split is None else {SPLIT_FIELD: split}
    sent, recorded_sent, superseded = _sent_so_far(context, reply_id, parts)
    if recorded_sent and len(sent) == len(parts):  # a second job for this reply, or a requeue of a sent one
        log.info("reply.already_sent", reply_id=reply_id, parts=len(parts))
        return {"reply_id": reply_id, "parts": len(parts), "already_sent": True}
    if superseded:  # the reply meant to follow it (a status answer after its promise) reached the citizen first
        _record(context, reply_id, state=SUPERSEDED, attempts=attempt_number(job))
        log.info("reply.superseded", reply_id=reply_id, parts_sent=len(sent))
        return {"reply_id": reply_id, "superseded": True}
    pending = [part for part in parts if part.number not in sent]
    limiter = RateLimiter(context.redis, source, provider.section(context.settings).send_rate_per_second)
    try:
        to = resolve_recipient(context, reply) if pending else ""
        for part in pending:
            limiter.acquire()
            answer = sender.send_part(to, part, reply_id)
            # With the part count, so a delivery report of this part knows how many its reply has to deliver
            # (`gateway.outbound.reply_delivery`) before `state` is sent, which its reports may well precede.
            # Tried again while Redis fails it (`record_sent`): a part missing from the record is sent again.
            record_sent(partial(_record, context, reply_id, **{_sent_field(part.number): answer, "parts": len(parts)},
                                **split_field), reply_id=reply_id, part=part.number)
    except RetryableError as error:
        if job is not None and job.retries_left:
            note_retry(job, attempts, retry_reason(error.reason, error.said, error.failure))
            _record(context, reply_id, state="retrying", last_error=error.reason, attempts=attempts)
            log.warning("reply.retry", reason=error.reason, reply_id=reply_id, attempt=attempts)
            raise
        return _give_up(context, reply, error, attempts)
    except PermanentError as error:
        return _give_up(context, reply, error, attempts)
    _record(context, reply_id, state="sent", parts=len(parts), sent_at=time.time(), attempts=attempts)
    HealthSignals(context.redis).reply_sent(health_channel(str(reply.get("source", "unknown"))))
    log.info("reply.sent", reply_id=reply_id, parts=len(parts))
    return {"reply_id": reply_id, "parts": len(parts)}


def _give_up(context: WorkerContext, reply: dict[str, Any], error: RetryableError | PermanentError,
             attempts: int) -> dict[str, Any]:
    reply_id = str(reply["reply_id"])
    DeadLetters(context.redis).add_new(
        queue=REPLY_QUEUE, func=REPLY_FUNC, args=[reply], tracking_id=str(reply.get("tracking_id") or reply_id),
        item=reply_id, reason=error.reason, detail=f"after {attempts} attempt(s): {error.detail}",
        attempts=attempts, channel=reply.get("source"), where=error.said, failure=error.failure,
    )
    _record(context, reply_id, state="dead_lettered", last_error=error.reason, attempts=attempts)
    # Where and how it failed beside the reason (`aggregator_401 (credentials refused): sms.example.id answered 401
    # Unauthorized`): `aggregator_401` alone named neither the host nor which setting to mend.
    HealthSignals(context.redis).reply_failed(health_channel(str(reply.get("source", "unknown"))),
                                              reply_failure(error.reason, error.said, error.failure), error.failure)
    return {"reply_id": reply_id, "dead_lettered": True}
