"""`gateway.unfiled.UnfiledMessages.keep` where a message is kept already under the same identity: the one that
carries more of its citizen's words stays (a concatenated SMS's whole join, not a sweep's join of fewer parts), with
its first time, in one transaction with what the caller writes beside it."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import orjson
import pytest
from redis import Redis
from redis.client import Pipeline

from gateway.unfiled import UNFILED_KEY, UnfiledMessage, UnfiledMessages, message_record
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.inbound import InboundMessage

WORDS = ["Jembatan desa Cibeber rusak berat.", "Anak-anak menyeberang sungai setiap hari.", "Mohon diperbaiki."]


def joined(parts: list[int], *, error_text: str = "") -> InboundMessage:
    """A concatenated SMS as a join of `parts` makes it (`PartBuffer.joined_message`), under part 2's id: the id a
    sweep's claim gives every later join."""
    text = " [...] ".join(" ".join(WORDS[n - 1] for n in run) for run in _runs(parts))
    text = ("[...] " if parts[0] != 1 else "") + text + (" [...]" if parts[-1] != len(WORDS) else "") + error_text
    return InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id="kannel-2",
                          sender_kind=SenderKind.MSISDN, sender_address="6281234567004", text=text,
                          received_at=utc_now(), dedup_id="kannel-2",
                          channel_meta={"concat_reference": "7", "parts": 3, "parts_received": len(parts),
                                        "part_ids": [f"kannel-{n}" for n in parts]},
                          incomplete=len(parts) < len(WORDS))


