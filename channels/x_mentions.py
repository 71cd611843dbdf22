"""@lapor1708 mentions on X: the poller, and the reply client the reply worker uses.

tweepy's API v2 `Client` talks to a hard-coded `https://api.twitter.com`; its public `session` attribute is a
requests Session, so `XApiSession` (a Session that rewrites that prefix to `x.base_url` and remembers the last
rate-limit headers) is the seam that points it at the fake provider in development and tests, with no tweepy
internals touched.

Cursor rules: a poll walks `get_users_mentions(since_id=cursor)` page by page (newest page first). Each page is
made durable (MentionIntake.take) before the next page is asked for, and the progress (`next_token` and the
poll's `newest_id`) is saved after each page, so a poll that fails half-way resumes where it stopped. The
since_id cursor moves to `newest_id` only when the last page is durable. A mention seen again is deduplicated by
its tweet id in intake, and gets no second reply. The very first poll (no cursor) asks only for the mentions of
the last `x.first_poll_lookback_minutes` (`start_time`): an account with a long history is not answered all at once.
A poll asks from `x.since_lookback_seconds` before the cursor, for the mentions X indexes late, and passes over the
ones of that window it read before (ReadMentions), until a walk that looked back began that long after the cursor was
first read (our clock): then from the cursor itself.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import re
import time
import warnings
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy
from redis import Redis
from redis.exceptions import RedisError

from channels.social import (
    AT_SIGN,
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
from gateway.errors import NotDurable
from gateway.health.signals import HealthSignals, endpoint
from gateway.intake import Intake
from gateway.lease import lease_account
from gateway.logs import context_of_its_own, get_logger
from gateway.replies import load_replies
from gateway.settings import Settings, XSettings
from normalizer.envelope import Attachment, Channel, SenderKind, utc_now
from normalizer.inbound import InboundMessage
from normalizer.keywords import parse_text
from normalizer.quoted_posts import POST_URL

log = get_logger()

SOURCE = "x-mentions"
TWITTER_HOST = "https://api.twitter.com"
PROGRESS_KEY = "lapor:cursor:x:{user_id}"
# `entities.mentions.username`: the accounts a mention names, in `includes.users` (X's mention object needs only a
# username: its id is optional), for the ids our reply leaves out (others_named).
EXPANSIONS = ["author_id", "attachments.media_keys", "referenced_tweets.id", "entities.mentions.username"]
TWEET_FIELDS = ["id", "text", "author_id", "created_at", "conversation_id", "referenced_tweets", "attachments", "lang",
                "entities", "note_tweet"]
MEDIA_FIELDS = ["media_key", "type", "url", "preview_image_url", "variants", "duration_ms"]
USER_FIELDS = ["id", "username", "name"]
MEDIA_TYPES = {"photo": "image/jpeg", "video": "video/mp4", "animated_gif": "video/mp4"}
PREVIEW_TYPE = "image/jpeg"
UNKNOWN_TYPE = "application/octet-stream"
# The flag of a post's file the gateway could not take (workers.media.NOT_FETCHED: its report goes without it).
NOT_FETCHED = "not_fetched"
REQUEST_TIMEOUT = 10.0
# What tweepy raises reading a 2xx whose JSON is not of the shape it expects (a list, `data` or `includes` of another
# type): an answer X (or a proxy before it) spoiled, not a bug of ours.
UNREADABLE_ANSWER = (AttributeError, KeyError, TypeError)
# X serves only the newest ~800 mentions. A walk from since_id that reads about that many may not have reached
# since_id: the mentions in between are out of reach, and operators are told (channel.mentions_gap).
REACHABLE_MENTIONS = 800
GAP_WARNING_AT = 750
TWITTER_EPOCH_MS = 1288834974657
# How long the set of mentions read in the look-back window (ReadMentions) outlives the last poll that wrote it.
READ_SET_IDLE_SECONDS = 7 * 86400
# The earliest `start_time` X takes ("'start_time' must be on or after 2010-11-06T00:00:01Z"): a first poll's lookback
# reaching further back is asked from there.
EARLIEST_START_TIME = datetime(2010, 11, 6, 0, 0, 1, tzinfo=UTC).timestamp()
# The references whose post a report carries, marked as quoted: a quote tweet's, and an answer's (retweets are skipped).
QUOTING = frozenset({"quoted", "replied_to"})
STATUS_LINK = re.compile(r"/status(?:es)?/(\d+)")
# X's 403 to a reply into a conversation whose author restricted who can reply: API v2's `detail` ("Reply to this
# conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you
# are replying to."), and the legacy error (code 433, "The original Tweet author restricted who can reply to this
# Tweet.").
REPLY_RESTRICTED_PHRASES = ("reply to this conversation is not allowed", "restricted who can reply",
                            "not allowed to reply")
REPLY_RESTRICTED_CODE = 433
# The `channel_meta` key of the accounts a reply leaves out of its prefix (`others_named`); the gateway's alone, sent to
# no case store (workers.report_payload.GATEWAYS_OWN).
REPLY_EXCLUDE = "reply_exclude"


class XApiSession(requests.Session):
    """A requests Session for tweepy that sends `https://api.twitter.com/...` to `base_url` instead."""

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.last_headers: Mapping[str, str] = {}
        # The items of the last answer's `data` list that tweepy cannot read as posts, and the ids of the posts of its
        # `includes` left out as unreadable (see _readable_posts).
        self.set_aside: list[Any] = []
        self.posts_set_aside: set[str] = set()
        self.hooks["response"].extend([self._readable_reset, self._readable_error, self._readable_posts,
                                       self._remember])

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        url = url.decode() if isinstance(url, bytes) else url
        if url.startswith(TWITTER_HOST):
            url = self.base_url + url[len(TWITTER_HOST):]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)

    @staticmethod
    def _readable_reset(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """A 429 whose x-rate-limit-reset is no integer loses it. tweepy reads it with int() before it raises
        TooManyRequests: its ValueError was classified a bad payload (an error line, the channel's poll failing)
        instead of a rate limit; without a reset the poller waits as after a server error."""
        reset = response.headers.get("x-rate-limit-reset")
        if response.status_code == 429 and reset is not None:
            try:
                int(reset)
            except ValueError:
                del response.headers["x-rate-limit-reset"]
        return response

    @staticmethod
    def _readable_error(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """An error answer whose JSON body is not the object tweepy reads (a proxy's `"upstream unavailable"` or
        `[]`, `errors` not a list of objects) is read as one without a body. tweepy raised AttributeError or
        TypeError from it instead of its exception for the status: the poll crashed (`poller.crashed`, the channel
        shown healthy), a 429 lost its reset, a reply's 503 was no server error."""
        if response.ok or not response.content:
            return response
        try:
            body = response.json()
        except ValueError:  # not JSON: tweepy reads that as the status line alone
            return response
        errors = body.get("errors", []) if isinstance(body, dict) else None
        if not isinstance(errors, list) or not all(isinstance(item, str | dict) for item in errors):
            response._content = b"{}"
        return response

    def _readable_posts(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """A page whose `data` holds a post tweepy cannot read (`edit_history_tweet_ids` a number or a list of
        objects, `referenced_tweets` no list of references) without it: tweepy raised reading the page, and the one
        post made all of it a bad payload at every poll, every other mention on it held back. Those posts are kept in
        `set_aside` for the poller (XMentionsPoller._set_aside), the rest read as X gave them. Only a page asked for
        (GET): a reply's answer whose `data` is a list is no post, which says the reply may be out (XReplyClient)."""
        self.set_aside, self.posts_set_aside = [], set()
        if not response.ok or not response.content or response.request.method != "GET":
            return response
        try:
            body = response.json()
        except ValueError:
            return response
        if not isinstance(body, dict):
            return response
        read = dict(body)
        data = body.get("data")
        if isinstance(data, list):
            bad = [unreadable_post(item) is not None for item in data]  # each read once: tweepy builds an object
            if any(bad):
                self.set_aside = [item for item, spoiled in zip(data, bad, strict=True) if spoiled]
                read["data"] = [item for item, spoiled in zip(data, bad, strict=True) if not spoiled]
        includes = body.get("includes")
        for name, kind in INCLUDED if isinstance(includes, dict) else ():
            items = includes.get(name)
            if not isinstance(items, list):
                continue
            bad = [unreadable(kind, item) is not None for item in items]
            if not any(bad):
                continue
            if name == "tweets":  # the mentions that answer or quote one go unread (mentions_of); "": which is unknown
                self.posts_set_aside |= {post_id(item.get("id") if isinstance(item, dict) else None) or ""
                                         for item, spoiled in zip(items, bad, strict=True) if spoiled}
            read["includes"] = {**read.get("includes", includes),
                                name: [item for item, spoiled in zip(items, bad, strict=True) if not spoiled]}
        if read != body:
            response._content = json.dumps(read).encode()
        return response

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.last_headers = dict(response.headers)
        return response


# Libraries whose debug lines carry credentials: tweepy prints request headers (the bearer token); oauthlib and
# requests-oauthlib print the OAuth 1.0a parameters, the consumer key and access token among them.
CREDENTIAL_LOGGERS = ("tweepy", "oauthlib", "requests_oauthlib")


def build_client(base_url: str, bearer_token: str | None = None, *, oauth1: XSettings | None = None) -> tweepy.Client:
    """A tweepy Client on an XApiSession: with `bearer_token` (OAuth 2.0), or signing with the OAuth 1.0a User
    Context of `oauth1` (its consumer key and secret, access token and secret) for calls made with user_auth=True."""
    for name in CREDENTIAL_LOGGERS:  # off whatever the log level
        logging.getLogger(name).setLevel(logging.INFO)
    if oauth1 is not None:
        client = tweepy.Client(bearer_token=bearer_token, consumer_key=oauth1.consumer_key,
                               consumer_secret=oauth1.consumer_secret, access_token=oauth1.access_token,
                               access_token_secret=oauth1.access_token_secret)
    else:
        client = tweepy.Client(bearer_token=bearer_token)
    client.session = XApiSession(base_url)
    return client


# The daily caps X puts on posting, besides the 15-minute window (`x-rate-limit-*`): the account's and the app's.
DAILY_LIMITS = ("x-user-limit-24hour", "x-app-limit-24hour")


def _rate_limit_reset(error: tweepy.TooManyRequests) -> int | None:
    """When a 429 ends: `x-rate-limit-reset`, or the reset of a daily cap used up (`x-user-limit-24hour-remaining:
    0`), whichever is later. A reply refused for the daily cap was tried again at the 15-minute window's reset, or
    each minute once that was past, for up to a day, every try another 429, and the status said the limit ended
    then."""
    resets = [error.reset_time] if error.reset_time is not None else []
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    for prefix in DAILY_LIMITS:
        try:
            if int(headers.get(f"{prefix}-remaining", "1")) <= 0:
                resets.append(int(headers[f"{prefix}-reset"]))
        except (KeyError, ValueError):
            continue
    return max(resets) if resets else None


# X's problem type for a 429 that is a plan's usage cap used up (`UsageCapExceeded`, with `period` Monthly and
# `scope` Product), not the 15-minute window: no reset in its headers ends it.
USAGE_CAPPED = "/problems/usage-capped"
# Its errors' reason (`x_usage_cap`), and a failed reply's kind (`channels.social.failure_kind`).
USAGE_CAP = "usage_cap"
CAP_WORD = re.compile(r"^[A-Za-z]{1,20}$")


def usage_capped(error: Exception, held: str = "nothing is read") -> ProviderError | None:
    """A 429 for the plan's usage cap, as a poll failure that says so; None for any other error. Read as a rate
    limit, every view said "rate limited until" the window's reset, a quarter of an hour ahead, again and again for the
    rest of the month, while no mention was read. A failing poll it is: retried with the backoff of one, its reason
    naming the cap. Only X's own words for the cap's period and scope are kept (never its `detail`); `held`: what
    waits for the reset (a reply's: "no reply is posted")."""
    if not isinstance(error, tweepy.TooManyRequests):
        return None
    try:
        body = error.response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not (str(body.get("type") or "").endswith(USAGE_CAPPED)
                                          or body.get("title") == "UsageCapExceeded"):
        return None
    words = [str(body[name]) for name in ("period", "scope") if CAP_WORD.match(str(body.get(name) or ""))]
    cap = " ".join(words) or "usage"
    return ProviderError(ProviderErrorKind.SERVER, f"429 UsageCapExceeded: the plan's {cap} cap is used up, {held} "
                         "until it resets", status=429, reason=USAGE_CAP)


def said(error: Exception) -> str:
    """What X answered, as logs, dead letters and the status views may show it: the status line and X's error codes
    (`400 Bad Request code=186`), never the words of its messages. Those may quote what it was asked about (a
    post's author, its words), and no rule scrubs a handle or a word from a line; they are read for the kind of
    error (`classify`) and no further."""
    if not isinstance(error, tweepy.HTTPException):
        return str(error)
    status_line = str(error).partition("\n")[0]
    codes = [str(code) for code in error.api_codes if isinstance(code, int) and not isinstance(code, bool)]
    return status_line + (f" code={','.join(codes)}" if codes else "")


def classify(error: Exception) -> ProviderError:
    """A tweepy/requests failure as one of the four provider error kinds."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, tweepy.TooManyRequests):
        reset = _rate_limit_reset(error)
        return ProviderError(ProviderErrorKind.RATE_LIMIT, said(error), status=status,
                             retry_at=float(reset) if reset is not None else None)
    if isinstance(error, tweepy.Forbidden) and "duplicate content" in str(error).lower():
        # Not our token: X refuses a tweet identical to one we posted (a retried reply that went out before).
        return ProviderError(ProviderErrorKind.BAD_PAYLOAD, said(error)[:200], status=status, duplicate=True)
    if isinstance(error, tweepy.Forbidden) and "deleted or not visible" in str(error).lower():
        # Not our token: the citizen deleted the mention, or their account went protected, before we replied.
        return ProviderError(ProviderErrorKind.BAD_PAYLOAD, said(error)[:200], status=status, gone=True)
    if isinstance(error, tweepy.Forbidden) and (
            REPLY_RESTRICTED_CODE in error.api_codes
            or any(phrase in str(error).lower() for phrase in REPLY_RESTRICTED_PHRASES)):
        # Not our token: the author of the conversation limited who may reply in it, and we are not among them.
        return ProviderError(ProviderErrorKind.BAD_PAYLOAD, said(error)[:200], status=status, restricted=True,
                             code=REPLY_RESTRICTED_CODE if REPLY_RESTRICTED_CODE in error.api_codes else None)
    if isinstance(error, tweepy.Unauthorized | tweepy.Forbidden | tweepy.NotFound):
        return ProviderError(ProviderErrorKind.AUTH, said(error), status=status)
    if isinstance(error, requests.ConnectionError | requests.Timeout):  # no answer: say why
        return ProviderError(ProviderErrorKind.SERVER, type(error).__name__, status=status)
    if isinstance(error, tweepy.TwitterServerError) or (
            isinstance(error, tweepy.HTTPException) and status is not None and status >= 500):
        return ProviderError(ProviderErrorKind.SERVER, said(error), status=status)  # what X answered: "503 ..."
    if not isinstance(error, tweepy.HTTPException):
        # The error's type alone: the words of one raised before any answer quote the request, the bearer token
        # among them (requests' InvalidHeader quotes the Authorization header it refuses), and they went to the
        # logs, the dead letters and every status view.
        return ProviderError(ProviderErrorKind.BAD_PAYLOAD, type(error).__name__, status=status)
    return ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"{type(error).__name__}: {said(error)}"[:200], status=status)


# What a 200's `errors` about the account itself (`resource_type` user, `parameter` id: the path's user id) mean,
# read from X's words but said in ours: its `detail` quotes the id asked about.
ACCOUNT_ERRORS = (("suspended", "account suspended"), ("could not find", "account not found"),
                  ("not authorized", "account not readable"))


def account_unreadable(response: Any, user_id: str) -> ProviderError | None:
    """The error of a mentions answer that is a 200 with no `data` and an `errors` item about the account polled: X
    answers so for a suspended account, an id that names none (a mistyped `x.user_id`) or a protected one. Read as an
    empty page, every poll was a success and the channel healthy while no mention could be read. An AUTH error: the
    channel goes down with why, and the poller asks again slowly. Errors about what a page includes (a quoted post
    deleted) are not about the account: those pages are read, their mentions taken."""
    if response.data or not isinstance(response.errors, list):
        return None
    for error in response.errors:
        if (not isinstance(error, Mapping) or error.get("resource_type") != "user" or error.get("parameter") != "id"
                or error.get("section") == "includes"):
            continue
        if str(error.get("resource_id") or error.get("value") or "") not in ("", user_id):
            continue
        words = str(error.get("detail") or "").lower()
        meaning = next((meant for phrase, meant in ACCOUNT_ERRORS if phrase in words), "account not readable")
        return ProviderError(ProviderErrorKind.AUTH, f"200 with errors: {meaning} (x.user_id)", status=200)
    return None


def unreadable(kind: type, item: Any) -> Exception | None:
    """What tweepy raises reading `item` as a `kind` (tweepy.Tweet, User, Media), None when it reads it."""
    try:
        with warnings.catch_warnings():  # a post without `edit_history_tweet_ids` is read (tweepy warns)
            warnings.simplefilter("ignore")
            kind(item)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        return error
    return None


def unreadable_post(item: Any) -> Exception | None:
    """What tweepy raises reading `item` (one of a page's `data`) as a post, None when it reads it."""
    return unreadable(tweepy.Tweet, item)


# The parts of a page's `includes` tweepy reads into objects, each left out alone when it cannot read it: a user (an
# author X gave in part: no name) is then unknown, as one X left out (see channels.social._without_others_posts); a
# file is not attached; a post, quoted or answered, makes the mentions that quote or answer it unread.
INCLUDED = (("tweets", tweepy.Tweet), ("users", tweepy.User), ("media", tweepy.Media))


def post_id(value: Any) -> str | None:
    """`value` as a post's id (X's ids are strings of digits), None when it is none."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    return value if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _readable_mentions(entities: Any) -> dict[str, Any] | None:
    """The `entities` of a post set aside as far as they can be read for sure: each mention's `id` and `username`
    (what `others_named` reads), None when there are none."""
    kept = []
    for item in _mentions(entities):
        found, username = post_id(item.get("id")), item.get("username")
        if found or isinstance(username, str):
            kept.append({**({"id": found} if found else {}), **({"username": username} if isinstance(username, str)
                                                                  else {})})
    return {"mentions": kept} if kept else None


# A post's words opening as X's retweet does ("RT @<author>: ..."), read only where its references cannot be.
RELAYS = re.compile(rf"\s*RT\s*{AT_SIGN}")


def set_aside_mention(item: Any, own_user_id: str, ids_by_username: Mapping[str, str] | None = None
                      ) -> tuple[InboundMessage, Exception] | None:
    """A mention tweepy could not read (XApiSession._readable_posts), as far as it can be read for sure, with the
    error, for the poller to keep unfiled (`plain_mention`): its words (a long post's whole, `note_tweet.text`) and
    author; the accounts it names
    (`entities.mentions`, `note_tweet.entities.mentions`: our reply leaves them out, as a filed mention's); the posts
    it answers or quotes only if their references can be read, and anonymous if it answers or quotes any (or they
    cannot be read). None for one not to take (ours, a retweet) or that cannot be kept (no id or author to read:
    `mention.rejected`). One whose references cannot be read and whose words open as X's retweet ("RT @warga:
    @lapor1708 #anonim ...") is rejected too (`mention.rejected`, reason `retweet_unreadable`): kept, a retry filed it
    as the retweeter's own report, the whistleblower's handle in its words, and answered it in public."""
    error = unreadable_post(item) or TypeError("unreadable post")
    if not isinstance(item, dict) or post_id(item.get("id")) is None or post_id(item.get("author_id")) is None:
        log.warning("mention.rejected", channel=SOURCE, reason="bad_payload", error=type(error).__name__)
        metrics.labelled(metrics.REJECTED, SOURCE, "bad_payload").inc()
        return None
    references = item.get("referenced_tweets")
    # Its id, author and words alone (any other field may be the one of another shape), and its references if read.
    readable: dict[str, Any] = {"id": item["id"], "author_id": item["author_id"], "text": item.get("text"),
                                "edit_history_tweet_ids": []}
    if (entities := _readable_mentions(item.get("entities"))) is not None:
        readable["entities"] = entities
    note, note_read = item.get("note_tweet"), {}
    if isinstance(note, dict):
        note_read = {**({"text": note["text"]} if isinstance(note.get("text"), str) and note["text"] else {}),
                     **({"entities": found} if (found := _readable_mentions(note.get("entities"))) else {})}
        if note_read:
            readable["note_tweet"] = note_read
    if references is not None and unreadable_post({**readable, "referenced_tweets": references}) is None:
        readable["referenced_tweets"] = references
    elif references is not None and any(isinstance(words, str) and RELAYS.match(words)
                                        for words in (item.get("text"), note_read.get("text"))):
        log.warning("mention.rejected", channel=SOURCE, reason="retweet_unreadable", error=type(error).__name__)
        metrics.labelled(metrics.REJECTED, SOURCE, "retweet_unreadable").inc()
        return None
    tweet = tweepy.Tweet(readable)
    if str(tweet.author_id) == own_user_id or is_retweet(tweet):
        log.debug("mention.ignored", channel=SOURCE,
                  reason="own_tweet" if str(tweet.author_id) == own_user_id else "retweet")
        return None
    return plain_mention(tweet, answers=bool(references), own_user_id=own_user_id,
                         ids_by_username=ids_by_username), error


def edit_history(tweet: tweepy.Tweet) -> list[str]:
    """The ids of every version of the post, oldest first (`edit_history_tweet_ids`, a default field): X gives each
    edit a new id, so one post edited is several mentions, each newer than the last."""
    return [str(post_id) for post_id in tweet.data.get("edit_history_tweet_ids") or []]


def earlier_versions(tweet: tweepy.Tweet) -> list[str]:
    """The ids of the versions this one replaced by an edit, oldest first (none for a post never edited)."""
    history = edit_history(tweet)
    return history[:history.index(str(tweet.id))] if str(tweet.id) in history else []


def superseded(tweet: tweepy.Tweet) -> bool:
    """Whether a later version of this post exists: the mention to take is that one, newer, so read in this walk or
    an earlier one (X returns the latest version of an edited post, an earlier one only when asked for by its id)."""
    history = edit_history(tweet)
    return str(tweet.id) in history and history[-1] != str(tweet.id)


def is_retweet(tweet: tweepy.Tweet) -> bool:
    """A repost of another post (`referenced_tweets` of type `retweeted`, which X gives every retweet: the field is
    asked for). Not a post whose words open with "RT @": that is a citizen's own post relaying another ("RT
    @warga_dago: lampu jalan mati @lapor1708 tolong"), the old manual retweet, whose first post may not name us at
    all: passed over as a retweet, its report was lost without a word."""
    referenced = tweet.referenced_tweets or []
    return any(getattr(ref, "type", None) == "retweeted" for ref in referenced)


def _video_variant(media: tweepy.Media, max_bytes: int | None) -> str | None:
    """The address of a video's (or GIF's) MP4 to fetch, from its `variants` (several bit rates, and an HLS
    playlist, which is no file): the best one whose size, by its bit rate over `duration_ms`, fits `max_bytes`
    (`attachments.max_bytes`: a larger one is refused by the fetch, and the report had no video at all), else the
    smallest. None without an MP4."""
    mp4 = [(int(variant.get("bit_rate") or 0), str(variant["url"])) for variant in media.variants or []
           if isinstance(variant, Mapping) and variant.get("content_type") == "video/mp4" and variant.get("url")]
    if not mp4:
        return None
    mp4.sort()
    duration = float(media.duration_ms or 0) / 1000
    fitting = [url for rate, url in mp4 if duration and max_bytes and rate * duration / 8 <= max_bytes]
    return fitting[-1] if fitting else mp4[0][1]


def _attachments(tweet: tweepy.Tweet, media_by_key: Mapping[str, tweepy.Media],
                 video_max_bytes: int | None = None) -> list[Attachment]:
    """The post's photos, and each video or GIF as its still (a JPEG: kept for an anonymous report, whose video the
    gateway withholds) and its MP4 (`variants`: with the still alone, a citizen's video came as one frame of it).

    A file whose entry the page does not give (`includes.media` without it, or one tweepy could not read, left out by
    XApiSession._readable_posts) is listed without an address, flagged `not_fetched` as a file the forward worker could
    not fetch, and logged (`attachment.unreadable`): dropped, the citizen's photo was lost without a word, and the
    agency read a report with no sign that it had one."""
    keys = (tweet.attachments or {}).get("media_keys", [])
    attachments = []
    for key in keys:
        media = media_by_key.get(key)
        if media is None:
            # Its key is not logged: it opens the post, an anonymous reporter's among them.
            log.warning("attachment.unreadable", channel=SOURCE, reason="media_unreadable")
            attachments.append(Attachment(content_type=UNKNOWN_TYPE, location="", flags=[NOT_FETCHED]))
            continue
        if media.url:
            location, content_type = media.url, MEDIA_TYPES.get(media.type, "application/octet-stream")
        elif media.preview_image_url:  # a video or GIF has no url: its still, a JPEG, is what the address holds
            location, content_type = media.preview_image_url, PREVIEW_TYPE
        else:
            location = content_type = None
        if location and content_type:
            attachments.append(Attachment(content_type=content_type, location=location, name=key))
        video = None if media.url else _video_variant(media, video_max_bytes)
        if video:
            attachments.append(Attachment(content_type="video/mp4", location=video, name=key))
    return attachments


def _own_media_link(url: Mapping[str, Any], tweet_id: str) -> bool:
    """The t.co link X appends for a post's own photo or video (`x.com/<handle>/status/<id>/photo/1`): the file is
    an attachment already, and the link names the sender's handle, which an anonymous report must not carry."""
    expanded = str(url.get("expanded_url") or "")
    return bool(url.get("media_key")) or bool(re.search(rf"/status/{tweet_id}/(photo|video)/", expanded))


def _links_to(url: Mapping[str, Any], post_ids: Collection[str]) -> bool:
    """A link to one of `post_ids` (`x.com/<handle>/status/<id>`: a quote tweet's link to the post it quotes)."""
    found = STATUS_LINK.search(str(url.get("expanded_url") or ""))
    return found is not None and found.group(1) in post_ids


def tweet_text(tweet: tweepy.Tweet, quoted_ids: Collection[str] = ()) -> str:
    """What the citizen wrote, whole and as they typed it. A post over 280 characters (X Premium) comes whole only as
    `note_tweet.text` (`text` is cut short); X escapes `&`, `<` and `>` as HTML entities (`Rp 50rb &amp; KTP`);
    its t.co links stand for the addresses the citizen wrote (`expanded_url`), and the link of the post's own
    photo or video is left out (see _own_media_link), as is a link to a post in `quoted_ids`, which the report
    carries marked as quoted, or leaves out as ours (see quoted_posts)."""
    note = tweet.data.get("note_tweet") or {}
    text, entities = (note["text"], note.get("entities")) if note.get("text") else (tweet.text, tweet.entities)
    text = html.unescape(text)
    for url in (entities or {}).get("urls") or []:
        short = url.get("url")
        if not short:
            continue
        left_out = _own_media_link(url, str(tweet.id)) or _links_to(url, quoted_ids)
        text = text.replace(short, "" if left_out else str(url.get("unwound_url") or url.get("expanded_url") or short))
    return text


def _label(key: str) -> str:
    """A mark from config/replies.toml, Indonesian then English: `Kutipan ... / Quoted ...`."""
    table = load_replies()[key]
    return f"{table['id']} / {table['en']}"


def _without_handle(text: str, username: str | None) -> str:
    """`text` with `@username` and `x.com/username` (twitter.com too) standing as `@[pelapor / reporter]`. The at sign
    is also X's fullwidth one (`＠username`, which X takes for a mention as well: `channels.social.AT_SIGN`)."""
    if not username:
        return text
    table = load_replies()["report_reporter_handle"]
    return re.sub(rf"({AT_SIGN}|\b(?:x|twitter)\.com/){re.escape(username)}(?!\w)",
                  lambda found: f"{found.group(1)}[{table['id']} / {table['en']}]", text, flags=re.IGNORECASE)


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max(0, max_chars - 1)].rstrip() + "…"


def quoted_posts(tweet: tweepy.Tweet, posts: Mapping[str, tweepy.Tweet], own_user_id: str,
                 reporter_username: str | None, max_chars: int) -> tuple[str | None, set[str]]:
    """The posts a mention quotes or answers (X returns them in `includes.tweets`), marked for the report: a quote
    tweet's or an answer's substance is often all in them ("@lapor1708 tolong ditindak"). Returns the marked text
    and the ids of the posts whose links the mention's own text leaves out (see tweet_text).

    Each is marked as not the reporter's words, with its address (`x.com/i/status/<id>`: no handle in it), cut to
    `max_chars`; the reporter's @handle (and a link to their profile) inside it is replaced, as a post that names
    them would name the sender of an anonymous report. The reporter's own earlier post is marked as theirs, without
    its address (it opens their profile). Our own posts are left out: an answer to our reply, or a quote of it, is
    about its report (gateway.followups). A post quoted that X could not give (deleted, protected: `errors`) is
    marked by its address alone. The link X appends to a quote is no word of the reporter's either, whatever it
    quotes: read with them, "<id>" quoting our reply was an addition to that report (the link its text), not a
    status query."""
    blocks, held = [], set()
    for ref in tweet.referenced_tweets or []:
        post = posts.get(str(ref.id))
        if ref.type not in QUOTING or str(ref.id) in held:
            continue
        if post is None or str(post.author_id) == own_user_id:
            if ref.type == "quoted":
                held.add(str(ref.id))
                if post is None:
                    blocks.append(f"[{_label('report_quoted_post')}] {POST_URL.format(post_id=ref.id)}")
            continue
        # Without X's reply prefix (the handles of the thread it answers, a whistleblower's among them: a post that
        # answers another) and the links to the posts it quotes or answers in turn (`x.com/<handle>/status/<id>`: the
        # handle, and the post). A post that answers nothing keeps the handles it opens with: its own words ("@kades
        # menerima suap"), the one it accuses among them.
        its_own = {str(up.id) for up in post.referenced_tweets or []}
        text = tweet_text(post, its_own).strip()
        if any(up.type == "replied_to" for up in post.referenced_tweets or []):
            text = strip_leading_mentions(text).strip() or text
        text = _cut(_without_handle(text, reporter_username), max_chars)
        if str(post.author_id) == str(tweet.author_id):
            label = f"[{_label('report_earlier_post')}]"
        elif _asks_anonymity(post):
            # Someone else's post asking anonymity, whatever our records say of it (gone after 30 days, or never
            # read): its mark alone, as for one that filed an anonymous report (channels.social), not its words
            # and address, which name its author beside the anonymous report the same words filed.
            blocks.append(f"[{_label('report_quoted_post')}]")
            held.add(str(ref.id))
            continue
        else:
            label = f"[{_label('report_quoted_post')}] {POST_URL.format(post_id=post.id)}"
        blocks.append("\n".join([label, *(f"> {line}" for line in text.splitlines() or [""])]))
        held.add(str(ref.id))
    return ("\n\n".join(blocks) or None), held


def to_inbound(tweet: tweepy.Tweet, users: Mapping[str, tweepy.User],
               media_by_key: Mapping[str, tweepy.Media], posts: Mapping[str, tweepy.Tweet] | None = None,
               own_user_id: str = "", quoted_max_chars: int = 1000, video_max_bytes: int | None = None,
               ids_by_username: Mapping[str, str] | None = None) -> InboundMessage:
    """The mention as an inbound message; `posts`: the page's `includes.tweets` (see quoted_posts)."""
    author = users.get(str(tweet.author_id))
    created: datetime | None = tweet.created_at
    own = _own_posts(tweet, posts or {})
    quoted, quoted_ids = quoted_posts(tweet, posts or {}, own_user_id, author.username if author else None,
                                      quoted_max_chars)
    return InboundMessage(
        channel=Channel.TWITTER,
        source=SOURCE,
        provider_message_id=str(tweet.id),
        sender_kind=SenderKind.X_USER,
        sender_address=str(tweet.author_id),
        sender_display_name=(author.name if author else None),
        text=strip_leading_mentions(tweet_text(tweet, quoted_ids)),
        received_at=created or utc_now(),
        attachments=_attachments(tweet, media_by_key, video_max_bytes),
        channel_meta={"tweet_id": str(tweet.id), **_conversation(tweet, posts or {}),
                      "username": author.username if author else None,
                      **({"edit_of": earlier} if (earlier := earlier_versions(tweet)) else {}),
                      **({REPLY_EXCLUDE: others} if (others := others_named(tweet, own_user_id, ids_by_username))
                         else {})},
        replied_to=_referenced(tweet, "replied_to"),
        quoted_post=_referenced(tweet, "quoted"),
        quoted_text=quoted,
        own_posts=own,
        own_post_anonymous=_own_post_anonymous(own, posts or {}),
        thread_parents=_thread_parents(tweet, posts or {}),
    )


def _thread_parents(tweet: tweepy.Tweet, posts: Mapping[str, tweepy.Tweet]) -> tuple[str, ...]:
    """The posts that the posts the mention answers or quotes answer in turn (`includes.tweets` gives each with its
    own `referenced_tweets`): one step up the thread, past a neighbour's answer or our reply, to what may be the
    sender's own filed post (see InboundMessage.thread_parents)."""
    parents: list[str] = []
    for ref in tweet.referenced_tweets or []:
        post = posts.get(str(ref.id)) if ref.type in QUOTING else None
        for up in (post.referenced_tweets or []) if post is not None else []:
            if up.type == "replied_to" and str(up.id) not in parents and str(up.id) != str(tweet.id):
                parents.append(str(up.id))
    return tuple(parents)


def _own_posts(tweet: tweepy.Tweet, posts: Mapping[str, tweepy.Tweet]) -> tuple[str, ...]:
    """The ids of the posts the mention answers or quotes that its own author wrote (X names each post's author in
    `includes.tweets`): a reporter going on under their own mention is adding to the report it filed."""
    return tuple(str(ref.id) for ref in tweet.referenced_tweets or []
                 if ref.type in QUOTING and (post := posts.get(str(ref.id))) is not None
                 and str(post.author_id) == str(tweet.author_id))


def _conversation(tweet: tweepy.Tweet, posts: Mapping[str, tweepy.Tweet]) -> dict[str, str]:
    """The mention's `conversation_id`, unless it is someone else's post it answers that asks anonymity: a named
    report answering it would carry the id that opens it (see quoted_posts). The sender's own stays: it tells what
    their answer adds to (channels.social)."""
    conversation = str(tweet.conversation_id or tweet.id)
    root = posts.get(conversation)
    if root is not None and str(root.author_id) != str(tweet.author_id) and _asks_anonymity(root):
        return {}
    return {"conversation_id": conversation}


def _asks_anonymity(post: tweepy.Tweet) -> bool:
    """Whether a post's own words ask anonymity (`#anonim`, `ANONIM`, in words), as the keyword grammar reads them."""
    return parse_text(strip_leading_mentions(tweet_text(post))).anonymous


def _own_post_anonymous(own: Sequence[str], posts: Mapping[str, tweepy.Tweet]) -> bool:
    """Whether a post of the sender's own (`own`: `_own_posts`) that the mention answers or quotes asks anonymity
    (`#anonim`, `ANONIM`, in words): the report it filed may be out of reach (its claim expired), and the answer, a
    report of its own, quotes those words beside the sender's handle."""
    return any(_asks_anonymity(posts[post_id]) for post_id in own)


def _referenced(tweet: tweepy.Tweet, kind: str) -> str | None:
    """The id of the post the mention answers (`replied_to`) or quotes (`quoted`), if it does."""
    return next((str(ref.id) for ref in tweet.referenced_tweets or [] if ref.type == kind), None)


def _mentions(entities: Any) -> list[Mapping[str, Any]]:
    """The `mentions` of a post's (or its note's) `entities`, each an object; none when they are of another shape."""
    mentions = entities.get("mentions") if isinstance(entities, Mapping) else None
    return [item for item in mentions if isinstance(item, Mapping)] if isinstance(mentions, list) else []


def others_named(tweet: tweepy.Tweet, own_user_id: str, ids_by_username: Mapping[str, str] | None = None
                 ) -> str | None:
    """The accounts a mention names besides its author and us (`entities.mentions`: the handles of the thread it
    answers, X's reply prefix, and any it tags), comma-separated; None when there are none. X names each of them again
    in the prefix of a reply to the mention (API v2 replies "to all", unless told `reply.exclude_reply_user_ids`), so
    our reply with its Tracking ID reached every account the citizen tagged or answered: the official a whistleblower's
    #anonim mention answered was notified of the report, and every mention of a thread pinged its whole cast.

    A post over 280 characters has the mentions of its cut `text` in `entities`, and those of the whole post in
    `note_tweet.entities`: both are read (an official tagged at the end of a long post was notified). X's mention
    object needs only `username` (`id` is optional): one without an id is found by its username in
    `ids_by_username` (the page's `includes.users`, which the `entities.mentions.username` expansion fills)."""
    note = tweet.data.get("note_tweet") if isinstance(tweet.data, Mapping) else None
    named = [*_mentions(tweet.data.get("entities") if isinstance(tweet.data, Mapping) else None),
             *_mentions(note.get("entities") if isinstance(note, Mapping) else None)]
    ids = []
    for item in named:
        found = post_id(item.get("id"))
        username = item.get("username")
        if found is None and isinstance(username, str) and ids_by_username:
            found = ids_by_username.get(username.lower())
        ids.append(found or "")
    others = [i for i in dict.fromkeys(ids) if i and i not in (str(tweet.author_id), own_user_id)]
    return ",".join(others) or None


def usernames(users: Any) -> dict[str, str]:
    """The ids of a page's `includes.users` by username, lowercased (X's usernames are case-insensitive)."""
    found = {}
    for user in users or []:
        name, user_id = getattr(user, "username", None), post_id(getattr(user, "id", None))
        if isinstance(name, str) and user_id:
            found.setdefault(name.lower(), user_id)
    return found


def reply_target(message: InboundMessage) -> dict[str, str]:
    """The mention our reply answers, and the accounts its prefix leaves out (`others_named`): to its author alone."""
    others = message.channel_meta.get(REPLY_EXCLUDE)
    return {"tweet_id": message.provider_message_id, **({"exclude": others} if isinstance(others, str) else {})}


def mentions_of(response: Any, own_user_id: str, quoted_max_chars: int = 1000,
                video_max_bytes: int | None = None,
                unread: list[tuple[InboundMessage, Exception]] | None = None,
                posts_set_aside: Collection[str] = ()) -> list[InboundMessage]:
    """The page's mentions as inbound messages, oldest first, without our own tweets, retweets, and versions of a post
    edited since (see superseded; a later version says which it replaced: `channel_meta.edit_of`). With `unread`, a
    mention whose reading raised (a bug of ours, a field of a shape not met before) goes there as far as it can be
    read for sure (`plain_mention`), with the error, for the poller to keep unfiled: raised, it made the whole page
    unreadable, every poll, and no mention after it was filed. `posts_set_aside`: the ids of the page's included posts
    left out as unreadable (XApiSession._readable_posts; "" for one without an id): a mention that answers or quotes
    one is unread too, as what it quotes, and whose it is, cannot be read."""
    includes = response.includes or {}
    users = {str(user.id): user for user in includes.get("users", [])}
    ids_by_username = usernames(includes.get("users", []))
    media_by_key = {media.media_key: media for media in includes.get("media", [])}
    posts = {str(post.id): post for post in includes.get("tweets", [])}
    messages = []
    for tweet in sorted(response.data or [], key=lambda t: int(t.id)):
        if str(tweet.author_id) == own_user_id:
            log.debug("mention.ignored", channel=SOURCE, reason="own_tweet")
            continue
        try:
            # Inside the guard: a field of a shape not met before raised here too, and made the page unreadable.
            if is_retweet(tweet):
                log.debug("mention.ignored", channel=SOURCE, reason="retweet")
                continue
            if superseded(tweet):
                log.debug("mention.ignored", channel=SOURCE, reason="edited_since")
                continue
            references = {str(ref.id) for ref in tweet.referenced_tweets or [] if ref.type in QUOTING}
            if references and posts_set_aside and ("" in posts_set_aside or references & set(posts_set_aside)):
                raise ValueError("a post it answers or quotes could not be read")
            messages.append(to_inbound(tweet, users, media_by_key, posts, own_user_id, quoted_max_chars,
                                       video_max_bytes, ids_by_username))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            if unread is None:
                raise
            unread.append((plain_mention(tweet, own_user_id=own_user_id, ids_by_username=ids_by_username), error))
    return messages


def plain_mention(tweet: tweepy.Tweet, *, answers: bool = False, own_user_id: str = "",
                  ids_by_username: Mapping[str, str] | None = None) -> InboundMessage:
    """A mention as far as it can be read for sure when its reading raised (`to_inbound`): its words and author,
    without its files or the posts it quotes; its address (`permalink`) shows them. Kept unfiled (gateway.unfiled),
    filed as such by a retry. The posts it answers or quotes are kept as far as their ids can be read (an answer to
    our reply still adds to its report), but not whose they are: one answering or quoting any post, or whose posts
    cannot be read, is filed anonymous (`own_post_anonymous`), as it may answer its sender's own #anonim mention (the
    whistleblower's answer under it, kept so, was filed named, their handle sent with it). `answers`: it answers or
    quotes a post whose reference could not be read. The accounts it names besides its author and us (`others_named`)
    are left out of our reply, as a filed mention's are: without them, its retry's reply named every one (an #anonim
    answer under an accused official's post notified the official)."""
    permalink = f"https://x.com/i/web/status/{tweet.id}"
    # Words that cannot be read are its address: read as no words, it was answered with help in public and released,
    # its report (a photo, say) lost.
    # A post over 280 characters is whole only in `note_tweet.text` (`text` is cut short: see tweet_text).
    note = tweet.data.get("note_tweet") if isinstance(tweet.data, Mapping) else None
    words = note.get("text") if isinstance(note, Mapping) and isinstance(note.get("text"), str) else None
    words = words or tweet.text
    text = html.unescape(words) if isinstance(words, str) else permalink
    try:
        replied_to, quoted = _referenced(tweet, "replied_to"), _referenced(tweet, "quoted")
        answers = answers or bool(tweet.referenced_tweets)
    except (AttributeError, KeyError, TypeError, ValueError):
        replied_to, quoted, answers = None, None, True
    try:
        others = others_named(tweet, own_user_id, ids_by_username)
    except (AttributeError, KeyError, TypeError, ValueError):
        others = None
    return InboundMessage(
        channel=Channel.TWITTER, source=SOURCE, provider_message_id=str(tweet.id), sender_kind=SenderKind.X_USER,
        sender_address=str(tweet.author_id), text=strip_leading_mentions(text), received_at=utc_now(),
        channel_meta={"tweet_id": str(tweet.id), "permalink": permalink, "read_in_part": True,
                      **({REPLY_EXCLUDE: others} if others else {})},
        replied_to=replied_to, quoted_post=quoted, own_post_anonymous=answers,
    )


def tweet_time(tweet_id: str | int) -> str:
    """When a tweet was posted, from its snowflake id (RFC 3339, UTC)."""
    return datetime.fromtimestamp(snowflake_ms(tweet_id) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_mentions_gap(gap_from: str, oldest_id: str, walked: int) -> None:
    """A walk read about as many mentions as X keeps reachable, or was cut short by its pages: those posted between
    `gap_from` (since_id's time, or the first poll's start_time) and the oldest one read may be lost to the API.
    Nothing can fetch them; an operator can look them up on x.com for that window."""
    # Times, not ids: the log redaction takes a 19-digit id for a phone number.
    log.warning("channel.mentions_gap", channel=SOURCE, mentions_read=walked, reachable=REACHABLE_MENTIONS,
                gap_from=gap_from, gap_to=tweet_time(oldest_id),
                detail="mentions posted between gap_from and gap_to may be out of the API's reach")


def x_progress(redis: Redis, user_id: str) -> PollProgress:
    """since_id, and the next_token, newest_id and start_time of an unfinished poll."""
    return PollProgress(redis, PROGRESS_KEY.format(user_id=user_id),
                        fields=("since_id", "next_token", "newest_id", "start_time", "walked", "oldest_id"))


def snowflake_ms(tweet_id: str | int) -> int:
    """When a tweet was posted, from its snowflake id: Unix milliseconds."""
    return (int(tweet_id) >> 22) + TWITTER_EPOCH_MS


def first_snowflake(ms: int) -> int:
    """The lowest snowflake id of the millisecond `ms` (Unix), 0 before X's epoch."""
    return max(0, ms - TWITTER_EPOCH_MS) << 22


def looked_back(cursor: str, seconds: float) -> str:
    """The since_id a poll asks with: the cursor set back by `seconds`, as the lowest id of the moment that long before
    the cursor's post. The cursor itself for 0 seconds, or an id that carries no time (below 2**22)."""
    back = int(seconds * 1000)
    if back <= 0 or int(cursor) >> 22 == 0:
        return cursor
    return str(max(first_snowflake(snowflake_ms(cursor) - back), 1))


class ReadMentions:
    """The mentions polls read in the look-back window (`x.since_lookback_seconds`): a sorted set under
    `lapor:x:read:<user_id>`, each scored by its post's time (ms), and beside it `lapor:x:read-from:<user_id>`, which
    cursor the last walk saved, the time (ms) above which the set holds every mention read since (`from_ms`), and when
    (our clock) that cursor was first saved (`saved_at`) and a walk that looked back from it began (`looked_at`).

    X's mentions timeline gives some posts late: a mention indexed after a newer one was read has an id below the
    cursor, and a poll asking `since_id=<cursor>` never reads it (a report lost without a word). So a poll asks from
    the cursor set back by the window, and passes over the mentions of that window it read before: filed once, they
    are not taken, counted, answered or noted in the health signals again. Only a late one, never read, is taken.

    Neither key holds a post's id: an anonymous mention's id opens the post and its author, and may stand only where
    the README's anonymity section says. Members and the cursor are a keyed hash of the id
    (`privacy.reply_handle_secret`), enough to know one read again; times stand as milliseconds.

    The cursor (`lapor:cursor:x:<user_id>`) keeps its meaning and form: the newest mention read. The look-back never
    asks below `from_ms`, and a cursor moved by anyone else (a release without the look-back, during a rolling upgrade;
    the look-back switched off a while) is not the one recorded here: the set then starts again from that cursor, so
    mentions read by the other are not read again as new."""

    def __init__(self, redis: Redis, user_id: str, secret: str) -> None:
        self._redis = redis
        self._secret = secret.encode()
        self._user_id = user_id
        self.key = f"lapor:x:read:{user_id}"
        self.from_key = f"lapor:x:read-from:{user_id}"

    def mark(self, post_id: str) -> str:
        """What stands for a post's id here: a keyed hash, the same for the same id."""
        message = f"x-read:{self._user_id}:{post_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def record(self) -> dict[str, str]:
        """The record beside the set, read once by a poll for each of the questions below."""
        return {key.decode(): value.decode() for key, value in self._redis.hgetall(self.from_key).items()}

    def read_from(self, record: Mapping[str, str], cursor: str) -> str:
        """The lowest id a poll from `cursor` may ask from: the first of `from_ms` while the cursor is the one recorded,
        else the cursor itself."""
        if record.get("cursor") != self.mark(cursor) or not record.get("from_ms", "").isdigit():
            return cursor
        return str(min(int(cursor), first_snowflake(int(record["from_ms"]))))

    def settled(self, record: Mapping[str, str], cursor: str, lookback: float) -> bool:
        """Whether a walk that looked back from `cursor` began at least the window after the cursor was first saved,
        both on our clock: a mention posted before the cursor's that X gives late has then been read."""
        try:
            return (record.get("cursor") == self.mark(cursor)
                    and float(record["looked_at"]) >= float(record["saved_at"]) + lookback)
        except (KeyError, ValueError):
            return False

    def walk(self, record: Mapping[str, str], since_id: str) -> tuple[str, float] | None:
        """The since_id and start (our clock) of the unfinished walk from the cursor `since_id`, if one began here."""
        if record.get("walk_cursor") != self.mark(since_id):
            return None
        try:
            return record.get("walk_since") or since_id, float(record["walk_at"])
        except (KeyError, ValueError):
            return None

    def walking(self, since_id: str, asked: str, began: float, keep_seconds: float) -> None:
        """A walk from the cursor `since_id` that asked its first page from `asked` at `began` goes on to another page:
        its resumes ask as it did, and it counts as begun then. Only an `asked` below the cursor is written: a walk
        that looks back asks from a moment's first id, never a post's."""
        walk_since = asked if int(asked) < int(since_id) else ""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.from_key, mapping={"walk_cursor": self.mark(since_id), "walk_since": walk_since,
                                              "walk_at": repr(began)})
            pipe.expire(self.from_key, int(keep_seconds) + READ_SET_IDLE_SECONDS)
            pipe.execute()

    def already(self, ids: Collection[str]) -> set[str]:
        """Those of `ids` read before."""
        if not ids:
            return set()
        ordered = list(ids)
        scores = self._redis.zmscore(self.key, [self.mark(post_id) for post_id in ordered])
        return {post_id for post_id, score in zip(ordered, scores, strict=True) if score is not None}

    def add(self, ids: Collection[str], keep_seconds: float) -> None:
        """Remember `ids` as read (their page is durable); the set is dropped if no poll touches it for long."""
        if ids:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(self.key, {self.mark(post_id): snowflake_ms(post_id) for post_id in ids})
                pipe.expire(self.key, int(keep_seconds) + READ_SET_IDLE_SECONDS)
                pipe.execute()

    def moved(self, record: Mapping[str, str], cursor: str, floor: str, keep_from: str, keep_seconds: float, *,
              now: float, looked_at: float | None) -> None:
        """The walk saved `cursor`; the set holds what was read above `floor`, and keeps what was posted from
        `keep_from` on. `record`: as the walk found it (its `walking` marks are dropped with it). `now`: when the walk
        ended; `looked_at`: when it began, if it looked back from `cursor`.

        The floor is kept as its millisecond: a poll may ask from that millisecond's first id. `floor` itself, a cursor
        another release saved when the set starts again from it, is remembered as read, so it is not taken as new;
        one that release read in the same millisecond below it would be (and deduplicated by intake)."""
        same = record.get("cursor") == self.mark(cursor)
        # Complete from the later of the two: what was read below `keep_from` is trimmed here, and a poller with a
        # larger window (raised at a restart, another host's during a rollout) asking below it took it as new.
        mapping = {"cursor": self.mark(cursor), "from_ms": str(max(snowflake_ms(floor), snowflake_ms(keep_from))),
                   "saved_at": record.get("saved_at", repr(now)) if same else repr(now)}
        looked = repr(looked_at) if same and looked_at is not None else record.get("looked_at") if same else None
        if looked is not None:
            mapping["looked_at"] = looked
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.key, {self.mark(floor): snowflake_ms(floor)})
            pipe.delete(self.from_key)
            pipe.hset(self.from_key, mapping=mapping)
            pipe.expire(self.from_key, int(keep_seconds) + READ_SET_IDLE_SECONDS)
            pipe.zremrangebyscore(self.key, "-inf", f"({snowflake_ms(keep_from)}")
            pipe.execute()


class XMentionsPoller:
    """One account's mentions. `poll_once` returns how long to wait before the next poll."""

    channel = SOURCE

    def __init__(self, settings: Settings, redis: Redis, intake: Intake, *, clock: Clock = time.time,
                 client: tweepy.Client | None = None) -> None:
        self.settings = settings.x
        self.video_max_bytes = settings.attachments.max_bytes
        self.account = lease_account(settings, "x")  # the lease: one poller of this account polls at a time
        self.client = client or build_client(self.settings.base_url, self.settings.bearer_token)
        # The host a failing poll's reason names (`api.twitter.com`, or the fake provider's `127.0.0.1:8090`).
        self.where = endpoint(self.settings.base_url)
        self.progress = x_progress(redis, self.settings.user_id)
        self.mentions = MentionIntake(redis, settings, intake, reply_target)
        self.read = ReadMentions(redis, self.settings.user_id, settings.privacy.reply_handle_secret)
        self.signals = HealthSignals(redis)
        self.clock = clock
        self.backoff = Backoff(self.settings.error_retry_seconds, self.settings.auth_retry_seconds,
                               self.settings.max_poll_interval_seconds, clock,
                               rate_limit_max_seconds=self.settings.rate_limit_max_wait_seconds)

    def poll_once(self, go_on: GoOn = unleased) -> float:
        """One round of up to `max_pages` pages, asking `go_on` before each; the delay before the next round. Every
        line of the round names the channel."""
        with context_of_its_own(channel=self.channel):
            return self._round(go_on)

    def _round(self, go_on: GoOn) -> float:
        try:
            taken = self._poll(go_on)
        except (ProviderError, NotDurable, RedisError) as error:
            return after_poll_error(self.channel, self.signals, self.backoff, error, self.where)
        after_poll_success(self.channel, self.signals, self.backoff)
        delay = self._next_interval()
        (log.info if taken else log.debug)("channel.polled", channel=self.channel, mentions=taken,
                                           next_poll_seconds=round(delay, 1))
        return delay

    def _poll(self, go_on: GoOn) -> int:
        state = self.progress.load()
        # A newest_id no post id (saved from a spoiled page by an older release) is dropped: the walk's own is read.
        since_id, token, newest = state.get("since_id"), state.get("next_token"), post_id(state.get("newest_id"))
        # Until the account has a cursor, every poll starts at the same moment, fixed (and saved) by the first.
        start = None if since_id else state.get("start_time") or self._first_poll_start()
        if start and not state.get("start_time"):
            self.progress.save(since_id=None, start_time=start)
        # Above which id every mention read is remembered (ReadMentions): the look-back asks from no lower.
        record = self.read.record() if self.lookback else {}
        read_from = None
        if self.lookback:
            read_from = self.read.read_from(record, since_id) if since_id else self._start_id(start)
        began = self.clock()
        asked = self._asked_since(record, since_id, read_from)
        walk = self.read.walk(record, since_id) if token and since_id and self.lookback else None
        if walk is not None:  # a walk resumed asks as its first page did, and began when that one was asked
            asked, began = walk
        resumed = bool(token)
        taken, pages = 0, 0
        walked, oldest = int(state.get("walked") or 0), state.get("oldest_id")
        while pages < self.settings.max_pages:
            if not go_on():  # the lease went to another process: it goes on from the progress saved below
                return taken
            try:
                response = self._page(asked, token, start)
            except tweepy.BadRequest as error:
                if token:  # an expired pagination token: start this poll again from since_id (dedup covers it)
                    log.warning("channel.pagination_reset", channel=self.channel)
                    self.progress.save(since_id=since_id, start_time=start)
                raise classify(error) from error
            except (tweepy.TweepyException, requests.RequestException, ValueError) as error:
                raise (usage_capped(error) or classify(error)) from error
            except UNREADABLE_ANSWER as error:  # a 200 whose JSON tweepy cannot read into a page
                raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"unreadable mentions page: {type(error).__name__}",
                                    status=200) from error
            unreadable = account_unreadable(response, self.settings.user_id)
            if unreadable is not None:
                raise unreadable
            meta = response.meta or {}
            if not isinstance(meta, dict):  # read as an object below: it raised past the poll's error handling
                raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, "unreadable mentions page: meta not an object",
                                    status=200)
            # A `newest_id` that is no post id crashed the round where the cursor is moved (`poller.crashed`, every
            # round): a bad payload, the page's mentions taken first, the cursor left where it is.
            spoiled = newest is None and meta.get("newest_id") is not None and post_id(meta["newest_id"]) is None
            newest = newest or post_id(meta.get("newest_id"))
            unread: list[tuple[InboundMessage, Exception]] = []
            try:
                page_ids = [int(tweet.id) for tweet in response.data or []]
                messages = mentions_of(response, self.settings.user_id, self.settings.quoted_post_max_chars,
                                       self.video_max_bytes, unread,
                                       getattr(self.client.session, "posts_set_aside", None) or ())
            except (AttributeError, KeyError, TypeError, ValueError) as error:
                raise ProviderError(ProviderErrorKind.BAD_PAYLOAD, f"unreadable mentions page: {error}") from error
            page_ids += self._set_aside(response, unread)
            if self.lookback:  # the look-back window's mentions read before: filed once, passed over
                again = self.read.already({str(post_id) for post_id in page_ids})
                messages = [message for message in messages if message.provider_message_id not in again]
                unread = [(message, error) for message, error in unread if message.provider_message_id not in again]
            for message, error in unread:
                self.mentions.keep_unfiled(message, error)
            self.mentions.take(messages)
            if self.lookback:
                self.read.add({str(post_id) for post_id in page_ids}, self.lookback)
            taken += len(messages)
            if spoiled:
                raise ProviderError(ProviderErrorKind.BAD_PAYLOAD,
                                    "unreadable mentions page: meta.newest_id is no post id", status=200)
            # A walk goes from the newest mention to older ones: a page that names itself as the next one, or brings
            # back no mention older than the walk has read (pages in a cycle, A -> B -> A), was read again and again,
            # and no newer mention was ever asked for (they wait for the walk). Its mentions are taken; the walk ends.
            repeated = token is not None and (meta.get("next_token") == token or bool(
                page_ids and oldest and min(page_ids) >= int(oldest)))
            walked, oldest = walked + len(page_ids), str(min(page_ids)) if page_ids else oldest
            pages += 1
            token = meta.get("next_token")
            cut = bool(token and repeated)
            if cut:
                log.warning("channel.pagination_repeated", channel=self.channel, pages=pages)
                token = None
            if not token:
                # A walk cut short by its pages leaves the mentions between since_id and the oldest read unread, as
                # one past X's reach does: since_id moves past them, so every view says so (silent, they were lost).
                # A walk that read back past since_id (into the look-back window) left none of them unread. The gap
                # starts where the walk asked from (the look-back's since_id): a mention X gives late may be there too.
                gap_from = tweet_time(asked) if asked else start if cut else None
                reached = bool(since_id and oldest and int(oldest) <= int(since_id))
                if gap_from and oldest and not reached and (walked >= GAP_WARNING_AT or cut):
                    log_mentions_gap(gap_from, oldest, walked)
                    self.signals.mentions_gap(self.channel, gap_from, tweet_time(oldest))
                if newest:
                    # Never back: the newest of a walk that read only the window's (a late mention) is below it.
                    cursor = str(max(int(newest), int(since_id or 0)))
                    self.progress.save(since_id=cursor)
                    if self.lookback and read_from:
                        # Kept: the whole window below the new cursor, whether the next poll looks back or not.
                        keep_from = max(int(looked_back(cursor, self.lookback)), min(int(read_from), int(cursor)))
                        # A walk looked back if it asked from below the cursor from its first page on: one resumed
                        # here that another release began (from the cursor) did not, whatever it asked since.
                        looked = (since_id is not None and asked is not None and int(asked) < int(since_id)
                                  and (walk is not None or not resumed))
                        self.read.moved(record, cursor, read_from, str(keep_from), self.lookback,
                                        now=self.clock(), looked_at=began if looked and cursor == since_id else None)
                return taken
            if self.lookback and since_id and asked and not resumed and pages == 1:
                self.read.walking(since_id, asked, began, self.lookback)
            self.progress.save(since_id=since_id, next_token=token, newest_id=newest, start_time=start,
                               walked=walked, oldest_id=oldest)
        return taken

    def _set_aside(self, response: Any, unread: list[tuple[InboundMessage, Exception]]) -> list[int]:
        """The page's mentions tweepy could not read (XApiSession._readable_posts) added to `unread`, to keep unfiled,
        or rejected (`set_aside_mention`); their ids. A page none of whose mentions can be read at all is a bad
        payload, as before: nothing on it is taken, the cursor stays."""
        aside = list(getattr(self.client.session, "set_aside", None) or [])
        if not aside:
            return []
        ids = [int(found) for item in aside if isinstance(item, dict) and (found := post_id(item.get("id")))]
        if not response.data and not ids:
            raise ProviderError(ProviderErrorKind.BAD_PAYLOAD,
                                f"unreadable mentions page: {type(unreadable_post(aside[0])).__name__}", status=200)
        ids_by_username = usernames((response.includes or {}).get("users"))
        unread.extend(found for item in aside
                      if (found := set_aside_mention(item, self.settings.user_id, ids_by_username)))
        return ids

    @property
    def lookback(self) -> float:
        return self.settings.since_lookback_seconds

    def _asked_since(self, record: Mapping[str, str], since_id: str | None, read_from: str | None) -> str | None:
        """The since_id to ask with: the cursor set back by `x.since_lookback_seconds`, never below `read_from`
        (ReadMentions); None before the first cursor (the first poll's start_time bounds it)."""
        if not since_id or not self.lookback or self._settled(record, since_id):
            return since_id
        floor = min(int(read_from or since_id), int(since_id))  # never above the cursor: mentions would be skipped
        return str(max(int(looked_back(since_id, self.lookback)), floor))

    def _settled(self, record: Mapping[str, str], cursor: str) -> bool:
        """Whether a mention posted before the cursor's that X gives late has had its window to come and a walk after
        it has looked back for it (ReadMentions.settled): then a poll asks from the cursor itself. Decided by when we
        first saved the cursor and when a completed walk that looked back from it began, both on our clock: not by the
        post's age on X's clock against ours, which ended the look-back before any poll looked back after a pause (an
        outage, a 429's wait, polls spread over the quota) or with our clock ahead of X's, and read the window again
        for as long as ours was behind. Looking back from a cursor of any age read the window's mentions again at
        every poll, the newest at least, however long nobody wrote: 4 posts a minute at a poll every 15 s."""
        return self.read.settled(record, cursor, self.lookback)

    @staticmethod
    def _start_id(start: str | None) -> str | None:
        """The lowest id of the first poll's start: every mention it reads is above it, and remembered."""
        try:
            moment = datetime.strptime(start or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:  # none, or not as saved: the look-back starts at the first cursor
            return None
        return str(first_snowflake(int(moment.timestamp() * 1000)))

    def _page(self, since_id: str | None, token: str | None, start_time: str | None = None) -> Any:
        return self.client.get_users_mentions(
            self.settings.user_id, since_id=since_id, pagination_token=token, start_time=start_time,
            max_results=self.settings.max_results, expansions=EXPANSIONS,
            tweet_fields=TWEET_FIELDS, media_fields=MEDIA_FIELDS, user_fields=USER_FIELDS,
        )

    def _first_poll_start(self) -> str:
        """The account's first poll (no cursor) asks only for the last `first_poll_lookback_minutes` of mentions, and
        from no earlier than X takes: a lookback of centuries raised in every round (no date that far back), and one
        before X's earliest was refused with 400 at every poll, the start saved with the progress so that even the
        setting corrected did not end it."""
        start = max(EARLIEST_START_TIME, self.clock() - self.settings.first_poll_lookback_minutes * 60)
        return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _next_interval(self) -> float:
        """Spread the remaining quota over the time to its reset, within [poll_interval, max_poll_interval]. With
        none left, the wait for the reset is bounded too: a reset far ahead (a skewed clock, a broken answer) slept
        the poller that long after a good poll, as an uncapped 429 did (see Backoff)."""
        headers = {k.lower(): v for k, v in getattr(self.client.session, "last_headers", {}).items()}
        low, high = self.settings.poll_interval_seconds, self.settings.max_poll_interval_seconds
        try:
            remaining = int(headers["x-rate-limit-remaining"])
            reset_in = max(0.0, float(headers["x-rate-limit-reset"]) - self.clock())
        except (KeyError, ValueError):
            return low
        if remaining <= 0:
            return min(high, max(low, reset_in + 1))
        return min(high, max(low, reset_in / remaining))


def reply_not_found(error: ProviderError) -> ProviderError:
    """A reply answered 404: the message refused (`x_not_found`), not the account polled. A poll's 404 is about the
    account it reads (`auth_refusal`: LAPOR_X_USER_ID), but POST /2/tweets names no account: its 404 is X's
    "resource requested does not exist" (the post answered, as X words it for a reply) or a URL that is not the API's
    (LAPOR_X_BASE_URL behind a proxy). Read as the pollers' refusal, the views sent the operator to check the polled
    account, which was fine. Not a `gone` target: X answers a post deleted or hidden from us with 403 "deleted or not
    visible", and a 404 may be our URL; the dead letter keeps the answer."""
    return ProviderError(ProviderErrorKind.BAD_PAYLOAD, error.detail, status=error.status, reason="not_found")


class XReplyClient:
    """Posts a threaded public reply; used by the reply worker. Raises ProviderError by kind.

    Signed with the account's OAuth 1.0a User Context when it is configured (`x.oauth1`): those credentials do not
    expire. Otherwise with an OAuth 2.0 token as a bearer (`x.user_access_token`, else `x.bearer_token`), which X
    expires 2 hours after it is issued: every reply after that was refused with 401 (settings_warnings says so)."""

    def __init__(self, settings: Settings) -> None:
        x = settings.x
        self.user_auth = x.oauth1
        if self.user_auth:
            self.client = build_client(x.base_url, oauth1=x)
        else:
            self.client = build_client(x.base_url, x.user_access_token or x.bearer_token)

    def reply(self, tweet_id: str, text: str, exclude: str | None = None) -> str:
        """Our reply to the post `tweet_id`, addressed to its author alone: `exclude`, the other accounts its prefix
        would name (`others_named`, comma-separated)."""
        others = [user_id for user_id in (exclude or "").split(",") if user_id]
        try:
            response = self.client.create_tweet(text=text, in_reply_to_tweet_id=tweet_id, user_auth=self.user_auth,
                                                exclude_reply_user_ids=others or None)
            return str((response.data or {}).get("id", ""))
        except (tweepy.TweepyException, requests.RequestException, ValueError) as error:
            capped, classified = usage_capped(error, "no reply is posted"), classify(error)
            if capped is not None:  # put off as a rate limit is (a plan raised lifts it), named for what it is; the
                # 15-minute window's reset in its headers is not the cap's (workers.social_reply._reset_wait)
                raise ProviderError(ProviderErrorKind.RATE_LIMIT, capped.detail, status=429,
                                    reason=capped.reason) from error
            if classified.kind is ProviderErrorKind.AUTH and classified.status == 404:
                raise reply_not_found(classified) from error
            raise classified from error
        except UNREADABLE_ANSWER as error:
            # A 2xx whose body cannot be read: the reply may be out. Retried as after a 5xx, whose next attempt X
            # refuses as a duplicate if it is (workers.social_reply); it crashed the job as a bug of ours.
            raise ProviderError(ProviderErrorKind.SERVER, f"unreadable answer: {type(error).__name__}",
                                status=200) from error

    def close(self) -> None:
        self.client.session.close()


def pollers_for(settings: Settings, redis: Redis, intake: Intake) -> Sequence[XMentionsPoller]:
    return [XMentionsPoller(settings, redis, intake)] if settings.x.enabled else []
