"""An Instagram reply whose attempt ended without saying whether it posted (a 5xx, a read timeout after the request
went out) is looked for before the next attempt, so a retry never posts it twice on the citizen's post.

The Graph API under respx, on a loopback URL nothing listens on, answered with the payloads Meta gives
(`tests/fixtures/instagram/graph_reply_listing_*.json`: the mention's node with its `replies` or `comments` edge by
field expansion); the reply job runs in this process, each retry put back on its queue as the scheduler does.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import respx
from redis import Redis

from channels.instagram_graph import REPLY_LISTING_LIMIT
from channels.social import SOCIAL_REPLY_FUNC
from gateway.followups import post_thread_key
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import ChannelRules, evaluate, load_rules
from gateway.queues import REPLY_QUEUE, enqueue_calls, envelope_key
from gateway.settings import Settings
from tests.conftest import TestEnvironment, log_events
from tests.social_helpers import (
    IG_SECRET,
    IG_TOKEN,
    IG_USER_ID,
    IG_VERIFY,
    fixture,
    run_reply_jobs_once_more,
    run_reply_jobs_to_the_end,
)
from workers.deadletters import DeadLetters
from workers.social_reply import ATTEMPTED_KEY, SENT_KEY, mention_ref

# On loopback, answered by respx: were respx ever bypassed, nothing listens there.
# Meta's own host (under respx: nothing leaves the machine), as a deployment names it: "lookup failed: ReadTimeout at
# graph.facebook.com" read as an address written to dodge harvesters, scrubbed to "lookup failed: [email]" everywhere.
GRAPH = "https://graph.facebook.com/v21.0"
LOOKUP_URL = f"{GRAPH}/{IG_USER_ID}"
POST_URL = f"{GRAPH}/{IG_USER_ID}/mentions"
COMMENT = fixture("instagram/graph_mentioned_comment.json")["mentioned_comment"]
MEDIA = fixture("instagram/graph_mentioned_media.json")["mentioned_media"]
ON_COMMENT = {"media_id": COMMENT["media"]["id"], "comment_id": COMMENT["id"]}
ON_CAPTION = {"media_id": MEDIA["id"]}
TRACKING_ID = "19164490"
POSTED_ID = fixture("instagram/graph_mentions_reply.json")["id"]
# Ours in the listings the fixtures give (`graph_reply_listing_*_ours.json`).
FOUND_ON_COMMENT = "17873440459141088"
FOUND_ON_CAPTION = "17902114836190017"
# The fields each comment of a listing is read with: its author by id (`from`), not by username alone.
LISTED = "id,text,username,from{id,username},timestamp"


def graph_answer(status: int, body: str | dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=fixture(f"instagram/{body}") if isinstance(body, str) else body)


SERVER_ERROR = graph_answer(500, "graph_error_unknown.json")
POSTED = graph_answer(200, "graph_mentions_reply.json")
NOTHING_THERE = graph_answer(200, "graph_reply_listing_comment_none.json")
OURS_ON_COMMENT = graph_answer(200, "graph_reply_listing_comment_ours.json")


def read_timeout(request: httpx.Request) -> httpx.Response:
    """The request went out (Meta may have created the comment); the answer never came."""
    raise httpx.ReadTimeout("timed out reading the answer", request=request)


def full_page_of_others() -> httpx.Response:
    """A busy post: a whole page of the citizens' comments, ours not on it (it may be on the next)."""
    other = fixture("instagram/graph_reply_listing_comment_ours.json")["mentioned_comment"]["replies"]["data"][0]
    page = [{**other, "id": str(17858893269063300 + n)} for n in range(REPLY_LISTING_LIMIT)]
    return httpx.Response(200, json={"mentioned_comment": {"replies": {"data": page}, "id": COMMENT["id"]},
                                     "id": IG_USER_ID})


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    return test_env.settings(
        LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET, LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY,
        LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN, LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID,
        LAPOR_INSTAGRAM_GRAPH_BASE_URL=GRAPH)


@dataclass
class GraphApi:
    """The two Graph calls a reply makes, each answered in turn from its list (a response, an exception raised, or
    a function of the request): its POST /{ig-user-id}/mentions and the lookup
    GET /{ig-user-id}?fields=mentioned_comment...{replies...} (or mentioned_media...{comments...})."""

    posts: respx.Route
    lookups: respx.Route
    fields: list[str] = field(default_factory=list)

    def answer(self, posts: list[Any], lookups: list[Any]) -> None:
        self.posts.side_effect = self._in_turn(list(posts))
        self.lookups.side_effect = self._in_turn(list(lookups), note=True)

    def _in_turn(self, answers: list[Any], *, note: bool = False) -> Any:
        def respond(request: httpx.Request) -> httpx.Response:
            assert answers, f"an unexpected call: {request.method} {request.url}"
            if note:
                self.fields.append(request.url.params["fields"])
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer
        return respond


