"""No citizen's data stays on disk under a temporary name.

Every file the gateway writes whole or not at all goes through a temporary name beside it (gateway/private_files.py).
A write cut short for real (the file-size limit, RLIMIT_FSIZE, in a process of its own: the kernel writes up to it
and refuses the rest with EFBIG, as a disk that fills up mid-write refuses with ENOSPC) removes its temporary file at
once, at every write site, and says so in a log line that names neither the path nor anything of the data. One left
by a process killed mid-write (SIGKILL) goes at the next process's start, or at the next purge once it is
ORPHAN_SECONDS old, not after the retention of days.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from redis import Redis

from channels.email.reply import build_reply, outbox_dir, write_to_outbox
from channels.email.store import QUARANTINE_DIR, Quarantine
from channels.sms_aggregator_send import OUTBOX_DIR as SMS_OUTBOX_DIR
from gateway.attachments import ATTACHMENTS_DIR, store_attachment
from gateway.errors import RetryableError
from gateway.logs import configure_logging
from gateway.private_files import ORPHAN_SECONDS, write_atomically
from gateway.settings import Settings, load_settings
from gateway.spool import QUARANTINE_DIR as SPOOL_QUARANTINE_DIR
from gateway.spool import SPOOL_DIR, Spool
from gateway.tracking import format_tracking_id
from tests.cli_process import run_cli
from tests.conftest import FIXTURES, REPO_ROOT, VENV_BIN, TestEnvironment, log_events
from workers.retention import purge, remove_orphaned_temporaries

ADDRESS = "pelapor.rahasia@example.net"  # the whistleblower's address: never in a log line, never left on disk
TRACKING_ID = format_tracking_id(1_000_000)
# Far below every site's data: each write is cut short.
LIMIT = 256


def reply(settings: Settings) -> None:
    payload = {"tracking_id": TRACKING_ID, "to": ADDRESS, "kind": "ack", "subject": "Pungli di loket 3",
               "in_reply_to": "CAF3x@mail.example.net"}
    write_to_outbox(build_reply(payload, settings), settings)


def attachment(settings: Settings) -> None:
    data = b"%PDF-1.7 bukti pungli dari " + ADDRESS.encode() + b" " * 4096
    store_attachment(settings.data_dir, hashlib.sha256(data).hexdigest(), data)


def quarantined_mail(settings: Settings) -> None:
    raw = f"From: {ADDRESS}\r\n\r\n".encode() + b"tidak terbaca " * 400
    Quarantine(settings.data_dir).add(raw, "unparseable", "no usable From", ADDRESS, ["pengaduan@lapor.go.id"])


def spool_reserve(settings: Settings) -> None:
    (settings.data_dir / SPOOL_DIR).mkdir(parents=True)  # as the gateway's start makes it
    Spool(settings.data_dir / SPOOL_DIR).save_reserve(list(range(1_000_000, 1_000_400)))


def training_data(settings: Settings) -> None:
    from triage.cli import train

    train(FIXTURES / "triage" / "operator_export.csv", replace=False)


@dataclass(frozen=True)
class Site:
    id: str
    write: Callable[[Settings], None]
    what: str  # the log line's `what`
    raises: str  # the error the caller sees


SITES = [
    Site("e-mail outbox reply", reply, "outbox_reply", RetryableError.__name__),
    Site("attachment", attachment, "attachment", "OSError"),
    Site("quarantined mail", quarantined_mail, "quarantined_mail", "OSError"),
    Site("spool reserve", spool_reserve, "spool_reserve", "OSError"),
    Site("operator training data", training_data, "training_data", "OSError"),
]
BY_ID = {site.id: site for site in SITES}


def cut_short_child() -> None:
    """In the child: the site's write under the file-size limit; prints the error's type and the log lines."""
    site = BY_ID[sys.argv[1]]
    settings = load_settings()
    logs = io.StringIO()
    configure_logging("info", stream=logs)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of the signal that ends the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    error = ""
    try:
        site.write(settings)
    except BaseException as raised:  # what the caller would see, reported to the test
        error = type(raised).__name__
    print(orjson.dumps({"error": error, "logs": logs.getvalue()}).decode())


def run_child(test_env: TestEnvironment, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = test_env.process_env(PYTHONPATH=str(REPO_ROOT), PYTHONDONTWRITEBYTECODE="1", LAPOR_PROFILE="development")
    return subprocess.run([str(VENV_BIN / "python"), "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file()) if directory.exists() else []


@pytest.mark.parametrize("site", SITES, ids=[site.id for site in SITES])
def test_a_write_cut_short_leaves_no_temporary_file(site: Site, test_env: TestEnvironment) -> None:
    data_dir = test_env.settings(LAPOR_PROFILE="development").data_dir
    child = run_child(test_env, "from tests.test_temporary_files import cut_short_child; cut_short_child()", site.id)
    assert child.returncode == 0, child.stdout + child.stderr
    outcome = orjson.loads(child.stdout.splitlines()[-1])

    assert outcome["error"] == site.raises
    assert [path.relative_to(data_dir) for path in files_under(data_dir)] == []  # neither whole nor in part
    logged = [orjson.loads(line) for line in outcome["logs"].splitlines() if line.startswith("{")]
    failed = [line for line in logged if line["event"] == "private_file.write_failed"]
    assert [(line["what"], line["error"], line["errno"], line["temporary_removed"]) for line in failed] == [
        (site.what, "OSError", "EFBIG", True)]
    assert ADDRESS not in outcome["logs"] and str(data_dir) not in outcome["logs"]
    assert TRACKING_ID not in outcome["logs"]


def fail_fsync(error: BaseException) -> Callable[[int], None]:
    def fsync(descriptor: int) -> None:
        raise error
    return fsync


@dataclass(frozen=True)
class Failure:
    id: str
    error: BaseException
    logged: tuple[str, str]  # error, errno
    target_is_a_directory: bool = False


FAILURES = [
    Failure("disk full (ENOSPC) at fsync", OSError(errno.ENOSPC, "No space left on device"), ("OSError", "ENOSPC")),
    Failure("I/O error (EIO) at fsync", OSError(errno.EIO, "Input/output error"), ("OSError", "EIO")),
    Failure("interrupted mid-write", KeyboardInterrupt(), ("KeyboardInterrupt", "")),
    Failure("the rename refused: a directory under the name", IsADirectoryError(), ("IsADirectoryError", "EISDIR"),
            target_is_a_directory=True),
]


@pytest.mark.parametrize("failure", FAILURES, ids=[failure.id for failure in FAILURES])
def test_a_write_that_fails_removes_its_temporary_file_and_says_so_without_the_path(
        failure: Failure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    target = tmp_path / "outbox" / f"20260101T000000Z-{TRACKING_ID}-0a1b2c3d.eml"
    if failure.target_is_a_directory:
        (target / "taken").mkdir(parents=True)
    else:
        monkeypatch.setattr(os, "fsync", fail_fsync(failure.error))

    with pytest.raises(type(failure.error)):
        write_atomically(target, f"To: {ADDRESS}\r\n\r\nTerima kasih.\r\n".encode(), what="outbox_reply")

    assert sorted(path.name for path in target.parent.iterdir()) == ([target.name] if failure.target_is_a_directory
                                                                       else [])
    failed = [line for line in log_events(log_stream) if line["event"] == "private_file.write_failed"]
    assert [(line["what"], line["error"], line["errno"], line["temporary_removed"]) for line in failed] == [
        ("outbox_reply", *failure.logged, True)]
    assert ADDRESS not in log_stream.getvalue() and str(tmp_path) not in log_stream.getvalue()


# -- a writer killed mid-write ---------------------------------------------------------------------------------------
def killed_child() -> None:
    """In the child: an outbox reply written, the process killed (SIGKILL) once its bytes are in the temporary file
    and before its rename: nothing of it runs after."""
    settings = load_settings()
    os.fsync = lambda descriptor: os.kill(os.getpid(), signal.SIGKILL)  # type: ignore[assignment]
    reply(settings)


def aged(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def orphan(directory: Path, name: str, seconds: float) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(f"To: {ADDRESS}\r\n".encode())
    aged(path, seconds)
    return path


OLD, FRESH = ORPHAN_SECONDS + 60, 30
SHA = "ab" + "0" * 62


@dataclass(frozen=True)
class Orphan:
    id: str
    directory: Callable[[Settings], Path]
    name: str
    age: float
    removed: bool
    purged: bool | None = None  # by the purge, when not as at a start: a reserve holds sequence numbers, no citizen's


ORPHANS = [
    Orphan("attachment, old", lambda s: s.data_dir / ATTACHMENTS_DIR / "ab", f".{SHA}.0a1b2c3d4e5f.tmp", OLD, True),
    Orphan("attachment, being written", lambda s: s.data_dir / ATTACHMENTS_DIR / "ab", f".{SHA}.0a1b2c3d4e5f.tmp",
           FRESH, False),
    Orphan("quarantined mail, old", lambda s: s.data_dir / QUARANTINE_DIR, f".{SHA}.eml.0a1b2c3d4e5f.tmp", OLD, True),
    Orphan("spool reserve, old", lambda s: s.data_dir / SPOOL_DIR, ".reserve-vm-p1-t1.json.0a1b2c3d4e5f.tmp", OLD,
           True, purged=False),
    Orphan("spool record quarantined, set aside by a purge, old", lambda s: s.data_dir / SPOOL_DIR /
           SPOOL_QUARANTINE_DIR, ".vm-p1-t1-line3.bad.purge-4242.tmp", OLD, True),
    Orphan("outbox reply, old", outbox_dir, f".20260101T000000Z-{TRACKING_ID}-0a1b2c3d.eml.0a1b2c3d4e5f.tmp", OLD,
           True),
    Orphan("outbox reply, being written", outbox_dir,
           f".20260101T000000Z-{TRACKING_ID}-0a1b2c3d.eml.0a1b2c3d4e5f.tmp", FRESH, False),
    Orphan("another program's temporary file in the outbox, old", outbox_dir, ".catatan.eml.1.2.tmp", OLD, False),
    Orphan("SMS outbox day, old", lambda s: s.data_dir / SMS_OUTBOX_DIR,
           ".sms-aggregator-2026-01-01.jsonl.purge-4242.tmp", OLD, True),
]


@pytest.mark.parametrize("row", ORPHANS, ids=[row.id for row in ORPHANS])
def test_a_temporary_file_a_killed_writer_left_goes_at_the_next_start(row: Orphan, settings: Settings) -> None:
    path = orphan(row.directory(settings), row.name, row.age)

    assert remove_orphaned_temporaries(settings) == int(row.removed)

    assert path.exists() is not row.removed


@pytest.mark.parametrize(("kind", "swept"), [
    ("serve", {"spool reserve, old", "spool record quarantined, set aside by a purge, old"}),
    ("smtp", {"attachment, old", "quarantined mail, old"}),
    ("worker", {"attachment, old", "outbox reply, old", "SMS outbox day, old"}),
])
def test_each_process_kind_sweeps_at_its_start_only_the_directories_it_writes(
        kind: str, swept: set[str], settings: Settings) -> None:
    """The gateway writes the spool, the SMTP server quarantined mail and mail's attachments, the workers fetched
    media and the outboxes (the pollers no file, and sweep none). Every kind swept every directory: a gateway's
    start listed each attachment folder for files it never writes."""
    left = {row.id: orphan(row.directory(settings), row.name, row.age) for row in ORPHANS if row.removed}

    assert remove_orphaned_temporaries(settings, kind) == len(swept)

    assert {id_ for id_, path in left.items() if not path.exists()} == swept


@pytest.mark.parametrize("row", ORPHANS, ids=[row.id for row in ORPHANS])
def test_a_temporary_file_a_killed_writer_left_goes_at_the_next_purge_not_after_the_retention(
        row: Orphan, settings: Settings, redis: Redis) -> None:
    redis.set("lapor:tracking:seq", 1_000_000)  # a Redis the gateway minted in: the purge runs
    path = orphan(row.directory(settings), row.name, row.age)

    purge(settings, redis)

    assert path.exists() is not (row.removed if row.purged is None else row.purged)


def test_a_reply_writer_killed_mid_write_leaves_the_address_only_until_the_next_process_starts(
        test_env: TestEnvironment) -> None:
    """For real: the reply written by a process SIGKILLed before its rename. Its temporary file holds the citizen's
    address; once it is older than any live write, a worker's start deletes it."""
    settings = test_env.settings(LAPOR_PROFILE="development")
    child = run_child(test_env, "from tests.test_temporary_files import killed_child; killed_child()")
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    [left] = files_under(outbox_dir(settings))
    assert left.name.startswith(".") and left.name.endswith(".tmp") and ADDRESS.encode() in left.read_bytes()

    # Each start a worker's, forked from the tests' server of the CLI (tests/cli_process.py), not a new interpreter.
    worker = ["worker", "--queues", "lapor-reply", "--burst"]
    started = run_cli(worker, test_env.process_env(LAPOR_PROFILE="development"))
    assert started.returncode == 0, started.stdout + started.stderr
    assert left.exists()  # it might be a live write still: kept

    aged(left, ORPHAN_SECONDS + 1)
    started = run_cli(worker, test_env.process_env(LAPOR_PROFILE="development"))
    assert started.returncode == 0, started.stdout + started.stderr
    assert files_under(outbox_dir(settings)) == []
    assert '"private_file.orphans_removed"' in started.stdout and ADDRESS not in started.stdout


