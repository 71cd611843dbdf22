"""Concatenated SMS: parts are made durable in Redis as they arrive and joined once all are there.

Each part is stored with one atomic script (HSETNX: a duplicated part changes nothing) before the provider is
answered, so an acknowledged part is never lost. When the last part arrives the webhook normalizes the joined
message at once. A message whose parts never all arrive is taken as it is after `aggregator.concat_wait_seconds`,
marked `incomplete`, by a sweep the gateway runs every `concat_sweep_seconds`: the buffer's deadline sits in a
sorted set; a sweeper claims a due buffer by pushing its deadline out by a lease (so a sweeper that dies
mid-way leaves it to the next one), commits it through intake, then marks it done. The joined message's id is the
aggregator id of its lowest part, so a buffer completed twice (a retried last part, a sweep racing a late part)
dedups to one report. Once a sweep has claimed a buffer, every later join of it takes the id the sweep took (the
buffer's `:as` key names that part, `:as:fp` its fingerprint, and only a mark of the message holding it drops them): the
sweep's lowest part is not the lowest once part 1 comes, and joined under two ids the one SMS was two reports, with
two Tracking IDs and two acknowledgements. A done marker answers parts
that arrive after the join with the same Tracking ID, for as long as intake remembers a single SMS's id
(`intake.dedup_ttl_seconds`): a part an SMSC delivers late, or an aggregator's retried callback, is no second
report. A part the message was taken without (`late`) is filed as an addition to its report, once (`LatePart`); a
part any message under the reference was taken with (`:seen`) is never one, whatever message was taken since. A
phone's reference is a counter of 8 (or 16) bits, so within that time its sender may use it again for
another message: the marker also keeps a fingerprint of each part taken, and a part whose number the message had
with other content starts that other message. A part at a number the message never had (taken incomplete) goes to
that other message once one has begun, and is taken as the late part only while none has: else the next message's
part, in the order sent, was answered as the first one's and lost. So too before the join: a part whose number the
waiting buffer holds with other content is another message's (a phone that gives every message the same reference,
an earlier message's part lost), and the earlier message is taken at once as its parts make it; the part then
starts the new buffer. Kept as a duplicate, it was lost, and its message's other parts were joined to the earlier
message's as one report.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from gateway.errors import INTERNAL_ERROR, GatewayError, RejectedInput
from gateway.logs import bind_message_context, clear_message_context, get_logger, sensitive_values
from gateway.queues import sender_digest
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind
from normalizer.inbound import InboundMessage, decode_payload
from normalizer.sender import normalize_msisdn

log = get_logger()

PENDING_KEY = "lapor:concat:pending"
BUFFER_KEY = "lapor:concat:{source}:{digest}"
# Between the parts of a message of which some never came.
GAP_MARKER = " [...] "
# Parts wait at most this long in Redis even if no sweeper ever runs (a week: no acknowledged part expires early).
PARTS_TTL_SECONDS = 7 * 24 * 3600
LEASE_SECONDS = 60

# The claim a buffer's `:as` and `:as:fp` make, as one name (`_names`): `p2 <fp>` while the buffer holds that
# fingerprint at that part, else the field alone (`p2`). `:as` holds the field alone, as the release before this one
# wrote and reads it (`f"p{number}" == taken_as`); a claim written as `p2 <fp>` was no part to it, and it joined the
# message under its lowest part's id where this release's sweep had taken another: two reports of one SMS while both
# ran. That release's mark deletes `:as` and leaves `:as:fp`, and its claim may then write `:as` anew for the next
# message: a fingerprint the part at the field does not have is such a left one, and the field alone is read, as that
# release reads it.
# `fp_of`: the fingerprint a part's record carries (nil for one the release before wrote, or one not readable).
_CLAIM_OF = """
local function fp_of(raw)
  local ok, record = pcall(cjson.decode, raw)
  if ok and type(record) == 'table' and type(record['fp']) == 'string' then return record['fp'] end
  return nil
