"""Each health rule drives a channel to degraded or down and back, over real Redis, with exactly one
`channel.health` line per change of state (and none when nothing changes)."""

from __future__ import annotations

import functools
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client import REGISTRY
from redis import Redis
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from channels.base import WebhookAdapter
from channels.registry import WEBHOOK_ADAPTERS, disabled_channels
from gateway.app import GATEWAY_KEY, create_app
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import OFF_REASON, ChannelHealth, Finding, QueueStats, State, load_rules
from gateway.health.signals import THROTTLED_RUN_GAP_SECONDS, HealthSignals
from gateway.liveness import ServingBeat
from gateway.queues import ALL_QUEUES, FORWARD_FUNC, FORWARD_QUEUE, enqueue_calls, queue, redis_connection
from gateway.settings import CONFIG_DIR, Settings
from gateway.status_page import render_status_page
from tests.aggregator_support import post_callback, sign
from tests.conftest import (
    GatewayServer,
    TestEnvironment,
    async_wait_until,
    free_port,
    log_events,
    serve_beat,
    serve_channels,
    serving_gateway,
)
from tests.social_helpers import IG_SECRET, IG_TOKEN, IG_USER_ID, IG_VERIFY, fixture_bytes
from workers.deadletters import DeadLetters
from workers.reaper import ALIVE_KEY, note_worker_seen

Action = Callable[[Redis, HealthSignals, Settings, float], None]


def health_lines(stream: io.StringIO, channel: str) -> list[dict[str, object]]:
    return [e for e in log_events(stream) if e["event"] == "channel.health" and e["channel"] == channel]


def nothing(*_: object) -> None:
    """A step that only lets time pass."""


def call(method: str, *args: object, **kwargs: object) -> Action:
    def act(_: Redis, signals: HealthSignals, __: Settings, ___: float) -> None:
        getattr(signals, method)(*args, **kwargs)

    act.__name__ = method
    return act


def add_dead_letters(channel: str, count: int) -> Action:
    def act(redis: Redis, _: HealthSignals, __: Settings, ___: float) -> None:
        registry = DeadLetters(redis)
        for index in range(count):
            registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[f"9{index:07d}"]],
                             tracking_id=f"9{index:07d}", item=f"{channel}-{time.time_ns()}-{index}",
                             reason="casestore_422", detail="agency code unknown", channel=channel)

    return act


def rate_limited_for(channel: str, seconds: float) -> Action:
    def act(_: Redis, signals: HealthSignals, __: Settings, start: float) -> None:
        signals.rate_limited(channel, until=start + seconds)

    return act


def reply_put_off(channel: str, until: float) -> Action:
    """A reply told to wait (429), put off until `until` seconds after the start of the case."""
    def act(_: Redis, signals: HealthSignals, __: Settings, start: float) -> None:
        signals.reply_rate_limited(channel, until=start + until)

    return act


def serving_beat(process: str, *channels: str, instance: str = "1", webhooks: tuple[str, ...] = ()) -> Action:
    """Instance `instance` of the SMTP server or pollers process saying it is alive (at the case's clock); an HTTP
    gateway says so for the webhooks it answers of channels the pollers fetch (`webhooks`: Instagram's) too."""

    def act(redis: Redis, _: HealthSignals, __: Settings, ___: float) -> None:
        beat = PROCESSES.setdefault((process, instance), ServingBeat(redis, process, channels,
                                                                     clock=lambda: CLOCK["now"], webhooks=webhooks))
        assert beat.beat()

    act.__name__ = f"{process}_{instance}_beat"
    return act


# The channels an HTTP gateway beats for (with every webhook channel on): those it receives, and the webhooks it
# answers of channels the pollers fetch (`tests.conftest.serve_channels`).
SERVED, WEBHOOKS = serve_channels()

# An HTTP gateway answering Instagram's webhook (it receives no channel of its own in these cases).
WEBHOOK_ANSWERED = serving_beat("serve", instance="webhook", webhooks=("instagram",))


def live_worker(redis: Redis, queues: tuple[str, ...] = ALL_QUEUES, *, name: str = "lapor-test-p1-abcdef",
                at: float | None = None) -> None:
    """A worker alive on `queues`, as RQ registers it and its liveness thread beats (workers.reaper.Liveness)."""
    for queue_name in queues:
        redis.sadd(WORKERS_BY_QUEUE_KEY % queue_name, f"rq:worker:{name}")
    redis.set(ALIVE_KEY.format(name=name), "1", ex=3600)
    note_worker_seen(redis, queues, at=at)


def worker_beat(*queues: str) -> Action:
    """The worker of `queues` saying it is alive (at the case's clock)."""

    def act(redis: Redis, _: HealthSignals, __: Settings, ___: float) -> None:
        live_worker(redis, queues, name=f"lapor-test-p1-{'-'.join(queues)}", at=CLOCK["now"])

    return act


def kill_worker(*queues: str) -> Action:
    """A killed worker's liveness key expires within 5 s; its last time seen stays."""

    def act(redis: Redis, _: HealthSignals, __: Settings, ___: float) -> None:
        redis.delete(ALIVE_KEY.format(name=f"lapor-test-p1-{'-'.join(queues)}"))

    return act


def steps(*actions: Action) -> Action:
    def act(redis: Redis, signals: HealthSignals, settings: Settings, start: float) -> None:
        for action in actions:
            action(redis, signals, settings, start)

    return act


def kill_serving_process(redis: Redis, _: HealthSignals, __: Settings, ___: float) -> None:
    """A process killed says nothing: only its last beat stays."""


def requeue_dead_letters(redis: Redis, _: HealthSignals, settings: Settings, __: float) -> None:
    registry = DeadLetters(redis)
    registry.requeue(registry.select(None), settings)
    queue(FORWARD_QUEUE, redis).empty()


def enqueue_forward_job(redis: Redis, _: HealthSignals, settings: Settings, __: float) -> None:
    enqueue_calls(redis, settings, FORWARD_QUEUE, FORWARD_FUNC, [(["10000011"],)])


def empty_forward_queue(redis: Redis, _: HealthSignals, __: Settings, ___: float) -> None:
    queue(FORWARD_QUEUE, redis).empty()


@dataclass(frozen=True)
class Step:
    at: float  # seconds after the start of the case
    action: Action
    state: str


@dataclass(frozen=True)
class RuleCase:
    id: str
    channel: str
    steps: tuple[Step, ...]
    # The HTTP gateway, SMTP server and pollers processes beat before every step, as in a healthy deployment; off for
    # the cases about them.
    processes_beating: bool = True
    # A worker on every queue beats before every step; off for the cases about workers.
    workers_beating: bool = True


