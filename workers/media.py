"""A report's files still at its provider, fetched by the forward worker before it forwards the report.

A Twilio MMS, an X photo or an Instagram post reaches the gateway as a URL at the provider. The case store cannot do
much with it: Twilio's may need our credentials, Instagram's expires within days, and an anonymous report cannot
carry one at all (it names the message or the media, which lead back to the sender). So the forward worker fetches
each file, never the webhook handler or a poller (the citizen's answer does not wait for it), keeps the bytes by
sha256 under the data dir as a mailed file is kept (gateway/attachments.py), and the report goes with the file's
location, uploaded to the case store before it like a mailed file's.

Only https URLs of `attachments.fetch_hosts` are fetched, on the default port, every redirect checked the same way
(a citizen must not be able to make the gateway open an address of their choosing), up to `attachments.max_bytes`
as sent (never compressed), within `attachments.timeout_seconds`, and of the type the envelope says (or one of its
family: X serves a PNG photo as image/png). Our Twilio credentials go to api.twilio.com alone. A file that cannot
be fetched for good (refused, 404, too large) never holds its report: it goes as before (its URL for a named report,
withheld for an anonymous one) flagged `not_fetched`, logged as `attachment.fetch_failed` with the reason, never the
URL (it leads back to the sender). One that failed for a reason that may pass (a timeout, a 408, a 5xx, a 429)
holds its report back while the forward job may still wait (`attachments.retry_seconds`, see workers/forward.py):
the file is often the evidence, and a CDN's bad minute must not cost an anonymous report its photo.

What a URL was fetched as is remembered in Redis, so a retry of the job, or a requeue of the report, takes the file
already kept instead of fetching it again (as long as the file is there: `lapor-gateway attachments purge` keeps the
file while an envelope in Redis names its URL and the record is there, workers/retention.py). The record lasts while
any report that took the file waits, two reports naming one URL included (see _remember).
"""

from __future__ import annotations

import hashlib
import re
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx
import orjson

from gateway import metrics
from gateway.attachments import attachment_location, is_provider_url, reuse_stored, store_attachment
from gateway.channel_names import report_source
from gateway.errors import retryable_status
from gateway.logs import get_logger
from gateway.queues import REPLY_SUBJECTS_KEY, REPORT_STATE_KEY, envelope_key
from gateway.settings import Settings
from gateway.tls import tls_context
from workers.context import WorkerContext
from workers.file_kinds import media_type

log = get_logger()

# The flag of an attachment the forward worker could not fetch from its provider.
NOT_FETCHED = "not_fetched"
# Why a URL is never fetched: its host (or path) is not in `attachments.fetch_hosts`, or it is no https URL on the
# default port without credentials (see host_allowed).
NOT_ALLOWED = "not_allowed"
# Why a file came flagged NOT_FETCHED from its channel, without an address (an X page's media entry it could not
# read): counted among the files lost under this reason.
UNREADABLE_AT_INTAKE = "media_unreadable"
# What lapor_attachment_fetches_total says of each try of a file (besides NOT_FETCHED): fetched, taken from an
# earlier try, or failed while its report waits for another try.
FETCHED, REUSED, HELD = "fetched", "reused", "held"
# Statuses the metrics keep apart, each calling for its own look (our Twilio credentials, an expired Instagram address,
# a rate limit); any other counts by its class, `http_5xx`.
COUNTED_STATUSES = frozenset({"http_401", "http_403", "http_404", "http_410", "http_429"})
# What a provider URL was fetched as (sha256, size, content type), by the sha256 of the URL.
FETCHED_KEY = "lapor:attachment:fetched:{url_digest}"
# The Tracking IDs of the reports that took that file and still wait: the record has no expiry while there is one.
TAKERS_KEY = FETCHED_KEY + ":waiting"
# A report done waiting (forwarded, or purged as a dead letter) no longer keeps the record: the last one gives it its
# envelope's lifetime. In one step, so a report taking the file meanwhile (_remember's transaction) is either seen
# here, or comes after and makes the record lasting again.
_RELEASE_SCRIPT = """
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) == 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# The one host our Twilio credentials go to; its redirects lead to pre-signed addresses that need none.
TWILIO_API_HOST = "api.twilio.com"
TWILIO_ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/")
# Served where a photo was expected, it is refused: it runs scripts when opened in a browser.
SVG = "image/svg+xml"
# The envelope's type when the provider did not say one: any type served is taken.
UNKNOWN_TYPE = "application/octet-stream"
# The only content coding asked for and taken (see MediaFetcher).
IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class Fetched:
    """A file kept under the data dir: what its attachment carries from now on."""

    sha256: str
    size: int
    content_type: str


class FetchFailed(Exception):
    """A file not fetched: `transient` (a timeout, 408, 5xx, 429: it may work later) or refused for good."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


