"""A small fake X API v2 and Instagram Graph API for development and tests (`lapor-gateway fake-providers`).

It serves the documented response shapes of exactly the calls the gateway makes, under two prefixes:
  /x/2/users/{id}/mentions          GET  since_id, start_time, pagination_token, max_results (newest first, only
                                         the newest 800 reachable, x-rate-limit-* headers; the posts they quote or
                                         answer in includes.tweets); 401 for a wrong token
  /x/2/tweets                       POST create_tweet (a reply is recorded; 403 for a duplicate text); signed with
                                         OAuth 1.0a User Context (HMAC-SHA1, checked) or with a bearer token, else 401
  /graph/{version}/{ig-user-id}     GET  fields=mentioned_comment.comment_id(ID){..} | mentioned_media.media_id(ID){..}
                                         (with `replies.limit(N){..}` / `comments.limit(N){..}` in the braces: the
                                         replies to that comment / the comments on that post, ours among them, as
                                         field expansion gives an edge: the fields asked for (`from`: the author's
                                         id and username), data and cursors, no `next`, left out when empty)
  /graph/{version}/{ig-user-id}/tags      GET  newest first, paging.cursors.after + paging.next (a cursor whose
                                               media is gone: 400, code 2642)
  /graph/{version}/{ig-user-id}/mentions  POST media_id, comment_id, message (a reply is recorded; refused on a
                                               post whose caption does not name the account: tagged only)
  /graph/{version}/{ig-comment-id}/replies POST message: a reply to a comment under one of our own posts (recorded
                                               with its `thread`, the top-level comment, as Meta adds a reply to a
                                               reply there); GET fields, limit: the replies in that thread
and a control API for people and tests:
  POST /_fake/x/mentions            {"text", "username"?, "name"?, "author_id"?, "media"?: [{"type","url"}],
                                     "retweet"?: bool, "own"?: bool, "in_reply_to"?: id, "quote_of"?: id,
                                     "mention"?: bool (false: a post a mention may quote),
                                     "edit_of"?: id (a new version of that mention, with its author)} -> the tweet
  POST /_fake/instagram/mentions    {"text", "username"?, "kind": "comment"|"media", "media_url"?,
                                     "tagged"?: bool, "own"?: bool, "deliver"?: bool, "media_id"?: a comment
                                     on that post, "user_id"?: the commenter's id, when not the username's}
                                     -> ids (+ the signed webhook's status)
  POST /_fake/instagram/comments    {"text", "username"?, "own"?: bool, "parent_id"?: a comment it answers,
                                     "deliver"?: bool}: a comment under our own post (Meta's `comments` webhook
                                     field, never a mention) -> ids (+ the signed webhook's status)
  GET  /_fake/replies               every reply posted, per provider
  POST /_fake/faults                {"path": prefix, "status", "headers"?, "body"?, "count"?, "method"?,
                                     "after"?: bool}: the next matching requests fail like that (rate limits,
                                     outages, revoked tokens); `after`: carried out first, then answered so (a 5xx
                                     after the comment was created)
  DELETE /_fake/faults[?path=prefix] the faults still queued (those of that exact `path`) are dropped -> {"cleared": n}
Never used in production: the CLI refuses to start it outside the development profile.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849.utils import escape, parse_authorization_header, unescape

from gateway.logs import get_logger

log = get_logger()

X_ID_START = 1_860_000_000_000_000_000
IG_ID_START = 17_900_000_000_000_000
IG_USER_ID_START = 17_841_400_000_000_000  # the users' Instagram-scoped ids (ours: `ig_user_id`)
# X's ids are snowflakes: milliseconds since this moment (Unix ms), shifted left by 22 bits.
X_EPOCH_MS = 1_288_834_974_657
IG_EPOCH_MS = 1_704_067_200_000  # 2024-01-01: a started provider's Instagram ids count milliseconds from here
RATE_LIMIT = 450
X_REACHABLE = 800
FIELD_CALL = re.compile(r"^(mentioned_comment\.comment_id|mentioned_media\.media_id)\((\w+)\)")
# An edge asked for inside the braces of a mention's field: `replies.limit(50){id,text}`.
EDGE_CALL = re.compile(r"[{,](replies|comments)(?:\.limit\((\d+)\))?\{")


@dataclass(frozen=True)
class XUserKeys:
    """OAuth 1.0a User Context of the X account: the app's consumer key and secret, the account's access token and
    secret (x.consumer_key, ...), which a reply's signature must be made with."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


@dataclass
class FakeProviderConfig:
    x_bearer_token: str
    x_user_id: str
    x_username: str
    ig_user_id: str
    ig_access_token: str
    ig_app_secret: str
    webhook_url: str | None = None
    # The token replies are posted with, when it is not the bearer token (x.user_access_token).
    x_write_token: str | None = None
    # The OAuth 1.0a keys a reply may be signed with instead (x.consumer_key, ...).
    x_user_keys: XUserKeys | None = None
    # The Instagram account's own username (instagram.username): an `own` comment or post is written by it.
    ig_username: str = "lapor1708"
    # After a delivery the gateway did not answer 200 (down, Redis away: 503), the webhook is sent again after each of
    # these waits in turn, as Meta sends a failed one again (for up to 36 hours there; a few minutes here).
    webhook_retry_seconds: tuple[float, ...] = (1, 2, 4, 8, 16, 30, 60, 60, 60)


