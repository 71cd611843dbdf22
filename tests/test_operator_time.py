"""The operators' time zone: each UTC time of a human view followed by its local time, the setting checked at start.

Operators read the views at 2 a.m. in Jakarta, where every time said "19:05:12Z". JSON outputs stay UTC alone.
"""

from __future__ import annotations

import io
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from redis import Redis

from gateway.health.signals import HealthSignals
from gateway.localtime import local_clock, shown_time, with_local_times
from gateway.queues import FORWARD_FUNC, FORWARD_QUEUE
from gateway.settings import SettingsError, load_settings
from gateway.status_page import render_check_failed_page, render_redis_down_page, render_status_page
from tests.conftest import TestEnvironment, serving_gateway
from tests.test_forwarding import cli
from tests.test_status_views import the_deployments
from workers.deadletters import DeadLetters

DEV = {"LAPOR_PROFILE": "development"}


@dataclass(frozen=True)
class Clock:
    id: str
    utc: datetime
    zone: str
    shown: str | None


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


CLOCKS = [
    # DST-free zones of Indonesia: UTC+7, +8, +9 all year, each with its own abbreviation.
    Clock("wib-same-day", _utc(2026, 12, 4, 1, 0, 0), "Asia/Jakarta", "08:00 WIB"),
    Clock("wib-next-day", _utc(2026, 12, 4, 19, 5, 12), "Asia/Jakarta", "02:05 WIB, Dec 5"),
    Clock("wib-in-july", _utc(2026, 7, 4, 19, 5, 12), "Asia/Jakarta", "02:05 WIB, Jul 5"),
    Clock("wib-new-year", _utc(2026, 12, 31, 17, 0, 0), "Asia/Jakarta", "00:00 WIB, Jan 1"),
    Clock("wita", _utc(2026, 12, 4, 10, 30, 0), "Asia/Makassar", "18:30 WITA"),
    Clock("wit", _utc(2026, 12, 4, 10, 30, 0), "Asia/Jayapura", "19:30 WIT"),
    Clock("half-hour-offset", _utc(2026, 12, 4, 19, 5, 0), "Asia/Kolkata", "00:35 IST, Dec 5"),
    Clock("no-abbreviation-offset", _utc(2026, 12, 4, 10, 0, 0), "Asia/Dubai", "14:00 +04"),
    Clock("west-of-utc-day-before", _utc(2026, 12, 4, 2, 0, 0), "America/New_York", "21:00 EST, Dec 3"),
    # A zone with daylight saving time: winter and summer, and either side of each change.
    Clock("amsterdam-winter", _utc(2026, 12, 4, 19, 5, 12), "Europe/Amsterdam", "20:05 CET"),
    Clock("amsterdam-summer", _utc(2026, 7, 4, 19, 5, 12), "Europe/Amsterdam", "21:05 CEST"),
    Clock("amsterdam-before-spring-change", _utc(2026, 3, 29, 0, 59, 59), "Europe/Amsterdam", "01:59 CET"),
    Clock("amsterdam-after-spring-change", _utc(2026, 3, 29, 1, 0, 0), "Europe/Amsterdam", "03:00 CEST"),
    Clock("amsterdam-autumn-first-0230", _utc(2026, 10, 25, 0, 30, 0), "Europe/Amsterdam", "02:30 CEST"),
    Clock("amsterdam-autumn-second-0230", _utc(2026, 10, 25, 1, 30, 0), "Europe/Amsterdam", "02:30 CET"),
    # UTC itself: the time is already there.
    Clock("utc", _utc(2026, 12, 4, 19, 5, 12), "UTC", None),
    Clock("etc-utc", _utc(2026, 12, 4, 19, 5, 12), "Etc/UTC", None),
    Clock("london-winter-is-gmt", _utc(2026, 12, 4, 19, 5, 12), "Europe/London", "19:05 GMT"),
]