end
local function claim_of(buffer, as_key, fp_key)
  local as = redis.call('GET', as_key)
  if not as then return false end
  local fp = redis.call('GET', fp_key)
  if not fp then return as end
  local held = redis.call('HGET', buffer, as)
  if held and fp_of(held) == fp then return as .. ' ' .. fp end
  return as
end
"""

# KEYS: the buffer, its done marker, the pending set, its parts taken, its `:as`, its `:as:fp`, every part taken under
# the key (`:seen`), its late parts pending (`:pending-late`). ARGV: the part's field, its record, the part count, the
# deadline, the parts' TTL, the part's fingerprint.
# `:taken` holds the last message's parts (`p2` -> fingerprint), as the release before this one writes and reads it;
# `:seen` every part any message under the key was taken with (`p2 <fp>` -> its Tracking ID), for as long as the done
# marker: a next message's mark writes `:taken` anew, and a part of the message before delivered again, at a number
# the next one was taken without, was that one's late part (the first message's words, named, added to the next one's
# report, anonymous). It is answered `done` with its own message's Tracking ID, as it was before late parts were filed.
# A late part taken (never seen under the key, none held at its number, no next message begun) keeps its
# fingerprint in `:taken` beside the parts taken: a next message's part at that number, with other content, then
# starts that message (unkept, it was answered as a second late part, and the next message's text lost); the release
# before this one reads it there as a part taken, and answers its deliveries `done` (a pending mark there, `<fp> late`,
# was another message's part to it: a buffer of its own, a second report). It is pending in `:pending-late` (`p2 <fp>`
# -> the Tracking ID) and answered `late`: the webhook files its words as an addition to the report, then marks it
# taken (`late_taken`). Until then each delivery of it is `late` again, with that Tracking ID whatever message was taken
# since (the provider's retry of a callback its filing failed, 503, files it; intake's dedup makes every filing of it
# one addition); after, `done`.
_ADD_PART = _CLAIM_OF + """
local done = redis.call('GET', KEYS[2])
local named = ARGV[1] .. ' ' .. ARGV[6]
local pending = redis.call('HGET', KEYS[8], named)
if pending then return {'late', pending} end
local seen = redis.call('HGET', KEYS[7], named)
if done then
  local taken = redis.call('HGET', KEYS[4], ARGV[1])
  if taken == ARGV[6] then return {'done', seen or done} end
  if seen then return {'done', seen} end
  if not taken and redis.call('EXISTS', KEYS[1]) == 0 then
    local ttl = redis.call('PTTL', KEYS[2])
    redis.call('HSET', KEYS[4], ARGV[1], ARGV[6])
    redis.call('HSET', KEYS[8], named, done)
    if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) redis.call('PEXPIRE', KEYS[8], ttl) end
    return {'late', done}
  end
elseif seen then
  return {'done', seen}
end
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local fp = fp_of(held)
  if fp and fp ~= ARGV[6] then
    return {'conflict', redis.call('HGETALL', KEYS[1]), claim_of(KEYS[1], KEYS[5], KEYS[6])}
  end
