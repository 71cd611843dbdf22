"""Follow-ups: appended to an existing report, keeping its privacy.

A citizen who reported with ANONIM rarely repeats the flag when adding to the report ("12345678 ada foto baru").
Sent as it is, the follow-up would carry their number to the case store, right next to the anonymous report it
belongs to. So a follow-up inherits `anonymous` and `confidential` from its report: read from the envelope the
gateway keeps in Redis, or, once that is gone (older than `intake.envelope_ttl_seconds`), from the case store.

A follow-up is to an *existing* report (design.md): a well-formed Tracking ID the case store says it never had
(a guess, an ID from another system) makes the message a new report of its own, and the citizen is told so. When
neither Redis nor the case store can say (the case store is down), it stays a follow-up: never a lost message.
"""

from __future__ import annotations

import httpx
import orjson
from redis import Redis

from gateway.outbound import durably
from gateway.queries import lookup_status
from gateway.queues import envelope_key
from normalizer.envelope import ReportDraft


def parent_flags(redis: Redis, tracking_id: str) -> tuple[bool, bool] | None:
    """(anonymous, confidential) of a stored report, None when the gateway no longer has it."""
    raw = redis.get(envelope_key(tracking_id))
    if raw is None:
        return None
    envelope = orjson.loads(raw)
    return bool(envelope.get("anonymous")), bool(envelope.get("confidential"))


def with_parent_flags(draft: ReportDraft, anonymous: bool, confidential: bool) -> ReportDraft:
    """The follow-up with its report's privacy flags added (never removed)."""
    merged = (draft.anonymous or anonymous, draft.confidential or confidential)
    if merged == (draft.anonymous, draft.confidential):
        return draft
    return draft.model_copy(update={"anonymous": merged[0], "confidential": merged[1]})


async def resolve_follow_up(redis: Redis, client: httpx.AsyncClient, draft: ReportDraft) -> tuple[ReportDraft, bool]:
    """(the draft to commit, whether its report is unknown): a follow-up with its report's flags, or, when the case
    store says there is no such report, the same message as a new report (`follow_up_of` cleared)."""
    assert draft.follow_up_of is not None
    flags = await durably(parent_flags, redis, draft.follow_up_of)
    if flags is not None:
        return with_parent_flags(draft, *flags), False
    lookup = await lookup_status(client, draft.follow_up_of)
    if lookup is None:  # the case store cannot say now: keep it a follow-up, with its own flags
        return draft, False
    if not lookup.found:  # a new report, with the number the citizen typed kept in its text
        return draft.model_copy(update={"follow_up_of": None, "text": f"{draft.follow_up_of} {draft.text}"}), True
    return with_parent_flags(draft, lookup.anonymous, lookup.confidential), False