@pytest.fixture
def graph() -> Iterator[GraphApi]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield GraphApi(posts=router.post(POST_URL), lookups=router.get(LOOKUP_URL))


def queue_reply(redis: Redis, settings: Settings, target: dict[str, str]) -> None:
    """The reply job intake queues for a report (kept: its envelope stands in Redis, as after intake)."""
    redis.set(envelope_key(TRACKING_ID), b"{}", ex=3600)
    enqueue_calls(redis, settings, REPLY_QUEUE, SOCIAL_REPLY_FUNC,
                  [("instagram", target, "social_ack", TRACKING_ID, "id")])


def sent_as(redis: Redis, target: dict[str, str]) -> bytes | None:
    value = redis.get(SENT_KEY.format(channel="instagram", target=target.get("comment_id") or target["media_id"]))
    return value if value is None else bytes(value)


@dataclass(frozen=True)
class Attempts:
    """How a reply's attempts end (`posts`, in turn), what the lookups find (`lookups`), and what must follow."""

    target: dict[str, str]
    posts: list[Any]
    lookups: list[Any]
    posted: int  # POSTs made in all
    looked: int  # lookups made in all
    recorded_as: str  # the comment id the reply is recorded as sent under


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(Attempts(ON_COMMENT, [SERVER_ERROR], [OURS_ON_COMMENT], 1, 1, FOUND_ON_COMMENT),
                     id="5xx-after-the-comment-was-created-one-comment"),
        pytest.param(Attempts(ON_COMMENT, [read_timeout], [OURS_ON_COMMENT], 1, 1, FOUND_ON_COMMENT),
                     id="read-timeout-after-the-request-went-out-one-comment"),
        pytest.param(Attempts(ON_CAPTION, [SERVER_ERROR], [graph_answer(200, "graph_reply_listing_media_ours.json")],
                              1, 1, FOUND_ON_CAPTION), id="caption-mention-found-among-the-posts-comments"),
        pytest.param(Attempts(ON_COMMENT, [SERVER_ERROR, POSTED], [NOTHING_THERE], 2, 1, POSTED_ID),
                     id="5xx-before-the-comment-was-created-the-retry-posts-once"),
        pytest.param(Attempts(ON_COMMENT, [SERVER_ERROR, POSTED],
                              [graph_answer(200, "graph_reply_listing_comment_quoted.json")], 2, 1, POSTED_ID),
                     id="a-citizen-quoting-our-reply-there-is-not-ours"),
        pytest.param(Attempts(ON_COMMENT, [graph_answer(400, "graph_error_rate_limit.json"), POSTED], [], 2, 0,
                              POSTED_ID), id="refused-with-a-rate-limit-nothing-posted-the-next-posts-unlooked"),
        pytest.param(Attempts(ON_COMMENT, [POSTED], [], 1, 0, POSTED_ID), id="a-first-attempt-never-looks"),
    ],
)
def test_an_attempt_after_one_that_may_have_posted_looks_first_and_the_reply_is_posted_once(
    redis: Redis, settings: Settings, graph: GraphApi, log_stream: io.StringIO, case: Attempts
) -> None:
    graph.answer(case.posts, case.lookups)
    queue_reply(redis, settings, case.target)
    run_reply_jobs_to_the_end(settings, redis)
    assert (graph.posts.call_count, graph.lookups.call_count) == (case.posted, case.looked)
    assert sent_as(redis, case.target) == case.recorded_as.encode()
    assert DeadLetters(redis).list() == []
    # Recorded as a reply sent: the citizen's later comment on that post adds to their report.
    assert redis.lrange(post_thread_key("instagram", case.target["media_id"]), 0, -1) == [TRACKING_ID.encode()]
    if case.looked:
        edge = "replies" if "comment_id" in case.target else "comments"
        assert graph.fields == [
            f"mentioned_comment.comment_id({COMMENT['id']}){{replies.limit(50){{{LISTED}}}}}"
            if edge == "replies" else
            f"mentioned_media.media_id({MEDIA['id']}){{comments.limit(50){{{LISTED}}}}}"]
    events = [e["event"] for e in log_events(log_stream)]
    assert events.count("reply.already_posted") == (case.posted == 1 and case.looked)
    assert events.count("reply.sent") == (case.recorded_as == POSTED_ID)


