"""Answers to messages that are not reports: help, how to ask for a status, a mistyped Tracking ID, a status check.

A status check is answered in the webhook's own response when the case store answers quickly; otherwise the
citizen is told the answer follows, and a status job on `lapor-status` sends it through the reply worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from redis import Redis
from redis.exceptions import RedisError

from gateway.logs import get_logger
from gateway.queues import REPORT_STATE_KEY, envelope_key
from gateway.replies import is_status, render, shown_typed_id, status_text
from gateway.settings import Settings
from gateway.tls import tls_context
from normalizer.grammar import Action
from normalizer.pipeline import Query

log = get_logger()

# How long a webhook waits for the case store's answer about one report (a CEK, a follow-up's flags): the citizen
# waits for the webhook's answer meanwhile.
LOOKUP_SECONDS = 1.5


@dataclass(frozen=True, slots=True)
class StatusLookup:
    found: bool
    # A status of the contract (`reported_status`); None for a report the case store answered without one.
    status: str | None = None
    # The report's privacy flags, for a follow-up whose report the gateway no longer keeps; None where the case store
    # did not say (`said_flag`).
    anonymous: bool | None = None
    confidential: bool | None = None


async def lookup_status(client: httpx.AsyncClient, tracking_id: str) -> StatusLookup | None:
    """The case store's status for a report; None when it did not answer in time or failed."""
    try:
        response = await client.get(f"/v1/reports/{tracking_id}")
    except httpx.HTTPError:
        return None
    if response.status_code == 404:
        return StatusLookup(found=False) if says_no_such_report(response) else None
    if response.status_code != 200:
        return None
    try:
        report = response.json()
    except ValueError:  # a proxy's HTML page, a truncated body: the case store did not really answer
        return None
    if not isinstance(report, dict) or not names_report(report, tracking_id):
        return None
    return StatusLookup(found=True, status=reported_status(report),
                        anonymous=said_flag(report, "anonymous"), confidential=said_flag(report, "confidential"))


def lookup_status_now(settings: Settings, tracking_id: str) -> StatusLookup | None:
    """`lookup_status` for a caller off the event loop (a poller's thread, a mail's decision taken in a thread),
    within one deadline for the whole question, `LOOKUP_SECONDS`, as a webhook's: httpx's timeouts are per step, and
    a case store that trickled its answer held a synchronous client's thread (a poller, a mail's SMTP session) for
    as long as it liked. A client of its own each time: the question is rare (an ID whose report the gateway no
    longer has), and no connection pool is shared between threads."""

    async def ask() -> StatusLookup | None:
        async with casestore_client(settings, LOOKUP_SECONDS) as client:
            return await asyncio.wait_for(lookup_status(client, tracking_id), LOOKUP_SECONDS)

    try:
        return asyncio.run(ask())
    except TimeoutError:
        return None


# The `error` of the case store's own 404 (casestore/app.py `_problem`).
NOT_FOUND_ERROR = "not_found"


def says_no_such_report(response: httpx.Response) -> bool:
    """Whether a 404 to `GET /v1/reports/{tracking_id}` is the case store's own "no such report": the contract's
    Problem, a JSON object whose `error` is `not_found` (as the reference case store writes it). Any other 404 (a
    proxy's or an ingress's page while the case store is deployed, a wrong path in `LAPOR_CASESTORE_URL`, an empty
    body, a framework's own JSON such as Spring's `{"error": "Not Found", ...}`) is the case store not answering
    properly, logged `casestore.bad_answer` and retried as an outage: read as "no such report", a citizen was told
    that the report they were given an ID for does not exist, and a follow-up to it was filed as a new report."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error") == NOT_FOUND_ERROR:
        return True
    log.warning("casestore.bad_answer", path="/v1/reports/{tracking_id}", status=404,
                body="not_json" if body is None else type(body).__name__)
    return False


def names_report(report: dict[str, Any], tracking_id: str) -> bool:
    """Whether a report the case store answered for `tracking_id` is that one, if it names one: a cache or a proxy
    answering with another report's (its status, its privacy flags) told the citizen another report's status."""
    named = report.get("tracking_id", tracking_id)
    same = isinstance(named, str | int) and not isinstance(named, bool) and str(named) == tracking_id
    if not same:
        log.warning("casestore.bad_answer", path="/v1/reports/{tracking_id}", status=200, body="another_report",
                    tracking_id=tracking_id)
    return same


def reported_status(report: dict[str, Any]) -> str | None:
    """A report's status as the case store answered it, when it is one of the contract's (`is_status`); None for any
    other (missing, null, a number, a name the contract does not have), logged as `casestore.bad_answer` with the
    kind of value, never the value (a broken case store may answer anything). Both answers to a CEK read it: the
    immediate one echoed an unknown name raw ("None" for null), the status job's read null as "received"."""
    status = report.get("status")
    if is_status(status):
        return str(status)
    kind = ("missing" if "status" not in report else "unknown_name" if isinstance(status, str)
            else type(status).__name__.replace("NoneType", "null"))
    log.warning("casestore.bad_answer", path="/v1/reports/{tracking_id}", status=200, report_status=kind)
    return None


def said_flag(report: dict[str, Any], name: str) -> bool | None:
    """A privacy flag as the case store said it, JSON true or false; None for anything else (missing, null, "false",
    0): the contract asks its GET for a status only, and a missing `anonymous` read as false filed an anonymous
    report's follow-up with its sender's number."""
    value = report.get(name)
    return value if isinstance(value, bool) else None


