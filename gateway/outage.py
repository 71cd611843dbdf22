"""A process's Redis outage, told in three lines: when it starts, now and then while it lasts, when it ends.

Everything in a process meets a lost Redis on its own and at its own pace (a worker's RQ loop and liveness thread, the
gateway's health loop every few seconds and each /metrics scrape); a line at each of those buried the line to alert
on. Each tells one tracker instead, which logs `<process>.redis_lost` (error, with the first error: the line to alert
on) once, `<process>.redis_still_lost` (warning) every `REMIND_SECONDS` while it lasts, and `<process>.redis_back`
(info, with the outage's length) at the first call Redis answers again. Each says why: `unreachable` (refused, reset,
closed: a Redis stopped or restarting), `not_answering` (a command or a connection that ran out of time: paused, a
blocked main thread, a partition dropping packets, a host down), so that a hang is told in the same lines as a stop, or
`refusing` (it answers with an error: full at its maxmemory, a read-only replica, MISCONF, a password or an ACL
permission it refuses), with its words. `redis_refuses` is that one classification, for every view and command.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.logs import get_logger

log = get_logger()

REMIND_SECONDS = 60.0
DETAIL_LIMIT = 200


def redis_refuses(error: BaseException) -> bool:
    """Whether Redis answered, with an error: a command refused (ResponseError: OOM, READONLY, MISCONF, NOPERM,
    WRONGTYPE), the credentials (AuthenticationError: WRONGPASS, NOAUTH), or every command while it loads its data
    (BusyLoadingError: LOADING). redis-py makes the last two ConnectionErrors, so a Redis refusing the gateway's
    password, or reading its AOF after a restart, was said `unreachable`, and the operator looked for a Redis
    stopped where one answered."""
    return isinstance(error, (ResponseError, AuthenticationError, BusyLoadingError))


def outage_reason(error: BaseException) -> str:
    """Why Redis is away, as the outage's lines say it: `not_answering` for a command or a connection that ran out of
    time, `refusing` for an error Redis answered (`redis_refuses`), `unreachable` for anything else (refused, reset,
    closed). A connection that runs out of time is a Redis that hangs too, once its queue of connections is full (511
    by default: a gateway's and its workers' reconnections fill it within minutes), so it stays `not_answering`, said
    apart by `redis_trouble` (`connect_timed_out`)."""
    if redis_refuses(error):
        return "refusing"
    return "not_answering" if isinstance(error, (RedisTimeoutError, TimeoutError)) else "unreachable"


# How redis-py words a connection that ran out of time, before Redis took it.
_CONNECT_TIMEOUT = "Timeout connecting"


def connect_timed_out(error: BaseException) -> bool:
    """Whether no connection to Redis was made in time: its host down or cut off, a packet filter, a wrong address,
    or a Redis that hangs with its queue of connections full."""
    return isinstance(error, (RedisTimeoutError, TimeoutError)) and str(error).startswith(_CONNECT_TIMEOUT)


# What redis-py writes between a pipeline's failed command and Redis's own words.
_PIPELINE_ERROR = " of pipeline caused error: "


# What Redis writes after the name of a command it does not know (renamed or disabled): that command's arguments.
_UNKNOWN_COMMANDS_ARGUMENTS = ", with args beginning with:"


def redis_words(error: BaseException) -> str:
    """The error's own words, without the command's arguments, a citizen's words and number among them: what redis-py
    puts before a pipeline's error, and what Redis repeats of an unknown command's."""
    return str(error).rpartition(_PIPELINE_ERROR)[2].partition(_UNKNOWN_COMMANDS_ARGUMENTS)[0]


# Commands whose first argument is no key (a script, a function): an error they meet names no key of theirs.
_KEYLESS_FIRST_ARGUMENT = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})
_PIPELINE_COMMAND = re.compile(rf"Command # \d+ \((?P<command>.*?)\){re.escape(_PIPELINE_ERROR)}", re.DOTALL)


def wrong_type(error: BaseException) -> bool:
    """Whether Redis refused a command because its key holds another type than the command's (WRONGTYPE): a key out
    of place, which the views name as such, not as a Redis full, read-only or unable to write its disk."""
    return isinstance(error, ResponseError) and redis_words(error).startswith("WRONGTYPE")


def no_such_database(error: BaseException) -> bool:
    """Whether Redis refused to select the database REDIS_URL names, one beyond its `databases`: a URL to mend, not an
    outage to wait out (full at its maxmemory, a read-only replica)."""
    return isinstance(error, ResponseError) and redis_words(error).startswith("DB index is out of range")


# How Redis begins its words when its ACL denies a command a Lua script runs (the gateway's claim and store scripts
# call HSET, SET, EXPIRE, HMGET, EXISTS): an ERR, not a NOPERM, which redis-py makes a plain ResponseError. Redis 7.0:
# "The user executing the script can't run this command or subcommand script: <sha>, on @user_script:14."; 6.2 (the
# embedded Redis's) puts "Error running script (call to f_<sha>): @user_script:14: @user_script: 14: " before those
# words; 7.2 on: "ACL failure in script: User lapor has no permissions to run the 'hset' command script: ...".
_SCRIPT_6_2 = r"Error running script \(call to \w+\): (?:@user_script: ?\d+: )*"
_SCRIPT_ACL_DENIED = re.compile(rf"(?:{_SCRIPT_6_2})?(?:ACL failure in script:|The user executing the script can't)")
# How Redis 6.2 wraps a refusal a script met ("... @user_script: 14: -OOM command not allowed ..."): 7.0 on raise it
# as itself, the script named after its words.
_SCRIPT_REFUSAL_6_2 = re.compile(rf"{_SCRIPT_6_2}-")


def _unscripted(words: str) -> str:
    """Redis's words without the wrapper 6.2 puts around a refusal a script met."""
    wrapped = _SCRIPT_REFUSAL_6_2.match(words)
    return words[wrapped.end():] if wrapped else words


