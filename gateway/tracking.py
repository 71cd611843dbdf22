"""Tracking IDs: numeric, typeable on a feature-phone keypad, with a Damm check digit.

A Tracking ID is a decimal sequence number followed by one Damm check digit. Damm catches every single
mistyped digit and every swap of two neighbouring digits, which is what happens on a keypad. Sequence numbers
are leased from Redis in blocks (`INCRBY`), so IDs are unique across every gateway process and a process can
mint one without a round trip to Redis.

Each lease also raises the counter to the highest number the process has leased before, should it be lower: a
Redis that came back behind (emptied, a crash that lost its last second of AOF with a lease in it, a failover to a
replica that lagged) would otherwise lease the same numbers again, and a second report would be stored over the
first under the same Tracking ID.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import deque

from redis import Redis

from gateway.errors import NotDurable
from normalizer.text import DASHES, HASH, with_compatibility_forms

# The Damm quasigroup of order 10 (Damm 2004): totally anti-symmetric, zero diagonal.
_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

MIN_LENGTH = 6
MAX_LENGTH = 14
SEQUENCE_KEY = "lapor:tracking:seq"

# KEYS[1] the counter; ARGV[1] the number before this cell's first (`start - 1`, where an absent counter starts),
# ARGV[2] the highest number this allocator has leased (0: none), ARGV[3] the block size. Returns the block's last
# number and 1 when the counter had to be raised to ARGV[2] first. Integers stay Redis's (INCRBY): Lua's numbers
# print large ones in exponent notation.
_LEASE_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local raised = 0
if tonumber(redis.call('GET', KEYS[1])) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[2])
  raised = 1
end
return {redis.call('INCRBY', KEYS[1], ARGV[3]), raised}
"""

# What a citizen may type around the digits: "#1234567-8", "12 345 678", these in fullwidth ("＃", "－", "．"), and
# the other dashes phones type for "-" ("1000–0004", `DASHES`).
_SEPARATORS = re.compile(rf"[\s{''.join(map(re.escape, HASH + with_compatibility_forms('.') + DASHES))}]")


class IdRangeExhausted(NotDurable):
    """This cell's Tracking IDs are used up (`intake.id_end`): nothing new can be acknowledged (HTTP 503, SMTP 451),
    but a message claimed before still gets the ID it was given."""

    reason = "id_range_exhausted"


def damm_digit(digits: str) -> int:
    """The interim Damm digit of a digit string: 0 for a string that ends in its own check digit."""
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][ord(char) - 48]
    return interim


