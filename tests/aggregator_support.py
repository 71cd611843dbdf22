"""What the SMS aggregator tests share: signed callbacks, the aggregator's send URL under respx, queue draining."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import orjson
import respx
from redis import Redis

from gateway.queues import ALL_QUEUES
from gateway.settings import Settings
from tests.conftest import AGGREGATOR_SECRET, AGGREGATOR_SEND_URL, FIXTURES, GatewayServer, serving_gateway
from tests.conftest import TestEnvironment as Environment
from tests.job_support import burst
from workers.context import use_context
from workers.run import build_worker

AGGREGATOR_PATH = "/v1/channels/sms/aggregator"
DLR_PATH = "/v1/channels/sms/aggregator/dlr"
FIXTURE_DIR: Path = FIXTURES / "aggregator"

# Fast, small limits so the behaviours show within a test; retries without waiting (interval 0 needs no scheduler).
AGGREGATOR_TEST_SETTINGS = {
    "LAPOR_QUEUES_RETRY_INTERVALS": "0,0,0",
    "LAPOR_AGGREGATOR_FLOOD_REPLIES_PER_MINUTE": "3",
    "LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS": "1",
    "LAPOR_AGGREGATOR_CONCAT_SWEEP_SECONDS": "0.2",
    "LAPOR_AGGREGATOR_SEND_RATE_PER_SECOND": "200",
}


def aggregator_settings(test_env: Environment, **overrides: str) -> Settings:
    return test_env.settings(**{**AGGREGATOR_TEST_SETTINGS, **overrides})


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURE_DIR / name).read_text())


def sign(body: bytes, secret: str = AGGREGATOR_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_callback(client: httpx.AsyncClient, fields: Mapping[str, Any], *, as_json: bool = False,
                        signature: str | None = "auto", path: str = AGGREGATOR_PATH,
                        headers: Mapping[str, str] | None = None) -> httpx.Response:
    """POST a callback the way the aggregator does: form-encoded (or JSON), signed over the raw body."""
    if as_json:
        body, content_type = orjson.dumps(dict(fields)), "application/json"
    else:
        body, content_type = urlencode(dict(fields)).encode(), "application/x-www-form-urlencoded"
    headers = {"Content-Type": content_type, **(headers or {})}
    if signature == "auto":
        signature = sign(body)
    if signature is not None:
        headers["X-Lapor-Signature"] = signature
    return await client.post(path, content=body, headers=headers)


def drain(settings: Settings, queues: tuple[str, ...] = ALL_QUEUES) -> None:
    """Run every queued job (and what those jobs queue) in this process, so respx sees the worker's HTTP."""
    worker = build_worker(settings, queues)
    try:
        burst(worker)
    finally:
        use_context(None)


@dataclass(frozen=True)
class SentPart:
    to: str
    text: str
    udh: bytes | None
    reply_id: str
    part: int
    sender: str


def sent_part(request: httpx.Request) -> SentPart:
    query = request.url.query.decode("ascii")
    params = dict(parse_qsl(query, keep_blank_values=True))
    raw = dict(parse_qsl(query, keep_blank_values=True, encoding="latin-1"))
    dlr = dict(parse_qsl(urlsplit(params["dlr-url"]).query))
    udh = raw["udh"].encode("latin-1") if "udh" in raw else None
    return SentPart(to=params["to"], text=params["text"], udh=udh, reply_id=dlr["reply_id"], part=int(dlr["part"]),
                    sender=params["from"])


class AggregatorApi:
    """The aggregator's sendsms URL under respx: what the reply worker sent, by number and by reply."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        self.route = router.get(url__startswith=AGGREGATOR_SEND_URL)
        self.route.mock(return_value=httpx.Response(202, text="0: Accepted for delivery"))

    def parts(self) -> list[SentPart]:
        """Parts the aggregator accepted (a 2xx answer); failed attempts are not sent SMS."""
        return [sent_part(call.request) for call in self.route.calls if call.response.is_success]

    def replies(self) -> dict[str, list[SentPart]]:
        """Parts grouped by reply id, in part order."""
        grouped: dict[str, list[SentPart]] = {}
        for part in self.parts():
            grouped.setdefault(part.reply_id, []).append(part)
        return {reply_id: sorted(parts, key=lambda p: p.part) for reply_id, parts in grouped.items()}

    def texts_to(self, number: str) -> list[str]:
        """Each whole reply sent to `number` (parts joined), in sending order."""
        return self.texts_by_number().get(number, [])

    def texts_by_number(self) -> dict[str, list[str]]:
        """`texts_to` of every number at once: a table asking it of each of its rows parsed every part sent again
        for each (155 rows: 24,000 parts parsed, 2 s of CPU)."""
        texts: dict[str, list[str]] = {}
        for parts in self.replies().values():
            texts.setdefault(parts[0].to, []).append("".join(p.text for p in parts))
        return texts


def aggregator_api() -> Iterator[AggregatorApi]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host="127.0.0.1").pass_through()
        yield AggregatorApi(router)


def running_gateway(settings: Settings, redis: Redis) -> AbstractAsyncContextManager[GatewayServer]:
    """A gateway with its own settings (e.g. an allowlist), on the settings' port: `serving_gateway`, the one way the
    tests serve the app."""
    return serving_gateway(settings, redis)
