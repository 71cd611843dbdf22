"""The lease that keeps one poller per account polling: real Redis, two holders of one account, short periods."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from channels.base import InboundMessage
from channels.instagram_graph import InstagramPoller, store_pending
from channels.pollers import Poller, poller_lease, run_poller
from channels.social import MentionIntake
from channels.x_mentions import XMentionsPoller
from channels.x_mentions import reply_target as x_reply_target
from gateway.intake import Intake
from gateway.lease import LEASE_KEY, Holder, Lease, lease_status, process_table, wait_holding, wait_holding_async
from gateway.metrics import health_channel
from gateway.queues import REPLY_QUEUE, queue
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind, utc_now
from tests.conftest import ProcessHandle, TestEnvironment, log_events, wait_until
from tests.social_helpers import IG_USER_ID, X_USER_ID, FakeProviderServer

PERIOD = 0.3  # seconds: short enough to see a lease expire in a test
ACCOUNT = "x:1708000000000000001"

# Steps: (who, what, expected result, who holds the key afterwards: "a", "b" or None).
# "expire" waits out the period without anyone renewing, as when the holder's process died.
CASES = {
    "take-a-free-lease": [("a", "take", True, "a")],
    "second-cannot-take-a-held-lease": [("a", "take", True, "a"), ("b", "take", False, "a")],
    "holder-renews": [("a", "take", True, "a"), ("a", "renew", True, "a")],
    "non-holder-cannot-renew": [("a", "take", True, "a"), ("b", "renew", False, "a")],
    "holder-loses-it-after-expiry": [("a", "take", True, "a"), ("-", "expire", None, None),
                                     ("a", "renew", False, None)],
    "standby-takes-over-after-expiry": [("a", "hold", True, "a"), ("b", "hold", False, "a"),
                                        ("-", "expire", None, None), ("b", "hold", True, "b"),
                                        ("a", "hold", False, "b")],
    "old-holder-cannot-renew-the-new-holders-lease": [("a", "take", True, "a"), ("-", "expire", None, None),
                                                      ("b", "take", True, "b"), ("a", "renew", False, "b")],
    "release-only-own": [("a", "take", True, "a"), ("b", "release", False, "a"), ("a", "release", True, None),
                         ("b", "take", True, "b")],
    "old-holder-cannot-release-the-new-holders-lease": [("a", "take", True, "a"), ("-", "expire", None, None),
                                                        ("b", "take", True, "b"), ("a", "release", False, "b")],
    "hold-keeps-renewing-past-the-period": [("a", "hold", True, "a"), ("-", "third", None, "a"),
                                            ("a", "hold", True, "a"), ("-", "third", None, "a"),
                                            ("a", "hold", True, "a"), ("-", "third", None, "a"),
                                            ("a", "hold", True, "a"), ("-", "third", None, "a"),
                                            ("b", "hold", False, "a")],
}


@pytest.mark.parametrize("steps", list(CASES.values()), ids=list(CASES))
def test_the_lease(redis: Redis, steps: list[tuple[str, str, bool | None, str | None]]) -> None:
    leases = {name: Lease(redis, ACCOUNT, PERIOD, channel="x-mentions", token=f"token-{name}") for name in "ab"}
    key = LEASE_KEY.format(account=ACCOUNT)
    for who, what, expected, holder in steps:
        if what == "expire":
            time.sleep(PERIOD + 0.1)
        elif what == "third":
            # A third of the period between two holds, four times: longer together than the period, while each
            # hold comes with two thirds of it to spare for a loaded machine (half of it spared too little there).
            time.sleep(PERIOD / 3 + 0.02)
        else:
            assert getattr(leases[who], what)() is expected, f"{who} {what}"
        value = redis.get(key)
        holding = Holder.parse(value) if value else None
        assert (holding.token.removeprefix("token-") if holding else None) == holder, f"after {who} {what}"
    if redis.get(key):
        assert 0 < redis.pttl(key) <= PERIOD * 1000


def test_the_lease_names_its_holder(redis: Redis) -> None:
    lease = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    assert lease.hold()
    holder = Holder.parse(redis.get(LEASE_KEY.format(account=ACCOUNT)) or b"")
    assert holder is not None and (holder.host, holder.pid) == (socket.gethostname(), os.getpid())


# -- taking over at once from a holder gone from this host ----------------------------------------------------------
def gone_pid() -> int:
    """The pid of a process that ran on this host and has exited (and been waited for)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process of this host that is alive for the whole test."""
    child = subprocess.Popen(["sleep", "60"])
    yield child.pid
    child.kill()
    child.wait()


THIS_HOST, OTHER_HOST = socket.gethostname(), "pollers-b.lapor.internal"
THIS_TABLE, OTHER_TABLE = process_table(), "4026530001"  # another pid namespace: a container sharing the host's name
# This process's pid namespace number alone, as a machine of the same name writes it too (the initial pid namespace is
# 4026531836 on every Linux host: cloned VMs, or hosts both called "localhost"), and that machine's own table.
PID_NAMESPACE = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
OTHER_MACHINE = f"{PID_NAMESPACE}@{uuid.uuid4()}"
# (host, process table, whose pid: "gone", "live", "ours", the reason poller.took_over logs or None when the lease is
# left alone)
TAKEOVERS = {
    "gone-pid-on-this-host": (THIS_HOST, THIS_TABLE, "gone", "holder_dead"),
    "our-pid-in-a-value-this-process-never-made": (THIS_HOST, THIS_TABLE, "ours", "holder_restarted"),
    "live-pid-on-this-host": (THIS_HOST, THIS_TABLE, "live", None),
    "gone-pid-on-another-host": (OTHER_HOST, THIS_TABLE, "gone", None),
    "our-pid-on-another-host": (OTHER_HOST, THIS_TABLE, "ours", None),
    "gone-pid-in-another-process-table-of-this-host": (THIS_HOST, OTHER_TABLE, "gone", None),
    "our-pid-in-another-process-table-of-this-host": (THIS_HOST, OTHER_TABLE, "ours", None),
    "a-holder-whose-table-was-not-known": (THIS_HOST, "", "gone", None),
    "gone-pid-named-by-this-hosts-name-and-pid-namespace-number-alone": (THIS_HOST, PID_NAMESPACE, "gone", None),
    "our-pid-named-by-this-hosts-name-and-pid-namespace-number-alone": (THIS_HOST, PID_NAMESPACE, "ours", None),
    "gone-pid-on-another-machine-of-this-name-and-pid-namespace": (THIS_HOST, OTHER_MACHINE, "gone", None),
    "our-pid-on-another-machine-of-this-name-and-pid-namespace": (THIS_HOST, OTHER_MACHINE, "ours", None),
}


@pytest.mark.parametrize(("host", "table", "whose", "reason"), list(TAKEOVERS.values()), ids=list(TAKEOVERS))
def test_a_lease_left_by_a_process_gone_from_this_host_is_taken_at_once(
    redis: Redis, log_stream: io.StringIO, live_pid: int, host: str, table: str, whose: str, reason: str | None
) -> None:
    pid = {"gone": gone_pid, "live": lambda: live_pid, "ours": os.getpid}[whose]()
    key, left = LEASE_KEY.format(account=ACCOUNT), f"{host}:{pid}:{table}:{secrets.token_hex(16)}"
    redis.set(key, left, px=60_000)  # far from expiring: only a takeover gets it during the test
    lease = Lease(redis, ACCOUNT, 60, channel="x-mentions")
    assert lease.hold() is (reason is not None)
    assert redis.get(key) == (lease.value if reason else left).encode()
    took = [e for e in log_events(log_stream) if e["event"] == "poller.took_over"]
    assert [(e["channel"], e["source"], e["reason"]) for e in took] == ([("x", "x-mentions", reason)] if reason else [])


def test_a_process_that_takes_a_lease_per_job_keeps_no_value_of_those_it_released(redis: Redis) -> None:
    """A reply worker takes a send lease per job: the values this process holds (what tells a live holder of ours
    from a predecessor with our pid) must not grow with every job."""
    from gateway.lease import _THIS_PROCESS

    before = set(_THIS_PROCESS)
    for n in range(5):
        first, second = (Lease(redis, f"reply:{n}", 60, channel="sms-aggregator") for _ in range(2))
        assert first.take() and not second.take() and not second.take_over()
        assert second.release() is False and first.release() is True
    assert set(_THIS_PROCESS) == before


def test_a_value_of_an_older_version_is_left_to_expire(redis: Redis) -> None:
    """A bare token names no holder: nothing to judge, so it is waited out as before."""
    key = LEASE_KEY.format(account=ACCOUNT)
    redis.set(key, secrets.token_hex(16), px=60_000)
    assert not Lease(redis, ACCOUNT, 60, channel="x-mentions").hold()
    assert Holder.parse(redis.get(key) or b"") is None
    assert lease_status(ACCOUNT, redis.get(key), redis.pttl(key))["holder"] == "unknown"  # what the status shows


# Values no version writes (whoever can write to Redis): each names no holder, so the status shows "unknown" and the
# lease is waited out. A pid of thousands of digits made int() raise: /v1/status, /status and /metrics answered 500, the
# health loop stopped evaluating, and every standby's poller thread died in hold().
ODD_VALUES = {
    "a-pid-of-5000-digits": f"{THIS_HOST}:{'9' * 5000}:{THIS_TABLE}:{'0' * 32}",
    "a-pid-of-11-digits": f"{THIS_HOST}:{'9' * 11}:{THIS_TABLE}:{'0' * 32}",
    "a-pid-that-is-not-ascii": f"{THIS_HOST}:\u0661\u0662:{THIS_TABLE}:{'0' * 32}",
    "pid-0": f"{THIS_HOST}:0:{THIS_TABLE}:{'0' * 32}",
    "no-host": f":1:{THIS_TABLE}:{'0' * 32}",
    "no-token": f"{THIS_HOST}:1:{THIS_TABLE}:",
}


@pytest.mark.parametrize("value", list(ODD_VALUES.values()), ids=list(ODD_VALUES))
def test_an_odd_lease_value_is_shown_as_unknown_and_waited_out_never_a_crash(redis: Redis, value: str | bytes) -> None:
    key = LEASE_KEY.format(account=ACCOUNT)
    redis.set(key, value, px=60_000)
    assert lease_status(ACCOUNT, redis.get(key), redis.pttl(key))["holder"] == "unknown"
    assert not Lease(redis, ACCOUNT, 60, channel="x-mentions").hold()


def test_of_pollers_finding_the_same_gone_holder_at_once_one_takes_the_lease(redis: Redis) -> None:
    key = LEASE_KEY.format(account=ACCOUNT)
    for _ in range(10):
        redis.set(key, f"{THIS_HOST}:{gone_pid()}:{THIS_TABLE}:{secrets.token_hex(16)}", px=60_000)
        starters = [Lease(redis, ACCOUNT, 60, channel="x-mentions") for _ in range(3)]
        barrier, held = threading.Barrier(len(starters)), []
        threads = [threading.Thread(target=hold_together, args=(lease, barrier, held)) for lease in starters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(held) == [False, False, True]
        assert redis.get(key) in [lease.value.encode() for lease in starters if lease.held]


def hold_together(lease: Lease, barrier: threading.Barrier, held: list[bool]) -> None:
    barrier.wait()
    held.append(lease.hold())


def test_a_pollers_process_restarted_after_a_kill_polls_at_once_not_a_lease_later(
    fake: FakeProviderServer, redis: Redis, start_process: Callable[..., ProcessHandle]
) -> None:
    """Real `lapor-gateway pollers` processes with the default lease (60 s): the one started after SIGKILL takes
    both accounts over at its first check and polls."""
    env = fake.env()
    keys = [LEASE_KEY.format(account=account) for account in (f"x:{X_USER_ID}", f"instagram:{IG_USER_ID}")]

    def holders() -> list[int | None]:
        return [getattr(Holder.parse(redis.get(key) or b""), "pid", None) for key in keys]

    first = start_process("pollers", **env)
    wait_until(lambda: holders() == [first.process.pid] * 2, timeout=30)
    first.stop(signal.SIGKILL)
    second = start_process("pollers", **env)
    wait_until(lambda: holders() == [second.process.pid] * 2, timeout=30)  # well within the lease left
    mention = x_mention(fake, 1)
    wait_until(lambda: mention in reply_targets(redis), timeout=30)
    took = [e for e in map(orjson.loads, second.output().splitlines()) if e.get("event") == "poller.took_over"]
    assert sorted((e["channel"], e.get("source"), e["reason"]) for e in took) == [
        ("instagram", None, "holder_dead"), ("x", "x-mentions", "holder_dead")]


def test_standby_and_active_are_logged_once_per_change_without_citizen_data(
    redis: Redis, log_stream: io.StringIO
) -> None:
    a = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    b = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    assert a.hold() and a.hold()
    assert not b.hold() and not b.hold() and not b.hold()
    assert a.release()
    assert b.hold() and b.hold()
    events = [(e["event"], e["channel"], e["source"]) for e in log_events(log_stream)
              if e["event"].startswith("poller.")]
    assert events == [("poller.active", "x", "x-mentions"), ("poller.standby", "x", "x-mentions"),
                      ("poller.active", "x", "x-mentions")]


def test_redis_down_means_no_round_and_no_crash(log_stream: io.StringIO) -> None:
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    lease = Lease(down, ACCOUNT, PERIOD, channel="x-mentions")
    assert lease.hold() is False and lease.hold() is False
    assert lease.release() is False
    unavailable = [e for e in log_events(log_stream) if e["event"] == "poller.lease_unavailable"]
    assert len(unavailable) == 2 and unavailable[0]["error"] == "ConnectionError"  # the hold (once), the release


def test_a_holder_waiting_between_rounds_keeps_the_lease(redis: Redis) -> None:
    a = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    b = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    assert a.hold()
    wait_holding(a, threading.Event(), PERIOD * 3)  # a wait three periods long
    assert not b.hold() and a.held


class BlippingRedis(Redis):
    """A client whose next `blips` commands fail as a dropped connection does: a short Redis blip, at the client."""

    blips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.blips:
            self.blips -= 1
            raise RedisConnectionError("Connection reset by peer")
        return super().execute_command(*args, **options)


@pytest.mark.parametrize("waiting", ["thread", "event-loop"])
def test_a_holder_whose_redis_blips_while_it_waits_keeps_renewing_the_lease(redis: Redis, waiting: str) -> None:
    """After an auth error a poller waits auth_retry_seconds (300 s) between rounds: one renewal that meets a Redis
    blip must not stop the renewals for the rest of the wait and hand the account to the standby."""
    blipping = BlippingRedis(connection_pool=redis.connection_pool)
    a = Lease(blipping, ACCOUNT, PERIOD, channel="x-mentions")
    b = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    assert a.hold()
    blipping.blips = 1  # the first renewal of the wait
    if waiting == "thread":
        wait_holding(a, threading.Event(), PERIOD * 3)
    else:
        asyncio.run(wait_holding_async(a, asyncio.Event(), PERIOD * 3))
    assert blipping.blips == 0
    assert not b.hold() and a.held


def test_only_a_stretch_without_renewal_longer_than_the_lease_is_logged_not_a_long_round(
    redis: Redis, log_stream: io.StringIO
) -> None:
    """A round of fetches renewed between them may outlast the lease; one fetch (or an IMAP round) may not."""
    lease = Lease(redis, ACCOUNT, 1.0, channel="x-mentions")
    assert lease.hold()
    go_on = lease.round()
    for _ in range(4):  # four fetches of 0.3 s: longer together than the lease
        assert go_on()
        time.sleep(0.3)
    lease.check_round()
    assert not [e for e in log_events(log_stream) if e["event"] == "poller.lease_overrun"]
    assert go_on()
    time.sleep(1.1)  # one fetch longer than the lease
    lease.check_round()
    (overrun,) = [e for e in log_events(log_stream) if e["event"] == "poller.lease_overrun"]
    assert (overrun["channel"], overrun["source"]) == ("x", "x-mentions") and overrun["unrenewed_seconds"] >= 1.0


# -- two pollers of one account against the fake provider ----------------------------------------------------------
@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**fake.env(LAPOR_POLLERS_LEASE_SECONDS="0.6"))


def x_poller(settings: Settings, redis: Redis, intake: Intake, calls: list[str]) -> Poller:
    poller = XMentionsPoller(settings, redis, intake)
    page = poller._page
    poller._page = lambda *args, **kwargs: calls.append("page") or page(*args, **kwargs)  # type: ignore[method-assign]
    return poller


def instagram_poller(settings: Settings, redis: Redis, intake: Intake, calls: list[str]) -> Poller:
    poller = InstagramPoller(settings, redis, intake)
    tags = poller.graph.tags
    poller.graph.tags = lambda *args, **kwargs: calls.append("tags") or tags(*args, **kwargs)  # type: ignore[method-assign]
    return poller


def x_mention(fake: FakeProviderServer, n: int) -> str:
    return fake.state.add_tweet(f"@lapor1708 jalan rusak nomor {n}")["id"]


def instagram_mention(fake: FakeProviderServer, n: int) -> str:
    return fake.state.add_ig_mention(f"@lapor1708 sampah menumpuk nomor {n}", kind="media")["media_id"]


def reply_targets(redis: Redis) -> list[str]:
    return [next(iter(job.args[1].values())) for job in queue(REPLY_QUEUE, redis).jobs]


CHANNELS = {
    "x": (x_poller, x_mention, "/mentions"),
    "instagram": (instagram_poller, instagram_mention, "/tags"),
}


@pytest.mark.parametrize("channel", list(CHANNELS), ids=list(CHANNELS))
def test_two_pollers_of_one_account_call_the_api_from_one_and_reply_once_per_mention(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, channel: str
) -> None:
    # A lease of 5 s, not the module's 0.6: on a loaded test machine one page fetch can outlast 0.6 s, and a lease
    # overrun hands the account over by design (the standby then rightly calls the API). A clean stop is still
    # taken over within a third of it.
    settings = test_env.settings(**fake.env(LAPOR_POLLERS_LEASE_SECONDS="5"))
    build, mention, api_path = CHANNELS[channel]
    # X's rounds are spread over its quota left (the fake's 450 a 15-minute window: one every 2 s, 8 s of this test);
    # with quota to spare they come every poll interval, as Instagram's do.
    fake.state.rate_remaining, fake.state.rate_reset = 1_000_000, time.time() + 900
    intakes = [Intake(redis, settings), Intake(redis, settings)]
    calls: list[list[str]] = [[], []]
    pollers = [build(settings, redis, intake, made) for intake, made in zip(intakes, calls, strict=True)]
    stops = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=run_poller, args=(poller, stop, poller_lease(settings, redis, poller)),
                                daemon=True) for poller, stop in zip(pollers, stops, strict=True)]
    mentions = [mention(fake, n) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        wait_until(lambda: len(reply_targets(redis)) == 3 and max(map(len, calls)) >= 4)
        mentions += [mention(fake, n) for n in range(3, 5)]
        wait_until(lambda: len(reply_targets(redis)) == 5)
        active = 0 if calls[0] else 1
        assert calls[1 - active] == [], "the standby called the API"

        stops[active].set()  # a clean stop releases the lease: the standby takes over at its next check
        threads[active].join(timeout=10)
        before = len(calls[active])
        mentions += [mention(fake, n) for n in range(5, 7)]
        wait_until(lambda: len(reply_targets(redis)) == 7)
        assert len(calls[active]) == before and calls[1 - active], "the standby did not take over"
    finally:
        for stop in stops:
            stop.set()
        for thread in threads:
            thread.join(timeout=10)
        for intake in intakes:
            intake.close()
    assert sorted(reply_targets(redis)) == sorted(mentions)  # one reply per mention
    api_calls = [r for r in fake.state.requests if r["path"].endswith(api_path)]
    assert len(api_calls) == sum(map(len, calls))  # every API call was made by the poller holding the lease


# -- a round of many slow pages ------------------------------------------------------------------------------------
SLOW_PAGE = 0.4  # seconds per page, with the module's lease of 0.6 s: a round of three pages outlasts it
PAGES = 3


@dataclass
class RoundOfPages:
    """One round's fetches (X pages, /tags pages, pending lookups), made slow, and the poller's lease holder."""

    name: str  # the poller attribute (on the poller or its Graph client) that fetches one page
    add: Callable[[FakeProviderServer, Redis, int], object]  # one mention, found by that fetch
    build: Callable[[Settings, Redis, Intake, list[str]], Poller]


def x_page(fake: FakeProviderServer, _: Redis, n: int) -> object:
    return x_mention(fake, n)


def tagged_media(fake: FakeProviderServer, _: Redis, n: int) -> object:
    return instagram_mention(fake, n)


def pending_comment(fake: FakeProviderServer, redis: Redis, n: int) -> object:
    ids = fake.state.add_ig_mention(f"@lapor1708 lampu jalan mati nomor {n}", kind="comment")
    store_pending(redis, IG_USER_ID, [ids])
    return ids["media_id"]  # what reply_targets shows of its reply


ROUNDS = {
    "x-pages": RoundOfPages("_page", x_page, x_poller),
    "instagram-tags-pages": RoundOfPages("tags", tagged_media, instagram_poller),
    "instagram-pending-lookups": RoundOfPages("mentioned_comment", pending_comment, instagram_poller),
}


def slow_fetches(poller: Poller, name: str, before_each: Callable[[int], None]) -> list[int]:
    """Make the poller's fetch `name` slow; `before_each(n)` runs as the n-th fetch (from 1) starts."""
    owner = poller if hasattr(poller, name) else poller.graph  # type: ignore[attr-defined]
    fetch, made = getattr(owner, name), []

    def slow(*args: object, **kwargs: object) -> object:
        made.append(len(made) + 1)
        before_each(len(made))
        time.sleep(SLOW_PAGE)
        return fetch(*args, **kwargs)

    setattr(owner, name, slow)
    return made