CASES = [
    RuleCase("poller failing", "x", (
        Step(0, call("poll_failed", "x", "timeout talking to the API"), "ok"),
        Step(130, call("poll_failed", "x", "timeout talking to the API"), "degraded"),
        Step(200, nothing, "degraded"),
        Step(700, call("poll_failed", "x", "HTTP 503"), "down"),
        Step(710, call("poll_succeeded", "x"), "ok"),
    )),
    RuleCase("rate limited", "instagram", (
        Step(0, rate_limited_for("instagram", 5000), "ok"),
        Step(400, rate_limited_for("instagram", 5000), "degraded"),
        Step(1900, nothing, "down"),
        Step(1910, call("poll_succeeded", "instagram"), "ok"),
    )),
    # A poll that goes through says nothing of replies: X limits posting apart from reading.
    RuleCase("replies rate limited", "x", (
        Step(0, reply_put_off("x", 900), "degraded"),
        Step(600, call("poll_succeeded", "x"), "degraded"),
        Step(901, nothing, "ok"),  # no reply put off any more
        Step(1000, reply_put_off("x", 1900), "degraded"),
        Step(1001, steps(*[reply_put_off("x", 1900)] * 50), "degraded"),  # never down: dead letters are
        Step(1002, call("reply_sent", "x"), "ok"),
    )),
    RuleCase("authentication", "email", (
        Step(0, call("auth_failed", "email", "IMAP LOGIN refused"), "degraded"),
        Step(1, call("auth_failed", "email", "IMAP LOGIN refused"), "degraded"),
        Step(2, call("auth_failed", "email", "IMAP LOGIN refused"), "down"),
        Step(3, call("poll_succeeded", "email"), "ok"),
    )),
    RuleCase("dead letters rising", "sms-twilio", (
        Step(0, add_dead_letters("sms-twilio", 1), "degraded"),
        Step(1, add_dead_letters("sms-twilio", 19), "down"),
        Step(2, requeue_dead_letters, "ok"),
    )),
    RuleCase("dead letters age out of the window", "x", (
        Step(0, add_dead_letters("x", 2), "degraded"),
        Step(901, nothing, "ok"),
    )),
    RuleCase("replies failing", "x", (
        Step(0, call("reply_failed", "x", "403 duplicate status"), "ok"),
        Step(1, call("reply_failed", "x", "403 duplicate status"), "ok"),
        Step(2, call("reply_failed", "x", "403 duplicate status"), "degraded"),
        Step(3, call("reply_sent", "x"), "ok"),
    )),
    RuleCase("forward queue too old", "sms-aggregator", (
        Step(0, enqueue_forward_job, "ok"),
        Step(400, nothing, "degraded"),
        Step(2000, nothing, "down"),
        Step(2001, empty_forward_queue, "ok"),
    )),
    RuleCase("quiet for longer than usual", "email", (
        Step(0, call("message_received", "email"), "ok"),
        Step(21700, nothing, "degraded"),
        Step(21701, call("message_received", "email"), "ok"),
    )),
    # The gateway writes "last message" at most once a second: a valid SMS within that second of the write before
    # is written by the next check, not left until the next valid SMS with the channel down meanwhile.
    RuleCase("a valid SMS within a second of the last ends a run of bad signatures", "sms-twilio", (
        Step(0, call("message_received", "sms-twilio"), "ok"),
        Step(0.2, steps(*[call("signature_failed", "sms-twilio", "signature_invalid")] * 20), "down"),
        Step(0.5, call("message_received", "sms-twilio"), "ok"),
    )),
    # A status query or a message already received is answered while no new report can be filed (a used-up ID range
    # answers a provider's retry from its claim): only a new report taken ends a run of refusals.
    RuleCase("a run of refused reports, ended by a new report only", "sms-aggregator", (
        Step(0, call("intake_refused", "sms-aggregator", "redis_unavailable"), "degraded"),
        Step(1, call("message_received", "sms-aggregator"), "degraded"),
        Step(2, steps(*[call("intake_refused", "sms-aggregator", "redis_unavailable")] * 4), "down"),
        Step(3, call("message_received", "sms-aggregator", report=True), "ok"),
    )),
    # The mail is noted as it comes in (a write), the report it becomes a moment later: that one is written too.
    RuleCase("a used-up ID range is down at once, and a report within a second of the last write ends it", "email", (
        Step(0, call("message_received", "email"), "ok"),
        Step(0.2, call("intake_refused", "email", "id_range_exhausted"), "down"),
        Step(0.4, call("message_received", "email"), "down"),
        Step(0.5, call("message_received", "email", report=True), "ok"),
    )),
    RuleCase("SMTP server process killed, then started again", "email", (
        Step(0, serving_beat("smtp", "email"), "ok"),
        Step(29, kill_serving_process, "ok"),
        Step(31, nothing, "down"),
        Step(600, nothing, "down"),
        Step(601, serving_beat("smtp", "email"), "ok"),
    ), processes_beating=False),
    RuleCase("every HTTP gateway killed: the SMS it receives", "sms-twilio", (
        Step(0, steps(serving_beat("serve", *SERVED, instance="a"),
                      serving_beat("serve", *SERVED, instance="b")), "ok"),
        Step(20, serving_beat("serve", *SERVED, instance="b"), "ok"),  # a killed at 0 s
        Step(49, nothing, "ok"),
        Step(51, nothing, "down"),  # b killed at 20 s
        Step(52, serving_beat("serve", *SERVED, instance="a"), "ok"),
    ), processes_beating=False),
    RuleCase("pollers process never started", "x", (
        Step(0, nothing, "ok"),  # a grace from when monitoring began: `make run` starts everything at once
        Step(31, nothing, "down"),
        Step(40, serving_beat("pollers", "x-mentions"), "ok"),  # the poller's source name counts for its channel
    ), processes_beating=False),
    RuleCase("any one of two pollers processes alive is enough", "instagram", (
        Step(0, steps(serving_beat("pollers", "instagram", instance="a"),
                      serving_beat("pollers", "instagram", instance="b"), WEBHOOK_ANSWERED), "ok"),
        # a killed at 0 s; b goes on
        Step(50, steps(serving_beat("pollers", "instagram", instance="b"), WEBHOOK_ANSWERED), "ok"),
        Step(100, steps(serving_beat("pollers", "instagram", instance="b"), WEBHOOK_ANSWERED), "ok"),
        Step(140, WEBHOOK_ANSWERED, "down"),  # b killed at 100 s
        Step(141, steps(serving_beat("pollers", "instagram", instance="a"), WEBHOOK_ANSWERED), "ok"),
    ), processes_beating=False),
    # Instagram comes two ways: the gateway answers its webhook, the pollers fetch. Only the pollers beat for it, and
    # with every gateway gone it read ok while its webhooks went unanswered.
    RuleCase("instagram's webhook gateway killed: degraded; its pollers killed too: down", "instagram", (
        Step(0, steps(serving_beat("pollers", "instagram"), WEBHOOK_ANSWERED), "ok"),
        Step(29, serving_beat("pollers", "instagram"), "ok"),  # the gateway killed at 0 s
        Step(31, serving_beat("pollers", "instagram"), "degraded"),
        Step(300, serving_beat("pollers", "instagram"), "degraded"),
        Step(340, nothing, "down"),  # the pollers killed at 300 s
        Step(341, serving_beat("pollers", "instagram"), "degraded"),
        Step(342, WEBHOOK_ANSWERED, "ok"),
    ), processes_beating=False),
    # Nothing queued: only the worker rule can tell.
    RuleCase("forward worker killed, then started again", "sms-aggregator", (
        Step(0, steps(worker_beat(FORWARD_QUEUE), worker_beat("lapor-reply", "lapor-status")), "ok"),
        Step(10, kill_worker(FORWARD_QUEUE), "ok"),
        Step(29, worker_beat("lapor-reply", "lapor-status"), "ok"),
        Step(31, worker_beat("lapor-reply", "lapor-status"), "degraded"),
        Step(600, worker_beat("lapor-reply", "lapor-status"), "degraded"),
        Step(601, worker_beat(FORWARD_QUEUE), "ok"),
    ), workers_beating=False),
    # Only the aggregator queues status jobs: its CEK queries go unanswered with no status worker.
    RuleCase("status worker killed, then started again", "sms-aggregator", (
        Step(0, steps(worker_beat(FORWARD_QUEUE, "lapor-reply"), worker_beat("lapor-status")), "ok"),
        Step(10, kill_worker("lapor-status"), "ok"),
        Step(29, worker_beat(FORWARD_QUEUE, "lapor-reply"), "ok"),
        Step(31, worker_beat(FORWARD_QUEUE, "lapor-reply"), "degraded"),
        Step(600, worker_beat(FORWARD_QUEUE, "lapor-reply"), "degraded"),
        Step(601, worker_beat("lapor-status"), "ok"),
    ), workers_beating=False),
    RuleCase("no reply worker ever started", "email", (
        Step(0, worker_beat(FORWARD_QUEUE), "ok"),  # monitoring began: a grace, as for the processes
        Step(31, worker_beat(FORWARD_QUEUE), "degraded"),
        Step(40, steps(worker_beat(FORWARD_QUEUE), worker_beat("lapor-reply", "lapor-status")), "ok"),
    ), workers_beating=False),
]
# The case's clock, and its serving processes by (process, instance), for the beats its steps make.
CLOCK = {"now": 0.0}
PROCESSES: dict[tuple[str, str], ServingBeat] = {}


