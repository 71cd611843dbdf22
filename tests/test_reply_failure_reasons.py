"""What an operator reads when replies fail: the host (or the relay's host:port) that refused or failed, the kind of
failure, and the step, as the pollers' reasons say theirs (`signals.poll_failure`, `rules.TOKEN_REFUSAL_STEPS`).

"replies failing (4 in a row): aggregator_401" named neither the host nor what to set. Each row runs a reply through
its real worker against its provider's stand-in (respx for the aggregator's HTTP, a local aiosmtpd relay), then reads
the channel's signals as the monitor does and evaluates them: the reason, the step, and the dead letter's new fields.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
import respx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from redis import Redis

from gateway.health.monitor import HealthMonitor
from gateway.health.rules import ChannelRules, evaluate, load_rules
from gateway.outbound import OutboundReplies
from gateway.queues import REPLY_QUEUE, enqueue_calls, queue
from gateway.replies import render
from gateway.settings import Settings
from tests.aggregator_support import aggregator_settings, drain
from tests.conftest import AGGREGATOR_SEND_URL, TestEnvironment, free_port
from tests.email_support import SmtpServerThread, fixture, run_replies
from tests.social_helpers import FakeProviderServer
from tests.social_helpers import fixture as social_fixture
from tests.upgrade_support import previous_module
from workers import social_reply
from workers.deadletters import DeadLetter, DeadLetters

NUMBER = "+6281234567802"
AGGREGATOR_HOST = "aggregator.invalid"  # AGGREGATOR_SEND_URL's host


def failing_reply_health(redis: Redis, settings: Settings, channel: str) -> tuple[str, str, Any]:
    """The channel's reason and step with its replies failing (its signals read as the monitor reads them, the run
    made long enough to degrade it), and the one dead letter."""
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())[channel]
    health = evaluate(channel, replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    finding = next(f for f in health.findings if f.rule == "replies")
    [letter] = DeadLetters(redis).list()
    return finding.reason, finding.action, letter


@dataclass(frozen=True)
class AggregatorRow:
    id: str
    answer: httpx.Response | Callable[[httpx.Request], httpx.Response] | type[Exception]
    reason: str  # the channel's reason after "replies failing (3 in a row): "
    failure: str
    step: tuple[str, ...]  # words the step says


AGGREGATOR_ROWS = [
    AggregatorRow("credentials-refused", httpx.Response(401, text="bad login"),
                  f"aggregator_401 (credentials refused): {AGGREGATOR_HOST} answered 401 Unauthorized", "token",
                  ("LAPOR_AGGREGATOR_SEND_USERNAME", "LAPOR_AGGREGATOR_SEND_PASSWORD",
                   "restart every `lapor-gateway worker`",
                   "deadletters requeue --all --channel sms-aggregator --queue lapor-reply")),
    AggregatorRow("permission-refused", httpx.Response(403),
                  f"aggregator_403 (permission refused): {AGGREGATOR_HOST} answered 403 Forbidden", "permission",
                  ("ask the aggregator",)),
    AggregatorRow("message-refused", httpx.Response(400, text="invalid number"),
                  f"aggregator_400 (message refused): {AGGREGATOR_HOST} answered 400 Bad Request", "refused",
                  ("deadletters show",)),
    # Its own status line quoting the send (the number, the words, the password): the standard phrase is said.
    AggregatorRow("message-refused-in-its-own-words",
                  httpx.Response(400, extensions={"reason_phrase": b"Rejected msisdn 6281234567802 text 'Jalan "
                                                                   b"rusak' pass=s3cr3t-pw"}),
                  f"aggregator_400 (message refused): {AGGREGATOR_HOST} answered 400 Bad Request", "refused",
                  ("deadletters show",)),
    AggregatorRow("server-error-through-every-retry", httpx.Response(503),
                  f"aggregator_503 (server error): {AGGREGATOR_HOST} answered 503 Service Unavailable", "server",
                  ("status page",)),
    AggregatorRow("rate-limited-through-every-retry", httpx.Response(429),
                  f"aggregator_429 (rate limited): {AGGREGATOR_HOST} answered 429 Too Many Requests", "rate_limit",
                  ("send fewer",)),
    AggregatorRow("timeout", httpx.ConnectTimeout,
                  f"aggregator_timeout (timed out): ConnectTimeout talking to {AGGREGATOR_HOST}", "timeout",
                  ("LAPOR_AGGREGATOR_SEND_URL",)),
    AggregatorRow("connection-refused", httpx.ConnectError,
                  f"aggregator_unreachable (no connection): ConnectError talking to {AGGREGATOR_HOST}", "unreachable",
                  ("LAPOR_AGGREGATOR_SEND_URL", "DNS")),
    AggregatorRow("redirect", httpx.Response(302, headers={"Location": "https://elsewhere.invalid/"}),
                  f"aggregator_302 (redirect not followed): {AGGREGATOR_HOST} answered 302 Found", "redirect",
                  ("LAPOR_AGGREGATOR_SEND_URL redirects",)),
]


@pytest.mark.parametrize("row", AGGREGATOR_ROWS, ids=[row.id for row in AGGREGATOR_ROWS])
def test_an_sms_reply_failing_names_the_aggregators_host_the_kind_and_the_step(
    test_env: TestEnvironment, redis: Redis, row: AggregatorRow
) -> None:
    settings = aggregator_settings(test_env, LAPOR_AGGREGATOR_SEND_USERNAME="lapor",
                                   LAPOR_AGGREGATOR_SEND_PASSWORD="s3cr3t-pw")
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.get(url__startswith=AGGREGATOR_SEND_URL)
        if isinstance(row.answer, httpx.Response):
            route.mock(return_value=row.answer)
        elif isinstance(row.answer, type):
            route.mock(side_effect=row.answer("failed"))
        else:
            route.mock(side_effect=row.answer)
        OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="help", text=render("help", "id"),
                                                     language="id", tracking_id=None, to=NUMBER)
        drain(settings, (REPLY_QUEUE,))
    reason, step, letter = failing_reply_health(redis, settings, "sms-aggregator")
    assert reason == f"replies failing (3 in a row): {row.reason}"
    assert all(words in step for words in row.step), step
    # The dead letter keeps its reason as before, and says where and how beside it.
    assert (letter.reason, letter.where, letter.failure) == (row.reason.split(" ")[0], row.reason.split(": ", 1)[1],
                                                             row.failure)
    for secret in ("s3cr3t-pw", NUMBER, NUMBER[1:], "Tracking", "Jalan"):
        assert secret not in reason + step + str(letter.where)


@dataclass(frozen=True)
class XRow:
    id: str
    status: int
    body: str  # a fixture of tests/fixtures/x/
    reason: str  # with {where}: the X API's host:port
    failure: str
    step: tuple[str, ...]  # words the step says
    not_said: tuple[str, ...] = ()  # words the step must not say
    # Hours since the reply's first attempt (`social_reply.FIRST_ATTEMPT_KEY`): a 429 past the longest total wait
    # dead-letters it.
    first_attempt_hours_ago: float = 0.0


X_TARGET = "1860000000000000101"
X_ROWS = [
    XRow("credentials-refused", 401, "unauthorized.json",
         "x_auth (credentials refused): {where} answered 401 Unauthorized", "token",
         ("LAPOR_X_ACCESS_TOKEN", "restart every `lapor-gateway worker`")),
    # The post answered not found (deleted, or a URL that is not the API's): the message refused, not the account the
    # pollers read, whose step sent the operator to check LAPOR_X_USER_ID.
    # ... and for every reply most likely LAPOR_X_BASE_URL not the API's (a proxy's path): named, with the restart
    # the workers need to read it again
    XRow("post-not-found", 404, "reply_not_found.json",
         "x_not_found (message refused): {where} answered 404 Not Found", "refused",
         ("deadletters show", "LAPOR_X_BASE_URL", "restart every `lapor-gateway worker`"), ("LAPOR_X_USER_ID",)),
    # Any other refusal of the message is no URL's: its step names no setting
    XRow("post-refused", 400, "reply_invalid_request.json",
         "x_bad_payload (message refused): {where} answered BadRequest: 400 Bad Request", "refused",
         ("deadletters show",), ("LAPOR_X_BASE_URL", "LAPOR_X_USER_ID", "restart")),
    # The plan's monthly cap, still used up a day after the reply's first attempt: no window's reset ends it, and
    # "rate limited ... send fewer" had the operator slow a reply rate that was never the cause.
    XRow("usage-cap-used-up", 429, "usage_capped.json",
         "x_usage_cap (usage cap used up): {where} answered 429 UsageCapExceeded: the plan's Monthly Product cap is "
         "used up, no reply is posted until it resets", "usage_cap",
         ("usage cap is used up", "until it resets", "the plan is raised",
          "then requeue them: `lapor-gateway deadletters requeue --all --channel x --queue lapor-reply`"),
         ("send fewer", "restricted from posting", "status page", "restart"), first_attempt_hours_ago=25),
]


@pytest.mark.parametrize("row", X_ROWS, ids=[row.id for row in X_ROWS])
def test_an_x_reply_failing_names_the_api_host_the_kind_and_the_step(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, row: XRow
) -> None:
    settings = test_env.settings(**fake.env(), LAPOR_QUEUES_RETRY_INTERVALS="0")
    if row.first_attempt_hours_ago:
        redis.set(social_reply.FIRST_ATTEMPT_KEY.format(channel="twitter", target=X_TARGET),
                  time.time() - row.first_attempt_hours_ago * 3600)
    fake.fail("/x/2/tweets", row.status, body=social_fixture(f"x/{row.body}"), method="POST")
    enqueue_calls(redis, settings, REPLY_QUEUE, "workers.social_reply.send_social_reply",
                  [("twitter", {"tweet_id": X_TARGET}, "social_ack", "10000012", "id")])
    run_replies_to_their_end(settings, redis)
    reason, step, letter = failing_reply_health(redis, settings, "x")
    expected = row.reason.format(where=fake.url.removeprefix("http://"))
    assert reason == f"replies failing (3 in a row): {expected}"
    assert all(words in step for words in row.step), step
    assert not any(words in step for words in row.not_said), step
    assert (letter.reason, letter.where, letter.failure) == (expected.split(" ")[0], expected.split(": ", 1)[1],
                                                             row.failure)


@pytest.mark.parametrize(
    ("body", "said", "step", "not_said"),
    [
        pytest.param("too_many_requests.json", "answered 429 Too Many Requests", "restricted from posting",
                     "usage cap", id="the-posting-rate-limit"),
        pytest.param("usage_capped.json", "answered 429 UsageCapExceeded: the plan's Monthly Product cap is used up",
                     "usage cap is used up", "restricted from posting", id="the-plans-usage-cap"),
    ],
)
def test_an_x_reply_put_off_by_a_429_gets_the_step_of_that_429(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, body: str, said: str, step: str,
    not_said: str,
) -> None:
    """A reply put off by the plan's usage cap (still tried again as a rate limit is: a plan raised lifts it) got
    the posting limit's step: "nothing for a backlog ... the account may be restricted from posting", while no
    reply went out until the cap reset. The 429's kind is kept with where it came from, and the step follows it."""
    settings = test_env.settings(**fake.env())
    fake.fail("/x/2/tweets", 429, body=social_fixture(f"x/{body}"), method="POST",
              headers={"x-rate-limit-reset": str(int(time.time()) + 600)})
    enqueue_calls(redis, settings, REPLY_QUEUE, "workers.social_reply.send_social_reply",
                  [("twitter", {"tweet_id": X_TARGET}, "social_ack", "10000012", "id")])
    run_replies(settings, redis)
    assert DeadLetters(redis).list() == []  # put off
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["x"]
    finding = next(f for f in evaluate("x", signals, (), ChannelRules(), time.time()).findings
                   if f.rule == "reply_rate_limited")
    assert said in finding.reason, finding.reason
    assert step in finding.action and not_said not in finding.action, finding.action


