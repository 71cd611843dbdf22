"""A provider whose replies go out later is one entry in `channels.reply_senders`: the reply worker sends through its
client at its own rate, and the gateway holds its replies back by its own settings section.

The stand-in is shaped as WhatsApp's Cloud API (one JSON POST per message, the whole text, no SMS parts; answered
with the message's `wamid`), on a loopback URL answered by respx, with a settings section of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import respx
from redis import Redis

import workers.reply
from channels.reply_senders import REPLY_SENDERS, ReplySenderEntry
from channels.send_http import send_request
from gateway.outbound import OutboundReplies, Queued, reply_key
from gateway.queues import REPLY_QUEUE
from gateway.replies import render
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.inbound import InboundMessage
from normalizer.pipeline import normalize
from tests.aggregator_support import aggregator_settings, drain
from tests.conftest import TestEnvironment
from workers.deadletters import DeadLetters

STANDIN = "whatsapp-standin"
# On loopback, answered by respx: were respx ever bypassed, nothing listens there.
STANDIN_URL = "http://127.0.0.1:9/v19.0/106540352242922/messages"
NUMBER = "+6281234567802"
WAMID = "wamid.HBgNNjI4MTIzNDU2NzgwMhUCABEYEjQ0QjY3RkE2QUZCRjgxMTk1AA=="


@dataclass(frozen=True)
class StandInSection:
    """The stand-in's own settings section, with the limits `channels.reply_senders` reads; none is the aggregator's
    (`AGGREGATOR_TEST_SETTINGS`: 3 messages a minute, 200 parts a second)."""

    send_url: str = STANDIN_URL
    send_rate_per_second: float = 0.5
    flood_replies_per_minute: int = 1
    flood_replies_per_hour: int = 30
    status_inline_timeout_seconds: float = 0.3


@dataclass(frozen=True)
class WholeMessage:
    number: int
    text: str


class StandInSender:
    """WhatsApp Cloud API's `POST /{phone-number-id}/messages`: the reply whole, as one text message."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.standin.send_url  # the section the fixture gives these settings
        self._client = httpx.Client(timeout=5)

    def parts(self, text: str, reply_id: str) -> Sequence[WholeMessage]:
        return [WholeMessage(1, text)]

    def send_part(self, to: str, part: WholeMessage, reply_id: str) -> str:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"),
                "type": "text", "text": {"preview_url": False, "body": part.text}}
        response = send_request("standin", lambda: self._client.post(self._url, json=body),
                                setting="standin.send_url")
        return str(response.json()["messages"][0]["id"])

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def settings_with_standin(test_env: TestEnvironment, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """The stand-in registered in the table of reply senders; settings (with `LAPOR_*` overrides) that hold its
    section."""
    monkeypatch.setitem(REPLY_SENDERS, STANDIN, ReplySenderEntry("standin", StandInSender))

    def settings(**overrides: str) -> Settings:
        return aggregator_settings(test_env, **overrides).model_copy(update={"standin": StandInSection()})

    return settings


@pytest.fixture
def standin(settings_with_standin: Callable[..., Settings]) -> Settings:
    return settings_with_standin()


@pytest.fixture
def cloud_api() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router.post(STANDIN_URL).mock(return_value=httpx.Response(
            200, json={"messaging_product": "whatsapp", "contacts": [{"input": NUMBER[1:], "wa_id": NUMBER[1:]}],
                       "messages": [{"id": WAMID}]}))


@dataclass
class Rates:
    """The RateLimiters the reply worker builds: (name, parts per second)."""

    built: list[tuple[str, float]]


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> Rates:
    rates = Rates([])

    class Recorded(workers.reply.RateLimiter):
        def __init__(self, redis: Redis, name: str, per_second: float, **kwargs: Any) -> None:
            rates.built.append((name, per_second))
            super().__init__(redis, name, per_second, **kwargs)

    monkeypatch.setattr(workers.reply, "RateLimiter", Recorded)
    return rates


@pytest.mark.parametrize(
    ("source", "state", "sent", "reason"),
    [
        pytest.param(STANDIN, b"sent", 1, None, id="registered-sent-through-its-client"),
        pytest.param("sms-unregistered", b"dead_lettered", 0, "no_sender", id="unregistered-dead-lettered"),
    ],
)
def test_a_reply_goes_out_through_the_sender_its_source_is_registered_with(
    redis: Redis, standin: Settings, cloud_api: respx.Route, rates: Rates, source: str, state: bytes, sent: int,
    reason: str | None,
) -> None:
    text = render("help", "id")
    queued = OutboundReplies(redis, standin).queue_reply(source=source, kind="help", text=text, language="id",
                                                         tracking_id=None, to=NUMBER)
    drain(standin, (REPLY_QUEUE,))
    record = redis.hgetall(reply_key(str(queued.reply_id)))
    assert record[b"state"] == state
    assert cloud_api.call_count == sent
    letters = DeadLetters(redis).list()
    if reason is None:
        body = orjson.loads(cloud_api.calls.last.request.content)
        assert (body["to"], body["text"]["body"]) == (NUMBER[1:], text)
        assert record[b"part.1.answer"] == WAMID.encode()
        assert rates.built == [(STANDIN, 0.5)]  # its own section's send rate, not the aggregator's
        assert letters == []
    else:
        [letter] = letters
        assert (letter.reason, letter.channel, letter.attempts) == (reason, source, 1)
        assert f"no reply sender for source {source!r} in channels/reply_senders.py" in letter.detail
        assert record[b"last_error"] == reason.encode() and rates.built == []


@pytest.mark.parametrize(
    ("answer", "state", "reason", "attempts"),
    [
        pytest.param(httpx.ConnectTimeout("timed out"), b"dead_lettered", "standin_timeout", 4, id="timeout-retried"),
        pytest.param(httpx.ConnectError("refused"), b"dead_lettered", "standin_unreachable", 4,
                     id="unreachable-retried"),
        pytest.param(httpx.Response(408), b"dead_lettered", "standin_408", 4, id="408-retried"),
        pytest.param(httpx.Response(429), b"dead_lettered", "standin_429", 4, id="429-retried"),
        pytest.param(httpx.Response(503), b"dead_lettered", "standin_503", 4, id="503-retried"),
        pytest.param(httpx.Response(400, text="bad number"), b"dead_lettered", "standin_400", 1,
                     id="400-refused-at-once"),
        pytest.param(httpx.Response(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}), b"dead_lettered",
                     "standin_302", 1, id="redirect-not-followed"),
    ],
)
def test_a_senders_failures_are_classified_once_for_the_reply_worker(
    redis: Redis, standin: Settings, cloud_api: respx.Route, answer: httpx.Response | Exception, state: bytes,
    reason: str, attempts: int,
) -> None:
    """A sender that makes its request through `channels.send_http.send_request` fails as the reply worker acts on:
    a timeout, no connection, 408, 429 and 5xx retried (three retries here), another answer dead-lettered at once.
    The stand-in's own copy of the rule took a 408 as a refusal, and let a timeout out as an httpx exception, a job
    failing for an unknown reason instead of a provider down."""
    cloud_api.mock(side_effect=[answer] * 4 if isinstance(answer, Exception) else None,
                   return_value=None if isinstance(answer, Exception) else answer)
    standin = standin.model_copy(update={"standin": StandInSection(send_rate_per_second=1000)})  # no rate waits
    queued = OutboundReplies(redis, standin).queue_reply(source=STANDIN, kind="help", text=render("help", "id"),
                                                         language="id", tracking_id=None, to=NUMBER)
    drain(standin, (REPLY_QUEUE,))
    record = redis.hgetall(reply_key(str(queued.reply_id)))
    assert (record[b"state"], record[b"last_error"]) == (state, reason.encode())
    [letter] = DeadLetters(redis).list()
    assert (letter.reason, letter.attempts, cloud_api.call_count) == (reason, attempts, attempts)