@pytest.mark.parametrize("case", CLOCKS, ids=lambda case: case.id)
def test_a_utc_time_in_the_operators_zone(case: Clock) -> None:
    assert local_clock(case.utc, ZoneInfo(case.zone)) == case.shown


@dataclass(frozen=True)
class Text:
    id: str
    text: str
    zone: str | None
    shown: str


TEXTS = [
    Text("a-time", "2026-12-04 19:05:12Z", "Asia/Jakarta", "2026-12-04 19:05:12Z (02:05 WIB, Dec 5)"),
    Text("each-time-of-a-reason",
         "no poll since 2026-12-04 16:00:00Z; the newest 2026-12-04 16:59:00Z: parse_error", "Asia/Jakarta",
         "no poll since 2026-12-04 16:00:00Z (23:00 WIB); the newest 2026-12-04 16:59:00Z (23:59 WIB): parse_error"),
    Text("dst-zone", "since 2026-07-04 19:05:12Z", "Europe/Amsterdam", "since 2026-07-04 19:05:12Z (21:05 CEST)"),
    Text("in-html", "<td>2026-12-04 01:00:00Z</td>", "Asia/Jakarta", "<td>2026-12-04 01:00:00Z (08:00 WIB)</td>"),
    Text("said-once", "2026-12-04 01:00:00Z (08:00 WIB)", "Asia/Jakarta", "2026-12-04 01:00:00Z (08:00 WIB)"),
    Text("a-bracket-after-it", "quarantined 2026-12-04 01:00:00Z (parse_error)", "Asia/Jakarta",
         "quarantined 2026-12-04 01:00:00Z (08:00 WIB) (parse_error)"),
    Text("json-form-left", "2026-12-04T19:05:12Z", "Asia/Jakarta", "2026-12-04T19:05:12Z"),
    Text("no-such-day", "2026-13-45 19:05:12Z", "Asia/Jakarta", "2026-13-45 19:05:12Z"),
    Text("utc-zone", "2026-12-04 19:05:12Z", "UTC", "2026-12-04 19:05:12Z"),
    Text("no-zone", "2026-12-04 19:05:12Z", None, "2026-12-04 19:05:12Z"),
    Text("no-time", "never", "Asia/Jakarta", "never"),
]


@pytest.mark.parametrize("case", TEXTS, ids=lambda case: case.id)
def test_each_utc_time_of_a_view_is_followed_by_its_local_time(case: Text) -> None:
    assert with_local_times(case.text, None if case.zone is None else ZoneInfo(case.zone)) == case.shown


def test_a_unix_time_as_the_commands_print_it() -> None:
    moment = _utc(2026, 12, 4, 19, 5, 12).timestamp()
    assert shown_time(moment, ZoneInfo("Asia/Jakarta")) == "2026-12-04 19:05:12Z (02:05 WIB, Dec 5)"
    assert shown_time(moment, None) == "2026-12-04 19:05:12Z"


def test_the_default_zone_is_jakarta() -> None:
    settings = load_settings(DEV)
    assert settings.operator_timezone == "Asia/Jakarta"
    assert settings.operator_zone == ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Asia/Makassar", "UTC", " Asia/Jayapura "])
def test_a_zone_is_taken_from_the_environment(zone: str) -> None:
    settings = load_settings({**DEV, "LAPOR_OPERATOR_TIMEZONE": zone})
    assert settings.operator_zone == ZoneInfo(zone.strip())


@pytest.mark.parametrize("zone", [
    "Asia/Jakrta",  # a typo
    "WIB",  # an abbreviation is no zone name
    "asia/jakarta",  # the names are case-sensitive
    "",
    "Asia",  # a directory of zones
    "../etc/passwd",
    "/etc/localtime",
    "zone.tab",  # a file of the zone database that is no zone
])
def test_an_unknown_zone_is_a_configuration_error_naming_the_setting(zone: str) -> None:
    with pytest.raises(SettingsError, match=r"operator_timezone \(LAPOR_OPERATOR_TIMEZONE\)"):
        load_settings({**DEV, "LAPOR_OPERATOR_TIMEZONE": zone})