@pytest.fixture
def paged_settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    """Pages of five, so fifteen mentions take three pages (and three pending notifications three lookups)."""
    return test_env.settings(**fake.env(LAPOR_POLLERS_LEASE_SECONDS="0.6", LAPOR_INSTAGRAM_PAGE_SIZE="5"))


@pytest.mark.parametrize("round_", list(ROUNDS.values()), ids=list(ROUNDS))
def test_a_round_of_pages_slower_together_than_the_lease_keeps_it_to_the_end(
    fake: FakeProviderServer, paged_settings: Settings, redis: Redis, round_: RoundOfPages
) -> None:
    """The holder renews before each further page: a standby trying to take over during the round never can."""
    settings = paged_settings
    mentions = [round_.add(fake, redis, n) for n in range(15 if round_.name != "mentioned_comment" else PAGES)]
    intake, stop = Intake(redis, settings), threading.Event()
    poller = round_.build(settings, redis, intake, [])
    standby = Lease(redis, poller.account, settings.pollers.lease_seconds, channel=poller.channel)
    taken_over: list[bool] = []

    def standby_tries(n: int) -> None:
        taken_over.append(standby.hold())
        if n == PAGES:
            stop.set()  # this round is the last

    made = slow_fetches(poller, round_.name, standby_tries)
    try:
        run_poller(poller, stop, poller_lease(settings, redis, poller))
    finally:
        intake.close()
    assert made == [1, 2, 3]
    assert taken_over == [False] * PAGES, "the standby took the account over during the round"
    assert sorted(reply_targets(redis)) == sorted(mentions)


