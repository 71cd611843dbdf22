"""One active poller per account: a Redis lease that only its holder polls under.

Two pollers of the same account (X user, Instagram user, IMAP mailbox) would spend the API quota twice and could
both queue a public reply for one mention. So every poller takes the account's lease before a round and skips the
round when another process holds it: that poller is the standby, and takes over within about one lease period
of the holder's death (its lease is not renewed, and expires).

The lease is one key, `lapor:lease:<account>`, holding who holds it, `<hostname>:<pid>:<process table>:<random
token>`: taken with SET NX PX, renewed only by its holder (compare-and-renew on the exact value, in Lua), released
on a clean stop only by its holder (compare-and-delete), so a holder that lost the lease while paused never renews
or deletes the lease of the one that took over.

A poller restarted after a crash need not wait out its predecessor's lease. The value also names the holder's
process table (its pid namespace, `/proc/self/ns/pid`, on this boot of its machine, `/proc/sys/kernel/random/boot_id`),
and a lease held in this process table by a process that no longer runs (`os.kill(pid, 0)`), or by our own pid but
not by this process (two live processes never share a pid in one table), is taken at once, by compare-and-set against
the exact value read, so of two starters only one wins (`poller.took_over`). A holder in another process table is
never judged, even on a host of the same name (two containers with host networking share the host's name, not its
pids; a restarted container gets a new table; two machines of one name both run their services in the initial pid
namespace, numbered 4026531836 on every Linux host, but boot ids differ): its lease is waited out, as is a value of
an older version (a bare token, or a table without its boot).

The holder renews before each round, before each further page or lookup of a round (`Lease.round`), and every
third of a period while it waits between rounds (after a renewal that met a Redis error too); so the period
(`pollers.lease_seconds`) must exceed the worst case of one page, not of a whole round of many pages. A holder that
finds the lease taken by another before a further page ends its round there: what it made durable stays, and the new
holder polls on from the stored cursor.

The same lease keeps two jobs of one reply from sending it at the same moment (`workers.send_lease`): taken (or taken
over from a worker gone from this host) for a job's attempt, released at its end, never renewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from gateway.logs import get_logger
from gateway.settings import EmailSettings, Settings

log = get_logger()

LEASE_KEY = "lapor:lease:{account}"

# KEYS[1] the lease, ARGV[1] our value, ARGV[2] the period (ms): extend it only while it is still ours.
RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] the lease, ARGV[1] our value: delete it only while it is still ours.
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# KEYS[1] the lease, ARGV[1] the value read, ARGV[2] ours, ARGV[3] the period (ms): take it only from that holder.
TAKE_OVER_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# The health channels polled under a lease, in the order the status shows them.
POLLED_CHANNELS = ("email", "x", "instagram")


def mailbox_digest(settings: EmailSettings) -> str:
    """The polled folder (server, user, folder), hashed: it names the cursor and the lease, and logs no address."""
    account = f"{settings.imap_host}:{settings.imap_port}/{settings.imap_user}/{settings.imap_folder}"
    return hashlib.sha256(account.encode()).hexdigest()[:24]


def lease_account(settings: Settings, channel: str) -> str:
    """What the poller of a health channel takes its lease on: the provider account it polls."""
    if channel == "x":
        return f"x:{settings.x.user_id}"
    if channel == "instagram":
        return f"instagram:{settings.instagram.ig_user_id}"
    return f"imap:{mailbox_digest(settings.email)}"


def polled_accounts(settings: Settings) -> dict[str, str]:
    """The lease account of every poller the settings turn on, by health channel: the X and Instagram pollers of
    `lapor-gateway pollers`, the IMAP poller of `lapor-gateway smtp` (e-mail on and an IMAP host set)."""
    on = {"x": settings.x.enabled, "instagram": settings.instagram.enabled,
          "email": settings.email.enabled and bool(settings.email.imap_host)}
    return {channel: lease_account(settings, channel) for channel in POLLED_CHANNELS if on[channel]}


def lease_status(account: str, value: bytes | None, pttl_ms: int) -> dict[str, object]:
    """What the status views show of one account's lease: who polls it (host:pid; None while nobody holds the lease,
    "unknown" for a value of an older version), how long the lease runs unless renewed, and `holder_gone`: true when
    the holder ran in the viewer's own process table and its process no longer runs (`Holder.gone`). A poller killed
    outright (`kill -9`, the OOM killer) leaves its lease to run out, and every view named the dead process as the one
    polling the account until it did; a holder in another process table is never judged (false)."""
    holder = Holder.parse(value) if value is not None else None
    return {"account": account,
            "holder": f"{holder.host}:{holder.pid}" if holder else "unknown" if value is not None else None,
            "lease_remaining_seconds": round(pttl_ms / 1000, 1) if value is not None and pttl_ms >= 0 else None,
            "holder_gone": holder is not None and holder.gone() is not None}


# Every lease value this process may hold now: a value with our pid that is not among them is a predecessor's. A value
# joins before it is written (another thread must never see it in Redis without it here) and leaves once released, so
# a process that takes a lease per job (a reply worker) does not collect a value per job for ever.
_THIS_PROCESS: set[str] = set()


@cache  # fixed for the life of the process: read once, not at every standby's check
def process_table() -> str:
    """The table the pids of a lease's holder are looked up in: this process's pid namespace on this boot of this
    machine ("4026531836@<boot id>"). The namespace's number alone names no machine (the initial pid namespace is
    4026531836 on every Linux host, so two hosts of one name would each take the other's live holder for gone); the
    boot id is the same in every container of a host and differs between hosts. "" where either cannot be read
    (then no holder is ever judged gone)."""
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
    digits = link.removeprefix("pid:[").removesuffix("]")
    return f"{digits}@{boot}" if _digits(digits) and boot and ":" not in boot else ""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease, as its value says."""

    host: str
    pid: int
    table: str  # the pid namespace, on its machine's boot, that its pid is in (`process_table`)
    token: str

    @property
    def value(self) -> str:
        return f"{self.host}:{self.pid}:{self.table}:{self.token}"

    @classmethod
    def this_process(cls, token: str) -> Holder:
        return cls(socket.gethostname(), os.getpid(), process_table(), token)

    @classmethod
    def parse(cls, value: bytes | str) -> Holder | None:
        """None for a value that does not name its holder (a bare token, from an older version)."""
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        parts = text.split(":")
        # A pid has at most 10 digits (below 2**31): int() of thousands would raise, and no odd value may crash the
        # status views or a standby. The table is only compared, never read.
        if len(parts) != 4 or not parts[0] or not _digits(parts[1]) or len(parts[1]) > 10:
            return None
        pid = int(parts[1])
        return cls(parts[0], pid, parts[2], parts[3]) if 0 < pid < 2**31 and parts[3] else None

    def gone(self) -> str | None:
        """Why this holder is known not to poll any more, judged from this process; None when it may still.

        Only a holder in this process table (same host, boot and pid namespace): its process no longer runs
        ("holder_dead"), or it has this process's pid and a value this process never made ("holder_restarted")."""
        table = process_table()
        if self.host != socket.gethostname() or not table or self.table != table:
            return None
        if self.pid == os.getpid():
            return None if self.value in _THIS_PROCESS else "holder_restarted"
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return "holder_dead"
        except OSError:  # PermissionError: alive, another user's
            return None
        return None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