def listing_with_ours_written_as(username: str, author: dict[str, str] | None) -> Any:
    """`graph_reply_listing_comment_ours.json` with our reply's comment written by `username` and served with
    `author` as its `from` (None: no `from`), answered as the Graph API does: `from` only when the request asks
    for it."""
    body = fixture("instagram/graph_reply_listing_comment_ours.json")
    ours = body["mentioned_comment"]["replies"]["data"][1]
    ours.pop("from")
    ours["username"] = username
    if author is not None:
        ours["from"] = author

    def respond(request: httpx.Request) -> httpx.Response:
        asked = "from{id,username}" in request.url.params["fields"]
        data = [comment if asked else {k: v for k, v in comment.items() if k != "from"}
                for comment in body["mentioned_comment"]["replies"]["data"]]
        return httpx.Response(200, json={**body, "mentioned_comment": {
            **body["mentioned_comment"], "replies": {**body["mentioned_comment"]["replies"], "data": data}}})
    return respond


@pytest.mark.parametrize(
    ("listing", "recorded_as"),
    [
        pytest.param(listing_with_ours_written_as("lapor1708.resmi", {"id": IG_USER_ID, "username": "lapor1708.resmi"}),
                     FOUND_ON_COMMENT, id="account-renamed-settings-username-stale-found-by-id"),
        pytest.param(listing_with_ours_written_as("lapor1708", {"id": "17841447302958899", "username": "lapor1708"}),
                     POSTED_ID, id="our-old-username-taken-by-another-not-ours"),
        pytest.param(listing_with_ours_written_as("lapor1708", None), FOUND_ON_COMMENT,
                     id="no-author-id-served-found-by-username"),
    ],
)
def test_our_reply_in_the_listing_is_told_by_the_accounts_id_before_its_username(
    redis: Redis, settings: Settings, graph: GraphApi, listing: Any, recorded_as: str
) -> None:
    """A renamed account keeps its id while `instagram.username` goes stale: our reply is still found, not posted
    a second time in public; a comment by whoever took our old username is not ours, whatever its text. The
    username decides only when the listing serves no author id."""
    assert settings.instagram.username == "lapor1708" and settings.instagram.ig_user_id == IG_USER_ID
    graph.answer([SERVER_ERROR, POSTED], [listing])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    assert (graph.posts.call_count, graph.lookups.call_count) == (1 if recorded_as == FOUND_ON_COMMENT else 2, 1)
    assert sent_as(redis, ON_COMMENT) == recorded_as.encode()
    assert DeadLetters(redis).list() == []


@pytest.mark.parametrize(
    "lookup_failure",
    [
        pytest.param(SERVER_ERROR, id="5xx"),
        pytest.param(graph_answer(400, "graph_error_transient.json"), id="transient-400"),
        pytest.param(httpx.ConnectTimeout("connect timed out"), id="no-answer"),
        pytest.param(graph_answer(400, {"error": {"message": "Unsupported get request.", "type": "GraphMethodException",
                                                  "code": 100, "fbtrace_id": "AvB3kQ8mW1z"}}),
                     id="not-readable-yet"),
        pytest.param(full_page_of_others, id="a-full-page-without-ours"),
    ],
)
@pytest.mark.parametrize("created", [True, False], ids=["comment-created", "comment-not-created"])
def test_a_lookup_that_cannot_tell_is_retried_never_a_second_post_nor_a_lost_reply(
    redis: Redis, settings: Settings, graph: GraphApi, lookup_failure: Any, created: bool
) -> None:
    """After a 5xx, the lookup fails (or a full page of others' comments cannot say ours is not on the next): the
    reply is retried, not posted blind; once a lookup can tell, it is recorded as sent or posted, once."""
    graph.answer([SERVER_ERROR, POSTED], [lookup_failure, OURS_ON_COMMENT if created else NOTHING_THERE])
    queue_reply(redis, settings, ON_COMMENT)
    assert run_reply_jobs_once_more(settings, redis)  # the POST's 5xx: retried
    assert run_reply_jobs_once_more(settings, redis)  # the lookup could not tell: retried, nothing posted
    assert (graph.posts.call_count, graph.lookups.call_count) == (1, 1)
    assert DeadLetters(redis).list() == [] and sent_as(redis, ON_COMMENT) is None
    run_reply_jobs_to_the_end(settings, redis)
    assert (graph.posts.call_count, graph.lookups.call_count) == (1 if created else 2, 2)
    assert sent_as(redis, ON_COMMENT) == (FOUND_ON_COMMENT if created else POSTED_ID).encode()
    assert DeadLetters(redis).list() == []


