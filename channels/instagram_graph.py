"""@lapor1708 mentions on Instagram through the Graph API: resolving notifications, the /tags poll, replies.

Meta's `mentions` webhook says only *which* comment or media mentions us ({media_id, comment_id}); the text has to
be fetched (`/{ig-user-id}?fields=mentioned_comment.comment_id(...)` or `mentioned_media.media_id(...)`). The
webhook therefore only makes the raw notification durable (a Redis list, before its 200: Meta keeps no copy), and
this poller resolves it, so a slow or failing Graph API never makes Meta retry or drop a notification. The same
poller walks `/{ig-user-id}/tags` as the fallback for notifications that never came. Both paths use the same
provider id (the comment id, or the media id for a caption mention), so intake's dedup makes a mention seen by
both one report and one reply. A notification whose object the Graph API cannot give us yet (Meta: a new comment
may not be readable for a short while) waits for a retry without holding up the others, and is dropped only after
`pending_grace_minutes` (see InstagramPoller.resolve_pending).

The Graph API has no list of mentioned comments: comments reach us only through the webhook (and its pending
list, which survives restarts and Graph outages); media that tag us are also found by the /tags poll.

A reply whose POST ended without an answer (a 5xx, a timeout) may be on the citizen's post already, and the Graph
API takes the same comment twice: the reply worker reads the comments where it would be through the same mention
nodes (`GraphClient.reply_listing`, `our_reply_in`) before it posts again.

Comments under the account's OWN posts never come as `mentions` (that field is for media we do not own): Meta sends
them only to the webhook field `comments`, whose change carries the comment itself (`id`, `text`, `from{id,username}`,
`media{id,media_product_type}`, `parent_id` for a reply; Graph API webhooks reference, "FBInstagramCommentsField",
https://developers.facebook.com/docs/graph-api/webhooks/reference/instagram, and the payload examples,
https://developers.facebook.com/docs/instagram-platform/webhooks/examples). No lookup is needed: the webhook keeps the
ones that address us (`comment_left_out`) on a list of their own (COMMENTS_KEY, before its 200, as the notifications
are), and the poller files them (`InstagramPoller.take_comments`). A popular post draws hundreds of "mantap min" and
emoji: only a comment that names the account or opens with a keyword of the grammar is filed and answered; and our own
replies come back as `comments` changes, never filed. Such a report is answered as a reply to its comment
(`POST /{ig-comment-id}/replies`, `GraphClient.reply_to_comment`), read back there (`GraphClient.comment_replies`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from redis import Redis
from redis.exceptions import RedisError

from channels.social import (
    LEADING_MENTIONS,
    Backoff,
    Clock,
    GoOn,
    MentionIntake,
    PollProgress,
    ProviderError,
    ProviderErrorKind,
    after_poll_error,
    after_poll_success,
    strip_leading_mentions,
    unleased,
)
from gateway import metrics
from gateway.errors import NotDurable, RejectedInput
from gateway.followups import post_thread_key, post_thread_report
from gateway.health.signals import HealthSignals, endpoint, poll_failure
from gateway.intake import Intake
from gateway.lease import lease_account
from gateway.logs import context_of_its_own, get_logger
from gateway.settings import InstagramSettings, Settings
from gateway.tls import tls_context
from normalizer.envelope import Attachment, Channel, SenderKind, utc_now
from normalizer.grammar import Action
from normalizer.inbound import InboundMessage
from normalizer.keywords import parse_text
from normalizer.sender import normalize_sender

log = get_logger()

SOURCE = "instagram"
PENDING_KEY = "lapor:instagram:pending:{ig_user_id}"
PROGRESS_KEY = "lapor:cursor:instagram:{ig_user_id}"
# The `comments` changes (on our own posts) that address us, as the webhook took them: apart from PENDING_KEY, whose
# items are looked up; a poller of a version before them never reads this list, so none is dropped as unresolvable.
COMMENTS_KEY = "lapor:instagram:comments:{ig_user_id}"
# Those not written to us that reply in a thread where our reply carried a report (`in_answered_thread`), filed only
# as that report's reporter's addition: a list apart, which a poller of a version before it never reads (it would file
# anyone's there as a report of its own, and answer it in public).
THREAD_COMMENTS_KEY = "lapor:instagram:thread-comments:{ig_user_id}"
# A post's files come with it, in the same call. A carousel (CAROUSEL_ALBUM: several photos and videos of one pothole)
# serves as its own `media_url` its first item's alone; its items are the `children` edge of IG Media, read by field
# expansion, in the order the post shows them. What Meta documents for it (Graph API reference):
# - IG User Mentioned Media: `mentioned_media` takes "a comma-separated list of IG Media Fields", and an edge expanded
#   in it comes with cursors (its Pagination section); /tags ("IG User Tags") takes "Fields and Edges" alike.
#   https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/mentioned_media
# - IG Media: `children` is a public edge, "returned through field expansion"; `thumbnail_url` is a video's still,
#   "only available on VIDEO media"; `media_url` is omitted for media with copyrighted material; `permalink` "cannot be
#   used on photos within albums", so it is not asked of the items. Read directly (`GET /{media-id}`, and its
#   `/children`: IG Media Children, .../instagram-graph-api/reference/ig-media/children, whose earlier versions asked
#   for a token of the album's creator), it "returns only data for media owned by Instagram professional accounts": a
#   citizen's album is read through the mention, not through the `/children` call.
#   https://developers.facebook.com/docs/instagram-platform/reference/instagram-media
CHILD_FIELDS = "id,media_type,media_url,thumbnail_url"
MEDIA_FIELDS = f"id,caption,media_type,media_url,thumbnail_url,permalink,timestamp,username,children{{{CHILD_FIELDS}}}"
# What a lookup asks for when the Graph API refuses the fields above as not on a mention's node (code 100 "Tried
# accessing nonexisting field"): a comment without `from` (its sender is then its username, as a post's is), a post
# without its album's `children` (an album is then its first file). Meta documents neither on a mention's node.
PLAIN_COMMENT_FIELDS = "id,text,timestamp,username,media{id,permalink}"
PLAIN_MEDIA_FIELDS = "id,caption,media_type,media_url,thumbnail_url,permalink,timestamp,username"
# `from`: the commenter's Instagram-scoped user id and username. The id is the sender's identity: a username can be
# changed and then taken by someone else, who would be taken for the reporter (`gateway.followups`).
COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},media{id,permalink}"
# Where our reply to a mention would be, read back after an attempt that may have posted it (`GraphClient.
# reply_listing`): one page of this many comments, with these fields. `from` for the same reason as above: ours is
# told by the account's id (`own_post`), which a renamed account keeps while `instagram.username` goes stale.
REPLY_LISTING_FIELDS = "id,text,username,from{id,username},timestamp"
REPLY_LISTING_LIMIT = 50
# A comment's author, read when our reply to it opens with their @username (`GraphClient.comment_author`).
COMMENT_AUTHOR_FIELDS = "id,username,from{id,username}"
# What an Instagram username can be: letters, digits, periods and underscores, at most 30; no period first, last or
# next to another (`@budi.` in our reply would be read as `@budi`, telling another account).
INSTAGRAM_USERNAME = re.compile(r"(?!.*\.\.)(?!\.)[A-Za-z0-9._]{0,29}[A-Za-z0-9_]")
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80002})
# 102 (an API session gone) as much as 190: Meta answers it with 400, which alone would read as a bad payload.
AUTH_CODES = frozenset({10, 102, 190, 200})
# Auth errors about the whole account (an invalid or expired token, an API session): nothing can be read.
ACCOUNT_AUTH_CODES = frozenset({102, 190})
# Meta's "wait and retry" codes (1: unknown, possibly downtime; 2: service temporarily unavailable). Meta answers
# them with 400 as often as with 500, marked `is_transient`: read by the status alone, a reply was dead-lettered.
TRANSIENT_CODES = frozenset({1, 2})
# What a code means, said after it in the reasons the views show ("400 code=190 (access token invalid or expired)"):
# the long-lived token expires every 60 days, and the code alone sent the operator to Meta's error tables.
CODE_MEANINGS = {1: "unknown error, possibly temporary", 2: "service temporarily unavailable",
                 190: "access token invalid or expired", 102: "API session invalid", 10: "permission missing",
                 200: "permission missing", 4: "app rate limit", 17: "user rate limit", 32: "page rate limit",
                 613: "rate limit", 80002: "Instagram rate limit", 100: "invalid parameter",
                 2642: "pagination cursor invalid"}
# A subcode's meaning where it says more than its code: code 100 is any invalid parameter ("(#100) Param message must
# be non-empty", a reply's empty text), said "object missing" before whatever its subcode, which sent the operator
# looking for a deleted post.
SUBCODE_MEANINGS = {(100, 33): "object missing or not readable"}
# CAROUSEL_ALBUM: an album served without its items, whose `media_url` is its first one's.
MEDIA_TYPES = {"IMAGE": "image/jpeg", "VIDEO": "video/mp4", "CAROUSEL_ALBUM": "image/jpeg"}
# A video's still (`thumbnail_url`).
STILL_TYPE = "image/jpeg"
PENDING_BATCH = 50
# How far down the pending list a round looks for notifications due for a lookup (those waiting to be retried are
# skipped without a call).
PENDING_SCAN = 500
# Notifications of this many mentions whose lookups failed for more than "not readable" (code 100), with no lookup
# read since: the lookups are failing, not those objects (`InstagramPoller.lookups_failing`).
LOOKUPS_FAILING = 2
# The newest media ids of the last walks: a walk stops at any of them, so one deleted post does not send it back
# through the account's whole history (where posts whose dedup entries expired would be answered again).
RECENT_SEEN = 20


# -- reading Meta's JSON --------------------------------------------------------------------------------------
# A `\uD800`..`\uDFFF` escape (half of a UTF-16 surrogate pair, as Meta writes a character past U+FFFF), preceded by
# an even number of backslashes (an odd one escapes the backslash: `\\ud83d` is the text `\ud83d`): a high half with
# the low half after it (a whole character, kept), or either half alone.
_HALF_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
                          rb"|(?<!\\)((?:\\\\)*)\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def read_json(raw: bytes) -> Any:
    """A webhook body or Graph API answer, parsed; orjson.JSONDecodeError when it is no JSON.

    Meta escapes every character past U+FFFF as a surrogate pair (`\\ud83d\\ude21`), and a text cut inside one (a
    comment or caption cut short by its client) keeps half of it, `\\ud83d` alone: valid JSON, but no Unicode text,
    and orjson refuses the whole document for it. One such comment refused a webhook delivery whole (each mention
    beside it lost at every retry), a mention whose answer held one was dropped as unreadable after the grace
    period, and a /tags page holding one failed every walk. Such a document is read with each half character
    written as U+FFFD, by orjson still (its numbers, its depth limit, its duplicate keys); anything else orjson
    refuses stays refused."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        mended = _HALF_ESCAPE.sub(_whole_or_replaced, raw)
        if mended == raw:
            raise
        try:
            return orjson.loads(mended)
        except orjson.JSONDecodeError:
            raise error from None


