"""Instagram mentions: the webhook over real HTTP, the Graph API poller against the local fake provider, real Redis."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from channels.instagram_graph import (
    COMMENTS_KEY,
    PENDING_KEY,
    PROGRESS_KEY,
    GraphClient,
    InstagramPoller,
    classify_response,
    comment_item,
    notification_items,
    our_reply_in,
    own_post,
    store_pending,
)
from channels.registry import polled_reply_target
from channels.social import ProviderError, strip_leading_mentions
from gateway.app import create_app
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import ChannelRules, evaluate, load_rules
from gateway.health.signals import ERRORS_KEY, SIGNALS_KEY, HealthSignals, endpoint
from gateway.intake import Intake
from gateway.liveness import ServingBeat
from gateway.logs import configure_logging
from gateway.queues import REPLY_QUEUE, queue
from gateway.settings import Settings
from gateway.tls import tls_context
from gateway.tracking import SEQUENCE_KEY, format_tracking_id
from tests.aggregator_support import sign as sign_sha256
from tests.conftest import GatewayServer, TestEnvironment, free_port, log_events
from tests.social_helpers import (
    IG_SECRET,
    IG_TOKEN,
    IG_USER_ID,
    IG_VERIFY,
    FakeProviderServer,
    fixture,
    fixture_bytes,
    on_a_restarted_fake_provider,
    run_reply_jobs,
    run_reply_jobs_once_more,
    run_reply_jobs_to_the_end,
    running_fake_provider,
)
from tests.test_forwarding import cli
from workers import social_reply
from workers.deadletters import DeadLetters
from workers.report_payload import case_store_payload

if TYPE_CHECKING:
    from tests.conftest import TestEnvironment

WEBHOOK = "/v1/channels/instagram/webhook"
NOW = 1_900_000_000.0
COMMENT = fixture("instagram/graph_mentioned_comment.json")["mentioned_comment"]
MEDIA = fixture("instagram/graph_mentioned_media.json")["mentioned_media"]


@pytest.fixture
def fake(test_env: TestEnvironment) -> Iterator[FakeProviderServer]:
    with running_fake_provider(test_env.values["LAPOR_PUBLIC_URL"] + WEBHOOK) as server:
        yield server


@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**fake.env(LAPOR_INSTAGRAM_PAGE_SIZE="3"))


@pytest.fixture
def intake(redis: Redis, settings: Settings) -> Iterator[Intake]:
    intake = Intake(redis, settings)
    yield intake
    intake.close()


def seed_fixture_mentions(fake: FakeProviderServer, *, tagged: bool = False) -> None:
    """The Graph objects behind the webhook fixtures, as the Graph API would return them."""
    fake.state.ig_comments[COMMENT["id"]] = dict(COMMENT)
    fake.state.ig_media[COMMENT["media"]["id"]] = {**MEDIA, "id": COMMENT["media"]["id"], "caption": "Antrean KTP"}
    fake.state.ig_media[MEDIA["id"]] = dict(MEDIA)
    if tagged:
        fake.state.ig_tags.append(MEDIA["id"])


def sign(body: bytes, secret: str = IG_SECRET) -> str:
    return sign_sha256(body, secret)


async def post_webhook(gateway: GatewayServer, body: bytes, signature: str | None = "auto") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = sign(body)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await gateway.client.post(WEBHOOK, content=body, headers=headers)


def poller(settings: Settings, redis: Redis, intake: Intake) -> InstagramPoller:
    return InstagramPoller(settings, redis, intake, clock=lambda: NOW)


def envelopes(redis: Redis) -> list[dict[str, Any]]:
    return [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]


def reports_by_id(redis: Redis) -> dict[str, dict[str, Any]]:
    found = envelopes(redis)
    by_id = {e["channel_message_id"]: e for e in found}
    assert len(by_id) == len(found), "one mention became more than one report"
    return by_id


def reply_targets(redis: Redis) -> list[dict[str, str]]:
    return [job.args[1] for job in queue(REPLY_QUEUE, redis).jobs]


def pending(redis: Redis) -> int:
    return int(redis.llen(PENDING_KEY.format(ig_user_id=IG_USER_ID)))


# -- the webhook ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": IG_VERIFY, "hub.challenge": "1158201444"},
                     200, "1158201444", id="right-token-echoes-challenge"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
                     403, None, id="wrong-token"),
        pytest.param({"hub.mode": "unsubscribe", "hub.verify_token": IG_VERIFY, "hub.challenge": "1"},
                     403, None, id="wrong-mode"),
        pytest.param({"hub.challenge": "1158201444"}, 403, None, id="no-token"),
    ],
)
async def test_the_verify_handshake(gateway: GatewayServer, query: dict[str, str], status: int,
                                    body: str | None) -> None:
    response = await gateway.client.get(WEBHOOK, params=query)
    assert response.status_code == status
    if body is not None:
        assert response.text == body


async def test_twilio_still_takes_post_only(gateway: GatewayServer) -> None:
    assert (await gateway.client.get("/v1/channels/sms/twilio")).status_code == 405


@pytest.mark.parametrize(
    ("signature", "status", "reason"),
    [
        pytest.param("auto", 200, None, id="valid"),
        pytest.param(None, 403, "signature_missing", id="missing"),
        pytest.param("sha256=" + "0" * 64, 403, "signature_invalid", id="invalid"),
        pytest.param(sign(b"other body"), 403, "signature_invalid", id="signature-of-another-body"),
        pytest.param(sign(fixture_bytes("instagram/webhook_comment_mention.json"), "not-our-secret"), 403,
                     "signature_invalid", id="other-app-secret"),
        pytest.param("sha1=abcdef", 403, "signature_malformed", id="malformed"),
    ],
)
async def test_the_webhook_signature(gateway: GatewayServer, redis: Redis, log_stream: io.StringIO,
                                     signature: str | None, status: int, reason: str | None) -> None:
    response = await post_webhook(gateway, fixture_bytes("instagram/webhook_comment_mention.json"), signature)
    assert response.status_code == status
    assert pending(redis) == (1 if status == 200 else 0)
    if reason:
        (rejected,) = [e for e in log_events(log_stream) if e["event"] == "message.rejected"]
        assert rejected["reason"] == reason and rejected["channel"] == "instagram"


async def test_a_signed_payload_that_is_no_mentions_notification_is_a_400(gateway: GatewayServer,
                                                                           redis: Redis) -> None:
    body = b'{"object": "instagram", "entry": "nope"}'
    assert (await post_webhook(gateway, body)).status_code == 400
    assert pending(redis) == 0


@pytest.mark.parametrize(
    "bad_change",
    [
        pytest.param({"field": "mentions", "value": {"comment_id": "17894227972186121"}}, id="no-media-id"),
        pytest.param({"field": "mentions", "value": "17887498072083521"}, id="value-not-an-object"),
        pytest.param({"field": "mentions", "value": {"media_id": {"id": "1"}}}, id="media-id-an-object"),
        pytest.param({"field": "mentions", "value": {"media_id": "1788", "comment_id": ["1"]}}, id="comment-id-a-list"),
    ],
)
async def test_one_change_that_cannot_be_read_leaves_the_other_mentions_of_its_delivery_durable(
        gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, bad_change: dict[str, Any]) -> None:
    """Meta batches changes and resends a refused delivery whole: a 400 for one bad change lost the mentions
    beside it at every retry."""
    payload = orjson.loads(fixture_bytes("instagram/webhook_comment_mention.json"))
    payload["entry"][0]["changes"].insert(0, bad_change)
    payload["entry"].append("not an entry")
    before = REGISTRY.get_sample_value("lapor_messages_rejected_total",
                                       {"channel": "instagram", "reason": "bad_payload"}) or 0.0

    response = await post_webhook(gateway, orjson.dumps(payload))

    assert (response.status_code, pending(redis)) == (200, 1)
    rejected = [e for e in log_events(log_stream) if e["event"] == "webhook.change_rejected"]
    assert [e["reason"] for e in rejected] == ["bad_payload", "bad_payload"]
    assert REGISTRY.get_sample_value("lapor_messages_rejected_total",
                                     {"channel": "instagram", "reason": "bad_payload"}) == before + 2


@pytest.mark.parametrize(
    ("media_id", "taken"),
    [
        pytest.param("17887498072083521", True, id="ascii-digits"),
        pytest.param(17887498072083521, True, id="a-number"),
        pytest.param("\u0661\u0662\u0663", False, id="arabic-indic-digits"),
        pytest.param("\u06f1\u06f2\u06f3", False, id="extended-arabic-indic-digits"),
        pytest.param("\u00b2\u00b3", False, id="superscripts"),
        pytest.param("\uff11\uff12\uff13", False, id="fullwidth-digits"),
        pytest.param("\u0967\u0968", False, id="devanagari-digits"),
        pytest.param("", False, id="empty"),
        pytest.param("-1", False, id="signed"),
        pytest.param(True, False, id="a-boolean"),
    ],
)
def test_a_graph_id_is_ascii_digits_only(media_id: object, taken: bool) -> None:
    """`str.isdigit` takes other scripts' digits and superscripts: no Graph id is written so, and one came into the
    Graph API's paths and our keys as it was."""
    change = {"field": "mentions", "value": {"media_id": media_id, "comment_id": "17894227972186121"}}
    comment = {"field": "comments", "value": {"id": "17865799348089039", "text": "@lapor1708 lampu mati",
                                              "media": {"id": media_id}, "parent_id": media_id,
                                              "from": {"id": media_id, "username": "warga"}}}
    found = notification_items({"object": "instagram", "entry": [{"id": IG_USER_ID, "changes": [change, comment]}]})
    assert [item["media_id"] for item in found.items] == ([str(media_id)] if taken else [])
    (kept,) = found.comments
    expected = str(media_id) if taken else ""
    assert (kept["media_id"], kept["parent_id"], kept["from_id"]) == (expected, expected, expected)
    mention_by_comment = {"field": "mentions", "value": {"media_id": "17887498072083521", "comment_id": media_id}}
    found = notification_items({"entry": [{"id": IG_USER_ID, "changes": [mention_by_comment]}]})
    assert len(found.items) == (1 if taken or media_id == "" else 0)


STORY_MENTION = fixture("instagram/webhook_messaging_story_mention.json")
DIRECT_MESSAGE = fixture("instagram/webhook_messaging_direct_message.json")
DM_EVENT = DIRECT_MESSAGE["entry"][0]["messaging"][0]
MENTION_ENTRY = fixture("instagram/webhook_comment_mention.json")["entry"][0]


def messaging_delivery(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "instagram", "entry": list(entries)}


def dm_entry(*events: dict[str, Any], name: str = "messaging", account: str = IG_USER_ID) -> dict[str, Any]:
    return {"id": account, "time": 1763609460231, name: list(events)}


@pytest.mark.parametrize(
    ("payload", "kinds", "mentions"),
    [
        pytest.param(STORY_MENTION, ["story_mention"], 0, id="story-mention"),
        pytest.param(DIRECT_MESSAGE, ["direct_message"], 0, id="direct-message"),
        pytest.param(messaging_delivery(dm_entry(DM_EVENT, name="standby")), ["direct_message"], 0,
                     id="direct-message-in-standby"),
        pytest.param(messaging_delivery(dm_entry(DM_EVENT, STORY_MENTION["entry"][0]["messaging"][0])),
                     ["direct_message", "story_mention"], 0, id="two-in-one-entry"),
        pytest.param(messaging_delivery(MENTION_ENTRY, dm_entry(DM_EVENT)), ["direct_message"], 1,
                     id="beside-a-mention"),
        pytest.param(messaging_delivery(dm_entry(DM_EVENT), "not an entry"), ["direct_message"], 0,
                     id="beside-an-entry-that-cannot-be-read"),
        pytest.param(messaging_delivery(dm_entry(
            {**DM_EVENT, "sender": {"id": IG_USER_ID}, "recipient": DM_EVENT["sender"],
             "message": {**DM_EVENT["message"], "is_echo": True}})), [], 0, id="echo-of-our-own-message"),
        pytest.param(messaging_delivery(dm_entry(
            {**DM_EVENT, "message": {"mid": DM_EVENT["message"]["mid"], "is_deleted": True}})), [], 0,
                     id="message-deleted-by-its-sender"),
        pytest.param(messaging_delivery(dm_entry(
            {key: DM_EVENT[key] for key in ("sender", "recipient", "timestamp")}
            | {"read": {"mid": DM_EVENT["message"]["mid"]}})), [], 0, id="read-receipt"),
        pytest.param(messaging_delivery(dm_entry(DM_EVENT, account="17841400000000001")), [], 0,
                     id="another-accounts-message"),
    ],
)
async def test_a_direct_message_or_story_mention_is_answered_200_logged_and_counted_never_taken(
        gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, payload: dict[str, Any], kinds: list[str],
        mentions: int) -> None:
    """Meta delivers a Story that mentions @lapor1708 only as a direct message (`messaging`, an attachment of type
    `story_mention`). The gateway takes none (no report, no reply): each was answered 200 with nothing stored, logged
    or counted, and no operator could see that a citizen had written. Now each is logged by its kind alone and counted
    `unsupported`; our own messages' echoes and the events that are no message are neither."""
    labels = {"channel": "instagram", "reason": "unsupported"}
    before = REGISTRY.get_sample_value("lapor_messages_rejected_total", labels) or 0.0

    response = await post_webhook(gateway, orjson.dumps(payload))

    assert (response.status_code, response.text, pending(redis)) == (200, "EVENT_RECEIVED", mentions)
    assert envelopes(redis) == [] and queue(REPLY_QUEUE, redis).count == 0
    lines = [e for e in log_events(log_stream) if e["event"] == "webhook.message_not_taken"]
    assert [(line["kind"], line["reason"], line["channel"]) for line in lines] == [
        (kind, "unsupported", "instagram") for kind in kinds]
    assert (REGISTRY.get_sample_value("lapor_messages_rejected_total", labels) or 0.0) == before + len(kinds)
    (stored,) = [e for e in log_events(log_stream) if e["event"] == "webhook.stored"]
    assert stored["messages_not_taken"] == len(kinds)
    logged = log_stream.getvalue()
    for secret in (DM_EVENT["sender"]["id"], "Gang Mawar", "lampu jalan", "6655", "lookaside", "asset_id",
                   DM_EVENT["message"]["mid"][:16]):
        assert secret not in logged, f"{secret!r} in the log"


