"""Comments under @lapor1708's own Instagram posts: Meta sends them only to the webhook field `comments` (never as
`mentions`), with their text. One written to us (naming the account, or opening with a keyword of the grammar) is
filed and answered as a reply to the comment (`POST /{comment-id}/replies`); "mantap min", emoji and our own
comments (our replies come back as `comments` changes) are neither.

The webhook over real HTTP, signed as Meta signs it, with the payloads Meta sends
(`tests/fixtures/instagram/webhook_comments_*.json`); the Graph API under respx, on a loopback URL nothing listens on;
the poller and the reply jobs in this process, real Redis.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import respx
from prometheus_client import REGISTRY
from redis import Redis

from channels.instagram_graph import (
    COMMENTS_KEY,
    INSTAGRAM_USERNAME,
    PENDING_KEY,
    THREAD_COMMENTS_KEY,
    InstagramPoller,
    comment_left_out,
)
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.intake import Intake
from gateway.queues import REPLY_QUEUE, queue
from gateway.settings import Settings
from gateway.tracking import format_tracking_id
from gateway.unfiled import shown_key
from tests.aggregator_support import sign
from tests.conftest import GatewayServer, TestEnvironment, log_events
from tests.social_helpers import (
    IG_SECRET,
    IG_TOKEN,
    IG_USER_ID,
    IG_VERIFY,
    fixture,
    fixture_bytes,
    run_reply_jobs_to_the_end,
)
from workers.deadletters import DeadLetters
from workers.report_payload import case_store_payload
from workers.social_reply import SENT_KEY, mention_ref

WEBHOOK = "/v1/channels/instagram/webhook"
# On loopback, answered by respx: were respx ever bypassed, nothing listens there.
GRAPH = "http://127.0.0.1:9/graph/v21.0"
ADDRESSED = "instagram/webhook_comments_addressed.json"
KEYWORD_REPLY = "instagram/webhook_comments_keyword_reply.json"
NOT_ADDRESSED = "instagram/webhook_comments_not_addressed.json"
OWN = "instagram/webhook_comments_own_reply.json"


def change(path: str, index: int = 0) -> dict[str, Any]:
    return fixture(path)["entry"][0]["changes"][index]["value"]


SARI, BUDI = change(ADDRESSED), change(KEYWORD_REPLY)
OUR_REPLY_ID = fixture("instagram/graph_comment_reply.json")["id"]


INSTAGRAM_ENV = {
    "LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_APP_SECRET": IG_SECRET,
    "LAPOR_INSTAGRAM_VERIFY_TOKEN": IG_VERIFY, "LAPOR_INSTAGRAM_ACCESS_TOKEN": IG_TOKEN,
    "LAPOR_INSTAGRAM_IG_USER_ID": IG_USER_ID,
    "LAPOR_INSTAGRAM_GRAPH_BASE_URL": GRAPH, "LAPOR_INSTAGRAM_REPLY_CAP_PER_HOUR": "1000"}


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    return test_env.settings(**INSTAGRAM_ENV)


@dataclass
class GraphApi:
    """The Graph API as respx answers it: every call is noted; `replies` answers each POST /{comment-id}/replies,
    `listings` each GET /{comment-id}/replies and `authors` each GET /{comment-id} in turn (a response, or an
    exception raised)."""

    router: respx.MockRouter
    replies: list[Any] = field(default_factory=list)
    listings: list[Any] = field(default_factory=list)
    authors: list[Any] = field(default_factory=list)

    def calls(self, method: str, suffix: str = "") -> list[httpx.Request]:
        return [call.request for call in self.router.calls
                if call.request.url.host == "127.0.0.1" and call.request.url.port == 9
                and call.request.method == method and call.request.url.path.endswith(suffix)]


@pytest.fixture
def graph(settings: Settings) -> Iterator[GraphApi]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        api = GraphApi(router)
        router.route(url__startswith=settings.public_url).pass_through()  # the gateway itself, over real HTTP

        def in_turn(answers: list[Any]) -> Any:
            def respond(request: httpx.Request) -> httpx.Response:
                assert answers, f"an unexpected call: {request.method} {request.url}"
                answer = answers.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return respond

        router.post(url__regex=rf"^{GRAPH}/\d+/replies$").mock(side_effect=in_turn(api.replies))
        router.get(url__regex=rf"^{GRAPH}/\d+/replies").mock(side_effect=in_turn(api.listings))
        router.get(f"{GRAPH}/{IG_USER_ID}/tags").mock(return_value=httpx.Response(200, json={"data": []}))
        # Neither the mention lookups nor /{ig-user-id}/mentions: a comment under our own post is no mention.
        router.route(url__startswith=f"{GRAPH}/{IG_USER_ID}").mock(return_value=httpx.Response(
            400, json=fixture("instagram/graph_error_unknown.json")))
        router.get(url__regex=rf"^{GRAPH}/\d+(\?|$)").mock(side_effect=in_turn(api.authors))  # after: not ours
        yield api


async def post_webhook(gateway: GatewayServer, body: bytes) -> httpx.Response:
    return await gateway.client.post(WEBHOOK, content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, IG_SECRET)})


def poll(settings: Settings, redis: Redis) -> None:
    intake = Intake(redis, settings)
    try:
        InstagramPoller(settings, redis, intake).poll_once()
    finally:
        intake.close()


def reports(redis: Redis) -> dict[str, dict[str, Any]]:
    found = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
    by_id = {envelope["channel_message_id"]: envelope for envelope in found}
    assert len(by_id) == len(found), "one comment became more than one report"
    return by_id


def reply_targets(redis: Redis) -> list[dict[str, str]]:
    return [job.args[1] for job in queue(REPLY_QUEUE, redis).jobs]


def stored_comments(redis: Redis) -> int:
    return int(redis.llen(COMMENTS_KEY.format(ig_user_id=IG_USER_ID)))


def left_out(reason: str) -> float:
    return REGISTRY.get_sample_value("lapor_comments_left_out_total",
                                     {"channel": "instagram", "reason": reason}) or 0.0


@dataclass(frozen=True)
class Delivery:
    """A `comments` delivery, the reports it must make (comment id -> fields of the report), the reply targets it
    must queue, and how many of its comments are left out, by reason."""

    payload: str
    reports: dict[str, dict[str, Any]]
    targets: list[dict[str, str]]
    left_out: dict[str, int]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(Delivery(ADDRESSED, {SARI["id"]: {
            "anonymous": True, "text": "jalan rusak di desa kami, Desa Sukamaju RT 03 berlubang sejak Agustus",
            "sender": SARI["from"]["id"], "kind": "complaint"}},
            [{"media_id": SARI["media"]["id"], "comment_id": SARI["id"], "thread": SARI["id"]}],
            {"own": 0, "not_addressed": 0}), id="naming-the-account-anonim-filed-anonymous"),
        pytest.param(Delivery(KEYWORD_REPLY, {BUDI["id"]: {
            "anonymous": False, "text": "lampu PJU di Jl. Kolonel Masturi mati sudah sebulan",
            "sender": BUDI["from"]["id"], "kind": "complaint"}},
            [{"media_id": BUDI["media"]["id"], "comment_id": BUDI["id"], "thread": BUDI["parent_id"],
              "name_author": "1"}],
            {"own": 0, "not_addressed": 0}), id="a-reply-opening-with-LAPOR-filed-answered-in-its-thread"),
        pytest.param(Delivery(NOT_ADDRESSED, {}, [], {"own": 0, "not_addressed": 3}),
                     id="mantap-min-emoji-thanks-neither-filed-nor-answered"),
        pytest.param(Delivery(OWN, {}, [], {"own": 2, "not_addressed": 0}),
                     id="our-own-replies-coming-back-never-filed-even-naming-the-account"),
    ],
)
async def test_a_comment_on_our_own_post_is_filed_and_answered_only_when_written_to_us(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, log_stream: io.StringIO,
    case: Delivery,
) -> None:
    before = {reason: left_out(reason) for reason in case.left_out}
    response = await post_webhook(gateway, fixture_bytes(case.payload))
    assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    assert stored_comments(redis) == len(case.reports)  # durable before the 200; the others never stored
    assert reports(redis) == {}

    poll(settings, redis)

    filed = reports(redis)
    assert set(filed) == set(case.reports)
    for comment_id, expected in case.reports.items():
        report = filed[comment_id]
        assert (report["channel"], report["sender"]["kind"]) == ("instagram", "ig_user")
        assert report["sender"]["id"] == expected["sender"]
        assert {name: report[name] for name in ("anonymous", "text", "kind")} == {
            name: expected[name] for name in ("anonymous", "text", "kind")}
    assert reply_targets(redis) == case.targets
    assert stored_comments(redis) == 0
    assert redis.llen(PENDING_KEY.format(ig_user_id=IG_USER_ID)) == 0
    assert graph.calls("GET", "/replies") == [] and graph.calls("GET", IG_USER_ID) == []  # the text came with it
    assert {reason: left_out(reason) - before[reason] for reason in case.left_out} == case.left_out
    (stored,) = [line for line in log_events(log_stream) if line["event"] == "webhook.stored"]
    assert (stored["comments"], stored["own_comments"], stored["comments_not_addressed"]) == (
        len(case.reports), case.left_out["own"], case.left_out["not_addressed"])
    texts = [c["value"]["text"] for c in fixture(case.payload)["entry"][0]["changes"]]
    logged = [line for line in log_stream.getvalue().splitlines() if '"webhook.' in line or "mention." in line]
    assert not any(text[:12] in line for text in texts for line in logged), "a comment's words in a log line"


AUTHOR = httpx.Response(200, json=fixture("instagram/graph_comment_author.json"))


@pytest.mark.parametrize(
    ("payload", "comment"),
    [pytest.param(ADDRESSED, SARI, id="top-level-comment"), pytest.param(KEYWORD_REPLY, BUDI, id="reply-in-a-thread")],
)
async def test_the_reply_goes_to_the_comment_not_through_mentions(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, payload: str, comment: dict[str, Any],
) -> None:
    """A reply in someone's thread (Budi's LAPOR under another's comment) is answered in that thread: Meta adds a reply
    to a reply to the top-level comment, which tells its author alone. Ours opens with Budi's @username, read from
    his comment when it is sent (the job carries no one's name), so Instagram tells him; Sari's own comment, answered
    directly, is not named (and she asked #anonim)."""
    graph.replies.append(httpx.Response(200, json=fixture("instagram/graph_comment_reply.json")))
    in_thread = "parent_id" in comment
    if in_thread:
        graph.authors.append(AUTHOR)
    assert (await post_webhook(gateway, fixture_bytes(payload))).status_code == 200
    poll(settings, redis)
    (filed,) = reports(redis).values()
    assert comment["from"]["username"] not in str(reply_targets(redis))

    run_reply_jobs_to_the_end(settings, redis)

    (post,) = graph.calls("POST")
    assert post.url.path == f"/graph/v21.0/{comment['id']}/replies"
    sent = dict(httpx.QueryParams(post.content.decode()))
    assert set(sent) == {"message"}
    assert filed["tracking_id"] in sent["message"] and f"(ref {mention_ref(comment['id'])})" in sent["message"]
    assert comment["text"].split()[-1] not in sent["message"]
    lookups = [call for call in graph.calls("GET") if not call.url.path.endswith(("/replies", "/tags"))]
    if in_thread:
        assert sent["message"].startswith(f"@{comment['from']['username']} Laporan Anda kami terima.")
        (lookup,) = lookups
        assert lookup.url.path == f"/graph/v21.0/{comment['id']}"
        assert lookup.url.params["fields"] == "id,username,from{id,username}"
        assert lookup.headers["Authorization"] == f"Bearer {IG_TOKEN}"
    else:
        assert comment["from"]["username"] not in sent["message"] and lookups == []
    assert post.headers["Authorization"] == f"Bearer {IG_TOKEN}"
    assert redis.get(SENT_KEY.format(channel="instagram", target=comment["id"])) == OUR_REPLY_ID.encode()
    assert DeadLetters(redis).list() == []


SERVER_ERROR = httpx.Response(500, json=fixture("instagram/graph_error_unknown.json"))
POSTED = httpx.Response(200, json=fixture("instagram/graph_comment_reply.json"))
OURS_THERE = httpx.Response(200, json=fixture("instagram/graph_comment_replies_ours.json"))
NOTHING_THERE = httpx.Response(200, json={"data": []})


async def test_an_anonymous_reply_in_someones_thread_is_answered_without_its_authors_name(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, log_stream: io.StringIO,
) -> None:
    """#anonim in another's thread: our comment would keep the reporter's handle beside the Tracking ID in public,
    even once they deleted theirs. Answered as before: no @username, and their comment is not even read for one."""
    delivery = fixture(ADDRESSED)
    value = delivery["entry"][0]["changes"][0]["value"]
    value["parent_id"] = "17987654321000000"
    graph.replies.append(POSTED)  # graph.authors empty: a GET /{comment-id} fails the test
    assert (await post_webhook(gateway, orjson.dumps(delivery))).status_code == 200
    poll(settings, redis)
    (filed,) = reports(redis).values()
    assert filed["anonymous"] is True
    assert reply_targets(redis) == [{"media_id": SARI["media"]["id"], "comment_id": SARI["id"],
                                     "thread": "17987654321000000"}]

    run_reply_jobs_to_the_end(settings, redis)

    (post,) = graph.calls("POST")
    sent = dict(httpx.QueryParams(post.content.decode()))["message"]
    assert sent.startswith("Laporan Anda kami terima.") and filed["tracking_id"] in sent
    assert SARI["from"]["username"] not in sent and not sent.startswith("@")
    assert SARI["from"]["username"] not in log_stream.getvalue()


async def test_a_named_comment_answering_an_anonymous_one_carries_not_its_id_to_the_case_store(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """Budi's named LAPOR in the thread of Sari's #anonim comment: his report went to the case store with its thread,
    Sari's comment id, which our token turns into her handle (and her report's words stand public in that thread), as
    an X answer's conversation did. The thread is the gateway's own (its reply goes there), as that conversation is."""
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200
    answer = fixture(KEYWORD_REPLY)
    answer["entry"][0]["changes"][0]["value"]["parent_id"] = SARI["id"]
    assert (await post_webhook(gateway, orjson.dumps(answer))).status_code == 200
    poll(settings, redis)
    filed = reports(redis)
    assert filed[SARI["id"]]["anonymous"] is True and filed[BUDI["id"]]["anonymous"] is False
    assert filed[BUDI["id"]]["channel_meta"]["thread"] == SARI["id"]  # kept by the gateway: its reply goes there
    payload = case_store_payload(filed[BUDI["id"]], settings)
    assert payload["channel_meta"] == {"media_id": BUDI["media"]["id"], "comment_id": BUDI["id"], "own_media": True}
    assert SARI["id"] not in orjson.dumps(payload).decode()


VALID_ID = format_tracking_id(1_000_123)
MISTYPED_ID = VALID_ID[:-1] + str((int(VALID_ID[-1]) + 1) % 10)
NEVER_MINTED = format_tracking_id(7_777_777)


@pytest.mark.parametrize(
    ("text", "reply_key"),
    [
        # A whistleblower's ID mistyped by one digit: their handle beside it would all but give their report away.
        pytest.param(f"@lapor1708 #anonim CEK {MISTYPED_ID}", "social_bad_tracking_id", id="anonim-mistyped-id"),
        pytest.param(f"@lapor1708 CEK {MISTYPED_ID}", "social_bad_tracking_id", id="mistyped-id"),
        pytest.param(f"@lapor1708 CEK {VALID_ID}", "social_status", id="status"),
        pytest.param("@lapor1708 bantuan", "social_help", id="help"),
        # An anonymous addition to an ID never issued, filed as a new anonymous report.
        pytest.param(f"@lapor1708 #anonim {NEVER_MINTED} lubangnya makin besar", "social_follow_up_unknown",
                     id="follow-up-to-an-unknown-id"),
    ],
)
async def test_queries_and_unknown_additions_in_someones_thread_are_answered_without_the_authors_name(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, text: str, reply_key: str,
) -> None:
    """A query's answer (`CEK <id>`, a mistyped ID, help) never names its asker, in another's thread or not: the
    report asked about may be anonymous, and a mistyped ID is one keystroke from the one meant; nor does the answer
    to an anonymous addition to an ID never issued (a new anonymous report). Their comment is not even read for
    the name."""
    delivery = fixture(KEYWORD_REPLY)
    delivery["entry"][0]["changes"][0]["value"]["text"] = text
    graph.replies.append(POSTED)  # graph.authors empty: a GET /{comment-id} fails the test
    assert (await post_webhook(gateway, orjson.dumps(delivery))).status_code == 200
    poll(settings, redis)
    (job,) = queue(REPLY_QUEUE, redis).jobs
    assert job.args[2] == reply_key
    assert job.args[1] == {"media_id": BUDI["media"]["id"], "comment_id": BUDI["id"], "thread": BUDI["parent_id"]}
    if reply_key == "social_follow_up_unknown":
        (filed,) = reports(redis).values()
        assert filed["anonymous"] is True and filed["follow_up_of"] is None

    run_reply_jobs_to_the_end(settings, redis)

    (post,) = graph.calls("POST")
    sent = dict(httpx.QueryParams(post.content.decode()))["message"]
    assert not sent.startswith("@") and BUDI["from"]["username"] not in sent
    assert DeadLetters(redis).list() == []


RATE_LIMITED = httpx.Response(400, json=fixture("instagram/graph_error_rate_limit.json"))
TRANSIENT = httpx.Response(500, json=fixture("instagram/graph_error_transient.json"))


@pytest.mark.parametrize(
    ("authors", "named", "outcome", "tiny_limit"),
    [
        pytest.param([TRANSIENT], False, "sent", False, id="5xx-sent-without-the-name-no-retry-spent"),
        pytest.param([SERVER_ERROR], False, "sent", False, id="500-sent-without-the-name-no-retry-spent"),
        pytest.param([httpx.ReadTimeout("no answer")], False, "sent", False, id="timeout-sent-without-the-name"),
        pytest.param([RATE_LIMITED, AUTHOR], True, "sent", False, id="rate-limited-put-off-then-named"),
        pytest.param([httpx.Response(400, json=fixture("instagram/graph_error_nonexisting_field.json"))], False,
                     "sent", False, id="field-refused-sent-without-the-name"),
        pytest.param([httpx.Response(200, json={"id": BUDI["id"]})], False, "sent", False,
                     id="no-username-in-the-answer-sent-without-the-name"),
        pytest.param([httpx.Response(200, json={"id": BUDI["id"], "username": "budi cimahi<script>"})], False, "sent",
                     False, id="no-instagram-username-sent-without-the-name"),
        pytest.param([httpx.Response(200, json={"id": BUDI["id"], "username": "budi.",
                                                "from": {"id": BUDI["from"]["id"], "username": "budi."}})],
                     False, "sent", False, id="username-ending-in-a-period-sent-without-the-name"),
        # Our own account, told by its id: under the configured username, and renamed since (the setting stale).
        pytest.param([httpx.Response(200, json={"id": BUDI["id"], "username": "lapor1708",
                                                "from": {"id": IG_USER_ID, "username": "lapor1708"}})],
                     False, "sent", False, id="our-own-account-not-named"),
        pytest.param([httpx.Response(200, json={"id": BUDI["id"], "username": "lapor_baru",
                                                "from": {"id": IG_USER_ID, "username": "lapor_baru"}})],
                     False, "sent", False, id="our-own-account-renamed-not-named"),
        pytest.param([AUTHOR], False, "sent", True, id="too-long-with-the-name-sent-without-it"),
        pytest.param([httpx.Response(400, json=fixture("instagram/graph_error_reply_deleted.json"))], False, "gone",
                     False, id="comment-deleted-nothing-posted"),
    ],
)
async def test_reading_the_authors_username_fails_or_is_put_off(
    gateway: GatewayServer, redis: Redis, graph: GraphApi, test_env: TestEnvironment, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, authors: list[Any], named: bool, outcome: str, tiny_limit: bool,
) -> None:
    """The @username is read when the reply is sent; a comment deleted since takes the reply with it (the POST would
    fail the same way) and a rate limit puts it off as the send's would be. A lookup that cannot name them (a 5xx, no
    answer) sends the Tracking ID without the name at once, never no reply and no retry spent before anything is
    posted: it is in the thread all the same."""
    settings = test_env.settings(**INSTAGRAM_ENV, LAPOR_QUEUES_RETRY_INTERVALS="0")  # one retry
    if tiny_limit:
        monkeypatch.setattr("workers.social_reply.IG_COMMENT_MAX_CHARS", 1)
    graph.authors.extend(authors)
    if outcome == "sent":
        graph.replies.append(POSTED)
    assert (await post_webhook(gateway, fixture_bytes(KEYWORD_REPLY))).status_code == 200
    poll(settings, redis)
    (filed,) = reports(redis).values()

    run_reply_jobs_to_the_end(settings, redis)

    assert graph.authors == []  # each answer asked for once: no listing, no second read
    sent_key = SENT_KEY.format(channel="instagram", target=BUDI["id"])
    assert DeadLetters(redis).list() == []
    if outcome == "gone":
        assert graph.calls("POST") == [] and redis.get(sent_key) == b"gone"
        return
    (post,) = graph.calls("POST")
    sent = dict(httpx.QueryParams(post.content.decode()))["message"]
    assert filed["tracking_id"] in sent and redis.get(sent_key) == OUR_REPLY_ID.encode()
    assert sent.startswith("@budi.cimahi Laporan Anda") if named else sent.startswith("Laporan Anda")
    events = [line for line in log_events(log_stream) if line["event"] == "reply.author_not_named"]
    assert bool(events) is not named
    assert "budi.cimahi" not in "".join(line for line in log_stream.getvalue().splitlines() if '"reply.' in line)


@pytest.mark.parametrize(
    ("username", "usable"),
    [("budi.cimahi", True), ("budi_cimahi", True), ("b", True), ("_", True), ("budi.c1mahi_", True), ("a" * 30, True),
     ("a" * 31, False), ("", False), (".", False), ("..", False), ("budi.", False), (".budi", False),
     ("budi..cimahi", False), ("budi cimahi", False), ("budi@cimahi", False), ("budi-cimahi", False),
     ("bud\u00ed", False), ("budi\n", False)],
)
def test_what_an_instagram_username_can_be(username: str, usable: bool) -> None:
    """The @username opening our reply is only one Instagram reads whole: `@budi.` would be read as `@budi` (another
    account told of the reply), and so would one with a period first or two together."""
    assert bool(INSTAGRAM_USERNAME.fullmatch(username)) is usable


async def test_a_lookup_5xx_spends_no_retry_the_send_may_need(
    gateway: GatewayServer, redis: Redis, graph: GraphApi, test_env: TestEnvironment, log_stream: io.StringIO,
) -> None:
    """The author's lookup failing with a 5xx is no reply failure: the reply goes without the name, and the job's one
    retry is still there for the send's own 5xx (spent on the lookup, that 5xx dead-lettered the reply)."""
    settings = test_env.settings(**INSTAGRAM_ENV, LAPOR_QUEUES_RETRY_INTERVALS="0")  # one retry
    graph.authors.extend([TRANSIENT, TRANSIENT])
    graph.replies.extend([TRANSIENT, POSTED])
    graph.listings.append(NOTHING_THERE)
    assert (await post_webhook(gateway, fixture_bytes(KEYWORD_REPLY))).status_code == 200
    poll(settings, redis)
    (filed,) = reports(redis).values()

    run_reply_jobs_to_the_end(settings, redis)

    assert DeadLetters(redis).list() == [] and graph.authors == []
    _, second = graph.calls("POST")
    sent = dict(httpx.QueryParams(second.content.decode()))["message"]
    assert sent.startswith("Laporan Anda") and filed["tracking_id"] in sent
    events = log_events(log_stream)
    assert [line["reason"] for line in events if line["event"] == "reply.author_not_named"] == ["server"] * 2
    assert len([line for line in events if line["event"] == "reply.retry"]) == 1  # the send's alone


@pytest.mark.parametrize(
    ("replies", "listings", "posted"),
    [
        pytest.param([SERVER_ERROR], [OURS_THERE], 1, id="5xx-after-the-comment-was-made-found-not-posted-again"),
        pytest.param([httpx.ReadTimeout("no answer")], [OURS_THERE], 1, id="read-timeout-found-not-posted-again"),
        pytest.param([SERVER_ERROR, POSTED], [NOTHING_THERE], 2, id="5xx-before-it-was-made-posted-once-more"),
    ],
)
async def test_a_reply_whose_attempt_may_have_posted_is_read_back_in_the_comments_thread(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, replies: list[Any],
    listings: list[Any], posted: int,
) -> None:
    graph.replies.extend(replies)
    graph.listings.extend(listings)
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200
    poll(settings, redis)

    run_reply_jobs_to_the_end(settings, redis)

    assert len(graph.calls("POST")) == posted
    (lookup,) = graph.calls("GET", "/replies")
    assert lookup.url.path == f"/graph/v21.0/{SARI['id']}/replies"
    assert lookup.url.params["fields"] == "id,text,username,from{id,username},timestamp"
    assert redis.get(SENT_KEY.format(channel="instagram", target=SARI["id"])) == OUR_REPLY_ID.encode()
    assert DeadLetters(redis).list() == []


async def test_a_comment_delivered_twice_is_one_report_and_one_reply(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """Meta resends a delivery it saw no 200 for; the same comment may also come in two deliveries, and be taken
    once per poller round."""
    graph.replies.append(POSTED)
    body = fixture_bytes(ADDRESSED)
    assert (await post_webhook(gateway, body)).status_code == 200
    assert (await post_webhook(gateway, body)).status_code == 200
    poll(settings, redis)
    assert (await post_webhook(gateway, body)).status_code == 200
    poll(settings, redis)

    assert list(reports(redis)) == [SARI["id"]]
    assert len(reply_targets(redis)) == 1
    run_reply_jobs_to_the_end(settings, redis)
    assert len(graph.calls("POST")) == 1
    assert stored_comments(redis) == 0


async def test_our_reply_coming_back_after_we_answered_files_nothing_more(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """The loop: a citizen's comment, our reply to it, our reply notified back as a `comments` change."""
    graph.replies.append(POSTED)
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200
    poll(settings, redis)
    run_reply_jobs_to_the_end(settings, redis)
    assert (await post_webhook(gateway, fixture_bytes(OWN))).status_code == 200
    poll(settings, redis)
    run_reply_jobs_to_the_end(settings, redis)
    assert list(reports(redis)) == [SARI["id"]]
    assert len(graph.calls("POST")) == 1


def test_a_stored_comment_of_ours_is_still_not_filed_by_the_poller(settings: Settings, redis: Redis,
                                                                   graph: GraphApi) -> None:
    """The poller asks again what the webhook decided (a list written by hand, or before the check)."""
    ours = {"ig_user_id": IG_USER_ID, "comment_id": "17987654321098790", "media_id": SARI["media"]["id"],
            "parent_id": SARI["id"], "from_id": IG_USER_ID, "username": "lapor1708",
            "text": "@lapor1708 LAPOR contoh", "time": 1763609360}
    redis.rpush(COMMENTS_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ours), b"not json")
    poll(settings, redis)
    assert reports(redis) == {} and reply_targets(redis) == [] and stored_comments(redis) == 0


@pytest.mark.parametrize(
    ("author", "text", "expected"),
    [
        pytest.param({"from_id": IG_USER_ID, "username": "lapor1708.resmi"}, "@lapor1708 LAPOR ini", "own",
                     id="renamed-account-told-by-its-id"),
        pytest.param({"from_id": "17841447302958899", "username": "lapor1708"}, "@lapor1708 jalan rusak", None,
                     id="our-old-username-taken-by-another-a-citizen"),
        pytest.param({"from_id": "", "username": "lapor1708"}, "@lapor1708 LAPOR ini", "own",
                     id="no-author-id-our-username"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "lapor1708 jalan rusak", None,
                     id="named-without-the-at-sign"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "#lapor jalan rusak", None,
                     id="keyword-as-a-hashtag"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "Aduan: sampah di pasar", None,
                     id="another-report-kind-word"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "CEK 19164490", None,
                     id="a-status-command-with-an-id"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "@pemkot.bdg tolong ini", "not_addressed",
                     id="someone-else-named"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "laporkan saja min", "not_addressed",
                     id="a-word-that-only-starts-like-the-keyword"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "", "not_addressed",
                     id="a-sticker-no-text"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "@budi.s lapor aja ke pemkot",
                     "not_addressed", id="a-keyword-after-someone-else-named-first-is-to-them"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "@budi.s @lapor1708 lapor jalan rusak",
                     None, id="someone-else-and-the-account-named-first"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"},
                     "Min, lapor jalan di depan SDN 3 rusak parah", None, id="the-admin-called-before-the-keyword"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "admin LAPOR lampu jalan mati", None,
                     id="admin-called-before-the-keyword"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "min mau nanya dong", "not_addressed",
                     id="the-admin-called-no-keyword"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "ya lapor aja ke polisi", "not_addressed",
                     id="a-filler-of-thanks-calls-nobody"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "Kak, ADUAN: pungli di loket", None,
                     id="kak-called-before-the-keyword"),
        # A flag keyword is written to us as a kind keyword is: a whistleblower's comment was left out, lost.
        pytest.param({"from_id": "17841447302958899", "username": "warga"},
                     "#anonim Kepala desa minta setoran 500rb untuk KTP", None, id="an-anonymity-hashtag-first"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "ANONIM pungli di kelurahan 200rb", None,
                     id="an-anonymity-word-first"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "RAHASIA kepsek potong dana BOS", None,
                     id="a-confidentiality-word-first"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "Min, #anonim ada pungli di desa", None,
                     id="the-admin-called-before-the-flag"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "Kades minta pungli 200rb #anonim", None,
                     id="an-anonymity-hashtag-last"),
        # remarks with a flag word, fewer than four words beside it: chatter, filed and answered in public before
        *[pytest.param({"from_id": "17841447302958899", "username": "warga"}, remark, "not_addressed",
                       id=f"a-remark-{index}")
          for index, remark in enumerate(["anonim aja biar aman", "rahasia kok di umbar", "wkwk #rahasia",
                                          "terima kasih min #anonim", "Rahasia: admin nya ganteng", "Anonim ya min"])],
        # an anonymity word glued to a mark is read as a wish in doubt, never taken out of the words: no sign the
        # comment is written to us, whatever the grammar took out beside it (the placeholder marks "<...>")
        *[pytest.param({"from_id": "17841447302958899", "username": "warga"}, remark, "not_addressed",
                       id=f"a-glued-anonymity-word-{index}")
          for index, remark in enumerate(["<anon>_ rahasia umum di desa kami 🙏",
                                          "<Anonim>__Rahasia negara dijual oknum", "anonim|biar aman kok di umbar",
                                          "#anonim_warga mantap min"])],
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "bisa anonim gak min?", "not_addressed",
                     id="anonymity-asked-about-in-prose"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "rahasia umum min", "not_addressed",
                     id="a-confidentiality-word-in-prose"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"}, "Rahasia negara dijual oknum",
                     "not_addressed", id="a-confidentiality-word-making-a-noun"),
        pytest.param({"from_id": "17841447302958899", "username": "warga"},
                     "@budi.s #anonim aja biar aman", "not_addressed", id="a-flag-after-someone-else-named-first"),
    ],
)
def test_which_comments_are_written_to_us(settings: Settings, author: dict[str, str], text: str,
                                          expected: str | None) -> None:
    item = {"ig_user_id": IG_USER_ID, "comment_id": "17987654321098999", **author, "text": text}
    assert comment_left_out(item, settings.instagram) == expected


async def sari_answered(gateway: GatewayServer, settings: Settings, redis: Redis) -> dict[str, Any]:
    """Sari's comment to us delivered, filed and answered under it: her report."""
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200
    poll(settings, redis)
    run_reply_jobs_to_the_end(settings, redis)
    (first,) = reports(redis).values()
    return first


async def test_a_later_comment_of_the_reporter_under_our_post_adds_to_their_report(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """Answered under their comment, the reporter writes to us again under the same post: an addition to their
    (anonymous) report, as a comment under a mention's post is; someone else's comment there is a report of its own."""
    graph.replies.extend([POSTED, POSTED, POSTED])
    first = await sari_answered(gateway, settings, redis)

    again = fixture(ADDRESSED)
    value = again["entry"][0]["changes"][0]["value"]
    value.update(id="17987654321098795", parent_id=SARI["id"], text="@lapor1708 sudah seminggu belum diperbaiki")
    other = {**value, "id": "17987654321098796", "from": {"id": "17841447302958814", "username": "rudi.dago"},
             "text": "@lapor1708 di desa sebelah juga sama"}
    again["entry"][0]["changes"].append({"field": "comments", "value": other})
    assert (await post_webhook(gateway, orjson.dumps(again))).status_code == 200
    poll(settings, redis)

    filed = reports(redis)
    assert filed[value["id"]]["follow_up_of"] == first["tracking_id"]
    assert filed[value["id"]]["anonymous"] is True
    assert filed[other["id"]]["follow_up_of"] is None


@pytest.mark.parametrize("text", ["@lapor1708 cek", "@sari.sukamaju sudah sampai mana laporan saya?"])
async def test_the_reporters_status_question_in_the_thread_we_answered_asks_their_reports_status(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, text: str,
) -> None:
    """Under our answer to their comment, the reporter's "cek" asks their report's status: it was answered with help
    asking for the Tracking ID our answer above it gave, or (not naming us) left out. Nothing is filed."""
    graph.replies.extend([POSTED, POSTED])
    first = await sari_answered(gateway, settings, redis)

    delivery = fixture(ADDRESSED)
    value = delivery["entry"][0]["changes"][0]["value"]
    value.update(id="17987654321098805", parent_id=SARI["id"], text=text)
    assert (await post_webhook(gateway, orjson.dumps(delivery))).status_code == 200
    poll(settings, redis)

    assert value["id"] not in reports(redis)
    [asked] = [job for job in queue(REPLY_QUEUE, redis).jobs if job.args[1].get("comment_id") == value["id"]]
    assert tuple(asked.args[2:4]) == ("social_status", first["tracking_id"])


async def test_the_reporters_reply_in_the_thread_we_answered_adds_to_their_report_without_naming_us(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """Instagram fills a reply in with the handle of the comment it answers: the reporter adding to their own comment,
    where we answered them, writes "@sari.sukamaju sudah seminggu ...", or nothing before their words. Neither names
    us nor opens with a keyword, so the webhook left both out (`not_addressed`), and what the reporter added was lost.
    A comment in a thread where our reply carried a report is kept and added to that report when it is its reporter's;
    anyone else's there ("@sari.sukamaju sama di desa kami") is still left out."""
    graph.replies.extend([POSTED, POSTED, POSTED])
    first = await sari_answered(gateway, settings, redis)

    delivery = fixture(ADDRESSED)
    value = delivery["entry"][0]["changes"][0]["value"]
    value.update(id="17987654321098801", parent_id=SARI["id"], text="@sari.sukamaju sudah seminggu belum diperbaiki")
    bare = {**value, "id": "17987654321098802", "text": "lubangnya makin besar, motor jatuh kemarin"}
    stranger = {**value, "id": "17987654321098803", "from": {"id": "17841447302958814", "username": "rudi.dago"},
                "text": "@sari.sukamaju sama di desa kami"}
    elsewhere = {**value, "id": "17987654321098804", "parent_id": "17987654321000000", "text": "sudah diperbaiki?"}
    delivery["entry"][0]["changes"] += [{"field": "comments", "value": item} for item in (bare, stranger, elsewhere)]
    before = left_out("not_addressed")
    assert (await post_webhook(gateway, orjson.dumps(delivery))).status_code == 200
    # Apart from the comments written to us: a poller of a version before it, which files every comment of that
    # list as a report, never reads them.
    assert stored_comments(redis) == 0 and redis.llen(THREAD_COMMENTS_KEY.format(ig_user_id=IG_USER_ID)) == 3
    poll(settings, redis)

    filed = reports(redis)
    assert set(filed) == {SARI["id"], value["id"], bare["id"]}
    assert filed[value["id"]]["follow_up_of"] == filed[bare["id"]]["follow_up_of"] == first["tracking_id"]
    assert filed[value["id"]]["text"] == "sudah seminggu belum diperbaiki"
    assert filed[value["id"]]["anonymous"] is True
    assert left_out("not_addressed") - before == 2  # the stranger's, and the reporter's in a thread we never answered
    assert stored_comments(redis) == 0 and redis.llen(THREAD_COMMENTS_KEY.format(ig_user_id=IG_USER_ID)) == 0


async def test_a_thread_reply_kept_on_the_comments_list_before_its_own_list_is_still_only_an_addition(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """The version before THREAD_COMMENTS_KEY kept a reply in a thread we answered on COMMENTS_KEY, marked
    `thread_only`. Read after an upgrade as a comment written to us, a stranger's there ("@sari.sukamaju sama di desa
    kami") was filed as a report of its own and answered in public."""
    graph.replies.extend([POSTED, POSTED])
    await sari_answered(gateway, settings, redis)
    legacy = {"ig_user_id": IG_USER_ID, "comment_id": "17987654321098813", "media_id": SARI["media"]["id"],
              "parent_id": SARI["id"], "from_id": "17841447302958814", "username": "rudi.dago",
              "text": "@sari.sukamaju sama di desa kami", "time": 1763609360, "thread_only": True}
    redis.rpush(COMMENTS_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(legacy))
    targets = len(reply_targets(redis))
    poll(settings, redis)
    assert set(reports(redis)) == {SARI["id"]}
    assert len(reply_targets(redis)) == targets and stored_comments(redis) == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("mantap min @lapor1708", id="mantap-min-naming-the-account"),
        pytest.param("@lapor1708 keren 👏", id="keren-after-the-account"),
        pytest.param("Semangat terus min @lapor1708 🔥🔥", id="semangat-terus"),
        pytest.param("sukses selalu @lapor1708 💪", id="sukses-selalu"),
        pytest.param("mantul @lapor1708 👍", id="mantul"),
    ],
)
async def test_praise_naming_the_account_is_neither_filed_nor_answered(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, text: str,
) -> None:
    """Praise under a popular post names @lapor1708 as often as thanks do: it is a courtesy as "terima kasih
    @lapor1708" is, and a Tracking ID answered to it was an empty case for an agency."""
    body = fixture(ADDRESSED)
    body["entry"][0]["changes"][0]["value"]["text"] = text
    assert (await post_webhook(gateway, orjson.dumps(body))).status_code == 200
    poll(settings, redis)
    assert reports(redis) == {} and reply_targets(redis) == [] and stored_comments(redis) == 0


@pytest.mark.parametrize(
    ("text", "anonymous", "confidential"),
    [
        pytest.param("#anonim Kepala desa minta setoran 500rb untuk setiap KTP", True, False, id="anonim-first"),
        pytest.param("RAHASIA kepala sekolah memotong dana BOS", False, True, id="rahasia-first"),
        pytest.param("Min, #anonim ada pungli di loket kelurahan", True, False, id="anonim-after-the-admin-called"),
    ],
)
async def test_a_whistleblowers_comment_opening_with_a_flag_keyword_is_filed_and_answered(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, text: str, anonymous: bool,
    confidential: bool,
) -> None:
    """A comment under our own post that opens with `#anonim` or `RAHASIA` is written to us, as one opening with a
    kind keyword is: it was left out as `not_addressed` (counted, never stored), a whistleblower's report lost."""
    body = fixture(ADDRESSED)
    body["entry"][0]["changes"][0]["value"]["text"] = text
    assert (await post_webhook(gateway, orjson.dumps(body))).status_code == 200
    assert stored_comments(redis) == 1  # durable before the 200
    poll(settings, redis)
    (report,) = reports(redis).values()
    assert (report["anonymous"], report["confidential"]) == (anonymous, confidential)
    assert report["channel_message_id"] == SARI["id"]
    assert reply_targets(redis) == [{"media_id": SARI["media"]["id"], "comment_id": SARI["id"], "thread": SARI["id"]}]


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(1763609300123, id="milliseconds"),
        pytest.param(10**18, id="past-any-date"),
        pytest.param(-5, id="negative"),
    ],
)
async def test_a_comment_with_an_unreadable_time_is_filed_and_the_channel_goes_on(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, log_stream: io.StringIO, sent: int,
) -> None:
    """A delivery's `time` the platform cannot read as a date (milliseconds, as Meta's messaging webhooks send it)
    stopped every round at the first comment: neither it nor any comment or mention after it was ever filed."""
    body = fixture(ADDRESSED)
    body["entry"][0]["time"] = sent
    assert (await post_webhook(gateway, orjson.dumps(body))).status_code == 200
    poll(settings, redis)
    assert list(reports(redis)) == [SARI["id"]] and stored_comments(redis) == 0
    assert not [line for line in log_events(log_stream) if line["event"] == "poller.crashed"]


async def test_a_new_comment_of_the_reporter_under_our_post_is_a_report_of_its_own(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi,
) -> None:
    """One post of ours draws many complaints, several from one citizen: a new comment of theirs (not a reply in the
    thread of the report we answered) is a report of its own, with its own Tracking ID. Read as a comment on the
    post, it was added to their first report, whatever it was about."""
    graph.replies.extend([POSTED, POSTED])
    first = await sari_answered(gateway, settings, redis)

    again = fixture(ADDRESSED)
    value = again["entry"][0]["changes"][0]["value"]
    value.update(id="17987654321098797", text="@lapor1708 LAPOR lampu PJU di Jl. Merdeka mati sejak Senin")
    assert (await post_webhook(gateway, orjson.dumps(again))).status_code == 200
    poll(settings, redis)

    second = reports(redis)[value["id"]]
    assert second["follow_up_of"] is None and second["tracking_id"] != first["tracking_id"]
    assert [target["thread"] for target in reply_targets(redis)][-1] == value["id"]


def instagram_health(redis: Redis, settings: Settings) -> dict[str, Any]:
    rules = load_rules(settings.health.rules_path())
    return {c["channel"]: c for c in HealthMonitor(redis, rules).status()["channels"]}["instagram"]


async def test_a_comment_the_gateway_fails_to_file_is_kept_and_the_channel_goes_on(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, test_env: TestEnvironment,
) -> None:
    """A comment whose words met a bug of ours raised in every round: neither it nor any comment or mention after
    it was ever filed, and only `poller.crashed` said so. It is kept unfiled now (the error's type and where, never
    its words, in the log and the views), the others are filed, the channel is degraded while it is kept, and
    `lapor-gateway unfiled retry` files it once the bug is mended."""
    from typer.testing import CliRunner

    import channels.social
    from gateway import cli
    from gateway.cli import app

    bug = {"present": True}
    normalize = channels.social.normalize

    def normalize_with_a_bug(message: Any, **options: Any) -> Any:
        if bug["present"] and message.provider_message_id == SARI["id"]:
            raise ValueError(f"cannot read {message.text!r}")  # as a bug's message often quotes its input
        return normalize(message, **options)

    monkeypatch.setattr(channels.social, "normalize", normalize_with_a_bug)
    for payload in (ADDRESSED, KEYWORD_REPLY):
        assert (await post_webhook(gateway, fixture_bytes(payload))).status_code == 200

    poll(settings, redis)

    assert list(reports(redis)) == [BUDI["id"]] and stored_comments(redis) == 0
    assert reply_targets(redis) == [{"media_id": BUDI["media"]["id"], "comment_id": BUDI["id"],
                                     "thread": BUDI["parent_id"], "name_author": "1"}]
    events = log_events(log_stream)
    assert not [line for line in events if line["event"] == "poller.crashed"]
    (kept,) = [line for line in events if line["event"] == "message.unfiled"]
    assert (kept["channel"], kept["error"]) == ("instagram", "ValueError")
    assert kept["where"].startswith("channels/social.py:"), kept
    assert "Sukamaju" not in log_stream.getvalue() and SARI["from"]["username"] not in log_stream.getvalue()
    health = instagram_health(redis, settings)
    assert health["state"] == "degraded", health
    assert "1 message(s) the gateway failed to file kept unfiled" in health["reason"], health
    assert "ValueError at channels/social.py:" in health["reason"] and "Sukamaju" not in health["reason"]
    assert "lapor-gateway unfiled list" in health["reason"]
    assert REGISTRY.get_sample_value("lapor_messages_unfiled_total", {"channel": "instagram"}) >= 1

    for name, value in {**test_env.values, **INSTAGRAM_ENV}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.console, "width", 200)  # a table as wide as its rows, whoever imported the command first
    listed = CliRunner().invoke(app, ["unfiled", "list"], env={"COLUMNS": "200"})
    # Named by a digest, not by the comment's id: Sari's comment is anonymous, and its id opens it and her account.
    key = shown_key(settings, f"instagram:{SARI['id']}")
    assert listed.exit_code == 0 and key in listed.output and "ValueError" in listed.output, listed.output
    assert "Sukamaju" not in listed.output and SARI["id"] not in listed.output

    still = CliRunner().invoke(app, ["unfiled", "retry", key], env={"COLUMNS": "200"})
    assert still.exit_code == 1 and f"{key}: still fails: ValueError at channels/social.py:" in still.output
    assert list(reports(redis)) == [BUDI["id"]] and instagram_health(redis, settings)["state"] == "degraded"

    bug["present"] = False  # an upgrade mended it
    retried = CliRunner().invoke(app, ["unfiled", "retry", "--all"], env={"COLUMNS": "200"})
    assert retried.exit_code == 0 and "released 1 of 1 unfiled message(s)" in retried.output, retried.output
    assert f"{key}: filed" in retried.output and SARI["id"] not in still.output + retried.output
    filed = reports(redis)
    assert set(filed) == {SARI["id"], BUDI["id"]} and filed[SARI["id"]]["anonymous"] is True
    assert {"media_id": SARI["media"]["id"], "comment_id": SARI["id"], "thread": SARI["id"]} in reply_targets(redis)
    assert "failed to file" not in str(instagram_health(redis, settings)["reason"])


async def test_a_comment_kept_unfiled_is_forgotten_once_its_webhook_sent_again_is_filed(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment kept unfiled (a bug its words met) whose webhook Instagram sends again once the bug is gone (an
    upgrade, or a bug that passed) is filed by the poller as any: its entry stayed, the channel degraded and the
    comment listed as unfiled though it had a Tracking ID, until an operator's retry. It goes as it is filed now,
    said in the log (no word of it, no handle), and the channel's health recovers."""
    import channels.social
    from gateway.unfiled import UnfiledMessages

    bug = {"present": True}
    normalize = channels.social.normalize

    def normalize_with_a_bug(message: Any, **options: Any) -> Any:
        if bug["present"] and message.provider_message_id == SARI["id"]:
            raise ValueError("a bug")
        return normalize(message, **options)

    monkeypatch.setattr(channels.social, "normalize", normalize_with_a_bug)
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200
    poll(settings, redis)
    (kept,), _ = UnfiledMessages(redis).list()
    assert (kept.channel, kept.key) == ("instagram", f"instagram:{SARI['id']}") and SARI["id"] not in reports(redis)
    assert instagram_health(redis, settings)["state"] == "degraded"

    bug["present"] = False
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200  # Instagram sends it again
    poll(settings, redis)

    filed = reports(redis)[SARI["id"]]
    assert UnfiledMessages(redis).list() == ([], 0)
    (forgotten,) = [line for line in log_events(log_stream) if line["event"] == "message.unfiled_filed"]
    assert (forgotten["channel"], forgotten["tracking_id"]) == ("instagram", filed["tracking_id"]), forgotten
    assert "Sukamaju" not in log_stream.getvalue() and SARI["from"]["username"] not in log_stream.getvalue()
    health = instagram_health(redis, settings)
    assert health["state"] == "ok" and "failed to file" not in str(health["reason"]), health
    assert redis.hget("lapor:health:signals:instagram", "unfiled_at") is None


async def test_a_retry_that_fails_after_filing_its_comment_keeps_it_unfiled(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, monkeypatch: pytest.MonkeyPatch,
    test_env: TestEnvironment, log_stream: io.StringIO,
) -> None:
    """`lapor-gateway unfiled retry` forgets a message once it went through whole: one whose report it filed before
    a bug raised (its reply) still fails, and stays kept, as the command says; the next retry files it once."""
    from typer.testing import CliRunner

    import channels.social
    from gateway import cli
    from gateway.cli import app
    from gateway.unfiled import UnfiledMessages

    bug = {"present": True}
    normalize, job = channels.social.normalize, channels.social.MentionIntake._job

    def normalize_with_a_bug(message: Any, **options: Any) -> Any:
        if bug["present"]:
            raise ValueError("a bug")
        return normalize(message, **options)

    def job_with_a_bug(self: Any, message: Any, *args: Any, **options: Any) -> Any:
        if bug["present"]:
            raise ValueError("a bug in the reply")
        return job(self, message, *args, **options)

    monkeypatch.setattr(channels.social, "normalize", normalize_with_a_bug)
    assert (await post_webhook(gateway, fixture_bytes(ADDRESSED))).status_code == 200
    poll(settings, redis)
    (kept,), _ = UnfiledMessages(redis).list()

    monkeypatch.setattr(channels.social, "normalize", normalize)  # a half-mended bug: the reply still fails
    monkeypatch.setattr(channels.social.MentionIntake, "_job", job_with_a_bug)
    for name, value in {**test_env.values, **INSTAGRAM_ENV}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.console, "width", 200)
    still = CliRunner().invoke(app, ["unfiled", "retry", kept.key], env={"COLUMNS": "200"})
    assert still.exit_code == 1 and f"{shown_key(settings, kept.key)}: still fails: ValueError" in still.output, \
        still.output
    assert SARI["id"] in reports(redis) and UnfiledMessages(redis).list()[0] == [kept]

    bug["present"] = False
    retried = CliRunner().invoke(app, ["unfiled", "retry", "--all"], env={"COLUMNS": "200"})
    assert retried.exit_code == 0 and "released 1 of 1 unfiled message(s)" in retried.output, retried.output
    assert list(reports(redis)) == [SARI["id"]] and UnfiledMessages(redis).list() == ([], 0)
    assert not [text for text in (still.output, retried.output, log_stream.getvalue()) if "Sukamaju" in text]


def grammar_failing_on(word: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`addresses_us` raising for a comment with `word` in it: a bug its words meet in the grammar."""
    import channels.instagram_graph

    addresses_us = channels.instagram_graph.addresses_us

    def addresses_us_with_a_bug(text: str, username: str) -> bool:
        if word in text:
            raise ValueError("grammar")
        return addresses_us(text, username)

    monkeypatch.setattr(channels.instagram_graph, "addresses_us", addresses_us_with_a_bug)


async def test_a_stored_comment_the_grammar_now_fails_on_stops_no_round(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The poller read a stored comment's words again to know whether it was our own (comment_left_out, which asks
    the grammar whether it addresses us, as the webhook had): a bug the words met there (a grammar upgraded while it
    waited) raised out of every round, past MentionIntake's guard, and neither it, nor any comment or mention after
    it, was filed. Whether it is our own is its author's; it is filed, as the webhook let it through."""
    for payload in (ADDRESSED, KEYWORD_REPLY):
        assert (await post_webhook(gateway, fixture_bytes(payload))).status_code == 200
    grammar_failing_on("Sukamaju", monkeypatch)
    poll(settings, redis)

    assert set(reports(redis)) == {SARI["id"], BUDI["id"]} and stored_comments(redis) == 0


async def test_a_comment_the_grammar_fails_on_in_the_webhook_loses_nothing_beside_it(
    gateway: GatewayServer, settings: Settings, redis: Redis, graph: GraphApi, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO,
) -> None:
    """The webhook asks the grammar whether a comment is written to us: a bug its words met there answered the whole
    delivery 500, at each of Meta's retries, and the comments and mentions beside it were lost with it. The comment
    is kept as written to us; the poller keeps it unfiled (its reading raising again) and files the others."""
    from gateway.unfiled import UnfiledMessages

    grammar_failing_on("Sukamaju", monkeypatch)
    import channels.social

    normalize = channels.social.normalize

    def normalize_with_the_bug(message: Any, **kwargs: Any) -> Any:
        if "Sukamaju" in message.text:
            raise ValueError("grammar")
        return normalize(message, **kwargs)

    monkeypatch.setattr(channels.social, "normalize", normalize_with_the_bug)
    delivery = fixture(ADDRESSED)
    delivery["entry"][0]["changes"].append(fixture(KEYWORD_REPLY)["entry"][0]["changes"][0])
    delivery["entry"].append({"id": IG_USER_ID, "time": 1763609300, "changes": [
        {"field": "mentions", "value": {"media_id": "17887498072083520", "comment_id": "17894227972186120"}}]})
    response = await post_webhook(gateway, orjson.dumps(delivery))
    assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    assert stored_comments(redis) == 2
    assert redis.llen(PENDING_KEY.format(ig_user_id=IG_USER_ID)) == 1
    (unread,) = [line for line in log_events(log_stream) if line["event"] == "webhook.comment_unread"]
    assert unread["error"] == "ValueError" and "Sukamaju" not in log_stream.getvalue()

    graph.replies.append(POSTED)
    poll(settings, redis)
    assert list(reports(redis)) == [BUDI["id"]] and stored_comments(redis) == 0
    (kept,), _ = UnfiledMessages(redis).list()
    assert kept.message.provider_message_id == SARI["id"]

