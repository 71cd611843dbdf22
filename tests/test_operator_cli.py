"""The operator's commands on a bad night: a Redis that is not there, a misspelt queue, flags that contradict each
other. Each says what is wrong and what to check, exits non-zero, and ends on no traceback; none does more than it
was asked to.

As processes (forked with the libraries imported: tests/cli_process.py; the console script itself answers alike,
`test_the_forked_cli_answers_as_the_console_script`), against real Redis, or against a port where none listens.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
from redis import Redis

from channels.email.store import Quarantine, QuarantinedMail
from channels.registry import channel_names
from gateway.embedded_redis import EmbeddedRedis
from gateway.liveness import ServingBeat
from gateway.queues import FORWARD_FUNC, FORWARD_QUEUE, REPLY_QUEUE, envelope_key
from gateway.supervisor import hold_data_dir
from gateway.tracking import TrackingIdAllocator
from tests.cli_process import ForkedProcess, as_a_script, fork, run_cli, start_cli
from tests.conftest import (
    REPO_ROOT,
    VENV_BIN,
    TestEnvironment,
    free_port,
    log_events,
    serve_beat,
    wait_until,
)
from tests.email_support import RECIPIENT
from workers.deadletters import ENTRIES_KEY, INDEX_KEY, DeadLetters


def cli(test_env: TestEnvironment, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command run as an operator runs it, on a terminal wide enough for its tables unless `COLUMNS` says."""
    return run_cli(list(args), test_env.process_env(**{"COLUMNS": "300", **env}))


def no_traceback(result: subprocess.CompletedProcess[str]) -> bool:
    output = result.stdout + result.stderr
    return "Traceback" not in output and "uncaught_exception" not in output


@dataclass(frozen=True)
class Unreachable:
    id: str
    args: tuple[str, ...]


UNREACHABLE = [
    Unreachable("deadletters list", ("deadletters", "list")),
    Unreachable("deadletters show", ("deadletters", "show", "10000004")),
    Unreachable("deadletters requeue", ("deadletters", "requeue", "--all")),
    Unreachable("deadletters purge", ("deadletters", "purge", "--all", "--yes")),
    Unreachable("attachments list", ("attachments", "list", "10000004")),
    Unreachable("attachments export", ("attachments", "export", "10000004", "{tmp}/handed-over")),
]


@pytest.mark.parametrize("row", UNREACHABLE, ids=[row.id for row in UNREACHABLE])
def test_a_command_that_cannot_reach_redis_names_it_and_exits_1(
        row: Unreachable, test_env: TestEnvironment, tmp_path: Path) -> None:
    """It ended on a JSON traceback (`process.uncaught_exception`) that said neither which Redis nor what to do."""
    port = free_port()
    args = [arg.format(tmp=tmp_path) for arg in row.args]

    result = cli(test_env, *args, REDIS_URL=f"redis://127.0.0.1:{port}/0")

    assert result.returncode == 1, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    assert "Redis unreachable (ConnectionError)" in result.stdout
    assert f"the Redis server REDIS_URL names (127.0.0.1:{port})" in result.stdout
    assert not (tmp_path / "handed-over").exists()


def test_a_command_meeting_a_redis_that_takes_the_connection_and_never_answers_says_it_answers_too_late(
        test_env: TestEnvironment) -> None:
    """A Redis that hangs (paused, busy with a long script) was said "Redis unreachable (TimeoutError) ... is it
    running?": it runs, and the operator looked for one stopped. The kernel takes the connection on a listening
    socket that never accepts it, and nothing answers: for 1 s here, not the 5 s of
    `LAPOR_OPERATOR_REDIS_TIMEOUT_SECONDS` (the next test)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result = cli(test_env, "deadletters", "list", REDIS_URL=f"redis://127.0.0.1:{port}/0",
                     LAPOR_OPERATOR_REDIS_TIMEOUT_SECONDS="1")

    said = " ".join(result.stdout.split())
    assert result.returncode == 1 and no_traceback(result), result.stdout + result.stderr
    assert said.startswith("Redis does not answer in time (TimeoutError: it takes the connection"), said
    assert f"(127.0.0.1:{port}). The command stopped there; run it again once Redis answers" in said, said
    assert "unreachable" not in said and "is it running" not in said, said


def test_an_operators_command_waits_for_redis_as_long_as_its_setting_says(test_env: TestEnvironment) -> None:
    """`operator_redis_timeout_seconds` (5 s) is the socket timeout of every operator command's Redis client."""
    from gateway import cli as commands

    assert test_env.settings().operator_redis_timeout_seconds == 5.0
    settings = test_env.settings(LAPOR_OPERATOR_REDIS_TIMEOUT_SECONDS="1.5")
    redis, _, _, _ = commands._unfiled(settings)
    clients = [commands._dead_letters(settings).redis, redis, commands._operator_redis(settings)]
    assert [client.connection_pool.connection_kwargs["socket_timeout"] for client in clients] == [1.5, 1.5, 1.5]


# A mail quarantined by a parser fixed since: reprocessed, it becomes a report.
READABLE_MAIL = (b"From: Budi <budi.santoso@example.net>\r\nTo: pengaduan@lapor.go.id\r\nSubject: Pungli\r\n"
                 b"Message-ID: <a1@example.net>\r\n\r\nPungli di loket 3\r\n")


@dataclass(frozen=True)
class AwayRedis:
    """A Redis intake cannot make a report durable in, and what an operator's command says of it."""

    id: str
    url: Callable[[str, int], str]  # from the tests' REDIS_URL and a free port
    trouble: str
    again: str


AWAY_REDIS = [
    AwayRedis("unreachable", lambda _url, port: f"redis://127.0.0.1:{port}/0", "Redis unreachable (ConnectionError)",
              "Redis answers (`lapor-gateway status` says when)"),
    # It answered: "Redis unreachable ... once Redis answers" sent the operator to a Redis that runs.
    AwayRedis("the password refused", lambda url, _port: url.replace("redis://", "redis://lapor:not-the-password@", 1),
              "Redis refuses the credentials (AuthenticationError)", "REDIS_URL carries the password it asks for"),
]


@pytest.mark.parametrize("away", AWAY_REDIS, ids=[away.id for away in AWAY_REDIS])
def test_quarantined_mail_reprocessed_while_redis_is_unreachable_stays_quarantined_and_is_said_so(
        away: AwayRedis, test_env: TestEnvironment, redis_url: str) -> None:
    """A readable mail (the parser fixed since) met intake's NotDurable and ended on a traceback."""
    quarantine = Quarantine(test_env.settings().data_dir)
    entry = quarantine.add(READABLE_MAIL, "parse_error", "before the fix", "budi.santoso@example.net", [RECIPIENT])
    url = away.url(redis_url, free_port())

    result = cli(test_env, "email", "quarantine", "reprocess", "--all", REDIS_URL=url)

    said = " ".join(result.stdout.split())
    assert result.returncode == 1, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    assert (f"{entry.key[:16]}: not reprocessed. {away.trouble}") in said, said
    assert (f": check the Redis server REDIS_URL names (127.0.0.1:{urlparse(url).port}); it stays quarantined, and "
            f"the rest were not tried: run the command again once {away.again}") in said, said
    assert [kept.key for kept in quarantine.list()] == [entry.key]


@pytest.mark.parametrize("queues", ["lapor-foward", "lapor-forward,lapor-reply,lapor-stats", ","])
def test_a_worker_for_a_queue_that_does_not_exist_is_refused(test_env: TestEnvironment, queues: str) -> None:
    """A misspelt queue ran a worker that took no job while looking alive (and with --burst exited 0); no queue at
    all exited 0 at once."""
    result = cli(test_env, "worker", "--queues", queues, "--burst")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "no such queue" in result.stdout
    assert "the gateway's queues are lapor-forward, lapor-reply, lapor-status" in result.stdout
    assert '"worker.starting"' not in result.stdout and no_traceback(result)


@pytest.mark.parametrize("command", ["requeue", "purge"])
def test_tracking_ids_and_all_together_are_refused_and_nothing_is_done(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`purge <id> --all --yes` purged every dead letter, not the one named: an operator who typed an ID meant it."""
    registry = DeadLetters(redis)
    for tracking_id in ("10000011", "10000029"):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[tracking_id]], tracking_id=tracking_id,
                         item=tracking_id, reason="casestore_422", detail="refused")

    result = cli(test_env, "deadletters", command, "10000011", "--all", *(["--yes"] if command == "purge" else []))

    assert result.returncode == 2, result.stdout + result.stderr
    assert "name Tracking IDs or pass --all, not both: nothing was done" in result.stdout
    assert registry.count() == 2


@dataclass(frozen=True)
class Typed:
    id: str
    typed: str  # what the operator passed to `attachments list`
    said: str  # the error's text, all the line says (no `NotATrackingId: ` before it)


PASTED = "CEK 10000004 " + "tolong dicek laporan saya " * 12
NOT_TRACKING_IDS = [
    Typed("26 digits: said whole and too long", "1" * 13 + "2" * 13,
          f"'{'1' * 13 + '2' * 13}' is not a Tracking ID (26 digits: a Tracking ID has 6 to 14)"),
    Typed("too short", "12345", "'12345' is not a Tracking ID (5 digits: a Tracking ID has 6 to 14)"),
    Typed("a check digit that fails", "10000005", "'10000005' is not a Tracking ID (a digit mistyped or two swapped?)"),
    Typed("as typed, its separators too", "#1000-0005",
          "'#1000-0005' is not a Tracking ID (a digit mistyped or two swapped?)"),
    Typed("a leading 0", "010000004", "'010000004' is not a Tracking ID (a Tracking ID does not start with 0)"),
    Typed("a pasted message: cut, saying its length", PASTED,
          f"{PASTED[:40]!r}... ({len(PASTED)} characters) is not a Tracking ID (a Tracking ID is 6 to 14 digits; #, "
          "dots, dashes and spaces are left out)"),
    Typed("an escape sequence is shown escaped", "\x1b[2J10000004",
          r"'\x1b[2J10000004' is not a Tracking ID (a Tracking ID is 6 to 14 digits; #, dots, dashes and spaces are "
          "left out)"),
    Typed("markup is shown as typed", "[/red]10000004",
          "'[/red]10000004' is not a Tracking ID (a Tracking ID is 6 to 14 digits; #, dots, dashes and spaces are "
          "left out)"),
]


@pytest.mark.parametrize("row", NOT_TRACKING_IDS, ids=[row.id for row in NOT_TRACKING_IDS])
def test_a_text_that_is_no_tracking_id_is_said_as_typed_and_why(row: Typed, test_env: TestEnvironment) -> None:
    """26 digits came back cut to 20 ("'12345678901234567890' is not a Tracking ID"): another ID than the one typed,
    and no word of why."""
    result = cli(test_env, "attachments", "list", row.typed)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == f"{row.said}\n"
    assert "\x1b" not in result.stdout and no_traceback(result)


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_a_dead_letter_listing_of_fewer_than_one_is_refused(limit: str, test_env: TestEnvironment) -> None:
    """`--limit -1` listed every dead letter but the newest and `--limit 0` every one (Redis's ZRANGE 0 -2 and 0 -1;
    with a filter, all but the last and none), and both exited 0."""
    result = cli(test_env, "deadletters", "list", "--limit", limit)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "Invalid value for '--limit': Input should be greater than or equal to 1" in result.stderr
    assert result.stdout == "" and no_traceback(result)


@pytest.mark.parametrize(("options", "said"), [
    pytest.param(("--limit", "99999999999999999999"), "shown 1-2 of 2, oldest first", id="a limit to see them all"),
    pytest.param(("--limit", str(2**63), "--offset", "1"), "shown 2-2 of 2, oldest first", id="a rank past 2^63"),
    pytest.param(("--offset", "99999999999999999999"), "none shown past --offset 99999999999999999999: 2",
                 id="an offset past them all"),
])
def test_a_dead_letter_listing_past_what_redis_counts_lists_what_there_is(
        options: tuple[str, ...], said: str, test_env: TestEnvironment, redis: Redis) -> None:
    """A `--limit` or `--offset` past Redis's 64-bit ranks was refused by Redis ("value is not an integer or out of
    range"), said as a Redis that refuses commands (full at its maxmemory, a read-only replica), exit 1."""
    registry = DeadLetters(redis)
    for tid in ("10000012", "10000020"):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[tid]], tracking_id=tid, item=tid,
                         reason="casestore_422", detail="refused", channel="sms-twilio")

    result = cli(test_env, "deadletters", "list", *options)

    assert result.returncode == 0 and no_traceback(result), result.stdout + result.stderr
    assert said in result.stdout and "Redis" not in result.stdout, result.stdout


