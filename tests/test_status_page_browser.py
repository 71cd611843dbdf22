"""The status page in a real headless browser (Debian's chromium, driven by playwright): it loads, reloads
itself, and shows a channel turning down with the reason, then coming back; the gateway gone, it says so and since
when over the last data it had, and comes back by itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from redis import Redis

from gateway.settings import Settings
from tests.conftest import GatewayServer, serving_gateway

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
# One browser for the module's tests, each in a context of its own (its own cookies, cache and pages, as a browser
# launched for it had): a launch cost a second of CPU and two to four seconds on a loaded machine, thirteen times.
# The tests run on the module's event loop, the browser's, and in one test process (xdist group).
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)",
    ),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.xdist_group("browser"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@contextlib.asynccontextmanager
async def new_context(browser: object, **options: object) -> AsyncIterator[object]:
    context = await browser.new_context(**options)  # type: ignore[attr-defined]
    try:
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: object) -> AsyncIterator[object]:
    async with new_context(browser) as context:
        opened = await context.new_page()  # type: ignore[attr-defined]
        yield opened
        # A test's route handler still fetching when its context closes raises "Response has been disposed" on the
        # module's loop, which the next test then met (the meta refresh reloads the page every period).
        await opened.unroute_all(behavior="ignoreErrors")  # type: ignore[attr-defined]


@pytest_asyncio.fixture(loop_scope="module")
async def gateway(settings: Settings, redis: Redis) -> AsyncIterator[GatewayServer]:
    """conftest's, on the module's event loop, where the tests and the browser run."""
    async with serving_gateway(settings, redis) as server:
        yield server


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


STALE_JS = """() => {
    const banner = document.getElementById('unreachable');
    const section = document.getElementById('channel-sms-twilio');
    return {
        banner: banner ? banner.innerText : null,
        stale: document.documentElement.dataset.stale || null,
        title: document.title,
        url: location.href,
        generated: (document.querySelector('[data-generated]') || {dataset: {}}).dataset.generated || null,
        overall: (document.getElementById('overall') || {}).innerText || null,
        state: section ? section.dataset.state : null,
        dimmed: section ? getComputedStyle(section).opacity : null,
    };
}"""


async def _wait_for(page: object, test: object, timeout: float = 15, tick_ms: int = 0) -> dict[str, str | None]:
    """The page as STALE_JS reads it, once `test` holds of it. `tick_ms`: the page's clock (installed with
    `page.clock.install()`) is moved on by that much at each look, firing the page's timers that come due."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        shown = await page.evaluate(STALE_JS)  # type: ignore[attr-defined]
        if test(shown):  # type: ignore[operator]
            return shown
        assert asyncio.get_running_loop().time() < deadline, f"never: {shown}"
        if tick_ms:
            await page.clock.fast_forward(tick_ms)  # type: ignore[attr-defined]
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def standing_in(kind: str, port: int) -> AsyncIterator[None]:
    """What answers on the gateway's port while it is gone: nothing (`stopped`), a proxy's own error page (`proxy`),
    or a process that takes the connection and never answers (`hung`: stopped with SIGSTOP, its host paused)."""
    if kind == "stopped":
        yield
        return
    held: list[asyncio.StreamWriter] = []

    async def take(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if kind == "proxy":
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            writer.close()
        else:
            held.append(writer)

    server = await asyncio.start_server(take, "127.0.0.1", port, reuse_address=True)
    try:
        yield
    finally:
        server.close()
        for writer in held:
            writer.close()


GONE = [
    pytest.param("stopped", "no connection", id="process-stopped"),
    pytest.param("proxy", "answered 502, not with the status page", id="a-proxys-502"),
    pytest.param("hung", "no answer in 10 s", id="hung"),
]


@pytest.mark.parametrize(("kind", "why"), GONE)
async def test_the_status_page_says_since_when_the_gateway_is_unreachable_and_comes_back_by_itself(
    settings: Settings, redis: Redis, page: object, kind: str, why: str
) -> None:
    """Reloaded by its meta refresh alone, a page open on a gateway that stopped became chromium's "This site can't
    be reached" (chrome-error://chromewebdata/): the last state and its reasons gone, nothing said since when (and
    a proxy's 502 page replaced it as well). It keeps the last data, dimmed, under a banner that says since when the
    gateway is unreachable (UTC and the operators' zone), why, and when that data was generated, the same "since"
    however many tries fail; once the gateway answers again the page is its own again, without a click."""
    # `hung`: the page gives up on a fetch after 10 s, by a timer of its own. Its clock (playwright's, flowing as the
    # real one until moved) is moved on a second at each look while the test waits for that, not waited out.
    hung_tick_ms = 0
    if kind == "hung":
        await page.clock.install()  # type: ignore[attr-defined]
        hung_tick_ms = 1000
    async with serving_gateway(settings, redis) as gateway:
        await page.goto(f"{gateway.url}/status?refresh=1")  # type: ignore[attr-defined]
        # A refresh by the script, not a load: the document stays while its body is replaced.
        await page.evaluate("() => { window.sameDocument = true; }")  # type: ignore[attr-defined]
        before = await _wait_for(page, lambda shown: shown["state"] == "ok")
        await asyncio.sleep(1.5)
        # (a refresh answered past the page's 10 s, the test's own loaded process serving it, shows the banner until
        # the next one answers: the page as it stands once answered)
        before = await _wait_for(page, lambda shown: shown["state"] == "ok" and shown["banner"] is None, timeout=30)
        assert before["banner"] is None and before["stale"] is None
    async with standing_in(kind, settings.http.port):
        # (a try between the gateway's stop and the stand-in's start meets no connection: the banner then says why of
        # the try after it, the since of the first)
        gone = await _wait_for(page, lambda shown: why in (shown["banner"] or ""), timeout=25, tick_ms=hung_tick_ms)
        assert gone["url"] == f"{gateway.url}/status?refresh=1"
        banner = gone["banner"] or ""
        since = re.search(r"^gateway unreachable since (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ) "
                          r"\(\d\d:\d\d:\d\d WIB(, \w+ \d+)?\): "
                          rf"{re.escape(why)}; last data from (.+) \(stale below\); trying again every 1 s$", banner)
        assert since, banner
        # (WIB is a day ahead from 17:00 UTC: "(00:08 WIB, Dec 6)")
        assert since.group(3) == gone["generated"]
        assert re.fullmatch(r".+Z \(\d\d:\d\d WIB(, \w+ \d+)?\)", since.group(3))
        # The last data is still there, dimmed; the tab says it too. (On a machine too loaded for the views' time
        # bound, the refresh right before the stop can be the page of a check that did not end in time: then that
        # page is the data kept, its DOWN headline and no channels.)
        assert gone["stale"] == "true" and gone["overall"], gone
        if gone["state"] is not None or not gone["overall"].startswith("DOWN: Redis "):
            assert (gone["state"], gone["overall"]) == ("ok", "ALL CHANNELS OK"), gone
        headline = "OK" if gone["state"] == "ok" else "DOWN"
        assert float(gone["dimmed"] or 1) < 1 and (gone["title"] or "").startswith(f"UNREACHABLE · {headline}")
        await asyncio.sleep(2.5)  # more tries fail (for `hung`, one is still waiting): since when stays the first
        later = await page.evaluate(STALE_JS)  # type: ignore[attr-defined]
        assert (later["banner"] or "").startswith(f"gateway unreachable since {since.group(1)} "), later
        assert await page.evaluate("() => window.sameDocument === true")  # type: ignore[attr-defined]

    async with serving_gateway(settings, redis):  # the same port: the gateway is back
        back = await _wait_for(page, lambda shown: shown["banner"] is None and shown["state"] == "ok")
    assert back["stale"] is None and float(back["dimmed"] or 0) == 1
    assert (back["title"] or "").startswith("OK ·") and back["generated"] != gone["generated"]


ROOT_JS = """() => ({
    zoneLabel: document.documentElement.dataset.zoneLabel || null,
    gone: document.documentElement.dataset.gone || null,
    version: document.documentElement.dataset.version || null,
    sameDocument: window.sameDocument === true,
    meta: document.querySelectorAll('meta[http-equiv="refresh"]').length,
    overall: (document.getElementById('overall') || {}).innerText || null,
})"""


async def _wait_for_root(page: object, test: object, timeout: float = 15) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with contextlib.suppress(playwright_api.Error):  # the page is between two loads
            shown = await page.evaluate(ROOT_JS)  # type: ignore[attr-defined]
            if test(shown):  # type: ignore[operator]
                return shown
        assert asyncio.get_running_loop().time() < deadline, "never"
        await asyncio.sleep(0.1)


async def test_the_status_page_takes_its_html_attributes_from_each_page_and_loads_whole_after_an_upgrade(
    gateway: GatewayServer, page: object
) -> None:
    """The script swapped the body alone: the `<html>` data attributes (the zone's label across a DST change, the
    period) stayed as the tab first had them, and after an upgrade the tab ran the old script and style for as long
    as it stayed open. Each page fetched gives its attributes; one with another `data-version` is loaded whole. And
    the meta refresh, now in the head, is removed and reloads nothing while the script runs."""
    loads: list[str] = []
    page.on("load", lambda _: loads.append("load"))  # type: ignore[attr-defined]
    await page.goto(f"{gateway.url}/status?refresh=1")  # type: ignore[attr-defined]
    await page.evaluate("""() => {
        window.sameDocument = true;
        document.documentElement.dataset.zoneLabel = 'WITA';  // as before a change of the zone's abbreviation
        document.documentElement.dataset.gone = 'x';
    }""")  # type: ignore[attr-defined]
    shown = await _wait_for_root(page, lambda shown: shown["zoneLabel"] == "WIB" and shown["gone"] is None)
    from gateway.status_page import PAGE_VERSION

    assert shown["sameDocument"] and shown["meta"] == 0 and shown["version"] == PAGE_VERSION
    await asyncio.sleep(2.5)  # more refreshes by the script, and the meta refresh's period twice over
    assert (await page.evaluate(ROOT_JS))["sameDocument"] and loads == ["load"]  # type: ignore[attr-defined]

    # The tab's script and style are an older release's: the next page fetched is loaded whole.
    await page.evaluate("() => { document.documentElement.dataset.version = 'older0000000'; }")  # type: ignore
    shown = await _wait_for_root(page, lambda shown: not shown["sameDocument"] and shown["overall"] is not None)
    assert shown["version"] == PAGE_VERSION and len(loads) >= 2


async def test_the_status_page_reloads_itself_when_a_proxys_csp_blocks_its_inline_script(
    gateway: GatewayServer, page: object
) -> None:
    """Scripts on, but a proxy's `Content-Security-Policy` refusing inline scripts: the script never ran and the
    meta refresh, in a `<noscript>`, did not apply either, so the page never refreshed. The meta refresh is in the
    head, and reloads it."""
    blocked: list[str] = []

    async def with_csp(route: object) -> None:
        response = await route.fetch()  # type: ignore[attr-defined]
        await route.fulfill(response=response,  # type: ignore[attr-defined]
                            headers={**response.headers, "content-security-policy": "script-src 'none'"})

    await page.route("**/status*", with_csp)  # type: ignore[attr-defined]
    page.on("console", lambda message: blocked.append(message.text))  # type: ignore[attr-defined]
    loads: list[str] = []
    page.on("load", lambda _: loads.append("load"))  # type: ignore[attr-defined]
    await page.goto(f"{gateway.url}/status?refresh=1")  # type: ignore[attr-defined]
    deadline = asyncio.get_running_loop().time() + 15
    while len(loads) < 3:
        assert asyncio.get_running_loop().time() < deadline, f"the page reloaded {len(loads) - 1} time(s)"
        await asyncio.sleep(0.1)
    assert any("Content Security Policy" in text for text in blocked), blocked  # the script was blocked indeed


async def test_the_status_page_run_after_its_load_still_cancels_the_meta_refresh(
    gateway: GatewayServer, page: object
) -> None:
    """A proxy or an optimiser that defers inline scripts runs the refresh script after the load event: the script
    stopped the meta refresh at the load event only, which had passed, and the tab was reloaded whole every period
    (the browser's error page in place of the banner once the gateway was gone). Run late, it stops it at once."""
    async def deferred(route: object) -> None:
        response = await route.fetch()  # type: ignore[attr-defined]
        html = await response.text()
        script = html[html.index("<script>") + len("<script>"):html.index("</script>")]
        late = ("window.addEventListener('load', function () { setTimeout(function () { var s = "
                "document.createElement('script'); s.textContent = " + json.dumps(script) + "; "
                "document.head.appendChild(s); }, 50); });")
        await route.fulfill(response=response, body=html.replace(script, late))  # type: ignore[attr-defined]

    await page.route("**/status*", deferred)  # type: ignore[attr-defined]
    loads: list[str] = []
    page.on("load", lambda _: loads.append("load"))  # type: ignore[attr-defined]
    await page.goto(f"{gateway.url}/status?refresh=1")  # type: ignore[attr-defined]
    await asyncio.sleep(3.5)  # the meta refresh's period three times over
    assert loads == ["load"], f"the page was reloaded whole {len(loads) - 1} time(s)"

# A long reason (a URL, no space in 90 characters), a long hostname and a long Redis address: what made the page
# wider than a phone's screen, with the nine counters in one row.
LONG_REASON = ("poller failing for 11 min: Graph API 503 Service Unavailable: https://graph.microsoft.com/v1.0/"
               "users/pengaduan-masyarakat-kabupaten/messages?$filter=isRead%20eq%20false&$top=50 timed out")
LONG_HOST = "intake-gateway-primary-node-07.lapor-production.internal.example.go.id:4242"


def _channel(name: str, state: str, reason: str = "") -> dict[str, object]:
    return {"channel": name, "state": state, "reason": reason, "since": "2026-12-02 02:11:00Z",
            "counters": {"received": 12345, "dead_lettered": 7}, "deadletters": 7, "last_message_at": None,
            "last_errors": [{"at": "2026-12-02 02:11:00Z", "kind": "poll_failed", "reason": LONG_REASON}],
            "poller": {"holder": LONG_HOST, "lease_remaining_seconds": 42, "holder_gone": False},
            "last_poll_ok_at": None}


def _pages() -> dict[str, str]:
    from gateway.health.documents import check_failed_document, redis_down_document
    from gateway.health.monitor import overall_reason
    from gateway.status_page import render_check_failed_page, render_status_page
    from gateway.status_page import render_redis_down_page as redis_down_page

    channels = [_channel("sms-aggregator", "degraded", "7 dead letter(s) in the last 15 min"),
                _channel("sms-twilio", "ok"), _channel("email", "down", LONG_REASON), _channel("x", "ok"),
                _channel("instagram", "ok")]
    outage = {"reason": "casestore_unreachable", "since": "2026-12-02 02:23:10Z", "declared": True}
    queue = {"name": "lapor-forward-with-a-long-name", "depth": 123456, "held": 3, "scheduled": 2,
             "oldest_age_seconds": 4000, "workers": 2, "failed": 1, "in_progress": 1,
             "oldest_in_progress_seconds": 240, "last_failure": "casestore_unreachable: " + LONG_HOST}
    status = {"overall": "down", "generated_at": "2026-12-02 02:30:00Z", "deadletters": {"total": 7},
              "spool_size": 0, "queues": [queue] * 3, "channels": channels, "casestore_outage": outage,
              "reason": overall_reason(channels, outage)}
    redis_down = redis_down_document(ConnectionError("Error 111 connecting to " + LONG_HOST), 123456, 0,
                                     "the Redis server REDIS_URL names (" + LONG_HOST.replace("-", "_") + ")")
    # Each time with the operators' local time after it, as the gateway renders them: the longer headline still fits.
    zone = ZoneInfo("Asia/Jakarta")
    return {
        "status": render_status_page(status, 600, zone),
        "redis down": redis_down_page(redis_down, 600, zone),
        "check failed": render_check_failed_page(check_failed_document(KeyError(LONG_HOST), 0), 600, zone),
    }


LAYOUT_JS = """() => {
    const first = document.querySelector('section.channel .reason');
    return {
        layoutWidth: document.documentElement.clientWidth,
        scrollWidth: document.documentElement.scrollWidth,
        lang: document.documentElement.lang,
        firstReasonBottom: first ? first.getBoundingClientRect().bottom : null,
        overallBottom: document.getElementById('overall').getBoundingClientRect().bottom,
    };
}"""


@pytest.mark.parametrize("name", ["status", "redis down", "check failed"])
@pytest.mark.parametrize(("width", "height", "mobile"), [(390, 844, True), (1366, 768, False)],
                         ids=["phone", "laptop"])
async def test_the_status_page_fits_the_screen_with_the_worst_and_why_in_its_first_view(
        browser: object, name: str, width: int, height: int, mobile: bool) -> None:
    """On a phone the page is laid out at the phone's width (a page without a viewport is laid out 980 px wide and
    shrunk), scrolls only downwards (a long reason, hostname or Redis address wraps), and shows the headline and the
    reason of the channel that is down before any scrolling."""
    async with new_context(browser, viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
                           device_scale_factor=3 if mobile else 1) as context:
        page = await context.new_page()  # type: ignore[attr-defined]
        await page.set_content(_pages()[name])
        shown = await page.evaluate(LAYOUT_JS)
    assert shown["lang"] == "en"
    assert shown["layoutWidth"] == width, shown
    assert shown["scrollWidth"] <= width, shown
    assert shown["overallBottom"] <= height, shown
    if name == "status":
        assert shown["firstReasonBottom"] is not None and shown["firstReasonBottom"] <= height, shown
