"""The status documents every view shows when no channel has a state to show: Redis does not answer
(`redis_down_document`), the check failed on another error (`check_failed_document`), or the Redis read shows no sign
of the deployment (`deployment_seen`, `no_deployment_document`). Built by the views themselves where the check could
not run, and by the monitor where Redis failed it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import AuthenticationError, BusyLoadingError, ResponseError

from gateway.health.rules import State
from gateway.health.signals import SERVING_KEY, _clean, _clock
from gateway.outage import (
    acl_denied,
    connect_timed_out,
    denied_command,
    denied_what,
    failed_key,
    no_such_database,
    outage_reason,
    redis_words,
    wrong_type,
)
from gateway.spool import SPOOL_DIR, Spool
from gateway.tracking import SEQUENCE_KEY

# The overall state of `lapor-gateway status` when the Redis it reads is not the deployment's (`deployment_seen`):
# no channel has a state there to show.
UNKNOWN_OVERALL = "unknown"


def spool_size(data_dir: Path) -> int:
    """Bytes waiting in the disk spool (LAPOR_DATA_DIR/spool) for replay into Redis; quarantine not counted."""
    return Spool(data_dir / SPOOL_DIR).size_bytes()


class CheckOutlasted(TimeoutError):
    """A status view stopped waiting for its health check at its bound (`health.view_check_seconds`), the check still
    running: Redis slow to answer, or a host too busy to run the check. Said as such, where the view named only a
    Redis command that ran out of time, and the operator found Redis answering at once."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the health check took longer than {seconds:g} s")
        self.seconds = seconds

    def __reduce__(self) -> tuple[type[CheckOutlasted], tuple[float]]:
        return type(self), (self.seconds,)  # copied or pickled with its bound, not its message


def redis_down_document(error: BaseException, spool_bytes: int, now: float, redis_name: str,
                        spool_failure: str | None = None, *, since: float | None = None,
                        spool_failure_since: float | None = None) -> dict[str, Any]:
    """The status document while Redis does not answer. Twilio's webhooks are still answered from the disk spool, so
    the spool's size is what an operator watches then; the webhooks that are not (the aggregator's SMS, whose reply is
    a queued job; Instagram's notifications, kept on a Redis list) are named, 1708 being the main SMS path. Every
    view shows this one text, ending with the Redis to check (`embedded_redis.named_redis`). A spool that cannot be
    written either (`spool_failure`, `Spool.failure`) answers nothing: said so, where the views said Twilio's SMS
    were answered while each got 503, which Twilio never sends again.

    Since when (UTC), where the process knows it (`since`: its `RedisOutage.since_at`; `spool_failure_since`): in
    `redis_down_since` and `spool_failure_since`, and in the reason. Paged at 02:10, a blip of 5 s and an outage of
    40 min read the same: only the log line `gateway.redis_lost` said when. None where not known (a one-shot command,
    or a view that gave up on its check before this process met the outage)."""
    redis_since, spool_since = _clock(since), _clock(spool_failure_since)
    trouble = f"{redis_trouble(error)}{f', since {redis_since}' if redis_since else ''}"
    # A key of another type is no outage: Redis answers, and takes what goes to the gateway's other keys.
    if wrong_type(error):
        reason = f"{trouble}; the status cannot be read until it is. Check {redis_name}"
    elif spool_failure is not None:
        reason = (f"{trouble} and the disk spool cannot be written{f' since {spool_since}' if spool_since else ''} "
                  f"({_clean(spool_failure)}): no "
                  "channel takes a report; Twilio's webhooks get 503 (Twilio does not send those SMS again), the "
                  "aggregator's callbacks and Instagram's notifications get 503 (their senders retry), SMTP answers "
                  f"451, pollers wait ({spool_bytes} bytes waiting in the spool). Check {redis_name} and the spool's "
                  "disk")
    else:
        reason = (f"{trouble}: Twilio's webhooks are answered from the disk spool "
                  f"({spool_bytes} bytes waiting, replayed when Redis is back) while the gateways hold Tracking IDs in "
                  "reserve (/readyz shows how many), 503 after; the aggregator's callbacks and Instagram's "
                  f"notifications get 503 (their senders retry), SMTP answers 451, pollers wait. Check {redis_name}")
    # A view's bound passed is a TimeoutError to what reads `redis` (dashboards, alerts): the reason tells it apart.
    kind = TimeoutError.__name__ if isinstance(error, CheckOutlasted) else type(error).__name__
    return {"generated_at": _clock(now), "overall": State.DOWN.value, "redis": kind,
            "redis_state": outage_reason(error),
            "redis_down_since": redis_since, "reason": reason, "spool_size": spool_bytes,
            "spool_failure": spool_failure, "spool_failure_since": spool_since if spool_failure is not None else None}