@pytest.fixture
def no_system_zones() -> Iterator[None]:
    """A machine without system time-zone data (a slim container): zoneinfo searches no directory."""
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


@pytest.mark.usefixtures("no_system_zones")
@pytest.mark.parametrize(("zone", "shown"), [("Asia/Jakarta", "02:05 WIB, Dec 5"),
                                             ("Europe/Amsterdam", "20:05 CET")])
def test_the_zones_come_with_the_tzdata_package_without_system_data(zone: str, shown: str) -> None:
    settings = load_settings({**DEV, "LAPOR_OPERATOR_TIMEZONE": zone})
    assert local_clock(_utc(2026, 12, 4, 19, 5, 12), settings.operator_zone) == shown


# -- The status page ---------------------------------------------------------------------------------------------
def _zero_counters() -> dict[str, int]:
    """A channel's counters as the status command prints them, all at 0."""
    return dict.fromkeys(("received", "accepted", "duplicates", "rejected", "forwarded", "attachments_not_fetched",
                          "replies_sent", "replies_failed", "replies_held"), 0)


def _document() -> dict[str, Any]:
    """A status document whose every time field, and a reason, carries a time (as `gateway.health` writes them)."""
    channel = {"channel": "email", "state": "down", "since": "2026-12-04 18:00:00Z",
               "reason": "a mail the gateway failed to read was quarantined 2026-12-04 18:30:00Z (parse_error)",
               "counters": {}, "deadletters": 0, "poller": None, "last_message_at": "2026-12-04 19:00:00Z",
               "last_poll_ok_at": "2026-12-04 19:01:00Z",
               "last_errors": [{"at": "2026-12-04 19:02:00Z", "kind": "poll_failed", "reason": "timeout"}]}
    return {"overall": "down", "reason": "DOWN: email", "generated_at": "2026-12-04 19:05:12Z",
            "deadletters": {"total": 0}, "spool_size": 0, "queues": [], "channels": [channel],
            "casestore_outage": {"since": "2026-12-04 17:59:00Z", "reason": "casestore_unreachable"}}


@dataclass(frozen=True)
class Page:
    id: str
    zone: str | None
    said: tuple[str, ...]


PAGES = [
    Page("jakarta", "Asia/Jakarta", (
        "generated 2026-12-04 19:05:12Z (02:05 WIB, Dec 5)", "since 2026-12-04 18:00:00Z (01:00 WIB, Dec 5)",
        "quarantined 2026-12-04 18:30:00Z (01:30 WIB, Dec 5) (parse_error)",
        "last message: 2026-12-04 19:00:00Z (02:00 WIB, Dec 5)",
        "last successful poll: 2026-12-04 19:01:00Z (02:01 WIB, Dec 5)",
        "<td>2026-12-04 19:02:00Z (02:02 WIB, Dec 5)</td>",
        "forwards failing since 2026-12-04 17:59:00Z (00:59 WIB, Dec 5)")),
    Page("amsterdam-winter", "Europe/Amsterdam", (
        "generated 2026-12-04 19:05:12Z (20:05 CET)", "since 2026-12-04 18:00:00Z (19:00 CET)",
        "<td>2026-12-04 19:02:00Z (20:02 CET)</td>")),
    Page("utc", "UTC", ("generated 2026-12-04 19:05:12Z ·", "since 2026-12-04 18:00:00Z<")),
    Page("no-zone-as-before", None, ("generated 2026-12-04 19:05:12Z ·", "<td>2026-12-04 19:02:00Z</td>")),
]


