"""Where the gateway itself keeps an anonymous reporter's number, once their report has gone all the way through.

tests/test_anonymity.py proves the case store never gets it. This is the other half: a real anonymous SMS goes in
through each SMS channel (the Twilio webhook, the aggregator's callback, over real HTTP to the gateway of this
process), with the reporter's own `CEK <id>` and addition after it, the forward, reply and status queues are worked
to the end (the replies sent, or refused until they are dead letters), and then the number is searched for in every
form (E.164, `62...`, `08...`, spaced, dashed, the bare subscriber digits, and an unkeyed hash of any of them, which
hashing every number there is undoes) in every Redis key name and every value of every type, every file under the
data dir, every log line this process wrote, `/metrics`, `/v1/status` and the status page.

The gateway must keep the number to answer the citizen (README, **Anonymous reports**: "The gateway alone maps the
handle back (its envelope copy and handle table in Redis)"): it may stand in one place only, the sender of the
report's (and its addition's) envelope copy (`lapor:envelope:<tracking_id>`), never in a key's name, with a TTL no
longer than `intake.envelope_ttl_seconds`; the handle table (`lapor:handle:<handle>`) maps the case store's handle to
the Tracking ID alone. Anywhere else it is a leak.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis import Redis

from gateway.queues import ALL_QUEUES, REPLY_QUEUE, envelope_key
from gateway.settings import Settings
from tests.aggregator_support import AGGREGATOR_TEST_SETTINGS, AggregatorApi, aggregator_api, drain, post_callback
from tests.conftest import (
    CaseStoreServer,
    GatewayServer,
    TestEnvironment,
    async_wait_until,
    serving_gateway,
    twilio_sid,
)
from tests.test_forwarding import cli
from tests.test_twilio_intake import twiml_message
from workers.deadletters import DeadLetters
from workers.report_payload import HANDLE_KEY, reply_handle

NUMBER = "+6281355501234"
TEXT = "ANONIM Kepala sekolah memotong dana BOS setiap bulan, guru honorer diminta setor"


@dataclass(frozen=True)
class Forms:
    """The number in every form it could be kept in."""

    needles: tuple[str, ...]
    digits: str

    def found_in(self, value: str) -> list[str]:
        hits = [needle for needle in self.needles if needle.lower() in value.lower()]
        if self.digits in re.sub(r"\D", "", value):
            hits.append(self.digits)
        return hits


def number_forms(e164: str) -> Forms:
    international = e164.lstrip("+")
    national = "0" + international.removeprefix("62")
    subscriber = national[1:]
    spaced = f"{national[:4]} {national[4:8]} {national[8:]}"
    written = (e164, international, national, subscriber, spaced, spaced.replace(" ", "-"),
               f"+62 {subscriber[:3]} {subscriber[3:7]} {subscriber[7:]}")
    # An unkeyed hash of a number is the number: every Indonesian number hashes in minutes.
    hashes = tuple(getattr(hashlib, name)(form.encode()).hexdigest()[:16]
                   for form in written for name in ("sha256", "sha1", "md5"))
    return Forms((*written, *hashes), digits=subscriber)


def redis_values(redis: Redis) -> Iterator[tuple[str, str, str]]:
    """(key, what part of it, text) for every key of the test's database: its name, and each value of its type."""
    for raw_key in redis.scan_iter(count=1000):
        key = raw_key.decode(errors="replace")
        yield key, "name", key
        kind = redis.type(raw_key).decode()
        if kind == "string":
            values: list[tuple[str, bytes]] = [("value", redis.get(raw_key) or b"")]
        elif kind == "hash":
            values = [item for field, value in redis.hgetall(raw_key).items()
                      for item in ((f"field {field!r}", field), (f"hash {field!r}", value))]
        elif kind == "list":
            values = [(f"list[{index}]", value) for index, value in enumerate(redis.lrange(raw_key, 0, -1))]
        elif kind == "set":
            values = [("member", value) for value in redis.smembers(raw_key)]
        elif kind == "zset":
            values = [("member", value) for value, _ in redis.zrange(raw_key, 0, -1, withscores=True)]
        elif kind == "stream":
            values = [item for entry_id, fields in redis.xrange(raw_key)
                      for field, value in fields.items()
                      for item in ((f"entry {entry_id!r}", field), (f"entry {entry_id!r} {field!r}", value))]
        elif kind == "none":  # gone between the scan and its type (the forward linger's held list, drained): no value
            values = []
        else:
            raise AssertionError(f"a key of a type this audit does not read: {key} ({kind})")
        for where, value in values:
            yield key, where, readable(value)


