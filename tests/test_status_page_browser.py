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


async def _state(page: object, channel: str) -> str | None:
    return await page.get_attribute(f"#channel-{channel}", "data-state")  # type: ignore[attr-defined]


async def _wait_for_state(page: object, channel: str, state: str, timeout: float = 15) -> None:
    """The page reloads itself (meta refresh every second here): wait for it to show `state`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await _state(page, channel) == state:
                return
        except playwright_api.Error:  # the page is between two loads
            pass
        assert asyncio.get_running_loop().time() < deadline, f"{channel} never showed {state}"
        await asyncio.sleep(0.2)


async def test_the_status_page_shows_a_channel_turning_down_and_why(
    gateway: GatewayServer, redis: Redis, page: object
) -> None:
    await page.goto(f"{gateway.url}/status?refresh=1")  # type: ignore[attr-defined]
    assert await page.inner_text("#overall") == "ALL CHANNELS OK"  # type: ignore[attr-defined]
    assert await _state(page, "sms-twilio") == "ok"
    assert "LAPOR! gateway status" in await page.title()  # type: ignore[attr-defined]

    # A real Twilio request with a wrong signature, twenty times: the token must be wrong.
    form = gateway.twilio_form(Body="Jalan rusak")
    for _ in range(20):
        assert (await gateway.post_twilio(form, signature="bm90IGEgc2lnbmF0dXJl")).status_code == 403

    await _wait_for_state(page, "sms-twilio", "down")  # no click: the page reloaded itself
    overall = await page.inner_text("#overall")  # type: ignore[attr-defined]
    assert overall == "DOWN: sms-twilio"
    reason = await page.inner_text("#channel-sms-twilio .reason")  # type: ignore[attr-defined]
    assert "webhook signatures refused" in reason and "signature_invalid" in reason
    assert (await page.title()).startswith("DOWN")  # type: ignore[attr-defined]
    # The channel that is down comes first on the page.
    first = await page.get_attribute("section.channel", "id")  # type: ignore[attr-defined]
    assert first == "channel-sms-twilio"

    assert (await gateway.post_twilio(form)).status_code == 200  # a good SMS: the token is right again
    await _wait_for_state(page, "sms-twilio", "ok")
    assert await page.inner_text("#overall") == "ALL CHANNELS OK"  # type: ignore[attr-defined]
