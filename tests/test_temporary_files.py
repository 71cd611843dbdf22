"""No citizen's data stays on disk under a temporary name.

Every file the gateway writes whole or not at all goes through a temporary name beside it (gateway/private_files.py).
A write cut short for real (the file-size limit, RLIMIT_FSIZE, in a process of its own: the kernel writes up to it
and refuses the rest with EFBIG, as a disk that fills up mid-write refuses with ENOSPC) removes its temporary file at
once, at every write site, and says so in a log line that names neither the path nor anything of the data.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from channels.email.reply import build_reply, write_to_outbox
from channels.email.store import Quarantine
from gateway.attachments import store_attachment
from gateway.errors import RetryableError
from gateway.logs import configure_logging
from gateway.private_files import write_atomically
from gateway.settings import Settings, load_settings
from gateway.spool import SPOOL_DIR, Spool
from gateway.tracking import format_tracking_id
from tests.conftest import FIXTURES, REPO_ROOT, VENV_BIN, TestEnvironment, log_events

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
    Site("e-mail outbox reply", reply, "file", RetryableError.__name__),
    Site("attachment", attachment, "file", "OSError"),
    Site("quarantined mail", quarantined_mail, "file", "OSError"),
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
