"""`lapor-gateway`: run the processes, and the operator's tools (dead letters, a report's files, status)."""

from __future__ import annotations

import errno
import functools
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TextIO, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gateway.embedded_redis import URL_FILE, embedded_redis_url
from gateway.localtime import UTC_FORMAT, shown_time, with_local_times
from gateway.logs import configure_logging, get_logger, redact_fields, scrub, sensitive_values
from gateway.settings import (
    Settings,
    SettingsError,
    load_settings,
    moved_with,
    port_holder,
    settings_warnings,
    unknown_variables,
)

if TYPE_CHECKING:
    import threading
    from zoneinfo import ZoneInfo

    from redis import Redis

    from workers.deadletters import DeadLetter, DeadLetters
    from workers.handover import ReportFiles

# No pretty tracebacks: they print local variables, which hold citizens' numbers and words.
app = typer.Typer(help="LAPOR! intake gateway: processes and operator tools.", no_args_is_help=True,
                  pretty_exceptions_enable=False, pretty_exceptions_show_locals=False)
deadletters_app = typer.Typer(help="List, inspect, requeue and purge dead letters.", no_args_is_help=True)
app.add_typer(deadletters_app, name="deadletters")


def _unusable_width() -> bool:
    """Whether `COLUMNS` is one rich reads (digits alone) that says no width: `0`, `00`, or digits `int` does not read
    (`²`: every command ended on a ValueError)."""
    columns = os.environ.get("COLUMNS", "")
    if not columns.isdigit():
        return False
    try:
        return int(columns) == 0
    except ValueError:
        return True


# `COLUMNS=0` (a script's environment, a broken terminal) gave every console a width of nothing, rich's and typer's
# own: each printed nothing at all, a requeue or a purge ran with no word of it, an error's line and `--help` were
# lost. A width of nothing is taken as none said, before any console reads it.
if _unusable_width():
    del os.environ["COLUMNS"]
# Messages are not wrapped at the terminal width: paths, IDs and reasons stay whole, to copy and to grep. Nothing is
# highlighted by guesswork: rich's highlighter looks for numbers and URLs in every line in a time that grows with the
# square of a run of letters, and `deadletters show` of a letter quoting a 2 MB answer ran for hours at full CPU.
console = Console(soft_wrap=True, highlight=False)
# Warnings about the configuration, apart from what a command prints (`status --json` stays one JSON document).
errors = Console(stderr=True, soft_wrap=True, highlight=False)
# A progress bar, apart from what a command prints too; shown only where stderr is a terminal.
progress_console = Console(stderr=True, highlight=False)
# Piped (to grep, a file, a cron mail) there is no terminal width to keep to: without a width rich squeezes tables
# into 80 columns and cuts queue names and reasons short ("lapor-for…", "casesto…"). Tables take the width their
# cells need instead (COLUMNS still sets one).
PIPED_WIDTH = 1000
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = PIPED_WIDTH
log = get_logger()


# Exit code of a command that cannot start: a configuration error, no Redis to read.
EXIT_CANNOT_START = 2


def _cannot_start(lead: str, rest: str, *, error: str, as_json: bool) -> NoReturn:
    """Why the command cannot even look, then exit 2: `lead` in red and `rest` after it, as text. With `--json`, one
    JSON document as the status document of a check that failed (`overall` unknown, `error`, `reason`): that text on
    stdout gave `status --json | jq` a parse error in place of the reason."""
    if as_json:
        _write_json({"generated_at": shown_time(time.time()), "overall": "unknown", "error": error,
                     "reason": lead + rest})
    else:
        console.print(f"[red]{escape(lead)}[/red]{escape(rest)}")
    raise typer.Exit(EXIT_CANNOT_START)


def _settings(*, log_stream: TextIO | None = None, as_json: bool = False) -> Settings:
    """The settings, their warnings said on stderr, and logging set up (on stdout, or `log_stream`). A configuration
    error is said as `_cannot_start` says it."""
    try:
        settings = load_settings()
    except SettingsError as error:
        _cannot_start("configuration error:", f" {error}", error="configuration_error", as_json=as_json)
    for name, close in unknown_variables():  # names only: a value may be a secret
        errors.print(f"[yellow]warning:[/yellow] {name} is no setting and is ignored"
                     + (f" (did you mean {close}?)" if close else ""))
    for warning in settings_warnings(settings):
        errors.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    configure_logging(settings.logging.level, stream=log_stream, own_hosts=settings.own_hosts)
    return settings


def _operator_settings() -> Settings:
    """`_settings` for an operator's command (deadletters, attachments, email quarantine, unfiled): its output is on
    stdout, its log lines on stderr. On stdout, `deadletters requeue --all` of 3,000 letters wrote 3,000 JSON lines
    through its progress bar and into any pipe of its output. A process (serve, worker, ...) logs on stdout."""
    return _settings(log_stream=sys.stderr)


def _tables(process: str, *, as_json: bool = False) -> None:
    """The operators' tables (replies, keywords, identity: gateway.tables) loaded and checked before the command takes
    a message: a syntax error or a missing key in one started a process healthy that then failed every message. Said
    as `_cannot_start` says a configuration error, logged as `<process>.refused_to_start`."""
    from gateway.tables import check_tables

    try:
        check_tables()
    except SettingsError as error:
        log.error(f"{process}.refused_to_start", reason="configuration_error", detail=str(error))
        _cannot_start("configuration error:", f" {error}", error="configuration_error", as_json=as_json)


def _operator_redis(settings: Settings) -> Redis:
    """The Redis client of an operator's command (`deadletters`, `unfiled`, `attachments`, `email quarantine
    reprocess`, and the look at Redis a command that met it failing says): REDIS_URL's or the running `make run`'s,
    waiting `operator_redis_timeout_seconds` for each answer (one home: each had its own client and timeout)."""
    from gateway.queues import redis_connection

    return redis_connection(_require_redis_url(settings), timeout=settings.operator_redis_timeout_seconds)


def _require_redis_url(settings: Settings, *, as_json: bool = False) -> str:
    """REDIS_URL, or the embedded Redis a running `make run` wrote down under the data dir (so an operator's
    `lapor-gateway status` or `deadletters list` finds it without looking up its port). Without either it says which
    data dir it looked in and the ways out: "no `make run` under this data dir" left a `make run` on another one, or
    a relative LAPOR_DATA_DIR read from another directory, to guess. A URL file no supervisor holds the lock of is
    left by a `make run` killed outright (SIGKILL: no clean-up): its Redis is gone, and connecting to its port hung on
    or failed as an outage. Said as `_cannot_start` says it."""
    from gateway.supervisor import LOCK_FILE, supervisor_running

    if settings.redis_url:
        return settings.redis_url
    embedded = embedded_redis_url(settings.data_dir)
    running = embedded is not None and supervisor_running(settings.data_dir)
    if embedded and running:
        return embedded
    data_dir = settings.data_dir.absolute()
    url_file = data_dir / "redis" / URL_FILE
    if embedded:
        found = (f"{url_file} is left from a `make run` that no longer runs (killed?): no supervisor holds "
                 f"{data_dir / LOCK_FILE}, and the Redis it names is gone")
    else:
        found = f"no `make run` runs on the data dir {data_dir} (none wrote {url_file})"
    # `dev` alone runs the production profile, which asks for every secret: `make run` sets the development one.
    _cannot_start("REDIS_URL is not set", f" and {found}: start `make run` (or `LAPOR_PROFILE=development "
                  "lapor-gateway dev`) there, point LAPOR_DATA_DIR at the data dir of the one running, or set "
                  "REDIS_URL to your Redis",
                  error="no_redis_url", as_json=as_json)


def _refuse_unknown(what: str, typed: str, known: str) -> NoReturn:
    """One line naming what was typed (markup-escaped) and what is known, then exit 2: the answer to a name that is
    none of the gateway's, given where a typo would otherwise match nothing and look like nothing to do."""
    console.print(f"[red]no such {what}:[/red] {typed}; {known}")
    raise typer.Exit(2)


P = ParamSpec("P")
R = TypeVar("R")
# Exit code of an operator's command that met a Redis it could not reach (as `attachments purge`'s RedisUnavailable).
EXIT_REDIS_UNREACHABLE = 1


def _tells_an_unreachable_redis(command: Callable[P, R]) -> Callable[P, R]:
    """An operator's command that meets a Redis refusing or not answering says which Redis and what to do, and exits
    1, instead of ending on a traceback (which named neither). Not for the processes: they ride an outage out."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    @functools.wraps(command)
    def told(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, ResponseError) as error:
            from gateway.embedded_redis import named_redis
            from gateway.outage import connect_timed_out, outage_reason

            settings = load_settings()  # loaded by the command already: not `_settings`, which warns again
            redis = named_redis(_operator_redis(settings), settings.data_dir)
            # A Redis that answered with an error, or took the connection and answered too late, runs: the trouble
            # says where to look, where "is it running" sent the operator to start one.
            check = ("." if outage_reason(error) in ("refusing", "not_answering") and not connect_timed_out(error)
                     else ": is it running, and are REDIS_URL and its database number the gateway's?")
            trouble, mended = _redis_said(error)
            console.print(f"[red]{escape(trouble)}:[/red] check {escape(redis)}{check} The command stopped there; run "
                          f"it again once {mended}")
            raise typer.Exit(EXIT_REDIS_UNREACHABLE) from None

    return told


def _redis_said(error: BaseException) -> tuple[str, str]:
    """What is wrong with Redis (`redis_trouble`) and when to run a command again (`_redis_mended`), for a Redis error
    or intake's NotDurable raised from one: "Redis unreachable ... once Redis answers" was said of a Redis that
    refused the password, and answered all along."""
    from redis.exceptions import RedisError

    from gateway.health.documents import redis_trouble

    cause = error if isinstance(error, RedisError) else error.__cause__
    if not isinstance(cause, RedisError):
        return "Redis unreachable", _redis_mended(error)
    return redis_trouble(cause), _redis_mended(cause)


def _redis_mended(error: BaseException) -> str:
    """What must be true before an operator's command that met `error` is run again, as every command says it: "once
    Redis answers" sent an operator whose password Redis refused to wait for a Redis that answered all along."""
    from redis.exceptions import AuthenticationError, BusyLoadingError

    from gateway.outage import acl_denied, denied_what, no_such_database, redis_unwritable, wrong_type

    if wrong_type(error):
        return "that key is the gateway's again"
    if no_such_database(error):
        return "REDIS_URL names the gateway's database"
    if isinstance(error, AuthenticationError):
        return "REDIS_URL carries the password it asks for"
    if acl_denied(error):
        what = denied_what(error)
        return (f"the user in REDIS_URL may use the {what}s the gateway needs" if what in ("key", "channel") else
                "the user in REDIS_URL may run the commands the gateway needs")
    if isinstance(error, BusyLoadingError):
        return "Redis has loaded its data (`lapor-gateway status` says when)"
    if redis_unwritable(error):  # it answers already, and refuses until that is mended
        return ("Redis takes commands again (memory freed, a writable primary, its disk writable: `lapor-gateway "
                "status` says when)")
    return "Redis answers (`lapor-gateway status` says when)"