class RefusingAuthenticator:
    """A relay that refuses every login (535)."""

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)


class RelayAnswering:
    """A relay that answers DATA with `answer`."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.answer


@dataclass(frozen=True)
class RelayRow:
    id: str
    relay: str  # "550": a relay answering DATA so; "535": one refusing our login; "": nothing listening
    reason: str  # with {where}: the relay's host:port
    failure: str
    step: tuple[str, ...]


RELAY_ROWS = [
    RelayRow("mail-refused", "550 5.1.1 <budi.santoso1987@gmail.com> no such user",
             "relay_550 (message refused): {where} answered 550", "refused", ("deadletters show",)),
    RelayRow("login-refused", "535", "relay_535 (credentials refused): {where} answered 535", "token",
             ("LAPOR_EMAIL_RELAY_USER", "LAPOR_EMAIL_RELAY_PASSWORD", "restart every `lapor-gateway worker`",
              "deadletters requeue --all --channel email --queue lapor-reply")),
    RelayRow("certificate-refused", "tls",
             "relay_unreachable (TLS failed): SSLCertVerificationError talking to {where}", "tls",
             ("certificate", "LAPOR_EMAIL_RELAY_HOST, _PORT and _STARTTLS")),
    RelayRow("connection-refused", "", "relay_unreachable (no connection): ConnectionRefusedError talking to {where}",
             "unreachable", ("LAPOR_EMAIL_RELAY_HOST, _PORT and _STARTTLS",)),
]


@pytest.fixture
def relay_for(tmp_path: Path) -> Iterator[Callable[[str], int]]:
    controllers: list[Controller] = []
    held: list[socket.socket] = []

    def start(kind: str) -> int:
        port = free_port()
        if kind == "tls":  # STARTTLS with a self-signed certificate, which the worker does not trust
            cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            controller = Controller(RelayAnswering("250 OK"), hostname="127.0.0.1", port=port, tls_context=context)
        elif kind == "535":
            controller = Controller(RelayAnswering("250 OK"), hostname="127.0.0.1", port=port,
                                    authenticator=RefusingAuthenticator(), auth_require_tls=False)
        elif kind:
            controller = Controller(RelayAnswering(kind), hostname="127.0.0.1", port=port)
        else:  # bound and never listening: refused, and no other test's server can take the port meanwhile
            closed = socket.socket()
            closed.bind(("127.0.0.1", 0))
            held.append(closed)
            return int(closed.getsockname()[1])
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()
    for closed in held:
        closed.close()


def run_replies_to_their_end(settings: Settings, redis: Redis) -> None:
    """Work the reply queue, each retry its jobs scheduled run at once, as RQ's scheduler would later, until none is
    left."""
    replies = queue(REPLY_QUEUE, redis)
    for _ in range(10):
        run_replies(settings, redis)
        retried = replies.scheduled_job_registry.get_job_ids()
        if not retried:
            return
        for job_id in retried:
            replies.scheduled_job_registry.remove(job_id)
            replies.enqueue_job(replies.fetch_job(job_id))


def mail_received(settings: Settings, redis: Redis) -> None:
    """A citizen's mail taken over real SMTP: its reply is queued."""
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from="budi.santoso1987@gmail.com")
    finally:
        server.stop()