def test_training_deletes_what_a_training_killed_mid_write_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's export, citizens' words in it, left in part by a `triage train` killed before its rename: the
    next training deletes it once no live one can be at it. No gateway process writes there, so no start would."""
    from typer.testing import CliRunner

    from gateway.cli import app

    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_DATA_DIR", str(tmp_path))
    left = orphan(tmp_path / "triage", ".training.csv.0a1b2c3d4e5f.tmp", OLD)
    writing = orphan(tmp_path / "triage", ".training.csv.5f4e3d2c1b0a.tmp", FRESH)

    result = CliRunner().invoke(app, ["triage", "train", str(FIXTURES / "triage" / "operator_export.csv")])

    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "triage").iterdir()) == [writing.name, "training.csv"]
    assert not left.exists()


def test_a_worker_started_by_hand_still_counts_into_the_shared_metrics_after_its_start_sweep(
        test_env: TestEnvironment) -> None:
    """The sweep at a worker's start imports the purge's module, and with it prometheus_client, which picks its
    storage as it is imported: before the worker pointed it at the shared directory (an operator's shell has no
    PROMETHEUS_MULTIPROC_DIR), its counts went nowhere any view reads."""
    from gateway.supervisor import metrics_directory

    settings = test_env.settings(LAPOR_PROFILE="development")
    shared = metrics_directory(settings.data_dir)
    shared.mkdir(parents=True)
    env = test_env.process_env(LAPOR_PROFILE="development")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    started = subprocess.run([str(VENV_BIN / "lapor-gateway"), "worker", "--queues", "lapor-reply", "--burst"],
                             env=env, capture_output=True, text=True, timeout=60)

    assert started.returncode == 0, started.stdout + started.stderr
    assert list(shared.iterdir()), "the worker counted into no file of the shared directory"


def test_a_name_linked_to_a_device_or_pipe_is_never_made_private(tmp_path: Path) -> None:
    """An operator links a private file's name to a device to keep it off the disk (`redis.stderr` -> /dev/null): a
    gateway run as root tightened the device itself to 0600, and every other account's program failed to open
    /dev/null from then on. A FIFO stands in for the device here (any account may make one); a regular file with a
    loose mode is still tightened."""
    import os
    import stat as stat_module

    from gateway.private_files import FILE_MODE, open_private, private_file

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe, 0o666)
    os.chmod(pipe, 0o666)  # whatever the umask
    linked = tmp_path / "redis.stderr"
    linked.symlink_to(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it for writing does not wait
    try:
        with open_private(linked, append=True):
            pass
        private_file(linked)
    finally:
        os.close(reader)
    assert stat_module.S_IMODE(pipe.stat().st_mode) == 0o666

    loose = tmp_path / "loose"
    loose.write_bytes(b"x")
    loose.chmod(0o644)
    private_file(loose)
    assert stat_module.S_IMODE(loose.stat().st_mode) == FILE_MODE
    loose.chmod(0o644)
    with open_private(loose, append=True):
        pass
    assert stat_module.S_IMODE(loose.stat().st_mode) == FILE_MODE