def _count_into_shared_metrics(settings: Settings) -> None:
    """Count into PROMETHEUS_MULTIPROC_DIR like the processes, so what this command counts reaches /metrics and the
    status views: the one set in the environment, else the one a `make run` on this data dir gave its processes (an
    operator's shell has no such variable). Before anything imports prometheus_client: it picks its storage then."""
    from gateway.supervisor import metrics_directory

    shared = metrics_directory(settings.data_dir)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR") and shared.is_dir():
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)


# Exit code of a process that cannot listen: its port is another process's, or its address none of this host's.
EXIT_CANNOT_LISTEN = 2


def _port_in_use(process: str, host: str, port: int, setting: str, *, together_with: str = "") -> NoReturn:
    """One line naming the port and the setting that moves it, then exit 2: a port already taken (another service, a
    second checkout's `make run`) ended the process on an OSError traceback that named neither."""
    log.error("process.port_in_use", process=process, host=host, port=port, setting=setting,
              detail=f"port {port} is taken (another process listens on it, or an outgoing connection holds it a "
                     f"moment; {port_holder(port)}): stop that process, or move this one with {setting}"
                     f"{together_with}")
    raise typer.Exit(EXIT_CANNOT_LISTEN)


def _address_unavailable(process: str, host: str, port: int, setting: str, *, unresolved: str = "") -> NoReturn:
    """One line naming the setting of the address to listen on, then exit 2: an address none of this host's
    interfaces has (another host's, a typo) ended the process on an OSError traceback that named no setting, and
    whose address the log's redaction took for a phone number; a name that resolves to no address (`unresolved`:
    why, a typo or a URL where a host goes) on a gaierror traceback."""
    where = (f"the host name {setting} names resolves to no address ({unresolved})" if unresolved else
             f"no interface of this host has the address {setting} names")
    log.error("process.address_unavailable", process=process, host=host, port=port, setting=setting,
              detail=f"{where}: set {setting} to one of its own addresses, or 0.0.0.0 for all of them")
    raise typer.Exit(EXIT_CANNOT_LISTEN)


def _port_not_permitted(process: str, host: str, port: int, setting: str) -> NoReturn:
    """One line naming the setting of a port this user may not listen on, then exit 2: a port below 1024 (25 for
    SMTP, 80 for HTTP) asks for privileges the gateway's user has not, and the process ended on a PermissionError
    traceback that named no setting."""
    log.error("process.port_not_permitted", process=process, host=host, port=port, setting=setting,
              detail=f"this user may not listen on port {port}: set {setting} to 1024 or above (a proxy or a "
              "firewall redirect in front), or grant the capability (CAP_NET_BIND_SERVICE)")
    raise typer.Exit(EXIT_CANNOT_LISTEN)


def _cannot_listen(error: OSError, process: str, host: str, port: int, setting: str, *, together_with: str = "",
                   host_setting: str = "") -> NoReturn:
    """What binding `host`:`port` failed with, told as the setting to change (`_port_in_use`,
    `_address_unavailable`, `_port_not_permitted`); any other error is raised as it came."""
    if isinstance(error, socket.gaierror) and host_setting:
        _address_unavailable(process, host, port, host_setting, unresolved=error.strerror or "not found")
    if error.errno == errno.EADDRINUSE:
        _port_in_use(process, host, port, setting, together_with=together_with)
    if error.errno == errno.EADDRNOTAVAIL and host_setting:
        _address_unavailable(process, host, port, host_setting)
    if error.errno in (errno.EACCES, errno.EPERM):
        _port_not_permitted(process, host, port, setting)
    raise error


def _run_web_app(app_: Any, process: str, host: str, port: int, setting: str, *, together_with: str = "",
                 host_setting: str = "", listening: dict[str, Any] | None = None,
                 on_listening: Callable[[], None] | None = None,
                 drain: Callable[[Callable[[], int]], Awaitable[None]] | None = None,
                 reuse_port: bool | None = None, shutdown_timeout: float = 60.0) -> None:
    """aiohttp's `run_app`, as it runs an app (its runner, one TCP site, SIGINT and SIGTERM to stop), logging
    `<process>.listening` and calling `on_listening` (on the loop) once the port is bound (a line logged before it
    said so of a port another process held), and `process.port_in_use` when it is taken
    (`process.address_unavailable` when `host`, set by `host_setting`, is none of this host's). Told to stop, it stops
    listening first and awaits `drain` (given the count of connections still open) before aiohttp's shutdown, which
    closes every idle connection at once: a request a client had sent that the loop had not read yet went unanswered,
    its connection closed (a gateway stopped under load left its last webhooks so; Twilio retries none)."""
    import asyncio
    import signal

    from aiohttp import web

    async def serve() -> None:
        stop = asyncio.Event()  # from the start: a stop told during the start-up is taken once it is done
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        runner = web.AppRunner(app_, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
            await site.start()
            log.info(f"{process}.listening", host=host, port=port, **(listening or {}))
            if on_listening is not None:
                on_listening()
            await stop.wait()
            await site.stop()
            if drain is not None:
                await drain(lambda: len(runner.server.connections) if runner.server is not None else 0)
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    except OSError as error:
        _cannot_listen(error, process, host, port, setting, together_with=together_with, host_setting=host_setting)


def _install_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # optional speed-up; asyncio's loop works
        pass


def _remove_orphaned_temporaries(settings: Settings, kind: str) -> None:
    """What a process killed mid-write left under a temporary name (part of a citizen's file or reply) goes as the
    next process of its `kind` starts, not at a purge days later (workers/retention.py `WRITTEN_BY`)."""
    from workers.retention import remove_orphaned_temporaries

    remove_orphaned_temporaries(settings, kind)


@app.command()
def serve() -> None:
    """The HTTP gateway: channel webhooks, /healthz, /readyz, /metrics, /v1/status, /status (the status page),
    /openapi.yaml."""
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.queues import redis_connection
    from gateway.runtime import settle_heap
    from gateway.spool import SpoolNotWritable

    settings = _settings()
    _tables("gateway")
    _remove_orphaned_temporaries(settings, "serve")
    redis = redis_connection(_require_redis_url(settings), timeout=settings.intake.redis_timeout_seconds)
    _install_uvloop()
    try:
        app_ = create_app(settings, redis)
    except SpoolNotWritable as error:
        log.error("gateway.refused_to_start", reason="spool_not_writable", detail=str(error))
        console.print(f"[red]refusing to start:[/red] {error}")
        raise typer.Exit(2) from None
    except SettingsError as error:  # the health rules file (gateway.health.rules.RulesError)
        log.error("gateway.refused_to_start", reason="configuration_error", detail=str(error))
        _cannot_start("configuration error:", f" {error}", error="configuration_error", as_json=False)
    settle_heap()
    _run_web_app(app_, "gateway", settings.http.host, settings.http.port, "LAPOR_HTTP_PORT",
                 together_with=moved_with("LAPOR_HTTP_PORT", settings), host_setting="LAPOR_HTTP_HOST",
                 listening={"profile": settings.profile}, shutdown_timeout=10,
                 reuse_port=settings.http.reuse_port or None, on_listening=app_[GATEWAY_KEY].now_listening,
                 drain=app_[GATEWAY_KEY].drain)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queue names.")] = (
        "lapor-forward,lapor-reply,lapor-status"
    ),
    burst: Annotated[bool, typer.Option(help="Exit when the queues are empty.")] = False,
) -> None:
    """RQ workers (non-forking, with the retry scheduler) for the given queues, all of them in one command: it forks
    a child process per queue, and a child that ends stops the others (exit non-zero)."""
    from gateway.queues import ALL_QUEUES

    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALL_QUEUES]
    if unknown or not names:
        # A misspelt queue ran a worker that took no job and looked alive, and none at all one that exited 0 at once.
        _refuse_unknown("queue", escape(', '.join(unknown) or repr(queues)),
                        f"the gateway's queues are {', '.join(ALL_QUEUES)}")
    settings = _settings()
    _tables("worker")
    _count_into_shared_metrics(settings)
    # After: it imports prometheus_client, which picks its storage then.
    _remove_orphaned_temporaries(settings, "worker")
    from workers.run import run_workers

    # The workers connect to settings.redis_url: the embedded Redis of a running `make run` when REDIS_URL is unset.
    settings = settings.model_copy(update={"redis_url": _require_redis_url(settings)})
    log.info("worker.starting", queues=queues)
    raise typer.Exit(run_workers(settings, names, burst=burst))


# A TCP port, as the settings take one (gateway.settings.Port): 70000 listened on 4464 (70000 modulo 65536) while
# its log line said 70000, 0 was the setting's port without a word, and below 0 ended on a traceback.
@app.command()
def casestore(
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Listening port (default: casestore.port).")
                    ] = None,
) -> None:
    """The reference case store on SQLite (data dir/casestore.sqlite3)."""
    from casestore.app import create_casestore_app
    from casestore.storage import ReportStore

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = ReportStore(settings.data_dir / "casestore.sqlite3")
    listen_port = port or settings.casestore.port
    _install_uvloop()
    _run_web_app(create_casestore_app(store, settings.casestore.token), "casestore", "127.0.0.1", listen_port,
                 "--port" if port else "LAPOR_CASESTORE_PORT")


@app.command()
def dev() -> None:
    """Everything in the Procfile, in the foreground (what `make run` calls)."""
    from gateway.supervisor import supervise

    settings = _settings()
    _tables("dev")
    raise typer.Exit(supervise(settings))


def _stop_on_signals() -> threading.Event:
    import signal
    import threading

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@app.command()
def pollers() -> None:
    """The X and Instagram mention pollers (only the enabled channels; idle when none is)."""
    from channels.pollers import build_pollers, run_pollers
    from gateway.intake import Intake
    from gateway.queues import redis_connection

    settings = _settings()  # no orphan sweep: the pollers write no file (workers/retention.py `WRITTEN_BY`)
    _tables("pollers")
    redis = redis_connection(_require_redis_url(settings), timeout=settings.intake.redis_timeout_seconds)
    stop = _stop_on_signals()
    run_pollers(build_pollers(settings, redis, Intake(redis, settings)), stop, redis=redis, settings=settings)


@app.command("fake-providers")
def fake_providers(
    port: Annotated[int | None, typer.Option(min=1, max=65535,
                                             help="Listening port (default: social.fake_providers_port).")] = None,
) -> None:
    """A local fake X API and Instagram Graph API (development profile only; idle otherwise)."""
    from channels.fake_provider import FakeProviderConfig, FakeProviderState, XUserKeys, create_fake_provider_app

    settings = _settings()
    if not settings.is_development:
        log.warning("fake_providers.disabled", detail="the fake providers run only in the development profile")
        _stop_on_signals().wait()
        return
    config = FakeProviderConfig(
        x_bearer_token=settings.x.bearer_token, x_write_token=settings.x.user_access_token or None,
        x_user_keys=XUserKeys(settings.x.consumer_key, settings.x.consumer_secret, settings.x.access_token,
                              settings.x.access_token_secret) if settings.x.oauth1 else None,
        x_user_id=settings.x.user_id,
        x_username="lapor1708", ig_user_id=settings.instagram.ig_user_id, ig_username=settings.instagram.username,
        ig_access_token=settings.instagram.access_token, ig_app_secret=settings.instagram.app_secret,
        webhook_url=settings.public_url.rstrip("/") + "/v1/channels/instagram/webhook",
    )
    listen_port = port or settings.social.fake_providers_port
    state = FakeProviderState(config, started_at=time.time())
    _run_web_app(create_fake_provider_app(state), "fake_providers", "127.0.0.1", listen_port,
                 "--port" if port else "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT",
                 together_with="" if port else moved_with("LAPOR_SOCIAL_FAKE_PROVIDERS_PORT", settings))