def _runs(parts: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for number in parts:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return runs


def mention(text: str) -> InboundMessage:
    return InboundMessage(channel=Channel.TWITTER, source="x", provider_message_id="1790000000000000001",
                          sender_kind=SenderKind.X_USER, sender_address="warga_cibeber", text=text,
                          received_at=utc_now(), thread_parents=("1790000000000000000",))


def failed(error: Exception) -> Exception:
    """`error` as raised here (its traceback names where)."""
    try:
        raise error
    except Exception as raised:
        return raised


def same(kept: UnfiledMessage, entry: UnfiledMessage) -> bool:
    """Whether `entry`, as read back, is what `keep` said it kept (a message read back holds lists, not tuples)."""
    return (kept.channel, kept.key, kept.unfiled_at, kept.error, kept.where, message_record(kept.message)) == (
        entry.channel, entry.key, entry.unfiled_at, entry.error, entry.where, message_record(entry.message))


def test_a_message_kept_whole_stays_when_fewer_of_its_parts_are_kept_under_its_identity(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    whole = store.keep("sms-aggregator", joined([1, 2, 3]), failed(RuntimeError("a bug")), 1_000.0)
    kept = store.keep("sms-aggregator", joined([2, 3]), KeyError("another"), 2_000.0)
    assert message_record(kept.message) == message_record(whole.message)
    # The whole message's own failure: the fewer parts' join failed at another place, and a retry mends the first.
    assert (kept.unfiled_at, kept.error, kept.where) == (1_000.0, "RuntimeError", whole.where) and whole.where
    [entry] = store.list()[0]
    assert same(kept, entry) and all(words in entry.message.text for words in WORDS)


def test_a_message_kept_with_fewer_parts_gives_way_to_its_whole_join(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    store.keep("sms-aggregator", joined([2, 3]), RuntimeError("a bug"), 1_000.0)
    kept = store.keep("sms-aggregator", joined([1, 2, 3]), RuntimeError("a bug"), 2_000.0)
    [entry] = store.list()[0]
    assert same(kept, entry) and entry.unfiled_at == 1_000.0
    assert not entry.message.incomplete and all(words in entry.message.text for words in WORDS)


@pytest.mark.parametrize("held", ["longer", "shorter"])
def test_a_message_without_parts_keeps_its_longer_text(redis: Redis, held: str) -> None:
    """A mention read again (the same post): the same words, or, where one reading held more, the longer."""
    store = UnfiledMessages(redis)
    long, short = mention("@lapor jalan di depan pasar berlubang besar"), mention("@lapor jalan")
    store.keep("x", long if held == "longer" else short, ValueError("a bug"), 1_000.0)
    store.keep("x", short if held == "longer" else long, ValueError("a bug"), 2_000.0)
    [entry] = store.list()[0]
    assert entry.message.text == long.text and entry.message.thread_parents == long.thread_parents
    assert entry.unfiled_at == 1_000.0


def test_the_same_message_kept_again_takes_the_new_failure_and_keeps_its_first_time(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    store.keep("sms-aggregator", joined([1, 2, 3]), RuntimeError("a bug"), 1_000.0)
    kept = store.keep("sms-aggregator", joined([1, 2, 3]), KeyError("the next bug"), 2_000.0)
    [entry] = store.list()[0]
    assert same(kept, entry) and (entry.unfiled_at, entry.error) == (1_000.0, "KeyError")


def test_the_held_record_is_kept_as_written_fields_of_a_later_release_too(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    whole = store.keep("sms-aggregator", joined([1, 2, 3]), RuntimeError("a bug"), 1_000.0)
    key = UNFILED_KEY.format(channel="sms-aggregator")
    entry = orjson.loads(redis.hget(key, whole.key))
    redis.hset(key, whole.key, orjson.dumps({**entry, "message": {**entry["message"], "later_field": 1}}))
    store.keep("sms-aggregator", joined([2, 3]), RuntimeError("a bug"), 2_000.0)
    assert orjson.loads(redis.hget(key, whole.key))["message"]["later_field"] == 1


def test_an_entry_that_cannot_be_read_back_is_replaced(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    message = joined([2, 3])
    field = f"sms-aggregator:{message.message_identity}"
    redis.hset(UNFILED_KEY.format(channel="sms-aggregator"), field, b"{not json")
    kept = store.keep("sms-aggregator", message, RuntimeError("a bug"), 2_000.0)
    [entry], damaged = store.list()
    assert damaged == 0 and same(kept, entry) and kept.unfiled_at == 2_000.0


@pytest.mark.parametrize("order", ["whole-first", "fewer-first"])
def test_the_parts_marked_beside_it_are_written_with_the_message_kept(redis: Redis, order: str) -> None:
    store = UnfiledMessages(redis)
    first, then = (joined([1, 2, 3]), joined([2, 3])) if order == "whole-first" else (joined([2, 3]), joined([1, 2, 3]))
    store.keep("sms-aggregator", first, RuntimeError("a bug"), 1_000.0, lambda pipe: pipe.set("marked", "1"))
    redis.delete("marked")
    store.keep("sms-aggregator", then, RuntimeError("a bug"), 2_000.0, lambda pipe: pipe.set("marked", "2"))
    assert redis.get("marked") == b"2"
    assert [entry.message.channel_meta["part_ids"] for entry in store.list()[0]] == [["kannel-1", "kannel-2",
                                                                                     "kannel-3"]]


def test_a_whole_message_kept_as_a_sweep_keeps_fewer_parts_stays(redis: Redis) -> None:
    """The webhook keeps the whole join between the sweep's read of the entry and its write: compared in Redis as it
    is written, the whole one stays (written over, part 1's words were lost), the sweep's parts marked beside it."""
    store = UnfiledMessages(redis)
    other = Redis(connection_pool=redis.connection_pool)
    calls: list[int] = []

    def meanwhile(pipe: Pipeline) -> None:
        calls.append(1)
        if len(calls) == 1:
            UnfiledMessages(other).keep("sms-aggregator", joined([1, 2, 3]), RuntimeError("a bug"), 1_500.0)
        pipe.set("marked", str(len(calls)))

    kept = store.keep("sms-aggregator", joined([2, 3]), RuntimeError("a bug"), 2_000.0, meanwhile)
    [entry] = store.list()[0]
    assert same(kept, entry) and len(calls) == 1 and redis.get("marked") == b"1"
    assert entry.message.channel_meta["part_ids"] == ["kannel-1", "kannel-2", "kannel-3"]
    assert entry.unfiled_at == 1_500.0


def test_a_keep_never_fails_for_other_messages_kept_meanwhile(redis: Redis) -> None:
    """Another message of the channel kept at every step of this keep: it WATCHed the channel's hash, read it again
    at each change, and raised WatchError after 32 tries, its message not kept (the webhook answered 500, and Twilio
    does not retry: its words lost). Compared and written in Redis, it never meets a conflict."""
    store = UnfiledMessages(redis)
    key = UNFILED_KEY.format(channel="sms-aggregator")
    tries: list[Any] = []

    def meanwhile(pipe: Pipeline) -> None:
        tries.append(1)
        redis.hset(key, f"sms-aggregator:other-{len(tries)}", b"{}")
        pipe.set("marked", "1")

    kept = store.keep("sms-aggregator", joined([2, 3]), RuntimeError("a bug"), 2_000.0, meanwhile)
    assert len(tries) == 1 and redis.get("marked") == b"1"
    [entry], damaged = store.list()
    assert same(kept, entry) and damaged == 1  # the other write's `{}`


def test_concurrent_keeps_of_a_channel_s_messages_all_keep_theirs(redis: Redis) -> None:
    """Threads keeping messages of one channel at once, each marking beside it (`PartBuffer.mark_done`'s read, then
    its script on the transaction): none raises, every message is kept, every mark written. Under WATCH, 6 threads
    of 300 keeps had 24 fail, 16 threads 171."""
    threads, each = 12, 60
    failures: list[BaseException] = []

    def message(number: int) -> InboundMessage:
        return replace(joined([1, 2, 3]), provider_message_id=f"kannel-{number}", dedup_id=f"kannel-{number}")

    def keep_many(thread: int) -> None:
        client = Redis(connection_pool=redis.connection_pool)
        store = UnfiledMessages(client)
        for number in range(thread * each, (thread + 1) * each):
            def mark(pipe: Pipeline, number: int = number) -> None:
                client.hvals("lapor:concat:none")
                pipe.sadd("marked", number)
            try:
                store.keep("sms-aggregator", message(number), RuntimeError("a bug"), 1_000.0 + number, mark)
            except BaseException as error:  # counted: the test fails on any
                failures.append(error)

    workers = [threading.Thread(target=keep_many, args=(thread,)) for thread in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    kept, damaged = UnfiledMessages(redis).list()
    assert damaged == 0 and sorted(entry.key for entry in kept) == sorted(
        f"sms-aggregator:kannel-{number}" for number in range(threads * each))
    assert redis.scard("marked") == threads * each


@pytest.mark.parametrize("meta", [[], "parts", {"part_ids": "kannel-1"}])
def test_a_held_message_whose_parts_cannot_be_counted_is_ordered_by_its_text(redis: Redis, meta: Any) -> None:
    store = UnfiledMessages(redis)
    held = store.keep("x", mention("@lapor jalan di depan pasar berlubang besar"), ValueError("a bug"), 1_000.0)
    key = UNFILED_KEY.format(channel="x")
    entry = orjson.loads(redis.hget(key, held.key))
    redis.hset(key, held.key, orjson.dumps({**entry, "message": {**entry["message"], "channel_meta": meta}}))
    kept = store.keep("x", mention("@lapor jalan"), ValueError("a bug"), 2_000.0)
    assert kept.message.text == held.message.text and kept.unfiled_at == 1_000.0


@pytest.mark.parametrize(("held", "filed", "forgotten"), [
    ([1, 2, 3], [2, 3], False),  # the whole join kept, a sweep's join of fewer parts filed: part 1's words stay
    ([1, 2, 3], None, False),
    ([1, 2, 3], [1, 2, 3], True),
    ([2, 3], [1, 2, 3], True),
    ([2, 3], [2, 3], True),
])
def test_a_message_kept_goes_when_filed_only_if_the_filed_one_holds_its_parts(
    redis: Redis, held: list[int], filed: list[int] | None, forgotten: bool
) -> None:
    store = UnfiledMessages(redis)
    kept = store.keep("sms-aggregator", joined(held), RuntimeError("a bug"), 1_000.0)
    key = UNFILED_KEY.format(channel="sms-aggregator")
    parts = None if filed is None else [f"kannel-{n}" for n in filed]
    gone = store.forget_filed([(key, kept.key, parts)])
    assert gone == ([("sms-aggregator", kept.key, (key, kept.key))] if forgotten else [])
    assert (redis.hget(key, kept.key) is None) is forgotten


def test_a_message_without_parts_or_unreadable_goes_when_filed(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    kept = store.keep("x", mention("@lapor jalan"), ValueError("a bug"), 1_000.0)
    key = UNFILED_KEY.format(channel="sms-aggregator")
    redis.hset(key, "sms-aggregator:damaged", b"{not json")
    assert [field for _, field, _ in store.forget_filed([(UNFILED_KEY.format(channel="x"), kept.key, None),
                                                        (key, "sms-aggregator:damaged", ["kannel-1"]),
                                                        (key, "sms-aggregator:none", None)])] == [
        kept.key, "sms-aggregator:damaged"]
    assert store.list() == ([], 0)


@pytest.mark.parametrize(("held", "swept", "more"), [
    ([1, 2, 3], [2, 3], True), ([1, 2, 3], [1, 2, 3], False), ([2, 3], [1, 2, 3], False), (None, [2, 3], False)])
def test_a_sweep_s_join_of_fewer_of_a_kept_message_s_parts_is_told(
    redis: Redis, held: list[int] | None, swept: list[int], more: bool
) -> None:
    store = UnfiledMessages(redis)
    if held is not None:
        store.keep("sms-aggregator", joined(held), RuntimeError("a bug"), 1_000.0)
    assert store.holds_more_parts(joined(swept)) is more


@pytest.mark.parametrize("held", ["longer", "shorter"])
def test_texts_are_compared_in_characters_not_bytes(redis: Redis, held: str) -> None:
    """Redis compares the held text by its characters, as Python counts them: in bytes, a held text of fewer but
    wider characters (an emoji, an accented letter) stayed over a longer one."""
    store = UnfiledMessages(redis)
    wide, long = mention("@lapor 🙏🙏🙏 é"), mention("@lapor jalan rusak")  # 12 characters, 22 bytes; 18 of each
    store.keep("x", long if held == "longer" else wide, ValueError("a bug"), 1_000.0)
    store.keep("x", wide if held == "longer" else long, ValueError("a bug"), 2_000.0)
    [entry] = store.list()[0]
    assert entry.message.text == long.text


def test_the_first_time_is_kept_to_the_last_digit(redis: Redis) -> None:
    store = UnfiledMessages(redis)
    first = store.keep("sms-aggregator", joined([2, 3]), RuntimeError("a bug"), 1_733_407_966.123456)
    kept = store.keep("sms-aggregator", joined([1, 2, 3]), RuntimeError("a bug"), 1_733_407_999.5)
    [entry] = store.list()[0]
    assert first.unfiled_at == kept.unfiled_at == entry.unfiled_at == 1_733_407_966.123456


def test_a_damaged_entry_is_dropped_and_a_message_written_there_since_is_not(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """`unfiled drop` deletes an entry that cannot be read back; a keep of its message that wrote it again between
    the read and the delete (the provider's retry) left a message no retry could file, had the delete not compared
    what it read: it stays, as does one readable from the start."""
    store = UnfiledMessages(redis)
    message = joined([2, 3])
    key, field = UNFILED_KEY.format(channel="sms-aggregator"), f"sms-aggregator:{message.message_identity}"
    redis.hset(key, field, b"{not json")
    assert store.drop_damaged("sms-aggregator", field) and not redis.hexists(key, field)
    assert not store.drop_damaged("sms-aggregator", field)  # gone already

    redis.hset(key, field, b"{not json")
    read = redis.hget

    def kept_meanwhile(name: Any, hash_field: Any) -> Any:
        raw = read(name, hash_field)
        monkeypatch.undo()
        store.keep("sms-aggregator", message, RuntimeError("a bug"), 2_000.0)
        return raw

    monkeypatch.setattr(redis, "hget", kept_meanwhile)
    assert not store.drop_damaged("sms-aggregator", field)
    [entry], damaged = store.list()
    assert damaged == 0 and entry.message.text == message.text
    assert not store.drop_damaged("sms-aggregator", field) and store.list()[1] == 0
