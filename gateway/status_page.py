"""The operators' status page: one server-rendered HTML page, readable at 2 a.m., refreshing itself.

No front-end build: a small inline script (REFRESH_SCRIPT) fetches the page again every period and shows it, and
while the gateway does not answer keeps the last one, dimmed, under a banner saying since when it is unreachable;
when no script runs a `<meta http-equiv="refresh">` reloads it. The worst state comes first in big letters, with what
gives it (the channels, and the case store while forwards find it down); every channel shows its state, why, its
counters and its last errors; then the queues.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from gateway.health.rules import duration
from gateway.health.signals import casestore_timeout_step
from gateway.localtime import with_local_times

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

# `overflow-wrap` (`anywhere` in the last errors' reasons, a table's column) and the counters' cells flowing onto as
# many lines as they need: on a phone (390 px) a reason with a URL, a long hostname or the headline's
# "casestore_unreachable", and the nine counters in one row, were wider than the screen, scrolled sideways and cut
# off where it ended. The queues' table scrolls in its own box. On a narrow screen the headline's letters are
# smaller: at 2.2rem "DOWN: email · DEGRADED: ..." filled the phone's screen, and the reason of the channel that is
# down was below it.
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#111;color:#eee;font-size:18px;overflow-wrap:break-word}
h1{font-size:1.6rem;margin:0 0 .5rem} .muted{color:#aaa;font-size:.9rem}
.overall{font-size:2.2rem;font-weight:bold;padding:.6rem 1rem;border-radius:.4rem;display:inline-block;margin:.5rem 0;
overflow-wrap:anywhere}
.ok{background:#1b5e20;color:#fff} .degraded{background:#f9a825;color:#000} .down{background:#c62828;color:#fff}
.unknown{background:#616161;color:#fff}
.channel{border:1px solid #444;border-radius:.4rem;padding:.8rem 1rem;margin:.8rem 0}
.channel h2{margin:0;font-size:1.4rem} .state{padding:.1rem .6rem;border-radius:.3rem;margin-left:.6rem}
.reason{font-size:1.2rem;margin:.5rem 0} table{border-collapse:collapse;margin:.3rem 0}
td,th{padding:.2rem .8rem .2rem 0;text-align:left;font-size:.95rem;vertical-align:top}
.counters td{display:inline-block} .scroll{overflow-x:auto} .errors td:last-child{overflow-wrap:anywhere}
@media (max-width:600px){body{margin:.6rem;font-size:16px} .overall{font-size:1.4rem;padding:.4rem .6rem}
.channel{padding:.6rem} .reason{font-size:1.1rem}}
#unreachable{background:#4a148c;color:#fff;font-size:1.4rem;position:sticky;top:0;z-index:1}
html[data-stale] body>:not(#unreachable){opacity:.45}
"""