@pytest.mark.parametrize(
    ("source", "replies_allowed"),
    [
        pytest.param(STANDIN, [True, False], id="the-stand-in-by-its-own-section"),
        pytest.param("sms-aggregator", [True, True, True, False], id="the-aggregator-by-its-own"),
    ],
)
def test_flood_control_is_read_from_the_providers_own_section(
    redis: Redis, standin: Settings, source: str, replies_allowed: list[bool]
) -> None:
    outbound = OutboundReplies(redis, standin)
    assert [outbound.count_message(source, NUMBER, f"m-{n}") for n in range(len(replies_allowed))] == replies_allowed


@pytest.mark.parametrize(
    ("source", "deadlines"),
    [
        pytest.param(STANDIN, {"LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS": "30"}, id="the-stand-in-by-its-own"),
        pytest.param("sms-aggregator", {"LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS": "0.3"},
                     id="the-aggregator-by-its-own"),
    ],
)
async def test_a_status_query_waits_for_the_case_store_as_long_as_the_providers_own_section_says(
    redis: Redis, settings_with_standin: Callable[..., Settings], source: str, deadlines: dict[str, str]
) -> None:
    """The case store never answers: the query is promised an answer later, after the provider's own deadline (the
    stand-in's 0.3 s, the aggregator's when it is the aggregator's), not another provider's 30 s."""
    settings = settings_with_standin(**deadlines)

    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200)

    message = InboundMessage(channel=Channel.SMS, source=source, provider_message_id="q-1",
                             sender_kind=SenderKind.MSISDN, sender_address=NUMBER, text="CEK 10000004",
                             received_at=utc_now())
    query = normalize(message).query
    assert query is not None
    async with httpx.AsyncClient(transport=httpx.MockTransport(never_answers),
                                 base_url=settings.casestore_url) as client:
        text, queued = await asyncio.wait_for(OutboundReplies(redis, settings).answer_query(source, query, client), 5)
    assert (text, queued) == (None, Queued("status_job"))