@pytest.mark.parametrize("case", PAGES, ids=lambda case: case.id)
def test_the_status_page_shows_each_time_in_utc_and_the_operators_zone(case: Page) -> None:
    html = render_status_page(_document(), 10, None if case.zone is None else ZoneInfo(case.zone))
    for said in case.said:
        assert said in html
    if case.zone in (None, "UTC"):
        assert not re.search(r"Z \(\d\d:\d\d", html)


def test_the_pages_of_a_failed_check_show_their_time_in_the_operators_zone() -> None:
    jakarta = ZoneInfo("Asia/Jakarta")
    down = {"redis": "ConnectionError", "reason": "Redis unreachable", "spool_size": 0,
            "generated_at": "2026-12-04 19:05:12Z"}
    failed = {"error": "KeyError", "reason": "the health check failed", "generated_at": "2026-12-04 19:05:12Z"}
    for html in (render_redis_down_page(down, 10, jakarta), render_check_failed_page(failed, 10, jakarta)):
        assert "generated 2026-12-04 19:05:12Z (02:05 WIB, Dec 5)" in html


async def test_the_gateway_page_is_in_the_configured_zone_and_its_json_stays_utc(
        test_env: TestEnvironment, redis: Redis) -> None:
    settings = test_env.settings(LAPOR_OPERATOR_TIMEZONE="Europe/Amsterdam")
    HealthSignals(redis).poll_failed("email", "Graph API 500")
    async with serving_gateway(settings, redis) as gateway:
        document = (await gateway.client.get("/v1/status")).json()
        html = (await gateway.client.get("/status")).text
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", document["generated_at"])
    # The page's own time: its request may come a second after the document's.
    shown = re.search(r"generated (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ) \((\d\d:\d\d) (CES?T)(, \w+ \d+)?\)", html)
    assert shown is not None, html
    local = datetime.strptime(shown[1], "%Y-%m-%d %H:%M:%SZ").replace(tzinfo=UTC).astimezone(
        ZoneInfo("Europe/Amsterdam"))
    assert (shown[2], shown[3]) == (f"{local:%H:%M}", local.tzname())
    assert "CET" not in orjson.dumps(document).decode() and "CEST" not in orjson.dumps(document).decode()


# -- The operator commands ---------------------------------------------------------------------------------------
def _shown_at(timestamp: float, zone: str) -> str:
    """How a table says a time, worked out here apart from gateway.localtime: UTC, then the local clock and zone."""
    utc = datetime.fromtimestamp(timestamp, UTC)
    local = utc.astimezone(ZoneInfo(zone))
    said = f"{utc:%Y-%m-%d %H:%M:%S}Z"
    if local.tzname() == "UTC":
        return said
    day = "" if local.date() == utc.date() else f", {local:%b} {local.day}"
    return f"{said} ({local:%H:%M} {local.tzname()}{day})"


COMMAND_ZONES = ["Asia/Jakarta", "Europe/Amsterdam", "UTC"]


@pytest.mark.parametrize("zone", COMMAND_ZONES)
def test_the_dead_letter_commands_say_when_in_the_operators_zone(
        test_env: TestEnvironment, redis: Redis, zone: str) -> None:
    DeadLetters(redis).add_new(queue=FORWARD_QUEUE, func=FORWARD_FUNC, args=[["20000001"]], tracking_id="20000001",
                               item="20000001", reason="casestore_422", detail="refused", channel="sms-twilio")
    (letter,) = DeadLetters(redis).list(limit=1, offset=0)
    said = _shown_at(letter.failed_at, zone)
    listing = cli(test_env, "deadletters", "list", LAPOR_OPERATOR_TIMEZONE=zone)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert said in listing.stdout, listing.stdout
    shown = cli(test_env, "deadletters", "show", "20000001", LAPOR_OPERATOR_TIMEZONE=zone)
    assert f"\nfailed_at: {said}\n" in f"\n{shown.stdout}", shown.stdout