def _whole_or_replaced(match: re.Match[bytes]) -> bytes:
    """A whole pair as it was; half of one as U+FFFD's escape, after the backslashes before it."""
    if match.group(3) is not None:
        return match.group(0)
    return (match.group(1) if match.group(2) is not None else match.group(4)) + rb"\ufffd"


# -- errors --------------------------------------------------------------------------------------------------
def _retry_at(response: httpx.Response, now: float) -> float | None:
    """Meta's X-Business-Use-Case-Usage says how many minutes until access comes back."""
    try:
        usage = orjson.loads(response.headers.get("x-business-use-case-usage", "{}"))
        minutes = max(int(entry.get("estimated_time_to_regain_access", 0))
                      for entries in usage.values() for entry in entries)
    except (ValueError, TypeError, AttributeError):
        return None
    return now + minutes * 60 if minutes else None


def classify_response(response: httpx.Response, now: float) -> ProviderError:
    try:
        error = orjson.loads(response.content).get("error", {})
    except (orjson.JSONDecodeError, AttributeError):
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    subcode = error.get("error_subcode") if isinstance(error, dict) else None
    meaning = SUBCODE_MEANINGS.get((code, subcode)) or CODE_MEANINGS.get(code)
    # "503", not "503 code=None", for an answer without Meta's error object (a proxy's page, an empty body).
    detail = f"{response.status_code}" + (f" code={code}" if code is not None else "") + (f" ({meaning})" if meaning
                                                                                          else "")
    if response.status_code == 429 or code in RATE_LIMIT_CODES:
        return ProviderError(ProviderErrorKind.RATE_LIMIT, detail, status=response.status_code,
                             retry_at=_retry_at(response, now), code=code)
    if response.status_code in (401, 403) or code in AUTH_CODES:
        return ProviderError(ProviderErrorKind.AUTH, detail, status=response.status_code, code=code)
    transient = code in TRANSIENT_CODES or (isinstance(error, dict) and error.get("is_transient") is True)
    if response.status_code >= 500 or transient:
        return ProviderError(ProviderErrorKind.SERVER, detail, status=response.status_code, code=code)
    # Code 100 subcode 33: the object does not exist (any more) for us; to a reply, the comment or post was deleted.
    message = error.get("message") if isinstance(error, dict) else None
    unsupported = code == 100 and isinstance(message, str) and "nonexisting field" in message
    if unsupported:  # not "object missing or not readable": the request names a field the node does not have
        detail = f"{response.status_code} code={code} (a field the API does not have)"
    return ProviderError(ProviderErrorKind.BAD_PAYLOAD, detail,
                         status=response.status_code, code=code, gone=code == 100 and subcode == 33,
                         unsupported=unsupported)


def about_one_object(error: ProviderError) -> bool:
    """Whether a failed lookup of one notification's comment or media says something about that object only.

    Not readable (code 100: not yet, or deleted), no permission on that media (code 10, 200-299: comments turned
    off, a private account), an error answer for it, an unreadable answer: the others can still be read. A rate
    limit, an invalid token (190) or an API session error (102), a 401, a 403 without a code, or no answer at all
    (timeout, connection refused) concern the whole account or the Graph API: the round stops."""
    if error.kind is ProviderErrorKind.BAD_PAYLOAD:
        return True
    if error.kind is ProviderErrorKind.SERVER:
        return error.status is not None
    if error.kind is ProviderErrorKind.AUTH:
        return error.code is not None and error.code not in ACCOUNT_AUTH_CODES and error.status != 401
    return False


def refuses_cursor(error: ProviderError) -> bool:
    """Whether a page asked for with an `after` cursor was refused as a request (a 4xx that is no rate limit or
    authentication error): Meta invalidates a cursor once its item is deleted, and says not to store one."""
    return error.kind is ProviderErrorKind.BAD_PAYLOAD and error.status is not None and 400 <= error.status < 500


