"""Tracking IDs: the check digit catches keypad slips, and IDs never repeat across processes."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis import Redis

from gateway.embedded_redis import EmbeddedRedis
from gateway.errors import NotDurable
from gateway.intake import Intake, Receipt, _Waiting
from gateway.queues import envelope_key
from gateway.settings import Settings, SettingsError
from gateway.tracking import (
    SEQUENCE_KEY,
    TrackingIdAllocator,
    damm_digit,
    format_tracking_id,
    is_valid_tracking_id,
    looks_like_tracking_id,
    normalize_tracking_id,
    was_issued,
)
from tests.conftest import TestEnvironment, log_events, paused
from tests.test_spool import draft

sequences = st.integers(min_value=100_000, max_value=10**12)


@given(sequences)
def test_every_minted_id_validates(sequence: int) -> None:
    tracking_id = format_tracking_id(sequence)
    assert is_valid_tracking_id(tracking_id)
    assert tracking_id[:-1] == str(sequence)


@given(sequences, st.data())
def test_any_single_mistyped_digit_is_caught(sequence: int, data: st.DataObject) -> None:
    tracking_id = format_tracking_id(sequence)
    position = data.draw(st.integers(0, len(tracking_id) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != tracking_id[position]]))
    assert not is_valid_tracking_id(tracking_id[:position] + wrong + tracking_id[position + 1:])


@given(sequences, st.data())
def test_any_swap_of_neighbouring_digits_is_caught(sequence: int, data: st.DataObject) -> None:
    tracking_id = format_tracking_id(sequence)
    position = data.draw(st.integers(0, len(tracking_id) - 2))
    a, b = tracking_id[position], tracking_id[position + 1]
    swapped = tracking_id[:position] + b + a + tracking_id[position + 2:]
    assert swapped == tracking_id or not is_valid_tracking_id(swapped)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param("#10000011", "10000011", id="hash"),
        pytest.param(" 1000-0011 ", "10000011", id="dashes"),
        pytest.param("10 000 011", "10000011", id="spaces"),
        pytest.param("1000.0011", "10000011", id="dots"),
        # Any script's decimal digits are read as the ASCII digits the citizen is shown back.
        pytest.param("１０００００１１", "10000011", id="fullwidth"),
        pytest.param("#１０００-００１１", "10000011", id="fullwidth-hash-dash"),
        pytest.param("١٠٠٠٠٠١١", "10000011", id="arabic-indic"),
        pytest.param("۱۰۰۰۰۰۱۱", "10000011", id="extended-arabic-indic"),
        pytest.param("१००००० ११", "10000011", id="devanagari-spaced"),
        pytest.param("1000０011", "10000011", id="mixed-scripts"),
    ],
)
def test_what_people_type_around_an_id_is_ignored(typed: str, expected: str) -> None:
    assert normalize_tracking_id(typed) == expected
    assert is_valid_tracking_id(typed) == (damm_digit(expected) == 0)


@pytest.mark.parametrize(
    ("text", "shape", "valid"),
    [
        pytest.param(format_tracking_id(1_000_001), True, True, id="minted"),
        pytest.param("12345", False, False, id="too-short"),
        pytest.param("abc12345", False, False, id="letters"),
        pytest.param("0" + format_tracking_id(1_000_001), True, False, id="leading-zero"),
        pytest.param("١٠٠٠٠٠١٢", True, True, id="minted-in-arabic-indic-digits"),
        pytest.param("１０００００１２", True, True, id="minted-in-fullwidth-digits"),
        pytest.param("١٢٣٤٥٦٧٨", True, False, id="arabic-indic-digits-check-fails"),
        pytest.param("¹²³⁴⁵⁶⁷⁸", False, False, id="superscripts-are-no-decimal-digits"),
        pytest.param("", False, False, id="empty"),
    ],
)
def test_shape_and_validity(text: str, shape: bool, valid: bool) -> None:
    assert looks_like_tracking_id(text) is shape
    assert is_valid_tracking_id(text) is valid


def test_the_acknowledgement_id_is_short_enough_for_an_sms() -> None:
    assert len(format_tracking_id(1_000_000)) == 8


def test_allocators_in_many_processes_never_mint_the_same_id(redis: Redis) -> None:
    """Each allocator stands for a gateway process; they share only the Redis counter."""
    minted: list[str] = []
    lock = threading.Lock()

    def mint_many() -> None:
        allocator = TrackingIdAllocator(Redis(connection_pool=redis.connection_pool), block_size=7, start=1_000_000)
        ids = [allocator.mint() for _ in range(300)]
        with lock:
            minted.extend(ids)

    threads = [threading.Thread(target=mint_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(minted) == 1800
    assert len(set(minted)) == 1800
    assert all(is_valid_tracking_id(tracking_id) for tracking_id in minted)


def test_an_id_given_back_is_reused_before_a_new_block(redis: Redis) -> None:
    allocator = TrackingIdAllocator(redis, block_size=3, start=1_000_000)
    first = allocator.mint()
    allocator.give_back(first)
    assert allocator.mint() == first
    assert int(redis.get("lapor:tracking:seq")) == 1_000_002


def test_an_allocator_holds_the_ids_it_leased_and_no_report_has(redis: Redis) -> None:
    """`holds` decides that an addition to an ID is a new report (gateway/followups.py): true only while no report can
    have the ID. Minted: false. Given back unused, or restored from a saved reserve: true. Handed to the next process:
    false. A number typed otherwise than minted (a check digit that fails, leading zeros) names no ID it holds."""
    allocator = TrackingIdAllocator(redis, block_size=3, start=1_000_000)
    first = allocator.mint()
    second, third = format_tracking_id(int(first[:-1]) + 1), format_tracking_id(int(first[:-1]) + 2)
    assert (allocator.holds(first), allocator.holds(second), allocator.holds(third)) == (False, True, True)
    assert not allocator.holds(second[:-1] + str((int(second[-1]) + 1) % 10)) and not allocator.holds("0" + second)
    assert allocator.mint() == second and not allocator.holds(second)
    allocator.give_back(second)
    assert allocator.holds(second)
    numbers = allocator.take_reserve()
    assert not allocator.holds(second) and not allocator.holds(third)
    allocator.restore(numbers)
    assert allocator.holds(second) and allocator.holds(third) and not allocator.holds(first)


@pytest.mark.parametrize(
    "counter_after",
    [
        pytest.param(1_000_009, id="rolled-back-one-lease"),  # AOF everysec: the last second lost with its INCRBY
        pytest.param(None, id="emptied"),  # a Redis restarted without its data, a failover to an empty replica
    ],
)
def test_an_allocator_never_mints_an_id_twice_when_the_counter_comes_back_behind_its_leases(
    redis: Redis, counter_after: int | None, log_stream: io.StringIO,
) -> None:
    """A Redis that came back behind the blocks this process leased must not lease them to it again: the same
    Tracking ID on two reports, the second envelope stored over the first under `lapor:envelope:<id>`."""
    allocator = TrackingIdAllocator(redis, block_size=10, start=1_000_000)
    before = [allocator.mint() for _ in range(15)]  # two blocks leased: the counter at 1_000_019
    if counter_after is None:
        redis.delete(SEQUENCE_KEY)
    else:
        redis.set(SEQUENCE_KEY, counter_after)
    after = [allocator.mint() for _ in range(20)]
    assert len(set(before + after)) == 35, sorted(set(before) & set(after))
    assert int(redis.get(SEQUENCE_KEY)) >= max(int(tracking_id[:-1]) for tracking_id in after)
    raised = [(e["reason"], e["sequence"]) for e in log_events(log_stream) if e["event"] == "intake.sequence_raised"]
    assert raised == [("sequence_below_lease", 1_000_019)]


@pytest.mark.parametrize(
    ("counter", "number", "id_range", "issued"),
    [
        pytest.param(1_000_500, 1_000_100, (1_000_000, 0), True, id="below-the-counter"),
        pytest.param(1_000_500, 7_777_777, (1_000_000, 0), False, id="above-the-counter-one-cell"),
        pytest.param(1_000_500, 1_500_000, (1_000_000, 1_999_999), False, id="above-the-counter-in-this-cells-range"),
        pytest.param(1_000_500, 7_777_777, (1_000_000, 1_999_999), True, id="a-higher-cells-range"),
        pytest.param(None, 1_000_100, (2_000_000, 2_999_999), True, id="a-lower-cells-range-in-a-new-cell"),
        pytest.param(None, 2_000_100, (2_000_000, 2_999_999), False, id="this-new-cells-range"),
    ],
)
def test_an_id_was_issued_unless_this_cell_could_have_minted_it_and_did_not(
    redis: Redis, counter: int | None, number: int, id_range: tuple[int, int], issued: bool,
) -> None:
    """A follow-up naming an ID never issued becomes a new report, naming the reporter: with several cells, an ID
    of another cell's range must count as issued (a follow-up, anonymous when its report's flags are unknown),
    even in a cell that has minted nothing yet."""
    if counter is not None:
        redis.set(SEQUENCE_KEY, counter)
    assert was_issued(redis, format_tracking_id(number), *id_range) is issued


def test_an_allocator_mints_up_to_its_ranges_end_and_then_refuses(redis: Redis) -> None:
    """Minting past `intake.id_end` would collide with the next cell's IDs: the last ones are used, then it is a
    typed refusal (the webhook answers 503 and the provider retries; SMTP 451)."""
    allocator = TrackingIdAllocator(redis, block_size=4, start=1_000_000, end=1_000_005)
    minted = [allocator.mint() for _ in range(6)]
    assert [int(tracking_id[:-1]) for tracking_id in minted] == list(range(1_000_000, 1_000_006))
    with pytest.raises(NotDurable) as refused:
        allocator.mint()
    assert refused.value.reason == "id_range_exhausted"
    counter = int(redis.get(SEQUENCE_KEY))
    for _ in range(5):  # refused without asking Redis: each lease would move the counter further past the end
        with pytest.raises(NotDurable):
            allocator.mint()
    assert int(redis.get(SEQUENCE_KEY)) == counter


def test_a_lease_waiting_on_a_redis_that_hangs_holds_up_no_reader_of_the_reserve(own_redis: EmbeddedRedis) -> None:
    """A lease waits on Redis (a failover's pause, a hang up to the timeout) with the next lease queued behind it,
    never the reserve's readers: `holds` is a follow-up's check on the event loop, and `mint_from_reserve` answers a
    citizen from the spool. Both waited for the lease's lock, every webhook of the gateway with them. A mint whose
    reserve ran dry waits for the lease under way and takes from its block."""
    allocator = TrackingIdAllocator(Redis.from_url(own_redis.url, socket_timeout=30), block_size=3, start=1_000_000)
    first = allocator.mint()
    second, third = (format_tracking_id(int(first[:-1]) + step) for step in (1, 2))
    assert own_redis.pid is not None
    asking, lease = threading.Event(), allocator._lease
    allocator._lease = lambda **script: (asking.set(), lease(**script))[1]  # type: ignore[method-assign]
    leasing = threading.Thread(target=allocator.top_up, args=(5,), daemon=True)
    minted: list[str] = []
    with paused(own_redis):
        leasing.start()
        assert asking.wait(10)  # the lease is under way, asking a Redis that does not answer
        read: list[object] = []
        reader = threading.Thread(target=lambda: read.extend([allocator.holds(second), allocator.mint_from_reserve(),
                                                             allocator.mint_from_reserve()]), daemon=True)
        reader.start()
        reader.join(10)
        assert not reader.is_alive() and read == [True, second, third]
        dry = threading.Thread(target=lambda: minted.append(allocator.mint()), daemon=True)
        dry.start()
        dry.join(0.2)
        assert dry.is_alive() and leasing.is_alive()  # the reserve is dry: the mint waits for the lease under way
    leasing.join(10)
    dry.join(10)
    assert minted == [format_tracking_id(int(first[:-1]) + 3)]
    assert allocator.reserve == 5


def test_a_top_up_under_way_when_the_reserve_is_handed_over_leases_no_more(redis: Redis) -> None:
    """A gateway closing hands its reserve to the next process (`take_reserve`) while the spool replayer's top-up may
    be leasing block after block: every block leased after the hand-over was never minted nor saved, up to the whole
    reserve lost from the sequence at each stop. The hand-over takes what was leased; the top-up stops there."""
    allocator = TrackingIdAllocator(redis, block_size=10, start=1_000_000)
    asking, go_on, lease = threading.Event(), threading.Event(), allocator._lease
    calls = []

    def slow_lease(**script: object) -> object:
        calls.append(script)
        if len(calls) == 2:  # the second block: the hand-over comes meanwhile
            asking.set()
            go_on.wait(10)
        return lease(**script)

    allocator._lease = slow_lease  # type: ignore[method-assign]
    topping_up = threading.Thread(target=allocator.top_up, args=(50,), daemon=True)
    topping_up.start()
    assert asking.wait(10)
    handed: list[int] = []
    handing_over = threading.Thread(target=lambda: handed.extend(allocator.take_reserve()), daemon=True)
    handing_over.start()
    go_on.set()
    topping_up.join(10)
    handing_over.join(10)
    assert not topping_up.is_alive() and not handing_over.is_alive()
    assert allocator.reserve == 0  # nothing leased after the hand-over, left where no one mints it
    assert handed == list(range(1_000_000, int(redis.get(SEQUENCE_KEY)) + 1))  # every number leased is handed on


def test_a_commit_near_the_ranges_end_is_acknowledged(redis: Redis, settings: Settings) -> None:
    """Topping up the outage reserve after a commit runs into the range's end long before the commits do: the
    reports committed are durable and acknowledged; only a commit that cannot get an ID is refused."""
    intake = Intake(redis, settings.model_copy(update={"intake": settings.intake.model_copy(
        update={"id_end": settings.intake.id_start + 2, "id_block_size": 2})}))
    receipts = [intake.commit([draft(f"near-the-end-{n}")])[0] for n in range(3)]
    assert [int(receipt.tracking_id[:-1]) for receipt in receipts] == [settings.intake.id_start + n for n in range(3)]
    assert all(redis.exists(envelope_key(receipt.tracking_id)) for receipt in receipts)
    with pytest.raises(NotDurable) as refused:
        intake.commit([draft("past-the-end")])
    assert refused.value.reason == "id_range_exhausted"


def test_a_batch_refused_at_the_ranges_end_gives_its_ids_back(redis: Redis, settings: Settings) -> None:
    """Two reports, one ID left: the batch is refused whole, and the ID it took is not lost to the next one."""
    intake = Intake(redis, settings.model_copy(update={"intake": settings.intake.model_copy(
        update={"id_end": settings.intake.id_start + 2, "id_block_size": 2, "id_reserve": 0})}))
    intake.commit([draft("first"), draft("second")])
    with pytest.raises(NotDurable):
        intake.commit([draft("third"), draft("fourth")])
    (last,) = intake.commit([draft("third")])
    assert int(last.tracking_id[:-1]) == settings.intake.id_start + 2


async def test_after_the_ranges_end_a_message_claimed_before_still_gets_its_id_whatever_batch_it_shares(
    redis: Redis, settings: Settings
) -> None:
    """The committer's batch is whoever was waiting: a retry of an acknowledged message beside new ones still gets its
    Tracking ID, the last ID left goes to a new one, and only the others are refused (not the whole batch)."""
    intake = Intake(redis, settings.model_copy(update={"intake": settings.intake.model_copy(
        update={"id_end": settings.intake.id_start + 1, "id_block_size": 2, "id_reserve": 0})}))
    (first,) = intake.commit([draft("answered")])
    loop = asyncio.get_running_loop()
    batch = [_Waiting(draft(message_id), loop.create_future(), None) for message_id in ("new-1", "answered", "new-2")]
    intake._commit_batch(batch)
    new_1, retried, new_2 = (item.future for item in batch)
    assert (await retried) == Receipt(tracking_id=first.tracking_id, duplicate=True)
    assert int((await new_1).tracking_id[:-1]) == settings.intake.id_start + 1
    with pytest.raises(NotDurable) as refused:
        await new_2
    assert refused.value.reason == "id_range_exhausted"


def test_a_range_that_ends_before_it_starts_is_a_start_up_error(test_env: TestEnvironment) -> None:
    with pytest.raises(SettingsError, match="id_end"):
        test_env.settings(LAPOR_INTAKE_ID_START="2000000", LAPOR_INTAKE_ID_END="1999999")


async def test_a_bug_one_draft_of_a_batch_meets_fails_that_draft_alone(
    redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committer's batch is whoever was waiting: a bug one message's draft met (its envelope could not be
    written) failed every caller of the batch, and their messages were kept unfiled and their citizens told so
    (gateway.unfiled) instead of getting their Tracking IDs."""
    from normalizer.envelope import ReportDraft

    envelope_json = ReportDraft.envelope_json

    def envelope_json_with_a_bug(self: ReportDraft, tracking_id: str) -> bytes:
        if self.channel_message_id == "poison":
            raise TypeError("a value the envelope cannot hold")
        return envelope_json(self, tracking_id)

    monkeypatch.setattr(ReportDraft, "envelope_json", envelope_json_with_a_bug)
    intake = Intake(redis, settings)
    loop = asyncio.get_running_loop()
    batch = [_Waiting(draft(message_id), loop.create_future(), None) for message_id in ("first", "poison", "last")]
    intake._commit_batch(batch)
    first, poison, last = (item.future for item in batch)
    # (Claimed by the batch that failed, each is stored by its own commit; told a retry of a claim, duplicate.)
    assert (await first).tracking_id != (await last).tracking_id
    with pytest.raises(TypeError):
        await poison
    stored = [f"lapor:envelope:{(await future).tracking_id}" for future in (first, last)]
    assert redis.exists(*stored) == 2