end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return {'complete', redis.call('HGETALL', KEYS[1]), claim_of(KEYS[1], KEYS[5], KEYS[6])}
end
redis.call('ZADD', KEYS[3], 'NX', ARGV[4], KEYS[1])
return {'waiting'}
"""

# KEYS: the pending set, the buffer, its `:as`, its `:as:fp`. ARGV: the buffer's key, now, the lease's end, the parts'
# TTL. Nothing (not due, or claimed by another sweeper), an empty list (the buffer is gone: dropped from the pending
# set in the same step, so a part stored meanwhile keeps its deadline), or the parts and the part whose id the message
# takes. The claim names that part by its field (`:as`: `p2`) and fingerprint (`:as:fp`, `_CLAIM_OF`): the buffer's
# key is the sender's, reference's and part count's, so the next message with the reference has the same one, and
# only its fingerprint tells whose part 2 a claim took. A claim that names no part the buffer holds (an earlier
# message's) is replaced; one that does is kept (a claim again after the lease: the same message), as is one the
# release before this one wrote (`p2` alone) whose field the buffer holds.
_CLAIM_DUE = _CLAIM_OF + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
local parts = redis.call('HGETALL', KEYS[2])
if #parts == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local lowest, lowest_field, lowest_fp, held = nil, nil, nil, {}
for i = 1, #parts, 2 do
  local number = tonumber(string.sub(parts[i], 2))
  local fp = fp_of(parts[i + 1])
  held[parts[i]] = true
  if fp then held[parts[i] .. ' ' .. fp] = true end
  if number and (not lowest or number < lowest) then lowest, lowest_field, lowest_fp = number, parts[i], fp end
end
local as = claim_of(KEYS[2], KEYS[3], KEYS[4])
if not (as and held[as]) then
  redis.call('SET', KEYS[3], lowest_field, 'EX', ARGV[4])
  as = lowest_field
  if lowest_fp then
    redis.call('SET', KEYS[4], lowest_fp, 'EX', ARGV[4])
    as = as .. ' ' .. lowest_fp
  else
    redis.call('DEL', KEYS[4])
  end
end
return {parts, as}
"""


# The messages under one key (a sender's reference and part count) whose parts are remembered (`:seen`): the newest,
# by Tracking ID (a sequence).
SEEN_MESSAGES = 8

# KEYS: the buffer, its done marker, its parts taken, the pending set, its `:as`, its `:as:fp`, its late parts, every
# part taken under the key (`:seen`, `_ADD_PART`, the last SEEN_MESSAGES messages'), its late parts pending. ARGV:
# the Tracking ID, the marker's TTL, `late` ('0', or the late parts' TTL, below), then each part taken and its
# fingerprint. A part goes only while the
# buffer holds it with that fingerprint (one stored since at its number, another message's, stays); the buffer and its
# deadline go once no part is left. The claim (`:as` and `:as:fp`) goes only when it names a part taken (`_CLAIM_OF`): a
# late mark (a superseded message's sweep, a second mark that finds no parts) deleted the claim a sweep had made since
# on the next message with the reference, whose part 1 then joined it under another id than the sweep's, a second report
# of one SMS. A mark that takes no part writes the done marker only where there is none: the mark that took the parts
# wrote it (a late mark of a superseded message wrote its Tracking ID over the next message's, and that message's
# retried parts were answered with it).
# ARGV[3] `late` (a sweep's mark, `mark_done(late=True)`, with the TTL of what it sets aside): when every part taken was
# still held, as taken, any other part the buffer holds came while the sweep took the message (at a number it lacked: it
# joined it, as a part at another number would have made a conflict), a late part of it, taken as one that comes after
# the mark is: its fingerprint kept pending (KEYS[9]), its record moved to the message's late parts (KEYS[7],
# `late_parts`), for the sweeper to file as an addition to the report (`late_taken` then drops it). Left, it waited out
# the sweep's lease and was filed as a second report of the one SMS, the message's other late parts joining it there;
# dropped, as it was, its words were lost.
_MARK_DONE = _CLAIM_OF + """
local previous = redis.call('GET', KEYS[2])
if #ARGV > 3 then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
else
  redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2])
end
local as = claim_of(KEYS[1], KEYS[5], KEYS[6])
if #ARGV > 3 then
  -- The parts the message before took, under its Tracking ID, where `:seen` lacks them (a release before this one
  -- kept none: a named message's part delivered again was taken for the next, anonymous one's late part).
  if previous and previous ~= ARGV[1] then
    local taken = redis.call('HGETALL', KEYS[3])
    for i = 1, #taken, 2 do
      local named = taken[i] .. ' ' .. (string.gsub(taken[i + 1], ' late$', ''))
      if redis.call('HEXISTS', KEYS[8], named) == 0 then redis.call('HSET', KEYS[8], named, previous) end
    end
  end
  -- Only the last SEEN_MESSAGES messages' parts are kept (a phone that gives every message one reference grew it by
  -- each message's parts for as long as it wrote, its TTL pushed back at each).
  local seen = redis.call('HGETALL', KEYS[8])
  local ids, order = {}, {}
  ids[ARGV[1]] = true
  table.insert(order, ARGV[1])
  for i = 2, #seen, 2 do
    if not ids[seen[i]] then
      ids[seen[i]] = true
      table.insert(order, seen[i])
    end
  end
  if #order > SEEN_MESSAGES then
    table.sort(order, function(a, b) return (tonumber(a) or 0) > (tonumber(b) or 0) end)
    local kept = {}
    kept[ARGV[1]] = true
    for i = 1, SEEN_MESSAGES do kept[order[i]] = true end
    for i = 1, #seen, 2 do
      if not kept[seen[i + 1]] then redis.call('HDEL', KEYS[8], seen[i]) end
    end
  end
  redis.call('DEL', KEYS[3])
  local all_held = true
  for i = 4, #ARGV, 2 do
    if as == ARGV[i] .. ' ' .. ARGV[i + 1] or as == ARGV[i] then redis.call('DEL', KEYS[5], KEYS[6]) end
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[8], ARGV[i] .. ' ' .. ARGV[i + 1], ARGV[1])
    local held = redis.call('HGET', KEYS[1], ARGV[i])
    if held then
      local fp = fp_of(held)
      if not (fp and fp ~= ARGV[i + 1]) then
        redis.call('HDEL', KEYS[1], ARGV[i])
      else
        all_held = false
      end
    else
      all_held = false
    end
  end
  if ARGV[3] ~= '0' and all_held then
    local left = redis.call('HGETALL', KEYS[1])
    for i = 1, #left, 2 do
      local fp = fp_of(left[i + 1])
      if fp then
        redis.call('HSET', KEYS[3], left[i], fp)
        redis.call('HSET', KEYS[9], left[i] .. ' ' .. fp, ARGV[1])
        redis.call('EXPIRE', KEYS[9], ARGV[2])
        redis.call('HSET', KEYS[7], left[i], left[i + 1])
        redis.call('EXPIRE', KEYS[7], ARGV[3])
        redis.call('HDEL', KEYS[1], left[i])
      end
    end
  end
  redis.call('EXPIRE', KEYS[3], ARGV[2])
  redis.call('EXPIRE', KEYS[8], ARGV[2])
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[4], KEYS[1])
  redis.call('DEL', KEYS[1])
end
"""

