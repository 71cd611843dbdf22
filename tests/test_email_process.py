"""The e-mail channel as an operator runs it: `lapor-gateway smtp` as a real process, and the quarantine tools."""

from __future__ import annotations

import asyncio
import smtplib
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis

from channels.base import InboundMessage
from channels.email import processor
from normalizer.pipeline import Normalized, normalize
from tests.cli_process import run_cli
from tests.conftest import REPO_ROOT, CaseStoreServer, ProcessHandle, TestEnvironment, free_port, wait_until
from tests.email_support import RECIPIENT, SmtpServerThread, envelope_count, fixture, outbox, stored_envelope


def smtp_ready(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
            return client.noop()[0] == 250
    except OSError:
        return False


def test_mail_to_the_smtp_process_gives_one_report_and_one_reply(
    test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer,
    start_process: Callable[..., ProcessHandle], worker: ProcessHandle,
) -> None:
    port = free_port()
    smtp = start_process("smtp", LAPOR_SMTP_PORT=str(port))
    wait_until(lambda: smtp_ready(port), timeout=20)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("kevin.tanoto@icloud.com", [RECIPIENT], fixture("apple_mail_related"))
    settings = test_env.settings()
    [report] = wait_until(lambda: casestore.reports(), timeout=20)  # type: ignore[misc]
    assert report["channel"] == "email" and report["subject"] == "Trotoar rusak"
    [reply] = wait_until(lambda: outbox(settings), timeout=20)  # type: ignore[misc]
    assert str(reply["Subject"]) == f"[LAPOR #{report['tracking_id']}] Trotoar rusak"
    assert smtp.stop() == 0, smtp.output()


def cli(test_env: TestEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    # Wide enough that no cell of the table wraps, whatever the length of the data dir's path in its title.
    return run_cli(["email", "quarantine", *args], test_env.process_env(COLUMNS="200"), cwd=REPO_ROOT)


def test_quarantined_mail_can_be_listed_fixed_and_reprocessed(test_env: TestEnvironment, redis: Redis) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        assert server.deliver(fixture("quarantine_no_from")).data_code == 250
    finally:
        server.stop()
    assert envelope_count(redis) == 0
    listing = cli(test_env, "list")
    assert listing.returncode == 0, listing.stderr
    assert "no_sender" in listing.stdout
    [eml] = list((settings.data_dir / "email" / "quarantine").glob("*.eml"))

    # Reprocessing unchanged mail keeps it in quarantine and says so.
    again = cli(test_env, "reprocess", "--all")
    assert again.returncode == 1 and "quarantined" in again.stdout
    assert eml.exists()

    # The operator adds the missing From header (or a fixed parser reads it): it becomes a report.
    eml.write_bytes(b"From: Pelapor <pelapor@example.net>\r\n" + eml.read_bytes())
    fixed = cli(test_env, "reprocess", eml.stem[:12])
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "accepted" in fixed.stdout
    assert not eml.exists()
    [key] = [key.decode() for key in redis.scan_iter("lapor:envelope:*")]
    envelope = stored_envelope(redis, key.rsplit(":", 1)[1])
    assert envelope is not None and envelope["sender"]["id"] == "pelapor@example.net"
    assert envelope["source"] == "email-quarantine"
    assert "tanpa alamat pengirim" in envelope["text"]
    assert "0 quarantined" in cli(test_env, "list").stdout or "(0)" in cli(test_env, "list").stdout


def test_reprocessed_mail_is_counted_where_the_processes_of_make_run_count(test_env: TestEnvironment,
                                                                           redis: Redis) -> None:
    """`make run` gives its processes PROMETHEUS_MULTIPROC_DIR, an operator's shell does not: the command finds the
    directory through the data dir (as it finds the embedded Redis), or its report never shows on /metrics."""
    from prometheus_client import CollectorRegistry, multiprocess

    from channels.email.store import Quarantine
    from gateway import metrics
    from gateway.supervisor import metrics_directory

    settings = test_env.settings()
    shared = metrics_directory(settings.data_dir)
    shared.mkdir(parents=True)
    mail = fixture("apple_mail_related")
    Quarantine(settings.data_dir).add(mail, "parse_error", "a parser since fixed", "kevin.tanoto@icloud.com",
                                      [RECIPIENT])
    env = {name: value for name, value in test_env.process_env().items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    result = run_cli(["email", "quarantine", "reprocess", "--all"], env, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(shared))
    counters = metrics.channel_counters(metrics.collect_metrics(registry))["email"]
    assert (counters["received"], counters["accepted"]) == (1, 1)


def test_reprocessing_a_key_that_names_no_quarantined_mail_says_so(test_env: TestEnvironment) -> None:
    result = cli(test_env, "reprocess", "0badc0ffee")
    assert result.returncode == 1
    assert "no quarantined mail has a key starting 0badc0ffee" in result.stdout, result.stdout


def test_the_quarantine_list_shows_no_address_or_number_a_parse_error_quotes(test_env: TestEnvironment) -> None:
    from channels.email.store import Quarantine

    settings = test_env.settings()
    Quarantine(settings.data_dir).add(b"Subject: x\r\n\r\nbody", "parse_error",
                                      "HeaderParseError: bad header From: siti.rahma@desa.id [0812-3456-7890]", None,
                                      [RECIPIENT])
    listing = cli(test_env, "list")
    assert listing.returncode == 0, listing.stderr
    assert "parse_error" in listing.stdout and "HeaderParseError (its message" in listing.stdout
    for private in ("siti.rahma", "desa.id", "3456"):
        assert private not in listing.stdout


def test_a_mail_is_normalized_off_the_event_loop(test_env: TestEnvironment, redis: Redis,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalizing costs as much as the mail is long (a million short lines: 1.1 s): on the event loop, every other
    SMTP session waited for it."""
    on_the_loop: list[bool] = []

    def normalize_where_it_runs(message: InboundMessage, **options: Any) -> Normalized:
        try:
            asyncio.get_running_loop()
            on_the_loop.append(True)
        except RuntimeError:  # a thread of its own
            on_the_loop.append(False)
        return normalize(message, **options)

    monkeypatch.setattr(processor, "normalize", normalize_where_it_runs)
    server = SmtpServerThread(test_env.settings(LAPOR_SMTP_PORT=str(free_port())), redis).start()
    try:
        result = server.deliver(fixture("apple_mail_related"))
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id
    assert on_the_loop == [False]


@pytest.mark.parametrize("mail", ["apple_mail_attachment", "apple_mail_related"], ids=["with-a-file", "without"])
def test_what_a_mails_words_ask_is_read_off_the_event_loop(mail: str, test_env: TestEnvironment, redis: Redis,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A CEK with a file, or the status query a mail opens with, is read from the whole mail's words: the query with a
    file was read on the event loop (a 1 MB body: 0.6 s, every other SMTP session waiting)."""
    on_the_loop: list[bool] = []

    def where_it_runs(read: Callable[..., Any]) -> Callable[..., Any]:
        def reading(*args: Any, **options: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_the_loop.append(True)
            except RuntimeError:  # a thread of its own
                on_the_loop.append(False)
            return read(*args, **options)
        return reading

    for name in ("query_with_a_file", "query_opening"):
        monkeypatch.setattr(processor, name, where_it_runs(getattr(processor, name)))
    server = SmtpServerThread(test_env.settings(LAPOR_SMTP_PORT=str(free_port())), redis).start()
    try:
        result = server.deliver(fixture(mail))
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id
    assert on_the_loop and not any(on_the_loop), on_the_loop