def acl_denied(error: BaseException) -> bool:
    """Whether the ACL of REDIS_URL's user denied a command, a key or a channel: NOPERM, or the ERR Redis answers for
    one a script ran, which was said a Redis full at its maxmemory, a read-only replica or unable to write its disk,
    to be waited out."""
    if isinstance(error, NoPermissionError):
        return True
    return isinstance(error, ResponseError) and _SCRIPT_ACL_DENIED.match(redis_words(error)) is not None


# How Redis names the command an ACL denies: "this user has no permissions to run the 'evalsha' command" (alone, or
# in a script from 7.2 on: "User lapor has no permissions to run the 'hset' command").
_DENIED_COMMAND = re.compile(r"no permissions to run the '(?P<command>[^' ]{1,64})' command")


# How Redis says what else an ACL denied, naming no command: "... to access one of the keys used as arguments", "No
# permissions to access a key", "... can't access at least one of the keys mentioned in the command" (a script's on
# 7.0), "... a channel", "... can't publish to the channel mentioned in the command"; "can't run this command or
# subcommand" is a command a script ran on 7.0, unnamed.
_DENIED_KEY = re.compile(r"\bkeys?\b")
_DENIED_CHANNEL = re.compile(r"\bchannels?\b")
_DENIED_UNNAMED_COMMAND = re.compile(r"\bcommand\b")


def denied_what(error: BaseException) -> str | None:
    """What an ACL denied (`acl_denied`), as Redis says it: "command", "key" or "channel"; None where it says none
    of them, or no ACL denial. Each is allowed its own way (+command, ~pattern, &pattern)."""
    if not acl_denied(error):
        return None
    if denied_command(error):
        return "command"
    words = redis_words(error)
    for what, said in (("key", _DENIED_KEY), ("channel", _DENIED_CHANNEL), ("command", _DENIED_UNNAMED_COMMAND)):
        if said.search(words):
            return what
    return None


def denied_command(error: BaseException) -> str | None:
    """The command an ACL denied (`acl_denied`), as Redis names it; None for a key or a channel denied, for a command
    a script ran on Redis 7.0 (which names none), or no ACL denial."""
    named = _DENIED_COMMAND.search(redis_words(error)) if acl_denied(error) else None
    return named["command"] if named else None


def failed_key(error: BaseException) -> str | None:
    """The key of the command an error came from, where redis-py names the command (a pipeline's: a command sent
    alone is not named): its first argument, unless that is a script's or a function's, or cut short ("...")."""
    named = _PIPELINE_COMMAND.match(str(error))
    parts = named["command"].split(" ") if named else []
    if len(parts) < 2 or parts[0].upper() in _KEYLESS_FIRST_ARGUMENT or parts[1].endswith("..."):
        return None
    return parts[1]


def redis_unwritable(error: BaseException) -> bool:
    """Whether Redis refused a command for a state of its own that ends by itself or by an operator's hand, and then
    takes commands again: full at its maxmemory (OOM), a read-only replica (READONLY), unable to write its disk
    (MISCONF). Not another refusal (an unknown command), which no freed memory or writable disk ends."""
    return isinstance(error, (OutOfMemoryError, ReadOnlyError)) or (
        isinstance(error, ResponseError) and _unscripted(redis_words(error)).startswith(("MISCONF", "OOM", "READONLY")))


