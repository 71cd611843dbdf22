"""Instagram text with a lone UTF-16 surrogate: Meta writes JSON with its non-ASCII characters escaped (`\\ud83d\\ude21`
for an emoji), and a text cut inside such a pair leaves half of it (`\\ud83d`), which is valid JSON but no Unicode
text. orjson refuses the whole document for it, so one such comment refused a webhook delivery whole (every mention
beside it lost at each of Meta's retries), a mention whose lookup answer held one was dropped as unreadable after the
grace period, and a /tags page holding one failed every walk. Each is now read with the half character replaced by
U+FFFD, the rest of its words kept.

The webhook over real HTTP, signed as Meta signs it; the Graph API under respx, on a loopback URL nothing listens on;
the poller in this process, real Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import respx
from redis import Redis

from channels.instagram_graph import COMMENTS_KEY, PENDING_KEY, InstagramPoller, read_json
from gateway.intake import Intake
from gateway.settings import Settings
from tests.aggregator_support import sign
from tests.conftest import GatewayServer, TestEnvironment
from tests.social_helpers import IG_SECRET, IG_TOKEN, IG_USER_ID, IG_VERIFY, fixture_bytes

WEBHOOK = "/v1/channels/instagram/webhook"
GRAPH = "http://127.0.0.1:9/graph/v21.0"
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC).timestamp()
INSTAGRAM_ENV = {
    "LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_APP_SECRET": IG_SECRET,
    "LAPOR_INSTAGRAM_VERIFY_TOKEN": IG_VERIFY, "LAPOR_INSTAGRAM_ACCESS_TOKEN": IG_TOKEN,
    "LAPOR_INSTAGRAM_IG_USER_ID": IG_USER_ID, "LAPOR_INSTAGRAM_GRAPH_BASE_URL": GRAPH}


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    return test_env.settings(**INSTAGRAM_ENV)


def graph_answer(path: str) -> httpx.Response:
    return httpx.Response(200, content=fixture_bytes(path), headers={"Content-Type": "application/json"})


@pytest.fixture
def graph(settings: Settings) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(url__startswith=settings.public_url).pass_through()  # the gateway itself, over real HTTP
        router.get(f"{GRAPH}/{IG_USER_ID}/tags").mock(return_value=httpx.Response(200, json={"data": []}))
        yield router


def reports(redis: Redis) -> dict[str, dict[str, Any]]:
    found = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
    return {envelope["channel_message_id"]: envelope for envelope in found}


def poll(settings: Settings, redis: Redis) -> None:
    intake = Intake(redis, settings)
    try:
        InstagramPoller(settings, redis, intake, clock=lambda: NOW).poll_once()
    finally:
        intake.close()


@pytest.mark.parametrize("time", [
    pytest.param(b"1763609300", id="as-meta-sends-it"),
    pytest.param(b"100000000000000000000000000000", id="a-time-past-64-bits-a-float-as-orjson-reads-it"),
])
async def test_a_comment_cut_inside_an_emoji_leaves_the_mentions_of_its_delivery_durable(
    gateway: GatewayServer, redis: Redis, graph: respx.MockRouter, time: bytes,
) -> None:
    body = fixture_bytes("instagram/webhook_batch_lone_surrogate.json").replace(b"1763609300", time)
    response = await gateway.client.post(WEBHOOK, content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, IG_SECRET)})
    assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    (pending,) = redis.lrange(PENDING_KEY.format(ig_user_id=IG_USER_ID), 0, -1)
    assert orjson.loads(pending)["comment_id"] == "17894227972186120"
    (comment,) = redis.lrange(COMMENTS_KEY.format(ig_user_id=IG_USER_ID), 0, -1)
    assert orjson.loads(comment)["text"] == "@lapor1708 jalan berlubang di Desa Sukamaju \ufffd"


@pytest.mark.parametrize(
    ("answer", "object_id", "text"),
    [
        pytest.param("instagram/graph_mentioned_comment_lone_surrogate.json", "17894227972186120",
                     "pungli di loket KTP kecamatan Coblong \U0001F621\ufffd", id="a-mentioned-comment"),
        pytest.param("instagram/graph_tags_page_lone_surrogate.json", "17918195224117851",
                     "sampah menumpuk di pasar Kosambi \ufffd sudah dua minggu", id="a-tags-page"),
    ],
)
def test_a_graph_answer_cut_inside_an_emoji_is_filed_not_dropped_or_failing_every_walk(
    settings: Settings, redis: Redis, graph: respx.MockRouter, answer: str, object_id: str, text: str,
) -> None:
    if "tags" in answer:
        graph.get(f"{GRAPH}/{IG_USER_ID}/tags").mock(return_value=graph_answer(answer))
    else:
        graph.get(f"{GRAPH}/{IG_USER_ID}").mock(return_value=graph_answer(answer))
        redis.rpush(PENDING_KEY.format(ig_user_id=IG_USER_ID), orjson.dumps({
            "ig_user_id": IG_USER_ID, "media_id": "17887498072083520", "comment_id": object_id, "first_seen": NOW}))
    poll(settings, redis)
    assert reports(redis)[object_id]["text"] == text
    assert redis.llen(PENDING_KEY.format(ig_user_id=IG_USER_ID)) == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(rb'{"text": "\ud83d\ude21"}', {"text": "\U0001F621"}, id="a-whole-pair-as-orjson-reads-it"),
        pytest.param(rb'{"text": "rusak \ud83d"}', {"text": "rusak \ufffd"}, id="a-high-half-alone"),
        pytest.param(rb'{"text": "\ude21 rusak"}', {"text": "\ufffd rusak"}, id="a-low-half-alone"),
        pytest.param(rb'{"\ud83d": ["\udca9", 1]}', {"\ufffd": ["\ufffd", 1]}, id="in-a-key-and-a-list"),
        pytest.param(rb'{"text": "\ud83d", "n": NaN}', None, id="nan-still-refused"),
        pytest.param(rb'{"text": "\ud83d", "n": 1e400}', None, id="a-number-past-a-double-refused-as-orjson-does"),
        pytest.param(rb'{"text": "\ud83d", "time": 100000000000000000000000000000, "id": 18446744073709551615}',
                     {"text": "\ufffd", "time": 1e29, "id": 18446744073709551615},
                     id="an-integer-past-64-bits-a-float-as-orjson-reads-it"),
        pytest.param(rb'{"text": "\ud83d"', None, id="not-json-still-refused"),
        pytest.param(b'{"text": "\\ud83d \xff"}', None, id="not-utf8-still-refused"),
        pytest.param(b'{"text": "\\ud83d", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None,
                     id="nested-past-any-parser-refused-not-a-crash"),
        # Nested as deep as orjson reads (the standard library's parser, then a walk replacing the halves, raised
        # RecursionError from about 500 levels: a 500 for the webhook, and a poller failing every round on one item).
        pytest.param(b'{"text": "\\ud83d", "deep": ' + b"[" * 600 + b"]" * 600 + b"}",
                     {"text": "\ufffd", "deep": orjson.loads(b"[" * 600 + b"]" * 600)}, id="nested-600-deep"),
        pytest.param(b'{"text": "\\ud83d", "deep": ' + b"[" * 1100 + b"]" * 1100 + b"}", None,
                     id="nested-past-orjsons-limit-refused"),
        # An escaped backslash before it: the text `\ud83d`, no half character.
        pytest.param(rb'{"text": "\\ud83d \ud83d"}', {"text": "\\ud83d \ufffd"}, id="an-escaped-backslash-kept"),
        pytest.param(rb'{"text": "\\\ud83d"}', {"text": "\\\ufffd"}, id="an-escaped-backslash-then-a-half"),
        pytest.param(rb'{"text": "\ud83d\ud83d\ude21"}', {"text": "\ufffd\U0001F621"},
                     id="a-half-then-a-whole-pair"),
    ],
)
def test_reading_metas_json(raw: bytes, expected: Any) -> None:
    if expected is None:
        with pytest.raises(orjson.JSONDecodeError):
            read_json(raw)
    else:
        assert read_json(raw) == expected
