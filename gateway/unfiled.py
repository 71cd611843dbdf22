"""Messages the gateway received and failed to file: kept in Redis, so no bug of ours loses a citizen's words.

A mention or comment whose words or form meet a bug of ours (the grammar, a follow-up's lookup, the envelope) raised
in every poller round, and the batch it came in, with every mention and comment after it, was never filed: the
channel stuck on one message, only `poller.crashed` in the log. An SMS that met one was answered 500, which Twilio
does not retry: its words were lost. Now each is kept whole (the message as the channel built it) with the error's
type and where it was raised (never its words, which may quote the message), the channel turns degraded while any is
kept (health rule `unfiled`), and `lapor-gateway unfiled retry` files it once the bug is mended. A Redis failure
while keeping a mention raises: the poller keeps its cursor, and nothing is lost. A later delivery of the same message
filed as any (the provider's retry, a poller reading it again) forgets it too (`gateway.intake`, `forget_filed`).

The e-mail channel keeps its own equivalent, on disk: the mail quarantine (`channels.email.store.Quarantine`).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from redis import Redis
from redis.client import Pipeline

from gateway.metrics import health_channel
from normalizer.envelope import Attachment, Channel, SenderKind
from normalizer.inbound import InboundMessage

# One hash per channel (its health name): field = the message's source and provider id, value = UnfiledMessage's record.
UNFILED_KEY = "lapor:unfiled:{channel}"
# The project's own top directories: the frame named as where an error was raised is the innermost one of ours.
_OWN_CODE = ("channels", "gateway", "normalizer", "workers")


def unfiled_entry(source: str, provider_message_id: str) -> tuple[str, str]:
    """Where a message of `source` is kept unfiled: its channel's hash (the channel's health name) and its field."""
    return UNFILED_KEY.format(channel=health_channel(source)), f"{source}:{provider_message_id}"


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


def message_record(message: InboundMessage) -> dict[str, Any]:
    """`message` as JSON can hold it, read back whole by `message_from_record`."""
    record = asdict(message)
    record.update(channel=message.channel.value, sender_kind=message.sender_kind.value,
                  received_at=message.received_at.isoformat(),
                  attachments=[attachment.model_dump(mode="json") for attachment in message.attachments],
                  own_posts=list(message.own_posts))
    return record


def message_from_record(record: dict[str, Any]) -> InboundMessage:
    """The message `message_record` kept. A concatenated SMS is kept joined: none is one part of one."""
    fields = {**record, "channel": Channel(record["channel"]), "sender_kind": SenderKind(record["sender_kind"]),
              "received_at": datetime.fromisoformat(record["received_at"]),
              "attachments": [Attachment.model_validate(item) for item in record.get("attachments") or ()],
              "own_posts": tuple(record.get("own_posts") or ()), "part": None}
    return InboundMessage(**fields)


@dataclass(frozen=True, slots=True)
class UnfiledMessage:
    """One unfiled message: its key in the channel's hash, when and why it was kept, and the message itself."""

    channel: str
    key: str
    unfiled_at: float
    error: str
    where: str
    message: InboundMessage
    parts_key: str | None = None  # a concatenated SMS's part buffer, whose `:kept` goes with the entry

    @property
    def part_ids(self) -> list[str]:
        """The ids of a concatenated SMS's parts (`channel_meta`), as `release` compares them."""
        return _part_ids(self.message.channel_meta)

    @property
    def reason(self) -> str:
        """The error's type and where it was raised: what every view shows (no word of the message)."""
        return failure_reason(self.error, self.where)


def failure_reason(error: str, where: str) -> str:
    """`UnfiledMessage.reason` of an error's type and where it was raised."""
    return f"{error} at {where}" if where else error


def _part_ids(meta: Any) -> list[str]:
    return [str(part_id) for part_id in (meta or {}).get("part_ids") or ()] if isinstance(meta, dict) else []