class GraphClient:
    """The few Graph API calls we make, with errors classified. Synchronous: it runs in the poller thread."""

    def __init__(self, settings: Settings, *, clock: Clock = time.time, transport: httpx.BaseTransport | None = None
                 ) -> None:
        self.settings = settings.instagram
        self.clock = clock
        self.http = httpx.Client(base_url=self.settings.graph_base_url.rstrip("/") + "/",
                                 timeout=self.settings.request_timeout_seconds, transport=transport,
                                 verify=tls_context())
        # When the Graph API last answered a call with a readable object (0: not since start): the proof that the
        # account works, without which no pending notification is dropped.
        self.last_ok_at = 0.0
        # Per mention node: how many of its lookup's field sets the Graph API refused (see `_mentioned`).
        self.reduced: dict[str, int] = {}

    def _call(self, method: str, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        # The token goes in a header, never the URL: URLs end up in logs (httpx logs every request).
        headers = {"Authorization": f"Bearer {self.settings.access_token}"}
        body = dict(params) if method == "POST" else None
        query = None if method == "POST" else dict(params)
        try:
            response = self.http.request(method, path.lstrip("/"), params=query, data=body, headers=headers)
        except httpx.HTTPError as error:
            raise ProviderError(ProviderErrorKind.SERVER, type(error).__name__) from error
        if response.status_code != 200:
            raise classify_response(response, self.clock())
        try:
            body = read_json(response.content)
        except orjson.JSONDecodeError as error:
            raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, "response is not JSON", status=200) from error
        if not isinstance(body, dict):
            raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, "response is not an object", status=200)
        self.last_ok_at = self.clock()
        return body

    def mentioned_comment(self, comment_id: str) -> dict[str, Any]:
        return self._mentioned("mentioned_comment", f"comment_id({comment_id})", (COMMENT_FIELDS, PLAIN_COMMENT_FIELDS))

    def mentioned_media(self, media_id: str) -> dict[str, Any]:
        return self._mentioned("mentioned_media", f"media_id({media_id})", (MEDIA_FIELDS, PLAIN_MEDIA_FIELDS))

    def _mentioned(self, node: str, call: str, field_sets: Sequence[str]) -> dict[str, Any]:
        """A mention's comment or post, asked with the first of `field_sets` the Graph API has not refused as naming a
        field it does not have: refused so, it is asked again with the next (`mention.lookup_fields_reduced`, once),
        and so are the lookups after it. Without it, every mention waited unfiled while the API refused a field."""
        first = self.reduced.get(node, 0)
        for index, fields in enumerate(field_sets[first:], start=first):
            try:
                found = self._call("GET", self.settings.ig_user_id, {"fields": f"{node}.{call}{{{fields}}}"})
            except ProviderError as error:
                if not error.unsupported or index == len(field_sets) - 1:
                    raise
                self._reduce(node, index + 1, error, field_sets[index + 1])
                continue
            return self._object(found, node)
        raise AssertionError("no field set asked")  # never: the last one returns or raises

    @staticmethod
    def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
        value = body.get(name)
        if not isinstance(value, dict) or not value.get("id"):
            raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"{name} missing from the response", status=200)
        return value

    def tags(self, after: str | None, limit: int = 50) -> dict[str, Any]:
        """One /tags page; asked without an album's `children` once the Graph API refused them as a field it does not
        have (as `_mentioned`: refused, every walk failed, and no post that only tags the account was filed)."""
        field_sets = (MEDIA_FIELDS, PLAIN_MEDIA_FIELDS)
        first = self.reduced.get("tags", 0)
        for index, fields in enumerate(field_sets[first:], start=first):
            params: dict[str, Any] = {"fields": fields, "limit": limit, **({"after": after} if after else {})}
            try:
                return self._call("GET", f"{self.settings.ig_user_id}/tags", params)
            except ProviderError as error:
                if not error.unsupported or index == len(field_sets) - 1:
                    raise
                self._reduce("tags", index + 1, error, field_sets[index + 1])
        raise AssertionError("no field set asked")  # never: the last one returns or raises

    def _reduce(self, node: str, to: int, error: ProviderError, fields: str) -> None:
        """From now on, ask `node` (a mention's node, or `tags`) with its field set `to`: the one before was refused."""
        self.reduced[node] = to
        log.warning("mention.lookup_fields_reduced", channel=SOURCE, node=node, detail=error.detail, fields=fields)

    def reply_listing(self, media_id: str, comment_id: str | None) -> ReplyListing:
        """The comments where our reply to this mention is once posted, in one GET: the replies to the mentioning
        comment, or the comments on a post whose caption mentions us.

        Read through the mention's own node (`mentioned_comment` / `mentioned_media`, field expansion): the citizen's
        comment and post are not ours, and the Graph API lets us read them only there. An edge with nothing in it is
        left out of the answer: no comment yet."""
        if comment_id:
            node, call, edge = "mentioned_comment", f"comment_id({comment_id})", "replies"
        else:
            node, call, edge = "mentioned_media", f"media_id({media_id})", "comments"
        field = f"{node}.{call}{{{edge}.limit({REPLY_LISTING_LIMIT}){{{REPLY_LISTING_FIELDS}}}}}"
        found = self._object(self._call("GET", self.settings.ig_user_id, {"fields": field}), node)
        return _reply_listing(found.get(edge) or {"data": []}, f"{node}.{edge}")

    def reply(self, media_id: str, comment_id: str | None, message: str) -> str:
        params = {"media_id": media_id, "message": message}
        if comment_id:
            params["comment_id"] = comment_id
        return str(self._call("POST", f"{self.settings.ig_user_id}/mentions", params).get("id", ""))

    # IG Comment Replies (Graph API reference, "Replying to a Comment" and "Getting All Replies"):
    # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
    # `POST /{ig-comment-id}/replies` with `message` answers a comment on media we own ({"id": ...}); "replies to a
    # reply will be added to the top-level comment", where `GET /{ig-comment-id}/replies` lists them.
    def reply_to_comment(self, comment_id: str, message: str) -> str:
        """Our reply to a comment on our own post (not `/{ig-user-id}/mentions`: it is no mention)."""
        return str(self._call("POST", f"{comment_id}/replies", {"message": message}).get("id", ""))

    def comment_author(self, comment_id: str) -> CommentAuthor:
        """The author of a comment under our own post, read at send time (`GET /{ig-comment-id}`, IG Comment fields
        `from{id,username}` and `username`: readable for a comment on media the account owns): its username, None
        when the answer names no username an Instagram account could have; and whether it is our own account
        (`own_post`: by `from.id`, a renamed account's old username being someone else's). For the `@username` that
        opens our reply to a reply in someone's thread (workers.social_reply): the reply job carries no one's
        identity."""
        found = self._call("GET", comment_id, {"fields": COMMENT_AUTHOR_FIELDS})
        author = found.get("from") if isinstance(found.get("from"), dict) else {}
        username = author.get("username") or found.get("username")
        usable = username if isinstance(username, str) and INSTAGRAM_USERNAME.fullmatch(username) else None
        return CommentAuthor(usable, own_post(found, self.settings))

    def comment_replies(self, thread_id: str) -> ReplyListing:
        """The replies under a comment on our own post, where our reply to it (or to a reply in its thread) is once
        posted: one page, as `reply_listing` reads a mention's."""
        return _reply_listing(self._call("GET", f"{thread_id}/replies", {"fields": REPLY_LISTING_FIELDS,
                                                                          "limit": REPLY_LISTING_LIMIT}), "replies")

    def close(self) -> None:
        self.http.close()


@dataclass(frozen=True, slots=True)
class CommentAuthor:
    """Who wrote a comment (`GraphClient.comment_author`): a username Instagram reads whole, or None; `ours`: our own
    account."""

    username: str | None
    ours: bool


@dataclass(frozen=True, slots=True)
class ReplyListing:
    """One page of the comments where our reply to a mention would be; `complete`: there are no others."""

    comments: list[dict[str, Any]]
    complete: bool


def our_reply_in(listing: ReplyListing, reference: str, settings: InstagramSettings) -> str | None:
    """The id of our account's comment in the listing that carries this mention's reference (`(ref K7QX2MPA)`, see
    workers.social_reply.mention_ref); None when there is none. A citizen's comment quoting our reply is not ours:
    written by the account alone, told by its id where the listing serves `from` (`own_post`)."""
    for comment in listing.comments:
        if f"(ref {reference})" in str(comment.get("text") or "") and own_post(comment, settings):
            return str(comment.get("id") or "")
    return None


# -- parsing -------------------------------------------------------------------------------------------------
def _timestamp(value: Any) -> datetime:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return utc_now()


def names_account(caption: str, username: str) -> bool:
    """Whether a caption names the account: `@lapor1708`, or `lapor1708` as the Graph API returns a mention."""
    own = username.lstrip("@")
    return bool(own) and re.search(rf"(?<![\w.]){re.escape(own)}(?!\w)(?!\.\w)", caption, re.IGNORECASE) is not None