@pytest.mark.parametrize("round_", list(ROUNDS.values()), ids=list(ROUNDS))
def test_a_holder_that_lost_the_lease_during_a_round_stops_before_its_next_page_and_the_new_holder_goes_on(
    fake: FakeProviderServer, paged_settings: Settings, redis: Redis, round_: RoundOfPages, log_stream: io.StringIO
) -> None:
    """The holder stalled past its lease (the lease expires here) and the standby took it: the holder's round ends
    before its next fetch, and the new holder polls from the stored progress, fetching nothing twice."""
    settings = paged_settings
    mentions = [round_.add(fake, redis, n) for n in range(15 if round_.name != "mentioned_comment" else PAGES)]
    intakes, stop = [Intake(redis, settings), Intake(redis, settings)], threading.Event()
    holder, successor = (round_.build(settings, redis, intake, []) for intake in intakes)
    new_lease = poller_lease(settings, redis, successor)

    def lost_after_the_second(n: int) -> None:
        if n == 2:
            redis.delete(LEASE_KEY.format(account=holder.account))  # as if it expired while the holder stalled
            assert new_lease.hold()
            stop.set()

    made = slow_fetches(holder, round_.name, lost_after_the_second)
    try:
        run_poller(holder, stop, poller_lease(settings, redis, holder))
        assert made == [1, 2], "the holder went on polling after another process took its lease"
        assert [e["channel"] for e in log_events(log_stream)
                if e["event"] == "poller.lease_lost"] == [health_channel(holder.channel)]
        successor.poll_once(new_lease.round())
    finally:
        for intake in intakes:
            intake.close()
    assert sorted(reply_targets(redis)) == sorted(mentions)  # each mention once, none lost at the handover
    fetched = [r for r in fake.state.requests if r["method"] == "GET" and "_fake" not in r["path"]]
    assert len(fetched) == len({str(sorted(r["query"].items())) for r in fetched}), "a page was fetched twice"


