"""`lapor-gateway pollers`: the X and Instagram pollers of this process, each in its own thread.

A poller runs only when its channel is enabled, which in production means its credentials are set (settings
refuse to start otherwise) and in development means the fake provider is configured. With nothing enabled the
process stays up idle, so `make run` keeps running. No failure ends a poller: each is logged, classified and
retried after the delay its kind calls for.

Each poller polls only while it holds its account's lease (gateway/lease.py): run this process on several hosts
and one of them polls each account, the others stand by and take over when it dies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

from channels import instagram_graph, x_mentions
from channels.social import GoOn, unleased
from gateway.health.signals import POLLER_CRASHED, HealthSignals
from gateway.intake import Intake
from gateway.lease import Lease, wait_holding
from gateway.liveness import ServingBeat
from gateway.logs import get_logger, sensitive_values
from gateway.metrics import health_channel
from gateway.settings import Settings

log = get_logger()

CRASH_RETRY_SECONDS = 30.0


class Poller(Protocol):
    channel: str
    # What the lease is taken on: one per provider account (e.g. "x:<user id>").
    account: str

    # Where a round's outcome is told (the status views): a round that crashed is told there too (run_poller).
    signals: HealthSignals

    def poll_once(self, go_on: GoOn = unleased) -> float: ...


def build_pollers(settings: Settings, redis: Redis, intake: Intake) -> list[Poller]:
    return [*x_mentions.pollers_for(settings, redis, intake), *instagram_graph.pollers_for(settings, redis, intake)]


def run_poller(poller: Poller, stop: threading.Event, lease: Lease | None = None) -> None:
    """Poll until `stop` is set; `poll_once` says how long to wait, an unexpected error waits 30 s.

    With `lease`, a round runs only while this poller holds it, renewing it before each further page (and
    ending when another process took it); a standby checks every `lease.check_seconds` whether the holder is gone.
    The lease is released on the way out, so a standby takes over at once.

    A round that raised (a bug some answer meets) fails the channel's poll (`signal_crash`) until a round goes
    through: logged alone, it crashed every 30 s while every view showed the channel healthy, its last success
    standing."""
    log.info("poller.started", channel=poller.channel)
    crashed: str | None = None
    while not stop.is_set():
        if lease is not None and not lease.hold():
            stop.wait(lease.check_seconds)
            continue
        with sensitive_values():  # the round's mentions, once taken (MentionIntake.take), on no line of it
            try:
                delay = poller.poll_once(lease.round() if lease is not None else unleased)
            except Exception as error:  # a bug must not end the channel: log it and try again later
                log.exception("poller.crashed", channel=poller.channel, error=type(error).__name__)
                delay = CRASH_RETRY_SECONDS
                crashed = signal_crash(poller, error, delay, crashed)
            else:
                crashed = None
        if lease is None:
            stop.wait(delay)
            continue
        lease.check_round()
        wait_holding(lease, stop, delay)
    if lease is not None and lease.held:
        lease.release()
    log.info("poller.stopped", channel=poller.channel)


def signal_crash(poller: Poller, error: Exception, delay: float, before: str | None) -> str:
    """A crashed round as a failing poll, with its error's type alone (its words may quote a mention) and the next try;
    `before`: the reason the round before signalled, when it crashed too (the same one adds no last error again). The
    reason signalled."""
    reason = f"{POLLER_CRASHED}: {type(error).__name__}"
    try:
        poller.signals.poll_failed(health_channel(poller.channel), reason, retry_at=time.time() + delay,
                                   new_error=reason != before)
    except RedisError:  # the next round says it again
        return before or ""
    return reason


def poller_lease(settings: Settings, redis: Redis, poller: Poller) -> Lease:
    return Lease(redis, poller.account, settings.pollers.lease_seconds, channel=poller.channel)


def run_pollers(pollers: Sequence[Poller], stop: threading.Event, *, redis: Redis | None = None,
                settings: Settings | None = None) -> None:
    """Run each poller in a thread until `stop`; with `redis`, beat for the channel of every poller thread alive
    (health rule process_missing). Idle, nothing beats: a disabled channel has no process to miss. With `redis`
    and `settings`, each poller polls only while it holds its account's lease (pollers.lease_seconds)."""
    if not pollers:
        log.info("pollers.idle", detail="no social channel is enabled (x.enabled, instagram.enabled)")
        stop.wait()
        return
    leases = [poller_lease(settings, redis, poller) if redis is not None and settings is not None else None
              for poller in pollers]
    threads = [threading.Thread(target=run_poller, args=(poller, stop, lease), name=f"poller-{poller.channel}",
                                daemon=True) for poller, lease in zip(pollers, leases, strict=True)]
    for thread in threads:
        thread.start()
    beat = None
    if redis is not None:
        beat = ServingBeat(redis, "pollers", lambda: [p.channel for p, t in zip(pollers, threads, strict=True)
                                                      if t.is_alive()],
                           data_dir=settings.data_dir if settings is not None else None).start()
    for thread in threads:
        thread.join()
    if beat is not None:
        beat.stop()
