"""The local fake X / Graph API provider in a thread of the test process, and the settings that point at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from channels.fake_provider import FakeProviderConfig, FakeProviderState, Fault, XUserKeys, create_fake_provider_app
from gateway.intake import Intake
from gateway.queues import REPLY_QUEUE, queue
from gateway.settings import Settings
from tests.aggregator_support import drain
from tests.conftest import LoopbackServer, TestEnvironment, free_port

FIXTURES = Path(__file__).resolve().parent / "fixtures"
X_TOKEN = "test-x-bearer-token"
X_USER_ID = "1708000000000000001"
# OAuth 1.0a User Context of @lapor1708, which replies are signed with (the recommended configuration).
X_USER_KEYS = XUserKeys(consumer_key="test-x-consumer-key", consumer_secret="test-x-consumer-secret",
                        access_token=f"{X_USER_ID}-test-x-access-token", access_token_secret="test-x-access-secret")
IG_USER_ID = "17841405309211844"
IG_TOKEN = "test-instagram-access-token"
IG_SECRET = "test-instagram-app-secret"
IG_VERIFY = "test-instagram-verify-token"


def fixture(path: str) -> Any:
    return orjson.loads((FIXTURES / path).read_bytes())


def fixture_bytes(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


class FakeProviderServer(LoopbackServer):
    """The fake provider on a loopback port, in a thread of the test process."""

    def __init__(self, port: int, webhook_url: str | None = None, started_at: float | None = None) -> None:
        self.webhook_url = webhook_url
        self.state = FakeProviderState(FakeProviderConfig(
            x_bearer_token=X_TOKEN, x_user_id=X_USER_ID, x_username="lapor1708", ig_user_id=IG_USER_ID,
            ig_access_token=IG_TOKEN, ig_app_secret=IG_SECRET, webhook_url=webhook_url, x_user_keys=X_USER_KEYS),
            started_at=started_at)
        super().__init__(lambda: create_fake_provider_app(self.state), port)

    def env(self, **overrides: str) -> dict[str, str]:
        """LAPOR_* settings that enable both social channels against this fake provider."""
        return {
            "LAPOR_X_ENABLED": "true", "LAPOR_X_BEARER_TOKEN": X_TOKEN, "LAPOR_X_USER_ID": X_USER_ID,
            "LAPOR_X_BASE_URL": f"{self.url}/x", "LAPOR_X_MAX_RESULTS": "5", "LAPOR_X_POLL_INTERVAL_SECONDS": "0.2",
            "LAPOR_X_ERROR_RETRY_SECONDS": "0.2",
            "LAPOR_X_CONSUMER_KEY": X_USER_KEYS.consumer_key, "LAPOR_X_CONSUMER_SECRET": X_USER_KEYS.consumer_secret,
            "LAPOR_X_ACCESS_TOKEN": X_USER_KEYS.access_token,
            "LAPOR_X_ACCESS_TOKEN_SECRET": X_USER_KEYS.access_token_secret,
            # Fixture mentions are from 2024 and some tests' clocks from 2030: a first poll looks back ten years.
            "LAPOR_X_FIRST_POLL_LOOKBACK_MINUTES": "5256000",
            "LAPOR_INSTAGRAM_ENABLED": "true", "LAPOR_INSTAGRAM_APP_SECRET": IG_SECRET,
            "LAPOR_INSTAGRAM_VERIFY_TOKEN": IG_VERIFY, "LAPOR_INSTAGRAM_ACCESS_TOKEN": IG_TOKEN,
            "LAPOR_INSTAGRAM_IG_USER_ID": IG_USER_ID, "LAPOR_INSTAGRAM_GRAPH_BASE_URL": f"{self.url}/graph/v21.0",
            "LAPOR_INSTAGRAM_POLL_INTERVAL_SECONDS": "0.3", "LAPOR_INSTAGRAM_PENDING_INTERVAL_SECONDS": "0.1",
            "LAPOR_INSTAGRAM_ERROR_RETRY_SECONDS": "0.2", "LAPOR_INSTAGRAM_FIRST_POLL_LOOKBACK_MINUTES": "5256000",
            # Most tests' mentions share one author: the cap on replies per account is tested on its own.
            "LAPOR_X_REPLY_CAP_PER_HOUR": "1000", "LAPOR_INSTAGRAM_REPLY_CAP_PER_HOUR": "1000",
            **overrides,
        }

    def fail(self, path: str, status: int, *, body: Any = None, headers: dict[str, str] | None = None,
             count: int = 1, method: str | None = None, after: bool = False) -> None:
        """The next `count` requests under `path` (of `method`, or any) get this canned answer (an error, or a
        fixture page); `after`: once carried out (a comment created, and a 5xx for it)."""
        self.state.faults.append(Fault(path=path, status=status, headers=headers or {}, body=body or {},
                                       count=count, method=method, after=after))


def run_reply_jobs(settings: Settings) -> None:
    """Send every queued public reply in this process (the fake provider sees the worker's HTTP)."""
    drain(settings, (REPLY_QUEUE,))


def run_reply_jobs_once_more(settings: Settings, redis: Any) -> bool:
    """Run the queued replies, then put each job that asked for a retry (or was put off) back on its queue, as the
    scheduler does once its time has come. Whether there was one."""
    run_reply_jobs(settings)
    replies = queue(REPLY_QUEUE, redis)
    waiting = replies.scheduled_job_registry.get_job_ids()
    for job_id in waiting:
        replies.scheduled_job_registry.remove(job_id)
        replies.enqueue_job(replies.fetch_job(job_id))
    return bool(waiting)


def run_reply_jobs_to_the_end(settings: Settings, redis: Any, *, rounds: int = 6) -> None:
    """Run the replies and their retries until none is waiting (at most `rounds` runs)."""
    for _ in range(rounds):
        if not run_reply_jobs_once_more(settings, redis):
            return
    raise AssertionError(f"a reply was still being retried after {rounds} runs")


@contextmanager
def running_fake_provider(webhook_url: str | None = None) -> Iterator[FakeProviderServer]:
    """A started fake provider on a free loopback port, stopped afterwards (the tests' `fake` fixtures)."""
    server = FakeProviderServer(port=free_port(), webhook_url=webhook_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()



def on_a_restarted_fake_provider(test_env: TestEnvironment, redis: Any, started_at: float,
                                 post_and_poll: Callable[[FakeProviderServer, Settings, Intake, int], None]) -> None:
    """`make run` twice on one Redis: a new fake provider on the same port, started 5 s after the first, each run
    posting and polling once through `post_and_poll(provider, settings, intake, run)` (runs 1 and 2)."""
    port = free_port()
    for run, started in enumerate((started_at, started_at + 5), start=1):
        provider = FakeProviderServer(port, started_at=started)
        provider.start()
        try:
            settings = test_env.settings(**provider.env())
            intake = Intake(redis, settings)
            post_and_poll(provider, settings, intake, run)
            intake.close()
        finally:
            provider.stop()