def media_attachments(media: Mapping[str, Any], max_files: int | None = None) -> list[Attachment]:
    """A post's files, in the order the Graph API gives them: a photo as itself, a video as its still
    (`thumbnail_url`, where given: an anonymous report's video is withheld, its still goes) and its MP4, and each item
    of a carousel so (`children`, see MEDIA_FIELDS); an album served without its items as its `media_url`, the first
    one's. An item without a `media_url` (Meta omits it for copyrighted material) is left out with a
    `mention.media_skipped` line (a video's still kept where served), the others taken; so are the files past
    `max_files` (`email.max_attachments`, the gateway's most files for one message; None: no limit). Each file's
    bytes are held to `attachments.max_bytes` when the forward worker fetches it (workers/media.py)."""
    children = media.get("children")
    items = children.get("data") if isinstance(children, Mapping) else None
    if media.get("media_type") != "CAROUSEL_ALBUM" or not isinstance(items, list) or not items:
        items = [media]
    files: list[Attachment] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            log.info("mention.media_skipped", channel=SOURCE, reason="no_media_url", item=index, media_type="")
            continue
        kind, name = str(item.get("media_type") or ""), str(item.get("id") or media["id"])
        still = item.get("thumbnail_url") if kind == "VIDEO" else None
        if still:
            files.append(Attachment(content_type=STILL_TYPE, location=str(still), name=name))
        if item.get("media_url"):
            files.append(Attachment(content_type=MEDIA_TYPES.get(kind, "image/jpeg"), location=str(item["media_url"]),
                                    name=name))
        else:  # a copyrighted video's still is still served: a frame of the evidence, kept
            log.info("mention.media_skipped", channel=SOURCE, reason="no_media_url", item=index, media_type=kind,
                     still_kept=bool(still))
    if max_files is not None and len(files) > max_files:
        log.info("mention.media_skipped", channel=SOURCE, reason="too_many_files", files=len(files) - max_files,
                 max_files=max_files)
        files = files[:max_files]
    return files


def media_message(media: Mapping[str, Any], own_handle: str | None = None, *, tagged: bool = False,
                  max_files: int | None = None) -> InboundMessage:
    """A post whose caption mentions (or that tags) @lapor1708 (`own_handle`: see strip_leading_mentions), with its
    files (`media_attachments`, at most `max_files`).

    `tagged`: found by the /tags walk, which lists the posts that tag the account in the photo. One whose caption
    does not name the account cannot be answered: the Graph API comments only on a caption or comment that
    @mentions it ("Commenting on photos in which you were tagged is not supported"), and each such reply was refused
    into the dead letters, counted as a failing channel. It is filed, marked `unanswerable` (channels.social)."""
    attachments = media_attachments(media, max_files)
    caption = str(media.get("caption") or "")
    meta = {"media_id": str(media["id"]), "permalink": media.get("permalink")}
    if tagged and not names_account(caption, own_handle or ""):
        meta["unanswerable"] = "tagged_only"
    return _message(str(media["id"]), str(media.get("username") or ""), caption, media.get("timestamp"),
                    attachments, meta, own_handle)


def comment_message(comment: Mapping[str, Any], media_id: str | None, own_handle: str | None = None
                    ) -> InboundMessage:
    """A comment that mentions @lapor1708 (on anyone's post). Answering our reply, it is a comment on the same post
    (`commented_on`): the Graph API does not say which comment it answers (see gateway.followups)."""
    media = comment.get("media") if isinstance(comment.get("media"), Mapping) else {}
    media_id = str(media.get("id") or media_id or "")
    author = comment.get("from") if isinstance(comment.get("from"), Mapping) else {}
    username = str(author.get("username") or comment.get("username") or "")
    return _message(str(comment["id"]), username, str(comment.get("text") or ""),
                    comment.get("timestamp"), [], {"media_id": media_id, "comment_id": str(comment["id"]),
                                                   "permalink": media.get("permalink")}, own_handle,
                    commented_on=media_id or None, user_id=str(author.get("id") or "") or None)


def _message(provider_id: str, username: str, text: str, timestamp: Any, attachments: list[Attachment],
             meta: dict[str, Any], own_handle: str | None, commented_on: str | None = None,
             user_id: str | None = None) -> InboundMessage:
    """The sender is the author's stable user id where the object gives it (a comment's `from.id`), their username
    otherwise (a post gives no id of an author other than us); the username is always the display name, the handle
    the citizen is known by. See `gateway.followups.sent_by_reports_sender` for reports filed by username."""
    return InboundMessage(
        channel=Channel.INSTAGRAM, source=SOURCE, provider_message_id=provider_id,
        sender_kind=SenderKind.IG_USER, sender_address=user_id or username, sender_display_name=username or None,
        text=strip_leading_mentions(text, own_handle), received_at=_timestamp(timestamp), attachments=attachments,
        channel_meta=meta, commented_on=commented_on,
    )


def own_post(found: Mapping[str, Any], settings: InstagramSettings) -> bool:
    """Whether a comment or post the Graph API gave us is our account's own. X's mentions are told apart by author
    id; Meta may notify us of our own comment too, and a reply that names @lapor1708 (`social_help` does) would
    then be filed as a report and answered; and the reply lookup must know our reply from a citizen's.

    The account's id (`instagram.ig_user_id`) decides wherever the object names its author by id (`from` on a
    comment, `owner` on a post): a renamed account keeps its id while `instagram.username` goes stale (our reply
    was then not found, and posted again), and its old username may be taken by someone else (whose comment was
    then taken for ours). The username only where no author id is served (a post from /tags)."""
    authors = [author for author in (found.get("from"), found.get("owner"))
               if isinstance(author, Mapping) and author.get("id")]
    if authors and settings.ig_user_id:
        return any(str(author["id"]) == settings.ig_user_id for author in authors)
    username = str(found.get("username") or "").lstrip("@").lower()
    return bool(username) and username == settings.username.lstrip("@").lower()


def _reply_listing(listing: Any, what: str) -> ReplyListing:
    """One page of comments where our reply would be (`what`: the edge read, for the error), checked: a listing
    without a list of comments, or whose paging is no object, failed the reply job as a bug would. Field expansion
    gives cursors but no `next` link: a full page may have more behind it."""
    comments = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(comments, list) or not all(isinstance(comment, dict) for comment in comments):
        raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"{what} without a list of comments", status=200)
    paging = listing.get("paging") or {}
    if not isinstance(paging, dict):
        raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"{what} with paging not an object", status=200)
    more = len(comments) >= REPLY_LISTING_LIMIT or bool(paging.get("next"))
    return ReplyListing(comments, complete=not more)


def reply_target(message: InboundMessage) -> dict[str, str]:
    """Where the reply goes: the mention (media, comment); for a comment on our own post, also its `thread`, the
    top-level comment our reply lands under (the comment itself, or the one it replies to), whose presence sends the
    reply to the comment (`POST /{comment-id}/replies`) instead of `/{ig-user-id}/mentions`."""
    meta = message.channel_meta
    target = {"media_id": str(meta.get("media_id") or "")}
    if meta.get("comment_id"):
        target["comment_id"] = str(meta["comment_id"])
    if meta.get("thread"):
        target["thread"] = str(meta["thread"])
    return target


