"""A mention becomes a report in the case store and a threaded public reply: real `lapor-gateway pollers` and
`worker` processes, the gateway over HTTP, the reference case store and the fake provider, all on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from channels.x_mentions import XReplyClient
from gateway.settings import SettingsError, load_settings
from gateway.tls import tls_context
from tests.conftest import CaseStoreServer, GatewayServer, ProcessHandle, async_wait_until, free_port, wait_until
from tests.social_helpers import IG_USER_ID, FakeProviderServer, running_fake_provider
from workers.report_payload import opaque_message_id

if TYPE_CHECKING:
    from redis import Redis

    from gateway.settings import Settings
    from tests.conftest import TestEnvironment


@pytest.fixture
def fake(test_env: TestEnvironment) -> Iterator[FakeProviderServer]:
    with running_fake_provider(test_env.values["LAPOR_PUBLIC_URL"] + "/v1/channels/instagram/webhook") as server:
        yield server


@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**fake.env())


async def test_mentions_on_x_and_instagram_become_reports_and_threaded_replies(
    gateway: GatewayServer, casestore: CaseStoreServer, fake: FakeProviderServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    pollers = start_process("pollers", **fake.env())
    worker = start_process("worker", **fake.env())
    async with httpx.AsyncClient(verify=tls_context(), base_url=fake.url, timeout=10) as control:
        tweet = (await control.post("/_fake/x/mentions", json={
            "text": "@lapor1708 LAPOR jalan berlubang di Jl. Merdeka", "username": "budi_bdg"})).json()
        ig = (await control.post("/_fake/instagram/mentions", json={
            "text": "@lapor1708 #anonim lampu jalan mati di Jl. Riau", "kind": "comment"})).json()
    assert ig["webhook_status"] == 200

    def delivered() -> bool:
        return len(casestore.reports()) == 2 and len(fake.state.x_replies) == 1 and len(fake.state.ig_replies) == 1

    try:
        await async_wait_until(delivered, timeout=30)
    except AssertionError:
        pytest.fail(f"not delivered\npollers:\n{pollers.output()[-3000:]}\nworker:\n{worker.output()[-3000:]}")
    by_channel = {r["channel"]: r for r in casestore.reports()}
    x_report, ig_report = by_channel["twitter"], by_channel["instagram"]
    assert x_report["channel_message_id"] == tweet["id"] and x_report["text"] == "jalan berlubang di Jl. Merdeka"
    assert ig_report["anonymous"] is True  # anonymous: not even the comment id, which leads to the IG user
    assert ig_report["channel_message_id"] == opaque_message_id("test-reply-handle-secret", "instagram",
                                                                ig["comment_id"])
    assert ig_report["sender"]["kind"] == "reply_handle"  # anonymous: the case store never sees the IG user
    (x_reply,) = fake.state.x_replies
    assert x_reply["in_reply_to_tweet_id"] == tweet["id"] and x_report["tracking_id"] in x_reply["text"]
    (ig_reply,) = fake.state.ig_replies
    assert ig_reply["comment_id"] == ig["comment_id"] and ig_report["tracking_id"] in ig_reply["message"]
    assert "Merdeka" not in x_reply["text"] and "Riau" not in ig_reply["message"]


async def test_an_answer_in_our_replys_thread_and_a_quote_tweet_reach_the_case_store_as_the_reporters_words(
    gateway: GatewayServer, casestore: CaseStoreServer, fake: FakeProviderServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """The whole way: Siti's anonymous report is answered; her answer under our reply adds to it, anonymous too.
    Budi's anonymous quote of a viral post reaches the case store with the post's words, marked, and nothing of Budi."""
    pollers = start_process("pollers", **fake.env())
    worker = start_process("worker", **fake.env())
    async with httpx.AsyncClient(verify=tls_context(), base_url=fake.url, timeout=10) as control:
        first = (await control.post("/_fake/x/mentions", json={
            "text": "@lapor1708 #anonim pungli di loket samsat", "username": "siti_rahma"})).json()
        await async_wait_until(lambda: len(fake.state.x_replies) == 1, timeout=30)
        answer = (await control.post("/_fake/x/mentions", json={
            "text": "@lapor1708 kejadian lagi hari ini", "username": "siti_rahma",
            "in_reply_to": fake.state.x_replies[0]["id"]})).json()
        viral = (await control.post("/_fake/x/mentions", json={
            "text": "Jembatan gantung Desa Sukamaju putus, anak sekolah menyeberang sungai", "username": "info_garut",
            "mention": False})).json()
        quote = (await control.post("/_fake/x/mentions", json={
            "text": "@lapor1708 #anonim tolong ditindak", "username": "budi_garut", "quote_of": viral["id"]})).json()

    try:
        await async_wait_until(lambda: len(casestore.reports()) == 3 and len(fake.state.x_replies) == 3, timeout=30)
    except AssertionError:
        pytest.fail(f"not delivered\npollers:\n{pollers.output()[-3000:]}\nworker:\n{worker.output()[-3000:]}")
    reports = {r["tracking_id"]: r for r in casestore.reports()}
    parent = next(r for r in reports.values() if r["text"] == "pungli di loket samsat")
    follow_up = next(r for r in reports.values() if r["text"] == "kejadian lagi hari ini")
    assert (follow_up["follow_up_of"], follow_up["anonymous"]) == (parent["tracking_id"], True)
    assert follow_up["sender"]["kind"] == "reply_handle"
    quoted = next(r for r in reports.values() if r["text"].startswith("tolong ditindak"))
    # Marked, without the post's address: the post an anonymous reporter quotes or answers may answer them in turn.
    assert quoted["anonymous"] is True and quoted["text"].endswith(
        "not the reporter's words]\n> Jembatan gantung Desa Sukamaju putus, anak sekolah menyeberang sungai")
    assert viral["id"] not in str(quoted)
    assert all(private not in str(quoted) for private in ("budi_garut", quote["author_id"], quote["id"]))
    [thread_reply] = [r for r in fake.state.x_replies if r["in_reply_to_tweet_id"] == answer["id"]]
    assert parent["tracking_id"] in thread_reply["text"] and first["id"] not in thread_reply["text"]


async def test_a_comment_answering_our_instagram_reply_reaches_the_case_store_as_an_addition(
    gateway: GatewayServer, casestore: CaseStoreServer, fake: FakeProviderServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """The whole way on Instagram: Siti's anonymous comment is answered; her comment under our reply (the fake
    provider's `media_id`: on the same post) adds to her report, anonymous too, and our reply to it names it."""
    pollers = start_process("pollers", **fake.env())
    worker = start_process("worker", **fake.env())
    async with httpx.AsyncClient(verify=tls_context(), base_url=fake.url, timeout=10) as control:
        first = (await control.post("/_fake/instagram/mentions", json={
            "text": "@lapor1708 #anonim pungli di loket samsat", "username": "siti.rahma"})).json()
        await async_wait_until(lambda: len(fake.state.ig_replies) == 1, timeout=30)
        answer = (await control.post("/_fake/instagram/mentions", json={
            "text": "@lapor1708 kejadian lagi hari ini", "username": "siti.rahma",
            "media_id": first["media_id"]})).json()
    assert answer["media_id"] == first["media_id"] and answer["webhook_status"] == 200

    try:
        await async_wait_until(lambda: len(casestore.reports()) == 2 and len(fake.state.ig_replies) == 2, timeout=30)
    except AssertionError:
        pytest.fail(f"not delivered\npollers:\n{pollers.output()[-3000:]}\nworker:\n{worker.output()[-3000:]}")
    reports = {r["text"]: r for r in casestore.reports()}
    parent, follow_up = reports["pungli di loket samsat"], reports["kejadian lagi hari ini"]
    assert (follow_up["follow_up_of"], follow_up["anonymous"]) == (parent["tracking_id"], True)
    assert follow_up["sender"]["kind"] == "reply_handle"
    [reply] = [r for r in fake.state.ig_replies if r["comment_id"] == answer["comment_id"]]
    assert parent["tracking_id"] in reply["message"]