def _refuse_a_redis_not_the_deployments(redis: Any, settings: Settings) -> None:
    """Where a command is to say there is nothing (no dead letter, no message kept unfiled): a Redis with no sign of the
    deployment (a typo in REDIS_URL's database number) was said to hold `Dead letters (0 in all)`, exit 0, read as all
    clear, where `status` said UNKNOWN, exit 2, and `attachments purge` refused. Said as `status` says it."""
    from gateway.embedded_redis import named_redis
    from gateway.health.documents import deployment_seen, no_deployment_document
    from gateway.health.rules import SERVING_COMMANDS

    # A moment's look, as `status` takes.
    if deployment_seen(redis, SERVING_COMMANDS, wait=settings.health.deployment_wait_seconds):
        return
    unknown = no_deployment_document(named_redis(redis, settings.data_dir, database=True), time.time())
    console.print(f"[red]UNKNOWN:[/red] {escape(unknown['reason'])}")
    raise typer.Exit(EXIT_DOWN)


def _dead_letters(settings: Settings) -> DeadLetters:
    from workers.deadletters import DeadLetters

    return DeadLetters(_operator_redis(settings))


# A requeue shows a progress bar from this many dead letters on, and commits them this many at a time.
REQUEUE_PROGRESS_FROM = 20
REQUEUE_CHUNK = 100


QueueFilter = Annotated[str | None, typer.Option("--queue", help="Only this queue (e.g. lapor-forward).")]
ChannelFilter = Annotated[str | None, typer.Option(
    "--channel", help="Only this channel as the status names it (x: x-mentions and x-reply too), or one source.")]


def _a_reason(reason: str | None) -> str | None:
    """An empty or blank `--reason` names no reason: `requeue --all --reason ''` (a script's unset variable) matched
    no letter and said "requeued 0", exit 0, which at night reads as nothing to do. Refused as typer refuses a bad
    value, exit 2, before anything is read."""
    if reason is not None and not reason.strip():
        raise typer.BadParameter("an empty reason names none: give one as `deadletters list` shows it (e.g. "
                                 "casestore_422), or leave --reason out")
    return reason


ReasonFilter = Annotated[str | None, typer.Option("--reason", callback=_a_reason,
                                                  help="Only this reason (e.g. casestore_422).")]


def _refuse_unknown_filters(queue: str | None, channel: str | None) -> None:
    """A misspelt `--queue` or `--channel` matched no dead letter and exited 0 (`requeued 0`), which at night reads
    as nothing to do: refused, as `worker --queues` refuses one, before anything is read. A channel is one of the
    registry's (or `unknown`), or a source the status counts under one (`x-mentions`, `email-imap`)."""
    from gateway.queues import ALL_QUEUES

    if queue is not None and queue not in ALL_QUEUES:
        _refuse_unknown("queue", _printable(queue), f"the gateway's queues are {', '.join(ALL_QUEUES)}")
    if channel is None:
        return
    from channels.registry import channel_names
    from gateway.health.signals import UNATTRIBUTED
    from gateway.metrics import health_channel

    known = (*channel_names(), UNATTRIBUTED)
    if health_channel(channel) not in known:
        _refuse_unknown("channel", _printable(channel), f"the channels are {', '.join(known)} (or a source of one, as "
                        "`deadletters list` shows it: x-mentions, email-imap...)")


def _say_reasons_if_none_has(letters: list[DeadLetter], reason: str | None, *, named: bool = False,
                             filtered: bool = False) -> None:
    """Where no letter read has the `--reason` given, the reasons they have, with their counts: a misspelt reason
    (`casestore_42`) matched nothing and `requeue --all --reason` said `requeued 0`, exit 0, which at night reads as
    nothing to do. Reasons are open (a provider's status in each), so it is said, not refused; the exit stays.
    `letters` are those that pass the other filters (`--queue`, `--channel`): the counts of every letter named reasons
    the command would not take with the right one (`filtered`: some were given). None passing them, nothing is
    said."""
    if reason is None or not letters or any(letter.reason == reason for letter in letters):
        return
    counts = Counter(letter.reason for letter in letters)
    there = ", ".join(f"{_printable(name)} ({count})" for name, count in sorted(counts.items()))
    which = ("of those named " if named else "") + ("that passes the other filters " if filtered else "")
    console.print(f"no dead letter {which}has the reason {_printable(reason)}; their reasons: {there}")


def _matching(letters: list[DeadLetter], queue: str | None, channel: str | None,
              reason: str | None) -> list[DeadLetter]:
    """Dead letters that pass every filter given (none given: all of them). A channel is the name the status shows
    (`x` takes `x-mentions` and `x-reply` too), the report's own (`twitter`, the case store's: the check took it, and
    it matched nothing) or one source exactly."""
    from gateway.health.signals import UNATTRIBUTED
    from gateway.metrics import health_channel
    from normalizer.envelope import Channel

    wanted = health_channel(channel) if channel in {named.value for named in Channel} else channel
    return [
        letter for letter in letters
        if (queue is None or letter.queue == queue)
        and (wanted is None or wanted in (letter.channel, health_channel(letter.channel or UNATTRIBUTED)))
        and (reason is None or letter.reason == reason)
    ]


@deadletters_app.command("list")
@_tells_an_unreachable_redis
def deadletters_list(
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (oldest first): the next page.")] = 0,
    queue: QueueFilter = None,
    channel: ChannelFilter = None,
    reason: ReasonFilter = None,
) -> None:
    """Dead letters, oldest first: key, Tracking ID, queue, channel, reason, attempts, when, detail."""
    _refuse_unknown_filters(queue, channel)
    settings = _operator_settings()
    registry = _dead_letters(settings)
    if not registry.count():
        _refuse_a_redis_not_the_deployments(registry.redis, settings)
    filtered = queue is not None or channel is not None or reason is not None
    if filtered:
        every = registry.select(None)
        matching = _matching(every, queue, channel, reason)
        letters, total = matching[offset:offset + limit], len(matching)
    else:
        letters, total = registry.list(limit=limit, offset=offset), registry.count()
    # The key names one letter (a report's forward apart from its reply), and the only name of an unreadable one,
    # which has no Tracking ID: `requeue` says to purge those by key, and the list showed none.
    table = _folded_table(f"Dead letters ({registry.count()} in all)",
                          ("key", "tracking_id", "queue", "channel", "reason", "attempts", "failed at", "detail"))
    for letter in letters:
        table.add_row(_printable(letter.key), _printable(letter.tracking_id), _printable(letter.queue),
                      _printable(_channel_of(letter)), _printable(letter.reason), str(letter.attempts),
                      shown_time(letter.failed_at, settings.operator_zone),
                      _printable(_shortened(scrub(letter.detail), DETAIL_SHOWN)))
    _print_table(table)
    # Thousands of letters (a case-store outage's) showed the oldest 50 with no word of the rest, and a filter no
    # word of how many it matched (what `requeue --all` with it would take): said, with the way to the next page.
    matched = " that pass the filters" if filtered else ""
    if letters:
        console.print(f"shown {offset + 1}-{offset + len(letters)} of {total}{matched}, oldest first"
                      + (f"; `--offset {offset + len(letters)}` for the next" if offset + len(letters) < total else ""),
                      markup=False, highlight=False)
    elif total:
        console.print(f"none shown past --offset {offset}: {total}{matched}", markup=False, highlight=False)
    elif filtered:
        console.print("none pass the filters", markup=False, highlight=False)
        _say_reasons_if_none_has(_matching(every, queue, channel, None), reason,
                                 filtered=queue is not None or channel is not None)


@deadletters_app.command("show")
@_tells_an_unreachable_redis
def deadletters_show(selector: Annotated[str, typer.Argument(help="Tracking ID or entry key.")]) -> None:
    """Everything recorded about a dead letter: the one under a key, or each of a Tracking ID's (a report's forward
    and its reply), which `requeue` and `purge` take together."""
    # Every letter the selector names, as `requeue` and `purge` select them: `show <id>` printed the oldest alone, and
    # an operator who read a reply's refusal and ran `purge <id> --yes` dropped the report's forward with it.
    _refuse_empty_selectors([selector])
    settings = _operator_settings()
    registry = _dead_letters(settings)
    if not registry.count():
        _refuse_a_redis_not_the_deployments(registry.redis, settings)
    letters = registry.select([selector])
    if not letters:
        console.print(f"no dead letter for {_printable(selector)}")
        raise typer.Exit(1)
    if len(letters) > 1:
        console.print(f"{len(letters)} dead letters for {_printable(selector)}: `requeue` and `purge` take them all "
                      "(a key names one)")
    for number, letter in enumerate(letters):
        if number:
            console.print()
        # A detail quotes a downstream's answer (an aggregator's or a case store's body, which may echo the citizen's
        # text): an escape sequence in it cleared the screen or retitled the terminal, a direction override
        # reversed it.
        for field, value in _shown(letter, settings.operator_zone).items():
            console.print(f"[bold]{field}[/bold]: {_printable(str(value))}")


# What the gateway itself wrote in a dead letter; the rest (the job's arguments, the downstream's answer) may hold a
# citizen's address, number or words, and is shown as a log line would show it.
_LETTER_VERBATIM = frozenset({"key", "queue", "func", "tracking_id", "reason", "failed_at", "attempts", "channel"})


def _shown(letter: DeadLetter, zone: ZoneInfo | None) -> dict[str, Any]:
    fields = asdict(letter)
    redacted = redact_fields({name: value for name, value in fields.items() if name not in _LETTER_VERBATIM})
    shown = {name: fields[name] if name in _LETTER_VERBATIM else redacted[name] for name in fields}
    # A letter a forward or reply job wrote of its own decision (a provider's refusal, retries run out) names no RQ
    # job: `-`, as the tables show a missing value, where Python's `None` was printed. A status query's names its job
    # whoever gave it up.
    # Where and how a reply failed, and what to do about it, as the health views say it (`reply_step`); `-` in a
    # letter that tells neither (an earlier version's, a job that failed).
    step = _letter_step(letter)
    return {**shown, "failed_at": shown_time(letter.failed_at, zone),
            "channel": _channel_of(letter),  # as `list` shows them, and the source that recorded it
            "source": letter.channel or "-",
            "job_id": shown["job_id"] or "-", "where": shown["where"] or "-", "failure": letter.failure or "-",
            **({"what to do": step} if step else {})}


def _letter_step(letter: DeadLetter) -> str | None:
    """What to do about a failed reply's letter, by its channel and kind of failure, as the views' step says it."""
    from gateway.health.rules import reply_step
    from gateway.metrics import health_channel
    from gateway.queues import REPLY_QUEUE

    if letter.failure is None or letter.queue != REPLY_QUEUE:
        return None
    return reply_step(health_channel(_channel_of(letter)), letter.failure, letter.reason)


def _channel_of(letter: DeadLetter) -> str:
    """The letter's channel as the status views name it (`email` for a letter of `email-smtp`, `x` for `x-reply`), or
    `unknown` for one that could not tell it (a forward whose envelope was gone): the channel the views count it
    against and `--channel` takes. The list showed the source (`email-smtp`) where the views said `email`."""
    from gateway.health.signals import UNATTRIBUTED
    from gateway.metrics import health_channel

    return health_channel(letter.channel) if letter.channel else UNATTRIBUTED