async def test_the_notification_is_durable_before_the_200_or_the_answer_is_503(
    settings: Settings, redis: Redis
) -> None:
    closed = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5,
                   retry=Retry(NoBackoff(), 0))
    runner = web.AppRunner(create_app(settings, closed, intake=Intake(redis, settings)), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    body = fixture_bytes("instagram/webhook_comment_mention.json")
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.post(WEBHOOK, content=body, headers={"X-Hub-Signature-256": sign(body)})
    finally:
        await runner.cleanup()
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("payload", "provider_id", "expected"),
    [
        pytest.param("instagram/webhook_comment_mention.json", COMMENT["id"],
                     {"confidential": True, "anonymous": False, "kind": "complaint",
                      "text": "pungli di loket KTP kecamatan Coblong", "sender": COMMENT["from"]["id"]},
                     id="comment"),
        pytest.param("instagram/webhook_media_mention.json", MEDIA["id"],
                     {"confidential": False, "anonymous": True, "kind": "complaint",
                      "text": "sampah menumpuk di pasar Kosambi sudah dua minggu", "sender": "agus.kosambi"},
                     id="caption"),
    ],
)
async def test_a_webhook_mention_is_resolved_through_the_graph_api_into_one_report(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    payload: str, provider_id: str, expected: dict[str, Any],
) -> None:
    seed_fixture_mentions(fake)
    response = await post_webhook(gateway, fixture_bytes(payload))
    assert response.status_code == 200 and response.text == "EVENT_RECEIVED"
    assert envelopes(redis) == []  # nothing resolved yet: the 200 only needed the notification to be durable

    poller(settings, redis, intake).poll_once()
    report = reports_by_id(redis)[provider_id]
    assert report["channel"] == "instagram" and report["source"] == "instagram"
    assert report["sender"]["kind"] == "ig_user" and report["sender"]["id"] == expected.pop("sender")
    for name, value in expected.items():
        assert report[name] == value
    assert pending(redis) == 0
    (target,) = reply_targets(redis)
    assert target["media_id"] in (COMMENT["media"]["id"], MEDIA["id"])
    assert target.get("comment_id") == (COMMENT["id"] if provider_id == COMMENT["id"] else None)


@pytest.mark.parametrize("webhook_first", [True, False], ids=["webhook-then-poll", "poll-then-webhook"])
async def test_a_mention_seen_by_webhook_and_poll_is_one_report_and_one_reply(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    webhook_first: bool,
) -> None:
    seed_fixture_mentions(fake, tagged=True)
    ig = poller(settings, redis, intake)
    body = fixture_bytes("instagram/webhook_media_mention.json")
    if webhook_first:
        assert (await post_webhook(gateway, body)).status_code == 200
        ig.resolve_pending()
        ig.poll_tags()
    else:
        ig.poll_tags()
        assert (await post_webhook(gateway, body)).status_code == 200
        ig.resolve_pending()
    assert list(reports_by_id(redis)) == [MEDIA["id"]]
    assert reply_targets(redis) == [{"media_id": MEDIA["id"]}]


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": "instagram"}) or 0.0


async def test_a_webhook_mention_is_received_once_and_its_notification_apart(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The status views add up lapor_messages_received_total: the notification is not the citizen's message, the
    mention the poller resolves from it is."""
    names = ("lapor_messages_received_total", "lapor_notifications_received_total", "lapor_messages_accepted_total")
    before = {name: counted(name) for name in names}
    seed_fixture_mentions(fake)
    assert (await post_webhook(gateway, fixture_bytes("instagram/webhook_comment_mention.json"))).status_code == 200
    poller(settings, redis, intake).poll_once()
    assert {name: counted(name) - before[name] for name in names} == {
        "lapor_messages_received_total": 1, "lapor_notifications_received_total": 1,
        "lapor_messages_accepted_total": 1}


def test_a_real_tags_page_becomes_a_report(fake: FakeProviderServer, settings: Settings, redis: Redis,
                                          intake: Intake) -> None:
    fake.fail("/graph/v21.0/" + IG_USER_ID + "/tags", 200, body=fixture("instagram/graph_tags_page.json"))
    poller(settings, redis, intake).poll_tags()
    report = reports_by_id(redis)[MEDIA["id"]]
    assert report["anonymous"] is True
    assert report["attachments"][0]["location"] == MEDIA["media_url"]


@pytest.mark.parametrize(("tags_page", "level"), [(None, "debug"), ("instagram/graph_tags_page.json", "info")],
                         ids=["nothing-taken-at-debug", "a-post-taken-at-info"])
def test_a_round_logs_channel_polled_at_info_only_when_it_took_something(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    tags_page: str | None, level: str,
) -> None:
    """As X's poller: a round of nothing, every few seconds, was an info line (17,000 a day), the ones that took a
    post or comment lost among them."""
    if tags_page:
        fake.fail("/graph/v21.0/" + IG_USER_ID + "/tags", 200, body=fixture(tags_page))
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    [polled] = [e for e in log_events(log_stream) if e["event"] == "channel.polled"]
    assert (polled["tagged"] > 0, polled["level"]) == (tags_page is not None, level), polled


def test_a_post_that_only_tags_the_account_is_filed_without_a_reply_it_could_not_take(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """/tags lists the posts that tag the account in the photo, and the Graph API comments only on a caption that
    @mentions it ("Commenting on photos in which you were tagged is not supported"): each such reply was refused
    into the dead letters and counted as the channel failing. The post is a report all the same; a post there whose
    caption names the account is answered as before."""
    before = REGISTRY.get_sample_value("lapor_replies_total", {"channel": "instagram", "outcome": "unanswerable"}) or 0
    only_tagged = fake.state.add_ig_mention("sampah menumpuk di pasar Kosambi", kind="media", username="agus.k")
    named = fake.state.add_ig_mention("@lapor1708 drainase tersumbat", kind="media")
    poller(settings, redis, intake).poll_tags()

    reports = reports_by_id(redis)
    assert reports[only_tagged["media_id"]]["text"] == "sampah menumpuk di pasar Kosambi"
    assert reply_targets(redis) == [{"media_id": named["media_id"]}]
    run_reply_jobs(settings)
    assert [reply["media_id"] for reply in fake.state.ig_replies] == [named["media_id"]]
    assert DeadLetters(redis).list() == []
    after = REGISTRY.get_sample_value("lapor_replies_total", {"channel": "instagram", "outcome": "unanswerable"})
    assert after == before + 1
    (skipped,) = [e for e in log_events(log_stream) if e["event"] == "reply.unanswerable"]
    assert (skipped["reason"], skipped["tracking_id"]) == ("tagged_only", reports[only_tagged["media_id"]][
        "tracking_id"])
    assert "agus.k" not in log_stream.getvalue()


@pytest.mark.parametrize(("caption", "reply_key"), [
    pytest.param("sampah menumpuk di pasar Kosambi", "social_ack", id="a-report"),
    pytest.param("ANONIM petugas parkir minta uang lebih", "social_ack", id="an-anonymous-report"),
    pytest.param("CEK 12345", "social_bad_tracking_id_photo", id="a-photo-with-a-mistyped-id"),
])
def test_a_post_that_only_tags_the_account_is_logged_and_counted_unanswerable_once_however_often_it_is_read(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    caption: str, reply_key: str
) -> None:
    """The report of a post read again is deduplicated, but its `reply.unanswerable` was logged and counted at every
    read (no reply marker was written for it): each later /tags walk that reached it counted it once more."""
    labels = {"channel": "instagram", "outcome": "unanswerable"}
    before = REGISTRY.get_sample_value("lapor_replies_total", labels) or 0
    post = fake.state.add_ig_mention(caption, kind="media", username="agus.k")
    ig = poller(settings, redis, intake)
    for _ in range(3):
        ig.poll_tags()
        redis.delete(PROGRESS_KEY.format(ig_user_id=IG_USER_ID))  # the cursor lost: the next walk reads it again

    events = log_events(log_stream)
    assert [e["duplicate"] for e in events if e["event"] == "message.accepted"] == [False, True, True]
    assert REGISTRY.get_sample_value("lapor_replies_total", labels) == before + 1
    (skipped,) = [e for e in events if e["event"] == "reply.unanswerable"]
    assert (skipped["reason"], skipped["reply_key"], skipped["tracking_id"]) == (
        "tagged_only", reply_key, reports_by_id(redis)[post["media_id"]]["tracking_id"])
    assert reply_targets(redis) == []
    assert "agus.k" not in log_stream.getvalue()


OWN_COMMENT = fixture("instagram/graph_mentioned_comment_own.json")["mentioned_comment"]


@pytest.mark.parametrize(
    ("found", "path", "reported"),
    [
        pytest.param(OWN_COMMENT, "webhook", False, id="our-comment-by-webhook"),
        pytest.param({**OWN_COMMENT, "username": "dewi.coblong", "from": COMMENT["from"],
                      "text": OWN_COMMENT["text"] + " Lampu jalan di Jl. Riau mati"}, "webhook", True,
                     id="a-citizens-comment"),
        pytest.param({**MEDIA, "username": "lapor1708"}, "webhook", False, id="our-caption-by-webhook"),
        pytest.param({**MEDIA, "username": "lapor1708"}, "tags", False, id="our-post-in-tags"),
        pytest.param(MEDIA, "tags", True, id="a-citizens-post-in-tags"),
    ],
)
async def test_our_own_comment_or_post_is_no_report_and_gets_no_reply(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    log_stream: io.StringIO, found: dict[str, Any], path: str, reported: bool,
) -> None:
    """X filters our own tweets by author id; Meta may notify us of our own comment too (our `social_help` reply
    names @lapor1708). Ours, by `instagram.username`, is dropped with `mention.ignored`: no report, no reply, no
    notification left waiting. The same text from a citizen, with words of their own, is a report (alone, the help
    copied back asks for help again: tests/test_sms_units.py)."""
    is_comment = "text" in found
    store = fake.state.ig_comments if is_comment else fake.state.ig_media
    store[found["id"]] = dict(found)
    ids = {"media_id": found["media"]["id"], "comment_id": found["id"]} if is_comment else {"media_id": found["id"]}
    if path == "tags":
        fake.state.ig_tags.append(found["id"])
        poller(settings, redis, intake).poll_tags()
    else:
        assert (await post_webhook(gateway, fake.state.webhook_payload(ids))).status_code == 200
        poller(settings, redis, intake).resolve_pending()
        assert pending(redis) == 0
    assert (found["id"] in reports_by_id(redis)) is reported
    assert len(reply_targets(redis)) == int(reported)
    ignored = [e for e in log_events(log_stream) if e["event"] == "mention.ignored"]
    assert [e["reason"] for e in ignored] == ([] if reported or path == "tags" else ["own_post"])


@pytest.mark.parametrize(
    ("found", "own"),
    [
        pytest.param({"username": "lapor1708"}, True, id="our-username"),
        pytest.param({"username": "LAPOR1708"}, True, id="our-username-in-capitals"),
        pytest.param({"username": "lapor1708.fans"}, False, id="a-username-that-starts-like-ours"),
        pytest.param({"username": "warga", "from": {"id": IG_USER_ID, "username": "lapor1708"}}, True,
                     id="our-id-as-author"),
        pytest.param({"owner": {"id": IG_USER_ID}}, True, id="our-id-as-owner"),
        pytest.param({"username": "warga", "from": {"id": "17841400000000001"}}, False, id="another-id"),
        pytest.param({"username": "lapor1708.resmi", "from": {"id": IG_USER_ID, "username": "lapor1708.resmi"}}, True,
                     id="our-id-under-a-new-username-the-settings-do-not-know"),
        pytest.param({"username": "lapor1708", "from": {"id": "17841400000000001", "username": "lapor1708"}}, False,
                     id="our-old-username-taken-by-another-id"),
        pytest.param({"username": "lapor1708", "owner": {"id": "17841400000000001"}}, False,
                     id="our-username-on-a-post-another-id-owns"),
        pytest.param({"from": "17841405309211844"}, False, id="an-author-that-is-no-object"),
        pytest.param({}, False, id="no-author-at-all"),
    ],
)
def test_our_own_comment_is_told_by_our_id_or_without_one_by_our_username(
    settings: Settings, found: dict[str, Any], own: bool
) -> None:
    assert own_post(found, settings.instagram) is own


@pytest.mark.parametrize("kind", ["comment", "media"])
def test_the_fake_providers_reply_listing_names_our_replys_author_by_id_when_asked_as_the_graph_api_does(
    fake: FakeProviderServer, settings: Settings, kind: str
) -> None:
    """The listing the reply lookup reads serves each comment's `from` ({id, username}, an IG Comment's), and only
    the fields asked for: our reply is found by the account's id, also once `instagram.username` is stale."""
    ids = fake.state.add_ig_mention("@lapor1708 lampu jalan mati di Jl. Riau", kind=kind)
    client = GraphClient(settings)
    try:
        posted = client.reply(ids["media_id"], ids.get("comment_id"), "Laporan Anda kami terima. (ref TU3ZIHPG)")
        listing = client.reply_listing(ids["media_id"], ids.get("comment_id"))
        bare = client._call("GET", IG_USER_ID, {"fields": (
            f"mentioned_comment.comment_id({ids['comment_id']}){{replies.limit(50){{id,text}}}}" if kind == "comment"
            else f"mentioned_media.media_id({ids['media_id']}){{comments.limit(50){{id,text}}}}")})
    finally:
        client.close()
    [ours] = [comment for comment in listing.comments if comment["id"] == posted]
    assert ours["from"] == {"id": IG_USER_ID, "username": "lapor1708"}
    renamed = settings.instagram.model_copy(update={"username": "lapor1708.lama"})
    assert our_reply_in(listing, "TU3ZIHPG", renamed) == posted
    edge = bare["mentioned_comment"]["replies"] if kind == "comment" else bare["mentioned_media"]["comments"]
    assert {key for comment in edge["data"] for key in comment} == {"id", "text"}


