"""A report's files still at its provider reach the case store as bytes, fetched by the forward worker.

Each case is an MMS through the signed Twilio webhook whose media URL is the case's, the forward queue worked in this
process with the providers' answers under respx (nothing beyond loopback is reached: a request respx has no answer
for fails the fetch), and the reference case store asked what it got: the file's bytes under their sha256, or the
attachment as before with the flag `not_fetched` and the reason in the log, never the URL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import io
import socket
import threading
import time
import tomllib
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from prometheus_client import REGISTRY
from redis import Redis
from rq.job import Job

from gateway.attachments import attachment_location
from gateway.intake import Intake
from gateway.queues import FORWARD_QUEUE, enqueue_forward, envelope_key, queue
from gateway.settings import Settings
from normalizer.envelope import Attachment, Channel, ReportDraft, Sender, SenderKind
from tests.aggregator_support import drain
from tests.cli_process import run_cli
from tests.conftest import (
    REPO_ROOT,
    TWILIO_TOKEN,
    CaseStoreServer,
    GatewayServer,
    TestEnvironment,
    async_wait_until,
    first_table,
    log_events,
)
from tests.test_twilio_intake import tracking_id_in, twiml_message
from workers.deadletters import DeadLetters
from workers.forward import FIRST_TRY_META
from workers.media import FETCHED_KEY, FetchFailed, MediaFetcher, fetched_key, host_allowed, takers_key

DEFAULTS = tomllib.loads((REPO_ROOT / "config" / "defaults.toml").read_text())
ACCOUNT = "AC" + "1" * 32
TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'2' * 32}/Media/ME{'3' * 32}"
# Where Twilio's media URL redirects: a pre-signed CDN address (an account that enforces HTTP auth on media) or the
# media bucket on S3.
SIGNED_CDN = f"https://mms.twiliocdn.com/{ACCOUNT}/{'4' * 32}?Expires=1764000000&Signature=c2lnbmVk"
S3_BUCKET = f"https://s3-external-1.amazonaws.com/media.twiliocdn.com/{ACCOUNT}/{'5' * 32}"
X_PHOTO = "https://pbs.twimg.com/media/GdQx1aXbYAA8kq2.jpg"
IG_PHOTO = "https://scontent-sin6-2.cdninstagram.com/v/t51.29350-15/467_n.jpg?ig_cache_key=NDY3.2"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
MAX_BYTES = 4096
TWILIO_AUTH = "Basic " + base64.b64encode(f"{ACCOUNT}:{TWILIO_TOKEN}".encode()).decode()
# The defaults' allow-list (the tests' environment allows no host at all), a small cap, quick timeouts and retries
# (3 s a fetch: at 1 s a mocked fetch met it with two whole suites sharing two cores).
# A report is not held for a file that may come later (see the tests of retry_seconds at the end).
FETCHING = {"LAPOR_ATTACHMENTS_FETCH_HOSTS": ",".join(DEFAULTS["attachments"]["fetch_hosts"]),
            "LAPOR_ATTACHMENTS_MAX_BYTES": str(MAX_BYTES), "LAPOR_ATTACHMENTS_TIMEOUT_SECONDS": "3.0",
            "LAPOR_ATTACHMENTS_RETRY_SECONDS": "0", "LAPOR_QUEUES_RETRY_INTERVALS": "0,0"}


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    return test_env.settings(**FETCHING)


@contextmanager
def providers() -> Iterator[respx.MockRouter]:
    """The providers' media hosts under respx; loopback (the gateway, the case store) passes through."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host="127.0.0.1").pass_through()
        yield router


def provider_requests(router: respx.MockRouter) -> list[tuple[str, str | None]]:
    """(URL, Authorization) of each request to a provider, in order."""
    return [(str(call.request.url), call.request.headers.get("Authorization")) for call in router.calls
            if call.request.url.host != "127.0.0.1"]


async def send_mms(gateway: GatewayServer, *media: tuple[str, str], sid: str = "MM" + "6" * 32) -> str:
    """An MMS with these (URL, content type) media, as Twilio posts it; its Tracking ID."""
    fields = {f"{name}{index}": value for index, (url, content_type) in enumerate(media)
              for name, value in (("MediaUrl", url), ("MediaContentType", content_type))}
    form = gateway.twilio_form(Body="Foto jalan berlubang di depan SDN 3", MessageSid=sid, SmsSid=sid,
                               SmsMessageSid=sid, NumMedia=str(len(media)), **fields)
    response = await gateway.post_twilio(form)
    assert response.status_code == 200
    return tracking_id_in(twiml_message(response.text))


def photo(body: bytes = PHOTO, content_type: str = "image/jpeg") -> httpx.Response:
    return httpx.Response(200, content=body, headers={"Content-Type": content_type})


def redirect(location: str, status: int = 307) -> httpx.Response:
    return httpx.Response(status, headers={"Location": location})