def _refuse_empty_selectors(selectors: list[str] | None) -> None:
    """An empty (or blank) Tracking ID or key names no dead letter: `show ""` printed "no dead letter for " with
    nothing after it, and it matched the letters that have no Tracking ID (an unreadable one's is empty), which
    `purge "" --yes` would have dropped. Refused, exit 2, before anything is read."""
    if any(not selector.strip() for selector in selectors or []):
        console.print("an empty Tracking ID or key names no dead letter: give a Tracking ID or a key as `deadletters "
                      "list` shows it; nothing was done")
        raise typer.Exit(2)


def _selected(registry: DeadLetters, selectors: list[str] | None, all_: bool, queue: str | None,
              channel: str | None, reason: str | None) -> tuple[list[DeadLetter], list[str]]:
    """The dead letters an operator named (or all, with --all), narrowed by the filters; and the Tracking IDs and
    keys named that none of them has, each said as `show` says it."""
    from workers.deadletters import selector_names

    _refuse_empty_selectors(selectors)
    _refuse_names_and_all("Tracking IDs", selectors, all_)
    named = registry.select(None if all_ else selectors)
    letters = _matching(named, queue, channel, reason)
    if not letters:
        _say_reasons_if_none_has(_matching(named, queue, channel, None), reason, named=not all_,
                                 filtered=queue is not None or channel is not None)
    filtered = queue is not None or channel is not None or reason is not None
    found = {letter.key for letter in letters} | {letter.tracking_id for letter in letters}
    missing = [selector for selector in dict.fromkeys(selectors or []) if not selector_names(selector) & found]
    for selector in missing:
        console.print(f"no dead letter for {_printable(selector)}" + (" that passes the filters" if filtered else ""))
    return letters, missing