@dataclass
class Fault:
    path: str
    status: int
    headers: dict[str, str]
    body: Any
    count: int
    # Only requests of this method (None: any).
    method: str | None = None
    # The request is carried out first, then answered with the fault: the provider did it, we never heard so.
    after: bool = False


@dataclass
class FakeProviderState:
    """Everything the fake provider knows: mentions, media, comments, replies and queued faults."""

    config: FakeProviderConfig
    tweets: list[dict[str, Any]] = field(default_factory=list)
    # Posts that mention nobody we poll for: only ever returned as a mention's referenced post.
    posts: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    ig_media: dict[str, dict[str, Any]] = field(default_factory=dict)
    ig_comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    ig_tags: list[str] = field(default_factory=list)
    # The account's own post the comments of `add_own_post_comment` are under (made with the first of them).
    ig_own_post: str | None = None
    x_replies: list[dict[str, Any]] = field(default_factory=list)
    ig_replies: list[dict[str, Any]] = field(default_factory=list)
    # Graph errors for one comment or media id only ((status, body)): a lookup of that object fails like that.
    ig_object_errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Fields a mention lookup may not ask for: asked, the Graph API refuses it whole, code 100 "Tried accessing
    # nonexisting field (...)", as it does for a field its node does not have.
    ig_unsupported_fields: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Every webhook delivery attempt's outcome (`webhook_status` or `webhook_error`, `attempt`), and the tasks sending
    # failed ones again (kept, or the loop could drop them; cancelled when the app stops).
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    redeliveries: set[asyncio.Task[None]] = field(default_factory=set)
    # Like X: only the newest this many mentions can be read, whatever since_id says.
    x_reachable: int = X_REACHABLE
    rate_remaining: int = RATE_LIMIT
    rate_reset: float = 0.0
    # When this provider started (Unix seconds), for `lapor-gateway fake-providers`: its ids then go on from that
    # moment, above any an earlier run handed out, as the real providers' do. `make run` keeps its Redis across a
    # restart, and there a reused id is a mention already taken (no report, no reply) and an X id below the saved
    # since_id is never asked for. None: the fixed ids from X_ID_START and IG_ID_START the tests are written for.
    started_at: float | None = None
    _x_ids: Any = field(default_factory=lambda: itertools.count(X_ID_START, 7))
    _ig_ids: Any = field(default_factory=lambda: itertools.count(IG_ID_START, 3))

    def __post_init__(self) -> None:
        if self.started_at is not None:
            started_ms = int(self.started_at * 1000)
            self._x_ids = itertools.count(max(X_ID_START, (started_ms - X_EPOCH_MS) << 22), 7)
            self._ig_ids = itertools.count(IG_ID_START + max(0, started_ms - IG_EPOCH_MS) * 1000, 3)

    # -- injection -----------------------------------------------------------------------------------------
    def add_tweet(self, text: str, *, username: str = "warga_bandung", name: str = "Warga Bandung",
                  author_id: str | None = None, media: list[dict[str, str]] | None = None, retweet: bool = False,
                  own: bool = False, tweet_id: str | None = None, in_reply_to: str | None = None,
                  quote_of: str | None = None, mention: bool = True) -> dict[str, Any]:
        """A post that mentions the account (`mention=False`: one that does not, which a mention may quote or
        answer); `in_reply_to` / `quote_of`: the id of the post it answers / quotes (as X does,
        `referenced_tweets`, and that post in `includes.tweets` of a mentions page)."""
        tweet_id = tweet_id or str(next(self._x_ids))
        if own:
            author_id, username, name = self.config.x_user_id, self.config.x_username, "LAPOR!"
        author_id = author_id or str(int(hashlib.sha1(username.encode()).hexdigest()[:12], 16) + 10**15)
        self.users[author_id] = {"id": author_id, "username": username, "name": name}
        tweet: dict[str, Any] = {
            "id": tweet_id, "text": text, "author_id": author_id, "conversation_id": tweet_id,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "lang": "in",
            "edit_history_tweet_ids": [tweet_id],
        }
        if retweet:
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": str(next(self._x_ids))}]
            tweet["text"] = f"RT @{username}: {text}"
        references = [("replied_to", in_reply_to), ("quoted", quote_of)]
        if in_reply_to or quote_of:
            tweet["referenced_tweets"] = [{"type": kind, "id": ref} for kind, ref in references if ref]
        parent = self.tweet(in_reply_to) if in_reply_to else None
        if parent is not None:
            tweet["conversation_id"] = parent["conversation_id"]
            tweet["in_reply_to_user_id"] = parent["author_id"]
        if quote_of:
            # As X does: a quote's text ends with a t.co link to the post it quotes (to a post it does not know, too:
            # one deleted since, which X leaves out of includes.tweets).
            quoted = self.tweet(quote_of)
            author = self.users.get(quoted["author_id"], {}).get("username", "i") if quoted else "i"
            self._append_link(tweet, f"https://t.co/q{hashlib.sha1(tweet_id.encode()).hexdigest()[:9]}",
                              {"expanded_url": f"https://x.com/{author}/status/{quote_of}",
                               "display_url": f"x.com/{author}/status/{quote_of}"[:24] + "…"})
        keys = []
        for index, item in enumerate(media or []):
            key = f"3_{tweet_id}{index}"
            self.media[key] = {"media_key": key, "type": item.get("type", "photo"),
                               "url": item.get("url", f"https://pbs.twimg.com/media/{key}.jpg")}
            keys.append(key)
        if keys:
            tweet["attachments"] = {"media_keys": keys}
            # As X does: the post's text ends with a t.co link to its own first photo or video.
            link = f"https://t.co/{hashlib.sha1(tweet_id.encode()).hexdigest()[:10]}"
            self._append_link(tweet, link, {"media_key": keys[0], "display_url": f"pic.x.com/{link.rsplit('/', 1)[1]}",
                                            "expanded_url": f"https://x.com/{username}/status/{tweet_id}/photo/1"})
        (self.tweets if mention else self.posts).append(tweet)
        return tweet

    def edit_tweet(self, tweet_id: str, text: str) -> dict[str, Any] | None:
        """A new version of a post, as X makes one: a new id, the post's author and references, and every version
        naming the whole chain, oldest first (`edit_history_tweet_ids`); only the latest version is in the mentions
        timeline (an earlier one still answers a lookup by its id). None when no such post mentions the account."""
        old = next((tweet for tweet in self.tweets if tweet["id"] == tweet_id), None)
        if old is None:
            return None
        author = self.users[old["author_id"]]
        references = {ref["type"]: ref["id"] for ref in old.get("referenced_tweets", [])}
        new = self.add_tweet(text, username=author["username"], name=author["name"], author_id=old["author_id"],
                             in_reply_to=references.get("replied_to"), quote_of=references.get("quoted"))
        history = [*old["edit_history_tweet_ids"], new["id"]]
        for version in [*self.tweets, *self.posts]:
            if version["id"] in history:
                version["edit_history_tweet_ids"] = history
        self.tweets.remove(old)
        self.posts.append(old)
        return new

    @staticmethod
    def _append_link(tweet: dict[str, Any], link: str, entity: dict[str, str]) -> None:
        """A t.co link at the end of the post's text, with its `entities.urls` entry."""
        start = len(tweet["text"]) + 1
        tweet["text"] = f"{tweet['text']} {link}"
        urls = tweet.setdefault("entities", {}).setdefault("urls", [])
        urls.append({"start": start, "end": start + len(link), "url": link, **entity})

    def tweet(self, tweet_id: str) -> dict[str, Any] | None:
        return next((tweet for tweet in [*self.tweets, *self.posts] if tweet["id"] == tweet_id), None)

    def ig_user(self, username: str) -> str:
        """The Instagram-scoped user id behind a username (our own account's is `ig_user_id`): made from the
        username, so a restarted provider (`make run` keeps its Redis) gives the same person the same id."""
        if username == self.config.ig_username:
            return self.config.ig_user_id
        digest = int.from_bytes(hashlib.sha256(username.encode()).digest()[:6], "big")
        return str(IG_USER_ID_START + digest % 10**14)

    def add_ig_mention(self, text: str, *, username: str = "warga.bandung", kind: str = "comment",
                       media_url: str | None = None, tagged: bool = False, own: bool = False,
                       on_media: str | None = None, user_id: str | None = None) -> dict[str, str]:
        """A comment (or a post's caption) that mentions the account; `own`: written by the account itself, as our
        reply that names @lapor1708 is, which Meta may notify us of too; `on_media`: a comment on that post (one
        answering our reply there, say), not on a new one. A comment names its author (`from`: their user id and
        username); `user_id`: another account's under that username (one renamed, or a username taken over)."""
        if own:
            username = self.config.ig_username
        if kind == "comment" and on_media in self.ig_media:
            media_id = str(on_media)
            media = self.ig_media[media_id]
        else:
            media_id = str(next(self._ig_ids))
            # As the Graph API does: a caption that mentions the account comes without the `@`, unless it is ours.
            caption = text if own else re.sub(rf"@({re.escape(self.config.ig_username)})(?![\w.])", r"\1", text)
            media = {"id": media_id, "caption": caption if kind == "media" else "Foto jalan", "media_type": "IMAGE",
                     "media_url": media_url or f"https://scontent.cdninstagram.com/v/{media_id}.jpg",
                     "permalink": f"https://www.instagram.com/p/{media_id}/", "timestamp": _graph_time(),
                     "username": username if kind == "media" else "pemilik.akun"}
            self.ig_media[media_id] = media
        ids = {"media_id": media_id}
        if kind == "comment":
            comment_id = str(next(self._ig_ids))
            self.ig_comments[comment_id] = {"id": comment_id, "text": text, "timestamp": _graph_time(),
                                            "username": username,
                                            "from": {"id": user_id or self.ig_user(username), "username": username},
                                            "media": {"id": media_id, "permalink": media["permalink"]}}
            ids["comment_id"] = comment_id
        if tagged or kind == "media":
            self.ig_tags.append(media_id)
        return ids

    def add_own_post_comment(self, text: str, *, username: str = "warga.bandung", own: bool = False,
                             parent_id: str | None = None) -> dict[str, Any]:
        """A comment under our own post (one post of the account's, made once), as Meta's `comments` webhook field
        gives it; `own`: written by the account (our reply comes back so); `parent_id`: it answers that comment."""
        if own:
            username = self.config.ig_username
        if self.ig_own_post is None:
            self.ig_own_post = str(next(self._ig_ids))
            self.ig_media[self.ig_own_post] = {
                "id": self.ig_own_post, "caption": "Sampaikan aduan Anda di kolom komentar", "media_type": "IMAGE",
                "media_url": f"https://scontent.cdninstagram.com/v/{self.ig_own_post}.jpg",
                "permalink": f"https://www.instagram.com/p/{self.ig_own_post}/", "timestamp": _graph_time(),
                "username": self.config.ig_username}
        comment_id = str(next(self._ig_ids))
        value: dict[str, Any] = {"from": {"id": self.ig_user(username), "username": username},
                                 "media": {"id": self.ig_own_post, "media_product_type": "FEED"},
                                 "id": comment_id, "text": text}
        if parent_id:
            value["parent_id"] = parent_id
        self.ig_comments[comment_id] = {"id": comment_id, "text": text, "timestamp": _graph_time(),
                                        "username": username, "from": value["from"],
                                        "media": {"id": self.ig_own_post}, "thread": parent_id or comment_id}
        return value

    def webhook_payload(self, ids: dict[str, Any], field: str = "mentions") -> bytes:
        return orjson.dumps({"object": "instagram", "entry": [{
            "id": self.config.ig_user_id, "time": int(time.time()),
            "changes": [{"field": field, "value": ids}]}]})

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.config.ig_app_secret.encode(), body, hashlib.sha256).hexdigest()

    # -- faults --------------------------------------------------------------------------------------------
    def take_fault(self, path: str, method: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path) and fault.method in (None, method) and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def our_ig_comments(self, *, comment_id: str | None = None, media_id: str | None = None,
                        thread: str | None = None) -> list[dict[str, Any]]:
        """Our replies to a comment, our comments on a post itself (its caption answered), or our replies in a
        thread under our own post, as the Graph API reads them."""
        return [{"id": reply["id"], "text": reply["message"], "username": self.config.ig_username,
                 "from": {"id": self.config.ig_user_id, "username": self.config.ig_username},
                 "timestamp": reply["timestamp"]}
                for reply in self.ig_replies
                if (reply.get("thread") == thread if thread else reply["comment_id"] == comment_id if comment_id
                    else reply["media_id"] == media_id and not reply["comment_id"])]