def check_failed_document(error: BaseException, now: float) -> dict[str, Any]:
    """The status document when the check failed on an error that is not Redis's (a damaged value where it expects
    none, a file in the spool it cannot look at, a bug): overall unknown and why, where the views answered a bare
    500. What it failed on is in the log line `health.check_failed`."""
    kind = type(error).__name__
    return {"generated_at": _clock(now), "overall": UNKNOWN_OVERALL, "error": kind,
            "reason": f"the health check failed ({kind}), so the channels' states are not known: see the gateway's "
                      "log line health.check_failed for where"}


# What an ACL denied that Redis does not name (`denied_what`), and how that user's ACL allows it.
_DENIED_UNNAMED: dict[str | None, tuple[str, str]] = {
    "command": ("a command", "ACL SETUSER <user> +<command>"),
    "key": ("a key", "ACL SETUSER <user> ~<pattern>"),
    "channel": ("a channel", "ACL SETUSER <user> &<pattern>"),
    None: ("a command, a key or a channel", "ACL SETUSER <user> +<command>, ~<pattern> for a key or &<pattern> for a "
           "channel"),
}


def redis_trouble(error: BaseException) -> str:
    """What is wrong with Redis, first in every view's reason. A Redis that answers with an error (full at its
    maxmemory, a replica since a failover, MISCONF: it cannot write its disk) was said "unreachable" by its error's
    class alone ("ResponseError"): the operator found it running and answering, and never saw what it said. A key
    of another type where the gateway keeps its own (WRONGTYPE) is said so, naming the key where redis-py names the
    command: it was read as one of those, which sent the operator to the Redis's memory, replicas and disk. So was a
    command the ACL of REDIS_URL's user denies (NOPERM, or a script's ERR: `acl_denied`), said with the command where
    Redis names it."""
    if wrong_type(error):
        key = failed_key(error)
        return (f"{f'The key {_clean(key)}' if key else 'A key'} in Redis holds another type than the gateway keeps "
                "there (WRONGTYPE: written by hand, a SET on a queue key, or by another application on this "
                "database?): look at it with TYPE, and delete it or move it aside (RENAME) once you know whose it is")
    if no_such_database(error):
        return ("Redis has no such database (ResponseError: DB index is out of range): the database number in "
                "REDIS_URL is beyond the server's `databases` (16 unless set)")
    if isinstance(error, BusyLoadingError):
        # Said "unreachable" with "is it running": it runs, and takes commands once its data is read.
        return (f"Redis is loading its data into memory ({type(error).__name__}: after a start or restart it "
                "answers every command so until its AOF or RDB file is read; INFO persistence shows how far)")
    if isinstance(error, AuthenticationError):
        # Said "unreachable" with "is it running": the operator found it running, and the password never came up.
        return (f"Redis refuses the credentials ({type(error).__name__}): the password (or user) in REDIS_URL is not "
                "the one its requirepass or ACL asks for")
    if acl_denied(error):
        # Said "full at its maxmemory, a read-only replica, or unable to write its disk": none of them was the trouble,
        # nor for a command a script ran, which Redis answers ERR, not NOPERM.
        command, what = denied_command(error), denied_what(error)
        save = "then ACL SAVE where Redis has an aclfile, or CONFIG REWRITE where its users are in redis.conf"
        if command:
            return (f"The Redis user in REDIS_URL lacks permission for the command {_clean(command.upper())} the "
                    f"gateway needs ({type(error).__name__}: {_clean(redis_words(error))}): allow it in that user's "
                    f"ACL (ACL SETUSER <user> +{_clean(command.lower())}, {save}) or give REDIS_URL a user that has "
                    "it")
        # Redis names neither the command nor the key or channel here: `ACL LOG` does; each is allowed its own way.
        denied, allow = _DENIED_UNNAMED.get(what, _DENIED_UNNAMED[None])
        return (f"The Redis user in REDIS_URL lacks permission for {denied} the gateway needs "
                f"({type(error).__name__}: {_clean(redis_words(error))}): find it in `ACL LOG` in Redis and allow it "
                f"in that user's ACL ({allow}, {save}) or give REDIS_URL a user that has it")
    if isinstance(error, ResponseError):
        return (f"Redis answers but refuses commands ({type(error).__name__}: {_clean(redis_words(error))}; full at "
                "its maxmemory, a read-only replica, or unable to write its disk: see its log and INFO)")
    if isinstance(error, CheckOutlasted):
        return (f"Redis does not answer in time ({error}, "
                "health.view_check_seconds: Redis slow, busy with a long command or script (SLOWLOG GET), swapping or "
                "on a network losing packets, or this host too busy to run the check (its load: uptime, top))")
    if connect_timed_out(error):
        return (f"Redis does not answer in time ({type(error).__name__}: no connection was made in time: its host down "
                "or cut off, a packet filter, a wrong address in REDIS_URL, or a Redis that hangs with its queue of "
                "connections full?)")
    if outage_reason(error) == "not_answering":
        # Said "unreachable": the operator found it running, taking connections, and looked no further.
        return (f"Redis does not answer in time ({type(error).__name__}: it takes the connection, and a command runs "
                "out of time: busy with a long command or script (SLOWLOG GET), swapping, saving to a slow disk, or a "
                "network losing packets?)")
    return f"Redis unreachable ({type(error).__name__})"


