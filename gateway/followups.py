"""Follow-ups keep their report's privacy: a follow-up to an anonymous report must not reveal the reporter.

A citizen who reported with ANONIM rarely repeats the flag when adding to the report ("12345678 ada foto baru").
Sent as it is, the follow-up would carry their number to the case store, right next to the anonymous report it
belongs to. So a follow-up inherits `anonymous` and `confidential` from its report, read from the envelope the
gateway keeps in Redis. When that envelope is gone (older than `intake.envelope_ttl_seconds`) the follow-up keeps
its own flags.
"""

from __future__ import annotations

import orjson
from redis import Redis

from gateway.queues import envelope_key
from normalizer.envelope import ReportDraft


def parent_flags(redis: Redis, tracking_id: str) -> tuple[bool, bool] | None:
    """(anonymous, confidential) of a stored report, None when the gateway no longer has it."""
    raw = redis.get(envelope_key(tracking_id))
    if raw is None:
        return None
    envelope = orjson.loads(raw)
    return bool(envelope.get("anonymous")), bool(envelope.get("confidential"))


def inherit_privacy(redis: Redis, draft: ReportDraft) -> ReportDraft:
    """The follow-up with its report's privacy flags added (never removed). Synchronous: call it from a thread."""
    if not draft.follow_up_of:
        return draft
    flags = parent_flags(redis, draft.follow_up_of)
    if flags is None:
        return draft
    anonymous, confidential = draft.anonymous or flags[0], draft.confidential or flags[1]
    if (anonymous, confidential) == (draft.anonymous, draft.confidential):
        return draft
    return draft.model_copy(update={"anonymous": anonymous, "confidential": confidential})
