"""Times in the operators' own time zone, beside the UTC the gateway keeps.

Operators read the views at 2 a.m. in Jakarta, and every time said "19:05:12Z": the hour in their own zone had to
be worked out in their head, and the date too when the night had passed midnight there and not in UTC. The human
views (the status page, `lapor-gateway status` and the operator commands' tables) keep each UTC time as they print
it and add the local one after it: `2026-12-04 19:05:12Z (02:05 WIB, Dec 5)`. Everything a program reads stays
UTC alone: the JSON documents (`/v1/status`, `status --json`), log lines, metrics and the case store.

The zone is `operator_timezone` (`LAPOR_OPERATOR_TIMEZONE`), an IANA name read with the standard library's
zoneinfo; the `tzdata` package carries the zones for a machine without system time-zone data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A UTC time as the views print it (`gateway.health.signals._clock`, the CLI's `_when`), not one already followed by its
# local time: a text run through `with_local_times` twice says it once.
UTC_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})Z(?! \(\d\d:\d\d )")
UTC_FORMAT = "%Y-%m-%d %H:%M:%SZ"
# Month names as written here, not as the process's locale would (`%b`).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def operator_zone(name: str) -> ZoneInfo:
    """The zone an IANA name gives, or ValueError saying it is none: a typo ("Asia/Jakrta", "WIB") found only when a
    view was rendered ended the status page on a 500 in the night."""
    try:
        return ZoneInfo(name.strip())
    except ZoneInfoNotFoundError:
        raise ValueError(f"no time zone {name!r}: an IANA name such as Asia/Jakarta (WIB), Asia/Makassar (WITA), "
                         "Asia/Jayapura (WIT) or UTC") from None
    except (ValueError, OSError):  # an absolute path, "../", an empty name, a directory or a file that is no zone
        raise ValueError(f"not a time zone name: {name!r}; an IANA name such as Asia/Jakarta") from None


def local_clock(moment: datetime, zone: ZoneInfo) -> str | None:
    """`moment` as a clock in `zone` with the zone's abbreviation (or offset, `+04`, for a zone without one):
    "02:05 WIB", and the local day after it when it is not the UTC one ("02:05 WIB, Dec 5"). None in UTC itself,
    whose time is already there."""
    try:
        local = moment.astimezone(zone)
    except (OverflowError, ValueError):  # a damaged time at the end of year 9999: the UTC one alone
        return None
    name = local.tzname() or local.strftime("%z")
    if name == "UTC":
        return None
    clock = f"{local:%H:%M} {name}"
    if local.date() == moment.astimezone(UTC).date():
        return clock
    return f"{clock}, {MONTHS[local.month - 1]} {local.day}"


def with_local_times(text: str, zone: ZoneInfo | None) -> str:
    """`text` (a view's line, a reason, a whole page) with each UTC time in it followed by its local time in
    brackets. No zone: as it is."""
    if zone is None:
        return text

    def annotated(match: re.Match[str]) -> str:
        try:
            moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:  # digits shaped like a time that is none (a month 13 in a provider's words)
            return match.group(0)
        local = local_clock(moment, zone)
        return match.group(0) if local is None else f"{match.group(0)} ({local})"

    return UTC_TIME.sub(annotated, text)


def utc_time(timestamp: float | None) -> str | None:
    """A Unix time in UTC (`UTC_FORMAT`); None for none, or one no date can say (a damaged or hand-edited value: not a
    number, not finite, past the year 9999), which ended a view or a command on a traceback where it was read."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime(UTC_FORMAT)
    except (OverflowError, OSError, ValueError):
        return None


def shown_time(timestamp: float, zone: ZoneInfo | None = None) -> str:
    """A Unix time as the operator commands print it: UTC, then the local time in `zone` (`operator_timezone`); no
    zone (a JSON output): UTC alone. `?` for a time no date can say (a hand edit's 1e13 ended `deadletters list`)."""
    text = utc_time(timestamp)
    return "?" if text is None else with_local_times(text, zone)