def test_a_lookup_the_graph_api_does_not_have_posts_the_reply_at_once(
    redis: Redis, settings: Settings, graph: GraphApi, log_stream: io.StringIO
) -> None:
    """Meta documents no `replies` on a mentioned comment: should the Graph API refuse the field, no retry can ever
    tell, and holding every uncertain reply back for hours, then in the dead letters, would leave its citizen without
    a Tracking ID. The reply is posted (a second copy possible, as before the lookup), and the log says why."""
    graph.answer([SERVER_ERROR, POSTED], [graph_answer(400, "graph_error_nonexisting_field.json")])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    assert (graph.posts.call_count, graph.lookups.call_count) == (2, 1)
    assert sent_as(redis, ON_COMMENT) == POSTED_ID.encode() and DeadLetters(redis).list() == []
    [unsupported] = [e for e in log_events(log_stream) if e["event"] == "reply.lookup_unsupported"]
    assert unsupported["level"] == "warning" and "a field the API does not have" in unsupported["detail"]


def test_a_reply_whose_lookup_fails_through_every_retry_is_dead_lettered_unposted_and_a_requeue_looks_again(
    redis: Redis, test_env: TestEnvironment, graph: GraphApi
) -> None:
    """Leaning to one public reply: held back as `instagram_reply_unverified` (counted in the channel's failing
    replies, seen by the operator) rather than posted blind; requeued once the Graph API reads again, it looks first
    and posts only if the earlier attempt had not."""
    settings = test_env.settings(
        LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET, LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY,
        LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN, LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID,
        LAPOR_INSTAGRAM_GRAPH_BASE_URL=GRAPH, LAPOR_QUEUES_RETRY_INTERVALS="0")
    graph.answer([SERVER_ERROR], [SERVER_ERROR, OURS_ON_COMMENT])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    (letter,) = DeadLetters(redis).list()
    assert (letter.channel, letter.reason) == ("instagram-reply", "instagram_reply_unverified")
    assert letter.detail.startswith("lookup failed: 500 code=1")
    assert graph.posts.call_count == 1 and sent_as(redis, ON_COMMENT) is None
    assert redis.hget("lapor:health:signals:instagram", "reply_failures") == b"1"
    DeadLetters(redis).requeue([letter], settings)
    run_reply_jobs_to_the_end(settings, redis)
    assert (graph.posts.call_count, graph.lookups.call_count) == (1, 2)
    assert sent_as(redis, ON_COMMENT) == FOUND_ON_COMMENT.encode() and DeadLetters(redis).list() == []


@dataclass(frozen=True)
class Unconfirmed:
    """A lookup that cannot tell whether an earlier attempt posted the reply, through every retry."""

    id: str
    lookup: Any  # its answer (a response, an exception raised)
    said: str  # how the reason says the lookup ended


UNCONFIRMED = [
    Unconfirmed("lookup-answered-5xx", SERVER_ERROR, "lookup failed: 500 code=1 (unknown error, possibly temporary)"),
    Unconfirmed("lookup-timed-out", httpx.ReadTimeout("timed out"), "lookup failed: ReadTimeout"),
    Unconfirmed("a-full-page-of-others", full_page_of_others(),
                f"lookup inconclusive: a full page of {REPLY_LISTING_LIMIT} comments, ours not among them"),
]