# KEYS: the buffer's parts taken under the key (`:seen`), its late parts pending, its late parts. ARGV: the late
# part's field and fingerprint, the marker's TTL. A late part filed (or kept unfiled): it is taken as the message's
# other parts are (`:seen`, with its message's Tracking ID), no longer pending, and its record goes.
_LATE_TAKEN = """
local named = ARGV[1] .. ' ' .. ARGV[2]
local tracking_id = redis.call('HGET', KEYS[2], named)
if tracking_id then
  redis.call('HSET', KEYS[1], named, tracking_id)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('HDEL', KEYS[2], named)
end
local record = redis.call('HGET', KEYS[3], ARGV[1])
if record then
  local ok, decoded = pcall(cjson.decode, record)
  if ok and type(decoded) == 'table' and decoded['fp'] == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[1]) end
end
"""


@dataclass(frozen=True, slots=True)
class PartResult:
    """`waiting` (stored, more to come), `complete` (`message` is the joined SMS), `done` (already joined),
    `late` (a part of a message taken without it, not yet filed: `message` is the part as a message of its own,
    `LatePart`; file it as an addition to `tracking_id`'s report, then `late_taken`) or
    `conflict`: the buffer holds another content at this part's number, so it is another message with the same
    reference (a phone that gives every message one reference, an earlier one's part lost); `message` is the earlier
    message as its parts make it, nothing of this part stored. Take it (`mark_done`), then add the part again."""

    state: str
    key: str
    message: InboundMessage | None = None
    tracking_id: str | None = None
    late: LatePart | None = None
    # `complete`: the part records the message was joined from (`Gateway.take_parts_the_report_lacks`).
    records: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class LatePart:
    """A part that came after its message was taken (`_ADD_PART`'s `late`, or stored as a sweep took the message,
    `_MARK_DONE`): `message` is the part alone as a message (its text between gap markers where parts are before or
    after it, `incomplete`), its identity (`dedup_id`) its buffer's (the sender's, reference's and part count's), its
    number and fingerprint, so every filing of it, from any delivery or path, is one addition at intake. Not the
    message's Tracking ID: the sender's next message under the reference, taken, writes its own parts taken over
    these, and a retry of this part then came as that message's late part, and was added to its report too."""

    key: str
    field: str
    part_print: str
    number: int
    message: InboundMessage
    # The message's Tracking ID, "-" where it has none (a query, a message kept unfiled or refused; its marker gone).
    tracking_id: str


