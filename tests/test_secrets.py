"""Secrets come from the environment and never appear in a log line or an error: the gateway, a worker and the SMTP
server run as real processes with distinctive secret values, take traffic that succeeds and traffic that fails
(bad signatures, a wrong verify token, a case store refusing the worker's token, an unreachable aggregator and mail
relay), and then no line any of them wrote and no HTTP answer contains any secret.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from gateway.tls import tls_context
from tests.conftest import CASESTORE_TOKEN, CaseStoreServer, ProcessHandle, free_port, twilio_sid, wait_until
from tests.email_support import RECIPIENT, fixture

if TYPE_CHECKING:
    from tests.conftest import TestEnvironment

SECRETS = {
    "LAPOR_TWILIO_AUTH_TOKEN": "tw1l10-S3CRET-b7f0c2e9",
    "LAPOR_AGGREGATOR_SECRET": "aggr-S3CRET-5d1e77aa",
    "LAPOR_AGGREGATOR_SEND_PASSWORD": "kannel-PASSWORD-91c3",
    "LAPOR_AGGREGATOR_SEND_USERNAME": "kannel-user-SECRET-4a",
    "LAPOR_PRIVACY_REPLY_HANDLE_SECRET": "handle-S3CRET-0e9d44",
    "LAPOR_EMAIL_RELAY_PASSWORD": "relay-PASSWORD-7c2b",
    "LAPOR_INSTAGRAM_APP_SECRET": "ig-app-S3CRET-3f8a",
    "LAPOR_INSTAGRAM_VERIFY_TOKEN": "ig-verify-TOKEN-6b1d",
    "LAPOR_INSTAGRAM_ACCESS_TOKEN": "ig-access-TOKEN-2e5c",
    "LAPOR_X_BEARER_TOKEN": "x-bearer-TOKEN-8d3f",
}
# The worker's case-store token: the case store expects another, so every forward fails with 401.
WORKER_CASESTORE_TOKEN = "casestore-TOKEN-wrong-1f6e"


def _signed_twilio(url: str, token: str, sid: str) -> tuple[bytes, dict[str, str]]:
    form = {"MessageSid": sid, "AccountSid": twilio_sid("account", "AC"), "From": "+6281234567890", "To": "+621708",
            "Body": "Jalan rusak di Jl. Kenanga"}
    signature = RequestValidator(token).compute_signature(url, form)
    return urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                      "X-Twilio-Signature": signature}


def _hmac(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _traffic(base: str) -> list[httpx.Response]:
    twilio_url = base + "/v1/channels/sms/twilio"
    aggregator = urlencode({"id": "sec-1", "from": "6281234567890", "text": "LAPOR lampu mati", "to": "1708"}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ig_body = b'{"object": "instagram", "entry": []}'
    signed = _signed_twilio(twilio_url, SECRETS["LAPOR_TWILIO_AUTH_TOKEN"], twilio_sid("secrets-1"))
    guessed = _signed_twilio(twilio_url, "guessed", twilio_sid("secrets-2"))
    with httpx.Client(verify=tls_context(), base_url=base, timeout=10) as client:
        return [
            client.post(twilio_url, content=signed[0], headers=signed[1]),
            client.post(twilio_url, content=guessed[0], headers=guessed[1]),
            client.post("/v1/channels/sms/aggregator", content=aggregator,
                        headers={**form, "X-Lapor-Signature": _hmac(SECRETS["LAPOR_AGGREGATOR_SECRET"], aggregator)}),
            client.post("/v1/channels/sms/aggregator", content=aggregator,
                        headers={**form, "X-Lapor-Signature": _hmac("guessed", aggregator)}),
            client.post("/v1/channels/sms/aggregator", content=b"id=1&from=x&text=%ZZ\xff",
                        headers={**form, "X-Lapor-Signature": _hmac(SECRETS["LAPOR_AGGREGATOR_SECRET"],
                                                                    b"id=1&from=x&text=%ZZ\xff")}),
            client.post("/v1/channels/sms/aggregator/dlr", content=b"reply_id=nope&type=1",
                        headers={**form, "X-Lapor-Signature": _hmac(SECRETS["LAPOR_AGGREGATOR_SECRET"],
                                                                    b"reply_id=nope&type=1")}),
            client.post("/v1/channels/instagram/webhook", content=ig_body,
                        headers={"Content-Type": "application/json",
                                 "X-Hub-Signature-256": _hmac(SECRETS["LAPOR_INSTAGRAM_APP_SECRET"], ig_body)}),
            client.post("/v1/channels/instagram/webhook", content=ig_body,
                        headers={"Content-Type": "application/json", "X-Hub-Signature-256": _hmac("x", ig_body)}),
            client.get("/v1/channels/instagram/webhook",
                       params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}),
            client.get("/v1/channels/instagram/webhook",
                       params={"hub.mode": "subscribe", "hub.verify_token": SECRETS["LAPOR_INSTAGRAM_VERIFY_TOKEN"],
                               "hub.challenge": "1708"}),
            client.get("/v1/status"), client.get("/metrics"), client.get("/status"), client.get("/readyz"),
        ]


@pytest.mark.timeout(90)
def test_no_secret_in_any_log_line_or_error(
    test_env: TestEnvironment, casestore: CaseStoreServer, start_process: Callable[..., ProcessHandle],
) -> None:
    closed = free_port()  # nothing listens there: the aggregator's send URL and the mail relay fail
    env = {**SECRETS, "LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_IG_USER_ID": "17841400000000001",
           "LAPOR_AGGREGATOR_SEND_URL": f"http://127.0.0.1:{closed}/cgi-bin/sendsms",
           "LAPOR_EMAIL_RELAY_HOST": "127.0.0.1", "LAPOR_EMAIL_RELAY_PORT": str(closed),
           "LAPOR_EMAIL_RELAY_USER": "relay-user", "LAPOR_LOGGING_LEVEL": "debug",
           "LAPOR_QUEUES_RETRY_INTERVALS": "0,0"}
    smtp_port = free_port()
    gateway = start_process("serve", **env)
    smtp = start_process("smtp", LAPOR_SMTP_PORT=str(smtp_port), **env)
    worker = start_process("worker", LAPOR_CASESTORE_TOKEN=WORKER_CASESTORE_TOKEN, **env)
    base = test_env.values["LAPOR_PUBLIC_URL"]

    def up() -> bool:
        try:
            return httpx.get(base + "/healthz", timeout=1, verify=tls_context()).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=20)

    def smtp_up() -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=2):
                return True
        except OSError:
            return False

    wait_until(smtp_up, timeout=20)
    responses = _traffic(base)
    statuses = [r.status_code for r in responses]
    assert statuses[:10] == [200, 403, 200, 403, 400, 404, 200, 403, 403, 200], statuses  # the secrets are in use
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.sendmail("warga@example.net", [RECIPIENT], fixture("gmail_alternative"))
    # The worker meets the failures: the case store refuses its token, the aggregator and the relay are down.
    wait_until(lambda: all(reason in worker.output() for reason in ("casestore_401", "aggregator_unreachable",
                                                                     "relay_unreachable")), timeout=30)
    for handle in (gateway, smtp, worker):
        handle.stop()
    outputs = {"gateway": gateway.output(), "smtp": smtp.output(), "worker": worker.output()}
    bodies = "\n".join(r.text for r in responses)
    leaks = [(name, where) for name, value in {**SECRETS, "worker casestore token": WORKER_CASESTORE_TOKEN,
                                                "casestore token": CASESTORE_TOKEN}.items()
             for where, text in {**outputs, "http": bodies}.items() if value in text]
    assert leaks == [], leaks
    # Failures were met and logged as they are meant to be: one redacted JSON line each, nothing raw on stderr.
    assert "casestore_401" in outputs["worker"] and "aggregator_unreachable" in outputs["worker"]
    assert all(line.startswith("{") for text in outputs.values() for line in text.splitlines() if line.strip())
