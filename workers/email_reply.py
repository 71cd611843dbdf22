"""The e-mail reply job (queue lapor-reply): one acknowledgement per mail, capped per address and hour.

Idempotent per mail (a re-sent mail or a retried job does not answer twice once the first answer went out), and
one job at a time answers a mail: two running at once (a job queued twice, a dead letter requeued while the first
runs) are kept apart by the mail's send lease (`workers.send_lease`); the second is retried, then queued again
once that lease has ended, never dead-lettered.
Without a configured relay the reply is written to the outbox under the data dir. A relay's 4xx, an
unreachable relay or an outbox that cannot be written is retried with backoff; a 5xx, or retries run out, goes to
the dead-letter registry.
"""

from __future__ import annotations

import hashlib
import time
from email.message import EmailMessage
from functools import partial
from typing import Any

from rq import get_current_job

from channels.email.guards import is_noreply_address, is_our_address
from channels.email.processor import REPLY_ADDRESS, REPLY_FUNC
from channels.email.reply import ascii_address, build_reply, send_via_relay, write_to_outbox
from gateway import metrics
from gateway.errors import GatewayError, PermanentError, RetryableError
from gateway.health.signals import HealthSignals, reply_failure, retry_reason
from gateway.logs import bind_message_context, get_logger
from gateway.metrics import health_channel
from gateway.queues import REPLY_QUEUE, envelope_key, readable_envelope, sender_digest
from gateway.settings import Settings
from workers.context import WorkerContext, attempt_number, current, note_retry
from workers.deadletters import DeadLetters
from workers.forward import back_to_its_turn
from workers.send_lease import SendInProgress, record_sent, send_lease, wait_for_holder
from workers.status import report_status
from workers.windows import count_in_window, uncount_in_window

log = get_logger()

REPLIED_KEY = "lapor:email:replied:{digest}"
# An address's replies this hour, under its keyed digest (`sender_digest`).
CAP_KEY = "lapor:email:replycap:{digest}:{hour}"
CHANNEL = "email"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


def capped_address(address: str) -> str:
    """The address as its hourly cap counts it: lowercased, its domain in its ASCII form (IDNA 2008, as the reply is
    sent: `ascii_address`). Counted as written, `budi@bücher.de` and `budi@xn--bcher-kva.de`, one mailbox, each had
    a cap of their own. A case variant of a local part may in theory be another mailbox; merged, the cap errs on the
    side it protects. Where the reply goes is not this: only what it is counted under."""
    return ascii_address(address).lower()


