"""The status page in a real headless browser (Debian's chromium, driven by playwright): it loads, reloads
itself, and shows a channel turning down with the reason, then coming back."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import GatewayServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)",
)


@pytest.fixture
async def page() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=CHROMIUM_ARGS
        )
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


SNAPSHOT_JS = """(channel) => {
    const section = document.getElementById('channel-' + channel);
    const reason = section && section.querySelector('.reason');
    const overall = document.getElementById('overall');
    const first = document.querySelector('section.channel');
    return {
        ready: document.readyState,
        title: document.title,
        overall: overall ? overall.innerText : null,
        state: section ? section.dataset.state : null,
        reason: reason ? reason.innerText : null,
        first: first ? first.id : null,
    };
}"""


async def _snapshot(page: object, channel: str, timeout: float = 15) -> dict[str, str | None]:
    """What one fully loaded document shows. The page reloads itself every second, so reading the title, the
    banner and a channel one by one could read two different loads (or a document still being parsed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            shown = await page.evaluate(SNAPSHOT_JS, channel)  # type: ignore[attr-defined]
            if shown["ready"] == "complete" and shown["state"] is not None:
                return shown
        except playwright_api.Error:  # the page is between two loads
            pass
        assert asyncio.get_running_loop().time() < deadline, "the status page never finished loading"
        await asyncio.sleep(0.05)


async def _wait_for_state(page: object, channel: str, state: str, timeout: float = 15) -> dict[str, str | None]:
    """The page reloads itself (meta refresh every second here): wait for a load that shows `state`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        shown = await _snapshot(page, channel, timeout)
        if shown["state"] == state:
            return shown
        assert asyncio.get_running_loop().time() < deadline, f"{channel} never showed {state}: {shown}"
        await asyncio.sleep(0.2)


async def test_the_status_page_shows_a_channel_turning_down_and_why(
    gateway: GatewayServer, redis: Redis, page: object
) -> None:
    await page.goto(f"{gateway.url}/status?refresh=1")  # type: ignore[attr-defined]
    shown = await _snapshot(page, "sms-twilio")
    assert shown["overall"] == "ALL CHANNELS OK"
    assert shown["state"] == "ok"
    assert "LAPOR! gateway status" in (shown["title"] or "")

    # A real Twilio request with a wrong signature, twenty times: the token must be wrong.
    form = gateway.twilio_form(Body="Jalan rusak")
    for _ in range(20):
        assert (await gateway.post_twilio(form, signature="bm90IGEgc2lnbmF0dXJl")).status_code == 403

    shown = await _wait_for_state(page, "sms-twilio", "down")  # no click: the page reloaded itself
    assert shown["overall"] == "DOWN: sms-twilio"
    reason = shown["reason"] or ""
    assert "webhook signatures refused" in reason and "signature_invalid" in reason
    assert (shown["title"] or "").startswith("DOWN")
    # The channel that is down comes first on the page.
    assert shown["first"] == "channel-sms-twilio"

    assert (await gateway.post_twilio(form)).status_code == 200  # a good SMS: the token is right again
    shown = await _wait_for_state(page, "sms-twilio", "ok")
    assert shown["overall"] == "ALL CHANNELS OK"