async def test_our_help_reply_that_names_the_account_does_not_come_back_as_a_report(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The loop itself: a citizen asks for help, the reply worker posts `social_help` (which says "Sebut @lapor1708
    ..."), and Meta notifies us of that comment of ours: nothing is filed and nothing answered a second time."""
    asked = fake.state.add_ig_mention("@lapor1708 bantuan", kind="comment")
    assert (await post_webhook(gateway, fake.state.webhook_payload(asked))).status_code == 200
    ig = poller(settings, redis, intake)
    ig.resolve_pending()
    run_reply_jobs(settings)
    (help_reply,) = fake.state.ig_replies
    assert "@lapor1708" in help_reply["message"]
    ours = fake.state.add_ig_mention(help_reply["message"], kind="comment", own=True)
    assert (await post_webhook(gateway, fake.state.webhook_payload(ours))).status_code == 200
    ig.resolve_pending()
    run_reply_jobs(settings)
    assert envelopes(redis) == [] and pending(redis) == 0
    assert len(fake.state.ig_replies) == 1


def test_tags_over_several_pages_a_failure_half_way_and_a_restart_report_each_once(
    fake: FakeProviderServer, settings: Settings, redis: Redis
) -> None:
    first = [fake.state.add_ig_mention(f"@lapor1708 drainase {n} tersumbat", kind="media") for n in range(7)]
    intake_a = Intake(redis, settings)
    ig = poller(settings, redis, intake_a)
    original = ig.graph.tags
    calls = {"n": 0}

    def tags_then_outage(after: str | None, limit: int = 50) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 2:
            fake.fail("/graph/v21.0/" + IG_USER_ID + "/tags", 500, body={"error": {"code": 2, "message": "x"}})
        return original(after, limit)

    ig.graph.tags = tags_then_outage  # type: ignore[method-assign]
    ig.poll_once()
    assert len(envelopes(redis)) == 3  # the first page of 3 only
    ig.poll_tags()  # resumes at the second page
    intake_a.close()
    assert {ids["media_id"] for ids in first} == set(reports_by_id(redis))

    later = [fake.state.add_ig_mention(f"@lapor1708 parkir liar {n}", kind="media") for n in range(4)]
    intake_b = Intake(redis, settings)  # a restart: a new poller with only Redis to go on
    restarted = poller(settings, redis, intake_b)
    restarted.poll_tags()
    redis.delete(PROGRESS_KEY.format(ig_user_id=IG_USER_ID))  # the cursor lost: everything comes again
    restarted.poll_tags()
    intake_b.close()
    assert set(reports_by_id(redis)) == {ids["media_id"] for ids in first + later}
    assert sorted(t["media_id"] for t in reply_targets(redis)) == sorted(ids["media_id"] for ids in first + later)


def test_posts_made_on_a_restarted_fake_provider_are_reported_and_answered(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """`make run` started again keeps its Redis (the media seen, the claims of the mentions taken) and starts a new
    fake provider: its posts must not read as ones already taken."""
    def post_and_poll(provider: FakeProviderServer, settings: Settings, intake: Intake, run: int) -> None:
        provider.state.add_ig_mention(f"@lapor1708 drainase nomor {run} tersumbat", kind="media")
        poller(settings, redis, intake).poll_tags()

    on_a_restarted_fake_provider(test_env, redis, NOW, post_and_poll)

    assert sorted(report["text"] for report in envelopes(redis)) == [
        "drainase nomor 1 tersumbat", "drainase nomor 2 tersumbat"]
    assert len({target["media_id"] for target in reply_targets(redis)}) == 2


def test_a_deleted_newest_post_does_not_send_the_tags_walk_back_through_the_accounts_history(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Citizens delete posts once answered. If the newest media seen was one of them, the next walk must still stop
    at what it saw before, not walk every page of /tags again and answer posts whose dedup entries have expired."""
    old = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak {n}", kind="media") for n in range(7)]
    ig = poller(settings, redis, intake)
    ig.poll_tags()
    assert len(reports_by_id(redis)) == 7
    fake.state.ig_tags.remove(old[-1]["media_id"])  # the newest post seen is deleted
    for key in [*redis.scan_iter("lapor:dedup:*"), *redis.scan_iter("lapor:social:reply-queued:*")]:
        redis.delete(key)  # a month later: dedup entries and reply markers have expired
    fresh = fake.state.add_ig_mention("@lapor1708 lampu jalan mati", kind="media")
    before = len(fake.state.requests)
    ig.poll_tags()
    walked = [r for r in fake.state.requests[before:] if r["path"].endswith("/tags")]
    assert len(walked) == 1  # the first page already holds posts seen before
    assert [t["media_id"] for t in reply_targets(redis)].count(old[0]["media_id"]) == 1
    assert len(reports_by_id(redis)) == 8 and fresh["media_id"] in reports_by_id(redis)


def test_a_tags_walk_whose_saved_cursor_died_with_its_post_starts_again_instead_of_failing_for_ever(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A walk cut short keeps its `after` cursor for the next round; Meta invalidates a cursor when its media is
    deleted ("(#2642) Invalid cursors values"). Asked with it again every round, /tags failed for ever: the posts
    below it never reported, the channel failing."""
    settings = test_env.settings(**fake.env(LAPOR_INSTAGRAM_PAGE_SIZE="3", LAPOR_INSTAGRAM_MAX_PAGES="1"))
    posts = [fake.state.add_ig_mention(f"@lapor1708 trotoar rusak {n}", kind="media") for n in range(7)]
    intake = Intake(redis, settings)
    ig = poller(settings, redis, intake)
    assert ig.poll_tags() == 3  # one page of three: the walk goes on from its cursor next round
    fake.state.ig_tags.remove(posts[4]["media_id"])  # the post under the cursor is deleted

    with pytest.raises(ProviderError):
        ig.poll_tags()
    for _ in range(3):
        ig.poll_tags()
    intake.close()

    assert set(reports_by_id(redis)) == {ids["media_id"] for ids in posts}
    assert sorted(t["media_id"] for t in reply_targets(redis)) == sorted(ids["media_id"] for ids in posts)
    assert [e["code"] for e in log_events(log_stream) if e["event"] == "channel.pagination_reset"] == [2642]


TAGS_PAGE = fixture("instagram/graph_tags_page.json")


@pytest.mark.parametrize("paging", [
    pytest.param("x", id="paging-a-string"),
    pytest.param(["x"], id="paging-a-list"),
    pytest.param({"cursors": "x", "next": "https://graph/next"}, id="cursors-a-string"),
    pytest.param({"cursors": {"after": {"id": 1}}, "next": "https://graph/next"}, id="after-an-object"),
])
def test_a_tags_page_whose_paging_is_of_another_shape_is_a_bad_payload_not_a_crash_or_the_walks_end(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO, paging: Any
) -> None:
    """The walk read `paging` and its `cursors` as objects: of another shape, it raised AttributeError past the round's
    error handling (`poller.crashed`, retried after 30 s, the channel shown healthy). A bad payload now, the cursor
    where it was: read as the walk's end, the media on the pages after it would be passed over for good."""
    fake.fail("/graph/v21.0/" + IG_USER_ID + "/tags", 200, body={**TAGS_PAGE, "paging": paging})
    poller(settings, redis, intake).poll_once()
    [line] = [e for e in log_events(log_stream) if e["event"] == "channel.bad_payload"]
    assert line["detail"] == "tags page with paging of another shape"
    assert not redis.exists(PROGRESS_KEY.format(ig_user_id=IG_USER_ID)) or not orjson.loads(
        redis.get(PROGRESS_KEY.format(ig_user_id=IG_USER_ID))).get("seen")
    health = {h["channel"]: h for h in HealthMonitor(redis, load_rules(settings.health.rules_path()))
              .status()["channels"]}["instagram"]
    assert health["last_errors"][0]["kind"] == "poll_failed" and health["last_poll_ok_at"] is None


def _posted(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(time.time() - seconds_ago))


def test_the_first_tags_walk_takes_only_recent_posts_not_the_accounts_whole_history(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake
) -> None:
    settings = test_env.settings(**fake.env(LAPOR_INSTAGRAM_FIRST_POLL_LOOKBACK_MINUTES="60"))
    old = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak lama {n}", kind="media") for n in range(6)]
    for ids, days in zip(old, range(6, 0, -1), strict=True):  # posted oldest first, as the list is kept
        fake.state.ig_media[ids["media_id"]]["timestamp"] = _posted(days * 86400)
    recent = fake.state.add_ig_mention("@lapor1708 lampu jalan mati", kind="media")
    # An old post tagged only now comes first in /tags: skipped, and the walk goes on to the recent one.
    retagged = fake.state.add_ig_mention("@lapor1708 foto lama", kind="media")
    fake.state.ig_media[retagged["media_id"]]["timestamp"] = _posted(30 * 86400)
    ig = InstagramPoller(settings, redis, intake, clock=time.time)
    ig.poll_tags()
    assert list(reports_by_id(redis)) == [recent["media_id"]]
    assert reply_targets(redis) == [{"media_id": recent["media_id"]}]

    newer = fake.state.add_ig_mention("@lapor1708 sampah menumpuk", kind="media")
    ig.poll_tags()  # from here on: down to the newest media seen
    assert set(reports_by_id(redis)) == {recent["media_id"], newer["media_id"]}


def test_with_no_lookback_a_quiet_account_still_gets_every_post_after_going_live(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake
) -> None:
    settings = test_env.settings(**fake.env(LAPOR_INSTAGRAM_FIRST_POLL_LOOKBACK_MINUTES="0"))
    now = [time.time()]
    ig = InstagramPoller(settings, redis, intake, clock=lambda: now[0])
    ig.poll_tags()  # nothing tagged yet: the start (now) is kept for the next walks
    assert reports_by_id(redis) == {}
    posted = fake.state.add_ig_mention("@lapor1708 drainase tersumbat", kind="media")
    now[0] += 300  # the next walk, five minutes later
    ig.poll_tags()
    assert list(reports_by_id(redis)) == [posted["media_id"]]


CHECKED_ID = format_tracking_id(1_000_123)


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        # A post is its photo: "CEK <id>" on one adds the photo to that report (a status answer alone lost it).
        pytest.param(f"lapor1708 CEK {CHECKED_ID}", {"follow_up_of": CHECKED_ID, "text": ""},
                     id="status-query-on-a-post-is-a-follow-up-with-its-photo"),
        pytest.param("lapor1708 ASPIRASI taman kota perlu lampu", {"kind": "aspiration",
                                                                   "text": "taman kota perlu lampu"}, id="aspirasi"),
        pytest.param("Lapor1708: sampah menumpuk di pasar", {"kind": "complaint", "text": "sampah menumpuk di pasar"},
                     id="case-and-colon"),
        pytest.param("pemkot.bdg lapor1708 drainase tersumbat", {"text": "pemkot.bdg lapor1708 drainase tersumbat"},
                     id="bare-word-before-our-handle-stays"),
        pytest.param("lapor1708an itu penting", {"text": "lapor1708an itu penting"}, id="longer-word-stays"),
    ],
)
def test_a_caption_the_graph_api_returns_without_the_at_sign_keeps_the_keyword_grammar(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, caption: str,
    expected: dict[str, str],
) -> None:
    """Meta's docs: captions (and comment text) that @mention the account come back *without* the @ unless we made
    the media. Our own handle at the start is the mention, not the citizen's first word."""
    redis.set(SEQUENCE_KEY, 2_000_000)  # CHECKED_ID was minted: a follow-up to it is one
    ids = fake.state.add_ig_mention(caption, kind="media")
    poller(settings, redis, intake).poll_tags()
    report = reports_by_id(redis)[ids["media_id"]]
    for name, value in expected.items():
        assert report[name] == value


def test_a_post_naming_a_mistyped_tracking_id_is_filed_and_its_reply_repeats_the_number_typed(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """A post is its photo: "CEK <id>" with a check digit that fails files it as a report of its own (anonymous), and
    the public reply says which number was not valid, as the SMS answer does, with the new report's Tracking ID."""
    mistyped = CHECKED_ID[:-1] + str((int(CHECKED_ID[-1]) + 1) % 10)
    ids = fake.state.add_ig_mention(f"@lapor1708 CEK {mistyped}", kind="media")
    poller(settings, redis, intake).poll_tags()
    run_reply_jobs(settings)
    report = reports_by_id(redis)[ids["media_id"]]
    assert (report["follow_up_of"], report["anonymous"], report["text"]) == (None, True, f"CEK {mistyped}")
    (reply,) = fake.state.ig_replies
    assert reply["message"].startswith(f"Nomor lacak {mistyped} tidak valid.")
    assert f"Nomor lacak: {report['tracking_id']}." in reply["message"]


# -- errors -------------------------------------------------------------------------------------------------
GRACE = 15 * 60


def graph_error(code: int, message: str, status: int = 400, subcode: int | None = None) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ab1"}
    if subcode:
        error["error_subcode"] = subcode
    return status, {"error": error}


def clocked(settings: Settings, redis: Redis, intake: Intake) -> tuple[InstagramPoller, list[float]]:
    """A poller on a clock the test moves; it starts at the real time the webhook stamps its notifications with."""
    now = [time.time()]
    return InstagramPoller(settings, redis, intake, clock=lambda: now[0]), now


def lookups(fake: FakeProviderServer, object_id: str) -> int:
    return sum(1 for r in fake.state.requests if f"({object_id})" in r["query"].get("fields", ""))


async def test_a_mention_not_yet_readable_after_its_webhook_is_retried_until_the_graph_api_has_it(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    log_stream: io.StringIO,
) -> None:
    """Meta: a just-created comment may not be readable for a short while after its webhook (code 100)."""
    ids = fake.state.add_ig_mention("@lapor1708 jalan rusak di Jl. Riau", kind="comment")
    comment = fake.state.ig_comments.pop(ids["comment_id"])
    payload = fake.state.webhook_payload(ids)
    assert (await post_webhook(gateway, payload)).status_code == 200
    (stored,) = [orjson.loads(raw) for raw in redis.lrange(PENDING_KEY.format(ig_user_id=IG_USER_ID), 0, -1)]
    assert stored["first_seen"] == pytest.approx(time.time(), abs=30)  # the grace period runs from the webhook
    ig, now = clocked(settings, redis, intake)
    ig.poll_once()
    assert pending(redis) == 1 and envelopes(redis) == []  # kept: not readable yet is not "never"
    now[0] += 1
    ig.poll_once()
    assert lookups(fake, ids["comment_id"]) == 1  # not asked again at every pending tick: it waits its turn
    fake.state.ig_comments[ids["comment_id"]] = comment
    now[0] += 120
    ig.poll_once()
    assert list(reports_by_id(redis)) == [ids["comment_id"]] and pending(redis) == 0
    assert "Riau" not in log_stream.getvalue()


ITEM_ERRORS = [
    pytest.param(None, id="not-readable-code-100"),
    pytest.param(graph_error(10, "Application does not have permission for this action"), id="permission-code-10"),
    pytest.param(graph_error(200, "Permissions error", 403), id="permissions-code-200"),
    pytest.param(graph_error(1, "An unknown error has occurred.", 500), id="server-error-on-this-item"),
]


@pytest.mark.parametrize("error", ITEM_ERRORS)
def test_a_pending_mention_that_fails_on_its_own_blocks_nobody_and_is_dropped_after_the_grace_period(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    error: tuple[int, dict[str, Any]] | None,
) -> None:
    stuck = fake.state.add_ig_mention("@lapor1708 pungli di loket Jl. Riau", kind="comment")
    if error is None:
        del fake.state.ig_comments[stuck["comment_id"]]
    else:
        fake.state.ig_object_errors[stuck["comment_id"]] = error
    others = fake.state.add_ig_mention("@lapor1708 lampu jalan mati", kind="comment")
    tagged = fake.state.add_ig_mention("@lapor1708 sampah menumpuk", kind="media")
    key = PENDING_KEY.format(ig_user_id=IG_USER_ID)
    redis.rpush(key, orjson.dumps(stuck), orjson.dumps(others))  # the failing one first, as it came first
    ig, now = clocked(settings, redis, intake)
    ig.poll_once()
    assert set(reports_by_id(redis)) == {others["comment_id"], tagged["media_id"]}  # neither waits behind it
    assert pending(redis) == 1
    (item,) = [orjson.loads(raw) for raw in redis.lrange(key, 0, -1)]
    assert item["comment_id"] == stuck["comment_id"] and item["attempts"] == 1 and item["first_seen"] > 0
    for _ in range(40):  # polls over the next twenty minutes
        now[0] += 30
        ig.poll_once()
    assert pending(redis) == 0 and len(envelopes(redis)) == 2
    (dropped,) = [e for e in log_events(log_stream) if e["event"] == "mention.unresolvable"]
    assert dropped["attempts"] >= 2 and dropped["waited_seconds"] >= GRACE and dropped["channel"] == "instagram"
    assert lookups(fake, stuck["comment_id"]) == dropped["attempts"] < 20  # retried with a growing delay
    assert "Riau" not in log_stream.getvalue() and "pungli" not in log_stream.getvalue()


@pytest.mark.parametrize(
    ("error", "event"),
    [
        pytest.param(graph_error(190, "Error validating access token: Session has expired", subcode=463),
                     "channel.auth_failed", id="token-expired-190"),
        pytest.param(graph_error(102, "Session key invalid or no longer valid"), "channel.auth_failed",
                     id="api-session-102"),
        pytest.param(graph_error(4, "Application request limit reached"), "channel.rate_limited", id="rate-4"),
        pytest.param(graph_error(17, "User request limit reached"), "channel.rate_limited", id="rate-17"),
        pytest.param(graph_error(32, "Page request limit reached"), "channel.rate_limited", id="rate-32"),
        pytest.param(graph_error(613, "Calls to this api have exceeded the rate limit."), "channel.rate_limited",
                     id="rate-613"),
        pytest.param(graph_error(80002, "There have been too many calls to this Instagram account."),
                     "channel.rate_limited", id="instagram-rate-80002"),
    ],
)
def test_an_error_about_the_whole_account_still_stops_the_round(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    error: tuple[int, dict[str, Any]], event: str,
) -> None:
    first = fake.state.add_ig_mention("@lapor1708 jalan rusak", kind="comment")
    second = fake.state.add_ig_mention("@lapor1708 lampu jalan mati", kind="comment")
    fake.state.ig_object_errors[first["comment_id"]] = error
    key = PENDING_KEY.format(ig_user_id=IG_USER_ID)
    redis.rpush(key, orjson.dumps(first), orjson.dumps(second))
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    assert envelopes(redis) == [] and lookups(fake, second["comment_id"]) == 0
    assert not [r for r in fake.state.requests if r["path"].endswith("/tags")]
    assert [orjson.loads(raw) for raw in redis.lrange(key, 0, -1)] == [first, second]  # untouched, no attempt
    assert [e for e in log_events(log_stream) if e["event"] == event]


@pytest.mark.parametrize(
    ("error", "reason", "does"),
    [
        pytest.param(graph_error(190, "Error validating access token: Session has expired", subcode=463),
                     "{host} answered 400 code=190 (access token invalid or expired)",
                     "set LAPOR_INSTAGRAM_ACCESS_TOKEN to a new long-lived token", id="token-expired-190"),
        pytest.param(graph_error(102, "Session key invalid or no longer valid"), "{host} answered 400 code=102 (API "
                     "session invalid)", "set LAPOR_INSTAGRAM_ACCESS_TOKEN to a new long-lived token",
                     id="api-session-102"),
        pytest.param((401, {}), "{host} answered 401", "set LAPOR_INSTAGRAM_ACCESS_TOKEN to a new long-lived token",
                     id="401-no-code"),
        pytest.param(graph_error(10, "Application does not have permission for this action", 403),
                     "{host} answered 403 code=10 (permission missing)",
                     "grant it in the Meta app, set LAPOR_INSTAGRAM_ACCESS_TOKEN to a token issued after",
                     id="permission-10"),
    ],
)
def test_a_refused_token_names_the_host_says_what_the_graph_code_means_and_what_to_set(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, error: tuple[int, dict[str, Any]],
    reason: str, does: str,
) -> None:
    """A long-lived Instagram token expires every 60 days: "400 code=190" sent the operator to Meta's error tables
    at 2 a.m.; the reason says what the code means and names the host that refused (LAPOR_INSTAGRAM_GRAPH_BASE_URL's,
    as a failing poll's reason does), and the step what to set: a new token, or a permission granted first (a
    renewed token lacks it still). With when the poller asks again, as a failing poll's reason says it."""
    status, body = error
    fake.fail("/graph", status, body=body)
    ig, now = clocked(settings, redis, intake)
    delay = ig.poll_once()
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: now[0])
    instagram = {h["channel"]: h for h in monitor.status()["channels"]}["instagram"]
    next_try = datetime.fromtimestamp(now[0] + delay, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    reason = (f"authentication failing (1 in a row): {reason.format(host=fake.url.removeprefix('http://'))} "
              f"(next try {next_try})")
    assert (instagram["state"], instagram["reason"]) == ("degraded", reason)
    [action] = instagram["actions"]
    assert does in action and "restart `lapor-gateway pollers`" in action, action


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        pytest.param((503, {"error": {"code": 2, "message": "Service temporarily unavailable", "is_transient": True}}),
                     "{host} answered 503 code=2 (service temporarily unavailable)", id="503-transient"),
        pytest.param((502, {}), "{host} answered 502", id="502-a-proxys-page"),
        pytest.param(None, "ConnectError talking to {host}", id="nothing-listening"),
    ],
)
def test_a_failing_poll_names_the_graph_host_and_its_next_try(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, answer: tuple[int, dict[str, Any]] | None,
    says: str,
) -> None:
    """The Instagram poller's failing reason said "503 code=2 ..." or "ConnectError" with no word of where: the
    IMAP poller's named its server, and an operator at 2 a.m. had to find which host `lapor-gateway pollers` polls.
    It names the Graph API's host (never the URL's user, password, path or the token) and when the poller tries
    again."""
    slow = {"LAPOR_INSTAGRAM_ERROR_RETRY_SECONDS": "300", "LAPOR_INSTAGRAM_AUTH_RETRY_SECONDS": "600"}
    if answer is None:
        port = free_port()
        settings = test_env.settings(**fake.env(
            LAPOR_INSTAGRAM_GRAPH_BASE_URL=f"http://relay:s3cr3t-pw@127.0.0.1:{port}/graph/v21.0", **slow))
        host = f"127.0.0.1:{port}"
    else:
        settings = test_env.settings(**fake.env(**slow))
        fake.fail("/graph", answer[0], body=answer[1], count=10)
        host = fake.url.removeprefix("http://")
    intake = Intake(redis, settings)
    ig, now = clocked(settings, redis, intake)
    ig.poll_once()
    delay = ig.next_tags_at - now[0]  # /tags's next try (nothing else asked the Graph API)
    intake.close()
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: now[0] + 130)
    instagram = {h["channel"]: h for h in monitor.status()["channels"]}["instagram"]
    [failing] = [f for f in instagram["findings"] if f["rule"] == "poll_failing"]
    next_try = datetime.fromtimestamp(now[0] + delay, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    assert delay > 130  # a next try still ahead when the view looks
    assert failing["reason"] == f"poller failing for 2 min: {says.format(host=host)} (next try {next_try})"
    document = orjson.dumps(monitor.status()).decode()
    assert "s3cr3t" not in document and IG_TOKEN not in document and "v21.0" not in failing["reason"]


def test_a_graph_api_at_an_address_of_the_deployments_own_is_named_whole_in_the_status(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """A Graph API base URL at an address of 9 digits or more (a proxy of the deployment's own; 127.100.200.1 is
    loopback, as all of 127.0.0.0/8 is): the failing reason read "ConnectError talking to [phone]:<port>" in every
    view. The pollers, set up with their settings, keep the address, and so does `lapor-gateway status` with its own;
    never the URL's user or password."""
    port = free_port()
    env = fake.env(LAPOR_INSTAGRAM_GRAPH_BASE_URL=f"http://relay:s3cr3t-pw@127.100.200.1:{port}/graph/v21.0")
    settings = test_env.settings(**env)
    configure_logging("info", own_hosts=settings.own_hosts)  # as `lapor-gateway pollers` sets it up
    try:
        intake = Intake(redis, settings)
        ig, _ = clocked(settings, redis, intake)
        ig.poll_once()
        intake.close()
    finally:
        configure_logging("info")
    ServingBeat(redis, "pollers", ["instagram"]).beat()  # a running deployment's, which `status` looks for
    shown = cli(test_env, "status", "--json", **env)
    [instagram] = [c for c in orjson.loads(shown.stdout)["channels"] if c["channel"] == "instagram"]
    assert [e["reason"] for e in instagram["last_errors"]] == [f"ConnectError talking to 127.100.200.1:{port}"]
    assert "s3cr3t" not in shown.stdout and "relay" not in shown.stdout


def test_server_errors_on_two_lookups_in_a_row_are_an_outage_and_stop_the_round(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    mentions = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak {n}", kind="comment") for n in range(3)]
    for ids in mentions[:2]:
        fake.state.ig_object_errors[ids["comment_id"]] = graph_error(2, "Service temporarily unavailable", 503)
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), *[orjson.dumps(ids) for ids in mentions])
    ig, now = clocked(settings, redis, intake)
    ig.poll_once()
    assert envelopes(redis) == [] and lookups(fake, mentions[2]["comment_id"]) == 0
    assert "channel.provider_error" in [e["event"] for e in log_events(log_stream)]
    now[0] += 1
    ig.poll_once()  # the second one is retried later in turn: the third is not held behind them
    assert list(reports_by_id(redis)) == [mentions[2]["comment_id"]] and pending(redis) == 2


def test_an_account_wide_failure_classified_per_item_never_drops_the_pending_mentions(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The permission revoked for the whole app answers code 10 to every call: nothing proves the item is at fault,
    so however long it lasts the mentions stay pending, and are resolved once the permission is back."""
    ids = fake.state.add_ig_mention("@lapor1708 jalan rusak", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    status, body = graph_error(10, "Application does not have permission for this action")
    fake.fail("/graph", status, body=body, count=10_000)
    ig, now = clocked(settings, redis, intake)
    for _ in range(60):  # an hour
        now[0] += 60
        ig.poll_once()
    assert pending(redis) == 1
    fake.state.faults.clear()
    now[0] += 600
    ig.poll_once()
    assert list(reports_by_id(redis)) == [ids["comment_id"]] and pending(redis) == 0


@pytest.mark.parametrize("error", [
    pytest.param(graph_error(10, "Application does not have permission for this action"), id="permission-code-10"),
    pytest.param(graph_error(200, "Permissions error", 403), id="permissions-code-200"),
])
def test_every_mention_lookup_failing_while_tags_answers_is_a_failing_channel_that_drops_nothing(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    error: tuple[int, dict[str, Any]],
) -> None:
    """Each lookup refused for itself (about_one_object), while /tags answers: every round went on and counted as a
    successful poll, so the channel showed healthy, and the /tags answers let each mention be dropped after its
    grace period. Two mentions or more refused with none read since: the channel is failing, with why, and keeps
    them until a lookup reads one again."""
    mentions = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak {n}", kind="comment") for n in range(3)]
    for ids in mentions:
        fake.state.ig_object_errors[ids["comment_id"]] = error
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), *[orjson.dumps(ids) for ids in mentions])
    ig, now = clocked(settings, redis, intake)
    for _ in range(40):  # twenty minutes, /tags answering all along
        now[0] += 30
        ig.poll_once()
    assert [r for r in fake.state.requests if r["path"].endswith("/tags")]
    assert pending(redis) == 3 and "mention.unresolvable" not in [e["event"] for e in log_events(log_stream)]
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()))
    instagram = {h["channel"]: h for h in monitor.status(now=time.time() + 700)["channels"]}["instagram"]
    assert instagram["state"] == "down"
    # The host that answered, as every poller's reason names it (the IMAP poller's too).
    where = fake.url.removeprefix("http://")
    assert f"mention lookups failing (3 mentions, none read since): {where} answered {error[0]} code=" in (
        instagram["reason"])
    assert "permission missing" in instagram["reason"]
    for ids in mentions:
        del fake.state.ig_object_errors[ids["comment_id"]]
    now[0] += 600
    ig.poll_once()
    assert len(reports_by_id(redis)) == 3 and pending(redis) == 0
    instagram = {h["channel"]: h for h in monitor.status()["channels"]}["instagram"]
    assert "lookups failing" not in instagram["reason"]


@pytest.mark.parametrize(("status", "body", "held_back"), [
    pytest.param(500, {"error": {"code": 2, "message": "Service temporarily unavailable", "is_transient": True}},
                 False, id="tags-5xx"),
    pytest.param(200, {"data": "not a list"}, False, id="tags-unreadable-page"),
    # the account's own trouble: every call would meet it, the round waits as before
    pytest.param(401, {"error": {"code": 190, "message": "Error validating access token"}}, True, id="token-refused"),
])
def test_a_failing_tags_poll_holds_back_no_mention_a_webhook_named(  # type: ignore[no-untyped-def]
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, status: int, body: dict[str, Any],
    held_back: bool,
) -> None:
    """One round took the webhooks' mentions, the comments on our posts and /tags together: /tags answering 500
    put the whole round in its backoff (80, 160, 300 s), and a citizen's comment named by its webhook waited minutes
    unanswered. /tags waits out its own failure; the channel says it fails until /tags answers."""
    settings = test_env.settings(**fake.env(LAPOR_INSTAGRAM_ERROR_RETRY_SECONDS="300",
                                            LAPOR_INSTAGRAM_AUTH_RETRY_SECONDS="300"))
    fake.fail("/graph/v21.0/" + IG_USER_ID + "/tags", status, body=body, count=100)
    intake = Intake(redis, settings)
    ig, now = clocked(settings, redis, intake)
    delay = ig.poll_once()  # /tags fails
    ids = fake.state.add_ig_mention("@lapor1708 kabel listrik menjuntai di Jl. Riau", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    assert (delay <= settings.instagram.pending_interval_seconds) is not held_back
    if held_back:
        intake.close()
        return
    now[0] += delay
    ig.poll_once()
    assert ids["comment_id"] in reports_by_id(redis)  # taken a second later, /tags still waiting out its failure
    assert ig.next_tags_at - now[0] > 200
    # the channel says /tags fails (the rounds taking the comment cleared it before), until /tags answers
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: ig.next_tags_at - 60)
    failing = poll_failing(monitor)
    assert failing is not None and failing["state"] != "ok", failing
    fake.state.faults.clear()
    now[0] = ig.next_tags_at
    ig.poll_once()  # /tags answers again
    intake.close()
    assert poll_failing(monitor) is None


def poll_failing(monitor: HealthMonitor) -> dict[str, Any] | None:
    """The Instagram channel's `poll_failing` finding, if any."""
    instagram = {h["channel"]: h for h in monitor.status()["channels"]}["instagram"]
    return next((f for f in instagram["findings"] if f["rule"] == "poll_failing"), None)


def test_failing_mention_lookups_say_the_host_and_their_next_try(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Each failed lookup is retried on its own (`mention.lookup_failed`), and "mention lookups failing ..." said no
    next try, where a failing poll's reason says when its poller tries again. It says the earliest of their retries,
    and moves with it as they fail again (signalled once, its next try went by and none was said)."""
    mentions = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak {n}", kind="comment") for n in range(2)]
    for ids in mentions:
        fake.state.ig_object_errors[ids["comment_id"]] = graph_error(10, "Application does not have permission", 403)
    key = PENDING_KEY.format(ig_user_id=IG_USER_ID)
    redis.rpush(key, *[orjson.dumps(ids) for ids in mentions])
    ig, now = clocked(settings, redis, intake)
    now[0] += 3600  # the poller's clock an hour ahead of the monitor's: its next tries are ahead of every check
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()))
    where = fake.url.removeprefix("http://")
    tries = []
    for _ in range(2):
        ig.poll_once()
        due = min(float(orjson.loads(raw)["retry_at"]) for raw in redis.lrange(key, 0, -1))
        instagram = {h["channel"]: h for h in monitor.status(now=time.time() + 601)["channels"]}["instagram"]
        next_try = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        assert (f"mention lookups failing (2 mentions, none read since): {where} answered 403 code=10 (permission "
                f"missing) (next try {next_try})") in instagram["reason"]
        tries.append(due)
        now[0] = due + 1
    assert tries[1] > tries[0]


def test_failing_mention_lookups_moving_their_next_try_add_no_last_error_each_retry(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The failing lookups are signalled again each time their earliest retry moves, for the views' next try: each
    signal was one more of the channel's last errors, the same text every retry, and after a dozen retries the list
    held it alone, the token refused and the 503 before it pushed out. Their next try moves, their error is one."""
    signals = HealthSignals(redis)
    signals.auth_failed("instagram", "graph answered 400 code=190 (access token expired)", refusal="token")
    signals.poll_failed("instagram", "graph answered 503")
    mentions = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak {n}", kind="comment") for n in range(3)]
    for ids in mentions:
        fake.state.ig_object_errors[ids["comment_id"]] = graph_error(10, "Application does not have permission", 403)
    key = PENDING_KEY.format(ig_user_id=IG_USER_ID)
    redis.rpush(key, *[orjson.dumps(ids) for ids in mentions])
    ig, now = clocked(settings, redis, intake)
    tries = set()
    for _ in range(12):
        ig.poll_once()
        tries.add(float(redis.hget(SIGNALS_KEY.format(channel="instagram"), "poll_retry_at") or 0))
        now[0] = min(float(orjson.loads(raw)["retry_at"]) for raw in redis.lrange(key, 0, -1)) + 1
    assert len(tries) == 12  # the next try said moved with every retry
    errors = [orjson.loads(raw) for raw in redis.lrange(ERRORS_KEY.format(channel="instagram"), 0, -1)]
    assert [e["kind"] for e in errors] == ["poll_failed", "poll_failed", "auth_failed"]
    assert errors[0]["reason"].startswith("mention lookups failing (3 mentions, none read since): ")
    assert errors[1]["reason"] == "graph answered 503"


def test_a_lookup_refused_for_a_field_the_api_does_not_have_drops_no_mention_and_fails_the_channel(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """Code 100 "Tried accessing nonexisting field" refuses our request, not the object: asked again, every lookup
    of every comment gets it. Read as "not readable yet" (code 100), each mention was dropped after the grace period,
    counted as no failure, the channel healthy while /tags answered: every comment mention lost. They stay pending,
    the channel failing with why, until a lookup reads one again."""
    ids = fake.state.add_ig_mention("@lapor1708 jalan rusak di Jl. Riau", kind="comment")
    refusal = fixture("instagram/graph_error_mentioned_comment_field.json")
    fake.state.ig_object_errors[ids["comment_id"]] = (400, refusal)
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    ig, now = clocked(settings, redis, intake)
    for _ in range(60):  # half an hour, /tags answering all along
        now[0] += 30
        ig.poll_once()
    assert [r for r in fake.state.requests if r["path"].endswith("/tags")]
    assert pending(redis) == 1 and "mention.unresolvable" not in [e["event"] for e in log_events(log_stream)]
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()))
    instagram = {h["channel"]: h for h in monitor.status(now=time.time() + 700)["channels"]}["instagram"]
    assert instagram["state"] != "ok" and "400 code=100 (a field the API does not have)" in instagram["reason"]
    del fake.state.ig_object_errors[ids["comment_id"]]
    now[0] += 600
    ig.poll_once()
    assert list(reports_by_id(redis)) == [ids["comment_id"]] and pending(redis) == 0


@pytest.mark.parametrize(("field", "kind"), [pytest.param("from", "comment", id="comment-without-from"),
                                             pytest.param("children", "media", id="post-without-children")])
def test_a_lookup_refused_for_a_field_it_can_do_without_is_asked_again_without_it(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    field: str, kind: str,
) -> None:
    """The lookups ask for more than Meta documents on a mention's node (a comment's `from`, a post's `children`):
    should the Graph API refuse one ("Tried accessing nonexisting field"), every mention would wait, unfiled. Asked
    again without the fields a report can do without, they are filed (a comment's sender by its username, as a post's
    is; an album's first file), the warning said once, and later lookups ask so at once."""
    fake.state.ig_unsupported_fields.add(field)
    mentions = [fake.state.add_ig_mention(f"@lapor1708 jalan rusak {n}", kind=kind) for n in range(2)]
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), *[orjson.dumps(ids) for ids in mentions])
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    key = "comment_id" if kind == "comment" else "media_id"
    filed = reports_by_id(redis)
    assert set(filed) == {ids[key] for ids in mentions} and pending(redis) == 0
    assert all(report["sender"]["id"] for report in filed.values())
    reduced = [e["node"] for e in log_events(log_stream) if e["event"] == "mention.lookup_fields_reduced"]
    assert reduced.count(f"mentioned_{kind}") == 1
    assert lookups(fake, mentions[0][key]) == 2 and lookups(fake, mentions[1][key]) == 1