def fingerprint(coding: str, data: str) -> str:
    """What tells one part's content from another's at the same number: the same part delivered again has it."""
    payload = data if coding == "gsm7" else "".join(data.split()).lower()
    return hashlib.sha1(f"{coding}\0{payload}".encode(), usedforsecurity=False).hexdigest()[:16]


# The UTF-16 byte order marks a UCS-2 message's first part may open with (`normalizer.inbound._utf16_text`).
_BYTE_ORDER_MARKS = ("fffe", "feff")


def join_parts(parts: list[dict[str, Any]], total: int) -> tuple[str, bool]:
    """(joined text, incomplete). Consecutive parts of one coding are joined as bytes before decoding. A UCS-2
    message's byte order mark opens its first part and says how to read every part: a run of parts after a gap (or
    after a part of another coding) is read with it too. Read without it, big-endian, a little-endian message's
    parts after a lost one reached the case store as CJK characters."""
    by_number = {int(part["number"]): part for part in parts}
    pieces: list[str] = []
    run: list[dict[str, Any]] = []
    first = by_number.get(1)
    opening = "".join(first["data"].split())[:4].lower() if first is not None and first["coding"] == "ucs2" else ""
    mark = opening if opening in _BYTE_ORDER_MARKS else ""

    def flush() -> None:
        if not run:
            return
        coding = run[0]["coding"]
        joined = "".join(part["data"] for part in run) if coding == "gsm7" else "".join(
            "".join(part["data"].split()) for part in run
        )
        if coding == "ucs2" and int(run[0]["number"]) != 1:
            joined = mark + joined
        pieces.append(decode_payload(coding, joined))
        run.clear()

    missing = False
    for number in range(1, total + 1):
        part = by_number.get(number)
        if part is None:
            flush()
            missing = True
            if not pieces or pieces[-1] != GAP_MARKER:
                pieces.append(GAP_MARKER)
            continue
        if run and run[0]["coding"] != part["coding"]:
            flush()
        run.append(part)
    flush()
    # One space either side of a gap, whatever spacing the parts had.
    text = re.sub(r"\s*" + re.escape(GAP_MARKER.strip()) + r"\s*", GAP_MARKER, "".join(pieces))
    return text.strip(), missing