def changes(states: list[str]) -> int:
    previous, count = "ok", 0
    for state in states:
        count += state != previous
        previous = state
    return count


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_rule_drives_a_channel_there_and_back_with_one_line_per_change(
    case: RuleCase, redis: Redis, settings: Settings, log_stream: io.StringIO
) -> None:
    start = time.time()  # dead letters and jobs carry real times: the case's clock starts now
    clock = CLOCK
    clock["now"] = start
    PROCESSES.clear()
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    # As in the gateway: the check writes what its process noted and has not written yet.
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"],
                            signals=signals)
    seen: list[str] = []
    for step in case.steps:
        clock["now"] = start + step.at
        if case.processes_beating:
            serving_beat("serve", *SERVED, webhooks=tuple(WEBHOOKS))(redis, signals, settings, start)
            serving_beat("smtp", "email")(redis, signals, settings, start)
            serving_beat("pollers", "x", "instagram")(redis, signals, settings, start)
        if case.workers_beating:
            live_worker(redis, at=clock["now"])
        step.action(redis, signals, settings, start)
        document = monitor.check()
        monitor.check()  # evaluating again without a change logs nothing
        state = next(c for c in document["channels"] if c["channel"] == case.channel)
        assert state["state"] == step.state, (step, state["reason"])
        seen.append(step.state)
        lines = health_lines(log_stream, case.channel)
        assert len(lines) == changes(seen), step
        if step.state != (["ok", *seen][-2]):  # the log line says what the views say, times and all
            assert lines[-1]["reason"] == (state["reason"] or "all rules pass"), step
    lines = health_lines(log_stream, case.channel)
    assert [line["state"] for line in lines] == [s for i, s in enumerate(seen) if s != (["ok", *seen][i])]
    assert all(line["reason"] for line in lines)
    assert lines[-1]["state"] == "ok"


def test_a_run_of_replies_put_off_starts_afresh_after_a_reply_sent(redis: Redis) -> None:
    """A 429 after a reply went out counts from itself, not from the run before it; a reply put off to an earlier
    time does not end the wait of one put off further."""
    clock = {"now": 1_800_000_000.0}
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])

    def put_off() -> str | None:
        x = next(c for c in monitor.check()["channels"] if c["channel"] == "x")
        return {f["rule"]: f["reason"] for f in x["findings"]}.get("reply_rate_limited")

    signals.reply_rate_limited("x", until=clock["now"] + 900)
    signals.reply_rate_limited("x", until=clock["now"] + 60)
    clock["now"] += 120
    assert put_off() == ("replies rate limited (2 put off since 2027-01-15 08:00:00Z, none sent since; until "
                         "2027-01-15 08:15:00Z)")
    clock["now"] += 3600
    signals.reply_sent("x")
    clock["now"] += 7200
    signals.reply_rate_limited("x", until=clock["now"] + 900)
    assert put_off() == ("replies rate limited (1 put off since 2027-01-15 11:02:00Z, none sent since; until "
                         "2027-01-15 11:17:00Z)")


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        # (process, seconds): process "a" writes at 0 and notes 0.5 within its second; "b" writes 0.8.
        pytest.param([("a", 0), ("a", 0.5), ("b", 0.8)], 0.8, id="a-later-message-of-another-process-stays"),
        pytest.param([("a", 0), ("b", 0.3), ("a", 0.5)], 0.5, id="the-latest-message-is-written-late"),
    ],
)
def test_last_message_written_late_never_goes_back_past_another_processs(
    redis: Redis, notes: list[tuple[str, float]], expected: float
) -> None:
    """What a process noted within its second is written by its next check, maybe after another process wrote a
    later message: "last message" keeps the later one."""
    clock = {"now": 0.0}
    start = time.time()
    processes = {name: HealthSignals(redis, clock=lambda: clock["now"]) for name in ("a", "b")}
    for name, at in notes:
        clock["now"] = start + at
        processes[name].message_received("sms-twilio")
    for signals in processes.values():
        signals.write_unwritten()
    written = float(redis.hget("lapor:health:signals:sms-twilio", "last_message_at") or 0)
    assert written == start + expected


def test_a_report_noted_before_a_refusal_and_written_after_it_does_not_end_it(redis: Redis) -> None:
    """A report within the second of the write before waits for the next write: by then a refusal may have come
    (another process's, or this one's), which it must not end."""
    clock = {"now": time.time()}
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])
    signals.message_received("sms-twilio", report=True)
    clock["now"] += 0.3
    signals.message_received("sms-twilio", report=True)  # within the second: noted, not written
    clock["now"] += 0.2
    HealthSignals(redis, clock=lambda: clock["now"]).intake_refused("sms-twilio", "id_range_exhausted")
    signals.write_unwritten()
    twilio = next(c for c in monitor.check()["channels"] if c["channel"] == "sms-twilio")
    assert twilio["state"] == "down" and "id_range_exhausted" in twilio["reason"]
    clock["now"] += 0.1
    signals.message_received("sms-twilio", report=True)  # a report after the refusal
    signals.write_unwritten()
    assert next(c for c in monitor.check()["channels"] if c["channel"] == "sms-twilio")["state"] == "ok"


def test_a_report_right_after_its_message_is_written_at_once_where_no_check_runs(redis: Redis) -> None:
    """The SMTP server notes a mail as it comes in (a write) and the report it became a moment later. No health check
    runs there to write what it noted late: the report has a second of its own, or the e-mail channel stayed down
    after the range was extended, until a mail came more than a second after the last write."""
    clock = {"now": time.time()}
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    signals.message_received("email-smtp")
    clock["now"] += 0.1
    signals.intake_refused("email-smtp", "id_range_exhausted")
    clock["now"] += 0.1
    signals.message_received("email-smtp")  # the next mail, as it comes in: not written (within the second)
    assert int(redis.hget("lapor:health:signals:email", "intake_refusals") or 0) == 1
    clock["now"] += 0.1
    signals.message_received("email-smtp", report=True)  # ... and the report it became
    assert int(redis.hget("lapor:health:signals:email", "intake_refusals") or 0) == 0



@dataclass(frozen=True)
class NotedCase:
    id: str
    channel: str
    events: list[tuple[str, float]]  # ("valid" | "refused" | "message", seconds)
    writes: list[str]  # the Redis writes the process made, by kind
    failures: int = 0  # the channel's signature_failures after the last event, with no check run


NOTED_CASES = [
    NotedCase("a-first-valid-signature-is-written", "instagram", [("valid", 0)], ["signature_valid"]),
    NotedCase("a-burst-of-valid-signatures-is-one-write-a-second", "instagram",
              [("valid", at) for at in (0, 0.1, 0.2, 0.5, 0.9, 1.0, 1.5)], ["signature_valid"] * 2),
    NotedCase("a-valid-signature-after-a-refusal-is-written-at-once", "instagram",
              [("valid", 0), ("refused", 0.1), ("refused", 0.15), ("valid", 0.2), ("valid", 0.3)],
              ["signature_valid", "signature_failed", "signature_failed", "signature_valid"]),
    NotedCase("a-valid-sms-after-a-refusal-is-written-at-once", "sms-twilio",
              [("message", 0), ("refused", 0.2), ("refused", 0.3), ("message", 0.5), ("message", 0.6)],
              ["message", "signature_failed", "signature_failed", "message"]),
    NotedCase("a-refusal-after-the-last-valid-signature-stands", "instagram",
              [("valid", 0), ("valid", 0.2), ("refused", 0.4)], ["signature_valid", "signature_failed"], 1),
]