def test_a_tags_walk_refused_for_a_field_it_can_do_without_is_asked_again_without_it(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """As for the lookups: /tags refusing an album's `children` failed every walk, and the posts that only tag the
    account (which no webhook announces) were never filed."""
    fake.state.ig_unsupported_fields.add("children")
    posts = [fake.state.add_ig_mention(f"@lapor1708 sampah menumpuk {n}", kind="media", tagged=True)["media_id"]
             for n in range(4)]
    ig, now = clocked(settings, redis, intake)
    ig.poll_once()
    now[0] += 60
    ig.poll_once()
    assert set(reports_by_id(redis)) == set(posts)
    reduced = [e["node"] for e in log_events(log_stream) if e["event"] == "mention.lookup_fields_reduced"]
    assert reduced == ["tags"]
    assert "channel.bad_payload" not in [e["event"] for e in log_events(log_stream)]


async def test_a_deleted_mention_is_dropped_after_the_grace_period_and_a_graph_outage_keeps_it_pending(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    log_stream: io.StringIO,
) -> None:
    await post_webhook(gateway, fixture_bytes("instagram/webhook_comment_mention.json"))
    ig, now = clocked(settings, redis, intake)
    fake.fail("/graph", 503, body={"error": {"code": 2, "message": "Service temporarily unavailable"}}, count=100)
    for _ in range(30):  # a half-hour outage
        now[0] += 60
        ig.poll_once()
    assert pending(redis) == 1  # a server error everywhere: kept, however long
    assert "channel.provider_error" in [e["event"] for e in log_events(log_stream)]
    fake.state.faults.clear()
    for _ in range(40):  # the comment does not exist (deleted): dropped with a log line, never retried forever
        now[0] += 60
        ig.poll_once()
    assert pending(redis) == 0 and envelopes(redis) == []
    assert "mention.unresolvable" in [e["event"] for e in log_events(log_stream)]


@pytest.mark.parametrize(
    ("status", "body", "headers", "event", "delay"),
    [
        pytest.param(400, "instagram/graph_error_oauth.json", {}, "channel.auth_failed", 300.0, id="expired-token"),
        pytest.param(403, None, {}, "channel.auth_failed", 300.0, id="403"),
        pytest.param(400, "instagram/graph_error_rate_limit.json",
                     {"X-Business-Use-Case-Usage": orjson.dumps({IG_USER_ID: [
                         {"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 7}]}).decode()},
                     "channel.rate_limited", 7 * 60 + 1.0, id="rate-limit-with-usage-header"),
        pytest.param(500, None, {}, "channel.provider_error", 0.2, id="server-error"),
        # Meta's "(#2) Service temporarily unavailable" comes with 400 too: an outage, not a bad answer.
        pytest.param(400, "instagram/graph_error_transient.json", {}, "channel.provider_error", 0.2,
                     id="transient-error-with-400"),
        pytest.param(200, None, {}, "channel.bad_payload", 0.2, id="bad-payload"),
    ],
)
def test_graph_errors_are_classified_logged_and_acted_on(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    status: int, body: str | None, headers: dict[str, str], event: str, delay: float,
) -> None:
    fake.fail("/graph", status, body=fixture(body) if body else {"unexpected": True}, headers=headers)
    ig, now = clocked(settings, redis, intake)
    round_delay = ig.poll_once()
    # The account's failures (a token, a rate limit) hold the round; /tags's own (a 5xx, an unreadable page) hold
    # /tags alone, the webhooks' mentions taken every pending interval meanwhile.
    assert max(round_delay, ig.next_tags_at - now[0]) == pytest.approx(delay)
    assert round_delay == pytest.approx(delay if event in ("channel.auth_failed", "channel.rate_limited")
                                        else settings.instagram.pending_interval_seconds)
    (line,) = [e for e in log_events(log_stream) if e["event"] == event]
    assert line["channel"] == "instagram"
    assert "test-instagram-access-token" not in log_stream.getvalue()


@pytest.mark.parametrize(("body", "said"), [
    pytest.param("instagram/graph_error_not_found.json", "400 code=100 (object missing or not readable)",
                 id="subcode-33-the-object-gone"),
    # Meta's generic invalid parameter: said "object missing", the operator went looking for a deleted post
    pytest.param({"error": {"message": "(#100) Param message must be non-empty", "type": "OAuthException",
                            "code": 100, "fbtrace_id": "AxK2"}}, "400 code=100 (invalid parameter)",
                 id="code-100-alone-an-invalid-parameter"),
    pytest.param("instagram/graph_error_nonexisting_field.json", "400 code=100 (a field the API does not have)",
                 id="a-nonexisting-field"),
])
def test_a_graph_error_is_said_by_its_code_and_subcode(body: str | dict[str, Any], said: str) -> None:
    content = fixture(body) if isinstance(body, str) else body
    response = httpx.Response(400, json=content)
    assert classify_response(response, time.time()).detail == said


def usage(minutes: object) -> dict[str, str]:
    """Meta's X-Business-Use-Case-Usage header, saying access comes back in `minutes`."""
    return {"X-Business-Use-Case-Usage": orjson.dumps({IG_USER_ID: [
        {"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": minutes}]}).decode()}


@pytest.mark.parametrize(
    ("minutes", "delay", "capped"),
    [
        # 103,775,280 s: the poller slept that long, the channel stuck until a restart.
        pytest.param(1_729_588, 900.0, "2033-06-30T20:14:40Z", id="far-future-capped"),
        pytest.param(7, 7 * 60 + 1.0, None, id="within-the-window-as-given"),
        # A time already past: waited 1 s and asked again, as often as Meta kept answering so.
        pytest.param(-10, 0.2, None, id="past-normal-backoff"),
        pytest.param("soon", 0.2, None, id="garbage-normal-backoff"),
    ],
)
def test_a_rate_limit_waits_to_regain_access_at_most_the_longest_wait(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    minutes: object, delay: float, capped: str | None,
) -> None:
    """As for X: Meta's time to regain access is waited for up to `instagram.rate_limit_max_wait_seconds`, a longer
    one logged with the wait it got; one past or unreadable waits as a server error does."""
    fake.fail("/graph", 400, body=fixture("instagram/graph_error_rate_limit.json"), headers=usage(minutes))

    assert poller(settings, redis, intake).poll_once() == pytest.approx(delay)

    events = log_events(log_stream)
    [limited] = [e for e in events if e["event"] == "channel.rate_limited"]
    assert (limited["channel"], limited["retry_in_seconds"]) == ("instagram", delay)
    said = [{k: e[k] for k in ("level", "channel", "reset_at", "retry_in_seconds")}
            for e in events if e["event"] == "channel.rate_limit_wait_capped"]
    assert said == ([{"level": "warning", "channel": "instagram", "reset_at": capped, "retry_in_seconds": delay}]
                    if capped else [])
    assert settings.instagram.access_token not in log_stream.getvalue()


# -- replies ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("@lapor1708 Lurah Cibeunying minta uang untuk surat domisili", "comment", id="comment"),
        pytest.param("@lapor1708 #anonim Lurah Cibeunying minta uang untuk surat domisili", "comment",
                     id="anonymous-comment"),
        pytest.param("@lapor1708 #rahasia Lurah Cibeunying minta uang untuk surat domisili", "media",
                     id="confidential-caption"),
    ],
)
def test_an_instagram_reply_carries_the_tracking_id_and_nothing_of_the_complaint_or_sender(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, kind: str
) -> None:
    ids = fake.state.add_ig_mention(text, username="rina.cibeunying", kind=kind)
    fake.state.ig_tags.append(ids["media_id"])
    poller(settings, redis, intake).poll_tags()
    if kind == "comment":  # comments arrive by webhook; resolve it as the webhook's pending entry would
        redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
        poller(settings, redis, intake).resolve_pending()
    run_reply_jobs(settings)

    report = reports_by_id(redis)[ids.get("comment_id", ids["media_id"])]
    replies = [r for r in fake.state.ig_replies if r["comment_id"] == ids.get("comment_id")]
    (reply,) = replies
    assert reply["media_id"] == ids["media_id"]
    assert report["tracking_id"] in reply["message"]
    assert f"https://www.lapor.go.id/pengaduan/{report['tracking_id']}" in reply["message"]
    for private in ("Lurah", "Cibeunying", "domisili", "uang", "rina"):
        assert private.lower() not in reply["message"].lower()


# -- answers in the thread of our reply ---------------------------------------------------------------------
def take_comment(fake: FakeProviderServer, redis: Redis, ig: InstagramPoller, text: str, username: str,
                 on_media: str | None = None, user_id: str | None = None, *, with_author: bool = True
                 ) -> dict[str, str]:
    """A comment that mentions us, resolved as the webhook's pending entry would be. `user_id`: its author's, when
    not the one behind `username`; `with_author` False: the Graph API gave no `from`."""
    ids = fake.state.add_ig_mention(text, username=username, kind="comment", on_media=on_media, user_id=user_id)
    if not with_author:
        del fake.state.ig_comments[ids["comment_id"]]["from"]
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    ig.resolve_pending()
    return ids


def acknowledged(fake: FakeProviderServer, settings: Settings, redis: Redis, ig: InstagramPoller, text: str,
                 kind: str, username: str = "siti.rahma") -> tuple[dict[str, str], dict[str, Any]]:
    """A citizen's comment (or post) taken and answered: (its ids, its report)."""
    if kind == "comment":
        ids = take_comment(fake, redis, ig, text, username)
    else:
        ids = fake.state.add_ig_mention(text, username=username, kind="media")
        ig.poll_tags()
    run_reply_jobs(settings)
    return ids, reports_by_id(redis)[ids.get("comment_id", ids["media_id"])]


@pytest.mark.parametrize(
    ("parent", "answer", "expected"),
    [
        pytest.param({"text": "@lapor1708 lampu jalan mati di Jl. Dago"},
                     {"text": "@lapor1708 sudah seminggu belum diperbaiki"},
                     {"follow_up_of": "parent", "anonymous": False, "text": "sudah seminggu belum diperbaiki"},
                     id="the-reporter-adds-to-their-report"),
        pytest.param({"text": "@lapor1708 #anonim pungli di loket samsat"},
                     {"text": "@lapor1708 kejadian lagi hari ini"},
                     {"follow_up_of": "parent", "anonymous": True, "text": "kejadian lagi hari ini"},
                     id="an-anonymous-report-stays-anonymous"),
        pytest.param({"text": "@lapor1708 #rahasia pungli di loket samsat"},
                     {"text": "@lapor1708 kejadian lagi hari ini"},
                     {"follow_up_of": "parent", "confidential": True}, id="a-confidential-report-stays-confidential"),
        pytest.param({"text": "@lapor1708 #anonim drainase tersumbat", "kind": "media"},
                     {"text": "@lapor1708 sudah meluap ke jalan"},
                     {"follow_up_of": "parent", "anonymous": True, "text": "sudah meluap ke jalan"},
                     id="under-our-reply-on-their-own-post"),
        pytest.param({"text": "@lapor1708 lampu jalan mati di Jl. Dago"},
                     {"text": "@lapor1708 di gang saya juga mati", "username": "budi.bdg"},
                     {"follow_up_of": None, "text": "di gang saya juga mati"}, id="someone-else-files-a-report"),
        pytest.param({"text": "@lapor1708 lampu jalan mati di Jl. Dago"},
                     {"text": f"@lapor1708 {CHECKED_ID} lubangnya makin besar"},
                     {"follow_up_of": CHECKED_ID, "text": "lubangnya makin besar"}, id="an-id-they-typed-wins"),
        pytest.param({"text": "@lapor1708 lampu jalan mati di Jl. Dago"},
                     {"text": "@lapor1708 sudah seminggu belum diperbaiki", "envelope_gone": True},
                     {"follow_up_of": None}, id="a-report-the-gateway-no-longer-keeps"),
        pytest.param({"text": "@lapor1708 lampu jalan mati di Jl. Dago"},
                     {"text": "@lapor1708 sampah menumpuk di pasar", "another_post": True},
                     {"follow_up_of": None, "text": "sampah menumpuk di pasar"}, id="on-another-post-a-report"),
    ],
)
def test_a_comment_answering_our_reply_adds_to_the_report_when_its_reporter_writes_it(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    parent: dict[str, str], answer: dict[str, Any], expected: dict[str, Any],
) -> None:
    """"No wrong door", as on X: Instagram puts @lapor1708 in front of an answer to our reply, and the reporter's
    "sudah seminggu belum diperbaiki" there is about their report. It was a new report: the Graph API does not say
    which comment a comment answers, but it says which post it is on, and our reply there carried the report's
    Tracking ID. Anyone else's comment there is a report of its own, an ID typed wins, the report's flags carry over
    (an anonymous reporter stays anonymous), and a report whose envelope is gone can no longer tell its reporter."""
    redis.set(SEQUENCE_KEY, 2_000_000)  # CHECKED_ID was minted: a follow-up to it is one
    ig = poller(settings, redis, intake)
    ids, report = acknowledged(fake, settings, redis, ig, parent["text"], parent.get("kind", "comment"))
    if answer.get("envelope_gone"):
        redis.delete(f"lapor:envelope:{report['tracking_id']}")
    answered = take_comment(fake, redis, ig, answer["text"], answer.get("username", "siti.rahma"),
                            on_media=None if answer.get("another_post") else ids["media_id"])

    added = reports_by_id(redis)[answered["comment_id"]]
    wanted = {**expected, "follow_up_of": report["tracking_id"] if expected["follow_up_of"] == "parent"
              else expected["follow_up_of"]}
    for name, value in wanted.items():
        assert added[name] == value, name
    [job] = [job for job in queue(REPLY_QUEUE, redis).jobs if job.args[1] == answered]
    follow_up_of = wanted["follow_up_of"]
    assert tuple(job.args[2:4]) == (("social_follow_up", follow_up_of) if follow_up_of
                                    else ("social_ack", added["tracking_id"]))
    threaded = [e for e in log_events(log_stream) if e["event"] == "message.accepted" and e.get("thread")]
    assert len(threaded) == int(expected["follow_up_of"] == "parent")


STRANGER_ID = "17841499999999991"


@pytest.mark.parametrize(
    ("answer", "added"),
    [
        pytest.param({"username": "siti.rahma.bdg", "user_id": "reporter"}, True, id="the-reporter-renamed"),
        pytest.param({"username": "siti.rahma", "user_id": STRANGER_ID}, False,
                     id="a-stranger-who-took-the-reporters-old-username"),
        pytest.param({"username": "siti.rahma", "with_author": False}, False, id="a-comment-without-its-author-id"),
        pytest.param({"username": "siti.rahma", "stored_by_username": True}, True,
                     id="a-report-stored-by-username-its-username"),
        pytest.param({"username": "budi.bdg", "stored_by_username": True}, False,
                     id="a-report-stored-by-username-another"),
    ],
)
def test_a_comment_is_the_reporters_by_their_user_id_not_by_a_username_someone_else_may_take(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, answer: dict[str, Any], added: bool,
) -> None:
    """A username can be changed and then taken by someone else. Compared by username, a stranger's comment under our
    reply on an anonymous report was added to it, and our public answer told them it was that report. The comment's
    `from.id` decides; a report stored before the id was read (its sender the username, no display name) is matched
    by the username the commenter writes under now, and a comment without its author's id by nothing."""
    ig = poller(settings, redis, intake)
    ids, report = acknowledged(fake, settings, redis, ig, "@lapor1708 #anonim pungli di loket samsat", "comment")
    assert report["sender"] == {"kind": "ig_user", "id": fake.state.ig_user("siti.rahma"),
                                "display_name": "siti.rahma"}
    if answer.get("stored_by_username"):
        key = f"lapor:envelope:{report['tracking_id']}"
        legacy = {**orjson.loads(redis.get(key)), "sender": {"kind": "ig_user", "id": "siti.rahma",
                                                              "display_name": None}}
        redis.set(key, orjson.dumps(legacy), keepttl=True)
    user_id = fake.state.ig_user("siti.rahma") if answer.get("user_id") == "reporter" else answer.get("user_id")
    answered = take_comment(fake, redis, ig, "@lapor1708 kejadian lagi hari ini", answer["username"],
                            on_media=ids["media_id"], user_id=user_id, with_author=answer.get("with_author", True))

    comment = reports_by_id(redis)[answered["comment_id"]]
    assert comment["follow_up_of"] == (report["tracking_id"] if added else None)
    [job] = [job for job in queue(REPLY_QUEUE, redis).jobs if job.args[1] == answered]
    assert tuple(job.args[2:4]) == (("social_follow_up", report["tracking_id"]) if added
                                    else ("social_ack", comment["tracking_id"]))


def test_our_reply_pasted_into_a_comment_elsewhere_adds_the_citizens_words_to_its_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """A comment that copies our public reply ("Laporan Anda kami terima. Nomor lacak: <id>. Pantau di <link> (ref
    ...)") with the citizen's words, on another post (no thread of ours there), was filed as a new report, our own
    text its complaint. It adds the words to the report that reply named, with its flags, as our SMS answers sent
    back do."""
    ig = poller(settings, redis, intake)
    _, parent = acknowledged(fake, settings, redis, ig, "@lapor1708 #anonim lampu jalan mati di Jl. Dago", "comment")
    assert parent["tracking_id"] == "10000004"  # the ID the pasted reply names
    pasted = fixture("instagram/graph_mentioned_comment_our_reply_pasted.json")["mentioned_comment"]
    fake.state.ig_comments[pasted["id"]] = dict(pasted)
    fake.state.ig_media[pasted["media"]["id"]] = {**MEDIA, "id": pasted["media"]["id"], "caption": "Jalan Dago"}
    ids = {"media_id": pasted["media"]["id"], "comment_id": pasted["id"]}
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    ig.resolve_pending()

    added = reports_by_id(redis)[pasted["id"]]
    assert (added["follow_up_of"], added["anonymous"], added["text"]) == (
        "10000004", True, "sampai sekarang lampunya masih mati")
    [job] = [job for job in queue(REPLY_QUEUE, redis).jobs if job.args[1] == ids]
    assert tuple(job.args[2:4]) == ("social_follow_up", "10000004")


def test_the_thread_goes_on_through_our_reply_to_each_addition_and_the_report_is_not_its_own_addition(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """Our reply to an addition carries the report's Tracking ID too; the report's own comment, notified again
    after our reply, stays that report: no addition to itself, no second reply."""
    ig = poller(settings, redis, intake)
    ids, report = acknowledged(fake, settings, redis, ig, "@lapor1708 #anonim pungli di loket samsat", "comment")
    for text in ("@lapor1708 kejadian lagi hari ini", "@lapor1708 sekarang minta Rp 200rb"):
        answered = take_comment(fake, redis, ig, text, "siti.rahma", on_media=ids["media_id"])
        run_reply_jobs(settings)
        added = reports_by_id(redis)[answered["comment_id"]]
        assert (added["follow_up_of"], added["anonymous"]) == (report["tracking_id"], True)
        (reply,) = [r for r in fake.state.ig_replies if r["comment_id"] == answered["comment_id"]]
        assert report["tracking_id"] in reply["message"]
    before = len(log_events(log_stream))
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    ig.resolve_pending()
    run_reply_jobs(settings)
    (again,) = [e for e in log_events(log_stream)[before:] if e["event"] == "message.accepted"]
    assert (again["duplicate"], again["follow_up_of"], again.get("thread")) == (True, None, None)
    assert reports_by_id(redis)[ids["comment_id"]] == report
    assert len([r for r in fake.state.ig_replies if r["comment_id"] == ids["comment_id"]]) == 1
    assert redis.lrange(f"lapor:social:thread-post:instagram:{ids['media_id']}", 0, -1) == [
        report["tracking_id"].encode()]


@pytest.mark.parametrize("envelope_ttl", [None, 1234], ids=["report-waiting-to-be-forwarded", "report-forwarded"])
def test_our_reply_is_remembered_by_its_post_only_for_the_envelopes_lifetime_and_without_its_sender(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, envelope_ttl: int | None
) -> None:
    """The record is the post our reply was made on -> the Tracking IDs our replies there showed, all public on that
    post: nothing in it links the reporter's username or comment to a report; who may add to it is read from the
    envelope, and the record goes when the envelope goes. A help reply names no report and is not remembered."""
    ig = poller(settings, redis, intake)
    take_comment(fake, redis, ig, "@lapor1708 bantuan", "siti.rahma")
    ids = take_comment(fake, redis, ig, "@lapor1708 #anonim pungli di loket samsat", "siti.rahma")
    report = reports_by_id(redis)[ids["comment_id"]]
    if envelope_ttl:
        redis.expire(f"lapor:envelope:{report['tracking_id']}", envelope_ttl)
    run_reply_jobs(settings)
    assert len(fake.state.ig_replies) == 2
    [key] = list(redis.scan_iter("lapor:social:thread*"))
    assert key == f"lapor:social:thread-post:instagram:{ids['media_id']}".encode()
    assert redis.lrange(key, 0, -1) == [report["tracking_id"].encode()]
    ttl = redis.ttl(key)
    assert (envelope_ttl or settings.intake.envelope_ttl_seconds) - 5 <= ttl <= (
        envelope_ttl or settings.intake.envelope_ttl_seconds)
    for private in ("siti.rahma", ids["comment_id"]):
        assert private.encode() not in key + b"".join(redis.lrange(key, 0, -1))


def test_a_comment_deleted_before_its_reply_is_no_dead_letter_and_no_failing_channel(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The Graph API answers a reply to a deleted comment with code 100, subcode 33: the report stands, the reply
    is counted `target_gone`, and the channel is not made degraded by a dead letter nobody could requeue."""
    ids = fake.state.add_ig_mention("@lapor1708 lampu jalan mati di Jl. Cibeunying", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    poller(settings, redis, intake).resolve_pending()
    assert ids["comment_id"] in reports_by_id(redis)
    labels = {"channel": "instagram", "outcome": "target_gone"}
    gone_before = REGISTRY.get_sample_value("lapor_replies_total", labels) or 0
    fake.fail(f"/graph/v21.0/{IG_USER_ID}/mentions", 400, body=fixture("instagram/graph_error_reply_deleted.json"))
    run_reply_jobs(settings)
    assert fake.state.ig_replies == [] and DeadLetters(redis).list() == []
    assert REGISTRY.get_sample_value("lapor_replies_total", labels) == gone_before + 1
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    assert {health["channel"]: health for health in monitor.status()["channels"]}["instagram"]["state"] == "ok"


def test_a_reply_meta_refuses_for_a_moment_is_retried_not_dead_lettered(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Meta answers "(#2) Service temporarily unavailable" (`is_transient`) with 400 as often as with 500: read by
    its status, the citizen's reply went to the dead letters, sent only once an operator requeued it."""
    ids = fake.state.add_ig_mention("@lapor1708 lampu jalan mati di Jl. Cibeunying", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    poller(settings, redis, intake).resolve_pending()
    fake.fail(f"/graph/v21.0/{IG_USER_ID}/mentions", 400, body=fixture("instagram/graph_error_transient.json"))
    run_reply_jobs(settings)
    assert fake.state.ig_replies == [] and DeadLetters(redis).list() == []
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 1  # retried by RQ, with its backoff


@pytest.mark.parametrize("lookup_fails", [False, True], ids=["lookup-answers", "lookup-fails-once"])
@pytest.mark.parametrize("created", [True, False], ids=["5xx-after-it-was-created", "5xx-before-it-was-created"])
@pytest.mark.parametrize("kind", ["comment", "media"])
def test_a_reply_whose_post_got_a_5xx_is_on_the_citizens_post_once_after_its_retry(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, kind: str, created: bool,
    lookup_fails: bool
) -> None:
    """The Graph API takes the same comment twice: a retry after a 5xx that came once the comment was made posted it
    again, in public. The retry reads the comments where ours would be (the comment's replies, the post's comments)
    first; a lookup that fails is retried, never followed by a blind post, and then the reply is posted only if the
    5xx came before the comment was made."""
    ids = fake.state.add_ig_mention("@lapor1708 lampu jalan mati di Jl. Cibeunying", kind=kind)
    if kind == "comment":
        redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
        poller(settings, redis, intake).resolve_pending()
    else:
        poller(settings, redis, intake).poll_tags()
    fake.state.add_ig_mention("@lapor1708 di sini juga", kind="comment", on_media=ids["media_id"],
                              username="tetangga.cibeunying")  # another comment where ours may be
    fake.fail(f"/graph/v21.0/{IG_USER_ID}/mentions", 500, body=fixture("instagram/graph_error_unknown.json"),
              after=created)
    if lookup_fails:
        fake.fail(f"/graph/v21.0/{IG_USER_ID}", 500, body=fixture("instagram/graph_error_unknown.json"),
                  method="GET")
    assert run_reply_jobs_once_more(settings, redis)  # the 5xx: retried
    assert len(fake.state.ig_replies) == (1 if created else 0)
    run_reply_jobs_to_the_end(settings, redis)
    (reply,) = fake.state.ig_replies
    assert (reply["media_id"], reply["comment_id"]) == (ids["media_id"], ids.get("comment_id"))
    edge = "replies" if kind == "comment" else "comments"
    lookups = [r for r in fake.state.requests if r["method"] == "GET" and f"{{{edge}." in r["query"]["fields"]]
    assert len(lookups) == (2 if lookup_fails else 1)
    assert DeadLetters(redis).list() == []
    assert redis.get(f"lapor:social:replied:instagram:{ids.get('comment_id', ids['media_id'])}") == (
        reply["id"].encode())


def test_a_reply_meta_keeps_rate_limiting_is_dead_lettered_past_the_channels_longest_total_wait(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on X, by `instagram.reply_rate_limit_max_total_hours`: a reply put off by code 4 (request limit reached)
    is put off, counted in the channel's health, until that long after its first attempt; the next one dead-letters
    it as `instagram_rate_limit`."""
    settings = test_env.settings(**fake.env(LAPOR_INSTAGRAM_REPLY_RATE_LIMIT_MAX_TOTAL_HOURS="2"))
    ids = fake.state.add_ig_mention("@lapor1708 lampu jalan mati di Jl. Cibeunying", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    intake = Intake(redis, settings)
    try:
        poller(settings, redis, intake).resolve_pending()
    finally:
        intake.close()
    clock = [time.time()]
    monkeypatch.setattr(social_reply, "time", SimpleNamespace(time=lambda: clock[0]))
    fake.fail(f"/graph/v21.0/{IG_USER_ID}/mentions", 400, body=fixture("instagram/graph_error_rate_limit.json"),
              count=2)
    replies = queue(REPLY_QUEUE, redis)
    run_reply_jobs(settings)
    assert DeadLetters(redis).list() == [] and replies.scheduled_job_registry.count == 1
    assert redis.hget("lapor:health:signals:instagram", "reply_rate_limits") == b"1"
    clock[0] += 2 * 3600
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(replies.fetch_job(job_id))  # as the scheduler does once its time has come
    run_reply_jobs(settings)
    (letter,) = DeadLetters(redis).list()
    assert (letter.channel, letter.reason) == ("instagram-reply", "instagram_rate_limit")
    assert fake.state.ig_replies == [] and replies.scheduled_job_registry.count == 0


async def test_the_lookups_count_every_mention_taken_not_the_replies_queued(
    gateway: GatewayServer, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Thanks left unanswered were counted as nothing resolved: `channel.polled` read as a poll that had found
    nothing while two citizens' comments had been taken. A "STOP", left unanswered as thanks are, counts too."""
    for text in ("@lapor1708 terima kasih 🙏", "@lapor1708 Ok, makasih min", "@lapor1708 STOP"):
        ids = fake.state.add_ig_mention(text, kind="comment")
        assert (await post_webhook(gateway, fake.state.webhook_payload(ids))).status_code == 200
    assert poller(settings, redis, intake).resolve_pending() == 3
    assert envelopes(redis) == [] and reply_targets(redis) == [] and pending(redis) == 0


def test_comments_of_one_account_past_the_reply_cap_are_filed_and_left_unanswered(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """As on X (`instagram.reply_cap_per_hour`): an account's mentions past the cap are reports like any, without a
    public reply; another account's comment is answered all the same."""
    settings = test_env.settings(**fake.env(LAPOR_INSTAGRAM_REPLY_CAP_PER_HOUR="2"))
    intake = Intake(redis, settings)
    mentions = [fake.state.add_ig_mention(f"@lapor1708 terima kasih #{n}", username="balasan.otomatis")
                for n in range(4)]
    mentions.append(fake.state.add_ig_mention("@lapor1708 lampu jalan mati", username="siti.rahma"))
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), *[orjson.dumps(ids) for ids in mentions])
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    intake.close()
    assert set(reports_by_id(redis)) == {ids["comment_id"] for ids in mentions}
    answered = [job.args[1]["comment_id"] for job in queue(REPLY_QUEUE, redis).jobs]
    assert answered == [ids["comment_id"] for ids in (mentions[0], mentions[1], mentions[4])]
    capped = [e for e in log_events(log_stream) if e["event"] == "reply.capped"]
    assert [(e["channel"], e["source"]) for e in capped] == [("instagram", "instagram-reply")] * 2
    assert "balasan.otomatis" not in log_stream.getvalue()


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(".@lapor1708 ANONIM pungli di loket", "ANONIM pungli di loket", id="dot-mention"),
    pytest.param(".lapor1708 CEK 12345672", "CEK 12345672", id="dot-bare-handle-as-the-graph-api-gives-it"),
    pytest.param(". @warga.lain lapor1708 #anonim sampah", "#anonim sampah", id="dot-then-handles"),
    pytest.param("lapor1708. ANONIM pungli di loket", "ANONIM pungli di loket", id="bare-handle-then-a-dot"),
    pytest.param("lapor1708.id ANONIM pungli", "lapor1708.id ANONIM pungli", id="a-domain-stays"),
    pytest.param("sampah di pasar. lapor1708", "sampah di pasar. lapor1708", id="inside-stays"),
])
def test_a_dot_before_the_leading_handle_is_read_past(text: str, expected: str) -> None:
    """`.@lapor1708 ANONIM ...` kept the handle in the text, so ANONIM was not read and the report went named."""
    assert strip_leading_mentions(text, "lapor1708") == expected


@pytest.mark.parametrize("media", [pytest.param("17890000000000099", id="an-id-alone"),
                                   pytest.param(["17890000000000099"], id="a-list")])
def test_a_mentioned_comment_whose_media_comes_in_another_shape_is_filed(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, media: Any,
) -> None:
    """A comment's `media` read as an object when it was not raised in every round: that mention and every one after
    it were never filed."""
    odd = fake.state.add_ig_mention("@lapor1708 pungli di loket Jl. Riau", kind="comment")
    fake.state.ig_comments[odd["comment_id"]]["media"] = media
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(odd))
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    report = reports_by_id(redis)[odd["comment_id"]]
    assert report["channel_meta"]["media_id"] == odd["media_id"] and pending(redis) == 0


@pytest.mark.parametrize("kind", ["media", "comment"])
def test_a_mention_whose_answer_our_reading_fails_on_is_kept_unfiled_and_blocks_nobody(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:
    """An answer our reading of a post or comment fails on (a bug of ours, a field of a shape not met before) raised
    out of the round: the notification stayed first, and no mention after it was ever filed; read as an unreadable
    answer, it was dropped after the grace period, its words lost. It is kept unfiled as far as it can be read for
    sure (its words, author and address, not its files), the others are filed, and a retry files it."""
    import channels.instagram_graph
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    odd = fake.state.add_ig_mention("@lapor1708 sampah menumpuk di pasar", kind=kind)
    others = fake.state.add_ig_mention("@lapor1708 lampu jalan mati", kind="comment")
    odd_id = odd.get("comment_id") or odd["media_id"]
    reading = f"{kind}_message"
    read = getattr(channels.instagram_graph, reading)
    bug = {"present": True}

    def reading_with_a_bug(found: dict[str, Any], *args: Any, **options: Any) -> Any:
        if bug["present"] and str(found["id"]) == odd_id:
            raise TypeError("'NoneType' object is not subscriptable")
        return read(found, *args, **options)

    monkeypatch.setattr(channels.instagram_graph, reading, reading_with_a_bug)
    key = PENDING_KEY.format(ig_user_id=IG_USER_ID)
    redis.rpush(key, orjson.dumps(odd), orjson.dumps(others))
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    assert others["comment_id"] in reports_by_id(redis) and odd_id not in reports_by_id(redis)
    assert pending(redis) == 0
    (kept,), _ = UnfiledMessages(redis).list()
    assert (kept.key, kept.error) == (f"instagram:{odd_id}", "TypeError")
    assert kept.message.text == "sampah menumpuk di pasar" and kept.message.channel_meta["read_in_part"] is True
    assert "sampah" not in log_stream.getvalue()

    bug["present"] = False
    MentionIntake(redis, settings, intake, polled_reply_target("instagram")).take([kept.message], keep_unfiled=False)
    report = reports_by_id(redis)[odd_id]
    assert report["text"] == "sampah menumpuk di pasar" and report["channel_meta"]["media_id"] == odd["media_id"]
    assert {"media_id": odd["media_id"], **({"comment_id": odd_id} if kind == "comment" else {})} in \
        reply_targets(redis)


def test_mentions_whose_answers_lack_their_id_are_each_kept_under_their_own(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Graph answer without its `id` failed the reading, and was kept unfiled under the id read from it: 'None',
    the same for every such mention, so each kept one overwrote the one before (its words lost), and a retry would
    have filed them as one report. Each is kept under the id its notification named."""
    from gateway.unfiled import UnfiledMessages

    mentioned_comment = GraphClient.mentioned_comment

    def answer_without_its_id(self: GraphClient, comment_id: str) -> dict[str, Any]:
        return {name: value for name, value in mentioned_comment(self, comment_id).items() if name != "id"}

    monkeypatch.setattr(GraphClient, "mentioned_comment", answer_without_its_id)
    first = fake.state.add_ig_mention("@lapor1708 sampah menumpuk di pasar", kind="comment")
    second = fake.state.add_ig_mention("@lapor1708 lampu jalan mati", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(first), orjson.dumps(second))
    ig, _ = clocked(settings, redis, intake)
    ig.poll_once()
    kept, unreadable = UnfiledMessages(redis).list()
    assert unreadable == 0 and pending(redis) == 0
    assert sorted((entry.key, entry.message.text) for entry in kept) == sorted(
        [(f"instagram:{first['comment_id']}", "sampah menumpuk di pasar"),
         (f"instagram:{second['comment_id']}", "lampu jalan mati")])
    assert {entry.message.channel_meta["comment_id"] for entry in kept} == {first["comment_id"],
                                                                            second["comment_id"]}


@pytest.mark.parametrize(
    ("status", "body", "said", "failure", "step"),
    [
        pytest.param(400, fixture("instagram/graph_error_oauth.json"),
                     "instagram_auth (credentials refused): {host} answered 400 code=190", "token",
                     ("LAPOR_INSTAGRAM_ACCESS_TOKEN", "restart every `lapor-gateway worker` and `lapor-gateway "
                      "pollers`", "deadletters requeue --all --channel instagram --queue lapor-reply"),
                     id="token-expired"),
        pytest.param(403, {"error": {"code": 10, "message": "Application does not have permission for this action"}},
                     "instagram_auth (permission refused): {host} answered 403 code=10", "permission",
                     ("instagram_manage_comments", "LAPOR_INSTAGRAM_ACCESS_TOKEN"), id="permission-missing"),
    ],
)
def test_a_refused_reply_names_the_graph_host_and_what_to_set(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, status: int, body: dict[str, Any],
    said: str, failure: str, step: tuple[str, ...],
) -> None:
    """A reply Meta refuses says where, as the poller's refusals do (LAPOR_INSTAGRAM_GRAPH_BASE_URL's host), and the
    step follows what was refused, the pollers' own (TOKEN_REFUSAL_STEPS: the token is theirs too), restarting the
    workers with them: "instagram_auth (400 code=190 ...)" named neither."""
    ids = fake.state.add_ig_mention("@lapor1708 lampu jalan mati di Jl. Cibeunying", kind="comment")
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    poller(settings, redis, intake).resolve_pending()
    fake.fail(f"/graph/v21.0/{IG_USER_ID}/mentions", status, body=body)
    run_reply_jobs(settings)
    [letter] = DeadLetters(redis).list()
    expected = said.format(host=endpoint(settings.instagram.graph_base_url))
    assert (letter.reason, letter.failure) == ("instagram_auth", failure)
    assert letter.where is not None and expected.split(": ", 1)[1] in letter.where
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    signals = monitor.read_signals(time.time())["instagram"]
    health = evaluate("instagram", replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    [finding] = [f for f in health.findings if f.rule == "replies"]
    assert finding.reason.startswith(f"replies failing (3 in a row): {expected}"), finding.reason
    assert all(words in finding.action for words in step), finding.action


@pytest.mark.parametrize("asked", [
    pytest.param("@lapor1708 #anonim kepala desa minta setoran", id="an-anonymous-post"),
    pytest.param("@lapor1708 kepala desa minta setoran", id="a-named-post"),
])
def test_a_named_comment_on_a_whistleblowers_post_carries_neither_its_id_nor_its_link_to_the_case_store(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, asked: str,
) -> None:
    """Budi's named LAPOR commenting on Sari's #anonim post went to the case store with the post's media id and its
    permalink: the link opens her post in public, and the Graph token turns the id into her handle. Kept by the
    gateway (Budi's reply and thread need them), as an X answer's conversation is; a named post's stay."""
    ig = poller(settings, redis, intake)
    ids, first = acknowledged(fake, settings, redis, ig, asked, "media", username="sari.whistle")
    anonymous = "#anonim" in asked
    assert first["anonymous"] is anonymous
    answered = take_comment(fake, redis, ig, "@lapor1708 LAPOR saya juga dimintai setoran", "budi.bdg",
                            on_media=ids["media_id"])
    budi = reports_by_id(redis)[answered["comment_id"]]
    assert budi["anonymous"] is False and budi["follow_up_of"] is None
    payload = case_store_payload(budi, settings)
    assert (ids["media_id"] in orjson.dumps(payload).decode()) is not anonymous, payload["channel_meta"]
    assert ("permalink" in payload["channel_meta"]) is not anonymous, payload["channel_meta"]
    assert payload["channel_meta"]["comment_id"] == answered["comment_id"]  # Budi's own comment stays


# -- the same comment posted again ---------------------------------------------------------------------------------
QA_COMMENT = "@lapor1708 saluran air tersumbat di RT 05 RW 02 Antapani"


@dataclass(frozen=True)
class Commented:
    """A comment (or a post) of a same-text case: its words, and what it is to the one at index `of`: `report` (a
    report of its own, `social_ack`), `repeat` (that one's report again, nothing filed, `social_duplicate` with its
    Tracking ID), `addition` (added to its report in our reply's thread, `social_follow_up`). `on`: the post of the
    one at that index it comments on (None: a post of its own); `where`: `mention` (a comment mentioning us, through
    the webhook's pending notifications, each taken alone), `caption` (a post with its photo, found by the /tags
    walk), `own` (a comment under our own post, `answering` the one at that index there; taken in batches).
    `then`: `take` (the poller takes what was posted), `reply` (and our replies are posted), `` (nothing yet)."""

    text: str
    outcome: str
    of: int | None = None
    username: str = "qa.rep"
    on: int | None = None
    where: str = "mention"
    answering: int | None = None
    then: str = "take"


SAME_COMMENT_CASES = [
    pytest.param([Commented(QA_COMMENT, "report"), Commented(QA_COMMENT, "repeat", 0, on=0)],
                 id="twice-under-one-post"),
    pytest.param([Commented(QA_COMMENT, "report", then=""), Commented(QA_COMMENT, "repeat", 0, on=0, then=""),
                  Commented(QA_COMMENT, "repeat", 0, on=0)], id="three-times-in-one-round"),
    pytest.param([Commented(QA_COMMENT, "report", where="own", then=""),
                  Commented(QA_COMMENT, "repeat", 0, where="own", then=""),
                  Commented("@lapor1708 lampu jalan mati di Jl. Riau", "report", where="own")],
                 id="twice-in-one-batch-under-our-own-post"),
    pytest.param([Commented(QA_COMMENT, "report"), Commented(QA_COMMENT, "report"),
                  Commented(QA_COMMENT, "repeat", 0, on=0), Commented(QA_COMMENT, "repeat", 1, on=1)],
                 id="the-same-words-under-another-post"),
    pytest.param([Commented("@lapor1708 #anonim pungli di loket samsat", "report"),
                  Commented("@lapor1708 ANONIM pungli di loket samsat", "repeat", 0, on=0)], id="anonymous-twice"),
    pytest.param([Commented("@lapor1708 pungli di loket samsat", "report"),
                  Commented("@lapor1708 #anonim pungli di loket samsat", "report", on=0),
                  Commented("@lapor1708 #anonim pungli di loket samsat", "repeat", 1, on=0)],
                 id="named-then-anonymous"),
    pytest.param([Commented("@lapor1708 lampu jalan mati di Jl. Riau", "report", where="own", username="budi.bdg"),
                  Commented(QA_COMMENT, "report", where="own", answering=0),
                  Commented(QA_COMMENT, "repeat", 1, where="own", answering=0),
                  Commented("@lapor1708 #anonim " + QA_COMMENT[11:], "report", where="own", answering=0),
                  Commented("@lapor1708 #anonim " + QA_COMMENT[11:], "repeat", 3, where="own", answering=0)],
                 id="named-and-anonymous-in-anothers-thread-under-our-own-post"),
    pytest.param([Commented("@lapor1708 lampu jalan mati di Jl. Riau", "report", where="own", username="budi.bdg"),
                  Commented("@lapor1708 jalan berlubang di Jl. Dago", "report", where="own", username="budi.bdg"),
                  Commented("@lapor1708 saya juga", "report", where="own", answering=0),
                  Commented("@lapor1708 saya juga", "report", where="own", answering=1),
                  Commented("@lapor1708 saya juga", "repeat", 2, where="own", answering=0)],
                 id="the-same-words-in-two-threads-under-our-own-post"),
    pytest.param([Commented(QA_COMMENT, "report"), Commented(QA_COMMENT, "report", on=0, username="warga.lain"),
                  Commented(QA_COMMENT, "repeat", 0, on=0)], id="another-account"),
    pytest.param([Commented(QA_COMMENT, "report"), Commented("@lapor1708 saluran air tersumbat di RT 06", "report",
                                                             on=0),
                  Commented(QA_COMMENT, "repeat", 0, on=0)], id="other-words"),
    pytest.param([Commented(QA_COMMENT, "report", where="caption"), Commented(QA_COMMENT, "report", where="caption"),
                  Commented(QA_COMMENT, "report"), Commented(QA_COMMENT, "repeat", 2, on=2)], id="posts-with-a-photo"),
    pytest.param([Commented(QA_COMMENT, "report"), Commented(QA_COMMENT, "repeat", 0, on=0, then="reply"),
                  Commented(QA_COMMENT, "addition", 0, on=0)], id="in-our-replys-thread-an-addition"),
]


def post_comment(fake: FakeProviderServer, redis: Redis, ig: InstagramPoller, comment: Commented,
                 posted: list[dict[str, str]]) -> dict[str, str]:
    """Post `comment` at the fake provider and keep it where the webhook would: its ids (and its post's)."""
    if comment.where == "caption":
        return fake.state.add_ig_mention(comment.text, username=comment.username, kind="media")
    if comment.where == "own":
        answering = None if comment.answering is None else posted[comment.answering]["comment_id"]
        value = fake.state.add_own_post_comment(comment.text, username=comment.username, parent_id=answering)
        item = comment_item(value, {"id": IG_USER_ID, "time": int(time.time())})
        assert item is not None
        store_pending(redis, IG_USER_ID, [item], key=COMMENTS_KEY)
        return {"comment_id": value["id"], "media_id": value["media"]["id"]}
    ids = fake.state.add_ig_mention(comment.text, username=comment.username, kind="comment",
                                    on_media=None if comment.on is None else posted[comment.on]["media_id"])
    redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps(ids))
    return ids


@pytest.mark.parametrize("commented", SAME_COMMENT_CASES)
def test_the_same_comment_posted_again_within_the_window_is_the_first_ones_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, commented: list[Commented],
) -> None:
    """As on X (`instagram.same_text_window_seconds`): the same comment twice by one account under the same post was
    two reports and two public replies; it is the first one's report, answered "we already have this report" with
    its Tracking ID, nothing filed. The same words under another post (or in another comment's thread under our own)
    are about that one, a report of their own; so are another account's, other words, a post with its photo (never
    seen), and the same words in our reply's thread after it are an addition. An anonymous repeat stays anonymous:
    its answer says no more than any, and names no author where a named one's does (`name_author`)."""
    ig = poller(settings, redis, intake)
    posted: list[dict[str, str]] = []
    jobs: dict[str, tuple[Any, ...]] = {}  # the reply queued per comment (or post): its target, key and ID
    for comment in commented:
        posted.append(post_comment(fake, redis, ig, comment, posted))
        if comment.then:
            ig.resolve_pending()
            ig.take_comments()
            ig.poll_tags()
        if comment.then == "reply":
            jobs.update((job.args[1].get("comment_id") or job.args[1]["media_id"], job.args[1:4])
                        for job in queue(REPLY_QUEUE, redis).jobs)
            run_reply_jobs(settings)
    reports = reports_by_id(redis)
    jobs.update((job.args[1].get("comment_id") or job.args[1]["media_id"], job.args[1:4])
                for job in queue(REPLY_QUEUE, redis).jobs)
    run_reply_jobs(settings)
    replies = [reply["message"] for reply in fake.state.ig_replies]
    for index, (comment, ids) in enumerate(zip(commented, posted, strict=True)):
        key = ids.get("comment_id") or ids["media_id"]
        of = reports[posted[comment.of].get("comment_id") or posted[comment.of]["media_id"]] \
            if comment.of is not None else None
        target, reply_key, tracking_id = jobs[key]
        if comment.outcome == "report":
            assert reports[key]["follow_up_of"] is None, index
            assert (reply_key, tracking_id) == ("social_ack", reports[key]["tracking_id"]), index
        elif comment.outcome == "repeat":
            assert of is not None and key not in reports, index
            assert (reply_key, tracking_id) == ("social_duplicate", of["tracking_id"]), index
            named = comment.where == "own" and comment.answering is not None and not of["anonymous"]
            assert ("name_author" in target) is named, index
            ref = f"(ref {social_reply.mention_ref(target.get('comment_id') or target['media_id'])})"
            (reply,) = [text for text in replies if text.endswith(ref)]
            assert reply.startswith(f"@{comment.username} " if named else "Laporan ini sudah kami terima. "), index
            assert f"Laporan ini sudah kami terima. Nomor lacak: {of['tracking_id']}. " in reply, index
            assert (comment.username in reply) is named and "anonim" not in reply.lower(), index
        else:
            assert of is not None and reports[key]["follow_up_of"] == of["tracking_id"], index
            assert (reply_key, tracking_id) == ("social_follow_up", of["tracking_id"]), index
    filed = [comment for comment in commented if comment.outcome != "repeat"]
    assert len(reports) == len(filed)
    assert sum(report["anonymous"] for report in reports.values()) == sum("anonim" in comment.text.lower()
                                                                          for comment in filed)