def held_by_gateway(redis: Redis, tracking_id: str) -> bool:
    """Whether the gateway keeps this report itself: acknowledged with this ID, maybe not forwarded yet (a backlog,
    a case store just back). Its citizen must then read "received", not "not found"."""
    return bool(redis.exists(envelope_key(tracking_id)))


def held_not_forwarded(redis: Redis, tracking_id: str) -> bool:
    """Whether the gateway keeps this report and has not forwarded it yet (acknowledged, its forward still to come or
    waiting out a case-store outage): the case store cannot have it, and its status is "received" whatever the case
    store answers, or does not. Asked first, so a CEK for the ID just given out during an outage reads "received" as
    the README promises: asked only after the case store said "no such report", the lookup that timed out (or was
    refused a connection) skipped it, and the citizen was told the status "cannot be checked now"."""
    pipe = redis.pipeline(transaction=False)
    pipe.exists(envelope_key(tracking_id))
    pipe.hget(REPORT_STATE_KEY.format(tracking_id=tracking_id), "state")
    held, state = pipe.execute()
    return bool(held) and state != b"forwarded"


async def _not_forwarded(redis: Redis | None, tracking_id: str) -> bool:
    """`held_not_forwarded`, False when Redis is not to be asked (None) or cannot tell: the case store is asked then,
    as before."""
    return bool(await _asked(held_not_forwarded, redis, tracking_id, unknown=False))


async def _held(redis: Redis | None, tracking_id: str) -> bool | None:
    """`held_by_gateway`, or None when Redis cannot tell (down: the report may be in a gateway's disk spool)."""
    return await _asked(held_by_gateway, redis, tracking_id, unknown=None)


async def _asked(ask: Callable[[Redis, str], bool], redis: Redis | None, tracking_id: str, *,
                 unknown: bool | None) -> bool | None:
    """`ask` of Redis off the event loop: False when Redis is not to be asked (None), `unknown` when it cannot tell."""
    if redis is None:
        return False
    try:
        return await asyncio.to_thread(ask, redis, tracking_id)
    except RedisError:
        return unknown


def casestore_client(settings: Settings, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.casestore_url,
        headers={"Authorization": f"Bearer {settings.casestore.token}"},
        timeout=timeout,
        verify=tls_context(),
    )


def casestore_lookup_now(settings: Settings) -> Callable[[str], StatusLookup | None]:
    """`lookup_status_now` for a process's threads (mention pollers, the mail processor)."""
    return partial(lookup_status_now, settings)


async def follow_up_status(client: httpx.AsyncClient, redis: Redis | None, tracking_id: str) -> str | None:
    """The status of the report an addition that asked it too was added to ("CEK <id> <words>"), for the answer that
    gives both: the case store's, "received" for a report the gateway holds and has not forwarded yet (asked of Redis
    first, as a CEK's: `held_not_forwarded`); None when the status job must ask (no answer in time, none of the
    contract, a report neither has), as for a CEK."""
    if await _not_forwarded(redis, tracking_id):
        return "received"
    lookup = await lookup_status(client, tracking_id)
    if lookup is None or not lookup.found:
        return "received" if lookup is not None and await _held(redis, tracking_id) else None
    return lookup.status


async def answer_query(query: Query, client: httpx.AsyncClient, redis: Redis | None = None,
                       spool_may_hold: Callable[[], bool] | None = None, *,
                       held_first: bool = True) -> tuple[str, bool]:
    """(reply text, whether a status job must still answer later). With `redis`, a report the case store does not
    have yet but the gateway holds is "received"; while Redis cannot say, or while a disk spool may hold it
    (`spool_may_hold`, `Intake.may_hold`), it is answered later, never "not found". One the gateway holds and has not
    forwarded yet is "received" without asking the case store (`held_not_forwarded`), down or not; not asked of Redis
    first without `held_first` (while intake spools: Redis fails, and a hang would cost its timeout again)."""
    language = query.language
    if query.action is Action.HELP:
        return render("help", language), False
    if query.action is Action.STATUS_HELP:
        return render("status_help", language), False
    if query.action is Action.BAD_TRACKING_ID:
        return render("bad_tracking_id", language, tracking_id=shown_typed_id(query.tracking_id or "?")), False
    assert query.tracking_id is not None
    if held_first and await _not_forwarded(redis, query.tracking_id):
        return status_text(query.tracking_id, "received", language, found=True), False
    lookup = await lookup_status(client, query.tracking_id)
    if lookup is None or (lookup.found and lookup.status is None):
        # No answer, or one without a status of the contract: the status job asks again, as the case store away.
        return render("status_pending", language, tracking_id=query.tracking_id), True
    if not lookup.found:
        held = await _held(redis, query.tracking_id)
        if held is None:
            # Redis away: intake answers from its disk spool, whose reports neither Redis nor the case store has.
            # "Not found" would deny a report just acknowledged; the answer follows as for a case store away.
            return render("status_pending", language, tracking_id=query.tracking_id), True
        if held:
            lookup = StatusLookup(found=True, status="received")
        elif spool_may_hold is not None and await asyncio.to_thread(spool_may_hold):
            return render("status_pending", language, tracking_id=query.tracking_id), True
    return status_text(query.tracking_id, lookup.status, language, found=lookup.found), False