def signature_checked_out(signals: HealthSignals, channel: str) -> None:
    """What the gateway does for a validly signed webhook request (`Gateway.note_signature_valid`), its write made
    here rather than on a thread."""
    if signals.note_signature_valid(channel):
        signals.write_noted(channel)


@pytest.mark.parametrize("case", NOTED_CASES, ids=[case.id for case in NOTED_CASES])
def test_valid_signatures_are_written_when_they_end_a_run_or_once_a_second(
    redis: Redis, monkeypatch: pytest.MonkeyPatch, case: NotedCase
) -> None:
    """Every validly signed Instagram notification was one Redis write, under a burst too, for a fact that only says
    something when it ends a run of refused signatures: written at once after a refusal this process saw, else at
    most once a second with what else was noted. A valid SMS after a refusal is written at once as well (it waited
    for the second, or the next check, with the channel down meanwhile)."""
    clock = {"now": time.time()}
    start = clock["now"]
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    writes: list[str] = []
    real_write = signals._write

    def recording(channel: str, kind: str, *args: object, **kwargs: object) -> bool:
        writes.append(kind)
        return real_write(channel, kind, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(signals, "_write", recording)
    act = {"valid": lambda: signature_checked_out(signals, case.channel),
           "refused": lambda: signals.signature_failed(case.channel, "signature_invalid"),
           "message": lambda: signals.message_received(case.channel)}
    for event, at in case.events:
        clock["now"] = start + at
        act[event]()
    assert writes == case.writes
    assert int(redis.hget(f"lapor:health:signals:{case.channel}", "signature_failures") or 0) == case.failures


@pytest.mark.parametrize("noted", ["message", "valid"])
def test_a_valid_signature_noted_before_refusals_and_written_after_them_does_not_end_them(
    redis: Redis, noted: str
) -> None:
    """A valid SMS or notification within the second of the write before waits for the next write (the check's):
    by then another process may have counted a run of refused signatures, which it must not end. Before, a message
    written late set the count back to 0 whatever came after it."""
    clock = {"now": time.time()}
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])
    channel = "instagram" if noted == "valid" else "sms-twilio"
    note = functools.partial(signature_checked_out, signals) if noted == "valid" else signals.message_received
    note(channel)
    clock["now"] += 0.3
    note(channel)  # within the second: noted, not written
    clock["now"] += 0.2
    other = HealthSignals(redis, clock=lambda: clock["now"])
    for _ in range(5):
        other.signature_failed(channel, "signature_invalid")
    clock["now"] += 0.1
    signals.write_unwritten()  # the gateway's check, first
    state = next(c for c in monitor.check()["channels"] if c["channel"] == channel)
    assert state["state"] == "degraded" and "webhook signatures refused (5 in a row" in state["reason"]
    clock["now"] += 0.1
    note(channel)  # one after the refusals: within the second of its last write, so noted
    signals.write_unwritten()
    assert next(c for c in monitor.check()["channels"] if c["channel"] == channel)["state"] == "ok"


def refused_by_the_rate_limit(signals: HealthSignals, channel: str) -> None:
    """What the gateway does for a webhook request its own rate limit refused (`Gateway.note_throttled`), its write
    made here rather than on a thread."""
    if signals.note_throttled(channel):
        signals.write_throttled(channel)


def test_refusals_by_our_own_rate_limit_are_written_in_batches_that_add_up_across_processes(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused request stays almost free: counted in the process, written at its first and then at most once a
    second per channel, the rest by the check's `write_unwritten`. Two gateway processes' counts add up, the run
    dates from its first refusal, and a refusal past THROTTLED_RUN_GAP_SECONDS after the last begins a new run."""
    clock = {"now": time.time()}
    start = clock["now"]
    one, two = (HealthSignals(redis, clock=lambda: clock["now"]) for _ in range(2))
    writes: list[str] = []
    real_write = HealthSignals._write

    def recording(self: HealthSignals, channel: str, kind: str, *args: object, **kwargs: object) -> bool:
        writes.append(kind)
        return real_write(self, channel, kind, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HealthSignals, "_write", recording)
    key = "lapor:health:signals:sms-twilio"

    def run() -> tuple[int, float, float]:
        raw = redis.hmget(key, "throttled", "throttled_since", "last_throttled_at")
        return int(raw[0] or 0), float(raw[1] or 0), float(raw[2] or 0)

    for step in range(30):  # 30 refusals in 1.5 s: written at the first, then once a second
        clock["now"] = start + step * 0.05
        refused_by_the_rate_limit(one, "sms-twilio")
    assert writes == ["throttled", "throttled"]
    assert run()[0] == 21
    clock["now"] = start + 1.6
    for _ in range(4):
        refused_by_the_rate_limit(two, "sms-twilio")  # another process's: its first written at once
    one.write_unwritten()  # each gateway's check writes what it still holds
    two.write_unwritten()
    assert len(writes) == 5 and not redis.hexists("lapor:health:signals:sms-aggregator", "throttled")
    assert run() == (34, start, start + 1.6)
    one.write_unwritten()  # nothing left: no write, nothing counted twice
    assert len(writes) == 5 and run()[0] == 34

    clock["now"] = start + 1.6 + THROTTLED_RUN_GAP_SECONDS + 1  # refusals again, after a quiet minute: a new run
    refused_by_the_rate_limit(one, "sms-twilio")
    assert run() == (1, clock["now"], clock["now"])

    clock["now"] += 0.5  # one more within the second: held, not written
    refused_by_the_rate_limit(one, "sms-twilio")
    assert run()[0] == 1
    clock["now"] += THROTTLED_RUN_GAP_SECONDS + 540  # and one ten minutes later, no check between: a run of its own,
    refused_by_the_rate_limit(one, "sms-twilio")  # not the held one's stretched over the gap
    assert run() == (1, clock["now"], clock["now"])


def test_refusals_by_our_own_rate_limit_that_redis_did_not_take_are_written_with_the_next(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": time.time()}
    start = clock["now"]
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    real_write = HealthSignals._write
    monkeypatch.setattr(HealthSignals, "_write", lambda *_, **__: False)  # Redis away
    for step in range(3):
        clock["now"] = start + step * 0.1
        refused_by_the_rate_limit(signals, "sms-twilio")
    signals.write_unwritten()
    monkeypatch.setattr(HealthSignals, "_write", real_write)
    clock["now"] = start + 2
    refused_by_the_rate_limit(signals, "sms-twilio")
    raw = redis.hmget("lapor:health:signals:sms-twilio", "throttled", "throttled_since", "last_throttled_at")
    assert (int(raw[0]), float(raw[1]), float(raw[2])) == (4, start, start + 2)


async def test_a_burst_of_valid_instagram_notifications_is_not_one_write_each(
    test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the gateway: a burst of validly signed notifications writes `signature_valid` about once a second,
    not once per notification, and a valid one after refused ones still ends their run at once."""
    settings = test_env.settings(LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET,
                                 LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY, LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN,
                                 LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID, LAPOR_HEALTH_EVALUATE_SECONDS="3600")
    body = fixture_bytes("instagram/webhook_comment_mention.json")
    writes: list[tuple[str, str]] = []
    real_write = HealthSignals._write

    def recording(self: HealthSignals, channel: str, kind: str, *args: object, **kwargs: object) -> bool:
        writes.append((channel, kind))
        return real_write(self, channel, kind, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HealthSignals, "_write", recording)
    app = create_app(settings, redis)
    gateway_state = app[GATEWAY_KEY]

    async def post(signature: str) -> int:
        return (await gateway.client.post("/v1/channels/instagram/webhook", content=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature})).status_code

    def valid_writes() -> int:
        return writes.count(("instagram", "signature_valid"))

    async with serving_gateway(settings, redis, app=app) as gateway:
        started = time.monotonic()
        for _ in range(20):
            assert await post(sign(body, IG_SECRET)) == 200
        took = time.monotonic() - started
        assert gateway_state.signal_writer is not None
        await async_wait_until(lambda: gateway_state.signal_writer.in_flight == 0)
        assert 1 <= valid_writes() <= took + 1
        before = valid_writes()
        assert await post(sign(body, "the-old-app-secret")) == 403
        assert await post(sign(body, IG_SECRET)) == 200
        await async_wait_until(lambda: gateway_state.signal_writer.in_flight == 0)
        assert valid_writes() == before + 1
    assert int(redis.hget("lapor:health:signals:instagram", "signature_failures") or 0) == 0