@pytest.mark.parametrize("command", ["show", "requeue", "purge"])
@pytest.mark.parametrize(("typed", "said"), [
    pytest.param("[/bold]", "[/bold]", id="markup"),
    pytest.param("\x1b[2J1000", "\\x1b[2J1000", id="an escape sequence"),
])
@pytest.mark.usefixtures("deployed")
def test_a_dead_letter_named_that_is_not_there_is_said_as_typed(
        command: str, typed: str, said: str, test_env: TestEnvironment) -> None:
    """`deadletters show '[/bold]'` ended on rich's MarkupError traceback; an escape sequence reached the terminal."""
    result = cli(test_env, "deadletters", command, typed, *(["--yes"] if command == "purge" else []))

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(f"no dead letter for {said}\n") and no_traceback(result), result.stdout
    assert "\x1b" not in result.stdout


@pytest.mark.parametrize("args", [("deadletters", "list"), ("deadletters", "show", "10000004"),
                                  ("attachments", "list", "not-an-id"), ("no-such-command",), ("--help",)],
                         ids=["list", "show-missing", "attachments-bad-id", "unknown-command", "help"])
def test_the_forked_cli_answers_as_the_console_script(
        args: tuple[str, ...], test_env: TestEnvironment, redis: Redis) -> None:
    """The tests run operator commands forked from a server that imported the libraries once (tests/cli_process.py):
    each answers as the console script an operator runs, word for word, with the same exit status. (Of a Redis with
    no sign of the deployment: UNKNOWN after one look, not 2.5 s of them, each.)"""
    env = test_env.process_env(COLUMNS="200", LAPOR_HEALTH_DEPLOYMENT_WAIT_SECONDS="0")
    real = subprocess.run([str(VENV_BIN / "lapor-gateway"), *args], env=env, capture_output=True, text=True,
                          timeout=60)
    forked = run_cli(list(args), env)
    assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout, real.stderr)
    assert real.stdout + real.stderr  # each says something


def _worker_run(start: Callable[[Path], Any], log_path: Path, stop: signal.Signals | None) -> tuple[int, list[str]]:
    """A `lapor-gateway worker` run: its exit status and the events of its log (or its lines, when it logged none)."""
    process = start(log_path)
    try:
        if stop is not None:
            wait_until(lambda: process.poll() is not None or (
                log_path.exists() and '"worker.ready"' in log_path.read_text()), timeout=60)
            time.sleep(0.5)  # past RQ's own signal handlers' start, which a stop said sooner ends as -15
            process.send_signal(stop)
        code = process.wait(timeout=30)
    finally:
        process.kill()
    process.send_signal(signal.SIGTERM)  # after its end: nothing happens, to no other process
    lines = log_path.read_text().splitlines()
    return code, [json.loads(line)["event"] if line.startswith("{") else line for line in lines]


@pytest.mark.parametrize(("args", "stop"), [
    (["--queues", REPLY_QUEUE], signal.SIGTERM),
    (["--queues", REPLY_QUEUE], signal.SIGKILL),
    (["--no-such-option"], None),  # click's usage error on stderr: the same log as stdout
], ids=["stopped", "killed", "refused-on-stderr"])
def test_a_forked_long_running_process_ends_and_logs_as_the_console_scripts(
        args: list[str], stop: signal.Signals | None, test_env: TestEnvironment, redis: Redis, tmp_path: Path) -> None:
    """The tests' long-running processes (`start_process`) are forked from the server of tests/cli_process.py: each
    ends with the console script's exit status (0 stopped, -9 killed), its stdout and stderr in one log, and a signal
    sent after its end is dropped, as subprocess.Popen's."""
    env = test_env.process_env()

    def real(log_path: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(VENV_BIN / "lapor-gateway"), "worker", *args], env=env, cwd=REPO_ROOT,
                                stdout=log_path.open("wb"), stderr=subprocess.STDOUT)

    def forked(log_path: Path) -> ForkedProcess:
        return start_cli(["worker", *args], env, cwd=REPO_ROOT, log_path=log_path)

    expected = _worker_run(real, tmp_path / "real.log", stop)
    assert _worker_run(forked, tmp_path / "forked.log", stop) == expected
    assert expected[0] == {signal.SIGTERM: 0, signal.SIGKILL: -9, None: 2}[stop], expected
    assert expected[1], "each says something"


_CRASH = "raise ValueError('reporter 081234567890 said so')"


def _crash(log_path: str, logged: bool) -> None:
    """A forked process's body: its output to `log_path`, then an exception nobody catches."""
    target = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(target, 1)
    os.dup2(target, 2)

    def main() -> None:
        if logged:
            from gateway.logs import configure_logging

            configure_logging("info")
        exec(_CRASH)

    as_a_script(main)


@pytest.mark.parametrize("logged", [True, False], ids=["gateway-logging", "plain"])
def test_a_forked_process_that_crashes_ends_as_the_interpreter_ends_a_script(logged: bool, tmp_path: Path) -> None:
    """An exception nobody caught in a process the tests fork ends it as in the console script's process: through
    the gateway's hook, one JSON line with the number redacted, exit 1 (multiprocessing's own ending printed a raw
    traceback under `Process ForkServerProcess-1:`, the number in it, and hid a fault of the hook from every test)."""
    prelude = "from gateway.logs import configure_logging; configure_logging('info')\n" if logged else ""
    real = subprocess.run([sys.executable, "-c", prelude + _CRASH], capture_output=True, text=True, timeout=60,
                          cwd=REPO_ROOT)
    log_path = tmp_path / "forked.log"
    forked = fork(["crash"], _crash, str(log_path), logged)
    assert forked.wait(60) == real.returncode == 1
    output = log_path.read_text()
    if logged:
        [line] = [json.loads(line) for line in output.splitlines()]
        assert line["event"] == "process.uncaught_exception" and "081234567890" not in output, output
        assert [json.loads(line)["event"] for line in real.stdout.splitlines()] == [line["event"]], real.stdout
    else:
        assert output.splitlines()[-1] == real.stderr.splitlines()[-1] == ("ValueError: reporter 081234567890 "
                                                                            "said so")
        assert "ForkServerProcess" not in output, output