# -- comments on our own posts (`comments` webhook field) ----------------------------------------------------
def addresses_us(text: str, username: str) -> bool:
    """Whether a comment under our own post is written to us: it names the account (`@lapor1708`, or `lapor1708` as
    the Graph API gives it), opens with a report kind keyword of the grammar (`LAPOR`, `ADUAN`, `WBS`, as a hashtag
    too), carries a flag keyword of the grammar as a keyword (`#anonim`, `ANONIM`, `RAHASIA`: taken out of its words,
    not read in prose), or is a status command with an ID (`CEK 12345678`). "mantap min", emoji, a thank-you are not.
    A whistleblower's `#anonim Kepala desa minta setoran ...` under our post was left out as not written to us: their
    report lost without a word. A flag word in prose ("bisa anonim gak min?", "rahasia umum") is not a keyword, and
    one beside fewer than FLAGGED_COMMENT_MIN_WORDS words is chatter ("anonim aja biar aman", "wkwk #rahasia",
    "terima kasih min #anonim"), not a report: each was filed and answered in public under our post."""
    if names_account(text, username):
        return True
    if LEADING_MENTIONS.match(text):  # written to whom it names first: "@budi.s lapor aja ke pemkot"
        return False
    # A call to the admin first is read past ("Min, lapor ..."). An anonymity word glued to a mark ("anonim|...") is
    # never taken out of the words: read as a wish in doubt, it tells nothing of whom the comment is written to.
    parsed = parse_text(text, glued_anonymity=False)
    left = len(_WORDS.findall(parsed.text))
    flagged = (parsed.action is Action.REPORT and (parsed.anonymous or parsed.confidential)
               and FLAGGED_COMMENT_MIN_WORDS <= left < len(_WORDS.findall(text)))
    return parsed.explicit_kind or flagged or (parsed.action is Action.STATUS and parsed.tracking_id is not None)


# The words of a comment, to tell a flag keyword the grammar took out of them from one it read in their prose.
_WORDS = re.compile(r"\w+")
# The fewest words beside a flag keyword that make a comment under our post a report ("Kades minta pungli 200rb
# #anonim"): the remarks people leave there with one are shorter ("anonim aja biar aman", "rahasia kok di umbar").
FLAGGED_COMMENT_MIN_WORDS = 4


def comment_left_out(item: Mapping[str, Any], settings: InstagramSettings) -> str | None:
    """Why a comment on our own post is neither filed nor answered: `own` (written by the account: our replies come
    back as `comments` changes, and one naming @lapor1708 would be filed and answered without end), or
    `not_addressed` (see addresses_us); None when it is a citizen's to us."""
    if own_comment(item, settings):
        return "own"
    return None if addresses_us(str(item.get("text") or ""), settings.username) else "not_addressed"


def in_answered_thread(redis: Redis, item: Mapping[str, Any]) -> bool:
    """Whether a comment on our own post is a reply in a thread where one of our replies carried a report
    (workers.social_reply remembers them by thread): the reporter adding to it writes no @lapor1708 (Instagram fills
    a reply in with the handle of the comment answered, their own), so it may be theirs though not written to us.
    Kept for the poller, which files it only as its reporter's addition (`InstagramPoller.take_comments`)."""
    parent = str(item.get("parent_id") or "")
    return bool(parent) and bool(redis.exists(post_thread_key(Channel.INSTAGRAM.value, parent)))


def own_comment(item: Mapping[str, Any], settings: InstagramSettings) -> bool:
    """Whether a comment on our own post (see comment_item) is the account's own: by its author, not its words."""
    author = {"id": item.get("from_id") or "", "username": item.get("username") or ""}
    return own_post({"from": author, "username": author["username"]}, settings) or bool(
        author["id"] and author["id"] == item.get("ig_user_id"))


# What a reading of a Graph answer of another shape than expected raises.
_READING_ERRORS = (AttributeError, KeyError, TypeError, ValueError)


def plain_message(found: Mapping[str, Any], media_id: str, comment_id: str | None, own_handle: str | None = None
                  ) -> InboundMessage:
    """A mentioned comment or post as far as it can be read for sure, when its reading raised (`comment_message`,
    `media_message`): its words, its author and where it is, without its files; the post's address (`permalink`)
    stays, so the agency can see them there. Kept unfiled (gateway.unfiled) and filed as such by a retry. Its id is
    the one the notification named and the answer was asked for: the answer's own (`id`) may be what the reading
    failed on, and read as 'None' every such mention was kept under one key, each the last one's words alone."""
    def text_of(name: str) -> str:
        value = found.get(name)
        return value if isinstance(value, str) else ""

    author = found.get("from") if isinstance(found.get("from"), Mapping) else {}
    username = author.get("username") if isinstance(author.get("username"), str) else text_of("username")
    object_id = comment_id or media_id
    meta = {"media_id": media_id, "permalink": text_of("permalink") or None, "read_in_part": True,
            **({"comment_id": comment_id} if comment_id else {})}
    return _message(object_id, username, text_of("text" if comment_id else "caption"), found.get("timestamp"), [],
                    meta, own_handle, commented_on=(media_id or None) if comment_id else None,
                    user_id=_graph_id(author.get("id")))


def own_media_comment_message(item: Mapping[str, Any], own_handle: str | None = None) -> InboundMessage:
    """A citizen's comment under our own post, as the `comments` webhook gave it (see comment_item). A reply in a
    comment's thread is a comment on that thread (`commented_on`, the thread's top-level comment): one in the thread
    where we answered its sender's report adds to that report (gateway.followups.post_thread_report; our replies are
    remembered by their thread, workers.social_reply). A new comment is a report of its own: one post of ours draws
    many complaints, several of one citizen's among them, where a mention's post is about one."""
    comment_id, media_id = str(item["comment_id"]), str(item.get("media_id") or "")
    username, parent_id = str(item.get("username") or ""), str(item.get("parent_id") or "")
    return _message(comment_id, username, str(item.get("text") or ""), _delivery_time(item.get("time")), [],
                    {"media_id": media_id, "comment_id": comment_id, "own_media": True,
                     "thread": parent_id or comment_id}, own_handle,
                    commented_on=parent_id or None, user_id=str(item.get("from_id") or "") or None)


# A delivery's `time` past this is in milliseconds (as Meta's messaging webhooks give it): in seconds, the year 5138.
_MILLISECONDS_FROM = 10**11


def _delivery_time(sent: Any) -> str | None:
    """A delivery's `time` (Unix seconds, or milliseconds) as the Graph API writes a timestamp; None when it is none
    or no date the platform can hold (the report is then received now). Read as seconds whatever its size, one in
    milliseconds raised in every poller round, and the comments and mentions after it were never filed."""
    if not isinstance(sent, int | float) or isinstance(sent, bool) or not sent > 0:
        return None
    try:
        seconds = sent / 1000 if sent >= _MILLISECONDS_FROM else float(sent)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
    except (OverflowError, OSError, ValueError):
        return None


# -- the pending notifications the webhook stored ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Notifications:
    """A webhook payload's `mentions` changes: each one's {ig_user_id, media_id, comment_id?}; its `comments` changes
    (comments on our own posts, see comment_item); why each change that could not be read was left out; and the
    citizens' direct messages it carries, which the gateway does not take (see message_kind): {ig_user_id, kind}."""

    items: list[dict[str, str]]
    rejected: list[str]
    comments: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)