def test_a_check_while_a_reports_write_is_on_its_way_writes_it_itself(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway hands a due write to a thread and its views run the health check, which writes what was noted
    first. The thread took the report off the unwritten ones before its write reached Redis: a check in that moment
    found nothing to write and said the run of refusals the report ends was still on (a used-up ID range extended,
    the channel still down on the first view after the restart)."""
    clock = {"now": time.time()}
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])
    signals.intake_refused("sms-twilio", "id_range_exhausted")
    clock["now"] += 0.1
    on_its_way, let_go = threading.Event(), threading.Event()
    real_write = signals._write

    def slow_write(*args: object, **kwargs: object) -> bool:
        if threading.current_thread().name == "signal-writer":
            on_its_way.set()
            assert let_go.wait(10)
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(signals, "_write", slow_write)
    assert signals.note_message("sms-twilio", report=True)  # due: handed to a thread, as the gateway does
    writer = threading.Thread(target=signals.write_noted, args=("sms-twilio",), name="signal-writer")
    writer.start()
    try:
        assert on_its_way.wait(10)
        signals.write_unwritten()  # the check's first step, meanwhile
        twilio = next(c for c in monitor.check()["channels"] if c["channel"] == "sms-twilio")
        assert twilio["state"] == "ok", twilio
    finally:
        let_go.set()
        writer.join(10)
    assert int(redis.hget("lapor:health:signals:sms-twilio", "intake_refusals") or 0) == 0


def test_two_processes_evaluating_at_once_log_a_change_once(
    redis: Redis, redis_url: str, log_stream: io.StringIO
) -> None:
    rules = load_rules(CONFIG_DIR / "health.toml")
    HealthSignals(redis).auth_failed("x", "401")
    monitors = [HealthMonitor(Redis.from_url(redis_url), rules) for _ in range(8)]
    barrier = threading.Barrier(len(monitors))

    def run(monitor: HealthMonitor) -> None:
        barrier.wait()
        monitor.check()

    threads = [threading.Thread(target=run, args=(monitor,)) for monitor in monitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [line["state"] for line in health_lines(log_stream, "x")] == ["degraded"]


def test_a_health_result_older_than_the_one_applied_is_discarded(redis: Redis, log_stream: io.StringIO) -> None:
    """Two checks at once (the health loop's and a view's, or two gateways'), each evaluating at its own time: the one
    that evaluated first may store its result last. That older result took the state back (degraded, ok, degraded
    again: two `channel.health` lines and a gauge for a change that never happened). It is discarded."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    now = time.time()
    failing = ChannelHealth("x", State.DEGRADED, "authentication failing (1 in a row): 401")
    passing = ChannelHealth("x", State.OK, "")

    def shown() -> tuple[object, ...]:
        stored = orjson.loads(redis.hget("lapor:health:state", "x") or b"{}")
        return stored.get("state"), REGISTRY.get_sample_value("lapor_channel_state", {"channel": "x"})

    assert monitor.commit([failing], now) == {"x": State.OK}
    assert monitor.commit([passing], now - 1) == {}  # evaluated before the result stored: too late
    assert shown() == ("degraded", 1.0)
    assert monitor.commit([failing], now) == {}  # the same moment again is no older
    assert monitor.commit([passing], now + 1) == {"x": State.DEGRADED}
    assert shown() == ("ok", 0.0)
    assert [line["state"] for line in health_lines(log_stream, "x")] == ["degraded", "ok"]
    # A result stamped far ahead came from a clock that was wrong: it does not hold the state still until then.
    monitor.commit([failing], now + 3600)
    assert monitor.commit([passing], now + 2) == {"x": State.DEGRADED}


def test_a_check_that_read_before_another_is_discarded_though_it_evaluated_after_it(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """The SMTP server starts while email is down, as two checks run at once (the health loop's and a view's, or two
    gateways'). The view's check takes its time first and reads Redis after the first beat: ok. The loop's check,
    timed after it, read Redis before that beat and stores its result last: down. Its time alone said it was the
    newer, so it was kept, and the log said email ok, down and ok again within a second, an extra page for a server
    that had just come up. A result read from Redis before the one stored was is discarded, as one evaluated before
    it is."""
    start = float(int(time.time()))
    clock = {"now": start}
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])
    smtp = ServingBeat(redis, "smtp", ["email"], clock=lambda: clock["now"])
    live_worker(redis, at=start + 100)
    redis.zadd("lapor:health:serving:email", {"smtp:killed": start - 100})
    assert next(c for c in monitor.check()["channels"] if c["channel"] == "email")["state"] == "down"

    committing, let_go = threading.Event(), threading.Event()
    commit = monitor.commit

    def held_commit(*args: object, **kwargs: object) -> dict[str, State]:
        if threading.current_thread() is not threading.main_thread():
            committing.set()
            assert let_go.wait(10)
        return commit(*args, **kwargs)  # type: ignore[arg-type]

    monitor.commit = held_commit  # type: ignore[method-assign]
    loops = threading.Thread(target=monitor.check, kwargs={"now": start + 2})  # read before the beat
    loops.start()
    try:
        assert committing.wait(10)
        clock["now"] = start + 1.5
        assert smtp.beat()
        view = monitor.check(now=start + 1)  # timed before the loop's check, read after the beat
        assert next(c for c in view["channels"] if c["channel"] == "email")["state"] == "ok"
    finally:
        let_go.set()
        loops.join(10)
    assert orjson.loads(redis.hget("lapor:health:state", "email") or b"{}")["state"] == "ok"
    assert [line["state"] for line in health_lines(log_stream, "email")] == ["down", "ok"]
    clock["now"] = start + 3
    assert next(c for c in monitor.check()["channels"] if c["channel"] == "email")["state"] == "ok"
    assert [line["state"] for line in health_lines(log_stream, "email")] == ["down", "ok"]


def email_degraded_for_a_gone_worker(redis: Redis, clock: dict[str, float]) -> tuple[HealthMonitor, ServingBeat]:
    """A monitor on `clock` that found email degraded: its SMTP server beating, its worker gone for 100 s."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])
    smtp = ServingBeat(redis, "smtp", ["email"], clock=lambda: clock["now"])
    assert smtp.beat()
    note_worker_seen(redis, ALL_QUEUES, at=clock["now"] - 100)
    assert next(c for c in monitor.check()["channels"] if c["channel"] == "email")["state"] == "degraded"
    return monitor, smtp


def test_a_check_whose_workers_were_read_before_another_check_is_discarded(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """A worker starts again as two checks run at once. The loop's check read the workers (none alive yet), then the
    view's check read everything after the worker came up (ok) and stored it; the loop's read its signals last, so
    the stamp of its reads said it was the newer, and its "no worker" result was kept after the view's "ok": email
    degraded again for a check's interval, and logged so. A result whose reads began before the stored one's ended
    is discarded: the loop's, its workers read before the view's reads."""
    start = float(int(time.time()))
    clock = {"now": start}
    monitor, smtp = email_degraded_for_a_gone_worker(redis, clock)

    read, let_go = threading.Event(), threading.Event()
    queue_stats = monitor.queue_stats

    def held_queue_stats(now: float) -> list[QueueStats]:
        stats = queue_stats(now)
        if threading.current_thread() is not threading.main_thread():
            read.set()
            assert let_go.wait(10)
        return stats

    monitor.queue_stats = held_queue_stats  # type: ignore[method-assign]
    loops = threading.Thread(target=monitor.check, kwargs={"now": start + 2})  # its workers read before the start
    loops.start()
    try:
        assert read.wait(10)
        clock["now"] = start + 1.5
        live_worker(redis, at=clock["now"])
        assert smtp.beat()
        view = monitor.check(now=start + 1)
        assert next(c for c in view["channels"] if c["channel"] == "email")["state"] == "ok"
    finally:
        let_go.set()
        loops.join(10)
    assert orjson.loads(redis.hget("lapor:health:state", "email") or b"{}")["state"] == "ok"
    states = [line["state"] for line in health_lines(log_stream, "email")]
    assert states[-1] == "ok" and states.count("ok") == 1


def test_a_check_whose_reads_overlap_the_stored_ones_is_discarded(redis: Redis, log_stream: io.StringIO) -> None:
    """A view's check reads the signals; the loop's check reads its signals after it, then the workers (none alive
    yet); the worker comes back; the view reads the workers and stores "ok"; the loop stores "no worker". Stamped by
    its first read alone, the loop's result was the newer (its signals were read after the view's), and email went
    degraded again after its "ok". Its reads began before the stored result's ended: discarded."""
    start = float(int(time.time()))
    clock = {"now": start}
    monitor, _ = email_degraded_for_a_gone_worker(redis, clock)

    view_reading, view_go, loop_committing, loop_go = (threading.Event() for _ in range(4))
    queue_stats, commit = monitor.queue_stats, monitor.commit

    def held_queue_stats(now: float) -> list[QueueStats]:
        if threading.current_thread().name == "view":
            view_reading.set()
            assert view_go.wait(10)
        return queue_stats(now)

    def held_commit(*args: object, **kwargs: object) -> dict[str, State]:
        if threading.current_thread().name == "loop":
            loop_committing.set()
            assert loop_go.wait(10)
        return commit(*args, **kwargs)  # type: ignore[arg-type]

    monitor.queue_stats = held_queue_stats  # type: ignore[method-assign]
    monitor.commit = held_commit  # type: ignore[method-assign]
    view = threading.Thread(target=monitor.check, kwargs={"now": start + 1}, name="view")
    loop = threading.Thread(target=monitor.check, kwargs={"now": start + 2}, name="loop")
    try:
        view.start()
        assert view_reading.wait(10)  # the view's signals read
        loop.start()
        assert loop_committing.wait(10)  # the loop's signals, then its workers (none), read
        clock["now"] = start + 1.5
        live_worker(redis, at=clock["now"])
        view_go.set()
        view.join(10)
        assert orjson.loads(redis.hget("lapor:health:state", "email") or b"{}")["state"] == "ok"
    finally:
        view_go.set()
        loop_go.set()
        view.join(10)
        loop.join(10)
    assert orjson.loads(redis.hget("lapor:health:state", "email") or b"{}")["state"] == "ok"
    states = [line["state"] for line in health_lines(log_stream, "email")]
    assert states[-1] == "ok" and states.count("ok") == 1