def test_a_command_whose_reader_stops_reading_exits_as_a_shell_command_killed_by_sigpipe(
        test_env: TestEnvironment, redis: Redis) -> None:
    """`lapor-gateway status | head -1`: the reader gone, click ended the command with exit 1, `status`'s exit for a
    degraded system, and a script under `set -o pipefail` read a healthy one as degraded. 141, as a shell reports a
    command killed by SIGPIPE; nothing on stderr. (Its line: the UNKNOWN of a Redis with no sign of the deployment,
    after one look.)"""
    env = test_env.process_env(COLUMNS="200", LAPOR_HEALTH_DEPLOYMENT_WAIT_SECONDS="0")
    process = subprocess.Popen([str(VENV_BIN / "lapor-gateway"), "status"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the command writes
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert b"Traceback" not in errors


def test_a_dead_letter_of_no_channel_is_shown_under_the_name_the_views_give_it(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A forward whose envelope was gone (`envelope_missing`) counts against the channel `unknown` in every view and
    `--channel unknown` lists it, but `list` showed an empty channel and `show` printed `channel: None`."""
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                               item="10000012", reason="envelope_missing", detail="no envelope")

    shown = cli(test_env, "deadletters", "show", "10000012")
    listed = cli(test_env, "deadletters", "list", "--channel", "unknown")

    assert shown.returncode == 0 and "channel: unknown\n" in shown.stdout, shown.stdout + shown.stderr
    row = next(line for line in listed.stdout.splitlines() if "10000012" in line)
    assert [cell.strip() for cell in row.split("│")[1:6]] == [f"{FORWARD_QUEUE}:10000012", "10000012", FORWARD_QUEUE,
                                                             "unknown", "envelope_missing"]


@pytest.mark.parametrize(("source", "channel"), [("email-smtp", "email"), ("x-reply", "x"), ("twitter", "x"),
                                               ("sms-aggregator", "sms-aggregator")])
def test_a_dead_letters_channel_is_named_as_the_views_name_it(test_env: TestEnvironment, redis: Redis, source: str,
                                                               channel: str) -> None:
    """`list` and `show` name a letter's channel as the status views do (`email`, `x`), `show` its source too: they
    showed `email-smtp` where the views, the logs and `--channel` said `email`."""
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                               item="10000012", reason="casestore_422", detail="refused", channel=source)

    listed, shown = cli(test_env, "deadletters", "list"), cli(test_env, "deadletters", "show", "10000012")

    row = next(line for line in listed.stdout.splitlines() if "10000012" in line)
    assert [cell.strip() for cell in row.split("│")[1:6]][3] == channel, listed.stdout
    assert f"channel: {channel}\n" in shown.stdout and f"source: {source}\n" in shown.stdout, shown.stdout
    assert "10000012" in cli(test_env, "deadletters", "list", "--channel", channel).stdout


def test_a_dead_letter_of_no_rq_job_shows_a_dash_for_its_job_id(test_env: TestEnvironment, redis: Redis) -> None:
    """A letter a job wrote of its own decision (X refusing a reply, `x_auth`) names no RQ job; `show` printed
    Python's `job_id: None` for it."""
    DeadLetters(redis).add_new(queue="lapor-reply", func="workers.social_reply.send_social_reply", args=[],
                               tracking_id="10000012", item="twitter:1", reason="x_auth", detail="403 Forbidden",
                               channel="x-reply")

    shown = cli(test_env, "deadletters", "show", "10000012")

    assert shown.returncode == 0 and "job_id: -\n" in shown.stdout, shown.stdout + shown.stderr
    assert "None" not in shown.stdout


@pytest.mark.parametrize(
    ("where", "failure", "says"),
    [
        pytest.param("aggregator.invalid answered 401 Unauthorized", "token",
                     ["where: aggregator.invalid answered 401 Unauthorized\n", "failure: token\n", "what to do: ",
                      "LAPOR_AGGREGATOR_SEND_PASSWORD"], id="where-failure-and-step"),
        pytest.param(None, None, ["where: -\n", "failure: -\n"], id="an-earlier-versions-letter"),
    ],
)
def test_show_says_where_and_how_a_reply_failed_and_what_to_do(test_env: TestEnvironment, redis: Redis,
                                                                where: str | None, failure: str | None,
                                                                says: list[str]) -> None:
    """A failed reply's letter names the host and the kind of failure as the channel's reason does, and the step;
    one without them (an earlier version's) shows `-`, with no step."""
    DeadLetters(redis).add_new(queue="lapor-reply", func="workers.reply.send_reply", args=[], tracking_id="10000012",
                               item="r-1", reason="aggregator_401", detail="refused", channel="sms-aggregator",
                               where=where, failure=failure)

    shown = cli(test_env, "deadletters", "show", "10000012")

    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert all(words in shown.stdout for words in says), shown.stdout
    assert ("what to do" in shown.stdout) is (failure is not None)



@pytest.mark.parametrize(
    ("reason", "says", "not_said"),
    [
        pytest.param("x_not_found", ["failure: refused\n", "deadletters show", "LAPOR_X_BASE_URL"], [],
                     id="xs-404-names-the-base-url"),
        pytest.param("x_bad_payload", ["failure: refused\n", "deadletters show"], ["LAPOR_X_BASE_URL"],
                     id="another-refusal-does-not"),
    ],
)
def test_show_gives_an_x_reply_refused_with_404_the_step_of_its_base_url(
        test_env: TestEnvironment, redis: Redis, reason: str, says: list[str], not_said: list[str]) -> None:
    """X's 404 to every reply most likely means LAPOR_X_BASE_URL is not the API's: the letter's step names it, as
    the views' does; another refusal of the message is no URL's."""
    DeadLetters(redis).add_new(queue="lapor-reply", func="workers.social_reply.send_social_reply", args=[],
                               tracking_id="10000012", item="twitter:1", reason=reason, detail="refused",
                               channel="x-reply", where="api.x.com answered 404 Not Found", failure="refused")

    shown = cli(test_env, "deadletters", "show", "10000012")

    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert all(words in shown.stdout for words in says), shown.stdout
    assert not any(words in shown.stdout for words in not_said), shown.stdout

@dataclass(frozen=True)
class Filter:
    id: str
    option: str
    value: str
    said: str  # the whole line an unknown name gets; "" for a name the command takes
    recorded: str | None = "sms-twilio"  # the channel the one dead letter is recorded under


KNOWN_CHANNELS = ", ".join((*channel_names(), "unknown"))  # the registry's, a new channel's among them
QUEUES_SAID = "the gateway's queues are lapor-forward, lapor-reply, lapor-status"
FILTERS = [
    Filter("typo'd channel", "--channel", "sms-twillio",
           f"no such channel: sms-twillio; the channels are {KNOWN_CHANNELS} (or a source of one, as `deadletters "
           "list` shows it: x-mentions, email-imap...)"),
    Filter("typo'd queue", "--queue", "lapor-foward", f"no such queue: lapor-foward; {QUEUES_SAID}"),
    Filter("markup is shown as typed", "--queue", "[/red]", f"no such queue: [/red]; {QUEUES_SAID}"),
    Filter("a channel the status shows", "--channel", "sms-twilio", ""),
    Filter("a source of one", "--channel", "x-mentions", "", recorded="x-mentions"),
    # the name the case store and the envelope give the channel: taken, and it matched nothing ("requeued 0")
    Filter("the case store's name of one", "--channel", "twitter", "", recorded="x-reply"),
    Filter("the status's name of a reply's", "--channel", "x", "", recorded="x-reply"),
    Filter("no channel: unknown", "--channel", "unknown", "", recorded=None),
    Filter("a queue", "--queue", FORWARD_QUEUE, ""),
]
FILTERED_COMMANDS = {"list": ("list",), "requeue": ("requeue", "--all"), "purge": ("purge", "--all", "--yes")}
# What each command says of the one dead letter a known name takes.
DONE = {"list": "10000012", "requeue": "requeued 1 dead letter(s)", "purge": "purged 1 dead letter(s)"}


@pytest.mark.parametrize("command", list(FILTERED_COMMANDS))
@pytest.mark.parametrize("row", FILTERS, ids=[row.id for row in FILTERS])
def test_a_dead_letter_filter_naming_no_channel_or_queue_is_refused_and_nothing_is_done(
        row: Filter, command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`requeue --all --channel sms-twillio` matched nothing and exited 0 with `requeued 0 dead letter(s)`: at 2 a.m.
    that reads as nothing to do. The names it knows are the registry's channels (and the sources the status counts
    under them), `unknown` (a dead letter that could not tell its channel) and the queues; those still work."""
    registry = DeadLetters(redis)
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                     item="10000012", reason="casestore_422", detail="refused", channel=row.recorded)

    result = cli(test_env, "deadletters", *FILTERED_COMMANDS[command], row.option, row.value)

    assert no_traceback(result), result.stdout + result.stderr
    if row.said:
        assert (result.returncode, result.stdout) == (2, row.said + "\n"), result.stdout + result.stderr
        assert registry.count() == 1 and redis.llen(f"rq:queue:{FORWARD_QUEUE}") == 0
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert DONE[command] in result.stdout


@pytest.mark.parametrize("command", list(FILTERED_COMMANDS))
def test_a_dead_letter_reason_no_letter_has_is_said_with_the_reasons_there_are(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`requeue --all --reason casestore_42` (a digit short) said `requeued 0 dead letter(s)`, exit 0, and `list`
    "none pass the filters": at 2 a.m. that reads as nothing to do. Reasons are open (a provider's status in each), so
    it is not refused: the reasons the letters have are said, with their counts, and nothing is done."""
    registry = DeadLetters(redis)
    for number, reason in enumerate(("casestore_422", "casestore_422", "aggregator_400")):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[f"1000001{number}"]],
                         tracking_id=f"1000001{number}", item=f"1000001{number}", reason=reason, detail="refused",
                         channel="sms-twilio")

    result = cli(test_env, "deadletters", *FILTERED_COMMANDS[command], "--reason", "casestore_42")

    assert result.returncode == 0 and no_traceback(result), result.stdout + result.stderr
    assert ("no dead letter has the reason casestore_42; their reasons: aggregator_400 (1), casestore_422 (2)"
            in result.stdout), result.stdout
    assert registry.count() == 3 and redis.llen(f"rq:queue:{FORWARD_QUEUE}") == 0
    named = cli(test_env, "deadletters", *FILTERED_COMMANDS[command][:1], "10000012", "--reason", "casestore_422",
                *FILTERED_COMMANDS[command][2:]) if command != "list" else None
    if named is not None:
        assert "no dead letter of those named has the reason casestore_422; their reasons: aggregator_400 (1)" in \
            named.stdout, named.stdout


@pytest.mark.parametrize("command", list(FILTERED_COMMANDS))
def test_the_reasons_said_for_a_reason_no_letter_has_are_those_of_the_letters_the_other_filters_take(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`--channel sms-twilio --reason casestore_42` said the reasons of every letter, an aggregator's too: a reason
    taken from that line (`aggregator_400`) matched nothing again. Counted are the letters `--channel` and `--queue`
    take; where they take none, nothing is said of the reason (the filters took nothing)."""
    registry = DeadLetters(redis)
    for number, (reason, channel) in enumerate((("casestore_422", "sms-twilio"), ("casestore_422", "sms-twilio"),
                                                ("aggregator_400", "sms-aggregator"))):
        registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[[f"1000001{number}"]],
                         tracking_id=f"1000001{number}", item=f"1000001{number}", reason=reason, detail="refused",
                         channel=channel)

    twilio = cli(test_env, "deadletters", *FILTERED_COMMANDS[command], "--channel", "sms-twilio",
                 "--reason", "casestore_42")
    none_there = cli(test_env, "deadletters", *FILTERED_COMMANDS[command], "--channel", "instagram",
                     "--reason", "casestore_42")
    other_queue = cli(test_env, "deadletters", *FILTERED_COMMANDS[command], "--queue", REPLY_QUEUE,
                      "--reason", "casestore_42")

    for result in (twilio, none_there, other_queue):
        assert result.returncode == 0 and no_traceback(result), result.stdout + result.stderr
    assert ("no dead letter that passes the other filters has the reason casestore_42; their reasons: casestore_422 "
            "(2)\n" in twilio.stdout), twilio.stdout
    assert "has the reason" not in none_there.stdout + other_queue.stdout, none_there.stdout + other_queue.stdout
    assert registry.count() == 3 and redis.llen(f"rq:queue:{FORWARD_QUEUE}") == 0
    if command != "list":
        named = cli(test_env, "deadletters", *FILTERED_COMMANDS[command][:1], "10000010", "10000012",
                    "--channel", "sms-aggregator", "--reason", "casestore_42", *FILTERED_COMMANDS[command][2:])
        assert ("no dead letter of those named that passes the other filters has the reason casestore_42; their "
                "reasons: aggregator_400 (1)\n" in named.stdout), named.stdout


@pytest.mark.parametrize("command", list(FILTERED_COMMANDS))
@pytest.mark.usefixtures("deployed")
def test_a_dead_letter_reason_is_not_said_missing_where_no_letter_was_read(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """With no dead letter at all, or none of those named there, `--reason casestore_42` said "no dead letter has the
    reason casestore_42" with no reasons after it: the names were said missing already, and the line read as though
    the reason were to blame. Nothing is said of the reason."""
    empty = cli(test_env, "deadletters", *FILTERED_COMMANDS[command], "--reason", "casestore_42")
    assert empty.returncode == 0 and no_traceback(empty), empty.stdout + empty.stderr
    assert "has the reason" not in empty.stdout, empty.stdout
    if command == "list":
        return
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000010"]], tracking_id="10000010",
                               item="10000010", reason="casestore_422", detail="refused", channel="sms-twilio")
    named = cli(test_env, "deadletters", *FILTERED_COMMANDS[command][:1], "10000099", "--reason", "casestore_42",
                *FILTERED_COMMANDS[command][2:])
    assert named.returncode == 1 and "no dead letter for 10000099 that passes the filters" in named.stdout, \
        named.stdout
    assert "has the reason" not in named.stdout, named.stdout


# Entries of the dead-letter hash no version of the registry can read: not JSON, not UTF-8, another shape, an
# earlier form without the fields a letter needs.
UNREADABLE_ENTRIES = {
    "not json": b"{truncated",
    "not utf-8": b"\xff\xfe",
    "a list": b"[1, 2]",
    "fields missing": b'{"key": "lapor-reply:r-1", "queue": "lapor-reply", "reason": "aggregator_500"}',
    "a field of another type": b'{"key": "lapor-reply:r-1", "queue": "lapor-reply", "func": "workers.reply.x", '
                               b'"args": [], "tracking_id": 10000012, "reason": "aggregator_500", "detail": "", '
                               b'"failed_at": 1796176800}',
}


@pytest.mark.parametrize("raw", list(UNREADABLE_ENTRIES.values()), ids=list(UNREADABLE_ENTRIES))
def test_an_unreadable_dead_letter_is_listed_to_purge_and_does_not_stop_the_others(
        raw: bytes, test_env: TestEnvironment, redis: Redis) -> None:
    """One such entry ended `deadletters list`, `show`, `requeue` and `purge` on a traceback (orjson, or
    DeadLetter's constructor), so no letter could be seen, requeued or purged, that one included."""
    registry = DeadLetters(redis)
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                     item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    damaged = "lapor-reply:r-1"
    redis.hset(ENTRIES_KEY, damaged, raw)
    redis.zadd(INDEX_KEY, {damaged: 1_796_176_800})  # 2026-12-02 02:00:00Z

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = run_cli(["deadletters", *args], test_env.process_env(COLUMNS="400"))
        assert no_traceback(result), result.stdout + result.stderr
        return result

    listing = run("list")
    show = run("show", damaged)
    requeue = run("requeue", "--all")
    purge = run("purge", damaged, "--yes")

    assert listing.returncode == 0 and "Dead letters (2 in all)" in listing.stdout, listing.stdout
    rows = [line for line in listing.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2 and any("unreadable" in row and "2026-12-02 02:00:00Z" in row for row in rows), rows
    # its detail is cut with a mark that says so ("...: nothing" read as its whole word); `show` has it whole
    assert any("this version can read: nothing…" in row for row in rows), rows
    assert show.returncode == 0 and "reason: unreadable" in show.stdout and "purge it by its key" in show.stdout
    assert requeue.returncode == 1, requeue.stdout + requeue.stderr
    assert "requeued 1 dead letter(s)" in requeue.stdout and "skipped 1 unreadable dead letter(s)" in requeue.stdout
    assert redis.llen(f"rq:queue:{FORWARD_QUEUE}") == 1  # the readable one, and nothing for the other
    assert (purge.returncode, "purged 1 dead letter(s)" in purge.stdout) == (0, True), purge.stdout + purge.stderr
    assert registry.count() == 0 and not redis.hexists(ENTRIES_KEY, damaged)


@dataclass(frozen=True)
class NoRedis:
    id: str
    data_dir: str  # LAPOR_DATA_DIR, relative to the directory the command runs in ({tmp}: the test's own)
    url_file: bool  # a `make run` wrote its embedded Redis's URL there
    supervisor: bool  # and still holds the data dir's lock
    said: str  # what the line says after "REDIS_URL is not set and "; "" where the command finds its Redis


NO_REDIS = [
    NoRedis("no make run: the data dir looked in, relative as configured", "var", url_file=False, supervisor=False,
            said="no `make run` runs on the data dir {tmp}/var (none wrote {tmp}/var/redis/url)"),
    NoRedis("no make run: an absolute data dir", "{tmp}/data", url_file=False, supervisor=False,
            said="no `make run` runs on the data dir {tmp}/data (none wrote {tmp}/data/redis/url)"),
    NoRedis("a URL file a killed make run left", "var", url_file=True, supervisor=False,
            said="{tmp}/var/redis/url is left from a `make run` that no longer runs (killed?): no supervisor holds "
                 "{tmp}/var/supervisor.lock, and the Redis it names is gone"),
    NoRedis("a running make run's URL file", "var", url_file=True, supervisor=True, said=""),
]
WAYS_OUT = (": start `make run` (or `LAPOR_PROFILE=development lapor-gateway dev`) there, point LAPOR_DATA_DIR at "
            "the data dir of the one running, or set REDIS_URL to your Redis\n")


@pytest.mark.parametrize("command", [("deadletters", "list"), ("status",)], ids=["deadletters list", "status"])
@pytest.mark.parametrize("row", NO_REDIS, ids=[row.id for row in NO_REDIS])
def test_without_redis_url_a_command_finds_the_make_run_of_its_data_dir_or_says_where_it_looked(
        row: NoRedis, command: tuple[str, ...], test_env: TestEnvironment, redis: Redis, redis_url: str,
        tmp_path: Path) -> None:
    """"REDIS_URL is not set and no `make run` is running under this data dir" named no data dir: a relative one
    (the default ./var) read from another directory than the `make run`'s, or a `make run` on another one, was left to
    guess. And a `make run` killed outright (SIGKILL: no clean-up) left its URL file behind: the commands took its
    dead Redis for an outage to wait out. The supervisor's lock tells a URL file of a running `make run`."""
    data_dir = Path(row.data_dir.format(tmp=tmp_path))
    data_dir = data_dir if data_dir.is_absolute() else tmp_path / data_dir
    (data_dir / "redis").mkdir(parents=True)
    if row.url_file:
        (data_dir / "redis" / "url").write_text(redis_url + "\n")  # the test's Redis: the running one's
    (data_dir / "supervisor.lock").touch()  # what any supervisor leaves, running or not
    lock = hold_data_dir(data_dir, wait=0) if row.supervisor else None
    if row.supervisor:  # its gateway beats: `status` finds the deployment at once, not after its wait for one
        serve_beat(redis).beat()
    env = test_env.process_env(COLUMNS="200", LAPOR_DATA_DIR=row.data_dir.format(tmp=tmp_path))
    env.pop("REDIS_URL")
    try:
        result = run_cli(list(command), env, cwd=tmp_path)
    finally:
        if lock is not None:
            lock.close()

    assert no_traceback(result), result.stdout + result.stderr
    if row.said:
        assert (result.returncode, result.stdout) == (
            2, "REDIS_URL is not set and " + row.said.format(tmp=tmp_path) + WAYS_OUT), result.stdout + result.stderr
    else:
        assert "REDIS_URL is not set" not in result.stdout and result.returncode == 0, result.stdout
        assert ("Dead letters (0 in all)" if command == ("deadletters", "list") else "overall: ") in result.stdout


@dataclass(frozen=True)
class Listener:
    id: str
    args: tuple[str, ...]
    port_variable: str  # the setting the test takes the port with
    process: str  # the `<process>.listening` event's first part
    setting: str  # what `process.port_in_use` tells to change
    env: tuple[tuple[str, str], ...] = ()


LISTENERS = [
    Listener("gateway", ("serve",), "LAPOR_HTTP_PORT", "gateway", "LAPOR_HTTP_PORT"),
    Listener("smtp server", ("smtp",), "LAPOR_SMTP_PORT", "smtp", "LAPOR_SMTP_PORT"),
    Listener("reference case store", ("casestore",), "LAPOR_CASESTORE_PORT", "casestore", "LAPOR_CASESTORE_PORT"),
    Listener("fake providers", ("fake-providers",), "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT", "fake_providers",
             "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT", env=(("LAPOR_PROFILE", "development"),)),
]


@pytest.mark.parametrize("row", LISTENERS, ids=[row.id for row in LISTENERS])
def test_a_process_whose_port_is_taken_says_which_setting_moves_it_and_exits_2(
        row: Listener, test_env: TestEnvironment, redis: Redis) -> None:
    """A port another process held (another service, a second checkout's `make run`) ended the process on an
    OSError traceback, after a `gateway.listening` line that said it listened: one `process.port_in_use` line names
    the port and the setting to move it, and no `.listening` line comes before the port is bound. Nor a beat: the
    gateway beat once at start-up, and its channels counted as served for 30 s by a process that never was."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(list(row.args), test_env.process_env(**{row.port_variable: str(port)}, **dict(row.env)))

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    [refused] = [event for event in events if event["event"] == "process.port_in_use"]
    assert (refused["process"], refused["port"], refused["setting"]) == (row.process, port, row.setting)
    assert f"move this one with {row.setting}" in refused["detail"]
    # And how to find the process that holds it, as `make run`'s line says it.
    assert f"`ss -ltnp 'sport = :{port}'` names the one listening" in refused["detail"], refused["detail"]
    assert [event for event in events if event["event"].endswith(".listening")] == []
    assert redis.keys("lapor:health:serving:*") == []


@pytest.mark.parametrize(("args", "host_variable", "process"), [
    (("serve",), "LAPOR_HTTP_HOST", "gateway"),
    (("smtp",), "LAPOR_SMTP_HOST", "smtp"),
], ids=["gateway", "smtp server"])
def test_a_listening_address_this_host_does_not_have_names_its_setting_and_exits_2(
        args: tuple[str, ...], host_variable: str, process: str, test_env: TestEnvironment, redis: Redis) -> None:
    """LAPOR_HTTP_HOST (or LAPOR_SMTP_HOST) set to an address none of this host's interfaces has (another host's, a
    typo, a proxy's address copied over) ended the process on an OSError traceback, its address redacted as a phone
    number and no setting named: one `process.address_unavailable` line names the setting, and it exits 2, as for a
    port in use. 192.0.2.1 is TEST-NET-1 (RFC 5737), nobody's address; binding to it sends nothing."""
    result = run_cli(list(args), test_env.process_env(**{host_variable: "192.0.2.1"}))

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    [refused] = [event for event in events if event["event"] == "process.address_unavailable"]
    assert (refused["process"], refused["setting"]) == (process, host_variable)
    assert f"set {host_variable}" in refused["detail"]
    assert [event for event in events if event["event"].endswith(".listening")] == []


# A port below the first a user may listen on without privileges; as root, the process runs without the capability.
PRIVILEGED_PORT = 81
UNPRIVILEGED_PORT_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")


@pytest.mark.skipif(UNPRIVILEGED_PORT_START.exists() and int(UNPRIVILEGED_PORT_START.read_text()) <= PRIVILEGED_PORT,
                    reason="this host lets any user listen on every port")
@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None,
                    reason="as root, needs setpriv (util-linux) to run the process without the privilege")
@pytest.mark.parametrize(("args", "port_variable", "process"), [
    (("serve",), "LAPOR_HTTP_PORT", "gateway"),
    (("smtp",), "LAPOR_SMTP_PORT", "smtp"),
], ids=["gateway", "smtp server"])
def test_a_port_this_user_may_not_listen_on_names_its_setting_and_exits_2(
        args: tuple[str, ...], port_variable: str, process: str, test_env: TestEnvironment, redis: Redis) -> None:
    """LAPOR_SMTP_PORT=25 (or LAPOR_HTTP_PORT=80) for a gateway user without the privilege ended the process on a
    PermissionError traceback naming no setting: one `process.port_not_permitted` line names it, and it exits 2."""
    without_privilege = ["setpriv", "--bounding-set", "-net_bind_service"] if os.geteuid() == 0 else []
    result = subprocess.run([*without_privilege, str(VENV_BIN / "lapor-gateway"), *args],
                            env=test_env.process_env(**{port_variable: str(PRIVILEGED_PORT)}),
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    [refused] = [event for event in events if event["event"] == "process.port_not_permitted"]
    assert (refused["process"], refused["port"], refused["setting"]) == (process, PRIVILEGED_PORT, port_variable)
    assert f"set {port_variable} to 1024 or above" in refused["detail"]


@pytest.mark.parametrize("args", [("serve",), ("worker", "--queues", "lapor-status"), ("deadletters", "list")],
                         ids=["gateway", "worker", "operator-command"])
def test_a_redis_url_with_an_unencoded_password_stops_the_command_at_start_without_showing_it(
        args: tuple[str, ...], test_env: TestEnvironment) -> None:
    """A generated password ("/" and "+") put into REDIS_URL as it is: redis-py read its first part as the port, and
    every process ended on a traceback (exit 1) quoting that part into the log. It is a configuration error now,
    said before anything starts, naming REDIS_URL and nothing of its value."""
    result = run_cli(list(args), test_env.process_env(REDIS_URL="redis://:Xk9qTz4/a+b@127.0.0.1:6379/0"))

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    assert "configuration error" in result.stdout and "REDIS_URL" in result.stdout, result.stdout
    assert "Xk9qTz4" not in result.stdout + result.stderr


@dataclass(frozen=True)
class CannotStart:
    id: str
    env: tuple[tuple[str, str], ...]  # over the test's environment; REDIS_URL "" takes it out
    error: str
    reason: str  # how the reason starts ({tmp}: the test's directory)


CANNOT_START = [
    CannotStart("a configuration error", (("LAPOR_HTTP_PORT", "eighty"),), "configuration_error",
                "configuration error: invalid settings: http.port (LAPOR_HTTP_PORT): Input should be a valid integer"),
    CannotStart("no REDIS_URL and no make run", (("REDIS_URL", ""), ("LAPOR_DATA_DIR", "{tmp}/data")), "no_redis_url",
                "REDIS_URL is not set and no `make run` runs on the data dir {tmp}/data (none wrote "
                "{tmp}/data/redis/url): start `make run`"),
]


@pytest.mark.parametrize("row", CANNOT_START, ids=[row.id for row in CANNOT_START])
def test_status_json_that_cannot_start_answers_one_json_document_with_the_reason(
        row: CannotStart, test_env: TestEnvironment, tmp_path: Path) -> None:
    """`status --json` printed a configuration error, or REDIS_URL missing, as text on stdout: a script piping it to
    jq got a parse error in place of the reason. It is a document as for a check that failed (overall unknown,
    `error`, `reason`), with the same exit code, 2."""
    env = test_env.process_env(**{name: value.format(tmp=tmp_path) for name, value in row.env})
    if not env["REDIS_URL"]:
        env.pop("REDIS_URL")

    result = run_cli(["status", "--json"], env, cwd=tmp_path)

    assert result.returncode == 2 and no_traceback(result), result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert (document["overall"], document["error"]) == ("unknown", row.error), document
    assert document["reason"].startswith(row.reason.format(tmp=tmp_path)), document
    assert document["generated_at"].endswith("Z")


# A downstream's answer quoted in a dead letter's detail, or a parser's error quoting a mail's header in a
# quarantined mail's: an escape sequence that clears the screen and retitles the terminal, a direction override.
HOSTILE = "400 Bad Request: \x1b[2J\x1b]0;owned\x07 \u202elanggar\u202c [/bold] end"
HOSTILE_SHOWN = r"400 Bad Request: \x1b[2J\x1b]0;owned\x07 \u202elanggar\u202c [/bold] end"


def test_control_characters_quoted_in_a_detail_reach_the_terminal_as_their_codes(
        test_env: TestEnvironment, redis: Redis) -> None:
    """`deadletters list`, `show` and `email quarantine list` escaped markup only: the escape sequences and the
    direction override of an answer quoted in a detail went to the operator's terminal as they were."""
    DeadLetters(redis).add_new(queue="lapor-reply", func="workers.reply.send_reply", args=[], tracking_id="10000012",
                               item="r-1", reason="aggregator_400", detail=HOSTILE, channel="sms-aggregator")
    Quarantine(test_env.settings().data_dir).add(b"From: x\r\n\r\nhi", "unreadable_mime", HOSTILE, None, [RECIPIENT])

    listed = cli(test_env, "deadletters", "list")
    shown = cli(test_env, "deadletters", "show", "10000012")
    quarantined = cli(test_env, "email", "quarantine", "list")

    for result in (listed, shown, quarantined):
        assert result.returncode == 0 and no_traceback(result), result.stdout + result.stderr
        assert not {"\x1b", "\x07", "\u202e", "\u202c"} & set(result.stdout), result.stdout
    assert f"detail: {HOSTILE_SHOWN}\n" in shown.stdout
    assert HOSTILE_SHOWN[:60] in listed.stdout and HOSTILE_SHOWN[:60] in quarantined.stdout


def _readable_mail_quarantined_beside_another(
        test_env: TestEnvironment) -> tuple[Quarantine, QuarantinedMail, QuarantinedMail]:
    """The quarantine holding READABLE_MAIL (the entry a test damages) and a mail that stays quarantined (the other
    one, which the damaged entry must not stop)."""
    quarantine = Quarantine(test_env.settings().data_dir)
    other = quarantine.add(b"no headers at all", "no_headers", "no headers", None, [RECIPIENT])
    entry = quarantine.add(READABLE_MAIL, "parse_error", "before the fix", "budi.santoso@example.net", [RECIPIENT])
    return quarantine, entry, other


def _listed_reasons(listed: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """`email quarantine list`'s table as each key's reason."""
    return {row.split("│")[1].strip(): row.split("│")[2].strip()
            for row in listed.stdout.splitlines() if row.startswith("│")}


# A quarantined mail's `.json` as a full disk, a partial restore or a hand edit leaves it.
DAMAGED_QUARANTINE_ENTRIES = {
    "cut short": b'{"key": "',
    "not utf-8": b"\xff\xfe",
    "a list": b"[1, 2]",
    "fields missing": b'{"reason": "parse_error"}',
    "a field of another type": b'{"key": "%s", "reason": "parse_error", "detail": "", "quarantined_at": "today", '
                               b'"envelope_sender": null, "recipients": [], "size": 10}',
}


@pytest.mark.parametrize("damaged", list(DAMAGED_QUARANTINE_ENTRIES.values()), ids=list(DAMAGED_QUARANTINE_ENTRIES))
def test_a_quarantined_mail_whose_json_is_damaged_is_listed_and_reprocessed_and_does_not_stop_the_others(
        damaged: bytes, test_env: TestEnvironment, redis: Redis) -> None:
    """One such `.json` ended `email quarantine list` and `reprocess`, of any mail, on a traceback: no quarantined
    mail could be seen or reprocessed. Its mail (the `.eml`) is intact: it is listed as `unreadable` under its key,
    and reprocessed without its envelope's sender and recipients."""
    quarantine, entry, other = _readable_mail_quarantined_beside_another(test_env)
    (quarantine.directory / f"{entry.key}.json").write_bytes(damaged.replace(b"%s", entry.key.encode()))

    listed = cli(test_env, "email", "quarantine", "list")
    reprocessed = cli(test_env, "email", "quarantine", "reprocess", entry.key[:16])

    assert listed.returncode == 0 and no_traceback(listed), listed.stdout + listed.stderr
    assert _listed_reasons(listed) == {other.key[:16]: "no_headers", entry.key[:16]: "unreadable"}, listed.stdout
    assert reprocessed.returncode == 0 and no_traceback(reprocessed), reprocessed.stdout + reprocessed.stderr
    assert f"{entry.key[:16]}: accepted " in reprocessed.stdout
    assert [kept.key for kept in quarantine.list()] == [other.key]


@dataclass(frozen=True)
class UnreadableJson:
    id: str
    make: Callable[[Path], object]  # puts it where the `.json` was
    left: str  # what reprocessing, which accepts the mail, says it could not delete ("": nothing)


# A quarantined mail's `.json` that is there but cannot be read, as another user's file is to an operator (the tests
# run as root, whom no file mode stops): OSErrors other than "gone".
UNREADABLE_QUARANTINE_JSON = [
    UnreadableJson("a directory", lambda path: path.mkdir(), left="Is a directory"),
    UnreadableJson("a symbolic link to itself", lambda path: path.symlink_to(path.name), left=""),
]


@pytest.mark.parametrize("row", UNREADABLE_QUARANTINE_JSON, ids=[row.id for row in UNREADABLE_QUARANTINE_JSON])
def test_a_quarantined_mail_whose_json_cannot_be_read_is_listed_and_reprocessed_as_a_damaged_one(
        row: UnreadableJson, test_env: TestEnvironment, redis: Redis) -> None:
    """A `.json` the command could not read ended `email quarantine list` and `reprocess`, of any mail, on an
    OSError traceback, where a damaged one is listed as `unreadable` and its mail reprocessed from the `.eml`. A mail
    released whose files cannot be deleted is said so, with the path to delete, and the command exits 1."""
    quarantine, entry, other = _readable_mail_quarantined_beside_another(test_env)
    meta = quarantine.directory / f"{entry.key}.json"
    meta.unlink()
    row.make(meta)

    listed = cli(test_env, "email", "quarantine", "list")
    reprocessed = cli(test_env, "email", "quarantine", "reprocess", entry.key[:16])

    assert listed.returncode == 0 and no_traceback(listed), listed.stdout + listed.stderr
    assert _listed_reasons(listed) == {other.key[:16]: "no_headers", entry.key[:16]: "unreadable"}, listed.stdout
    assert no_traceback(reprocessed), reprocessed.stdout + reprocessed.stderr
    assert f"{entry.key[:16]}: accepted " in reprocessed.stdout, reprocessed.stdout
    if row.left:
        assert reprocessed.returncode == 1, reprocessed.stdout + reprocessed.stderr
        assert (f"{entry.key[:16]}: released, but its files are still in the quarantine ({row.left}): delete "
                f"{quarantine.directory / entry.key}.eml and .json\n") in reprocessed.stdout, reprocessed.stdout
    else:
        assert reprocessed.returncode == 0, reprocessed.stdout + reprocessed.stderr
        assert [kept.key for kept in quarantine.list()] == [other.key]


def test_show_of_a_tracking_id_shows_every_letter_that_requeue_and_purge_would_take(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A report whose forward and whose reply both failed has two letters under its Tracking ID. `show <id>` printed
    the oldest alone, while `purge <id> --yes` purged both: an operator who looked at the reply's refusal and purged
    it dropped the report's forward too, never to reach the case store."""
    registry = DeadLetters(redis)
    reply = registry.add_new(queue="lapor-reply", func="workers.reply.send_reply", args=[], tracking_id="10000012",
                             item="r-1", reason="aggregator_400", detail="refused", channel="sms-aggregator")
    forward = registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                               item="10000012", reason="casestore_422", detail="refused", channel="sms-aggregator")

    by_id = cli(test_env, "deadletters", "show", "10000012")
    by_key = cli(test_env, "deadletters", "show", reply.key)

    assert by_id.returncode == 0 and no_traceback(by_id), by_id.stdout + by_id.stderr
    assert by_id.stdout.startswith("2 dead letters for 10000012: `requeue` and `purge` take them all (a key names "
                                   "one)\n"), by_id.stdout
    assert [line for line in by_id.stdout.splitlines() if line.startswith("key: ")] == [
        f"key: {reply.key}", f"key: {forward.key}"]
    assert by_key.returncode == 0 and by_key.stdout.startswith(f"key: {reply.key}\n"), by_key.stdout
    assert f"key: {forward.key}" not in by_key.stdout


@pytest.mark.parametrize("typed", ["#10000012", "1000-0012", " 10000012", "10.000.012"])
def test_a_tracking_id_written_as_people_write_it_names_its_dead_letters(
        typed: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`deadletters show '#10000012'` (the acknowledgement's form, as `attachments list` takes it) said "no dead letter
    for #10000012", which read as a report gone through; `purge` and `requeue` took nothing, exit 1."""
    registry = DeadLetters(redis)
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                     item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")

    shown = cli(test_env, "deadletters", "show", typed)
    purged = cli(test_env, "deadletters", "purge", typed, "--yes")

    assert shown.returncode == 0 and "tracking_id: 10000012" in shown.stdout, shown.stdout + shown.stderr
    assert purged.returncode == 0 and "purged 1 dead letter(s)" in purged.stdout, purged.stdout + purged.stderr
    assert "no dead letter" not in purged.stdout and registry.count() == 0


@pytest.mark.parametrize("args", [("show", ""), ("show", "  "), ("purge", "", "--yes"), ("requeue", "10000012", "")],
                         ids=["show", "show-blank", "purge", "requeue"])
def test_an_empty_tracking_id_or_key_is_refused_and_nothing_is_done(
        args: tuple[str, ...], test_env: TestEnvironment, redis: Redis) -> None:
    """`show ""` printed "no dead letter for " with nothing after it; and "" matched every letter without a Tracking
    ID (a reply's of none, an unreadable entry's), which `purge "" --yes` dropped."""
    registry = DeadLetters(redis)
    registry.add_new(queue="lapor-reply", func="workers.reply.send_reply", args=[], tracking_id="", item="r-9",
                     reason="aggregator_400", detail="refused", channel="sms-aggregator")

    result = cli(test_env, "deadletters", *args)

    assert result.returncode == 2 and no_traceback(result), result.stdout + result.stderr
    assert result.stdout.startswith("an empty Tracking ID or key names no dead letter: give a Tracking ID or a key "
                                    "as `deadletters list` shows it; nothing was done"), result.stdout
    assert registry.count() == 1


RULES_FILES = {
    "missing": (None, "cannot be read: No such file or directory"),
    "syntax error": ("channels = [\n", "is not valid TOML: "),
    "not UTF-8": ('channels = ["x"]\n# Kecamatan Cibiru \xe9\n'.encode("latin-1"), "is not UTF-8 text (at byte 36)"),
    "no channels": ("[defaults]\n", "names no channels"),
    "misspelt rule": ('channels = ["x"]\n[channel.x]\npoll_failing_degraded_secs = 1\n',
                      "[channel.x] poll_failing_degraded_secs: Extra inputs are not permitted"),
    "defaults no table": ('channels = ["x"]\ndefaults = 5\n', "[defaults] must be a table"),
}


@pytest.mark.parametrize("args", [("status",), ("status", "--json"), ("serve",)], ids=["status", "json", "serve"])
@pytest.mark.parametrize("broken", list(RULES_FILES))
def test_a_health_rules_file_that_cannot_be_read_is_a_configuration_error_naming_it(
        broken: str, args: tuple[str, ...], test_env: TestEnvironment, tmp_path: Path) -> None:
    """LAPOR_HEALTH_RULES_FILE naming no file, or a rules file with a syntax error or a misspelt rule, ended `status`
    (exit 1, no state it knows) and `serve` on an uncaught exception naming neither the file nor the setting."""
    text, said = RULES_FILES[broken]
    rules = tmp_path / "rules.toml"
    if isinstance(text, bytes):
        rules.write_bytes(text)
    elif text is not None:
        rules.write_text(text, encoding="utf-8")

    result = cli(test_env, *args, LAPOR_HEALTH_RULES_FILE=str(rules))

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    reason = json.loads(result.stdout)["reason"] if "--json" in args else result.stdout.splitlines()[-1]
    assert reason.startswith(f"configuration error: the health rules file {rules} (health.rules_file, "
                             "LAPOR_HEALTH_RULES_FILE)"), reason
    assert said in reason, reason


@pytest.mark.parametrize("command", ["casestore", "fake-providers"])
@pytest.mark.parametrize(("port", "said"), [("70000", "less than or equal to 65535"),
                                            ("0", "greater than or equal to 1"), ("-1", "greater than or equal to 1")])
def test_a_port_option_outside_1_to_65535_is_refused_before_anything_listens(
        command: str, port: str, said: str, test_env: TestEnvironment) -> None:
    """`casestore --port 70000` listened on 4464 (70000 modulo 65536) while its log line said 70000, and
    `fake-providers --port 70000` ended on an OverflowError; `--port 0` took the setting's port without a word, and
    `--port -1` ended on a gaierror: each is refused as the settings refuse such a port."""
    result = run_cli([command, "--port", port], test_env.process_env(COLUMNS="200", LAPOR_PROFILE="development"),
                     timeout=20)

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    assert "Invalid value for '--port'" in result.stderr and said in result.stderr, result.stderr
    assert ".listening" not in result.stdout and "port_in_use" not in result.stdout, result.stdout


@pytest.mark.parametrize(("host_variable", "process"), [("LAPOR_HTTP_HOST", "gateway"), ("LAPOR_SMTP_HOST", "smtp")])
def test_a_listening_host_name_that_resolves_to_no_address_names_its_setting_and_exits_2(
        host_variable: str, process: str, log_stream: io.StringIO) -> None:
    """LAPOR_HTTP_HOST (or LAPOR_SMTP_HOST) set to a name that resolves to nothing (a typo, `http://...` where a host
    goes) ended the process on a gaierror traceback naming no setting. As the lookup would ask a name server, the
    error the bind raised is handed to what `serve` and `smtp` hand it to."""
    import typer

    from gateway.cli import _cannot_listen

    with pytest.raises(typer.Exit) as stopped:
        _cannot_listen(socket.gaierror(socket.EAI_NONAME, "Name or service not known"), process,
                       "lapor.internal.example", 8080, "LAPOR_HTTP_PORT", host_setting=host_variable)

    assert stopped.value.exit_code == 2
    [refused] = [event for event in log_events(log_stream) if event["event"] == "process.address_unavailable"]
    assert (refused["process"], refused["setting"]) == (process, host_variable)
    assert refused["detail"] == (f"the host name {host_variable} names resolves to no address (Name or service not "
                                 f"known): set {host_variable} to one of its own addresses, or 0.0.0.0 for all of them")


@pytest.mark.parametrize(("cert", "key", "said"), [
    ("{tmp}/gone.pem", "{tmp}/junk.pem", "email.tls_cert (LAPOR_EMAIL_TLS_CERT): {tmp}/gone.pem is no file"),
    ("{tmp}/junk.pem", "{tmp}", "email.tls_key (LAPOR_EMAIL_TLS_KEY): {tmp} is no file"),
    ("{tmp}/junk.pem", "{tmp}/junk.pem",
     "email.tls_cert and email.tls_key (LAPOR_EMAIL_TLS_CERT, LAPOR_EMAIL_TLS_KEY): cannot be loaded as a PEM "
     "certificate and its private key"),
], ids=["certificate-missing", "key-a-directory", "no-pem"])
def test_an_smtp_certificate_that_cannot_be_loaded_is_a_configuration_error_naming_it(
        cert: str, key: str, said: str, test_env: TestEnvironment, tmp_path: Path) -> None:
    """LAPOR_EMAIL_TLS_CERT or _KEY mistyped, or naming a file that is no PEM, ended the SMTP server on a
    FileNotFoundError (naming no file) or an SSLError ("PEM lib") traceback."""
    (tmp_path / "junk.pem").write_text("not a certificate\n", encoding="utf-8")
    result = cli(test_env, "smtp", LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_TLS_CERT=cert.format(tmp=tmp_path),
                 LAPOR_EMAIL_TLS_KEY=key.format(tmp=tmp_path))

    assert result.returncode == 2, result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("configuration error: " + said.format(tmp=tmp_path)), result.stdout
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [event["event"] for event in events if event["level"] == "error"] == ["smtp.refused_to_start"]
    assert [event for event in events if event["event"].endswith(".listening")] == []


@pytest.mark.parametrize("args", [("deadletters", "list"), ("unfiled", "list"), ("status",)])
def test_a_redis_database_number_beyond_the_servers_is_said_as_a_url_to_mend(
        args: tuple[str, ...], test_env: TestEnvironment, redis_url: str) -> None:
    """REDIS_URL naming database 99999 of a Redis with 16 was said as a Redis "full at its maxmemory, a read-only
    replica, or unable to write its disk", to be waited out: it is a database number to mend."""
    beyond = redis_url.rsplit("/", 1)[0] + "/99999"
    result = cli(test_env, *args, REDIS_URL=beyond)

    assert result.returncode == (2 if args == ("status",) else 1), result.stdout + result.stderr
    assert no_traceback(result), result.stdout + result.stderr
    assert ("Redis has no such database (ResponseError: DB index is out of range): the database number in REDIS_URL "
            "is beyond the server's `databases` (16 unless set)") in result.stdout, result.stdout
    assert "maxmemory" not in result.stdout
    if args != ("status",):
        assert result.stdout.rstrip().endswith("run it again once REDIS_URL names the gateway's database")


@pytest.mark.parametrize("args", [("deadletters", "list"), ("status",)])
def test_a_password_redis_refuses_is_said_as_the_credentials_to_mend(
        args: tuple[str, ...], test_env: TestEnvironment, redis_url: str) -> None:
    """A password in REDIS_URL that Redis refuses was said "Redis unreachable (AuthenticationError): ... is it
    running": the operator found it running, and the password never came up. Never the password itself."""
    wrong = redis_url.replace("redis://", "redis://lapor:not-the-password@", 1)
    result = cli(test_env, *args, REDIS_URL=wrong)

    assert result.returncode == (2 if args == ("status",) else 1), result.stdout + result.stderr
    assert no_traceback(result) and "not-the-password" not in result.stdout + result.stderr, result.stdout
    assert "Redis refuses the credentials (AuthenticationError): the password (or user) in REDIS_URL" in result.stdout
    assert "unreachable" not in result.stdout and "is it running" not in result.stdout, result.stdout
    if args != ("status",):
        assert result.stdout.rstrip().endswith("run it again once REDIS_URL carries the password it asks for")


@dataclass(frozen=True)
class Denied:
    """A command run as a Redis user whose ACL denies it a command it runs, and how it ends."""

    id: str
    args: tuple[str, ...]
    command: str  # the one denied: the first the command runs that it does not run elsewhere
    exit: int


DENIED = [
    Denied("an operator's command", ("deadletters", "list"), "hlen", 1),
    Denied("the status", ("status",), "exists", 2),
]


@pytest.mark.parametrize("denied", DENIED, ids=[denied.id for denied in DENIED])
def test_a_command_the_redis_users_acl_denies_is_said_as_the_acl_to_mend(
        denied: Denied, test_env: TestEnvironment, tmp_path: Path) -> None:
    """An ACL user without a command the gateway runs (NOPERM) was said "full at its maxmemory, a read-only replica,
    or unable to write its disk", and the operator looked at memory, replicas and disks: said as the user's ACL, with
    the command Redis names."""
    from gateway.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
    try:
        Redis.from_url(server.url).execute_command("ACL", "SETUSER", "lapor", "on", ">lapor-password", "~*", "&*",
                                                   "+@all", f"-{denied.command}")
        result = cli(test_env, *denied.args, REDIS_URL=f"redis://lapor:lapor-password@127.0.0.1:{server.port}/0")
    finally:
        server.stop()

    said = " ".join(result.stdout.split())
    assert result.returncode == denied.exit and no_traceback(result), result.stdout + result.stderr
    assert (f"The Redis user in REDIS_URL lacks permission for the command {denied.command.upper()} the gateway needs "
            f"(NoPermissionError: this user has no permissions to run the '{denied.command}' command") in said, said
    assert (f"allow it in that user's ACL (ACL SETUSER <user> +{denied.command}, then ACL SAVE where Redis has an "
            "aclfile, or CONFIG REWRITE where its users are in redis.conf) or give REDIS_URL a user that has "
            "it") in said, said
    assert "maxmemory" not in said and "lapor-password" not in result.stdout + result.stderr, said
    if denied.exit == 1:
        assert said.endswith("run it again once the user in REDIS_URL may run the commands the gateway needs"), said


@pytest.mark.parametrize("answer", [None, "n\n"], ids=["no terminal to ask (cron)", "answered no"])
def test_a_purge_not_confirmed_says_nothing_was_purged(
        answer: str | None, test_env: TestEnvironment, redis: Redis) -> None:
    """Without --yes a purge asks; answered no it ended on its question with nothing said, and with no answer to read
    (cron, a closed stdin) on a bare "Aborted." on stderr."""
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                               item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    args = ["deadletters", "purge", "--all"]
    if answer is None:
        result = cli(test_env, *args)  # its stdin is /dev/null
    else:
        result = subprocess.run([str(VENV_BIN / "lapor-gateway"), *args], input=answer, capture_output=True,
                                text=True, timeout=60, env=test_env.process_env(COLUMNS="200"))

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("purge 1 dead letter(s)? 1 report(s) will never reach the case store [y/N]: ")
    assert result.stdout.endswith("purge not confirmed: nothing was purged (--yes to purge without asking)\n")
    assert result.stderr == "" and no_traceback(result)
    assert DeadLetters(redis).count() == 1


def test_a_purges_question_says_what_each_queues_letters_lose(test_env: TestEnvironment, redis: Redis) -> None:
    """A reply's letter loses its citizen's answer, not the report (the case store has it): the question said "their
    reports will not be delivered" of every letter."""
    letters = DeadLetters(redis)
    letters.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                    item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    for tracking_id in ("10000020", "10000036"):
        letters.add_new(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"reply_id": tracking_id}],
                        tracking_id=tracking_id, item=tracking_id, reason="aggregator_unreachable", detail="down",
                        channel="sms-aggregator")
    result = cli(test_env, "deadletters", "purge", "--all")  # its stdin is /dev/null: nothing purged

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("purge 3 dead letter(s)? 1 report(s) will never reach the case store, "
                                    "2 reply(ies) will never be sent [y/N]: "), result.stdout
    assert letters.count() == 3


@pytest.mark.parametrize(("reason", "detail", "shown"), [
    ("parse_error", "ValueError: cannot read the date 'Senin pagi, pungli di loket 3 oleh Pak Budi'",
     "ValueError (its message: the entry's .json)"),
    ("processing_error", "KeyError: 'Jalan Merdeka rusak parah sejak Januari'",
     "KeyError (its message: the entry's .json)"),
    ("parse_error", "not an exception's words: Pak Budi", "? (its message: the entry's .json)"),
    ("too_many_parts", "412 MIME parts, over the limit of 100", "412 MIME parts, over the limit of 100"),
], ids=["parse_error", "processing_error", "no type", "a refusal of the gateway's own words"])
def test_quarantine_list_shows_a_failures_type_not_its_message_quoting_the_mail(
        reason: str, detail: str, shown: str, test_env: TestEnvironment) -> None:
    """The status views give a mail the gateway failed to read by its error's type alone, its message may quote the
    mail; `email quarantine list` showed the message's first 60 characters, a subject's or a body's words with it."""
    Quarantine(test_env.settings().data_dir).add(b"From: x\r\n\r\nhi", reason, detail, None, [RECIPIENT])

    listed = cli(test_env, "email", "quarantine", "list")

    assert listed.returncode == 0, listed.stdout + listed.stderr
    row = next(line for line in listed.stdout.splitlines() if reason in line)
    assert row.split("│")[5].strip() == shown, listed.stdout
    assert "Budi" not in listed.stdout and "Merdeka" not in listed.stdout


# A case store's or an aggregator's answer quoted whole (an HTML error page, a body echoing a long report), or a
# hand-edited entry: one long run of letters, with no space for the terminal to break it at.
HUGE = 200_000


@pytest.mark.parametrize("field", ["detail", "reason", "tracking_id"])
def test_a_dead_letter_with_a_huge_value_is_listed_and_shown_at_once(
        field: str, test_env: TestEnvironment, redis: Redis) -> None:
    """rich's highlighter guessed at numbers and URLs in every line printed, in a time that grows with the square of
    a run of letters: `deadletters show` of a 2 MB detail ran for hours at full CPU, one of 200,000 characters for
    minutes."""
    letter = DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]],
                                        tracking_id="10000012", item="10000012", reason="casestore_422",
                                        detail="refused", channel="sms-twilio")
    stored = json.loads(redis.hget(ENTRIES_KEY, letter.key))
    redis.hset(ENTRIES_KEY, letter.key, json.dumps({**stored, field: "A" * HUGE}))
    env = test_env.process_env(COLUMNS="200")

    listing = run_cli(["deadletters", "list"], env, timeout=20)
    show = run_cli(["deadletters", "show", letter.key], env, timeout=20)

    for result in (listing, show):
        assert result.returncode == 0 and no_traceback(result), result.stdout + result.stderr
    assert "A" * 50 in listing.stdout and f"{field}: {'A' * HUGE}" in show.stdout


def test_deadletters_list_shows_each_letters_key_to_name_it_by(test_env: TestEnvironment, redis: Redis) -> None:
    """An unreadable entry has no Tracking ID: `requeue` said to purge it by its key, and `show ""` to give a key "as
    `deadletters list` shows it", but the list showed no key, so only one who had read Redis by hand could. A report's
    forward and reply share a Tracking ID: their keys tell them apart."""
    registry = DeadLetters(redis)
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                     item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    registry.add_new(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"reply_id": "r-7"}],
                     tracking_id="10000012", item="r-7", reason="aggregator_401", detail="refused",
                     channel="sms-aggregator")
    damaged = "lapor-reply:r-9"
    redis.hset(ENTRIES_KEY, damaged, b"\xff not json")
    redis.zadd(INDEX_KEY, {damaged: 1_796_176_800})

    listing = cli(test_env, "deadletters", "list")
    # A row's cells folded onto more lines leave its key's cell blank below it (between 17:00 and 24:00 UTC the time
    # in WIB is of the next day, "(00:07 WIB, Dec 6)", and the detail folds).
    keys = [key for row in listing.stdout.splitlines() if row.startswith("│") and (key := row.split("│")[1].strip())]
    purge = cli(test_env, "deadletters", "purge", keys[0], "--yes")

    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert keys == [damaged, f"{FORWARD_QUEUE}:10000012", f"{REPLY_QUEUE}:r-7"], listing.stdout
    assert purge.returncode == 0 and "purged 1 dead letter(s)" in purge.stdout, purge.stdout + purge.stderr
    assert not redis.hexists(ENTRIES_KEY, damaged) and registry.count() == 2