class PartBuffer:
    """Synchronous Redis operations; the gateway calls them from a thread so its event loop never blocks."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings
        self._add = redis.register_script(_ADD_PART)
        self._claim = redis.register_script(_CLAIM_DUE)
        self._mark = redis.register_script(_MARK_DONE.replace("SEEN_MESSAGES", str(SEEN_MESSAGES)))
        self._late_taken = redis.register_script(_LATE_TAKEN)

    @property
    def wait_seconds(self) -> float:
        return self._settings.aggregator.concat_wait_seconds

    @property
    def done_ttl(self) -> int:
        """How long a joined message's done marker answers its parts: as long as intake's claim on a single SMS's id
        (`intake.dedup_ttl_seconds`), so a part delivered late or again is deduped as that SMS would be, and at least
        twice the wait. With the fingerprints of its parts (`mark_done`): some 350 bytes of Redis per joined message,
        beside the 1.4 kB of its envelope, kept as long."""
        return int(max(self._settings.intake.dedup_ttl_seconds, 2 * self.wait_seconds))

    @property
    def late_ttl(self) -> int:
        """How long a late part a sweep set aside (`:late`: its words and sender) waits at most to be filed: no
        longer than parts wait (it waited the done marker's 30 days where its filing failed)."""
        return min(self.done_ttl, self.parts_ttl)

    @property
    def parts_ttl(self) -> int:
        """How long a buffer's parts (and its claim, `:as` and `:as:fp`) wait in Redis at most, swept or not."""
        return int(max(PARTS_TTL_SECONDS, 2 * self.wait_seconds))

    def buffer_key(self, message: InboundMessage) -> str:
        """The parts' buffer, named by the sender's keyed digest (`sender_digest`) with the reference and part count.
        An unkeyed SHA-1 of them named it, and its `:done` marker, holding the Tracking ID, stays 30 days: hashing a
        suspect's number with the 256 references an 8-bit UDH has told whether an anonymous report was theirs. The
        parts of a message that span an upgrade to this name are taken as two incomplete (anonymous) messages."""
        assert message.part is not None
        sender = normalize_msisdn(message.sender_address, self._settings.sms.default_region)
        digest = sender_digest(self._settings, "concat", sender, message.part.reference, str(message.part.total))
        return BUFFER_KEY.format(source=message.source, digest=digest)

    def add(self, message: InboundMessage) -> PartResult:
        """Store one part durably; return the joined message when this part completes it."""
        part = message.part
        assert part is not None
        key = self.buffer_key(message)
        # `fp`: what tells this part's content from another message's at its number (`_ADD_PART`).
        part_print = fingerprint(part.coding, part.data)
        record = {
            "fp": part_print, "id": message.provider_message_id, "dedup_id": message.dedup_id, "number": part.number,
            "total": part.total,
            "coding": part.coding, "data": part.data, "reference": part.reference, "sender": message.sender_address,
            "recipient": message.recipient, "source": message.source, "channel": message.channel.value,
            "received_at": message.received_at.isoformat(), "meta": dict(message.channel_meta),
        }
        deadline = time.time() + self.wait_seconds
        result = self._add(
            keys=[key, key + ":done", PENDING_KEY, key + ":taken", key + ":as", key + ":as:fp", key + ":seen",
                  key + ":pending-late"],
            args=[f"p{part.number}", orjson.dumps(record), part.total, deadline, self.parts_ttl, part_print],
        )
        state = result[0].decode()
        if state == "done":
            return PartResult("done", key, tracking_id=result[1].decode())
        if state == "late":
            late = self.late_part(key, record, result[1].decode())
            return PartResult("late", key, message=late.message, tracking_id=late.tracking_id, late=late)
        if state == "waiting":
            return PartResult("waiting", key)
        if state == "conflict":
            return PartResult("conflict", key, message=self.joined_message(_records(result[1]), _text(result[2])))
        records = _records(result[1])
        return PartResult("complete", key, message=self.joined_message(records, _text(result[2])),
                          records=tuple(records))

    @staticmethod
    def joined_message(records: list[dict[str, Any]], taken_as: str | None = None) -> InboundMessage:
        """The SMS the parts make, `incomplete` when some are missing. Its id is its lowest part's id, or, once a
        sweep claimed the buffer, the id of the part it took (`taken_as`, as `_CLAIM_OF` reads the claim: the part's
        field and fingerprint, `p2 <fp>`, or its field alone)."""
        records = sorted(records, key=lambda record: int(record["number"]))
        total = int(records[0]["total"])
        first = next((record for record in records if taken_as is not None and _names(taken_as, record)), records[0])
        text, missing = join_parts(records, total)
        meta = dict(first.get("meta") or {})
        meta.update(
            concat_reference=first["reference"], parts=total, parts_received=len(records),
            part_ids=[record["id"] for record in records],
        )
        return InboundMessage(
            channel=Channel(first["channel"]),
            source=first["source"],
            provider_message_id=first["id"],
            sender_kind=SenderKind.MSISDN,
            sender_address=first["sender"],
            recipient=first.get("recipient"),
            text=text,
            received_at=min(datetime.fromisoformat(record["received_at"]) for record in records),
            channel_meta=meta,
            incomplete=missing,
            dedup_id=first.get("dedup_id"),
        )

    def mark_done(self, key: str, tracking_id: str, message: InboundMessage | None = None,
                  pipe: Pipeline | None = None, *, late: bool = False) -> None:
        """After intake committed the joined message: later parts get its Tracking ID, unless the message had other
        content at their number (`add`); the parts can go. A second mark of the message (two joins of it raced: a
        retried last part, a sweep as the missing part came) finds no parts, and leaves the first one's fingerprints:
        wiped, every part of the sender's next message with that reference was taken for a late part of this one.

        With `message` (the joined one), only its own parts go (`part_ids`): a part of the sender's next message
        stored meanwhile (after a sweep claimed this one, the next message's part took it at once, `conflict`, and
        started its own buffer) stays, and its buffer with it; dropped with the sweep's mark, it was lost.

        With `pipe` (a MULTI), the mark is queued on it, to be written with what else it holds (`UnfiledMessages.keep`);
        the parts are read now.

        `late`, a sweep's mark (`_MARK_DONE`): a part stored while the sweep took the message, at a number it lacked,
        is taken as its late part (its retries answered with the Tracking ID), not left to make a second report, and
        set aside for the sweep to file as an addition (`late_parts`)."""
        ids = None if message is None else {str(part_id) for part_id in message.channel_meta.get("part_ids") or ()}
        taken = {f"p{record['number']}": fingerprint(record["coding"], record["data"])
                 for record in map(orjson.loads, self._redis.hvals(key))
                 if not ids or str(record["id"]) in ids}
        self._mark(keys=[key, key + ":done", key + ":taken", PENDING_KEY, key + ":as", key + ":as:fp", key + ":late",
                         key + ":seen", key + ":pending-late"],
                   args=[tracking_id, self.done_ttl, self.late_ttl if late else 0,
                         *(item for pair in taken.items() for item in pair)], client=pipe)

    @staticmethod
    def late_part(key: str, record: dict[str, Any], tracking_id: str) -> LatePart:
        """The late part `record` of the message taken as `tracking_id` (`LatePart`)."""
        field, part_print = f"p{record['number']}", str(record["fp"])
        identity = f"concat-late:{key.rsplit(':', 1)[-1]}:{field}:{part_print}"
        alone = PartBuffer.joined_message([{**record, "dedup_id": identity}])
        return LatePart(key, field, part_print, int(record["number"]), alone, tracking_id)

    def late_parts(self, key: str) -> list[LatePart]:
        """The late parts a sweep's mark set aside (`_MARK_DONE`), not yet filed (`late_taken`)."""
        raw_parts = self._redis.hvals(key + ":late")
        if not raw_parts:
            return []
        # Each with its own message's Tracking ID (pending since the mark that set it aside), not the done marker's.
        pending = {name.decode(): value.decode() for name, value in self._redis.hgetall(key + ":pending-late").items()}
        records = [record for record in map(orjson.loads, raw_parts) if isinstance(record, dict) and record.get("fp")]
        return [self.late_part(key, record, pending.get(f"p{record['number']} {record['fp']}", "-"))
                for record in records]

    def late_taken(self, late: LatePart) -> None:
        """A late part filed as an addition (or kept unfiled): its deliveries from now on are `done` (`_LATE_TAKEN`)."""
        self._late_taken(keys=[late.key + ":seen", late.key + ":pending-late", late.key + ":late"],
                         args=[late.field, late.part_print, self.done_ttl])

    def claim_due(self, now: float | None = None, limit: int = 100) -> list[tuple[str, InboundMessage | None]]:
        """Buffers whose wait is over, each claimed for a lease, with the message their parts make (None: gone)."""
        now = time.time() if now is None else now
        claimed: list[tuple[str, InboundMessage | None]] = []
        for raw_key in self._redis.zrangebyscore(PENDING_KEY, "-inf", now, start=0, num=limit):
            key = raw_key.decode()
            result = self._claim(keys=[PENDING_KEY, key, key + ":as", key + ":as:fp"],
                                 args=[key, now, now + LEASE_SECONDS, self.parts_ttl])
            if not result:  # not due any more, or gone
                continue
            claimed.append((key, self.joined_message(_records(result[0]), _text(result[1]))))
        return claimed

    def pending(self) -> int:
        return int(self._redis.zcard(PENDING_KEY))


def _records(flat: list[bytes]) -> list[dict[str, Any]]:
    """The part records of a buffer's HGETALL (field, record, field, record...)."""
    return [orjson.loads(flat[i + 1]) for i in range(0, len(flat), 2)]


def _names(taken_as: str, record: dict[str, Any]) -> bool:
    """Whether a claim (`p2 <fingerprint>`, or `p2` where `:as:fp` is not the part's, `_CLAIM_OF`) names this part."""
    field, _, print_ = taken_as.partition(" ")
    return field == f"p{record['number']}" and (not print_ or print_ == record.get("fp"))


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


async def sweep_once(buffer: PartBuffer, handle: Callable[[str, InboundMessage], Awaitable[None]]) -> int:
    """Take every buffer whose wait is over as it is; a failure leaves it to the next sweep (after the lease). A Redis
    that cannot be read raises its error (`run_sweeper` says so once).

    Each message's failure is its own, a bug's too: ended by it, the round left the messages claimed after it to wait
    out their lease, and the next round, in the same order, ended the same way. Its lines are written with the
    message's words and sender kept out (an exception may quote them), as the webhook's are."""
    claimed = await asyncio.to_thread(buffer.claim_due)
    taken = 0
    for key, message in claimed:
        if message is None:
            continue
        with sensitive_values(*message.personal_values()):
            clear_message_context()  # this message's lines, its failure's too, name its channel and no other's
            bind_message_context(channel=message.source)
            try:
                await handle(key, message)
                taken += 1
            except RejectedInput as error:
                # Retrying cannot change a refusal: drop the buffer rather than retry it for ever.
                log.error("concat.expired_rejected", reason=error.reason, detail=error.detail)
                await asyncio.to_thread(buffer.mark_done, key, "-", message, late=True)
            except GatewayError as error:
                log.error("concat.expired_not_taken", reason=error.reason, detail=error.detail)
            except Exception as error:  # a bug: this message again after its lease, the others now
                log.exception("concat.expired_not_taken", reason=INTERNAL_ERROR, error=type(error).__name__)
    return taken


async def run_sweeper(buffer: PartBuffer, handle: Callable[[str, InboundMessage], Awaitable[None]],
                      interval: float) -> None:
    """The gateway's background task: every `interval` seconds, take expired concatenations as they are. A Redis
    outage is said once as it begins (`concat.sweep_failed`) and once as it ends (`concat.sweep_back`): a line at
    every sweep, every 5 s for as long as Redis was away, buried the lines that told the outage."""
    failing_since: float | None = None
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep_once(buffer, handle)
        except RedisError as error:
            clear_message_context()  # the round's lines name no message it took before
            if failing_since is None:
                failing_since = time.monotonic()
                log.warning("concat.sweep_failed", reason=type(error).__name__)
            continue
        except Exception as error:  # a bug must not end the sweeping: the next round tries again
            clear_message_context()
            log.exception("concat.sweep_crashed", reason=type(error).__name__)
            continue
        clear_message_context()
        if failing_since is not None:
            log.info("concat.sweep_back", failed_seconds=round(time.monotonic() - failing_since, 1))
            failing_since = None
