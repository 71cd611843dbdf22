"""A new report refused because it could not be made durable or given a Tracking ID (a webhook's 5xx, SMTP's 451)
turns its channel degraded or down on every view, with the refusal's reason, until the channel takes a new report;
/metrics counts the refusals by reason. Over real HTTP, real SMTP and real Redis.

Before, every view said "ok" while each new SMS got 503 `id_range_exhausted`: only signature failures reached the
health rules, and /readyz stays ready while Redis answers."""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
import orjson
import pytest
from redis import Redis

from gateway.app import create_app
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.intake import Intake, Receipt
from gateway.queues import REPLY_QUEUE, queue
from gateway.replies import render
from gateway.same_text import SameTextWindow
from gateway.settings import CONFIG_DIR
from gateway.tracking import format_tracking_id
from gateway.unfiled import shown_key
from normalizer.envelope import ReportDraft
from tests.aggregator_support import post_callback
from tests.cli_process import run_cli
from tests.conftest import GatewayServer, TestEnvironment, async_wait_until, free_port, log_events, serving_gateway
from tests.email_support import RECIPIENT, SmtpServerThread
from tests.test_status_views import the_deployments, value

# Four Tracking IDs in this cell: sequence numbers 1000000 to 1000003.
RANGE_END = "1000003"
USED_UP = ("new reports refused (1 in a row, none taken since): id_range_exhausted (this cell's Tracking IDs up to "
           "intake.id_end are used up)")
BROKEN = ("new reports refused (1 in a row, none taken since): internal_error (an error in the gateway: see its "
          "message.rejected or email.failed log lines)")


class BrokenIntake(Intake):
    """The real intake with a bug: every report it is given raises an error no GatewayError names."""

    async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
        raise RuntimeError("a bug in intake")


async def send(server: GatewayServer, channel: str, number: int, text: str = "") -> httpx.Response:
    """One new SMS on `channel`'s webhook, signed as its provider signs it."""
    text = text or f"Jalan rusak di RT {number}"
    if channel == "sms-twilio":
        sid = f"SM{number:032d}"
        return await server.post_twilio(server.twilio_form(Body=text, MessageSid=sid, SmsSid=sid))
    fields = {"from": "081234567890", "to": "1708", "text": text, "id": f"refusal-{number}", "coding": "0"}
    return await post_callback(server.client, fields)


def refusals(redis: Redis, channel: str) -> int:
    return int(redis.hget(f"lapor:health:signals:{channel}", "intake_refusals") or 0)


def channel_of(document: dict[str, object], channel: str) -> dict[str, object]:
    return next(c for c in document["channels"] if c["channel"] == channel)  # type: ignore[attr-defined]