def _parts_key(raw: bytes | None) -> str | None:
    """The part buffer an entry names (`keep`'s `parts_key`), None when it names none or cannot be read."""
    try:
        parts = orjson.loads(raw).get("parts") if raw is not None else None
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return parts if isinstance(parts, str) and parts else None


class UnfiledMessages:
    """The unfiled messages in Redis. Reading skips an entry it cannot read back (logged by the caller's count)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def keep(self, channel: str, message: InboundMessage, error: BaseException, now: float,
             also: Callable[[Pipeline], None] | None = None, parts_key: str | None = None) -> UnfiledMessage:
        """Keep `message` (raises RedisError when Redis does not take it). Kept again after a failed retry, it keeps
        its first time. `also` queues steps on the transaction that keeps it (a concatenated SMS's parts marked
        done, `PartBuffer.mark_done`): both are written, or neither. `parts_key`, a concatenated SMS's part buffer:
        its `:kept` goes with the entry (`release`, `purge`, `forget_filed`).

        An entry already holding a part `message` lacks stays as it is (its parts are still marked done): two
        gateways kept the message at once (a sweep's and a completing part's), and the keep of fewer parts, written
        last, dropped the other's part."""
        key, field = UNFILED_KEY.format(channel=channel), unfiled_entry(message.source, message.message_identity)[1]
        where = failure_site(error)

        def write(pipe: Pipeline) -> UnfiledMessage:
            earlier = pipe.hget(key, field)
            try:
                entry = orjson.loads(earlier) if earlier is not None else None
                first = float(entry["unfiled_at"]) if entry is not None else now
                had = _part_ids((entry["message"] if entry is not None else {}).get("channel_meta"))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                entry, first, had = None, now, []
            kept = UnfiledMessage(channel, field, first, type(error).__name__, where, message,
                                  parts_key or _parts_key(earlier))
            pipe.multi()
            if entry is None or set(had) <= set(_part_ids(message.channel_meta)):
                record = {"unfiled_at": kept.unfiled_at, "error": kept.error, "where": kept.where,
                          "message": message_record(message)}
                if kept.parts_key:
                    record["parts"] = kept.parts_key
                pipe.hset(key, field, orjson.dumps(record))
            if also is not None:
                also(pipe)
            return kept

        return self._redis.transaction(write, key, value_from_callable=True)  # type: ignore[no-any-return]

    def rejoin(self, channel: str, message: InboundMessage) -> bool:
        """Keep `message` in place of the one kept under its id (a concatenated SMS with a part that came after it was
        kept, `PartBuffer.add`: `kept`), its time and error as they were, unless that one has a part `message` lacks
        (two parts joined it at once, and the join of more came first); False when none is kept there (filed by an
        operator since, or purged): nothing is kept anew. Raises RedisError."""
        key, field = UNFILED_KEY.format(channel=channel), unfiled_entry(message.source, message.message_identity)[1]

        def replace(pipe: Pipeline) -> bool:
            raw = pipe.hget(key, field)
            if raw is None:
                return False
            entry = orjson.loads(raw)
            had = set((entry["message"].get("channel_meta") or {}).get("part_ids") or ())
            if not had <= set(message.channel_meta.get("part_ids") or ()):
                return True
            entry["message"] = message_record(message)
            pipe.multi()
            pipe.hset(key, field, orjson.dumps(entry))
            return True

        return bool(self._redis.transaction(replace, key, value_from_callable=True))

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
                    entry = orjson.loads(raw)
                    kept.append(UnfiledMessage(channel, field.decode(), float(entry["unfiled_at"]), str(entry["error"]),
                                               str(entry.get("where") or ""), message_from_record(entry["message"]),
                                               _parts_key(raw)))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError):
                    damaged.append((channel, field.decode(errors="replace")))
        return sorted(kept, key=lambda entry: entry.unfiled_at), damaged

    def purge(self, before: float, *, dry_run: bool = False) -> tuple[int, int]:
        """Delete (with `dry_run`: count) the messages kept since before `before`: the retention's, as for
        quarantined mail (workers.retention), for their words and sender wait in Redis unfiled. How many went, and
        how many stay (newer, or unreadable: an operator's to look at)."""
        entries, unreadable = self.list()
        old = [entry for entry in entries if entry.unfiled_at < before]
        if old and not dry_run:
            pipe = self._redis.pipeline(transaction=True)  # an entry and its parts' records (`:kept`) go together
            for entry in old:
                pipe.hdel(UNFILED_KEY.format(channel=entry.channel), entry.key)
                if entry.parts_key:
                    pipe.delete(entry.parts_key + ":kept")
            pipe.execute()
        return len(old), len(entries) - len(old) + unreadable

    def take_parts(self, kept: UnfiledMessage) -> UnfiledMessage:
        """Before `unfiled retry` files a concatenated SMS: its parts' records (`:kept`) taken, so that a part coming
        from now on is answered as one of a filed message (nothing, nothing of it kept), and `kept` as they make it
        where they hold a part its entry lacks yet (a part came as the entry was read: `rejoin` writes it after).
        Joined to the entry while it was filed, a part was lost: the next retry found the message filed. Raises
        RedisError."""
        if not kept.parts_key:
            return kept
        from gateway.concat import _kept_message  # concat names the entries (`unfiled_entry`)

        def take(pipe: Pipeline) -> list[bytes]:
            flat = pipe.hgetall(kept.parts_key + ":kept")
            if flat.get(b"=entry") != kept.key.encode():
                return []
            pipe.multi()
            pipe.delete(kept.parts_key + ":kept")
            return [item for pair in flat.items() for item in pair]

        flat = self._redis.transaction(take, kept.parts_key + ":kept", value_from_callable=True)
        message = _kept_message(flat) if flat else None
        if message is None or set(_part_ids(message.channel_meta)) <= set(kept.part_ids):
            return kept
        return replace(kept, message=message)

    def release(self, kept: UnfiledMessage) -> bool:
        """Forget an unfiled message once it is filed, with its parts' records (`:kept`); False, and it stays, when
        the entry holds a part `kept`, the version filed, lacks: a part joined it as it was filed (`rejoin`), and
        forgotten, that part was lost. Raises RedisError."""
        key = UNFILED_KEY.format(channel=kept.channel)

        def forget(pipe: Pipeline) -> bool:
            raw = pipe.hget(key, kept.key)
            if raw is None:
                return True
            try:
                now_ids = _part_ids(orjson.loads(raw)["message"].get("channel_meta"))
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                now_ids = kept.part_ids
            if not set(now_ids) <= set(kept.part_ids):
                return False
            parts_key = _parts_key(raw) or kept.parts_key
            pipe.multi()
            pipe.hdel(key, kept.key)
            if parts_key:
                pipe.delete(parts_key + ":kept")
            return True

        return bool(self._redis.transaction(forget, key, value_from_callable=True))

    def forget_filed(self, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str, tuple[str, str]]]:
        """Forget the messages at `entries` (hash, field: `unfiled_entry`), filed by a later delivery of their own, in
        one transaction, with their parts' records (`:kept`); those that were kept, as (channel, field, their entry).
        Raises RedisError."""
        keys = sorted({key for key, _ in entries})

        def forget(pipe: Pipeline) -> list[bool]:
            held = [pipe.hget(key, field) for key, field in entries]
            pipe.multi()
            for (key, field), raw in zip(entries, held, strict=True):
                if raw is not None:
                    pipe.hdel(key, field)
                    if parts_key := _parts_key(raw):
                        pipe.delete(parts_key + ":kept")
            return [raw is not None for raw in held]

        prefix = UNFILED_KEY.format(channel="")
        gone = self._redis.transaction(forget, *keys, value_from_callable=True) if entries else []
        return [(entry[0].removeprefix(prefix), entry[1], entry)
                for entry, was in zip(entries, gone, strict=True) if was]

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