@pytest.mark.parametrize("row", RELAY_ROWS, ids=[row.id for row in RELAY_ROWS])
def test_a_mail_reply_failing_names_the_relays_host_and_port_the_kind_and_the_step(
    test_env: TestEnvironment, redis: Redis, relay_for: Callable[[str], int], row: RelayRow
) -> None:
    port = relay_for(row.relay)
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                                 LAPOR_EMAIL_RELAY_PORT=str(port), LAPOR_QUEUES_RETRY_INTERVALS="1,1",
                                 LAPOR_EMAIL_RELAY_STARTTLS="true" if row.relay == "tls" else "false",
                                 LAPOR_EMAIL_RELAY_USER="lapor" if row.relay == "535" else "",
                                 LAPOR_EMAIL_RELAY_PASSWORD="s3cr3t-pw" if row.relay == "535" else "")
    mail_received(settings, redis)
    run_replies_to_their_end(settings, redis)
    reason, step, letter = failing_reply_health(redis, settings, "email")
    expected = row.reason.format(where=f"127.0.0.1:{port}")
    assert reason == f"replies failing (3 in a row): {expected}"
    assert all(words in step for words in row.step), step
    assert (letter.where, letter.failure) == (expected.split(": ", 1)[1], row.failure)
    for secret in ("s3cr3t-pw", "budi.santoso1987", "gmail.com"):
        assert secret not in reason + step + str(letter.where)


