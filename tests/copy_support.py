"""Damaged envelope copies of a report, as the tests of each channel write them over the gateway's copy in Redis: a
message naming a report whose copy is damaged is taken as one naming a report whose copy is gone
(gateway/followups.py `readable_copy`), and never crashes on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from redis import Redis

from gateway.queues import envelope_key

Envelope = dict[str, Any]


def _without(field: str) -> Callable[[Envelope, Envelope], bytes]:
    return lambda own, _other: orjson.dumps({key: value for key, value in own.items() if key != field})


def _with(**fields: Any) -> Callable[[Envelope, Envelope], bytes]:
    return lambda own, _other: orjson.dumps({**own, **fields})


@dataclass(frozen=True)
class Damage:
    """What Redis holds under the report's key, from (the report's own envelope, another report's envelope whose
    sender is the sender of the message naming the report), and the `reason` the gateway logs for it (None: gone)."""

    id: str
    copy: Callable[[Envelope, Envelope], bytes | None]
    reason: str | None


DAMAGES = [
    Damage("gone", lambda _own, _other: None, None),
    Damage("not-json-truncated", lambda own, _other: orjson.dumps(own)[:60], "not_json"),
    Damage("json-null", lambda _own, _other: b"null", "not_an_object"),
    Damage("json-list", lambda own, _other: orjson.dumps([own]), "not_an_object"),
    # Another report's copy under this report's key: its flags (open) and sender (the message's own) would say the
    # message is its reporter's words, filed open beside an anonymous report.
    Damage("another-reports-copy-by-the-messages-sender", lambda _own, other: orjson.dumps(other),
           "another_tracking_id"),
    # The report's own copy under another ID: its sender is not the message's, which made the message a follow-up
    # told `from_reports_sender` false.
    Damage("its-own-copy-of-another-id", lambda own, other: orjson.dumps({**own, "tracking_id": other["tracking_id"]}),
           "another_tracking_id"),
    Damage("without-anonymous", _without("anonymous"), "missing_fields"),
    Damage("without-sender", _without("sender"), "missing_fields"),
    Damage("sender-a-string", lambda own, _other: orjson.dumps({**own, "sender": own["sender"]["id"]}),
           "missing_fields"),
    Damage("confidential-null", _with(confidential=None), "missing_fields"),
    Damage("channel-meta-a-list", _with(channel_meta=["reply_to"]), "missing_fields"),
]


def damage(redis: Redis, tracking_id: str, other_id: str, row: Damage) -> None:
    """Write `row`'s copy over report `tracking_id`'s, keeping its expiry (or delete it: gone)."""
    key = envelope_key(tracking_id)
    own, other = orjson.loads(redis.get(key)), orjson.loads(redis.get(envelope_key(other_id)))
    copy = row.copy(own, other)
    if copy is None:
        redis.delete(key)
    else:
        redis.set(key, copy, keepttl=True)