def _graph_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


STATE_KEY = web.AppKey("state", FakeProviderState)


def _state(request: web.Request) -> FakeProviderState:
    return request.app[STATE_KEY]


@web.middleware
async def _faults_and_log(request: web.Request, handler: Any) -> web.StreamResponse:
    state = _state(request)
    if not request.path.startswith("/_fake"):
        state.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                               "authorization": request.headers.get("Authorization", "")})
        fault = state.take_fault(request.path, request.method)
        if fault is not None:
            if fault.after:
                await handler(request)
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
    return await handler(request)


# -- X ---------------------------------------------------------------------------------------------------------
def _x_rate_headers(state: FakeProviderState) -> dict[str, str]:
    now = time.time()
    if now >= state.rate_reset:
        state.rate_remaining, state.rate_reset = RATE_LIMIT, now + 900
    state.rate_remaining = max(0, state.rate_remaining - 1)
    return {"x-rate-limit-limit": str(RATE_LIMIT), "x-rate-limit-remaining": str(state.rate_remaining),
            "x-rate-limit-reset": str(int(state.rate_reset))}


def _x_unauthorized() -> web.Response:
    return web.json_response({"title": "Unauthorized", "type": "about:blank", "status": 401,
                              "detail": "Unauthorized"}, status=401)