@pytest.mark.parametrize("zone", COMMAND_ZONES)
def test_the_quarantine_list_says_when_in_the_operators_zone(test_env: TestEnvironment, zone: str) -> None:
    from channels.email.store import Quarantine

    entry = Quarantine(test_env.settings().data_dir).add(b"Subject: x\r\n\r\nbody\r\n", "parse_error",
                                                        "ValueError: x", None, ["pengaduan@lapor.go.id"])
    listing = cli(test_env, "email", "quarantine", "list", LAPOR_OPERATOR_TIMEZONE=zone)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert _shown_at(entry.quarantined_at, zone) in listing.stdout, listing.stdout


@dataclass(frozen=True)
class StatusView:
    id: str
    zone: str | None
    said: tuple[str, ...]


STATUS_VIEWS = [
    StatusView("jakarta", "Asia/Jakarta", (
        "overall: DOWN: email  (2026-12-04 19:05:12Z (02:05 WIB, Dec 5); counters as of never)",
        "email: DOWN since 2026-12-04 18:00:00Z (01:00 WIB, Dec 5)",
        "quarantined 2026-12-04 18:30:00Z (01:30 WIB, Dec 5) (parse_error)",
        "2026-12-04 19:00:00Z (02:00 WIB, Dec 5)",
        "case store: forwards failing since 2026-12-04 17:59:00Z (00:59 WIB, Dec 5) (casestore_unreachable)")),
    StatusView("amsterdam", "Europe/Amsterdam", (
        "overall: DOWN: email  (2026-12-04 19:05:12Z (20:05 CET); counters as of never)",
        "email: DOWN since 2026-12-04 18:00:00Z (19:00 CET)")),
    StatusView("utc", "UTC", ("overall: DOWN: email  (2026-12-04 19:05:12Z; counters as of never)",
                              "email: DOWN since 2026-12-04 18:00:00Z\n")),
]


@pytest.mark.parametrize("case", STATUS_VIEWS, ids=lambda case: case.id)
def test_the_status_command_says_each_time_in_the_operators_zone(
        case: StatusView, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=1000, soft_wrap=True))
    document = _document()
    document["channels"][0]["counters"] = _zero_counters()
    cli_module._print_status(document, None if case.zone is None else ZoneInfo(case.zone))
    for said in case.said:
        assert said in output.getvalue(), output.getvalue()


def test_status_json_stays_utc_while_the_table_gives_the_local_time(test_env: TestEnvironment, redis: Redis) -> None:
    the_deployments(redis)
    for _ in range(3):
        HealthSignals(redis).auth_failed("email", "401 Unauthorized")
    as_json = cli(test_env, "status", "--json", LAPOR_OPERATOR_TIMEZONE="Asia/Jakarta")
    document = orjson.loads(as_json.stdout)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", document["generated_at"])
    assert "WIB" not in as_json.stdout
    table = cli(test_env, "status", LAPOR_OPERATOR_TIMEZONE="Asia/Jakarta")
    assert re.search(r"overall: \S.*\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d\d:\d\d WIB(, \w+ \d+)?\);", table.stdout), (
        table.stdout)


@pytest.mark.parametrize("command", [["status"], ["deadletters", "list"]])
def test_a_command_refuses_to_start_on_an_unknown_zone_naming_the_setting(
        test_env: TestEnvironment, command: list[str]) -> None:
    refused = cli(test_env, *command, LAPOR_OPERATOR_TIMEZONE="Asia/Jakrta")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "configuration error: invalid settings: operator_timezone (LAPOR_OPERATOR_TIMEZONE)" in refused.stdout
    assert "Asia/Jakarta" in refused.stdout  # what a name looks like


