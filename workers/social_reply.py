"""The public reply to a mention on X or Instagram (job on `lapor-reply`).

Privacy by construction: the job's arguments are the reply target (tweet id, IG media/comment id), a reply key
from config/replies.toml, the Tracking ID and a language (and the number a citizen gave as a Tracking ID, public in
their mention already, for `social_bad_tracking_id_photo` and `social_follow_up_unknown`). The text is rendered here
from those alone, with the report link (`social.report_link`), so a reply can never carry the complaint text or the
citizen's name; anonymous and confidential reports get the same reply as any other. One exception, under our own
Instagram posts: Meta adds our reply to a comment that replies in another's thread to that thread's top-level comment,
which tells its author, not the reporter, so such a reply opens with the reporter's `@username`, read from the comment
when it is sent (`_author_prefix`; the job only says it may, `channels.social.NAME_AUTHOR`), never for an anonymous
report (our comment would keep their handle beside the Tracking ID even once they deleted theirs). Each reply ends
with its mention's reference (`mention_ref`, a digest of the id it answers): X refuses a text the account posted
before as "duplicate content", and without it the second citizen asking for help, checking a report or adding to it
would get no reply.

Rate: at most `reply_rate_per_minute` replies per channel per minute (a Redis counter per minute); a job over the
limit is scheduled again for its own place in a later minute (`_over_rate`), so a backlog is not tried again whole
every minute. A provider rate limit schedules it at the provider's reset time, and counts in the channel's health
(`HealthSignals.reply_rate_limited`) until a reply is sent; a 429 once `reply_rate_limit_max_total_hours` have passed
since the reply's first attempt (kept with the reply in Redis, `FIRST_ATTEMPT_KEY`, whichever job of it runs) sends it
to the dead-letter registry, where an account restricted from posting for days held its citizens' replies for ever,
unseen. Server errors are retried by RQ with backoff; an auth or payload refusal goes to the dead-letter registry.

One job at a time replies to a mention: two running at once (a job queued twice, a dead letter requeued while the
first runs) are kept apart by the mention's send lease (`workers.send_lease`); the second is retried (then queued
again once that lease has ended, never dead-lettered), and then finds the reply sent. An attempt may post and never
hear so (a 5xx, a read timeout after the request went out, a worker killed while sending): a marker set before the
first send (`ATTEMPTED_KEY`) tells the next attempt. X refuses that attempt's text as "duplicate content", which
shows the reply is out (the text is this mention's alone). The Graph API takes the same comment again, so on
Instagram that attempt first reads the comments where ours would be, in one GET (`_posted_before`): found by its
reference, it is recorded as sent; not there, it is posted; a lookup that cannot tell is retried, and dead-lettered
as `instagram_reply_unverified` once the retries are spent, never followed by a blind second post. A refusal that
says nothing was posted (a rate limit, a 4xx) clears the marker: the attempt after it does not look. A comment under
our own post (its target has a `thread`) is no mention: its reply goes to the comment (`POST /{comment-id}/replies`)
and is looked for among its thread's replies (`GET /{thread}/replies`), with the same safety.

The id of a reply posted on X is remembered with its Tracking ID (gateway.followups.remember_reply): the citizen who
answers it in the thread adds to that report. On Instagram, whose Graph API does not say which comment a mentioning
comment answers, the post our reply was made on is remembered with it (gateway.followups.remember_post_reply), as
when a lookup finds it posted: the citizen's later comment there adds to their report. Under our own post, whose
`comments` webhook names a comment's thread, the thread is remembered instead: their reply in it adds to the report.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from rq import get_current_job

from channels.instagram_graph import GraphClient, our_reply_in
from channels.social import (
    NAME_AUTHOR,
    SOCIAL_REPLY_FUNC,
    ProviderError,
    ProviderErrorKind,
    failure_kind,
    reset_wait,
)
from channels.x_mentions import XReplyClient
from gateway import metrics
from gateway.errors import RetryableError
from gateway.followups import remember_post_reply, remember_reply
from gateway.health.signals import HealthSignals, endpoint, poll_failure, reply_failure, retry_reason
from gateway.logs import bind_message_context, get_logger
from gateway.metrics import health_channel, reply_source
from gateway.queues import REPLY_QUEUE, enqueue_later
from gateway.replies import load_replies, render
from gateway.settings import InstagramSettings, Settings, XSettings
from gateway.tracking import MAX_LENGTH
from normalizer.envelope import Channel
from workers.context import WorkerContext, attempt_number, current, note_retry
from workers.deadletters import DeadLetters
from workers.report_payload import opaque_message_id
from workers.send_lease import SendInProgress, send_lease, wait_for_holder
from workers.windows import count_in_window

log = get_logger()

SENT_KEY = "lapor:social:replied:{channel}:{target}"
# Set before the first send: a later attempt refused as a duplicate then knows the reply went out, and one on
# Instagram looks for it first. Cleared on Instagram by a refusal that says nothing was posted.
ATTEMPTED_KEY = "lapor:social:reply-attempted:{channel}:{target}"
RATE_KEY = "lapor:social:reply-rate:{channel}:{minute}"
# When the reply was first sent to its provider (Unix seconds): how long a provider's rate limit has held it. Kept with
# the reply, not with a job, so every job of it counts from there: the one that puts it off (`_later`), one queued
# again after another job's send lease ended (`wait_for_holder`), which started its allowance afresh while the time
# travelled in the job's meta, and a second job of it. Deleted with every dead letter of the reply, whoever writes it
# (`first_attempt_key`): a requeued one starts afresh.
FIRST_ATTEMPT_KEY = "lapor:social:reply-first-attempt:{channel}:{target}"
# Where workers before FIRST_ATTEMPT_KEY kept that time, in the job's meta: still read, so a reply put off across the
# upgrade keeps its first attempt.
FIRST_ATTEMPT_META = "first_attempt_at"
# FIRST_ATTEMPT_KEY outlives the longest total wait by this much more than one provider wait: the 429 that ends it
# must still find it.
FIRST_ATTEMPT_MARGIN_SECONDS = 3600
# The longest comment Instagram takes: a reply whose author's @username would make it longer goes without it.
IG_COMMENT_MAX_CHARS = 2200


def mention_ref(target_id: str) -> str:
    """Eight characters that differ from mention to mention and tell nothing but which public post was answered
    (40 bits: two of a day's thousands of replies share one about once in a hundred thousand days)."""
    digest = hashlib.blake2b(target_id.encode(), digest_size=5, person=b"lapor-reply-ref").digest()
    return base64.b32encode(digest).decode()


def reply_text(settings: Settings, reply_key: str, tracking_id: str | None, language: str | None,
               target_id: str, typed_id: str | None = None) -> str:
    """The public reply: a template filled with the Tracking ID, the report link, the mention's reference and, for a
    mistyped ID or one never issued, the number as given (cut to a Tracking ID's length: a citizen may type any
    number of digits).

    A key this worker's replies.toml lacks (a newer gateway queued it during a rolling deploy), or one that repeats
    the number typed in a job that has none (queued by an older gateway), gets the plain acknowledgement, or the
    help text when there is no Tracking ID: a reply the citizen can use, instead of a job that fails until it is
    dead-lettered."""
    table = load_replies().get(reply_key)
    if table is None or (not typed_id and any("{typed_id}" in text for text in table.values())):
        fallback = "social_ack" if tracking_id else "social_help"
        log.warning("reply.unknown_key", reason="unknown_reply_key" if table is None else "no_typed_id",
                    reply_key=reply_key, fallback=fallback)
        reply_key = fallback
    link = settings.social.report_link.format(tracking_id=tracking_id or "")
    shown = typed_id if typed_id is None or len(typed_id) <= MAX_LENGTH else typed_id[:MAX_LENGTH] + "…"
    return render(reply_key, language, tracking_id=tracking_id or "", link=link, ref=mention_ref(target_id),
                  typed_id=shown)


def _refusal(channel: str, error: ProviderError) -> str:
    """A refusal's reason as its dead letter and its queue's last failure show it: `x_auth`, `instagram_server`."""
    return f"{health_channel(channel)}_{error.reason}"


def _target_id(target: dict[str, str]) -> str:
    return target.get("tweet_id") or target.get("comment_id") or target.get("media_id") or "?"


def _rate_limit(context: WorkerContext, channel: str) -> int:
    return (context.settings.x.reply_rate_per_minute if channel == Channel.TWITTER.value
            else context.settings.instagram.reply_rate_per_minute)


def _over_rate(context: WorkerContext, channel: str, now: float) -> float | None:
    """Seconds until this reply's turn when this minute's replies are used up; None when we may send.

    The n-th reply over the limit in a minute takes the n-th free place after it: `limit` per minute, spread over
    the minute. All sent to the next minute, a backlog of N ran again there whole, N - limit of it again the minute
    after, and so on: some N * N / (2 * limit) runs, where each reply now runs about twice."""
    minute = int(now // 60)
    key = RATE_KEY.format(channel=channel, minute=minute)
    limit = _rate_limit(context, channel)
    count = count_in_window(context.redis, key, 120)
    if count <= limit:
        return None
    minutes_ahead, place = divmod(count - 1, limit)
    return (minute + minutes_ahead) * 60 + place * 60 / limit - now + 0.5


def _send(context: WorkerContext, channel: str, target: dict[str, str], text: str) -> str:
    """Through the process's one client per provider (its connection pool is kept between jobs)."""
    if channel == Channel.TWITTER.value:
        x_client: XReplyClient = context.client("x-reply", lambda: XReplyClient(context.settings))
        return x_client.reply(target["tweet_id"], text, target.get("exclude"))
    if target.get("thread"):  # a comment on our own post, which is no mention: answered under it
        return _graph(context).reply_to_comment(target["comment_id"], text)
    return _graph(context).reply(target["media_id"], target.get("comment_id"), text)


def _graph(context: WorkerContext) -> GraphClient:
    graph: GraphClient = context.client("instagram-reply", lambda: GraphClient(context.settings))
    return graph


def _later(context: WorkerContext, delay: float, args: tuple[Any, ...]) -> None:
    """This reply again in `delay` seconds, with this job's timeout (the queues' when it had none). Its first
    attempt stays with the reply (`FIRST_ATTEMPT_KEY`)."""
    job = get_current_job()
    enqueue_later(context.redis, context.settings, REPLY_QUEUE, SOCIAL_REPLY_FUNC, args, delay,
                  timeout=job.timeout if job is not None else None)


def first_attempt_key(channel: str, target: dict[str, str]) -> str:
    """The reply's `FIRST_ATTEMPT_KEY`: deleted with each dead letter of it, this module's and `workers.failures`'
    (a job that failed for good, a job that took its workers down), so a requeued one starts its hours afresh."""
    return FIRST_ATTEMPT_KEY.format(channel=channel, target=_target_id(target))


def _first_attempt(context: WorkerContext, channel: str, target: dict[str, str], now: float) -> float:
    """When this reply was first sent to its provider: the time kept with it in Redis, set now (or to the time an
    older worker handed on in this job's meta) when none is. Kept a provider wait past the longest total wait."""
    job = get_current_job()
    seed = now
    try:
        seed = min(now, float(job.meta[FIRST_ATTEMPT_META])) if job is not None else now
    except (KeyError, TypeError, ValueError):  # none handed on, or not ours: counted from now
        pass
    key = first_attempt_key(channel, target)
    ttl = int(_max_total_wait(context, channel) + _channel_settings(context, channel).rate_limit_max_wait_seconds
              + FIRST_ATTEMPT_MARGIN_SECONDS)
    with context.redis.pipeline(transaction=True) as pipe:
        pipe.set(key, seed, nx=True, ex=ttl)
        pipe.get(key)
        _, stored = pipe.execute()
    try:
        return float(stored)
    except (TypeError, ValueError):  # not ours: counted from now
        context.redis.set(key, now, ex=ttl)
        return now


def send_social_reply(channel: str, target: dict[str, str], reply_key: str, tracking_id: str | None,
                      language: str | None = None, typed_id: str | None = None) -> str:
    """RQ job. Returns what happened: sent, already_sent, deferred, dead_lettered, or target_gone (the mention was
    deleted or hidden from us before its reply, or its conversation's author restricted who can reply)."""
    context = current()
    args = (channel, target, reply_key, tracking_id, language, *([typed_id] if typed_id else []))
    bind_message_context(channel=reply_source(channel), tracking_id=tracking_id)
    try:
        with send_lease(context, f"{channel}:{_target_id(target)}", channel=reply_source(channel)):
            return _reply(context, args)
    except SendInProgress as error:
        wait_for_holder(context, error, SOCIAL_REPLY_FUNC, args)
        return "deferred"


def _reply(context: WorkerContext, args: tuple[Any, ...]) -> str:
    """Under the mention's send lease: reply unless an earlier job did, or defer it past this minute's rate."""
    channel, target, reply_key, tracking_id, language, *typed = args
    sent_key = SENT_KEY.format(channel=channel, target=_target_id(target))
    if context.redis.exists(sent_key):
        log.info("reply.already_sent")
        return "already_sent"
    wait = _over_rate(context, channel, time.time())
    if wait is not None:
        _later(context, wait, args)
        log.info("reply.rate_limited", retry_in_seconds=round(wait, 1), limit=_rate_limit(context, channel))
        return "deferred"
    text = reply_text(context.settings, reply_key, tracking_id, language, _target_id(target), *typed)
    ttl = context.settings.intake.dedup_ttl_seconds
    attempted_key = ATTEMPTED_KEY.format(channel=channel, target=_target_id(target))
    tried_before = not context.redis.set(attempted_key, "1", nx=True, ex=ttl)
    first_attempt = _first_attempt(context, channel, target, time.time())
    if tried_before and channel == Channel.INSTAGRAM.value:
        outcome = _posted_before(context, args, first_attempt, sent_key, ttl)
        if outcome is not None:
            return outcome
    if channel == Channel.INSTAGRAM.value and _names_author(target):
        prefix, outcome = _author_prefix(context, args, text, first_attempt, sent_key, ttl)
        if outcome is not None:
            if not tried_before:
                context.redis.delete(attempted_key)
            return outcome
        text = prefix + text
    try:
        reply_id = _send(context, channel, target, text)
    except ProviderError as error:
        if error.gone or error.restricted:
            return _target_gone(context, channel, sent_key, ttl, "reply_restricted" if error.restricted else None)
        if channel == Channel.INSTAGRAM.value and _refused(error):
            # Refused (a rate limit, a 4xx): nothing was posted, and no earlier attempt had (looked for above), so
            # the next attempt posts without looking.
            context.redis.delete(attempted_key)
        # The text carries this mention's reference: refused as a copy after an attempt that may have posted it,
        # it is out.
        if not (error.duplicate and tried_before):
            return _failed(context, error, args, first_attempt)
        # An earlier attempt posted it and never heard back (a timeout, a killed worker): it is out.
        log.info("reply.already_posted", reason="duplicate_content")
        context.redis.set(sent_key, "1", ex=ttl)
        return "already_sent"
    _record_sent(context, args, reply_id, sent_key, ttl)
    log.info("reply.sent", reply_key=reply_key)
    return "sent"


def _names_author(target: dict[str, str]) -> bool:
    """Whether the reply opens with its comment's author's @username: a non-anonymous report's (or query's) comment
    replying in another comment's thread under our own post (`channels.social.NAME_AUTHOR`)."""
    thread = target.get("thread")
    return bool(target.get(NAME_AUTHOR) and thread and target.get("comment_id") and thread != target["comment_id"])


def _author_prefix(context: WorkerContext, args: tuple[Any, ...], text: str, first_attempt: float, sent_key: str,
                   ttl: int) -> tuple[str, str | None]:
    """`@<username> ` of the comment's author, read now (`GraphClient.comment_author`: the job carries no one's
    identity), and None; or "" and what happened when the reply went no further.

    Meta adds a reply to a reply to its top-level comment, which tells that comment's author, not ours: the
    @username is what tells the reporter, as Instagram's own app does. A comment deleted since takes the reply with
    it (as the send would find); a rate limit (put off, no retry spent) or an auth error is what the send would meet,
    handled as its would be. A server error or no answer, or an answer without a username (a field the API does not
    have, an unreadable answer), sends the reply without it (`reply.author_not_named`): the Tracking ID in the thread
    now rather than a retry spent before anything is posted. So does one the @username would make longer than
    Instagram takes."""
    channel, target, *_ = args
    try:
        author = _graph(context).comment_author(target["comment_id"])
    except ProviderError as error:
        if error.gone:
            return "", _target_gone(context, channel, sent_key, ttl)
        if error.kind in (ProviderErrorKind.RATE_LIMIT, ProviderErrorKind.AUTH):
            return "", _failed(context, error, args, first_attempt)
        log.warning("reply.author_not_named", reason=error.reason, status=error.status, code=error.code)
        return "", None
    if author.ours:  # never ourselves: told by the account's id, which a rename keeps
        log.info("reply.author_not_named", reason="own_account")
        return "", None
    if author.username is None:
        log.warning("reply.author_not_named", reason="no_username")
        return "", None
    prefix = f"@{author.username} "
    if len(prefix) + len(text) > IG_COMMENT_MAX_CHARS:
        log.warning("reply.author_not_named", reason="too_long")
        return "", None
    return prefix, None


def _refused(error: ProviderError) -> bool:
    """Whether the provider's answer says nothing was posted: a refusal (a rate limit, a 4xx). Not a 5xx or no
    answer, nor a 200 whose body could not be read (`status` 200: the comment was made, its answer spoiled)."""
    return error.kind is not ProviderErrorKind.SERVER and error.status != 200


def _posted_before(context: WorkerContext, args: tuple[Any, ...], first_attempt: float, sent_key: str, ttl: int
                   ) -> str | None:
    """Whether an earlier attempt posted this Instagram reply: that attempt ended without an answer that says it did
    not (a 5xx, a timeout, a worker killed while sending), and the Graph API, unlike X, takes the same comment again.
    One GET of the comments where it would be (`GraphClient.reply_listing`): ours, carrying this mention's
    reference, is recorded as sent ("already_sent"); None when it is not there: post it.

    A lookup that cannot tell (it fails, or a full page holds other comments only) is retried as a server error is,
    and dead-lettered as `instagram_reply_unverified` once the retries are spent: a reply held back, seen by the
    operator, rather than posted twice in public; a rate limit puts it off, an auth error dead-letters it as a send's
    would, and a mention gone takes the reply with it."""
    channel, target, *_ = args
    reference = mention_ref(_target_id(target))
    try:
        if target.get("thread"):  # under the comment on our own post: its thread's replies, ours among them
            listing = _graph(context).comment_replies(target["thread"])
        else:
            listing = _graph(context).reply_listing(target["media_id"], target.get("comment_id"))
    except ProviderError as error:
        if error.gone:
            return _target_gone(context, channel, sent_key, ttl)
        if error.kind in (ProviderErrorKind.RATE_LIMIT, ProviderErrorKind.AUTH):
            return _failed(context, error, args, first_attempt)
        if error.unsupported:
            # The Graph API does not read this listing (Meta documents no `replies` on a mentioned comment): it can
            # never tell, and holding every such reply back would leave its citizen without a Tracking ID. Posted,
            # at the risk of a second copy, as before the lookup existed.
            log.warning("reply.lookup_unsupported", reason="instagram_lookup_unsupported", detail=error.detail)
            return None
        return _failed(context, _unverified(f"lookup failed: {error.detail}", error), args, first_attempt)
    found = our_reply_in(listing, reference, context.settings.instagram)
    if found is not None:
        log.info("reply.already_posted", reason="found_on_instagram")
        _record_sent(context, args, found, sent_key, ttl)
        return "already_sent"
    if not listing.complete:
        detail = f"lookup inconclusive: a full page of {len(listing.comments)} comments, ours not among them"
        return _failed(context, _unverified(detail), args, first_attempt)
    log.info("reply.not_posted_before", comments=len(listing.comments))
    return None


def _unverified(detail: str, cause: ProviderError | None = None) -> ProviderError:
    """Retried as a server error is; its dead letter says the reply may be out (`instagram_reply_unverified`, failure
    `unverified`: `failure_kind`)."""
    return ProviderError(ProviderErrorKind.SERVER, detail, status=cause.status if cause else None,
                         code=cause.code if cause else None, reason="reply_unverified")


def _record_sent(context: WorkerContext, args: tuple[Any, ...], reply_id: str, sent_key: str, ttl: int) -> None:
    """The reply is out: no job of it posts again, and the citizen's answer to it adds to their report."""
    channel, target, _, tracking_id, *_ = args
    context.redis.set(sent_key, reply_id or "1", ex=ttl)
    if channel == Channel.TWITTER.value and reply_id and tracking_id:
        # A citizen who answers this reply in its thread adds to the report (gateway.followups.thread_report).
        remember_reply(context.redis, channel, reply_id, tracking_id, context.settings.intake.envelope_ttl_seconds)
    elif channel == Channel.INSTAGRAM.value and (target.get("thread") or target.get("media_id")) and tracking_id:
        # ... and on Instagram, their comment on the post it was made on (gateway.followups.post_thread_report); under
        # our own post, their reply in the thread it was made in (channels.instagram_graph.own_media_comment_message).
        remember_post_reply(context.redis, channel, target.get("thread") or target["media_id"], tracking_id,
                            context.settings.intake.envelope_ttl_seconds)
    HealthSignals(context.redis).reply_sent(health_channel(channel))


def _target_gone(context: WorkerContext, channel: str, sent_key: str, ttl: int, why: str | None = None) -> str:
    """The mention was deleted (or hidden from us) before its reply, or it is in a conversation whose author
    restricted who can reply (`why` "reply_restricted"): the report stands, the reply has nowhere to go. Not a failure
    of the channel (no dead letter an operator could requeue, no authentication error on the status views: citizens
    delete posts and limit replies every day), only counted and logged."""
    context.redis.set(sent_key, "gone", ex=ttl)
    metrics.REPLIES.labels(health_channel(channel), "target_gone").inc()
    log.info("reply.target_gone", reason=why or "target_gone")
    return "target_gone"


def _failed(context: WorkerContext, error: ProviderError, args: tuple[Any, ...], first_attempt: float) -> str:
    channel = args[0]
    job = get_current_job()
    if error.kind is ProviderErrorKind.RATE_LIMIT:
        now = time.time()
        limited = now - first_attempt
        if limited >= _max_total_wait(context, channel):
            detail = f"still rate limited {limited / 3600:.1f} h after its first attempt: {error.detail}"
            return _dead_letter(context, args, _refusal(channel, error), detail, error)
        delay = _reset_wait(context, channel, error)
        _later(context, delay, args)
        HealthSignals(context.redis).reply_rate_limited(health_channel(channel), until=now + delay,
                                                        said=_said(context, channel, error),
                                                        failure=failure_kind(error))
        log.warning("reply.provider_rate_limited", retry_in_seconds=round(delay, 1))
        return "deferred"
    if error.kind is ProviderErrorKind.SERVER and job is not None and job.retries_left:
        log.warning("reply.retry", reason=error.reason, status=error.status)
        note_retry(job, attempt_number(job), retry_reason(_refusal(channel, error), _said(context, channel, error),
                                                          failure_kind(error)))
        raise RetryableError(error.detail, reason=error.reason)
    return _dead_letter(context, args, _refusal(channel, error), error.detail, error)


def _reset_wait(context: WorkerContext, channel: str, error: ProviderError) -> float:
    """Until the provider's rate-limit reset (`reset_wait`), at most the channel's `rate_limit_max_wait_seconds`, as
    its poller waits: a reset years ahead (a clock-skewed or buggy answer) put the citizen's reply off for years. A
    minute when the provider named no reset ahead.

    A reply held by X's plan's usage cap (`usage_cap`) waits `rate_limit_max_wait_seconds` whole: no window's reset
    ends the cap (it ends at the plan's next period, or when the plan is raised), and waiting for the 15-minute
    window's (a minute once it had passed) posted every held reply again about once a minute for its 24 hours."""
    longest = _channel_settings(context, channel).rate_limit_max_wait_seconds
    if failure_kind(error) == "usage_cap":
        return longest
    asked = reset_wait(error, time.time())
    if asked is None:
        return 60.0
    return min(asked, longest)


def _channel_settings(context: WorkerContext, channel: str) -> XSettings | InstagramSettings:
    return context.settings.x if channel == Channel.TWITTER.value else context.settings.instagram


def _max_total_wait(context: WorkerContext, channel: str) -> float:
    """Seconds from a reply's first attempt after which a 429 dead-letters it (`reply_rate_limit_max_total_hours`)."""
    return _channel_settings(context, channel).reply_rate_limit_max_total_hours * 3600


def _where(context: WorkerContext, channel: str) -> str:
    """The host a reply of `channel` is posted to (`endpoint`: LAPOR_X_BASE_URL's, LAPOR_INSTAGRAM_GRAPH_BASE_URL's),
    as its poller's failing reason names it."""
    return endpoint(context.settings.x.base_url if channel == Channel.TWITTER.value
                    else context.settings.instagram.graph_base_url)


def _said(context: WorkerContext, channel: str, error: ProviderError) -> str:
    """Where and how the reply failed, as a failing poll's reason says it (`api.x.com answered 403 Forbidden`,
    `ConnectionError talking to api.x.com`); a lookup that could not tell whether an Instagram reply is out, with the
    host it asked."""
    where = _where(context, channel)
    if error.reason == "reply_unverified":
        # Not "<words> at <host>": the scrubber every view applies reads that as an address written to dodge
        # harvesters, and the reason said "lookup failed: [email]".
        return f"{error.detail} (asking {where})"
    return poll_failure(where, error.detail, answered=error.status is not None)


def _dead_letter(context: WorkerContext, args: tuple[Any, ...], reason: str, detail: str,
                 error: ProviderError) -> str:
    channel, target, _, tracking_id, *_ = args
    # The provider's answer beside its kind and the host it came from, as the pollers' reasons name theirs (a status
    # line and error codes, never a message that may quote the post: `ProviderError`): "x_auth (403 Forbidden)" named
    # no host, and no setting to mend (the views' step follows `failure`).
    said, failure = _said(context, channel, error), failure_kind(error)
    HealthSignals(context.redis).reply_failed(health_channel(channel), reply_failure(reason, said, failure), failure)
    # The letter's key is shown to operators as it is: the post it answers (whose id opens the post and its author,
    # beside an anonymous report's Tracking ID) goes in it by a keyed digest; the arguments keep it for a requeue.
    item = f"{channel}:{opaque_message_id(context.settings.privacy.reply_handle_secret, channel, _target_id(target))}"
    DeadLetters(context.redis).add_new(
        queue=REPLY_QUEUE, func=SOCIAL_REPLY_FUNC, args=list(args), tracking_id=tracking_id or "",
        item=item, reason=reason, detail=detail[:200],
        attempts=attempt_number(get_current_job()), channel=reply_source(channel), where=said, failure=failure,
    )
    context.redis.delete(first_attempt_key(channel, target))  # requeued, it starts afresh
    return "dead_lettered"