# The page's refresh while scripts run: the page is fetched again every period (the `?refresh=` it was opened with)
# and its body shown in place. Reloaded by the meta refresh alone, a page open on a gateway that stopped became the
# browser's "This site can't be reached": the last state and its reasons gone, and nothing said since when, or that
# what the operator saw was no longer true (a browser that does not retry its error pages never came back). While no
# page comes (no connection, no answer within the period or 10 s, an answer that is not this page: a proxy's 502),
# the last page stays, dimmed, under a banner: since when the gateway is unreachable (UTC, and the operators' zone
# as `data-zone` names it), why, and when the data shown was generated; the first page that comes again replaces it.
#
# The meta refresh stands in the head for a browser that runs no script, and for one whose proxy's CSP blocks inline
# scripts (in a `<noscript>`, that page never refreshed): the script removes it as it starts and, as removing it
# does not cancel the refresh the parser scheduled (chromium), stops it at the load event (`window.stop()`).
# Each page fetched gives the document's `<html>` its data attributes (the zone's label across a DST change, the
# period); one whose script or style differ (`data-version`, PAGE_VERSION: the gateway was upgraded) is loaded
# whole, where the tab kept the old ones for as long as it stayed open.
REFRESH_SCRIPT = """(function () {
  var root = document.documentElement, meta = document.querySelector('meta[http-equiv="refresh"]');
  if (meta) {
    meta.parentNode.removeChild(meta);
    // Run after the load (a proxy or an optimiser deferring inline scripts), it stops the refresh at once.
    if (document.readyState === "complete") window.stop();
    else window.addEventListener("load", function () { window.stop(); });
  }
  var period, wait, since = null;
  function timing() { period = Number(root.dataset.refresh) * 1000; wait = Math.max(period, 10000); }
  timing();
  function utc(d) { return d.toISOString().slice(0, 19).replace("T", " ") + "Z"; }
  function local(d) {
    if (!root.dataset.zone) return "";
    try {
      return " (" + new Intl.DateTimeFormat("en-GB", {timeZone: root.dataset.zone, hour: "2-digit", minute: "2-digit",
        second: "2-digit", hourCycle: "h23"}).format(d) + " " + root.dataset.zoneLabel + ")";
    } catch (e) { return ""; }
  }
  function stale(why) {
    if (since === null) since = new Date();
    var banner = document.getElementById("unreachable"), generated = document.querySelector("[data-generated]");
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "unreachable";
      banner.className = "overall";
      document.body.insertBefore(banner, document.body.firstChild);
    }
    banner.textContent = "gateway unreachable since " + utc(since) + local(since) + ": " + why + "; last data from "
      + (generated ? generated.dataset.generated : "?") + " (stale below); trying again every " + period / 1000 + " s";
    root.dataset.stale = "true";
    if (document.title.indexOf("UNREACHABLE") !== 0) document.title = "UNREACHABLE · " + document.title;
  }
  function show(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html"), page = fresh.documentElement, i, name;
    if (!fresh.getElementById("overall")) return false;
    if (page.dataset.version !== root.dataset.version) {
      location.reload();
      return true;
    }
    for (i = root.attributes.length - 1; i >= 0; i--) {
      name = root.attributes[i].name;
      if (name.indexOf("data-") === 0 && !page.hasAttribute(name)) root.removeAttribute(name);
    }
    for (i = 0; i < page.attributes.length; i++) {
      name = page.attributes[i].name;
      if (name.indexOf("data-") === 0) root.setAttribute(name, page.attributes[i].value);
    }
    timing();
    document.title = fresh.title;
    document.body.innerHTML = fresh.body.innerHTML;
    delete root.dataset.stale;
    since = null;
    return true;
  }
  function refresh() {
    var control = new AbortController(), timer = setTimeout(function () { control.abort(); }, wait);
    fetch(location.href, {cache: "no-store", signal: control.signal}).then(function (response) {
      return response.text().then(function (text) {
        if (!show(text)) stale("answered " + response.status + ", not with the status page");
      });
    }).catch(function () {
      stale(control.signal.aborted ? "no answer in " + wait / 1000 + " s" : "no connection");
    }).then(function () { clearTimeout(timer); setTimeout(refresh, period); });
  }
  setTimeout(refresh, period);
})();"""

# What the page's script and style are, in its `<html data-version>`: a page fetched with another is loaded whole.
PAGE_VERSION = hashlib.sha256((STYLE + REFRESH_SCRIPT).encode()).hexdigest()[:12]

# "files lost": attachments its reports reached the case store without (flagged not_fetched).
COUNTER_LABELS = (
    ("received", "received"), ("accepted", "accepted"), ("duplicates", "duplicates"), ("rejected", "rejected"),
    ("forwarded", "forwarded"), ("attachments_not_fetched", "files lost"), ("replies_sent", "replies sent"),
    ("replies_failed", "replies failed"), ("replies_held", "replies held"), ("dead_lettered", "dead-lettered"),
)
# Said after "case store: forwards failing since ...": the gateway answers citizens and keeps their reports whatever
# the case store does, which no view said.
CASESTORE_DOWN_NOTE = "citizens are still answered and their reports kept"


