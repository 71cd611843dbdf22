"""`make run`: every process of the Procfile in the foreground, with an embedded Redis when REDIS_URL is unset.

Ctrl-C, SIGTERM or SIGHUP (its terminal closed) stops them all (SIGTERM first, so requests and jobs in flight
finish; SIGKILL after a grace period). If one process dies, the embedded Redis among them, the others are stopped
too: a half-running system hides problems. One supervisor per data dir: a second one refuses to start. If the
supervisor itself is killed outright (SIGKILL, the OOM killer), the kernel sends each child SIGTERM, so no gateway
or worker is left holding the ports and queues of the next `make run`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from gateway.embedded_redis import EmbeddedRedis, EmbeddedRedisFailed
from gateway.logs import get_logger
from gateway.runtime import tied_to_this_process
from gateway.settings import Settings, followed_ports, moved_with, port_holder

log = get_logger()

REPO_ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 15.0
# Under the data dir: locked while a supervisor runs on it.
LOCK_FILE = "supervisor.lock"
# How long a starting supervisor tries for that lock before it refuses: an operator's command takes it a moment to
# see whether one runs (`supervisor_running`), and one being stopped holds it until it has exited.
LOCK_WAIT_SECONDS = 1.0


def read_procfile(path: Path) -> dict[str, str]:
    processes = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


def metrics_directory(data_dir: Path) -> Path:
    """Where the processes of a `make run` on `data_dir` write their samples (PROMETHEUS_MULTIPROC_DIR), made empty
    at each start; an operator's CLI command on the same data dir counts into it too (see gateway/cli.py)."""
    return data_dir / "metrics"