async def test_comments_under_our_own_instagram_post_are_filed_when_written_to_us_and_answered_under_them(
    gateway: GatewayServer, casestore: CaseStoreServer, fake: FakeProviderServer,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """The whole way for a comment under our own post (Meta's `comments` field, never a mention): Sari's comment
    naming us is filed, anonymous, and answered under it (`/{comment-id}/replies`); her reply to our answer adds to
    her report; a "mantap min" beside it and our own reply coming back as a comment are neither filed nor answered.
    Rudi's report in her thread is answered there, opening with his @username (read from his comment, `GET
    /{comment-id}`), or Instagram would tell Sari alone; her anonymous addition in it names no one."""
    pollers = start_process("pollers", **fake.env())
    worker = start_process("worker", **fake.env())
    async with httpx.AsyncClient(verify=tls_context(), base_url=fake.url, timeout=10) as control:
        sari = (await control.post("/_fake/instagram/comments", json={
            "text": "@lapor1708 #anonim jalan rusak di Desa Sukamaju RT 03", "username": "sari.sukamaju"})).json()
        thanks = (await control.post("/_fake/instagram/comments", json={"text": "mantap min 👍"})).json()
        await async_wait_until(lambda: len(fake.state.ig_replies) == 1, timeout=30)
        (answer,) = fake.state.ig_replies
        ours = (await control.post("/_fake/instagram/comments", json={
            "text": answer["message"], "own": True, "parent_id": sari["comment_id"]})).json()
        more = (await control.post("/_fake/instagram/comments", json={
            "text": "@lapor1708 sudah dua bulan belum diperbaiki", "username": "sari.sukamaju",
            "parent_id": sari["comment_id"]})).json()
        rudi = (await control.post("/_fake/instagram/comments", json={
            "text": "LAPOR di desa sebelah jalannya juga rusak", "username": "rudi.dago",
            "parent_id": sari["comment_id"]})).json()
    assert {sari["webhook_status"], thanks["webhook_status"], ours["webhook_status"], more["webhook_status"],
            rudi["webhook_status"]} == {200}

    try:
        await async_wait_until(lambda: len(casestore.reports()) == 3 and len(fake.state.ig_replies) == 3, timeout=30)
    except AssertionError:
        pytest.fail(f"not delivered\npollers:\n{pollers.output()[-3000:]}\nworker:\n{worker.output()[-3000:]}")
    reports = {r["text"]: r for r in casestore.reports()}
    first, follow_up = reports["jalan rusak di Desa Sukamaju RT 03"], reports["sudah dua bulan belum diperbaiki"]
    assert first["anonymous"] is True and first["sender"]["kind"] == "reply_handle"
    assert (follow_up["follow_up_of"], follow_up["anonymous"]) == (first["tracking_id"], True)
    assert "sari.sukamaju" not in str(casestore.reports())
    assert answer["comment_id"] == sari["comment_id"] and first["tracking_id"] in answer["message"]
    [second] = [r for r in fake.state.ig_replies if r["comment_id"] == more["comment_id"]]
    assert second["thread"] == sari["comment_id"] and first["tracking_id"] in second["message"]
    assert not answer["message"].startswith("@") and not second["message"].startswith("@")
    [to_rudi] = [r for r in fake.state.ig_replies if r["comment_id"] == rudi["comment_id"]]
    assert to_rudi["thread"] == sari["comment_id"]
    assert to_rudi["message"].startswith("@rudi.dago Laporan Anda kami terima.")
    assert reports["di desa sebelah jalannya juga rusak"]["tracking_id"] in to_rudi["message"]
    await asyncio.sleep(1.5)  # rounds enough for a wrongly kept "mantap min" or our own comment to be filed
    assert len(casestore.reports()) == 3 and len(fake.state.ig_replies) == 3


async def test_an_instagram_reply_whose_post_got_a_5xx_after_the_comment_was_made_is_posted_once(
    gateway: GatewayServer, casestore: CaseStoreServer, fake: FakeProviderServer, redis: Redis,
    start_process: Callable[..., ProcessHandle],
) -> None:
    """The Graph API made our comment and answered 500: the worker's retry, after the scheduler's backoff, reads the
    mention's replies (the fake provider's `mentioned_comment...{replies...}`), finds ours and records it as sent,
    where it posted it a second time on the citizen's comment, in public."""
    pollers = start_process("pollers", **fake.env())
    worker = start_process("worker", **fake.env())
    async with httpx.AsyncClient(verify=tls_context(), base_url=fake.url, timeout=10) as control:
        await control.post("/_fake/faults", json={
            "path": f"/graph/v21.0/{IG_USER_ID}/mentions", "status": 500, "after": True,
            "body": {"error": {"message": "An unknown error has occurred.", "type": "OAuthException", "code": 1}}})
        ig = (await control.post("/_fake/instagram/mentions", json={
            "text": "@lapor1708 lampu jalan mati di Jl. Riau", "kind": "comment"})).json()
    sent_key = f"lapor:social:replied:instagram:{ig['comment_id']}"
    try:
        await async_wait_until(lambda: len(casestore.reports()) == 1 and redis.exists(sent_key), timeout=30)
    except AssertionError:
        pytest.fail(f"not delivered\npollers:\n{pollers.output()[-3000:]}\nworker:\n{worker.output()[-3000:]}")
    (reply,) = fake.state.ig_replies
    assert reply["comment_id"] == ig["comment_id"] and redis.get(sent_key) == reply["id"].encode()
    assert casestore.reports()[0]["tracking_id"] in reply["message"]
    assert "reply.already_posted" in worker.output()


def test_the_pollers_process_idles_when_no_social_channel_is_enabled(
    start_process: Callable[..., ProcessHandle],
) -> None:
    process = start_process("pollers")
    deadline = time.monotonic() + 60  # a guard: the loop ends when the process says it; a loaded start took >10 s
    while "pollers.idle" not in process.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "pollers.idle" in process.output()
    assert process.process.poll() is None  # still up: `make run` must not stop because of it


def test_a_restarted_fake_providers_process_hands_out_ids_above_the_earlier_ones(
    start_process: Callable[..., ProcessHandle],
) -> None:
    """`make run` started again keeps its Redis, which holds the mentions taken and X's cursor: the new fake provider's
    mentions must not carry an id the earlier one handed out, nor an X id below it."""
    port = free_port()
    earlier, later = (_mention_ids_of_a_fake_providers_run(start_process, port) for _ in range(2))
    for name in ("tweet", "media_id", "comment_id"):
        assert int(later[name]) > int(earlier[name]), (name, earlier, later)


def _fake_providers_process(start_process: Callable[..., ProcessHandle], port: int) -> ProcessHandle:
    """`lapor-gateway fake-providers` of the development profile (`make run`) on `port`, once it listens."""
    process = start_process("fake-providers", "--port", str(port), LAPOR_PROFILE="development")

    def listening() -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_fake/replies", timeout=0.5, verify=tls_context())
        except httpx.HTTPError:
            return process.process.poll() is not None  # died: the assertion below says why
        return True

    wait_until(listening, timeout=30)
    assert process.process.poll() is None, process.output()[-3000:]
    return process


def test_make_runs_fake_provider_takes_replies_signed_with_the_development_oauth_1a_keys(
    start_process: Callable[..., ProcessHandle],
) -> None:
    """The development profile signs replies with OAuth 1.0a, as production should: the fake provider it starts
    checks that signature with the same documented keys."""
    port = free_port()
    process = _fake_providers_process(start_process, port)
    try:
        settings = load_settings({"LAPOR_PROFILE": "development", "LAPOR_X_BASE_URL": f"http://127.0.0.1:{port}/x"})
        assert settings.x.oauth1
        client = XReplyClient(settings)
        try:
            reply_id = client.reply("1860000000000000000", "Laporan Anda kami terima (ref TEST)")
        finally:
            client.close()
        replies = httpx.get(f"http://127.0.0.1:{port}/_fake/replies", timeout=5).json()["x"]
    finally:
        process.stop()
    assert [reply["id"] for reply in replies] == [reply_id]


def _mention_ids_of_a_fake_providers_run(start_process: Callable[..., ProcessHandle], port: int) -> dict[str, str]:
    """Start `lapor-gateway fake-providers`, post a mention on X and one on Instagram, stop it: their ids."""
    process = _fake_providers_process(start_process, port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=5) as control:
            tweet = control.post("/_fake/x/mentions", json={"text": "@lapor1708 jalan rusak"}).json()
            ig = control.post("/_fake/instagram/mentions", json={
                "text": "@lapor1708 sampah di pasar", "kind": "comment", "deliver": False}).json()
    finally:
        process.stop()
    return {"tweet": tweet["id"], "media_id": ig["media_id"], "comment_id": ig["comment_id"]}


@pytest.mark.parametrize(
    ("channel_env", "missing"),
    [
        pytest.param({"LAPOR_X_ENABLED": "true", "LAPOR_X_USER_ID": "1"}, "LAPOR_X_BEARER_TOKEN", id="x"),
        pytest.param({"LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_ACCESS_TOKEN": "t",
                      "LAPOR_INSTAGRAM_IG_USER_ID": "1", "LAPOR_INSTAGRAM_VERIFY_TOKEN": "v"},
                     "LAPOR_INSTAGRAM_APP_SECRET", id="instagram"),
    ],
)
def test_an_enabled_social_channel_without_its_secret_does_not_start_in_production(
    test_env: TestEnvironment, channel_env: dict[str, str], missing: str
) -> None:
    with pytest.raises(SettingsError, match=missing):
        load_settings({**test_env.values, **channel_env})
    development = load_settings({**test_env.values, **channel_env, "LAPOR_PROFILE": "development"})
    assert development.x.enabled and development.instagram.enabled
    assert development.x.base_url.startswith("http://127.0.0.1:")


async def test_an_instagram_webhook_refused_while_redis_is_away_is_sent_again_and_filed(
    test_env: TestEnvironment, tmp_path: Path, fake: FakeProviderServer,
) -> None:
    """Meta sends a webhook the gateway did not answer 200 again; the fake provider did not, so `make run` showed a
    mention posted while Redis was away answered 503 and never filed. It sends it again now, as Meta does, until the
    gateway takes it: durable on the notification list once Redis is back."""
    from redis import Redis as RedisClient

    from channels.instagram_graph import PENDING_KEY
    from tests.test_status_views import gateway_on_its_own_redis

    fake.state.config.webhook_retry_seconds = (0.2,) * 50
    async with gateway_on_its_own_redis(test_env, tmp_path, **fake.env()) as (own, _):
        own.stop()
        async with httpx.AsyncClient(verify=tls_context(), base_url=fake.url, timeout=10) as control:
            posted = (await control.post("/_fake/instagram/mentions", json={
                "text": "@lapor1708 lampu jalan mati di Jl. Riau", "kind": "comment"})).json()
        assert (posted["webhook_status"], posted["redelivering"]) == (503, True)
        own.start_again()
        await async_wait_until(lambda: fake.state.deliveries[-1].get("webhook_status") == 200, timeout=20)
        [stored] = RedisClient.from_url(own.url).lrange(PENDING_KEY.format(ig_user_id=IG_USER_ID), 0, -1)
    assert posted["comment_id"] in stored.decode()
    attempts = [delivery["attempt"] for delivery in fake.state.deliveries]
    assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 2
