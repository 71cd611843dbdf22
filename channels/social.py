"""What the X and Instagram pollers share: provider error kinds, and turning mentions into durable reports.

A poller hands a batch of mentions (oldest first) to `MentionIntake.take`; when it returns, every report in it
is durable (Intake.commit) and its public reply is queued, so the poller may advance its cursor. When it raises
NotDurable the cursor must stay. Dedup is intake's, by (channel, provider id): a mention seen twice (a re-poll
after a failure, a restart, the Instagram webhook and the /tags poll) is one report and one reply.

Replies are queued as `workers.social_reply.send_social_reply` jobs whose arguments are the reply *target*
(tweet id, IG media/comment id), a reply key, the Tracking ID and a language (and the number the citizen gave as a
Tracking ID when the reply repeats it: a mistyped ID sent with a photo, or an ID never issued): never the text or the
sender, so a public reply cannot carry them.

At most `reply_cap_per_hour` public replies go to one account (`[x]`, `[instagram]`) within an hour (sliding, counted
per mention, as the SMS flood control counts an SMS: `gateway.outbound.count_in_sliding_window`): another bot that
answers every reply of ours would otherwise have each answer taken as an addition to its report, answered, and
answered again, in public and without end. Past the cap the mention is still filed (a report, an addition); only
its reply is left out (`reply.capped`, counted as `capped`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson
from redis import Redis
from redis.exceptions import RedisError, WatchError

from gateway import metrics
from gateway.errors import GatewayError, NotDurable, RejectedInput
from gateway.followups import (
    post_thread_report,
    resolve_follow_up_now,
    sent_by_reports_sender,
    stored_envelope,
    thread_report,
    until_unanswered,
    with_parent_flags,
)
from gateway.health.signals import HealthSignals, poll_failure
from gateway.intake import Intake, dedup_key
from gateway.logs import (
    add_sensitive_values,
    bind_message_context,
    get_logger,
    message_context,
    restore_message_context,
)
from gateway.metrics import health_channel, reply_source
from gateway.outbound import count_in_sliding_window
from gateway.queries import casestore_lookup_now
from gateway.queues import REPLY_QUEUE, enqueue_calls, sender_digest
from gateway.same_text import SameTextWindow
from gateway.settings import Settings
from gateway.unfiled import UnfiledMessages
from normalizer.envelope import Channel, ReportDraft, Sender
from normalizer.grammar import Action
from normalizer.inbound import InboundMessage
from normalizer.keywords import parse_text
from normalizer.pipeline import UNANSWERED, normalize
from normalizer.quoted_posts import without_quoted_posts
from normalizer.sender import normalize_sender
from normalizer.text import INVISIBLE_FORMAT, clean_text

log = get_logger()

SOCIAL_REPLY_FUNC = "workers.social_reply.send_social_reply"
REPLY_QUEUED_KEY = "lapor:social:reply-queued:{channel}:{digest}"
# The mentions of one account (its id's keyed digest, `sender_digest`) answered or capped within the last hour: see the
# module's docstring.
REPLY_CAP_KEY = "lapor:social:reply-cap:{channel}:{digest}"
REPLY_CAP_WINDOW_SECONDS = 3600
# Tries at queuing a batch's replies while other batches keep writing the same markers; then NotDurable (retried).
QUEUE_ATTEMPTS = 5
# What of a comment's `channel_meta` names the post it comments on (channels.instagram_graph.comment_message): sent with
# a named comment on a whistleblower's #anonim post, it opened her post (the link) or named her (the id, through our
# Graph token); `_without_anonymous_posts` leaves them out of such a report.
COMMENTED_POST_KEYS = ("media_id", "permalink")

Clock = Callable[[], float]
# Asked by a poll round before each fetch (a page, a lookup): False ends the round there, because this process no
# longer holds its account's lease (gateway.lease.RoundCheck). What the round made durable stays.
GoOn = Callable[[], bool]


def unleased() -> bool:
    """The `GoOn` of a round polled without a lease (a poller driven directly): every fetch goes on."""
    return True

# Leading @handles (X: 15 characters, Instagram: 30, with dots), the first one also as a "dot mention" (`.@lapor1708
# ...`, X's old habit of a dot before the handle so that followers see the post): left in, it kept everything after
# it from being read as leading keywords, so `.@lapor1708 ANONIM ...` was a named report (the whistleblower's handle
# sent to the case store) and `.@lapor1708 CEK <id>` a new report.
# The dot is read with the spaces after it (`\s*(?:\.\s*)?`): `\s*\.?\s*` took time quadratic in a text's leading
# spaces (a post of 25,000 spaces: seconds of the poller's time).
# Between and before the handles, a space is also any invisible mark a keyboard or a paste puts there (the right-to-left
# mark of an Arabic-script keyboard, a directional isolate, a byte order mark, a zero-width space: the format characters
# `normalizer.text.clean_text` removes), and the at sign is also X's fullwidth one (`＠`, which X takes for a mention):
# read as words, `\u200f@lapor1708 @dishub jalan rusak` kept both handles at the head of the report.
_SPACES = rf"\s{INVISIBLE_FORMAT}"
# The at signs X takes for a mention (`channels.x_mentions` replaces a reporter's handle written with either).
AT_SIGN = "[@\uff20]"
# The marks people put between our handle and their words ("@lapor1708 — ANONIM ...", "@lapor1708! ANONIM",
# "@lapor1708 | ANONIM", "@lapor1708 ... ANONIM", "@lapor1708 & @pemkot ANONIM", and the fullwidth forms): left at the
# head of the text, each kept ANONIM from being read as a leading keyword, and the whistleblower's report went named,
# their handle and user id sent to the case store. Not a mark the grammar reads ("#", quotes, brackets, "*"), nor "+"
# (a number's: "+62 812 ..."), nor a lone "." (a handle's own character).
_JOINING = (r"!;?/|&\u00a1\u00a6\u00b7\u2010-\u2015\u2022\u2026\u203c\u2212\u3002\ufe0f\uff01\uff0c\uff1a\uff1b"
            r"\uff1f\uff5c")
# Marks that point at what follows ("@lapor1708 → @kades_sukamaju minta setoran", "@lapor1708 >> ANONIM"): read past
# after the last handle; a handle after one is whom the report is about, and stays (read past, it was lost), but
# where the words after it read otherwise without it ("@lapor1708 >> @pemkot ANONIM ...": `strip_leading_mentions`).
_ARROWS = r"\u00bb\u203a\u2192\u21d2\u25b6\u25ba\u27a1"
# Marks that may say something of a number after them ("~3 km", "= 3 jam", ">5 orang", "=))"): read past only
# before anything else ("@lapor1708 => ANONIM", "@lapor1708 ~ ANONIM").
_NUMBER_MARK = rf"[~=>\uff1e](?![{_SPACES}]*[\d)])"
# Dots not glued to a word after them ("@lapor1708. ANONIM", "@lapor1708.: ANONIM", "@lapor1708 ... ANONIM";
# "...jalan rusak" is the citizen's).
_DOTS = r"\.+(?![\w.])"
_BETWEEN = rf"(?:[{_SPACES}:,\-{_JOINING}]|{_DOTS})"
_AFTER_LAST = rf"(?:[{_SPACES}:,\-{_JOINING}{_ARROWS}]|{_NUMBER_MARK}|{_DOTS})"
_GAP = f"[{_SPACES}]"
# A handle: up to 30 word characters, a dot between two of them (Instagram's): never two dots running, nor one
# ending it ("@pemkot...jangan sebut nama saya" took "...jangan" for the handle's, and the report went named).
_AT_HANDLE = rf"{AT_SIGN}\w(?:\w|\.(?=\w)){{0,29}}"


def _leading(handle: str, between: str) -> re.Pattern[str]:
    """Leading handles (`handle`), a dot before the first, `between` marks between them, `_AFTER_LAST` after."""
    one = rf"{handle}{between}*"
    return re.compile(rf"^{_GAP}*(?:\.{_GAP}*)?{one}(?:{_GAP}*{one})*{_AFTER_LAST}*", re.IGNORECASE)


LEADING_MENTIONS = _leading(_AT_HANDLE, _BETWEEN)


def strip_leading_mentions(text: str, own_handle: str | None = None) -> str:
    """`@lapor1708 @pemkot LAPOR jalan rusak` -> `LAPOR jalan rusak` (mentions inside the text stay).

    With `own_handle`, our handle without its `@` counts as a leading mention too: the Graph API returns captions
    and comments that mention the account without the `@`, so `lapor1708 CEK 123` must read as `CEK 123`.
    A handle after a pointing mark stays, but where the words after it read otherwise without it ("@lapor1708 >>
    @pemkot ANONIM ...": left in, the whistleblower's report went named; "... >> @pemkot CEK <id>" a new report)."""
    kept, through = _mention_patterns(own_handle.lstrip("@") if own_handle else None)
    stripped = kept.sub("", text, count=1).strip()
    if not stripped.startswith(("@", "\uff20")):  # no handle after a pointing mark (nearly every post)
        return stripped
    further = through.sub("", text, count=1).strip()
    return further if _reads_otherwise(further, stripped) else stripped


@lru_cache(maxsize=8)
def _mention_patterns(own: str | None) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The leading mentions (with our own handle without its `@`, `own`), and the same read through pointing marks
    between handles too; compiled once per handle."""
    # A dot after the bare handle ends its sentence ("lapor1708. ANONIM ...", as the Graph API gives "@lapor1708.
    # ANONIM ..."): left in, ANONIM was not read, and the report went named. After an `@` handle, `_DOTS` takes it.
    handle = rf"(?:{_AT_HANDLE}|{re.escape(own)}(?!\w)(?!\.\w)\.?)" if own else _AT_HANDLE
    return _leading(handle, _BETWEEN), _leading(handle, _AFTER_LAST)


def _reads_otherwise(further: str, stripped: str) -> bool:
    """Whether the grammar reads `further` otherwise than `stripped` (a keyword, a command, an ID, a flag), as the
    pipeline reads a text (cleaned), and never with a flag fewer. An anonymity word glued to a mark ("ANONIM)...")
    is read the same with the handle or without it (`glued_anonymity`): it decides nothing here."""
    wider = parse_text(clean_text(further), glued_anonymity=False)
    narrower = parse_text(clean_text(stripped), glued_anonymity=False)
    if (narrower.anonymous and not wider.anonymous) or (narrower.confidential and not wider.confidential):
        return False
    return (wider.action, wider.tracking_id, wider.explicit_kind and wider.kind, wider.anonymous,
            wider.confidential) != (narrower.action, narrower.tracking_id, narrower.explicit_kind and narrower.kind,
                                    narrower.anonymous, narrower.confidential)


class ProviderErrorKind(StrEnum):
    """How a provider failed, and so what the poller does about it."""

    AUTH = "auth"  # channel down: log channel.auth_failed, retry slowly (auth_retry_seconds)
    RATE_LIMIT = "rate_limit"  # log channel.rate_limited, wait until the provider's reset time
    SERVER = "server"  # 5xx, timeouts, connection errors: log channel.provider_error, retry with backoff
    BAD_PAYLOAD = "bad_payload"  # an unreadable page: log channel.bad_payload, retry later; a bad item is skipped


LOG_EVENTS = {
    ProviderErrorKind.AUTH: "channel.auth_failed",
    ProviderErrorKind.RATE_LIMIT: "channel.rate_limited",
    ProviderErrorKind.SERVER: "channel.provider_error",
    ProviderErrorKind.BAD_PAYLOAD: "channel.bad_payload",
}


class ProviderError(GatewayError):
    """A classified provider failure. `retry_at` (epoch seconds) is the provider's own reset time if it gave one."""

    def __init__(self, kind: ProviderErrorKind, detail: str = "", *, status: int | None = None,
                 retry_at: float | None = None, duplicate: bool = False, code: int | None = None,
                 gone: bool = False, restricted: bool = False, unsupported: bool = False,
                 reason: str | None = None) -> None:
        # `reason`: when the kind alone would not tell an operator what failed (a reply's dead letter names it).
        super().__init__(detail, reason=reason or kind.value)
        self.kind = kind
        self.status = status
        # The provider's own error code when it gave one (the Graph API's `error.code`).
        self.code = code
        self.retry_at = retry_at
        # The provider refused a post as a copy of one already made (X: 403 "duplicate content").
        self.duplicate = duplicate
        # The post or comment a reply answers is deleted or hidden from us (X: 403 "deleted or not visible"; Graph:
        # code 100, subcode 33): nothing is wrong with our account, and no later attempt can reach it.
        self.gone = gone
        # The post a reply answers is in a conversation whose author restricted who can reply (X: 403 "Reply to this
        # conversation is not allowed", legacy code 433): as for `gone`, nothing is wrong with our account, and no later
        # attempt gets through.
        self.restricted = restricted
        # The request names a field or edge the API does not have (Graph: code 100 "Tried accessing nonexisting
        # field"): asking again gets the same answer.
        self.unsupported = unsupported


@dataclass
class Backoff:
    """When to poll next after a failure, by kind; doubles for repeated server errors.

    A rate limit waits for the provider's reset, but never longer than `rate_limit_max_seconds`: a reset far ahead
    (a clock-skewed, buggy or hostile answer: 103,775,290 s was seen) slept the poller that long, the channel stuck
    until a restart. Asking too early costs one more 429. A reset already past takes the backoff of a server error."""

    error_seconds: float
    auth_seconds: float
    max_seconds: float
    clock: Clock = time.time
    rate_limit_max_seconds: float = field(kw_only=True)
    _failures: int = 0

    def after_success(self) -> None:
        self._failures = 0

    def after_error(self, error: ProviderError) -> float:
        self._failures += 1
        if error.kind is ProviderErrorKind.AUTH:
            return self.auth_seconds
        asked = self.reset_wait(error)
        if asked is not None:
            return min(asked, self.rate_limit_max_seconds)
        return min(self.max_seconds, self.error_seconds * 2 ** (self._failures - 1))

    def reset_wait(self, error: ProviderError) -> float | None:
        """`reset_wait` on this backoff's clock."""
        return reset_wait(error, self.clock())


def reset_wait(error: ProviderError, now: float) -> float | None:
    """The wait a rate limit's reset asks for (to it, and a second more), uncapped; None for another error, without
    a reset, or with one not ahead of `now`. A poller and a reply worker each cap it at the channel's
    `rate_limit_max_wait_seconds`."""
    if error.kind is not ProviderErrorKind.RATE_LIMIT or error.retry_at is None:
        return None
    wait = error.retry_at - now + 1
    return wait if wait > 1 else None


def auth_refusal(error: ProviderError) -> str:
    """What a provider refused in an authentication error (`gateway.health.signals.AUTH_REFUSALS`), which says what an
    operator mends: the token itself (401; the Graph API's codes 190 and 102, an invalid or expired token or session),
    a permission or scope it lacks (403; Graph codes 10 and 200-299), or the account polled (X: 404, or a 200 whose
    errors say the account cannot be read)."""
    code = error.code
    if error.status == 401 or code in (102, 190):
        return "token"
    if error.status == 403 or code == 10 or (code is not None and 200 <= code <= 299):
        return "permission"
    return "account" if error.status in (200, 404) else "token"


def failure_kind(error: ProviderError) -> str:
    """The kind of failure (`gateway.health.signals.REPLY_FAILURES`) a provider error is, as a failed reply's reason
    words it and its step follows: what an authentication error refused (`auth_refusal`), a plan's usage cap used up
    (X's 429 `UsageCapExceeded`, put off as a rate limit is, but no window's reset ends it: its step said to send
    fewer), a rate limit, a server error, or for an error with no answer its type's (`ReadTimeout`: a timeout,
    `SSLError`: TLS, `ConnectionError`: no connection); a refusal of the post itself otherwise. An Instagram reply
    held because an earlier attempt may have posted it and its lookup could not tell (`reply_unverified`) is that,
    whatever the lookup's last answer was: a full page of others read "no connection", a lookup's 5xx "server error"."""
    if error.kind is ProviderErrorKind.AUTH:
        return auth_refusal(error)
    if error.reason == "usage_cap":  # channels.x_mentions.USAGE_CAP
        return "usage_cap"
    if error.reason == "reply_unverified":  # workers.social_reply._unverified
        return "unverified"
    if error.kind is ProviderErrorKind.RATE_LIMIT:
        return "rate_limit"
    if error.kind is ProviderErrorKind.SERVER:
        if error.status is not None:
            return "server"
        return "timeout" if "Timeout" in error.detail else "tls" if "SSL" in error.detail else "unreachable"
    return "refused"


def signal_poll_error(signals: HealthSignals, channel: str, error: ProviderError,
                      until: float | None = None, retry_at: float | None = None, where: str | None = None) -> None:
    """What a provider error means for the channel's health (auth: down; rate limit: `until` the poller asks again,
    when it knows). The reason is what the provider answered (`503 Service Unavailable`) or why nothing did
    (`ConnectionError`), not only the error's kind: "server" did not tell an outage at X from a network that no
    longer reaches it; with `where` (the host polled, `gateway.health.signals.endpoint`), said as the IMAP poller says
    it (`api.x.com answered 503 Service Unavailable`, `ConnectionError talking to api.x.com`: `poll_failure`)."""
    target = health_channel(channel)
    if error.kind is ProviderErrorKind.AUTH:
        # Named as a failing poll's: "api.x.com answered 401 Unauthorized" (the status alone did not say which host
        # of which setting refused).
        what = error.detail[:120] or "authentication failed"
        reason = poll_failure(where, what, answered=error.status is not None) if where else what
        signals.auth_failed(target, reason, refusal=auth_refusal(error), retry_at=retry_at)
    elif error.kind is ProviderErrorKind.RATE_LIMIT:
        signals.rate_limited(target, until=until)
    else:
        what = error.detail[:120] or error.kind.value
        # An error with a status is an answer (a 200 too: a page that could not be read); without one nothing came.
        reason = poll_failure(where, what, answered=error.status is not None) if where else what
        signals.poll_failed(target, reason, retry_at=retry_at)


def log_provider_error(channel: str, error: ProviderError, delay: float) -> None:
    """What failed and when the poller tries again. No channel state: the health rules give one only after their
    thresholds (a 429 degrades the channel after `rate_limited_degraded_seconds`), and `channel.health` logs it."""
    level = log.error if error.kind in (ProviderErrorKind.AUTH, ProviderErrorKind.BAD_PAYLOAD) else log.warning
    level(LOG_EVENTS[error.kind], channel=channel, kind=error.kind.value, status=error.status,
          detail=error.detail[:200], retry_in_seconds=round(delay, 1))


def after_poll_error(channel: str, signals: HealthSignals, backoff: Backoff,
                     error: ProviderError | NotDurable | RedisError, where: str | None = None) -> float:
    """Seconds until the next poll after a failed one, logged and signalled the same way for every poller: a
    provider error by its kind, a report that could not be made durable (or given a Tracking ID) as
    `channel.not_durable` and an intake refusal with its reason: the provider answered, intake did not take it.
    `where`: the host the poller polls (`gateway.health.signals.endpoint`), which a failing poll's reason names."""
    if isinstance(error, ProviderError):
        asked = backoff.reset_wait(error)
        delay = backoff.after_error(error)
        log_provider_error(channel, error, delay)
        # Against the longest wait, not the delay: the clock moves between the two readings of the reset, and every
        # 429 with a reset well within it was logged as capped (the warning for a skewed clock or broken answer).
        capped = asked is not None and asked > backoff.rate_limit_max_seconds
        if capped:
            log.warning("channel.rate_limit_wait_capped", channel=channel, reset_at=_utc(error.retry_at or 0),
                        retry_in_seconds=round(delay, 1))
        # The provider's reset when it is ahead and waited for; none when it is past (or before the year 1, which
        # the views could not print): the channel is rate limited until a poll gets through.
        until = (backoff.clock() + delay if capped else error.retry_at) if asked is not None else None
        signal_poll_error(signals, channel, error, until=until, retry_at=backoff.clock() + delay, where=where)
        return delay
    delay = backoff.after_error(ProviderError(ProviderErrorKind.SERVER, type(error).__name__))
    reason = error.reason if isinstance(error, NotDurable) else "redis_unavailable"
    signals.intake_refused(health_channel(channel), reason)
    log.error("channel.not_durable", channel=channel, reason=reason, error=type(error).__name__,
              retry_in_seconds=delay)
    return delay


def _utc(timestamp: float) -> str:
    """A provider's reset time for a log line: as a date (seconds from now of nine digits would read as a phone
    number and be redacted), and said in words past what a date can hold."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return "after the year 9999"


def after_poll_success(channel: str, signals: HealthSignals, backoff: Backoff) -> None:
    backoff.after_success()
    signals.poll_succeeded(health_channel(channel))


class PollProgress:
    """A poller's cursor and the state of its unfinished walk, as one JSON object under one Redis key.

    Saved after every page (and read back at the next poll), so a poller stopped midway resumes where it was; a
    save that fails raises NotDurable, and the poller retries from the cursor it last saved. Every save writes all
    of the poller's `fields` (a field not given is null); empty values are not read back."""

    def __init__(self, redis: Redis, key: str, fields: Sequence[str]) -> None:
        self._redis = redis
        self.key = key
        self.fields = tuple(fields)

    def load(self) -> dict[str, Any]:
        raw = self._redis.get(self.key)
        return {name: value for name, value in orjson.loads(raw).items() if value} if raw else {}

    def save(self, **state: str | float | list[str] | None) -> None:
        unknown = set(state) - set(self.fields)
        if unknown:  # a misspelt field would be saved and never read back: the cursor would stay where it was
            raise TypeError(f"not a field of {self.key}: {', '.join(sorted(unknown))}")
        try:
            self._redis.set(self.key, orjson.dumps({name: state.get(name) for name in self.fields}))
        except RedisError as error:
            raise NotDurable("cursor not saved", reason="redis_unavailable") from error


def _count(messages: Sequence[InboundMessage], refused: list[tuple[str, str]], queries: list[tuple[str, str]],
           reports: list[tuple[str, bool]]) -> None:
    """The channel counters the webhooks and the SMTP server keep too (received, accepted, duplicate, rejected,
    queries), for a batch once it is taken whole: a page polled again after a failure is not counted twice."""
    for message in messages:
        metrics.RECEIVED.labels(message.source).inc()
    for source, reason in refused:
        metrics.REJECTED.labels(source, reason).inc()
    for source, action in queries:
        metrics.QUERIES.labels(source, action).inc()
    for source, duplicate in reports:
        (metrics.DUPLICATES if duplicate else metrics.ACCEPTED).labels(source).inc()


def _answers_last(messages: Sequence[InboundMessage]) -> tuple[list[InboundMessage], list[InboundMessage]]:
    """The batch's messages that answer or quote none of the others (`replied_to`, `quoted_post`, `own_posts`) nor
    answer in a thread one of the others began (`_thread_root`) or answered (`thread_parents`), and those that do: a
    named answer to an anonymous addition of the same page, taken with it, carried its words and address (the
    addition not yet filed, nothing said it was anonymous)."""
    ids = {message.provider_message_id for message in messages}
    first: list[InboundMessage] = []
    later: list[InboundMessage] = []
    for message in messages:
        referenced = {*message.own_posts, *message.thread_parents, message.replied_to, message.quoted_post}
        answers = ids.intersection(referenced)
        (later if answers or _thread_root(message) in ids else first).append(message)
    return first, later


def _thread_root(message: InboundMessage) -> str | None:
    """The post that began the conversation an answer is in (X's `conversation_id`, `channel_meta`), when the answer is
    not to that post itself; None for a post that answers nothing, or answers the first post."""
    root = message.channel_meta.get("conversation_id")
    if not message.replied_to or not isinstance(root, str) or root in (message.provider_message_id,
                                                                          message.replied_to):
        return None
    return root


@dataclass(frozen=True, slots=True)
class Continued:
    """The report a message goes on with (`follow_up_of`), and the privacy flags of the sender's own post it goes on
    from when that post added to a report (it named the report's Tracking ID): a whistleblower's `#anonim` mention
    naming another's report is an anonymous addition to it, and her answer under that mention adds to it anonymously
    too. The report's own flags are added by the follow-up steps."""

    report: str
    anonymous: bool = False
    confidential: bool = False


@dataclass(frozen=True, slots=True)
class Filed:
    """What a post of the channel filed (`tracking_id`, a report or an addition to one) and its envelope (None once
    it is gone or damaged)."""

    tracking_id: str
    envelope: dict[str, Any] | None

    @property
    def continued(self) -> Continued:
        """The report to add to: the one the post filed, or the one it added to, with the post's own flags."""
        if self.envelope is None:
            return Continued(self.tracking_id)
        parent = self.envelope.get("follow_up_of")
        report = parent if isinstance(parent, str) and parent else self.tracking_id
        return Continued(report, self.envelope["anonymous"], self.envelope["confidential"])


# In a reply target: the reply opens with the @username of its comment's author, looked up when it is sent
# (workers.social_reply), never carried in the job. Set for a comment under our own Instagram post that replies in a
# thread (its `thread`, the top-level comment, is not the comment itself): Meta adds our reply to the top-level comment
# ("You can only reply to top-level comments; replies to a reply will be added to the top-level comment"), which tells
# the thread's starter, not the reporter, unless our text names them (as Instagram's own app does). Never for an
# anonymous report: our comment would keep their handle beside the Tracking ID even once they deleted theirs.
NAME_AUTHOR = "name_author"


def name_author(target: dict[str, str], named: bool) -> dict[str, str]:
    """`target` marked NAME_AUTHOR when `named` and it is a reply in another comment's thread (see NAME_AUTHOR)."""
    thread = target.get("thread")
    if named and thread and thread != target.get("comment_id"):
        return {**target, NAME_AUTHOR: "1"}
    return target


@dataclass(frozen=True, slots=True)
class ReplyJob:
    """One public reply to queue: where it goes, which text key, and which Tracking ID it carries."""

    channel: str
    provider_id: str
    target: dict[str, str]
    reply_key: str
    tracking_id: str | None
    language: str
    # The number a citizen gave as a Tracking ID, which the reply repeats (public in their mention already): one
    # whose check failed (`social_bad_tracking_id`, `social_bad_tracking_id_photo`) or that was never issued
    # (`social_follow_up_unknown`).
    typed_id: str | None = None
    # Who the reply goes to (`kind:id`), for the cap per account only: never in the job's arguments.
    sender: str = ""
    # Why no reply can be posted where the mention is (`channel_meta.unanswerable`: an Instagram post that tags the
    # account without naming it, `tagged_only`); None when one can.
    unanswerable: str | None = None

    def args(self) -> tuple[Any, ...]:
        """The job's arguments; the typed number only when there is one (without it, the five an older worker
        takes)."""
        return (self.channel, self.target, self.reply_key, self.tracking_id, self.language,
                *([self.typed_id] if self.typed_id else []))


class MentionIntake:
    """Normalize mentions, make their reports durable, queue one public reply per mention."""

    def __init__(self, redis: Redis, settings: Settings, intake: Intake, reply_target: Callable[
            [InboundMessage], dict[str, str]]) -> None:
        self._redis = redis
        self._settings = settings
        self._intake = intake
        self._reply_target = reply_target
        self._signals = HealthSignals(redis)
        self._ask_casestore = casestore_lookup_now(settings)

    def take(self, messages: Sequence[InboundMessage], *, keep_unfiled: bool = True) -> list[ReplyJob]:
        """Durable when it returns (raises NotDurable or RedisError otherwise). Returns the replies it queued. The
        mentions' words and authors are kept out of every log line until the poller's round ends (`run_poller`).

        A batch that raises anything else (a bug some message's words or form met) is taken again one message at a
        time, and the one that raises alone is kept unfiled (`gateway.unfiled`) unless `keep_unfiled` is False (an
        operator's retry, which wants the error): before, it raised in every round, and its batch, with every mention
        after it, was never filed. Those the batch filed before it raised are found by intake's dedup: one report,
        one reply.

        A mention that goes on under another of the batch by its sender (see InboundMessage.own_posts) is taken after
        it, once that one's report is stored: taken together, it was a report of its own (named, a whistleblower's
        answer under their #anonim mention of the same page). Each part is a batch of its own: the answers raising,
        those they answer are not taken again (counted, and logged as duplicates, a second time)."""
        first, later = _answers_last(messages)
        if later and first:  # (posts that answer each other, which X never gives: at once)
            return self.take(first, keep_unfiled=keep_unfiled) + self.take(later, keep_unfiled=keep_unfiled)
        round_context = message_context()
        try:
            return self._take(messages)
        except (NotDurable, RedisError):
            raise
        except Exception as error:
            if not keep_unfiled:
                raise
            # The batch may have raised while answering a report it stored: that report's context (its Tracking ID)
            # is no longer the message in hand's, nor the round's (its channel, bound by the poller, is).
            restore_message_context(round_context)
            if len(messages) > 1:
                return [job for message in messages for job in self.take([message])]
            self.keep_unfiled(messages[0], error)
            return []

    def keep_unfiled(self, message: InboundMessage, error: Exception) -> None:
        """Keep a message the gateway failed to file, say so in every view, and let the poller go on past it."""
        channel = health_channel(message.source)
        kept = UnfiledMessages(self._redis).keep(channel, message, error, time.time())
        log.error("message.unfiled", channel=message.source, error=kept.error, where=kept.where)
        metrics.RECEIVED.labels(message.source).inc()
        metrics.UNFILED.labels(message.source).inc()
        self._signals.message_unfiled(channel, kept.reason)

    def _take(self, messages: Sequence[InboundMessage]) -> list[ReplyJob]:
        """`take`, for a batch whose every message can be filed, none answering another (see `take`)."""
        add_sensitive_values(*[value for message in messages for value in message.personal_values()])
        round_context = message_context()
        jobs: list[ReplyJob] = []
        drafts = []
        ask_casestore = until_unanswered(self._ask_casestore)  # one wait for the page while the case store hangs
        # Per draft: its message, its language, and the ID it named when that was never minted (a new report then).
        draft_messages: list[tuple[InboundMessage, str, str | None]] = []
        # Per draft: the ID as typed when it is a photo filed as a new report because that ID was mistyped.
        mistyped: list[str | None] = []
        # (source, label) of the mentions that were refused or were queries, counted once the batch is taken.
        refused: list[tuple[str, str]] = []
        queries: list[tuple[str, str]] = []
        # Per draft: whether it continues a report by answering our reply in its thread.
        threads: list[bool] = []
        # Per draft: whether it is an edit of a mention filed before, added to that report unanswered.
        edits: list[bool] = []
        # Per draft: its same-text window (`_same_text_window`), None for one never a repeat.
        windows: list[SameTextWindow | None] = []
        for message in messages:
            try:
                normalized = normalize(message, default_region=self._settings.sms.default_region,
                                       shortest_id=self._settings.intake.shortest_tracking_id,
                                       max_text_chars=self._settings.intake.max_text_chars)
            except RejectedInput as error:
                log.warning("mention.rejected", channel=message.source, reason=error.reason)
                refused.append((message.source, error.reason))
                continue
            if normalized.query is not None:
                action, asked = normalized.query.action, normalized.query.tracking_id
                if action is Action.STATUS_HELP and (continued := self._thread_report(message, sender_of(message))):
                    # "@lapor1708 cek" under our reply to the asker's report asks that report's status: it was
                    # answered with help asking for the Tracking ID the thread holds.
                    action, asked = Action.STATUS, continued.report
                if action in UNANSWERED:  # a public thank-you or "STOP" is left unanswered
                    log.info(f"message.{action.value}", channel=message.source, reason=UNANSWERED[action])
                else:
                    jobs.append(self._query_reply(message, action, asked, normalized.language))
                queries.append((message.source, action.value))
                continue
            assert normalized.draft is not None
            draft, unknown_parent = normalized.draft, None
            edited = None if draft.follow_up_of else self._edited_report(message)
            threaded = None if edited or draft.follow_up_of else self._thread_report(message, draft.sender)
            if threaded and _only_own_posts(message):
                draft = self._without_own_quotes(message, draft)
            if continued := edited or threaded:
                # The flags of the sender's own post it goes on from come with it, as the report's do (below)
                draft = with_parent_flags(draft.model_copy(update={"follow_up_of": continued.report}),
                                          continued.anonymous, continued.confidential)
            elif message.own_post_anonymous and not draft.anonymous:
                # Their own anonymous mention answered, its report out of reach (its claim expired): a report of its
                # own, the anonymous words quoted in it, went named, the handle beside them.
                draft = draft.model_copy(update={"anonymous": True})
            if draft.follow_up_of:  # adding to an anonymous report stays anonymous; unknown flags: anonymous too
                parent = draft.follow_up_of
                draft, unknown = resolve_follow_up_now(self._redis, draft, self._settings.intake.id_range,
                                                       self._intake.holds_unminted, ask_casestore)
                unknown_parent = parent if unknown else None
            if not draft.anonymous:  # what it answers or quotes on its page is filed first (_answers_last)
                draft = self._without_anonymous_posts(message, draft)
            elif message.quoted_text and not message.channel_meta.get("username"):
                draft = _without_others_posts(message, draft)
            drafts.append(draft)
            draft_messages.append((message, normalized.language, unknown_parent))
            mistyped.append(normalized.mistyped_id)
            threads.append(threaded is not None)
            edits.append(edited is not None)
            windows.append(None if unknown_parent or normalized.mistyped_id else self._same_text_window(message, draft))
        receipts = self._intake.commit_texts(drafts, windows) if drafts else []
        reported = {message.source for (message, _, _), receipt in zip(draft_messages, receipts, strict=True)
                    if not receipt.duplicate}
        for source in {message.source for message in messages}:
            self._signals.message_received(source, report=source in reported)
        for draft, (message, language, unknown_parent), receipt, threaded, edit, mistyped_id in zip(
                drafts, draft_messages, receipts, threads, edits, mistyped, strict=True):
            bind_message_context(channel=message.source, tracking_id=receipt.tracking_id)
            if unknown_parent:
                log.info("message.follow_up_unknown", reason="no_such_report", follow_up_of=unknown_parent)
            log.info("message.accepted", channel=message.source, tracking_id=receipt.tracking_id,
                     kind=draft.kind.value, duplicate=receipt.duplicate, follow_up_of=draft.follow_up_of,
                     anonymous=draft.anonymous, **({"thread": True} if threaded else {}),
                     **({"edit": True} if edit else {}))
            if edit:  # its first version's reply, under the same post, gave the Tracking ID
                continue
            if receipt.same_text:  # the same mention posted again: the first one's report (`_same_text_window`)
                log.info("message.same_text", reason="same_text_window")
                jobs.append(self._job(message, "social_duplicate", receipt.tracking_id, language,
                                      named=not draft.anonymous))
            elif draft.follow_up_of:
                jobs.append(self._job(message, "social_follow_up", draft.follow_up_of, language,
                                      named=not draft.anonymous))
            elif unknown_parent:
                jobs.append(self._job(message, "social_follow_up_unknown", receipt.tracking_id, language,
                                      unknown_parent, named=not draft.anonymous))
            elif mistyped_id:
                jobs.append(self._job(message, "social_bad_tracking_id_photo", receipt.tracking_id, language,
                                      mistyped_id, named=not draft.anonymous))
            else:
                jobs.append(self._job(message, "social_ack", receipt.tracking_id, language,
                                      named=not draft.anonymous))
        queued = self._queue_replies(jobs)
        restore_message_context(round_context)
        _count(messages, refused, queries, [(m.source, r.duplicate) for (m, _, _), r in zip(
            draft_messages, receipts, strict=True)])
        return queued

    def _same_text_window(self, message: InboundMessage, draft: ReportDraft) -> SameTextWindow | None:
        """The same mention from the same account within the channel section's `same_text_window_seconds` is one
        report (`gateway.same_text`, as by SMS): a citizen whose mention got no answer yet posts it again (or a client
        posts it twice), and it was filed as a second report, a second case at the agency, answered in public with a
        second Tracking ID. The repeat is the first one's report, answered `social_duplicate` with its Tracking ID.
        The same words and flags (`#anonim` again an anonymous report; the same words without it another report),
        the same account. None (never a repeat, nor one to repeat) for an addition (an edit, an answer in a report's
        thread, a Tracking ID named), a mention that quotes or answers a post (its words are another's too), and,
        by the rule of `gateway.same_text`, one with a photo or video (the provider's URLs, bytes never seen)."""
        if draft.follow_up_of or message.channel_meta.get("edit_of") or message.quoted_post or message.replied_to \
                or message.quoted_text or message.own_posts:
            return None
        section = self._settings.x if message.channel is Channel.TWITTER else self._settings.instagram
        return message.source, section.same_text_window_seconds

    def _edited_report(self, message: InboundMessage) -> Continued | None:
        """The report an edit continues: the one its latest earlier version filed (`channel_meta.edit_of`, X), or the
        report that version added to. X gives an edited post a new id, and the edit ("jalan rusak di Jl. Dago no. 5,
        bukan no. 3") was filed as a second report and answered with a second Tracking ID in public. None when no
        earlier version was filed (never read, or a query, a thank-you, refused): the edit is taken as any mention."""
        earlier = message.channel_meta.get("edit_of")
        if not isinstance(earlier, list | tuple):
            return None
        filed = self._filed(message, reversed(earlier))
        return filed.continued if filed else None

    def _filed(self, message: InboundMessage, post_ids: Iterable[object]) -> Filed | None:
        """What the first of `post_ids` (posts of this channel) filed, a report or an addition to one, with the
        report to add to; None when none of them filed anything (never read, a query, a thank-you, refused)."""
        for post_id in post_ids:
            tracking_id, state = self._redis.hmget(dedup_key(message.channel.value, str(post_id)), "id", "state")
            if tracking_id is None or state != b"committed":  # a claim not yet stored: no report to add to
                continue
            filed = tracking_id.decode()
            return Filed(filed, stored_envelope(self._redis, filed, message.source))
        return None

    def _thread_report(self, message: InboundMessage, sender: Sender) -> Continued | None:
        """The report this message continues by answering our reply to it, in the thread or quoting it (X), written
        by that report's own sender, or by answering or quoting the sender's own mention that filed a report (a thread
        of theirs: filed as a report of its own, a whistleblower's answer under their #anonim mention went named, the
        anonymous words quoted in it); None when it answers or quotes neither, or is someone else's (one naming a
        Tracking ID itself is not asked: `<id> text` wins). It then goes through the same follow-up steps as `<id>
        text` (the report's flags), and a status question without an ID there asks that report's status. On
        Instagram, which does not say which comment a comment answers: a comment on the post where we answered that
        sender's report (gateway.followups.post_thread_report)."""
        if message.replied_to or message.quoted_post:
            for post_id in filter(None, (message.replied_to, message.quoted_post)):
                report = thread_report(self._redis, message.channel.value, post_id, sender)
                if report:
                    return Continued(report)
            # An answer to (or a quote of) the sender's own mention goes on with the report it filed: X names the
            # post's author, so no envelope is needed to tell it is theirs (see InboundMessage.own_posts).
            own = self._filed(message, message.own_posts)
            return own.continued if own else self._thread_root_report(message, sender)
        if message.commented_on:
            report = post_thread_report(self._redis, message.channel.value, message.commented_on, sender,
                                        message.provider_message_id)
            return Continued(report) if report else None
        return None

    def _thread_root_report(self, message: InboundMessage, sender: Sender) -> Continued | None:
        """The report the sender's own post up this answer's thread filed: the post that the one it answers (a
        neighbour's answer, our reply) answers in turn (`thread_parents`), or the mention that began the conversation
        (`_thread_root`), each read from its envelope as theirs. Their answer to a neighbour under that mention comes
        as a mention too, X putting the thread's handles before it ("@budi_bdg @lapor1708 iya, kejadian lagi"): filed
        as a report of its own, the case doubled, a second Tracking ID was answered in public, and under an #anonim
        mention it went named. None for anyone else's answer there (a report of its own), or once that report is gone.

        The sender is told by what the post itself filed: when it added to another's report (it named that report's
        Tracking ID), the addition's envelope is the post's, and the other report's sender is not hers. An #anonim
        addition posted inside another's thread (under the post our public reply gave its Tracking ID) has that
        thread's first post as its conversation: only the step up the thread finds it, and her answer under it went
        named, as a new report."""
        root = _thread_root(message)
        for post_id in dict.fromkeys([*message.thread_parents, *([root] if root else [])]):
            filed = self._filed(message, [post_id])
            if filed is not None and filed.envelope is not None and sent_by_reports_sender(filed.envelope, sender):
                return filed.continued
        return None

    def _without_anonymous_posts(self, message: InboundMessage, draft: ReportDraft) -> ReportDraft:
        """A named report without the posts it quotes or answers that filed an anonymous report or addition (their
        mark alone stays: no address, no words), nor such a post as its conversation's first, nor as the post it
        comments on (`channel_meta`: an Instagram comment's `media_id` and `permalink`; its reply is addressed from
        the comment as it came, `reply_target`, and still goes under it). The
        address opens the post, which names its author, and the words match the anonymous report's own text: a named
        report answering a whistleblower's #anonim mention handed the case store both. A post whose dedup record
        stands but whose envelope is gone is taken as anonymous: nothing says it was not. The sender's own posts
        are marked without an address already (channels.x_mentions.quoted_posts)."""
        root = message.channel_meta.get("conversation_id")
        candidates = {post for post in (message.replied_to, message.quoted_post, root, message.commented_on)
                      if isinstance(post, str) and post and post != message.provider_message_id}
        anonymous = {post for post in candidates - set(message.own_posts)
                     if self._filed_anonymous(message, post)}
        if not anonymous:
            return draft
        update: dict[str, Any] = {"text": without_quoted_posts(draft.text, anonymous)}
        gone = {"conversation_id"} if root in anonymous else set()
        if message.commented_on in anonymous:
            gone.update(COMMENTED_POST_KEYS)
        if gone:
            update["channel_meta"] = {key: value for key, value in draft.channel_meta.items() if key not in gone}
        return draft.model_copy(update=update)

    def _filed_anonymous(self, message: InboundMessage, post_id: str) -> bool:
        """Whether post `post_id` filed an anonymous report or addition (or one whose envelope is gone)."""
        filed = self._filed(message, [post_id])
        return filed is not None and (filed.envelope is None or bool(filed.envelope.get("anonymous")))

    def _without_own_quotes(self, message: InboundMessage, draft: ReportDraft) -> ReportDraft:
        """An addition by answering the sender's own mention, without that mention quoted again (the report it filed
        holds it): the words alone, unless they alone are no report ("@lapor1708" under it: the quote stays)."""
        again = normalize(replace(message, quoted_text=None), default_region=self._settings.sms.default_region,
                          shortest_id=self._settings.intake.shortest_tracking_id,
                          max_text_chars=self._settings.intake.max_text_chars)
        return draft if again.draft is None else draft.model_copy(update={"text": again.draft.text})

    def _query_reply(self, message: InboundMessage, action: Action, tracking_id: str | None,
                     language: str) -> ReplyJob:
        log.info("message.query", channel=message.source, action=action.value)
        # A query's answer never names its asker: the report asked about may be anonymous, and a mistyped ID (even
        # in `#anonim CEK <id>`) is one keystroke from the Tracking ID it meant.
        if action is Action.STATUS and tracking_id:
            return self._job(message, "social_status", tracking_id, language)
        if action is Action.BAD_TRACKING_ID and tracking_id:  # the number as typed: "not valid, check it"
            return self._job(message, "social_bad_tracking_id", None, language, tracking_id)
        return self._job(message, "social_help", None, language)

    def _job(self, message: InboundMessage, key: str, tracking_id: str | None, language: str,
             typed_id: str | None = None, *, named: bool = False) -> ReplyJob:
        """`named`: the reply may open with its comment's author's @username where the provider would otherwise
        not tell them of it (`name_author`); false for an anonymous report, and for any query (`_query_reply`)."""
        return ReplyJob(channel=message.channel.value, provider_id=message.provider_message_id,
                        target=name_author(self._reply_target(message), named), reply_key=key, tracking_id=tracking_id,
                        language=language, typed_id=typed_id,
                        sender=f"{message.sender_kind.value}:{message.sender_address}",
                        unanswerable=_unanswerable(message))

    def _queue_replies(self, jobs: list[ReplyJob]) -> list[ReplyJob]:
        """One reply per mention: a marker per (channel, provider id) is written with its job, in one MULTI.

        The markers are WATCHed from the check to the write, so two batches holding the same mention at once
        (two pollers of one account whose rounds overlap: one outlasted its lease, or no lease) queue one reply
        between them: the later EXEC fails, is retried, and finds the marker. The reply job also skips a target
        it already answered. A mention whose account had its replies this hour (`_over_cap`), or where no reply can
        be posted (`ReplyJob.unanswerable`), gets its marker and no job: it is decided, and a poll that takes it again
        neither answers it nor logs and counts it again (a post that only tags the account, read by every later /tags
        walk that reaches it, was logged `reply.unanswerable` and counted each time).
        """
        if not jobs:
            return []
        keys = [reply_marker_key(job.channel, job.provider_id) for job in jobs]
        try:
            for _ in range(QUEUE_ATTEMPTS):
                with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(*set(keys))
                        fresh = self._fresh(pipe, jobs, keys)
                        # Not counted against the account's cap: no reply of ours reaches it.
                        unanswerable = {key for job, key in fresh if job.unanswerable}
                        capped = {key for job, key in fresh if key not in unanswerable and self._over_cap(job)}
                        left_out = capped | unanswerable
                        if fresh:
                            self._write_replies(pipe, fresh, left_out)
                        self._note_capped([job for job, key in fresh if key in capped])
                        _note_unanswerable([job for job, key in fresh if key in unanswerable])
                        return [job for job, key in fresh if key not in left_out]
                    except WatchError:
                        continue  # another batch wrote one of these markers meanwhile: look again
            raise NotDurable("reply markers kept changing", reason="contention")
        except RedisError as error:
            raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error

    def _fresh(self, pipe: Any, jobs: list[ReplyJob], keys: list[str]) -> list[tuple[ReplyJob, str]]:
        """The jobs whose mention has no reply marker yet, each mention once (read under WATCH)."""
        fresh: list[tuple[ReplyJob, str]] = []
        for job, key, marker in zip(jobs, keys, pipe.mget(keys), strict=True):
            if marker is None and key not in {k for _, k in fresh}:
                fresh.append((job, key))
        return fresh

    def _over_cap(self, job: ReplyJob) -> bool:
        """Counts the mention among its account's replies of the last hour; whether that is more than the cap. Counted
        by the mention's id, so a batch taken again (a WatchError, a poll retried after a failure) counts it once."""
        cap = (self._settings.x if job.channel == "twitter" else self._settings.instagram).reply_cap_per_hour
        key = REPLY_CAP_KEY.format(channel=job.channel, digest=sender_digest(self._settings, job.sender))
        return count_in_sliding_window(self._redis, key, job.provider_id, REPLY_CAP_WINDOW_SECONDS) > cap

    def _write_replies(self, pipe: Any, fresh: list[tuple[ReplyJob, str]], left_out: set[str]) -> None:
        """Every fresh mention's marker, and a reply job for each but those `left_out` (capped, unanswerable)."""
        ttl = self._settings.intake.dedup_ttl_seconds
        pipe.multi()
        for job, key in fresh:
            pipe.set(key, job.tracking_id or "-", ex=ttl)
        calls = [job.args() for job, key in fresh if key not in left_out]
        if calls:
            enqueue_calls(self._redis, self._settings, REPLY_QUEUE, SOCIAL_REPLY_FUNC, calls, pipeline=pipe)
        pipe.execute()

    @staticmethod
    def _note_capped(capped: list[ReplyJob]) -> None:
        """Each reply left out, once its marker is written: logged with its report, never with the account."""
        for job in capped:
            metrics.REPLIES.labels(health_channel(job.channel), "capped").inc()
            log.warning("reply.capped", channel=reply_source(job.channel), tracking_id=job.tracking_id,
                        reply_key=job.reply_key, reason="sender_cap")


def _without_others_posts(message: InboundMessage, draft: ReportDraft) -> ReportDraft:
    """An anonymous report whose sender's handle is unknown (X left the author out of `includes.users`: suspended,
    protected, an expansion cut short) without the words of the posts of others it quotes or answers: their mark
    alone stays, as for a post that filed an anonymous report. Those words stand with the reporter's @handle replaced
    (channels.x_mentions.quoted_posts), which needs the handle: unknown, a neighbour's "@siti_rahma kapan dibersihkan?"
    reached the case store inside the whistleblower's report. A named report keeps them."""
    others = {post for post in (message.replied_to, message.quoted_post) if post} - set(message.own_posts)
    return draft.model_copy(update={"text": without_quoted_posts(draft.text, others)}) if others else draft


def sender_of(message: InboundMessage) -> Sender:
    """The message's sender as a draft of it would name them: what a thread's report is compared with."""
    return normalize_sender(message.sender_kind, message.sender_address, message.sender_display_name)


def _only_own_posts(message: InboundMessage) -> bool:
    """Whether every post `message` answers or quotes is its sender's own (so all it quotes is theirs)."""
    referenced = {post for post in (message.replied_to, message.quoted_post) if post}
    return bool(referenced) and referenced <= set(message.own_posts)


def _unanswerable(message: InboundMessage) -> str | None:
    """Why the provider cannot take a reply where `message` is, as its channel marked it (`channel_meta`)."""
    reason = message.channel_meta.get("unanswerable")
    return str(reason) if reason else None


def _note_unanswerable(jobs: list[ReplyJob]) -> None:
    """Each reply that cannot be posted, once its marker is written (so once per mention, however often it is read
    again): its mention is filed all the same, logged with its report (`reply.unanswerable`, never the account) and
    counted, as a reply the cap leaves out is."""
    for job in jobs:
        metrics.REPLIES.labels(health_channel(job.channel), "unanswerable").inc()
        log.info("reply.unanswerable", channel=reply_source(job.channel), tracking_id=job.tracking_id,
                 reply_key=job.reply_key, reason=job.unanswerable)


def reply_marker_key(channel: str, provider_id: str) -> str:
    digest = dedup_key(channel, provider_id).rsplit(":", 1)[1]
    return REPLY_QUEUED_KEY.format(channel=channel, digest=digest)