def readable(value: bytes) -> str:
    """A value as text, and as the text it holds compressed: RQ keeps a job's call (`data`) zlib-compressed."""
    text = value.decode(errors="replace")
    try:
        return text + "\n" + zlib.decompress(value).decode(errors="replace")
    except zlib.error:
        return text


def data_files(data_dir: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield path, path.name + "\n" + path.read_bytes().decode(errors="replace")


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    """Triage on: it keeps senders too (campaigns, duplicates), as keyed digests."""
    return test_env.settings(**AGGREGATOR_TEST_SETTINGS, LAPOR_TRIAGE_ENABLED="true")


@pytest.fixture
def api() -> Iterator[AggregatorApi]:
    """The aggregator's sendsms URL, answering as some do: the number it sent to quoted in every form (the reply's
    record keeps the answer as long as the envelope)."""
    for api in aggregator_api():
        national = "0" + NUMBER.removeprefix("+62")
        api.route.mock(return_value=httpx.Response(
            202, text=f"0: Accepted for delivery to {national} ({NUMBER}, {NUMBER.lstrip('+')}, "
                      f"{national[:4]}-{national[4:8]}-{national[8:]}, {national[1:]})"))
        yield api


async def via_twilio(gateway: GatewayServer, text: str, label: str, number: str = NUMBER) -> str:
    """The TwiML answer's text: Twilio carries the reply in its callback's answer."""
    sid = twilio_sid(label)
    form = gateway.twilio_form(From=number, Body=text, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
    response = await gateway.post_twilio(form)
    assert response.status_code == 200, response.text
    return twiml_message(response.text)


async def via_aggregator(gateway: GatewayServer, text: str, label: str, number: str = NUMBER) -> str:
    """Nothing: the aggregator's callback is answered with a bare 200, the reply goes out through the reply worker."""
    fields = {"id": f"trace-{label}", "from": number.lstrip("+"), "to": "1708", "coding": "0", "text": text,
              "smsc": "telkomsel", "ts": "1763800000"}
    response = await post_callback(gateway.client, fields)
    assert response.status_code == 200, response.text
    return ""


async def via_aggregator_in_parts(gateway: GatewayServer, text: str, label: str, sender: str = NUMBER) -> str:
    """A message in three parts (concatenation UDH), which the gateway holds until the last one came."""
    third = -(-len(text) // 3)
    for number, start in enumerate(range(0, len(text), third), 1):
        fields = {"id": f"trace-{label}-{number}", "from": sender.lstrip("+"), "to": "1708", "coding": "0",
                  "text": text[start:start + third], "smsc": "telkomsel", "ts": "1763800000",
                  "udh": f"050003B703{number:02X}"}
        response = await post_callback(gateway.client, fields)
        assert response.status_code == 200, response.text
    return ""


async def via_aggregator_part_lost(gateway: GatewayServer, text: str, label: str, sender: str = NUMBER) -> str:
    """A report in three parts whose second never comes: the sweep takes it incomplete (and anonymous) once
    `aggregator.concat_wait_seconds` passed. A query is sent whole."""
    if label != "report":
        return await via_aggregator(gateway, text, label, sender)
    third = -(-len(text) // 3)
    for number in (1, 3):
        start = (number - 1) * third
        fields = {"id": f"trace-{label}-{number}", "from": sender.lstrip("+"), "to": "1708", "coding": "0",
                  "text": text[start:start + third], "smsc": "telkomsel", "ts": "1763800000",
                  "udh": f"050003B803{number:02X}"}
        response = await post_callback(gateway.client, fields)
        assert response.status_code == 200, response.text
    redis = Redis.from_url(gateway.settings.redis_url)
    try:
        await async_wait_until(lambda: any(redis.scan_iter(match=envelope_key("*"))))
    finally:
        redis.close()
    return ""


@pytest.mark.parametrize(("casestore_away", "aggregator_down"), [(False, False), (True, False), (True, True)],
                         ids=["status-at-once", "status-later", "replies-dead-lettered"])
@pytest.mark.parametrize("send", [via_twilio, via_aggregator, via_aggregator_in_parts, via_aggregator_part_lost],
                         ids=["sms-twilio", "sms-aggregator", "sms-aggregator-parts", "sms-aggregator-part-lost"])
async def test_the_gateway_keeps_an_anonymous_reporters_number_only_in_its_envelope_copy(
        send: Any, casestore_away: bool, aggregator_down: bool, gateway: GatewayServer, casestore: CaseStoreServer,
        settings: Settings, redis: Redis, api: AggregatorApi, tmp_path: Path, log_stream: io.StringIO,
        test_env: TestEnvironment) -> None:
    """The report, its acknowledgement, the whistleblower's `CEK <id>` answered at once or, the case store away when
    asked, by a status job once it is back ("the answer follows", then the status), and their addition to it: every
    queue worked to the end, the number is in the envelope copies alone. Also when the aggregator refuses every SMS
    and each reply ends as a dead letter and a failed job, kept 30 days."""
    if aggregator_down and send is via_twilio:
        pytest.skip("Twilio carries its replies in the webhook's answer: no reply job to fail")
    if aggregator_down:
        api.route.mock(return_value=httpx.Response(503, text="0: Service unavailable"))
    forms = number_forms(NUMBER)
    acknowledgement = await send(gateway, TEXT, "report")
    drain(settings, ALL_QUEUES)
    (report,) = casestore.reports()
    tracking_id = str(report["tracking_id"])
    assert report["anonymous"] is True and report["sender"]["kind"] == "reply_handle"
    if send is not via_aggregator_part_lost:
        assert report["text"] == TEXT.removeprefix("ANONIM ")  # in parts too: the whole message, joined
    # The whistleblower asks after their report, as the acknowledgement tells them to.
    if casestore_away:
        casestore.stop()
    answer = await send(gateway, f"CEK {tracking_id}", "status")
    if casestore_away:
        casestore.start()
    drain(settings, ALL_QUEUES)
    # And adds to it, as the acknowledgement of an addition tells them they may.
    addition = await send(gateway, f"{tracking_id} Bendahara sekolah juga ikut menerima setoran", "addition")
    drain(settings, ALL_QUEUES)
    if aggregator_down:
        dead = DeadLetters(redis).list()
        assert api.parts() == [] and len(dead) == 4 and {letter.queue for letter in dead} == {REPLY_QUEUE}
    elif acknowledgement:
        assert tracking_id in acknowledgement and tracking_id in answer and tracking_id in addition
    else:  # the aggregator's replies went out through the reply worker, to the number
        assert [tracking_id in text for text in api.texts_to(NUMBER)] == [True] * (4 if casestore_away else 3)
    (follow_up,) = casestore.get(tracking_id)["follow_ups"]  # type: ignore[index]
    assert follow_up["anonymous"] is True and follow_up["sender"]["kind"] == "reply_handle"

    # Redis: the envelope copies (the report's, the addition's) hold the number, as their replies' recipient, for
    # no longer than the envelope's TTL; the handle table maps each handle to its Tracking ID alone.
    kept = {envelope_key(tracking_id), envelope_key(str(follow_up["tracking_id"]))}
    assert {key.decode() for key in redis.scan_iter(match=envelope_key("*"))} == kept
    for key in kept:
        envelope = orjson.loads(redis.get(key) or b"{}")
        assert (envelope["sender"]["id"], envelope["anonymous"]) == (NUMBER, True)
        assert 0 < redis.ttl(key) <= settings.intake.envelope_ttl_seconds
    for forwarded in (report, follow_up):
        handle = reply_handle(settings.privacy.reply_handle_secret, str(forwarded["tracking_id"]))
        assert forwarded["sender"]["id"] == handle
        assert redis.get(HANDLE_KEY.format(handle=handle)) == str(forwarded["tracking_id"]).encode()
        assert 0 < redis.ttl(HANDLE_KEY.format(handle=handle)) <= settings.intake.envelope_ttl_seconds
    found = [(key, where, forms.found_in(text)) for key, where, text in redis_values(redis) if forms.found_in(text)]
    assert {key for key, _, _ in found} >= kept, "the search does see the envelope copies"
    leaks = [(key, where, hits) for key, where, hits in found if key not in kept or where != "value"]
    assert leaks == [], f"Redis keeps the anonymous reporter's number beyond the envelope copies: {leaks}"

    # Files: nothing the gateway wrote under its data dir names the number (spool, outbox, attachments, unfiled...).
    files = {str(path.relative_to(tmp_path)): hits for path, text in data_files(Path(settings.data_dir))
             if (hits := forms.found_in(text))}
    assert files == {}, f"a file under the data dir names the anonymous reporter: {files}"

    # Log lines of the gateway and the workers this process ran.
    assert tracking_id in log_stream.getvalue()
    logged = [line for line in log_stream.getvalue().splitlines() if forms.found_in(line)]
    assert logged == [], f"a log line named the anonymous reporter: {logged}"

    # What the gateway shows operators and scrapers, and what its operator's commands print.
    if aggregator_down:
        for command in (("deadletters", "list"), ("deadletters", "show", tracking_id), ("status",)):
            shown = cli(test_env, *command)
            assert tracking_id in shown.stdout or command == ("status",), (command, shown.stdout, shown.stderr)
            assert forms.found_in(shown.stdout + shown.stderr) == [], f"`lapor-gateway {' '.join(command)}` names them"
    for path in ("/metrics", "/v1/status", "/status"):
        response = await gateway.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert forms.found_in(response.text) == [], f"{path} names the anonymous reporter"


@pytest.mark.parametrize("send", [via_twilio, via_aggregator, via_aggregator_in_parts, via_aggregator_part_lost],
                         ids=["sms-twilio", "sms-aggregator", "sms-aggregator-parts", "sms-aggregator-part-lost"])
async def test_every_key_name_drawn_from_the_number_is_keyed(
        send: Any, test_env: TestEnvironment, casestore: CaseStoreServer, redis: Redis, api: AggregatorApi) -> None:
    """A key's name drawn from the number by an unkeyed hash gives the number back to whoever reads the key names
    (`SCAN`, a dump, the append-only file): hashing a suspect's number, or every number there is, finds it, and the
    key's value (a Tracking ID) names the anonymous report (`gateway.queues.sender_digest`). So the same report and
    its addition go in three times over an emptied Redis: from the number, from another, and from the number under
    another `privacy.reply_handle_secret`. A name that changes with the number must change with the secret too."""

    async def key_names(number: str, secret: str) -> set[str]:
        redis.flushdb()
        settings = test_env.settings(**AGGREGATOR_TEST_SETTINGS, LAPOR_PRIVACY_REPLY_HANDLE_SECRET=secret)
        async with serving_gateway(settings, redis) as gateway:
            await send(gateway, TEXT, "report", number)
            drain(settings, ALL_QUEUES)
            await send(gateway, "10000004 Bendahara sekolah juga ikut menerima setoran", "addition", number)
            drain(settings, ALL_QUEUES)
        return {key.decode() for key in redis.scan_iter(count=1000)}

    secret = test_env.values["LAPOR_PRIVACY_REPLY_HANDLE_SECRET"]
    own = await key_names(NUMBER, secret)
    assert envelope_key("10000004") in own
    from_number = own - await key_names("+6281355509876", secret)
    assert from_number, "some key names are drawn from the number (flood control, same text...)"
    unkeyed = from_number & await key_names(NUMBER, secret + "-another")
    assert unkeyed == set(), f"key names drawn from the number without the secret: {sorted(unkeyed)}"


@pytest.mark.parametrize(("ttl", "anonymous", "kept_longer"), [
    pytest.param(60, True, True, id="an-anonymous-copy-about-to-expire"),
    pytest.param(30 * 86400, True, False, id="an-anonymous-copy-with-time-left"),
    pytest.param(60, False, False, id="a-named-copy"),
])
def test_an_anonymous_reporters_cek_keeps_the_envelope_copy_until_its_answer_can_be_sent(
        redis: Redis, test_env: TestEnvironment, ttl: int, anonymous: bool, kept_longer: bool) -> None:
    """The answer to an anonymous reporter's own CEK is addressed to the report, and the reply worker reads the number
    back from the envelope copy: a copy expiring before the status job and the reply job had used their retries (the
    case store down, the aggregator too) left the answer unsendable, a dead letter and the citizen told nothing. Its
    life is stretched to that, and only for that reporter's own query."""
    from gateway.outbound import OutboundReplies

    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="1,2,5,600,3600")
    tracking_id, number = "10000004", "+6281234567890"
    envelope = {"tracking_id": tracking_id, "anonymous": anonymous, "sender": {"kind": "msisdn", "id": number}}
    redis.set(envelope_key(tracking_id), orjson.dumps(envelope), ex=ttl)
    recipient = OutboundReplies(redis, settings).status_recipient(number, tracking_id)
    assert recipient == ({"to": None, "to_report": tracking_id} if anonymous else {"to": number, "to_report": None})
    answerable = 2 * sum(settings.queues.retry_intervals)
    assert (redis.ttl(envelope_key(tracking_id)) >= answerable) is (kept_longer or ttl >= answerable)
    if not kept_longer:
        assert redis.ttl(envelope_key(tracking_id)) <= ttl