def format_tracking_id(sequence: int) -> str:
    """Turn a sequence number into a Tracking ID by appending its check digit."""
    if sequence <= 0:
        raise ValueError("sequence numbers start at 1")
    body = str(sequence)
    return body + str(damm_digit(body))


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit as its ASCII digit: fullwidth `１２３` (an Asian phone keyboard), Arabic-Indic
    `١٢٣`, Devanagari `१२३`... An ID so typed is the ID the citizen is shown back in ASCII digits, so it must be read
    as that ID, not as a mistyped one. Other characters are left as they are."""
    if text.isascii():  # nearly every message: nothing to do
        return text
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def normalize_tracking_id(text: str) -> str:
    """Strip what people type around an ID (`#`, spaces, dashes, dots) and read its digits in ASCII
    (`ascii_digits`); no validation. Every ID check goes through here."""
    return _SEPARATORS.sub("", ascii_digits(text.strip()))


def looks_like_tracking_id(text: str) -> bool:
    """Right shape (digits, right length) whatever the check digit says: used to tell a typo from prose."""
    candidate = normalize_tracking_id(text)
    return candidate.isascii() and candidate.isdigit() and MIN_LENGTH <= len(candidate) <= MAX_LENGTH


def is_valid_tracking_id(text: str) -> bool:
    """True when `text` is a Tracking ID whose check digit holds (a typo or a swap fails)."""
    candidate = normalize_tracking_id(text)
    return looks_like_tracking_id(candidate) and not candidate.startswith("0") and damm_digit(candidate) == 0


def was_issued(redis: Redis, tracking_id: str, id_start: int = 0, id_end: int = 0) -> bool:
    """Whether this ID may have been minted: False means no gateway ever minted it (a guess, or an ID from another
    system). With a range (`id_end` set: several cells share the ID space) an ID outside `id_start..id_end` is
    another cell's, which may have minted it; inside it, and without a range, the sequence counter tells. True does
    not prove a report exists: IDs of a leased block may go unused."""
    number = int(tracking_id[:-1])
    if id_end and not id_start <= number <= id_end:
        return True
    return number <= int(redis.get(SEQUENCE_KEY) or 0)


class TrackingIdAllocator:
    """Mints Tracking IDs from sequence blocks leased with one atomic INCRBY each.

    Thread-safe. The reserve lets a process keep minting through a short Redis outage (the disk spool).
    """

    def __init__(self, redis: Redis, *, block_size: int = 200, start: int = 1_000_000, end: int = 0) -> None:
        self._redis = redis
        self._block_size = block_size
        self._start = start
        self._end = end  # the last number this cell may mint; 0: no end
        self._used_up = False  # the end was reached: refuse without asking Redis (each lease moves its counter)
        self._free: deque[int] = deque()
        # Two locks: `_lock` guards the reserve and is never held while Redis is asked, so `holds` (a follow-up's
        # check, on the event loop) and `mint_from_reserve` stay instant while a lease waits on a Redis that stalls
        # (a failover's CLIENT PAUSE); `_leasing` lets one lease (or restore) run at a time, so each lease is asked
        # to go past every number leased or restored before it: two at once could both start from one floor.
        self._lock = threading.Lock()
        self._leasing = threading.Lock()
        self._leased_high = 0  # the highest number leased by (or restored to) this allocator
        self._handed_over = False  # the reserve was handed to the next process (`take_reserve`): top up no more
        self._lease = redis.register_script(_LEASE_SCRIPT)

    def _lease_block(self) -> None:
        """Lease one block into the reserve; with `_leasing` held, never `_lock` (taken only around the reserve)."""
        with self._lock:
            if self._used_up:
                raise self._range_used_up()
            floor = self._leased_high
        # One script, atomic across processes: an absent counter starts at `start`, and one behind what this
        # allocator leased before is raised past it first.
        high, raised = self._lease(keys=[SEQUENCE_KEY], args=[self._start - 1, floor, self._block_size])
        high = int(high)
        if raised:
            from gateway.logs import get_logger  # here: gateway.logs reads Tracking IDs through this module

            get_logger().warning("intake.sequence_raised", reason="sequence_below_lease", sequence=floor)
        low = high - self._block_size + 1
        with self._lock:
            self._leased_high = max(self._leased_high, high)
            if self._end and low > self._end:
                self._used_up = True
                raise self._range_used_up()
            self._free.extend(range(low, min(high, self._end or high) + 1))  # a block may straddle the end

    def _range_used_up(self) -> IdRangeExhausted:
        return IdRangeExhausted(f"Tracking IDs up to {self._end} are used up (intake.id_end)")

    def mint(self) -> str:
        while True:
            with self._lock:
                if self._free:
                    return format_tracking_id(self._free.popleft())
            with self._leasing:
                if not self._free:  # else another thread's lease filled it meanwhile
                    self._lease_block()

    def mint_from_reserve(self) -> str:
        """Mint without touching Redis (during an outage); LookupError when the reserve is empty."""
        with self._lock:
            if not self._free:
                raise LookupError("no Tracking IDs in reserve")
            return format_tracking_id(self._free.popleft())

    def top_up(self, target: int) -> None:
        """Lease blocks until `target` IDs are in reserve, so an outage can be ridden out."""
        while len(self._free) < target and not self._handed_over:
            with self._leasing:  # taken for each block: a mint whose reserve ran dry takes from the first
                if len(self._free) < target and not self._handed_over:
                    self._lease_block()

    def give_back(self, *tracking_ids: str) -> None:
        """Return IDs that were minted but not used (a duplicate message, a batch that could not be claimed); they
        are minted again first, in the order given."""
        with self._lock:
            self._free.extendleft(int(tracking_id[:-1]) for tracking_id in reversed(tracking_ids))

    def take_reserve(self) -> list[int]:
        """Every sequence number leased and not minted, leaving none (to hand them to the next process). After a lease
        under way: its block is handed on too; a top-up under way leases no more blocks (they would be lost, a gap)."""
        with self._leasing, self._lock:
            self._handed_over = True
            numbers = list(self._free)
            self._free.clear()
            return numbers

    def restore(self, numbers: list[int]) -> None:
        """Mint these sequence numbers (leased by an earlier process, never used) before leasing more. Not during a
        lease: it was asked to go past the numbers leased before these came."""
        with self._leasing, self._lock:
            self._free.extendleft(reversed(numbers))
            self._leased_high = max(self._leased_high, *numbers, 0)

    def holds(self, tracking_id: str) -> bool:
        """Whether `tracking_id` is one this allocator leased and has not minted (or was given back unused): no report
        has it, nor can one have it until this process mints it (a block is leased to one process alone)."""
        if not (tracking_id.isascii() and tracking_id.isdigit()) or len(tracking_id) < 2:
            return False
        number = int(tracking_id[:-1])
        if number <= 0 or format_tracking_id(number) != tracking_id:
            return False
        with self._lock:
            return number in self._free

    @property
    def reserve(self) -> int:
        return len(self._free)

    @property
    def leased_high(self) -> int:
        """The highest sequence number this allocator leased or was given (0: none): Redis's counter must never be
        below it while this process may still mint up to it."""
        with self._lock:
            return self._leased_high