def _bearer_ok(request: web.Request, token: str) -> bool:
    return request.headers.get("Authorization") == f"Bearer {token}"


async def x_mentions(request: web.Request) -> web.Response:
    state = _state(request)
    if not _bearer_ok(request, state.config.x_bearer_token):
        return _x_unauthorized()
    if request.match_info["user_id"] != state.config.x_user_id:
        user_id = request.match_info["user_id"]  # X's 200 for an id that names no account
        return web.json_response({"errors": [{
            "value": user_id, "detail": f"Could not find user with id: [{user_id}].", "title": "Not Found Error",
            "resource_type": "user", "parameter": "id", "resource_id": user_id,
            "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    query = request.query
    since = int(query.get("since_id") or 0)
    until = int(query["pagination_token"]) if query.get("pagination_token", "").isdigit() else None
    if query.get("pagination_token") and until is None:
        return web.json_response({"errors": [{"message": "pagination_token invalid"}], "title": "Invalid Request",
                                  "detail": "One or more parameters to your request was invalid."}, status=400)
    limit = max(5, min(100, int(query.get("max_results") or 10)))
    # start_time: the oldest created_at returned (ISO 8601, UTC); same format as created_at, so strings compare.
    start = query.get("start_time", "")[:19]
    reachable = sorted(state.tweets, key=lambda t: int(t["id"]), reverse=True)[:state.x_reachable]
    matching = sorted((t for t in reachable if int(t["id"]) > since and (until is None or int(t["id"]) < until)
                       and t["created_at"][:19] >= start),
                      key=lambda t: int(t["id"]), reverse=True)
    page, rest = matching[:limit], matching[limit:]
    headers = _x_rate_headers(state)
    if not page:
        return web.json_response({"meta": {"result_count": 0}}, headers=headers)
    meta: dict[str, Any] = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
    if rest:
        meta["next_token"] = page[-1]["id"]
    includes: dict[str, Any] = {"users": list({t["author_id"]: state.users[t["author_id"]] for t in page}.values())}
    media = [state.media[key] for t in page for key in t.get("attachments", {}).get("media_keys", [])]
    if media:
        includes["media"] = media
    if "referenced_tweets.id" in query.get("expansions", "").split(","):
        referenced = [state.tweet(ref["id"]) for t in page for ref in t.get("referenced_tweets", [])]
        if any(referenced):
            includes["tweets"] = list({t["id"]: t for t in referenced if t is not None}.values())
    return web.json_response({"data": page, "includes": includes, "meta": meta}, headers=headers)


def _oauth1_ok(request: web.Request, keys: XUserKeys | None) -> bool:
    """An `Authorization: OAuth ...` header signed as X checks it (RFC 5849, HMAC-SHA1) over this request's method,
    URL and query (a JSON body is not signed), with `keys`' consumer key and access token."""
    header = request.headers.get("Authorization", "")
    if keys is None or not header.startswith("OAuth "):
        return False
    try:
        oauth = {unescape(key): unescape(value) for key, value in parse_authorization_header(header)}
    except ValueError:  # malformed
        return False
    if (oauth.get("oauth_signature_method") != "HMAC-SHA1" or oauth.get("oauth_consumer_key") != keys.consumer_key
            or oauth.get("oauth_token") != keys.access_token):
        return False
    params = oauth1_signature.collect_parameters(uri_query=request.query_string, headers={"Authorization": header})
    base = oauth1_signature.signature_base_string(
        request.method, oauth1_signature.base_string_uri(str(request.url)),
        oauth1_signature.normalize_parameters(params))
    key = f"{escape(keys.consumer_secret)}&{escape(keys.access_token_secret)}"
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))


async def x_create_tweet(request: web.Request) -> web.Response:
    state = _state(request)
    if not (_oauth1_ok(request, state.config.x_user_keys)
            or _bearer_ok(request, state.config.x_write_token or state.config.x_bearer_token)):
        return _x_unauthorized()
    body = await request.json()
    if any(reply["text"] == body.get("text", "") for reply in state.x_replies):  # X refuses identical tweets
        return web.json_response({"detail": "You are not allowed to create a Tweet with duplicate content.",
                                  "type": "about:blank", "title": "Forbidden", "status": 403}, status=403)
    tweet_id = str(next(state._x_ids))
    reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
    state.x_replies.append({"id": tweet_id, "text": body.get("text", ""), "in_reply_to_tweet_id": reply_to,
                            "exclude_reply_user_ids": (body.get("reply") or {}).get("exclude_reply_user_ids")})
    state.add_tweet(body.get("text", ""), own=True, tweet_id=tweet_id, in_reply_to=reply_to)
    return web.json_response({"data": {"id": tweet_id, "text": body.get("text", ""),
                                       "edit_history_tweet_ids": [tweet_id]}}, status=201)


# -- Instagram Graph API ---------------------------------------------------------------------------------------------
def _graph_error(message: str, code: int, status: int = 400, subcode: int | None = None) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException" if code == 190 else "GraphMethodException",
                             "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode:
        error["error_subcode"] = subcode
    return web.json_response({"error": error}, status=status)


def _token_refused(request: web.Request) -> web.Response | None:
    """The Graph API's refusal of a request without the account's access token; None with it."""
    token = request.query.get("access_token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token != _state(request).config.ig_access_token:
        return _graph_error("Invalid OAuth access token - Cannot parse access token", 190)
    return None


def _graph_checks(request: web.Request) -> web.Response | None:
    state = _state(request)
    if (refused := _token_refused(request)) is not None:
        return refused
    if request.match_info["ig_user_id"] != state.config.ig_user_id:
        return _graph_error("Unsupported get request.", 100, subcode=33)
    return None


async def graph_user(request: web.Request) -> web.Response:
    if request.match_info["ig_user_id"] != _state(request).config.ig_user_id:
        return _graph_comment(request)  # GET /{ig-comment-id}: the same path shape
    refused = _graph_checks(request)
    if refused:
        return refused
    state = _state(request)
    match = FIELD_CALL.match(request.query.get("fields", ""))
    if not match:
        return web.json_response({"id": state.config.ig_user_id})
    name, object_id = match.groups()
    refused = _unsupported_field(state, request.query.get("fields", ""),
                                 "IGCommentMention" if name.startswith("mentioned_comment") else "IGMediaMention")
    if refused:
        return refused
    if object_id in state.ig_object_errors:
        status, body = state.ig_object_errors[object_id]
        return web.json_response(body, status=status)
    store = state.ig_comments if name.startswith("mentioned_comment") else state.ig_media
    found = store.get(object_id)
    if found is None:
        return _graph_error("Unsupported get request. Object does not exist", 100, subcode=33)
    edge = EDGE_CALL.search(request.query.get("fields", ""))
    if edge is not None:
        asked = _fields_in_braces(request.query.get("fields", ""), edge.end())
        found = {**found, **_graph_edge(state, name, object_id, edge.group(1), int(edge.group(2) or 25), asked)}
    return web.json_response({name.split(".")[0]: found, "id": state.config.ig_user_id})


def _unsupported_field(state: FakeProviderState, fields: str, node: str) -> web.Response | None:
    """The Graph API's refusal of a request whose `fields` name one of `ig_unsupported_fields`; None otherwise."""
    for unsupported in sorted(state.ig_unsupported_fields):
        if re.search(rf"(?:^|[{{,]){re.escape(unsupported)}(?:$|[{{,}}])", fields):
            return _graph_error(f"(#100) Tried accessing nonexisting field ({unsupported}) on node type ({node})", 100)
    return None


def _fields_in_braces(fields: str, start: int) -> set[str]:
    """The names of the fields asked for in the braces opened just before `start` (`id,text,from{id,username}`:
    id, text and from), as the Graph API serves an edge's comments with those fields only."""
    depth, names, name = 0, set(), ""
    for char in fields[start:]:
        if depth == 0 and char in ",}":
            names.add(name.strip())
            name = ""
            if char == "}":
                break
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            name += char
    return names - {""}


def _graph_edge(state: FakeProviderState, name: str, object_id: str, edge: str, limit: int, asked: set[str]
                ) -> dict[str, Any]:
    """A comment's replies or a post's comments through field expansion: oldest first (ours are the only replies a
    comment gets here; a post's comments are the mentions on it and ours), each with the fields asked for only
    (`from`: its author's id and username, as an IG Comment's), cursors without `next`, and nothing at all when
    there is none, as the Graph API leaves an empty edge out."""
    if name.startswith("mentioned_comment"):
        found = state.our_ig_comments(comment_id=object_id) if edge == "replies" else []
    else:
        citizens = [comment for comment in state.ig_comments.values()
                    if (comment.get("media") or {}).get("id") == object_id]
        found = sorted(citizens + state.our_ig_comments(media_id=object_id), key=lambda comment: int(comment["id"]))
        found = found if edge == "comments" else []
    found = [{key: value for key, value in comment.items() if key in asked | {"id"}} for comment in found]
    page = found[:limit]
    if not page:
        return {}
    return {edge: {"data": page, "paging": {"cursors": {"before": page[0]["id"], "after": page[-1]["id"]}}}}


async def graph_tags(request: web.Request) -> web.Response:
    refused = _graph_checks(request)
    if refused:
        return refused
    state = _state(request)
    unsupported = _unsupported_field(state, request.query.get("fields", ""), "IGMedia")
    if unsupported:
        return unsupported
    limit = max(1, min(100, int(request.query.get("limit") or 25)))
    ordered = list(reversed(state.ig_tags))
    after = request.query.get("after")
    if after and after not in ordered:  # as Meta: a cursor points at its item and dies with it
        return _graph_error("(#2642) Invalid cursors values", 2642)
    start = ordered.index(after) + 1 if after else 0
    page_ids = ordered[start:start + limit]
    body: dict[str, Any] = {"data": [state.ig_media[i] for i in page_ids]}
    if page_ids:
        body["paging"] = {"cursors": {"before": page_ids[0], "after": page_ids[-1]}}
        if start + limit < len(ordered):
            body["paging"]["next"] = str(request.url.update_query({"after": page_ids[-1]}))
    return web.json_response(body)


async def graph_reply(request: web.Request) -> web.Response:
    refused = _graph_checks(request)
    if refused:
        return refused
    state = _state(request)
    params = {**request.query, **(await request.post())}
    media_id, comment_id = params.get("media_id"), params.get("comment_id")
    if not media_id or media_id not in state.ig_media or (comment_id and comment_id not in state.ig_comments):
        return _graph_error("Invalid parameter", 100)
    caption = str(state.ig_media[media_id].get("caption") or "")
    if not comment_id and not re.search(rf"(?<![\w.]){re.escape(state.config.ig_username)}(?!\w)", caption, re.I):
        # As Meta: a caption that does not @mention the account takes no comment ("Commenting on photos in which you
        # were tagged is not supported").
        return _graph_error("Invalid parameter", 100)
    reply_id = str(next(state._ig_ids))
    state.ig_replies.append({"id": reply_id, "media_id": media_id, "comment_id": comment_id,
                             "message": params.get("message", ""), "timestamp": _graph_time()})
    return web.json_response({"id": reply_id})


def _own_post_comment(request: web.Request, comment_id: str | None = None) -> dict[str, Any] | web.Response:
    """The comment under our own post a `/{ig-comment-id}/replies` call (or `comment_id`) names, or the Graph API's
    refusal."""
    if (refused := _token_refused(request)) is not None:
        return refused
    comment = _state(request).ig_comments.get(comment_id or request.match_info["comment_id"])
    if comment is None or "thread" not in comment:
        return _graph_error("Unsupported get request. Object does not exist", 100, subcode=33)
    return comment


def _graph_comment(request: web.Request) -> web.Response:
    """`GET /{ig-comment-id}?fields=...`: a comment under our own post, with the fields asked for (`parent_id` for a
    reply in a thread), as the Graph API reads one on media the account owns; any other id as an object not there."""
    state = _state(request)
    fields = request.query.get("fields", "id")
    refused = _token_refused(request) or _unsupported_field(state, fields, "IGComment")
    if refused:
        return refused
    comment = _own_post_comment(request, request.match_info["ig_user_id"])
    if isinstance(comment, web.Response):
        return comment
    if comment["id"] in state.ig_object_errors:
        status, body = state.ig_object_errors[comment["id"]]
        return web.json_response(body, status=status)
    served = {**comment, **({"parent_id": comment["thread"]} if comment["thread"] != comment["id"] else {})}
    asked = _fields_in_braces(fields + "}", 0) | {"id"}
    return web.json_response({key: value for key, value in served.items() if key in asked})


async def graph_comment_reply(request: web.Request) -> web.Response:
    comment = _own_post_comment(request)
    if isinstance(comment, web.Response):
        return comment
    state = _state(request)
    params = {**request.query, **(await request.post())}
    if not params.get("message"):
        return _graph_error("Invalid parameter", 100)
    reply_id = str(next(state._ig_ids))
    state.ig_replies.append({"id": reply_id, "media_id": comment["media"]["id"], "comment_id": comment["id"],
                             "thread": comment["thread"], "message": params["message"], "timestamp": _graph_time()})
    return web.json_response({"id": reply_id})


async def graph_comment_replies(request: web.Request) -> web.Response:
    """The replies in a comment's thread (ours: the only ones here), oldest first, with the fields asked for."""
    comment = _own_post_comment(request)
    if isinstance(comment, web.Response):
        return comment
    state = _state(request)
    asked = {name.split("{")[0] for name in request.query.get("fields", "id").split(",")} | {"id"}
    limit = max(1, min(100, int(request.query.get("limit") or 25)))
    ours = state.our_ig_comments(thread=comment["thread"])
    page = [{key: value for key, value in reply.items() if key in asked} for reply in ours[:limit]]
    body: dict[str, Any] = {"data": page}
    if page:
        body["paging"] = {"cursors": {"before": page[0]["id"], "after": page[-1]["id"]}}
    return web.json_response(body)


# -- control ---------------------------------------------------------------------------------------------------
async def inject_x(request: web.Request) -> web.Response:
    body = await request.json()
    if body.get("edit_of"):
        edited = _state(request).edit_tweet(str(body["edit_of"]), body["text"])
        if edited is None:
            return web.json_response({"error": "no such mention"}, status=404)
        return web.json_response(edited, status=201)
    tweet = _state(request).add_tweet(
        body["text"], username=body.get("username", "warga_bandung"), name=body.get("name", "Warga Bandung"),
        author_id=body.get("author_id"), media=body.get("media"), retweet=bool(body.get("retweet")),
        own=bool(body.get("own")), in_reply_to=body.get("in_reply_to"), quote_of=body.get("quote_of"),
        mention=bool(body.get("mention", True)))
    return web.json_response(tweet, status=201)


async def inject_instagram(request: web.Request) -> web.Response:
    state = _state(request)
    body = await request.json()
    ids = state.add_ig_mention(body["text"], username=body.get("username", "warga.bandung"),
                               kind=body.get("kind", "comment"), media_url=body.get("media_url"),
                               tagged=bool(body.get("tagged")), own=bool(body.get("own")),
                               on_media=body.get("media_id"), user_id=body.get("user_id"))
    result: dict[str, Any] = dict(ids)
    if body.get("deliver", True):
        result.update(await _deliver(state, state.webhook_payload(ids)))
    return web.json_response(result, status=201)


async def inject_instagram_comment(request: web.Request) -> web.Response:
    state = _state(request)
    body = await request.json()
    value = state.add_own_post_comment(body["text"], username=body.get("username", "warga.bandung"),
                                       own=bool(body.get("own")), parent_id=body.get("parent_id"))
    result: dict[str, Any] = {"comment_id": value["id"], "media_id": value["media"]["id"]}
    if body.get("deliver", True):
        result.update(await _deliver(state, state.webhook_payload(value, field="comments")))
    return web.json_response(result, status=201)


async def _deliver(state: FakeProviderState, payload: bytes) -> dict[str, Any]:
    """Post a signed webhook to the gateway, as Meta does: its status, or the error that kept it from arriving. One
    that was not answered 200 is sent again in the background (`webhook_retry_seconds`), as Meta does: during a Redis
    outage the gateway answers 503, and `make run` showed such a mention never filed."""
    if not state.config.webhook_url:
        return {}
    outcome = await _post_webhook(state, payload, attempt=1)
    if outcome.get("webhook_status") != 200 and state.config.webhook_retry_seconds:
        task = asyncio.create_task(_redeliver(state, payload))
        state.redeliveries.add(task)
        task.add_done_callback(state.redeliveries.discard)
        outcome["redelivering"] = True
    return outcome


async def _post_webhook(state: FakeProviderState, payload: bytes, *, attempt: int) -> dict[str, Any]:
    assert state.config.webhook_url is not None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, session.post(
                state.config.webhook_url, data=payload,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": state.signature(payload)},
        ) as response:
            outcome: dict[str, Any] = {"webhook_status": response.status}
    except (aiohttp.ClientError, TimeoutError) as error:
        outcome = {"webhook_error": type(error).__name__}
    state.deliveries.append({**outcome, "attempt": attempt})
    return outcome


async def _redeliver(state: FakeProviderState, payload: bytes) -> None:
    """Send a failed webhook again after each of `webhook_retry_seconds` until one is answered 200."""
    for attempt, wait in enumerate(state.config.webhook_retry_seconds, start=2):
        await asyncio.sleep(wait)
        if (await _post_webhook(state, payload, attempt=attempt)).get("webhook_status") == 200:
            return
    log.warning("fake_providers.webhook_given_up", attempts=len(state.config.webhook_retry_seconds) + 1)


async def _stop_redeliveries(app: web.Application) -> None:
    for task in list(app[STATE_KEY].redeliveries):
        task.cancel()


async def replies(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response({"x": state.x_replies, "instagram": state.ig_replies})


async def add_fault(request: web.Request) -> web.Response:
    body = await request.json()
    _state(request).faults.append(Fault(path=body["path"], status=int(body["status"]),
                                        headers=dict(body.get("headers") or {}), body=body.get("body") or {},
                                        count=int(body.get("count", 1)), method=body.get("method"),
                                        after=bool(body.get("after"))))
    return web.json_response({"queued": True}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    """Drop the faults still queued, or those queued for `?path=` (the `path` they were queued with): a fault queued
    with a large `count` (a revoked token) held until it was used up, or the process restarted with all it keeps."""
    state = _state(request)
    path = request.query.get("path")
    kept = [fault for fault in state.faults if path is not None and fault.path != path]
    cleared = len(state.faults) - len(kept)
    state.faults[:] = kept
    return web.json_response({"cleared": cleared})


def create_fake_provider_app(state: FakeProviderState) -> web.Application:
    app = web.Application(middlewares=[_faults_and_log])
    app[STATE_KEY] = state
    app.on_cleanup.append(_stop_redeliveries)
    app.router.add_get("/x/2/users/{user_id}/mentions", x_mentions)
    app.router.add_post("/x/2/tweets", x_create_tweet)
    app.router.add_get("/graph/{version}/{ig_user_id}", graph_user)
    app.router.add_get("/graph/{version}/{ig_user_id}/tags", graph_tags)
    app.router.add_post("/graph/{version}/{ig_user_id}/mentions", graph_reply)
    app.router.add_post("/graph/{version}/{comment_id}/replies", graph_comment_reply)
    app.router.add_get("/graph/{version}/{comment_id}/replies", graph_comment_replies)
    app.router.add_post("/_fake/x/mentions", inject_x)
    app.router.add_post("/_fake/instagram/mentions", inject_instagram)
    app.router.add_post("/_fake/instagram/comments", inject_instagram_comment)
    app.router.add_get("/_fake/replies", replies)
    app.router.add_post("/_fake/faults", add_fault)
    app.router.add_delete("/_fake/faults", clear_faults)
    return app