@pytest.mark.usefixtures("deployed")
def test_a_terminal_width_of_nought_still_says_what_a_command_did(test_env: TestEnvironment, redis: Redis) -> None:
    """`COLUMNS=0` made rich print nothing: the list was empty, a requeue ran with no word of it (exit 0), and a
    configuration error had no line (exit 2)."""
    DeadLetters(redis).add_new(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"reply_id": "r-7"}],
                               tracking_id="10000012", item="r-7", reason="aggregator_timeout", detail="timed out",
                               channel="sms-aggregator")

    listing = cli(test_env, "deadletters", "list", COLUMNS="0")
    requeued = cli(test_env, "deadletters", "requeue", "10000012", COLUMNS="0")
    refused = cli(test_env, "deadletters", "list", COLUMNS="0", LAPOR_OPERATOR_TIMEZONE="Asia/Jakrta")

    assert listing.returncode == 0 and f"{REPLY_QUEUE}:r-7" in listing.stdout, listing.stdout + listing.stderr
    assert requeued.returncode == 0 and "requeued 1" in requeued.stdout, requeued.stdout + requeued.stderr
    assert refused.returncode == 2 and "configuration error" in refused.stdout + refused.stderr, refused.stdout
    for typers_own in (("nosuchcommand",), ("deadletters", "list", "--limit", "0"), ("deadletters", "--help")):
        said = cli(test_env, *typers_own, COLUMNS="0")
        assert (said.stdout + said.stderr).strip(), typers_own  # typer's usage, error and help too
    superscript = cli(test_env, "deadletters", "list", COLUMNS="²")  # digits to rich, no number to int: a ValueError
    assert superscript.returncode == 0 and no_traceback(superscript), superscript.stdout + superscript.stderr


