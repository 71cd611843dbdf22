"""SMTP intake throughput: mails/s and DATA-to-250 latency over real SMTP sessions on loopback.

    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python -m bench.email_smtp [--mails 300] [--connections 8]

Runs the gateway's own SMTP server (start_smtp_server) in a thread against the given Redis (which it FLUSHES) and
a temporary data dir; sends a Gmail-style multipart mail with an inline image, each with its own Message-ID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import smtplib
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.procs import free_port
from channels.email.server import start_smtp_server
from gateway.intake import Intake
from gateway.queues import redis_connection
from gateway.settings import load_settings

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "email" / "gmail_inline_image.eml"


def send(port: int, count: int, tag: str, latencies: list[float]) -> None:
    raw = FIXTURE.read_bytes().replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port) as client:
        for number in range(count):
            mail = raw.replace(b"CAKp2=Q1nZ8bYVhQ3mXyWc9x0rA", f"bench-{tag}-{number}".encode())
            started = time.perf_counter()
            client.sendmail("warga@example.net", ["pengaduan@lapor.go.id"], mail)
            latencies.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    settings = load_settings({"LAPOR_PROFILE": "development", "LAPOR_DATA_DIR": tempfile.mkdtemp(),
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
    for connections in (1, args.connections):
        latencies: list[float] = []
        per = args.mails // connections
        threads = [threading.Thread(target=send, args=(port, per, f"{connections}-{n}", latencies))
                   for n in range(connections)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        quantiles = statistics.quantiles(latencies, n=100)
        print(f"{connections} connection(s): {len(latencies) / elapsed:.0f} mails/s, "
              f"p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms")
    redis.flushdb()


if __name__ == "__main__":
    main()