@pytest.mark.parametrize("row", UNCONFIRMED, ids=[row.id for row in UNCONFIRMED])
def test_a_reply_held_unconfirmed_is_said_so_on_the_views_not_as_a_connection_or_server_failing(
    redis: Redis, test_env: TestEnvironment, graph: GraphApi, row: Unconfirmed
) -> None:
    """A reply held because its lookup could not tell was counted with the failure of its lookup's last answer: a
    full page of others, which no connection failed on, read "no connection" and a step to check the network; a 5xx
    sent the operator to Meta's status page. What the operator needs to know is that the reply may be out already,
    and that a requeue looks again before it posts: its own kind, `unverified` ("not confirmed")."""
    settings = test_env.settings(
        LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET, LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY,
        LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN, LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID,
        LAPOR_INSTAGRAM_GRAPH_BASE_URL=GRAPH, LAPOR_QUEUES_RETRY_INTERVALS="0")
    graph.answer([SERVER_ERROR], [row.lookup])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    (letter,) = DeadLetters(redis).list()
    assert (letter.reason, letter.failure) == ("instagram_reply_unverified", "unverified")
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["instagram"]
    health = evaluate("instagram", replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    finding = next(f for f in health.findings if f.rule == "replies")
    assert finding.reason == (f"replies failing (3 in a row): instagram_reply_unverified (not confirmed): {row.said} "
                              "(asking graph.facebook.com)"), finding.reason
    assert all(words in finding.action for words in (
        "may have posted", "looks again first",
        "then requeue them: `lapor-gateway deadletters requeue --all --channel instagram --queue lapor-reply`")), \
        finding.action
    assert not any(words in finding.action for words in ("status page", "firewall", "restart")), finding.action


def test_a_listing_whose_paging_is_not_an_object_is_a_lookup_that_cannot_tell(
    redis: Redis, test_env: TestEnvironment, graph: GraphApi
) -> None:
    """A damaged answer (`paging` a string) is a lookup that cannot tell, held as `instagram_reply_unverified` and
    never posted blind: not a job failing as a bug does (`job_failed`), its letter saying nothing of the lookup."""
    settings = test_env.settings(
        LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET, LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY,
        LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN, LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID,
        LAPOR_INSTAGRAM_GRAPH_BASE_URL=GRAPH, LAPOR_QUEUES_RETRY_INTERVALS="0")
    damaged = httpx.Response(200, json={"mentioned_comment": {"replies": {"data": [], "paging": "after=X"},
                                                              "id": COMMENT["id"]}, "id": IG_USER_ID})
    graph.answer([SERVER_ERROR], [damaged])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    (letter,) = DeadLetters(redis).list()
    assert letter.reason == "instagram_reply_unverified"
    assert graph.posts.call_count == 1 and sent_as(redis, ON_COMMENT) is None


def test_a_post_answered_200_with_a_body_not_json_made_the_comment_and_a_requeue_looks_for_it(
    redis: Redis, settings: Settings, graph: GraphApi
) -> None:
    """A 200 whose body is not JSON (a proxy's page, a truncated body) says the comment was made, not that nothing
    was: the marker stays, and the requeue of its dead letter finds ours instead of posting it again."""
    graph.answer([httpx.Response(200, text="<html>upstream answered</html>")], [OURS_ON_COMMENT])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    (letter,) = DeadLetters(redis).list()
    assert letter.reason == "instagram_bad_payload"
    assert redis.exists(ATTEMPTED_KEY.format(channel="instagram", target=COMMENT["id"]))
    DeadLetters(redis).requeue([letter], settings)
    run_reply_jobs_to_the_end(settings, redis)
    assert (graph.posts.call_count, graph.lookups.call_count) == (1, 1)
    assert sent_as(redis, ON_COMMENT) == FOUND_ON_COMMENT.encode()


def test_a_mention_deleted_since_the_attempt_that_may_have_posted_is_gone_not_posted_again(
    redis: Redis, settings: Settings, graph: GraphApi
) -> None:
    """Its comment deleted, our reply under it went with it: the lookup's code 100 subcode 33 is `target_gone`."""
    graph.answer([SERVER_ERROR], [graph_answer(400, "graph_error_not_found.json")])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    assert graph.posts.call_count == 1 and DeadLetters(redis).list() == []
    assert sent_as(redis, ON_COMMENT) == b"gone"


def test_an_attempt_cut_short_while_its_post_was_out_leaves_the_next_one_looking(
    redis: Redis, settings: Settings, graph: GraphApi
) -> None:
    """The marker is set before the POST leaves, and only an answer that says nothing was posted clears it: a job
    that ended by anything else while posting (here an exception no provider error names) is looked for."""
    marker = ATTEMPTED_KEY.format(channel="instagram", target=COMMENT["id"])
    marked_while_sending: list[int] = []

    def cut_short(request: httpx.Request) -> httpx.Response:
        marked_while_sending.append(redis.exists(marker))
        raise RuntimeError("the job ended while its POST was out")

    graph.answer([cut_short], [OURS_ON_COMMENT])
    queue_reply(redis, settings, ON_COMMENT)
    run_reply_jobs_to_the_end(settings, redis)
    assert marked_while_sending == [1]
    assert (graph.posts.call_count, graph.lookups.call_count) == (1, 1)
    assert sent_as(redis, ON_COMMENT) == FOUND_ON_COMMENT.encode()


def test_the_listing_fixtures_carry_the_reference_of_the_mention_they_answer() -> None:
    """Our text in them is what `reply_text` writes for that mention: matched by its reference, as a live one is."""
    comment = fixture("instagram/graph_reply_listing_comment_ours.json")["mentioned_comment"]["replies"]["data"]
    caption = fixture("instagram/graph_reply_listing_media_ours.json")["mentioned_media"]["comments"]["data"]
    assert f"(ref {mention_ref(COMMENT['id'])})" in comment[1]["text"]
    assert f"(ref {mention_ref(MEDIA['id'])})" in caption[1]["text"]