@pytest.mark.parametrize("channel", ["sms-twilio", "sms-aggregator"])
async def test_a_used_up_id_range_takes_the_channel_down_on_every_view_until_a_new_report_is_taken(
    test_env: TestEnvironment, redis: Redis, channel: str
) -> None:
    """The 2 a.m. case: the cell's last Tracking ID is given out, and from then on every new SMS is refused. The
    channel is down at the first refusal, its reason names the cause, a status query (1708 gets them all night) does
    not end it, and the status CLI exits 2; the next new report, once the range is extended, does."""
    other = "sms-aggregator" if channel == "sms-twilio" else "sms-twilio"
    env = {"LAPOR_INTAKE_ID_END": RANGE_END}
    async with serving_gateway(test_env.settings(**env), redis) as server:
        for number in range(4):
            assert (await send(server, channel, number)).status_code == 200
        before = (await server.client.get("/metrics")).text
        refused = await send(server, channel, 4)
        assert refused.status_code == 503 and refused.json()["error"] == "id_range_exhausted"
        await async_wait_until(lambda: refusals(redis, channel) == 1)
        assert (await send(server, channel, 5, text="CEK 10000004")).status_code == 200

        document = (await server.client.get("/v1/status")).json()
        assert document["overall"] == "down"
        refusing = channel_of(document, channel)
        assert (refusing["state"], refusing["reason"]) == ("down", USED_UP)
        assert refusing["last_errors"][0]["kind"] == "intake_refused"
        assert refusing["last_errors"][0]["reason"] == "id_range_exhausted"
        assert channel_of(document, other)["state"] == "ok"

        page = (await server.client.get("/status")).text
        assert f'id="overall">DOWN: {channel}<' in page
        assert f'id="channel-{channel}" data-state="down"' in page
        assert "id_range_exhausted (this cell&#x27;s Tracking IDs up to intake.id_end are used up)" in page

        after = (await server.client.get("/metrics")).text
        counted = {text: value(text, "lapor_messages_rejected_total", channel=channel, reason="id_range_exhausted")
                   for text in (before, after)}
        assert counted[after] - counted[before] == 1
        assert value(after, "lapor_channel_state", channel=channel) == 2

    status = run_cli(["status"], test_env.process_env(COLUMNS="400", **env))  # the reason cell whole
    assert status.returncode == 2, status.stdout + status.stderr
    assert "overall: DOWN" in status.stdout
    assert "id_range_exhausted" in status.stdout

    # The operator extends the cell's range and restarts the gateway: its next new report ends the run.
    async with serving_gateway(test_env.settings(LAPOR_INTAKE_ID_END="1000999"), redis) as server:
        assert (await send(server, channel, 6)).status_code == 200

        # Each view's check writes what the gateway noted and has not written yet before it evaluates.
        document = (await server.client.get("/v1/status")).json()
        assert (channel_of(document, channel)["state"], document["overall"]) == ("ok", "ok")


