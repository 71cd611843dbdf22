"""An Instagram post's files: every item of a carousel (CAROUSEL_ALBUM), a video with its still, in the Graph API's
order and within the gateway's file limit; an item Meta serves without its file is left out, not the mention.

The Graph API under respx, on a loopback URL nothing listens on, answered with the payload Meta gives for a carousel
mention (`tests/fixtures/instagram/graph_mentioned_media_carousel.json`: the album's items by field expansion of its
`children` edge), through both paths that read a post: the webhook's `mentioned_media` lookup and the /tags walk.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
import respx
from redis import Redis

from channels.instagram_graph import PENDING_KEY, InstagramPoller, store_pending
from gateway.intake import Intake
from tests.conftest import TestEnvironment, log_events
from tests.social_helpers import IG_SECRET, IG_TOKEN, IG_USER_ID, IG_VERIFY, fixture

# On loopback, answered by respx: were respx ever bypassed, nothing listens there.
GRAPH = "http://127.0.0.1:9/graph/v21.0"
CAROUSEL = fixture("instagram/graph_mentioned_media_carousel.json")["mentioned_media"]
ITEMS = CAROUSEL["children"]["data"]
# A minute after the post: the /tags walk's first round takes it (see first_poll_lookback_minutes).
NOW = datetime.strptime(CAROUSEL["timestamp"], "%Y-%m-%dT%H:%M:%S%z").timestamp() + 60
JPEG, MP4 = "image/jpeg", "video/mp4"
SETTINGS = {"LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_APP_SECRET": IG_SECRET,
            "LAPOR_INSTAGRAM_VERIFY_TOKEN": IG_VERIFY, "LAPOR_INSTAGRAM_ACCESS_TOKEN": IG_TOKEN,
            "LAPOR_INSTAGRAM_IG_USER_ID": IG_USER_ID, "LAPOR_INSTAGRAM_GRAPH_BASE_URL": GRAPH}


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def with_items(*items: dict[str, Any]) -> dict[str, Any]:
    return {**CAROUSEL, "children": {"data": list(items)}}


def without(item: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != name}


def a_video_post() -> dict[str, Any]:
    """A post of one video (a reel): its file and still on the post itself, no items."""
    video = ITEMS[1]
    return {**without(CAROUSEL, "children"), "media_type": "VIDEO", "media_url": video["media_url"],
            "thumbnail_url": video["thumbnail_url"]}


def by_webhook(graph: respx.MockRouter, redis: Redis, ig: InstagramPoller, post: dict[str, Any]) -> None:
    """The `mentions` notification stored by the webhook, resolved through `mentioned_media`."""
    lookup = graph.get(f"{GRAPH}/{IG_USER_ID}").mock(
        return_value=httpx.Response(200, json={"mentioned_media": post, "id": IG_USER_ID}))
    store_pending(redis, IG_USER_ID, [{"ig_user_id": IG_USER_ID, "media_id": post["id"]}], now=NOW)
    assert ig.resolve_pending() == 1
    (call,) = lookup.calls
    assert call.request.url.params["fields"].startswith(f"mentioned_media.media_id({post['id']}){{")
    assert "children{id,media_type,media_url,thumbnail_url}" in call.request.url.params["fields"]
    assert redis.llen(PENDING_KEY.format(ig_user_id=IG_USER_ID)) == 0  # taken, whatever its items gave


def by_tags_walk(graph: respx.MockRouter, redis: Redis, ig: InstagramPoller, post: dict[str, Any]) -> None:
    """The same post in a page of /tags."""
    tags = graph.get(f"{GRAPH}/{IG_USER_ID}/tags").mock(return_value=httpx.Response(200, json={
        "data": [post], "paging": {"cursors": {"before": "QVFIUmx1WTBp", "after": "QVFIUkZAfaXNx"}}}))
    assert ig.poll_tags() == 1
    (call,) = tags.calls
    assert "children{id,media_type,media_url,thumbnail_url}" in call.request.url.params["fields"]


PATHS = [pytest.param(by_webhook, id="webhook"), pytest.param(by_tags_walk, id="tags-walk")]


@dataclass(frozen=True)
class Post:
    """A post as the Graph API serves it, the files its report must carry (type, address), in order, and the
    `mention.media_skipped` lines (reason, item or files) that must say what was left out."""

    post: dict[str, Any]
    files: list[tuple[str, str]]
    skipped: list[tuple[str, int]]
    env: dict[str, str] | None = None


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(Post(CAROUSEL, [(JPEG, ITEMS[0]["media_url"]), (JPEG, ITEMS[1]["thumbnail_url"]),
                                     (MP4, ITEMS[1]["media_url"]), (JPEG, ITEMS[2]["media_url"]),
                                     (JPEG, ITEMS[3]["thumbnail_url"])],
                          [("no_media_url", 3)]),
                     id="every-item-in-order-the-copyrighted-video-its-still-alone"),
        pytest.param(Post(with_items(ITEMS[2], ITEMS[1], ITEMS[0]),
                          [(JPEG, ITEMS[2]["media_url"]), (JPEG, ITEMS[1]["thumbnail_url"]),
                           (MP4, ITEMS[1]["media_url"]), (JPEG, ITEMS[0]["media_url"])], []),
                     id="in-the-order-the-api-gives"),
        pytest.param(Post(with_items(without(ITEMS[1], "thumbnail_url"), ITEMS[2]),
                          [(MP4, ITEMS[1]["media_url"]), (JPEG, ITEMS[2]["media_url"])], []),
                     id="a-video-served-without-its-still"),
        pytest.param(Post(CAROUSEL, [(JPEG, ITEMS[0]["media_url"]), (JPEG, ITEMS[1]["thumbnail_url"])],
                          [("no_media_url", 3), ("too_many_files", 3)], {"LAPOR_EMAIL_MAX_ATTACHMENTS": "2"}),
                     id="no-more-files-than-the-gateways-limit-the-first-kept"),
        pytest.param(Post(with_items(without(ITEMS[3], "thumbnail_url"), without(ITEMS[0], "media_url")), [],
                          [("no_media_url", 0), ("no_media_url", 1)]),
                     id="no-item-with-its-file-still-a-report"),
        pytest.param(Post(with_items(ITEMS[3], without(ITEMS[0], "media_url")), [(JPEG, ITEMS[3]["thumbnail_url"])],
                          [("no_media_url", 0), ("no_media_url", 1)]),
                     id="a-copyrighted-video-alone-its-still"),
        pytest.param(Post(without(CAROUSEL, "children"), [(JPEG, CAROUSEL["media_url"])], []),
                     id="an-album-served-without-its-items-its-first-file"),
        pytest.param(Post(a_video_post(), [(JPEG, ITEMS[1]["thumbnail_url"]), (MP4, ITEMS[1]["media_url"])], []),
                     id="a-video-post-with-its-still"),
    ],
)
@pytest.mark.parametrize("read", PATHS)
def test_a_posts_report_carries_each_of_its_files_in_order_within_the_limit(
    test_env: TestEnvironment, redis: Redis, graph: respx.MockRouter, log_stream: io.StringIO,
    read: Callable[..., None], case: Post,
) -> None:
    settings = test_env.settings(**{**SETTINGS, **(case.env or {})})
    intake = Intake(redis, settings)
    try:
        read(graph, redis, InstagramPoller(settings, redis, intake, clock=lambda: NOW), case.post)
    finally:
        intake.close()
    (report,) = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
    assert report["channel_message_id"] == CAROUSEL["id"]
    assert report["text"].startswith("pungli di loket Samsat")
    assert [(file["content_type"], file["location"]) for file in report["attachments"]] == case.files
    assert all(file["name"] in {CAROUSEL["id"], *(item["id"] for item in ITEMS)} for file in report["attachments"])
    skipped = [(line["reason"], line.get("item", line.get("files"))) for line in log_events(log_stream)
               if line["event"] == "mention.media_skipped"]
    assert skipped == case.skipped
    assert not any(CAROUSEL["id"] in str(line) or "cdninstagram" in str(line) for line in log_events(log_stream)
                   if line["event"] == "mention.media_skipped")