class Lease:
    """The lease on one account's polling, as seen by one poller. `hold()` before each round says whether to poll.

    Logs `poller.active` when this poller starts holding the lease and `poller.standby` when it starts waiting
    for another holder (once per change, never per round); `poller.lease_unavailable` when Redis cannot answer
    (the poller does not poll then: nothing could be made durable, and another process may hold the lease).
    `events` starts the names of what a reply's send lease logs too (`took_over`, `lease_unavailable` at release):
    `poller`, or `reply`."""

    def __init__(self, redis: Redis, account: str, period_seconds: float, *, channel: str,
                 token: str | None = None, events: str = "poller") -> None:
        self._redis = redis
        self.key = LEASE_KEY.format(account=account)
        self.period_ms = max(1, int(period_seconds * 1000))
        self.channel = channel
        self.events = events
        self.holder = Holder.this_process(token or secrets.token_hex(16))
        self.value = self.holder.value  # what the key holds while this poller holds the lease
        self.held = False
        self._state: str | None = None  # "active", "standby", "unavailable": what was last logged
        self._renewed_at = 0.0  # monotonic time of the last hold() that kept or took the lease
        self._renew = redis.register_script(RENEW_SCRIPT)
        self._release = redis.register_script(RELEASE_SCRIPT)
        self._take_over = redis.register_script(TAKE_OVER_SCRIPT)

    @property
    def check_seconds(self) -> float:
        """How often a waiting poller renews (holder) or tries to take over (standby): a third of a period."""
        return self.period_ms / 3000

    def take(self) -> bool:
        """Take the lease if nobody holds it (SET NX PX)."""
        _THIS_PROCESS.add(self.value)
        return bool(self._redis.set(self.key, self.value, nx=True, px=self.period_ms))

    def renew(self) -> bool:
        """Extend the lease by a period if it is still ours; False when it expired or another took it."""
        return bool(self._renew(keys=[self.key], args=[self.value, self.period_ms]))

    def take_over(self) -> bool:
        """Take the lease at once from a holder known to be gone (`Holder.gone`), only if it still holds it."""
        current = self._redis.get(self.key)
        holder = Holder.parse(current) if current is not None else None
        reason = holder.gone() if holder is not None else None
        if reason is None:
            return False
        _THIS_PROCESS.add(self.value)
        if not self._take_over(keys=[self.key], args=[current, self.value, self.period_ms]):
            return False
        log.info(f"{self.events}.took_over", channel=self.channel, reason=reason)
        return True

    def release(self) -> bool:
        """Give the lease up (clean stop) if it is still ours, so a standby takes over at its next check."""
        try:
            released = bool(self._release(keys=[self.key], args=[self.value]))
        except RedisError as error:  # the key may still hold our value: it stays ours until it expires
            log.warning(f"{self.events}.lease_unavailable", channel=self.channel, error=type(error).__name__)
            released = False
        else:
            _THIS_PROCESS.discard(self.value)
        self.held = False
        return released

    def hold(self) -> bool:
        """True when this poller may poll now: the lease renewed if ours, else taken if free or from a holder that
        is gone (`take_over`). Never raises.

        Renewal is tried even when this poller thinks it lost the lease: after a Redis error the key may still
        hold our value, and waiting for it to expire would leave the account unpolled for a period."""
        try:
            self.held = self.renew() or self.take() or self.take_over()
        except RedisError as error:
            self.held = False
            self._log_state("unavailable", error=type(error).__name__)
            return False
        if self.held:
            self._renewed_at = time.monotonic()
        self._log_state("active" if self.held else "standby")
        return self.held

    def round(self) -> RoundCheck:
        """The check a round makes before each fetch (a page, a lookup); see `RoundCheck`."""
        return RoundCheck(self)

    def check_round(self) -> None:
        """After a round, or before renewing within it: a stretch without renewal (one page, an IMAP round) longer
        than the lease, so another process may have taken the account over and polled it meanwhile."""
        unrenewed = time.monotonic() - self._renewed_at
        if self.held and unrenewed * 1000 > self.period_ms:
            log.warning("poller.lease_overrun", channel=self.channel, unrenewed_seconds=round(unrenewed, 1),
                        lease_seconds=self.period_ms / 1000)

    @property
    def state(self) -> str | None:
        """What the last hold() found: "active", "standby" (another holds it), "unavailable" (Redis)."""
        return self._state

    def _log_state(self, state: str, **fields: str) -> None:
        if state == self._state:
            return
        self._state = state
        if state == "unavailable":
            log.warning("poller.lease_unavailable", channel=self.channel, **fields)
        else:
            log.info(f"poller.{state}", channel=self.channel, lease_seconds=self.period_ms / 1000)