def casestore_step(outage: dict[str, Any], dead_letters: int = 0) -> str:
    """What to do while forwards find the case store down, said after CASESTORE_DOWN_NOTE: where to look (the URL the
    forward workers fail at, as they noted it; an older version's outage has none), and its own log where it answers
    with a server error (`casestore_500`). With dead letters waiting, that
    a forward among them does not go by itself: "the forwards go by themselves" was said of those too, whose retries
    had run out, and nothing then said to requeue them."""
    where = f"at {outage['url']}" if outage.get("url") else "at LAPOR_CASESTORE_URL"
    # What waits for it (`casestore_outage.failing`): the forwards, or CEKs' lookups where no forward failed.
    what = str(outage.get("failing") or "forwards")
    if (status := str(outage.get("reason") or "").removeprefix("casestore_")).isdigit():
        # It answers, with an error of its own: "check that it answers" sent the operator to a process that did.
        step = (f"the case store {where} answers {status}: its own log says why; the {what} go by themselves once "
                f"it {'takes' if what == 'forwards' else 'answers'} them")
    elif status == "timeout":
        # It takes connections: "check that it answers" sent the operator to look for a process that was running.
        step = f"{casestore_timeout_step(where, outage.get('timeout'))}; the {what} go by themselves once it answers"
    else:
        step = f"check that the case store answers {where}: the {what} go by themselves once it does"
    if dead_letters:
        # Listed first: the letters counted may be replies' too, or envelope_missing ones no requeue delivers.
        step += (", but not those whose retries ran out: once it answers, `lapor-gateway deadletters list --queue "
                 "lapor-forward` says why each failed; requeue those the outage left (`lapor-gateway deadletters "
                 "requeue --all --queue lapor-forward`, with `--reason` to pick)")
    return step
# The counters also shown by reason, under the table.
BY_REASON_LABELS = (("rejected", "rejected by reason"), ("attachments_not_fetched", "files lost by reason"))


# Said of a lease's holder whose process is known to be gone (`gateway.lease.lease_status`): it holds the lease until
# it runs out, or until a standby on this host takes it over, and polls nothing meanwhile.
HOLDER_GONE_NOTE = "its process no longer runs"


def _poller_html(poller: dict[str, Any] | None) -> str:
    """Which process polls the channel's account (its lease's holder) and how long the lease has left."""
    if not poller:
        return ""
    if not poller["holder"]:
        return " · polled by: <b>nobody</b> (no lease held)"
    left = poller["lease_remaining_seconds"]
    notes = ([HOLDER_GONE_NOTE] if poller.get("holder_gone") else []) + ([] if left is None else
                                                                         [f"lease {int(left)} s left"])
    return (f' · polled by: <b class="poller">{escape(str(poller["holder"]))}</b>'
            + (f" ({'; '.join(notes)})" if notes else ""))


def _last_poll_html(entry: dict[str, Any]) -> str:
    """When its poller last polled without an error, for a channel polled here (or one a poller reported for): an
    SMS channel, never polled, read "last successful poll: never" at 2 a.m. as a poller that never worked."""
    if not entry.get("poller") and not entry.get("last_poll_ok_at"):
        return ""
    return f'last successful poll: {escape(str(entry.get("last_poll_ok_at") or "never"))} · '


def _channel_html(entry: dict[str, Any]) -> str:
    state = escape(entry["state"])
    since = f' <span class="muted">since {escape(entry["since"])}</span>' if entry.get("since") else ""
    reason = escape(entry["reason"]) if entry["reason"] else "all rules pass"
    counters = entry["counters"]
    counter_cells = "".join(f"<td>{escape(label)}: <b>{int(counters.get(key, 0))}</b></td>"
                            for key, label in COUNTER_LABELS)
    by_reason = "".join(
        f'<div class="muted">{label}: '
        + ", ".join(f"{escape(str(k))} {int(v)}" for k, v in counters[f"{key}_by_reason"].items()) + "</div>"
        for key, label in BY_REASON_LABELS if counters.get(f"{key}_by_reason"))
    errors = "".join(
        f"<tr><td>{escape(str(e.get('at')))}</td><td>{escape(str(e.get('kind')))}</td>"
        f"<td>{escape(str(e.get('reason')))}</td></tr>"
        for e in entry.get("last_errors", [])
    )
    return (
        f'<section class="channel" id="channel-{escape(entry["channel"])}" data-state="{state}">'
        f'<h2>{escape(entry["channel"])}<span class="state {state}">{state.upper()}</span>{since}</h2>'
        f'<div class="reason">{reason}</div>'
        + "".join(f'<div class="action">what to do: {escape(action)}</div>' for action in entry.get("actions", []))
        + f'<table class="counters"><tr>{counter_cells}</tr></table>'
        + by_reason
        + f'<div class="muted">last message: {escape(str(entry.get("last_message_at") or "never"))} · '
        + _last_poll_html(entry)
        + f'dead letters waiting: {int(entry.get("deadletters", 0))}{_poller_html(entry.get("poller"))}</div>'
        + (f'<table class="errors"><tr><th colspan="3">last errors</th></tr>{errors}</table>' if errors else "")
        + "</section>"
    )