def test_a_queues_last_failure_is_folded_not_cut_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns the queues table cut each cell to its width with an ellipsis: the reason code read `aggre…`, and
    a retried reply's failure (its kind and host beside the code) was lost whole. Folded, every character is there
    (each row's cells under it, "header value", where the table is wider than the terminal)."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=80, soft_wrap=True))
    failure = "aggregator_timeout (timed out): ReadTimeout talking to sms.example.id"
    document = _document()
    document["channels"][0]["counters"] = _zero_counters()
    document["queues"] = [{"name": "lapor-reply", "depth": 0, "held": 0, "scheduled": 40, "oldest_age_seconds": 720.0,
                           "workers": 1, "failed": 0, "last_failure": failure, "in_progress": 0}]
    cli_module._print_status(document)
    queues = output.getvalue().split("Queues\n")[1]
    assert "…" not in queues, queues
    assert "".join(f"last failure {failure}".split()) in "".join(queues.split()), queues


def test_the_pollers_account_and_holder_are_folded_not_cut_on_a_narrow_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """At 100 columns the pollers table cut an Instagram account's id and the process polling it with an ellipsis:
    which account, and which host's process, could not be read."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=60, soft_wrap=True))
    account, holder = "17841400000000000", "lapor-pollers-vm-jakarta-02:p4242"
    document = {"channels": [{"channel": "instagram", "last_poll_ok_at": None, "poller": {
        "account": account, "holder": holder, "lease_remaining_seconds": 12.0}}]}
    cli_module._print_pollers(document)
    assert "…" not in output.getvalue(), output.getvalue()
    lines = output.getvalue().splitlines()
    assert f"  account {account}" in lines and f"  polled by {holder}" in lines, output.getvalue()


def test_the_status_command_says_a_reason_and_its_action_every_channel_shares_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A forward worker gone degrades every channel for one reason, with one action: the command printed that reason
    in each of five rows, and five "since" lines each with the same action under it. The first row says it, the
    others say so; one line names the channels, the action under it once."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=1000, soft_wrap=True))
    document = _document()
    reason, action = "lapor-forward: no live worker (last seen 4 min ago)", "start `lapor-gateway worker`"
    shared = {**document["channels"][0], "state": "degraded", "since": "2026-12-04 18:00:00Z", "reason": reason,
              "actions": [action], "counters": _zero_counters()}
    names = ("sms-aggregator", "sms-twilio", "email", "x", "instagram")
    document["channels"] = [{**shared, "channel": name} for name in names]
    document["channels"].append({**shared, "channel": "telegram", "reason": "its own", "actions": ["its step"]})
    cli_module._print_status(document)
    view = output.getvalue()
    assert view.count(reason) == 1 and view.count("same as sms-aggregator") == 4, view
    assert view.count(f"what to do: {action}") == 1, view
    assert f"{', '.join(names)}: DEGRADED since 2026-12-04 18:00:00Z\n  what to do: {action}\n" in view, view
    assert "telegram: DEGRADED since 2026-12-04 18:00:00Z\n  what to do: its step\n" in view, view


@pytest.mark.parametrize(("since", "noted"), [(None, True), ("2026-12-04 19:00:00Z", False)],
                         ids=["not-known", "known"])
def test_the_status_command_says_where_to_read_since_when_the_spool_fails(
        since: str | None, noted: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lapor-gateway status` probes the spool once: since when it cannot be written is the gateway's to know, and the
    command says where to read it rather than nothing."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=1000, soft_wrap=True))
    document = _document()
    document["channels"][0]["counters"] = _zero_counters()
    document.update(spool_failure="spool directory ... is not writable", spool_failure_since=since)
    cli_module._print_status(document)
    assert (cli_module.SPOOL_SINCE_NOTE in output.getvalue()) is noted, output.getvalue()


def test_the_status_commands_headline_is_text_not_markup_nor_terminal_control(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The headline quotes a reason every channel shares: markup in it was escaped, but a provider's escape sequences
    reached the terminal (`ESC[2J` cleared the screen, `ESC]0;` retitled the window): each is written as its code,
    as in the table."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=1000, soft_wrap=True))
    document = _document()
    document.update(overall="degraded", reason="DEGRADED: all channels (bad [bold]sig\x1b[2J\x1b]0;pwned\x07)")
    document["channels"][0]["counters"] = _zero_counters()
    cli_module._print_status(document)
    view = output.getvalue()
    assert "overall: DEGRADED: all channels (bad [bold]sig\\x1b[2J\\x1b]0;pwned\\x07)  (" in view, view
    assert "\x1b" not in view and "\x07" not in view, repr(view)


RATE_LIMITED = {"at": "2026-12-04 19:03:00Z", "kind": "rate_limited", "reason": "429 Too Many Requests: waiting 121 s"}


@pytest.mark.parametrize(("errors", "zone", "said"), [
    pytest.param([RATE_LIMITED, {"at": "2026-12-04 18:00:00Z", "kind": "poll_failed", "reason": "timeout"}], None,
                 "instagram: last error 2026-12-04 19:03:00Z (rate_limited): 429 Too Many Requests: waiting 121 s",
                 id="newest-recent"),
    pytest.param([{**RATE_LIMITED, "at": "2026-12-04 17:00:00Z"}], None, None, id="older-than-an-hour"),
    pytest.param([], None, None, id="none"),
    pytest.param([{**RATE_LIMITED, "reason": "[/bold] \x1b[2J"}], None,
                 "instagram: last error 2026-12-04 19:03:00Z (rate_limited): [/bold] \\x1b[2J", id="text-not-markup"),
    # A time its reason quotes is in the operators' zone too, as its own: the next try read in UTC alone.
    pytest.param([{**RATE_LIMITED, "reason": "429 Too Many Requests (next try 2026-12-04 19:05:01Z)"}],
                 "Asia/Jakarta", "instagram: last error 2026-12-04 19:03:00Z (02:03 WIB, Dec 5) (rate_limited): "
                 "429 Too Many Requests (next try 2026-12-04 19:05:01Z (02:05 WIB, Dec 5))", id="times-local"),
])
def test_the_status_command_says_a_channels_newest_recent_error(
        errors: list[dict[str, str]], zone: str | None, said: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page lists each channel's last errors; the command showed `instagram OK` and nothing of the 429 it was
    waiting out, nor the case store's latency. The newest error of the last hour is one line, each time in it in the
    operators' zone; the latency ends the last line, as on the page."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=1000, soft_wrap=True))
    document = _document()
    ok = {**document["channels"][0], "channel": "instagram", "state": "ok", "reason": "", "since": None,
          "actions": [], "last_errors": errors, "counters": _zero_counters()}
    document.update(channels=[ok], overall="ok", reason=None, casestore_outage=None, casestore_latency_seconds=0.0123)
    cli_module._print_status(document, None if zone is None else ZoneInfo(zone))
    view = output.getvalue()
    lines = [line for line in view.splitlines() if "last error" in line]
    assert lines == ([] if said is None else [said]), view
    assert view.rstrip().endswith("dead letters waiting: 0  spool: 0 bytes  case-store latency: 12 ms"), view


def _busy_channels_document() -> dict[str, Any]:
    """A status document of a busy SMS channel and an e-mail channel down for a long reason."""
    document = _document()
    document["channels"][0]["counters"] = _zero_counters()
    busy = {**document["channels"][0], "channel": "sms-aggregator", "state": "ok", "reason": "", "since": None,
            "actions": [], "last_message_at": "2026-12-04 19:04:59Z",
            "counters": {"received": 123456, "accepted": 120001, "duplicates": 17, "rejected": 3438,
                         "forwarded": 119990, "attachments_not_fetched": 0, "replies_sent": 119990,
                         "replies_failed": 11, "replies_held": 4}}
    document["channels"].insert(0, busy)
    document["channels"][1]["reason"] = "no smtp process beat for 3 min (last 2026-12-04 18:57:00Z)"
    return document


@pytest.mark.parametrize("width", [80, 60, 40])
def test_the_channels_read_whole_on_a_terminal_narrower_than_their_table(
        width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Squeezed into 80 columns (a phone's SSH client at 2 a.m., a split pane), the twelve columns of the
    channels table folded every cell: 123456 received read "123" over "456", the reason of a channel down took a line
    a word, the headers read "chan" over "nel". Each channel is now its name over its cells, "header value", each
    count and each header on one line, no line wider than the terminal."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=width, soft_wrap=True))
    document = _busy_channels_document()
    cli_module._print_status(document, ZoneInfo("Asia/Jakarta"))
    view = output.getvalue()
    channels = view.split("Channels\n")[1].split("\nemail: DOWN since")[0]  # the prose under it wraps as prose
    assert "│" not in channels and "┃" not in channels, view
    lines = channels.splitlines()
    assert all(len(line) <= width for line in lines), view
    assert lines[0] == "sms-aggregator", view
    for said in ("received 123456", "accepted 120001", "dup 17", "rejected 3438", "forwarded 119990",
                 "replies ok/failed/held 119990/11/4", "dead letters 0", "state OK", "state DOWN"):
        assert any(said in line for line in lines), (said, view)
    reason = "no smtp process beat for 3 min (last 2026-12-04 18:57:00Z (01:57 WIB, Dec 5))"
    assert f"reason {reason}" in " ".join(line.strip() for line in lines), view


def test_the_channels_stay_one_table_where_the_terminal_holds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal as wide as the table (a desktop's) keeps the one table: a row a channel, its counts side by side."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=260, soft_wrap=True))
    cli_module._print_status(_busy_channels_document(), ZoneInfo("Asia/Jakarta"))
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.getvalue().splitlines()
            if line.count("│") == 13]
    assert rows[0][:9] == ["sms-aggregator", "OK", "-", "123456", "120001", "17", "3438", "119990", "0"], rows


@pytest.mark.parametrize("width", [1, 2, 3, 4, 12, 19])
def test_a_terminal_too_narrow_for_a_row_a_block_gets_the_table_as_rich_folds_it(
        width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """At two columns the row's lines had no width left beside their indent: `status` ended on a traceback (exit 1,
    which `--strict` gives a degraded system) and a wide character vanished. From four columns on, each row's block
    says its state (a table folded into 19 showed every cell blank)."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=width, soft_wrap=True))
    cli_module._print_status(_busy_channels_document(), ZoneInfo("Asia/Jakarta"))
    said = "".join(output.getvalue().split())  # a title or a cell folded onto lines of its own, read whole
    assert "Queues" in said
    if width >= 4:
        assert "DOWN" in said.split("Channels")[1].split("email:DOWNsince")[0], output.getvalue()


