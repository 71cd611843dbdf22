"""The lease that keeps one poller per account polling: real Redis, two holders of one account, short periods."""

from __future__ import annotations

import io
import threading
import time

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.lease import LEASE_KEY, Lease, wait_holding
from tests.conftest import log_events

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
    "hold-keeps-renewing-past-the-period": [("a", "hold", True, "a"), ("-", "half", None, "a"),
                                            ("a", "hold", True, "a"), ("-", "half", None, "a"),
                                            ("a", "hold", True, "a"), ("-", "half", None, "a"),
                                            ("b", "hold", False, "a")],
}


@pytest.mark.parametrize("steps", list(CASES.values()), ids=list(CASES))
def test_the_lease(redis: Redis, steps: list[tuple[str, str, bool | None, str | None]]) -> None:
    leases = {name: Lease(redis, ACCOUNT, PERIOD, channel="x-mentions", token=f"token-{name}") for name in "ab"}
    key = LEASE_KEY.format(account=ACCOUNT)
    for who, what, expected, holder in steps:
        if what == "expire":
            time.sleep(PERIOD + 0.1)
        elif what == "half":
            time.sleep(PERIOD / 2 + 0.02)
        else:
            assert getattr(leases[who], what)() is expected, f"{who} {what}"
        value = redis.get(key)
        assert (value.decode().removeprefix("token-") if value else None) == holder, f"after {who} {what}"
    if redis.get(key):
        assert 0 < redis.pttl(key) <= PERIOD * 1000


def test_standby_and_active_are_logged_once_per_change_without_citizen_data(
    redis: Redis, log_stream: io.StringIO
) -> None:
    a = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    b = Lease(redis, ACCOUNT, PERIOD, channel="x-mentions")
    assert a.hold() and a.hold()
    assert not b.hold() and not b.hold() and not b.hold()
    assert a.release()
    assert b.hold() and b.hold()
    events = [(e["event"], e["channel"]) for e in log_events(log_stream) if e["event"].startswith("poller.")]
    assert events == [("poller.active", "x-mentions"), ("poller.standby", "x-mentions"),
                      ("poller.active", "x-mentions")]


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