def _graph_id(value: Any) -> str | None:
    """A Graph object id as Meta sends it (ASCII digits, as a string or a number); None for anything else. Not
    `str.isdigit` alone: it takes other scripts' digits and superscripts ("١٢٣", "²³", "１２３"), which no Graph id
    is, and such an id went into the Graph API's paths and our keys as it came."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if text.isascii() and text.isdigit() else None


# Direct messages (Instagram Messaging API), Story mentions among them: Meta delivers a Story that mentions the account
# only as a direct message, whose attachment is of type `story_mention` with the Story's CDN address ("Story Mention",
# https://developers.facebook.com/docs/messenger-platform/instagram/features/story-mention; and "Webhooks for
# Instagram Messaging", https://developers.facebook.com/docs/instagram-messaging/webhooks). They come in an entry's
# `messaging` list (`standby` when another app holds the conversation), not its `changes`:
#   {"sender": {"id": IGSID}, "recipient": {"id": IGID}, "timestamp": ms,
#    "message": {"mid": ..., "text": ..., "attachments": [{"type": "story_mention", "payload": {"url": ...}}]}}
# The gateway takes none of them (that needs the instagram_manage_messages permission, the Send API and its 24-hour
# window): each is logged and counted, so that an operator sees them come (README, "Direct messages and Story
# mentions").
MESSAGING_LISTS = ("messaging", "standby")


def message_kind(event: Any) -> str | None:
    """What a `messaging` event a citizen sent us is: `story_mention` (a Story naming the account) or `direct_message`;
    None for anything else: an echo of a message our account sent (`is_echo`, an operator answering by hand in the
    Instagram app), a message its sender deleted, and the events that are no message (read receipts, reactions,
    postbacks, referrals)."""
    message = event.get("message") if isinstance(event, dict) else None
    if not isinstance(message, dict) or message.get("is_echo") is True or message.get("is_deleted") is True:
        return None
    attachments = message.get("attachments")
    if isinstance(attachments, list) and any(isinstance(attachment, dict) and attachment.get("type") == "story_mention"
                                             for attachment in attachments):
        return "story_mention"
    return "direct_message"


def notification_items(payload: Any, ig_user_id: str | None = None) -> Notifications:
    """The `mentions` changes of a webhook payload; ValueError when it is no notification at all (no entry list).

    One change or entry that cannot be read is left out with its reason, the others kept: Meta sends several
    accounts' and several mentions' changes in one delivery and retries a refused one whole, so a 400 for one bad
    change lost every mention beside it, at each retry."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise ValueError("no entry list")
    items: list[dict[str, str]] = []
    rejected: list[str] = []
    comments: list[dict[str, Any]] = []
    messages: list[dict[str, str]] = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            rejected.append("malformed entry")
            continue
        for name in MESSAGING_LISTS:
            events = entry.get(name)
            for event in events if isinstance(events, list) else []:
                kind = message_kind(event)
                if kind is not None:
                    messages.append({"ig_user_id": str(entry.get("id") or ig_user_id or ""), "kind": kind})
        for change in entry.get("changes", []):
            if isinstance(change, dict) and change.get("field") == "comments":
                comment = comment_item(change.get("value"), entry)
                if comment is None:
                    rejected.append("comments change without the id of a comment")
                else:
                    comments.append(comment)
                continue
            if not isinstance(change, dict) or change.get("field") != "mentions":
                continue
            value = change.get("value")
            media_id = _graph_id(value.get("media_id")) if isinstance(value, dict) else None
            comment_id = value.get("comment_id") if isinstance(value, dict) else None
            if media_id is None or (comment_id not in (None, "") and _graph_id(comment_id) is None):
                rejected.append("mentions change without a media_id and comment_id of the Graph API")
                continue
            item = {"ig_user_id": str(entry.get("id") or ig_user_id or ""), "media_id": media_id}
            if comment_id:
                item["comment_id"] = str(comment_id)
            items.append(item)
    return Notifications(items, rejected, comments, messages)