def _cap_key(settings: Settings, address: str) -> str:
    """The address's reply count for this hour (read once per attempt: the hour may turn during a send), under its
    keyed digest (`sender_digest`)."""
    return CAP_KEY.format(digest=sender_digest(settings, capped_address(address)), hour=int(time.time() // 3600))


def _over_cap(context: WorkerContext, cap_key: str) -> bool:
    """Counts this reply against the address's hourly cap; whether it is over it."""
    return count_in_window(context.redis, cap_key, 3700) > context.settings.email.reply_cap_per_hour


def _cap_used_up(context: WorkerContext, cap_key: str) -> bool:
    """Whether the address had all its replies this hour already, counting nothing: asked before work that only a
    reply needs. `_over_cap` still counts the reply when it is sent (two jobs may both pass here)."""
    return int(context.redis.get(cap_key) or 0) >= context.settings.email.reply_cap_per_hour


def _own_address(context: WorkerContext, address: str) -> bool:
    return is_our_address(address, context.settings.email)


def send_email_reply(payload: dict[str, Any]) -> str:
    """RQ job. Returns what happened: sent, outbox, already_replied, capped, own_address, noreply_address,
    auto_response_suppressed, failed, or deferred (another job of the mail is answering it: this one runs again once
    that job's send lease has ended)."""
    context = current()
    bind_message_context(channel=CHANNEL, tracking_id=payload["tracking_id"])
    try:
        addressed = addressed_reply(context, payload)
    except (RetryableError, PermanentError) as error:
        return _failed(context, payload, error)
    if _own_address(context, addressed["to"]):
        return _skip("own_address")
    if is_noreply_address(addressed["to"]):  # "noreply@...": the mail is filed, and our answer would reach no one
        return _skip("noreply_address")
    if payload.get("no_auto_reply"):  # X-Auto-Response-Suppress: the mail is filed, and asked for no answer like ours
        return _skip("auto_response_suppressed")
    try:
        with send_lease(context, _item(payload), channel=CHANNEL):
            return _answer(context, payload, addressed)
    except SendInProgress as error:
        wait_for_holder(context, error, REPLY_FUNC, [payload])
        return "deferred"


def addressed_reply(context: WorkerContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The reply with its address, subject and threading fields: the job's own, or, for an anonymous report's
    (`to_report`, channels/email/processor.py), those its envelope copy keeps, so that the job (kept after it ran, and
    in a dead letter) never names the whistleblower beside the report. Jobs queued before carry `to`: used as they are.
    A CEK's answer keeps its own threading fields (it answers that mail). A report still in a gateway's disk spool is
    waited for (retried), as an SMS reply's is (`resolve_recipient`)."""
    if payload.get("to") or not payload.get("to_report"):
        return payload
    tracking_id = str(payload["to_report"])
    raw = context.redis.get(envelope_key(tracking_id))
    if raw is None and payload.get("report_spooled"):
        raise RetryableError("the report is in a gateway's disk spool, not in Redis yet", reason="report_not_replayed")
    envelope = None if raw is None else readable_envelope(tracking_id, raw)
    if envelope is None:
        raise PermanentError("the report's envelope is gone or damaged", reason="recipient_unknown")
    meta = envelope.get("channel_meta") or {}
    message_id = meta.get("message_id")
    references = [*(meta.get("references") or []), *([message_id] if message_id else [])][-20:]
    to = envelope["sender"]["id"] if payload.get("to_sender") else meta.get(REPLY_ADDRESS) or _answered_before(
        payload, envelope)
    threading = {} if "in_reply_to" in payload else {"in_reply_to": message_id, "references": references}
    return {**payload, "to": to, "subject": envelope.get("subject") or "", **threading,
            **({"not_kept": _named(payload["not_kept"], envelope)} if payload.get("not_kept") else {})}


def _named(not_kept: list[dict[str, Any]], envelope: dict[str, Any]) -> list[dict[str, Any]]:
    """An anonymous report's files not kept, which its job names by their place alone (`store.not_kept`), with their
    names from the report's copy."""
    listed = envelope.get("attachments") or []
    named = []
    for item in not_kept:
        index = item.get("index")
        name = listed[index - 1].get("name") if isinstance(index, int) and 0 < index <= len(listed) else None
        named.append({**item, "name": name} if isinstance(name, str) else item)
    return named


def _answered_before(payload: dict[str, Any], envelope: dict[str, Any]) -> str:
    """Where the reply to a report filed before its envelope kept REPLY_ADDRESS goes: a CEK's (asked from the report's
    Reply-To: `to_sender` is not set) to that Reply-To, where the acknowledgement went; any other to the mail's From
    (only a delivery again of a mail filed before the upgrade, whose first answer had not gone out), never to a
    Reply-To the copy cannot tell was chosen for it: a follow-up's, or someone else's mail naming an anonymous report,
    answered at a forger's Reply-To, told the forger whether that From sent the report (`reply_address`)."""
    sender, reply_to = str(envelope["sender"]["id"]), (envelope.get("channel_meta") or {}).get("reply_to")
    if payload.get("kind") == "status" and isinstance(reply_to, str) and reply_to:
        return reply_to
    return sender


def _item(payload: dict[str, Any]) -> str:
    """The mail's reply, as its dead letter and its send lease name it."""
    return f"email-{_digest(payload['dedup'])}"


def _answer(context: WorkerContext, payload: dict[str, Any], addressed: dict[str, Any]) -> str:
    """Under the mail's send lease: answer it unless an earlier job did, or the address had its replies this hour.
    `addressed`: the payload with its address (`addressed_reply`), which only the reply is built from: a dead letter
    keeps the job's own."""
    replied_key = REPLIED_KEY.format(digest=_digest(payload["dedup"]))
    if context.redis.exists(replied_key):
        return _skip("already_replied")
    cap_key = _cap_key(context.settings, addressed["to"])
    # A CEK's words of news added to its report (channels/email/processor.py `query_with_news`): its answer says the
    # addition was received and gives the status, looked up as a CEK's is; the job names the kind an older worker
    # knows ("follow_up", which answers the addition alone) and its own under `text`.
    added = payload["kind"] == "follow_up" and payload.get("text") == "follow_up_status"
    if payload["kind"] == "status" or added:
        # A CEK by mail (channels/email/processor.py): its status looked up here as an SMS CEK's status job does,
        # before the reply is counted, and retried the same way while the case store is away. Not for an address
        # whose replies this hour are used up: a flood of CEK mails from one address cost a case-store lookup each,
        # and no answer went out.
        if _cap_used_up(context, cap_key):
            return _skip("capped")
        try:
            status, found = report_status(context, payload["tracking_id"], REPLY_QUEUE)
        except RetryableError as error:
            return _lookup_failed(context, payload, addressed, cap_key, error)
        except PermanentError as error:
            if not added:
                return _failed(context, payload, error)
            # The case store refused the read (a 4xx): the addition was received all the same, and is answered so,
            # without a status (`[email_follow_up]`); given up, its writer heard nothing of it.
            log.warning("email.follow_up_status_refused", reason=error.reason)
            addressed = {**addressed, "text": "follow_up"}
        else:
            if not added and not found and payload.get("report_spooled"):
                # Asked while a gateway's disk spool may hold the report (`Intake.may_hold`), in neither Redis nor
                # the case store until its replay: waited for as a case store away is, never answered "not found".
                return _lookup_failed(context, payload, addressed, cap_key, RetryableError(
                    "the report may be in a gateway's disk spool, not in Redis yet", reason="report_not_replayed"))
            # An addition's report was there to add to (the processor read its copy, or the case store had it): its
            # status is the one looked up, "received" while it is not forwarded yet; its `report_spooled` is the
            # addition's.
            addressed = {**addressed, "status": status} if added else {**addressed, "status": status, "found": found}
    # Built before it is counted: a reply that cannot be built (a bug, a template gone) sends nothing, and counted,
    # RQ's retries of it used up the address's hour as the failures below would.
    message = build_reply(addressed, context.settings)
    try:
        outcome = _deliver(context, message, cap_key)
    except (RetryableError, PermanentError) as error:
        return _failed(context, payload, error)
    if outcome == "capped":
        return _skip("capped")
    # Tried again while Redis fails it (`record_sent`): unrecorded, the next run of the job mailed the reply again.
    record_sent(partial(context.redis.set, replied_key, payload["tracking_id"],
                        ex=context.settings.intake.dedup_ttl_seconds), kind=payload["kind"])
    HealthSignals(context.redis).reply_sent(health_channel(CHANNEL))  # counts lapor_replies_total too
    log.info("email.replied", outcome=outcome, kind=payload["kind"])
    return outcome


def _deliver(context: WorkerContext, message: EmailMessage, cap_key: str) -> str:
    """Counts the reply against the address's hourly cap and sends it: sent, outbox, or capped (nothing sent)."""
    if _over_cap(context, cap_key):
        return "capped"
    try:
        if context.settings.email.relay_host:
            send_via_relay(message, context.settings)
            return "sent"
        write_to_outbox(message, context.settings)
        return "outbox"
    except BaseException:
        # A reply that did not go out is not one of the address's replies this hour. Counted, the retries of one
        # reply through a relay outage used up the cap, and the reply was then dropped as capped; so with one ended
        # by an exception the job does not classify (RQ's job timeout, a bug): RQ retries it, and counted, the
        # retry past the cap dropped the reply as capped, with no dead letter.
        uncount_in_window(context.redis, cap_key)
        raise


def _lookup_failed(context: WorkerContext, payload: dict[str, Any], addressed: dict[str, Any], cap_key: str,
                   error: RetryableError) -> str:
    """A CEK's status lookup failed (the case store away, a report still in a disk spool). Retried while RQ has
    retries left; then, as an SMS CEK's status job does (`workers.status.give_up`), the citizen is told to ask again
    later (`[email_status_retry]`; an addition's, that it was received and to ask again later,
    `[email_follow_up_status_retry]`: addressed and threaded as the status answer would have been), and the job is
    dead-lettered still, for an operator to requeue: it answered nothing and is not marked replied. A mail that
    cannot be built or sent (or is past the cap) changes nothing of that dead letter: given up with the lookup's
    reason, as before."""
    job = get_current_job()
    if job is not None:  # moved to now as the case store came back (`retry_lookups_now`), and failed again
        back_to_its_turn(context, job, error.reason)
    if job is not None and job.retries_left:
        return _failed(context, payload, error)
    # An addition's answer says it was received all the same (`[email_follow_up_status_retry]`).
    retry = "follow_up_status_retry" if payload.get("text") == "follow_up_status" else "status_retry"
    try:
        message = build_reply({**addressed, "kind": retry, "text": retry}, context.settings)
        outcome = _deliver(context, message, cap_key)
    except Exception as send_error:  # whatever ended it (a relay, a bug, RQ's timeout): dead-lettered as before
        log.warning("email.status_retry_not_sent", reason=getattr(send_error, "reason", type(send_error).__name__))
    else:
        log.info("email.status_retry_sent", outcome=outcome)
    return _give_up(context, payload, error.reason, error.detail)


def _failed(context: WorkerContext, payload: dict[str, Any], error: RetryableError | PermanentError) -> str:
    """Retried (raised again) while RQ has retries left for a retryable error; else given up."""
    job = get_current_job()
    if isinstance(error, RetryableError) and job is not None and job.retries_left:
        log.warning("email.reply_retry", reason=error.reason)
        note_retry(job, attempt_number(job), retry_reason(error.reason, error.said, error.failure))
        raise error
    return _give_up(context, payload, error.reason, error.detail, error)


def _skip(reason: str) -> str:
    metrics.REPLIES.labels(CHANNEL, reason).inc()
    log.info("email.reply_skipped", reason=reason)
    return reason


def _give_up(context: WorkerContext, payload: dict[str, Any], reason: str, detail: str,
             error: GatewayError | None = None) -> str:
    """Dead-lettered, with where and how the relay failed when `error` says (`relay_535 (credentials refused):
    smtp.example.go.id:587 answered 535`): `relay_535` alone named neither the relay nor what to set."""
    job = get_current_job()
    attempts = attempt_number(job)
    said, failure = (error.said, error.failure) if error is not None else (None, None)
    DeadLetters(context.redis).add_new(queue=REPLY_QUEUE, func=REPLY_FUNC, args=[payload],
                                       tracking_id=payload["tracking_id"], item=_item(payload),
                                       reason=reason, detail=detail, attempts=attempts, channel=CHANNEL,
                                       where=said, failure=failure)
    HealthSignals(context.redis).reply_failed(health_channel(CHANNEL), reply_failure(reason, said, failure), failure)
    log.error("email.reply_failed", reason=reason)
    return "failed"