def test_a_new_cause_within_the_same_state_is_logged_once_and_restarts_since(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """X degraded for a dead reply worker; the worker comes back as X's token is refused: still degraded, for another
    cause. Only a change of state was logged, so the log's last word on X was the missing worker (long fixed), never
    the token, and every view said "since" the worker died. A change of cause is one line; "since" starts again
    when no cause of before remains (a cause added or gone keeps it); the same cause in other words (2 in a row, not
    1) is no line."""
    start = float(int(time.time()))
    clock = {"now": start}
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"])
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    pollers = ServingBeat(redis, "pollers", ["x"], clock=lambda: clock["now"])

    def at(seconds: float, *queues: tuple[str, ...]) -> dict[str, object]:
        clock["now"] = start + seconds
        assert pollers.beat()
        for names in (queues or ((FORWARD_QUEUE,),)):
            live_worker(redis, names, name=f"lapor-test-p1-{'-'.join(names)}", at=clock["now"])
        return next(c for c in monitor.check()["channels"] if c["channel"] == "x")

    def when(seconds: float) -> str:
        return datetime.fromtimestamp(start + seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")

    assert at(0, (FORWARD_QUEUE,), ("lapor-reply", "lapor-status"))["state"] == "ok"
    redis.delete(ALIVE_KEY.format(name="lapor-test-p1-lapor-reply-lapor-status"))  # the reply worker killed
    x = at(41)
    assert (x["state"], x["reason"], x["since"]) == ("degraded", "lapor-reply: no live worker (last seen 41 s ago)",
                                                     when(41))
    signals.auth_failed("x", "401 Unauthorized")
    x = at(45, (FORWARD_QUEUE,), ("lapor-reply", "lapor-status"))  # the reply worker is back
    assert (x["state"], x["reason"]) == ("degraded", "authentication failing (1 in a row): 401 Unauthorized")
    assert x["since"] == when(45)
    signals.auth_failed("x", "401 Unauthorized")
    assert at(50)["reason"].startswith("authentication failing (2 in a row)")  # the same cause: no line
    signals.dead_lettered("x", "x-reply-1", "x_auth")
    assert (at(52)["since"], [f["rule"] for f in at(52)["findings"]]) == (when(45), ["auth", "deadletters"])
    signals.poll_succeeded("x")
    assert (at(55)["since"], at(55)["reason"].split(" ")[1]) == (when(45), "dead")
    redis.delete("lapor:health:deadletters:x")  # requeued
    assert at(57)["state"] == "ok"
    lines = [(line["state"], line["previous"], line["rules"]) for line in health_lines(log_stream, "x")]
    assert lines == [("degraded", "ok", ["worker_missing"]), ("degraded", "degraded", ["auth"]),
                     ("degraded", "degraded", ["auth", "deadletters"]), ("degraded", "degraded", ["deadletters"]),
                     ("ok", "degraded", [])]
    assert health_lines(log_stream, "x")[1]["reason"] == "authentication failing (1 in a row): 401 Unauthorized"


def test_a_clock_stepped_forward_is_no_process_or_worker_gone(redis: Redis, log_stream: io.StringIO) -> None:
    """The host's clock steps 10 min ahead (NTP after a resume, a VM migrated): the check that runs before the
    processes' next beat (they beat every 2 s, the check every 5 s) read every process as silent for 10 min and took
    every channel down ("no SMTP server process alive (last seen 10 min ago)", five error lines and five more back),
    and every queue as without a worker. The step is told by the monotonic clock, which does not step: the beats and
    workers are given their thresholds again from it, and one that stays silent past them is gone as ever."""
    start = float(int(time.time()))
    wall, steady = {"now": start}, {"now": 1000.0}
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: wall["now"],
                            monotonic=lambda: steady["now"])
    beats = [serve_beat(redis, clock=lambda: wall["now"]), *(
        ServingBeat(redis, process, channels, clock=lambda: wall["now"])
        for process, channels in (("smtp", ["email"]), ("pollers", ["x", "instagram"])))]

    def at(seconds: float, stepped: float = 0.0, *, beating: bool = True) -> dict[str, str]:
        wall["now"], steady["now"] = start + stepped + seconds, 1000.0 + seconds
        if beating:
            for beat in beats:
                assert beat.beat()
            live_worker(redis, at=wall["now"])
        return {c["channel"]: c["state"] for c in monitor.check()["channels"]}

    assert set(at(0).values()) == {"ok"}
    assert set(at(2).values()) == {"ok"}
    assert set(at(5, stepped=600, beating=False).values()) == {"ok"}  # before the next beats
    steps = [e for e in log_events(log_stream) if e["event"] == "health.clock_stepped"]
    assert [round(float(str(e["seconds"]))) for e in steps] == [600]
    assert set(at(7, stepped=600).values()) == {"ok"}
    states = at(40, stepped=600, beating=False)  # now every process is silent for 33 s: gone
    assert {states[name] for name in ("sms-twilio", "email", "x")} == {"down"}
    assert health_lines(log_stream, "email")[-1]["reason"] == "no SMTP server process alive (last seen 33 s ago)"
    assert len(health_lines(log_stream, "email")) == 1  # down once, never at the step


def test_a_state_an_older_version_stored_without_its_cause_keeps_its_since_and_logs_nothing(redis: Redis) -> None:
    """Upgraded beside a running deployment, the first check must not log every channel that is not ok as new."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    now = time.time()
    redis.hset("lapor:health:state", "x", orjson.dumps({"state": "degraded", "reason": "r", "since": now - 600,
                                                       "at": now - 5}))
    failing = ChannelHealth("x", State.DEGRADED, "authentication failing (1 in a row): 401",
                            (Finding("auth", State.DEGRADED, "authentication failing (1 in a row): 401"),))
    assert monitor.commit([failing], now) == {}
    assert orjson.loads(redis.hget("lapor:health:state", "x") or b"{}")["since"] == pytest.approx(now - 600)


async def post_signed(gateway: GatewayServer, channel: str, number: int, *, signature: str | None) -> int:
    """One SMS on `channel`'s webhook; `signature` "good" signs it right, anything else is sent as the signature."""
    if channel == "sms-twilio":
        form = gateway.twilio_form(Body="Jalan rusak", MessageSid=f"SM{number:032d}")
        signed = {} if signature == "good" else {"signature": signature}
        return (await gateway.post_twilio(form, **signed)).status_code
    fields = {"from": "081234567890", "to": "1708", "text": "LAPOR jalan rusak", "id": f"sig-{number}", "coding": "0"}
    sent = await post_callback(gateway.client, fields, signature="auto" if signature == "good" else signature)
    return sent.status_code


BAD_SIGNATURES = {"sms-twilio": "bm90IGEgc2lnbmF0dXJl", "sms-aggregator": "sha256=00ff"}


@pytest.mark.parametrize("channel", list(BAD_SIGNATURES))
async def test_bad_webhook_signatures_page_only_as_a_run_and_a_good_sms_ends_it(
    gateway: GatewayServer, redis: Redis, log_stream: io.StringIO, channel: str
) -> None:
    """Anyone can post to a webhook: a few refused signatures (three curls) leave the channel ok; a run of them
    (our secret wrong at the provider) degrades it at 5 and takes it down at 20; a valid SMS ends the run."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))

    def state() -> str:
        return next(c for c in monitor.check()["channels"] if c["channel"] == channel)["state"]

    async def refused(count: int) -> None:
        for _ in range(count):
            assert await post_signed(gateway, channel, 0, signature=BAD_SIGNATURES[channel]) == 403

    await refused(4)
    await async_wait_until(lambda: int(redis.hget(f"lapor:health:signals:{channel}", "signature_failures") or 0) == 4)
    assert state() == "ok"
    await refused(1)
    await async_wait_until(lambda: state() == "degraded")
    await refused(15)
    await async_wait_until(lambda: state() == "down")
    assert "webhook signatures refused (20 in a row" in health_lines(log_stream, channel)[-1]["reason"]
    assert "signature_invalid" in health_lines(log_stream, channel)[-1]["reason"]

    assert await post_signed(gateway, channel, 1, signature="good") == 200
    await async_wait_until(lambda: state() == "ok")
    assert [line["state"] for line in health_lines(log_stream, channel)] == ["degraded", "down", "ok"]


async def test_a_valid_instagram_notification_ends_a_run_of_refused_signatures(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """Instagram's webhook only notifies (the pollers process fetches the message): a valid notification was no
    message received by the gateway, so a run of refused signatures (the app secret rotated at Meta before here, then
    put right) kept the channel degraded, or down, until the poller next took a message. A valid one ends the run."""
    settings = test_env.settings(LAPOR_INSTAGRAM_ENABLED="true", LAPOR_INSTAGRAM_APP_SECRET=IG_SECRET,
                                 LAPOR_INSTAGRAM_VERIFY_TOKEN=IG_VERIFY, LAPOR_INSTAGRAM_ACCESS_TOKEN=IG_TOKEN,
                                 LAPOR_INSTAGRAM_IG_USER_ID=IG_USER_ID, LAPOR_HEALTH_EVALUATE_SECONDS="3600")
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    body = fixture_bytes("instagram/webhook_comment_mention.json")

    def instagram() -> dict[str, object]:
        return next(c for c in monitor.check()["channels"] if c["channel"] == "instagram")

    async def post(signature: str) -> int:
        return (await gateway.client.post("/v1/channels/instagram/webhook", content=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature})).status_code

    async with serving_gateway(settings, redis) as gateway:
        for _ in range(5):
            assert await post(sign(body, "the-old-app-secret")) == 403
        await async_wait_until(lambda: instagram()["state"] == "degraded")
        assert str(instagram()["reason"]).startswith("webhook signatures refused (5 in a row")
        assert await post(sign(body, IG_SECRET)) == 200
        await async_wait_until(lambda: instagram()["state"] == "ok")
    assert int(redis.hget("lapor:health:signals:instagram", "signature_failures") or 0) == 0


def test_a_provider_refusing_our_token_still_pages_at_once_and_bad_signatures_count_apart(redis: Redis) -> None:
    """A poll's 401 is our token refused: down at 3. A webhook's bad signatures are not added to that count."""
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"))
    signals = HealthSignals(redis)
    for _ in range(4):
        signals.signature_failed("instagram", "signature_invalid")
    instagram = next(c for c in monitor.check()["channels"] if c["channel"] == "instagram")
    assert instagram["state"] == "ok"
    for _ in range(3):
        signals.auth_failed("instagram", "400 OAuthException: token expired")
    instagram = next(c for c in monitor.check()["channels"] if c["channel"] == "instagram")
    assert instagram["state"] == "down" and instagram["reason"].startswith("authentication failing (3 in a row)")


def test_a_channel_disabled_in_settings_has_no_process_to_miss(redis: Redis, test_env: TestEnvironment) -> None:
    """The pollers process idles for a disabled social channel, `lapor-gateway smtp` with e-mail off: no beat is
    expected, so none missing may take the channel down."""
    settings = test_env.settings(LAPOR_EMAIL_ENABLED="false")  # and X, Instagram off by default
    assert disabled_channels(settings) == {"email", "x", "instagram"}
    assert disabled_channels(test_env.settings()) == {"x", "instagram"}
    start = time.time()
    clock = {"now": start}
    for disabled in (disabled_channels(settings), ()):
        redis.flushdb()
        clock["now"] = start
        monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"],
                                disabled=disabled)
        monitor.check()
        clock["now"] = start + 3600
        states = {c["channel"]: c["state"] for c in monitor.check()["channels"]}
        expected = "ok" if disabled else "down"
        assert {name: states[name] for name in ("email", "x", "instagram")} == dict.fromkeys(
            ("email", "x", "instagram"), expected)


def test_a_channel_disabled_in_settings_is_off_not_quiet(redis: Redis, test_env: TestEnvironment) -> None:
    """A channel switched off gets no message, by design: its quiet rule (the aggregator's hour, X's six hours,
    Instagram's twelve) made it degraded on every view with "no message since monitoring began", as if its traffic
    had stopped. It is ok, and every view says it is off."""
    settings = test_env.settings(LAPOR_AGGREGATOR_ENABLED="false")  # and X, Instagram off by default
    start = time.time()
    clock = {"now": start}
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: clock["now"],
                            disabled=disabled_channels(settings))
    monitor.check()
    clock["now"] = start + 2 * 86400
    document = monitor.check()
    channels = {c["channel"]: c for c in document["channels"]}
    for name in ("sms-aggregator", "x", "instagram"):
        assert (channels[name]["state"], channels[name]["reason"], channels[name]["findings"]) == (
            "ok", OFF_REASON, []), name
    assert "quiet" in {f["rule"] for f in channels["email"]["findings"]}  # on, and two days without a mail
    page = render_status_page(document, 30)
    for name in ("sms-aggregator", "x", "instagram"):
        section = page.split(f'id="channel-{name}"', 1)[1].split("</section>", 1)[0]
        assert f'<div class="reason">{OFF_REASON}</div>' in section and "no message" not in section, section


def test_a_channel_switched_off_after_its_replies_failed_is_shown_off_on_the_status_page(
        redis: Redis, test_env: TestEnvironment) -> None:
    """The aggregator's send URL answered 503 three times, then its operator switched it off: a run of failed replies
    ends only with a reply sent, which never comes, and the channel stayed degraded on `status` and the status page."""
    settings = test_env.settings(LAPOR_AGGREGATOR_ENABLED="false")
    now = time.time()
    signals = HealthSignals(redis, clock=lambda: now - 600)
    for _ in range(3):
        signals.reply_failed("sms-aggregator", "aggregator_503")
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: now,
                            disabled=disabled_channels(settings))
    document = monitor.check()
    aggregator = next(c for c in document["channels"] if c["channel"] == "sms-aggregator")
    assert (aggregator["state"], aggregator["reason"], aggregator["findings"]) == ("ok", OFF_REASON, [])
    section = render_status_page(document, 30).split('id="channel-sms-aggregator"', 1)[1].split("</section>", 1)[0]
    assert f'<div class="reason">{OFF_REASON}</div>' in section and "replies failing" not in section, section


@dataclass(frozen=True)
class LastTrouble:
    id: str
    record: Callable[[HealthSignals], object]  # what the channel met before it was switched off
    state: str  # the channel's state once switched off
    rule: str | None  # the rule still said, if any
    minutes_ago: float = 40  # when it was met, before the check: past every threshold (the rate limit's 30 min)


LAST_TROUBLES = [
    LastTrouble("token refused", lambda s: [s.auth_failed("x", "401 Unauthorized") for _ in range(3)], "ok", None),
    LastTrouble("polls failing", lambda s: s.poll_failed("x", "503 Service Unavailable"), "ok", None),
    LastTrouble("rate limited", lambda s: s.rate_limited("x"), "ok", None),
    LastTrouble("signatures refused", lambda s: [s.signature_failed("x", "signature_invalid") for _ in range(20)],
                "ok", None),
    LastTrouble("reports refused", lambda s: s.intake_refused("x", "id_range_exhausted"), "ok", None),
    # Only a reply sent ends a run of failed replies, and none is sent on a channel switched off.
    LastTrouble("replies failing", lambda s: [s.reply_failed("x", "403 Forbidden") for _ in range(10)], "ok", None),
    # What waits for an operator still counts.
    LastTrouble("a dead letter", lambda s: s.dead_lettered("x", "lapor-reply:x:1", "x_403"), "degraded",
                "deadletters", minutes_ago=1),
]


@pytest.mark.parametrize("row", LAST_TROUBLES, ids=[row.id for row in LAST_TROUBLES])
def test_a_channel_switched_off_is_not_held_to_what_its_poller_or_webhook_last_met(
        row: LastTrouble, redis: Redis) -> None:
    """X's token revoked, its operator switches X off until a new one comes: the three refusals in a row that no poll
    will ever end kept X down on every view, and `lapor-gateway status` exiting 2 at every cron run, for good."""
    now = time.time()
    row.record(HealthSignals(redis, clock=lambda: now - row.minutes_ago * 60))
    monitor = HealthMonitor(redis, load_rules(CONFIG_DIR / "health.toml"), clock=lambda: now, disabled={"x"})

    x = next(c for c in monitor.check()["channels"] if c["channel"] == "x")

    assert x["state"] == row.state, x
    assert [f["rule"] for f in x["findings"]] == ([row.rule] if row.rule else []), x
    if row.rule is None:
        assert x["reason"] == OFF_REASON


class _SecondAggregator(WebhookAdapter):
    """A webhook adapter the registry does not ship, switched by the aggregator's section (never instantiated)."""

    name = "sms-second"
    path = "/v1/channels/sms/second"
    settings_section = "aggregator"


@pytest.mark.parametrize(
    ("adapters", "switched_off", "disabled"),
    [
        pytest.param({}, "LAPOR_TWILIO_ENABLED", {"sms-twilio"}, id="twilio"),
        pytest.param({}, "LAPOR_AGGREGATOR_ENABLED", {"sms-aggregator"}, id="aggregator"),
        pytest.param({"sms-second": _SecondAggregator}, "LAPOR_AGGREGATOR_ENABLED", {"sms-aggregator", "sms-second"},
                     id="an-adapter-added-to-the-registry"),
        pytest.param({"sms-second": _SecondAggregator}, None, set(), id="an-added-adapter-switched-on"),
    ],
)
def test_a_webhook_adapter_switched_off_in_its_settings_section_is_a_disabled_channel(
    monkeypatch: pytest.MonkeyPatch, test_env: TestEnvironment, adapters: dict[str, type[WebhookAdapter]],
    switched_off: str | None, disabled: set[str],
) -> None:
    """A new webhook adapter is one line in channels.registry: its channel is known to be off by its name and its
    `settings_section`, with no second list of channels to keep in step."""
    for name, adapter in adapters.items():
        monkeypatch.setitem(WEBHOOK_ADAPTERS, name, adapter)
    settings = test_env.settings(**({switched_off: "false"} if switched_off else {}))
    assert disabled_channels(settings) == {"x", "instagram", *disabled}  # X and Instagram are off by default


def test_a_beat_without_redis_never_raises_and_is_logged_once_per_outage(
    redis: Redis, redis_url: str, log_stream: io.StringIO
) -> None:
    """The SMTP server keeps answering 451 and the pollers keep waiting while Redis is away: their beat must not
    end them, nor write a line every 2 s."""
    closed = redis_connection(f"redis://127.0.0.1:{free_port()}", timeout=0.2)  # as the processes connect
    beat = ServingBeat(closed, "smtp", ["email"])
    assert beat.beat() is False and beat.beat() is False
    beat._redis = redis_connection(redis_url)  # Redis is back
    assert beat.beat() is True
    events = [e["event"] for e in log_events(log_stream) if str(e["event"]).startswith("process.beat")]
    assert events == ["process.beat_failed", "process.beat_restored"]
    assert redis.zcard("lapor:health:serving:email") == 1