async def test_a_webhook_refused_for_an_error_in_the_gateway_is_counted_and_degrades_its_channel(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """An error no GatewayError names (a bug) answered aiohttp's bare 500, counted nowhere and seen by no rule."""
    settings = test_env.settings()
    broken = BrokenIntake(redis, settings)
    async with serving_gateway(settings, redis, app=create_app(settings, redis, broken)) as server:
        before = (await server.client.get("/metrics")).text
        refused = await send(server, "sms-twilio", 0)
        # Kept unfiled (gateway.unfiled), the citizen is told so: Twilio neither retries a 500 nor takes a reply later.
        assert (refused.status_code, refused.headers["Content-Type"]) == (200, "application/xml; charset=utf-8")
        assert render("sms_kept_unfiled") in refused.text
        await async_wait_until(lambda: refusals(redis, "sms-twilio") == 1)
        document = (await server.client.get("/v1/status")).json()
        after = (await server.client.get("/metrics")).text
    assert document["overall"] == "degraded"
    state, reason = channel_of(document, "sms-twilio")["state"], str(channel_of(document, "sms-twilio")["reason"])
    assert state == "degraded" and reason.startswith(f"{BROKEN}; 1 message(s) the gateway failed to file"), reason
    counted = {text: value(text, "lapor_messages_rejected_total", channel="sms-twilio", reason="internal_error")
               for text in (before, after)}
    assert counted[after] - counted[before] == 1
    [line] = [e for e in log_events(log_stream) if e["event"] == "message.rejected"]
    assert (line["level"], line["reason"], line["status"], line["error"]) == ("error", "internal_error", 200,
                                                                               "RuntimeError")
    assert "a bug in intake" in str(line["exception"])


def mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Warga <warga@example.net>"
    message["To"] = RECIPIENT
    message["Subject"] = "Jalan rusak"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(f"Jalan rusak di RT {number}, mohon diperbaiki.")
    return message.as_bytes().replace(b"\n", b"\r\n")


@pytest.mark.parametrize(
    ("broken", "taken", "state", "reason"),
    [
        pytest.param(False, 4, "down", USED_UP, id="id-range-used-up"),
        pytest.param(True, 0, "degraded", BROKEN, id="an-error-in-the-gateway"),
    ],
)
async def test_a_mail_refused_with_451_counts_against_the_email_channel(
    test_env: TestEnvironment, redis: Redis, broken: bool, taken: int, state: str, reason: str
) -> None:
    """SMTP's 451 is the webhook's 503: the sending server retries, nothing is filed meanwhile. It was counted in
    /metrics only, and the e-mail channel stayed ok."""
    env = {"LAPOR_INTAKE_ID_END": RANGE_END, "LAPOR_SMTP_PORT": str(free_port())}
    settings = test_env.settings(**env)
    server = SmtpServerThread(settings, redis, BrokenIntake(redis, settings) if broken else None).start()
    try:
        for number in range(taken):
            assert server.deliver(mail(number)).data_code == 250
        assert server.deliver(mail(taken)).data_code == 451
        await async_wait_until(lambda: refusals(redis, "email") == 1)
    finally:
        server.stop()
    monitor = HealthMonitor(the_deployments(redis), load_rules(CONFIG_DIR / "health.toml"))
    email = channel_of(monitor.check(), "email")
    assert (email["state"], email["reason"]) == (state, reason)
    status = run_cli(["status"], test_env.process_env(COLUMNS="400", **env))  # the reason cell whole
    assert status.returncode == (2 if state == "down" else 0), status.stdout + status.stderr
    assert re.search(rf"email\s.*{state.upper()}", status.stdout)



@pytest.mark.parametrize(("channel", "names_unknown"), [
    pytest.param("sms-twilio", False, id="sms-twilio"),
    pytest.param("sms-aggregator", False, id="sms-aggregator"),
    # an ID no report has, answered as the webhook answers it: it was a plain acknowledgement, as if nothing was named
    pytest.param("sms-aggregator", True, id="sms-aggregator-naming-an-id-never-issued"),
])
async def test_an_sms_a_bug_failed_to_file_is_kept_unfiled_and_filed_by_the_retry(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, channel: str, names_unknown: bool
) -> None:
    """An SMS that met a bug of ours was answered 500, which Twilio does not retry: its words were lost, a
    whistleblower's too. It is kept unfiled now (the error's type and where, never its words, in the log and the
    views), and `lapor-gateway unfiled retry` files it once the bug is mended."""
    from gateway.unfiled import UnfiledMessages

    settings = test_env.settings()
    unknown = format_tracking_id(7_777_777)
    text = f"{unknown + ' ' if names_unknown else ''}Pungli di kantor kelurahan Cibeunying oleh oknum petugas #anonim"
    async with serving_gateway(settings, redis, app=create_app(settings, redis, BrokenIntake(redis, settings))
                               ) as server:
        answer = await send(server, channel, 7, text)
        assert answer.status_code == 200, answer.text  # told: before, the 500 got its citizen nothing at all
        if channel == "sms-twilio":  # in the TwiML: Twilio neither retries a 500 nor takes a reply later
            assert render("sms_kept_unfiled") in answer.text, answer.text
        else:  # by an SMS the reply worker sends: the aggregator's answer carries no reply
            assert answer.json() == {"status": "accepted", "messages": []}
            [job] = queue(REPLY_QUEUE, redis).jobs
            assert (job.args[0]["kind"], job.args[0]["to"], job.args[0]["text"]) == (
                "kept_unfiled", "+6281234567890", render("sms_kept_unfiled"))
            assert (await send(server, channel, 7, text)).status_code == 200  # its retry: no second SMS
            assert queue(REPLY_QUEUE, redis).count == 1
        await async_wait_until(lambda: redis.hget(f"lapor:health:signals:{channel}", "unfiled_at") is not None)
        document = (await server.client.get("/v1/status")).json()
    reason = str(channel_of(document, channel)["reason"])
    assert "1 message(s) the gateway failed to file kept unfiled" in reason, reason
    assert "RuntimeError at " in reason and "lapor-gateway unfiled list" in reason
    (kept,), _ = UnfiledMessages(redis).list()
    assert (kept.channel, kept.error, kept.message.text) == (channel, "RuntimeError", text)
    line, *again = [event for event in log_events(log_stream) if event["event"] == "message.unfiled"]
    assert len(again) == (1 if channel == "sms-aggregator" else 0)  # the aggregator's retry met the bug again
    assert line["where"].startswith("tests/test_intake_refusals.py:") or line["where"].startswith("gateway/"), line
    assert "Cibeunying" not in log_stream.getvalue() and "234567890" not in log_stream.getvalue()

    listed = run_cli(["unfiled", "list"], test_env.process_env(COLUMNS="200"))
    shown = shown_key(test_env.settings(), kept.key)
    assert listed.returncode == 0 and shown in listed.stdout and "Cibeunying" not in listed.stdout, listed
    assert kept.key not in listed.stdout, listed.stdout  # the provider's id, which its logs tie to the number
    retried = run_cli(["unfiled", "retry", kept.key], test_env.process_env(COLUMNS="200"))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    (filed,) = re.findall(r"filed as (\d+); ", retried.stdout)
    if channel == "sms-twilio":
        assert f"filed as {filed}; its citizen was not answered (sms-twilio takes no reply later)" in retried.stdout
    else:  # told it was kept without a Tracking ID, the citizen gets it now
        assert f"filed as {filed}; its acknowledgement is queued for its citizen" in retried.stdout
        ack = [job.args[0] for job in queue(REPLY_QUEUE, redis).jobs if job.args[0]["kind"] == "ack"]
        answer = (render("follow_up_unknown_anonymous", follow_up_of=unknown, tracking_id=filed) if names_unknown
                  else render("ack_anonymous", tracking_id=filed))
        assert [(job["to_report"], job["text"]) for job in ack] == [(filed, answer)]
    stored = orjson.loads(redis.get(f"lapor:envelope:{filed}"))
    assert (stored["text"], stored["anonymous"], stored["channel"]) == (text.removesuffix(" #anonim"), True, "sms")
    assert UnfiledMessages(redis).list() == ([], 0)


@pytest.mark.parametrize("channel", ["sms-twilio", "sms-aggregator"])
async def test_the_kept_unfiled_answers_to_one_number_stop_at_its_flood_limit_on_either_sms_channel(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, channel: str
) -> None:
    """Every message a bug fails on is kept; its citizen is told so up to the channel's `flood_replies_per_minute`,
    as any answer: the aggregator's SMS were held past it, and Twilio's TwiML answers went on without end."""
    from gateway.unfiled import UnfiledMessages

    settings = test_env.settings(LAPOR_TWILIO_FLOOD_REPLIES_PER_MINUTE="2",
                                 LAPOR_AGGREGATOR_FLOOD_REPLIES_PER_MINUTE="2")
    async with serving_gateway(settings, redis, app=create_app(settings, redis, BrokenIntake(redis, settings))
                               ) as server:
        answers = [await send(server, channel, 40 + n) for n in range(4)]
    assert [answer.status_code for answer in answers] == [200] * 4
    if channel == "sms-twilio":
        assert [render("sms_kept_unfiled") in answer.text for answer in answers] == [True, True, False, False]
        assert all(answer.text.endswith("<Response />") for answer in answers[2:])
    else:
        assert [job.args[0]["kind"] for job in queue(REPLY_QUEUE, redis).jobs] == ["kept_unfiled"] * 2
    kept, _ = UnfiledMessages(redis).list()
    assert len(kept) == 4
    held = [e for e in log_events(log_stream) if e["event"] == "reply.held"]
    assert [(e["channel"], e["reply_kind"]) for e in held] == [(channel, "kept_unfiled")] * 2


@pytest.mark.parametrize(("channel", "forgetting_fails"), [
    pytest.param("sms-twilio", False, id="twilio"),
    pytest.param("sms-aggregator", False, id="aggregator"),
    pytest.param("sms-twilio", True, id="twilio-redis-fails-while-forgetting"),
])
async def test_an_sms_kept_unfiled_is_forgotten_once_its_webhook_sent_again_is_filed(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch, channel: str,
    forgetting_fails: bool,
) -> None:
    """An SMS kept unfiled (a bug it met) whose webhook the provider sends again once the bug is gone (an upgrade, a
    bug that passed) is filed as any: its entry stayed, the channel degraded and the SMS listed as unfiled though it
    had a Tracking ID, until an operator's retry. It goes as it is filed now, said in the log (no word of it, no
    number), and the channel's health recovers. A Redis that fails while forgetting it fails no filing: the entry
    stays for the retry, which finds the report filed."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from gateway.unfiled import UnfiledMessages

    settings = test_env.settings()
    text = "Pungli di kantor kelurahan Cibeunying oleh oknum petugas"
    async with serving_gateway(settings, redis, app=create_app(settings, redis, BrokenIntake(redis, settings))
                               ) as server:
        assert (await send(server, channel, 8, text)).status_code == 200
    (kept,), _ = UnfiledMessages(redis).list()
    assert kept.channel == channel and not list(redis.scan_iter("lapor:envelope:*"))

    if forgetting_fails:
        def fails(*_: object) -> None:
            raise RedisConnectionError("Redis went away")

        monkeypatch.setattr(UnfiledMessages, "forget_filed", fails)
    async with serving_gateway(settings, redis) as server:  # the bug mended: the provider sends the SMS again
        answer = await send(server, channel, 8, text)
        assert answer.status_code == 200, answer.text
        (envelope,) = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
        filed = envelope["tracking_id"]
        if channel == "sms-twilio":
            assert render("ack", tracking_id=filed) in answer.text, answer.text
        document = (await server.client.get("/v1/status")).json()

    events = log_events(log_stream)
    if forgetting_fails:  # filed all the same; the entry is the retry's, which finds its report
        assert UnfiledMessages(redis).list()[0] == [kept]
        (failed,) = [line for line in events if line["event"] == "intake.unfiled_not_forgotten"]
        assert failed["error"] == "ConnectionError"
        assert "failed to file" in str(channel_of(document, channel)["reason"])
        retried = run_cli(["unfiled", "retry", kept.key], test_env.process_env(COLUMNS="200"))
        assert retried.returncode == 0 and f"filed as {filed} (already filed)" in retried.stdout, retried.stdout
        assert UnfiledMessages(redis).list() == ([], 0)
        return
    assert UnfiledMessages(redis).list() == ([], 0)
    (forgotten,) = [line for line in events if line["event"] == "message.unfiled_filed"]
    assert (forgotten["channel"], forgotten["tracking_id"]) == (channel, filed), forgotten
    assert "Cibeunying" not in log_stream.getvalue() and "234567890" not in log_stream.getvalue()
    assert (channel_of(document, channel)["state"], document["overall"]) == ("ok", "ok"), document
    assert redis.hget(f"lapor:health:signals:{channel}", "unfiled_at") is None


async def test_an_sms_kept_unfiled_sent_again_as_a_same_text_repeat_is_forgotten(
    test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """The SMS kept unfiled, sent again after its citizen sent the same text anew (filed), is that report's repeat
    (`twilio.same_text_window_seconds`): filed under the first's id, it is forgotten all the same."""
    from gateway.unfiled import UnfiledMessages

    settings = test_env.settings()
    text = "Lampu jalan mati di gang Kenari sejak seminggu"
    async with serving_gateway(settings, redis, app=create_app(settings, redis, BrokenIntake(redis, settings))
                               ) as server:
        assert (await send(server, "sms-twilio", 9, text)).status_code == 200
    (kept,), _ = UnfiledMessages(redis).list()
    async with serving_gateway(settings, redis) as server:
        first = await send(server, "sms-twilio", 10, text)  # the citizen sends it anew: a report
        (envelope,) = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]
        filed = envelope["tracking_id"]
        assert render("ack", tracking_id=filed) in first.text and UnfiledMessages(redis).list()[0] == [kept]
        again = await send(server, "sms-twilio", 9, text)  # Twilio sends the kept one again
        assert render("duplicate", tracking_id=filed) in again.text, again.text
    assert UnfiledMessages(redis).list() == ([], 0)
    assert len(list(redis.scan_iter("lapor:envelope:*"))) == 1
    (forgotten,) = [line for line in log_events(log_stream) if line["event"] == "message.unfiled_filed"]
    assert (forgotten["channel"], forgotten["tracking_id"]) == ("sms-twilio", filed), forgotten
