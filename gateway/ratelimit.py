"""Per-source rate limits on the webhook endpoints: a token bucket per source address (IPv6: per /64), in process.

A flood from one source is slowed with 429 and Retry-After before the body is read, authenticated, parsed or
queued, so a refused request costs almost nothing and an accepted one is never dropped: every request that gets
past the limiter is handled exactly as without it. Kannel and Meta send a 429'd request again; Twilio does not retry a
message webhook (only its fallback URL is asked), hence defaults no single provider account reaches.

The buckets live in this process: with N gateway processes behind a balancer a source gets up to N times the
rate. That is acceptable for a limit whose job is to keep one source from starving the others, and it needs no
Redis round trip per request. The defaults are generous, so a real provider at its normal rate never sees a 429.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import Counter

from gateway.logs import get_logger, is_ip_address
from gateway.settings import RateLimitSettings

log = get_logger()

THROTTLED = Counter("lapor_ratelimited_total", "Webhook requests answered 429 by the per-source rate limit.",
                    ["path"])

Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class _Bucket:
    tokens: float
    updated: float
    throttled: bool = False


@dataclass
class TokenBuckets:
    """One bucket per source: `rate` tokens per second, at most `burst`. The least recently seen source is
    forgotten past `max_sources`, so a spray of addresses cannot grow memory without bound."""

    rate: float
    burst: float
    max_sources: int = 10_000
    clock: Clock = time.monotonic
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    def take(self, source: str) -> tuple[bool, float, bool]:
        """(allowed, seconds until a token is back, whether this source just started being throttled)."""
        now = self.clock()
        bucket = self._buckets.pop(source, None) or _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[source] = bucket
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.throttled = False
            return True, 0.0, False
        started = not bucket.throttled
        bucket.throttled = True
        return False, (1 - bucket.tokens) / self.rate, started


def request_source(request: web.Request, header: str) -> str:
    """The peer address, or (behind a trusted proxy that sets `header`) the address that proxy saw last."""
    if header:
        forwarded = [part.strip() for part in request.headers.get(header, "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.remote or "unknown"


def bucket_key(source: str) -> str:
    """The bucket a source counts against: an IPv6 address by its /64, which a client is given whole and may send
    from any address of (one bucket per address let a flood that changed address at each request through); an
    IPv4 address, IPv4-mapped too (a dual-stack socket's), as it is."""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return source
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return source


def loggable_source(source: str) -> str:
    """A source as its throttled line names it: an address, or `not_an_address` for anything else a source header
    carried (a proxy that passes the client's own header on unchecked: words, numbers, kilobytes of it), an IPv6
    zone too (`fe80::1%` and any text after it: a name, a street), as the log's own check of `source` reads it."""
    return source if is_ip_address(source) else "not_an_address"


def route_path(request: web.Request) -> str:
    """The path of the route `request` matched (`unmatched` for none), never the path as sent: a label per path sent
    would let a flood to made-up paths under the prefix add time series without bound."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def rate_limit_middleware(settings: RateLimitSettings, clock: Clock = time.monotonic,
                          throttled: Callable[[str], None] | None = None) -> Callable[..., object]:
    """An aiohttp middleware limiting POSTs under `settings.path_prefix` per source (429 + Retry-After).

    `throttled`, called with the refused request's route path (`route_path`) on the event loop, tells the health
    signals (`Gateway.note_throttled`): it must do no I/O. The metric and the sampled log line alone said that our own
    limit refused a provider's webhooks, every status view ok meanwhile."""
    buckets = TokenBuckets(rate=settings.rate_per_second, burst=settings.burst, max_sources=settings.max_sources,
                           clock=clock)

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not settings.enabled or request.method != "POST" or not request.path.startswith(settings.path_prefix):
            return await handler(request)
        source = request_source(request, settings.source_header)
        allowed, wait, started = buckets.take(bucket_key(source))
        if allowed:
            return await handler(request)
        path = route_path(request)
        THROTTLED.labels(path).inc()
        if throttled is not None:
            throttled(path)
        if started:  # one line when a source starts being throttled, not one per refused request
            log.warning("ratelimit.throttled", reason="rate_limited", source=loggable_source(source), path=path,
                        retry_after_seconds=math.ceil(wait))
        return web.json_response({"error": "rate_limited", "detail": "too many requests from this source"},
                                 status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})

    return limit
