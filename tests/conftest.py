"""The real pieces every test builds on: Redis, the reference case store, the gateway on loopback, workers.

REDIS_URL (loopback only) selects the Redis server and database the tests flush; without it the tests start
the embedded Redis the gateway itself would start. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlparse

import httpx
import orjson
import pytest
from aiohttp import web
from pydantic import ValidationError
from redis import Redis
from twilio.request_validator import RequestValidator

from casestore.app import create_casestore_app
from casestore.storage import ReportStore
from channels.registry import WEBHOOK_ADAPTERS, enabled_webhook_adapters, notified_channels, served_channels
from gateway.app import GATEWAY_KEY, create_app
from gateway.embedded_redis import EmbeddedRedis
from gateway.liveness import ServingBeat
from gateway.logs import clear_message_context, configure_logging
from gateway.queues import redis_connection
from gateway.settings import CONFIG_DIR, REQUIRED_SECRETS, Settings, env_name, load_settings
from gateway.tls import tls_context
from normalizer.envelope import STORE_FIELDS, Envelope
from tests.cli_process import ForkedProcess, start_cli

if TYPE_CHECKING:
    from tests.email_support import SmtpServerThread
    from tests.social_helpers import FakeProviderServer

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VENV_BIN = Path(sys.executable).parent
TWILIO_TOKEN = "test-twilio-auth-token"
CASESTORE_TOKEN = "test-casestore-token"
AGGREGATOR_SECRET = "test-aggregator-secret"
# Never reached: tests mock it with respx.
AGGREGATOR_SEND_URL = "http://aggregator.invalid/cgi-bin/sendsms"


@functools.cache
def _shipped_defaults() -> dict[str, Any]:
    """config/defaults.toml, parsed once per test process: every test's environment asked for it (4 ms a test)."""
    return tomllib.loads((CONFIG_DIR / "defaults.toml").read_text())


def secrets_of_enabled_channels(prefix: str) -> dict[str, str]:
    """A value, `<prefix>-<section>-<key>`, for every secret (`REQUIRED_SECRETS`) of a section config/defaults.toml
    switches on: what a production start asks for, a new channel's secret among them without a line in the tests
    (a `[chatbot] secret`: `test-chatbot-secret`)."""
    defaults = _shipped_defaults()
    return {variable: f"{prefix}-{section}-{key}".replace("_", "-") for section, key, variable in REQUIRED_SECRETS
            if defaults.get(section, {}).get("enabled", True)}


def serve_channels() -> tuple[list[str], list[str]]:
    """The channels the HTTP gateway (`lapor-gateway serve`) beats for with every webhook channel of the registry
    switched on, as it decides them (`channels.registry`: `served_channels` and `notified_channels` of its enabled
    adapters): those it receives, and the webhooks it only answers (Instagram's). A new webhook channel is in them
    without a line in the tests."""
    switched_on = {env_name(adapter.settings_section, "enabled"): "true" for adapter in WEBHOOK_ADAPTERS.values()}
    adapters = enabled_webhook_adapters(load_settings({"LAPOR_PROFILE": "development", **switched_on}))
    return served_channels(adapters), notified_channels(adapters)


def serve_beat(redis: Redis, *, clock: Callable[[], float] = time.time) -> ServingBeat:
    """The beat of an HTTP gateway process (`lapor-gateway serve`), for the channels it beats for
    (`serve_channels`)."""
    received, webhooks = serve_channels()
    return ServingBeat(redis, "serve", received, clock=clock, webhooks=webhooks)


# Listening ports come from below the kernel's ephemeral range (32768-60999 on Linux), where the thousands of
# outgoing connections the tests make take theirs: a port the kernel handed out (bind to 0) could be taken by such a
# connection before the test's server binds it ("address already in use"). Each xdist worker draws from its own
# band, and a test process hands a port out again only once most of its band has been: then the oldest half of those
# it handed out are drawn from again (their servers long stopped). Never handing one out twice, a run of many e-mail
# modules in one process used its 2,500 up ("no free port in 12000-14500").
PORT_BASE, PORT_BAND, PORT_BANDS = 12_000, 2_500, 8  # 12000-31999: up to eight workers apart
_issued_ports: dict[int, None] = {}  # in the order handed out