@deadletters_app.command("requeue")
@_tells_an_unreachable_redis
def deadletters_requeue(
    selectors: Annotated[list[str] | None, typer.Argument(help="Tracking IDs or keys; none with --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Requeue every dead letter (that passes the filters).")] = False,
    queue: QueueFilter = None,
    channel: ChannelFilter = None,
    reason: ReasonFilter = None,
) -> None:
    """Put dead letters back on their queue (after fixing what made them fail)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    _refuse_unknown_filters(queue, channel)
    settings = _operator_settings()
    registry = _dead_letters(settings)
    if not registry.count():  # before the names not found are said
        _refuse_a_redis_not_the_deployments(registry.redis, settings)
    letters, missing = _selected(registry, selectors, all_, queue, channel, reason)
    requeued = busy = unreadable = gone = foreign = 0
    columns = (TextColumn("requeueing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    # On stderr, for a terminal only: on stdout it went into the command's output piped to a file (`| tee log`), its
    # last frame among the counts, and with no terminal to watch it (cron, `2>log`) a bar is noise.
    shown = len(letters) >= REQUEUE_PROGRESS_FROM and progress_console.is_terminal
    with Progress(*columns, console=progress_console, disable=not shown) as progress:
        task = progress.add_task("requeueing", total=len(letters))
        for start in range(0, len(letters), REQUEUE_CHUNK):
            chunk = letters[start:start + REQUEUE_CHUNK]
            outcome = registry.requeue(chunk, settings)
            requeued, busy = requeued + outcome.requeued, busy + outcome.busy
            unreadable, gone = unreadable + outcome.unreadable, gone + outcome.gone
            foreign += outcome.foreign
            progress.advance(task, len(chunk))
    console.print(f"requeued {requeued} dead letter(s)")
    if gone:
        console.print(f"skipped {gone} dead letter(s) no longer there: requeued or purged since this command read "
                      "them (another operator?); see `deadletters list`")
    if busy:
        console.print(f"skipped {busy} dead letter(s): the dead-letter list kept changing (workers are adding dead "
                      "letters fast); they are still listed: run the same command again")
    if unreadable:
        console.print(f"skipped {unreadable} unreadable dead letter(s): no job in them to redo; see them with "
                      "`deadletters list --reason unreadable`, purge them by key")
    if foreign:
        console.print(f"skipped {foreign} dead letter(s) of a queue this release has not (`deadletters list` shows "
                      f"which): requeue them with the release that has it, or purge them; they are still listed")
    if busy or missing or unreadable or gone or foreign:
        raise typer.Exit(1)


@deadletters_app.command("purge")
@_tells_an_unreachable_redis
def deadletters_purge(
    selectors: Annotated[list[str] | None, typer.Argument(help="Tracking IDs or keys; none with --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Purge every dead letter (that passes the filters).")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    queue: QueueFilter = None,
    channel: ChannelFilter = None,
    reason: ReasonFilter = None,
) -> None:
    """Delete dead letters for good (a forward's report never reaches the case store; a reply or a status answer is
    never sent)."""
    _refuse_unknown_filters(queue, channel)
    settings = _operator_settings()
    registry = _dead_letters(settings)
    if not registry.count():  # before the names not found are said
        _refuse_a_redis_not_the_deployments(registry.redis, settings)
    letters, missing = _selected(registry, selectors, all_, queue, channel, reason)
    if letters and not yes and not _confirmed(f"purge {len(letters)} dead letter(s)? {_what_a_purge_loses(letters)}"):
        # Answered no, the command ended on its question, and with no terminal to ask (cron) on a bare "Aborted."
        console.print("purge not confirmed: nothing was purged (--yes to purge without asking)")
        raise typer.Exit(1)
    purged = registry.purge(letters, settings.intake.envelope_ttl_seconds)
    console.print(f"purged {purged} dead letter(s)")
    if purged < len(letters):
        console.print(f"skipped {len(letters) - purged} dead letter(s) that changed since they were listed (requeued, "
                      "purged or failed again meanwhile, or the list kept changing): see `deadletters list`, and run "
                      "the command again for those still to purge")
    if missing or purged < len(letters):
        raise typer.Exit(1)


def _what_a_purge_loses(letters: list[DeadLetter]) -> str:
    """What is lost for good, by queue: the question said "their reports will not be delivered" of a reply's letter
    too, whose report the case store has (its citizen's answer is what is lost)."""
    from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE

    counts = Counter(letter.queue if letter.readable else "" for letter in letters)
    lost = {FORWARD_QUEUE: "report(s) will never reach the case store", REPLY_QUEUE: "reply(ies) will never be sent",
            STATUS_QUEUE: "status answer(s) will never be sent"}
    parts = [f"{counts[queue]} {what}" for queue, what in lost.items() if counts[queue]]
    others = sum(count for queue, count in counts.items() if queue not in lost)
    if others:
        parts.append(f"{others} unreadable or unknown letter(s) deleted")
    return ", ".join(parts)


def _confirmed(question: str) -> bool:
    """The operator's answer; no, when there is none to read (end of input: no terminal, as under cron)."""
    try:
        return typer.confirm(question)
    except typer.Abort:
        console.print()  # the question's line, left open
        return False


attachments_app = typer.Typer(help="A report's files: what the case store got, handing withheld ones over, and "
                              "deleting those no report needs any more.", no_args_is_help=True)
app.add_typer(attachments_app, name="attachments")
TrackingIdArgument = Annotated[str, typer.Argument(help="The report's Tracking ID.")]
# Shown before any export: what is written is what the case store was kept from.
EXPORT_WARNING = ("[bold red]WARNING:[/bold red] these files are as the citizen sent them, metadata included (a "
                  "photo's GPS, a document's author, a video's place): for an anonymous report they may name the "
                  "whistleblower. Hand over only what a review found safe.")


def _report_files(settings: Settings, tracking_id: str) -> ReportFiles:
    """The report's attachments as workers.handover sees them; a clear line and exit 1 (2 for no Tracking ID) for
    what it cannot show. An ID no gateway minted, on a Redis with no sign of the deployment, is said as `status`
    says that Redis (UNKNOWN, exit 2): the wrong Redis, not a report that is not there."""
    from workers.handover import HandoverError, NotATrackingId, UnknownReport, report_files

    redis = _operator_redis(settings)
    try:
        return report_files(settings, redis, tracking_id)
    except HandoverError as error:
        if isinstance(error, UnknownReport):
            _refuse_a_redis_not_the_deployments(redis, settings)
        _say_refused(str(error))
        raise typer.Exit(2 if isinstance(error, NotATrackingId) else 1) from None


def _say_refused(said: str) -> None:
    """What an operator's command could not do, in words: the error's class name before it (`UnknownReport: ...`)
    was Python's, not the operator's."""
    console.print(escape(said), style="red")


def _folded_table(title: str, columns: Iterable[str]) -> Table:
    """A table whose cells fold onto more lines on a narrow terminal: cut to its width, a key an operator copies into
    the next command read `sms-aggrega…`, an account `178414…`, a failure `aggre…`. Print it with `_print_table`."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _print_table(table: Table) -> None:
    """The table whole where the terminal is wide enough for it (a pipe's is `PIPED_WIDTH`); on a narrower one (a
    phone's SSH client, a split pane: 80 columns) each row as its first cell over its other cells, each as "header
    value", an empty one left out: squeezed into 80 columns, twelve columns folded every cell, a count of 12345 read
    "123" over "45", a channel's reason and the time of its last message took a line a word, and the headers read
    "chan / nel", "stat / e". On a terminal too narrow for even that (`_NARROWEST`), the table as rich folds it."""
    natural = Measurement.get(console, console.options.update_width(_UNBOUNDED_WIDTH), table).maximum
    if natural <= console.width or console.width < _NARROWEST:
        console.print(table)
        return
    if table.title:
        console.print(Text.from_markup(str(table.title), style="table.title"), soft_wrap=False)
    first, *others = table.columns
    # A header that is a sign, not a word, is said with its cell ("#0", an attachment's index): a bare "0" said nothing.
    sign = "" if any(char.isalnum() for char in str(first.header)) else str(first.header)
    width = console.width - len(_ROW_INDENT)
    for head, *cells in zip(*(column.cells for column in table.columns), strict=True):
        _print_folded(Text(sign, style="bold").append_text(Text.from_markup(str(head), style="bold")), console.width)
        values = [(column.header, Text.from_markup(str(cell))) for column, cell in zip(others, cells, strict=True)]
        fields = [Text.assemble((f"{header} ", "dim"), value) for header, value in values if value.plain.strip()]
        for line in _packed(fields, width):
            _print_folded(line, width, indent=_ROW_INDENT)


def _print_folded(text: Text, width: int, *, indent: str = "") -> None:
    """`text` folded onto lines of `width` after `indent`, none ending in a space."""
    for part in text.wrap(console, width, overflow="fold"):
        part.rstrip()
        console.print(Text(indent).append_text(part), soft_wrap=True)


# The narrowest terminal `_print_table` lays a row out for: below it, no width is left beside a row's indent for a
# wide character (a table folded into 3 to 19 columns showed every cell blank).
_NARROWEST = 4
_ROW_INDENT = "  "
# Wide enough for any table's natural width: the width `_print_table` measures a table at.
_UNBOUNDED_WIDTH = 100_000


def _packed(fields: list[Text], width: int) -> list[Text]:
    """The fields on as few lines of `width` as hold them, two spaces apart, a field never cut between two lines
    unless it is longer than a line (then it folds on a line of its own)."""
    lines: list[Text] = []
    for field in fields:
        if lines and lines[-1].cell_len + 2 + field.cell_len <= width:
            lines[-1].append("  ").append_text(field)
        else:
            lines.append(field.copy())
    return lines


# The characters of a dead letter's detail `deadletters list` shows.
DETAIL_SHOWN = 60


def _shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, said to be with "…" (`deadletters show` has it whole): cut silently, an
    unreadable entry's "nothing to requeue; purge it by its key" read "...: nothing", and a failure lost its cause."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _printable(text: str) -> str:
    """Text from an envelope (a type the citizen's mail client declared), quoted from a downstream or a parser (a
    dead letter's or a quarantined mail's detail) or as an operator typed it (a dead letter's name), for the
    terminal: markup escaped, and any character that is not printable (an escape sequence that moves the cursor or
    hides what follows, a direction override) written as its code, so a file cannot make its row read "as sent" or
    hide a row."""
    return escape("".join(char if char.isprintable() else ascii(char)[1:-1] for char in text))


@attachments_app.command("list")
@_tells_an_unreachable_redis
def attachments_list(tracking_id: TrackingIdArgument) -> None:
    """Each attachment of a report as the gateway keeps it, and what the case store gets of it (or why not)."""
    from workers.handover import MISSING_FILE, WITHHELD

    settings = _operator_settings()
    report = _report_files(settings, tracking_id)
    forwarded = (f"forwarded at {shown_time(report.forwarded_at, settings.operator_zone)}"
                 if report.forwarded_at is not None
                 else "forwarded (at a time that cannot be read)" if report.forwarded else "not forwarded yet")
    console.print(f"report {report.tracking_id}: {'anonymous' if report.anonymous else 'named'}, "
                  f"{_printable(report.channel)}, {forwarded}")
    table = _folded_table(f"Attachments ({len(report.attachments)})",
                          ("#", "type", "size", "flags", "gateway keeps", "case store gets", "why"))
    for view in report.attachments:
        table.add_row(str(view.index), _printable(view.content_type), "-" if view.size is None else str(view.size),
                      _printable(", ".join(view.flags)) or "-", view.keeps, view.case_store, view.reason or "")
    _print_table(table)
    # Only a file the gateway still has can be handed over: the export of a missing one ends on FileMissing.
    withheld = [view for view in report.attachments if view.case_store == WITHHELD]
    kept = [str(view.index) for view in withheld if view.keeps != MISSING_FILE]
    missing = [str(view.index) for view in withheld if view.keeps == MISSING_FILE]
    if kept:
        console.print(f"{len(kept)} file(s) withheld from the case store. After a review: lapor-gateway "
                      f"attachments export {report.tracking_id} <dir> " + " ".join(f"--index {i}" for i in kept))
    if missing:
        console.print(f"{len(missing)} withheld file(s) cannot be handed over, #{', #'.join(missing)}: the gateway's "
                      f"file is missing or unreadable under {escape(str(settings.data_dir / 'attachments'))}")


@attachments_app.command("export")
@_tells_an_unreachable_redis
def attachments_export(
    tracking_id: TrackingIdArgument,
    directory: Annotated[Path, typer.Argument(help="Where to write the files (created if missing).")],
    index: Annotated[list[int] | None, typer.Option("--index", help="Only this attachment (repeatable).")] = None,
) -> None:
    """Copy a report's files as the gateway keeps them (as sent, metadata included), never over an existing file."""
    from workers.handover import HandoverError, export_files

    settings = _operator_settings()
    report = _report_files(settings, tracking_id)
    console.print(EXPORT_WARNING)
    try:
        exported = export_files(report, settings.data_dir, directory, index)
    except HandoverError as error:
        _say_refused(str(error))
        raise typer.Exit(1) from None
    except OSError as error:
        console.print(f"[red]cannot write to {escape(str(directory))}:[/red] {escape(str(error))}: nothing was "
                      "exported")
        raise typer.Exit(1) from None
    for item in exported:
        note = " (withheld from the case store)" if item.withheld else ""
        console.print(f"{item.index}: {escape(str(item.path))}, {item.size} bytes{note}")
    console.print(f"exported {len(exported)} file(s), as the citizen sent them")


@attachments_app.command("purge")
@_tells_an_unreachable_redis
def attachments_purge(
    older_than: Annotated[int | None, typer.Option(
        "--older-than", min=1, metavar="DAYS",
        help="This once, delete what was not used for DAYS days (default: attachments.retention_days).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")] = False,
) -> None:
    """Delete the kept files no envelope in Redis names, quarantined mail and spool records, e-mail and SMS outbox
    replies, unfiled messages and dead letters, unused for the retention (cron)."""
    from gateway.embedded_redis import named_redis
    from workers.retention import DAY_SECONDS, NotTheGatewaysRedis, PurgeError, RedisUnavailable, purge

    settings = _operator_settings()
    redis = _operator_redis(settings)
    try:
        result = purge(settings, redis, older_than_days=older_than, dry_run=dry_run)
    except PurgeError as error:
        # Which Redis, what is wrong with it and what then, as every other operator command says it: the bare error
        # named neither, and a password Redis refused was "run it again once Redis answers".
        said = str(error)
        if isinstance(error, NotTheGatewaysRedis):  # no sign of the deployment there: said as `status` says it
            _refuse_a_redis_not_the_deployments(redis, settings)
        if isinstance(error, RedisUnavailable):
            trouble, mended = _redis_said(error.error)
            said = (f"{trouble}; which files the envelopes name is unknown, so nothing was deleted: check "
                    f"{named_redis(redis, settings.data_dir)}, and run it again once {mended}")
        _say_refused(said)
        raise typer.Exit(1) from None
    days = f"{result.retention_seconds / DAY_SECONDS:g} day(s)"
    verb = "would delete" if dry_run else "deleted"
    console.print(f"attachments: {verb} {result.deleted.files} file(s), {result.deleted.bytes:,} bytes; kept "
                  f"{result.kept_named.files} named by an envelope, {result.kept_recent.files} used within {days}")
    for what, unit, deleted, kept in (
            ("quarantined mail", "mail(s)", result.quarantine_deleted, result.quarantine_kept),
            ("spool quarantine", "record(s)", result.spool_quarantine_deleted, result.spool_quarantine_kept),
            ("e-mail outbox", "reply(ies)", result.outbox_deleted, result.outbox_kept),
            ("SMS outbox", "day(s) of replies", result.sms_outbox_deleted, result.sms_outbox_kept)):
        console.print(f"{what}: {verb} {deleted.files} {unit}, {deleted.bytes:,} bytes; kept {kept.files} newer "
                      f"than {days}")
    if "unfiled_messages" not in result.not_purged:
        console.print(f"unfiled messages: {verb} {result.unfiled_deleted}; kept {result.unfiled_kept} newer than "
                      f"{days} (or unreadable)")
    if "dead_letters" not in result.not_purged:
        console.print(f"dead letters: {verb} {result.deadletters_deleted}; kept {result.deadletters_kept} newer than "
                      f"{days}, or forwards (an operator's to requeue), or changed meanwhile")
    unreadable = f" ({result.envelopes_unreadable} damaged: kept what they name)" if result.envelopes_unreadable else ""
    console.print(f"envelopes in Redis: {result.envelopes}{unreadable}")
    if not dry_run:
        console.print(f"Redis's append-only file rewrite: {result.aof_rewrite}")
    if dry_run:
        console.print("dry run: nothing was deleted")
    if result.redis_errors:
        from gateway.health.documents import redis_trouble

        redis_named = escape(named_redis(redis, settings.data_dir))
        # Each step that failed, with its own trouble (one step's key of another type is not the other's): the other
        # step ran, and is said above.
        troubles: dict[str, list[str]] = {}
        for step, error in result.redis_errors.items():
            troubles.setdefault(redis_trouble(error), []).append(step)
        for trouble, steps in troubles.items():
            not_purged = " and ".join(step.replace("_", " ") for step in steps)
            console.print(f"[red]{escape(trouble)}:[/red] {not_purged} were not purged (what is said above was done): "
                          f"check {redis_named}, and run it again once {_redis_mended(result.redis_errors[steps[0]])}")
    if result.failed:
        console.print(f"[red]{result.failed} file(s) or folder(s) could not be read or deleted[/red] (permissions?)")
    if result.failed or result.redis_error is not None:
        raise typer.Exit(1)


email_app = typer.Typer(help="The e-mail channel's operator tools.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Mail that could not be parsed: list it, reprocess it.", no_args_is_help=True)
email_app.add_typer(quarantine_app, name="quarantine")
app.add_typer(email_app, name="email")


@app.command()
def smtp() -> None:
    """The SMTP server for e-mail intake (LAPOR_SMTP_PORT), plus the IMAP poller when configured."""
    import asyncio
    import logging
    import signal

    from channels.email.imap import ImapPoller
    from channels.email.server import start_smtp_server
    from gateway.health.signals import HealthSignals, SignalWriter
    from gateway.intake import Intake
    from gateway.liveness import ServingBeat
    from gateway.queues import redis_connection

    settings = _settings()
    _tables("smtp")
    _remove_orphaned_temporaries(settings, "smtp")
    redis = redis_connection(_require_redis_url(settings), timeout=settings.intake.redis_timeout_seconds)
    _install_uvloop()
    # aiosmtpd logs every command (addresses included) at INFO: our own lines say what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if not settings.email.enabled:  # stay up idle: `make run` stops everything when one process exits
            log.warning("email.disabled", detail="LAPOR_EMAIL_ENABLED is false: no SMTP server, no IMAP poller")
            await stop.wait()
            return
        intake = Intake(redis, settings)
        # One writer of health signals for the process, closed when it stops: a Redis that hangs then holds its stop
        # for no write still queued (the interpreter's exit ran each, each waiting out Redis's timeout).
        signal_writer = SignalWriter(HealthSignals(redis))
        try:
            server = await start_smtp_server(settings, redis, intake, signal_writer=signal_writer)
        except OSError as error:
            intake.close()
            _cannot_listen(error, "smtp", settings.smtp.host, settings.smtp.port, "LAPOR_SMTP_PORT",
                           host_setting="LAPOR_SMTP_HOST")
        except SettingsError as error:  # the TLS certificate (channels.email.server.tls_context)
            intake.close()
            log.error("smtp.refused_to_start", reason="configuration_error", detail=str(error))
            _cannot_start("configuration error:", f" {error}", error="configuration_error", as_json=False)
        poller = asyncio.create_task(ImapPoller(settings, redis, intake, signal_writer=signal_writer).run(stop)) \
            if settings.email.imap_host else None
        # Listening: say so every 2 s, or `email` goes down on the status (health rule process_missing).
        beat = asyncio.create_task(ServingBeat(redis, "smtp", ["email"], data_dir=settings.data_dir).run(stop))
        await stop.wait()
        server.close()
        await server.wait_closed()  # and for the mails being processed (bounded), before the intake closes
        if poller is not None:
            await poller
        await beat
        signal_writer.close()
        intake.close()

    asyncio.run(run())


@quarantine_app.command("list")
def quarantine_list() -> None:
    """Quarantined mail, oldest first: key, reason, size, when."""
    from channels.email.store import Quarantine

    settings = _operator_settings()
    quarantine = Quarantine(settings.data_dir)
    entries = quarantine.list()
    # A path is text, not markup: a data dir `/srv/lapor[prod]` was shown as `/srv/lapor`.
    table = _folded_table(f"Quarantined mail ({len(entries)}) in {escape(str(quarantine.directory))}",
                          ("key", "reason", "size", "quarantined at", "detail"))
    for entry in entries:
        table.add_row(entry.key[:16], _printable(entry.reason), str(entry.size),
                      shown_time(entry.quarantined_at, settings.operator_zone),
                      _printable(_quarantine_detail(entry.reason, entry.detail)))
    _print_table(table)


# The reasons whose detail is an exception's type and message, as raised (`<type>: <message>`): the gateway's parser or
# processing failing on the mail, whose message may quote it (a subject, a name, words of the body).
_EXCEPTION_DETAILS = frozenset({"parse_error", "processing_error"})


def _quarantine_detail(reason: str, detail: str) -> str:
    """A quarantined mail's detail as `list` shows it: scrubbed and cut to 60 characters, and for a failure of the
    gateway's own its error's type alone, as the status views' reason gives it: the first 60 characters of its message
    showed the citizen's words that a scrub of numbers and addresses leaves. The message stays in the entry's .json."""
    if reason in _EXCEPTION_DETAILS:
        kind = detail.partition(":")[0].strip()
        return f"{kind if kind.isidentifier() else '?'} (its message: the entry's .json)"
    return scrub(detail)[:60]


def _refuse_empty_names(what: str, names: list[str] | None) -> None:
    """`unfiled retry ""` said "no unfiled message has the key  (see ...)", a blank where the key goes: refused,
    exit 2, before anything is done."""
    if any(not name.strip() for name in names or []):
        console.print(f"an empty key names nothing: name {what} as the list shows them; nothing was done")
        raise typer.Exit(2)


def _refuse_names_and_all(what: str, names: list[str] | None, all_: bool) -> None:
    """Exit 2 unless names or `--all` are given, and not both: `unfiled retry <key> --all` filed every message kept
    unfiled (and answered their citizens), not the one named, as `deadletters purge <id> --all` once purged them all.
    Before anything is read."""
    if not names and not all_:
        console.print(f"name {what} or pass --all")
        raise typer.Exit(2)
    _refuse_empty_names(what, names)
    if names and all_:
        console.print(f"name {what} or pass --all, not both: nothing was done")
        raise typer.Exit(2)


@quarantine_app.command("reprocess")
@_tells_an_unreachable_redis
def quarantine_reprocess(
    keys: Annotated[list[str] | None, typer.Argument(help="Keys (or key prefixes); none with --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Reprocess every quarantined mail.")] = False,
) -> None:
    """Run quarantined mail through intake again (e.g. after fixing the .eml file or upgrading the parser)."""
    import asyncio

    settings = _operator_settings()
    _tables("quarantine_reprocess")
    _count_into_shared_metrics(settings)
    from channels.email.processor import MailProcessor
    from channels.email.store import Quarantine
    from gateway.embedded_redis import named_redis
    from gateway.errors import NotDurable
    from gateway.intake import Intake

    _refuse_names_and_all("quarantine keys", keys, all_)
    quarantine = Quarantine(settings.data_dir)
    named = {key: quarantine.get(key) for key in keys or []}
    unmatched = [key for key, entry in named.items() if entry is None]
    listed = quarantine.list() if unmatched else []
    for key in unmatched:
        # Which of the two: "no quarantined mail, or more than one" left the operator to guess whether to type more.
        starting = sum(1 for entry in listed if entry.key.startswith(key))
        console.print((f"{starting} quarantined mails have a key starting {_printable(key)}: type more of it"
                       if starting else f"no quarantined mail has a key starting {_printable(key)}")
                      + " (see `lapor-gateway email quarantine list`)")
    entries = quarantine.list() if all_ else [entry for entry in named.values() if entry is not None]
    redis = _operator_redis(settings)

    async def run() -> tuple[int, int]:
        intake = Intake(redis, settings)
        processor = MailProcessor(settings, redis, intake, source="email-quarantine")
        released = kept = 0
        for entry in entries:
            try:
                raw = quarantine.raw(entry)
            except OSError:  # deleted since it was listed (`attachments purge`), or unreadable
                console.print(f"{entry.key[:16]}: gone from the quarantine, or unreadable")
                continue
            # Still quarantined: the entry is rewritten with the new reason; otherwise it is released.
            try:
                with sensitive_values():  # the mail's words and sender, once parsed, on no log line
                    outcome = await processor.process(raw, entry.envelope_sender, entry.recipients)
            except NotDurable as error:  # Redis away or refusing: this mail and the rest stay quarantined, as they were
                trouble, mended = _redis_said(error)
                console.print(f"{entry.key[:16]}: not reprocessed. {escape(trouble)}: check "
                              f"{escape(named_redis(redis, settings.data_dir))}; it stays quarantined, and the rest "
                              f"were not tried: run the command again once {mended}")
                break
            console.print(f"{entry.key[:16]}: {outcome.status} {outcome.tracking_id or outcome.reason or ''}")
            if outcome.status != "quarantined":
                released += 1
                try:
                    quarantine.remove(entry)
                except OSError as error:  # a `.json` that is no file (a directory), a folder this user cannot write
                    console.print(f"{entry.key[:16]}: released, but its files are still in the quarantine "
                                  f"({escape(error.strerror or type(error).__name__)}): delete "
                                  f"{escape(str(quarantine.directory / entry.key))}.eml and .json")
                    kept += 1
        intake.close()
        return released, kept

    released, kept = asyncio.run(run())
    console.print(f"released {released} of {len(entries)} quarantined mail(s)")
    if len(entries) < len(keys or []) or released < len(entries) or kept:
        raise typer.Exit(1)


unfiled_app = typer.Typer(help="Messages the gateway failed to file (a bug they met): list them, retry them, drop "
                          "damaged ones.",
                          no_args_is_help=True)
app.add_typer(unfiled_app, name="unfiled")


def _unfiled(settings: Settings) -> tuple[Any, Any, list[Any], list[tuple[str, str]]]:
    """Redis, its store of unfiled messages, every one of them (oldest first), and the entries that could not be read
    back (channel, key)."""
    from gateway.unfiled import UnfiledMessages

    redis = _operator_redis(settings)
    store = UnfiledMessages(redis)
    return redis, store, *store.read()


@unfiled_app.command("list")
@_tells_an_unreachable_redis
def unfiled_list() -> None:
    """Messages kept unfiled, oldest first: channel, key, when, the error and where it was raised (no word of the
    message: its words and sender stay in Redis)."""
    from gateway.unfiled import shown_key

    settings = _operator_settings()
    redis, _, entries, damaged = _unfiled(settings)
    if not entries and not damaged:
        _refuse_a_redis_not_the_deployments(redis, settings)
    table = _folded_table(f"Unfiled messages ({len(entries)})", ("channel", "key", "kept at", "error", "raised at"))
    for entry in entries:
        # The channel is the name of its hash in Redis: one a hand edit named `lapor:unfiled:[/x]` ended the list on
        # a MarkupError traceback, and an escape sequence in a key or a name typed reached the terminal. The key as
        # `shown_key` names it: the one held is the provider's id of the citizen's post or SMS.
        table.add_row(_printable(entry.channel), _printable(shown_key(settings, entry.key)),
                      shown_time(entry.unfiled_at, settings.operator_zone),
                      _printable(entry.error), _printable(entry.where))
    _print_table(table)
    _say_damaged(settings, damaged)


def _named_unfiled(settings: Settings, entries: list[Any], damaged: list[tuple[str, str]],
                   names: Iterable[str]) -> tuple[list[Any], list[tuple[str, str]], list[str]]:
    """The entries and the damaged entries (channel, key) an operator named, each by its key as `unfiled list` shows
    it (`shown_key`) or as Redis holds it (`<source>:<provider id>`); and the names that matched none, each said."""
    from gateway.unfiled import shown_key

    named = set(names)
    shown = {key: shown_key(settings, key) for key in [entry.key for entry in entries] + [key for _, key in damaged]}
    chosen = [entry for entry in entries if {entry.key, shown[entry.key]} & named]
    chosen_damaged = [(channel, key) for channel, key in damaged if {key, shown[key]} & named]
    unknown = sorted(named - set(shown) - set(shown.values()))
    for name in unknown:
        console.print(f"no unfiled message has the key {_printable(name)} (see `lapor-gateway unfiled list`)")
    return chosen, chosen_damaged, unknown


def _say_damaged(settings: Settings, damaged: list[tuple[str, str]]) -> None:
    """The entries kept unfiled that cannot be read back: the rule `unfiled` counts them, and no retry files them.
    Named as `unfiled list` names the others (`shown_key`), and deleted by that name (`unfiled drop`): the HGET and
    HDEL it said printed the field as Redis holds it, the provider's id of the post or SMS the digest keeps off the
    screen. To look at one first, the HSCAN of its source's entries (the operator's own choice to see their ids)."""
    from gateway.unfiled import UNFILED_KEY, shown_key

    for channel, key in damaged:
        name = _printable(shown_key(settings, key))
        source, colon, _ = key.partition(":")
        pattern = f"{source}:*" if colon else "*"
        console.print(f"{name}: cannot be read back (damaged), it stays: delete it with `lapor-gateway unfiled drop "
                      f"{name}`; it is among HSCAN {_printable(UNFILED_KEY.format(channel=channel))} 0 MATCH "
                      f"{_printable(pattern)}")


def _say_unfiled_left(redis: Any, store: Any, channels: set[str]) -> None:
    """The health signals of `channels` name the newest message still kept unfiled there, not one just filed (a
    Redis that fails now leaves them as they were: the retry's own lines come first)."""
    from redis.exceptions import RedisError

    from gateway.health.signals import HealthSignals

    try:
        left, _ = store.list()
    except RedisError:
        return
    signals = HealthSignals(redis)
    for channel in sorted(channels):
        newest = max((entry for entry in left if entry.channel == channel), key=lambda entry: entry.unfiled_at,
                     default=None)
        signals.unfiled_left(channel, None if newest is None else (newest.unfiled_at, newest.reason))


# What makes the identity of the whole words of a concatenated SMS added to the report filed with fewer of its parts.
WHOLE_WORDS_SUFFIX = ":whole"
# What makes the identity of the acknowledgement of an SMS filed by `unfiled retry` (`_file_sms`).
FILED_ACK_SUFFIX = ":filed"


def _lacking_parts_addition(redis: Any, settings: Settings, intake: Any, message: Any, draft: Any,
                            tracking_id: str) -> Any:
    """The kept message's words as an addition to `tracking_id`'s report, where that report is this message's and
    was filed with fewer of its parts (a sweep's join filed as the webhook kept the whole one, in the moment between
    the sweep's look and its mark); None otherwise. Released as "already filed", the parts only the whole one had were
    lost. The addition carries the report's flags (without the report's copy, as `resolve_follow_up_now` finds them,
    privacy first) and has an identity of its own, so a retry files it once."""
    from gateway.followups import addition_to, resolve_follow_up_now, stored_envelope
    from gateway.queries import casestore_lookup_now

    kept = (message.channel_meta or {}).get("part_ids")
    if not isinstance(kept, list) or len(kept) < 2:
        return None
    # Without the report's copy (it expires; or damaged) the words are added all the same: twice at worst, never lost.
    envelope = stored_envelope(redis, tracking_id, message.source)
    if envelope is not None:
        filed = (envelope.get("channel_meta") or {}).get("part_ids")
        if envelope.get("channel_message_id") != message.provider_message_id or not isinstance(filed, list) or \
                {str(part) for part in kept} <= {str(part) for part in filed}:
            return None
    addition = addition_to(draft, envelope, tracking_id).under_identity(draft.message_identity + WHOLE_WORDS_SUFFIX)
    addition, _unknown = resolve_follow_up_now(redis, addition, settings.intake.id_range, intake.holds_unminted,
                                               casestore_lookup_now(settings))
    return addition


def _file_sms(redis: Any, settings: Settings, intake: Any, message: Any) -> str:
    """File an SMS kept unfiled, as the webhook would have (a follow-up's flags from its report, as the pollers find
    them); what became of it, for the operator. Its citizen was told it was kept, without a Tracking ID: where the
    channel sends replies of its own (the aggregator) its acknowledgement goes now; Twilio takes no reply later.
    Raises what filing it raises (RejectedInput: the message itself is refused, and goes)."""
    from channels.reply_senders import REPLY_SENDERS
    from gateway.followups import resolve_follow_up_now
    from gateway.outbound import OutboundReplies
    from gateway.queries import casestore_lookup_now
    from gateway.replies import flags_told, follow_up_status_reply, report_reply
    from normalizer.pipeline import normalize

    normalized = normalize(message, default_region=settings.sms.default_region,
                           shortest_id=settings.intake.shortest_tracking_id,
                           max_text_chars=settings.intake.max_text_chars)
    if normalized.query is not None:
        return f"a {normalized.query.action.value} message: nothing to file"
    assert normalized.draft is not None
    draft = normalized.draft
    unknown_report = None
    if draft.follow_up_of:
        parent = draft.follow_up_of
        draft, unknown = resolve_follow_up_now(redis, draft, settings.intake.id_range, intake.holds_unminted,
                                               casestore_lookup_now(settings))
        unknown_report = parent if unknown else None
    (receipt,) = intake.commit([draft])
    filed = f"filed as {receipt.tracking_id}" + (" (already filed)" if receipt.duplicate else "")
    if receipt.duplicate and (addition := _lacking_parts_addition(redis, settings, intake, message, draft,
                                                                   receipt.tracking_id)) is not None:
        (added,) = intake.commit([addition])
        draft, receipt, unknown_report = addition, added, None
        filed += f", without some of its parts: its whole words added to it as {added.tracking_id}"
    if message.source not in REPLY_SENDERS:
        return f"{filed}; its citizen was not answered ({message.source} takes no reply later)"
    told = flags_told(normalized.draft, draft)
    text = report_reply(normalized.language, receipt.tracking_id, **told, follow_up_of=draft.follow_up_of,
                        unknown_report=unknown_report, mistyped_id=normalized.mistyped_id,
                        incomplete=message.incomplete)
    asks_status = normalized.asks_status and draft.follow_up_of is not None
    if asks_status:  # "CEK <id> <words>": added, and the status asked for follows by the status job, as the webhook's
        text = follow_up_status_reply(normalized.language, str(draft.follow_up_of), None, **told)
    outbound = OutboundReplies(redis, settings)

    def queue(pipeline: Any) -> Any:
        queued = outbound.queue_reply(source=message.source, kind="follow_up" if draft.follow_up_of else "ack",
                                      text=text, language=normalized.language, tracking_id=receipt.tracking_id,
                                      to_report=receipt.tracking_id, pipeline=pipeline)
        if asks_status:
            outbound.queue_status_job(source=message.source, to=None, tracking_id=str(draft.follow_up_of),
                                      language=normalized.language, promise_reply_id=str(queued.reply_id),
                                      pipeline=pipeline, to_report=receipt.tracking_id)
        return queued

    # Once per message filed, as the webhook answers a report once: two retries of it at once (two operators, a cron
    # job) filed it once and queued two acknowledgements, and its citizen got both. A marker of its own: the message's
    # is the "kept unfiled" SMS's.
    queued = outbound.once_per_message(message.source, draft.message_identity + FILED_ACK_SUFFIX, queue,
                                       what="report")
    if queued.state == "repeated":
        return f"{filed}; its acknowledgement was queued already (by another retry of it)"
    return f"{filed}; its acknowledgement is queued for its citizen"


@unfiled_app.command("retry")
@_tells_an_unreachable_redis
def unfiled_retry(
    keys: Annotated[list[str] | None, typer.Argument(help="Keys as `unfiled list` shows them, or none with --all.")
                    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Retry every unfiled message.")] = False,
) -> None:
    """File unfiled messages (e.g. after an upgrade mended the bug they met): a mention or comment as its poller would,
    answered in public as any; an SMS as its webhook would, its acknowledgement sent by SMS where its channel sends
    replies of its own (the aggregator; Twilio takes none later). Each one filed is forgotten; one that fails again
    stays, its error shown."""
    settings = _operator_settings()
    _tables("unfiled_retry")
    _count_into_shared_metrics(settings)
    from redis.exceptions import RedisError

    from channels.registry import POLLED_CHANNEL_MODULES, polled_reply_target
    from channels.social import MentionIntake
    from gateway.errors import NotDurable, RejectedInput
    from gateway.intake import Intake
    from gateway.unfiled import failure_site, shown_key

    _refuse_names_and_all("unfiled messages' keys", keys, all_)
    redis, store, entries, damaged = _unfiled(settings)
    if not entries and not damaged:
        _refuse_a_redis_not_the_deployments(redis, settings)
    if all_:
        chosen, unknown = entries, []
    else:
        chosen, damaged, unknown = _named_unfiled(settings, entries, damaged, keys or [])
    _say_damaged(settings, damaged)
    intake = Intake(redis, settings, forget_unfiled=False)  # each forgotten below, once filed whole
    filed = 0
    try:
        for entry in chosen:
            name = _printable(shown_key(settings, entry.key))
            try:
                with sensitive_values():  # the message's words and sender on no log line
                    if entry.channel in POLLED_CHANNEL_MODULES:
                        jobs = MentionIntake(redis, settings, intake, polled_reply_target(entry.channel)).take(
                            [entry.message], keep_unfiled=False)
                        tracking_ids = sorted({job.tracking_id for job in jobs if job.tracking_id})
                        outcome = "filed" + (f" as {', '.join(tracking_ids)}" if tracking_ids else "")
                    else:
                        outcome = _file_sms(redis, settings, intake, entry.message)
            except (NotDurable, RedisError) as error:
                trouble, mended = _redis_said(error)
                console.print(f"{name}: not filed. {escape(trouble)}; it stays unfiled, and the rest "
                              f"were not tried: run the command again once {mended}")
                break
            except RejectedInput as refused:  # the message itself, read now without the bug: refused as any
                outcome = f"refused ({refused.reason}): nothing to file"
            except Exception as error:  # the bug it met is still there: it stays unfiled
                console.print(f"{name}: still fails: {type(error).__name__} at {failure_site(error)}")
                continue
            store.release(entry)
            filed += 1
            console.print(f"{name}: {escape(outcome)}")
    finally:
        intake.close()
    if filed:
        _say_unfiled_left(redis, store, {entry.channel for entry in chosen})
    console.print(f"released {filed} of {len(chosen)} unfiled message(s)")
    # The names that matched nothing, not a count of names: one message named by both its names (its key as Redis
    # holds it and as `list` shows it) was filed and the command exited 1, two names for one message.
    if filed < len(chosen) or unknown or damaged:
        raise typer.Exit(1)


@unfiled_app.command("drop")
@_tells_an_unreachable_redis
def unfiled_drop(
    keys: Annotated[list[str], typer.Argument(help="Damaged entries' keys as `unfiled list` shows them.")],
) -> None:
    """Delete entries kept unfiled that cannot be read back (damaged): no retry files them, and they keep their
    channel degraded. Each is named, none by --all; a message that can be read back is left to `unfiled retry`."""
    from gateway.unfiled import shown_key

    settings = _operator_settings()
    _refuse_empty_names("the damaged entries' keys", keys)
    redis, store, entries, damaged = _unfiled(settings)
    if not entries and not damaged:
        _refuse_a_redis_not_the_deployments(redis, settings)
    readable_entries, chosen, unknown = _named_unfiled(settings, entries, damaged, keys)
    readable = sorted(shown_key(settings, entry.key) for entry in readable_entries)
    for name in readable:
        console.print(f"{_printable(name)}: can be read back, not dropped: file it with `lapor-gateway unfiled retry`")
    dropped = 0
    for channel, key in chosen:
        name = shown_key(settings, key)
        if store.drop_damaged(channel, key):
            dropped += 1
            # Its shown name, never the field: the provider's id of the post or SMS.
            log.info("unfiled.dropped", channel=channel, key=name)
            console.print(f"{_printable(name)}: dropped (damaged: its words could not be read back)")
        else:
            console.print(f"{_printable(name)}: not dropped: gone, or written again since it was read (see "
                          "`lapor-gateway unfiled list`)")
    console.print(f"dropped {dropped} of {len(chosen)} damaged unfiled entry(ies)")
    if unknown or readable or dropped < len(chosen):
        raise typer.Exit(1)


STATE_STYLE = {"ok": "green", "degraded": "bold yellow", "down": "bold red"}
# Exit codes of `status`: cron and probes alarm on non-zero. 2 too when it cannot look (Redis unreachable, or one
# that shows no sign of the deployment).
EXIT_DOWN = 2
EXIT_DEGRADED_STRICT = 1


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="The /v1/status document instead of a table.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when the overall state is degraded, too: a channel, a case-store outage or its "
                         "refused token, the disk spool, Redis's lost data.")] = False,
) -> None:
    """Every channel's state and why, the queues and the dead letters. Exit 2 when a channel is down, or when it
    cannot look: Redis unreachable, or a Redis that shows no sign of the deployment."""
    from redis.exceptions import RedisError

    from channels.registry import disabled_channels
    from gateway.embedded_redis import named_redis
    from gateway.health.documents import deployment_seen, no_deployment_document
    from gateway.health.monitor import HealthMonitor, published_disabled
    from gateway.health.rules import load_rules
    from gateway.lease import polled_accounts
    from gateway.queues import redis_connection

    # Its stdout is the view alone: a line the check logs as it reads (`health.queue_unreadable`) came before the
    # document, and `status --json | jq` failed on it just when a queue was in trouble.
    settings = _settings(log_stream=sys.stderr, as_json=as_json)
    _tables("status", as_json=as_json)
    redis = redis_connection(_require_redis_url(settings, as_json=as_json), timeout=3)
    try:
        rules = load_rules(settings.health.rules_path())
    except SettingsError as error:
        _cannot_start("configuration error:", f" {error}", error="configuration_error", as_json=as_json)
    monitor = HealthMonitor(redis, rules, data_dir=settings.data_dir, disabled=disabled_channels(settings),
                            polled=polled_accounts(settings))
    try:
        # A Redis that is not the deployment's (a wrong database number) read as one gave "overall: OK" while its
        # rules' grace ran, and got the monitor's keys written into it: it is said so, and nothing is written.
        if not deployment_seen(redis, monitor.rules.watched, wait=settings.health.deployment_wait_seconds):
            unknown = no_deployment_document(named_redis(redis, settings.data_dir, database=True), time.time())
            if as_json:
                _write_json(unknown)
            else:
                _print_overall("UNKNOWN", with_local_times(unknown["reason"], settings.operator_zone))
            raise typer.Exit(EXIT_DOWN)
        # What the running gateway says it switched off, not what this shell's environment does: a cron job without
        # LAPOR_X_ENABLED=false paged for an X no process was meant to poll. Its set alone, not a union with ours: a
        # channel the deployment runs is not hidden by a stale environment here. None said lately: our own settings.
        published = published_disabled(redis)
        if published is not None:
            monitor.disabled = published
        # A process or worker silent is looked at again for a beat: just after Redis came back from a pause, every
        # beat read as old as the pause, and the channels DOWN (exit 2) while their processes beat again.
        document = monitor.settled_status(wait=settings.health.status_beats_wait_seconds)
    except RedisError as error:
        # The spool size is this data dir's: on the gateway's host, that of the gateways running there.
        down = monitor.redis_down(error)
        if as_json:
            _write_json(down)
        else:
            _print_overall("DOWN", with_local_times(down["reason"], settings.operator_zone))
            console.print(REDIS_SINCE_NOTE, markup=False, highlight=False)
        raise typer.Exit(EXIT_DOWN) from None
    if as_json:
        _write_json(document)
    else:
        _print_status(document, settings.operator_zone)
    if document["overall"] == "down":
        raise typer.Exit(EXIT_DOWN)
    if strict and document["overall"] == "degraded":
        raise typer.Exit(EXIT_DEGRADED_STRICT)


# Since when Redis is away, or the spool cannot be written, is known to the processes that met it, not to this command,
# which looks once: said where to read it, where the operator paged at 02:10 could not tell a blip from a long outage.
REDIS_SINCE_NOTE = ("since when: this command cannot tell; the gateway's /v1/status does (redis_down_since, in UTC), "
                    "as does its log line gateway.redis_lost")
SPOOL_SINCE_NOTE = ("disk spool: since when it cannot be written, this command cannot tell; the gateway's /v1/status "
                    "on that host does (spool_failure_since, in UTC), as does its log line spool.not_writable")


def _print_overall(state: str, reason: str) -> None:
    """The first line of a status that has no channels to show (Redis down, no sign of the deployment), as the
    channels' headline reads ("overall: DOWN: email"): "overall: DOWN: Redis unreachable (ConnectionError): ...".
    It read "overall: DOWN Redis unreachable", state and reason run together."""
    console.print(f"[bold red]overall: {state}:[/] {escape(reason)}")


def _write_json(document: dict[str, Any]) -> None:
    """A document as `status --json` gives it (the /v1/status document, or why it could not look: `_cannot_start`),
    indented, on stdout (not through rich)."""
    import orjson

    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _print_status(document: dict[str, Any], zone: ZoneInfo | None = None) -> None:
    """The status document as tables. What Redis holds is text, not markup: a reason reads "[email]" where the
    scrubber took an address out (rich took it for a style and dropped it), and a provider's "[/...]" ended the
    command on a MarkupError just when a channel was failing. Each time (a field's, or one a reason quotes) is in UTC
    and then in the operators' `zone`, as the page shows it; `--json` gives the document as it is."""
    from gateway.status_page import BY_REASON_LABELS, CASESTORE_DOWN_NOTE, casestore_step, in_progress, queue_failure

    def local(text: str) -> str:
        return with_local_times(text, zone)

    overall = document["overall"]
    # What makes it so, as the page's headline says it ("overall: DEGRADED: case store (forwards failing since ...)"):
    # it said "overall: OK" through the first 5 min of a case-store outage. Text, as the table's reasons: a provider's
    # escape sequences in a reason the headline quotes cleared the screen and retitled the terminal.
    said = _printable(local(document.get("reason") or overall.upper()))
    console.print(f"[{STATE_STYLE[overall]}]overall: {said}[/]  ({local(document['generated_at'])}; counters as of "
                  f"{local(document.get('counters_at') or 'never')})")
    table = _folded_table("Channels", ("channel", "state", "reason", "received", "accepted", "dup", "rejected",
                                       "forwarded", "files lost", "replies ok/failed/held", "dead letters",
                                       "last message"))
    # A reason a channel above gave already (one cause every channel shares: a forward worker gone) is said once:
    # the same long reason, and its action below, came five times.
    first_with: dict[str, str] = {}
    for entry in document["channels"]:
        c = entry["counters"]
        reason = entry["reason"] or "-"
        shown = (f"same as {first_with[reason]}" if reason in first_with and entry["state"] != "ok"
                 else local(reason))
        if entry["state"] != "ok":
            first_with.setdefault(reason, entry["channel"])
        table.add_row(escape(entry["channel"]), f"[{STATE_STYLE[entry['state']]}]{entry['state'].upper()}[/]",
                      _printable(shown), str(c["received"]), str(c["accepted"]),
                      str(c["duplicates"]),
                      str(c["rejected"]), str(c["forwarded"]), str(c["attachments_not_fetched"]),
                      f"{c['replies_sent']}/{c['replies_failed']}/{c['replies_held']}", str(entry["deadletters"]),
                      local(entry["last_message_at"] or "never"))
    _print_table(table)
    # Since when each channel that is not ok is in its state (and cause), as the gateway recorded it: under the table,
    # which keeps its width for the reasons. Only the page said it.
    # And what to do, as the page says it under the reason.
    # Channels in the same state since the same time for the same reason, with the same actions, are one line.
    groups: dict[tuple[Any, ...], list[str]] = {}
    for entry in document["channels"]:
        if entry["state"] != "ok":
            groups.setdefault((entry["state"], entry["since"], entry["reason"], tuple(entry.get("actions", []))),
                              []).append(entry["channel"])
    for (state, since, _, actions), names in groups.items():
        console.print(f"{', '.join(names)}: {state.upper()} since "
                      f"{local(since or 'not recorded yet (no gateway has checked it in this state)')}",
                      markup=False, highlight=False)
        for action in actions:
            console.print(f"  what to do: {action}", markup=False, highlight=False)
    _print_last_errors(document, local)
    # Why the rejected were refused and the files lost, by reason, as the page says it under each channel's counters:
    # "rejected 55" alone did not tell a burst of junk from a secret that differs at the aggregator.
    for entry in document["channels"]:
        for key, label in BY_REASON_LABELS:
            if by_reason := entry["counters"].get(f"{key}_by_reason"):
                console.print(f"{entry['channel']}: {label}: "
                              + ", ".join(f"{_printable(str(k))} {int(v)}" for k, v in by_reason.items()),
                              highlight=False)
    queues = _folded_table("Queues", ("queue", "queued", "held", "retrying", "oldest job (s)", "live workers",
                                      "unreadable", "last failure", "in progress"))
    for q in document["queues"]:
        age = q["oldest_age_seconds"]
        queues.add_row(q["name"], str(q["depth"]), str(q.get("held", 0)), str(q["scheduled"]),
                       "?" if q.get("error") else "-" if age is None else f"{age:.0f}",
                       "-" if q.get("workers") is None else str(q["workers"]), str(q.get("failed", 0)),
                       escape(local(queue_failure(q))), in_progress(q))
    _print_table(queues)
    unreadable = sum(q.get("failed", 0) for q in document["queues"])
    if unreadable:
        console.print(f"[yellow]{unreadable} job(s) no worker could read were set aside in RQ's failed registry[/]: "
                      "the `worker.reap_job_unreadable` log lines name them", highlight=False)
    _print_pollers(document, zone)
    outage = document.get("casestore_outage")
    latency = document.get("casestore_latency_seconds")
    # The case store's latency as the page says it, where only the page did; during an outage, what it says instead.
    casestore = (local(f"  case store: {outage.get('failing') or 'forwards'} failing since "
                       f"{outage.get('since') or '?'} "
                       f"({outage.get('reason') or '?'}); {CASESTORE_DOWN_NOTE}; "
                       f"{casestore_step(outage, document['deadletters']['total'])}")
                 if outage else f"  case-store latency: {'-' if latency is None else f'{latency * 1000:.0f} ms'}")
    # The spool in bytes, as the page of Redis down and the reasons say it: "spool: 2" read as two reports.
    console.print(f"dead letters waiting: {document['deadletters']['total']}  spool: {document['spool_size']} bytes"
                  + casestore, highlight=False, markup=False)
    if document.get("spool_failure") and not document.get("spool_failure_since"):
        console.print(SPOOL_SINCE_NOTE, markup=False, highlight=False)


# How old a channel's newest last error may be for `lapor-gateway status` to print it.
LAST_ERROR_RECENT_SECONDS = 3600.0


def _print_last_errors(document: dict[str, Any], local: Callable[[str], str]) -> None:
    """Each channel's newest last error, one line, when it came within LAST_ERROR_RECENT_SECONDS of the document: the
    page lists them under each channel, and the command showed `instagram OK` and nothing of the 429 it was waiting
    out. An error older than that is the page's and the JSON's. Each time in it, its own and one its reason quotes
    ("(next try 2026-12-04 19:05:00Z)"), is in UTC and then in the operators' zone, as the page says it."""
    from datetime import UTC, datetime

    def moment(text: object) -> datetime | None:
        try:
            return datetime.strptime(str(text), UTC_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None

    generated = moment(document.get("generated_at"))
    for entry in document["channels"]:
        newest = next(iter(entry.get("last_errors") or ()), None)
        at = moment(newest.get("at")) if newest else None
        if newest is None or at is None or (generated is not None
                                            and (generated - at).total_seconds() > LAST_ERROR_RECENT_SECONDS):
            continue
        console.print(f"{escape(entry['channel'])}: last error {escape(local(str(newest['at'])))} "
                      f"({_printable(str(newest.get('kind') or '?'))}): "
                      f"{_printable(local(str(newest.get('reason') or '-')))}",
                      highlight=False)


def _print_pollers(document: dict[str, Any], zone: ZoneInfo | None = None) -> None:
    """Which process polls each polled account (its lease's holder), and how long the lease has left."""
    from gateway.status_page import HOLDER_GONE_NOTE

    polled = [entry for entry in document["channels"] if entry.get("poller")]
    if not polled:
        return
    # When each last polled it without an error: the channels table's "last message" is when a citizen last wrote,
    # which for a quiet account says nothing of the poller; only the page and the JSON said it.
    table = _folded_table("Pollers", ("channel", "account", "polled by", "lease left (s)", "last successful poll"))
    for entry in polled:
        poller = entry["poller"]
        left = poller["lease_remaining_seconds"]
        holder = poller["holder"] or "nobody (no lease held)"
        table.add_row(escape(entry["channel"]), escape(poller["account"]),
                      escape(f"{holder} ({HOLDER_GONE_NOTE})" if poller.get("holder_gone") else holder),
                      "-" if left is None else f"{left:.0f}",
                      with_local_times(entry.get("last_poll_ok_at") or "never", zone))
    _print_table(table)


def _add_triage() -> None:
    from triage.cli import triage_app

    app.add_typer(triage_app, name="triage")


_add_triage()


# What a shell reports for a command its reader stopped reading (`status | head -1`): killed by SIGPIPE, 128 + 13.
EXIT_READER_GONE = 141


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as exiting:
        # Click ends a command whose output's reader went away (EPIPE) with exit 1, which `status` gives a degraded
        # system: `lapor-gateway status --strict | head -1` under `set -o pipefail` raised an alert on a healthy one.
        if isinstance(exiting.__context__, OSError) and exiting.__context__.errno == errno.EPIPE:
            sys.exit(EXIT_READER_GONE)
        raise


if __name__ == "__main__":
    main()
