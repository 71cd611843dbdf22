"""The beat of a process that receives a channel: the HTTP gateway (the SMS webhooks), the SMTP server (`email`) and
the pollers (`x`, `instagram`). Without it a dead `lapor-gateway serve`, `smtp` or `pollers` looks like a quiet
channel for hours, or, for Twilio's SMS, like a channel that is fine. The HTTP gateway also beats, apart, for the
webhook of a channel whose messages the pollers fetch (Instagram's: `webhooks`, `WEBHOOK_SERVING_KEY`): without it a
dead `serve` left Instagram ok on every view while its webhooks went unanswered (health rule `webhook_missing`).

Every `interval` seconds the process writes, for each channel it serves right now, the time into the channel's
sorted set (`gateway.health.signals.SERVING_KEY`, one member per process, so several processes of a kind each count and
any one alive is enough). The health monitor reads the newest beat in its round trip, and its `process_missing`
rule turns the channel down when no beat is recent enough; a set, not a TTL key, so the reason can say when the
process was last seen. A beat never raises: a Redis outage is logged once and the beats go on. Each beat also asks
whether Redis lost its data meanwhile (`gateway.redis_epoch`: `redis.data_lost`, and every view says so).

A clean stop leaves its last beat where it is and lets it age: a restart (a deploy, `systemctl restart`) comes back
well within the rule's threshold, so it does not page anyone; a process stopped for good goes down after the same
threshold as one that was killed, which is the case the rule is for (a killed process cannot delete anything).

Two drivers for one beat: `run` on an event loop (the HTTP gateway, the SMTP server: a blocked loop stops the beats,
as it stops the server), `start`/`stop` on a daemon thread (the pollers, which are threads).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from gateway.health.signals import SERVING_KEY, WEBHOOK_SERVING_KEY
from gateway.logs import get_logger
from gateway.metrics import health_channel
from gateway.redis_epoch import RedisEpoch

log = get_logger()

BEAT_SECONDS = 2.0
# Members of processes gone for longer than this are dropped (by a live process's beat, so the set of a channel
# keeps at least its newest member: "last seen" is never lost).
FORGET_AFTER_SECONDS = 7 * 24 * 3600.0


class ServingBeat:
    """Says, every `interval` seconds, that this process is alive and serving `channels` (a list, or a function
    returning the channels served right now, e.g. those whose poller thread is running). `data_dir`: where the host's
    processes keep the Redis epoch they saw (`gateway.redis_epoch`)."""

    def __init__(self, redis: Redis, process: str, channels: Iterable[str] | Callable[[], Iterable[str]], *,
                 interval: float = BEAT_SECONDS, clock: Callable[[], float] = time.time,
                 data_dir: Path | None = None, webhooks: Iterable[str] = ()) -> None:
        self._redis = redis
        self.process = process
        self.member = f"{process}:{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._channels = channels if callable(channels) else (lambda fixed=tuple(channels): fixed)
        # The channels whose webhook this process answers while another process fetches their messages (Instagram's
        # notifications, resolved by the pollers): beaten apart (`WEBHOOK_SERVING_KEY`), so that the channel is not
        # counted served by this process alone, nor by its pollers alone (health rule webhook_missing).
        self._webhooks = tuple(sorted({health_channel(channel) for channel in webhooks}))
        self._interval = interval
        self._clock = clock
        self._failing = False
        # Whether Redis lost its data under this process (`gateway.redis_epoch`), checked at each beat.
        self._epoch = RedisEpoch(redis, self.member, data_dir)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """One round trip for every channel served; False (logged once per outage) when Redis does not answer."""
        channels = sorted({health_channel(channel) for channel in self._channels()})
        if not channels and not self._webhooks:
            return True
        now = self._clock()
        keys = [*(SERVING_KEY.format(channel=channel) for channel in channels),
                *(WEBHOOK_SERVING_KEY.format(channel=channel) for channel in self._webhooks)]
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.zadd(key, {self.member: now})
                pipe.zremrangebyscore(key, "-inf", now - FORGET_AFTER_SECONDS)
            pipe.execute()
            lost = self._epoch.check(self._redis)
        except RedisError as error:
            if not self._failing:
                log.warning("process.beat_failed", process=self.process, error=type(error).__name__)
            self._failing = True
            return False
        if self._failing:
            log.info("process.beat_restored", process=self.process)
        self._failing = False
        if lost:
            log.error("redis.data_lost", process=self.process, reason="epoch_changed")
        return True

    # -- on an event loop ------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Beat until `stop` is set; the Redis call runs in a thread, never on the loop."""
        while not stop.is_set():
            await asyncio.to_thread(self.beat)
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                pass

    # -- on a thread -----------------------------------------------------------------------------------------------
    def start(self) -> ServingBeat:
        self.beat()
        self._thread = threading.Thread(target=self._run, name=f"{self.process}-beat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.beat()
