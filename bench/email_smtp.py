"""SMTP intake throughput: mails/s and DATA-to-250 latency over real SMTP sessions on loopback.

    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python -m bench.email_smtp [--mails 300] [--connections 8]

Runs the gateway's own SMTP server (start_smtp_server) in a thread against the given Redis (which it FLUSHES) and
a temporary data dir; sends a Gmail-style multipart mail with an inline image, each with its own Message-ID. The
figures count the mails answered 250, and each round checks its own (bench/verify.py, as the webhook bench does):
every mail answered 250 has exactly one envelope in Redis under its provider message id, and nothing else was
stored (a mail refused, or never sent). Exits 1 when a round fails that check or a mail went unanswered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from redis import Redis

from bench.procs import free_port
from bench.run import percentile
from bench.verify import Verification, durable_rows, verify
from channels.email.parse import parse_mail
from channels.email.processor import provider_message_id
from channels.email.server import start_smtp_server
from gateway.intake import Intake
from gateway.queues import redis_connection
from gateway.settings import load_settings

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "email" / "gmail_inline_image.eml"
FIXTURE_MESSAGE_ID = b"CAKp2=Q1nZ8bYVhQ3mXyWc9x0rA"
SENDER = "warga@example.net"
RECIPIENT = "pengaduan@lapor.go.id"


@cache
def _fixture() -> bytes:
    return FIXTURE.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


FIXTURE_SUBJECT = b"Subject: Sampah menumpuk di pasar"


def bench_mail(tag: str, number: int) -> bytes:
    """The fixture as it travels over SMTP (CRLF), under a Message-ID and a subject of its own: the same mail again
    (From, subject, words and files) within the window is one report (gateway/same_text.py), as a citizen's resent
    mail is."""
    own = f"bench-{tag}-{number}".encode()
    return _fixture().replace(FIXTURE_MESSAGE_ID, own).replace(FIXTURE_SUBJECT, FIXTURE_SUBJECT + b" " + own)


@dataclass
class Round:
    """One round's sessions: the mails answered 250 (the figure's), those refused, and the time they took."""

    connections: int
    sent: int
    seconds: float = 0.0
    accepted: list[bytes] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """Every mail had an answer: a session the server dropped leaves the rest of its mails unsent."""
        return len(self.accepted) + len(self.refused) == self.sent


def send(port: int, mails: list[bytes], result: Round) -> None:
    """One SMTP session, its mails in turn. A refusal (4xx/5xx) is counted and the session goes on; before, it ended
    the session's thread, and the round reported the mails answered until then as if they were all it had sent."""
    with smtplib.SMTP("127.0.0.1", port) as client:
        for mail in mails:
            started = time.perf_counter()
            try:
                client.sendmail(SENDER, [RECIPIENT], mail)
            except smtplib.SMTPResponseException as error:  # MAIL, RCPT or DATA refused
                result.refused.append(error.smtp_code)
                continue
            except smtplib.SMTPRecipientsRefused:
                result.refused.append(550)
                continue
            result.latencies.append(time.perf_counter() - started)
            result.accepted.append(mail)


def run_round(port: int, connections: int, per_connection: int, tag: str) -> Round:
    """`connections` sessions at once, `per_connection` mails each, each mail with a Message-ID of its own."""
    result = Round(connections=connections, sent=connections * per_connection)
    batches = [[bench_mail(f"{tag}-{n}", number) for number in range(per_connection)] for n in range(connections)]
    threads = [threading.Thread(target=send, args=(port, batch, result)) for batch in batches]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def accepted_ids(result: Round) -> list[str]:
    """The provider message id of each mail answered 250, derived as the gateway derives it (after the timing)."""
    return [provider_message_id(parse_mail(mail), mail) for mail in result.accepted]


def check_round(redis: Redis, accepted: list[str], earlier: list[str]) -> Verification:
    """Each mail of this round answered 250 (`accepted`: their message ids) durable exactly once in Redis, and
    nothing stored but those and the `earlier` rounds' mails."""
    return verify(durable_rows(redis), accepted, allowed=earlier)


def durable_once(result: Round, check: Verification) -> bool:
    """The check passed, and for as many distinct mails as were accepted: two mails taken for one (the same message
    id) would leave one report for both and pass `verify` alone."""
    return check.ok and check.expected == len(result.accepted) and result.answered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="lapor-bench-email-")
    settings = load_settings({"LAPOR_PROFILE": "development", "LAPOR_DATA_DIR": data_dir,
                              "REDIS_URL": os.environ["REDIS_URL"], "LAPOR_SMTP_PORT": str(port)})
    redis = redis_connection(settings.redis_url)
    redis.flushdb()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def serve() -> None:
        await start_smtp_server(settings, redis, Intake(redis, settings))
        ready.set()

    threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True).start()
    ready.wait(10)
    passed = True
    earlier: list[str] = []
    try:
        for connections in (1, args.connections):
            result = run_round(port, connections, args.mails // connections, f"{connections}")
            ids = accepted_ids(result)
            check = check_round(redis, ids, earlier)
            earlier += ids
            once = durable_once(result, check)
            passed = passed and once
            latencies = result.latencies
            print(f"{connections} connection(s): {len(result.accepted) / result.seconds:.0f} mails/s, "
                  f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
                  f"{len(result.accepted)} of {result.sent} accepted ({len(result.refused)} refused), "
                  f"each durable exactly once: {once}")
            if not once:
                print(f"  verification: {check.summary()}")
    finally:
        redis.flushdb()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