def test_a_row_block_leaves_out_empty_cells_and_says_a_sign_header_with_its_cell(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An attachment copied whole has no "why": its row spent a line on a bare "why", and began with a bare "0"."""
    from rich.console import Console

    from gateway import cli as cli_module

    output = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=output, width=60, soft_wrap=True))
    table = cli_module._folded_table("Attachments (2)",
                                     ("#", "type", "size", "gateway keeps", "case store gets", "why"))
    table.add_row("0", "image/jpeg", "2048", "file", "copy", "")
    table.add_row("1", "video/mp4", "9000000", "file", "nothing", "too large for the case store")
    cli_module._print_table(table)
    lines = output.getvalue().splitlines()
    assert lines[:2] == ["Attachments (2)", "#0"], lines
    assert not any(line.rstrip().endswith("why") or line != line.rstrip() for line in lines), lines
    assert "#1" in lines and any("why too large for the case store" in line for line in lines), lines
    output.truncate(0)
    output.seek(0)
    named = cli_module._folded_table("Letters", ("tracking_id", "queue", "reason"))
    named.add_row("10000004", "lapor-forward", "casestore_422 " * 5)
    cli_module._print_table(named)
    assert output.getvalue().splitlines()[1] == "10000004", output.getvalue()  # a header of words is no sign