def xdist_worker() -> int:
    """This test process's index among pytest-xdist's workers (gw0, gw1, ...): 0 without xdist."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def free_port() -> int:
    low = PORT_BASE + (xdist_worker() % PORT_BANDS) * PORT_BAND
    for attempt in range(1000):
        if attempt == 500 or len(_issued_ports) >= PORT_BAND * 9 // 10:
            for port in list(_issued_ports)[:len(_issued_ports) // 2]:
                del _issued_ports[port]
        port = random.randrange(low, low + PORT_BAND)
        if port in _issued_ports:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _issued_ports[port] = None
        return port
    raise RuntimeError(f"no free port in {low}-{low + PORT_BAND}")


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    """Poll until `predicate()` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


async def async_wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(autouse=True, scope="session")
def bench_ports_of_this_worker() -> Iterator[None]:
    """The bench's servers listen on a part of its band of their own per xdist worker (`BENCH_PORTS`), as the tests'
    do on theirs: two bench tests running at once drew from the whole band and handed one port to two servers."""
    from bench.procs import PORT_BAND as BENCH_BAND
    from bench.procs import PORTS_VARIABLE

    width = len(BENCH_BAND) // PORT_BANDS
    low = BENCH_BAND.start + (xdist_worker() % PORT_BANDS) * width
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PORTS_VARIABLE, f"{low}-{low + width - 1}")
        yield


@pytest.fixture(autouse=True, scope="session")
def json_logs() -> None:
    """Log as the processes do: JSON lines through the redaction processor."""
    configure_logging("info")


@pytest.fixture(autouse=True)
def no_log_context_from_an_earlier_test() -> Iterator[None]:
    """Each test starts with no log context bound: a line context an earlier test's in-process code left bound showed
    on a later test's lines in the same worker (a reaper's lines carried `channel: email` once in a full run, a
    failure that came and went with the order the tests ran in). The processes clear it themselves between messages
    and jobs."""
    clear_message_context()
    yield
    clear_message_context()


@pytest.fixture(autouse=True, scope="session")
def triage_model_trained_once_per_examples() -> Iterator[None]:
    """Each triage model this process trains, trained once for its examples: the tests that train one themselves
    (the feature row's, the evaluation's) trained the same again, 0.7 to 2 s of CPU each; forward workers read the
    model one of them kept (`kept_triage_models`). Training is deterministic (its classifiers' random_state is fixed),
    so each test still gets the model it would have trained; other examples are trained as before, and a training
    that fails is not kept."""
    from triage.model import Example, TextModel

    trained: dict[tuple[Example, ...], TextModel] = {}
    train = TextModel.train

    def once(examples: Sequence[Example]) -> TextModel:
        key = tuple(examples)
        if key not in trained:
            trained[key] = train(examples)
        return trained[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TextModel, "train", staticmethod(once))
        yield


def first_table(output: str) -> dict[str, dict[str, str]]:
    """The first rich table of the output (its header drawn with ┃, its rows with │, its end with └) as
    {first cell: {column: cell}}."""
    lines = [line.strip() for line in output.splitlines()]
    start = next(index for index, line in enumerate(lines) if line.startswith("┃"))
    end = next(index for index, line in enumerate(lines) if index > start and line.startswith("└"))
    header = [cell.strip() for cell in lines[start].strip("┃").split("┃")]
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines[start:end] if line.startswith("│")]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


# -- Redis -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        parsed = urlparse(configured)
        assert parsed.hostname in ("127.0.0.1", "localhost", "::1"), "tests flush their Redis: use a loopback REDIS_URL"
        # Parallel test workers (pytest-xdist gw0, gw1, ...) each flush a database of their own.
        database = int(parsed.path.lstrip("/") or 0) + xdist_worker()
        yield parsed._replace(path=f"/{database}").geturl()
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as embedded:
        yield embedded.url


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    connection = redis_connection(redis_url)
    connection.flushdb()
    yield connection
    connection.close()


# -- Settings and environment ---------------------------------------------------------------------------------
@dataclass
class TestEnvironment:
    """The LAPOR_* environment of one test, for in-process settings and for the processes it starts."""

    __test__ = False
    values: dict[str, str]

    def settings(self, **overrides: str) -> Settings:
        return load_settings({**self.values, **overrides})

    def process_env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
        env.update(self.values)
        env.update(overrides)
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        return env


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis this test may pause (the shared one must keep answering the other tests)."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGCONT)  # a paused Redis ignores the SIGTERM that stops it
        server.stop()


