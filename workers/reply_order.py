"""A reply that must reach the citizen after another one (`after_reply`): a status query's answer, or its "send CEK
later", after the "the answer follows" SMS (the promise) that the gateway sent at once.

They are two reply jobs. With two reply workers, or when the promise's send is retried (a 5xx, a rate limit) while
the status job answers, the answer went out first, and a feature phone showed "the answer follows" after the answer.
So the reply worker sends such a reply only once the earlier one is settled:
- sent (`state` sent): this one goes;
- still to be sent (`queued`, `retrying`): this one waits, queued again in 1, 2, 4... up to 30 s (never a retry of
  its own, never a dead letter), for at most `queues.reply_order_wait_seconds` from when it was queued;
- given up (dead-lettered, held, its record gone: expired, or a purged letter's long after), or still pending once the
  wait is over (its job lost, or the provider failing it for minutes): this one goes, and the earlier one is marked
  superseded (`superseded_by` on its record). A later run of it (RQ's retry, a requeue of its dead letter) sends
  nothing then (`reply.superseded`): the promise of an answer the citizen already has would only confuse.
The mark is written holding the earlier reply's send lease (`workers.send_lease`), so no run of it is sending at that
moment, and every later run reads the mark under that lease before it sends. While another job holds that lease
(the earlier reply is being sent), this one waits, looking again after 1, 2, 4... up to 30 s, never much past the end
of that lease, which ends by itself within a job timeout. Nothing is ever held
for ever, and nothing is sent twice: each reply's own record and lease still guard its parts.
"""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

from gateway.logs import get_logger
from gateway.outbound import REPLY_FUNC, reply_key, write_reply_record
from gateway.queues import REPLY_QUEUE, enqueue_later
from workers.context import WorkerContext
from workers.send_lease import AFTER_LEASE_SECONDS, SendInProgress, send_lease

log = get_logger()

# On the earlier reply's record: the id of the reply that went out before it, so it is never sent after that one.
SUPERSEDED_FIELD = "superseded_by"
SUPERSEDED = "superseded"
# The earlier reply's states that will still be sent by a job of it.
PENDING_STATES = frozenset({b"queued", b"retrying"})
# How many times this reply has waited (its job's meta, handed on to the next job): 1, 2, 4... s between looks.
WAITS_META = "order_waits"
LONGEST_STEP_SECONDS = 30.0
# The doubling stops here (2 ** 5 = 32 s, past the longest step): 2.0 ** 1024 overflows, which a wait of some
# 8.5 hours or more (`reply_order_wait_seconds` has no upper bound) reached, and the answer's job then failed.
LONGEST_STEP_DOUBLINGS = 5


def wait_for_earlier(context: WorkerContext, reply: dict[str, Any]) -> float | None:
    """None when `reply` may be sent now (its earlier reply settled, or marked superseded); otherwise its job is queued
    again to look once more, and the seconds until then are returned (`reply.waits_for_earlier` logged)."""
    earlier = str(reply["after_reply"])
    reply_id = str(reply["reply_id"])
    state, superseded = context.redis.hmget(reply_key(earlier), ["state", SUPERSEDED_FIELD])
    if state == b"sent" or superseded is not None:
        return None
    left = _queued_at(context, reply_id) + context.settings.queues.reply_order_wait_seconds - time.time()
    if state in PENDING_STATES and left > 0:
        return _again(context, reply, earlier, state, until=left)
    try:
        with send_lease(context, earlier, channel=str(reply.get("source"))):
            state = context.redis.hget(reply_key(earlier), "state")  # as it is now that no run of it can send
            if state == b"sent":
                return None
            _supersede(context, earlier, reply_id, state)
    except SendInProgress as held:  # the earlier reply is being sent: settled when that send, or its lease, ends
        return _again(context, reply, earlier, state, until=held.ends_in + AFTER_LEASE_SECONDS)
    log.info("reply.supersedes_earlier", reply_id=reply_id, earlier=earlier,
             earlier_state=state.decode() if state is not None else "gone",
             reason="waited_out" if state in PENDING_STATES else "given_up")
    return None


def _queued_at(context: WorkerContext, reply_id: str) -> float:
    """When the reply was queued (its record's `created_at`); 0 when its record is gone or unreadable: a reply
    requeued that long after has waited enough."""
    raw = context.redis.hget(reply_key(reply_id), "created_at")
    try:
        return float(raw) if raw is not None else 0.0
    except ValueError:
        return 0.0


def _again(context: WorkerContext, reply: dict[str, Any], earlier: str, state: bytes | None, *, until: float
           ) -> float:
    """Queue this reply's job again to look once more: 1, 2, 4... s up to 30 s, and never much past `until` seconds
    from now: the wait's end, or, once the earlier reply's send lease is what it waits for, just past that lease's end.

    Not the wait's end for a lease: that is over then (`left` negative), and the floor of 1 s made the answer look
    every second while a lease left by a dead worker on another host ran out (a job timeout, 120 s): some 120 jobs
    and as many log lines."""
    job = get_current_job()
    waits = int(job.meta.get(WAITS_META, 0)) if job is not None else 0
    delay = max(1.0, min(LONGEST_STEP_SECONDS, 2.0 ** min(waits, LONGEST_STEP_DOUBLINGS), until))
    enqueue_later(context.redis, context.settings, REPLY_QUEUE, REPLY_FUNC, [reply], delay,
                  timeout=job.timeout if job is not None else None, meta={WAITS_META: waits + 1})
    log.info("reply.waits_for_earlier", reply_id=str(reply["reply_id"]), earlier=earlier,
             earlier_state=state.decode() if state is not None else "gone", rescheduled_in=round(delay, 1))
    return delay


def _supersede(context: WorkerContext, earlier: str, reply_id: str, state: bytes | None) -> None:
    """Mark the earlier reply superseded by `reply_id`, under its send lease. Its `state` says so too, unless it is
    dead-lettered: its letter is still there for an operator, and a requeue of it sends nothing."""
    fields: dict[str, Any] = {SUPERSEDED_FIELD: reply_id, "superseded_at": str(time.time())}
    if state != b"dead_lettered":
        fields["state"] = SUPERSEDED
    with context.redis.pipeline(transaction=True) as pipe:
        write_reply_record(pipe, context.settings, earlier, fields)
        pipe.execute()