# Refusals of a Redis in a state that ends, by their first word: how Redis ends a blocking wait it cuts short (BLMOVE:
# RQ's wait for a job): "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
# as a primary becomes a replica (a failover: READONLY from the next write on), or an operator's CLIENT UNBLOCK ...
# ERROR, once; too few replicas to write to (NOREPLICAS: min-replicas-to-write, a usual setting for high
# availability), a script running past its time (BUSY), a replica whose primary is down (MASTERDOWN), a cluster
# moving or missing its slots (TRYAGAIN, CLUSTERDOWN). Taken for a bug's errors, each made a worker wait up to a
# minute after Redis took commands again.
# (redis-py raises MASTERDOWN, TRYAGAIN and CLUSTERDOWN as classes of their own, their words without the code.)
_PASSING_REFUSAL = re.compile(r"(?:UNBLOCKED|NOREPLICAS|BUSY)\b")


def refusal_passes(error: BaseException) -> bool:
    """Whether Redis refused for a reason that waiting ends, by itself or by an operator's hand, with no change of
    the code or of a key: `redis_unwritable`, an ACL denial (`acl_denied`), the credentials, its loading of its data,
    and the states of `_PASSING_REFUSAL` (a blocking wait cut short as it became a replica, too few replicas, a busy
    script, a primary down, a cluster's slots moving). A key of another type (WRONGTYPE), an unknown
    command or a syntax error are not: the same command meets them again however long one waits, and they are a
    bug's or a key's to mend, with a traceback to read."""
    return (isinstance(error, (AuthenticationError, BusyLoadingError)) or redis_unwritable(error)
            or acl_denied(error) or isinstance(error, (TryAgainError, ClusterDownError))
            or (isinstance(error, ResponseError)
                and _PASSING_REFUSAL.match(_unscripted(redis_words(error))) is not None))


class RedisOutage:
    """Whether Redis is away for this process, told by whatever met it and logged once, as `<process>.redis_*` with
    `fields` (a worker's queue). Thread-safe."""

    def __init__(self, process: str, *, clock: Callable[[], float] = time.monotonic,
                 remind_seconds: float = REMIND_SECONDS, wall_clock: Callable[[], float] = time.time,
                 **fields: Any) -> None:
        self._process = process
        self._fields = fields
        self._clock = clock
        self._wall_clock = wall_clock
        self._remind_seconds = remind_seconds
        self._lock = threading.Lock()
        self._since: float | None = None
        self._since_at: float | None = None  # `_since` by the wall clock, for the views (`since_at`)
        self._reminded_at = 0.0

    def lost(self, error: BaseException) -> None:
        """A call to Redis failed: the outage's first line, a reminder when one is due, else nothing."""
        with self._lock:
            now = self._clock()
            started = self._since is None
            remind = not started and now - self._reminded_at >= self._remind_seconds
            if started:
                self._since, self._since_at = now, self._wall_clock()
            if started or remind:
                self._reminded_at = now
            since = self._since
        assert since is not None
        if started:
            log.error(f"{self._process}.redis_lost", **self._fields, reason=outage_reason(error),
                      error=type(error).__name__, detail=redis_words(error)[:DETAIL_LIMIT])
        elif remind:
            log.warning(f"{self._process}.redis_still_lost", **self._fields, reason=outage_reason(error),
                        error=type(error).__name__, outage_seconds=round(now - since))

    @property
    def active(self) -> bool:
        """Whether an outage is on: lost, and no call went through since.

        Read without the lock (one attribute: atomic): a worker's stop asks this from RQ's signal handler, which runs
        on the main thread wherever it was, possibly inside `lost` with the lock held (RQ's line through the filter),
        and would wait for it forever."""
        return self._since is not None

    @property
    def since_at(self) -> float | None:
        """When (wall clock, Unix time) the outage on began, as the views show it; None while none is. Paged at 02:10,
        an operator could not tell a blip of 5 s from an outage of 40 min: only the `redis_lost` line said when."""
        return self._since_at

    def back(self) -> None:
        """A call to Redis went through: the outage, if there was one, is over."""
        with self._lock:
            if self._since is None:
                return
            seconds = self._clock() - self._since
            self._since = self._since_at = None
        log.info(f"{self._process}.redis_back", **self._fields, outage_seconds=round(seconds, 1))