class RoundCheck:
    """Asked before each fetch of one round: True to go on. The first fetch follows the `hold()` that started the
    round; before each further one the lease is renewed, so a round of many slow pages keeps the account instead
    of letting the standby poll it too. False once another process holds the lease (or Redis cannot answer), and
    from then on without asking again: the round ends there, and what it made durable stays."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease
        self._first = True
        self._lost = False

    def __call__(self) -> bool:
        if self._first:
            self._first = False
            return True
        if self._lost:
            return False
        self._lease.check_round()
        self._lost = not self._lease.hold()
        if self._lost and self._lease.state == "standby":
            log.warning("poller.lease_lost", channel=self._lease.channel, detail="another process holds it: round ends")
        return not self._lost


def _renews(lease: Lease, held_before: bool) -> bool:
    """Whether a wait renews the lease now: while this poller holds it, and, if it held it when the wait began, after
    Redis failed to answer (`unavailable`): a blip at one renewal must not leave the lease to expire for the rest of
    a long wait (300 s after an auth error). Another holder found (`standby`) ends the renewals."""
    return lease.held or (held_before and lease.state == "unavailable")


def wait_holding(lease: Lease, stop: threading.Event, seconds: float) -> None:
    """Wait `seconds` (or until `stop`), renewing the lease every `check_seconds` while this poller holds it, so
    a wait between rounds longer than the period does not hand the account to a standby."""
    held_before = lease.held
    remaining = seconds
    while remaining > 0 and not stop.is_set():
        step = min(remaining, lease.check_seconds)
        if stop.wait(step):
            return
        remaining -= step
        if _renews(lease, held_before) and remaining > 0:
            lease.hold()


async def wait_holding_async(lease: Lease, stop: asyncio.Event, seconds: float) -> None:
    """`wait_holding` for a poller on an event loop (the IMAP poller): Redis is called off the loop."""
    held_before = lease.held
    remaining = seconds
    while remaining > 0 and not stop.is_set():
        step = min(remaining, lease.check_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=step)
            return
        remaining -= step
        if _renews(lease, held_before) and remaining > 0:
            await asyncio.to_thread(lease.hold)
