"""An asyncio HTTP/1.1 load client on uvloop, run in its own process (`python -m bench.client`).

Open loop (`--rate`): request i is due at start + i/rate whatever the server does, and its latency counts from
that due time, so a slow server cannot hide its queueing (no coordinated omission). Closed loop
(`--concurrency`): that many requests in flight, the fallback when wrk is missing. Keep-alive connections are
reused; the client speaks raw HTTP on streams to keep its own cost per request small.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import orjson

MAX_CONNECTIONS = 1024
TIMEOUT = 10.0  # seconds, as the bench's wrk runs


def build_requests(path: Path, host: str, port: int, url_path: str) -> list[bytes]:
    requests = []
    for line in path.read_text().splitlines():
        signature, body = line.split("\t", 1)
        payload = body.encode()
        head = (f"POST {url_path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded"
                f"\r\nX-Twilio-Signature: {signature}\r\nContent-Length: {len(payload)}\r\n\r\n")
        requests.append(head.encode() + payload)
    return requests


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


class Client:
    """`timeout`: an answer that takes longer counts as failed (599) at that latency, as wrk's --timeout; without
    it, one request the server never answered kept the client, and the whole bench, waiting for good."""

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        async with self.slots:
            conn = self.idle.pop() if self.idle else None
            try:
                async with asyncio.timeout(self.timeout):
                    if conn is None:
                        conn = await asyncio.open_connection(self.host, self.port)
                    result = await _exchange(*conn, request)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                if conn is not None:
                    conn[1].close()
                return 599, b""
            self.idle.append(conn)
            return result


async def open_loop(client: Client, requests: list[bytes], rate: float) -> dict[str, object]:
    """Latency from each request's due time, or from when it went out if that was earlier: the sender runs up to
    half a millisecond ahead rather than sleep shorter than uvloop's millisecond timers, and a request sent early
    had its time before its due time left out (answers 'before' they were due). Timed with `time.perf_counter`:
    uvloop's `loop.time()` is in whole milliseconds, read once per loop iteration."""
    clock = time.perf_counter
    latencies = [0.0] * len(requests)
    statuses = [0] * len(requests)
    sent_at = [0.0] * len(requests)
    start_wall, start = time.time(), clock()

    async def one(index: int, due: float) -> None:
        began = min(due, clock())
        sent_at[index] = start_wall + (began - start)
        status, body = await client.send(requests[index])
        latencies[index] = clock() - began
        statuses[index] = status if status != 200 or b"<Message>" in body else 598

    tasks = []
    for index in range(len(requests)):
        due = start + index / rate
        delay = due - clock()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(index, due)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    return {"latencies": latencies, "statuses": statuses, "sent_at": sent_at, "elapsed": elapsed}


async def closed_loop(client: Client, requests: list[bytes], concurrency: int) -> dict[str, object]:
    clock = time.perf_counter
    latencies = [0.0] * len(requests)
    statuses = [0] * len(requests)
    sent_at = [0.0] * len(requests)
    cursor = iter(range(len(requests)))
    start = clock()

    async def lane() -> None:
        for index in cursor:
            began = clock()
            sent_at[index] = time.time()
            status, body = await client.send(requests[index])
            latencies[index] = clock() - began
            statuses[index] = status if status != 200 or b"<Message>" in body else 598

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return {"latencies": latencies, "statuses": statuses, "sent_at": sent_at, "elapsed": clock() - start}


async def main_async(args: argparse.Namespace) -> None:
    requests = build_requests(Path(args.requests), args.host, args.port, args.path)
    client = Client(args.host, args.port, args.timeout)
    if args.rate:
        result = await open_loop(client, requests, args.rate)
    else:
        result = await closed_loop(client, requests, args.concurrency)
    Path(args.out).write_bytes(orjson.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--requests", required=True, help="file of 'signature<TAB>body' lines")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: requests per second")
    parser.add_argument("--concurrency", type=int, default=64, help="closed loop: requests in flight")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds an answer may take")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio still works, a little slower
        pass
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
