"""Messages the gateway received and failed to file: kept in Redis, so no bug of ours loses a citizen's words.

A mention or comment whose words or form meet a bug of ours (the grammar, a follow-up's lookup, the envelope) raised
in every poller round, and the batch it came in, with every mention and comment after it, was never filed: the
channel stuck on one message, only `poller.crashed` in the log. An SMS that met one was answered 500, which Twilio
does not retry: its words were lost. Now each is kept whole (the message as the channel built it) with the error's
type and where it was raised (never its words, which may quote the message), the channel turns degraded while any is
kept (health rule `unfiled`), and `lapor-gateway unfiled retry` files it once the bug is mended. A Redis failure
while keeping a mention raises: the poller keeps its cursor, and nothing is lost. A later delivery of the same message
filed as any (the provider's retry, a poller reading it again) forgets it too (`gateway.intake`, `forget_filed`),
unless the one kept holds a part (a concatenated SMS's) the filed one lacks.

The e-mail channel keeps its own equivalent, on disk: the mail quarantine (`channels.email.store.Quarantine`).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from redis import Redis
from redis.client import Pipeline

from gateway.metrics import health_channel
from gateway.queues import sender_digest
from gateway.settings import Settings
from normalizer.envelope import Attachment, Channel, SenderKind
from normalizer.inbound import InboundMessage

# One hash per channel (its health name): field = the message's source and provider id, value = UnfiledMessage's record.
UNFILED_KEY = "lapor:unfiled:{channel}"
# The project's own top directories: the frame named as where an error was raised is the innermost one of ours.
_OWN_CODE = ("channels", "gateway", "normalizer", "workers")


def unfiled_entry(source: str, provider_message_id: str) -> tuple[str, str]:
    """Where a message of `source` is kept unfiled: its channel's hash (the channel's health name) and its field."""
    return UNFILED_KEY.format(channel=health_channel(source)), f"{source}:{provider_message_id}"


# How the operator's commands name a message kept unfiled (`shown_key`): its source and this before a digest.
SHOWN_KEY_PREFIX = "kept-"


def shown_key(settings: Settings, key: str) -> str:
    """The name `unfiled list` and `unfiled retry` print for the message kept at `key` (`<source>:<provider id>`):
    its source and a keyed digest of the id (`sender_digest`), `x-mentions:kept-3f0c...`. The key as it is held the
    provider's id of the citizen's post or SMS: a tweet or Instagram comment id opens the post and its author (an
    anonymous whistleblower's account), a Twilio or aggregator id its number in the provider's logs, and a message that
    met a bug cannot be told anonymous or not before it is filed. The commands take either name."""
    source, colon, identity = key.partition(":")
    if not colon:  # a field a hand edit wrote
        source, identity = "", key
    return f"{source}:{SHOWN_KEY_PREFIX}{sender_digest(settings, 'unfiled', source, identity)[:16]}"


def failure_site(error: BaseException) -> str:
    """Where `error` was raised, as `module/file.py:line in function`: the innermost frame of our own code (a
    library's frame says less about what to mend); '' when it carries no traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if Path(frame.filename).parent.name in _OWN_CODE]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return ""
    where = Path(frame.filename)
    return f"{where.parent.name}/{where.name}:{frame.lineno} in {frame.name}"


# The entry's field beside the message's record for its `thread_parents` (X), which the release before does not read.
THREAD_PARENTS = "thread_parents"
# What a kept record may set of a message: the rest (a later release's field) is left out as it is read.
MESSAGE_FIELDS = frozenset(field.name for field in fields(InboundMessage))


def message_record(message: InboundMessage) -> dict[str, Any]:
    """`message` as JSON can hold it, read back whole by `message_from_record`."""
    record = asdict(message)
    record.update(channel=message.channel.value, sender_kind=message.sender_kind.value,
                  received_at=message.received_at.isoformat(),
                  attachments=[attachment.model_dump(mode="json") for attachment in message.attachments],
                  own_posts=list(message.own_posts))
    # Kept beside the record (`THREAD_PARENTS`), not in it: the release before reads a record with a field it does not
    # know as damaged, and says to delete it (a citizen's words).
    del record["thread_parents"]
    return record


def message_from_record(record: dict[str, Any]) -> InboundMessage:
    """The message `message_record` kept. A concatenated SMS is kept joined: none is one part of one."""
    # A field a later release adds is left out, not a reason to read the record as damaged.
    values = {**{key: value for key, value in record.items() if key in MESSAGE_FIELDS},
              "channel": Channel(record["channel"]), "sender_kind": SenderKind(record["sender_kind"]),
              "received_at": datetime.fromisoformat(record["received_at"]),
              "attachments": [Attachment.model_validate(item) for item in record.get("attachments") or ()],
              "own_posts": tuple(record.get("own_posts") or ()),
              "thread_parents": tuple(record.get("thread_parents") or ()), "part": None}
    return InboundMessage(**values)


@dataclass(frozen=True, slots=True)
class UnfiledMessage:
    """One unfiled message: its key in the channel's hash, when and why it was kept, and the message itself."""

    channel: str
    key: str
    unfiled_at: float
    error: str
    where: str
    message: InboundMessage

    @property
    def reason(self) -> str:
        """The error's type and where it was raised: what every view shows (no word of the message)."""
        return failure_reason(self.error, self.where)


def failure_reason(error: str, where: str) -> str:
    """`UnfiledMessage.reason` of an error's type and where it was raised."""
    return f"{error} at {where}" if where else error


def _carries(message: InboundMessage) -> tuple[int, int]:
    """How much of its citizen's words `message` carries, to order two messages kept under one identity: its parts
    (a concatenated SMS's `part_ids`), then its text's length. Two joins of one SMS under one identity are one within
    the other (the whole join holds every part; a sweep's, those stored by its claim): the larger holds every word.
    `_KEEP`, in Redis, counts a held record's the same way."""
    meta = message.channel_meta
    part_ids = meta.get("part_ids") if isinstance(meta, Mapping) else None
    parts = len({str(part_id) for part_id in part_ids}) if isinstance(part_ids, list | tuple) else 0
    return parts, len(message.text) if isinstance(message.text, str) else 0


# KEYS: the channel's hash. ARGV: the message's field, its new entry as JSON without its leading `{"unfiled_at":`
# (`keep`), what it carries (`_carries`: parts, then characters), the time kept now (JSON), and the entry `keep` read
# at the field and could not read back as a message ('' for none). The compare-and-write of that one field, atomic:
# the entry held stays, as written (its failure too), where its message carries more; otherwise the new one is
# written with the held entry's first time. An entry that cannot be read is replaced (with its time where that can be
# read). Returns the entry the field holds now. Concurrent keeps of other messages of the channel never conflict.
_KEEP = r"""
local function carries(message)
  local parts, length = 0, 0
  local meta = message['channel_meta']
  if type(meta) == 'table' and type(meta['part_ids']) == 'table' then
    local seen = {}
    for _, id in ipairs(meta['part_ids']) do
      local name = tostring(id)
      if not seen[name] then
        seen[name] = true
        parts = parts + 1
      end
    end
  end
  if type(message['text']) == 'string' then
    -- characters, as Python counts them: every byte that does not continue a UTF-8 sequence
    length = select(2, string.gsub(message['text'], '[^\128-\191]', ''))
  end
  return parts, length
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local first = ARGV[5]
if raw then
  local ok, held = pcall(cjson.decode, raw)
  if ok and type(held) == 'table' then
    local at = tonumber(held['unfiled_at'])
    if at and at == at and at ~= math.huge and at ~= -math.huge then
      first = string.format('%.17g', at)
      if raw ~= ARGV[6] and type(held['message']) == 'table' then
        local parts, length = carries(held['message'])
        local new_parts, new_length = tonumber(ARGV[3]), tonumber(ARGV[4])
        if parts > new_parts or (parts == new_parts and length > new_length) then return raw end
      end
    end
  end
end
local entry = '{"unfiled_at":' .. first .. ',' .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], entry)
return entry
"""


# KEYS: the channel's hash. ARGV: the message's field, the filed draft's `part_ids` (JSON, strings). The entry goes
# unless its message holds a part (`part_ids`) the filed one lacks; one that cannot be read goes, as before.
_FORGET_FILED = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, entry = pcall(cjson.decode, raw)
if ok and type(entry) == 'table' and type(entry['message']) == 'table' then
  local meta = entry['message']['channel_meta']
  if type(meta) == 'table' and type(meta['part_ids']) == 'table' then
    local filed = {}
    for _, id in ipairs(cjson.decode(ARGV[2])) do filed[id] = true end
    for _, id in ipairs(meta['part_ids']) do
      if not filed[tostring(id)] then return 0 end
    end
  end
end
return redis.call('HDEL', KEYS[1], ARGV[1])
"""


# KEYS: the channel's hash. ARGV: a damaged entry's field, and the entry as it was read. Deleted only as it was read:
# a keep that wrote a message there since (a delivery again of the same message) is not lost with it.
_DROP_DAMAGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def _entry_from_record(channel: str, field: str, raw: bytes) -> UnfiledMessage:
    """The entry `raw` at `field` of `channel`'s hash, read back (raises what a damaged one raises)."""
    entry = orjson.loads(raw)
    return UnfiledMessage(channel, field, float(entry["unfiled_at"]), str(entry["error"]),
                          str(entry.get("where") or ""),
                          message_from_record({**entry["message"], THREAD_PARENTS: entry.get(THREAD_PARENTS)}))


_UNREADABLE = (orjson.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError)


class UnfiledMessages:
    """The unfiled messages in Redis. Reading skips an entry it cannot read back (logged by the caller's count)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._keep = redis.register_script(_KEEP)
        self._forget = redis.register_script(_FORGET_FILED)
        self._drop = redis.register_script(_DROP_DAMAGED)

    def keep(self, channel: str, message: InboundMessage, error: BaseException, now: float,
             also: Callable[[Pipeline], None] | None = None) -> UnfiledMessage:
        """Keep `message` (raises RedisError when Redis does not take it); what the entry holds now. Kept again after
        a failed retry, it keeps its first time. `also` queues steps on the transaction that keeps it (a concatenated
        SMS's parts marked done, `PartBuffer.mark_done`): both are written, or neither.

        Where a message is kept already under its identity, the one that carries more words stays (`_carries`), with
        its own failure (the same message, the new one): a concatenated SMS the webhook joined whole and kept, then a
        sweep's join of fewer of its parts under the same identity (its claim), overwrote it, and the parts only the
        whole one had were lost. Compared and written in Redis at once (`_KEEP`), in the transaction, so two keeps at
        once leave the larger; it once WATCHed the channel's hash, and keeps of other messages of the channel at once
        made a keep fail, its message not kept (the webhook answered 500, and Twilio does not retry)."""
        key, field = UNFILED_KEY.format(channel=channel), unfiled_entry(message.source, message.message_identity)[1]
        new = UnfiledMessage(channel, field, now, type(error).__name__, failure_site(error), message)
        entry: dict[str, Any] = {"error": new.error, "where": new.where, "message": message_record(message)}
        if message.thread_parents:
            entry[THREAD_PARENTS] = list(message.thread_parents)
        unreadable = b""
        if (held := self._redis.hget(key, field)) is not None:
            try:
                _entry_from_record(channel, field, held)
            except _UNREADABLE:  # replaced, unless another keep writes it meanwhile (then compared in Redis)
                unreadable = held
        parts, length = _carries(message)
        with self._redis.pipeline(transaction=True) as pipe:
            self._keep(keys=[key], args=[field, orjson.dumps(entry)[1:], parts, length, orjson.dumps(float(now)),
                                         unreadable], client=pipe)
            if also is not None:
                also(pipe)
            stored = pipe.execute()[0]
        try:
            return _entry_from_record(channel, field, stored)
        except _UNREADABLE:  # never so: the new entry, or a held one read back
            return new

    def list(self) -> tuple[list[UnfiledMessage], int]:
        """Every unfiled message, oldest first, and how many entries could not be read back."""
        kept, damaged = self.read()
        return kept, len(damaged)

    def read(self) -> tuple[list[UnfiledMessage], list[tuple[str, str]]]:
        """Every unfiled message, oldest first, and the entries that could not be read back (channel, key): kept
        still, and counted by the rule `unfiled`, so an operator is shown where they are."""
        keys = sorted(self._redis.scan_iter(match=UNFILED_KEY.format(channel="*"), count=100))
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        kept: list[UnfiledMessage] = []
        damaged: list[tuple[str, str]] = []
        for key, entries in zip(keys, pipe.execute(), strict=True):
            channel = key.decode(errors="replace").removeprefix(UNFILED_KEY.format(channel=""))
            for field, raw in entries.items():
                try:
                    kept.append(_entry_from_record(channel, field.decode(), raw))
                except _UNREADABLE:
                    damaged.append((channel, field.decode(errors="replace")))
        return sorted(kept, key=lambda entry: entry.unfiled_at), damaged

    def purge(self, before: float, *, dry_run: bool = False) -> tuple[int, int]:
        """Delete (with `dry_run`: count) the messages kept since before `before`: the retention's, as for
        quarantined mail (workers.retention), for their words and sender wait in Redis unfiled. How many went, and
        how many stay (newer, or unreadable: an operator's to look at)."""
        entries, unreadable = self.list()
        old = [entry for entry in entries if entry.unfiled_at < before]
        if old and not dry_run:
            pipe = self._redis.pipeline(transaction=False)
            for entry in old:
                pipe.hdel(UNFILED_KEY.format(channel=entry.channel), entry.key)
            pipe.execute()
        return len(old), len(entries) - len(old) + unreadable

    def release(self, kept: UnfiledMessage) -> None:
        """Forget an unfiled message once it is filed."""
        self._redis.hdel(UNFILED_KEY.format(channel=kept.channel), kept.key)

    def drop_damaged(self, channel: str, field: str) -> bool:
        """Delete the entry at `field` of `channel`'s hash if it cannot be read back (`read`'s damaged ones): no retry
        files it, and the rule `unfiled` counts it until it goes. Whether it went: not when it is gone already, or
        can be read back now (a keep of its message wrote it again), which is `unfiled retry`'s to file."""
        key = UNFILED_KEY.format(channel=channel)
        raw = self._redis.hget(key, field)
        if raw is None:
            return False
        try:
            _entry_from_record(channel, field, raw)
        except _UNREADABLE:
            return bool(self._drop(keys=[key], args=[field, raw]))
        return False

    def forget_filed(self, entries: Sequence[tuple[str, str, Any]]) -> list[tuple[str, str, tuple[str, str]]]:
        """Forget the messages at `entries` (hash, field: `unfiled_entry`; then the filed draft's `part_ids`, or
        None), filed by a later delivery of their own, in one round trip; those that were kept, as (channel, field,
        (hash, field)). Raises RedisError.

        A kept message holding a part the filed one lacks stays (`_FORGET_FILED`): a concatenated SMS the webhook
        joined whole and kept, then a sweep's join of fewer of its parts filed under the same identity, forgot it,
        and the parts only the whole one had were lost, its citizen told it was kept and never given a Tracking ID."""
        pipe = self._redis.pipeline(transaction=False)
        for key, field, filed_parts in entries:
            parts = [str(part_id) for part_id in filed_parts] if isinstance(filed_parts, list | tuple) else []
            self._forget(keys=[key], args=[field, orjson.dumps(parts)], client=pipe)
        prefix = UNFILED_KEY.format(channel="")
        return [(key.removeprefix(prefix), field, (key, field))
                for (key, field, _), gone in zip(entries, pipe.execute(), strict=True) if gone]

    def holds_more_parts(self, message: InboundMessage) -> bool:
        """Whether the message kept under `message`'s identity holds every part `message` has and more (`part_ids`):
        a concatenated SMS's whole join, kept, and `message` a sweep's join of fewer of its parts. Filed, it took the
        identity, the operator's retry of the whole one found its report filed, and the parts only the whole one had
        were lost. Raises RedisError."""
        part_ids = message.channel_meta.get("part_ids")
        if not isinstance(part_ids, list | tuple):
            return False
        key, field = unfiled_entry(message.source, message.message_identity)
        raw = self._redis.hget(key, field)
        if raw is None:
            return False
        try:
            kept = _entry_from_record(health_channel(message.source), field, raw).message.channel_meta.get("part_ids")
        except _UNREADABLE:
            return False
        return isinstance(kept, list | tuple) and {str(part) for part in kept} > {str(part) for part in part_ids}

    def newest(self, channel: str) -> tuple[float, str] | None:
        """When the newest message still kept unfiled on `channel` was kept, and why; None when none is (or none can
        be read back)."""
        newest: tuple[float, str] | None = None
        for raw in self._redis.hvals(UNFILED_KEY.format(channel=channel)):
            try:
                entry = orjson.loads(raw)
                at, error, where = float(entry["unfiled_at"]), str(entry["error"]), str(entry.get("where") or "")
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            if newest is None or at > newest[0]:
                newest = (at, failure_reason(error, where))
        return newest