def _child_environment(settings: Settings, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["REDIS_URL"] = redis_url
    env["LAPOR_PROFILE"] = settings.profile
    # Absolute: the processes run in the repository, not in the directory `lapor-gateway dev` was started from, and
    # a relative data dir (the default ./var) read there was another one than their Redis's and metrics'.
    data_dir = settings.data_dir.absolute()
    env["LAPOR_DATA_DIR"] = str(data_dir)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    metrics_dir = metrics_directory(data_dir)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return env


class ExitWatch:
    """The supervised processes' exits, in the order they happened. Each is watched through a pidfd in one epoll,
    whose ready list keeps the order the kernel woke them in, however late the supervisor looks (a loaded machine, a
    stopped supervisor): looked for in Procfile order every 0.2 s, the first found was named, and under load that was
    the gateway when the case store had failed first. A process without a pidfd (a kernel before 5.3, no epoll) is
    found by its return code, after those."""

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._names: dict[int, str] = {}  # by pidfd
        self._unwatched: list[str] = []
        self._returncodes: dict[str, Callable[[], int | None]] = {}

    def add(self, name: str, pid: int | None, returncode: Callable[[], int | None]) -> None:
        """Watch `pid`, named `name`; `returncode` reads its return code (None while it runs), reaping it."""
        self._returncodes[name] = returncode
        try:
            if self._epoll is None or pid is None:
                raise OSError("not watchable")
            pidfd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            self._unwatched.append(name)
            return
        self._epoll.register(pidfd, select.EPOLLIN)
        self._names[pidfd] = name

    def wait(self, timeout: float) -> list[str]:
        """The names of the processes that have exited, the first to exit first; [] when none has within `timeout`."""
        if self._epoll is not None and self._names:
            exited = [self._names[pidfd] for pidfd, _ in self._epoll.poll(timeout)]
        else:
            time.sleep(timeout)
            exited = []
        return exited + [name for name in self._unwatched if self._returncodes[name]() is not None]

    def returncode(self, name: str) -> int | None:
        return self._returncodes[name]()

    def close(self) -> None:
        for pidfd in self._names:
            os.close(pidfd)
        if self._epoll is not None:
            self._epoll.close()


def _say(level: Callable[..., object], event: str, **fields: Any) -> None:
    """One of the supervisor's log lines while it runs its processes, which must never keep it from stopping them: with
    the reader of its output gone (`make run | tee run.log`, whose Ctrl-C ends tee too) a line raised BrokenPipeError,
    the stop was skipped, every process and the embedded Redis got SIGTERM at once from the kernel as the supervisor
    died, and `var/redis/url` was left behind. A line nobody can read any more is dropped."""
    try:
        level(event, **fields)
    except OSError:  # BrokenPipeError, EIO from a closed terminal
        pass


def _how_it_exited(returncode: int | None) -> dict[str, Any]:
    """Its return code and, for a process a signal ended, the signal's name: a `returncode` of -9 alone did not tell
    an operator that it was killed (kill -9, the OOM killer)."""
    if returncode is not None and returncode < 0:
        try:
            return {"returncode": returncode, "signal": signal.Signals(-returncode).name}
        except ValueError:  # a real-time signal without a name
            return {"returncode": returncode, "signal": f"signal {-returncode}"}
    return {"returncode": returncode}


def exit_detail(process: str, redis_log: Path | None = None) -> str:
    """What `supervisor.process_exited` tells the operator to do: which process stopped, that every other one was
    stopped with it, where to look (`redis_log`: the embedded Redis's own log, for it) and to run `make run` again;
    and that in production one exit stops nothing else, each process under its own restart policy. The line gave
    the process, its return code and signal, and nothing of what came next or what to do."""
    look = f"see {redis_log}" if redis_log is not None else "its own lines above say why"
    return (f"{process} stopped and every other process was stopped with it (under `make run` one process's exit "
            f"ends the run): {look}, then run `make run` again; in production each Procfile line runs under the "
            "process manager (systemd, containers) with its own restart policy, and one exit stops nothing else")


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(log.warning, "supervisor.kill", process=name)
            child.kill()
            child.wait()


def hold_data_dir(data_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> BinaryIO | None:
    """The data dir's lock, held until the returned file is closed (this process's end at the latest); None while
    another supervisor still holds it after `wait` seconds."""
    handle = (data_dir / LOCK_FILE).open("ab")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                return None
            time.sleep(0.05)


def supervisor_running(data_dir: Path) -> bool:
    """Whether a supervisor holds the data dir's lock: a `make run` runs there, and the Redis URL file it wrote is
    current. The kernel drops the lock with its holder, so one killed outright (SIGKILL) holds none, though its URL
    file is still there. Asked by taking a shared lock and dropping it at once; a lock file this account may not
    open counts as held (the URL file is then trusted, as before there was a lock)."""
    try:
        handle = (data_dir / LOCK_FILE).open("rb")
    except FileNotFoundError:
        return False
    except OSError:
        return True
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


# Why the data dir cannot be used, for `supervisor.data_dir_unusable`'s `reason`.
_UNUSABLE = {errno.EROFS: "read_only", errno.ENOSPC: "disk_full", errno.EACCES: "permission_denied",
             errno.EPERM: "permission_denied", errno.ENOENT: "not_found", errno.ENOTDIR: "not_a_directory"}


def _log_data_dir_unusable(settings: Settings, error: OSError) -> None:
    log.error("supervisor.data_dir_unusable", reason=_UNUSABLE.get(error.errno or 0, "unusable"),
              detail=f"cannot use {error.filename or settings.data_dir} ({error.strerror or type(error).__name__}): "
                     "make it writable by the user that runs the gateway, or set LAPOR_DATA_DIR to a directory it can "
                     "write; nothing was started")


def supervise(settings: Settings, procfile: Path = REPO_ROOT / "Procfile") -> int:
    """Run until interrupted or until a process dies; returns the exit code.

    One at a time per data dir. A second `make run` beside a running one started a second Redis on the same
    append-only file, emptied the first one's metrics directory (its counters read 0) and, as its gateway found the
    port taken and it stopped, removed the first one's Redis URL file (the CLI no longer found that Redis)."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = hold_data_dir(settings.data_dir)
    except OSError as error:  # a read-only file system, a full disk, another account's: ended on a traceback
        _log_data_dir_unusable(settings, error)
        return 1
    if lock is None:
        log.error("supervisor.already_running", reason="data_dir_in_use",
                  detail=f"another make run uses {settings.data_dir}: stop it, or give this one another LAPOR_DATA_DIR")
        return 1
    with lock:
        return _supervise(settings, procfile)


def listening_ports(settings: Settings, commands: Iterable[str]) -> list[tuple[str, str, int, str]]:
    """(process, host, port, the setting that moves it) of each of the Procfile's `commands` that listens."""
    ports = {"serve": ("gateway", settings.http.host, settings.http.port, "LAPOR_HTTP_PORT", "LAPOR_HTTP_HOST"),
             "smtp": ("smtp", settings.smtp.host, settings.smtp.port, "LAPOR_SMTP_PORT", "LAPOR_SMTP_HOST"),
             "casestore": ("casestore", "127.0.0.1", settings.casestore.port, "LAPOR_CASESTORE_PORT", None)}
    if settings.is_development:  # idle in production
        ports["fake-providers"] = ("fake_providers", "127.0.0.1", settings.social.fake_providers_port,
                                   "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT", None)
    found = []
    for command in commands:
        assignments, words = _command_words(command)
        listening = ports.get(words[1]) if len(words) > 1 and Path(words[0]).name == "lapor-gateway" else None
        if listening is None:
            continue
        process, host, port, setting, host_setting = listening
        # Where its process binds: the host setting of its `env` prefix, as its port setting there.
        host = assignments.get(host_setting, host) if host_setting else host
        if assignments.get(setting, "").isdigit():
            port, setting = int(assignments[setting]), f"{setting} in the Procfile"
        option = _port_option(words[2:])
        found.append((process, host, port, setting) if option is None
                     else (process, host, option, "--port in the Procfile"))
    return found


# env's options that take a value, as the next word or joined (`-u NAME`, `-uNAME`, `--unset=NAME`); any other word
# opening with "-" before its assignments is a flag (`-i`, `-`, `--ignore-environment`), and `--` ends them. What `-i`
# or `-u` takes from the process's environment is not followed: its port is tried as the supervisor's settings have it
# (the process's own bind still says `process.port_in_use`).
_ENV_VALUED = ("-u", "--unset", "-C", "--chdir")
# The interpreter (`python`, `python3`, `python3.12`, by its path too), its options that take a value as the next word
# (`-X dev`, `-W error`), and the module the CLI runs as.
_PYTHON = re.compile(r"python(?:\d+(?:\.\d+)*)?")
_PYTHON_VALUED = ("-X", "-W")
_CLI_MODULE = "gateway.cli"


def _command_words(command: str) -> tuple[dict[str, str], list[str]]:
    """A Procfile command's `env [OPTION]... NAME=value ...` prefix (its settings for that process alone) and the words
    of the command it runs, `python -m gateway.cli ...` read as `lapor-gateway ...`: `env LAPOR_HTTP_PORT=8081
    lapor-gateway serve`, `.venv/bin/lapor-gateway serve`, `env -i ...` or `python3 -m gateway.cli serve` was not
    recognised, and its port was never tried."""
    words = shlex.split(command)
    assignments: dict[str, str] = {}
    if words and Path(words[0]).name == "env":  # `/usr/bin/env` too
        words = words[1:]
        while words and words[0].startswith("-"):
            option = words.pop(0)
            if option == "--":
                break
            if option in _ENV_VALUED and words:
                words.pop(0)
        while words and "=" in words[0] and not words[0].startswith("-"):
            name, value = words.pop(0).split("=", 1)
            assignments[name] = value
    return assignments, _module_run(words)


def _module_run(words: list[str]) -> list[str]:
    """`[path/]python[3[.12]] [OPTION]... -m gateway.cli ARG...` as `lapor-gateway ARG...`; any other command as is."""
    if not (words and _PYTHON.fullmatch(Path(words[0]).name)):
        return words
    arguments = words[1:]
    while arguments and arguments[0].startswith("-") and not arguments[0].startswith("-m"):
        arguments = arguments[2:] if arguments[0] in _PYTHON_VALUED else arguments[1:]
    if arguments[:1] == ["-m"]:
        arguments = arguments[1:]
    elif arguments and arguments[0].startswith("-m"):  # `-mgateway.cli`
        arguments = [arguments[0][2:], *arguments[1:]]
    else:
        return words
    return ["lapor-gateway", *arguments[1:]] if arguments[:1] == [_CLI_MODULE] else words


def _port_option(arguments: list[str]) -> int | None:
    """The `--port N` (or `--port=N`) among a Procfile command's arguments, which its process listens on instead of
    its setting's: matched on the whole line, a command with arguments had no port tried at all."""
    for index, argument in enumerate(arguments):
        value = arguments[index + 1] if argument == "--port" and index + 1 < len(arguments) else (
            argument.removeprefix("--port=") if argument.startswith("--port=") else None)
        if value is not None and value.isdigit():
            return int(value)
    return None


def taken_ports(settings: Settings, commands: Iterable[str]) -> list[tuple[str, str, int, str]]:
    """The listening ports another process holds, tried as the processes bind them (SO_REUSEADDR, as aiohttp and
    aiosmtpd do): a second checkout's `make run` on other data dirs with the same ports ran its pollers and workers
    against the first one's fake providers and case store (filing its mentions) for the moment before its gateway
    found the port taken and everything stopped."""
    taken = []
    for process, host, port, setting in listening_ports(settings, commands):
        if any(_taken(address) for address in _addresses(host, port)):
            taken.append((process, host, port, setting))
    return taken


def _addresses(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """Every (family, address) a process binds for `host`, as asyncio's create_server does: each address the name
    resolves to ("localhost": ::1 and 127.0.0.1), and for "" every interface (0.0.0.0 and ::). The first address
    alone was tried, and "" none (it resolves to nothing): a port held there started the processes all the same."""
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return []  # a name that does not resolve is the process's to say
    return list(dict.fromkeys((family, address) for family, _, _, _, address in found))


def _taken(target: tuple[int, tuple[Any, ...]]) -> bool:
    """Whether another process holds `target`, tried as the processes bind it (SO_REUSEADDR, IPv6 alone on IPv6)."""
    family, address = target
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(address)
    except OSError as error:
        # Any other failure (an address none of this host's, a port below 1024) is the process's to say.
        return error.errno == errno.EADDRINUSE
    return False


def another_checkout(cwd: Path, code: Path = REPO_ROOT) -> Path | None:
    """The checkout `make run` was started in when it is not the one whose code runs (`code`): a clone sharing
    another checkout's `.venv` runs that checkout's code, its editable install pointing there, with no word of it (a
    walk-through of a clone tested another checkout's uncommitted work)."""
    here = cwd.resolve()
    return here if here != code.resolve() and (here / "gateway" / "supervisor.py").is_file() else None


def _supervise(settings: Settings, procfile: Path) -> int:
    if (elsewhere := another_checkout(Path.cwd())) is not None:
        log.warning("supervisor.other_checkout", code=str(REPO_ROOT), started_in=str(elsewhere),
                    detail=f"started in {elsewhere}, this run's code is {REPO_ROOT}'s (the .venv's editable install "
                           "points there): give this checkout a .venv of its own (make -C <checkout> .venv/.installed) "
                           "to run its code")
    taken = taken_ports(settings, read_procfile(procfile).values())
    for process, host, port, setting in taken:
        log.error("process.port_in_use", process=process, host=host, port=port, setting=setting,
                  detail=f"port {port} is taken (another process listens on it, a second make run?; "
                         f"{port_holder(port)}): stop that process, or move this one with {setting}"
                         f"{moved_with(setting.split()[0], settings)}; nothing was started")
    if taken:
        return 1
    if settings.is_development:
        log.warning("profile.development", detail="development secrets, fake providers and a local outbox are in "
                    "use; never expose this instance to the internet")
        for setting, port_setting, port in followed_ports(settings):
            log.info("settings.followed_port", setting=setting, port_setting=port_setting, port=port,
                     detail=f"{setting} was moved with {port_setting} to port {port} (set {setting} to choose it)")
    embedded: EmbeddedRedis | None = None
    redis_url = settings.redis_url
    if not redis_url:
        try:
            embedded = EmbeddedRedis(settings.data_dir / "redis", die_with_owner=True).start()
            embedded.write_url()
        except EmbeddedRedisFailed as failure:
            if embedded is not None:
                embedded.stop()
            log.error("redis.embedded_failed", reason=failure.reason, detail=str(failure))
            return 1
        except KeyboardInterrupt:  # Ctrl-C while Redis read its file back: `make run` ended with exit 130, no word
            if embedded is not None:
                embedded.stop()
            log.warning("supervisor.interrupted", detail="stopped while the embedded Redis was starting; nothing "
                        "else was started, and Redis was stopped")
            return 130
        redis_url = embedded.url
        # Where it listens, never its URL: the URL carries the password. (A key named "address" is dropped as a
        # citizen's by the log redaction.)
        log.info("redis.embedded", host="127.0.0.1", port=embedded.port, directory=str(embedded.directory))
    try:
        env = _child_environment(settings, redis_url)
    except OSError as error:  # its metrics directory (a full disk, a file in its place): ended on a traceback
        if embedded is not None:
            embedded.stop()
        _log_data_dir_unusable(settings, error)
        return 1
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # Its terminal closed (an SSH session dropped): its default ended the supervisor at once, its processes stopped by
    # the kernel without their grace and the embedded Redis with them. Stopped as SIGTERM stops them.
    signal.signal(signal.SIGHUP, request_stop)
    exit_code = 0
    die_with_supervisor = tied_to_this_process(signal.SIGTERM)
    exits = ExitWatch()
    # A Redis that died (the OOM killer, a full disk) left the processes spooling and waiting for good, and nothing
    # said why: it ends the run like any process, its log named.
    if embedded is not None:
        redis = embedded
        exits.add("redis", redis.pid, lambda: redis.returncode)
    try:
        for name, command in read_procfile(procfile).items():
            children[name] = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"], env=env, cwd=REPO_ROOT, start_new_session=True,
                preexec_fn=die_with_supervisor,
            )
            exits.add(name, children[name].pid, children[name].poll)
            _say(log.info, "supervisor.started", process=name, command=command, pid=children[name].pid)
        while not stopping:
            exited = exits.wait(0.2)
            if exited:
                first, *then = exited
                redis_log = embedded.directory / "redis.log" if first == "redis" and embedded is not None else None
                _say(log.error, "supervisor.process_exited", process=first, **_how_it_exited(exits.returncode(first)),
                     detail=exit_detail(first, redis_log),
                     **({"also_exited": [{"process": name, **_how_it_exited(exits.returncode(name))}
                                         for name in then]} if then else {}))
                stopping, exit_code = True, 1
    finally:
        _say(log.info, "supervisor.stopping")
        exits.close()
        _stop_all(children)
        if embedded is not None:
            embedded.stop()
    return exit_code