def test_deadletters_list_folds_its_cells_on_a_narrow_terminal(test_env: TestEnvironment, redis: Redis) -> None:
    """At 120 columns or fewer the key, channel and reason were cut with an ellipsis (`lapor-forwar…`,
    `casestore_4…`): the reason `--reason` filters on and the key an unreadable entry is named by could not be read.
    Whole: on a terminal narrower than the table, each letter is its key on a line of its own over its other cells."""
    DeadLetters(redis).add_new(queue=REPLY_QUEUE, func="workers.reply.send_reply", args=[{"reply_id": "r-7"}],
                               tracking_id="10000012", item="r-7", reason="aggregator_timeout", detail="timed out",
                               channel="sms-aggregator")

    listing = run_cli(["deadletters", "list"], test_env.process_env(COLUMNS="80"))

    assert listing.returncode == 0 and "…" not in listing.stdout, listing.stdout + listing.stderr
    lines = listing.stdout.splitlines()
    cells = lines[lines.index(f"{REPLY_QUEUE}:r-7") + 1:]
    assert any("channel sms-aggregator" in line for line in cells), listing.stdout
    assert any("reason aggregator_timeout" in line for line in cells), listing.stdout


@pytest.mark.parametrize("command", ["unfiled", "email quarantine"])
def test_the_lists_of_what_an_operator_files_again_fold_their_keys_on_a_narrow_terminal(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """At 80 columns `unfiled list` cut its keys with an ellipsis (`sms-aggrega…`), and `email quarantine list` its
    reasons: the key `unfiled retry <key>` takes could not be read, nor copied. Folded, whole, and the key as listed
    files the message."""
    if command == "unfiled":
        from gateway.unfiled import shown_key

        key = shown_key(test_env.settings(), _two_unfiled_sms(redis)[0])
        reason = "ValueError"
    else:
        key = Quarantine(test_env.settings().data_dir).add(
            READABLE_MAIL, "missing_recipient_header", "before the fix", "budi.santoso@example.net",
            [RECIPIENT]).key[:16]
        reason = "missing_recipient_header"

    listing = run_cli([*command.split(), "list"], test_env.process_env(COLUMNS="80"))
    lines = listing.stdout.splitlines()

    assert listing.returncode == 0 and "…" not in listing.stdout, listing.stdout + listing.stderr
    if command == "unfiled":
        assert any(f"key {key}" in line for line in lines), listing.stdout
        assert any(f"error {reason}" in line for line in lines), listing.stdout
    else:
        assert key in lines and any(f"reason {reason}" in line for line in lines), listing.stdout
    if command == "unfiled":
        retried = cli(test_env, "unfiled", "retry", key)
        assert retried.returncode == 0 and f"{key}: filed as" in retried.stdout, retried.stdout + retried.stderr


@pytest.mark.parametrize("selection", [("--all", "--reason", "unreadable"), ("lapor-reply:\udcff\udcfe-1",)],
                         ids=["all unreadable", "its key as typed"])
def test_a_dead_letter_whose_key_is_not_utf8_is_listed_with_its_time_and_purged(
        selection: tuple[str, ...], test_env: TestEnvironment, redis: Redis) -> None:
    """Its key was read with the bytes replaced, which named no entry: it was listed as failed in 1970, and every
    purge of it said `skipped 1 dead letter(s) that changed since they were listed` (exit 1) while it stayed, counted
    among the letters waiting for good. Typed in a shell (`$'lapor-reply:\\xff\\xfe-1'`), its key names it."""
    registry = DeadLetters(redis)
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                     item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    damaged = b"lapor-reply:\xff\xfe-1"
    redis.hset(ENTRIES_KEY, damaged, b"{}")
    redis.zadd(INDEX_KEY, {damaged: 1_796_176_800})  # 2026-12-02 02:00:00Z

    listing = cli(test_env, "deadletters", "list")
    purge = cli(test_env, "deadletters", "purge", *selection, "--yes")

    assert listing.returncode == 0 and no_traceback(listing), listing.stdout + listing.stderr
    row = next(line for line in listing.stdout.splitlines() if "unreadable" in line)
    assert "lapor-reply:\\udcff\\udcfe-1" in row and "2026-12-02 02:00:00Z" in row, row
    assert purge.returncode == 0 and no_traceback(purge), purge.stdout + purge.stderr
    assert "purged 1 dead letter(s)" in purge.stdout
    assert not redis.hexists(ENTRIES_KEY, damaged) and redis.zscore(INDEX_KEY, damaged) is None
    assert registry.count() == 1


def _two_unfiled_sms(redis: Redis) -> list[str]:
    """Two SMS kept unfiled (a bug they met), as the webhook keeps them; their keys as Redis holds them (`unfiled
    list` shows them as `gateway.unfiled.shown_key` names them; `unfiled retry` takes either)."""
    from gateway.unfiled import UnfiledMessages
    from normalizer.envelope import Channel, SenderKind, utc_now
    from normalizer.inbound import InboundMessage

    store = UnfiledMessages(redis)
    return [store.keep("sms-aggregator", InboundMessage(
        channel=Channel.SMS, source="sms-aggregator", provider_message_id=f"kept-{number}",
        sender_kind=SenderKind.MSISDN, sender_address=f"+62813777700{number:02d}", text="Jalan rusak di depan SD",
        received_at=utc_now()), ValueError("a bug"), 1_796_176_800.0).key for number in (1, 2)]


def test_the_quarantine_list_names_its_directory_as_it_is(test_env: TestEnvironment, tmp_path: Path) -> None:
    """The title was markup: under a data dir `lapor[prod]` it named `lapor/email/quarantine`, no such directory."""
    data_dir = tmp_path / "lapor[prod]"

    listing = cli(test_env, "email", "quarantine", "list", LAPOR_DATA_DIR=str(data_dir))

    assert listing.returncode == 0 and no_traceback(listing), listing.stdout + listing.stderr
    assert f"Quarantined mail (0) in {data_dir / 'email' / 'quarantine'}" in listing.stdout, listing.stdout


def test_unfiled_names_from_redis_or_typed_reach_the_terminal_as_text(test_env: TestEnvironment, redis: Redis) -> None:
    """A hash a hand edit named `lapor:unfiled:[/x]` ended `unfiled list` on a MarkupError traceback, so no unfiled
    message could be listed; an escape sequence in a key (or in a key typed) reached the terminal as it was."""
    from gateway.unfiled import SHOWN_KEY_PREFIX, UNFILED_KEY

    key = _two_unfiled_sms(redis)[0]
    raw = redis.hget(UNFILED_KEY.format(channel="sms-aggregator"), key)
    redis.hset(UNFILED_KEY.format(channel="[/x]"), "k\x1b[2J:1", raw)

    listing = cli(test_env, "unfiled", "list")
    retried = cli(test_env, "unfiled", "retry", "k\x1b[2J:1", "z\x1b]0;t\x07")

    assert listing.returncode == 0 and no_traceback(listing), listing.stdout + listing.stderr
    assert "[/x]" in listing.stdout and f"k\\x1b[2J:{SHOWN_KEY_PREFIX}" in listing.stdout
    assert "\x1b" not in listing.stdout, listing.stdout
    assert retried.returncode == 1 and no_traceback(retried), retried.stdout + retried.stderr
    assert f"k\\x1b[2J:{SHOWN_KEY_PREFIX}" in retried.stdout and ": filed as" in retried.stdout, retried.stdout
    assert "no unfiled message has the key z\\x1b]0;t\\x07" in retried.stdout and "\x1b" not in retried.stdout, \
        retried.stdout


def test_two_retries_of_one_unfiled_sms_at_once_queue_one_acknowledgement(
        test_env: TestEnvironment, redis: Redis) -> None:
    """Two `unfiled retry` of one SMS at once (two operators, a cron job beside one) each read it before the other
    released it: the report was filed once, and each queued an acknowledgement, so its citizen got two SMS. Here
    as the second reads it: the message filed by the first and not yet released."""
    from rq import Queue

    from gateway.cli import _file_sms
    from gateway.intake import build_intake
    from gateway.queues import JSONSerializer
    from gateway.unfiled import UnfiledMessages

    settings = test_env.settings()
    _two_unfiled_sms(redis)
    kept = UnfiledMessages(redis).list()[0][0]
    intake = build_intake(settings, redis)
    try:
        first, second = (_file_sms(redis, settings, intake, kept.message) for _ in range(2))
    finally:
        intake.close()

    (filed,) = {outcome.split()[2].rstrip(";") for outcome in (first, second)}
    assert first == f"filed as {filed}; its acknowledgement is queued for its citizen", first
    assert second == (f"filed as {filed} (already filed); its acknowledgement was queued already (by another retry "
                      "of it)"), second
    replies = Queue(REPLY_QUEUE, connection=redis, serializer=JSONSerializer).get_jobs()
    assert [(job.args[0]["kind"], job.args[0]["to_report"]) for job in replies] == [("ack", filed)]


@pytest.mark.parametrize("command", ["unfiled retry", "email quarantine reprocess"])
def test_keys_and_all_together_are_refused_by_every_command_that_files(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`unfiled retry <key> --all` filed every message kept unfiled, their citizens answered, and `email quarantine
    reprocess <key> --all` every quarantined mail, not the one named: refused as `deadletters requeue` and `purge`
    refuse it, nothing done."""
    from gateway.unfiled import UnfiledMessages

    if command == "unfiled retry":
        named = _two_unfiled_sms(redis)[0]
    else:
        quarantine = Quarantine(test_env.settings().data_dir)
        named = quarantine.add(READABLE_MAIL, "parse_error", "before the fix", "budi.santoso@example.net",
                               [RECIPIENT]).key
        quarantine.add(READABLE_MAIL.replace(b"a1@", b"a2@"), "parse_error", "before the fix",
                       "budi.santoso@example.net", [RECIPIENT])

    result = cli(test_env, *command.split(), named, "--all")

    assert result.returncode == 2 and no_traceback(result), result.stdout + result.stderr
    assert "or pass --all, not both: nothing was done" in result.stdout, result.stdout
    if command == "unfiled retry":
        assert len(UnfiledMessages(redis).list()[0]) == 2
    else:
        assert len(Quarantine(test_env.settings().data_dir).list()) == 2
    assert not redis.keys(envelope_key("*"))


@pytest.mark.parametrize(("forwarded_at", "said"), [
    ("yesterday", "forwarded (at a time that cannot be read)"),
    ("nan", "forwarded (at a time that cannot be read)"),
    ("1e13", "forwarded (at a time that cannot be read)"),
    ("0", "forwarded at 1970-01-01 00:00:00Z"),
    ("1796176800", "forwarded at 2026-12-02 02:00:00Z"),
], ids=["not a number", "not finite", "past the year 9999", "the epoch", "a time"])
def test_attachments_list_of_a_report_whose_forwarded_time_is_damaged_says_so(
        forwarded_at: str, said: str, test_env: TestEnvironment, redis: Redis) -> None:
    """A report's state whose `forwarded_at` is no number (a partial restore, a hand edit) ended `attachments list`
    on a ValueError traceback (exit 1): the views read such a value as absent, and so does the list."""
    from gateway.queues import REPORT_STATE_KEY
    from gateway.tracking import SEQUENCE_KEY

    redis.set(SEQUENCE_KEY, 10000100)
    redis.set(envelope_key("10000004"), json.dumps({
        "envelope_version": 1, "tracking_id": "10000004", "channel": "email", "source": "email-smtp",
        "anonymous": False, "sender": {"kind": "email", "id": "siti.rahma@example.co.id"}, "text": "Jalan rusak",
        "attachments": []}))
    redis.hset(REPORT_STATE_KEY.format(tracking_id="10000004"),
               mapping={"state": "forwarded", "forwarded_at": forwarded_at})

    result = cli(test_env, "attachments", "list", "10000004")

    assert result.returncode == 0 and no_traceback(result), result.stdout + result.stderr
    assert f"report 10000004: named, email, {said}" in result.stdout, result.stdout


def test_a_dead_letter_naming_a_queue_the_gateway_has_not_is_not_requeued_into_it(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A letter whose queue is none of the gateway's (a hand edit, `lapor-forwrd`, or a later release's queue) was
    "requeued" onto a queue no worker reads, exit 0, and its letter deleted: the report was never forwarded and nothing
    said so. `requeue` skips it (exit 1); it stays listed whole, its Tracking ID, channel and reason read, not as an
    unreadable entry (a later release's letter lost them, and an operator told to purge unreadable ones purged it)."""
    registry = DeadLetters(redis)
    letter = registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                              item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    stored = json.loads(redis.hget(ENTRIES_KEY, letter.key))
    redis.hset(ENTRIES_KEY, letter.key, json.dumps({**stored, "queue": "lapor-forwrd"}))

    requeue = cli(test_env, "deadletters", "requeue", "--all")

    assert requeue.returncode == 1 and no_traceback(requeue), requeue.stdout + requeue.stderr
    assert "skipped 1 dead letter(s) of a queue this release has not" in requeue.stdout, requeue.stdout
    assert not redis.exists("rq:queue:lapor-forwrd") and registry.count() == 1
    [kept] = registry.list()
    assert (kept.tracking_id, kept.channel, kept.reason, kept.queue) == ("10000012", "sms-twilio", "casestore_422",
                                                                         "lapor-forwrd")


def test_a_dead_letter_failed_at_a_time_no_date_can_say_is_listed_with_the_others(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A letter whose `failed_at` no date can say (a hand edit's 1e13, past the year 9999) ended `deadletters list`
    and `show` on a traceback: no letter could be seen. Its time reads `?`."""
    registry = DeadLetters(redis)
    letter = registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000012"]], tracking_id="10000012",
                              item="10000012", reason="casestore_422", detail="refused", channel="sms-twilio")
    registry.add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["10000020"]], tracking_id="10000020",
                     item="10000020", reason="casestore_422", detail="refused", channel="sms-twilio")
    stored = json.loads(redis.hget(ENTRIES_KEY, letter.key))
    redis.hset(ENTRIES_KEY, letter.key, json.dumps({**stored, "failed_at": 1e13}))

    listing = run_cli(["deadletters", "list"], test_env.process_env(COLUMNS="400"))
    show = run_cli(["deadletters", "show", "10000012"], test_env.process_env(COLUMNS="400"))

    assert listing.returncode == 0 and no_traceback(listing), listing.stdout + listing.stderr
    assert "10000012" in listing.stdout and "10000020" in listing.stdout, listing.stdout
    assert show.returncode == 0 and no_traceback(show), show.stdout + show.stderr


@dataclass(frozen=True)
class Kept:
    id: str
    channel: str  # the hash's (the health channel)
    source: str
    provider_id: str
    sender_kind: str
    sender: str
    text: str


KEPT = [
    Kept("x mention", "x", "x-mentions", "1790000000000000123", "x_user", "1447000000000000001",
         "@lapor1708 #anonim pungli di loket 3 kantor kecamatan"),
    Kept("twilio sms", "sms-twilio", "sms-twilio", "SM" + "7" * 32, "msisdn", "+6281234567890",
         "LAPOR ANONIM pungli di loket 3 kantor kecamatan"),
    Kept("aggregator sms", "sms-aggregator", "sms-aggregator", "kannel-4711", "msisdn", "+6281234567890",
         "LAPOR ANONIM pungli di loket 3 kantor kecamatan"),
]


@pytest.mark.parametrize("row", KEPT, ids=[row.id for row in KEPT])
def test_unfiled_commands_name_an_anonymous_message_by_a_digest_not_its_provider_id(
        row: Kept, test_env: TestEnvironment, redis: Redis) -> None:
    """`unfiled list` and `retry` printed the key as Redis holds it, `<source>:<provider id>`: an X mention's post id
    (which opens the post and its author: an anonymous whistleblower's account), an SMS's id at its provider (whose
    logs tie it to the number). Named by a keyed digest now, which both commands take (the key held too); a retried
    mention says its Tracking ID, as an SMS does."""
    from gateway.unfiled import SHOWN_KEY_PREFIX, UnfiledMessages, shown_key
    from normalizer.envelope import Channel, SenderKind, utc_now
    from normalizer.inbound import InboundMessage

    channel = Channel.TWITTER if row.channel == "x" else Channel.SMS
    message = InboundMessage(channel=channel, source=row.source, provider_message_id=row.provider_id,
                             sender_kind=SenderKind(row.sender_kind), sender_address=row.sender, text=row.text,
                             received_at=utc_now())
    kept = UnfiledMessages(redis).keep(row.channel, message, ValueError("a bug"), 1_796_176_800.0)
    shown = shown_key(test_env.settings(), kept.key)
    assert shown.startswith(f"{row.source}:{SHOWN_KEY_PREFIX}") and row.provider_id not in shown

    listing = cli(test_env, "unfiled", "list")
    retried = cli(test_env, "unfiled", "retry", shown)

    for done in (listing, retried):
        assert done.returncode == 0 and no_traceback(done), done.stdout + done.stderr
        assert shown in done.stdout and row.provider_id not in done.stdout + done.stderr, done.stdout + done.stderr
    assert re.search(rf"{re.escape(shown)}: filed as \d+", retried.stdout), retried.stdout
    assert UnfiledMessages(redis).list() == ([], 0)


def test_an_unfiled_message_named_by_both_its_names_is_filed_once_and_the_retry_exits_0(
        test_env: TestEnvironment, redis: Redis) -> None:
    """`unfiled retry <key as held> <key as listed>` filed the one message both name and exited 1: the exit compared
    how many messages were chosen with how many names were given. A name that matches none still exits 1."""
    from gateway.unfiled import UnfiledMessages, shown_key
    from normalizer.envelope import Channel, SenderKind, utc_now
    from normalizer.inbound import InboundMessage

    row = KEPT[0]
    message = InboundMessage(channel=Channel.TWITTER, source=row.source, provider_message_id=row.provider_id,
                             sender_kind=SenderKind(row.sender_kind), sender_address=row.sender, text=row.text,
                             received_at=utc_now())
    kept = UnfiledMessages(redis).keep(row.channel, message, ValueError("a bug"), 1_796_176_800.0)

    both = cli(test_env, "unfiled", "retry", kept.key, shown_key(test_env.settings(), kept.key))

    assert both.returncode == 0 and no_traceback(both), both.stdout + both.stderr
    assert "released 1 of 1" in both.stdout and "no unfiled message" not in both.stdout, both.stdout
    assert UnfiledMessages(redis).list() == ([], 0)
    UnfiledMessages(redis).keep(row.channel, message, ValueError("a bug"), 1_796_176_800.0)
    one_unknown = cli(test_env, "unfiled", "retry", kept.key, "x-mentions:kept-0000000000000000")
    assert one_unknown.returncode == 1 and "released 1 of 1" in one_unknown.stdout, one_unknown.stdout
    assert "no unfiled message has the key x-mentions:kept-0000000000000000" in one_unknown.stdout


@pytest.mark.parametrize("command", ["unfiled retry", "email quarantine reprocess"])
def test_an_empty_key_to_file_again_is_refused_and_nothing_is_done(
        command: str, test_env: TestEnvironment, redis: Redis) -> None:
    """`unfiled retry ""` said "no unfiled message has the key  (see ...)", a blank where the key goes, exit 1."""
    result = cli(test_env, *command.split(), " ")

    assert result.returncode == 2 and no_traceback(result), result.stdout + result.stderr
    assert "an empty key names nothing" in result.stdout and "nothing was done" in result.stdout, result.stdout


def test_a_quarantine_key_prefix_of_several_mails_says_so(test_env: TestEnvironment, redis: Redis) -> None:
    """"no quarantined mail, or more than one, has a key starting <prefix>" left the operator to guess which."""
    quarantine = Quarantine(test_env.settings().data_dir)
    keys = [quarantine.add(READABLE_MAIL.replace(b"a1@", f"a{n}@".encode()), "parse_error", "before the fix",
                           "budi.santoso@example.net", [RECIPIENT]).key for n in range(1, 40)]
    shared = next(key[:1] for key in keys if sum(other.startswith(key[:1]) for other in keys) > 1)
    many = sum(key.startswith(shared) for key in keys)

    result = cli(test_env, "email", "quarantine", "reprocess", shared, "zz")

    assert result.returncode == 1 and no_traceback(result), result.stdout + result.stderr
    assert f"{many} quarantined mails have a key starting {shared}: type more of it" in result.stdout, result.stdout
    assert "no quarantined mail has a key starting zz" in result.stdout, result.stdout
    assert len(quarantine.list()) == 39


@pytest.mark.parametrize("args", [
    pytest.param(("deadletters", "list"), id="deadletters-list"),
    pytest.param(("deadletters", "list", "--queue", REPLY_QUEUE), id="deadletters-list-filtered"),
    pytest.param(("deadletters", "show", "10000004"), id="deadletters-show"),
    pytest.param(("deadletters", "requeue", "--all"), id="deadletters-requeue"),
    pytest.param(("deadletters", "purge", "--all", "--yes"), id="deadletters-purge"),
    # Said before the names not found, which read as though the Redis were the deployment's.
    pytest.param(("deadletters", "requeue", "10000004"), id="deadletters-requeue-by-id"),
    pytest.param(("deadletters", "purge", "10000004", "--yes"), id="deadletters-purge-by-id"),
    pytest.param(("unfiled", "list"), id="unfiled-list"),
    pytest.param(("unfiled", "retry", "--all"), id="unfiled-retry"),
    pytest.param(("unfiled", "drop", "x-mentions:kept-1"), id="unfiled-drop"),
    # `UnknownReport: ...` (exit 1) and `NotTheGatewaysRedis: ...` (exit 1): Python's words for the wrong Redis.
    pytest.param(("attachments", "list", "10000004"), id="attachments-list"),
    pytest.param(("attachments", "purge", "--dry-run"), id="attachments-purge-dry-run"),
    pytest.param(("attachments", "purge"), id="attachments-purge"),
])
def test_a_command_that_finds_nothing_in_a_redis_with_no_sign_of_the_deployment_says_so(
        args: tuple[str, ...], test_env: TestEnvironment, redis: Redis) -> None:
    """A typo in REDIS_URL's database number: `Dead letters (0 in all)`, `requeued 0`, `Unfiled messages (0)`, exit
    0, read at 2 a.m. as all clear, where `status` said UNKNOWN (exit 2) of the same Redis. Said as `status` says it;
    nothing is written to that Redis. One look, not the 2.5 s of looks of a deployment starting (the next tests)."""
    result = cli(test_env, *args, LAPOR_HEALTH_DEPLOYMENT_WAIT_SECONDS="0")
    assert result.returncode == 2 and no_traceback(result), result.stdout + result.stderr
    assert result.stdout.startswith("UNKNOWN: no sign of this deployment in the Redis server REDIS_URL names ("), \
        result.stdout
    assert "Is REDIS_URL, its database number included, the deployment's?" in " ".join(result.stdout.split())
    assert redis.dbsize() == 0
    TrackingIdAllocator(redis, block_size=1).mint()  # the deployment's: nothing there is said as before
    assert cli(test_env, *args).returncode in (0, 1)


def test_a_command_looks_again_for_a_deployment_starting_as_it_is_typed(test_env: TestEnvironment,
                                                                        redis: Redis) -> None:
    """`make run` and `lapor-gateway deadletters list` typed at once: the deployment's first beat comes within a beat
    of its start, so the command looks again for that long (as `status` does) before it says the Redis is not the
    deployment's. Without the look it said UNKNOWN, exit 2, of a deployment a second old."""
    from gateway.cli import _refuse_a_redis_not_the_deployments
    from gateway.health.documents import DEPLOYMENT_WAIT_SECONDS

    starting = threading.Timer(DEPLOYMENT_WAIT_SECONDS / 5, ServingBeat(redis, "smtp", ["email"]).beat)
    started = time.monotonic()
    starting.start()
    try:
        _refuse_a_redis_not_the_deployments(redis, test_env.settings())  # raises typer.Exit where it says UNKNOWN
    finally:
        starting.join()
    assert time.monotonic() - started < DEPLOYMENT_WAIT_SECONDS  # it saw the beat, not the end of its look
    redis.flushdb()
    started = time.monotonic()
    with pytest.raises(typer.Exit) as refused:
        _refuse_a_redis_not_the_deployments(redis, test_env.settings())
    assert refused.value.exit_code == 2
    assert time.monotonic() - started >= DEPLOYMENT_WAIT_SECONDS  # it looked the whole while first


@pytest.mark.parametrize("args", [("status",), ("deadletters", "list")])
def test_the_look_for_a_deployment_lasts_as_long_as_its_setting_says(
        args: tuple[str, ...], test_env: TestEnvironment, own_redis: EmbeddedRedis) -> None:
    """`health.deployment_wait_seconds` (2.5 s, `DEPLOYMENT_WAIT_SECONDS`) is how long a command looks again for a
    sign of the deployment: counted in its looks (EXISTS, on a Redis of the test's own), one when it is 0."""
    from gateway.health.documents import DEPLOYMENT_WAIT_SECONDS

    assert test_env.settings().health.deployment_wait_seconds == DEPLOYMENT_WAIT_SECONDS
    redis = Redis.from_url(own_redis.url)
    try:
        looks = []
        for wait in ("0", "0.6"):
            redis.config_resetstat()
            result = cli(test_env, *args, REDIS_URL=own_redis.url, LAPOR_HEALTH_DEPLOYMENT_WAIT_SECONDS=wait)
            assert result.returncode == 2 and "UNKNOWN: no sign of this deployment" in result.stdout, result.stdout
            looks.append(redis.info("commandstats")["cmdstat_exists"]["calls"])
        assert looks[0] == 1 and looks[1] >= 2, looks  # looked again 0.25 s later, until 0.6 s had passed
    finally:
        redis.close()


def test_serve_help_names_every_page_the_gateway_serves(test_env: TestEnvironment, redis: Redis) -> None:
    """`serve --help` named /healthz, /readyz, /metrics and /v1/status, and not the status page at /status."""
    from gateway.app import create_app

    routes = create_app(test_env.settings(), redis).router.routes()
    pages = {route.resource.canonical for route in routes if route.method == "GET" and route.resource is not None
             and not route.resource.canonical.startswith("/v1/channels/")}
    said = " ".join(cli(test_env, "serve", "--help").stdout.split())
    assert {"/healthz", "/status", "/v1/status"} <= pages
    assert [page for page in sorted(pages) if not re.search(rf"(?<![\w/]){re.escape(page)}(?![\w/])", said)] == []


def test_the_worker_help_says_one_command_works_several_queues(test_env: TestEnvironment) -> None:
    """`worker --help` said "one process per queue", while its default and the Procfile's `replies` line run two or
    three queues in one command: read as one command per queue."""
    said = " ".join(cli(test_env, "worker", "--help").stdout.split())
    assert "all of them in one command" in said and "child process per queue" in said, said
    assert "one process per queue" not in said, said
    procfile = (Path(__file__).resolve().parent.parent / "Procfile").read_text(encoding="utf-8")
    assert "worker --queues lapor-reply,lapor-status" in procfile  # several queues in one command, as it says


def test_the_purge_help_and_the_readme_name_the_outboxes_it_purges(test_env: TestEnvironment) -> None:
    """The README's retention setting said "e-mail outbox replies", where the purge deletes the SMS outbox's days
    too (and its help said so)."""
    said = " ".join(cli(test_env, "attachments", "purge", "--help").stdout.split())
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `LAPOR_ATTACHMENTS_RETENTION_DAYS` |"))
    for text in (said, row):
        assert "e-mail and SMS outbox replies" in text, text