# The deadline of the fetch this thread is making (time.monotonic), which every socket operation is held to.
_DEADLINE = threading.local()


def _within_deadline(timeout: float | None, expired: type[Exception]) -> float | None:
    """A socket operation's timeout, cut to what is left of the fetch's time; `expired` once none is."""
    deadline: float | None = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the fetch's time is spent")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the fetch using it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _within_deadline(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's connections, made and used within the deadline of the fetch that uses them."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _within_deadline(timeout, httpcore.ConnectTimeout),
                                                         local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(
            path, _within_deadline(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _hold_to_deadlines(client: httpx.Client) -> None:
    """Every connection the client's transports make (a proxy's from the environment too) held to the deadline of
    the fetch using it. A read's timeout alone bounds one read, not an answer: httpx reads the headers read after
    read, each with the whole timeout, so a provider sending them a byte at a time (or `100 Continue` without end)
    held a fetch, its batch and its forward job as long as it liked. httpx has no setting for it: the network
    backend of its pools is replaced (httpx is pinned; a test fails if this no longer holds)."""
    for transport in (client._transport, *client._mounts.values()):
        if isinstance(transport, httpx.HTTPTransport):
            pool = transport._pool
            pool._network_backend = _DeadlineBackend(pool._network_backend)


def host_allowed(url: httpx.URL, entries: Sequence[str]) -> bool:
    """An https URL on the default port, without credentials, whose host (and path) an allow-list entry names:
    `host`, `*.domain` (any host under it) or `host/path/` (only paths under that one)."""
    if url.scheme != "https" or url.port not in (None, 443) or url.userinfo:
        return False
    host = url.raw_host.decode("ascii").lower().rstrip(".")
    for entry in entries:
        entry_host, slash, prefix = entry.partition("/")
        if entry_host.startswith("*."):
            if not host.endswith(entry_host[1:]):
                continue
        elif host != entry_host:
            continue
        if not slash or (url.path.startswith(f"/{prefix}") and ".." not in url.path.split("/")):
            return True
    return False


def fetchable_url(location: str, fetch_hosts: Sequence[str]) -> httpx.URL:
    """The URL a fetch of `location` opens; FetchFailed (for good) for one no fetch ever opens, whatever its provider
    would answer: no URL (`bad_url`), or not one `fetch_hosts` allows (NOT_ALLOWED). `lapor-gateway attachments list`
    asks it too (workers/handover.py), to say what the case store gets of a file not fetched yet."""
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL as error:
        raise FetchFailed("bad_url", transient=False) from error
    if not host_allowed(url, fetch_hosts):
        raise FetchFailed(NOT_ALLOWED, transient=False)
    return url


def type_matches(expected: str, served: str) -> bool:
    """The type the envelope says, or another of its family (image/png for image/jpeg); anything when the envelope
    does not know. An HTML page where a photo was expected (a login or error page answered 200) is not the file,
    nor an SVG (a page of its own, scripts and links included, where the agency expects a picture)."""
    expected = media_type(expected)
    if served == SVG and expected != SVG:
        return False
    if expected in ("", UNKNOWN_TYPE):
        return bool(served)
    return served == expected or (bool(served) and served.split("/")[0] == expected.split("/")[0])


def _cookieless_jar() -> CookieJar:
    """A jar that takes no cookie."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class MediaFetcher:
    """Fetches provider-hosted files: one per worker process (`WorkerContext.client`), one connection pool, the
    process's TLS context."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self._config = settings.attachments
        # The file as the provider keeps it, never compressed: a compressed body of a few kB may inflate to
        # gigabytes, each read's worth in memory before the size cap could see it (and a photo gains nothing).
        # No cookies kept: sent back with later fetches, a provider's cookie would link the files of different
        # reports (an anonymous one's among them) to one fetcher, and the jar would grow for the process's life.
        self._client = httpx.Client(verify=tls_context(), follow_redirects=False, transport=transport,
                                    timeout=self._config.timeout_seconds, cookies=_cookieless_jar(),
                                    headers={"User-Agent": "lapor-gateway", "Accept-Encoding": IDENTITY})
        _hold_to_deadlines(self._client)

    def close(self) -> None:
        self._client.close()

    def _auth(self, url: httpx.URL) -> tuple[str, str] | None:
        """HTTP basic auth for Twilio's media URLs (an account may enforce it), sent to api.twilio.com only."""
        twilio = self._settings.twilio
        if url.host != TWILIO_API_HOST or not twilio.auth_token:
            return None
        account = twilio.account_sid or (match.group(1) if (match := TWILIO_ACCOUNT.match(url.path)) else "")
        return (account, twilio.auth_token) if account else None

    def fetch(self, location: str, expected_type: str, deadline: float) -> Fetched:
        """Fetch `location` by `deadline` (time.monotonic) and keep it under the data dir; raises FetchFailed."""
        url = fetchable_url(location, self._config.fetch_hosts)
        _DEADLINE.at = deadline
        try:
            data, served = self._get(url, expected_type, deadline)
        except httpx.TimeoutException as error:
            raise FetchFailed("timeout", transient=True) from error
        except httpx.TransportError as error:  # refused, reset, DNS, TLS, a broken answer (a Location that is no URL)
            raise FetchFailed("unreachable", transient=True) from error
        finally:
            _DEADLINE.at = None
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            store_attachment(self._settings.data_dir, sha256, data)
        except OSError as error:  # a full or unwritable data dir: another try may do
            raise FetchFailed("not_stored", transient=True) from error
        return Fetched(sha256=sha256, size=len(data), content_type=served)

    def _get(self, url: httpx.URL, expected_type: str, deadline: float) -> tuple[bytes, str]:
        for _ in range(MAX_REDIRECTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchFailed("timeout", transient=True)
            with self._client.stream("GET", url, auth=self._auth(url), timeout=remaining) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES and response.headers.get("Location"):
                    url = url.join(response.headers["Location"])
                    if not host_allowed(url, self._config.fetch_hosts):
                        raise FetchFailed("redirect_not_allowed", transient=False)
                    continue
                if status != 200:
                    raise FetchFailed(f"http_{status}", transient=retryable_status(status))
                served = media_type(response.headers.get("Content-Type"))
                if not type_matches(expected_type, served):
                    raise FetchFailed("content_type_mismatch", transient=False)
                if media_type(response.headers.get("Content-Encoding")) not in ("", IDENTITY):
                    raise FetchFailed("content_encoding", transient=False)  # asked for none: refused unread
                return self._read(response, deadline), served
        raise FetchFailed("too_many_redirects", transient=False)

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        """The body, up to max_bytes (refused as soon as its Content-Length or its bytes say more), by `deadline`."""
        limit = self._config.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchFailed("too_large", transient=False)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchFailed("too_large", transient=False)
            if time.monotonic() > deadline:  # a provider dripping bytes within each read's timeout
                raise FetchFailed("timeout", transient=True)
            chunks.append(chunk)
        return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Wanted:
    tracking_id: str
    index: int
    location: str
    content_type: str
    channel: str


def as_fetched(attachment: Mapping[str, Any], fetched: Fetched) -> dict[str, Any]:
    """The attachment as the case store gets it once its file is kept: the bytes' type, size, sha256 and path."""
    return {**attachment, "content_type": fetched.content_type, "size": fetched.size, "sha256": fetched.sha256,
            "location": attachment_location(fetched.sha256)}


def as_not_fetched(attachment: Mapping[str, Any]) -> dict[str, Any]:
    """The attachment as the case store gets it when its file could not be fetched: as listed, flagged NOT_FETCHED."""
    return {**attachment, "flags": [*attachment.get("flags", []), NOT_FETCHED]}


def counted_reason(reason: str) -> str:
    """A failure's reason as the metrics label it: one of a bounded set, whatever statuses a provider answers or
    exceptions a fetch meets (`http_418` is `http_4xx`, `error_KeyError` is `error`); the log line keeps it exact."""
    if reason.startswith("error_"):
        return "error"
    if reason.startswith("http_") and reason not in COUNTED_STATUSES:
        return f"http_{reason.removeprefix('http_')[:1]}xx"
    return reason


def fetched_key(location: str) -> str:
    return FETCHED_KEY.format(url_digest=_url_digest(location))


def takers_key(location: str) -> str:
    return TAKERS_KEY.format(url_digest=_url_digest(location))


def _url_digest(location: str) -> str:
    """A provider URL as its records are keyed: its sha256, the same length whatever the URL."""
    return hashlib.sha256(location.encode()).hexdigest()


def fetched_record(raw: bytes | None) -> Fetched | None:
    """What a URL was fetched as, from its record; None without one (or with one this version cannot read)."""
    try:
        return Fetched(**orjson.loads(raw)) if raw is not None else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class WithMedia:
    """The envelopes as the case store is to get them, the reports held back for a later try (with why), and why
    each attachment flagged `not_fetched` was not fetched, by Tracking ID (counted once the case store takes it)."""

    envelopes: dict[str, dict[str, Any]]
    held: dict[str, str]
    not_fetched: dict[str, list[str]] = field(default_factory=dict)


def fetch_provider_media(context: WorkerContext, envelopes: Mapping[str, dict[str, Any]], *,
                         may_hold: bool = False) -> WithMedia:
    """Each attachment still at its provider fetched and kept (its location now its sha256 path), or flagged
    `not_fetched`; with `may_hold`, a report with a file that failed for a reason that may pass is held instead (its
    envelope left out). The stored envelopes are left as they are (the gateway's copy keeps the URL); an envelope
    without such attachments comes back as it is, and a batch without any costs no Redis round trip."""
    wanted = [_Wanted(tracking_id, index, str(attachment["location"]), str(attachment.get("content_type") or ""),
                      report_source(envelope))
              for tracking_id, envelope in envelopes.items()
              for index, attachment in enumerate(envelope.get("attachments") or [])
              if is_provider_url(str(attachment.get("location") or ""))]
    lost_at_intake = _lost_at_intake(envelopes)
    if not wanted:
        return WithMedia(dict(envelopes), {}, lost_at_intake)
    settings = context.settings
    locations = list(dict.fromkeys(item.location for item in wanted))
    outcomes: dict[str, Fetched | FetchFailed] = {}
    for location, raw in zip(locations, context.redis.mget([fetched_key(loc) for loc in locations]), strict=True):
        known = fetched_record(raw)
        # Marked as used: this report may have reached Redis after a running purge read the envelopes.
        if known is not None and reuse_stored(settings.data_dir, known.sha256):
            outcomes[location] = known
    reused = set(outcomes)
    to_fetch = {item.location: item.content_type for item in wanted if item.location not in outcomes}
    outcomes.update(_fetch_all(context, to_fetch))
    takers: dict[str, set[str]] = {}
    for item in wanted:
        if isinstance(outcomes[item.location], Fetched):
            takers.setdefault(item.location, set()).add(item.tracking_id)
    _remember(context, {loc: outcome for loc, outcome in outcomes.items() if isinstance(outcome, Fetched)}, takers)

    result = dict(envelopes)
    held: dict[str, str] = {}
    not_fetched: dict[str, list[str]] = {tid: list(reasons) for tid, reasons in lost_at_intake.items()}
    for item in wanted:
        envelope = result[item.tracking_id]
        if envelope is envelopes[item.tracking_id]:  # copied once, before its first change
            envelope = result[item.tracking_id] = {**envelope, "attachments": list(envelope["attachments"])}
        attachment = envelope["attachments"][item.index]
        outcome = outcomes[item.location]
        if isinstance(outcome, Fetched):
            envelope["attachments"][item.index] = as_fetched(attachment, outcome)
            metrics.ATTACHMENT_FETCHES.labels(REUSED if item.location in reused else FETCHED, "").inc()
            continue
        retry = may_hold and outcome.transient
        if retry:
            held.setdefault(item.tracking_id, outcome.reason)
        else:
            envelope["attachments"][item.index] = as_not_fetched(attachment)
            not_fetched.setdefault(item.tracking_id, []).append(outcome.reason)
        metrics.ATTACHMENT_FETCHES.labels(HELD if retry else NOT_FETCHED, counted_reason(outcome.reason)).inc()
        log.warning("attachment.fetch_failed", tracking_id=item.tracking_id, attachment=item.index,
                    channel=item.channel, reason=outcome.reason, transient=outcome.transient, retry=retry)
    return WithMedia({tid: envelope for tid, envelope in result.items() if tid not in held}, held,
                     {tid: reasons for tid, reasons in not_fetched.items() if tid not in held})


def _lost_at_intake(envelopes: Mapping[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The files each report's channel listed flagged NOT_FETCHED, with no address to fetch (UNREADABLE_AT_INTAKE):
    the case store takes the report without them, as without one a fetch gave up on, and they are counted so (an X
    photo whose entry could not be read was in no "files lost" count). The stored envelope is never flagged by a
    fetch (the flag goes on the copy sent), so a flag in it is the channel's."""
    lost: dict[str, list[str]] = {}
    for tracking_id, envelope in envelopes.items():
        for attachment in envelope.get("attachments") or []:
            if NOT_FETCHED in (attachment.get("flags") or []) and not attachment.get("location"):
                lost.setdefault(tracking_id, []).append(UNREADABLE_AT_INTAKE)
    return lost


def _fetch_all(context: WorkerContext, wanted: Mapping[str, str]) -> dict[str, Fetched | FetchFailed]:
    """Each location fetched, `fetch_concurrency` at once; none started after `batch_seconds`, none running past it
    (every socket operation is held to its fetch's deadline: _hold_to_deadlines; a DNS look-up is not)."""
    if not wanted:
        return {}
    config = context.settings.attachments
    fetcher: MediaFetcher = context.client("media", lambda: MediaFetcher(context.settings))
    batch_deadline = time.monotonic() + config.batch_seconds

    def fetch(location: str) -> Fetched | FetchFailed:
        started = time.monotonic()
        if started >= batch_deadline:
            return FetchFailed("out_of_time", transient=True)
        try:
            return fetcher.fetch(location, wanted[location],
                                 min(started + config.timeout_seconds, batch_deadline))
        except FetchFailed as failure:
            return failure
        except Exception as error:  # a file must not hold its report back, whatever went wrong with it
            return FetchFailed(f"error_{type(error).__name__}", transient=True)

    with ThreadPoolExecutor(max_workers=min(config.fetch_concurrency, len(wanted)),
                            thread_name_prefix="media-fetch") as pool:
        return dict(zip(wanted, pool.map(fetch, wanted), strict=True))


def _remember(context: WorkerContext, fetched: Mapping[str, Fetched], takers: Mapping[str, set[str]]) -> None:
    """What each URL was fetched as, kept as long as any report that took the file waits (as its envelope is): a
    dead letter requeued after weeks takes its file (the provider's URL has expired by then), and the retention purge
    sees the file named. Two reports may name one URL (an Instagram post mentioned twice): the first forwarded must
    not give the record an expiry while the other waits, so each taker is added to the URL's set, and `expire_report`
    gives the record its envelope's lifetime once the last of them is done. A file taken again (reused) is written
    again: a record that had an expiry (its earlier reports forwarded) has none while this report waits."""
    if not fetched:
        return
    pipe = context.redis.pipeline(transaction=True)
    for location, outcome in fetched.items():
        pipe.sadd(takers_key(location), *sorted(takers[location]))
        pipe.set(fetched_key(location), orjson.dumps({"sha256": outcome.sha256, "size": outcome.size,
                                                   "content_type": outcome.content_type}))
    pipe.execute()


def expire_report(pipe: Any, tracking_id: str, envelope: Mapping[str, Any] | None, ttl: int) -> None:
    """A report's envelope, its state, the subjects of our mail replies for it (`REPLY_SUBJECTS_KEY`) and the records
    of its fetched files expire together (queued on `pipe`): what waited without end while the report was to be
    forwarded, once it is forwarded or will never be. A record another waiting report took too stays until that one
    is done (see _remember). The attachments are read as a damaged envelope may have them (not a list, an item not
    an object: its dead letter is purged here too)."""
    pipe.expire(envelope_key(tracking_id), ttl)
    pipe.expire(REPORT_STATE_KEY.format(tracking_id=tracking_id), ttl)
    pipe.expire(REPLY_SUBJECTS_KEY.format(tracking_id=tracking_id), ttl)
    attachments = (envelope or {}).get("attachments")
    locations = (str(attachment.get("location") or "") for attachment in attachments
                 if isinstance(attachment, dict)) if isinstance(attachments, list) else ()
    for location in dict.fromkeys(loc for loc in locations if is_provider_url(loc)):
        pipe.eval(_RELEASE_SCRIPT, 2, fetched_key(location), takers_key(location), tracking_id, ttl)