def test_a_reply_failure_recorded_without_its_kind_keeps_the_step_it_had(redis: Redis,
                                                                          test_env: TestEnvironment) -> None:
    """An older version's record (no `last_reply_failure`) and a job that failed (no kind) keep the step that lists
    and requeues the reply's dead letters."""
    settings = test_env.settings()
    from gateway.health.signals import HealthSignals

    HealthSignals(redis).reply_failed("x", "x_auth (403 Forbidden)")
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["x"]
    health = evaluate("x", replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    [action] = health.actions
    assert health.reason == "replies failing (3 in a row): x_auth (403 Forbidden)"
    assert "deadletters list --channel x --queue lapor-reply" in action


def test_a_reply_failure_of_a_kind_a_later_release_adds_gets_the_generic_step(redis: Redis,
                                                                              test_env: TestEnvironment) -> None:
    """During a rolling upgrade a later release's worker may record a kind this one does not know: read as none
    told (the step that lists and requeues the reply's dead letters, no words after the reason), never a crash, and
    its dead letter's `show` gives no step of another kind."""
    settings = test_env.settings()
    from gateway.health.rules import reply_step
    from gateway.health.signals import HealthSignals

    HealthSignals(redis).reply_failed("x", "x_new_refusal: api.x.com answered 499", "a_later_kind")
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["x"]
    health = evaluate("x", replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    [action] = health.actions
    assert health.reason == "replies failing (3 in a row): x_new_refusal: api.x.com answered 499"
    assert "deadletters list --channel x --queue lapor-reply" in action
    redis.hset("lapor:health:signals:x", mapping={"last_reply_failure": "a_later_kind",
                                                  "last_reply_failure_error": "x_new_refusal: api.x.com answered 499"})
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["x"]
    assert signals.last_reply_failure == "a_later_kind"
    health = evaluate("x", replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    assert health.actions == [action]
    assert reply_step("x", "a_later_kind") is None


@pytest.mark.parametrize("sent_between", [True, False], ids=["a-reply-sent-between", "failures-in-a-row"])
def test_a_reply_failure_the_previous_release_records_gets_no_step_of_an_earlier_kind(
        redis: Redis, test_env: TestEnvironment, sent_between: bool) -> None:
    """The previous release's reply worker (a rollback, or both during the upgrade) writes `last_reply_error` alone:
    the kind this release recorded for an earlier failure stayed, and an X 503 was given the step for refused
    credentials. The kind is read only with the error it came with, and a reply sent clears it."""
    settings = test_env.settings()
    from gateway.health.signals import HealthSignals

    HealthSignals(redis).reply_failed("x", "x_auth (credentials refused): api.x.com answered 401 Unauthorized",
                                      "token")
    if sent_between:
        HealthSignals(redis).reply_sent("x")
    previous_module("gateway/health.py").HealthSignals(redis).reply_failed("x", "x_server (503 Service Unavailable)")
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["x"]
    health = evaluate("x", replace(signals, reply_failures=3), (), ChannelRules(), time.time())
    [action] = health.actions
    assert health.reason == "replies failing (3 in a row): x_server (503 Service Unavailable)"
    assert "LAPOR_X_ACCESS_TOKEN" not in action and "deadletters list --channel x --queue lapor-reply" in action


@pytest.mark.parametrize("writer", ["this-release", "previous-release"])
def test_a_failed_replys_dead_letter_reads_in_both_releases(redis: Redis, writer: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A rolling upgrade runs both releases on one Redis: the letter this release writes, with `where` and `failure`
    beside the fields it had, reads in the previous release as it wrote them (its fields unchanged in meaning), and
    the previous release's letter reads here with neither."""
    import gateway.health
    from gateway.health.signals import HealthSignals

    # The previous release imported the recorder from `gateway.health`, a module then, a package now.
    monkeypatch.setattr(gateway.health, "HealthSignals", HealthSignals, raising=False)
    previous = previous_module("workers/deadletters.py").DeadLetters(redis)
    fields = dict(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"reply_id": "r-1"}],
                  tracking_id="10000012", item="r-1", reason="aggregator_401",
                  detail="after 1 attempt(s): aggregator refused with 401: bad login", attempts=1,
                  channel="sms-aggregator")
    if writer == "this-release":
        DeadLetters(redis).add_new(**fields, where=f"{AGGREGATOR_HOST} answered 401 Unauthorized", failure="token")
        [read] = previous.list()
        assert (read.reason, read.detail, read.channel, read.func, read.args, read.readable) == (
            fields["reason"], fields["detail"], fields["channel"], fields["func"], fields["args"], True)
    else:
        previous.add_new(**fields)
        [read] = DeadLetters(redis).list()
        assert isinstance(read, DeadLetter) and read.readable
        assert (read.reason, read.where, read.failure) == ("aggregator_401", None, None)


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    """`error` raised from `cause`, as a library wraps what it caught."""
    try:
        try:
            raise cause
        except BaseException as caught:
            raise error from caught
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(
    ("error", "failure", "named"),
    [
        pytest.param(_raised_from(httpx.ConnectError("TLS"), _raised_from(
            httpcore.ConnectError("TLS"), ssl.SSLCertVerificationError(1, "certificate verify failed"))),
            "tls", "SSLCertVerificationError", id="httpx-certificate-refused"),
        pytest.param(httpx.ReadTimeout("slow"), "timeout", "ReadTimeout", id="httpx-read-timeout"),
        pytest.param(httpx.ConnectError("refused"), "unreachable", "ConnectError", id="httpx-no-connection"),
        pytest.param(TimeoutError("timed out"), "timeout", "TimeoutError", id="socket-timeout"),
        pytest.param(ConnectionRefusedError(111, "refused"), "unreachable", "ConnectionRefusedError",
                     id="connection-refused"),
    ],
)
def test_an_error_before_any_answer_is_named_by_its_kind_and_type(error: BaseException, failure: str,
                                                                    named: str) -> None:
    """A certificate refused comes wrapped by httpx (and httpcore) in a ConnectError: named by the ssl error it
    was raised from, not as a connection that failed."""
    from gateway.health.signals import transport_failure

    assert transport_failure(error) == (failure, named)


def retrying_reply_failure(redis: Redis, settings: Settings, channel: str) -> tuple[str | None, str | None]:
    """The reply queue's last failure and `channel`'s own, as the status views read them while its reply waits for
    a retry."""
    [stats] = [s for s in HealthMonitor(redis, load_rules(settings.health.rules_path())).queue_stats(time.time())
               if s.name == REPLY_QUEUE]
    waiting = stats.by_channel.get(channel)
    return stats.last_failure, None if waiting is None else waiting.last_failure


def test_an_sms_reply_waiting_for_a_retry_names_the_host_and_the_kind(test_env: TestEnvironment,
                                                                       redis: Redis) -> None:
    """"lapor-reply: oldest job waiting 12 min (0 queued, 40 retrying; last failure: aggregator_timeout)" named
    neither the host nor how it failed while the replies were still retried; their dead letters did. A retried
    reply records what its dead letter would say."""
    settings = aggregator_settings(test_env, LAPOR_QUEUES_RETRY_INTERVALS="600")
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        router.get(url__startswith=AGGREGATOR_SEND_URL).mock(side_effect=httpx.ReadTimeout("slow"))
        OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="help", text=render("help", "id"),
                                                     language="id", tracking_id=None, to=NUMBER)
        drain(settings, (REPLY_QUEUE,))
    said = f"aggregator_timeout (timed out): ReadTimeout talking to {AGGREGATOR_HOST}"
    assert retrying_reply_failure(redis, settings, "sms-aggregator") == (said, said)
    assert DeadLetters(redis).list() == []  # still retried


def test_an_x_reply_waiting_for_a_retry_names_the_host_and_the_kind(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(**fake.env(), LAPOR_QUEUES_RETRY_INTERVALS="600")
    fake.fail("/x/2/tweets", 503, method="POST")
    enqueue_calls(redis, settings, REPLY_QUEUE, "workers.social_reply.send_social_reply",
                  [("twitter", {"tweet_id": X_TARGET}, "social_ack", "10000012", "id")])
    run_replies(settings, redis)
    said = f"x_server (server error): {fake.url.removeprefix('http://')} answered 503 Service Unavailable"
    assert retrying_reply_failure(redis, settings, "x") == (said, said)


def test_a_mail_reply_waiting_for_a_retry_names_the_relays_host_and_the_kind(
    test_env: TestEnvironment, redis: Redis, relay_for: Callable[[str], int]
) -> None:
    port = relay_for("")
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                                 LAPOR_EMAIL_RELAY_PORT=str(port), LAPOR_QUEUES_RETRY_INTERVALS="600",
                                 LAPOR_EMAIL_RELAY_STARTTLS="false")
    mail_received(settings, redis)
    run_replies(settings, redis)
    said = f"relay_unreachable (no connection): ConnectionRefusedError talking to 127.0.0.1:{port}"
    assert retrying_reply_failure(redis, settings, "email") == (said, said)


def test_a_retried_replys_failure_is_cleaned_as_it_is_written() -> None:
    """A release before the one that wrote it shows a job's last failure as it finds it: written clean (one line,
    scrubbed, cut), whatever a provider put in the words it is made of."""
    from gateway.health.signals import REASON_LIMIT, retry_reason

    said = "api.x.com answered 503 Service Unavailable\nbudi.santoso1987@gmail.com +6281234567802 " + "x" * 300
    written = retry_reason("x_server", said, "server")
    assert written.startswith("x_server (server error): api.x.com answered 503 Service Unavailable [email] [phone]")
    assert "\n" not in written and len(written) == REASON_LIMIT


@pytest.mark.parametrize(
    ("body", "tried_again_in", "said", "not_said"),
    [
        # the 15-minute window's reset ends a posting limit: tried again then
        pytest.param("too_many_requests.json", 30, "replies rate limited (1 put off", "held by the usage cap",
                     id="the-posting-rate-limit"),
        # no window's reset ends the plan's cap (xdevplatform/xdk#25: the window nearly untouched): tried again
        # after the channel's longest wait, and the view names no end of it
        pytest.param("usage_capped.json", 900, "replies held by the usage cap (1 put off", "; until ",
                     id="the-plans-usage-cap"),
    ],
)
def test_an_x_reply_put_off_by_a_429_is_tried_again_when_that_429_may_have_ended(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, body: str, tried_again_in: float, said: str,
    not_said: str,
) -> None:
    """A reply held by the plan's usage cap was tried again at the 15-minute window's reset, which X's headers give
    with every 429 (a minute once it had passed): each held reply was posted again about once a minute for its 24
    hours, and the view said "until" a time half a minute away while its step said nothing goes out before the plan's
    next period. It now waits the channel's `rate_limit_max_wait_seconds`, and the view says when it is tried again."""
    settings = test_env.settings(**fake.env(), LAPOR_X_RATE_LIMIT_MAX_WAIT_SECONDS="900")
    fake.fail("/x/2/tweets", 429, body=social_fixture(f"x/{body}"), method="POST",
              headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "99",
                       "x-rate-limit-reset": str(int(time.time()) + 30)})
    enqueue_calls(redis, settings, REPLY_QUEUE, "workers.social_reply.send_social_reply",
                  [("twitter", {"tweet_id": X_TARGET}, "social_ack", "10000012", "id")])
    run_replies(settings, redis)
    scheduled = queue(REPLY_QUEUE, redis).scheduled_job_registry
    [job_id] = scheduled.get_job_ids()
    when = scheduled.get_expiration_time(queue(REPLY_QUEUE, redis).fetch_job(job_id)).timestamp() - time.time()
    assert tried_again_in - 5 < when <= tried_again_in + 1, when
    signals = HealthMonitor(redis, load_rules(settings.health.rules_path())).read_signals(time.time())["x"]
    finding = next(f for f in evaluate("x", signals, (), ChannelRules(), time.time()).findings
                   if f.rule == "reply_rate_limited")
    assert said in finding.reason and not_said not in finding.reason, finding.reason