def test_two_batches_holding_the_same_mentions_at_once_queue_one_reply_each(
    settings: Settings, redis: Redis
) -> None:
    """Overlapping rounds of two pollers of one account (one outlasted its lease)."""
    intakes = [Intake(redis, settings), Intake(redis, settings)]
    takers = [MentionIntake(redis, settings, intake, x_reply_target) for intake in intakes]
    sent: set[str] = set()
    try:
        for round_ in range(15):
            batch = [mention_message(f"{1_860_000_000_000_000_000 + round_ * 100 + n}") for n in range(40)]
            sent |= {message.provider_message_id for message in batch}
            barrier = threading.Barrier(2)
            threads = [threading.Thread(target=take_together, args=(taker, batch, barrier)) for taker in takers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        for intake in intakes:
            intake.close()
    targets = reply_targets(redis)
    assert len(targets) == len(set(targets)) == len(sent)


def take_together(taker: MentionIntake, batch: list[InboundMessage], barrier: threading.Barrier) -> None:
    barrier.wait()
    taker.take(batch)


def mention_message(tweet_id: str) -> InboundMessage:
    return InboundMessage(channel=Channel.TWITTER, source="x-mentions", provider_message_id=tweet_id,
                          sender_kind=SenderKind.X_USER, sender_address="1447000000000000001",
                          sender_display_name=None, text="LAPOR jalan rusak di depan pasar", received_at=utc_now(),
                          channel_meta={"tweet_id": tweet_id})