# How long `lapor-gateway status` waits for a sign of the deployment in a Redis that shows none (a deployment started
# a moment ago beats within one beat, gateway.liveness.BEAT_SECONDS, 2 s): the default of health.deployment_wait_seconds
# (config/defaults.toml); and how often it looks meanwhile.
DEPLOYMENT_WAIT_SECONDS = 2.5
DEPLOYMENT_LOOK_SECONDS = 0.25


def deployment_seen(redis: Redis, channels: Iterable[str], *, wait: float = 0.0,
                    sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> bool:
    """Whether this Redis shows any sign of the deployment: a beat of a process serving one of `channels` (the HTTP
    gateway, SMTP server or pollers: a channel's set keeps its newest beat for good) or the Tracking-ID counter (set
    when a process takes its first reserve of IDs). A Redis with neither (a typo in REDIS_URL's database number, a
    fresh Redis after a failover without persistence) is not the deployment's as it is now, whatever its rules would
    say; looked at again until `wait` has passed, one round trip each."""
    keys = [SEQUENCE_KEY, *(SERVING_KEY.format(channel=channel) for channel in channels)]
    deadline = clock() + wait
    while not redis.exists(*keys):
        if clock() >= deadline:
            return False
        sleep(DEPLOYMENT_LOOK_SECONDS)
    return True


def no_deployment_document(redis_name: str, now: float) -> dict[str, Any]:
    """The status document of a Redis that shows no sign of the deployment (`deployment_seen`): overall unknown, and
    a reason naming the Redis read, its database number included, so the operator checks REDIS_URL before anything
    else. Nothing was written to it."""
    reason = (f"no sign of this deployment in {redis_name}: no process receiving a channel (lapor-gateway serve, "
              "smtp, pollers) ever beat there and no Tracking ID was minted there. Is REDIS_URL, its database "
              "number included, the deployment's? If it is, none of those processes runs and this Redis lost what "
              "they wrote (a fresh one after a failover, without persistence): start them. Nothing was written to it")
    return {"generated_at": _clock(now), "overall": UNKNOWN_OVERALL, "reason": reason}