@contextlib.contextmanager
def paused(server: EmbeddedRedis) -> Iterator[float]:
    """Redis hangs (SIGSTOP) inside the block, which gets the moment it started; it answers again after it."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield time.monotonic()
    finally:
        os.kill(server.pid, signal.SIGCONT)


@pytest.fixture
def deployed(redis: Redis) -> Redis:
    """The test's Redis as a deployment's: a Tracking ID minted there. An operator's command that finds nothing to
    show in a Redis with no sign of the deployment says so (UNKNOWN, exit 2), as `status` does."""
    from gateway.tracking import TrackingIdAllocator

    TrackingIdAllocator(redis, block_size=1).mint()
    return redis


@pytest.fixture(scope="session")
def kept_triage_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory of kept triage models for the whole run, every test process's (their common temporary root):
    the processes and workers the tests build read the model one of them trained, as a deployment's workers do from
    its data dir, where each test's own data dir made each train again (0.6 to 2 s of CPU, and scikit-learn's import).
    The tests of where a model is kept set their own."""
    root = tmp_path_factory.getbasetemp()
    return (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "kept-triage-models"


@pytest.fixture
def test_env(redis: Redis, redis_url: str, tmp_path: Path, kept_triage_models: Path) -> TestEnvironment:
    gateway_port, casestore_port = free_port(), free_port()
    return TestEnvironment(
        {
            **secrets_of_enabled_channels("test"),
            "LAPOR_PROFILE": "production",
            "LAPOR_DATA_DIR": str(tmp_path / "data"),
            # Production wants a relay or a pickup directory for e-mail replies: the tests read them there.
            "LAPOR_EMAIL_OUTBOX_DIR": str(tmp_path / "data" / "email" / "outbox"),
            "REDIS_URL": redis_url,
            "LAPOR_HTTP_PORT": str(gateway_port),
            "LAPOR_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "LAPOR_CASESTORE_URL": f"http://127.0.0.1:{casestore_port}",
            "LAPOR_CASESTORE_PORT": str(casestore_port),
            "LAPOR_CASESTORE_TOKEN": CASESTORE_TOKEN,
            "LAPOR_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "LAPOR_PRIVACY_REPLY_HANDLE_SECRET": "test-reply-handle-secret",
            # Quick retries that still outlast the one-minute case-store outage of the fault tests.
            "LAPOR_QUEUES_RETRY_INTERVALS": ",".join(["1"] * 10 + ["2"] * 10 + ["5"] * 20),
            # Triage trains a model in every forward worker (~2 s of CPU): only its own tests switch it on.
            "LAPOR_TRIAGE_ENABLED": "false",
            "LAPOR_TRIAGE_MODEL_DIR": str(kept_triage_models),
            "LAPOR_AGGREGATOR_SECRET": AGGREGATOR_SECRET,
            "LAPOR_AGGREGATOR_SEND_URL": AGGREGATOR_SEND_URL,
            # No provider's media host is ever reached: a test that fetches attachments allows them under respx
            # (tests/test_media_fetch.py `fetch_hosts`); elsewhere a provider's file goes as not fetched.
            "LAPOR_ATTACHMENTS_FETCH_HOSTS": "",
            # A status view's look at Redis takes milliseconds, but on a test host loaded by the run a thread may
            # wait seconds for the CPU: the views' 3 s bound answered "Redis not answering" of one that answered.
            # The test of that bound sets its own (`test_a_redis_slower_than_the_views_bound_but_answering_...`).
            "LAPOR_HEALTH_VIEW_CHECK_SECONDS": "30",
        }
    )


@pytest.fixture
def settings(test_env: TestEnvironment) -> Settings:
    return test_env.settings()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Every log line the test's own process writes, as JSON text."""
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    yield stream
    configure_logging("info")


@pytest.fixture
def email_settings(test_env: TestEnvironment) -> Settings:
    """The settings of an e-mail test: its SMTP server (`smtp_server`) on a port of its own."""
    return test_env.settings(LAPOR_SMTP_PORT=str(free_port()))


@pytest.fixture
def smtp_server(email_settings: Settings, redis: Redis) -> Iterator[SmtpServerThread]:
    """The gateway's SMTP server on loopback (`email_settings`), in a thread of its own."""
    from tests.email_support import SmtpServerThread  # here: tests.email_support imports this module

    server = SmtpServerThread(email_settings, redis).start()
    yield server
    server.stop()


def log_events(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


# -- Servers on loopback in a thread ----------------------------------------------------------------------------
class BackgroundLoop:
    """An event loop on a daemon thread of this process: what the in-process servers of the tests run on."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self, setup: Callable[[], Awaitable[None]], what: str) -> None:
        """Run `setup` on a new loop and keep the loop running; returns once `setup` has returned."""
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            await setup()
            ready.set()

        def run() -> None:
            loop.run_until_complete(serve())
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), f"{what} did not start"

    def stop(self, teardown: Callable[[], Awaitable[None]]) -> None:
        """Run `teardown` on the loop, then stop and close it."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(teardown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self._loop, self._thread = None, None


class LoopbackServer:
    """An aiohttp app served from a thread of this process on a fixed port, so it can go down and come back."""

    def __init__(self, app_factory: Callable[[], web.Application], port: int) -> None:
        self._app_factory = app_factory
        self.port = port
        self._background = BackgroundLoop()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        async def serve() -> None:
            self._runner = web.AppRunner(self._app_factory(), access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

        self._background.start(serve, "server")

    def stop(self) -> None:
        if self._runner is None:
            return
        self._background.stop(self._runner.cleanup)
        self._runner = None


class CaseStoreServer(LoopbackServer):
    """The reference case store, inspectable directly through its SQLite store."""

    def __init__(self, port: int, token: str, path: Path) -> None:
        self.store = ReportStore(path)
        # Set by a test that posts envelopes this gateway does not make (a later revision's fields, which the store
        # keeps; no envelope_version): the check of what the gateway sent then does not apply.
        self.posted_by_hand = False
        # (method, path) of every request it was sent, in order: a test counts the gateway's lookups by them.
        self.requests: list[tuple[str, str]] = []
        super().__init__(lambda: self._recording_app(token), port)

    def _recording_app(self, token: str) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                         ) -> web.StreamResponse:
            self.requests.append((request.method, request.path))
            return await handler(request)

        app = create_casestore_app(self.store, token)
        app.middlewares.insert(0, record)
        return app

    def lookups(self, tracking_id: str) -> int:
        """How many times the report `tracking_id` was asked for (`GET /v1/reports/{tracking_id}`)."""
        return self.requests.count(("GET", f"/v1/reports/{tracking_id}"))

    def assert_envelopes_strict(self) -> None:
        """Every stored report is an envelope of this gateway's own model (no field it does not define, at any
        level): the case store would take a misspelled field the gateway sent as a later revision's. Its
        envelope_version is there, the JSON integer (the model refuses any other form; absent, it would default)."""
        for report in self.reports():
            envelope = {key: value for key, value in report.items() if key not in STORE_FIELDS}
            if "envelope_version" not in envelope:
                raise AssertionError(f"the case store got an envelope without its envelope_version: {sorted(envelope)}")
            try:
                Envelope.model_validate(envelope)
            except ValidationError as error:
                raise AssertionError(f"the case store got what the envelope model refuses: {error}") from error

    def reports(self) -> list[dict[str, object]]:
        return self.store.list_after(0, 100_000)

    def get(self, tracking_id: str) -> dict[str, object] | None:
        return self.store.get(tracking_id)


@pytest.fixture
def casestore(settings: Settings, tmp_path: Path) -> Iterator[CaseStoreServer]:
    server = CaseStoreServer(port=settings.casestore.port, token=CASESTORE_TOKEN, path=tmp_path / "casestore.db")
    server.start()
    yield server
    server.stop()
    try:
        if not server.posted_by_hand:
            server.assert_envelopes_strict()
    finally:
        server.store.close()


# -- The gateway over real HTTP ---------------------------------------------------------------------------------------
def twilio_sid(label: str, prefix: str = "SM") -> str:
    """An identifier of Twilio's shape (two letters, 32 hex digits) named by `label`: the same label, the same SID.
    The gateway refuses any other shape (channels/twilio_sms.py), so a test's "SMparent" would be a 400."""
    return prefix + hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()


@dataclass
class GatewayServer:
    url: str
    settings: Settings
    client: httpx.AsyncClient

    def twilio_form(self, **overrides: str) -> dict[str, str]:
        form = {
            "ToCountry": "ID", "ToState": "", "SmsMessageSid": "SM" + "0" * 32, "NumMedia": "0", "ToCity": "",
            "FromZip": "", "SmsSid": "SM" + "0" * 32, "FromState": "", "SmsStatus": "received", "FromCity": "",
            "Body": "Jalan rusak di depan SDN 3", "FromCountry": "ID", "To": "+621708", "ToZip": "",
            "NumSegments": "1", "MessageSid": "SM" + "0" * 32, "AccountSid": "AC" + "1" * 32,
            "From": "+6281234567890", "ApiVersion": "2010-04-01",
        }
        form.update(overrides)
        return form

    def twilio_signature(self, form: dict[str, str], path: str = "/v1/channels/sms/twilio",
                         token: str = TWILIO_TOKEN) -> str:
        return RequestValidator(token).compute_signature(self.settings.public_url + path, form)

    async def post_twilio(self, form: dict[str, str], *, signature: str | None = "auto",
                          path: str = "/v1/channels/sms/twilio") -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "auto":
            signature = self.twilio_signature(form, path)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return await self.client.post(path, content=urlencode(form), headers=headers)


@contextlib.asynccontextmanager
async def serving_gateway(settings: Settings, redis: Redis, *, timeout: float = 10,
                          app: web.Application | None = None,
                          lingering_time: float = 10.0) -> AsyncIterator[GatewayServer]:
    """The gateway's app (`app`, or one made here) on `settings.http.port` of this test's loop, with a client for it;
    cleaned up after. `lingering_time`: how long aiohttp reads and drops the unread rest of a request's body after
    answering it before it closes the connection (aiohttp's default, as `lapor-gateway serve` runs it: 10 s)."""
    runner = web.AppRunner(app or create_app(settings, redis), access_log=None, lingering_time=lingering_time)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http.port).start()
    runner.app[GATEWAY_KEY].now_listening()  # as `lapor-gateway serve` once bound: the beat starts
    try:
        async with httpx.AsyncClient(verify=tls_context(), base_url=settings.public_url, timeout=timeout) as client:
            yield GatewayServer(url=settings.public_url, settings=settings, client=client)
    finally:
        await runner.cleanup()


@pytest.fixture
def fake() -> Iterator[FakeProviderServer]:
    """The local fake X / Graph API provider (tests/social_helpers.py), started; modules may override it."""
    from tests.social_helpers import running_fake_provider

    with running_fake_provider() as server:
        yield server


@pytest.fixture
async def gateway(settings: Settings, redis: Redis) -> AsyncIterator[GatewayServer]:
    async with serving_gateway(settings, redis) as server:
        yield server


# -- Worker processes ------------------------------------------------------------------------------------
@dataclass
class ProcessHandle:
    process: ForkedProcess
    log_path: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def start_process(test_env: TestEnvironment, tmp_path: Path) -> Iterator[Callable[..., ProcessHandle]]:
    """Start `lapor-gateway <args>` as a real process with the test's environment (forked from the server of
    tests/cli_process.py, the libraries imported); stopped at teardown."""
    handles: list[ProcessHandle] = []

    def start(*args: str, **env: str) -> ProcessHandle:
        log_path = tmp_path / f"process-{len(handles)}-{args[0]}.log"
        handle = ProcessHandle(start_cli(list(args), test_env.process_env(**env), cwd=REPO_ROOT, log_path=log_path),
                               log_path)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
def worker(start_process: Callable[..., ProcessHandle]) -> ProcessHandle:
    """Workers for every queue (one process each), returned once each says it is ready (the forward worker trains
    its triage model first), so a test's timeouts measure the work and not the start-up."""
    return wait_ready(start_process("worker"))


def wait_ready(handle: ProcessHandle, queues: int = 3) -> ProcessHandle:
    """Wait until a worker process says each of its `queues` is ready (or it died, which fails the test)."""
    wait_until(lambda: handle.output().count('"worker.ready"') >= queues or handle.process.poll() is not None,
               timeout=90)
    assert handle.process.poll() is None, handle.output()[-3000:]
    return handle
