"""schemathesis against the real gateway over loopback HTTP, driven by the gateway's own OpenAPI description
(GET /openapi.yaml): every answer is a documented status with a documented body, never a 5xx but the documented
503, never a traceback. Unsigned requests must all be 403 (the auth layer); a second run signs the Twilio,
aggregator and Instagram requests correctly, so the parsers behind the signature check are fuzzed too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from multidict import MultiDict
from redis import Redis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from twilio.request_validator import RequestValidator

from gateway.app import OPENAPI_PATH, create_app
from gateway.queues import ALL_QUEUES, queue
from gateway.settings import Settings
from tests.conftest import AGGREGATOR_SECRET, TWILIO_TOKEN, LoopbackServer
from tests.conftest import TestEnvironment as Environment
from tests.social_helpers import IG_SECRET, IG_TOKEN, IG_USER_ID, IG_VERIFY

CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
WEBHOOKS = {"/v1/channels/sms/twilio", "/v1/channels/sms/aggregator", "/v1/channels/sms/aggregator/dlr",
            "/v1/channels/instagram/webhook"}
MAX_EXAMPLES = 15  # per operation and mode: the webhook forms take ~0.1 s an example to generate


@pytest.fixture
def fuzz_settings(test_env: Environment) -> Settings:
    return test_env.settings(
        LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET, LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY,
        LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN, LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID,
        LAPOR_INSTAGRAM_GRAPH_BASE_URL="http://127.0.0.1:9/graph", LAPOR_RATELIMIT_ENABLED="false",
        LAPOR_HEALTH_EVALUATE_SECONDS="3600",
    )


@pytest.fixture
def served(fuzz_settings: Settings, redis: Redis) -> Iterator[str]:
    """The gateway in a thread of its own (schemathesis calls it synchronously from the test's thread)."""
    server = LoopbackServer(lambda: create_app(fuzz_settings, redis), fuzz_settings.http.port)
    server.start()
    yield server.url
    server.stop()


def queued(redis: Redis) -> int:
    return sum(queue(name, redis).count for name in ALL_QUEUES) + sum(1 for _ in redis.scan_iter("lapor:envelope:*"))


def _sign(prepared: requests.PreparedRequest, settings: Settings) -> None:
    """The provider's signature over exactly the bytes and URL sent."""
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    path = prepared.path_url
    if path.startswith("/v1/channels/sms/twilio"):
        try:
            params = MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return
        url = settings.public_url.rstrip("/") + path
        prepared.headers["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    elif path.startswith("/v1/channels/sms/aggregator"):
        digest = hmac.new(AGGREGATOR_SECRET.encode(), body, hashlib.sha256).hexdigest()
        prepared.headers["X-Lapor-Signature"] = f"sha256={digest}"
    elif path.startswith("/v1/channels/instagram/webhook") and prepared.method == "POST":
        digest = hmac.new(IG_SECRET.encode(), body, hashlib.sha256).hexdigest()
        prepared.headers["X-Hub-Signature-256"] = f"sha256={digest}"


def _caller(base_url: str, session: requests.Session, settings: Settings, *, signed: bool,
            seen: dict[str, set[int]]) -> Callable[[schemathesis.Case], None]:
    def call(case: schemathesis.Case) -> None:
        kwargs = case.as_transport_kwargs(base_url=base_url)
        for header in ("X-Twilio-Signature", "X-Lapor-Signature", "X-Hub-Signature-256"):
            kwargs["headers"].pop(header, None)  # generated "signatures": replaced (signed) or dropped (unsigned)
        allowed = {"method", "url", "headers", "params", "data", "json", "cookies", "files"}
        prepared = session.prepare_request(requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}))
        if signed:
            _sign(prepared, settings)
        response = session.send(prepared, timeout=10)
        path = case.operation.path
        seen.setdefault(f"{case.method} {path}", set()).add(response.status_code)
        assert response.status_code < 500 or response.status_code == 503, (path, response.status_code,
                                                                          response.text[:300])
        assert "Traceback" not in response.text and "Internal Server Error" not in response.text
        if not signed and case.method == "POST" and path in WEBHOOKS:
            assert response.status_code == 403, (path, response.status_code, response.text[:300])
        case.validate_response(response, checks=CHECKS)

    return call


def _fuzz(base_url: str, gateway_settings: Settings, *, signed: bool, modes: list[GenerationMode],
          only_webhooks: bool = False) -> dict[str, set[int]]:
    schema = schemathesis.openapi.from_url(base_url + "/openapi.yaml")
    seen: dict[str, set[int]] = {}
    with requests.Session() as session:
        call = _caller(base_url, session, gateway_settings, signed=signed, seen=seen)
        for result in schema.get_all_operations():
            operation = result.ok()
            if only_webhooks and not (operation.method.upper() == "POST" and operation.path in WEBHOOKS):
                continue
            for mode in modes:
                strategy = operation.as_strategy(generation_mode=mode)

                @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def run(case: schemathesis.Case) -> None:
                    call(case)

                try:
                    run()
                except Unsatisfiable:  # nothing to negate (no parameters, no body): the positive run covers it
                    assert mode is GenerationMode.NEGATIVE
    assert requests.get(base_url + "/healthz", timeout=5).status_code == 200  # still up after all of it
    return seen


def test_the_served_description_is_the_repository_file(served: str) -> None:
    document = requests.get(served + "/openapi.yaml", timeout=10)
    assert document.status_code == 200 and document.content == OPENAPI_PATH.read_bytes()
    paths = yaml.safe_load(document.text)["paths"]
    assert WEBHOOKS | {"/healthz", "/readyz", "/metrics", "/v1/status", "/status"} <= set(paths)


def test_unsigned_fuzzing_only_ever_meets_the_auth_layer(served: str, fuzz_settings: Settings,
                                                         redis: Redis) -> None:
    """The signed run sends the other operations' requests unchanged (only webhook posts are signed)."""
    before = queued(redis)
    seen = _fuzz(served, fuzz_settings, signed=False, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                 only_webhooks=True)
    assert {f"POST {path}" for path in WEBHOOKS} <= set(seen)
    for operation, statuses in seen.items():
        assert statuses == {403}, (operation, statuses)
    assert queued(redis) == before, "an unsigned request reached the queue"


def test_signed_fuzzing_reaches_the_parsers_and_gets_documented_answers(served: str, fuzz_settings: Settings) -> None:
    seen = _fuzz(served, fuzz_settings, signed=True, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    # The signature held, so the parsers answered: accepted reports (200) and typed rejections (400).
    assert 200 in seen["POST /v1/channels/sms/twilio"] | seen["POST /v1/channels/sms/aggregator"]
    assert 400 in seen["POST /v1/channels/sms/aggregator"] | seen["POST /v1/channels/sms/twilio"]


def test_the_description_file_is_valid_openapi_3_1() -> None:
    document = yaml.safe_load(Path(OPENAPI_PATH).read_text())
    assert document["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(document)  # refuses a document it cannot read