def queue_failure(entry: dict[str, Any]) -> str:
    """A queue's last failure as the views show it; for a queue whose jobs could not be read, that (its state
    unknown)."""
    if entry.get("error"):
        return f"unknown: its jobs could not be read ({entry['error']}; see health.queue_unreadable)"
    return str(entry.get("last_failure") or "-")


def in_progress(entry: dict[str, Any]) -> str:
    """The jobs a queue's workers hold and for how long the oldest: "1 for 4 min". A job a paused or hung worker
    took is off the queue, and "0 queued" with no age was all any view showed of it."""
    count = int(entry.get("in_progress", 0))
    held = entry.get("oldest_in_progress_seconds")
    return str(count) if not count or held is None else f"{count} for {duration(held)}"


# Without a viewport a phone lays the page out 980 px wide and shrinks it to its screen: the headline in letters a
# third of their size, and every line to be zoomed into and scrolled sideways.
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def _zone_attributes(zone: ZoneInfo | None) -> str:
    """The operators' zone for the refresh script's banner: its IANA name and its abbreviation now (none for UTC,
    whose time is said already, as `localtime.local_clock` says none)."""
    label = datetime.now(UTC).astimezone(zone).tzname() if zone is not None else None
    if zone is None or not label or label == "UTC":
        return ""
    return f' data-zone="{escape(zone.key)}" data-zone-label="{escape(label)}"'


def _head(title: str, refresh_seconds: int, zone: ZoneInfo | None = None) -> str:
    """The document up to its body: the language, the period and zone the refresh script reads, the charset, the
    viewport, the refresh (REFRESH_SCRIPT; the meta refresh when no script runs) and a title that starts with the worst
    state, for a browser tab among others to tell it."""
    return (
        f'<!doctype html><html lang="en" data-refresh="{int(refresh_seconds)}"{_zone_attributes(zone)}'
        f' data-version="{PAGE_VERSION}"><head>'
        '<meta charset="utf-8">' + VIEWPORT
        + f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">'
        f"<title>{title} · LAPOR! gateway status</title><style>{STYLE}</style><script>{REFRESH_SCRIPT}</script>"
        "</head><body>"
    )


def _generated(status: dict[str, Any]) -> str:
    """The line under the headline, up to when the document shown was generated; that time also in its
    `data-generated`, for the refresh script's "last data from"."""
    generated = escape(str(status["generated_at"]))
    return f'<div class="muted" data-generated="{generated}">generated {generated}'


def render_check_failed_page(status: dict[str, Any], refresh_seconds: int, zone: ZoneInfo | None = None) -> str:
    """The page when the health check itself failed on something not Redis's (`health.check_failed_document`):
    that, and why, instead of a bare 500. Each time in UTC and in the operators' `zone`, as on every page."""
    return with_local_times(
        _head("UNKNOWN", refresh_seconds, zone)
        + "<h1>LAPOR! intake gateway</h1>"
        f'<div class="overall unknown" id="overall">UNKNOWN: the health check failed ({escape(status["error"])})</div>'
        f'<div class="reason">{escape(status["reason"])}</div>'
        f'{_generated(status)} · reloads every {int(refresh_seconds)} s'
        "</div></body></html>", zone)


def _state_words(state: object) -> str:
    """A state as the page's words: `not_answering` reads "not answering"."""
    return str(state).replace("_", " ")