def comment_item(value: Any, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """A `comments` change's value as kept on COMMENTS_KEY: {ig_user_id, comment_id, media_id, parent_id, from_id,
    username, text, time}; None without a comment id. Its text is in it (a comment of a sticker alone has none)."""
    if not isinstance(value, dict) or _graph_id(value.get("id")) is None:
        return None
    author = value.get("from") if isinstance(value.get("from"), dict) else {}
    media = value.get("media") if isinstance(value.get("media"), dict) else {}
    text = value.get("text")
    sent = entry.get("time")
    return {"ig_user_id": str(entry.get("id") or ""), "comment_id": str(value["id"]),
            "media_id": _graph_id(media.get("id")) or "", "parent_id": _graph_id(value.get("parent_id")) or "",
            "from_id": _graph_id(author.get("id")) or "", "username": str(author.get("username") or ""),
            "text": text if isinstance(text, str) else "",
            "time": sent if isinstance(sent, int | float) and not isinstance(sent, bool) else None}


def store_pending(redis: Redis, ig_user_id: str, items: Sequence[Mapping[str, Any]], now: float | None = None,
                  *, key: str = PENDING_KEY) -> None:
    """Durable when it returns (raises NotDurable otherwise): what the webhook does before its 200. `key`: the
    notifications' list, or COMMENTS_KEY for the comments on our own posts.

    Each item is stamped with when it was first seen: the grace period of a notification the Graph API cannot
    resolve yet runs from then."""
    if not items:
        return
    first_seen = time.time() if now is None else now
    try:
        redis.rpush(key.format(ig_user_id=ig_user_id),
                    *[orjson.dumps({**item, "first_seen": first_seen}) for item in items])
    except RedisError as error:
        raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error


# -- the poller ----------------------------------------------------------------------------------------------
class InstagramPoller:
    """Resolves webhook notifications (every pending_interval) and walks /tags (every poll_interval)."""

    channel = SOURCE

    def __init__(self, settings: Settings, redis: Redis, intake: Intake, *, clock: Clock = time.time,
                 graph: GraphClient | None = None) -> None:
        self.settings = settings.instagram
        self.account = lease_account(settings, "instagram")  # the lease: one poller of this account at a time
        self.redis = redis
        self.clock = clock
        self.graph = graph or GraphClient(settings, clock=clock)
        self.mentions = MentionIntake(redis, settings, intake, reply_target)
        self.max_files = settings.email.max_attachments  # a carousel's files (see media_attachments)
        self.signals = HealthSignals(redis)
        # The host a failing poll's reason names (`graph.facebook.com`, or the fake provider's `127.0.0.1:8090`).
        self.where = endpoint(self.settings.graph_base_url)
        self.pending_key = PENDING_KEY.format(ig_user_id=self.settings.ig_user_id)
        self.comments_key = COMMENTS_KEY.format(ig_user_id=self.settings.ig_user_id)
        self.thread_comments_key = THREAD_COMMENTS_KEY.format(ig_user_id=self.settings.ig_user_id)
        self.progress = PollProgress(redis, PROGRESS_KEY.format(ig_user_id=self.settings.ig_user_id),
                                     fields=("seen", "after", "newest", "start", "recent", "walk_ids"))
        self.backoff = Backoff(self.settings.error_retry_seconds, self.settings.auth_retry_seconds,
                               max(self.settings.poll_interval_seconds, self.settings.auth_retry_seconds), clock,
                               rate_limit_max_seconds=self.settings.rate_limit_max_wait_seconds)
        self.next_tags_at = 0.0
        # Whether the last /tags poll failed on its own (`_poll_tags_when_due`): the channel stays failing until one
        # answers.
        self.tags_failing = False
        # Since the last lookup that read its object: each mention whose lookup failed for more than "not readable"
        # (its comment or media id -> why); and the failure last signalled.
        self.failed_lookups: dict[str, str] = {}
        # When each of them is looked up again (its notification's `retry_at`): the earliest is the failing lookups'
        # next try, which the views say as they say a failing poll's.
        self.lookup_retry_at: dict[str, float] = {}
        # Those of them refused for a field the API does not have (code 100 "nonexisting field"): our request, not
        # their objects, so one is enough to say the lookups are failing.
        self.unsupported_lookups: set[str] = set()
        # The failure last signalled, and the next try it was signalled with.
        self.signalled_failure: tuple[str, float | None] | None = None

    def poll_once(self, go_on: GoOn = unleased) -> float:
        """One round (pending notifications, then /tags when due), asking `go_on` before each Graph call that
        reads mentions; the delay before the next round. Every line of the round names the channel."""
        with context_of_its_own(channel=self.channel):
            return self._round(go_on)

    def _round(self, go_on: GoOn) -> float:
        try:
            comments = self.take_comments(go_on)
            resolved = self.resolve_pending(go_on)
            tagged = self._poll_tags_when_due(go_on)
        except (ProviderError, NotDurable, RedisError) as error:
            self.signalled_failure = None
            return after_poll_error(self.channel, self.signals, self.backoff, error, self.where)
        if self.tags_failing:
            # Signalled by its own failure, until /tags answers: the round's success would clear it.
            self.signalled_failure = None
        else:
            self._after_round()
        if resolved or comments or tagged is not None:
            # At debug unless something was taken, as X's: a round of nothing every few seconds was 17,000 info
            # lines a day.
            (log.info if resolved or comments or tagged else log.debug)(
                "channel.polled", channel=self.channel, resolved=resolved, comments=comments, tagged=tagged)
        return max(0.05, min(self.settings.pending_interval_seconds, self.next_tags_at - self.clock()))

    def _poll_tags_when_due(self, go_on: GoOn) -> int | None:
        """/tags when due, its 5xx or unreadable page waited out on its own: the webhooks' mentions and the comments
        on our posts go on being taken every `pending_interval_seconds` (they waited minutes behind its backoff, the
        citizens unanswered). A refused token or a rate limit is the account's, and ends the round as before."""
        if self.clock() < self.next_tags_at:
            return None
        try:
            tagged = self.poll_tags(go_on)
        except ProviderError as error:
            if error.kind in (ProviderErrorKind.AUTH, ProviderErrorKind.RATE_LIMIT):
                raise
            self.tags_failing = True
            delay = after_poll_error(self.channel, self.signals, self.backoff, error, self.where)
            self.next_tags_at = self.clock() + delay
            return None
        self.tags_failing = False
        self.next_tags_at = self.clock() + self.settings.poll_interval_seconds
        return tagged

    def _after_round(self) -> None:
        """A round that raised nothing: a success, unless the lookups are failing (`lookups_failing`), which the
        poll answering /tags does not clear. Signalled when it starts or its reason changes: `poll_failing_since`
        stays from the first, so the health rule sees how long it lasts."""
        failing = self.lookups_failing()
        if failing is None:
            self.signalled_failure = None
            after_poll_success(self.channel, self.signals, self.backoff)
            return
        self.backoff.after_success()
        # The next try is the earliest of the failed lookups' retries (each is retried on its own): signalled again
        # when it moves, or the views' "next try" would go by and say none while the lookups still fail.
        retry_at = min((self.lookup_retry_at[key] for key in self.failed_lookups if key in self.lookup_retry_at),
                       default=None)
        if (failing, retry_at) != self.signalled_failure:
            # Only a new failure (its text, not its next try) is one more of the channel's last errors.
            new_failure = self.signalled_failure is None or failing != self.signalled_failure[0]
            self.signals.poll_failed(self.channel, failing, retry_at=retry_at, new_error=new_failure)
            if new_failure:
                log.warning("channel.lookups_failing", channel=self.channel, reason=failing,
                            mentions=len(self.failed_lookups),
                            retry_in_seconds=None if retry_at is None else round(retry_at - self.clock(), 1))
            self.signalled_failure = (failing, retry_at)

    def lookups_failing(self) -> str | None:
        """Why the mention lookups are failing: LOOKUPS_FAILING mentions or more failed for more than "not readable"
        (a permission, an error answer), or one for a field the API does not have, and no lookup read its object
        since; None otherwise. Each failure alone is about its object (`about_one_object`), and the round went on;
        all of them together, the account cannot read mentions (a permission or a field the lookups need and /tags
        does not) while /tags may still answer. A poll that counted as a success then showed the channel healthy, and
        the /tags answers let the mentions be dropped."""
        if len(self.failed_lookups) < LOOKUPS_FAILING and not self.unsupported_lookups:
            return None
        last = next(reversed(self.failed_lookups.values()))
        # Each is an answer of the Graph API (a lookup nothing answered stops the round: `about_one_object`).
        return (f"mention lookups failing ({len(self.failed_lookups)} mentions, none read since): "
                f"{poll_failure(self.where, last, answered=True)}")

    def resolve_pending(self, go_on: GoOn = unleased) -> int:
        """Fetch and take the stored notifications, oldest first; each leaves the list only once durable or dropped.

        A lookup that fails for its own object (see about_one_object) does not stop the others: that notification
        waits for its retry at the end of the list (`_retry_later`). An error about the whole account, or two
        server errors in a row (the Graph API is down, not one object), stops the round with the list as it is."""
        raws = self.redis.lrange(self.pending_key, 0, PENDING_SCAN - 1)
        taken = lookups = server_errors = 0
        for raw in raws:
            item = _pending_item(raw)
            if item is None:
                log.error("channel.bad_payload", channel=self.channel, detail="unreadable pending notification")
                self.redis.lrem(self.pending_key, 1, raw)
                continue
            if float(item.get("retry_at") or 0) > self.clock():
                continue
            if lookups >= PENDING_BATCH or not go_on():
                break
            lookups += 1
            try:
                message = self._resolve(item)
            except ProviderError as error:
                server_errors = server_errors + 1 if error.kind is ProviderErrorKind.SERVER else 0
                if not about_one_object(error) or server_errors >= 2:
                    raise
                key = str(item.get("comment_id") or item["media_id"])
                # Code 100 is not readable (yet), or deleted: every day's, about that object alone; but not when it
                # names a field the API does not have, which every lookup gets (dropped after the grace period, each
                # comment mention was lost, the channel healthy).
                if error.code != 100 or error.unsupported:
                    self.failed_lookups[key] = error.detail[:120]
                if error.unsupported:
                    self.unsupported_lookups.add(key)
                retry_at = self._retry_later(raw, item, error)
                if retry_at is not None:
                    self.lookup_retry_at[key] = retry_at
                continue
            server_errors = 0
            self.failed_lookups.clear()
            self.lookup_retry_at.clear()
            self.unsupported_lookups.clear()
            if message is not None:
                self.mentions.take([message])
                taken += 1
            self.redis.lrem(self.pending_key, 1, raw)
        return taken

    def take_comments(self, go_on: GoOn = unleased) -> int:
        """File the comments on our own posts the webhook kept (COMMENTS_KEY, then THREAD_COMMENTS_KEY: those only a
        reporter's addition files), oldest first, PENDING_BATCH at a time: their text came with them, so no Graph call.
        Each leaves the list once its report is durable (an intake that fails leaves them all, for the next round;
        intake's dedup makes one taken twice one report and one reply)."""
        return (self._take_comments(self.comments_key, go_on, thread_only=False)
                + self._take_comments(self.thread_comments_key, go_on, thread_only=True))

    def _take_comments(self, key: str, go_on: GoOn, *, thread_only: bool) -> int:
        taken = 0
        while go_on():
            raws = self.redis.lrange(key, 0, PENDING_BATCH - 1)
            if not raws:
                break
            messages = []
            for raw in raws:
                item = _comment_item(raw)
                if item is None:
                    log.error("channel.bad_payload", channel=self.channel, detail="unreadable stored comment")
                # The webhook left it out already. By its author alone: read again by the grammar, a bug of ours its
                # words met (after an upgrade) raised here in every round, past MentionIntake's guard, and no comment
                # or mention after it was filed.
                elif own_comment(item, self.settings):
                    log.info("mention.ignored", channel=self.channel, reason="own_post")
                # `thread_only` on the item: a thread reply the version before THREAD_COMMENTS_KEY kept on this list.
                elif (thread_only or item.get("thread_only")) and not self._reporters_addition(item):
                    log.info("mention.ignored", channel=self.channel, reason="not_addressed")
                    metrics.labelled(metrics.COMMENTS_LEFT_OUT, self.channel, "not_addressed").inc()
                else:
                    messages.append(own_media_comment_message(item, self.settings.username))
            self.mentions.take(messages)
            taken += len(messages)
            pipe = self.redis.pipeline(transaction=False)
            for raw in raws:
                pipe.lrem(key, 1, raw)
            pipe.execute()
            if len(raws) < PENDING_BATCH:
                break
        return taken

    def _reporters_addition(self, item: Mapping[str, Any]) -> bool:
        """Whether a comment kept only for being in a thread we answered (`in_answered_thread`) is written by the
        sender of a report our reply there carried: an addition to it. Anyone else's there is not written to us."""
        message = own_media_comment_message(item, self.settings.username)
        try:
            sender = normalize_sender(message.sender_kind, message.sender_address, message.sender_display_name)
        except RejectedInput:  # no author: no one's addition
            return False
        return post_thread_report(self.redis, Channel.INSTAGRAM.value, str(item.get("parent_id") or ""), sender,
                                  message.provider_message_id) is not None

    def _resolve(self, item: Mapping[str, Any]) -> InboundMessage | None:
        """The notification's comment or post as a message; None when there is none to take: our own (see own_post),
        or one whose reading raised, kept unfiled as far as it can be read for sure (`plain_message`): raised, it
        stopped every round at that notification, and as an unreadable answer it was dropped after the grace
        period, its words lost to a bug of ours. An answer that cannot even be told ours is an unreadable answer
        about that object (BAD_PAYLOAD), retried."""
        comment_id, media_id = item.get("comment_id"), str(item["media_id"])
        found = (self.graph.mentioned_comment(str(comment_id)) if comment_id
                 else self.graph.mentioned_media(media_id))
        try:
            if own_post(found, self.settings):
                log.info("mention.ignored", channel=self.channel, reason="own_post")
                return None
        except _READING_ERRORS as error:
            raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"unreadable {'comment' if comment_id else 'media'}: "
                                f"{type(error).__name__}", status=200) from error
        try:
            if comment_id:
                return comment_message(found, media_id, self.settings.username)
            return media_message(found, self.settings.username, max_files=self.max_files)
        except _READING_ERRORS as error:
            read = plain_message(found, media_id, str(comment_id) if comment_id else None, self.settings.username)
            self.mentions.keep_unfiled(read, error)
            return None

    def _retry_later(self, raw: bytes, item: Mapping[str, Any], error: ProviderError) -> float | None:
        """Count the failed attempt and move the notification to the end of the list, due again after a delay that
        doubles; or drop it, once its grace period is over, after two attempts at least, and only if the Graph API
        has answered another call since its last attempt and the lookups are not failing (so an outage or a revoked
        permission drops nothing, even while /tags answers). When it is due again; None: dropped."""
        now = self.clock()
        first_seen = float(item.get("first_seen") or now)  # notifications stored before they carried it
        attempts = int(item.get("attempts") or 0) + 1
        waited = now - first_seen
        graph_works = self.graph.last_ok_at >= float(item.get("tried_at") or now) and self.lookups_failing() is None
        fields = {"channel": self.channel, "reason": error.reason, "status": error.status, "code": error.code,
                  "attempts": attempts}
        if attempts >= 2 and waited >= self.settings.pending_grace_minutes * 60 and graph_works:
            # Deleted since, never readable, or not a mention of ours: dropped, with a log line (ids only in Redis).
            self.redis.lrem(self.pending_key, 1, raw)
            self.failed_lookups.pop(str(item.get("comment_id") or item["media_id"]), None)
            self.lookup_retry_at.pop(str(item.get("comment_id") or item["media_id"]), None)
            self.unsupported_lookups.discard(str(item.get("comment_id") or item["media_id"]))
            log.warning("mention.unresolvable", waited_seconds=round(waited), **fields)
            return None
        retry = self.settings.pending_retry_seconds
        # At most a quarter of the grace period: a few attempts within it, however small the first delay.
        delay = min(max(retry, self.settings.pending_grace_minutes * 15), retry * 2 ** (attempts - 1))
        updated = {**item, "first_seen": first_seen, "attempts": attempts, "tried_at": now, "retry_at": now + delay}
        pipe = self.redis.pipeline(transaction=True)
        pipe.lrem(self.pending_key, 1, raw)
        pipe.rpush(self.pending_key, orjson.dumps(updated))
        pipe.execute()
        log.info("mention.lookup_failed", retry_in_seconds=round(delay, 1), **fields)
        return now + delay

    def poll_tags(self, go_on: GoOn = unleased) -> int:
        """Walk /tags newest first down to the newest media seen last time; progress saved after each page.

        The account's first walk (nothing seen yet) skips media older than `first_poll_lookback_minutes`, and
        stops after a page of nothing else: an account tagged in hundreds of old posts is not answered all at once.
        That start is saved, so walks that find nothing keep it until the first media is seen. A walk stops at any
        of the RECENT_SEEN newest media of the walks before, not only the newest: that one may have been deleted."""
        state = self.progress.load()
        seen, after, newest = state.get("seen"), state.get("after"), state.get("newest")
        recent, walk_ids = list(state.get("recent") or []), list(state.get("walk_ids") or [])
        known = {seen, *recent} - {None}
        start = None if seen else float(state.get("start") or
                                        self.clock() - self.settings.first_poll_lookback_minutes * 60)
        if start is not None and not state.get("start"):
            self.progress.save(seen=None, after=after, newest=newest, start=start, recent=recent)
        taken = 0
        for _ in range(max(1, self.settings.max_pages)):
            if not go_on():  # the lease went to another process: it walks on from the progress saved below
                return taken
            try:
                page = self.graph.tags(after, self.settings.page_size)
            except ProviderError as error:
                if after and refuses_cursor(error):
                    # The cursor's media is gone ("(#2642) Invalid cursors values"): asked again each round, it
                    # failed for ever. The next walk starts at the top and stops at what was seen (dedup: once).
                    log.warning("channel.pagination_reset", channel=self.channel, code=error.code)
                    self.progress.save(seen=seen, start=start, recent=recent)
                raise
            data = page.get("data")
            if not isinstance(data, list) or not all(isinstance(media, dict) for media in data):
                raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, "tags page without data", status=200)
            # Read as objects below: of another shape, the walk raised AttributeError past the round's error handling
            # (`poller.crashed` every 30 s, the channel shown healthy). Not read as the walk's end: the media on the
            # pages after it would be passed over for good.
            paging = page.get("paging") or {}
            cursors = paging.get("cursors") or {} if isinstance(paging, dict) else None
            if not isinstance(cursors, dict) or not isinstance(cursors.get("after"), str | None):
                raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, "tags page with paging of another shape", status=200)
            ids = [str(media["id"]) for media in data if media.get("id")]
            newest = newest or (ids[0] if ids else None)
            walk_ids = (walk_ids + [i for i in ids if i not in walk_ids])[:RECENT_SEEN]
            fresh, reached, old = [], False, 0
            for media in data:
                if str(media.get("id")) in known:
                    reached = True
                    break
                if own_post(media, self.settings):
                    continue
                # Graph timestamps are whole seconds: compare with the start's second. An old post is skipped, not
                # a reason to stop: /tags is not promised to be in posting order (a post can be tagged later).
                if start is not None and _timestamp(media.get("timestamp")).timestamp() < int(start):
                    old += 1
                    continue
                fresh.append(media)
            reached = reached or (bool(data) and old == len(data))  # a whole page of old posts: the rest is history
            messages = []
            for media in reversed(fresh):
                try:
                    messages.append(media_message(media, self.settings.username, tagged=True,
                                                  max_files=self.max_files))
                except (KeyError, TypeError) as error:
                    log.warning("mention.rejected", channel=self.channel, reason="bad_payload", detail=str(error))
            self.mentions.take(messages)
            taken += len(messages)
            after = cursors.get("after")
            if reached or not after or not paging.get("next"):
                # Nothing seen yet (an empty first walk): keep the start for the next walk.
                recent = (walk_ids + [i for i in recent if i not in walk_ids])[:RECENT_SEEN]
                self.progress.save(seen=newest or seen, start=None if newest or seen else start, recent=recent)
                return taken
            self.progress.save(seen=seen, after=after, newest=newest, start=start, recent=recent, walk_ids=walk_ids)
        return taken


def _pending_item(raw: bytes) -> dict[str, Any] | None:
    """A stored notification, or None if it can never be read (not JSON, no media id)."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return item if isinstance(item, dict) and item.get("media_id") else None


def _comment_item(raw: bytes) -> dict[str, Any] | None:
    """A stored comment, or None if it can never be read (not JSON, no comment id)."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return item if isinstance(item, dict) and item.get("comment_id") else None


def pollers_for(settings: Settings, redis: Redis, intake: Intake) -> list[InstagramPoller]:
    return [InstagramPoller(settings, redis, intake)] if settings.instagram.enabled else []