def unsized(size: int) -> httpx.Response:
    """A body sent in chunks, without a Content-Length."""
    return httpx.Response(200, content=iter([b"x" * 1000] * (size // 1000) + [b"x" * (size % 1000)]),
                          headers={"Content-Type": "image/jpeg"})


def declared_over_the_cap() -> httpx.Response:
    """A Content-Length over the cap, and a body that must not be read for it to be refused."""

    def body() -> Iterator[bytes]:
        raise AssertionError("the body of a file declared over the cap was read")
        yield b""

    return httpx.Response(200, content=body(),
                          headers={"Content-Type": "image/jpeg", "Content-Length": str(MAX_BYTES + 1)})


def compressed(body: bytes) -> httpx.Response:
    """The file gzip-coded, though the fetcher asked for it as kept."""
    return httpx.Response(200, content=gzip.compress(body),
                          headers={"Content-Type": "image/jpeg", "Content-Encoding": "gzip"})


def dripping(chunks: int, pause: float) -> httpx.Response:
    """A body whose every chunk comes quickly enough for each read, but not all of them within the fetch's time."""

    def body() -> Iterator[bytes]:
        for _ in range(chunks):
            time.sleep(pause)
            yield b"x" * 10

    return httpx.Response(200, content=body(), headers={"Content-Type": "image/jpeg"})


@dataclass(frozen=True)
class Case:
    url: str
    answers: dict[str, Any]  # what a provider answers at each URL: a response or an exception
    requests: tuple[tuple[str, str | None], ...] = ()  # (URL, Authorization) the worker must send, in order
    fetched: bytes | None = None  # the bytes the case store must get...
    content_type: str = "image/jpeg"  # ...and their type
    reason: str | None = None  # or why it is not fetched
    transient: bool = False


def fetched(url: str, answers: dict[str, Any], requests: tuple[tuple[str, str | None], ...],
            body: bytes = PHOTO, content_type: str = "image/jpeg") -> Case:
    return Case(url, answers, requests, fetched=body, content_type=content_type)


def refused(url: str, reason: str, answers: dict[str, Any] | None = None,
            requests: tuple[tuple[str, str | None], ...] = (), *, transient: bool = False) -> Case:
    return Case(url, answers or {}, requests, reason=reason, transient=transient)


CASES = [
    # -- the allow-list and Twilio's credentials: fetched ------------------------------------------------------------
    pytest.param(fetched(TWILIO_MEDIA, {TWILIO_MEDIA: redirect(SIGNED_CDN), SIGNED_CDN: photo()},
                         ((TWILIO_MEDIA, TWILIO_AUTH), (SIGNED_CDN, None))),
                 id="twilio enforcing auth: our credentials to api.twilio.com, none to its signed CDN address"),
    pytest.param(fetched(TWILIO_MEDIA, {TWILIO_MEDIA: redirect(S3_BUCKET, 302), S3_BUCKET: photo()},
                         ((TWILIO_MEDIA, TWILIO_AUTH), (S3_BUCKET, None))),
                 id="twilio without auth on media: its bucket on S3"),
    pytest.param(fetched(X_PHOTO, {X_PHOTO: photo(content_type="image/png")}, ((X_PHOTO, None),),
                         content_type="image/png"),
                 id="x photo served as image/png: the same family, its own type kept"),
    pytest.param(fetched(IG_PHOTO, {IG_PHOTO: photo()}, ((IG_PHOTO, None),)), id="instagram regional cdn host"),
    pytest.param(fetched(X_PHOTO, {X_PHOTO: photo(b"x" * MAX_BYTES)}, ((X_PHOTO, None),), body=b"x" * MAX_BYTES),
                 id="exactly the cap"),
    # -- refused before any request ------------------------------------------------------------------------------
    pytest.param(refused("http://pbs.twimg.com/media/plain.jpg", "not_allowed"), id="plain http"),
    pytest.param(refused("https://pbs.twimg.com:8443/media/port.jpg", "not_allowed"), id="another port"),
    pytest.param(refused("https://user:secret@pbs.twimg.com/media/creds.jpg", "not_allowed"),
                 id="credentials in the URL"),
    pytest.param(refused("https://attacker.example/photo.jpg", "not_allowed"), id="a host not listed"),
    pytest.param(refused("https://pbs.twimg.com.attacker.example/photo.jpg", "not_allowed"),
                 id="a listed host as the prefix of another"),
    pytest.param(refused("https://attacker-cdninstagram.com/photo.jpg", "not_allowed"),
                 id="a host ending like a listed domain"),
    pytest.param(refused("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "not_allowed"),
                 id="cloud metadata address"),
    pytest.param(refused("https://s3-external-1.amazonaws.com/attacker-bucket/photo.jpg", "not_allowed"),
                 id="s3 outside twilio's bucket"),
    pytest.param(refused("https://s3-external-1.amazonaws.com/media.twiliocdn.com/../attacker-bucket/photo.jpg",
                         "not_allowed"), id="dot segments out of twilio's bucket"),
    # -- refused for good after a request ------------------------------------------------------------------------
    pytest.param(refused(X_PHOTO, "redirect_not_allowed", {X_PHOTO: redirect("https://attacker.example/p.jpg")},
                         ((X_PHOTO, None),)), id="redirect to a host not listed"),
    pytest.param(refused(TWILIO_MEDIA, "redirect_not_allowed",
                         {TWILIO_MEDIA: redirect(SIGNED_CDN.replace("https:", "http:"))},
                         ((TWILIO_MEDIA, TWILIO_AUTH),)), id="redirect to plain http"),
    pytest.param(refused(X_PHOTO, "too_many_redirects", {X_PHOTO: redirect(X_PHOTO)}, ((X_PHOTO, None),) * 4),
                 id="redirect loop"),
    pytest.param(refused(TWILIO_MEDIA, "http_404", {TWILIO_MEDIA: httpx.Response(404)},
                         ((TWILIO_MEDIA, TWILIO_AUTH),)), id="404"),
    pytest.param(refused(TWILIO_MEDIA, "http_401", {TWILIO_MEDIA: httpx.Response(401)},
                         ((TWILIO_MEDIA, TWILIO_AUTH),)), id="our twilio credentials refused"),
    pytest.param(refused(IG_PHOTO, "http_403", {IG_PHOTO: httpx.Response(403)}, ((IG_PHOTO, None),)),
                 id="403 of an expired instagram address"),
    pytest.param(refused(X_PHOTO, "too_large", {X_PHOTO: declared_over_the_cap()}, ((X_PHOTO, None),)),
                 id="over the cap by its content-length, refused unread"),
    pytest.param(refused(X_PHOTO, "too_large", {X_PHOTO: unsized(MAX_BYTES + 1)}, ((X_PHOTO, None),)),
                 id="over the cap by its bytes, no content-length"),
    pytest.param(refused(X_PHOTO, "content_type_mismatch", {X_PHOTO: photo(b"<html>login</html>", "text/html")},
                         ((X_PHOTO, None),)), id="an html page where a photo was expected"),
    pytest.param(refused(X_PHOTO, "content_type_mismatch",
                         {X_PHOTO: photo(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml")},
                         ((X_PHOTO, None),)), id="an svg where a photo was expected, the same family though"),
    pytest.param(refused(X_PHOTO, "content_encoding", {X_PHOTO: compressed(PHOTO)}, ((X_PHOTO, None),)),
                 id="gzip-coded though not asked for: refused unread"),
    # -- transient: the report still goes ------------------------------------------------------------------------
    pytest.param(refused(X_PHOTO, "http_503", {X_PHOTO: httpx.Response(503)}, ((X_PHOTO, None),), transient=True),
                 id="503"),
    pytest.param(refused(X_PHOTO, "http_429", {X_PHOTO: httpx.Response(429)}, ((X_PHOTO, None),), transient=True),
                 id="429"),
    pytest.param(refused(X_PHOTO, "http_408", {X_PHOTO: httpx.Response(408)}, ((X_PHOTO, None),), transient=True),
                 id="408: a request timeout is a timeout"),
    pytest.param(refused(X_PHOTO, "timeout", {X_PHOTO: httpx.ConnectTimeout("connect timed out")},
                         ((X_PHOTO, None),), transient=True), id="timeout"),
    pytest.param(refused(X_PHOTO, "timeout", {X_PHOTO: dripping(chunks=8, pause=0.45)}, ((X_PHOTO, None),),
                         transient=True), id="a body dripping past the timeout"),
    pytest.param(refused(X_PHOTO, "unreachable", {X_PHOTO: httpx.ConnectError("connection refused")},
                         ((X_PHOTO, None),), transient=True), id="unreachable"),
    pytest.param(refused(X_PHOTO, "unreachable", {X_PHOTO: redirect("https://[::1")}, ((X_PHOTO, None),),
                         transient=True), id="a broken answer: a redirect to no URL at all"),
]


def answer(router: respx.MockRouter, answers: dict[str, Any]) -> dict[str, respx.Route]:
    routes = {}
    for url, response in answers.items():
        route = routes[url] = router.get(url=url)
        route.mock(side_effect=response) if isinstance(response, Exception) else route.mock(return_value=response)
    return routes


@pytest.mark.parametrize("case", CASES)
async def test_a_file_at_its_provider_reaches_the_case_store_as_bytes_or_goes_flagged_with_the_reason(
        case: Case, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings,
        log_stream: io.StringIO) -> None:
    with providers() as router:
        answer(router, case.answers)
        tracking_id = await send_mms(gateway, (case.url, "image/jpeg"))
        drain(settings, (FORWARD_QUEUE,))
        requests = provider_requests(router)
    report = casestore.get(tracking_id)
    assert report is not None, "a file must never hold its report back"
    [attachment] = report["attachments"]
    assert requests == list(case.requests)
    failures = [event for event in log_events(log_stream) if event["event"] == "attachment.fetch_failed"]
    if case.fetched is not None:
        sha256 = hashlib.sha256(case.fetched).hexdigest()
        assert attachment == {"content_type": case.content_type, "size": len(case.fetched), "sha256": sha256,
                              "name": None, "location": attachment_location(sha256), "flags": []}
        assert casestore.store.get_attachment(sha256) == (case.content_type, case.fetched)
        assert (settings.data_dir / attachment_location(sha256)).read_bytes() == case.fetched
        assert failures == []
    else:  # as before: the provider's URL for a named report, flagged
        assert attachment == {"content_type": "image/jpeg", "size": None, "sha256": None, "name": None,
                              "location": case.url, "flags": ["not_fetched"]}
        assert [(f["tracking_id"], f["channel"], f["reason"], f["transient"]) for f in failures] == [
            (tracking_id, "sms-twilio", case.reason, case.transient)]  # the channel as the views name it, not "sms"
    logged = log_stream.getvalue()
    for url in {case.url, *case.answers}:  # an address of the file leads back to its sender
        assert url not in logged and httpx.URL(url).path not in logged, url


@pytest.mark.parametrize(("account_sid", "user"), [
    pytest.param("", ACCOUNT, id="the account the media URL names"),
    pytest.param("AC" + "9" * 32, "AC" + "9" * 32, id="the configured account (a subaccount's media)"),
])
async def test_twilio_media_is_opened_with_the_configured_account_or_the_one_in_its_url(
        account_sid: str, user: str, gateway: GatewayServer, casestore: CaseStoreServer,
        test_env: TestEnvironment) -> None:
    worker_settings = test_env.settings(**FETCHING, LAPOR_TWILIO_ACCOUNT_SID=account_sid)
    with providers() as router:
        answer(router, {TWILIO_MEDIA: redirect(SIGNED_CDN), SIGNED_CDN: photo()})
        tracking_id = await send_mms(gateway, (TWILIO_MEDIA, "image/jpeg"))
        drain(worker_settings, (FORWARD_QUEUE,))
        requests = provider_requests(router)
    expected = "Basic " + base64.b64encode(f"{user}:{TWILIO_TOKEN}".encode()).decode()
    assert requests == [(TWILIO_MEDIA, expected), (SIGNED_CDN, None)]
    report = casestore.get(tracking_id)
    assert report is not None and report["attachments"][0]["sha256"] == hashlib.sha256(PHOTO).hexdigest()


@pytest.mark.parametrize(("file_removed", "fetches"), [
    pytest.param(False, 1, id="the kept file is taken"),
    pytest.param(True, 2, id="a kept file gone from the data dir is fetched again"),
])
async def test_a_retried_and_requeued_report_takes_the_file_it_already_fetched(
        file_removed: bool, fetches: int, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings,
        redis: Redis) -> None:
    sha256 = hashlib.sha256(PHOTO).hexdigest()
    with providers() as router:
        route = answer(router, {X_PHOTO: photo()})[X_PHOTO]
        casestore.stop()
        tracking_id = await send_mms(gateway, (X_PHOTO, "image/jpeg"))
        drain(settings, (FORWARD_QUEUE,))  # three tries (retry intervals 0, 0), the case store down for each
        [letter] = DeadLetters(redis).list()
        assert route.call_count == 1
        record = FETCHED_KEY.format(url_digest=hashlib.sha256(X_PHOTO.encode()).hexdigest())
        # Kept as long as the report waits, as its envelope is: a requeue after weeks still finds the file.
        assert redis.ttl(record) == -1 and redis.ttl(envelope_key(tracking_id)) == -1
        if file_removed:
            (settings.data_dir / attachment_location(sha256)).unlink()
        casestore.start()
        assert DeadLetters(redis).requeue([letter], settings).requeued == 1
        drain(settings, (FORWARD_QUEUE,))
    assert route.call_count == fetches
    report = casestore.get(tracking_id)
    assert report is not None and report["attachments"][0]["sha256"] == sha256
    assert casestore.store.get_attachment(sha256) == ("image/jpeg", PHOTO)
    ttl = settings.intake.envelope_ttl_seconds  # forwarded: both go together
    assert ttl - 60 < redis.ttl(record) <= ttl and ttl - 60 < redis.ttl(envelope_key(tracking_id)) <= ttl


def time_passes(redis: Redis) -> None:
    """Weeks go by: every key of the gateway's that has an expiry is gone, as Redis would have expired it."""
    for key in list(redis.scan_iter(match="lapor:*")):
        if redis.ttl(key) >= 0:
            redis.delete(key)


def end_as_a_dead_letter(settings: Settings, redis: Redis, casestore: CaseStoreServer, tracking_id: str,
                         end: str) -> None:
    """The report's dead letter requeued and forwarded, or purged."""
    letter = DeadLetters(redis).get(tracking_id)
    assert letter is not None
    if end == "forwarded":
        assert DeadLetters(redis).requeue([letter], settings).requeued == 1
        drain(settings, (FORWARD_QUEUE,))
        report = casestore.get(tracking_id)
        assert report is not None and report["attachments"][0]["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    else:
        assert DeadLetters(redis).purge([letter], settings.intake.envelope_ttl_seconds) == 1


@pytest.mark.parametrize("second_end", ["forwarded", "purged"])
@pytest.mark.parametrize("together", [
    pytest.param(True, id="both waited as dead letters, the first requeued and forwarded"),
    pytest.param(False, id="the second took it after the first was forwarded"),
])
async def test_a_file_two_reports_took_is_kept_while_either_waits(
        together: bool, second_end: str, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings,
        redis: Redis) -> None:
    """Two reports name one provider URL (an Instagram post mentioned twice). The record of what it was fetched as
    was one for both: the first forwarded gave it its envelope's expiry while the second still waited as a dead
    letter, so the second, requeued weeks later, fetched the file again from an address expired by then."""
    record, takers = fetched_key(IG_PHOTO), takers_key(IG_PHOTO)
    ttl = settings.intake.envelope_ttl_seconds
    with providers() as router:
        route = router.get(url=IG_PHOTO).mock(side_effect=[photo()] + [httpx.Response(403)] * 9)  # then expired
        if together:
            casestore.stop()
        first = await send_mms(gateway, (IG_PHOTO, "image/jpeg"), sid="MM" + "a" * 32)
        drain(settings, (FORWARD_QUEUE,))
        casestore.stop()
        second = await send_mms(gateway, (IG_PHOTO, "image/jpeg"), sid="MM" + "b" * 32)
        drain(settings, (FORWARD_QUEUE,))  # three tries, the case store down for each: a dead letter
        casestore.start()
        if together:
            end_as_a_dead_letter(settings, redis, casestore, first, "forwarded")
        assert casestore.get(first) is not None and casestore.get(second) is None
        assert redis.ttl(record) == -1, "the first report forwarded, the second still waits"
        time_passes(redis)
        assert not redis.exists(envelope_key(first))
        end_as_a_dead_letter(settings, redis, casestore, second, second_end)
    assert route.call_count == 1, "fetched once, taken by both"
    assert ttl - 60 < redis.ttl(record) <= ttl and not redis.exists(takers), "the last one done gives it its expiry"


def unreadable_record(settings: Settings, redis: Redis) -> None:
    """What the URL was fetched as, in a form this version cannot read (a newer one wrote it, or it was damaged)."""
    redis.set(FETCHED_KEY.format(url_digest=hashlib.sha256(X_PHOTO.encode()).hexdigest()), b'{"sha256": ')


def no_room(settings: Settings, redis: Redis) -> None:
    """The data dir cannot hold the file: where its folder would be is taken."""
    (settings.data_dir / "attachments").write_bytes(b"")


@pytest.mark.parametrize(("spoil", "reason"), [
    pytest.param(unreadable_record, None, id="an unreadable record of the URL: fetched again"),
    pytest.param(no_room, "not_stored", id="a data dir that cannot keep it: the report goes without it"),
])
async def test_what_the_worker_cannot_read_or_keep_never_holds_the_report(
        spoil: Any, reason: str | None, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings,
        redis: Redis, log_stream: io.StringIO) -> None:
    spoil(settings, redis)
    with providers() as router:
        route = answer(router, {X_PHOTO: photo()})[X_PHOTO]
        tracking_id = await send_mms(gateway, (X_PHOTO, "image/jpeg"))
        drain(settings, (FORWARD_QUEUE,))
    report = casestore.get(tracking_id)
    assert report is not None and route.call_count == 1
    [attachment] = report["attachments"]
    failures = [(event["reason"], event["transient"]) for event in log_events(log_stream)
                if event["event"] == "attachment.fetch_failed"]
    if reason is None:
        assert attachment["sha256"] == hashlib.sha256(PHOTO).hexdigest() and failures == []
    else:
        assert attachment["flags"] == ["not_fetched"] and failures == [(reason, True)]


@pytest.mark.parametrize(("url", "allowed"), [
    pytest.param(S3_BUCKET, True, id="in the bucket"),
    pytest.param("https://s3-external-1.amazonaws.com/media.twiliocdn.com.attacker/photo.jpg", False,
                 id="a bucket whose name starts like it"),
    pytest.param("https://s3-external-1.amazonaws.com/media.twiliocdn.comx/photo.jpg", False,
                 id="a bucket one letter longer"),
])
def test_a_path_in_the_allow_list_is_a_folder_with_or_without_its_closing_slash(
        url: str, allowed: bool, test_env: TestEnvironment) -> None:
    """An operator writing `host/path` without the slash opened every S3 bucket whose name starts with that path."""
    settings = test_env.settings(LAPOR_ATTACHMENTS_FETCH_HOSTS="s3-external-1.amazonaws.com/media.twiliocdn.com")
    assert host_allowed(httpx.URL(url), settings.attachments.fetch_hosts) is allowed


HANGING = "https://pbs.twimg.com/media/hangs.jpg"


def hang(_: httpx.Request) -> httpx.Response:
    time.sleep(1.0)
    return photo(b"late")


@pytest.mark.parametrize(("concurrency", "second"), [
    pytest.param(1, ("out_of_time", False), id="one at a time: the second is not started once the time is spent"),
    pytest.param(2, ("fetched", True), id="two at once: the second does not wait for the first"),
])
async def test_a_provider_that_hangs_does_not_hold_the_batch(
        concurrency: int, second: tuple[str, bool], gateway: GatewayServer, casestore: CaseStoreServer,
        test_env: TestEnvironment, log_stream: io.StringIO) -> None:
    worker_settings = test_env.settings(**{**FETCHING, "LAPOR_ATTACHMENTS_TIMEOUT_SECONDS": "5",
                                           "LAPOR_ATTACHMENTS_BATCH_SECONDS": "0.5",
                                           "LAPOR_ATTACHMENTS_FETCH_CONCURRENCY": str(concurrency)})
    with providers() as router:
        router.get(url=HANGING).mock(side_effect=hang)
        answer(router, {X_PHOTO: photo()})
        tracking_id = await send_mms(gateway, (HANGING, "image/jpeg"), (X_PHOTO, "image/jpeg"))
        drain(worker_settings, (FORWARD_QUEUE,))
        requested = [url for url, _ in provider_requests(router)]
    report = casestore.get(tracking_id)
    assert report is not None
    first, other = report["attachments"]
    reasons = {f["attachment"]: f["reason"] for f in log_events(log_stream) if f["event"] == "attachment.fetch_failed"}
    assert first["flags"] == ["not_fetched"] and reasons[0] == "timeout"
    outcome, requested_second = second
    assert (X_PHOTO in requested) is requested_second
    if outcome == "fetched":
        assert other["sha256"] == hashlib.sha256(PHOTO).hexdigest() and 1 not in reasons
    else:
        assert other["flags"] == ["not_fetched"] and reasons[1] == outcome


def test_a_compressed_answer_is_refused_before_it_is_inflated(settings: Settings) -> None:
    """64 kB of gzip inflate to 64 MiB: decoded as it came, each read's worth was in memory before the size cap saw
    it (a 10 MiB cap, eight fetches at once). The file is asked for as the provider keeps it, and a coded answer is
    refused without reading its body."""
    bomb = gzip.compress(bytes(64 << 20))
    asked: list[str | None] = []

    def provider(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("Accept-Encoding"))
        return httpx.Response(200, content=iter([bomb]),  # a stream, read as the provider sends it
                              headers={"Content-Type": "image/jpeg", "Content-Encoding": "gzip"})

    fetcher = MediaFetcher(settings, transport=httpx.MockTransport(provider))
    tracemalloc.start()
    try:
        with pytest.raises(FetchFailed) as refusal:
            fetcher.fetch(X_PHOTO, "image/jpeg", time.monotonic() + 5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        fetcher.close()
    assert (refusal.value.reason, refusal.value.transient, asked) == ("content_encoding", False, ["identity"])
    assert peak < 4 << 20, f"{peak} bytes held to refuse {len(bomb)} bytes of gzip"


def test_a_providers_cookie_is_not_sent_back_with_later_fetches(settings: Settings) -> None:
    """A cookie kept and sent back would link the files of different reports, an anonymous one's among them, to
    one fetcher at the provider."""
    sent_cookies: list[str | None] = []

    def provider(request: httpx.Request) -> httpx.Response:
        sent_cookies.append(request.headers.get("Cookie"))
        return httpx.Response(200, content=b"\xff\xd8\xff\xe0 a photo", headers={
            "Content-Type": "image/jpeg", "Set-Cookie": "guest_id=v1%3A1764; Domain=.twimg.com; Path=/; Secure"})

    fetcher = MediaFetcher(settings, transport=httpx.MockTransport(provider))
    try:
        for _ in range(2):
            fetcher.fetch(X_PHOTO, "image/jpeg", time.monotonic() + 5)
    finally:
        fetcher.close()
    assert sent_cookies == [None, None]


class ToLoopback(httpx.HTTPTransport):
    """httpx's own transport (real sockets), every request sent to a server on 127.0.0.1 instead of the provider."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self._port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return super().handle_request(request)


def headers_dripping(connection: socket.socket) -> None:
    """A status line, then a header one byte at a time, each well within a read's timeout."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
    for _ in range(60):
        connection.sendall(b"X")
        time.sleep(0.05)
    connection.sendall(b": 1\r\nContent-Length: 1\r\n\r\nx")


def continuing_without_end(connection: socket.socket) -> None:
    """`100 Continue` after `100 Continue`: each a whole answer, none the one the request waits for."""
    for _ in range(60):
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.05)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1\r\n\r\nx")


@pytest.mark.parametrize("serve", [
    pytest.param(headers_dripping, id="headers dripping a byte at a time"),
    pytest.param(continuing_without_end, id="informational answers without end"),
])
def test_a_provider_that_drips_its_answer_is_cut_off_at_the_fetch_s_time(
        serve: Any, test_env: TestEnvironment) -> None:
    """Each socket read had the fetch's whole timeout, but only the body's chunks were held to its deadline: a
    provider sending its headers (or informational answers) a byte at a time kept a fetch for as long as it liked,
    its batch and its forward job with it, until the job's own timeout failed the whole batch. Here the server
    takes 3 s to answer a fetch that has 0.5 s."""
    settings = test_env.settings(**{**FETCHING, "LAPOR_ATTACHMENTS_TIMEOUT_SECONDS": "0.5"})
    listener = socket.create_server(("127.0.0.1", 0))
    served = threading.Event()

    def provider() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            with contextlib.suppress(OSError):  # the fetcher hung up on it
                serve(connection)
        served.set()

    threading.Thread(target=provider, daemon=True).start()
    fetcher = MediaFetcher(settings, transport=ToLoopback(listener.getsockname()[1]))
    started = time.monotonic()
    try:
        with pytest.raises(FetchFailed) as refusal:
            fetcher.fetch(X_PHOTO, "image/jpeg", started + settings.attachments.timeout_seconds)
        elapsed = time.monotonic() - started
    finally:
        fetcher.close()
        served.wait(10)
        listener.close()
    assert (refusal.value.reason, refusal.value.transient) == ("timeout", True)
    assert elapsed < 1.5, f"a fetch of 0.5 s took {elapsed:.1f} s"


# -- a file that may come later holds its report back, for a while --------------------------------------------------
WAITING = {**FETCHING, "LAPOR_ATTACHMENTS_RETRY_SECONDS": "60"}


async def one_forward_job(gateway: GatewayServer, redis: Redis, settings: Settings, tracking_ids: list[str]) -> Job:
    """The reports in one forward job, the first the one with a file (the gateway may have queued them apart)."""
    forward = queue(FORWARD_QUEUE, redis)
    await async_wait_until(lambda: sorted(tid for job in forward.get_jobs() for tid in job.args[0])
                           == sorted(tracking_ids))
    forward.empty()
    [job] = enqueue_forward(redis, settings, tracking_ids)
    return job


@dataclass(frozen=True)
class Waiting:
    answers: list[Any]  # the provider's answers to the file's URL, one per request
    job_age: float  # seconds since the forward job was queued, when first worked
    requests: int  # how many times the file is asked for
    fetched: bool  # whether the case store gets the file, or its URL flagged not_fetched
    retried: list[str]  # the forward.retry reasons logged
    tried_before: float | None = None  # seconds since an earlier try of the job (None: this is its first)


WAITING_CASES = [
    pytest.param(Waiting([httpx.Response(503), photo()], 0, 2, True, ["attachment_http_503"]),
                 id="a 503, then the photo: the report waits for it"),
    pytest.param(Waiting([httpx.ConnectTimeout("timed out"), httpx.Response(429), photo()], 0, 3, True,
                         ["attachment_timeout", "attachment_http_429"]),
                 id="a timeout and a 429, then the photo"),
    pytest.param(Waiting([httpx.Response(503)] * 3, 0, 3, False, ["attachment_http_503"] * 2),
                 id="503 on every try: the last try sends it without, never a dead letter"),
    pytest.param(Waiting([httpx.Response(404), photo()], 0, 1, False, []),
                 id="a 404 is for good: sent without at once"),
    pytest.param(Waiting([httpx.Response(503), photo()], 61, 1, False, [], tried_before=61),
                 id="a job first tried longer ago than retry_seconds: sent without at once"),
    pytest.param(Waiting([httpx.Response(503), photo()], 600, 2, True, ["attachment_http_503"]),
                 id="a job that waited in a backlog longer than retry_seconds still waits for the file"),
]


@pytest.mark.parametrize("case", WAITING_CASES)
async def test_a_file_that_may_come_later_holds_its_report_and_not_the_others_of_its_batch(
        case: Waiting, gateway: GatewayServer, casestore: CaseStoreServer, test_env: TestEnvironment, redis: Redis,
        log_stream: io.StringIO) -> None:
    settings = test_env.settings(**WAITING)
    seen_with_the_file: list[bool] = []  # at each request for the file: was its batch-mate already stored?
    with providers() as router:
        answers = iter(case.answers)

        def provider(_: httpx.Request) -> httpx.Response:
            seen_with_the_file.append(casestore.get(other) is not None)
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            return answer

        router.get(url=X_PHOTO).mock(side_effect=provider)
        tracking_id = await send_mms(gateway, (X_PHOTO, "image/jpeg"))
        response = await gateway.post_twilio(gateway.twilio_form(Body="Lampu jalan mati di Jl. Merdeka",
                                                                 MessageSid="SM" + "7" * 32))
        other = tracking_id_in(twiml_message(response.text))
        job = await one_forward_job(gateway, redis, settings, [tracking_id, other])
        job.created_at = job.created_at - timedelta(seconds=case.job_age)
        if case.tried_before is not None:
            job.meta[FIRST_TRY_META] = time.time() - case.tried_before
        job.save()
        drain(settings, (FORWARD_QUEUE,))
    report, mate = casestore.get(tracking_id), casestore.get(other)
    assert report is not None and mate is not None
    assert seen_with_the_file == [False] + [True] * (case.requests - 1), "only the report with the file waits"
    [attachment] = report["attachments"]
    if case.fetched:
        assert attachment["sha256"] == hashlib.sha256(PHOTO).hexdigest() and attachment["flags"] == []
    else:
        assert attachment["location"] == X_PHOTO and attachment["flags"] == ["not_fetched"]
    events = log_events(log_stream)
    assert [e["reason"] for e in events if e["event"] == "forward.retry"] == case.retried
    failures = [(e["tracking_id"], e["retry"]) for e in events if e["event"] == "attachment.fetch_failed"]
    last_sent_without = [] if case.fetched else [(tracking_id, False)]
    assert failures == [(tracking_id, True)] * len(case.retried) + last_sent_without
    assert DeadLetters(redis).list() == []


# -- what the metrics say: a held try is no loss, a file the case store took without is ----------------------------
FETCHES, FORWARDED_WITHOUT = "lapor_attachment_fetches_total", "lapor_attachment_forwarded_not_fetched_total"


def counted(name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """This process's samples of a counter, by the values of `labels`."""
    return {tuple(sample.labels[label] for label in labels): sample.value
            for family in REGISTRY.collect() for sample in family.samples if sample.name == name}


def increase(before: dict[tuple[str, ...], float], after: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], int]:
    return {key: int(value - before.get(key, 0)) for key, value in after.items() if value != before.get(key, 0)}


def in_turn(answers: list[Any]) -> Any:
    """A provider giving these answers to the file's URL, one per request."""
    remaining = iter(answers)

    def provider(_: httpx.Request) -> httpx.Response:
        given = next(remaining)
        if isinstance(given, Exception):
            raise given
        return given

    return provider


@dataclass(frozen=True)
class Counted:
    answers: list[Any]  # the provider's answers to the file's URL, one per request
    retry_seconds: int  # attachments.retry_seconds: 0, never held
    fetches: dict[tuple[str, str], int]  # (outcome, reason) of each try
    forwarded_without: dict[str, int]  # by reason, the files the case store took without (channel sms-twilio)
    casestore_down_first: bool = False  # every try of the first forward fails: a dead letter, requeued


COUNTED_CASES = [
    pytest.param(Counted([httpx.Response(503), photo()], 60, {("held", "http_5xx"): 1, ("fetched", ""): 1}, {}),
                 id="a 503 held its report, then the photo came: no file lost"),
    pytest.param(Counted([httpx.Response(503)] * 3, 60, {("held", "http_5xx"): 2, ("not_fetched", "http_5xx"): 1},
                         {"http_5xx": 1}), id="503 on every try: two held, then sent without"),
    pytest.param(Counted([httpx.Response(404)], 60, {("not_fetched", "http_404"): 1}, {"http_404": 1}),
                 id="a 404 is sent without at once"),
    pytest.param(Counted([httpx.Response(404)] * 4, 60, {("not_fetched", "http_404"): 4}, {"http_404": 1},
                         casestore_down_first=True),
                 id="every try counted, the file the case store took without counted once"),
    pytest.param(Counted([httpx.Response(418)], 0, {("not_fetched", "http_4xx"): 1}, {"http_4xx": 1}),
                 id="an odd status counts by its class"),
    pytest.param(Counted([ValueError("unexpected")], 0, {("not_fetched", "error"): 1}, {"error": 1}),
                 id="an exception the fetch did not expect counts as error, not by its type"),
]


@pytest.mark.parametrize("case", COUNTED_CASES)
async def test_the_metrics_tell_a_held_try_from_a_file_the_case_store_took_without(
        case: Counted, gateway: GatewayServer, casestore: CaseStoreServer, test_env: TestEnvironment,
        redis: Redis) -> None:
    """`lapor_attachment_fetches_total` counted a held try under its failure's reason, as a file given up on was, and
    nothing counted the reports that reached the case store without their file."""
    settings = test_env.settings(**{**FETCHING, "LAPOR_ATTACHMENTS_RETRY_SECONDS": str(case.retry_seconds)})
    fetches, without = counted(FETCHES, "outcome", "reason"), counted(FORWARDED_WITHOUT, "channel", "reason")
    with providers() as router:
        router.get(url=X_PHOTO).mock(side_effect=in_turn(case.answers))
        if case.casestore_down_first:
            casestore.stop()
        tracking_id = await send_mms(gateway, (X_PHOTO, "image/jpeg"))
        drain(settings, (FORWARD_QUEUE,))
        if case.casestore_down_first:
            letters = DeadLetters(redis).list()
            casestore.start()
            assert DeadLetters(redis).requeue(letters, settings).requeued == 1
            drain(settings, (FORWARD_QUEUE,))
    assert casestore.get(tracking_id) is not None
    assert increase(fetches, counted(FETCHES, "outcome", "reason")) == case.fetches
    assert increase(without, counted(FORWARDED_WITHOUT, "channel", "reason")) == {
        ("sms-twilio", reason): count for reason, count in case.forwarded_without.items()}


def test_a_file_its_channel_listed_unreadable_is_counted_lost_once_the_case_store_takes_its_report(
        casestore: CaseStoreServer, settings: Settings, redis: Redis) -> None:
    """An X photo whose entry on the page could not be read is listed without an address, flagged `not_fetched`: its
    report reached the case store without it, as without a file a fetch gave up on, but no "files lost" count said
    so (those counted the forward worker's failed fetches alone). Counted once the case store takes the report,
    beside the photo fetched with it, under its own reason."""
    lost = Attachment(content_type="application/octet-stream", location="", flags=["not_fetched"])
    fetched = Attachment(content_type="image/jpeg", location=X_PHOTO)
    draft = ReportDraft(received_at=datetime(2026, 12, 5, tzinfo=UTC), channel=Channel.TWITTER, source="x",
                        channel_message_id="1860000000000000101", sender=Sender(kind=SenderKind.X_USER, id="siti"),
                        text="Jalan berlubang", attachments=[lost, fetched])
    without = counted(FORWARDED_WITHOUT, "channel", "reason")
    intake = Intake(redis, settings)
    try:
        with providers() as router:
            router.get(url=X_PHOTO).mock(return_value=httpx.Response(200, content=PHOTO,
                                                                     headers={"Content-Type": "image/jpeg"}))
            [receipt] = intake.commit([draft])
            drain(settings, (FORWARD_QUEUE,))
    finally:
        intake.close()
    stored = casestore.get(receipt.tracking_id)
    assert stored is not None
    assert [a.get("flags") for a in stored["attachments"]] == [["not_fetched"], []]
    assert increase(without, counted(FORWARDED_WITHOUT, "channel", "reason")) == {("x", "media_unreadable"): 1}


async def test_the_status_views_show_the_files_each_channels_reports_reached_the_case_store_without(
        gateway: GatewayServer, casestore: CaseStoreServer, test_env: TestEnvironment, settings: Settings) -> None:
    """A provider's file lost on the way (a 404: the report goes without it) was counted on /metrics alone: /v1/status,
    the page and `lapor-gateway status` now show it with the channel's other counters."""

    async def twilio_counters() -> dict[str, Any]:
        document = (await gateway.client.get("/v1/status")).json()  # the gateway's check: its snapshot, for the CLI
        return next(c["counters"] for c in document["channels"] if c["channel"] == "sms-twilio")

    before = await twilio_counters()
    with providers() as router:
        router.get(url=X_PHOTO).mock(return_value=httpx.Response(404))
        tracking_id = await send_mms(gateway, (X_PHOTO, "image/jpeg"))
        drain(settings, (FORWARD_QUEUE,))
    assert casestore.get(tracking_id) is not None
    after = await twilio_counters()

    assert after["attachments_not_fetched"] == before["attachments_not_fetched"] + 1
    lost_404 = after["attachments_not_fetched_by_reason"]["http_404"]
    assert lost_404 == before["attachments_not_fetched_by_reason"].get("http_404", 0) + 1
    page = (await gateway.client.get("/status")).text
    twilio = page[page.index('id="channel-sms-twilio"'):]
    twilio = twilio[:twilio.index("</section>")]
    assert f"files lost: <b>{after['attachments_not_fetched']}</b>" in twilio
    assert "files lost by reason: " in twilio and f"http_404 {lost_404}" in twilio
    shown = await asyncio.to_thread(run_cli, ["status"], test_env.process_env(COLUMNS="400"))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert first_table(shown.stdout)["sms-twilio"]["files lost"] == str(after["attachments_not_fetched"])