def render_redis_down_page(status: dict[str, Any], refresh_seconds: int, zone: ZoneInfo | None = None) -> str:
    """The page while Redis cannot be read (`health.redis_down_document`): that, and why, and the spool's size (the
    reports answered meanwhile wait there). Since when, where the gateway knows it (`redis_down_since`), in the
    headline: the reason's start too, but a blip and a 40-min outage looked the same up there."""
    state = _state_words(status.get("redis_state", "unreachable"))
    since = f" since {escape(str(status['redis_down_since']))}" if status.get("redis_down_since") else ""
    return with_local_times(
        _head("DOWN", refresh_seconds, zone)
        + "<h1>LAPOR! intake gateway</h1>"
        f'<div class="overall down" id="overall">DOWN: Redis {escape(state)}'
        f' ({escape(str(status["redis"]))}){since}</div>'
        f'<div class="reason">{escape(str(status["reason"]))}</div>'
        f'{_generated(status)} · reloads every {int(refresh_seconds)} s'
        f' · spool: {int(status["spool_size"])} bytes</div></body></html>', zone)


def render_status_page(status: dict[str, Any], refresh_seconds: int, zone: ZoneInfo | None = None) -> str:
    """The whole page; channels that are down first, then degraded, then ok (config order within a state). Each time
    on it (the document's fields, and those its reasons quote) in UTC and then in the operators' `zone`
    (`gateway.localtime`): the page is read at night in Jakarta."""
    order = {"down": 0, "degraded": 1, "ok": 2}
    channels = sorted(status["channels"], key=lambda entry: order.get(entry["state"], 3))
    overall = escape(status["overall"])
    # The document's `reason` (`gateway.health.monitor.overall_reason`): the channels down and degraded, and the case
    # store during a declared outage, where the headline said "ALL CHANNELS OK" over it.
    headline = escape(status.get("reason") or "ALL CHANNELS OK")
    queues = "".join(
        f"<tr><td>{escape(q['name'])}</td><td>{int(q['depth'])}</td><td>{int(q.get('held', 0))}</td>"
        f"<td>{int(q['scheduled'])}</td>"
        f"<td>{'?' if q.get('error') else '-' if q['oldest_age_seconds'] is None else int(q['oldest_age_seconds'])}"
        f"</td><td>{'-' if q.get('workers') is None else int(q['workers'])}</td>"
        f"<td>{int(q.get('failed', 0))}</td>"
        f"<td>{escape(queue_failure(q))}</td><td>{escape(in_progress(q))}</td></tr>"
        for q in status["queues"]
    )
    latency = status.get("casestore_latency_seconds")
    outage = status.get("casestore_outage")
    # While forwards find the case store down, its latency is that of the last request it answered, from before:
    # "case-store latency: 3 ms" all through an outage.
    # During an outage, its own block under the headline, its step a "what to do" line as a channel's: in the small
    # grey line under the headline, where the latency stood, the step was read last, if at all.
    declared = "degraded" if outage and outage.get("declared") else "ok"
    casestore = (f'<section class="channel" id="casestore" data-state="{declared}">'
                 f"<div class=\"reason\">case store: {escape(str(outage.get('failing') or 'forwards'))} failing since "
                 f"{escape(str(outage.get('since') or '?'))} "
                 f"({escape(str(outage.get('reason') or '?'))}); {CASESTORE_DOWN_NOTE}</div>"
                 f'<div class="action">what to do: {escape(casestore_step(outage, status["deadletters"]["total"]))}'
                 "</div></section>" if outage else "")
    latency_note = "" if outage else f" · case-store latency: {'-' if latency is None else f'{latency * 1000:.0f} ms'}"
    return with_local_times(
        _head(overall.upper(), refresh_seconds, zone)
        + "<h1>LAPOR! intake gateway</h1>"
        f'<div class="overall {overall}" id="overall">{headline}</div>'
        f'{_generated(status)} · reloads every {int(refresh_seconds)} s'
        f' · dead letters waiting: {int(status["deadletters"]["total"])} · spool: {int(status["spool_size"])} bytes'
        f"{latency_note}</div>"
        + casestore
        + "".join(_channel_html(entry) for entry in channels)
        + '<h2>Queues</h2><div class="scroll"><table><tr><th>queue</th><th>queued</th><th>held</th><th>retrying</th>'
        + "<th>oldest (s)</th><th>live workers</th><th>unreadable</th><th>last failure</th>"
        + "<th>in progress</th></tr>"
        + queues + "</table></div></body></html>", zone)
