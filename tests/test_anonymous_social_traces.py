"""Where the gateway keeps an anonymous mention's author, once the mention has gone all the way through.

tests/test_anonymous_traces.py follows an anonymous SMS; this follows an anonymous mention on X and a comment on
Instagram: the poller files it, the forward and reply queues are worked to the end (the public reply posted, or
refused until it is a dead letter), and the author's account (id, username, name) and the post's id (which opens the
post and its author, and which anyone can list among the account's public mentions) are searched for, as they are
and by an unkeyed hash, in every Redis key and value, every file under the data dir, every log line, `/metrics`,
`/v1/status`, the status page and the operator's commands. The account may stand in the envelope copy alone. The
post's id is public, and our public reply pairs it with the Tracking ID anyway (README, "What anonymity cannot hide"):
besides the envelope copy it may stand in the markers that keep a mention from being filed or answered twice (no
longer than the envelope copy), the poll's cursor, and the reply's job and dead letter (what a requeue sends); never in
a file, a log line or anything shown.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis import Redis

from channels.instagram_graph import InstagramPoller
from channels.x_mentions import XMentionsPoller
from gateway.intake import Intake
from gateway.queues import ALL_QUEUES, envelope_key
from gateway.settings import Settings
from tests.aggregator_support import drain
from tests.conftest import CaseStoreServer, GatewayServer, TestEnvironment
from tests.social_helpers import FakeProviderServer, running_fake_provider
from tests.test_anonymous_traces import data_files, redis_values
from tests.test_forwarding import cli
from workers.deadletters import DeadLetters

USERNAME = "siti_rahasia"
NAME = "Siti Rahasia Wulandari"
TEXT = "#anonim Kepala dinas meminta setoran dari setiap kontraktor proyek jalan"


def needles(*values: str) -> tuple[str, ...]:
    """Each value as it is, and its unkeyed hashes: a post's id is public, and hashing every mention finds it."""
    hashes = tuple(getattr(hashlib, name)(value.encode()).hexdigest()[:16]
                   for value in values for name in ("sha256", "sha1", "md5"))
    return (*values, *hashes)


def found_in(forms: tuple[str, ...], text: str) -> list[str]:
    return [form for form in forms if form.lower() in text.lower()]


@pytest.fixture
def fake(test_env: TestEnvironment) -> Iterator[FakeProviderServer]:
    with running_fake_provider(test_env.values["LAPOR_PUBLIC_URL"] + "/v1/channels/instagram/webhook") as server:
        yield server


@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**fake.env(), LAPOR_TRIAGE_ENABLED="true")


# Where the post's id may stand in Redis, besides the envelope copy: markers named after it (or its hash), or holding it
# as the first of its text (`gateway.same_text`: the same mention posted again is its report), which expire with the
# envelope copy at the latest, and values that must hold it as it is.
POST_MARKERS = ("lapor:dedup:", "lapor:social:reply-queued:", "lapor:social:replied:", "lapor:social:reply-attempted:",
                "lapor:social:reply-first-attempt:", "lapor:social:reply-cap:", "lapor:social:thread-post:",
                "lapor:sametext:", "lapor:sametext-of:")
POST_HOLDERS = ("lapor:cursor:", "rq:job:", "lapor:deadletters")


def mention_on_x(fake: FakeProviderServer, settings: Settings, redis: Redis,
                 intake: Intake) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The author's forms, and the post's."""
    tweet = fake.state.add_tweet(f"@lapor1708 {TEXT}", username=USERNAME, name=NAME)
    XMentionsPoller(settings, redis, intake).poll_once()
    return needles(USERNAME, NAME, tweet["author_id"]), needles(tweet["id"])


def comment_on_instagram(fake: FakeProviderServer, settings: Settings, redis: Redis,
                         intake: Intake) -> tuple[tuple[str, ...], tuple[str, ...]]:
    username = USERNAME.replace("_", ".")
    ids = fake.state.add_ig_mention(f"@lapor1708 {TEXT}", username=username, kind="media")
    InstagramPoller(settings, redis, intake).poll_once()
    return needles(username, fake.state.ig_user(username)), needles(ids["media_id"])


@pytest.mark.parametrize("reply_refused", [False, True], ids=["replied", "reply-dead-lettered"])
@pytest.mark.parametrize("mention", [mention_on_x, comment_on_instagram], ids=["x", "instagram"])
async def test_the_gateway_keeps_an_anonymous_mentions_author_only_in_its_envelope_copy(
        mention: Any, reply_refused: bool, fake: FakeProviderServer, gateway: GatewayServer,
        casestore: CaseStoreServer, settings: Settings, redis: Redis, tmp_path: Path, log_stream: io.StringIO,
        test_env: TestEnvironment) -> None:
    if reply_refused:
        fake.fail("/x/2/tweets", 403, body={"title": "Forbidden", "detail": f"reply to @{USERNAME} refused"},
                  count=50, method="POST")
        fake.fail("/graph", 400, body={"error": {"message": f"cannot reply to {USERNAME}", "code": 100}},
                  count=50, method="POST")
    intake = Intake(redis, settings)
    try:
        forms, post = mention(fake, settings, redis, intake)
    finally:
        intake.close()
    drain(settings, ALL_QUEUES)
    (report,) = casestore.reports()
    tracking_id = str(report["tracking_id"])
    assert report["anonymous"] is True and report["sender"]["kind"] == "reply_handle"
    if reply_refused:
        assert [letter.tracking_id for letter in DeadLetters(redis).list()] == [tracking_id]
    else:
        assert len(fake.state.x_replies) + len(fake.state.ig_replies) == 1

    kept = {envelope_key(tracking_id)}
    envelope = orjson.loads(redis.get(envelope_key(tracking_id)) or b"{}")
    assert envelope["anonymous"] is True and found_in(forms, orjson.dumps(envelope).decode())
    leaks = [(key, where, hits) for key, where, text in redis_values(redis)
             if (hits := found_in(forms, text)) and (key not in kept or where != "value")]
    assert leaks == [], f"Redis keeps the anonymous mention's author beyond the envelope copy: {leaks}"
    post_leaks = [(key, where) for key, where, text in redis_values(redis) if found_in(post, text)
                  and not (key in kept and where == "value") and not key.startswith(POST_HOLDERS)
                  and not (key.startswith(POST_MARKERS)
                           and 0 < redis.ttl(key) <= settings.intake.envelope_ttl_seconds)]
    assert post_leaks == [], f"Redis keeps the anonymous mention's post beyond where it must: {post_leaks}"
    forms = (*forms, *post)  # and nowhere else
    files = {str(path.relative_to(tmp_path)): hits for path, text in data_files(Path(settings.data_dir))
             if (hits := found_in(forms, text))}
    assert files == {}, f"a file under the data dir names the anonymous author: {files}"
    assert tracking_id in log_stream.getvalue()
    logged = [line for line in log_stream.getvalue().splitlines() if found_in(forms, line)]
    assert logged == [], f"a log line named the anonymous author: {logged}"
    for command in (("deadletters", "list"), ("deadletters", "show", tracking_id), ("status",)):
        shown = cli(test_env, *command)
        assert found_in(forms, shown.stdout + shown.stderr) == [], f"`lapor-gateway {' '.join(command)}` names them"
    for path in ("/metrics", "/v1/status", "/status"):
        response = await gateway.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert found_in(forms, response.text) == [], f"{path} names the anonymous author"
